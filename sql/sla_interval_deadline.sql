-- sla_interval: deadlines and elapsed business time.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
SET search_path = repairsys, public;
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';

-- Asia/Shanghai (no DST), mon-fri 09:00-18:00; 2024-03-01 is a Friday
SET TimeZone = 'Asia/Shanghai';
SELECT label, start, s, sla_deadline(s::sla_interval, start::timestamptz, closed::date[]) AS deadline
  FROM (VALUES
	('before the window',      '2024-03-01 07:00', '8h in mon-fri 09:00-18:00 Asia/Shanghai', NULL),
	('inside, same day',       '2024-03-01 10:00', '1h in mon-fri 09:00-18:00 Asia/Shanghai', NULL),
	('used up at the close',   '2024-03-01 10:00', '8h in mon-fri 09:00-18:00 Asia/Shanghai', NULL),
	('after the window',       '2024-03-01 19:00', '2h in mon-fri 09:00-18:00 Asia/Shanghai', NULL),
	('friday evening',         '2024-03-01 17:30', '1h in mon-fri 09:00-18:00 Asia/Shanghai', NULL),
	('closed day (saturday)',  '2024-03-02 11:00', '30min in mon-fri 09:00-18:00 Asia/Shanghai', NULL),
	('holiday on monday',      '2024-03-01 17:30', '1h in mon-fri 09:00-18:00 Asia/Shanghai', '{2024-03-04}'),
	('start on a holiday',     '2024-03-04 10:00', '1h in mon-fri 09:00-18:00 Asia/Shanghai', '{2024-03-04,NULL,2024-03-04}'),
	('minutes',                '2024-03-01 17:59', '45min in mon-fri 09:00-18:00 Asia/Shanghai', NULL),
	('microseconds kept',      '2024-03-01 17:59:59.999999', '1min in mon-fri 09:00-18:00 Asia/Shanghai', NULL),
	('1000 hours',             '2024-03-01 17:00', '1000h in mon-fri 09:00-18:00 Asia/Shanghai', NULL),
	('1000 hours, holidays',   '2024-03-01 17:00', '1000h in mon-fri 09:00-18:00 Asia/Shanghai', '{2024-04-04,2024-05-01,2024-05-02,2024-05-03,2024-06-10}'),
	('lunch break: between',   '2024-03-01 12:30', '6h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Asia/Shanghai', NULL),
	('lunch break: saturday',  '2024-03-01 15:00', '6h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Asia/Shanghai', NULL),
	('lunch break: morning',   '2024-03-04 11:00', '2h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Asia/Shanghai', NULL)
  ) v(label, start, s, closed);

-- overnight windows, across the week end
SET TimeZone = 'Europe/Berlin';
SELECT label, start, s, sla_deadline(s::sla_interval, start::timestamptz, closed::date[]) AS deadline
  FROM (VALUES
	('sunday night into monday', '2024-01-07 23:00', '3h in sun 22:00-06:00 Europe/Berlin', NULL),
	('spill of saturday',        '2024-01-07 02:00', '3h in sat 22:00-06:00, sun 22:00-06:00 Europe/Berlin', NULL),
	('holiday closes the spill', '2024-01-07 23:00', '2h in sun 22:00-06:00, mon 22:00-06:00 Europe/Berlin', '{2024-01-07}'),
	('monday holiday: spill stays', '2024-01-08 01:00', '2h in sun 22:00-06:00, mon 22:00-06:00 Europe/Berlin', '{2024-01-08}'),
	('every night, 100h',        '2024-01-05 21:00', '100h in mon-sun 22:00-06:00 Europe/Berlin', NULL),
	('friday night to monday',   '2024-01-05 20:00', '9h in fri 20:00-02:00, mon 08:00-12:00 Europe/Berlin', NULL)
  ) v(label, start, s, closed);

