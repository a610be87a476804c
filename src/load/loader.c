/* The loader pipeline (see loader.h for the contract).
 *
 * Per worker: a ring of `NSLOTS` batch slots. Batch k of a range goes into
 * slot k % NSLOTS, so reading batch k waits for batch k - NSLOTS to be
 * settled: at most NSLOTS batches per worker are outstanding, and batches
 * settle in order, which is what makes the resume point simple (the end of
 * the last settled batch). Completions arrive on the session's I/O thread
 * and only touch atomics, the slot's reject list and a condition variable.
 *
 * Rejected rows are kept with their batch and written to the reject file
 * when the batch settles complete (every row written or rejected), just
 * before the checkpoint that covers it. A batch that cannot complete (a
 * write failed for good) is not settled: its counts are taken back, its
 * rejects dropped, and the resume point stays before it, so --resume reads
 * it again and every row ends up written or rejected exactly once. Two ways
 * to end early: a failure stops at once ("fatal"); --max-errors stops
 * reading but lets the batches already read finish ("stopping"), so the
 * counts reconcile and the rows that tripped it are in the reject file.
 *
 * Request shapes (cfg.batch_mode), within one read batch:
 *  - LOAD_BATCH_AUTO (default): PARTITION for a table with clustering
 *    columns while its rows come in runs of one partition (at least two
 *    rows a request on average, judged after the range's first 64
 *    requests), REPLICA for the others (the benchmark's request-shape
 *    sweep, docs/benchmarks.md: replica batches of 8 rows cost the server
 *    and the client less per row than single rows). A query table fed in
 *    its source table's order is the case that turns to REPLICA.
 *  - LOAD_BATCH_PARTITION: for a table with clustering columns,
 *    consecutive rows whose partition token is the same go as one UNLOGGED
 *    batch. Cassandra applies a single-partition batch as one mutation and
 *    does not apply its batch size limits to it. Other tables: one row per
 *    request.
 *  - LOAD_BATCH_REPLICA: rows are grouped by their first replica (one open
 *    group per node) into UNLOGGED batches sent to that node, so the
 *    coordinator is a replica of every row. Multi-partition batches over
 *    5 KiB or 10 partitions make Cassandra log a warning each; over 50 KiB
 *    they fail. The defaults (8 rows, 5 KiB as Cassandra counts it) stay
 *    under the warnings.
 *  - LOAD_BATCH_NONE: one row per request.
 * A group is sent when it reaches the rows or bytes limit of the table's
 * mode; a row bigger than that goes alone. */
#include "load/loader.h"
#include "cql/frame.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSLOTS 4
#define MAX_GROUPS 32               /* open replica groups per worker */

typedef struct loader loader;
typedef struct worker worker;
typedef struct batch_slot batch_slot;

typedef struct pending_reject {
    int row;
    int out;                    /* the target table (index into worker.outs) */
    char *reason;
} pending_reject;

typedef struct req_ctx {
    batch_slot *slot;
    int off;                    /* the request's rows: slot->order[off..off+nrows) */
    int nrows;
    int out;                    /* the target table written (index into worker.outs) */
} req_ctx;

/* Rows being collected into one request. */
typedef struct group {
    int64_t key;                /* partition token or replica node */
    int64_t token;              /* token of the first row: the batch's route */
    int n;
    size_t cost;                /* the rows' size as Cassandra counts it (row_cost) */
    cs_buf vals;                /* the rows' encoded values, back to back */
    size_t *off;                /* n + 1 offsets into vals */
    int *rows;                  /* row indexes in the batch */
} group;

struct batch_slot {
    worker *w;
    row_batch batch;
    req_ctx *ctx;               /* one per request (at most one per row and target) */
    int nreq;
    int *order;                 /* row indexes, request by request */
    int norder;
    atomic_int pending;         /* requests in flight, +1 while the worker submits */
    int busy;                   /* holds a batch not yet settled */
    src_pos resume;             /* the batch's resume point (a copy) */
    int64_t read;
    /* per target table of the range (worker.outs) */
    atomic_llong written[LOAD_MAX_FED], rejected[LOAD_MAX_FED];
    int64_t filtered[LOAD_MAX_FED];
    pending_reject *rej;        /* rejects of this batch, under w->mu */
    int nrej, rej_cap;
    /* rows of requests of several rows that Cassandra refused as a whole
     * (one invalid row refuses its batch): sent again one by one when the
     * slot settles, so that only the rows refused alone are rejected;
     * under w->mu */
    pending_reject *retry;      /* reason unused (NULL) */
    int nretry, retry_cap;
};

struct worker {
    loader *L;
    pthread_t thread;
    batch_slot slots[NSLOTS];
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* a slot's pending reached 0 */
    cs_buf values;
    /* rows being collected into requests: one group (partition mode) or
     * one per replica node (replica mode) */
    group groups[MAX_GROUPS];
    int ngroups;
    cql_statement *stmts;       /* batch_max_rows statements */
    /* The target tables the range's rows go to: the table whose range it
     * is, then the tables it feeds (load_table.fed_by). */
    const load_table *outs[LOAD_MAX_FED];
    int nouts;
    const load_table *tbl;      /* the one being encoded (outs[out]) */
    int out;
    int mode;                   /* the batch mode used for tbl */
    int max_rows;               /* its batch limits */
    size_t max_bytes;
    int broken;                 /* a batch of this range could not complete */
    int torn;                   /* rs is half updated: no checkpoint may save it */
    int range_id;
    range_state rs[LOAD_MAX_FED]; /* settled counts and resume point, per target */
    const char *rs_names[LOAD_MAX_FED];
    arena scratch;              /* computed values of one row (load_row_map) */
    double last_checkpoint;
    /* The reading table's encoded values of the batch's rows, kept while
     * its fed tables are encoded (loader.reuse): cache holds them back to
     * back, cache_off[i * (n + 1) + c] where column c of row i starts (n:
     * its load_nvalues; [i * (n + 1)] == SIZE_MAX: row i has none). */
    cs_buf cache;
    size_t *cache_off;
    size_t cache_cap;           /* entries of cache_off */
    int cache_n;                /* the reading table's values a row (0: no cache) */
};

typedef struct work_item {
    int table;                  /* index into L->tables */
    source_range range;
} work_item;

struct loader {
    source *src;
    cql_session *s;
    const load_table *tables;
    int ntables;
    loader_config cfg;
    state *st;
    rejects *rej;

    work_item *items;
    int nitems;
    int next_item;              /* under mu */
    atomic_int *ranges_left;    /* per table */
    atomic_int workers_done;    /* every worker thread returned (cancel_watch ends) */
    atomic_int *started;        /* per table */
    int *fed;                   /* per table: the tables it feeds, LOAD_MAX_FED each */
    int *nfed;
    /* Per table, load_nvalues entries (NULL: none): for a fed table, the
     * reading table's column whose encoded value this column can copy
     * (same source column, same CQL type, a conversion that counts
     * nothing), else -1; the source value is then converted once. */
    int **reuse;
    int *caches;                /* per table: 1 when a table it feeds reuses a value */
    /* auto batch mode, per table, all workers together: rows and requests
     * sent in partition mode, to give it up where partitions do not come
     * in runs (learnt once for the table, not again in every range) */
    atomic_llong *part_rows, *part_reqs;
    pthread_mutex_t mu;

    /* adaptive in-flight limit */
    pthread_mutex_t flow_mu;
    pthread_cond_t flow_cv;
    atomic_int inflight;
    atomic_int limit;
    atomic_int waiting;
    atomic_int ok_streak;
    double last_decrease;       /* under flow_mu */

    /* rate limit */
    pthread_mutex_t rate_mu;
    double rate_next;

