# --- memory-helper.sh: the reference memory's verbs over `sb memory` ------------
map_reference_dir AIDEVOPS_MEMORY_DIR memory.db

# The reference logs on standard output as `[INFO]`, `[OK]`, `[WARN]`.
log() {
	echo "[$1] ${*:2}"
}

# The reference's global store is switchboard's shared namespace, which is also
# what `recall --shared` adds; --namespace may come before or after the command.
namespace=""
ns() {
	echo "${namespace:-shared}"
}

set_namespace() {
	[[ -n "$1" ]] || fail "--namespace requires a value"
	namespace="$1"
}

cmd_store() {
	local content="" type="WORKING_SOLUTION" tags="" confidence="medium" supersedes="" relation="" source=""
	local project="" event_date=""
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--content) need "$@"; content="$2"; shift 2 ;;
		--type) need "$@"; type="$2"; shift 2 ;;
		--tags) need "$@"; tags="$2"; shift 2 ;;
		--confidence) need "$@"; confidence="$2"; shift 2 ;;
		--supersedes) need "$@"; supersedes="$(number_id mem_ "$2")"; shift 2 ;;
		--relation) need "$@"; relation="$2"; shift 2 ;;
		--source) need "$@"; source="$2"; shift 2 ;;
		--auto | --auto-captured) source="auto"; shift ;;
		--project) need "$@"; project="$2"; shift 2 ;;
		--event-date) need "$@"; event_date="$2"; shift 2 ;;
		--session-id | --entity | --debunks | --debunk | --evidence | --replacement)
			unsupported "memory-helper.sh store $1" ;;
		-*) fail "unknown option: $1" ;;
		*) [[ -n "$content" ]] || content="$1"; shift ;;
		esac
	done
	[[ -n "$content" ]] || fail "content is required: use --content \"your learning\""
	[[ -z "$relation" || -n "$supersedes" ]] || fail "--relation needs --supersedes <id>"
	local args=(memory store --content "$content" --type "$type" --confidence "$confidence" --namespace "$(ns)")
	[[ -z "$tags" ]] || args+=(--tags "$tags")
	[[ -z "$supersedes" ]] || args+=(--supersedes "$supersedes" --relation "${relation:-updates}")
	[[ -z "$source" ]] || args+=(--source "$source")
	[[ -z "$project" ]] || args+=(--project "$project")
	[[ -z "$event_date" ]] || args+=(--event-date "$event_date")
	local stored
	stored="$("$SB" "${args[@]}" --json)"
	render mem-store <<<"$stored"
}

