#!/usr/bin/env bash
# test/compat.sh VERSION: the README's test command against PostgreSQL VERSION
# (17 or 18) from Debian's archive, in a throwaway Debian root (README.md).
#
#   17  Debian 13 "trixie"
#   18  Debian unstable "sid"
#
# The root is made once with mmdebstrap from http://deb.debian.org/debian and
# kept in $REPAIRSYS_COMPAT_CACHE (default /var/cache/repairsys-compat/); a
# root whose build did not finish, or that was built for another package
# list, is removed and built again.  Each run works on an overlay over the
# cached root (the cache itself never changes): a copy of this tree goes to
# /srv/repairsys, readable by user postgres, /proc, /sys, /dev and a /dev/shm
# of its own are mounted, and inside runs
#   REPAIRSYS_PG_VERSION=VERSION bash test/run.sh
# (which refuses compiler warnings).  The run's log and pg_regress results
# are kept in $REPAIRSYS_COMPAT_CACHE/last-run-VERSION/.  Everything mounted
# is unmounted on exit, also on failure or interrupt, and nothing is removed
# while a mount is left in it.  The exit status is the test command's; its
# closing line "N passed, N failed" is the last line printed.
#
# Environment:
#   REPAIRSYS_COMPAT_CACHE    where the roots are kept (default /var/cache/repairsys-compat)
#   REPAIRSYS_COMPAT_MIRROR   Debian mirror (default http://deb.debian.org/debian)
#   REPAIRSYS_COMPAT_REFRESH  when set, the root is built again (sid moves daily)
# Extra arguments after VERSION are passed to test/run.sh (e.g. --only regress).
set -u
# The whole script is read before it runs (braces up to the final exit), so
# editing it while a run is under way does not change that run.
{
log() { printf '== compat: %s\n' "$*" >&2; }
die() { printf 'ERROR: compat: %s\n' "$*" >&2; exit 1; }

ver=${1:-}
case "$ver" in
	17) suite=trixie ;;
	18) suite=sid ;;
	*) echo "usage: bash test/compat.sh 17|18 [test/run.sh options]" >&2; exit 2 ;;
esac
shift
[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap, mount, chroot); run it with sudo"
if ! command -v mmdebstrap >/dev/null; then
	log "installing mmdebstrap from Debian's packages"
	{ DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap; } >/dev/null \
		|| die "could not install mmdebstrap (apt-get install mmdebstrap)"
