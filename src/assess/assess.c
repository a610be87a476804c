/* cqlshift assess: see assess.h and docs/assess.md. */
#include "assess/assess.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <xxhash.h>

#include "cql/types.h"
#include "load/loader.h"
#include "model/model.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "util/check.h"

/* An invariant of this file, never bad input: stays on in every build. */
#define AS_ASSERT(c) CS_CHECK(c)

typedef enum dialect { D_SQLITE, D_PG, D_MYSQL, D_FILES } dialect;

typedef struct actx {
    source *src;
    const source_schema *schema;
    dialect d;
    int64_t sample;
    assess_error *err;
} actx;

/* A check on one column's values, counted in one aggregate query. */
typedef enum check_kind {
    CK_INFINITY,        /* PostgreSQL infinity in a timestamp/date column */
    CK_SUBMS,           /* digits below the millisecond in a timestamp */
    CK_ZERO_DATE,       /* MySQL zero dates */
    CK_BEYOND_DOUBLE,   /* SQLite integers beyond 2^53 in a double column */
    CK_STORAGE,         /* SQLite values whose storage class the CQL type does not take */
    CK_CHARSET,         /* MySQL text not representable in UTF-8 */
    CK_INVALID_UTF8,    /* SQLite text that is not UTF-8 (checked in C) */
    CK_PAD_SPACE,       /* MySQL PAD SPACE key with trailing spaces */
    CK_FLOAT_KEY,       /* a floating-point key with a fraction */
    CK_NO_VALUE,        /* values the CQL type has none for (rejected per value) */
    CK_N
} check_kind;

static const char *const check_names[CK_N] = {
    "infinity", "sub_millisecond", "zero_date", "beyond_double", "storage_class",
    "double_encoded_utf8", "invalid_utf8", "trailing_space_key", "fractional_float_key",
    "no_cql_value",
};

/* Whether a check's values are lost or rejected by the load (lossy), or
 * only notable (ambiguous: the CQL type depends on each value). */
static int check_lossy(check_kind k)
{
    return k != CK_STORAGE && k != CK_PAD_SPACE && k != CK_FLOAT_KEY;
}

