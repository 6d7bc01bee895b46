/*
 * diagnosis.c
 *		Diagnosis suggestions (辅助诊断, DESIGN.md section 18): the character
 *		n-grams of a description, and a multinomial naive Bayes classifier
 *		with Laplace smoothing over the counts that the learning trigger keeps
 *		in tables (src/sql/27_tables_models.sql, src/sql/73_models.sql).
 *
 * Character n-grams need no word segmentation, so Chinese text is taken as
 * it is.  docs/reports.md has the normalization and the formulas.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(rs_diagnosis_grams);
PG_FUNCTION_INFO_V1(rs_diagnosis_scores);

/* grams of 1 to DIAG_MAX_N characters; only the first DIAG_MAX_CHARS count */
#define DIAG_MAX_N		3
#define DIAG_MAX_CHARS	2000
/* the bytes that can hold DIAG_MAX_CHARS characters: what is read of a text */
#define DIAG_MAX_BYTES	(DIAG_MAX_CHARS * MAX_MULTIBYTE_CHAR_LEN)
/* most suggestions one call returns */
#define DIAG_MAX_K		100

typedef struct Gram
{
	const char *p;				/* bytes of the gram (not terminated) */
	int			len;			/* length in bytes */
	int			n;				/* occurrences in the text */
} Gram;

/*
 * True for a character that separates runs: white space, control characters,
 * ASCII punctuation, general punctuation (U+2000..U+206F), CJK symbols and
 * punctuation (U+3000..U+303F), full-width punctuation.
 */
static bool
is_separator(pg_wchar c)
{
	if (c <= 0x20 || c == 0x7f || (c >= 0x80 && c <= 0xa0))
		return true;
	if (c < 0x80)
		return !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
	if ((c >= 0x2000 && c <= 0x206f) || (c >= 0x3000 && c <= 0x303f))
		return true;
	if ((c >= 0xff01 && c <= 0xff0f) || (c >= 0xff1a && c <= 0xff20) ||
		(c >= 0xff3b && c <= 0xff40) || (c >= 0xff5b && c <= 0xff65))
		return true;
	if (c == 0xfeff)			/* byte order mark */
		return true;
	return false;
}

/*
 * Case and width folding that depends on no locale: ASCII and Latin-1
 * capitals to small letters, full-width digits and Latin letters to ASCII.
 */
static pg_wchar
fold_char(pg_wchar c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 32;
	if (c >= 0xff10 && c <= 0xff19)
		return c - 0xff10 + '0';
	if (c >= 0xff21 && c <= 0xff3a)
		return c - 0xff21 + 'a';
	if (c >= 0xff41 && c <= 0xff5a)
		return c - 0xff41 + 'a';
	return c;
}

