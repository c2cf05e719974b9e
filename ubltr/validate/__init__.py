"""Validation of UBL-TR documents, layer by layer, the way GİB and providers judge them.

>>> from ubltr.validate import validate
>>> report = validate(b"<not-xml")
>>> report.valid, report.findings[0].rule
(False, 'xml:syntax')

Layers (each finding names its ``source``):

1. ``xml``: safe parsing (no DTD, no entities, no network, size limits), the root element;
2. ``xsd``: the official UBL 2.1 schemas from the pinned package;
3. ``gib``: GİB's own schematron, compiled once to XSLT 1.0 and run by libxslt;
4. ``ubltr``: ubltr's rules (``schematron/ubltr.sch``): arithmetic, checksums, provider extras.

What runs for which document is configured in ``schematron/scenarios.json``.
"""

from __future__ import annotations

from .engine import Source, known_providers, run, warm_up
from .report import Finding, Report

__all__ = ["validate", "Report", "Finding", "known_providers", "warm_up"]


def validate(
    source: Source,
    *,
    schematron_type: str | None = None,
    provider: str | None = None,
    name: str | None = None,
    strict: bool = False,
) -> Report:
    """Validate one UBL-TR document and return its :class:`Report` (never raises for
    an invalid or unreadable document).

    ``source``: the XML as bytes, a file path, or an lxml tree/element.
    ``schematron_type``: GİB's ``type`` parameter, ``"efatura"`` or ``"earchive"``;
    by default ``earchive`` when ProfileID is EARSIVFATURA, else ``efatura``.
    ``provider``: enables that provider's extra rules (e.g. ``"nilvera"``) and turns
    the ubltr findings that provider is documented to reject into errors; every
    finding carries every provider's code regardless.
    ``strict``: every ubltr rule counts (by default ubltr's own findings are warnings,
    so ``report.valid`` is exactly GİB's verdict: XML + XSD + GİB schematron).
    """
    if schematron_type not in (None, "efatura", "earchive"):
        raise ValueError(f"schematron_type must be 'efatura' or 'earchive', not {schematron_type!r}")
    return run(source, schematron_type=schematron_type, provider=provider, name=name, strict=strict)


from .._callable import callable_module as _callable_module  # noqa: E402

_callable_module(__name__, validate)  # ubltr.validate(source) calls validate()