static int fail(actx *a, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(actx *a, int code, const char *fmt, ...)
{
    a->err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->err->msg, sizeof a->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- JSON of source text ---------------------------------------------------- */

/* A JSON string of n bytes of source text; bytes that are not UTF-8 are
 * shown as \xNN; cut to `max` bytes with "..." (0: no cut). */
static json_t *jtext(const char *p, size_t n, size_t max)
{
    int cut = max && n > max;
    if (cut)
        n = max;
    cs_buf b;
    cs_buf_init(&b, SIZE_MAX);
    size_t i = 0;
    while (i < n) {
        size_t bad = utf8_invalid_at((const uint8_t *)p + i, n - i);
        if (bad > n - i)
            bad = n - i;
        if (bad)
            cs_buf_append(&b, p + i, bad);
        i += bad;
        if (i < n) {
            /* a sequence cut by `max` at the end is not an error of the text */
            if (cut && n - i < 4 && ((unsigned char)p[i] & 0xC0) == 0xC0)
                break;
            cs_buf_printf(&b, "\\x%02X", (unsigned char)p[i]);
            i++;
        }
    }
    if (cut)
        cs_buf_printf(&b, "...");
    json_t *j = json_stringn((const char *)(b.data ? (const char *)b.data : ""), b.len);
    cs_buf_release(&b);
    return j ? j : json_string("?");
}

/* ---- queries ---------------------------------------------------------------- */

typedef struct collect {
    json_t *rows;       /* array of arrays (strings or null) */
    int max;
} collect;

static int collect_row(void *ctx, int n, const char *const *v, const size_t *l)
{
    collect *c = ctx;
    json_t *r = json_array();
    for (int k = 0; k < n; k++)
        json_array_append_new(r, v[k] ? jtext(v[k], l[k], 300) : json_null());
    json_array_append_new(c->rows, r);
    return (int)json_array_size(c->rows) >= c->max ? 1 : 0;
}

/* The rows of sql (at most max), or NULL with the error set (code 1). */
static json_t *q_rows(actx *a, const cs_buf *sql, int max)
{
    collect c = {json_array(), max};
    source_error se = {0};
    int rc = a->src->ops->query(a->src, (const char *)sql->data, collect_row, &c, &se);
    if (rc < 0) {
        json_decref(c.rows);
        fail(a, 1, "%s", se.msg);
        return NULL;
    }
    return c.rows;
}

static const char *cell(json_t *rows, size_t r, size_t k)
{
    return json_string_value(json_array_get(json_array_get(rows, r), k));
}

static int64_t cell_i(json_t *rows, size_t r, size_t k)
{
    const char *s = cell(rows, r, k);
    return s ? strtoll(s, NULL, 10) : 0;
}

static double cell_d(json_t *rows, size_t r, size_t k)
{
    const char *s = cell(rows, r, k);
    return s ? strtod(s, NULL) : 0;
}

/* ---- SQL pieces per dialect ---------------------------------------------------- */

static void add_id(actx *a, cs_buf *b, const char *name)
{
    char q = a->d == D_MYSQL ? '`' : '"';
    cs_buf_printf(b, "%c", q);
    for (const char *p = name; *p; p++)
        cs_buf_printf(b, *p == q ? "%c%c" : "%c", *p, q);
    cs_buf_printf(b, "%c", q);
}

/* The table as a query names it: its sql_name, else quoted here. */
static void add_table(actx *a, cs_buf *b, const source_table *st)
{
    if (st->sql_name) {
        cs_buf_printf(b, "%s", st->sql_name);
        return;
    }
    const char *name = st->name;
    if (st->schema) {
        size_t n = strlen(st->schema);
        if (!strncmp(name, st->schema, n) && name[n] == '.')
            name += n + 1;
        add_id(a, b, st->schema);
        cs_buf_printf(b, ".");
    }
    add_id(a, b, name);
}

static void add_text_of(actx *a, cs_buf *b, const char *col)
{
    cs_buf_printf(b, "CAST(");
    add_id(a, b, col);
    cs_buf_printf(b, a->d == D_MYSQL ? " AS CHAR)" : a->d == D_PG ? " AS text)" : " AS TEXT)");
}

/* A column's value as text for an example: MySQL prints a FLOAT with 6
 * significant digits, so its exact value is taken as a double first. */
static void add_value_text(actx *a, cs_buf *b, const source_column *sc)
{
    if (a->d == D_MYSQL && sc->ltype == SL_FLOAT32) {
        cs_buf_printf(b, "CAST((");
        add_id(a, b, sc->name);
        cs_buf_printf(b, " + 0e0) AS CHAR)");
        return;
    }
    add_text_of(a, b, sc->name);
}

/* Is column c of st the connector's synthetic rowid (not a column of the
 * table)? */
static int synthetic(const source_table *st, int c) { return st->uses_rowid && c == 0; }

/* The estimated size of a row in the source's own terms. */
static void add_row_size(actx *a, cs_buf *b, const source_table *st)
{
    if (a->d == D_PG) {
        cs_buf_printf(b, "pg_column_size(cqlshift_t.*)");
        return;
    }
    int any = 0;
    for (int c = 0; c < st->ncols; c++) {
        if (synthetic(st, c))
            continue;
        cs_buf_printf(b, "%scoalesce(length(", any ? " + " : "");
        if (a->d == D_SQLITE)
            cs_buf_printf(b, "CAST(");
        add_id(a, b, st->cols[c].name);
        cs_buf_printf(b, a->d == D_SQLITE ? " AS BLOB)), 0)" : "), 0)");
        any = 1;
    }
    if (!any)
        cs_buf_printf(b, "0");
}

/* FROM the table as cqlshift_t, all rows or a random share f of them. */
static void add_from(actx *a, cs_buf *b, const source_table *st, int sampled, double f)
{
    cs_buf_printf(b, " FROM ");
    if (!sampled) {
        add_table(a, b, st);
        cs_buf_printf(b, " AS cqlshift_t");
    } else if (a->d == D_PG) {
        add_table(a, b, st);
        cs_buf_printf(b, " AS cqlshift_t TABLESAMPLE BERNOULLI (%.9g)", f * 100);
    } else if (a->d == D_MYSQL) {
        cs_buf_printf(b, "(SELECT * FROM ");
        add_table(a, b, st);
        cs_buf_printf(b, " WHERE RAND() < %.9g) AS cqlshift_t", f);
    } else {
        cs_buf_printf(b, "(SELECT * FROM ");
        add_table(a, b, st);
        cs_buf_printf(b, " WHERE abs(random() %% 1000000000) < %lld) AS cqlshift_t",
                      (long long)(f * 1e9));
    }
}

/* ---- model --------------------------------------------------------------------- */

/* A lower-case name of letters, digits and '_' (what the model would fold
 * to), for a table the model refuses. */
static void fold(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s && o + 1 < n && o < 48; s++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        out[o++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
    }
    out[o] = 0;
}

/* The automatic model of table t alone (a table without a key is keyed by
 * its first column here, so that the model's types can be had for files),
 * refined from the values. 0; 1 if the model refuses the table (why set:
 * the columns are then mapped one by one); -1 on a source error. */
static int table_model(actx *a, int t, model *m, char *why, size_t n, json_t *risks)
{
    const source_table *st = &a->schema->tables[t];
    source_table copy = *st;
    source_column *cols = NULL;
    if (copy.npk == 0 && copy.ncols > 0) {
        cols = malloc((size_t)copy.ncols * sizeof *cols);
        if (!cols)
            return fail(a, 1, "out of memory");
        memcpy(cols, st->cols, (size_t)copy.ncols * sizeof *cols);
        cols[0].pk_pos = 1;
        copy.cols = cols;
        copy.npk = 1;
    }
    source_schema one = {1, &copy};
    model_error me;
    int rc = model_from_source(m, &one, "assess", &me);
    free(cols);
    if (rc) {
        snprintf(why, n, "%s", me.msg);
        return 1;
    }
    m->tables[0].source_table = t;
    if (model_refine_from_values(m, a->src, a->schema, -1, &me)) {
        if (me.code == 3) {
            model_release(m);
            return fail(a, 1, "%s", me.msg);
        }
        json_array_append_new(risks, json_pack("{s:s, s:n, s:i, s:n, s:s}", "kind", "ambiguous",
                                               "column", "count", 0, "example", "message",
                                               me.msg));
    }
    return 0;
}

/* ---- per column --------------------------------------------------------------- */

typedef struct colinfo {
    char *cql;              /* CQL type text, or NULL: unsupported */
    int cql_id;             /* its cql_type_id, -1 unsupported */
    char *note;
    int64_t counts[CK_N];   /* -1: not checked */
    json_t *examples[CK_N];
    int value_typed;        /* the type was chosen from the values / a guess */
} colinfo;

static void add_type_id(colinfo *ci, const cql_type *ty)
{
    cs_buf b;
    cs_buf_init(&b, 4096);
    if (ty && cql_type_format(ty, &b) == 0 && cs_buf_append(&b, "", 1) == 0) {
        ci->cql = strdup((const char *)b.data);
        ci->cql_id = (int)ty->id;
    } else {
        ci->cql_id = -1;
    }
    cs_buf_release(&b);
}

static int is_int_type(int id)
{
    return id == CQL_T_BIGINT || id == CQL_T_INT || id == CQL_T_SMALLINT || id == CQL_T_TINYINT ||
           id == CQL_T_VARINT || id == CQL_T_BOOLEAN;
}

/* The condition under which check k counts a value of column c (SQL,
 * appended to b), or 0 when k does not apply to this column. */
static int check_cond(actx *a, cs_buf *b, const source_table *st, int c, const colinfo *ci,
                      check_kind k, const char *collation, const char *charset)
{
    const source_column *sc = &st->cols[c];
    int ts_fine = sc->ltype == SL_TIMESTAMP && (sc->precision < 0 || sc->precision > 3);
    switch (k) {
    case CK_INFINITY:
        if (a->d != D_PG || (sc->ltype != SL_TIMESTAMP && sc->ltype != SL_DATE))
            return 0;
        cs_buf_printf(b, "NOT isfinite(");
        add_id(a, b, sc->name);
        cs_buf_printf(b, ")");
        return 1;
    case CK_SUBMS:
        if (a->d == D_PG && ts_fine) {
            cs_buf_printf(b, "isfinite(");
            add_id(a, b, sc->name);
            cs_buf_printf(b, ") AND CAST(date_part('microseconds', ");
            add_id(a, b, sc->name);
            cs_buf_printf(b, ") AS bigint) %% 1000 <> 0");
            return 1;
        }
        if (a->d == D_MYSQL && sc->ltype == SL_TIMESTAMP && sc->precision > 3) {
            cs_buf_printf(b, "MICROSECOND(");
            add_id(a, b, sc->name);
            cs_buf_printf(b, ") %% 1000 <> 0");
            return 1;
        }
        if (a->d == D_SQLITE && ci->cql_id == CQL_T_TIMESTAMP) {
            cs_buf_printf(b, "typeof(");
            add_id(a, b, sc->name);
            cs_buf_printf(b, ") = 'text' AND ");
            add_id(a, b, sc->name);
            cs_buf_printf(b, " GLOB '*[0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9]*'");
            return 1;
        }
        return 0;
    case CK_ZERO_DATE:
        if (a->d != D_MYSQL || (sc->ltype != SL_DATE && sc->ltype != SL_TIMESTAMP))
            return 0;
        cs_buf_printf(b, "(MONTH(");
        add_id(a, b, sc->name);
        cs_buf_printf(b, ") = 0 OR DAYOFMONTH(");
        add_id(a, b, sc->name);
        cs_buf_printf(b, ") = 0)");
        return 1;
    case CK_BEYOND_DOUBLE:
        if (a->d != D_SQLITE || (ci->cql_id != CQL_T_DOUBLE && ci->cql_id != CQL_T_FLOAT))
            return 0;
        cs_buf_printf(b, "typeof(");
        add_id(a, b, sc->name);
        cs_buf_printf(b, ") = 'integer' AND abs(");
        add_id(a, b, sc->name);
        cs_buf_printf(b, ") > 9007199254740992");
        return 1;
    case CK_STORAGE: {
        if (a->d != D_SQLITE || synthetic(st, c) || ci->cql_id < 0)
            return 0;
        const char *ok = is_int_type(ci->cql_id) ? "'integer'"
                         : ci->cql_id == CQL_T_DOUBLE || ci->cql_id == CQL_T_FLOAT
                             ? "'integer', 'real'"
                         : ci->cql_id == CQL_T_DECIMAL ? "'integer', 'real'"
                         : ci->cql_id == CQL_T_VARCHAR ? "'text'"
                         : ci->cql_id == CQL_T_DATE || ci->cql_id == CQL_T_TIME ||
                                 ci->cql_id == CQL_T_TIMESTAMP
                             ? "'text', 'integer'"
                         : ci->cql_id == CQL_T_UUID ? "'text', 'blob'"
                                                    : NULL;
        if (!ok)
            return 0;
        cs_buf_printf(b, "typeof(");
        add_id(a, b, sc->name);
        cs_buf_printf(b, ") NOT IN ('null', %s)", ok);
        return 1;
    }
    case CK_CHARSET:
        /* UTF-8 bytes stored as single-byte text (latin1...): read back as
         * UTF-8 they make fewer, valid characters */
        if (a->d != D_MYSQL || !charset || !strncmp(charset, "utf8", 4) ||
            !strcmp(charset, "binary") || !strncmp(charset, "ucs2", 4) ||
            !strncmp(charset, "utf16", 5) || !strncmp(charset, "utf32", 5))
            return 0;
        cs_buf_printf(b, "CHAR_LENGTH(CONVERT(CAST(");
        add_id(a, b, sc->name);
        cs_buf_printf(b, " AS BINARY) USING utf8mb4)) < CHAR_LENGTH(");
        add_id(a, b, sc->name);
        cs_buf_printf(b, ") AND LOCATE('?', CONVERT(CAST(");
        add_id(a, b, sc->name);
        cs_buf_printf(b, " AS BINARY) USING utf8mb4)) = LOCATE('?', ");
        add_id(a, b, sc->name);
        cs_buf_printf(b, ")");
        return 1;
    case CK_PAD_SPACE:
        /* PAD SPACE: every collation but the NO PAD ones (MariaDB "_nopad_",
         * MySQL 8's "_0900_") and binary */
        if (a->d != D_MYSQL || !collation || strstr(collation, "nopad") ||
            strstr(collation, "_0900_") || !strcmp(collation, "binary"))
            return 0;
        add_id(a, b, sc->name);
        cs_buf_printf(b, " LIKE '%% '");
        return 1;
    case CK_FLOAT_KEY:
        if (ci->cql_id != CQL_T_DOUBLE && ci->cql_id != CQL_T_FLOAT)
            return 0;
        if (a->d == D_SQLITE) {
            cs_buf_printf(b, "typeof(");
            add_id(a, b, sc->name);
            cs_buf_printf(b, ") = 'real' AND CAST(");
            add_id(a, b, sc->name);
            cs_buf_printf(b, " AS INTEGER) <> ");
        } else {
            cs_buf_printf(b, "floor(");
            add_id(a, b, sc->name);
            cs_buf_printf(b, ") <> ");
        }
        add_id(a, b, sc->name);
        return 1;
    case CK_NO_VALUE: {
        /* what the connectors reject per value (their notes say so) */
        const char *dt = sc->decl_type ? sc->decl_type : "";
        if (a->d == D_PG && sc->ltype == SL_DECIMAL) {
            cs_buf_printf(b, "CAST(");
            add_id(a, b, sc->name);
            cs_buf_printf(b, " AS text) IN ('NaN', 'Infinity', '-Infinity')");
        } else if (a->d == D_PG && sc->ltype == SL_INET) {
            cs_buf_printf(b, "masklen(");
            add_id(a, b, sc->name);
            cs_buf_printf(b, ") <> CASE WHEN family(");
            add_id(a, b, sc->name);
            cs_buf_printf(b, ") = 4 THEN 32 ELSE 128 END");
        } else if (a->d == D_PG && sc->ltype == SL_TIME) {
            cs_buf_printf(b, "CAST(");
            add_id(a, b, sc->name);
            cs_buf_printf(b, " AS text) LIKE '24:%%'");
        } else if (a->d == D_PG && sc->ltype == SL_INTERVAL) {
            /* parts of different signs: months, days, time */
            cs_buf id;
            cs_buf_init(&id, 1 << 16);
            add_id(a, &id, sc->name);
            cs_buf_append(&id, "", 1);
            const char *x = (const char *)id.data;
            cs_buf_printf(b, "(");
            for (int sign = 0; sign < 2; sign++) {
                const char *cmp = sign ? "< 0" : "> 0";
                cs_buf_printf(b, "%s((date_part('year', %s) * 12 + date_part('month', %s)) %s OR "
                                 "date_part('day', %s) %s OR "
                                 "date_part('epoch', %s - date_trunc('day', %s)) %s)",
                              sign ? " AND " : "", x, x, cmp, x, cmp, x, x, cmp);
            }
            cs_buf_printf(b, ")");
            cs_buf_release(&id);
        } else if (a->d == D_PG && sc->ltype == SL_ARRAY) {
            cs_buf_printf(b, "(array_lower(");
            add_id(a, b, sc->name);
            cs_buf_printf(b, ", 1) <> 1 OR EXISTS (SELECT 1 FROM unnest(");
            add_id(a, b, sc->name);
            cs_buf_printf(b, ") AS e(v) WHERE e.v IS NULL))");
        } else if (a->d == D_MYSQL && sc->ltype == SL_BOOL && !strncasecmp(dt, "tinyint", 7)) {
            add_id(a, b, sc->name);
            cs_buf_printf(b, " NOT IN (0, 1)");
        } else if (a->d == D_MYSQL && sc->ltype == SL_TIME) {
            cs_buf_printf(b, "(");
            add_id(a, b, sc->name);
            cs_buf_printf(b, " < '00:00:00' OR ");
            add_id(a, b, sc->name);
            cs_buf_printf(b, " >= '24:00:00')");
        } else {
            return 0;
        }
        return 1;
    }
    case CK_INVALID_UTF8:
    case CK_N:
        return 0;
    }
    return 0;
}

/* Is column c of st in its primary key, or in one of its foreign keys? */
static int is_key_col(const source_table *st, int c)
{
    if (st->cols[c].pk_pos > 0 && !synthetic(st, c))
        return 1;
    for (int k = 0; k < st->nfkeys; k++)
        for (int i = 0; i < st->fkeys[k].ncols; i++)
            if (st->fkeys[k].cols[i] == c)
                return 1;
    return 0;
}

/* MySQL: each column's character set and collation (information_schema). */
static json_t *mysql_charsets(actx *a, const source_table *st)
{
    if (a->d != D_MYSQL || !st->schema)
        return json_object();
    cs_buf q;
    cs_buf_init(&q, 1 << 20);
    const char *tn = st->name;
    size_t n = strlen(st->schema);
    if (!strncmp(tn, st->schema, n) && tn[n] == '.')
        tn += n + 1;
    cs_buf_printf(&q, "SELECT COLUMN_NAME, CHARACTER_SET_NAME, COLLATION_NAME FROM "
                      "information_schema.COLUMNS WHERE TABLE_SCHEMA = '");
    for (const char *p = st->schema; *p; p++)
        cs_buf_printf(&q, *p == '\'' ? "''" : *p == '\\' ? "\\\\" : "%c", *p);
    cs_buf_printf(&q, "' AND TABLE_NAME = '");
    for (const char *p = tn; *p; p++)
        cs_buf_printf(&q, *p == '\'' ? "''" : *p == '\\' ? "\\\\" : "%c", *p);
    cs_buf_printf(&q, "'");
    json_t *rows = q_rows(a, &q, 100000);
    cs_buf_release(&q);
    if (!rows)
        return NULL;
    json_t *o = json_object();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
        if (cell(rows, i, 0))
            json_object_set_new(o, cell(rows, i, 0),
                                json_pack("{s:s?, s:s?}", "charset", cell(rows, i, 1),
                                          "collation", cell(rows, i, 2)));
    json_decref(rows);
    return o;
}

/* SQLite text that is not UTF-8: every text value read once (the sample
 * bounds it), checked here. */
typedef struct utf8_scan {
    colinfo *ci;
    const int *cols;
} utf8_scan;

static int utf8_row(void *ctx, int n, const char *const *v, const size_t *l)
{
    utf8_scan *u = ctx;
    for (int k = 0; k < n; k++)
        if (v[k] && !utf8_valid((const uint8_t *)v[k], l[k])) {
            colinfo *ci = &u->ci[u->cols[k]];
            if (ci->counts[CK_INVALID_UTF8]++ == 0)
                ci->examples[CK_INVALID_UTF8] = jtext(v[k], l[k], 60);
        }
    return 0;
}

/* Checks per statement: two result columns each, within the query
 * operation's 256. */
#define CHECKS_PER_QUERY 100
/* Columns per statement of the UTF-8 read. */
#define UTF8_COLS_PER_QUERY 200

static int check_columns(actx *a, const source_table *st, colinfo *ci, int sampled, double f)
{
    json_t *cs = mysql_charsets(a, st);
    if (!cs)
        return -1;
    /* every (column, check) that applies, with its condition */
    int cap = st->ncols * CK_N + 1, n = 0;
    int *col = calloc((size_t)cap, sizeof *col), *kind = calloc((size_t)cap, sizeof *kind);
    char **cond = calloc((size_t)cap, sizeof *cond);
    if (!col || !kind || !cond) {
        free(col);
        free(kind);
        free(cond);
        json_decref(cs);
        return fail(a, 1, "out of memory");
    }
    for (int c = 0; c < st->ncols; c++) {
        if (synthetic(st, c))
            continue;
        json_t *cj = json_object_get(cs, st->cols[c].name);
        const char *coll = json_string_value(json_object_get(cj, "collation"));
        const char *chs = json_string_value(json_object_get(cj, "charset"));
        for (int k = 0; k < CK_N; k++) {
            if ((k == CK_PAD_SPACE || k == CK_FLOAT_KEY) && !is_key_col(st, c))
                continue;
            cs_buf b;
            cs_buf_init(&b, 1 << 20);
            if (check_cond(a, &b, st, c, &ci[c], (check_kind)k, coll, chs)) {
                ci[c].counts[k] = 0;
                col[n] = c;
                kind[n] = k;
                cond[n++] = (char *)b.data;     /* NUL-terminated by cs_buf_printf */
            } else {
                cs_buf_release(&b);
            }
        }
    }
    json_decref(cs);
    int rc = 0;
    cs_buf q;
    cs_buf_init(&q, 1 << 26);
    for (int from = 0; !rc && from < n; from += CHECKS_PER_QUERY) {
        int to = from + CHECKS_PER_QUERY < n ? from + CHECKS_PER_QUERY : n;
        cs_buf_reset(&q);
        cs_buf_printf(&q, "SELECT 0");
        for (int i = from; i < to; i++) {
            cs_buf_printf(&q, ", count(CASE WHEN %s THEN 1 END), min(CASE WHEN %s THEN ", cond[i],
                          cond[i]);
            add_value_text(a, &q, &st->cols[col[i]]);
            cs_buf_printf(&q, " END)");
        }
        add_from(a, &q, st, sampled, f);
        json_t *rows = q_rows(a, &q, 1);
        if (!rows) {
            rc = -1;
            break;
        }
        for (int i = from; i < to; i++) {
            colinfo *x = &ci[col[i]];
            size_t at = 1 + 2 * (size_t)(i - from);
            x->counts[kind[i]] = cell_i(rows, 0, at);
            const char *ex = cell(rows, 0, at + 1);
            if (ex && !x->examples[kind[i]])
                x->examples[kind[i]] = json_string(ex);
        }
        json_decref(rows);
    }
    for (int i = 0; i < n; i++)
        free(cond[i]);
    free(col);
    free(kind);
    free(cond);
    /* SQLite: invalid UTF-8 in text values, read here */
    int *cols = a->d == D_SQLITE ? calloc((size_t)st->ncols + 1, sizeof *cols) : NULL;
    if (!rc && a->d == D_SQLITE && !cols)
        rc = fail(a, 1, "out of memory");
    for (int from = 0; !rc && cols && from < st->ncols; from += UTF8_COLS_PER_QUERY) {
        int m = 0;
        cs_buf_reset(&q);
        cs_buf_printf(&q, "SELECT ");
        for (int c = from; c < st->ncols && c < from + UTF8_COLS_PER_QUERY; c++) {
            if (synthetic(st, c))
                continue;
            cs_buf_printf(&q, "%sCASE WHEN typeof(", m ? ", " : "");
            add_id(a, &q, st->cols[c].name);
            cs_buf_printf(&q, ") = 'text' THEN ");
            add_id(a, &q, st->cols[c].name);
            cs_buf_printf(&q, " END");
            ci[c].counts[CK_INVALID_UTF8] = 0;
            cols[m++] = c;
        }
        if (!m)
            continue;
        add_from(a, &q, st, sampled, f);
        utf8_scan u = {ci, cols};
        source_error se = {0};
        if (a->src->ops->query(a->src, (const char *)q.data, utf8_row, &u, &se) < 0)
            rc = fail(a, 1, "%s", se.msg);
    }
    free(cols);
    cs_buf_release(&q);
    return rc;
}

/* ---- key collisions ----------------------------------------------------------- */

/* A key column's value as Cassandra would hold it, when that can differ
 * from the source's (a timestamp with digits below the millisecond, cut to
 * milliseconds); 0 when it cannot. */
static int key_conv(actx *a, cs_buf *b, const source_column *sc, const colinfo *ci)
{
    if (a->d == D_PG && sc->ltype == SL_TIMESTAMP && (sc->precision < 0 || sc->precision > 3)) {
        cs_buf_printf(b, "date_trunc('milliseconds', ");
        add_id(a, b, sc->name);
        cs_buf_printf(b, ")");
        return 1;
    }
    if (a->d == D_MYSQL && sc->ltype == SL_TIMESTAMP && sc->precision > 3) {
        add_id(a, b, sc->name);
        cs_buf_printf(b, " - INTERVAL (MICROSECOND(");
        add_id(a, b, sc->name);
        cs_buf_printf(b, ") %% 1000) MICROSECOND");
        return 1;
    }
    if (a->d == D_MYSQL && sc->ltype == SL_FLOAT32) {
        /* MySQL prints a FLOAT with 6 significant digits: distinct floats
         * that print alike collide for anything that goes through text */
        add_text_of(a, b, sc->name);
        return 1;
    }
    if (a->d == D_SQLITE && ci->cql_id == CQL_T_TIMESTAMP) {
        cs_buf_printf(b, "CASE WHEN typeof(");
        add_id(a, b, sc->name);
        cs_buf_printf(b, ") = 'text' THEN substr(");
        add_id(a, b, sc->name);
        cs_buf_printf(b, ", 1, 23) ELSE ");
        add_id(a, b, sc->name);
        cs_buf_printf(b, " END");
        return 1;
    }
    add_id(a, b, sc->name);
    return 0;
}

/* The key's text form: k1, k2 */
static void add_key_text(actx *a, cs_buf *b, const source_table *st, const int *cols, int n)
{
    if (n == 1) {
        add_value_text(a, b, &st->cols[cols[0]]);
        return;
    }
    if (a->d == D_SQLITE) {
        for (int i = 0; i < n; i++) {
            if (i)
                cs_buf_printf(b, " || ', ' || ");
            cs_buf_printf(b, "coalesce(");
            add_text_of(a, b, st->cols[cols[i]].name);
            cs_buf_printf(b, ", 'NULL')");
        }
        return;
    }
    cs_buf_printf(b, a->d == D_MYSQL ? "CONCAT_WS(', '" : "concat_ws(', '");
    for (int i = 0; i < n; i++) {
        cs_buf_printf(b, ", ");
        add_value_text(a, b, &st->cols[cols[i]]);
    }
    cs_buf_printf(b, ")");
}

static void add_risk(json_t *risks, const char *kind, const char *column, int64_t count,
                     json_t *example, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void add_risk(json_t *risks, const char *kind, const char *column, int64_t count,
                     json_t *example, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(risks, json_pack("{s:s, s:s?, s:I, s:o, s:s}", "kind", kind, "column",
                                           column, "count", (json_int_t)count, "example",
                                           example ? example : json_null(), "message", msg));
}

/* Primary keys whose converted values collide: GROUP BY the converted key
 * HAVING more than one row. */
static int key_collisions(actx *a, const source_table *st, const colinfo *ci, int sampled,
                          double f, json_t *risks)
{
    if (a->d == D_FILES || st->uses_rowid || st->npk == 0)
        return 0;
    int key[64], nk = 0;
    for (int k = 1; k <= st->npk && nk < 64; k++)
        for (int c = 0; c < st->ncols; c++)
            if (st->cols[c].pk_pos == k)
                key[nk++] = c;
    cs_buf conv;
    cs_buf_init(&conv, 1 << 20);
    int changed = 0, which = -1;
    for (int i = 0; i < nk; i++) {
        if (i)
            cs_buf_printf(&conv, ", ");
        if (key_conv(a, &conv, &st->cols[key[i]], &ci[key[i]])) {
            changed = 1;
            if (which < 0)
                which = key[i];
        }
    }
    int rc = 0;
    if (changed) {
        cs_buf q;
        cs_buf_init(&q, 1 << 22);
        cs_buf_printf(&q, "SELECT count(*), sum(n), min(lo), min(hi) FROM (SELECT count(*) AS n, "
                          "min(");
        add_key_text(a, &q, st, key, nk);
        cs_buf_printf(&q, ") AS lo, max(");
        add_key_text(a, &q, st, key, nk);
        cs_buf_printf(&q, ") AS hi");
        add_from(a, &q, st, sampled, f);
        cs_buf_printf(&q, " GROUP BY %s HAVING count(*) > 1) AS cqlshift_g",
                      (const char *)conv.data);
        json_t *rows = q_rows(a, &q, 1);
        cs_buf_release(&q);
        if (!rows) {
            rc = -1;
        } else {
            int64_t groups = cell_i(rows, 0, 0), nrows = cell_i(rows, 0, 1);
            const source_column *sc = &st->cols[which];
            int flt = sc->ltype == SL_FLOAT32;
            const char *lo = cell(rows, 0, 2) ? cell(rows, 0, 2) : "?";
            const char *hi = cell(rows, 0, 3) ? cell(rows, 0, 3) : "?";
            char both[700];
            snprintf(both, sizeof both, "%s and %s", lo, hi);
            if (groups > 0)
                add_risk(risks, "key_collision", sc->name, nrows, json_string(both),
                         "%s: %lld keys%s collide (%lld group%s) once %s (e.g. %s and %s): "
                         "%s; %s",
                         st->name, (long long)nrows, sampled ? " in the sample" : "",
                         (long long)groups, groups == 1 ? "" : "s",
                         flt ? "the FLOAT key is taken by its text form (6 significant digits)"
                             : "the timestamp key is cut to milliseconds",
                         lo, hi,
                         flt ? "cqlshift copies the exact values, but anything that goes "
                               "through text (an export, an application printing them) makes "
                               "them one key"
                             : "in Cassandra they would be one row",
                         flt ? "copy the key as its exact value (cqlshift does) and never "
                               "through text"
                             : "keep the full value (e.g. a bigint of microseconds, or text) "
                               "for this key");
            json_decref(rows);
        }
    }
    cs_buf_release(&conv);
    return rc;
}

/* ---- partitions ----------------------------------------------------------------- */

/* rows and bytes of the partitions of key `cols`: max (with its key), p99
 * and the number of partitions, one query (window functions: SQLite 3.25,
 * PostgreSQL, MySQL 8, MariaDB 10.2). */
static json_t *partitions(actx *a, const source_table *st, const char *for_table,
                          const int *cols, int n, int unique, int64_t rows, int sampled, double f,
                          json_t *risks)
{
    cs_buf q;
    cs_buf_init(&q, 1 << 22);
    cs_buf_printf(&q, "SELECT c, b, n, rc, rb, kt FROM (SELECT c, b, kt, count(*) OVER () AS n, "
                      "row_number() OVER (ORDER BY c DESC) AS rc, row_number() OVER (ORDER BY "
                      "b DESC) AS rb FROM (SELECT count(*) AS c, sum(cqlshift_b) AS b, min(kt) "
                      "AS kt FROM (SELECT ");
    for (int i = 0; i < n; i++) {
        add_id(a, &q, st->cols[cols[i]].name);
        cs_buf_printf(&q, ", ");
    }
    add_key_text(a, &q, st, cols, n);
    cs_buf_printf(&q, " AS kt, ");
    add_row_size(a, &q, st);
    cs_buf_printf(&q, " AS cqlshift_b");
    add_from(a, &q, st, sampled, f);
    cs_buf_printf(&q, " WHERE ");
    for (int i = 0; i < n; i++) {
        cs_buf_printf(&q, "%s", i ? " AND " : "");
        add_id(a, &q, st->cols[cols[i]].name);
        cs_buf_printf(&q, " IS NOT NULL");
    }
    cs_buf_printf(&q, ") AS cqlshift_s GROUP BY ");
    for (int i = 0; i < n; i++) {
        cs_buf_printf(&q, "%s", i ? ", " : "");
        add_id(a, &q, st->cols[cols[i]].name);
    }
    cs_buf_printf(&q, ") AS cqlshift_g) AS cqlshift_w WHERE rc = 1 OR rb = 1 OR rc = (n - n %% "
                      "100) / 100 + 1 OR rb = (n - n %% 100) / 100 + 1");
    json_t *res = q_rows(a, &q, 16);
    cs_buf_release(&q);
    if (!res)
        return NULL;
    double scale = sampled && f > 0 ? 1.0 / f : 1.0;
    int64_t rmax = 0, rp99 = 0, bmax = 0, bp99 = 0, parts = 0;
    const char *example = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r) {
        int64_t c = cell_i(res, i, 0), nn = cell_i(res, i, 2), rc = cell_i(res, i, 3),
                rb = cell_i(res, i, 4);
        double b = cell_d(res, i, 1);
        int64_t p99 = (nn - nn % 100) / 100 + 1;
        parts = nn;
        if (rc == 1) {
            rmax = c;
            example = cell(res, i, 5);
        }
        if (rc == p99)
            rp99 = c;
        if (rb == 1)
            bmax = (int64_t)b;
        if (rb == p99)
            bp99 = (int64_t)b;
    }
    /* a sample holds about f of each partition's rows; a unique key's
     * partitions are one row each, sampled or not */
    if (sampled && !unique) {
        rmax = (int64_t)(rmax * scale + 0.5);
        rp99 = (int64_t)(rp99 * scale + 0.5);
        bmax = (int64_t)(bmax * scale + 0.5);
        bp99 = (int64_t)(bp99 * scale + 0.5);
    }
    if (sampled)
        parts = (int64_t)(parts * scale + 0.5);
    json_t *key = json_array();
    for (int k = 0; k < n; k++)
        json_array_append_new(key, json_string(st->cols[cols[k]].name));
    json_t *p = json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:b, s:s?}", "for", for_table,
                          "key", key, "partitions", (json_int_t)parts, "rows_max",
                          (json_int_t)rmax, "rows_p99", (json_int_t)rp99, "bytes_max",
                          (json_int_t)bmax, "bytes_p99", (json_int_t)bp99, "sampled", sampled,
                          "example", example);
    char keyname[300] = "";
    for (int k = 0, o = 0; k < n && o < (int)sizeof keyname - 2; k++)
        o += snprintf(keyname + o, sizeof keyname - (size_t)o, "%s%s", k ? "," : "",
                      st->cols[cols[k]].name);
    size_t before = json_array_size(risks);
    if (rmax >= ASSESS_LARGE_ROWS || bmax >= ASSESS_LARGE_BYTES)
        add_risk(risks, "large_partition", keyname, rmax, example ? json_string(example) : NULL,
                 "%s: the largest partition of %s (key %s = %s) holds %s%lld rows and %.1f MB, "
                 "beyond Cassandra's usual limits (%lld rows or %lld MB a partition): add a "
                 "column to the partition key (a bucket) or keep this table disabled",
                 st->name, for_table, keyname, example ? example : "?", sampled ? "about " : "",
                 (long long)rmax, bmax / 1e6, ASSESS_LARGE_ROWS, ASSESS_LARGE_BYTES / 1000000);
    int64_t total = rows > 0 ? rows : 0;
    if (rmax >= ASSESS_HOT_ROWS && total > 0 && (double)rmax > ASSESS_HOT_SHARE * (double)total)
        add_risk(risks, "hot_partition", keyname, rmax, example ? json_string(example) : NULL,
                 "%s: one partition of %s (key %s = %s) holds %s%lld of the table's %lld rows "
                 "(%.0f%%): its replicas take that share of the reads and writes",
                 st->name, for_table, keyname, example ? example : "?", sampled ? "about " : "",
                 (long long)rmax, (long long)total, 100.0 * (double)rmax / (double)total);
    /* these risks name the proposed table that would hold the partition */
    for (size_t k = before; k < json_array_size(risks); k++)
        json_object_set_new(json_array_get(risks, k), "for", json_string(for_table));
    json_decref(res);
    return p;
}

