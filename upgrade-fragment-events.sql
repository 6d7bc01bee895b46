-- upgrade-fragment-events.sql: what brings a database with repairsys as main
-- has it (1.1) to the state of branch "events" (issue 20), for the objects
-- that existed before and changed, and for what the install script's
-- catalog loops over existing pieces (85_finite.sql, 90_security.sql) do for
-- the new tables.  Not an upgrade script: the lead merges it into
-- repairsys--1.1--1.2.sql.
--
-- Order in the upgrade script: first the new pieces, whole:
--   src/sql/24_tables_events.sql  (tables event, event_clock, event_consumer,
--                                  sla_escalation (seeded), sla_escalation_fired, job_done,
--                                  customer_preference, notification_template (seeded),
--                                  notification)
--   src/sql/75_events.sql         (functions, triggers -- including the new
--                                  triggers on the old tables invoice, payment,
--                                  ticket_part and ticket -- and pg_dump registration)
-- then this fragment.
--
-- Changed existing code without an SQL statement here: src/lifecycle.c's
-- ticket_log_trg (the C function of trigger ticket_90_log, same SQL
-- declaration) now writes the repairsys.event row of every history row in
-- the same statement; it needs repairsys.event and repairsys.next_event_id()
-- from the new pieces, so the new module must not run against a 1.1 schema
-- before the upgrade (ALTER EXTENSION repairsys UPDATE right after installing
-- the new module).

-- 85_finite.sql: NaN and infinities refused on the new tables' columns
ALTER TABLE repairsys.event ADD CONSTRAINT event_at_finite CHECK (isfinite(at));
ALTER TABLE repairsys.event_clock ADD CONSTRAINT event_clock_computed_at_finite CHECK (isfinite(computed_at));
ALTER TABLE repairsys.event_consumer ADD CONSTRAINT event_consumer_acked_at_finite CHECK (isfinite(acked_at));
ALTER TABLE repairsys.event_consumer ADD CONSTRAINT event_consumer_created_at_finite CHECK (isfinite(created_at));
ALTER TABLE repairsys.job_done ADD CONSTRAINT job_done_done_at_finite CHECK (isfinite(done_at));
ALTER TABLE repairsys.job_done ADD CONSTRAINT job_done_since_finite CHECK (isfinite(since));
ALTER TABLE repairsys.notification ADD CONSTRAINT notification_at_finite CHECK (isfinite(at));
ALTER TABLE repairsys.notification ADD CONSTRAINT notification_created_at_finite CHECK (isfinite(created_at));
ALTER TABLE repairsys.sla_escalation ADD CONSTRAINT sla_escalation_at_pct_finite CHECK (((at_pct <> 'NaN'::numeric) AND (at_pct > '-Infinity'::numeric) AND (at_pct < 'Infinity'::numeric)));
ALTER TABLE repairsys.sla_escalation_fired ADD CONSTRAINT sla_escalation_fired_at_pct_finite CHECK (((at_pct <> 'NaN'::numeric) AND (at_pct > '-Infinity'::numeric) AND (at_pct < 'Infinity'::numeric)));
ALTER TABLE repairsys.sla_escalation_fired ADD CONSTRAINT sla_escalation_fired_fired_at_finite CHECK (isfinite(fired_at));
ALTER TABLE repairsys.sla_escalation_fired ADD CONSTRAINT sla_escalation_fired_reached_at_finite CHECK (isfinite(reached_at));

-- 90_security.sql: row-level security, grants and policies of the new tables
-- (the event log, event_clock, sla_escalation_fired, job_done and notification
-- are written only by the extension: no INSERT for anyone)
ALTER TABLE repairsys.customer_preference ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.customer_preference FROM PUBLIC;
GRANT DELETE, INSERT, SELECT, UPDATE ON repairsys.customer_preference TO repairsys_admin;
GRANT INSERT, SELECT ON repairsys.customer_preference TO repairsys_customer;
GRANT INSERT, SELECT, UPDATE ON repairsys.customer_preference TO repairsys_dispatcher;
GRANT SELECT ON repairsys.customer_preference TO repairsys_auditor;
GRANT UPDATE (language, channel, wechat_id) ON repairsys.customer_preference TO repairsys_customer;
CREATE POLICY admin ON repairsys.customer_preference FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.customer_preference FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY customer ON repairsys.customer_preference FOR ALL TO repairsys_customer USING ((customer_id = ( SELECT c.id
   FROM repairsys.customer c
  WHERE (c.db_role = CURRENT_USER)))) WITH CHECK ((customer_id = ( SELECT c.id
   FROM repairsys.customer c
  WHERE (c.db_role = CURRENT_USER))));
