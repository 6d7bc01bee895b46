-- test/bench/sla_interval.sql: sla_interval deadlines, C against a day-by-day
-- PL/pgSQL reference.
--
--   psql -X -d DB -f test/bench/sla_interval.sql [-v n=100000] [-v check=5000]
--
-- 1. cross-checks C and the reference on :check random cases (DST zones,
--    midnight DST changes, overnight windows, lunch breaks, holidays,
--    make-up working days with random weekdays, some of them also closed,
--    session-zone calendars): deadlines, elapsed times over random spans, and
--    the round trip elapsed(start, deadline) = target; prints the counts of
--    differences (must be 0);
-- 2. times both over the same :n cases and prints the speed-up;
-- 3. times a 1000-business-hour target against a 1-hour target (C only) and
--    prints the cost ratio, without and with open days;
-- 4. times the deadlines with 60 open (make-up) days per case against the
--    same deadlines without them (C only): the cost of open days as a ratio.
-- Everything lives in pg_temp: nothing is left behind.
\set ON_ERROR_STOP 1
\if :{?n}
\else
\set n 100000
\endif
\if :{?check}
\else
\set check 5000
\endif
SET client_min_messages = warning;

-- The reference: reads the canonical calendar text, walks local day by day,
-- converts local times with AT TIME ZONE (PostgreSQL's own resolution), clamps
-- each window to what the previous ones already counted.
CREATE FUNCTION pg_temp.sla_windows(s repairsys.sla_interval,
                                    OUT zone text, OUT dows int[], OUT opens int[], OUT closes int[])
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	cal    text := repairsys.sla_calendar(s);
	grp    text;
	tok    text;
	days   int[];
	a      int;
	b      int;
	o_m    int;
	c_m    int;
	names  text[] := '{mon,tue,wed,thu,fri,sat,sun}';
BEGIN
	dows := '{}';
	opens := '{}';
	closes := '{}';
	FOREACH grp IN ARRAY string_to_array(cal, ', ') LOOP
		days := NULL;
		FOREACH tok IN ARRAY string_to_array(grp, ' ') LOOP
			IF days IS NULL THEN
				a := array_position(names, split_part(tok, '-', 1)) - 1;
				b := coalesce(array_position(names, nullif(split_part(tok, '-', 2), '')) - 1, a);
				days := ARRAY(SELECT generate_series(a, b));
			ELSIF tok ~ '^\d\d:\d\d-\d\d:\d\d$' THEN
				o_m := substr(tok, 1, 2)::int * 60 + substr(tok, 4, 2)::int;
				c_m := substr(tok, 7, 2)::int * 60 + substr(tok, 10, 2)::int;
				IF c_m <= o_m THEN
					c_m := c_m + 1440;
				END IF;
				FOREACH a IN ARRAY days LOOP
					dows := dows || a;
					opens := opens || o_m;
					closes := closes || c_m;
				END LOOP;
			ELSE
				zone := tok;
			END IF;
		END LOOP;
	END LOOP;
	zone := coalesce(zone, current_setting('TimeZone'));
END
$$;

CREATE FUNCTION pg_temp.sla_deadline_ref(s repairsys.sla_interval, start timestamptz, closed date[],
                                         open date[] DEFAULT NULL, open_as int[] DEFAULT NULL)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	rem    bigint := (extract(epoch FROM repairsys.sla_target(s)) * 1000000)::bigint;
	w      record;
	d      date;
	lo     timestamptz := start;
	o      timestamptz;
	c      timestamptz;
	avail  bigint;
	dw     int;
BEGIN
	IF repairsys.sla_calendar(s) IS NULL THEN
		RETURN start + rem * interval '1 microsecond';
	END IF;
	w := pg_temp.sla_windows(s);
	d := (start AT TIME ZONE w.zone)::date - 1;
	LOOP
		-- whose windows day d has: none when closed, open_as's (Monday's) when
		-- open (closed wins), else its own weekday's
		IF closed IS NOT NULL AND d = ANY (closed) THEN
			dw := NULL;
		ELSIF open IS NOT NULL AND d = ANY (open) THEN
			dw := coalesce(open_as[array_position(open, d)], 1) - 1;
		ELSE
			dw := extract(isodow FROM d)::int - 1;
		END IF;
		IF dw IS NOT NULL THEN
			FOR i IN 1 .. array_length(w.dows, 1) LOOP
				CONTINUE WHEN w.dows[i] <> dw;
				o := (d::timestamp + w.opens[i] * interval '1 minute') AT TIME ZONE w.zone;
				c := (d::timestamp + w.closes[i] * interval '1 minute') AT TIME ZONE w.zone;
				IF o < lo THEN
					o := lo;
				END IF;
				CONTINUE WHEN c <= o;
				avail := ((extract(epoch FROM c) - extract(epoch FROM o)) * 1000000)::bigint;
				IF rem <= avail THEN
					RETURN o + rem * interval '1 microsecond';
				END IF;
				rem := rem - avail;
				lo := c;
			END LOOP;
		END IF;
		d := d + 1;
	END LOOP;