-- DST: Europe/Berlin springs forward 2024-03-31 02:00, falls back 2024-10-27 03:00
SELECT label, start, s, sla_deadline(s::sla_interval, start::timestamptz) AS deadline,
       sla_elapsed(s::sla_interval, start::timestamptz, (start::timestamp + interval '1 day')::timestamptz) AS business_in_next_24_local_hours
  FROM (VALUES
	('spring, 24h window day', '2024-03-31 00:00', '24h in mon-sun 00:00-24:00 Europe/Berlin'),
	('spring, 01-04 window',   '2024-03-31 00:00', '2h in mon-sun 01:00-04:00 Europe/Berlin'),
	('spring, 01-04 3h',       '2024-03-31 00:00', '3h in mon-sun 01:00-04:00 Europe/Berlin'),
	('fall, 24h window day',   '2024-10-27 00:00', '24h in mon-sun 00:00-24:00 Europe/Berlin'),
	('fall, 01-04 window',     '2024-10-27 00:00', '4h in mon-sun 01:00-04:00 Europe/Berlin'),
	('fall, 01-04 3h',         '2024-10-27 00:00', '3h in mon-sun 01:00-04:00 Europe/Berlin')
  ) v(label, start, s);

-- DST: America/New_York springs forward 2024-03-10 02:00, falls back 2024-11-03 02:00
SET TimeZone = 'America/New_York';
SELECT label, start, s, sla_deadline(s::sla_interval, start::timestamptz) AS deadline,
       sla_elapsed(s::sla_interval, start::timestamptz, (start::timestamp + interval '1 day')::timestamptz) AS business_in_next_24_local_hours
  FROM (VALUES
	('spring, 24h window day', '2024-03-10 00:00', '24h in mon-sun 00:00-24:00 America/New_York'),
	('spring, 01-04 window',   '2024-03-10 00:00', '2h in mon-sun 01:00-04:00 America/New_York'),
	('spring, inside the gap', '2024-03-10 01:30', '1h in mon-sun 01:00-04:00 America/New_York'),
	('fall, 24h window day',   '2024-11-03 00:00', '24h in mon-sun 00:00-24:00 America/New_York'),
	('fall, 01-04 window',     '2024-11-03 00:00', '4h in mon-sun 01:00-04:00 America/New_York'),
	('fall, 1000h',            '2024-06-03 09:00', '1000h in mon-fri 09:00-17:00 America/New_York')
  ) v(label, start, s);

-- wall clock: d is 24 hours of elapsed time, also across DST
SELECT timestamptz '2024-03-09 12:00' + '2d'::sla_interval AS two_days_wall,
       timestamptz '2024-03-09 12:00' + interval '2 days' AS two_calendar_days,
       sla_elapsed('1h', '2024-03-09 12:00', '2024-03-11 12:00') AS wall_elapsed;

-- a calendar without zone is read in the session TimeZone (or default_zone)
SET TimeZone = 'UTC';
SELECT sla_deadline('1h in mon-fri 09:00-18:00', '2024-03-01 00:30+00') AS utc_session,
       sla_deadline('1h in mon-fri 09:00-18:00', '2024-03-01 00:30+00', NULL, 'Asia/Shanghai') AS shanghai_default,
       sla_deadline('1h in mon-fri 09:00-18:00 Europe/Berlin', '2024-03-01 00:30+00', NULL, 'Asia/Shanghai') AS own_zone_wins;
SET TimeZone = 'Asia/Shanghai';
SELECT timestamptz '2024-03-01 00:30+00' + '1h in mon-fri 09:00-18:00'::sla_interval AS shanghai_session;
SET TimeZone = 'UTC';

-- sla_elapsed(a, a + x) = x inside windows; negative when reversed
SELECT sla_elapsed('1h in mon-fri 09:00-18:00 Asia/Shanghai', '2024-03-01 10:00+08', '2024-03-01 10:00+08'::timestamptz + interval '3 hours 17 minutes 0.000001 seconds') AS inside,
       sla_elapsed('1h in mon-fri 09:00-18:00 Asia/Shanghai', '2024-03-01 17:00+08', '2024-03-04 10:00+08') AS over_weekend,
       sla_elapsed('1h in mon-fri 09:00-18:00 Asia/Shanghai', '2024-03-04 10:00+08', '2024-03-01 17:00+08') AS reversed,
       sla_elapsed('1h in mon-fri 09:00-18:00 Asia/Shanghai', '2024-03-01 17:00+08', '2024-03-04 10:00+08', '{2024-03-04}') AS with_holiday;
