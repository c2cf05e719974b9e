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

__all__ = ["invoice_dicts", "invoices", "tax_edge_invoice_dicts", "tax_edge_invoices", "vkns", "tckns", "amounts",
           "make_test_seal", "SUPPORTED"]
__all__ += ["despatch_dicts", "despatches", "receipt_dicts", "receipts", "turkish_plates", "foreign_plates"]  # e-İrsaliye, at the end

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
        "room": st.integers(1, 99).map(str),
        "block_name": st.sampled_from(["A", "B", "C1"]),
        "building_name": _text(2, 20),
        "region": _text(2, 20),
    })


def _company() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"vkn": vkns(), "name": _text(3, 40), "address": _address()},
        optional={"tax_office": _text(3, 20), "email": st.just("fatura@example.com.tr"),
                  "phone": st.just("+90 212 000 00 00"), "fax": st.just("+90 212 000 00 01")})


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
    if draw(st.integers(0, 5)) == 0:
        line["notes"] = draw(st.lists(_text(1, 40), min_size=1, max_size=2))
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


# ---------------------------------------------------------------- tax edge cases

#: exchange rates with one decimal: a payable with an odd kuruş times one of these
#: ends in half a kuruş (the TRY equivalent's rounding point at a tie)
_TIE_RATES = ("0.5", "1.5", "2.5", "34.5")


def _tie_price(draw) -> str:
    """A unit price with a third decimal 5: quantity 1 × price is a half-kuruş tie."""
    return str(Decimal(draw(st.integers(1000, 10**6)) * 10 + 5) / 1000)


def _line_acs(draw, percent_only: bool = False) -> list[dict]:
    """One or two line allowances/charges, by rate or by amount."""
    out = []
    for _ in range(draw(st.integers(1, 2))):
        if percent_only or draw(st.booleans()):
            out.append({"rate": draw(st.sampled_from(["5", "10", "12.5", "20", "25", "50"]))})
        else:
            out.append({"amount": draw(amounts("0.01", "5"))})
    return out


@st.composite
def tax_edge_invoice_dicts(draw, profiles: Iterable[str] | None = None, types: Iterable[str] | None = None,
                           max_lines: int = 5, currencies: bool = True) -> dict:
    """Valid neutral-invoice dicts aimed at the tax engine's edges, on purpose rather
    than by luck: amounts on an exact half-kuruş tie at the line base, line net, line
    allowance, KDV and TRY-equivalent rounding points; line charges and allowances by
    rate and by amount; lines with a 100 % discount (net 0, KDV 0, exemption 351);
    document allowances and charges by rate and by amount (spread over the lines);
    a payable rounding amount; exchange rates that put the TRY equivalent on a tie.

    Built on :func:`invoice_dicts` (same profiles, types and filters), so every
    generated invoice is still accepted by :func:`ubltr.model.load`."""
    d = draw(invoice_dicts(profiles=profiles, types=types, max_lines=max_lines, currencies=currencies))
    type_ = d["type"]
    for i, ln in enumerate(d["lines"]):
        kdv = next(t for t in ln["taxes"] if t["code"] == "0015")
        exempt = "exemption" in ln or kdv.get("percent") in (None, "0")
        kind = draw(st.sampled_from(["keep", "tie", "kdv-tie", "acs", "tie-acs", "zero"]))
        if kind in ("tie", "tie-acs"):
            ln["quantity"], ln["unit_price"] = "1", _tie_price(draw)
            ln.pop("allowances", None)
        if kind == "kdv-tie" and not exempt:
            # net x.x5 at 10 %: the KDV is y.yy5 before rounding
            ln["quantity"] = "1"
            ln["unit_price"] = str(Decimal(draw(st.integers(100, 10**6)) * 10 + 5) / 100)
            ln.pop("allowances", None)
            kdv["percent"] = "10"
        if kind in ("acs", "tie-acs"):
            ln["allowances"] = _line_acs(draw, percent_only=True)[:1]
            if draw(st.booleans()):
                ln["charges"] = _line_acs(draw)
        if kind == "zero" and i > 0 and "withholding" not in ln and type_ in _PLAIN_SALE | {"SATIS"}:
            ln["allowances"] = [{"rate": "100", "reason": "Promosyon"}]
            ln.pop("charges", None)
            ln["taxes"] = [t for t in ln["taxes"] if t["code"] == "0015"]
            if not exempt:
                ln["exemption"] = {"code": "351", "reason": "Bedelsiz teslim"}
    if draw(st.integers(0, 2)) == 0:
        d["allowances"] = [draw(st.one_of(
            st.fixed_dictionaries({"rate": st.sampled_from(["1", "2.5", "5", "10"])}),
            st.fixed_dictionaries({"amount": amounts("0.01", "1")})))]
    if draw(st.integers(0, 2)) == 0:
        d["charges"] = [draw(st.one_of(
            st.fixed_dictionaries({"rate": st.sampled_from(["1", "2.5", "5", "10"])}),
            st.fixed_dictionaries({"amount": amounts("0.01", "100")})))]
    if draw(st.integers(0, 3)) == 0:
        d["rounding"] = draw(st.sampled_from(["0.01", "-0.01", "0.49", "-0.49"]))
    if "currency" in d and draw(st.booleans()):
        d["exchange_rate"] = draw(st.sampled_from(_TIE_RATES))
    return d


