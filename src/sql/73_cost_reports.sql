-- Cost management reports (DESIGN.md section 18, docs/reports.md): budgets
-- against actual cost, the reputation of each center per month, product
-- recalls, and the manager's one-page report.  They read the views of
-- 72_cost.sql; the tables are in 26_tables_cost.sql.
--
-- Costs belong to the month the ticket was opened in, in its center's time
-- zone (as in service_benefit); reputation counts a rating in the month the
-- rated ticket was closed.

------------------------------------------------------------------------------
-- Budgets against actual cost
------------------------------------------------------------------------------
-- One row per budget.  Direct classes (labor, parts, travel): the actual cost
-- is the sum of service_benefit's column for the center and month, and the
-- month's projection scales it by the share of the month that has passed
-- (month_elapsed, in the center's time zone; a past month is projected at
-- its actual cost).  Indirect classes: the actual cost is the overhead of the
-- center, month and class, booked for the whole month, so it is its own
-- projection.  service_benefit reads the roll-up (71_rollups.sql), and the
-- budget's center and month reach its index: a budget costs the tickets of
-- its center and month, not the history.
CREATE VIEW repairsys.budget_status AS
SELECT x.service_center_id, x.month, x.cost_class, x.budget, x.actual, x.projected,
       x.actual - x.budget AS variance,
       CASE WHEN x.actual > x.budget THEN 'over_budget'
            WHEN x.projected > x.budget THEN 'projected_over'
            ELSE 'ok' END AS alert
  FROM (
	SELECT b.service_center_id, b.month, b.cost_class, b.amount AS budget, a.actual,
	       CASE WHEN b.cost_class NOT IN ('labor', 'parts', 'travel') OR e.share <= 0 OR e.share >= 1 THEN a.actual
	            ELSE round(a.actual / e.share, 2) END AS projected
	  FROM repairsys.budget b
	  JOIN repairsys.service_center sc ON sc.id = b.service_center_id
	 CROSS JOIN LATERAL (SELECT repairsys.month_elapsed(b.month, sc.time_zone, pg_catalog.now()) AS share) e
	 CROSS JOIN LATERAL (
		SELECT CASE b.cost_class WHEN 'labor' THEN d.labor WHEN 'parts' THEN d.parts WHEN 'travel' THEN d.travel
		         ELSE (SELECT coalesce(sum(o.amount), 0.00) FROM repairsys.overhead o
		                WHERE o.service_center_id = b.service_center_id AND o.month = b.month AND o.cost_class = b.cost_class)
		       END AS actual
		  FROM (SELECT coalesce(sum(s.labor_cost), 0.00) AS labor, coalesce(sum(s.parts_cost), 0.00) AS parts,
		               coalesce(sum(s.travel_cost), 0.00) AS travel
		          FROM repairsys.service_benefit s
		         WHERE s.service_center_id = b.service_center_id AND s.month = b.month) d
		-- (OFFSET 0: computed once per budget, not once for each use of actual)
		OFFSET 0
	 ) a
  ) x;
COMMENT ON VIEW repairsys.budget_status IS 'Budgets (预算控制) against the actual and projected cost of each center, month and cost class, with an alert';
COMMENT ON COLUMN repairsys.budget_status.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.budget_status.month IS 'First day of the month';
COMMENT ON COLUMN repairsys.budget_status.cost_class IS 'labor, parts, travel (direct) or an indirect class of overhead';
COMMENT ON COLUMN repairsys.budget_status.budget IS 'Budgeted amount';
COMMENT ON COLUMN repairsys.budget_status.actual IS 'Cost so far: the class''s column of service_benefit for the center and month (direct), or the overhead of the class (indirect)';
COMMENT ON COLUMN repairsys.budget_status.projected IS 'Projected cost at the month''s end: actual / share of the month passed in the center''s time zone for a direct class of the current month, else actual';
COMMENT ON COLUMN repairsys.budget_status.variance IS 'actual - budget (positive: over budget so far)';
COMMENT ON COLUMN repairsys.budget_status.alert IS 'over_budget (actual > budget), projected_over (projected > budget) or ok';

