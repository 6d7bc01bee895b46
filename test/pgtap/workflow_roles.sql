-- pgTAP: the workflow is data.  Every seeded state code is renamed (closed to
-- Chinese), a second closed-role state is added, and the whole life cycle
-- runs on it: assignment, approval, work, parts, resolution, invoice,
-- payment, closing, follow-up, feedback, load, reports, cancellation; a
-- state renamed while tickets are in it; the roles a rule needs cannot go.
BEGIN;
SELECT plan(47);
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';

-- 1. rename every seeded state
UPDATE repairsys.ticket_status SET code = CASE code
	WHEN 'new' THEN 'intake' WHEN 'assigned' THEN 'dispatched' WHEN 'in_progress' THEN 'working'
	WHEN 'waiting_parts' THEN 'parts_wait' WHEN 'waiting_customer' THEN 'customer_wait'
	WHEN 'resolved' THEN 'repaired' WHEN 'closed' THEN '已完成' WHEN 'cancelled' THEN 'voided' END;
SELECT is((SELECT count(*)::int FROM repairsys.ticket_status
            WHERE code IN ('new', 'assigned', 'in_progress', 'waiting_parts', 'waiting_customer', 'resolved', 'closed', 'cancelled')),
          0, 'every seeded state code is renamed');
SELECT is((SELECT count(*)::int FROM repairsys.ticket_transition), 12, 'the transitions follow the renames');
SELECT ok(EXISTS (SELECT 1 FROM repairsys.ticket_transition WHERE from_status = 'repaired' AND to_status = '已完成' AND guard = 'settled'),
          'repaired -> 已完成 keeps its guard');
INSERT INTO repairsys.ticket_status (code, role, sort_order) VALUES ('closed_unpaid', 'closed', 75);
INSERT INTO repairsys.ticket_transition (from_status, to_status) VALUES ('repaired', 'closed_unpaid');
SELECT is((SELECT name FROM repairsys.ticket_status WHERE code = 'closed_unpaid'), 'closed_unpaid', 'a state''s name defaults to its code');

-- a small company
INSERT INTO repairsys.service_center (name, lat, lon, time_zone) VALUES ('wf center', 31.2, 121.5, 'Asia/Shanghai');
INSERT INTO repairsys.customer (name, lat, lon, service_center_id)
	SELECT 'wf customer', 31.21, 121.51, id FROM repairsys.service_center WHERE name = 'wf center';
INSERT INTO repairsys.technician (name, service_center_id, lat, lon, capacity)
	SELECT 'wf tech', id, 31.2, 121.5, 5 FROM repairsys.service_center WHERE name = 'wf center';
