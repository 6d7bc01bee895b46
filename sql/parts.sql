-- Spare parts: ledger, stock, reservations, transfers, serialized units, alerts.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET search_path = repairsys, public;
SET client_min_messages = warning;

INSERT INTO service_center (name, lat, lon) VALUES ('pt East', 31.23, 121.50), ('pt West', 31.20, 121.30);
INSERT INTO customer (name, service_center_id) SELECT 'pt customer', id FROM service_center WHERE name = 'pt East';
INSERT INTO asset (customer_id, model, serial_no, warranty_until) SELECT id, 'PT-AC', 'pt-1', current_date + 100 FROM customer WHERE name = 'pt customer';
INSERT INTO asset (customer_id, model, serial_no, warranty_until) SELECT id, 'PT-AC', 'pt-2', current_date - 100 FROM customer WHERE name = 'pt customer';
INSERT INTO technician (name) VALUES ('pt tech');
INSERT INTO service_type (code, name, labor_fee) VALUES ('pt_fix', 'pt fix', '0+:1.00');
INSERT INTO part (sku, name, unit_cost, unit_price, lead_time_days, min_stock) VALUES
	('PT-CAP', 'Capacitor', 12.00, 30.00, 5, 20),
	('PT-FAN', 'Fan motor', 80.00, 160.00, 10, 2);
INSERT INTO part (sku, name, unit_cost, unit_price, serialized) VALUES ('PT-PCB', 'Control board', 200.00, 450.00, true);
CREATE TEMP TABLE ids AS SELECT
	(SELECT id FROM service_center WHERE name = 'pt East') AS east,
	(SELECT id FROM service_center WHERE name = 'pt West') AS west,
	(SELECT id FROM customer WHERE name = 'pt customer') AS cust,
	(SELECT id FROM technician WHERE name = 'pt tech') AS tech;
SELECT east, west FROM ids \gset

-- receipts make stock
SELECT receive_part('PT-CAP', :east, 30, 11.50) > 0 AS received;
SELECT receive_part('PT-FAN', :east, 3) > 0 AS received;
SELECT receive_part('PT-CAP', :west, 50) > 0 AS received;
SELECT sku, service_center_id = :east AS east, on_hand, reserved FROM stock WHERE sku LIKE 'PT-%' ORDER BY sku, service_center_id;
SELECT kind, qty, unit_cost FROM stock_movement WHERE sku = 'PT-CAP' ORDER BY id;
-- bad receipts
SELECT receive_part('NO-SUCH', :east, 1);
SELECT receive_part('PT-CAP', :east, 0);
SELECT receive_part('PT-CAP', -1, 1);
SELECT receive_part('PT-CAP', :east, 1, -1);
SELECT receive_part('PT-PCB', :east, 2, serials => ARRAY['SN-A']);
SELECT receive_part('PT-CAP', :east, 1, serials => ARRAY['SN-A']);
SELECT receive_part('PT-PCB', :east, 2, serials => ARRAY['PCB-001', 'PCB-002']) > 0 AS serialized_received;

