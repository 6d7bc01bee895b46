/*
 * route.c
 *		Day routes: the vehicle routing problem with time windows (VRPTW),
 *		repairsys.route_solve() (docs/routing.md).
 *
 * The problem: node 1 (index 0 here) is the depot, the others customers with
 * a demand, a time window [ready, due] and a service time; travel time is
 * the Euclidean distance.  Routes leave the depot no earlier than its ready
 * time (after its service time, if any), start each service at max(arrival,
 * ready) no later than due, and are back by the depot's due time; the demand
 * on a route is at most the capacity; at most "vehicles" routes.  Objective,
 * in this order: serve as many customers as possible (a customer that no
 * route can reach in its window, or whose demand exceeds the capacity, is
 * never served; others may be left out only when the fleet is too small),
 * then the least total distance.
 *
 * Method: Slack Induction by String Removals (SISR, Christiaens and Vanden
 * Berghe, Transportation Science 54(2), 2020), a ruin-and-recreate large
 * neighbourhood search under simulated annealing, written here from the
 * paper's description:
 *
 *   - ruin removes a few strings (or split strings, which keep a middle part)
 *     of consecutive customers from routes near a random seed customer;
 *   - recreate puts the removed and every unserved customer back one by one,
 *     in a random, largest-demand-first, farthest- or closest-first order,
 *     each at its cheapest feasible position, skipping each position with a
 *     small "blink" probability; a customer that fits nowhere stays out;
 *   - simulated annealing accepts the new solution when it serves more, or
 *     as many customers and its distance is below the current one plus
 *     T * -ln(U), T falling geometrically from T0 to T0/100.
 *
 * Feasibility of an insertion is checked in O(1) from each route position's
 * earliest service start (forward) and latest service start that keeps the
 * rest of the route on time (backward slack).  After every change the
 * changed routes are recomputed exactly from the definition, and a customer
 * late by rounding is taken out again, so a solution is never infeasible by
 * even one unit in the last place.
 *
 * Determinism: the random numbers come from a fixed seed; the search runs a
 * number of iterations computed from time_limit_ms and the instance size
 * only, calibrated to take well under the limit on an idle core.  The clock
 * stops the search early only if that budget overruns the limit (a loaded
 * machine); only then can two calls differ (DEBUG1 says so).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "repairsys.h"
#include "scoring.h"

PG_FUNCTION_INFO_V1(rs_route_solve);

/* Largest instance accepted (nodes, depot included). */
#define RS_ROUTE_MAX_NODES		10000
/* Largest coordinate, time, demand or capacity magnitude accepted. */
#define RS_ROUTE_MAX_VALUE		1e9
/* Largest time limit accepted, in milliseconds (10 minutes). */
#define RS_ROUTE_MAX_LIMIT_MS	600000
/* Distances are kept in a matrix up to this many nodes (32 MB). */
#define RS_ROUTE_MATRIX_NODES	2000
/* Neighbours kept per customer for choosing the routes to ruin. */
#define RS_ROUTE_NEIGHBOURS		64
/* SISR parameters: mean customers removed, longest string, blink rate. */
#define RS_SISR_CBAR			10.0
#define RS_SISR_LMAX			10.0
#define RS_SISR_BLINK			0.01
/*
 * Iterations per millisecond of time limit for 100 customers; the work of
 * one iteration grows with the number of customers, so the budget is scaled
 * by 100 / (customers + 10).  About a sixth of what an idle core does, a third
 * of what one shared by four busy processes does.
 */
#define RS_ROUTE_ITERS_PER_MS	15.0

/*
 * The instance.  Arrays have one slot per node followed by two per route
 * (the route's start and end at the depot, "sentinels"), so that a route is
 * a doubly linked list from its start sentinel to its end sentinel.
 */
typedef struct RouteProblem
{
	int			n;				/* nodes, depot included */
	int			nr;				/* routes available: min(vehicles, n - 1) */
	int			slots;			/* n + 2 * nr */
	double		capacity;
	double	   *x;
	double	   *y;
	double	   *demand;
	double	   *ready;
	double	   *due;
	double	   *service;
	int		   *base;			/* slot -> node (sentinels -> 0) */
	double	   *dist;			/* n x n matrix, or NULL */
	int			nnb;			/* neighbours per customer */
	int		   *nb;				/* n x nnb: customers nearest first (self first) */
	bool	   *servable;		/* a route depot - i - depot exists */
} RouteProblem;

