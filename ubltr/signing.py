"""XAdES-BES signing and verification of UBL-TR documents, shaped the way GİB expects.

``sign(xml, key, cert_chain)`` puts an enveloped ``ds:Signature`` into
``ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent``, adds (or points) the
document's ``cac:Signature`` block at it, and signs the whole document (``URI=""``,
one enveloped-signature transform) plus the XAdES ``SignedProperties`` (SigningTime,
XAdES 1.3.2 ``SigningCertificate``).  RSA-SHA256 for RSA keys, ECDSA-SHA256/384/512 for
EC keys.

``verify(xml)`` works on any document carrying an enveloped ``ds:Signature`` (invoices,
application responses, GİB's HR-XML user-account documents).  It does its own XML-DSig
processing with lxml's canonicaliser and ``cryptography`` (no signxml), and is strict:

* the signature must have exactly one reference with ``URI=""`` and exactly the
  enveloped-signature transform (optionally followed by one canonicalisation), so the
  signed data is the whole document that was handed in;
* other references may only be ``#Id`` references resolving *inside* the signature
  (SignedProperties, and for counter-signatures the parent SignatureValue); Ids must be
  unique across the document;
* DOCTYPE declarations and entities are refused; more than one top-level signature is
  refused unless ``allow_multiple=True``;
* unknown elements inside the signature (extra ``ds:Object`` payloads, stray elements in
  ``KeyInfo``) are refused; KeyInfo must agree with the certificate that was signed
  (``KeyValue``, ``X509SubjectName``, ``X509IssuerSerial``);
* the XAdES ``SigningCertificate`` digest must match the certificate in KeyInfo, and the
  certificate must have been valid at ``SigningTime``.

A report keeps three questions apart:

* **integrity** (``integrity``): the cryptography and the coverage above.  On every
  signed document at hand (real production seals, GİB's samples, ubltr's own output) it
  agrees with libxmlsec1 (python-xmlsec), which the tests hold it to.
* **policy** (``policy``): GİB's profile rules that GİB does not enforce, as warnings:
  ``cac:Signature`` and the XAdES ``Target`` naming the signature's Id, the signature's
  place in ``ext:UBLExtensions``, the seal's VKN/TCKN against the sender's.  A real
  production seal with stale pointers verifies, with a policy warning.
* **trust** (``trust``): does the certificate chain to a CA bundle the caller gave
  (``ca=``; ``ubltr verify --ca`` or ``UBLTR_CA``)?  Without one the signer named in the
  certificate is only *claimed* (``trust == "not authenticated"``): anybody can make a
  self-signed certificate carrying a company's name and VKN.

``valid`` means: integrity holds, the certificate was valid at SigningTime, and (only
when a CA is given) it chains to it.  ``authenticated`` adds: a CA was given and the chain
holds.  Whether the certificate is still valid *now* is reported separately
(``cert_valid_now``): an expired seal does not make an old invoice invalid.  A
``xades:SignatureTimeStamp`` is not checked and is reported as such (``timestamp``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
import threading
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID
from lxml import etree

from . import xmlsafe
from .validation.seal import cert_vkn_tckn, seal_mismatch, sender_ids, signer_certificate

__all__ = [
    "sign",
    "verify",
    "SignatureReport",
    "SignatureInfo",
    "SigningError",
    "load_pkcs12",
    "load_pem",
    "MAX_DOCUMENT_BYTES",
    "TRUST_AUTHENTICATED",
    "TRUST_NOT_AUTHENTICATED",
    "TRUST_FAILED",
]

#: the one document size limit of ubltr (``ubltr.xmlsafe.MAX_BYTES``)
MAX_DOCUMENT_BYTES = xmlsafe.MAX_BYTES

TRUST_AUTHENTICATED = "authenticated"  # chains to the given CA bundle
TRUST_NOT_AUTHENTICATED = "not authenticated"  # no CA bundle given: the signer is only claimed
TRUST_FAILED = "failed"  # a CA bundle was given and the certificate does not chain to it

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
XADES141 = "http://uri.etsi.org/01903/v1.4.1#"
EXT = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
# canonicalisation URI -> (exclusive, with_comments)
_C14N = {
    C14N: (False, False),
    C14N + "#WithComments": (False, True),
    "http://www.w3.org/2001/10/xml-exc-c14n#": (True, False),
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True),
}
_DIGESTS: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    "http://www.w3.org/2000/09/xmldsig#sha1": ("sha1", hashes.SHA1),
    "http://www.w3.org/2001/04/xmlenc#sha256": ("sha256", hashes.SHA256),
    "http://www.w3.org/2001/04/xmldsig-more#sha384": ("sha384", hashes.SHA384),
    "http://www.w3.org/2001/04/xmlenc#sha512": ("sha512", hashes.SHA512),
}
_DIGEST_URI = {name: uri for uri, (name, _) in _DIGESTS.items()}
# signature URI -> (key kind, hash)
_SIGNATURES: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": ("rsa", hashes.SHA1),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": ("rsa", hashes.SHA256),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": ("rsa", hashes.SHA384),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": ("rsa", hashes.SHA512),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": ("ec", hashes.SHA256),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": ("ec", hashes.SHA384),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": ("ec", hashes.SHA512),
}
_WEAK = {"http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1"}

_B64_RE = re.compile(rb"^[A-Za-z0-9+/=\s]*$")

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]


class SigningError(ValueError):
    """The document, key or certificate cannot be signed as asked (message says why)."""


class _Invalid(Exception):
    """Internal: one verification problem that stops checking of this signature."""


# --------------------------------------------------------------------------- parsing


def _parser() -> etree.XMLParser:
    return xmlsafe.parser()


def _parse(xml: bytes) -> etree._ElementTree:
    """Parse untrusted XML safely; raise ValueError with a readable message."""
    try:
        tree = etree.ElementTree(xmlsafe.fromstring(xml, max_bytes=MAX_DOCUMENT_BYTES))
    except xmlsafe.UnsafeXML as exc:
        raise ValueError(str(exc)) from None
    for node in tree.getroot().iter():
        if isinstance(node, etree._Entity):
            raise ValueError("entity references are not allowed")
    return tree


def _c14n(node: Any, algorithm: str, prefixes: Sequence[str] | None = None) -> bytes:
    try:
        exclusive, comments = _C14N[algorithm]
    except KeyError:
        raise _Invalid(f"unsupported canonicalisation {algorithm!r}") from None
    return etree.tostring(
        node,
        method="c14n",
        exclusive=exclusive,
        with_comments=comments,
        inclusive_ns_prefixes=list(prefixes) if (prefixes and exclusive) else None,
    )


def _ds(tag: str) -> str:
    return f"{{{DS}}}{tag}"


def _xades(tag: str) -> str:
    return f"{{{XADES}}}{tag}"


def _b64decode(text: str | None, what: str) -> bytes:
    raw = (text or "").encode("ascii", "replace")
    if not raw.strip() or not _B64_RE.match(raw):
        raise _Invalid(f"{what} is not base64")
    try:
        return base64.b64decode(b"".join(raw.split()), validate=True)
    except binascii.Error:
        raise _Invalid(f"{what} is not base64") from None


def _hash(data: bytes, algorithm: type[hashes.HashAlgorithm]) -> bytes:
    h = hashes.Hash(algorithm())
    h.update(data)
    return h.finalize()


def _elements(node: etree._Element) -> list[etree._Element]:
    return [c for c in node if isinstance(c.tag, str)]


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    t = text.strip()
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", t)
    if not m:
        return None
    base, frac, tz = m.groups()
    frac = (frac or "")[:7]
    if frac:
        frac = frac.ljust(7, "0")
    tz = "+00:00" if tz in ("Z", None) else tz
    try:
        return datetime.fromisoformat(base + frac + tz)
    except ValueError:
        return None


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class SignatureInfo:
    """What one ``ds:Signature`` says and whether it holds.

    ``valid`` is true when the signature value, every reference digest, the coverage
    rules and the certificate's validity at ``signing_time`` all hold (and the chain to
    the given CA, when one was given).  ``integrity``: the cryptography and coverage
    alone; ``policy``: GİB profile findings (warnings); ``trust``: ``authenticated``,
    ``not authenticated`` (no CA given) or ``failed``; ``timestamp``: ``unchecked`` when
    the signature carries a SignatureTimeStamp (ubltr does not verify time-stamps).
    """

    role: str  # "signature" or "counter-signature"
    signature_id: str | None
    valid: bool
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    signer_subject: str | None = None
    signer_vkn_tckn: str | None = None
    signer_id_kind: str | None = None  # "VKN" (10 digits) or "TCKN" (11 digits)
    issuer: str | None = None
    serial_number: str | None = None
    cert_not_before: datetime | None = None
    cert_not_after: datetime | None = None
    signing_time: datetime | None = None
    cert_valid_at_signing_time: bool | None = None
    cert_valid_now: bool | None = None
    chain_checked: bool = False
    chain_valid: bool | None = None
    signature_algorithm: str | None = None
    digest_algorithms: tuple[str, ...] = ()
    canonicalization: str | None = None
    covers_whole_document: bool = False
    unsigned_properties: tuple[str, ...] = ()
    integrity: bool = False
    policy: tuple[str, ...] = ()
    trust: str = TRUST_NOT_AUTHENTICATED
    timestamp: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.valid and self.trust == TRUST_AUTHENTICATED

    @property
    def status(self) -> str:
        """``valid``, ``valid, signer not authenticated``, ``... (certificate expired
        since)`` or ``invalid``."""
        if not self.valid:
            return "invalid"
        out = "valid" if self.trust == TRUST_AUTHENTICATED else "valid, signer not authenticated"
        if self.cert_valid_now is False:
            out += " (certificate expired since)"
        return out


@dataclass(frozen=True)
class SignatureReport:
    """The verdict on one document: ``valid`` only when there is at least one signature
    and every signature (and counter-signature) in it is valid.  Document-level problems
    (not XML, DOCTYPE, duplicate Ids, several signatures) are in ``problems``.
    """

    valid: bool
    problems: tuple[str, ...]
    signatures: tuple[SignatureInfo, ...] = field(default_factory=tuple)

    @property
    def signature(self) -> SignatureInfo | None:
        """The first top-level signature, if any."""
        return self.signatures[0] if self.signatures else None

    @property
    def signer_subject(self) -> str | None:
        return self.signature.signer_subject if self.signature else None

    @property
    def signer_vkn_tckn(self) -> str | None:
        return self.signature.signer_vkn_tckn if self.signature else None

    @property
    def signing_time(self) -> datetime | None:
        return self.signature.signing_time if self.signature else None

    @property
    def integrity(self) -> bool:
        """The cryptography and coverage of every signature hold (libxmlsec1's question)."""
        return not self.problems and bool(self.signatures) and all(s.integrity for s in self.signatures)

    @property
    def authenticated(self) -> bool:
        """Valid, and every signer chains to the CA bundle that was given."""
        return self.valid and all(s.trust == TRUST_AUTHENTICATED for s in self.signatures)

    @property
    def verdict(self) -> str:
        """``VALID`` (intact and the signer authenticated by the given CA), ``INTACT,
        SIGNER NOT AUTHENTICATED`` (no CA given: the signer is only claimed) or
        ``INVALID``."""
        if not self.valid:
            return "INVALID"
        return "VALID" if self.authenticated else "INTACT, SIGNER NOT AUTHENTICATED"

    @property
    def all_policy(self) -> tuple[str, ...]:
        return tuple(f"{s.role} {s.signature_id or ''}: {p}".replace("  ", " ") for s in self.signatures for p in s.policy)

    @property
    def all_problems(self) -> tuple[str, ...]:
        out = list(self.problems)
        for s in self.signatures:
            out += [f"{s.role} {s.signature_id or ''}: {p}".replace("  ", " ") for p in s.problems]
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        def conv(v: Any) -> Any:
            if isinstance(v, datetime):
                return v.isoformat()
            if isinstance(v, (list, tuple)):
                return [conv(x) for x in v]
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            return v

        d = conv(asdict(self))
        d["verdict"] = self.verdict
        d["integrity"] = self.integrity
        d["authenticated"] = self.authenticated
        for s, info in zip(d["signatures"], self.signatures):
            s["status"] = info.status
        return d


# --------------------------------------------------------------------------- certificates


def _vkn_tckn(cert: x509.Certificate) -> tuple[str | None, str | None]:
    return cert_vkn_tckn(cert)


_DN_NAMES = {
    "CN": NameOID.COMMON_NAME.dotted_string,
    "C": NameOID.COUNTRY_NAME.dotted_string,
    "O": NameOID.ORGANIZATION_NAME.dotted_string,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME.dotted_string,
    "L": NameOID.LOCALITY_NAME.dotted_string,
    "ST": NameOID.STATE_OR_PROVINCE_NAME.dotted_string,
    "S": NameOID.STATE_OR_PROVINCE_NAME.dotted_string,
    "STREET": NameOID.STREET_ADDRESS.dotted_string,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER.dotted_string,
    "E": NameOID.EMAIL_ADDRESS.dotted_string,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS.dotted_string,
    "DC": NameOID.DOMAIN_COMPONENT.dotted_string,
    "UID": NameOID.USER_ID.dotted_string,
    "T": NameOID.TITLE.dotted_string,
    "TITLE": NameOID.TITLE.dotted_string,
    "G": NameOID.GIVEN_NAME.dotted_string,
    "GIVENNAME": NameOID.GIVEN_NAME.dotted_string,
    "SN": NameOID.SURNAME.dotted_string,
    "SURNAME": NameOID.SURNAME.dotted_string,
}


def _split_dn(text: str, seps: str) -> list[str]:
    parts, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if ch in seps:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


# DER string types an RFC 4514 "#hex" value may carry, and how their bytes read
_DER_STRINGS = {0x0C: "utf-8", 0x13: "ascii", 0x14: "latin-1", 0x16: "ascii", 0x1A: "ascii",
                0x1C: "utf-32-be", 0x1E: "utf-16-be"}


def _dn_value(raw: str) -> tuple[str, int | None]:
    """An RFC 4514 attribute value as (text, DER tag of a ``#hex`` value or None).  A
    ``#hex`` value must be one well-formed DER string (its tag and length are checked
    against the bytes) or ValueError is raised."""
    raw = raw.strip()
    if raw.startswith("#"):
        der = bytes.fromhex(raw[1:])
        if len(der) < 2 or der[0] not in _DER_STRINGS:
            raise ValueError("not a DER string")
        tag, length, body = der[0], der[1], der[2:]
        if length & 0x80:
            n = length & 0x7F
            if not 1 <= n <= 3 or len(der) < 2 + n:
                raise ValueError("bad DER length")
            length, body = int.from_bytes(der[2 : 2 + n], "big"), der[2 + n :]
        if len(body) != length:
            raise ValueError("DER length does not match the value")
        return body.decode(_DER_STRINGS[tag]), tag
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]
    out, i = [], 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            if i + 2 < len(raw) and re.fullmatch(r"[0-9a-fA-F]{2}", raw[i + 1 : i + 3]):
                out.append(chr(int(raw[i + 1 : i + 3], 16)))  # approximate: single bytes only
                i += 3
                continue
            out.append(raw[i + 1])
            i += 2
            continue
        out.append(raw[i])
        i += 1
    return "".join(out), None


