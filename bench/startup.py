"""Start-up costs of an installed ubltr, in fresh processes, alternating rounds.

    python bench/startup.py                      # the ubltr of this interpreter
    python bench/startup.py --venv /tmp/wv       # a venv with the wheel installed
    python bench/startup.py --rounds 9

Each round runs, in turn (so machine load hits every variant alike):

* ``python -c pass``                 the reference: an interpreter doing nothing;
* ``python -c "import ubltr"``;
* ``ubltr --help``;
* ``ubltr validate X`` with an empty rule cache (a fresh machine: the first validate);
* ``ubltr validate X`` again with the cache the first one left (a later validate).

Prints the median wall time of each and the ratios (import / pass, first / later
validate).  Targets (issue #22): ``ubltr --help`` <= 120 ms, ``import ubltr`` <= 80 ms,
first validate <= 1.2 x the second.  For hyperfine's view of the same:
``hyperfine -N --runs 5 'VENV/bin/ubltr --help' "VENV/bin/python -c 'import ubltr'"``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _time(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", default=None, help="venv with ubltr installed (default: this interpreter's)")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    bindir = Path(args.venv) / "bin" if args.venv else Path(sys.executable).parent
    py, ubltr = str(bindir / "python"), str(bindir / "ubltr")
    work = Path(tempfile.mkdtemp(prefix="ubltr-startup-"))
    try:
        example = subprocess.run([ubltr, "example"], capture_output=True, check=True).stdout
        (work / "inv.json").write_bytes(example)
        subprocess.run([ubltr, "build", str(work / "inv.json"), "-o", str(work / "inv.xml")], check=True)
        base = {k: v for k, v in os.environ.items() if k not in ("UBLTR_CACHE_DIR", "PYTHONPATH")}
        base["UBLTR_RULES_DIR"] = str(work / "store")
        times: dict[str, list[float]] = {k: [] for k in ("pass", "import", "help", "first", "later")}
        for r in range(args.rounds):
            cache = work / f"cache{r}"
            env = {**base, "UBLTR_CACHE_DIR": str(cache)}
            times["pass"].append(_time([py, "-c", "pass"], env))
            times["import"].append(_time([py, "-c", "import ubltr"], env))
            times["help"].append(_time([ubltr, "--help"], env))
            times["first"].append(_time([ubltr, "validate", str(work / "inv.xml")], env))
            times["later"].append(_time([ubltr, "validate", str(work / "inv.xml")], env))
            shutil.rmtree(cache, ignore_errors=True)
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}
        print(f"{args.rounds} alternating rounds, median wall time ({bindir})")
        for k, label in (("pass", "python -c pass"), ("import", "import ubltr"), ("help", "ubltr --help"),
                         ("first", "validate, empty cache"), ("later", "validate, again")):
            print(f"  {label:24} {med[k]:8.1f} ms")
        print(f"  import ubltr - python:  {med['import'] - med['pass']:8.1f} ms")
        print(f"  first / later validate: {med['first'] / med['later']:8.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
