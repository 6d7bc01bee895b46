------------------------------------------------------------------------------
-- Published, versioned prices (收费标准公示; feature: prices, see
-- 43_prices.sql and docs/billing.md, "Published prices"): every version of
-- every service type's prices, past, in force and scheduled.
------------------------------------------------------------------------------
-- A version is in force from its effective_from until the next version of
-- the same service type takes effect; repairsys.price_at(service_type, at)
-- finds it.  A price change is a new row with a future effective_from, so it
-- takes effect at that instant with nobody acting.  Rows are written by the
-- admin (a plain INSERT, UPDATE or DELETE) under the rules of the table's
-- triggers (43_prices.sql): a version is never scheduled in the past, and
-- once it has taken effect it is never changed nor withdrawn (23514), so the
-- history answers "what did this cost on 1 March?" for audits.  A new service
-- type gets its first version from its own columns (first_version), and an
-- UPDATE of service_type's price columns is a new version in force now.
CREATE TABLE repairsys.service_price (
	service_type   text NOT NULL REFERENCES repairsys.service_type ON UPDATE CASCADE ON DELETE CASCADE,
	effective_from timestamptz NOT NULL,
	labor_fee      repairsys.fee_tier NOT NULL,
	travel_fee     repairsys.fee_tier,
	callout_fee    numeric(14,2) NOT NULL DEFAULT 0 CHECK (callout_fee >= 0),
	first_version  boolean NOT NULL DEFAULT false,
	created_at     timestamptz NOT NULL DEFAULT now(),
	created_by     name NOT NULL DEFAULT current_user,
	PRIMARY KEY (service_type, effective_from),
	CHECK (created_at <= effective_from)
);
-- a service type has one first version: the one made with it (a restore
-- brings it back in place of the one its restored type made)
CREATE UNIQUE INDEX service_price_first_idx ON repairsys.service_price (service_type) WHERE first_version;
COMMENT ON TABLE repairsys.service_price IS 'Every version of every service type''s prices (收费标准): each is in force from effective_from until the next one; scheduled ahead, never changed once in force (price_at() reads it)';
COMMENT ON COLUMN repairsys.service_price.service_type IS 'Service type';
COMMENT ON COLUMN repairsys.service_price.effective_from IS 'When the version takes effect (never in the past when it is written)';
COMMENT ON COLUMN repairsys.service_price.labor_fee IS 'Labor price schedule per minute of work';
COMMENT ON COLUMN repairsys.service_price.travel_fee IS 'Travel price schedule per km (NULL: travel is free)';
COMMENT ON COLUMN repairsys.service_price.callout_fee IS 'Fixed call-out fee per visit';
COMMENT ON COLUMN repairsys.service_price.first_version IS 'True for the version made from the service type''s columns when the type was created (set by repairsys); it also prices tickets opened before it (backdated or imported)';
COMMENT ON COLUMN repairsys.service_price.created_at IS 'When the version was written (set by repairsys)';
COMMENT ON COLUMN repairsys.service_price.created_by IS 'Role that wrote the version (set by repairsys)';
SELECT pg_catalog.pg_extension_config_dump('repairsys.service_price', '');
