"""Writing files safely: the one place relaysim decides how an output file is written.

- `write_output` / `atomic_write`: a regular file (or a new path) is written under a
  temporary name and renamed over the target, so a reader never sees half a file. A
  symbolic link is followed (the file it points to is written, the link stays). A
  character device, FIFO or socket (`/dev/null`, a named pipe) is written through, never
  replaced. A path through an open file descriptor (`/dev/stdout`, `/dev/fd/N`,
  `/proc/PID/fd/N`: whatever the shell connected, a terminal, a pipe or a file opened with
  `>` or `>>`) is appended to, never replaced nor truncated. A folder is refused.
- `check_output_file`: fail before a long run when an output file cannot be written.
- `safe_name`: a folder name from free text (a scenario name): no separators, no `..`,
  no control characters.
- `FolderLock`: an exclusive lock (fcntl.flock) on a folder or file, refused with the
  holder's pid.
- `json_safe`: strict JSON has neither NaN nor infinities.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import stat
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import UsageError

__all__ = ["atomic_write", "write_output", "check_output_file", "safe_name", "FolderLock",
           "json_safe", "json_number", "LOCK_NAME"]

#: the lock file a sweep keeps in its folder while it writes there
LOCK_NAME = ".relaysim.lock"


def json_number(x: float | None, nd: int = 6) -> float | None:
    """A number for JSON output: None for None, NaN or infinity, else rounded to `nd`
    decimals (stable text)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), nd)


def json_safe(x: Any) -> Any:
    """The same structure with NaN and infinities as None (strict JSON has neither)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    if isinstance(x, np.floating):
        return json_safe(float(x))
    return x


def _why(e: OSError) -> str:
    return e.strerror or str(e)


_FD_LINK = re.compile(r"/(proc/[^/]+|dev)/fd/\d+")


def _fd_link(path: str | Path) -> bool:
    """Whether `path` leads through an open file descriptor's link (/dev/stdout ->
    /proc/self/fd/1): the kernel opens whatever the descriptor holds, which may be a pipe
    that has no name a path can reach, or a file the shell opened for appending."""
    q = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on a chain of links
        if _FD_LINK.fullmatch(q):
            return True
        if not os.path.islink(q):
            return False
        q = os.path.normpath(os.path.join(os.path.dirname(q), os.readlink(q)))
    return False


def _target(path: str | Path) -> tuple[Path, os.stat_result | None]:
    """The file to write (a symbolic link followed) and its status (None: a new path)."""
    p = Path(path)
    if p.is_symlink():
        p = Path(os.path.realpath(p))
    try:
        st = p.stat()
    except FileNotFoundError:
        return p, None
    except OSError as e:
        raise UsageError(f"cannot write {path}: {_why(e)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"cannot write {path}: it is a folder, not a file")
    return p, st


def write_output(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write a file with `write(binary file object)`: atomically for a regular file or a
    new path, straight through for a device, FIFO or socket, through a symbolic link to
    the file it points to, appending through an open descriptor's link (/dev/stdout)."""
    if _fd_link(path):
        try:  # append: never truncate what the shell opened (`>>`), nor replace it
            with open(path, "ab") as f:
                write(f)
        except OSError as e:
            raise UsageError(f"cannot write {path}: {_why(e)}") from None
        return
    p, st = _target(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        try:
            with open(p, "wb") as f:  # a device or pipe: write into it, never replace it
                write(f)
        except OSError as e:
            raise UsageError(f"cannot write {path}: {_why(e)}") from None
        return
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
        if st is not None:
            shutil.copymode(p, tmp)  # keep the permissions of the file replaced
        os.replace(tmp, p)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {_why(e)}") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(path: str | Path, text: str | bytes) -> None:
    """Write `text` (UTF-8) to `path` so that a reader never sees a half-written file."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    write_output(path, lambda f: f.write(data))


def check_output_file(path: str | Path | None, option: str) -> None:
    """Fail now, not after a long run, when `path` cannot be written as a file."""
    if path is None:
        return
    if _fd_link(path):
        if not os.access(path, os.W_OK):
            raise UsageError(f"{option} {path}: not writable")
        return
    p, st = _target(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        if not os.access(p, os.W_OK):
            raise UsageError(f"{option} {path}: not writable")
        return  # a device or pipe that takes writes
    folder = p.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: folder {folder} is not writable")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, default: str = "scenario") -> str:
    """A file or folder name from free text: letters, digits, '.', '_' and '-' only (other
    characters, separators and control characters become '_'), no '..', no leading dot,
    at most 80 characters."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\.{2,}", ".", text).strip("._")[:80].strip("._")
    return text or default


class FolderLock:
    """An exclusive lock on `path` (a folder: its LOCK_NAME file; a file: FILE.lock) held
    while a sweep writes there. A second holder is refused with the first one's pid. The
    operating system releases the lock when the process ends, however it ends."""

    def __init__(self, path: str | Path, what: str = "folder") -> None:
        p = Path(path)
        self.file = p / LOCK_NAME if p.is_dir() else p.with_name(f".{p.name}.lock")
        self.what = what
        self.fd: int | None = None

    def __enter__(self) -> FolderLock:
        import fcntl

        try:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise UsageError(f"cannot lock {self.file}: {_why(e)}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise UsageError(f"{self.file.parent}: another relaysim (pid {pid}) is writing "
                             f"this {self.what}; wait for it to finish or choose another "
                             "--out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock; the file stays (no unlink race)
            self.fd = None
