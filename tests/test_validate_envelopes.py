"""Envelopes (``sh:StandardBusinessDocument``, GİB's ZARF) and HR-XML user-account
documents (``hr:ProcessUserAccount``, ``hr:CancelUserAccount``).

Judged against the oracle: GİB's schematron as GİB runs it (efatura.xsl, saxonche)
plus GİB's XSD built here independently of the engine's configuration.  Every case
must give the same set of failing GİB rules under both values of GİB's ``type``
parameter, and ``report.valid`` must equal the oracle's XSD + schematron verdict.
Cases: every file of GİB's e-FaturaPaketi, envelopes built around ubltr's fixture
invoices with one defect each, user-account documents with one defect each, and
random lists of user accounts (the rules that compare accounts use the translated
``P/normalize-space(R)`` steps).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st
from lxml import etree

from conftest import ROOT, SHARED, shared
from gib_oracle import kontrol_path
from ubltr.cli import cli
from ubltr.validation import validate

SH = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
EF = "http://www.efatura.gov.tr/package-namespace"
HR = "http://www.hr-xml.org/3"
OA = "http://www.openapplications.org/oagis/9"
INV = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS = {"sh": SH, "ef": EF, "hr": HR, "oa": OA, "inv": INV, "cbc": CBC, "cac": CAC,
      "ds": "http://www.w3.org/2000/09/xmldsig#"}
TYPES = ("efatura", "earchive")
FIXTURES = ROOT / "fixtures"
EFP = SHARED / "gib" / "e-FaturaPaketi" / "xml"


# ----------------------------------------------------------------- the oracle's XSD

@cache
def _schema(*names: str) -> etree.XMLSchema:
    """GİB's XSD files ``names`` (paths in the pinned package) as one schema set: a
    wrapper importing each by its target namespace."""
    imports = []
    for n in names:
        p = kontrol_path(n)
        tns = etree.parse(str(p)).getroot().get("targetNamespace")
        imports.append(f'<xs:import namespace="{tns}" schemaLocation="{p.as_uri()}"/>')
    return etree.XMLSchema(etree.fromstring(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">' + "".join(imports) + "</xs:schema>"))


#: per root element, GİB's schema set.  User-account documents: UserAccount.xsd plus
#: the signature schemas their xsi:schemaLocation names (xmldsig, XAdES), which is
#: what PackageProxy gives them inside a USERENVELOPE.
_XSD = {
    f"{{{SH}}}StandardBusinessDocument": ("xsd/zarf/PackageProxy_1_2.xsd",),
    f"{{{HR}}}ProcessUserAccount": ("xsd/HRXML/UserAccount.xsd", "xsd/common/UBL-xmldsig-core-schema-2.1.xsd",
                                    "xsd/common/UBL-XAdESv132-2.1.xsd"),
    f"{{{INV}}}Invoice": ("xsd/maindoc/UBL-Invoice-2.1.xsd",),
    "{urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2}ApplicationResponse":
        ("xsd/maindoc/UBL-ApplicationResponse-2.1.xsd",),
}
_XSD[f"{{{HR}}}CancelUserAccount"] = _XSD[f"{{{HR}}}ProcessUserAccount"]


def _oracle_xsd_ok(data: bytes) -> bool:
    root = etree.fromstring(data)
    return _schema(*_XSD[root.tag]).validate(root)


def check(oracle, data: bytes, must_fail: str | None = None) -> frozenset[str]:
    """Assert ubltr agrees with the oracle on ``data``; return the oracle's failing
    GİB rules under the default type.  ``must_fail``: a rule the case was built to
    break (proves the mutation took effect), or ``"xsd"`` for a schema error."""
    report = validate(data, gib_only=True)
    assert report.readable, report.to_text()
    for t in TYPES:
        ref = frozenset(r for r, _ in oracle.schematron(data, t))
        ours = validate(data, schematron_type=t).failed_rules("gib")
        assert ours == ref, (t, sorted(ours - ref), sorted(ref - ours))
    ref_default = frozenset(r for r, _ in oracle.schematron(data, report.schematron_type))
    xsd_ok = _oracle_xsd_ok(data)
    assert report.valid == (xsd_ok and not ref_default), report.to_text()
    assert bool(report.failed_rules("xsd")) == (not xsd_ok), report.to_text()
    if must_fail == "xsd":
        assert not xsd_ok
    elif must_fail:
        assert must_fail in ref_default, sorted(ref_default)
    return ref_default


# ----------------------------------------------------------------- GİB's samples

def _samples() -> list[str]:
    return sorted(p.name for p in EFP.glob("*.xml")) if EFP.is_dir() else ["<absent>"]


@pytest.mark.parametrize("name", _samples())
def test_gib_samples_agree_with_gib(oracle, name: str) -> None:
    data = shared("gib", "e-FaturaPaketi", "xml", name).read_bytes()
    try:
        etree.fromstring(data)
    except etree.XMLSyntaxError:
        # 7_UYGULAMA_YANITI_IADE.xml has a raw '<' in an attribute: Saxon refuses it too
        report = validate(data)
        assert not report.readable and report.failed_rules() == {"xml:syntax"}
        with pytest.raises(Exception):
            oracle.schematron(data)
        return
    check(oracle, data)


def test_gib_sample_envelopes_are_envelopes() -> None:
    for p in sorted(shared("gib", "e-FaturaPaketi", "xml").glob("*_ZARF.xml")):
        r = validate(p)
        assert (r.document, r.profile, r.type_code, r.schematron_type) == ("Envelope", None, None, "efatura"), p
        assert "xml:root" not in r.failed_rules()
        assert r.layers == ("xml", "xsd", "gib", "ubltr")


# ----------------------------------------------------------------- envelope builder

def _doc(path_or_bytes: Path | bytes) -> etree._Element:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    return etree.fromstring(data)


def envelope(
    docs: list[etree._Element], *, element_type: str = "INVOICE", count: int | None = None,
    env_type: str = "SENDERENVELOPE", sender: tuple[str, str] = ("urn:mail:defaultgb@ornek.com.tr", "1234567890"),
    receiver: tuple[str, str] = ("urn:mail:defaultpk@alici.com.tr", "9876543217"),
    header_version: str = "1.2", type_version: str = "1.2",
    instance: str = "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b", package: bool = True,
    schema_location: bool = True, unvan_only: bool = False,
) -> bytes:
    """A GİB envelope around ``docs`` (ElementList), header fields as given."""
    def party(tag: str, alias: str, vkn: str) -> str:
        contacts = "<sh:ContactInformation><sh:Contact>Örnek A.Ş.</sh:Contact>" \
                   "<sh:ContactTypeIdentifier>UNVAN</sh:ContactTypeIdentifier></sh:ContactInformation>"
        if not unvan_only:
            contacts += f"<sh:ContactInformation><sh:Contact>{vkn}</sh:Contact>" \
                        "<sh:ContactTypeIdentifier>VKN_TCKN</sh:ContactTypeIdentifier></sh:ContactInformation>"
        return f"<sh:{tag}><sh:Identifier>{alias}</sh:Identifier>{contacts}</sh:{tag}>"

    loc = f' xsi:schemaLocation="{SH} PackageProxy_1_2.xsd"' if schema_location else ""
    head = (
        f'<sh:StandardBusinessDocument xmlns:sh="{SH}" xmlns:ef="{EF}" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"{loc}>'
        f"<sh:StandardBusinessDocumentHeader><sh:HeaderVersion>{header_version}</sh:HeaderVersion>"
        + party("Sender", *sender) + party("Receiver", *receiver)
        + f"<sh:DocumentIdentification><sh:Standard/><sh:TypeVersion>{type_version}</sh:TypeVersion>"
        f"<sh:InstanceIdentifier>{instance}</sh:InstanceIdentifier><sh:Type>{env_type}</sh:Type>"
        "<sh:CreationDateAndTime>2026-01-15T10:00:00</sh:CreationDateAndTime></sh:DocumentIdentification>"
        "</sh:StandardBusinessDocumentHeader>"
    )
    body = ""
    if package:
        inner = "".join(etree.tostring(d, encoding="unicode") for d in docs)
        n = len(docs) if count is None else count
        body = (f"<ef:Package><Elements><ElementType>{element_type}</ElementType><ElementCount>{n}</ElementCount>"
                f"<ElementList>{inner}</ElementList></Elements></ef:Package>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + head + body + "</sh:StandardBusinessDocument>").encode()


def _invoice(name: str = "TEMELFATURA-SATIS.xml") -> etree._Element:
    return _doc(FIXTURES / name)


def _set(el: etree._Element, path: str, value: str | None) -> etree._Element:
    """Set (or, with None, remove) the first node at ``path`` in ``el``; returns ``el``."""
    node = el.xpath(path, namespaces=NS)[0]
    if value is None:
        node.getparent().remove(node)
    else:
        node.text = value
    return el


def test_base_envelope_is_valid(oracle) -> None:
    """The unmutated envelope is valid for both: the mutations below start from a
    document GİB accepts."""
    data = envelope([_invoice()])
    assert check(oracle, data) == frozenset()
    assert validate(data).valid


ENVELOPE_CASES = {
    "HeaderVersion 2.0": (lambda: envelope([_invoice()], header_version="2.0"), "HeaderCheck-1"),
    "TypeVersion 1.0": (lambda: envelope([_invoice()], type_version="1.0"), "TypeVersionCheck-1"),
    "no ef:Package": (lambda: envelope([_invoice()], package=False), "DocumentCheck-2"),
    "no xsi:schemaLocation": (lambda: envelope([_invoice()], schema_location=False), "DocumentCheck-3"),
    "sender VKN differs from the supplier's": (
        lambda: envelope([_invoice()], sender=("urn:mail:defaultgb@ornek.com.tr", "1111111111")),
        "DocumentSenderCheck-1"),
    "receiver VKN differs from the customer's": (
        lambda: envelope([_invoice()], receiver=("urn:mail:defaultpk@alici.com.tr", "2222222222")),
        "DocumentReceiverCheck-1"),
    "sender VKN of 9 digits": (
        lambda: envelope([_invoice()], sender=("urn:mail:defaultgb@ornek.com.tr", "123456789")), "ContactCheck-3"),
    "no VKN_TCKN contact": (lambda: envelope([_invoice()], unvan_only=True), "ContactInformationCheck-2"),
    "ElementCount 2 for one invoice": (lambda: envelope([_invoice()], count=2), "ElementListCountCheck-1"),
    "ElementCount 0": (lambda: envelope([_invoice()], count=0), "ElementNameCheck-1"),
    "unknown ElementType": (lambda: envelope([_invoice()], element_type="FATURA"), "ElementTypeCheck-1"),
    "unknown envelope type": (lambda: envelope([_invoice()], env_type="ZARF"), "EnvelopeTypeCheck-1"),
    "invoice in a SYSTEMENVELOPE": (
        lambda: envelope([_invoice()], env_type="SYSTEMENVELOPE"), "EnvelopeTypeElementTypeCheck-3"),
    "InstanceIdentifier not a UUID": (lambda: envelope([_invoice()], instance="ZARF-1"), "UUIDCheck-1"),
    "TEMELFATURA sent to the GTB export mailbox": (
        lambda: envelope([_invoice()], receiver=("urn:mail:ihracatpk@gtb.gov.tr", "9876543217")),
        "IhracatYolcuBeraberCheck-2"),
    "inner invoice: unknown ProfileID": (
        lambda: envelope([_set(_invoice(), "cbc:ProfileID", "YENIFATURA")]), "ProfileIDCheck-1"),
    "inner invoice: e-Arşiv invoice in an envelope": (
        lambda: envelope([_invoice("EARSIVFATURA-SATIS.xml")]), "ProfileIDCheck-1"),
    "inner invoice: no cbc:ID (schema)": (lambda: envelope([_set(_invoice(), "cbc:ID", None)]), "xsd"),
    "inner invoice: bad UUID": (lambda: envelope([_set(_invoice(), "cbc:UUID", "x")]), "UUIDCheck-1"),
    "second invoice broken": (
        lambda: envelope([_invoice(), _set(_invoice(), "cbc:DocumentCurrencyCode", "TL")]), "CurrencyCodeCheck-1"),
    "two valid invoices": (lambda: envelope([_invoice(), _invoice("TICARIFATURA-SATIS.xml")]), None),
    "two export invoices in one envelope": (
        lambda: envelope([_invoice("IHRACAT-ISTISNA.xml"), _invoice("IHRACAT-ISTISNA.xml")]),
        "ExportInvoiceCountCheck-1"),
    "unknown element in ElementList (strict wildcard)": (
        lambda: envelope([etree.fromstring("<x:Fatura xmlns:x='urn:ornek'/>")]), "xsd"),
}


@pytest.mark.parametrize("case", sorted(ENVELOPE_CASES))
def test_envelope_mutations_agree_with_gib(oracle, case: str) -> None:
    build, must_fail = ENVELOPE_CASES[case]
    check(oracle, build(), must_fail)


def test_ubltr_rules_apply_to_invoices_in_an_envelope() -> None:
    """ubltr's rules find the same problems in a nested invoice as in the invoice alone,
    with the same verdict; with gib_only they are warnings: GİB's verdict is unchanged."""
    bad = _set(_invoice(), "cac:LegalMonetaryTotal/cbc:PayableAmount", "1.00")
    alone = validate(etree.tostring(bad))
    wrapped = validate(envelope([bad]))
    rules = {f.rule for f in alone.findings if f.source == "ubltr"}
    assert rules and rules == {f.rule for f in wrapped.findings if f.source == "ubltr"}
    assert wrapped.valid == alone.valid
    gib = validate(envelope([bad]), gib_only=True)
    assert all(f.severity == "warning" for f in gib.findings if f.source == "ubltr") and gib.valid
    assert not validate(envelope([bad]), strict=True).valid


