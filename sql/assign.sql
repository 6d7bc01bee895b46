-- Automatic assignment: candidates with reasons and scores, auto_assign,
-- auto_assign_pending, assignment on opening, errors.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET client_min_messages = notice;
-- Ids show up in NOTICE messages: this file's rows get ids from 700001 on;
-- the sequences are put back at the end, so the files that run after this
-- one see the ids they would have seen without it.
CREATE TEMP TABLE as_seq AS
	SELECT format('%I.%I', schemaname, sequencename) AS seq, last_value, start_value
	  FROM pg_sequences WHERE schemaname = 'repairsys';
SELECT bool_and(setval(seq, 700000) = 700000) AS ids_moved FROM as_seq;

INSERT INTO repairsys.service_center (name, lat, lon) VALUES
	('as North', 31.2300, 121.4700), ('as South', 31.0000, 121.4000);
INSERT INTO repairsys.customer (name, lat, lon, service_center_id)
	SELECT 'as Alice', 31.2300, 121.4700, id FROM repairsys.service_center WHERE name = 'as North';
INSERT INTO repairsys.asset (customer_id, model, serial_no, purchased_at, warranty_until)
	SELECT id, 'AS-1', 'as-SN1', current_date - 10, current_date + 355 FROM repairsys.customer WHERE name = 'as Alice';
INSERT INTO repairsys.service_type (code, name, required_skill, min_skill_level, labor_fee)
	VALUES ('as_ac', 'AC repair', 'as_hvac', 3, '0+:1.00'), ('as_any', 'Anything', NULL, 1, '0+:1.00');
