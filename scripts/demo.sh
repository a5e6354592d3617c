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

step "verify the ledger against the pinned key"
trailseal verify --trusted-key pinned-verifier.pub

step "current findings"
trailseal findings

step "record a risk decision and a triage on the open findings"
open_ids=$(trailseal findings --status open --json | python3 -c '
import json, sys
rows = [json.loads(line) for line in sys.stdin if line.strip()]
print(" ".join(r["identity"][:12] for r in rows[:2]))')
set -- $open_ids
if [ $# -ge 1 ]; then
  trailseal accept "$1" --approver "cto@example.invalid" \
    --justification "Internal admin tool; compensating network control in place." \
    --expires "$(date -u -d '+90 days' +%F 2>/dev/null || date -u -v+90d +%F)"
fi
if [ $# -ge 2 ]; then
  trailseal triage "$2" --decision investigating --note "Reviewing with the service owner." \
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