def test_earchive_type_can_be_forced_on_an_envelope(oracle) -> None:
    data = envelope([_invoice()])
    r = validate(data, schematron_type="earchive")
    assert r.schematron_type == "earchive"
    assert r.failed_rules("gib") == frozenset(x for x, _ in oracle.schematron(data, "earchive")) != frozenset()


# ----------------------------------------------------------------- user accounts

def _user_doc(name: str = "4_KULLANICI_ACMA.xml") -> etree._Element:
    return _doc(shared("gib", "e-FaturaPaketi", "xml", name))


def user_envelope(doc: etree._Element, element_type: str = "PROCESSUSERACCOUNT", **kw) -> bytes:
    kw.setdefault("sender", ("usergb", "9999999999"))
    kw.setdefault("receiver", ("GIB", "3900383669"))
    return envelope([doc], element_type=element_type, env_type="USERENVELOPE", **kw)


def _accounts(doc: etree._Element) -> list[etree._Element]:
    return doc.findall(f"{{{HR}}}DataArea/{{{HR}}}UserAccount")


def _second(path: str, value: str | None):
    def build(doc: etree._Element) -> etree._Element:
        _set(_accounts(doc)[1], path, value)
        return doc
    return build


def _no_signature(doc: etree._Element) -> etree._Element:
    sig = doc.find(f"oa:ApplicationArea/oa:Signature/{{{NS['ds']}}}Signature", NS)
    sig.getparent().remove(sig)
    return doc


