-- Hostile writes on stock and assignment (issue 15): each attempt runs as a
-- role of the documented model (a technician, a dispatcher, the admin, a
-- customer, the auditor), by plain INSERT / UPDATE or a function, and must
-- be refused.  Each row below shows the SQLSTATE and the message (ids
-- masked), whether every table the attempt could touch is unchanged, and how
-- many check_invariants() findings are new.  Rows written by the suite's
-- other files may already break invariants: only new findings count.
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
SET search_path = repairsys, public;
SET client_min_messages = warning;

CREATE ROLE regress_ws_tech_a IN ROLE repairsys_technician;
CREATE ROLE regress_ws_tech_b IN ROLE repairsys_technician;
CREATE ROLE regress_ws_cust IN ROLE repairsys_customer;

INSERT INTO service_center (name, lat, lon) VALUES
	('ws East', 31.23, 121.50), ('ws West', 31.20, 121.30), ('ws North', 31.40, 121.45), ('ws South', 31.00, 121.45);
INSERT INTO customer (name, service_center_id, db_role)
	SELECT 'ws customer', id, 'regress_ws_cust' FROM service_center WHERE name = 'ws East';
INSERT INTO technician (name, service_center_id, capacity, db_role, active)
	SELECT n, c.id, cap, r, act FROM service_center c,
	       (VALUES ('ws tech a', 10, 'regress_ws_tech_a', true), ('ws tech b', 10, 'regress_ws_tech_b', true),
	               ('ws idle', 10, NULL, false), ('ws full', 1, NULL, true), ('ws one slot', 1, NULL, true)) v(n, cap, r, act)
	 WHERE c.name = 'ws East';
INSERT INTO service_type (code, name, labor_fee) VALUES ('ws_fix', 'ws fix', '0+:1.00');
INSERT INTO part (sku, name, unit_cost, unit_price) VALUES ('WS-CAP', 'ws capacitor', 1, 2);
INSERT INTO part (sku, name, unit_cost, unit_price, serialized) VALUES ('WS-PCB', 'ws board', 50, 90, true);
CREATE TEMP TABLE ids AS SELECT
	(SELECT id FROM service_center WHERE name = 'ws East') AS east,
	(SELECT id FROM service_center WHERE name = 'ws West') AS west,
	(SELECT id FROM customer WHERE name = 'ws customer') AS cust,
	(SELECT id FROM technician WHERE name = 'ws tech a') AS tech_a,
	(SELECT id FROM technician WHERE name = 'ws tech b') AS tech_b,
	(SELECT id FROM technician WHERE name = 'ws idle') AS idle,
	(SELECT id FROM technician WHERE name = 'ws full') AS full_tech,
	(SELECT id FROM technician WHERE name = 'ws one slot') AS one_slot;
GRANT SELECT ON ids TO PUBLIC;
SELECT receive_part('WS-CAP', east, 20) > 0 AS stocked, receive_part('WS-PCB', east, 3, serials => ARRAY['WS-SN-1', 'WS-SN-2', 'WS-SN-3']) > 0 AS boards
  FROM ids;

-- tickets: a (own ticket of tech a, in progress, 2 capacitors and board WS-SN-1 issued), b (tech b's),
-- a_done (tech a, resolved, 1 capacitor used), cancelled, full (the only slot of "ws full"), new1, new2 (unassigned)
CREATE FUNCTION pg_temp.ticket(what text) RETURNS bigint LANGUAGE sql AS $$
	SELECT repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'ws customer'), 'ws_fix', 'ws ' || what) $$;
ALTER TABLE ids ADD t_a bigint, ADD t_b bigint, ADD t_done bigint, ADD t_cancelled bigint, ADD t_full bigint, ADD t_new1 bigint, ADD t_new2 bigint;
UPDATE ids SET t_a = pg_temp.ticket('a'), t_b = pg_temp.ticket('b'), t_done = pg_temp.ticket('done'),
               t_cancelled = pg_temp.ticket('cancelled'), t_full = pg_temp.ticket('full'),
               t_new1 = pg_temp.ticket('new1'), t_new2 = pg_temp.ticket('new2');