def _norm(value: str, fold: bool = True) -> str:
    value = " ".join(value.split())
    return value.casefold() if fold else value


_Ava = tuple[str, str, "int | None"]  # (oid, normalised value, DER tag when known)


def _dn_set(text: str, fold: bool = True) -> list[_Ava] | None:
    """A distinguished-name string as a sorted list of (oid, normalised value, tag), or
    None when it cannot be read.  ``fold``: compare letters case-insensitively."""
    out = []
    try:
        for rdn in _split_dn(text, ",;"):
            for ava in _split_dn(rdn, "+"):
                if not ava.strip():
                    continue
                name, sep, value = ava.partition("=")
                if not sep:
                    return None
                name = name.strip()
                if name.upper().startswith("OID."):
                    name = name[4:]
                oid = name if re.fullmatch(r"\d+(\.\d+)+", name) else _DN_NAMES.get(name.upper())
                if oid is None:
                    return None
                text_value, tag = _dn_value(value)
                out.append((oid, _norm(text_value, fold), tag))
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    return sorted(out, key=lambda a: (a[0], a[1]))


def _name_set(name: x509.Name, fold: bool = True) -> list[_Ava]:
    out = []
    for attr in name:
        value = attr.value if isinstance(attr.value, str) else attr.value.decode("utf-8", "replace")
        asn1 = getattr(attr, "_type", None)  # the attribute's DER string type (cryptography keeps it)
        out.append((attr.oid.dotted_string, _norm(value, fold), getattr(asn1, "value", None)))
    return sorted(out, key=lambda a: (a[0], a[1]))