SELECT count(*) AS cases,
       count(*) FILTER (WHERE sla_elapsed(c, a, a + x) <> x) AS mismatches
  FROM (VALUES ('1h in mon-sun 00:00-24:00 Asia/Shanghai'::sla_interval), ('1h in mon-sun 00:00-24:00 UTC')) v(c),
       generate_series(timestamptz '2024-01-01', '2024-12-31', interval '5 days 7 hours 13 minutes') a,
       (VALUES (interval '1 microsecond'), (interval '59 minutes'), (interval '30 hours'), (interval '400 hours')) w(x);

-- deadline then elapsed gives the target back; advance is the inverse of elapsed
SELECT count(*) AS cases,
       count(*) FILTER (WHERE sla_elapsed(s, a, sla_deadline(s, a, h), h) <> sla_target(s)) AS round_trip_errors,
       count(*) FILTER (WHERE sla_advance(s, a, sla_elapsed(s, a, a + interval '9 days', h), h) > a + interval '9 days') AS advance_errors
  FROM (VALUES ('7h in mon-fri 09:00-18:00 Europe/Berlin'::sla_interval),
               ('50h in mon-sun 01:00-04:00 America/New_York'),
               ('123h45min in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Europe/Berlin'),
               ('333h in fri 20:00-02:00, sun 22:00-24:00 Australia/Lord_Howe'),
               ('1000h in mon-sun 00:00-24:00 America/New_York')) v(s),
       generate_series(timestamptz '2024-01-01 00:17', '2025-01-01', interval '2 days 3 hours 11 minutes') a,
       (VALUES (NULL::date[]), ('{2024-03-31,2024-10-27,2024-11-03,2024-12-25}')) hh(h);

-- sla_advance
SELECT sla_advance('1h in mon-fri 09:00-18:00 Asia/Shanghai', '2024-03-01 17:00+08', interval '90 minutes') AS advanced,
       sla_advance('1h in mon-fri 09:00-18:00 Asia/Shanghai', '2024-03-01 17:00+08', interval '0') AS zero,
       sla_advance('1h', '2024-03-01 17:00+08', interval '90 minutes') AS wall;
\set VERBOSITY default
SELECT sla_advance('1h in mon-fri 09:00-18:00', now(), interval '-1 hour');
SELECT sla_advance('1h in mon-fri 09:00-18:00', now(), interval '1 day');
SELECT sla_deadline('1h in mon-fri 09:00-18:00', now(), NULL, 'Nowhere/Land');
SELECT sla_deadline('1h in mon-fri 09:00-18:00', 'infinity');
SELECT sla_elapsed('1h in mon-fri 09:00-18:00', now(), '-infinity');
SELECT sla_deadline('100000h in sun 00:00-00:01', '294270-01-01');
\set VERBOSITY terse
SELECT sla_deadline(NULL, now()) AS null_value, sla_deadline('1h', NULL) AS null_start,
       sla_deadline('1h', '2024-01-01 00:00+00', NULL) AS null_closed_is_none;

-- Make-up working days (调休): open dates.  2024-03-01 is a Friday, 2024-03-02
-- a Saturday.  An open date has Monday's windows (or those of the ISO weekday
-- at the same position in open_as); a date both closed and open is closed.
SET TimeZone = 'Asia/Shanghai';
SELECT sla_deadline('8h in mon-fri 09:00-18:00 Asia/Shanghai', '2024-03-01 17:00', NULL, NULL, ARRAY[date '2024-03-02']) AS with_open_saturday,
       sla_deadline('8h in mon-fri 09:00-18:00 Asia/Shanghai', '2024-03-01 17:00') AS without_it,
       sla_deadline('8h in mon-fri 09:00-18:00 Asia/Shanghai', '2024-03-01 17:00', NULL, NULL, NULL) AS open_null_is_none,
       sla_deadline('8h in mon-fri 09:00-18:00 Asia/Shanghai', '2024-03-01 17:00', '{2024-03-02}', NULL, '{2024-03-02}') AS closed_wins;
