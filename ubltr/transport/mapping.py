"""What each provider's fields can carry: the mapping tables (``ubltr/data/provider_mappings.json``).

One table per provider, as data: rows of profile x invoice type x currency -> the
provider's fields, each with the page of the provider's documents it comes from.
:func:`problems` lists what an invoice needs that its row cannot express (or that no
row covers); :func:`refuse` raises :class:`MappingError` naming the provider and what
it cannot carry.  Clients call :func:`refuse` before any request, so an invoice the
provider would receive differently from what the user built is never sent.
:func:`preflight` adds the provider's documented field lengths, required fields,
enumerations and numbering (``ubltr validate --provider NAME``).

These are plain functions on :class:`ubltr.model.Invoice` so other send-path checks
(e.g. an amount check before BizimHesap/Logo) can call them directly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .. import model

__all__ = ["MappingError", "Problem", "table", "providers", "features", "row_for", "problems", "preflight",
           "refuse", "refuse_profile", "FEATURES"]

KDV = "0015"
#: invoice features a row may or may not carry (see the table's ``_about``)
FEATURES = ("exchange_rate", "exemption", "withholding", "billing_reference", "line_allowances",
            "allowances", "charges", "other_taxes", "unit", "references")
#: the unit a provider without a unit field is taken to mean (UN/ECE C62, "adet")
DEFAULT_UNIT = "C62"


class MappingError(ValueError):
    """The invoice cannot be expressed in the provider's fields without losing meaning."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing the provider cannot carry or would refuse."""

    provider: str
    code: str        # the provider's own code where documented, else a stable UBLTR-... code
    path: str        # the neutral invoice's field ("" for the invoice as a whole)
    message: str
    source: str      # where the provider's documents say so

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.message}"