-- a ticket reserves parts at its center, with the price of now and warranty coverage
SELECT open_ticket(cust, 'pt_fix', 'cap blown', asset_id => (SELECT id FROM asset WHERE serial_no = 'pt-2')) AS t1 FROM ids \gset
SELECT open_ticket(cust, 'pt_fix', 'board dead', asset_id => (SELECT id FROM asset WHERE serial_no = 'pt-1')) AS t2 FROM ids \gset
SELECT reserve_part(:t1, 'PT-CAP', 4) > 0 AS reserved;
SELECT reserve_part(:t2, 'PT-PCB', 1) > 0 AS reserved;
SELECT ticket_id = :t1 AS t1, sku, qty, state, unit_price, covered FROM ticket_part WHERE sku LIKE 'PT-%' ORDER BY id;
SELECT sku, on_hand, reserved, on_hand - reserved AS available FROM stock WHERE service_center_id = :east ORDER BY sku;
-- a reservation that does not fit fails and changes nothing
SELECT reserve_part(:t1, 'PT-FAN', 4);
\echo :LAST_ERROR_SQLSTATE
SELECT reserve_part(:t1, 'PT-CAP', 27);
SELECT reserve_part(:t1, 'NO-SUCH', 1);
SELECT reserve_part(-1, 'PT-CAP', 1);
SELECT reserve_part(:t1, 'PT-CAP', -3);
SELECT count(*) AS lines, sum(qty) AS units FROM ticket_part WHERE ticket_id = :t1;
-- a plain INSERT of a reservation is checked the same way
INSERT INTO ticket_part (ticket_id, sku, service_center_id, qty, unit_price) VALUES (:t1, 'PT-FAN', :east, 9, 1);
-- releasing part of a reservation
SELECT release_part(:t1, 'PT-CAP', 1) AS released;
SELECT release_part(:t1, 'PT-CAP', 10);
SELECT qty, state FROM ticket_part WHERE ticket_id = :t1 ORDER BY id;
SELECT on_hand, reserved FROM stock WHERE sku = 'PT-CAP' AND service_center_id = :east;

-- resolving a ticket issues its reserved parts; serialized units are traced to the asset
UPDATE ticket SET status = 'assigned', technician_id = (SELECT tech FROM ids) WHERE id IN (:t1, :t2);
UPDATE ticket SET estimate_approved_at = now() WHERE id = :t1;
UPDATE ticket SET status = 'in_progress' WHERE id IN (:t1, :t2);
UPDATE ticket SET status = 'resolved', labor_minutes = 30 WHERE id IN (:t1, :t2);
SELECT ticket_id = :t1 AS t1, sku, qty, state, used_at IS NOT NULL AS used FROM ticket_part WHERE sku LIKE 'PT-%' ORDER BY id;
SELECT sku, kind, qty, ticket_id IS NOT NULL AS has_ticket, note FROM stock_movement WHERE kind = 'issue' AND sku LIKE 'PT-%' ORDER BY sku, id;
SELECT serial, state, ticket_id = :t2 AS on_t2, asset_id = (SELECT id FROM asset WHERE serial_no = 'pt-1') AS in_asset,
       service_center_id FROM part_unit WHERE sku LIKE 'PT-%' ORDER BY serial;
SELECT sku, on_hand, reserved FROM stock WHERE service_center_id = :east ORDER BY sku;
-- returns: at most what was issued
SELECT return_part(:t1, 'PT-CAP', 1) > 0 AS returned;
SELECT return_part(:t1, 'PT-CAP', 3);
SELECT on_hand FROM stock WHERE sku = 'PT-CAP' AND service_center_id = :east;

-- transfers between centers (调配)
SELECT transfer_part('PT-CAP', :west, :east, 20) > 0 AS transferred;
SELECT transfer_part('PT-CAP', :west, :east, 31);
SELECT transfer_part('PT-CAP', :west, :west, 1);
SELECT transfer_part('PT-PCB', :east, :west, 1) > 0 AS serialized_transferred;
SELECT serial, state, service_center_id = :west AS at_west FROM part_unit WHERE sku LIKE 'PT-%' ORDER BY serial;
SELECT kind, qty, service_center_id = :west AS west, note IS NOT NULL AS noted FROM stock_movement WHERE kind LIKE 'transfer%' AND sku = 'PT-CAP';
-- adjustments after a count
SELECT adjust_stock('PT-FAN', :east, -1, 'found broken in the count') > 0 AS adjusted;
SELECT adjust_stock('PT-FAN', :east, -5, 'lost');
SELECT adjust_stock('PT-FAN', :east, 1, '');
-- direct ledger rows are checked: stock never negative, never below what is reserved
SELECT reserve_part(open_ticket(cust, 'pt_fix', 'fan'), 'PT-FAN', 2) > 0 AS reserved_last_two FROM ids;
INSERT INTO stock_movement (sku, service_center_id, kind, qty) VALUES ('PT-FAN', :east, 'issue', -1);
INSERT INTO stock_movement (sku, service_center_id, kind, qty) VALUES ('PT-CAP', :west, 'issue', -31);
-- cancelling a ticket releases its reservations
UPDATE ticket SET status = 'cancelled' WHERE id = (SELECT max(id) FROM ticket);
SELECT sku, on_hand, reserved FROM stock WHERE sku = 'PT-FAN';

