/*
 * assign.c
 *		Exact batch assignment of tickets to technicians with capacities.
 *
 * The problem: n tickets (rows) in priority order, T technicians (columns)
 * with remaining capacities, a score for every allowed (ticket, technician)
 * pair.  The solution, in this order of importance:
 *
 *   1. the set of tickets served is the one a priority-ordered greedy over
 *      the transversal matroid picks: a ticket is served whenever it can be,
 *      together with every higher-priority ticket already served (possibly
 *      after moving those to other technicians).  So as many tickets as
 *      possible are served, and when capacity is short the higher-priority
 *      ones win.
 *   2. among assignments serving exactly that set, the total score is
 *      maximal.
 *
 * Both come from one algorithm: successive shortest augmenting paths
 * (Hungarian method, as in Jonker-Volgenant) on the network
 * ticket -> technician -> sink with capacities on the technician -> sink
 * arcs, adding the tickets one by one in priority order.  Each phase runs
 * Dijkstra from the new ticket over reduced costs (node potentials keep them
 * non-negative); reaching a technician with free capacity augments, and the
 * matching stays a cheapest one for the tickets served so far.  A ticket
 * whose search reaches no free capacity stays unserved and leaves the
 * matching and the potentials as they were.  Cost of a phase: O(k * T) for
 * k technicians popped (a dense linear-scan Dijkstra); O(n * T) in all when
 * capacity is plentiful, O(n^2 * T) at worst.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "scoring.h"

PG_FUNCTION_INFO_V1(rs_assignment_solve);
PG_FUNCTION_INFO_V1(rs_solve_pending);

/* Largest magnitude of a score given to assignment_solve(). */
#define RS_ASSIGN_MAX_SCORE 1e12

/* Largest problem accepted (tickets x technicians), about 160 MB of scores. */
#define RS_ASSIGN_MAX_CELLS 20000000L

/*
 * Relaxes the arcs of one row (its costs crow, NaN: no arc) from distance
 * base = d(row) + p(row) to the columns not yet popped.
 */
static inline void
relax_row(const double *crow, int ncols, int row, double base, const double *p_col,
		  const bool *done_col, double *d_col, int *pred_row)
{
	int			j;

	for (j = 0; j < ncols; j++)
	{
		double		nd;

		if (done_col[j] || isnan(crow[j]))
			continue;
		nd = base + crow[j] - p_col[j];
		if (nd < d_col[j])
		{
			d_col[j] = nd;
			pred_row[j] = row;
		}
	}
}

/*
 * Solves the assignment problem described at the top of this file.
 *
 * score: nrows * ncols values, row-major; NaN marks a forbidden pair; the
 * finite ones may be any real numbers.  cap: ncols capacities (>= 0).
 * Result: row_col[i] = column of row i, or -1 when the row is not served.
 * Memory is taken from the current context; the caller runs it in a
 * context of its own.
 */
