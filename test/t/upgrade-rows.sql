-- One line per table of schema repairsys: name, row count and an md5 of its
-- rows as JSON (so columns are matched by name, not position), sorted, with
-- only the columns named for the table in the JSON object :'cols'
-- ({"ticket": ["id", "status", ...], ...}; a table it does not name: every
-- column).  test/t/upgrade.sh compares a database before and after an update
-- on the columns it had before, and an updated database with a fresh one.
-- With :'tables' set (comma-separated names), only those tables: the ones
-- the old version had (a table new in 1.2 is empty after an update).
-- With :'keys' ({"table": {"col": "name", "in": ["a", ...]}, ...}), only the
-- rows of those tables whose key is in the list (the seeded rows an old
-- version had: an update adds the settings new in 1.2).  With :'drop'
-- ({"table": ["column", ...]}), those columns are left out: the columns new
-- in 1.2 that a user sets, which an old database cannot have had.
\if :{?tables}
\else
\set tables ''
\endif
\if :{?keys}
\else
\set keys '{}'
\endif
\if :{?drop}
\else
\set drop '{}'
\endif
SELECT c.relname || ' ' || x.n || ' ' || x.h
  FROM pg_class c
 CROSS JOIN LATERAL (
	SELECT (xpath('/row/n/text()', r))[1]::text AS n, coalesce((xpath('/row/h/text()', r))[1]::text, '-') AS h
	  FROM query_to_xml(format(
	         'SELECT count(*) AS n, md5(string_agg(j::text, %L ORDER BY j::text)) AS h
	            FROM (SELECT CASE WHEN %L::jsonb ? %L
	                              THEN (SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(to_jsonb(t)) e
	                                     WHERE %L::jsonb -> %L ? e.key)
	                              ELSE to_jsonb(t) END - coalesce(ARRAY(SELECT jsonb_array_elements_text(%L::jsonb -> %L)), ARRAY[]::text[]) AS j
	                    FROM repairsys.%I t
	                   WHERE NOT %L::jsonb ? %L
	                      OR (%L::jsonb -> %L -> %L) ? (to_jsonb(t) ->> (%L::jsonb -> %L ->> %L))) s',
	         E'\n', :'cols', c.relname, :'cols', c.relname, :'drop', c.relname, c.relname,
	         :'keys', c.relname, :'keys', c.relname, 'in', :'keys', c.relname, 'col'), false, true, '') AS r) AS x
 WHERE c.relnamespace = 'repairsys'::regnamespace AND c.relkind IN ('r', 'p')
   AND NOT c.relispartition	-- (the rows of a partition are its table's)
   AND (:'tables' = '' OR c.relname = ANY (string_to_array(:'tables', ',')))
 ORDER BY c.relname;
