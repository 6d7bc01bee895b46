-- Languages (issue 17 item 5, docs/billing.md "Languages"): the setting
-- language and customer.language; bill_detail and bill_html in the customer's
-- language with the same amounts in every language; the canonical (signed,
-- invoiced) text independent of the language; report_html reading the
-- setting; bad values refused.  Runs in a database of its own.
\set regdb :DBNAME
SET client_min_messages = warning;
CREATE ROLE lg_disp NOLOGIN IN ROLE repairsys_dispatcher;
CREATE ROLE lg_cust NOLOGIN IN ROLE repairsys_customer;
CREATE DATABASE repairsys_language;
\connect repairsys_language
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
CREATE EXTENSION repairsys;
SET search_path = repairsys, pg_catalog;

-- the setting: en by default, only en and zh-CN
SELECT value, type, choices FROM setting WHERE name = 'language';
UPDATE setting SET value = 'fr' WHERE name = 'language';
UPDATE setting SET value = 'zh' WHERE name = 'language';

-- a customer's language: en, zh-CN or NULL (the setting)
INSERT INTO service_center (name, time_zone) VALUES ('lg center', 'UTC');
INSERT INTO customer (name, service_center_id, db_role) VALUES ('lg a', 1, 'lg_cust');
\set VERBOSITY terse
INSERT INTO customer (name, service_center_id, language) VALUES ('lg bad', 1, 'fr');
\set VERBOSITY default
SELECT customer_language(1) AS default_language, customer_language(999) AS unknown_customer;

-- a bill with call-out, labor tiers, complexity, urgency surcharge, travel
-- tiers and a discount (the reserved part joins it when used, at resolution)
INSERT INTO asset (customer_id, model, warranty_until) VALUES (1, 'lg model', '2000-01-01');
INSERT INTO technician (name) VALUES ('lg tech');
INSERT INTO service_type (code, name, labor_fee, travel_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('lg_ac', 'AC repair', 'base=20, 0-60:2.00, 60+:1.50, min=80', '0-10:0, 10+:2.50', 50, 45, 120);
INSERT INTO part (sku, name, unit_price) VALUES ('LG-1', 'Capacitor', 30);
SELECT receive_part('LG-1', 1, 5);
SELECT open_ticket(1, 'lg_ac', 'not cooling', urgency => 'emergency', complexity => 3, asset_id => 1) AS t \gset
SELECT reserve_part(:t, 'LG-1', 2) IS NOT NULL AS reserved;
UPDATE ticket SET status = 'assigned', technician_id = 1 WHERE id = :t;
SELECT approve_estimate(:t) IS NOT NULL AS approved;
UPDATE ticket SET status = 'in_progress' WHERE id = :t;
UPDATE ticket SET labor_minutes = 75, travel_km = 12.5 WHERE id = :t;
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t, 'loyal customer', 10.00);

