#!/usr/bin/env bash
# The demo: ActiveCampaign -> Abmatic import and Abmatic -> ActiveCampaign push, run as the
# Meltano jobs of meltano.yml against a local ActiveCampaign sandbox. Needs Python 3.11+ and
# pip only (PyPI is used once, for the installs).
#
#   bash scripts/demo.sh
#
# 1. set-up: scripts/setup.sh (.venv with our packages), Meltano (.tools/meltano) and the
#    plugins (.meltano/), each installed only when missing or changed;
# 2. starts the sandbox in the background (seed "demo", 5,000 contacts, 5 requests/s like a
#    real account) on port 8765, or on a free port when 8765 is taken; it is stopped on exit;
# 3. `meltano run --full-refresh import` then `meltano run --full-refresh push` (a clean start:
#    the demo's earlier output and state are not reused);
# 4. both jobs again, without --full-refresh: incremental, little or nothing to do;
# 5. prints what happened: rows per Abmatic table, the activity log, rejects, API usage.
#
# Knobs: ABMATIC_DEMO_CONTACTS (5000), ABMATIC_DEMO_PORT (8765), ABMATIC_DEMO_RATE (5 requests/s;
# 0 = no limit, then the plugins are not paced either). Logs: output/demo/*.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CONTACTS=${ABMATIC_DEMO_CONTACTS:-5000}
PORT=${ABMATIC_DEMO_PORT:-8765}
RATE=${ABMATIC_DEMO_RATE:-5}
OUT=$ROOT/output
LOGS=$OUT/demo
T0=$(date +%s)

