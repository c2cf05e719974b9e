"""The reference oracle for tests: GİB's UBL 2.1 XSD (lxml) and GİB's compiled
schematron (efatura.xsl, XSLT 2.0) run by saxonche exactly as GİB runs it.

The oracle reads its own copy of GİB's files: efatura-kontrol's (a test dependency),
never ubltr's packaged ones, so a stale or altered copy on either side shows up as a
disagreement instead of being agreed on by both.

Our own validator (ubltr.validate) is judged against this; builders are judged by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

SVRL = "{http://purl.oclc.org/dsdl/svrl}"
INVOICE_ROOT = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
#: GİB's maindoc schema per root element (paths in the pinned package)
MAINDOC_XSD = {
    INVOICE_ROOT: "xsd/maindoc/UBL-Invoice-2.1.xsd",
    "{urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2}ApplicationResponse":
        "xsd/maindoc/UBL-ApplicationResponse-2.1.xsd",
}


@dataclass(frozen=True)
class OracleResult:
    xsd_errors: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]  # (rule id, message)

    @property
    def ok(self) -> bool:
        return not self.xsd_errors and not self.failed

    @property
    def rule_ids(self) -> frozenset[str]:
        return frozenset(r for r, _ in self.failed)

    def __str__(self) -> str:
        out = [f"XSD: {e}" for e in self.xsd_errors]
        out += [f"GİB {r}: {m}" for r, m in self.failed]
        return "\n".join(out) or "ok"


def kontrol_path(name: str) -> Path:
    """A file of efatura-kontrol's own copy of GİB's artefacts (its ``ekler/`` folder:
    ``sematron/efatura.xsl``, ``xsd/maindoc/UBL-Invoice-2.1.xsd``, ``kodlar.json`` ...)."""
    import efatura_kontrol

    p = Path(efatura_kontrol.__file__).resolve().parent / "ekler" / name
    if not p.is_file():
        raise FileNotFoundError(f"efatura-kontrol has no {name}")
    return p


class Oracle:
    def __init__(self) -> None:
        from saxonche import PySaxonProcessor

        self.proc = PySaxonProcessor(license=False)
        xslt = self.proc.new_xslt30_processor()
        self.exe = xslt.compile_stylesheet(stylesheet_file=str(kontrol_path("sematron/efatura.xsl")))
        self._param: str | None = None
        self.schema = etree.XMLSchema(file=str(kontrol_path("xsd/maindoc/UBL-Invoice-2.1.xsd")))
        self._schemas: dict[str, etree.XMLSchema] = {INVOICE_ROOT: self.schema}

    def schema_for(self, root_tag: str) -> etree.XMLSchema:
        """GİB's UBL 2.1 maindoc schema for a root element (Invoice, ApplicationResponse, ...)."""
        if root_tag not in self._schemas:
            name = MAINDOC_XSD.get(root_tag)
            if name is None:
                raise ValueError(f"the oracle has no schema for {root_tag}")
            self._schemas[root_tag] = etree.XMLSchema(file=str(kontrol_path(name)))
        return self._schemas[root_tag]

    @classmethod
    @cache
    def get(cls) -> "Oracle":
        return cls()

    def schematron(self, xml: bytes, type_: str = "efatura") -> tuple[tuple[str, str], ...]:
        if type_ != self._param:
            self.exe.set_parameter("type", self.proc.make_string_value(type_))
            self._param = type_
        # utf-8-sig: a byte-order mark is encoding, not content (an XML parser drops it)
        node = self.proc.parse_xml(xml_text=xml.decode("utf-8-sig"))
        svrl = etree.fromstring(self.exe.transform_to_string(xdm_node=node).encode("utf-8"))
        out = []
        for f in svrl.iter(SVRL + "failed-assert"):
            text = f.find(SVRL + "text")
            msg = " ".join("".join(text.itertext()).split()) if text is not None else ""
            out.append((f.get("id") or f.get("test") or "", msg))
        return tuple(out)

    def check(self, xml: bytes, type_: str | None = None) -> OracleResult:
        doc = etree.fromstring(xml, etree.XMLParser(huge_tree=True))
        if type_ is None:
            prof = doc.findtext("{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}ProfileID")
            type_ = "earchive" if prof == "EARSIVFATURA" else "efatura"
        schema = self.schema_for(doc.tag)
        xsd = () if schema.validate(doc) else tuple(
            f"line {e.line}: {e.message}" for e in schema.error_log
        )
        return OracleResult(xsd_errors=xsd, failed=self.schematron(xml, type_))
