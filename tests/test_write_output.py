"""Output paths that are not regular files (a FIFO here; /dev/null for a user) are written
into, never replaced: renaming a temporary file over /dev/null, as root, turned it into a
regular file for every program on the machine."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from ubltr.cli import cli
from ubltr.viewfiles import write_whole

ROOT = Path(__file__).resolve().parents[1]


def _reader(fifo: Path, got: list[bytes]) -> threading.Thread:
    def run() -> None:
        with open(fifo, "rb") as fh:
            got.append(fh.read())
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_build_into_a_fifo_writes_into_it_and_leaves_it_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    got: list[bytes] = []
    t = _reader(fifo, got)
    res = CliRunner().invoke(cli, ["build", str(ROOT / "fixtures" / "TEMELFATURA-SATIS.json"), "-o", str(fifo)])
    t.join(30)
    assert res.exit_code == 0, res.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # old code: replaced by a regular file (and the reader never woke)
    assert got and got[0].startswith(b"<?xml") and b"<cbc:PayableAmount" in got[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_write_whole_into_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "page.pdf"
    os.mkfifo(fifo)
    got: list[bytes] = []
    t = _reader(fifo, got)
    write_whole(fifo, b"%PDF-1.7 x")
    t.join(30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and got == [b"%PDF-1.7 x"]


def test_a_regular_file_is_still_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "x.xml"
    out.write_bytes(b"old")
    res = CliRunner().invoke(cli, ["build", str(ROOT / "fixtures" / "TEMELFATURA-SATIS.json"), "-o", str(out)])
    assert res.exit_code == 0 and out.read_bytes().startswith(b"<?xml") and not (tmp_path / "x.xml.part").exists()
