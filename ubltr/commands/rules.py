"""``ubltr rules``: which rules ubltr validates with; install GİB's newer releases."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._common import EXIT_BAD_INPUT, fail


def _show(as_json: bool) -> None:
    from .. import official, rulestore

    d = official.describe()
    d["store"] = {"folder": str(rulestore.store_dir()),
                  "installed": [Path(r.origin).name for r in rulestore.installed()]}
    if as_json:
        click.echo(json.dumps(d, ensure_ascii=False, indent=1))
        return
    g = d["gib"]
    where = "packaged with ubltr" if g["origin"] == "packaged" else f"installed in {g['origin']}"
    click.echo(f"gib    GİB schematron release {g['release']}" + (f", edition {g['edition']}" if g["edition"] else "")
               + f" ({where})")
    click.echo(f"       source: {g['source']}")
    click.echo(f"       sha256 {g['sha256']} (of the files below)")
    for name, sha in g["files"].items():
        click.echo(f"         {sha}  {name}")
    x = d["xsd"]
    click.echo(f"xsd    {x['release']} ({x['files']} files, each pinned by sha256 in xsd/lock.json)")
    click.echo(f"       source: {x['source']}")
    u = d["ubltr"]
    click.echo(f"ubltr  ubltr {u['release']} rules ({u['file']})")
    click.echo(f"       sha256 {u['sha256']}")
    store = d["store"]
    click.echo(f"store  {store['folder']}: " + (", ".join(store["installed"]) or "no release installed")
               + " (ubltr rules install e-FaturaPaketi.zip)")


@click.group("rules", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="print as JSON")
@click.pass_context
def rules_group(ctx: click.Context, as_json: bool) -> None:
    """Show the rules ubltr validates with (GİB schematron release and edition, XSD
    package, ubltr's rules: sources and checksums); install or choose GİB releases."""
    if ctx.invoked_subcommand is None:
        _show(as_json)


@rules_group.command("install")
@click.argument("zip_path", metavar="e-FaturaPaketi.zip")
@click.option("--no-use", is_flag=True, help="install only; keep the rules in use as they are")
def install_cmd(zip_path: str, no_use: bool) -> None:
    """Check GİB's e-FaturaPaketi.zip, compile its schematron into the rule store and
    (unless --no-use) validate with it from now on.  A zip that is not GİB's package
    is refused and nothing is installed (exit 2)."""
    from .. import official, rulestore
    from ..validation import engine

    before = rulestore.active()
    try:
        rules = rulestore.install(zip_path, use=not no_use)
    except rulestore.RuleInstallError as exc:
        fail(f"rules install: {exc}", EXIT_BAD_INPUT)
    if not no_use:
        try:  # the compiled rules go with the release, so its first validate is not slower
            engine.compile_into(rules.folder / "compiled")
        except OSError as exc:
            click.echo(f"warning: could not store the compiled rules ({exc}); they are compiled on first use",
                       err=True)
        except Exception as exc:  # e.g. ubltr's own rules do not combine with it: undo, say so
            rulestore.use_release(Path(before.origin).name if before else rulestore.PACKAGED)
            fail(f"rules install: {rules.label} installed but cannot be compiled with ubltr's rules "
                 f"({type(exc).__name__}: {exc}); still in use: {official.active_rules().label}", EXIT_BAD_INPUT)
    click.echo(f"installed {rules.label.replace(' (installed)', '')} into {rules.folder}"
               + ("" if no_use else "; in use from now on"))


@rules_group.command("use")
@click.argument("release")
def use_cmd(release: str) -> None:
    """Validate with RELEASE: 'packaged' (the rules shipped with ubltr) or an installed
    release (its folder name or release number, see `ubltr rules`)."""
    from .. import official, rulestore

    try:
        rulestore.use_release(release)
    except rulestore.RuleInstallError as exc:
        fail(f"rules use: {exc}", EXIT_BAD_INPUT)
    click.echo(f"in use: {official.active_rules().label}")


COMMANDS = [rules_group]
