-- upgrade-fragment-cfix.sql: what issue 16 item 3 (branch cfix) changes in
-- objects that existed in 1.1, for repairsys--1.1--1.2.sql.  The C changes
-- of that item (files split, shared helpers, symbol prefixes) keep every
-- symbol that an install script binds, so no other function needs to be
-- declared again.

-- fee_tier gets the seeded 64-bit hash (hash support function 2), as
-- sla_interval has: hash partitioning on fee_tier columns
-- (src/sql/10_fee_tier.sql holds the same definitions).
CREATE FUNCTION repairsys.fee_tier_hash_extended(repairsys.fee_tier, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'fee_tier_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.fee_tier_hash_extended(repairsys.fee_tier, bigint) IS 'Seeded 64-bit hash of a fee_tier (hash partitioning support; seed 0 gives fee_tier_hash in the low 32 bits)';
ALTER OPERATOR FAMILY repairsys.fee_tier_hash_ops USING hash
	ADD FUNCTION 2 repairsys.fee_tier_hash_extended(repairsys.fee_tier, bigint);
