/*
 * forecast.c
 *		Demand forecasting for spare parts: simple exponential smoothing and
 *		the intermittent-demand methods of Croston, Syntetos-Boylan (SBA) and
 *		Teunter-Syntetos-Babai (TSB); the inverse standard normal CDF used for
 *		safety stock.
 *
 * The recurrences are exactly those of docs/parts.md.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(forecast_demand);
PG_FUNCTION_INFO_V1(normal_quantile);

typedef enum ForecastMethod
{
	FM_SES,
	FM_CROSTON,
	FM_SBA,
	FM_TSB
} ForecastMethod;

static ForecastMethod
parse_method(const char *m)
{
	if (pg_strcasecmp(m, "ses") == 0)
		return FM_SES;
	if (pg_strcasecmp(m, "croston") == 0)
		return FM_CROSTON;
	if (pg_strcasecmp(m, "sba") == 0)
		return FM_SBA;
	if (pg_strcasecmp(m, "tsb") == 0)
		return FM_TSB;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown forecasting method \"%s\"", m),
			 errhint("The methods are ses, croston, sba and tsb.")));
	return FM_SES;				/* keep compiler quiet */
}

static void
check_smoothing(const char *name, double v)
{
	if (!(v > 0.0 && v <= 1.0))		/* also refuses NaN */
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("smoothing constant %s must be above 0 and at most 1", name),
				 errdetail("%s is %g.", name, v)));
}

/*
 * Croston's z/p (without the SBA factor) over the positions (1-based, in
 * order) of the non-zero demands; the caller knows there is at least one.
 * The same operations in the same order as the period-by-period recurrence
 * (zero periods change neither z nor p), so the result is bit for bit the
 * same, without a branch per period.
 */
static double
croston(const double *d, const int *pos, int m, double alpha)
{
	double		z = d[pos[0] - 1];
	double		p = pos[0];
	int			last = pos[0];
	int			k;

	for (k = 1; k < m; k++)
	{
		int			t = pos[k];

		z += alpha * (d[t - 1] - z);
		p += alpha * ((double) (t - last) - p);
		last = t;
	}
	return z / p;
}

/*
 * The method named by a text argument, read in place (no copy).
 */
static ForecastMethod
method_of(text *t)
{
	int			len = VARSIZE_ANY_EXHDR(t);
	const char *s = VARDATA_ANY(t);
	char		buf[16];

	if (len == 3 && pg_strncasecmp(s, "sba", 3) == 0)
		return FM_SBA;
	if (len == 3 && pg_strncasecmp(s, "tsb", 3) == 0)
		return FM_TSB;
	if (len == 3 && pg_strncasecmp(s, "ses", 3) == 0)
		return FM_SES;
	if (len == 7 && pg_strncasecmp(s, "croston", 7) == 0)
		return FM_CROSTON;
	if (len < (int) sizeof(buf))
	{
		memcpy(buf, s, len);
		buf[len] = '\0';
		return parse_method(buf);
	}
	return parse_method(text_to_cstring(t));
}

/* positions of non-zero demands kept on the stack up to this series length */
#define POS_ON_STACK 1024

/*
 * forecast_demand(demand float8[], method text, alpha float8, beta float8)
 * returns the expected demand per period after the series.
 */