UPDATE ticket t SET technician_id = i.tech_a, status = 'assigned' FROM ids i WHERE t.id IN (i.t_a, i.t_done);
UPDATE ticket t SET technician_id = i.tech_b, status = 'assigned' FROM ids i WHERE t.id = i.t_b;
UPDATE ticket t SET technician_id = i.full_tech, status = 'assigned' FROM ids i WHERE t.id = i.t_full;
UPDATE ticket t SET status = 'cancelled' FROM ids i WHERE t.id = i.t_cancelled;
SELECT count(approve_estimate(x)) AS approved FROM ids, unnest(ARRAY[t_a, t_b, t_done]) x;
UPDATE ticket t SET status = 'in_progress' FROM ids i WHERE t.id IN (i.t_a, i.t_b, i.t_done);
SELECT reserve_part(t_a, 'WS-CAP', 2) > 0 AS r1, reserve_part(t_a, 'WS-PCB', 1) > 0 AS r2, reserve_part(t_b, 'WS-CAP', 1) > 0 AS r3,
       reserve_part(t_done, 'WS-CAP', 1) > 0 AS r4 FROM ids;
SELECT consume_part(t_a, serials => ARRAY['WS-SN-1']) AS issued FROM ids;
UPDATE ticket t SET status = 'resolved', labor_minutes = 10 FROM ids i WHERE t.id = i.t_done;
SELECT sku, on_hand, reserved FROM stock WHERE sku LIKE 'WS-%' ORDER BY sku;

-- the harness: runs one statement as a role, with deferred checks made
-- immediate, and records what happened
CREATE TEMP TABLE before_findings AS SELECT invariant, ticket_id, sku, service_center_id, invoice_id, technician_id FROM check_invariants();
CREATE FUNCTION pg_temp.new_findings() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM repairsys.check_invariants() c
	 WHERE NOT EXISTS (SELECT 1 FROM before_findings b
	                    WHERE b.invariant = c.invariant AND b.ticket_id IS NOT DISTINCT FROM c.ticket_id
	                      AND b.sku IS NOT DISTINCT FROM c.sku AND b.service_center_id IS NOT DISTINCT FROM c.service_center_id
	                      AND b.invoice_id IS NOT DISTINCT FROM c.invoice_id AND b.technician_id IS NOT DISTINCT FROM c.technician_id) $$;
CREATE FUNCTION pg_temp.fingerprint() RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		(SELECT string_agg(concat_ws(',', id, sku, service_center_id, kind, qty, ticket_id, note), ';' ORDER BY id) FROM repairsys.stock_movement),
		(SELECT string_agg(concat_ws(',', sku, service_center_id, on_hand, reserved), ';' ORDER BY sku, service_center_id) FROM repairsys.stock),
		(SELECT string_agg(concat_ws(',', sku, serial, service_center_id, state, ticket_id, asset_id), ';' ORDER BY sku, serial) FROM repairsys.part_unit),
		(SELECT string_agg(concat_ws(',', id, ticket_id, sku, service_center_id, qty, state, covered), ';' ORDER BY id) FROM repairsys.ticket_part),
		(SELECT string_agg(concat_ws(',', id, status, technician_id, opened_at, respond_by, resolve_by, sla_time_zone), ';' ORDER BY id) FROM repairsys.ticket),
		(SELECT count(*) FROM repairsys.ticket_event),
		(SELECT string_agg(concat_ws(',', id, active, capacity), ';' ORDER BY id) FROM repairsys.technician),
		(SELECT string_agg(concat_ws(',', technician_id, open_tickets), ';' ORDER BY technician_id) FROM repairsys.technician_load))) $$;
CREATE TEMP TABLE attempts (n serial, role text, attempt text, sqlstate text, unchanged boolean, new_findings bigint);
GRANT ALL ON attempts TO PUBLIC;
CREATE FUNCTION pg_temp.hostile(who text, what text, stmt text)
RETURNS TABLE (role text, attempt text, sqlstate text, error text, unchanged boolean, new_findings bigint)
LANGUAGE plpgsql AS $$
DECLARE
	fp  text := pg_temp.fingerprint();
	st  text := '00000';
	msg text := '(accepted)';
