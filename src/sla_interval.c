/*
 * sla_interval.c
 *		The sla_interval type: an SLA target counted on the wall clock or in
 *		the business hours of a weekly calendar, and the deadline / elapsed
 *		computations on it.
 *
 * Text form (see docs/sla.md):
 *
 *		4h    1h30min    2d                    wall clock (d = 24 hours)
 *		8h in mon-fri 09:00-18:00 Asia/Shanghai
 *		6h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Europe/Berlin
 *		3h in mon-sun 22:00-06:00              overnight window
 *
 * A window belongs to the local day it opens on; it may close on the next
 * day (overnight) and 24:00 is a valid close.  Local times are converted to
 * instants with PostgreSQL's own time-zone code (DetermineTimeZoneOffset), so
 * DST gaps and overlaps resolve exactly as "timestamp AT TIME ZONE" does.
 *
 * The walk over the calendar goes day by day, but skips whole local weeks
 * arithmetically while the zone's UTC offset stays constant (checked with
 * pg_next_dst_boundary), so the cost does not grow with the target.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

/* ereturn() arrived in PostgreSQL 16; before that every input error throws */
#if PG_VERSION_NUM < 160000
#define ereturn(context, dummy_value, ...) \
	do { \
		ereport(ERROR, __VA_ARGS__); \
		return dummy_value; \
	} while (0)
#endif

#define SLA_VERSION			1
#define SLA_FLAG_BUSINESS	0x01
#define SLA_MAX_WINDOWS		112		/* 16 per weekday */
#define SLA_MAX_MINUTES		(100000 * 60)	/* 100000 hours */
#define SLA_MAX_ZONE		TZ_STRLEN_MAX
#define MIN_PER_DAY			1440
#define MIN_PER_WEEK		(7 * MIN_PER_DAY)
#define USECS_PER_WEEK		(INT64CONST(7) * USECS_PER_DAY)
#define MAX_WALK_JD			(TIMESTAMP_END_JULIAN + 7)

/* One window: opens on weekday dow (0 = Monday) at minute open of that local
 * day and closes at minute close counted from the same midnight, so
 * open < close <= open + 1440 (close > 1440: overnight). */
typedef struct SlaWindow
{
	int16		dow;
	int16		open;
	int16		close;
} SlaWindow;

/*
 * On-disk form.  Windows are sorted by (dow, open) and never overlap on the
 * weekly cycle; the zone name (canonical spelling, "" for the session's
 * TimeZone) follows the windows, NUL-terminated.  Built with palloc0 so equal
 * values are equal bytes (the hash relies on it).
 */
typedef struct SlaInterval
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	int16		nwindows;
	int32		target;			/* minutes */
	SlaWindow	windows[FLEXIBLE_ARRAY_MEMBER];
} SlaInterval;

#define SLA_ZONE(s)	((const char *) ((s)->windows + (s)->nwindows))
#define SLA_IS_BUSINESS(s)	(((s)->flags & SLA_FLAG_BUSINESS) != 0)
#define DatumGetSlaInterval(x)	((SlaInterval *) PG_DETOAST_DATUM(x))
#define PG_GETARG_SLA(n)	DatumGetSlaInterval(PG_GETARG_DATUM(n))

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const day_long_names[7] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

/* What went wrong while reading a value: SQLSTATE and the detail sentence. */
typedef struct SlaError
{
	int			code;
	char		zone[SLA_MAX_ZONE + 1];
	char		detail[200];
} SlaError;

/* A value under construction, from text or binary input. */
typedef struct SlaSpec
{
	bool		business;
	int32		target;
	int			nwindows;
	SlaWindow	windows[SLA_MAX_WINDOWS];
	char		zone[SLA_MAX_ZONE + 1];
} SlaSpec;

PG_FUNCTION_INFO_V1(sla_interval_in);
PG_FUNCTION_INFO_V1(sla_interval_out);
PG_FUNCTION_INFO_V1(sla_interval_recv);
PG_FUNCTION_INFO_V1(sla_interval_send);
PG_FUNCTION_INFO_V1(sla_interval_cmp);
PG_FUNCTION_INFO_V1(sla_interval_eq);
PG_FUNCTION_INFO_V1(sla_interval_ne);
PG_FUNCTION_INFO_V1(sla_interval_lt);
PG_FUNCTION_INFO_V1(sla_interval_le);
PG_FUNCTION_INFO_V1(sla_interval_gt);
PG_FUNCTION_INFO_V1(sla_interval_ge);
PG_FUNCTION_INFO_V1(sla_interval_hash);
PG_FUNCTION_INFO_V1(sla_interval_hash_extended);
PG_FUNCTION_INFO_V1(sla_interval_target);
PG_FUNCTION_INFO_V1(sla_interval_calendar);
PG_FUNCTION_INFO_V1(sla_interval_add);
PG_FUNCTION_INFO_V1(sla_interval_deadline);
PG_FUNCTION_INFO_V1(sla_interval_advance);
PG_FUNCTION_INFO_V1(sla_interval_elapsed);
PG_FUNCTION_INFO_V1(sla_interval_windows);

/* ------------------------------------------------------------------------
 * Building and validating
 * ------------------------------------------------------------------------ */

/* Sets the error of a failed read and returns false. */
static bool
sla_fail(SlaError *err, int code, const char *fmt,...)
pg_attribute_printf(3, 4);

static bool
sla_fail(SlaError *err, int code, const char *fmt,...)
{
	va_list		ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return false;
}

/* Writes "mon 22:00-06:00" into buf (at least 24 bytes). */
static void
window_text(const SlaWindow *w, char *buf, size_t len)
{
	int			c = w->close > MIN_PER_DAY ? w->close - MIN_PER_DAY : w->close;

	snprintf(buf, len, "%s %02d:%02d-%02d:%02d", day_names[w->dow],
			 w->open / 60, w->open % 60, c / 60, c % 60);
}

/* qsort order of windows: weekday, then opening minute. */
static int
window_order(const void *a, const void *b)
{
	const SlaWindow *x = a;
	const SlaWindow *y = b;

	if (x->dow != y->dow)
		return x->dow - y->dow;
	return x->open - y->open;
}

/*
 * Checks a spec (ranges, order, overlaps on the weekly cycle, zone) and sorts
 * its windows.  Returns false with err set when it is invalid.
 */
static bool
sla_validate(SlaSpec *spec, SlaError *err)
{
	int			i;

	if (spec->target <= 0)
		return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION, "The target must be longer than zero.");
	if (spec->target > SLA_MAX_MINUTES)
		return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION, "The target may be at most 100000 hours.");
	if (!spec->business)
	{
		if (spec->nwindows != 0 || spec->zone[0] != '\0')
			return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION, "A wall-clock target has no calendar.");
		return true;
	}
	if (spec->nwindows < 1)
		return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION, "A calendar needs at least one window.");
	if (spec->nwindows > SLA_MAX_WINDOWS)
		return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION, "A calendar may have at most %d windows.", SLA_MAX_WINDOWS);
	for (i = 0; i < spec->nwindows; i++)
	{
		SlaWindow  *w = &spec->windows[i];

		if (w->dow < 0 || w->dow > 6 || w->open < 0 || w->open >= MIN_PER_DAY ||
			w->close <= w->open || w->close > w->open + MIN_PER_DAY)
			return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION, "Window %d is out of range.", i + 1);
	}
	qsort(spec->windows, spec->nwindows, sizeof(SlaWindow), window_order);

	/* overlaps on the weekly cycle, including the wrap from Sunday to Monday */
	for (i = 0; i < spec->nwindows; i++)
	{
		const SlaWindow *a = &spec->windows[i];
		const SlaWindow *b = &spec->windows[(i + 1) % spec->nwindows];
		int			a_end = a->dow * MIN_PER_DAY + a->close;
		int			b_start = b->dow * MIN_PER_DAY + b->open;

		if (i + 1 == spec->nwindows)
			b_start += MIN_PER_WEEK;
		if (a_end > b_start)
		{
			char		ta[32],
						tb[32];

			window_text(a, ta, sizeof(ta));
			window_text(b, tb, sizeof(tb));
			if (a == b)
				return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION, "Window \"%s\" overlaps itself.", ta);
			return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
							"Window \"%s\" overlaps window \"%s\".", ta, tb);
		}
	}

	if (spec->zone[0] != '\0')
	{
		pg_tz	   *tz = pg_tzset(spec->zone);

		if (tz == NULL)
		{
			strlcpy(err->zone, spec->zone, sizeof(err->zone));
			return sla_fail(err, ERRCODE_INVALID_PARAMETER_VALUE, "Time zones are IANA names such as \"Asia/Shanghai\".");
		}
		strlcpy(spec->zone, pg_get_timezone_name(tz), sizeof(spec->zone));
	}
	return true;
}

