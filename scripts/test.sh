#!/usr/bin/env bash
# The README's test command: set up a virtualenv with everything the suite needs, run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# ubltr render's browser test needs headless Chromium (+ a font); CI installs it, others may skip
if [ "${CI:-}" = "true" ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
     chromium fonts-dejavu-core >/dev/null) || echo "warning: could not install chromium; browser tests will skip" >&2
fi
# PostgreSQL outbox tests: a throwaway local server (own data dir, own port, 127.0.0.1 only),
# only when allowed (CI=true or UBLTR_PG=1) and no DSN was given; the tests skip without a DSN.
if [ -z "${UBLTR_PG_DSN:-}" ] && { [ "${CI:-}" = "true" ] || [ "${UBLTR_PG:-}" = "1" ]; }; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
      || echo "warning: could not install postgresql; PostgreSQL outbox tests will skip" >&2
  fi
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -n "$PGBIN" ]; then
    PGTMP=$(mktemp -d /tmp/ubltr-pg.XXXXXX)
    PGRUN=""
    if [ "$(id -u)" = 0 ]; then chown postgres "$PGTMP"; PGRUN="runuser -u postgres --"; fi
    PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if $PGRUN "$PGBIN/initdb" -D "$PGTMP/data" -A trust -U ubltr >/dev/null \
       && $PGRUN "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/log" -w -t 60 \
            -o "-p $PGPORT -k $PGTMP -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null; then
      export UBLTR_PG_DSN="postgresql://ubltr@127.0.0.1:$PGPORT/postgres"
      trap '$PGRUN "$PGBIN/pg_ctl" -D "$PGTMP/data" -m fast -w stop >/dev/null 2>&1; rm -rf "$PGTMP"' EXIT
    else
      echo "warning: could not start postgresql; PostgreSQL outbox tests will skip" >&2
    fi
  fi
fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
rc=0
.venv/bin/python -m pytest "$@" || rc=$?  # not exec: the trap stops the PostgreSQL server afterwards
if [ "$rc" -ne 0 ]; then exit "$rc"; fi
# then the wheel as a new user gets it (build, fresh venv outside the checkout, the README's
# wheel commands, a smoke test, the sdist's own tests); UBLTR_SKIP_WHEEL=1 skips it locally
if [ "${UBLTR_SKIP_WHEEL:-}" != "1" ] && [ $# -eq 0 ]; then bash scripts/wheel-smoke.sh; fi
