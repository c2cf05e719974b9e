"""Hypothesis strategies for property-based tests of e-invoice code (public API).

>>> from hypothesis import given
>>> from ubltr.testing import invoices
>>> @given(invoices(profiles=["TEMELFATURA"], types=["SATIS"]))
... def test_payable_never_negative(inv):
...     from ubltr.calc import compute
...     assert compute(inv).payable >= 0

:func:`invoice_dicts` yields neutral-invoice dicts (the JSON contract);
:func:`invoices` yields the loaded :class:`~ubltr.model.Invoice`.  Every generated
invoice is accepted by :func:`ubltr.model.load` and builds to XML that passes GİB's
XSD and schematron (ubltr's own test-suite checks this with GİB's rules through
saxonche).  Amounts are decimal strings; nothing goes through ``float``.
"""

from __future__ import annotations

import datetime as _dt
import string
import uuid as _uuid
from decimal import Decimal
from typing import Any, Iterable

try:
    from hypothesis import strategies as st
except ImportError as _exc:  # the 'testing' extra
    raise ImportError(
        "ubltr.testing needs Hypothesis, which ubltr does not install by default: "
        "pip install 'ubltr[testing]'"
    ) from _exc

from . import codes
from .model import Invoice, load

__all__ = ["invoice_dicts", "invoices", "vkns", "tckns", "amounts", "make_test_seal", "SUPPORTED"]

#: profile → the invoice types the strategies generate for it
SUPPORTED: dict[str, tuple[str, ...]] = {
    "TEMELFATURA": ("SATIS", "IADE", "TEVKIFAT", "TEVKIFATIADE", "ISTISNA", "OZELMATRAH", "IHRACKAYITLI", "SGK",
                    "KOMISYONCU", "KONAKLAMAVERGISI"),
    "TICARIFATURA": ("SATIS", "TEVKIFAT", "ISTISNA", "OZELMATRAH", "IHRACKAYITLI", "SGK"),
    "EARSIVFATURA": ("SATIS", "IADE", "TEVKIFAT", "TEVKIFATIADE", "ISTISNA", "OZELMATRAH", "IHRACKAYITLI", "SGK"),
    "KAMU": ("SATIS", "IADE", "TEVKIFAT", "TEVKIFATIADE", "ISTISNA", "OZELMATRAH", "IHRACKAYITLI", "SGK"),
    "IHRACAT": ("ISTISNA",),
    "YOLCUBERABERFATURA": ("ISTISNA",),
    "OZELFATURA": ("ISTISNA",),
    "HKS": ("HKSSATIS",),
    "ILAC_TIBBICIHAZ": ("SATIS", "ISTISNA", "TEVKIFAT"),
    "IDIS": ("SATIS", "ISTISNA"),
}
_PLAIN_SALE = {"SATIS", "KOMISYONCU", "KONAKLAMAVERGISI", "HKSSATIS"}

_UNITS = ("C62", "KGM", "LTR", "MTR", "HUR", "DAY", "MON", "KWH", "MTK", "SET")
_CURRENCIES = ("USD", "EUR", "GBP", "CHF")
_KDV_RATES = ("1", "10", "20")
_GTB = {"vkn": "1460415308", "name": "Gümrük ve Ticaret Bakanlığı Gümrükler Genel Müdürlüğü",
        "tax_office": "Ulus", "address": {"district": "Ulus", "city": "Ankara"}}
_GTB_TYPES = {"IHRACAT", "YOLCUBERABERFATURA"}

# printable text with Turkish letters and XML-special characters, no control characters
_TEXT_ALPHABET = string.ascii_letters + string.digits + " çğıöşüÇĞİÖŞÜ&<>\"'.,-/()%"


def _text(min_size: int = 1, max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(alphabet=_TEXT_ALPHABET, min_size=min_size, max_size=max_size).filter(lambda s: s.strip() != "")


def _checksum_vkn(first9: str) -> str:
    total = 0
    for i, c in enumerate(first9):
        tmp = (int(c) + 9 - i) % 10
        v = 0 if tmp == 0 else (tmp * 2 ** (9 - i)) % 9 or 9
        total += v
    return first9 + str((10 - total % 10) % 10)


def vkns() -> st.SearchStrategy[str]:
    """Checksum-valid 10-digit VKNs."""
    return st.text(alphabet=string.digits, min_size=9, max_size=9).map(_checksum_vkn)


def _checksum_tckn(first9: str) -> str:
    d = [int(c) for c in first9]
    d10 = (sum(d[0:9:2]) * 7 - sum(d[1:8:2])) % 10
    d11 = (sum(d) + d10) % 10
    return first9 + str(d10) + str(d11)


def tckns() -> st.SearchStrategy[str]:
    """Checksum-valid 11-digit TCKNs."""
    return st.builds(lambda a, rest: a + rest, st.sampled_from("123456789"),
                     st.text(alphabet=string.digits, min_size=8, max_size=8)).map(_checksum_tckn)


def amounts(min_value: str = "0.01", max_value: str = "1000000", places: int = 2) -> st.SearchStrategy[str]:
    """Decimal strings with at most ``places`` decimals."""
    return st.decimals(min_value=Decimal(min_value), max_value=Decimal(max_value), places=places,
                       allow_nan=False, allow_infinity=False).map(lambda d: format(d, "f"))


def _address(foreign: bool = False) -> st.SearchStrategy[dict]:
    required: dict[str, st.SearchStrategy] = {"district": _text(2, 20), "city": _text(2, 20)}
    if foreign:
        required["country_code"] = st.sampled_from(["DE", "GB", "FR", "US", "NL"])
        required["country"] = _text(3, 15)
    return st.fixed_dictionaries(required, optional={
        "street": _text(2, 30),
        "building_number": st.integers(1, 999).map(str),
        "postal_code": st.integers(1000, 81999).map(lambda n: f"{n:05d}"),
    })


def _company() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"vkn": vkns(), "name": _text(3, 40), "address": _address()},
        optional={"tax_office": _text(3, 20), "email": st.just("fatura@example.com.tr"),
                  "phone": st.just("+90 212 000 00 00")})


