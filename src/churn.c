/*
 * churn.c
 *		Churn risk (客户流失风险, DESIGN.md section 18): L2-regularized
 *		logistic regression fitted by Newton's method (iteratively reweighted
 *		least squares), and its prediction.
 *
 * src/sql/73_models.sql computes the customers' features and labels, hands
 * them over as a two-dimensional array, and stores what the fit returns.
 * The fit is deterministic: it starts from zero, and every step is the same
 * arithmetic in the same order.  docs/reports.md has the formulas.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(rs_logistic_fit);
PG_FUNCTION_INFO_V1(rs_logistic_predict);

/* most features (columns) a fit takes */
#define CHURN_MAX_FEATURES	50
/* most iterations a fit may be given */
#define CHURN_MAX_ITER		1000

static double
sigmoid(double t)
{
	if (t >= 0)
		return 1.0 / (1.0 + exp(-t));
	else
	{
		double		e = exp(t);

		return e / (1.0 + e);
	}
}

/* log(1 + exp(t)) without overflow */
static double
log1pexp(double t)
{
	if (t > 35)
		return t;
	if (t < -35)
		return exp(t);
	return log1p(exp(t));
}

/*
 * Penalized log-likelihood of beta (m = p + 1 coefficients, intercept first,
 * not penalized): sum y*eta - log(1 + exp(eta)) - lambda/2 * |beta[1..]|^2.
 */
static double
penalized_ll(const double *x, const bool *y, int n, int p, const double *beta, double lambda)
{
	double		ll = 0;
	int			i,
				j;

	for (i = 0; i < n; i++)
	{
		double		eta = beta[0];

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		for (j = 0; j < p; j++)
			eta += beta[j + 1] * x[(size_t) i * p + j];
		ll += (y[i] ? eta : 0.0) - log1pexp(eta);
	}
	for (j = 1; j <= p; j++)
		ll -= 0.5 * lambda * beta[j] * beta[j];
	return ll;
}

/*
 * Solves a * out = b for the symmetric positive definite m x m matrix a
 * (Cholesky; a is overwritten).  False when a is not positive definite.
 */
static bool
cholesky_solve(double *a, const double *b, double *out, int m)
{
	int			i,
				j,
				k;

	for (j = 0; j < m; j++)
	{
		double		d = a[j * m + j];

		for (k = 0; k < j; k++)
			d -= a[j * m + k] * a[j * m + k];
		if (!(d > 1e-300))
			return false;
		d = sqrt(d);
		a[j * m + j] = d;
		for (i = j + 1; i < m; i++)
		{
			double		s = a[i * m + j];

			for (k = 0; k < j; k++)
				s -= a[i * m + k] * a[j * m + k];
			a[i * m + j] = s / d;
		}
	}
	for (i = 0; i < m; i++)		/* L z = b */
	{
		double		s = b[i];

		for (k = 0; k < i; k++)
			s -= a[i * m + k] * out[k];
		out[i] = s / a[i * m + i];
	}
	for (i = m - 1; i >= 0; i--)	/* L' beta = z */
	{
		double		s = out[i];

		for (k = i + 1; k < m; k++)
			s -= a[k * m + i] * out[k];
		out[i] = s / a[i * m + i];
	}
	return true;
}

/*
 * repairsys.logistic_fit(x float8[][], y boolean[], lambda float8,
 *                        max_iter integer, tolerance float8)
 * RETURNS (coefficients float8[], iterations integer, converged boolean,
 *          log_likelihood float8)
 *
 * Maximizes sum_i [y_i eta_i - log(1 + exp(eta_i))] - lambda/2 sum_j b_j^2
 * with eta_i = b_0 + sum_j b_j x_ij (the intercept b_0 is not penalized) by
 * Newton steps beta += H^-1 g, with g = X'(y - p) - lambda b and
 * H = X'WX + lambda I, W = diag(p(1 - p)); a step that lowers the objective
 * is halved (up to 30 times).  Stops when no coefficient moves by more than
 * tolerance, or after max_iter steps (converged false).  Refuses with 22023
 * what is not an n x p matrix of finite numbers (n >= 1, p <= 50), labels of
 * another length or with NULLs, a negative or non-finite lambda.
 */
