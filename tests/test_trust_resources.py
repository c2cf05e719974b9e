"""Issue #15, resources: the embedded XSLT runs in a child with a time *and* a memory
limit; verify, render and validate - check the size while streaming (an oversize input is
refused without being held in memory); one size limit for every command."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT
from ubltr import batch, parsing, signing, view, xmlsafe
from ubltr.cli import cli
from ubltr.validation import engine

XSL = 'xmlns:xsl="http://www.w3.org/1999/XSL/Transform"'
# doubles a string 40 times: 2^40 bytes wanted, far beyond any limit (a 10 KB invoice
# with this XSLT took 4-5 GB of RSS before the memory limit)
BOMB = (f'<xsl:stylesheet version="1.0" {XSL}>'
        '<xsl:template name="d"><xsl:param name="s"/><xsl:param name="n"/><xsl:choose>'
        '<xsl:when test="$n &gt; 0"><xsl:call-template name="d"><xsl:with-param name="s" select="concat($s, $s)"/>'
        '<xsl:with-param name="n" select="$n - 1"/></xsl:call-template></xsl:when>'
        '<xsl:otherwise><html><xsl:value-of select="string-length($s)"/></html></xsl:otherwise></xsl:choose>'
        '</xsl:template><xsl:template match="/"><xsl:call-template name="d">'
        '<xsl:with-param name="s" select="\'0123456789abcdef\'"/><xsl:with-param name="n" select="40"/>'
        '</xsl:call-template></xsl:template></xsl:stylesheet>')


def _invoice_with_xslt(stylesheet: str) -> bytes:
    import base64

    from lxml import etree

    root = etree.fromstring((ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes())
    cac = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    cbc = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
    ref = etree.Element(f"{{{cac}}}AdditionalDocumentReference")
    etree.SubElement(ref, f"{{{cbc}}}ID").text = "x"
    etree.SubElement(ref, f"{{{cbc}}}IssueDate").text = "2026-01-01"
    att = etree.SubElement(ref, f"{{{cac}}}Attachment")
    obj = etree.SubElement(att, f"{{{cbc}}}EmbeddedDocumentBinaryObject", filename="x.xslt",
                           mimeCode="application/xml", encodingCode="Base64", characterSetCode="UTF-8")
    obj.text = base64.b64encode(stylesheet.encode()).decode()
    root.find(f"{{{cac}}}AccountingSupplierParty").addprevious(ref)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# the command in a wrapper that reports the peak RSS (kB) of everything it ran, with an
# outer address-space cap so that a missing limit cannot hurt the machine running the test
_PEAK = textwrap.dedent("""
    import resource, subprocess, sys
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (3 * 1024 ** 3, 3 * 1024 ** 3))
    r = subprocess.run([sys.executable, "-m", "ubltr.cli", *sys.argv[2:]], preexec_fn=cap,
                       stdin=open(sys.argv[1], "rb") if sys.argv[1] != "-" else None, capture_output=True)
    sys.stdout.write(f"{r.returncode} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n")
    sys.stdout.write(r.stderr.decode("utf-8", "replace"))
