-- SLA on tickets: stamping at opening (policy, center zone, holidays), holds
-- (pauses_sla), the views sla_status and stuck_tickets.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
SET search_path = repairsys, public;
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET TimeZone = 'Asia/Shanghai';

INSERT INTO service_center (name, time_zone) VALUES ('SLA Shanghai', 'Asia/Shanghai'), ('SLA Berlin', 'Europe/Berlin');
INSERT INTO customer (name, service_center_id)
SELECT 'SLA customer ' || c.name, c.id FROM service_center c WHERE c.name LIKE 'SLA %';
INSERT INTO service_type (code, name, labor_fee) VALUES ('sla_fix', 'SLA test repair', '0+:1.00'), ('sla_24x7', 'SLA round the clock', '0+:1.00');
-- calendars without zone: read in the zone of the ticket's center
INSERT INTO sla_policy VALUES
	('sla_fix', 'normal', '2h in mon-fri 09:00-18:00', '40h in mon-fri 09:00-18:00'),
	('sla_fix', 'urgent', '1h in mon-sun 08:00-20:00', '16h in mon-fri 09:00-18:00'),
	('sla_24x7', 'normal', '1h', '10h in mon-sun 00:00-24:00 UTC');
INSERT INTO holiday (service_center_id, day, name) VALUES
	(NULL, '2024-05-01', 'Labour Day (all centers)'),
	((SELECT id FROM service_center WHERE name = 'SLA Shanghai'), '2024-05-02', 'Labour Day holiday (Shanghai)');
SELECT closed_dates(id) FROM service_center WHERE name = 'SLA Shanghai';

CREATE TEMP TABLE tk (label text PRIMARY KEY, id bigint);
CREATE FUNCTION pg_temp.open_at(label text, center text, stype text, urg text, at timestamptz) RETURNS void
LANGUAGE sql AS $$
	WITH t AS (
		INSERT INTO repairsys.ticket (customer_id, service_type, urgency, opened_at)
		SELECT cu.id, stype, urg, at FROM repairsys.customer cu WHERE cu.name = 'SLA customer ' || center
		RETURNING id)
	INSERT INTO pg_temp.tk SELECT label, t.id FROM t
$$;

-- stamping: Tuesday 2024-04-30 17:00 local, before the May holidays
SELECT pg_temp.open_at('shanghai', 'SLA Shanghai', 'sla_fix', 'normal', '2024-04-30 17:00+08');
SELECT pg_temp.open_at('berlin', 'SLA Berlin', 'sla_fix', 'normal', '2024-04-30 17:00+02');
SELECT pg_temp.open_at('urgent', 'SLA Shanghai', 'sla_fix', 'urgent', '2024-04-30 19:30+08');
SELECT tk.label, t.sla_time_zone, t.respond_by AT TIME ZONE t.sla_time_zone AS respond_by_local,
       t.resolve_by AT TIME ZONE t.sla_time_zone AS resolve_by_local, t.sla_respond_within, t.sla_resolve_within
  FROM tk JOIN ticket t USING (id) ORDER BY tk.label;

-- a ticket without policy gets no stamps; open_ticket() stamps like INSERT
INSERT INTO service_type (code, name, labor_fee) VALUES ('sla_none', 'No SLA', '0+:1.00');
SELECT open_ticket((SELECT id FROM customer WHERE name = 'SLA customer SLA Berlin'), 'sla_none', 'no policy') AS nopol_id \gset
SELECT respond_by IS NULL AS no_respond_by, resolve_by IS NULL AS no_resolve_by, sla_resolve_within IS NULL AS no_target
  FROM ticket WHERE id = :nopol_id;
SELECT open_ticket((SELECT id FROM customer WHERE name = 'SLA customer SLA Berlin'), 'sla_fix', 'via open_ticket') AS fn_id \gset
SELECT t.respond_by = sla_deadline('2h in mon-fri 09:00-18:00', t.opened_at, closed_dates(t.service_center_id), 'Europe/Berlin') AS respond_ok,
       t.resolve_by = sla_deadline('40h in mon-fri 09:00-18:00', t.opened_at, closed_dates(t.service_center_id), 'Europe/Berlin') AS resolve_ok
  FROM ticket t WHERE id = :fn_id;

