#!/usr/bin/env bash
# Runs Meltano from its own virtual environment, installing it there first when needed.
#
#   bash scripts/meltano.sh [meltano arguments...]   e.g. bash scripts/meltano.sh run import
#   bash scripts/meltano.sh --ensure                 install Meltano only (no command)
#   bash scripts/meltano.sh --install-plugins        `meltano install`: (re)installs every plugin
#                                                    from meltano.yml (our local folders included)
#
# Meltano lives in .tools/meltano (never in .venv: its dependencies clash with the plugins').
# Override with MELTANO_VENV=/some/dir. Python 3.11+ is taken from $PYTHON (default python3).
# Telemetry and version checks are off (also in meltano.yml), so only PyPI is ever contacted,
# and only by `meltano install`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MELTANO_VERSION=4.4.1
# The `postgres` extra brings psycopg, needed when Meltano's system database (and so its
# state) lives in PostgreSQL (the prod environment).
MELTANO_REQ="meltano[postgres]==${MELTANO_VERSION}"
MELTANO_VENV=${MELTANO_VENV:-$ROOT/.tools/meltano}
PYTHON=${PYTHON:-python3}

export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false
export MELTANO_DISABLE_TRACKING=true
export MELTANO_CLI_DISABLE_VERSION_CHECK=true
export MELTANO_SNOWPLOW_COLLECTOR_ENDPOINTS='[]'
export DO_NOT_TRACK=1

ensure_meltano() {
  local stamp="$MELTANO_VENV/.meltano-req"
  if [ -x "$MELTANO_VENV/bin/meltano" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$MELTANO_REQ" ]; then
    return 0
  fi
  echo "==> installing $MELTANO_REQ into ${MELTANO_VENV#"$ROOT"/} (once)" >&2
  "$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"Python 3.11+ is required (found {sys.version.split()[0]}); set PYTHON=/path/to/python3.11")
PY
  [ -x "$MELTANO_VENV/bin/python" ] || "$PYTHON" -m venv "$MELTANO_VENV"
  "$MELTANO_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$MELTANO_REQ" >&2
  echo "$MELTANO_REQ" > "$stamp"
}

# `meltano install` (Meltano 4.4.1, uv) reinstalls every plugin each time, so a code change in
# our local plugin folders (non-editable installs) is picked up by simply running it again.
install_plugins() {
  "$MELTANO_VENV/bin/meltano" install "$@"
}

ensure_meltano
case "${1:-}" in
  --ensure) exit 0 ;;
  --install-plugins) shift; install_plugins "$@" ;;
  *) exec "$MELTANO_VENV/bin/meltano" "$@" ;;
esac
