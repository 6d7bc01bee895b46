-- upgrade-fragment-cost.sql: what brings a database with repairsys 1.1 (main
-- at 736e2cf) to the state of branch cost (issue 21, items 1, 2, 5, 6, 7), for
-- the author of repairsys--1.1--1.2.sql.  Objects that existed and changed,
-- in the order the upgrade must run them:
--
--   part 1  service_center.language (a new column of an old table) and
--           demo_load() (changed: the technician is drawn once per ticket);
--           anywhere before part 2
--   (then the entirely new piece src/sql/26_tables_cost.sql, as it is)
--   part 2  src/sql/72_cost.sql: new objects (setting overhead_driver,
--           month_start, month_elapsed, overhead_allocation) and the two old
--           views it now defines, ticket_cost and service_benefit, replaced
--           with their old columns first and the new ones appended.  CREATE OR
--           REPLACE VIEW replaces the view's options, so security_invoker is
--           set again after them (their grants are kept)
--   (then the entirely new piece src/sql/73_cost_reports.sql, as it is)
--   part 3  what 85_finite.sql, 90_security.sql and 99_finish.sql decide for the new
--           tables, views and the SECURITY DEFINER function open_recall()
--
-- Parts 1 and 2 are generated from the pieces (src/sql/70_reports.sql,
-- 72_cost.sql); part 3 is written out from 90_security.sql's decision rows.

------------------------------------------------------------------------------
-- part 1
------------------------------------------------------------------------------
ALTER TABLE repairsys.service_center ADD COLUMN language text CHECK (language IN ('en', 'zh-CN'));
COMMENT ON COLUMN repairsys.service_center.language IS 'Language of the center''s reports (report_html): en or zh-CN; NULL: the language setting where there is one, else en';

CREATE OR REPLACE FUNCTION repairsys.demo_load(tickets integer, seed integer)
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
		   SET status = repairsys.next_state(x.status, 'resolved'),
		       labor_minutes = st.est_minutes_low + pg_catalog.round((pg_catalog.random() * (st.est_minutes_high - st.est_minutes_low))::numeric),
		       travel_km = pg_catalog.round((pg_catalog.random() * 30)::numeric, 1)
		 WHERE x.id = tid;
		IF pg_catalog.random() < 0.06 THEN
			UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'active') WHERE x.id = tid;
			UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'resolved') WHERE x.id = tid;
		END IF;
		last_tid := tid;
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
COMMENT ON FUNCTION repairsys.demo_load(integer, integer) IS 'Demo data generator: 3 centers, 12 technicians, customers with assets, demo_* service types with SLA policies, stocked parts, and the given number of tickets moved through the life cycle with labor, parts, feedback, invoices and payments; reproducible for a seed (docs/reports.md)';

------------------------------------------------------------------------------
-- part 2 (after 26_tables_cost.sql)
------------------------------------------------------------------------------
-- Cost of the service (DESIGN.md section 18, docs/reports.md): overheads
-- allocated to the month's tickets, the cost of each ticket with its share of
-- them (ticket_cost), and the service-benefit report (service_benefit).  The
-- tables are in 26_tables_cost.sql; budgets, reputation, recalls and the
-- manager's page, which read these views, in 73_cost_reports.sql.
--
-- A ticket belongs to the month it was opened in, in its center's time zone.

INSERT INTO repairsys.setting (name, value, description, dump, type, min_value, choices) VALUES
	('overhead_driver', 'labor_minutes', 'How an overhead is shared among the month''s tickets of its center: labor_minutes (recorded labor), tickets (equally) or revenue (invoiced before tax)', false, 'choice', NULL,
	 ARRAY['labor_minutes', 'tickets', 'revenue']);

------------------------------------------------------------------------------
-- Months in a center's time zone
------------------------------------------------------------------------------
-- The instant a month (its first day) starts in a time zone.
CREATE FUNCTION repairsys.month_start(month date, time_zone text)
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT (month::timestamp without time zone) AT TIME ZONE coalesce(time_zone, 'UTC');
END;
COMMENT ON FUNCTION repairsys.month_start(date, text) IS 'The instant the month (given by any of its days) starts in the time zone (NULL: UTC)';

