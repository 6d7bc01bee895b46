-- check_invariants(): in a database of its own (whatever the other files of
-- the suite leave behind), every invariant holds on a small workload, and
-- each one, broken on purpose (as the owner, with triggers off, inside a
-- transaction that is rolled back), is reported.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS repairsys_invariants;
CREATE DATABASE repairsys_invariants;
\c repairsys_invariants
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
SET client_min_messages = warning;
CREATE EXTENSION repairsys;
SET search_path = repairsys, public;
SELECT count(*) AS findings_on_an_empty_database FROM check_invariants();
INSERT INTO service_center (id, name) OVERRIDING SYSTEM VALUE VALUES (9501, 'inv center');
INSERT INTO customer (name, service_center_id) VALUES ('inv customer', 9501);
INSERT INTO technician (id, name, capacity) OVERRIDING SYSTEM VALUE VALUES (9501, 'inv tech', 1);
INSERT INTO service_type (code, name, labor_fee) VALUES ('inv_fix', 'inv fix', '0+:1.00');
INSERT INTO part (sku, name, unit_price) VALUES ('INV-P', 'inv part', 5);
SELECT receive_part('INV-P', 9501, 10) > 0 AS stocked;
SELECT open_ticket((SELECT id FROM customer WHERE name = 'inv customer'), 'inv_fix', 'inv') AS t \gset
SELECT reserve_part(:t, 'INV-P', 2) > 0 AS reserved;
CREATE TEMP VIEW new_findings AS
SELECT c.invariant, c.ticket_id = :t AS our_ticket, c.sku, c.service_center_id, c.technician_id, c.detail
  FROM check_invariants() c
 ORDER BY 1, 3;
SELECT * FROM new_findings;

BEGIN;
ALTER TABLE ticket DISABLE TRIGGER USER;
UPDATE ticket SET status = 'assigned', technician_id = 9501 WHERE id = :t;   -- no history row, the roll-up not told
ALTER TABLE stock DISABLE TRIGGER USER;
UPDATE stock SET on_hand = 1, reserved = 1 WHERE sku = 'INV-P';               -- off the ledger and the reservations
ALTER TABLE technician DISABLE TRIGGER USER;
UPDATE technician SET capacity = 0 WHERE id = 9501;                          -- over capacity
INSERT INTO invoice (id, invoice_no, ticket_id, total) OVERRIDING SYSTEM VALUE VALUES (9501, 'INV-X', :t, 10);
INSERT INTO invoice_line (invoice_id, line_no, kind, description, amount) VALUES (9501, 1, 'labor', 'x', 9);  -- invoice != lines
INSERT INTO payment (invoice_id, method, amount, idempotency_key) VALUES (9501, 'cash', 11, 'inv-over');    -- over the total
SELECT * FROM new_findings;
ROLLBACK;
SELECT count(*) AS new_findings_after_rollback FROM new_findings;
\c :regress_db
DROP DATABASE repairsys_invariants;
