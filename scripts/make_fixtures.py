"""Write fixtures/<PROFILE>-<TYPE>.json (one neutral example per supported profile × type)
and, next to each, the golden XML ubltr builds from it.

Run from the repository root after a deliberate change to the builder:
``python scripts/make_fixtures.py`` and review the diff of fixtures/.
tests/test_fixtures.py checks that every golden file is reproduced byte for byte and
passes GİB's XSD and schematron (saxonche).
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures"

SUPPLIER = {
    "vkn": "1234567890", "name": "Örnek Yazılım A.Ş.", "tax_office": "Kadıköy",
    "address": {"street": "Moda Cad.", "building_number": "12", "district": "Kadıköy",
                "city": "İstanbul", "postal_code": "34710"},
    "email": "fatura@ornek.com.tr", "phone": "+90 216 000 00 00",
    "ids": {"MERSISNO": "0123456789000015"},
}
CUSTOMER_COMPANY = {
    "vkn": "9876543217", "name": "Alıcı Ticaret Ltd. Şti.", "tax_office": "Çankaya",
    "address": {"street": "Atatürk Bulvarı", "building_number": "101", "district": "Çankaya", "city": "Ankara"},
}
CUSTOMER_PERSON = {
    "tckn": "10000000146", "first_name": "Ayşe", "last_name": "Yılmaz",
    "address": {"district": "Çankaya", "city": "Ankara"}, "email": "ayse@example.com",
}
GTB = {
    "vkn": "1460415308", "name": "Gümrük ve Ticaret Bakanlığı Gümrükler Genel Müdürlüğü - Bilgi İşlem Dairesi Başkanlığı",
    "tax_office": "Ulus", "address": {"district": "Ulus", "city": "Ankara"},
}
PUBLIC_BODY = {
    "vkn": "2222222224", "name": "T.C. Örnek Belediyesi", "tax_office": "Yenimahalle",
    "address": {"district": "Yenimahalle", "city": "Ankara"},
}

GOODS = {"name": "Dizüstü bilgisayar", "code": "NB-15", "brand": "Örnek", "model": "X15",
         "quantity": "2", "unit": "C62", "unit_price": "25000.00",
         "allowances": [{"rate": "5", "reason": "Kampanya indirimi"}],
         "taxes": [{"code": "0015", "percent": "20"}]}
BOOKS = {"name": "Kitap", "quantity": "3", "unit": "C62", "unit_price": "149.90",
         "taxes": [{"code": "0015", "percent": "10"}]}
SERVICE = {"name": "Temizlik hizmeti", "quantity": "1", "unit": "C62", "unit_price": "10000.00",
           "taxes": [{"code": "0015", "percent": "20"}], "withholding": {"code": "602"}}
BILLING = [{"id": "ABC2026000000042", "issue_date": "2026-11-02"}]


def exempt(line: dict, code: str, reason: str) -> dict:
    out = copy.deepcopy(line)
    out["taxes"] = [{"code": "0015", "percent": "0"}]
    out["exemption"] = {"code": code, "reason": reason}
    out.pop("withholding", None)
    return out


def doc(profile: str, type_: str, n: int) -> dict:
    customer = CUSTOMER_PERSON if profile == "EARSIVFATURA" else CUSTOMER_COMPANY
    d: dict = {
        "profile": profile, "type": type_,
        "id": f"ABC2026{n:09d}",
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ubltr-fixture-{profile}-{type_}")),
        "issue_date": "2026-11-20", "issue_time": "10:30:00",
        "notes": ["Fixture: " + f"{profile} / {type_}"],
        "supplier": copy.deepcopy(SUPPLIER), "customer": copy.deepcopy(customer),
        "lines": [copy.deepcopy(GOODS), copy.deepcopy(BOOKS)],
    }
    if type_ in {"IADE", "TEVKIFATIADE"}:
        d["billing_references"] = copy.deepcopy(BILLING)
    if type_ in {"TEVKIFAT", "TEVKIFATIADE"}:
        d["lines"] = [copy.deepcopy(SERVICE), copy.deepcopy(GOODS)]
    if type_ == "ISTISNA":
        d["lines"] = [exempt(GOODS, "213", "17/4-j Boru hattı ile yapılan petrol ve gaz taşımacılığı")]
    if type_ == "IHRACKAYITLI":
        d["lines"] = [exempt(GOODS, "701", "3065 s. KDV Kanunu 11/1-c md. kapsamında ihraç kaydıyla teslim")]
    if type_ == "OZELMATRAH":
        d["lines"] = [exempt(GOODS, "805", "Özel matrah: külçe altın, gümüş ve kıymetli taş teslimi")]
    if type_ == "SGK":
        d["lines"] = [copy.deepcopy(BOOKS)]
    if profile == "EARSIVFATURA":
        d["earchive"] = {"send_type": "ELEKTRONIK", "internet_sale": {
            "web_address": "https://magaza.ornek.com.tr", "payment_type": "KREDIKARTI/BANKAKARTI",
            "payment_date": "2026-11-20", "carrier": {"vkn": "3333333339", "name": "Örnek Kargo A.Ş."}}}
        if type_ in {"IADE", "TEVKIFATIADE"}:
            d["earchive"] = {"send_type": "KAGIT"}
    if profile == "KAMU":
        d["buyer_customer"] = copy.deepcopy(PUBLIC_BODY)
        d["payment"] = {"means_code": "42", "due_date": "2026-12-20",
                        "iban": "TR330006100519786457841326", "note": "Havale ile ödenecektir"}
    if profile == "IHRACAT":
        d["customer"] = copy.deepcopy(GTB)
        d["currency"] = "EUR"
        d["exchange_rate"] = "36.4512"
        d["buyer_customer"] = {"name": "Beispiel Handels GmbH",
                               "address": {"street": "Hauptstraße", "building_number": "5",
                                           "district": "Mitte", "city": "Berlin",
                                           "country": "Almanya", "country_code": "DE"}}
        d["delivery"] = {"incoterms": "FOB", "transport_mode": "1",
                         "address": {"district": "Mitte", "city": "Berlin", "country": "Almanya", "country_code": "DE"}}
        ln = exempt(GOODS, "301", "11/1-a Mal ihracatı")
        ln["unit_price"] = "700.00"
        ln["delivery"] = {"gtip": "847130000000", "package": {"kind": "BX", "count": "2"}}
        d["lines"] = [ln]
    if profile == "YOLCUBERABERFATURA":
        d["customer"] = copy.deepcopy(GTB)
        d["buyer_customer"] = {"first_name": "John", "last_name": "Smith",
                               "ids": {"PASAPORTNO": "P1234567"},
                               "address": {"district": "Westminster", "city": "London",
                                           "country": "Birleşik Krallık", "country_code": "GB"}}
        d["tax_representative"] = {"vkn": "4444444444", "name": "Tax Free Aracı Kurum A.Ş.",
                                   "alias": "urn:mail:taxfree@araci.com.tr",
                                   "address": {"district": "Şişli", "city": "İstanbul"}}
        d["lines"] = [exempt(GOODS, "322", "11/1-a Türkiye'de ikamet etmeyenlere özel fatura ile yapılan teslimler (Bavul Ticareti)")]
    if profile == "HKS":
        for i, ln in enumerate(d["lines"]):
            ln["item_ids"] = {"KUNYENO": f"{2026112000000000000 + i}"}
    if profile == "ILAC_TIBBICIHAZ":
        d["lines"][0]["item_ids"] = {"ILAC": "8699504090129"}
        d["lines"][1]["item_ids"] = {"TIBBICIHAZ": "TR-UTS-000123"}
    if profile == "IDIS":
        d["supplier"]["ids"]["SEVKIYATNO"] = "SE-0001234"
        for i, ln in enumerate(d["lines"]):
            ln["item_ids"] = {"ETIKETNO": f"AB{1234567 + i}"}
    if profile == "YATIRIMTESVIK":
        d["contract_reference"] = {"id": "123456", "issue_date": "2026-01-15", "scheme": "YTBNO"}
        d["lines"][0].update({"classification": "01", "product_trace_id": "PT-0001", "serial_id": "SN-0001"})
        d["lines"][1]["classification"] = "03"
    if profile == "ENERJI":
        d["customer"]["ids"] = {"PLAKA": "34ABC123"}
        d["invoice_period"] = {"start_date": "2026-11-19", "start_time": "21:10:00",
                               "end_date": "2026-11-19", "end_time": "22:05:30"}
        d["additional_references"] = [{"id": "0b7c9a52-4a1e-4f3e-9c55-2f0c5d7e8a91", "issue_date": "2026-11-19",
                                       "scheme": "ESURaporID"}]
        d["lines"] = [{"name": "DC hızlı şarj", "quantity": "42.5", "unit": "KWH", "unit_price": "8.75",
                       "taxes": [{"code": "0015", "percent": "20"}]}]
    if type_ == "TEKNOLOJIDESTEK":
        d["lines"] = [dict(copy.deepcopy(GOODS), name="Cep telefonu", item_ids={"TELEFON": "356938035643809"})]
        d["lines"][0].pop("allowances")
    return d


COMBOS = {
    "TEMELFATURA": ["SATIS", "IADE", "TEVKIFAT", "TEVKIFATIADE", "ISTISNA", "OZELMATRAH", "IHRACKAYITLI", "SGK"],
    "TICARIFATURA": ["SATIS", "TEVKIFAT", "ISTISNA", "OZELMATRAH", "IHRACKAYITLI", "SGK"],
    "EARSIVFATURA": ["SATIS", "IADE", "TEVKIFAT", "TEVKIFATIADE", "ISTISNA", "OZELMATRAH", "IHRACKAYITLI", "SGK"],
    "KAMU": ["SATIS", "IADE", "TEVKIFAT", "TEVKIFATIADE", "ISTISNA", "OZELMATRAH", "IHRACKAYITLI", "SGK"],
    "IHRACAT": ["ISTISNA"],
    "YOLCUBERABERFATURA": ["ISTISNA"],
    "OZELFATURA": ["ISTISNA"],
    "HKS": ["HKSSATIS"],
    "ENERJI": ["SARJ"],
    "ILAC_TIBBICIHAZ": ["SATIS"],
    "YATIRIMTESVIK": ["SATIS"],
    "IDIS": ["SATIS"],
}
# more types on the base profiles
EXTRA = [("EARSIVFATURA", "TEKNOLOJIDESTEK"), ("TEMELFATURA", "KOMISYONCU"), ("TEMELFATURA", "KONAKLAMAVERGISI")]


def all_docs() -> dict[str, dict]:
    out = {}
    n = 1
    pairs = [(p, t) for p, types in COMBOS.items() for t in types] + EXTRA
    for profile, type_ in pairs:
        out[f"{profile}-{type_}"] = doc(profile, type_, n)
        n += 1
    return out


def main() -> None:
    import sys

    sys.path.insert(0, str(ROOT))
    from ubltr.model import load
    from ubltr.render import build

    OUT.mkdir(exist_ok=True)
    for name, d in all_docs().items():
        (OUT / f"{name}.json").write_text(json.dumps(d, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        (OUT / f"{name}.xml").write_bytes(build(load(d)))
    print(f"wrote {len(all_docs())} fixtures to {OUT}")


if __name__ == "__main__":
    main()