cmd_recall() {
	local query="" limit=5 type="" max_age="" format="text" mode="keyword" shared=() recent="" project=""
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--query | -q) need "$@"; query="$2"; shift 2 ;;
		--limit | -l) need "$@"; limit="$2"; shift 2 ;;
		--type | -t) need "$@"; type="$2"; shift 2 ;;
		--max-age-days) need "$@"; max_age="$2"; shift 2 ;;
		--format) need "$@"; format="$2"; shift 2 ;;
		--json) format="json"; shift ;;
		--shared) shared=(--shared); shift ;;
		--semantic | --similar) mode="semantic"; shift ;;
		--hybrid) mode="hybrid"; shift ;;
		--recent)
			# As in the reference: a number after --recent is its count, else 10.
			if [[ "${2:-}" =~ ^[0-9]+$ ]]; then recent="$2"; shift 2; else recent=10; shift; fi ;;
		--project | -p) need "$@"; project="$2"; shift 2 ;;
		--entity | -e | --auto-only | --manual-only | --stats)
			unsupported "memory-helper.sh recall $1" ;;
		-*) fail "unknown option: $1" ;;
		*) [[ -n "$query" ]] || query="$1"; shift ;;
		esac
	done
	[[ "$format" == json || "$format" == text ]] || fail "--format must be text or json"
	if [[ -n "$recent" ]]; then
		# `memory list` is the recent view; it has no filters or shared search.
		[[ -z "$type$max_age$query$project" && ${#shared[@]} -eq 0 && "$mode" == keyword ]] ||
			unsupported "recall --recent with --query, --type, --max-age-days, --project, --shared or a search mode"
		local listed
		listed="$("$SB" memory list --namespace "$(ns)" --recent "$recent" --json)"
		render mem-recent "$recent" "$format" <<<"$listed"
		return
	fi
	[[ -n "$query" ]] || fail "a query is required: use --query \"search terms\" or --recent"
	local args=(memory recall --query "$query" --limit "$limit" --mode "$mode" --namespace "$(ns)" "${shared[@]}")
	[[ -z "$type" ]] || args+=(--type "$type")
	[[ -z "$max_age" ]] || args+=(--max-age-days "$max_age")
	[[ -z "$project" ]] || args+=(--project "$project")
	local found
	found="$("$SB" "${args[@]}" --json)"
	render mem-recall "$query" "$namespace" "$format" <<<"$found"
}

cmd_stats() {
	local stats
	stats="$("$SB" memory stats --namespace "$(ns)" --json)"
	render mem-stats "$namespace" <<<"$stats"
}

cmd_prune() {
	local days=90 dry_run=()
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--older-than-days) need "$@"; days="$2"; shift 2 ;;
		--dry-run) dry_run=(--dry-run); shift ;;
		--include-accessed | --intelligent | --max-count | --max-bytes) unsupported "memory-helper.sh prune $1" ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	local report
	report="$("$SB" memory prune --older-than-days "$days" --namespace "$(ns)" "${dry_run[@]}" --json)"
	render mem-prune <<<"$report"
}

cmd_namespaces() {
	local sub="${1:-list}" format="text"
	case "$sub" in
	list) shift || true ;;
	--json | --format) ;;
	migrate) shift; cmd_namespaces_migrate "$@"; return ;;
	prune) unsupported "memory-helper.sh namespaces prune" ;;
	*) fail "unknown namespaces command: $sub (list or migrate)" ;;
	esac
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--json) format="json"; shift ;;
		--format) need "$@"; format="$2"; shift 2 ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	local rows
	rows="$("$SB" memory namespaces list --json)"
	render mem-namespaces "$format" <<<"$rows"
}

# Only --move has a switchboard verb (rename); the reference's copy has none.
cmd_namespaces_migrate() {
	local from="" to="" move=false
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--from) need "$@"; from="$2"; shift 2 ;;
		--to) need "$@"; to="$2"; shift 2 ;;
		--move) move=true; shift ;;
		--dry-run) unsupported "namespaces migrate --dry-run" ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	[[ -n "$from" && -n "$to" ]] || fail "namespaces migrate needs --from and --to"
	[[ "$move" == true ]] || unsupported "namespaces migrate without --move (a copy)"
	[[ "$from" != global ]] || from=shared
	[[ "$to" != global ]] || to=shared
	"$SB" memory namespaces rename "$from" "$to" --json >/dev/null
	log OK "Migrated namespace $from to $to"
}

cmd_history() {
	[[ $# -ge 1 ]] || fail "a memory id is required: memory-helper.sh history <id>"
	local id chain
	id="$(number_id mem_ "$1")"
	chain="$("$SB" memory history "$id" --json)"
	render mem-history "$id" <<<"$chain"
}

cmd_latest() {
	[[ $# -ge 1 ]] || fail "a memory id is required: memory-helper.sh latest <id>"
	local id latest
	id="$(number_id mem_ "$1")"
	latest="$("$SB" memory latest "$id" --json)"
	render mem-id <<<"$latest"
}

cmd_export() {
	local format="json"
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--format) need "$@"; format="$2"; shift 2 ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	[[ "$format" == json ]] || unsupported "export --format $format"
	"$SB" memory export --format json --namespace "$(ns)"
}

cmd_consolidate() {
	local dry_run=()
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--dry-run) dry_run=(--dry-run); shift ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	"$SB" memory consolidate --namespace "$(ns)" "${dry_run[@]}"
}

# A namespace cannot hold the same content twice (case, spacing and final
# punctuation aside): a repeated store merges, so there is never anything to remove.
cmd_dedup() {
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--dry-run | --exact-only) shift ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	log OK "No duplicates found: switchboard merges duplicates when they are stored"
}

# `log` and `validate` print switchboard's own report (a table, or --json); validate
# exits 1 while problems remain, as `sb memory validate` does.
cmd_log() {
	local args=(memory log)
	[[ -z "$namespace" ]] || args+=(--namespace "$namespace")
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--limit | -l) need "$@"; args+=(--limit "$2"); shift 2 ;;
		--json) args+=(--json); shift ;;
		--format) need "$@"; [[ "$2" != json ]] || args+=(--json); shift 2 ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	"$SB" "${args[@]}"
}