-- holds.  The life-cycle trigger is switched off for these rows so the test
-- can give each change its instant (status_changed_at: that trigger sets it
-- to now() in real use).  2024-03-04 is a Monday.
ALTER TABLE ticket DISABLE TRIGGER ticket_20_transition;
SELECT pg_temp.open_at('two holds', 'SLA Shanghai', 'sla_fix', 'normal', '2024-03-04 09:00+08');
SELECT pg_temp.open_at('outside hours', 'SLA Shanghai', 'sla_fix', 'urgent', '2024-03-04 09:00+08');
SELECT pg_temp.open_at('missed before hold', 'SLA Shanghai', 'sla_fix', 'urgent', '2024-03-04 09:00+08');
CREATE FUNCTION pg_temp.move(label text, st text, at timestamptz) RETURNS TABLE (label text, status text, at timestamptz, resolve_by timestamptz, sla_paused interval)
LANGUAGE sql AS $$
	UPDATE repairsys.ticket t SET status = st, status_changed_at = at
	  FROM pg_temp.tk WHERE tk.id = t.id AND tk.label = move.label
	RETURNING move.label, t.status, move.at, t.resolve_by, t.sla_paused
$$;
SELECT label, resolve_by AS initial_resolve_by FROM tk JOIN ticket USING (id) WHERE label IN ('two holds', 'outside hours', 'missed before hold') ORDER BY 1;
-- 40h from Monday 09:00: Friday 13:00.  Hold 1 (3 business hours) moves it to 16:00;
-- hold 2 spans the weekend: Friday 15:00-18:00 and Monday 09:00-10:00 count (4h).
SELECT * FROM pg_temp.move('two holds', 'in_progress', '2024-03-04 10:00+08');
SELECT * FROM pg_temp.move('two holds', 'waiting_parts', '2024-03-04 11:00+08');
SELECT * FROM pg_temp.move('two holds', 'in_progress', '2024-03-04 14:00+08');
SELECT * FROM pg_temp.move('two holds', 'waiting_customer', '2024-03-08 15:00+08');
SELECT * FROM pg_temp.move('two holds', 'in_progress', '2024-03-11 10:00+08');
-- a hold opened outside hours (Monday 19:30) counts from Tuesday 09:00
SELECT * FROM pg_temp.move('outside hours', 'in_progress', '2024-03-04 10:00+08');
SELECT * FROM pg_temp.move('outside hours', 'waiting_parts', '2024-03-04 19:30+08');
SELECT * FROM pg_temp.move('outside hours', 'in_progress', '2024-03-05 10:30+08');
-- two pausing states in a row count once each
SELECT * FROM pg_temp.move('outside hours', 'waiting_parts', '2024-03-05 11:00+08');
SELECT * FROM pg_temp.move('outside hours', 'waiting_customer', '2024-03-05 12:00+08');
SELECT * FROM pg_temp.move('outside hours', 'in_progress', '2024-03-05 12:30+08');
-- a deadline missed before the hold began stays missed
SELECT * FROM pg_temp.move('missed before hold', 'in_progress', '2024-03-04 10:00+08');
SELECT * FROM pg_temp.move('missed before hold', 'waiting_parts', '2024-03-06 09:00+08');
SELECT * FROM pg_temp.move('missed before hold', 'in_progress', '2024-03-06 12:00+08');
-- left on hold (for the view)
SELECT * FROM pg_temp.move('outside hours', 'waiting_customer', '2024-03-06 17:00+08');
ALTER TABLE ticket ENABLE TRIGGER ticket_20_transition;

-- the real life cycle, round-the-clock calendar: a hold of two hours moves
-- resolve_by by exactly two hours
BEGIN;
SELECT pg_temp.open_at('live', 'SLA Berlin', 'sla_24x7', 'normal', now());
SET LOCAL session_replication_role = replica;	-- plant a hold that began two hours ago
UPDATE ticket SET status = 'waiting_parts', status_changed_at = now() - interval '2 hours'
 WHERE id = (SELECT id FROM tk WHERE label = 'live');
