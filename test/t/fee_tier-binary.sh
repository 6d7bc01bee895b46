#!/usr/bin/env bash
# fee_tier binary I/O: COPY ... (FORMAT binary) out and back in gives the same
# values; a corrupted binary value is refused, never stored.
set -u
. "$RS_TOP/test/tap.sh"
tap_db db
tap_tmp
f=$tmp/ftbin
q -d "$db" <<'SQL' >/dev/null || diag 'setup failed'
CREATE TABLE src (id int, f repairsys.fee_tier);
INSERT INTO src VALUES (1, 'base=50, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80'),
	(2, '0-0.001:9999.9999, 0.001+:0.0001, volume'), (3, '0+:0, max=0.01'),
	(4, (SELECT string_agg(i || '-' || (i + 1) || ':1', ', ') || ', 31+:1' FROM generate_series(0, 30) i)::repairsys.fee_tier);
CREATE TABLE dst (LIKE src);
SQL
psql -X -q -d "$db" -c "\\copy src TO '$f' (FORMAT binary)"
psql -X -q -d "$db" -c "\\copy dst FROM '$f' (FORMAT binary)"
same=$(psql -X -At -q -d "$db" -c "SET search_path = repairsys, public" -c "SELECT count(*) FROM src JOIN dst USING (id) WHERE src.f = dst.f AND src.f::text = dst.f::text")
[ "$same" = 4 ]
ok $? "binary COPY round trip keeps all 4 values" "only $same of 4 values survived"
sendhex=$(psql -X -At -d "$db" -c "SELECT encode(repairsys.fee_tier_send('0+:1.00'), 'hex')")
[ "$sendhex" = "0100000100000000000000000000000000000000000000000000000000000000000000000000000000002710" ]
ok $? "send starts with the format version byte" "send gave $sendhex"
# corrupt the version byte of the first value: the first field of row 1 is the int4 id (header 19 bytes,
# field count 2 bytes, length 4 + 4 bytes), then the fee_tier's length (4 bytes), then its version byte
python3 - "$f" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[19 + 2 + 4 + 4 + 4] = 9
open(p + '.bad', 'wb').write(b)
PY
err=$(psql -X -q -d "$db" -c "\\copy dst FROM '$f.bad' (FORMAT binary)" 2>&1)
case "$err" in *"invalid external fee_tier value"*"Unknown format version 9"*) refused=0 ;; *) refused=1 ;; esac
ok $refused "unknown version refused" "got: $err"
n=$(psql -X -At -d "$db" -c "SELECT count(*) FROM dst")
[ "$n" = 4 ]
ok $? "nothing written by the failed COPY" "dst has $n rows"