/* Builds the varlena of a validated spec. */
static SlaInterval *
sla_build(const SlaSpec *spec)
{
	size_t		zlen = strlen(spec->zone) + 1;
	size_t		size = offsetof(SlaInterval, windows) + spec->nwindows * sizeof(SlaWindow) + zlen;
	SlaInterval *result = palloc0(size);

	SET_VARSIZE(result, size);
	result->version = SLA_VERSION;
	result->flags = spec->business ? SLA_FLAG_BUSINESS : 0;
	result->nwindows = spec->nwindows;
	result->target = spec->target;
	memcpy(result->windows, spec->windows, spec->nwindows * sizeof(SlaWindow));
	memcpy((char *) SLA_ZONE(result), spec->zone, zlen);
	return result;
}

/* ------------------------------------------------------------------------
 * Text input
 * ------------------------------------------------------------------------ */

typedef struct SlaLexer
{
	const char *p;
} SlaLexer;

/* ASCII white space only: the input is never read as locale text. */
static inline bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static inline bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void
skip_space(SlaLexer *lx)
{
	while (is_space(*lx->p))
		lx->p++;
}

/* Reads a run of ASCII letters (lower-cased) into buf; returns its length. */
static int
read_word(SlaLexer *lx, char *buf, int size)
{
	int			n = 0;

	while (is_alpha(*lx->p))
	{
		if (n < size - 1)
			buf[n] = (char) (*lx->p | 0x20);
		n++;
		lx->p++;
	}
	buf[Min(n, size - 1)] = '\0';
	return n;
}

/* Day name (short or long) to 0..6, or -1. */
static int
day_number(const char *w)
{
	int			i;

	for (i = 0; i < 7; i++)
		if (strcmp(w, day_names[i]) == 0 || strcmp(w, day_long_names[i]) == 0)
			return i;
	return -1;
}

/* Reads HH:MM (0..24:00) into *minutes; false when it is not a time. */
static bool
read_time(SlaLexer *lx, int *minutes, SlaError *err)
{
	const char *s = lx->p;
	int			h = 0,
				m;
	int			nd = 0;

	while (is_digit(*lx->p) && nd < 3)
	{
		h = h * 10 + (*lx->p - '0');
		lx->p++;
		nd++;
	}
	if (nd == 0 || nd > 2 || *lx->p != ':' || !is_digit(lx->p[1]) || !is_digit(lx->p[2]) || is_digit(lx->p[3]))
	{
		int			len = 0;

		while (s[len] && !is_space(s[len]) && s[len] != ',' && len < 12)
			len++;
		return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
						"Expected a time written HH:MM at \"%.*s\".", len, s);
	}
	m = (lx->p[1] - '0') * 10 + (lx->p[2] - '0');
	lx->p += 3;
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
						"Time \"%.*s\" is out of range; times go from 00:00 to 24:00.",
						(int) (lx->p - s), s);
	*minutes = h * 60 + m;
	return true;
}

/* Parses the target: one or more NUMBER UNIT parts, units d, h, min in order. */
static bool
parse_target(SlaLexer *lx, SlaSpec *spec, int *last_unit, bool *used_days, SlaError *err)
{
	int64		total = 0;
	int			parts = 0;

	*last_unit = -1;
	*used_days = false;
	for (;;)
	{
		const char *save;
		int64		n = 0;
		int			nd = 0;
		int			unit;
		char		word[16];

		skip_space(lx);
		if (!is_digit(*lx->p))
			break;
		while (is_digit(*lx->p))
		{
			if (nd < 12)
				n = n * 10 + (*lx->p - '0');
			nd++;
			lx->p++;
		}
		if (nd > 9)
			return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION, "The target may be at most 100000 hours.");
		if (*lx->p == '.' || *lx->p == ',')
			return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
							"Numbers must be whole; write 1h30min rather than 1.5h.");
		skip_space(lx);
		save = lx->p;
		if (read_word(lx, word, sizeof(word)) == 0)
			return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
							"Expected a unit (d, h or min) after \"%lld\".", (long long) n);
		if (strcmp(word, "d") == 0)
			unit = 0;
		else if (strcmp(word, "h") == 0)
			unit = 1;
		else if (strcmp(word, "min") == 0)
			unit = 2;
		else
			return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
							"Unknown unit \"%.*s\"; units are d, h and min.",
							(int) Min(lx->p - save, 20), save);
		if (unit <= *last_unit)
			return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
							"Units must come in the order d, h, min, each at most once.");
		*last_unit = unit;
		if (unit == 0)
			*used_days = true;
		total += n * (unit == 0 ? MIN_PER_DAY : unit == 1 ? 60 : 1);
		if (total > SLA_MAX_MINUTES)
			return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION, "The target may be at most 100000 hours.");
		parts++;
	}
	if (parts == 0)
		return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
						"A value starts with a target such as \"4h\" or \"1h30min\".");
	spec->target = (int32) total;
	return true;
}

/*
 * Parses the calendar after "in": groups "DAY[-DAY] WINDOW..." separated by
 * commas, then an optional zone.
 */
static bool
parse_calendar(SlaLexer *lx, SlaSpec *spec, SlaError *err)
{
	for (;;)
	{
		char		word[16];
		const char *save;
		int			d1,
					d2,
					nwin = 0;
		bool		days[7] = {false};

		skip_space(lx);
		save = lx->p;
		if (read_word(lx, word, sizeof(word)) == 0 || (d1 = day_number(word)) < 0)
		{
			int			len = 0;

			while (save[len] && !is_space(save[len]) && len < 12)
				len++;
			if (len == 0)
				return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION, "Expected a day such as \"mon\" or \"mon-fri\" at the end of the input.");
			return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
							"Expected a day such as \"mon\" or \"mon-fri\" at \"%.*s\".", len, save);
		}
		d2 = d1;
		skip_space(lx);
		if (*lx->p == '-')
		{
			lx->p++;
			skip_space(lx);
			save = lx->p;
			if (read_word(lx, word, sizeof(word)) == 0 || (d2 = day_number(word)) < 0)
				return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
								"Expected a day after \"%s-\".", day_names[d1]);
		}
		/* a range may wrap around the week end: sat-mon */
		for (int d = d1;; d = (d + 1) % 7)
		{
			days[d] = true;
			if (d == d2)
				break;
		}

		/* windows */
		for (;;)
		{
			int			open,
						close;

			skip_space(lx);
			if (!is_digit(*lx->p))
				break;
			if (!read_time(lx, &open, err))
				return false;
			skip_space(lx);
			if (*lx->p != '-')
				return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
								"Expected \"-\" and a closing time after %02d:%02d.", open / 60, open % 60);
			lx->p++;
			skip_space(lx);
			if (!read_time(lx, &close, err))
				return false;
			if (open == MIN_PER_DAY)
				return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
								"A window cannot open at 24:00; it belongs to the next day as 00:00.");
			if (close == open)
				return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
								"Window %02d:%02d-%02d:%02d is empty; write 00:00-24:00 for a whole day.",
								open / 60, open % 60, close / 60, close % 60);
			if (close < open)
				close += MIN_PER_DAY;	/* overnight */
			for (int d = 0; d < 7; d++)
			{
				if (!days[d])
					continue;
				if (spec->nwindows >= SLA_MAX_WINDOWS)
					return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
									"A calendar may have at most %d windows.", SLA_MAX_WINDOWS);
				spec->windows[spec->nwindows].dow = d;
				spec->windows[spec->nwindows].open = open;
				spec->windows[spec->nwindows].close = close;
				spec->nwindows++;
			}
			nwin++;
		}
		if (nwin == 0)
			return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
							"Day group \"%s\" has no window such as 09:00-18:00.",
							d1 == d2 ? day_names[d1] : psprintf("%s-%s", day_names[d1], day_names[d2]));

		skip_space(lx);
		if (*lx->p == ',')
		{
			lx->p++;
			continue;
		}
		if (*lx->p == '\0')
			return true;

		/* a zone name ends the value */
		save = lx->p;
		{
			int			len = 0;
			char		probe[16];
			SlaLexer	tmp = {save};

			if (read_word(&tmp, probe, sizeof(probe)) > 0 && day_number(probe) >= 0 &&
				(is_space(*tmp.p) || *tmp.p == '-' || *tmp.p == '\0'))
				return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
								"Expected \",\" before the day group starting at \"%s\".", probe);
			while (save[len] && !is_space(save[len]))
			{
				char		c = save[len];

				if (!(is_alpha(c) || is_digit(c) || c == '/' || c == '_' || c == '-' || c == '+'))
					return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
									"Time zone names consist of letters, digits and \"/_+-\".");
				len++;
				if (len > SLA_MAX_ZONE)
					return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION, "The time zone name is too long.");
			}
			if (!is_alpha(save[0]))
				return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
								"Expected a time zone name such as \"Asia/Shanghai\" at \"%.*s\".", Min(len, 12), save);
			memcpy(spec->zone, save, len);
			spec->zone[len] = '\0';
			lx->p = save + len;
			skip_space(lx);
			if (*lx->p != '\0')
				return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
								"The time zone must come last; found \"%.*s\" after it.",
								(int) Min(strlen(lx->p), 12), lx->p);
			return true;
		}
	}
}