USER_CASES = {
    "as sent": (lambda d: d, None),
    "second account, other UserID": (_second("hr:UserID", "8888888888"), "UserAccountCheck-51"),
    "second account, other FormattedName": (_second("hr:PersonName/hr:FormattedName", "Başka A.Ş."),
                                            "UserAccountCheck-52"),
    "second account, same name spaced differently": (
        _second("hr:PersonName/hr:FormattedName", "  e-Fatura\n Deneme   A.Ş. "), None),
    "second account, GivenName set": (_second("hr:PersonName/oa:GivenName", "Ali"), "UserAccountCheck-53"),
    "second account, FamilyName set": (_second("hr:PersonName/hr:FamilyName", "Yılmaz"), "UserAccountCheck-55"),
    "second account, other UserOptionCode": (_second("hr:AccountConfiguration/hr:UserOptionCode", "1"),
                                             "UserAccountCheck-56"),
    # the first account's name is compared with nothing: XPath 2.0's empty sequence, 52-55 fail
    "second account without PersonName": (_second("hr:PersonName", None), "UserAccountCheck-52"),
    "LogicalID of 9 digits": (lambda d: _set(d, "oa:ApplicationArea/oa:Sender/oa:LogicalID", "123456789"),
                              "OASenderCheck-2"),
    "label not a URN": (_second("hr:AuthorizedWorkScope/hr:WorkScopeCode", "defaultpk"), "UserAccountCheck-33"),
    "reserved label": (_second("hr:AuthorizedWorkScope/hr:WorkScopeCode", "GIB"), "UserAccountCheck-32"),
    "RoleCode XX": (_second("hr:UserRole/hr:RoleCode", "XX"), "UserAccountCheck-29"),
    "UserID of 12 digits": (_second("hr:UserID", "123456789012"), "UserAccountCheck-25"),
    "no ds:Signature": (_no_signature, "OASignatureCheck-1"),
}


