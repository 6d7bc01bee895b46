/*
 * fee_tier.c
 *		The fee_tier type: a tiered (阶梯式) price schedule applied to a
 *		quantity, and the pricing kernel charge() / charge_lines().
 *
 * Text form (keywords case-insensitive, white space free):
 *
 *		[base=AMOUNT,] FROM-TO:RATE, ..., FROM+:RATE [, min=AMOUNT] [, max=AMOUNT] [, volume]
 *
 * Everything is exact fixed point: quantities and bounds in thousandths of a
 * unit, rates in ten-thousandths of the currency per unit, amounts in cents.
 * Products are formed in 128-bit integers and every sum is checked, so a
 * result that does not fit is an error (22003), never a wrong number.
 * See docs/fee_tier.md for the rules.
 */
#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "access/hash.h"
#include "common/hashfn.h"

#include "repairsys.h"

#define FEE_TIER_VERSION	1
#define FEE_TIER_MAX_TIERS	32

/* scales */
#define QTY_SCALE		1000		/* bounds and quantities: 3 decimals */
#define RATE_SCALE		10000		/* rates: 4 decimals */
#define AMOUNT_SCALE	100			/* amounts: 2 decimals */

/* limits: every amount must fit numeric(14,2), the money type at SQL level */
#define MAX_AMOUNT		INT64CONST(99999999999999)		/* 999999999999.99 */
#define MAX_BOUND		INT64CONST(999999999999999)		/* 999999999999.999 */
#define MAX_RATE		INT64CONST(9999999999999)		/* 999999999.9999 */

/* flags */
#define FT_VOLUME		0x01
#define FT_HAS_MIN		0x02
#define FT_HAS_MAX		0x04
#define FT_ALL_FLAGS	(FT_VOLUME | FT_HAS_MIN | FT_HAS_MAX)

typedef struct FeeTierEntry
{
	int64		from;			/* lower bound, thousandths (exclusive, but the
								 * first tier also covers 0) */
	int64		rate;			/* ten-thousandths per unit */
} FeeTierEntry;

/*
 * On-disk form.  Unused fields (min, max when absent) are zero so that equal
 * values have equal bytes.
 */
typedef struct FeeTier
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	uint8		version;		/* FEE_TIER_VERSION */
	uint8		flags;			/* FT_* */
	uint16		ntiers;			/* 1 .. FEE_TIER_MAX_TIERS */
	int32		reserved;		/* zero; room for later use */
	int64		base;			/* cents */
	int64		min;			/* cents, when FT_HAS_MIN */
	int64		max;			/* cents, when FT_HAS_MAX */
	FeeTierEntry tiers[FLEXIBLE_ARRAY_MEMBER];
} FeeTier;

#define FEE_TIER_SIZE(n)		(offsetof(FeeTier, tiers) + sizeof(FeeTierEntry) * (n))
#define DatumGetFeeTierP(x)		((FeeTier *) PG_DETOAST_DATUM(x))
#define PG_GETARG_FEE_TIER_P(n) DatumGetFeeTierP(PG_GETARG_DATUM(n))
#define PG_RETURN_FEE_TIER_P(x) PG_RETURN_POINTER(x)

PG_FUNCTION_INFO_V1(fee_tier_in);
PG_FUNCTION_INFO_V1(fee_tier_out);
PG_FUNCTION_INFO_V1(fee_tier_recv);
PG_FUNCTION_INFO_V1(fee_tier_send);
PG_FUNCTION_INFO_V1(fee_tier_hash);
PG_FUNCTION_INFO_V1(fee_tier_hash_extended);
PG_FUNCTION_INFO_V1(fee_tier_charge);
PG_FUNCTION_INFO_V1(fee_tier_charge_lines);

/* ------------------------------------------------------------------------
 * Input
 * ------------------------------------------------------------------------
 */

/* Parser state: the input, a cursor, and where errors go. */
typedef struct FtParser
{
	const char *input;			/* whole input, for messages */
	const char *p;				/* cursor */
	Node	   *escontext;		/* soft-error context (PG 16+), or NULL */
} FtParser;

/*
 * Soft errors (repairsys.h): the errors of the input function go through
 * ereturn(), so pg_input_is_valid() and COPY ... ON_ERROR work on
 * PostgreSQL 16 and later; on older servers they are plain ERRORs.
 */