/* Parses a whole text value into spec (validated).  False with err set on error. */
static bool
sla_parse(const char *str, SlaSpec *spec, SlaError *err)
{
	SlaLexer	lx = {str};
	int			last_unit;
	bool		used_days;

	memset(spec, 0, offsetof(SlaSpec, windows));
	spec->zone[0] = '\0';
	if (!parse_target(&lx, spec, &last_unit, &used_days, err))
		return false;
	skip_space(&lx);
	if (*lx.p != '\0')
	{
		char		word[16];
		const char *save = lx.p;

		if (read_word(&lx, word, sizeof(word)) != 2 || strcmp(word, "in") != 0 ||
			!(is_space(*lx.p) || *lx.p == '\0'))
		{
			int			len = 0;

			while (save[len] && !is_space(save[len]) && len < 12)
				len++;
			return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
							"Expected \"in\" and a calendar after the target, found \"%.*s\".", len, save);
		}
		if (used_days)
			return sla_fail(err, ERRCODE_INVALID_TEXT_REPRESENTATION,
							"Unit \"d\" is allowed only on the wall clock; count business targets in h and min.");
		spec->business = true;
		if (!parse_calendar(&lx, spec, err))
			return false;
	}
	return sla_validate(spec, err);
}

/* Text input: the grammar above; 22P02 for bad text, 22023 for an unknown zone. */
Datum
sla_interval_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	SlaSpec    *spec = palloc(sizeof(SlaSpec));
	SlaError	err;

	if (!sla_parse(str, spec, &err))
	{
		if (err.code == ERRCODE_INVALID_PARAMETER_VALUE)
			ereturn(fcinfo->context, (Datum) 0,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time zone \"%s\" not recognized", err.zone),
					 errdetail("%s", err.detail)));
		ereturn(fcinfo->context, (Datum) 0,
				(errcode(err.code),
				 errmsg("invalid input syntax for type sla_interval: \"%s\"", str),
				 errdetail("%s", err.detail)));
	}
	PG_RETURN_POINTER(sla_build(spec));
}

/* ------------------------------------------------------------------------
 * Text output
 * ------------------------------------------------------------------------ */

/* Appends the canonical target text. */
static void
append_target(StringInfo buf, const SlaInterval *s)
{
	int			m = s->target;

	if (!SLA_IS_BUSINESS(s) && m >= MIN_PER_DAY)
	{
		appendStringInfo(buf, "%dd", m / MIN_PER_DAY);
		m %= MIN_PER_DAY;
	}
	if (m >= 60)
		appendStringInfo(buf, "%dh", m / 60);
	if (m % 60 != 0)
		appendStringInfo(buf, "%dmin", m % 60);
}

/* True when weekdays a and b of s have the same window list. */
static bool
same_windows(const SlaInterval *s, int a, int b)
{
	int			i = 0,
				j = 0;

	while (i < s->nwindows && s->windows[i].dow != a)
		i++;
	while (j < s->nwindows && s->windows[j].dow != b)
		j++;
	for (;;)
	{
		bool		ai = i < s->nwindows && s->windows[i].dow == a;
		bool		bj = j < s->nwindows && s->windows[j].dow == b;

		if (!ai || !bj)
			return ai == bj;
		if (s->windows[i].open != s->windows[j].open || s->windows[i].close != s->windows[j].close)
			return false;
		i++;
		j++;
	}
}

/* Appends the canonical calendar ("mon-fri 09:00-18:00, sat ... Zone"). */
static void
append_calendar(StringInfo buf, const SlaInterval *s)
{
	bool		first = true;
	int			d = 0;

	while (d < 7)
	{
		int			e = d;
		int			i;

		/* days without windows are not printed */
		for (i = 0; i < s->nwindows && s->windows[i].dow != d; i++)
			;
		if (i == s->nwindows)
		{
			d++;
			continue;
		}
		while (e + 1 < 7 && same_windows(s, d, e + 1))
			e++;
		if (!first)
			appendStringInfoString(buf, ", ");
		first = false;
		if (d == e)
			appendStringInfoString(buf, day_names[d]);
		else
			appendStringInfo(buf, "%s-%s", day_names[d], day_names[e]);
		for (; i < s->nwindows && s->windows[i].dow == d; i++)
		{
			int			c = s->windows[i].close;

			if (c > MIN_PER_DAY)
				c -= MIN_PER_DAY;
			appendStringInfo(buf, " %02d:%02d-%02d:%02d", s->windows[i].open / 60, s->windows[i].open % 60,
							 c / 60, c % 60);
		}
		d = e + 1;
	}
	if (SLA_ZONE(s)[0] != '\0')
		appendStringInfo(buf, " %s", SLA_ZONE(s));
}

/* Canonical text output. */
Datum
sla_interval_out(PG_FUNCTION_ARGS)
{
	SlaInterval *s = PG_GETARG_SLA(0);
	StringInfoData buf;

	initStringInfo(&buf);
	append_target(&buf, s);
	if (SLA_IS_BUSINESS(s))
	{
		appendStringInfoString(&buf, " in ");
		append_calendar(&buf, s);
	}
	PG_RETURN_CSTRING(buf.data);
}

/* ------------------------------------------------------------------------
 * Binary I/O: version byte, flags, target, windows, zone
 * ------------------------------------------------------------------------ */

/* Binary input, validated exactly as the text input (same checks). */
Datum
sla_interval_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	SlaSpec    *spec = palloc0(sizeof(SlaSpec));
	SlaError	err;
	int			version,
				flags,
				n,
				i;
	const char *zone;

	version = pq_getmsgbyte(msg);
	if (version != SLA_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary sla_interval"),
				 errdetail("Unsupported format version %d.", version)));
	flags = pq_getmsgbyte(msg);
	if ((flags & ~SLA_FLAG_BUSINESS) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary sla_interval"),
				 errdetail("Unknown flags %d.", flags)));
	spec->business = (flags & SLA_FLAG_BUSINESS) != 0;
	spec->target = pq_getmsgint(msg, 4);
	n = pq_getmsgint(msg, 2);
	if (n < 0 || n > SLA_MAX_WINDOWS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary sla_interval"),
				 errdetail("A calendar may have at most %d windows.", SLA_MAX_WINDOWS)));
	spec->nwindows = n;
	for (i = 0; i < n; i++)
	{
		spec->windows[i].dow = (int16) pq_getmsgbyte(msg);
		spec->windows[i].open = (int16) pq_getmsgint(msg, 2);
		spec->windows[i].close = (int16) pq_getmsgint(msg, 2);
	}
	zone = pq_getmsgstring(msg);
	if (strlen(zone) > SLA_MAX_ZONE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary sla_interval"),
				 errdetail("The time zone name is too long.")));
	for (i = 0; zone[i]; i++)
		if (!(is_alpha(zone[i]) || is_digit(zone[i]) || strchr("/_+-", zone[i]) != NULL))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary sla_interval"),
					 errdetail("Time zone names consist of letters, digits and \"/_+-\".")));
	strlcpy(spec->zone, zone, sizeof(spec->zone));
	/* trailing bytes are refused by the caller (22P03), as for core types */
	if (!sla_validate(spec, &err))
	{
		if (err.code == ERRCODE_INVALID_PARAMETER_VALUE)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time zone \"%s\" not recognized", err.zone)));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary sla_interval"),
				 errdetail("%s", err.detail)));
	}
	PG_RETURN_POINTER(sla_build(spec));
}