END
$$;

-- Business microseconds between a and b (a <= b), the same way.
CREATE FUNCTION pg_temp.sla_elapsed_ref(s repairsys.sla_interval, a timestamptz, b timestamptz, closed date[],
                                        open date[] DEFAULT NULL, open_as int[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	w      record;
	d      date;
	lo     timestamptz := a;
	o      timestamptz;
	c      timestamptz;
	total  bigint := 0;
	dw     int;
BEGIN
	IF repairsys.sla_calendar(s) IS NULL THEN
		RETURN ((extract(epoch FROM b) - extract(epoch FROM a)) * 1000000)::bigint;
	END IF;
	w := pg_temp.sla_windows(s);
	d := (a AT TIME ZONE w.zone)::date - 1;
	WHILE (d::timestamp AT TIME ZONE w.zone) < b LOOP
		-- whose windows day d has: none when closed, open_as's (Monday's) when
		-- open (closed wins), else its own weekday's
		IF closed IS NOT NULL AND d = ANY (closed) THEN
			dw := NULL;
		ELSIF open IS NOT NULL AND d = ANY (open) THEN
			dw := coalesce(open_as[array_position(open, d)], 1) - 1;
		ELSE
			dw := extract(isodow FROM d)::int - 1;
		END IF;
		IF dw IS NOT NULL THEN
			FOR i IN 1 .. array_length(w.dows, 1) LOOP
				CONTINUE WHEN w.dows[i] <> dw;
				o := greatest(lo, (d::timestamp + w.opens[i] * interval '1 minute') AT TIME ZONE w.zone);
				c := least(b, (d::timestamp + w.closes[i] * interval '1 minute') AT TIME ZONE w.zone);
				CONTINUE WHEN c <= o;
				total := total + ((extract(epoch FROM c) - extract(epoch FROM o)) * 1000000)::bigint;
				lo := c;
			END LOOP;
		END IF;
		d := d + 1;
	END LOOP;
	RETURN total;
END
$$;

-- Random cases: calendar, start, holidays, make-up days (60 per case over
-- the 16 years, each with a random weekday; about one in six is also closed,
-- where closed wins).
CREATE TEMP TABLE cal (id int PRIMARY KEY, s repairsys.sla_interval);
INSERT INTO cal VALUES
	(1, '8h in mon-fri 09:00-18:00 Asia/Shanghai'),
	(2, '6h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Europe/Berlin'),
	(3, '3h in mon-sun 22:00-06:00 America/New_York'),
	(4, '20h in mon-sun 00:00-24:00 Europe/Berlin'),
	(5, '5h in mon-sun 01:00-04:00 America/New_York'),
	(6, '2h30min in fri 20:00-02:00, sat-sun 10:00-14:00 Europe/Berlin'),
	(7, '9h in mon-fri 09:00-18:00'),
	(8, '4h in mon-sun 01:00-04:00 Europe/Berlin'),
	(9, '10h in tue-thu 00:00-24:00, sun 22:00-24:00 America/New_York'),
	(10, '45min in mon-sat 08:30-12:15 13:45-19:00 Australia/Sydney'),
	(11, '7h in mon-sun 00:00-03:00 21:00-24:00 America/Santiago'),
	(12, '30h in mon-fri 08:00-20:00 Pacific/Apia'),
	(13, '12h in sat-sun 23:30-02:30, wed 01:30-02:30 Australia/Lord_Howe');
CREATE TEMP TABLE cases AS
SELECT g AS id,
       c.s,
       timestamptz '2010-01-01 00:00+00' + (random() * 16 * 365 * 86400) * interval '1 second' AS start,
       (SELECT array_agg(DISTINCT date '2010-01-01' + (random() * 16 * 365)::int) FROM generate_series(1, 120 + 0 * g)) AS closed,
       (SELECT array_agg(d ORDER BY d) FROM (SELECT DISTINCT date '2010-01-01' + (random() * 16 * 365)::int AS d FROM generate_series(1, 60 + 0 * g)) x) AS open
  FROM generate_series(1, greatest(:n, :check)) g
  JOIN cal c ON c.id = 1 + g % 13;

-- scale some targets: minutes .. 1000 hours, varied per case
CREATE TEMP TABLE cases2 AS
SELECT id,
       (CASE id % 4 WHEN 0 THEN (1 + id % 59) || 'min' WHEN 1 THEN (1 + id % 30) || 'h'
                    WHEN 2 THEN (100 + id % 900) || 'h' ELSE (1 + id % 9) || 'h' || (id % 60) || 'min' END
        || ' in ' || repairsys.sla_calendar(s))::repairsys.sla_interval AS s,
       start, closed, open,
       ARRAY(SELECT 1 + (random() * 6 + 0 * id)::int FROM generate_series(1, cardinality(open))) AS open_as
  FROM cases;
-- a sixth of the open days also closed; the lists sorted, as closed_dates()
-- and open_dates() give them to the ticket triggers
UPDATE cases2 SET closed = ARRAY(SELECT DISTINCT d FROM unnest(closed || open[1:10]) d ORDER BY d);
ANALYZE cases2;

\echo == cross-check: C against the reference (all error and difference counts must be 0)
SET TimeZone = 'Europe/Berlin';
SELECT count(*) AS cases,
       count(*) FILTER (WHERE repairsys.sla_deadline(s, start, closed) IS DISTINCT FROM pg_temp.sla_deadline_ref(s, start, closed)) AS differences,
       count(*) FILTER (WHERE repairsys.sla_elapsed(s, start, repairsys.sla_deadline(s, start, closed), closed)
                              <> repairsys.sla_target(s)) AS elapsed_round_trip_errors,
       count(*) FILTER (WHERE extract(epoch FROM repairsys.sla_elapsed(s, start, start + span, closed)) * 1000000
                              <> pg_temp.sla_elapsed_ref(s, start, start + span, closed)) AS elapsed_differences
  FROM (SELECT *, (id % 97) * interval '1 day 3 hours 7 minutes 11.000013 seconds' AS span FROM cases2) c
 WHERE id <= :check;
\echo == cross-check with open (make-up) days, closed and open mixed (all counts must be 0)
SELECT count(*) AS cases,
       count(*) FILTER (WHERE repairsys.sla_deadline(s, start, closed, NULL, open, open_as)
                              IS DISTINCT FROM pg_temp.sla_deadline_ref(s, start, closed, open, open_as)) AS differences,
       count(*) FILTER (WHERE repairsys.sla_elapsed(s, start, repairsys.sla_deadline(s, start, closed, NULL, open, open_as), closed, NULL, open, open_as)
                              <> repairsys.sla_target(s)) AS elapsed_round_trip_errors,
       count(*) FILTER (WHERE extract(epoch FROM repairsys.sla_elapsed(s, start, start + span, closed, NULL, open, open_as)) * 1000000
                              <> pg_temp.sla_elapsed_ref(s, start, start + span, closed, open, open_as)) AS elapsed_differences,
       count(*) FILTER (WHERE repairsys.sla_deadline(s, start, closed, NULL, open, open_as)
                              <> repairsys.sla_deadline(s, start, closed)) AS open_days_changed_the_deadline
  FROM (SELECT *, (id % 97) * interval '1 day 3 hours 7 minutes 11.000013 seconds' AS span FROM cases2) c
 WHERE id <= :check;

\echo == speed: C against the reference over the same cases
CREATE FUNCTION pg_temp.clock_ms(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz;
BEGIN
	t0 := clock_timestamp();
	EXECUTE q;
	RETURN round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1);
END $$;
CREATE TEMP TABLE speed AS
WITH t AS (
	SELECT pg_temp.clock_ms(format('SELECT max(pg_temp.sla_deadline_ref(s, start, closed)) FROM cases2 WHERE id <= %s', :n)) AS ref_ms,
	       pg_temp.clock_ms(format('SELECT max(repairsys.sla_deadline(s, start, closed)) FROM cases2 WHERE id <= %s', :n)) AS c_ms,
	       pg_temp.clock_ms(format('SELECT max(start) FROM cases2 WHERE id <= %s', :n)) AS scan_ms)
SELECT :n AS cases, ref_ms, c_ms, scan_ms,
       round(ref_ms / greatest(c_ms, 0.1), 1) AS speedup,
       round((ref_ms - scan_ms) / greatest(c_ms - scan_ms, 0.1), 1) AS speedup_net_of_scan
  FROM t;
SELECT * FROM speed;

\echo == cost of a 1000-hour target against a 1-hour target (C)
CREATE TEMP TABLE long_short AS
SELECT id, start, closed, open, open_as,
       ('1h in ' || repairsys.sla_calendar(s))::repairsys.sla_interval AS short_s,
       ('1000h in ' || repairsys.sla_calendar(s))::repairsys.sla_interval AS long_s
  FROM cases2 WHERE id <= :n;
CREATE TEMP TABLE growth AS
WITH t AS (
	SELECT pg_temp.clock_ms('SELECT max(repairsys.sla_deadline(short_s, start, closed)) FROM long_short') AS short_ms,
	       pg_temp.clock_ms('SELECT max(repairsys.sla_deadline(long_s, start, closed)) FROM long_short') AS long_ms,
	       pg_temp.clock_ms('SELECT max(start) FROM long_short') AS scan_ms)
SELECT :n AS cases, short_ms AS ms_1h, long_ms AS ms_1000h, scan_ms,
       round(long_ms / greatest(short_ms, 0.1), 2) AS ratio,
       round((long_ms - scan_ms) / greatest(short_ms - scan_ms, 0.1), 2) AS ratio_net_of_scan
  FROM t;
SELECT * FROM growth;
CREATE TEMP TABLE growth_open AS
WITH t AS (
	SELECT pg_temp.clock_ms('SELECT max(repairsys.sla_deadline(short_s, start, closed, NULL, open, open_as)) FROM long_short') AS short_ms,
	       pg_temp.clock_ms('SELECT max(repairsys.sla_deadline(long_s, start, closed, NULL, open, open_as)) FROM long_short') AS long_ms,
	       pg_temp.clock_ms('SELECT max(start) FROM long_short') AS scan_ms)
SELECT :n AS cases, short_ms AS ms_1h, long_ms AS ms_1000h, scan_ms,
       round(long_ms / greatest(short_ms, 0.1), 2) AS ratio,
       round((long_ms - scan_ms) / greatest(short_ms - scan_ms, 0.1), 2) AS ratio_net_of_scan
  FROM t;
\echo == with 60 open days per case: a 1000-hour target against a 1-hour target (C)
SELECT * FROM growth_open;

\echo == cost of open days: the same deadlines with and without 60 open days per case (C, median of 3 rounds)
-- three rounds, alternating, and the median of the three ratios (the
-- machine is shared: one round alone moves with the load)
CREATE TEMP TABLE open_rounds AS
SELECT r,
       pg_temp.clock_ms(format('SELECT max(repairsys.sla_deadline(s, start, closed)) FROM cases2 WHERE id <= %s', :n)) AS closed_ms,
       pg_temp.clock_ms(format('SELECT max(repairsys.sla_deadline(s, start, closed, NULL, open, open_as)) FROM cases2 WHERE id <= %s', :n)) AS open_ms,
       pg_temp.clock_ms(format('SELECT max(start) FROM cases2 WHERE id <= %s', :n)) AS scan_ms
  FROM generate_series(1, 3) r;
CREATE TEMP TABLE open_cost AS
SELECT :n AS cases,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY closed_ms) AS ms_without_open_days,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY open_ms) AS ms_with_open_days,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY scan_ms) AS scan_ms,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY round(open_ms / greatest(closed_ms, 0.1), 2)) AS ratio,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY round((open_ms - scan_ms) / greatest(closed_ms - scan_ms, 0.1), 2)) AS ratio_net_of_scan
  FROM open_rounds;
SELECT * FROM open_cost;
-- one line per figure for the summary table of test/bench/run.sh
\pset format unaligned
\pset tuples_only on
SELECT format('SUMMARY|sla_interval|sla_deadline() vs a day-by-day PL/pgSQL reference, %s cases|%sx|>= 20x|%s', cases, speedup, CASE WHEN speedup >= 20 THEN 'yes' ELSE 'NO' END)
  FROM speed
UNION ALL
SELECT format('SUMMARY|sla_interval|a 1000-business-hour target vs a 1-hour one|%sx|<= 1.5x|%s', ratio, CASE WHEN ratio <= 1.5 THEN 'yes' ELSE 'NO' END)
  FROM growth
UNION ALL
SELECT format('SUMMARY|sla_interval|the same with 60 open (make-up) days per case|%sx|<= 1.5x|%s', ratio, CASE WHEN ratio <= 1.5 THEN 'yes' ELSE 'NO' END)
  FROM growth_open
UNION ALL
SELECT format('SUMMARY|sla_interval|sla_deadline() with 60 open days per case vs without them (cost of open days, median of 3)|%sx (%s vs %s ms)|report|-', ratio, ms_with_open_days, ms_without_open_days)
  FROM open_cost;
\pset format aligned
\pset tuples_only off