/* ---- files: rows by reading ----------------------------------------------------- */

static int64_t file_rows(actx *a, int t)
{
    source_range *ranges = NULL;
    int nr = 0;
    source_error se = {0};
    if (a->src->ops->split(a->src, t, 1, &ranges, &nr, &se)) {
        fail(a, 1, "%s", se.msg);
        return -1;
    }
    int64_t rows = 0;
    row_batch b;
    row_batch_init(&b, 1024);
    src_pos none = {0};
    for (int i = 0; i < nr && rows >= 0; i++) {
        source_reader *rd = a->src->ops->open_range(a->src, &ranges[i], &none, &se);
        if (!rd) {
            fail(a, 1, "%s", se.msg);
            rows = -1;
            break;
        }
        int got;
        while ((got = a->src->ops->read(rd, &b, 1024, &se)) > 0)
            rows += got;
        if (got < 0) {
            fail(a, 1, "%s", se.msg);
            rows = -1;
        }
        a->src->ops->close_range(rd);
    }
    row_batch_release(&b);
    source_ranges_free(ranges, nr);
    return rows;
}

/* ---- one table ------------------------------------------------------------------- */

static json_t *names_of(const source_table *st, const int *cols, int n)
{
    json_t *j = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(j, cols[i] >= 0 && cols[i] < st->ncols
                                     ? json_string(st->cols[cols[i]].name)
                                     : json_string("(expression)"));
    return j;
}

