"""The webhook journal on disk: webhooks Redis could not take, kept until it can.

Each process appends to a file of its own, ``<host>-<pid>-<ms>-<n>.log`` in
the journal folder, and holds an exclusive ``flock`` on it for as long as it
has the file open. The lock is the liveness test: a file whose lock can be
taken belongs to a process that died (the kernel drops a dead process's
locks), and whoever takes it replays the file and removes it. A file holds
records only while they wait: its process removes it once they are applied.

A record is one line, ``<crc32, 8 hex digits> <JSON>\\n`` (JSON with ASCII
escapes, so no newline inside). Appends are fsync'd before the webhook is
answered. A last line without its newline is a write cut short by a crash
(that webhook was never answered) and is ignored; a line failing its checksum
is skipped and counted.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import socket
import zlib
from pathlib import Path
from typing import Any

from hub import clock

SUFFIX = ".log"
READ_CHUNK = 1 << 20
MAX_RECORD = READ_CHUNK // 2  # so one chunk always holds a whole record
_counter = itertools.count()


def encode(record: dict[str, Any]) -> bytes:
    body = json.dumps(record, separators=(",", ":"), ensure_ascii=True).encode()
    return b"%08x %s\n" % (zlib.crc32(body), body)


def decode(chunk: bytes, offset: int) -> tuple[list[tuple[dict[str, Any], int]], int, int]:
    """The whole records in ``chunk`` (read at ``offset``), each with the offset
    just past it; the offset after the last whole line; and how many lines failed
    their checksum."""
    records: list[tuple[dict[str, Any], int]] = []
    bad = 0
    start = 0
    while (end := chunk.find(b"\n", start)) >= 0:
        line = chunk[start:end]
        start = end + 1
        crc, _, body = line.partition(b" ")
        try:
            ok = len(crc) == 8 and int(crc, 16) == zlib.crc32(body)
            record = json.loads(body) if ok else None
        except ValueError:
            record = None
        if isinstance(record, dict):
            records.append((record, offset + start))
        else:
            bad += 1
    return records, offset + start, bad


def _read(fd: int, offset: int, end: int | None) -> tuple[list[tuple[dict[str, Any], int]], int, int]:
    size = READ_CHUNK if end is None else min(READ_CHUNK, end - offset)
    chunk = os.pread(fd, size, offset) if size > 0 else b""
    return decode(chunk, offset)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)  # the new file's name survives a power cut too
    finally:
        os.close(fd)


class OwnJournal:
    """This process's file. Blocking calls: the caller runs them in a thread,
    never two at once."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{socket.gethostname()}-{os.getpid()}-{clock.now_ms()}-{next(_counter)}"
        self.path = folder / (name + SUFFIX)
        # Locked under a name no replayer looks at, then renamed: nobody can
        # take a file for a dead one's between its creation and its lock.
        hidden = folder / (name + ".new")
        self.fd = os.open(hidden, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(hidden, self.path)
        _fsync_folder(folder)
        self.size = 0  # bytes written and fsync'd; the caller updates it

    def append(self, lines: list[bytes]) -> int:
        """Write and fsync; the number of bytes added. On failure nothing counts:
        whatever part got written is cut off again."""
        data = b"".join(lines)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]
            os.fsync(self.fd)
        except OSError:
            try:
                os.ftruncate(self.fd, self.size)
            except OSError:
                pass
            raise
        return len(data)

    def read(self, offset: int, end: int) -> tuple[list[tuple[dict[str, Any], int]], int, int]:
        return _read(self.fd, offset, end)

    def close(self, *, remove: bool) -> None:
        if remove:
            self.path.unlink(missing_ok=True)
        os.close(self.fd)  # drops the lock: a file left behind is anyone's to replay


class DeadJournal:
    """A file left by a process that died, locked by us while we replay it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    def claim(cls, path: Path) -> DeadJournal | None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its process is alive, or another one replays it
            os.close(fd)
            return None
        if os.fstat(fd).st_nlink == 0:  # replayed and removed while we waited
            os.close(fd)
            return None
        return cls(path, fd)

    def read(self, offset: int) -> tuple[list[tuple[dict[str, Any], int]], int, int]:
        return _read(self.fd, offset, None)

    def release(self, *, remove: bool) -> None:
        if remove:
            self.path.unlink(missing_ok=True)
        os.close(self.fd)


def other_files(folder: Path, own: Path | None) -> list[Path]:
    """Journal files other than ours, oldest first."""
    try:
        entries = [p for p in folder.iterdir() if p.suffix == SUFFIX and p != own]
    except FileNotFoundError:
        return []
    stamped = []
    for path in entries:
        try:
            stamped.append((path.stat().st_mtime, path))
        except FileNotFoundError:
            continue
    return [p for _, p in sorted(stamped)]
