"""Datasets fetched on first use, against a local HTTP server: every outcome of a fetch.
No test touches the network."""

import hashlib
import http.server
import threading
import time

import pytest

from charloom.data import fetched
from charloom.data.datasets import dataset_text, get_dataset, is_dataset
from charloom.errors import DataError

GOOD = b"anna\nbob\ncara\n" * 50


class Handler(http.server.BaseHTTPRequestHandler):
    """/good the file; /short half of it; /wrong another file of its size; /slow the file
    after a pause; /away a redirect to another host; anything else 404."""

    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        Handler.requests.append(self.path)
        body = {"/d/good": GOOD, "/d/short": GOOD[: len(GOOD) // 2], "/d/wrong": GOOD.upper(),
                "/d/slow": GOOD}.get(self.path)  # fmt: skip
        if self.path == "/d/away":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.2:{self.server.server_port}/d/good")
            self.end_headers()
            return
        if body is None:
            self.send_error(404, "Not Found")
            return
        if self.path == "/d/slow":
            time.sleep(1.0)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.requests = []
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def entry(monkeypatch, tmp_path, server):
    """A fetchable set whose pinned file is GOOD, fetched from the local server."""
    monkeypatch.setenv("CHARLOOM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CHARLOOM_MIRROR", server)
    monkeypatch.setattr(fetched, "TIMEOUT", 0.3)

    def make(path: str) -> str:
        name = f"test-{path.strip('/').replace('/', '-')}"
        monkeypatch.setitem(fetched.FETCHED, name, {
            "url": f"https://example.invalid{path}", "size": len(GOOD),
            "sha256": hashlib.sha256(GOOD).hexdigest(), "format": "lines", "description": "test",
            "source": "test", "licence": "test", "items": 150,
        })  # fmt: skip
        return name

    return make


def cache_files(tmp_path) -> list[str]:
    folder = tmp_path / "cache" / "fetched"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_good_file_is_fetched_once_then_read_from_the_cache(entry, tmp_path):
    name = entry("/d/good")
    assert is_dataset(name) and get_dataset(name).fetched
    assert dataset_text(name) == GOOD.decode()
    assert dataset_text(name) == GOOD.decode()
    assert Handler.requests == ["/d/good"]  # the mirror kept the path; the second read hit the cache
    assert cache_files(tmp_path) == [fetched.cached_path(name).name]


@pytest.mark.parametrize(("path", "said"), [
    ("/d/wrong", "not the expected file"),
    ("/d/short", "not the expected file"),
    ("/d/missing", "answered 404"),
    ("/d/slow", "timed out"),
    ("/d/away", "redirected to another host"),
])  # fmt: skip
def test_every_failed_fetch_is_one_line_and_keeps_nothing(entry, tmp_path, path, said):
    name = entry(path)
    with pytest.raises(DataError, match=said) as caught:
        dataset_text(name)
    message = str(caught.value)
    assert (
        "\n" not in message
        and "give its path as the data" in message
        and "https://example.invalid" in message
    )
    assert cache_files(tmp_path) == []  # neither the bad file nor a partial one


def test_offline_is_one_line(entry, monkeypatch):
    name = entry("/d/good")
    monkeypatch.setenv("CHARLOOM_MIRROR", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(DataError, match="could not fetch .*Connection refused.*give its path as the data"):
        dataset_text(name)


def test_a_cached_file_that_no_longer_matches_is_fetched_again(entry, tmp_path):
    name = entry("/d/good")
    dataset_text(name)
    fetched.cached_path(name).write_bytes(b"damaged")
    assert dataset_text(name) == GOOD.decode()
    assert Handler.requests == ["/d/good", "/d/good"]


def test_the_lectures_files_are_pinned():
    names = fetched.FETCHED["makemore-names"]
    assert names["size"] == 228_145 and names["sha256"].startswith("0a30b555")
    shakespeare = fetched.FETCHED["tinyshakespeare"]
    assert shakespeare["size"] == 1_115_394 and shakespeare["sha256"].startswith("86c4e6aa")
