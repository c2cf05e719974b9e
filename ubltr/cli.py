"""The ``ubltr`` command: a thin layer that parses arguments, calls the API and maps
errors to exit codes (0 ok, 1 a document is invalid / a check failed, 2 bad input or
usage).  Commands live in :mod:`ubltr.commands`, one module per stage; each module
exposes ``COMMANDS``, a list of click commands, and is found here by name.

Command modules are imported only when their command runs: ``ubltr --help`` reads each
module's source (:mod:`ast`) for the names and help of the commands it declares with
``@click.command("name")`` / ``@click.group("name")``, so it starts without loading
lxml, jinja2 or cryptography.  A module whose commands cannot be read that way is
simply imported (tests/test_rules.py checks that both ways agree).  A wheel carries
that reading ready-made (``commands/_index.json``, written by setup.py), used for a
module only while the module's sha256 is the one it was read from.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from functools import cache
from typing import Any

import click

from . import __version__
from ._command_index import _declared, _modules, _read_index


class _LazyGroup(click.Group):
    """Finds commands in :mod:`ubltr.commands` without importing them until used."""

    @cache
    def _index(self) -> dict[str, tuple[str, str | None]]:
        index: dict[str, tuple[str, str | None]] = {}
        modules = _modules()
        prebuilt = _read_index(modules[0][1].parent) if modules else {}
        for name, src in modules:
            module = f"ubltr.commands.{name}"
            declared: tuple[tuple[str, str | None], ...] | None = None
            entry = prebuilt.get(name)
            if entry and src.is_file() and hashlib.sha256(src.read_bytes()).hexdigest() == entry.get("sha256"):
                declared = tuple((n, h) for n, h in entry["commands"])
            elif src.is_file():
                declared = _declared(str(src))
            if declared is None:  # read the real thing
                for cmd in getattr(importlib.import_module(module), "COMMANDS", []):
                    index[cmd.name] = (module, cmd.help)
                continue
            for name, help_ in declared:
                index[name] = (module, help_)
        return index

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self._index()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = self._index().get(cmd_name)
        if entry is None:
            return None
        for cmd in getattr(importlib.import_module(entry[0]), "COMMANDS", []):
            if cmd.name == cmd_name:
                self.add_command(cmd)
                return cmd
        return None

    def invoke(self, ctx: click.Context) -> Any:
        from .official import OfficialArtifactError  # (not before a command runs: --help stays light)

        try:
            return super().invoke(ctx)
        except OfficialArtifactError as exc:  # GİB's files or compiled rules of another version: one line, exit 2
            click.echo(f"ubltr: {exc}", err=True)
            ctx.exit(2)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                cmd = self.commands[name]
            else:  # a stand-in carrying the declared help: formatted as click would
                cmd = click.Command(name, help=self._index()[name][1])
            if cmd.hidden:
                continue
            rows.append((name, cmd.get_short_help_str(formatter.width - 6 - max(map(len, self.list_commands(ctx))))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _print_version(ctx: click.Context, _param: Any, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from . import official

    click.echo(f"ubltr {__version__}")
    try:
        d = official.describe()
    except official.OfficialArtifactError as exc:
        click.echo(f"rules: {exc}", err=True)
        ctx.exit(2)
    g = d["gib"]
    where = "packaged" if g["origin"] == "packaged" else f"installed in {g['origin']}"
    click.echo(f"GİB schematron {g['release']}" + (f", edition {g['edition']}" if g["edition"] else "")
               + f" ({where})")
    click.echo(f"XSD {d['xsd']['release']}")
    click.echo(f"ubltr rules {d['ubltr']['file']} sha256:{d['ubltr']['sha256'][:12]}")
    ctx.exit(0)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version and the rules it validates with, then exit.")
def cli() -> None:
    """ubltr: Turkish e-invoices (UBL-TR 1.2) from neutral JSON to the provider."""


def main(argv: list[str] | None = None) -> None:
    """Entry point; never shows a traceback for an expected failure (GİB's files or
    compiled rules of another version: one line, exit 2, see ``_LazyGroup.invoke``)."""
    try:
        cli.main(args=argv, prog_name="ubltr", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
