#!/usr/bin/env bash
# fee_tier input fuzzing: 100,000 mutated inputs (random insertions, deletions,
# replacements with interesting bytes, duplications, truncations, splices of
# valid schedules) through the server's input function.  The server must
# survive, every rejection must be 22P02 or 22003, and every accepted value
# must print canonically and read back as the same value.
# FEE_TIER_FUZZ_N overrides the number of inputs.
set -u
. "$RS_TOP/test/tap.sh"
n=${FEE_TIER_FUZZ_N:-100000}
tap_db db
out=$(PGOPTIONS="-c fuzz.n=$n" psql -X -At -v ON_ERROR_STOP=1 -d "$db" 2>&1 <<'SQL'
SET search_path = repairsys, public;
CREATE TEMP TABLE outcome (state text, n int);
CREATE FUNCTION pg_temp.mutate(s text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	pieces text[] := ARRAY['0', '1', '9', '.', ',', '-', '+', ':', '=', ' ', 'base', 'min', 'max', 'volume',
	                       '999999999999999', '0.0001', '1.23456', '-1', 'é', '１', E'\t', '60', '60+', '0-', ':0',
	                       'BASE=', 'e5', '..', ',,', '++', '--', '::', '99999999999999999999999999'];
	op int;
	pos int;
BEGIN
	FOR k IN 1 .. 1 + (random() * 3)::int LOOP
		op := (random() * 5)::int;
		pos := 1 + (random() * length(s))::int;
		IF op = 0 THEN      -- insert a piece
			s := substr(s, 1, pos - 1) || pieces[1 + (random() * (array_length(pieces, 1) - 1))::int] || substr(s, pos);
		ELSIF op = 1 THEN   -- delete a run
			s := substr(s, 1, pos - 1) || substr(s, pos + 1 + (random() * 4)::int);
		ELSIF op = 2 THEN   -- replace one character with a random printable or non-ASCII one
			s := substr(s, 1, pos - 1) || chr(CASE WHEN random() < 0.9 THEN 32 + (random() * 94)::int ELSE 160 + (random() * 20000)::int END) || substr(s, pos + 1);
		ELSIF op = 3 THEN   -- duplicate a slice
			s := substr(s, 1, pos) || substr(s, greatest(pos - 8, 1), 8) || substr(s, pos + 1);
		ELSIF op = 4 THEN   -- truncate
			s := substr(s, 1, pos);
		ELSE                -- reverse a slice
			s := substr(s, 1, pos - 1) || reverse(substr(s, pos, 6)) || substr(s, pos + 6);
		END IF;
	END LOOP;
	RETURN s;
END $$;
DO $$
DECLARE
	seeds text[] := ARRAY['base=50, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80', '0+:1.5', '0-10:0, 10+:2.50, max=30',
	                      '0-30:2.5, 30-90:2, 90+:1.6, min=60, volume', 'base=0.01, 0-0.001:9999.9999, 0.001+:0'];
	s text;
	v fee_tier;
	bad int := 0;
	counts jsonb := '{}';
	st text;
BEGIN
	PERFORM setseed(0.77);
	FOR i IN 1 .. current_setting('fuzz.n')::int LOOP
		s := pg_temp.mutate(seeds[1 + (i % array_length(seeds, 1))]);
		BEGIN
			v := s::fee_tier;
			IF v::text::fee_tier <> v OR v::text::fee_tier::text <> v::text THEN
				bad := bad + 1;
				RAISE WARNING 'not canonical: % -> %', s, v;
			END IF;
			st := 'accepted';
		EXCEPTION WHEN OTHERS THEN
			st := SQLSTATE;
		END;
		counts := jsonb_set(counts, ARRAY[st], to_jsonb(coalesce((counts ->> st)::int, 0) + 1));
	END LOOP;
	INSERT INTO outcome SELECT key, value::int FROM jsonb_each_text(counts);
	INSERT INTO outcome VALUES ('noncanonical', bad);
END $$;
SELECT state || '|' || n FROM outcome ORDER BY state;
SQL
)
alive=$(psql -X -At -d "$db" -c "SELECT 1")
[ "$alive" = 1 ]
ok $? "the server survived $n mutated inputs" "the server did not answer"
diag "$out"
total=$(printf '%s\n' "$out" | awk -F'|' '$1 != "noncanonical" && NF == 2 {s += $2} END {print s+0}')
[ "$total" -eq "$n" ]
ok $? "all $n inputs were tried" "only $total of $n inputs tried"
others=$(printf '%s\n' "$out" | awk -F'|' 'NF == 2 && $1 != "accepted" && $1 != "22P02" && $1 != "22003" && $1 != "noncanonical"')
[ -z "$others" ]
ok $? "every rejection is 22P02 or 22003" "other outcomes: $others"
nc=$(printf '%s\n' "$out" | awk -F'|' '$1 == "noncanonical" {print $2}')
[ "${nc:-x}" = 0 ]
ok $? "every accepted value is canonical and reads back equal" "$nc non-canonical values"
acc=$(printf '%s\n' "$out" | awk -F'|' '$1 == "accepted" {print $2}')
[ "${acc:-0}" -gt 100 ]
ok $? "the mutations also produce valid schedules ($acc)" "only ${acc:-0} valid inputs: the fuzzer is too destructive"
