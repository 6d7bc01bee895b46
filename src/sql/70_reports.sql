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
-- the later tickets on the same asset and service type (rework).
CREATE INDEX ticket_technician_resolved_idx ON repairsys.ticket (technician_id, resolved_at) WHERE technician_id IS NOT NULL;
CREATE INDEX ticket_asset_type_idx ON repairsys.ticket (asset_id, service_type, opened_at) WHERE asset_id IS NOT NULL;

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
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL) AS resolved,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.reopen_count = 0 AND NOT EXISTS (
	            SELECT 1 FROM repairsys.ticket r
	             WHERE r.asset_id = t.asset_id AND r.service_type = t.service_type AND r.id <> t.id
	               AND r.status_role <> 'cancelled'
	               AND r.opened_at > t.resolved_at
	               AND r.opened_at <= t.resolved_at + repairsys.setting_value('rework_window')::interval)) AS first_fixes,
	       avg(date_part('epoch', CASE WHEN t.sla_resolve_within IS NOT NULL
	                                   THEN repairsys.sla_elapsed(t.sla_resolve_within, t.opened_at, t.resolved_at,
	                                                              repairsys.closed_dates(t.service_center_id), t.sla_time_zone,
	                                                              od.days, od.works_as)
	                                   ELSE t.resolved_at - t.opened_at END) / 3600)
	         FILTER (WHERE t.resolved_at IS NOT NULL)::numeric AS business_hours,
	       count(*) FILTER (WHERE t.resolved_at <= t.resolve_by) AS sla_met,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.resolve_by IS NOT NULL) AS sla_measured,
	       avg(fb.rating) AS avg_rating,
	       sum(t.labor_minutes) FILTER (WHERE t.resolved_at >= now() - interval '30 days') AS labor_minutes_30d
	  FROM repairsys.ticket t
	 CROSS JOIN LATERAL repairsys.open_dates(t.service_center_id) od
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	 WHERE t.technician_id = tech.id AND t.status_role <> 'cancelled'
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