def _dn_matches(written: list[_Ava], actual: list[_Ava]) -> bool:
    """Same attributes and values; a ``#hex`` value must also have the certificate's DER type."""
    if len(written) != len(actual):
        return False
    return all(
        w[0] == a[0] and w[1] == a[1] and (w[2] is None or a[2] is None or w[2] == a[2])
        for w, a in zip(written, actual)
    )


def _cert_valid_at(cert: x509.Certificate, when: datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def _chain_ok(
    cert: x509.Certificate, extra: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate], when: datetime
) -> tuple[bool, str | None]:
    """Walk issuer links from ``cert`` to one of ``anchors`` (signatures checked, validity at ``when``)."""
    anchor_der = {a.public_bytes(serialization.Encoding.DER) for a in anchors}
    pool = list(anchors) + list(extra)
    current = cert
    for _ in range(8):
        if current.public_bytes(serialization.Encoding.DER) in anchor_der:
            return True, None
        issuers = [c for c in pool if c.subject == current.issuer and c is not current]
        found = None
        for candidate in issuers:
            try:
                current.verify_directly_issued_by(candidate)
            except (ValueError, TypeError, InvalidSignature):
                continue
            found = candidate
            break
        if found is None:
            return False, f"certificate {current.subject.rfc4514_string()} has no issuer among the given CA certificates"
        if not _cert_valid_at(found, when):
            return False, f"CA certificate {found.subject.rfc4514_string()} was not valid at signing time"
        try:
            bc = found.extensions.get_extension_for_class(x509.BasicConstraints).value
            if not bc.ca:
                return False, f"{found.subject.rfc4514_string()} is not a CA certificate"
        except x509.ExtensionNotFound:
            pass
        current = found
    return False, "certificate chain too long"


# --------------------------------------------------------------------------- verification


# ---- structure of the ds:Signature subtree (XML-DSig + XAdES 1.3.2/1.4.1 schemas)

_EXC_C14N_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
# the exclusive-c14n InclusiveNamespaces element (a W3C spec element with no schema in
# GİB's package): CanonicalizationMethod's content is strictly validated, so it needs one
_EXC_C14N_XSD = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{_EXC_C14N_NS}"
  elementFormDefault="qualified">
  <xs:element name="InclusiveNamespaces">
    <xs:complexType><xs:attribute name="PrefixList" type="xs:NMTOKENS" use="required"/></xs:complexType>
  </xs:element>