static void
rs_assign_solve(int nrows, int ncols, const double *score, const int *cap, int *row_col)
{
	double		maxs = -INFINITY;
	double	   *cost;
	double	   *p_row;			/* potentials of rows */
	double	   *p_col;			/* potentials of columns */
	double	   *d_col;			/* Dijkstra distance of columns */
	double	   *d_row;			/* Dijkstra distance of visited rows */
	int		   *pred_row;		/* row through which a column was reached */
	bool	   *done_col;		/* column popped (it is full) */
	int		   *used;			/* rows served by a column */
	int		   *head;			/* first row served by a column */
	int		   *next;			/* next row served by the same column */
	int		   *prev;
	int		   *vis_rows;
	int		   *vis_cols;
	long		cells = (long) nrows * (long) ncols;
	long		k;
	int			i;

	for (i = 0; i < nrows; i++)
		row_col[i] = -1;
	if (nrows == 0 || ncols == 0)
		return;

	for (k = 0; k < cells; k++)
		if (!isnan(score[k]) && score[k] > maxs)
			maxs = score[k];
	if (isinf(maxs))
		return;					/* every pair is forbidden */

	/*
	 * Costs maxs - score >= 0.  Every served row contributes one pair, and
	 * the set of served rows does not depend on the costs, so minimizing
	 * this cost maximizes the score.
	 */
	cost = (double *) palloc(sizeof(double) * cells);
	for (k = 0; k < cells; k++)
		cost[k] = isnan(score[k]) ? NAN : maxs - score[k];

	p_row = (double *) palloc0(sizeof(double) * nrows);
	p_col = (double *) palloc0(sizeof(double) * ncols);
	d_col = (double *) palloc(sizeof(double) * ncols);
	d_row = (double *) palloc(sizeof(double) * nrows);
	pred_row = (int *) palloc(sizeof(int) * ncols);
	done_col = (bool *) palloc(sizeof(bool) * ncols);
	used = (int *) palloc0(sizeof(int) * ncols);
	head = (int *) palloc(sizeof(int) * ncols);
	next = (int *) palloc(sizeof(int) * nrows);
	prev = (int *) palloc(sizeof(int) * nrows);
	vis_rows = (int *) palloc(sizeof(int) * nrows);
	vis_cols = (int *) palloc(sizeof(int) * ncols);
	for (i = 0; i < ncols; i++)
		head[i] = -1;

	for (i = 0; i < nrows; i++)
	{
		int			nvr = 0;
		int			nvc = 0;
		int			end = -1;
		double		D = 0.0;
		int			j;

		CHECK_FOR_INTERRUPTS();
		for (j = 0; j < ncols; j++)
		{
			d_col[j] = INFINITY;
			done_col[j] = false;
			pred_row[j] = -1;
		}
		d_row[i] = 0.0;
		vis_rows[nvr++] = i;
		relax_row(cost + (long) i * ncols, ncols, i, d_row[i] + p_row[i],
				  p_col, done_col, d_col, pred_row);

		for (;;)
		{
			double		best = INFINITY;
			int			bj = -1;
			int			q;

			/* pop the nearest column not popped yet (ties: lower index) */
			for (j = 0; j < ncols; j++)
				if (!done_col[j] && d_col[j] < best)
				{
					best = d_col[j];
					bj = j;
				}
			if (bj < 0)
				break;			/* no free capacity reachable */
			if (used[bj] < cap[bj])
			{
				end = bj;
				D = best;
				break;
			}
			/* a full column: go on through every row it serves */
			done_col[bj] = true;
			vis_cols[nvc++] = bj;
			for (q = head[bj]; q >= 0; q = next[q])
			{
				d_row[q] = best;	/* its matched arc has reduced cost 0 */
				vis_rows[nvr++] = q;
				relax_row(cost + (long) q * ncols, ncols, q, d_row[q] + p_row[q],
						  p_col, done_col, d_col, pred_row);
			}
		}

		if (end < 0)
			continue;			/* row i is not served */

		/* potentials: p += d - D on everything the search settled */
		for (k = 0; k < nvr; k++)
			p_row[vis_rows[k]] += d_row[vis_rows[k]] - D;
		for (k = 0; k < nvc; k++)
			p_col[vis_cols[k]] += d_col[vis_cols[k]] - D;

		/* augment along the predecessor chain back to row i */
		{
			int			col = end;

			used[end]++;
			for (;;)
			{
				int			q = pred_row[col];
				int			old = row_col[q];

				/* unlink q from its old column */
				if (old >= 0)
				{
					if (prev[q] >= 0)
						next[prev[q]] = next[q];
					else
						head[old] = next[q];
					if (next[q] >= 0)
						prev[next[q]] = prev[q];
				}
				/* link q to col */
				row_col[q] = col;
				prev[q] = -1;
				next[q] = head[col];
				if (head[col] >= 0)
					prev[head[col]] = q;
				head[col] = q;
				if (q == i)
					break;
				col = old;
			}
		}
	}
}