    /* first fatal error, or the reason to stop reading */
    atomic_int fatal;
    atomic_int stopping;
    loader_error err;           /* under mu */
    atomic_llong total_read, total_rejected;
};

void loader_config_init(loader_config *c)
{
    memset(c, 0, sizeof *c);
    c->workers = 2;
    c->batch_rows = 500;
    c->max_inflight_rows = 4096;
    c->max_errors = -1;
    c->max_errors_pct = -1;
    c->consistency = CQL_LOCAL_QUORUM;
    c->ranges_per_table = 0;
    c->batch_mode = LOAD_BATCH_AUTO;
    c->batch_max_rows = 0;  /* 0: the mode's default */
    c->batch_max_bytes = 0;
}

/* Record why the run ends, once: the first reason wins, except that a
 * failure replaces a stop (it is what the user must act on). fatal: stop
 * at once (requests in flight still settle); else stop reading new batches
 * and finish those already read. */
__attribute__((format(printf, 4, 0))) static void vend_run(loader *L, int fatal, int code,
                                                           const char *fmt, va_list ap)
{
    pthread_mutex_lock(&L->mu);
    if (!atomic_load(&L->fatal) && (fatal || !atomic_load(&L->stopping))) {
        vsnprintf(L->err.msg, sizeof L->err.msg, fmt, ap);
        L->err.code = code;
        atomic_store(fatal ? &L->fatal : &L->stopping, 1);
    }
    pthread_mutex_unlock(&L->mu);
    if (fatal) { /* wake anything waiting for flow control */
        pthread_mutex_lock(&L->flow_mu);
        pthread_cond_broadcast(&L->flow_cv);
        pthread_mutex_unlock(&L->flow_mu);
    }
}