</xs:schema>"""
# ds types the schema declares mixed="true" although XML-DSig gives their text no meaning:
# character data there would be unsigned, unchecked content
_MIXED_DS = frozenset(
    _ds(name)
    for name in ("CanonicalizationMethod", "SignatureMethod", "Transform", "DigestMethod", "KeyInfo", "KeyValue",
                 "Object", "SignatureProperty")
)
_schema_cache = threading.local()  # lxml validators must not be shared between threads


class _SchemaResolver(etree.Resolver):
    def resolve(self, url, pubid, context):  # type: ignore[no-untyped-def]
        if url == "urn:ubltr:exc-c14n.xsd":
            return self.resolve_string(_EXC_C14N_XSD, context)
        return None


def _signature_schema() -> etree.XMLSchema:
    """A schema whose global ``ds:Signature`` is XML-DSig's, with XAdES 1.3.2 and 1.4.1
    known (GİB's checksummed copies), so ``QualifyingProperties`` under ``ds:Object`` and
    XAdES elements under the wildcards are validated too."""
    schema = getattr(_schema_cache, "schema", None)
    if schema is None:
        from . import official

        imports = [
            (DS, official.schema_path("xsd/common/UBL-xmldsig-core-schema-2.1.xsd").as_uri()),
            (XADES, official.schema_path("xsd/common/UBL-XAdESv132-2.1.xsd").as_uri()),
            (XADES141, official.schema_path("xsd/common/UBL-XAdESv141-2.1.xsd").as_uri()),
            (_EXC_C14N_NS, "urn:ubltr:exc-c14n.xsd"),
        ]
        wrapper = '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">%s</xs:schema>' % "".join(
            f'<xs:import namespace="{ns}" schemaLocation="{loc}"/>' for ns, loc in imports
        )
        parser = _parser()
        parser.resolvers.add(_SchemaResolver())
        schema = etree.XMLSchema(etree.fromstring(wrapper.encode("utf-8"), parser))
        _schema_cache.schema = schema
    return schema


def _check_structure(sig: etree._Element) -> None:
    """Refuse a signature whose elements or attributes are not the ones XML-DSig and XAdES
    allow.  Most of a signature is not covered by its own SignatureValue (the
    SignatureValue element, usually KeyInfo, the Object wrapper, QualifyingProperties and
    its UnsignedProperties, attributes such as Ids): only a closed structure keeps a change
    there from passing unnoticed."""
    for el in sig.iter():
        if isinstance(el, etree._ProcessingInstruction):
            raise _Invalid(f"processing instruction <?{el.target}?> inside ds:Signature")
        if not isinstance(el.tag, str):
            continue
        for name in el.attrib:
            if name.startswith("{" + _XSI + "}"):
                raise _Invalid(f"attribute xsi:{etree.QName(name).localname} on {etree.QName(el).localname} inside ds:Signature")
        if el.tag in _MIXED_DS:
            texts = [el.text] + [c.tail for c in el]
            if any((t or "").strip() for t in texts):
                raise _Invalid(f"character data inside ds:{etree.QName(el).localname} (unsigned content)")
    detached = copy.deepcopy(sig)
    schema = _signature_schema()
    if not schema.validate(detached):
        err = schema.error_log.last_error
        msg = re.sub(r"\{[^}]*\}", "", err.message if err is not None else "schema error")
        raise _Invalid(f"ds:Signature does not follow the XML-DSig/XAdES schema: {msg}")



def _ids(root: etree._Element) -> tuple[dict[str, etree._Element], list[str]]:
    seen: dict[str, etree._Element] = {}
    dups: list[str] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in ("Id", "ID", "id", "{http://www.w3.org/XML/1998/namespace}id"):
            v = el.get(attr)
            if v is None:
                continue
            if v in seen and seen[v] is not el:
                dups.append(v)
            seen[v] = el
    return seen, dups


def _nearest_signature(el: etree._Element) -> etree._Element | None:
    p = el.getparent()
    while p is not None:
        if p.tag == _ds("Signature"):
            return p
        p = p.getparent()
    return None


class _Checker:
    def __init__(self, tree: etree._ElementTree, ids: dict[str, etree._Element], ca: Sequence[x509.Certificate] | None, now: datetime):
        self.tree = tree
        self.ids = ids
        self.ca = ca
        self.now = now

    def _resolve(self, uri: str, scope: etree._Element) -> etree._Element:
        if not uri.startswith("#") or len(uri) < 2 or "(" in uri:
            raise _Invalid(f"reference URI {uri!r} is not allowed (only \"\" and #Id inside the signature)")
        target = self.ids.get(uri[1:])
        if target is None:
            raise _Invalid(f"reference {uri} does not resolve")
        p = target
        while p is not None and p is not scope:
            p = p.getparent()
        if p is None:
            raise _Invalid(f"reference {uri} points outside the signature")
        return target

    def _transforms(self, ref: etree._Element) -> list[tuple[str, list[str]]]:
        out: list[tuple[str, list[str]]] = []
        transforms = ref.find(_ds("Transforms"))
        if transforms is None:
            return out
        for t in _elements(transforms):
            if t.tag != _ds("Transform"):
                raise _Invalid(f"unexpected element {t.tag} in Transforms")
            prefixes: list[str] = []
            for child in _elements(t):
                if etree.QName(child).localname == "InclusiveNamespaces":
                    prefixes = (child.get("PrefixList") or "").split()
                else:
                    raise _Invalid("transform parameters other than InclusiveNamespaces are not allowed")
            out.append((t.get("Algorithm") or "", prefixes))
        return out

    def _digest_of(self, ref: etree._Element) -> tuple[str, bytes]:
        dm = ref.find(_ds("DigestMethod"))
        uri = dm.get("Algorithm") if dm is not None else None
        if uri not in _DIGESTS:
            raise _Invalid(f"unsupported digest method {uri!r}")
        return uri, _b64decode(ref.findtext(_ds("DigestValue")), "DigestValue")

    def check(self, sig: etree._Element, role: str, parent: etree._Element | None) -> SignatureInfo:
        problems: list[str] = []
        warnings: list[str] = []
        fields: dict[str, Any] = {}
        counters: list[SignatureInfo] = []
        policy: list[str] = []
        integrity = False
        try:
            self._check(sig, role, parent, problems, warnings, fields, counters, policy)
            integrity = True
        except _Invalid as exc:
            problems.insert(0, str(exc))
        except Exception as exc:  # noqa: BLE001 - never crash on hostile input; say what broke
            problems.insert(0, f"cannot process signature: {type(exc).__name__}: {exc}")
        if not integrity and "signer_subject" not in fields:
            fields.update(_claimed(sig))
        info = SignatureInfo(
            role=role,
            signature_id=sig.get("Id"),
            valid=not problems,
            problems=tuple(problems),
            warnings=tuple(warnings),
            integrity=integrity,
            policy=tuple(policy),
            **fields,
        )
        self.counters = counters
        return info

    def _check(self, sig, role, parent, problems, warnings, fields, counters, policy) -> None:  # noqa: C901
        scope = parent if parent is not None else sig
        # ---- structure: only the elements XML-DSig/XAdES allow, nothing unsigned on the side
        kids = _elements(sig)
        tags = [k.tag for k in kids]
        if not tags or tags[0] != _ds("SignedInfo") or tags.count(_ds("SignedInfo")) != 1:
            raise _Invalid("ds:SignedInfo missing or misplaced")
        if len(tags) < 2 or tags[1] != _ds("SignatureValue"):
            raise _Invalid("ds:SignatureValue missing or misplaced")
        for k in kids[2:]:
            if k.tag not in (_ds("KeyInfo"), _ds("Object")) or (k.tag == _ds("KeyInfo") and k is not kids[2]):
                raise _Invalid(f"unexpected element {etree.QName(k).localname} inside ds:Signature")
        qps = []
        for obj in sig.findall(_ds("Object")):
            content = _elements(obj)
            if len(content) != 1 or etree.QName(content[0]).localname != "QualifyingProperties" or etree.QName(content[0]).namespace not in (XADES, XADES141):
                raise _Invalid("ds:Object holding something other than XAdES QualifyingProperties (unsigned content)")
            if (obj.text or "").strip() or (content[0].tail or "").strip():
                raise _Invalid("text inside ds:Object (unsigned content)")
            qps.append(content[0])
        if len(qps) != 1:
            raise _Invalid("expected exactly one xades:QualifyingProperties (XAdES-BES)" if not qps else "more than one xades:QualifyingProperties")
        qp = qps[0]
        sp_list, unsigned = [], []
        for child in _elements(qp):
            local = etree.QName(child).localname
            if local == "SignedProperties":
                sp_list.append(child)
            elif local == "UnsignedProperties":
                unsigned.append(child)
            else:
                raise _Invalid(f"unexpected {local} in QualifyingProperties")
        if len(sp_list) != 1 or len(unsigned) > 1:
            raise _Invalid("expected one xades:SignedProperties and at most one xades:UnsignedProperties")
        signed_props = sp_list[0]
        xns = etree.QName(qp).namespace
        if xns != XADES:
            raise _Invalid(f"QualifyingProperties in namespace {xns} (XAdES 1.3.2, {XADES}, is expected)")
        if role == "signature":  # the subtree includes any counter-signatures
            _check_structure(sig)
        self._check_pointers(sig, qp, role, policy)
        if role == "signature":
            self._check_place(sig, policy)
        if unsigned:
            names = []
            for usp in _elements(unsigned[0]):
                for prop in _elements(usp):
                    names.append(etree.QName(prop).localname)
            fields["unsigned_properties"] = tuple(names)
            if "SignatureTimeStamp" in names:
                fields["timestamp"] = "unchecked"
                warnings.append("xades:SignatureTimeStamp present but not checked (ubltr verifies no time-stamp): "
                                "the signing time is the signer's own claim")

        # ---- SignedInfo
        signed_info = kids[0]
        cm = signed_info.find(_ds("CanonicalizationMethod"))
        sm = signed_info.find(_ds("SignatureMethod"))
        if cm is None or sm is None:
            raise _Invalid("SignedInfo lacks CanonicalizationMethod or SignatureMethod")
        c14n_alg = cm.get("Algorithm") or ""
        if c14n_alg not in _C14N:
            raise _Invalid(f"unsupported canonicalisation {c14n_alg!r}")
        fields["canonicalization"] = c14n_alg
        sig_alg = sm.get("Algorithm") or ""
        if sig_alg not in _SIGNATURES:
            raise _Invalid(f"unsupported signature method {sig_alg!r}")
        if _elements(sm):
            raise _Invalid("SignatureMethod parameters (HMAC output length) are not allowed")
        fields["signature_algorithm"] = sig_alg
        if sig_alg in _WEAK:
            warnings.append("SHA-1 signature algorithm (weak; GİB rejects it for UBL 2.1)")
        cm_prefixes: list[str] = []
        for child in _elements(cm):
            if etree.QName(child).localname == "InclusiveNamespaces":
                cm_prefixes = (child.get("PrefixList") or "").split()

        # ---- references
        refs = signed_info.findall(_ds("Reference"))
        for k in _elements(signed_info):
            if k.tag not in (_ds("CanonicalizationMethod"), _ds("SignatureMethod"), _ds("Reference")):
                raise _Invalid(f"unexpected {etree.QName(k).localname} in SignedInfo")
        if not refs:
            raise _Invalid("SignedInfo has no Reference")
        doc_refs = [r for r in refs if r.get("URI") == ""]
        digest_names = []
        covered_props = False
        covered_value = False
        for ref in refs:
            uri = ref.get("URI")
            dig_uri, expected = self._digest_of(ref)
            digest_names.append(_DIGESTS[dig_uri][0])
            if dig_uri in _WEAK:
                warnings.append("SHA-1 digest (weak)")
            transforms = self._transforms(ref)
            if uri is None:
                raise _Invalid("Reference without URI is not allowed")
            if uri == "":
                if role != "signature":
                    raise _Invalid("a counter-signature may not reference the whole document")
                algs = [a for a, _ in transforms]
                if not algs or algs[0] != ENVELOPED or len(algs) > 2 or (len(algs) == 2 and algs[1] not in _C14N):
                    raise _Invalid(
                        "the whole-document reference must use the enveloped-signature transform "
                        "(optionally followed by one canonicalisation) and nothing else"
                    )
                c14n_ref = algs[1] if len(algs) == 2 else C14N
                prefixes = transforms[1][1] if len(algs) == 2 else []
                data = self._document_without(sig, c14n_ref, prefixes)
                what = "the document"
            else:
                target = self._resolve(uri, scope)
                algs = [a for a, _ in transforms]
                if ENVELOPED in algs or len(algs) > 1 or any(a not in _C14N for a in algs):
                    raise _Invalid(f"reference {uri}: only one canonicalisation transform is allowed")
                c14n_ref = algs[0] if algs else C14N
                prefixes = transforms[0][1] if algs else []
                # a same-document reference drops comments even with a #WithComments transform
                c14n_ref = c14n_ref.replace("#WithComments", "") if c14n_ref.endswith("#WithComments") else c14n_ref
                data = _c14n(target, c14n_ref, prefixes)
                if target is signed_props:
                    covered_props = True
                    what = "the signed properties"
                elif parent is not None and target is parent.find(_ds("SignatureValue")):
                    covered_value = True
                    what = "the counter-signed SignatureValue"
                else:
                    what = f"element {uri}"
                    if etree.QName(target).localname == "SignedProperties":
                        raise _Invalid(f"reference {uri} points at SignedProperties of another signature")
            actual = _hash(data, _DIGESTS[dig_uri][1])
            if actual != expected:
                if uri == "":
                    raise _Invalid("document digest mismatch: the document was changed after it was signed")
                raise _Invalid(f"digest mismatch for {what} ({uri}): changed after signing")
        fields["digest_algorithms"] = tuple(dict.fromkeys(digest_names))
        if role == "signature":
            if len(doc_refs) != 1:
                raise _Invalid("the signature must have exactly one reference with URI=\"\" covering the whole document")
            fields["covers_whole_document"] = True
        elif not covered_value:
            raise _Invalid("counter-signature does not cover the parent SignatureValue")
        if not covered_props:
            raise _Invalid("the xades:SignedProperties are not covered by a reference")

        # ---- certificates
        key_info = sig.find(_ds("KeyInfo"))
        if key_info is None:
            raise _Invalid("no ds:KeyInfo with the signer's certificate")
        certs: list[x509.Certificate] = []
        subject_names: list[str] = []
        issuer_serials: list[tuple[str, str]] = []
        key_values: list[etree._Element] = []
        for child in _elements(key_info):
            local = etree.QName(child).localname
            if child.tag == _ds("X509Data"):
                for x in _elements(child):
                    xl = x.tag
                    if xl == _ds("X509Certificate"):
                        try:
                            certs.append(x509.load_der_x509_certificate(_b64decode(x.text, "X509Certificate")))
                        except ValueError as exc:
                            raise _Invalid(f"X509Certificate cannot be read: {exc}") from None
                    elif xl == _ds("X509SubjectName"):
                        subject_names.append(x.text or "")
                    elif xl == _ds("X509IssuerSerial"):
                        issuer_serials.append((x.findtext(_ds("X509IssuerName")) or "", (x.findtext(_ds("X509SerialNumber")) or "").strip()))
                    elif xl == _ds("X509SKI"):
                        pass
                    else:
                        raise _Invalid(f"unexpected {etree.QName(x).localname} in X509Data")
            elif child.tag == _ds("KeyValue"):
                key_values.append(child)
            elif child.tag == _ds("KeyName"):
                pass
            else:
                raise _Invalid(f"unexpected {local} in KeyInfo")
        if not certs:
            raise _Invalid("KeyInfo holds no X509Certificate")

        # SigningCertificate (XAdES 1.3.2) or SigningCertificateV2 (1.4.1)
        ssp = signed_props.find(f"{{{xns}}}SignedSignatureProperties")
        if ssp is None:
            raise _Invalid("no SignedSignatureProperties")
        sc = ssp.find(f"{{{xns}}}SigningCertificate")
        if sc is None:
            sc = ssp.find(f"{{{XADES}}}SigningCertificateV2")
            if sc is not None:
                warnings.append("SigningCertificateV2 (XAdES 1.4.1); GİB's schema expects SigningCertificate")
        if sc is None:
            raise _Invalid("no xades:SigningCertificate in the signed properties")
        cert_entries = [c for c in _elements(sc)]
        if not cert_entries:
            raise _Invalid("xades:SigningCertificate is empty")
        first = cert_entries[0]
        cd = first.find(f"{{{xns}}}CertDigest")
        if cd is None:
            cd = first.find(f"{{{XADES}}}CertDigest")
        if cd is None:
            raise _Invalid("xades:CertDigest missing")
        cd_alg = (cd.find(_ds("DigestMethod")).get("Algorithm") if cd.find(_ds("DigestMethod")) is not None else None)
        if cd_alg not in _DIGESTS:
            raise _Invalid(f"unsupported CertDigest method {cd_alg!r}")
        cd_value = _b64decode(cd.findtext(_ds("DigestValue")), "CertDigest")
        signer = None
        for c in certs:
            if _hash(c.public_bytes(serialization.Encoding.DER), _DIGESTS[cd_alg][1]) == cd_value:
                signer = c
                break
        if signer is None:
            raise _Invalid("xades:SigningCertificate digest does not match the certificate in KeyInfo")
        iss = first.find(f"{{{xns}}}IssuerSerial")
        if iss is not None:
            serial = (iss.findtext(_ds("X509SerialNumber")) or "").strip()
            if serial and serial != str(signer.serial_number):
                raise _Invalid("xades:IssuerSerial serial number does not match the signing certificate")
            issuer_name = iss.findtext(_ds("X509IssuerName")) or ""
            parsed = _dn_set(issuer_name)
            if parsed is not None and not _dn_matches(parsed, _name_set(signer.issuer)):
                warnings.append("xades:IssuerSerial issuer name differs from the certificate's issuer")

        # unsigned KeyInfo must agree with the signed certificate
        for text in subject_names:
            parsed = _dn_set(text, fold=False)
            if parsed is None:
                warnings.append(f"X509SubjectName {text!r} could not be compared with the certificate")
            elif any(_dn_matches(parsed, _name_set(c.subject, fold=False)) for c in certs):
                pass
            elif any(_dn_matches(_dn_set(text) or [], _name_set(c.subject)) for c in certs):
                # equal for DN matching rules, but a producer copies the subject's letters
                warnings.append(f"X509SubjectName {text!r} matches the certificate's subject only if letter case is ignored")
            else:
                raise _Invalid("ds:X509SubjectName does not match the certificate")
        for iname, serial in issuer_serials:
            if serial not in [str(c.serial_number) for c in certs]:
                raise _Invalid("ds:X509IssuerSerial does not match the certificate")
        # every other certificate in KeyInfo must be on the signer's issuer chain
        on_chain = [signer]
        rest = [c for c in certs if c is not signer]
        progressed = True
        while rest and progressed:
            progressed = False
            for c in list(rest):
                if c.subject == on_chain[-1].issuer:
                    try:
                        on_chain[-1].verify_directly_issued_by(c)
                    except (ValueError, TypeError, InvalidSignature):
                        continue
                    on_chain.append(c)
                    rest.remove(c)
                    progressed = True
                    break
        if rest:
            raise _Invalid("KeyInfo carries a certificate that is not on the signer's issuer chain")
        pub = signer.public_key()
        for kv in key_values:
            self._check_key_value(kv, pub)

        # ---- the signature value itself
        kind, halg = _SIGNATURES[sig_alg]
        value = _b64decode(kids[1].text, "SignatureValue")
        if _elements(kids[1]):
            raise _Invalid("SignatureValue contains elements")
        signed_bytes = _c14n(signed_info, c14n_alg, cm_prefixes)
        try:
            if kind == "rsa":
                if not isinstance(pub, rsa.RSAPublicKey):
                    raise _Invalid("RSA signature method but the certificate key is not RSA")
                pub.verify(value, signed_bytes, padding.PKCS1v15(), halg())
            else:
                if not isinstance(pub, ec.EllipticCurvePublicKey):
                    raise _Invalid("ECDSA signature method but the certificate key is not EC")
                n = (pub.curve.key_size + 7) // 8
                if len(value) != 2 * n:
                    raise _Invalid("ECDSA SignatureValue has the wrong length")
                der = encode_dss_signature(int.from_bytes(value[:n], "big"), int.from_bytes(value[n:], "big"))
                pub.verify(der, signed_bytes, ec.ECDSA(halg()))
        except InvalidSignature:
            raise _Invalid("signature value does not verify with the certificate's key") from None

        # ---- who, when, validity
        subject = signer.subject.rfc4514_string()
        vkn, kind_id = _vkn_tckn(signer)
        fields.update(
            signer_subject=subject,
            signer_vkn_tckn=vkn,
            signer_id_kind=kind_id,
            issuer=signer.issuer.rfc4514_string(),
            serial_number=str(signer.serial_number),
            cert_not_before=signer.not_valid_before_utc,
            cert_not_after=signer.not_valid_after_utc,
            cert_valid_now=_cert_valid_at(signer, self.now),
        )
        st_el = ssp.find(f"{{{xns}}}SigningTime")
        if st_el is None:
            raise _Invalid("no xades:SigningTime")
        st = _parse_time(st_el.text)
        if st is None:
            raise _Invalid(f"xades:SigningTime {st_el.text!r} is not a date-time")
        if not re.search(r"(Z|[+-]\d\d:\d\d)\s*$", st_el.text or ""):
            warnings.append("SigningTime has no time zone; read as UTC")
        fields["signing_time"] = st
        at_signing = _cert_valid_at(signer, st)
        fields["cert_valid_at_signing_time"] = at_signing
        if not at_signing:
            problems.append(
                f"certificate was not valid at SigningTime {st.isoformat()} "
                f"(valid {signer.not_valid_before_utc.isoformat()} to {signer.not_valid_after_utc.isoformat()})"
            )
        if st > self.now.replace(microsecond=0) and (st - self.now).total_seconds() > 300:
            warnings.append("SigningTime is in the future")
        if self.ca is not None:
            fields["chain_checked"] = True
            ok, why = _chain_ok(signer, [c for c in certs if c is not signer], self.ca, st)
            fields["chain_valid"] = ok
            fields["trust"] = TRUST_AUTHENTICATED if ok else TRUST_FAILED
            if not ok:
                problems.append(f"certificate does not chain to the given CA: {why}")
        if role == "signature":
            mismatch = seal_mismatch(sig, signer)
            if mismatch:
                policy.append(mismatch)

        # ---- counter-signatures in the unsigned properties
        if unsigned:
            for cs in unsigned[0].iter(_ds("Signature")):
                if _nearest_signature(cs) is sig and etree.QName(cs.getparent()).localname == "CounterSignature":
                    sub = _Checker(self.tree, self.ids, self.ca, self.now)
                    counters.append(sub.check(cs, "counter-signature", sig))
                    counters.extend(sub.counters)
                elif _nearest_signature(cs) is sig:
                    raise _Invalid("ds:Signature inside UnsignedProperties outside a CounterSignature")

    def _check_pointers(self, sig: etree._Element, qp: etree._Element, role: str, policy: list[str]) -> None:
        """The ds:Signature Id is not signed, nor is the QualifyingProperties Target: what
        the signature covers is fixed by its references (``URI=""`` with the
        enveloped-signature transform), not by who points at it.  GİB's profile wants the
        document's ``cac:Signature`` and the Target to name the signature's Id; real
        production seals do not always (stale Ids), and GİB accepts them: a policy
        finding, never an integrity one."""
        sid = sig.get("Id")
        target = qp.get("Target")
        if target is None or set(qp.attrib) - {"Target", "Id"}:
            raise _Invalid("xades:QualifyingProperties must carry a Target attribute (and nothing else but Id)")
        names = {"#" + sid} if sid else set()
        if role == "signature":
            owner = _ubl_owner(sig)
            if owner is not None:
                pointers = [(uri.text or "").strip() for block in owner.findall(f"{{{CAC}}}Signature")
                            for uri in block.iter(f"{{{CBC}}}URI")]
                if pointers and not names & set(pointers):
                    policy.append(f"cac:Signature points at {pointers[0]!r}, not at this signature's Id {sid!r}")
        if target not in names:
            policy.append(f"QualifyingProperties Target {target!r} does not name this signature's Id {sid!r}")

    def _check_place(self, sig: etree._Element, policy: list[str]) -> None:
        """GİB's profile: a UBL document's signature sits in
        ``ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent``."""
        root = self.tree.getroot()
        if not (etree.QName(root).namespace or "").startswith(_UBL_NS):
            return  # HR-XML user-account documents and envelopes have their own places
        p1 = sig.getparent()
        p2 = p1.getparent() if p1 is not None else None
        p3 = p2.getparent() if p2 is not None else None
        if not (p1 is not None and p1.tag == f"{{{EXT}}}ExtensionContent" and p2 is not None
                and p2.tag == f"{{{EXT}}}UBLExtension" and p3 is not None and p3.tag == f"{{{EXT}}}UBLExtensions"
                and p3.getparent() is root):
            where = "/".join(etree.QName(a).localname for a in reversed(list(sig.iterancestors())))
            policy.append(f"ds:Signature is at /{where}, not in ext:UBLExtensions/ext:UBLExtension/"
                          "ext:ExtensionContent where GİB's profile puts it")

    @staticmethod
    def _check_key_value(kv: etree._Element, pub: Any) -> None:
        rsa_kv = kv.find(_ds("RSAKeyValue"))
        if rsa_kv is not None:
            if not isinstance(pub, rsa.RSAPublicKey):
                raise _Invalid("ds:KeyValue does not match the certificate")
            mod = int.from_bytes(_b64decode(rsa_kv.findtext(_ds("Modulus")), "Modulus"), "big")
            exp = int.from_bytes(_b64decode(rsa_kv.findtext(_ds("Exponent")), "Exponent"), "big")
            nums = pub.public_numbers()
            if (mod, exp) != (nums.n, nums.e):
                raise _Invalid("ds:KeyValue does not match the certificate")
            return
        # ECKeyValue (dsig11) or anything else: we do not use it, but it must not lie
        raise _Invalid("unsupported ds:KeyValue content")

    def _document_without(self, sig: etree._Element, algorithm: str, prefixes: Sequence[str]) -> bytes:
        """Canonical bytes of the whole document minus ``sig`` (the enveloped-signature
        transform); comments are dropped as for any ``URI=""`` reference."""
        steps = []
        node = sig
        while node.getparent() is not None:
            steps.append(node.getparent().index(node))
            node = node.getparent()
        copy_tree = copy.deepcopy(self.tree)
        target = copy_tree.getroot()
        for i in reversed(steps):
            target = target[i]
        parent = target.getparent()
        if target.tail:
            prev = target.getprevious()
            if prev is not None:
                prev.tail = (prev.tail or "") + target.tail
            else:
                parent.text = (parent.text or "") + target.tail
        parent.remove(target)
        return _c14n(copy_tree, algorithm.replace("#WithComments", "") if algorithm.endswith("#WithComments") else algorithm, prefixes)


_UBL_NS = "urn:oasis:names:specification:ubl:schema:xsd:"


def _claimed(sig: etree._Element) -> dict[str, Any]:
    """Who and when a signature *claims*, read without trusting it (for the report of a
    signature whose integrity failed: the reader still sees whose it says it is)."""
    out: dict[str, Any] = {}
    try:
        cert = signer_certificate(sig)
        if cert is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                out["signer_subject"] = cert.subject.rfc4514_string()
            out["signer_vkn_tckn"], out["signer_id_kind"] = cert_vkn_tckn(cert)
        for st in sig.iter(_xades("SigningTime")):
            when = _parse_time(st.text)
            if when is not None:
                out["signing_time"] = when
            break
    except Exception:  # noqa: BLE001 - best effort on hostile input
        return {}
    return out


def _ubl_owner(sig: etree._Element) -> etree._Element | None:
    """The UBL document (root, or nested in an envelope) a signature belongs to: the
    nearest ancestor in a UBL main-document namespace."""
    for a in sig.iterancestors():
        if (etree.QName(a).namespace or "").startswith(_UBL_NS) and etree.QName(a).localname in _SUPPLIER_PARTY:
            return a
    return None


def _siblings_of_root(root: etree._Element) -> list[Any]:
    out = []
    node = root.getprevious()
    while node is not None:
        out.append(node)
        node = node.getprevious()
    node = root.getnext()
    while node is not None:
        out.append(node)
        node = node.getnext()
    return out


def _load_ca(ca: bytes | Sequence[x509.Certificate] | x509.Certificate | None) -> list[x509.Certificate] | None:
    if ca is None:
        return None
    if isinstance(ca, x509.Certificate):
        return [ca]
    if isinstance(ca, (bytes, bytearray)):
        return list(x509.load_pem_x509_certificates(bytes(ca)))
    return list(ca)


def verify(
    xml: bytes,
    *,
    ca: bytes | x509.Certificate | Sequence[x509.Certificate] | None = None,
    allow_multiple: bool = False,
    now: datetime | None = None,
) -> SignatureReport:
    """Verify every enveloped ``ds:Signature`` in ``xml`` and report.

    ``ca``: PEM bytes or certificates to which the signer's certificate must chain (only
    checked when given).  ``allow_multiple``: accept more than one top-level signature
    (each is verified on its own).  ``now``: the time "valid now" is judged against
    (default: the current time).  Never raises for a bad document: the report says why.
    """
    now = now or datetime.now(timezone.utc)
    try:
        anchors = _load_ca(ca)
    except ValueError as exc:
        raise ValueError(f"CA certificates cannot be read: {exc}") from None
    try:
        tree = _parse(xml)
    except ValueError as exc:
        return SignatureReport(valid=False, problems=(str(exc),))
    root = tree.getroot()
    ids, dups = _ids(root)
    problems: list[str] = []
    if dups:
        problems.append("duplicate Id values (possible signature wrapping): " + ", ".join(sorted(set(dups))[:5]))
    all_sigs = list(root.iter(_ds("Signature")))
    top = [s for s in all_sigs if _nearest_signature(s) is None]
    if not top:
        problems.append("no ds:Signature found")
    elif len(top) > 1 and not allow_multiple:
        problems.append(f"{len(top)} ds:Signature elements found; only one is accepted (allow_multiple to verify each)")
    infos: list[SignatureInfo] = []
    if not problems:
        with warnings.catch_warnings():
            # cryptography warns about over-long attributes in real Turkish CA names
            warnings.simplefilter("ignore", UserWarning)
            for s in top:
                checker = _Checker(tree, ids, anchors, now)
                infos.append(checker.check(s, "signature", None))
                infos.extend(checker.counters)
    comments = [c for c in tree.iter(etree.Comment) if _nearest_signature(c) is None]
    comments += [c for c in _siblings_of_root(root) if isinstance(c, etree._Comment)]
    if comments and infos:
        first = infos[0]
        note = f"the document holds {len(comments)} XML comment(s); comments are not covered by the signature"
        infos[0] = SignatureInfo(**{**{f: getattr(first, f) for f in first.__dataclass_fields__}, "warnings": first.warnings + (note,)})
    valid = not problems and bool(infos) and all(i.valid for i in infos)
    return SignatureReport(valid=valid, problems=tuple(problems), signatures=tuple(infos))


# --------------------------------------------------------------------------- keys


def load_pkcs12(data: bytes, password: bytes | str | None) -> tuple[PrivateKey, list[x509.Certificate]]:
    """Key and certificate chain (signer first) from a PKCS#12 file."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    pw = password.encode("utf-8") if isinstance(password, str) else password
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, pw)
    except ValueError:
        raise SigningError("PKCS#12 file cannot be opened (wrong password or not PKCS#12)") from None
    if key is None or cert is None:
        raise SigningError("PKCS#12 file holds no private key and certificate")
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise SigningError("only RSA and EC keys are supported")
    return key, [cert, *(extra or [])]


