"""Write fixtures/despatch/<NAME>.json (neutral e-İrsaliye examples: every despatch
profile × type, the shapes a shipper meets (several drivers, foreign truck and trailer,
carrier without drivers, partial delivery) and receipt advices), and next to each the
golden XML ubltr builds from it.

Run from the repository root after a deliberate change to the builder:
``python scripts/make_despatch_fixtures.py`` and review the diff of fixtures/despatch/.
tests/test_despatch.py checks that every golden file is reproduced byte for byte and
that GİB's XSD and schematron (saxonche) find nothing in it.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures" / "despatch"

SUPPLIER = {
    "vkn": "1234567890", "name": "Örnek Yazılım A.Ş.", "tax_office": "Kadıköy",
    "address": {"street": "Moda Cad.", "building_number": "12", "district": "Kadıköy",
                "city": "İstanbul", "postal_code": "34710"},
    "email": "irsaliye@ornek.com.tr", "phone": "+90 216 000 00 00",
    "ids": {"MERSISNO": "0123456789000015"},
}
CUSTOMER = {
    "vkn": "9876543217", "name": "Alıcı Ticaret Ltd. Şti.", "tax_office": "Çankaya",
    "address": {"street": "Atatürk Bulvarı", "building_number": "101", "district": "Çankaya",
                "city": "Ankara", "postal_code": "06100"},
}
CUSTOMER_PERSON = {
    "tckn": "10000000146", "first_name": "Ayşe", "last_name": "Yılmaz",
    "address": {"district": "Çankaya", "city": "Ankara", "postal_code": "06690"},
}
CARRIER = {
    "vkn": "1288331525", "name": "Hızlı Lojistik A.Ş.",
    "address": {"district": "Osmancık", "city": "Çorum", "postal_code": "19500"},
}
DELIVERY_ADDRESS = {"street": "Sanayi Sitesi 4. Cadde", "building_number": "7", "district": "Yenimahalle",
                    "city": "Ankara", "postal_code": "06370"}
DRIVERS = [
    {"first_name": "Mehmet", "last_name": "Öztürk", "nationality_id": "14922266642", "title": "Şoför"},
    {"first_name": "Mustafa", "last_name": "Kaya", "nationality_id": "20000000046"},
]
LINES = [
    {"name": "Dizüstü bilgisayar", "quantity": "20", "unit": "C62", "seller_code": "NB-15",
     "brand": "Örnek", "model": "X15"},
    {"name": "Monitör kablosu", "quantity": "12.5", "unit": "MTR", "order_line_id": "7",
     "outstanding_quantity": "7.5", "outstanding_reason": "Stokta kalmadı, ikinci sevkiyatta gelecek",
     "notes": ["Kısmi teslimat"]},
]
HKS_LINES = [
    {"name": "Domates", "quantity": "1250", "unit": "KGM", "item_ids": {"KUNYENO": "2718281828459045235"}},
    {"name": "Salatalık", "quantity": "800.5", "unit": "KGM", "item_ids": {"KUNYENO": "3141592653589793238"}},
]
IDIS_LINES = [
    {"name": "Nervürlü inşaat demiri Ø12", "quantity": "24.150", "unit": "TNE",
     "item_ids": {"ETIKETNO": ["AB1234567", "AB1234568"]}},
    {"name": "Nervürlü inşaat demiri Ø16", "quantity": "12", "unit": "TNE",
     "item_ids": {"ETIKETNO": "AB7654321"}},
]


def _uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ubltr-despatch-fixture-{name}"))


def despatch(name: str, profile: str, type_: str, n: int) -> dict:
    d: dict = {
        "document": "despatch", "profile": profile, "type": type_,
        "id": f"IRS2026{n:09d}", "uuid": _uuid(name),
        "issue_date": "2026-11-20", "issue_time": "09:15:00",
        "notes": ["Mallar sağlam teslim edilmiştir."],
        "supplier": copy.deepcopy(SUPPLIER), "customer": copy.deepcopy(CUSTOMER),
        "supplier_contact": "Cemal Temiz",
        "order_references": [{"id": "SIP2026000000033", "issue_date": "2026-11-18"}],
        "shipment": {
            "despatch_date": "2026-11-20", "despatch_time": "10:00:00",
            "delivery_address": dict(DELIVERY_ADDRESS), "carrier": copy.deepcopy(CARRIER),
            "drivers": copy.deepcopy(DRIVERS),
            "vehicle_plates": [{"id": "06DR4077", "scheme": "PLAKA"}],
            "trailer_plates": [{"id": "06DR4088", "scheme": "DORSEPLAKA"}],
            "goods_value": "35200.00",
        },
        "lines": copy.deepcopy(LINES),
    }
    if type_ == "MATBUDAN":
        d["additional_references"] = [{"id": "A-123456", "issue_date": "2026-11-19",
                                       "type": "Matbu irsaliye", "description": "Kâğıt irsaliyenin e-İrsaliyesi"}]
    if profile == "HKSIRSALIYE":
        d["lines"] = copy.deepcopy(HKS_LINES)
    if profile == "IDISIRSALIYE":
        d["lines"] = copy.deepcopy(IDIS_LINES)
        d["supplier"]["ids"]["SEVKIYATNO"] = "SE-1234567"
    return d


def all_docs() -> dict[str, dict]:
    out: dict[str, dict] = {}
    n = 1
    for profile in ("TEMELIRSALIYE", "HKSIRSALIYE", "IDISIRSALIYE"):
        for type_ in ("SEVK", "MATBUDAN"):
            name = f"{profile}-{type_}"
            out[name] = despatch(name, profile, type_, n)
            n += 1
    # a foreign truck with a foreign trailer and a foreign driver, to a person (TCKN)
    d = despatch("TEMELIRSALIYE-SEVK-YABANCIPLAKA", "TEMELIRSALIYE", "SEVK", n)
    d["customer"] = copy.deepcopy(CUSTOMER_PERSON)
    d["shipment"]["vehicle_plates"] = [{"id": "B-AB-1234", "scheme": "YABANCIPLAKA"}]
    d["shipment"]["trailer_plates"] = [{"id": "WX_55123", "scheme": "YABANCIDORSEPLAKA"},
                                       {"id": "34TR5678", "scheme": "DORSE"}]
    d["shipment"]["drivers"] = [{"first_name": "Hans", "last_name": "Müller", "nationality_id": "C01X00T47"}]
    del d["shipment"]["carrier"]
    out["TEMELIRSALIYE-SEVK-YABANCIPLAKA"] = d
    n += 1
    # a carrier (kargo) and no driver: no plate needed
    d = despatch("TEMELIRSALIYE-SEVK-KARGO", "TEMELIRSALIYE", "SEVK", n)
    for k in ("drivers", "vehicle_plates", "trailer_plates", "goods_value"):
        del d["shipment"][k]
    d["buyer"] = copy.deepcopy(CUSTOMER_PERSON)
    d["seller"] = copy.deepcopy(SUPPLIER)
    d["originator"] = copy.deepcopy(CUSTOMER)
    out["TEMELIRSALIYE-SEVK-KARGO"] = d
    n += 1
    # two trucks (two ShipmentStages), the drivers in the first
    d = despatch("TEMELIRSALIYE-SEVK-IKIARAC", "TEMELIRSALIYE", "SEVK", n)
    d["shipment"]["vehicle_plates"].append({"id": "34ABC123"})
    out["TEMELIRSALIYE-SEVK-IKIARAC"] = d
    n += 1

    base_receipt = {
        "document": "receipt", "issue_date": "2026-11-21", "issue_time": "15:03:52",
        "despatch": {"uuid": _uuid("TEMELIRSALIYE-SEVK"), "id": "IRS2026000000001", "issue_date": "2026-11-20"},
        "supplier": copy.deepcopy(SUPPLIER), "customer": copy.deepcopy(CUSTOMER),
        "delivery_date": "2026-11-21", "delivery_time": "14:00:00",
        "order_references": [{"id": "SIP2026000000033", "issue_date": "2026-11-18"}],
    }
    r = copy.deepcopy(base_receipt)
    r.update(id="IRY2026000000001", uuid=_uuid("RECEIPT-KABUL"), notes=["Bütün ürünler kabul edildi."],
             lines=[{"name": "Dizüstü bilgisayar", "unit": "C62", "received_quantity": "20", "seller_code": "NB-15"},
                    {"name": "Monitör kablosu", "unit": "MTR", "received_quantity": "12.5", "order_line_id": "7"}])
    out["RECEIPT-KABUL"] = r
    r = copy.deepcopy(base_receipt)
    r.update(id="IRY2026000000002", uuid=_uuid("RECEIPT-KISMI"),
             lines=[{"name": "Dizüstü bilgisayar", "unit": "C62", "received_quantity": "17",
                     "rejected_quantity": "2", "reject_reason": "Ekranı kırık",
                     "short_quantity": "1", "notes": ["Bir koli eksik geldi"]},
                    {"name": "Monitör kablosu", "unit": "MTR", "received_quantity": "12.5",
                     "oversupply_quantity": "0.5", "timing_complaint": "Bir gün geç geldi"}])
    out["RECEIPT-KISMI"] = r
    return out


def main() -> None:
    from ubltr.despatch import load_document
    from ubltr.despatch_build import build_document

    OUT.mkdir(parents=True, exist_ok=True)
    for name, d in all_docs().items():
        (OUT / f"{name}.json").write_text(json.dumps(d, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        (OUT / f"{name}.xml").write_bytes(build_document(load_document(d)))
        print("wrote", name)


if __name__ == "__main__":
    main()