/* Binary output. */
Datum
sla_interval_send(PG_FUNCTION_ARGS)
{
	SlaInterval *s = PG_GETARG_SLA(0);
	StringInfoData buf;
	int			i;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, SLA_VERSION);
	pq_sendbyte(&buf, s->flags);
	pq_sendint32(&buf, s->target);
	pq_sendint16(&buf, s->nwindows);
	for (i = 0; i < s->nwindows; i++)
	{
		pq_sendbyte(&buf, (uint8) s->windows[i].dow);
		pq_sendint16(&buf, s->windows[i].open);
		pq_sendint16(&buf, s->windows[i].close);
	}
	pq_sendstring(&buf, SLA_ZONE(s));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ------------------------------------------------------------------------
 * Comparison and hashing
 * ------------------------------------------------------------------------ */

/* Order: target duration, then the calendar text (wall clock = ""). */
static int
sla_compare(const SlaInterval *a, const SlaInterval *b)
{
	StringInfoData ta,
				tb;
	int			r;

	if (a->target != b->target)
		return a->target < b->target ? -1 : 1;
	if (VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0)
		return 0;
	initStringInfo(&ta);
	initStringInfo(&tb);
	if (SLA_IS_BUSINESS(a))
		append_calendar(&ta, a);
	if (SLA_IS_BUSINESS(b))
		append_calendar(&tb, b);
	r = strcmp(ta.data, tb.data);
	pfree(ta.data);
	pfree(tb.data);
	return r < 0 ? -1 : r > 0 ? 1 : 0;
}

/* btree support: -1, 0, 1. */
Datum
sla_interval_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(sla_compare(PG_GETARG_SLA(0), PG_GETARG_SLA(1)));
}

/* = */
Datum
sla_interval_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sla_compare(PG_GETARG_SLA(0), PG_GETARG_SLA(1)) == 0);
}

/* <> */
Datum
sla_interval_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sla_compare(PG_GETARG_SLA(0), PG_GETARG_SLA(1)) != 0);
}

/* < */
Datum
sla_interval_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sla_compare(PG_GETARG_SLA(0), PG_GETARG_SLA(1)) < 0);
}

/* <= */
Datum
sla_interval_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sla_compare(PG_GETARG_SLA(0), PG_GETARG_SLA(1)) <= 0);
}

/* > */
Datum
sla_interval_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sla_compare(PG_GETARG_SLA(0), PG_GETARG_SLA(1)) > 0);
}

/* >= */
Datum
sla_interval_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sla_compare(PG_GETARG_SLA(0), PG_GETARG_SLA(1)) >= 0);
}

/* Hash of the bytes: equal values are equal bytes (canonical, zero-padded). */
Datum
sla_interval_hash(PG_FUNCTION_ARGS)
{
	SlaInterval *s = PG_GETARG_SLA(0);

	return hash_any((unsigned char *) VARDATA(s), VARSIZE(s) - VARHDRSZ);
}

/* Seeded 64-bit hash of the bytes. */
Datum
sla_interval_hash_extended(PG_FUNCTION_ARGS)
{
	SlaInterval *s = PG_GETARG_SLA(0);

	return hash_any_extended((unsigned char *) VARDATA(s), VARSIZE(s) - VARHDRSZ,
							 PG_GETARG_INT64(1));
}

/* ------------------------------------------------------------------------
 * Accessors
 * ------------------------------------------------------------------------ */

/* The target as an interval of hours and minutes (d = 24 hours). */
Datum
sla_interval_target(PG_FUNCTION_ARGS)
{
	SlaInterval *s = PG_GETARG_SLA(0);
	Interval   *r = palloc0(sizeof(Interval));

	r->time = (int64) s->target * USECS_PER_MINUTE;
	PG_RETURN_INTERVAL_P(r);
}

/* The calendar text after "in", or NULL for a wall-clock target. */
Datum
sla_interval_calendar(PG_FUNCTION_ARGS)
{
	SlaInterval *s = PG_GETARG_SLA(0);
	StringInfoData buf;

	if (!SLA_IS_BUSINESS(s))
		PG_RETURN_NULL();
	initStringInfo(&buf);
	append_calendar(&buf, s);
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}

/* ------------------------------------------------------------------------
 * The calendar walk
 * ------------------------------------------------------------------------ */

/*
 * Walk state: the zone, a cache of a span of instants with one UTC offset,
 * the special dates (closed and open days, sorted julian days) and the
 * per-weekday nominal business minutes.
 */
typedef struct SlaWalk
{
	const SlaInterval *s;
	pg_tz	   *tz;
	bool		cache_valid;
	TimestampTz cache_from;		/* offset is cache_gmtoff on [from, until) */
	TimestampTz cache_until;	/* the next offset change, or DT_NOEND */
	int64		cache_gmtoff;	/* seconds east of UTC */
	int64		cache_guard;	/* a guess must be this far after from */
	TimestampTz cache_regular;	/* local times mapping at or after this are
								 * neither in a gap nor before the span */
	bool		cache_hi_known; /* cache_hi_guard and the next span known */
	int64		cache_hi_guard; /* a guess must be this far before until */
	int			next_r;			/* pg_next_dst_boundary at until: -1, 0, 1 */
	int64		next_gmtoff;	/* offset of the span starting at until */
	TimestampTz next_until;		/* its end (when next_r = 1) */
	int		   *spec;			/* special local dates, sorted, distinct */
	int8	   *spec_dow;		/* their windows: -1 closed, else a weekday */
	int			nspec;
	int64		day_minutes[7];
	int64		spill_end[7];	/* minute after midnight at which weekday d's
								 * overnight window closes on the next day
								 * (0: none) */
	int64		week_usecs;
	int			first[8];		/* windows of weekday d: first[d] .. first[d+1]-1 */
} SlaWalk;

/* more than any UTC offset change: an instant this far inside a span of one
 * offset has a local time that no other instant has */
#define CACHE_MARGIN	(26 * USECS_PER_HOUR)

/*
 * Refreshes the offset cache so that it covers instant t.  When t lies in the
 * span that follows the cached one, the new span starts exactly at the
 * boundary and the offset before it is known, so a guess needs no margin
 * after the boundary but the overlap of a backward jump; otherwise the span
 * starts at t and guesses keep CACHE_MARGIN away from its start.
 */
static void
cache_refresh(SlaWalk *w, TimestampTz t)
{
	pg_time_t	pt,
				boundary;
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst,
				r;
	bool		next_span;
	bool		hi_known = w->cache_hi_known;
	int64		prev_gmtoff = w->cache_gmtoff;

	next_span = w->cache_valid && w->cache_until != DT_NOEND && t >= w->cache_until;
	w->cache_valid = false;
	w->cache_hi_known = false;
	if (t < MIN_TIMESTAMP || t >= END_TIMESTAMP)
		return;
	if (next_span)
	{
		TimestampTz b = w->cache_until;
		TimestampTz b2;

		if (hi_known)
		{
			r = w->next_r;
			before_gmtoff = w->next_gmtoff;
			b2 = w->next_until;
		}
		else
		{
			pt = timestamptz_to_time_t(b);
			r = pg_next_dst_boundary(&pt, &before_gmtoff, &before_isdst, &boundary,
									 &after_gmtoff, &after_isdst, w->tz);
			b2 = r == 1 ? time_t_to_timestamptz(boundary) : DT_NOEND;
		}
		if (r >= 0 && t < b2)
		{
			w->cache_from = b;
			w->cache_gmtoff = before_gmtoff;
			w->cache_until = b2;
			w->cache_guard = Max(prev_gmtoff - (int64) before_gmtoff, 0) * USECS_PER_SEC;
			w->cache_regular = b + w->cache_guard;
			w->cache_valid = true;
			return;
		}
	}
	pt = timestamptz_to_time_t(t);
	r = pg_next_dst_boundary(&pt, &before_gmtoff, &before_isdst, &boundary,
							 &after_gmtoff, &after_isdst, w->tz);
	if (r < 0)
		return;
	w->cache_from = t;
	w->cache_gmtoff = before_gmtoff;
	w->cache_guard = CACHE_MARGIN;
	w->cache_regular = t;
	if (r == 0)
		w->cache_until = DT_NOEND;
	else
		w->cache_until = time_t_to_timestamptz(boundary);
	w->cache_valid = true;
}

