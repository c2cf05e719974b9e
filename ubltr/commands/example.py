"""``ubltr example``: print a sample neutral invoice shipped with ubltr."""

from __future__ import annotations

import sys

import click

from ._common import fail

DEFAULT = "TEMELFATURA-SATIS"


def scenarios() -> dict[str, str]:
    """Scenario name (``PROFILE-TYPE``, e.g. ``TEMELFATURA-SATIS``) -> file path."""
    from ..resources import folder

    return {p.stem: str(p) for p in sorted(folder("fixtures").glob("*.json"))}


@click.command("example")
@click.argument("scenario", required=False, default=DEFAULT)
@click.option("--list", "list_", is_flag=True, help="list the scenarios instead")
def example_cmd(scenario: str, list_: bool) -> None:
    """Print a sample neutral invoice (JSON) for SCENARIO, a PROFILE-TYPE pair such as
    TEMELFATURA-SATIS (the default) or EARSIVFATURA-IADE; --list names them all.

    Try: ubltr example > invoice.json && ubltr build invoice.json -o invoice.xml"""
    known = scenarios()
    if list_:
        click.echo("\n".join(known))
        return
    name = scenario.upper().removesuffix(".JSON")
    if name not in known:
        fail(f"example: no scenario {scenario!r}; known: {', '.join(known)}")
    with open(known[name], "rb") as fh:
        sys.stdout.buffer.write(fh.read())
    sys.stdout.buffer.flush()


COMMANDS = [example_cmd]
