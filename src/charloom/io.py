"""Files on disk: safetensors for tensors, JSON for everything else, never pickle.

Every write is atomic (temporary file in the same folder, fsync, rename), so a run
killed at any moment leaves either the old file or the new one, never half of one.
Loading goes through the safetensors parser only, so a file cannot run code: a pickle
renamed to ``.safetensors`` is refused, not unpickled. A run folder being trained is
held by an advisory lock, so a second trainer is turned away rather than interleaved.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from charloom.errors import CharloomError, RunError

TEMP_SUFFIX = ".tmp"


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` or leave it as it was; a full disk or a read-only
    folder is the user's to fix, so it is a one-line RunError, not a traceback."""
    atomic_write_chunks(path, [data])


def atomic_write_chunks(path: str | Path, chunks: Iterable[bytes]) -> None:
    """``atomic_write_bytes`` for data made a piece at a time (a split of a large text),
    which is never all in memory at once."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise
    _fsync_dir(path.parent)


def append_text(path: str | Path, text: str) -> None:
    """Append to a log file (metrics, samples); resuming truncates it to its checkpoint."""
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise _write_error(Path(path), exc) from None


def _write_error(path: Path, exc: OSError) -> RunError:
    reason = exc.strerror or str(exc)
    return RunError(
        f"cannot write {path} ({reason}); free some space or make the folder writable, "
        "then continue with --resume: the last checkpoint is intact"
    )


def remove_stale_temps(folder: str | Path) -> None:
    """Temporary files of writes that a kill interrupted; they are never read."""
    for tmp in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        tmp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_json(path: str | Path, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=False) + "\n").encode("utf-8"))


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict | None = None) -> None:
    """Write tensors (copied, so tied weights save as two plain tensors) and JSON metadata."""
    plain = {name: t.detach().to("cpu").contiguous().clone() for name, t in tensors.items()}
    meta = {"charloom": json.dumps(metadata or {})}
    atomic_write_bytes(path, save_safetensors_bytes(plain, metadata=meta))


def load_tensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a safetensors file written by ``save_tensors``; any damage is a RunError."""
    path = Path(path)
    if not path.exists():
        raise RunError(f"missing checkpoint file {path}")
    data = path.read_bytes()
    try:
        metadata = _read_metadata(data)
        tensors = load_safetensors_bytes(data)
    except Exception as exc:  # the parser's errors vary by version; all mean 'damaged'
        raise RunError(
            f"{path} is not a valid safetensors file ({_short(exc)}); "
            "it may be truncated or corrupt: retrain or restore it"
        ) from None
    return tensors, metadata


def _read_metadata(data: bytes) -> dict:
    """The JSON header of a safetensors file: 8-byte little-endian length, then JSON."""
    if len(data) < 8:
        raise ValueError("file shorter than its header")
    (length,) = struct.unpack("<Q", data[:8])
    if length > len(data) - 8:
        raise ValueError("header longer than the file")
    header = json.loads(data[8 : 8 + length])
    raw = header.get("__metadata__", {}).get("charloom", "{}")
    return json.loads(raw)


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def image_path(path: str | Path, flag: str) -> Path:
    """A path the user gave for a picture: a .png file (see ``_made_file``)."""
    return _made_file(path, flag, (".png",), "a .png")


def page_path(path: str | Path, flag: str) -> Path:
    """A path the user gave for a page: an .html file (see ``_made_file``)."""
    return _made_file(path, flag, (".html", ".htm"), "an .html")


def _made_file(path: str | Path, flag: str, suffixes: tuple[str, ...], kind: str) -> Path:
    """A path for a file charloom makes must end as that kind of file does and not be a
    folder: the file goes where the user said and nowhere else, and a slip of the flag
    (a data file named where the picture or page was meant) overwrites nothing."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise RunError(f"{flag} must name {kind} file, got {str(path)[:100]!r}")
    if path.is_dir():
        raise RunError(f"{flag} {str(path)[:100]} is a folder; name {kind} file")
    return path


class RunLock:
    """An exclusive advisory lock (``flock``) on a run folder's lock file, held while one
    process trains the run. The lock, not the file, is what counts: a lock file left by a
    killed trainer holds nobody up. Where ``fcntl`` is missing (Windows) nothing is locked."""

    def __init__(self, path: Path):
        self.path = path
        self.handle: Any = None

    def __enter__(self) -> RunLock:
        if fcntl is None:
            return self
        try:
            self.handle = open(self.path, "a+")  # held open until __exit__
        except OSError as exc:
            raise CharloomError(f"cannot write in {self.path.parent}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.handle.close()
            raise CharloomError(
                f"{self.path.parent} is being trained by another process; wait for it to finish, or "
                "give another --out"
            ) from None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None
