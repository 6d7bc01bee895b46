------------------------------------------------------------------------------
-- sla_interval: SLA targets on the wall clock or in business hours (the type in
-- src/sla_interval.c, deadline / elapsed / advance in src/sla_calendar.c)
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

-- open / open_as (make-up working days, docs/sla.md "Closed and open
-- dates"): an open date has the windows of the ISO weekday at the same
-- position in open_as (NULL: Monday for all); a date both closed and open is
-- closed.
CREATE FUNCTION repairsys.sla_deadline(sla repairsys.sla_interval, start timestamptz,
                                       closed date[] DEFAULT NULL, default_zone text DEFAULT NULL,
                                       open date[] DEFAULT NULL, open_as integer[] DEFAULT NULL)
RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'sla_interval_deadline' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_deadline(repairsys.sla_interval, timestamptz, date[], text, date[], integer[]) IS 'Deadline of the target counted from start, with whole local dates closed (holidays; NULL: none) and open (make-up working days with Monday''s windows, or those of the ISO weekday at the same position in open_as; NULL: none; closed wins); default_zone is the calendar''s zone when the value names none (NULL: the session TimeZone)';

CREATE FUNCTION repairsys.sla_advance(sla repairsys.sla_interval, start timestamptz, amount interval,
                                      closed date[] DEFAULT NULL, default_zone text DEFAULT NULL,
                                      open date[] DEFAULT NULL, open_as integer[] DEFAULT NULL)
RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'sla_interval_advance' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_advance(repairsys.sla_interval, timestamptz, interval, date[], text, date[], integer[]) IS 'The earliest instant at which amount of the value''s clock (business hours of its calendar with the closed and open dates, or the wall clock) has elapsed since start; the target itself is ignored';

CREATE FUNCTION repairsys.sla_elapsed(sla repairsys.sla_interval, from_ts timestamptz, to_ts timestamptz,
                                      closed date[] DEFAULT NULL, default_zone text DEFAULT NULL,
                                      open date[] DEFAULT NULL, open_as integer[] DEFAULT NULL)
RETURNS interval
	AS 'MODULE_PATHNAME', 'sla_interval_elapsed' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_elapsed(repairsys.sla_interval, timestamptz, timestamptz, date[], text, date[], integer[]) IS 'Business time of the value''s calendar (with the closed and open dates) between two instants (wall-clock values: to - from); negative when to_ts is before from_ts';

CREATE FUNCTION repairsys.sla_target(repairsys.sla_interval) RETURNS interval
	AS 'MODULE_PATHNAME', 'sla_interval_target' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_target(repairsys.sla_interval) IS 'The target duration as an interval of hours and minutes (1d = 24:00:00)';
CREATE FUNCTION repairsys.sla_calendar(repairsys.sla_interval) RETURNS text
	AS 'MODULE_PATHNAME', 'sla_interval_calendar' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_calendar(repairsys.sla_interval) IS 'The canonical calendar text (after "in"), NULL for a wall-clock target';

-- The concrete business windows of a calendar (technician shifts of
-- 52_dispatch.sql, docs/dispatch.md).
CREATE FUNCTION repairsys.sla_windows(sla repairsys.sla_interval, from_ts timestamptz, to_ts timestamptz,
                                      closed date[] DEFAULT NULL, default_zone text DEFAULT NULL,
                                      open date[] DEFAULT NULL, open_as integer[] DEFAULT NULL)
RETURNS TABLE (starts timestamptz, ends timestamptz)
	AS 'MODULE_PATHNAME', 'sla_interval_windows' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION repairsys.sla_windows(repairsys.sla_interval, timestamptz, timestamptz, date[], text, date[], integer[]) IS 'The business windows of the value''s calendar (with the closed and open dates, as in sla_elapsed) that meet [from_ts, to_ts), clipped to it, in time order, touching windows merged (wall-clock values: the whole stretch); their lengths sum to sla_elapsed; at most 3660 days (54000)';