/* A solution: routes as linked lists, with their schedules. */
typedef struct RouteSol
{
	int		   *next;			/* per slot */
	int		   *prev;
	int		   *route;			/* per slot: route, -1 unserved */
	double	   *est;			/* earliest service start */
	double	   *lst;			/* latest service start keeping the route on time */
	double	   *load;			/* per route */
	int		   *len;			/* per route: customers */
	double		cost;
	int			unserved;		/* servable customers left out */
} RouteSol;

/* xorshift64*: a small generator, seeded the same way on every call. */
static inline uint64
rnd_next(uint64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64CONST(2685821657736338717);
}

/* Uniform in [0, 1). */
static inline double
rnd_unit(uint64 *s)
{
	return (rnd_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, k), k >= 1. */
static inline int
rnd_int(uint64 *s, int k)
{
	return (int) (rnd_next(s) % (uint64) k);
}

static inline int
start_slot(const RouteProblem *P, int r)
{
	return P->n + 2 * r;
}

static inline int
end_slot(const RouteProblem *P, int r)
{
	return P->n + 2 * r + 1;
}

/* Euclidean distance between the nodes of two slots. */
static inline double
dist(const RouteProblem *P, int a, int b)
{
	int			i = P->base[a];
	int			j = P->base[b];
	double		dx,
				dy;

	if (P->dist)
		return P->dist[(long) i * P->n + j];
	dx = P->x[i] - P->x[j];
	dy = P->y[i] - P->y[j];
	return sqrt(dx * dx + dy * dy);
}

/* Node values of a slot; a start sentinel carries the depot's service time. */
static inline double
slot_service(const RouteProblem *P, int a)
{
	if (a >= P->n && ((a - P->n) & 1))
		return 0.0;				/* end sentinel: the route is over */
	return P->service[P->base[a]];
}

/*
 * Recomputes route r's load, length, schedule and slack from its list; takes
 * out (to unserved) any customer that is late (only ever by rounding, as
 * insertions are checked beforehand) and repeats until the route is on time.
 * Returns the number of customers taken out.
 */
static int
route_update(const RouteProblem *P, RouteSol *S, int r)
{
	int			s = start_slot(P, r);
	int			e = end_slot(P, r);
	int			removed = 0;

	for (;;)
	{
		int			a = s;
		int			late = -1;
		int			len = 0;
		double		load = 0.0;

		S->est[s] = P->ready[0];
		while (a != e)
		{
			int			b = S->next[a];
			double		arr = S->est[a] + slot_service(P, a) + dist(P, a, b);
			int			nb = P->base[b];

			S->est[b] = Max(arr, P->ready[nb]);
			if (b != e)
			{
				len++;
				load += P->demand[nb];
			}
			if (S->est[b] > P->due[nb] && late < 0)
				late = b;
			a = b;
		}
		if (late < 0 || late == e)
		{
			/*
			 * Back too late: drop the last customer.  An empty route late
			 * (the depot's service longer than its window) stays unused:
			 * no customer is servable then.
			 */
			if (late == e && S->prev[e] != s)
				late = S->prev[e];
			else
			{
				S->load[r] = load;
				S->len[r] = len;
				break;
			}
		}
		/* unlink the late customer and try again */
		S->next[S->prev[late]] = S->next[late];
		S->prev[S->next[late]] = S->prev[late];
		S->route[late] = -1;
		S->next[late] = S->prev[late] = -1;
		removed++;
	}
	/* backward: latest start at each slot */
	S->lst[e] = P->due[0];
	for (int b = e; b != s;)
	{
		int			a = S->prev[b];
		double		l = S->lst[b] - dist(P, a, b) - slot_service(P, a);
		double		d = P->due[P->base[a]];

		S->lst[a] = Min(l, d);
		b = a;
	}
	return removed;
}

/* Total distance and number of unserved servable customers, from scratch. */
static void
sol_evaluate(const RouteProblem *P, RouteSol *S)
{
	double		cost = 0.0;
	int			unserved = 0;

	for (int r = 0; r < P->nr; r++)
	{
		int			e = end_slot(P, r);

		for (int a = start_slot(P, r); a != e; a = S->next[a])
			cost += dist(P, a, S->next[a]);
	}
	for (int i = 1; i < P->n; i++)
		if (P->servable[i] && S->route[i] < 0)
			unserved++;
	S->cost = cost;
	S->unserved = unserved;
}

static RouteSol *
sol_alloc(const RouteProblem *P)
{
	RouteSol   *S = palloc0(sizeof(RouteSol));

	S->next = palloc(sizeof(int) * P->slots);
	S->prev = palloc(sizeof(int) * P->slots);
	S->route = palloc(sizeof(int) * P->slots);
	S->est = palloc0(sizeof(double) * P->slots);
	S->lst = palloc0(sizeof(double) * P->slots);
	S->load = palloc0(sizeof(double) * Max(P->nr, 1));
	S->len = palloc0(sizeof(int) * Max(P->nr, 1));
	return S;
}

static void
sol_copy(const RouteProblem *P, RouteSol *dst, const RouteSol *src)
{
	memcpy(dst->next, src->next, sizeof(int) * P->slots);
	memcpy(dst->prev, src->prev, sizeof(int) * P->slots);
	memcpy(dst->route, src->route, sizeof(int) * P->slots);
	memcpy(dst->est, src->est, sizeof(double) * P->slots);
	memcpy(dst->lst, src->lst, sizeof(double) * P->slots);
	memcpy(dst->load, src->load, sizeof(double) * Max(P->nr, 1));
	memcpy(dst->len, src->len, sizeof(int) * Max(P->nr, 1));
	dst->cost = src->cost;
	dst->unserved = src->unserved;
}

/* The empty solution: every route from its start straight to its end. */
static void
sol_empty(const RouteProblem *P, RouteSol *S)
{
	for (int i = 0; i < P->slots; i++)
	{
		S->next[i] = S->prev[i] = -1;
		S->route[i] = -1;
	}
	for (int r = 0; r < P->nr; r++)
	{
		int			s = start_slot(P, r);
		int			e = end_slot(P, r);

		S->next[s] = e;
		S->prev[e] = s;
		S->route[s] = S->route[e] = r;
		route_update(P, S, r);
	}
}

/* Removes customer c from its route (schedules are left to the caller). */
static inline void
unlink_customer(RouteSol *S, int c)
{
	S->next[S->prev[c]] = S->next[c];
	S->prev[S->next[c]] = S->prev[c];
	S->route[c] = -1;
	S->next[c] = S->prev[c] = -1;
}

/*
 * SISR ruin: removes strings from up to ks routes near a random seed
 * customer; marks the routes it touched in "touched".
 */
static void
ruin(const RouteProblem *P, RouteSol *S, uint64 *rng, bool *touched)
{
	int			served = 0;
	int			used = 0;
	double		ls_max;
	double		ks_max;
	int			ks;
	int			ruined = 0;
	int			seed;

	for (int r = 0; r < P->nr; r++)
	{
		touched[r] = false;
		if (S->len[r] > 0)
		{
			used++;
			served += S->len[r];
		}
	}
	if (used == 0)
		return;
	ls_max = Min(RS_SISR_LMAX, (double) served / used);
	ks_max = 4.0 * RS_SISR_CBAR / (1.0 + ls_max) - 1.0;
	ks = (int) floor(rnd_unit(rng) * ks_max) + 1;
	seed = 1 + rnd_int(rng, P->n - 1);

	for (int k = 0; k < P->nnb && ruined < ks; k++)
	{
		int			c = P->nb[(long) seed * P->nnb + k];
		int			r = S->route[c];
		int			len;
		int			lmax;
		int			l;
		int			pos;
		int			first;
		int			m = 0;
		int			keep_at = 0;
		int			a;

		if (r < 0 || touched[r])
			continue;
		len = S->len[r];
		lmax = (int) Min((double) len, ls_max);
		l = (int) floor(rnd_unit(rng) * lmax) + 1;
		/* split string: l + m customers of which m in the middle stay */
		if (rnd_unit(rng) < 0.5 && l + 1 < len)
		{
			m = 1;
			while (l + m < len && rnd_unit(rng) < 0.5)
				m++;
			keep_at = 1 + rnd_int(rng, Max(l - 1, 1));
		}
		/* position of c in its route, 0-based */
		pos = 0;
		for (a = S->next[start_slot(P, r)]; a != c; a = S->next[a])
			pos++;
		/* the string [first, first + l + m) contains c and fits in the route */
		{
			int			lo = Max(0, pos - (l + m) + 1);
			int			hi = Min(pos, len - (l + m));

			first = lo + rnd_int(rng, hi - lo + 1);
		}
		a = S->next[start_slot(P, r)];
		for (int i = 0; i < first; i++)
			a = S->next[a];
		for (int i = 0; i < l + m; i++)
		{
			int			b = S->next[a];

			if (m == 0 || i < keep_at || i >= keep_at + m)
				unlink_customer(S, a);
			a = b;
		}
		touched[r] = true;
		ruined++;
	}
	for (int r = 0; r < P->nr; r++)
		if (touched[r])
			route_update(P, S, r);
}

/* Sort keys for the recreate order (qsort with a total order: deterministic). */
typedef struct InsertKey
{
	double		key;
	int			c;
} InsertKey;

static int
insert_key_cmp(const void *a, const void *b)
{
	const InsertKey *x = a;
	const InsertKey *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->c - y->c;
}

/*
 * SISR recreate: inserts every unserved servable customer at its cheapest
 * feasible position (with blinks), in one of four orders.
 */
static void
recreate(const RouteProblem *P, RouteSol *S, uint64 *rng, InsertKey *keys, bool *touched)
{
	int			k = 0;
	int			order;
	int			w = rnd_int(rng, 11);

	for (int i = 1; i < P->n; i++)
		if (P->servable[i] && S->route[i] < 0)
		{
			keys[k].c = i;
			k++;
		}
	if (k == 0)
		return;
	/* random 4, demand 4, far 2, close 1 */
	order = w < 4 ? 0 : w < 8 ? 1 : w < 10 ? 2 : 3;
	for (int i = 0; i < k; i++)
	{
		int			c = keys[i].c;

		switch (order)
		{
			case 0:
				keys[i].key = rnd_unit(rng);
				break;
			case 1:
				keys[i].key = -P->demand[c];
				break;
			case 2:
				keys[i].key = -dist(P, 0, c);
				break;
			default:
				keys[i].key = dist(P, 0, c);
				break;
		}
	}
	qsort(keys, k, sizeof(InsertKey), insert_key_cmp);

	for (int i = 0; i < k; i++)
	{
		int			c = keys[i].c;
		double		best = INFINITY;
		int			best_a = -1;
		bool		tried_empty = false;

		CHECK_FOR_INTERRUPTS();
		for (int r = 0; r < P->nr; r++)
		{
			int			e = end_slot(P, r);

			if (S->load[r] + P->demand[c] > P->capacity)
				continue;
			if (S->len[r] == 0)
			{
				/* all empty routes are alike: try the first only */
				if (tried_empty)
					continue;
				tried_empty = true;
			}
			for (int a = start_slot(P, r); a != e; a = S->next[a])
			{
				int			b = S->next[a];
				double		arr,
							st,
							nb,
							delta;

				if (S->est[a] > P->due[c])
					break;		/* est only grows along a route */
				if (rnd_unit(rng) < RS_SISR_BLINK)
					continue;
				arr = S->est[a] + slot_service(P, a) + dist(P, a, c);
				if (arr > P->due[c])
					continue;
				st = Max(arr, P->ready[c]);
				nb = st + P->service[c] + dist(P, c, b);
				if (Max(nb, P->ready[P->base[b]]) > S->lst[b])
					continue;
				delta = dist(P, a, c) + dist(P, c, b) - dist(P, a, b);
				if (delta < best)
				{
					best = delta;
					best_a = a;
				}
			}
		}
		if (best_a >= 0)
		{
			int			r = S->route[best_a];
			int			b = S->next[best_a];

			S->next[best_a] = c;
			S->prev[c] = best_a;
			S->next[c] = b;
			S->prev[b] = c;
			S->route[c] = r;
			route_update(P, S, r);
			touched[r] = true;
		}
	}
}

/* Builds the problem's derived data: distances, neighbours, servability. */
static void
problem_prepare(RouteProblem *P)
{
	int			n = P->n;
	InsertKey  *tmp;

	P->slots = n + 2 * P->nr;
	P->base = palloc(sizeof(int) * P->slots);
	for (int i = 0; i < P->slots; i++)
		P->base[i] = i < n ? i : 0;
	P->dist = NULL;
	if (n <= RS_ROUTE_MATRIX_NODES)
	{
		double	   *m = palloc(sizeof(double) * n * n);

		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
			{
				double		dx = P->x[i] - P->x[j];
				double		dy = P->y[i] - P->y[j];

				m[(long) i * n + j] = sqrt(dx * dx + dy * dy);
			}
		P->dist = m;
	}
	/* neighbours: the nnb customers nearest to each customer, self first */
	P->nnb = Min(n - 1, RS_ROUTE_NEIGHBOURS);
	P->nb = palloc(sizeof(int) * (long) n * P->nnb);
	tmp = palloc(sizeof(InsertKey) * (P->nnb + 1));
	for (int i = 1; i < n; i++)
	{
		int			have = 0;

		/* keep the nnb smallest (distance, node) in order: insertion */
		for (int j = 1; j < n; j++)
		{
			InsertKey	k = {j == i ? -1.0 : dist(P, i, j), j};
			int			p;

			if (have == P->nnb && insert_key_cmp(&k, &tmp[have - 1]) >= 0)
				continue;
			p = have < P->nnb ? have++ : have - 1;
			while (p > 0 && insert_key_cmp(&k, &tmp[p - 1]) < 0)
			{
				tmp[p] = tmp[p - 1];
				p--;
			}
			tmp[p] = k;
		}
		for (int k = 0; k < P->nnb; k++)
			P->nb[(long) i * P->nnb + k] = tmp[k].c;
		CHECK_FOR_INTERRUPTS();
	}
	pfree(tmp);
	/* a customer is servable when a route serving only it is feasible */
	P->servable = palloc0(sizeof(bool) * n);
	for (int i = 1; i < n; i++)
	{
		double		arr = P->ready[0] + P->service[0] + dist(P, 0, i);
		double		st = Max(arr, P->ready[i]);
		double		back = st + P->service[i] + dist(P, i, 0);

		P->servable[i] = P->demand[i] <= P->capacity && arr <= P->due[i] &&
			back <= P->due[0];
	}
}

/* Is a better than b: more served, then shorter. */
static inline bool
sol_better(const RouteSol *a, const RouteSol *b)
{
	if (a->unserved != b->unserved)
		return a->unserved < b->unserved;
	return a->cost < b->cost;
}

/*
 * The search.  Leaves the best solution found in "best".  iterations is the
 * deterministic budget; deadline (when set) stops it early.
 */
static void
route_search(const RouteProblem *P, RouteSol *best, long iterations,
			 instr_time start, double limit_ms)
{
	RouteSol   *cur = sol_alloc(P);
	RouteSol   *cand = sol_alloc(P);
	InsertKey  *keys = palloc(sizeof(InsertKey) * P->n);
	bool	   *touched = palloc0(sizeof(bool) * Max(P->nr, 1));
	uint64		rng = UINT64CONST(0x9E3779B97F4A7C15) ^ (uint64) P->n;
	double		t0,
				tf;
	long		it;

	sol_empty(P, cur);
	recreate(P, cur, &rng, keys, touched);
	sol_evaluate(P, cur);
	sol_copy(P, best, cur);

	/* temperatures on the scale of the instance: a few mean edges */
	{
		int			served = 0;

		for (int i = 1; i < P->n; i++)
			if (cur->route[i] >= 0)
				served++;
		t0 = served > 0 ? 6.0 * cur->cost / (served + 1) : 1.0;
		if (!(t0 > 0.0))
			t0 = 1.0;
		tf = t0 / 100.0;
	}

	for (it = 0; it < iterations; it++)
	{
		double		temp = t0 * pow(tf / t0, (double) it / iterations);

		CHECK_FOR_INTERRUPTS();
		if ((it & 31) == 0)
		{
			instr_time	now;

			INSTR_TIME_SET_CURRENT(now);
			INSTR_TIME_SUBTRACT(now, start);
			if (INSTR_TIME_GET_MILLISEC(now) > limit_ms)
			{
				elog(DEBUG1, "route_solve: time limit reached after %ld of %ld iterations; the result may differ between calls",
					 it, iterations);
				break;
			}
		}
		sol_copy(P, cand, cur);
		ruin(P, cand, &rng, touched);
		recreate(P, cand, &rng, keys, touched);
		sol_evaluate(P, cand);
		if (cand->unserved < cur->unserved ||
			(cand->unserved == cur->unserved &&
			 cand->cost < cur->cost - temp * log(1.0 - rnd_unit(&rng))))
		{
			RouteSol   *t = cur;

			cur = cand;
			cand = t;
			if (sol_better(cur, best))
				sol_copy(P, best, cur);
		}
	}
}

/* Reads one float8[] argument, checked, into a C array of n values. */
static double *
read_values(FunctionCallInfo fcinfo, int argno, const char *name, int n, bool allow_negative)
{
	ArrayType  *arr;
	Datum	   *v;
	bool	   *nl;
	double	   *out;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" of route_solve must not be null", name)));
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (repairsys_array_len(arr, FLOAT8OID, name) != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("arrays \"x\" and \"%s\" of route_solve have different lengths (%d and %d)",
						name, n, repairsys_array_len(arr, FLOAT8OID, name)),
				 errdetail("Every array has one element per node, the depot first.")));
	repairsys_array_datums(arr, FLOAT8OID, n, name, &v, &nl);
	out = palloc(sizeof(double) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (nl[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("element %d of \"%s\" is null", i + 1, name)));
		out[i] = DatumGetFloat8(v[i]);
		if (isnan(out[i]) || isinf(out[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("element %d of \"%s\" is not a finite number: \"%g\"", i + 1, name, out[i])));
		if (!allow_negative && out[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("element %d of \"%s\" is negative: \"%g\"", i + 1, name, out[i])));
		if (fabs(out[i]) > RS_ROUTE_MAX_VALUE)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("element %d of \"%s\" is out of range: \"%g\"", i + 1, name, out[i]),
					 errdetail("Coordinates, demands and times lie between -1e9 and 1e9.")));
	}
	return out;
}