def load_pem(
    key_pem: bytes, cert_pem: bytes, chain_pem: bytes | None = None, password: bytes | str | None = None
) -> tuple[PrivateKey, list[x509.Certificate]]:
    """Key and certificate chain (signer first) from PEM files."""
    pw = password.encode("utf-8") if isinstance(password, str) else password
    try:
        key = serialization.load_pem_private_key(key_pem, pw)
    except TypeError:
        raise SigningError("the private key is encrypted: a password is needed") from None
    except ValueError:
        raise SigningError("the private key cannot be read (wrong password or not a PEM key)") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise SigningError("only RSA and EC keys are supported")
    try:
        certs = list(x509.load_pem_x509_certificates(cert_pem))
        if chain_pem:
            certs += list(x509.load_pem_x509_certificates(chain_pem))
    except ValueError:
        raise SigningError("the certificate file is not PEM") from None
    return key, certs


# --------------------------------------------------------------------------- signing

_UBL_PARTY_AFTER_SIGNATURE = {
    "Invoice": "AccountingSupplierParty",
    "CreditNote": "AccountingSupplierParty",
    "ApplicationResponse": "SenderParty",
    "DespatchAdvice": "DespatchSupplierParty",
    "ReceiptAdvice": "DeliveryCustomerParty",
}
_SUPPLIER_PARTY = {
    "Invoice": "AccountingSupplierParty",
    "CreditNote": "AccountingSupplierParty",
    "ApplicationResponse": "SenderParty",
    "DespatchAdvice": "DespatchSupplierParty",
    "ReceiptAdvice": "DeliveryCustomerParty",
}


