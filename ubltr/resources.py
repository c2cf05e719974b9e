"""Where the project's own data folders are: ``templates/``, ``schematron/``, ``xsd/``
and ``fixtures/`` (the sample neutral invoices of ``ubltr example``).

In a checkout (and an editable install) they are the top-level folders of the
repository, as the design card lays them out; in a wheel they ship as the packages
``ubltr._templates``, ``ubltr._schematron``, ``ubltr._xsd`` and ``ubltr._examples``
(see pyproject.toml).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


@cache
def folder(name: str) -> Path:
    """Path of ``templates``, ``schematron``, ``xsd`` or ``fixtures``."""
    packaged = {"templates": "_templates", "schematron": "_schematron", "xsd": "_xsd", "fixtures": "_examples"}
    if name not in packaged:
        raise ValueError(name)
    here = _REPO / name
    if here.is_dir() and (_REPO / "pyproject.toml").is_file():  # a checkout, not site-packages
        return here
    installed = Path(__file__).resolve().parent / packaged[name]  # a wheel: ubltr._templates, ...
    if installed.is_dir():
        return installed
    raise FileNotFoundError(f"ubltr's {name}/ folder is missing (looked in {here} and {installed})")