-- The share (0..1) of a month that has passed at an instant, in a time zone:
-- 0 before it starts, 1 after it ends.
CREATE FUNCTION repairsys.month_elapsed(month date, time_zone text, at timestamptz)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT least(1, greatest(0,
	         round((extract(epoch FROM at - repairsys.month_start(month, time_zone))
	                / extract(epoch FROM repairsys.month_start((month + interval '1 month')::date, time_zone)
	                                     - repairsys.month_start(month, time_zone)))::numeric, 6)));
END;
COMMENT ON FUNCTION repairsys.month_elapsed(date, text, timestamptz) IS 'Share (0..1, 6 decimals) of the month (first day given) that has passed at the instant, in the time zone: 0 before it, 1 after it';

------------------------------------------------------------------------------
-- Overheads allocated to tickets
------------------------------------------------------------------------------
-- Every overhead is shared among the tickets (not cancelled) opened at its
-- center in its month, in proportion to the driver (setting overhead_driver).
-- Cents are placed by the largest remainder, as installments are: each ticket
-- gets the whole cents of its exact share, and the cents left over go one
-- each to the tickets with the largest remainders (ties: lower ticket id), so
-- the allocations of one overhead sum exactly to it.  The arithmetic is done
-- in whole cents and whole driver units (labor in hundredths of a minute,
-- revenue in cents), so no rounding happens anywhere else.  When the driver is
-- 0 for every ticket of the month (no labor recorded yet), the overhead is
-- shared equally.  An overhead of a month without tickets is not allocated
-- (budget_status still counts it).
CREATE VIEW repairsys.overhead_allocation AS
WITH drv AS (
	SELECT repairsys.setting_value('overhead_driver') AS driver
), w AS (
	SELECT o.id AS overhead_id, o.service_center_id, o.month, o.cost_class, o.amount, d.driver, t.id AS ticket_id,
	       CASE d.driver WHEN 'tickets' THEN 1::numeric
	                     WHEN 'labor_minutes' THEN coalesce(t.labor_minutes, 0)
	                     ELSE greatest(coalesce(r.revenue, 0), 0) END AS driver_value
	  FROM repairsys.overhead o
	  JOIN repairsys.service_center sc ON sc.id = o.service_center_id
	 CROSS JOIN drv d
	  JOIN repairsys.ticket t ON t.service_center_id = o.service_center_id
	   AND t.opened_at >= repairsys.month_start(o.month, sc.time_zone)
	   AND t.opened_at < repairsys.month_start((o.month + interval '1 month')::date, sc.time_zone)
	   AND t.status_role <> 'cancelled'
	  LEFT JOIN LATERAL (SELECT sum(l.amount) AS revenue
	                       FROM repairsys.invoice i JOIN repairsys.invoice_line l ON l.invoice_id = i.id
	                      WHERE i.ticket_id = t.id AND d.driver = 'revenue') r ON true
), units AS (
	SELECT w.*, pg_catalog.round(w.amount * 100) AS cents,
	       CASE WHEN sum(w.driver_value) OVER (PARTITION BY w.overhead_id) > 0 THEN pg_catalog.round(w.driver_value * 100) ELSE 1 END AS weight
	  FROM w
), shares AS (
	SELECT u.*, pg_catalog.div(u.cents * u.weight, sum(u.weight) OVER (PARTITION BY u.overhead_id)) AS whole,
	       pg_catalog.mod(u.cents * u.weight, sum(u.weight) OVER (PARTITION BY u.overhead_id)) AS rest
	  FROM units u
), ranked AS (
	SELECT s.*, s.cents - sum(s.whole) OVER (PARTITION BY s.overhead_id) AS left_over,
	       row_number() OVER (PARTITION BY s.overhead_id ORDER BY s.rest DESC, s.ticket_id) AS place
	  FROM shares s
)
SELECT x.overhead_id, x.service_center_id, x.month, x.cost_class, x.ticket_id, x.driver, x.driver_value,
       ((x.whole + CASE WHEN x.place <= x.left_over THEN 1 ELSE 0 END) / 100.0)::numeric(14,2) AS amount
  FROM ranked x;