def _id_base(root: etree._Element) -> str:
    raw = root.findtext(f"{{{CBC}}}ID") or root.findtext(f"{{{CBC}}}UUID") or "1"
    base = re.sub(r"[^A-Za-z0-9._-]", "_", raw.strip()) or "1"
    return base


def _signer_party_id(root: etree._Element, cert: x509.Certificate) -> str:
    vkn, _ = _vkn_tckn(cert)
    if vkn:
        return vkn
    local = etree.QName(root).localname
    party = root.find(f"{{{CAC}}}{_SUPPLIER_PARTY.get(local, 'AccountingSupplierParty')}")
    if party is not None:
        for el in party.iter(f"{{{CBC}}}ID"):
            if el.get("schemeID") in ("VKN", "TCKN") and re.fullmatch(r"\d{10,11}", (el.text or "").strip()):
                return el.text.strip()
    raise SigningError("the certificate has no VKN/TCKN (subject serialNumber) and the supplier party names none")


def _place_signature_block(root: etree._Element, signer_id: str, sig_id: str) -> None:
    """Add ``cac:Signature`` naming the signer and pointing at ``#sig_id`` (or point the
    existing one at it)."""
    existing = root.findall(f"{{{CAC}}}Signature")
    if len(existing) > 1:
        raise SigningError("the document has more than one cac:Signature")
    if existing:
        block = existing[0]
        ref = block.find(f"{{{CAC}}}DigitalSignatureAttachment/{{{CAC}}}ExternalReference/{{{CBC}}}URI")
        if ref is None:
            dsa = block.find(f"{{{CAC}}}DigitalSignatureAttachment")
            if dsa is None:
                dsa = etree.SubElement(block, f"{{{CAC}}}DigitalSignatureAttachment")
            er = etree.SubElement(dsa, f"{{{CAC}}}ExternalReference")
            ref = etree.SubElement(er, f"{{{CBC}}}URI")
        ref.text = "#" + sig_id
        return
    local = etree.QName(root).localname
    block = etree.Element(f"{{{CAC}}}Signature")
    etree.SubElement(block, f"{{{CBC}}}ID", schemeID="VKN_TCKN").text = signer_id
    party = etree.SubElement(block, f"{{{CAC}}}SignatoryParty")
    pid = etree.SubElement(party, f"{{{CAC}}}PartyIdentification")
    etree.SubElement(pid, f"{{{CBC}}}ID", schemeID="VKN" if len(signer_id) == 10 else "TCKN").text = signer_id
    supplier = root.find(f"{{{CAC}}}{_SUPPLIER_PARTY.get(local, 'AccountingSupplierParty')}")
    address = supplier.find(f".//{{{CAC}}}Party/{{{CAC}}}PostalAddress") if supplier is not None else None
    if address is not None:
        party.append(copy.deepcopy(address))
    dsa = etree.SubElement(block, f"{{{CAC}}}DigitalSignatureAttachment")
    er = etree.SubElement(dsa, f"{{{CAC}}}ExternalReference")
    etree.SubElement(er, f"{{{CBC}}}URI").text = "#" + sig_id
    anchor = root.find(f"{{{CAC}}}{_UBL_PARTY_AFTER_SIGNATURE.get(local, 'AccountingSupplierParty')}")
    if anchor is None:
        raise SigningError(f"cannot place cac:Signature: {local} has no {_UBL_PARTY_AFTER_SIGNATURE.get(local)}")
    _insert_before(anchor, block)


