-- Seeded defaults.  Seeded rows carry dump = false so pg_dump leaves them to
-- CREATE EXTENSION; the trigger repairsys.seed_row_changed() (below) flips the
-- flag when a user changes such a row, and lets a restore of that changed row
-- replace the freshly seeded one instead of failing on its key.

INSERT INTO repairsys.setting (name, value, description, dump, type, min_value, choices) VALUES
	('reopen_window', '7 days', 'A resolved ticket may be reopened (resolved -> in_progress) within this interval after resolution', false, 'interval', NULL, NULL),
	('rework_window', '30 days', 'A repair of the same asset and service type opened within this interval after an earlier ticket was closed is free of labor', false, 'interval', NULL, NULL),
	('tax_rate_labor', '0.06', 'Tax rate on labor, travel, call-out and surcharges (fraction: 0.06 = 6%)', false, 'fraction', NULL, NULL),
	('tax_rate_parts', '0.13', 'Tax rate on parts (fraction)', false, 'fraction', NULL, NULL),
	('currency', 'CNY', 'ISO 4217 currency of all amounts', false, 'currency', NULL, NULL),
	('follow_up_days', '3', 'A follow-up call (回访) is due this many days after a ticket is closed', false, 'integer', 0, NULL),
	('travel_cost_per_km', '0.80', 'Cost to the company of one km of travel (for the cost-benefit reports)', false, 'number', 0, NULL),
	('slot_length', '2 hours', 'Length of a bookable visit slot (预约时段): available_slots() offers slots of this length and book_visit() books one', false, 'interval', NULL, NULL),
	('travel_speed_kmh', '30', 'Speed in km/h at which travel time between two consecutive visits of a technician is counted (great-circle distance)', false, 'number', 1, NULL),
	('max_reschedules', '3', 'How often one ticket''s visit may be rescheduled (改约)', false, 'integer', 0, NULL);

INSERT INTO repairsys.complexity_rule (level, factor, dump) VALUES
	(1, 1.000, false), (2, 1.150, false), (3, 1.300, false), (4, 1.500, false), (5, 1.800, false);

INSERT INTO repairsys.urgency_rule (urgency, surcharge_pct, rank, dump) VALUES
	('normal', 0, 3, false), ('urgent', 25, 2, false), ('emergency', 50, 1, false);

-- The default workflow: the only place its state codes are written.  Every
-- rule reads the role column.
INSERT INTO repairsys.ticket_status (code, name, role, pauses_sla, max_dwell, sort_order, dump, seed_code) VALUES
	('new',              'New',                   'initial',   false, interval '4 hours',  10, false, 'new'),
	('assigned',         'Assigned',              'assigned',  false, interval '1 day',    20, false, 'assigned'),
	('in_progress',      'In progress',           'active',    false, interval '3 days',   30, false, 'in_progress'),
	('waiting_parts',    'Waiting for parts',     'on_hold',   true,  interval '7 days',   40, false, 'waiting_parts'),
	('waiting_customer', 'Waiting for customer',  'on_hold',   true,  interval '3 days',   50, false, 'waiting_customer'),
	('resolved',         'Resolved',              'resolved',  false, interval '7 days',   60, false, 'resolved'),
	('closed',           'Closed',                'closed',    false, NULL,                70, false, 'closed'),
	('cancelled',        'Cancelled',             'cancelled', false, NULL,                80, false, 'cancelled');

INSERT INTO repairsys.ticket_transition (from_status, to_status, guard, dump) VALUES
	('new',              'assigned',         'has_technician',    false),
	('new',              'cancelled',        NULL,                false),
	('assigned',         'in_progress',      'estimate_approved', false),
	('assigned',         'cancelled',        NULL,                false),
	('assigned',         'new',              NULL,                false),
	('in_progress',      'waiting_parts',    NULL,                false),
	('waiting_parts',    'in_progress',      NULL,                false),
	('in_progress',      'waiting_customer', NULL,                false),
	('waiting_customer', 'in_progress',      NULL,                false),
	('in_progress',      'resolved',         'labor_recorded',    false),
	('resolved',         'closed',           'settled',           false),
	('resolved',         'in_progress',      'reopen_window',     false);

INSERT INTO repairsys.assign_policy (name, dump) VALUES ('default', false);
