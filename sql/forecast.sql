-- forecast_demand and normal_quantile against hand-computed values.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET search_path = repairsys, public;
CREATE FUNCTION pg_temp.f4(d float8[], m text, a float8 DEFAULT 0.1, b float8 DEFAULT 0.1)
RETURNS numeric LANGUAGE sql AS $$ SELECT round(repairsys.forecast_demand(d, m, a, b)::numeric, 10) $$;

-- all zeros: 0 for every method
SELECT m, pg_temp.f4('{0,0,0,0}', m) FROM unnest(ARRAY['ses', 'croston', 'sba', 'tsb']) m;
-- one demand at period 3 of 5: croston z=3, p=3 -> 1; sba 0.95;
-- tsb pr=1/3 -> 0.3 -> 0.27, z=3 -> 0.81; ses 0, 0, 0.3, 0.27, 0.243
SELECT m, pg_temp.f4('{0,0,3,0,0}', m) FROM unnest(ARRAY['ses', 'croston', 'sba', 'tsb']) m;
-- demand in the first period only: croston z=5, p=1 -> 5; sba 4.75;
-- tsb pr 1 -> 0.9 -> 0.81 -> 0.729, times 5 = 3.645; ses 5, 4.5, 4.05, 3.645
SELECT m, pg_temp.f4('{5,0,0,0}', m) FROM unnest(ARRAY['ses', 'croston', 'sba', 'tsb']) m;
-- demand in the last period only: croston z=4, p=4 -> 1; sba 0.95; tsb pr=1/4, z=4 -> 1; ses 0.4
SELECT m, pg_temp.f4('{0,0,0,4}', m) FROM unnest(ARRAY['ses', 'croston', 'sba', 'tsb']) m;
-- intermittent: {0,2,0,0,3,0,1}, alpha = beta = 0.1
--   croston: z=2, p=2; at t=5 (q=3): z=2.1, p=2.1; at t=7 (q=2): z=1.99, p=2.09 -> 0.9521531100
--   sba: 0.95 * 0.9521531100 = 0.9045454545
--   tsb: pr 0.5 -> 0.45 -> 0.405 -> 0.4645 (z 2.1) -> 0.41805 -> 0.476245 (z 1.99) -> 0.94772755
SELECT m, pg_temp.f4('{0,2,0,0,3,0,1}', m) FROM unnest(ARRAY['ses', 'croston', 'sba', 'tsb']) m;
-- a long zero run: {1, twenty zeros, 1}: croston z=1, p = 1 + 0.1*(21-1) = 3 -> 1/3
SELECT pg_temp.f4(ARRAY[1] || array_fill(0::float8, ARRAY[20]) || ARRAY[1::float8], 'croston') AS croston_long_gap;
-- other smoothing constants; methods are case-insensitive; the default method is sba
SELECT pg_temp.f4('{0,2,0,0,3,0,1}', 'CROSTON', 0.5) AS croston_alpha_half,
       pg_temp.f4('{0,2,0,0,3,0,1}', 'tsb', 0.2, 0.3) AS tsb_02_03,
       round(forecast_demand('{0,2,0,0,3,0,1}')::numeric, 10) AS default_sba;
SELECT forecast_demand('{7}', 'ses') AS one_period_ses, forecast_demand('{7}', 'croston') AS one_period_croston;
-- a series longer than the positions kept on the stack (1024): {1, 2999
-- zeros, 1}: croston z=1, p = 1 + 0.1*(3000-1) = 300.9; a negative zero is a zero
SELECT pg_temp.f4(ARRAY[1] || array_fill(0::float8, ARRAY[2999]) || ARRAY[1::float8], 'croston') AS croston_3001_periods,
       pg_temp.f4(ARRAY[1] || array_fill(0::float8, ARRAY[2999]) || ARRAY[1::float8], 'croston')
       = round(1 / 300.9::numeric, 10) AS equals_hand_computed,
       pg_temp.f4('{-0,2,-0,0,3,-0,1}', 'sba') AS sba_with_negative_zeros;
-- a bad element far into a long series is named
SELECT forecast_demand(array_fill(0::float8, ARRAY[1500]) || ARRAY['-Infinity'::float8], 'sba');

-- errors: 22023
SELECT forecast_demand('{}', 'sba');
\echo :LAST_ERROR_SQLSTATE
SELECT forecast_demand('{1,NULL,2}', 'sba');
SELECT forecast_demand('{1,-2}', 'sba');
SELECT forecast_demand('{1,NaN}', 'sba');
SELECT forecast_demand('{1,Infinity}', 'ses');
SELECT forecast_demand('{{1,2},{3,4}}', 'sba');
SELECT forecast_demand('{1,2}', 'holt');
SELECT forecast_demand('{1,2}', 'exponential smoothing with trend');
SELECT forecast_demand('{1,2}', '');
SELECT forecast_demand('{1,2}', 'sba', 0);
SELECT forecast_demand('{1,2}', 'sba', 1.5);
SELECT forecast_demand('{1,2}', 'tsb', 0.1, 'NaN');
SELECT forecast_demand(NULL, 'sba') IS NULL AS strict;

-- normal_quantile: 0.5, 0.95 (1.6448536270), 0.975, 0.999, 1e-10 and the symmetric tail
SELECT p, round(normal_quantile(p)::numeric, 10) AS z
  FROM unnest(ARRAY[0.5, 0.95, 0.975, 0.999, 1e-10, 1 - 1e-10, 0.02425, 0.3]::float8[]) p;
-- relative error below 1e-9 against reference values (R's qnorm)
SELECT bool_and(abs(normal_quantile(p) - z) <= 1e-9 * abs(z)) AS within_1e9
  FROM (VALUES (0.95::float8, 1.6448536269514722::float8), (0.999, 3.090232306167813), (1e-10, -6.361340902404056),
               (0.001, -3.090232306167813), (0.8413447460685429, 1.0), (0.6, 0.2533471031357997),
               (0.02, -2.053748910631823), (0.99999, 4.264890793922602)) AS t(p, z);
SELECT normal_quantile(0);
\echo :LAST_ERROR_SQLSTATE
SELECT normal_quantile(1);
SELECT normal_quantile(-0.5);
SELECT normal_quantile('NaN');
