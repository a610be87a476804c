/* Work ranges from the state: planned once, read back by every resume.
 * The bounds are the connector's opaque bytes, kept as they are. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/loader.h"
#include "util/buf.h"

typedef struct collect {
    source_range *r;
    int n, cap;
    int table;
    int64_t expected;
    int bad;
} collect;

static int collect_one(void *ctx, const state_range *sr)
{
    collect *c = ctx;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        source_range *nr = realloc(c->r, (size_t)cap * sizeof *nr);
        if (!nr)
            return -1;
        c->r = nr;
        c->cap = cap;
    }
    source_range *r = &c->r[c->n++];
    memset(r, 0, sizeof *r);
    r->table = c->table;
    r->id = sr->id;
    if (src_pos_set(&r->lo, sr->lo, sr->lo_len) || src_pos_set(&r->hi, sr->hi, sr->hi_len))
        return -1;
    snprintf(r->label, sizeof r->label, "%s", sr->label ? sr->label : "");
    if (c->expected >= 0)
        c->expected = sr->source_count >= 0 ? c->expected + sr->source_count : -1;
    return 0;
}

__attribute__((format(printf, 2, 3))) static int fail(loader_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = 1;
    return -1;
}

/* Split table t now, count each range where the source can, and save. */
static int plan_table(source *src, state *st, load_table *lt, int ranges_per_table,
                      int64_t *expected, int count, loader_error *err)
{
    source_range *r = NULL;
    int n = 0;
    source_error se;
    if (src->ops->split(src, lt->src_table, ranges_per_table, &r, &n, &se))
        return fail(err, "%s", se.msg);
    state_range *sr = calloc((size_t)n, sizeof *sr);
    int rc = sr ? 0 : fail(err, "out of memory planning %s", lt->name);
    *expected = count && src->ops->count_range ? 0 : -1;
    int64_t *counts = NULL;     /* all ranges counted in one pass */
    if (rc == 0 && count && src->ops->count_ranges && n > 1) {
        counts = malloc((size_t)n * sizeof *counts);
        if (!counts)
            rc = fail(err, "out of memory planning %s", lt->name);
        else if (src->ops->count_ranges(src, r, n, counts, &se))
            rc = fail(err, "%s", se.msg);
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        int64_t cnt = -1;
        if (counts)
            cnt = counts[i];
        else if (count && src->ops->count_range &&
                 (cnt = src->ops->count_range(src, &r[i], &se)) < 0)
            rc = fail(err, "%s", se.msg);
        sr[i] = (state_range){.id = r[i].id, .lo = r[i].lo.p, .lo_len = r[i].lo.n,
                              .hi = r[i].hi.p, .hi_len = r[i].hi.n, .label = r[i].label,
                              .source_count = cnt};
        if (*expected >= 0)
            *expected += cnt;
    }
    state_error ste;
    if (rc == 0 && state_save_ranges(st, lt->name, sr, n, &ste))
        rc = fail(err, "%s", ste.msg);
    free(counts);
    free(sr);
    if (rc) {
        source_ranges_free(r, n);
        return -1;
    }
    lt->ranges = r;
    lt->nranges = n;
    return 0;
}

int load_ranges_plan(source *src, state *st, load_table *tables, int ntables,
                     int ranges_per_table, int64_t *expected, loader_error *err)
{
    state_error se;
    int in_tx = 0;
    int64_t none[1];
    for (int t = 0; t < ntables; t++) {
        int64_t *exp_t = expected ? &expected[t] : none;
        tables[t].ranges = NULL;
        tables[t].nranges = 0;
        if (tables[t].fed_by) {
            int f = tables[t].fed_by - 1;
            if (f < 0 || f >= t || tables[f].fed_by || tables[f].src_table != tables[t].src_table) {
                load_ranges_free(tables, t);
                if (in_tx)
                    state_transaction(st, -1, NULL);
                return fail(err, "internal error: %s is fed by a table that does not read "
                                 "its source table", tables[t].name);
            }
            tables[t].ranges = tables[f].ranges; /* shared, owned by tables[f] */
            tables[t].nranges = tables[f].nranges;
            *exp_t = expected ? expected[f] : -1;
            continue;
        }
        collect c = {.table = tables[t].src_table, .expected = 0};
        int n = state_load_ranges(st, tables[t].name, collect_one, &c, &se);
        if (n < 0 || c.bad) {
            source_ranges_free(c.r, c.n);
            load_ranges_free(tables, t);
            if (in_tx)
                state_transaction(st, -1, NULL);
            return n < 0 ? fail(err, "%s", se.msg)
                         : fail(err, "the state holds ranges of %s that this cqlshift cannot "
                                     "read; start the job over with --restart",
                                tables[t].name);
        }
        if (n > 0) {
            tables[t].ranges = c.r;
            tables[t].nranges = c.n;
            *exp_t = c.expected;
            continue;
        }
        /* Not planned yet: every unplanned table is split and saved in one
         * transaction, so a crash leaves all of them planned or none. */
        if (!in_tx && state_transaction(st, 0, &se)) {
            load_ranges_free(tables, t);
            return fail(err, "%s", se.msg);
        }
        in_tx = 1;
        if (plan_table(src, st, &tables[t], ranges_per_table, exp_t, expected != NULL, err)) {
            state_transaction(st, -1, NULL);
            load_ranges_free(tables, t);
            return -1;
        }
    }
    if (in_tx && state_transaction(st, 1, &se)) {
        load_ranges_free(tables, ntables);
        return fail(err, "%s", se.msg);
    }
    return 0;
}

void load_ranges_free(load_table *tables, int ntables)
{
    for (int t = 0; t < ntables; t++) {
        if (!tables[t].fed_by)
            source_ranges_free((source_range *)tables[t].ranges, tables[t].nranges);
        tables[t].ranges = NULL;
        tables[t].nranges = 0;
    }
}