SELECT label, sla_deadline(s::sla_interval, start::timestamptz, closed::date[], NULL, open::date[], open_as::int[]) AS deadline,
       sla_elapsed(s::sla_interval, start::timestamptz, start::timestamptz + interval '4 days', closed::date[], NULL, open::date[], open_as::int[]) AS elapsed_4_days
  FROM (VALUES
	('saturday as monday',        '2024-03-01 17:00', '3h in mon 08:00-12:00, tue-fri 09:00-18:00', NULL, '{2024-03-02}', NULL),
	('saturday as friday',        '2024-03-01 17:00', '3h in mon 08:00-12:00, tue-fri 09:00-18:00', NULL, '{2024-03-02}', '{5}'),
	('sunday as saturday',        '2024-03-01 17:00', '3h in mon-fri 09:00-18:00, sat 10:00-11:00', NULL, '{2024-03-03}', '{6}'),
	('open tuesday as monday',    '2024-03-04 12:00', '5h in mon 08:00-12:00, tue-fri 09:00-18:00', NULL, '{2024-03-05}', '{1}'),
	('open and closed mixed',     '2024-03-01 17:00', '10h in mon-fri 09:00-18:00', '{2024-03-04,2024-03-05}', '{2024-03-02,2024-03-03,2024-03-05}', '{1,1,1}'),
	('duplicate open dates',      '2024-03-01 17:00', '3h in mon 08:00-12:00, tue-fri 09:00-18:00', NULL, '{2024-03-02,2024-03-02}', '{5,5}'),
	-- an open Saturday as Sunday brings Sunday's overnight window, which runs
	-- into Sunday morning; Sunday itself has no windows of its own here
	('overnight from an open day', '2024-03-01 18:00', '6h in fri 09:00-18:00, sun 22:00-06:00', NULL, '{2024-03-02}', '{7}'),
	-- Friday's overnight window runs to Saturday 06:00; an open Saturday as
	-- Monday (05:00-09:00) overlaps it: the hour 05:00-06:00 counts once
	('overlap counted once',      '2024-03-01 22:00', '10h in fri 22:00-06:00, mon 05:00-09:00', NULL, '{2024-03-02}', NULL)
  ) v(label, start, s, closed, open, open_as);
-- the cost does not grow with the target: 1000 hours with the 2024 make-up days
SELECT sla_deadline('1000h in mon-fri 09:00-18:00', '2024-01-02 09:00', '{2024-02-12,2024-02-13,2024-02-14,2024-02-15,2024-02-16,2024-04-04,2024-04-05,2024-05-01,2024-05-02,2024-05-03}', NULL,
                    '{2024-02-04,2024-02-18,2024-04-07,2024-04-28,2024-05-11}') AS with_make_up_days,
       sla_deadline('1000h in mon-fri 09:00-18:00', '2024-01-02 09:00', '{2024-02-12,2024-02-13,2024-02-14,2024-02-15,2024-02-16,2024-04-04,2024-04-05,2024-05-01,2024-05-02,2024-05-03}') AS without,
       sla_advance('1h in mon-fri 09:00-18:00', '2024-01-02 09:00', interval '9000 hours', NULL, NULL, ARRAY(SELECT d::date FROM generate_series(date '2024-01-06', '2030-01-01', '7 days') d)) AS every_saturday_open,
       sla_advance('1h in mon-sat 09:00-18:00', '2024-01-02 09:00', interval '9000 hours') AS mon_sat_calendar;
