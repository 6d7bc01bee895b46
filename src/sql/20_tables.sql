-- Data model: every table of the extension (docs/reference.md lists them with
-- their columns).  The pieces 2N_tables_*.sql that follow hold the tables of
-- later features: every table is created before the functions that use it.
--
-- Conventions: identifiers are bigint identity columns unless a natural code
-- fits; money is numeric(14,2); times are timestamptz; distances kilometres;
-- labor durations minutes numeric(10,2).  Columns that triggers maintain are
-- said to be so in their comments.  NaN and infinities are refused on every
-- numeric, float, date, timestamp and interval column by the
-- <table>_<column>_finite constraints that 85_finite.sql adds to every table.

------------------------------------------------------------------------------
-- Settings (one row per tunable of the domain rules)
------------------------------------------------------------------------------
CREATE TABLE repairsys.setting (
	name        text PRIMARY KEY,
	value       text NOT NULL,
	description text NOT NULL DEFAULT '',
	dump        boolean NOT NULL DEFAULT true,
	type        text NOT NULL DEFAULT 'text'
	            CHECK (type IN ('text', 'interval', 'integer', 'number', 'fraction', 'choice', 'currency')),
	min_value   numeric CHECK (min_value IS NULL OR (min_value::text NOT IN ('NaN', 'Infinity', '-Infinity'))),
	choices     text[] CHECK ((type = 'choice') = (choices IS NOT NULL))
);
COMMENT ON TABLE repairsys.setting IS 'Tunables of the domain rules (reopen window, rework window, tax rates, ...); read with repairsys.setting_value()';
COMMENT ON COLUMN repairsys.setting.name IS 'Name of the setting';
COMMENT ON COLUMN repairsys.setting.value IS 'Value, as text in the input syntax of its type (interval, numeric, ...)';
COMMENT ON COLUMN repairsys.setting.description IS 'What the setting controls';
COMMENT ON COLUMN repairsys.setting.dump IS 'True for rows pg_dump must keep: user rows and seeded rows the user changed (kept by trigger)';
COMMENT ON COLUMN repairsys.setting.type IS 'Type of the value, checked when the row is written (docs/security.md): text, interval (> 0), integer (whole, >= min_value), number (finite, >= min_value), fraction (0..1), choice (one of choices), currency (ISO 4217 code)';
COMMENT ON COLUMN repairsys.setting.min_value IS 'Smallest valid value of an integer or number setting (NULL: 0)';
COMMENT ON COLUMN repairsys.setting.choices IS 'The valid values of a choice setting';

------------------------------------------------------------------------------
-- Organisation, customers, assets, technicians
------------------------------------------------------------------------------
CREATE TABLE repairsys.service_center (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name        text NOT NULL CHECK (name <> ''),
	lat         double precision CHECK (lat BETWEEN -90 AND 90),
	lon         double precision CHECK (lon BETWEEN -180 AND 180),
	time_zone   text NOT NULL DEFAULT 'UTC',
	address     text,
	created_at  timestamptz NOT NULL DEFAULT now(),
	language    text CHECK (language IN ('en', 'zh-CN')),
	UNIQUE (name)
);
COMMENT ON TABLE repairsys.service_center IS 'Service points (网点) that hold technicians and stock';
COMMENT ON COLUMN repairsys.service_center.id IS 'Service center id';
COMMENT ON COLUMN repairsys.service_center.name IS 'Unique name of the service center';
COMMENT ON COLUMN repairsys.service_center.lat IS 'Latitude in degrees (WGS 84)';
COMMENT ON COLUMN repairsys.service_center.lon IS 'Longitude in degrees (WGS 84)';
COMMENT ON COLUMN repairsys.service_center.time_zone IS 'IANA time zone of the center (business hours and holidays are local to it)';
COMMENT ON COLUMN repairsys.service_center.address IS 'Postal address';
COMMENT ON COLUMN repairsys.service_center.created_at IS 'When the row was created';
COMMENT ON COLUMN repairsys.service_center.language IS 'Language of the center''s reports (report_html): en or zh-CN; NULL: the setting language';

CREATE TABLE repairsys.customer (
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name              text NOT NULL CHECK (name <> ''),
	phone             text,
	email             text CHECK (email IS NULL OR email LIKE '%_@_%'),
	address           text,
	lat               double precision CHECK (lat BETWEEN -90 AND 90),
	lon               double precision CHECK (lon BETWEEN -180 AND 180),
	service_center_id bigint REFERENCES repairsys.service_center,
	db_role           name UNIQUE,
	created_at        timestamptz NOT NULL DEFAULT now(),
	language          text CHECK (language IN ('en', 'zh-CN'))
);
COMMENT ON TABLE repairsys.customer IS 'Customer archive (客户档案)';
COMMENT ON COLUMN repairsys.customer.id IS 'Customer id';
COMMENT ON COLUMN repairsys.customer.name IS 'Customer name';
COMMENT ON COLUMN repairsys.customer.phone IS 'Phone number';
COMMENT ON COLUMN repairsys.customer.email IS 'E-mail address';
COMMENT ON COLUMN repairsys.customer.address IS 'Service address';
COMMENT ON COLUMN repairsys.customer.lat IS 'Latitude of the service address in degrees';
COMMENT ON COLUMN repairsys.customer.lon IS 'Longitude of the service address in degrees';
COMMENT ON COLUMN repairsys.customer.language IS 'Language of what this customer reads (bill_detail, bill_html, notifications unless customer_preference.language says otherwise): en or zh-CN; NULL: the setting language';
COMMENT ON COLUMN repairsys.customer.service_center_id IS 'Home service center; when NULL a new ticket goes to the center nearest to its location';
COMMENT ON COLUMN repairsys.customer.db_role IS 'Database login role of the customer (row-level security maps it to this row)';
COMMENT ON COLUMN repairsys.customer.created_at IS 'When the customer was registered';
CREATE INDEX customer_service_center_idx ON repairsys.customer (service_center_id);

CREATE TABLE repairsys.asset (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer_id    bigint NOT NULL REFERENCES repairsys.customer,
	model          text NOT NULL CHECK (model <> ''),
	serial_no      text,
	purchased_at   date,
	purchase_price numeric(14,2) CHECK (purchase_price >= 0),
	warranty_until date,
	CHECK (warranty_until IS NULL OR purchased_at IS NULL OR warranty_until >= purchased_at),
	UNIQUE (model, serial_no)
);
COMMENT ON TABLE repairsys.asset IS 'A unit a customer bought and may bring for repair';
COMMENT ON COLUMN repairsys.asset.id IS 'Asset id';
COMMENT ON COLUMN repairsys.asset.customer_id IS 'Owner of the unit';
COMMENT ON COLUMN repairsys.asset.model IS 'Product model';
COMMENT ON COLUMN repairsys.asset.serial_no IS 'Serial number (unique per model)';
COMMENT ON COLUMN repairsys.asset.purchased_at IS 'Date of purchase';
COMMENT ON COLUMN repairsys.asset.purchase_price IS 'Price paid for the unit';
COMMENT ON COLUMN repairsys.asset.warranty_until IS 'Last day of the product warranty (inclusive)';
CREATE INDEX asset_customer_idx ON repairsys.asset (customer_id);

