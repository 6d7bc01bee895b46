-- The ticket life cycle: transitions, guards, stamps, history.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET client_min_messages = warning;

INSERT INTO repairsys.service_center (name, lat, lon, time_zone) VALUES
	('lc North', 31.30, 121.50, 'Asia/Shanghai'), ('lc South', 31.10, 121.40, 'Asia/Shanghai');
INSERT INTO repairsys.customer (name, phone, lat, lon, service_center_id)
	SELECT 'lc Alice', '13800000001', 31.29, 121.49, id FROM repairsys.service_center WHERE name = 'lc South';
INSERT INTO repairsys.customer (name, phone) VALUES ('lc Bob', '13800000002');
INSERT INTO repairsys.asset (customer_id, model, serial_no, purchased_at, warranty_until)
	SELECT id, 'AC-9000', 'lc-SN1', current_date - 100, current_date + 265 FROM repairsys.customer WHERE name = 'lc Alice';
INSERT INTO repairsys.asset (customer_id, model, serial_no, purchased_at, warranty_until)
	SELECT id, 'AC-9000', 'lc-SN2', current_date - 900, current_date - 170 FROM repairsys.customer WHERE name = 'lc Alice';
INSERT INTO repairsys.technician (name, service_center_id, capacity)
	SELECT 'lc Tom', id, 3 FROM repairsys.service_center WHERE name = 'lc South';