-- long targets across DST: a calendar with every Sunday open as Saturday (or
-- as Monday, overnight) gives the deadlines of the calendar that has those
-- windows on Sundays (whole weeks skipped, open days in them)
SELECT count(*) AS cases,
       count(*) FILTER (WHERE sla_deadline(a, st, NULL, NULL, o, oa) <> sla_deadline(b, st)) AS deadline_differences,
       count(*) FILTER (WHERE sla_elapsed(a, st, st + interval '100 days', NULL, NULL, o, oa) <> sla_elapsed(b, st, st + interval '100 days')) AS elapsed_differences
  FROM (VALUES ('300h in mon-fri 09:00-18:00, sat 10:00-14:00 Europe/Berlin'::sla_interval, '300h in mon-fri 09:00-18:00, sat-sun 10:00-14:00 Europe/Berlin'::sla_interval, 6),
               ('200h in mon-sat 22:00-06:00 America/New_York', '200h in mon-sun 22:00-06:00 America/New_York', 1),
               ('100h in mon-sat 00:00-03:00 21:00-24:00 America/Santiago', '100h in mon-sun 00:00-03:00 21:00-24:00 America/Santiago', 3)) v(a, b, wd),
       LATERAL (SELECT array_agg(d::date ORDER BY d) AS o, array_agg(wd ORDER BY d) AS oa
                  FROM generate_series(date '2023-12-31', '2026-12-31', interval '7 days') d) sun,
       generate_series(timestamptz '2024-01-01 00:17+00', '2025-01-01', interval '3 days 5 hours 7 minutes') st;
\set VERBOSITY default
SELECT sla_deadline('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', NULL, NULL, '{2024-03-02,NULL}');
SELECT sla_deadline('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', NULL, NULL, '{infinity}');
SELECT sla_deadline('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', NULL, NULL, '{{2024-03-02}}');
SELECT sla_elapsed('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', '2024-03-04 00:00', NULL, NULL, '{2024-03-02}', '{1,2}');
SELECT sla_elapsed('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', '2024-03-04 00:00', NULL, NULL, NULL, '{1}');
SELECT sla_advance('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', '1 hour', NULL, NULL, '{2024-03-02}', '{8}');
SELECT sla_advance('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', '1 hour', NULL, NULL, '{2024-03-02}', '{NULL}');
SELECT sla_advance('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', '1 hour', NULL, NULL, '{2024-03-02,2024-03-09,2024-03-02}', '{1,1,6}');
CREATE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;
SELECT pg_temp.sqlstate_of(q) AS sqlstate, count(*) AS calls
  FROM (VALUES ($$SELECT sla_deadline('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', NULL, NULL, '{2024-03-02,NULL}')$$),
               ($$SELECT sla_deadline('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', NULL, NULL, '{infinity}')$$),
               ($$SELECT sla_deadline('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', NULL, NULL, '{{2024-03-02}}')$$),
               ($$SELECT sla_elapsed('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', '2024-03-04 00:00', NULL, NULL, '{2024-03-02}', '{1,2}')$$),
               ($$SELECT sla_elapsed('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', '2024-03-04 00:00', NULL, NULL, NULL, '{1}')$$),
               ($$SELECT sla_advance('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', '1 hour', NULL, NULL, '{2024-03-02}', '{8}')$$),
               ($$SELECT sla_advance('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', '1 hour', NULL, NULL, '{2024-03-02}', '{NULL}')$$),
               ($$SELECT sla_advance('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', '1 hour', NULL, NULL, '{2024-03-02,2024-03-02}', '{1,6}')$$),
               ($$SELECT sla_advance('1h in mon-fri 09:00-18:00', '2024-03-01 00:00', '1 hour', NULL, NULL, '{2024-03-02}', '{{1}}')$$)) v(q)
 GROUP BY 1;
\set VERBOSITY terse

-- Brute force: random calendars (30-minute edges, overnight windows, several
-- windows a day), random closed and open days (some dates both), in zones
-- with DST (Berlin, New York, Santiago's midnight changes, Lord Howe's
-- half-hour ones) and without (Shanghai), starts within a week before a DST
-- change.  The reference builds every window of every local day as a range
-- of instants (AT TIME ZONE; overlaps merged by the multirange) and walks
-- minute by minute: the deadline is the end of the target-th business
-- minute, the elapsed time the number of business minutes.  Edges fall on
-- whole minutes in these zones, so minutes are exact.  Seeded: the same
-- cases on every run.
SELECT setseed(0.18);
CREATE TEMP TABLE bf_case AS
WITH z(zone, change) AS (VALUES
	('Europe/Berlin', date '2024-03-31'), ('Europe/Berlin', '2024-10-27'),
	('America/New_York', '2024-03-10'), ('America/New_York', '2024-11-03'),
	('America/Santiago', '2024-04-07'), ('America/Santiago', '2024-09-08'),
	('Australia/Lord_Howe', '2024-04-07'), ('Australia/Lord_Howe', '2024-10-06'),
	('Asia/Shanghai', '2024-02-10'))
