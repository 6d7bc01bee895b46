-- Roll-up of customer_profile (DESIGN.md section 12, docs/reports.md
-- "Customer profile", docs/performance.md "Roll-ups"): one row per customer
-- with the figures of its whole history that do not depend on the time of
-- the read, kept by triggers in the writing transaction (71b_customer_rollup.sql),
-- so that the profile of a center's customers reads one row per customer
-- instead of each customer's assets, tickets, feedback and payments.
--
-- One row per customer, written only by the transactions that write that
-- customer's assets, tickets, feedback or payments: two transactions on
-- different customers never touch the same row (no counter shared by a
-- center or a month; test/isolation/specs/rollups-customer.spec); two on the
-- same customer queue on its row, and each moves the figures by signed
-- deltas applied to the latest row version, so the totals are exact.  What
-- depends on now() (complaints and tickets within the segment windows, the
-- churn features' recency and frequency) is computed by customer_profile
-- when read, through the customer's index on its tickets' opening time.
-- Written only by the SECURITY DEFINER triggers and
-- repairsys.rollup_rebuild(); every role, the admin too, only reads it
-- (90_security.sql), the rows of the customers it may see.
-- repairsys.check_invariants() compares it with a recomputation.
--
-- Derived data, as ticket_fact: not dumped.  A restore loads customers
-- before their assets and tickets, tickets before their feedback and
-- invoices, invoices before their payments (foreign keys), and the triggers
-- rebuild every row as they come (test/t/dump-restore.sh); after a load with
-- triggers disabled, repairsys.rollup_rebuild().

-- How many of a customer's latest openings the row keeps (recent_opened):
-- a segment_frequent_repairs up to this many is read from the row, a larger
-- one from the customer's tickets (customer_profile).
CREATE FUNCTION repairsys.customer_recent_depth()
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 10;
COMMENT ON FUNCTION repairsys.customer_recent_depth() IS 'How many of a customer''s latest ticket openings customer_rollup.recent_opened keeps (10): segment_frequent_repairs up to this is read from the roll-up row';

CREATE TABLE repairsys.customer_rollup (
	customer_id    bigint PRIMARY KEY REFERENCES repairsys.customer ON DELETE CASCADE,
	assets         integer NOT NULL DEFAULT 0 CHECK (assets >= 0),
	purchase_total numeric(16,2) NOT NULL DEFAULT 0.00,
	tickets        integer NOT NULL DEFAULT 0 CHECK (tickets >= 0),
	repairs        integer NOT NULL DEFAULT 0 CHECK (repairs >= 0),
	rating_sum     bigint NOT NULL DEFAULT 0 CHECK (rating_sum >= 0),
	rating_count   integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
	complaints     integer NOT NULL DEFAULT 0 CHECK (complaints >= 0),
	total_spent    numeric(16,2) NOT NULL DEFAULT 0.00,
	last_ticket_at timestamptz,
	history_until  timestamptz,
	last_complaint_at timestamptz,
	recent_opened  timestamptz[] NOT NULL DEFAULT '{}' CHECK (cardinality(recent_opened) <= repairsys.customer_recent_depth())
);
COMMENT ON TABLE repairsys.customer_rollup IS 'Roll-up: one row per customer with what customer_profile reads of its assets, tickets, feedback and payments, kept by triggers in the writing transaction; equal to a recomputation (check_invariants, rollup_rebuild)';
COMMENT ON COLUMN repairsys.customer_rollup.customer_id IS 'Customer';
COMMENT ON COLUMN repairsys.customer_rollup.assets IS 'Asset rows of the customer';
COMMENT ON COLUMN repairsys.customer_rollup.purchase_total IS 'Sum of the assets'' purchase prices';
COMMENT ON COLUMN repairsys.customer_rollup.tickets IS 'Tickets of the customer not in a cancelled-role state';
COMMENT ON COLUMN repairsys.customer_rollup.repairs IS 'Of these, tickets resolved';
COMMENT ON COLUMN repairsys.customer_rollup.rating_sum IS 'Sum of the ratings of the feedback on these tickets';
COMMENT ON COLUMN repairsys.customer_rollup.rating_count IS 'Feedback rows on these tickets';
COMMENT ON COLUMN repairsys.customer_rollup.complaints IS 'Of these, complaints';
COMMENT ON COLUMN repairsys.customer_rollup.total_spent IS 'Payments received on the invoices of all the customer''s tickets';
COMMENT ON COLUMN repairsys.customer_rollup.last_ticket_at IS 'When the latest of these tickets was opened (NULL: none)';
COMMENT ON COLUMN repairsys.customer_rollup.history_until IS 'Latest opening, resolution or feedback time of these tickets (NULL: none): customer_profile reads the figures as of now() from this row only when it is not later than now()';
COMMENT ON COLUMN repairsys.customer_rollup.last_complaint_at IS 'When the latest complaint on these tickets was filed (feedback.at; NULL: none): customer_profile''s at_risk segment compares it with segment_at_risk_window';
COMMENT ON COLUMN repairsys.customer_rollup.recent_opened IS 'When the latest of these tickets were opened, newest first, at most customer_recent_depth() of them: customer_profile''s frequent_repair segment compares the segment_frequent_repairs-th with segment_frequent_window';