def _person() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"tckn": tckns(), "first_name": _text(2, 15), "last_name": _text(2, 15), "address": _address()})


@st.composite
def _line(draw, type_: str, profile: str, allow_withholding: bool) -> dict:
    qty = draw(amounts("1", "10000", places=3))
    line: dict[str, Any] = {
        "name": draw(_text(1, 40)),
        "quantity": qty,
        "unit": draw(st.sampled_from(_UNITS)),
        "unit_price": draw(amounts("10", "100000", places=draw(st.sampled_from([2, 4])))),
    }
    if draw(st.booleans()):
        line["description"] = draw(_text(1, 40))
    if draw(st.integers(0, 4)) == 0:
        line["allowances"] = [draw(st.one_of(
            st.fixed_dictionaries({"rate": amounts("1", "50", places=0)}, optional={"reason": _text(2, 20)})))]
    exempt = type_ in {"ISTISNA", "IHRACKAYITLI", "OZELMATRAH"} or profile in _GTB_TYPES
    if exempt:
        code = {"ISTISNA": "213", "IHRACKAYITLI": "701", "OZELMATRAH": "805"}[type_]
        if profile == "IHRACAT":
            code = "301"
        elif profile == "YOLCUBERABERFATURA":
            code = "322"
        line["taxes"] = [{"code": "0015", "percent": "0"}]
        line["exemption"] = {"code": code, "reason": draw(_text(3, 40))}
    else:
        taxes = [{"code": "0015", "percent": draw(st.sampled_from(_KDV_RATES))}]
        if type_ in _PLAIN_SALE and draw(st.integers(0, 5)) == 0:
            taxes.insert(0, draw(st.one_of(
                st.just({"code": "0077", "percent": "25"}),
                st.just({"code": "4080", "percent": "10"}),
                st.builds(lambda a: {"code": "0071", "amount": a}, amounts("0.10", "20", places=2)),
            )))
        line["taxes"] = taxes
        if allow_withholding and (type_ in {"TEVKIFAT", "TEVKIFATIADE"}):
            pct = codes.withholding_percents()
            code = draw(st.sampled_from(sorted(c for c in pct if c.startswith("6") and c in codes.withholding_codes())))
            line["withholding"] = {"code": code, "percent": format(draw(st.sampled_from(sorted(pct[code]))), "f")}
    if profile == "HKS":
        line["item_ids"] = {"KUNYENO": draw(st.text(alphabet=string.digits, min_size=19, max_size=19))}
    if profile == "ILAC_TIBBICIHAZ":
        line["item_ids"] = {draw(st.sampled_from(["ILAC", "TIBBICIHAZ"])): draw(st.text(alphabet=string.digits, min_size=8, max_size=14))}
    if profile == "IDIS":
        line["item_ids"] = {"ETIKETNO": draw(st.sampled_from(["AB", "XY", "KL"])) + draw(st.text(alphabet=string.digits, min_size=7, max_size=7))}
    if profile == "IHRACAT":
        line["delivery"] = {"gtip": draw(st.text(alphabet=string.digits, min_size=12, max_size=12)),
                            "package": {"kind": draw(st.sampled_from(["BX", "CT", "PK", "PX"])),
                                        "count": str(draw(st.integers(1, 50)))}}
    return line