#define FT_FAIL(ps, code, ...) \
	ereturn((ps)->escontext, false, errcode(code), __VA_ARGS__)

#define FT_SYNTAX(ps, ...) \
	FT_FAIL(ps, ERRCODE_INVALID_TEXT_REPRESENTATION, \
			errmsg("invalid input syntax for type fee_tier: \"%s\"", (ps)->input), \
			errdetail(__VA_ARGS__))

#define FT_RANGE(ps, ...) \
	FT_FAIL(ps, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, \
			errmsg("value out of range for type fee_tier: \"%s\"", (ps)->input), \
			errdetail(__VA_ARGS__))

static void
skip_space(FtParser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

/*
 * A printable excerpt of the input at the cursor for messages: at most 20
 * bytes, cut at a character boundary.
 */
static char *
excerpt(const char *s)
{
	int			len = strlen(s);

	if (len > 20)
		len = pg_mbcliplen(s, len, 20);
	return pnstrdup(s, len);
}

/*
 * Reads an unsigned decimal number with at most maxdec decimals, scaled by
 * 10^maxdec, into *result; what = "bound", "rate" or "amount" for messages.
 * A minus sign is refused (nothing is negative); values above limit are out
 * of range.
 */
static bool
parse_number(FtParser *ps, int maxdec, int64 limit, const char *what, int64 *result)
{
	const char *start = ps->p;
	int64		intpart = 0;
	int64		frac = 0;
	int			ndec = 0;
	bool		toobig = false;
	int64		scale = 1;
	int			i;

	for (i = 0; i < maxdec; i++)
		scale *= 10;

	if (*ps->p == '-')
		FT_SYNTAX(ps, "Negative values are not allowed (at \"%s\").", excerpt(ps->p));
	if (*ps->p == '+')
		FT_SYNTAX(ps, "Expected a number at \"%s\".", excerpt(ps->p));
	if (!isdigit((unsigned char) *ps->p))
		FT_SYNTAX(ps, "Expected a number at \"%s\".", *ps->p ? excerpt(ps->p) : "end of input");

	while (isdigit((unsigned char) *ps->p))
	{
		if (!toobig)
		{
			if (pg_mul_s64_overflow(intpart, 10, &intpart) ||
				pg_add_s64_overflow(intpart, *ps->p - '0', &intpart))
				toobig = true;
		}
		ps->p++;
	}
	if (*ps->p == '.')
	{
		ps->p++;
		if (!isdigit((unsigned char) *ps->p))
			FT_SYNTAX(ps, "Expected a digit after the decimal point in \"%s\".",
					  pnstrdup(start, ps->p - start));
		while (isdigit((unsigned char) *ps->p))
		{
			ndec++;
			if (ndec <= maxdec)
				frac = frac * 10 + (*ps->p - '0');
			ps->p++;
		}
		if (ndec > maxdec)
			FT_SYNTAX(ps, "The %s \"%s\" has more than %d decimals.",
					  what, pnstrdup(start, ps->p - start), maxdec);
		for (i = ndec; i < maxdec; i++)
			frac *= 10;
	}
	if (*ps->p == 'e' || *ps->p == 'E')
		FT_SYNTAX(ps, "Exponents are not allowed in \"%s\".", excerpt(start));

	if (toobig || pg_mul_s64_overflow(intpart, scale, &intpart) ||
		pg_add_s64_overflow(intpart, frac, &intpart) || intpart > limit)
		FT_RANGE(ps, "The %s \"%s\" is too large.", what, pnstrdup(start, ps->p - start));

	*result = intpart;
	return true;
}

static void append_fixed(StringInfo buf, int64 v, int scale, int keep);

/* A fixed-point value as text for messages: bounds without trailing zeros, amounts with 2 decimals. */
static char *
fixed_text(int64 v, int scale, int keep)
{
	StringInfoData buf;

	initStringInfo(&buf);
	append_fixed(&buf, v, scale, keep);
	return buf.data;
}

/* Parses the text form into *ft (caller provides room for 32 tiers). */
static bool
parse_fee_tier(FtParser *ps, FeeTier *ft)
{
	bool		seen_base = false,
				seen_mode = false;
	bool		open_seen = false;
	int64		prev_to = 0;

	skip_space(ps);
	if (*ps->p == '\0')
		FT_SYNTAX(ps, "The value is empty.");

	/* the grammar is ASCII only: name the first other character */
	for (const char *c = ps->p; *c; c++)
	{
		if (IS_HIGHBIT_SET(*c))
		{
			int			len = Min(pg_mblen(c), (int) strlen(c));

			FT_SYNTAX(ps, "Only ASCII characters are allowed, found \"%s\".",
					  pnstrdup(c, len));
		}
	}

	for (;;)
	{
		skip_space(ps);
		if (isalpha((unsigned char) *ps->p))
		{
			/* keyword */
			const char *kw = ps->p;
			int			kwlen;
			char	   *name;

			while (isalpha((unsigned char) *ps->p) || *ps->p == '_')
				ps->p++;
			kwlen = ps->p - kw;
			name = pnstrdup(kw, kwlen);
			for (char *c = name; *c; c++)
				*c = pg_ascii_tolower((unsigned char) *c);

			if (strcmp(name, "base") == 0 || strcmp(name, "min") == 0 || strcmp(name, "max") == 0)
			{
				int64		amount;

				bool		is_base = (strcmp(name, "base") == 0);
				bool		is_min = (strcmp(name, "min") == 0);

				if ((is_base && seen_base) ||
					(is_min && (ft->flags & FT_HAS_MIN)) ||
					(!is_base && !is_min && (ft->flags & FT_HAS_MAX)))
					FT_SYNTAX(ps, "The keyword \"%s\" is given more than once.", name);
				skip_space(ps);
				if (*ps->p != '=')
					FT_SYNTAX(ps, "Expected \"=\" after \"%s\".", name);
				ps->p++;
				skip_space(ps);
				if (!parse_number(ps, 2, MAX_AMOUNT, "amount", &amount))
					return false;
				if (is_base)
				{
					seen_base = true;
					ft->base = amount;
				}
				else if (is_min)
				{
					ft->flags |= FT_HAS_MIN;
					ft->min = amount;
				}
				else
				{
					ft->flags |= FT_HAS_MAX;
					ft->max = amount;
				}
			}
			else if (strcmp(name, "volume") == 0 || strcmp(name, "graduated") == 0)
			{
				if (seen_mode)
					FT_SYNTAX(ps, "The mode (graduated or volume) is given more than once.");
				seen_mode = true;
				if (name[0] == 'v')
					ft->flags |= FT_VOLUME;
			}
			else
				FT_SYNTAX(ps, "Unknown keyword \"%s\".", excerpt(name));
		}
		else if (isdigit((unsigned char) *ps->p) || *ps->p == '-' || *ps->p == '.')
		{
			/* tier: FROM-TO:RATE or FROM+:RATE */
			int64		from,
						to = 0,
						rate;
			bool		open;

			if (*ps->p == '.')
				FT_SYNTAX(ps, "Expected a number at \"%s\".", excerpt(ps->p));
			if (open_seen)
				FT_SYNTAX(ps, "Only the last tier may be open (FROM+).");
			if (ft->ntiers >= FEE_TIER_MAX_TIERS)
				FT_SYNTAX(ps, "At most %d tiers are allowed.", FEE_TIER_MAX_TIERS);
			if (!parse_number(ps, 3, MAX_BOUND, "bound", &from))
				return false;
			skip_space(ps);
			if (*ps->p == '+')
			{
				open = true;
				ps->p++;
			}
			else if (*ps->p == '-')
			{
				open = false;
				ps->p++;
				skip_space(ps);
				if (!parse_number(ps, 3, MAX_BOUND, "bound", &to))
					return false;
			}
			else
				FT_SYNTAX(ps, "Expected \"-\" or \"+\" after the bound %s.",
						  fixed_text(from, 3, 0));
			skip_space(ps);
			if (*ps->p != ':')
				FT_SYNTAX(ps, "Expected \":\" and a rate after the tier's bounds.");
			ps->p++;
			skip_space(ps);
			if (!parse_number(ps, 4, MAX_RATE, "rate", &rate))
				return false;

			if (ft->ntiers == 0 && from != 0)
				FT_SYNTAX(ps, "Tiers must start at 0.");
			if (ft->ntiers > 0 && from > prev_to)
				FT_SYNTAX(ps, "There is a gap between %s and %s: tiers must be contiguous.",
						  fixed_text(prev_to, 3, 0),
						  fixed_text(from, 3, 0));
			if (ft->ntiers > 0 && from < prev_to)
				FT_SYNTAX(ps, "The tier starting at %s overlaps the previous one, which ends at %s.",
						  fixed_text(from, 3, 0),
						  fixed_text(prev_to, 3, 0));
			if (!open && to <= from)
				FT_SYNTAX(ps, "The bound %s is not above %s.",
						  fixed_text(to, 3, 0),
						  fixed_text(from, 3, 0));
			ft->tiers[ft->ntiers].from = from;
			ft->tiers[ft->ntiers].rate = rate;
			ft->ntiers++;
			prev_to = to;
			open_seen = open;
		}
		else if (*ps->p == '\0' || *ps->p == ',')
			FT_SYNTAX(ps, "An item is missing (empty between commas).");
		else
			FT_SYNTAX(ps, "Unexpected character at \"%s\".", excerpt(ps->p));

		skip_space(ps);
		if (*ps->p == '\0')
			break;
		if (*ps->p != ',')
			FT_SYNTAX(ps, "Unexpected text at \"%s\": items are separated by commas.", excerpt(ps->p));
		ps->p++;
	}

	if (ft->ntiers == 0)
		FT_SYNTAX(ps, "At least one tier (FROM-TO:RATE or FROM+:RATE) is required.");
	if (!open_seen)
		FT_SYNTAX(ps, "The last tier must be open (FROM+:RATE).");
	if ((ft->flags & FT_HAS_MIN) && (ft->flags & FT_HAS_MAX) && ft->min > ft->max)
		FT_SYNTAX(ps, "The minimum %s is above the maximum %s.",
				  fixed_text(ft->min, 2, 2),
				  fixed_text(ft->max, 2, 2));
	return true;
}

/* Copies the parsed value into a varlena of its exact size. */
static FeeTier *
fee_tier_finish(const FeeTier *work)
{
	Size		size = FEE_TIER_SIZE(work->ntiers);
	FeeTier    *result = palloc0(size);

	memcpy(result, work, size);
	result->version = FEE_TIER_VERSION;
	result->reserved = 0;
	if (!(result->flags & FT_HAS_MIN))
		result->min = 0;
	if (!(result->flags & FT_HAS_MAX))
		result->max = 0;
	SET_VARSIZE(result, size);
	return result;
}

/*
 * fee_tier_in: text to fee_tier.  Never reads past the terminating NUL.
 */
Datum
fee_tier_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	FtParser	ps;
	FeeTier    *work = palloc0(FEE_TIER_SIZE(FEE_TIER_MAX_TIERS));

	ps.input = str;
	ps.p = str;
	ps.escontext = fcinfo->context;
	if (!parse_fee_tier(&ps, work))
		PG_RETURN_NULL();
	PG_RETURN_FEE_TIER_P(fee_tier_finish(work));
}

