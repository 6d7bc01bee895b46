-- repairsys install script, assembled by make from the pieces in src/sql/.
\echo Use "CREATE EXTENSION repairsys" to load this file. \quit

-- The schema is created here rather than through the control file's "schema"
-- setting: then it is a member of the extension (DROP EXTENSION removes it) and
-- a schema of that name planted beforehand makes CREATE EXTENSION fail instead
-- of being adopted with its owner's objects in it.
CREATE SCHEMA repairsys;
COMMENT ON SCHEMA repairsys IS 'repairsys: after-sales repair service domain logic (tickets, pricing, SLA, assignment, spare parts, billing, reports)';
-- The fee_tier type: tiered price schedules (src/fee_tier.c, docs/fee_tier.md).

CREATE TYPE repairsys.fee_tier;

CREATE FUNCTION repairsys.fee_tier_in(cstring) RETURNS repairsys.fee_tier
	AS 'MODULE_PATHNAME', 'fee_tier_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.fee_tier_out(repairsys.fee_tier) RETURNS cstring
	AS 'MODULE_PATHNAME', 'fee_tier_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.fee_tier_recv(internal) RETURNS repairsys.fee_tier
	AS 'MODULE_PATHNAME', 'fee_tier_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.fee_tier_send(repairsys.fee_tier) RETURNS bytea
	AS 'MODULE_PATHNAME', 'fee_tier_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE repairsys.fee_tier (
	INPUT = repairsys.fee_tier_in,
	OUTPUT = repairsys.fee_tier_out,
	RECEIVE = repairsys.fee_tier_recv,
	SEND = repairsys.fee_tier_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = main
);
COMMENT ON TYPE repairsys.fee_tier IS 'Tiered price schedule: [base=AMOUNT,] FROM-TO:RATE, ..., FROM+:RATE [, min=AMOUNT] [, max=AMOUNT] [, volume]';
COMMENT ON FUNCTION repairsys.fee_tier_in(cstring) IS 'Input function of fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_out(repairsys.fee_tier) IS 'Output function of fee_tier (canonical text)';
COMMENT ON FUNCTION repairsys.fee_tier_recv(internal) IS 'Binary receive function of fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_send(repairsys.fee_tier) IS 'Binary send function of fee_tier';

CREATE FUNCTION repairsys.fee_tier_cmp(repairsys.fee_tier, repairsys.fee_tier) RETURNS integer
	AS 'MODULE_PATHNAME', 'fee_tier_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.fee_tier_eq(repairsys.fee_tier, repairsys.fee_tier) RETURNS boolean
	AS 'MODULE_PATHNAME', 'fee_tier_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.fee_tier_ne(repairsys.fee_tier, repairsys.fee_tier) RETURNS boolean
	AS 'MODULE_PATHNAME', 'fee_tier_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.fee_tier_lt(repairsys.fee_tier, repairsys.fee_tier) RETURNS boolean
	AS 'MODULE_PATHNAME', 'fee_tier_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.fee_tier_le(repairsys.fee_tier, repairsys.fee_tier) RETURNS boolean
	AS 'MODULE_PATHNAME', 'fee_tier_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.fee_tier_gt(repairsys.fee_tier, repairsys.fee_tier) RETURNS boolean
	AS 'MODULE_PATHNAME', 'fee_tier_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.fee_tier_ge(repairsys.fee_tier, repairsys.fee_tier) RETURNS boolean
	AS 'MODULE_PATHNAME', 'fee_tier_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.fee_tier_hash(repairsys.fee_tier) RETURNS integer
	AS 'MODULE_PATHNAME', 'fee_tier_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.fee_tier_cmp(repairsys.fee_tier, repairsys.fee_tier) IS 'Total order of fee_tier values (btree support)';
COMMENT ON FUNCTION repairsys.fee_tier_eq(repairsys.fee_tier, repairsys.fee_tier) IS 'Implementation of = for fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_ne(repairsys.fee_tier, repairsys.fee_tier) IS 'Implementation of <> for fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_lt(repairsys.fee_tier, repairsys.fee_tier) IS 'Implementation of < for fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_le(repairsys.fee_tier, repairsys.fee_tier) IS 'Implementation of <= for fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_gt(repairsys.fee_tier, repairsys.fee_tier) IS 'Implementation of > for fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_ge(repairsys.fee_tier, repairsys.fee_tier) IS 'Implementation of >= for fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_hash(repairsys.fee_tier) IS 'Hash of a fee_tier (hash index and hash join support)';

