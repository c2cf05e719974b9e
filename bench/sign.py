"""Signatures and verifications per second for 10- and 1,000-line invoices, beside the
cost of the bare RSA-2048 operation measured in the same run.

    python bench/sign.py [--seconds 2]

The key and certificate are made here; the invoice is GİB's TemelFaturaOrnegi.xml with
its line repeated (../shared must be present).
"""

from __future__ import annotations

import argparse
import copy
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

import ubltr.signing as signmod
from ubltr.signing import sign, verify

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT.parent / "shared" / "gib" / "UBLTR_1.2.1_Paketi" / "xml" / "TemelFaturaOrnegi.xml"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"


def invoice(lines: int) -> bytes:
    tree = etree.parse(str(SAMPLE))
    root = tree.getroot()
    line = root.find(f"{{{CAC}}}InvoiceLine")
    for i in range(2, lines + 1):
        new = copy.deepcopy(line)
        new.find("{*}ID").text = str(i)
        root.append(new)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def seal() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, "1288331521"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Bench Seal")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return key, cert


def rate(fn, seconds: float) -> float:
    fn()
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        n += 1
    return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    key, cert = seal()
    pub = key.public_key()
    msg = b"x" * 1000
    sig = key.sign(msg, padding.PKCS1v15(), hashes.SHA256())
    rsa_sign = rate(lambda: key.sign(msg, padding.PKCS1v15(), hashes.SHA256()), args.seconds)
    rsa_verify = rate(lambda: pub.verify(sig, msg, padding.PKCS1v15(), hashes.SHA256()), args.seconds)
    print(f"bare RSA-2048 PKCS#1 v1.5: sign {rsa_sign:9.1f}/s   verify {rsa_verify:9.1f}/s")
    for lines in (10, 1000):
        doc = invoice(lines)
        signed = sign(doc, key, cert)
        assert verify(signed).valid
        s = rate(lambda: sign(doc, key, cert), args.seconds)
        v = rate(lambda: verify(signed), args.seconds)
        print(f"{lines:5d}-line invoice ({len(signed) / 1024:7.1f} KiB): sign {s:8.1f}/s ({rsa_sign / s:6.1f}x bare RSA sign)"
              f"   verify {v:8.1f}/s ({rsa_verify / v:7.1f}x bare RSA verify)")
        if lines == 10:
            # the schema check of the ds:Signature subtree, as a share of one whole verify
            sig_el = next(etree.fromstring(signed).iter(signmod._ds("Signature")))
            c = rate(lambda: signmod._check_structure(sig_el), args.seconds)
            print(f"      structure check of the signature: {c:8.1f}/s ({100 * v / c:4.1f}% of a 10-line verify)")


if __name__ == "__main__":
    main()
