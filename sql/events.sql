-- The durable event log, its consumers and the jobs (issue 20, DESIGN.md
-- section 16, docs/events.md).  Event ids depend on transaction ids, so the
-- output shows kinds, tickets, payloads and counts, never ids.  Runs in a
-- database of its own, so that "all events" means this file's.
\set regdb :DBNAME
SET client_min_messages = warning;
CREATE ROLE ev_disp NOLOGIN IN ROLE repairsys_dispatcher;
CREATE ROLE ev_tech NOLOGIN IN ROLE repairsys_technician;
CREATE ROLE ev_tech2 NOLOGIN IN ROLE repairsys_technician;
CREATE ROLE ev_cust NOLOGIN IN ROLE repairsys_customer;
CREATE DATABASE repairsys_events;
\connect repairsys_events
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
CREATE EXTENSION repairsys;
SET search_path = repairsys, pg_catalog;

INSERT INTO service_center (name, time_zone) VALUES ('ev center', 'UTC');
INSERT INTO customer (name, service_center_id, db_role) VALUES ('ev customer', 1, 'ev_cust'), ('ev other', 1, NULL);
INSERT INTO technician (name, service_center_id, db_role) VALUES ('ev tech', 1, 'ev_tech'), ('ev tech 2', 1, 'ev_tech2');
-- how the customers are told: the first by SMS in English, the second by
-- WeChat in Chinese (no preference row: the customer's language, here
-- customer.language zh-CN, and the first contact known)
UPDATE customer SET phone = '+86 138 0000 0001', email = 'first@example.com' WHERE id = 1;
UPDATE customer SET email = 'second@example.com', language = 'zh-CN' WHERE id = 2;
INSERT INTO customer_preference (customer_id, language, channel) VALUES (1, 'en', 'sms');
-- a wall-clock SLA: 1 minute to respond, 10 minutes to resolve
INSERT INTO service_type (code, name, labor_fee) VALUES ('ev', 'ev service', '0+:1.00');
INSERT INTO sla_policy (service_type, urgency, respond_within, resolve_within) VALUES ('ev', 'normal', '1min', '10min');

-- Every change writes its event in its own transaction.
SELECT open_ticket(1, 'ev', 'first') AS t1 \gset
SELECT open_ticket(2, 'ev', 'second') AS t2 \gset
UPDATE ticket SET status = 'assigned', technician_id = 1 WHERE id = :t1;
UPDATE ticket SET technician_id = 2 WHERE id = :t1;
-- a rolled-back change leaves no event
BEGIN;
UPDATE ticket SET status = 'cancelled' WHERE id = :t2;
SELECT count(*) AS events_inside_the_transaction FROM event WHERE ticket_id = :t2;
ROLLBACK;
SELECT kind, ticket_id, payload - 'history_id' - 'actor' AS payload FROM event ORDER BY id;
-- the payload names the history row of the change
SELECT count(*) AS events_naming_their_history_row
  FROM event e JOIN ticket_event h ON h.id = (e.payload ->> 'history_id')::bigint
 WHERE e.ticket_id = h.ticket_id AND h.to_status = e.payload ->> 'to';
-- ids follow the writing transactions; within one transaction they count up
SELECT bool_and(id > lag) AS increasing FROM (SELECT id, lag(id) OVER (ORDER BY id) FROM event) x WHERE lag IS NOT NULL;

-- A consumer: read, ack, read again.
SELECT kind, ticket_id FROM read_events('ev_app', 2);
SELECT ack_events('ev_app', (SELECT max(id) FROM (SELECT id FROM read_events('ev_app', 2)) r)) > 0 AS acked;
SELECT kind, ticket_id FROM read_events('ev_app');
SELECT ack_events('ev_app', (SELECT max(id) FROM read_events('ev_app'))) > 0 AS acked;
SELECT count(*) AS after_ack FROM read_events('ev_app');
-- acking an older id again moves nothing back
SELECT ack_events('ev_app', 1) = (SELECT acked_up_to FROM event_consumer WHERE name = 'ev_app') AS unchanged;
SELECT count(*) AS still_nothing FROM read_events('ev_app');
-- a new consumer starts from the beginning
SELECT count(*) AS new_consumer_sees FROM read_events('ev_other');