------------------------------------------------------------------------------
-- Reputation (品牌形象和声誉)
------------------------------------------------------------------------------
-- Per center and month of closing (in the center's time zone), over the
-- tickets closed then (in a closed-role state now): their ratings, the share
-- of ratings of 4 or 5 (CSAT) and of 1 or 2 (detractors), complaints per 100
-- closed tickets, and the share of closed tickets that were repeat repairs
-- (rework_of(): an earlier closed ticket of the same asset and service type
-- within the rework window, as the bill counts it); then each figure's change
-- against the previous calendar month of the same center (NULL when that
-- month closed no ticket).
--
-- It reads the roll-up (ticket_fact, 71_rollups.sql: month of closing in the
-- center's zone, closed role, rating, complaint flag, kept by the writing
-- transaction) through its index on center and month of closing: the view's
-- rows are the (month, center) pairs of that index, and each pair's figures,
-- and those of the previous month of the same center, come from
-- reputation_month(), so a filter on month and center reads the rows of two
-- months of one center, not the history.  A function, not a subquery of the
-- view: the planner estimates a grouped subquery filtered on both of its keys
-- at one row per (month, center) pair of the whole table, charges the
-- previous month's subquery once for each, and with 250,000 tickets compiled
-- the month x center query with JIT (281 ms of 508, docs/performance.md
-- "Dashboards at scale").  repeat_rate is computed when read, for the
-- month's closed tickets only: rework_of() depends on the other tickets of
-- the asset (an earlier one closed, reopened or cancelled changes it) and on
-- the rework window, so keeping it would mean rewriting other tickets' rows
-- on every write to an asset; read, it costs one probe of
-- ticket_asset_type_idx per closed ticket of the month (docs/reports.md).
CREATE FUNCTION repairsys.reputation_month(center bigint, month date,
	OUT closed_tickets bigint, OUT ratings bigint, OUT csat_pct numeric, OUT detractor_pct numeric,
	OUT complaint_rate numeric, OUT repeat_rate numeric)
RETURNS record
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT count(*),
	       count(f.rating),
	       round(100.0 * count(*) FILTER (WHERE f.rating >= 4) / nullif(count(f.rating), 0), 1),
	       round(100.0 * count(*) FILTER (WHERE f.rating <= 2) / nullif(count(f.rating), 0), 1),
	       round(100.0 * count(*) FILTER (WHERE f.complaint) / nullif(count(*), 0), 2),
	       round(100.0 * count(*) FILTER (WHERE r.repeat) / nullif(count(*), 0), 1)
	  FROM repairsys.ticket_fact f
	  JOIN repairsys.ticket t ON t.id = f.ticket_id
	 CROSS JOIN (SELECT repairsys.setting_value('rework_window')::interval AS rework_window OFFSET 0) s
	 -- rework_of(t) IS NOT NULL, as a join (rework_of()'s conditions, the
	 -- setting read once): a call per ticket cost 20 us of executor set-up
	 -- and a read of the setting for each earlier ticket it looked at
	 CROSS JOIN LATERAL (SELECT EXISTS (
	             SELECT 1 FROM repairsys.ticket p
	              WHERE p.asset_id = t.asset_id AND p.service_type = t.service_type
	                AND p.id <> t.id AND p.status_role = 'closed' AND p.closed_at <= t.opened_at
	                AND p.closed_at >= t.opened_at - coalesce(t.price_rework_window::interval, s.rework_window)) AS repeat) r
	 WHERE f.closed AND f.service_center_id = reputation_month.center AND f.closed_month = reputation_month.month;
END;
COMMENT ON FUNCTION repairsys.reputation_month(bigint, date) IS 'reputation: the figures of one center and month of closing (closed_tickets 0 and the rest NULL when the month closed no ticket), from ticket_fact through ticket_fact_center_closed_idx';

CREATE VIEW repairsys.reputation AS
SELECT k.month, k.service_center_id, m.closed_tickets, m.ratings, m.csat_pct, m.detractor_pct, m.complaint_rate, m.repeat_rate,
       m.ratings - p.ratings AS ratings_change,
       m.csat_pct - p.csat_pct AS csat_change,
       m.detractor_pct - p.detractor_pct AS detractor_change,
       m.complaint_rate - p.complaint_rate AS complaint_change,
       m.repeat_rate - p.repeat_rate AS repeat_change
  FROM (SELECT DISTINCT f.closed_month AS month, f.service_center_id
          FROM repairsys.ticket_fact f
         WHERE f.closed AND f.closed_month IS NOT NULL AND f.service_center_id IS NOT NULL) k
 CROSS JOIN LATERAL repairsys.reputation_month(k.service_center_id, k.month) m
  -- (no row when the previous month closed no ticket: the changes are NULL)
  LEFT JOIN LATERAL (SELECT q.* FROM repairsys.reputation_month(k.service_center_id, (k.month - interval '1 month')::date) q
                      WHERE q.closed_tickets > 0) p ON true;
COMMENT ON VIEW repairsys.reputation IS 'Reputation (品牌形象和声誉) of each service center per month of closing: ratings, CSAT, detractors, complaints and repeat repairs, with the change against the previous month';
COMMENT ON COLUMN repairsys.reputation.month IS 'First day of the month the tickets were closed (in the center''s time zone)';
COMMENT ON COLUMN repairsys.reputation.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.reputation.closed_tickets IS 'Tickets closed in the month (in a closed-role state)';
COMMENT ON COLUMN repairsys.reputation.ratings IS 'Of these, tickets rated';
COMMENT ON COLUMN repairsys.reputation.csat_pct IS 'Percent of the ratings that are 4 or 5 (CSAT; NULL: no rating)';
COMMENT ON COLUMN repairsys.reputation.detractor_pct IS 'Percent of the ratings that are 1 or 2 (NULL: no rating)';
COMMENT ON COLUMN repairsys.reputation.complaint_rate IS 'Complaints per 100 closed tickets';
COMMENT ON COLUMN repairsys.reputation.repeat_rate IS 'Percent of the closed tickets that were repeat repairs (rework of an earlier closed ticket within the rework window)';
COMMENT ON COLUMN repairsys.reputation.ratings_change IS 'ratings minus the previous month''s (NULL: no ticket closed then)';
COMMENT ON COLUMN repairsys.reputation.csat_change IS 'csat_pct minus the previous month''s, in percentage points';
COMMENT ON COLUMN repairsys.reputation.detractor_change IS 'detractor_pct minus the previous month''s, in percentage points';
COMMENT ON COLUMN repairsys.reputation.complaint_change IS 'complaint_rate minus the previous month''s';
COMMENT ON COLUMN repairsys.reputation.repeat_change IS 'repeat_rate minus the previous month''s, in percentage points';

------------------------------------------------------------------------------
-- Recalls (产品召回)
------------------------------------------------------------------------------
-- Opens one ticket per asset of the model whose serial number lies in the
-- range (inclusive, byte order: COLLATE "C"), for the asset's customer, and
-- records it in recall_ticket.  Idempotent: the recall is keyed by (model,
-- serial_from, serial_to, service_type), and an asset that has its ticket of
-- the recall gets none again, so a second run opens nothing new (only the
-- tickets of assets registered in the range since).  Concurrent runs of the
-- same recall queue on its row (the unique key, then FOR UPDATE) and the
-- later one, reading what the first committed, opens nothing it opened.
CREATE FUNCTION repairsys.open_recall(model text, serial_from text, serial_to text, service_type text, reason text,
                                      OUT recall_id bigint, OUT tickets_opened integer)
RETURNS record
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	r   repairsys.recall;
	a   record;
	tid bigint;
BEGIN
	IF open_recall.model IS NULL OR open_recall.model = '' OR open_recall.serial_from IS NULL OR open_recall.serial_from = ''
	   OR open_recall.serial_to IS NULL OR open_recall.serial_to = '' OR open_recall.reason IS NULL OR open_recall.reason = '' THEN
		RAISE EXCEPTION 'a recall needs a model, a serial number range and a reason'
			USING ERRCODE = '22023', DETAIL = 'None of model, serial_from, serial_to and reason may be NULL or empty.';
	END IF;
	IF open_recall.serial_from COLLATE "C" > open_recall.serial_to COLLATE "C" THEN
		RAISE EXCEPTION 'invalid serial number range "%" to "%"', open_recall.serial_from, open_recall.serial_to
			USING ERRCODE = '22023', DETAIL = 'serial_from must not come after serial_to (byte order).';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM repairsys.service_type s WHERE s.code = open_recall.service_type) THEN
		RAISE EXCEPTION 'service type "%" does not exist', open_recall.service_type USING ERRCODE = '23503';
	END IF;
	INSERT INTO repairsys.recall (model, serial_from, serial_to, service_type, reason)
	VALUES (open_recall.model, open_recall.serial_from, open_recall.serial_to, open_recall.service_type, open_recall.reason)
	ON CONFLICT ON CONSTRAINT recall_key DO NOTHING;
	SELECT * INTO r FROM repairsys.recall x
	 WHERE x.model = open_recall.model AND x.serial_from = open_recall.serial_from
	   AND x.serial_to = open_recall.serial_to AND x.service_type = open_recall.service_type
	   FOR UPDATE;
	IF r.reason IS DISTINCT FROM open_recall.reason THEN
		RAISE EXCEPTION 'recall % of model "%" was opened with another reason', r.id, r.model
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Its reason is "%s".', r.reason),
			      HINT = 'Run it again with the same reason (it opens only what is missing), or use another service type.';
	END IF;
	recall_id := r.id;
	tickets_opened := 0;
	FOR a IN
		SELECT x.id, x.customer_id
		  FROM repairsys.asset x
		 WHERE x.model = r.model
		   AND x.serial_no COLLATE "C" >= r.serial_from COLLATE "C" AND x.serial_no COLLATE "C" <= r.serial_to COLLATE "C"
		   AND NOT EXISTS (SELECT 1 FROM repairsys.recall_ticket rt WHERE rt.recall_id = r.id AND rt.asset_id = x.id)
		 ORDER BY x.id
	LOOP
		INSERT INTO repairsys.ticket (customer_id, asset_id, service_type, description, channel)
		VALUES (a.customer_id, a.id, r.service_type, 'Recall ' || r.id || ': ' || r.reason, 'phone')
		RETURNING id INTO tid;
		INSERT INTO repairsys.recall_ticket (recall_id, asset_id, ticket_id) VALUES (r.id, a.id, tid);
		tickets_opened := tickets_opened + 1;
	END LOOP;
