"""The wheel carries every package and data folder the code uses."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_for_the_wheel():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(cfg["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ubltr").rglob("__init__.py")}
    assert found <= listed, found - listed
    assert cfg["package-dir"] == {"ubltr._templates": "templates", "ubltr._schematron": "schematron", "ubltr._xsd": "xsd",
                                  "ubltr._examples": "fixtures"}


def test_data_files_match_the_package_data_patterns():
    import fnmatch

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    for pkg, folder in cfg["package-dir"].items():
        patterns = cfg["package-data"][pkg]
        for f in (ROOT / folder).rglob("*"):
            if pkg == "ubltr._examples" and f.suffix != ".json" or f.parent.name == "compiled":
                continue  # the examples are the neutral invoices; compiled/ is built into the wheel
            if f.is_file() and f.name != ".keep":
                rel = f.relative_to(ROOT / folder).as_posix()
                assert any(fnmatch.fnmatch(rel, p) for p in patterns), f"{folder}/{rel} would not ship in the wheel"