CREATE POLICY dispatcher ON repairsys.customer_preference FOR ALL TO repairsys_dispatcher USING (true) WITH CHECK (true);
ALTER TABLE repairsys.event ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.event FROM PUBLIC;
GRANT SELECT ON repairsys.event TO repairsys_admin;
GRANT SELECT ON repairsys.event TO repairsys_auditor;
GRANT SELECT ON repairsys.event TO repairsys_customer;
GRANT SELECT ON repairsys.event TO repairsys_dispatcher;
GRANT SELECT ON repairsys.event TO repairsys_technician;
CREATE POLICY admin ON repairsys.event FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.event FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY customer ON repairsys.event FOR SELECT TO repairsys_customer USING ((ticket_id = ANY (ARRAY( SELECT t.id
   FROM repairsys.ticket t))));
CREATE POLICY dispatcher ON repairsys.event FOR SELECT TO repairsys_dispatcher USING (true);
CREATE POLICY technician ON repairsys.event FOR SELECT TO repairsys_technician USING ((ticket_id = ANY (ARRAY( SELECT t.id
   FROM repairsys.ticket t))));
ALTER TABLE repairsys.event_clock ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.event_clock FROM PUBLIC;
GRANT DELETE, SELECT ON repairsys.event_clock TO repairsys_admin;
GRANT SELECT ON repairsys.event_clock TO repairsys_auditor;
CREATE POLICY admin ON repairsys.event_clock FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.event_clock FOR SELECT TO repairsys_auditor USING (true);
ALTER TABLE repairsys.event_consumer ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.event_consumer FROM PUBLIC;
GRANT DELETE, INSERT, SELECT, UPDATE ON repairsys.event_consumer TO repairsys_admin;
GRANT SELECT ON repairsys.event_consumer TO repairsys_auditor;
GRANT SELECT ON repairsys.event_consumer TO repairsys_customer;
GRANT SELECT ON repairsys.event_consumer TO repairsys_dispatcher;
GRANT SELECT ON repairsys.event_consumer TO repairsys_technician;
GRANT INSERT (name, acked_up_to) ON repairsys.event_consumer TO repairsys_customer;
GRANT INSERT (name, acked_up_to) ON repairsys.event_consumer TO repairsys_dispatcher;
GRANT INSERT (name, acked_up_to) ON repairsys.event_consumer TO repairsys_technician;
GRANT UPDATE (acked_up_to) ON repairsys.event_consumer TO repairsys_customer;
GRANT UPDATE (acked_up_to) ON repairsys.event_consumer TO repairsys_dispatcher;
GRANT UPDATE (acked_up_to) ON repairsys.event_consumer TO repairsys_technician;
CREATE POLICY admin ON repairsys.event_consumer FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.event_consumer FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY customer ON repairsys.event_consumer FOR ALL TO repairsys_customer USING ((role = CURRENT_USER)) WITH CHECK ((role = CURRENT_USER));
CREATE POLICY dispatcher ON repairsys.event_consumer FOR ALL TO repairsys_dispatcher USING ((role = CURRENT_USER)) WITH CHECK ((role = CURRENT_USER));
CREATE POLICY technician ON repairsys.event_consumer FOR ALL TO repairsys_technician USING ((role = CURRENT_USER)) WITH CHECK ((role = CURRENT_USER));
ALTER TABLE repairsys.job_done ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.job_done FROM PUBLIC;
GRANT DELETE, SELECT ON repairsys.job_done TO repairsys_admin;
GRANT SELECT ON repairsys.job_done TO repairsys_auditor;
CREATE POLICY admin ON repairsys.job_done FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.job_done FOR SELECT TO repairsys_auditor USING (true);
ALTER TABLE repairsys.notification ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.notification FROM PUBLIC;
GRANT DELETE, SELECT ON repairsys.notification TO repairsys_admin;
GRANT SELECT ON repairsys.notification TO repairsys_auditor;
GRANT SELECT ON repairsys.notification TO repairsys_customer;
GRANT SELECT ON repairsys.notification TO repairsys_dispatcher;
CREATE POLICY admin ON repairsys.notification FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.notification FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY customer ON repairsys.notification FOR SELECT TO repairsys_customer USING ((customer_id = ( SELECT c.id
   FROM repairsys.customer c
  WHERE (c.db_role = CURRENT_USER))));