-- the ledger is append-only for everyone but its owner
CREATE ROLE regress_rs_store;
GRANT USAGE ON SCHEMA repairsys TO regress_rs_store;
GRANT SELECT, UPDATE, DELETE ON stock_movement TO regress_rs_store;
-- (row-level security: a role of its own needs a policy to see rows at all)
CREATE POLICY regress_rs_store ON stock_movement TO regress_rs_store USING (true);
SET ROLE regress_rs_store;
UPDATE stock_movement SET qty = 100 WHERE kind = 'receipt';
DELETE FROM stock_movement;
RESET ROLE;
DROP POLICY regress_rs_store ON stock_movement;
REVOKE ALL ON stock_movement FROM regress_rs_store;
REVOKE ALL ON SCHEMA repairsys FROM regress_rs_store;
DROP ROLE regress_rs_store;

-- invariant: stock is the ledger and the reservations, for every (sku, center)
SELECT count(*) AS mismatches
  FROM stock s
  FULL JOIN (SELECT sku, service_center_id, sum(qty) AS ledger FROM stock_movement GROUP BY 1, 2) m USING (sku, service_center_id)
  LEFT JOIN (SELECT sku, service_center_id, sum(qty) AS res FROM ticket_part WHERE state = 'reserved' GROUP BY 1, 2) r USING (sku, service_center_id)
 WHERE coalesce(s.on_hand, 0) <> coalesce(m.ledger, 0) OR coalesce(s.reserved, 0) <> coalesce(r.res, 0);

-- alerts: the issue's example, 10 left against a minimum of 20
SELECT adjust_stock('PT-CAP', :west, -20, 'count') > 0 AS adjusted;
SELECT sku, service_center_id = :west AS west, available, min_stock, missing FROM low_stock WHERE sku LIKE 'PT-%' ORDER BY sku, service_center_id;
-- the forecast view: a year of intermittent issues at East: 2 units every 10th day -> 36 issue days
CREATE TEMP TABLE history AS
SELECT d AS day FROM generate_series(current_date - 360, current_date - 1, interval '10 days') d;
SELECT receive_part('PT-FAN', :east, 80, 80) > 0 AS stocked_up;
INSERT INTO stock_movement (sku, service_center_id, kind, qty, at, note)
SELECT 'PT-FAN', :east, 'issue', -2, day + interval '12 hours', 'history' FROM history;
SELECT count(*) AS issue_days, sum(-qty) AS units FROM stock_movement WHERE sku = 'PT-FAN' AND note = 'history';
SELECT sku, on_hand, reserved, available,
       round(daily_rate::numeric, 4) AS daily_rate, lead_time_days,
       round(lead_time_demand::numeric, 4) AS lt_demand, round(safety_stock::numeric, 4) AS safety,
       round(reorder_point::numeric, 4) AS rop, round(days_of_cover::numeric, 1) AS cover,
       projected_stockout - current_date AS stockout_in_days, suggested_order_qty, alert
  FROM stock_forecast WHERE service_center_id = :east ORDER BY sku;
-- the same daily rate by hand: sba over the zero-filled 365-day series
SELECT round(forecast_demand(daily_issues('PT-FAN', :east), 'sba', 0.1, 0.1)::numeric, 4) AS sba_by_hand,
       cardinality(daily_issues('PT-FAN', :east)) AS days;
SELECT sku, service_center_id = :west AS west, alert FROM stock_forecast WHERE sku LIKE 'PT-%' ORDER BY sku, service_center_id;
-- surplus at one center covering a shortage at the other
SELECT sku, from_center_id = :east AS from_east, to_center_id = :west AS to_west, qty, to_shortage, round(distance_km::numeric, 1) AS km
  FROM stock_transfer_suggestion WHERE sku LIKE 'PT-%' ORDER BY sku;