SET LOCAL session_replication_role = origin;
UPDATE ticket SET status = 'in_progress' WHERE id = (SELECT id FROM tk WHERE label = 'live');
SELECT resolve_by - opened_at AS resolve_after, sla_paused, status_changed_at = now() AS changed_now
  FROM ticket WHERE id = (SELECT id FROM tk WHERE label = 'live');
-- the views
SELECT tk.label, s.status, s.paused, s.paused_since, s.paused_business_hours,
       CASE WHEN tk.label IN ('live', 'outside hours') THEN s.business_hours_left END AS business_hours_left, s.breached,
       s.response_breached, s.resolve_within, s.time_zone
  FROM sla_status s JOIN tk ON tk.id = s.ticket_id ORDER BY tk.label;
SET LOCAL session_replication_role = replica;	-- a ticket left in "new" for five hours
UPDATE ticket SET status_changed_at = now() - interval '5 hours' WHERE id = (SELECT id FROM tk WHERE label = 'berlin');
SET LOCAL session_replication_role = origin;
SELECT tk.label, s.status, s.hours_in_status, s.max_dwell_hours, s.hours_over
  FROM stuck_tickets s JOIN tk ON tk.id = s.ticket_id WHERE tk.label IN ('berlin', 'live') ORDER BY tk.label;
COMMIT;

-- the SLA snapshot belongs to the triggers: a role other than the owner cannot set it
CREATE ROLE regress_sla_clerk BYPASSRLS;	-- row-level security is not what this tests
SELECT id AS shanghai_id FROM tk WHERE label = 'shanghai' \gset
GRANT USAGE ON SCHEMA repairsys TO regress_sla_clerk;
GRANT SELECT, UPDATE ON repairsys.ticket TO regress_sla_clerk;
SET ROLE regress_sla_clerk;
\set VERBOSITY terse
UPDATE ticket SET sla_paused = interval '100 hours' WHERE id = :shanghai_id;
UPDATE ticket SET resolve_by = resolve_by + interval '1 day' WHERE id = :shanghai_id;
RESET ROLE;
\set VERBOSITY default
SELECT resolve_by AT TIME ZONE 'Asia/Shanghai' AS extended_resolve_by, sla_paused FROM ticket WHERE id = (SELECT id FROM tk WHERE label = 'shanghai');
REVOKE ALL ON repairsys.ticket FROM regress_sla_clerk;
REVOKE ALL ON SCHEMA repairsys FROM regress_sla_clerk;
DROP ROLE regress_sla_clerk;

SELECT c.column_name, c.data_type
  FROM information_schema.columns c
 WHERE c.table_schema = 'repairsys' AND c.table_name IN ('sla_status', 'stuck_tickets')
   AND c.data_type NOT IN ('bigint', 'integer', 'text', 'numeric', 'boolean', 'timestamp with time zone', 'date');

-- Make-up working days (调休).  China's 2024 Labour Day: the centers work
-- Sunday 2024-04-28 (all centers, as a Monday) and Saturday 2024-05-11
-- (Shanghai, as a Friday).  Berlin's own rows override the all-center ones:
-- it stays closed on 2024-04-28 and works 2024-05-01 (as the Wednesday it is).
INSERT INTO holiday (service_center_id, day, name, kind, works_as) VALUES
	(NULL, '2024-04-28', 'Labour Day make-up Sunday', 'workday', 1),
	((SELECT id FROM service_center WHERE name = 'SLA Shanghai'), '2024-05-11', 'Labour Day make-up Saturday (Shanghai)', 'workday', 5),
	((SELECT id FROM service_center WHERE name = 'SLA Berlin'), '2024-04-28', 'Berlin: no make-up day', 'closed', 1),
	((SELECT id FROM service_center WHERE name = 'SLA Berlin'), '2024-05-01', 'Berlin works on 1 May', 'workday', 3);
