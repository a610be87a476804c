/* verify: bucket digests of both sides, then a key-by-key match of the
 * buckets that differ (verify.h). */
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "target/scan.h"
#include "util/check.h"
#include "verify/verify.h"

#define MAX_BITS 20
#define ROWS_PER_BUCKET 4096

void verify_config_init(verify_config *c)
{
    memset(c, 0, sizeof *c);
    c->workers = 2;
    c->batch_rows = 500;
    c->page_size = 5000;
    c->consistency = CQL_LOCAL_QUORUM;
}

/* One target table and what both sides hold of it. */
typedef struct vgroup {
    char keyspace[256], table[256];
    const load_table *lt;       /* the first table feeding it: its columns */
    int nvals;
    const cql_prepared *select; /* SELECT token(pk), cols FROM t WHERE token(pk) >= ? AND <= ? */
    const cql_prepared *del;    /* DELETE FROM t USING TIMESTAMP ? WHERE key = ?... (repair) */
    int bits;
    uint32_t nb;
    uint64_t *src;              /* 2 * nb: count, sum of row hashes */
    uint64_t *tgt;
    unsigned char *tdone;       /* target bucket read */
    unsigned char *diff;        /* bucket differs */
    uint64_t *src_again;        /* --recheck: the differing buckets' sums in the source read
                                 * again (2 * nb), which a repair is then checked against */
    verify_counts c;
} vgroup;

/* Per worker and target table: one range's contribution. */
typedef struct acc {
    uint64_t *b;                /* 2 * nb */
    int64_t rows, rejected, filtered;
    int touched;
} acc;

typedef struct verifier {
    source *src;
    cql_session *s;
    const load_table *tables;
    int ntables;
    const verify_config *cfg;
    state *st;
    vgroup *g;
    int ng;
    int *group_of;              /* per table */
    /* source work: (table that reads, range) */
    int *items_table;
    const source_range **items_range;
    int nitems;
    atomic_int next_item;
    /* target work: (group, bucket) */
    atomic_llong next_bucket;
    int64_t nbuckets_total;
    int phase;                  /* 0: digests; 1: spill the differing buckets */
    pthread_mutex_t mu;         /* the groups' sums, the spill, the state */
    sqlite3 *spill;
    sqlite3_stmt *ins[2];       /* into s (source) and t (target) */
    atomic_int fatal;
    char msg[1024];
    int code;
    int rechecking;             /* the second pass of --recheck */
    int reading_again;          /* while that pass reads: sum the source into src_again */
    cql_future *fut[256];       /* repairs in flight */
    const vgroup *repairing;    /* the table they write (for messages) */
    int nfut;
    cs_buf req;                 /* a repair's values */
} verifier;

