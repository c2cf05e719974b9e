#!/usr/bin/env bash
# The README's test command: set up a virtualenv with everything the suite needs, run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# ubltr render's browser test needs headless Chromium (+ a font); CI installs it, others may skip
if [ "${CI:-}" = "true" ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
     chromium fonts-dejavu-core >/dev/null) || echo "warning: could not install chromium; browser tests will skip" >&2
fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
exec .venv/bin/python -m pytest "$@"
