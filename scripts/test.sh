#!/usr/bin/env bash
# The whole test suite: set-up, lint, type check, then every test (unit, sandbox, plugins,
# end to end). Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "==> ruff"
.venv/bin/ruff check .
echo "==> mypy"
.venv/bin/mypy activecampaign-client/activecampaign_client activecampaign-sandbox/activecampaign_sandbox \
  tap-activecampaign/tap_activecampaign abmatic_mapper/abmatic_mapper target-activecampaign/target_activecampaign
echo "==> pytest"
.venv/bin/python -m pytest "$@"
# The Dagster deployment (many accounts): its own venv (.tools/dagster), its own tests
# (orchestration/tests: three accounts in parallel, the per-account queue, the push sensor,
# the UI in headless Chromium). ~3 minutes.
echo "==> orchestration (bash scripts/dagster.sh test)"
bash scripts/dagster.sh test