/* ------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------
 */

/* Appends a fixed-point value with scale decimals, trailing zeros cut down to keep. */
static void
append_fixed(StringInfo buf, int64 v, int scale, int keep)
{
	char		digits[32];
	int			len,
				intlen,
				declen;

	snprintf(digits, sizeof(digits), "%0*lld", scale + 1, (long long) v);
	len = strlen(digits);
	intlen = len - scale;
	declen = scale;
	while (declen > keep && digits[intlen + declen - 1] == '0')
		declen--;
	appendBinaryStringInfo(buf, digits, intlen);
	if (declen > 0)
	{
		appendStringInfoChar(buf, '.');
		appendBinaryStringInfo(buf, digits + intlen, declen);
	}
}

/* fee_tier_out: canonical text form. */
Datum
fee_tier_out(PG_FUNCTION_ARGS)
{
	FeeTier    *ft = PG_GETARG_FEE_TIER_P(0);
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	if (ft->base != 0)
	{
		appendStringInfoString(&buf, "base=");
		append_fixed(&buf, ft->base, 2, 2);
		appendStringInfoString(&buf, ", ");
	}
	for (i = 0; i < ft->ntiers; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		append_fixed(&buf, ft->tiers[i].from, 3, 0);
		if (i + 1 < ft->ntiers)
		{
			appendStringInfoChar(&buf, '-');
			append_fixed(&buf, ft->tiers[i + 1].from, 3, 0);
		}
		else
			appendStringInfoChar(&buf, '+');
		appendStringInfoChar(&buf, ':');
		append_fixed(&buf, ft->tiers[i].rate, 4, 2);
	}
	if (ft->flags & FT_HAS_MIN)
	{
		appendStringInfoString(&buf, ", min=");
		append_fixed(&buf, ft->min, 2, 2);
	}
	if (ft->flags & FT_HAS_MAX)
	{
		appendStringInfoString(&buf, ", max=");
		append_fixed(&buf, ft->max, 2, 2);
	}
	if (ft->flags & FT_VOLUME)
		appendStringInfoString(&buf, ", volume");
	PG_RETURN_CSTRING(buf.data);
}

