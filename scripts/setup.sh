#!/usr/bin/env bash
# Creates .venv/ at the repository root with the three plugins, the shared client and the
# sandbox installed (editable), plus the development tools. Safe to run again: it reinstalls
# only when a package definition changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"Python 3.11+ is required (found {sys.version.split()[0]}); set PYTHON=/path/to/python3.11")
PY

PACKAGES=(activecampaign-client activecampaign-sandbox tap-activecampaign abmatic_mapper target-activecampaign)
stamp_src=$(cat requirements-dev.txt "${PACKAGES[@]/%//pyproject.toml}" | sha256sum | cut -d' ' -f1)

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
if [ "$(cat .venv/.setup-stamp 2>/dev/null)" != "$stamp_src" ]; then
  echo "==> installing the plugins and tools into .venv (first run takes a minute)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # The mapper's extras bring the store readers (DuckDB, PostgreSQL) its tests use.
  args=(-e ./activecampaign-client -e ./activecampaign-sandbox -e ./tap-activecampaign
        -e "./abmatic_mapper[duckdb,postgres]" -e ./target-activecampaign)
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt "${args[@]}"
  echo "$stamp_src" > .venv/.setup-stamp
fi
echo "==> .venv ready: $(ls .venv/bin | grep -E '^(tap|target)-activecampaign$|^abmatic-mapper$|^activecampaign-sandbox$' | tr '\n' ' ')"
# Meltano in its own venv (.tools/meltano; never in .venv). `bash scripts/meltano.sh
# --install-plugins` then installs the plugins of meltano.yml (demo.sh and the tests do it).
bash scripts/meltano.sh --ensure
echo "==> $(bash scripts/meltano.sh --version 2>/dev/null | head -1) ready (bash scripts/meltano.sh)"
