"""Where the project's own data folders are: ``templates/``, ``schematron/``, ``xsd/``.

In a checkout (and an editable install) they are the top-level folders of the
repository, as the design card lays them out; in a wheel they ship as the packages
``ubltr._templates``, ``ubltr._schematron`` and ``ubltr._xsd`` (see pyproject.toml).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


@cache
def folder(name: str) -> Path:
    """Path of ``templates``, ``schematron`` or ``xsd``."""
    if name not in {"templates", "schematron", "xsd"}:
        raise ValueError(name)
    here = _REPO / name
    if here.is_dir():
        return here
    with resources.as_file(resources.files(f"ubltr._{name}")) as p:  # installed wheel
        return Path(p)