BEGIN
	BEGIN
		EXECUTE format('SET LOCAL ROLE %I', who);
		SET CONSTRAINTS ALL IMMEDIATE;
		EXECUTE stmt;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	END;
	RESET ROLE;
	SET CONSTRAINTS ALL DEFERRED;
	role := who;
	attempt := what;
	sqlstate := st;
	error := regexp_replace(msg, '(ticket|service center|technician) [0-9]+', '\1 N', 'g');
	unchanged := fp = pg_temp.fingerprint();
	new_findings := pg_temp.new_findings();
	INSERT INTO attempts (role, attempt, sqlstate, unchanged, new_findings) VALUES (who, what, st, unchanged, new_findings);
	RETURN NEXT;
END $$;
\pset format unaligned
\pset fieldsep ' | '
\pset tuples_only on
\echo role | attempt | sqlstate | error | unchanged | new_findings

-- A. the technician: returns mint nothing, issues and reservations only for open tickets
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'return 1000 capacitors to stock from an own ticket with 2 issued',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'return', 1000, t_a FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'return 3 of the 2 capacitors issued',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'return', 3, t_a FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'return 2 issued capacitors into another center''s stock',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', west, 'return', 2, t_a FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'return 2 capacitors from the own resolved ticket, 1 issued',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'return', 2, t_done FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'return boards from an own ticket that got none',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-PCB', east, 'return', 1, t_done FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'return without a ticket',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty) SELECT 'WS-CAP', east, 'return', 5 FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'return onto another technician''s ticket',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'return', 1, t_b FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'book a receipt',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'receipt', 5, t_a FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'adjust stock up',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'adjust', 5, t_a FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'a transfer_in without a transfer_out',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'transfer_in', 5, t_a FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'issue more than is available',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'issue', -100, t_a FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'issue to the own resolved ticket',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'issue', -1, t_done FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'issue a serialized board by plain INSERT (its unit stays in stock)',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-PCB', east, 'issue', -1, t_a FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'return the issued board by plain INSERT (its unit stays installed)',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-PCB', east, 'return', 1, t_a FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'return_part of the board without its serial',
	$$SELECT repairsys.return_part(t_a, 'WS-PCB', 1) FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'return_part of 3 capacitors, 2 issued',
	$$SELECT repairsys.return_part(t_a, 'WS-CAP', 3) FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'reserve_part on the own resolved ticket',
	$$SELECT repairsys.reserve_part(t_done, 'WS-CAP', 1) FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'plain INSERT of a reservation on the own resolved ticket',
	$$INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price) SELECT t_done, 'WS-CAP', east, 1, 2 FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'turn the used lines of the resolved ticket back into reservations',
	$$UPDATE repairsys.ticket_part SET state = 'reserved' WHERE ticket_id = (SELECT t_done FROM ids)$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'turn the used capacitors of the own open ticket back into a reservation of 1000',
	$$UPDATE repairsys.ticket_part SET state = 'reserved', qty = 1000 WHERE ticket_id = (SELECT t_a FROM ids) AND sku = 'WS-CAP'$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'turn the used capacitors of the own open ticket back into a reservation (issued twice)',
	$$UPDATE repairsys.ticket_part SET state = 'reserved' WHERE ticket_id = (SELECT t_a FROM ids) AND sku = 'WS-CAP'$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'release the used capacitors of the own open ticket',
	$$UPDATE repairsys.ticket_part SET state = 'released' WHERE ticket_id = (SELECT t_a FROM ids) AND sku = 'WS-CAP'$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'make the used capacitors of the own open ticket 1 instead of 2',
	$$UPDATE repairsys.ticket_part SET qty = 1 WHERE ticket_id = (SELECT t_a FROM ids) AND sku = 'WS-CAP'$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'bill 5 capacitors never issued: insert a used line',
	$$INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price, state) SELECT t_a, 'WS-CAP', east, 5, 2, 'used' FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'move the own ticket to another technician',
	$$UPDATE repairsys.ticket SET technician_id = (SELECT tech_b FROM ids) WHERE id = (SELECT t_a FROM ids)$$);
