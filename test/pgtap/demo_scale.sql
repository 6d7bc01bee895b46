-- pgTAP: the set-based path of repairsys.demo_load(tickets, seed, months)
-- (more than 2000 tickets, or more than one month; docs/reports.md "Demo
-- data at scale"): the rules hold on what it writes (check_invariants and
-- billing_audit empty), the history spreads over the months asked for, each
-- ticket's role agrees with its stamps, invoices sum exactly, the same seed
-- gives the same data, a second call adds more, bad arguments are refused.
-- Times are read relative to now() (the load's), so the file holds on any day.
BEGIN;
SELECT plan(35);
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SET LOCAL DateStyle = 'ISO, YMD';
SET LOCAL IntervalStyle = 'postgres';

-- Everything a load decides, without ids (identities do not roll back) and
-- with times relative to now().
CREATE FUNCTION pg_temp.fingerprint() RETURNS text LANGUAGE sql AS $$
	SELECT md5(string_agg(concat_ws('|', a.model, a.purchase_price, t.service_type, t.urgency, t.complexity, t.channel,
	                                t.status, t.status_role, te.hourly_cost, t.labor_minutes, t.travel_km,
	                                t.opened_at - now(), t.resolved_at - now(), t.closed_at - now(), t.respond_by - now(),
	                                t.approved_estimate_high, fb.rating, fb.complaint, i.total,
	                                (SELECT sum(p.amount) FROM repairsys.payment p WHERE p.invoice_id = i.id)), ',' ORDER BY t.id))
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.asset a ON a.id = t.asset_id
	  LEFT JOIN repairsys.technician te ON te.id = t.technician_id
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	  LEFT JOIN repairsys.invoice i ON i.ticket_id = t.id
$$;

SELECT throws_ok('SELECT repairsys.demo_load(10, 1, 0)', '22023', NULL, 'zero months are refused');
SELECT throws_ok('SELECT repairsys.demo_load(10, 1, NULL)', '22023', NULL, 'NULL months are refused');
SELECT throws_ok('SELECT repairsys.demo_load(10, 1, 601)', '22023', NULL, 'more than 600 months are refused');
SELECT throws_ok('SELECT repairsys.demo_load(NULL, 1, 3)', '22023', NULL, 'NULL tickets are refused');
SELECT throws_ok('SELECT repairsys.demo_load(-5, 1, 3)', '22023', NULL, 'a negative number of tickets is refused');
SELECT throws_ok('SELECT repairsys.demo_load(100000001, 1, 3)', '54000', NULL, 'more than 100000000 tickets at once is refused');
SELECT throws_ok('SELECT repairsys.demo_load(3000, NULL, 3)', '22023', NULL, 'a NULL seed is refused');

SAVEPOINT empty;
SELECT coalesce(max(id), 0) AS t0, (SELECT count(*) FROM repairsys.service_center) AS c0,
       (SELECT count(*) FROM repairsys.technician) AS e0
  FROM repairsys.ticket \gset
CREATE TEMP VIEW new_ticket AS SELECT * FROM repairsys.ticket WHERE id > :t0;
SELECT is(repairsys.demo_load(2100, 11, 3), 2100::bigint, 'demo_load(2100, 11, 3) makes 2100 tickets');
SELECT pg_temp.fingerprint() AS fp1 \gset
SELECT is(array_agg(n ORDER BY o), ARRAY[3, 12, 2100]::bigint[], 'a company sized for the volume: 3 centers, 12 technicians, 2100 tickets')
  FROM (SELECT 1 AS o, count(*) - :c0 AS n FROM repairsys.service_center
        UNION ALL SELECT 2, count(*) - :e0 FROM repairsys.technician
        UNION ALL SELECT 3, count(*) FROM new_ticket) x;
SELECT is((SELECT count(*)::int FROM repairsys.check_invariants()), 0, 'check_invariants() is empty after the load');
SELECT is((SELECT count(*)::int FROM repairsys.billing_audit), 0, 'billing_audit is empty after the load');
SELECT ok((SELECT min(opened_at) >= now() - interval '3 months' AND max(opened_at) <= now() FROM repairsys.ticket),
          'every ticket was opened within the last 3 months');
SELECT is((SELECT count(DISTINCT floor(date_part('epoch', now() - opened_at) / (31 * 86400)))::int FROM new_ticket), 3,
          'the history covers each of the 3 months');
-- Which open roles the last day holds depends on the hour of the load (a
-- ticket stays in the initial role for at most two hours after it is opened
-- between 08:00 and 20:00 local, and a load at 21:00 has none): both ends of
-- the life cycle are there on any day and at any hour.
SELECT ok((SELECT array_agg(DISTINCT status_role::text) @> ARRAY['cancelled', 'closed'] FROM new_ticket),
          'closed and cancelled tickets, at any hour of the load');
SELECT is((SELECT count(*)::int FROM new_ticket t
            WHERE (t.status_role IN ('resolved', 'closed')) <> (t.resolved_at IS NOT NULL)
               OR (t.status_role IN ('closed', 'cancelled')) <> (t.closed_at IS NOT NULL)
               OR (t.status_role = 'initial') <> (t.first_response_at IS NULL)
               OR (t.status_role IN ('initial', 'cancelled')) <> (t.technician_id IS NULL)
               OR (t.status_role IN ('active', 'resolved', 'closed')) <> (t.estimate_approved_at IS NOT NULL)
               OR NOT (t.opened_at <= coalesce(t.first_response_at, t.opened_at)
                       AND coalesce(t.first_response_at, t.opened_at) <= coalesce(t.estimate_approved_at, t.first_response_at, t.opened_at)
                       AND coalesce(t.resolved_at, t.opened_at) <= coalesce(t.closed_at, t.resolved_at, t.opened_at)
                       AND t.status_changed_at <= now())
               OR t.status_changed_at IS DISTINCT FROM (SELECT max(e.at) FROM repairsys.ticket_event e WHERE e.ticket_id = t.id)), 0,
          'every ticket''s role agrees with its stamps and its history');
SELECT is((SELECT count(*)::int FROM repairsys.invoice i
            WHERE i.total <> (SELECT sum(l.amount + l.tax_amount) FROM repairsys.invoice_line l WHERE l.invoice_id = i.id)
               OR i.total <> (SELECT sum(b.amount + b.tax_amount) FROM repairsys.ticket t
                              CROSS JOIN LATERAL repairsys.compute_bill(t, t.labor_minutes, t.travel_km, false) b WHERE t.id = i.ticket_id)), 0,
          'every invoice sums exactly to its lines and to compute_bill() of its ticket');
SELECT is((SELECT count(*)::int FROM repairsys.ticket t JOIN repairsys.bill_summary b ON b.ticket_id = t.id
            WHERE t.status_role = 'closed' AND b.balance <> 0), 0, 'every closed ticket is paid in full');
SELECT cmp_ok((SELECT count(*)::int FROM repairsys.ticket_part WHERE state = 'used'), '>', 0, 'parts were used');
-- (the load computes an estimate shared by several tickets once: each
-- ticket's revision must still be its own estimate)
SELECT is((SELECT count(*)::int FROM new_ticket t JOIN repairsys.estimate_revision r ON r.ticket_id = t.id AND r.revision = 1
            WHERE r.lines IS DISTINCT FROM
                  (SELECT jsonb_agg(jsonb_build_object('scenario', e.scenario, 'line_no', e.line_no, 'kind', e.kind,
                                                       'description', e.description, 'quantity', e.quantity, 'unit', e.unit,
                                                       'unit_price', e.unit_price, 'amount', e.amount, 'tax_rate', e.tax_rate,
                                                       'tax_amount', e.tax_amount) ORDER BY e.scenario = 'high', e.line_no)
                     FROM repairsys.estimate(t.id) e)
               OR r.low IS DISTINCT FROM (SELECT min(e.scenario_total) FROM repairsys.estimate(t.id) e WHERE e.scenario = 'low')), 0,
          'every approved ticket''s revision 1 holds the lines and total of repairsys.estimate() for it');

ROLLBACK TO SAVEPOINT empty;
SELECT repairsys.demo_load(2100, 11, 3) \g /dev/null
SELECT is(pg_temp.fingerprint(), :'fp1'::text, 'the same seed gives the same data');
SELECT max(id) AS last_ticket FROM repairsys.ticket \gset
SELECT repairsys.demo_load(300, 12, 2) \g /dev/null
SELECT is((SELECT count(*)::int FROM repairsys.ticket WHERE id > :last_ticket), 300, 'a second call adds its tickets, with new ids');
SELECT is((SELECT count(*)::int FROM repairsys.check_invariants()) + (SELECT count(*)::int FROM repairsys.billing_audit), 0,
          'check_invariants() and billing_audit stay empty after the second call');

-- a call of more than one batch (25,000 tickets a statement): the second
-- batch reads only its window of units and customers, which must hold every
-- unit its tickets are of
SELECT max(id) AS last_ticket FROM repairsys.ticket \gset
SELECT is(repairsys.demo_load(26000, 13, 24), 26000::bigint, 'demo_load(26000, 13, 24) writes two batches');
SELECT is((SELECT count(*)::int FROM repairsys.ticket t JOIN repairsys.asset a ON a.id = t.asset_id AND a.customer_id = t.customer_id
            WHERE t.id > :last_ticket), 26000, 'every ticket of both batches, each of a unit of its customer');
SELECT is((SELECT count(*)::int FROM repairsys.check_invariants()) + (SELECT count(*)::int FROM repairsys.billing_audit), 0,
          'check_invariants() and billing_audit stay empty after it');

-- the owner of the tables who is not a superuser: the triggers are disabled
-- by name (not session_replication_role), so the customers' and units' own
-- roll-up triggers ran, and the roll-ups must still come out exact
SELECT pg_catalog.pg_get_userbyid(c.relowner) AS table_owner FROM pg_class c WHERE c.oid = 'repairsys.ticket'::regclass \gset
CREATE ROLE demo_scale_owner NOSUPERUSER;
GRANT :"table_owner" TO demo_scale_owner;
SELECT max(id) AS last_ticket FROM repairsys.ticket \gset
SET LOCAL ROLE demo_scale_owner;
SELECT is(repairsys.demo_load(2500, 15, 3), 2500::bigint, 'an owner who is not a superuser loads 2500 tickets');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM repairsys.ticket WHERE id > :last_ticket), 2500, 'and they are there');
SELECT is((SELECT count(*)::int FROM repairsys.check_invariants()) + (SELECT count(*)::int FROM repairsys.billing_audit), 0,
          'check_invariants() and billing_audit stay empty after the owner''s load');

