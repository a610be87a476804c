/* A plan mapping compiled for the loader (see rowmap.h). */
#include "map/rowmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map/expr.h"

struct map_rowmap {
    int ncols;                  /* the target table's columns (bound before the timestamp) */
    map_expr **cols;            /* per column: its expression, or NULL (null) */
    int *src_col;               /* per column: the fast path, LOAD_COL_COMPUTED or -1 */
    char **names;               /* per column: the target column's name (messages) */
    map_expr *where, *writetime, *ttl;
    int writetime_int;          /* writetime is an integer (microseconds) */
    load_row_map ops;
    int has_ops;
};

/* Report a map_error at its place in scalar s. */
static map_rowmap *fail_expr(map_rowmap *m, const plan *p, const plan_scalar *s, const char *what,
                             const map_error *me, plan_error *err)
{
    int line, col;
    plan_pos_at(s, me->offset, &line, &col);
    plan_fail_at(err, p->file, line, col, "%s: %s", what, me->msg);
    map_rowmap_free(m);
    return NULL;
}

static map_rowmap *fail_at(map_rowmap *m, const plan *p, const plan_scalar *s, const char *msg,
                           plan_error *err)
{
    plan_fail_at(err, p->file, s->line, s->col, "%s", msg);
    map_rowmap_free(m);
    return NULL;
}

/* ---- the loader's callbacks (read-only on m) ------------------------------ */

