"""Sample neutral invoices shipped with ubltr, one per supported profile × type
(the repository's ``fixtures/*.json``; in a wheel, ``ubltr/_examples``).

>>> import ubltr
>>> data = ubltr.example("TEMELFATURA-SATIS")
>>> ubltr.load(data).profile
'TEMELFATURA'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEFAULT = "TEMELFATURA-SATIS"


def scenarios() -> dict[str, Path]:
    """Scenario name (``PROFILE-TYPE``) -> its JSON file, in name order."""
    from .resources import folder

    return {p.stem: p for p in sorted(folder("fixtures").glob("*.json"))}


def example_path(scenario: str = DEFAULT) -> Path:
    """The JSON file of ``scenario`` (case-insensitive); ValueError naming the known ones."""
    known = scenarios()
    name = scenario.upper().removesuffix(".JSON")
    if name not in known:
        raise ValueError(f"no scenario {scenario!r}; known: {', '.join(known)}")
    return known[name]


def example(scenario: str = DEFAULT) -> dict[str, Any]:
    """The neutral invoice of ``scenario`` (e.g. ``"EARSIVFATURA-IADE"``) as a dict."""
    data: dict[str, Any] = json.loads(example_path(scenario).read_text(encoding="utf-8"))
    return data
