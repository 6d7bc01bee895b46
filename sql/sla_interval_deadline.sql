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
