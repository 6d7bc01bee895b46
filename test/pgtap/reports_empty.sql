-- pgTAP: on an empty database every report view returns nothing, not an error.
BEGIN;
SELECT plan(15);
SELECT is_empty('SELECT * FROM repairsys.' || v, v || ' is empty on an empty database')
  FROM unnest(ARRAY['service_benefit', 'ticket_cost', 'technician_performance', 'customer_profile', 'follow_up_due', 'sla_status', 'stuck_tickets',
                    'bill_summary', 'stock_forecast', 'billing_audit',
                    'overhead_allocation', 'budget_status', 'reputation', 'recall_progress']) v;
-- the manager's page of a center without any data is a page, with zero figures
INSERT INTO repairsys.service_center (name) VALUES ('empty center');
SELECT ok(repairsys.report_html((SELECT id FROM repairsys.service_center WHERE name = 'empty center'), '2027-01-01')
          LIKE '%id="tickets">0<%id="revenue">0.00 %', 'report_html of an empty center and month: zero figures');
SELECT * FROM finish();
ROLLBACK;
