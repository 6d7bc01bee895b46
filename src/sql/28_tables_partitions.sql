------------------------------------------------------------------------------
-- Months detached from the partitioned history and event log (docs/scaling.md
-- "Partitions by month"; functions in 57_partitions.sql).
------------------------------------------------------------------------------

-- Where repairsys.detach_month() puts a detached month: out of schema
-- repairsys (whose tables the security loops of 90_security.sql and the
-- catalog tests cover), readable by nobody but the owner, to be dumped with
-- pg_dump -t and dropped.  DROP EXTENSION refuses while it holds a table.
CREATE SCHEMA repairsys_archive;
COMMENT ON SCHEMA repairsys_archive IS 'Months detached from repairsys.ticket_event and event by repairsys.detach_month(): plain tables, the owner''s only, to archive with pg_dump -t and drop';
REVOKE ALL ON SCHEMA repairsys_archive FROM PUBLIC;

CREATE TABLE repairsys.archived_month (
	table_name  text NOT NULL CHECK (table_name IN ('ticket_event', 'event')),
	month       date NOT NULL CHECK (pg_catalog.date_trunc('month', month) = month),
	lower_bound timestamptz NOT NULL,
	upper_bound timestamptz NOT NULL,
	archived_as text NOT NULL,
	row_count   bigint NOT NULL CHECK (row_count >= 0),
	detached_at timestamptz NOT NULL DEFAULT now(),
	detached_by name NOT NULL DEFAULT current_user,
	PRIMARY KEY (table_name, month),
	CHECK (lower_bound < upper_bound)
);
COMMENT ON TABLE repairsys.archived_month IS 'Months detached from a partitioned table by detach_month(): their rows are no longer in the table, and check_invariants() accounts for them (written by detach_month() only)';
COMMENT ON COLUMN repairsys.archived_month.table_name IS 'ticket_event or event';
COMMENT ON COLUMN repairsys.archived_month.month IS 'First day of the month (UTC months)';
COMMENT ON COLUMN repairsys.archived_month.lower_bound IS 'First instant of the month (UTC midnight), inclusive';
COMMENT ON COLUMN repairsys.archived_month.upper_bound IS 'First instant of the next month, exclusive';
COMMENT ON COLUMN repairsys.archived_month.archived_as IS 'The detached table (schema repairsys_archive) while it is kept';
COMMENT ON COLUMN repairsys.archived_month.row_count IS 'Rows the month held when it was detached';
COMMENT ON COLUMN repairsys.archived_month.detached_at IS 'When it was detached';
COMMENT ON COLUMN repairsys.archived_month.detached_by IS 'Role that detached it (session user of detach_month())';

SELECT pg_catalog.pg_extension_config_dump('repairsys.archived_month', '');
