#!/usr/bin/env bash
# A coordinator hands work to two workers through the mailbox; they claim, ack and report.
set -euo pipefail
export SWITCHBOARD_HOME="${SWITCHBOARD_HOME:-$(mktemp -d)/switchboard}"
sb() { "${SB:-sb}" "$@"; }

sb mail register --agent coordinator --role coordinator
sb mail register --agent code-reviewer
sb mail register --agent test-generator
sb mail send --from coordinator --to code-reviewer --type task_dispatch --priority high \
  --payload "Review src/auth.ts for security issues" >/dev/null
sb mail send --from coordinator --to test-generator --type task_dispatch \
  --payload "Generate unit tests for src/utils/" >/dev/null
sb mail send --from coordinator --to all --type broadcast --payload "Freeze: no pushes to main today" >/dev/null

for worker in code-reviewer test-generator; do
  id=$(sb mail claim --agent "$worker" --type task_dispatch --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  sb mail ack "$id"
  sb mail send --from "$worker" --to coordinator --type status_report --reply-to "$id" \
    --payload "$worker finished task $id" >/dev/null
done

echo; echo "coordinator's inbox:"; sb mail check --agent coordinator
echo; sb mail status
