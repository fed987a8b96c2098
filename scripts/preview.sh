#!/usr/bin/env bash
# Import preview: the first N Abmatic records an import would produce, for one import source.
# tap-activecampaign -> abmatic-mapper (the import mapping of meltano.yml); nothing is written
# (no store, no state), and the run stops as soon as N records have been shown.
#
#   bash scripts/preview.sh [--source all|list:ID|tag:ID|segment:ID] [-n N]
#                           [--stream contacts|accounts|opportunities] [--json]
#                           [--environment sandbox|prod] [--no-store]
#
# e.g. bash scripts/preview.sh --source list:3 -n 10   (the demo sandbox's "Webinar Attendees")
#
# The ActiveCampaign account is the environment's (sandbox: http://127.0.0.1:8765, or
# TAP_ACTIVECAMPAIGN_API_URL / _API_KEY). The preview reads the whole source (no bookmark), like
# a first import. With the store (default) `fill` fields show the values the store would keep;
# --no-store shows the raw mapping. Logs of the tap and the mapper: output/preview.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SOURCE=all N=10 STREAM=contacts FORMAT=table USE_STORE=1
ENVIRONMENT=${MELTANO_ENVIRONMENT:-sandbox}
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --source) SOURCE=$2; shift 2 ;;
    -n|--limit) N=$2; shift 2 ;;
    --stream) STREAM=$2; shift 2 ;;
    --json) FORMAT=json; shift ;;
    --environment) ENVIRONMENT=$2; shift 2 ;;
    --no-store) USE_STORE=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "preview.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ "$N" =~ ^[1-9][0-9]*$ ]] || { echo "preview.sh: -n needs a positive number" >&2; exit 2; }
case "$STREAM" in contacts|accounts|opportunities) ;; *)
  echo "preview.sh: --stream is contacts, accounts or opportunities" >&2; exit 2 ;; esac

# The source becomes the tap's list_ids / tag_ids / segment_ids (shell > meltano.yml).
export TAP_ACTIVECAMPAIGN_LIST_IDS='[]' TAP_ACTIVECAMPAIGN_TAG_IDS='[]' TAP_ACTIVECAMPAIGN_SEGMENT_IDS='[]'
case "$SOURCE" in
  all) ;;
  list:?*) TAP_ACTIVECAMPAIGN_LIST_IDS="[\"${SOURCE#list:}\"]" ;;
  tag:?*) TAP_ACTIVECAMPAIGN_TAG_IDS="[\"${SOURCE#tag:}\"]" ;;
  segment:?*) TAP_ACTIVECAMPAIGN_SEGMENT_IDS="[\"${SOURCE#segment:}\"]" ;;
  *) echo "preview.sh: --source is all, list:ID, tag:ID or segment:ID" >&2; exit 2 ;;
esac
export MELTANO_ENVIRONMENT=$ENVIRONMENT

bash scripts/meltano.sh --ensure
MAPPER=.meltano/mappers/abmatic-mapper/venv/bin/abmatic-mapper
if [ ! -x "$MAPPER" ] || [ ! -x .meltano/extractors/tap-activecampaign/venv/bin/tap-activecampaign ]; then
  echo "==> installing the plugins (bash scripts/meltano.sh --install-plugins)" >&2
  bash scripts/meltano.sh --install-plugins >/dev/null
fi

mkdir -p output
LOG=output/preview.log
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
MAPPING=abmatic-import
[ "$ENVIRONMENT" = prod ] && MAPPING=abmatic-import-pg

# The mapping's own config from meltano.yml, with variables expanded, minus side effects.
MELTANO_PROJECT_ROOT=$ROOT .tools/meltano/bin/python - "$MAPPING" "$USE_STORE" "$N" "$WORK" \
  >"$WORK/mapper.json" <<'PY'
import json, os, re, sys
import yaml

mapping, use_store, n, work = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), sys.argv[4]
project = yaml.safe_load(open("meltano.yml", encoding="utf-8"))
config = None
for mapper in project["plugins"].get("mappers", []):
    for m in mapper.get("mappings", []):
        if m["name"] == mapping:
            config = dict(m.get("config") or {})
if config is None:
    sys.exit(f"preview.sh: mapping {mapping} not found in meltano.yml")


def expand(value):
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}|\$(\w+)",
                      lambda m: os.environ.get(m.group(1) or m.group(2), ""), value)
    if isinstance(value, dict):
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


config = expand(config)
if not use_store or not config.get("store_url"):
    config.pop("store_url", None)
    config.pop("store_schema", None)
config["rejects_path"] = os.path.join(work, "rejects.jsonl")  # nothing lands in output/
config["dedupe_buffer_keys"] = max(n, 1)  # flush early: show records as soon as they exist
json.dump(config, sys.stdout)
PY

cat >"$WORK/show.py" <<'PY'
import json, sys

stream, n, fmt = sys.argv[1], int(sys.argv[2]), sys.argv[3]
columns = {
    "contacts": ["work_email", "first_name", "last_name", "company_name", "job_title",
                 "lists", "tags", "engagement_score"],
    "accounts": ["website_domain", "company_name", "phone", "activecampaign_id"],
    "opportunities": ["activecampaign_id", "name", "amount", "currency", "status", "stage",
                      "contact_email"],
}[stream]


def cell(v):
    if v is None:
        return ""
    if isinstance(v, list):
        v = ", ".join(map(str, v))
    return str(v)[:40]


rows = []
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("type") != "RECORD" or msg.get("stream") != stream:
        continue
    rec = msg["record"]
    if fmt == "json":
        print(json.dumps(rec, ensure_ascii=False))
    else:
        rows.append([cell(rec.get(c)) for c in columns])
    if len(rows) >= n or (fmt == "json" and (n := n - 1) == 0):
        break
if rows:
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    for r in [columns, ["-" * w for w in widths], *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
shown = len(rows) if fmt == "table" else int(sys.argv[2]) - n
print(f"({shown} {stream} record(s) shown; nothing was written)", file=sys.stderr)
sys.exit(0 if shown else 3)
PY

echo "==> preview: source $SOURCE, first $N $STREAM records ($ENVIRONMENT environment, mapping $MAPPING)" >&2
set +e +o pipefail
bash scripts/meltano.sh invoke tap-activecampaign 2>"$LOG" \
  | "$MAPPER" --config "$WORK/mapper.json" 2>>"$LOG" \
  | python3 -u "$WORK/show.py" "$STREAM" "$N" "$FORMAT"
rc=${PIPESTATUS[2]}
set -e
if [ "$rc" = 3 ]; then
  echo "preview.sh: no $STREAM records (empty source, or an error: see $LOG)" >&2
  grep -i -E "error|exception|refused" "$LOG" | grep -v METRIC | tail -5 >&2 || true
  exit 1
fi
exit "$rc"
