-- Monthly partitions of ticket_event, stock_movement and event (issue 22
-- item 3, DESIGN.md section 12, docs/scaling.md).  Every instant is given;
-- rows the triggers write at now() land in whatever month today is, so the
-- output shows only the rows of 2021, written with explicit instants by the
-- owner (as a migration or restore does).  Runs in a database of its own.
\set regdb :DBNAME
SET client_min_messages = warning;
CREATE ROLE pt_disp NOLOGIN IN ROLE repairsys_dispatcher;
CREATE ROLE pt_tech NOLOGIN IN ROLE repairsys_technician;
CREATE ROLE pt_cust NOLOGIN IN ROLE repairsys_customer;
CREATE ROLE pt_nobody NOLOGIN;
CREATE DATABASE repairsys_partitions;
\connect repairsys_partitions
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
CREATE EXTENSION repairsys;
SET search_path = repairsys, pg_catalog;
GRANT USAGE ON SCHEMA repairsys TO pt_nobody;

-- The install makes the parents and their DEFAULT partitions only.
SELECT c.relname, c.relkind, c.relispartition, pg_get_expr(c.relpartbound, c.oid) AS bound
  FROM pg_class c
 WHERE c.relnamespace = 'repairsys'::regnamespace AND c.relname ~ '^(ticket_event|stock_movement|event)(_|$)' AND c.relkind IN ('r', 'p')
 ORDER BY 1;

