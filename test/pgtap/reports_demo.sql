-- pgTAP: the demo data generator repairsys.demo_load(tickets, seed):
-- the same seed gives the same data, another seed other data, and on its data
-- every report shows rows with figures; bad arguments are refused.
BEGIN;
SELECT plan(21);
SET LOCAL client_min_messages = warning;
-- Everything a load decides, without ids (identities do not roll back) and
-- with times relative to now() (repeat visits, opened at clock_timestamp(), as 'later').
CREATE FUNCTION pg_temp.fingerprint() RETURNS text LANGUAGE sql AS $$
	SELECT md5(string_agg(concat_ws('|', c.name, a.model, a.purchase_price, t.service_type, t.urgency, t.complexity, t.channel,
	                                t.status, te.name, te.hourly_cost, t.labor_minutes, t.travel_km,
	                                CASE WHEN t.opened_at > now() THEN 'later' ELSE (t.opened_at - now())::text END,
	                                t.reopen_count, fb.rating, fb.complaint, tc.revenue, tc.parts_cost, tc.cost,
	                                (SELECT sum(p.amount) FROM repairsys.payment p JOIN repairsys.invoice i ON i.id = p.invoice_id
	                                  WHERE i.ticket_id = t.id)), ',' ORDER BY t.id))
	  FROM repairsys.ticket t
	  JOIN repairsys.customer c ON c.id = t.customer_id
	  LEFT JOIN repairsys.asset a ON a.id = t.asset_id
	  LEFT JOIN repairsys.technician te ON te.id = t.technician_id
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	  JOIN repairsys.ticket_cost tc ON tc.ticket_id = t.id
$$;

SELECT throws_ok('SELECT repairsys.demo_load(-1, 1)', '22023', NULL, 'a negative number of tickets is refused');
SELECT throws_ok('SELECT repairsys.demo_load(100000001, 1)', '54000', NULL, 'more than 100000000 tickets at once is refused');
SELECT throws_ok('SELECT repairsys.demo_load(10, NULL)', '22023', NULL, 'a NULL seed is refused');

-- the shared catalog, made apart (two loads side by side then never both
-- insert it: the second would wait for the first's whole transaction)
CREATE FUNCTION pg_temp.demo_catalog_rows() RETURNS integer LANGUAGE sql AS $$
	SELECT ((SELECT count(*) FROM repairsys.service_type WHERE code LIKE 'demo\_%')
	        + (SELECT count(*) FROM repairsys.sla_policy WHERE service_type LIKE 'demo\_%')
	        + (SELECT count(*) FROM repairsys.part WHERE sku LIKE 'DEMO-%'))::integer
$$;
SELECT pg_temp.demo_catalog_rows() AS catalog_before \gset
SELECT is(repairsys.demo_catalog(), 24 - :catalog_before, 'demo_catalog() writes the catalog rows that are missing');
SELECT is(pg_temp.demo_catalog_rows(), 24, 'five demo service types, their fifteen SLA policies and four parts');
SELECT is(repairsys.demo_catalog(), 0, 'demo_catalog() again writes nothing');

SAVEPOINT empty;
SELECT is(repairsys.demo_load(60, 7), 60::bigint, 'demo_load(60, 7) makes 60 tickets');
SELECT pg_temp.fingerprint() AS fp1 \gset
ROLLBACK TO SAVEPOINT empty;
SELECT repairsys.demo_load(60, 8) \g /dev/null
SELECT pg_temp.fingerprint() AS fp3 \gset
ROLLBACK TO SAVEPOINT empty;
SELECT repairsys.demo_load(60, 7) \g /dev/null
SELECT pg_temp.fingerprint() AS fp2 \gset
SELECT is(:'fp2'::text, :'fp1'::text, 'the same seed gives the same data');
SELECT isnt(:'fp3'::text, :'fp1'::text, 'another seed gives other data');

SELECT cmp_ok((SELECT count(DISTINCT status)::int FROM repairsys.ticket), '>=', 5, 'tickets in at least five states');
SELECT ok((SELECT count(*) FILTER (WHERE revenue > 0) > 10 AND count(*) FILTER (WHERE parts_cost > 0) > 0 FROM repairsys.ticket_cost),
          'ticket_cost: invoiced tickets, some with parts');
SELECT ok((SELECT count(*) >= 3 AND bool_and(tickets > 0) AND count(roi) > 0 AND count(avg_rating) > 0 AND count(sla_met_pct) > 0
             FROM repairsys.service_benefit), 'service_benefit: rows with ROI, rating and SLA met');
SELECT ok((SELECT count(*) = 12 AND count(first_time_fix_rate) > 6 AND count(mean_resolution_business_hours) > 6
                  AND bool_or(utilization > 0) AND count(avg_rating) > 6 FROM repairsys.technician_performance),
          'technician_performance: twelve technicians with rates, hours, ratings and utilization');
SELECT ok((SELECT bool_or(rework_rate > 0) FROM repairsys.technician_performance), 'technician_performance: some rework');
SELECT cmp_ok((SELECT count(DISTINCT segment)::int FROM repairsys.customer_profile), '>=', 3, 'customer_profile: at least three segments');
SELECT ok((SELECT count(*) FILTER (WHERE reason = 'after_closure') > 0 AND count(*) FILTER (WHERE reason = 'complaint') > 0
             FROM repairsys.follow_up_due), 'follow_up_due: calls after closure and after complaints');
SELECT isnt_empty('SELECT * FROM repairsys.sla_status', 'sla_status shows open tickets');
SELECT isnt_empty('SELECT * FROM repairsys.stock_forecast', 'stock_forecast shows the demo parts');
SELECT isnt_empty('SELECT * FROM repairsys.bill_detail', 'bill_detail shows bill lines');
SELECT is_empty('SELECT * FROM repairsys.billing_audit', 'billing_audit finds nothing wrong with the demo data');
SELECT is_empty('SELECT * FROM repairsys.check_invariants()', 'check_invariants finds nothing wrong with the demo data (no technician over capacity)');
SELECT * FROM finish();
ROLLBACK;