/*
 * How close to the end of the cached span a guess may be: the overlap of a
 * backward jump there (a local time in it exists twice), or CACHE_MARGIN when
 * the next span is too short to tell.  Computed once per span, when a guess
 * first comes near its end.
 */
static void
cache_hi_compute(SlaWalk *w)
{
	pg_time_t	pt,
				boundary;
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst,
				r;

	w->cache_hi_known = true;
	w->cache_hi_guard = CACHE_MARGIN;
	pt = timestamptz_to_time_t(w->cache_until);
	r = pg_next_dst_boundary(&pt, &before_gmtoff, &before_isdst, &boundary,
							 &after_gmtoff, &after_isdst, w->tz);
	w->next_r = r;
	w->next_gmtoff = before_gmtoff;
	w->next_until = r == 1 ? time_t_to_timestamptz(boundary) : DT_NOEND;
	if (r < 0)
		return;
	if (r == 1 && w->next_until - w->cache_until < CACHE_MARGIN)
		return;
	w->cache_hi_guard = Max(w->cache_gmtoff - (int64) before_gmtoff, 0) * USECS_PER_SEC;
}

/*
 * The instant of local day jd (julian), minute m (may exceed 1440), resolved
 * as PostgreSQL resolves a timestamp without time zone in the walk's zone.
 */
