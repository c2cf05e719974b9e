"""``GET /rules``: which GİB rule release and which ubltr rules this service runs: the
same description as ``ubltr rules --json`` (:func:`ubltr.official.describe`), plus the
rule sets per document and the providers whose codes are known."""

from __future__ import annotations

import hashlib
from typing import Any


def loaded_rules() -> dict[str, Any]:
    """GİB's release and edition, the XSD package and ubltr's rules (``ubltr rules
    --json``), each rule set of ``schematron/scenarios.json`` with the sha256 of its
    source, the documents each validates, and the providers whose codes are known."""
    from ..official import describe
    from ..validation.engine import _ruleset_source, known_providers, scenarios

    sc = scenarios()
    rulesets = {}
    for name, spec in sc["rulesets"].items():
        entry = {k: v for k, v in spec.items() if k in ("source", "official", "file", "advisory")}
        entry["sha256"] = hashlib.sha256(_ruleset_source(spec)).hexdigest()
        rulesets[name] = entry
    return {
        **describe(),
        "rulesets": rulesets,
        "documents": {d["name"]: d["rulesets"] for d in sc["documents"]},
        "providers": list(known_providers()),
    }
