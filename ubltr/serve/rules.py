"""``GET /rules``: which GİB rule release and which ubltr rules this service runs.

Kept to one function so it can point at ``ubltr rules``' own function once that lands.
"""

from __future__ import annotations

import hashlib
from typing import Any


def loaded_rules() -> dict[str, Any]:
    """The pinned GİB package (``xsd/lock.json``), each rule set of
    ``schematron/scenarios.json`` with the sha256 of its source, the documents each
    validates, and the providers whose codes are known."""
    from ..official import lock
    from ..validation.engine import _ruleset_source, known_providers, scenarios

    pinned = lock()
    sc = scenarios()
    rulesets = {}
    for name, spec in sc["rulesets"].items():
        entry = {k: v for k, v in spec.items() if k in ("source", "official", "file", "advisory")}
        entry["sha256"] = hashlib.sha256(_ruleset_source(spec)).hexdigest()
        rulesets[name] = entry
    return {
        "gib": {"package": pinned["package"], "version": pinned["version"], "files": len(pinned["files"])},
        "rulesets": rulesets,
        "documents": {d["name"]: d["rulesets"] for d in sc["documents"]},
        "providers": list(known_providers()),
    }