SELECT c.name, closed_dates(c.id), (open_dates(c.id)).*
  FROM service_center c WHERE c.name LIKE 'SLA %' ORDER BY c.name;
SELECT (open_dates(NULL)).*, closed_dates(NULL) AS all_center_closed;
SELECT kind, works_as FROM holiday WHERE name = 'Labour Day (all centers)';
CREATE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT q AS refused, pg_temp.sqlstate_of(q) AS error
  FROM (VALUES ($$INSERT INTO holiday (day, kind) VALUES ('2024-06-01', 'open')$$),
               ($$INSERT INTO holiday (day, kind, works_as) VALUES ('2024-06-01', 'workday', 0)$$),
               ($$INSERT INTO holiday (day, kind, works_as) VALUES ('2024-06-01', 'workday', 8)$$),
               ($$INSERT INTO holiday (day, kind, works_as) VALUES ('2024-06-01', 'workday', NULL)$$),
               ($$UPDATE holiday SET kind = 'WORKDAY' WHERE day = '2024-04-28'$$)) v(q);
SELECT count(*) AS rows_on_2024_06_01 FROM holiday WHERE day = '2024-06-01';

-- stamps: Friday 2024-05-10 17:00 in Shanghai; the make-up Saturday counts as
-- a Friday (respond_by Saturday 10:00; resolve_by 40h: Thursday 12:00, not
-- Friday 12:00); Saturday 2024-04-27 12:00: the all-center make-up Sunday;
-- Berlin, Tuesday 2024-04-30 17:30: 1 May is a working day there
ALTER TABLE ticket DISABLE TRIGGER ticket_20_transition;
SELECT pg_temp.open_at('makeup stamp', 'SLA Shanghai', 'sla_fix', 'normal', '2024-05-10 17:00+08');
SELECT pg_temp.open_at('makeup sunday', 'SLA Shanghai', 'sla_fix', 'normal', '2024-04-27 12:00+08');
SELECT pg_temp.open_at('berlin 1 may', 'SLA Berlin', 'sla_fix', 'normal', '2024-04-30 17:30+02');
SELECT pg_temp.open_at('makeup hold', 'SLA Shanghai', 'sla_fix', 'normal', '2024-05-10 09:00+08');
SELECT tk.label, t.respond_by AT TIME ZONE t.sla_time_zone AS respond_by_local,
       t.resolve_by AT TIME ZONE t.sla_time_zone AS resolve_by_local,
       t.resolve_by = sla_deadline(t.sla_resolve_within, t.opened_at, closed_dates(t.service_center_id), t.sla_time_zone) AS same_without_open_days
  FROM tk JOIN ticket t USING (id) WHERE tk.label IN ('makeup stamp', 'makeup sunday', 'berlin 1 may', 'makeup hold') ORDER BY tk.label;
-- a hold from Friday 16:00 to Monday 10:00 counts Friday 2h, the make-up
-- Saturday 9h and Monday 1h: resolve_by (Wednesday 13:00) moves by 12h
SELECT * FROM pg_temp.move('makeup hold', 'in_progress', '2024-05-10 10:00+08');
SELECT * FROM pg_temp.move('makeup hold', 'waiting_parts', '2024-05-10 16:00+08');
SELECT label, status, at, resolve_by AT TIME ZONE 'Asia/Shanghai' AS resolve_by_local, sla_paused
  FROM pg_temp.move('makeup hold', 'in_progress', '2024-05-13 10:00+08');
-- on hold since Friday 17:30: the hours left to resolve_by (Thursday 12:00)
-- include the make-up Saturday (0.5 + 9 + 27 + 3)
SELECT * FROM pg_temp.move('makeup stamp', 'in_progress', '2024-05-10 17:10+08');
SELECT * FROM pg_temp.move('makeup stamp', 'waiting_parts', '2024-05-10 17:30+08');
SELECT tk.label, s.paused, s.business_hours_left
  FROM sla_status s JOIN tk ON tk.id = s.ticket_id WHERE tk.label = 'makeup stamp';
ALTER TABLE ticket ENABLE TRIGGER ticket_20_transition;