COMMENT ON VIEW repairsys.overhead_allocation IS 'Each overhead''s share of each ticket of its center and month, by the driver of setting overhead_driver; the shares of one overhead sum exactly to it (largest remainder, to the cent)';
COMMENT ON COLUMN repairsys.overhead_allocation.overhead_id IS 'Overhead allocated';
COMMENT ON COLUMN repairsys.overhead_allocation.service_center_id IS 'Service center of the overhead and the ticket';
COMMENT ON COLUMN repairsys.overhead_allocation.month IS 'Month of the overhead (the ticket was opened in it, in the center''s time zone)';
COMMENT ON COLUMN repairsys.overhead_allocation.cost_class IS 'Indirect cost class of the overhead';
COMMENT ON COLUMN repairsys.overhead_allocation.ticket_id IS 'Ticket that bears the share';
COMMENT ON COLUMN repairsys.overhead_allocation.driver IS 'Driver used: labor_minutes, tickets or revenue';
COMMENT ON COLUMN repairsys.overhead_allocation.driver_value IS 'The ticket''s quantity of the driver: labor minutes, 1, or revenue before tax (when it is 0 for every ticket of the month, the overhead is shared equally)';
COMMENT ON COLUMN repairsys.overhead_allocation.amount IS 'Share of the overhead borne by the ticket';

------------------------------------------------------------------------------
-- Cost and benefit
------------------------------------------------------------------------------
CREATE OR REPLACE VIEW repairsys.ticket_cost AS
SELECT d.ticket_id, d.revenue, d.labor_cost, d.parts_cost, d.travel_cost, d.cost, d.revenue - d.cost AS margin,
       d.cost AS direct_cost,
       coalesce(a.indirect, 0.00) AS indirect_cost,
       d.cost + coalesce(a.indirect, 0.00) AS full_cost,
       d.revenue - d.cost - coalesce(a.indirect, 0.00) AS full_margin
  FROM (
	SELECT t.id AS ticket_id,
	       coalesce(r.revenue, 0.00) AS revenue,
	       round(coalesce(tech.hourly_cost, 0) * coalesce(t.labor_minutes, 0) / 60, 2) AS labor_cost,
	       coalesce(p.parts_cost, 0.00) AS parts_cost,
	       round(coalesce(t.travel_km, 0) * repairsys.setting_value('travel_cost_per_km')::numeric, 2) AS travel_cost,
	       round(coalesce(tech.hourly_cost, 0) * coalesce(t.labor_minutes, 0) / 60, 2) + coalesce(p.parts_cost, 0.00)
	         + round(coalesce(t.travel_km, 0) * repairsys.setting_value('travel_cost_per_km')::numeric, 2) AS cost
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.technician tech ON tech.id = t.technician_id
	  LEFT JOIN LATERAL (SELECT sum(l.amount) AS revenue FROM repairsys.invoice i JOIN repairsys.invoice_line l ON l.invoice_id = i.id
	                      WHERE i.ticket_id = t.id) r ON true
	  LEFT JOIN LATERAL (SELECT sum(-m.qty * coalesce(m.unit_cost, pt.unit_cost)) AS parts_cost
	                       FROM repairsys.stock_movement m JOIN repairsys.part pt ON pt.sku = m.sku
	                      WHERE m.ticket_id = t.id AND m.kind IN ('issue', 'return')) p ON true
  ) d
  LEFT JOIN (SELECT oa.ticket_id, sum(oa.amount) AS indirect FROM repairsys.overhead_allocation oa GROUP BY oa.ticket_id) a
    ON a.ticket_id = d.ticket_id;
COMMENT ON VIEW repairsys.ticket_cost IS 'Revenue and cost of each ticket: direct cost (labor, parts, travel) and its share of the overheads (indirect cost)';
COMMENT ON COLUMN repairsys.ticket_cost.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_cost.revenue IS 'Invoiced amount before tax (0 until invoiced)';
COMMENT ON COLUMN repairsys.ticket_cost.labor_cost IS 'Technician hourly_cost x labor_minutes / 60';
COMMENT ON COLUMN repairsys.ticket_cost.parts_cost IS 'Units issued to the ticket (less returns) at their ledger unit cost';
COMMENT ON COLUMN repairsys.ticket_cost.travel_cost IS 'travel_km x setting travel_cost_per_km';
COMMENT ON COLUMN repairsys.ticket_cost.cost IS 'labor_cost + parts_cost + travel_cost (the direct cost)';
COMMENT ON COLUMN repairsys.ticket_cost.margin IS 'revenue - cost (before overheads)';
COMMENT ON COLUMN repairsys.ticket_cost.direct_cost IS 'labor_cost + parts_cost + travel_cost (the same as cost)';
COMMENT ON COLUMN repairsys.ticket_cost.indirect_cost IS 'The ticket''s share of its center''s overheads of its month (overhead_allocation)';
COMMENT ON COLUMN repairsys.ticket_cost.full_cost IS 'direct_cost + indirect_cost';
COMMENT ON COLUMN repairsys.ticket_cost.full_margin IS 'revenue - full_cost';