SELECT row_number() OVER () AS id, z.zone,
       ((z.change - (random() * 6)::int)::timestamp + (30 * (random() * 48)::int + (random() * 29)::int) * interval '1 minute') AS start_local
  FROM z, generate_series(1, 12) g;
ALTER TABLE bf_case ADD COLUMN dows int[], ADD COLUMN opens int[], ADD COLUMN closes int[],
	ADD COLUMN cal text, ADD COLUMN closed date[], ADD COLUMN open date[], ADD COLUMN open_as int[],
	ADD COLUMN start timestamptz, ADD COLUMN target int, ADD COLUMN span int, ADD COLUMN mr tstzmultirange;
-- windows of weekday d (0 = Monday): minutes from its midnight, close > 1440 overnight
CREATE FUNCTION pg_temp.bf_fill(c bf_case) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	dw int[] := '{}'; op int[] := '{}'; cl int[] := '{}';
	spill int := 0; first_mon int := NULL; o int; len int; a int; g int; k int;
	txt text := ''; n int; day0 date; cd date[] := '{}'; od date[] := '{}'; oa int[] := '{}';
	names text[] := '{mon,tue,wed,thu,fri,sat,sun}';
	m tstzmultirange; st timestamptz; avail int;
BEGIN
	FOR d IN 0 .. 6 LOOP
		IF random() < 0.2 THEN spill := 0; CONTINUE; END IF;
		o := greatest(30 * (random() * 44)::int, spill);
		len := 30 * (1 + (random() * 35)::int);
		IF o >= 1440 THEN spill := 0; CONTINUE; END IF;
		IF d = 6 AND first_mon IS NOT NULL THEN
			len := least(len, 1440 + first_mon - o);		-- the wrap to Monday
			IF len < 30 THEN CONTINUE; END IF;
		END IF;
		a := NULL;
		IF len >= 120 AND random() < 0.4 THEN
			a := 30 * (1 + (random() * (len / 30 - 3))::int);	-- a lunch break
			g := least(30 * (1 + (random() * 3)::int), len - a - 30);
		END IF;
		IF len >= 120 AND a IS NOT NULL AND o + a + g < 1440 THEN
			dw := dw || d || d; op := op || o || (o + a + g); cl := cl || (o + a) || (o + len);
		ELSE
			dw := dw || d; op := op || o; cl := cl || (o + len);
		END IF;
		IF d = 0 THEN first_mon := o; END IF;
		spill := greatest(o + len - 1440, 0);
	END LOOP;
	IF cardinality(dw) = 0 THEN
		dw := '{2}'; op := '{540}'; cl := '{1080}';
	END IF;
	FOR i IN 1 .. cardinality(dw) LOOP
		txt := txt || CASE WHEN i > 1 THEN ', ' ELSE '' END || names[dw[i] + 1] || ' '
		       || to_char(make_time(op[i] / 60, op[i] % 60, 0), 'HH24:MI') || '-'
		       || CASE WHEN cl[i] = 1440 THEN '24:00' ELSE to_char(make_time((cl[i] % 1440) / 60, cl[i] % 60, 0), 'HH24:MI') END;
	END LOOP;
	txt := txt || ' ' || c.zone;
	-- closed and open days around the start, some both
	day0 := c.start_local::date;
	n := (random() * 4)::int;
	FOR i IN 1 .. n LOOP cd := cd || (day0 - 1 + (random() * 10)::int); END LOOP;
	n := (random() * 5)::int;
	FOR i IN 1 .. n LOOP
		k := (random() * 10)::int;
		CONTINUE WHEN day0 - 1 + k = ANY (od);
		od := od || (day0 - 1 + k);
		oa := oa || (1 + (random() * 6)::int);
	END LOOP;
	IF random() < 0.3 AND cardinality(od) > 0 THEN cd := cd || od[1]; END IF;
	-- the reference: every window of every local day, overlaps merged
	SELECT coalesce(range_agg(tstzrange(lo, hi)) FILTER (WHERE lo < hi), '{}') INTO m
	  FROM (SELECT ((dd::date)::timestamp + op[i] * interval '1 minute') AT TIME ZONE c.zone AS lo,
	               ((dd::date)::timestamp + cl[i] * interval '1 minute') AT TIME ZONE c.zone AS hi
	          FROM generate_series(day0 - 2, day0 + 12, interval '1 day') dd,
	               generate_series(1, cardinality(dw)) i
	         WHERE dw[i] = CASE WHEN dd::date = ANY (cd) THEN -1
	                            WHEN dd::date = ANY (od) THEN oa[array_position(od, dd::date)] - 1
	                            ELSE extract(isodow FROM dd)::int - 1 END) w;
	st := c.start_local AT TIME ZONE c.zone;
	SELECT count(*) INTO avail FROM generate_series(st, st + interval '10 days' - interval '1 minute', interval '1 minute') t WHERE t <@ m;
	UPDATE bf_case SET dows = dw, opens = op, closes = cl, cal = txt, closed = cd, open = od, open_as = oa,
	       start = st, target = CASE WHEN avail > 0 THEN 1 + (random() * (least(avail, 3000) - 1))::int END,
	       span = (random() * 14400)::int, mr = m
	 WHERE id = c.id;
