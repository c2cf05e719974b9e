#!/usr/bin/env bash
# A new user's view: build the sdist and the wheel, install the wheel into a fresh venv
# outside the checkout and run the README's wheel commands and a smoke test from an empty
# directory; then run the sdist's own tests from the unpacked sdist (../shared absent
# there, so the tests that need it skip).  Network: PyPI only (pip).  ~1-2 minutes.
#
#   bash scripts/wheel-smoke.sh            # uses .venv (scripts/test.sh) for the sdist's tests
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
WORK=$(mktemp -d /tmp/ubltr-wheel.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PIPQ="--disable-pip-version-check -q"

echo "== build sdist and wheel (the wheel built from the sdist)"
python3 -m venv "$WORK/build-venv"
"$WORK/build-venv/bin/pip" install $PIPQ build
"$WORK/build-venv/bin/python" -m build -o "$WORK/dist" . >"$WORK/build.log" 2>&1 || { tail -50 "$WORK/build.log"; exit 1; }
WHEEL=$(ls "$WORK"/dist/ubltr-*.whl)
SDIST=$(ls "$WORK"/dist/ubltr-*.tar.gz)
ls -l "$WORK/dist"

echo "== install the wheel into a fresh venv"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install $PIPQ "$WHEEL" 2>&1 | grep -v "^WARNING: Location" || true
mkdir "$WORK/empty" "$WORK/cache" "$WORK/store"
cd "$WORK/empty"
export PATH="$WORK/venv/bin:$PATH" UBLTR_CACHE_DIR="$WORK/cache" UBLTR_RULES_DIR="$WORK/store"
hash -r

echo "== the README's wheel command (pip install ubltr -> the wheel just built)"
CMD=$(awk '/^From the wheel alone/{f=1} f&&/^```sh/{getline; print; exit}' "$REPO/README.md")
[ -n "$CMD" ] || { echo "README: no 'From the wheel alone' sh block" >&2; exit 1; }
CMD=${CMD/pip install ubltr/pip --disable-pip-version-check -q install $WHEEL}
echo "\$ $CMD"
bash -c "$CMD"

echo "== the README's python block that needs no checkout"
awk '/^From the wheel alone/{f=1} f&&/^```python/{p=1; next} p&&/^```/{exit} p' "$REPO/README.md" > readme_wheel.py
python readme_wheel.py

echo "== smoke"
python - <<'EOF'
import json, os, subprocess, sys
from importlib import metadata

def run(*args, ok=(0,)):
    r = subprocess.run(["ubltr", *args], capture_output=True, text=True)
    assert r.returncode in ok, (args, r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    return r

out = run("--version").stdout
assert "GİB schematron 20260701, edition 21.08.2026 (packaged)" in out and "XSD UBL-TR 1.2.1" in out, out
assert "validate" in run("--help").stdout
names = run("example", "--list").stdout.split()
assert len(names) >= 40, names
for n in names:  # every packaged example builds and passes GİB's rules
    with open("inv.json", "w") as fh:
        fh.write(run("example", n).stdout)
    run("build", "inv.json", "-o", "inv.xml")
    rep = json.loads(run("validate", "--format", "json", "inv.xml").stdout)
    assert rep["valid"] and rep["rules"]["gib"] == "20260701 edition 21.08.2026", (n, rep)
# the first validate read the compiled rules shipped in the wheel: nothing was compiled
assert os.listdir(os.environ["UBLTR_CACHE_DIR"]) == [], os.listdir(os.environ["UBLTR_CACHE_DIR"])
assert json.loads(run("rules", "--json").stdout)["gib"]["release"] == "20260701"
bad = run("rules", "install", "inv.json", ok=(2,))
assert bad.stderr.startswith("rules install:") and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
help_modules = subprocess.run([sys.executable, "-c", "import sys\nfrom ubltr.cli import main\ntry:\n main(['--help'])\n"
                               "except SystemExit:\n from ubltr._command_index import _declared\n"
                               " print(_declared.cache_info().currsize, ' '.join(sys.modules))"],
                              capture_output=True, text=True).stdout.splitlines()[-1].split()  # (after the help)
assert help_modules[0] == "0", "--help parsed command sources: the wheel's commands/_index.json was not used"
heavy = [m for m in ("lxml", "jinja2", "cryptography", "httpx", "ubltr.official", "ubltr.validation") if m in help_modules]
assert not heavy, heavy  # --help loads no stage
r = subprocess.run([sys.executable, "-c", "import ubltr.testing"], capture_output=True, text=True)
assert r.returncode != 0 and "pip install 'ubltr[testing]'" in r.stderr, r.stderr[-500:]
installed = {d.metadata["Name"].lower() for d in metadata.distributions()}
for unwanted in ("saxonche", "efatura-kontrol", "hypothesis", "rich", "pygments", "mcp", "pydantic", "starlette", "zxing-cpp", "segno"):
    assert unwanted not in installed, unwanted
print("smoke ok:", len(names), "examples built and valid;", len(installed), "distributions installed")
EOF
SITE=$("$WORK/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
du -sk "$SITE" --exclude='pip' --exclude='pip-*' --exclude='setuptools' --exclude='setuptools-*' --exclude='_distutils_hack' \
  --exclude='distutils-precedence.pth' --exclude='pkg_resources' --apparent-size \
  | awk '{printf "site-packages without pip/setuptools: %.1f MiB (file sizes; target 40)\n", $1/1024}'
du -sk --apparent-size "$SITE"/*/ | grep -vE '/(pip|setuptools|pkg_resources|_distutils_hack)/$' | sort -rn | head -3 \
  | awk '{n=split($2, p, "/"); printf "  %s %.1f MiB", p[n-1], $1/1024} END {print "  (the largest packages)"}'

echo "== the sdist's own tests, from the unpacked sdist"
cd "$WORK"
tar xzf "$SDIST"
SRC=$(ls -d "$WORK"/ubltr-*/)
cd "$SRC"
PY="$REPO/.venv/bin/python"
[ -x "$PY" ] || { echo "no $PY (run scripts/test.sh first)"; exit 1; }
"$PY" -c "import ubltr, sys; assert ubltr.__file__.startswith('$SRC'), ubltr.__file__"
"$PY" -m pytest -p no:cacheprovider tests/test_rules.py tests/test_codes.py tests/test_packaging.py \
  tests/test_readme.py tests/test_calc.py tests/test_cli_build.py tests/test_batch.py
