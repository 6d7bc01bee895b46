#!/usr/bin/env bash
# test/t/sla_interval-fuzz.sh: feeds sla_interval's input function 100,000
# randomly mutated strings (replaced, inserted and deleted characters, grammar
# tokens spliced in, chunks duplicated and rotated, multi-byte characters) and
# checks that the server survives, every rejection is 22P02 or 22023, every
# accepted value reads back equal from its canonical text, and deadlines of
# accepted values compute (or fail only with 22008 beyond the timestamp range).
# Prints TAP.  Runs against the cluster in PGHOST/PGPORT/PGUSER.
set -u
. "$RS_TOP/test/tap.sh"
N=${SLA_FUZZ_N:-100000}
tap_db db

out=$(psql -X -q -At -F '|' -v ON_ERROR_STOP=1 -d $db 2>&1 <<SQL
SELECT setseed(0.4242);
CREATE FUNCTION pg_temp.mutate(s text) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
	toks text[] := ARRAY['mon', 'fri', 'sun', 'saturday', '-', ',', ' ', '  ', 'in', 'h', 'min', 'd', '24:00',
	                     '00:00', '9:', '99', '2', 'Asia/Shanghai', 'Europe/Berlin', 'UTC', '/', '+', '..',
	                     '22:00-06:00', '0', '1000000000', 'é', '中', E'\t', ':', '00:00-24:00', 'America/New_York'];
	n int := 1 + floor(random() * 4)::int;
	p int;
	r int;
BEGIN
	FOR i IN 1 .. n LOOP
		p := floor(random() * (length(s) + 1))::int;
		r := floor(random() * 7)::int;
		IF r = 0 THEN
			s := overlay(s PLACING chr(1 + floor(random() * 126)::int) FROM p + 1 FOR 1);
		ELSIF r = 1 THEN
			s := substr(s, 1, p) || chr(CASE WHEN random() < 0.9 THEN 1 + floor(random() * 126)::int ELSE 128 + floor(random() * 40000)::int END) || substr(s, p + 1);
		ELSIF r = 2 THEN
			s := substr(s, 1, p) || substr(s, p + 2 + floor(random() * 3)::int);
		ELSIF r = 3 THEN
			s := substr(s, 1, p) || toks[1 + floor(random() * array_length(toks, 1))::int] || substr(s, p + 1);
		ELSIF r = 4 THEN
			s := substr(s, 1, p) || substr(s, 1 + floor(random() * greatest(length(s), 1))::int, floor(random() * 12)::int) || substr(s, p + 1);
		ELSIF r = 5 THEN
			s := substr(s, p + 1) || substr(s, 1, p);
		ELSE
			s := overlay(s PLACING chr(48 + floor(random() * 10)::int) FROM p + 1 FOR 1);
		END IF;
	END LOOP;
	RETURN s;
END \$\$;
CREATE TEMP TABLE outcome (kind text, state text, n bigint);
DO \$\$
DECLARE
	seeds text[] := ARRAY['4h', '1h30min', '2d', '45min', '8h in mon-fri 09:00-18:00 Asia/Shanghai',
	                      '6h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Europe/Berlin',
	                      '3h in mon-sun 22:00-06:00', '1000h in sat-mon 00:00-24:00 America/New_York',
	                      '5h in fri 20:00-02:00, sun 10:00-14:00', '2h in tue 9:00-12:00 13:00-24:00 UTC'];
	s text;
	v repairsys.sla_interval;
	st text;
	dst text;
	counts jsonb := '{}';
	dcounts jsonb := '{}';
	k text;
BEGIN
	FOR i IN 1 .. $N LOOP
		s := pg_temp.mutate(seeds[1 + (i % array_length(seeds, 1))]);
		v := NULL;
		BEGIN
			v := s::repairsys.sla_interval;
			IF v::text::repairsys.sla_interval OPERATOR(repairsys.<>) v OR v::text::repairsys.sla_interval::text <> v::text THEN
				st := 'round trip failed';
			ELSE
				st := 'accepted';
			END IF;
		EXCEPTION WHEN OTHERS THEN
			st := SQLSTATE;
		END;
		counts := jsonb_set(counts, ARRAY[st], to_jsonb(coalesce((counts ->> st)::bigint, 0) + 1));
		IF v IS NOT NULL AND i % 5 = 0 THEN
			BEGIN
				PERFORM repairsys.sla_elapsed(v, t, repairsys.sla_deadline(v, t, ARRAY[t::date, t::date + 1]))
				  FROM (SELECT timestamptz '2000-01-01' + random() * interval '40 years' AS t) x;
				dst := 'ok';
			EXCEPTION WHEN OTHERS THEN
				dst := SQLSTATE;
			END;
			dcounts := jsonb_set(dcounts, ARRAY[dst], to_jsonb(coalesce((dcounts ->> dst)::bigint, 0) + 1));
		END IF;
	END LOOP;
	FOR k IN SELECT jsonb_object_keys(counts) LOOP
		INSERT INTO outcome VALUES ('input', k, (counts ->> k)::bigint);
	END LOOP;
	FOR k IN SELECT jsonb_object_keys(dcounts) LOOP
		INSERT INTO outcome VALUES ('deadline', k, (dcounts ->> k)::bigint);
	END LOOP;
END \$\$;
SELECT kind, state, n FROM outcome ORDER BY 1, 2;
SQL
)
rc=$?
[ $rc -eq 0 ] && psql -X -q -At -d $db -c 'SELECT 1' >/dev/null 2>&1
ok $? "server alive after $N mutated inputs" "$out"
echo "$out" | grep -E '^(input|deadline)\|' | sed 's/^/# /'
total=$(echo "$out" | awk -F'|' '$1=="input" {s+=$3} END {print s+0}')
[ "$total" -ge 100000 ] || [ "$total" -ge "$N" -a "$N" -lt 100000 ]
ok $? "$total inputs tried" "only $total inputs tried"
bad=$(echo "$out" | awk -F'|' '$1=="input" && $2!="accepted" && $2!="22P02" && $2!="22023" && $2!="round trip failed"')
[ -z "$bad" ]
ok $? "rejections are 22P02 or 22023 only" "unexpected rejections: $bad"
! echo "$out" | grep -q '^input|round trip failed|'
ok $? "accepted values read back equal from their canonical text" "canonical text round trip failed"
dbad=$(echo "$out" | awk -F'|' '$1=="deadline" && $2!="ok" && $2!="22008"')
[ -z "$dbad" ]
ok $? "deadlines of accepted values compute (22008 beyond the timestamp range only)" "deadline errors: $dbad"
