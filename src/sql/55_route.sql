-- Day routes (docs/routing.md).
--
-- The C solver (src/route.c) takes the instance as parallel arrays, one
-- element per node with the depot first, and returns the routes.

CREATE FUNCTION repairsys.route_solve(x double precision[], y double precision[],
                                      demand double precision[], ready double precision[],
                                      due double precision[], service double precision[],
                                      vehicles integer, capacity double precision,
                                      time_limit_ms integer DEFAULT 2000)
RETURNS TABLE (vehicle integer, seq integer, node integer,
               arrival double precision, start double precision)
AS 'MODULE_PATHNAME', 'rs_route_solve'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.route_solve(double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], integer, double precision, integer) IS
	'Vehicle routing with time windows: node 1 is the depot, Euclidean travel times; returns each route from the depot (seq 0) back to it with arrival and service start times, the nodes no route can serve with vehicle NULL; least total distance found by a seeded ruin-and-recreate search (SISR) whose iterations follow from time_limit_ms; bad input: error 22023';