CREATE FUNCTION pg_temp.center(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM repairsys.service_center WHERE name = n $$;
CREATE FUNCTION pg_temp.tech(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM repairsys.technician WHERE name = n $$;
CREATE FUNCTION pg_temp.cust(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM repairsys.customer WHERE name = n $$;

-- One technician per rule (and two identical ones for the tie)
INSERT INTO repairsys.technician (name, service_center_id, lat, lon, capacity, active) VALUES
	('as Ann', pg_temp.center('as North'), 31.2310, 121.4710, 3, true),   -- best
	('as Ben', pg_temp.center('as North'), 31.2400, 121.4800, 3, true),   -- exactly the minimum level
	('as Cid', pg_temp.center('as North'), 31.2300, 121.4700, 3, false),  -- inactive
	('as Dan', pg_temp.center('as North'), 31.2300, 121.4700, 3, true),   -- lacks the skill
	('as Eve', pg_temp.center('as North'), 31.2300, 121.4700, 3, true),   -- level too low
	('as Fay', pg_temp.center('as North'), 31.2300, 121.4700, 1, true),   -- will be at capacity
	('as Gus', pg_temp.center('as North'), 31.3400, 121.4700, 3, true),   -- 12 km away
	('as Hal', pg_temp.center('as South'), 31.2300, 121.4700, 3, true),   -- other center
	('as Ivy', NULL,                       31.2300, 121.4700, 3, true),   -- no center
	('as Jon', pg_temp.center('as North'), 31.2500, 121.4700, 3, true),   -- tie with Kim
	('as Kim', pg_temp.center('as North'), 31.2500, 121.4700, 3, true);
INSERT INTO repairsys.technician_skill (technician_id, skill, level)
	SELECT pg_temp.tech(n), 'as_hvac', l
	  FROM (VALUES ('as Ann', 5), ('as Ben', 3), ('as Cid', 5), ('as Eve', 2), ('as Fay', 4),
	               ('as Gus', 4), ('as Hal', 4), ('as Ivy', 4), ('as Jon', 4), ('as Kim', 4)) v(n, l);
INSERT INTO repairsys.assign_policy (name, max_distance_km, same_center)
	VALUES ('as_strict', 10, true), ('as_loose', NULL, false);
UPDATE repairsys.assign_policy SET require_skill = false, respect_capacity = false, only_active = false
 WHERE name = 'as_loose';

-- Fay's one slot is taken by another ticket
INSERT INTO repairsys.ticket (customer_id, service_type, description)
	VALUES (pg_temp.cust('as Alice'), 'as_any', 'as busy');
UPDATE repairsys.ticket SET technician_id = pg_temp.tech('as Fay'), status = 'assigned' WHERE description = 'as busy';

SELECT repairsys.open_ticket(pg_temp.cust('as Alice'), 'as_ac', 'as cold') AS t1 \gset

CREATE FUNCTION pg_temp.show(ticket bigint, policy text DEFAULT 'default')
RETURNS TABLE (name text, eligible boolean, reason text, score numeric, skill numeric, km numeric,
               dist numeric, load numeric, load_s numeric, rating numeric, cont numeric, open integer, cap integer)
LANGUAGE sql AS $$
	SELECT te.name, c.eligible, c.reason, round(c.score::numeric, 4), round(c.skill_score::numeric, 3),
	       round(c.distance_km::numeric, 2), round(c.distance_score::numeric, 3), round(c.load::numeric, 3),
	       round(c.load_score::numeric, 3), round(c.rating_score::numeric, 3), c.continuity_score::numeric,
	       c.open_tickets, c.capacity
	  FROM repairsys.candidates(ticket, policy) c JOIN repairsys.technician te ON te.id = c.technician_id
	 WHERE te.name LIKE 'as %'
$$;

-- Default policy: skill, capacity and activity are hard rules; distance and
-- center are not.  Best first; Jon and Kim tie and come by id.
SELECT * FROM pg_temp.show(:t1);
-- The strict policy adds 10 km and the same center.
SELECT name, eligible, reason FROM pg_temp.show(:t1, 'as_strict');
-- The loose policy has no hard rule: everybody is eligible, graded.
SELECT name, eligible, reason, score, skill FROM pg_temp.show(:t1, 'as_loose');

-- The score is the weighted sum of the grades over the sum of the weights.
SELECT bool_and(abs(c.score - (p.w_skill * c.skill_score + p.w_distance * c.distance_score + p.w_load * c.load_score
                               + p.w_rating * c.rating_score + p.w_continuity * c.continuity_score)
                              / (p.w_skill + p.w_distance + p.w_load + p.w_rating + p.w_continuity)) < 1e-12) AS weighted_sum,
       bool_and(c.score BETWEEN 0 AND 1) AS in_unit_range,
       count(*) = (SELECT count(*) FROM repairsys.technician) AS every_technician
  FROM repairsys.candidates(:t1) c, repairsys.assign_policy p WHERE p.name = 'default';
-- The grades: skill (level - 3) / (5 - 3); distance 1 - km / 50; load 1 - open / capacity.
SELECT te.name, c.skill_score = (ts.level - 3) / 2.0 AS skill_ok,
       abs(c.distance_score - (1 - c.distance_km / 50)) < 1e-12 AS distance_ok,
       abs(c.distance_km - repairsys.haversine_km(te.lat, te.lon, 31.2300, 121.4700)) < 1e-9 AS km_ok,
       c.load_score = 1 - c.open_tickets::float8 / c.capacity AS load_ok
  FROM repairsys.candidates(:t1) c JOIN repairsys.technician te ON te.id = c.technician_id
  JOIN repairsys.technician_skill ts ON ts.technician_id = te.id AND ts.skill = 'as_hvac'
 WHERE te.name IN ('as Ann', 'as Ben', 'as Jon') ORDER BY te.name;

-- Rating: Ben's feedback of 4 and 5 averages 4.5: (4.5 - 1) / 4 = 0.875.
-- Warranty work needs no estimate approval nor payment.
INSERT INTO repairsys.ticket (customer_id, asset_id, service_type, description)
	SELECT pg_temp.cust('as Alice'), a.id, 'as_any', 'as done ' || g FROM repairsys.asset a, generate_series(1, 2) g
	 WHERE a.serial_no = 'as-SN1';
UPDATE repairsys.ticket SET technician_id = pg_temp.tech('as Ben'), status = 'assigned' WHERE description LIKE 'as done %';
UPDATE repairsys.ticket SET status = 'in_progress' WHERE description LIKE 'as done %';
UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = 30 WHERE description LIKE 'as done %';
UPDATE repairsys.ticket SET status = 'closed' WHERE description LIKE 'as done %';
INSERT INTO repairsys.feedback (ticket_id, rating)
	SELECT id, CASE description WHEN 'as done 1' THEN 4 ELSE 5 END FROM repairsys.ticket WHERE description LIKE 'as done %';
-- Continuity: Ben closed the customer's (and the asset's) latest tickets.
SELECT name, rating, cont, open, score FROM pg_temp.show(:t1) WHERE name IN ('as Ann', 'as Ben');

-- auto_assign takes the best eligible technician and moves the ticket.
SELECT repairsys.auto_assign(:t1) = pg_temp.tech('as Ann') AS got_ann;
SELECT status, technician_id = pg_temp.tech('as Ann') AS ann, first_response_at IS NOT NULL AS responded
  FROM repairsys.ticket WHERE id = :t1;
SELECT from_status, to_status, technician_id = pg_temp.tech('as Ann') AS ann
  FROM repairsys.ticket_event WHERE ticket_id = :t1 ORDER BY id;

-- Nobody fits: NULL and a NOTICE; the ticket stays new.
\set VERBOSITY terse
SELECT repairsys.open_ticket(pg_temp.cust('as Alice'), 'as_ac', 'as nobody') AS t2 \gset
UPDATE repairsys.technician SET active = false WHERE name LIKE 'as %';
SELECT repairsys.auto_assign(:t2, 'as_strict') IS NULL AS nobody;
SELECT status, technician_id FROM repairsys.ticket WHERE id = :t2;
UPDATE repairsys.technician SET active = true WHERE name LIKE 'as %' AND name <> 'as Cid';
\set VERBOSITY default

-- Capacity: Fay (1 slot, taken) is never chosen; once Ann is full she is not
-- either.  Jon and Kim tie on skill: the lower id (Jon) goes first.
UPDATE repairsys.assign_policy SET w_skill = 1, w_distance = 0, w_load = 0, w_rating = 0, w_continuity = 0
 WHERE name = 'as_strict';
UPDATE repairsys.technician SET capacity = 2 WHERE name = 'as Ann';
INSERT INTO repairsys.ticket (customer_id, service_type, description)
	SELECT pg_temp.cust('as Alice'), 'as_ac', 'as cap ' || g FROM generate_series(1, 3) g;
SELECT te.name FROM generate_series(1, 3) g
  CROSS JOIN LATERAL (SELECT repairsys.auto_assign(x.id, 'as_strict') AS tid
                        FROM repairsys.ticket x WHERE x.description = 'as cap ' || g) a
  JOIN repairsys.technician te ON te.id = a.tid ORDER BY g;
SELECT name, eligible, reason, open, cap FROM pg_temp.show(:t2, 'as_strict') WHERE name IN ('as Ann', 'as Fay');

-- Errors
SELECT * FROM repairsys.candidates(-1);
SELECT * FROM repairsys.candidates(:t2, 'no such policy');
SELECT * FROM repairsys.candidates(NULL);
SELECT * FROM repairsys.candidates(:t2, NULL);
SELECT repairsys.auto_assign(-1);
SELECT repairsys.auto_assign(:t1);
UPDATE repairsys.ticket SET status = 'cancelled' WHERE description = 'as cap 3';
SELECT * FROM repairsys.candidates((SELECT id FROM repairsys.ticket WHERE description = 'as cap 3'));
SELECT repairsys.haversine_km(90.5, 0, 0, 0);
SELECT repairsys.haversine_km(0, 0, 0, 'NaN');

-- auto_assign_pending: capacity is short (Kim has one slot left, Ben two, Jon
-- none); the emergency ticket goes first, then the nearer response
-- deadline, then the older ticket.  Kim's level 4 scores 0.5, Ben's level 3
-- scores 0 under the skill-only weights: the emergency gets Kim.
UPDATE repairsys.technician SET active = false WHERE name LIKE 'as %' AND name NOT IN ('as Jon', 'as Kim', 'as Ben');
UPDATE repairsys.technician SET capacity = 1 WHERE name IN ('as Jon', 'as Kim');
UPDATE repairsys.technician SET capacity = 2 WHERE name = 'as Ben';
UPDATE repairsys.ticket SET status = 'cancelled' WHERE id = :t2;
INSERT INTO repairsys.ticket (customer_id, service_type, description, urgency)
	SELECT pg_temp.cust('as Alice'), 'as_ac', 'as batch ' || g, CASE WHEN g = 4 THEN 'emergency' ELSE 'normal' END
	  FROM generate_series(1, 5) g;
UPDATE repairsys.ticket SET respond_by = now() + interval '1 hour' WHERE description = 'as batch 5';
UPDATE repairsys.ticket SET respond_by = now() + interval '2 hours' WHERE description = 'as batch 3';
SET client_min_messages = warning;
CREATE TEMP TABLE batch AS SELECT * FROM repairsys.auto_assign_pending('as_strict');
SET client_min_messages = notice;
SELECT x.description, te.name, round(b.score::numeric, 4) AS score
  FROM batch b JOIN repairsys.ticket x ON x.id = b.ticket_id LEFT JOIN repairsys.technician te ON te.id = b.technician_id
 WHERE x.description LIKE 'as batch %';
SELECT x.description, x.status FROM repairsys.ticket x WHERE x.description LIKE 'as batch %' ORDER BY x.id;
-- nobody over capacity
SELECT te.name, repairsys.open_ticket_count(te.id) AS open, te.capacity
  FROM repairsys.technician te WHERE te.name IN ('as Ben', 'as Jon', 'as Kim') ORDER BY te.name;

-- Assignment on opening, when the default policy says so.
UPDATE repairsys.technician SET capacity = 5 WHERE name = 'as Kim';
UPDATE repairsys.assign_policy SET auto_assign_on_open = true WHERE name = 'default';
SELECT repairsys.open_ticket(pg_temp.cust('as Alice'), 'as_ac', 'as on open') AS t3 \gset
SELECT x.status, te.name FROM repairsys.ticket x JOIN repairsys.technician te ON te.id = x.technician_id WHERE x.id = :t3;
SELECT from_status, to_status FROM repairsys.ticket_event WHERE ticket_id = :t3 ORDER BY id;
UPDATE repairsys.assign_policy SET auto_assign_on_open = false WHERE name = 'default';
SELECT repairsys.open_ticket(pg_temp.cust('as Alice'), 'as_ac', 'as not on open') AS t4 \gset
SELECT status, technician_id FROM repairsys.ticket WHERE id = :t4;

-- A policy without the activity rule ranks inactive technicians (Cid is
-- first under as_loose), but automatic assignment never picks one.
SELECT repairsys.open_ticket(pg_temp.cust('as Alice'), 'as_ac', 'as loose') AS t5 \gset
SELECT te.name, c.eligible, te.active FROM repairsys.candidates(:t5, 'as_loose') c
  JOIN repairsys.technician te ON te.id = c.technician_id WHERE te.name LIKE 'as %'
 ORDER BY c.eligible DESC, c.score DESC, c.technician_id LIMIT 1;
WITH a AS MATERIALIZED (SELECT repairsys.auto_assign(:t5, 'as_loose') AS tid)
SELECT te.name, te.active FROM a JOIN repairsys.technician te ON te.id = a.tid;

-- Each technician's open tickets and ratings are kept by trigger
-- (repairsys.technician_load) and equal a recount after every step:
-- assignment, reassignment, cancelling, resolving, feedback given, changed
-- and withdrawn, reopening and moving to another technician, a finished
-- ticket brought back by a transition an administrator added, a ticket
-- imported with its state and deleted.  (In a transaction rolled back.)
BEGIN;
INSERT INTO repairsys.technician (name, capacity) VALUES ('as Lo', 5), ('as Mo', 5);
CREATE FUNCTION pg_temp.load() RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(format('%s: %s open, %s ratings summing to %s', te.name, coalesce(l.open_tickets, 0),
	                         coalesce(l.rating_count, 0), coalesce(l.rating_sum, 0)), '; ' ORDER BY te.name)
	       || CASE WHEN (SELECT count(*) FROM repairsys.check_invariants() c
	                      WHERE c.invariant = 'technician load equals a recount') = 0
	               THEN ' (= recount)' ELSE ' (DIFFERS FROM A RECOUNT)' END
	  FROM repairsys.technician te LEFT JOIN repairsys.technician_load l ON l.technician_id = te.id
	 WHERE te.name IN ('as Lo', 'as Mo') $$;
SELECT repairsys.open_ticket(pg_temp.cust('as Alice'), 'as_ac', 'as load 1') AS l1 \gset
SELECT repairsys.open_ticket(pg_temp.cust('as Alice'), 'as_ac', 'as load 2') AS l2 \gset
UPDATE repairsys.ticket SET status = 'assigned', technician_id = (SELECT id FROM repairsys.technician WHERE name = 'as Lo')
 WHERE id IN (:l1, :l2);
SELECT 'both assigned to Lo' AS step, pg_temp.load();
UPDATE repairsys.ticket SET technician_id = (SELECT id FROM repairsys.technician WHERE name = 'as Mo') WHERE id = :l1;
SELECT 'one moved to Mo' AS step, pg_temp.load();
SELECT repairsys.set_status(:l1, 'cancelled') IS NOT NULL AS cancelled, pg_temp.load();
UPDATE repairsys.ticket SET estimate_approved_at = now() WHERE id = :l2;
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = :l2;
UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = 30 WHERE id = :l2;
SELECT 'resolved (still open)' AS step, pg_temp.load();
INSERT INTO repairsys.feedback (ticket_id, rating) VALUES (:l2, 4);
SELECT 'rated 4' AS step, pg_temp.load();
UPDATE repairsys.feedback SET rating = 2 WHERE ticket_id = :l2;
SELECT 'rating changed to 2' AS step, pg_temp.load();
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = :l2;
UPDATE repairsys.ticket SET technician_id = (SELECT id FROM repairsys.technician WHERE name = 'as Mo') WHERE id = :l2;
SELECT 'reopened, moved to Mo with its rating' AS step, pg_temp.load();
DELETE FROM repairsys.feedback WHERE ticket_id = :l2;
SELECT 'feedback withdrawn' AS step, pg_temp.load();
INSERT INTO repairsys.ticket_transition (from_status, to_status) VALUES ('cancelled', 'assigned');
UPDATE repairsys.ticket SET status = 'assigned' WHERE id = :l1;
SELECT status, closed_at IS NULL AS open_again, pg_temp.load() FROM repairsys.ticket WHERE id = :l1;
INSERT INTO repairsys.ticket (customer_id, service_type, status, technician_id, opened_at, status_changed_at)
SELECT pg_temp.cust('as Alice'), 'as_ac', 'resolved', id, now(), now() - interval '1 hour'
  FROM repairsys.technician WHERE name = 'as Lo' RETURNING id AS l3 \gset
INSERT INTO repairsys.feedback (ticket_id, rating) VALUES (:l3, 5);
SELECT 'imported with its state, rated 5' AS step, pg_temp.load();
DELETE FROM repairsys.ticket WHERE id = :l3;
SELECT 'imported ticket deleted (its feedback with it)' AS step, pg_temp.load();
-- what candidates() shows is the kept load
SELECT te.name, c.open_tickets, c.load, c.rating_score
  FROM repairsys.candidates(:l2) c JOIN repairsys.technician te ON te.id = c.technician_id
 WHERE te.name IN ('as Lo', 'as Mo') ORDER BY te.name;
ROLLBACK;

-- Many technicians (10,000, more than any buffer's first size): candidates(), which
-- reads the tables itself, equals the kernel fed the same data as arrays,
-- row for row.  (In a transaction rolled back.)
BEGIN;
INSERT INTO repairsys.technician (name, lat, lon, capacity, active)
SELECT 'as many ' || g, 31.2 + (g % 97) / 300.0, 121.4 + (g % 89) / 300.0, g % 6, g % 10 <> 0
  FROM generate_series(1, 10000) g;
INSERT INTO repairsys.technician_skill (technician_id, skill, level)
SELECT id, 'as_hvac', 1 + id % 5 FROM repairsys.technician WHERE name LIKE 'as many %' AND id % 3 <> 0;
SELECT repairsys.open_ticket(pg_temp.cust('as Alice'), 'as_ac', 'as many') AS m1 \gset
WITH t AS (SELECT x.*, st.required_skill, st.min_skill_level FROM repairsys.ticket x
             JOIN repairsys.service_type st ON st.code = x.service_type WHERE x.id = :m1),
     i AS (SELECT array_agg(te.id ORDER BY te.id) AS ids, array_agg(te.active ORDER BY te.id) AS active,
                  array_agg(te.service_center_id ORDER BY te.id) AS center, array_agg(te.lat ORDER BY te.id) AS lat,
                  array_agg(te.lon ORDER BY te.id) AS lon, array_agg(te.capacity ORDER BY te.id) AS cap,
                  array_agg(coalesce(l.open_tickets, 0) ORDER BY te.id) AS open,
                  array_agg(l.rating_sum::float8 / NULLIF(l.rating_count, 0) ORDER BY te.id) AS rating,
                  array_agg(sk.level ORDER BY te.id) AS level
             FROM repairsys.technician te
             LEFT JOIN repairsys.technician_load l ON l.technician_id = te.id
             LEFT JOIN repairsys.technician_skill sk ON sk.technician_id = te.id AND sk.skill = (SELECT required_skill FROM t)),
     c AS (SELECT row_number() OVER () AS n, * FROM repairsys.candidates(:m1)),
     k AS (SELECT row_number() OVER () AS n, k.*
             FROM t, i, LATERAL repairsys.score_candidates(repairsys.assign_policy_row('default'), t.lat, t.lon,
                        t.service_center_id, t.required_skill, t.min_skill_level, repairsys.continuity_technicians((SELECT x FROM repairsys.ticket x WHERE x.id = :m1)),
                        i.ids, i.active, i.center, i.lat, i.lon, i.cap, i.open, i.rating, i.level) k)
SELECT count(*) AS rows, count(*) FILTER (WHERE (c.*)::text = (k.*)::text) AS equal_rows,
       count(*) FILTER (WHERE c.eligible) AS eligible
  FROM c JOIN k USING (n);
ROLLBACK;

-- Put the id sequences back.
SELECT bool_and(CASE WHEN last_value IS NULL THEN setval(seq, start_value, false)
                     ELSE setval(seq, last_value, true) END IS NOT NULL) AS ids_back
  FROM as_seq;