static const char *fmt_count(int64_t n, char *buf, size_t sz)
{
    snprintf(buf, sz, "%lld", (long long)n);
    return buf;
}

static json_t *assess_table(actx *a, int t)
{
    const source_table *st = &a->schema->tables[t];
    json_t *risks = json_array();
    json_t *tj = json_object();
    json_object_set_new(tj, "name", json_string(st->name));

    /* the model */
    model m;
    char why[1024] = "";
    int mrc = table_model(a, t, &m, why, sizeof why, risks);
    if (mrc < 0)
        goto fail;
    char tname[64];
    if (mrc == 0)
        snprintf(tname, sizeof tname, "%s", m.tables[0].name);
    else
        fold(st->name, tname, sizeof tname);
    json_object_set_new(tj, "target", json_string(tname));
    if (mrc == 1)
        add_risk(risks, "unsupported", NULL, 0, NULL, "%s", why);

    /* rows and bytes */
    int64_t rows = st->row_estimate, row_bytes = -1;
    /* 0 from a connector that does not fill it yet means unknown too */
    int64_t bytes = st->bytes_estimate > 0 ? st->bytes_estimate : -1;
    int exact = 0;
    if (a->d == D_FILES) {
        rows = file_rows(a, t);
        if (rows < 0)
            goto fail;
        exact = 1;
        source_error se = {0};
        json_t *fp = a->src->ops->fingerprint ? a->src->ops->fingerprint(a->src, &se) : NULL;
        size_t i;
        json_t *f1;
        bytes = -1;
        if (fp) {
            bytes = 0;
            json_array_foreach(fp, i, f1)
                bytes += json_integer_value(json_object_get(f1, "size"));
        }
        json_decref(fp);
    } else if (rows < 0 || rows <= ASSESS_COUNT_CAP) {
        cs_buf q;
        cs_buf_init(&q, 1 << 22);
        cs_buf_printf(&q, "SELECT count(*), sum(");
        add_row_size(a, &q, st);
        cs_buf_printf(&q, ")");
        add_from(a, &q, st, 0, 1);
        json_t *res = q_rows(a, &q, 1);
        cs_buf_release(&q);
        if (!res)
            goto fail;
        rows = cell_i(res, 0, 0);
        row_bytes = (int64_t)cell_d(res, 0, 1);
        exact = 1;
        json_decref(res);
    }
    const char *bytes_from = a->d == D_FILES && bytes >= 0 ? "file sizes"
                             : bytes >= 0                  ? "catalog"
                             : row_bytes >= 0              ? "row sizes"
                                                           : NULL;
    if (bytes < 0)
        bytes = row_bytes;
    json_object_set_new(tj, "rows", rows >= 0 ? json_integer(rows) : json_null());
    json_object_set_new(tj, "rows_exact", json_boolean(exact));
    json_object_set_new(tj, "bytes", bytes >= 0 ? json_integer(bytes) : json_null());
    json_object_set_new(tj, "bytes_from", bytes_from ? json_string(bytes_from) : json_null());
    int sampled = a->d != D_FILES && rows > a->sample;
    double f = sampled ? (double)a->sample / (double)rows : 1;
    json_object_set_new(tj, "sampled", json_boolean(sampled));

    /* keys */
    int pk[64], npk = 0;
    for (int k = 1; k <= st->npk && npk < 64; k++)
        for (int c = 0; c < st->ncols; c++)
            if (st->cols[c].pk_pos == k && !synthetic(st, c))
                pk[npk++] = c;
    json_object_set_new(tj, "primary_key", names_of(st, pk, npk));
    json_t *fks = json_array();
    for (int k = 0; k < st->nfkeys; k++) {
        const source_fkey *fk = &st->fkeys[k];
        json_t *rc = json_array();
        for (int i = 0; i < fk->ncols; i++)
            json_array_append_new(rc, json_string(fk->ref_cols[i] ? fk->ref_cols[i] : ""));
        /* no query table where the table's own key serves the query */
        char *qt = model_fkey_is_key_prefix(st, k) ? NULL : model_query_table_name(a->schema, t, k);
        json_array_append_new(fks, json_pack("{s:s, s:o, s:{s:s, s:o}, s:s?}", "name",
                                             fk->name ? fk->name : "", "columns",
                                             names_of(st, fk->cols, fk->ncols), "references",
                                             "table", fk->ref_table ? fk->ref_table : "",
                                             "columns", rc, "query_table", qt));
        free(qt);
    }
    json_object_set_new(tj, "foreign_keys", fks);
    json_t *ixs = json_array();
    for (int k = 0; k < st->nindexes; k++) {
        const source_index *ix = &st->indexes[k];
        json_array_append_new(ixs, json_pack("{s:s, s:b, s:o, s:s?}", "name",
                                             ix->name ? ix->name : "", "unique", ix->unique,
                                             "columns", names_of(st, ix->cols, ix->ncols),
                                             "note", ix->note));
    }
    json_object_set_new(tj, "indexes", ixs);
    if (st->uses_rowid || st->npk == 0) {
        /* an example row (its first columns), and a unique index that could
         * be the key */
        json_t *ex = NULL;
        if (a->d != D_FILES && a->src->ops->query && rows > 0) {
            int cols[8], n = 0;
            for (int c = 0; c < st->ncols && n < 8; c++)
                if (!synthetic(st, c))
                    cols[n++] = c;
            cs_buf q;
            cs_buf_init(&q, 1 << 20);
            cs_buf_printf(&q, "SELECT ");
            add_key_text(a, &q, st, cols, n);
            add_from(a, &q, st, 0, 1);
            cs_buf_printf(&q, " LIMIT 1");
            json_t *res = n ? q_rows(a, &q, 1) : json_array();
            cs_buf_release(&q);
            if (!res)
                goto fail;
            if (cell(res, 0, 0))
                ex = json_string(cell(res, 0, 0));
            json_decref(res);
        }
        char uniq[600] = "";
        for (int k = 0; k < st->nindexes && !uniq[0]; k++) {
            const source_index *ix = &st->indexes[k];
            int ok = ix->unique && ix->ncols > 0 && !ix->note;
            for (int i = 0; ok && i < ix->ncols; i++)
                ok = ix->cols[i] >= 0 && ix->cols[i] < st->ncols && st->cols[ix->cols[i]].notnull;
            for (int i = 0, o = 0; ok && i < ix->ncols && o < 500; i++)
                o += snprintf(uniq + o, sizeof uniq - (size_t)o, "%s%s", i ? ", " : "",
                              st->cols[ix->cols[i]].name);
        }
        add_risk(risks, "no_primary_key", NULL, rows > 0 ? rows : 0, ex,
                 "%s has no primary key (%lld row%s%s%s): %s; %s%s%s so that a row can be found "
                 "and a copy run twice does not duplicate rows",
                 st->name, (long long)(rows > 0 ? rows : 0), rows == 1 ? "" : "s",
                 ex ? ", e.g. " : "", ex ? json_string_value(ex) : "",
                 a->d == D_FILES ? "cqlshift plan keys a file's table by a column whose values are "
                                   "all present and distinct, and asks for a key when none is"
                                 : "the automatic model keys it by the row's position (rowid), "
                                   "which no application query knows",
                 uniq[0] ? "its unique index on (" : "declare one in the source (or in the plan)",
                 uniq, uniq[0] ? ") of NOT NULL columns could be the key: declare it in the plan"
                               : "");
    }

    /* columns */
    colinfo *ci = calloc((size_t)st->ncols + 1, sizeof *ci);
    if (!ci) {
        fail(a, 1, "out of memory");
        goto fail;
    }
    for (int c = 0; c < st->ncols; c++) {
        for (int k = 0; k < CK_N; k++)
            ci[c].counts[k] = -1;
        const source_column *sc = &st->cols[c];
        const target_column *tc = NULL;
        for (int i = 0; mrc == 0 && i < m.tables[0].ncols; i++)
            if (m.tables[0].cols[i].source_col == c)
                tc = &m.tables[0].cols[i];
        const char *w = NULL;
        if (tc) {
            add_type_id(&ci[c], tc->type);
            ci[c].note = tc->note ? strdup(tc->note) : NULL;
        } else {
            cql_type *ty = model_map_column(sc, &w);
            add_type_id(&ci[c], ty);
            cql_type_free(ty);
            ci[c].note = w ? strdup(w) : sc->note ? strdup(sc->note) : NULL;
        }
        const char *nt = ci[c].note ? ci[c].note : "";
        /* ambiguous: the type is a guess (an unknown type name), or the values
         * chose it and were of several kinds ("1 integer, 2 text values
         * found"), or integers in a timestamp column chose their unit */
        const char *nd = strstr(nt, "no declared type; ");
        const char *found = nd ? strstr(nd, " found") : NULL;
        int mixed = found && memchr(nd, ',', (size_t)(found - nd)) != NULL;
        ci[c].value_typed = mixed || (sc->decl_type[0] && strstr(nt, "unknown type name")) ||
                            (!nd && sc->ltype == SL_DECLARED && !sc->decl_type[0]) ||
                            strstr(nt, "integers are read as") || strstr(nt, "integer is read as");
    }
    if (a->d != D_FILES && a->src->ops->query &&
        (check_columns(a, st, ci, sampled, f) || key_collisions(a, st, ci, sampled, f, risks))) {
        for (int c = 0; c < st->ncols; c++) {
            free(ci[c].cql);
            free(ci[c].note);
            for (int k = 0; k < CK_N; k++)
                json_decref(ci[c].examples[k]);
        }
        free(ci);
        goto fail;
    }
    json_t *cols = json_array();
    for (int c = 0; c < st->ncols; c++) {
        const source_column *sc = &st->cols[c];
        if (synthetic(st, c))
            continue;
        json_t *counts = json_object();
        int lossy = 0, notable = 0;
        for (int k = 0; k < CK_N; k++) {
            if (ci[c].counts[k] < 0)
                continue;
            json_object_set_new(counts, check_names[k], json_integer(ci[c].counts[k]));
            if (ci[c].counts[k] > 0) {
                if (check_lossy((check_kind)k))
                    lossy = 1;
                else
                    notable = 1;
            }
        }
        const char *flag = ci[c].cql_id < 0 ? "unsupported"
                           : lossy           ? "lossy"
                           : notable || ci[c].value_typed ? "ambiguous"
                                                          : NULL;
        json_array_append_new(cols, json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:o}", "name",
                                              sc->name, "source_type", sc->decl_type, "cql_type",
                                              ci[c].cql, "flag", flag, "note", ci[c].note,
                                              "counts", counts));
        /* one risk per finding */
        char nb[32];
        for (int k = 0; k < CK_N; k++) {
            int64_t n = ci[c].counts[k];
            if (n <= 0)
                continue;
            const char *ex = json_string_value(ci[c].examples[k]);
            if (!ex)
                ex = "?";
            const char *s = sampled ? " in the sample" : "";
            const char *pl = n == 1 ? "" : "s";
            const char *kind = check_lossy((check_kind)k) ? "lossy_values" : "key_collision";
            switch ((check_kind)k) {
            case CK_INFINITY:
                add_risk(risks, kind, sc->name, n, json_incref(ci[c].examples[k]),
                         "%s.%s has %s infinite value%s%s (e.g. %s), which a Cassandra %s cannot "
                         "hold: those rows are rejected unless the plan maps them (coalesce, or "
                         "a where filter)",
                         st->name, sc->name, fmt_count(n, nb, sizeof nb), pl, s, ex, ci[c].cql);
                break;
            case CK_SUBMS:
                add_risk(risks, kind, sc->name, n, json_incref(ci[c].examples[k]),
                         "%s.%s has %s value%s%s with digits below the millisecond (e.g. %s), "
                         "which Cassandra's timestamp does not keep: those rows are rejected "
                         "(never rounded); map the column to text or a bigint of microseconds to "
                         "keep them",
                         st->name, sc->name, fmt_count(n, nb, sizeof nb), pl, s, ex);
                break;
            case CK_ZERO_DATE:
                add_risk(risks, kind, sc->name, n, json_incref(ci[c].examples[k]),
                         "%s.%s has %s zero date%s%s (e.g. %s), without a Cassandra value: "
                         "those rows are rejected; make them NULL in the source or in the plan",
                         st->name, sc->name, fmt_count(n, nb, sizeof nb), pl, s, ex);
                break;
            case CK_BEYOND_DOUBLE:
                add_risk(risks, kind, sc->name, n, json_incref(ci[c].examples[k]),
                         "%s.%s has %s integer%s%s wider than a double holds exactly (e.g. %s): "
                         "map the column to bigint or decimal to keep every digit",
                         st->name, sc->name, fmt_count(n, nb, sizeof nb), pl, s, ex);
                break;
            case CK_STORAGE:
                if (sc->decl_type[0])
                    add_risk(risks, "lossy_values", sc->name, n, json_incref(ci[c].examples[k]),
                             "%s.%s has %s value%s%s not stored as the declared type %s says "
                             "(e.g. %s): each is converted to %s on load and rejected if it "
                             "cannot be",
                             st->name, sc->name, fmt_count(n, nb, sizeof nb), pl, s,
                             sc->decl_type, ex, ci[c].cql);
                else
                    add_risk(risks, "lossy_values", sc->name, n, json_incref(ci[c].examples[k]),
                             "%s.%s, declared without a type, has %s value%s%s of another kind "
                             "than the %s its other values give it (e.g. %s): each is converted "
                             "to %s on load and rejected if it cannot be",
                             st->name, sc->name, fmt_count(n, nb, sizeof nb), pl, s, ci[c].cql,
                             ex, ci[c].cql);
                break;
            case CK_NO_VALUE:
                add_risk(risks, kind, sc->name, n, json_incref(ci[c].examples[k]),
                         "%s.%s has %s value%s%s that a Cassandra %s cannot hold (e.g. %s; the "
                         "column's note says which): those rows are rejected unless the plan "
                         "maps them (coalesce, a where filter, or a text column)",
                         st->name, sc->name, fmt_count(n, nb, sizeof nb), pl, s, ci[c].cql, ex);
                break;
            case CK_CHARSET:
                add_risk(risks, kind, sc->name, n, json_incref(ci[c].examples[k]),
                         "%s.%s has %s value%s%s with UTF-8 bytes stored as single-byte text (e.g. "
                         "%s): such text arrives in Cassandra as these characters; convert the "
                         "column in the source (CONVERT(CAST(col AS BINARY) USING utf8mb4)) if "
                         "it is",
                         st->name, sc->name, fmt_count(n, nb, sizeof nb), pl, s, ex);
                break;
            case CK_INVALID_UTF8:
                add_risk(risks, kind, sc->name, n, json_incref(ci[c].examples[k]),
                         "%s.%s has %s text value%s%s with invalid UTF-8 (e.g. %s), which "
                         "Cassandra's text refuses: those rows are rejected; map the column to "
                         "blob, or fix the text",
                         st->name, sc->name, fmt_count(n, nb, sizeof nb), pl, s, ex);
                break;
            case CK_PAD_SPACE:
                add_risk(risks, "key_collision", sc->name, n, json_incref(ci[c].examples[k]),
                         "%s.%s has %s key value%s%s ending in spaces (e.g. '%s'): MySQL's PAD "
                         "SPACE collation compares such a value equal to the one without the "
                         "spaces, Cassandra does not, so a lookup or a query-table partition "
                         "without the spaces misses it; trim them (trim() in the plan) if they "
                         "mean the same",
                         st->name, sc->name, fmt_count(n, nb, sizeof nb), pl, s, ex);
                break;
            case CK_FLOAT_KEY:
                add_risk(risks, "key_collision", sc->name, n, json_incref(ci[c].examples[k]),
                         "%s.%s is a floating-point key with a fraction in %s value%s%s "
                         "(e.g. %s): a lookup must give the exact same binary value, and one "
                         "that went through text or another precision misses; prefer an "
                         "integer or decimal key",
                         st->name, sc->name, fmt_count(n, nb, sizeof nb), pl, s, ex);
                break;
            case CK_N:
                break;
            }
        }
    }
    json_object_set_new(tj, "columns", cols);
    for (int c = 0; c < st->ncols; c++) {
        free(ci[c].cql);
        free(ci[c].note);
        for (int k = 0; k < CK_N; k++)
            json_decref(ci[c].examples[k]);
    }
    free(ci);

    /* partitions: the model's partition key and each foreign key's query table */
    json_t *parts = json_array();
    if (npk == 0 && rows >= 0) {
        /* keyed by rowid / line: one row a partition */
        json_int_t per_row = rows && bytes > 0 ? bytes / rows : 0;
        json_array_append_new(parts, json_pack("{s:s, s:[s], s:I, s:i, s:i, s:I, s:I, s:b}",
                                               "for", tname, "key", "rowid", "partitions",
                                               (json_int_t)rows, "rows_max", rows ? 1 : 0,
                                               "rows_p99", rows ? 1 : 0, "bytes_max", per_row,
                                               "bytes_p99", per_row, "sampled", 0));
    }
    if (a->d != D_FILES && a->src->ops->query) {
        if (npk > 0) {
            /* the first key column: unique when it is the whole key */
            json_t *p = partitions(a, st, tname, pk, 1, npk == 1, rows, sampled, f, risks);
            if (!p) {
                json_decref(parts);
                goto fail;
            }
            json_array_append_new(parts, p);
        }
        for (int k = 0; k < st->nfkeys; k++) {
            const source_fkey *fk = &st->fkeys[k];
            int ok = fk->ncols > 0 && !model_fkey_is_key_prefix(st, k);
            for (int i = 0; i < fk->ncols; i++)
                ok = ok && fk->cols[i] >= 0 && fk->cols[i] < st->ncols;
            if (!ok)
                continue;
            char *qt = model_query_table_name(a->schema, t, k);
            json_t *p = qt ? partitions(a, st, qt, fk->cols, fk->ncols, 0, rows, sampled, f,
                                        risks)
                           : NULL;
            free(qt);
            if (!p) {
                json_decref(parts);
                if (!a->err->code)
                    fail(a, 1, "out of memory");
                goto fail;
            }
            json_array_append_new(parts, p);
        }
    }
    json_object_set_new(tj, "partitions", parts);
    json_object_set_new(tj, "risks", risks);
    if (mrc == 0)
        model_release(&m);
    return tj;
