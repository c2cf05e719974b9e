"""Validation of UBL-TR documents, layer by layer, the way GİB and providers judge them.

>>> from ubltr.validation import validate
>>> report = validate(b"<not-xml")
>>> report.valid, report.findings[0].rule
(False, 'xml:syntax')

Layers (each finding names its ``source``):

1. ``xml``: safe parsing (no DTD, no entities, no network, size limits), the root element;
2. ``xsd``: the official UBL 2.1 schemas from the pinned package;
3. ``gib``: GİB's own schematron, compiled once to XSLT 1.0 and run by libxslt;
4. ``ubltr``: ubltr's rules (``schematron/ubltr.sch``): arithmetic, checksums, provider
   extras, and the seal's VKN/TCKN against the sender's (:mod:`ubltr.validation.seal`).

What runs for which document is configured in ``schematron/scenarios.json``.

The verdict (``Report.valid``) is the outside world's: errors are what GİB or a provider
refuses.  By default a ubltr finding is an error when a provider refuses it (a provider
of ``schematron/provider-codes.json`` lists it in ``rejects`` or answers it with an
error code; with ``provider``, that provider); ``gib_only=True`` gives exactly GİB's verdict (XML + XSD + GİB
schematron; ubltr's findings stay as warnings); ``strict=True`` makes every ubltr
finding an error.  Every finding says who refuses it (``Finding.refused_by``).
"""

from __future__ import annotations

import dataclasses
from functools import cache

from .. import official
from .engine import Source, known_providers, load, provider_codes, provider_table, run, warm_up
from .report import Finding, Report, sort_findings

__all__ = ["validate", "Report", "Finding", "known_providers", "warm_up", "refused_rules"]


def _refusals(spec: dict) -> set[str]:
    """ubltr rules a provider refuses: its ``rejects`` list and every ubltr rule it has an
    error code for (what it answers when that rule fails)."""
    return set(spec.get("rejects", ())) | {r for r in spec.get("rules", {}) if r.startswith("UBLTR-")}


@cache
def refused_rules(provider: str | None = None) -> frozenset[str]:
    """ubltr rule ids that are errors by default: those ``provider`` refuses, or (no
    provider named) those any provider in ``schematron/provider-codes.json`` refuses."""
    providers = provider_table().get("providers", {})
    names = [provider.lower()] if provider else list(providers)
    out: set[str] = set()
    for n in names:
        out |= _refusals(providers.get(n, {}))
    return frozenset(out)


def _refusers(f: Finding) -> tuple[str, ...]:
    """Who refuses a document with this finding: GİB and every provider with a code for
    a failed XML/XSD/GİB rule; for a ubltr rule, the providers that refuse it."""
    if f.source in ("xml", "xsd", "gib"):
        return tuple(sorted({"gib", *(name for name, _ in f.provider_codes)}))
    providers = provider_table().get("providers", {})
    return tuple(sorted(n for n, spec in providers.items() if f.rule in _refusals(spec)))


def _verdict(f: Finding, mode: str, refused: frozenset[str]) -> Finding:
    """``f`` (from the engine run with every ubltr rule at its own severity) with the
    severity of ``mode`` and ``refused_by`` filled in."""
    sev = f.severity
    if f.source == "ubltr" and sev == "error":
        if mode == "gib-only" or (mode == "default" and f.rule not in refused):
            sev = "warning"
    by = _refusers(f) if (f.severity == "error" or f.source == "ubltr") else ()
    if sev == f.severity and by == f.refused_by:
        return f
    return dataclasses.replace(f, severity=sev, refused_by=by)


def validate(
    source: Source,
    *,
    schematron_type: str | None = None,
    provider: str | None = None,
    name: str | None = None,
    strict: bool = False,
    gib_only: bool = False,
) -> Report:
    """Validate one UBL-TR document and return its :class:`Report` (never raises for
    an invalid or unreadable document).

    ``source``: the XML as bytes, a file path, or an lxml tree/element.
    ``schematron_type``: GİB's ``type`` parameter, ``"efatura"`` or ``"earchive"``;
    by default ``earchive`` when ProfileID is EARSIVFATURA, else ``efatura``.
    ``provider``: enables that provider's extra rules (e.g. ``"nilvera"``); the ubltr
    findings that provider refuses are errors.  Without it, the ubltr findings *any*
    provider refuses are errors (e.g. a wrong PayableAmount).  Every finding carries
    every provider's code and, in ``refused_by``, who refuses it.
    ``gib_only``: ``report.valid`` is exactly GİB's verdict (XML + XSD + GİB
    schematron); ubltr's findings are all warnings.
    ``strict``: every ubltr finding is an error (arithmetic, checksums, the seal's VKN).
    """
    if schematron_type not in (None, "efatura", "earchive"):
        raise ValueError(f"schematron_type must be 'efatura' or 'earchive', not {schematron_type!r}")
    if strict and gib_only:
        raise ValueError("strict and gib_only exclude each other")
    tree, display, problems = load(source)
    if tree is None:
        return Report(name=name or display, findings=sort_findings(problems), readable=False, layers=("xml",),
                      rules=official.rules_summary())  # what would have judged it
    report = run(tree, schematron_type=schematron_type, provider=provider, name=name or display, strict=True)
    findings = list(report.findings)
    if report.document is not None:
        from .seal import seal_findings  # (cryptography: not needed to import the engine, e.g. at build time)

        findings += seal_findings(tree.getroot(), provider_codes)
    mode = "strict" if strict else ("gib-only" if gib_only else "default")
    refused = refused_rules(provider.lower() if provider else None)
    out = [_verdict(f, mode, refused) for f in findings]
    return dataclasses.replace(report, findings=sort_findings(out) if out else ())