def _insert_before(anchor: etree._Element, new: etree._Element) -> None:
    parent = anchor.getparent()
    prev = anchor.getprevious()
    indent = (prev.tail if prev is not None else parent.text) or ""
    new.tail = indent if indent.strip() == "" else None
    parent.insert(parent.index(anchor), new)


UBLTR_DRAFT = "urn:ubltr:draft"


def _is_placeholder(el: etree._Element) -> bool:
    """GİB's ``auto-generated_for_wildcard`` or ubltr's own draft marker
    ``<ubltr:Unsigned xmlns:ubltr="urn:ubltr:draft"/>`` (written by the builder where the
    signature goes): either is replaced by the signature, never kept beside it."""
    qn = etree.QName(el)
    if qn.namespace == UBLTR_DRAFT:
        if qn.localname != "Unsigned" or len(el) or (el.text or "").strip():
            raise SigningError(f"unexpected ubltr draft element {qn.localname!r} in ext:ExtensionContent")
        return True
    return qn.localname == "auto-generated_for_wildcard"


def _extension_slot(root: etree._Element) -> etree._Element:
    """The ``ext:ExtensionContent`` that will hold the signature (created if needed)."""
    exts = root.find(f"{{{EXT}}}UBLExtensions")
    if exts is None:
        first = _elements(root)
        exts = etree.Element(f"{{{EXT}}}UBLExtensions")
        if first:
            _insert_before(first[0], exts)
        else:
            root.append(exts)
    elif _elements(root)[0] is not exts:
        raise SigningError("ext:UBLExtensions must be the first element of the document")
    for content in exts.iter(f"{{{EXT}}}ExtensionContent"):
        children = _elements(content)
        if not children:
            return content
        if len(children) == 1 and _is_placeholder(children[0]):
            content.remove(children[0])
            content.text = None
            return content
    ext = etree.SubElement(exts, f"{{{EXT}}}UBLExtension")
    return etree.SubElement(ext, f"{{{EXT}}}ExtensionContent")