fail:
    if (mrc == 0)
        model_release(&m);
    json_decref(risks);
    json_decref(tj);
    return NULL;
}

/* ---- the document ------------------------------------------------------------------ */

/* Is table t named in the comma-separated list (case-insensitively)? */
static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        const char *s = p;
        size_t l = len;
        while (l && *s == ' ') {
            s++;
            l--;
        }
        while (l && s[l - 1] == ' ')
            l--;
        if (l == n && !strncasecmp(s, name, n))
            return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

json_t *assess_run(source *src, const assess_options *o, assess_error *err)
{
    err->code = 0;
    err->msg[0] = 0;
    actx a = {.src = src, .sample = o->sample > 0 ? o->sample : ASSESS_SAMPLE_DEFAULT, .err = err};
    const char *kind = src->ops->name;
    a.d = !strcmp(kind, "sqlite") ? D_SQLITE : !strcmp(kind, "postgresql") ? D_PG
        : !strcmp(kind, "mysql") ? D_MYSQL : D_FILES;
    if (a.d != D_FILES && !src->ops->query)
        a.d = D_FILES;
    source_error se = {0};
    a.schema = src->ops->describe(src, &se);
    if (!a.schema) {
        fail(&a, 1, "%s", se.msg);
        return NULL;
    }
    /* --tables: every name must be a table */
    if (o->tables) {
        for (const char *p = o->tables; *p;) {
            size_t len = strcspn(p, ",");
            char want[512];
            snprintf(want, sizeof want, "%.*s", (int)(len < 500 ? len : 500), p);
            int found = 0;
            for (int t = 0; t < a.schema->ntables && !found; t++)
                found = !strcasecmp(a.schema->tables[t].name, want);
            if (!found) {
                cs_buf names;
                cs_buf_init(&names, 4096);
                for (int t = 0; t < a.schema->ntables; t++)
                    cs_buf_printf(&names, "%s%s", t ? ", " : "", a.schema->tables[t].name);
                fail(&a, 2, "--tables names '%s', which is not a table of %s; its tables are: %s",
                     want, o->source_label ? o->source_label : "the source",
                     names.data ? (const char *)names.data : "(none)");
                cs_buf_release(&names);
                return NULL;
            }
            p += len + (p[len] == ',');
        }
    }
    json_t *doc = json_pack("{s:s, s:s, s:I, s:[]}", "source",
                            o->source_label ? o->source_label : "", "kind", kind, "sample",
                            (json_int_t)a.sample, "tables");
    json_t *tables = json_object_get(doc, "tables");
    AS_ASSERT(tables);
    for (int t = 0; t < a.schema->ntables; t++) {
        if (o->tables && !listed(o->tables, a.schema->tables[t].name))
            continue;
        json_t *tj = assess_table(&a, t);
        if (!tj) {
            json_decref(doc);
            return NULL;
        }
        json_array_append_new(tables, tj);
    }
    json_t *notes = src->ops->notes ? src->ops->notes(src) : NULL;
    json_object_set_new(doc, "notes", notes ? notes : json_array());
    return doc;
}