/* ------------------------------------------------------------------------
 * Binary I/O: version byte, flags, tier count, base, min, max, tiers.
 * Receive checks everything input checks.
 * ------------------------------------------------------------------------
 */
Datum
fee_tier_send(PG_FUNCTION_ARGS)
{
	FeeTier    *ft = PG_GETARG_FEE_TIER_P(0);
	StringInfoData buf;
	int			i;

	pq_begintypsend(&buf);
	pq_sendint8(&buf, FEE_TIER_VERSION);
	pq_sendint8(&buf, ft->flags);
	pq_sendint16(&buf, ft->ntiers);
	pq_sendint64(&buf, ft->base);
	pq_sendint64(&buf, ft->min);
	pq_sendint64(&buf, ft->max);
	for (i = 0; i < ft->ntiers; i++)
	{
		pq_sendint64(&buf, ft->tiers[i].from);
		pq_sendint64(&buf, ft->tiers[i].rate);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

#define RECV_INVALID(...) \
	ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION), \
					errmsg("invalid external fee_tier value"), errdetail(__VA_ARGS__)))

Datum
fee_tier_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	FeeTier    *work = palloc0(FEE_TIER_SIZE(FEE_TIER_MAX_TIERS));
	int			version,
				n,
				i;

	version = pq_getmsgint(buf, 1);
	if (version != FEE_TIER_VERSION)
		RECV_INVALID("Unknown format version %d.", version);
	work->flags = pq_getmsgint(buf, 1);
	if (work->flags & ~FT_ALL_FLAGS)
		RECV_INVALID("Unknown flags %d.", work->flags);
	n = pq_getmsgint(buf, 2);
	if (n < 1 || n > FEE_TIER_MAX_TIERS)
		RECV_INVALID("A fee_tier has 1 to %d tiers, not %d.", FEE_TIER_MAX_TIERS, n);
	work->ntiers = n;
	work->base = pq_getmsgint64(buf);
	work->min = pq_getmsgint64(buf);
	work->max = pq_getmsgint64(buf);
	if (work->base < 0 || work->base > MAX_AMOUNT ||
		work->min < 0 || work->min > MAX_AMOUNT ||
		work->max < 0 || work->max > MAX_AMOUNT)
		RECV_INVALID("An amount is negative or out of range.");
	if ((!(work->flags & FT_HAS_MIN) && work->min != 0) ||
		(!(work->flags & FT_HAS_MAX) && work->max != 0))
		RECV_INVALID("An absent minimum or maximum is not zero.");
	if ((work->flags & FT_HAS_MIN) && (work->flags & FT_HAS_MAX) && work->min > work->max)
		RECV_INVALID("The minimum is above the maximum.");
	for (i = 0; i < n; i++)
	{
		work->tiers[i].from = pq_getmsgint64(buf);
		work->tiers[i].rate = pq_getmsgint64(buf);
		if (work->tiers[i].rate < 0 || work->tiers[i].rate > MAX_RATE)
			RECV_INVALID("A rate is negative or out of range.");
		if (work->tiers[i].from < 0 || work->tiers[i].from > MAX_BOUND)
			RECV_INVALID("A bound is negative or out of range.");
		if (i == 0 && work->tiers[i].from != 0)
			RECV_INVALID("Tiers must start at 0.");
		if (i > 0 && work->tiers[i].from <= work->tiers[i - 1].from)
			RECV_INVALID("Bounds must increase.");
	}
	pq_getmsgend(buf);
	PG_RETURN_FEE_TIER_P(fee_tier_finish(work));
}

