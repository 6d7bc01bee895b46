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
 * (Hungarian method; the dense variant of Jonker-Volgenant that Crouse
 * describes and scipy's linear_sum_assignment implements) on the network
 * ticket -> technician -> sink with capacities on the technician -> sink
 * arcs (no slot matrix is expanded), adding the tickets one by one in
 * priority order.  Each search is a dense Dijkstra from the new ticket over
 * reduced costs (dual prices keep them non-negative): one pass over the
 * columns not settled yet both relaxes the arcs of the row just reached and
 * finds the nearest column.  Reaching a technician with free capacity
 * augments, and the matching stays a cheapest one for the tickets served so
 * far; a ticket whose search reaches no free capacity stays unserved, leaves
 * the matching and the prices as they were, and the full technicians it
 * reached are closed for good (nobody can ever leave them).  Cost of a
 * search: O(k * T) for k technicians settled out of T.
 *
 * Where at most a third of the pairs are allowed (a distance limit, skills),
 * the same searches run over each row's allowed arcs with a binary heap of
 * the reached columns instead of passes over every column.
 *
 * Dense square problems with capacities 1 serve every row whatever the
 * order, so there Jonker-Volgenant's start (column reduction, reduction
 * transfer, augmenting row reduction) first sets the prices and assigns
 * most rows; the searches then only place the few rows left.
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

#include "repairsys.h"
#include "scoring.h"

PG_FUNCTION_INFO_V1(rs_assignment_solve);
PG_FUNCTION_INFO_V1(rs_solve_pending);

/* Largest magnitude of a score given to assignment_solve(). */
#define RS_ASSIGN_MAX_SCORE 1e12

/* Largest problem accepted (tickets x technicians), about 160 MB of scores. */
#define RS_ASSIGN_MAX_CELLS 20000000L

/*
 * Working state of one solve.  Costs are the negated scores (c = -s), so the
 * solver minimizes; reduced costs are c - u - v.  Every array lives in one
 * palloc'd block (see lap_alloc).
 */
typedef struct RsLap
{
	int			nrows;
	int			ncols;
	const double *s;			/* scores, row-major; NaN: forbidden pair */
	const int  *cap;			/* capacities of the columns */
	int		   *row_col;		/* column of each row, -1: not served */
	double	   *u;				/* row duals */
	double	   *v;				/* column duals (0 while a column has room) */
	double	   *d;				/* shortest path length of each column */
	int		   *pred;			/* row through which a column was reached */
	int		   *used;			/* rows served by a column */
	int		   *head;			/* first row served by a column */
	int		   *next;			/* next row served by the same column */
	int		   *prev;			/* previous row served by the same column */
	int		   *live;			/* columns still worth searching */
	int			nlive;
	int		   *rem;			/* columns not settled yet in this search */
	int		   *sc;				/* columns settled in this search */
	int		   *sr;				/* rows reached in this search */
	int		   *col_row;		/* JV start: row of a column, -1: free */
	int		   *work;			/* JV start: scratch of nrows + ncols */
} RsLap;

/* Carves every working array out of one allocation. */
static void
lap_alloc(RsLap *w, int nrows, int ncols, const double *s, const int *cap, int *row_col)
{
	Size		nd = (Size) nrows + 2 * (Size) ncols;
	Size		ni = 8 * (Size) ncols + 4 * (Size) nrows + 2;
	char	   *block = palloc(sizeof(double) * nd + sizeof(int) * ni);
	int		   *ip;

	w->nrows = nrows;
	w->ncols = ncols;
	w->s = s;
	w->cap = cap;
	w->row_col = row_col;
	w->u = (double *) block;
	w->v = w->u + nrows;
	w->d = w->v + ncols;
	ip = (int *) (w->d + ncols);
	w->pred = ip;
	w->used = w->pred + ncols;
	w->head = w->used + ncols;
	w->live = w->head + ncols;
	w->rem = w->live + ncols;
	w->sc = w->rem + ncols;
	w->col_row = w->sc + ncols;
	w->next = w->col_row + ncols;
	w->prev = w->next + nrows;
	w->sr = w->prev + nrows;	/* nrows + 1 */
	w->work = w->sr + nrows + 1;	/* nrows + ncols + 1 */
}