@st.composite
def invoice_dicts(draw, profiles: Iterable[str] | None = None, types: Iterable[str] | None = None,
                  max_lines: int = 5, currencies: bool = True) -> dict:
    """Valid neutral-invoice dicts across GİB profiles, types, taxes and currencies."""
    pool = [(p, t) for p, ts in SUPPORTED.items() for t in ts
            if (profiles is None or p in set(profiles)) and (types is None or t in set(types))]
    if not pool:
        raise ValueError("no supported profile × type matches the filter")
    profile, type_ = draw(st.sampled_from(pool))
    year = draw(st.integers(2020, _dt.date.today().year - 1))  # GİB refuses future dates (TimeCheck-1)
    issue_date = f"{year}-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}"
    d: dict[str, Any] = {
        "profile": profile, "type": type_,
        "id": draw(st.sampled_from(["ABC", "XYZ", "GIB", "A1B"])) + f"{year}{draw(st.integers(1, 999_999_999)):09d}",
        "uuid": str(_uuid.UUID(int=draw(st.integers(0, 2 ** 128 - 1)), version=4)),
        "issue_date": issue_date,
        "supplier": draw(_company()),
        "customer": draw(_person() if profile == "EARSIVFATURA" and draw(st.booleans()) else _company()),
    }
    if draw(st.booleans()):
        d["issue_time"] = f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}:{draw(st.integers(0, 59)):02d}"
    if draw(st.booleans()):
        d["notes"] = draw(st.lists(_text(1, 60), min_size=1, max_size=2).filter(
            lambda ns: not any(n.startswith("Yalnız ") for n in ns)))
    if currencies and profile not in {"KAMU"} and draw(st.integers(0, 3)) == 0:
        d["currency"] = draw(st.sampled_from(_CURRENCIES))
        d["exchange_rate"] = draw(amounts("0.5", "60", places=4))
    d["lines"] = draw(st.lists(_line(type_, profile, True), min_size=1, max_size=max_lines))
    if type_ in {"TEVKIFAT", "TEVKIFATIADE"} and not any("withholding" in ln for ln in d["lines"]):
        d["lines"][0] = draw(_line(type_, profile, True))
    if type_ in {"IADE", "TEVKIFATIADE"}:
        d["billing_references"] = [{"id": "ABC" + f"{year}{draw(st.integers(1, 10**8)):09d}", "issue_date": issue_date}]
    if draw(st.integers(0, 4)) == 0:
        d["allowances"] = [{"reason": draw(_text(2, 20)), "rate": draw(amounts("1", "10", places=0))}]
    if draw(st.integers(0, 6)) == 0:
        d["charges"] = [{"reason": draw(_text(2, 20)), "amount": draw(amounts("0.01", "100"))}]
    if profile == "EARSIVFATURA":
        d["earchive"] = {"send_type": draw(st.sampled_from(["ELEKTRONIK", "KAGIT"]))}
        if draw(st.booleans()):
            d["earchive"]["internet_sale"] = {
                "web_address": "https://shop.example.com.tr",
                "payment_type": draw(st.sampled_from(["KREDIKARTI/BANKAKARTI", "EFT/HAVALE", "KAPIDAODEME", "ODEMEARACISI", "DIGER"])),
                "payment_date": issue_date,
            }
    if profile == "KAMU":
        d["buyer_customer"] = draw(_company())
        d["payment"] = {"means_code": "42", "iban": "TR330006100519786457841326"}
    if profile == "IDIS":
        d["supplier"].setdefault("ids", {})["SEVKIYATNO"] = draw(st.sampled_from(["SE-", "ES-"])) + draw(st.text(alphabet=string.digits, min_size=7, max_size=7))
    if profile in _GTB_TYPES:
        d["customer"] = dict(_GTB)
        d["supplier"]["tax_office"] = d["supplier"].get("tax_office") or "Kadıköy"
    if profile == "IHRACAT":
        d["buyer_customer"] = {"name": draw(_text(3, 30)), "address": draw(_address(foreign=True))}
        d["delivery"] = {"incoterms": draw(st.sampled_from(sorted(codes.incoterms()))),
                         "transport_mode": draw(st.sampled_from(["1", "2", "3", "4"])),
                         "address": draw(_address(foreign=True))}
    if profile == "YOLCUBERABERFATURA":
        d["buyer_customer"] = {"first_name": draw(_text(2, 15)), "last_name": draw(_text(2, 15)),
                               "ids": {"PASAPORTNO": "P" + str(draw(st.integers(1000000, 9999999)))},
                               "address": draw(_address(foreign=True))}
        d["tax_representative"] = {"vkn": draw(vkns()), "name": draw(_text(3, 30)),
                                   "alias": "urn:mail:taxfree@araci.example",
                                   "address": draw(_address())}
    return d


def invoices(**kwargs: Any) -> st.SearchStrategy[Invoice]:
    """:func:`invoice_dicts`, loaded into :class:`~ubltr.model.Invoice`."""
    return invoice_dicts(**kwargs).map(load)


def make_test_seal(vkn: str = "1234567890", name: str = "Örnek Yazılım A.Ş.",
                   valid_days: int = 365):
    """A throwaway CA and a company-seal (mali mühür) certificate for tests:
    returns ``(private_key, [seal_certificate, ca_certificate])``, ready for
    :func:`ubltr.sign.sign`.  The seal carries the VKN in its subject serialNumber,
    as Turkish seals do.  Never use it for real documents."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ubltr test CA"),
                         x509.NameAttribute(NameOID.COUNTRY_NAME, "TR")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + dt.timedelta(days=valid_days))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.SERIAL_NUMBER, vkn),
                         x509.NameAttribute(NameOID.COUNTRY_NAME, "TR")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=valid_days))
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(ca_key, hashes.SHA256()))
    return key, [cert, ca]
