"""The ``ubltr`` command: a thin layer that parses arguments, calls the API and maps
errors to exit codes (0 ok, 1 a document is invalid / a check failed, 2 bad input or
usage).  Commands live in :mod:`ubltr.commands`, one module per stage; each module
exposes ``COMMANDS``, a list of click commands, and is registered here in name order.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from . import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ubltr")
def cli() -> None:
    """ubltr: Turkish e-invoices (UBL-TR 1.2) from neutral JSON to the provider."""


def _register() -> None:
    from . import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point; never shows a traceback for an expected failure."""
    try:
        cli.main(args=argv, prog_name="ubltr", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