/* Moves row q to column col (from its column, if any). */
static inline void
lap_move(RsLap *w, int q, int col)
{
	int			old = w->row_col[q];

	if (old >= 0)
	{
		if (w->prev[q] >= 0)
			w->next[w->prev[q]] = w->next[q];
		else
			w->head[old] = w->next[q];
		if (w->next[q] >= 0)
			w->prev[w->next[q]] = w->prev[q];
		w->used[old]--;
	}
	w->row_col[q] = col;
	w->prev[q] = -1;
	w->next[q] = w->head[col];
	if (w->head[col] >= 0)
		w->prev[w->head[col]] = q;
	w->head[col] = q;
	w->used[col]++;
}

/*
 * The end of a successful search from row i0 (dense or sparse): the duals of
 * the settled rows (sr[0..nsr)) and columns (sc[0..nsc)) move by their
 * distance short of minval, and the path to sink is augmented along the
 * predecessors back to i0.
 */
static void
lap_settle(RsLap *w, int i0, int sink, double minval, int nsr, int nsc)
{
	const double *d = w->d;
	double	   *v = w->v;
	const int  *pred = w->pred;
	int			col = sink;
	int			k;

	w->u[i0] += minval;
	for (k = 1; k < nsr; k++)
	{
		int			q = w->sr[k];

		w->u[q] += minval - d[w->row_col[q]];
	}
	for (k = 0; k < nsc; k++)
		v[w->sc[k]] -= minval - d[w->sc[k]];

	for (;;)
	{
		int			q = pred[col];
		int			old = w->row_col[q];

		lap_move(w, q, col);
		if (q == i0)
			break;
		col = old;
	}
}

/*
 * One shortest augmenting path from the unserved row i0 (Dijkstra over
 * reduced costs, dense, as in Crouse's variant of Jonker-Volgenant): the
 * columns not settled yet sit in rem[], each pass over them relaxes the arcs
 * of a newly reached row and finds the nearest column (ties: one with room).
 * A column with room ends the search: the duals are updated and the path is
 * augmented.  A full column is settled and the rows it serves are reached at
 * its distance (their arcs to it are tight).  Returns false, changing
 * nothing, when no column with room can be reached; then the settled columns
 * are closed for good (they are full, and every row reaching them reaches
 * only them) and leave live[].
 *
 * Needs: reduced costs >= 0 on every arc of a served row, 0 on its own arc.
 */
static bool
lap_augment(RsLap *w, int i0)
{
	const int	ncols = w->ncols;
	const double *s = w->s;
	const int  *cap = w->cap;
	double	   *v = w->v;
	double	   *d = w->d;
	int		   *pred = w->pred;
	int		   *used = w->used;
	int		   *rem = w->rem;
	int			nrem = w->nlive;
	int			nsc = 0;
	int			nsr = 0;
	int			qpos = 0;
	double		minval = 0.0;
	int			sink;
	int			k;

	for (k = 0; k < nrem; k++)
	{
		int			j = w->live[k];

		rem[k] = j;
		d[j] = INFINITY;
	}
	w->sr[nsr++] = i0;

	for (;;)
	{
		double		lowest = INFINITY;
		int			idx = -1;
		int			j;

		/* relax the rows reached at minval; the last pass also finds the min */
		while (qpos < nsr)
		{
			int			q = w->sr[qpos++];
			const double *srow = s + (long) q * ncols;
			double		base = minval - w->u[q];

			if (qpos < nsr)
			{
				for (k = 0; k < nrem; k++)
				{
					double		r;

					j = rem[k];
					r = base - srow[j] - v[j];	/* NaN (forbidden): never below */
					if (r < d[j])
					{
						d[j] = r;
						pred[j] = q;
					}
				}
				continue;
			}
			for (k = 0; k < nrem; k++)
			{
				double		r;
				double		dj;

				j = rem[k];
				r = base - srow[j] - v[j];
				dj = d[j];
				if (r < dj)
				{
					d[j] = dj = r;
					pred[j] = q;
				}
				if (dj < lowest || (dj == lowest && used[j] < cap[j]))
				{
					lowest = dj;
					idx = k;
				}
			}
		}
		if (lowest == INFINITY)
		{
			/* no room reachable: close the settled columns */
			if (nsc > 0)
			{
				int			n = 0;

				for (k = 0; k < nsc; k++)
					d[w->sc[k]] = NAN;	/* mark */
				for (k = 0; k < w->nlive; k++)
					if (!isnan(d[w->live[k]]))
						w->live[n++] = w->live[k];
				w->nlive = n;
			}
			return false;
		}
		minval = lowest;
		j = rem[idx];
		if (used[j] < cap[j])
		{
			sink = j;
			break;
		}
		/* a full column: settle it, reach the rows it serves */
		w->sc[nsc++] = j;
		rem[idx] = rem[--nrem];
		for (k = w->head[j]; k >= 0; k = w->next[k])
			w->sr[nsr++] = k;
	}

	lap_settle(w, i0, sink, minval, nsr, nsc);
	return true;
}

