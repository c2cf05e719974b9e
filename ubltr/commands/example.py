"""``ubltr example``: print a sample neutral invoice shipped with ubltr."""

from __future__ import annotations

import sys

import click

from ._common import fail


@click.command("example")
@click.argument("scenario", required=False, default="TEMELFATURA-SATIS")
@click.option("--list", "list_", is_flag=True, help="list the scenarios instead")
def example_cmd(scenario: str, list_: bool) -> None:
    """Print a sample neutral invoice (JSON) for SCENARIO, a PROFILE-TYPE pair such as
    TEMELFATURA-SATIS (the default) or EARSIVFATURA-IADE; --list names them all.

    Try: ubltr example > invoice.json && ubltr build invoice.json -o invoice.xml"""
    from ..examples import example_path, scenarios

    if list_:
        click.echo("\n".join(scenarios()))
        return
    try:
        path = example_path(scenario)
    except ValueError as exc:
        fail(f"example: {exc}")
    sys.stdout.buffer.write(path.read_bytes())
    sys.stdout.buffer.flush()


COMMANDS = [example_cmd]