CREATE OR REPLACE VIEW repairsys.service_benefit AS
SELECT date_trunc('month', t.opened_at AT TIME ZONE coalesce(sc.time_zone, 'UTC'))::date AS month,
       t.service_center_id,
       t.service_type,
       count(*) AS tickets,
       sum(c.revenue) AS revenue,
       sum(c.labor_cost) AS labor_cost,
       sum(c.parts_cost) AS parts_cost,
       sum(c.travel_cost) AS travel_cost,
       sum(c.margin) AS margin,
       CASE WHEN sum(c.cost) > 0 THEN round(sum(c.margin) / sum(c.cost), 4) END AS roi,
       round(avg(fb.rating), 2) AS avg_rating,
       round(100.0 * count(*) FILTER (WHERE t.resolved_at <= t.resolve_by)
             / nullif(count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.resolve_by IS NOT NULL), 0), 1) AS sla_met_pct,
       round((avg(extract(epoch FROM t.resolved_at - t.opened_at)) / 3600)::numeric, 2) AS mean_resolution_hours,
       sum(c.direct_cost) AS direct_cost,
       sum(c.indirect_cost) AS indirect_cost,
       sum(c.full_cost) AS full_cost,
       sum(c.full_margin) AS full_margin,
       CASE WHEN sum(c.full_cost) > 0 THEN round(sum(c.full_margin) / sum(c.full_cost), 4) END AS full_roi
  FROM repairsys.ticket t
  LEFT JOIN repairsys.service_center sc ON sc.id = t.service_center_id
  JOIN repairsys.ticket_cost c ON c.ticket_id = t.id
  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
 WHERE t.status_role <> 'cancelled'
 GROUP BY 1, 2, 3;
COMMENT ON VIEW repairsys.service_benefit IS 'Cost and benefit of the service per month (of opening, in the center''s time zone), service center and service type';
COMMENT ON COLUMN repairsys.service_benefit.month IS 'First day of the month the tickets were opened';
COMMENT ON COLUMN repairsys.service_benefit.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.service_benefit.service_type IS 'Service type';
COMMENT ON COLUMN repairsys.service_benefit.tickets IS 'Tickets opened (cancelled ones left out)';
COMMENT ON COLUMN repairsys.service_benefit.revenue IS 'Invoiced amounts before tax';
COMMENT ON COLUMN repairsys.service_benefit.labor_cost IS 'Labor cost';
COMMENT ON COLUMN repairsys.service_benefit.parts_cost IS 'Parts cost';
COMMENT ON COLUMN repairsys.service_benefit.travel_cost IS 'Travel cost';
COMMENT ON COLUMN repairsys.service_benefit.margin IS 'revenue - (labor + parts + travel cost)';
COMMENT ON COLUMN repairsys.service_benefit.roi IS '(revenue - cost) / cost on the direct cost (NULL when the cost is 0); full_roi counts the overheads';
COMMENT ON COLUMN repairsys.service_benefit.avg_rating IS 'Average customer rating (1..5)';
COMMENT ON COLUMN repairsys.service_benefit.sla_met_pct IS 'Percent of resolved tickets resolved by resolve_by';
COMMENT ON COLUMN repairsys.service_benefit.mean_resolution_hours IS 'Mean wall-clock hours from opening to resolution';
COMMENT ON COLUMN repairsys.service_benefit.direct_cost IS 'labor_cost + parts_cost + travel_cost';
COMMENT ON COLUMN repairsys.service_benefit.indirect_cost IS 'Overheads allocated to the tickets (overhead_allocation)';
COMMENT ON COLUMN repairsys.service_benefit.full_cost IS 'direct_cost + indirect_cost';
COMMENT ON COLUMN repairsys.service_benefit.full_margin IS 'revenue - full_cost';
COMMENT ON COLUMN repairsys.service_benefit.full_roi IS '(revenue - full_cost) / full_cost: the ROI on the full cost (NULL when it is 0)';