/*
 * Jonker-Volgenant's start for a dense square problem with unit
 * capacities (every row is served then): column reduction, reduction
 * transfer and two rounds of augmenting row reduction.  Leaves a partial
 * assignment in row_col / col_row with duals v that keep every assigned
 * row's arc the cheapest of its row in reduced cost; the rows left free go
 * through lap_augment.  Every step only lowers v, so that property holds
 * after each one, and stopping early (the step budget) is safe.
 */
static void
lap_jv_start(RsLap *w)
{
	const int	n = w->ncols;
	const double *s = w->s;
	double	   *v = w->v;
	int		   *x = w->row_col;
	int		   *y = w->col_row;
	int		   *argmin = w->pred;	/* scratch until the search phase */
	int		   *matches = w->work;
	int		   *fr = w->work + n;
	int			nfree = 0;
	long		budget = 16L * n + 1000;
	int			i;
	int			j;
	int			loop;

	/* column reduction: v[j] = min over rows of c[i][j], read row by row */
	for (j = 0; j < n; j++)
	{
		v[j] = INFINITY;
		argmin[j] = 0;
		y[j] = -1;
	}
	for (i = 0; i < n; i++)
	{
		const double *srow = s + (long) i * n;

		x[i] = -1;
		matches[i] = 0;
		for (j = 0; j < n; j++)
			if (-srow[j] < v[j])
			{
				v[j] = -srow[j];
				argmin[j] = i;
			}
	}
	for (j = n - 1; j >= 0; j--)
	{
		i = argmin[j];
		if (++matches[i] == 1)
		{
			x[i] = j;
			y[j] = i;
		}
		else if (v[j] < v[x[i]])
		{
			y[x[i]] = -1;
			x[i] = j;
			y[j] = i;
		}
	}

	/* reduction transfer from rows assigned once; the others are free */
	for (i = 0; i < n; i++)
	{
		if (matches[i] == 0)
			fr[nfree++] = i;
		else if (matches[i] == 1)
		{
			const double *srow = s + (long) i * n;
			int			j1 = x[i];
			double		m = INFINITY;

			for (j = 0; j < n; j++)
				if (j != j1 && -srow[j] - v[j] < m)
					m = -srow[j] - v[j];
			v[j1] -= m;
		}
	}

	/* augmenting row reduction, twice */
	for (loop = 0; loop < 2 && budget > 0; loop++)
	{
		int			k = 0;
		int			prv = nfree;

		nfree = 0;
		while (k < prv)
		{
			const double *srow;
			double		umin;
			double		usub = INFINITY;
			int			j1 = 0;
			int			j2 = -1;
			int			i0;

			if (--budget <= 0)
				break;
			i = fr[k++];
			srow = s + (long) i * n;
			umin = -srow[0] - v[0];
			for (j = 1; j < n; j++)
			{
				double		h = -srow[j] - v[j];

				if (h < usub)
				{
					if (h >= umin)
					{
						usub = h;
						j2 = j;
					}
					else
					{
						usub = umin;
						umin = h;
						j2 = j1;
						j1 = j;
					}
				}
			}
			i0 = y[j1];
			if (umin < usub)
				v[j1] -= usub - umin;
			else if (i0 >= 0)
			{
				j1 = j2;
				i0 = y[j2];
			}
			x[i] = j1;
			y[j1] = i;
			if (i0 >= 0)
			{
				x[i0] = -1;
				if (umin < usub)
					fr[--k] = i0;	/* again at once, against the lowered v */
				else
					fr[nfree++] = i0;
			}
		}
	}
}