/* Route order in the output: by first customer (node number). */
typedef struct RouteOrder
{
	int			first;
	int			r;
} RouteOrder;

static int
route_order_cmp(const void *a, const void *b)
{
	return ((const RouteOrder *) a)->first - ((const RouteOrder *) b)->first;
}

/*
 * route_solve(x, y, demand, ready, due, service float8[], vehicles int,
 * capacity float8, time_limit_ms int) RETURNS TABLE (vehicle int, seq int,
 * node int, arrival float8, start float8): each route from depot (seq 0) to
 * depot, vehicles numbered 1.. in the order of their first customer, then
 * the unserved customers with vehicle NULL.
 */
Datum
rs_route_solve(PG_FUNCTION_ARGS)
{
	static const char *names[6] = {"x", "y", "demand", "ready", "due", "service"};
	RouteProblem P;
	RouteSol   *best;
	MemoryContext solvecxt;
	MemoryContext oldcxt;
	Tuplestorestate *store;
	TupleDesc	tupdesc;
	double	   *vals[6];
	int			n;
	int32		vehicles;
	double		capacity;
	int32		limit_ms;
	int			ncust;
	long		iterations;
	instr_time	start;
	RouteOrder *order;
	int			norder = 0;

	INSTR_TIME_SET_CURRENT(start);
	for (int k = 6; k < 9; k++)
		if (PG_ARGISNULL(k))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"%s\" of route_solve must not be null",
							k == 6 ? "vehicles" : k == 7 ? "capacity" : "time_limit_ms")));
	vehicles = PG_GETARG_INT32(6);
	capacity = PG_GETARG_FLOAT8(7);
	limit_ms = PG_GETARG_INT32(8);
	if (vehicles < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("vehicles must be at least 1, not %d", vehicles)));
	if (!(capacity > 0) || isinf(capacity) || capacity > RS_ROUTE_MAX_VALUE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("capacity must be a positive number up to 1e9, not \"%g\"", capacity)));
	if (limit_ms < 0 || limit_ms > RS_ROUTE_MAX_LIMIT_MS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time_limit_ms must be between 0 and %d, not %d", RS_ROUTE_MAX_LIMIT_MS, limit_ms)));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"x\" of route_solve must not be null")));
	n = repairsys_array_len(PG_GETARG_ARRAYTYPE_P(0), FLOAT8OID, "x");
	if (n < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("route_solve needs at least 2 nodes, got %d", n),
				 errdetail("Node 1 is the depot; the others are the customers.")));
	if (n > RS_ROUTE_MAX_NODES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("route_solve takes at most %d nodes, got %d", RS_ROUTE_MAX_NODES, n)));

	solvecxt = AllocSetContextCreate(CurrentMemoryContext, "repairsys route_solve",
									 ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(solvecxt);
	for (int k = 0; k < 6; k++)
		vals[k] = read_values(fcinfo, k, names[k], n, k < 2);
	for (int i = 0; i < n; i++)
		if (vals[3][i] > vals[4][i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ready time \"%g\" of node %d is after its due time \"%g\"",
							vals[3][i], i + 1, vals[4][i])));

	memset(&P, 0, sizeof(P));
	P.n = n;
	ncust = n - 1;
	P.nr = Min(vehicles, ncust);
	P.capacity = capacity;
	P.x = vals[0];
	P.y = vals[1];
	P.demand = vals[2];
	P.ready = vals[3];
	P.due = vals[4];
	P.service = vals[5];
	problem_prepare(&P);

	iterations = (long) (RS_ROUTE_ITERS_PER_MS * limit_ms * 100.0 / (ncust + 10));
	best = sol_alloc(&P);
	route_search(&P, best, iterations, start, (double) limit_ms);

	/* output: routes by first customer, then the unserved */
	order = palloc(sizeof(RouteOrder) * Max(P.nr, 1));
	for (int r = 0; r < P.nr; r++)
		if (best->len[r] > 0)
		{
			order[norder].first = best->next[start_slot(&P, r)];
			order[norder].r = r;
			norder++;
		}
	qsort(order, norder, sizeof(RouteOrder), route_order_cmp);

	MemoryContextSwitchTo(oldcxt);
	store = repairsys_materialize(fcinfo, &tupdesc);
	for (int v = 0; v < norder; v++)
	{
		int			r = order[v].r;
		int			s = start_slot(&P, r);
		int			e = end_slot(&P, r);
		int			seq = 0;
		int			a = s;

		for (;;)
		{
			Datum		values[5];
			bool		nulls[5] = {false, false, false, false, false};
			double		arr;

			if (a == s)
				arr = best->est[s];
			else
			{
				int			p = best->prev[a];

				arr = best->est[p] + slot_service(&P, p) + dist(&P, p, a);
			}
			values[0] = Int32GetDatum(v + 1);
			values[1] = Int32GetDatum(seq);
			values[2] = Int32GetDatum(P.base[a] + 1);
			values[3] = Float8GetDatum(arr);
			values[4] = Float8GetDatum(best->est[a]);
			tuplestore_putvalues(store, tupdesc, values, nulls);
			if (a == e)
				break;
			a = best->next[a];
			seq++;
		}
	}
	for (int i = 1; i < n; i++)
		if (best->route[i] < 0)
		{
			Datum		values[5];
			bool		nulls[5] = {true, true, false, true, true};

			values[0] = values[1] = values[3] = values[4] = (Datum) 0;
			values[2] = Int32GetDatum(i + 1);
			tuplestore_putvalues(store, tupdesc, values, nulls);
		}
	MemoryContextDelete(solvecxt);
	return (Datum) 0;
}
