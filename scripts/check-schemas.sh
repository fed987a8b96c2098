#!/usr/bin/env bash
# Checks every stream schema this project emits (the tap's catalog, the mapper's import and
# push outputs) against the committed snapshots in schemas/. Needs no network.
# Usage: bash scripts/check-schemas.sh [--update]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# Discovery reads no data: a syntactically valid config is enough.
echo '{"api_url": "https://example.api-us1.com", "api_key": "discovery-only"}' > "$tmp/tap.json"
echo '{"direction": "import", "rejects_path": "'"$tmp"'/rejects.jsonl"}' > "$tmp/import.json"
echo '{"direction": "push", "rejects_path": "'"$tmp"'/rejects.jsonl"}' > "$tmp/push.json"

$bin/tap-activecampaign --config "$tmp/tap.json" --discover > "$tmp/catalog.json" 2>"$tmp/log"
$bin/python - "$tmp/catalog.json" > "$tmp/tap.singer" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["streams"]:
    print(json.dumps({"type": "SCHEMA", "stream": s["tap_stream_id"], "schema": s["schema"],
                      "key_properties": s["key_properties"]}))
PY
$bin/abmatic-mapper --config "$tmp/import.json" < "$tmp/tap.singer" > "$tmp/import.singer" 2>>"$tmp/log"
# The push direction reads Abmatic records: the import output's contacts and accounts.
grep -E '"stream": ?"(contacts|accounts)"' "$tmp/import.singer" \
  | $bin/abmatic-mapper --config "$tmp/push.json" > "$tmp/push.singer" 2>>"$tmp/log"

status=0
$bin/python scripts/check_schemas.py --snapshot schemas/tap-activecampaign "$tmp/catalog.json" "$@" || status=1
$bin/python scripts/check_schemas.py --snapshot schemas/abmatic-import "$tmp/import.singer" "$@" || status=1
$bin/python scripts/check_schemas.py --snapshot schemas/abmatic-push "$tmp/push.singer" "$@" || status=1
exit $status