static TimestampTz
local_to_utc(SlaWalk *w, int jd, int m)
{
	Timestamp	local;
	TimestampTz guess;
	struct pg_tm tm;
	int			tzoff;

	jd += m / MIN_PER_DAY;
	m %= MIN_PER_DAY;
	local = (int64) (jd - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY + (int64) m * USECS_PER_MINUTE;
	for (int attempt = 0; attempt < 2 && w->cache_valid; attempt++)
	{
		guess = local - w->cache_gmtoff * USECS_PER_SEC;
		if (guess < w->cache_from + w->cache_guard)
			break;
		if (w->cache_until == DT_NOEND || guess < w->cache_until - CACHE_MARGIN)
			return guess;
		if (guess < w->cache_until)
		{
			if (!w->cache_hi_known)
				cache_hi_compute(w);
			if (guess < w->cache_until - w->cache_hi_guard)
				return guess;
			break;
		}
		/* past the span's end: move to the next span and try once more */
		cache_refresh(w, guess);
	}
	if (jd < 0 || jd > MAX_WALK_JD)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	j2date(jd, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	tm.tm_hour = m / 60;
	tm.tm_min = m % 60;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	tzoff = DetermineTimeZoneOffset(&tm, w->tz);
	guess = local + (int64) tzoff * USECS_PER_SEC;
	if (!IS_VALID_TIMESTAMP(guess))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	/* keep a cache that still covers the guess (the guess was only near an edge) */
	if (!w->cache_valid || guess < w->cache_from)
		cache_refresh(w, guess - CACHE_MARGIN);
	else if (w->cache_until != DT_NOEND && guess >= w->cache_until)
		cache_refresh(w, guess);
	return guess;
}

/* Julian day of the local date of instant t. */
static int
utc_to_local_jd(SlaWalk *w, TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;

	if (timestamp2tm(t, &tzoff, &tm, &fsec, NULL, w->tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
}

/* Weekday 0 = Monday of julian day jd. */
static inline int
jd_dow(int jd)
{
	return jd % 7;				/* julian day 0 was a Monday */
}

/* First index in spec[] with value >= jd. */
static int
spec_lower(const SlaWalk *w, int jd)
{
	int			lo = 0,
				hi = w->nspec;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (w->spec[mid] < jd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Whose windows local date jd has: -1 when it is closed, the weekday of its
 * works_as when it is an open (make-up) day, else its own weekday.
 */
static int
day_dow(const SlaWalk *w, int jd)
{
	if (w->nspec > 0)
	{
		int			i = spec_lower(w, jd);

		if (i < w->nspec && w->spec[i] == jd)
			return w->spec_dow[i];
	}
	return jd_dow(jd);
}

/*
 * Business minutes of a day with the windows of weekday b after a day with the
 * windows of weekday a (-1: none), nominally (constant UTC offset): b's own
 * minutes less what a's overnight window already covers after midnight.  On
 * the weekly calendar consecutive weekdays never overlap (the input refuses
 * it); a make-up day can bring windows next to a day they never follow.
 */
static int64
pair_minutes(const SlaWalk *w, int a, int b)
{
	int64		m;
	int64		spill;

	if (b < 0)
		return 0;
	m = w->day_minutes[b];
	spill = a < 0 ? 0 : w->spill_end[a];
	if (spill > 0)
	{
		const SlaInterval *s = w->s;

		for (int i = w->first[b]; i < w->first[b + 1] && s->windows[i].open < spill; i++)
			m -= Min((int64) s->windows[i].close, spill) - s->windows[i].open;
	}
	return m;
}

/* Nominal business microseconds of local day jd (0 when closed). */
static int64
day_usecs(const SlaWalk *w, int jd)
{
	int			i,
				a,
				b;
	bool		special = false;

	if (w->nspec == 0)
		return w->day_minutes[jd_dow(jd)] * USECS_PER_MINUTE;
	/* one search finds both jd - 1 and jd */
	a = jd_dow(jd - 1);
	b = jd_dow(jd);
	i = spec_lower(w, jd - 1);
	if (i < w->nspec && w->spec[i] == jd - 1)
	{
		a = w->spec_dow[i++];
		special = true;
	}
	if (i < w->nspec && w->spec[i] == jd)
	{
		b = w->spec_dow[i];
		special = true;
	}
	if (!special)
		return w->day_minutes[b] * USECS_PER_MINUTE;
	return pair_minutes(w, a, b) * USECS_PER_MINUTE;
}

/*
 * Nominal business microseconds of the local days [jd1, jd2) less those of the
 * same days on the plain weekly calendar (negative when closed days outweigh
 * open ones).  Only a special date and the day after it can differ, so the cost
 * is in the number of special dates in the stretch, not in its length.
 */
static int64
special_usecs(const SlaWalk *w, int jd1, int jd2)
{
	int64		sum = 0;
	int			last = jd1 - 1;	/* days up to here are done */

	/*
	 * The special dates are sorted and distinct, so the windows of the days
	 * next to spec[i] come from its neighbours in the list (or the weekday).
	 */
	for (int i = spec_lower(w, jd1 - 1); i < w->nspec && w->spec[i] < jd2; i++)
	{
		int			d = w->spec[i];
		int			before = i > 0 && w->spec[i - 1] == d - 1 ? w->spec_dow[i - 1] : jd_dow(d - 1);
		int			self = w->spec_dow[i];
		int			after = i + 1 < w->nspec && w->spec[i + 1] == d + 1 ? w->spec_dow[i + 1] : jd_dow(d + 1);

		if (d > last && d >= jd1)
		{
			sum += (pair_minutes(w, before, self) - w->day_minutes[jd_dow(d)]) * USECS_PER_MINUTE;
			last = d;
		}
		if (d + 1 > last && d + 1 >= jd1 && d + 1 < jd2)
		{
			sum += (pair_minutes(w, self, after) - w->day_minutes[jd_dow(d + 1)]) * USECS_PER_MINUTE;
			last = d + 1;
		}
	}
	return sum;
}

/*
 * The instant up to which the windows of local day jd - 1 run into day jd
 * (their overnight part), or jd's midnight when they do not: the clock of
 * day jd starts there after whole days were skipped.
 */
static TimestampTz
day_start(SlaWalk *w, int jd)
{
	TimestampTz mid = local_to_utc(w, jd, 0);
	int			a = w->nspec == 0 ? jd_dow(jd - 1) : day_dow(w, jd - 1);

	if (a >= 0 && w->spill_end[a] > 0)
	{
		TimestampTz e = local_to_utc(w, jd, (int) w->spill_end[a]);

		return Max(mid, e);
	}
	return mid;
}

/* The last zone a function call looked up, kept in fn_extra. */
typedef struct SlaZoneCache
{
	char		name[SLA_MAX_ZONE + 1];
	pg_tz	   *tz;
} SlaZoneCache;

/*
 * pg_tzset(name), remembering the answer for the next call of the same SQL
 * function (zones are loaded once per backend and never freed).
 */
static pg_tz *
lookup_zone(FmgrInfo *flinfo, const char *name)
{
	SlaZoneCache *zc = flinfo ? (SlaZoneCache *) flinfo->fn_extra : NULL;
	pg_tz	   *tz;

	if (zc != NULL && zc->tz != NULL && strcmp(zc->name, name) == 0)
		return zc->tz;
	if (strlen(name) > SLA_MAX_ZONE)
		return NULL;
	tz = pg_tzset(name);
	if (tz != NULL && flinfo != NULL)
	{
		if (zc == NULL)
		{
			zc = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(SlaZoneCache));
			flinfo->fn_extra = zc;
		}
		strlcpy(zc->name, name, sizeof(zc->name));
		zc->tz = tz;
	}
	return tz;
}

/* A special date while the list is built: julian day and its windows. */
typedef struct SlaSpecial
{
	int			jd;
	int			dow;			/* -1 closed, else a weekday 0..6 */
} SlaSpecial;

/* qsort order of special dates: by day, a closed day first. */
static int
special_order(const void *a, const void *b)
{
	const SlaSpecial *x = (const SlaSpecial *) a;
	const SlaSpecial *y = (const SlaSpecial *) b;

	if (x->jd != y->jd)
		return x->jd < y->jd ? -1 : 1;
	return x->dow < y->dow ? -1 : x->dow > y->dow ? 1 : 0;
}

/*
 * The elements of a one-dimensional date[] or integer[] (both 4-byte values;
 * "what" names the argument in the message).  Without NULLs the values are
 * read in place; *nulls is then NULL.
 */
static void
int4_elems(ArrayType *a, Oid elemtype, const char *what, const int32 **vals, bool **nulls, int *n)
{
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", what)));
	if (!ARR_HASNULL(a))
	{
		*n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
		*vals = (const int32 *) ARR_DATA_PTR(a);
		*nulls = NULL;
	}
	else
	{
		Datum	   *elems;
		int32	   *v;

		deconstruct_array(a, elemtype, sizeof(int32), true, TYPALIGN_INT, &elems, nulls, n);
		v = palloc(Max(*n, 1) * sizeof(int32));
		for (int i = 0; i < *n; i++)
			v[i] = (*nulls)[i] ? 0 : DatumGetInt32(elems[i]);
		*vals = v;
	}
}

/* True when the n special dates are in special_order. */
static bool
specials_sorted(const SlaSpecial *sp, int n)
{
	for (int i = 1; i < n; i++)
		if (special_order(&sp[i - 1], &sp[i]) > 0)
			return false;
	return true;
}

/*
 * Sorts n special dates of which the first nc (the closed ones) and the rest
 * (the open ones) came from two lists: the lists a ticket passes
 * (closed_dates, open_dates) are sorted already, and two sorted runs are
 * merged in one pass; anything else is sorted.  Returns the sorted array
 * (sp itself, or a new one when sp was freed).
 */
static SlaSpecial *
specials_sort(SlaSpecial *sp, int nc, int n)
{
	SlaSpecial *out;
	int			a = 0,
				b = nc,
				k = 0;

	if (!specials_sorted(sp, nc) || !specials_sorted(sp + nc, n - nc))
	{
		qsort(sp, n, sizeof(SlaSpecial), special_order);
		return sp;
	}
	if (nc == 0 || nc == n || special_order(&sp[nc - 1], &sp[nc]) <= 0)
		return sp;
	out = palloc(n * sizeof(SlaSpecial));
	while (a < nc && b < n)
		out[k++] = special_order(&sp[a], &sp[b]) <= 0 ? sp[a++] : sp[b++];
	while (a < nc)
		out[k++] = sp[a++];
	while (b < n)
		out[k++] = sp[b++];
	pfree(sp);
	return out;
}

/*
 * Sets up a walk: the zone (value's, else default_zone, else the session's),
 * closed dates from a date[] (NULLs and infinities ignored, duplicates
 * removed; may be NULL), open (make-up) dates from a date[] with the
 * weekdays whose windows they use from an integer[] of ISO weekdays 1..7
 * (open_as NULL: Monday for every date).  open has no NULL or infinite
 * element and open_as, when given, is as long as open and has no NULL and no
 * value outside 1..7 (22023 otherwise).  A date both closed and open is
 * closed; a date given open twice with two different weekdays is refused.
 */
static void
walk_init(SlaWalk *w, const SlaInterval *s, ArrayType *closed, text *default_zone,
		  ArrayType *open, ArrayType *open_as, FmgrInfo *flinfo)
{
	int			i;
	SlaSpecial *sp = NULL;
	int			nsp = 0;

	memset(w, 0, sizeof(SlaWalk));
	w->s = s;
	if (SLA_ZONE(s)[0] != '\0')
		w->tz = lookup_zone(flinfo, SLA_ZONE(s));
	else if (default_zone != NULL)
	{
		char	   *name = text_to_cstring(default_zone);

		w->tz = lookup_zone(flinfo, name);
		if (w->tz == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time zone \"%s\" not recognized", name)));
	}
	else
		w->tz = session_timezone;
	if (w->tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" not recognized", SLA_ZONE(s))));

	for (i = 0; i < s->nwindows; i++)
	{
		const SlaWindow *win = &s->windows[i];

		w->day_minutes[win->dow] += win->close - win->open;
		if (win->close > MIN_PER_DAY)
			w->spill_end[win->dow] = win->close - MIN_PER_DAY;
	}
	for (i = 0; i < 7; i++)
		w->week_usecs += w->day_minutes[i] * USECS_PER_MINUTE;
	{
		int			d = 0;

		for (i = 0; i < s->nwindows; i++)
			while (d <= s->windows[i].dow)
				w->first[d++] = i;
		while (d <= 7)
			w->first[d++] = s->nwindows;
	}

	if (closed != NULL || open != NULL || open_as != NULL)
	{
		const int32 *celems = NULL,
				   *oelems = NULL,
				   *aelems = NULL;
		bool	   *cnulls = NULL,
				   *onulls = NULL,
				   *anulls = NULL;
		int			nc = 0,
					no = 0,
					na = 0,
					nclosed,
					k;

		if (closed != NULL)
			int4_elems(closed, DATEOID, "closed dates", &celems, &cnulls, &nc);
		if (open != NULL)
			int4_elems(open, DATEOID, "open dates", &oelems, &onulls, &no);
		if (open_as != NULL)
		{
			int4_elems(open_as, INT4OID, "open_as", &aelems, &anulls, &na);
			if (na != no)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("open_as must have one weekday per open date"),
						 errdetail("Open dates: %d; weekdays: %d.", no, na)));
		}
		sp = palloc(Max(nc + no, 1) * sizeof(SlaSpecial));
		for (i = 0; i < nc; i++)
		{
			DateADT		d;

			if (cnulls != NULL && cnulls[i])
				continue;
			d = celems[i];
			if (DATE_NOT_FINITE(d))
				continue;
			sp[nsp].jd = d + POSTGRES_EPOCH_JDATE;
			sp[nsp++].dow = -1;
		}
		nclosed = nsp;
		for (i = 0; i < no; i++)
		{
			DateADT		d;
			int32		as = 1;

			if (onulls != NULL && onulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("open dates must not contain NULL")));
			d = oelems[i];
			if (DATE_NOT_FINITE(d))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("open dates must be finite")));
			if (aelems != NULL)
			{
				if (anulls != NULL && anulls[i])
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("open_as must not contain NULL")));
				as = aelems[i];
				if (as < 1 || as > 7)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("open_as weekday %d is out of range", as),
							 errdetail("Weekdays are 1 (Monday) to 7 (Sunday).")));
			}
			sp[nsp].jd = d + POSTGRES_EPOCH_JDATE;
			sp[nsp++].dow = as - 1;
		}
		/* sorted by day, closed (-1) first: the first entry of a day wins */
		sp = specials_sort(sp, nclosed, nsp);
		w->spec = palloc(Max(nsp, 1) * sizeof(int));
		w->spec_dow = palloc(Max(nsp, 1) * sizeof(int8));
		k = 0;
		for (i = 0; i < nsp; i++)
		{
			if (k > 0 && w->spec[k - 1] == sp[i].jd)
			{
				if (w->spec_dow[k - 1] >= 0 && w->spec_dow[k - 1] != sp[i].dow)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("open date \"%s\" is given with two weekdays",
									DatumGetCString(DirectFunctionCall1(date_out,
																		DateADTGetDatum(sp[i].jd - POSTGRES_EPOCH_JDATE)))),
							 errdetail("Weekdays %d and %d.", w->spec_dow[k - 1] + 1, sp[i].dow + 1)));
				continue;
			}
			w->spec[k] = sp[i].jd;
			w->spec_dow[k++] = (int8) sp[i].dow;
		}
		w->nspec = k;
		pfree(sp);
	}
}