/* Refuses problems above the size limit (54000). */
static void
check_size(long nrows, long ncols)
{
	if (nrows > 0 && ncols > 0 && nrows * ncols > RS_ASSIGN_MAX_CELLS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("assignment problem of %ld tickets and %ld technicians is too large",
						nrows, ncols),
				 errdetail("At most %ld ticket-technician pairs are solved at once.",
						   RS_ASSIGN_MAX_CELLS),
				 errhint("Assign the backlog in parts, for example per service center.")));
}

/*
 * repairsys.assignment_solve(scores float8[][], capacities int[]) int[]
 *
 * The solver on its own: rows are tickets in priority order (first row
 * first), columns technicians; a NULL score forbids the pair.  Returns for
 * each row the 1-based column it is assigned to, or NULL.
 */
Datum
rs_assignment_solve(PG_FUNCTION_ARGS)
{
	ArrayType  *sarr = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *carr = PG_GETARG_ARRAYTYPE_P(1);
	int			nrows;
	int			ncols;
	Datum	   *sv;
	bool	   *sn;
	int			ns;
	Datum	   *cv;
	bool	   *cn;
	double	   *score;
	int		   *cap;
	int		   *row_col;
	Datum	   *out;
	bool	   *outnull;
	int			dims[1];
	int			lbs[1];
	int			i;
	long		k;
	MemoryContext solvecxt;
	MemoryContext oldcxt;
	ArrayType  *result;

	if (ARR_ELEMTYPE(sarr) != FLOAT8OID || ARR_ELEMTYPE(carr) != INT4OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("assignment_solve takes float8[] scores and int[] capacities")));
	if (ARR_NDIM(sarr) == 0)
	{
		nrows = 0;
		ncols = rs_array_len(carr, INT4OID, "capacities");
	}
	else if (ARR_NDIM(sarr) == 2)
	{
		nrows = ARR_DIMS(sarr)[0];
		ncols = ARR_DIMS(sarr)[1];
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("scores must be a two-dimensional array (tickets x technicians)")));
	check_size(nrows, ncols);
	rs_array_datums(carr, INT4OID, ncols, "capacities", &cv, &cn);

	solvecxt = AllocSetContextCreate(CurrentMemoryContext, "repairsys assignment",
									 ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(solvecxt);

	cap = (int *) palloc(sizeof(int) * Max(ncols, 1));
	for (i = 0; i < ncols; i++)
	{
		if (cn[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("capacity of column %d is null", i + 1)));
		cap[i] = DatumGetInt32(cv[i]);
		if (cap[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("capacity %d of column %d is negative", cap[i], i + 1)));
	}

	score = (double *) palloc(sizeof(double) * Max((long) nrows * ncols, 1));
	if (nrows > 0 && ncols > 0)
	{
		deconstruct_array(sarr, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &sv, &sn, &ns);
		for (k = 0; k < ns; k++)
		{
			if (sn[k])
				score[k] = NAN;
			else
			{
				score[k] = DatumGetFloat8(sv[k]);
				if (isnan(score[k]) || isinf(score[k]))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("score \"%g\" at row %ld, column %ld is not a finite number",
									score[k], k / ncols + 1, k % ncols + 1),
							 errhint("Use NULL for a pair that is not allowed.")));
				if (fabs(score[k]) > RS_ASSIGN_MAX_SCORE)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("score \"%g\" at row %ld, column %ld is out of range",
									score[k], k / ncols + 1, k % ncols + 1),
							 errdetail("Scores lie between -1e12 and 1e12, so that sums of score differences stay exact enough.")));
			}
		}
	}
	row_col = (int *) palloc(sizeof(int) * Max(nrows, 1));
	rs_assign_solve(nrows, ncols, score, cap, row_col);

	MemoryContextSwitchTo(oldcxt);
	out = (Datum *) palloc(sizeof(Datum) * Max(nrows, 1));
	outnull = (bool *) palloc(sizeof(bool) * Max(nrows, 1));
	for (i = 0; i < nrows; i++)
	{
		outnull[i] = row_col[i] < 0;
		out[i] = Int32GetDatum(row_col[i] + 1);
	}
	dims[0] = nrows;
	lbs[0] = 1;
	if (nrows == 0)
		result = construct_empty_array(INT4OID);
	else
		result = construct_md_array(out, outnull, 1, dims, lbs, INT4OID, 4, true, TYPALIGN_INT);
	MemoryContextDelete(solvecxt);
	PG_RETURN_ARRAYTYPE_P(result);
}

