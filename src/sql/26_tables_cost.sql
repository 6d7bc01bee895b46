-- Cost management and recalls (DESIGN.md section 18, docs/reports.md): the
-- budgets a center keeps per month and cost class, the indirect costs
-- (overheads) allocated to the month's tickets, and product recalls with the
-- ticket each affected unit got.  The rules and views are in 72_cost.sql.

------------------------------------------------------------------------------
-- Budgets (预算控制) and overheads (indirect costs)
------------------------------------------------------------------------------
-- A cost class is a lower-case word: labor, parts and travel are the direct
-- costs that ticket_cost measures; any other word (rent, vehicles,
-- call_center, ...) is an indirect class whose amounts are the overhead rows.
CREATE TABLE repairsys.budget (
	service_center_id bigint NOT NULL REFERENCES repairsys.service_center ON DELETE CASCADE,
	month             date NOT NULL CHECK (extract(day FROM month) = 1),
	cost_class        text NOT NULL CHECK (cost_class ~ '^[a-z][a-z0-9_]{0,39}$'),
	amount            numeric(14,2) NOT NULL CHECK (amount >= 0),
	PRIMARY KEY (service_center_id, month, cost_class)
);
COMMENT ON TABLE repairsys.budget IS 'Budgets (预算): what a service center plans to spend in a month on a cost class; watched by the view budget_status';
COMMENT ON COLUMN repairsys.budget.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.budget.month IS 'First day of the month (in the center''s time zone)';
COMMENT ON COLUMN repairsys.budget.cost_class IS 'labor, parts, travel (direct costs) or an indirect class of overhead (rent, vehicles, call_center, ...): a lower-case word';
COMMENT ON COLUMN repairsys.budget.amount IS 'Budgeted amount';
SELECT pg_catalog.pg_extension_config_dump('repairsys.budget', '');

CREATE TABLE repairsys.overhead (
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	service_center_id bigint NOT NULL REFERENCES repairsys.service_center ON DELETE CASCADE,
	month             date NOT NULL CHECK (extract(day FROM month) = 1),
	cost_class        text NOT NULL CHECK (cost_class ~ '^[a-z][a-z0-9_]{0,39}$' AND cost_class NOT IN ('labor', 'parts', 'travel')),
	amount            numeric(14,2) NOT NULL CHECK (amount >= 0),
	note              text,
	UNIQUE (service_center_id, month, cost_class)
);
COMMENT ON TABLE repairsys.overhead IS 'Indirect costs (间接成本) of a service center in a month (rent, vehicles, call center, ...), allocated to the month''s tickets by the setting overhead_driver (view overhead_allocation)';
COMMENT ON COLUMN repairsys.overhead.id IS 'Overhead id';
COMMENT ON COLUMN repairsys.overhead.service_center_id IS 'Service center that bears the cost';
COMMENT ON COLUMN repairsys.overhead.month IS 'First day of the month (in the center''s time zone)';
COMMENT ON COLUMN repairsys.overhead.cost_class IS 'Indirect cost class: a lower-case word other than labor, parts and travel';
COMMENT ON COLUMN repairsys.overhead.amount IS 'Amount of the month';
COMMENT ON COLUMN repairsys.overhead.note IS 'Free text (invoice, contract)';
SELECT pg_catalog.pg_extension_config_dump('repairsys.overhead', '');

------------------------------------------------------------------------------
-- Recalls (产品召回)
------------------------------------------------------------------------------
-- Written only by repairsys.open_recall() (SECURITY DEFINER), which opens one
-- ticket per affected asset and records it in recall_ticket.
CREATE TABLE repairsys.recall (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	model        text NOT NULL CHECK (model <> ''),
	serial_from  text NOT NULL CHECK (serial_from <> ''),
	serial_to    text NOT NULL CHECK (serial_to <> ''),
	service_type text NOT NULL REFERENCES repairsys.service_type ON UPDATE CASCADE,
	reason       text NOT NULL CHECK (reason <> ''),
	opened_at    timestamptz NOT NULL DEFAULT now(),
	opened_by    name NOT NULL DEFAULT session_user,
	CHECK (serial_from COLLATE "C" <= serial_to COLLATE "C"),
	CONSTRAINT recall_key UNIQUE (model, serial_from, serial_to, service_type)
);
COMMENT ON TABLE repairsys.recall IS 'Product recalls (产品召回): the units of a model whose serial numbers lie in a range get a ticket of the service type (open_recall())';
COMMENT ON COLUMN repairsys.recall.id IS 'Recall id';
COMMENT ON COLUMN repairsys.recall.model IS 'Model recalled (asset.model, exactly)';
COMMENT ON COLUMN repairsys.recall.serial_from IS 'First serial number of the range (inclusive; compared byte by byte, COLLATE "C")';
COMMENT ON COLUMN repairsys.recall.serial_to IS 'Last serial number of the range (inclusive)';
COMMENT ON COLUMN repairsys.recall.service_type IS 'Service type of the recall tickets';
COMMENT ON COLUMN repairsys.recall.reason IS 'Why the units are recalled (the tickets'' description)';
COMMENT ON COLUMN repairsys.recall.opened_at IS 'When the recall was first opened';
COMMENT ON COLUMN repairsys.recall.opened_by IS 'Session user who first opened it';
SELECT pg_catalog.pg_extension_config_dump('repairsys.recall', '');

CREATE TABLE repairsys.recall_ticket (
	recall_id bigint NOT NULL REFERENCES repairsys.recall ON DELETE CASCADE,
	asset_id  bigint NOT NULL REFERENCES repairsys.asset,
	ticket_id bigint NOT NULL UNIQUE REFERENCES repairsys.ticket,
	PRIMARY KEY (recall_id, asset_id)
);
COMMENT ON TABLE repairsys.recall_ticket IS 'The ticket each affected asset got from a recall: one per (recall, asset), so a recall run twice opens nothing new';
COMMENT ON COLUMN repairsys.recall_ticket.recall_id IS 'Recall';
COMMENT ON COLUMN repairsys.recall_ticket.asset_id IS 'Affected asset';
COMMENT ON COLUMN repairsys.recall_ticket.ticket_id IS 'Ticket opened for it';
SELECT pg_catalog.pg_extension_config_dump('repairsys.recall_ticket', '');
