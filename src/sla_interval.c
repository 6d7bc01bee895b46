/*
 * sla_interval.c
 *		The sla_interval type: an SLA target counted on the wall clock or in
 *		the business hours of a weekly calendar.  Text and binary I/O,
 *		comparison, hashing and the accessors; the deadline / elapsed / advance
 *		computations over the calendar are in sla_calendar.c.
 *
 * Text form (see docs/sla.md):
 *
 *		4h    1h30min    2d                    wall clock (d = 24 hours)
 *		8h in mon-fri 09:00-18:00 Asia/Shanghai
 *		6h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Europe/Berlin
 *		3h in mon-sun 22:00-06:00              overnight window
 *
 * A window belongs to the local day it opens on; it may close on the next
 * day (overnight) and 24:00 is a valid close.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "repairsys.h"
#include "sla_interval.h"

#define MIN_PER_WEEK		(7 * MIN_PER_DAY)
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
PG_FUNCTION_INFO_V1(sla_interval_hash);
PG_FUNCTION_INFO_V1(sla_interval_hash_extended);
PG_FUNCTION_INFO_V1(sla_interval_target);
PG_FUNCTION_INFO_V1(sla_interval_calendar);

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

/* sla_interval_cmp (btree support) and the six operators' functions */
REPAIRSYS_COMPARISON_FUNCS(sla_interval, SlaInterval, PG_GETARG_SLA, sla_compare)

/* Hash of the bytes: equal values are equal bytes (canonical, zero-padded). */
Datum
sla_interval_hash(PG_FUNCTION_ARGS)
{
	SlaInterval *s = PG_GETARG_SLA(0);
	Datum		h = hash_any((unsigned char *) VARDATA(s), VARSIZE(s) - VARHDRSZ);

	PG_FREE_IF_COPY(s, 0);
	PG_RETURN_DATUM(h);
}

/*
 * Seeded 64-bit hash of the same bytes (hash support function 2); with seed
 * 0 its low 32 bits are sla_interval_hash's.
 */
Datum
sla_interval_hash_extended(PG_FUNCTION_ARGS)
{
	SlaInterval *s = PG_GETARG_SLA(0);
	Datum		h = hash_any_extended((unsigned char *) VARDATA(s), VARSIZE(s) - VARHDRSZ,
									  PG_GETARG_INT64(1));

	PG_FREE_IF_COPY(s, 0);
	PG_RETURN_DATUM(h);
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
