-- The roll-up of customer_profile (repairsys.customer_rollup, docs/reports.md
-- "Customer profile", docs/performance.md "Roll-ups"): the view gives exactly
-- the rows of its old definition, which aggregated each customer's assets,
-- tickets, feedback and payments and called churn_risk(c.id, now()) (kept
-- below as a test-only temporary view), after a demo company and after every
-- kind of write that changes a figure; check_invariants() finds the roll-up
-- equal to its recomputation; a rolled-back write leaves nothing;
-- rollup_rebuild() repairs a roll-up written around its triggers; and a
-- center's profile reads indexes, not the history.  Rows are compared as
-- text, so a 0 where the old view gave 0.00 would show.  In a database of its
-- own, so that the ids the other files print do not depend on the rows made
-- here.  (The demo's history ends today, so only counts and booleans are
-- printed.)
SET TimeZone = 'Asia/Shanghai';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS repairsys_rollups_customer;
CREATE DATABASE repairsys_rollups_customer;
\c repairsys_rollups_customer
SET TimeZone = 'Asia/Shanghai';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
SET client_min_messages = warning;
SET jit = off;
CREATE EXTENSION repairsys;
SET search_path = repairsys, public;
SELECT demo_load(300, 42) AS tickets;

-- the definition before the roll-up (1.2 before issue 22), test-only
CREATE TEMP VIEW old_customer_profile AS
SELECT c.id AS customer_id,
       c.name,
       c.phone,
       c.service_center_id,
       coalesce(a.assets, 0)::integer AS assets,
       coalesce(a.purchase_total, 0)::numeric(14,2) AS purchase_total,
       coalesce(k.tickets, 0)::integer AS tickets,
       coalesce(k.repairs, 0)::integer AS repairs,
       coalesce(p.total_spent, 0)::numeric(14,2) AS total_spent,
       round(k.avg_rating, 2) AS avg_rating,
       coalesce(k.complaints, 0)::integer AS complaints,
       k.last_ticket_at,
       CASE WHEN k.recent_complaints > 0
                 OR k.avg_rating < setting_value('segment_at_risk_rating')::numeric THEN 'at_risk'
            WHEN coalesce(a.purchase_total, 0) + coalesce(p.total_spent, 0)
                 >= setting_value('segment_high_value_total')::numeric THEN 'high_value'
            WHEN coalesce(k.recent_tickets, 0) >= setting_value('segment_frequent_repairs')::integer THEN 'frequent_repair'
            ELSE 'regular' END AS segment,
       round(churn_risk(c.id, now())::numeric, 4) AS churn_risk
  FROM customer c
  LEFT JOIN LATERAL (
	SELECT count(*) AS assets, sum(x.purchase_price) AS purchase_total
	  FROM asset x WHERE x.customer_id = c.id
  ) a ON true
  LEFT JOIN LATERAL (
	SELECT count(*) AS tickets,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL) AS repairs,
	       avg(fb.rating) AS avg_rating,
	       count(*) FILTER (WHERE fb.complaint) AS complaints,
	       count(*) FILTER (WHERE fb.complaint AND fb.at >= now() - setting_value('segment_at_risk_window')::interval) AS recent_complaints,
	       count(*) FILTER (WHERE t.opened_at >= now() - setting_value('segment_frequent_window')::interval) AS recent_tickets,
	       max(t.opened_at) AS last_ticket_at
	  FROM ticket t
	  LEFT JOIN feedback fb ON fb.ticket_id = t.id
	 WHERE t.customer_id = c.id AND t.status_role <> 'cancelled'
  ) k ON true
  LEFT JOIN LATERAL (
	SELECT sum(pm.amount) AS total_spent
	  FROM ticket t
	  JOIN invoice i ON i.ticket_id = t.id
	  JOIN payment pm ON pm.invoice_id = i.id
	 WHERE t.customer_id = c.id
  ) p ON true;