static int
gram_cmp(const void *a, const void *b)
{
	const Gram *x = (const Gram *) a;
	const Gram *y = (const Gram *) b;
	int			c = memcmp(x->p, y->p, Min(x->len, y->len));

	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/*
 * The distinct grams of text (len bytes in the database encoding), sorted by
 * their bytes, each with its count; *ngrams receives their number.  The text
 * is normalized (fold_char), cut into runs at separators, and every run of
 * at least n characters gives its grams of n = 1 .. DIAG_MAX_N characters; a
 * gram never spans a separator.  Allocates in the current memory context.
 */
static Gram *
text_grams(const char *text, int len, int *ngrams)
{
	bool		utf8 = (GetDatabaseEncoding() == PG_UTF8);
	char	   *norm;
	int		   *off;			/* byte offset of each character in norm */
	int		   *run;			/* run number of each character */
	int			nchars = 0,
				nrun = 0,
				pos = 0,
				outlen = 0;
	bool		in_run = false;
	Gram	   *all;
	int			nall = 0,
				i,
				n,
				d;

	/* each character comes out no longer than it went in */
	norm = palloc(Min(len, DIAG_MAX_BYTES) + 8);
	off = palloc(sizeof(int) * (DIAG_MAX_CHARS + 1));
	run = palloc(sizeof(int) * (DIAG_MAX_CHARS + 1));
	while (pos < len && nchars < DIAG_MAX_CHARS)
	{
		int			l = pg_mblen(text + pos);
		pg_wchar	c;

		if (l < 1 || pos + l > len)
			break;				/* (the server validated the encoding) */
		if (utf8)
			c = utf8_to_unicode((const unsigned char *) text + pos);
		else if (l == 1)
			c = (unsigned char) text[pos];
		else
			c = 0x4e00;			/* another multibyte letter: kept as it is */

		if (is_separator(c))
		{
			in_run = false;
			pos += l;
			continue;
		}
		if (!in_run)
		{
			nrun++;
			in_run = true;
		}
		off[nchars] = outlen;
		run[nchars] = nrun;
		if (utf8)
		{
			unsigned char buf[8];
			pg_wchar	f = fold_char(c);

			unicode_to_utf8(f, buf);
			memcpy(norm + outlen, buf, pg_utf_mblen(buf));
			outlen += pg_utf_mblen(buf);
		}
		else
		{
			memcpy(norm + outlen, text + pos, l);
			if (l == 1 && c >= 'A' && c <= 'Z')
				norm[outlen] = (char) (c + 32);
			outlen += l;
		}
		nchars++;
		pos += l;
	}
	off[nchars] = outlen;

	all = palloc(sizeof(Gram) * (Max(nchars, 1) * DIAG_MAX_N));
	for (n = 1; n <= DIAG_MAX_N; n++)
		for (i = 0; i + n <= nchars; i++)
		{
			if (run[i] != run[i + n - 1])
				continue;
			all[nall].p = norm + off[i];
			all[nall].len = off[i + n] - off[i];
			all[nall].n = 1;
			nall++;
		}
	if (nall > 1)
		qsort(all, nall, sizeof(Gram), gram_cmp);
	/* fold equal grams into one with their count */
	d = 0;
	for (i = 0; i < nall; i++)
	{
		if (d > 0 && gram_cmp(&all[d - 1], &all[i]) == 0)
			all[d - 1].n++;
		else
			all[d++] = all[i];
	}
	pfree(off);
	pfree(run);
	*ngrams = d;
	return all;
}

/* Starts a materialized set-returning call (a small copy of funcapi's helper). */
static Tuplestorestate *
begin_srf(FunctionCallInfo fcinfo, TupleDesc *tupdesc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext oldcontext;
	Tuplestorestate *store;
	TupleDesc	td;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	td = CreateTupleDescCopy(td);
	store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(oldcontext);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = td;
	*tupdesc = td;
	return store;
}

/*
 * repairsys.diagnosis_grams(description text) RETURNS TABLE (gram text, n integer):
 * the grams the classifier reads in a description, sorted by their bytes.
 */
Datum
rs_diagnosis_grams(PG_FUNCTION_ARGS)
{
	/* only the first DIAG_MAX_CHARS characters count: no more is detoasted */
	text	   *t = DatumGetTextPSlice(PG_GETARG_DATUM(0), 0, DIAG_MAX_BYTES);
	TupleDesc	tupdesc;
	Tuplestorestate *store = begin_srf(fcinfo, &tupdesc);
	Gram	   *g;
	int			ng,
				i;

	g = text_grams(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &ng);
	for (i = 0; i < ng; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = PointerGetDatum(cstring_to_text_with_len(g[i].p, g[i].len));
		values[1] = Int32GetDatum(g[i].n);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}

typedef struct DiagClass
{
	char	   *code;
	double		docs;
	double		grams;
	double		score;			/* log posterior, then probability */
} DiagClass;

static int
class_by_code(const void *key, const void *elem)
{
	return strcmp((const char *) key, ((const DiagClass *) elem)->code);
}

static int
class_by_score(const void *a, const void *b)
{
	const DiagClass *x = (const DiagClass *) a;
	const DiagClass *y = (const DiagClass *) b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return strcmp(x->code, y->code);
}

static int64
spi_int8(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * repairsys.diagnosis_scores(description text, service_type text, k integer)
 * RETURNS TABLE (fault_code text, probability float8): the k most probable
 * fault codes for a description, most probable first (ties by code).
 *
 * Multinomial naive Bayes over the learned classes (fault codes with at
 * least one learned ticket; with service_type, only the codes of that
 * service type or of none):
 *   log P(c | d) = log(docs_c / N) + sum over grams g of d known to the model
 *                  of n_g * log((count_gc + 1) / (grams_c + V)) - log Z
 * where N is the learned tickets of the eligible classes, V the distinct
 * grams of the model, and Z normalizes over every eligible class, so the
 * probabilities of all classes sum to 1 and those returned to at most 1.
 * Grams the model never saw are left out.  Reads the model tables through
 * SPI with the caller's rights.
 */
Datum
rs_diagnosis_scores(PG_FUNCTION_ARGS)
{
	text	   *desc;
	text	   *stype = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	int32		k;
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	MemoryContext callcxt = CurrentMemoryContext;
	Gram	   *g;
	int			ng,
				nclasses = 0,
				i,
				j;
	DiagClass  *classes = NULL;
	double		vocabulary = 0,
				total_docs = 0,
				maxs,
				z;
	double		known_grams = 0;	/* sum of n_g over the grams the model knows */
	bool	   *known;
	Oid			argtypes[1];
	Datum		args[1];
	char		argnulls[1];
	int			ret;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("description must not be null")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must not be null")));
	desc = DatumGetTextPSlice(PG_GETARG_DATUM(0), 0, DIAG_MAX_BYTES);
	k = PG_GETARG_INT32(2);
	if (k < 1 || k > DIAG_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d", DIAG_MAX_K),
				 errdetail("k is %d.", k)));
	g = text_grams(VARDATA_ANY(desc), VARSIZE_ANY_EXHDR(desc), &ng);
	if (ng == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("description has no letters or digits to read"),
				 errdetail("Suggestions are made from the letters and digits of the description; white space and punctuation do not count.")));
	store = begin_srf(fcinfo, &tupdesc);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (stype != NULL)
	{
		argtypes[0] = TEXTOID;
		args[0] = PointerGetDatum(stype);
		argnulls[0] = ' ';
		ret = SPI_execute_with_args("SELECT 1 FROM repairsys.service_type WHERE code OPERATOR(pg_catalog.=) $1",
									1, argtypes, args, argnulls, true, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_with_args failed: %d", ret);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("service type \"%s\" does not exist", text_to_cstring(stype))));
	}

	ret = SPI_execute("SELECT vocabulary FROM repairsys.diagnosis_model", true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %d", ret);
	if (SPI_processed > 0)
		vocabulary = (double) spi_int8(0, 1);

	argtypes[0] = TEXTOID;
	args[0] = stype ? PointerGetDatum(stype) : (Datum) 0;
	argnulls[0] = stype ? ' ' : 'n';
	ret = SPI_execute_with_args("SELECT c.fault_code COLLATE \"C\", c.docs, c.grams"
								"  FROM repairsys.diagnosis_class c"
								"  JOIN repairsys.fault_code f ON f.code OPERATOR(pg_catalog.=) c.fault_code"
								" WHERE c.docs OPERATOR(pg_catalog.>) 0"
								"   AND ($1 IS NULL OR f.service_type IS NULL OR f.service_type OPERATOR(pg_catalog.=) $1)"
								" ORDER BY 1",
								1, argtypes, args, argnulls, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %d", ret);
	nclasses = (int) SPI_processed;
	if (nclasses == 0 || vocabulary <= 0)
	{
		SPI_finish();
		return (Datum) 0;		/* nothing learned yet: no suggestion */
	}
	classes = MemoryContextAlloc(callcxt, sizeof(DiagClass) * nclasses);
	for (i = 0; i < nclasses; i++)
	{
		classes[i].code = MemoryContextStrdup(callcxt,
											  SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		classes[i].docs = (double) spi_int8(i, 2);
		classes[i].grams = (double) spi_int8(i, 3);
		total_docs += classes[i].docs;
	}

	/* the counts of the description's grams, one query */
	{
		Datum	   *elems = palloc(sizeof(Datum) * ng);
		ArrayType  *arr;

		for (i = 0; i < ng; i++)
			elems[i] = PointerGetDatum(cstring_to_text_with_len(g[i].p, g[i].len));
		arr = construct_array(elems, ng, TEXTOID, -1, false, TYPALIGN_INT);
		argtypes[0] = TEXTARRAYOID;
		args[0] = PointerGetDatum(arr);
		argnulls[0] = ' ';
	}
	ret = SPI_execute_with_args("SELECT g.gram, g.fault_code COLLATE \"C\", g.count"
								"  FROM repairsys.diagnosis_gram g WHERE g.gram OPERATOR(pg_catalog.=) ANY ($1)",
								1, argtypes, args, argnulls, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %d", ret);

	/*
	 * score_c collects sum n_g * log(count_gc + 1) over the rows (a gram a
	 * class never saw adds log 1 = 0), the rest is added below.
	 */
	for (j = 0; j < nclasses; j++)
		classes[j].score = 0;
	known = MemoryContextAllocZero(callcxt, sizeof(bool) * ng);
	for (j = 0; j < (int) SPI_processed; j++)
	{
		HeapTuple	tup = SPI_tuptable->vals[j];
		bool		isnull;
		text	   *gt = DatumGetTextPP(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		char	   *code = SPI_getvalue(tup, SPI_tuptable->tupdesc, 2);
		Gram		key;
		Gram	   *hit;
		DiagClass  *c;

		CHECK_FOR_INTERRUPTS();
		key.p = VARDATA_ANY(gt);
		key.len = VARSIZE_ANY_EXHDR(gt);
		hit = bsearch(&key, g, ng, sizeof(Gram), gram_cmp);
		if (hit == NULL)
			continue;
		known[hit - g] = true;	/* in the vocabulary, whichever class */
		c = bsearch(code, classes, nclasses, sizeof(DiagClass), class_by_code);
		if (c != NULL)
			c->score += hit->n * log((double) spi_int8(j, 3) + 1.0);
	}
	SPI_finish();

	for (i = 0; i < ng; i++)
		if (known[i])
			known_grams += g[i].n;
	for (j = 0; j < nclasses; j++)
		classes[j].score += log(classes[j].docs / total_docs)
			- known_grams * log(classes[j].grams + vocabulary);
	maxs = classes[0].score;
	for (j = 1; j < nclasses; j++)
		maxs = Max(maxs, classes[j].score);
	z = 0;
	for (j = 0; j < nclasses; j++)
		z += exp(classes[j].score - maxs);
	for (j = 0; j < nclasses; j++)
		classes[j].score = exp(classes[j].score - maxs) / z;
	qsort(classes, nclasses, sizeof(DiagClass), class_by_score);

	for (j = 0; j < Min(k, nclasses); j++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(classes[j].code);
		values[1] = Float8GetDatum(classes[j].score);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}