""")


def _peak(*args: str, stdin: str = "-") -> tuple[int, int, str]:
    out = subprocess.run([sys.executable, "-c", _PEAK, stdin, *args], capture_output=True, timeout=300, text=True)
    first, _, rest = out.stdout.partition("\n")
    code, kb = first.split()
    return int(code), int(kb), rest


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and ru_maxrss semantics")
def test_xslt_memory_bomb_is_stopped_by_the_memory_limit(tmp_path) -> None:
    src = tmp_path / "bomb.xml"
    src.write_bytes(_invoice_with_xslt(BOMB))
    code, peak_kb, err = _peak("render", str(src), "-o", str(tmp_path / "o.html"), "--xslt-memory", "128")
    assert code == 0, err  # fell back to ubltr's template
    assert "memory" in err and "using ubltr's default template" in err, err
    assert peak_kb < 600 * 1024, f"peak RSS {peak_kb} kB"
    assert b"<html" in (tmp_path / "o.html").read_bytes()[:2000].lower()


def test_apply_xslt_reports_the_memory_limit() -> None:
    from lxml import etree

    tree = etree.ElementTree(etree.fromstring(b"<a/>"))
    with pytest.raises(view.XsltError, match="memory"):
        view.apply_xslt(tree, BOMB.encode(), timeout=60, memory=64 * 1024 * 1024)


def test_one_size_limit_for_every_command() -> None:
    limits = {
        "xmlsafe": xmlsafe.MAX_BYTES, "sign/verify": signing.MAX_DOCUMENT_BYTES, "render": view.MAX_XML_BYTES,
        "parse": parsing.MAX_BYTES, "batch": batch.MAX_DOCUMENT_BYTES,
        "validate": engine.scenarios()["limits"]["max_bytes"],
    }
    assert set(limits.values()) == {50 * 1024 * 1024}, limits


def test_build_never_writes_what_validate_refuses(tmp_path, monkeypatch) -> None:
    """At the limit: build refuses (exit 2) the document validate would refuse."""
    src = ROOT / "fixtures" / "TEMELFATURA-SATIS.json"
    size = len((ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes())
    monkeypatch.setattr(xmlsafe, "MAX_BYTES", size - 1)
    res = CliRunner().invoke(cli, ["build", str(src), "-o", str(tmp_path / "o.xml")])
    assert res.exit_code == 2 and "limit" in res.output and not (tmp_path / "o.xml").exists()
    monkeypatch.setattr(xmlsafe, "MAX_BYTES", size + 100)
    assert CliRunner().invoke(cli, ["build", str(src), "-o", str(tmp_path / "o.xml")]).exit_code == 0


@pytest.mark.parametrize("command", [["verify", "{f}"], ["render", "{f}", "-o", "{o}"], ["validate", "{f}"],
                                     ["sign", "{f}", "-o", "{o}", "--key", "k", "--cert", "c"]])
def test_a_2gb_file_is_refused_before_it_is_read(tmp_path, command) -> None:
    big = tmp_path / "big.xml"
    with open(big, "wb") as fh:  # sparse: 2 GB on paper, nothing on disk
        fh.write(b"<Invoice>")
        fh.truncate(2 * 1024 ** 3)
    args = [a.format(f=big, o=tmp_path / "o") for a in command]
    code, peak_kb, err = _peak(*args)
    assert code == 2 if command[0] != "validate" else code in (1, 2), err
    assert "limit" in err or command[0] == "validate", err
    assert peak_kb < 400 * 1024, f"{command[0]}: peak RSS {peak_kb} kB"


@pytest.fixture(scope="module")
def stream(tmp_path_factory) -> Path:
    big = tmp_path_factory.mktemp("stream") / "stream.xml"
    with open(big, "wb") as fh:
        fh.write(b"<Invoice>")
        for _ in range(300):
            fh.write(b"x" * (1024 * 1024))
    yield big
    big.unlink()


@pytest.mark.parametrize("command", [["verify", "-"], ["render", "-"], ["validate", "-"]])
def test_an_oversize_stream_is_refused_while_reading(stream, command) -> None:
    """stdin has no size to check first: the limit is checked while reading, so a
    300 MB stream costs about the 50 MB limit plus the program (measured: 95 MB for
    verify and render, 160 MB for validate with its schemas), not 300 MB more (the old
    code: 250-400 MB here, 2 GB for 2 GB)."""
    code, peak_kb, err = _peak(*command, stdin=str(stream))
    assert code == 2, err
    assert "limit" in err or command[0] == "validate", err
    assert peak_kb < 220 * 1024, f"{command[0]}: peak RSS {peak_kb} kB"


def test_a_text_over_libxml2s_10_mb_limit_parses_with_the_second_parser() -> None:
    """xmlsafe.fromstring builds the huge-text parser only when libxml2 stops at its 10 MB
    text limit: such a document (under ubltr's 50 MiB limit) still parses whole, and a
    malformed one is still refused."""
    text = "x" * (11 * 1024 * 1024)
    root = xmlsafe.fromstring(f"<a><b>{text}</b></a>".encode())
    assert len(root[0].text or "") == len(text)
    with pytest.raises(xmlsafe.UnsafeXML, match="not well-formed"):
        xmlsafe.fromstring(f"<a><b>{text}</b>".encode())