CREATE POLICY dispatcher ON repairsys.notification FOR SELECT TO repairsys_dispatcher USING (true);
ALTER TABLE repairsys.notification_template ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.notification_template FROM PUBLIC;
GRANT DELETE, INSERT, SELECT, UPDATE ON repairsys.notification_template TO repairsys_admin;
GRANT SELECT ON repairsys.notification_template TO repairsys_auditor;
GRANT SELECT ON repairsys.notification_template TO repairsys_dispatcher;
CREATE POLICY admin ON repairsys.notification_template FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.notification_template FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY dispatcher ON repairsys.notification_template FOR SELECT TO repairsys_dispatcher USING (true);
ALTER TABLE repairsys.sla_escalation ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.sla_escalation FROM PUBLIC;
GRANT DELETE, INSERT, SELECT, UPDATE ON repairsys.sla_escalation TO repairsys_admin;
GRANT SELECT ON repairsys.sla_escalation TO repairsys_auditor;
GRANT SELECT ON repairsys.sla_escalation TO repairsys_dispatcher;
GRANT SELECT ON repairsys.sla_escalation TO repairsys_technician;
CREATE POLICY admin ON repairsys.sla_escalation FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.sla_escalation FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY dispatcher ON repairsys.sla_escalation FOR SELECT TO repairsys_dispatcher USING (true);
CREATE POLICY technician ON repairsys.sla_escalation FOR SELECT TO repairsys_technician USING (true);
ALTER TABLE repairsys.sla_escalation_fired ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.sla_escalation_fired FROM PUBLIC;
GRANT DELETE, SELECT ON repairsys.sla_escalation_fired TO repairsys_admin;
GRANT SELECT ON repairsys.sla_escalation_fired TO repairsys_auditor;
GRANT SELECT ON repairsys.sla_escalation_fired TO repairsys_dispatcher;
CREATE POLICY admin ON repairsys.sla_escalation_fired FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.sla_escalation_fired FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY dispatcher ON repairsys.sla_escalation_fired FOR SELECT TO repairsys_dispatcher USING (true);

-- 90_security.sql: SECURITY DEFINER functions of the new piece: nobody but
-- the roles that need one
REVOKE ALL ON FUNCTION repairsys.run_jobs(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION repairsys.run_jobs(timestamptz) TO repairsys_admin, repairsys_dispatcher;
REVOKE ALL ON FUNCTION repairsys.invoice_event_trg() FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.payment_event_trg() FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.ticket_part_event_trg() FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.ticket_estimate_event_trg() FROM PUBLIC;
-- the event writer: executable by nobody (the triggers and run_jobs() call it as the owner)
REVOKE ALL ON FUNCTION repairsys.emit_event(text, bigint, bigint, jsonb) FROM PUBLIC;

-- 70_reports.sql: demo_load() picks technicians by a hash of one random
-- number per ticket with the technician's name (the same seed gives the same
-- data whatever the plan); the rest of the function is unchanged
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
	cust     bigint;
	ast      repairsys.asset;
	st       repairsys.service_type;
	tid      bigint;
	tech     bigint;
	salt     float8;
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
		-- a qualified technician with room (capacity), of the ticket's center when there is one
		salt := pg_catalog.random();
		SELECT ts.technician_id INTO tech
		  FROM repairsys.technician_skill ts JOIN repairsys.technician te ON te.id = ts.technician_id
		 WHERE ts.technician_id = ANY (techs) AND ts.skill = st.required_skill AND ts.level >= st.min_skill_level
		   AND repairsys.open_ticket_count(ts.technician_id) < te.capacity
		 -- (one random number per ticket, then a hash of it with each
		 -- technician's name: a random() per row would hand its numbers out
		 -- in the order of the plan, which may change between two loads, and
		 -- ids differ between loads)
		 ORDER BY te.service_center_id IS DISTINCT FROM (SELECT x.service_center_id FROM repairsys.ticket x WHERE x.id = tid),
		          pg_catalog.md5(te.name || '/' || salt::text), te.name
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
