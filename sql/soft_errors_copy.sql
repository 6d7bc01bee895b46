-- needs PostgreSQL 17 (COPY ... ON_ERROR); the Makefile leaves it out before
--
-- COPY with ON_ERROR ignore skips the rows whose fee_tier or sla_interval
-- text is bad (the input functions report softly) and loads the others.
CREATE TEMP TABLE soft_copy (id int, fee repairsys.fee_tier, sla repairsys.sla_interval);
COPY soft_copy FROM STDIN (ON_ERROR ignore);
1	base=50, 0-60:2.00, 60+:1.50	8h in mon-fri 09:00-18:00 Asia/Shanghai
2	5+:1	4h
3	0+:1	4 hours
4	0+:1	4h in mon 09:00-18:00 Mars/Olympus
5	0+:99999999999999999999	4h
6	0-10:1, 10+:0.5, min=5	3h in mon-sun 22:00-06:00
\.
SELECT id, fee, sla FROM soft_copy ORDER BY id;
-- LOG_VERBOSITY verbose names each skipped row and the column
TRUNCATE soft_copy;
COPY soft_copy FROM STDIN (ON_ERROR ignore, LOG_VERBOSITY verbose);
1	0+:1	4h
2	0-10:1	4h
3	0+:1	2d in mon 09:00-18:00
\.
SELECT id, fee, sla FROM soft_copy ORDER BY id;
-- without ON_ERROR the first bad row stops the COPY
TRUNCATE soft_copy;
COPY soft_copy FROM STDIN;
1	0+:1	4h
2	0+:1	4h in mon 09:00-18:00 Mars/Olympus
\.
SELECT count(*) FROM soft_copy;
DROP TABLE soft_copy;