-- Bad input: clear errors, nothing written.
SELECT * FROM read_events('bad name!');
SELECT * FROM read_events(NULL);
SELECT * FROM read_events('ev_app', 0);
SELECT * FROM read_events('ev_app', 10001);
SELECT ack_events('ev_app', NULL);
SELECT ack_events('ev_app', -1);
-- an ack at or past the horizon would step over events still being written
-- (the details name ids, which differ from run to run: messages only)
\set VERBOSITY terse
SELECT ack_events('ev_app', event_horizon());
SELECT ack_events('ev_app', 9223372036854775807);
\set VERBOSITY default
SELECT count(*) AS consumers FROM event_consumer;

-- Row-level security and the table rules, for each role.
SET ROLE ev_tech2;
SELECT kind, ticket_id FROM read_events('ev_tech2_app');
SELECT count(*) AS events_of_other_tickets FROM event WHERE ticket_id <> :t1;
INSERT INTO event (id, kind, ticket_id) VALUES (1, 'status_changed', :t1);
SELECT emit_event('status_changed', :t1, 1, '{}');
-- another role's consumer name is not for the taking
SELECT * FROM read_events('ev_app');
-- the cursor moves forward only, also by a plain UPDATE
UPDATE event_consumer SET acked_up_to = (SELECT max(id) FROM event) WHERE name = 'ev_tech2_app';
\set VERBOSITY terse
UPDATE event_consumer SET acked_up_to = 0 WHERE name = 'ev_tech2_app';
UPDATE event_consumer SET acked_up_to = 9223372036854775807 WHERE name = 'ev_tech2_app';
\set VERBOSITY default
UPDATE event_consumer SET role = 'ev_tech' WHERE name = 'ev_tech2_app';
INSERT INTO event_consumer (name, role) VALUES ('ev_forged', 'ev_tech');
SELECT name, role FROM event_consumer ORDER BY name;
RESET ROLE;
SET ROLE ev_cust;
SELECT DISTINCT ticket_id FROM read_events('ev_cust_app');
SELECT count(*) AS consumers_visible FROM event_consumer;
RESET ROLE;
SET ROLE ev_disp;
SELECT count(*) AS dispatcher_sees FROM read_events('ev_disp_app');
UPDATE event SET kind = 'x';
DELETE FROM event;
TRUNCATE event;
SELECT * FROM run_jobs('infinity');
RESET ROLE;
SET ROLE repairsys_admin;
UPDATE event SET kind = 'x';
INSERT INTO event (id, kind) VALUES (1, 'x');
RESET ROLE;

-- Other kinds: estimate approval, part reservation, invoice, payment.
INSERT INTO part (sku, name, unit_price) VALUES ('EV-1', 'ev part', 5);
INSERT INTO stock_movement (sku, service_center_id, kind, qty, unit_cost) VALUES ('EV-1', 1, 'receipt', 3, 2);
INSERT INTO ticket_part (ticket_id, sku, service_center_id, qty, unit_price) VALUES (:t1, 'EV-1', 1, 1, 5);
UPDATE ticket SET estimate_approved_at = opened_at + interval '1 minute' WHERE id = :t1;
UPDATE ticket SET status = 'in_progress', labor_minutes = 10 WHERE id = :t1;
UPDATE ticket SET status = 'resolved' WHERE id = :t1;
SELECT issue_invoice(:t1) IS NOT NULL AS invoiced;
SELECT record_payment((SELECT id FROM invoice WHERE ticket_id = :t1), 'cash', (SELECT total FROM invoice WHERE ticket_id = :t1), 'ev-pay-1') IS NOT NULL AS paid;
SELECT kind, payload ->> 'sku' AS sku, payload ->> 'to' AS to_status,
       payload ? 'invoice_no' AS has_invoice_no, payload ->> 'method' AS method
  FROM event WHERE ticket_id = :t1 AND kind NOT IN ('ticket_opened') ORDER BY id;