Datum
rs_logistic_fit(PG_FUNCTION_ARGS)
{
	ArrayType  *xa,
			   *ya;
	double		lambda,
				tol;
	int32		max_iter;
	int			n,
				p,
				m,
				i,
				j,
				l,
				iter = 0;
	Datum	   *xe,
			   *ye;
	bool	   *xn,
			   *yn;
	int			nx,
				ny;
	double	   *x,
			   *beta,
			   *grad,
			   *hess,
			   *step,
			   *trial;
	bool	   *y;
	bool		converged = false;
	double		ll;
	MemoryContext itercxt,
				oldcxt;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	Datum	   *coef;

	for (i = 0; i < 5; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("logistic_fit: argument %d must not be null", i + 1)));
	xa = PG_GETARG_ARRAYTYPE_P(0);
	ya = PG_GETARG_ARRAYTYPE_P(1);
	lambda = PG_GETARG_FLOAT8(2);
	max_iter = PG_GETARG_INT32(3);
	tol = PG_GETARG_FLOAT8(4);

	if (ARR_NDIM(xa) != 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features must be a two-dimensional array (one row per sample)")));
	n = ARR_DIMS(xa)[0];
	p = ARR_DIMS(xa)[1];
	if (p < 1 || p > CHURN_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a fit takes 1 to %d features, not %d", CHURN_MAX_FEATURES, p)));
	if (!(lambda >= 0 && lambda < 1e12))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lambda must be a finite number of at least 0"),
				 errdetail("lambda is %g.", lambda)));
	if (!(tol > 0 && tol < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tolerance must be above 0 and below 1"),
				 errdetail("tolerance is %g.", tol)));
	if (max_iter < 1 || max_iter > CHURN_MAX_ITER)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_iter must be between 1 and %d", CHURN_MAX_ITER)));
	if (ARR_NDIM(ya) != 1 || ARR_DIMS(ya)[0] != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("labels must be a one-dimensional array of %d elements, one per sample", n)));

	deconstruct_array(xa, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &xe, &xn, &nx);
	deconstruct_array(ya, BOOLOID, 1, true, TYPALIGN_CHAR, &ye, &yn, &ny);
	m = p + 1;
	x = palloc(sizeof(double) * (size_t) nx);
	y = palloc(sizeof(bool) * n);
	for (i = 0; i < nx; i++)
	{
		if (xn[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("features must not contain nulls"),
					 errdetail("Sample %d, feature %d is null.", i / p + 1, i % p + 1)));
		x[i] = DatumGetFloat8(xe[i]);
		if (isnan(x[i]) || isinf(x[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("features must be finite numbers"),
					 errdetail("Sample %d, feature %d is %g.", i / p + 1, i % p + 1, x[i])));
	}
	for (i = 0; i < n; i++)
	{
		if (yn[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("labels must not contain nulls")));
		y[i] = DatumGetBool(ye[i]);
	}
	pfree(xe);
	pfree(xn);

	beta = palloc0(sizeof(double) * m);
	step = palloc(sizeof(double) * m);
	ll = penalized_ll(x, y, n, p, beta, lambda);

	/* each iteration's work space lives in a context reset every time */
	itercxt = AllocSetContextCreate(CurrentMemoryContext, "repairsys logistic_fit",
									ALLOCSET_SMALL_SIZES);
	while (iter < max_iter)
	{
		double		maxstep = 0,
					scale = 1.0,
					newll = ll;
		int			halvings;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(itercxt);
		oldcxt = MemoryContextSwitchTo(itercxt);
		grad = palloc0(sizeof(double) * m);
		hess = palloc0(sizeof(double) * m * m);
		trial = palloc(sizeof(double) * m);
		for (i = 0; i < n; i++)
		{
			const double *xi = x + (size_t) i * p;
			double		eta = beta[0],
						pr,
						w,
						r;

			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			for (j = 0; j < p; j++)
				eta += beta[j + 1] * xi[j];
			pr = sigmoid(eta);
			w = pr * (1.0 - pr);
			r = (y[i] ? 1.0 : 0.0) - pr;
			/* augmented row (1, x_i): gradient and lower triangle of H */
			grad[0] += r;
			hess[0] += w;
			for (j = 0; j < p; j++)
			{
				grad[j + 1] += r * xi[j];
				hess[(j + 1) * m] += w * xi[j];
				for (l = 0; l <= j; l++)
					hess[(j + 1) * m + l + 1] += w * xi[j] * xi[l];
			}
		}
		for (j = 1; j < m; j++)
		{
			grad[j] -= lambda * beta[j];
			hess[j * m + j] += lambda;
		}
		/* a tiny ridge keeps H positive definite when lambda is 0 */
		for (j = 0; j < m; j++)
			hess[j * m + j] += 1e-10;
		for (j = 0; j < m; j++)
			for (l = j + 1; l < m; l++)
				hess[j * m + l] = hess[l * m + j];
		if (!cholesky_solve(hess, grad, step, m))
		{
			MemoryContextSwitchTo(oldcxt);
			break;				/* cannot go on: not converged */
		}
		iter++;
		for (halvings = 0; halvings <= 30; halvings++)
		{
			for (j = 0; j < m; j++)
				trial[j] = beta[j] + scale * step[j];
			newll = penalized_ll(x, y, n, p, trial, lambda);
			if (newll >= ll - 1e-12 * fabs(ll))
				break;
			scale *= 0.5;
		}
		for (j = 0; j < m; j++)
		{
			maxstep = Max(maxstep, fabs(scale * step[j]));
			beta[j] = trial[j];
		}
		ll = newll;
		MemoryContextSwitchTo(oldcxt);
		if (maxstep < tol)
		{
			converged = true;
			break;
		}
	}
	MemoryContextDelete(itercxt);

	for (j = 0; j < m; j++)
		if (isnan(beta[j]) || isinf(beta[j]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("logistic_fit diverged"),
					 errhint("Give a positive lambda (L2 penalty).")));

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	coef = palloc(sizeof(Datum) * m);
	for (j = 0; j < m; j++)
		coef[j] = Float8GetDatum(beta[j]);
	values[0] = PointerGetDatum(construct_array(coef, m, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = Int32GetDatum(iter);
	values[2] = BoolGetDatum(converged);
	values[3] = Float8GetDatum(ll);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * repairsys.logistic_predict(coefficients float8[], x float8[]) RETURNS float8:
 * 1 / (1 + exp(-(b_0 + sum_j b_j x_j))); x has one element fewer than the
 * coefficients.  NULL elements and non-finite numbers are refused (22023).
 */
Datum
rs_logistic_predict(PG_FUNCTION_ARGS)
{
	ArrayType  *ba = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *xa = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *be,
			   *xe;
	bool	   *bn,
			   *xn;
	int			nb,
				nx,
				j;
	double		eta;

	if (ARR_NDIM(ba) > 1 || ARR_NDIM(xa) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("coefficients and features must be one-dimensional arrays")));
	deconstruct_array(ba, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &be, &bn, &nb);
	deconstruct_array(xa, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &xe, &xn, &nx);
	if (nb != nx + 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%d coefficients need %d features, not %d", nb, nb - 1, nx),
				 errdetail("The first coefficient is the intercept.")));
	for (j = 0; j < nb; j++)
	{
		double		v = bn[j] ? NAN : DatumGetFloat8(be[j]);
		double		w = (j == 0) ? 1.0 : (xn[j - 1] ? NAN : DatumGetFloat8(xe[j - 1]));

		if (isnan(v) || isinf(v) || isnan(w) || isinf(w))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("coefficients and features must be finite numbers, not null")));
	}
	eta = DatumGetFloat8(be[0]);
	for (j = 1; j < nb; j++)
		eta += DatumGetFloat8(be[j]) * DatumGetFloat8(xe[j - 1]);
	PG_RETURN_FLOAT8(sigmoid(eta));
}
