# test/lib.sh: shared set-up for the demo (test/demo.sh) and the tests (test/run.sh).
#
# Sourced, not run.  Provides:
#   rs_ensure_packages   install PostgreSQL 15 server, headers, pgTAP and pg_prove from
#                        Debian's packages when any is missing (root, or sudo)
#   rs_build_install     build with PGXS (no compiler warning allowed) and install
#   rs_start_cluster     initdb + start a throwaway cluster as user postgres in a
#                        temporary directory, on a private socket directory and port
#                        (with pg_cron preloaded where installed: cron.database_name
#                        is repairsys_cron)
#   rs_stop_cluster      stop it and remove the directory (also on exit, via trap)
#   rs_restart_cluster   stop and start the same cluster again, e.g. with a moved clock:
#                        RS_FAKE_AT='2028-02-29 23:30:00' (Debian's libfaketime, the
#                        clock starts there and runs on) and RS_SERVER_TZ (the server's
#                        TimeZone setting, which sessions inherit)
#
# Environment:
#   REPAIRSYS_PG_ROOT    when set, a private copy of the PostgreSQL installation is made
#                        there and the extension is installed into it instead of the
#                        system one (lets several checkouts test side by side)
#   REPAIRSYS_PORT       port of the throwaway cluster (default: a free one)
#   REPAIRSYS_PG_VERSION PostgreSQL major version (default 15, Debian 12's)

RS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The PostgreSQL major version to build and test against: Debian 12 ships 15;
# test/compat.sh runs the suite on 17 and 18 in a throwaway Debian root.
RS_PGVER=${REPAIRSYS_PG_VERSION:-15}
RS_PACKAGES="postgresql-$RS_PGVER postgresql-server-dev-$RS_PGVER postgresql-$RS_PGVER-pgtap libtap-parser-sourcehandler-pgtap-perl
	postgresql-$RS_PGVER-plpgsql-check make gcc valgrind faketime python3"
# Packages some tests use when the archive has them (a test that finds its
# package missing reports itself skipped, with the reason): pg_cron runs
# repairsys.run_jobs() by itself (test/t/events-cron.sh), psycopg2 runs the
# example consumer (docs/examples/consumer.py, test/t/events-consumer.sh).
RS_OPTIONAL_PACKAGES="postgresql-$RS_PGVER-cron python3-psycopg2"

rs_log() { printf '== %s\n' "$*" >&2; }
rs_die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

rs_sudo() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

rs_ensure_packages() {
	local missing="" p
	for p in $RS_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		rs_log "installing from Debian's packages:$missing"
		rs_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || rs_die "apt-get update failed"
		# Debian's postgresql-common would create and start a "main" cluster; we do not need it.
		rs_sudo mkdir -p /etc/postgresql-common/createcluster.d
		echo 'create_main_cluster = false' | rs_sudo tee /etc/postgresql-common/createcluster.d/repairsys-no-main.conf >/dev/null
		rs_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null \
			|| rs_die "apt-get install$missing failed"
	fi
	missing=""
	for p in $RS_OPTIONAL_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		for p in $missing; do
			if apt-cache show "$p" >/dev/null 2>&1 || { rs_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1; apt-cache show "$p" >/dev/null 2>&1; }; then
				rs_log "installing from Debian's packages: $p"
				rs_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null 2>&1 \
					|| rs_log "could not install $p: the tests that need it are skipped"
			else
				rs_log "the archive has no package $p: the tests that need it are skipped"
			fi
		done
	fi
	RS_BINDIR=/usr/lib/postgresql/$RS_PGVER/bin
	[ -x "$RS_BINDIR/pg_config" ] || rs_die "no $RS_BINDIR/pg_config after installing packages"
	if [ -n "${REPAIRSYS_PG_ROOT:-}" ]; then
		rs_private_root "$REPAIRSYS_PG_ROOT"
		RS_BINDIR=$REPAIRSYS_PG_ROOT/usr/lib/postgresql/$RS_PGVER/bin
	fi
	RS_PG_CONFIG=$RS_BINDIR/pg_config
	export PATH="$RS_BINDIR:$PATH"
}

