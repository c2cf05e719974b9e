"""Regenerate ubltr/data/tax_names.json from GİB's code-list guide.

Source: ../shared/gib/docs/.../UBL-TR Kod Listeleri - V 1.18.txt ("VERGİ KODLARI LİSTESİ",
code / name / abbreviation).  Codes GİB added after that guide (present in GİB's
schematron TaxType list) take their names from the Nilvera code-list page mirrored in
../shared/provider-apis/nilvera/docs.  Run from the repository root:
``python scripts/gen_tax_names.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GIB = SHARED / "gib/docs/mirrored-by-izibiz/source/resource/BELGELER/UBL-TR Kod Listeleri - V 1.18.txt"
NILVERA = SHARED / "provider-apis/nilvera/docs/KOD LİSTELERİ _ Nilvera API v1.txt"


def gib_rows() -> dict[str, dict[str, str]]:
    text = GIB.read_text(encoding="utf-8")
    block = text[text.index("VERGİ KODLARI LİSTESİ\n"):]
    block = block[: block.index("TEVKİFAT KODLARI LİSTESİ")]
    rows: dict[str, dict[str, str]] = {}
    pending: list[str] = []
    for line in block.splitlines():
        m = re.match(r"^(\d{4})\s{2,}(.*?)\s{2,}(\S.*)$", line.strip())
        m2 = re.match(r"^(\d{4})\s{2,}(\S.*)$", line.strip())
        if m:
            rows[m.group(1)] = {"name": m.group(2).strip(), "short": m.group(3).strip()}
            pending = []
        elif m2 and pending:
            rows[m2.group(1)] = {"name": " ".join(pending), "short": m2.group(2).strip()}
            pending = []
        elif line.strip() and not line.strip().startswith(("UBL-TR", "Versiyon", "VERGİ", "KODU")):
            pending.append(line.strip())
    return rows


def nilvera_rows() -> dict[str, str]:
    text = NILVERA.read_text(encoding="utf-8")
    block = text[text.index("Vergi Kodları Listesi"): text.index("KDV Muafiyet Sebepleri")]
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^\s+(\d{4})\s{4,}(\S.*)$", block, re.M)}


def main() -> None:
    out: dict[str, dict[str, str]] = {}
    gib = gib_rows()
    nil = nilvera_rows()
    for code in sorted(set(gib) | set(nil)):
        if code in gib:
            out[code] = dict(gib[code])
            if not out[code]["name"]:  # wrapped over several lines in the guide
                out[code]["name"] = nil.get(code, out[code]["short"])
        else:
            out[code] = {"name": nil[code], "short": nil[code]}
    # The abbreviation GİB prints for 0015 is "KDV GERCEK"; every viewer and provider
    # shows "KDV", which is what cac:TaxScheme/cbc:Name carries in GİB's own samples.
    out["0015"]["short"] = "KDV"
    dest = Path(__file__).resolve().parents[1] / "ubltr/data/tax_names.json"
    dest.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(out)} tax codes -> {dest}")


if __name__ == "__main__":
    main()