-- the comparison after each write: rows that differ, and the roll-up's
-- differences from its recomputation
\set cmp 'SELECT count(*) AS customers, count(*) FILTER (WHERE o::text IS DISTINCT FROM n::text) AS differ, (SELECT count(*) FROM check_invariants() i WHERE i.invariant LIKE ''roll-up customer%'') AS rollup_wrong FROM old_customer_profile o FULL JOIN customer_profile n ON n.customer_id = o.customer_id'
:cmp;
-- a churn model (made up, not fitted: the demo's history is too short to
-- fit one), so that every customer with a ticket has a risk to compare
INSERT INTO churn_model VALUES (true, now(), now(), '90 days',
	ARRAY['recency_days', 'frequency', 'avg_rating', 'complaints', 'repeat_repairs', 'unresolved'],
	ARRAY[30, 1, 4, 0.2, 0.1, 0.5]::float8[], ARRAY[20, 1, 1, 0.5, 0.3, 0.7]::float8[],
	ARRAY[-0.5, 0.8, -0.6, -0.4, 0.5, 0.3, -0.2]::float8[], 1, 100, 40, 10, true, -50);
SELECT count(churn_risk) > 50 AS risks, count(DISTINCT churn_risk) > 10 AS varied FROM customer_profile;
:cmp;
-- repeat repairs are in the demo (the churn feature that reads other tickets)
SELECT count(*) > 0 AS repeat_repairs FROM ticket t WHERE EXISTS (
	SELECT 1 FROM ticket r WHERE r.asset_id = t.asset_id AND r.service_type = t.service_type AND r.id <> t.id
	   AND r.resolved_at < t.opened_at AND t.opened_at <= r.resolved_at + setting_value('rework_window')::interval);

-- the customers and tickets the writes below use
SELECT min(c.id) AS c1, max(c.id) AS c2 FROM customer c \gset
SELECT min(code) AS st FROM service_type \gset
SELECT a.id AS a1 FROM asset a WHERE a.customer_id = :c1 ORDER BY a.id LIMIT 1 \gset
SELECT t.id AS t_new FROM ticket t WHERE t.status = 'new' ORDER BY t.id LIMIT 1 \gset
SELECT t.id AS t_work, t.customer_id AS t_work_c FROM ticket t WHERE t.status = 'in_progress' ORDER BY t.id LIMIT 1 \gset
SELECT t.id AS t_res, t.customer_id AS t_res_c FROM ticket t WHERE t.status = 'resolved' AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.ticket_id = t.id) ORDER BY t.id LIMIT 1 \gset
SELECT f.ticket_id AS t_fb FROM feedback f JOIN ticket t ON t.id = f.ticket_id WHERE t.status = 'closed' ORDER BY f.ticket_id LIMIT 1 \gset
SELECT i.id AS inv, t.customer_id AS inv_c FROM invoice i JOIN ticket t ON t.id = i.ticket_id
 WHERE i.total > coalesce((SELECT sum(p.amount) FROM payment p WHERE p.invoice_id = i.id), 0) + 1 ORDER BY i.id LIMIT 1 \gset
SELECT p.id AS pay, p.invoice_id AS pay_inv FROM payment p ORDER BY p.id LIMIT 1 \gset

-- assets: added, price changed, moved to another customer, deleted
SELECT assets AS a_before, purchase_total AS p_before FROM customer_profile WHERE customer_id = :c2 \gset
INSERT INTO asset (customer_id, model, serial_no, purchase_price) VALUES (:c2, 'rollup test model', 'RT-1', 1234.50), (:c2, 'rollup test model', 'RT-2', NULL);
SELECT assets = :a_before + 2 AS assets_counted, purchase_total = :p_before + 1234.50 AS price_counted FROM customer_profile WHERE customer_id = :c2;
:cmp;
UPDATE asset SET purchase_price = 99.99 WHERE serial_no = 'RT-2';
UPDATE asset SET purchase_price = purchase_price + 1 WHERE customer_id = :c1;
:cmp;
UPDATE asset SET customer_id = :c1 WHERE serial_no = 'RT-1';
:cmp;
DELETE FROM asset WHERE serial_no IN ('RT-1', 'RT-2');
:cmp;

