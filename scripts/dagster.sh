#!/usr/bin/env bash
# Dagster for the many-accounts deployment, from its own virtual environment (.tools/dagster,
# like Meltano's .tools/meltano), installed there first when needed (README.md, "Many accounts
# on Dagster").
#
#   bash scripts/dagster.sh demo        three sandbox accounts synced in parallel; one table
#   bash scripts/dagster.sh dev         the Dagster UI on the demo's accounts (Ctrl-C stops)
#   bash scripts/dagster.sh test [ARGS] orchestration/tests (pytest in the Dagster venv)
#   bash scripts/dagster.sh --ensure    install only
#   bash scripts/dagster.sh instance HOME [--max-concurrent-runs N] | register | check
#   bash scripts/dagster.sh dagster ARGS   the dagster CLI itself (e.g. `dagster dev -m abmatic_dagster.definitions`)
#
# The demo and the tests also need .venv (scripts/setup.sh: the sandbox) and the Meltano
# plugins (scripts/meltano.sh --install-plugins); both are installed here when missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DAGSTER_VENV=${DAGSTER_VENV:-$ROOT/.tools/dagster}
PYTHON=${PYTHON:-python3}
export DAGSTER_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1

ensure_dagster() {
  # The stamp is the pyproject's hash: a changed pin reinstalls.
  local stamp="$DAGSTER_VENV/.abmatic-dagster" want
  want=$(sha256sum orchestration/pyproject.toml | cut -d' ' -f1)
  if [ -x "$DAGSTER_VENV/bin/dagster" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "==> installing Dagster (orchestration/pyproject.toml) into ${DAGSTER_VENV#"$ROOT"/} (once)" >&2
  [ -x "$DAGSTER_VENV/bin/python" ] || "$PYTHON" -m venv "$DAGSTER_VENV"
  "$DAGSTER_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e "./orchestration[test]" >&2
  echo "$want" > "$stamp"
}

ensure_runtime() {  # what a deployment run needs besides Dagster: .venv (sandbox), plugins
  [ -x .venv/bin/python ] || bash scripts/setup.sh >&2
  if [ ! -x .meltano/loaders/target-duckdb/venv/bin/python ] ||
     [ ! -x .meltano/extractors/tap-activecampaign/venv/bin/tap-activecampaign ]; then
    bash scripts/meltano.sh --install-plugins >&2
  fi
}

ensure_chromium() {  # the browser test: Debian's chromium (never `playwright install`)
  command -v chromium >/dev/null 2>&1 && return 0
  echo "==> installing Debian's chromium (apt-get) for the browser test" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
}

ensure_dagster
case "${1:-}" in
  --ensure) exit 0 ;;
  demo|dev) ensure_runtime; exec "$DAGSTER_VENV/bin/python" -m abmatic_dagster "$@" ;;
  test)
    shift; ensure_runtime; ensure_chromium
    cd orchestration && exec "$DAGSTER_VENV/bin/python" -m pytest "$@" ;;
  dagster) shift; exec "$DAGSTER_VENV/bin/dagster" "$@" ;;
  "") sed -n '2,16p' "$0"; exit 2 ;;
  *) exec "$DAGSTER_VENV/bin/python" -m abmatic_dagster "$@" ;;
esac