-- SLA escalations: a 1-minute response target warns at 50% (30 s) and 80%
-- (48 s) and is breached at 100% (60 s), each once, however often run_jobs()
-- runs; the clock is pinned by run_jobs(at).
-- (the second ticket is cancelled first, so only the new one is counted)
SELECT set_status(:t2, 'cancelled');
SELECT open_ticket(2, 'ev', 'sla') AS t3 \gset
SELECT opened_at AS t3_open FROM ticket WHERE id = :t3 \gset
SELECT job, done FROM run_jobs(:'t3_open'::timestamptz + interval '29 seconds') WHERE job = 'sla_escalation';
SELECT job, done FROM run_jobs(:'t3_open'::timestamptz + interval '30 seconds') WHERE job = 'sla_escalation';
SELECT job, done FROM run_jobs(:'t3_open'::timestamptz + interval '30 seconds') WHERE job = 'sla_escalation';
SELECT job, done FROM run_jobs(:'t3_open'::timestamptz + interval '45 seconds') WHERE job = 'sla_escalation';
SELECT job, done FROM run_jobs(:'t3_open'::timestamptz + interval '60 seconds') WHERE job = 'sla_escalation';
SELECT sum(done) AS more FROM generate_series(1, 5) g, run_jobs(:'t3_open'::timestamptz + interval '90 seconds') WHERE job = 'sla_escalation';
SELECT kind, payload ->> 'target' AS target, payload ->> 'level' AS level, payload ->> 'at_pct' AS pct,
       (payload ->> 'reached_at')::timestamptz - :'t3_open'::timestamptz AS reached_after, payload ->> 'audience' AS audience
  FROM event WHERE ticket_id = :t3 AND kind LIKE 'sla%' ORDER BY id;
-- a response stops the response ladder; resolution goes on and a hold
-- (waiting_customer pauses the SLA) stops its clock
UPDATE ticket SET status = 'assigned', technician_id = 1, estimate_approved_at = opened_at WHERE id = :t3;
UPDATE ticket SET status = 'in_progress' WHERE id = :t3;
SELECT sla_reached_at(t, 'resolution', 50) - opened_at AS resolution_half FROM ticket t WHERE id = :t3;
SELECT job, done FROM run_jobs(:'t3_open'::timestamptz + interval '5 minutes') WHERE job = 'sla_escalation';
UPDATE ticket SET status = 'waiting_customer' WHERE id = :t3;
SELECT job, done FROM run_jobs(:'t3_open'::timestamptz + interval '9 minutes') WHERE job = 'sla_escalation';
UPDATE ticket SET status = 'in_progress' WHERE id = :t3;
SELECT job, done FROM run_jobs(:'t3_open'::timestamptz + interval '9 minutes') WHERE job = 'sla_escalation';
SELECT kind, payload ->> 'target' AS target, payload ->> 'level' AS level
  FROM event WHERE ticket_id = :t3 AND kind LIKE 'sla%' AND payload ->> 'target' = 'resolution' ORDER BY id;
-- bad input of the jobs
SELECT * FROM run_jobs(NULL);
SELECT * FROM run_jobs('infinity');
SELECT sla_reached_at(t, 'nonsense', 50) FROM ticket t WHERE id = :t3;
SELECT sla_reached_at(t, 'response', 0) FROM ticket t WHERE id = :t3;
SELECT schedule_jobs('90 seconds');
SELECT schedule_jobs('0 minutes');
SELECT schedule_jobs(NULL);
-- (pg_cron is not installed in this database)
SELECT schedule_jobs();

-- The ladder is data: raise_urgency moves the ticket to the next urgency by
-- urgency_rule.rank; reassign gives it to another eligible technician.
INSERT INTO sla_policy (service_type, urgency, respond_within, resolve_within) VALUES ('ev', 'urgent', '1min', '10min');
UPDATE sla_escalation SET action = 'raise_urgency' WHERE level = 1;
UPDATE sla_escalation SET action = 'reassign' WHERE level = 2;
SELECT open_ticket(2, 'ev', 'ladder') AS t4 \gset
UPDATE ticket SET status = 'assigned', technician_id = 1 WHERE id = :t4;
SELECT opened_at AS t4_open FROM ticket WHERE id = :t4 \gset
SELECT job, done FROM run_jobs(:'t4_open'::timestamptz + interval '9 minutes') WHERE job = 'sla_escalation';
SELECT urgency, technician_id FROM ticket WHERE id = :t4;
SELECT kind, payload ->> 'level' AS level, payload ->> 'urgency_to' AS urgency_to, payload ->> 'technician_to' AS technician_to
  FROM event WHERE ticket_id = :t4 AND kind IN ('sla_warning', 'sla_breached', 'technician_changed') ORDER BY id;
UPDATE sla_escalation SET action = 'notify';
UPDATE sla_escalation SET at_pct = 0 WHERE level = 1;
UPDATE sla_escalation SET action = 'shout' WHERE level = 1;

