#!/usr/bin/env python
"""End-to-end: a Django 5.2 site whose static files and uploads are served
by cachefront.

1. Start `cachefront dev-origin` (the S3-compatible dev server) over an
   empty scratch bucket, and a cachefront edge in front of it.
2. `manage.py collectstatic --noinput` uploads through django-storages and
   boto3 into the dev origin (hashed names + staticfiles.json).
3. Save an upload through `default_storage` (and a second one with the
   same name, which must not overwrite the first).
4. Render the page with Django's test client and fetch every edge URL in
   it twice: the bytes equal the source files, hashed static names are
   `immutable`, uploads are cached for a day, and the first fetch is a
   Miss and the second a Hit.

Both cachefront processes listen on port 0 and print the address they
bound, so no port is guessed. Run by .ci/run after `cargo test`:

    python examples/django/e2e.py [--bin target/debug/cachefront]
"""

import argparse
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
STARTUP_TIMEOUT = 30  # seconds for a process to print its address
HASHED = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")  # ManifestStaticFilesStorage's names


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Process:
    """A child process whose output is read on a thread, so the address
    line can be awaited with a timeout and the rest logged on failure."""

    def __init__(self, name, args):
        self.name = name
        self.lines = queue.Queue()
        self.log = []
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "RUST_LOG": "warn", "NO_COLOR": "1"},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.log.append(line.rstrip())
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern):
        regex = re.compile(pattern)
        while True:
            try:
                line = self.lines.get(timeout=STARTUP_TIMEOUT)
            except queue.Empty:
                raise Failure(f"{self.name}: no line matching {pattern!r} in {STARTUP_TIMEOUT}s") from None
            if line is None:
                raise Failure(f"{self.name} exited ({self.proc.wait()}):\n" + "\n".join(self.log))
            if m := regex.search(line):
                return m.group(1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


EDGE_CONFIG = """\
[server]
listen = "127.0.0.1:0"
name = "edge-e2e"

[origins.assets]
kind = "s3"
bucket = "site-assets"
region = "us-east-1"
endpoint = "http://{origin}"
force_path_style = true
credentials = "dev"

[[routes]]
path = "/static/"
origin = "assets"
key_prefix = "static/"
cache_control = "public, max-age=31536000, immutable"
immutable = "hashed"

[[routes]]
path = "/media/"
origin = "assets"
key_prefix = "media/"
cache_control = "public, max-age=86400"
"""


def fetch(url):
    """GET without Accept-Encoding (identity bytes): (status, headers, body)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=str(REPO / "target" / "debug" / "cachefront"))
    args = parser.parse_args()
    check(Path(args.bin).is_file(), f"{args.bin}: not built (cargo build)")

    scratch = Path(tempfile.mkdtemp(prefix="cachefront-django-e2e-"))
    (scratch / "buckets" / "site-assets").mkdir(parents=True)
    processes = []
    try:
        origin = Process("dev-origin", [args.bin, "dev-origin", "--root", scratch / "buckets", "--listen", "127.0.0.1:0"])
        processes.append(origin)
        origin_addr = origin.wait_for(r"dev origin on http://(\S+)")
        (scratch / "edge.toml").write_text(EDGE_CONFIG.format(origin=origin_addr))
        edge = Process("edge", [args.bin, "--config", scratch / "edge.toml"])
        processes.append(edge)
        edge_addr = edge.wait_for(r"cachefront serving on http://(\S+)")
        print(f"dev origin  http://{origin_addr}  (bucket dir {scratch / 'buckets' / 'site-assets'})")
        print(f"edge        http://{edge_addr}")
        run_django(origin_addr, edge_addr, scratch)
    finally:
        for p in reversed(processes):
            p.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def run_django(origin_addr, edge_addr, scratch):
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "mysite.settings",
            "AWS_S3_ENDPOINT_URL": f"http://{origin_addr}",
            "AWS_ACCESS_KEY_ID": "cachefront-dev",
            "AWS_SECRET_ACCESS_KEY": "cachefront-dev-secret",
            "CACHEFRONT_EDGE": edge_addr,
        }
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=HERE,
        capture_output=True,
        text=True,
        check=False,
    )
    check(out.returncode == 0, f"collectstatic failed:\n{out.stdout}\n{out.stderr}")
    print(f"collectstatic: {out.stdout.strip().splitlines()[-1]}")
    bucket = scratch / "buckets" / "site-assets"
    uploaded = sorted(str(p.relative_to(bucket)) for p in bucket.rglob("*") if p.is_file() and "/.s3s" not in str(p))
    manifest = json.loads((bucket / "static" / "staticfiles.json").read_bytes())["paths"]
    print(f"  in the bucket: {len(uploaded)} objects, e.g. " + ", ".join(f"static/{h}" for h in manifest.values()))

    sys.path.insert(0, str(HERE))
    import django

    django.setup()
    from django.contrib.staticfiles import finders
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.test import Client

    note = b"uploaded through default_storage by e2e.py\n"
    first = default_storage.save("uploads/note.txt", ContentFile(note))
    second = default_storage.save("uploads/note.txt", ContentFile(b"a different file, same name\n"))
    check(first != second, f"file_overwrite=False: second upload replaced {first}")
    media_bytes = {first: note, second: b"a different file, same name\n"}
    print(f"media saved: media/{first}, media/{second} (file_overwrite=False kept both)")

    response = Client().get("/")
    check(response.status_code == 200, f"page: {response.status_code}")
    html = response.content.decode()
    base = f"http://{edge_addr}/"
    urls = sorted(set(re.findall(r'(?:href|src)="(' + re.escape(base) + r'[^"]+)"', html)))
    print(f"page /: {len(html)} bytes, {len(urls)} edge URLs")
    static_urls = [u for u in urls if u.startswith(base + "static/")]
    media_urls = [u for u in urls if u.startswith(base + "media/")]
    check(len(static_urls) == 3, f"expected css, js and svg from {{% static %}}: {static_urls}")
    check(len(media_urls) == 2, f"expected both uploads: {media_urls}")

    by_hashed = {hashed: name for name, hashed in manifest.items()}
    for url in urls:
        rest = url[len(base) :]
        kind, name = rest.split("/", 1)
        if kind == "static":
            check(HASHED.search(name), f"{url}: not a hashed name")
            expected = Path(finders.find(by_hashed[name])).read_bytes()
            want_cc = "immutable"
        else:
            expected = media_bytes[name]
            want_cc = "max-age=86400"
        seen = []
        for attempt in ("Miss", "Hit"):
            status, headers, body = fetch(url)
            x_cache = headers.get("X-Cache", "")
            cache_control = headers.get("Cache-Control", "")
            check(status == 200, f"{url}: {status}")
            check(body == expected, f"{url}: {len(body)} bytes differ from the source ({len(expected)} bytes)")
            check(x_cache == f"{attempt} from edge-e2e", f"{url}: X-Cache {x_cache!r}, wanted {attempt}")
            check(want_cc in cache_control, f"{url}: Cache-Control {cache_control!r} lacks {want_cc!r}")
            seen.append(x_cache.split()[0])
        print(f"  GET /{rest}  200  {len(body)} B  {' -> '.join(seen)}  cache-control: {cache_control}")
    # The unhashed originals collectstatic uploads too, and the manifest:
    # never immutable (a deploy must reach them).
    originals = [f"{base}static/{name}" for name in manifest] + [f"{base}static/staticfiles.json"]
    for url in originals:
        status, headers, _ = fetch(url)
        cache_control = headers.get("Cache-Control", "")
        check(status == 200, f"{url}: {status}")
        check(cache_control == "public, max-age=300, must-revalidate", f"{url}: Cache-Control {cache_control!r}")
    print(f"  {len(originals)} unhashed names (originals + staticfiles.json): public, max-age=300, must-revalidate")
    print(f"e2e: {len(urls) + len(originals)} passed, 0 failed")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"e2e FAILED: {e}", file=sys.stderr)
        sys.exit(1)