# A relocated copy of the server: PostgreSQL finds its share and lib directories
# relative to its binaries, so a copy with the same layout is a separate install.
rs_private_root() {
	local r=$1
	if [ ! -x "$r/usr/lib/postgresql/$RS_PGVER/bin/postgres" ]; then
		rs_log "making a private copy of PostgreSQL $RS_PGVER in $r"
		mkdir -p "$r/usr/lib/postgresql" "$r/usr/share/postgresql" "$r/usr/include"
		cp -a /usr/lib/postgresql/$RS_PGVER "$r/usr/lib/postgresql/"
		cp -a /usr/share/postgresql/$RS_PGVER "$r/usr/share/postgresql/"
		ln -sfn /usr/include/postgresql "$r/usr/include/postgresql"
		chmod -R a+rX "$r"
		chmod a+x "$r" "$r/usr" "$r/usr/lib" "$r/usr/share"
	fi
	# packages installed since the copy was made (pg_cron, ...): their files,
	# without touching what the copy has (the extension installed into it)
	cp -an /usr/lib/postgresql/$RS_PGVER/lib/. "$r/usr/lib/postgresql/$RS_PGVER/lib/" 2>/dev/null
	cp -an /usr/share/postgresql/$RS_PGVER/extension/. "$r/usr/share/postgresql/$RS_PGVER/extension/" 2>/dev/null
}

rs_build_install() {
	local log
	log=$(mktemp)
	rs_log "building repairsys"
	# -Werror: a warning fails the build.  Assertions (Assert()) are compiled in
	# where the server allows it: Debian's servers are built without
	# --enable-cassert, and an assert-enabled module loads into them as long
	# as every symbol it needs is one the server exports (checked below).
	# Benchmarks and the demo build without them (RS_NO_ASSERTS=1): a release
	# build is what they measure and show.
	local copt="-Werror -DUSE_ASSERT_CHECKING"
	[ -n "${RS_NO_ASSERTS:-}" ] && copt="-Werror"
	( cd "$RS_TOP" && make -s PG_CONFIG="$RS_PG_CONFIG" clean >/dev/null 2>&1; \
	  make PG_CONFIG="$RS_PG_CONFIG" COPT="$copt" ) >"$log" 2>&1 || { cat "$log" >&2; rs_die "build failed"; }
	if grep -q 'warning:' "$log"; then
		grep -B2 -A3 'warning:' "$log" >&2
		rs_die "the build printed compiler warnings"
	fi
	local missing
	missing=$(rs_unresolved_symbols "$RS_TOP/repairsys.so")
	if [ -n "${RS_NO_ASSERTS:-}" ]; then
		rs_log "built with -Werror (no assertions: RS_NO_ASSERTS)"
	elif [ -n "$missing" ]; then
		rs_log "this server cannot load an assert-enabled module (missing: $missing); building without assertions"
		( cd "$RS_TOP" && make -s PG_CONFIG="$RS_PG_CONFIG" clean >/dev/null 2>&1; \
		  make PG_CONFIG="$RS_PG_CONFIG" COPT="-Werror" ) >"$log" 2>&1 || { cat "$log" >&2; rs_die "build failed"; }
	else
		rs_log "built with -Werror and assertions (USE_ASSERT_CHECKING)"
	fi
	( cd "$RS_TOP" && rs_sudo make -s PG_CONFIG="$RS_PG_CONFIG" install ) >"$log" 2>&1 \
		|| { cat "$log" >&2; rs_die "make install failed"; }
	rm -f "$log"
}

# Undefined symbols of a module that neither the server nor the C libraries define.
rs_unresolved_symbols() {
	command -v nm >/dev/null || return 0
	local lib
	comm -23 <(nm -D --undefined-only "$1" | awk '$1 == "U" {print $2}' | sed 's/@.*//' | sort -u) \
		<( { nm -D --defined-only "$RS_BINDIR/postgres"
		     for lib in $(ldd "$1" "$RS_BINDIR/postgres" 2>/dev/null | awk '/=>/ {print $3}' | sort -u); do
		         nm -D --defined-only "$lib"
		     done; } 2>/dev/null | awk '{print $3}' | sed 's/@.*//' | sort -u) | tr '\n' ' ' | sed 's/ $//'
}

rs_free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$(( 20000 + RANDOM % 30000 ))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$p" ]; then
			echo "$p"; return
		fi
	done
	echo 54329
}

