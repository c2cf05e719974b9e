"""``ubltr sign`` and ``ubltr verify``: XAdES-BES signing and verification (see docs/sign.md).

Passwords come from an environment variable (``--password-env VAR``) or an interactive
prompt; they are never echoed, logged or written anywhere.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ..signing import SignatureReport, SigningError, load_pem, load_pkcs12, sign, verify
from ._common import EXIT_BAD_INPUT, EXIT_INVALID, EXIT_OK, fail, read_document, write_output


def _read_file(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        fail(f"{what} {path}: cannot read ({exc.strerror})")


def _password(env: str | None, needed_for: str) -> str | None:
    if env:
        value = os.environ.get(env)
        if value is None:
            fail(f"--password-env {env}: that environment variable is not set")
        return value
    return None


def _prompt(needed_for: str) -> str:
    if not sys.stdin.isatty():
        fail(f"{needed_for} needs a password: use --password-env VAR (no terminal to prompt on)")
    return click.prompt(f"Password for {needed_for}", hide_input=True, err=True)


@click.command("sign")
@click.argument("input_path", metavar="IN.xml")
@click.option("-o", "--output", "output", required=True, help="Where to write the signed document (- for stdout).")
@click.option("--p12", "p12", help="PKCS#12 (.p12/.pfx) file with the seal's key and certificate.")
@click.option("--key", "key_path", help="PEM private key (with --cert).")
@click.option("--cert", "cert_path", help="PEM certificate of the seal (with --key).")
@click.option("--chain", "chain_path", help="PEM intermediate certificates to carry in KeyInfo.")
@click.option("--password-env", "password_env", metavar="VAR", help="Environment variable holding the key password.")
@click.option("--role", "role", help="Optional xades:ClaimedRole, e.g. Tedarikçi.")
@click.option("--allow-seal-mismatch", is_flag=True,
              help="Sign even when the seal's VKN/TCKN is not the supplier's (refused by default).")
def sign_command(
    input_path: str,
    output: str,
    p12: str | None,
    key_path: str | None,
    cert_path: str | None,
    chain_path: str | None,
    password_env: str | None,
    role: str | None,
    allow_seal_mismatch: bool,
) -> None:
    """Sign a UBL-TR document with a company seal (XAdES-BES, as GİB expects)."""
    if bool(p12) == bool(key_path or cert_path):
        fail("give either --p12 FILE or --key KEY.pem --cert CERT.pem")
    xml = read_document(input_path)
    password = _password(password_env, p12 or key_path or "")
    try:
        if p12:
            data = _read_file(p12, "--p12")
            try:
                key, certs = load_pkcs12(data, password)
            except SigningError:
                if password is not None:
                    raise
                key, certs = load_pkcs12(data, _prompt(p12))
        else:
            if not (key_path and cert_path):
                fail("--key and --cert go together")
            key_pem = _read_file(key_path, "--key")
            cert_pem = _read_file(cert_path, "--cert")
            chain_pem = _read_file(chain_path, "--chain") if chain_path else None
            try:
                key, certs = load_pem(key_pem, cert_pem, chain_pem, password)
            except SigningError as exc:
                if password is not None or "encrypted" not in str(exc):
                    raise
                key, certs = load_pem(key_pem, cert_pem, chain_pem, _prompt(key_path))
        signed = sign(xml, key, certs, signer_role=role, allow_seal_mismatch=allow_seal_mismatch)
    except SigningError as exc:
        fail(f"{input_path}: cannot sign: {exc}")
    finally:
        password = None
    write_output(output, signed)


def _text(path: str, report: SignatureReport, ca_name: str | None) -> str:
    lines = [f"{path}: {report.verdict}"]
    if report.valid and not report.authenticated:
        lines.append("  trust: signer not authenticated: no CA bundle given (--ca FILE or UBLTR_CA); "
                     "the signer below is what the certificate claims")
    for p in report.problems:
        lines.append(f"  problem: {p}")
    for s in report.signatures:
        lines.append(f"  {s.role} {s.signature_id or '(no Id)'}: {s.status}")
        lines.append(f"    integrity: {'ok' if s.integrity else 'FAILED'} (signature value, digests, coverage)")
        claimed = "" if s.trust == "authenticated" else " (claimed, not authenticated)"
        if s.signer_subject:
            lines.append(f"    signer{claimed}: {s.signer_subject}")
        if s.signer_vkn_tckn:
            lines.append(f"    {s.signer_id_kind}: {s.signer_vkn_tckn}")
        if s.signing_time:
            stamp = "; a SignatureTimeStamp is present but unchecked" if s.timestamp == "unchecked" else ""
            lines.append(f"    signing time (the signer's claim{stamp}): {s.signing_time.isoformat()}")
        if s.cert_not_before and s.cert_not_after:
            at = {True: "valid at signing time", False: "NOT valid at signing time", None: "?"}[s.cert_valid_at_signing_time]
            now = "" if s.cert_valid_now else "; expired or not yet valid now"
            lines.append(
                f"    certificate: {s.cert_not_before.date()} to {s.cert_not_after.date()} ({at}{now})"
            )
        if s.chain_checked:
            lines.append(f"    trust: chain to {ca_name or 'the given CA'}: {'ok' if s.chain_valid else 'FAILED'}")
        if s.signature_algorithm:
            digests = f", digests {', '.join(s.digest_algorithms)}" if s.digest_algorithms else ""
            lines.append(f"    algorithms: {s.signature_algorithm.rsplit('#', 1)[-1]}{digests}")
        for p in s.problems:
            lines.append(f"    problem: {p}")
        for p in s.policy:
            lines.append(f"    policy: {p}")
        for w in s.warnings:
            lines.append(f"    warning: {w}")
    return "\n".join(lines)


@click.command("verify")
@click.argument("paths", nargs=-1, required=True, metavar="FILE...")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--ca", "ca_path", envvar="UBLTR_CA", show_envvar=True,
              help="PEM CA bundle the signer must chain to (default: $UBLTR_CA). Without one the "
                   "signer is reported as not authenticated.")
@click.option("--allow-multiple", is_flag=True, help="Accept documents with more than one top-level signature.")
def verify_command(paths: tuple[str, ...], fmt: str, ca_path: str | None, allow_multiple: bool) -> None:
    """Verify signed documents: integrity (the cryptography), policy (GİB's profile rules,
    as warnings) and trust (the chain to --ca / UBLTR_CA).

    Exit 0 when every signature is intact (and, with a CA bundle, chains to it); 1 otherwise."""
    ca = _read_file(ca_path, "--ca") if ca_path else None
    results = []
    all_valid = True
    for path in paths:
        xml = read_document(path)
        try:
            report = verify(xml, ca=ca, allow_multiple=allow_multiple)
        except ValueError as exc:  # only the CA file can make verify() raise
            fail(f"--ca {ca_path}: {exc}", EXIT_BAD_INPUT)
        all_valid &= report.valid
        results.append((path, report))
    if fmt == "json":
        out = [dict(file=p, **r.to_dict()) for p, r in results]
        click.echo(json.dumps(out if len(out) > 1 else out[0], ensure_ascii=False, indent=2))
    else:
        for p, r in results:
            click.echo(_text(p, r, ca_path))
    sys.exit(EXIT_OK if all_valid else EXIT_INVALID)


COMMANDS = [sign_command, verify_command]
