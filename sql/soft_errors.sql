-- needs PostgreSQL 16 (pg_input_is_valid, pg_input_error_info); the Makefile leaves it out before
--
-- Soft input errors: on PostgreSQL 16 and later both input functions report
-- bad text through ereturn(), so pg_input_is_valid() answers false instead
-- of raising, and pg_input_error_info() shows the error the cast would have
-- raised: 22P02 for bad text, 22003 for a number out of range (fee_tier),
-- 22023 for an unknown time zone (sla_interval).
-- Valid values: true, and no error.
SELECT v AS input,
       pg_input_is_valid(v, 'repairsys.fee_tier') AS valid,
       (pg_input_error_info(v, 'repairsys.fee_tier')).sql_error_code
  FROM (VALUES ('base=50, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80'),
               (' 0+:1 '),
               ('volume, 0-10:1, 10+:0.5, max=100'),
               ('BASE = 0.5 , 0 - 0.5 : 0.0001 , 0.5 + : 1')) AS t(v);
SELECT v AS input,
       pg_input_is_valid(v, 'repairsys.sla_interval') AS valid,
       (pg_input_error_info(v, 'repairsys.sla_interval')).sql_error_code
  FROM (VALUES ('4h'), ('1h30min'), ('2d'),
               ('8h in mon-fri 09:00-18:00 Asia/Shanghai'),
               ('3h in mon-sun 22:00-06:00'),
               ('6h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Europe/Berlin')) AS t(v);
-- fee_tier: one row for each way the text can be wrong.
SELECT v AS input, pg_input_is_valid(v, 'repairsys.fee_tier') AS valid, e.*
  FROM (VALUES (''), ('   '),
               ('-5+:1'),
               ('0-+5:1'),
               ('base=, 0+:1'),
               ('0+:'),
               ('base=x, 0+:1'),
               ('.5+:1'),
               ('0-1.:2, 1+:1'),
               ('0+:1.23456'),
               ('0+:1e3'),
               ('base=1, base=2, 0+:1'),
               ('base 5, 0+:1'),
               ('volume, graduated, 0+:1'),
               ('fee=1, 0+:1'),
               ('0+:1, 5+:1'),
               ('0 5:1'),
               ('0+1'),
               ('5+:1'),
               ('0-10:1, 20+:1'),
               ('0-10:1, 5+:1'),
               ('0-0:1, 0+:1'),
               ('0+:1,, min=1'),
               ('0+:1,'),
               ('0+:1, *'),
               ('0+:1 min=1'),
               ('base=5'),
               ('0-10:1'),
               ('0+:1, min=10, max=5'),
               ('0+:99999999999999999999'),
               ('0-1000000000000:1, 1000000000000+:1'),
               ('base=1000000000000, 0+:1')) AS t(v),
       LATERAL pg_input_error_info(v, 'repairsys.fee_tier') AS e;
-- a character outside ASCII (unaligned: the width of 备 depends on the client's encoding)
\pset format unaligned
SELECT pg_input_is_valid('0+:1, 备注', 'repairsys.fee_tier') AS valid, e.*
  FROM pg_input_error_info('0+:1, 备注', 'repairsys.fee_tier') AS e;
\pset format aligned
-- more than 32 tiers
SELECT pg_input_is_valid(v, 'repairsys.fee_tier') AS valid, e.sql_error_code, e.detail
  FROM (SELECT string_agg(g || '-' || g + 1 || ':1', ', ') || ', 33+:1'
          FROM generate_series(0, 32) AS g) AS t(v),
       LATERAL pg_input_error_info(v, 'repairsys.fee_tier') AS e;
-- sla_interval: one row for each way the text can be wrong.
SELECT v AS input, pg_input_is_valid(v, 'repairsys.sla_interval') AS valid, e.*
  FROM (VALUES (''), ('h'),
               ('1.5h'),
               ('4'),
               ('4 hours'),
               ('30min 1h'),
               ('1234567890h'),
               ('100001h'),
               ('0h'),
               ('4h on mon 09:00-18:00'),
               ('2d in mon 09:00-18:00'),
               ('4h in'),
               ('4h in xyz 09:00-18:00'),
               ('4h in mon- 09:00-18:00'),
               ('4h in mon 9-18'),
               ('4h in mon 25:00-26:00'),
               ('4h in mon 09:00 18:00'),
               ('4h in mon 24:00-02:00'),
               ('4h in mon 09:00-09:00'),
               ('4h in mon'),
               ('4h in mon 09:00-12:00 11:00-13:00'),
               ('4h in mon 09:00-18:00 tue 09:00-18:00'),
               ('4h in mon 09:00-18:00 Asia/Shang*hai'),
               ('4h in mon 09:00-18:00 +03'),
               ('4h in mon 09:00-18:00 UTC mon'),
               ('4h in mon 09:00-18:00 UTC x')) AS t(v),
       LATERAL pg_input_error_info(v, 'repairsys.sla_interval') AS e;
-- more than 112 windows; a zone name longer than 255 bytes
SELECT pg_input_is_valid(v, 'repairsys.sla_interval') AS valid, e.sql_error_code, e.detail
  FROM (SELECT '1h in mon-sun ' || string_agg('00:' || to_char(g * 3, 'FM00') || '-00:' || to_char(g * 3 + 1, 'FM00'), ' ')
          FROM generate_series(0, 16) AS g
        UNION ALL
        SELECT '4h in mon 09:00-18:00 ' || repeat('Z', 256)) AS t(v),
       LATERAL pg_input_error_info(v, 'repairsys.sla_interval') AS e;
-- an unknown time zone is 22023, not a syntax error
SELECT v AS input, pg_input_is_valid(v, 'repairsys.sla_interval') AS valid, e.*
  FROM (VALUES ('4h in mon 09:00-18:00 Mars/Olympus'),
               ('8h in mon-fri 09:00-18:00 asia/shanghai_x')) AS t(v),
       LATERAL pg_input_error_info(v, 'repairsys.sla_interval') AS e;
-- the same inputs still raise the same errors when cast (no context)
SELECT 'base=5'::repairsys.fee_tier;
SELECT '0+:99999999999999999999'::repairsys.fee_tier;
SELECT '4h in mon 09:00-18:00 Mars/Olympus'::repairsys.sla_interval;
SELECT '4 hours'::repairsys.sla_interval;
