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
CREATE FUNCTION repairsys.fee_tier_hash_extended(repairsys.fee_tier, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'fee_tier_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.fee_tier_cmp(repairsys.fee_tier, repairsys.fee_tier) IS 'Total order of fee_tier values (btree support)';
COMMENT ON FUNCTION repairsys.fee_tier_eq(repairsys.fee_tier, repairsys.fee_tier) IS 'Implementation of = for fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_ne(repairsys.fee_tier, repairsys.fee_tier) IS 'Implementation of <> for fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_lt(repairsys.fee_tier, repairsys.fee_tier) IS 'Implementation of < for fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_le(repairsys.fee_tier, repairsys.fee_tier) IS 'Implementation of <= for fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_gt(repairsys.fee_tier, repairsys.fee_tier) IS 'Implementation of > for fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_ge(repairsys.fee_tier, repairsys.fee_tier) IS 'Implementation of >= for fee_tier';
COMMENT ON FUNCTION repairsys.fee_tier_hash(repairsys.fee_tier) IS 'Hash of a fee_tier (hash index and hash join support)';
COMMENT ON FUNCTION repairsys.fee_tier_hash_extended(repairsys.fee_tier, bigint) IS 'Seeded 64-bit hash of a fee_tier (hash partitioning support; seed 0 gives fee_tier_hash in the low 32 bits)';

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
	FUNCTION 1 repairsys.fee_tier_hash(repairsys.fee_tier),
	FUNCTION 2 repairsys.fee_tier_hash_extended(repairsys.fee_tier, bigint);

CREATE FUNCTION repairsys.charge(fee repairsys.fee_tier, quantity numeric) RETURNS numeric
	AS 'MODULE_PATHNAME', 'fee_tier_charge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.charge(repairsys.fee_tier, numeric) IS 'Price of a quantity under a fee_tier schedule (exact; quantity rounded half away from zero to 3 decimals, each slice to cents)';

CREATE FUNCTION repairsys.charge_lines(fee repairsys.fee_tier, quantity numeric,
	OUT line_no integer, OUT kind text, OUT qty_from numeric, OUT qty_to numeric,
	OUT quantity numeric, OUT rate numeric, OUT amount numeric)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'fee_tier_charge_lines' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION repairsys.charge_lines(repairsys.fee_tier, numeric) IS 'Bill lines of a charge (base, one per tier slice, minimum or maximum adjustment); the amounts sum exactly to charge()';