@pytest.mark.parametrize("case", sorted(USER_CASES))
@pytest.mark.parametrize("wrapped", [False, True], ids=["bare", "in USERENVELOPE"])
def test_user_account_documents_agree_with_gib(oracle, case: str, wrapped: bool) -> None:
    mutate, must_fail = USER_CASES[case]
    doc = mutate(_user_doc())
    data = user_envelope(doc) if wrapped else etree.tostring(doc, xml_declaration=True, encoding="UTF-8")
    refs = check(oracle, data, must_fail)
    if case == "as sent":
        assert not refs and validate(data).valid


USER_ENVELOPE_CASES = {
    "receiver is not GİB": (lambda: user_envelope(_user_doc(), receiver=("urn:mail:x@y.com", "3900383669")),
                            "EnvelopeTypeElementTypeCheck-5"),
    "sender label not a user-envelope label": (
        lambda: user_envelope(_user_doc(), sender=("urn:mail:defaultgb@ornek.com.tr", "9999999999")),
        "EnvelopeTypeElementTypeCheck-6"),
    "LogicalID is not the sender": (lambda: user_envelope(_user_doc(), sender=("usergb", "1234567890")),
                                    "OASenderCheck-3"),
    "archive label with two accounts": (lambda: user_envelope(_user_doc(), sender=("archive", "9999999999")),
                                        "UserAccountCountCheck-1"),
    "CancelUserAccount declared as PROCESSUSERACCOUNT": (
        lambda: user_envelope(_user_doc("5_KULLANICI_SILME.xml")), "ElementNameCheck-3"),
    "CancelUserAccount": (lambda: user_envelope(_user_doc("5_KULLANICI_SILME.xml"), "CANCELUSERACCOUNT"), None),
    "user account in a SENDERENVELOPE": (
        lambda: envelope([_user_doc()], element_type="PROCESSUSERACCOUNT", sender=("usergb", "9999999999")),
        "EnvelopeTypeElementTypeCheck-1"),
}