SELECT * FROM pg_temp.hostile('regress_ws_tech_a', 'mark a unit back in stock',
	$$UPDATE repairsys.part_unit SET state = 'in_stock' WHERE serial = 'WS-SN-1'$$);

-- B. the dispatcher: the same ledger rules, reservations, and assignment at the table
SET ROLE repairsys_dispatcher;
SELECT reserve_part(t_new1, 'WS-CAP', 1) > 0 AS dispatcher_reserves_on_an_open_ticket FROM ids;
SELECT release_part(t_new1, 'WS-CAP') AS released FROM ids;
RESET ROLE;
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'return 1000 to a ticket with nothing issued',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'return', 1000, t_b FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'return without a ticket',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty) SELECT 'WS-CAP', east, 'return', 1000 FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'issue without a ticket',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty) SELECT 'WS-CAP', east, 'issue', -1 FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'issue to a cancelled ticket',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'issue', -1, t_cancelled FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'adjust stock by plain INSERT',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, note) SELECT 'WS-CAP', east, 'adjust', 50, 'found' FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'a transfer_in without a transfer_out',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty) SELECT 'WS-CAP', west, 'transfer_in', 50 FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'adjust_stock',
	$$SELECT repairsys.adjust_stock('WS-CAP', east, 5, 'found') FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'book a serialized board received without its unit',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty) SELECT 'WS-PCB', east, 'receipt', 1 FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'mint a board unit in stock without a receipt',
	$$INSERT INTO repairsys.part_unit (serial, sku, service_center_id) SELECT 'WS-SN-X', 'WS-PCB', east FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'mark the installed board back in stock without a return',
	$$UPDATE repairsys.part_unit SET state = 'in_stock', service_center_id = (SELECT east FROM ids), ticket_id = NULL WHERE serial = 'WS-SN-1'$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'move a board unit to another center without a transfer',
	$$UPDATE repairsys.part_unit SET service_center_id = (SELECT west FROM ids) WHERE serial = 'WS-SN-2'$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'reserve_part on a cancelled ticket',
	$$SELECT repairsys.reserve_part(t_cancelled, 'WS-CAP', 1) FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'reserve_part on a resolved ticket',
	$$SELECT repairsys.reserve_part(t_done, 'WS-CAP', 1) FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'plain INSERT of a reservation on a cancelled ticket',
	$$INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price) SELECT t_cancelled, 'WS-CAP', east, 1, 2 FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'bill a capacitor never issued: insert a used line',
	$$INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price, state) SELECT t_b, 'WS-CAP', east, 1, 2, 'used' FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'move a reservation onto the resolved ticket',
	$$UPDATE repairsys.ticket_part SET ticket_id = (SELECT t_done FROM ids) WHERE ticket_id = (SELECT t_b FROM ids) AND state = 'reserved'$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'assign an inactive technician by plain UPDATE',
	$$UPDATE repairsys.ticket SET technician_id = (SELECT idle FROM ids), status = 'assigned' WHERE id = (SELECT t_new1 FROM ids)$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'reassign an open ticket to an inactive technician',
	$$UPDATE repairsys.ticket SET technician_id = (SELECT idle FROM ids) WHERE id = (SELECT t_b FROM ids)$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'assign a second ticket to a technician of capacity 1',
	$$UPDATE repairsys.ticket SET technician_id = (SELECT full_tech FROM ids), status = 'assigned' WHERE id = (SELECT t_new1 FROM ids)$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'reassign an open ticket to the full technician',
	$$UPDATE repairsys.ticket SET technician_id = (SELECT full_tech FROM ids) WHERE id = (SELECT t_b FROM ids)$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'two tickets in one UPDATE onto a technician with one slot left',
	$$UPDATE repairsys.ticket SET technician_id = (SELECT one_slot FROM ids) WHERE id IN (SELECT t_new1 FROM ids UNION ALL SELECT t_new2 FROM ids)$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'open a ticket already given to the full technician',
	$$INSERT INTO repairsys.ticket (customer_id, service_type, technician_id) SELECT cust, 'ws_fix', full_tech FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'open a ticket already given to an inactive technician',
	$$INSERT INTO repairsys.ticket (customer_id, service_type, technician_id) SELECT cust, 'ws_fix', idle FROM ids$$);
