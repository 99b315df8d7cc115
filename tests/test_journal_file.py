"""The journal file: a live process's file is not anyone else's to replay; a
dead one's is, with a write cut short by the crash ignored and a damaged line
skipped (and counted) rather than applied."""

from __future__ import annotations

import os
from pathlib import Path

from hub.storage.journal import DeadJournal, OwnJournal, encode, other_files


def test_a_live_file_is_locked_and_a_dead_one_reads_back_its_whole_records(tmp_path: Path) -> None:
    own = OwnJournal(tmp_path)
    own.size += own.append([encode({"n": 1}), encode({"n": 2, "body": "line\nbreak é"})])
    assert other_files(tmp_path, own.path) == []
    assert other_files(tmp_path, None) == [own.path]
    assert DeadJournal.claim(own.path) is None  # its process holds it

    damaged = encode({"n": 3}).replace(b'"n":3', b'"n":4')
    os.write(own.fd, damaged + encode({"n": 5}) + encode({"n": 6})[:-3])  # then a crash mid-write
    own.close(remove=False)

    dead = DeadJournal.claim(own.path)
    assert dead is not None
    records, after, bad = dead.read(0)
    assert [r for r, _ in records] == [{"n": 1}, {"n": 2, "body": "line\nbreak é"}, {"n": 5}]
    assert bad == 1
    assert dead.read(after)[0] == []  # the cut-short tail is never a record
    assert DeadJournal.claim(own.path) is None  # one replayer at a time
    dead.release(remove=True)
    assert not own.path.exists()