ALTER VIEW repairsys.ticket_cost SET (security_invoker = true);
ALTER VIEW repairsys.service_benefit SET (security_invoker = true);

------------------------------------------------------------------------------
-- part 3 (after 73_cost_reports.sql)
------------------------------------------------------------------------------
-- finite numbers and times (85_finite.sql)
ALTER TABLE repairsys.budget ADD CONSTRAINT budget_month_finite CHECK (pg_catalog.isfinite(month));
ALTER TABLE repairsys.budget ADD CONSTRAINT budget_amount_finite
	CHECK (amount OPERATOR(pg_catalog.<>) 'NaN' AND amount OPERATOR(pg_catalog.>) '-Infinity' AND amount OPERATOR(pg_catalog.<) 'Infinity');
ALTER TABLE repairsys.overhead ADD CONSTRAINT overhead_month_finite CHECK (pg_catalog.isfinite(month));
ALTER TABLE repairsys.overhead ADD CONSTRAINT overhead_amount_finite
	CHECK (amount OPERATOR(pg_catalog.<>) 'NaN' AND amount OPERATOR(pg_catalog.>) '-Infinity' AND amount OPERATOR(pg_catalog.<) 'Infinity');
ALTER TABLE repairsys.recall ADD CONSTRAINT recall_opened_at_finite CHECK (pg_catalog.isfinite(opened_at));

-- grants and row-level security (90_security.sql): budgets and overheads
-- are the admin's, the dispatcher and the auditor read them; recalls and
-- their tickets are written only by open_recall(): the admin reads and may
-- delete them, the dispatcher and the auditor read them
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['budget', 'overhead', 'recall', 'recall_ticket'] LOOP
		EXECUTE pg_catalog.format('ALTER TABLE repairsys.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE pg_catalog.format('REVOKE ALL ON repairsys.%I FROM PUBLIC', t);
		EXECUTE pg_catalog.format('GRANT %s ON repairsys.%I TO repairsys_admin',
			CASE WHEN t IN ('recall', 'recall_ticket') THEN 'SELECT, DELETE' ELSE 'SELECT, INSERT, UPDATE, DELETE' END, t);
		EXECUTE pg_catalog.format('CREATE POLICY admin ON repairsys.%I FOR ALL TO repairsys_admin USING (true) WITH CHECK (true)', t);
		EXECUTE pg_catalog.format('GRANT SELECT ON repairsys.%I TO repairsys_auditor', t);
		EXECUTE pg_catalog.format('CREATE POLICY auditor ON repairsys.%I FOR SELECT TO repairsys_auditor USING (true)', t);
		EXECUTE pg_catalog.format('GRANT SELECT ON repairsys.%I TO repairsys_dispatcher', t);
		EXECUTE pg_catalog.format('CREATE POLICY dispatcher ON repairsys.%I FOR SELECT TO repairsys_dispatcher USING (true)', t);
	END LOOP;
	-- the new views apply the caller's rights, as every view does
	FOREACH t IN ARRAY ARRAY['overhead_allocation', 'budget_status', 'reputation', 'recall_progress'] LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON repairsys.%I FROM PUBLIC', t);
		EXECUTE pg_catalog.format('ALTER VIEW repairsys.%I SET (security_invoker = true)', t);
		EXECUTE pg_catalog.format('GRANT SELECT ON repairsys.%I TO repairsys_admin, repairsys_dispatcher, repairsys_auditor, repairsys_technician, repairsys_customer', t);
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION repairsys.open_recall(text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION repairsys.open_recall(text, text, text, text, text) TO repairsys_admin, repairsys_dispatcher;

-- the identity sequences of the new dumped tables are dumped too (99_finish.sql)
SELECT pg_catalog.pg_extension_config_dump('repairsys.overhead_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.recall_id_seq', '');