CREATE OPERATOR repairsys.= (
	LEFTARG = repairsys.fee_tier, RIGHTARG = repairsys.fee_tier, PROCEDURE = repairsys.fee_tier_eq,
	COMMUTATOR = OPERATOR(repairsys.=), NEGATOR = OPERATOR(repairsys.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR repairsys.<> (
	LEFTARG = repairsys.fee_tier, RIGHTARG = repairsys.fee_tier, PROCEDURE = repairsys.fee_tier_ne,
	COMMUTATOR = OPERATOR(repairsys.<>), NEGATOR = OPERATOR(repairsys.=),
	RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR repairsys.< (
	LEFTARG = repairsys.fee_tier, RIGHTARG = repairsys.fee_tier, PROCEDURE = repairsys.fee_tier_lt,
	COMMUTATOR = OPERATOR(repairsys.>), NEGATOR = OPERATOR(repairsys.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR repairsys.<= (
	LEFTARG = repairsys.fee_tier, RIGHTARG = repairsys.fee_tier, PROCEDURE = repairsys.fee_tier_le,
	COMMUTATOR = OPERATOR(repairsys.>=), NEGATOR = OPERATOR(repairsys.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR repairsys.> (
	LEFTARG = repairsys.fee_tier, RIGHTARG = repairsys.fee_tier, PROCEDURE = repairsys.fee_tier_gt,
	COMMUTATOR = OPERATOR(repairsys.<), NEGATOR = OPERATOR(repairsys.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR repairsys.>= (
	LEFTARG = repairsys.fee_tier, RIGHTARG = repairsys.fee_tier, PROCEDURE = repairsys.fee_tier_ge,
	COMMUTATOR = OPERATOR(repairsys.<=), NEGATOR = OPERATOR(repairsys.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel);
COMMENT ON OPERATOR repairsys.= (repairsys.fee_tier, repairsys.fee_tier) IS 'Equal fee_tier schedules';
COMMENT ON OPERATOR repairsys.<> (repairsys.fee_tier, repairsys.fee_tier) IS 'Different fee_tier schedules';
COMMENT ON OPERATOR repairsys.< (repairsys.fee_tier, repairsys.fee_tier) IS 'Less than (an arbitrary but total order)';
COMMENT ON OPERATOR repairsys.<= (repairsys.fee_tier, repairsys.fee_tier) IS 'Less than or equal (an arbitrary but total order)';
COMMENT ON OPERATOR repairsys.> (repairsys.fee_tier, repairsys.fee_tier) IS 'Greater than (an arbitrary but total order)';
COMMENT ON OPERATOR repairsys.>= (repairsys.fee_tier, repairsys.fee_tier) IS 'Greater than or equal (an arbitrary but total order)';

CREATE OPERATOR CLASS repairsys.fee_tier_ops DEFAULT FOR TYPE repairsys.fee_tier USING btree AS
	OPERATOR 1 repairsys.<,
	OPERATOR 2 repairsys.<=,
	OPERATOR 3 repairsys.=,
	OPERATOR 4 repairsys.>=,
	OPERATOR 5 repairsys.>,
	FUNCTION 1 repairsys.fee_tier_cmp(repairsys.fee_tier, repairsys.fee_tier);
CREATE OPERATOR CLASS repairsys.fee_tier_hash_ops DEFAULT FOR TYPE repairsys.fee_tier USING hash AS
	OPERATOR 1 repairsys.=,
	FUNCTION 1 repairsys.fee_tier_hash(repairsys.fee_tier);

CREATE FUNCTION repairsys.charge(fee repairsys.fee_tier, quantity numeric) RETURNS numeric
	AS 'MODULE_PATHNAME', 'fee_tier_charge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.charge(repairsys.fee_tier, numeric) IS 'Price of a quantity under a fee_tier schedule (exact; quantity rounded half away from zero to 3 decimals, each slice to cents)';

CREATE FUNCTION repairsys.charge_lines(fee repairsys.fee_tier, quantity numeric,
	OUT line_no integer, OUT kind text, OUT qty_from numeric, OUT qty_to numeric,
	OUT quantity numeric, OUT rate numeric, OUT amount numeric)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'fee_tier_charge_lines' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION repairsys.charge_lines(repairsys.fee_tier, numeric) IS 'Bill lines of a charge (base, one per tier slice, minimum or maximum adjustment); the amounts sum exactly to charge()';
------------------------------------------------------------------------------
-- sla_interval: SLA targets on the wall clock or in business hours (src/sla_interval.c)
------------------------------------------------------------------------------
CREATE TYPE repairsys.sla_interval;

CREATE FUNCTION repairsys.sla_interval_in(cstring) RETURNS repairsys.sla_interval
	AS 'MODULE_PATHNAME', 'sla_interval_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.sla_interval_out(repairsys.sla_interval) RETURNS cstring
	AS 'MODULE_PATHNAME', 'sla_interval_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.sla_interval_recv(internal) RETURNS repairsys.sla_interval
	AS 'MODULE_PATHNAME', 'sla_interval_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.sla_interval_send(repairsys.sla_interval) RETURNS bytea
	AS 'MODULE_PATHNAME', 'sla_interval_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE repairsys.sla_interval (
	INPUT = repairsys.sla_interval_in,
	OUTPUT = repairsys.sla_interval_out,
	RECEIVE = repairsys.sla_interval_recv,
	SEND = repairsys.sla_interval_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = main
);
COMMENT ON TYPE repairsys.sla_interval IS 'SLA target: a duration on the wall clock (4h, 1h30min, 2d) or in business hours of a weekly calendar (8h in mon-fri 09:00-18:00 Asia/Shanghai)';
COMMENT ON FUNCTION repairsys.sla_interval_in(cstring) IS 'Text input of sla_interval (22P02 on bad text, 22023 on an unknown time zone)';
COMMENT ON FUNCTION repairsys.sla_interval_out(repairsys.sla_interval) IS 'Canonical text output of sla_interval';
COMMENT ON FUNCTION repairsys.sla_interval_recv(internal) IS 'Binary input of sla_interval (version byte; checked as strictly as the text input)';
COMMENT ON FUNCTION repairsys.sla_interval_send(repairsys.sla_interval) IS 'Binary output of sla_interval';

-- Comparison: by target duration, then by calendar text.
CREATE FUNCTION repairsys.sla_interval_cmp(repairsys.sla_interval, repairsys.sla_interval) RETURNS integer
	AS 'MODULE_PATHNAME', 'sla_interval_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.sla_interval_eq(repairsys.sla_interval, repairsys.sla_interval) RETURNS boolean
	AS 'MODULE_PATHNAME', 'sla_interval_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.sla_interval_ne(repairsys.sla_interval, repairsys.sla_interval) RETURNS boolean
	AS 'MODULE_PATHNAME', 'sla_interval_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.sla_interval_lt(repairsys.sla_interval, repairsys.sla_interval) RETURNS boolean
	AS 'MODULE_PATHNAME', 'sla_interval_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.sla_interval_le(repairsys.sla_interval, repairsys.sla_interval) RETURNS boolean
	AS 'MODULE_PATHNAME', 'sla_interval_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.sla_interval_gt(repairsys.sla_interval, repairsys.sla_interval) RETURNS boolean
	AS 'MODULE_PATHNAME', 'sla_interval_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.sla_interval_ge(repairsys.sla_interval, repairsys.sla_interval) RETURNS boolean
	AS 'MODULE_PATHNAME', 'sla_interval_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.sla_interval_hash(repairsys.sla_interval) RETURNS integer
	AS 'MODULE_PATHNAME', 'sla_interval_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION repairsys.sla_interval_hash_extended(repairsys.sla_interval, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'sla_interval_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_interval_cmp(repairsys.sla_interval, repairsys.sla_interval) IS 'btree support: -1, 0 or 1 (target duration, then calendar text)';
COMMENT ON FUNCTION repairsys.sla_interval_eq(repairsys.sla_interval, repairsys.sla_interval) IS 'Implementation of = for sla_interval';
COMMENT ON FUNCTION repairsys.sla_interval_ne(repairsys.sla_interval, repairsys.sla_interval) IS 'Implementation of <> for sla_interval';
COMMENT ON FUNCTION repairsys.sla_interval_lt(repairsys.sla_interval, repairsys.sla_interval) IS 'Implementation of < for sla_interval';
COMMENT ON FUNCTION repairsys.sla_interval_le(repairsys.sla_interval, repairsys.sla_interval) IS 'Implementation of <= for sla_interval';
COMMENT ON FUNCTION repairsys.sla_interval_gt(repairsys.sla_interval, repairsys.sla_interval) IS 'Implementation of > for sla_interval';
COMMENT ON FUNCTION repairsys.sla_interval_ge(repairsys.sla_interval, repairsys.sla_interval) IS 'Implementation of >= for sla_interval';
COMMENT ON FUNCTION repairsys.sla_interval_hash(repairsys.sla_interval) IS 'hash support for sla_interval';
COMMENT ON FUNCTION repairsys.sla_interval_hash_extended(repairsys.sla_interval, bigint) IS 'Seeded 64-bit hash support for sla_interval';

CREATE OPERATOR repairsys.= (
	LEFTARG = repairsys.sla_interval, RIGHTARG = repairsys.sla_interval,
	FUNCTION = repairsys.sla_interval_eq,
	COMMUTATOR = OPERATOR(repairsys.=), NEGATOR = OPERATOR(repairsys.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR repairsys.<> (
	LEFTARG = repairsys.sla_interval, RIGHTARG = repairsys.sla_interval,
	FUNCTION = repairsys.sla_interval_ne,
	COMMUTATOR = OPERATOR(repairsys.<>), NEGATOR = OPERATOR(repairsys.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR repairsys.< (
	LEFTARG = repairsys.sla_interval, RIGHTARG = repairsys.sla_interval,
	FUNCTION = repairsys.sla_interval_lt,
	COMMUTATOR = OPERATOR(repairsys.>), NEGATOR = OPERATOR(repairsys.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR repairsys.<= (
	LEFTARG = repairsys.sla_interval, RIGHTARG = repairsys.sla_interval,
	FUNCTION = repairsys.sla_interval_le,
	COMMUTATOR = OPERATOR(repairsys.>=), NEGATOR = OPERATOR(repairsys.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR repairsys.> (
	LEFTARG = repairsys.sla_interval, RIGHTARG = repairsys.sla_interval,
	FUNCTION = repairsys.sla_interval_gt,
	COMMUTATOR = OPERATOR(repairsys.<), NEGATOR = OPERATOR(repairsys.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR repairsys.>= (
	LEFTARG = repairsys.sla_interval, RIGHTARG = repairsys.sla_interval,
	FUNCTION = repairsys.sla_interval_ge,
	COMMUTATOR = OPERATOR(repairsys.<=), NEGATOR = OPERATOR(repairsys.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR repairsys.= (repairsys.sla_interval, repairsys.sla_interval) IS 'Same target and same calendar';
COMMENT ON OPERATOR repairsys.<> (repairsys.sla_interval, repairsys.sla_interval) IS 'Different target or calendar';
COMMENT ON OPERATOR repairsys.< (repairsys.sla_interval, repairsys.sla_interval) IS 'Shorter target (then calendar text)';
COMMENT ON OPERATOR repairsys.<= (repairsys.sla_interval, repairsys.sla_interval) IS 'Shorter or equal target (then calendar text)';
COMMENT ON OPERATOR repairsys.> (repairsys.sla_interval, repairsys.sla_interval) IS 'Longer target (then calendar text)';
COMMENT ON OPERATOR repairsys.>= (repairsys.sla_interval, repairsys.sla_interval) IS 'Longer or equal target (then calendar text)';

CREATE OPERATOR CLASS repairsys.sla_interval_ops
	DEFAULT FOR TYPE repairsys.sla_interval USING btree AS
		OPERATOR 1 repairsys.<,
		OPERATOR 2 repairsys.<=,
		OPERATOR 3 repairsys.=,
		OPERATOR 4 repairsys.>=,
		OPERATOR 5 repairsys.>,
		FUNCTION 1 repairsys.sla_interval_cmp(repairsys.sla_interval, repairsys.sla_interval);
CREATE OPERATOR CLASS repairsys.sla_interval_hash_ops
	DEFAULT FOR TYPE repairsys.sla_interval USING hash AS
		OPERATOR 1 repairsys.=,
		FUNCTION 1 repairsys.sla_interval_hash(repairsys.sla_interval),
		FUNCTION 2 repairsys.sla_interval_hash_extended(repairsys.sla_interval, bigint);

-- Deadlines and elapsed business time.  These depend on the session's
-- TimeZone whenever the value names no zone (and no default_zone is given),
-- so they are STABLE, not IMMUTABLE (like timestamptz + interval).
CREATE FUNCTION repairsys.sla_add(timestamptz, repairsys.sla_interval) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'sla_interval_add' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_add(timestamptz, repairsys.sla_interval) IS 'Deadline: the earliest instant at which the target has elapsed since the start (implements timestamptz + sla_interval)';
CREATE OPERATOR repairsys.+ (
	LEFTARG = timestamptz, RIGHTARG = repairsys.sla_interval,
	FUNCTION = repairsys.sla_add
);
COMMENT ON OPERATOR repairsys.+ (timestamptz, repairsys.sla_interval) IS 'Deadline of an SLA target counted from an instant';

CREATE FUNCTION repairsys.sla_deadline(sla repairsys.sla_interval, start timestamptz,
                                       closed date[] DEFAULT NULL, default_zone text DEFAULT NULL)
RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'sla_interval_deadline' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_deadline(repairsys.sla_interval, timestamptz, date[], text) IS 'Deadline of the target counted from start, with whole local dates closed (holidays; NULL: none); default_zone is the calendar''s zone when the value names none (NULL: the session TimeZone)';

CREATE FUNCTION repairsys.sla_advance(sla repairsys.sla_interval, start timestamptz, amount interval,
                                      closed date[] DEFAULT NULL, default_zone text DEFAULT NULL)
RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'sla_interval_advance' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_advance(repairsys.sla_interval, timestamptz, interval, date[], text) IS 'The earliest instant at which amount of the value''s clock (business hours of its calendar, or the wall clock) has elapsed since start; the target itself is ignored';

CREATE FUNCTION repairsys.sla_elapsed(sla repairsys.sla_interval, from_ts timestamptz, to_ts timestamptz,
                                      closed date[] DEFAULT NULL, default_zone text DEFAULT NULL)
RETURNS interval
	AS 'MODULE_PATHNAME', 'sla_interval_elapsed' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_elapsed(repairsys.sla_interval, timestamptz, timestamptz, date[], text) IS 'Business time of the value''s calendar between two instants (wall-clock values: to - from); negative when to_ts is before from_ts';

CREATE FUNCTION repairsys.sla_target(repairsys.sla_interval) RETURNS interval
	AS 'MODULE_PATHNAME', 'sla_interval_target' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_target(repairsys.sla_interval) IS 'The target duration as an interval of hours and minutes (1d = 24:00:00)';
CREATE FUNCTION repairsys.sla_calendar(repairsys.sla_interval) RETURNS text
	AS 'MODULE_PATHNAME', 'sla_interval_calendar' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_calendar(repairsys.sla_interval) IS 'The canonical calendar text (after "in"), NULL for a wall-clock target';
-- Data model: every table of DESIGN.md section 3.
--
-- Conventions: identifiers are bigint identity columns unless a natural code
-- fits; money is numeric(14,2); times are timestamptz; distances kilometres;
-- labor durations minutes numeric(10,2).  Columns that triggers maintain are
-- said to be so in their comments.

------------------------------------------------------------------------------
-- Settings (one row per tunable of the domain rules)
------------------------------------------------------------------------------
CREATE TABLE repairsys.setting (
	name        text PRIMARY KEY,
	value       text NOT NULL,
	description text NOT NULL DEFAULT '',
	dump        boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE repairsys.setting IS 'Tunables of the domain rules (reopen window, rework window, tax rates, ...); read with repairsys.setting_value()';
COMMENT ON COLUMN repairsys.setting.name IS 'Name of the setting';
COMMENT ON COLUMN repairsys.setting.value IS 'Value, as text in the input syntax of its type (interval, numeric, ...)';
COMMENT ON COLUMN repairsys.setting.description IS 'What the setting controls';
COMMENT ON COLUMN repairsys.setting.dump IS 'True for rows pg_dump must keep: user rows and seeded rows the user changed (kept by trigger)';

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
	created_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.customer IS 'Customer archive (客户档案)';
COMMENT ON COLUMN repairsys.customer.id IS 'Customer id';
COMMENT ON COLUMN repairsys.customer.name IS 'Customer name';
COMMENT ON COLUMN repairsys.customer.phone IS 'Phone number';
COMMENT ON COLUMN repairsys.customer.email IS 'E-mail address';
COMMENT ON COLUMN repairsys.customer.address IS 'Service address';
COMMENT ON COLUMN repairsys.customer.lat IS 'Latitude of the service address in degrees';
COMMENT ON COLUMN repairsys.customer.lon IS 'Longitude of the service address in degrees';
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
COMMENT ON COLUMN repairsys.service_type.labor_fee IS 'Labor price schedule per minute of work';
COMMENT ON COLUMN repairsys.service_type.travel_fee IS 'Travel price schedule per km (NULL: travel is free)';
COMMENT ON COLUMN repairsys.service_type.callout_fee IS 'Fixed call-out fee per visit';
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
	urgency       text PRIMARY KEY CHECK (urgency IN ('normal', 'urgent', 'emergency')),
	surcharge_pct numeric(6,2) NOT NULL CHECK (surcharge_pct >= 0),
	dump          boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE repairsys.urgency_rule IS 'Surcharge for each urgency';
COMMENT ON COLUMN repairsys.urgency_rule.urgency IS 'normal, urgent or emergency';
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
	name              text NOT NULL DEFAULT ''
);
COMMENT ON TABLE repairsys.holiday IS 'Closed dates of one service center, or of all centers';
COMMENT ON COLUMN repairsys.holiday.id IS 'Holiday id';
COMMENT ON COLUMN repairsys.holiday.service_center_id IS 'Center that is closed (NULL: all centers)';
COMMENT ON COLUMN repairsys.holiday.day IS 'Closed local date';
COMMENT ON COLUMN repairsys.holiday.name IS 'Name of the holiday';
CREATE UNIQUE INDEX holiday_center_day_key ON repairsys.holiday (coalesce(service_center_id, 0), day);

------------------------------------------------------------------------------
-- Workflow definition (data, so a company can add its own states)
------------------------------------------------------------------------------
CREATE TABLE repairsys.ticket_status (
	code        text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
	name        text NOT NULL,
	is_initial  boolean NOT NULL DEFAULT false,
	is_terminal boolean NOT NULL DEFAULT false,
	pauses_sla  boolean NOT NULL DEFAULT false,
	max_dwell   interval CHECK (max_dwell > interval '0'),
	sort_order  integer NOT NULL DEFAULT 100,
	dump        boolean NOT NULL DEFAULT true,
	CHECK (NOT (is_initial AND is_terminal))
);
CREATE UNIQUE INDEX ticket_status_one_initial ON repairsys.ticket_status (is_initial) WHERE is_initial;
COMMENT ON TABLE repairsys.ticket_status IS 'States of the ticket workflow (自定义工单流程: add rows for states of your own)';
COMMENT ON COLUMN repairsys.ticket_status.code IS 'State code';
COMMENT ON COLUMN repairsys.ticket_status.name IS 'Name shown to people';
COMMENT ON COLUMN repairsys.ticket_status.is_initial IS 'The state every ticket starts in (exactly one)';
COMMENT ON COLUMN repairsys.ticket_status.is_terminal IS 'No transition leaves it; the ticket is finished';
COMMENT ON COLUMN repairsys.ticket_status.pauses_sla IS 'Time spent in this state does not count against the resolution target';
COMMENT ON COLUMN repairsys.ticket_status.max_dwell IS 'A ticket in this state longer than this is flagged stuck (NULL: never)';
COMMENT ON COLUMN repairsys.ticket_status.sort_order IS 'Display order';
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
-- Tickets and their history
------------------------------------------------------------------------------
CREATE TABLE repairsys.ticket (
	id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer_id          bigint NOT NULL REFERENCES repairsys.customer,
	asset_id             bigint REFERENCES repairsys.asset,
	service_type         text NOT NULL REFERENCES repairsys.service_type ON UPDATE CASCADE,
	complexity           integer NOT NULL DEFAULT 1 CHECK (complexity BETWEEN 1 AND 5),
	urgency              text NOT NULL DEFAULT 'normal' CHECK (urgency IN ('normal', 'urgent', 'emergency')),
	channel              text NOT NULL DEFAULT 'web' CHECK (channel IN ('phone', 'web', 'app', 'mini_program', 'walk_in')),
	description          text,
	lat                  double precision CHECK (lat BETWEEN -90 AND 90),
	lon                  double precision CHECK (lon BETWEEN -180 AND 180),
	service_center_id    bigint REFERENCES repairsys.service_center,
	status               text NOT NULL DEFAULT 'new' REFERENCES repairsys.ticket_status ON UPDATE CASCADE,
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
COMMENT ON COLUMN repairsys.ticket.status IS 'Current workflow state (changes checked against ticket_transition)';
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
CREATE INDEX ticket_customer_idx ON repairsys.ticket (customer_id, opened_at);
CREATE INDEX ticket_asset_idx ON repairsys.ticket (asset_id, opened_at) WHERE asset_id IS NOT NULL;
CREATE INDEX ticket_technician_idx ON repairsys.ticket (technician_id, status) WHERE technician_id IS NOT NULL;
CREATE INDEX ticket_status_idx ON repairsys.ticket (status, status_changed_at);
CREATE INDEX ticket_center_opened_idx ON repairsys.ticket (service_center_id, opened_at);
CREATE INDEX ticket_service_type_idx ON repairsys.ticket (service_type);

CREATE TABLE repairsys.ticket_event (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id   bigint NOT NULL REFERENCES repairsys.ticket,
	from_status text,
	to_status   text NOT NULL,
	at          timestamptz NOT NULL DEFAULT now(),
	actor       name NOT NULL DEFAULT current_user,
	note        text,
	technician_id bigint
);
COMMENT ON TABLE repairsys.ticket_event IS 'Append-only history of every status change of every ticket';
COMMENT ON COLUMN repairsys.ticket_event.id IS 'Event id (increases with time)';
COMMENT ON COLUMN repairsys.ticket_event.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_event.from_status IS 'State left (NULL when the ticket was opened)';
COMMENT ON COLUMN repairsys.ticket_event.to_status IS 'State entered';
COMMENT ON COLUMN repairsys.ticket_event.at IS 'When the change happened (transaction time)';
COMMENT ON COLUMN repairsys.ticket_event.actor IS 'Database role that made the change (current_user)';
COMMENT ON COLUMN repairsys.ticket_event.note IS 'Note given with the change (setting repairsys.note), if any';
COMMENT ON COLUMN repairsys.ticket_event.technician_id IS 'Technician of the ticket after the change';
CREATE INDEX ticket_event_ticket_idx ON repairsys.ticket_event (ticket_id, id);
CREATE INDEX ticket_event_at_idx ON repairsys.ticket_event (at);

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
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
);
COMMENT ON TABLE repairsys.stock_movement IS 'Append-only stock ledger: every receipt, issue, return, transfer and adjustment';
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
CREATE UNIQUE INDEX stock_movement_seq_idx ON repairsys.stock_movement (seq);
CREATE INDEX stock_movement_sku_center_at_idx ON repairsys.stock_movement (sku, service_center_id, at);
CREATE INDEX stock_movement_ticket_idx ON repairsys.stock_movement (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX stock_movement_at_idx ON repairsys.stock_movement (at);

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
	idempotency_key text NOT NULL UNIQUE
);
COMMENT ON TABLE repairsys.payment IS 'Payments against invoices (append-only)';
COMMENT ON COLUMN repairsys.payment.id IS 'Payment id';
COMMENT ON COLUMN repairsys.payment.invoice_id IS 'Invoice paid';
COMMENT ON COLUMN repairsys.payment.method IS 'wechat, alipay, card, bank_transfer or cash';
COMMENT ON COLUMN repairsys.payment.amount IS 'Amount paid';
COMMENT ON COLUMN repairsys.payment.paid_at IS 'When it was paid';
COMMENT ON COLUMN repairsys.payment.idempotency_key IS 'Key given by the caller; a retry with the same key records nothing new';
CREATE INDEX payment_invoice_idx ON repairsys.payment (invoice_id);

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
-- Billing columns and tables (feature: billing, see 40_billing.sql and
-- docs/billing.md).  Ticket columns are added here, before any SQL function
-- whose BEGIN ATOMIC body depends on the ticket row type.
------------------------------------------------------------------------------
-- The price inputs in force when the customer approved the estimate: the
-- bill is computed from them, so later price-list changes never change it.
ALTER TABLE repairsys.ticket
	ADD COLUMN price_labor_fee repairsys.fee_tier,
	ADD COLUMN price_travel_fee repairsys.fee_tier,
	ADD COLUMN price_callout_fee numeric(14,2),
	ADD COLUMN price_complexity_factor numeric(6,3),
	ADD COLUMN price_surcharge_pct numeric(6,2),
	ADD COLUMN price_tax_rate_labor numeric(6,4),
	ADD COLUMN price_tax_rate_parts numeric(6,4),
	ADD COLUMN price_rework_window text,
	ADD COLUMN approved_estimate_low numeric(14,2),
	ADD COLUMN approved_estimate_high numeric(14,2);
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

CREATE TABLE repairsys.ticket_discount (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id   bigint NOT NULL REFERENCES repairsys.ticket ON DELETE CASCADE,
	description text NOT NULL CHECK (description <> ''),
	amount      numeric(14,2) NOT NULL CHECK (amount > 0),
	created_at  timestamptz NOT NULL DEFAULT now(),
	created_by  name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE repairsys.ticket_discount IS 'Discounts granted on a ticket''s bill (each a discount line, before tax)';
COMMENT ON COLUMN repairsys.ticket_discount.id IS 'Discount id';
COMMENT ON COLUMN repairsys.ticket_discount.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_discount.description IS 'Why the discount was granted, shown on the bill';
COMMENT ON COLUMN repairsys.ticket_discount.amount IS 'Amount taken off before tax';
COMMENT ON COLUMN repairsys.ticket_discount.created_at IS 'When it was granted';
COMMENT ON COLUMN repairsys.ticket_discount.created_by IS 'Role that granted it';
CREATE INDEX ticket_discount_ticket_idx ON repairsys.ticket_discount (ticket_id);
SELECT pg_catalog.pg_extension_config_dump('repairsys.ticket_discount', '');
------------------------------------------------------------------------------
-- SLA columns of repairsys.ticket (feature: sla, see 35_sla.sql and docs/sla.md).
-- Added here, right after the tables, because later pieces create SQL
-- functions whose BEGIN ATOMIC bodies depend on the ticket row type.
------------------------------------------------------------------------------
-- A ticket keeps the targets it was opened with (a later policy change does
-- not move its deadlines), the zone its calendar is read in and the business
-- time its holds consumed.
ALTER TABLE repairsys.ticket
	ADD COLUMN sla_respond_within repairsys.sla_interval,
	ADD COLUMN sla_resolve_within repairsys.sla_interval,
	ADD COLUMN sla_time_zone text,
	ADD COLUMN sla_paused interval NOT NULL DEFAULT interval '0';
COMMENT ON COLUMN repairsys.ticket.sla_respond_within IS 'Response target taken from sla_policy when the ticket was opened (NULL: no policy)';
COMMENT ON COLUMN repairsys.ticket.sla_resolve_within IS 'Resolution target taken from sla_policy when the ticket was opened (NULL: no policy)';
COMMENT ON COLUMN repairsys.ticket.sla_time_zone IS 'Time zone of the SLA calendar: the target''s own zone, else the service center''s time_zone';
COMMENT ON COLUMN repairsys.ticket.sla_paused IS 'Business time spent in states that pause the SLA (every hold so far); resolve_by has moved by this much';

-- Seeded defaults.  Seeded rows carry dump = false so pg_dump leaves them to
-- CREATE EXTENSION; the trigger repairsys.seed_row_changed() (below) flips the
-- flag when a user changes such a row, and lets a restore of that changed row
-- replace the freshly seeded one instead of failing on its key.

INSERT INTO repairsys.setting (name, value, description, dump) VALUES
	('reopen_window', '7 days', 'A resolved ticket may be reopened (resolved -> in_progress) within this interval after resolution', false),
	('rework_window', '30 days', 'A repair of the same asset and service type opened within this interval after an earlier ticket was closed is free of labor', false),
	('tax_rate_labor', '0.06', 'Tax rate on labor, travel, call-out and surcharges (fraction: 0.06 = 6%)', false),
	('tax_rate_parts', '0.13', 'Tax rate on parts (fraction)', false),
	('currency', 'CNY', 'ISO 4217 currency of all amounts', false),
	('follow_up_days', '3', 'A follow-up call (回访) is due this many days after a ticket is closed', false),
	('travel_cost_per_km', '0.80', 'Cost to the company of one km of travel (for the cost-benefit reports)', false);

INSERT INTO repairsys.complexity_rule (level, factor, dump) VALUES
	(1, 1.000, false), (2, 1.150, false), (3, 1.300, false), (4, 1.500, false), (5, 1.800, false);

INSERT INTO repairsys.urgency_rule (urgency, surcharge_pct, dump) VALUES
	('normal', 0, false), ('urgent', 25, false), ('emergency', 50, false);

INSERT INTO repairsys.ticket_status (code, name, is_initial, is_terminal, pauses_sla, max_dwell, sort_order, dump) VALUES
	('new',              'New',                   true,  false, false, interval '4 hours',  10, false),
	('assigned',         'Assigned',              false, false, false, interval '1 day',    20, false),
	('in_progress',      'In progress',           false, false, false, interval '3 days',   30, false),
	('waiting_parts',    'Waiting for parts',     false, false, true,  interval '7 days',   40, false),
	('waiting_customer', 'Waiting for customer',  false, false, true,  interval '3 days',   50, false),
	('resolved',         'Resolved',              false, false, false, interval '7 days',   60, false),
	('closed',           'Closed',                false, true,  false, NULL,                70, false),
	('cancelled',        'Cancelled',             false, true,  false, NULL,                80, false);

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
-- The ticket life cycle (DESIGN.md section 4), enforced by triggers on
-- repairsys.ticket so that no route (function, plain UPDATE, ORM) can go
-- around it; the append-only rule of the history and ledger tables; the
-- pg_dump handling of user data and seeded rows; repairsys.open_ticket().
--
-- Triggers on repairsys.ticket (BEFORE triggers fire in name order):
--   ticket_10_open        BEFORE INSERT  defaults (location, center), checks, stamps
--   ticket_20_transition  BEFORE UPDATE  transition + guard check, stamps
--   ticket_90_log         AFTER INSERT OR UPDATE  ticket_event row + NOTIFY

------------------------------------------------------------------------------
-- Settings
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.setting_value(setting_name text)
RETURNS text
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	v text;
BEGIN
	SELECT s.value INTO v FROM repairsys.setting s WHERE s.name = setting_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown repairsys setting "%"', setting_name
			USING ERRCODE = '22023',
			      HINT = 'The settings are the rows of repairsys.setting.';
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION repairsys.setting_value(text) IS 'Value of a row of repairsys.setting, as text; unknown name: error 22023';

------------------------------------------------------------------------------
-- Append-only tables
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.forbid_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	-- The owner of the table (and superusers, members of every role) may
	-- correct the history; nobody else.
	IF pg_catalog.pg_has_role(current_user,
			(SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
		IF TG_LEVEL = 'STATEMENT' THEN
			RETURN NULL;
		ELSIF TG_OP = 'DELETE' THEN
			RETURN OLD;
		END IF;
		RETURN NEW;
	END IF;
	RAISE EXCEPTION 'cannot % rows of append-only table %.%', pg_catalog.lower(TG_OP), TG_TABLE_SCHEMA, TG_TABLE_NAME
		USING ERRCODE = '42501',
		      DETAIL = 'Rows of this table are never changed or removed once written.',
		      HINT = 'Record a correcting row instead.';
END
$$;
COMMENT ON FUNCTION repairsys.forbid_change() IS 'Trigger function of the append-only tables: UPDATE, DELETE and TRUNCATE fail (42501) for every role but the table owner';

CREATE TRIGGER ticket_event_append_only BEFORE UPDATE OR DELETE ON repairsys.ticket_event
	FOR EACH ROW EXECUTE FUNCTION repairsys.forbid_change();
CREATE TRIGGER ticket_event_no_truncate BEFORE TRUNCATE ON repairsys.ticket_event
	FOR EACH STATEMENT EXECUTE FUNCTION repairsys.forbid_change();

------------------------------------------------------------------------------
-- Seeded rows and pg_dump
------------------------------------------------------------------------------
-- Seeded rows are inserted with dump = false and left out of pg_dump (the
-- config-dump filter is 'WHERE dump'); CREATE EXTENSION seeds them again on
-- restore.  When a user changes a seeded row, the flag turns true so the
-- change is dumped; when the restore then inserts that row, it replaces the
-- seeded row of the same key instead of failing on the key.  Arguments: the
-- key columns.
CREATE FUNCTION repairsys.seed_row_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	cond  text := '';
	sets  text;
	k     text;
	seeded boolean;
BEGIN
	IF TG_OP = 'UPDATE' THEN
		IF NOT NEW.dump AND (pg_catalog.to_jsonb(NEW) - 'dump') IS DISTINCT FROM (pg_catalog.to_jsonb(OLD) - 'dump') THEN
			NEW.dump := true;
		END IF;
		RETURN NEW;
	END IF;

	FOREACH k IN ARRAY TG_ARGV LOOP
		cond := cond || pg_catalog.format(' AND %I OPERATOR(pg_catalog.=) ($1).%I', k, k);
	END LOOP;
	EXECUTE pg_catalog.format('SELECT true FROM %I.%I WHERE NOT dump %s', TG_TABLE_SCHEMA, TG_TABLE_NAME, cond)
		INTO seeded USING NEW;
	IF seeded THEN
		SELECT pg_catalog.string_agg(pg_catalog.format('%I = ($1).%I', a.attname, a.attname), ', ')
		  INTO sets
		  FROM pg_catalog.pg_attribute a
		 WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped;
		EXECUTE pg_catalog.format('UPDATE %I.%I SET %s WHERE true %s', TG_TABLE_SCHEMA, TG_TABLE_NAME, sets, cond)
			USING NEW;
		RETURN NULL;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.seed_row_changed() IS 'Trigger function of seeded tables: marks changed seeded rows for pg_dump, and lets an INSERT of a row whose key is an unchanged seeded row replace that row (so a restore keeps the user''s changes)';

CREATE TRIGGER setting_seed BEFORE INSERT OR UPDATE ON repairsys.setting
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('name');
CREATE TRIGGER complexity_rule_seed BEFORE INSERT OR UPDATE ON repairsys.complexity_rule
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('level');
CREATE TRIGGER urgency_rule_seed BEFORE INSERT OR UPDATE ON repairsys.urgency_rule
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('urgency');
CREATE TRIGGER ticket_status_seed BEFORE INSERT OR UPDATE ON repairsys.ticket_status
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('code');
CREATE TRIGGER ticket_transition_seed BEFORE INSERT OR UPDATE ON repairsys.ticket_transition
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('from_status', 'to_status');
CREATE TRIGGER assign_policy_seed BEFORE INSERT OR UPDATE ON repairsys.assign_policy
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('name');

-- (one call per statement: each call updates the pg_extension row)
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['setting', 'complexity_rule', 'urgency_rule', 'ticket_status',
	                         'ticket_transition', 'assign_policy'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.format('repairsys.%I', t)::regclass, 'WHERE dump');
	END LOOP;
	-- User data: dumped whole.  repairsys.stock is derived from the ledger
	-- and the reservations (see the spare-parts piece).
	FOREACH t IN ARRAY ARRAY['service_center', 'customer', 'asset', 'technician', 'technician_skill',
	                         'service_type', 'sla_policy', 'holiday', 'ticket', 'ticket_event',
	                         'part', 'stock_movement', 'part_unit', 'ticket_part', 'invoice',
	                         'invoice_line', 'payment', 'installment', 'feedback'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.format('repairsys.%I', t)::regclass, '');
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- The life cycle
------------------------------------------------------------------------------
ALTER TABLE repairsys.ticket ADD COLUMN changed_by name;
COMMENT ON COLUMN repairsys.ticket.changed_by IS 'Role that made the last change (set by trigger; the history''s actor)';

-- Nearest service center (great circle) to a point; NULL without coordinates.
CREATE FUNCTION repairsys.nearest_service_center(lat double precision, lon double precision)
RETURNS bigint
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	RETURN (SELECT c.id
	          FROM repairsys.service_center c
	         WHERE c.lat IS NOT NULL AND c.lon IS NOT NULL
	         ORDER BY repairsys.haversine_km(c.lat, c.lon, nearest_service_center.lat, nearest_service_center.lon), c.id
	         LIMIT 1);
END
$$;
COMMENT ON FUNCTION repairsys.nearest_service_center(double precision, double precision) IS 'Id of the service center nearest to a point (great-circle distance; ties: lower id)';

-- BEFORE INSERT: a new ticket starts in the initial state with trigger-owned
-- columns empty.  The table owner may insert rows that carry a state of their
-- own (status_changed_at given): that is how pg_dump restores, and how a DBA
-- migrates history; such rows are taken as they are.
CREATE FUNCTION repairsys.ticket_open_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	initial text;
	cust    repairsys.customer;
	owner   boolean;
BEGIN
	owner := pg_catalog.pg_has_role(current_user,
		(SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID), 'MEMBER');
	IF NEW.status_changed_at IS NOT NULL THEN
		IF owner THEN
			RETURN NEW;		-- restore or migration of an existing ticket
		END IF;
		RAISE EXCEPTION 'column "status_changed_at" of a new ticket is set by repairsys'
			USING ERRCODE = '428C9',
			      DETAIL = 'Only the owner of repairsys.ticket may insert tickets with a history (restore, migration).';
	END IF;

	SELECT s.code INTO initial FROM repairsys.ticket_status s WHERE s.is_initial;
	IF NEW.status IS DISTINCT FROM initial THEN
		RAISE EXCEPTION 'a new ticket must start in status "%"', initial
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('The ticket was inserted with status "%s"; later states are reached through transitions.', NEW.status);
	END IF;
	IF NEW.first_response_at IS NOT NULL OR NEW.resolved_at IS NOT NULL OR NEW.closed_at IS NOT NULL
	   OR NEW.reopen_count <> 0 THEN
		RAISE EXCEPTION 'columns first_response_at, resolved_at, closed_at and reopen_count of a ticket are set by repairsys'
			USING ERRCODE = '428C9';
	END IF;

	SELECT * INTO cust FROM repairsys.customer c WHERE c.id = NEW.customer_id;
	-- (an unknown customer is left to the foreign key, which names it)
	IF NEW.asset_id IS NOT NULL AND FOUND
	   AND NOT EXISTS (SELECT 1 FROM repairsys.asset a WHERE a.id = NEW.asset_id AND a.customer_id = NEW.customer_id) THEN
		IF EXISTS (SELECT 1 FROM repairsys.asset a WHERE a.id = NEW.asset_id) THEN
			RAISE EXCEPTION 'asset % does not belong to customer %', NEW.asset_id, NEW.customer_id
				USING ERRCODE = '23514';
		END IF;
	END IF;
	IF NEW.lat IS NULL AND NEW.lon IS NULL THEN
		NEW.lat := cust.lat;
		NEW.lon := cust.lon;
	END IF;
	IF NEW.service_center_id IS NULL THEN
		NEW.service_center_id := coalesce(cust.service_center_id,
		                                  repairsys.nearest_service_center(NEW.lat, NEW.lon));
	END IF;
	NEW.status_changed_at := pg_catalog.now();
	NEW.changed_by := current_user;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_open_trg() IS 'BEFORE INSERT trigger of repairsys.ticket: initial state, defaults from the customer, trigger-owned columns';

-- Reason the guard refuses the ticket (NULL: the guard passes).  Guards run
-- with the extension owner's rights (they read bills and payments the caller
-- may not see) and only ever read.
CREATE FUNCTION repairsys.check_guard(guard text, t repairsys.ticket)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	CASE guard
		WHEN 'has_technician' THEN RETURN repairsys.guard_has_technician(t);
		WHEN 'estimate_approved' THEN RETURN repairsys.guard_estimate_approved(t);
		WHEN 'labor_recorded' THEN RETURN repairsys.guard_labor_recorded(t);
		WHEN 'settled' THEN RETURN repairsys.guard_settled(t);
		WHEN 'reopen_window' THEN RETURN repairsys.guard_reopen_window(t);
		ELSE
			RAISE EXCEPTION 'unknown ticket transition guard "%"', guard USING ERRCODE = '22023';
	END CASE;
END
$$;
COMMENT ON FUNCTION repairsys.check_guard(text, repairsys.ticket) IS 'Evaluates a named transition guard on a ticket row: NULL when it passes, else what is missing';

-- BEFORE UPDATE: checks a status change against ticket_transition and its
-- guard (23514, the allowed next states in the DETAIL); keeps the
-- trigger-owned columns (428C9); sets changed_by and the life-cycle stamps.
-- In C (src/lifecycle.c): it runs on every ticket UPDATE.
CREATE FUNCTION repairsys.ticket_transition_trg()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ticket_transition_trg' LANGUAGE C;
COMMENT ON FUNCTION repairsys.ticket_transition_trg() IS 'BEFORE UPDATE trigger of repairsys.ticket: checks status changes against ticket_transition and its guard (23514), sets the life-cycle stamps';

-- AFTER INSERT OR UPDATE: one ticket_event row per status change (and per
-- change of technician), and a notification to listening applications.  In C
-- (src/lifecycle.c).  The history row is written with the rights of the
-- ticket table's owner, so that roles without INSERT on the history still get
-- their changes recorded; the actor is the changed_by the BEFORE trigger took
-- from current_user.  (Not SECURITY DEFINER: the C function switches the user
-- only around its one INSERT, and all its queries are schema-qualified.)
CREATE FUNCTION repairsys.ticket_log_trg()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ticket_log_trg' LANGUAGE C;
COMMENT ON FUNCTION repairsys.ticket_log_trg() IS 'AFTER INSERT OR UPDATE trigger of repairsys.ticket: appends the ticket_event row and sends NOTIFY repairsys_events';

CREATE TRIGGER ticket_10_open BEFORE INSERT ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_open_trg();
CREATE TRIGGER ticket_20_transition BEFORE UPDATE ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_transition_trg();
CREATE TRIGGER ticket_90_log AFTER INSERT OR UPDATE ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_log_trg();

------------------------------------------------------------------------------
-- Distribution key of the billing tables
------------------------------------------------------------------------------
-- An invoice carries its ticket's service center, so that invoice lines,
-- payments and installments reach a center in one join (docs/scaling.md).
CREATE FUNCTION repairsys.invoice_center_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.service_center_id IS NULL THEN
		SELECT t.service_center_id INTO NEW.service_center_id FROM repairsys.ticket t WHERE t.id = NEW.ticket_id;
	END IF;
	IF NEW.invoice_no IS NULL THEN
		NEW.invoice_no := 'INV-' || pg_catalog.lpad(NEW.id::text, 8, '0');
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.invoice_center_trg() IS 'BEFORE INSERT trigger of repairsys.invoice: takes the service center from the ticket, and numbers the invoice INV-<8-digit id>, when not given';
CREATE TRIGGER invoice_10_center BEFORE INSERT ON repairsys.invoice
	FOR EACH ROW EXECUTE FUNCTION repairsys.invoice_center_trg();

------------------------------------------------------------------------------
-- Functions for applications
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.open_ticket(customer_id bigint, service_type text, description text,
                                      urgency text DEFAULT 'normal', complexity integer DEFAULT 1,
                                      asset_id bigint DEFAULT NULL, channel text DEFAULT 'web')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM repairsys.customer c WHERE c.id = open_ticket.customer_id) THEN
		RAISE EXCEPTION 'customer % does not exist', open_ticket.customer_id USING ERRCODE = '23503';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM repairsys.service_type s WHERE s.code = open_ticket.service_type) THEN
		RAISE EXCEPTION 'service type "%" does not exist', open_ticket.service_type USING ERRCODE = '23503';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM repairsys.urgency_rule u WHERE u.urgency = open_ticket.urgency) THEN
		RAISE EXCEPTION 'invalid urgency "%"', open_ticket.urgency
			USING ERRCODE = '22023',
			      HINT = (SELECT pg_catalog.format('Known urgencies: %s.', pg_catalog.string_agg(u.urgency, ', ' ORDER BY u.surcharge_pct))
			                FROM repairsys.urgency_rule u);
	END IF;
	IF open_ticket.channel IS NULL OR open_ticket.channel NOT IN ('phone', 'web', 'app', 'mini_program', 'walk_in') THEN
		RAISE EXCEPTION 'invalid channel "%"', open_ticket.channel
			USING ERRCODE = '22023',
			      HINT = 'Known channels: phone, web, app, mini_program, walk_in.';
	END IF;
	IF open_ticket.complexity IS NULL OR open_ticket.complexity NOT BETWEEN 1 AND 5 THEN
		RAISE EXCEPTION 'complexity % is out of range', coalesce(open_ticket.complexity::text, 'NULL')
			USING ERRCODE = '22023',
			      HINT = 'Complexity is a level from 1 to 5.';
	END IF;
	INSERT INTO repairsys.ticket (customer_id, service_type, description, urgency, complexity, asset_id, channel)
	VALUES (open_ticket.customer_id, open_ticket.service_type, open_ticket.description, open_ticket.urgency,
	        open_ticket.complexity, open_ticket.asset_id, open_ticket.channel)
	RETURNING id INTO new_id;
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION repairsys.open_ticket(bigint, text, text, text, integer, bigint, text) IS 'Opens a ticket for a customer; location and service center default to the customer''s; returns the ticket id';

CREATE FUNCTION repairsys.set_status(ticket_id bigint, status text, note text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_catalog.set_config('repairsys.note', coalesce(note, ''), true);
	UPDATE repairsys.ticket t SET status = set_status.status WHERE t.id = set_status.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', set_status.ticket_id USING ERRCODE = '22023';
	END IF;
	PERFORM pg_catalog.set_config('repairsys.note', '', true);
END
$$;
COMMENT ON FUNCTION repairsys.set_status(bigint, text, text) IS 'Moves a ticket to another status (checked by the life-cycle trigger) with an optional note for its history';
-- The built-in guards of ticket transitions (ticket_transition.guard).  Each
-- takes the ticket row as it will be after the change and returns NULL when
-- the guard passes, else what is missing (a phrase for the error message).
-- They are called through repairsys.check_guard() with the owner's rights.

-- Whether the ticket's work is covered by the product warranty: the asset's
-- warranty runs on the local date the ticket was opened, and was not voided.
CREATE FUNCTION repairsys.under_warranty(t repairsys.ticket)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce(NOT t.warranty_void AND a.warranty_until >=
	                (t.opened_at AT TIME ZONE coalesce(c.time_zone, pg_catalog.current_setting('TimeZone')))::date,
	                false)
	  FROM (SELECT 1) AS one
	  LEFT JOIN repairsys.asset a ON a.id = t.asset_id
	  LEFT JOIN repairsys.service_center c ON c.id = t.service_center_id;
END;
COMMENT ON FUNCTION repairsys.under_warranty(repairsys.ticket) IS 'True when the ticket''s asset is under product warranty on the local date the ticket was opened and the warranty is not void';

-- Whether the customer pays for the ticket's work (warranty work is free).
CREATE FUNCTION repairsys.ticket_is_billable(t repairsys.ticket)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT NOT repairsys.under_warranty(t);
END;
COMMENT ON FUNCTION repairsys.ticket_is_billable(repairsys.ticket) IS 'True when the customer pays for the ticket''s work (not warranty work)';

CREATE FUNCTION repairsys.guard_has_technician(t repairsys.ticket)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE
		WHEN t.technician_id IS NULL THEN 'the ticket has no technician'
		WHEN NOT tech.active THEN pg_catalog.format('technician %s is not active', t.technician_id)
	END
	  FROM (SELECT 1) AS one
	  LEFT JOIN repairsys.technician tech ON tech.id = t.technician_id;
END;
COMMENT ON FUNCTION repairsys.guard_has_technician(repairsys.ticket) IS 'Guard has_technician: an active technician is assigned';

CREATE FUNCTION repairsys.guard_estimate_approved(t repairsys.ticket)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE
		WHEN t.estimate_approved_at IS NULL AND repairsys.ticket_is_billable(t)
		THEN 'the customer has not approved the estimate of this billable ticket'
	END;
END;
COMMENT ON FUNCTION repairsys.guard_estimate_approved(repairsys.ticket) IS 'Guard estimate_approved: work on a billable ticket starts only after the customer approved the estimate (warranty work needs none)';

CREATE FUNCTION repairsys.guard_labor_recorded(t repairsys.ticket)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN coalesce(t.labor_minutes, 0) <= 0 THEN 'no labor minutes are recorded' END;
END;
COMMENT ON FUNCTION repairsys.guard_labor_recorded(repairsys.ticket) IS 'Guard labor_recorded: labor minutes are recorded before resolution';

-- (PL/pgSQL: the bill it reads is defined by the billing piece, later)
CREATE FUNCTION repairsys.guard_settled(t repairsys.ticket)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	inv   repairsys.invoice;
	paid  numeric;
	total numeric;
BEGIN
	SELECT * INTO inv FROM repairsys.invoice i WHERE i.ticket_id = t.id;
	IF NOT FOUND THEN
		SELECT b.total INTO total FROM repairsys.bill_summary b WHERE b.ticket_id = t.id;
		IF coalesce(total, 0) = 0 THEN
			RETURN NULL;		-- free of charge
		END IF;
		RETURN pg_catalog.format('no invoice has been issued for a bill of %s', total);
	END IF;
	SELECT coalesce(sum(p.amount), 0) INTO paid FROM repairsys.payment p WHERE p.invoice_id = inv.id;
	IF inv.total > paid THEN
		RETURN pg_catalog.format('invoice %s has a balance of %s', inv.invoice_no, inv.total - paid);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.guard_settled(repairsys.ticket) IS 'Guard settled: the bill is zero (free of charge), or its invoice is issued and fully paid';

CREATE FUNCTION repairsys.guard_reopen_window(t repairsys.ticket)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE
		WHEN t.resolved_at < pg_catalog.now() - repairsys.setting_value('reopen_window')::interval
		THEN pg_catalog.format('the ticket was resolved more than %s ago', repairsys.setting_value('reopen_window'))
	END;
END;
COMMENT ON FUNCTION repairsys.guard_reopen_window(repairsys.ticket) IS 'Guard reopen_window: a resolved ticket may be reopened only within the reopen_window setting';
------------------------------------------------------------------------------
-- SLA clocks on tickets: stamping, pauses, status views (docs/sla.md)
------------------------------------------------------------------------------
-- (The SLA columns of repairsys.ticket are added in 20_tables_sla.sql: SQL
-- functions with BEGIN ATOMIC bodies in 31_guards.sql depend on the row type,
-- after which ALTER TABLE cannot add columns.)

-- Closed local dates of a center: its own holidays and all-center holidays.
CREATE FUNCTION repairsys.closed_dates(service_center_id bigint)
RETURNS date[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT coalesce(pg_catalog.array_agg(DISTINCT h.day ORDER BY h.day), '{}')
	  FROM repairsys.holiday h
	 WHERE h.service_center_id IS NULL OR h.service_center_id = closed_dates.service_center_id
$$;
COMMENT ON FUNCTION repairsys.closed_dates(bigint) IS 'Closed local dates of a service center: its holidays and the holidays of all centers (NULL center: all-center holidays only)';

-- Zone an SLA calendar of a ticket is read in: the center's, else UTC.
CREATE FUNCTION repairsys.center_time_zone(service_center_id bigint)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT c.time_zone FROM repairsys.service_center c WHERE c.id = center_time_zone.service_center_id), 'UTC')
$$;
COMMENT ON FUNCTION repairsys.center_time_zone(bigint) IS 'Time zone of a service center (UTC when the center is unknown or NULL); SLA calendars without a zone of their own are read in it';

-- BEFORE INSERT (after ticket_10_open has chosen the center): respond_by and
-- resolve_by from sla_policy, holidays applied.  Rows restored or migrated
-- with a history of their own (status_changed_at not now()) keep their stamps.
CREATE FUNCTION repairsys.ticket_sla_open_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	pol    repairsys.sla_policy;
	closed date[];
BEGIN
	IF NEW.status_changed_at IS DISTINCT FROM pg_catalog.now() THEN
		RETURN NEW;
	END IF;
	SELECT * INTO pol FROM repairsys.sla_policy p
	 WHERE p.service_type = NEW.service_type AND p.urgency = NEW.urgency;
	IF NOT FOUND THEN
		RETURN NEW;		-- no policy: no SLA stamps (and none invented)
	END IF;
	NEW.sla_respond_within := pol.respond_within;
	NEW.sla_resolve_within := pol.resolve_within;
	NEW.sla_time_zone := repairsys.center_time_zone(NEW.service_center_id);
	NEW.sla_paused := interval '0';
	closed := repairsys.closed_dates(NEW.service_center_id);
	NEW.respond_by := repairsys.sla_deadline(pol.respond_within, NEW.opened_at, closed, NEW.sla_time_zone);
	NEW.resolve_by := repairsys.sla_deadline(pol.resolve_within, NEW.opened_at, closed, NEW.sla_time_zone);
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sla_open_trg() IS 'BEFORE INSERT trigger of repairsys.ticket: stamps respond_by and resolve_by from sla_policy with the center''s holidays';

-- BEFORE UPDATE OF status (after ticket_20_transition accepted the change and
-- set status_changed_at, the end of the hold): when the ticket leaves a state that pauses the SLA,
-- the business time of that hold is added to sla_paused and resolve_by moves
-- by it.  A deadline already missed before the hold began does not move.
CREATE FUNCTION repairsys.ticket_sla_pause_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	held     interval;
	closed   date[];
	hold_end timestamptz := coalesce(NEW.status_changed_at, pg_catalog.now());
BEGIN
	IF NEW.status IS NOT DISTINCT FROM OLD.status OR OLD.sla_resolve_within IS NULL
	   OR OLD.resolve_by IS NULL OR OLD.status_changed_at IS NULL THEN
		RETURN NEW;
	END IF;
	IF NOT coalesce((SELECT s.pauses_sla FROM repairsys.ticket_status s WHERE s.code = OLD.status), false) THEN
		RETURN NEW;
	END IF;
	closed := repairsys.closed_dates(NEW.service_center_id);
	held := repairsys.sla_elapsed(OLD.sla_resolve_within, OLD.status_changed_at, hold_end,
	                              closed, OLD.sla_time_zone);
	IF held <= interval '0' THEN
		RETURN NEW;
	END IF;
	NEW.sla_paused := OLD.sla_paused + held;
	IF OLD.resolve_by >= OLD.status_changed_at THEN
		NEW.resolve_by := repairsys.sla_advance(OLD.sla_resolve_within, OLD.resolve_by, held,
		                                        closed, OLD.sla_time_zone);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sla_pause_trg() IS 'BEFORE UPDATE OF status trigger of repairsys.ticket: on leaving a state with pauses_sla, adds the business time of the hold to sla_paused and moves resolve_by by it';

-- BEFORE UPDATE OF the SLA snapshot columns: they are kept by the triggers
-- above; only the table owner (restore, migration) may set them.  respond_by
-- and resolve_by stay writable: a supervisor may grant a ticket more time.
CREATE FUNCTION repairsys.ticket_sla_guard_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF (NEW.sla_respond_within IS DISTINCT FROM OLD.sla_respond_within
	    OR NEW.sla_resolve_within IS DISTINCT FROM OLD.sla_resolve_within
	    OR NEW.sla_time_zone IS DISTINCT FROM OLD.sla_time_zone
	    OR NEW.sla_paused IS DISTINCT FROM OLD.sla_paused)
	   AND NOT pg_catalog.pg_has_role(current_user,
	           (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
		RAISE EXCEPTION 'columns sla_respond_within, sla_resolve_within, sla_time_zone and sla_paused of a ticket are set by repairsys'
			USING ERRCODE = '428C9',
			      DETAIL = pg_catalog.format('Ticket %s was not changed.', OLD.id),
			      HINT = 'respond_by and resolve_by may be changed directly.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sla_guard_trg() IS 'BEFORE UPDATE trigger of repairsys.ticket: only the table owner may change the SLA snapshot columns (428C9)';

CREATE TRIGGER ticket_30_sla_open BEFORE INSERT ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_sla_open_trg();
CREATE TRIGGER ticket_30_sla_pause BEFORE UPDATE OF status ON repairsys.ticket
	FOR EACH ROW
	WHEN (NEW.status IS DISTINCT FROM OLD.status AND OLD.sla_resolve_within IS NOT NULL
	      AND OLD.resolve_by IS NOT NULL AND OLD.status_changed_at IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_sla_pause_trg();
CREATE TRIGGER ticket_25_sla_guard BEFORE UPDATE OF sla_respond_within, sla_resolve_within, sla_time_zone, sla_paused
	ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_sla_guard_trg();

------------------------------------------------------------------------------
-- Views
------------------------------------------------------------------------------
CREATE VIEW repairsys.sla_status AS
SELECT t.id AS ticket_id,
       t.service_center_id,
       t.service_type,
       t.urgency,
       t.status,
       t.opened_at,
       t.respond_by,
       t.first_response_at,
       CASE WHEN t.respond_by IS NULL THEN NULL
            ELSE coalesce(t.first_response_at, pg_catalog.now()) > t.respond_by END AS response_breached,
       t.resolve_by,
       s.pauses_sla AS paused,
       CASE WHEN s.pauses_sla THEN t.status_changed_at END AS paused_since,
       pg_catalog.round((pg_catalog.date_part('epoch', t.sla_paused) / 3600)::numeric, 2) AS paused_business_hours,
       pg_catalog.round((pg_catalog.date_part('epoch', x.left_time) / 3600)::numeric, 2) AS business_hours_left,
       x.left_time < interval '0' AS breached,
       t.sla_resolve_within::text AS resolve_within,
       t.sla_time_zone AS time_zone
  FROM repairsys.ticket t
  JOIN repairsys.ticket_status s ON s.code = t.status
  LEFT JOIN LATERAL (
	SELECT CASE WHEN t.resolve_by IS NULL OR t.sla_resolve_within IS NULL THEN NULL
	            ELSE repairsys.sla_elapsed(t.sla_resolve_within,
	                                       CASE WHEN s.pauses_sla THEN t.status_changed_at ELSE pg_catalog.now() END,
	                                       t.resolve_by,
	                                       repairsys.closed_dates(t.service_center_id), t.sla_time_zone) END AS left_time
  ) x ON true
 WHERE NOT s.is_terminal AND t.resolved_at IS NULL;
COMMENT ON VIEW repairsys.sla_status IS 'SLA clock of every open (not resolved, not terminal) ticket: deadlines, business time left, holds, breaches';
COMMENT ON COLUMN repairsys.sla_status.ticket_id IS 'Ticket id';
COMMENT ON COLUMN repairsys.sla_status.service_center_id IS 'Service center responsible';
COMMENT ON COLUMN repairsys.sla_status.service_type IS 'Service type code';
COMMENT ON COLUMN repairsys.sla_status.urgency IS 'Urgency (selects the SLA policy)';
COMMENT ON COLUMN repairsys.sla_status.status IS 'Current state';
COMMENT ON COLUMN repairsys.sla_status.opened_at IS 'When the ticket was opened';
COMMENT ON COLUMN repairsys.sla_status.respond_by IS 'Response deadline (NULL: no SLA policy)';
COMMENT ON COLUMN repairsys.sla_status.first_response_at IS 'First move out of the initial state (NULL: not yet)';
COMMENT ON COLUMN repairsys.sla_status.response_breached IS 'True when the first response came, or is still missing, after respond_by';
COMMENT ON COLUMN repairsys.sla_status.resolve_by IS 'Resolution deadline, moved by every hold so far (a running hold moves it when it ends)';
COMMENT ON COLUMN repairsys.sla_status.paused IS 'True while the ticket is in a state that pauses the SLA clock';
COMMENT ON COLUMN repairsys.sla_status.paused_since IS 'Start of the running hold (NULL when not paused)';
COMMENT ON COLUMN repairsys.sla_status.paused_business_hours IS 'Business hours of the finished holds (resolve_by has moved by them)';
COMMENT ON COLUMN repairsys.sla_status.business_hours_left IS 'Business hours from now (or from the start of the running hold) to resolve_by; negative when overdue';
COMMENT ON COLUMN repairsys.sla_status.breached IS 'True when resolve_by has passed in business time (a hold does not excuse time already missed)';
COMMENT ON COLUMN repairsys.sla_status.resolve_within IS 'Resolution target of the ticket (canonical sla_interval text)';
COMMENT ON COLUMN repairsys.sla_status.time_zone IS 'Time zone the SLA calendar is read in';

CREATE VIEW repairsys.stuck_tickets AS
SELECT t.id AS ticket_id,
       t.service_center_id,
       t.technician_id,
       t.status,
       t.status_changed_at AS in_status_since,
       pg_catalog.round((pg_catalog.date_part('epoch', pg_catalog.now() - t.status_changed_at) / 3600)::numeric, 2) AS hours_in_status,
       pg_catalog.round((pg_catalog.date_part('epoch', s.max_dwell) / 3600)::numeric, 2) AS max_dwell_hours,
       pg_catalog.round((pg_catalog.date_part('epoch', pg_catalog.now() - t.status_changed_at - s.max_dwell) / 3600)::numeric, 2) AS hours_over
  FROM repairsys.ticket t
  JOIN repairsys.ticket_status s ON s.code = t.status
 WHERE s.max_dwell IS NOT NULL AND NOT s.is_terminal
   AND t.status_changed_at IS NOT NULL
   AND t.status_changed_at + s.max_dwell < pg_catalog.now();
COMMENT ON VIEW repairsys.stuck_tickets IS 'Tickets that stayed in their state longer than its max_dwell (停留时间过长预警), wall-clock time';
COMMENT ON COLUMN repairsys.stuck_tickets.ticket_id IS 'Ticket id';
COMMENT ON COLUMN repairsys.stuck_tickets.service_center_id IS 'Service center responsible';
COMMENT ON COLUMN repairsys.stuck_tickets.technician_id IS 'Assigned technician (NULL: none)';
COMMENT ON COLUMN repairsys.stuck_tickets.status IS 'State the ticket is stuck in';
COMMENT ON COLUMN repairsys.stuck_tickets.in_status_since IS 'When the ticket entered the state';
COMMENT ON COLUMN repairsys.stuck_tickets.hours_in_status IS 'Hours spent in the state so far';
COMMENT ON COLUMN repairsys.stuck_tickets.max_dwell_hours IS 'The state''s max_dwell in hours';
COMMENT ON COLUMN repairsys.stuck_tickets.hours_over IS 'Hours beyond max_dwell';
-- Transparent billing (DESIGN.md section 9, docs/billing.md): estimates the
-- customer approves, itemized bills whose lines add up, frozen invoices,
-- idempotent payments, installment plans and an audit.
--
-- One function, repairsys.compute_bill(), turns a ticket's price inputs and
-- recorded work into bill lines; the estimate, the bill views and the invoice
-- all use it, so they cannot disagree.  Every line carries its own tax,
-- rounded per line; a bill's total is the sum of its lines' amounts and
-- taxes, so the lines always add up to it.

------------------------------------------------------------------------------
-- Coverage
------------------------------------------------------------------------------
-- The earlier closed ticket of the same asset and service type that makes
-- this one a repeat repair (free of labor), or NULL.
CREATE FUNCTION repairsys.rework_of(t repairsys.ticket)
RETURNS bigint
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT p.id
	  FROM repairsys.ticket p
	 WHERE t.asset_id IS NOT NULL AND p.asset_id = t.asset_id AND p.service_type = t.service_type
	   AND p.id <> t.id AND p.status = 'closed' AND p.closed_at <= t.opened_at
	   AND p.closed_at >= t.opened_at - coalesce(t.price_rework_window, repairsys.setting_value('rework_window'))::interval
	 ORDER BY p.closed_at DESC, p.id DESC
	 LIMIT 1;
END;
COMMENT ON FUNCTION repairsys.rework_of(repairsys.ticket) IS 'The earlier closed ticket of the same asset and service type, closed within the rework window (the ticket''s snapshot, else the rework_window setting) before this one was opened (this one is then free of labor); NULL when none';

------------------------------------------------------------------------------
-- The bill lines
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.fmt_num(n numeric)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
	SELECT pg_catalog.trim_scale(n)::text;
END;
COMMENT ON FUNCTION repairsys.fmt_num(numeric) IS 'A number for bill descriptions, without trailing zeros';

CREATE FUNCTION repairsys.fmt_price(n numeric)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
	SELECT CASE WHEN pg_catalog.scale(pg_catalog.trim_scale(n)) <= 2 THEN pg_catalog.round(n, 2)::text
	            ELSE pg_catalog.trim_scale(n)::text END;
END;
COMMENT ON FUNCTION repairsys.fmt_price(numeric) IS 'A price for bill descriptions: 2 decimals, more only when the price has them';

-- The lines of a price schedule for a quantity, worded for the bill:
-- "Labor: 15 min in the tier 60+ min, at 1.50 per min".
CREATE FUNCTION repairsys.schedule_lines(fee repairsys.fee_tier, qty numeric, what text, unit_name text,
	OUT description text, OUT quantity numeric, OUT line_unit text, OUT unit_price numeric, OUT amount numeric)
RETURNS SETOF record
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
	SELECT CASE l.kind
	           WHEN 'base' THEN what || ': base fee'
	           WHEN 'tier' THEN pg_catalog.format('%s: %s %s in the tier %s %s, at %s per %s', what,
	                              repairsys.fmt_num(l.quantity), unit_name,
	                              repairsys.fmt_num(l.qty_from) || coalesce('-' || repairsys.fmt_num(l.qty_to), '+'), unit_name,
	                              repairsys.fmt_price(l.rate), unit_name)
	           WHEN 'minimum' THEN what || ': raised to the minimum charge of the schedule'
	           WHEN 'maximum' THEN what || ': lowered to the maximum charge of the schedule' END,
	       l.quantity, CASE WHEN l.kind = 'tier' THEN unit_name END, l.rate, l.amount
	  FROM repairsys.charge_lines(fee, qty) l
	 ORDER BY l.line_no;
END;
COMMENT ON FUNCTION repairsys.schedule_lines(repairsys.fee_tier, numeric, text, text) IS 'The lines of charge_lines() worded for a bill (what, unit): base fee, one per tier slice, minimum or maximum adjustment';

-- The bill lines of ticket t for the given labor minutes and travel km (NULL:
-- none recorded).  With for_estimate, reserved parts count as well as used
-- ones.  Prices come from the ticket's snapshot when the estimate was
-- approved, else from the price list of now.
CREATE FUNCTION repairsys.compute_bill(t repairsys.ticket, minutes numeric, km numeric, for_estimate boolean DEFAULT false,
	OUT line_no integer, OUT kind text, OUT description text, OUT quantity numeric, OUT unit text,
	OUT unit_price numeric, OUT amount numeric, OUT tax_rate numeric, OUT tax_amount numeric)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	st        repairsys.service_type;
	labor_fee repairsys.fee_tier;
	travel_fee repairsys.fee_tier;
	callout   numeric;
	factor    numeric;
	pct       numeric;
	rate_l    numeric;
	rate_p    numeric;
	l         record;
	n         integer := 0;
	labor     numeric := 0;
	cx        numeric := 0;
	sur       numeric := 0;
	travel    numeric := 0;
	subtotal  numeric := 0;
	tx_labor  numeric := 0;
	tx_call   numeric := 0;
	tx_travel numeric := 0;
	warranty  boolean := repairsys.under_warranty(t);
	rework    bigint := repairsys.rework_of(t);
	wdate     date;
	d         numeric;
	-- what is left to discount per tax rate: amounts and their taxes
	left_l    numeric := 0;
	left_tl   numeric := 0;
	left_p    numeric := 0;
	left_tp   numeric := 0;
	piece     numeric;
	share     record;
BEGIN
	SELECT * INTO st FROM repairsys.service_type s WHERE s.code = t.service_type;
	labor_fee := coalesce(t.price_labor_fee, st.labor_fee);
	travel_fee := CASE WHEN t.price_labor_fee IS NOT NULL THEN t.price_travel_fee ELSE st.travel_fee END;
	callout := coalesce(t.price_callout_fee, st.callout_fee, 0);
	factor := coalesce(t.price_complexity_factor, (SELECT c.factor FROM repairsys.complexity_rule c WHERE c.level = t.complexity), 1);
	pct := coalesce(t.price_surcharge_pct, (SELECT u.surcharge_pct FROM repairsys.urgency_rule u WHERE u.urgency = t.urgency), 0);
	rate_l := round(coalesce(t.price_tax_rate_labor, repairsys.setting_value('tax_rate_labor')::numeric), 4);
	rate_p := round(coalesce(t.price_tax_rate_parts, repairsys.setting_value('tax_rate_parts')::numeric), 4);
	SELECT a.warranty_until INTO wdate FROM repairsys.asset a WHERE a.id = t.asset_id;

	-- call-out
	IF callout > 0 THEN
		n := n + 1; line_no := n; kind := 'callout'; description := 'Call-out fee';
		quantity := 1; unit := 'visit'; unit_price := callout; amount := callout;
		tax_rate := rate_l; tax_amount := round(amount * rate_l, 2);
		subtotal := subtotal + amount; tx_call := tax_amount;
		RETURN NEXT;
	END IF;

	-- labor, one line per tier slice of the schedule
	IF minutes IS NOT NULL THEN
		FOR l IN SELECT * FROM repairsys.schedule_lines(labor_fee, minutes, 'Labor', 'min') LOOP
			n := n + 1; line_no := n; kind := 'labor'; description := l.description;
			quantity := l.quantity; unit := l.line_unit; unit_price := l.unit_price; amount := l.amount;
			tax_rate := rate_l; tax_amount := round(amount * rate_l, 2);
			labor := labor + amount; subtotal := subtotal + amount; tx_labor := tx_labor + tax_amount;
			RETURN NEXT;
		END LOOP;
		IF factor <> 1 AND labor > 0 THEN
			cx := round(labor * (factor - 1), 2);
			n := n + 1; line_no := n; kind := 'complexity';
			description := pg_catalog.format('Complexity level %s: labor x %s', t.complexity, repairsys.fmt_num(factor));
			quantity := NULL; unit := NULL; unit_price := NULL; amount := cx;
			tax_rate := rate_l; tax_amount := round(amount * rate_l, 2);
			subtotal := subtotal + amount; tx_labor := tx_labor + tax_amount;
			RETURN NEXT;
		END IF;
		IF pct > 0 AND labor + cx > 0 THEN
			sur := round((labor + cx) * pct / 100, 2);
			n := n + 1; line_no := n; kind := 'surcharge';
			description := pg_catalog.format('Urgency "%s": %s%% of labor', t.urgency, repairsys.fmt_num(pct));
			quantity := NULL; unit := NULL; unit_price := NULL; amount := sur;
			tax_rate := rate_l; tax_amount := round(amount * rate_l, 2);
			subtotal := subtotal + amount; tx_labor := tx_labor + tax_amount;
			RETURN NEXT;
		END IF;
	END IF;

	-- travel, one line per tier slice
	IF km IS NOT NULL AND travel_fee IS NOT NULL THEN
		FOR l IN SELECT * FROM repairsys.schedule_lines(travel_fee, km, 'Travel', 'km') LOOP
			n := n + 1; line_no := n; kind := 'travel'; description := l.description;
			quantity := l.quantity; unit := l.line_unit; unit_price := l.unit_price; amount := l.amount;
			tax_rate := rate_l; tax_amount := round(amount * rate_l, 2);
			travel := travel + amount; subtotal := subtotal + amount; tx_travel := tx_travel + tax_amount;
			RETURN NEXT;
		END LOOP;
	END IF;

	-- parts, at the price of when they were reserved
	FOR l IN SELECT tp.sku, p.name, sum(tp.qty) AS qty, tp.unit_price, tp.covered
	           FROM repairsys.ticket_part tp JOIN repairsys.part p ON p.sku = tp.sku
	          WHERE tp.ticket_id = t.id AND (tp.state = 'used' OR (for_estimate AND tp.state = 'reserved'))
	          GROUP BY tp.sku, p.name, tp.unit_price, tp.covered
	          ORDER BY tp.sku, tp.unit_price
	LOOP
		n := n + 1; line_no := n; kind := 'part';
		description := pg_catalog.format('Part %s (%s)', l.name, l.sku);
		quantity := l.qty; unit := 'pcs'; unit_price := l.unit_price; amount := l.qty * l.unit_price;
		tax_rate := rate_p; tax_amount := round(amount * rate_p, 2);
		subtotal := subtotal + amount;
		IF NOT l.covered THEN
			left_p := left_p + amount; left_tp := left_tp + tax_amount;
		END IF;
		RETURN NEXT;
		IF l.covered THEN
			n := n + 1; line_no := n; kind := 'coverage';
			description := pg_catalog.format('Product warranty covers part %s (%s)', l.name, l.sku);
			quantity := NULL; unit := NULL; unit_price := NULL; amount := -(l.qty * l.unit_price);
			tax_rate := rate_p; tax_amount := -tax_amount;	-- exactly the part line's tax
			subtotal := subtotal + amount;
			RETURN NEXT;
		END IF;
	END LOOP;

	-- coverage of the service: product warranty covers it all, a repeat repair its labor
	quantity := NULL; unit := NULL; unit_price := NULL;
	-- (a coverage line takes off exactly the amounts and taxes it covers, so
	-- covered work nets to zero to the cent)
	IF warranty THEN
		FOR l IN SELECT * FROM (VALUES
				(1, 'Product warranty (until ' || pg_catalog.to_char(wdate, 'YYYY-MM-DD') || ') covers labor, complexity and urgency surcharge', labor + cx + sur, tx_labor),
				(2, 'Product warranty covers the call-out fee', callout, tx_call),
				(3, 'Product warranty covers travel', travel, tx_travel)) AS x(o, what, amt, tx)
			WHERE amt > 0 ORDER BY o
		LOOP
			n := n + 1; line_no := n; kind := 'coverage'; description := l.what; amount := -l.amt;
			tax_rate := rate_l; tax_amount := -l.tx;
			subtotal := subtotal + amount;
			RETURN NEXT;
		END LOOP;
	ELSIF rework IS NOT NULL AND labor + cx + sur > 0 THEN
		n := n + 1; line_no := n; kind := 'coverage';
		description := pg_catalog.format('Repeat repair within %s of ticket %s: labor is free',
		                                 coalesce(t.price_rework_window, repairsys.setting_value('rework_window')), rework);
		amount := -(labor + cx + sur);
		tax_rate := rate_l; tax_amount := -tx_labor;
		subtotal := subtotal + amount;
		RETURN NEXT;
	END IF;

	-- discounts, never below zero: a discount takes from the amounts taxed at
	-- the labor rate first, then from the parts; each share is its own line
	-- at its own rate, and the tax it takes off never exceeds the tax left on
	-- that share (so a full waiver nets to exactly 0.00, never below)
	left_l := labor + cx + sur + callout + travel; left_tl := tx_labor + tx_call + tx_travel;
	IF warranty THEN
		left_l := 0; left_tl := 0;
	ELSIF rework IS NOT NULL THEN
		left_l := left_l - (labor + cx + sur); left_tl := left_tl - tx_labor;
	END IF;
	FOR l IN SELECT x.description, x.amount FROM repairsys.ticket_discount x WHERE x.ticket_id = t.id ORDER BY x.id LOOP
		d := l.amount;
		FOR share IN SELECT * FROM (VALUES (1, rate_l), (2, rate_p)) AS v(o, rate) ORDER BY o LOOP
			piece := LEAST(d, CASE share.o WHEN 1 THEN left_l ELSE left_p END);
			CONTINUE WHEN piece <= 0;
			n := n + 1; line_no := n; kind := 'discount';
			description := 'Discount: ' || l.description || CASE WHEN share.o = 2 THEN ' (on parts)' ELSE '' END;
			quantity := NULL; unit := NULL; unit_price := NULL;
			amount := -piece; tax_rate := share.rate;
			IF share.o = 1 THEN
				tax_amount := -LEAST(round(piece * rate_l, 2), left_tl);
				left_l := left_l - piece; left_tl := left_tl + tax_amount;
				IF left_l = 0 THEN tax_amount := tax_amount - left_tl; left_tl := 0; END IF;
			ELSE
				tax_amount := -LEAST(round(piece * rate_p, 2), left_tp);
				left_p := left_p - piece; left_tp := left_tp + tax_amount;
				IF left_p = 0 THEN tax_amount := tax_amount - left_tp; left_tp := 0; END IF;
			END IF;
			d := d - piece;
			RETURN NEXT;
		END LOOP;
	END LOOP;
END
$$;
COMMENT ON FUNCTION repairsys.compute_bill(repairsys.ticket, numeric, numeric, boolean) IS 'Bill lines of a ticket for given labor minutes and travel km: call-out, labor tier slices, complexity, urgency surcharge, travel slices, parts, warranty and rework coverage, discounts; each with its tax';

-- The bill of a ticket: its invoice's lines once issued (frozen), else the
-- lines computed from its recorded work.
CREATE FUNCTION repairsys.bill_lines(t repairsys.ticket,
	OUT line_no integer, OUT kind text, OUT description text, OUT quantity numeric, OUT unit text,
	OUT unit_price numeric, OUT amount numeric, OUT tax_rate numeric, OUT tax_amount numeric)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	inv bigint;
BEGIN
	SELECT i.id INTO inv FROM repairsys.invoice i WHERE i.ticket_id = t.id;
	IF inv IS NOT NULL THEN
		RETURN QUERY SELECT l.line_no, l.kind, l.description, l.quantity::numeric, l.unit, l.unit_price::numeric,
		                    l.amount::numeric, l.tax_rate::numeric, l.tax_amount::numeric
		               FROM repairsys.invoice_line l WHERE l.invoice_id = inv ORDER BY l.line_no;
	ELSE
		RETURN QUERY SELECT * FROM repairsys.compute_bill(t, t.labor_minutes, t.travel_km, false);
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.bill_lines(repairsys.ticket) IS 'The bill lines of a ticket: its issued invoice''s frozen lines, else computed from its recorded work';

CREATE VIEW repairsys.bill_detail AS
SELECT t.id AS ticket_id, b.line_no, b.kind, b.description, b.quantity, b.unit, b.unit_price,
       b.amount, b.tax_rate, b.tax_amount
  FROM repairsys.ticket t
 CROSS JOIN LATERAL repairsys.bill_lines(t) b;
COMMENT ON VIEW repairsys.bill_detail IS 'Itemized bill of every ticket, one row per line; the lines of a ticket sum exactly to bill_summary.total';
COMMENT ON COLUMN repairsys.bill_detail.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.bill_detail.line_no IS 'Line number, from 1';
COMMENT ON COLUMN repairsys.bill_detail.kind IS 'callout, labor, complexity, surcharge, travel, part, coverage or discount';
COMMENT ON COLUMN repairsys.bill_detail.description IS 'What the line charges for, in words a customer can check';
COMMENT ON COLUMN repairsys.bill_detail.quantity IS 'Quantity (minutes, km, pieces, visits); NULL for adjustments';
COMMENT ON COLUMN repairsys.bill_detail.unit IS 'Unit of the quantity: min, km, pcs, visit';
COMMENT ON COLUMN repairsys.bill_detail.unit_price IS 'Price per unit';
COMMENT ON COLUMN repairsys.bill_detail.amount IS 'Amount before tax (negative for coverage and discounts)';
COMMENT ON COLUMN repairsys.bill_detail.tax_rate IS 'Tax rate of the line (fraction)';
COMMENT ON COLUMN repairsys.bill_detail.tax_amount IS 'Tax of the line, rounded to cents half away from zero';

CREATE VIEW repairsys.bill_summary AS
SELECT t.id AS ticket_id,
       coalesce(s.labor, 0.00) AS labor,
       coalesce(s.parts, 0.00) AS parts,
       coalesce(s.travel, 0.00) AS travel,
       coalesce(s.surcharges, 0.00) AS surcharges,
       coalesce(s.coverage, 0.00) AS coverage,
       coalesce(s.discounts, 0.00) AS discounts,
       coalesce(s.subtotal, 0.00) AS subtotal,
       coalesce(s.tax, 0.00) AS tax,
       coalesce(s.subtotal, 0.00) + coalesce(s.tax, 0.00) AS total,
       coalesce(p.paid, 0.00) AS paid,
       coalesce(s.subtotal, 0.00) + coalesce(s.tax, 0.00) - coalesce(p.paid, 0.00) AS balance,
       coalesce(i.currency, repairsys.setting_value('currency')) AS currency,
       i.invoice_no,
       i.issued_at AS invoiced_at
  FROM repairsys.ticket t
  LEFT JOIN LATERAL (
	SELECT sum(b.amount) FILTER (WHERE b.kind IN ('labor', 'complexity')) AS labor,
	       sum(b.amount) FILTER (WHERE b.kind = 'part') AS parts,
	       sum(b.amount) FILTER (WHERE b.kind = 'travel') AS travel,
	       sum(b.amount) FILTER (WHERE b.kind IN ('surcharge', 'callout')) AS surcharges,
	       sum(b.amount) FILTER (WHERE b.kind = 'coverage') AS coverage,
	       sum(b.amount) FILTER (WHERE b.kind = 'discount') AS discounts,
	       sum(b.amount) AS subtotal,
	       sum(b.tax_amount) AS tax
	  FROM repairsys.bill_lines(t) b) s ON true
  LEFT JOIN repairsys.invoice i ON i.ticket_id = t.id
  LEFT JOIN LATERAL (SELECT sum(x.amount) AS paid FROM repairsys.payment x WHERE x.invoice_id = i.id) p ON true;
COMMENT ON VIEW repairsys.bill_summary IS 'Bill of every ticket in one row: parts of the total, tax, paid and balance';
COMMENT ON COLUMN repairsys.bill_summary.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.bill_summary.labor IS 'Labor lines and the complexity adjustment';
COMMENT ON COLUMN repairsys.bill_summary.parts IS 'Part lines';
COMMENT ON COLUMN repairsys.bill_summary.travel IS 'Travel lines';
COMMENT ON COLUMN repairsys.bill_summary.surcharges IS 'Call-out fee and urgency surcharge';
COMMENT ON COLUMN repairsys.bill_summary.coverage IS 'Warranty and repeat-repair coverage (negative)';
COMMENT ON COLUMN repairsys.bill_summary.discounts IS 'Discounts (negative)';
COMMENT ON COLUMN repairsys.bill_summary.subtotal IS 'Sum of the line amounts before tax';
COMMENT ON COLUMN repairsys.bill_summary.tax IS 'Sum of the line taxes';
COMMENT ON COLUMN repairsys.bill_summary.total IS 'subtotal + tax: what the customer owes';
COMMENT ON COLUMN repairsys.bill_summary.paid IS 'Payments recorded against the invoice';
COMMENT ON COLUMN repairsys.bill_summary.balance IS 'total - paid';
COMMENT ON COLUMN repairsys.bill_summary.currency IS 'Currency of the amounts';
COMMENT ON COLUMN repairsys.bill_summary.invoice_no IS 'Number of the issued invoice (NULL: not issued)';
COMMENT ON COLUMN repairsys.bill_summary.invoiced_at IS 'When the invoice was issued';

------------------------------------------------------------------------------
-- Estimate and approval
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.ticket_row(ticket_id bigint, lock boolean DEFAULT false)
RETURNS repairsys.ticket
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t repairsys.ticket;
BEGIN
	IF lock THEN
		SELECT * INTO t FROM repairsys.ticket x WHERE x.id = ticket_row.ticket_id FOR UPDATE;
	ELSE
		SELECT * INTO t FROM repairsys.ticket x WHERE x.id = ticket_row.ticket_id;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', ticket_id USING ERRCODE = '22023';
	END IF;
	RETURN t;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_row(bigint, boolean) IS 'The row of a ticket, optionally locked; unknown ticket: 22023';

-- Travel distance of an estimate: what was recorded, else the great circle
-- from the service center to the repair location.
CREATE FUNCTION repairsys.estimate_km(t repairsys.ticket)
RETURNS numeric
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	RETURN coalesce(t.travel_km,
	                (SELECT round(repairsys.haversine_km(c.lat, c.lon, t.lat, t.lon)::numeric, 1)
	                   FROM repairsys.service_center c WHERE c.id = t.service_center_id));
END
$$;
COMMENT ON FUNCTION repairsys.estimate_km(repairsys.ticket) IS 'Travel km of an estimate: the recorded km, else the great-circle distance from the service center to the ticket''s location rounded to 0.1 km';

CREATE FUNCTION repairsys.estimate(ticket_id bigint)
RETURNS TABLE (scenario text, line_no integer, kind text, description text, quantity numeric, unit text,
               unit_price numeric, amount numeric, tax_rate numeric, tax_amount numeric, scenario_total numeric)
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t  repairsys.ticket;
	st repairsys.service_type;
BEGIN
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = estimate.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', estimate.ticket_id USING ERRCODE = '22023';
	END IF;
	SELECT * INTO st FROM repairsys.service_type s WHERE s.code = t.service_type;
	RETURN QUERY
	SELECT s.scenario, b.line_no, b.kind, b.description, b.quantity, b.unit, b.unit_price, b.amount, b.tax_rate, b.tax_amount,
	       sum(b.amount + b.tax_amount) OVER (PARTITION BY s.scenario)
	  FROM (VALUES (1, 'low', coalesce(st.est_minutes_low, st.est_minutes_high, 0)),
	               (2, 'high', coalesce(st.est_minutes_high, st.est_minutes_low, 0))) AS s(o, scenario, minutes)
	 CROSS JOIN LATERAL repairsys.compute_bill(t, s.minutes, repairsys.estimate_km(t), true) b
	 ORDER BY s.o, b.line_no;
END
$$;
COMMENT ON FUNCTION repairsys.estimate(bigint) IS 'Estimate of a ticket before work (预估费用): the lines and total of a low and a high scenario, from the service type''s estimated minutes, complexity, urgency, travel, call-out, reserved parts and warranty';

-- BEFORE UPDATE on ticket: approving the estimate (estimate_approved_at set
-- for the first time, by approve_estimate() or a plain UPDATE) snapshots every
-- price input; the snapshot is never changed afterwards.
CREATE FUNCTION repairsys.ticket_price_snapshot_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	st repairsys.service_type;
BEGIN
	IF OLD.estimate_approved_at IS NOT NULL AND NEW.estimate_approved_at IS DISTINCT FROM OLD.estimate_approved_at THEN
		RAISE EXCEPTION 'the estimate of ticket % was already approved', OLD.id
			USING ERRCODE = '23514', DETAIL = 'An approval is never changed or withdrawn.';
	END IF;
	IF OLD.estimate_approved_at IS NULL AND NEW.estimate_approved_at IS NOT NULL THEN
		SELECT * INTO st FROM repairsys.service_type s WHERE s.code = NEW.service_type;
		NEW.price_labor_fee := st.labor_fee;
		NEW.price_travel_fee := st.travel_fee;
		NEW.price_callout_fee := st.callout_fee;
		NEW.price_complexity_factor := (SELECT c.factor FROM repairsys.complexity_rule c WHERE c.level = NEW.complexity);
		NEW.price_surcharge_pct := (SELECT u.surcharge_pct FROM repairsys.urgency_rule u WHERE u.urgency = NEW.urgency);
		NEW.price_tax_rate_labor := repairsys.setting_value('tax_rate_labor')::numeric;
		NEW.price_tax_rate_parts := repairsys.setting_value('tax_rate_parts')::numeric;
		NEW.price_rework_window := repairsys.setting_value('rework_window');
		SELECT sum(b.amount + b.tax_amount) INTO NEW.approved_estimate_low
		  FROM repairsys.compute_bill(NEW, coalesce(st.est_minutes_low, st.est_minutes_high, 0), repairsys.estimate_km(NEW), true) b;
		SELECT sum(b.amount + b.tax_amount) INTO NEW.approved_estimate_high
		  FROM repairsys.compute_bill(NEW, coalesce(st.est_minutes_high, st.est_minutes_low, 0), repairsys.estimate_km(NEW), true) b;
		NEW.approved_estimate_low := coalesce(NEW.approved_estimate_low, 0);
		NEW.approved_estimate_high := coalesce(NEW.approved_estimate_high, 0);
	ELSIF (NEW.price_labor_fee, NEW.price_travel_fee, NEW.price_callout_fee, NEW.price_complexity_factor, NEW.price_surcharge_pct,
	       NEW.price_tax_rate_labor, NEW.price_tax_rate_parts, NEW.price_rework_window, NEW.approved_estimate_low, NEW.approved_estimate_high)
	      IS DISTINCT FROM
	      (OLD.price_labor_fee, OLD.price_travel_fee, OLD.price_callout_fee, OLD.price_complexity_factor, OLD.price_surcharge_pct,
	       OLD.price_tax_rate_labor, OLD.price_tax_rate_parts, OLD.price_rework_window, OLD.approved_estimate_low, OLD.approved_estimate_high) THEN
		RAISE EXCEPTION 'the price snapshot of ticket % is set by repairsys when the estimate is approved', OLD.id
			USING ERRCODE = '428C9';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_price_snapshot_trg() IS 'BEFORE UPDATE trigger of ticket: snapshots the price inputs and the estimate totals when the estimate is approved; refuses changes of the snapshot (428C9) and of an approval (23514)';
-- Fires only when the approval or a snapshot column is a target of the UPDATE
-- (no earlier BEFORE trigger sets them), so the ordinary status changes of
-- the life cycle do not pay for it.
CREATE TRIGGER ticket_15_price_snapshot
	BEFORE UPDATE OF estimate_approved_at, price_labor_fee, price_travel_fee, price_callout_fee,
	                 price_complexity_factor, price_surcharge_pct, price_tax_rate_labor, price_tax_rate_parts,
	                 price_rework_window, approved_estimate_low, approved_estimate_high
	ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_price_snapshot_trg();

CREATE FUNCTION repairsys.approve_estimate(ticket_id bigint, OUT low_total numeric, OUT high_total numeric)
RETURNS record
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t repairsys.ticket := repairsys.ticket_row(ticket_id, true);
BEGIN
	IF t.estimate_approved_at IS NOT NULL THEN
		RAISE EXCEPTION 'the estimate of ticket % was already approved', t.id
			USING ERRCODE = '23514', DETAIL = 'An approval is never changed or withdrawn.';
	END IF;
	IF (SELECT s.is_terminal FROM repairsys.ticket_status s WHERE s.code = t.status) OR t.status = 'resolved' THEN
		RAISE EXCEPTION 'cannot approve the estimate of ticket % in status "%"', t.id, t.status USING ERRCODE = '23514';
	END IF;
	UPDATE repairsys.ticket x SET estimate_approved_at = pg_catalog.now() WHERE x.id = t.id
	RETURNING x.approved_estimate_low, x.approved_estimate_high INTO low_total, high_total;
END
$$;
COMMENT ON FUNCTION repairsys.approve_estimate(bigint) IS 'Records the customer''s approval of the estimate and snapshots every price input onto the ticket, so later price-list changes never change its bill; returns the approved low and high totals';

------------------------------------------------------------------------------
-- Invoices, payments, installments
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.issue_invoice(ticket_id bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t     repairsys.ticket := repairsys.ticket_row(ticket_id, true);
	inv   repairsys.invoice;
BEGIN
	SELECT * INTO inv FROM repairsys.invoice i WHERE i.ticket_id = t.id;
	IF FOUND THEN
		RAISE EXCEPTION 'ticket % already has invoice %', t.id, inv.invoice_no
			USING ERRCODE = '23514', DETAIL = 'An issued invoice never changes; issue a credit note outside repairsys to correct it.';
	END IF;
	IF t.status <> 'resolved' THEN
		RAISE EXCEPTION 'cannot invoice ticket % in status "%"', t.id, t.status
			USING ERRCODE = '23514', DETAIL = 'A ticket is invoiced once it is resolved.';
	END IF;
	-- the lines computed once; the invoice and its lines written together
	WITH lines AS (
		SELECT * FROM repairsys.compute_bill(t, t.labor_minutes, t.travel_km, false)
	), head AS (
		INSERT INTO repairsys.invoice (ticket_id, total, currency)
		SELECT t.id, coalesce((SELECT sum(l.amount + l.tax_amount) FROM lines l), 0), repairsys.setting_value('currency')
		RETURNING *
	), body AS (
		INSERT INTO repairsys.invoice_line (invoice_id, line_no, kind, description, quantity, unit, unit_price, amount, tax_rate, tax_amount)
		SELECT h.id, l.line_no, l.kind, l.description, l.quantity, l.unit, l.unit_price, l.amount, l.tax_rate, l.tax_amount
		  FROM lines l CROSS JOIN head h
	)
	SELECT * INTO inv FROM head;
	RETURN inv.id;
END
$$;
COMMENT ON FUNCTION repairsys.issue_invoice(bigint) IS 'Freezes the bill of a resolved ticket into invoice and invoice_line (numbered INV-<8-digit invoice id>); one invoice per ticket; returns the invoice id';

-- The row of an invoice, after taking the lock that serializes the money
-- written against it (payments, installment plans).  An advisory lock: the
-- append-only invoice row cannot be locked FOR UPDATE by roles without UPDATE.
-- Unknown invoice: 22023.
--
-- The lock serializes, but at REPEATABLE READ whatever the caller reads after
-- it comes from the transaction's snapshot, taken before the lock was
-- granted: a payment or a plan committed meanwhile would be missed (two
-- payments could together exceed the total, two plans be written).  READ
-- COMMITTED reads afresh after the lock; SERIALIZABLE aborts one of two such
-- transactions (40001).  So every writer of money refuses REPEATABLE READ
-- here, in the one place they all go through: 25000.
CREATE FUNCTION repairsys.lock_invoice(invoice_id bigint)
RETURNS repairsys.invoice
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	inv repairsys.invoice;
BEGIN
	IF pg_catalog.current_setting('transaction_isolation') = 'repeatable read' THEN
		RAISE EXCEPTION 'money cannot be written against an invoice at isolation level REPEATABLE READ'
			USING ERRCODE = '25000',
			      DETAIL = 'The transaction''s snapshot predates the invoice lock: it could miss a payment or an installment plan committed concurrently.',
			      HINT = 'Run it at READ COMMITTED or SERIALIZABLE.';
	END IF;
	PERFORM pg_catalog.pg_advisory_xact_lock(1381186899, pg_catalog.hashint8(lock_invoice.invoice_id));
	SELECT * INTO inv FROM repairsys.invoice i WHERE i.id = lock_invoice.invoice_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', lock_invoice.invoice_id USING ERRCODE = '22023';
	END IF;
	RETURN inv;
END
$$;
COMMENT ON FUNCTION repairsys.lock_invoice(bigint) IS 'Locks an invoice for the money written against it (transaction-level advisory lock) and returns its row; unknown invoice: 22023; at REPEATABLE READ: 25000';

CREATE FUNCTION repairsys.record_payment(invoice_id bigint, method text, amount numeric, idempotency_key text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	inv  repairsys.invoice;
	prev repairsys.payment;
	paid numeric;
	id   bigint;
BEGIN
	IF method IS NULL OR method NOT IN ('wechat', 'alipay', 'card', 'bank_transfer', 'cash') THEN
		RAISE EXCEPTION 'invalid payment method "%"', method
			USING ERRCODE = '22023', HINT = 'The methods are wechat, alipay, card, bank_transfer and cash.';
	END IF;
	IF amount IS NULL OR amount <= 0 OR amount <> round(amount, 2) THEN
		RAISE EXCEPTION 'payment amount must be positive with at most 2 decimals' USING ERRCODE = '22023';
	END IF;
	IF idempotency_key IS NULL OR idempotency_key = '' THEN
		RAISE EXCEPTION 'a payment needs an idempotency key' USING ERRCODE = '22023';
	END IF;
	-- payments of one invoice, one at a time (refused at REPEATABLE READ)
	inv := repairsys.lock_invoice(record_payment.invoice_id);
	-- a retry: the same key returns the payment it recorded
	SELECT * INTO prev FROM repairsys.payment p WHERE p.idempotency_key = record_payment.idempotency_key;
	IF FOUND THEN
		IF prev.invoice_id = inv.id AND prev.method = record_payment.method AND prev.amount = record_payment.amount THEN
			RETURN prev.id;
		END IF;
		RAISE EXCEPTION 'idempotency key "%" was already used for another payment', idempotency_key
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Payment %s: invoice %s, %s %s.', prev.id, prev.invoice_id, prev.amount, prev.method);
	END IF;
	SELECT coalesce(sum(p.amount), 0) INTO paid FROM repairsys.payment p WHERE p.invoice_id = inv.id;
	IF paid + amount > inv.total THEN
		RAISE EXCEPTION 'payment of % would exceed the balance of invoice %', amount, inv.invoice_no
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Total %s, paid %s, balance %s.', inv.total, paid, inv.total - paid);
	END IF;
	BEGIN
		INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key)
		VALUES (inv.id, method, amount, idempotency_key)
		RETURNING payment.id INTO id;
	EXCEPTION WHEN unique_violation THEN
		-- the same key committed meanwhile (by a payment of another invoice:
		-- those of this one wait for the lock above): the winner's id when it
		-- is this very payment, else the key's misuse
		SELECT * INTO prev FROM repairsys.payment p WHERE p.idempotency_key = record_payment.idempotency_key;
		IF FOUND AND prev.invoice_id = inv.id AND prev.method = record_payment.method AND prev.amount = record_payment.amount THEN
			RETURN prev.id;
		END IF;
		RAISE EXCEPTION 'idempotency key "%" was already used for another payment', idempotency_key USING ERRCODE = '23514';
	END;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.record_payment(bigint, text, numeric, text) IS 'Records a payment (wechat, alipay, card, bank_transfer, cash) idempotently on its key: a retry returns the first payment''s id; refuses overpayment (23514); returns the payment id';

CREATE FUNCTION repairsys.plan_installments(invoice_id bigint, n integer, first_due date, every interval DEFAULT interval '1 month')
RETURNS SETOF repairsys.installment
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	inv     repairsys.invoice;
	balance numeric;
	cents   bigint;
	each    bigint;
BEGIN
	IF n IS NULL OR n < 1 OR n > 120 THEN
		RAISE EXCEPTION 'number of installments must be between 1 and 120' USING ERRCODE = '22023';
	END IF;
	IF first_due IS NULL OR every IS NULL OR every <= interval '0' THEN
		RAISE EXCEPTION 'installments need a first due date and a positive interval' USING ERRCODE = '22023';
	END IF;
	inv := repairsys.lock_invoice(plan_installments.invoice_id);
	balance := inv.total - (SELECT coalesce(sum(p.amount), 0) FROM repairsys.payment p WHERE p.invoice_id = inv.id);
	cents := (balance * 100)::bigint;
	IF cents < n THEN
		RAISE EXCEPTION 'a balance of % cannot be split into % installments', balance, n USING ERRCODE = '23514';
	END IF;
	IF EXISTS (SELECT 1 FROM repairsys.installment x WHERE x.invoice_id = inv.id) THEN
		RAISE EXCEPTION 'invoice % already has an installment plan', inv.invoice_no USING ERRCODE = '23514';
	END IF;
	each := cents / n;	-- the cents left over go to the first installment
	RETURN QUERY
	INSERT INTO repairsys.installment (invoice_id, seq, due_on, amount)
	SELECT inv.id, k, (first_due + (k - 1) * every)::date,
	       (CASE WHEN k = 1 THEN each + cents - each * n ELSE each END)::numeric / 100
	  FROM pg_catalog.generate_series(1, n) AS k
	RETURNING *;
END
$$;
COMMENT ON FUNCTION repairsys.plan_installments(bigint, integer, date, interval) IS 'Splits the balance of an invoice into n installments that sum exactly to it (the leftover cents go to the first); one plan per invoice';

------------------------------------------------------------------------------
-- Audit
------------------------------------------------------------------------------
CREATE VIEW repairsys.billing_audit AS
SELECT i.ticket_id, 'invoice total differs from its lines' AS problem,
       pg_catalog.format('Invoice %s: total %s, lines %s.', i.invoice_no, i.total, coalesce(l.s, 0)) AS detail
  FROM repairsys.invoice i
  LEFT JOIN LATERAL (SELECT sum(x.amount + x.tax_amount) AS s FROM repairsys.invoice_line x WHERE x.invoice_id = i.id) l ON true
 WHERE i.total <> coalesce(l.s, 0)
UNION ALL
SELECT t.id, 'bill changed after approval',
       CASE WHEN t.price_labor_fee IS NULL
            THEN 'The estimate is marked approved but no prices were snapshotted (approved without repairsys.approve_estimate).'
            ELSE pg_catalog.format('Invoice %s: total %s, but the approved prices and the recorded work give %s.',
                                   i.invoice_no, i.total, c.total) END
  FROM repairsys.ticket t
  LEFT JOIN repairsys.invoice i ON i.ticket_id = t.id
  LEFT JOIN LATERAL (SELECT sum(b.amount + b.tax_amount) AS total
                       FROM repairsys.compute_bill(t, t.labor_minutes, t.travel_km, false) b
                      WHERE i.id IS NOT NULL AND t.price_labor_fee IS NOT NULL) c ON true
 WHERE t.estimate_approved_at IS NOT NULL
   AND (t.price_labor_fee IS NULL OR (i.id IS NOT NULL AND i.total <> coalesce(c.total, 0)))
UNION ALL
SELECT i.ticket_id, 'payments exceed the invoice total',
       pg_catalog.format('Invoice %s: total %s, paid %s.', i.invoice_no, i.total, p.s)
  FROM repairsys.invoice i
  JOIN LATERAL (SELECT sum(x.amount) AS s FROM repairsys.payment x WHERE x.invoice_id = i.id) p ON true
 WHERE p.s > i.total
UNION ALL
SELECT t.id, 'closed with a balance',
       pg_catalog.format('Total %s, paid %s.', b.total, b.paid)
  FROM repairsys.ticket t
  JOIN repairsys.bill_summary b ON b.ticket_id = t.id
 WHERE t.status = 'closed' AND b.balance > 0
UNION ALL
SELECT tp.ticket_id, 'parts used but neither billed nor covered',
       pg_catalog.format('%s x %s used at a unit price of %s%s.', tp.qty, tp.sku, tp.unit_price,
                         CASE WHEN i.id IS NOT NULL THEN ', missing from invoice ' || i.invoice_no ELSE '' END)
  FROM repairsys.ticket_part tp
  LEFT JOIN repairsys.invoice i ON i.ticket_id = tp.ticket_id
 WHERE tp.state = 'used' AND NOT tp.covered
   AND (tp.unit_price = 0
        OR (i.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM repairsys.invoice_line l
                                              WHERE l.invoice_id = i.id AND l.kind = 'part' AND l.description LIKE '%(' || tp.sku || ')')))
UNION ALL
SELECT t.id, 'labor billed without work recorded',
       pg_catalog.format('Labor lines of %s, but the ticket records %s minutes.', l.s, coalesce(t.labor_minutes, 0))
  FROM repairsys.ticket t
  JOIN repairsys.invoice i ON i.ticket_id = t.id
  JOIN LATERAL (SELECT sum(x.amount) AS s FROM repairsys.invoice_line x WHERE x.invoice_id = i.id AND x.kind = 'labor') l ON true
 WHERE l.s > 0 AND coalesce(t.labor_minutes, 0) = 0;
COMMENT ON VIEW repairsys.billing_audit IS 'One row per billing problem found; empty on a healthy database';
COMMENT ON COLUMN repairsys.billing_audit.ticket_id IS 'Ticket concerned';
COMMENT ON COLUMN repairsys.billing_audit.problem IS 'invoice total differs from its lines, bill changed after approval, payments exceed the invoice total, closed with a balance, parts used but neither billed nor covered, labor billed without work recorded';
COMMENT ON COLUMN repairsys.billing_audit.detail IS 'The figures behind the finding';

------------------------------------------------------------------------------
-- The customer's bill as a page
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.html_escape(s text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT replace(replace(replace(replace(replace(coalesce(s, ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;');
END;
COMMENT ON FUNCTION repairsys.html_escape(text) IS 'Text escaped for HTML';

CREATE FUNCTION repairsys.bill_html(ticket_id bigint)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t    repairsys.ticket;
	c    repairsys.customer;
	s    repairsys.bill_summary;
	st   repairsys.service_type;
	html text;
	rows text;
	pays text;
	est  text;
BEGIN
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = bill_html.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', bill_html.ticket_id USING ERRCODE = '22023';
	END IF;
	SELECT * INTO c FROM repairsys.customer x WHERE x.id = t.customer_id;
	SELECT * INTO st FROM repairsys.service_type x WHERE x.code = t.service_type;
	SELECT * INTO s FROM repairsys.bill_summary x WHERE x.ticket_id = t.id;
	SELECT string_agg(format('<tr class="%s"><td>%s</td><td>%s</td><td class="n">%s</td><td>%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s%%</td><td class="n">%s</td></tr>',
	                         html_escape(b.kind), b.line_no, html_escape(b.description), coalesce(fmt_num(b.quantity), ''),
	                         html_escape(b.unit), coalesce(fmt_price(b.unit_price), ''), b.amount,
	                         fmt_num(b.tax_rate * 100), b.tax_amount), E'\n' ORDER BY b.line_no)
	  INTO rows FROM repairsys.bill_lines(t) b;
	SELECT string_agg(format('<tr><td>%s</td><td>%s</td><td class="n">%s</td></tr>',
	                         to_char(p.paid_at, 'YYYY-MM-DD HH24:MI'), html_escape(p.method), p.amount), E'\n' ORDER BY p.paid_at, p.id)
	  INTO pays FROM repairsys.payment p JOIN repairsys.invoice i ON i.id = p.invoice_id WHERE i.ticket_id = t.id;
	est := CASE WHEN t.estimate_approved_at IS NULL THEN '<p>No estimate was approved (warranty work needs none).</p>'
	            ELSE format('<p>Estimate approved on %s: between <b>%s</b> and <b>%s</b> %s, tax included.</p>',
	                        to_char(t.estimate_approved_at, 'YYYY-MM-DD HH24:MI'), t.approved_estimate_low,
	                        t.approved_estimate_high, html_escape(s.currency)) END;
	html := format($html$<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bill for ticket %s</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; background: #fff; }
h1 { font-size: 1.5em; border-bottom: 3px solid #1565c0; padding-bottom: .3em; }
table { border-collapse: collapse; width: 100%%; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: .35em .6em; text-align: left; }
th { background: #e3f2fd; }
td.n { text-align: right; white-space: nowrap; }
tr.coverage td, tr.discount td { color: #2e7d32; }
.total { font-size: 1.3em; font-weight: bold; }
.balance { font-size: 1.2em; color: #b71c1c; }
</style></head><body>
<h1>Bill for ticket %s</h1>
<p>Customer: %s. Service: %s. Status: %s. %s</p>
%s
<h2>Lines</h2>
<table><thead><tr><th>#</th><th>What</th><th>Quantity</th><th>Unit</th><th>Unit price</th><th>Amount</th><th>Tax rate</th><th>Tax</th></tr></thead>
<tbody>
%s
</tbody></table>
<table>
<tr><td>Labor</td><td class="n">%s</td></tr><tr><td>Parts</td><td class="n">%s</td></tr>
<tr><td>Travel</td><td class="n">%s</td></tr><tr><td>Call-out and surcharges</td><td class="n">%s</td></tr>
<tr><td>Warranty and repeat-repair coverage</td><td class="n">%s</td></tr><tr><td>Discounts</td><td class="n">%s</td></tr>
<tr><td>Subtotal</td><td class="n">%s</td></tr><tr><td>Tax</td><td class="n">%s</td></tr>
<tr class="total"><td>Total</td><td class="n" id="total">%s %s</td></tr>
</table>
<h2>Payments</h2>
<table><thead><tr><th>When</th><th>Method</th><th>Amount</th></tr></thead><tbody>
%s
</tbody></table>
<p class="balance">Balance due: %s %s</p>
</body></html>
$html$,
		t.id, t.id, html_escape(c.name), html_escape(st.name), html_escape(t.status),
		CASE WHEN s.invoice_no IS NOT NULL THEN 'Invoice ' || html_escape(s.invoice_no) || '.' ELSE 'Not invoiced yet.' END,
		est, coalesce(rows, '<tr><td colspan="8">No charge so far.</td></tr>'),
		s.labor, s.parts, s.travel, s.surcharges, s.coverage, s.discounts, s.subtotal, s.tax,
		s.total, html_escape(s.currency),
		coalesce(pays, '<tr><td colspan="3">None yet.</td></tr>'), s.balance, html_escape(s.currency));
	RETURN html;
END
$$;
COMMENT ON FUNCTION repairsys.bill_html(bigint) IS 'The bill of a ticket as a complete, self-contained HTML page for the customer: approved estimate, every line with its explanation, taxes, payments and balance';
-- Automatic technician assignment (DESIGN.md section 7, docs/assignment.md).
--
-- The C kernel (src/scoring.c) scores technicians; src/assign.c solves whole
-- backlogs exactly.  The functions here read the tables, lock rows in a fixed
-- order (ticket, then technician) and write the assignments through plain
-- UPDATEs, so the life-cycle trigger checks every one of them.

------------------------------------------------------------------------------
-- C kernel
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.haversine_km(lat1 double precision, lon1 double precision,
                                       lat2 double precision, lon2 double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'rs_haversine_km_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.haversine_km(double precision, double precision, double precision, double precision) IS
	'Great-circle distance in km between two points in degrees (haversine, earth radius 6371.0088 km); coordinates out of range: error 22023';

CREATE FUNCTION repairsys.score_candidates(
	policy repairsys.assign_policy,
	ticket_lat double precision, ticket_lon double precision, ticket_center bigint,
	required_skill text, min_level integer, continuity bigint[],
	tech_id bigint[], tech_active boolean[], tech_center bigint[],
	tech_lat double precision[], tech_lon double precision[],
	tech_capacity integer[], tech_open integer[], tech_rating double precision[],
	tech_level integer[])
RETURNS TABLE (technician_id bigint, eligible boolean, reason text, score double precision,
               skill_score double precision, distance_km double precision,
               distance_score double precision, load double precision, load_score double precision,
               rating_score double precision, continuity_score double precision,
               open_tickets integer, capacity integer)
AS 'MODULE_PATHNAME', 'rs_score_candidates'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.score_candidates(repairsys.assign_policy, double precision, double precision, bigint, text, integer, bigint[], bigint[], boolean[], bigint[], double precision[], double precision[], integer[], integer[], double precision[], integer[]) IS
	'Internal kernel of repairsys.candidates(): scores technicians given as parallel arrays for one ticket under a policy; rows best first';

CREATE FUNCTION repairsys.assignment_solve(scores double precision[], capacities integer[])
RETURNS integer[]
AS 'MODULE_PATHNAME', 'rs_assignment_solve'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.assignment_solve(double precision[], integer[]) IS
	'Exact capacitated assignment: scores[ticket][technician] (NULL: not allowed), rows in priority order; serves the tickets a priority-ordered greedy over the matroid of servable sets picks, with the maximal total score; returns each row''s 1-based column or NULL';

CREATE FUNCTION repairsys.solve_pending(
	policy repairsys.assign_policy,
	t_id bigint[], t_lat double precision[], t_lon double precision[], t_center bigint[],
	t_skill integer[], t_min_level integer[], t_cont_customer bigint[], t_cont_asset bigint[],
	tech_id bigint[], tech_active boolean[], tech_center bigint[],
	tech_lat double precision[], tech_lon double precision[],
	tech_capacity integer[], tech_open integer[], tech_rating double precision[],
	levels integer[])
RETURNS TABLE (ticket_id bigint, technician_id bigint, score double precision)
AS 'MODULE_PATHNAME', 'rs_solve_pending'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.solve_pending(repairsys.assign_policy, bigint[], double precision[], double precision[], bigint[], integer[], integer[], bigint[], bigint[], bigint[], boolean[], bigint[], double precision[], double precision[], integer[], integer[], double precision[], integer[]) IS
	'Internal kernel of repairsys.auto_assign_pending(): scores every ticket-technician pair and solves the batch exactly (tickets given in priority order)';

------------------------------------------------------------------------------
-- Readers
------------------------------------------------------------------------------
-- The policy row of that name; unknown name: 22023.
CREATE FUNCTION repairsys.assign_policy_row(policy text)
RETURNS repairsys.assign_policy
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	p repairsys.assign_policy;
BEGIN
	SELECT * INTO p FROM repairsys.assign_policy x WHERE x.name = assign_policy_row.policy;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'assignment policy "%" does not exist', policy
			USING ERRCODE = '22023',
			      HINT = (SELECT pg_catalog.format('Known policies: %s.', pg_catalog.string_agg(pg_catalog.format('"%s"', x.name), ', ' ORDER BY x.name))
			                FROM repairsys.assign_policy x);
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION repairsys.assign_policy_row(text) IS 'The repairsys.assign_policy row of that name; unknown name: error 22023';

-- The technicians who last served the ticket's customer and its asset: the
-- technician of the latest other ticket of that customer (asset) that has
-- one and was not cancelled (still open, or resolved).
CREATE FUNCTION repairsys.continuity_technicians(t repairsys.ticket)
RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT ARRAY[
		(SELECT x.technician_id FROM repairsys.ticket x
		  WHERE x.customer_id = t.customer_id AND x.id <> t.id AND x.technician_id IS NOT NULL
		    AND (x.closed_at IS NULL OR x.resolved_at IS NOT NULL)
		  ORDER BY x.opened_at DESC, x.id DESC LIMIT 1),
		(SELECT x.technician_id FROM repairsys.ticket x
		  WHERE x.asset_id = t.asset_id AND x.id <> t.id AND x.technician_id IS NOT NULL
		    AND (x.closed_at IS NULL OR x.resolved_at IS NOT NULL)
		  ORDER BY x.opened_at DESC, x.id DESC LIMIT 1)];
END;
COMMENT ON FUNCTION repairsys.continuity_technicians(repairsys.ticket) IS
	'Technicians who last served the ticket''s customer and its asset (array of two, NULL where none): the continuity objective of assignment';

-- Number of open tickets (non-terminal status) of a technician, the given
-- ticket left out.
CREATE FUNCTION repairsys.open_ticket_count(technician_id bigint, except_ticket bigint DEFAULT NULL)
RETURNS integer
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT pg_catalog.count(*)::integer
	  FROM repairsys.ticket x
	 WHERE x.technician_id = open_ticket_count.technician_id
	   AND x.id IS DISTINCT FROM open_ticket_count.except_ticket
	   AND x.status IN (SELECT s.code FROM repairsys.ticket_status s WHERE NOT s.is_terminal);
END;
COMMENT ON FUNCTION repairsys.open_ticket_count(bigint, bigint) IS
	'Open tickets (in a non-terminal status) of a technician, leaving one ticket out; the load of assignment';

------------------------------------------------------------------------------
-- Each technician's load and rating, kept by trigger
------------------------------------------------------------------------------
-- Scoring reads, for every technician, how many open tickets he has and his
-- mean feedback rating.  Counting them over the whole ticket and feedback
-- history for each call cost most of candidates()' time, so they are kept
-- here, as repairsys.stock keeps the ledger's sums: derived data, changed by
-- the triggers below in the transaction that changes a ticket or a feedback,
-- not dumped (a restore rebuilds it as tickets and feedback are loaded), and
-- checked against a recount by repairsys.check_invariants().
--
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

-- Adds to a technician's load (creating his row).
CREATE FUNCTION repairsys.technician_load_add(technician_id bigint, open_tickets integer, rating_count integer, rating_sum bigint)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	INSERT INTO repairsys.technician_load AS l (technician_id, open_tickets, rating_count, rating_sum)
	VALUES (technician_load_add.technician_id, technician_load_add.open_tickets, technician_load_add.rating_count,
	        technician_load_add.rating_sum)
	ON CONFLICT (technician_id) DO UPDATE
	   SET open_tickets = l.open_tickets + excluded.open_tickets,
	       rating_count = l.rating_count + excluded.rating_count,
	       rating_sum = l.rating_sum + excluded.rating_sum;
END;
COMMENT ON FUNCTION repairsys.technician_load_add(bigint, integer, integer, bigint) IS 'Adds open tickets and ratings to a technician''s repairsys.technician_load row (used by its triggers)';

-- AFTER INSERT / AFTER UPDATE / BEFORE DELETE on ticket (each with a WHEN
-- clause: only assignments, reassignments, closings and reopenings reach it).
-- BEFORE DELETE: the ticket's feedback is still there to take back (the
-- foreign key deletes it afterwards, when the ticket is already gone).
CREATE FUNCTION repairsys.ticket_load_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	f repairsys.feedback;
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.technician_id IS NOT NULL THEN
		SELECT * INTO f FROM repairsys.feedback x WHERE x.ticket_id = OLD.id;
		IF TG_OP = 'DELETE' OR NEW.technician_id IS DISTINCT FROM OLD.technician_id THEN
			PERFORM repairsys.technician_load_add(OLD.technician_id, -(OLD.closed_at IS NULL)::integer,
			                                      -(f.rating IS NOT NULL)::integer, -coalesce(f.rating, 0));
		ELSE
			PERFORM repairsys.technician_load_add(OLD.technician_id, -(OLD.closed_at IS NULL)::integer, 0, 0);
		END IF;
	END IF;
	IF TG_OP = 'DELETE' THEN
		RETURN OLD;
	END IF;
	IF NEW.technician_id IS NOT NULL THEN
		IF TG_OP = 'UPDATE' AND NEW.technician_id IS DISTINCT FROM OLD.technician_id THEN
			SELECT * INTO f FROM repairsys.feedback x WHERE x.ticket_id = NEW.id;
			PERFORM repairsys.technician_load_add(NEW.technician_id, (NEW.closed_at IS NULL)::integer,
			                                      (f.rating IS NOT NULL)::integer, coalesce(f.rating, 0));
		ELSE
			PERFORM repairsys.technician_load_add(NEW.technician_id, (NEW.closed_at IS NULL)::integer, 0, 0);
		END IF;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_load_trg() IS 'Trigger of ticket: keeps repairsys.technician_load when a ticket is assigned, reassigned, closed, reopened, restored or deleted';
CREATE TRIGGER ticket_55_load_insert AFTER INSERT ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.technician_id IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_load_trg();
CREATE TRIGGER ticket_55_load_update AFTER UPDATE ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.technician_id IS DISTINCT FROM OLD.technician_id
	                   OR (NEW.closed_at IS NULL) <> (OLD.closed_at IS NULL))
	EXECUTE FUNCTION repairsys.ticket_load_trg();
CREATE TRIGGER ticket_55_load_delete BEFORE DELETE ON repairsys.ticket
	FOR EACH ROW WHEN (OLD.technician_id IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_load_trg();

-- AFTER INSERT OR UPDATE OR DELETE on feedback: the rating goes to the
-- technician of the rated ticket.  (A feedback deleted with its ticket finds
-- the ticket gone: the ticket's BEFORE DELETE trigger took its rating back.)
CREATE FUNCTION repairsys.feedback_load_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	tech bigint;
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		SELECT t.technician_id INTO tech FROM repairsys.ticket t WHERE t.id = OLD.ticket_id;
		IF tech IS NOT NULL THEN
			PERFORM repairsys.technician_load_add(tech, 0, -1, -OLD.rating);
		END IF;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		SELECT t.technician_id INTO tech FROM repairsys.ticket t WHERE t.id = NEW.ticket_id;
		IF tech IS NOT NULL THEN
			PERFORM repairsys.technician_load_add(tech, 0, 1, NEW.rating);
		END IF;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.feedback_load_trg() IS 'AFTER trigger of feedback: keeps the rating count and sum of repairsys.technician_load';
CREATE TRIGGER feedback_30_load AFTER INSERT OR DELETE ON repairsys.feedback
	FOR EACH ROW EXECUTE FUNCTION repairsys.feedback_load_trg();
CREATE TRIGGER feedback_30_load_update AFTER UPDATE ON repairsys.feedback
	FOR EACH ROW WHEN (NEW.ticket_id IS DISTINCT FROM OLD.ticket_id OR NEW.rating IS DISTINCT FROM OLD.rating)
	EXECUTE FUNCTION repairsys.feedback_load_trg();

-- candidates() in C (src/scoring.c): reads the ticket, the policy and every
-- technician with his skill level and load in one pass, scores, explains and
-- sorts.
CREATE FUNCTION repairsys.candidates(ticket_id bigint, policy text DEFAULT 'default')
RETURNS TABLE (technician_id bigint, eligible boolean, reason text, score double precision,
               skill_score double precision, distance_km double precision,
               distance_score double precision, load double precision, load_score double precision,
               rating_score double precision, continuity_score double precision,
               open_tickets integer, capacity integer)
AS 'MODULE_PATHNAME', 'rs_candidates' LANGUAGE C STABLE;
COMMENT ON FUNCTION repairsys.candidates(bigint, text) IS
	'Every technician for a ticket under an assignment policy: eligible or not and why, score in [0,1] and its parts; best first (eligible, higher score, lower id). Unknown ticket or policy: 22023; finished ticket: 23514; NULL argument: 22004';

------------------------------------------------------------------------------
-- Writers
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.auto_assign(ticket_id bigint, policy text DEFAULT 'default')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t       repairsys.ticket;
	p       repairsys.assign_policy;
	initial text;
	c       record;
	cap     integer;
	act     boolean;
	n       integer;
	nfull   integer := 0;
	why     text;
BEGIN
	-- Lock order: the ticket, then one technician at a time.
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = auto_assign.ticket_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', auto_assign.ticket_id USING ERRCODE = '22023';
	END IF;
	p := repairsys.assign_policy_row(auto_assign.policy);
	SELECT s.code INTO initial FROM repairsys.ticket_status s WHERE s.is_initial;
	IF t.status IS DISTINCT FROM initial THEN
		RAISE EXCEPTION 'ticket % is in status "%", not "%"', t.id, t.status, initial
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Only tickets in status "%s" are assigned automatically.', initial),
			      HINT = 'To reassign a ticket, move it back to the initial status first.';
	END IF;

	FOR c IN SELECT k.technician_id, k.score FROM repairsys.candidates(t.id, auto_assign.policy) k
	          WHERE k.eligible AND EXISTS (SELECT 1 FROM repairsys.technician te WHERE te.id = k.technician_id AND te.active)
	LOOP
		BEGIN
			-- Lock the technician and leave a new row version: a concurrent
			-- assigner waits here, and one in a REPEATABLE READ transaction
			-- whose snapshot predates this one fails with 40001 instead of
			-- counting from a stale snapshot.
			UPDATE repairsys.technician te SET capacity = te.capacity
			 WHERE te.id = c.technician_id
			RETURNING te.capacity, te.active INTO cap, act;
			n := repairsys.open_ticket_count(c.technician_id, t.id);
			-- (an inactive technician is never assigned, whatever the policy:
			-- the has_technician guard of the life cycle refuses him)
			IF (p.respect_capacity AND (cap IS NULL OR n >= cap)) OR NOT coalesce(act, false) THEN
				-- full meanwhile: undo the lock (rolls back the subtransaction)
				RAISE EXCEPTION 'technician % is full', c.technician_id USING ERRCODE = 'RSA01';
			END IF;
			UPDATE repairsys.ticket x SET technician_id = c.technician_id, status = 'assigned'
			 WHERE x.id = t.id;
			RETURN c.technician_id;
		EXCEPTION WHEN SQLSTATE 'RSA01' THEN
			nfull := nfull + 1;
		END;
	END LOOP;

	IF nfull > 0 THEN
		why := pg_catalog.format('%s eligible technician(s) reached their capacity meanwhile.', nfull);
	ELSE
		SELECT pg_catalog.count(*)::integer,
		       pg_catalog.string_agg(pg_catalog.format('Technician %s: %s.', k.technician_id, coalesce(k.reason, 'inactive')), ' '
		                             ORDER BY k.technician_id) FILTER (WHERE k.rn <= 5)
		  INTO n, why
		  FROM (SELECT k.technician_id, k.reason, pg_catalog.row_number() OVER (ORDER BY k.technician_id) AS rn
		          FROM repairsys.candidates(t.id, auto_assign.policy) k) k;
		-- (an eligible technician left here is an inactive one under a policy
		-- without the activity rule)
		IF n = 0 THEN
			why := 'There are no technicians.';
		ELSIF n > 5 THEN
			why := why || pg_catalog.format(' And %s more.', n - 5);
		END IF;
	END IF;
	RAISE NOTICE 'no technician is eligible for ticket %', t.id
		USING DETAIL = why,
		      HINT = 'repairsys.candidates() lists every technician with the reason.';
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.auto_assign(bigint, text) IS
	'Assigns the best eligible technician to a ticket in the initial status and moves it to "assigned"; NULL with a NOTICE when nobody fits. Safe under concurrency (locks the ticket, then the technician, and recounts his open tickets)';

-- Priority of a ticket waiting for assignment: a sort key, smaller first.
-- Urgency first (emergency, urgent, normal), then the nearer response
-- deadline, the nearer resolution deadline (NULL last), the older ticket,
-- the lower id.
CREATE FUNCTION repairsys.urgency_rank(urgency text)
RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
	SELECT CASE urgency WHEN 'emergency' THEN 1 WHEN 'urgent' THEN 2 WHEN 'normal' THEN 3 ELSE 4 END;
END;
COMMENT ON FUNCTION repairsys.urgency_rank(text) IS 'Rank of an urgency in assignment priority: emergency 1, urgent 2, normal 3 (smaller goes first)';

-- (jit off: the planner's row estimates of the skills x technicians product
-- are far too high, and compiling the plan would cost more than running it.)
CREATE FUNCTION repairsys.auto_assign_pending(policy text DEFAULT 'default')
RETURNS TABLE (ticket_id bigint, technician_id bigint, score double precision)
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	p       repairsys.assign_policy;
	initial text;
	tids    bigint[];
	r       record;
	nfree   integer := 0;
BEGIN
	p := repairsys.assign_policy_row(auto_assign_pending.policy);
	SELECT s.code INTO initial FROM repairsys.ticket_status s WHERE s.is_initial;

	-- Lock order: tickets (by id), then technicians (by id).  Tickets another
	-- session holds (an auto_assign at work) are left to it.
	SELECT pg_catalog.array_agg(z.id ORDER BY z.id) INTO tids
	  FROM (SELECT x.id FROM repairsys.ticket x WHERE x.status = initial
	         ORDER BY x.id FOR UPDATE SKIP LOCKED) z;
	IF tids IS NULL THEN
		RETURN;
	END IF;
	-- Lock the technicians that may take work (active ones: the life cycle
	-- refuses inactive technicians, whatever the policy) and leave a new row
	-- version (see auto_assign: concurrent assigners wait or fail with 40001).
	PERFORM 1 FROM (SELECT te.id FROM repairsys.technician te WHERE te.active ORDER BY te.id FOR UPDATE) z;
	UPDATE repairsys.technician te SET capacity = te.capacity WHERE te.active;

	FOR r IN
		WITH tk AS (
			SELECT x AS tr, x.id, x.lat, x.lon, x.service_center_id, st.required_skill, st.min_skill_level,
			       pg_catalog.row_number() OVER (ORDER BY repairsys.urgency_rank(x.urgency), x.respond_by NULLS LAST,
			                                              x.resolve_by NULLS LAST, x.opened_at, x.id) AS prio
			  FROM repairsys.ticket x JOIN repairsys.service_type st ON st.code = x.service_type
			 WHERE x.id = ANY (tids)
		), skills AS (
			SELECT s.skill, pg_catalog.row_number() OVER (ORDER BY s.skill)::integer AS k
			  FROM (SELECT DISTINCT tk.required_skill AS skill FROM tk WHERE tk.required_skill IS NOT NULL) s
		), techs AS (
			SELECT te.*, coalesce(l.open_tickets, 0) AS open,
			       l.rating_sum::double precision / NULLIF(l.rating_count, 0) AS rating
			  FROM repairsys.technician te
			  LEFT JOIN repairsys.technician_load l ON l.technician_id = te.id
			 WHERE te.active
		), tin AS (
			SELECT pg_catalog.array_agg(tk.id ORDER BY tk.prio) AS id,
			       pg_catalog.array_agg(tk.lat ORDER BY tk.prio) AS lat,
			       pg_catalog.array_agg(tk.lon ORDER BY tk.prio) AS lon,
			       pg_catalog.array_agg(tk.service_center_id ORDER BY tk.prio) AS center,
			       pg_catalog.array_agg(coalesce(sk.k, 0) ORDER BY tk.prio) AS skill,
			       pg_catalog.array_agg(tk.min_skill_level ORDER BY tk.prio) AS min_level,
			       pg_catalog.array_agg(ct.c[1] ORDER BY tk.prio) AS cont_customer,
			       pg_catalog.array_agg(ct.c[2] ORDER BY tk.prio) AS cont_asset
			  FROM tk
			  LEFT JOIN skills sk ON sk.skill = tk.required_skill
			  CROSS JOIN LATERAL (SELECT repairsys.continuity_technicians(tk.tr) AS c) ct
		), ein AS (
			SELECT pg_catalog.array_agg(te.id ORDER BY te.id) AS id,
			       pg_catalog.array_agg(te.active ORDER BY te.id) AS active,
			       pg_catalog.array_agg(te.service_center_id ORDER BY te.id) AS center,
			       pg_catalog.array_agg(te.lat ORDER BY te.id) AS lat,
			       pg_catalog.array_agg(te.lon ORDER BY te.id) AS lon,
			       pg_catalog.array_agg(te.capacity ORDER BY te.id) AS cap,
			       pg_catalog.array_agg(te.open ORDER BY te.id) AS open,
			       pg_catalog.array_agg(te.rating ORDER BY te.id) AS rating
			  FROM techs te
		), lv AS (
			SELECT pg_catalog.array_agg(l.levels ORDER BY l.k) AS levels
			  FROM (SELECT sk.k, pg_catalog.array_agg(coalesce(ts.level, 0) ORDER BY te.id) AS levels
			          FROM skills sk CROSS JOIN techs te
			          LEFT JOIN repairsys.technician_skill ts ON ts.technician_id = te.id AND ts.skill = sk.skill
			         GROUP BY sk.k) l
		)
		SELECT s.*
		  FROM tin, ein, lv,
		       LATERAL repairsys.solve_pending(p, tin.id, tin.lat, tin.lon, tin.center, tin.skill, tin.min_level,
		                   tin.cont_customer, tin.cont_asset,
		                   coalesce(ein.id, '{}'), coalesce(ein.active, '{}'), coalesce(ein.center, '{}'),
		                   coalesce(ein.lat, '{}'), coalesce(ein.lon, '{}'), coalesce(ein.cap, '{}'),
		                   coalesce(ein.open, '{}'), coalesce(ein.rating, '{}'), coalesce(lv.levels, '{}')) s
	LOOP
		IF r.technician_id IS NOT NULL THEN
			UPDATE repairsys.ticket x SET technician_id = r.technician_id, status = 'assigned'
			 WHERE x.id = r.ticket_id;
		ELSE
			nfree := nfree + 1;
		END IF;
		ticket_id := r.ticket_id;
		technician_id := r.technician_id;
		score := r.score;
		RETURN NEXT;
	END LOOP;
	IF nfree > 0 THEN
		RAISE NOTICE '% of % pending tickets could not be assigned', nfree, pg_catalog.cardinality(tids)
			USING DETAIL = 'No eligible technician had capacity left for them; they stay in the initial status.',
			      HINT = 'repairsys.candidates() lists every technician with the reason.';
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.auto_assign_pending(text) IS
	'Assigns every ticket in the initial status at once, exactly: as many tickets as capacity allows (higher priority first: urgency, then SLA deadlines), with the maximal total score; one row per ticket in priority order, technician NULL when none is left';

------------------------------------------------------------------------------
-- Assignment on opening
------------------------------------------------------------------------------
-- AFTER INSERT: when the 'default' policy says auto_assign_on_open, a ticket
-- opened now (not one restored with its history) is assigned at once; when
-- nobody fits it stays new (with the NOTICE of auto_assign).  Named to fire
-- after ticket_90_log, so the history shows the opening before the assignment.
-- SECURITY DEFINER: whoever may open a ticket (a customer, a clerk) gets it
-- assigned without rights on technicians; the history's actor of the
-- assignment is then the extension's owner, the system.
CREATE FUNCTION repairsys.ticket_auto_assign_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.status_changed_at IS NOT DISTINCT FROM pg_catalog.now()
	   AND NEW.technician_id IS NULL
	   AND EXISTS (SELECT 1 FROM repairsys.ticket_status s WHERE s.code = NEW.status AND s.is_initial)
	   AND EXISTS (SELECT 1 FROM repairsys.assign_policy p WHERE p.name = 'default' AND p.auto_assign_on_open) THEN
		PERFORM repairsys.auto_assign(NEW.id, 'default');
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_auto_assign_trg() IS
	'AFTER INSERT trigger of repairsys.ticket: assigns a newly opened ticket with the ''default'' policy when its auto_assign_on_open is set';
CREATE TRIGGER ticket_95_auto_assign AFTER INSERT ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_auto_assign_trg();
-- Spare parts (DESIGN.md section 8, docs/parts.md): the stock ledger and the
-- stock it keeps, reservations that never oversell, transfers between
-- centers, serialized units, demand forecasts and reorder alerts.
--
-- repairsys.stock is derived data: on_hand is the sum of the ledger
-- (stock_movement), reserved the sum of the reserved ticket_part rows, both
-- kept by triggers.  It is not dumped: a restore rebuilds it as the ledger and
-- the reservations are restored.
--
-- Locking: every change of a (sku, center)'s stock locks its stock row; a
-- function touching several locks them in (sku, center) order, so concurrent
-- reservations, issues and transfers serialize per stock row and never
-- deadlock among themselves.

------------------------------------------------------------------------------
-- Forecasting kernels (src/forecast.c)
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.forecast_demand(demand double precision[], method text DEFAULT 'sba',
                                          alpha double precision DEFAULT 0.1, beta double precision DEFAULT 0.1)
RETURNS double precision
AS 'MODULE_PATHNAME', 'forecast_demand' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.forecast_demand(double precision[], text, double precision, double precision) IS 'Expected demand per period after a demand series: ses, croston, sba (default) or tsb';

CREATE FUNCTION repairsys.normal_quantile(p double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'normal_quantile' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.normal_quantile(double precision) IS 'Inverse of the standard normal distribution function (relative error below 1e-9); p in (0, 1)';

------------------------------------------------------------------------------
-- Stock kept from the ledger and the reservations
------------------------------------------------------------------------------
-- Locks and returns the stock row of (sku, center), creating an empty one.
CREATE FUNCTION repairsys.lock_stock(sku text, center bigint)
RETURNS repairsys.stock
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	s repairsys.stock;
BEGIN
	SELECT * INTO s FROM repairsys.stock x
	 WHERE x.sku = lock_stock.sku AND x.service_center_id = lock_stock.center FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO repairsys.stock (sku, service_center_id) VALUES (lock_stock.sku, lock_stock.center)
		ON CONFLICT DO NOTHING;
		SELECT * INTO s FROM repairsys.stock x
		 WHERE x.sku = lock_stock.sku AND x.service_center_id = lock_stock.center FOR UPDATE;
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION repairsys.lock_stock(text, bigint) IS 'Locks (FOR UPDATE) and returns the stock row of a part at a center, creating it empty when missing';

-- AFTER INSERT on stock_movement: on_hand follows the ledger.
CREATE FUNCTION repairsys.stock_movement_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	s repairsys.stock;
BEGIN
	s := repairsys.lock_stock(NEW.sku, NEW.service_center_id);
	IF s.on_hand + NEW.qty < s.reserved THEN
		RAISE EXCEPTION 'not enough stock of part "%" at service center %', NEW.sku, NEW.service_center_id
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('%s on hand, %s reserved; the %s of %s would leave %s.',
			                                 s.on_hand, s.reserved, NEW.kind, pg_catalog.abs(NEW.qty), s.on_hand + NEW.qty);
	END IF;
	UPDATE repairsys.stock x SET on_hand = x.on_hand + NEW.qty
	 WHERE x.sku = NEW.sku AND x.service_center_id = NEW.service_center_id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.stock_movement_trg() IS 'AFTER INSERT trigger of stock_movement: keeps stock.on_hand equal to the ledger sum; refuses a movement that would take stock below 0 or below what is reserved (23514)';
-- BEFORE INSERT on stock_movement: takes the stock row's lock before the
-- movement is numbered, so seq orders the movements of a stock row exactly as
-- their checks ran.  (The id is drawn earlier, when the row is formed: an
-- issue can get its id, then wait for the lock while a transfer or a receipt
-- holding it writes rows with higher ids that the issue then draws on.)
-- For an unknown part or center nothing is locked and the foreign key names
-- the fault.
CREATE FUNCTION repairsys.stock_movement_order_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM repairsys.part p WHERE p.sku = NEW.sku)
	   AND EXISTS (SELECT 1 FROM repairsys.service_center c WHERE c.id = NEW.service_center_id) THEN
		PERFORM repairsys.lock_stock(NEW.sku, NEW.service_center_id);
	END IF;
	NEW.seq := pg_catalog.nextval('repairsys.stock_movement_seq');
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.stock_movement_order_trg() IS 'BEFORE INSERT trigger of stock_movement: locks the stock row, then numbers the movement (seq), so seq is the order of the stock checks';
CREATE TRIGGER stock_movement_05_order BEFORE INSERT ON repairsys.stock_movement
	FOR EACH ROW EXECUTE FUNCTION repairsys.stock_movement_order_trg();
CREATE TRIGGER stock_movement_10_stock AFTER INSERT ON repairsys.stock_movement
	FOR EACH ROW EXECUTE FUNCTION repairsys.stock_movement_trg();
CREATE TRIGGER stock_movement_append_only BEFORE UPDATE OR DELETE ON repairsys.stock_movement
	FOR EACH ROW EXECUTE FUNCTION repairsys.forbid_change();
CREATE TRIGGER stock_movement_no_truncate BEFORE TRUNCATE ON repairsys.stock_movement
	FOR EACH STATEMENT EXECUTE FUNCTION repairsys.forbid_change();

-- A restore replays the ledger through the triggers above, which refuse a
-- movement that would take stock below zero; so the dump must hold the rows
-- in the order their checks ran: not the table's physical order (an issue can
-- sit on a page before its receipt once VACUUM has freed the space of aborted
-- inserts), and not id order either (see stock_movement_order_trg), but seq.
-- pg_dump appends this condition to its COPY (SELECT ... FROM stock_movement
-- <condition>).  The restore numbers the rows again, in the same order.
SELECT pg_catalog.pg_extension_config_dump('repairsys.stock_movement', 'ORDER BY seq');

-- AFTER INSERT/UPDATE/DELETE on ticket_part: reserved follows the reservations.
CREATE FUNCTION repairsys.ticket_part_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	s     repairsys.stock;
	delta integer;
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state = 'reserved' THEN
		-- the old reservation goes away first (same row when sku and center are unchanged)
		IF TG_OP = 'UPDATE' AND NEW.state = 'reserved' AND NEW.sku = OLD.sku
		   AND NEW.service_center_id = OLD.service_center_id THEN
			delta := NEW.qty - OLD.qty;
		ELSE
			PERFORM repairsys.lock_stock(OLD.sku, OLD.service_center_id);
			UPDATE repairsys.stock x SET reserved = x.reserved - OLD.qty
			 WHERE x.sku = OLD.sku AND x.service_center_id = OLD.service_center_id;
			delta := CASE WHEN TG_OP = 'UPDATE' AND NEW.state = 'reserved' THEN NEW.qty END;
		END IF;
	ELSIF TG_OP IN ('INSERT', 'UPDATE') AND NEW.state = 'reserved' THEN
		delta := NEW.qty;
	END IF;
	IF delta IS NOT NULL AND delta <> 0 THEN
		s := repairsys.lock_stock(NEW.sku, NEW.service_center_id);
		IF s.on_hand - s.reserved < delta THEN
			RAISE EXCEPTION 'not enough stock of part "%" at service center % to reserve %', NEW.sku, NEW.service_center_id, delta
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('%s available (%s on hand, %s reserved), %s asked.',
				                                 s.on_hand - s.reserved, s.on_hand, s.reserved, delta);
		END IF;
		UPDATE repairsys.stock x SET reserved = x.reserved + delta
		 WHERE x.sku = NEW.sku AND x.service_center_id = NEW.service_center_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_part_trg() IS 'AFTER trigger of ticket_part: keeps stock.reserved equal to the reserved quantities; refuses a reservation that does not fit what is available (23514)';
CREATE TRIGGER ticket_part_10_reserved AFTER INSERT OR UPDATE OR DELETE ON repairsys.ticket_part
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_part_trg();

------------------------------------------------------------------------------
-- Functions for applications
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.check_qty(qty integer)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF qty IS NULL OR qty <= 0 THEN
		RAISE EXCEPTION 'quantity must be a positive number of units' USING ERRCODE = '22023',
			DETAIL = pg_catalog.format('The quantity is %s.', coalesce(qty::text, 'NULL'));
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.check_qty(integer) IS 'Raises 22023 unless the quantity is a positive number of units';

CREATE FUNCTION repairsys.part_row(sku text)
RETURNS repairsys.part
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	p repairsys.part;
BEGIN
	SELECT * INTO p FROM repairsys.part x WHERE x.sku = part_row.sku;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'part "%" does not exist', sku USING ERRCODE = '22023';
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION repairsys.part_row(text) IS 'The catalog row of a part; unknown sku: 22023';

CREATE FUNCTION repairsys.receive_part(sku text, center bigint, qty integer, unit_cost numeric DEFAULT NULL,
                                       serials text[] DEFAULT NULL, note text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	p  repairsys.part := repairsys.part_row(sku);
	id bigint;
BEGIN
	PERFORM repairsys.check_qty(qty);
	IF NOT EXISTS (SELECT 1 FROM repairsys.service_center c WHERE c.id = center) THEN
		RAISE EXCEPTION 'service center % does not exist', center USING ERRCODE = '22023';
	END IF;
	IF unit_cost < 0 THEN
		RAISE EXCEPTION 'unit cost must not be negative' USING ERRCODE = '22023';
	END IF;
	IF p.serialized THEN
		IF serials IS NULL OR pg_catalog.cardinality(serials) <> qty
		   OR EXISTS (SELECT 1 FROM pg_catalog.unnest(serials) s WHERE s IS NULL OR s = '') THEN
			RAISE EXCEPTION 'part "%" is serialized: give one serial number per unit received', p.sku
				USING ERRCODE = '22023',
				      DETAIL = pg_catalog.format('%s units, %s serial numbers.', qty, coalesce(pg_catalog.cardinality(serials), 0));
		END IF;
		INSERT INTO repairsys.part_unit (serial, sku, service_center_id, state)
		SELECT s, p.sku, center, 'in_stock' FROM pg_catalog.unnest(serials) s;
	ELSIF serials IS NOT NULL THEN
		RAISE EXCEPTION 'part "%" is not serialized', p.sku USING ERRCODE = '22023';
	END IF;
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, unit_cost, note)
	VALUES (p.sku, center, 'receipt', qty, coalesce(unit_cost, p.unit_cost), note)
	RETURNING stock_movement.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.receive_part(text, bigint, integer, numeric, text[], text) IS 'Records a receipt of parts at a center (serialized parts: one serial per unit); returns the ledger row id';

CREATE FUNCTION repairsys.reserve_part(ticket_id bigint, sku text, qty integer)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t  repairsys.ticket;
	p  repairsys.part := repairsys.part_row(sku);
	id bigint;
BEGIN
	PERFORM repairsys.check_qty(qty);
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = reserve_part.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', reserve_part.ticket_id USING ERRCODE = '22023';
	END IF;
	IF (SELECT s.is_terminal FROM repairsys.ticket_status s WHERE s.code = t.status) THEN
		RAISE EXCEPTION 'cannot reserve parts for ticket % in status "%"', t.id, t.status USING ERRCODE = '23514';
	END IF;
	IF t.service_center_id IS NULL THEN
		RAISE EXCEPTION 'ticket % has no service center to reserve parts at', t.id USING ERRCODE = '23514';
	END IF;
	-- the trigger on ticket_part locks the stock row, checks what is available and reserves
	INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, state, unit_price, unit_cost, covered)
	VALUES (t.id, p.sku, t.service_center_id, qty, 'reserved', p.unit_price, p.unit_cost, repairsys.under_warranty(t))
	RETURNING ticket_part.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.reserve_part(bigint, text, integer) IS 'Reserves parts for a ticket at its service center with the price of now; fails with 23514 and changes nothing when not enough is available; returns the ticket_part id';

CREATE FUNCTION repairsys.release_part(ticket_id bigint, sku text, qty integer DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	l         repairsys.ticket_part;
	remaining integer := qty;
	released  integer := 0;
BEGIN
	IF qty IS NOT NULL THEN
		PERFORM repairsys.check_qty(qty);
	END IF;
	FOR l IN SELECT * FROM repairsys.ticket_part x
	          WHERE x.ticket_id = release_part.ticket_id AND x.sku = release_part.sku AND x.state = 'reserved'
	          ORDER BY x.id FOR UPDATE
	LOOP
		EXIT WHEN remaining = 0;
		IF remaining IS NULL OR l.qty <= remaining THEN
			UPDATE repairsys.ticket_part x SET state = 'released' WHERE x.id = l.id;
			released := released + l.qty;
			remaining := remaining - l.qty;
		ELSE
			UPDATE repairsys.ticket_part x SET qty = l.qty - remaining WHERE x.id = l.id;
			INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, state, unit_price, unit_cost, covered, reserved_at)
			VALUES (l.ticket_id, l.sku, l.service_center_id, remaining, 'released', l.unit_price, l.unit_cost, l.covered, l.reserved_at);
			released := released + remaining;
			remaining := 0;
		END IF;
	END LOOP;
	IF remaining > 0 THEN
		RAISE EXCEPTION 'ticket % has only % units of part "%" reserved', ticket_id, released, sku
			USING ERRCODE = '23514', DETAIL = pg_catalog.format('%s units were asked to be released.', qty);
	END IF;
	RETURN released;
END
$$;
COMMENT ON FUNCTION repairsys.release_part(bigint, text, integer) IS 'Releases reserved parts of a ticket (all of that part when qty is NULL); returns the units released';

CREATE FUNCTION repairsys.consume_part(ticket_id bigint, sku text DEFAULT NULL, serials text[] DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t      repairsys.ticket;
	l      repairsys.ticket_part;
	p      repairsys.part;
	issued integer := 0;
	picked text[];
BEGIN
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = consume_part.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', consume_part.ticket_id USING ERRCODE = '22023';
	END IF;
	FOR l IN SELECT * FROM repairsys.ticket_part x
	          WHERE x.ticket_id = t.id AND x.state = 'reserved' AND (consume_part.sku IS NULL OR x.sku = consume_part.sku)
	          ORDER BY x.sku, x.service_center_id, x.id FOR UPDATE
	LOOP
		p := repairsys.part_row(l.sku);
		IF p.serialized THEN
			-- the units installed: the ones named, else the oldest in stock at the center
			SELECT pg_catalog.array_agg(u.serial ORDER BY u.received_at, u.serial) INTO picked
			  FROM (SELECT u.serial, u.received_at FROM repairsys.part_unit u
			         WHERE u.sku = l.sku AND u.service_center_id = l.service_center_id AND u.state = 'in_stock'
			           AND (serials IS NULL OR u.serial = ANY (serials))
			         ORDER BY u.received_at, u.serial LIMIT l.qty FOR UPDATE) u;
			IF coalesce(pg_catalog.cardinality(picked), 0) < l.qty THEN
				RAISE EXCEPTION 'not enough serialized units of part "%" in stock at service center %', l.sku, l.service_center_id
					USING ERRCODE = '23514',
					      DETAIL = pg_catalog.format('%s units needed, %s found.', l.qty, coalesce(pg_catalog.cardinality(picked), 0));
			END IF;
			UPDATE repairsys.part_unit u
			   SET state = 'installed', ticket_id = t.id, asset_id = t.asset_id, service_center_id = NULL, installed_at = pg_catalog.now()
			 WHERE u.sku = l.sku AND u.serial = ANY (picked);
		END IF;
		-- the reservation ends first, then the issue takes the units out
		UPDATE repairsys.ticket_part x SET state = 'used', used_at = pg_catalog.now(), unit_cost = coalesce(x.unit_cost, p.unit_cost)
		 WHERE x.id = l.id;
		INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id, unit_cost, note)
		VALUES (l.sku, l.service_center_id, 'issue', -l.qty, t.id, coalesce(l.unit_cost, p.unit_cost),
		        CASE WHEN picked IS NOT NULL THEN 'serials ' || pg_catalog.array_to_string(picked, ', ') END);
		issued := issued + l.qty;
		picked := NULL;
	END LOOP;
	RETURN issued;
END
$$;
COMMENT ON FUNCTION repairsys.consume_part(bigint, text, text[]) IS 'Issues a ticket''s reserved parts (all, or those of one sku) from stock; serialized units are recorded as installed on the ticket''s asset; returns the units issued';

CREATE FUNCTION repairsys.return_part(ticket_id bigint, sku text, qty integer, note text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	center bigint;
	used   integer;
	id     bigint;
BEGIN
	PERFORM repairsys.check_qty(qty);
	PERFORM repairsys.part_row(sku);
	SELECT sum(-m.qty) FILTER (WHERE m.kind = 'issue') - coalesce(sum(m.qty) FILTER (WHERE m.kind = 'return'), 0),
	       max(m.service_center_id)
	  INTO used, center
	  FROM repairsys.stock_movement m
	 WHERE m.ticket_id = return_part.ticket_id AND m.sku = return_part.sku AND m.kind IN ('issue', 'return');
	IF coalesce(used, 0) < qty THEN
		RAISE EXCEPTION 'ticket % has only % units of part "%" issued that could be returned', ticket_id, coalesce(used, 0), sku
			USING ERRCODE = '23514';
	END IF;
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id, unit_cost, note)
	VALUES (sku, center, 'return', qty, ticket_id, (SELECT p.unit_cost FROM repairsys.part p WHERE p.sku = return_part.sku), note)
	RETURNING stock_movement.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.return_part(bigint, text, integer, text) IS 'Returns issued parts of a ticket to stock (at most what was issued and not yet returned); returns the ledger row id';

CREATE FUNCTION repairsys.transfer_part(sku text, from_center bigint, to_center bigint, qty integer, note text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	p  repairsys.part := repairsys.part_row(sku);
	s  repairsys.stock;
	id bigint;
BEGIN
	PERFORM repairsys.check_qty(qty);
	IF from_center IS NULL OR to_center IS NULL OR from_center = to_center THEN
		RAISE EXCEPTION 'a transfer needs two different service centers' USING ERRCODE = '22023';
	END IF;
	IF (SELECT count(*) FROM repairsys.service_center c WHERE c.id IN (from_center, to_center)) <> 2 THEN
		RAISE EXCEPTION 'service center % or % does not exist', from_center, to_center USING ERRCODE = '22023';
	END IF;
	-- both stock rows, in center order
	PERFORM repairsys.lock_stock(p.sku, LEAST(from_center, to_center));
	PERFORM repairsys.lock_stock(p.sku, GREATEST(from_center, to_center));
	s := repairsys.lock_stock(p.sku, from_center);
	IF s.on_hand - s.reserved < qty THEN
		RAISE EXCEPTION 'not enough stock of part "%" at service center % to transfer %', p.sku, from_center, qty
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('%s available (%s on hand, %s reserved).', s.on_hand - s.reserved, s.on_hand, s.reserved);
	END IF;
	IF p.serialized THEN
		UPDATE repairsys.part_unit u SET service_center_id = to_center
		 WHERE (u.sku, u.serial) IN (SELECT x.sku, x.serial FROM repairsys.part_unit x
		                              WHERE x.sku = p.sku AND x.service_center_id = from_center AND x.state = 'in_stock'
		                              ORDER BY x.received_at, x.serial LIMIT qty FOR UPDATE);
	END IF;
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, unit_cost, note)
	VALUES (p.sku, from_center, 'transfer_out', -qty, p.unit_cost, coalesce(note, 'to center ' || to_center));
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, unit_cost, note)
	VALUES (p.sku, to_center, 'transfer_in', qty, p.unit_cost, coalesce(note, 'from center ' || from_center))
	RETURNING stock_movement.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.transfer_part(text, bigint, bigint, integer, text) IS 'Transfers parts between service centers (调配): a transfer_out and a transfer_in in one transaction; fails with 23514 when not enough is available; returns the transfer_in ledger row id';

CREATE FUNCTION repairsys.adjust_stock(sku text, center bigint, qty integer, note text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	PERFORM repairsys.part_row(sku);
	IF qty IS NULL OR qty = 0 THEN
		RAISE EXCEPTION 'an adjustment needs a quantity other than 0' USING ERRCODE = '22023';
	END IF;
	IF note IS NULL OR note = '' THEN
		RAISE EXCEPTION 'an adjustment needs a note saying why' USING ERRCODE = '22023';
	END IF;
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, note)
	VALUES (sku, center, 'adjust', qty, note)
	RETURNING stock_movement.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.adjust_stock(text, bigint, integer, text) IS 'Corrects stock after a count (signed quantity, with a note); returns the ledger row id';

-- AFTER UPDATE OF status on ticket: on resolution the ticket's remaining
-- reservations become issues; on cancellation they are released.
CREATE FUNCTION repairsys.ticket_parts_on_status_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.status = 'resolved' THEN
		PERFORM repairsys.consume_part(NEW.id);
	ELSIF NEW.status = 'cancelled' THEN
		UPDATE repairsys.ticket_part x SET state = 'released' WHERE x.ticket_id = NEW.id AND x.state = 'reserved';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_parts_on_status_trg() IS 'AFTER UPDATE trigger of ticket: issues the remaining reserved parts when a ticket is resolved, releases them when it is cancelled';
CREATE TRIGGER ticket_60_parts AFTER UPDATE OF status ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('resolved', 'cancelled'))
	EXECUTE FUNCTION repairsys.ticket_parts_on_status_trg();

------------------------------------------------------------------------------
-- Forecasts and alerts
------------------------------------------------------------------------------
INSERT INTO repairsys.setting (name, value, description, dump) VALUES
	('forecast_method', 'sba', 'Method of the stock forecast: ses, croston, sba or tsb', false),
	('forecast_alpha', '0.1', 'Smoothing constant alpha of the stock forecast', false),
	('forecast_beta', '0.1', 'Smoothing constant beta of the stock forecast (tsb)', false),
	('forecast_days', '365', 'Days of issue history the stock forecast reads', false);

-- Daily issue quantities of a part at a center over the last days (zeros
-- filled), oldest first.
CREATE FUNCTION repairsys.daily_issues(sku text, center bigint, days integer DEFAULT 365)
RETURNS double precision[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT pg_catalog.array_agg(coalesce(d.qty, 0)::double precision ORDER BY g.day)
	  FROM pg_catalog.generate_series(CURRENT_DATE - days, CURRENT_DATE - 1, interval '1 day') AS g(day)
	  LEFT JOIN (SELECT (m.at AT TIME ZONE pg_catalog.current_setting('TimeZone'))::date AS day, sum(-m.qty) AS qty
	               FROM repairsys.stock_movement m
	              WHERE m.sku = daily_issues.sku AND m.service_center_id = daily_issues.center AND m.kind = 'issue'
	                AND m.at >= CURRENT_DATE - days AND m.at < CURRENT_DATE
	              GROUP BY 1) d ON d.day = g.day::date;
END;
COMMENT ON FUNCTION repairsys.daily_issues(text, bigint, integer) IS 'Units issued per day of a part at a center over the last days (today excluded, zeros filled), oldest first';

CREATE VIEW repairsys.stock_forecast AS
SELECT s.sku,
       s.service_center_id,
       s.on_hand,
       s.reserved,
       s.on_hand - s.reserved AS available,
       p.min_stock,
       f.daily_rate,
       p.lead_time_days,
       f.daily_rate * p.lead_time_days AS lead_time_demand,
       f.sigma * repairsys.normal_quantile(p.service_level::double precision) * pg_catalog.sqrt(p.lead_time_days::double precision) AS safety_stock,
       f.daily_rate * p.lead_time_days
         + f.sigma * repairsys.normal_quantile(p.service_level::double precision) * pg_catalog.sqrt(p.lead_time_days::double precision) AS reorder_point,
       CASE WHEN f.daily_rate > 0 THEN (s.on_hand - s.reserved) / f.daily_rate END AS days_of_cover,
       CASE WHEN f.daily_rate > 0 THEN CURRENT_DATE + pg_catalog.floor(greatest(s.on_hand - s.reserved, 0) / f.daily_rate)::integer END AS projected_stockout,
       CASE WHEN s.on_hand - s.reserved <= f.daily_rate * p.lead_time_days
                 + f.sigma * repairsys.normal_quantile(p.service_level::double precision) * pg_catalog.sqrt(p.lead_time_days::double precision)
                 OR s.on_hand - s.reserved < p.min_stock
            THEN greatest(pg_catalog.ceil(greatest(2 * f.daily_rate * p.lead_time_days
                     + f.sigma * repairsys.normal_quantile(p.service_level::double precision) * pg_catalog.sqrt(p.lead_time_days::double precision),
                     p.min_stock::double precision) - (s.on_hand - s.reserved)), 0)::integer
            ELSE 0 END AS suggested_order_qty,
       CASE WHEN s.on_hand - s.reserved <= 0 THEN 'stockout'
            WHEN s.on_hand - s.reserved < p.min_stock THEN 'below_min'
            WHEN f.daily_rate > 0 AND s.on_hand - s.reserved <= f.daily_rate * p.lead_time_days
                 + f.sigma * repairsys.normal_quantile(p.service_level::double precision) * pg_catalog.sqrt(p.lead_time_days::double precision)
            THEN 'below_reorder_point'
            ELSE 'ok' END AS alert
  FROM repairsys.stock s
  JOIN repairsys.part p ON p.sku = s.sku
  CROSS JOIN LATERAL (
	SELECT repairsys.forecast_demand(x.series, repairsys.setting_value('forecast_method'),
	                                 repairsys.setting_value('forecast_alpha')::double precision,
	                                 repairsys.setting_value('forecast_beta')::double precision) AS daily_rate,
	       (SELECT coalesce(stddev_pop(v), 0) FROM pg_catalog.unnest(x.series) v) AS sigma
	  FROM (SELECT repairsys.daily_issues(s.sku, s.service_center_id,
	                                      repairsys.setting_value('forecast_days')::integer) AS series) x
	OFFSET 0	-- computed once per row, not once per column that uses it
  ) f;
COMMENT ON VIEW repairsys.stock_forecast IS 'Per part and center: stock, forecast daily demand, safety stock, reorder point, cover, suggested order and alert (docs/parts.md)';
COMMENT ON COLUMN repairsys.stock_forecast.sku IS 'Part';
COMMENT ON COLUMN repairsys.stock_forecast.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.stock_forecast.on_hand IS 'Units in stock';
COMMENT ON COLUMN repairsys.stock_forecast.reserved IS 'Units reserved for tickets';
COMMENT ON COLUMN repairsys.stock_forecast.available IS 'on_hand - reserved';
COMMENT ON COLUMN repairsys.stock_forecast.min_stock IS 'Minimum stock of the part (part.min_stock)';
COMMENT ON COLUMN repairsys.stock_forecast.daily_rate IS 'Forecast units issued per day (forecast_demand over the daily issues of the last forecast_days days, method forecast_method)';
COMMENT ON COLUMN repairsys.stock_forecast.lead_time_days IS 'Days from order to receipt';
COMMENT ON COLUMN repairsys.stock_forecast.lead_time_demand IS 'daily_rate * lead_time_days';
COMMENT ON COLUMN repairsys.stock_forecast.safety_stock IS 'normal_quantile(service_level) * sigma of daily issues * sqrt(lead_time_days)';
COMMENT ON COLUMN repairsys.stock_forecast.reorder_point IS 'lead_time_demand + safety_stock: order when available falls to it';
COMMENT ON COLUMN repairsys.stock_forecast.days_of_cover IS 'available / daily_rate (NULL without demand)';
COMMENT ON COLUMN repairsys.stock_forecast.projected_stockout IS 'Date the available units run out at the forecast rate (NULL without demand)';
COMMENT ON COLUMN repairsys.stock_forecast.suggested_order_qty IS 'Units to order now: up to max(reorder_point + lead_time_demand, min_stock) when at or below the reorder point or the minimum, else 0';
COMMENT ON COLUMN repairsys.stock_forecast.alert IS 'stockout (nothing available), below_min (under part.min_stock), below_reorder_point, or ok';

CREATE VIEW repairsys.low_stock AS
SELECT s.sku, p.name, s.service_center_id, s.on_hand - s.reserved AS available, p.min_stock,
       p.min_stock - (s.on_hand - s.reserved) AS missing
  FROM repairsys.stock s JOIN repairsys.part p ON p.sku = s.sku
 WHERE s.on_hand - s.reserved < p.min_stock;
COMMENT ON VIEW repairsys.low_stock IS 'Low-stock alert: parts whose available units at a center are below part.min_stock';
COMMENT ON COLUMN repairsys.low_stock.sku IS 'Part';
COMMENT ON COLUMN repairsys.low_stock.name IS 'Part name';
COMMENT ON COLUMN repairsys.low_stock.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.low_stock.available IS 'on_hand - reserved';
COMMENT ON COLUMN repairsys.low_stock.min_stock IS 'Minimum stock of the part';
COMMENT ON COLUMN repairsys.low_stock.missing IS 'Units missing to reach the minimum';

CREATE VIEW repairsys.stock_transfer_suggestion AS
WITH need AS (
	SELECT f.sku, f.service_center_id, f.available,
	       greatest(pg_catalog.ceil(greatest(f.reorder_point, f.min_stock::double precision)), 0)::integer AS target
	  FROM repairsys.stock_forecast f
), shortage AS (
	SELECT sku, service_center_id, available, target - available AS short FROM need WHERE available < target
), surplus AS (
	SELECT sku, service_center_id, available, available - target AS spare FROM need WHERE available > target
)
SELECT sh.sku,
       su.service_center_id AS from_center_id,
       sh.service_center_id AS to_center_id,
       LEAST(su.spare, sh.short) AS qty,
       su.available AS from_available,
       sh.available AS to_available,
       sh.short AS to_shortage,
       repairsys.haversine_km(a.lat, a.lon, b.lat, b.lon) AS distance_km
  FROM shortage sh
  JOIN surplus su ON su.sku = sh.sku
  JOIN repairsys.service_center a ON a.id = su.service_center_id
  JOIN repairsys.service_center b ON b.id = sh.service_center_id;
COMMENT ON VIEW repairsys.stock_transfer_suggestion IS 'Transfers (调配) that would cover a center''s shortage from another center''s surplus of the same part, nearest first when ordered by distance_km';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.sku IS 'Part';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.from_center_id IS 'Center with units above its own need (max of reorder point and minimum stock)';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.to_center_id IS 'Center short of its need';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.qty IS 'Units to move: the smaller of the surplus and the shortage';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.from_available IS 'Available units at the giving center';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.to_available IS 'Available units at the receiving center';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.to_shortage IS 'Units the receiving center is short of its need';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.distance_km IS 'Great-circle distance between the centers (NULL without coordinates)';
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

------------------------------------------------------------------------------
-- Technician performance and customer profiles
------------------------------------------------------------------------------
INSERT INTO repairsys.setting (name, value, description, dump) VALUES
	('technician_available_hours_30d', '176', 'Working hours a technician has in 30 days (22 days x 8 h); the denominator of technician_performance.utilization', false),
	('segment_high_value_total', '10000.00', 'customer_profile: a customer whose purchase_total + total_spent reaches this amount is high_value', false),
	('segment_frequent_repairs', '3', 'customer_profile: a customer with at least this many repair tickets opened within segment_frequent_window is frequent_repair', false),
	('segment_frequent_window', '365 days', 'customer_profile: the look-back interval of segment_frequent_repairs', false),
	('segment_at_risk_rating', '3.0', 'customer_profile: a customer whose average rating is below this value is at_risk', false),
	('segment_at_risk_window', '180 days', 'customer_profile: a customer who filed a complaint within this interval is at_risk', false);

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
	               AND r.status <> 'cancelled'
	               AND r.opened_at > t.resolved_at
	               AND r.opened_at <= t.resolved_at + repairsys.setting_value('rework_window')::interval)) AS first_fixes,
	       avg(date_part('epoch', CASE WHEN t.sla_resolve_within IS NOT NULL
	                                   THEN repairsys.sla_elapsed(t.sla_resolve_within, t.opened_at, t.resolved_at,
	                                                              repairsys.closed_dates(t.service_center_id), t.sla_time_zone)
	                                   ELSE t.resolved_at - t.opened_at END) / 3600)
	         FILTER (WHERE t.resolved_at IS NOT NULL)::numeric AS business_hours,
	       count(*) FILTER (WHERE t.resolved_at <= t.resolve_by) AS sla_met,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.resolve_by IS NOT NULL) AS sla_measured,
	       avg(fb.rating) AS avg_rating,
	       sum(t.labor_minutes) FILTER (WHERE t.resolved_at >= now() - interval '30 days') AS labor_minutes_30d
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	 WHERE t.technician_id = tech.id AND t.status <> 'cancelled'
  ) s ON true;
COMMENT ON VIEW repairsys.technician_performance IS 'Per technician: volume, first-time fix and rework rates, resolution time in business hours, SLA met, rating and utilization (docs/reports.md)';
COMMENT ON COLUMN repairsys.technician_performance.technician_id IS 'Technician';
COMMENT ON COLUMN repairsys.technician_performance.name IS 'Technician name';
COMMENT ON COLUMN repairsys.technician_performance.service_center_id IS 'Service center of the technician';
COMMENT ON COLUMN repairsys.technician_performance.tickets IS 'Tickets assigned to the technician (cancelled ones left out)';
COMMENT ON COLUMN repairsys.technician_performance.resolved IS 'Of these, tickets resolved (resolved_at set)';
COMMENT ON COLUMN repairsys.technician_performance.first_time_fix_rate IS 'Share (0..1) of resolved tickets never reopened and with no later ticket on the same asset and service type opened within rework_window after resolution (NULL: none resolved)';
COMMENT ON COLUMN repairsys.technician_performance.rework_rate IS '1 - first_time_fix_rate: share of resolved tickets reopened or repaired again within rework_window (NULL: none resolved)';
COMMENT ON COLUMN repairsys.technician_performance.mean_resolution_business_hours IS 'Mean hours from opening to resolution, in the business hours of the ticket''s resolve calendar (sla_elapsed with the center''s holidays) when it has an SLA, else wall-clock hours';
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
            ELSE 'regular' END AS segment
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
	 WHERE t.customer_id = c.id AND t.status <> 'cancelled'
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
	centers  bigint[] := '{}';
	techs    bigint[] := '{}';
	custs    bigint[] := '{}';
	types    text[] := ARRAY['demo_ac_repair', 'demo_washer_repair', 'demo_tv_repair', 'demo_fridge_repair', 'demo_phone_screen'];
	models   text[] := ARRAY['Gree KFR-35', 'Haier XQG100', 'Hisense 65E7', 'Midea BCD-520', 'Huawei P60'];
	prices   numeric[] := ARRAY[3299.00, 2599.00, 4999.00, 5899.00, 4488.00];
	skus     text[] := ARRAY['DEMO-CAP', 'DEMO-PUMP', 'DEMO-BOARD', 'DEMO-SCREEN'];
	tag      text;
	n_cust   integer;
	c        bigint;
	k        integer;
	i        integer;
	r        float8;
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
			UPDATE repairsys.ticket x SET status = 'cancelled' WHERE x.id = tid;
			CONTINUE;
		END IF;
		-- a qualified technician with room (capacity), of the ticket's center when there is one
		SELECT ts.technician_id INTO tech
		  FROM repairsys.technician_skill ts JOIN repairsys.technician te ON te.id = ts.technician_id
		 WHERE ts.technician_id = ANY (techs) AND ts.skill = st.required_skill AND ts.level >= st.min_skill_level
		   AND repairsys.open_ticket_count(ts.technician_id) < te.capacity
		 ORDER BY te.service_center_id IS DISTINCT FROM (SELECT x.service_center_id FROM repairsys.ticket x WHERE x.id = tid),
		          pg_catalog.random()
		 LIMIT 1;
		IF tech IS NULL THEN
			CONTINUE;
		END IF;
		UPDATE repairsys.ticket x SET status = 'assigned', technician_id = tech WHERE x.id = tid;
		IF r < 0.15 THEN
			CONTINUE;
		END IF;
		PERFORM repairsys.approve_estimate(tid);
		UPDATE repairsys.ticket x SET status = 'in_progress' WHERE x.id = tid;
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
		   SET status = 'resolved',
		       labor_minutes = st.est_minutes_low + pg_catalog.round((pg_catalog.random() * (st.est_minutes_high - st.est_minutes_low))::numeric),
		       travel_km = pg_catalog.round((pg_catalog.random() * 30)::numeric, 1)
		 WHERE x.id = tid;
		IF pg_catalog.random() < 0.06 THEN
			UPDATE repairsys.ticket x SET status = 'in_progress' WHERE x.id = tid;
			UPDATE repairsys.ticket x SET status = 'resolved' WHERE x.id = tid;
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
				UPDATE repairsys.ticket x SET status = 'closed' WHERE x.id = tid;
			END IF;
		END IF;
	END LOOP;
	RETURN tickets;
END
$$;
COMMENT ON FUNCTION repairsys.demo_load(integer, integer) IS 'Demo data generator: 3 centers, 12 technicians, customers with assets, demo_* service types with SLA policies, stocked parts, and the given number of tickets moved through the life cycle with labor, parts, feedback, invoices and payments; reproducible for a seed (docs/reports.md)';
-- Security (DESIGN.md section 11, docs/security.md): the five roles, what each
-- may do on every table (grants and row-level security policies), the
-- append-only rule of the ledgers, views that apply the caller's rights, and
-- SECURITY DEFINER functions that only the roles needing them may call.
--
-- This piece runs after every other piece of the install script that creates
-- tables, views or functions, and decides for all of them with loops over the
-- catalog: a table, view or SECURITY DEFINER function that a piece adds later
-- is protected by default (row-level security on, admin and auditor only), and
-- the catalog checks of test/pgtap/security_matrix.sql fail until its row in the
-- decision lists below says who else may use it.

------------------------------------------------------------------------------
-- Roles (cluster-wide: created only when missing, so several databases of one
-- cluster can hold the extension; NOLOGIN: the DBA grants them to login roles)
------------------------------------------------------------------------------
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT * FROM (VALUES
			('repairsys_admin', 'repairsys: reads and writes every table of the extension (except rewriting the append-only ledgers)'),
			('repairsys_dispatcher', 'repairsys: manages customers, assets, tickets and their assignment; reads everything'),
			('repairsys_technician', 'repairsys: sees and works on the tickets assigned to the technician whose db_role is the current role'),
			('repairsys_customer', 'repairsys: sees own tickets, bills and payments; approves estimates, pays and rates (customer.db_role is the current role)'),
			('repairsys_auditor', 'repairsys: reads every table, writes nothing')
		) AS v(rolname, description)
	LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) r.rolname) THEN
			EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r.rolname);
			EXECUTE pg_catalog.format('COMMENT ON ROLE %I IS %L', r.rolname, r.description);
		END IF;
		EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA repairsys TO %I', r.rolname);
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- Append-only tables: UPDATE, DELETE and TRUNCATE fail for every role but the
-- owner (trigger repairsys.forbid_change()); a piece may have added the
-- triggers already, so they are added here only where missing.
------------------------------------------------------------------------------
DO $$
DECLARE
	t   text;
	fn  oid := 'repairsys.forbid_change()'::pg_catalog.regprocedure;
BEGIN
	FOREACH t IN ARRAY ARRAY['ticket_event', 'stock_movement', 'invoice', 'invoice_line', 'payment'] LOOP
		-- tgtype bits: 1 row, 2 before, 8 delete, 16 update, 32 truncate
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g
		                WHERE g.tgrelid OPERATOR(pg_catalog.=) pg_catalog.format('repairsys.%I', t)::pg_catalog.regclass
		                  AND g.tgfoid OPERATOR(pg_catalog.=) fn
		                  AND (g.tgtype::integer OPERATOR(pg_catalog.&) 27) OPERATOR(pg_catalog.=) 27) THEN
			EXECUTE pg_catalog.format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON repairsys.%I
				FOR EACH ROW EXECUTE FUNCTION repairsys.forbid_change()', t || '_append_only', t);
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g
		                WHERE g.tgrelid OPERATOR(pg_catalog.=) pg_catalog.format('repairsys.%I', t)::pg_catalog.regclass
		                  AND g.tgfoid OPERATOR(pg_catalog.=) fn
		                  AND (g.tgtype::integer OPERATOR(pg_catalog.&) 34) OPERATOR(pg_catalog.=) 34) THEN
			EXECUTE pg_catalog.format('CREATE TRIGGER %I BEFORE TRUNCATE ON repairsys.%I
				FOR EACH STATEMENT EXECUTE FUNCTION repairsys.forbid_change()', t || '_no_truncate', t);
		END IF;
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- Tables: grants and row-level security
------------------------------------------------------------------------------
-- Who a row belongs to.  The policies compare indexed columns with the result
-- of an uncorrelated sub-select, evaluated once per statement (an InitPlan), so
-- a policy costs one index probe on technician.db_role / customer.db_role plus
-- an index scan of the rows it lets through:
--   me_t     the technician whose db_role is the current role
--   me_c     the customer whose db_role is the current role
--   tickets  the tickets the current role may see (row-level security of
--            repairsys.ticket applies inside the sub-select)
--   invoices the invoices the current role may see
--
-- Every table gets one policy per role that may touch it, named after the
-- role; the grants say which commands that role may run, the policy which
-- rows.  Tables not listed here get the admin and auditor policies only.
DO $$
DECLARE
	me_t     constant text := '(SELECT t.id FROM repairsys.technician t WHERE t.db_role = CURRENT_USER)';
	me_c     constant text := '(SELECT c.id FROM repairsys.customer c WHERE c.db_role = CURRENT_USER)';
	tickets  constant text := 'ARRAY(SELECT t.id FROM repairsys.ticket t)';
	invoices constant text := 'ARRAY(SELECT i.id FROM repairsys.invoice i)';
	append_only constant text[] := ARRAY['ticket_event', 'stock_movement', 'invoice', 'invoice_line', 'payment'];
	tbl   record;
	d     record;
	-- the columns of customer a dispatcher may write: all but the id and the
	-- login mapping (only the admin decides who a database role is)
	cust_cols constant text := (
		SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
		  FROM pg_catalog.pg_attribute a
		 WHERE a.attrelid OPERATOR(pg_catalog.=) 'repairsys.customer'::pg_catalog.regclass
		   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
		   AND a.attidentity OPERATOR(pg_catalog.=) '' AND a.attgenerated OPERATOR(pg_catalog.=) ''
		   AND a.attname OPERATOR(pg_catalog.<>) ALL (ARRAY['db_role']::name[]));
BEGIN
	CREATE TEMPORARY TABLE pg_temp.repairsys_decision (
		tbl text, role text, privs text, cmd text, using_expr text, check_expr text
	) ON COMMIT DROP;
	INSERT INTO pg_temp.repairsys_decision VALUES
	-- reference data: everybody reads, the admin writes
	('setting',           'reader', 'SELECT', 'SELECT', 'true', NULL),
	('service_center',    'reader', 'SELECT', 'SELECT', 'true', NULL),
	('service_type',      'reader', 'SELECT', 'SELECT', 'true', NULL),
	('complexity_rule',   'reader', 'SELECT', 'SELECT', 'true', NULL),
	('urgency_rule',      'reader', 'SELECT', 'SELECT', 'true', NULL),
	('sla_policy',        'reader', 'SELECT', 'SELECT', 'true', NULL),
	('holiday',           'reader', 'SELECT', 'SELECT', 'true', NULL),
	('ticket_status',     'reader', 'SELECT', 'SELECT', 'true', NULL),
	('ticket_transition', 'reader', 'SELECT', 'SELECT', 'true', NULL),
	('part',              'reader', 'SELECT', 'SELECT', 'true', NULL),
	-- assignment rules and stock: staff read
	('assign_policy',     'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('stock',             'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('stock',             'repairsys_technician', 'SELECT', 'SELECT', 'true', NULL),
	('technician_load',   'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('technician_load',   'repairsys_technician', 'SELECT', 'SELECT', 'true', NULL),
	-- people
	-- (the dispatcher sets who takes work: active and capacity; automatic
	-- assignment locks a technician's row by updating it)
	('technician',        'repairsys_dispatcher', 'SELECT, UPDATE (active, capacity)', 'ALL', 'true', 'true'),
	('technician',        'repairsys_technician', 'SELECT', 'SELECT', 'db_role = CURRENT_USER', NULL),
	('technician_skill',  'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('technician_skill',  'repairsys_technician', 'SELECT', 'SELECT', 'technician_id = ' || me_t, NULL),
	('customer',          'repairsys_dispatcher', pg_catalog.format('SELECT, INSERT (%s), UPDATE (%s)', cust_cols, cust_cols), 'ALL', 'true', 'true'),
	('customer',          'repairsys_technician', 'SELECT', 'SELECT', 'id = ANY (ARRAY(SELECT t.customer_id FROM repairsys.ticket t))', NULL),
	('customer',          'repairsys_customer',   'SELECT', 'SELECT', 'db_role = CURRENT_USER', NULL),
	('asset',             'repairsys_dispatcher', 'SELECT, INSERT, UPDATE', 'ALL', 'true', 'true'),
	('asset',             'repairsys_technician', 'SELECT', 'SELECT', 'id = ANY (ARRAY(SELECT t.asset_id FROM repairsys.ticket t))', NULL),
	('asset',             'repairsys_customer',   'SELECT', 'SELECT', 'customer_id = ' || me_c, NULL),
	-- tickets: the dispatcher manages all, a technician works on own, a
	-- customer sees own and approves the estimate
	('ticket',            'repairsys_dispatcher', 'SELECT, INSERT, UPDATE', 'ALL', 'true', 'true'),
	('ticket',            'repairsys_technician', 'SELECT, UPDATE (status, labor_minutes, travel_km, warranty_void)', 'ALL',
	                      'technician_id = ' || me_t, 'technician_id = ' || me_t),
	('ticket',            'repairsys_customer',   'SELECT, UPDATE (estimate_approved_at)', 'ALL',
	                      'customer_id = ' || me_c, 'customer_id = ' || me_c || ' AND estimate_approved_at IS NOT NULL'),
	('ticket_event',      'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('ticket_event',      'repairsys_technician', 'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	('ticket_event',      'repairsys_customer',   'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	-- parts
	('ticket_part',       'repairsys_dispatcher', 'SELECT, INSERT, UPDATE', 'ALL', 'true', 'true'),
	('ticket_part',       'repairsys_technician', 'SELECT, INSERT, UPDATE', 'ALL', 'ticket_id = ANY (' || tickets || ')', 'ticket_id = ANY (' || tickets || ')'),
	('ticket_part',       'repairsys_customer',   'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	-- (the dispatcher books deliveries and issues/returns for tickets; a
	-- technician issues and returns parts of their own tickets; transfers
	-- between centers and inventory adjustments are the admin's, who alone
	-- may lock and write the derived stock rows)
	('stock_movement',    'repairsys_dispatcher', 'SELECT, INSERT', 'ALL', 'true', 'kind IN (''receipt'', ''issue'', ''return'')'),
	('stock_movement',    'repairsys_technician', 'SELECT, INSERT', 'ALL', 'ticket_id = ANY (' || tickets || ')',
	                      'ticket_id = ANY (' || tickets || ') AND kind IN (''issue'', ''return'')'),
	('part_unit',         'repairsys_dispatcher', 'SELECT, INSERT, UPDATE', 'ALL', 'true', 'true'),
	('part_unit',         'repairsys_technician', 'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	-- billing
	('invoice',           'repairsys_dispatcher', 'SELECT, INSERT', 'ALL', 'true', 'true'),
	('invoice',           'repairsys_customer',   'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	('invoice_line',      'repairsys_dispatcher', 'SELECT, INSERT', 'ALL', 'true', 'true'),
	('invoice_line',      'repairsys_customer',   'SELECT', 'SELECT', 'invoice_id = ANY (' || invoices || ')', NULL),
	('payment',           'repairsys_dispatcher', 'SELECT, INSERT', 'ALL', 'true', 'true'),
	('payment',           'repairsys_customer',   'SELECT, INSERT (invoice_id, method, amount, idempotency_key)', 'ALL',
	                      'invoice_id = ANY (' || invoices || ')', 'invoice_id = ANY (' || invoices || ')'),
	('installment',       'repairsys_dispatcher', 'SELECT, INSERT', 'ALL', 'true', 'true'),
	('installment',       'repairsys_customer',   'SELECT', 'SELECT', 'invoice_id = ANY (' || invoices || ')', NULL),
	('ticket_discount',   'repairsys_dispatcher', 'SELECT, INSERT', 'ALL', 'true', 'true'),
	('ticket_discount',   'repairsys_customer',   'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	-- follow-ups: the dispatcher's call list
	('follow_up',         'repairsys_dispatcher', 'SELECT, UPDATE (done_at, outcome)', 'ALL', 'true', 'true'),
	-- feedback: the customer rates own tickets
	('feedback',          'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('feedback',          'repairsys_technician', 'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	('feedback',          'repairsys_customer',   'SELECT, INSERT (ticket_id, rating, comment, complaint)', 'ALL',
	                      'ticket_id = ANY (' || tickets || ')', 'ticket_id = ANY (' || tickets || ')');

	FOR tbl IN
		SELECT c.oid::pg_catalog.regclass AS rel, c.relname::text AS relname
		  FROM pg_catalog.pg_class c
		 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
		   AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[])
		   AND NOT c.relispartition
		 ORDER BY c.relname
	LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl.rel);
		EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', tbl.rel);
		-- admin: everything, but never rewriting the append-only ledgers
		EXECUTE pg_catalog.format('GRANT %s ON %s TO repairsys_admin',
			CASE WHEN tbl.relname OPERATOR(pg_catalog.=) ANY (append_only) THEN 'SELECT, INSERT'
			     ELSE 'SELECT, INSERT, UPDATE, DELETE' END, tbl.rel);
		EXECUTE pg_catalog.format('CREATE POLICY admin ON %s FOR ALL TO repairsys_admin USING (true) WITH CHECK (true)', tbl.rel);
		-- auditor: reads everything
		EXECUTE pg_catalog.format('GRANT SELECT ON %s TO repairsys_auditor', tbl.rel);
		EXECUTE pg_catalog.format('CREATE POLICY auditor ON %s FOR SELECT TO repairsys_auditor USING (true)', tbl.rel);

		FOR d IN SELECT * FROM pg_temp.repairsys_decision x WHERE x.tbl OPERATOR(pg_catalog.=) tbl.relname LOOP
			IF d.role OPERATOR(pg_catalog.=) 'reader' THEN
				EXECUTE pg_catalog.format('GRANT SELECT ON %s TO repairsys_dispatcher, repairsys_technician, repairsys_customer', tbl.rel);
				EXECUTE pg_catalog.format('CREATE POLICY reader ON %s FOR SELECT TO repairsys_dispatcher, repairsys_technician, repairsys_customer USING (true)', tbl.rel);
				CONTINUE;
			END IF;
			EXECUTE pg_catalog.format('GRANT %s ON %s TO %I', d.privs, tbl.rel, d.role);
			EXECUTE pg_catalog.format('CREATE POLICY %I ON %s FOR %s TO %I USING (%s)%s',
				pg_catalog.substr(d.role, 11), tbl.rel, d.cmd, d.role, d.using_expr,
				CASE WHEN d.check_expr IS NULL THEN '' ELSE ' WITH CHECK (' || d.check_expr || ')' END);
		END LOOP;
	END LOOP;
	DROP TABLE pg_temp.repairsys_decision;
END
$$;

------------------------------------------------------------------------------
-- Views apply the rights of the caller (security_invoker, PostgreSQL 15 and
-- later): a technician reading a report view sees what row-level security
-- lets them see in the tables under it, nothing more.  Before 15 a view runs
-- with its owner's rights, so there only the admin, dispatcher and auditor
-- get the views.
------------------------------------------------------------------------------
DO $$
DECLARE
	v record;
	invoker boolean := pg_catalog.current_setting('server_version_num')::integer OPERATOR(pg_catalog.>=) 150000;
BEGIN
	FOR v IN
		SELECT c.oid::pg_catalog.regclass AS rel, c.relkind
		  FROM pg_catalog.pg_class c
		 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
		   AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['v', 'm']::"char"[])
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', v.rel);
		IF v.relkind OPERATOR(pg_catalog.=) 'v' AND invoker THEN
			EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_invoker = true)', v.rel);
			EXECUTE pg_catalog.format('GRANT SELECT ON %s TO repairsys_admin, repairsys_dispatcher, repairsys_auditor, repairsys_technician, repairsys_customer', v.rel);
		ELSE
			EXECUTE pg_catalog.format('GRANT SELECT ON %s TO repairsys_admin, repairsys_dispatcher, repairsys_auditor', v.rel);
		END IF;
	END LOOP;
END
$$;

-- Sequences of non-identity columns (identity columns need none).
DO $$
DECLARE
	s regclass;
BEGIN
	FOR s IN
		SELECT c.oid::pg_catalog.regclass FROM pg_catalog.pg_class c
		 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
		   AND c.relkind OPERATOR(pg_catalog.=) 'S'
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM PUBLIC', s);
		EXECUTE pg_catalog.format('GRANT USAGE ON SEQUENCE %s TO repairsys_admin, repairsys_dispatcher, repairsys_technician', s);
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- SECURITY DEFINER functions: nobody but the roles that need one may call it.
-- Trigger functions are never called directly (a trigger fires whatever the
-- EXECUTE privilege), so nobody gets them.  Ordinary functions (type I/O,
-- operators, pure and invoker functions) keep PostgreSQL's default EXECUTE
-- for PUBLIC: they run with the caller's rights, and only roles with USAGE on
-- schema repairsys reach them.
------------------------------------------------------------------------------
DO $$
DECLARE
	f record;
	grantees text;
BEGIN
	FOR f IN
		SELECT p.oid::pg_catalog.regprocedure AS fn, p.proname::text AS proname,
		       p.prorettype OPERATOR(pg_catalog.=) 'pg_catalog.trigger'::pg_catalog.regtype AS is_trigger
		  FROM pg_catalog.pg_proc p
		 WHERE p.pronamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace AND p.prosecdef
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f.fn);
		grantees := CASE
			WHEN f.is_trigger THEN NULL
			-- guards of status changes: whoever may move a ticket
			WHEN f.proname OPERATOR(pg_catalog.=) 'check_guard'
			THEN 'repairsys_admin, repairsys_dispatcher, repairsys_technician'
			ELSE 'repairsys_admin' END;
		IF grantees IS NOT NULL THEN
			EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', f.fn, grantees);
		END IF;
	END LOOP;
END
$$;
-- repairsys.check_invariants(): one row per violation of the invariants the
-- rest of the extension maintains (docs/performance.md).  Empty on a healthy
-- database; the load tests run it after concurrent work and after a crash.

CREATE FUNCTION repairsys.check_invariants()
RETURNS TABLE (invariant text, ticket_id bigint, sku text, service_center_id bigint, invoice_id bigint, technician_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	-- every ticket's status is its last history row's
	SELECT 'ticket status equals its last event', t.id, NULL::text, t.service_center_id, NULL::bigint, t.technician_id,
	       pg_catalog.format('status "%s", last event to "%s"', t.status, coalesce(e.to_status, '(no history)'))
	  FROM repairsys.ticket t
	  LEFT JOIN LATERAL (SELECT x.to_status FROM repairsys.ticket_event x WHERE x.ticket_id = t.id ORDER BY x.id DESC LIMIT 1) e ON true
	 WHERE e.to_status IS DISTINCT FROM t.status
	UNION ALL
	-- stock is the ledger, never negative
	SELECT 'stock equals the ledger sum', NULL, coalesce(s.sku, m.sku), coalesce(s.service_center_id, m.service_center_id), NULL, NULL,
	       pg_catalog.format('on_hand %s, ledger %s', coalesce(s.on_hand, 0), coalesce(m.total, 0))
	  FROM repairsys.stock s
	  FULL JOIN (SELECT x.sku, x.service_center_id, sum(x.qty) AS total FROM repairsys.stock_movement x GROUP BY 1, 2) m
	    ON m.sku = s.sku AND m.service_center_id = s.service_center_id
	 WHERE coalesce(s.on_hand, 0) <> coalesce(m.total, 0)
	UNION ALL
	SELECT 'stock is never negative', NULL, s.sku, s.service_center_id, NULL, NULL,
	       pg_catalog.format('on_hand %s, reserved %s', s.on_hand, s.reserved)
	  FROM repairsys.stock s WHERE s.on_hand < 0 OR s.reserved < 0
	UNION ALL
	-- reservations: stock.reserved is their sum and never exceeds on_hand
	SELECT 'reserved equals the reservations', NULL, coalesce(s.sku, r.sku), coalesce(s.service_center_id, r.service_center_id), NULL, NULL,
	       pg_catalog.format('reserved %s, reservations %s', coalesce(s.reserved, 0), coalesce(r.total, 0))
	  FROM repairsys.stock s
	  FULL JOIN (SELECT x.sku, x.service_center_id, sum(x.qty) AS total FROM repairsys.ticket_part x WHERE x.state = 'reserved' GROUP BY 1, 2) r
	    ON r.sku = s.sku AND r.service_center_id = s.service_center_id
	 WHERE coalesce(s.reserved, 0) <> coalesce(r.total, 0)
	UNION ALL
	SELECT 'reservations never exceed on hand', NULL, s.sku, s.service_center_id, NULL, NULL,
	       pg_catalog.format('on_hand %s, reserved %s', s.on_hand, s.reserved)
	  FROM repairsys.stock s WHERE s.reserved > s.on_hand
	UNION ALL
	-- no technician over capacity (open tickets: non-terminal states)
	SELECT 'no technician over capacity', NULL, NULL, tech.service_center_id, NULL, tech.id,
	       pg_catalog.format('technician %s: %s open tickets, capacity %s', tech.id, o.n, tech.capacity)
	  FROM repairsys.technician tech
	  JOIN (SELECT x.technician_id, count(*) AS n FROM repairsys.ticket x JOIN repairsys.ticket_status st ON st.code = x.status
	         WHERE NOT st.is_terminal AND x.technician_id IS NOT NULL GROUP BY 1) o ON o.technician_id = tech.id
	 WHERE o.n > tech.capacity
	UNION ALL
	-- closed_at is set exactly while the status is terminal (open tickets are
	-- counted by it)
	SELECT 'closed_at set exactly in terminal states', x.id, NULL, x.service_center_id, NULL, x.technician_id,
	       pg_catalog.format('status %s, closed_at %s', x.status, coalesce(x.closed_at::text, 'NULL'))
	  FROM repairsys.ticket x JOIN repairsys.ticket_status st ON st.code = x.status
	 WHERE st.is_terminal <> (x.closed_at IS NOT NULL)
	UNION ALL
	-- each technician's kept load equals a recount of his open tickets and
	-- of the feedback on his tickets
	SELECT 'technician load equals a recount', NULL, NULL, tech.service_center_id, NULL, tech.id,
	       pg_catalog.format('kept: %s open, %s ratings summing to %s; recounted: %s open, %s ratings summing to %s',
	                         coalesce(l.open_tickets, 0), coalesce(l.rating_count, 0), coalesce(l.rating_sum, 0),
	                         r.open_tickets, r.rating_count, r.rating_sum)
	  FROM repairsys.technician tech
	  LEFT JOIN repairsys.technician_load l ON l.technician_id = tech.id
	  CROSS JOIN LATERAL (
		SELECT (SELECT count(*) FROM repairsys.ticket x JOIN repairsys.ticket_status st ON st.code = x.status
		         WHERE x.technician_id = tech.id AND NOT st.is_terminal) AS open_tickets,
		       (SELECT count(*) FROM repairsys.feedback f JOIN repairsys.ticket x ON x.id = f.ticket_id
		         WHERE x.technician_id = tech.id) AS rating_count,
		       (SELECT coalesce(sum(f.rating), 0) FROM repairsys.feedback f JOIN repairsys.ticket x ON x.id = f.ticket_id
		         WHERE x.technician_id = tech.id) AS rating_sum) r
	 WHERE (coalesce(l.open_tickets, 0), coalesce(l.rating_count, 0), coalesce(l.rating_sum, 0))
	       IS DISTINCT FROM (r.open_tickets, r.rating_count, r.rating_sum)
	UNION ALL
	-- every bill's lines sum to its total
	SELECT 'bill lines sum to the total', b.ticket_id, NULL, NULL, NULL, NULL,
	       pg_catalog.format('total %s, lines %s', b.total, coalesce(d.s, 0))
	  FROM repairsys.bill_summary b
	  LEFT JOIN LATERAL (SELECT sum(x.amount + x.tax_amount) AS s FROM repairsys.bill_detail x WHERE x.ticket_id = b.ticket_id) d ON true
	 WHERE b.total <> coalesce(d.s, 0)
	UNION ALL
	-- every invoice equals its lines
	SELECT 'invoice equals its lines', i.ticket_id, NULL, i.service_center_id, i.id, NULL,
	       pg_catalog.format('total %s, lines %s', i.total, coalesce(l.s, 0))
	  FROM repairsys.invoice i
	  LEFT JOIN LATERAL (SELECT sum(x.amount + x.tax_amount) AS s FROM repairsys.invoice_line x WHERE x.invoice_id = i.id) l ON true
	 WHERE i.total <> coalesce(l.s, 0)
	UNION ALL
	-- payments never exceed invoices
	SELECT 'payments never exceed the invoice', i.ticket_id, NULL, i.service_center_id, i.id, NULL,
	       pg_catalog.format('total %s, paid %s', i.total, p.s)
	  FROM repairsys.invoice i
	  JOIN LATERAL (SELECT sum(x.amount) AS s FROM repairsys.payment x WHERE x.invoice_id = i.id) p ON true
	 WHERE p.s > i.total;
END;
COMMENT ON FUNCTION repairsys.check_invariants() IS 'One row per violated invariant: ticket status = last event, stock = ledger and never negative, reserved = reservations and within on hand, no technician over capacity, closed_at set exactly in terminal states, each technician''s kept load = a recount, bill lines = bill total, invoice = its lines, payments within the invoice; empty on a healthy database';
-- Last piece of the install script: work that must see every object the
-- pieces before created.

-- pg_dump keeps the state of a sequence of an extension only when it is
-- registered itself: register the identity sequence of every table that is
-- registered for dumping, so restored ids are not handed out again.
DO $$
DECLARE
	seq regclass;
BEGIN
	FOR seq IN
		SELECT pg_catalog.pg_get_serial_sequence(c.oid::regclass::text, a.attname)::regclass
		  FROM pg_catalog.pg_extension e
		  CROSS JOIN LATERAL pg_catalog.unnest(e.extconfig) AS cfg(reloid)
		  JOIN pg_catalog.pg_class c ON c.oid = cfg.reloid AND c.relkind IN ('r', 'p')
		  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> '' AND NOT a.attisdropped
		 WHERE e.extname = 'repairsys'
	LOOP
		PERFORM pg_catalog.pg_extension_config_dump(seq, '');
	END LOOP;
END
$$;
