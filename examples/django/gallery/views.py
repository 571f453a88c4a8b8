"""One page: static assets via {% static %}, uploads via the media storage."""

from django.core.files.storage import default_storage
from django.shortcuts import render


def index(request):
    # listdir is one ListObjectsV2 call on the bucket's media/uploads/ prefix.
    _, names = default_storage.listdir("uploads")
    uploads = [{"name": n, "url": default_storage.url(f"uploads/{n}")} for n in sorted(names)]
    return render(request, "gallery/index.html", {"uploads": uploads})