static void set_fatal(loader *L, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_fatal(loader *L, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vend_run(L, 1, code, fmt, ap);
    va_end(ap);
}

static void set_stop(loader *L, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_stop(loader *L, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vend_run(L, 0, code, fmt, ap);
    va_end(ap);
}

/* Also where an interrupt (Ctrl-C, SIGTERM) is noticed: it stops reading
 * like --max-errors does, and the batches already read settle. */
static int interrupted(loader *L)
{
    return L->cfg.interrupt && atomic_load_explicit(L->cfg.interrupt, memory_order_relaxed);
}

/* While the workers run: on an interrupt, cancel the source's queries in
 * flight once (a database read can block for long), so that every worker
 * soon sees the interrupt. */
static void *cancel_watch(void *arg)
{
    loader *L = arg;
    while (!atomic_load(&L->workers_done)) {
        if (interrupted(L)) {
            L->src->ops->cancel(L->src);
            break;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static int ending(loader *L)
{
    if (L->cfg.interrupt && atomic_load_explicit(L->cfg.interrupt, memory_order_relaxed) &&
        !atomic_load(&L->stopping))
        set_stop(L, 5, "interrupted");
    return atomic_load(&L->fatal) || atomic_load(&L->stopping);
}

/* ---- rejects ----------------------------------------------------------- */

/* The row's values as a JSON array, for rows without raw text (SQLite). */
static char *row_values_json(const src_row *r)
{
    json_t *a = json_array();
    for (int i = 0; i < r->nvals; i++) {
        const src_value *v = &r->vals[i];
        json_t *j = NULL;
        switch (v->kind) {
        case SV_TEXT: j = json_stringn(v->u.s.p, v->u.s.n); break;
        case SV_BLOB: break;
        default: j = load_value_json(v); break;
        }
        if (!j && (v->kind == SV_TEXT || v->kind == SV_BLOB)) {
            /* blob, or text that is not UTF-8: hex ("0x" for an empty blob) */
            cs_buf hb;
            cs_buf_init(&hb, SIZE_MAX);
            src_value bv = {.kind = SV_BLOB, .u.s = v->u.s};
            if (load_value_text(&bv, &hb) == 0)
                j = json_stringn((const char *)hb.data, hb.len);
            cs_buf_release(&hb);
        }
        json_array_append_new(a, j ? j : json_null());
    }
    char *s = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(a);
    return s;
}

static void check_error_budget(loader *L)
{
    int64_t rej = atomic_load(&L->total_rejected);
    int64_t rd = atomic_load(&L->total_read);
    if (L->cfg.max_errors >= 0 && rej > L->cfg.max_errors)
        set_stop(L, 4, "stopped: %" PRId64 " rows rejected, more than --max-errors %" PRId64
                        " (see the reject file %s)",
                  rej, L->cfg.max_errors, rejects_path(L->rej));
    else if (L->cfg.max_errors_pct >= 0 && rd >= 100 && 100.0 * (double)rej / (double)rd > L->cfg.max_errors_pct)
        set_stop(L, 4, "stopped: %" PRId64 " of %" PRId64 " rows rejected (%.1f%%), more than "
                        "--max-errors %g%% (see the reject file %s)",
                  rej, rd, 100.0 * (double)rej / (double)rd, L->cfg.max_errors_pct,
                  rejects_path(L->rej));
}

/* Keep a rejected row of target `out` with its batch (written when the
 * batch settles). */
static void reject_row(batch_slot *sl, int out, int row, const char *reason)
{
    worker *w = sl->w;
    loader *L = w->L;
    char *copy = strdup(reason);
    pthread_mutex_lock(&w->mu);
    if (copy && sl->nrej == sl->rej_cap) {
        int ncap = sl->rej_cap ? sl->rej_cap * 2 : 16;
        pending_reject *n = realloc(sl->rej, (size_t)ncap * sizeof *n);
        if (n) {
            sl->rej = n;
            sl->rej_cap = ncap;
        }
    }
    int ok = copy && sl->nrej < sl->rej_cap;
    if (ok) {
        sl->rej[sl->nrej].row = row;
        sl->rej[sl->nrej].out = out;
        sl->rej[sl->nrej].reason = copy;
        sl->nrej++;
    }
    pthread_mutex_unlock(&w->mu);
    if (!ok) {
        free(copy);
        set_fatal(L, 1, "out of memory keeping a rejected row");
        return;
    }
    atomic_fetch_add(&sl->rejected[out], 1);
    atomic_fetch_add(&w->outs[out]->progress->rejected, 1);
    atomic_fetch_add(&L->total_rejected, 1);
    check_error_budget(L);
}

static int cmp_reject(const void *a, const void *b)
{
    const pending_reject *p = a, *q = b;
    if (p->out != q->out)
        return (p->out > q->out) - (p->out < q->out);
    return (p->row > q->row) - (p->row < q->row);
}

static void drop_rejects(batch_slot *sl)
{
    for (int i = 0; i < sl->nrej; i++)
        free(sl->rej[i].reason);
    sl->nrej = 0;
}

/* Write a settled batch's rejects to the file, in row order. 0, or -1
 * when one could not be written (fatal). */
static int write_rejects(batch_slot *sl)
{
    worker *w = sl->w;
    loader *L = w->L;
    int rc = 0;
    if (sl->nrej == 0)
        return 0;
    qsort(sl->rej, (size_t)sl->nrej, sizeof *sl->rej, cmp_reject);
    for (int i = 0; i < sl->nrej; i++) {
        const src_row *r = &sl->batch.rows[sl->rej[i].row];
        char *vals = r->raw ? NULL : row_values_json(r);
        if (rejects_write(L->rej, w->outs[sl->rej[i].out]->name, r->pos, sl->rej[i].reason,
                          r->raw, r->raw_len, vals)) {
            set_fatal(L, 1, "cannot write to the reject file %s", rejects_path(L->rej));
            rc = -1;
        }
        free(vals);
    }
    drop_rejects(sl);
    return rc;
}

/* ---- flow control ---------------------------------------------------------- */

static void flow_acquire(loader *L)
{
    if (atomic_fetch_add(&L->inflight, 1) < atomic_load(&L->limit))
        return;
    pthread_mutex_lock(&L->flow_mu);
    atomic_fetch_add(&L->waiting, 1);
    while (atomic_load(&L->inflight) > atomic_load(&L->limit) && !atomic_load(&L->fatal))
        pthread_cond_wait(&L->flow_cv, &L->flow_mu);
    atomic_fetch_sub(&L->waiting, 1);
    pthread_mutex_unlock(&L->flow_mu);
}

/* AIMD: grow the limit slowly while requests succeed first time; shrink it
 * by a quarter (at most every 200 ms) when the server pushes back, so the
 * loader backs off before requests start to time out for good. */
static void flow_release(loader *L, int pushed_back)
{
    atomic_fetch_sub(&L->inflight, 1);
    if (pushed_back) {
        pthread_mutex_lock(&L->flow_mu);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
        if (now - L->last_decrease > 0.2) {
            int lim = atomic_load(&L->limit) * 3 / 4;
            atomic_store(&L->limit, lim < 32 ? 32 : lim);
            L->last_decrease = now;
        }
        pthread_mutex_unlock(&L->flow_mu);
    } else if (atomic_fetch_add(&L->ok_streak, 1) >= atomic_load(&L->limit)) {
        atomic_store(&L->ok_streak, 0);
        int lim = atomic_load(&L->limit) + 64;
        atomic_store(&L->limit, lim > L->cfg.max_inflight_rows ? L->cfg.max_inflight_rows : lim);
    }
    if (atomic_load(&L->waiting)) {
        pthread_mutex_lock(&L->flow_mu);
        pthread_cond_broadcast(&L->flow_cv);
        pthread_mutex_unlock(&L->flow_mu);
    }
}

static void rate_wait(loader *L)
{
    if (L->cfg.rate_limit <= 0)
        return;
    pthread_mutex_lock(&L->rate_mu);
    double now = mono_seconds();
    /* Sleeps overshoot; keeping up to 50 ms of credit lets the next rows
     * catch up, so the average rate is the one asked for (not less), with
     * bursts of at most 50 ms worth of rows. */
    if (L->rate_next < now - 0.05)
        L->rate_next = now - 0.05;
    double at = L->rate_next;
    L->rate_next += 1.0 / L->cfg.rate_limit;
    pthread_mutex_unlock(&L->rate_mu);
    if (at > now) {
        double d = at - now;
        struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* ---- completions (I/O thread) --------------------------------------------- */

/* One request of the slot settled. The count drops under the worker's
 * lock: settle() waits under it, so once it sees 0 this thread is done
 * with the worker (which may then end, and its memory go). */
static void slot_done_one(batch_slot *sl)
{
    worker *w = sl->w;
    pthread_mutex_lock(&w->mu);
    if (atomic_fetch_sub(&sl->pending, 1) == 1)
        pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void on_row_done(cql_future *f, void *ud)
{
    req_ctx *c = ud;
    batch_slot *sl = c->slot;
    worker *w = sl->w;
    loader *L = w->L;
    const load_table *t = w->outs[c->out];
    const cql_error *e = cql_future_error(f);
    int retries = cql_future_retries(f);
    if (!e) {
        atomic_fetch_add(&sl->written[c->out], c->nrows);
        atomic_fetch_add(&t->progress->written, c->nrows);
        const cql_result *r = cql_future_result(f);
        const char *const *warn = r ? cql_result_warnings(r) : NULL;
        if (warn && warn[0])
            progress_table_warning(t->progress, warn[0]);
    } else if (e->code == CQL_E_SERVER && !cql_server_error_is_transient(e->server_code) &&
               c->nrows > 1) {
        /* one row may have refused them all: each is sent again alone */
        pthread_mutex_lock(&w->mu);
        if (sl->nretry + c->nrows > sl->retry_cap) {
            int ncap = sl->retry_cap ? sl->retry_cap : 64;
            while (ncap < sl->nretry + c->nrows)
                ncap *= 2;
            pending_reject *n = realloc(sl->retry, (size_t)ncap * sizeof *n);
            if (n) {
                sl->retry = n;
                sl->retry_cap = ncap;
            }
        }
        int ok = sl->nretry + c->nrows <= sl->retry_cap;
        for (int k = 0; ok && k < c->nrows; k++) {
            sl->retry[sl->nretry].row = sl->order[c->off + k];
            sl->retry[sl->nretry].out = c->out;
            sl->retry[sl->nretry].reason = NULL;
            sl->nretry++;
        }
        pthread_mutex_unlock(&w->mu);
        if (!ok)
            set_fatal(L, 1, "out of memory keeping the rows of a refused batch");
    } else if (e->code == CQL_E_SERVER && !cql_server_error_is_transient(e->server_code)) {
        char reason[700];
        snprintf(reason, sizeof reason, "Cassandra refused the row: %s", e->msg);
        reject_row(sl, c->out, sl->order[c->off], reason);
    } else {
        set_fatal(L, 1,
                  "writing row %" PRId64 " of %s failed after %d retries: %s. Nothing was "
                  "rejected; run the same command with --resume when Cassandra is healthy",
                  sl->batch.rows[sl->order[c->off]].pos, t->name, retries, e->msg);
    }
    cql_future_free(f);
    flow_release(L, retries > 0);
    slot_done_one(sl);
}

/* ---- the worker -------------------------------------------------------- */

static void checkpoint(worker *w, int force)
{
    if (w->torn)
        return;
    double now = mono_seconds();
    if (!force && now - w->last_checkpoint < 1.0)
        return;
    w->last_checkpoint = now;
    state_error se;
    if (state_save_range_n(w->L->st, w->nouts, w->rs_names, w->range_id, w->rs, &se))
        set_fatal(w->L, 1, "cannot save progress: %s", se.msg);
}

static void send_alone(worker *w, batch_slot *sl);

/* Wait until slot sl has no request in flight. If every row of its batch
 * was written or rejected (and every batch before it was), write its
 * rejects and fold it into the range's settled state; otherwise take its
 * counts back and leave it for --resume. */
static void settle(worker *w, batch_slot *sl)
{
    if (!sl->busy)
        return;
    pthread_mutex_lock(&w->mu);
    while (atomic_load(&sl->pending) > 0)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    if (sl->nretry > 0) {
        if (!atomic_load(&w->L->fatal) && !w->broken)
            send_alone(w, sl);
        pthread_mutex_lock(&w->mu);
        while (atomic_load(&sl->pending) > 0)
            pthread_cond_wait(&w->cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
        sl->nretry = 0;
    }
    sl->busy = 0;
    int complete = !w->broken && !atomic_load(&w->L->fatal);
    for (int o = 0; o < w->nouts; o++)
        complete = complete && atomic_load(&sl->written[o]) + atomic_load(&sl->rejected[o]) +
                                       sl->filtered[o] == sl->read;
    /* a batch that did not complete, or whose rejects could not be
     * written, is not settled: its counts are taken back */
    int had_rejects = sl->nrej > 0;
    if (!complete || write_rejects(sl)) {
        w->broken = 1;
        for (int o = 0; o < w->nouts; o++) {
            table_progress *tp = w->outs[o]->progress;
            atomic_fetch_sub(&tp->read, sl->read);
            atomic_fetch_sub(&tp->written, atomic_load(&sl->written[o]));
            atomic_fetch_sub(&tp->rejected, atomic_load(&sl->rejected[o]));
            atomic_fetch_sub(&tp->filtered, sl->filtered[o]);
        }
        drop_rejects(sl);
        return;
    }
    int ok = 1;
    for (int o = 0; o < w->nouts && ok; o++)
        ok = src_pos_set(&w->rs[o].resume, sl->resume.p, sl->resume.n) == 0;
    if (!ok) {
        set_fatal(w->L, 1, "out of memory keeping a resume point");
        w->broken = 1;
        w->torn = 1; /* some resume points moved, no count did: never save that */
        return;
    }
    for (int o = 0; o < w->nouts; o++) {
        range_state *rs = &w->rs[o];
        rs->rows_read += sl->read;
        rs->rows_written += atomic_load(&sl->written[o]);
        rs->rows_rejected += atomic_load(&sl->rejected[o]);
        rs->rows_filtered += sl->filtered[o];
    }
    /* a checkpoint right after rejects were written keeps them from being
     * written again by a resume after kill -9 (except in that instant) */
    checkpoint(w, had_rejects);
}

static const src_value null_value = {.kind = SV_NULL};

/* load_encode_values; reuse (NULL: none) gives, per column, the column of
 * the values at cached (offsets coff, NULL: none) to copy instead of
 * converting the source value again (loader.reuse). */
static int encode_values(const load_table *t, const src_row *r, arena *scratch, cs_buf *out,
                         const int *reuse, const uint8_t *cached, const size_t *coff,
                         int allow_static, char *why, size_t whylen)
{
    /* allow_static: 1 a row of static values alone is compacted for
     * insert_static (returns 1); 2 it is kept whole (verify) */
    int ck_null = -1;   /* the first clustering column that is null, for a static row */
    const load_row_map *m = t->map;
    int nvals = load_nvalues(t);
    cql_error ce;
    size_t start = out->len;
    for (int c = 0; c < nvals; c++) {
        int sc = t->src_cols[c];
        src_value computed;
        const src_value *v = &null_value;
        if (sc == LOAD_COL_COMPUTED) {
            char inner[512];
            if (m->value(m->ctx, c, r, scratch, &computed, inner, sizeof inner)) {
                snprintf(why, whylen, "column %s: %s", t->col_names[c], inner);
                return -1;
            }
            v = &computed;
        } else if (sc >= 0 && sc < r->nvals) {
            v = &r->vals[sc];
        }
        if (v->kind == SV_NULL && t->is_key[c] == 2 && allow_static && t->insert_static) {
            if (ck_null < 0)
                ck_null = c;   /* perhaps a partition's static values alone: below */
        } else if (v->kind == SV_NULL && t->is_key[c]) {
            snprintf(why, whylen, "primary key column %s is null", t->col_names[c]);
            return -1;
        }
        size_t at = out->len;
        int from = coff && reuse[c] >= 0 && v->kind != SV_INT ? reuse[c] : -1;
        if (from >= 0) {
            /* the reading table's bytes for the same value and type (an
             * integer may be an epoch in a unit of the column's own) */
            if (cs_buf_append(out, cached + coff[from], coff[from + 1] - coff[from])) {
                snprintf(why, whylen, "column %s: out of memory", t->col_names[c]);
                return -1;
            }
        } else if (load_convert_column(t, c, v, r->pos, out, &ce)) {
            snprintf(why, whylen, "column %s: %s", t->col_names[c], ce.msg);
            return -1;
        }
        /* Cassandra refuses an empty partition key ("Key may not be
         * empty"), and with it the whole batch the row is in: reject the
         * row alone, here (a key of several columns is never empty) */
        if (t->is_key[c] == 1 && out->len == at + 4 && cs_be32(out->data + at) == 0) {
            int npk = 0;
            for (int k = 0; k < nvals; k++)
                npk += t->is_key[k] == 1;
            if (npk == 1) {
                snprintf(why, whylen, "partition key column %s is empty, which Cassandra "
                                      "refuses as a key", t->col_names[c]);
                return -1;
            }
        }
    }
    /* Cassandra refuses a partition key, or clustering columns together,
     * longer than 65535 bytes ("Key length of N is longer than maximum of
     * 65535"), again with the whole batch */
    size_t pk = 0, ck = 0, off = start;
    int npk = 0;
    for (int c = 0; c < nvals && off + 4 <= out->len; c++) {
        int32_t l = (int32_t)cs_be32(out->data + off);
        size_t n = l > 0 ? (size_t)l : 0;
        if (t->is_key[c] == 1) {
            pk += n + 3; /* a key of several columns: a 2-byte length and an end byte each */
            npk++;
        } else if (t->is_key[c] == 2) {
            ck += n;
        }
        off += 4 + n;
    }
    if (npk == 1)
        pk -= 3;
    if (pk > 65535 || ck > 65535) {
        snprintf(why, whylen, "the %s is %zu bytes long, and Cassandra refuses more than 65535",
                 pk > 65535 ? "partition key" : "clustering key", pk > 65535 ? pk : ck);
        return -1;
    }
    if (ck_null < 0)
        return 0;
    /* a null clustering column: a row of the partition's static values
     * alone (every clustering and other column null, a static one not)
     * goes through insert_static with those values; else it is rejected */
    int any_static = 0;
    off = start;
    for (int c = 0; c < nvals && off + 4 <= out->len; c++) {
        int32_t l = (int32_t)cs_be32(out->data + off);
        if (l >= 0 && !t->in_static[c]) {
            snprintf(why, whylen, "primary key column %s is null", t->col_names[ck_null]);
            return -1;
        }
        any_static |= l >= 0 && t->in_static[c] && t->is_key[c] == 0;
        off += 4 + (l > 0 ? (size_t)l : 0);
    }
    if (!any_static) {
        snprintf(why, whylen, "primary key column %s is null", t->col_names[ck_null]);
        return -1;
    }
    if (allow_static == 2)
        return 0;   /* verify: compared as they are, the clustering columns null */
    size_t w = start;
    off = start;
    for (int c = 0; c < nvals && off + 4 <= out->len; c++) {
        int32_t l = (int32_t)cs_be32(out->data + off);
        size_t n = 4 + (l > 0 ? (size_t)l : 0);
        if (t->in_static[c]) {
            memmove(out->data + w, out->data + off, n);
            w += n;
        }
        off += n;
    }
    out->len = w;
    return 1;
}

int load_encode_values(const load_table *t, const src_row *r, arena *scratch, cs_buf *out,
                       char *why, size_t whylen)
{
    return encode_values(t, r, scratch, out, NULL, NULL, NULL, 2, why, whylen);
}

/* Keep row i's encoded values (w->values, the reading table's) for the
 * tables it feeds; a row that does not fit is left without (they convert
 * its values themselves). */
static void cache_row(worker *w, int i)
{
    size_t n = (size_t)w->cache_n + 1, *off = w->cache_off + (size_t)i * n;
    size_t pos = 0, base = w->cache.len;
    for (int c = 0; c < w->cache_n; c++) {
        if (pos + 4 > w->values.len) {
            off[0] = SIZE_MAX;
            return;
        }
        int32_t l = (int32_t)cs_be32(w->values.data + pos);
        off[c] = base + pos;
        pos += 4 + (l > 0 ? (size_t)l : 0);
    }
    off[w->cache_n] = base + pos;
    if (pos > w->values.len || cs_buf_append(&w->cache, w->values.data, pos))
        off[0] = SIZE_MAX;
}

/* Encode row i for the table being written into w->values: 0 for its
 * INSERT, 1 for its insert_static (the partition's static values alone),
 * -1 with why (rejected). */
static int encode_row(worker *w, int i, const src_row *r, char *why, size_t whylen)
{
    const load_table *t = w->tbl;
    const load_row_map *m = t->map;
    cs_buf_reset(&w->values);
    if (m)
        arena_reset(&w->scratch);
    const int *reuse = w->out > 0 && w->cache_n ? w->L->reuse[t - w->L->tables] : NULL;
    const size_t *coff = reuse ? w->cache_off + (size_t)i * ((size_t)w->cache_n + 1) : NULL;
    if (coff && coff[0] == SIZE_MAX)
        coff = NULL;
    int alone = encode_values(t, r, &w->scratch, &w->values, reuse, w->cache.data, coff, 1, why,
                              whylen);
    if (alone < 0)
        return -1;
    if (w->out == 0 && w->cache_n && !alone)
        cache_row(w, i);   /* (a static row's values are not all there: not kept) */
    if (t->counter)
        return 0;   /* no USING TIMESTAMP on counters */
    /* USING TIMESTAMP ? [AND TTL ?] */
    int64_t ts = w->L->cfg.write_timestamp_us;
    if (m && m->timestamp && m->timestamp(m->ctx, r, &w->scratch, &ts, why, whylen))
        return -1;
    cs_buf_put_u32(&w->values, 8);
    cs_buf_put_u64(&w->values, (uint64_t)ts);
    if (m && m->ttl) {
        int32_t ttl = 0;
        if (m->ttl(m->ctx, r, &w->scratch, &ttl, why, whylen))
            return -1;
        if (ttl < 0) { /* no TTL of its own: unset, so the table's default applies */
            cql_value_put_unset(&w->values);
        } else {
            cs_buf_put_u32(&w->values, 4);
            cs_buf_put_u32(&w->values, (uint32_t)ttl);
        }
    }
    return alone;
}

/* Send the rows rows[0..n) (encoded values at vals[off[k]..off[k+1])) as
 * one request: a single INSERT, or an unlogged batch, routed by *token
 * (the first row's token, NULL: the session computes it). 0, or -1 after
 * a fatal error. */
static int send_rows(worker *w, batch_slot *sl, int n, const int *rows, const uint8_t *vals,
                     const size_t *off, const int64_t *token, int alone)
{
    loader *L = w->L;
    const load_table *t = w->tbl;
    cql_error ce;
    flow_acquire(L);
    if (atomic_load(&L->fatal)) {
        flow_release(L, 0);
        return -1;
    }
    cql_statement *st = w->stmts;
    int nstatic = 0;
    for (int c = 0; alone && c < load_nvalues(t); c++)
        nstatic += t->in_static[c];
    for (int k = 0; k < n; k++) {
        memset(&st[k], 0, sizeof st[k]);
        st[k].prepared = alone ? t->insert_static : t->insert;
        st[k].values = vals + off[k];
        st[k].values_len = off[k + 1] - off[k];
        st[k].nvalues = (uint16_t)(alone ? t->ncols - load_nvalues(t) + nstatic : t->ncols);
        st[k].consistency = L->cfg.consistency;
        st[k].idempotent = !t->counter; /* inserts with an explicit timestamp */
    }
    if (token) {
        st[0].token = *token;
        st[0].has_token = 1;
    }
    req_ctx *c = &sl->ctx[sl->nreq++];
    c->slot = sl;
    c->off = sl->norder;
    c->nrows = n;
    c->out = w->out;
    memcpy(sl->order + sl->norder, rows, (size_t)n * sizeof *rows);
    sl->norder += n;
    atomic_fetch_add(&sl->pending, 1);
    cql_future *f = n == 1 ? cql_session_execute(L->s, &st[0], &ce)
                           : cql_session_batch(L->s, t->counter ? CQL_BATCH_COUNTER
                                                                : CQL_BATCH_UNLOGGED,
                                               (size_t)n, st, &st[0], &ce);
    if (!f) {
        atomic_fetch_sub(&sl->pending, 1);
        flow_release(L, 0);
        set_fatal(L, 1, "cannot send a write for row %" PRId64 " of %s: %s",
                  sl->batch.rows[rows[0]].pos, t->name, ce.msg);
        return -1;
    }
    atomic_fetch_add(&t->progress->requests, 1);
    if (w->mode == LOAD_BATCH_PARTITION) {
        atomic_fetch_add(&L->part_rows[t - L->tables], n);
        atomic_fetch_add(&L->part_reqs[t - L->tables], 1);
    }
    cql_future_set_callback(f, on_row_done, c);
    return 0;
}

/* The row just encoded in w->values, alone (token: as for send_rows;
 * static: it is for insert_static). */
static int send_one(worker *w, batch_slot *sl, int i, const int64_t *token, int alone)
{
    size_t off[2] = {0, w->values.len};
    return send_rows(w, sl, 1, &i, w->values.data, off, token, alone);
}

static int flush_group(worker *w, batch_slot *sl, group *g)
{
    int n = g->n;
    g->n = 0;
    if (n == 0)
        return 0;
    int rc = send_rows(w, sl, n, g->rows, g->vals.data, g->off, &g->token, 0);
    cs_buf_reset(&g->vals);
    return rc;
}

static int flush_groups(worker *w, batch_slot *sl)
{
    for (int k = 0; k < w->ngroups; k++)
        if (flush_group(w, sl, &w->groups[k]))
            return -1;
    w->ngroups = 0;
    return 0;
}

/* The size of the row just encoded (values, len bytes) as Cassandra counts
 * it against batch_size_warn_threshold (the data size of its mutations):
 * each cell's value plus its timestamp, TTL and deletion time, one cell per
 * collection element, and the row's own liveness and deletion. Rounded up
 * (20 bytes a cell, 48 a row) so that a batch under the limit here is under
 * it in Cassandra too. */
static size_t row_cost(const load_table *t, const uint8_t *v, size_t len)
{
    size_t cost = 48, o = 0;
    for (int c = 0; c < t->ncols && o + 4 <= len; c++) {
        int32_t n = (int32_t)cs_be32(v + o);
        o += 4;
        if (n < 0)
            continue;
        cost += (size_t)n + 20;
        cql_type_id id = t->types[c] ? t->types[c]->id : CQL_T_CUSTOM;
        if ((id == CQL_T_LIST || id == CQL_T_SET || id == CQL_T_MAP) && n >= 4 && o + 4 <= len)
            cost += 20 * (size_t)cs_be32(v + o);
        o += (size_t)n;
    }
    return cost;
}

/* Add the row just encoded in w->values to the group of its key, sending
 * groups as they fill. */
static int group_row(worker *w, batch_slot *sl, int i)
{
    loader *L = w->L;
    const load_table *t = w->tbl;
    size_t len = w->values.len;
    size_t cost = row_cost(t, w->values.data, len);
    int ok = 0;
    int64_t token = cql_token_of_values(t->insert, w->values.data, len, &ok);
    int64_t key = token;
    if (ok && w->mode == LOAD_BATCH_REPLICA) {
        int node;
        cql_error ce;
        ok = cql_session_replicas(L->s, t->keyspace, key, &node, 1, &ce) >= 1;
        key = node;
    }
    if (!ok || cost > w->max_bytes)
        return send_one(w, sl, i, ok ? &token : NULL, 0);
    group *g = NULL;
    if (w->mode == LOAD_BATCH_PARTITION) {
        g = &w->groups[0];
        if (w->ngroups == 0)
            w->ngroups = 1;
        else if (g->n > 0 && g->key != key && flush_group(w, sl, g))
            return -1;
    } else {
        for (int k = 0; k < w->ngroups && !g; k++)
            if (w->groups[k].key == key)
                g = &w->groups[k];
        if (!g && w->ngroups < MAX_GROUPS)
            g = &w->groups[w->ngroups++];
        if (!g) { /* more nodes than groups: reuse the first */
            g = &w->groups[0];
            if (flush_group(w, sl, g))
                return -1;
        }
    }
    if (g->n > 0 && g->cost + cost > w->max_bytes && flush_group(w, sl, g))
        return -1;
    g->key = key;
    if (g->n == 0) {
        g->off[0] = 0;
        g->token = token;
        g->cost = 0;
    }
    if (cs_buf_append(&g->vals, w->values.data, len)) {
        set_fatal(L, 1, "out of memory collecting rows into a batch");
        return -1;
    }
    g->cost += cost;
    g->rows[g->n] = i;
    g->off[++g->n] = g->vals.len;
    if (g->n == w->max_rows)
        return flush_group(w, sl, g);
    return 0;
}

/* Make target `out` of the range the one encoded: its batch mode and
 * limits. */
static void use_output(worker *w, int out)
{
    loader *L = w->L;
    const load_table *t = w->outs[out];
    w->tbl = t;
    w->out = out;
    /* partition mode helps only where a partition holds several rows */
    int clustering = 0;
    for (int c = 0; c < load_nvalues(t); c++)
        clustering |= t->is_key[c] == 2;
    w->mode = L->cfg.batch_mode;
    /* Auto: partition batches for a table with clustering columns, as long
     * as its rows come in runs of one partition (a table read in its key
     * order); where they do not (a query table fed in another table's
     * order), one row a request would follow, so replica batches after
     * the first 64 requests show it. */
    if (w->mode == LOAD_BATCH_AUTO) {
        int64_t reqs = atomic_load(&L->part_reqs[t - L->tables]);
        w->mode = clustering && (reqs < 64 || atomic_load(&L->part_rows[t - L->tables]) >= 2 * reqs)
                      ? LOAD_BATCH_PARTITION
                      : LOAD_BATCH_REPLICA;
    }
    else if (w->mode == LOAD_BATCH_PARTITION && !clustering)
        w->mode = LOAD_BATCH_NONE;
    /* A single-partition batch has no size limits in Cassandra; a batch of
     * several partitions stays under its warning thresholds (5 KiB,
     * 10 partitions). */
    int replica = w->mode == LOAD_BATCH_REPLICA;
    w->max_rows = L->cfg.batch_max_rows > 0 ? L->cfg.batch_max_rows : replica ? 8 : 64;
    w->max_bytes = (size_t)(L->cfg.batch_max_bytes > 0 ? L->cfg.batch_max_bytes
                                                        : replica ? 5 * 1024 : 64 * 1024);
}

/* Encode and send the rows of the batch for target table `out`. */
static void submit_out(worker *w, batch_slot *sl, int out)
{
    loader *L = w->L;
    use_output(w, out);
    const load_row_map *m = w->tbl->map;
    char why[700];
    w->ngroups = 0;
    if (out == 0 && w->cache_n) {
        size_t n = (size_t)w->cache_n + 1, need = (size_t)sl->batch.n * n;
        if (need > w->cache_cap) {
            size_t *no = realloc(w->cache_off, need * sizeof *no);
            if (no) {
                w->cache_off = no;
                w->cache_cap = need;
            }
        }
        if (need > w->cache_cap) {
            w->cache_n = 0; /* no memory for it: every table converts its values */
        } else {
            cs_buf_reset(&w->cache);
            for (int i = 0; i < sl->batch.n; i++)
                w->cache_off[(size_t)i * n] = SIZE_MAX;
        }
    }
    for (int i = 0; i < sl->batch.n && !atomic_load(&L->fatal); i++) {
        const src_row *r = &sl->batch.rows[i];
        if (r->problem) {
            reject_row(sl, out, i, r->problem);
            continue;
        }
        if (r->skipped) { /* a comment line, --skip-rows: left out like a filtered row */
            sl->filtered[out]++;
            atomic_fetch_add(&w->tbl->progress->filtered, 1);
            continue;
        }
        if (m && m->filter) {
            arena_reset(&w->scratch);
            int keep = m->filter(m->ctx, r, &w->scratch, why, sizeof why);
            if (keep < 0) {
                reject_row(sl, out, i, why);
                continue;
            }
            if (keep == 0) {
                sl->filtered[out]++;
                atomic_fetch_add(&w->tbl->progress->filtered, 1);
                continue;
            }
        }
        int alone = encode_row(w, i, r, why, sizeof why);
        if (alone < 0) {
            reject_row(sl, out, i, why);
            continue;
        }
        rate_wait(L);
        if (alone ? send_one(w, sl, i, NULL, 1)
                  : w->mode == LOAD_BATCH_NONE || w->max_rows < 2 ? send_one(w, sl, i, NULL, 0)
                                                                  : group_row(w, sl, i))
            break;
    }
    if (!atomic_load(&L->fatal))
        flush_groups(w, sl);
    for (int k = 0; k < MAX_GROUPS; k++) {
        w->groups[k].n = 0;
        cs_buf_reset(&w->groups[k].vals);
    }
}

static void submit_batch(worker *w, batch_slot *sl)
{
    sl->nreq = 0;
    sl->norder = 0;
    for (int o = 0; o < w->nouts && !atomic_load(&w->L->fatal); o++)
        submit_out(w, sl, o);
}

/* Send again, one request each, the rows of the slot's refused batches
 * (its requests have all settled, so their contexts are free). Encoded
 * again without the reading table's cached values, which belong to the
 * batch being read now. */
static void send_alone(worker *w, batch_slot *sl)
{
    int n = sl->nretry, keep_cache = w->cache_n;
    pending_reject *list = malloc((size_t)n * sizeof *list);
    if (!list) {
        set_fatal(w->L, 1, "out of memory sending the rows of a refused batch again");
        return;
    }
    memcpy(list, sl->retry, (size_t)n * sizeof *list);
    sl->nreq = 0;
    sl->norder = 0;
    w->cache_n = 0;
    char why[700];
    for (int k = 0; k < n && !atomic_load(&w->L->fatal); k++) {
        const src_row *r = &sl->batch.rows[list[k].row];
        use_output(w, list[k].out);
        int alone = encode_row(w, list[k].row, r, why, sizeof why);
        if (alone < 0) {
            reject_row(sl, list[k].out, list[k].row, why);
            continue;
        }
        rate_wait(w->L);
        if (send_one(w, sl, list[k].row, NULL, alone))
            break;
    }
    w->cache_n = keep_cache;
    free(list);
}

/* A range of the table is done (in this run or an earlier one); the last
 * one finishes the table, and the tables it feeds, on the display. */
static void range_done(loader *L, const work_item *it)
{
    if (atomic_fetch_sub(&L->ranges_left[it->table], 1) == 1) {
        progress_table_finished(L->tables[it->table].progress);
        for (int k = 0; k < L->nfed[it->table]; k++)
            progress_table_finished(L->tables[L->fed[it->table * LOAD_MAX_FED + k]].progress);
    }
}

static int same_pos(const src_pos *a, const src_pos *b)
{
    return a->n == b->n && (a->n == 0 || !memcmp(a->p, b->p, a->n));
}

static void run_range(worker *w, const work_item *it)
{
    loader *L = w->L;
    const load_table *t = &L->tables[it->table];
    w->nouts = 0;
    w->outs[w->nouts++] = t;
    for (int k = 0; k < L->nfed[it->table]; k++)
        w->outs[w->nouts++] = &L->tables[L->fed[it->table * LOAD_MAX_FED + k]];
    w->cache_n = L->caches[it->table] ? load_nvalues(t) : 0;
    w->broken = 0;
    w->torn = 0;
    w->range_id = it->range.id;
    state_error se;
    for (int o = 0; o < w->nouts; o++) {
        w->rs_names[o] = w->outs[o]->name;
        if (state_get_range(L->st, w->outs[o]->name, it->range.id, &w->rs[o], &se)) {
            set_fatal(L, 1, "cannot read progress: %s", se.msg);
            return;
        }
        if (t->rereads && !w->rs[o].done) {
            /* no resume point: read again from the start, and count it once;
             * the rows it rejected before are rejected again (or not), so
             * its reject file (the one range's only) starts over too */
            if (w->rs[o].rows_read > 0 && rejects_forget_table(L->rej, w->outs[o]->name))
                set_fatal(L, 1, "cannot start the reject file of %s over (%s)",
                          w->outs[o]->name, rejects_path(L->rej));
            src_pos_clear(&w->rs[o].resume);
            w->rs[o].rows_read = w->rs[o].rows_written = 0;
            w->rs[o].rows_rejected = w->rs[o].rows_filtered = 0;
        }
        if (o > 0 && (w->rs[o].done != w->rs[0].done || !same_pos(&w->rs[o].resume,
                                                                   &w->rs[0].resume))) {
            set_fatal(L, 1,
                      "the state holds different progress for %s and %s in range %d, which "
                      "are written from the same reads; start the job over with --restart",
                      t->name, w->outs[o]->name, it->range.id);
            return;
        }
        /* What earlier runs settled counts as done in this run's totals
         * too, but not in its rate. */
        progress_table_resumed(w->outs[o]->progress, w->rs[o].rows_read, w->rs[o].rows_written,
                               w->rs[o].rows_rejected, w->rs[o].rows_filtered);
        /* --max-errors weighs rejects against rows read per target table */
        atomic_fetch_add(&L->total_rejected, w->rs[o].rows_rejected);
        atomic_fetch_add(&L->total_read, w->rs[o].rows_read);
    }
    if (w->rs[0].done) {
        range_done(L, it);
        return;
    }
    source_error serr;
    source_reader *rd = L->src->ops->open_range(L->src, &it->range, &w->rs[0].resume, &serr);
    if (!rd) {
        if (interrupted(L))
            set_stop(L, 5, "interrupted");
        else
            set_fatal(L, 1, "%s", serr.msg);
        return;
    }
    int64_t k = 0;
    int eof = 0;
    while (!eof && !ending(L)) {
        batch_slot *sl = &w->slots[k % NSLOTS];
        settle(w, sl);
        if (ending(L))
            break;
        int n = L->src->ops->read(rd, &sl->batch, L->cfg.batch_rows, &serr);
        if (n < 0) {
            /* a read the interrupt cancelled is an interruption, not a failure */
            if (interrupted(L)) {
                set_stop(L, 5, "interrupted");
                break;
            }
            /* the batches read before the fault (a corrupt compressed
             * file...) are good: they land and are counted and saved
             * before the run fails */
            for (int64_t j = k; j < k + NSLOTS; j++)
                settle(w, &w->slots[j % NSLOTS]);
            if (!w->broken)
                checkpoint(w, 1);
            set_fatal(L, 1, "%s", serr.msg);
            break;
        }
        if (n == 0) {
            eof = 1;
            break;
        }
        if (src_pos_set(&sl->resume, sl->batch.resume.p, sl->batch.resume.n)) {
            set_fatal(L, 1, "out of memory keeping a resume point");
            break;
        }
        k++;
        sl->busy = 1;
        sl->read = n;
        for (int o = 0; o < w->nouts; o++) {
            atomic_store(&sl->written[o], 0);
            atomic_store(&sl->rejected[o], 0);
            sl->filtered[o] = 0;
            atomic_fetch_add(&w->outs[o]->progress->read, n);
        }
        atomic_store(&sl->pending, 1); /* the submitting worker's own hold */
        atomic_fetch_add(&L->total_read, (long long)n * w->nouts);
        submit_batch(w, sl);
        slot_done_one(sl);
    }
    /* Settle the outstanding batches in order (also when ending: their
     * requests still reference the slots; complete ones count as done). */
    for (int64_t j = k; j < k + NSLOTS; j++)
        settle(w, &w->slots[j % NSLOTS]);
    L->src->ops->close_range(rd);
    if (eof && !w->broken && !atomic_load(&L->fatal)) {
        for (int o = 0; o < w->nouts; o++)
            w->rs[o].done = 1;
        checkpoint(w, 1);
        range_done(L, it);
    } else if (!w->torn) {
        checkpoint(w, 1); /* settled work stays settled, also after a fatal error */
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    loader *L = w->L;
    for (;;) {
        /* ending() may record the stop, which takes L->mu: ask it first
         * (asked under L->mu, the first worker to notice an interrupt here
         * deadlocked on its own lock and the run never ended) */
        int end = ending(L);
        pthread_mutex_lock(&L->mu);
        int i = end ? L->nitems : L->next_item++;
        pthread_mutex_unlock(&L->mu);
        if (i >= L->nitems)
            break;
        const work_item *it = &L->items[i];
        if (atomic_fetch_add(&L->started[it->table], 1) == 0) {
            progress_table_started(L->tables[it->table].progress);
            for (int k = 0; k < L->nfed[it->table]; k++)
                progress_table_started(L->tables[L->fed[it->table * LOAD_MAX_FED + k]].progress);
        }
        run_range(w, it);
    }
    return NULL;
}

/* Whether two CQL types are the same type (set up only: not on the hot path). */
static int same_type(const cql_type *a, const cql_type *b)
{
    if (a == b)
        return 1;
    cs_buf fa, fb;
    cs_buf_init(&fa, 1 << 20);
    cs_buf_init(&fb, 1 << 20);
    int same = cql_type_format(a, &fa) == 0 && cql_type_format(b, &fb) == 0 &&
               fa.len == fb.len && (fa.len == 0 || !memcmp(fa.data, fb.data, fa.len));
    cs_buf_release(&fa);
    cs_buf_release(&fb);
    return same;
}

/* Fill L->reuse[t] for fed table t: which of its values are the bytes
 * the reading table encodes for the same source column. Not where the
 * conversion counts values per table (double and float columns) or reads
 * texts with format options. 0, or -1 out of memory. */
static int plan_reuse(loader *L, int t)
{
    const load_table *ft = &L->tables[t], *rt = &L->tables[ft->fed_by - 1];
    if (ft->textfmt || rt->textfmt ||
        (ft->keyspace != rt->keyspace &&
         (!ft->keyspace || !rt->keyspace || strcmp(ft->keyspace, rt->keyspace))))
        return 0; /* (a user type's name means one type in one keyspace) */
    int n = load_nvalues(ft), n0 = load_nvalues(rt), any = 0;
    int *reuse = malloc((size_t)(n > 0 ? n : 1) * sizeof *reuse);
    if (!reuse)
        return -1;
    for (int c = 0; c < n; c++) {
        reuse[c] = -1;
        int sc = ft->src_cols[c];
        cql_type_id id = ft->types[c]->id;
        if (sc < 0 || id == CQL_T_DOUBLE || id == CQL_T_FLOAT)
            continue;
        for (int c0 = 0; c0 < n0 && reuse[c] < 0; c0++)
            if (rt->src_cols[c0] == sc && same_type(rt->types[c0], ft->types[c]))
                reuse[c] = c0;
        any |= reuse[c] >= 0;
    }
    L->reuse[t] = reuse;
    if (any)
        L->caches[ft->fed_by - 1] = 1;
    return 0;
}

int loader_run(source *src, cql_session *s, const load_table *tables, int ntables,
               const loader_config *cfg, state *st, rejects *rej, loader_error *err)
{
    loader L;
    memset(&L, 0, sizeof L);
    L.src = src;
    L.s = s;
    L.tables = tables;
    L.ntables = ntables;
    L.cfg = *cfg;
    if (L.cfg.workers < 1)
        L.cfg.workers = 1;
    if (L.cfg.batch_rows < 1)
        L.cfg.batch_rows = 500;
    if (L.cfg.max_inflight_rows < 32)
        L.cfg.max_inflight_rows = 32;
    /* Batch limits are chosen per table (run_range); 0 means the mode's
     * default, 64 rows at most. */
    if (L.cfg.batch_max_rows > 1000)
        L.cfg.batch_max_rows = 1000;
    int alloc_rows = L.cfg.batch_max_rows > 0 ? L.cfg.batch_max_rows : 64;
    if (L.cfg.ranges_per_table < 1)
        L.cfg.ranges_per_table = 4 * L.cfg.workers;
    L.st = st;
    L.rej = rej;
    pthread_mutex_init(&L.mu, NULL);
    pthread_mutex_init(&L.flow_mu, NULL);
    pthread_cond_init(&L.flow_cv, NULL);
    pthread_mutex_init(&L.rate_mu, NULL);
    atomic_store(&L.limit, L.cfg.max_inflight_rows < 1024 ? L.cfg.max_inflight_rows : 1024);
    L.ranges_left = calloc((size_t)ntables, sizeof *L.ranges_left);
    L.started = calloc((size_t)ntables, sizeof *L.started);
    L.fed = calloc((size_t)ntables * LOAD_MAX_FED, sizeof *L.fed);
    L.nfed = calloc((size_t)ntables, sizeof *L.nfed);
    L.reuse = calloc((size_t)ntables, sizeof *L.reuse);
    L.caches = calloc((size_t)ntables, sizeof *L.caches);
    L.part_rows = calloc((size_t)ntables, sizeof *L.part_rows);
    L.part_reqs = calloc((size_t)ntables, sizeof *L.part_reqs);

    /* Work items: every range of every table that reads its source table,
     * table by table. An item refers to its range's bounds: the caller's
     * (planned, kept in the state) or those split here (freed at the end). */
    int rc = 0;
    int max_outs = 1;
    source_range **split_here = calloc((size_t)ntables, sizeof *split_here);
    int *nsplit = calloc((size_t)ntables, sizeof *nsplit);
    if (!split_here || !nsplit || !L.ranges_left || !L.started || !L.fed || !L.nfed ||
        !L.reuse || !L.caches || !L.part_rows || !L.part_reqs) {
        rc = -1;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        err->code = 1;
    }
    for (int t = 0; t < ntables && rc == 0; t++) {
        int f = tables[t].fed_by - 1;
        if (f < 0)
            continue;
        if (f >= t || tables[f].fed_by || tables[f].src_table != tables[t].src_table ||
            L.nfed[f] >= LOAD_MAX_FED - 1) {
            snprintf(err->msg, sizeof err->msg,
                     "%s cannot be fed by the reads of %s (another source table, or more than "
                     "%d target tables for one source table)",
                     tables[t].name, tables[f < 0 || f >= ntables ? t : f].name,
                     LOAD_MAX_FED);
            err->code = 1;
            rc = -1;
            break;
        }
        L.fed[f * LOAD_MAX_FED + L.nfed[f]++] = t;
        if (L.nfed[f] + 1 > max_outs)
            max_outs = L.nfed[f] + 1;
    }
    for (int t = 0; t < ntables && rc == 0; t++)
        if (tables[t].fed_by && plan_reuse(&L, t)) {
            snprintf(err->msg, sizeof err->msg, "out of memory");
            err->code = 1;
            rc = -1;
        }
    for (int t = 0; t < ntables && rc == 0; t++) {
        if (tables[t].fed_by)
            continue;
        const source_range *ranges = tables[t].ranges;
        int n = tables[t].nranges;
        source_error se;
        if (n <= 0) {
            source_range *r = NULL;
            if (src->ops->split(src, tables[t].src_table, L.cfg.ranges_per_table, &r, &n, &se)) {
                snprintf(err->msg, sizeof err->msg, "%s", se.msg);
                err->code = 1;
                rc = -1;
                break;
            }
            split_here[t] = r;
            nsplit[t] = n;
            ranges = r;
        }
        work_item *ni = n > 0 ? realloc(L.items, (size_t)(L.nitems + n) * sizeof *ni) : NULL;
        if (!ni) {
            rc = -1;
            snprintf(err->msg, sizeof err->msg, "out of memory");
            break;
        }
        L.items = ni;
        for (int i = 0; i < n; i++) {
            L.items[L.nitems].table = t;
            L.items[L.nitems].range = ranges[i];
            L.nitems++;
        }
        atomic_store(&L.ranges_left[t], n);
    }

    worker *ws = calloc((size_t)L.cfg.workers, sizeof *ws);
    int started = 0;
    for (int i = 0; rc == 0 && i < L.cfg.workers; i++) {
        worker *w = &ws[i];
        w->L = &L;
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
        cs_buf_init(&w->values, CQL_DEFAULT_MAX_BODY);
        cs_buf_init(&w->cache, CQL_DEFAULT_MAX_BODY);
        arena_init(&w->scratch, 16 * 1024);
        int ok = (w->stmts = calloc((size_t)alloc_rows, sizeof *w->stmts)) != NULL;
        for (int k = 0; k < MAX_GROUPS; k++) {
            group *g = &w->groups[k];
            cs_buf_init(&g->vals, CQL_DEFAULT_MAX_BODY);
            g->off = calloc((size_t)alloc_rows + 1, sizeof *g->off);
            g->rows = calloc((size_t)alloc_rows, sizeof *g->rows);
            ok = ok && g->off && g->rows;
        }
        for (int k = 0; k < NSLOTS; k++) {
            batch_slot *sl = &w->slots[k];
            row_batch_init(&sl->batch, L.cfg.batch_rows);
            sl->w = w;
            sl->ctx = calloc((size_t)L.cfg.batch_rows * (size_t)max_outs, sizeof *sl->ctx);
            sl->order = calloc((size_t)L.cfg.batch_rows * (size_t)max_outs, sizeof *sl->order);
            ok = ok && sl->ctx && sl->order;
        }
        if (!ok) {
            snprintf(err->msg, sizeof err->msg, "out of memory for the loader's buffers");
            err->code = 1;
            rc = -1;
            break;
        }
        if (pthread_create(&w->thread, NULL, worker_main, w) == 0)
            started++;
    }
    pthread_t watcher;
    int watching = started > 0 && L.cfg.interrupt && src->ops->cancel &&
                   pthread_create(&watcher, NULL, cancel_watch, &L) == 0;
    for (int i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    atomic_store(&L.workers_done, 1);
    if (watching)
        pthread_join(watcher, NULL);
    for (int i = 0; i < L.cfg.workers && ws; i++) {
        worker *w = &ws[i];
        if (!w->L)
            continue;
        for (int k = 0; k < NSLOTS; k++) {
            row_batch_release(&w->slots[k].batch);
            src_pos_free(&w->slots[k].resume);
            drop_rejects(&w->slots[k]);
            free(w->slots[k].rej);
            free(w->slots[k].retry);
            free(w->slots[k].ctx);
            free(w->slots[k].order);
        }
        for (int k = 0; k < MAX_GROUPS; k++) {
            cs_buf_release(&w->groups[k].vals);
            free(w->groups[k].off);
            free(w->groups[k].rows);
        }
        free(w->stmts);
        cs_buf_release(&w->values);
        cs_buf_release(&w->cache);
        free(w->cache_off);
        arena_release(&w->scratch);
        for (int o = 0; o < LOAD_MAX_FED; o++)
            src_pos_free(&w->rs[o].resume);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
    }
    free(ws);
    if (rc == 0 && ending(&L)) {
        *err = L.err;
        rc = -1;
    }
    free(L.items);
    for (int t = 0; t < ntables && split_here; t++)
        source_ranges_free(split_here[t], nsplit[t]);
    free(split_here);
    free(nsplit);
    free(L.ranges_left);
    free(L.started);
    free(L.fed);
    free(L.nfed);
    for (int t = 0; t < ntables && L.reuse; t++)
        free(L.reuse[t]);
    free(L.reuse);
    free(L.caches);
    free(L.part_rows);
    free(L.part_reqs);
    pthread_mutex_destroy(&L.mu);
    pthread_mutex_destroy(&L.flow_mu);
    pthread_cond_destroy(&L.flow_cv);
    pthread_mutex_destroy(&L.rate_mu);
    return rc;
}