@pytest.mark.parametrize("case", sorted(USER_ENVELOPE_CASES))
def test_user_envelopes_agree_with_gib(oracle, case: str) -> None:
    build, must_fail = USER_ENVELOPE_CASES[case]
    check(oracle, build(), must_fail)


_names = st.sampled_from(["e-Fatura Deneme A.Ş.", " e-Fatura  Deneme A.Ş.", "Başka A.Ş.", ""])
_ids = st.sampled_from(["9999999999", " 9999999999 ", "8888888888", "12345678901"])
_opt = st.sampled_from(["1", "2", " 2", None])


@st.composite
def _account(draw) -> str:
    person = "".join(
        f"<{tag}>{draw(_names)}</{tag}>" for tag in ("FormattedName", "oa:GivenName", "MiddleName", "FamilyName")
        if draw(st.booleans())
    )
    parts = [f"<UserID>{draw(_ids)}</UserID>" if draw(st.integers(0, 5)) else "",
             f"<PersonName>{person}</PersonName>" if draw(st.integers(0, 5)) else ""]
    opt = draw(_opt)
    if opt is not None:
        parts.append(f"<AccountConfiguration><UserOptionCode>{opt}</UserOptionCode></AccountConfiguration>")
    return "<UserAccount>" + "".join(parts) + "</UserAccount>"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_account(), min_size=1, max_size=4), st.sampled_from(["", " ", "<!--x-->"]))
def test_random_account_lists_agree_with_gib(accounts: list[str], gap: str) -> None:
    """The rules that compare each account with the following ones (UserAccountCheck-51..56,
    ``following::node()/hr:PersonName/normalize-space(...)``) on random lists: missing
    elements, whitespace variants, comments between accounts."""
    from gib_oracle import Oracle

    doc = _user_doc()
    area = doc.find(f"{{{HR}}}DataArea")
    for ua in _accounts(doc):
        area.remove(ua)
    xml = etree.tostring(doc, encoding="unicode").replace(
        "<oa:Process/>", "<oa:Process/>" + gap.join(accounts), 1)
    assert xml.count("<UserAccount>") == len(accounts)
    data = xml.encode()
    oracle = Oracle.get()
    ref = frozenset(r for r, _ in oracle.schematron(data, "efatura"))
    assert validate(data).failed_rules("gib") == ref


# ----------------------------------------------------------------- CLI

def test_cli_on_envelopes(tmp_path: Path) -> None:
    good = tmp_path / "zarf.xml"
    good.write_bytes(envelope([_invoice()]))
    bad = tmp_path / "zarf-bad.xml"
    bad.write_bytes(envelope([_invoice()], sender=("urn:mail:defaultgb@ornek.com.tr", "1111111111")))
    broken = tmp_path / "zarf-broken.xml"
    broken.write_bytes(envelope([_invoice()])[:-30])
    runner = CliRunner()
    res = runner.invoke(cli, ["validate", str(good)])
    assert res.exit_code == 0, res.output
    assert "[Envelope / efatura]" in res.output
    res = runner.invoke(cli, ["validate", "--format", "json", str(bad)])
    assert res.exit_code == 1, res.output
    out = json.loads(res.output)
    out = out[0] if isinstance(out, list) else out
    assert out["document"] == "Envelope" and out["profile"] is None and out["type_code"] is None
    assert out["schematron_type"] == "efatura" and not out["valid"]
    assert "DocumentSenderCheck-1" in {f["rule"] for f in out["findings"]}
    res = runner.invoke(cli, ["validate", str(broken)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert runner.invoke(cli, ["validate", "-q", str(good), str(bad)]).exit_code == 1
    assert runner.invoke(cli, ["validate", "--earchive", str(good)]).exit_code == 1