/*
 * The sparse form of the same search, for matrices where most pairs are
 * forbidden (a distance limit, skills): the allowed arcs of each row in
 * CSR form, and a binary heap of the reached columns, so a search costs
 * O(a log T) for the a arcs of the rows it reaches instead of a pass over
 * every column per settled column.  Columns are UNSEEN, in the heap, SETTLED
 * in this search, or CLOSED for good (by a failed search).
 */
#define LAP_UNSEEN	0
#define LAP_HEAP	1
#define LAP_SETTLED	2
#define LAP_CLOSED	3

typedef struct RsLapSparse
{
	int		   *rowptr;			/* nrows + 1 */
	int		   *colidx;			/* the allowed columns of each row */
	double	   *arc;			/* their costs (negated scores) */
	int		   *heap;			/* columns, a binary heap on d */
	int		   *hpos;			/* place of a column in the heap */
	int		   *touched;		/* columns reached in this search */
	char	   *state;
} RsLapSparse;

/* Builds the arcs of every row (nnz allowed pairs) in one block. */
static void
lap_sparse_build(RsLap *w, RsLapSparse *sp, long nnz)
{
	const int	nrows = w->nrows;
	const int	ncols = w->ncols;
	char	   *block = palloc(sizeof(double) * nnz + sizeof(int) * (nnz + nrows + 1 + 3 * (Size) ncols)
							   + ncols);
	long		a = 0;
	int			i;
	int			j;

	sp->arc = (double *) block;
	sp->colidx = (int *) (sp->arc + nnz);
	sp->rowptr = sp->colidx + nnz;
	sp->heap = sp->rowptr + nrows + 1;
	sp->hpos = sp->heap + ncols;
	sp->touched = sp->hpos + ncols;
	sp->state = (char *) (sp->touched + ncols);
	for (i = 0; i < nrows; i++)
	{
		const double *srow = w->s + (long) i * ncols;

		sp->rowptr[i] = (int) a;
		for (j = 0; j < ncols; j++)
			if (!isnan(srow[j]) && w->cap[j] > 0)
			{
				sp->colidx[a] = j;
				sp->arc[a] = -srow[j];
				a++;
			}
	}
	sp->rowptr[nrows] = (int) a;
	for (j = 0; j < ncols; j++)
		sp->state[j] = LAP_UNSEEN;
}

/* Heap order: nearer first, then a column with room. */
static inline bool
lap_before(const RsLap *w, int a, int b)
{
	return w->d[a] < w->d[b] ||
		(w->d[a] == w->d[b] && w->used[a] < w->cap[a] && w->used[b] >= w->cap[b]);
}

static inline void
lap_heap_up(const RsLap *w, RsLapSparse *sp, int k)
{
	int			c = sp->heap[k];

	while (k > 0)
	{
		int			p = (k - 1) / 2;

		if (!lap_before(w, c, sp->heap[p]))
			break;
		sp->heap[k] = sp->heap[p];
		sp->hpos[sp->heap[k]] = k;
		k = p;
	}
	sp->heap[k] = c;
	sp->hpos[c] = k;
}

static inline int
lap_heap_pop(const RsLap *w, RsLapSparse *sp, int *nh)
{
	int			top = sp->heap[0];
	int			c = sp->heap[--(*nh)];
	int			k = 0;

	for (;;)
	{
		int			l = 2 * k + 1;

		if (l >= *nh)
			break;
		if (l + 1 < *nh && lap_before(w, sp->heap[l + 1], sp->heap[l]))
			l++;
		if (!lap_before(w, sp->heap[l], c))
			break;
		sp->heap[k] = sp->heap[l];
		sp->hpos[sp->heap[k]] = k;
		k = l;
	}
	if (*nh > 0)
	{
		sp->heap[k] = c;
		sp->hpos[c] = k;
	}
	return top;
}