INSERT INTO repairsys.technician (name, active) VALUES ('lc Idle', false);
INSERT INTO repairsys.service_type (code, name, required_skill, labor_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('lc_ac', 'Air conditioner repair', 'hvac', '0-60:2.00, 60+:1.50', 30, 45, 120);

CREATE FUNCTION pg_temp.cust(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM repairsys.customer WHERE name = n $$;
CREATE FUNCTION pg_temp.tech(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM repairsys.technician WHERE name = n $$;
CREATE FUNCTION pg_temp.asset(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM repairsys.asset WHERE serial_no = n $$;

-- open_ticket: location and center from the customer, initial state, history row
SELECT repairsys.open_ticket(pg_temp.cust('lc Alice'), 'lc_ac', 'Not cooling', asset_id => pg_temp.asset('lc-SN2')) AS t1 \gset
SELECT status, channel, urgency, complexity, lat, lon,
       (SELECT name FROM repairsys.service_center c WHERE c.id = t.service_center_id) AS center,
       technician_id, first_response_at IS NULL AS no_response, changed_by = current_user AS changed_by_me
  FROM repairsys.ticket t WHERE id = :t1;
SELECT from_status, to_status, actor = current_user AS actor_me, note FROM repairsys.ticket_event WHERE ticket_id = :t1;

-- bad input to open_ticket
SELECT repairsys.open_ticket(-1, 'lc_ac', 'x');
SELECT repairsys.open_ticket(pg_temp.cust('lc Alice'), 'no_such_type', 'x');
SELECT repairsys.open_ticket(pg_temp.cust('lc Alice'), 'lc_ac', 'x', urgency => 'whenever');
SELECT repairsys.open_ticket(pg_temp.cust('lc Alice'), 'lc_ac', 'x', channel => 'pigeon');
SELECT repairsys.open_ticket(pg_temp.cust('lc Alice'), 'lc_ac', 'x', complexity => 6);
\set VERBOSITY terse
INSERT INTO repairsys.ticket (customer_id, service_type, urgency) VALUES (pg_temp.cust('lc Bob'), 'lc_ac', 'whenever');
INSERT INTO repairsys.ticket (customer_id, service_type, complexity) VALUES (pg_temp.cust('lc Bob'), 'lc_ac', 0);
INSERT INTO repairsys.ticket (customer_id, service_type) VALUES (pg_temp.cust('lc Bob'), 'no_such_type');
\set VERBOSITY default
SELECT repairsys.open_ticket(pg_temp.cust('lc Bob'), 'lc_ac', 'x', asset_id => pg_temp.asset('lc-SN1'));

-- a plain INSERT gets the same treatment, and cannot start elsewhere
INSERT INTO repairsys.ticket (customer_id, service_type, channel) VALUES (pg_temp.cust('lc Bob'), 'lc_ac', 'phone')
	RETURNING status, service_center_id IS NULL AS no_center, lat IS NULL AS no_location;

-- the illegal jump of the issue, with the allowed next states in DETAIL
UPDATE repairsys.ticket SET status = 'closed' WHERE status = 'new';
\echo :LAST_ERROR_SQLSTATE
UPDATE repairsys.ticket SET status = 'resolved' WHERE id = :t1;
UPDATE repairsys.ticket SET status = 'no_such_state' WHERE id = :t1;

-- guard has_technician
UPDATE repairsys.ticket SET status = 'assigned' WHERE id = :t1;
\echo :LAST_ERROR_SQLSTATE
UPDATE repairsys.ticket SET status = 'assigned', technician_id = pg_temp.tech('lc Idle') WHERE id = :t1;
UPDATE repairsys.ticket SET status = 'assigned', technician_id = pg_temp.tech('lc Tom') WHERE id = :t1;
SELECT status, first_response_at IS NOT NULL AS responded, status_changed_at > opened_at AS stamped FROM repairsys.ticket WHERE id = :t1;

-- unassign goes back to the queue without technician
UPDATE repairsys.ticket SET status = 'new' WHERE id = :t1;
SELECT status, technician_id FROM repairsys.ticket WHERE id = :t1;
UPDATE repairsys.ticket SET status = 'assigned', technician_id = pg_temp.tech('lc Tom') WHERE id = :t1;

-- guard estimate_approved: the asset's warranty ended, so the work is billable
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = :t1;
UPDATE repairsys.ticket SET estimate_approved_at = now() WHERE id = :t1;
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = :t1;

-- paused states, both ways
SELECT repairsys.set_status(:t1, 'waiting_parts', 'compressor ordered');
SELECT repairsys.set_status(:t1, 'in_progress');
SELECT repairsys.set_status(:t1, 'waiting_customer', 'customer not at home');
SELECT repairsys.set_status(:t1, 'in_progress');
SELECT repairsys.set_status(-5, 'in_progress');

-- guard labor_recorded
UPDATE repairsys.ticket SET status = 'resolved' WHERE id = :t1;
UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = 0 WHERE id = :t1;
UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = 75 WHERE id = :t1;
SELECT status, resolved_at > first_response_at AS resolved_stamped, closed_at FROM repairsys.ticket WHERE id = :t1;

-- trigger-owned columns cannot be set by callers
UPDATE repairsys.ticket SET resolved_at = now() - interval '1 day' WHERE id = :t1;
UPDATE repairsys.ticket SET first_response_at = NULL WHERE id = :t1;
UPDATE repairsys.ticket SET opened_at = now() - interval '1 year' WHERE id = :t1;
INSERT INTO repairsys.ticket (customer_id, service_type, resolved_at) VALUES (pg_temp.cust('lc Bob'), 'lc_ac', now());

-- reopen within the window, then resolve again
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = :t1;
SELECT status, resolved_at, reopen_count FROM repairsys.ticket WHERE id = :t1;
UPDATE repairsys.ticket SET status = 'resolved' WHERE id = :t1;
-- outside the window (a window shorter than the time since resolution)
UPDATE repairsys.setting SET value = '1 microsecond' WHERE name = 'reopen_window';
SELECT pg_sleep(0.01);
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = :t1;
UPDATE repairsys.setting SET value = '7 days' WHERE name = 'reopen_window';

-- guard settled: a billable ticket closes only when its invoice is paid
UPDATE repairsys.ticket SET status = 'closed' WHERE id = :t1;
SELECT repairsys.issue_invoice(:t1) AS inv \gset
SELECT total FROM repairsys.invoice WHERE id = :inv;
SELECT repairsys.record_payment(:inv, 'wechat', 100.00, 'lc-pay-1') > 0 AS paid;
UPDATE repairsys.ticket SET status = 'closed' WHERE id = :t1;
SELECT repairsys.record_payment(:inv, 'cash', total - 100.00, 'lc-pay-2') > 0 AS paid FROM repairsys.invoice WHERE id = :inv;
UPDATE repairsys.ticket SET status = 'closed' WHERE id = :t1;
SELECT status, closed_at > resolved_at AS closed_stamped, resolved_at IS NOT NULL AS kept_resolved FROM repairsys.ticket WHERE id = :t1;
-- terminal: nothing leaves it
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = :t1;

-- the whole history, in order
SELECT from_status, to_status, technician_id IS NOT NULL AS has_tech, note
  FROM repairsys.ticket_event WHERE ticket_id = :t1 ORDER BY id;

-- warranty work needs no estimate approval and closes without invoice
SELECT repairsys.open_ticket(pg_temp.cust('lc Alice'), 'lc_ac', 'Noise', asset_id => pg_temp.asset('lc-SN1')) AS t2 \gset
UPDATE repairsys.ticket SET status = 'assigned', technician_id = pg_temp.tech('lc Tom') WHERE id = :t2;
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = :t2;
UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = 30 WHERE id = :t2;
UPDATE repairsys.ticket SET status = 'closed' WHERE id = :t2;
-- ... unless the warranty is void
SELECT repairsys.open_ticket(pg_temp.cust('lc Alice'), 'lc_ac', 'Dropped', asset_id => pg_temp.asset('lc-SN1')) AS t3 \gset
UPDATE repairsys.ticket SET warranty_void = true, status = 'assigned', technician_id = pg_temp.tech('lc Tom') WHERE id = :t3;
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = :t3;
-- cancel from assigned; reassignment without status change is history too
UPDATE repairsys.ticket SET technician_id = NULL WHERE id = :t3;
UPDATE repairsys.ticket SET status = 'cancelled' WHERE id = :t3;
SELECT from_status, to_status FROM repairsys.ticket_event WHERE ticket_id = :t3 ORDER BY id;
SELECT status, closed_at IS NOT NULL AS closed FROM repairsys.ticket WHERE id = :t3;

-- a company's own workflow: an on-site visit state between assigned and in_progress
INSERT INTO repairsys.ticket_status (code, name, max_dwell, sort_order) VALUES ('on_site', 'Technician on site', '2 hours', 25);
INSERT INTO repairsys.ticket_transition (from_status, to_status, guard) VALUES
	('assigned', 'on_site', 'has_technician'), ('on_site', 'in_progress', 'estimate_approved');
UPDATE repairsys.ticket_transition SET enabled = false WHERE from_status = 'assigned' AND to_status = 'in_progress';
SELECT repairsys.open_ticket(pg_temp.cust('lc Alice'), 'lc_ac', 'Leak', asset_id => pg_temp.asset('lc-SN1')) AS t4 \gset
UPDATE repairsys.ticket SET status = 'assigned', technician_id = pg_temp.tech('lc Tom') WHERE id = :t4;
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = :t4;
UPDATE repairsys.ticket SET status = 'on_site' WHERE id = :t4;
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = :t4;
SELECT from_status, to_status FROM repairsys.ticket_event WHERE ticket_id = :t4 ORDER BY id;
-- invalid workflow definitions
INSERT INTO repairsys.ticket_transition (from_status, to_status, guard) VALUES ('on_site', 'closed', 'paid_cash');
INSERT INTO repairsys.ticket_transition (from_status, to_status) VALUES ('on_site', 'nowhere');
INSERT INTO repairsys.ticket_transition (from_status, to_status) VALUES ('on_site', 'on_site');
INSERT INTO repairsys.ticket_status (code, name, role) VALUES ('intake', 'Intake', 'initial');
UPDATE repairsys.ticket_transition SET enabled = true WHERE from_status = 'assigned' AND to_status = 'in_progress';

-- history is append-only for everyone but its owner
CREATE ROLE regress_rs_clerk;
GRANT USAGE ON SCHEMA repairsys TO regress_rs_clerk;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON repairsys.ticket_event TO regress_rs_clerk;
-- (row-level security: a role of its own needs a policy to see rows at all)
CREATE POLICY regress_rs_clerk ON repairsys.ticket_event TO regress_rs_clerk USING (true);
SET ROLE regress_rs_clerk;
UPDATE repairsys.ticket_event SET note = 'rewritten' WHERE ticket_id = :t1;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM repairsys.ticket_event WHERE ticket_id = :t1;
TRUNCATE repairsys.ticket_event;
RESET ROLE;
SELECT count(*) AS events_kept FROM repairsys.ticket_event WHERE ticket_id = :t1;
-- a ticket with history cannot be deleted (which of the tables that refer
-- to it refuses first follows the names of the foreign keys' triggers, which
-- carry OIDs: only the SQLSTATE and whether the history is one of them count)
SELECT set_config('regress.t2', :'t2', false) IS NOT NULL AS set;
DO $$
BEGIN
	DELETE FROM repairsys.ticket WHERE id = current_setting('regress.t2')::bigint;
	RAISE WARNING 'deleted';
EXCEPTION WHEN foreign_key_violation THEN
	RAISE WARNING 'refused (SQLSTATE %): the ticket is referenced', SQLSTATE;
END
$$;
SELECT count(*) > 0 AS history_kept FROM repairsys.ticket_event WHERE ticket_id = :t2;
DROP POLICY regress_rs_clerk ON repairsys.ticket_event;
REVOKE ALL ON repairsys.ticket_event FROM regress_rs_clerk;
REVOKE ALL ON SCHEMA repairsys FROM regress_rs_clerk;
DROP ROLE regress_rs_clerk;

-- the owner may insert a ticket with its history (restore, migration): taken as is
INSERT INTO repairsys.ticket (customer_id, service_type, status, opened_at, status_changed_at, closed_at)
	VALUES (pg_temp.cust('lc Bob'), 'lc_ac', 'closed', '2025-01-02 10:00+08', '2025-01-03 10:00+08', '2025-01-03 10:00+08')
	RETURNING status, closed_at, changed_by;
SELECT count(*) AS no_event_for_restored FROM repairsys.ticket_event e JOIN repairsys.ticket t ON t.id = e.ticket_id
 WHERE t.opened_at = '2025-01-02 10:00+08';

-- the invariant the rest relies on: every ticket's status is its last event's
SELECT count(*) AS mismatches FROM repairsys.ticket t
 WHERE t.changed_by IS NOT NULL
   AND t.status IS DISTINCT FROM (SELECT e.to_status FROM repairsys.ticket_event e WHERE e.ticket_id = t.id ORDER BY e.id DESC LIMIT 1);

-- settings
SELECT repairsys.setting_value('reopen_window');
SELECT repairsys.setting_value('no_such_setting');

-- The two life-cycle trigger functions are C (src/lifecycle.c): attached to
-- another table or fired the wrong way they refuse, and the ticket table
-- works as before afterwards.
CREATE TEMP TABLE not_a_ticket (x int);
INSERT INTO not_a_ticket VALUES (1);
CREATE TRIGGER wrong_table BEFORE UPDATE ON not_a_ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_transition_trg();
UPDATE not_a_ticket SET x = 2;
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER wrong_table ON not_a_ticket;
CREATE TRIGGER wrong_event BEFORE INSERT ON not_a_ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_transition_trg();
INSERT INTO not_a_ticket VALUES (3);
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER wrong_event ON not_a_ticket;
CREATE TRIGGER wrong_log BEFORE UPDATE ON not_a_ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_log_trg();
UPDATE not_a_ticket SET x = 2;
\echo :LAST_ERROR_SQLSTATE
DROP TABLE not_a_ticket;
-- (in a transaction rolled back, ids given back: later files expect theirs)
SELECT pg_sequence_last_value(pg_get_serial_sequence('repairsys.ticket_event', 'id')) AS ev_last \gset
\set ON_ERROR_ROLLBACK on
BEGIN;
SELECT repairsys.open_ticket(pg_temp.cust('lc Alice'), 'lc_ac', 'after the wrong tables') AS t9 \gset
-- a status that is no state at all is named in the refusal, and NULL too
UPDATE repairsys.ticket SET status = NULL WHERE id = :t9;
SET repairsys.note = 'cancelled after the wrong tables';
UPDATE repairsys.ticket SET status = 'cancelled' WHERE id = :t9;
RESET repairsys.note;
SELECT from_status, to_status, note, t.closed_at IS NOT NULL AND t.closed_at = t.status_changed_at AS closed_stamped,
       e.at = t.status_changed_at AS event_at_change
  FROM repairsys.ticket_event e JOIN repairsys.ticket t ON t.id = e.ticket_id WHERE t.id = :t9 ORDER BY e.id;
ROLLBACK;
\set ON_ERROR_ROLLBACK off
SELECT setval(pg_get_serial_sequence('repairsys.ticket', 'id'), :t9 - 1) > 0 AS ticket_id_given_back,
       setval(pg_get_serial_sequence('repairsys.ticket_event', 'id'), :ev_last) > 0 AS event_ids_given_back;