CREATE VIEW repairsys.customer_profile AS
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
                 OR k.avg_rating < repairsys.setting_value('segment_at_risk_rating')::numeric THEN 'at_risk'
            WHEN coalesce(a.purchase_total, 0) + coalesce(p.total_spent, 0)
                 >= repairsys.setting_value('segment_high_value_total')::numeric THEN 'high_value'
            WHEN coalesce(k.recent_tickets, 0) >= repairsys.setting_value('segment_frequent_repairs')::integer THEN 'frequent_repair'
            ELSE 'regular' END AS segment,
       round(repairsys.churn_risk(c.id, now())::numeric, 4) AS churn_risk
  FROM repairsys.customer c
  LEFT JOIN LATERAL (
	SELECT count(*) AS assets, sum(x.purchase_price) AS purchase_total
	  FROM repairsys.asset x WHERE x.customer_id = c.id
  ) a ON true
  LEFT JOIN LATERAL (
	SELECT count(*) AS tickets,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL) AS repairs,
	       avg(fb.rating) AS avg_rating,
	       count(*) FILTER (WHERE fb.complaint) AS complaints,
	       count(*) FILTER (WHERE fb.complaint AND fb.at >= now() - repairsys.setting_value('segment_at_risk_window')::interval) AS recent_complaints,
	       count(*) FILTER (WHERE t.opened_at >= now() - repairsys.setting_value('segment_frequent_window')::interval) AS recent_tickets,
	       max(t.opened_at) AS last_ticket_at
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	 WHERE t.customer_id = c.id AND t.status_role <> 'cancelled'
  ) k ON true
  LEFT JOIN LATERAL (
	SELECT sum(pm.amount) AS total_spent
	  FROM repairsys.ticket t
	  JOIN repairsys.invoice i ON i.ticket_id = t.id
	  JOIN repairsys.payment pm ON pm.invoice_id = i.id
	 WHERE t.customer_id = c.id
  ) p ON true;
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
-- Builds a small company (3 centers, 4 technicians each, 5 service types with
-- fee_tier schedules and an SLA policy per urgency, 3 parts in stock) and
-- moves `tickets` tickets through the life cycle with the real functions
-- (approve_estimate, reserve_part, issue_invoice, record_payment, the status
-- triggers).  Reproducible: setseed() from `seed`, and the data depends on
-- nothing else but now() (the transaction's start).  Resolutions are stamped
-- now() by the life cycle, so tickets are opened 1 to 96 hours back; repeat
-- visits (rework) are opened at clock_timestamp(), after the repair they
-- repeat, and stay unresolved.  Catalog rows (service types demo_*, parts
-- DEMO-*) are shared by every load; centers, people and tickets are new.
CREATE FUNCTION repairsys.demo_load(tickets integer, seed integer)
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
	IF tickets > 100000 THEN
		RAISE EXCEPTION 'cannot load more than 100000 tickets at once' USING ERRCODE = '54000',
			DETAIL = pg_catalog.format('%s tickets were asked for.', tickets);
	END IF;
	IF seed IS NULL THEN
		RAISE EXCEPTION 'seed must not be null' USING ERRCODE = '22023';
	END IF;
	PERFORM pg_catalog.setseed(pg_catalog.sin(seed::float8));
	tag := 'D' || seed || '-' || (SELECT count(*) FROM repairsys.service_center);

	-- the catalog, shared by every load
	INSERT INTO repairsys.service_type (code, name, required_skill, min_skill_level, labor_fee, travel_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('demo_ac_repair', 'Air conditioner repair (demo)', 'hvac', 3, 'base=20, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80', '0-10:0, 10+:2.50', 50.00, 45, 150),
	       ('demo_washer_repair', 'Washing machine repair (demo)', 'appliance', 2, '0-30:2.50, 30-90:2.00, 90+:1.60, min=60', '0-15:0, 15+:2.00', 30.00, 30, 90),
	       ('demo_tv_repair', 'Television repair (demo)', 'electronics', 3, '0-60:3.00, 60+:2.20', '0-15:0, 15+:2.00', 40.00, 40, 120),
	       ('demo_fridge_repair', 'Refrigerator repair (demo)', 'appliance', 3, 'base=30, 0-90:2.20, 90+:1.80', '0-10:0, 10+:2.20', 40.00, 60, 180),
	       ('demo_phone_screen', 'Phone screen replacement (demo)', 'electronics', 2, '0+:1.50, volume, min=30', NULL, 0.00, 20, 40)
	ON CONFLICT (code) DO NOTHING;
	INSERT INTO repairsys.sla_policy (service_type, urgency, respond_within, resolve_within)
	SELECT s.code, u.urgency, u.respond::repairsys.sla_interval, u.resolve::repairsys.sla_interval
	  FROM pg_catalog.unnest(types) AS s(code)
	 CROSS JOIN (VALUES ('normal', '4h in mon-sun 08:00-20:00 Asia/Shanghai', '36h in mon-sun 08:00-20:00 Asia/Shanghai'),
	                    ('urgent', '2h in mon-sun 08:00-20:00 Asia/Shanghai', '12h in mon-sun 08:00-20:00 Asia/Shanghai'),
	                    ('emergency', '1h', '8h')) AS u(urgency, respond, resolve)
	ON CONFLICT (service_type, urgency) DO NOTHING;
	INSERT INTO repairsys.part (sku, name, unit_cost, unit_price, lead_time_days, min_stock)
	VALUES ('DEMO-CAP', 'Compressor capacitor (demo)', 12.00, 35.00, 5, 6),
	       ('DEMO-PUMP', 'Washer drain pump (demo)', 45.00, 120.00, 10, 3),
	       ('DEMO-BOARD', 'TV main board (demo)', 260.00, 680.00, 14, 2),
	       ('DEMO-SCREEN', 'Phone screen (demo)', 180.00, 420.00, 7, 4)
	ON CONFLICT (sku) DO NOTHING;

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
		IF (SELECT (SELECT sum(b.amount + b.tax_amount) FROM repairsys.compute_bill(x, x.labor_minutes, x.travel_km, true) b) > c.ceiling
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
COMMENT ON FUNCTION repairsys.demo_load(integer, integer) IS 'Demo data generator: 3 centers, 12 technicians, customers with assets, demo_* service types with SLA policies, stocked parts, and the given number of tickets moved through the life cycle with labor, estimate revisions, parts, sign-offs, feedback, invoices and payments; reproducible for a seed (docs/reports.md)';
