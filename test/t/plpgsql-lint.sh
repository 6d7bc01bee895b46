#!/usr/bin/env bash
# PL/pgSQL lint: Debian's plpgsql_check (postgresql-NN-plpgsql-check, which
# test/lib.sh installs) checks every PL/pgSQL function of the extension, and
# every trigger function once for each table it is a trigger of, with its
# extra and security warnings on.  One check per function (and table): it
# passes when plpgsql_check reports no error and no warning of any kind.  A
# function that must do something plpgsql_check cannot see is safe says so in
# its body (an "@plpgsql_check_options:" comment, with the reason).
set -u
. "$RS_TOP/test/tap.sh"
TAP_NO_EXTENSION=1 tap_db db
if ! q -d "$db" -c 'CREATE EXTENSION plpgsql_check' >/dev/null 2>&1; then
	skip "plpgsql_check is not installed for PostgreSQL ${RS_PGVER:-?}"
	exit 0
fi
q -d "$db" -c 'CREATE EXTENSION repairsys' || bail "CREATE EXTENSION repairsys failed"

while IFS='|' read -r fn rel nfound detail; do
	label="plpgsql_check: $fn${rel:+ on $rel}"
	if [ "$nfound" = 0 ]; then
		ok 0 "$label"
	else
		ok 1 "$label ($nfound findings)"
		diag "$detail"
	fi
done < <(q -d "$db" <<'SQL'
WITH fns AS (
	SELECT p.oid, p.oid::regprocedure::text AS fn, p.prorettype = 'trigger'::regtype AS trg
	  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	 WHERE p.pronamespace = 'repairsys'::regnamespace AND l.lanname = 'plpgsql'
), targets AS (
	-- (a statement trigger's transition tables, by the names its triggers
	-- give them: the roll-up's triggers, 71_rollups.sql)
	SELECT f.oid, f.fn, coalesce(t.tgrelid, 0::oid) AS relid, t.oldtable, t.newtable
	  FROM fns f
	  LEFT JOIN LATERAL (SELECT g.tgrelid, max(g.tgoldtable) AS oldtable, max(g.tgnewtable) AS newtable
	                       FROM pg_trigger g WHERE g.tgfoid = f.oid GROUP BY g.tgrelid) t ON f.trg
)
SELECT x.fn, CASE WHEN x.relid <> 0 THEN x.relid::regclass::text ELSE '' END,
       count(c.level),
       coalesce(string_agg(format('%s at line %s: %s', c.level, c.lineno, c.message), '; '), '')
  FROM targets x
  LEFT JOIN LATERAL plpgsql_check_function_tb(x.oid, x.relid, oldtable => x.oldtable, newtable => x.newtable,
                                              fatal_errors => false, other_warnings => true,
                                              extra_warnings => true, security_warnings => true,
                                              performance_warnings => false) c ON true
 GROUP BY x.fn, x.relid
 ORDER BY 1, 2;
SQL
)
