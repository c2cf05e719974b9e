"""What ``ubltr --help`` needs to know of the command modules without importing them:
the names and help of the commands each declares, read from its source with :mod:`ast`
(no click, no lxml: setup.py also runs this in the bare build environment to write
``commands/_index.json`` into the wheel).  See :mod:`ubltr.cli`.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

_INDEX = "_index.json"


@cache
def _declared(path: str) -> tuple[tuple[str, str | None], ...] | None:
    """(command name, help) of the top-level click commands a module declares, read
    from its source; None when the module does something this reader does not follow."""
    import ast

    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    found: dict[str, tuple[str, str | None]] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            if not (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute)
                    and isinstance(dec.func.value, ast.Name) and dec.func.value.id == "click"
                    and dec.func.attr in ("command", "group")):
                continue
            if not (dec.args and isinstance(dec.args[0], ast.Constant) and isinstance(dec.args[0].value, str)):
                return None
            help_: str | None = ast.get_docstring(node)
            for kw in dec.keywords:
                if kw.arg in ("help", "short_help"):
                    if not isinstance(kw.value, ast.Constant):
                        return None
                    help_ = str(kw.value.value) if kw.arg == "help" else help_
                    if kw.arg == "short_help":
                        return None  # rare; importing the module gives the exact text
            found[node.name] = (dec.args[0].value, help_)
    listed: list[str] = []
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "COMMANDS" for t in node.targets)):
            if not isinstance(node.value, ast.List) or not all(isinstance(e, ast.Name) for e in node.value.elts):
                return None
            listed = [e.id for e in node.value.elts if isinstance(e, ast.Name)]
    if not listed or any(n not in found for n in listed):
        return None
    return tuple(found[n] for n in listed)


def _modules() -> list[tuple[str, Path]]:
    """(name, source file) of every command module, in name order.  (A directory
    listing: pkgutil.iter_modules imports inspect, a tenth of ``ubltr --help``'s time.)"""
    folder = Path(__file__).resolve().parent / "commands"
    return [(p.stem, p) for p in sorted(folder.glob("*.py")) if not p.stem.startswith("_")]


def build_index(dest: Path) -> None:
    """Write the commands' names and help, per module with its sha256 (setup.py)."""
    out = {}
    for name, src in _modules():
        declared = _declared(str(src)) if src.is_file() else None
        if declared is not None:
            out[name] = {"sha256": hashlib.sha256(src.read_bytes()).hexdigest(), "commands": declared}
    dest.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _read_index(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / _INDEX).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}