Datum
forecast_demand(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	ForecastMethod method = method_of(PG_GETARG_TEXT_PP(1));
	double		alpha = PG_GETARG_FLOAT8(2);
	double		beta = PG_GETARG_FLOAT8(3);
	const double *d;
	int			pos_stack[POS_ON_STACK];
	int		   *pos = pos_stack;
	int			n,
				i,
				m,
				first;
	bool		bad;
	double		result;

	check_smoothing("alpha", alpha);
	check_smoothing("beta", beta);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("demand series must be a one-dimensional array")));
	if (ARR_ELEMTYPE(arr) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("demand series must be an array of double precision")));
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("demand series must not be empty")));
	if (ARR_HASNULL(arr))
	{
		bits8	   *bitmap = ARR_NULLBITMAP(arr);

		for (i = 0; i < n; i++)
			if (!(bitmap[i / 8] & (1 << (i % 8))))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("demand series must not contain NULL"),
						 errdetail("Element %d is NULL.", i + 1)));
	}
	/* float8 is fixed-length and aligned: without NULLs the data is a C array */
	d = (const double *) ARR_DATA_PTR(arr);
	if (n > POS_ON_STACK)
		pos = palloc(n * sizeof(int));

	/*
	 * One pass: every element checked (finite, not below 0; NaN fails both
	 * comparisons) and the positions of the non-zero ones written down,
	 * without a branch per element.  Intermittent demand is mostly zeros:
	 * four elements whose bits are all zero but for the sign are four
	 * zeros (valid, nothing to note) and are passed over in one test.  The
	 * rare bad series is walked again for the message.
	 */
	bad = false;
	m = 0;
	for (i = 0; i < n; i++)
	{
		double		x = d[i];

		bad |= !(x >= 0.0 && x <= DBL_MAX);
		pos[m] = i + 1;
		m += (x > 0.0);
	}
	if (bad)
		for (i = 0; i < n; i++)
			if (!(d[i] >= 0) || isinf(d[i]))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("demand must be a finite number not below 0"),
						 errdetail("Element %d is %g.", i + 1, d[i])));
	first = m > 0 ? pos[0] : 0;

	if (method == FM_SES)
	{
		result = d[0];
		for (i = 1; i < n; i++)
			result += alpha * (d[i] - result);
	}
	else if (first == 0)
		result = 0.0;			/* all zero */
	else if (method == FM_CROSTON)
		result = croston(d, pos, m, alpha);
	else if (method == FM_SBA)
		result = (1.0 - alpha / 2.0) * croston(d, pos, m, alpha);
	else
	{
		/* TSB: demand size z on non-zero periods, probability pr every period */
		double		z = d[first - 1];
		double		pr = 1.0 / first;

		for (i = first; i < n; i++)
		{
			pr += beta * ((d[i] > 0 ? 1.0 : 0.0) - pr);
			if (d[i] > 0)
				z += alpha * (d[i] - z);
		}
		result = pr * z;
	}
	if (pos != pos_stack)
		pfree(pos);
	PG_RETURN_FLOAT8(result);
}

/*
 * normal_quantile(p) : the x with Phi(x) = p, for 0 < p < 1.
 *
 * Acklam's rational approximation (relative error below 1.15e-9), refined
 * by one step of Halley's method on erfc, which brings it to about machine
 * precision.
 */
Datum
normal_quantile(PG_FUNCTION_ARGS)
{
	double		p = PG_GETARG_FLOAT8(0);
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
		-2.759285104469687e+02, 1.383577518672690e+02,
		-3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
		-1.556989798598866e+02, 6.680131188771972e+01,
		-1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
		-2.400758277161838e+00, -2.549732539343734e+00,
		4.374664141464968e+00, 2.938163982698783e+00};
	static const double dd[] = {7.784695709041462e-03, 3.224671290700398e-01,
		2.445134137142996e+00, 3.754408661907416e+00};
	const double plow = 0.02425;
	double		pp,
				q,
				r,
				x,
				e,
				u;

	if (!(p > 0.0 && p < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("probability must be above 0 and below 1"),
				 errdetail("p is %g.", p)));

	/*
	 * Work in the lower half, where Phi(x) - p below can be formed without
	 * cancellation; 1 - p is exact for p >= 0.5, and the quantile is odd.
	 */
	pp = (p < 0.5) ? p : 1.0 - p;
	if (pp < plow)
	{
		q = sqrt(-2 * log(pp));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
			((((dd[0] * q + dd[1]) * q + dd[2]) * q + dd[3]) * q + 1);
	}
	else
	{
		q = pp - 0.5;
		r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
			(((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
	}

	/* one Halley step: e = Phi(x) - pp */
	e = 0.5 * erfc(-x / M_SQRT2) - pp;
	u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	x = x - u / (1 + x * u / 2);
	if (p >= 0.5)
		x = -x;

	PG_RETURN_FLOAT8(x);
}
