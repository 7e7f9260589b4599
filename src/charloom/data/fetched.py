"""Datasets fetched on first use, verified, then read from the cache: the files the
lectures and char-rnn trained on, which the package does not ship.

Each is one file at a known address with a known size and SHA-256. A download is
streamed to a temporary file in the cache (``$CHARLOOM_CACHE``, else
``~/.cache/charloom``), never read past the known size, hashed as it arrives, and kept
(renamed into place) only when the hash matches: the cache never holds a file that
failed its check, and a file in it is checked again before it is read.
``CHARLOOM_MIRROR=URL`` fetches every file from another host: the address's scheme and
host replaced by that base, its path kept (``$CHARLOOM_MIRROR/karpathy/makemore/master/
names.txt``), for air-gapped sites and for the tests. Every way a fetch can fail
(offline, a timeout, a 404, a redirect to another host, a wrong or short file) is one
line that says what happened and how to get the file by hand.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from charloom.data.built import cache_dir
from charloom.errors import DataError

TIMEOUT = 30.0  # seconds without a byte before a fetch gives up
CHUNK = 1 << 16

FETCHED: dict[str, dict] = {
    "makemore-names": {
        "url": "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt",
        "size": 228_145,
        "sha256": "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
        "format": "lines",
        "description": "the makemore lectures' names: 32,033 US first names (SSA, 2018)",
        "source": "karpathy/makemore, names.txt",
        "licence": "public domain (US Social Security Administration data)",
        "items": 32_033,
    },
    "tinyshakespeare": {
        "url": "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        "size": 1_115_394,
        "sha256": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        "format": "text",
        "description": "char-rnn's and nanoGPT's Shakespeare: 1.1 MB of running text",
        "source": "karpathy/char-rnn, data/tinyshakespeare/input.txt",
        "licence": "public domain (the plays)",
        "items": 0,
    },
}


def cached_path(name: str) -> Path:
    return cache_dir() / "fetched" / f"{name}-{FETCHED[name]['sha256'][:12]}"


def address(url: str) -> str:
    """The URL to fetch: ``url`` itself, or its path under ``$CHARLOOM_MIRROR``."""
    mirror = os.environ.get("CHARLOOM_MIRROR")
    if not mirror:
        return url
    return mirror.rstrip("/") + urllib.parse.urlsplit(url).path


def fetched_text(name: str, progress: bool = True) -> str:
    """The dataset's text: from the cache, or fetched into it first."""
    entry = FETCHED[name]
    path = cached_path(name)
    if not (path.exists() and _sha256(path) == entry["sha256"]):
        fetch(name, path, progress)
    return path.read_bytes().decode("utf-8")


def fetch(name: str, path: Path, progress: bool = True) -> None:
    """Download ``name`` to ``path``, verified, or raise one ``DataError``."""
    entry = FETCHED[name]
    url = address(entry["url"])
    by_hand = f"download {entry['url']} yourself and give its path as the data instead"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            digest, size = _download(url, out, entry["size"], name if progress else None)
        if size != entry["size"] or digest != entry["sha256"]:
            raise DataError(
                f"{name} from {url} is not the expected file ({size:,} bytes, sha256 {digest[:12]}...; "
                f"expected {entry['size']:,} bytes, {entry['sha256'][:12]}...); nothing was kept; {by_hand}"
            )
        os.replace(temporary, path)
    except DataError:
        raise
    except urllib.error.HTTPError as exc:
        raise DataError(
            f"could not fetch {name}: {url} answered {exc.code} {exc.reason}; {by_hand}"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        what = "timed out" if isinstance(reason, TimeoutError) or "timed out" in str(reason) else str(reason)
        raise DataError(f"could not fetch {name} from {url} ({what}); {by_hand}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


class _SameHost(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only within the host asked: a file that moved elsewhere is not
    the one whose hash was pinned, and a fetch should not wander."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl)[:2] != urllib.parse.urlsplit(req.full_url)[:2]:
            raise urllib.error.URLError(f"redirected to another host ({newurl})")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _download(url: str, out, expected: int, label: str | None) -> tuple[str, int]:
    """Stream ``url`` into ``out``, at most one byte past ``expected``: (sha256, size)."""
    opener = urllib.request.build_opener(_SameHost())
    digest, size = hashlib.sha256(), 0
    with opener.open(url, timeout=TIMEOUT) as response:
        bar = tqdm(total=expected, unit="B", unit_scale=True, desc=label, disable=label is None, leave=False)
        with bar:
            while size <= expected:
                chunk = response.read(min(CHUNK, expected + 1 - size))
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
                bar.update(len(chunk))
    return digest.hexdigest(), size


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