END
$$;
SELECT count(*) FROM (SELECT pg_temp.bf_fill(c) FROM bf_case c ORDER BY id) x;
CREATE TEMP TABLE bf_result AS
SELECT c.id, c.cal, c.start, c.closed, c.open, c.open_as, c.target,
       (c.target || 'min in ' || c.cal)::sla_interval AS s,
       (SELECT t + interval '1 minute'
          FROM generate_series(c.start, c.start + interval '10 days', interval '1 minute') t
         WHERE t <@ c.mr ORDER BY t OFFSET c.target - 1 LIMIT 1) AS ref_deadline,
       (SELECT count(*) FROM generate_series(c.start, c.start + (c.span - 1) * interval '1 minute', interval '1 minute') t
         WHERE t <@ c.mr) * interval '1 minute' AS ref_elapsed,
       c.span
  FROM bf_case c WHERE c.target IS NOT NULL;
SELECT count(*) AS cases,
       count(*) FILTER (WHERE cardinality(open) > 0) AS with_open_days,
       count(*) FILTER (WHERE cardinality(closed) > 0 AND cardinality(open) > 0) AS with_both,
       count(*) FILTER (WHERE sla_deadline(s, start, closed, NULL, open, open_as) IS DISTINCT FROM ref_deadline) AS deadline_differences,
       count(*) FILTER (WHERE sla_advance(s, start, target * interval '1 minute', closed, NULL, open, open_as) IS DISTINCT FROM ref_deadline) AS advance_differences,
       count(*) FILTER (WHERE sla_elapsed(s, start, start + span * interval '1 minute', closed, NULL, open, open_as) <> ref_elapsed) AS elapsed_differences,
       count(*) FILTER (WHERE sla_elapsed(s, start, sla_deadline(s, start, closed, NULL, open, open_as), closed, NULL, open, open_as) <> sla_target(s)) AS round_trip_errors,
       count(*) FILTER (WHERE sla_deadline(s, start, closed, NULL, open, open_as) <> sla_deadline(s, start, closed)) > 0 AS open_days_mattered
  FROM bf_result;
-- the differences, if any, one per line
SELECT id, cal, start, closed, open, open_as, target, ref_deadline, sla_deadline(s, start, closed, NULL, open, open_as) AS c_deadline
  FROM bf_result
 WHERE sla_deadline(s, start, closed, NULL, open, open_as) IS DISTINCT FROM ref_deadline
 ORDER BY id;
