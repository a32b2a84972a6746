# --- shared by the three wrappers ------------------------------------------------
set -euo pipefail

# The reference names the running agent AIDEVOPS_AGENT_ID; switchboard, SWITCHBOARD_AGENT.
if [[ -z "${SWITCHBOARD_AGENT:-}" && -n "${AIDEVOPS_AGENT_ID:-}" ]]; then
	export SWITCHBOARD_AGENT="$AIDEVOPS_AGENT_ID"
fi

# A reference directory variable (AIDEVOPS_MAIL_DIR, AIDEVOPS_MEMORY_DIR) becomes a
# switchboard home whose SQLite database has the reference's file name, so scripts
# that open that file with sqlite3 find it; SWITCHBOARD_HOME/DATABASE_URL win.
map_reference_dir() {
	local dir="${!1:-}"
	if [[ -n "$dir" && -z "${SWITCHBOARD_HOME:-}" && -z "${SWITCHBOARD_DATABASE_URL:-}" ]]; then
		mkdir -p "$dir"
		dir="$(cd "$dir" && pwd)"
		export SWITCHBOARD_HOME="$dir" SWITCHBOARD_DATABASE_URL="sqlite:///$dir/$2"
	fi
}

fail() {
	echo "error: $*" >&2
	exit 2
}

unsupported() {
	fail "$* not supported by switchboard yet"
}

# `need "$@"` in an option loop: the option in $1 must have a value in $2.
need() {
	[[ $# -ge 2 ]] || fail "$1 requires a value"
}

# Every call to sb goes through sb_call: under --json, switchboard writes its errors as
# JSON on standard error, where scripts of the reference read `error: ...` lines.
SB_BIN="$SB"
SB=sb_call
sb_call() {
	local err code=0
	err="$(mktemp)"
	"$SB_BIN" "$@" 2>"$err" || code=$?
	if [[ -s "$err" ]]; then
		"$SB_PYTHON" -m switchboard.compat.render stderr <"$err" >&2
	fi
	rm -f "$err"
	return "$code"
}

# Reference-format output from switchboard's JSON (standard input).
render() {
	"$SB_PYTHON" -m switchboard.compat.render "$@"
}

# The reference's ids carry a prefix (msg-..., mem_...); switchboard's are numbers.
number_id() {
	local id="${2#"$1"}"
	[[ "$id" =~ ^[0-9]+$ ]] || fail "no such id: $2 (ids look like ${1}12)"
	echo "$id"
}
