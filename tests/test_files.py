"""The data directory's files: written whole or not at all; a cache that cannot be read or written is rebuilt."""

import logging

import pytest

from matchmaker.matching import files
from matchmaker.matching.files import cached, write_atomically


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "cache" / "state.bin"
    write_atomically(path, b"old")
    monkeypatch.setattr(files.os, "replace", lambda *_: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, b"new", durable=True)
    assert path.read_bytes() == b"old" and sorted(p.name for p in path.parent.iterdir()) == ["state.bin"]


def test_cached_reads_builds_saves_and_never_trusts_a_bad_cache(tmp_path, caplog):
    path = tmp_path / "value.txt"
    built = []

    def build():
        built.append(1)
        return "fresh"

    def read(p):
        text = p.read_text()
        if text != "fresh":
            raise ValueError("unreadable")
        return text

    def save(value, p):
        write_atomically(p, value.encode())

    assert cached(path, read, build, save, "test value") == "fresh" and len(built) == 1  # missing: built, saved
    assert cached(path, read, build, save, "test value") == "fresh" and len(built) == 1  # read from the cache
    path.write_text("garbage")
    with caplog.at_level(logging.WARNING, logger="matchmaker.matching.files"):
        assert cached(path, read, build, save, "test value") == "fresh" and len(built) == 2
    assert "test value cache" in caplog.text and "unreadable" in caplog.text
    assert path.read_text() == "fresh"  # rebuilt and saved again


def test_cached_returns_the_value_when_the_cache_cannot_be_written(tmp_path, caplog):
    def refuse(value, path):
        raise OSError("read-only file system")

    with caplog.at_level(logging.WARNING, logger="matchmaker.matching.files"):
        assert cached(tmp_path / "x", lambda p: p.read_text(), lambda: "built", refuse, "test value") == "built"
    assert "could not cache the test value: read-only file system" in caplog.text


def test_a_writer_streams_into_the_file_and_one_that_fails_leaves_the_old_file(tmp_path):
    path = tmp_path / "snapshot.bin"
    write_atomically(path, lambda handle: [handle.write(part) for part in (b"first ", b"snapshot")])
    assert path.read_bytes() == b"first snapshot"

    def half_then_fail(handle):
        handle.write(b"half of a new one")
        raise ValueError("cannot serialise")

    with pytest.raises(ValueError, match="cannot serialise"):
        write_atomically(path, half_then_fail, durable=True)
    assert path.read_bytes() == b"first snapshot" and [p.name for p in tmp_path.iterdir()] == ["snapshot.bin"]