def tax_edge_invoices(**kwargs: Any) -> st.SearchStrategy[Invoice]:
    """:func:`tax_edge_invoice_dicts`, loaded into :class:`~ubltr.model.Invoice`."""
    return tax_edge_invoice_dicts(**kwargs).map(load)


def make_test_seal(vkn: str = "1234567890", name: str = "Örnek Yazılım A.Ş.",
                   valid_days: int = 365):
    """A throwaway CA and a company-seal (mali mühür) certificate for tests:
    returns ``(private_key, [seal_certificate, ca_certificate])``, ready for
    :func:`ubltr.signing.sign`.  The seal carries the VKN in its subject serialNumber,
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


# =========================================================================== e-İrsaliye
# Despatch advices and receipt advices (issue #14).  Kept apart from the invoice
# strategies above; every generated document is accepted by ubltr.despatch's loader and
# builds to XML that GİB's XSD and schematron accept (tests/test_despatch_properties.py
# checks this with GİB's rules through saxonche).


def _time_text() -> st.SearchStrategy[str]:
    return st.builds(lambda h, m, s: f"{h:02d}:{m:02d}:{s:02d}", st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))


def _date_text(min_year: int = 2020) -> st.SearchStrategy[str]:
    return st.builds(lambda y, m, d: f"{y}-{m:02d}-{d:02d}",
                     st.integers(min_year, _dt.date.today().year - 1), st.integers(1, 12), st.integers(1, 28))


def turkish_plates() -> st.SearchStrategy[str]:
    """Plates GİB's 20260701 rules accept for PLAKA / DORSEPLAKA: province 01-81, capital
    letters, digits (``34ABC123``)."""
    return st.builds(lambda p, letters, digits: f"{p:02d}{letters}{digits}", st.integers(1, 81),
                     st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=3),
                     st.integers(1, 99999).map(str))


def foreign_plates() -> st.SearchStrategy[str]:
    """Plates for YABANCIPLAKA / YABANCIDORSEPLAKA: capital letters, digits, '-' and '_'."""
    return st.text(alphabet=string.ascii_uppercase + string.digits + "-_", min_size=1, max_size=12)


def _vehicle_plate() -> st.SearchStrategy[dict]:
    return st.one_of(st.builds(lambda p: {"id": p, "scheme": "PLAKA"}, turkish_plates()),
                     st.builds(lambda p: {"id": p}, turkish_plates()),
                     st.builds(lambda p: {"id": p, "scheme": "YABANCIPLAKA"}, foreign_plates()))


def _trailer_plate() -> st.SearchStrategy[dict]:
    return st.one_of(st.builds(lambda p, s: {"id": p, "scheme": s}, turkish_plates(), st.sampled_from(["DORSEPLAKA", "DORSE"])),
                     st.builds(lambda p, s: {"id": p, "scheme": s}, foreign_plates(),
                               st.sampled_from(["YABANCIDORSEPLAKA", "YABANCIDORSE"])))


def _driver() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"first_name": _text(2, 15), "last_name": _text(2, 15),
         "nationality_id": st.one_of(tckns(), st.text(alphabet=string.ascii_uppercase + string.digits, min_size=5, max_size=12))},
        optional={"title": st.just("Şoför")})


def _delivery_address() -> st.SearchStrategy[dict]:
    return st.builds(lambda a, pc: {**a, "postal_code": f"{pc:05d}"}, _address(), st.integers(1000, 81999))


def _party_for_despatch() -> st.SearchStrategy[dict]:
    return st.one_of(_company(), _person())


def _quantity(min_value: str = "0") -> st.SearchStrategy[str]:
    return amounts(min_value, "100000", places=3)


@st.composite
def _despatch_line(draw, profile: str) -> dict:
    line: dict[str, Any] = {"name": draw(_text(1, 40)), "quantity": draw(_quantity()),
                            "unit": draw(st.sampled_from(_UNITS))}
    if draw(st.integers(0, 3)) == 0:  # partial delivery
        line["outstanding_quantity"] = draw(_quantity("0.001"))
        if draw(st.booleans()):
            line["outstanding_reason"] = draw(_text(2, 40))
    if draw(st.integers(0, 5)) == 0:
        line["oversupply_quantity"] = draw(_quantity("0.001"))
    for key in ("description", "brand", "model", "seller_code", "buyer_code", "manufacturer_code", "order_line_id"):
        if draw(st.integers(0, 3)) == 0:
            line[key] = draw(_text(1, 20))
    if draw(st.integers(0, 4)) == 0:
        line["notes"] = draw(st.lists(_text(1, 40), min_size=1, max_size=2))
    if profile == "HKSIRSALIYE":
        line["item_ids"] = {"KUNYENO": draw(st.text(alphabet=string.digits, min_size=19, max_size=19))}
    if profile == "IDISIRSALIYE":
        labels = draw(st.lists(st.builds(lambda a, n: a + n, st.sampled_from(["AB", "XY", "kl"]),
                                         st.text(alphabet=string.digits, min_size=7, max_size=7)), min_size=1, max_size=3))
        line["item_ids"] = {"ETIKETNO": labels if len(labels) > 1 or draw(st.booleans()) else labels[0]}
    return line


@st.composite
def despatch_dicts(draw, profiles: Iterable[str] | None = None, types: Iterable[str] | None = None,
                   max_lines: int = 4) -> dict:
    """Valid neutral despatch-advice dicts (``"document": "despatch"``) across GİB's
    profiles (TEMELIRSALIYE, HKSIRSALIYE, IDISIRSALIYE) and types (SEVK, MATBUDAN):
    several drivers, Turkish and foreign vehicle / trailer plates of every scheme,
    carrier with or without drivers, partial deliveries, optional parties."""
    from .despatch import DESPATCH_PROFILES, DESPATCH_TYPES

    profile = draw(st.sampled_from([p for p in DESPATCH_PROFILES if profiles is None or p in set(profiles)]))
    type_ = draw(st.sampled_from([t for t in DESPATCH_TYPES if types is None or t in set(types)]))
    issue_date = draw(_date_text())
    year = issue_date[:4]
    shipment: dict[str, Any] = {"despatch_date": draw(_date_text()), "despatch_time": draw(_time_text()),
                                "delivery_address": draw(_delivery_address())}
    who = draw(st.sampled_from(["carrier", "drivers", "both"]))
    if who in ("carrier", "both"):
        shipment["carrier"] = draw(_party_for_despatch())
    if who in ("drivers", "both"):
        shipment["drivers"] = draw(st.lists(_driver(), min_size=1, max_size=3))
        shipment["vehicle_plates"] = draw(st.lists(_vehicle_plate(), min_size=1, max_size=2))
    elif draw(st.booleans()):
        shipment["vehicle_plates"] = draw(st.lists(_vehicle_plate(), min_size=1, max_size=2))
    if draw(st.booleans()):
        shipment["trailer_plates"] = draw(st.lists(_trailer_plate(), min_size=1, max_size=2))
    if draw(st.booleans()):
        shipment["goods_value"] = draw(amounts("0", "10000000"))
        if draw(st.integers(0, 3)) == 0:
            shipment["currency"] = draw(st.sampled_from(_CURRENCIES))
    if draw(st.integers(0, 3)) == 0:
        shipment["id"] = draw(_text(1, 12))
    d: dict[str, Any] = {
        "document": "despatch", "profile": profile, "type": type_,
        "id": draw(st.sampled_from(["IRS", "ABC", "E1R"])) + f"{year}{draw(st.integers(1, 999_999_999)):09d}",
        "uuid": str(_uuid.UUID(int=draw(st.integers(0, 2 ** 128 - 1)), version=4)),
        "issue_date": issue_date, "issue_time": draw(_time_text()),
        "supplier": draw(_company()), "customer": draw(_party_for_despatch()),
        "shipment": shipment,
        "lines": draw(st.lists(_despatch_line(profile), min_size=1, max_size=max_lines)),
    }
    if draw(st.integers(0, 3)) == 0:  # the sender's own line numbers
        for i, ln in enumerate(d["lines"], 1):
            ln["id"] = str(i * draw(st.sampled_from([1, 10, 100])))
    for key in ("buyer", "seller", "originator"):
        if draw(st.integers(0, 4)) == 0:
            d[key] = draw(_party_for_despatch())
    for key in ("supplier_contact", "customer_contact"):
        if draw(st.integers(0, 3)) == 0:
            d[key] = draw(_text(2, 20))
    if draw(st.booleans()):
        d["notes"] = draw(st.lists(_text(1, 60), min_size=1, max_size=2))
    if draw(st.booleans()):
        d["order_references"] = [{"id": draw(_text(1, 16)), "issue_date": draw(_date_text())}]
    if type_ == "MATBUDAN" or draw(st.integers(0, 4)) == 0:
        d["additional_references"] = [draw(st.fixed_dictionaries(
            {"id": _text(1, 16), "issue_date": _date_text()},
            optional={"type": _text(2, 20), "description": _text(2, 30)}))]
    if profile == "IDISIRSALIYE":
        d["supplier"].setdefault("ids", {})["SEVKIYATNO"] = draw(st.sampled_from(["SE-", "ES-"])) + draw(
            st.text(alphabet=string.digits, min_size=7, max_size=7))
    return d


def despatches(**kwargs: Any) -> st.SearchStrategy[Any]:
    """:func:`despatch_dicts`, loaded into :class:`~ubltr.despatch.Despatch`."""
    from .despatch import load_despatch

    return despatch_dicts(**kwargs).map(load_despatch)


@st.composite
def _receipt_line(draw) -> dict:
    keys = draw(st.lists(st.sampled_from(["received_quantity", "rejected_quantity", "short_quantity",
                                          "oversupply_quantity"]), min_size=1, max_size=4, unique=True))
    line: dict[str, Any] = {"name": draw(_text(1, 40)), "unit": draw(st.sampled_from(_UNITS))}
    for k in keys:
        line[k] = draw(_quantity())
    if "rejected_quantity" in line and draw(st.booleans()):
        line["reject_reason"] = draw(_text(2, 40))
    for key in ("timing_complaint", "order_line_id", "despatch_line_id", "seller_code", "buyer_code"):
        if draw(st.integers(0, 3)) == 0:
            line[key] = draw(_text(1, 20))
    if draw(st.integers(0, 4)) == 0:
        line["notes"] = draw(st.lists(_text(1, 40), min_size=1, max_size=2))
    return line


@st.composite
def receipt_dicts(draw, max_lines: int = 4) -> dict:
    """Valid neutral receipt-advice dicts (``"document": "receipt"``): received,
    rejected, short and over-delivered quantities per line."""
    issue_date = draw(_date_text())
    d: dict[str, Any] = {
        "document": "receipt",
        "id": draw(st.sampled_from(["IRY", "ABC"])) + f"{issue_date[:4]}{draw(st.integers(1, 999_999_999)):09d}",
        "uuid": str(_uuid.UUID(int=draw(st.integers(0, 2 ** 128 - 1)), version=4)),
        "issue_date": issue_date,
        "despatch": draw(st.fixed_dictionaries(
            {"uuid": st.builds(lambda n: str(_uuid.UUID(int=n, version=4)), st.integers(0, 2 ** 128 - 1)),
             "issue_date": _date_text()},
            optional={"id": st.builds(lambda y, n: f"IRS{y}{n:09d}", st.integers(2020, 2025), st.integers(1, 10 ** 9 - 1))})),
        "supplier": draw(_company()), "customer": draw(_party_for_despatch()),
        "lines": draw(st.lists(_receipt_line(), min_size=1, max_size=max_lines)),
    }
    if draw(st.booleans()):
        d["profile"] = draw(st.sampled_from(["TEMELIRSALIYE", "HKSIRSALIYE", "IDISIRSALIYE"]))
    if draw(st.booleans()):
        d["issue_time"] = draw(_time_text())
    if draw(st.booleans()):
        d["delivery_date"] = draw(_date_text())
        if draw(st.booleans()):
            d["delivery_time"] = draw(_time_text())
    for key in ("buyer", "seller"):
        if draw(st.integers(0, 4)) == 0:
            d[key] = draw(_party_for_despatch())
    if draw(st.booleans()):
        d["notes"] = draw(st.lists(_text(1, 60), min_size=1, max_size=2))
    if draw(st.booleans()):
        d["order_references"] = [{"id": draw(_text(1, 16)), "issue_date": draw(_date_text())}]
    if draw(st.integers(0, 3)) == 0:
        for i, ln in enumerate(d["lines"], 1):
            ln["id"] = f"{i}.{draw(st.integers(0, 9))}" if draw(st.booleans()) else str(i * 10)
    return d


def receipts(**kwargs: Any) -> st.SearchStrategy[Any]:
    """:func:`receipt_dicts`, loaded into :class:`~ubltr.despatch.Receipt`."""
    from .despatch import load_receipt

    return receipt_dicts(**kwargs).map(load_receipt)
