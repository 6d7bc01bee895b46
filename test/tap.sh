# test/tap.sh: the one helper of the shell TAP tests (test/t/*.sh), sourced.
#
#   tap_db NAME...     creates fresh databases NAME_<pid> (set in variables of
#                      those names) with repairsys installed; dropped at exit
#   tap_tmp            a temporary directory in $tmp, removed at exit
#   q ARGS...          psql -X -q -At -v ON_ERROR_STOP=1 ARGS
#   ok STATUS TEXT [NOTE]
#                      a check that passed when STATUS is 0; NOTE (any number
#                      of lines) is shown as comments when it did not
#   is GOT WANT TEXT   a check that GOT equals WANT (both shown, as comments
#                      even when they have several lines, when not)
#   skip TEXT          a check that could not run here: "ok N # skip TEXT",
#                      which test/run.sh counts as skipped, never as passed
#   diag TEXT...       comment lines: every line of every TEXT as "# line"
#   bail TEXT          stops the test: "Bail out! TEXT"
#   tap_at_exit FUNC   calls the function FUNC at exit, after the databases are
#                      dropped (e.g. to drop roles the test created)
#
# The plan ("1..N") is printed at exit, counted from the checks that ran; the
# exit status is the script's, so a test that dies halfway (set -u, bail, a
# failed command under set -e) is reported by prove as a non-zero exit, and one
# that ran no check at all fails its only check.

tap_n=0
tap_dbs=()
tap_exit_funcs=()
tmp=""

q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		if [ -n "${3:-}" ]; then diag "$3"; fi
	fi
}

is() {
	tap_n=$((tap_n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $tap_n - $3"
	else
		echo "not ok $tap_n - $3"
		diag "  got: '$1'" "  expected: '$2'"
	fi
}

skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # skip $1"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
bail() { echo "Bail out! $1"; exit 1; }

tap_at_exit() { tap_exit_funcs+=("$1"); }

tap_tmp() { tmp=$(mktemp -d); chmod 755 "$tmp"; }

# Creates the databases named by the arguments (each variable is set to the
# database's name) with repairsys installed (TAP_NO_EXTENSION=1: empty).
tap_db() {
	local v name
	for v in "$@"; do
		name="repairsys_${v}_$$"
		printf -v "$v" '%s' "$name"
		tap_dbs+=("$name")
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null 2>&1 \
			|| bail "could not create database $name"
		if [ -z "${TAP_NO_EXTENSION:-}" ]; then
			psql -X -q -d "$name" -c 'CREATE EXTENSION repairsys' >/dev/null 2>&1 \
				|| bail "CREATE EXTENSION repairsys failed in $name"
		fi
	done
}

tap_cleanup() {
	local rc=$? d f
	for d in "${tap_dbs[@]}"; do
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1
	done
	for f in "${tap_exit_funcs[@]}"; do "$f"; done
	[ -n "$tmp" ] && rm -rf "$tmp"
	if [ "$tap_n" -eq 0 ]; then
		echo "not ok 1 - the test ran no check"
		tap_n=1
	fi
	echo "1..$tap_n"
	exit $rc
}
trap tap_cleanup EXIT