/* lap_augment over the arcs of sp: same contract, same result kind. */
static bool
lap_augment_sparse(RsLap *w, RsLapSparse *sp, int i0)
{
	double	   *d = w->d;
	double	   *v = w->v;
	int		   *pred = w->pred;
	char	   *state = sp->state;
	int			nh = 0;
	int			ntouch = 0;
	int			nsc = 0;
	int			nsr = 0;
	int			qpos = 0;
	double		minval = 0.0;
	int			sink = -1;
	int			k;

	w->sr[nsr++] = i0;
	for (;;)
	{
		int			j;

		/* relax the rows reached at minval */
		while (qpos < nsr)
		{
			int			q = w->sr[qpos++];
			double		base = minval - w->u[q];
			int			a;

			for (a = sp->rowptr[q]; a < sp->rowptr[q + 1]; a++)
			{
				double		r;

				j = sp->colidx[a];
				if (state[j] >= LAP_SETTLED)
					continue;
				r = base + sp->arc[a] - v[j];
				if (state[j] == LAP_UNSEEN)
				{
					state[j] = LAP_HEAP;
					sp->touched[ntouch++] = j;
					d[j] = r;
					pred[j] = q;
					sp->heap[nh] = j;
					lap_heap_up(w, sp, nh++);
				}
				else if (r < d[j])
				{
					d[j] = r;
					pred[j] = q;
					lap_heap_up(w, sp, sp->hpos[j]);
				}
			}
		}
		if (nh == 0)
			break;				/* no room reachable */
		j = lap_heap_pop(w, sp, &nh);
		state[j] = LAP_SETTLED;
		minval = d[j];
		if (w->used[j] < w->cap[j])
		{
			sink = j;
			break;
		}
		w->sc[nsc++] = j;
		for (k = w->head[j]; k >= 0; k = w->next[k])
			w->sr[nsr++] = k;
	}

	if (sink < 0)
	{
		for (k = 0; k < nsc; k++)
			state[w->sc[k]] = LAP_CLOSED;
		for (k = 0; k < ntouch; k++)
			if (state[sp->touched[k]] != LAP_CLOSED)
				state[sp->touched[k]] = LAP_UNSEEN;
		return false;
	}
	for (k = 0; k < ntouch; k++)
		state[sp->touched[k]] = LAP_UNSEEN;

	lap_settle(w, i0, sink, minval, nsr, nsc);
	return true;
}

/*
 * Solves the assignment problem described at the top of this file.
 *
 * score: nrows * ncols values, row-major; NaN marks a forbidden pair; the
 * finite ones may be any real numbers.  dense: no NaN at all.  cap: ncols
 * capacities (>= 0).  Result: row_col[i] = column of row i, or -1 when the
 * row is not served.  Memory (one block) is taken from the current context;
 * the caller runs it in a context of its own.
 */
static void
rs_assign_solve(int nrows, int ncols, const double *score, bool dense, const int *cap, int *row_col)
{
	RsLap		w;
	RsLapSparse sp;
	bool		sparse = false;
	bool		square = dense && nrows == ncols && nrows >= 2;
	int			i;
	int			j;

	memset(&sp, 0, sizeof(sp));
	for (i = 0; i < nrows; i++)
		row_col[i] = -1;
	if (nrows == 0 || ncols == 0)
		return;
	for (j = 0; j < ncols && square; j++)
		if (cap[j] != 1)
			square = false;

	lap_alloc(&w, nrows, ncols, score, cap, row_col);
	w.nlive = 0;
	for (j = 0; j < ncols; j++)
	{
		w.v[j] = 0.0;
		w.used[j] = 0;
		w.head[j] = -1;
		if (cap[j] > 0)
			w.live[w.nlive++] = j;
	}
	for (i = 0; i < nrows; i++)
		w.u[i] = 0.0;

	if (square)
	{
		/*
		 * Every row is served (any row may take any column), so the order of
		 * the rows does not matter and Jonker-Volgenant's start applies: it
		 * assigns most rows with duals v; the served rows get u from their
		 * tight arc, and the free ones are augmented below.
		 */
		lap_jv_start(&w);
		for (i = 0; i < nrows; i++)
		{
			int			c = row_col[i];

			if (c < 0)
				continue;
			row_col[i] = -1;
			lap_move(&w, i, c);
			w.u[i] = -score[(long) i * ncols + c] - w.v[c];
		}
	}

	else if (!dense)
	{
		long		cells = (long) nrows * ncols;
		long		nnz = 0;
		long		k;

		for (k = 0; k < cells; k++)
			nnz += !isnan(score[k]);
		sparse = nnz <= cells / 3;
		if (sparse)
			lap_sparse_build(&w, &sp, nnz);
	}

	/*
	 * Successive shortest augmenting paths, the rows in priority order: a row
	 * is served when a path from it reaches room, which is exactly when it
	 * can be served together with the rows served before it; the matching
	 * stays a cheapest one for the rows it serves.
	 */
	for (i = 0; i < nrows; i++)
	{
		if (row_col[i] >= 0)
			continue;
		CHECK_FOR_INTERRUPTS();
		if (sparse)
			(void) lap_augment_sparse(&w, &sp, i);
		else
			(void) lap_augment(&w, i);
	}
	if (sparse)
		pfree(sp.arc);
	pfree(w.u);
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

/* Refuses a score that is NaN, infinite or out of range (22023). */
static void
check_score(double x, long k, int ncols)
{
	if (isnan(x) || isinf(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("score \"%g\" at row %ld, column %ld is not a finite number",
						x, k / ncols + 1, k % ncols + 1),
				 errhint("Use NULL for a pair that is not allowed.")));
	if (fabs(x) > RS_ASSIGN_MAX_SCORE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("score \"%g\" at row %ld, column %ld is out of range",
						x, k / ncols + 1, k % ncols + 1),
				 errdetail("Scores lie between -1e12 and 1e12, so that sums of score differences stay exact enough.")));
}

