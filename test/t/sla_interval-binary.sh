#!/usr/bin/env bash
# test/t/sla_interval-binary.sh: sla_interval's binary input (COPY BINARY)
# refuses every malformed value as strictly as the text input: wrong version,
# unknown flags, empty or too long target, calendar on a wall-clock value,
# windows out of range or overlapping, too many windows, bad zone names,
# trailing bytes.  Prints TAP.  Runs against the cluster in PGHOST/PGPORT/PGUSER.
set -u
. "$RS_TOP/test/tap.sh"
tap_db db
tap_tmp
psql -X -q -d $db -c 'CREATE TABLE t (s repairsys.sla_interval)' >/dev/null 2>&1

# copy_file HEX: a COPY BINARY file with one row whose only field holds HEX
copy_file() {
	local data=$1 len f=$tmp/in.bin
	len=$(( ${#data} / 2 ))
	{
		printf 'PGCOPY\n\377\r\n\0'
		printf '\0\0\0\0\0\0\0\0'
		printf '\0\001'
		printf "$(printf '%08x' "$len" | sed 's/../\\x&/g')"
		printf "$(printf '%s' "$data" | sed 's/../\\x&/g')"
		printf '\377\377'
	} >"$f"
	echo "$f"
}

# load HEX: prints "ok:<text>" or the SQLSTATE of the refusal
load() {
	local f out
	f=$(copy_file "$1")
	out=$(psql -X -q -At -v VERBOSITY=sqlstate -d $db -c 'TRUNCATE t' -c "\\copy t FROM '$f' WITH (FORMAT binary)" -c 'SELECT s FROM t' 2>&1)
	case "$out" in
		ERROR:*) echo "$out" | sed -n 's/^ERROR:  *\([0-9A-Z]\{5\}\).*/\1/p' | head -1 ;;
		*) echo "ok:$out" ;;
	esac
}

check() {	# check DESCRIPTION HEX EXPECTED
	is "$(load "$2")" "$3" "$1"
}

zone=$(printf 'Asia/Shanghai' | od -An -tx1 | tr -d ' \n')
mars=$(printf 'Mars/Olympus' | od -An -tx1 | tr -d ' \n')
bad=$(printf '../etc' | od -An -tx1 | tr -d ' \n')
#              version flags target   nwin  windows (dow open close)        zone
check "wall-clock 4h"            "$(echo 01 00 000000f0 0000 00 | tr -d " ")" "ok:4h"
check "business value"           "$(echo 01 01 000001e0 0001 00 021c 0438 ${zone} 00 | tr -d " ")" "ok:8h in mon 09:00-18:00 Asia/Shanghai"
check "overnight window"         "$(echo 01 01 000000b4 0001 06 0528 0708 00 | tr -d " ")" "ok:3h in sun 22:00-06:00"
check "version 2 refused"        "$(echo 02 00 000000f0 0000 00 | tr -d " ")" "22P03"
check "unknown flags refused"    "$(echo 01 80 000000f0 0000 00 | tr -d " ")" "22P03"
check "zero target refused"      "$(echo 01 00 00000000 0000 00 | tr -d " ")" "22P03"
check "target too long refused"  "$(echo 01 00 7fffffff 0000 00 | tr -d " ")" "22P03"
check "calendar on wall clock"   "$(echo 01 00 000000f0 0001 00 021c 0438 00 | tr -d " ")" "22P03"
check "no window refused"        "$(echo 01 01 000000f0 0000 00 | tr -d " ")" "22P03"
check "window out of range"      "$(echo 01 01 000000f0 0001 07 021c 0438 00 | tr -d " ")" "22P03"
check "overlapping windows"      "$(echo 01 01 000000f0 0002 00 021c 0438 00 0258 0294 00 | tr -d " ")" "22P03"
check "unknown zone: 22023"      "$(echo 01 01 000000f0 0001 00 021c 0438 ${mars} 00 | tr -d " ")" "22023"
check "bad zone characters"      "$(echo 01 01 000000f0 0001 00 021c 0438 ${bad} 00 | tr -d " ")" "22P03"
check "trailing bytes refused"   "$(echo 01 00 000000f0 0000 00 ff | tr -d " ")" "22P03"
