-- pgTAP: every report says the same of the same work, whatever the states
-- are called.  The demo data (demo_load, reproducible for a seed; every date
-- relative to now(), which is fixed inside this one transaction) is made
-- twice: once with the seeded workflow, and once, after rolling back to the
-- same savepoint and putting the sequences back, with every seeded state
-- code renamed (closed to Chinese) and a second closed-role state that the
-- life cycle closes into.  Each report view must give the same rows; a
-- state's code is compared as its role.
\set QUIET on
BEGIN;
SELECT plan(16);
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SET LOCAL DateStyle = 'ISO, YMD';
SET LOCAL IntervalStyle = 'postgres';
CREATE TEMP TABLE seqs AS
	SELECT format('%I.%I', schemaname, sequencename) AS seq, last_value FROM pg_catalog.pg_sequences WHERE schemaname = 'repairsys';
-- One report as text: its rows as JSON, sorted, a status code replaced by its
-- role.  demo_load opens its repeat visits at clock_timestamp(), after the
-- repair they rework was resolved at now(): those instants (and the deadlines
-- and business hours computed from them) are the only thing that differs
-- between two loads, so an instant after now() is compared as "later" and
-- the SLA rows of tickets opened after now() are left out.
CREATE FUNCTION pg_temp.report(v text, cond text DEFAULT 'true') RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
	EXECUTE format($q$SELECT coalesce(string_agg(j, E'\n' ORDER BY j), '') FROM (
		SELECT (SELECT jsonb_object_agg(e.key,
		                 CASE WHEN e.key = 'status' THEN (SELECT to_jsonb(s.role) FROM repairsys.ticket_status s WHERE s.code = e.value->>0)
		                      WHEN e.key LIKE '%%\_at' AND jsonb_typeof(e.value) = 'string' AND (e.value->>0)::timestamptz > now() THEN to_jsonb('later'::text)
		                      ELSE e.value END)
		          FROM jsonb_each(y.j) e)::text AS j
		  FROM (SELECT to_jsonb(x) AS j FROM repairsys.%I x WHERE %s) y) z$q$, v, cond) INTO r;
	RETURN r;
END $$;
SAVEPOINT fresh;

SELECT repairsys.demo_load(300, 7) AS tickets_a \gset
SELECT pg_temp.report('sla_status', 'x.opened_at <= now()') AS a_sla_status, pg_temp.report('stuck_tickets') AS a_stuck_tickets,
       pg_temp.report('bill_detail') AS a_bill_detail, pg_temp.report('bill_summary') AS a_bill_summary,
       pg_temp.report('billing_audit') AS a_billing_audit, pg_temp.report('stock_forecast') AS a_stock_forecast,
       pg_temp.report('low_stock') AS a_low_stock, pg_temp.report('stock_transfer_suggestion') AS a_transfer,
       pg_temp.report('follow_up_due') AS a_follow_up_due, pg_temp.report('ticket_cost') AS a_ticket_cost,
       pg_temp.report('service_benefit') AS a_service_benefit, pg_temp.report('technician_performance') AS a_technician_performance,
       pg_temp.report('customer_profile') AS a_customer_profile,
       (SELECT count(*) FROM repairsys.ticket WHERE status_role = 'closed') AS a_closed \gset

ROLLBACK TO SAVEPOINT fresh;
SELECT pg_catalog.setval(seq, coalesce(last_value, 1), last_value IS NOT NULL) FROM seqs \g /dev/null
UPDATE repairsys.ticket_status SET code = CASE code
	WHEN 'new' THEN 'intake' WHEN 'assigned' THEN 'dispatched' WHEN 'in_progress' THEN 'working'
	WHEN 'waiting_parts' THEN 'parts_wait' WHEN 'waiting_customer' THEN 'customer_wait'
	WHEN 'resolved' THEN 'repaired' WHEN 'closed' THEN '已完成' WHEN 'cancelled' THEN 'voided' END;
-- before 已完成 in sort_order, so the life cycle's "close" (next_state by role) goes here
INSERT INTO repairsys.ticket_status (code, role, sort_order) VALUES ('closed_unpaid', 'closed', 65);
INSERT INTO repairsys.ticket_transition (from_status, to_status, guard) VALUES ('repaired', 'closed_unpaid', 'settled');
SELECT repairsys.demo_load(300, 7) AS tickets_b \gset

SELECT ok(:a_closed > 0, 'the seeded workflow closes tickets (' || :a_closed || ')');
SELECT is(:tickets_b, :tickets_a, 'the renamed workflow takes the same tickets');
SELECT is((SELECT count(*) FROM repairsys.ticket WHERE status = 'closed_unpaid'), :a_closed::bigint,
          'every ticket the seeded workflow closes is closed, into the second closed-role state');
SELECT is(pg_temp.report('sla_status', 'x.opened_at <= now()'), :'a_sla_status', 'sla_status is the same');
SELECT is(pg_temp.report('stuck_tickets'), :'a_stuck_tickets', 'stuck_tickets is the same');
SELECT is(pg_temp.report('bill_detail'), :'a_bill_detail', 'bill_detail is the same');
SELECT is(pg_temp.report('bill_summary'), :'a_bill_summary', 'bill_summary is the same');
SELECT is(pg_temp.report('billing_audit'), :'a_billing_audit', 'billing_audit is the same');
SELECT is(pg_temp.report('stock_forecast'), :'a_stock_forecast', 'stock_forecast is the same');
SELECT is(pg_temp.report('low_stock'), :'a_low_stock', 'low_stock is the same');
SELECT is(pg_temp.report('stock_transfer_suggestion'), :'a_transfer', 'stock_transfer_suggestion is the same');
SELECT is(pg_temp.report('follow_up_due'), :'a_follow_up_due', 'follow_up_due is the same');
SELECT is(pg_temp.report('ticket_cost'), :'a_ticket_cost', 'ticket_cost is the same');
SELECT is(pg_temp.report('service_benefit'), :'a_service_benefit', 'service_benefit is the same');
SELECT is(pg_temp.report('technician_performance'), :'a_technician_performance', 'technician_performance is the same');
SELECT is(pg_temp.report('customer_profile'), :'a_customer_profile', 'customer_profile is the same');

SELECT * FROM finish();
ROLLBACK;
