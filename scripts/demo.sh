#!/usr/bin/env bash
# The main job on the embedded default, end to end, in a fresh directory:
# create a ledger, scan a small service with Bandit and trailseal's own
# scanner, record the results as a CI job would, fix one problem and scan
# again, verify the ledger against the pinned key, and list the findings.
set -euo pipefail

out=${1:-out/demo}
repo_root=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
export TRAILSEAL_HOME="$out/.trailseal"
unset TRAILSEAL_DB TRAILSEAL_SIGNING_KEY TRAILSEAL_KEY_PASSPHRASE TRAILSEAL_REDACTION_KEY
cd "$out"

step() { printf '\n== %s\n' "$*" >&2; }

step "create the ledger (the verifier key is the last line printed)"
trailseal init --origin demo.trailseal.invalid/payments-api | tail -n 1 > pinned-verifier.pub
cat pinned-verifier.pub >&2

cp -R "$repo_root/examples/payments-api" service
commit=$(git -C "$repo_root" rev-parse HEAD 2>/dev/null || echo 0000000000000000000000000000000000000000)

scan_and_record() {
  local label=$1
  # Bandit exits 1 when it finds something; the SARIF file is what matters.
  bandit -q -r service -f sarif -o "bandit-$label.sarif" || test -s "bandit-$label.sarif"
  trailseal scan service --sarif "trailseal-scan-$label.sarif" >/dev/null || true
  trailseal ingest --repo example/payments-api --commit "$commit" --branch main \
    --run-url "https://ci.example.invalid/payments-api/runs/$label" \
    "bandit-$label.sarif" "trailseal-scan-$label.sarif"
}

step "first CI run: scan and record"
scan_and_record run1

step "the same artifact again (a CI retry): recorded once only"
trailseal ingest --repo example/payments-api --commit "$commit" bandit-run1.sarif

step "fix the SQL injection and the debug server, then scan again"
python3 - <<'PY'
from pathlib import Path
views = Path("service/app/views.py")
text = views.read_text()
text = text.replace(
    """conn.execute("SELECT * FROM reports WHERE title LIKE '%" + term + "%'")""",
    """conn.execute("SELECT * FROM reports WHERE title LIKE ?", (f"%{term}%",))""",
)
text = text.replace("app.run(debug=True)", "app.run()")
views.write_text(text)
PY
scan_and_record run2

step "runtime: an access log where one token walks through other people's invoices"
python3 - <<'PY'
import json
from datetime import datetime, timedelta, timezone

start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
lines = []
for user in range(25):  # ordinary users reading their own invoices
    for k in range(12):
        lines.append({"time": (start + timedelta(seconds=user * 90 + k * 5)).isoformat(),
                      "method": "GET", "path": f"/invoices/{5000 + user * 40 + k % 4}",
                      "status": 200, "sub": f"customer-{user}", "ip": f"192.0.2.{user}"})
for k in range(80):  # one token stepping through ids it does not own
    lines.append({"time": (start + timedelta(seconds=2400 + k)).isoformat(),
                  "method": "GET", "path": f"/invoices/{5000 + k}",
                  "status": 404 if k % 4 == 0 else 200, "sub": "customer-7", "ip": "198.51.100.23"})
lines.sort(key=lambda line: line["time"])
with open("access.jsonl", "w") as handle:
    handle.writelines(json.dumps(line) + "\n" for line in lines)
PY
trailseal runtime logs access.jsonl --out runtime-findings.jsonl --ingest

step "verify the ledger against the pinned key"
trailseal verify --trusted-key pinned-verifier.pub

step "current findings"
trailseal findings

step "record a risk decision and a triage on the open findings"
open_ids=$(trailseal findings --status open --json | python3 -c '
import json, sys
rows = [json.loads(line) for line in sys.stdin if line.strip()]
code = [r for r in rows if r["category"] != "runtime"]
runtime = [r for r in rows if r["category"] == "runtime"]
print(" ".join(r["identity"][:12] for r in code[:1] + runtime[:1]))')
set -- $open_ids
if [ $# -ge 1 ]; then
  trailseal accept "$1" --approver "cto@example.invalid" \
    --justification "Internal admin tool; compensating network control in place." \
    --expires "$(date -u -d '+90 days' +%F 2>/dev/null || date -u -v+90d +%F)"
fi
if [ $# -ge 2 ]; then
  trailseal triage "$2" --decision confirmed --note "Token revoked; ownership check added." \
    --analyst "secops@example.invalid"
fi

step "write the auditor's evidence pack for the period covering today, and check it"
today=$(date -u +%F)
pack=$(trailseal export --from "$today" --to "$today" --out "$out/evidence-$today.zip" \
  --organisation "Example Payments Ltd" \
  --scope-description "The payments-api service and its CI scans." \
  --by "compliance@example.invalid" --trusted-key pinned-verifier.pub)
trailseal verify-pack "$pack" --trusted-key pinned-verifier.pub
echo "$pack"