static int cb_value(void *ctx, int c, const src_row *r, arena *a, src_value *out, char *why,
                    size_t n)
{
    const map_rowmap *m = ctx;
    map_error me;
    if (!m->cols[c]) {
        out->kind = SV_NULL;
        return 0;
    }
    if (map_expr_eval(m->cols[c], r->vals, a, out, &me)) {
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
    if (map_expr_eval(m->where, r->vals, a, &v, &me)) {
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
    if (map_expr_eval(m->writetime, r->vals, a, &v, &me)) {
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
    if (map_expr_eval(m->ttl, r->vals, a, &v, &me)) {
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

map_rowmap *map_rowmap_compile(const plan *p, int mi, const source_table *st,
                               const target_table *tt, const cql_type *const *bind_types,
                               plan_error *err)
{
    const plan_mapping *mp = &p->mappings[mi];
    map_rowmap *m = calloc(1, sizeof *m);
    const char **names = st->ncols ? calloc((size_t)st->ncols, sizeof *names) : NULL;
    map_type *types = st->ncols ? calloc((size_t)st->ncols, sizeof *types) : NULL;
    if (!m || (st->ncols && (!names || !types))) {
        free(names);
        free(types);
        free(m);
        plan_fail_at(err, p->file, 0, 0, "out of memory");
        return NULL;
    }
    for (int i = 0; i < st->ncols; i++) {
        names[i] = st->cols[i].name;
        types[i] = map_type_of_column(&st->cols[i]);
    }
    map_env env = {.ncols = st->ncols, .names = names, .types = types};
    m->ncols = tt->ncols;
    m->cols = calloc((size_t)tt->ncols + 1, sizeof *m->cols);
    m->src_col = calloc((size_t)tt->ncols + 1, sizeof *m->src_col);
    m->names = calloc((size_t)tt->ncols + 1, sizeof *m->names);
    map_rowmap *ret = m;
    if (!m->cols || !m->src_col || !m->names) {
        ret = fail_at(m, p, &mp->to, "out of memory", err);
        goto done;
    }
    int computed = 0;
    for (int c = 0; c < tt->ncols; c++) {
        m->src_col[c] = -1;
        m->names[c] = strdup(tt->cols[c].name);
        const plan_map_column *pc = NULL;
        for (int k = 0; k < mp->ncols && !pc; k++)
            if (!strcmp(mp->cols[k].target.text, tt->cols[c].name))
                pc = &mp->cols[k];
        if (!pc)
            continue; /* not mapped: null (the plan check refuses an unmapped key column) */
        map_error me;
        map_type ty;
        char what[400];
        snprintf(what, sizeof what, "column %s", tt->cols[c].name);
        m->cols[c] = map_expr_compile(pc->expr.text, &env, &ty, &me);
        if (!m->cols[c]) {
            ret = fail_expr(m, p, &pc->expr, what, &me, err);
            goto done;
        }
        char why[400];
        if (!map_type_fits(ty, bind_types[c], why, sizeof why)) {
            char msg[900];
            cs_buf tb;
            cs_buf_init(&tb, 4096);
            cql_type_format(bind_types[c], &tb);
            snprintf(msg, sizeof msg, "column %s (%.*s) cannot take this %s expression: %s",
                     tt->cols[c].name, (int)tb.len, tb.data ? (const char *)tb.data : "?",
                     map_type_name(ty), why);
            cs_buf_release(&tb);
            ret = fail_at(m, p, &pc->expr, msg, err);
            goto done;
        }
        int sc = map_expr_column(m->cols[c]);
        m->src_col[c] = sc >= 0 ? sc : LOAD_COL_COMPUTED;
        computed |= sc < 0;
    }
    map_error me;
    map_type ty;
    if (mp->where.text) {
        if (!(m->where = map_expr_compile(mp->where.text, &env, &ty, &me))) {
            ret = fail_expr(m, p, &mp->where, "where", &me, err);
            goto done;
        }
        if (ty != MT_BOOL && ty != MT_NULL) {
            char msg[300];
            snprintf(msg, sizeof msg, "where must be a condition (true or false), not a %s "
                                      "expression: compare it, e.g. %s <> ''",
                     map_type_name(ty), mp->where.text);
            ret = fail_at(m, p, &mp->where, msg, err);
            goto done;
        }
    }
    if (mp->writetime.text) {
        if (!(m->writetime = map_expr_compile(mp->writetime.text, &env, &ty, &me))) {
            ret = fail_expr(m, p, &mp->writetime, "writetime", &me, err);
            goto done;
        }
        if (ty != MT_TIMESTAMP && ty != MT_INT && ty != MT_UINT) {
            char msg[300];
            snprintf(msg, sizeof msg, "writetime must be a timestamp or an integer of "
                                      "microseconds since 1970, not a %s expression (use "
                                      "from_epoch or to_timestamp)", map_type_name(ty));
            ret = fail_at(m, p, &mp->writetime, msg, err);
            goto done;
        }
        m->writetime_int = ty != MT_TIMESTAMP;
    }
    if (mp->ttl.text) {
        if (!(m->ttl = map_expr_compile(mp->ttl.text, &env, &ty, &me))) {
            ret = fail_expr(m, p, &mp->ttl, "ttl", &me, err);
            goto done;
        }
        if (ty != MT_INT && ty != MT_UINT && ty != MT_NULL) {
            char msg[300];
            snprintf(msg, sizeof msg, "ttl must be an integer number of seconds, not a %s "
                                      "expression", map_type_name(ty));
            ret = fail_at(m, p, &mp->ttl, msg, err);
            goto done;
        }
    }
    m->ops = (load_row_map){.ctx = m,
                            .value = cb_value,
                            .filter = m->where ? cb_filter : NULL,
                            .timestamp = m->writetime ? cb_timestamp : NULL,
                            .ttl = m->ttl ? cb_ttl : NULL};
    m->has_ops = computed || m->where || m->writetime || m->ttl;
done:
    free(names);
    free(types);
    return ret;
}

void map_rowmap_free(map_rowmap *m)
{
    if (!m)
        return;
    for (int c = 0; c < m->ncols; c++) {
        if (m->cols)
            map_expr_free(m->cols[c]);
        if (m->names)
            free(m->names[c]);
    }
    free(m->cols);
    free(m->names);
    free(m->src_col);
    map_expr_free(m->where);
    map_expr_free(m->writetime);
    map_expr_free(m->ttl);
    free(m);
}

int map_rowmap_src_col(const map_rowmap *m, int c)
{
    return m->src_col[c];
}

const load_row_map *map_rowmap_ops(const map_rowmap *m)
{
    return m->has_ops ? &m->ops : NULL;
}

int map_rowmap_has_ttl(const map_rowmap *m)
{
    return m->ttl != NULL;
}

int map_rowmap_value(const map_rowmap *m, int c, const src_row *r, arena *a, src_value *out,
                     char *why, size_t n)
{
    return cb_value((void *)m, c, r, a, out, why, n);
}