cmd_validate() {
	local args=(memory validate)
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--repair | --fix) args+=(--repair); shift ;;
		--json) args+=(--json); shift ;;
		*) fail "unknown option: $1" ;;
		esac
	done
	"$SB" "${args[@]}"
}

usage() {
	cat <<USAGE
memory-helper.sh - the reference memory's commands, served by switchboard ($SB)

USAGE:
    memory-helper.sh [--namespace NAME] <command> [options]   (--namespace may also follow the command)

COMMANDS:
    store       --content TEXT [--type TYPE] [--tags a,b] [--confidence high|medium|low]
                [--supersedes mem_ID [--relation updates|extends|derives]] [--auto] [--source S]
                [--project PATH] [--event-date YYYY-MM-DD]
    recall      --query TEXT [--limit 5] [--type TYPE] [--max-age-days N] [--shared] [--project PATH]
                [--semantic|--hybrid] [--json]   or   --recent [N]
    history ID, latest ID, stats, prune [--older-than-days 90] [--dry-run],
    consolidate [--dry-run], dedup, export [--format json],
    log [--limit 20] [--json]  (recent stores and recalls), validate [--repair] [--json],
    namespaces [list] [--json], namespaces migrate --from A --to B --move
    help

The global store (no --namespace) is switchboard's shared namespace.
Environment: AIDEVOPS_MEMORY_DIR (database <dir>/memory.db),
             SWITCHBOARD_HOME and SWITCHBOARD_DATABASE_URL (win over AIDEVOPS_MEMORY_DIR)
Not supported yet: feedback, prune-patterns, insights, graduate,
    namespaces prune, store --session-id/--entity/--debunks,
    recall --entity/--auto-only/--manual-only, prune --include-accessed/--intelligent
USAGE
}

while [[ $# -gt 0 ]]; do
	case "$1" in
	--namespace | -n) need "$@"; set_namespace "$2"; shift 2 ;;
	*) break ;;
	esac
done
# --namespace may come before the command or anywhere after it (the reference
# ignored it there and wrote to the global store).
command="" rest=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--namespace | -n) need "$@"; set_namespace "$2"; shift 2 ;;
	--content | --query | -q | --tags | --type | -t) need "$@"; rest+=("$1" "$2"); shift 2 ;;
	*) if [[ -z "$command" ]]; then command="$1"; else rest+=("$1"); fi; shift ;;
	esac
done
set -- "${rest[@]}"
command="${command:-help}"
[[ -z "$namespace" ]] || log INFO "Using namespace: $namespace"
case "$command" in
store) cmd_store "$@" ;;
recall) cmd_recall "$@" ;;
history) cmd_history "$@" ;;
latest) cmd_latest "$@" ;;
stats) cmd_stats "$@" ;;
prune) cmd_prune "$@" ;;
namespaces) cmd_namespaces "$@" ;;
export) cmd_export "$@" ;;
consolidate) cmd_consolidate "$@" ;;
dedup) cmd_dedup "$@" ;;
log) cmd_log "$@" ;;
validate) cmd_validate "$@" ;;
feedback | prune-patterns | insights | graduate) unsupported "memory-helper.sh $command" ;;
help | --help | -h) usage ;;
*) fail "unknown command: $command (see memory-helper.sh help)" ;;
esac
