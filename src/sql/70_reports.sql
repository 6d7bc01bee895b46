-- Customers, feedback and the cost-benefit of service (docs/reports.md):
-- feedback rules, follow-ups (回访), the cost of each ticket
-- and the service-benefit report.

------------------------------------------------------------------------------
-- Feedback: once per ticket, only after resolution; a complaint is followed up
------------------------------------------------------------------------------
CREATE INDEX feedback_at_idx ON repairsys.feedback (at);

INSERT INTO repairsys.setting (name, value, description, dump, type) VALUES
	('complaint_follow_up_within', '1 day', 'A complaint is followed up by the service center within this interval', false, 'interval');

-- BEFORE INSERT OR UPDATE on feedback: only for resolved or closed tickets.
CREATE FUNCTION repairsys.feedback_check_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	st text;
BEGIN
	SELECT t.status INTO st FROM repairsys.ticket t WHERE t.id = NEW.ticket_id AND t.status_role NOT IN ('resolved', 'closed');
	IF st IS NOT NULL THEN
		RAISE EXCEPTION 'cannot rate ticket % in status "%"', NEW.ticket_id, st
			USING ERRCODE = '23514', DETAIL = 'Feedback is given once the ticket is resolved.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.feedback_check_trg() IS 'BEFORE INSERT OR UPDATE trigger of feedback: refuses feedback before the ticket is resolved (23514)';
CREATE TRIGGER feedback_10_check BEFORE INSERT OR UPDATE ON repairsys.feedback
	FOR EACH ROW EXECUTE FUNCTION repairsys.feedback_check_trg();

-- AFTER INSERT OR UPDATE on feedback: a complaint opens a follow-up for the center.
-- Feedback inserted with a time of its own (at is not now) is restored or
-- migrated, and brings its follow-up with it: pg_restore loads follow_up after
-- feedback, and a follow-up made here again would take the key of the dumped
-- one (the COPY of follow_up would then fail whole: 27 of 194 follow-ups of a
-- demo company survived).  Only the owner and repairsys_admin may write
-- feedback.at, and both may write follow_up directly; a customer's feedback is
-- always given now and always opens its follow-up.  (The test:
-- test/t/dump-restore.sh.)
CREATE FUNCTION repairsys.feedback_complaint_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'INSERT' AND NEW.at IS DISTINCT FROM pg_catalog.now() THEN
		RETURN NULL;		-- restore or migration: the follow-up is in the data
	END IF;
	IF NEW.complaint AND (TG_OP = 'INSERT' OR NOT OLD.complaint) THEN
		INSERT INTO repairsys.follow_up (ticket_id, service_center_id, reason, due_at)
		SELECT t.id, t.service_center_id, 'complaint', pg_catalog.now() + repairsys.setting_value('complaint_follow_up_within')::interval
		  FROM repairsys.ticket t WHERE t.id = NEW.ticket_id
		ON CONFLICT (ticket_id, reason) DO NOTHING;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.feedback_complaint_trg() IS 'AFTER trigger of feedback: a complaint opens a follow-up for the ticket''s service center (not for feedback inserted with a past time: restored or migrated, it brings its follow-up)';
CREATE TRIGGER feedback_20_complaint AFTER INSERT OR UPDATE ON repairsys.feedback
	FOR EACH ROW EXECUTE FUNCTION repairsys.feedback_complaint_trg();

-- AFTER UPDATE OF status on ticket: a closed ticket gets its follow-up call.
CREATE FUNCTION repairsys.ticket_follow_up_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO repairsys.follow_up (ticket_id, service_center_id, reason, due_at)
	VALUES (NEW.id, NEW.service_center_id, 'after_closure',
	        coalesce(NEW.closed_at, pg_catalog.now()) + pg_catalog.make_interval(days => repairsys.setting_value('follow_up_days')::integer))
	ON CONFLICT (ticket_id, reason) DO NOTHING;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_follow_up_trg() IS 'AFTER UPDATE trigger of ticket: a ticket entering a closed-role state gets a follow-up call due follow_up_days later';