INSERT INTO repairsys.technician_skill (technician_id, skill, level) SELECT id, 'wf_skill', 3 FROM repairsys.technician WHERE name = 'wf tech';
INSERT INTO repairsys.service_type (code, name, required_skill, labor_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('wf_fix', 'wf fix', 'wf_skill', '0+:1.00', 20, 30, 60);
INSERT INTO repairsys.part (sku, name, unit_cost, unit_price) VALUES ('WF-P', 'wf part', 4, 10);
CREATE TEMP TABLE received AS SELECT repairsys.receive_part('WF-P', id, 10) FROM repairsys.service_center WHERE name = 'wf center';
CREATE TEMP TABLE wf AS SELECT
	(SELECT id FROM repairsys.customer WHERE name = 'wf customer') AS cust,
	(SELECT id FROM repairsys.technician WHERE name = 'wf tech') AS tech,
	(SELECT id FROM repairsys.service_center WHERE name = 'wf center') AS center;
ALTER TABLE wf ADD t1 bigint, ADD t2 bigint, ADD t3 bigint, ADD t4 bigint;
UPDATE wf SET t1 = repairsys.open_ticket(cust, 'wf_fix', 'one'), t2 = repairsys.open_ticket(cust, 'wf_fix', 'two'),
              t3 = repairsys.open_ticket(cust, 'wf_fix', 'three'), t4 = repairsys.open_ticket(cust, 'wf_fix', 'four');

-- 2. ticket 1 through the whole life cycle
SELECT is((SELECT status || '/' || status_role FROM repairsys.ticket WHERE id = (SELECT t1 FROM wf)), 'intake/initial',
          'a new ticket starts in the initial-role state, whatever its code');
SELECT is(repairsys.auto_assign((SELECT t1 FROM wf)), (SELECT tech FROM wf), 'auto_assign assigns');
SELECT is((SELECT status FROM repairsys.ticket WHERE id = (SELECT t1 FROM wf)), 'dispatched', 'and moves the ticket to the assigned-role state');
SELECT is((SELECT open_tickets FROM repairsys.technician_load WHERE technician_id = (SELECT tech FROM wf)), 1, 'the technician''s load counts it');
SELECT lives_ok($$SELECT repairsys.approve_estimate((SELECT t1 FROM wf))$$, 'the estimate is approved');
SELECT lives_ok($$UPDATE repairsys.ticket SET status = 'working' WHERE id = (SELECT t1 FROM wf)$$, 'work starts');
SELECT ok((SELECT first_response_at IS NOT NULL FROM repairsys.ticket WHERE id = (SELECT t1 FROM wf)), 'the first response is stamped');
SELECT ok(repairsys.reserve_part((SELECT t1 FROM wf), 'WF-P', 2) IS NOT NULL, 'a part is reserved');
SELECT lives_ok($$UPDATE repairsys.ticket SET status = 'repaired', labor_minutes = 45 WHERE id = (SELECT t1 FROM wf)$$, 'the ticket is resolved');
SELECT ok((SELECT resolved_at IS NOT NULL FROM repairsys.ticket WHERE id = (SELECT t1 FROM wf)), 'resolved_at is stamped on entering the resolved-role state');
SELECT is((SELECT state FROM repairsys.ticket_part WHERE ticket_id = (SELECT t1 FROM wf)), 'used', 'resolution issues the reserved parts');
SELECT is((SELECT on_hand FROM repairsys.stock WHERE sku = 'WF-P'), 8, 'and takes them out of stock');
SELECT ok(repairsys.issue_invoice((SELECT t1 FROM wf)) IS NOT NULL, 'a ticket in the resolved-role state is invoiced');
SELECT lives_ok($$SELECT repairsys.record_payment(i.id, 'wechat', i.total, 'wf-1') FROM repairsys.invoice i WHERE i.ticket_id = (SELECT t1 FROM wf)$$,
                'and paid');
SELECT throws_ok($$UPDATE repairsys.ticket SET status = 'working' WHERE id = (SELECT t2 FROM wf)$$, '23514', NULL,
                 'an illegal move between renamed states is refused');
SELECT lives_ok($$UPDATE repairsys.ticket SET status = '已完成' WHERE id = (SELECT t1 FROM wf)$$, 'the ticket is closed (已完成)');
SELECT ok((SELECT closed_at IS NOT NULL AND status_role = 'closed' FROM repairsys.ticket WHERE id = (SELECT t1 FROM wf)), 'closed_at is stamped');
SELECT is((SELECT reason FROM repairsys.follow_up WHERE ticket_id = (SELECT t1 FROM wf)), 'after_closure', 'a closed-role state owes a follow-up call');
SELECT is((SELECT open_tickets FROM repairsys.technician_load WHERE technician_id = (SELECT tech FROM wf)), 0, 'the load no longer counts it');
SELECT lives_ok($$INSERT INTO repairsys.feedback (ticket_id, rating) SELECT t1, 5 FROM wf$$, 'the customer rates it');
SELECT is((SELECT sum(tickets)::int FROM repairsys.service_benefit WHERE service_type = 'wf_fix'), 4, 'service_benefit counts every ticket not in a cancelled-role state');
SELECT is((SELECT string_agg(to_status, ',' ORDER BY id) FROM repairsys.ticket_event WHERE ticket_id = (SELECT t1 FROM wf)),
          'intake,dispatched,working,repaired,已完成', 'the history names the renamed states');

-- 3. ticket 2: the second closed-role state
SELECT lives_ok($$UPDATE repairsys.ticket SET status = 'dispatched', technician_id = (SELECT tech FROM wf) WHERE id = (SELECT t2 FROM wf)$$, 'ticket 2 assigned');
SELECT lives_ok($$SELECT repairsys.approve_estimate((SELECT t2 FROM wf))$$, 'its estimate approved');
UPDATE repairsys.ticket SET status = 'working' WHERE id = (SELECT t2 FROM wf);
UPDATE repairsys.ticket SET status = 'repaired', labor_minutes = 30 WHERE id = (SELECT t2 FROM wf);
SELECT lives_ok($$UPDATE repairsys.ticket SET status = 'closed_unpaid' WHERE id = (SELECT t2 FROM wf)$$, 'ticket 2 enters the second closed-role state');
SELECT ok((SELECT closed_at IS NOT NULL FROM repairsys.ticket WHERE id = (SELECT t2 FROM wf)), 'closed_at is stamped there too');
SELECT is((SELECT count(*)::int FROM repairsys.follow_up WHERE ticket_id = (SELECT t2 FROM wf)), 1, 'it owes a follow-up call too');
SELECT is((SELECT problem FROM repairsys.billing_audit WHERE ticket_id = (SELECT t2 FROM wf)), 'closed with a balance',
          'the billing audit sees a closed-role ticket with a balance');

-- 4. ticket 3: cancelled with a reservation
UPDATE repairsys.ticket SET status = 'dispatched', technician_id = (SELECT tech FROM wf) WHERE id = (SELECT t3 FROM wf);
SELECT ok(repairsys.reserve_part((SELECT t3 FROM wf), 'WF-P', 1) IS NOT NULL, 'ticket 3 reserves a part');
SELECT lives_ok($$UPDATE repairsys.ticket SET status = 'voided' WHERE id = (SELECT t3 FROM wf)$$, 'ticket 3 is cancelled (voided)');
SELECT is((SELECT state FROM repairsys.ticket_part WHERE ticket_id = (SELECT t3 FROM wf)), 'released', 'its reservation is released');
SELECT is((SELECT reserved FROM repairsys.stock WHERE sku = 'WF-P'), 0, 'nothing stays reserved');

-- 5. a rename while tickets are in the state
UPDATE repairsys.ticket SET status = 'dispatched', technician_id = (SELECT tech FROM wf) WHERE id = (SELECT t4 FROM wf);
SELECT lives_ok($$UPDATE repairsys.ticket_status SET code = '已派工' WHERE code = 'dispatched'$$, 'a state with tickets in it is renamed');
SELECT is((SELECT status FROM repairsys.ticket WHERE id = (SELECT t4 FROM wf)), '已派工', 'its tickets follow');
SELECT is((SELECT count(*)::int FROM repairsys.ticket_event WHERE to_status = 'dispatched' OR from_status = 'dispatched'), 0,
          'and so does the history');
SELECT is((SELECT count(*)::int FROM repairsys.ticket_event WHERE ticket_id = (SELECT t4 FROM wf)), 2, 'the rename itself writes no history');
SELECT lives_ok($$UPDATE repairsys.ticket SET status = 'voided' WHERE id = (SELECT t4 FROM wf)$$, 'the renamed state''s transitions still work');

-- 6. the roles a rule needs cannot go
SELECT throws_ok($$UPDATE repairsys.ticket_status SET role = 'active' WHERE code = 'voided'$$, '23514', NULL,
                 'a state''s role cannot change while tickets are in it');
SELECT throws_ok($$UPDATE repairsys.ticket_status SET role = 'active' WHERE code = '已派工'$$, '23514',
                 'the workflow needs a state of each role "assigned"', 'the last assigned-role state cannot lose its role');
SELECT lives_ok($$UPDATE repairsys.ticket_status SET role = 'active', pauses_sla = false WHERE code = 'customer_wait'$$,
                'an on_hold state may become active (on_hold is optional)');
SELECT throws_ok($$INSERT INTO repairsys.ticket_status (code, role) VALUES ('two words', 'active')$$, '23514', NULL,
                 'a state code has no spaces');
SELECT throws_ok($$INSERT INTO repairsys.ticket_status (code, role) VALUES ('limbo', 'waiting')$$, '23514', NULL,
                 'a state''s role is one of the seven');
SELECT is_empty('SELECT * FROM repairsys.check_invariants()', 'every invariant holds on the renamed workflow');

SELECT * FROM finish();
ROLLBACK;