-- (the slot left is taken by a single assignment, which passes)
SET ROLE repairsys_dispatcher;
UPDATE ticket SET technician_id = (SELECT one_slot FROM ids), status = 'assigned' WHERE id = (SELECT t_new1 FROM ids);
RESET ROLE;
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'then one more onto that technician',
	$$UPDATE repairsys.ticket SET technician_id = (SELECT one_slot FROM ids), status = 'assigned' WHERE id = (SELECT t_new2 FROM ids)$$);
SELECT * FROM pg_temp.hostile('repairsys_dispatcher', 'make the technician''s last slot disappear by reassigning a ticket onto him from another',
	$$UPDATE repairsys.ticket SET technician_id = (SELECT one_slot FROM ids) WHERE id = (SELECT t_b FROM ids)$$);

-- C. the admin: serialized parts move with their serials only
SELECT * FROM pg_temp.hostile('repairsys_admin', 'adjust_stock of a serialized board without serials',
	$$SELECT repairsys.adjust_stock('WS-PCB', east, 1, 'found in the count') FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_admin', 'adjust_stock down with a serial that is installed, not in stock',
	$$SELECT repairsys.adjust_stock('WS-PCB', east, -1, 'lost', ARRAY['WS-SN-1']) FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_admin', 'adjust_stock up with a serial already in stock',
	$$SELECT repairsys.adjust_stock('WS-PCB', east, 1, 'found', ARRAY['WS-SN-2']) FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_admin', 'adjust a serialized board by plain INSERT',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, note) SELECT 'WS-PCB', east, 'adjust', 5, 'found' FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_admin', 'transfer_in of a serialized board without its unit',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty) SELECT 'WS-PCB', west, 'transfer_in', 1 FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_admin', 'return_part of a board with a serial not installed on the ticket',
	$$SELECT repairsys.return_part(t_a, 'WS-PCB', 1, serials => ARRAY['WS-SN-2']) FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_admin', 'return 1000 by plain INSERT',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'return', 1000, t_a FROM ids$$);

-- D. the customer and the auditor write no stock at all
SELECT * FROM pg_temp.hostile('regress_ws_cust', 'return 1000 to stock',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'return', 1000, t_a FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_cust', 'reserve parts on the own ticket',
	$$INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price) SELECT t_a, 'WS-CAP', east, 1, 0 FROM ids$$);
SELECT * FROM pg_temp.hostile('regress_ws_cust', 'choose the own ticket''s technician',
	$$UPDATE repairsys.ticket SET technician_id = (SELECT tech_b FROM ids) WHERE id = (SELECT t_a FROM ids)$$);
SELECT * FROM pg_temp.hostile('repairsys_auditor', 'return 1000 to stock',
	$$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id) SELECT 'WS-CAP', east, 'return', 1000, t_a FROM ids$$);
SELECT * FROM pg_temp.hostile('repairsys_auditor', 'assign a ticket',
	$$UPDATE repairsys.ticket SET technician_id = (SELECT tech_a FROM ids) WHERE id = (SELECT t_new2 FROM ids)$$);
\pset format aligned
\pset tuples_only off

-- the routes that keep the rules still work, and leave no finding: the
-- technician returns one capacitor; the dispatcher returns the board with
-- its serial; the admin adjusts boards by serial
SET ROLE regress_ws_tech_a;
SELECT return_part(t_a, 'WS-CAP', 1) > 0 AS tech_returned FROM ids;
RESET ROLE;
SET ROLE repairsys_dispatcher;
SELECT return_part(t_a, 'WS-PCB', 1, serials => ARRAY['WS-SN-1']) > 0 AS board_returned FROM ids;
RESET ROLE;
SET ROLE repairsys_admin;
SELECT adjust_stock('WS-PCB', east, -1, 'dropped', ARRAY['WS-SN-3']) > 0 AS scrapped,
       adjust_stock('WS-PCB', east, 1, 'found in the count', ARRAY['WS-SN-9']) > 0 AS found FROM ids;
RESET ROLE;
SELECT serial, state, service_center_id = (SELECT east FROM ids) AS at_east, ticket_id IS NULL AS no_ticket
  FROM part_unit WHERE sku = 'WS-PCB' ORDER BY serial;
