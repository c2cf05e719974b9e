from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def shared(*parts: str) -> Path:
    """A path under ../shared, skipping the test cleanly when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"../shared not present ({p})")
    return p


@pytest.fixture(scope="session")
def oracle():
    """GİB's XSD (lxml) and GİB's schematron as GİB runs it (XSLT 2.0, saxonche)."""
    from gib_oracle import Oracle

    return Oracle.get()