step() { printf '\n==> [%3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }

step "set-up (scripts/setup.sh, Meltano, plugins)"
bash scripts/setup.sh
bash scripts/meltano.sh --ensure
mkdir -p "$LOGS"
if ! bash scripts/meltano.sh --install-plugins >"$LOGS/install.log" 2>&1; then
  tail -30 "$LOGS/install.log" >&2
  echo "demo: 'meltano install' failed (full log: $LOGS/install.log)" >&2
  exit 1
fi
echo "plugins installed (.meltano/, log: output/demo/install.log)"

# A clean start: the previous demo's store, logs and rejects go (state is ignored below).
rm -f "$OUT"/abmatic.duckdb "$OUT"/abmatic.duckdb.wal "$OUT"/activity-log.jsonl \
  "$OUT"/rejects-*.jsonl "$LOGS"/run-*.log

PY=.venv/bin/python
if ! "$PY" - "$PORT" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
then
  NEW=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "port $PORT is taken: using $NEW"
  PORT=$NEW
fi
URL=http://127.0.0.1:$PORT
KEY=sandbox-demo-key
rate_args=(--rate-limit "$RATE")
[ "$RATE" = 0 ] && rate_args=(--no-rate-limit)

step "starting the ActiveCampaign sandbox ($CONTACTS contacts, $URL)"
"$PY" -m activecampaign_sandbox --port "$PORT" --seed demo --contacts "$CONTACTS" \
  --api-key "$KEY" "${rate_args[@]}" >"$LOGS/sandbox.log" 2>&1 &
SANDBOX_PID=$!
stop_sandbox() {
  if kill -0 "$SANDBOX_PID" 2>/dev/null; then
    kill "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
    echo "(sandbox stopped)"
  fi
}
trap stop_sandbox EXIT
trap 'exit 130' INT TERM
"$PY" - "$URL" "$SANDBOX_PID" <<'PY'
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 60
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("demo: the sandbox exited; see output/demo/sandbox.log")
    try:
        urllib.request.urlopen(url + "/_sandbox/stats", timeout=2).read()
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit("demo: the sandbox did not answer within 60 s; see output/demo/sandbox.log")
PY
head -1 "$LOGS/sandbox.log"

# Everything below talks to the sandbox only: these win over meltano.yml and over any .env.
export MELTANO_ENVIRONMENT=sandbox
export TAP_ACTIVECAMPAIGN_API_URL=$URL TAP_ACTIVECAMPAIGN_API_KEY=$KEY
export TARGET_ACTIVECAMPAIGN_API_URL=$URL TARGET_ACTIVECAMPAIGN_API_KEY=$KEY
if [ "$RATE" = 0 ]; then
  export TAP_ACTIVECAMPAIGN_REQUESTS_PER_SECOND=1000 TARGET_ACTIVECAMPAIGN_REQUESTS_PER_SECOND=1000
fi

run_job() {  # run_job LOGNAME meltano-run-args...
  local name=$1 t=$SECONDS
  shift
  if ! bash scripts/meltano.sh run "$@" >"$LOGS/run-$name.log" 2>&1; then
    grep -v METRIC "$LOGS/run-$name.log" | tail -25 >&2
    echo "demo: 'meltano run $*' failed (full log: output/demo/run-$name.log)" >&2
    exit 1
  fi
  echo "meltano run $* -> ok in $((SECONDS - t)) s (log: output/demo/run-$name.log)"
  grep -h -E "Run summary|API usage|Skipped [0-9]+ unchanged" "$LOGS/run-$name.log" \
    | grep -v -E " out=0$" | sed -E 's/^.*\] +/   /' | cut -c1-150 || true
}

pace="at $RATE requests/s"
[ "$RATE" = 0 ] && pace="no rate limit"
step "import job, first run: ActiveCampaign -> abmatic-import -> DuckDB ($pace)"
run_job import-1 --full-refresh import
step "push job, first run: demo/accounts*.jsonl, demo/visitors*.jsonl -> abmatic-push -> ActiveCampaign"
run_job push-1 --full-refresh push
step "import job, second run (incremental: only contacts changed since the first run)"
run_job import-2 import
step "push job, second run (incremental: the export files have not changed)"
run_job push-2 push

step "what happened"
.meltano/loaders/target-duckdb/venv/bin/python - "$OUT" "$URL" "$ROOT/demo" "$KEY" <<'PY'
import collections, glob, json, os, sys, urllib.parse, urllib.request
import duckdb

out, url, demo, key = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rel = lambda p: os.path.relpath(p, os.path.dirname(out))

print(f"Abmatic store {rel(out + '/abmatic.duckdb')} (rows per table):")
con = duckdb.connect(out + "/abmatic.duckdb", read_only=True)
for table in ("contacts", "accounts", "opportunities"):
    n = con.execute(f"select count(*) from {table}").fetchone()[0]
    print(f"  {table:<14}{n:>7}")
pushed = con.execute(
    "select work_email, activecampaign_id, engagement_score from contacts "
    "where work_email in ('maria.keller@northwindtraders.com', 'tom.baker@northwindtraders.com')"
    " order by 1").fetchall()
if pushed:
    print("  round trip: contacts created by the push came back with the second import:")
    for email, ac_id, score in pushed:
        print(f"    {email}  activecampaign_id={ac_id}  engagement_score={score}")
con.close()

log = out + "/activity-log.jsonl"
print(f"\nActivity log {rel(log)} (target-activecampaign, one line per record):")
counts = collections.Counter()
records = []
for line in open(log, encoding="utf-8") if os.path.exists(log) else []:
    entry = json.loads(line)
    if entry.get("type") == "summary":
        continue
    counts[(entry.get("object"), entry.get("outcome"))] += 1
    records.append(entry)
for (obj, outcome), n in sorted(counts.items()):
    print(f"  {obj:<8} {outcome:<10}{n:>4}")
exported = {}
for path in sorted(glob.glob(demo + "/visitors*.jsonl")):
    for line in open(path, encoding="utf-8"):
        rec = json.loads(line)
        if rec.get("work_email"):
            exported.setdefault(rec["work_email"].strip().lower(), {}).update(
                {k: v for k, v in rec.items() if v not in (None, [], "")})
names = {"first_name": "firstName", "last_name": "lastName", "phone": "phone"}


def ac_contact(email):
    req = urllib.request.Request(f"{url}/api/3/contacts?email={urllib.parse.quote(email)}",
                                 headers={"Api-Token": key})
    found = json.load(urllib.request.urlopen(req, timeout=5)).get("contacts") or []
    return found[0] if found else {}

for e in records:
    if e.get("object") != "contact":
        continue
    changes = e.get("changes") or {}
    shown = ", ".join(f"{k}: {v.get('from')!r} -> {v.get('to')!r}"
                      for k, v in changes.items() if isinstance(v, dict))[:300]
    print(f"  [{e.get('type')}] {e.get('key')} ({e.get('event') or '-'}): "
          f"{e.get('message')}{' - ' + shown if shown else ''}")
    if e.get("outcome") == "updated":
        src, now = exported.get(e.get("key"), {}), ac_contact(e.get("key"))
        kept = [f"{ac} {now.get(ac)!r} (Abmatic: {src[ab]!r})" for ab, ac in names.items()
                if ab in src and ac not in changes and now.get(ac) not in (None, "", src[ab])]
        if kept:
            print(f"      fill kept ActiveCampaign's {', '.join(kept)}")

print("\nRejected records, all runs (each kept with its reason):")
found = False
for path in sorted(glob.glob(out + "/rejects-*.jsonl")):
    lines = [json.loads(x) for x in open(path, encoding="utf-8") if x.strip()]
    reasons = collections.Counter(str(x.get("reason") or x.get("error") or "?")[:70]
                                  for x in lines)
    for reason, n in reasons.most_common(3):
        print(f"  {rel(path)}: {n} x {reason}")
    found = True
if not found:
    print("  none")

try:
    stats = json.load(urllib.request.urlopen(url + "/_sandbox/stats", timeout=5))
    print(f"\nSandbox API usage, all four runs: {stats.get('total_requests')} requests, "
          f"statuses {json.dumps(stats.get('statuses'))}, "
          f"429 (rate limited): {stats.get('throttled_429')}, "
          f"peak {stats.get('peak_rate')} requests/s (limit {stats.get('rate_limit')})")
except OSError as exc:
    print(f"\n(sandbox stats unavailable: {exc})")
PY

cat <<EOF

Where to look
  output/abmatic.duckdb            the Abmatic store (tables contacts, accounts, opportunities)
                                   e.g. .meltano/loaders/target-duckdb/venv/bin/python -c \\
                                     "import duckdb; print(duckdb.connect('output/abmatic.duckdb', read_only=True).sql('from contacts limit 5'))"
  output/activity-log.jsonl        every record the push wrote or skipped, with its changes
  output/rejects-*.jsonl           records refused by the mapper or the target, with the reason
  output/demo/run-*.log            the four meltano runs; output/demo/sandbox.log
  bash scripts/meltano.sh state list                 the saved state (one id per job step)
  bash scripts/preview.sh --source list:3 -n 10      preview an import (needs a running sandbox)
Done in $(( $(date +%s) - T0 )) s.
EOF