/*
 * How many whole local days starting at local midnight jd (instant mid) have
 * all their windows, overnight parts included, in one span of constant UTC
 * offset: their business time is then the nominal one.
 */
static int64
days_constant(SlaWalk *w, int jd, TimestampTz mid)
{
	int64		days;
	TimestampTz u;

	if (!w->cache_valid || mid < w->cache_from || (w->cache_until != DT_NOEND && mid >= w->cache_until))
		cache_refresh(w, mid);
	if (!w->cache_valid)
		return 0;

	/*
	 * The day's local midnight must map regularly into the span: a midnight
	 * in the gap of a forward jump at the span's start resolves before it.
	 */
	u = (int64) (jd - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY - w->cache_gmtoff * USECS_PER_SEC;
	if (u < w->cache_regular)
		return 0;
	if (w->cache_until == DT_NOEND)
		return Max(MAX_WALK_JD + 8 - jd, 0);	/* the walk ends there anyway */
	/* near the span's end, learn how close to it local times stay regular */
	if (!w->cache_hi_known && w->cache_until - u < 10 * USECS_PER_DAY)
		cache_hi_compute(w);
	days = (w->cache_until - u - (w->cache_hi_known ? w->cache_hi_guard : CACHE_MARGIN)) / USECS_PER_DAY - 2;
	return days < 0 ? 0 : days;
}


/*
 * The earliest instant at which `amount` microseconds of business time have
 * elapsed since start (amount >= 0).
 */
static TimestampTz
walk_advance(SlaWalk *w, TimestampTz start, int64 amount)
{
	const SlaInterval *s = w->s;
	TimestampTz lo = start;
	int64		remaining = amount;
	int			jd;

	if (remaining == 0)
		return start;
	jd = utc_to_local_jd(w, start) - 1;
	cache_refresh(w, start - 4 * USECS_PER_DAY);	/* covers jd's midnight on */
	for (;;)
	{
		int			dow,
					i;

		CHECK_FOR_INTERRUPTS();
		if (jd > MAX_WALK_JD)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		/*
		 * Skip whole weeks, then whole days, arithmetically while nothing of
		 * them is before start, their UTC offset is constant and the target is
		 * not reached in them.
		 */
		{
			TimestampTz mid = local_to_utc(w, jd, 0);

			if (mid >= start)
			{
				int64		avail = days_constant(w, jd, mid);
				int64		k = Min(avail / 7, (remaining - 1) / w->week_usecs);
				bool		skipped = false;

				if (k > 0)
				{
					int64		got = k * w->week_usecs + special_usecs(w, jd, jd + 7 * (int) k);

					/*
					 * Open days can make the weeks hold more than remains:
					 * then take fewer (the largest number that holds less).
					 */
					if (got >= remaining)
					{
						/* first one step back by the excess, then halve */
						int64		back = (got - remaining) / w->week_usecs + 1;
						int64		lo_k = 0,
									hi_k = k;

						if (back < k)
						{
							int64		g2 = (k - back) * w->week_usecs +
								special_usecs(w, jd, jd + 7 * (int) (k - back));

							if (g2 < remaining)
								lo_k = k - back;
							else
								hi_k = k - back;
						}

						while (hi_k - lo_k > 1)
						{
							int64		m = lo_k + (hi_k - lo_k) / 2;

							if (m * w->week_usecs + special_usecs(w, jd, jd + 7 * (int) m) < remaining)
								lo_k = m;
							else
								hi_k = m;
						}
						k = lo_k;
						got = k * w->week_usecs + special_usecs(w, jd, jd + 7 * (int) k);
					}
					if (k > 0)
					{
						remaining -= got;
						jd += 7 * (int) k;
						avail -= 7 * k;
						skipped = true;
					}
				}
				while (avail > 0)
				{
					int64		b = day_usecs(w, jd);

					if (b >= remaining)
						break;
					remaining -= b;
					jd++;
					avail--;
					skipped = true;
				}
				if (skipped)
					lo = Max(lo, day_start(w, jd));
			}
		}
		dow = day_dow(w, jd);
		if (dow >= 0)
		{
			for (i = w->first[dow]; i < w->first[dow + 1]; i++)
			{
				TimestampTz o = local_to_utc(w, jd, s->windows[i].open);
				TimestampTz c = local_to_utc(w, jd, s->windows[i].close);

				if (o < lo)
					o = lo;
				if (c <= o)
					continue;
				if (remaining <= c - o)
					return o + remaining;
				remaining -= c - o;
				lo = c;
			}
		}
		jd++;
	}
}

/* Business microseconds in [from, to] (from <= to). */
static int64
walk_elapsed(SlaWalk *w, TimestampTz from, TimestampTz to)
{
	const SlaInterval *s = w->s;
	TimestampTz lo = from;
	int64		total = 0;
	int			jd;

	jd = utc_to_local_jd(w, from) - 1;
	cache_refresh(w, from - 4 * USECS_PER_DAY);	/* covers jd's midnight on */
	for (;;)
	{
		TimestampTz mid = local_to_utc(w, jd, 0);
		int			dow,
					i;

		CHECK_FOR_INTERRUPTS();
		if (jd > MAX_WALK_JD)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		if (mid >= to)
			break;
		/* whole weeks, then whole days, that end before `to` */
		if (mid >= from && to - mid > 3 * USECS_PER_DAY)
		{
			int64		avail = Min(days_constant(w, jd, mid), (to - mid) / USECS_PER_DAY - 2);
			int64		k = avail / 7;

			if (avail > 0)
			{
				if (k > 0)
				{
					total += k * w->week_usecs + special_usecs(w, jd, jd + 7 * (int) k);
					jd += 7 * (int) k;
					avail -= 7 * k;
				}
				while (avail > 0)
				{
					total += day_usecs(w, jd);
					jd++;
					avail--;
				}
				lo = Max(lo, day_start(w, jd));
				continue;
			}
		}
		dow = day_dow(w, jd);
		if (dow >= 0)
		{
			for (i = w->first[dow]; i < w->first[dow + 1]; i++)
			{
				TimestampTz o = local_to_utc(w, jd, s->windows[i].open);
				TimestampTz c = local_to_utc(w, jd, s->windows[i].close);

				if (o < lo)
					o = lo;
				if (c > to)
					c = to;
				if (c <= o)
					continue;
				total += c - o;
				lo = c;
			}
		}
		jd++;
	}
	return total;
}

/* Refuses an infinite instant where a finite one is needed. */
static void
check_finite(TimestampTz t)
{
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range"),
				 errdetail("SLA computations need finite instants.")));
}

