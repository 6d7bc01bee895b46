-- PLACEHOLDER until the fee_tier branch lands: replaced wholesale by the C type.
CREATE DOMAIN repairsys.fee_tier AS text;