SELECT sku, on_hand, reserved FROM stock WHERE sku LIKE 'WS-%' ORDER BY sku;
SELECT pg_temp.new_findings() AS new_findings;

-- every hostile attempt, per role: refused, nothing written, no new finding
SELECT role, count(*) AS attempts,
       count(*) FILTER (WHERE sqlstate <> '00000' AND unchanged AND new_findings = 0) AS refused_cleanly,
       string_agg(DISTINCT sqlstate, ', ' ORDER BY sqlstate) AS sqlstates
  FROM attempts GROUP BY role ORDER BY role;

-- the invariants the rules keep, each broken on purpose (as the owner, with
-- the triggers off, rolled back) is reported
BEGIN;
ALTER TABLE stock_movement DISABLE TRIGGER USER;
ALTER TABLE part_unit DISABLE TRIGGER USER;
ALTER TABLE ticket_part DISABLE TRIGGER USER;
INSERT INTO stock_movement (sku, service_center_id, kind, qty, ticket_id, seq) SELECT 'WS-CAP', east, 'return', 1000, t_b, nextval('stock_movement_seq') FROM ids;
INSERT INTO part_unit (serial, sku, service_center_id) SELECT 'WS-SN-Z', 'WS-PCB', east FROM ids;
INSERT INTO ticket_part (ticket_id, sku, service_center_id, qty, unit_price) SELECT t_cancelled, 'WS-CAP', east, 1, 2 FROM ids;
SELECT c.invariant, c.sku, c.detail FROM check_invariants() c JOIN ids ON true
 WHERE c.invariant IN ('serialized units equal stock', 'returns never exceed issues', 'reservations only on open tickets')
   AND (c.ticket_id IN (t_b, t_cancelled) OR c.sku = 'WS-PCB')
 ORDER BY 1;
ROLLBACK;

-- transfer suggestions allocate each shortage once, nearest surplus first:
-- North is short 2 and South short 3 of a need of 5; East has 2 spare, West 4
INSERT INTO part (sku, name, min_stock) VALUES ('WS-TR', 'ws transfer part', 5);
SELECT count(receive_part('WS-TR', c.id, q)) AS received
  FROM service_center c JOIN (VALUES ('ws North', 3), ('ws South', 2), ('ws East', 7), ('ws West', 9)) v(n, q) ON v.n = c.name;
SELECT f.name AS from_center, t.name AS to_center, s.qty, s.to_shortage, round(s.distance_km::numeric, 1) AS km
  FROM stock_transfer_suggestion s
  JOIN service_center f ON f.id = s.from_center_id JOIN service_center t ON t.id = s.to_center_id
 WHERE s.sku = 'WS-TR' ORDER BY s.distance_km;
SELECT c.name, coalesce(i.qty_in, 0) AS suggested_in, coalesce(o.qty_out, 0) AS suggested_out,
       coalesce(i.qty_in, 0) <= greatest(5 - s.on_hand, 0) AS within_shortage,
       coalesce(o.qty_out, 0) <= greatest(s.on_hand - 5, 0) AS within_surplus
  FROM stock s JOIN service_center c ON c.id = s.service_center_id
  LEFT JOIN (SELECT to_center_id, sum(qty) AS qty_in FROM stock_transfer_suggestion WHERE sku = 'WS-TR' GROUP BY 1) i ON i.to_center_id = s.service_center_id
  LEFT JOIN (SELECT from_center_id, sum(qty) AS qty_out FROM stock_transfer_suggestion WHERE sku = 'WS-TR' GROUP BY 1) o ON o.from_center_id = s.service_center_id
 WHERE s.sku = 'WS-TR' ORDER BY c.name;

-- the technician row keeps no reference to the roles dropped here
UPDATE technician SET db_role = NULL WHERE db_role IN ('regress_ws_tech_a', 'regress_ws_tech_b');
UPDATE customer SET db_role = NULL WHERE db_role = 'regress_ws_cust';
DROP ROLE regress_ws_tech_a;
DROP ROLE regress_ws_tech_b;
DROP ROLE regress_ws_cust;