/* start plus amount microseconds of the value's clock (wall or business). */
static TimestampTz
sla_advance_internal(const SlaInterval *s, TimestampTz start, int64 amount,
					 ArrayType *closed, text *default_zone, ArrayType *open,
					 ArrayType *open_as, FmgrInfo *flinfo)
{
	TimestampTz result;

	check_finite(start);
	if (!SLA_IS_BUSINESS(s))
	{
		if (pg_add_s64_overflow(start, amount, &result) || !IS_VALID_TIMESTAMP(result))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		return result;
	}
	else
	{
		SlaWalk		w;

		walk_init(&w, s, closed, default_zone, open, open_as, flinfo);
		result = walk_advance(&w, start, amount);
		if (!IS_VALID_TIMESTAMP(result))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		return result;
	}
}

/* timestamptz + sla_interval: the deadline, no closed dates. */
Datum
sla_interval_add(PG_FUNCTION_ARGS)
{
	TimestampTz start = PG_GETARG_TIMESTAMPTZ(0);
	SlaInterval *s = PG_GETARG_SLA(1);

	PG_RETURN_TIMESTAMPTZ(sla_advance_internal(s, start, (int64) s->target * USECS_PER_MINUTE, NULL, NULL,
												NULL, NULL, fcinfo->flinfo));
}

/*
 * Argument n of the call as an array, NULL when it is SQL NULL or absent (a
 * declaration from before the argument existed calls with fewer).
 */
#define OPT_ARRAY(n) \
	(PG_NARGS() > (n) && !PG_ARGISNULL(n) ? PG_GETARG_ARRAYTYPE_P(n) : NULL)

/*
 * sla_deadline(sla_interval, start, closed date[], default_zone text,
 * open date[], open_as integer[]).
 */
Datum
sla_interval_deadline(PG_FUNCTION_ARGS)
{
	SlaInterval *s;
	ArrayType  *closed = PG_ARGISNULL(2) ? NULL : PG_GETARG_ARRAYTYPE_P(2);
	text	   *zone = PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3);
	ArrayType  *open = OPT_ARRAY(4);
	ArrayType  *open_as = OPT_ARRAY(5);

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	s = PG_GETARG_SLA(0);
	PG_RETURN_TIMESTAMPTZ(sla_advance_internal(s, PG_GETARG_TIMESTAMPTZ(1),
											   (int64) s->target * USECS_PER_MINUTE, closed, zone,
											   open, open_as, fcinfo->flinfo));
}

/*
 * sla_advance(sla_interval, start, amount interval, closed date[],
 * default_zone text, open date[], open_as integer[]).
 */
Datum
sla_interval_advance(PG_FUNCTION_ARGS)
{
	SlaInterval *s;
	Interval   *amount;
	ArrayType  *closed = PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3);
	text	   *zone = PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4);
	ArrayType  *open = OPT_ARRAY(5);
	ArrayType  *open_as = OPT_ARRAY(6);

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	s = PG_GETARG_SLA(0);
	amount = PG_GETARG_INTERVAL_P(2);
	if (amount->month != 0 || amount->day != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("business time must be given in hours, minutes and seconds"),
				 errhint("Use justify_hours() in reverse, e.g. interval '48 hours' rather than '2 days'.")));
	if (amount->time < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("business time to add must not be negative")));
	if (amount->time > (int64) SLA_MAX_MINUTES * 10 * USECS_PER_MINUTE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("business time to add must be at most 1000000 hours")));
	PG_RETURN_TIMESTAMPTZ(sla_advance_internal(s, PG_GETARG_TIMESTAMPTZ(1), amount->time, closed, zone,
											   open, open_as, fcinfo->flinfo));
}

/*
 * sla_elapsed(sla_interval, from, to, closed date[], default_zone text,
 * open date[], open_as integer[]): negative when to < from.
 */
Datum
sla_interval_elapsed(PG_FUNCTION_ARGS)
{
	SlaInterval *s;
	TimestampTz from,
				to;
	ArrayType  *closed = PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3);
	text	   *zone = PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4);
	ArrayType  *open = OPT_ARRAY(5);
	ArrayType  *open_as = OPT_ARRAY(6);
	Interval   *r;
	bool		negate = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	s = PG_GETARG_SLA(0);
	from = PG_GETARG_TIMESTAMPTZ(1);
	to = PG_GETARG_TIMESTAMPTZ(2);
	check_finite(from);
	check_finite(to);
	if (to < from)
	{
		TimestampTz t = from;

		from = to;
		to = t;
		negate = true;
	}
	r = palloc0(sizeof(Interval));
	if (!SLA_IS_BUSINESS(s))
		r->time = to - from;
	else
	{
		SlaWalk		w;

		walk_init(&w, s, closed, zone, open, open_as, fcinfo->flinfo);
		r->time = walk_elapsed(&w, from, to);
	}
	if (negate)
		r->time = -r->time;
	PG_RETURN_INTERVAL_P(r);
}

/* Longest stretch sla_windows() walks: ten years of local days. */
#define SLA_MAX_WINDOW_DAYS	3660

/* Puts the business window [s, e) clipped to [from, to) into the result,
 * merged with the window before it when they meet or overlap (*have: a window
 * is pending in *cur_s, *cur_e). */
static void
windows_add(Tuplestorestate *store, TupleDesc tupdesc, TimestampTz from, TimestampTz to,
			TimestampTz s, TimestampTz e, bool *have, TimestampTz *cur_s, TimestampTz *cur_e)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};

	s = Max(s, from);
	e = Min(e, to);
	if (s >= e)
		return;
	if (*have && s <= *cur_e)
	{
		*cur_e = Max(*cur_e, e);
		return;
	}
	if (*have)
	{
		values[0] = TimestampTzGetDatum(*cur_s);
		values[1] = TimestampTzGetDatum(*cur_e);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	*have = true;
	*cur_s = s;
	*cur_e = e;
}

/*
 * sla_windows(sla_interval, from_ts, to_ts, closed date[], default_zone text,
 * open date[], open_as integer[]) RETURNS TABLE (starts, ends): the business
 * windows of the value's calendar (with the closed and open dates) that meet
 * [from_ts, to_ts), clipped to it, in time order, windows that touch merged.
 * A wall-clock value gives the whole stretch.  Their lengths add up to
 * sla_elapsed over the same stretch.  The stretch is at most 3660 days
 * (54000).
 */
Datum
sla_interval_windows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext oldcxt;
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	SlaInterval *s;
	TimestampTz from,
				to;
	ArrayType  *closed;
	text	   *zone;
	ArrayType  *open;
	ArrayType  *open_as;
	bool		have = false;
	TimestampTz cur_s = 0,
				cur_e = 0;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	tupdesc = CreateTupleDescCopy(tupdesc);
	store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(oldcxt);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = tupdesc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return (Datum) 0;
	s = PG_GETARG_SLA(0);
	from = PG_GETARG_TIMESTAMPTZ(1);
	to = PG_GETARG_TIMESTAMPTZ(2);
	check_finite(from);
	check_finite(to);
	closed = PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3);
	zone = PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4);
	open = OPT_ARRAY(5);
	open_as = OPT_ARRAY(6);
	if (to <= from)
		return (Datum) 0;
	if (to - from > (int64) SLA_MAX_WINDOW_DAYS * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a stretch of windows must be at most %d days", SLA_MAX_WINDOW_DAYS)));
	if (!SLA_IS_BUSINESS(s))
		windows_add(store, tupdesc, from, to, from, to, &have, &cur_s, &cur_e);
	else
	{
		SlaWalk		w;
		int			jd1,
					jd2;

		walk_init(&w, s, closed, zone, open, open_as, fcinfo->flinfo);
		/* the day before: its overnight windows may run into the stretch */
		jd1 = utc_to_local_jd(&w, from) - 1;
		jd2 = utc_to_local_jd(&w, to);
		for (int jd = jd1; jd <= jd2; jd++)
		{
			int			d = day_dow(&w, jd);

			CHECK_FOR_INTERRUPTS();
			if (d < 0)
				continue;
			for (int i = w.first[d]; i < w.first[d + 1]; i++)
			{
				TimestampTz ws = local_to_utc(&w, jd, s->windows[i].open);
				TimestampTz we = local_to_utc(&w, jd, s->windows[i].close);

				windows_add(store, tupdesc, from, to, ws, we, &have, &cur_s, &cur_e);
			}
		}
	}
	if (have)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = TimestampTzGetDatum(cur_s);
		values[1] = TimestampTzGetDatum(cur_e);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}