-- tickets: opened, cancelled, worked and resolved, reopened
SELECT tickets AS k_before FROM customer_profile WHERE customer_id = :c2 \gset
INSERT INTO ticket (customer_id, service_type, description) VALUES (:c2, :'st', 'rollup test ticket') RETURNING id AS t_opened \gset
SELECT tickets = :k_before + 1 AS ticket_counted, last_ticket_at = (SELECT opened_at FROM ticket WHERE id = :t_opened) AS last_ticket FROM customer_profile WHERE customer_id = :c2;
:cmp;
UPDATE ticket SET status = 'cancelled' WHERE id = :t_opened;
SELECT tickets = :k_before AS cancelled_left_out FROM customer_profile WHERE customer_id = :c2;
:cmp;
UPDATE ticket SET status = 'cancelled' WHERE id = :t_new;
:cmp;
UPDATE ticket SET labor_minutes = 45, status = 'resolved' WHERE id = :t_work;
:cmp;
UPDATE ticket SET status = 'in_progress' WHERE id = :t_res;
:cmp;
-- feedback: given, with a complaint, changed, withdrawn
INSERT INTO feedback (ticket_id, rating, complaint, comment) VALUES (:t_work, 1, true, 'rollup test');
SELECT segment = 'at_risk' AS complaint_counted FROM customer_profile WHERE customer_id = :t_work_c;
:cmp;
UPDATE feedback SET rating = 5, complaint = false WHERE ticket_id = :t_work;
:cmp;
UPDATE feedback SET at = at - interval '300 days' WHERE ticket_id = :t_fb;
:cmp;
DELETE FROM feedback WHERE ticket_id = :t_fb;
:cmp;

-- payments and refunds (a refund: the table owner takes the payment back)
SELECT total_spent AS s_before FROM customer_profile WHERE customer_id = :inv_c \gset
SELECT record_payment(:inv, 'cash', 1.00, 'rollup-test-1') > 0 AS paid;
SELECT total_spent = :s_before + 1.00 AS payment_counted FROM customer_profile WHERE customer_id = :inv_c;
:cmp;
UPDATE payment SET amount = amount - 0.50 WHERE id = :pay;
:cmp;
DELETE FROM payment WHERE id = :pay;
:cmp;

-- a ticket not yet agreed moved to another customer (an agreed bill's
-- customer never changes)
SELECT t.id AS t_move, t.customer_id AS t_move_c FROM ticket t
 WHERE t.status = 'assigned' AND t.estimate_approved_at IS NULL AND t.customer_id <> :c1 ORDER BY t.id LIMIT 1 \gset
SELECT tickets AS m_before FROM customer_profile WHERE customer_id = :t_move_c \gset
UPDATE ticket SET customer_id = :c1, asset_id = NULL WHERE id = :t_move;
SELECT tickets = :m_before - 1 AS moved FROM customer_profile WHERE customer_id = :t_move_c;
:cmp;
-- a customer moved to another center
UPDATE customer SET service_center_id = (SELECT max(id) FROM service_center) WHERE id = :c1;
:cmp;
-- a new customer, and a ticket deleted by the table owner with its feedback
INSERT INTO customer (name, service_center_id) VALUES ('rollup test customer', 1) RETURNING id AS c_new \gset
SELECT assets, tickets, total_spent, avg_rating, segment FROM customer_profile WHERE customer_id = :c_new;
:cmp;
INSERT INTO ticket (customer_id, service_type, description) VALUES (:c_new, :'st', 'rollup test ticket 2') RETURNING id AS t_del \gset
DELETE FROM ticket_event WHERE ticket_id = :t_del;
DELETE FROM event WHERE ticket_id = :t_del;
DELETE FROM ticket WHERE id = :t_del;
SELECT tickets, last_ticket_at IS NULL AS no_last FROM customer_profile WHERE customer_id = :c_new;
:cmp;

-- a rolled-back write leaves nothing
BEGIN;
INSERT INTO ticket (customer_id, service_type, description) VALUES (:c2, :'st', 'rollup test rolled back');
INSERT INTO asset (customer_id, model, serial_no, purchase_price) VALUES (:c2, 'rollup test model', 'RT-3', 10);
ROLLBACK;
:cmp;