/* ---- a key for a file ------------------------------------------------------------ */

/* A set of 64-bit hashes (open addressing; 0 marks an empty slot, so a
 * hash of 0 is stored as 1: two values may then look equal, never the
 * reverse). */
typedef struct hset {
    uint64_t *slot;
    size_t cap, n;      /* cap a power of two */
} hset;

/* Insert h: 1 added, 0 already there, -1 out of memory. */
static int hset_add(hset *s, uint64_t h)
{
    if (!h)
        h = 1;
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 1024;
        uint64_t *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i])
                for (size_t j = s->slot[i] & (ncap - 1);; j = (j + 1) & (ncap - 1))
                    if (!ns[j]) {
                        ns[j] = s->slot[i];
                        break;
                    }
        free(s->slot);
        s->slot = ns;
        s->cap = ncap;
    }
    for (size_t j = h & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
        if (s->slot[j] == h)
            return 0;
        if (!s->slot[j]) {
            s->slot[j] = h;
            s->n++;
            return 1;
        }
    }
}

int assess_file_key(source *src, int t, const int *cols, const cql_type *const *types, int ncols,
                    int64_t cap, assess_key_pick *out, assess_error *err)
{
    AS_ASSERT(src && (cols || !ncols) && out && cap > 0);
    source_error se = {0};
    const source_schema *schema = src->ops->describe(src, &se);
    AS_ASSERT(schema && t >= 0 && t < schema->ntables);
    const source_table *st = &schema->tables[t];
    int cand[ASSESS_KEY_CANDIDATES];
    hset sets[ASSESS_KEY_CANDIDATES];
    int ncand = 0;
    memset(sets, 0, sizeof sets);
    for (int k = 0; k < ncols && ncand < ASSESS_KEY_CANDIDATES; k++) {
        AS_ASSERT(cols[k] >= 0 && cols[k] < st->ncols && types[k]);
        cand[ncand++] = k;
    }
    out->col = -1;
    out->rows = 0;
    out->complete = 1;
    if (!ncand)
        return 0;
    unsigned char alive[ASSESS_KEY_CANDIDATES];
    memset(alive, 1, sizeof alive);
    int nalive = ncand, rc = 0;
    source_range *ranges = NULL;
    int nr = 0;
    if (src->ops->split(src, t, 1, &ranges, &nr, &se)) {
        snprintf(err->msg, sizeof err->msg, "%s", se.msg);
        err->code = 1;
        return -1;
    }
    row_batch b;
    row_batch_init(&b, 1024);
    cs_buf enc;
    cs_buf_init(&enc, SIZE_MAX);
    src_pos none = {0};
    for (int i = 0; i < nr && !rc && nalive && out->complete; i++) {
        source_reader *rd = src->ops->open_range(src, &ranges[i], &none, &se);
        if (!rd) {
            rc = -1;
            break;
        }
        int got;
        while (nalive && out->complete && (got = src->ops->read(rd, &b, 1024, &se)) != 0) {
            if (got < 0) {
                rc = -1;
                break;
            }
            for (int r = 0; r < b.n && nalive; r++) {
                const src_row *row = &b.rows[r];
                if (row->problem || row->skipped)
                    continue;   /* rejected or left out by the load too */
                if (out->rows >= cap) {
                    out->complete = 0;
                    break;
                }
                out->rows++;
                for (int k = 0; k < ncand; k++) {
                    if (!alive[k])
                        continue;
                    int c = cols[cand[k]];
                    cql_error ce;
                    cs_buf_reset(&enc);
                    int keep = c < row->nvals &&
                               load_convert_value(types[cand[k]], &row->vals[c], &enc, &ce) == 0 &&
                               enc.len > 4;   /* [int32 len][bytes]: null, unset, empty: no */
                    int added = keep ? hset_add(&sets[k], XXH3_64bits(enc.data + 4, enc.len - 4)) : 0;
                    if (added < 0) {
                        snprintf(err->msg, sizeof err->msg, "out of memory");
                        rc = -2;
                        break;
                    }
                    if (!added) {
                        alive[k] = 0;
                        nalive--;
                        free(sets[k].slot);
                        sets[k].slot = NULL;
                    }
                }
                if (rc)
                    break;
            }
        }
        src->ops->close_range(rd);
    }
    if (rc == -1)
        snprintf(err->msg, sizeof err->msg, "%s", se.msg);
    if (!rc)
        for (int k = 0; k < ncand; k++)
            if (alive[k]) {
                out->col = cols[cand[k]];
                break;
            }
    for (int k = 0; k < ncand; k++)
        free(sets[k].slot);
    cs_buf_release(&enc);
    row_batch_release(&b);
    source_ranges_free(ranges, nr);
    if (rc) {
        err->code = 1;
        return -1;
    }
    return 0;
}
