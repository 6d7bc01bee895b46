-- repairsys install script, assembled by make from the pieces in src/sql/.
\echo Use "CREATE EXTENSION repairsys" to load this file. \quit

-- The schema is created here rather than through the control file's "schema"
-- setting: then it is a member of the extension (DROP EXTENSION removes it) and
-- a schema of that name planted beforehand makes CREATE EXTENSION fail instead
-- of being adopted with its owner's objects in it.
CREATE SCHEMA repairsys;
COMMENT ON SCHEMA repairsys IS 'repairsys: after-sales repair service domain logic (tickets, pricing, SLA, assignment, spare parts, billing, reports)';