-- the latest openings (recent_opened, customer_recent_depth() of them):
-- more tickets than the row keeps, the latest cancelled (the next one comes
-- back from the tickets), one given an earlier and one a later opening, one
-- no longer cancelled (the table owner's), and frequent_repair at every
-- setting from 1 to one above the depth (which counts the tickets instead)
SELECT customer_recent_depth() AS depth;
INSERT INTO customer (name, service_center_id) VALUES ('rollup test customer 2', 1) RETURNING id AS c12 \gset
INSERT INTO ticket (customer_id, service_type, description, opened_at)
SELECT :c12, :'st', 'rollup test opening ' || g, now() - g * interval '3 days' FROM generate_series(1, 12) g;
SELECT cardinality(recent_opened) AS kept,
       recent_opened[1] = (SELECT opened_at FROM ticket WHERE description = 'rollup test opening 1') AS newest_first,
       recent_opened[10] = (SELECT opened_at FROM ticket WHERE description = 'rollup test opening 10') AS tenth_last
  FROM customer_rollup WHERE customer_id = :c12;
:cmp;
UPDATE ticket SET status = 'cancelled' WHERE description = 'rollup test opening 1';
SELECT recent_opened[10] = (SELECT opened_at FROM ticket WHERE description = 'rollup test opening 11') AS eleventh_back
  FROM customer_rollup WHERE customer_id = :c12;
:cmp;
-- (opening times and a cancelled ticket's return are no route of the life
-- cycle: written by the table owner with only the roll-ups' triggers on)
ALTER TABLE ticket DISABLE TRIGGER USER;
ALTER TABLE ticket ENABLE TRIGGER ticket_50_rollup_update;
ALTER TABLE ticket ENABLE TRIGGER ticket_51_customer_rollup_update;
UPDATE ticket SET opened_at = opened_at - interval '400 days' WHERE description = 'rollup test opening 2';
:cmp;
UPDATE ticket SET opened_at = opened_at + interval '2 days' WHERE description = 'rollup test opening 5';
:cmp;
UPDATE ticket SET status = 'cancelled', status_role = 'cancelled' WHERE description = 'rollup test opening 3';
:cmp;
UPDATE ticket SET status = 'new', status_role = 'initial' WHERE description = 'rollup test opening 3';
:cmp;
ALTER TABLE ticket ENABLE TRIGGER USER;
CREATE FUNCTION pg_temp.frequent_at(n integer) RETURNS TABLE (setting integer, differ bigint, frequent bigint)
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE setting SET value = n::text WHERE name = 'segment_frequent_repairs';
	RETURN QUERY
	SELECT n, (SELECT count(*) FROM old_customer_profile o FULL JOIN customer_profile c ON c.customer_id = o.customer_id
	            WHERE o::text IS DISTINCT FROM c::text),
	       (SELECT count(*) FROM customer_profile c WHERE c.segment = 'frequent_repair');
END
$$;
SELECT f.setting, f.differ, f.frequent > 0 AS some_frequent,
       f.frequent <= lag(f.frequent, 1, f.frequent) OVER (ORDER BY f.setting) AS fewer_or_as_many
  FROM generate_series(1, customer_recent_depth() + 1) g, pg_temp.frequent_at(g) f
 ORDER BY f.setting;
UPDATE setting SET value = '3' WHERE name = 'segment_frequent_repairs';
-- the figures that depend on now(): the same rows under other settings
UPDATE setting SET value = '0' WHERE name = 'segment_frequent_repairs';
:cmp;
UPDATE setting SET value = '3' WHERE name = 'segment_frequent_repairs';
UPDATE setting SET value = '3000 days' WHERE name = 'segment_at_risk_window';
:cmp;
UPDATE setting SET value = '180 days' WHERE name = 'segment_at_risk_window';
UPDATE setting SET value = '1 day' WHERE name = 'rework_window';
:cmp;
UPDATE setting SET value = '90 days' WHERE name = 'rework_window';
-- a ticket opened later than now(), imported by the table owner
-- (churn_risk() itself for that customer)
INSERT INTO ticket (customer_id, service_type, description, opened_at) VALUES (:c2, :'st', 'rollup test ticket 3', now() + interval '1 day');
:cmp;
-- no model: no risk
DELETE FROM churn_model;
SELECT count(churn_risk) AS risks FROM customer_profile;
:cmp;

-- written around the triggers: check_invariants() names the customer,
-- rollup_rebuild() repairs it
UPDATE customer_rollup SET tickets = tickets + 1 WHERE customer_id = :c2;
SELECT invariant, detail = format('customer %s: tickets kept %s, recomputed %s', :c2,
                                  (SELECT tickets FROM customer_rollup WHERE customer_id = :c2),
                                  (SELECT tickets - 1 FROM customer_rollup WHERE customer_id = :c2)) AS names_the_customer
  FROM check_invariants() WHERE invariant LIKE 'roll-up customer%';
SELECT rollup_rebuild() > 0 AS rebuilt;
:cmp;

-- only the roll-up's writers write it: every role, the admin too, reads only
SET ROLE repairsys_admin;
UPDATE customer_rollup SET tickets = 0;
RESET ROLE;

-- a center's profile reads the roll-up by key and the tickets through
-- ticket_customer_idx, never a sequential scan (with sequential scans
-- disabled, the planner still takes one where no index serves)
SET enable_seqscan = off;
INSERT INTO churn_model VALUES (true, now(), now(), '90 days',
	ARRAY['recency_days', 'frequency', 'avg_rating', 'complaints', 'repeat_repairs', 'unresolved'],
	ARRAY[30, 1, 4, 0.2, 0.1, 0.5]::float8[], ARRAY[20, 1, 1, 0.5, 0.3, 0.7]::float8[],
	ARRAY[-0.5, 0.8, -0.6, -0.4, 0.5, 0.3, -0.2]::float8[], 1, 100, 40, 10, true, -50);
CREATE FUNCTION pg_temp.explain_lines(q text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		RETURN NEXT r."QUERY PLAN";
	END LOOP;
END
$$;
SELECT count(*) FILTER (WHERE l LIKE '%Seq Scan%') AS seq_scans,
       bool_or(l LIKE '%customer_rollup_pkey%') AS rollup_by_key,
       bool_or(l LIKE '%customer_service_center_idx%') AS customers_by_center
  FROM pg_temp.explain_lines('SELECT * FROM repairsys.customer_profile WHERE service_center_id = 1') l;
-- and what its functions read (69_customer_profile_reads.sql), per customer
SELECT q.name, count(*) FILTER (WHERE l LIKE '%Seq Scan%') AS seq_scans, bool_or(l LIKE '%ticket_customer_idx%') AS tickets_by_customer
  FROM (VALUES ('recent tickets', 'SELECT count(*) FROM repairsys.ticket t WHERE t.customer_id = 1 AND t.opened_at >= now() - interval ''365 days'' AND t.status_role <> ''cancelled'''),
               ('repeat repairs', 'SELECT count(*) FROM repairsys.ticket t WHERE t.customer_id = 1 AND t.status_role <> ''cancelled'' AND EXISTS (SELECT 1 FROM repairsys.ticket p WHERE p.asset_id = t.asset_id AND p.service_type = t.service_type AND p.id <> t.id AND p.resolved_at < t.opened_at AND t.opened_at <= p.resolved_at + interval ''90 days'')')) q(name, sql)
 CROSS JOIN LATERAL pg_temp.explain_lines(q.sql) l
 GROUP BY q.name ORDER BY q.name;
RESET enable_seqscan;
-- and with the planner set against nested loops, as its estimate is at a
-- large company (a center's few thousand customers against every customer's
-- roll-up row: hashing the whole roll-up looked cheaper than a probe per
-- customer, and grew with the company, docs/performance.md
-- "customer_profile"): still one probe of the roll-up's key per customer
SET enable_nestloop = off;
SELECT count(*) FILTER (WHERE l ~ 'customer_rollup') AS rollup_scans,
       count(*) FILTER (WHERE l ~ '(Index Cond|Filter): \(customer_id = c\.id\)') AS rollup_per_customer,
       count(*) FILTER (WHERE l ~ 'Hash Cond: .*customer_id') AS rollup_hashed
  FROM pg_temp.explain_lines('SELECT * FROM repairsys.customer_profile WHERE service_center_id = 1') l;
RESET enable_nestloop;

\c :regress_db
DROP DATABASE repairsys_rollups_customer;