-- in English (the setting's default)
CREATE TEMP TABLE en AS SELECT * FROM bill_detail WHERE ticket_id = :t;
SELECT line_no, kind, description, amount, tax_amount FROM en ORDER BY line_no;
SELECT bill_canonical_text(t) AS canonical_en FROM ticket t WHERE id = :t \gset
SELECT bill_html(:t) AS html_en \gset

-- the customer reads Chinese: every line's words change, no number does
UPDATE customer SET language = 'zh-CN' WHERE id = 1;
SELECT customer_language(1);
CREATE TEMP TABLE zh AS SELECT * FROM bill_detail WHERE ticket_id = :t;
SELECT line_no, kind, description, amount, tax_amount FROM zh ORDER BY line_no;
SELECT (SELECT count(*) FROM en) AS lines,
       (SELECT count(*) FROM (SELECT ticket_id, line_no, kind, quantity, unit, unit_price, amount, tax_rate, tax_amount FROM en
                              EXCEPT ALL
                              SELECT ticket_id, line_no, kind, quantity, unit, unit_price, amount, tax_rate, tax_amount FROM zh) x) AS en_not_zh,
       (SELECT count(*) FROM (SELECT ticket_id, line_no, kind, quantity, unit, unit_price, amount, tax_rate, tax_amount FROM zh
                              EXCEPT ALL
                              SELECT ticket_id, line_no, kind, quantity, unit, unit_price, amount, tax_rate, tax_amount FROM en) x) AS zh_not_en,
       (SELECT count(*) FROM en JOIN zh USING (line_no) WHERE en.description = zh.description) AS same_words;
-- the canonical text (what a sign-off hashes, what an invoice freezes) is the
-- same in every language: changing language never breaks a signature
SELECT bill_canonical_text(t) = :'canonical_en' AS canonical_unchanged FROM ticket t WHERE id = :t;

-- the page: Chinese labels, the same total
SELECT bill_html(:t) AS html_zh \gset
SELECT total FROM bill_summary WHERE ticket_id = :t \gset
SELECT position('<html lang="zh-CN">' IN :'html_zh') > 0 AS zh_page,
       position('合计' IN :'html_zh') > 0 AS shows_total_label,
       position('>' || :'total' || ' CNY<' IN :'html_zh') > 0 AS shows_total_zh,
       position('>' || :'total' || ' CNY<' IN :'html_en') > 0 AS shows_total_en,
       position('人工费：60+ min 档 15 min，单价 1.50/min' IN :'html_zh') > 0 AS labor_line_zh,
       position('Total' IN :'html_zh') = 0 AND position('合计' IN :'html_en') = 0 AS no_mixing;
-- every amount of the English page is on the Chinese one, in the same order
SELECT (SELECT array_agg(m[1]) FROM regexp_matches(:'html_en', '>(-?[0-9]+\.[0-9]{2})( CNY)?<', 'g') m)
     = (SELECT array_agg(m[1]) FROM regexp_matches(:'html_zh', '>(-?[0-9]+\.[0-9]{2})( CNY)?<', 'g') m) AS same_amounts;

-- the invoice freezes the canonical lines; bill_detail still shows them in
-- the customer's language, with the same amounts
UPDATE ticket SET status = 'resolved' WHERE id = :t;
SELECT issue_invoice(:t) IS NOT NULL AS invoiced;
SELECT l.line_no, l.description AS frozen, d.description AS shown
  FROM invoice_line l JOIN invoice i ON i.id = l.invoice_id
  JOIN bill_detail d ON d.ticket_id = i.ticket_id AND d.line_no = l.line_no
 WHERE i.ticket_id = :t ORDER BY l.line_no;

-- the setting, for a customer without a language of their own; a customer's
-- own language wins over it
UPDATE customer SET language = NULL WHERE id = 1;
SELECT customer_language(1) AS from_setting_en;
UPDATE setting SET value = 'zh-CN' WHERE name = 'language';
SELECT customer_language(1) AS from_setting_zh, position('合计' IN bill_html(:t)) > 0 AS page_zh;
UPDATE customer SET language = 'en' WHERE id = 1;
SELECT customer_language(1) AS own_wins, position('合计' IN bill_html(:t)) = 0 AS page_en;

-- report_html of a center without a language reads the setting
SELECT position('月度经营报告' IN report_html(1, '2026-03-01')) > 0 AS report_zh;
UPDATE setting SET value = 'en' WHERE name = 'language';
SELECT position('Monthly report' IN report_html(1, '2026-03-01')) > 0 AS report_en;

-- the words of a line no pattern knows are kept; NULL stays NULL
SELECT bill_line_text('zh-CN', 'an old wording') AS unknown, bill_line_text('zh-CN', NULL) AS null_text,
       bill_line_text('en', 'Call-out fee') AS en, bill_line_text('zh-CN', 'Call-out fee') AS zh;

-- the table route: a dispatcher sets a customer's language, a customer cannot
SET ROLE lg_disp;
UPDATE customer SET language = 'zh-CN' WHERE id = 1;
UPDATE customer SET language = 'xx' WHERE id = 1;
RESET ROLE;
SET ROLE lg_cust;
UPDATE customer SET language = 'en' WHERE id = 1;
RESET ROLE;
SELECT language FROM customer WHERE id = 1;
SELECT count(*) AS audit FROM billing_audit;
SELECT count(*) AS invariants FROM check_invariants();

\connect :regdb
SET client_min_messages = warning;
DROP DATABASE repairsys_language;
DROP ROLE lg_disp;
DROP ROLE lg_cust;