END
$$;
COMMENT ON FUNCTION repairsys.open_recall(text, text, text, text, text) IS 'Opens a product recall (产品召回): one ticket of the service type per asset of the model with a serial number in the range (inclusive, byte order); idempotent (a second run opens only the tickets still missing); returns the recall id and the number of tickets opened';

CREATE VIEW repairsys.recall_progress AS
SELECT r.id AS recall_id, r.model, r.serial_from, r.serial_to, r.service_type, r.reason, r.opened_at,
       coalesce(k.tickets, 0) AS tickets,
       coalesce(k.open_tickets, 0) AS open_tickets,
       coalesce(k.done_tickets, 0) AS done_tickets,
       coalesce(k.cancelled_tickets, 0) AS cancelled_tickets,
       round(100.0 * k.done_tickets / nullif(k.tickets - k.cancelled_tickets, 0), 1) AS done_pct,
       (SELECT count(*) FROM repairsys.asset a
         WHERE a.model = r.model
           AND a.serial_no COLLATE "C" >= r.serial_from COLLATE "C" AND a.serial_no COLLATE "C" <= r.serial_to COLLATE "C"
           AND NOT EXISTS (SELECT 1 FROM repairsys.recall_ticket rt WHERE rt.recall_id = r.id AND rt.asset_id = a.id)) AS assets_without_ticket
  FROM repairsys.recall r
  LEFT JOIN (
	SELECT rt.recall_id, count(*) AS tickets,
	       count(*) FILTER (WHERE t.status_role NOT IN ('resolved', 'closed', 'cancelled')) AS open_tickets,
	       count(*) FILTER (WHERE t.status_role IN ('resolved', 'closed')) AS done_tickets,
	       count(*) FILTER (WHERE t.status_role = 'cancelled') AS cancelled_tickets
	  FROM repairsys.recall_ticket rt JOIN repairsys.ticket t ON t.id = rt.ticket_id
	 GROUP BY rt.recall_id
  ) k ON k.recall_id = r.id;
