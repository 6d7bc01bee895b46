------------------------------------------------------------------------------
-- Tables of the durable event log, its consumers and the SLA escalation
-- ladder (DESIGN.md section 16, docs/events.md; functions and triggers in
-- 75_events.sql).
------------------------------------------------------------------------------

-- The event log (outbox): one row per change an application may want to hear
-- about, written in the transaction of the change.  Append-only.  The key
-- (id, at) holds the partition key of its monthly range partitions (see
-- ticket_event in 20_tables.sql); ids
-- come from repairsys.next_event_id() (src/events.c), which orders them by
-- the writing transaction, so read_events() can read below the horizon of
-- the transactions still running.
CREATE TABLE repairsys.event (
	id                bigint NOT NULL,
	at                timestamptz NOT NULL DEFAULT now(),
	kind              text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
	ticket_id         bigint,
	service_center_id bigint,
	payload           jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(payload) = 'object')
) PARTITION BY RANGE (at);
-- (each partition's PRIMARY KEY (id, at): see ticket_event in 20_tables.sql)
CREATE TABLE repairsys.event_default PARTITION OF repairsys.event DEFAULT;
COMMENT ON TABLE repairsys.event IS 'Durable event log (outbox): every change applications hear about, written in the changing transaction; append-only; read with read_events() / ack_events() (partitioned by month of at)';
COMMENT ON TABLE repairsys.event_default IS 'Default partition of repairsys.event: rows of a month that has no partition yet (ensure_partitions() moves them into it)';
COMMENT ON COLUMN repairsys.event.id IS 'Event id: increases with the writing transaction''s id (the total order of read_events); not dense';
COMMENT ON COLUMN repairsys.event.at IS 'When the change happened (transaction time); the partition key of a monthly range partition';
COMMENT ON COLUMN repairsys.event.kind IS 'What happened: ticket_opened, status_changed, technician_changed, estimate_approved, invoice_issued, payment_recorded, part_reserved, sla_warning, sla_breached, follow_up_due, ticket_stuck, estimate_revised, estimate_revision_approved, signed_off, appointment_booked, appointment_rescheduled, appointment_cancelled, appointment_checked_in, appointment_reminder, discount_requested, discount_approved, discount_rejected';
COMMENT ON COLUMN repairsys.event.ticket_id IS 'Ticket the event is about (row-level security follows the ticket''s)';
COMMENT ON COLUMN repairsys.event.service_center_id IS 'Service center of the ticket';
COMMENT ON COLUMN repairsys.event.payload IS 'Details of the event, a JSON object (docs/events.md lists the keys of each kind)';

-- The offset of this cluster's event ids (one row; see src/events.c).
CREATE TABLE repairsys.event_clock (
	system_identifier text PRIMARY KEY,
	xid_offset        bigint NOT NULL CHECK (xid_offset >= 0),
	computed_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.event_clock IS 'Offset added to transaction ids in event ids, computed once per cluster so that ids restored from another cluster stay below new ones (written by repairsys.next_event_id())';
COMMENT ON COLUMN repairsys.event_clock.system_identifier IS 'System identifier of the cluster the offset was computed for (pg_control_system())';
COMMENT ON COLUMN repairsys.event_clock.xid_offset IS 'Added to the transaction id (xid8) before it is shifted into an event id';
COMMENT ON COLUMN repairsys.event_clock.computed_at IS 'When the offset was computed';

-- Named consumers of the event log and how far each has acknowledged.
CREATE TABLE repairsys.event_consumer (
	name        text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.:-]{1,63}$'),
	role        name NOT NULL DEFAULT current_user,
	acked_up_to bigint NOT NULL DEFAULT 0 CHECK (acked_up_to >= 0),
	acked_at    timestamptz,
	created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.event_consumer IS 'Named consumers of the event log: the cursor read_events() reads after, moved by ack_events() (forward only, never past the horizon: checked by trigger)';
COMMENT ON COLUMN repairsys.event_consumer.name IS 'Consumer name (letters, digits, _ . : -; at most 63)';
COMMENT ON COLUMN repairsys.event_consumer.role IS 'Role that owns the consumer (set by trigger to the role that created it); only it moves the cursor';
COMMENT ON COLUMN repairsys.event_consumer.acked_up_to IS 'Id of the last event acknowledged: read_events() returns only later ones';
COMMENT ON COLUMN repairsys.event_consumer.acked_at IS 'When the cursor last moved (set by trigger)';
COMMENT ON COLUMN repairsys.event_consumer.created_at IS 'When the consumer was created';

-- The SLA escalation ladder: what happens when a ticket has used at_pct
-- percent of its response or resolution business time.
CREATE TABLE repairsys.sla_escalation (
	level    integer PRIMARY KEY CHECK (level BETWEEN 1 AND 100),
	at_pct   numeric(6,2) NOT NULL UNIQUE CHECK (at_pct > 0 AND at_pct <= 1000),
	action   text NOT NULL CHECK (action IN ('notify', 'raise_urgency', 'reassign')),
	audience text NOT NULL DEFAULT 'technician' CHECK (audience IN ('technician', 'center')),
	dump     boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE repairsys.sla_escalation IS 'SLA escalation ladder: at at_pct percent of a target an sla_warning (below 100) or sla_breached (100 and above) event is written once per ticket, target and level, and the action taken';
COMMENT ON COLUMN repairsys.sla_escalation.level IS 'Level number (seeded 1, 2, 3)';
COMMENT ON COLUMN repairsys.sla_escalation.at_pct IS 'Percent of the response or resolution business time used (seeded 50, 80, 100)';
COMMENT ON COLUMN repairsys.sla_escalation.action IS 'notify (the event only), raise_urgency (the ticket moves to the next urgency by urgency_rule.rank), reassign (the technician is taken off the ticket and it is assigned again)';
COMMENT ON COLUMN repairsys.sla_escalation.audience IS 'Who the event is addressed to: technician (of the ticket) or center (its service center''s managers)';
COMMENT ON COLUMN repairsys.sla_escalation.dump IS 'True for rows pg_dump must keep: user rows and seeded rows the user changed (kept by trigger)';
INSERT INTO repairsys.sla_escalation (level, at_pct, action, audience, dump) VALUES
	(1, 50, 'notify', 'technician', false),
	(2, 80, 'notify', 'center', false),
	(3, 100, 'notify', 'center', false);

-- Which levels have fired for which ticket and target (exactly once: the key).
CREATE TABLE repairsys.sla_escalation_fired (
	ticket_id  bigint NOT NULL REFERENCES repairsys.ticket,
	target     text NOT NULL CHECK (target IN ('response', 'resolution')),
	level      integer NOT NULL,
	at_pct     numeric(6,2) NOT NULL,
	reached_at timestamptz NOT NULL,
	fired_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (ticket_id, target, level)
);
COMMENT ON TABLE repairsys.sla_escalation_fired IS 'Escalation levels fired per ticket and target (written by run_jobs(); the key makes each fire once)';
COMMENT ON COLUMN repairsys.sla_escalation_fired.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.sla_escalation_fired.target IS 'response or resolution';
COMMENT ON COLUMN repairsys.sla_escalation_fired.level IS 'Level of sla_escalation that fired';
COMMENT ON COLUMN repairsys.sla_escalation_fired.at_pct IS 'Its percentage when it fired';
COMMENT ON COLUMN repairsys.sla_escalation_fired.reached_at IS 'Instant the ticket reached that percentage of the target';
COMMENT ON COLUMN repairsys.sla_escalation_fired.fired_at IS 'When run_jobs() fired it';

-- Jobs already done once (follow-ups due, stuck tickets): the key makes
-- run_jobs() idempotent.
CREATE TABLE repairsys.job_done (
	job       text NOT NULL CHECK (job IN ('follow_up_due', 'ticket_stuck', 'appointment_reminder', 'churn_refit')),
	object_id bigint NOT NULL,
	since     timestamptz NOT NULL,
	done_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (job, object_id, since)
);
COMMENT ON TABLE repairsys.job_done IS 'What run_jobs() has already reported once: a follow-up due (object: follow_up id), a ticket stuck in its state (object: ticket id, since: when it entered the state), a visit reminded (object: appointment id, since: its start), a churn refit (object 0, since: the start of its churn_refit_every interval)';
COMMENT ON COLUMN repairsys.job_done.job IS 'follow_up_due, ticket_stuck, appointment_reminder or churn_refit';
COMMENT ON COLUMN repairsys.job_done.object_id IS 'Follow-up, ticket or appointment id (0 for churn_refit)';
COMMENT ON COLUMN repairsys.job_done.since IS 'Due instant of the follow-up, when the ticket entered the state it is stuck in, the start of the visit, or the start of the refit''s interval';
COMMENT ON COLUMN repairsys.job_done.done_at IS 'When it was reported';

-- Customer notifications (主动告知维修进展): how each customer is told, the
-- editable texts, and the notifications run_jobs() renders from the events.
CREATE TABLE repairsys.customer_preference (
	customer_id bigint PRIMARY KEY REFERENCES repairsys.customer ON DELETE CASCADE,
	language    text CHECK (language IN ('en', 'zh-CN')),
	channel     text CHECK (channel IN ('sms', 'wechat', 'email')),
	wechat_id   text CHECK (wechat_id <> '')
);
COMMENT ON TABLE repairsys.customer_preference IS 'How a customer is told about their tickets: language and channel (a customer without a row, or a NULL language: the customer''s language, customer_language(); the first contact of wechat, phone, e-mail)';
COMMENT ON COLUMN repairsys.customer_preference.customer_id IS 'Customer';
COMMENT ON COLUMN repairsys.customer_preference.language IS 'Language of the notifications: en or zh-CN (NULL: the customer''s language, customer_language())';
COMMENT ON COLUMN repairsys.customer_preference.channel IS 'Preferred channel: sms (customer.phone), wechat (wechat_id) or email (customer.email); NULL or a channel without its contact: the first of wechat, sms, email that has one';
COMMENT ON COLUMN repairsys.customer_preference.wechat_id IS 'WeChat id (openid) of the customer';

CREATE TABLE repairsys.notification_template (
	kind     text NOT NULL CHECK (kind IN ('technician_assigned', 'ticket_resolved', 'bill_ready', 'payment_received', 'follow_up_survey',
	                            'technician_arrived', 'estimate_to_approve', 'visit_reminder')),
	language text NOT NULL CHECK (language IN ('en', 'zh-CN')),
	body     text NOT NULL CHECK (body <> ''),
	dump     boolean NOT NULL DEFAULT true,
	PRIMARY KEY (kind, language)
);
COMMENT ON TABLE repairsys.notification_template IS 'Texts of the customer notifications per kind and language, with {placeholders} checked when written (repairsys.notification_placeholders())';
COMMENT ON COLUMN repairsys.notification_template.kind IS 'technician_assigned, ticket_resolved, bill_ready, payment_received, follow_up_survey, technician_arrived, estimate_to_approve or visit_reminder';
COMMENT ON COLUMN repairsys.notification_template.language IS 'en or zh-CN';
COMMENT ON COLUMN repairsys.notification_template.body IS 'The text; {name} is replaced by the value of that placeholder';
COMMENT ON COLUMN repairsys.notification_template.dump IS 'True for rows pg_dump must keep: user rows and seeded rows the user changed (kept by trigger)';
INSERT INTO repairsys.notification_template (kind, language, body, dump) VALUES
	('technician_assigned', 'en', 'Dear {customer_name}, technician {technician_name} will take care of your repair (ticket {ticket_id}).', false),
	('technician_assigned', 'zh-CN', '尊敬的{customer_name}，维修工程师{technician_name}已受理您的工单 {ticket_id}。', false),
	('ticket_resolved', 'en', 'Dear {customer_name}, the repair of ticket {ticket_id} is done.', false),
	('ticket_resolved', 'zh-CN', '尊敬的{customer_name}，您的工单 {ticket_id} 已维修完成。', false),
	('bill_ready', 'en', 'Your bill {invoice_no} for ticket {ticket_id} is ready: {total} {currency}.', false),
	('bill_ready', 'zh-CN', '您的工单 {ticket_id} 账单 {invoice_no} 已生成：{total} {currency}。', false),
	('payment_received', 'en', 'We received your payment of {amount} {currency} for ticket {ticket_id}. Thank you.', false),
	('payment_received', 'zh-CN', '已收到您为工单 {ticket_id} 支付的 {amount} {currency}，谢谢。', false),
	('follow_up_survey', 'en', 'Dear {customer_name}, how was the repair of ticket {ticket_id}? We will call you shortly.', false),
	('follow_up_survey', 'zh-CN', '尊敬的{customer_name}，工单 {ticket_id} 的维修您满意吗？我们将很快回访。', false),
	('technician_arrived', 'en', 'Dear {customer_name}, technician {technician_name} has arrived for ticket {ticket_id}.', false),
	('technician_arrived', 'zh-CN', '尊敬的{customer_name}，维修工程师{technician_name}已到达，为您处理工单 {ticket_id}。', false),
	('estimate_to_approve', 'en', 'Dear {customer_name}, the estimate of ticket {ticket_id} was revised (revision {revision}: {low} to {high}). Please approve it before we go on.', false),
	('estimate_to_approve', 'zh-CN', '尊敬的{customer_name}，工单 {ticket_id} 的报价已更新（第 {revision} 版：{low} 至 {high}），请确认后我们继续维修。', false),
	('visit_reminder', 'en', 'Dear {customer_name}, technician {technician_name} is on the way and will visit you at {visit_time} (ticket {ticket_id}).', false),
	('visit_reminder', 'zh-CN', '尊敬的{customer_name}，维修工程师{technician_name}将于 {visit_time} 上门（工单 {ticket_id}），已在路上。', false);

CREATE TABLE repairsys.notification (
	event_id          bigint PRIMARY KEY,
	at                timestamptz NOT NULL,
	kind              text NOT NULL,
	ticket_id         bigint NOT NULL REFERENCES repairsys.ticket,
	customer_id       bigint NOT NULL REFERENCES repairsys.customer,
	service_center_id bigint,
	language          text NOT NULL,
	channel           text NOT NULL CHECK (channel IN ('sms', 'wechat', 'email')),
	recipient         text NOT NULL,
	text              text NOT NULL,
	created_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.notification IS 'Notifications a customer should get, one per event a customer hears about, rendered by run_jobs() from notification_template in the customer''s language';
COMMENT ON COLUMN repairsys.notification.event_id IS 'The event (repairsys.event.id) the notification tells of';
COMMENT ON COLUMN repairsys.notification.at IS 'When the event happened';
COMMENT ON COLUMN repairsys.notification.kind IS 'Template kind: technician_assigned, ticket_resolved, bill_ready, payment_received, follow_up_survey, technician_arrived, estimate_to_approve, visit_reminder';
COMMENT ON COLUMN repairsys.notification.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.notification.customer_id IS 'Customer told';
COMMENT ON COLUMN repairsys.notification.service_center_id IS 'Service center of the ticket';
COMMENT ON COLUMN repairsys.notification.language IS 'Language of the text';
COMMENT ON COLUMN repairsys.notification.channel IS 'sms, wechat or email';
COMMENT ON COLUMN repairsys.notification.recipient IS 'Phone number, WeChat id or e-mail address';
COMMENT ON COLUMN repairsys.notification.text IS 'The rendered text';
COMMENT ON COLUMN repairsys.notification.created_at IS 'When run_jobs() rendered it';
CREATE INDEX notification_customer_idx ON repairsys.notification (customer_id, event_id);
