"""Is the buyer an e-Fatura user, and with which alias?  And ``"profile": "auto"``.

Providers answer the taxpayer question in their own shapes (Nilvera's
``GlobalCompanyInfoResponse`` list, Uyumsoft's ``IsEInvoiceUser`` boolean);
:func:`taxpayer` turns any of them into one :class:`Taxpayer`.  :func:`resolve_profile`
lets a neutral invoice say ``"profile": "auto"``: a registered e-Fatura user gets
``TEMELFATURA`` (or the configured commercial profile) and its receiver alias, anyone
else ``EARSIVFATURA``.  It works on the neutral JSON before :func:`ubltr.model.load`,
so the model never sees ``auto``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import ConfigurationError, Unsupported

__all__ = ["Taxpayer", "taxpayer", "resolve_profile", "AUTO", "EFATURA_PROFILES"]

AUTO = "auto"
#: profiles ``auto`` may pick for a registered e-Fatura user
EFATURA_PROFILES = ("TEMELFATURA", "TICARIFATURA")


@dataclass(frozen=True, slots=True)
class Taxpayer:
    tax_id: str
    registered: bool                 # an e-Fatura user (GİB's registered users list, as the provider sees it)
    aliases: tuple[str, ...] = ()    # receiver aliases (posta kutusu, PK), first is the default
    title: str | None = None


def taxpayer(client: Any, tax_id: str) -> Taxpayer:
    """Ask ``client`` (any provider client with ``lookup``) about ``tax_id``.

    Raises :class:`ubltr.transport.base.Unsupported` when the provider documents no
    taxpayer lookup, and the typed errors of :mod:`ubltr.transport.base` when the
    question fails (never a raw httpx exception)."""
    tax_id = tax_id.strip()
    if not (tax_id.isdigit() and len(tax_id) in (10, 11)):
        raise ConfigurationError(f"{tax_id!r}: a VKN has 10 digits, a TCKN 11")
    rows = client.lookup(tax_id)
    aliases: list[str] = []
    registered = False
    title = None
    for row in rows:
        if not isinstance(row, dict):
            continue
        if "IsEInvoiceUser" in row:            # Uyumsoft / Hepsiburada
            registered = registered or bool(row["IsEInvoiceUser"])
            if row.get("Alias"):
                aliases.append(str(row["Alias"]))
            continue
        # Nilvera GlobalCompanyInfoResponse: Name is the alias, Type PK (receiver) / GB (sender)
        if str(row.get("DocumentType") or "Invoice") != "Invoice":
            continue
        registered = True
        title = title or row.get("Title")
        name = row.get("Name")
        if name and str(row.get("Type") or "PK").upper() == "PK":
            aliases.append(str(name))
    return Taxpayer(tax_id, registered, tuple(dict.fromkeys(aliases)), title)


def resolve_profile(neutral: dict[str, Any], client: Any, *, efatura_profile: str = "TEMELFATURA"
                    ) -> tuple[dict[str, Any], Taxpayer | None]:
    """A copy of ``neutral`` whose ``"profile": "auto"`` is resolved through the
    provider's taxpayer lookup (unchanged, with ``None``, when the profile is not auto).

    The customer's VKN/TCKN is looked up: an e-Fatura user gets ``efatura_profile``
    (``TEMELFATURA`` or ``TICARIFATURA``), anyone else ``EARSIVFATURA``.  The caller
    uses ``Taxpayer.aliases[0]`` as the receiver alias when it has none of its own.
    An ``"earchive"`` block in an auto invoice applies only when it resolves to e-Arşiv
    (default there: ``{"send_type": "ELEKTRONIK"}``)."""
    if neutral.get("profile") != AUTO:
        return neutral, None
    if efatura_profile not in EFATURA_PROFILES:
        raise ConfigurationError(f"auto profile: an e-Fatura user gets one of {', '.join(EFATURA_PROFILES)}, "
                                 f"not {efatura_profile!r}")
    raw_customer = neutral.get("customer")
    customer: dict[str, Any] = raw_customer if isinstance(raw_customer, dict) else {}
    tax_id = str(customer.get("vkn") or customer.get("tckn") or "")
    if not tax_id:
        raise ConfigurationError("profile 'auto' needs customer.vkn or customer.tckn to look the buyer up")
    if not hasattr(client, "lookup") or type(client).lookup is _base_lookup():
        raise Unsupported(f"{getattr(client, 'name', 'provider')}: no taxpayer lookup in its documents; "
                          "give the profile explicitly instead of 'auto'")
    who = taxpayer(client, tax_id)
    out = dict(neutral, profile=efatura_profile if who.registered else "EARSIVFATURA")
    if who.registered:
        out.pop("earchive", None)   # given for the e-Arşiv case only
    else:
        out.setdefault("earchive", {"send_type": "ELEKTRONIK"})
    return out, who


def _base_lookup() -> Any:
    from .base import BaseClient

    return BaseClient.lookup
