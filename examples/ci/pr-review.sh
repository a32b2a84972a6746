#!/usr/bin/env bash
# Review a pull request with switchboard: queue a review of the PR's diff on a runner,
# wait for it, and write the answer to the CI job's summary.
#
#   BASE_REF=origin/main bash examples/ci/pr-review.sh
#
# Environment (all optional):
#   BASE_REF        what the PR is compared against          [origin/main]
#   RUNNER          the runner that reviews                   [reviewer]
#   MODEL           provider/model for that runner            [the OpenCode server's default]
#   ATTACH          an OpenCode server URL                    [switchboard starts its own]
#   REVIEW_TIMEOUT  seconds to wait for the review            [900]
#   MAX_DIFF_BYTES  larger diffs are cut to this many bytes   [200000]
#   GITHUB_STEP_SUMMARY  where the review goes                [standard output]
#   SB              the switchboard command                   [sb]
# Exit code: that of `sb task wait`: 0 reviewed, 1 the review task failed, 124 timed out.
set -euo pipefail

SB=${SB:-sb}
BASE_REF=${BASE_REF:-origin/main}
RUNNER=${RUNNER:-reviewer}
REVIEW_TIMEOUT=${REVIEW_TIMEOUT:-900}
MAX_DIFF_BYTES=${MAX_DIFF_BYTES:-200000}
SUMMARY=${GITHUB_STEP_SUMMARY:-/dev/stdout}

diff=$(git diff "$BASE_REF"...HEAD | head -c "$MAX_DIFF_BYTES")
if [ -z "$diff" ]; then
    echo "No changes against $BASE_REF: nothing to review." >> "$SUMMARY"
    exit 0
fi

if ! $SB runner show "$RUNNER" --json > /dev/null 2>&1; then
    $SB runner create "$RUNNER" --description "Reviews pull requests" --workdir "$PWD" \
        ${MODEL:+--model "$MODEL"} --json > /dev/null
fi
$SB coordinator start --no-memory ${ATTACH:+--attach "$ATTACH"} --json > /dev/null
trap '$SB coordinator stop --json > /dev/null || true' EXIT

task=$(printf 'Review this pull request. List bugs, risks and missing tests, most important first; say LGTM if there are none.\n\n```diff\n%s\n```\n' "$diff" \
    | $SB task add - --runner "$RUNNER" --timeout "$REVIEW_TIMEOUT" --json \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')

status=0
$SB task wait "$task" --timeout "$REVIEW_TIMEOUT" --json > review.json || status=$?

python3 - review.json "$status" >> "$SUMMARY" <<'PY'
import json, sys

report, status = json.load(open(sys.argv[1])), int(sys.argv[2])
task = report["tasks"][0]
print(f"## switchboard review (task #{task['id']}: {task['status']})\n")
if status == 0:
    print(task["result"])
elif status == 124:
    print(f"The review did not finish in time (still {task['status']}).")
else:
    print(f"The review failed: {task['error']}")
PY
exit "$status"
