"""CLI commands, one module per stage; see :mod:`ubltr.cli`."""
