"""Helpers shared by the command modules: reading inputs, reporting errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_BAD_INPUT = 2


def read_input(path: str) -> bytes:
    """Bytes of ``path`` (``-`` for stdin); a missing file is a usage error (exit 2)."""
    if path == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except IsADirectoryError:
        fail(f"{path}: is a directory")
    except PermissionError:
        fail(f"{path}: permission denied")


def read_document(path: str) -> bytes:
    """Bytes of an XML document at ``path`` (``-`` for stdin), read while checking the
    size limit (``ubltr.xmlsafe.MAX_BYTES``): an oversize input is refused (exit 2)
    before it is read into memory."""
    from ..xmlsafe import TooLarge, read_limited

    name = "stdin" if path == "-" else path
    try:
        return read_limited(sys.stdin.buffer if path == "-" else path, what=name)
    except TooLarge as exc:
        fail(f"{exc}")
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except IsADirectoryError:
        fail(f"{path}: is a directory")
    except PermissionError:
        fail(f"{path}: permission denied")
    except OSError as exc:
        fail(f"{path}: cannot read ({exc.strerror})")


def write_output(path: str | None, data: bytes) -> None:
    if path in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    p = Path(path)
    try:
        if p.exists() and not p.is_file():  # /dev/null, a FIFO, a terminal: write into it, never rename over it
            with open(p, "wb") as fh:
                fh.write(data)
            return
        tmp = p.with_name(p.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(p)  # a regular file appears whole or not at all
    except OSError as exc:
        fail(f"{path}: cannot write ({exc.strerror})")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)