static void set_fatal(verifier *V, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_fatal(verifier *V, int code, const char *fmt, ...)
{
    pthread_mutex_lock(&V->mu);
    if (!atomic_load(&V->fatal)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(V->msg, sizeof V->msg, fmt, ap);
        va_end(ap);
        V->code = code;
        atomic_store(&V->fatal, 1);
    }
    pthread_mutex_unlock(&V->mu);
}

static int stopping(verifier *V)
{
    if (atomic_load(&V->fatal))
        return 1;
    if (V->cfg->interrupt && atomic_load(V->cfg->interrupt)) {
        set_fatal(V, 5, "interrupted");
        return 1;
    }
    return 0;
}

/* The canonical key and values of a row given as nvals (pointer, length)
 * pairs; returns the row hash, *kh the key's. */
static uint64_t row_hash(const vgroup *g, const uint8_t *const *p, const int32_t *len, cs_buf *key,
                         cs_buf *val, uint64_t *vh)
{
    cs_buf_reset(key);
    cs_buf_reset(val);
    const load_table *t = g->lt;
    for (int c = 0; c < g->nvals; c++)
        verify_canon_value(t->types[c], p[c], len[c], t->is_key[c] ? key : val);
    uint64_t kh = XXH3_64bits(key->data, key->len);
    *vh = XXH3_64bits(val->data, val->len);
    uint64_t pair[2] = {kh, *vh};
    return XXH3_64bits(pair, sizeof pair);
}

/* Split n encoded values ([int32 len][bytes] each) into p/len. 0 or -1. */
static int split_values(const uint8_t *v, size_t n, int nvals, const uint8_t **p, int32_t *len)
{
    cs_rd r;
    cs_rd_init(&r, v, n);
    for (int c = 0; c < nvals; c++) {
        len[c] = (int32_t)cs_rd_u32(&r);
        p[c] = len[c] > 0 ? cs_rd_bytes(&r, (size_t)len[c]) : (const uint8_t *)"";
        if (len[c] < -2)
            return -1;
    }
    return r.err ? -1 : 0;
}

static int spill_insert(verifier *V, int side, int g, uint32_t b, const cs_buf *key, uint64_t vh,
                        const uint8_t *v, size_t vn, int ti, const cs_buf *tail, uint64_t h)
{
    pthread_mutex_lock(&V->mu);
    if (side == 0 && V->reading_again && V->g[g].src_again) {
        V->g[g].src_again[2 * b]++;
        V->g[g].src_again[2 * b + 1] += h;
    }
    sqlite3_stmt *s = V->ins[side];
    sqlite3_bind_int(s, 6, ti);
    if (tail && tail->len)
        sqlite3_bind_blob(s, 7, tail->data, (int)tail->len, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 7);
    sqlite3_bind_int(s, 1, g);
    sqlite3_bind_int64(s, 2, b);
    sqlite3_bind_blob(s, 3, key->data ? (const void *)key->data : "", (int)key->len,
                      SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)vh);
    sqlite3_bind_blob(s, 5, vn ? (const void *)v : "", (int)vn, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    pthread_mutex_unlock(&V->mu);
    if (rc != SQLITE_DONE) {
        set_fatal(V, 1, "the spill file %s: %s", V->cfg->spill_path, sqlite3_errmsg(V->spill));
        return -1;
    }
    return 0;
}

/* ---- the source side ---- */

typedef struct sworker {
    verifier *V;
    acc *acc;                   /* per group */
    cs_buf values, key, val, tail;
    arena scratch;
    row_batch batch;
    const uint8_t **p;
    int32_t *len;
} sworker;

static void source_row(sworker *w, const load_table *t, int gi, const src_row *r)
{
    verifier *V = w->V;
    vgroup *g = &V->g[gi];
    acc *a = &w->acc[gi];
    a->touched = 1;
    char why[768];
    if (r->problem) {
        a->rejected++;
        return;
    }
    if (r->skipped) { /* a comment line, --skip-rows: as load counted it */
        a->filtered++;
        return;
    }
    if (t->map)
        arena_reset(&w->scratch);
    if (t->map && t->map->filter) {
        int keep = t->map->filter(t->map->ctx, r, &w->scratch, why, sizeof why);
        if (keep <= 0) {
            if (keep < 0)
                a->rejected++;
            else
                a->filtered++;
            return;
        }
    }
    cs_buf_reset(&w->values);
    if (load_encode_values(t, r, &w->scratch, &w->values, why, sizeof why)) {
        a->rejected++;
        return;
    }
    /* the copy rejects a row whose write time or TTL cannot be computed
     * (a null writetime, a TTL out of range): so does verify, in every
     * pass, or the row would count as a source row the target lacks */
    int64_t ts = V->cfg->repair_timestamp_us;
    int32_t ttl = -1;
    const load_row_map *m = t->map;
    if ((m && m->timestamp && m->timestamp(m->ctx, r, &w->scratch, &ts, why, sizeof why)) ||
        (m && m->ttl && m->ttl(m->ctx, r, &w->scratch, &ttl, why, sizeof why))) {
        a->rejected++;
        return;
    }
    int ok = 0;
    int64_t tok = cql_token_of_values(t->insert, w->values.data, w->values.len, &ok);
    if (!ok || split_values(w->values.data, w->values.len, g->nvals, w->p, w->len)) {
        a->rejected++;
        return;
    }
    uint64_t vh;
    uint64_t h = row_hash(g, w->p, w->len, &w->key, &w->val, &vh);
    uint32_t b = verify_bucket_of(tok, g->bits);
    if (V->phase == 0) {
        a->rows++;
        a->b[2 * b]++;
        a->b[2 * b + 1] += h;
    } else if (g->diff[b]) {
        /* what a repair writes after the values: USING TIMESTAMP ? [AND TTL ?] */
        cs_buf_reset(&w->tail);
        cs_buf_put_u32(&w->tail, 8);
        cs_buf_put_u64(&w->tail, (uint64_t)ts);
        if (t->map && t->map->ttl) {
            if (ttl < 0) {
                cql_value_put_unset(&w->tail);
            } else {
                cs_buf_put_u32(&w->tail, 4);
                cs_buf_put_u32(&w->tail, (uint32_t)ttl);
            }
        }
        spill_insert(V, 0, gi, b, &w->key, vh, w->values.data, w->values.len, (int)(t - V->tables),
                     &w->tail, h);
    }
}

/* Blob of one finished range: per group touched, [u32 group][i64 rows,
 * rejected, filtered][nb x (count, sum)]. */
static char *range_key(const verifier *V, int ti, int range_id, char *out, size_t n)
{
    snprintf(out, n, "verify.src.%s.%d", V->tables[ti].name, range_id);
    return out;
}

static int save_range(sworker *w, int ti, int range_id)
{
    verifier *V = w->V;
    cs_buf b;
    cs_buf_init(&b, SIZE_MAX);
    int rc = 0, bad = 0;
    pthread_mutex_lock(&V->mu);
    for (int gi = 0; gi < V->ng; gi++) {
        acc *a = &w->acc[gi];
        if (!a->touched)
            continue;
        vgroup *g = &V->g[gi];
        for (uint32_t k = 0; k < 2 * g->nb; k++)
            g->src[k] += a->b[k];
        g->c.source_rows += a->rows;
        g->c.rejected += a->rejected;
        g->c.filtered += a->filtered;
        if (V->st) {
            bad |= cs_buf_put_u32(&b, (uint32_t)gi);
            bad |= cs_buf_put_u64(&b, (uint64_t)a->rows);
            bad |= cs_buf_put_u64(&b, (uint64_t)a->rejected);
            bad |= cs_buf_put_u64(&b, (uint64_t)a->filtered);
            for (uint32_t k = 0; k < 2 * g->nb; k++)
                bad |= cs_buf_put_u64(&b, a->b[k]);
        }
    }
    pthread_mutex_unlock(&V->mu);
    if (V->st) {
        char key[600];
        state_error se;
        if (bad || state_blob_set(V->st, range_key(V, ti, range_id, key, sizeof key),
                                    b.data ? (const void *)b.data : "", b.len, &se)) {
            set_fatal(V, 1, "cannot save the verify state: %s", bad ? "out of memory" : se.msg);
            rc = -1;
        }
    }
    cs_buf_release(&b);
    return rc;
}

/* Add a saved range's blob to the groups. 0, or -1 if malformed. */
static int load_range(verifier *V, const uint8_t *d, size_t n)
{
    cs_rd r;
    cs_rd_init(&r, d, n);
    while (r.n > 0 && !r.err) {
        uint32_t gi = cs_rd_u32(&r);
        if (gi >= (uint32_t)V->ng)
            return -1;
        vgroup *g = &V->g[gi];
        g->c.source_rows += (int64_t)cs_rd_u64(&r);
        g->c.rejected += (int64_t)cs_rd_u64(&r);
        g->c.filtered += (int64_t)cs_rd_u64(&r);
        for (uint32_t k = 0; k < 2 * g->nb; k++)
            g->src[k] += cs_rd_u64(&r);
    }
    return r.err ? -1 : 0;
}

static void run_source_item(sworker *w, int item)
{
    verifier *V = w->V;
    int ti = V->items_table[item];
    const source_range *rg = V->items_range[item];
    /* the tables this read feeds: t and those fed by it */
    int outs[LOAD_MAX_FED + 1], nouts = 0;
    outs[nouts++] = ti;
    for (int j = 0; j < V->ntables && nouts <= LOAD_MAX_FED; j++)
        if (V->tables[j].fed_by == ti + 1)
            outs[nouts++] = j;
    int wanted = 0;
    for (int o = 0; o < nouts; o++) {
        vgroup *g = &V->g[V->group_of[outs[o]]];
        if (V->phase == 0) {
            wanted = 1;
        } else {
            for (uint32_t b = 0; b < g->nb && !wanted; b++)
                wanted = g->diff[b];
        }
    }
    if (!wanted)
        return;
    for (int gi = 0; gi < V->ng; gi++) {
        acc *a = &w->acc[gi];
        if (a->touched && a->b)
            memset(a->b, 0, 2 * V->g[gi].nb * sizeof *a->b);
        a->rows = a->rejected = a->filtered = 0;
        a->touched = 0;
    }
    source_error serr;
    src_pos none = {0};
    source_reader *rd = V->src->ops->open_range(V->src, rg, &none, &serr);
    if (!rd) {
        set_fatal(V, 1, "%s", serr.msg);
        return;
    }
    for (;;) {
        if (stopping(V))
            break;
        int n = V->src->ops->read(rd, &w->batch, V->cfg->batch_rows, &serr);
        if (n < 0) {
            set_fatal(V, 1, "%s", serr.msg);
            break;
        }
        if (n == 0) {
            if (V->phase == 0)
                save_range(w, ti, rg->id);
            break;
        }
        if (V->cfg->progress)
            atomic_fetch_add(&V->cfg->progress->source_rows, w->batch.n);
        for (int i = 0; i < w->batch.n; i++)
            for (int o = 0; o < nouts; o++)
                source_row(w, &V->tables[outs[o]], V->group_of[outs[o]], &w->batch.rows[i]);
    }
    V->src->ops->close_range(rd);
}

static void *source_main(void *arg)
{
    sworker *w = arg;
    verifier *V = w->V;
    for (;;) {
        int item = atomic_fetch_add(&V->next_item, 1);
        if (item >= V->nitems || stopping(V))
            break;
        run_source_item(w, item);
    }
    return NULL;
}

/* ---- the target side ---- */

typedef struct tworker {
    verifier *V;
    cs_buf key, val, row;
    const uint8_t **p;
    int32_t *len;
} tworker;

static char *bucket_key(const verifier *V, int gi, char *out, size_t n)
{
    snprintf(out, n, "verify.tgt.%s.%s", V->g[gi].keyspace, V->g[gi].table);
    return out;
}

typedef struct bucket_ctx {
    tworker *w;
    int gi;
    uint32_t b;
    uint64_t count, sum;
} bucket_ctx;

static int bucket_stop(void *ctx) { return stopping(((bucket_ctx *)ctx)->w->V); }

/* One page of bucket b: counted and summed (phase 0) or spilled. */
static int bucket_page(void *ctx, const cql_result *r, int last)
{
    (void)last;
    bucket_ctx *bc = ctx;
    tworker *w = bc->w;
    verifier *V = w->V;
    vgroup *g = &V->g[bc->gi];
    int32_t nrows = cql_result_row_count(r);
    if (V->cfg->progress)
        atomic_fetch_add(&V->cfg->progress->target_rows, nrows);
    for (int32_t i = 0; i < nrows; i++) {
        for (int c = 0; c < g->nvals; c++)
            w->len[c] = cql_result_value(r, i, c + 1, &w->p[c]);
        uint64_t vh;
        uint64_t h = row_hash(g, w->p, w->len, &w->key, &w->val, &vh);
        if (V->phase == 0) {
            bc->count++;
            bc->sum += h;
        } else {
            cs_buf_reset(&w->row);
            for (int c = 0; c < g->nvals; c++) {
                cs_buf_put_u32(&w->row, (uint32_t)(w->len[c] < 0 ? -1 : w->len[c]));
                if (w->len[c] > 0)
                    cs_buf_append(&w->row, w->p[c], (size_t)w->len[c]);
            }
            if (spill_insert(V, 1, bc->gi, bc->b, &w->key, vh, w->row.data, w->row.len, -1,
                             NULL, 0))
                return 1;
        }
    }
    return 0;
}

/* Read bucket b of group gi: its count and sum (phase 0), or its rows into
 * the spill (phase 1). 0 or -1. */
static int read_bucket(tworker *w, int gi, uint32_t b)
{
    verifier *V = w->V;
    vgroup *g = &V->g[gi];
    int64_t lo, hi;
    verify_bucket_bounds(b, g->bits, &lo, &hi);
    bucket_ctx bc = {.w = w, .gi = gi, .b = b};
    target_scan sc = {.s = V->s, .select = g->select, .bounded = 1, .lo = lo, .hi = hi,
                      .consistency = V->cfg->consistency, .page_size = V->cfg->page_size,
                      .before_page = bucket_stop, .on_page = bucket_page, .ctx = &bc};
    cql_error ce;
    int rc = target_scan_run(&sc, &ce);
    if (rc < 0)
        set_fatal(V, 1, "cannot read %s.%s (tokens %" PRId64 "..%" PRId64 "): %s", g->keyspace,
                  g->table, lo, hi, ce.msg);
    rc = rc ? -1 : 0;
    uint64_t count = bc.count, sum = bc.sum;
    if (rc == 0 && V->cfg->progress)
        atomic_fetch_add(&V->cfg->progress->ranges_done, 1);
    if (rc == 0 && V->phase == 0) {
        pthread_mutex_lock(&V->mu);
        g->tgt[2 * b] = count;
        g->tgt[2 * b + 1] = sum;
        g->tdone[b] = 1;
        pthread_mutex_unlock(&V->mu);
        if (V->st) {
            uint8_t rec[16];
            cs_put_be64(rec, count);
            cs_put_be64(rec + 8, sum);
            char key[700], sub[800];
            bucket_key(V, gi, key, sizeof key);
            snprintf(sub, sizeof sub, "%s.%" PRIu32, key, b);
            state_error se;
            if (state_blob_set(V->st, sub, rec, sizeof rec, &se)) {
                set_fatal(V, 1, "cannot save the verify state: %s", se.msg);
                rc = -1;
            }
        }
    }
    return rc;
}

static void *target_main(void *arg)
{
    tworker *w = arg;
    verifier *V = w->V;
    for (;;) {
        int64_t k = atomic_fetch_add(&V->next_bucket, 1);
        if (k >= V->nbuckets_total || stopping(V))
            break;
        int gi = 0;
        while (gi < V->ng && k >= (int64_t)V->g[gi].nb) {
            k -= V->g[gi].nb;
            gi++;
        }
        uint32_t b = (uint32_t)k;
        vgroup *g = &V->g[gi];
        if (V->phase == 0 ? g->tdone[b] : !g->diff[b])
            continue;
        if (read_bucket(w, gi, b))
            break;
    }
    return NULL;
}

/* ---- both sides at once ---- */

static int run_phase(verifier *V)
{
    int nsrc = V->cfg->workers > 0 ? V->cfg->workers : 1;
    int ntgt = 2 * nsrc + 2;
    atomic_store(&V->next_item, 0);
    atomic_store(&V->next_bucket, 0);
    sworker *sw = calloc((size_t)nsrc, sizeof *sw);
    tworker *tw = calloc((size_t)ntgt, sizeof *tw);
    pthread_t *th = calloc((size_t)(nsrc + ntgt), sizeof *th);
    int maxvals = 1;
    for (int gi = 0; gi < V->ng; gi++)
        if (V->g[gi].nvals > maxvals)
            maxvals = V->g[gi].nvals;
    int started = 0, bad = !sw || !tw || !th;
    for (int i = 0; i < nsrc && !bad; i++) {
        sworker *w = &sw[i];
        w->V = V;
        cs_buf_init(&w->values, (size_t)256 << 20); /* a request body's limit */
        cs_buf_init(&w->key, SIZE_MAX);
        cs_buf_init(&w->val, SIZE_MAX);
        cs_buf_init(&w->tail, 64);
        arena_init(&w->scratch, 16 * 1024);
        row_batch_init(&w->batch, V->cfg->batch_rows);
        w->p = calloc((size_t)maxvals, sizeof *w->p);
        w->len = calloc((size_t)maxvals, sizeof *w->len);
        w->acc = calloc((size_t)V->ng, sizeof *w->acc);
        bad |= !w->p || !w->len || !w->acc;
        for (int gi = 0; gi < V->ng && !bad && V->phase == 0; gi++) {
            w->acc[gi].b = calloc(2 * (size_t)V->g[gi].nb, sizeof *w->acc[gi].b);
            bad |= !w->acc[gi].b;
        }
    }
    for (int i = 0; i < ntgt && !bad; i++) {
        tworker *w = &tw[i];
        w->V = V;
        cs_buf_init(&w->key, SIZE_MAX);
        cs_buf_init(&w->val, SIZE_MAX);
        cs_buf_init(&w->row, SIZE_MAX);
        w->p = calloc((size_t)maxvals, sizeof *w->p);
        w->len = calloc((size_t)maxvals, sizeof *w->len);
        bad |= !w->p || !w->len;
    }
    if (bad)
        set_fatal(V, 1, "out of memory");
    for (int i = 0; i < nsrc && !bad; i++, started++)
        if (pthread_create(&th[started], NULL, source_main, &sw[i])) {
            set_fatal(V, 1, "cannot start a thread");
            bad = 1;
        }
    for (int i = 0; i < ntgt && !bad; i++, started++)
        if (pthread_create(&th[started], NULL, target_main, &tw[i])) {
            set_fatal(V, 1, "cannot start a thread");
            bad = 1;
        }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; sw && i < nsrc; i++) {
        sworker *w = &sw[i];
        if (!w->V)
            continue;
        cs_buf_release(&w->values);
        cs_buf_release(&w->key);
        cs_buf_release(&w->val);
        cs_buf_release(&w->tail);
        arena_release(&w->scratch);
        row_batch_release(&w->batch);
        free(w->p);
        free(w->len);
        for (int gi = 0; w->acc && gi < V->ng; gi++)
            free(w->acc[gi].b);
        free(w->acc);
    }
    for (int i = 0; tw && i < ntgt; i++) {
        tworker *w = &tw[i];
        if (!w->V)
            continue;
        cs_buf_release(&w->key);
        cs_buf_release(&w->val);
        cs_buf_release(&w->row);
        free(w->p);
        free(w->len);
    }
    free(sw);
    free(tw);
    free(th);
    return atomic_load(&V->fatal) ? -1 : 0;
}

