"""Settings for the cachefront example site.

Static files and user uploads live in an S3 bucket (django-storages); the
browser fetches both from the cachefront edge (AWS_S3_CUSTOM_DOMAIN), never
from S3 or from Django. The defaults are for local development against
`cachefront dev-origin` (its fixed, public dev credentials); every value
that differs in production comes from the environment (see README.md,
"Use with Django").
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-example-key-for-local-development-only")
# Off by default: with DEBUG on, ManifestStaticFilesStorage links the
# unhashed names (site.css), which the edge's `immutable` year must not see.
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "gallery",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {}  # the example stores nothing but files
USE_TZ = True

# --- Files: S3 bucket behind the cachefront edge -------------------------
#
# Django 5.1 removed STATICFILES_STORAGE and DEFAULT_FILE_STORAGE; STORAGES
# is the one way to name the backends. S3ManifestStaticStorage writes
# collectstatic's hashed names (site.3f2a9c1b7d4e.css) and staticfiles.json,
# which is what lets the edge mark static files `immutable` for a year.
STORAGES = {
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "location": "media",
            # An upload never replaces another under the same name: a URL,
            # once cached for a day, keeps meaning the same bytes.
            "file_overwrite": False,
        },
    },
    "staticfiles": {
        "BACKEND": "storages.backends.s3.S3ManifestStaticStorage",
        "OPTIONS": {
            "location": "static",
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    },
}

AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "site-assets")
AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME", "us-east-1")
# Media default; the static storage above overrides it for hashed files.
AWS_S3_OBJECT_PARAMETERS = {"CacheControl": "public, max-age=86400"}
AWS_DEFAULT_ACL = None
AWS_QUERYSTRING_AUTH = False  # the edge serves public URLs; no signed query strings

# Where browsers fetch files: the edge. In production "cdn.example.com"
# with AWS_S3_URL_PROTOCOL "https:".
AWS_S3_CUSTOM_DOMAIN = os.environ.get("CACHEFRONT_EDGE", "127.0.0.1:8080")
AWS_S3_URL_PROTOCOL = os.environ.get("CACHEFRONT_EDGE_PROTOCOL", "http:")
STATIC_URL = f"{AWS_S3_URL_PROTOCOL}//{AWS_S3_CUSTOM_DOMAIN}/static/"
MEDIA_URL = f"{AWS_S3_URL_PROTOCOL}//{AWS_S3_CUSTOM_DOMAIN}/media/"

# Where Django writes files. Unset in production (real S3, credentials from
# the AWS chain: IAM role, IRSA, profile). Locally: `cachefront dev-origin`
# (or MinIO), which serves buckets as paths, not subdomains.
AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL", "http://127.0.0.1:9000") or None
if AWS_S3_ENDPOINT_URL:
    AWS_S3_ADDRESSING_STYLE = "path"
    AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID", "cachefront-dev")
    AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY", "cachefront-dev-secret")

# botocore >= 1.36 sends a CRC32 checksum with every upload (an aws-chunked
# body with a trailer). The dev origin (s3s 0.14), MinIO and S3 accept it,
# so no AWS_S3_CLIENT_CONFIG is needed. If an older S3-compatible server
# rejects such uploads, set
#   AWS_S3_CLIENT_CONFIG = botocore.config.Config(
#       request_checksum_calculation="when_required",
#       s3={"addressing_style": "path"},  # a client config replaces AWS_S3_ADDRESSING_STYLE
#   )
