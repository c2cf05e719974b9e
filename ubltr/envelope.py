"""GİB's envelope (ZARF, ``sh:StandardBusinessDocument``): its header and the documents
inside it, each with its position.

An envelope (*Ek-1 e-Fatura Uygulaması Zarf Şema Yapısı*) carries, in
``ef:Package/Elements/ElementList``, invoices (SENDERENVELOPE), application responses
(POSTBOXENVELOPE), system responses (SYSTEMENVELOPE) or user-account documents
(USERENVELOPE).  ::

    env = ubltr.envelope.open_envelope(data)        # header + items
    for position, kind, element in ubltr.envelope.documents(data):
        ...                                         # 1-based position, "invoice", element
    env.items[0].xml()                              # one document as standalone bytes

Positions count every document in document order, across ``Elements`` blocks, from 1.
A document's findings from validating the whole envelope are assigned to it by line
(:func:`split_findings`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from . import xmlsafe

__all__ = ["Envelope", "Header", "Item", "EnvelopeError", "is_envelope", "open_envelope", "documents",
           "kind_of", "split_findings", "SH", "EF"]

SH = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
EF = "http://www.efatura.gov.tr/package-namespace"
ROOT = f"{{{SH}}}StandardBusinessDocument"
_CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
_CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"

#: document kind by root element
_KINDS = {
    "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice": "invoice",
    "{urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2}ApplicationResponse": "application-response",
    "{urn:oasis:names:specification:ubl:schema:xsd:DespatchAdvice-2}DespatchAdvice": "despatch-advice",
    "{urn:oasis:names:specification:ubl:schema:xsd:ReceiptAdvice-2}ReceiptAdvice": "receipt-advice",
    "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote": "credit-note",
    "{http://www.hr-xml.org/3}ProcessUserAccount": "user-account",
    "{http://www.hr-xml.org/3}CancelUserAccount": "user-account",
}


class EnvelopeError(ValueError):
    """Not an envelope, or one whose structure cannot be read (names the line)."""


@dataclass(frozen=True)
class Header:
    type: str  #: SENDERENVELOPE, POSTBOXENVELOPE, SYSTEMENVELOPE, USERENVELOPE
    instance_id: str  #: the envelope's UUID
    created: str
    sender: str  #: the sender's alias (urn:mail:...)
    sender_tax_id: str
    sender_name: str
    receiver: str
    receiver_tax_id: str
    receiver_name: str


@dataclass(frozen=True)
class Item:
    position: int  #: 1-based, in document order
    kind: str  #: invoice, application-response, system-response, user-account, ... or "unknown"
    element_type: str  #: the ElementType of its Elements block (INVOICE, APPLICATIONRESPONSE, ...)
    element: etree._Element

    @property
    def root(self) -> str:
        return etree.QName(self.element).localname

    @property
    def line(self) -> int:
        return int(self.element.sourceline or 0)

    @property
    def number(self) -> str:
        return (self.element.findtext(f"{_CBC}ID") or "").strip()

    @property
    def uuid(self) -> str:
        return (self.element.findtext(f"{_CBC}UUID") or "").strip()

    def xml(self) -> bytes:
        """The document as standalone bytes (UTF-8, with declaration); namespaces it
        uses from the envelope are declared on its root, unused ones are dropped."""
        el = etree.fromstring(etree.tostring(self.element))  # detached copy
        etree.cleanup_namespaces(el)
        return etree.tostring(el, xml_declaration=True, encoding="UTF-8")


@dataclass(frozen=True)
class Envelope:
    header: Header
    items: tuple[Item, ...]
    root: etree._Element


def kind_of(element: etree._Element) -> str:
    """``invoice``, ``application-response``, ``system-response`` (an ApplicationResponse
    whose code is GİB's S_APR or whose ProfileID is UBL-TR-PROFILE-1), ``despatch-advice``,
    ``receipt-advice``, ``credit-note``, ``user-account`` or ``unknown``."""
    kind = _KINDS.get(element.tag, "unknown")
    if kind == "application-response":
        code = (element.findtext(f"{_CAC}DocumentResponse/{_CAC}Response/{_CBC}ResponseCode") or "").strip()
        profile = (element.findtext(f"{_CBC}ProfileID") or "").strip()
        if code == "S_APR" or profile == "UBL-TR-PROFILE-1":
            return "system-response"
    return kind


def _root(source: bytes | str | Path | etree._Element) -> etree._Element:
    if isinstance(source, etree._Element):
        return source
    if isinstance(source, (str, Path)):
        source = Path(source).read_bytes()
    try:
        return xmlsafe.fromstring(source, what="envelope")
    except xmlsafe.UnsafeXML as exc:
        raise EnvelopeError(str(exc)) from None


def is_envelope(source: bytes | etree._Element) -> bool:
    """Whether ``source`` (bytes or a parsed root) is a ZARF; bytes are only sniffed."""
    if isinstance(source, etree._Element):
        return source.tag == ROOT
    head = bytes(source[:4096])
    return b"StandardBusinessDocument" in head and SH.encode() in head


def _contact(party: etree._Element | None, type_id: str) -> str:
    if party is None:
        return ""
    for ci in party.findall(f"{{{SH}}}ContactInformation"):
        if (ci.findtext(f"{{{SH}}}ContactTypeIdentifier") or "").strip() == type_id:
            return (ci.findtext(f"{{{SH}}}Contact") or "").strip()
    return ""


def open_envelope(source: bytes | str | Path | etree._Element) -> Envelope:
    """Read an envelope: its header and every document in it with its position.
    Raises :class:`EnvelopeError` for what is not a readable envelope."""
    root = _root(source)
    if root.tag != ROOT:
        raise EnvelopeError(f"line {root.sourceline}: the root is {etree.QName(root).localname}, "
                            "not sh:StandardBusinessDocument (an envelope)")
    hdr = root.find(f"{{{SH}}}StandardBusinessDocumentHeader")
    ident = hdr.find(f"{{{SH}}}DocumentIdentification") if hdr is not None else None
    sender = hdr.find(f"{{{SH}}}Sender") if hdr is not None else None
    receiver = hdr.find(f"{{{SH}}}Receiver") if hdr is not None else None

    def text(el: etree._Element | None, tag: str) -> str:
        return (el.findtext(f"{{{SH}}}{tag}") or "").strip() if el is not None else ""

    header = Header(
        type=text(ident, "Type"), instance_id=text(ident, "InstanceIdentifier"),
        created=text(ident, "CreationDateAndTime"),
        sender=text(sender, "Identifier"), sender_tax_id=_contact(sender, "VKN_TCKN"),
        sender_name=_contact(sender, "UNVAN"),
        receiver=text(receiver, "Identifier"), receiver_tax_id=_contact(receiver, "VKN_TCKN"),
        receiver_name=_contact(receiver, "UNVAN"),
    )
    package = root.find(f"{{{EF}}}Package")
    if package is None:
        raise EnvelopeError(f"line {root.sourceline}: the envelope has no ef:Package")
    items: list[Item] = []
    for elements in package.findall("Elements"):
        etype = (elements.findtext("ElementType") or "").strip()
        lst = elements.find("ElementList")
        if lst is None:
            continue
        for child in lst:
            if not isinstance(child.tag, str):
                continue  # comments, processing instructions
            items.append(Item(len(items) + 1, kind_of(child), etype, child))
    return Envelope(header, tuple(items), root)


def documents(source: bytes | str | Path | etree._Element) -> Iterator[tuple[int, str, etree._Element]]:
    """``(position, kind, element)`` for every document in the envelope, in order: what
    ``ubltr.parse`` / ``validate`` / ``render`` act on one by one."""
    for item in open_envelope(source).items:
        yield item.position, item.kind, item.element


def split_findings(items: Sequence[Item], findings: Sequence[Mapping[str, Any]]) -> dict[int, list[Mapping[str, Any]]]:
    """Assign findings of a whole-envelope validation to documents by their line:
    position 0 is the envelope itself (header, package, lines before the first document),
    1.. the document whose element starts at or before the finding's line (only closing
    tags follow the last document).  A finding without a line goes to the envelope."""
    starts = sorted((it.line, it.position) for it in items)
    out: dict[int, list[Mapping[str, Any]]] = {0: [], **{it.position: [] for it in items}}
    for f in findings:
        line = f.get("line")
        pos = 0
        if line:
            for start, p in starts:
                if start <= int(line):
                    pos = p
                else:
                    break
        out[pos].append(f)
    return out



# --------------------------------------------------------------------------- for people


def render_document_html(data: bytes, *, use_embedded: bool = True, timeout: float | None = None,
                         memory: int | None = None) -> Any:
    """One document as HTML (a :class:`ubltr.view.Rendered`): an envelope as a page
    listing its header and every document by position (each in its own frame, so its
    styles stay its own); an application or system response with ubltr's answer page
    (:func:`ubltr.answer.render_html`); anything else as :func:`ubltr.view.render_html`
    does.  Raises ``view.DocumentError`` for unreadable input."""
    from . import view

    tree = view.load_xml(data)
    root = tree.getroot()
    kw: dict[str, Any] = {"use_embedded": use_embedded}
    if timeout is not None:
        kw["timeout"] = timeout
    if memory is not None:
        kw["memory"] = memory
    if root.tag == ROOT:
        return _render_envelope(open_envelope(root), kw)
    if kind_of(root) in ("application-response", "system-response"):
        from . import answer

        try:
            return view.Rendered(answer.render_html(root), "default")
        except answer.AnswerReadError as exc:
            general = view.render_html(data, **kw)
            return view.Rendered(general.html, general.source,
                                 (f"not read as an answer ({exc}); shown with the general template",))
    return view.render_html(data, **kw)


_TITLES = {"SENDERENVELOPE": "Fatura zarfı", "POSTBOXENVELOPE": "Uygulama yanıtı zarfı",
           "SYSTEMENVELOPE": "Sistem yanıtı zarfı", "USERENVELOPE": "Kullanıcı zarfı"}


def _render_envelope(env: Envelope, kw: dict[str, Any]) -> Any:
    from html import escape

    from . import view

    h = env.header
    warnings: list[str] = []
    parts = [
        "<!DOCTYPE html>\n<html lang=\"tr\"><head><meta charset=\"utf-8\"><meta name=\"generator\" content=\"ubltr\">",
        f"<title>ZARF {escape(h.instance_id)}</title>",
        "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
        "th,td{border:1px solid #999;padding:.2em .5em;text-align:left}"
        "iframe{width:100%;height:1100px;border:1px solid #999}section{margin-top:1.5em}</style></head><body>",
        f"<h1>ZARF: {escape(_TITLES.get(h.type, h.type or 'zarf'))}</h1>",
        "<table id=\"envelope\">",
        f"<tr><th>Zarf Türü</th><td>{escape(h.type)}</td></tr>",
        f"<tr><th>Zarf ETTN</th><td>{escape(h.instance_id)}</td></tr>",
        f"<tr><th>Oluşturma</th><td>{escape(h.created)}</td></tr>",
        f"<tr><th>Gönderen</th><td>{escape(h.sender_name)} · {escape(h.sender_tax_id)} · {escape(h.sender)}</td></tr>",
        f"<tr><th>Alıcı</th><td>{escape(h.receiver_name)} · {escape(h.receiver_tax_id)} · {escape(h.receiver)}</td></tr>",
        f"<tr><th>Belge Sayısı</th><td>{len(env.items)}</td></tr></table>",
    ]
    if not env.items:
        warnings.append("the envelope holds no document")
        parts.append("<p id=\"empty\">Zarfta belge yok.</p>")
    for it in env.items:
        label = f"Belge {it.position} / {len(env.items)}: {it.root} {it.number}".strip()
        parts.append(f"<section class=\"document\" id=\"document-{it.position}\" data-kind=\"{escape(it.kind)}\">"
                     f"<h2>{escape(label)}</h2>")
        if it.kind == "user-account":
            pretty = etree.tostring(etree.fromstring(it.xml()), pretty_print=True, encoding="unicode")
            parts.append(f"<pre>{escape(pretty)}</pre></section>")
            continue
        try:
            inner = render_document_html(it.xml(), **kw)
        except view.DocumentError as exc:  # pragma: no cover - an element of a parsed tree re-parses
            warnings.append(f"document {it.position}: {exc}")
            parts.append(f"<p class=\"error\">{escape(str(exc))}</p></section>")
            continue
        warnings.extend(f"document {it.position}: {w}" for w in inner.warnings)
        parts.append(f"<iframe title=\"{escape(label)}\" srcdoc=\"{escape(inner.html.decode('utf-8', 'replace'))}\">"
                     "</iframe></section>")
    parts.append("</body></html>\n")
    return view.Rendered("".join(parts).encode("utf-8"), "default", tuple(warnings))


def position_reports(source: bytes | str | Path | etree._Element,
                     findings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per document of an envelope (position 0 = the envelope itself): its kind, root,
    number, UUID, line and the findings of the whole-envelope validation that fall in
    it, with its own verdict (no error among them).  ``findings``: ``Finding.to_dict()``
    items (each may carry ``line``)."""
    env = open_envelope(source)
    split = split_findings(env.items, findings)
    out: list[dict[str, Any]] = []
    head: dict[str, Any] = {"position": 0, "kind": "envelope", "root": "StandardBusinessDocument",
            "id": env.header.instance_id, "uuid": env.header.instance_id, "line": int(env.root.sourceline or 1)}
    metas: list[dict[str, Any]] = [head] + [{"position": it.position, "kind": it.kind, "root": it.root, "id": it.number,
                           "uuid": it.uuid, "line": it.line} for it in env.items]
    for meta in metas:
        fs = list(split.get(int(meta["position"]), []))
        errors = sum(1 for f in fs if f.get("severity") == "error")
        out.append({**meta, "valid": errors == 0, "errors": errors,
                    "warnings": sum(1 for f in fs if f.get("severity") == "warning"), "findings": fs})
    return out