/* ---- the differences ---- */

static int spill_open(verifier *V)
{
    remove(V->cfg->spill_path);
    if (sqlite3_open(V->cfg->spill_path, &V->spill) != SQLITE_OK) {
        set_fatal(V, 1, "cannot create the spill file %s: %s", V->cfg->spill_path,
                  V->spill ? sqlite3_errmsg(V->spill) : "out of memory");
        return -1;
    }
    const char *ddl = "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16384;"
                      "PRAGMA temp_store=FILE;"
                      "CREATE TABLE s (g INTEGER, b INTEGER, k BLOB, vh INTEGER, v BLOB, ti INTEGER,"
                      " tail BLOB);"
                      "CREATE TABLE t (g INTEGER, b INTEGER, k BLOB, vh INTEGER, v BLOB, ti INTEGER,"
                      " tail BLOB);"
                      "BEGIN";
    const char *ins[2] = {"INSERT INTO s VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                          "INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"};
    if (sqlite3_exec(V->spill, ddl, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(V->spill, ins[0], -1, &V->ins[0], NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(V->spill, ins[1], -1, &V->ins[1], NULL) != SQLITE_OK) {
        set_fatal(V, 1, "the spill file %s: %s", V->cfg->spill_path, sqlite3_errmsg(V->spill));
        return -1;
    }
    return 0;
}

static void spill_close(verifier *V)
{
    if (!V->spill)
        return;
    sqlite3_finalize(V->ins[0]);
    sqlite3_finalize(V->ins[1]);
    sqlite3_close(V->spill);
    V->spill = NULL;
    remove(V->cfg->spill_path);
}

/* The columns of encoded values v as a JSON object: the key columns
 * (want_key) or the others whose index is set in pick (NULL: all). */
static json_t *values_json(const vgroup *g, const uint8_t *const *p, const int32_t *len,
                           int want_key, const unsigned char *pick)
{
    json_t *o = json_object();
    for (int c = 0; o && c < g->nvals; c++) {
        if (!!g->lt->is_key[c] != want_key || (pick && !pick[c]))
            continue;
        cql_error ce;
        json_t *v = len[c] < 0 ? json_null()
                               : cql_value_decode_json(g->lt->types[c], p[c], len[c], &ce);
        json_object_set_new(o, g->lt->col_names[c], v ? v : json_string("(undecodable)"));
    }
    return o;
}

static int emit(verifier *V, const vgroup *g, const verify_sink *sink, json_t *d)
{
    verify_columns cols = {g->nvals, g->lt->col_names, g->lt->types};
    int rc = d && sink && sink->difference ? sink->difference(sink->ctx, d, &cols) : 0;
    if (!d)
        rc = -1;
    json_decref(d);
    if (rc)
        set_fatal(V, 1, "cannot write the differences");
    return rc;
}

static json_t *diff_new(const vgroup *g, const char *kind)
{
    char name[520];
    snprintf(name, sizeof name, "%s.%s", g->keyspace, g->table);
    return json_pack("{s:s, s:s, s:s}", "type", "difference", "table", name, "kind", kind);
}

/* Wait for the repairs in flight. 0, or -1 (fatal set) if one failed. */
static int repair_wait(verifier *V)
{
    int rc = 0;
    for (int i = 0; i < V->nfut; i++) {
        cql_error ce;
        if (cql_future_wait(V->fut[i], &ce) && rc == 0) {
            set_fatal(V, 1, "a repair write to %s.%s failed: %s (the repairs sent before it "
                            "were written)",
                      V->repairing ? V->repairing->keyspace : "?",
                      V->repairing ? V->repairing->table : "?", ce.msg);
            rc = -1;
        }
        cql_future_free(V->fut[i]);
    }
    V->nfut = 0;
    return rc;
}

/* Send statement p with the values in V->req. 0 or -1. */
static int repair_send(verifier *V, const cql_prepared *p, int nvalues)
{
    if (V->nfut == (int)(sizeof V->fut / sizeof V->fut[0]) && repair_wait(V))
        return -1;
    cql_statement st = {0};
    st.prepared = p;
    st.values = V->req.data;
    st.values_len = V->req.len;
    st.nvalues = (uint16_t)nvalues;
    st.consistency = V->cfg->consistency;
    st.idempotent = 1;
    cql_error ce;
    cql_future *f = cql_session_execute(V->s, &st, &ce);
    if (!f) {
        set_fatal(V, 1, "a repair write to %s.%s failed: %s (the repairs sent before it were "
                        "written)",
                  V->repairing ? V->repairing->keyspace : "?",
                  V->repairing ? V->repairing->table : "?", ce.msg);
        return -1;
    }
    V->fut[V->nfut++] = f;
    return 0;
}

/* Write a source row again: its values (unset becomes null, so a column
 * the source holds no value in is cleared) and its write tail. */
static int repair_write(verifier *V, int ti, const uint8_t *v, size_t vn, const uint8_t *tail,
                        size_t tn)
{
    if (ti < 0 || ti >= V->ntables || !tail)
        return 0;
    const load_table *t = &V->tables[ti];
    cs_buf_reset(&V->req);
    if (cs_buf_append(&V->req, v, vn) || cs_buf_append(&V->req, tail, tn)) {
        set_fatal(V, 1, "out of memory");
        return -1;
    }
    for (size_t off = 0; off + 4 <= vn;) {
        int32_t l = (int32_t)cs_be32(V->req.data + off);
        if (l == -2)
            cs_put_be32(V->req.data + off, UINT32_MAX); /* null */
        off += 4 + (l > 0 ? (size_t)l : 0);
    }
    return repair_send(V, t->insert, t->ncols);
}

/* Delete a row only the target has (its key columns from v). */
static int repair_delete(verifier *V, const vgroup *g, const uint8_t *const *p, const int32_t *len)
{
    cs_buf_reset(&V->req);
    cs_buf_put_u32(&V->req, 8);
    cs_buf_put_u64(&V->req, (uint64_t)V->cfg->repair_timestamp_us);
    int n = 1;
    for (int c = 0; c < g->nvals; c++) {
        if (!g->lt->is_key[c])
            continue;
        cs_buf_put_u32(&V->req, (uint32_t)len[c]);
        if (len[c] > 0 && cs_buf_append(&V->req, p[c], (size_t)len[c])) {
            set_fatal(V, 1, "out of memory");
            return -1;
        }
        n++;
    }
    return repair_send(V, g->del, n);
}

/* Match the spilled rows of group gi: emit every difference, count. */
static int match_group(verifier *V, int gi, const verify_sink *sink)
{
    vgroup *g = &V->g[gi];
    V->repairing = g;
    /* with a re-check, only the keys that differed the first time (table d) */
    const char *sql[2][4] = {{
        /* keys several source rows map to */
        "SELECT k, count(*), min(v) FROM s WHERE g = ?1 GROUP BY k HAVING count(*) > 1 ORDER BY k",
        /* missing in the target (the table and write tail of the row min(v) picks) */
        "SELECT k, min(v), ti, tail, count(*) FROM s WHERE g = ?1 AND NOT EXISTS (SELECT 1 "
        "FROM t WHERE t.g = ?1 AND t.k = s.k) GROUP BY k ORDER BY k",
        /* extra in the target */
        "SELECT k, v FROM t WHERE g = ?1 AND NOT EXISTS (SELECT 1 FROM s WHERE s.g = ?1 AND "
        "s.k = t.k) ORDER BY k",
        /* different (keys the source holds once) */
        "SELECT s.k, s.v, t.v, s.ti, s.tail FROM s JOIN t ON t.g = s.g AND t.k = s.k WHERE "
        "s.g = ?1 AND s.vh <> t.vh AND NOT EXISTS (SELECT 1 FROM s s2 WHERE s2.g = s.g AND "
        "s2.k = s.k AND s2.rowid <> s.rowid) ORDER BY s.k",
    }, {
        "SELECT k, count(*), min(v) FROM s WHERE g = ?1 AND EXISTS (SELECT 1 FROM d WHERE "
        "d.g = ?1 AND d.k = s.k) GROUP BY k HAVING count(*) > 1 ORDER BY k",
        "SELECT k, min(v), ti, tail, count(*) FROM s WHERE g = ?1 AND NOT EXISTS (SELECT 1 "
        "FROM t WHERE t.g = ?1 AND t.k = s.k) AND EXISTS (SELECT 1 FROM d WHERE d.g = ?1 AND "
        "d.k = s.k) GROUP BY k ORDER BY k",
        "SELECT k, v FROM t WHERE g = ?1 AND NOT EXISTS (SELECT 1 FROM s WHERE s.g = ?1 AND "
        "s.k = t.k) AND EXISTS (SELECT 1 FROM d WHERE d.g = ?1 AND d.k = t.k) ORDER BY k",
        "SELECT s.k, s.v, t.v, s.ti, s.tail FROM s JOIN t ON t.g = s.g AND t.k = s.k WHERE "
        "s.g = ?1 AND s.vh <> t.vh AND NOT EXISTS (SELECT 1 FROM s s2 WHERE s2.g = s.g AND "
        "s2.k = s.k AND s2.rowid <> s.rowid) AND EXISTS (SELECT 1 FROM d WHERE d.g = ?1 AND "
        "d.k = s.k) ORDER BY s.k",
    }};
    const char *kinds[4] = {"duplicate", "missing", "extra", "different"};
    const uint8_t **p[2];
    int32_t *len[2];
    unsigned char *pick = calloc((size_t)g->nvals, 1);
    cs_buf ca, cb;
    cs_buf_init(&ca, SIZE_MAX);
    cs_buf_init(&cb, SIZE_MAX);
    for (int s = 0; s < 2; s++) {
        p[s] = calloc((size_t)g->nvals, sizeof *p[s]);
        len[s] = calloc((size_t)g->nvals, sizeof *len[s]);
    }
    int rc = !pick || !p[0] || !p[1] || !len[0] || !len[1] ? -1 : 0;
    int64_t dup_rows = 0, missing_dup = 0;
    for (int q = 0; q < 4 && rc == 0; q++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(V->spill, sql[V->rechecking][q], -1, &st, NULL) != SQLITE_OK) {
            set_fatal(V, 1, "the spill file %s: %s", V->cfg->spill_path,
                      sqlite3_errmsg(V->spill));
            rc = -1;
            break;
        }
        sqlite3_bind_int(st, 1, gi);
        int step;
        while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
            if (stopping(V)) { /* Ctrl-C: the matching is redone by --resume */
                rc = -1;
                break;
            }
            int vcol = q == 0 ? 2 : 1;
            const uint8_t *v = sqlite3_column_blob(st, vcol);
            size_t vn = (size_t)sqlite3_column_bytes(st, vcol);
            if (split_values(v, vn, g->nvals, p[0], len[0])) {
                set_fatal(V, 1, "the spill file %s holds a malformed row", V->cfg->spill_path);
                rc = -1;
                break;
            }
            json_t *d = diff_new(g, kinds[q]);
            json_t *cols = json_array();
            json_object_set_new(d, "key", values_json(g, p[0], len[0], 1, NULL));
            if (q == 0) {
                int64_t n = sqlite3_column_int64(st, 1);
                dup_rows += n;
                g->c.duplicate++;
                json_object_set_new(d, "source_rows", json_integer(n));
                json_object_set_new(d, "columns", cols);
            } else if (q == 1) {
                g->c.missing++;
                if (sqlite3_column_int64(st, 4) > 1)
                    missing_dup++; /* its rows are in dup_rows already */
                json_object_set_new(d, "columns", cols);
                json_object_set_new(d, "source", values_json(g, p[0], len[0], 0, NULL));
                if (V->cfg->repair) {
                    if (repair_write(V, sqlite3_column_int(st, 2), v, vn,
                                     sqlite3_column_blob(st, 3),
                                     (size_t)sqlite3_column_bytes(st, 3)))
                        rc = -1;
                    g->c.repaired++;
                    json_object_set_new(d, "repaired", json_true());
                }
            } else if (q == 2) {
                g->c.extra++;
                json_object_set_new(d, "columns", cols);
                json_object_set_new(d, "target", values_json(g, p[0], len[0], 0, NULL));
                if (V->cfg->repair && V->cfg->delete_extra) {
                    if (repair_delete(V, g, p[0], len[0]))
                        rc = -1;
                    g->c.deleted++;
                    json_object_set_new(d, "repaired", json_true());
                }
            } else {
                const uint8_t *tv = sqlite3_column_blob(st, 2);
                size_t tn = (size_t)sqlite3_column_bytes(st, 2);
                if (split_values(tv, tn, g->nvals, p[1], len[1])) {
                    json_decref(cols);
                    json_decref(d);
                    set_fatal(V, 1, "the spill file %s holds a malformed row",
                              V->cfg->spill_path);
                    rc = -1;
                    break;
                }
                int ndiff = 0;
                for (int c = 0; c < g->nvals; c++) {
                    pick[c] = 0;
                    if (g->lt->is_key[c])
                        continue;
                    cs_buf_reset(&ca);
                    cs_buf_reset(&cb);
                    verify_canon_value(g->lt->types[c], p[0][c], len[0][c], &ca);
                    verify_canon_value(g->lt->types[c], p[1][c], len[1][c], &cb);
                    if (ca.len != cb.len || (ca.len && memcmp(ca.data, cb.data, ca.len))) {
                        pick[c] = 1;
                        ndiff++;
                        json_array_append_new(cols, json_string(g->lt->col_names[c]));
                    }
                }
                if (ndiff == 0) { /* the same values after all (a hash collision) */
                    json_decref(cols);
                    json_decref(d);
                    continue;
                }
                g->c.different++;
                json_object_set_new(d, "columns", cols);
                json_object_set_new(d, "source", values_json(g, p[0], len[0], 0, pick));
                json_object_set_new(d, "target", values_json(g, p[1], len[1], 0, pick));
                if (V->cfg->repair) {
                    if (repair_write(V, sqlite3_column_int(st, 3), v, vn,
                                     sqlite3_column_blob(st, 4),
                                     (size_t)sqlite3_column_bytes(st, 4)))
                        rc = -1;
                    g->c.repaired++;
                    json_object_set_new(d, "repaired", json_true());
                }
            }
            if (emit(V, g, sink, d))
                rc = -1;
        }
        if (rc == 0 && step != SQLITE_DONE) {
            set_fatal(V, 1, "the spill file %s: %s", V->cfg->spill_path,
                      sqlite3_errmsg(V->spill));
            rc = -1;
        }
        sqlite3_finalize(st);
    }
    if (repair_wait(V))
        rc = -1;
    if (V->rechecking) /* the keys that differed the first time, and not now */
        g->c.transient -=
            g->c.missing - missing_dup + g->c.extra + g->c.different + g->c.duplicate;
    g->c.equal = g->c.source_rows - (g->c.missing - missing_dup) - g->c.different - dup_rows;
    if (g->c.equal < 0)
        g->c.equal = 0;
    cs_buf_release(&ca);
    cs_buf_release(&cb);
    for (int s = 0; s < 2; s++) {
        free(p[s]);
        free(len[s]);
    }
    free(pick);
    return rc;
}

/* ---- set up ---- */

static int quote_ident(cs_buf *b, const char *name)
{
    cs_buf_put_u8(b, '"');
    for (const char *c = name; *c; c++) {
        if (*c == '"')
            cs_buf_put_u8(b, '"');
        cs_buf_put_u8(b, (uint8_t)*c);
    }
    return cs_buf_put_u8(b, '"');
}

static int prepare_select(verifier *V, vgroup *g)
{
    const load_table *t = g->lt;
    const cql_metadata *bm = cql_prepared_bind(t->insert);
    if (!bm || bm->npk < 1) {
        set_fatal(V, 1, "%s.%s: the server did not say which columns form the partition key",
                  g->keyspace, g->table);
        return -1;
    }
    cs_buf tk, q;
    cs_buf_init(&tk, 1 << 20);
    cs_buf_init(&q, 1 << 20);
    cs_buf_printf(&tk, "token(");
    for (int k = 0; k < bm->npk; k++) {
        if (k)
            cs_buf_printf(&tk, ", ");
        quote_ident(&tk, t->col_names[bm->pk_index[k]]);
    }
    cs_buf_printf(&tk, ")");
    cs_buf_put_u8(&tk, 0);
    cs_buf_printf(&q, "SELECT %s", (const char *)tk.data);
    for (int c = 0; c < g->nvals; c++) {
        cs_buf_printf(&q, ", ");
        quote_ident(&q, t->col_names[c]);
    }
    cs_buf_printf(&q, " FROM ");
    quote_ident(&q, g->keyspace);
    cs_buf_printf(&q, ".");
    quote_ident(&q, g->table);
    cs_buf_printf(&q, " WHERE %s >= ? AND %s <= ?", (const char *)tk.data, (const char *)tk.data);
    int bad = cs_buf_put_u8(&q, 0);
    cql_error ce;
    g->select = bad ? NULL : cql_session_prepare(V->s, (const char *)q.data, &ce);
    if (!g->select)
        set_fatal(V, 1, "cannot read %s.%s: %s", g->keyspace, g->table,
                  bad ? "out of memory" : ce.msg);
    if (g->select && V->cfg->repair && V->cfg->delete_extra) {
        cs_buf_reset(&q);
        cs_buf_printf(&q, "DELETE FROM ");
        quote_ident(&q, g->keyspace);
        cs_buf_printf(&q, ".");
        quote_ident(&q, g->table);
        cs_buf_printf(&q, " USING TIMESTAMP ? WHERE ");
        int n = 0;
        for (int c = 0; c < g->nvals; c++) {
            if (!t->is_key[c])
                continue;
            cs_buf_printf(&q, "%s", n++ ? " AND " : "");
            quote_ident(&q, t->col_names[c]);
            cs_buf_printf(&q, " = ?");
        }
        bad = cs_buf_put_u8(&q, 0);
        g->del = bad ? NULL : cql_session_prepare(V->s, (const char *)q.data, &ce);
        if (!g->del)
            set_fatal(V, 1, "cannot prepare the delete of extra rows from %s.%s: %s", g->keyspace,
                      g->table, bad ? "out of memory" : ce.msg);
    }
    cs_buf_release(&tk);
    cs_buf_release(&q);
    return g->select && (g->del || !V->cfg->repair || !V->cfg->delete_extra) ? 0 : -1;
}

static char *bucket_key(const verifier *V, int gi, char *out, size_t n);

/* On a resume, the bucket count the job started with, whatever the
 * source's row estimate says now (an ANALYZE since may have changed it):
 * the saved sums are per bucket of that count. 0, or -1 (fatal set). */
static int saved_bits(verifier *V, int gi)
{
    char bk[700], key[800];
    bucket_key(V, gi, bk, sizeof bk);
    snprintf(key, sizeof key, "%s.bits", bk);
    void *d = NULL;
    size_t n = 0;
    state_error se;
    int found = state_blob_get(V->st, key, &d, &n, &se);
    if (found < 0) {
        set_fatal(V, 1, "%s", se.msg);
        return -1;
    }
    char text[16] = "";
    if (found && n < sizeof text)
        memcpy(text, d, n);
    free(d);
    char *end;
    long bits = strtol(text, &end, 10);
    if (found && end != text && !*end && bits >= 1 && bits <= MAX_BITS)
        V->g[gi].bits = (int)bits;
    return 0;
}

static int make_groups(verifier *V)
{
    V->g = calloc((size_t)V->ntables, sizeof *V->g);
    V->group_of = calloc((size_t)V->ntables, sizeof *V->group_of);
    if (!V->g || !V->group_of) {
        set_fatal(V, 1, "out of memory");
        return -1;
    }
    for (int i = 0; i < V->ntables; i++) {
        const load_table *t = &V->tables[i];
        const char *name = t->table ? t->table : t->name;
        int gi = 0;
        while (gi < V->ng &&
               (strcmp(V->g[gi].keyspace, t->keyspace) || strcmp(V->g[gi].table, name)))
            gi++;
        V->group_of[i] = gi;
        vgroup *g = &V->g[gi];
        source_error se;
        const source_schema *schema = V->src->ops->describe(V->src, &se);
        int64_t est = schema ? schema->tables[t->src_table].row_estimate : -1;
        if (gi == V->ng) {
            V->ng++;
            snprintf(g->keyspace, sizeof g->keyspace, "%s", t->keyspace);
            snprintf(g->table, sizeof g->table, "%s", name);
            g->lt = t;
            g->nvals = load_nvalues(t);
            g->c.source_rows = 0;
            g->bits = -1;
        } else {
            int same = load_nvalues(t) == g->nvals;
            for (int c = 0; same && c < g->nvals; c++)
                same = !strcmp(t->col_names[c], g->lt->col_names[c]);
            if (!same) {
                set_fatal(V, 1, "%s.%s is fed by mappings that write different columns; verify "
                                "compares one column list per table",
                          g->keyspace, g->table);
                return -1;
            }
        }
        /* the buckets: about ROWS_PER_BUCKET rows each, from the largest estimate */
        int bits = V->cfg->bucket_bits;
        if (bits <= 0) {
            bits = 4;
            if (est < 0)
                bits = 8;
            while (bits < MAX_BITS && est / ((int64_t)1 << bits) > ROWS_PER_BUCKET)
                bits++;
        }
        if (bits > MAX_BITS)
            bits = MAX_BITS;
        if (bits > g->bits)
            g->bits = bits;
    }
    for (int gi = 0; gi < V->ng; gi++) {
        vgroup *g = &V->g[gi];
        if (V->st && saved_bits(V, gi) < 0)
            return -1;
        g->nb = (uint32_t)1 << g->bits;
        g->src = calloc(2 * (size_t)g->nb, sizeof *g->src);
        g->tgt = calloc(2 * (size_t)g->nb, sizeof *g->tgt);
        g->tdone = calloc(g->nb, 1);
        g->diff = calloc(g->nb, 1);
        if (!g->src || !g->tgt || !g->tdone || !g->diff) {
            set_fatal(V, 1, "out of memory");
            return -1;
        }
        if (prepare_select(V, g))
            return -1;
        V->nbuckets_total += g->nb;
    }
    return 0;
}

/* Resume: what an earlier run saved (the bucket layout must match, which
 * the job key and the stored bits guarantee). */
static int load_saved(verifier *V, unsigned char *range_done)
{
    char key[800];
    state_error se;
    for (int gi = 0; gi < V->ng; gi++) {
        vgroup *g = &V->g[gi];
        char bk[700], bits[32];
        bucket_key(V, gi, bk, sizeof bk);
        snprintf(key, sizeof key, "%s.bits", bk);
        void *d = NULL;
        size_t n = 0;
        int found = state_blob_get(V->st, key, &d, &n, &se);
        if (found < 0) {
            set_fatal(V, 1, "%s", se.msg);
            return -1;
        }
        snprintf(bits, sizeof bits, "%d", g->bits);
        if (found && (n != strlen(bits) || memcmp(d, bits, n))) {
            /* planned with another bucket count: start this table over */
            free(d);
            continue;
        }
        free(d);
        if (!found) {
            if (state_blob_set(V->st, key, bits, strlen(bits), &se)) {
                set_fatal(V, 1, "%s", se.msg);
                return -1;
            }
            continue;
        }
        for (uint32_t b = 0; b < g->nb; b++) {
            snprintf(key, sizeof key, "%s.%" PRIu32, bk, b);
            found = state_blob_get(V->st, key, &d, &n, &se);
            if (found < 0) {
                set_fatal(V, 1, "%s", se.msg);
                return -1;
            }
            if (found && n == 16) {
                g->tgt[2 * b] = cs_be64(d);
                g->tgt[2 * b + 1] = cs_be64((const uint8_t *)d + 8);
                g->tdone[b] = 1;
            }
            free(d);
        }
    }
    for (int k = 0; k < V->nitems; k++) {
        int ti = V->items_table[k];
        const source_range *rg = V->items_range[k];
        void *d = NULL;
        size_t n = 0;
        int found = state_blob_get(V->st, range_key(V, ti, rg->id, key, sizeof key), &d, &n, &se);
        if (found < 0) {
            set_fatal(V, 1, "%s", se.msg);
            return -1;
        }
        if (found) {
            if (load_range(V, d, n)) {
                free(d);
                set_fatal(V, 1, "the state file holds a malformed verify record (%s); run "
                                "again with --restart", key);
                return -1;
            }
            range_done[k] = 1;
        }
        free(d);
    }
    return 0;
}

/* --recheck: keep the keys that differ now (table d), wait, read the
 * differing buckets of both sides again (the source opened anew, its
 * ranges split anew), so that match_group reports only what persisted. */
static void recheck(verifier *V)
{
    const char *keep =
        "CREATE TABLE d (g INTEGER, k BLOB);"
        "INSERT INTO d SELECT g, k FROM s GROUP BY g, k HAVING count(*) > 1;"
        "INSERT INTO d SELECT g, k FROM s WHERE NOT EXISTS (SELECT 1 FROM t WHERE t.g = s.g AND "
        "t.k = s.k);"
        "INSERT INTO d SELECT g, k FROM t WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.g = t.g AND "
        "s.k = t.k);"
        "INSERT INTO d SELECT s.g, s.k FROM s JOIN t ON t.g = s.g AND t.k = s.k WHERE "
        "s.vh <> t.vh;"
        "CREATE TABLE dk AS SELECT DISTINCT g, k FROM d; DROP TABLE d; ALTER TABLE dk RENAME TO d;"
        "CREATE INDEX di ON d (g, k); DELETE FROM s; DELETE FROM t; BEGIN";
    if (sqlite3_exec(V->spill, keep, NULL, NULL, NULL) != SQLITE_OK) {
        set_fatal(V, 1, "the spill file %s: %s", V->cfg->spill_path, sqlite3_errmsg(V->spill));
        return;
    }
    sqlite3_stmt *st = NULL;
    int64_t waiting = 0;
    if (sqlite3_prepare_v2(V->spill, "SELECT g, count(*) FROM d GROUP BY g", -1, &st, NULL) ==
        SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            int gi = sqlite3_column_int(st, 0);
            if (gi >= 0 && gi < V->ng)
                waiting += V->g[gi].c.transient = sqlite3_column_int64(st, 1);
        }
    }
    sqlite3_finalize(st);
    if (V->cfg->progress) {
        atomic_store(&V->cfg->progress->waiting, waiting);
        atomic_store(&V->cfg->progress->pass, 4);
    }
    for (double waited = 0; waited < V->cfg->recheck_s && !stopping(V); waited += 0.1) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (stopping(V))
        return;
    source_error se;
    source *src = V->cfg->reopen(V->cfg->reopen_ctx, &se);
    if (!src) {
        set_fatal(V, 1, "cannot open the source again for the re-check: %s", se.msg);
        return;
    }
    /* the ranges anew, in the source as it is now */
    int per = 4 * (V->cfg->workers > 0 ? V->cfg->workers : 1);
    source_range **rr = calloc((size_t)V->ntables, sizeof *rr);
    int *nr = calloc((size_t)V->ntables, sizeof *nr);
    int nitems = 0;
    for (int i = 0; rr && nr && i < V->ntables && !V->fatal; i++) {
        if (V->tables[i].fed_by)
            continue;
        if (src->ops->split(src, V->tables[i].src_table, per, &rr[i], &nr[i], &se))
            set_fatal(V, 1, "%s", se.msg);
        nitems += nr[i];
    }
    int *it = calloc((size_t)nitems + 1, sizeof *it);
    const source_range **ir = calloc((size_t)nitems + 1, sizeof *ir);
    if (!rr || !nr || !it || !ir)
        set_fatal(V, 1, "out of memory");
    if (!V->fatal) {
        int j = 0;
        for (int i = 0; i < V->ntables; i++)
            for (int r = 0; r < nr[i]; r++) {
                it[j] = i;
                ir[j++] = &rr[i][r];
            }
        source *was = V->src;
        int *was_t = V->items_table;
        const source_range **was_r = V->items_range;
        int was_n = V->nitems;
        V->src = src;
        V->items_table = it;
        V->items_range = ir;
        V->nitems = j;
        if (V->cfg->progress)
            atomic_store(&V->cfg->progress->pass, 2);
        for (int gi = 0; gi < V->ng && !V->fatal; gi++)
            if (V->g[gi].c.buckets_differing &&
                !(V->g[gi].src_again = calloc(2 * (size_t)V->g[gi].nb, sizeof(uint64_t))))
                set_fatal(V, 1, "out of memory");
        V->reading_again = 1;
        if (!V->fatal && run_phase(V) == 0 &&
            sqlite3_exec(V->spill, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            set_fatal(V, 1, "the spill file %s: %s", V->cfg->spill_path,
                      sqlite3_errmsg(V->spill));
        V->reading_again = 0;
        /* the differing buckets as the source holds them now: what the
         * rows repaired from this reading are checked against */
        for (int gi = 0; gi < V->ng && !V->fatal; gi++) {
            vgroup *g = &V->g[gi];
            for (uint32_t b = 0; g->src_again && b < g->nb; b++)
                if (g->diff[b]) {
                    g->c.source_rows += (int64_t)(g->src_again[2 * b] - g->src[2 * b]);
                    g->src[2 * b] = g->src_again[2 * b];
                    g->src[2 * b + 1] = g->src_again[2 * b + 1];
                }
        }
        V->src = was;
        V->items_table = was_t;
        V->items_range = was_r;
        V->nitems = was_n;
        V->rechecking = 1;
    }
    for (int i = 0; rr && nr && i < V->ntables; i++)
        if (rr[i])
            source_ranges_free(rr[i], nr[i]);
    free(rr);
    free(nr);
    free(it);
    free(ir);
    src->ops->close(src);
}

int verify_run(source *src, cql_session *s, const load_table *tables, int ntables,
               const verify_config *cfg, state *st, const verify_sink *sink,
               verify_table_result **results, int *nresults, verify_error *err)
{
    verifier V;
    memset(&V, 0, sizeof V);
    V.src = src;
    V.s = s;
    V.tables = tables;
    V.ntables = ntables;
    V.cfg = cfg;
    V.st = st;
    pthread_mutex_init(&V.mu, NULL);
    cs_buf_init(&V.req, (size_t)256 << 20);
    *results = NULL;
    *nresults = 0;
    int nitems = 0;
    for (int i = 0; i < ntables; i++)
        if (!tables[i].fed_by)
            nitems += tables[i].nranges;
    V.items_table = calloc((size_t)nitems + 1, sizeof *V.items_table);
    V.items_range = calloc((size_t)nitems + 1, sizeof *V.items_range);
    unsigned char *range_done = calloc((size_t)nitems + 1, 1);
    if (!V.items_table || !V.items_range || !range_done)
        set_fatal(&V, 1, "out of memory");
    for (int i = 0; i < ntables && !V.fatal; i++)
        for (int r = 0; !tables[i].fed_by && r < tables[i].nranges; r++) {
            V.items_table[V.nitems] = i;
            V.items_range[V.nitems++] = &tables[i].ranges[r];
        }
    if (!V.fatal && make_groups(&V) == 0 && (!st || load_saved(&V, range_done) == 0)) {
        /* the ranges read before are not read again */
        int keep = 0;
        for (int k = 0; k < V.nitems; k++)
            if (!range_done[k]) {
                V.items_table[keep] = V.items_table[k];
                V.items_range[keep++] = V.items_range[k];
            }
        int all = V.nitems;
        V.nitems = keep;
        verify_progress *pr = cfg->progress;
        if (pr) {
            int64_t done = 0;
            for (int gi = 0; gi < V.ng; gi++)
                for (uint32_t b = 0; b < V.g[gi].nb; b++)
                    done += V.g[gi].tdone[b];
            atomic_store(&pr->ranges_total, V.nbuckets_total);
            atomic_store(&pr->ranges_done, done);
        }
        if (run_phase(&V) == 0) {
            int any = 0;
            for (int gi = 0; gi < V.ng; gi++) {
                vgroup *g = &V.g[gi];
                g->c.buckets = g->nb;
                for (uint32_t b = 0; b < g->nb; b++) {
                    g->c.target_rows += (int64_t)g->tgt[2 * b];
                    g->diff[b] = g->src[2 * b] != g->tgt[2 * b] ||
                                 g->src[2 * b + 1] != g->tgt[2 * b + 1];
                    g->c.buckets_differing += g->diff[b];
                    any |= g->diff[b];
                }
                g->c.equal = g->c.source_rows;
            }
            if (any && cfg->source_once) {
                /* standard input is gone: the differing buckets cannot be
                 * matched key by key; their rows are not counted as equal */
                for (int gi = 0; gi < V.ng; gi++) {
                    vgroup *g = &V.g[gi];
                    g->c.unmatched = g->c.buckets_differing;
                    for (uint32_t b = 0; b < g->nb; b++)
                        if (g->diff[b])
                            g->c.equal -= (int64_t)g->src[2 * b];
                }
            } else if (any) {
                /* every range again, keeping the differing buckets' rows */
                V.nitems = all;
                int j = 0;
                for (int i = 0; i < ntables; i++)
                    for (int r = 0; !tables[i].fed_by && r < tables[i].nranges; r++) {
                        V.items_table[j] = i;
                        V.items_range[j++] = &tables[i].ranges[r];
                    }
                V.phase = 1;
                if (pr)
                    atomic_store(&pr->pass, 1);
                if (spill_open(&V) == 0 && run_phase(&V) == 0) {
                    if (sqlite3_exec(V.spill,
                                     "COMMIT; CREATE INDEX si ON s (g, k); "
                                     "CREATE INDEX ti ON t (g, k)",
                                     NULL, NULL, NULL) != SQLITE_OK)
                        set_fatal(&V, 1, "the spill file %s: %s", cfg->spill_path,
                                  sqlite3_errmsg(V.spill));
                    if (cfg->recheck_s > 0 && !V.fatal)
                        recheck(&V);
                    for (int gi = 0; gi < V.ng && !V.fatal; gi++)
                        if (V.g[gi].c.buckets_differing)
                            match_group(&V, gi, sink);
                }
                repair_wait(&V);
                spill_close(&V);
                if (cfg->repair && !V.fatal) {
                    /* read the repaired buckets of the target again */
                    V.phase = 0;
                    V.nitems = 0;
                    if (pr)
                        atomic_store(&pr->pass, 3);
                    for (int gi = 0; gi < V.ng; gi++)
                        for (uint32_t b = 0; b < V.g[gi].nb; b++)
                            V.g[gi].tdone[b] = !V.g[gi].diff[b];
                    if (run_phase(&V) == 0)
                        for (int gi = 0; gi < V.ng; gi++) {
                            vgroup *g = &V.g[gi];
                            for (uint32_t b = 0; b < g->nb; b++)
                                g->c.buckets_after_repair +=
                                    g->diff[b] && (g->src[2 * b] != g->tgt[2 * b] ||
                                                   g->src[2 * b + 1] != g->tgt[2 * b + 1]);
                        }
                }
            }
        }
    }
    int rc = 0;
    if (atomic_load(&V.fatal)) {
        err->code = V.code;
        snprintf(err->msg, sizeof err->msg, "%s", V.msg);
        rc = -1;
    } else {
        err->code = 0;
        err->msg[0] = '\0';
        *results = calloc((size_t)V.ng + 1, sizeof **results);
        if (!*results) {
            err->code = 1;
            snprintf(err->msg, sizeof err->msg, "out of memory");
            rc = -1;
        }
        for (int gi = 0; rc == 0 && gi < V.ng; gi++) {
            verify_table_result *r = &(*results)[gi];
            snprintf(r->keyspace, sizeof r->keyspace, "%s", V.g[gi].keyspace);
            snprintf(r->table, sizeof r->table, "%s", V.g[gi].table);
            r->counts = V.g[gi].c;
        }
        if (rc == 0)
            *nresults = V.ng;
    }
    for (int gi = 0; V.g && gi < V.ng; gi++) {
        free(V.g[gi].src_again);
        free(V.g[gi].src);
        free(V.g[gi].tgt);
        free(V.g[gi].tdone);
        free(V.g[gi].diff);
    }
    free(V.g);
    free(V.group_of);
    free(V.items_table);
    free(V.items_range);
    free(range_done);
    cs_buf_release(&V.req);
    pthread_mutex_destroy(&V.mu);
    return rc;
}
