-- PLACEHOLDER until the sla_interval branch lands: replaced wholesale by the C type.
CREATE DOMAIN repairsys.sla_interval AS text;
