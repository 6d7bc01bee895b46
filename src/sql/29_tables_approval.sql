------------------------------------------------------------------------------
-- Approval authority for fees (费用审批, docs/billing.md "Approval authority";
-- functions and triggers in 44_approval.sql): how large a discount each role
-- may give or approve.  A discount above the limit of the role that gives it
-- waits (ticket_discount.status 'pending') for a role whose limit covers it.
------------------------------------------------------------------------------
-- A role's limit is both an amount and a percent of the bill: a discount is
-- within it when the ticket's approved discounts with it stay at most
-- max_amount and at most max_pct percent of the bill before discounts and
-- tax.  NULL is no limit on that measure (the admin's seeded row: NULL,
-- NULL).  A role may be a repairsys group role or any other role (a senior
-- dispatcher's own role, say); a person is covered when any row of a role
-- whose rights they use (pg_has_role(..., 'USAGE')) covers the discount.  A
-- person no row names may approve nothing.  Seeded rows are dumped once
-- changed (the dump flag), user rows always.
CREATE TABLE repairsys.approval_limit (
	role       name PRIMARY KEY,
	max_amount numeric(14,2) CHECK (max_amount >= 0),
	max_pct    numeric(6,2) CHECK (max_pct >= 0 AND max_pct <= 100),
	dump       boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE repairsys.approval_limit IS 'Approval authority for discounts (费用审批): per role, the most the ticket''s discounts may take off, in money and in percent of the bill before discounts; above it a discount waits for a role whose limit covers it';
COMMENT ON COLUMN repairsys.approval_limit.role IS 'Database role (a repairsys group role or a person''s role); whoever has its rights (pg_has_role USAGE) has its limit';
COMMENT ON COLUMN repairsys.approval_limit.max_amount IS 'Most the ticket''s approved discounts may total, in the bill''s currency, before tax (NULL: no limit)';
COMMENT ON COLUMN repairsys.approval_limit.max_pct IS 'Most the ticket''s approved discounts may total, in percent of the bill before discounts and tax (NULL: no limit)';
COMMENT ON COLUMN repairsys.approval_limit.dump IS 'True for rows pg_dump must keep: user rows and seeded rows the user changed (kept by trigger)';
INSERT INTO repairsys.approval_limit (role, max_amount, max_pct, dump) VALUES
	('repairsys_admin', NULL, NULL, false),
	('repairsys_dispatcher', 100.00, 20.00, false),
	('repairsys_technician', 0.00, 0.00, false),
	('repairsys_customer', 0.00, 0.00, false),
	('repairsys_auditor', 0.00, 0.00, false);