CREATE TABLE repairsys.technician (
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name              text NOT NULL CHECK (name <> ''),
	service_center_id bigint REFERENCES repairsys.service_center,
	lat               double precision CHECK (lat BETWEEN -90 AND 90),
	lon               double precision CHECK (lon BETWEEN -180 AND 180),
	capacity          integer NOT NULL DEFAULT 5 CHECK (capacity >= 0),
	hourly_cost       numeric(14,2) NOT NULL DEFAULT 0 CHECK (hourly_cost >= 0),
	active            boolean NOT NULL DEFAULT true,
	db_role           name UNIQUE,
	created_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.technician IS 'Field or bench technicians';
COMMENT ON COLUMN repairsys.technician.id IS 'Technician id';
COMMENT ON COLUMN repairsys.technician.name IS 'Technician name';
COMMENT ON COLUMN repairsys.technician.service_center_id IS 'Service center the technician belongs to';
COMMENT ON COLUMN repairsys.technician.lat IS 'Latitude of the technician''s base in degrees';
COMMENT ON COLUMN repairsys.technician.lon IS 'Longitude of the technician''s base in degrees';
COMMENT ON COLUMN repairsys.technician.capacity IS 'Maximum number of open tickets at once';
COMMENT ON COLUMN repairsys.technician.hourly_cost IS 'Cost of one hour of the technician''s work to the company';
COMMENT ON COLUMN repairsys.technician.active IS 'False for technicians who take no new work';
COMMENT ON COLUMN repairsys.technician.db_role IS 'Database login role of the technician (row-level security maps it to this row)';
COMMENT ON COLUMN repairsys.technician.created_at IS 'When the technician was registered';
CREATE INDEX technician_service_center_idx ON repairsys.technician (service_center_id);

CREATE TABLE repairsys.technician_skill (
	technician_id bigint NOT NULL REFERENCES repairsys.technician ON DELETE CASCADE,
	skill         text NOT NULL CHECK (skill <> ''),
	level         integer NOT NULL CHECK (level BETWEEN 1 AND 5),
	PRIMARY KEY (technician_id, skill)
);
COMMENT ON TABLE repairsys.technician_skill IS 'Skills of technicians with their level 1 (novice) to 5 (expert)';
COMMENT ON COLUMN repairsys.technician_skill.technician_id IS 'Technician';
COMMENT ON COLUMN repairsys.technician_skill.skill IS 'Skill name, matched against service_type.required_skill';
COMMENT ON COLUMN repairsys.technician_skill.level IS 'Level 1..5';
CREATE INDEX technician_skill_skill_idx ON repairsys.technician_skill (skill, level);

------------------------------------------------------------------------------
-- Catalog and pricing rules
------------------------------------------------------------------------------
CREATE TABLE repairsys.service_type (
	code             text PRIMARY KEY CHECK (code ~ '^[a-z0-9_]+$'),
	name             text NOT NULL CHECK (name <> ''),
	required_skill   text,
	min_skill_level  integer NOT NULL DEFAULT 1 CHECK (min_skill_level BETWEEN 1 AND 5),
	labor_fee        repairsys.fee_tier NOT NULL,
	travel_fee       repairsys.fee_tier,
	callout_fee      numeric(14,2) NOT NULL DEFAULT 0 CHECK (callout_fee >= 0),
	est_minutes_low  numeric(10,2) CHECK (est_minutes_low >= 0),
	est_minutes_high numeric(10,2) CHECK (est_minutes_high >= 0),
	CHECK (est_minutes_high IS NULL OR est_minutes_low IS NULL OR est_minutes_high >= est_minutes_low)
);
COMMENT ON TABLE repairsys.service_type IS 'Catalog of services with their price schedules';
COMMENT ON COLUMN repairsys.service_type.code IS 'Short code (lower case letters, digits, underscores)';
COMMENT ON COLUMN repairsys.service_type.name IS 'Name shown to customers';
COMMENT ON COLUMN repairsys.service_type.required_skill IS 'Skill a technician needs for this service (NULL: any)';
COMMENT ON COLUMN repairsys.service_type.min_skill_level IS 'Minimum level of the required skill';
COMMENT ON COLUMN repairsys.service_type.labor_fee IS 'Labor price schedule per minute of work: the published version in force (service_price; an UPDATE is a new version in force now; no rule reads this column, they read price_at())';
COMMENT ON COLUMN repairsys.service_type.travel_fee IS 'Travel price schedule per km (NULL: travel is free): the published version in force (service_price, as labor_fee)';
COMMENT ON COLUMN repairsys.service_type.callout_fee IS 'Fixed call-out fee per visit: the published version in force (service_price, as labor_fee)';
COMMENT ON COLUMN repairsys.service_type.est_minutes_low IS 'Estimated labor minutes, low end';
COMMENT ON COLUMN repairsys.service_type.est_minutes_high IS 'Estimated labor minutes, high end';

CREATE TABLE repairsys.complexity_rule (
	level  integer PRIMARY KEY CHECK (level BETWEEN 1 AND 5),
	factor numeric(6,3) NOT NULL CHECK (factor > 0),
	dump   boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE repairsys.complexity_rule IS 'Labor price factor for each complexity level';
COMMENT ON COLUMN repairsys.complexity_rule.level IS 'Complexity level 1..5';
COMMENT ON COLUMN repairsys.complexity_rule.factor IS 'Factor applied to the labor charge (1.000: no change)';
COMMENT ON COLUMN repairsys.complexity_rule.dump IS 'True for rows pg_dump must keep: user rows and seeded rows the user changed (kept by trigger)';

CREATE TABLE repairsys.urgency_rule (
	urgency       text PRIMARY KEY CHECK (urgency ~ '^[a-z][a-z0-9_]*$'),
	surcharge_pct numeric(6,2) NOT NULL CHECK (surcharge_pct >= 0),
	dump          boolean NOT NULL DEFAULT true,
	-- (1.2's column last, where the update from 1.1 adds it)
	rank          integer NOT NULL DEFAULT 100
);
COMMENT ON TABLE repairsys.urgency_rule IS 'Surcharge for each urgency';
COMMENT ON COLUMN repairsys.urgency_rule.urgency IS 'Urgency code (seeded: normal, urgent, emergency)';
COMMENT ON COLUMN repairsys.urgency_rule.rank IS 'Priority in assignment: smaller goes first (seeded: emergency 1, urgent 2, normal 3)';
COMMENT ON COLUMN repairsys.urgency_rule.surcharge_pct IS 'Surcharge in percent of labor';
COMMENT ON COLUMN repairsys.urgency_rule.dump IS 'True for rows pg_dump must keep: user rows and seeded rows the user changed (kept by trigger)';

CREATE TABLE repairsys.sla_policy (
	service_type   text NOT NULL REFERENCES repairsys.service_type ON UPDATE CASCADE ON DELETE CASCADE,
	urgency        text NOT NULL REFERENCES repairsys.urgency_rule,
	respond_within repairsys.sla_interval NOT NULL,
	resolve_within repairsys.sla_interval NOT NULL,
	PRIMARY KEY (service_type, urgency)
);
COMMENT ON TABLE repairsys.sla_policy IS 'Response and resolution targets per service type and urgency';
COMMENT ON COLUMN repairsys.sla_policy.service_type IS 'Service type';
COMMENT ON COLUMN repairsys.sla_policy.urgency IS 'Urgency';
COMMENT ON COLUMN repairsys.sla_policy.respond_within IS 'Target from opening to first response';
COMMENT ON COLUMN repairsys.sla_policy.resolve_within IS 'Target from opening to resolution (paused states do not count)';

CREATE TABLE repairsys.holiday (
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	service_center_id bigint REFERENCES repairsys.service_center ON DELETE CASCADE,
	day               date NOT NULL,
	name              text NOT NULL DEFAULT '',
	kind              text NOT NULL DEFAULT 'closed'
	                  CONSTRAINT holiday_kind_check CHECK (kind IN ('closed', 'workday')),
	works_as          integer NOT NULL DEFAULT 1
	                  CONSTRAINT holiday_works_as_check CHECK (works_as BETWEEN 1 AND 7)
);
COMMENT ON TABLE repairsys.holiday IS 'Closed dates (holidays) and make-up working days (调休) of one service center, or of all centers; a center''s own row for a date overrides the all-center row';
COMMENT ON COLUMN repairsys.holiday.id IS 'Holiday id';
COMMENT ON COLUMN repairsys.holiday.service_center_id IS 'Center the date applies to (NULL: all centers)';
COMMENT ON COLUMN repairsys.holiday.day IS 'Local date that is closed or, for a workday, open';
COMMENT ON COLUMN repairsys.holiday.name IS 'Name of the holiday';
COMMENT ON COLUMN repairsys.holiday.kind IS 'closed (default): no business hours that day; workday: a make-up working day, open with the windows of weekday works_as even when the calendar has none on its own weekday';
COMMENT ON COLUMN repairsys.holiday.works_as IS 'For a workday: the ISO weekday (1 = Monday ... 7 = Sunday) whose windows the day has (default 1); not used for a closed day';
CREATE UNIQUE INDEX holiday_center_day_key ON repairsys.holiday (coalesce(service_center_id, 0), day);

------------------------------------------------------------------------------
-- Workflow definition (data, so a company can add its own states)
------------------------------------------------------------------------------
-- Every state has a role: what it means to the rules of the extension.
-- Rules find states by role, never by code (docs/lifecycle.md): a company may
-- rename any state (to 已完成, say) or add states of any role.
CREATE TABLE repairsys.ticket_status (
	code        text PRIMARY KEY CHECK (code ~ '^[^[:space:][:cntrl:]"]+$'),
	name        text NOT NULL DEFAULT '',
	pauses_sla  boolean NOT NULL DEFAULT false,
	max_dwell   interval CHECK (max_dwell > interval '0' AND isfinite(max_dwell)),
	sort_order  integer NOT NULL DEFAULT 100,
	dump        boolean NOT NULL DEFAULT true,
	-- (1.2's columns last, in the order the update from 1.1 adds them)
	role        text NOT NULL DEFAULT 'active'
	            CHECK (role IN ('initial', 'assigned', 'active', 'on_hold', 'resolved', 'closed', 'cancelled')),
	seed_code   text UNIQUE,
	is_initial  boolean NOT NULL GENERATED ALWAYS AS (role = 'initial') STORED,
	is_terminal boolean NOT NULL GENERATED ALWAYS AS (role IN ('closed', 'cancelled')) STORED
);
CREATE UNIQUE INDEX ticket_status_one_initial ON repairsys.ticket_status (role) WHERE role = 'initial';
COMMENT ON TABLE repairsys.ticket_status IS 'States of the ticket workflow (自定义工单流程: add rows for states of your own; every state has a role the rules read)';
COMMENT ON COLUMN repairsys.ticket_status.code IS 'State code (any text without spaces or quotes; renaming it renames every reference)';
COMMENT ON COLUMN repairsys.ticket_status.name IS 'Name shown to people (empty: the code)';
COMMENT ON COLUMN repairsys.ticket_status.role IS 'What the state means to the rules: initial (exactly one), assigned, active, on_hold, resolved, closed or cancelled';
COMMENT ON COLUMN repairsys.ticket_status.is_initial IS 'The state every ticket starts in (role initial; generated)';
COMMENT ON COLUMN repairsys.ticket_status.is_terminal IS 'The ticket is finished (role closed or cancelled; generated)';
COMMENT ON COLUMN repairsys.ticket_status.pauses_sla IS 'Time spent in this state does not count against the resolution target';
COMMENT ON COLUMN repairsys.ticket_status.max_dwell IS 'A ticket in this state longer than this is flagged stuck (NULL: never)';
COMMENT ON COLUMN repairsys.ticket_status.sort_order IS 'Display order';
COMMENT ON COLUMN repairsys.ticket_status.seed_code IS 'Code the state was seeded with (NULL: a state of your own): a restore of a renamed seeded state replaces the seeded row it was';
COMMENT ON COLUMN repairsys.ticket_status.dump IS 'True for rows pg_dump must keep: user rows and seeded rows the user changed (kept by trigger)';

CREATE TABLE repairsys.ticket_transition (
	from_status text NOT NULL REFERENCES repairsys.ticket_status ON UPDATE CASCADE,
	to_status   text NOT NULL REFERENCES repairsys.ticket_status ON UPDATE CASCADE,
	guard       text CHECK (guard IN ('has_technician', 'estimate_approved', 'labor_recorded', 'settled', 'reopen_window')),
	enabled     boolean NOT NULL DEFAULT true,
	dump        boolean NOT NULL DEFAULT true,
	PRIMARY KEY (from_status, to_status),
	CHECK (from_status <> to_status)
);
COMMENT ON TABLE repairsys.ticket_transition IS 'Allowed status changes and the guard each requires';
COMMENT ON COLUMN repairsys.ticket_transition.from_status IS 'State the ticket leaves';
COMMENT ON COLUMN repairsys.ticket_transition.to_status IS 'State the ticket enters';
COMMENT ON COLUMN repairsys.ticket_transition.guard IS 'Built-in condition that must hold: has_technician, estimate_approved, labor_recorded, settled, reopen_window (NULL: none)';
COMMENT ON COLUMN repairsys.ticket_transition.enabled IS 'False disables a transition (use this rather than DELETE for seeded rows, so pg_dump keeps the change)';
COMMENT ON COLUMN repairsys.ticket_transition.dump IS 'True for rows pg_dump must keep: user rows and seeded rows the user changed (kept by trigger)';

------------------------------------------------------------------------------
-- Fault codes (what the technician found; the classes diagnosis suggestions
-- learn, src/sql/73_models.sql).  Here, before ticket, because
-- ticket.fault_code references it; the model tables are in
-- 27_tables_models.sql.
------------------------------------------------------------------------------
CREATE TABLE repairsys.fault_code (
	code         text PRIMARY KEY CHECK (code ~ '^[a-z0-9][a-z0-9_.-]*$'),
	name         text NOT NULL CHECK (name <> ''),
	service_type text REFERENCES repairsys.service_type ON UPDATE CASCADE ON DELETE SET NULL
);
COMMENT ON TABLE repairsys.fault_code IS 'Catalog of fault codes (故障代码): what a technician may record as found on a ticket (ticket.fault_code)';
COMMENT ON COLUMN repairsys.fault_code.code IS 'Fault code (lower case letters, digits, _ . -)';
COMMENT ON COLUMN repairsys.fault_code.name IS 'Name shown to people';
COMMENT ON COLUMN repairsys.fault_code.service_type IS 'Service type the fault belongs to (NULL: any); suggest_diagnosis(service_type => ...) offers only the codes of that type or of none';

------------------------------------------------------------------------------
-- Tickets and their history
------------------------------------------------------------------------------
-- Every column of the ticket is here: no later piece adds one.  The columns
-- are in the order a database upgraded from an earlier version has them
-- (ALTER TABLE appends), so a fresh install and an upgraded one agree on
-- SELECT *: the columns of 1.0, then the price snapshot the bill is computed
-- from (set when the customer approves the estimate, so later price-list
-- changes never change it), the SLA targets the ticket was opened with (a
-- later policy change does not move its deadlines), the zone its calendar is
-- read in and the business time its holds consumed, the actor of the last
-- change, and the role of the current state (1.2).  New columns go at the end.
CREATE TABLE repairsys.ticket (
	id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer_id          bigint NOT NULL REFERENCES repairsys.customer,
	asset_id             bigint REFERENCES repairsys.asset,
	service_type         text NOT NULL REFERENCES repairsys.service_type ON UPDATE CASCADE,
	complexity           integer NOT NULL DEFAULT 1 CHECK (complexity BETWEEN 1 AND 5),
	urgency              text NOT NULL DEFAULT 'normal' REFERENCES repairsys.urgency_rule ON UPDATE CASCADE,
	channel              text NOT NULL DEFAULT 'web' CHECK (channel IN ('phone', 'web', 'app', 'mini_program', 'walk_in')),
	description          text,
	lat                  double precision CHECK (lat BETWEEN -90 AND 90),
	lon                  double precision CHECK (lon BETWEEN -180 AND 180),
	service_center_id    bigint REFERENCES repairsys.service_center,
	status               text NOT NULL REFERENCES repairsys.ticket_status ON UPDATE CASCADE,
	technician_id        bigint REFERENCES repairsys.technician,
	opened_at            timestamptz NOT NULL DEFAULT now(),
	first_response_at    timestamptz,
	respond_by           timestamptz,
	resolve_by           timestamptz,
	resolved_at          timestamptz,
	closed_at            timestamptz,
	status_changed_at    timestamptz,
	reopen_count         integer NOT NULL DEFAULT 0 CHECK (reopen_count >= 0),
	labor_minutes        numeric(10,2) CHECK (labor_minutes >= 0),
	travel_km            numeric(10,3) CHECK (travel_km >= 0),
	estimate_approved_at timestamptz,
	warranty_void        boolean NOT NULL DEFAULT false,
	price_labor_fee      repairsys.fee_tier,
	price_travel_fee     repairsys.fee_tier,
	price_callout_fee    numeric(14,2),
	price_complexity_factor numeric(6,3),
	price_surcharge_pct  numeric(6,2),
	price_tax_rate_labor numeric(6,4),
	price_tax_rate_parts numeric(6,4),
	price_rework_window  text,
	approved_estimate_low numeric(14,2),
	approved_estimate_high numeric(14,2),
	sla_respond_within   repairsys.sla_interval,
	sla_resolve_within   repairsys.sla_interval,
	sla_time_zone        text,
	sla_paused           interval NOT NULL DEFAULT interval '0',
	changed_by           name,
	status_role          text NOT NULL,
	arrived_at           timestamptz,
	estimate_approved_by name,
	fault_code           text REFERENCES repairsys.fault_code ON UPDATE CASCADE,
	CHECK (resolved_at IS NULL OR resolved_at >= opened_at),
	CHECK (closed_at IS NULL OR closed_at >= opened_at)
);
COMMENT ON TABLE repairsys.ticket IS 'Repair tickets (工单); status changes are checked by the life-cycle trigger';
COMMENT ON COLUMN repairsys.ticket.id IS 'Ticket id';
COMMENT ON COLUMN repairsys.ticket.customer_id IS 'Customer who asked for the repair';
COMMENT ON COLUMN repairsys.ticket.asset_id IS 'Unit to repair (must belong to the customer)';
COMMENT ON COLUMN repairsys.ticket.service_type IS 'Service type code';
COMMENT ON COLUMN repairsys.ticket.complexity IS 'Complexity level 1..5 (labor price factor)';
COMMENT ON COLUMN repairsys.ticket.urgency IS 'normal, urgent or emergency (surcharge and SLA policy)';
COMMENT ON COLUMN repairsys.ticket.channel IS 'Where the request came from: phone, web, app, mini_program, walk_in';
COMMENT ON COLUMN repairsys.ticket.description IS 'Problem as the customer described it';
COMMENT ON COLUMN repairsys.ticket.lat IS 'Latitude of the repair location (default: the customer''s)';
COMMENT ON COLUMN repairsys.ticket.lon IS 'Longitude of the repair location (default: the customer''s)';
COMMENT ON COLUMN repairsys.ticket.service_center_id IS 'Service center responsible (default: the customer''s home center, else the nearest)';
COMMENT ON COLUMN repairsys.ticket.status IS 'Current workflow state (changes checked against ticket_transition; a new ticket starts in the initial-role state)';
COMMENT ON COLUMN repairsys.ticket.technician_id IS 'Assigned technician';
COMMENT ON COLUMN repairsys.ticket.opened_at IS 'When the ticket was opened';
COMMENT ON COLUMN repairsys.ticket.first_response_at IS 'First move out of the initial state (set by trigger)';
COMMENT ON COLUMN repairsys.ticket.respond_by IS 'Response deadline from the SLA policy (set by trigger)';
COMMENT ON COLUMN repairsys.ticket.resolve_by IS 'Resolution deadline from the SLA policy, moved by paused time (set by trigger)';
COMMENT ON COLUMN repairsys.ticket.resolved_at IS 'When the ticket was last resolved (set by trigger; cleared on reopen)';
COMMENT ON COLUMN repairsys.ticket.closed_at IS 'When the ticket entered a terminal state (set by trigger)';
COMMENT ON COLUMN repairsys.ticket.status_changed_at IS 'When the ticket entered its current state (set by trigger)';
COMMENT ON COLUMN repairsys.ticket.reopen_count IS 'How often the ticket was reopened after resolution (set by trigger)';
COMMENT ON COLUMN repairsys.ticket.labor_minutes IS 'Minutes of labor recorded';
COMMENT ON COLUMN repairsys.ticket.travel_km IS 'Kilometres of travel recorded';
COMMENT ON COLUMN repairsys.ticket.estimate_approved_at IS 'When the customer approved the estimate';
COMMENT ON COLUMN repairsys.ticket.warranty_void IS 'True when the product warranty does not apply (damage, tampering)';
COMMENT ON COLUMN repairsys.ticket.price_labor_fee IS 'Labor fee schedule at approval (snapshot; NULL before approval: the price list applies)';
COMMENT ON COLUMN repairsys.ticket.price_travel_fee IS 'Travel fee schedule at approval (snapshot)';
COMMENT ON COLUMN repairsys.ticket.price_callout_fee IS 'Call-out fee at approval (snapshot)';
COMMENT ON COLUMN repairsys.ticket.price_complexity_factor IS 'Complexity factor at approval (snapshot)';
COMMENT ON COLUMN repairsys.ticket.price_surcharge_pct IS 'Urgency surcharge percent at approval (snapshot)';
COMMENT ON COLUMN repairsys.ticket.price_tax_rate_labor IS 'Tax rate on labor, travel, call-out and surcharges at approval (snapshot)';
COMMENT ON COLUMN repairsys.ticket.price_tax_rate_parts IS 'Tax rate on parts at approval (snapshot)';
COMMENT ON COLUMN repairsys.ticket.price_rework_window IS 'Rework window at approval, as the text of the rework_window setting (snapshot): a repeat repair stays free of labor whatever the setting becomes';
COMMENT ON COLUMN repairsys.ticket.approved_estimate_low IS 'Low total of the estimate the customer approved';
COMMENT ON COLUMN repairsys.ticket.approved_estimate_high IS 'High total of the estimate the customer approved';
COMMENT ON COLUMN repairsys.ticket.sla_respond_within IS 'Response target taken from sla_policy when the ticket was opened (NULL: no policy)';
COMMENT ON COLUMN repairsys.ticket.sla_resolve_within IS 'Resolution target taken from sla_policy when the ticket was opened (NULL: no policy)';
COMMENT ON COLUMN repairsys.ticket.sla_time_zone IS 'Time zone of the SLA calendar: the target''s own zone, else the service center''s time_zone';
COMMENT ON COLUMN repairsys.ticket.sla_paused IS 'Business time spent in states that pause the SLA (every hold so far); resolve_by has moved by this much';
COMMENT ON COLUMN repairsys.ticket.changed_by IS 'Role that made the last change (set by trigger; the history''s actor)';
COMMENT ON COLUMN repairsys.ticket.status_role IS 'Role of the current state (set by trigger): what rules and reports read, so that state codes are free';
COMMENT ON COLUMN repairsys.ticket.arrived_at IS 'When the technician arrived on site (上门; set by repairsys.check_in(), now, once)';
COMMENT ON COLUMN repairsys.ticket.estimate_approved_by IS 'Role that recorded the approval of the estimate (set by repairsys with estimate_approved_at)';
COMMENT ON COLUMN repairsys.ticket.fault_code IS 'Fault the technician found (fault_code catalog); a ticket resolved with one is learned by suggest_diagnosis()';
CREATE INDEX ticket_customer_idx ON repairsys.ticket (customer_id, opened_at);
CREATE INDEX ticket_asset_idx ON repairsys.ticket (asset_id, opened_at) WHERE asset_id IS NOT NULL;
CREATE INDEX ticket_technician_idx ON repairsys.ticket (technician_id, status) WHERE technician_id IS NOT NULL;
CREATE INDEX ticket_status_idx ON repairsys.ticket (status, status_changed_at);
CREATE INDEX ticket_center_opened_idx ON repairsys.ticket (service_center_id, opened_at);
-- the open tickets of a center (sla_status, the dispatch board): read
-- without the center's history
CREATE INDEX ticket_open_center_idx ON repairsys.ticket (service_center_id) WHERE resolved_at IS NULL;
CREATE INDEX ticket_service_type_idx ON repairsys.ticket (service_type);

-- The history, the stock ledger and the event log (24_tables_events.sql)
-- are range-partitioned by month of "at" (docs/scaling.md): the identity
-- lives on the parent (one sequence, so ids increase across months and never
-- collide), triggers and foreign keys are cloned to every partition, and
-- grants and policies are the parent's (90_security.sql; partitions have
-- row-level security on and no grants).  The install creates only the
-- DEFAULT partition, which catches a row of a month without a partition;
-- month partitions are made by repairsys.ensure_partitions()
-- (57_partitions.sql), which run_jobs() calls, and are not members of the
-- extension so that pg_dump dumps and restores them whole.
--
-- The primary key (id, at) and the indexes are each partition's own, made by
-- repairsys.partition_setup() (57_partitions.sql), not partitioned indexes
-- of the parent: a restore's CREATE EXTENSION makes the parent, and the
-- dump's ATTACH PARTITION of a month would then clone a partitioned index
-- into the month before the dump's own CREATE INDEX of it, which fails
-- ("multiple primary keys", "relation already exists").  Since every key
-- holds the partition key "at", a key of each partition is a key of the
-- table.  Per partition:
--   ticket_event    PRIMARY KEY (id, at); (ticket_id, id); (at)
CREATE TABLE repairsys.ticket_event (
	id          bigint GENERATED ALWAYS AS IDENTITY,
	ticket_id   bigint NOT NULL REFERENCES repairsys.ticket,
	from_status text,
	to_status   text NOT NULL,
	at          timestamptz NOT NULL DEFAULT now(),
	actor       name NOT NULL DEFAULT current_user,
	note        text,
	technician_id bigint
) PARTITION BY RANGE (at);
CREATE TABLE repairsys.ticket_event_default PARTITION OF repairsys.ticket_event DEFAULT;
COMMENT ON TABLE repairsys.ticket_event IS 'Append-only history of every status change of every ticket (partitioned by month of at)';
COMMENT ON TABLE repairsys.ticket_event_default IS 'Default partition of repairsys.ticket_event: rows of a month that has no partition yet (ensure_partitions() moves them into it)';
COMMENT ON COLUMN repairsys.ticket_event.id IS 'Event id (increases with time)';
COMMENT ON COLUMN repairsys.ticket_event.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_event.from_status IS 'State left (NULL when the ticket was opened)';
COMMENT ON COLUMN repairsys.ticket_event.to_status IS 'State entered';
COMMENT ON COLUMN repairsys.ticket_event.at IS 'When the change happened (transaction time)';
COMMENT ON COLUMN repairsys.ticket_event.actor IS 'Database role that made the change (current_user)';
COMMENT ON COLUMN repairsys.ticket_event.note IS 'Note given with the change (setting repairsys.note), if any';
COMMENT ON COLUMN repairsys.ticket_event.technician_id IS 'Technician of the ticket after the change';

------------------------------------------------------------------------------
-- Spare parts
------------------------------------------------------------------------------
CREATE TABLE repairsys.part (
	sku            text PRIMARY KEY CHECK (sku <> ''),
	name           text NOT NULL CHECK (name <> ''),
	unit_cost      numeric(14,2) NOT NULL DEFAULT 0 CHECK (unit_cost >= 0),
	unit_price     numeric(14,2) NOT NULL DEFAULT 0 CHECK (unit_price >= 0),
	lead_time_days integer NOT NULL DEFAULT 7 CHECK (lead_time_days >= 0),
	min_stock      integer NOT NULL DEFAULT 0 CHECK (min_stock >= 0),
	service_level  numeric(5,4) NOT NULL DEFAULT 0.95 CHECK (service_level > 0 AND service_level < 1),
	serialized     boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE repairsys.part IS 'Spare parts catalog';
COMMENT ON COLUMN repairsys.part.sku IS 'Stock keeping unit code';
COMMENT ON COLUMN repairsys.part.name IS 'Part name';
COMMENT ON COLUMN repairsys.part.unit_cost IS 'Standard purchase cost of one unit';
COMMENT ON COLUMN repairsys.part.unit_price IS 'List price of one unit to customers';
COMMENT ON COLUMN repairsys.part.lead_time_days IS 'Days from order to receipt';
COMMENT ON COLUMN repairsys.part.min_stock IS 'Minimum stock per center; below it the part is flagged';
COMMENT ON COLUMN repairsys.part.service_level IS 'Target probability of not running out during the lead time (safety stock)';
COMMENT ON COLUMN repairsys.part.serialized IS 'True when each unit carries a serial number (part_unit)';

CREATE TABLE repairsys.stock (
	sku               text NOT NULL REFERENCES repairsys.part ON UPDATE CASCADE,
	service_center_id bigint NOT NULL REFERENCES repairsys.service_center,
	on_hand           integer NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
	reserved          integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
	PRIMARY KEY (sku, service_center_id),
	CHECK (reserved <= on_hand)
);
COMMENT ON TABLE repairsys.stock IS 'Stock per part and center, kept by trigger from the ledger and reservations';
COMMENT ON COLUMN repairsys.stock.sku IS 'Part';
COMMENT ON COLUMN repairsys.stock.service_center_id IS 'Center holding the stock';
COMMENT ON COLUMN repairsys.stock.on_hand IS 'Units physically in stock (sum of the ledger)';
COMMENT ON COLUMN repairsys.stock.reserved IS 'Units reserved for tickets and not yet issued';
CREATE INDEX stock_center_idx ON repairsys.stock (service_center_id);

CREATE TABLE repairsys.stock_movement (
	id                bigint GENERATED ALWAYS AS IDENTITY,
	sku               text NOT NULL REFERENCES repairsys.part ON UPDATE CASCADE,
	service_center_id bigint NOT NULL REFERENCES repairsys.service_center,
	kind              text NOT NULL CHECK (kind IN ('receipt', 'issue', 'return', 'transfer_out', 'transfer_in', 'adjust')),
	qty               integer NOT NULL CHECK (qty <> 0),
	ticket_id         bigint REFERENCES repairsys.ticket,
	unit_cost         numeric(14,2) CHECK (unit_cost >= 0),
	at                timestamptz NOT NULL DEFAULT now(),
	actor             name NOT NULL DEFAULT current_user,
	note              text,
	seq               bigint NOT NULL,
	CHECK (CASE kind WHEN 'receipt' THEN qty > 0 WHEN 'return' THEN qty > 0 WHEN 'transfer_in' THEN qty > 0
	                 WHEN 'issue' THEN qty < 0 WHEN 'transfer_out' THEN qty < 0 ELSE true END)
) PARTITION BY RANGE (at);
CREATE TABLE repairsys.stock_movement_default PARTITION OF repairsys.stock_movement DEFAULT;
COMMENT ON TABLE repairsys.stock_movement IS 'Append-only stock ledger: every receipt, issue, return, transfer and adjustment (partitioned by month of at)';
COMMENT ON TABLE repairsys.stock_movement_default IS 'Default partition of repairsys.stock_movement: rows of a month that has no partition yet (ensure_partitions() moves them into it)';
COMMENT ON COLUMN repairsys.stock_movement.id IS 'Movement id';
COMMENT ON COLUMN repairsys.stock_movement.sku IS 'Part';
COMMENT ON COLUMN repairsys.stock_movement.service_center_id IS 'Center whose stock moves';
COMMENT ON COLUMN repairsys.stock_movement.kind IS 'receipt, issue, return, transfer_out, transfer_in or adjust';
COMMENT ON COLUMN repairsys.stock_movement.qty IS 'Signed quantity: positive into stock, negative out of it';
COMMENT ON COLUMN repairsys.stock_movement.ticket_id IS 'Ticket the parts were issued to or returned from';
COMMENT ON COLUMN repairsys.stock_movement.unit_cost IS 'Cost of one unit in this movement';
COMMENT ON COLUMN repairsys.stock_movement.at IS 'When the movement happened';
COMMENT ON COLUMN repairsys.stock_movement.actor IS 'Database role that recorded it';
COMMENT ON COLUMN repairsys.stock_movement.note IS 'Free text';
COMMENT ON COLUMN repairsys.stock_movement.seq IS 'Order in which the movements of one stock row were checked: taken under that row''s lock (set by trigger; renumbered, in the same order, on restore)';
CREATE SEQUENCE repairsys.stock_movement_seq OWNED BY repairsys.stock_movement.seq;
COMMENT ON SEQUENCE repairsys.stock_movement_seq IS 'Numbers stock movements in the order their stock checks ran (stock_movement.seq)';
-- Indexes: each partition's own (see ticket_event above): PRIMARY KEY (id, at);
-- UNIQUE (seq, at) (seq comes from one sequence, unique on its own);
-- (sku, service_center_id, at); (ticket_id) WHERE ticket_id IS NOT NULL; (at)

CREATE TABLE repairsys.part_unit (
	serial            text NOT NULL,
	sku               text NOT NULL REFERENCES repairsys.part ON UPDATE CASCADE,
	service_center_id bigint REFERENCES repairsys.service_center,
	state             text NOT NULL DEFAULT 'in_stock' CHECK (state IN ('in_stock', 'reserved', 'installed', 'returned', 'scrapped')),
	ticket_id         bigint REFERENCES repairsys.ticket,
	asset_id          bigint REFERENCES repairsys.asset,
	received_at       timestamptz NOT NULL DEFAULT now(),
	installed_at      timestamptz,
	PRIMARY KEY (sku, serial),
	CHECK (state <> 'installed' OR (ticket_id IS NOT NULL))
);
COMMENT ON TABLE repairsys.part_unit IS 'Serialized part units for traceability: where each is, and which ticket and asset it went into';
COMMENT ON COLUMN repairsys.part_unit.serial IS 'Serial number of the unit (unique per part)';
COMMENT ON COLUMN repairsys.part_unit.sku IS 'Part';
COMMENT ON COLUMN repairsys.part_unit.service_center_id IS 'Center holding the unit (NULL once installed)';
COMMENT ON COLUMN repairsys.part_unit.state IS 'in_stock, reserved, installed, returned or scrapped';
COMMENT ON COLUMN repairsys.part_unit.ticket_id IS 'Ticket the unit is reserved for or was installed on';
COMMENT ON COLUMN repairsys.part_unit.asset_id IS 'Asset the unit was installed in';
COMMENT ON COLUMN repairsys.part_unit.received_at IS 'When the unit was received';
COMMENT ON COLUMN repairsys.part_unit.installed_at IS 'When the unit was installed';
CREATE INDEX part_unit_ticket_idx ON repairsys.part_unit (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX part_unit_asset_idx ON repairsys.part_unit (asset_id) WHERE asset_id IS NOT NULL;

CREATE TABLE repairsys.ticket_part (
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id         bigint NOT NULL REFERENCES repairsys.ticket ON DELETE CASCADE,
	sku               text NOT NULL REFERENCES repairsys.part ON UPDATE CASCADE,
	service_center_id bigint NOT NULL REFERENCES repairsys.service_center,
	qty               integer NOT NULL CHECK (qty > 0),
	state             text NOT NULL DEFAULT 'reserved' CHECK (state IN ('reserved', 'used', 'released')),
	unit_price        numeric(14,2) NOT NULL CHECK (unit_price >= 0),
	unit_cost         numeric(14,2) CHECK (unit_cost >= 0),
	covered           boolean NOT NULL DEFAULT false,
	reserved_at       timestamptz NOT NULL DEFAULT now(),
	used_at           timestamptz
);
COMMENT ON TABLE repairsys.ticket_part IS 'Parts reserved for or used on a ticket, with the price snapshot and warranty coverage';
COMMENT ON COLUMN repairsys.ticket_part.id IS 'Line id';
COMMENT ON COLUMN repairsys.ticket_part.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_part.sku IS 'Part';
COMMENT ON COLUMN repairsys.ticket_part.service_center_id IS 'Center whose stock is reserved or issued';
COMMENT ON COLUMN repairsys.ticket_part.qty IS 'Units';
COMMENT ON COLUMN repairsys.ticket_part.state IS 'reserved, used or released';
COMMENT ON COLUMN repairsys.ticket_part.unit_price IS 'Unit price to the customer when reserved (snapshot)';
COMMENT ON COLUMN repairsys.ticket_part.unit_cost IS 'Unit cost to the company when issued';
COMMENT ON COLUMN repairsys.ticket_part.covered IS 'True when warranty covers the part (billed at zero, shown as a coverage line)';
COMMENT ON COLUMN repairsys.ticket_part.reserved_at IS 'When the part was reserved';
COMMENT ON COLUMN repairsys.ticket_part.used_at IS 'When the part was issued to the ticket';
CREATE INDEX ticket_part_ticket_idx ON repairsys.ticket_part (ticket_id);
CREATE INDEX ticket_part_sku_center_idx ON repairsys.ticket_part (sku, service_center_id) WHERE state = 'reserved';

------------------------------------------------------------------------------
-- Billing
------------------------------------------------------------------------------
CREATE TABLE repairsys.invoice (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	invoice_no text NOT NULL UNIQUE,
	ticket_id  bigint NOT NULL UNIQUE REFERENCES repairsys.ticket,
	service_center_id bigint REFERENCES repairsys.service_center,
	total      numeric(14,2) NOT NULL CHECK (total >= 0),
	currency   text NOT NULL DEFAULT 'CNY',
	issued_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.invoice IS 'Issued bills: frozen, never changed after issue';
COMMENT ON COLUMN repairsys.invoice.id IS 'Invoice id';
COMMENT ON COLUMN repairsys.invoice.invoice_no IS 'Invoice number shown to the customer';
COMMENT ON COLUMN repairsys.invoice.ticket_id IS 'Ticket billed (one invoice per ticket)';
COMMENT ON COLUMN repairsys.invoice.service_center_id IS 'Service center of the ticket (set from the ticket when not given; the distribution key of invoice lines, payments and installments)';
CREATE INDEX invoice_center_issued_idx ON repairsys.invoice (service_center_id, issued_at);
COMMENT ON COLUMN repairsys.invoice.total IS 'Total including tax';
COMMENT ON COLUMN repairsys.invoice.currency IS 'ISO 4217 currency code';
COMMENT ON COLUMN repairsys.invoice.issued_at IS 'When the invoice was issued';

CREATE TABLE repairsys.invoice_line (
	invoice_id  bigint NOT NULL REFERENCES repairsys.invoice,
	line_no     integer NOT NULL CHECK (line_no > 0),
	kind        text NOT NULL,
	description text NOT NULL,
	quantity    numeric(14,3),
	unit        text,
	unit_price  numeric(14,4),
	amount      numeric(14,2) NOT NULL,
	tax_rate    numeric(6,4) NOT NULL DEFAULT 0 CHECK (tax_rate >= 0),
	tax_amount  numeric(14,2) NOT NULL DEFAULT 0,
	PRIMARY KEY (invoice_id, line_no)
);
COMMENT ON TABLE repairsys.invoice_line IS 'Lines of issued invoices: frozen, never changed after issue';
-- (an invoice has a handful of lines, about five in the demo: said to the
-- planner, whose estimate from ANALYZE's sample falls as the table grows, to
-- 110 lines an invoice at 47,000,000 lines, and made the audit's plan look
-- costly enough to be inlined and optimized by JIT, 1.8 s instead of 0.2 s,
-- docs/performance.md "At 10,000,000 tickets again")
ALTER TABLE repairsys.invoice_line ALTER COLUMN invoice_id SET (n_distinct = -0.2);
COMMENT ON COLUMN repairsys.invoice_line.invoice_id IS 'Invoice';
COMMENT ON COLUMN repairsys.invoice_line.line_no IS 'Line number, from 1';
COMMENT ON COLUMN repairsys.invoice_line.kind IS 'Line kind, as in bill_detail';
COMMENT ON COLUMN repairsys.invoice_line.description IS 'What the line charges for, in words';
COMMENT ON COLUMN repairsys.invoice_line.quantity IS 'Quantity charged';
COMMENT ON COLUMN repairsys.invoice_line.unit IS 'Unit of the quantity (min, km, pcs, ...)';
COMMENT ON COLUMN repairsys.invoice_line.unit_price IS 'Price per unit';
COMMENT ON COLUMN repairsys.invoice_line.amount IS 'Amount before tax (negative for coverage and discounts)';
COMMENT ON COLUMN repairsys.invoice_line.tax_rate IS 'Tax rate as a fraction (0.13 = 13%)';
COMMENT ON COLUMN repairsys.invoice_line.tax_amount IS 'Tax on this line';

CREATE TABLE repairsys.payment (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	invoice_id      bigint NOT NULL REFERENCES repairsys.invoice,
	method          text NOT NULL CHECK (method IN ('wechat', 'alipay', 'card', 'bank_transfer', 'cash')),
	amount          numeric(14,2) NOT NULL CHECK (amount > 0),
	paid_at         timestamptz NOT NULL DEFAULT now(),
	idempotency_key text NOT NULL,
	-- (per invoice, not global: whether a key is taken tells nothing about
	-- other customers' payments)
	UNIQUE (invoice_id, idempotency_key)
);
COMMENT ON TABLE repairsys.payment IS 'Payments against invoices (append-only)';
COMMENT ON COLUMN repairsys.payment.id IS 'Payment id';
COMMENT ON COLUMN repairsys.payment.invoice_id IS 'Invoice paid';
COMMENT ON COLUMN repairsys.payment.method IS 'wechat, alipay, card, bank_transfer or cash';
COMMENT ON COLUMN repairsys.payment.amount IS 'Amount paid';
COMMENT ON COLUMN repairsys.payment.paid_at IS 'When it was paid';
COMMENT ON COLUMN repairsys.payment.idempotency_key IS 'Key given by the caller, unique per invoice; a retry with the same key records nothing new';

CREATE TABLE repairsys.installment (
	invoice_id bigint NOT NULL REFERENCES repairsys.invoice,
	seq        integer NOT NULL CHECK (seq > 0),
	due_on     date NOT NULL,
	amount     numeric(14,2) NOT NULL CHECK (amount > 0),
	PRIMARY KEY (invoice_id, seq)
);
COMMENT ON TABLE repairsys.installment IS 'Schedule of a payment plan for an invoice';
COMMENT ON COLUMN repairsys.installment.invoice_id IS 'Invoice';
COMMENT ON COLUMN repairsys.installment.seq IS 'Installment number, from 1';
COMMENT ON COLUMN repairsys.installment.due_on IS 'Due date';
COMMENT ON COLUMN repairsys.installment.amount IS 'Amount due';

------------------------------------------------------------------------------
-- Feedback and assignment policy
------------------------------------------------------------------------------
CREATE TABLE repairsys.feedback (
	ticket_id bigint PRIMARY KEY REFERENCES repairsys.ticket ON DELETE CASCADE,
	rating    integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
	comment   text,
	complaint boolean NOT NULL DEFAULT false,
	at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.feedback IS 'Customer feedback, one per resolved ticket';
COMMENT ON COLUMN repairsys.feedback.ticket_id IS 'Ticket rated';
COMMENT ON COLUMN repairsys.feedback.rating IS 'Rating 1 (bad) to 5 (excellent)';
COMMENT ON COLUMN repairsys.feedback.comment IS 'Free text';
COMMENT ON COLUMN repairsys.feedback.complaint IS 'True when the customer filed a complaint';
COMMENT ON COLUMN repairsys.feedback.at IS 'When the feedback was given';

CREATE TABLE repairsys.assign_policy (
	name                text PRIMARY KEY,
	require_skill       boolean NOT NULL DEFAULT true,
	respect_capacity    boolean NOT NULL DEFAULT true,
	only_active         boolean NOT NULL DEFAULT true,
	same_center         boolean NOT NULL DEFAULT false,
	max_distance_km     double precision CHECK (max_distance_km > 0),
	w_skill             double precision NOT NULL DEFAULT 0.25 CHECK (w_skill >= 0),
	w_distance          double precision NOT NULL DEFAULT 0.30 CHECK (w_distance >= 0),
	w_load              double precision NOT NULL DEFAULT 0.20 CHECK (w_load >= 0),
	w_rating            double precision NOT NULL DEFAULT 0.15 CHECK (w_rating >= 0),
	w_continuity        double precision NOT NULL DEFAULT 0.10 CHECK (w_continuity >= 0),
	distance_worst_km   double precision NOT NULL DEFAULT 50 CHECK (distance_worst_km > 0),
	auto_assign_on_open boolean NOT NULL DEFAULT false,
	dump                boolean NOT NULL DEFAULT true,
	CHECK (w_skill + w_distance + w_load + w_rating + w_continuity > 0)
);
COMMENT ON TABLE repairsys.assign_policy IS 'Hard rules and soft weights of automatic technician assignment';
COMMENT ON COLUMN repairsys.assign_policy.name IS 'Policy name (''default'' is seeded)';
COMMENT ON COLUMN repairsys.assign_policy.require_skill IS 'Hard rule: the technician has the service type''s required skill at its minimum level';
COMMENT ON COLUMN repairsys.assign_policy.respect_capacity IS 'Hard rule: the technician''s open tickets stay below capacity';
COMMENT ON COLUMN repairsys.assign_policy.only_active IS 'Hard rule: only active technicians';
COMMENT ON COLUMN repairsys.assign_policy.same_center IS 'Hard rule: the technician belongs to the ticket''s service center';
COMMENT ON COLUMN repairsys.assign_policy.max_distance_km IS 'Hard rule: great-circle distance from base to ticket at most this (NULL: no limit)';
COMMENT ON COLUMN repairsys.assign_policy.w_skill IS 'Weight of the skill-level grade';
COMMENT ON COLUMN repairsys.assign_policy.w_distance IS 'Weight of the distance grade';
COMMENT ON COLUMN repairsys.assign_policy.w_load IS 'Weight of the load grade';
COMMENT ON COLUMN repairsys.assign_policy.w_rating IS 'Weight of the customer-rating grade';
COMMENT ON COLUMN repairsys.assign_policy.w_continuity IS 'Weight of continuity (the technician served this customer or asset before)';
COMMENT ON COLUMN repairsys.assign_policy.distance_worst_km IS 'Distance at and beyond which the distance grade is 0';
COMMENT ON COLUMN repairsys.assign_policy.auto_assign_on_open IS 'Assign automatically when a ticket is opened';
COMMENT ON COLUMN repairsys.assign_policy.dump IS 'True for rows pg_dump must keep: user rows and seeded rows the user changed (kept by trigger)';

------------------------------------------------------------------------------
-- Discounts on a bill (docs/billing.md)
------------------------------------------------------------------------------
CREATE TABLE repairsys.ticket_discount (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id   bigint NOT NULL REFERENCES repairsys.ticket ON DELETE CASCADE,
	description text NOT NULL CHECK (description <> ''),
	amount      numeric(14,2) NOT NULL CHECK (amount > 0),
	created_at  timestamptz NOT NULL DEFAULT now(),
	created_by  name NOT NULL DEFAULT current_user,
	-- approval authority (29_tables_approval.sql, 44_approval.sql): no
	-- default, the trigger decides (the table owner's import keeps a status
	-- given)
	status       text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
	requested_by name NOT NULL DEFAULT current_user,
	approved_by  name,
	approved_at  timestamptz,
	bill_basis   numeric(14,2),
	CONSTRAINT ticket_discount_decision_check CHECK ((approved_by IS NULL) = (approved_at IS NULL)),
	CONSTRAINT ticket_discount_pending_check CHECK (status <> 'pending' OR approved_by IS NULL)
);
COMMENT ON TABLE repairsys.ticket_discount IS 'Discounts granted on a ticket''s bill (each a discount line, before tax); only approved ones are on the bill';
COMMENT ON COLUMN repairsys.ticket_discount.id IS 'Discount id';
COMMENT ON COLUMN repairsys.ticket_discount.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_discount.description IS 'Why the discount was granted, shown on the bill';
COMMENT ON COLUMN repairsys.ticket_discount.amount IS 'Amount taken off before tax';
COMMENT ON COLUMN repairsys.ticket_discount.created_at IS 'When it was granted';
COMMENT ON COLUMN repairsys.ticket_discount.created_by IS 'Role that granted it';
COMMENT ON COLUMN repairsys.ticket_discount.status IS 'pending (above the approval limit of who gave it: not on the bill), approved (on the bill) or rejected (never on the bill); set by repairsys';
COMMENT ON COLUMN repairsys.ticket_discount.requested_by IS 'Role that asked for it (set by repairsys)';
COMMENT ON COLUMN repairsys.ticket_discount.approved_by IS 'Role that approved or rejected it (the giver when within their limit; set by repairsys); NULL while pending';
COMMENT ON COLUMN repairsys.ticket_discount.approved_at IS 'When it was approved or rejected (set by repairsys); NULL while pending';
COMMENT ON COLUMN repairsys.ticket_discount.bill_basis IS 'The bill before discounts and tax that the last decision measured the percent limit against (set by repairsys)';
CREATE INDEX ticket_discount_ticket_idx ON repairsys.ticket_discount (ticket_id);
SELECT pg_catalog.pg_extension_config_dump('repairsys.ticket_discount', '');

------------------------------------------------------------------------------
-- Follow-up calls (回访, docs/reports.md)
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
-- the open calls of one center (follow_up_due of a center): read without the
-- other centers' open calls
CREATE INDEX follow_up_open_center_idx ON repairsys.follow_up (service_center_id, due_at) WHERE done_at IS NULL;
SELECT pg_catalog.pg_extension_config_dump('repairsys.follow_up', '');

------------------------------------------------------------------------------
-- Technician load, kept by trigger (docs/assignment.md)
------------------------------------------------------------------------------
-- An open ticket is one not closed (closed_at IS NULL): the life cycle sets
-- closed_at exactly when a ticket enters a terminal status and clears it
-- when one leaves it, so this is the non-terminal count open_ticket_count()
-- makes, and the triggers fire only when a ticket is assigned, reassigned,
-- finished or reopened from a finished state, never on the status changes in
-- between.  The rating follows the ticket's technician, as the mean always
-- did.
CREATE TABLE repairsys.technician_load (
	technician_id bigint PRIMARY KEY REFERENCES repairsys.technician ON DELETE CASCADE,
	open_tickets  integer NOT NULL DEFAULT 0,
	rating_count  integer NOT NULL DEFAULT 0,
	rating_sum    bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE repairsys.technician_load IS 'Open tickets and feedback ratings of each technician, kept by trigger (derived data: not dumped, rebuilt on restore, recounted by check_invariants)';
COMMENT ON COLUMN repairsys.technician_load.technician_id IS 'Technician';
COMMENT ON COLUMN repairsys.technician_load.open_tickets IS 'Tickets assigned to him and not closed (closed_at IS NULL)';
COMMENT ON COLUMN repairsys.technician_load.rating_count IS 'Feedback rows of the tickets assigned to him';
COMMENT ON COLUMN repairsys.technician_load.rating_sum IS 'Sum of their ratings (mean = rating_sum / rating_count)';