-- Months are UTC months whatever the session's time zone.
SET TimeZone = 'Asia/Shanghai';
SELECT ensure_partitions('2021-01-15 12:00+08', '2021-03-02 00:00+08') AS made;
SET TimeZone = 'UTC';
SELECT ensure_partitions('2021-01-01', '2021-03-31') AS made_again;
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound, c.relrowsecurity AS rls, pg_get_userbyid(c.relowner) = current_user AS owner_is_extension_owner,
       (SELECT count(*) FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner) AS grants,
       (SELECT count(*) FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') AS extension_member
  FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
 WHERE i.inhparent IN ('repairsys.ticket_event'::regclass, 'repairsys.stock_movement'::regclass, 'repairsys.event'::regclass)
   AND c.relname ~ '_2021_'
 ORDER BY 1;
-- what each partition has: keys and indexes of its own, the parent's
-- triggers cloned, the TRUNCATE trigger, the parent's comment-style comment
SELECT i.indexrelid::regclass::text AS index, pg_get_indexdef(i.indexrelid) ~ 'UNIQUE' AS is_unique
  FROM pg_index i WHERE i.indrelid IN ('repairsys.ticket_event_2021_02'::regclass, 'repairsys.stock_movement_2021_02'::regclass, 'repairsys.event_2021_02'::regclass)
 ORDER BY 1;
SELECT tgrelid::regclass::text AS partition, tgname FROM pg_trigger
 WHERE tgrelid IN ('repairsys.ticket_event_2021_02'::regclass, 'repairsys.stock_movement_2021_02'::regclass, 'repairsys.event_2021_02'::regclass)
   AND NOT tgisinternal
 ORDER BY 1, 2;
SELECT obj_description('repairsys.ticket_event_2021_02'::regclass, 'pg_class');

-- A company: one center, a part, two technicians, two customers, three tickets.
INSERT INTO service_center (name, time_zone) VALUES ('pt center', 'UTC');
INSERT INTO customer (name, service_center_id, db_role) VALUES ('pt customer', 1, 'pt_cust'), ('pt other', 1, NULL);
INSERT INTO technician (name, service_center_id, db_role) VALUES ('pt tech', 1, 'pt_tech'), ('pt tech 2', 1, NULL);
INSERT INTO service_type (code, name, labor_fee) VALUES ('pt', 'pt service', '0+:1.00');
INSERT INTO part (sku, name, unit_cost, unit_price) VALUES ('PT-1', 'pt part', 2.00, 5.00);
INSERT INTO ticket (customer_id, service_type, description) VALUES (1, 'pt', 'mine'), (2, 'pt', 'other'), (2, 'pt', 'other 2');
UPDATE ticket SET technician_id = 1 WHERE id = 1;
UPDATE ticket SET technician_id = 2 WHERE id = 2;
-- (what the triggers wrote now, in the DEFAULT partitions, goes into the
-- current month's: ensure_partitions() makes every month they hold rows of)
SELECT ensure_partitions(now(), now()) > 0 AS current_month_made;
SELECT (SELECT count(*) FROM ticket_event_default) + (SELECT count(*) FROM event_default) AS left_in_default;

-- History and ledger rows of three months of 2021, and one of June, which
-- has no partition yet: the DEFAULT partition takes it.
INSERT INTO ticket_event (ticket_id, from_status, to_status, at, note)
SELECT t.id, t.status, t.status, v.at, 'migrated ' || v.at::date
  FROM ticket t CROSS JOIN (VALUES (timestamptz '2021-01-10 09:00+00'), ('2021-02-10 09:00+00'), ('2021-03-31 23:59:59+00'), ('2021-06-10 09:00+00')) v(at)
 ORDER BY v.at, t.id;
INSERT INTO stock_movement (sku, service_center_id, kind, qty, unit_cost, at, note) VALUES
	('PT-1', 1, 'receipt', 10, 2.00, '2021-01-05 10:00+00', 'first delivery'),
	('PT-1', 1, 'adjust', -1, NULL, '2021-02-05 10:00+00', 'count'),
	('PT-1', 1, 'receipt', 4, 2.00, '2021-06-05 10:00+00', 'june delivery');
INSERT INTO event (id, at, kind, ticket_id, service_center_id, payload)
SELECT next_event_id(), v.at, 'migrated', 1, 1, '{}' FROM (VALUES (timestamptz '2021-01-20 00:00+00'), ('2021-06-20 00:00+00')) v(at);
SELECT tableoid::regclass::text AS partition, count(*) FROM ticket_event WHERE at < '2022-01-01' GROUP BY 1 ORDER BY 1;
SELECT tableoid::regclass::text AS partition, count(*) FROM stock_movement GROUP BY 1 ORDER BY 1;
SELECT tableoid::regclass::text AS partition, count(*) FROM event WHERE at < '2022-01-01' GROUP BY 1 ORDER BY 1;
SELECT on_hand FROM stock WHERE sku = 'PT-1';

-- Ids increase with the writes across partitions and never collide.
SELECT bool_and(id > prev) AS ids_increase, count(DISTINCT id) = count(*) AS ids_unique
  FROM (SELECT id, lag(id) OVER (ORDER BY at, ticket_id) AS prev FROM ticket_event WHERE at < '2022-01-01') x WHERE prev IS NOT NULL;
SELECT max(id) < nextval(pg_get_serial_sequence('repairsys.ticket_event', 'id')) AS sequence_goes_on FROM ticket_event;

-- ensure_partitions() makes June and moves the DEFAULT partition's June rows
-- into it, ids, seq and stock as they were (no trigger fires again).
CREATE TEMPORARY TABLE before_move AS
	SELECT 'ticket_event' AS t, id, at FROM ticket_event WHERE at >= '2021-06-01' AND at < '2021-07-01'
	UNION ALL SELECT 'stock_movement', seq, at FROM stock_movement WHERE at >= '2021-06-01' AND at < '2021-07-01'
	UNION ALL SELECT 'event', id, at FROM event WHERE at >= '2021-06-01' AND at < '2021-07-01';
SELECT ensure_partitions('2021-06-01', '2021-06-30') >= 3 AS june_made;
SELECT tableoid::regclass::text AS partition, count(*) FROM ticket_event WHERE at < '2022-01-01' GROUP BY 1 ORDER BY 1;
SELECT tableoid::regclass::text AS partition, count(*) FROM stock_movement GROUP BY 1 ORDER BY 1;
SELECT tableoid::regclass::text AS partition, count(*) FROM event WHERE at < '2022-01-01' GROUP BY 1 ORDER BY 1;
SELECT (SELECT count(*) FROM before_move) AS moved,
       (SELECT count(*) FROM before_move b
         WHERE (b.t = 'ticket_event' AND EXISTS (SELECT 1 FROM ticket_event_2021_06 x WHERE x.id = b.id AND x.at = b.at))
            OR (b.t = 'stock_movement' AND EXISTS (SELECT 1 FROM stock_movement_2021_06 x WHERE x.seq = b.id AND x.at = b.at))
            OR (b.t = 'event' AND EXISTS (SELECT 1 FROM event_2021_06 x WHERE x.id = b.id AND x.at = b.at))) AS same_keys;
SELECT on_hand FROM stock WHERE sku = 'PT-1';
SELECT count(*) AS violations FROM check_invariants();

-- Row-level security through the parent: each role sees what it saw before.
SET ROLE pt_disp;
SELECT count(*) AS dispatcher_sees FROM ticket_event WHERE at < '2022-01-01';
SELECT count(*) AS dispatcher_sees_ledger FROM stock_movement;
RESET ROLE;
SET ROLE pt_tech;
SELECT DISTINCT ticket_id AS technician_sees FROM ticket_event WHERE at < '2022-01-01' ORDER BY 1;
RESET ROLE;
SET ROLE pt_cust;
SELECT DISTINCT ticket_id AS customer_sees FROM ticket_event WHERE at < '2022-01-01' ORDER BY 1;
SELECT DISTINCT ticket_id AS customer_sees_events FROM event WHERE at < '2022-01-01' ORDER BY 1;
RESET ROLE;
-- never around the parent: no role is granted a partition ...
SET ROLE pt_disp;
SELECT count(*) FROM ticket_event_2021_01;
SELECT count(*) FROM stock_movement_default;
SELECT count(*) FROM event_2021_01;
RESET ROLE;
SET ROLE pt_nobody;
SELECT count(*) FROM ticket_event;
SELECT count(*) FROM ticket_event_2021_01;
RESET ROLE;
-- ... and one that the owner grants a partition by mistake reads no row of
-- it (row-level security on, no policy)
GRANT SELECT ON ticket_event_2021_01 TO pt_nobody;
SET ROLE pt_nobody;
SELECT count(*) AS granted_reads FROM ticket_event_2021_01;
RESET ROLE;
REVOKE SELECT ON ticket_event_2021_01 FROM pt_nobody;
SELECT count(*) AS audit_clean FROM security_audit;

-- Append-only on every partition: no role may change a row directly ...
SET ROLE pt_disp;
UPDATE ticket_event_2021_01 SET note = 'rewritten';
DELETE FROM stock_movement_2021_01;
TRUNCATE event_2021_01;
UPDATE ticket_event SET note = 'rewritten' WHERE at < '2021-02-01';
RESET ROLE;
-- ... and should a DBA grant UPDATE and a policy on a partition, the cloned
-- trigger still refuses
GRANT UPDATE, DELETE, SELECT ON ticket_event_2021_01 TO pt_disp;
CREATE POLICY oops ON ticket_event_2021_01 TO pt_disp USING (true);
SET ROLE pt_disp;
UPDATE ticket_event_2021_01 SET note = 'rewritten';
DELETE FROM ticket_event_2021_01;
RESET ROLE;
DROP POLICY oops ON ticket_event_2021_01;
REVOKE ALL ON ticket_event_2021_01 FROM pt_disp;
SELECT count(*) AS still_there FROM ticket_event_2021_01;

-- run_jobs() keeps the months ready: from the month of its instant to
-- partition_months_ahead (3) months ahead; April and May are missing.
SELECT value FROM setting WHERE name = 'partition_months_ahead';
SET ROLE pt_disp;
SELECT job, done >= 6 AS april_and_may_made FROM run_jobs('2021-03-20 00:00+00') WHERE job = 'partitions';
SELECT job, done FROM run_jobs('2021-03-20 00:00+00') WHERE job = 'partitions';
RESET ROLE;
SELECT string_agg(c.relname, ' ' ORDER BY c.relname) AS ticket_event_months
  FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid WHERE i.inhparent = 'repairsys.ticket_event'::regclass AND c.relname ~ '_2021_';

-- a ticket of January 2021 whose whole history is in January, migrated by
-- the owner (opened and cancelled then)
INSERT INTO ticket (customer_id, service_type, description, status, opened_at, status_changed_at, closed_at)
VALUES (2, 'pt', 'migrated', 'cancelled', '2021-01-04 09:00+00', '2021-01-05 09:00+00', '2021-01-05 09:00+00');
INSERT INTO ticket_event (ticket_id, from_status, to_status, at, note)
SELECT t.id, NULL, 'new', timestamptz '2021-01-04 09:00+00', 'migrated' FROM ticket t WHERE t.description = 'migrated'
UNION ALL SELECT t.id, 'new', 'cancelled', '2021-01-05 09:00+00', 'migrated' FROM ticket t WHERE t.description = 'migrated';
SELECT count(*) AS violations FROM check_invariants();
-- Detaching January: its rows leave the tables, the other months stay, the
-- month goes to schema repairsys_archive, check_invariants() still holds and
-- the views read on.  The ledger's months stay (the stock is their sum).
SELECT detach_month('repairsys.ticket_event', '2021-01-01') AS ticket_event_rows,
       detach_month('repairsys.event', '2021-01-20') AS event_rows;
SELECT tableoid::regclass::text AS partition, count(*) FROM ticket_event WHERE at < '2022-01-01' GROUP BY 1 ORDER BY 1;
SELECT count(*) AS ledger_rows FROM stock_movement;
SELECT table_name, month, lower_bound, upper_bound, archived_as, row_count FROM archived_month ORDER BY 1;
SELECT c.oid::regclass::text AS archived, c.relrowsecurity AS rls, c.relispartition,
       (SELECT count(*) FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner) AS grants
  FROM pg_class c WHERE c.relnamespace = 'repairsys_archive'::regnamespace AND c.relkind = 'r' ORDER BY 1;
SELECT count(*) FROM repairsys_archive.ticket_event_2021_01;
SELECT on_hand FROM stock WHERE sku = 'PT-1';
SELECT count(*) AS violations FROM check_invariants();
SELECT count(*) AS migrated_history_left FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id WHERE t.description = 'migrated';
SELECT count(*) >= 0 AS views_read FROM (SELECT 1 FROM ticket_cost UNION ALL SELECT 1 FROM sla_status UNION ALL SELECT 1 FROM technician_performance) v;
-- a detached month is not made again
SELECT ensure_partitions('2021-01-01', '2021-01-31') AS made;
-- the other roles cannot reach the archive
SET ROLE pt_disp;
SELECT count(*) FROM repairsys_archive.ticket_event_2021_01;
RESET ROLE;

-- Errors: a bad range (22023), a name taken by another table (42P07), the
-- ledger, another table, a current or future month, a month without
-- partition, a month detached already (22023), and every role but the admin
-- (42501).
\set VERBOSITY default
SELECT ensure_partitions(NULL, '2021-01-01');
SELECT ensure_partitions('2021-02-01', '2021-01-01');
SELECT ensure_partitions('-infinity', '2021-01-01');
SELECT ensure_partitions('2021-01-01', '2031-02-01');
SELECT ensure_partitions('0900-01-01', '0900-02-01');
CREATE TABLE repairsys.ticket_event_2021_09 (x integer);
SELECT ensure_partitions('2021-09-01', '2021-09-01');
DROP TABLE repairsys.ticket_event_2021_09;
SELECT to_regclass('repairsys.stock_movement_2021_09') IS NULL AS nothing_half_made;
SELECT detach_month('repairsys.stock_movement', '2021-01-01');
SELECT detach_month('repairsys.ticket', '2021-02-01');
SELECT detach_month(NULL, '2021-02-01');
SELECT detach_month('repairsys.ticket_event', NULL);
SELECT detach_month('repairsys.ticket_event', 'infinity');
SELECT detach_month('repairsys.ticket_event', '2999-01-01');
SELECT detach_month('repairsys.ticket_event', '2020-05-01');
SELECT detach_month('repairsys.ticket_event', '2021-01-01');
\set VERBOSITY terse
SET ROLE pt_disp;
SELECT ensure_partitions('2021-01-01', '2021-02-01');
SELECT detach_month('repairsys.ticket_event', '2021-02-01');
RESET ROLE;
SET ROLE pt_tech;
SELECT ensure_partitions('2021-01-01', '2021-02-01');
RESET ROLE;
SET ROLE pt_cust;
SELECT detach_month('repairsys.ticket_event', '2021-02-01');
RESET ROLE;
SET ROLE repairsys_admin;
SELECT ensure_partitions('2021-08-01', '2021-08-01') >= 3 AS admin_made;
RESET ROLE;

\connect :regdb
DROP DATABASE repairsys_partitions;
DROP ROLE pt_disp, pt_tech, pt_cust, pt_nobody;
