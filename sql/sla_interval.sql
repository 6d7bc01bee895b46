-- sla_interval: text I/O, canonical output, errors, comparison, deadlines.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
SET search_path = repairsys, public;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';

-- canonical output
SELECT s::sla_interval AS canonical FROM (VALUES
	('4h'), ('1h30min'), ('90min'), ('2d'), ('24h'), ('1d 2h 5min'), ('  45MIN  '),
	('8h in mon-fri 09:00-18:00 Asia/Shanghai'),
	('8h in mon-fri 09:00-18:00 asia/shanghai'),
	('6h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Europe/Berlin'),
	('3h in mon-sun 22:00-06:00'),
	('3h in Monday-Sunday 22:00-00:00'),
	('1h in sat-mon 9:00-12:00'),
	('2h in mon 13:00-17:00 08:00-12:00, tue-fri 08:00-12:00 13:00-17:00'),
	('1000h in mon-sun 00:00-24:00 UTC'),
	('5h in fri 20:00-02:00, sat 10:00-14:00')) v(s);

-- accessors
SELECT s, sla_target(s), sla_calendar(s) FROM (VALUES
	('2d'::sla_interval), ('1h30min'), ('8h in mon-fri 09:00-18:00 Asia/Shanghai')) v(s);

-- every input error (22P02; unknown zone 22023)
\set VERBOSITY default
SELECT ''::sla_interval;
SELECT 'in mon 09:00-10:00'::sla_interval;
SELECT '0h'::sla_interval;
SELECT '1.5h'::sla_interval;
SELECT '4'::sla_interval;
SELECT '4 hours'::sla_interval;
SELECT '30min 1h'::sla_interval;
SELECT '1h1h'::sla_interval;
SELECT '100001h'::sla_interval;
SELECT '9999999999h'::sla_interval;
SELECT '4h on mon 09:00-10:00'::sla_interval;
SELECT '2d in mon-fri 09:00-18:00'::sla_interval;
SELECT '4h in'::sla_interval;
SELECT '4h in funday 09:00-10:00'::sla_interval;
SELECT '4h in mon-'::sla_interval;
SELECT '4h in mon'::sla_interval;
SELECT '4h in mon 9-18'::sla_interval;
SELECT '4h in mon 09:00'::sla_interval;
SELECT '4h in mon 09:00-'::sla_interval;
SELECT '4h in mon 25:00-26:00'::sla_interval;
SELECT '4h in mon 09:60-10:00'::sla_interval;
SELECT '4h in mon 24:00-02:00'::sla_interval;
SELECT '4h in mon 24:30-02:00'::sla_interval;
SELECT '4h in mon 09:00-09:00'::sla_interval;
SELECT '4h in mon 09:00-12:00 11:00-13:00'::sla_interval;
SELECT '4h in mon 22:00-06:00, tue 05:00-09:00'::sla_interval;
SELECT '4h in sun 22:00-06:00, mon 05:00-09:00'::sla_interval;
SELECT '4h in mon-fri 09:00-18:00 sat 10:00-12:00'::sla_interval;
SELECT '4h in mon-fri 09:00-18:00 Mars/Olympus'::sla_interval;
SELECT '4h in mon-fri 09:00-18:00 Asia/Shanghai extra'::sla_interval;
SELECT '4h in mon-fri 09:00-18:00 ../etc/passwd'::sla_interval;
SELECT '4h in mon-fri 09:00-18:00 9Zone'::sla_interval;
SELECT '4h in mon 00:00-01:00 01:00-02:00 02:00-03:00 03:00-04:00 04:00-05:00 05:00-06:00 06:00-07:00 07:00-08:00 08:00-09:00 09:00-10:00 10:00-11:00 11:00-12:00 12:00-13:00 13:00-14:00 14:00-15:00 15:00-16:00, tue-sun 00:00-01:00 01:00-02:00 02:00-03:00 03:00-04:00 04:00-05:00 05:00-06:00 06:00-07:00 07:00-08:00 08:00-09:00 09:00-10:00 10:00-11:00 11:00-12:00 12:00-13:00 13:00-14:00 14:00-15:00 15:00-16:00 16:00-17:00'::sla_interval;
\set VERBOSITY terse
-- the SQLSTATE of each error
CREATE FUNCTION pg_temp.sla_sqlstate(input text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM input::repairsys.sla_interval;
	RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;
SELECT pg_temp.sla_sqlstate(i) AS sqlstate, count(*) FROM (VALUES ('', 1), ('0h', 1), ('1.5h', 1), ('4 hours', 1), ('30min 1h', 1),
	('9999999999h', 1), ('4h on mon 09:00-10:00', 1), ('2d in mon-fri 09:00-18:00', 1), ('4h in', 1), ('4h in mon', 1),
	('4h in mon 09:00-', 1), ('4h in mon 24:00-02:00', 1), ('4h in mon 09:00-09:00', 1), ('4h in mon 22:00-06:00, tue 05:00-09:00', 1),
	('4h in mon-fri 09:00-18:00 sat 10:00-12:00', 1), ('4h in mon-fri 09:00-18:00 ../etc/passwd', 1),
	('4h in mon-fri 09:00-18:00 Asia/Shanghai extra', 1), ('4h in mon-fri 09:00-18:00 Mars/Olympus', 1),
	('4h in mon-fri 09:00-18:00 Europe/Nowhere', 1)) v(i, n)
 GROUP BY 1 ORDER BY 1;

-- comparison, sorting, hashing
SELECT '4h'::sla_interval = '240min'::sla_interval AS eq,
       '1d'::sla_interval = '24h' AS eq_day,
       '8h in mon 09:00-17:00' = '8h in Mon 9:00-17:00'::sla_interval AS eq_cal,
       '4h'::sla_interval <> '4h in mon-sun 00:00-24:00' AS ne_wall_business,
       '4h'::sla_interval < '4h in mon-sun 00:00-24:00' AS wall_first,
       '3h in sun 09:00-10:00'::sla_interval < '4h' AS target_first;
SELECT s FROM (VALUES ('8h in mon-fri 09:00-18:00'::sla_interval), ('1h'), ('8h in mon-fri 08:00-17:00'),
                      ('8h'), ('30min in sat 10:00-11:00'), ('8h in mon-fri 09:00-18:00 UTC')) v(s) ORDER BY s;
SELECT count(DISTINCT s) AS distinct_values FROM (VALUES ('4h'::sla_interval), ('240min'), ('4h in mon 09:00-18:00'), ('4h in MON 9:00-18:00')) v(s);
SET enable_sort = off;
SELECT s, count(*) FROM (VALUES ('4h'::sla_interval), ('240min'), ('4h in mon 09:00-18:00'), ('4h in MON 9:00-18:00')) v(s) GROUP BY s ORDER BY 1;
RESET enable_sort;
CREATE TEMP TABLE sla_keys (s sla_interval PRIMARY KEY);
INSERT INTO sla_keys VALUES ('4h'), ('4h in mon 09:00-18:00');
INSERT INTO sla_keys VALUES ('240min');
CREATE INDEX ON sla_keys USING hash (s);
SET enable_seqscan = off;
SELECT s FROM sla_keys WHERE s = '4h in Mon 09:00-18:00';
RESET enable_seqscan;

-- binary round trip
SELECT encode(sla_interval_send('6h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Europe/Berlin'), 'hex') AS send_hex;
SELECT encode(sla_interval_send('2d'), 'hex') AS send_wall;
CREATE TEMP TABLE sla_bin (s sla_interval);
INSERT INTO sla_bin VALUES ('6h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Europe/Berlin'), ('2d'), ('3h in mon-sun 22:00-06:00');
\copy sla_bin TO '/tmp/sla_interval_regress.bin' WITH (FORMAT binary)
CREATE TEMP TABLE sla_bin2 (s sla_interval);
\copy sla_bin2 FROM '/tmp/sla_interval_regress.bin' WITH (FORMAT binary)
SELECT (SELECT array_agg(s ORDER BY s) FROM sla_bin) = (SELECT array_agg(s ORDER BY s) FROM sla_bin2) AS binary_round_trip;
