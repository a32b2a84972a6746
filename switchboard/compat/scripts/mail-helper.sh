# --- mail-helper.sh: the reference mailbox's verbs over `sb mail` ---------------
map_reference_dir AIDEVOPS_MAIL_DIR mailbox.db

# The reference logs its confirmations on standard error as `[MAIL] ...`.
log() {
	echo "[MAIL] $*" >&2
}

cmd_send() {
	local to="" type="" payload="" priority="normal" convoy="" from=""
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--to) need "$@"; to="$2"; shift 2 ;;
		--type) need "$@"; type="$2"; shift 2 ;;
		--payload) need "$@"; payload="$2"; shift 2 ;;
		--priority) need "$@"; priority="$2"; shift 2 ;;
		--convoy) need "$@"; convoy="$2"; shift 2 ;;
		--from) need "$@"; from="$2"; shift 2 ;;
		--transport) need "$@"; [[ "$2" == local ]] || unsupported "--transport $2"; shift 2 ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	[[ -n "$to" ]] || fail "missing --to <agent-id>"
	[[ -n "$type" ]] || fail "missing --type <message-type>"
	[[ -n "$payload" ]] || fail "missing --payload <message>"
	local args=(mail send --to "$to" --type "$type" --payload "$payload" --priority "$priority")
	[[ -z "$from" ]] || args+=(--from "$from")
	[[ -z "$convoy" || "$convoy" == none ]] || args+=(--convoy "$convoy")
	local ids
	ids="$("$SB" "${args[@]}")"
	local first="${ids%%$'\n'*}"
	if [[ "$to" == all || "$type" == broadcast ]]; then
		log "Broadcast sent: msg-$first (to $(wc -l <<<"$ids") agents)"
	else
		log "Sent: msg-$first → $to (priority: $priority)"
	fi
	echo "msg-$first"
}

cmd_check() {
	local agent="${SWITCHBOARD_AGENT:-}" unread_only=false
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--agent) need "$@"; agent="$2"; shift 2 ;;
		--unread-only) unread_only=true; shift ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	local args=(mail check --limit 1000000 --json)
	[[ -z "$agent" ]] || args+=(--agent "$agent")
	local messages
	messages="$("$SB" "${args[@]}")"
	render mail-check "${agent:-all agents}" "$unread_only" <<<"$messages"
}

# `read ID` and `archive ID`; the reference's --agent is accepted and, as there, unused.
message_id_arg() {
	local id=""
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--agent) need "$@"; shift 2 ;;
		-*) fail "unknown option: $1" ;;
		*) id="$1"; shift ;;
		esac
	done
	[[ -n "$id" ]] || fail "a message id is required"
	number_id msg- "$id"
}

cmd_read() {
	local id message
	id="$(message_id_arg "$@")"
	message="$("$SB" mail read "$id" --json)"
	render mail-read <<<"$message"
}

cmd_archive() {
	local id
	id="$(message_id_arg "$@")"
	"$SB" mail archive "$id" --json >/dev/null
	log "Archived: msg-$id"
}

cmd_prune() {
	local days=7 force=()
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--older-than-days) need "$@"; days="$2"; shift 2 ;;
		--force) force=(--force); shift ;;
		--dry-run) shift ;; # the reference's alias of the default (report only)
		*) fail "unknown option: $1" ;;
		esac
	done
	local counts report
	counts="$("$SB" mail status --json)"
	report="$("$SB" mail prune --older-than-days "$days" "${force[@]}" --json)"
	render mail-prune "$days" <<<"$counts$report"
}

cmd_status() {
	local agent=""
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--agent) need "$@"; agent="$2"; shift 2 ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	local counts agents
	if [[ -n "$agent" ]]; then
		counts="$("$SB" mail check --agent "$agent" --limit 1000000 --json)"
		render mail-status-agent "$agent" <<<"$counts"
	else
		counts="$("$SB" mail status --json)"
		agents="$("$SB" mail agents --json)"
		render mail-status <<<"$counts$agents"
	fi
}

# register and deregister: --agent, else SWITCHBOARD_AGENT (from AIDEVOPS_AGENT_ID).
cmd_register() {
	local agent="${SWITCHBOARD_AGENT:-}" role="worker"
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--agent) need "$@"; agent="$2"; shift 2 ;;
		--role) need "$@"; role="$2"; shift 2 ;;
		--branch | --worktree) unsupported "mail register $1" ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	[[ -n "$agent" ]] || fail "register needs --agent (or AIDEVOPS_AGENT_ID)"
	"$SB" mail register --agent "$agent" --role "$role" --json >/dev/null
	log "Registered agent: $agent (role: $role)"
}

cmd_deregister() {
	local agent="${SWITCHBOARD_AGENT:-}"
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--agent) need "$@"; agent="$2"; shift 2 ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	[[ -n "$agent" ]] || fail "deregister needs --agent (or AIDEVOPS_AGENT_ID)"
	"$SB" mail deregister --agent "$agent" --json >/dev/null
	log "Deregistered agent: $agent (marked inactive)"
}

cmd_agents() {
	local active_only=false
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--active-only) active_only=true; shift ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	local agents
	agents="$("$SB" mail agents --json)"
	render mail-agents "$active_only" <<<"$agents"
}

usage() {
	cat <<USAGE
mail-helper.sh - the reference mailbox's commands, served by switchboard ($SB)

Usage:
  mail-helper.sh send --to <agent-id>|all --type <type> --payload "message" [--priority high|normal|low] [--convoy <id>] [--from <id>]
  mail-helper.sh check [--agent <id>] [--unread-only]
  mail-helper.sh read <message-id> [--agent <id>]
  mail-helper.sh archive <message-id> [--agent <id>]
  mail-helper.sh prune [--older-than-days 7] [--force]
  mail-helper.sh status [--agent <id>]
  mail-helper.sh register --agent <id> --role <role>
  mail-helper.sh deregister --agent <id>
  mail-helper.sh agents [--active-only]

Message types: task_dispatch status_report discovery request broadcast
Environment: AIDEVOPS_AGENT_ID (sender and inbox), AIDEVOPS_MAIL_DIR (database <dir>/mailbox.db),
             SWITCHBOARD_HOME and SWITCHBOARD_DATABASE_URL (win over AIDEVOPS_MAIL_DIR)
Not supported yet: receive, transport-status, migrate, --transport other than local,
                   register --branch/--worktree
USAGE
}

command="${1:-help}"
shift || true
case "$command" in
send) cmd_send "$@" ;;
check) cmd_check "$@" ;;
read) cmd_read "$@" ;;
archive) cmd_archive "$@" ;;
prune) cmd_prune "$@" ;;
status) cmd_status "$@" ;;
register) cmd_register "$@" ;;
deregister) cmd_deregister "$@" ;;
agents) cmd_agents "$@" ;;
receive | transport-status | migrate) unsupported "mail-helper.sh $command" ;;
help | --help | -h) usage ;;
*) fail "unknown command: $command (see mail-helper.sh help)" ;;
esac