def _signature_method(key: PrivateKey) -> tuple[str, type[hashes.HashAlgorithm]]:
    if isinstance(key, rsa.RSAPrivateKey):
        return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", hashes.SHA256
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = key.curve.key_size
        if size > 384:
            return "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512", hashes.SHA512
        if size > 256:
            return "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", hashes.SHA384
        return "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", hashes.SHA256
    raise SigningError("only RSA and EC private keys are supported")


def _raw_signature(key: PrivateKey, data: bytes, halg: type[hashes.HashAlgorithm]) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), halg())
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(halg())))
    n = (key.curve.key_size + 7) // 8
    return r.to_bytes(n, "big") + s.to_bytes(n, "big")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sign(
    xml: bytes,
    key: PrivateKey,
    cert_chain: x509.Certificate | Sequence[x509.Certificate],
    *,
    signing_time: datetime | None = None,
    signer_role: str | None = None,
    allow_seal_mismatch: bool = False,
) -> bytes:
    """Sign a UBL-TR document (Invoice, ApplicationResponse, DespatchAdvice...) the way GİB
    expects and return the signed bytes (UTF-8, with an XML declaration).

    ``key``: the RSA or EC private key of the seal; ``cert_chain``: its certificate, or a
    sequence whose first item is the signer's certificate followed by intermediates
    (carried in KeyInfo).  ``signing_time``: timezone-aware time to record (default now).
    ``signer_role``: optional ``xades:ClaimedRole`` (e.g. "Tedarikçi").
    ``allow_seal_mismatch``: sign even when the certificate's VKN/TCKN is not the
    sender's (the invoice's supplier); refused by default.

    Raises :class:`SigningError` when the document is already signed, is not UBL, the
    key does not belong to the certificate, or the seal is another party's.
    """
    certs = [cert_chain] if isinstance(cert_chain, x509.Certificate) else list(cert_chain)
    if not certs:
        raise SigningError("no certificate given")
    cert = certs[0]
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise SigningError("only RSA and EC private keys are supported")
    if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise SigningError("the private key does not belong to the certificate")
    when = signing_time or datetime.now(timezone.utc)
    if when.tzinfo is None:
        raise SigningError("signing_time must carry a time zone")
    if not _cert_valid_at(cert, when):
        raise SigningError(
            f"the certificate is not valid at {when.isoformat()} "
            f"(valid {cert.not_valid_before_utc.isoformat()} to {cert.not_valid_after_utc.isoformat()})"
        )
    try:
        tree = _parse(xml)
    except ValueError as exc:
        raise SigningError(str(exc)) from None
    root = tree.getroot()
    if etree.QName(root).localname not in _UBL_PARTY_AFTER_SIGNATURE or not (etree.QName(root).namespace or "").startswith(
        "urn:oasis:names:specification:ubl:schema:xsd:"
    ):
        raise SigningError(f"sign() handles UBL documents, not {etree.QName(root).localname}")
    if root.find(f".//{_ds('Signature')}") is not None:
        raise SigningError("the document is already signed (remove the existing ds:Signature first)")

    base = _id_base(root)
    ids = {
        "sig": f"Signature_{base}",
        "value": f"SignatureValue_{base}",
        "keyinfo": f"KeyInfo_{base}",
        "ref_doc": f"Reference_Document_{base}",
        "ref_props": f"Reference_SignedProperties_{base}",
        "ref_keyinfo": f"Reference_KeyInfo_{base}",
        "props": f"SignedProperties_{base}",
        "obj": f"Object_{base}",
    }
    existing, _ = _ids(root)
    clash = [v for v in ids.values() if v in existing]
    if clash:
        raise SigningError(f"the document already uses Id {clash[0]!r}")

    seal_id, seal_kind = cert_vkn_tckn(cert)
    senders = sender_ids(root)
    if seal_id and senders and seal_id not in senders and not allow_seal_mismatch:
        party = _SUPPLIER_PARTY.get(etree.QName(root).localname, "AccountingSupplierParty")
        raise SigningError(
            f"the seal belongs to {seal_kind} {seal_id}, but the document's sender ({party}) is "
            f"{' / '.join(senders)}; sign with the sender's own seal (or allow_seal_mismatch / "
            "--allow-seal-mismatch to sign anyway)"
        )
    signer_id = _signer_party_id(root, cert)
    slot = _extension_slot(root)
    _place_signature_block(root, signer_id, ids["sig"])

    sig_uri, halg = _signature_method(key)
    digest_uri = _DIGEST_URI["sha256"]
    nsmap = {"ds": DS, "xades": XADES}

    # the document as it will be covered: everything except the ds:Signature to come
    doc_digest = _hash(_c14n(tree, C14N), hashes.SHA256)

    sig = etree.SubElement(slot, _ds("Signature"), nsmap=nsmap, Id=ids["sig"])
    signed_info = etree.SubElement(sig, _ds("SignedInfo"))
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=C14N)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=sig_uri)
    ref = etree.SubElement(signed_info, _ds("Reference"), Id=ids["ref_doc"], URI="")
    etree.SubElement(etree.SubElement(ref, _ds("Transforms")), _ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(ref, _ds("DigestMethod"), Algorithm=digest_uri)
    etree.SubElement(ref, _ds("DigestValue")).text = _b64(doc_digest)
    pref = etree.SubElement(
        signed_info, _ds("Reference"), Id=ids["ref_props"], Type=SIGNED_PROPERTIES_TYPE, URI="#" + ids["props"]
    )
    etree.SubElement(pref, _ds("DigestMethod"), Algorithm=digest_uri)
    pdigest = etree.SubElement(pref, _ds("DigestValue"))
    # KeyInfo is signed too, so the certificates carried beside the signer cannot be swapped
    kref = etree.SubElement(signed_info, _ds("Reference"), Id=ids["ref_keyinfo"], URI="#" + ids["keyinfo"])
    etree.SubElement(kref, _ds("DigestMethod"), Algorithm=digest_uri)
    kdigest = etree.SubElement(kref, _ds("DigestValue"))
    value_el = etree.SubElement(sig, _ds("SignatureValue"), Id=ids["value"])
    key_info = etree.SubElement(sig, _ds("KeyInfo"), Id=ids["keyinfo"])
    x509data = etree.SubElement(key_info, _ds("X509Data"))
    for c in certs:
        etree.SubElement(x509data, _ds("X509Certificate")).text = _b64(c.public_bytes(serialization.Encoding.DER))
    etree.SubElement(x509data, _ds("X509SubjectName")).text = cert.subject.rfc4514_string()

    obj = etree.SubElement(sig, _ds("Object"), Id=ids["obj"])
    qp = etree.SubElement(obj, _xades("QualifyingProperties"), Target="#" + ids["sig"])
    props = etree.SubElement(qp, _xades("SignedProperties"), Id=ids["props"])
    ssp = etree.SubElement(props, _xades("SignedSignatureProperties"))
    etree.SubElement(ssp, _xades("SigningTime")).text = when.isoformat(timespec="seconds")
    scert = etree.SubElement(etree.SubElement(ssp, _xades("SigningCertificate")), _xades("Cert"))
    cdig = etree.SubElement(scert, _xades("CertDigest"))
    etree.SubElement(cdig, _ds("DigestMethod"), Algorithm=digest_uri)
    etree.SubElement(cdig, _ds("DigestValue")).text = _b64(
        _hash(cert.public_bytes(serialization.Encoding.DER), hashes.SHA256)
    )
    iss = etree.SubElement(scert, _xades("IssuerSerial"))
    etree.SubElement(iss, _ds("X509IssuerName")).text = cert.issuer.rfc4514_string()
    etree.SubElement(iss, _ds("X509SerialNumber")).text = str(cert.serial_number)
    if signer_role:
        roles = etree.SubElement(etree.SubElement(ssp, _xades("SignerRole")), _xades("ClaimedRoles"))
        etree.SubElement(roles, _xades("ClaimedRole")).text = signer_role
    sdop = etree.SubElement(props, _xades("SignedDataObjectProperties"))
    dof = etree.SubElement(sdop, _xades("DataObjectFormat"), ObjectReference="#" + ids["ref_doc"])
    etree.SubElement(dof, _xades("MimeType")).text = "text/xml"

    pdigest.text = _b64(_hash(_c14n(props, C14N), hashes.SHA256))
    kdigest.text = _b64(_hash(_c14n(key_info, C14N), hashes.SHA256))
    value_el.text = _b64(_raw_signature(key, _c14n(signed_info, C14N), halg))
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
