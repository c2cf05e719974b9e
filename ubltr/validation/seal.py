"""Whose seal is it?  The VKN/TCKN in a signing certificate against the document's sender.

A mali mühür certificate names its holder's VKN (an e-imza certificate a TCKN) in the
subject's ``serialNumber``.  GİB's schematron does not compare it with the document; a
document sealed by another company than its supplier is still refused by the receiver
and worthless as evidence.  :func:`seal_findings` reports such a mismatch as the ubltr
rule ``UBLTR-SEAL-VKN`` (``ubltr sign`` refuses to make one, ``ubltr verify`` reports it).
This module only reads certificates; it checks no signature (that is ``ubltr.sign``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import warnings
from typing import Any, Callable

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from .report import Finding

__all__ = ["cert_vkn_tckn", "sender_ids", "seal_findings", "SENDER_PARTY", "RULE"]

RULE = "UBLTR-SEAL-VKN"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXT = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

#: the party that issues (and seals) each UBL document
SENDER_PARTY = {
    "Invoice": "AccountingSupplierParty",
    "CreditNote": "AccountingSupplierParty",
    "ApplicationResponse": "SenderParty",
    "DespatchAdvice": "DespatchSupplierParty",
    "ReceiptAdvice": "DeliveryCustomerParty",
}
_DIGESTS = {
    "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}


def cert_vkn_tckn(cert: x509.Certificate) -> tuple[str | None, str | None]:
    """(id, "VKN" | "TCKN") from the subject's serialNumber (``1234567890``,
    ``VKN1234567890``, ``TINTR-...``, ``IDCTR-...``, ``PNOTR-...``), else (None, None)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # over-long attributes in real CA names
        attrs = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    for attr in attrs:
        value = str(attr.value).strip()
        digits = re.sub(r"^(TCKN|VKN|TINTR-|IDCTR-|PNOTR-)", "", value, flags=re.I)
        if re.fullmatch(r"\d{10}", digits):
            return digits, "VKN"
        if re.fullmatch(r"\d{11}", digits):
            return digits, "TCKN"
    return None, None


def sender_ids(doc: etree._Element) -> list[str]:
    """The VKN/TCKN values of the document's sender party (supplier of an invoice)."""
    local = etree.QName(doc).localname
    party = doc.find(f"{{{CAC}}}{SENDER_PARTY.get(local, 'AccountingSupplierParty')}")
    if party is None:
        return []
    out = []
    for pid in party.iter(f"{{{CAC}}}PartyIdentification"):
        el = pid.find(f"{{{CBC}}}ID")
        if el is not None and (el.get("schemeID") or "").upper() in ("VKN", "TCKN"):
            out.append((el.text or "").strip())
    return out


def _b64(text: str | None) -> bytes | None:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def signer_certificate(sig: etree._Element) -> x509.Certificate | None:
    """The certificate a ``ds:Signature`` names as its signer: the KeyInfo certificate
    whose digest the XAdES SigningCertificate carries, else the first one."""
    certs: list[tuple[bytes, x509.Certificate]] = []
    key_info = sig.find(f"{{{DS}}}KeyInfo")
    if key_info is None:
        return None
    for el in key_info.iter(f"{{{DS}}}X509Certificate"):
        der = _b64(el.text)
        if der is None:
            continue
        try:
            certs.append((der, x509.load_der_x509_certificate(der)))
        except ValueError:
            continue
    if not certs:
        return None
    for cd in sig.iter("{*}CertDigest"):
        dm = cd.find(f"{{{DS}}}DigestMethod")
        name = _DIGESTS.get(dm.get("Algorithm") or "") if dm is not None else None
        value = _b64(cd.findtext(f"{{{DS}}}DigestValue"))
        if name and value:
            for der, cert in certs:
                if hashlib.new(name, der).digest() == value:
                    return cert
        break
    return certs[0][1]


def _owner(sig: etree._Element) -> etree._Element | None:
    """The UBL document whose ``ext:UBLExtensions`` holds ``sig`` (None elsewhere)."""
    p = sig.getparent()
    while p is not None:
        if p.tag == f"{{{EXT}}}UBLExtensions":
            doc = p.getparent()
            return doc if doc is not None and etree.QName(doc).localname in SENDER_PARTY else None
        p = p.getparent()
    return None


def seal_mismatch(sig: etree._Element, cert: x509.Certificate | None = None) -> str | None:
    """A sentence when the seal of ``sig`` (its signing certificate ``cert``, found in
    KeyInfo when not given) names another VKN/TCKN than its document's sender, else None
    (also when either side names none)."""
    doc = _owner(sig)
    if doc is None:
        return None
    try:  # hostile certificates: an unreadable subject is no finding here (verify says why)
        cert = cert or signer_certificate(sig)
        if cert is None:
            return None
        seal_id, kind = cert_vkn_tckn(cert)
    except Exception:  # noqa: BLE001
        return None
    ids = sender_ids(doc)
    if not seal_id or not ids or seal_id in ids:
        return None
    party = SENDER_PARTY[etree.QName(doc).localname]
    return (f"the seal belongs to {kind} {seal_id}, but the document's sender ({party}) is "
            f"{' / '.join(ids)}: a document is sealed with its sender's own seal (or, on the "
            "sender's behalf, by its special integrator: check that this one is)")


def seal_findings(root: etree._Element, codes: Callable[[str, str], Any]) -> list[Finding]:
    """``UBLTR-SEAL-VKN`` findings (severity error; ``validate`` decides the verdict) for
    every signature (not counter-signature) of a UBL document in ``root``."""
    out = []
    for sig in root.iter(f"{{{DS}}}Signature"):
        if any(a.tag == f"{{{DS}}}Signature" for a in sig.iterancestors()):
            continue
        why = seal_mismatch(sig)
        if why:
            out.append(Finding(
                rule=RULE, severity="error", source="ubltr", message=why,
                fix="seal the document with the supplier's mali mühür (or correct the supplier's VKN/TCKN)",
                line=sig.sourceline, provider_codes=tuple(codes(RULE, "ubltr")),
            ))
    return out
