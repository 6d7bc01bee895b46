------------------------------------------------------------------------------
-- Billing columns and tables (feature: billing, see 40_billing.sql and
-- docs/billing.md).  Ticket columns are added here, before any SQL function
-- whose BEGIN ATOMIC body depends on the ticket row type.
------------------------------------------------------------------------------
-- The price inputs in force when the customer approved the estimate: the
-- bill is computed from them, so later price-list changes never change it.
ALTER TABLE repairsys.ticket
	ADD COLUMN price_labor_fee repairsys.fee_tier,
	ADD COLUMN price_travel_fee repairsys.fee_tier,
	ADD COLUMN price_callout_fee numeric(14,2),
	ADD COLUMN price_complexity_factor numeric(6,3),
	ADD COLUMN price_surcharge_pct numeric(6,2),
	ADD COLUMN price_tax_rate_labor numeric(6,4),
	ADD COLUMN price_tax_rate_parts numeric(6,4),
	ADD COLUMN price_rework_window text,
	ADD COLUMN approved_estimate_low numeric(14,2),
	ADD COLUMN approved_estimate_high numeric(14,2);
COMMENT ON COLUMN repairsys.ticket.price_labor_fee IS 'Labor fee schedule at approval (snapshot; NULL before approval: the price list applies)';
COMMENT ON COLUMN repairsys.ticket.price_travel_fee IS 'Travel fee schedule at approval (snapshot)';
COMMENT ON COLUMN repairsys.ticket.price_callout_fee IS 'Call-out fee at approval (snapshot)';
COMMENT ON COLUMN repairsys.ticket.price_complexity_factor IS 'Complexity factor at approval (snapshot)';
COMMENT ON COLUMN repairsys.ticket.price_surcharge_pct IS 'Urgency surcharge percent at approval (snapshot)';
COMMENT ON COLUMN repairsys.ticket.price_tax_rate_labor IS 'Tax rate on labor, travel, call-out and surcharges at approval (snapshot)';
COMMENT ON COLUMN repairsys.ticket.price_tax_rate_parts IS 'Tax rate on parts at approval (snapshot)';
COMMENT ON COLUMN repairsys.ticket.price_rework_window IS 'Rework window at approval, as the text of the rework_window setting (snapshot): a repeat repair stays free of labor whatever the setting becomes';
COMMENT ON COLUMN repairsys.ticket.approved_estimate_low IS 'Low total of the estimate the customer approved';
COMMENT ON COLUMN repairsys.ticket.approved_estimate_high IS 'High total of the estimate the customer approved';

CREATE TABLE repairsys.ticket_discount (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id   bigint NOT NULL REFERENCES repairsys.ticket ON DELETE CASCADE,
	description text NOT NULL CHECK (description <> ''),
	amount      numeric(14,2) NOT NULL CHECK (amount > 0),
	created_at  timestamptz NOT NULL DEFAULT now(),
	created_by  name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE repairsys.ticket_discount IS 'Discounts granted on a ticket''s bill (each a discount line, before tax)';
COMMENT ON COLUMN repairsys.ticket_discount.id IS 'Discount id';
COMMENT ON COLUMN repairsys.ticket_discount.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_discount.description IS 'Why the discount was granted, shown on the bill';
COMMENT ON COLUMN repairsys.ticket_discount.amount IS 'Amount taken off before tax';
COMMENT ON COLUMN repairsys.ticket_discount.created_at IS 'When it was granted';
COMMENT ON COLUMN repairsys.ticket_discount.created_by IS 'Role that granted it';
CREATE INDEX ticket_discount_ticket_idx ON repairsys.ticket_discount (ticket_id);
SELECT pg_catalog.pg_extension_config_dump('repairsys.ticket_discount', '');
