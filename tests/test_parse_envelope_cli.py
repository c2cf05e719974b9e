"""`ubltr.parse` and `ubltr parse` on GİB's envelopes (ZARF) and e-İrsaliye documents:
every invoice of an envelope by its position, read the same as the bare invoice GİB
ships beside it; a despatch through the same command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from lxml import etree

import ubltr
from ubltr.model import to_dict
from ubltr.parsing import ParseError, parse_each

from conftest import shared

PAKET = ("gib", "e-FaturaPaketi", "xml")


@pytest.mark.parametrize("name", ["1_TEMEL_FATURA", "2_TICARI_FATURA", "3_TICARI_FATURA", "6_TEMEL_FATURA_KDV_SIFIR"])
def test_an_envelope_yields_the_invoice_gib_ships_beside_it(name: str) -> None:
    bare = shared(*PAKET, f"{name}.xml").read_bytes()
    zarf = shared(*PAKET, f"{name}_ZARF.xml").read_bytes()
    each = parse_each(zarf)
    assert [pos for pos, _ in each] == [1]
    assert each[0][1] == ubltr.parse(bare)  # the same invoice, read from inside the envelope
    assert ubltr.parse(zarf) == ubltr.parse(bare)
    assert parse_each(bare) == [(0, ubltr.parse(bare))]


def test_an_envelope_of_answers_is_no_invoice() -> None:
    with pytest.raises(ParseError, match="no invoice"):
        parse_each(shared(*PAKET, "2_UYGULAMA_YANITI_KABUL_ZARF.xml").read_bytes())


def test_two_invoices_in_one_envelope_are_read_by_position() -> None:
    zarf = etree.fromstring(shared(*PAKET, "2_TICARI_FATURA_ZARF.xml").read_bytes())
    content = zarf.find(".//{*}ElementList")
    first = content[0]
    second = etree.fromstring(shared(*PAKET, "1_TEMEL_FATURA.xml").read_bytes())
    content.append(second)
    data = etree.tostring(zarf)
    each = parse_each(data)
    assert [pos for pos, _ in each] == [1, 2]
    assert each[0][1] == ubltr.parse(first) and each[1][1] == ubltr.parse(second)
    with pytest.raises(ParseError, match="2 invoices"):
        ubltr.parse(data)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ubltr.cli", *args], capture_output=True, text=True, timeout=120)


def test_cli_parse_of_an_envelope_lists_its_invoices_by_position() -> None:
    r = _cli("parse", str(shared(*PAKET, "3_TICARI_FATURA_ZARF.xml")))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    bare = to_dict(ubltr.parse(shared(*PAKET, "3_TICARI_FATURA.xml").read_bytes()))
    assert out == [{"position": 1, "invoice": json.loads(json.dumps(bare, ensure_ascii=False, default=str))}]


def test_cli_parse_of_a_despatch_gives_its_neutral_json() -> None:
    r = _cli("parse", str(shared("gib", "UBLTR_1.2.1_Paketi", "xml", "Irsaliye-Ornek1.xml")))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["document"] == "despatch" and out["profile"] == "TEMELIRSALIYE"
    r = _cli("parse", "--check-totals", str(shared("gib", "UBLTR_1.2.1_Paketi", "xml", "Irsaliye-Ornek1.xml")))
    assert r.returncode == 2 and "invoices" in r.stderr and "Traceback" not in r.stderr


def test_the_envelope_tag_parse_compares_is_envelopes() -> None:
    from ubltr import envelope, parsing

    assert parsing._ENVELOPE == envelope.ROOT