/* ------------------------------------------------------------------------
 * Comparison and hashing: a total order consistent with equality of every
 * field (tiers first, then base, min, max, mode).
 * ------------------------------------------------------------------------
 */
#define CMP(a, b) do { if ((a) != (b)) return ((a) < (b)) ? -1 : 1; } while (0)

static int
fee_tier_cmp_internal(const FeeTier *a, const FeeTier *b)
{
	int			i;

	for (i = 0; i < a->ntiers && i < b->ntiers; i++)
	{
		CMP(a->tiers[i].from, b->tiers[i].from);
		CMP(a->tiers[i].rate, b->tiers[i].rate);
	}
	CMP(a->ntiers, b->ntiers);
	CMP(a->base, b->base);
	CMP(a->flags & FT_HAS_MIN, b->flags & FT_HAS_MIN);
	CMP(a->min, b->min);
	CMP(a->flags & FT_HAS_MAX, b->flags & FT_HAS_MAX);
	CMP(a->max, b->max);
	CMP(a->flags & FT_VOLUME, b->flags & FT_VOLUME);
	return 0;
}

/* fee_tier_cmp (btree support) and the six operators' functions */
REPAIRSYS_COMPARISON_FUNCS(fee_tier, FeeTier, PG_GETARG_FEE_TIER_P, fee_tier_cmp_internal)