-- the set-based path writes with the foreign-key checks off (as a superuser:
-- session_replication_role = replica, as pg_restore --disable-triggers):
-- every key must hold all the same (MATCH SIMPLE: a row with a NULL key
-- column references nothing)
CREATE FUNCTION pg_temp.broken_keys() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	k record;
	n bigint;
BEGIN
	FOR k IN
		SELECT c.conname, c.conrelid::regclass AS child, c.confrelid::regclass AS parent,
		       (SELECT string_agg(format('x.%I', a.attname), ', ' ORDER BY u.o) FROM unnest(c.conkey) WITH ORDINALITY u(n, o)
		          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = u.n) AS ccols,
		       (SELECT string_agg(format('x.%I IS NOT NULL', a.attname), ' AND ' ORDER BY u.o) FROM unnest(c.conkey) WITH ORDINALITY u(n, o)
		          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = u.n) AS notnull,
		       (SELECT string_agg(format('y.%I', a.attname), ', ' ORDER BY u.o) FROM unnest(c.confkey) WITH ORDINALITY u(n, o)
		          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = u.n) AS pcols
		  FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
		 WHERE c.contype = 'f' AND r.relnamespace = 'repairsys'::regnamespace
		 ORDER BY 1, 2
	LOOP
		EXECUTE format('SELECT count(*) FROM ONLY %s x WHERE %s AND NOT EXISTS (SELECT 1 FROM %s y WHERE (%s) = (%s))',
		               k.child, k.notnull, k.parent, k.pcols, k.ccols) INTO n;
		IF n > 0 THEN
			RETURN NEXT format('%s on %s: %s rows', k.conname, k.child, n);
		END IF;
	END LOOP;