/* Reads an int8 array element (0 for NULL). */
static inline int64
i8_or_0(Datum *v, bool *n, int i)
{
	return n[i] ? 0 : DatumGetInt64(v[i]);
}

/*
 * repairsys.solve_pending(policy, t_id bigint[], t_lat float8[],
 *     t_lon float8[], t_center bigint[], t_skill int[], t_min_level int[],
 *     t_cont_customer bigint[], t_cont_asset bigint[],
 *     tech_id, tech_active, tech_center, tech_lat, tech_lon, tech_capacity,
 *     tech_open, tech_rating, levels int[][])
 * returns setof (ticket_id bigint, technician_id bigint, score float8)
 *
 * Kernel of repairsys.auto_assign_pending(): scores every (ticket,
 * technician) pair with the candidates kernel, forbids the pairs a hard rule
 * excludes, gives each technician its remaining capacity (capacity - open,
 * whatever the policy: the table refuses more) and solves.  Tickets
 * come in priority order; one row per ticket comes out in that order, with
 * NULL technician and score when the ticket is not served.  t_skill[i] is 0
 * when the ticket needs no skill, else the 1-based row of levels (levels[s][j]
 * is technician j's level of that skill, 0 or NULL when he lacks it).
 */
Datum
rs_solve_pending(PG_FUNCTION_ARGS)
{
	static const char *const tnames[] = {"t_id", "t_lat", "t_lon", "t_center", "t_skill",
	"t_min_level", "t_cont_customer", "t_cont_asset"};
	static const Oid ttypes[] = {INT8OID, FLOAT8OID, FLOAT8OID, INT8OID, INT4OID,
	INT4OID, INT8OID, INT8OID};
	RsPolicy	policy;
	ArrayType  *tarrs[8];
	Datum	   *tv[8];
	bool	   *tn[8];
	int			nt;
	int			ntech;
	RsTech	   *techs;
	RsTicket   *tickets;
	int		   *tskill;
	int			nskills = 0;
	int		   *levels = NULL;
	double	   *score;
	int		   *cap;
	int		   *row_col;
	Tuplestorestate *store;
	TupleDesc	tupdesc;
	MemoryContext solvecxt;
	MemoryContext oldcxt;
	int			i;
	int			j;
	int			k;

	for (k = 0; k < 18; k++)
		if (PG_ARGISNULL(k))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("solve_pending takes no null argument")));
	rs_policy_from_datum(PG_GETARG_DATUM(0), &policy);

	solvecxt = AllocSetContextCreate(CurrentMemoryContext, "repairsys pending assignment",
									 ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(solvecxt);

	for (k = 0; k < 8; k++)
		tarrs[k] = PG_GETARG_ARRAYTYPE_P(1 + k);
	nt = rs_array_len(tarrs[0], INT8OID, tnames[0]);
	for (k = 0; k < 8; k++)
		rs_array_datums(tarrs[k], ttypes[k], nt, tnames[k], &tv[k], &tn[k]);
	ntech = rs_read_techs(fcinfo, 9, &techs);
	check_size(nt, ntech);

	/* skill levels: a (skills x technicians) matrix */
	{
		ArrayType  *larr = PG_GETARG_ARRAYTYPE_P(17);

		if (ARR_ELEMTYPE(larr) != INT4OID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("argument \"levels\" must be an int[]")));
		if (ARR_NDIM(larr) == 2 && ARR_DIMS(larr)[1] == ntech)
		{
			Datum	   *lv;
			bool	   *ln;
			int			nl;

			nskills = ARR_DIMS(larr)[0];
			deconstruct_array(larr, INT4OID, 4, true, TYPALIGN_INT, &lv, &ln, &nl);
			levels = (int *) palloc(sizeof(int) * Max(nl, 1));
			for (k = 0; k < nl; k++)
				levels[k] = ln[k] ? 0 : DatumGetInt32(lv[k]);
		}
		else if (ARR_NDIM(larr) != 0 && !(ARR_NDIM(larr) == 2 && ntech == 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"levels\" must be a skills x technicians matrix")));
	}

	tickets = (RsTicket *) palloc0(sizeof(RsTicket) * Max(nt, 1));
	tskill = (int *) palloc0(sizeof(int) * Max(nt, 1));
	for (i = 0; i < nt; i++)
	{
		RsTicket   *t = &tickets[i];

		if (tn[0][i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("ticket ids must not be null")));
		t->has_location = !tn[1][i] && !tn[2][i];
		if (t->has_location)
		{
			t->lat = DatumGetFloat8(tv[1][i]);
			t->lon = DatumGetFloat8(tv[2][i]);
			rs_check_coordinates(t->lat, t->lon);
		}
		t->has_center = !tn[3][i];
		t->center = i8_or_0(tv[3], tn[3], i);
		tskill[i] = tn[4][i] ? 0 : DatumGetInt32(tv[4][i]);
		if (tskill[i] < 0 || tskill[i] > nskills)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("skill index %d of ticket %lld is out of range",
							tskill[i], (long long) DatumGetInt64(tv[0][i]))));
		t->needs_skill = tskill[i] > 0;
		t->min_level = tn[5][i] ? 1 : DatumGetInt32(tv[5][i]);
		if (t->min_level < 1 || t->min_level > 5)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("minimum skill level %d is out of range", t->min_level)));
		t->continuity[0] = i8_or_0(tv[6], tn[6], i);
		t->continuity[1] = i8_or_0(tv[7], tn[7], i);
	}

	/* the score matrix; NaN where a hard rule excludes the pair */
	score = (double *) palloc(sizeof(double) * Max((long) nt * ntech, 1));
	for (i = 0; i < nt; i++)
	{
		CHECK_FOR_INTERRUPTS();
		for (j = 0; j < ntech; j++)
		{
			RsTech		tech = techs[j];
			RsScore		s;

			tech.level = tskill[i] > 0 ? levels[(long) (tskill[i] - 1) * ntech + j] : 0;
			rs_score(&policy, &tickets[i], &tech, &s);
			score[(long) i * ntech + j] = (s.fails == 0) ? s.score : NAN;
		}
	}
	cap = (int *) palloc(sizeof(int) * Max(ntech, 1));
	/*
	 * Capacity binds whatever the policy says: the assignment trigger of
	 * repairsys.ticket refuses a technician at capacity on every route, so a
	 * policy without the capacity rule only ranks full technicians in
	 * candidates().
	 */
	for (j = 0; j < ntech; j++)
		cap[j] = Max(techs[j].capacity - techs[j].open, 0);
	row_col = (int *) palloc(sizeof(int) * Max(nt, 1));
	rs_assign_solve(nt, ntech, score, cap, row_col);

	MemoryContextSwitchTo(oldcxt);
	store = rs_materialize(fcinfo, &tupdesc);
	for (i = 0; i < nt; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = tv[0][i];
		if (row_col[i] >= 0)
		{
			values[1] = Int64GetDatum(techs[row_col[i]].id);
			values[2] = Float8GetDatum(score[(long) i * ntech + row_col[i]]);
		}
		else
		{
			nulls[1] = nulls[2] = true;
			values[1] = values[2] = (Datum) 0;
		}
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	MemoryContextDelete(solvecxt);
	return (Datum) 0;
}
