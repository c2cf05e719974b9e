"""Findings and reports: small frozen records, no behaviour beyond presentation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
Layer = Literal["xml", "xsd", "gib", "ubltr"]
_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a document.

    ``rule`` is stable: GİB's assertion id for GİB rules (``InvoiceIDCheck-1``),
    ``xsd:<libxml2 error type>`` for schema errors, ``xml:<kind>`` for unreadable
    input, ``UBLTR-...`` for ubltr's own rules.
    """

    rule: str
    severity: Severity
    source: Layer
    message: str
    gib_message: str | None = None
    fix: str | None = None
    location: str | None = None
    line: int | None = None
    #: what each provider answers for this rule: ((provider, code), ...)
    provider_codes: tuple[tuple[str, str], ...] = ()
    #: who refuses a document with this finding (``gib`` and/or provider names); empty
    #: when nobody is documented to refuse it (GİB and every known provider accept it)
    refused_by: tuple[str, ...] = ()

    def who_refuses(self) -> str:
        """One line for people: who refuses a document with this finding, and with
        which code."""
        if not self.refused_by:
            return "refused by: nobody documented (GİB and the known providers accept it)"
        codes = dict(self.provider_codes)
        return "refused by: " + ", ".join(
            f"{name} ({codes[name]})" if name in codes else name for name in self.refused_by
        )

    def provider_code(self, provider: str) -> str | None:
        for name, code in self.provider_codes:
            if name == provider:
                return code
        return None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["provider_codes"] = dict(self.provider_codes)
        d["refused_by"] = list(self.refused_by)  # kept when empty: "nobody refuses it" is news
        return {k: v for k, v in d.items() if k == "refused_by" or v not in (None, {}, ())}


@dataclass(frozen=True, slots=True)
class Report:
    """The verdict on one document: always returned, never raised.

    ``readable`` is False when the input could not be read as XML at all (the CLI
    maps that to exit status 2)."""

    name: str
    findings: tuple[Finding, ...] = ()
    document: str | None = None  # root element local name (Invoice, DespatchAdvice...)
    profile: str | None = None
    type_code: str | None = None
    schematron_type: str | None = None  # "efatura" | "earchive"
    readable: bool = True
    layers: tuple[str, ...] = field(default=())
    #: which rules judged the document: ((layer, release), ...) for ``gib`` (GİB's
    #: schematron release and edition), ``xsd`` (the XSD package) and ``ubltr`` (ubltr's
    #: rule set), see :func:`ubltr.official.rules_summary`
    rules: tuple[tuple[str, str], ...] = field(default=())

    @property
    def valid(self) -> bool:
        """True when no finding is an error (warnings do not reject).  Which findings are
        errors is decided by :func:`ubltr.validation.validate` (``strict``, ``gib_only``,
        ``provider``)."""
        return self.readable and not any(f.severity == "error" for f in self.findings)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    def failed_rules(self, source: Layer | None = None) -> frozenset[str]:
        """Ids of rules with an error finding (optionally from one layer)."""
        return frozenset(
            f.rule for f in self.findings if f.severity == "error" and (source is None or f.source == source)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "valid": self.valid,
            "readable": self.readable,
            "document": self.document,
            "profile": self.profile,
            "type_code": self.type_code,
            "schematron_type": self.schematron_type,
            "layers": list(self.layers),
            "rules": dict(self.rules),
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_text(self, provider: str | None = None) -> str:
        verdict = "valid" if self.valid else ("unreadable" if not self.readable else "INVALID")
        kind = " / ".join(x for x in (self.document, self.profile, self.type_code, self.schematron_type) if x)
        lines = [
            f"{self.name}: {verdict} ({self.count('error')} errors, {self.count('warning')} warnings)"
            + (f" [{kind}]" if kind else "")
        ]
        for f in self.findings:
            where = f" line {f.line}" if f.line else ""
            rid = f.rule if ":" in f.rule else f"{f.source}:{f.rule}"
            lines.append(f"  {f.severity.upper():7} {rid}{where}: {f.message}")
            if f.gib_message and f.gib_message != f.message:
                lines.append(f"          GİB: {f.gib_message}")
            if f.fix:
                lines.append(f"          fix: {f.fix}")
            if f.severity != "info":
                lines.append(f"          {f.who_refuses()}")
            if provider:
                code = f.provider_code(provider)
                if code:
                    lines.append(f"          {provider} answers: {code}")
        if self.rules:
            lines.append("  " + rules_line(dict(self.rules)))
        return "\n".join(lines)


def rules_line(rules: dict[str, str]) -> str:
    """``rules: GİB 20260701 edition 21.08.2026; XSD UBL-TR 1.2.1; ubltr ...``"""
    names = {"gib": "GİB", "xsd": "XSD", "ubltr": "ubltr"}
    return "rules: " + "; ".join(f"{names.get(k, k)} {v}" if k != "ubltr" else v for k, v in rules.items())


def sort_findings(findings: list[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: (_ORDER[f.severity], f.line or 0, f.rule)))