END
$$;
SELECT is_empty('SELECT * FROM pg_temp.broken_keys()', 'every foreign key holds after the set-based loads');
SELECT is(current_setting('session_replication_role'), 'origin', 'the load leaves session_replication_role as it was');
SELECT cmp_ok((SELECT count(*) FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
                WHERE c.contype = 'f' AND r.relnamespace = 'repairsys'::regnamespace), '>', 50::bigint,
              'the foreign keys checked are those of every table (the check finds them)');

-- a rebuild of some centers' roll-ups recomputes those and leaves the others
SELECT min(id) AS c1 FROM repairsys.service_center \gset
UPDATE repairsys.ticket_fact SET revenue = revenue + 1.00 WHERE service_center_id = :c1;
UPDATE repairsys.customer_rollup SET tickets = tickets + 1
 WHERE customer_id IN (SELECT id FROM repairsys.customer WHERE service_center_id = :c1);
SELECT ok((SELECT count(*) FROM repairsys.check_invariants()) > 0, 'a roll-up written around its triggers is reported');
SELECT is(repairsys.rollup_rebuild(ARRAY[:c1]::bigint[]),
          (SELECT count(*) FROM repairsys.ticket WHERE service_center_id = :c1)
          + (SELECT count(*) FROM repairsys.customer WHERE service_center_id = :c1),
          'rollup_rebuild(centers) rewrites the rows of those centers'' tickets and customers');
SELECT is((SELECT count(*)::int FROM repairsys.check_invariants()), 0, 'and the roll-up equals the recomputation again');
SELECT throws_ok('SELECT repairsys.rollup_rebuild(ARRAY[1, NULL]::bigint[])', '22023', NULL,
                 'a NULL among the centers to rebuild is refused');

SELECT * FROM finish();
ROLLBACK;