CREATE FUNCTION repairsys.complete_follow_up(follow_up_id bigint, outcome text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	f repairsys.follow_up;
BEGIN
	SELECT * INTO f FROM repairsys.follow_up x WHERE x.id = follow_up_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'follow-up % does not exist', follow_up_id USING ERRCODE = '22023';
	END IF;
	IF f.done_at IS NOT NULL THEN
		RAISE EXCEPTION 'follow-up % was already done', follow_up_id USING ERRCODE = '23514';
	END IF;
	IF outcome IS NULL OR outcome = '' THEN
		RAISE EXCEPTION 'a follow-up needs an outcome' USING ERRCODE = '22023';
	END IF;
	UPDATE repairsys.follow_up x SET done_at = pg_catalog.now(), outcome = complete_follow_up.outcome WHERE x.id = f.id;
END
$$;
COMMENT ON FUNCTION repairsys.complete_follow_up(bigint, text) IS 'Records that a follow-up call was made and what came of it';

CREATE VIEW repairsys.follow_up_due AS
SELECT f.id AS follow_up_id, f.ticket_id, f.service_center_id, f.reason, f.due_at,
       f.due_at < pg_catalog.now() AS overdue,
       c.name AS customer_name, c.phone AS customer_phone,
       fb.rating, fb.comment
  FROM repairsys.follow_up f
  JOIN repairsys.ticket t ON t.id = f.ticket_id
  JOIN repairsys.customer c ON c.id = t.customer_id
  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = f.ticket_id
 WHERE f.done_at IS NULL;
COMMENT ON VIEW repairsys.follow_up_due IS 'Open follow-up calls (回访), with the customer to call';
COMMENT ON COLUMN repairsys.follow_up_due.follow_up_id IS 'Follow-up id (for complete_follow_up)';
COMMENT ON COLUMN repairsys.follow_up_due.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.follow_up_due.service_center_id IS 'Service center that owes the call';
COMMENT ON COLUMN repairsys.follow_up_due.reason IS 'after_closure or complaint';
COMMENT ON COLUMN repairsys.follow_up_due.due_at IS 'When the call is due';
COMMENT ON COLUMN repairsys.follow_up_due.overdue IS 'True when the due time has passed';
COMMENT ON COLUMN repairsys.follow_up_due.customer_name IS 'Customer to call';
COMMENT ON COLUMN repairsys.follow_up_due.customer_phone IS 'Phone number to call';
COMMENT ON COLUMN repairsys.follow_up_due.rating IS 'Rating the customer gave (NULL: none yet)';
COMMENT ON COLUMN repairsys.follow_up_due.comment IS 'The customer''s comment';

------------------------------------------------------------------------------
-- Cost and benefit: the views ticket_cost and service_benefit are in
-- 72_cost.sql, with the overheads allocated to the tickets that they include
------------------------------------------------------------------------------

------------------------------------------------------------------------------
-- Technician performance and customer profiles
------------------------------------------------------------------------------
INSERT INTO repairsys.setting (name, value, description, dump, type, min_value) VALUES
	('technician_available_hours_30d', '176', 'Working hours a technician has in 30 days (22 days x 8 h); the denominator of technician_performance.utilization', false, 'number', 0),
	('segment_high_value_total', '10000.00', 'customer_profile: a customer whose purchase_total + total_spent reaches this amount is high_value', false, 'number', 0),
	('segment_frequent_repairs', '3', 'customer_profile: a customer with at least this many repair tickets opened within segment_frequent_window is frequent_repair', false, 'integer', 0),
	('segment_frequent_window', '365 days', 'customer_profile: the look-back interval of segment_frequent_repairs', false, 'interval', NULL),
	('segment_at_risk_rating', '3.0', 'customer_profile: a customer whose average rating is below this value is at_risk', false, 'number', 0),
	('segment_at_risk_window', '180 days', 'customer_profile: a customer who filed a complaint within this interval is at_risk', false, 'interval', NULL);

-- Access paths: the tickets a technician resolved recently (utilization) and
-- the other tickets on the same asset and service type (rework), with their
-- closing time, role and id, so that ticket_coverage()'s search for the
-- earlier ticket of a repeat repair reads the index alone (31_guards.sql).
CREATE INDEX ticket_technician_resolved_idx ON repairsys.ticket (technician_id, resolved_at) WHERE technician_id IS NOT NULL;
CREATE INDEX ticket_asset_type_idx ON repairsys.ticket (asset_id, service_type, opened_at) INCLUDE (closed_at, status_role, id)
	WHERE asset_id IS NOT NULL;

-- technician_performance reads the roll-up (ticket_fact, 71_rollups.sql)
-- through its index on the technician: each ticket's first-time fix and
-- business hours of resolution are kept there by the writing transaction
-- (and by the triggers of what they depend on: the unit's later tickets,
-- rework_window, the centers' holidays and make-up days), so a read sums
-- the technician's rows with no per-ticket subquery or calendar walk.  The
-- last-30-days figures depend on now() and are summed when read, from the
-- same rows (docs/reports.md).
CREATE VIEW repairsys.technician_performance AS
SELECT tech.id AS technician_id,
       tech.name,
       tech.service_center_id,
       coalesce(s.tickets, 0)::integer AS tickets,
       coalesce(s.resolved, 0)::integer AS resolved,
       round(s.first_fixes::numeric / nullif(s.resolved, 0), 4) AS first_time_fix_rate,
       round((s.resolved - s.first_fixes)::numeric / nullif(s.resolved, 0), 4) AS rework_rate,
       round(s.business_hours, 2) AS mean_resolution_business_hours,
       round(100.0 * s.sla_met / nullif(s.sla_measured, 0), 1) AS sla_met_pct,
       round(s.avg_rating, 2) AS avg_rating,
       coalesce(s.labor_minutes_30d, 0)::numeric(12,2) AS labor_minutes_30d,
       round(coalesce(s.labor_minutes_30d, 0)
             / nullif(repairsys.setting_value('technician_available_hours_30d')::numeric * 60, 0), 4) AS utilization
  FROM repairsys.technician tech
  LEFT JOIN LATERAL (
	SELECT count(*) AS tickets,
	       count(*) FILTER (WHERE f.resolved_at IS NOT NULL) AS resolved,
	       count(*) FILTER (WHERE f.first_fix) AS first_fixes,
	       avg(f.resolution_hours) FILTER (WHERE f.resolved_at IS NOT NULL)::numeric AS business_hours,
	       count(*) FILTER (WHERE f.resolved_at <= f.resolve_by) AS sla_met,
	       count(*) FILTER (WHERE f.resolved_at IS NOT NULL AND f.resolve_by IS NOT NULL) AS sla_measured,
	       avg(f.rating) AS avg_rating,
	       sum(f.labor_minutes) FILTER (WHERE f.resolved_at >= now() - interval '30 days') AS labor_minutes_30d
	  FROM repairsys.ticket_fact f
	 WHERE f.technician_id = tech.id AND f.counted
  ) s ON true;
COMMENT ON VIEW repairsys.technician_performance IS 'Per technician: volume, first-time fix and rework rates, resolution time in business hours, SLA met, rating and utilization (docs/reports.md)';
COMMENT ON COLUMN repairsys.technician_performance.technician_id IS 'Technician';
COMMENT ON COLUMN repairsys.technician_performance.name IS 'Technician name';
COMMENT ON COLUMN repairsys.technician_performance.service_center_id IS 'Service center of the technician';
COMMENT ON COLUMN repairsys.technician_performance.tickets IS 'Tickets assigned to the technician (cancelled ones left out)';
COMMENT ON COLUMN repairsys.technician_performance.resolved IS 'Of these, tickets resolved (resolved_at set)';
COMMENT ON COLUMN repairsys.technician_performance.first_time_fix_rate IS 'Share (0..1) of resolved tickets never reopened and with no later ticket on the same asset and service type opened within rework_window after resolution (NULL: none resolved)';
COMMENT ON COLUMN repairsys.technician_performance.rework_rate IS '1 - first_time_fix_rate: share of resolved tickets reopened or repaired again within rework_window (NULL: none resolved)';
COMMENT ON COLUMN repairsys.technician_performance.mean_resolution_business_hours IS 'Mean hours from opening to resolution, in the business hours of the ticket''s resolve calendar (sla_elapsed with the center''s holidays and make-up working days) when it has an SLA, else wall-clock hours';
COMMENT ON COLUMN repairsys.technician_performance.sla_met_pct IS 'Percent of resolved tickets with a deadline resolved by resolve_by (NULL: none)';
COMMENT ON COLUMN repairsys.technician_performance.avg_rating IS 'Average customer rating (1..5) of the technician''s tickets (NULL: none rated)';
COMMENT ON COLUMN repairsys.technician_performance.labor_minutes_30d IS 'Labor minutes of the technician''s tickets resolved in the last 30 days';
COMMENT ON COLUMN repairsys.technician_performance.utilization IS 'labor_minutes_30d / (setting technician_available_hours_30d x 60): share of the available working time of the last 30 days spent on recorded labor';

-- Reads one roll-up row per customer (customer_rollup,
-- 27c_tables_customer_rollup.sql) for the figures of the whole history and
-- for the segment: a complaint within segment_at_risk_window is the row's
-- latest complaint compared with now(), and segment_frequent_repairs tickets
-- within segment_frequent_window the row's n-th latest opening compared with
-- now() (the row keeps customer_recent_depth() of them; a larger setting
-- counts the customer's tickets, customer_recent_tickets()).  The churn risk
-- as of now() is computed by the functions of 69_customer_profile_reads.sql
-- through ticket_customer_idx (churn_risk() itself for a customer whose
-- history has rows later than now()) (docs/reports.md "Customer profile").
CREATE VIEW repairsys.customer_profile AS
SELECT c.id AS customer_id,
       c.name,
       c.phone,
       c.service_center_id,
       coalesce(r.assets, 0)::integer AS assets,
       coalesce(r.purchase_total, 0)::numeric(14,2) AS purchase_total,
       coalesce(r.tickets, 0)::integer AS tickets,
       coalesce(r.repairs, 0)::integer AS repairs,
       coalesce(r.total_spent, 0)::numeric(14,2) AS total_spent,
       round(k.avg_rating, 2) AS avg_rating,
       coalesce(r.complaints, 0)::integer AS complaints,
       r.last_ticket_at,
       CASE WHEN r.last_complaint_at >= s.now - s.at_risk_window
                 OR k.avg_rating < s.at_risk_rating THEN 'at_risk'
            WHEN coalesce(r.purchase_total, 0) + coalesce(r.total_spent, 0) >= s.high_value_total THEN 'high_value'
            WHEN s.frequent_repairs <= 0
                 OR (r.last_ticket_at >= s.now - s.frequent_window
                     AND CASE WHEN s.frequent_repairs <= repairsys.customer_recent_depth()
                              THEN r.recent_opened[s.frequent_repairs] >= s.now - s.frequent_window
                              ELSE repairsys.customer_recent_tickets(c.id, s.now - s.frequent_window, true) >= s.frequent_repairs END)
                 THEN 'frequent_repair'
            ELSE 'regular' END AS segment,
       round(CASE WHEN m.id IS NULL OR coalesce(r.tickets, 0) = 0 THEN NULL
                  WHEN r.history_until > s.now THEN repairsys.churn_risk(c.id, s.now)
                  ELSE repairsys.customer_churn_risk(c.id, s.now, r.last_ticket_at, r.tickets - r.repairs, k.avg_rating,
                                                     r.complaints, s.frequent_window, s.rework_window) END::numeric, 4) AS churn_risk
  FROM repairsys.customer c
  -- (one probe of the roll-up's key per customer, whatever the planner's
  -- estimate: a plain join let it hash the whole roll-up, every customer
  -- of the company, for one center's page; OFFSET 0 keeps the subquery
  -- apart, docs/performance.md "customer_profile")
  LEFT JOIN LATERAL (SELECT x.* FROM repairsys.customer_rollup x WHERE x.customer_id = c.id OFFSET 0) r ON true
 CROSS JOIN LATERAL (SELECT r.rating_sum::numeric / nullif(r.rating_count, 0) AS avg_rating) k
 CROSS JOIN (SELECT now() AS now,
                    repairsys.setting_value('segment_at_risk_window')::interval AS at_risk_window,
                    repairsys.setting_value('segment_at_risk_rating')::numeric AS at_risk_rating,
                    repairsys.setting_value('segment_high_value_total')::numeric AS high_value_total,
                    repairsys.setting_value('segment_frequent_window')::interval AS frequent_window,
                    repairsys.setting_value('segment_frequent_repairs')::integer AS frequent_repairs,
                    repairsys.setting_value('rework_window')::interval AS rework_window
             -- (OFFSET 0: the settings are read once, not once per customer)
             OFFSET 0) s
  LEFT JOIN repairsys.churn_model m ON m.id;
COMMENT ON VIEW repairsys.customer_profile IS 'Customer archive (客户档案) with purchase and repair history, spending, satisfaction and a segment (thresholds: settings segment_*, docs/reports.md)';
COMMENT ON COLUMN repairsys.customer_profile.customer_id IS 'Customer';
COMMENT ON COLUMN repairsys.customer_profile.name IS 'Customer name';
COMMENT ON COLUMN repairsys.customer_profile.phone IS 'Phone number';
COMMENT ON COLUMN repairsys.customer_profile.service_center_id IS 'Home service center';
COMMENT ON COLUMN repairsys.customer_profile.assets IS 'Units the customer bought (asset rows)';
COMMENT ON COLUMN repairsys.customer_profile.purchase_total IS 'Sum of the assets'' purchase prices';
COMMENT ON COLUMN repairsys.customer_profile.tickets IS 'Tickets opened (cancelled ones left out)';
COMMENT ON COLUMN repairsys.customer_profile.repairs IS 'Of these, tickets resolved';
COMMENT ON COLUMN repairsys.customer_profile.total_spent IS 'Payments received on the invoices of the customer''s tickets';
COMMENT ON COLUMN repairsys.customer_profile.avg_rating IS 'Average rating the customer gave (NULL: never rated)';
COMMENT ON COLUMN repairsys.customer_profile.complaints IS 'Feedback rows flagged as complaints';
COMMENT ON COLUMN repairsys.customer_profile.last_ticket_at IS 'When the customer''s latest ticket was opened (NULL: none)';
COMMENT ON COLUMN repairsys.customer_profile.segment IS 'First that applies: at_risk (a complaint within segment_at_risk_window, or avg_rating below segment_at_risk_rating), high_value (purchase_total + total_spent >= segment_high_value_total), frequent_repair (at least segment_frequent_repairs tickets opened within segment_frequent_window), regular';
COMMENT ON COLUMN repairsys.customer_profile.churn_risk IS 'Probability (0..1, 4 places) that the customer opens no ticket within the churn model''s horizon, from the logistic regression refit_churn_model() fitted on the customers'' history (NULL: no model yet, or no ticket)';

------------------------------------------------------------------------------
-- Demo data generator
------------------------------------------------------------------------------
-- repairsys.demo_catalog(): the catalog rows every demo load shares (service
-- types demo_*, their SLA policies, parts DEMO-*), made when missing; returns
-- how many rows it wrote (0 when all were there).  demo_load() calls it
-- first.  Two loads that start side by side on a database without them
-- would both insert them, and the second would wait on the unique keys for
-- the first one's whole transaction: call it alone first, in a transaction
-- of its own (test/bench/scale.sh does, docs/reports.md "Demo data at
-- scale").
CREATE FUNCTION repairsys.demo_catalog()
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	n       integer;
	written integer := 0;
BEGIN
	INSERT INTO repairsys.service_type (code, name, required_skill, min_skill_level, labor_fee, travel_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('demo_ac_repair', 'Air conditioner repair (demo)', 'hvac', 3, 'base=20, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80', '0-10:0, 10+:2.50', 50.00, 45, 150),
	       ('demo_washer_repair', 'Washing machine repair (demo)', 'appliance', 2, '0-30:2.50, 30-90:2.00, 90+:1.60, min=60', '0-15:0, 15+:2.00', 30.00, 30, 90),
	       ('demo_tv_repair', 'Television repair (demo)', 'electronics', 3, '0-60:3.00, 60+:2.20', '0-15:0, 15+:2.00', 40.00, 40, 120),
	       ('demo_fridge_repair', 'Refrigerator repair (demo)', 'appliance', 3, 'base=30, 0-90:2.20, 90+:1.80', '0-10:0, 10+:2.20', 40.00, 60, 180),
	       ('demo_phone_screen', 'Phone screen replacement (demo)', 'electronics', 2, '0+:1.50, volume, min=30', NULL, 0.00, 20, 40)
	ON CONFLICT (code) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	written := written + n;
	INSERT INTO repairsys.sla_policy (service_type, urgency, respond_within, resolve_within)
	SELECT s.code, u.urgency, u.respond::repairsys.sla_interval, u.resolve::repairsys.sla_interval
	  FROM pg_catalog.unnest(ARRAY['demo_ac_repair', 'demo_washer_repair', 'demo_tv_repair', 'demo_fridge_repair', 'demo_phone_screen']) AS s(code)
	 CROSS JOIN (VALUES ('normal', '4h in mon-sun 08:00-20:00 Asia/Shanghai', '36h in mon-sun 08:00-20:00 Asia/Shanghai'),
	                    ('urgent', '2h in mon-sun 08:00-20:00 Asia/Shanghai', '12h in mon-sun 08:00-20:00 Asia/Shanghai'),
	                    ('emergency', '1h', '8h')) AS u(urgency, respond, resolve)
	ON CONFLICT (service_type, urgency) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	written := written + n;
	INSERT INTO repairsys.part (sku, name, unit_cost, unit_price, lead_time_days, min_stock)
	VALUES ('DEMO-CAP', 'Compressor capacitor (demo)', 12.00, 35.00, 5, 6),
	       ('DEMO-PUMP', 'Washer drain pump (demo)', 45.00, 120.00, 10, 3),
	       ('DEMO-BOARD', 'TV main board (demo)', 260.00, 680.00, 14, 2),
	       ('DEMO-SCREEN', 'Phone screen (demo)', 180.00, 420.00, 7, 4)
	ON CONFLICT (sku) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	written := written + n;
	RETURN written;
END
$$;
COMMENT ON FUNCTION repairsys.demo_catalog() IS 'The catalog rows every demo load shares (service types demo_*, their SLA policies, parts DEMO-*), made when missing: returns the rows written; demo_load calls it first, loads run side by side call it alone before (docs/reports.md)';

-- repairsys.demo_load(tickets, seed, months DEFAULT 1) builds a demo company.
-- Up to 2,000 tickets over one month (the default) it builds a small company
-- (3 centers, 4 technicians each, 5 service types with fee_tier schedules and
-- an SLA policy per urgency, 3 parts in stock) and moves `tickets` tickets
-- through the life cycle with the real functions (approve_estimate,
-- reserve_part, issue_invoice, record_payment, the status triggers).
-- Reproducible: setseed() from `seed`, and the data depends on nothing else
-- but now() (the transaction's start).  Resolutions are stamped now() by the
-- life cycle, so tickets are opened 1 to 96 hours back; repeat visits
-- (rework) are opened at clock_timestamp(), after the repair they repeat, and
-- stay unresolved.  More tickets, or more months, take the set-based path,
-- demo_load_bulk() below (docs/reports.md).  Catalog rows (service types
-- demo_*, parts DEMO-*) are shared by every load; centers, people and tickets
-- are new.
CREATE FUNCTION repairsys.demo_load(tickets integer, seed integer, months integer DEFAULT 1)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	centers  bigint[] := '{}'::bigint[];
	techs    bigint[] := '{}'::bigint[];
	custs    bigint[] := '{}'::bigint[];
	types    text[] := ARRAY['demo_ac_repair', 'demo_washer_repair', 'demo_tv_repair', 'demo_fridge_repair', 'demo_phone_screen'];
	models   text[] := ARRAY['Gree KFR-35', 'Haier XQG100', 'Hisense 65E7', 'Midea BCD-520', 'Huawei P60'];
	prices   numeric[] := ARRAY[3299.00, 2599.00, 4999.00, 5899.00, 4488.00];
	skus     text[] := ARRAY['DEMO-CAP', 'DEMO-PUMP', 'DEMO-BOARD', 'DEMO-SCREEN'];
	tag      text;
	n_cust   integer;
	c        bigint;
	r        float8;
	draw     float8;
	cust     bigint;
	ast      repairsys.asset;
	st       repairsys.service_type;
	tid      bigint;
	tech     bigint;
	inv      bigint;
	bill_total numeric;
	part_sku text;
	stars    integer;
	last_tid bigint;
BEGIN
	IF tickets IS NULL OR tickets < 0 THEN
		RAISE EXCEPTION 'number of tickets must be zero or positive' USING ERRCODE = '22023';
	END IF;
	IF tickets > 100000000 THEN
		RAISE EXCEPTION 'cannot load more than 100000000 tickets at once' USING ERRCODE = '54000',
			DETAIL = pg_catalog.format('%s tickets were asked for.', tickets);
	END IF;
	IF months IS NULL OR months < 1 OR months > 600 THEN
		RAISE EXCEPTION 'number of months must be between 1 and 600' USING ERRCODE = '22023',
			DETAIL = pg_catalog.format('%s months were asked for.', coalesce(months::text, 'NULL'));
	END IF;
	IF seed IS NULL THEN
		RAISE EXCEPTION 'seed must not be null' USING ERRCODE = '22023';
	END IF;
	PERFORM pg_catalog.setseed(pg_catalog.sin(seed::float8));
	tag := 'D' || seed || '-' || (SELECT count(*) FROM repairsys.service_center);

	-- the catalog, shared by every load
	PERFORM repairsys.demo_catalog();
	IF tickets > 2000 OR months > 1 THEN
		RETURN repairsys.demo_load_bulk(tickets, seed, months, tag);
	END IF;

	-- three centers, four technicians each, stock at every center
	FOR k IN 1..3 LOOP
		INSERT INTO repairsys.service_center (name, lat, lon, time_zone)
		VALUES (pg_catalog.format('%s %s', tag, (ARRAY['Shanghai Pudong', 'Shanghai Minhang', 'Suzhou SIP'])[k]),
		        (ARRAY[31.2304, 31.1120, 31.3150])[k], (ARRAY[121.5050, 121.3815, 120.6690])[k], 'Asia/Shanghai')
		RETURNING id INTO c;
		centers := centers || c;
		FOR i IN 1..4 LOOP
			INSERT INTO repairsys.technician (name, service_center_id, lat, lon, capacity, hourly_cost)
			VALUES (pg_catalog.format('%s tech %s-%s', tag, k, i), c, 31.2 + pg_catalog.random() * 0.1, 121.4 + pg_catalog.random() * 0.1,
			        10, 60 + (pg_catalog.random() * 40)::integer)
			RETURNING id INTO tech;
			techs := techs || tech;
			INSERT INTO repairsys.technician_skill (technician_id, skill, level)
			SELECT tech, s.skill, 2 + (pg_catalog.random() * 3)::integer
			  FROM pg_catalog.unnest(ARRAY['hvac', 'appliance', 'electronics']) WITH ORDINALITY AS s(skill, o)
			 WHERE s.o <> 1 + (i % 3) OR i = 4;
		END LOOP;
		FOREACH part_sku IN ARRAY skus LOOP
			PERFORM repairsys.receive_part(part_sku, c, 10 + (pg_catalog.random() * 30)::integer,
			                               (SELECT p.unit_cost FROM repairsys.part p WHERE p.sku = part_sku));
		END LOOP;
	END LOOP;

	-- customers with one to three assets; a few buy expensive units
	n_cust := greatest(10, tickets / 3);
	FOR i IN 1..n_cust LOOP
		INSERT INTO repairsys.customer (name, phone, service_center_id, lat, lon)
		VALUES (pg_catalog.format('%s customer %s', tag, i), '138' || pg_catalog.lpad((seed::bigint * 100000 + i)::text, 8, '0'),
		        centers[1 + (i % 3)], 31.1 + pg_catalog.random() * 0.25, 120.7 + pg_catalog.random() * 0.8)
		RETURNING id INTO cust;
		custs := custs || cust;
		FOR k IN 1..1 + (pg_catalog.random() < 0.3)::integer + (pg_catalog.random() < 0.1)::integer LOOP
			r := pg_catalog.random();
			INSERT INTO repairsys.asset (customer_id, model, serial_no, purchased_at, purchase_price, warranty_until)
			SELECT cust, models[m], pg_catalog.format('%s-%s-%s', tag, i, k), d,
			       CASE WHEN r < 0.08 THEN prices[m] * 4 ELSE prices[m] END, d + 365
			  FROM (SELECT 1 + floor(pg_catalog.random() * 5)::integer AS m,
			               CURRENT_DATE - (30 + (pg_catalog.random() * 900)::integer) AS d) x;
		END LOOP;
	END LOOP;

	-- tickets: a quarter of them come from the first tenth of the customers (regulars)
	FOR i IN 1..tickets LOOP
		IF pg_catalog.random() < 0.25 THEN
			cust := custs[1 + floor(pg_catalog.random() * greatest(1, n_cust / 10))::integer];	-- the regulars
		ELSE
			cust := custs[1 + floor(pg_catalog.random() * n_cust)::integer];
		END IF;
		r := pg_catalog.random();
		IF r < 0.08 AND last_tid IS NOT NULL
		   AND (SELECT x.resolved_at IS NOT NULL AND x.asset_id IS NOT NULL FROM repairsys.ticket x WHERE x.id = last_tid) THEN
			-- a repeat visit for the last repair: opened after it, left open (rework)
			INSERT INTO repairsys.ticket (customer_id, asset_id, service_type, description, opened_at)
			SELECT x.customer_id, x.asset_id, x.service_type, 'Demo: the fault came back', pg_catalog.clock_timestamp()
			  FROM repairsys.ticket x WHERE x.id = last_tid
			RETURNING id INTO tid;
			last_tid := NULL;
			CONTINUE;
		END IF;
		SELECT * INTO ast FROM repairsys.asset a WHERE a.customer_id = cust ORDER BY a.id
		 OFFSET floor(pg_catalog.random() * (SELECT count(*) FROM repairsys.asset a2 WHERE a2.customer_id = cust)) LIMIT 1;
		SELECT * INTO st FROM repairsys.service_type s WHERE s.code = types[pg_catalog.array_position(models, ast.model)];
		INSERT INTO repairsys.ticket (customer_id, asset_id, service_type, complexity, urgency, channel, description, opened_at)
		VALUES (cust, ast.id, st.code, 1 + (pg_catalog.random() * 3)::integer,
		        (ARRAY['normal', 'normal', 'normal', 'normal', 'urgent', 'urgent', 'emergency'])[1 + (pg_catalog.random() * 6)::integer],
		        (ARRAY['phone', 'web', 'app', 'mini_program', 'walk_in'])[1 + (pg_catalog.random() * 4)::integer],
		        pg_catalog.format('Demo request %s', i),
		        pg_catalog.now() - pg_catalog.make_interval(mins => 60 + (pg_catalog.random() * 95 * 60)::integer))
		RETURNING id INTO tid;
		r := pg_catalog.random();
		IF r < 0.06 THEN
			CONTINUE;					-- still new
		ELSIF r < 0.10 THEN
			UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'cancelled') WHERE x.id = tid;
			CONTINUE;
		END IF;
		-- a qualified technician with room (capacity), of the ticket's center when there is one;
		-- the draw is made once and the candidates are ordered by a hash of it and their
		-- place in techs, not by random() per row: that would hand the values out in the
		-- order the plan happens to read the rows in (it changes when autovacuum analyzes
		-- the tables), and the same seed would not always give the same data
		draw := pg_catalog.random();
		SELECT ts.technician_id INTO tech
		  FROM repairsys.technician_skill ts JOIN repairsys.technician te ON te.id = ts.technician_id
		 WHERE ts.technician_id = ANY (techs) AND ts.skill = st.required_skill AND ts.level >= st.min_skill_level
		   AND repairsys.open_ticket_count(ts.technician_id) < te.capacity
		 ORDER BY te.service_center_id IS DISTINCT FROM (SELECT x.service_center_id FROM repairsys.ticket x WHERE x.id = tid),
		          pg_catalog.md5(pg_catalog.array_position(techs, ts.technician_id) || '/' || draw), ts.technician_id
		 LIMIT 1;
		IF tech IS NULL THEN
			CONTINUE;
		END IF;
		UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'assigned'), technician_id = tech WHERE x.id = tid;
		IF r < 0.15 THEN
			CONTINUE;
		END IF;
		PERFORM repairsys.approve_estimate(tid);
		UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'active') WHERE x.id = tid;
		IF pg_catalog.random() < 0.35 THEN
			part_sku := CASE st.required_skill WHEN 'hvac' THEN 'DEMO-CAP' WHEN 'appliance' THEN 'DEMO-PUMP'
			            ELSE CASE WHEN st.code = 'demo_phone_screen' THEN 'DEMO-SCREEN' ELSE 'DEMO-BOARD' END END;
			IF (SELECT s.on_hand - s.reserved FROM repairsys.stock s JOIN repairsys.ticket x ON x.service_center_id = s.service_center_id
			     WHERE x.id = tid AND s.sku = part_sku) >= 1 THEN
				PERFORM repairsys.reserve_part(tid, part_sku, 1);
			END IF;
		END IF;
		IF r < 0.20 THEN
			CONTINUE;					-- work under way
		END IF;
		UPDATE repairsys.ticket x
		   SET labor_minutes = st.est_minutes_low + pg_catalog.round((pg_catalog.random() * (st.est_minutes_high - st.est_minutes_low))::numeric),
		       travel_km = pg_catalog.round((pg_catalog.random() * 30)::numeric, 1)
		 WHERE x.id = tid;
		-- more work than the approved estimate (a part, a longer trip): the
		-- technician revises it and the customer approves, as the approved
		-- ceiling asks before resolving (docs/billing.md)
		IF (SELECT (SELECT b.total FROM repairsys.bill_total(x, x.labor_minutes, x.travel_km, true) b) > c.ceiling
		      FROM repairsys.ticket x
		      CROSS JOIN LATERAL repairsys.approved_ceiling(x) c
		     WHERE x.id = tid AND NOT repairsys.under_warranty(x)) THEN
			PERFORM repairsys.revise_estimate(tid, 'Demo: more work than estimated');
			PERFORM repairsys.approve_estimate(tid);
		END IF;
		UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'resolved') WHERE x.id = tid;
		IF pg_catalog.random() < 0.06 THEN
			UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'active') WHERE x.id = tid;
			UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'resolved') WHERE x.id = tid;
		END IF;
		last_tid := tid;
		-- the customer signs the work and the bill off on the technician's tablet (签字确认)
		PERFORM repairsys.sign_off(tid, (SELECT c.name FROM repairsys.customer c WHERE c.id = cust));
		-- the customer's rating: each technician has a typical quality
		IF pg_catalog.random() < 0.8 THEN
			stars := least(5, greatest(1, pg_catalog.round(2.5 + (pg_catalog.array_position(techs, tech) % 4) * 0.6
			                                                + (pg_catalog.random() - 0.5) * 3)::integer));
			INSERT INTO repairsys.feedback (ticket_id, rating, comment, complaint)
			VALUES (tid, stars, CASE WHEN stars >= 4 THEN 'Quick and friendly' WHEN stars <= 2 THEN 'Not satisfied' END,
			        stars <= 2 AND pg_catalog.random() < 0.6);
		END IF;
		-- bill: most are invoiced and paid and closed; some wait for payment
		r := pg_catalog.random();
		IF r < 0.85 THEN
			SELECT b.total INTO bill_total FROM repairsys.bill_summary b WHERE b.ticket_id = tid;
			IF coalesce(bill_total, 0) > 0 THEN
				inv := repairsys.issue_invoice(tid);
				IF r < 0.75 THEN
					PERFORM repairsys.record_payment(inv, (ARRAY['wechat', 'alipay', 'card', 'cash'])[1 + (pg_catalog.random() * 3)::integer],
					                                 (SELECT v.total FROM repairsys.invoice v WHERE v.id = inv),
					                                 pg_catalog.format('demo-%s-%s', tag, tid));
				END IF;
			END IF;
			IF r < 0.75 THEN
				UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'closed') WHERE x.id = tid;
			END IF;
		END IF;
	END LOOP;
	RETURN tickets;
