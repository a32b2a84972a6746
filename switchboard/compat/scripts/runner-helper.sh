# --- runner-helper.sh: the reference runners' verbs over `sb runner` ------------
# Runners live in switchboard's database and in $SWITCHBOARD_HOME/runners/<name>/
# (AGENTS.md, config.json, runs/run-<id>.log); AIDEVOPS_RUNNERS_DIR has no meaning here.

# The reference logs on standard error as `[RUNNER] ...`.
log() {
	echo "[RUNNER] $*" >&2
}

runner_name() {
	[[ -n "${1:-}" && "$1" != -* ]] || fail "runner name required"
}

cmd_create() {
	runner_name "$@"
	local name="$1" args=(runner create "$1")
	shift
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--description | --model | --workdir) need "$@"; args+=("$1" "$2"); shift 2 ;;
		--provider) unsupported "runner-helper.sh create --provider" ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	local created
	created="$("$SB" "${args[@]}" --json)"
	log "Created runner: $name"
	render runner-created <<<"$created"
}

cmd_run() {
	runner_name "$@"
	local name="$1" prompt="${2:-}" format="text"
	[[ -n "$prompt" ]] || fail "prompt required: runner-helper.sh run $name \"your prompt here\""
	shift 2
	local args=(runner run "$name" "$prompt")
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--attach | --model | --timeout) need "$@"; args+=("$1" "$2"); shift 2 ;;
		--format) need "$@"; format="$2"; shift 2 ;;
		--continue | -c) args+=(--continue); shift ;;
		--provider) unsupported "runner-helper.sh run --provider" ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	[[ "$format" == json || "$format" == text || "$format" == default ]] || fail "--format must be json or default"
	log "Dispatching to runner: $name"
	# `sb runner run` exits 1 when the run failed; its JSON still describes the run.
	local finished code=0
	finished="$("$SB" "${args[@]}" --json)" || code=$?
	[[ $code -le 1 && -n "$finished" ]] || exit "$code"
	if [[ "$format" == json ]]; then
		printf '%s\n' "$finished"
	fi
	render runner-run "$format" <<<"$finished"
	return "$code"
}

cmd_status() {
	runner_name "$@"
	local runners
	runners="$("$SB" runner list --json)"
	render runner-status "$1" <<<"$runners"
}

cmd_list() {
	local format="table"
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--format) need "$@"; format="$2"; shift 2 ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	local runners
	runners="$("$SB" runner list --json)"
	render runner-list "$format" <<<"$runners"
}

cmd_edit() {
	runner_name "$@"
	"$SB" runner edit "$1" >/dev/null
	log "Updated AGENTS.md for runner: $1"
}

cmd_logs() {
	runner_name "$@"
	local name="$1" tail=50 follow=false
	shift
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--tail) need "$@"; tail="$2"; shift 2 ;;
		--follow | -f) follow=true; shift ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	if [[ "$follow" == true ]]; then
		exec "$SB_BIN" runner logs "$name" --tail "$tail" --follow
	fi
	local logs
	logs="$("$SB" runner logs "$name" --tail "$tail" --json)"
	render runner-logs <<<"$logs"
}

cmd_stop() {
	runner_name "$@"
	local code=0
	"$SB" runner stop "$1" --json >/dev/null || code=$?
	if [[ $code -eq 1 ]]; then  # sb says so with exit 1: nothing was running
		log "Nothing running for runner: $1"
		exit 1
	fi
	[[ $code -eq 0 ]] || exit "$code"
	log "Aborted session for runner: $1"
}

# The reference's --force skips the question; switchboard's would also stop a running run.
cmd_destroy() {
	runner_name "$@"
	local name="$1" force=false
	shift
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--force) force=true; shift ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	"$SB" runner status "$name" --json >/dev/null
	if [[ "$force" != true ]]; then
		local confirm=""
		echo -n "Destroy runner '$name' and all its data? [y/N] "
		read -r confirm || true
		if [[ "$confirm" != y && "$confirm" != Y ]]; then
			log "Cancelled"
			return 0
		fi
	fi
	"$SB" runner destroy "$name" --json >/dev/null
	log "Destroyed runner: $name"
}

usage() {
	cat <<USAGE
runner-helper.sh - the reference runners' commands, served by switchboard ($SB)

USAGE:
    runner-helper.sh <command> [options]

COMMANDS:
    create <name> [--description D] [--model provider/model] [--workdir PATH]
    run <name> "prompt" [--attach URL] [--model M] [--format json] [--timeout 600] [--continue|-c]
    status <name>
    list [--format json]
    edit <name>                (opens AGENTS.md in \$EDITOR)
    logs <name> [--tail 50] [--follow|-f]
    stop <name>
    destroy <name> [--force]
    help

Runs go through OpenCode's HTTP server (--attach URL, else switchboard's managed one),
with the runner's memory and unread mail as context, and report to coordinator.
Environment: SWITCHBOARD_HOME, SWITCHBOARD_DATABASE_URL, OPENCODE_SERVER_PASSWORD (for --attach)
Not supported yet: --provider, model tiers (simple/standard/thinking)
USAGE
}

command="${1:-help}"
shift || true
case "$command" in
create) cmd_create "$@" ;;
run) cmd_run "$@" ;;
status) cmd_status "$@" ;;
list) cmd_list "$@" ;;
edit) cmd_edit "$@" ;;
logs) cmd_logs "$@" ;;
stop) cmd_stop "$@" ;;
destroy) cmd_destroy "$@" ;;
help | --help | -h) usage ;;
*) fail "unknown command: $command (see runner-helper.sh help)" ;;
esac