rs_start_cluster() {
	RS_TMP=$(mktemp -d /tmp/repairsys-pg.XXXXXX)
	chmod 755 "$RS_TMP"
	mkdir -p "$RS_TMP/data" "$RS_TMP/sock"
	chown -R postgres:postgres "$RS_TMP/data" "$RS_TMP/sock" 2>/dev/null || rs_sudo chown -R postgres:postgres "$RS_TMP/data" "$RS_TMP/sock"
	RS_PORT=${REPAIRSYS_PORT:-$(rs_free_port)}
	trap rs_stop_cluster EXIT
	rs_as_postgres "$RS_BINDIR/initdb" -D "$RS_TMP/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$RS_TMP/initdb.log" 2>&1 \
		|| { cat "$RS_TMP/initdb.log" >&2; rs_die "initdb failed"; }
	cat >>"$RS_TMP/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$RS_TMP/sock'
port = $RS_PORT
max_connections = 60
shared_buffers = 256MB
max_prepared_transactions = 10
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
CONF
	# pg_cron, where installed: its scheduler runs in database repairsys_cron
	# (made here and never dropped: the scheduler stays connected to it), in
	# background workers (the cluster listens on no TCP port)
	if [ -e "$("$RS_PG_CONFIG" --pkglibdir)/pg_cron.so" ]; then
		cat >>"$RS_TMP/data/postgresql.conf" <<CONF
shared_preload_libraries = 'pg_cron'
cron.database_name = 'repairsys_cron'
cron.use_background_workers = on
max_worker_processes = 16
CONF
	fi
	rs_pg_start
	export PGHOST=$RS_TMP/sock PGPORT=$RS_PORT PGUSER=postgres
	if [ -e "$("$RS_PG_CONFIG" --pkglibdir)/pg_cron.so" ]; then
		psql -X -q -d postgres -c 'CREATE DATABASE repairsys_cron' >/dev/null || rs_die "could not create database repairsys_cron"
	fi
	rs_log "throwaway cluster on port $RS_PORT, socket directory $RS_TMP/sock"
}

# The library that moves the clock of the processes it is preloaded into.
rs_faketime_lib() {
	local f
	for f in /usr/lib/*-linux-gnu/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
		[ -r "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

# Starts the server of $RS_TMP/data; with RS_FAKE_AT set, under libfaketime
# (the server and every backend it forks see a clock that starts at that UTC
# instant and runs on; the monotonic clock stays real, so timeouts behave),
# and with RS_SERVER_TZ set, with that TimeZone.
rs_pg_start() {
	local pre=() opts=""
	if [ -n "${RS_FAKE_AT:-}" ]; then
		local lib
		lib=$(rs_faketime_lib) || rs_die "libfaketime not found (Debian package faketime)"
		pre=(env LD_PRELOAD="$lib" FAKETIME="@$RS_FAKE_AT" FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=UTC)
	fi
	[ -n "${RS_SERVER_TZ:-}" ] && opts="-c timezone=$RS_SERVER_TZ"
	rs_as_postgres "${pre[@]}" "$RS_BINDIR/pg_ctl" -D "$RS_TMP/data" -l "$RS_TMP/data/server.log" -o "$opts" -w -t 60 start >/dev/null \
		|| { cat "$RS_TMP/data/server.log" >&2; rs_die "the server did not start"; }
}

rs_restart_cluster() {
	rs_as_postgres "$RS_BINDIR/pg_ctl" -D "$RS_TMP/data" -m fast -w stop >/dev/null 2>&1 \
		|| rs_die "the server did not stop"
	rs_pg_start
}

rs_as_postgres() {
	if [ "$(id -un)" = postgres ]; then "$@"; else rs_sudo runuser -u postgres -- "$@"; fi
}

rs_stop_cluster() {
	if [ -n "${RS_TMP:-}" ] && [ -d "$RS_TMP" ]; then
		if [ -n "${RS_KEEP:-}" ]; then return; fi
		rs_as_postgres "$RS_BINDIR/pg_ctl" -D "$RS_TMP/data" -m immediate -w stop >/dev/null 2>&1
		rm -rf "$RS_TMP"
		RS_TMP=
	fi
}