/*
 * Hash of the value's bytes after the header (equal values have equal bytes:
 * the unused fields are zero).
 */
Datum
fee_tier_hash(PG_FUNCTION_ARGS)
{
	FeeTier    *ft = PG_GETARG_FEE_TIER_P(0);
	Datum		h = hash_any((const unsigned char *) ft + VARHDRSZ,
							 VARSIZE(ft) - VARHDRSZ);

	PG_FREE_IF_COPY(ft, 0);
	PG_RETURN_DATUM(h);
}

/*
 * Seeded 64-bit hash of the same bytes (hash support function 2, used by
 * hash partitioning); with seed 0 its low 32 bits are fee_tier_hash's.
 */
Datum
fee_tier_hash_extended(PG_FUNCTION_ARGS)
{
	FeeTier    *ft = PG_GETARG_FEE_TIER_P(0);
	Datum		h = hash_any_extended((const unsigned char *) ft + VARHDRSZ,
									  VARSIZE(ft) - VARHDRSZ, PG_GETARG_INT64(1));

	PG_FREE_IF_COPY(ft, 0);
	PG_RETURN_DATUM(h);
}

/* ------------------------------------------------------------------------
 * The pricing kernel
 * ------------------------------------------------------------------------
 */

typedef enum LineKind
{
	LINE_BASE,
	LINE_TIER,
	LINE_MINIMUM,
	LINE_MAXIMUM
} LineKind;

typedef struct ChargeLine
{
	LineKind	kind;
	int			tier;			/* tier index for LINE_TIER */
	int64		qty_from;		/* thousandths */
	int64		qty_to;			/* thousandths, -1: open */
	int64		quantity;		/* thousandths */
	int64		rate;			/* ten-thousandths */
	int64		amount;			/* cents */
} ChargeLine;

/* Refuses an amount that does not fit numeric(14,2) (22003). */
static void
slice_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("charge is out of range"),
			 errdetail("An amount above 999999999999.99 does not fit the money type numeric(14,2).")));
}

/*
 * slice_amount() below without a 128-bit type, for compilers that have none
 * (core's common/int128.h has a fallback for the same reason): with
 * rate = rh * 1e5 + rl and quantity = qh * 1e5 + ql (rl, ql < 1e5),
 *   quantity * rate / 1e5 = quantity * rh + qh * rl + ql * rl / 1e5,
 * where the first two terms are whole cents, so rounding the sum half up is
 * rounding the last term, whose product is below 1e10.  Returns false on
 * overflow of int64 (then the amount is out of range anyway).  (Unused where
 * int128 exists and assertions are off.)
 */
