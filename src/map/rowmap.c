/* A plan mapping compiled for the loader (see rowmap.h). */
#include "map/rowmap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map/expr.h"

struct map_rowmap {
    int ncols;                  /* the target table's columns (bound before the timestamp) */
    map_expr **cols;            /* per column: its expression, or NULL (null) */
    int *src_col;               /* per column: the fast path, LOAD_COL_COMPUTED or -1 */
    map_expr *where, *writetime, *ttl;
    load_row_map ops;
    int has_ops;
    int nunits;                 /* source columns with an entry in units */
    int *units;                 /* per source column: the load_epoch_unit of the integers
                                 * of a timestamp column, -1 for other columns; NULL: none */
};

/* Fill err; returns NULL after freeing m. */
static map_rowmap *fail(map_rowmap *m, map_rowmap_error *err, int what, int offset,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static map_rowmap *fail(map_rowmap *m, map_rowmap_error *err, int what, int offset,
                        const char *fmt, ...)
{
    err->what = what;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    map_rowmap_free(m);
    return NULL;
}

/* ---- the loader's callbacks (read-only on m) ------------------------------ */

/* The row as the expressions see it: an integer in a timestamp column
 * whose integers count seconds or microseconds (map_rowmap_set_units)
 * becomes the timestamp it means, as the loader's fast path reads it, so a
 * column, a computed value and a write time read it alike. The copy lives
 * in arena a. */
static const src_value *row_of(const map_rowmap *m, const src_row *r, arena *a)
{
    if (!m->units)
        return r->vals;
    src_value *v = arena_alloc(a, (size_t)(r->nvals ? r->nvals : 1) * sizeof *v);
    if (!v)
        return r->vals;
    memcpy(v, r->vals, (size_t)r->nvals * sizeof *v);
    for (int c = 0; c < r->nvals && c < m->nunits; c++) {
        if (v[c].kind != SV_INT || m->units[c] < 0)
            continue;
        int64_t mul = m->units[c] == LOAD_EPOCH_S ? 1000000 : m->units[c] == LOAD_EPOCH_US ? 1 : 1000;
        int64_t x = v[c].u.i;
        if (x > INT64_MAX / mul || x < INT64_MIN / mul) {
            src_value_set_bad(&v[c], a, "%lld %s since 1970 is beyond the range of a timestamp",
                              (long long)x, load_epoch_unit_words((load_epoch_unit)m->units[c]));
            continue;
        }
        v[c].kind = SV_TIMESTAMP;
        v[c].u.i = x * mul;
    }
    return v;
}

static int cb_value(void *ctx, int c, const src_row *r, arena *a, src_value *out, char *why,
                    size_t n)
{
    const map_rowmap *m = ctx;
    map_error me;
    if (!m->cols[c]) {
        out->kind = SV_NULL;
        return 0;
    }
    if (map_expr_eval(m->cols[c], row_of(m, r, a), a, out, &me)) {
        snprintf(why, n, "%s", me.msg);
        return -1;
    }
    return 0;
}

static int cb_filter(void *ctx, const src_row *r, arena *a, char *why, size_t n)
{
    const map_rowmap *m = ctx;
    map_error me;
    src_value v;
    if (map_expr_eval(m->where, row_of(m, r, a), a, &v, &me)) {
        snprintf(why, n, "where: %s", me.msg);
        return -1;
    }
    /* SQL's rule: a row whose condition is null is not taken; a SQLite
     * boolean is 0 or 1 */
    int t = map_value_truth(&v);
    if (t < 0) {
        snprintf(why, n, "where: the condition's value is not true or false");
        return -1;
    }
    return t;
}

static int cb_timestamp(void *ctx, const src_row *r, arena *a, int64_t *us, char *why, size_t n)
{
    const map_rowmap *m = ctx;
    map_error me;
    src_value v;
    if (map_expr_eval(m->writetime, row_of(m, r, a), a, &v, &me)) {
        snprintf(why, n, "writetime: %s", me.msg);
        return -1;
    }
    if (v.kind == SV_NULL) {
        snprintf(why, n, "writetime is null");
        return -1;
    }
    char inner[300];
    if (map_value_timestamp_us(&v, us, inner, sizeof inner)) {
        snprintf(why, n, "writetime: %s", inner);
        return -1;
    }
    if (*us < 0) {
        snprintf(why, n, "writetime %lld is before 1970", (long long)*us);
        return -1;
    }
    return 0;
}

static int cb_ttl(void *ctx, const src_row *r, arena *a, int32_t *secs, char *why, size_t n)
{
    const map_rowmap *m = ctx;
    map_error me;
    src_value v;
    if (map_expr_eval(m->ttl, row_of(m, r, a), a, &v, &me)) {
        snprintf(why, n, "ttl: %s", me.msg);
        return -1;
    }
    if (v.kind == SV_NULL) {
        *secs = -1; /* the table's default_time_to_live, if any */
        return 0;
    }
    int64_t t;
    char inner[300];
    if (map_value_int64(&v, &t, inner, sizeof inner)) {
        snprintf(why, n, "ttl: %s", inner);
        return -1;
    }
    /* Cassandra's maximum TTL is 20 years */
    if (t < 0 || t > 630720000) {
        snprintf(why, n, "ttl %lld is outside 0..630720000 seconds (20 years, Cassandra's "
                         "maximum)", (long long)t);
        return -1;
    }
    *secs = (int32_t)t;
    return 0;
}

/* ---- compiling ---------------------------------------------------------------- */

map_rowmap *map_rowmap_compile_exprs(const map_env *env, const map_rowmap_exprs *x,
                                     const cql_type *const *bind_types, map_rowmap_error *err)
{
    map_rowmap *m = calloc(1, sizeof *m);
    if (!m)
        return fail(NULL, err, MAP_RM_NONE, -1, "out of memory");
    m->ncols = x->ncols;
    m->cols = calloc((size_t)x->ncols + 1, sizeof *m->cols);
    m->src_col = calloc((size_t)x->ncols + 1, sizeof *m->src_col);
    if (!m->cols || !m->src_col)
        return fail(m, err, MAP_RM_NONE, -1, "out of memory");
    int computed = 0;
    for (int c = 0; c < x->ncols; c++) {
        m->src_col[c] = -1;
        if (!x->exprs[c])
            continue; /* not mapped: null (callers refuse an unmapped key column) */
        map_error me;
        map_type ty;
        m->cols[c] = map_expr_compile(x->exprs[c], env, &ty, &me);
        if (!m->cols[c])
            return fail(m, err, c, me.offset, "column %s: %s", x->names[c], me.msg);
        char why[400];
        if (!map_type_fits(ty, bind_types[c], why, sizeof why)) {
            cs_buf tb;
            cs_buf_init(&tb, 4096);
            cql_type_format(bind_types[c], &tb);
            fail(m, err, c, -1, "column %s (%.*s) cannot take this %s expression: %s",
                 x->names[c], (int)tb.len, tb.data ? (const char *)tb.data : "?",
                 map_type_name(ty), why);
            cs_buf_release(&tb);
            return NULL;
        }
        int sc = map_expr_column(m->cols[c]);
        m->src_col[c] = sc >= 0 ? sc : LOAD_COL_COMPUTED;
        computed |= sc < 0;
    }
    map_error me;
    map_type ty;
    if (x->where) {
        if (!(m->where = map_expr_compile(x->where, env, &ty, &me)))
            return fail(m, err, MAP_RM_WHERE, me.offset, "where: %s", me.msg);
        if (ty != MT_BOOL && ty != MT_NULL)
            return fail(m, err, MAP_RM_WHERE, -1,
                        "where must be a condition (true or false), not a %s expression: "
                        "compare it, e.g. %.200s <> ''",
                        map_type_name(ty), x->where);
    }
    if (x->writetime) {
        if (!(m->writetime = map_expr_compile(x->writetime, env, &ty, &me)))
            return fail(m, err, MAP_RM_WRITETIME, me.offset, "writetime: %s", me.msg);
        if (ty != MT_TIMESTAMP && ty != MT_INT && ty != MT_UINT)
            return fail(m, err, MAP_RM_WRITETIME, -1,
                        "writetime must be a timestamp or an integer of microseconds since "
                        "1970, not a %s expression (use from_epoch or to_timestamp)",
                        map_type_name(ty));
    }
    if (x->ttl) {
        if (!(m->ttl = map_expr_compile(x->ttl, env, &ty, &me)))
            return fail(m, err, MAP_RM_TTL, me.offset, "ttl: %s", me.msg);
        if (ty != MT_INT && ty != MT_UINT && ty != MT_NULL)
            return fail(m, err, MAP_RM_TTL, -1,
                        "ttl must be an integer number of seconds, not a %s expression",
                        map_type_name(ty));
    }
    m->ops = (load_row_map){.ctx = m,
                            .value = cb_value,
                            .filter = m->where ? cb_filter : NULL,
                            .timestamp = m->writetime ? cb_timestamp : NULL,
                            .ttl = m->ttl ? cb_ttl : NULL};
    m->has_ops = computed || m->where || m->writetime || m->ttl;
    return m;
}

map_rowmap *map_rowmap_compile(const plan *p, int mi, const source_table *st,
                               const target_table *tt, const cql_type *const *bind_types,
                               plan_error *err)
{
    const plan_mapping *mp = &p->mappings[mi];
    const char **names = calloc((size_t)st->ncols + 1, sizeof *names);
    map_type *types = calloc((size_t)st->ncols + 1, sizeof *types);
    const char **tnames = calloc((size_t)tt->ncols + 1, sizeof *tnames);
    const char **exprs = calloc((size_t)tt->ncols + 1, sizeof *exprs);
    const plan_scalar **scalars = calloc((size_t)tt->ncols + 1, sizeof *scalars);
    map_rowmap *m = NULL;
    if (!names || !types || !tnames || !exprs || !scalars) {
        plan_fail_at(err, p->file, 0, 0, "out of memory");
        goto done;
    }
    for (int i = 0; i < st->ncols; i++) {
        names[i] = st->cols[i].name;
        types[i] = map_type_of_column(&st->cols[i]);
    }
    for (int c = 0; c < tt->ncols; c++) {
        tnames[c] = tt->cols[c].name;
        for (int k = 0; k < mp->ncols && !scalars[c]; k++)
            if (!strcmp(mp->cols[k].target.text, tt->cols[c].name))
                scalars[c] = &mp->cols[k].expr;
        exprs[c] = scalars[c] ? scalars[c]->text : NULL;
    }
    map_env env = {.ncols = st->ncols, .names = names, .types = types};
    map_rowmap_exprs x = {.ncols = tt->ncols, .names = tnames, .exprs = exprs,
                          .where = mp->where.text, .writetime = mp->writetime.text,
                          .ttl = mp->ttl.text};
    map_rowmap_error re;
    m = map_rowmap_compile_exprs(&env, &x, bind_types, &re);
    if (!m) {
        /* the place in the plan: inside the expression, or the expression itself */
        const plan_scalar *s = re.what >= 0            ? scalars[re.what]
                               : re.what == MAP_RM_WHERE     ? &mp->where
                               : re.what == MAP_RM_WRITETIME ? &mp->writetime
                               : re.what == MAP_RM_TTL       ? &mp->ttl
                                                             : &mp->to;
        int line = s->line, col = s->col;
        if (re.offset >= 0)
            plan_pos_at(s, re.offset, &line, &col);
        plan_fail_at(err, p->file, line, col, "%s", re.msg);
    }
done:
    free(names);
    free(types);
    free(tnames);
    free(exprs);
    free(scalars);
    return m;
}

void map_rowmap_free(map_rowmap *m)
{
    if (!m)
        return;
    for (int c = 0; m->cols && c < m->ncols; c++)
        map_expr_free(m->cols[c]);
    free(m->cols);
    free(m->src_col);
    map_expr_free(m->where);
    map_expr_free(m->writetime);
    map_expr_free(m->ttl);
    free(m->units);
    free(m);
}

int map_rowmap_set_units(map_rowmap *m, int n, const int *units)
{
    int any = 0;
    for (int c = 0; c < n; c++)
        any |= units[c] >= 0;
    if (!any)
        return 0;
    int *u = malloc((size_t)n * sizeof *u);
    if (!u)
        return -1;
    memcpy(u, units, (size_t)n * sizeof *u);
    free(m->units);
    m->units = u;
    m->nunits = n;
    /* the callbacks must run for a computed value to see the timestamps */
    return 0;
}

int map_rowmap_src_col(const map_rowmap *m, int c)
{
    return m->src_col[c];
}

const load_row_map *map_rowmap_ops(const map_rowmap *m)
{
    return m->has_ops ? &m->ops : NULL;
}

void map_rowmap_uses(const map_rowmap *m, unsigned char *used, int ncols)
{
    for (int c = 0; c < m->ncols; c++)
        if (m->cols[c])
            map_expr_uses(m->cols[c], used, ncols);
    const map_expr *more[3] = {m->where, m->writetime, m->ttl};
    for (int i = 0; i < 3; i++)
        if (more[i])
            map_expr_uses(more[i], used, ncols);
}


int map_rowmap_value(const map_rowmap *m, int c, const src_row *r, arena *a, src_value *out,
                     char *why, size_t n)
{
    return cb_value((void *)m, c, r, a, out, why, n);
}