END
$$;
COMMENT ON FUNCTION repairsys.demo_load(integer, integer, integer) IS 'Demo data generator: up to 2000 tickets over one month, 3 centers, 12 technicians, customers with assets, demo_* service types with SLA policies, stocked parts, and the given number of tickets moved through the life cycle with labor, estimate revisions, parts, sign-offs, feedback, invoices and payments; more tickets or months: a company sized for the volume with months months of history, written set-based (demo_load_bulk); reproducible for a seed (docs/reports.md)';

-- A uniform number in [0, 1) from a seed, a number and a salt: the draws of
-- the set-based demo load, the same for the same arguments on every server
-- (no setseed() state, no order of rows).
CREATE FUNCTION repairsys.demo_hash(seed bigint, n bigint, salt integer)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (pg_catalog.hashint8extended(n * 1024 + salt, seed) OPERATOR(pg_catalog.&) 2147483647)::double precision / 2147483648.0;
COMMENT ON FUNCTION repairsys.demo_hash(bigint, bigint, integer) IS 'Uniform draw in [0, 1) of the set-based demo load from (seed, n, salt): hashint8extended, reproducible';

-- The set-based path of demo_load (more than 2,000 tickets, or more than one
-- month of history): a company sized for the volume and its history written
-- as an import by the table owner (docs/reports.md, "Demo data at scale").
-- Every ticket is planned whole from hashes of (seed, ticket number): the
-- instants of its life (opened, assigned, estimate approved and work begun,
-- resolved, invoiced, paid and closed, or cancelled), cut at now() to give
-- its current state; then one statement per 50,000 tickets writes what the
-- rules would have written: the ticket in that state with its stamps, SLA
-- deadlines (sla_deadline in the center's calendar) and price snapshot, its
-- history (ticket_event), estimate revision 1, reserved or used part with its
-- issue in the stock ledger, the invoice and its lines (compute_bill's lines,
-- computed set-based from the same price schedules), the payment, the
-- feedback and the follow-up calls.  The rule triggers of these tables are
-- disabled for the transaction (ALTER TABLE ... DISABLE TRIGGER, which only
-- the owner may do and which locks the tables until commit): this function
-- writes what they would have written, and the derived rows they keep (stock,
-- technician_load) are written at the end from what was loaded.  Imports
-- write no event (is_import()): the event log starts after the history.
-- What the path does not make: repeat repairs (each asset's tickets are
-- further apart than rework_window), holds, reopenings, discounts, revised
-- estimates and sign-offs; the small path makes those.
-- (jit off: the planner's estimate of the large statement below makes it
-- compile and optimize it, which costs far more than it runs.  work_mem
-- 256MB: the statement's materialized steps of a batch of 25,000 tickets
-- then stay in memory instead of going to temporary files.  No nested loops
-- but those a LATERAL call needs: the planner estimates the steps at a few
-- hundred rows, and a nested loop over one of them (the invoices against
-- the bill lines) rescans it for every row, which at a million tickets
-- took the load from minutes to hours.)
CREATE FUNCTION repairsys.demo_load_bulk(tickets integer, seed integer, months integer, tag text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
SET jit = off
SET work_mem = '256MB'
SET enable_nestloop = off
AS $$
DECLARE
	types    text[] := ARRAY['demo_ac_repair', 'demo_washer_repair', 'demo_tv_repair', 'demo_fridge_repair', 'demo_phone_screen'];
	models   text[] := ARRAY['Gree KFR-35', 'Haier XQG100', 'Hisense 65E7', 'Midea BCD-520', 'Huawei P60'];
	prices   numeric[] := ARRAY[3299.00, 2599.00, 4999.00, 5899.00, 4488.00];
	skus     text[] := ARRAY['DEMO-CAP', 'DEMO-PUMP', 'DEMO-BOARD', 'DEMO-SCREEN'];
	v_now    timestamptz := pg_catalog.now();
	v_start  timestamptz := pg_catalog.now() - pg_catalog.make_interval(months => months);
	v_end    timestamptz := pg_catalog.now() - interval '2 hours';
	v_tz     text := 'Asia/Shanghai';
	v_seed   bigint := seed;
	n_center integer;
	n_tech   integer;		-- per center
	n_cust   integer;
	n_asset  integer;
	v_centers bigint[];
	v_techs  bigint[];
	v_custs  bigint[];
	v_assets bigint[];
	v_days   date[];
	v_th     float8[];
	v_gap    float8;
	s_new    text;
	s_asg    text;
	s_act    text;
	s_res    text;
	s_clo    text;
	s_can    text;
	rate_l   numeric := pg_catalog.round(repairsys.setting_value('tax_rate_labor')::numeric, 4);
	rate_p   numeric := pg_catalog.round(repairsys.setting_value('tax_rate_parts')::numeric, 4);
	v_rework text := repairsys.setting_value('rework_window');
	v_rework_iv interval := repairsys.setting_value('rework_window')::interval;
	v_tol    numeric := repairsys.setting_value('estimate_tolerance_pct')::numeric;
	v_cur    text := repairsys.setting_value('currency');
	v_fu_days integer := repairsys.setting_value('follow_up_days')::integer;
	v_fu_cpl interval := repairsys.setting_value('complaint_follow_up_within')::interval;
	v_receipt_seq bigint[];
	v_replica boolean := false;
	trg      record;
	disabled text[] := '{}'::text[];
	lo       integer;
	batch    integer := 25000;
	hi       integer;
	j_lo     integer;
	j_hi     integer;
	k_lo     integer;
	k_hi     integer;
	v_a_lo   bigint;
	v_a_hi   bigint;
	v_c_lo   bigint;
	v_c_hi   bigint;
	v_t_lo   bigint;
	v_t_hi   bigint;
	v_rows   bigint;
	v_written bigint := 0;
BEGIN
	IF NOT repairsys.is_table_owner('repairsys.ticket'::regclass) THEN
		RAISE EXCEPTION 'only the owner of the repairsys tables may load more than 2000 tickets or more than one month'
			USING ERRCODE = '42501',
			      DETAIL = 'The set-based load writes as an import by the table owner (docs/reports.md).';
	END IF;
	s_new := (SELECT s.code FROM repairsys.ticket_status s WHERE s.role = 'initial');
	s_asg := repairsys.next_state(s_new, 'assigned');
	s_act := repairsys.next_state(s_asg, 'active');
	s_res := repairsys.next_state(s_act, 'resolved');
	s_clo := repairsys.next_state(s_res, 'closed');
	s_can := repairsys.next_state(s_new, 'cancelled');
	IF s_clo IS NULL OR s_can IS NULL THEN
		RAISE EXCEPTION 'the workflow has no path from the initial state through assigned, active and resolved to closed, and to cancelled'
			USING ERRCODE = '22023', DETAIL = 'The set-based demo load moves tickets along that path.';
	END IF;

	-- the size of the company: a center per 1,500 tickets a month, a
	-- technician per 150 tickets a month at each, a customer per 1.4 units;
	-- each unit's tickets are further apart than the rework window (with a
	-- margin for the seasons), so that none is a repeat repair
	n_center := greatest(3, ceil(tickets / (months * 1500.0)))::integer;
	n_tech := greatest(4, ceil(tickets / (months * 150.0 * n_center)))::integer;
	v_gap := 1.6 * (date_part('epoch', v_rework::interval) + 7 * 86400) / date_part('epoch', v_end - v_start);
	n_asset := greatest(14, ceil(tickets * greatest(0.47, least(1.0, v_gap))))::integer;
	n_cust := greatest(10, ceil(n_asset / 1.4))::integer;

	-- centers, technicians (every skill: any of them may take any demo type)
	-- and their stock rows, customers and their units
	v_centers := ARRAY(SELECT pg_catalog.nextval('repairsys.service_center_id_seq') FROM pg_catalog.generate_series(1, n_center) k ORDER BY k);
	INSERT INTO repairsys.service_center (id, name, lat, lon, time_zone) OVERRIDING SYSTEM VALUE
	SELECT v_centers[k], pg_catalog.format('%s center %s', tag, k),
	       pg_catalog.round((22 + 18 * repairsys.demo_hash(v_seed, k, 1))::numeric, 4),
	       pg_catalog.round((104 + 17 * repairsys.demo_hash(v_seed, k, 2))::numeric, 4), v_tz
	  FROM pg_catalog.generate_series(1, n_center) k;
	v_techs := ARRAY(SELECT pg_catalog.nextval('repairsys.technician_id_seq') FROM pg_catalog.generate_series(1, n_center * n_tech) k ORDER BY k);
	INSERT INTO repairsys.technician (id, name, service_center_id, lat, lon, capacity, hourly_cost) OVERRIDING SYSTEM VALUE
	SELECT v_techs[k], pg_catalog.format('%s tech %s', tag, k), c.id, c.lat, c.lon, 10,
	       60 + pg_catalog.floor(40 * repairsys.demo_hash(v_seed, k, 3))::integer
	  FROM pg_catalog.generate_series(1, n_center * n_tech) k
	  JOIN repairsys.service_center c ON c.id = v_centers[1 + (k - 1) / n_tech];
	INSERT INTO repairsys.technician_skill (technician_id, skill, level)
	SELECT v_techs[k], s.skill, 3 + pg_catalog.floor(3 * repairsys.demo_hash(v_seed, k, 3 + s.o::integer))::integer
	  FROM pg_catalog.generate_series(1, n_center * n_tech) k
	 CROSS JOIN pg_catalog.unnest(ARRAY['hvac', 'appliance', 'electronics']) WITH ORDINALITY AS s(skill, o);
	-- (as a superuser, from here on with session_replication_role = replica,
	-- see below: the customers' and units' roll-up rows too are written by
	-- the rebuild at the end, so that this transaction holds no lock on a
	-- roll-up that another load's rebuild would wait for while that load
	-- waits for this one)
	v_replica := (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER)
	             AND pg_catalog.current_setting('session_replication_role') = 'origin';
	IF v_replica THEN
		PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
	END IF;
	v_custs := ARRAY(SELECT pg_catalog.nextval('repairsys.customer_id_seq') FROM pg_catalog.generate_series(1, n_cust) k ORDER BY k);
	INSERT INTO repairsys.customer (id, name, phone, service_center_id, lat, lon) OVERRIDING SYSTEM VALUE
	SELECT v_custs[k], pg_catalog.format('%s customer %s', tag, k), '139' || pg_catalog.lpad((k % 100000000)::text, 8, '0'),
	       c.id, c.lat + (repairsys.demo_hash(v_seed, k, 4) - 0.5) * 0.2, c.lon + (repairsys.demo_hash(v_seed, k, 5) - 0.5) * 0.2
	  FROM pg_catalog.generate_series(1, n_cust) k
	  JOIN repairsys.service_center c ON c.id = v_centers[1 + (k - 1) % n_center];
	v_assets := ARRAY(SELECT pg_catalog.nextval('repairsys.asset_id_seq') FROM pg_catalog.generate_series(1, n_asset) k ORDER BY k);
	INSERT INTO repairsys.asset (id, customer_id, model, serial_no, purchased_at, purchase_price, warranty_until) OVERRIDING SYSTEM VALUE
	SELECT v_assets[j], v_custs[1 + (j - 1) % n_cust], models[x.m], pg_catalog.format('%s-%s', tag, j), x.d,
	       CASE WHEN repairsys.demo_hash(v_seed, j, 7) < 0.08 THEN prices[x.m] * 4 ELSE prices[x.m] END, x.d + 365
	  FROM pg_catalog.generate_series(1, n_asset) j
	 CROSS JOIN LATERAL (SELECT 1 + pg_catalog.floor(5 * repairsys.demo_hash(v_seed, j, 6))::integer AS m,
	                            (v_start AT TIME ZONE v_tz)::date - pg_catalog.floor(700 * repairsys.demo_hash(v_seed, j, 8))::integer AS d) x;

	-- the calendar of the history: one weight per local day, a summer peak
	-- (air conditioners) and quieter weekends; ticket number i is opened at
	-- the quantile (i - 0.5) / tickets of these weights, 08:00-20:00 local
	SELECT pg_catalog.array_agg(w.day ORDER BY w.day),
	       pg_catalog.array_agg(coalesce(w.cum_before / nullif(w.total, 0), 0) ORDER BY w.day)
	  INTO v_days, v_th
	  FROM (SELECT d.day, sum(d.w) OVER (ORDER BY d.day) - d.w AS cum_before, sum(d.w) OVER () AS total
	          FROM (SELECT x::date AS day,
	                       (1 + 0.25 * pg_catalog.cos(2 * pi() * (date_part('doy', x) - 196) / 365.25))
	                       * CASE date_part('isodow', x) WHEN 6 THEN 0.7 WHEN 7 THEN 0.6 WHEN 1 THEN 1.15 ELSE 1 END AS w
	                  FROM pg_catalog.generate_series((v_start AT TIME ZONE v_tz)::date, (v_end AT TIME ZONE v_tz)::date, interval '1 day') x) d) w;

	-- stock movements are numbered (seq) in the order their checks would have
	-- run: the receipts, written last when the issues are known, take the
	-- first numbers
	v_receipt_seq := ARRAY(SELECT pg_catalog.nextval('repairsys.stock_movement_seq')
	                         FROM pg_catalog.generate_series(1, n_center * pg_catalog.array_length(skus, 1)) k ORDER BY k);

	-- the monthly partitions of the history, the ledger and the event log
	-- for the months written (57_partitions.sql; at most 121 months: older
	-- rows go to the DEFAULT partitions), made before the triggers go off so
	-- that the new months clone them enabled
	-- (only when one is missing: ensure_partitions() holds its lock to the
	-- end of the transaction, and loads that run side by side must not wait
	-- for each other)
	IF EXISTS (SELECT 1
	             FROM pg_catalog.generate_series(repairsys.partition_month(greatest(v_start - interval '1 day', pg_catalog.now() - interval '120 months')),
	                                             repairsys.partition_month(pg_catalog.now()), interval '1 month') AS x(m)
	            CROSS JOIN pg_catalog.unnest(ARRAY['ticket_event', 'stock_movement', 'event']) AS t(name)
	            WHERE pg_catalog.to_regclass(pg_catalog.format('repairsys.%I', t.name || '_' || pg_catalog.to_char(x.m AT TIME ZONE 'UTC', 'YYYY_MM'))) IS NULL) THEN
		PERFORM repairsys.ensure_partitions(greatest(v_start - interval '1 day', pg_catalog.now() - interval '120 months'), pg_catalog.now());
	END IF;

	-- the rule and roll-up triggers of the tables written below, off while
	-- the stories are written (the batches write the roll-up rows).  A superuser loads as pg_restore --disable-triggers does:
	-- session_replication_role = replica for this part of the transaction
	-- (set above, before the customers),
	-- which also skips the foreign-key checks (the rows are built from the
	-- rows they reference; test/pgtap/demo_scale.sql checks every key
	-- afterwards) and takes no table lock, so that loads of separate
	-- companies run side by side (test/bench/scale.sh).  The owner who is not
	-- a superuser disables the triggers by name (ALTER TABLE, which locks the
	-- tables until commit: such loads run one after the other).
	FOR trg IN
		SELECT g.tgrelid::regclass AS rel, g.tgname
		  FROM pg_catalog.pg_trigger g
		 WHERE g.tgrelid = ANY (ARRAY['repairsys.ticket', 'repairsys.ticket_part', 'repairsys.stock_movement', 'repairsys.invoice',
		                              'repairsys.invoice_line', 'repairsys.payment', 'repairsys.feedback',
		                              'repairsys.estimate_revision']::regclass[]::oid[])
		   AND NOT g.tgisinternal AND g.tgenabled = 'O' AND (g.tgtype & 4) <> 0 AND NOT v_replica
		 ORDER BY 1, 2
	LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE TRIGGER %I', trg.rel, trg.tgname);
		disabled := disabled || pg_catalog.format('ALTER TABLE %s ENABLE TRIGGER %I', trg.rel, trg.tgname);
	END LOOP;

	lo := 1;
	WHILE lo <= tickets LOOP
		-- the units and customers this batch's tickets are of: ticket i is of
		-- unit (i - 1) % n_asset + 1, unit j of customer (j - 1) % n_cust + 1,
		-- so a batch reads one window of each (all of them when it wraps
		-- around); their ids ascend with their numbers, and the windows are
		-- read by key range, not by scanning every company's units
		hi := least(tickets, lo + batch - 1);
		IF hi - lo + 1 >= n_asset OR (lo - 1) % n_asset > (hi - 1) % n_asset THEN
			j_lo := 1;
			j_hi := n_asset;
		ELSE
			j_lo := (lo - 1) % n_asset + 1;
			j_hi := (hi - 1) % n_asset + 1;
		END IF;
		IF j_hi - j_lo + 1 >= n_cust OR (j_lo - 1) % n_cust > (j_hi - 1) % n_cust THEN
			k_lo := 1;
			k_hi := n_cust;
		ELSE
			k_lo := (j_lo - 1) % n_cust + 1;
			k_hi := (j_hi - 1) % n_cust + 1;
		END IF;
		v_a_lo := v_assets[j_lo];
		v_a_hi := v_assets[j_hi];
		v_c_lo := v_custs[k_lo];
		v_c_hi := v_custs[k_hi];
		WITH cd AS MATERIALIZED (
			-- each center's calendar, once (not once per ticket)
			SELECT c AS center_id, repairsys.closed_dates(c) AS closed, od.days AS open_days, od.works_as
			  FROM pg_catalog.unnest(v_centers) c CROSS JOIN LATERAL repairsys.open_dates(c) od
		), g AS MATERIALIZED (
			SELECT i, x.j, 1 + ((x.j - 1) % n_cust) % n_center AS ci,
			       repairsys.demo_hash(v_seed, i, 101) AS r_cancel, repairsys.demo_hash(v_seed, i, 102) AS r_assign,
			       repairsys.demo_hash(v_seed, i, 103) AS r_part, repairsys.demo_hash(v_seed, i, 104) AS r_approve,
			       repairsys.demo_hash(v_seed, i, 105) AS r_labor, repairsys.demo_hash(v_seed, i, 106) AS r_resolve,
			       repairsys.demo_hash(v_seed, i, 107) AS r_pay, repairsys.demo_hash(v_seed, i, 108) AS r_fb,
			       repairsys.demo_hash(v_seed, i, 109) AS r_fb_at, repairsys.demo_hash(v_seed, i, 110) AS r_stars,
			       repairsys.demo_hash(v_seed, i, 111) AS r_complaint, repairsys.demo_hash(v_seed, i, 112) AS r_method,
			       repairsys.demo_hash(v_seed, i, 113) AS r_tech, repairsys.demo_hash(v_seed, i, 114) AS r_cx,
			       repairsys.demo_hash(v_seed, i, 115) AS r_urg, repairsys.demo_hash(v_seed, i, 116) AS r_channel,
			       pg_catalog.width_bucket((i - 0.5) / tickets, v_th) AS k,
			       -- the ticket's id, taken in the order of i (a join's output
			       -- order depends on its plan, and so would the ids, and with
			       -- them the order of everything sorted by id: the same seed
			       -- would not give the same data on another plan)
			       pg_catalog.nextval('repairsys.ticket_id_seq') AS id
			  FROM pg_catalog.generate_series(lo, hi) i
			 CROSS JOIN LATERAL (SELECT (i - 1) % n_asset + 1 AS j) x
		), ac AS MATERIALIZED (
			SELECT a.id, a.customer_id, a.model, a.warranty_until, cu.lat, cu.lon, cu.service_center_id
			  FROM repairsys.asset a JOIN repairsys.customer cu ON cu.id = a.customer_id
			 WHERE a.id BETWEEN v_a_lo AND v_a_hi AND cu.id BETWEEN v_c_lo AND v_c_hi
		), p AS MATERIALIZED (
			SELECT g.*,
			       a.id AS asset_id, a.customer_id, a.warranty_until, a.lat, a.lon, c.id AS center_id, c.time_zone,
			       pg_catalog.round(repairsys.haversine_km(c.lat, c.lon, a.lat, a.lon)::numeric, 1) AS km,
			       st.code AS service_type, st.required_skill, st.labor_fee, st.travel_fee, coalesce(st.callout_fee, 0) AS callout,
			       coalesce(st.est_minutes_low, st.est_minutes_high, 0) AS est_low, coalesce(st.est_minutes_high, st.est_minutes_low, 0) AS est_high,
			       least(4, 1 + pg_catalog.floor(g.r_cx * 4))::integer AS complexity,
			       (ARRAY['normal', 'normal', 'normal', 'normal', 'urgent', 'urgent', 'emergency'])[1 + least(6, pg_catalog.floor(g.r_urg * 7))::integer] AS urgency,
			       (ARRAY['phone', 'web', 'app', 'mini_program', 'walk_in'])[1 + least(4, pg_catalog.floor(g.r_channel * 5))::integer] AS channel,
			       (g.ci - 1) * n_tech + 1 + least(n_tech - 1, pg_catalog.floor(g.r_tech * n_tech))::integer AS tech_no,
			       greatest(v_start, least(v_end,
			           ((v_days[g.k] + interval '8 hours'
			             + ((i - 0.5) / tickets - v_th[g.k]) / (coalesce(v_th[g.k + 1], 1.0) - v_th[g.k]) * interval '12 hours')
			            AT TIME ZONE c.time_zone))) AS opened_at
			  FROM g
			  JOIN ac a ON a.id = v_assets[g.j]
			  JOIN repairsys.service_center c ON c.id = a.service_center_id
			  JOIN repairsys.service_type st ON st.code = types[pg_catalog.array_position(models, a.model)]
		), q AS MATERIALIZED (
			-- the instants of the ticket's life and how far it got by now
			SELECT p.*, v_techs[p.tech_no] AS tech, cx.factor, u.surcharge_pct AS pct,
			       coalesce(p.warranty_until >= (p.opened_at AT TIME ZONE p.time_zone)::date, false) AS warranty,
			       CASE WHEN p.r_part < 0.35 THEN CASE p.required_skill WHEN 'hvac' THEN 'DEMO-CAP' WHEN 'appliance' THEN 'DEMO-PUMP'
			            ELSE CASE WHEN p.service_type = 'demo_phone_screen' THEN 'DEMO-SCREEN' ELSE 'DEMO-BOARD' END END END AS sku,
			       p.est_low + pg_catalog.round((p.r_labor * (p.est_high - p.est_low))::numeric) AS labor,
			       p.r_cancel < 0.04 AS cancels,
			       p.opened_at + pg_catalog.make_interval(mins => 5 + (p.r_assign * 120)::integer) AS t_cancel,
			       p.opened_at + pg_catalog.make_interval(mins => 10 + (p.r_assign * 110)::integer) AS t_assign,
			       p.opened_at + pg_catalog.make_interval(mins => 15 + (p.r_assign * 110)::integer) AS t_part,
			       p.opened_at + pg_catalog.make_interval(mins => 30 + (p.r_assign * 110)::integer + (p.r_approve * 200)::integer) AS t_approve,
			       pol.respond_within, pol.resolve_within
			  FROM p
			  JOIN repairsys.complexity_rule cx ON cx.level = p.complexity
			  JOIN repairsys.urgency_rule u ON u.urgency = p.urgency
			  LEFT JOIN repairsys.sla_policy pol ON pol.service_type = p.service_type AND pol.urgency = p.urgency
		), q2 AS MATERIALIZED (
			SELECT q.*,
			       q.t_approve + pg_catalog.make_interval(mins => q.labor::integer) + q.r_resolve * q.r_resolve * interval '30 hours' AS t_resolve
			  FROM q
		), q3 AS MATERIALIZED (
			SELECT q2.*,
			       q2.t_resolve + interval '5 minutes' AS t_invoice,
			       q2.t_resolve + interval '5 minutes' + q2.r_pay * q2.r_pay * interval '24 hours' AS t_pay,
			       q2.t_resolve + pg_catalog.make_interval(mins => 10 + (q2.r_fb_at * 600)::integer) AS t_fb,
			       NOT q2.cancels AND q2.t_assign <= v_now AS did_assign,
			       NOT q2.cancels AND q2.t_approve <= v_now AS did_approve,
			       NOT q2.cancels AND q2.t_resolve <= v_now AS did_resolve,
			       q2.cancels AND q2.t_cancel <= v_now AS did_cancel,
			       NOT q2.cancels AND q2.sku IS NOT NULL AND q2.t_part <= v_now AS has_part
			  FROM q2
		), ek AS MATERIALIZED (
			-- the estimates that occur: an approved ticket's estimate (its low and
			-- high scenarios) depends on its service type, distance, complexity,
			-- urgency, part and warranty only, so each is computed once (a batch
			-- of 25,000 tickets has about 9,700 different ones among 24,000
			-- approved) and numbered (est_no)
			SELECT e.*, pg_catalog.row_number() OVER () AS est_no
			  FROM (SELECT DISTINCT q3.service_type, q3.est_low, q3.est_high, q3.km, q3.labor_fee, q3.travel_fee, q3.callout,
			               q3.factor, q3.pct, q3.complexity, q3.urgency, q3.warranty,
			               CASE WHEN q3.warranty THEN q3.warranty_until END AS warranty_until, q3.sku
			          FROM q3 WHERE q3.did_approve) e
		), qk AS MATERIALIZED (
			-- each approved ticket's estimate
			SELECT q3.id, e.est_no
			  FROM q3 JOIN ek e ON e.service_type = q3.service_type AND e.km = q3.km AND e.complexity = q3.complexity
			   AND e.urgency = q3.urgency AND e.warranty = q3.warranty
			   AND coalesce(e.warranty_until, 'infinity') = coalesce(CASE WHEN q3.warranty THEN q3.warranty_until END, 'infinity')
			   AND coalesce(e.sku, '') = coalesce(q3.sku, '')
			 WHERE q3.did_approve
		), sc AS MATERIALIZED (
			-- the scenarios a bill is computed for: the bill of the work recorded
			-- (resolved tickets, by ticket id) and each estimate's low and high
			-- (the part reserved before the approval counts; by -est_no, apart from
			-- the tickets' ids)
			SELECT q3.id, 'bill' AS scen, 3 AS o, q3.labor AS minutes, q3.km, q3.service_type, q3.labor_fee, q3.travel_fee, q3.callout,
			       q3.factor, q3.pct, q3.complexity, q3.urgency, q3.warranty, q3.warranty_until, q3.sku
			  FROM q3 WHERE q3.did_resolve
			UNION ALL
			SELECT -e.est_no, s.scen, s.o, s.minutes, e.km, e.service_type, e.labor_fee, e.travel_fee, e.callout,
			       e.factor, e.pct, e.complexity, e.urgency, e.warranty, e.warranty_until, e.sku
			  FROM ek e
			 CROSS JOIN LATERAL (VALUES (1, 'low', e.est_low), (2, 'high', e.est_high)) AS s(o, scen, minutes)
		), lab_u AS MATERIALIZED (
			-- the labor lines of each service type and minutes that occur, once
			-- (schedule_lines() worded inline: the C charge_lines() per row, not
			-- an SQL function whose body is read again at every call)
			SELECT u.service_type, u.minutes, l.line_no AS n, CASE l.kind
			                   WHEN 'base' THEN 'Labor: base fee'
			                   WHEN 'tier' THEN pg_catalog.format('Labor: %s min in the tier %s min, at %s per min',
			                                      pg_catalog.trim_scale(l.quantity), pg_catalog.trim_scale(l.qty_from) || coalesce('-' || pg_catalog.trim_scale(l.qty_to), '+'),
			                                      CASE WHEN pg_catalog.scale(pg_catalog.trim_scale(l.rate)) <= 2 THEN pg_catalog.round(l.rate, 2)::text
			                                           ELSE pg_catalog.trim_scale(l.rate)::text END)
			                   WHEN 'minimum' THEN 'Labor: raised to the minimum charge of the schedule'
			                   WHEN 'maximum' THEN 'Labor: lowered to the maximum charge of the schedule' END AS description,
			       l.quantity, CASE WHEN l.kind = 'tier' THEN 'min' END AS line_unit, l.rate AS unit_price, l.amount,
			       pg_catalog.round(l.amount * rate_l, 2) AS tax
			  FROM (SELECT DISTINCT ON (x.service_type, x.minutes) x.service_type, x.minutes, x.labor_fee FROM sc x) u
			 CROSS JOIN LATERAL repairsys.charge_lines(u.labor_fee, u.minutes) l
		), lab AS MATERIALIZED (
			SELECT sc.id, sc.o, lu.n, lu.description, lu.quantity, lu.line_unit, lu.unit_price, lu.amount, lu.tax
			  FROM sc JOIN lab_u lu ON lu.service_type = sc.service_type AND lu.minutes = sc.minutes
		), trv_u AS MATERIALIZED (
			-- the travel lines of each service type and distance that occur, once
			SELECT u.service_type, u.km, l.line_no AS n, CASE l.kind
			                   WHEN 'base' THEN 'Travel: base fee'
			                   WHEN 'tier' THEN pg_catalog.format('Travel: %s km in the tier %s km, at %s per km',
			                                      pg_catalog.trim_scale(l.quantity), pg_catalog.trim_scale(l.qty_from) || coalesce('-' || pg_catalog.trim_scale(l.qty_to), '+'),
			                                      CASE WHEN pg_catalog.scale(pg_catalog.trim_scale(l.rate)) <= 2 THEN pg_catalog.round(l.rate, 2)::text
			                                           ELSE pg_catalog.trim_scale(l.rate)::text END)
			                   WHEN 'minimum' THEN 'Travel: raised to the minimum charge of the schedule'
			                   WHEN 'maximum' THEN 'Travel: lowered to the maximum charge of the schedule' END AS description,
			       l.quantity, CASE WHEN l.kind = 'tier' THEN 'km' END AS line_unit, l.rate AS unit_price, l.amount,
			       pg_catalog.round(l.amount * rate_l, 2) AS tax
			  FROM (SELECT DISTINCT ON (x.service_type, x.km) x.service_type, x.km, x.travel_fee FROM sc x WHERE x.travel_fee IS NOT NULL) u
			 CROSS JOIN LATERAL repairsys.charge_lines(u.travel_fee, u.km) l
		), trv AS MATERIALIZED (
			SELECT sc.id, sc.o, tu.n, tu.description, tu.quantity, tu.line_unit, tu.unit_price, tu.amount, tu.tax
			  FROM sc JOIN trv_u tu ON tu.service_type = sc.service_type AND tu.km = sc.km
			 WHERE sc.travel_fee IS NOT NULL
		), a1 AS MATERIALIZED (
			SELECT sc.*, coalesce(la.labor, 0) AS lab_amt, coalesce(la.tax, 0) AS lab_tax,
			       coalesce(tr.travel, 0) AS trv_amt, coalesce(tr.tax, 0) AS trv_tax,
			       CASE WHEN sc.callout > 0 THEN pg_catalog.round(sc.callout * rate_l, 2) ELSE 0 END AS call_tax,
			       CASE WHEN sc.factor <> 1 AND coalesce(la.labor, 0) > 0 THEN pg_catalog.round(la.labor * (sc.factor - 1), 2) ELSE 0 END AS cx_amt,
			       pt.name AS part_name, pt.unit_price AS part_price
			  FROM sc
			  LEFT JOIN (SELECT x.id, x.o, sum(x.amount) AS labor, sum(x.tax) AS tax FROM lab x GROUP BY 1, 2) la ON la.id = sc.id AND la.o = sc.o
			  LEFT JOIN (SELECT x.id, x.o, sum(x.amount) AS travel, sum(x.tax) AS tax FROM trv x GROUP BY 1, 2) tr ON tr.id = sc.id AND tr.o = sc.o
			  LEFT JOIN repairsys.part pt ON pt.sku = sc.sku
		), a2 AS MATERIALIZED (
			SELECT a1.*, CASE WHEN a1.pct > 0 AND a1.lab_amt + a1.cx_amt > 0 THEN pg_catalog.round((a1.lab_amt + a1.cx_amt) * a1.pct / 100, 2) ELSE 0 END AS sur_amt
			  FROM a1
		), lines AS MATERIALIZED (
			-- compute_bill's lines, in its order: call-out, labor slices,
			-- complexity, surcharge, travel slices, part (and its coverage), the
			-- product warranty's coverage of the service
			SELECT x.id, x.o, pg_catalog.row_number() OVER (PARTITION BY x.id, x.o ORDER BY x.ord, x.sub)::integer AS line_no,
			       x.kind, x.description, x.quantity, x.unit, x.unit_price, x.amount, x.tax_rate, x.tax_amount
			  FROM (SELECT a.id, a.o, 1 AS ord, 0::bigint AS sub, 'callout' AS kind, 'Call-out fee' AS description, 1::numeric AS quantity,
			               'visit' AS unit, a.callout AS unit_price, a.callout AS amount, rate_l AS tax_rate, a.call_tax AS tax_amount
			          FROM a2 a WHERE a.callout > 0
			        UNION ALL
			        SELECT l.id, l.o, 2, l.n, 'labor', l.description, l.quantity, l.line_unit, l.unit_price, l.amount, rate_l, l.tax FROM lab l
			        UNION ALL
			        SELECT a.id, a.o, 3, 0, 'complexity', pg_catalog.format('Complexity level %s: labor x %s', a.complexity, pg_catalog.trim_scale(a.factor)),
			               NULL, NULL, NULL, a.cx_amt, rate_l, pg_catalog.round(a.cx_amt * rate_l, 2)
			          FROM a2 a WHERE a.factor <> 1 AND a.lab_amt > 0
			        UNION ALL
			        SELECT a.id, a.o, 4, 0, 'surcharge', pg_catalog.format('Urgency "%s": %s%% of labor', a.urgency, pg_catalog.trim_scale(a.pct)),
			               NULL, NULL, NULL, a.sur_amt, rate_l, pg_catalog.round(a.sur_amt * rate_l, 2)
			          FROM a2 a WHERE a.pct > 0 AND a.lab_amt + a.cx_amt > 0
			        UNION ALL
			        SELECT l.id, l.o, 5, l.n, 'travel', l.description, l.quantity, l.line_unit, l.unit_price, l.amount, rate_l, l.tax FROM trv l
			        UNION ALL
			        SELECT a.id, a.o, 6, 0, 'part', pg_catalog.format('Part %s (%s)', a.part_name, a.sku), 1, 'pcs', a.part_price, a.part_price,
			               rate_p, pg_catalog.round(a.part_price * rate_p, 2)
			          FROM a2 a WHERE a.sku IS NOT NULL
			        UNION ALL
			        SELECT a.id, a.o, 7, 0, 'coverage', pg_catalog.format('Product warranty covers part %s (%s)', a.part_name, a.sku), NULL, NULL, NULL,
			               -a.part_price, rate_p, -pg_catalog.round(a.part_price * rate_p, 2)
			          FROM a2 a WHERE a.sku IS NOT NULL AND a.warranty
			        UNION ALL
			        SELECT a.id, a.o, 8, w.n, 'coverage', w.what, NULL, NULL, NULL, -w.amt, rate_l, -w.tx
			          FROM a2 a
			         CROSS JOIN LATERAL (VALUES
			               (1::bigint, 'Product warranty (until ' || pg_catalog.to_char(a.warranty_until, 'YYYY-MM-DD') || ') covers labor, complexity and urgency surcharge',
			                a.lab_amt + a.cx_amt + a.sur_amt,
			                a.lab_tax + pg_catalog.round(a.cx_amt * rate_l, 2) + pg_catalog.round(a.sur_amt * rate_l, 2)),
			               (2, 'Product warranty covers the call-out fee', a.callout, a.call_tax),
			               (3, 'Product warranty covers travel', a.trv_amt, a.trv_tax)) AS w(n, what, amt, tx)
			         WHERE a.warranty AND w.amt > 0) x
		), tot AS MATERIALIZED (
			SELECT l.id,
			       coalesce(sum(l.amount + l.tax_amount) FILTER (WHERE l.o = 1), 0) AS low,
			       coalesce(sum(l.amount + l.tax_amount) FILTER (WHERE l.o = 2), 0) AS high,
			       coalesce(sum(l.amount + l.tax_amount) FILTER (WHERE l.o = 3), 0) AS bill,
			       count(*) FILTER (WHERE l.o = 3) AS bill_lines, coalesce(sum(l.amount) FILTER (WHERE l.o = 3), 0) AS bill_amount
			  FROM lines l GROUP BY l.id
		), est AS MATERIALIZED (
			-- the estimate's lines (revision 1), apart: the documents are large
			-- and only the revision's insert reads them
			SELECT l.id,
			       pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			           'scenario', CASE l.o WHEN 1 THEN 'low' ELSE 'high' END, 'line_no', l.line_no, 'kind', l.kind,
			           'description', l.description, 'quantity', l.quantity, 'unit', l.unit, 'unit_price', l.unit_price,
			           'amount', l.amount, 'tax_rate', l.tax_rate, 'tax_amount', l.tax_amount) ORDER BY l.o, l.line_no) AS est_lines
			  FROM lines l WHERE l.o < 3 GROUP BY l.id
		), f AS MATERIALIZED (
			-- the end of the story: invoiced once resolved (a bill to pay),
			-- closed once paid (or at once when free), rated by most
			SELECT q3.*, qk.est_no, coalesce(te.low, 0) AS low, coalesce(te.high, 0) AS high, coalesce(t.bill, 0) AS bill,
			       coalesce(t.bill_lines, 0) AS bill_lines, coalesce(t.bill_amount, 0) AS bill_amount,
			       q3.did_resolve AND coalesce(t.bill, 0) > 0 AND q3.t_invoice <= v_now AS did_invoice,
			       q3.did_resolve AND coalesce(t.bill, 0) > 0 AND q3.t_pay <= v_now AS did_pay,
			       q3.did_resolve AND CASE WHEN coalesce(t.bill, 0) > 0 THEN q3.t_pay <= v_now ELSE q3.t_invoice <= v_now END AS did_close,
			       CASE WHEN coalesce(t.bill, 0) > 0 THEN q3.t_pay ELSE q3.t_invoice END AS t_close,
			       q3.did_resolve AND q3.r_fb < 0.8 AND q3.t_fb <= v_now AS did_rate,
			       least(5, greatest(1, pg_catalog.round(2.5 + (q3.tech_no % 4) * 0.6
			                                             + (q3.r_stars - 0.5) * 3)::integer)) AS stars
			  FROM q3 LEFT JOIN qk ON qk.id = q3.id
			  LEFT JOIN (SELECT x.id, x.bill, x.bill_lines, x.bill_amount FROM tot x WHERE x.id > 0) t ON t.id = q3.id
			  LEFT JOIN (SELECT x.id, x.low, x.high FROM tot x WHERE x.id < 0) te ON te.id = -qk.est_no
		), s AS MATERIALIZED (
			SELECT f.*,
			       CASE WHEN f.did_cancel THEN s_can WHEN f.did_close THEN s_clo WHEN f.did_resolve THEN s_res
			            WHEN f.did_approve THEN s_act WHEN f.did_assign THEN s_asg ELSE s_new END AS status,
			       CASE WHEN f.did_cancel THEN f.t_cancel WHEN f.did_close THEN f.t_close WHEN f.did_resolve THEN f.t_resolve
			            WHEN f.did_approve THEN f.t_approve WHEN f.did_assign THEN f.t_assign ELSE f.opened_at END AS changed_at,
			       cd.closed, cd.open_days, cd.works_as,
			       repairsys.sla_deadline(f.respond_within, f.opened_at, cd.closed, f.time_zone, cd.open_days, cd.works_as) AS respond_by,
			       repairsys.sla_deadline(f.resolve_within, f.opened_at, cd.closed, f.time_zone, cd.open_days, cd.works_as) AS resolve_by
			  FROM f JOIN cd ON cd.center_id = f.center_id
		), ins_ticket AS (
			INSERT INTO repairsys.ticket (id, customer_id, asset_id, service_type, complexity, urgency, channel, description, lat, lon,
			                              service_center_id, status, technician_id, opened_at, first_response_at, respond_by, resolve_by,
			                              resolved_at, closed_at, status_changed_at, reopen_count, labor_minutes, travel_km,
			                              estimate_approved_at, warranty_void, price_labor_fee, price_travel_fee, price_callout_fee,
			                              price_complexity_factor, price_surcharge_pct, price_tax_rate_labor, price_tax_rate_parts,
			                              price_rework_window, approved_estimate_low, approved_estimate_high, sla_respond_within,
			                              sla_resolve_within, sla_time_zone, sla_paused, changed_by, status_role, estimate_approved_by)
			OVERRIDING SYSTEM VALUE
			SELECT s.id, s.customer_id, s.asset_id, s.service_type, s.complexity, s.urgency, s.channel,
			       pg_catalog.format('Demo request %s', s.i), s.lat, s.lon, s.center_id, s.status,
			       CASE WHEN s.did_assign THEN s.tech END, s.opened_at,
			       CASE WHEN s.did_cancel THEN s.t_cancel WHEN s.did_assign THEN s.t_assign END,
			       s.respond_by, s.resolve_by,
			       CASE WHEN s.did_resolve THEN s.t_resolve END,
			       CASE WHEN s.did_cancel THEN s.t_cancel WHEN s.did_close THEN s.t_close END,
			       s.changed_at, 0,
			       CASE WHEN s.did_resolve THEN s.labor END, CASE WHEN s.did_resolve THEN s.km END,
			       CASE WHEN s.did_approve THEN s.t_approve END, false,
			       CASE WHEN s.did_approve THEN s.labor_fee END, CASE WHEN s.did_approve THEN s.travel_fee END,
			       CASE WHEN s.did_approve THEN s.callout END, CASE WHEN s.did_approve THEN s.factor END,
			       CASE WHEN s.did_approve THEN s.pct END, CASE WHEN s.did_approve THEN rate_l END,
			       CASE WHEN s.did_approve THEN rate_p END, CASE WHEN s.did_approve THEN v_rework END,
			       CASE WHEN s.did_approve THEN s.low END, CASE WHEN s.did_approve THEN s.high END,
			       s.respond_within, s.resolve_within, CASE WHEN s.respond_within IS NOT NULL OR s.resolve_within IS NOT NULL THEN s.time_zone END,
			       interval '0', CURRENT_USER,
			       (SELECT x.role FROM repairsys.ticket_status x WHERE x.code = s.status),
			       CASE WHEN s.did_approve THEN CURRENT_USER END
			  FROM s
			RETURNING 1
		), ins_history AS (
			INSERT INTO repairsys.ticket_event (ticket_id, from_status, to_status, at, actor, technician_id)
			SELECT s.id, h.from_status, h.to_status, h.at, CURRENT_USER, h.tech
			  FROM s
			 CROSS JOIN LATERAL (VALUES (1, NULL, s_new, s.opened_at, NULL::bigint, true),
			                            (2, s_new, s_can, s.t_cancel, NULL, s.did_cancel),
			                            (2, s_new, s_asg, s.t_assign, s.tech, s.did_assign),
			                            (3, s_asg, s_act, s.t_approve, s.tech, s.did_approve),
			                            (4, s_act, s_res, s.t_resolve, s.tech, s.did_resolve),
			                            (5, s_res, s_clo, s.t_close, s.tech, s.did_close)) AS h(step, from_status, to_status, at, tech, wanted)
			 WHERE h.wanted
			 ORDER BY h.at, s.id, h.step
			RETURNING 1
		), ins_revision AS (
			INSERT INTO repairsys.estimate_revision (ticket_id, revision, low, high, lines, reason, created_at, created_by,
			                                         approved_at, approved_by, tolerance_pct)
			SELECT s.id, 1, s.low, greatest(s.high, s.low), coalesce(e.est_lines, '[]'::jsonb), 'Estimate before work', s.t_approve, CURRENT_USER,
			       s.t_approve, CURRENT_USER, v_tol
			  FROM s LEFT JOIN est e ON e.id = -s.est_no WHERE s.did_approve
			RETURNING 1
		), ins_part AS (
			INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, state, unit_price, unit_cost, covered, reserved_at, used_at)
			SELECT s.id, s.sku, s.center_id, 1, CASE WHEN s.did_resolve THEN 'used' ELSE 'reserved' END, pt.unit_price, pt.unit_cost,
			       s.warranty, s.t_part, CASE WHEN s.did_resolve THEN s.t_resolve END
			  FROM s JOIN repairsys.part pt ON pt.sku = s.sku
			 WHERE s.has_part
			RETURNING 1
		), ins_issue AS (
			INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id, unit_cost, at, actor, seq)
			SELECT x.sku, x.center_id, 'issue', -1, x.id, x.unit_cost, x.t_resolve, CURRENT_USER, pg_catalog.nextval('repairsys.stock_movement_seq')
			  FROM (SELECT s.sku, s.center_id, s.id, pt.unit_cost, s.t_resolve
			          FROM s JOIN repairsys.part pt ON pt.sku = s.sku
			         WHERE s.has_part AND s.did_resolve
			         ORDER BY s.t_resolve, s.id) x
			RETURNING 1
		), inv AS MATERIALIZED (
			-- (the invoices' ids in the order of their tickets', whatever the plan)
			SELECT s.id AS ticket_id, pg_catalog.nextval('repairsys.invoice_id_seq') AS invoice_id, s.center_id, s.bill, s.t_invoice,
			       s.did_pay, s.t_pay, s.r_method
			  FROM (SELECT * FROM s WHERE s.did_invoice ORDER BY s.id) s
		), ins_invoice AS (
			INSERT INTO repairsys.invoice (id, invoice_no, ticket_id, service_center_id, total, currency, issued_at) OVERRIDING SYSTEM VALUE
			SELECT v.invoice_id, 'INV-' || pg_catalog.lpad(v.invoice_id::text, 8, '0'), v.ticket_id, v.center_id, v.bill, v_cur, v.t_invoice
			  FROM inv v
			RETURNING 1
		), ins_lines AS (
			INSERT INTO repairsys.invoice_line (invoice_id, line_no, kind, description, quantity, unit, unit_price, amount, tax_rate, tax_amount)
			SELECT v.invoice_id, l.line_no, l.kind, l.description, l.quantity, l.unit, l.unit_price, l.amount, l.tax_rate, l.tax_amount
			  FROM inv v JOIN lines l ON l.id = v.ticket_id AND l.o = 3
			RETURNING 1
		), ins_payment AS (
			INSERT INTO repairsys.payment (invoice_id, method, amount, paid_at, idempotency_key)
			SELECT v.invoice_id, (ARRAY['wechat', 'alipay', 'card', 'cash'])[1 + least(3, pg_catalog.floor(v.r_method * 4))::integer],
			       v.bill, v.t_pay, pg_catalog.format('demo-%s-%s', tag, v.ticket_id)
			  FROM inv v WHERE v.did_pay
			RETURNING 1
		), ins_feedback AS (
			INSERT INTO repairsys.feedback (ticket_id, rating, comment, complaint, at)
			SELECT s.id, s.stars, CASE WHEN s.stars >= 4 THEN 'Quick and friendly' WHEN s.stars <= 2 THEN 'Not satisfied' END,
			       s.stars <= 2 AND s.r_complaint < 0.6, s.t_fb
			  FROM s WHERE s.did_rate
			RETURNING 1
		), ins_fact AS (
			-- the tickets' roll-up rows (repairsys.ticket_fact, whose triggers
			-- are off with the others), from the story as ticket_fact_recomputed()
			-- reads it back: the invoice's lines and their amounts, the part
			-- issued at its cost, the rating; a first-time fix unless a later
			-- ticket repaired the unit again (set after the batches, below).
			-- check_invariants() compares them with the recomputation
			-- (test/pgtap/demo_scale.sql)
			INSERT INTO repairsys.ticket_fact (ticket_id, service_center_id, month, service_type, counted, technician_id, labor_minutes,
			                                   travel_km, opened_at, resolved_at, resolve_by, invoice_lines, revenue, parts_cost, rating,
			                                   closed_month, closed, complaint, first_fix, resolution_hours)
			SELECT s.id, s.center_id, repairsys.ticket_month(s.opened_at, s.time_zone), s.service_type, x.role <> 'cancelled',
			       CASE WHEN s.did_assign THEN s.tech END, CASE WHEN s.did_resolve THEN s.labor END, CASE WHEN s.did_resolve THEN s.km END,
			       s.opened_at, CASE WHEN s.did_resolve THEN s.t_resolve END, s.resolve_by,
			       CASE WHEN s.did_invoice THEN s.bill_lines ELSE 0 END, CASE WHEN s.did_invoice THEN s.bill_amount ELSE 0.00 END,
			       CASE WHEN s.has_part AND s.did_resolve THEN pt.unit_cost ELSE 0.00 END,
			       CASE WHEN s.did_rate THEN s.stars END,
			       repairsys.ticket_month(CASE WHEN s.did_cancel THEN s.t_cancel WHEN s.did_close THEN s.t_close END, s.time_zone),
			       x.role = 'closed', s.did_rate AND s.stars <= 2 AND s.r_complaint < 0.6, s.did_resolve,
			       repairsys.resolution_hours(s.resolve_within, s.opened_at, CASE WHEN s.did_resolve THEN s.t_resolve END, s.closed,
			                                  CASE WHEN s.respond_within IS NOT NULL OR s.resolve_within IS NOT NULL THEN s.time_zone END,
			                                  s.open_days, s.works_as)
			  FROM s JOIN repairsys.ticket_status x ON x.code = s.status
			  LEFT JOIN repairsys.part pt ON pt.sku = s.sku
			RETURNING 1
		), ins_follow_up AS (
			-- the call after closure and the call on a complaint; those due a
			-- day before now were made
			INSERT INTO repairsys.follow_up (ticket_id, service_center_id, reason, due_at, done_at, outcome, created_at)
			SELECT x.id, x.center_id, x.reason, x.due_at,
			       CASE WHEN x.due_at < v_now - interval '1 day' THEN x.due_at END,
			       CASE WHEN x.due_at < v_now - interval '1 day' THEN 'Demo: the customer was called' END, x.created_at
			  FROM (SELECT s.id, s.center_id, 'after_closure' AS reason, s.t_close + pg_catalog.make_interval(days => v_fu_days) AS due_at,
			               s.t_close AS created_at
			          FROM s WHERE s.did_close
			        UNION ALL
			        SELECT s.id, s.center_id, 'complaint', s.t_fb + v_fu_cpl, s.t_fb
			          FROM s WHERE s.did_rate AND s.stars <= 2 AND s.r_complaint < 0.6) x
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM ins_ticket) + (SELECT count(*) FROM ins_history) + (SELECT count(*) FROM ins_revision)
		       + (SELECT count(*) FROM ins_part) + (SELECT count(*) FROM ins_issue) + (SELECT count(*) FROM ins_invoice)
		       + (SELECT count(*) FROM ins_lines) + (SELECT count(*) FROM ins_payment) + (SELECT count(*) FROM ins_feedback)
		       + (SELECT count(*) FROM ins_follow_up) + (SELECT count(*) FROM ins_fact)
		  INTO STRICT v_rows;
		v_written := v_written + v_rows;
		lo := lo + batch;
	END LOOP;

	-- the derived rows the disabled triggers keep: the stock (receipts that
	-- cover every issue and reservation, numbered first), the technicians'
	-- load, and capacities that hold the open tickets the history left them
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, unit_cost, at, actor, note, seq)
	SELECT x.sku, x.center_id, 'receipt', x.need + 5 + (x.need / 10), pt.unit_cost, v_start - interval '1 day', CURRENT_USER,
	       'Demo: opening stock', v_receipt_seq[x.o]
	  FROM (SELECT c.center_id, k.sku, pg_catalog.row_number() OVER (ORDER BY c.o, k.o) AS o, coalesce(u.need, 0)::integer AS need
	          FROM pg_catalog.unnest(v_centers) WITH ORDINALITY AS c(center_id, o)
	         CROSS JOIN pg_catalog.unnest(skus) WITH ORDINALITY AS k(sku, o)
	          LEFT JOIN (SELECT tp.service_center_id, tp.sku, count(*) AS need
	                       FROM repairsys.ticket_part tp
	                      WHERE tp.service_center_id = ANY (v_centers) AND tp.state IN ('used', 'reserved')
	                      GROUP BY 1, 2) u ON u.service_center_id = c.center_id AND u.sku = k.sku) x
	  JOIN repairsys.part pt ON pt.sku = x.sku;
	INSERT INTO repairsys.stock (sku, service_center_id, on_hand, reserved)
	SELECT m.sku, m.service_center_id, m.on_hand, coalesce(r.reserved, 0)
	  FROM (SELECT x.sku, x.service_center_id, sum(x.qty) AS on_hand
	          FROM repairsys.stock_movement x
	         WHERE x.service_center_id = ANY (v_centers)
	         GROUP BY 1, 2) m
	  LEFT JOIN (SELECT tp.service_center_id, tp.sku, count(*) AS reserved
	               FROM repairsys.ticket_part tp
	              WHERE tp.service_center_id = ANY (v_centers) AND tp.state = 'reserved'
	              GROUP BY 1, 2) r ON r.service_center_id = m.service_center_id AND r.sku = m.sku;
	-- (the tickets of the new centers, and their feedback by its key's range:
	-- this call's ticket ids, not every company's)
	SELECT min(t.id), max(t.id) INTO v_t_lo, v_t_hi FROM repairsys.ticket t WHERE t.service_center_id = ANY (v_centers);
	INSERT INTO repairsys.technician_load AS l (technician_id, open_tickets, rating_count, rating_sum)
	SELECT te.id, coalesce(k.open_tickets, 0), coalesce(k.rating_count, 0), coalesce(k.rating_sum, 0)
	  FROM repairsys.technician te
	  LEFT JOIN (SELECT t.technician_id, count(*) FILTER (WHERE t.closed_at IS NULL) AS open_tickets,
	                    count(fb.ticket_id) AS rating_count, sum(fb.rating) AS rating_sum
	               FROM repairsys.ticket t
	               LEFT JOIN (SELECT * FROM repairsys.feedback x WHERE x.ticket_id BETWEEN v_t_lo AND v_t_hi) fb ON fb.ticket_id = t.id
	              WHERE t.service_center_id = ANY (v_centers) AND t.technician_id IS NOT NULL
	              GROUP BY t.technician_id) k ON k.technician_id = te.id
	 WHERE te.id = ANY (v_techs)
	ON CONFLICT (technician_id) DO UPDATE
	   SET open_tickets = l.open_tickets + excluded.open_tickets,
	       rating_count = l.rating_count + excluded.rating_count,
	       rating_sum = l.rating_sum + excluded.rating_sum;
	FOR i IN 1..coalesce(pg_catalog.array_length(disabled, 1), 0) LOOP
		EXECUTE disabled[i];
	END LOOP;
	IF v_replica THEN
		PERFORM pg_catalog.set_config('session_replication_role', 'origin', true);
	END IF;
	UPDATE repairsys.technician te SET capacity = greatest(te.capacity, l.open_tickets)
	  FROM repairsys.technician_load l
	 WHERE l.technician_id = te.id AND te.id = ANY (v_techs) AND l.open_tickets > te.capacity;
	RAISE DEBUG 'demo_load: % tickets and % rows of their stories written', tickets, v_written;
	-- the roll-ups of the report views (71_rollups.sql), whose row triggers
	-- were off with the others.  First the statistics of what was written
	-- (the new centers are unknown to the planner until then), and nested
	-- loops allowed again: what follows reads this call's rows through their
	-- keys, not by scanning every company's.  The tickets' rows were written
	-- with the batches; what they could not know is a later ticket that
	-- repaired a unit again within rework_window: such tickets are no
	-- first-time fix (a unit's tickets are spaced further apart than the
	-- window, so none is expected; the check makes the rows exact whatever
	-- the calendar's weights do to the spacing).  Then the customers' rows,
	-- recomputed for the centers written (a customer's tickets are in every
	-- batch).  The units, customers and tickets are this call's, seen by no
	-- other transaction until it commits, so no other writer can change these
	-- rows and nothing is locked beyond them: loads side by side do not wait
	-- for each other, as they would for rollup_rebuild's lock
	ANALYZE repairsys.ticket, repairsys.invoice, repairsys.invoice_line, repairsys.ticket_part, repairsys.feedback,
	        repairsys.payment, repairsys.customer, repairsys.asset;
	PERFORM pg_catalog.set_config('enable_nestloop', 'on', true);
	UPDATE repairsys.ticket_fact f SET first_fix = false
	  FROM (SELECT DISTINCT p.id
	          FROM repairsys.ticket p
	          JOIN repairsys.ticket r ON r.asset_id = p.asset_id AND r.service_type = p.service_type AND r.id <> p.id
	           AND r.status_role <> 'cancelled' AND r.opened_at > p.resolved_at
	           AND r.opened_at <= p.resolved_at + v_rework_iv
	         WHERE p.service_center_id = ANY (v_centers) AND r.service_center_id = ANY (v_centers)
	           AND p.resolved_at IS NOT NULL) rw
	 WHERE f.ticket_id = rw.id AND f.ticket_id BETWEEN v_t_lo AND v_t_hi AND f.first_fix;
	-- (the owner who is not a superuser wrote the customers and units with
	-- their triggers on, which made these customers' rows as they came)
	DELETE FROM repairsys.customer_rollup r
	 WHERE r.customer_id BETWEEN v_custs[1] AND v_custs[n_cust]
	   AND r.customer_id IN (SELECT c.id FROM repairsys.customer c WHERE c.service_center_id = ANY (v_centers));
	INSERT INTO repairsys.customer_rollup SELECT * FROM repairsys.customer_rollup_recomputed(v_centers);
	ANALYZE repairsys.ticket_fact, repairsys.customer_rollup;
	RETURN tickets;
END
$$;
COMMENT ON FUNCTION repairsys.demo_load_bulk(integer, integer, integer, text) IS 'The set-based path of demo_load (more than 2000 tickets or more than one month): a company sized for the volume and tickets over the last months months, written as an import by the table owner with their history, estimates, parts, invoices, payments, feedback and follow-ups (docs/reports.md)';