pg_attribute_unused()
static bool
slice_amount_portable(int64 quantity, int64 rate, int64 *cents)
{
	int64		rh = rate / 100000,
				rl = rate % 100000,
				qh = quantity / 100000,
				ql = quantity % 100000,
				a,
				b;

	if (pg_mul_s64_overflow(quantity, rh, &a) ||
		pg_mul_s64_overflow(qh, rl, &b) ||
		pg_add_s64_overflow(a, b, &a) ||
		pg_add_s64_overflow(a, (ql * rl + 50000) / 100000, cents))
		return false;
	return true;
}

/*
 * Cents for quantity (thousandths) x rate (ten-thousandths): the product is
 * in units of 1e-7 of the currency, rounded half away from zero to cents
 * (both factors are non-negative); above MAX_AMOUNT it is 22003.
 */
static int64
slice_amount(int64 quantity, int64 rate)
{
	int64		result;

#if defined(HAVE_INT128) && !defined(REPAIRSYS_NO_INT128)
	int128		prod = (int128) quantity * (int128) rate;
	int128		cents = (prod + 50000) / 100000;	/* both non-negative */

	if (cents > MAX_AMOUNT)
		slice_out_of_range();
	result = (int64) cents;
#ifdef USE_ASSERT_CHECKING
	{
		/* the fallback agrees wherever it is tested (assert-enabled builds) */
		int64		check;

		Assert(slice_amount_portable(quantity, rate, &check) && check == result);
	}
#endif
#else
	if (!slice_amount_portable(quantity, rate, &result) || result > MAX_AMOUNT)
		slice_out_of_range();
#endif
	return result;
}

/* *total += amount, refusing a total out of range of numeric(14,2) (22003). */
static void
add_amount(int64 *total, int64 amount)
{
	if (pg_add_s64_overflow(*total, amount, total) || *total > MAX_AMOUNT)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("charge is out of range"),
				 errdetail("An amount above 999999999999.99 does not fit the money type numeric(14,2).")));
}

/*
 * Computes the bill lines of quantity q (thousandths, >= 0) under ft into
 * lines[] (room for ntiers + 3) and returns their count; *total is the charge.
 */
static int
compute_lines(const FeeTier *ft, int64 q, ChargeLine *lines, int64 *total)
{
	int			n = 0;
	int			i;

	*total = 0;
	if (ft->base > 0)
	{
		lines[n].kind = LINE_BASE;
		lines[n].amount = ft->base;
		add_amount(total, ft->base);
		n++;
	}
	if (ft->flags & FT_VOLUME)
	{
		/* the tier q falls in: (from, to], the first tier also holds 0 */
		for (i = 0; i < ft->ntiers - 1; i++)
			if (q <= ft->tiers[i + 1].from)
				break;
		if (q > 0)
		{
			lines[n].kind = LINE_TIER;
			lines[n].tier = i;
			lines[n].qty_from = ft->tiers[i].from;
			lines[n].qty_to = (i + 1 < ft->ntiers) ? ft->tiers[i + 1].from : -1;
			lines[n].quantity = q;
			lines[n].rate = ft->tiers[i].rate;
			lines[n].amount = slice_amount(q, ft->tiers[i].rate);
			add_amount(total, lines[n].amount);
			n++;
		}
	}
	else
	{
		for (i = 0; i < ft->ntiers && q > ft->tiers[i].from; i++)
		{
			int64		to = (i + 1 < ft->ntiers) ? ft->tiers[i + 1].from : -1;
			int64		upper = (to >= 0 && to < q) ? to : q;

			lines[n].kind = LINE_TIER;
			lines[n].tier = i;
			lines[n].qty_from = ft->tiers[i].from;
			lines[n].qty_to = to;
			lines[n].quantity = upper - ft->tiers[i].from;
			lines[n].rate = ft->tiers[i].rate;
			lines[n].amount = slice_amount(lines[n].quantity, ft->tiers[i].rate);
			add_amount(total, lines[n].amount);
			n++;
		}
	}
	if ((ft->flags & FT_HAS_MIN) && *total < ft->min)
	{
		lines[n].kind = LINE_MINIMUM;
		lines[n].amount = ft->min - *total;
		*total = ft->min;
		n++;
	}
	if ((ft->flags & FT_HAS_MAX) && *total > ft->max)
	{
		lines[n].kind = LINE_MAXIMUM;
		lines[n].amount = ft->max - *total;
		*total = ft->max;
		n++;
	}
	return n;
}