/*
 * The cells scores of a float8 array, checked, as a row-major double array
 * with NaN for NULL; *dense tells whether there is no NULL.  Without NULLs
 * the array's own data is returned (float8 elements are stored one after
 * the other, aligned), so a large matrix is not copied; the caller must not
 * write to it.
 */
static const double *
read_scores(ArrayType *sarr, long cells, int ncols, bool *dense)
{
	const double *data;
	bits8	   *bitmap;
	double	   *score;
	int			bitmask = 1;
	long		k;

	*dense = true;
	if (cells == 0)
		return NULL;
	data = (const double *) ARR_DATA_PTR(sarr);
	bitmap = ARR_NULLBITMAP(sarr);
	if (bitmap == NULL)
	{
		for (k = 0; k < cells; k++)
			check_score(data[k], k, ncols);
		return data;
	}
	score = (double *) palloc(sizeof(double) * cells);
	for (k = 0; k < cells; k++)
	{
		if (*bitmap & bitmask)
		{
			check_score(*data, k, ncols);
			score[k] = *data++;
		}
		else
		{
			score[k] = NAN;
			*dense = false;
		}
		bitmask <<= 1;
		if (bitmask == 0x100)
		{
			bitmap++;
			bitmask = 1;
		}
	}
	return score;
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
	Datum	   *cv;
	bool	   *cn;
	const double *score;
	bool		dense;
	int		   *cap;
	int		   *row_col;
	Datum	   *out;
	bool	   *outnull;
	int			dims[1];
	int			lbs[1];
	int			i;
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
		ncols = repairsys_array_len(carr, INT4OID, "capacities");
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
	repairsys_array_datums(carr, INT4OID, ncols, "capacities", &cv, &cn);

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

	score = read_scores(sarr, (long) nrows * ncols, ncols, &dense);
	row_col = (int *) palloc(sizeof(int) * Max(nrows, 1));
	rs_assign_solve(nrows, ncols, score, dense, cap, row_col);

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
	bool		dense = true;
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
	repairsys_policy_from_datum(PG_GETARG_DATUM(0), &policy);

	solvecxt = AllocSetContextCreate(CurrentMemoryContext, "repairsys pending assignment",
									 ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(solvecxt);

	for (k = 0; k < 8; k++)
		tarrs[k] = PG_GETARG_ARRAYTYPE_P(1 + k);
	nt = repairsys_array_len(tarrs[0], INT8OID, tnames[0]);
	for (k = 0; k < 8; k++)
		repairsys_array_datums(tarrs[k], ttypes[k], nt, tnames[k], &tv[k], &tn[k]);
	ntech = repairsys_read_techs(fcinfo, 9, &techs);
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
			repairsys_check_coordinates(t->lat, t->lon);
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
			repairsys_score(&policy, &tickets[i], &tech, &s);
			score[(long) i * ntech + j] = (s.fails == 0) ? s.score : NAN;
			dense = dense && s.fails == 0;
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
	rs_assign_solve(nt, ntech, score, dense, cap, row_col);

	MemoryContextSwitchTo(oldcxt);
	store = repairsys_materialize(fcinfo, &tupdesc);
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
