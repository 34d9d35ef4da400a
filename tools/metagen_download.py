#!/usr/bin/env python3
"""Download a MetaGen dataset release, resuming interrupted files and checking every SHA-256.

Python 3.9+ standard library only: copy this one file anywhere and run it.

    python3 metagen_download.py https://metagen.example.org vr-motion-open 1.0.0
    python3 metagen_download.py https://metagen.example.org vr-motion-restricted 1.0.0 --token T

Files land in ./<dataset>-<version>/ (or --dest). A file being fetched is written to
"<name>.part"; run the command again after an interruption and it continues from where it
stopped (an HTTP range request), then renames the file once its SHA-256 matches the release's
manifest. Files already complete and correct are not fetched again.

Exit status: 0 when every file is present and verified, 1 when a file fails verification or
cannot be fetched, 2 on bad arguments, 3 when stopped by --stop-after-bytes (run it again).
Restricted datasets need an API token of a researcher who accepted the data-use agreement;
their files come through short-lived signed URLs, asked for at the start of each run.
"""

import argparse
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

CHUNK = 1024 * 1024
USER_AGENT = "metagen-download/1"


class Interrupted(Exception):
    """--stop-after-bytes reached: the partial files are kept for the next run."""


class Budget:
    def __init__(self, limit):
        self.left = limit

    def take(self, n):
        if self.left is None:
            return n
        n = min(n, self.left)
        self.left -= n
        return n


def _request(url, token=None, headers=None):
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"not an HTTP(S) URL: {url}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})  # noqa: S310 (scheme checked above)
    if token:
        # Not sent on to a redirect target: signed storage URLs carry their own authorisation.
        request.add_unredirected_header("Authorization", f"Token {token}")
    return request


def _get_json(url, token):
    request = _request(url, token, {"Accept": "application/json"})
    with urllib.request.urlopen(request) as resp:  # noqa: S310 (_request checks the scheme)
        return json.load(resp)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_list(base, dataset, version, token):
    """Every file of the release: path, size, sha256 and a URL to fetch it from."""
    api = f"{base}/api/datasets/{quote(dataset)}/releases/{quote(version)}/"
    release = _get_json(api, token)
    files = release["files"]
    if any(f.get("url") is None for f in files) or token:
        # Restricted: ask for signed URLs (this also tells a missing agreement apart).
        files = _get_json(f"{api}signed-urls/", token)
    return files


def fetch(entry, dest, token, budget, log):
    """Bring one file to `dest`, resuming its .part; returns True when its SHA-256 matches."""
    target = dest / entry["path"]
    if ".." in Path(entry["path"]).parts or Path(entry["path"]).is_absolute():
        raise ValueError(f"refusing a file path outside the folder: {entry['path']}")
    if target.exists() and target.stat().st_size == entry["size"]:
        if sha256_of(target) == entry["sha256"]:
            log(f"ok       {entry['path']} (already complete)")
            return True
        log(f"corrupt  {entry['path']}: fetching it again")
        target.unlink()
    part = target.with_name(target.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    if have > entry["size"]:
        part.unlink()
        have = 0
    if have < entry["size"]:
        headers = {}
        if have:
            headers["Range"] = f"bytes={have}-"
            headers["If-Range"] = f'"{entry["sha256"]}"'
            log(f"resuming {entry['path']} at byte {have}")
        else:
            log(f"fetching {entry['path']} ({entry['size']} bytes)")
        request = _request(entry["url"], token, headers)
        with urllib.request.urlopen(request) as resp:  # noqa: S310 (_request checks the scheme)
            if have and resp.status != 206:
                have = 0  # the server sent the whole file: start over
            with open(part, "ab" if have else "wb") as out:
                while True:
                    want = budget.take(CHUNK)
                    if want == 0:
                        raise Interrupted
                    chunk = resp.read(want)
                    if not chunk:
                        break
                    out.write(chunk)
    if sha256_of(part) != entry["sha256"]:
        log(f"FAILED   {entry['path']}: its SHA-256 does not match the manifest")
        part.unlink()
        return False
    os.replace(part, target)
    log(f"ok       {entry['path']}")
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", help="the MetaGen site, e.g. https://metagen.example.org")
    parser.add_argument("dataset", help="the dataset's slug")
    parser.add_argument("version", help="the release's version, e.g. 1.0.0")
    parser.add_argument("--dest", type=Path, help="folder (default ./<dataset>-<version>)")
    parser.add_argument("--token", default=os.environ.get("METAGEN_TOKEN"), help="API token")
    parser.add_argument(
        "--stop-after-bytes",
        type=int,
        default=None,
        help="stop after this many bytes (a bandwidth cap); run again to resume",
    )
    args = parser.parse_args(argv)
    base = args.site.rstrip("/")
    dest = args.dest or Path(f"{args.dataset}-{args.version}")
    log = print
    try:
        files = file_list(base, args.dataset, args.version, args.token)
    except urllib.error.HTTPError as exc:
        reasons = {
            403: "accept the dataset's data-use agreement first",
            404: "no such release (or it needs an API token)",
        }
        log(f"error: {exc.code}: {reasons.get(exc.code, exc.reason)}", file=sys.stderr)
        return 1
    budget = Budget(args.stop_after_bytes)
    failed = []
    try:
        for entry in files:
            try:
                if not fetch(entry, dest, args.token, budget, log):
                    failed.append(entry["path"])
            except urllib.error.HTTPError as exc:
                log(f"FAILED   {entry['path']}: HTTP {exc.code}")
                failed.append(entry["path"])
    except Interrupted:
        log("stopped: run the same command again to resume")
        return 3
    if failed:
        log(f"{len(failed)} file(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    log(f"all {len(files)} files verified in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