fi

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${REPAIRSYS_COMPAT_CACHE:-/var/cache/repairsys-compat}
mirror=${REPAIRSYS_COMPAT_MIRROR:-http://deb.debian.org/debian}
name=debian-$suite-pg$ver
root=$cache/$name
marker=.repairsys-compat-complete

# What the test command needs; a package Debian does not ship for this
# version is left out and named (the suite reports the checks that need it).
packages="postgresql-$ver postgresql-server-dev-$ver postgresql-$ver-pgtap
libtap-parser-sourcehandler-pgtap-perl make gcc valgrind faketime
postgresql-$ver-plpgsql-check postgresql-$ver-cron python3-scipy python3-psycopg2"
required="postgresql-$ver postgresql-server-dev-$ver make gcc"
packages=$(echo $packages)
aptopts=()
[ "$suite" = sid ] && aptopts+=(--aptopt='Acquire::Check-Valid-Until "false"')

# --- mounts: every one is recorded, and removed in reverse order -------------
mounts=()
run=""
mmpid=""
mounted_under() {	# any mount point at or below $1?
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo
}
safe_rm() {	# remove directory $1, never while something is mounted in it
	if mounted_under "$1"; then
		log "mounts left under $1; not removing it"
		return 1
	fi
	rm -rf --one-file-system "$1"
}
kill_inside() {	# end the processes whose root is $1 (a server left by an interrupted run)
	local p r pids="" n
	for sig in TERM KILL; do
		pids=""
		for p in /proc/[0-9]*; do
			r=$(readlink "$p/root" 2>/dev/null) || continue
			[ "$r" = "$1" ] && pids="$pids ${p#/proc/}"
		done
		[ -n "$pids" ] || return 0
		log "ending the processes left inside $1 (SIG$sig):$pids"
		kill -"$sig" $pids 2>/dev/null
		for n in 1 2 3 4 5 6 7 8 9 10; do
			sleep 1
			for p in $pids; do [ -d "/proc/$p" ] && continue 2; done
			break
		done
	done
}
release_stale() {	# a run directory of a process that is gone: end, unmount, remove
	local d=$1 m
	kill_inside "$d/root"
	for m in $(awk -v d="$d" 'index($5, d "/") == 1 { print length($5), $5 }' /proc/self/mountinfo | sort -rn | cut -d' ' -f2); do
		umount "$m" || log "could not unmount $m"
	done
	safe_rm "$d"
}
cleanup() {
	local i m
	trap - EXIT INT TERM HUP
	if [ -n "$mmpid" ]; then	# mmdebstrap removes its own mounts when told to stop
		kill -TERM "$mmpid" 2>/dev/null
		wait "$mmpid" 2>/dev/null
		[ -n "${part:-}" ] && [ -d "$part" ] && safe_rm "$part"
	fi
	[ -n "$run" ] && [ -d "$run/root" ] && kill_inside "$run/root"
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		m=${mounts[i]}
		umount "$m" 2>/dev/null || { sleep 2; umount "$m"; } || log "could not unmount $m"
	done
	mounts=()
	[ -n "$run" ] && [ -d "$run" ] && safe_rm "$run"
	run=""
}
on_signal() { log "interrupted"; cleanup; exit 130; }
trap cleanup EXIT
trap on_signal INT TERM HUP
do_mount() {	# do_mount TARGET MOUNT-ARGS...: mount and record
	local t=$1; shift
	mount "$@" "$t" || die "mount $* $t failed"
	mounts+=("$t")
}

# --- the cached root ---------------------------------------------------------
mkdir -p "$cache"
chmod 755 "$cache"
# Runs of an earlier compat.sh that was killed outright (SIGKILL, power loss).
for d in "$cache"/run-*; do
	[ -d "$d" ] || continue
	pid=${d##*/run-}; pid=${pid#*.}; pid=${pid%%.*}
	[ -d "/proc/$pid" ] && continue
	log "cleaning up the run $d left by a process that is gone"
	release_stale "$d"
done

refresh=${REPAIRSYS_COMPAT_REFRESH:+yes}
valid_root() {
	[ -z "$refresh" ] && [ -f "$root/$marker" ] && [ "$(sed -n 's/^packages=//p' "$root/$marker")" = "$packages" ]
}
# The lock: shared while a run uses the root, exclusive while it is built, so
# a root is never replaced under a run.
exec 9>"$cache/.lock-$name"
flock -s 9
if valid_root; then
	log "reusing $root ($(sed -n 's/^built=//p' "$root/$marker"))"
else
	flock -u 9
	flock -x 9
fi
if ! valid_root; then
	for d in "$root" "$root".part.*; do
		[ -e "$d" ] || continue
		mounted_under "$d" && die "$d has mounts in it; unmount them before it can be rebuilt"
		log "removing the unfinished or outdated root $d"
		safe_rm "$d" || die "could not remove $d"
	done
	part=$root.part.$$
	log "building $root: Debian $suite from $mirror (a few minutes, once)"
	# The root starts with apt only; the hook then installs what exists of
	# $packages (mmdebstrap mounts /proc, /sys and /dev for its hooks itself).
	# Debian's postgresql-common would create a "main" cluster: not wanted.
	mmdebstrap --variant=apt --mode=root "${aptopts[@]}" \
		--include=perl \
		--essential-hook='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" > "$1/etc/postgresql-common/createcluster.d/repairsys-no-main.conf"' \
		--customize-hook='
			set -e
			have="" skipped=""
			for p in '"$packages"'; do
				if chroot "$1" apt-cache show --no-all-versions "$p" >/dev/null 2>&1; then have="$have $p"; else skipped="$skipped $p"; fi
			done
			echo "skipped=${skipped# }" > "$1/.repairsys-compat-skipped"
			chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $have
			chroot "$1" apt-get clean' \
		"$suite" "$part" "$mirror" >"$cache/$name.build.log" 2>&1 &
	mmpid=$!
	wait "$mmpid"
	rc=$?
	mmpid=""
	if [ "$rc" -ne 0 ]; then
		tail -30 "$cache/$name.build.log" >&2
		[ -d "$part" ] && safe_rm "$part"
		die "mmdebstrap failed (log: $cache/$name.build.log)"
	fi
	skipped=$(sed -n 's/^skipped=//p' "$part/.repairsys-compat-skipped")
	rm -f "$part/.repairsys-compat-skipped"
	for p in $required; do
		chroot "$part" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
			|| { safe_rm "$part"; die "Debian $suite has no $p"; }
	done
	{
		echo "packages=$packages"
		echo "skipped=$skipped"
		echo "built=$(date -u '+%Y-%m-%d %H:%M UTC') from $mirror"
		echo "postgresql=$(chroot "$part" /usr/lib/postgresql/$ver/bin/postgres --version)"
	} >"$part/$marker.tmp"
	mv "$part/$marker.tmp" "$part/$marker"
	mv "$part" "$root"
	part=""
	log "built $root"
	refresh=""
fi
flock -s 9	# shared (again) for the run
skipped=$(sed -n 's/^skipped=//p' "$root/$marker")
[ -z "$skipped" ] || log "not in Debian $suite, left out: $skipped"
log "$(sed -n 's/^postgresql=//p' "$root/$marker")"

# --- one run on an overlay over the cached root ------------------------------
run=$(mktemp -d "$cache/run-$ver.$$.XXXXXX")
mkdir -p "$run/upper" "$run/work" "$run/root"
do_mount "$run/root" -t overlay overlay -o "lowerdir=$root,upperdir=$run/upper,workdir=$run/work"
do_mount "$run/root/proc" -t proc proc
do_mount "$run/root/sys" --bind /sys
mount --make-private "$run/root/sys"
mount -o remount,bind,ro "$run/root/sys" 2>/dev/null || true
do_mount "$run/root/dev" --bind /dev
mount --make-private "$run/root/dev"
do_mount "$run/root/dev/shm" -t tmpfs -o mode=1777,size=1g tmpfs
cp -L /etc/resolv.conf "$run/root/etc/resolv.conf" 2>/dev/null || true

# The tree as git sees it (tracked and new files, not build products or
# results of earlier runs), readable by user postgres.
dest=$run/root/srv/repairsys
mkdir -p "$dest"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	( cd "$top" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -a -t "$dest" 2>/dev/null )
else
	cp -a "$top/." "$dest/"
fi
chmod -R a+rX "$dest"
chmod 755 "$run/root/srv"

log "running the test command in Debian $suite with PostgreSQL $ver"
start=$(date +%s)
# In the background with wait, so a signal to this script is handled at once
# (cleanup ends what runs inside the root, then unmounts).
{
	chroot "$run/root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		REPAIRSYS_PG_VERSION="$ver" \
		bash -c 'cd /srv/repairsys && exec bash test/run.sh "$@"' run.sh "$@" 2>&1
	echo $? >"$run/status"
} | tee "$run/run.log" &
wait $!
status=$(cat "$run/status" 2>/dev/null || echo 1)
log "PostgreSQL $ver (Debian $suite): exit status $status in $(( $(date +%s) - start )) s"
closing=$(grep -oE '[0-9]+ passed, [0-9]+ failed.*' "$run/run.log" | tail -1)
# Keep what a failure needs to be read: the log, pg_regress's results and diffs.
keep=$cache/last-run-$ver
rm -rf --one-file-system "$keep"
mkdir -p "$keep"
cp "$run/run.log" "$keep/"
for f in regression.diffs regression.out results output_iso; do
	[ -e "$dest/$f" ] && cp -a "$dest/$f" "$keep/"
done
log "log and pg_regress results kept in $keep"
cleanup
echo "${closing:-no closing line (the test command ended early)}"
exit "$status"
}