-- Stuck tickets (max_dwell of the state) and follow-ups due, once each.
INSERT INTO follow_up (ticket_id, service_center_id, reason, due_at)
	SELECT id, service_center_id, 'complaint', opened_at + interval '1 day' FROM ticket WHERE id = :t1;
SELECT job, done FROM run_jobs(:'t4_open'::timestamptz + interval '30 days') WHERE job IN ('ticket_stuck', 'follow_up_due') ORDER BY job;
SELECT job, done FROM run_jobs(:'t4_open'::timestamptz + interval '31 days') WHERE job IN ('ticket_stuck', 'follow_up_due') ORDER BY job;
SELECT kind, ticket_id = :t4 AS t4, payload ->> 'status' AS status FROM event WHERE kind = 'ticket_stuck' ORDER BY ticket_id;

-- Customer notifications: rendered by run_jobs() from the events, once
-- each, in the customer's language, on the customer's channel.
SELECT job, done FROM run_jobs(:'t4_open'::timestamptz + interval '31 days') WHERE job = 'notifications';
SELECT n.kind, n.ticket_id, n.language, n.channel, n.recipient, n.text
  FROM notification n ORDER BY n.event_id;
-- a WeChat id makes WeChat the second customer's channel; a template edited
-- by the company is used for what comes next
INSERT INTO customer_preference (customer_id, wechat_id) VALUES (2, 'wx-second');
UPDATE notification_template SET body = '{customer_name}：工程师{technician_name}将为您服务（工单 {ticket_id}）。'
 WHERE kind = 'technician_assigned' AND language = 'zh-CN';
SELECT open_ticket(2, 'ev', 'notified') AS t5 \gset
UPDATE ticket SET status = 'assigned', technician_id = 1 WHERE id = :t5;
SELECT job, done FROM run_jobs(:'t4_open'::timestamptz + interval '31 days') WHERE job = 'notifications';
SELECT job, done FROM run_jobs(:'t4_open'::timestamptz + interval '31 days') WHERE job = 'notifications';
SELECT n.kind, n.language, n.channel, n.recipient, n.text FROM notification n ORDER BY n.event_id DESC LIMIT 1;
-- a preference without a language follows the customer's language
UPDATE customer SET language = 'en' WHERE id = 2;
SELECT open_ticket(2, 'ev', 'notified in English') AS t6 \gset
UPDATE ticket SET status = 'assigned', technician_id = 1 WHERE id = :t6;
SELECT job, done FROM run_jobs(:'t4_open'::timestamptz + interval '31 days') WHERE job = 'notifications';
SELECT n.kind, n.ticket_id = :t6 AS t6, n.language, n.channel, n.recipient FROM notification n ORDER BY n.event_id DESC LIMIT 1;
UPDATE customer SET language = 'zh-CN' WHERE id = 2;
-- templates are checked when written
UPDATE notification_template SET body = 'Bill {invoice_no} for {technician_name}' WHERE kind = 'bill_ready' AND language = 'en';
UPDATE notification_template SET body = 'Bill {invoice_no' WHERE kind = 'bill_ready' AND language = 'en';
UPDATE notification_template SET body = '' WHERE kind = 'bill_ready' AND language = 'en';
INSERT INTO notification_template (kind, language, body) VALUES ('bill_ready', 'fr', 'Facture {invoice_no}');
INSERT INTO notification_template (kind, language, body) VALUES ('on_the_moon', 'en', 'Hello');
INSERT INTO customer_preference (customer_id, language) VALUES (2, 'de');
-- each customer reads their own notifications; nobody writes them
SET ROLE ev_cust;
SELECT DISTINCT customer_id FROM notification;
UPDATE customer_preference SET language = 'zh-CN' WHERE customer_id = 1;
SELECT language FROM customer_preference;
INSERT INTO notification (event_id, at, kind, ticket_id, customer_id, language, channel, recipient, text)
	VALUES (1, now(), 'bill_ready', 1, 1, 'en', 'sms', 'x', 'forged');
RESET ROLE;
SET ROLE ev_disp;
DELETE FROM notification;
RESET ROLE;

\connect :regdb
SET client_min_messages = warning;
DROP DATABASE repairsys_events;
DROP ROLE ev_disp;
DROP ROLE ev_tech;
DROP ROLE ev_tech2;
DROP ROLE ev_cust;