/*
 * The quantity argument in thousandths: rounded half away from zero to 3
 * decimals; negative, NaN or infinite is 22023, too large 22003.
 *
 * The value is read from its exact decimal text (one numeric_out call),
 * which costs far less than numeric arithmetic: charge() runs once per row.
 */
static int64
quantity_arg(Numeric qn)
{
	char	   *txt = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(qn)));
	const char *c = txt;
	int64		v = 0;
	int			ndec = 0;
	bool		negative = false;
	bool		nonzero = false;
	bool		toobig = false;

	if (numeric_is_nan(qn) || numeric_is_inf(qn))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quantity must be a finite number")));
	if (*c == '-')
	{
		negative = true;
		c++;
	}
	for (; isdigit((unsigned char) *c); c++)
	{
		nonzero |= (*c != '0');
		if (!toobig && (pg_mul_s64_overflow(v, 10, &v) || pg_add_s64_overflow(v, *c - '0', &v)))
			toobig = true;
	}
	if (*c == '.')
		c++;
	/* three decimals; the fourth decides the rounding (half away from zero) */
	for (; ndec < 3; ndec++)
	{
		int			d = isdigit((unsigned char) *c) ? *c++ - '0' : 0;

		nonzero |= (d != 0);
		if (!toobig && (pg_mul_s64_overflow(v, 10, &v) || pg_add_s64_overflow(v, d, &v)))
			toobig = true;
	}
	if (isdigit((unsigned char) *c))
	{
		if (*c >= '5' && !toobig && pg_add_s64_overflow(v, 1, &v))
			toobig = true;
		for (; isdigit((unsigned char) *c); c++)
			nonzero |= (*c != '0');
	}
	if (negative && nonzero)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quantity must not be negative"),
				 errdetail("The quantity is %s.", txt)));
	if (toobig || v > MAX_BOUND)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("quantity is out of range"),
				 errdetail("The largest quantity a fee_tier prices is 999999999999.999.")));
	pfree(txt);
	return v;
}

/* charge(fee_tier, numeric) returns numeric: the price of a quantity. */
Datum
fee_tier_charge(PG_FUNCTION_ARGS)
{
	FeeTier    *ft = PG_GETARG_FEE_TIER_P(0);
	int64		q = quantity_arg(PG_GETARG_NUMERIC(1));
	ChargeLine	lines[FEE_TIER_MAX_TIERS + 3];
	int64		total;

	compute_lines(ft, q, lines, &total);
	PG_RETURN_NUMERIC(int64_div_fast_to_numeric(total, 2));
}

/*
 * charge_lines(fee_tier, numeric): one row per bill line (line_no, kind,
 * qty_from, qty_to, quantity, rate, amount); the amounts sum to charge().
 */
Datum
fee_tier_charge_lines(PG_FUNCTION_ARGS)
{
	FeeTier    *ft = PG_GETARG_FEE_TIER_P(0);
	int64		q = quantity_arg(PG_GETARG_NUMERIC(1));
	ChargeLine	lines[FEE_TIER_MAX_TIERS + 3];
	int64		total;
	int			n,
				i;
	TupleDesc	tupdesc;
	Tuplestorestate *tupstore;
	static const char *const kinds[] = {"base", "tier", "minimum", "maximum"};

	n = compute_lines(ft, q, lines, &total);
	tupstore = repairsys_materialize(fcinfo, &tupdesc);

	for (i = 0; i < n; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false, false, true, true, true, true, false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(kinds[lines[i].kind]);
		if (lines[i].kind == LINE_TIER)
		{
			values[2] = NumericGetDatum(int64_div_fast_to_numeric(lines[i].qty_from, 3));
			nulls[2] = false;
			if (lines[i].qty_to >= 0)
			{
				values[3] = NumericGetDatum(int64_div_fast_to_numeric(lines[i].qty_to, 3));
				nulls[3] = false;
			}
			values[4] = NumericGetDatum(int64_div_fast_to_numeric(lines[i].quantity, 3));
			nulls[4] = false;
			values[5] = NumericGetDatum(int64_div_fast_to_numeric(lines[i].rate, 4));
			nulls[5] = false;
		}
		values[6] = NumericGetDatum(int64_div_fast_to_numeric(lines[i].amount, 2));
		tuplestore_putvalues(tupstore, tupdesc, values, nulls);
	}
	return (Datum) 0;
}
