#!/usr/bin/env bash
# The main job: a coordinator dispatching tasks to three runners working in parallel
# in OpenCode sessions on a sample repository, with the scripted model (no API key).
# The two runners that write files work in isolated git worktrees, one branch per task.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sb() { "${SB:-sb}" "$@"; }

work="$(mktemp -d)"
export SWITCHBOARD_HOME="$work/switchboard"
repo="$work/calc-service"
cp -r "$here/demo/sample-repo" "$repo"
git -C "$repo" init --quiet --initial-branch=main
git -C "$repo" add -A
git -C "$repo" -c user.name=demo -c user.email=demo@example.com commit --quiet -m "calc-service"

cleanup() {
  sb coordinator stop >/dev/null 2>&1 || true
  sb opencode stop >/dev/null 2>&1 || true
  [ -n "${model_pid:-}" ] && kill "$model_pid" 2>/dev/null || true
}
trap cleanup EXIT

echo "== the scripted model (an OpenAI-compatible server answering from $here/demo/model.yaml)"
"${SB:-sb}" model serve --script "$here/demo/model.yaml" --port 0 --configure "$repo" > "$work/model.log" 2>&1 &
model_pid=$!  # the server itself, not a subshell: started without the sb() wrapper
for _ in $(seq 100); do [ -f "$repo/opencode.json" ] && break; sleep 0.1; done

echo "== three runners (the two that write files each get a git worktree per task)"
for runner in code-reviewer test-generator docs-writer; do
  isolation=worktree; [ "$runner" = code-reviewer ] && isolation=none
  sb runner create "$runner" --workdir "$repo" --instructions "$here/demo/agents/$runner.md" \
    --description "demo $runner" --timeout 120 --isolation "$isolation"
done

echo "== tasks"
review=$(sb task add "Review src/ for security issues" --runner code-reviewer --convoy demo --priority high)
tests=$(sb task add "Generate unit tests for src/calc.py" --runner test-generator --convoy demo)
docs=$(sb task add "Write API docs for src/" --runner docs-writer --convoy demo)
# Writes nothing: no worktree for it (the task's --isolation beats its runner's).
sb task add "Summarise the review, tests and docs as release notes" --runner docs-writer \
  --after "$review,$tests,$docs" --convoy demo --isolation none >/dev/null
sb task list --convoy demo

echo "== the coordinator (managed OpenCode server on 127.0.0.1, random port and password)"
sb coordinator start --concurrency 3
sb coordinator status --watch --until-done

echo "== results"
sb task wait --convoy demo --timeout 300
for id in $(sb task list --convoy demo --json | python3 -c 'import json,sys; print(*[t["id"] for t in json.load(sys.stdin)][::-1])'); do
  echo; sb task show "$id"
done
echo; echo "== status reports in the coordinator's inbox"
sb mail check --agent coordinator --type status_report

echo; echo "== isolated work: one branch per task; the main tree has only switchboard's opencode.json"
git -C "$repo" status --short
for id in "$tests" "$docs"; do
  echo; echo "-- task $id on $(sb task show "$id" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["workspace"]["branch"])')"
  sb task diff "$id" --stat
done