COMMENT ON VIEW repairsys.recall_progress IS 'Progress of each product recall: its tickets by state, the share done, and units in the range still without a ticket';
COMMENT ON COLUMN repairsys.recall_progress.recall_id IS 'Recall';
COMMENT ON COLUMN repairsys.recall_progress.model IS 'Model recalled';
COMMENT ON COLUMN repairsys.recall_progress.serial_from IS 'First serial number of the range';
COMMENT ON COLUMN repairsys.recall_progress.serial_to IS 'Last serial number of the range';
COMMENT ON COLUMN repairsys.recall_progress.service_type IS 'Service type of the recall tickets';
COMMENT ON COLUMN repairsys.recall_progress.reason IS 'Why the units are recalled';
COMMENT ON COLUMN repairsys.recall_progress.opened_at IS 'When the recall was opened';
COMMENT ON COLUMN repairsys.recall_progress.tickets IS 'Tickets opened by the recall (one per affected asset)';
COMMENT ON COLUMN repairsys.recall_progress.open_tickets IS 'Of these, tickets not yet resolved (nor cancelled)';
COMMENT ON COLUMN repairsys.recall_progress.done_tickets IS 'Of these, tickets in a resolved- or closed-role state';
COMMENT ON COLUMN repairsys.recall_progress.cancelled_tickets IS 'Of these, tickets cancelled';
COMMENT ON COLUMN repairsys.recall_progress.done_pct IS '100 x done_tickets / (tickets - cancelled_tickets), 1 decimal (NULL: none to do)';
COMMENT ON COLUMN repairsys.recall_progress.assets_without_ticket IS 'Assets in the range without a ticket of the recall (registered since the last open_recall run)';