@cache
def table() -> dict[str, Any]:
    """The whole mapping table (read once)."""
    text = resources.files("ubltr.data").joinpath("provider_mappings.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def providers() -> tuple[str, ...]:
    return tuple(sorted(k for k in table() if not k.startswith("_")))


def _spec(provider: str) -> dict[str, Any]:
    try:
        spec: dict[str, Any] = table()[provider]
    except KeyError:
        raise MappingError(f"no mapping table for provider {provider!r}; known: {', '.join(providers())}") from None
    return spec


def features(inv: model.Invoice) -> dict[str, str]:
    """The features ``inv`` uses, each with the first field that uses it."""
    out: dict[str, str] = {}

    def add(name: str, path: str) -> None:
        out.setdefault(name, path)

    if inv.currency != "TRY":
        add("exchange_rate", "exchange_rate")
    if inv.billing_references:
        add("billing_reference", "billing_references")
    if inv.allowances:
        add("allowances", "allowances")
    for key in ("order_reference", "despatch_references", "contract_reference", "additional_references"):
        if getattr(inv, key):
            add("references", key)
    if inv.charges:
        add("charges", "charges")
    for i, line in enumerate(inv.lines):
        p = f"lines[{i}]"
        if line.unit != DEFAULT_UNIT:
            add("unit", f"{p}.unit")
        if line.exemption is not None:
            add("exemption", f"{p}.exemption")
        if line.withholding is not None:
            add("withholding", f"{p}.withholding")
        if line.allowances:
            add("line_allowances", f"{p}.allowances")
        if line.charges:
            add("charges", f"{p}.charges")
        for t in line.taxes:
            if t.code != KDV:
                add("other_taxes", f"{p}.taxes")
    return out


def _matches(values: list[str], value: str) -> bool:
    return "*" in values or value in values


def row_for(provider: str, profile: str, type_: str, currency: str) -> dict[str, Any] | None:
    """The table row for this profile x type x currency, or ``None``."""
    for row in _spec(provider)["rows"]:
        if (_matches(row["profiles"], profile) and _matches(row["types"], type_)
                and _matches(row["currencies"], currency)):
            return row
    return None


def _why(spec: dict[str, Any], key: str, default: str) -> str:
    return str(spec.get("cannot_carry", {}).get(key) or default)


def problems(provider: str, inv: model.Invoice) -> list[Problem]:
    """What the provider's fields cannot carry for ``inv`` (empty: it maps without loss)."""
    spec = _spec(provider)
    doc = spec.get("document", "")
    row = row_for(provider, inv.profile, inv.type, inv.currency)
    if row is None:
        out = []
        rows = spec["rows"]
        if not any(_matches(r["profiles"], inv.profile) for r in rows):
            out.append(Problem(provider, f"UBLTR-{provider.upper()}-PROFILE", "profile",
                               f"cannot carry profile {inv.profile}: {_why(spec, 'profile', 'no row')}", doc))
        elif not any(_matches(r["profiles"], inv.profile) and _matches(r["types"], inv.type) for r in rows):
            out.append(Problem(provider, f"UBLTR-{provider.upper()}-TYPE", "type",
                               f"cannot carry invoice type {inv.type}: {_why(spec, 'type', 'no row')}", doc))
        else:
            out.append(Problem(provider, f"UBLTR-{provider.upper()}-CURRENCY", "currency",
                               f"cannot carry currency {inv.currency} (exchange rate "
                               f"{inv.exchange_rate}): {_why(spec, 'exchange_rate', 'no row')}", doc))
        # and everything else the invoice uses that this provider has no field for
        for feat, path in features(inv).items():
            if feat in spec.get("cannot_carry", {}) and not (feat == "exchange_rate" and out[0].path == "currency"):
                out.append(Problem(provider, f"UBLTR-{provider.upper()}-{feat.upper()}", path,
                                   f"cannot carry {feat.replace('_', ' ')}: {_why(spec, feat, '')}", doc))
        return out
    carries = set(row.get("carries", ()))
    if "*" in carries:
        return []
    out = []
    for feat, path in features(inv).items():
        if feat in carries:
            continue
        out.append(Problem(provider, f"UBLTR-{provider.upper()}-{feat.upper()}", path,
                           f"cannot carry {feat.replace('_', ' ')}: {_why(spec, feat, 'no field for it')}",
                           row["source"]))
    return out


def refuse(provider: str, inv: model.Invoice) -> None:
    """Raise :class:`MappingError` (naming the provider and what it cannot carry) when
    ``inv`` does not map to ``provider``'s fields without loss."""
    found = problems(provider, inv)
    if found:
        raise MappingError(f"{provider} cannot carry this invoice: " + "; ".join(str(p) for p in found))


def refuse_profile(provider: str, profile: str | None) -> None:
    """For XML providers (the XML carries everything): only the profile picks the row."""
    spec = _spec(provider)
    if profile and not any(_matches(r["profiles"], profile) for r in spec["rows"]):
        raise MappingError(f"{provider} cannot carry profile {profile}: {_why(spec, 'profile', 'no endpoint for it')}")


_UUID4 = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")


def preflight(provider: str, inv: model.Invoice, *, units: Any = None) -> list[Problem]:
    """:func:`problems` plus the provider's documented lengths, required fields,
    enumerations and numbering (``ubltr validate --provider``)."""
    spec = _spec(provider)
    out = problems(provider, inv)
    pf = spec.get("preflight", {})
    num = pf.get("numbering")
    if num and inv.id and not re.match(num["pattern"], inv.id):
        out.append(Problem(provider, num["code"], "id", f"{inv.id!r}: {num['message']}", num["source"]))
    elif num and inv.id and inv.id[3:7] != f"{inv.issue_date.year:04d}":
        out.append(Problem(provider, num["code"], "id",
                           f"{inv.id!r}: the year in the number is not the issue year {inv.issue_date.year}",
                           num["source"]))
    if "uuid4" in pf and inv.uuid and not _UUID4.match(inv.uuid):
        u = pf["uuid4"]
        out.append(Problem(provider, u["code"], "uuid", f"{inv.uuid!r}: {u['message']}", u["source"]))
    for req in pf.get("required", ()):
        if req["field"] == "customer.name" and not inv.customer.display_name.strip():
            out.append(Problem(provider, req["code"], "customer", req["message"], req["source"]))
        if req["field"] == "uuid" and not inv.uuid:
            out.append(Problem(provider, req["code"], "uuid", req["message"], req["source"]))
    for enum in pf.get("enums", ()):
        if enum["field"] == "currency" and inv.currency not in enum["values"]:
            out.append(Problem(provider, enum["code"], "currency",
                               f"{inv.currency}: {provider} takes only {', '.join(enum['values'])}", enum["source"]))
        if enum["field"] == "lines[].unit":
            if units is None:
                from .logo import UNIT_CODES as units
            for i, line in enumerate(inv.lines):
                if line.unit not in units:
                    out.append(Problem(provider, enum["code"], f"lines[{i}].unit",
                                       f"{line.unit!r} has no {enum['target']} in the Logo unit sets "
                                       f"({', '.join(sorted(units))}; pass units=...)", enum["source"]))
    for ln in pf.get("lengths", ()):
        for path, value in _values(inv, ln["field"]):
            if value is not None and len(value) > ln["max"]:
                out.append(Problem(provider, ln["code"], path,
                                   f"{ln.get('target', path)} {value!r} is longer than {ln['max']} characters",
                                   ln["source"]))
    return out


def _values(inv: model.Invoice, field: str) -> list[tuple[str, str | None]]:
    if field == "id":
        return [("id", inv.id)]
    if field == "customer.tax_id":
        return [("customer.tax_id", inv.customer.tax_id)]
    if field == "local_document_id":
        return [("id", inv.id or inv.uuid)]
    if field == "lines[].code|name":
        return [(f"lines[{i}].{'code' if ln.code else 'name'}", ln.code or ln.name) for i, ln in enumerate(inv.lines)]
    if field == "notes[]":
        return [(f"notes[{i}]", note) for i, note in enumerate(inv.notes)]
    if field == "lines[].description":
        return [(f"lines[{i}].description", ln.description) for i, ln in enumerate(inv.lines)]
    return []
