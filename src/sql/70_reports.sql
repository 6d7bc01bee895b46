-- Customers, feedback and the cost-benefit of service (DESIGN.md section 10,
-- docs/reports.md): feedback rules, follow-ups (回访), the cost of each ticket
-- and the service-benefit report.

------------------------------------------------------------------------------
-- Feedback: once per ticket, only after resolution; a complaint is followed up
------------------------------------------------------------------------------
CREATE TABLE repairsys.follow_up (
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id         bigint NOT NULL REFERENCES repairsys.ticket,
	service_center_id bigint REFERENCES repairsys.service_center,
	reason            text NOT NULL CHECK (reason IN ('after_closure', 'complaint')),
	due_at            timestamptz NOT NULL,
	done_at           timestamptz,
	outcome           text,
	created_at        timestamptz NOT NULL DEFAULT now(),
	CHECK ((done_at IS NULL) = (outcome IS NULL)),
	UNIQUE (ticket_id, reason)
);
COMMENT ON TABLE repairsys.follow_up IS 'Follow-up calls (回访) owed to customers: after closure, and on a complaint';
COMMENT ON COLUMN repairsys.follow_up.id IS 'Follow-up id';
COMMENT ON COLUMN repairsys.follow_up.ticket_id IS 'Ticket followed up';
COMMENT ON COLUMN repairsys.follow_up.service_center_id IS 'Service center that owes the call';
COMMENT ON COLUMN repairsys.follow_up.reason IS 'after_closure or complaint';
COMMENT ON COLUMN repairsys.follow_up.due_at IS 'When the call is due';
COMMENT ON COLUMN repairsys.follow_up.done_at IS 'When it was done (NULL: open)';
COMMENT ON COLUMN repairsys.follow_up.outcome IS 'What came of it';
COMMENT ON COLUMN repairsys.follow_up.created_at IS 'When the follow-up was opened';
CREATE INDEX follow_up_open_idx ON repairsys.follow_up (due_at) WHERE done_at IS NULL;
CREATE INDEX feedback_at_idx ON repairsys.feedback (at);
SELECT pg_catalog.pg_extension_config_dump('repairsys.follow_up', '');

INSERT INTO repairsys.setting (name, value, description, dump) VALUES
	('complaint_follow_up_within', '1 day', 'A complaint is followed up by the service center within this interval', false);

-- BEFORE INSERT OR UPDATE on feedback: only for resolved or closed tickets.
CREATE FUNCTION repairsys.feedback_check_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	st text;
BEGIN
	SELECT t.status INTO st FROM repairsys.ticket t WHERE t.id = NEW.ticket_id;
	IF st IS NOT NULL AND st NOT IN ('resolved', 'closed') THEN
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
CREATE FUNCTION repairsys.feedback_complaint_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.complaint AND (TG_OP = 'INSERT' OR NOT OLD.complaint) THEN
		INSERT INTO repairsys.follow_up (ticket_id, service_center_id, reason, due_at)
		SELECT t.id, t.service_center_id, 'complaint', pg_catalog.now() + repairsys.setting_value('complaint_follow_up_within')::interval
		  FROM repairsys.ticket t WHERE t.id = NEW.ticket_id
		ON CONFLICT (ticket_id, reason) DO NOTHING;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.feedback_complaint_trg() IS 'AFTER trigger of feedback: a complaint opens a follow-up for the ticket''s service center';
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
COMMENT ON FUNCTION repairsys.ticket_follow_up_trg() IS 'AFTER UPDATE trigger of ticket: a ticket entering closed gets a follow-up call due follow_up_days later';
CREATE TRIGGER ticket_70_follow_up AFTER UPDATE OF status ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.status = 'closed' AND OLD.status IS DISTINCT FROM 'closed')
	EXECUTE FUNCTION repairsys.ticket_follow_up_trg();

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
-- Cost and benefit
------------------------------------------------------------------------------
CREATE VIEW repairsys.ticket_cost AS
SELECT t.id AS ticket_id,
       coalesce(r.revenue, 0.00) AS revenue,
       round(coalesce(tech.hourly_cost, 0) * coalesce(t.labor_minutes, 0) / 60, 2) AS labor_cost,
       coalesce(p.parts_cost, 0.00) AS parts_cost,
       round(coalesce(t.travel_km, 0) * repairsys.setting_value('travel_cost_per_km')::numeric, 2) AS travel_cost,
       round(coalesce(tech.hourly_cost, 0) * coalesce(t.labor_minutes, 0) / 60, 2) + coalesce(p.parts_cost, 0.00)
         + round(coalesce(t.travel_km, 0) * repairsys.setting_value('travel_cost_per_km')::numeric, 2) AS cost,
       coalesce(r.revenue, 0.00) - (round(coalesce(tech.hourly_cost, 0) * coalesce(t.labor_minutes, 0) / 60, 2) + coalesce(p.parts_cost, 0.00)
         + round(coalesce(t.travel_km, 0) * repairsys.setting_value('travel_cost_per_km')::numeric, 2)) AS margin
  FROM repairsys.ticket t
  LEFT JOIN repairsys.technician tech ON tech.id = t.technician_id
  LEFT JOIN LATERAL (SELECT sum(l.amount) AS revenue FROM repairsys.invoice i JOIN repairsys.invoice_line l ON l.invoice_id = i.id
                      WHERE i.ticket_id = t.id) r ON true
  LEFT JOIN LATERAL (SELECT sum(-m.qty * coalesce(m.unit_cost, pt.unit_cost)) AS parts_cost
                       FROM repairsys.stock_movement m JOIN repairsys.part pt ON pt.sku = m.sku
                      WHERE m.ticket_id = t.id AND m.kind IN ('issue', 'return')) p ON true;
COMMENT ON VIEW repairsys.ticket_cost IS 'Revenue and cost of each ticket';
COMMENT ON COLUMN repairsys.ticket_cost.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_cost.revenue IS 'Invoiced amount before tax (0 until invoiced)';
COMMENT ON COLUMN repairsys.ticket_cost.labor_cost IS 'Technician hourly_cost x labor_minutes / 60';
COMMENT ON COLUMN repairsys.ticket_cost.parts_cost IS 'Units issued to the ticket (less returns) at their ledger unit cost';
COMMENT ON COLUMN repairsys.ticket_cost.travel_cost IS 'travel_km x setting travel_cost_per_km';
COMMENT ON COLUMN repairsys.ticket_cost.cost IS 'labor_cost + parts_cost + travel_cost';
COMMENT ON COLUMN repairsys.ticket_cost.margin IS 'revenue - cost';

CREATE VIEW repairsys.service_benefit AS
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
       round((avg(extract(epoch FROM t.resolved_at - t.opened_at)) / 3600)::numeric, 2) AS mean_resolution_hours
  FROM repairsys.ticket t
  LEFT JOIN repairsys.service_center sc ON sc.id = t.service_center_id
  JOIN repairsys.ticket_cost c ON c.ticket_id = t.id
  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
 WHERE t.status <> 'cancelled'
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
COMMENT ON COLUMN repairsys.service_benefit.roi IS '(revenue - cost) / cost (NULL when the cost is 0)';
COMMENT ON COLUMN repairsys.service_benefit.avg_rating IS 'Average customer rating (1..5)';
COMMENT ON COLUMN repairsys.service_benefit.sla_met_pct IS 'Percent of resolved tickets resolved by resolve_by';
COMMENT ON COLUMN repairsys.service_benefit.mean_resolution_hours IS 'Mean wall-clock hours from opening to resolution';