------------------------------------------------------------------------------
-- The manager's page
------------------------------------------------------------------------------
-- A horizontal bar chart as inline SVG: one group per label, one bar per
-- series (a second series is optional), bars scaled to the largest value,
-- each bar with its value written beside it.  Negative values are drawn as
-- empty bars (the figure is still written).
CREATE FUNCTION repairsys.svg_bar_chart(labels text[], values1 numeric[], values2 numeric[] DEFAULT NULL,
                                        name1 text DEFAULT NULL, name2 text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	n      integer := coalesce(pg_catalog.array_length(labels, 1), 0);
	series integer := CASE WHEN values2 IS NULL THEN 1 ELSE 2 END;
	top    numeric := 0;
	bar_h  constant integer := 16;
	group_h integer;
	y      integer;
	w      numeric;
	v      numeric;
	body   text := '';
	legend text := '';
BEGIN
	IF n = 0 THEN
		RETURN '';
	END IF;
	FOR i IN 1..n LOOP
		top := greatest(top, coalesce(values1[i], 0), coalesce(values2[i], 0));
	END LOOP;
	group_h := series * bar_h + 10;
	FOR i IN 1..n LOOP
		y := 24 + (i - 1) * group_h;
		body := body || pg_catalog.format('<text x="0" y="%s" font-size="12">%s</text>', y + bar_h - 3, repairsys.html_escape(labels[i]));
		FOR s IN 1..series LOOP
			v := CASE s WHEN 1 THEN values1[i] ELSE values2[i] END;
			w := CASE WHEN top > 0 AND coalesce(v, 0) > 0 THEN round(360 * v / top, 1) ELSE 0 END;
			body := body || pg_catalog.format('<rect x="160" y="%s" width="%s" height="%s" fill="%s"/><text x="%s" y="%s" font-size="11">%s</text>',
				y + (s - 1) * bar_h, w, bar_h - 2, CASE s WHEN 1 THEN '#1565c0' ELSE '#ef6c00' END,
				164 + w, y + (s - 1) * bar_h + bar_h - 4, coalesce(v::text, '-'));
		END LOOP;
	END LOOP;
	IF name1 IS NOT NULL THEN
		legend := pg_catalog.format('<rect x="160" y="2" width="12" height="12" fill="#1565c0"/><text x="176" y="12" font-size="12">%s</text>', repairsys.html_escape(name1));
		IF series = 2 THEN
			legend := legend || pg_catalog.format('<rect x="330" y="2" width="12" height="12" fill="#ef6c00"/><text x="346" y="12" font-size="12">%s</text>', repairsys.html_escape(name2));
		END IF;
	END IF;
	RETURN pg_catalog.format('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="%s" role="img">%s%s</svg>',
		30 + n * group_h, legend, body);
END
$$;
COMMENT ON FUNCTION repairsys.svg_bar_chart(text[], numeric[], numeric[], text, text) IS 'A horizontal bar chart (one or two series) as inline SVG text, for report_html';

-- The texts of report_html in its two languages.
CREATE FUNCTION repairsys.report_label(language text, key text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN language = 'zh-CN' THEN v.zh ELSE v.en END
	  FROM (VALUES
		('title', 'Monthly report', '月度经营报告'),
		('month', 'Month', '月份'),
		('tickets', 'Tickets opened', '工单数'),
		('revenue', 'Revenue (before tax)', '收入（税前）'),
		('direct_cost', 'Direct cost', '直接成本'),
		('indirect_cost', 'Indirect cost (overheads)', '间接成本（分摊）'),
		('full_cost', 'Full cost', '总成本'),
		('full_margin', 'Margin on full cost', '毛利（总成本）'),
		('full_roi', 'ROI on full cost', '投资回报率（总成本）'),
		('sla_met', 'SLA met', 'SLA 达成率'),
		('rev_cost', 'Revenue against full cost', '收入与总成本'),
		('budget', 'Budget against actual', '预算与实际'),
		('class', 'Cost class', '成本类别'),
		('budgeted', 'Budget', '预算'),
		('actual', 'Actual', '实际'),
		('projected', 'Projected', '预计'),
		('alert', 'Alert', '预警'),
		('ratings', 'Ratings', '客户评分'),
		('csat', 'CSAT', '满意度'),
		('detractors', 'Detractors', '差评率'),
		('stars', 'stars', '星'),
		('frequent', 'Most frequent service types', '最常见的服务类型'),
		('faults', 'Most frequent faults', '最常见的故障'),
		('fault_code', 'Fault code', '故障代码'),
		('fault', 'Fault', '故障'),
		('count', 'Tickets', '工单数'),
		('parts', 'Most used parts', '最常用的配件'),
		('stock', 'Stock alerts (now)', '库存预警（当前）'),
		('available', 'Available', '可用'),
		('minimum', 'Minimum', '最低库存'),
		('none', 'None.', '无。'),
		('nodata', 'No data for this month.', '本月无数据。'),
		('over_budget', 'over budget', '超预算'),
		('projected_over', 'projected over', '预计超支'),
		('ok', 'ok', '正常')
	  ) AS v(k, en, zh)
	 WHERE v.k = key;
END;
COMMENT ON FUNCTION repairsys.report_label(text, text) IS 'A text of report_html in the language (en, zh-CN)';

CREATE FUNCTION repairsys.report_html(service_center_id bigint, month date)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	sc      repairsys.service_center;
	m       date;
	lang    text;
	cur     text := repairsys.setting_value('currency');
	k       record;
	sla     numeric;
	rep     repairsys.reputation;
	chart1  text;
	chart2  text;
	chart3  text;
	budgets text;
	freq    text;
	faults  text;
	parts   text;
	stock   text;
	stars   text;
BEGIN
	IF report_html.service_center_id IS NULL OR report_html.month IS NULL OR NOT pg_catalog.isfinite(report_html.month) THEN
		RAISE EXCEPTION 'a report needs a service center and a month'
			USING ERRCODE = '22023', DETAIL = 'Neither may be NULL, and the month must be a finite date.';
	END IF;
	SELECT * INTO sc FROM repairsys.service_center x WHERE x.id = report_html.service_center_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'service center % does not exist', report_html.service_center_id USING ERRCODE = '22023';
	END IF;
	m := date_trunc('month', report_html.month::timestamp without time zone)::date;
	lang := coalesce(sc.language,
	                 (SELECT s.value FROM repairsys.setting s WHERE s.name = 'language' AND s.value IN ('en', 'zh-CN')), 'en');

	-- the month's figures: sums of service_benefit
	SELECT coalesce(sum(b.tickets), 0) AS tickets, coalesce(sum(b.revenue), 0.00) AS revenue,
	       coalesce(sum(b.direct_cost), 0.00) AS direct_cost, coalesce(sum(b.indirect_cost), 0.00) AS indirect_cost,
	       coalesce(sum(b.full_cost), 0.00) AS full_cost, coalesce(sum(b.full_margin), 0.00) AS full_margin,
	       CASE WHEN sum(b.full_cost) > 0 THEN round(sum(b.full_margin) / sum(b.full_cost), 4) END AS full_roi
	  INTO k
	  FROM repairsys.service_benefit b WHERE b.service_center_id = sc.id AND b.month = m;
	-- SLA met: the formula of service_benefit over all the center's tickets of the month
	SELECT round(100.0 * count(*) FILTER (WHERE t.resolved_at <= t.resolve_by)
	             / nullif(count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.resolve_by IS NOT NULL), 0), 1)
	  INTO sla
	  FROM repairsys.ticket t
	 WHERE t.service_center_id = sc.id AND t.status_role <> 'cancelled'
	   AND t.opened_at >= repairsys.month_start(m, sc.time_zone)
	   AND t.opened_at < repairsys.month_start((m + interval '1 month')::date, sc.time_zone);
	SELECT * INTO rep FROM repairsys.reputation r WHERE r.service_center_id = sc.id AND r.month = m;

	SELECT repairsys.svg_bar_chart(array_agg(b.service_type ORDER BY b.service_type), array_agg(b.revenue ORDER BY b.service_type),
	                               array_agg(b.full_cost ORDER BY b.service_type),
	                               repairsys.report_label(lang, 'revenue'), repairsys.report_label(lang, 'full_cost'))
	  INTO chart1
	  FROM repairsys.service_benefit b WHERE b.service_center_id = sc.id AND b.month = m;

	SELECT repairsys.svg_bar_chart(array_agg(s.cost_class ORDER BY s.cost_class), array_agg(s.budget ORDER BY s.cost_class),
	                               array_agg(s.actual ORDER BY s.cost_class),
	                               repairsys.report_label(lang, 'budgeted'), repairsys.report_label(lang, 'actual')),
	       string_agg(pg_catalog.format('<tr class="%s"><td>%s</td><td class="n" id="budget-%s">%s</td><td class="n" id="actual-%s">%s</td><td class="n">%s</td><td>%s</td></tr>',
	                                    s.alert, html_escape(s.cost_class), html_escape(s.cost_class), s.budget, html_escape(s.cost_class), s.actual,
	                                    s.projected, repairsys.report_label(lang, s.alert)), E'\n' ORDER BY s.cost_class)
	  INTO chart2, budgets
	  FROM repairsys.budget_status s WHERE s.service_center_id = sc.id AND s.month = m;

	-- ratings of the tickets closed in the month (those reputation counts)
	SELECT repairsys.svg_bar_chart(array_agg(g.r || ' ' || repairsys.report_label(lang, 'stars') ORDER BY g.r DESC),
	                               array_agg(coalesce(c.n, 0)::numeric ORDER BY g.r DESC)),
	       string_agg(pg_catalog.format('%s %s: <b id="stars-%s">%s</b>', g.r, repairsys.report_label(lang, 'stars'), g.r, coalesce(c.n, 0)), ', ' ORDER BY g.r DESC)
	  INTO chart3, stars
	  FROM pg_catalog.generate_series(1, 5) AS g(r)
	  LEFT JOIN (SELECT fb.rating, count(*) AS n
	               FROM repairsys.ticket t JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	              WHERE t.service_center_id = sc.id AND t.status_role = 'closed'
	                AND date_trunc('month', t.closed_at AT TIME ZONE sc.time_zone)::date = m
	              GROUP BY fb.rating) c ON c.rating = g.r;

	SELECT string_agg(pg_catalog.format('<li>%s: <b>%s</b></li>', html_escape(coalesce(st.name, f.service_type)), f.tickets), E'\n' ORDER BY f.tickets DESC, f.service_type)
	  INTO freq
	  FROM (SELECT b.service_type, b.tickets FROM repairsys.service_benefit b
	         WHERE b.service_center_id = sc.id AND b.month = m ORDER BY b.tickets DESC, b.service_type LIMIT 5) f
	  LEFT JOIN repairsys.service_type st ON st.code = f.service_type;
	-- the faults the technicians found (ticket.fault_code) on the center's
	-- tickets of the month, as parts and SLA count them
	SELECT string_agg(pg_catalog.format('<tr><td>%s</td><td>%s</td><td class="n" id="fault-%s">%s</td></tr>',
	                                    html_escape(f.fault_code), html_escape(fc.name), html_escape(f.fault_code), f.tickets),
	                  E'\n' ORDER BY f.tickets DESC, f.fault_code)
	  INTO faults
	  FROM (SELECT t.fault_code, count(*) AS tickets
	          FROM repairsys.ticket t
	         WHERE t.service_center_id = sc.id AND t.fault_code IS NOT NULL AND t.status_role <> 'cancelled'
	           AND t.opened_at >= repairsys.month_start(m, sc.time_zone)
	           AND t.opened_at < repairsys.month_start((m + interval '1 month')::date, sc.time_zone)
	         GROUP BY t.fault_code ORDER BY count(*) DESC, t.fault_code LIMIT 5) f
	  JOIN repairsys.fault_code fc ON fc.code = f.fault_code;
	SELECT string_agg(pg_catalog.format('<li>%s (%s): <b>%s</b></li>', html_escape(p.name), html_escape(u.sku), u.qty), E'\n' ORDER BY u.qty DESC, u.sku)
	  INTO parts
	  FROM (SELECT tp.sku, sum(tp.qty) AS qty
	          FROM repairsys.ticket_part tp JOIN repairsys.ticket t ON t.id = tp.ticket_id
	         WHERE t.service_center_id = sc.id AND tp.state = 'used' AND t.status_role <> 'cancelled'
	           AND t.opened_at >= repairsys.month_start(m, sc.time_zone)
	           AND t.opened_at < repairsys.month_start((m + interval '1 month')::date, sc.time_zone)
	         GROUP BY tp.sku ORDER BY sum(tp.qty) DESC, tp.sku LIMIT 5) u
	  JOIN repairsys.part p ON p.sku = u.sku;
	SELECT string_agg(pg_catalog.format('<tr><td>%s (%s)</td><td class="n">%s</td><td class="n">%s</td></tr>',
	                                    html_escape(l.name), html_escape(l.sku), l.available, l.min_stock), E'\n' ORDER BY l.missing DESC, l.sku)
	  INTO stock
	  FROM repairsys.low_stock l WHERE l.service_center_id = sc.id;

	RETURN pg_catalog.format($html$<!DOCTYPE html>
<html lang="%s"><head><meta charset="utf-8"><title>%s: %s %s</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; background: #fff; max-width: 60em; }
h1 { font-size: 1.5em; border-bottom: 3px solid #1565c0; padding-bottom: .3em; }
h2 { font-size: 1.15em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #bbb; padding: .3em .6em; text-align: left; }
th { background: #e3f2fd; }
td.n { text-align: right; white-space: nowrap; }
tr.over_budget td { color: #b71c1c; font-weight: bold; }
tr.projected_over td { color: #e65100; }
</style></head><body>
<h1>%s: %s</h1>
<p>%s: <b id="month">%s</b></p>
<table>
<tr><td>%s</td><td class="n" id="tickets">%s</td></tr>
<tr><td>%s</td><td class="n" id="revenue">%s %s</td></tr>
<tr><td>%s</td><td class="n" id="direct_cost">%s %s</td></tr>
<tr><td>%s</td><td class="n" id="indirect_cost">%s %s</td></tr>
<tr><td>%s</td><td class="n" id="full_cost">%s %s</td></tr>
<tr><td>%s</td><td class="n" id="full_margin">%s %s</td></tr>
<tr><td>%s</td><td class="n" id="full_roi">%s</td></tr>
<tr><td>%s</td><td class="n" id="sla_met">%s</td></tr>
</table>
<h2>%s</h2>
%s
<h2>%s</h2>
%s
<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>
%s
</tbody></table>
<h2>%s</h2>
<p>%s: <b id="ratings">%s</b>. %s: <b id="csat">%s</b>. %s: <b id="detractors">%s</b>.</p>
<p>%s.</p>
%s
<h2>%s</h2>
<table><thead><tr><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>
%s
</tbody></table>
<h2>%s</h2>
<ul>
%s
</ul>
<h2>%s</h2>
<ul>
%s
</ul>
<h2>%s</h2>
<table><thead><tr><th></th><th>%s</th><th>%s</th></tr></thead><tbody>
%s
</tbody></table>
</body></html>
$html$,
		lang, repairsys.report_label(lang, 'title'), html_escape(sc.name), to_char(m, 'YYYY-MM'),
		repairsys.report_label(lang, 'title'), html_escape(sc.name),
		repairsys.report_label(lang, 'month'), to_char(m, 'YYYY-MM'),
		repairsys.report_label(lang, 'tickets'), k.tickets,
		repairsys.report_label(lang, 'revenue'), k.revenue, html_escape(cur),
		repairsys.report_label(lang, 'direct_cost'), k.direct_cost, html_escape(cur),
		repairsys.report_label(lang, 'indirect_cost'), k.indirect_cost, html_escape(cur),
		repairsys.report_label(lang, 'full_cost'), k.full_cost, html_escape(cur),
		repairsys.report_label(lang, 'full_margin'), k.full_margin, html_escape(cur),
		repairsys.report_label(lang, 'full_roi'), coalesce(k.full_roi::text, '-'),
		repairsys.report_label(lang, 'sla_met'), coalesce(sla || ' %', '-'),
		repairsys.report_label(lang, 'rev_cost'), coalesce(nullif(chart1, ''), '<p>' || repairsys.report_label(lang, 'nodata') || '</p>'),
		repairsys.report_label(lang, 'budget'), coalesce(chart2, ''),
		repairsys.report_label(lang, 'class'), repairsys.report_label(lang, 'budgeted'), repairsys.report_label(lang, 'actual'),
		repairsys.report_label(lang, 'projected'), repairsys.report_label(lang, 'alert'),
		coalesce(budgets, '<tr><td colspan="5">' || repairsys.report_label(lang, 'none') || '</td></tr>'),
		repairsys.report_label(lang, 'ratings'),
		repairsys.report_label(lang, 'ratings'), coalesce(rep.ratings, 0),
		repairsys.report_label(lang, 'csat'), coalesce(rep.csat_pct || ' %', '-'),
		repairsys.report_label(lang, 'detractors'), coalesce(rep.detractor_pct || ' %', '-'),
		stars, chart3,
		repairsys.report_label(lang, 'faults'), repairsys.report_label(lang, 'fault_code'), repairsys.report_label(lang, 'fault'),
		repairsys.report_label(lang, 'count'),
		coalesce(faults, '<tr><td colspan="3">' || repairsys.report_label(lang, 'none') || '</td></tr>'),
		repairsys.report_label(lang, 'frequent'), coalesce(freq, '<li>' || repairsys.report_label(lang, 'none') || '</li>'),
		repairsys.report_label(lang, 'parts'), coalesce(parts, '<li>' || repairsys.report_label(lang, 'none') || '</li>'),
		repairsys.report_label(lang, 'stock'), repairsys.report_label(lang, 'available'), repairsys.report_label(lang, 'minimum'),
		coalesce(stock, '<tr><td colspan="3">' || repairsys.report_label(lang, 'none') || '</td></tr>'));
END
$$;
COMMENT ON FUNCTION repairsys.report_html(bigint, date) IS 'The manager''s one-page report of a service center and month (any day of it) as a self-contained HTML page in the center''s language (en, zh-CN): revenue against full cost, budget against actual, SLA met, ratings, most frequent faults (ticket.fault_code), service types and parts, stock alerts; its figures are those of service_benefit, budget_status, reputation, low_stock and the tickets'' fault codes';
