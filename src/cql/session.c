/* The session: public API, futures, request dispatch and token-aware
 * routing, retries, node discovery, prepared statements.
 *
 * Threads: callers submit requests from any thread into a mutex-protected
 * queue and wake the I/O thread (uv_async); everything else — nodes,
 * connections, the ring, dispatch — happens on the I/O thread. The calling
 * thread of cql_session_connect only reads node data after the loop thread
 * has published it under `mu`. */
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cql/murmur3.h"
#include "cql/session_int.h"

#define RETRY_BASE_MS 50
#define RETRY_MAX_MS 5000

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

void cql_config_init(cql_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->port = 9042;
    cfg->connections_per_node = 1;
    cfg->max_inflight_per_conn = 2048;
    cfg->max_pending = 8192;
    cfg->connect_timeout_ms = 5000;
    cfg->request_timeout_ms = 12000;
    cfg->max_retries = 5;
}

int64_t cql_timestamp_now_us(void)
{
    static _Atomic int64_t last;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    int64_t prev = atomic_load(&last);
    for (;;) {
        int64_t next = now > prev ? now : prev + 1;
        if (atomic_compare_exchange_weak(&last, &prev, next))
            return next;
    }
}

/* ---- running code on the loop thread ---------------------------------- */

static void post_task(cql_session *s, void (*fn)(cql_session *, void *), void *arg)
{
    loop_task *t = malloc(sizeof *t);
    if (!t)
        abort(); /* a few bytes at setup time; nothing sensible to do */
    t->fn = fn;
    t->arg = arg;
    t->next = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->tasks_tail)
        s->tasks_tail->next = t;
    else
        s->tasks_head = t;
    s->tasks_tail = t;
    pthread_mutex_unlock(&s->mu);
    uv_async_send(&s->wakeup);
}

/* An active idle handle makes the loop poll without blocking, so a flush
 * requested from a timer callback happens in the same loop turn. */
static void on_kick(uv_idle_t *h) { (void)h; }

void session_mark_dirty(cql_session *s, cql_conn *c)
{
    if (c->dirty)
        return;
    c->dirty = 1;
    c->flush_next = s->flush_list;
    s->flush_list = c;
    if (!s->kick_active) {
        s->kick_active = 1;
        uv_idle_start(&s->kicker, on_kick);
    }
}

static void on_check(uv_check_t *h)
{
    cql_session *s = h->data;
    while (s->flush_list) {
        cql_conn *c = s->flush_list;
        s->flush_list = c->flush_next;
        c->dirty = 0;
        conn_flush(c);
    }
    if (s->kick_active) {
        s->kick_active = 0;
        uv_idle_stop(&s->kicker);
    }
}

/* ---- futures ------------------------------------------------------------ */

static void future_unref(cql_future *f)
{
    if (atomic_fetch_sub(&f->refs, 1) == 1) {
        cql_result_free(f->result);
        free(f->req.body);
        free(f);
    }
}

static void release_pending(cql_session *s)
{
    pthread_mutex_lock(&s->mu);
    s->pending--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_sub_explicit(&s->st_inflight, 1, memory_order_relaxed);
}

/* Finish a request: exactly one of err/result is set. Internal requests
 * (no future) are freed here. */
static void complete(cql_session *s, cql_request *r, const cql_error *err, cql_result *result)
{
    if (err)
        atomic_fetch_add_explicit(&s->st_errors, 1, memory_order_relaxed);
    cql_future *f = r->future;
    if (!f) {
        cql_result_free(result);
        free(r->body);
        free(r);
        return;
    }
    pthread_mutex_lock(&s->fmu);
    if (err) {
        f->err = *err;
        f->failed = 1;
    } else {
        f->result = result;
    }
    f->retries = r->attempt;
    atomic_store(&f->done, 1);
    cql_callback cb = f->cb;
    void *ud = f->cb_ud;
    pthread_cond_broadcast(&s->fcv);
    pthread_mutex_unlock(&s->fmu);
    if (cb)
        cb(f, ud);
    release_pending(s);
    future_unref(f);
}

void cql_future_set_callback(cql_future *f, cql_callback cb, void *ud)
{
    cql_session *s = f->req.s;
    pthread_mutex_lock(&s->fmu);
    int done = atomic_load(&f->done);
    if (!done) {
        f->cb = cb;
        f->cb_ud = ud;
    }
    pthread_mutex_unlock(&s->fmu);
    if (done)
        cb(f, ud);
}

int cql_future_wait(cql_future *f, cql_error *err)
{
    cql_session *s = f->req.s;
    pthread_mutex_lock(&s->fmu);
    while (!atomic_load(&f->done))
        pthread_cond_wait(&s->fcv, &s->fmu);
    pthread_mutex_unlock(&s->fmu);
    if (f->failed) {
        if (err)
            *err = f->err;
        return -1;
    }
    return 0;
}

int cql_future_ready(cql_future *f) { return atomic_load(&f->done); }
const cql_error *cql_future_error(const cql_future *f) { return f->failed ? &f->err : NULL; }
const cql_result *cql_future_result(const cql_future *f) { return f->failed ? NULL : f->result; }
int cql_future_retries(const cql_future *f) { return f->retries; }
void cql_future_free(cql_future *f)
{
    if (f)
        future_unref(f);
}

/* ---- results ------------------------------------------------------------ */

void cql_result_free(cql_result *r)
{
    if (!r)
        return;
    cql_result_body_release(&r->parsed);
    if (r->warnings)
        for (char **w = r->warnings; *w; w++)
            free(*w);
    free(r->warnings);
    free(r->body);
    free(r);
}

int32_t cql_result_kind(const cql_result *r) { return r->parsed.kind; }
const cql_result_body *cql_result_body_of(const cql_result *r) { return &r->parsed; }
int32_t cql_result_row_count(const cql_result *r)
{
    return r->parsed.kind == CQL_RESULT_ROWS ? r->parsed.rows.nrows : 0;
}
int32_t cql_result_column_count(const cql_result *r)
{
    return r->parsed.kind == CQL_RESULT_ROWS ? r->parsed.rows.ncols : 0;
}
const cql_column *cql_result_column(const cql_result *r, int32_t col)
{
    if (r->parsed.kind != CQL_RESULT_ROWS || col < 0 || col >= r->parsed.rows.ncols)
        return NULL;
    if (r->parsed.rows.meta.cols)
        return &r->parsed.rows.meta.cols[col];
    return r->skip_meta && r->skip_meta->cols ? &r->skip_meta->cols[col] : NULL;
}
int32_t cql_result_value(const cql_result *r, int32_t row, int32_t col, const uint8_t **p)
{
    const cql_rows *rows = &r->parsed.rows;
    size_t i = (size_t)row * (size_t)rows->ncols + (size_t)col;
    *p = rows->vals[i];
    return rows->lens[i];
}
const uint8_t *cql_result_paging_state(const cql_result *r, size_t *len)
{
    if (r->parsed.kind != CQL_RESULT_ROWS || !r->parsed.rows.meta.paging_state) {
        *len = 0;
        return NULL;
    }
    *len = r->parsed.rows.meta.paging_state_len;
    return r->parsed.rows.meta.paging_state;
}
const char *const *cql_result_warnings(const cql_result *r)
{
    static const char *const none[] = {NULL};
    return r->warnings ? (const char *const *)r->warnings : none;
}

/* Strip the response prefixes the envelope flags announce (tracing id,
 * warnings, custom payload) and parse the RESULT that follows. */
static cql_result *build_result(cql_session *s, cql_request *r, const cql_envelope *env,
                                cql_error *err)
{
    cs_rd rd;
    cs_rd_init(&rd, env->body, env->length);
    cql_result *res = calloc(1, sizeof *res);
    if (!res) {
        cql_fail(err, CQL_E_NOMEM, "out of memory for a result");
        return NULL;
    }
    if (env->flags & CQL_FLAG_TRACING)
        cs_rd_bytes(&rd, 16);
    if (env->flags & CQL_FLAG_WARNING) {
        uint16_t n = cs_rd_u16(&rd);
        res->warnings = calloc((size_t)n + 1, sizeof *res->warnings);
        for (uint16_t i = 0; res->warnings && i < n && !rd.err; i++) {
            uint16_t l = cs_rd_u16(&rd);
            const uint8_t *p = cs_rd_bytes(&rd, l);
            if (p)
                res->warnings[i] = strndup((const char *)p, l);
        }
    }
    if (env->flags & CQL_FLAG_CUSTOM_PAYLOAD) {
        uint16_t n = cs_rd_u16(&rd);
        for (uint16_t i = 0; i < n && !rd.err; i++) {
            cs_rd_bytes(&rd, cs_rd_u16(&rd));
            int32_t l = (int32_t)cs_rd_u32(&rd);
            if (l > 0)
                cs_rd_bytes(&rd, (size_t)l);
        }
    }
    if (rd.err) {
        cql_result_free(res);
        cql_fail(err, CQL_E_PROTOCOL, "truncated response prefix");
        return NULL;
    }
    if (env->opcode != CQL_OP_RESULT) {
        /* SUPPORTED, AUTH_* etc. are not results of user requests. */
        cql_result_free(res);
        cql_fail(err, CQL_E_PROTOCOL, "unexpected response opcode 0x%02x", env->opcode);
        return NULL;
    }
    /* VOID results (every write) need no copy. */
    if (rd.n == 4 && cs_be32(rd.p) == CQL_RESULT_VOID) {
        res->parsed.kind = CQL_RESULT_VOID;
        return res;
    }
    res->body = malloc(rd.n ? rd.n : 1);
    if (!res->body) {
        cql_result_free(res);
        cql_fail(err, CQL_E_NOMEM, "out of memory for a result of %zu bytes", rd.n);
        return NULL;
    }
    memcpy(res->body, rd.p, rd.n);
    res->len = rd.n;
    res->skip_meta = r->skip_meta;
    if (cql_result_parse(&res->parsed, s->version, res->body, res->len, r->skip_meta, err)) {
        cql_result_free(res);
        return NULL;
    }
    return res;
}

/* ---- dispatch and routing ------------------------------------------------ */

static cql_conn *node_pick_conn(cql_node *n)
{
    for (int i = 0; i < n->nconns; i++) {
        cql_conn *c = n->conns[(n->rr + i) % n->nconns];
        if (conn_has_capacity(c)) {
            n->rr = (n->rr + i + 1) % n->nconns;
            return c;
        }
    }
    return NULL;
}

static void park(cql_node *n, cql_request *r)
{
    r->next = NULL;
    r->prev = n->parked_tail;
    if (n->parked_tail)
        n->parked_tail->next = r;
    else
        n->parked_head = r;
    n->parked_tail = r;
}

static int node_usable(const cql_node *n) { return n->local && n->up; }

/* A down node that will be tried again soon: requests wait for it. */
static int node_reconnecting(const cql_node *n)
{
    if (!n->local || n->up)
        return 0;
    if (n->reconnect_timer)
        return 1;
    for (int i = 0; i < n->nconns; i++)
        if (n->conns[i]->state < CONN_READY)
            return 1;
    return 0;
}

/* Index of the first ring entry whose token is >= t (wrapping to 0). */
static int ring_index(const cql_session *s, int64_t t)
{
    int lo = 0, hi = s->ring_len;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (s->ring_tokens[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == s->ring_len ? 0 : lo;
}

/* The attempt-th usable replica of a token from a keyspace's precomputed
 * replica sets, or NULL when none is usable. */
static cql_node *choose_replica(cql_session *s, const ks_replication *k, cql_request *r)
{
    const int *set = k->sets + (size_t)ring_index(s, r->token) * (size_t)k->nrep;
    int usable[64], n = 0;
    for (int i = 0; i < k->nrep && set[i] >= 0 && n < 64; i++)
        if (node_usable(s->nodes[set[i]]))
            usable[n++] = set[i];
    return n ? s->nodes[usable[r->attempt % n]] : NULL;
}

/* Choose the node for a request: the attempt-th usable replica on the ring
 * walk from its token (the first is the primary replica, a correct target
 * for SimpleStrategy and, in the local DC, for NetworkTopologyStrategy), or
 * round-robin when it has no token. */
static cql_node *choose_node(cql_session *s, cql_request *r)
{
    int nn = atomic_load(&s->nnodes);
    if (r->node_pin >= 0)
        return r->node_pin < nn ? s->nodes[r->node_pin] : NULL;
    if (r->has_token && s->ring_len > 0 && r->prepared && r->prepared->repl) {
        cql_node *n = choose_replica(s, r->prepared->repl, r);
        if (n)
            return n;
    }
    if (r->has_token && s->ring_len > 0) {
        int lo = 0, hi = s->ring_len;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (s->ring_tokens[mid] < r->token)
                lo = mid + 1;
            else
                hi = mid;
        }
        int seen = 0;
        int last = -1;
        for (int k = 0; k < s->ring_len; k++) {
            int ni = s->ring_nodes[(lo + k) % s->ring_len];
            if (ni == last)
                continue;
            last = ni;
            cql_node *n = s->nodes[ni];
            if (!node_usable(n))
                continue;
            if (seen++ == r->attempt % (nn > 0 ? nn : 1))
                return n;
        }
    }
    for (int k = 0; k < nn; k++) {
        cql_node *n = s->nodes[(s->rr++) % (unsigned)nn];
        if (node_usable(n))
            return n;
    }
    for (int k = 0; k < nn; k++)
        if (node_reconnecting(s->nodes[k]))
            return s->nodes[k];
    return NULL;
}

static void dispatch(cql_session *s, cql_request *r)
{
    cql_node *n = choose_node(s, r);
    if (n && !n->up && node_reconnecting(n)) {
        park(n, r); /* sent when the node is back, retried if it fails to come back */
        return;
    }
    if (!n || !n->up) {
        /* Idempotent requests wait (with backoff) for a node to come back. */
        cql_error e;
        if (n)
            cql_fail(&e, CQL_E_NO_HOST, "node %s:%u is down", n->addr, n->port);
        else
            cql_fail(&e, CQL_E_NO_HOST, "no node is available (all %d known nodes are down)",
                     atomic_load(&s->nnodes));
        session_request_failed(s, r, &e);
        return;
    }
    cql_conn *c = node_pick_conn(n);
    if (!c || conn_send(c, r))
        park(n, r);
}

void session_drain_parked(cql_session *s, cql_node *n)
{
    while (n->parked_head) {
        cql_conn *c = node_pick_conn(n);
        if (!c)
            return;
        cql_request *r = n->parked_head;
        n->parked_head = r->next;
        if (!n->parked_head)
            n->parked_tail = NULL;
        r->next = r->prev = NULL;
        conn_send(c, r);
    }
}

static void on_retry_timer(uv_timer_t *t)
{
    cql_request *r = t->data;
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    r->retry_timer = NULL;
    dispatch(r->s, r);
}

static int should_retry(cql_session *s, cql_request *r, const cql_error *e)
{
    if (!r->idempotent || r->attempt >= s->cfg.max_retries || s->stopping)
        return 0;
    switch (e->code) {
    case CQL_E_TIMEOUT:
    case CQL_E_IO:
    case CQL_E_NO_HOST:
        return 1;
    case CQL_E_SERVER:
        return cql_server_error_is_transient(e->server_code);
    default:
        return 0;
    }
}

static void retry_later(cql_session *s, cql_request *r)
{
    r->attempt++;
    atomic_fetch_add_explicit(&s->st_retries, 1, memory_order_relaxed);
    uint64_t delay = (uint64_t)RETRY_BASE_MS << (r->attempt - 1 < 7 ? r->attempt - 1 : 7);
    if (delay > RETRY_MAX_MS)
        delay = RETRY_MAX_MS;
    delay = delay / 2 + (uint64_t)(rand() % (int)(delay / 2 + 1)); /* jitter */
    uv_timer_t *t = malloc(sizeof *t);
    if (!t) {
        dispatch(s, r);
        return;
    }
    uv_timer_init(&s->loop, t);
    t->data = r;
    r->retry_timer = t;
    uv_timer_start(t, on_retry_timer, delay, 0);
}

void session_request_failed(cql_session *s, cql_request *r, const cql_error *err)
{
    if (r->after_prepare) { /* an internal re-prepare failed: fail the original */
        cql_request *orig = r->after_prepare;
        r->after_prepare = NULL;
        complete(s, r, err, NULL);
        session_request_failed(s, orig, err);
        return;
    }
    if (should_retry(s, r, err)) {
        retry_later(s, r);
        return;
    }
    complete(s, r, err, NULL);
}

static void reprepare(cql_session *s, cql_request *r, cql_node *n)
{
    atomic_fetch_add_explicit(&s->st_reprepares, 1, memory_order_relaxed);
    cql_request *p = calloc(1, sizeof *p);
    cs_buf body;
    cs_buf_init(&body, SIZE_MAX);
    if (!p || cql_msg_prepare(&body, s->version, r->prepared->query, NULL)) {
        free(p);
        cs_buf_release(&body);
        cql_error e;
        cql_fail(&e, CQL_E_NOMEM, "cannot build a PREPARE request");
        complete(s, r, &e, NULL);
        return;
    }
    p->s = s;
    p->opcode = CQL_OP_PREPARE;
    p->body = cs_buf_detach(&body, &p->body_len);
    p->node_pin = n->index;
    p->after_prepare = r;
    dispatch(s, p); /* internal: not counted in s->pending */
}

void session_response(cql_session *s, cql_request *r, const cql_envelope *env)
{
    atomic_fetch_add_explicit(&s->st_responses, 1, memory_order_relaxed);
    cql_error e;
    if (env->opcode == CQL_OP_ERROR) {
        cql_msg_parse_error(env->body, env->length, &e);
        /* The node forgot the statement (restart, cache eviction): prepare
         * it there again and resend, a bounded number of times. */
        if (e.code == CQL_E_SERVER && e.server_code == CQL_SRV_UNPREPARED && r->prepared &&
            r->reprepares < 3 && r->sent_node >= 0) {
            r->reprepares++;
            reprepare(s, r, s->nodes[r->sent_node]);
            return;
        }
        session_request_failed(s, r, &e);
        return;
    }
    cql_result *res = build_result(s, r, env, &e);
    if (!res) {
        session_request_failed(s, r, &e);
        return;
    }
    if (r->after_prepare) {
        cql_request *orig = r->after_prepare;
        r->after_prepare = NULL;
        complete(s, r, NULL, res);
        dispatch(s, orig);
        return;
    }
    complete(s, r, NULL, res);
}

/* ---- connection events ---------------------------------------------------- */

static int node_has_ready_conn(const cql_node *n)
{
    for (int i = 0; i < n->nconns; i++)
        if (n->conns[i]->state == CONN_READY)
            return 1;
    return 0;
}

static void node_connect(cql_session *s, cql_node *n);

void session_conn_ready(cql_session *s, cql_conn *c)
{
    pthread_mutex_lock(&s->mu);
    c->node->up = 1;
    c->node->ever_up = 1;
    c->node->reconnect_ms = 0;
    c->node->settled++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    session_drain_parked(s, c->node);
}

/* Requests parked on a node that went down go elsewhere (or fail). */
static void unpark_all(cql_session *s, cql_node *n)
{
    cql_request *r = n->parked_head;
    n->parked_head = n->parked_tail = NULL;
    while (r) {
        cql_request *next = r->next;
        r->next = r->prev = NULL;
        cql_error e;
        cql_fail(&e, CQL_E_IO, "%s:%u: node went down", n->addr, n->port);
        session_request_failed(s, r, &e);
        r = next;
    }
}

typedef struct reconnect_arg {
    cql_session *s;
    cql_node *n;
} reconnect_arg;

static void reconnect_fire(uv_timer_t *t)
{
    reconnect_arg *a = t->data;
    cql_session *s = a->s;
    cql_node *n = a->n;
    free(a);
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    n->reconnect_timer = NULL;
    if (!s->stopping && !node_has_ready_conn(n))
        node_connect(s, n);
}

void session_conn_failed(cql_session *s, cql_conn *c, int was_ready)
{
    cql_node *n = c->node;
    pthread_mutex_lock(&s->mu);
    n->up = node_has_ready_conn(n);
    if (!was_ready) {
        n->settled++;
        n->downgrade = c->downgrade;
        n->last_err = c->err;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    /* A node that worked once gets reconnection attempts with backoff, for
     * as long as the session lives. */
    int connecting = 0;
    for (int i = 0; i < n->nconns; i++)
        connecting |= n->conns[i] != c && n->conns[i]->state < CONN_READY;
    if (n->ever_up && !s->stopping && !n->up && !n->reconnect_timer && !connecting) {
        n->reconnect_ms = n->reconnect_ms ? n->reconnect_ms * 2 : 500;
        if (n->reconnect_ms > 30000)
            n->reconnect_ms = 30000;
        uv_timer_t *t = malloc(sizeof *t);
        reconnect_arg *a = malloc(sizeof *a);
        if (t && a) {
            a->s = s;
            a->n = n;
            uv_timer_init(&s->loop, t);
            t->data = a;
            n->reconnect_timer = t;
            uv_timer_start(t, reconnect_fire, (uint64_t)n->reconnect_ms, 0);
        } else {
            free(t);
            free(a);
        }
    }
    if (!n->up)
        unpark_all(s, n); /* each failed attempt costs parked requests one retry */
}

void session_conn_freed(cql_session *s, cql_conn *c)
{
    cql_node *n = c->node;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < n->nconns; i++) {
        if (n->conns[i] == c) {
            n->conns[i] = n->conns[--n->nconns];
            break;
        }
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Open one more connection to n (loop thread). */
static void node_connect(cql_session *s, cql_node *n)
{
    cql_conn **nc = realloc(n->conns, (size_t)(n->nconns + 1) * sizeof *nc);
    if (!nc)
        return;
    n->conns = nc;
    cql_conn *c = conn_open(s, n);
    if (!c)
        return;
    pthread_mutex_lock(&s->mu);
    n->conns[n->nconns++] = c;
    pthread_mutex_unlock(&s->mu);
}

static void task_node_connect(cql_session *s, void *arg) { node_connect(s, arg); }

/* ---- the loop thread ---------------------------------------------------- */

static void on_wakeup(uv_async_t *h)
{
    cql_session *s = h->data;
    pthread_mutex_lock(&s->mu);
    loop_task *t = s->tasks_head;
    s->tasks_head = s->tasks_tail = NULL;
    cql_request *r = s->q_head;
    s->q_head = s->q_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    while (t) {
        loop_task *next = t->next;
        t->fn(s, t->arg);
        free(t);
        t = next;
    }
    while (r) {
        cql_request *next = r->next;
        r->next = NULL;
        dispatch(s, r);
        r = next;
    }
}

static void *loop_main(void *arg)
{
    cql_session *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

static void task_stop(cql_session *s, void *arg)
{
    (void)arg;
    s->stopping = 1;
    int nn = atomic_load(&s->nnodes);
    for (int i = 0; i < nn; i++) {
        cql_node *n = s->nodes[i];
        if (n->reconnect_timer) {
            free(n->reconnect_timer->data);
            uv_close((uv_handle_t *)n->reconnect_timer, (uv_close_cb)free);
            n->reconnect_timer = NULL;
        }
        for (int k = n->nconns - 1; k >= 0; k--)
            conn_close(n->conns[k], NULL);
        unpark_all(s, n);
    }
    uv_close((uv_handle_t *)&s->wakeup, NULL);
    uv_close((uv_handle_t *)&s->flusher, NULL);
    uv_close((uv_handle_t *)&s->kicker, NULL);
}

/* ---- submitting ---------------------------------------------------------- */

static void enqueue(cql_session *s, cql_request *r)
{
    pthread_mutex_lock(&s->mu);
    while (s->pending >= s->cfg.max_pending && !s->stopping)
        pthread_cond_wait(&s->cv, &s->mu);
    s->pending++;
    r->next = NULL;
    if (s->q_tail)
        s->q_tail->next = r;
    else
        s->q_head = r;
    s->q_tail = r;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add_explicit(&s->st_inflight, 1, memory_order_relaxed);
    uv_async_send(&s->wakeup);
}

static cql_future *future_new(cql_session *s, uint8_t opcode, cs_buf *body, const cql_statement *st)
{
    cql_future *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    atomic_init(&f->refs, 2);
    atomic_init(&f->done, 0);
    cql_request *r = &f->req;
    r->s = s;
    r->opcode = opcode;
    r->body = cs_buf_detach(body, &r->body_len);
    r->node_pin = -1;
    r->sent_node = -1;
    r->future = f;
    if (st) {
        r->node_pin = st->has_node ? st->node : -1;
        r->idempotent = st->idempotent;
        r->prepared = st->prepared;
        r->token = st->token;
        r->has_token = st->has_token;
        if (!r->has_token && st->prepared) {
            int ok = 0;
            r->token = cql_token_of_values(st->prepared, st->values, st->values_len, &ok);
            r->has_token = ok;
        }
    }
    return f;
}

static void fill_params(cql_params *p, const cql_statement *st)
{
    memset(p, 0, sizeof *p);
    p->consistency = st->consistency ? st->consistency : CQL_LOCAL_ONE;
    p->values = st->values;
    p->values_len = st->values_len;
    p->nvalues = st->nvalues;
    p->page_size = st->page_size;
    p->paging_state = st->paging_state;
    p->paging_state_len = st->paging_state_len;
    p->timestamp = st->timestamp_us;
    p->has_timestamp = st->has_timestamp;
    p->keyspace = st->keyspace;
}

cql_future *cql_session_execute(cql_session *s, const cql_statement *st, cql_error *err)
{
    cs_buf body;
    cs_buf_init(&body, CQL_DEFAULT_MAX_BODY);
    cql_params p;
    fill_params(&p, st);
    int rc;
    uint8_t opcode;
    if (st->prepared) {
        const cql_prepared_info *pi = &st->prepared->info;
        p.skip_metadata = pi->result.ncols > 0 && pi->result.cols != NULL;
        opcode = CQL_OP_EXECUTE;
        rc = cql_msg_execute(&body, s->version, pi->id, pi->id_len, pi->result_md_id,
                             pi->result_md_id_len, &p);
    } else if (st->query) {
        opcode = CQL_OP_QUERY;
        rc = cql_msg_query(&body, s->version, st->query, &p);
    } else {
        cql_fail(err, CQL_E_USAGE, "a statement needs a query or a prepared statement");
        return NULL;
    }
    if (rc) {
        cs_buf_release(&body);
        cql_fail(err, CQL_E_NOMEM, "the request is larger than the %zu-byte limit",
                 (size_t)CQL_DEFAULT_MAX_BODY);
        return NULL;
    }
    cql_future *f = future_new(s, opcode, &body, st);
    if (!f) {
        cs_buf_release(&body);
        cql_fail(err, CQL_E_NOMEM, "out of memory for a request");
        return NULL;
    }
    if (p.skip_metadata)
        f->req.skip_meta = &st->prepared->info.result;
    enqueue(s, &f->req);
    return f;
}

cql_future *cql_session_batch(cql_session *s, uint8_t type, size_t n, const cql_statement *stmts,
                              const cql_statement *routing, cql_error *err)
{
    if (n == 0 || n > 65535) {
        cql_fail(err, CQL_E_USAGE, "a batch holds 1 to 65535 statements, not %zu", n);
        return NULL;
    }
    cs_buf body;
    cs_buf_init(&body, CQL_DEFAULT_MAX_BODY);
    cql_batch_writer w;
    int rc = cql_msg_batch_begin(&w, &body, s->version, type);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const cql_statement *st = &stmts[i];
        if (st->prepared)
            rc = cql_msg_batch_add_prepared(&w, st->prepared->info.id, st->prepared->info.id_len,
                                            st->values, st->values_len, st->nvalues);
        else if (st->query)
            rc = cql_msg_batch_add_query(&w, st->query, st->values, st->values_len, st->nvalues);
        else
            rc = -1;
    }
    cql_params p;
    fill_params(&p, routing);
    if (rc == 0)
        rc = cql_msg_batch_end(&w, &p);
    if (rc) {
        cs_buf_release(&body);
        cql_fail(err, CQL_E_USAGE, "cannot encode the batch (a statement without a query, or over "
                                   "the size limit)");
        return NULL;
    }
    cql_statement r = *routing;
    if (!r.has_token && !r.prepared && stmts[0].prepared) {
        r.prepared = stmts[0].prepared;
        r.values = stmts[0].values;
        r.values_len = stmts[0].values_len;
    }
    cql_future *f = future_new(s, CQL_OP_BATCH, &body, &r);
    if (!f) {
        cs_buf_release(&body);
        cql_fail(err, CQL_E_NOMEM, "out of memory for a request");
        return NULL;
    }
    f->req.prepared = stmts[0].prepared; /* for re-prepare (single-statement kind batches) */
    enqueue(s, &f->req);
    return f;
}

cql_result *cql_session_query_sync(cql_session *s, const cql_statement *st, cql_error *err)
{
    cql_future *f = cql_session_execute(s, st, err);
    if (!f)
        return NULL;
    cql_result *res = NULL;
    if (cql_future_wait(f, err) == 0) {
        res = f->result;
        f->result = NULL;
    }
    cql_future_free(f);
    return res;
}

cql_result *cql_session_simple(cql_session *s, const char *cql, cql_error *err)
{
    cql_statement st = {0};
    st.query = cql;
    return cql_session_query_sync(s, &st, err);
}

/* ---- setup, discovery, teardown ------------------------------------------ */

static cql_node *add_node(cql_session *s, const char *addr, uint16_t port, const char *tls_name)
{
    int nn = atomic_load(&s->nnodes);
    for (int i = 0; i < nn; i++)
        if (!strcmp(s->nodes[i]->addr, addr) && s->nodes[i]->port == port)
            return s->nodes[i];
    if (nn >= MAX_NODES)
        return NULL;
    cql_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->index = nn;
    snprintf(n->addr, sizeof n->addr, "%s", addr);
    snprintf(n->tls_name, sizeof n->tls_name, "%s", tls_name ? tls_name : addr);
    n->port = port;
    pthread_mutex_lock(&s->mu);
    s->nodes[nn] = n;
    atomic_store(&s->nnodes, nn + 1);
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Open `want` more connections to n and wait until each attempt settled.
 * Returns the number of ready connections of n. */
static int connect_node_wait(cql_session *s, cql_node *n, int want, cql_error *err)
{
    pthread_mutex_lock(&s->mu);
    int target = n->settled + want;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < want; i++)
        post_task(s, task_node_connect, n);
    pthread_mutex_lock(&s->mu);
    while (n->settled < target)
        pthread_cond_wait(&s->cv, &s->mu);
    int ready = 0;
    for (int i = 0; i < n->nconns; i++)
        ready += n->conns[i]->state == CONN_READY;
    if (!ready && err)
        *err = n->last_err;
    pthread_mutex_unlock(&s->mu);
    return ready;
}

static char *col_text(const cql_result *r, int32_t row, int32_t col)
{
    const uint8_t *p;
    int32_t l = cql_result_value(r, row, col, &p);
    return l < 0 ? NULL : strndup((const char *)p, (size_t)l);
}

static int col_inet(const cql_result *r, int32_t row, int32_t col, char *out, size_t outlen)
{
    const uint8_t *p;
    int32_t l = cql_result_value(r, row, col, &p);
    if (l == 4)
        return inet_ntop(AF_INET, p, out, (socklen_t)outlen) ? 0 : -1;
    if (l == 16)
        return inet_ntop(AF_INET6, p, out, (socklen_t)outlen) ? 0 : -1;
    return -1;
}

/* tokens is a set<text> of decimal tokens. */
static void col_tokens(const cql_result *r, int32_t row, int32_t col, cql_node *n)
{
    const uint8_t *p;
    int32_t l = cql_result_value(r, row, col, &p);
    if (l < 4)
        return;
    cs_rd rd;
    cs_rd_init(&rd, p, (size_t)l);
    int32_t cnt = (int32_t)cs_rd_u32(&rd);
    if (cnt <= 0 || (size_t)cnt > rd.n / 4)
        return;
    int64_t *t = calloc((size_t)cnt, sizeof *t);
    if (!t)
        return;
    int k = 0;
    for (int32_t i = 0; i < cnt && !rd.err; i++) {
        int32_t el = (int32_t)cs_rd_u32(&rd);
        const uint8_t *ep = el > 0 ? cs_rd_bytes(&rd, (size_t)el) : NULL;
        if (!ep || el > 30)
            continue;
        char tmp[32];
        memcpy(tmp, ep, (size_t)el);
        tmp[el] = '\0';
        t[k++] = strtoll(tmp, NULL, 10);
    }
    free(n->tokens);
    n->tokens = t;
    n->ntokens = k;
}

static int cmp_ring(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

static void build_ring(cql_session *s)
{
    int nn = atomic_load(&s->nnodes);
    size_t total = 0;
    for (int i = 0; i < nn; i++)
        total += (size_t)s->nodes[i]->ntokens;
    int64_t *pairs = calloc(total ? total * 2 : 2, sizeof *pairs);
    int64_t *toks = calloc(total ? total : 1, sizeof *toks);
    int *owners = calloc(total ? total : 1, sizeof *owners);
    if (!pairs || !toks || !owners) {
        free(pairs);
        free(toks);
        free(owners);
        return;
    }
    size_t k = 0;
    for (int i = 0; i < nn; i++)
        for (int j = 0; j < s->nodes[i]->ntokens; j++) {
            pairs[2 * k] = s->nodes[i]->tokens[j];
            pairs[2 * k + 1] = i;
            k++;
        }
    qsort(pairs, total, 2 * sizeof *pairs, cmp_ring);
    for (size_t i = 0; i < total; i++) {
        toks[i] = pairs[2 * i];
        owners[i] = (int)pairs[2 * i + 1];
    }
    free(pairs);
    pthread_mutex_lock(&s->mu);
    free(s->ring_tokens);
    free(s->ring_nodes);
    s->ring_tokens = toks;
    s->ring_nodes = owners;
    s->ring_len = (int)total;
    pthread_mutex_unlock(&s->mu);
}

static cql_result *query_on_node(cql_session *s, int node, const char *cql, cql_error *err)
{
    cql_statement st = {0};
    st.query = cql;
    st.has_node = 1;
    st.node = node;
    st.consistency = CQL_ONE;
    return cql_session_query_sync(s, &st, err);
}

static int discover(cql_session *s, cql_node *control, cql_error *err)
{
    cql_result *r = query_on_node(s, control->index,
                                  "SELECT data_center, rack, tokens FROM system.local", err);
    if (!r)
        return -1;
    if (cql_result_row_count(r) == 1) {
        char *dc = col_text(r, 0, 0), *rack = col_text(r, 0, 1);
        snprintf(control->dc, sizeof control->dc, "%s", dc ? dc : "");
        snprintf(control->rack, sizeof control->rack, "%s", rack ? rack : "");
        free(dc);
        free(rack);
        col_tokens(r, 0, 2, control);
    }
    cql_result_free(r);
    if (!s->local_dc)
        s->local_dc = strdup(control->dc);

    if (!s->cfg.no_discovery) {
        cql_error e2;
        int v2 = 1;
        r = query_on_node(s, control->index,
                          "SELECT peer, native_address, native_port, data_center, rack, tokens "
                          "FROM system.peers_v2",
                          &e2);
        if (!r) {
            v2 = 0;
            r = query_on_node(s, control->index,
                              "SELECT peer, rpc_address, data_center, rack, tokens FROM system.peers",
                              err);
            if (!r)
                return -1;
        }
        for (int32_t i = 0; i < cql_result_row_count(r); i++) {
            char peer[64], addr[64];
            if (col_inet(r, i, 0, peer, sizeof peer))
                continue;
            if (col_inet(r, i, 1, addr, sizeof addr) || !strcmp(addr, "0.0.0.0") ||
                !strcmp(addr, "::"))
                snprintf(addr, sizeof addr, "%s", peer);
            uint16_t port = s->cfg.port;
            int base = 2;
            if (v2) {
                const uint8_t *p;
                if (cql_result_value(r, i, 2, &p) == 4)
                    port = (uint16_t)cs_be32(p);
                base = 3;
            }
            cql_node *n = add_node(s, addr, port, NULL);
            if (!n)
                continue;
            char *dc = col_text(r, i, base), *rack = col_text(r, i, base + 1);
            snprintf(n->dc, sizeof n->dc, "%s", dc ? dc : "");
            snprintf(n->rack, sizeof n->rack, "%s", rack ? rack : "");
            free(dc);
            free(rack);
            col_tokens(r, i, base + 2, n);
        }
        cql_result_free(r);
    }
    int nn = atomic_load(&s->nnodes);
    for (int i = 0; i < nn; i++) {
        cql_node *n = s->nodes[i];
        pthread_mutex_lock(&s->mu);
        n->local = !strcmp(n->dc, s->local_dc) && (n == control || !s->cfg.no_discovery);
        pthread_mutex_unlock(&s->mu);
    }
    int nlocal = 0;
    for (int i = 0; i < nn; i++)
        nlocal += s->nodes[i]->local;
    if (nlocal == 0) {
        char dcs[256] = "";
        size_t o = 0;
        for (int i = 0; i < nn && o < sizeof dcs; i++)
            if (!strstr(dcs, s->nodes[i]->dc))
                o += (size_t)snprintf(dcs + o, sizeof dcs - o, "%s%s", o ? ", " : "",
                                      s->nodes[i]->dc);
        return cql_fail(err, CQL_E_USAGE, "no node in datacenter '%s' (the cluster has: %s)",
                        s->local_dc, dcs);
    }
    build_ring(s);
    /* Open the pools: the control node needs its remaining connections. */
    for (int i = 0; i < nn; i++) {
        cql_node *n = s->nodes[i];
        if (!n->local)
            continue;
        int want = s->cfg.connections_per_node - (n == control ? 1 : 0);
        if (want > 0)
            connect_node_wait(s, n, want, NULL);
    }
    return 0;
}

static int tls_init(cql_session *s, cql_error *err)
{
    s->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!s->ssl_ctx)
        return cql_fail(err, CQL_E_TLS, "cannot create a TLS context");
    SSL_CTX_set_min_proto_version(s->ssl_ctx, TLS1_2_VERSION);
    if (s->ca_file) {
        if (SSL_CTX_load_verify_locations(s->ssl_ctx, s->ca_file, NULL) != 1)
            return cql_fail(err, CQL_E_TLS, "cannot read the CA file %s (expected PEM certificates)",
                            s->ca_file);
    } else if (SSL_CTX_set_default_verify_paths(s->ssl_ctx) != 1) {
        return cql_fail(err, CQL_E_TLS, "cannot load the system's CA certificates");
    }
    if (s->cert_file &&
        (SSL_CTX_use_certificate_chain_file(s->ssl_ctx, s->cert_file) != 1 ||
         SSL_CTX_use_PrivateKey_file(s->ssl_ctx, s->key_file ? s->key_file : s->cert_file,
                                     SSL_FILETYPE_PEM) != 1))
        return cql_fail(err, CQL_E_TLS, "cannot load the client certificate %s or its key",
                        s->cert_file);
    SSL_CTX_set_verify(s->ssl_ctx, s->cfg.tls_insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    return 0;
}

/* Split "h1,h2:9043" into host/port pairs and resolve each host name to
 * its first address. */
typedef struct contact {
    char addr[64];
    char name[300];
    uint16_t port;
} contact;

static int parse_contacts(const char *hosts, uint16_t defport, contact *out, int max, cql_error *err)
{
    int n = 0;
    const char *p = hosts;
    while (*p && n < max) {
        size_t len = strcspn(p, ",");
        char item[300];
        if (len == 0 || len >= sizeof item) {
            p += len + (p[len] == ',');
            continue;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        p += len + (p[len] == ',');
        char *host = item;
        uint16_t port = defport;
        char *colon = strrchr(item, ':');
        if (item[0] == '[') { /* [v6]:port */
            char *close = strchr(item, ']');
            if (!close)
                return cql_fail(err, CQL_E_USAGE, "bad host '%s': missing ']'", item);
            *close = '\0';
            host = item + 1;
            if (close[1] == ':')
                port = (uint16_t)atoi(close + 2);
        } else if (colon && strchr(item, ':') == colon) {
            *colon = '\0';
            long v = strtol(colon + 1, NULL, 10);
            if (v <= 0 || v > 65535)
                return cql_fail(err, CQL_E_USAGE, "bad port in host '%s:%s'", item, colon + 1);
            port = (uint16_t)v;
        }
        struct addrinfo hints = {0}, *res = NULL;
        hints.ai_socktype = SOCK_STREAM;
        int rc = getaddrinfo(host, NULL, &hints, &res);
        if (rc != 0)
            return cql_fail(err, CQL_E_CONNECT, "cannot resolve host '%s': %s", host,
                            gai_strerror(rc));
        getnameinfo(res->ai_addr, res->ai_addrlen, out[n].addr, sizeof out[n].addr, NULL, 0,
                    NI_NUMERICHOST);
        freeaddrinfo(res);
        snprintf(out[n].name, sizeof out[n].name, "%s", host);
        out[n].port = port;
        n++;
    }
    if (n == 0)
        return cql_fail(err, CQL_E_USAGE, "no Cassandra host given");
    return n;
}

static void session_free(cql_session *s)
{
    int nn = atomic_load(&s->nnodes);
    for (int i = 0; i < nn; i++) {
        free(s->nodes[i]->tokens);
        free(s->nodes[i]->conns);
        free(s->nodes[i]);
    }
    free(s->nodes);
    for (cql_prepared *p = s->prepared; p;) {
        cql_prepared *next = p->next;
        free(p->query);
        free(p->info.id);
        free(p->info.result_md_id);
        cql_metadata_release(&p->info.bind);
        cql_metadata_release(&p->info.result);
        free(p);
        p = next;
    }
    for (ks_replication *k = s->repls; k;) {
        ks_replication *next = k->next;
        free(k->sets);
        free(k);
        k = next;
    }
    free(s->ring_tokens);
    free(s->ring_nodes);
    if (s->ssl_ctx)
        SSL_CTX_free(s->ssl_ctx);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->fmu);
    pthread_cond_destroy(&s->fcv);
    free(s->hosts);
    free(s->username);
    if (s->password) {
        memset(s->password, 0, strlen(s->password));
        free(s->password);
    }
    free(s->ca_file);
    free(s->cert_file);
    free(s->key_file);
    free(s->local_dc);
    free(s->keyspace);
    free(s);
}

void cql_session_close(cql_session *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    while (s->pending > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (s->thread_started) {
        post_task(s, task_stop, NULL);
        pthread_join(s->thread, NULL);
        uv_loop_close(&s->loop);
    }
    session_free(s);
}

int cql_session_connect(const cql_config *cfg, cql_session **out, cql_error *err)
{
    *out = NULL;
    if (!cfg->hosts)
        return cql_fail(err, CQL_E_USAGE, "no Cassandra host given");
    if (cfg->protocol_version != 0 && cfg->protocol_version != 4 && cfg->protocol_version != 5)
        return cql_fail(err, CQL_E_USAGE, "protocol version %d is not supported (use 4 or 5)",
                        cfg->protocol_version);
    cql_session *s = calloc(1, sizeof *s);
    if (!s)
        return cql_fail(err, CQL_E_NOMEM, "out of memory");
    s->cfg = *cfg;
    if (s->cfg.connections_per_node < 1)
        s->cfg.connections_per_node = 1;
    if (s->cfg.max_inflight_per_conn < 1 || s->cfg.max_inflight_per_conn > 32768)
        s->cfg.max_inflight_per_conn = s->cfg.max_inflight_per_conn < 1 ? 2048 : 32768;
    if (s->cfg.max_pending < 1)
        s->cfg.max_pending = 8192;
    if (s->cfg.connect_timeout_ms <= 0)
        s->cfg.connect_timeout_ms = 5000;
    if (s->cfg.request_timeout_ms <= 0)
        s->cfg.request_timeout_ms = 12000;
    s->hosts = dup_or_null(cfg->hosts);
    s->username = dup_or_null(cfg->username);
    s->password = dup_or_null(cfg->password);
    s->ca_file = dup_or_null(cfg->tls_ca_file);
    s->cert_file = dup_or_null(cfg->tls_cert_file);
    s->key_file = dup_or_null(cfg->tls_key_file);
    s->local_dc = dup_or_null(cfg->local_dc);
    s->keyspace = dup_or_null(cfg->keyspace);
    s->cfg.hosts = s->cfg.username = s->cfg.password = NULL; /* use the owned copies */
    s->version = cfg->protocol_version ? cfg->protocol_version : 5;
    s->nodes = calloc(MAX_NODES, sizeof *s->nodes);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->fmu, NULL);
    pthread_cond_init(&s->fcv, NULL);
    if (!s->nodes || (cfg->hosts && !s->hosts)) {
        session_free(s);
        return cql_fail(err, CQL_E_NOMEM, "out of memory");
    }
    if (cfg->tls && tls_init(s, err)) {
        session_free(s);
        return -1;
    }
    contact contacts[64];
    int ncontacts = parse_contacts(s->hosts, s->cfg.port, contacts, 64, err);
    if (ncontacts < 0) {
        session_free(s);
        return -1;
    }
    uv_loop_init(&s->loop);
    uv_async_init(&s->loop, &s->wakeup, on_wakeup);
    uv_check_init(&s->loop, &s->flusher);
    uv_idle_init(&s->loop, &s->kicker);
    s->wakeup.data = s->flusher.data = s->kicker.data = s;
    uv_check_start(&s->flusher, on_check);
    if (pthread_create(&s->thread, NULL, loop_main, s)) {
        uv_loop_close(&s->loop);
        session_free(s);
        return cql_fail(err, CQL_E_NOMEM, "cannot start the I/O thread");
    }
    s->thread_started = 1;

    cql_node *control = NULL;
    cql_error last;
    cql_error_clear(&last);
    for (int i = 0; i < ncontacts && !control; i++) {
        cql_node *n = add_node(s, contacts[i].addr, contacts[i].port, contacts[i].name);
        if (!n)
            break;
        if (connect_node_wait(s, n, 1, &last) > 0) {
            control = n;
            break;
        }
        if (n->downgrade && s->version == 5) {
            s->version = 4; /* the server does not speak v5: try again with v4 */
            if (connect_node_wait(s, n, 1, &last) > 0)
                control = n;
        }
        if (!control && last.code == CQL_E_AUTH)
            break; /* bad credentials will not improve on another node */
    }
    if (!control) {
        if (err)
            *err = last;
        cql_session_close(s);
        return -1;
    }
    if (discover(s, control, err)) {
        cql_session_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

int cql_session_protocol_version(const cql_session *s) { return s->version; }
int cql_session_node_count(const cql_session *s) { return atomic_load(&s->nnodes); }
int cql_session_nodes_up(const cql_session *s)
{
    int up = 0, nn = atomic_load(&s->nnodes);
    for (int i = 0; i < nn; i++)
        up += s->nodes[i]->up;
    return up;
}

void cql_session_get_stats(const cql_session *s, cql_session_stats *o)
{
    o->requests_sent = atomic_load_explicit(&s->st_sent, memory_order_relaxed);
    o->responses = atomic_load_explicit(&s->st_responses, memory_order_relaxed);
    o->retries = atomic_load_explicit(&s->st_retries, memory_order_relaxed);
    o->timeouts = atomic_load_explicit(&s->st_timeouts, memory_order_relaxed);
    o->errors = atomic_load_explicit(&s->st_errors, memory_order_relaxed);
    o->bytes_sent = atomic_load_explicit(&s->st_bytes_out, memory_order_relaxed);
    o->bytes_received = atomic_load_explicit(&s->st_bytes_in, memory_order_relaxed);
    o->reprepares = atomic_load_explicit(&s->st_reprepares, memory_order_relaxed);
    o->inflight = atomic_load_explicit(&s->st_inflight, memory_order_relaxed);
}

int cql_session_node_info(const cql_session *s, int i, char *addr, size_t addrlen, int *up,
                          uint64_t *sent)
{
    if (i < 0 || i >= atomic_load(&s->nnodes))
        return -1;
    const cql_node *n = s->nodes[i];
    snprintf(addr, addrlen, "%s:%u", n->addr, n->port);
    *up = n->up;
    *sent = atomic_load_explicit(&n->sent, memory_order_relaxed);
    return 0;
}

static const ks_replication *get_replication(cql_session *s, const char *ks, cql_error *err);

/* ---- prepared statements -------------------------------------------------- */

const cql_metadata *cql_prepared_bind(const cql_prepared *p) { return &p->info.bind; }
const cql_metadata *cql_prepared_result(const cql_prepared *p) { return &p->info.result; }

const cql_prepared *cql_session_prepare(cql_session *s, const char *cql, cql_error *err)
{
    int nn = atomic_load(&s->nnodes);
    cql_future **fs = calloc((size_t)nn, sizeof *fs);
    cql_prepared *p = calloc(1, sizeof *p);
    if (!fs || !p || !(p->query = strdup(cql))) {
        free(fs);
        free(p);
        cql_fail(err, CQL_E_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < nn; i++) {
        if (!s->nodes[i]->up)
            continue;
        cs_buf body;
        cs_buf_init(&body, CQL_DEFAULT_MAX_BODY);
        if (cql_msg_prepare(&body, s->version, cql, NULL)) {
            cs_buf_release(&body);
            continue;
        }
        cql_statement st = {0};
        st.has_node = 1;
        st.node = i;
        fs[i] = future_new(s, CQL_OP_PREPARE, &body, &st);
        if (fs[i])
            enqueue(s, &fs[i]->req);
        else
            cs_buf_release(&body);
    }
    int ok = 0;
    cql_error first;
    cql_error_clear(&first);
    for (int i = 0; i < nn; i++) {
        if (!fs[i])
            continue;
        cql_error e;
        if (cql_future_wait(fs[i], &e) == 0) {
            cql_result *r = fs[i]->result;
            if (!ok && r && r->parsed.kind == CQL_RESULT_PREPARED) {
                p->info = r->parsed.prepared; /* take ownership */
                memset(&r->parsed.prepared, 0, sizeof r->parsed.prepared);
                r->parsed.kind = CQL_RESULT_VOID;
                ok = 1;
            }
        } else if (first.code == CQL_OK) {
            first = e;
        }
        cql_future_free(fs[i]);
    }
    free(fs);
    if (!ok) {
        if (err) {
            if (first.code != CQL_OK)
                *err = first;
            else
                cql_fail(err, CQL_E_NO_HOST, "no node available to prepare on");
        }
        free(p->query);
        free(p);
        return NULL;
    }
    /* Route by replica sets when the statement has a partition key. */
    const cql_metadata *b = &p->info.bind;
    if (b->npk > 0 && b->cols && b->cols[0].keyspace && s->ring_len > 0) {
        cql_error ignored;
        p->repl = get_replication(s, b->cols[0].keyspace, &ignored);
    }
    pthread_mutex_lock(&s->mu);
    p->next = s->prepared;
    s->prepared = p;
    pthread_mutex_unlock(&s->mu);
    return p;
}

int64_t cql_token_of_values(const cql_prepared *p, const uint8_t *values, size_t values_len, int *ok)
{
    const cql_metadata *b = &p->info.bind;
    *ok = 0;
    if (b->npk <= 0 || !values || b->npk > 16)
        return 0;
    const uint8_t *vp[16];
    size_t vl[16];
    int found = 0;
    cs_rd rd;
    cs_rd_init(&rd, values, values_len);
    for (int idx = 0; idx < b->ncols && found < b->npk && !rd.err; idx++) {
        int32_t l = (int32_t)cs_rd_u32(&rd);
        const uint8_t *v = l > 0 ? cs_rd_bytes(&rd, (size_t)l) : (const uint8_t *)"";
        for (int k = 0; k < b->npk; k++) {
            if (b->pk_index[k] == idx) {
                if (l < 0)
                    return 0; /* null or unset key: the server will refuse it */
                vp[k] = v;
                vl[k] = (size_t)l;
                found++;
            }
        }
    }
    if (rd.err || found != b->npk)
        return 0;
    if (b->npk == 1) {
        *ok = 1;
        return cql_murmur3_token(vp[0], vl[0]);
    }
    uint8_t stack[1024];
    cs_buf key;
    cs_buf_init(&key, 16 * 65538);
    int64_t t;
    size_t need = 0;
    for (int k = 0; k < b->npk; k++)
        need += 3 + vl[k];
    if (need <= sizeof stack) {
        size_t o = 0;
        for (int k = 0; k < b->npk; k++) {
            if (vl[k] > 65535)
                return 0;
            cs_put_be16(stack + o, (uint16_t)vl[k]);
            memcpy(stack + o + 2, vp[k], vl[k]);
            stack[o + 2 + vl[k]] = 0;
            o += 3 + vl[k];
        }
        t = cql_murmur3_token(stack, o);
    } else {
        if (cql_routing_key(&key, (size_t)b->npk, vp, vl)) {
            cs_buf_release(&key);
            return 0;
        }
        t = cql_murmur3_token(key.data, key.len);
        cs_buf_release(&key);
    }
    *ok = 1;
    return t;
}

/* ---- schema agreement --------------------------------------------------- */

int cql_session_wait_schema_agreement(cql_session *s, int timeout_ms, cql_error *err)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int nn = atomic_load(&s->nnodes);
        char first[40] = "", differ[256] = "";
        int agree = 1;
        for (int i = 0; i < nn; i++) {
            if (!s->nodes[i]->up)
                continue;
            cql_error e;
            cql_result *r = query_on_node(s, i, "SELECT schema_version FROM system.local", &e);
            if (!r)
                continue;
            const uint8_t *p;
            char v[40] = "";
            if (cql_result_row_count(r) == 1 && cql_result_value(r, 0, 0, &p) == 16)
                for (int k = 0; k < 16; k++)
                    snprintf(v + 2 * k, 3, "%02x", p[k]);
            cql_result_free(r);
            if (!first[0])
                snprintf(first, sizeof first, "%s", v);
            else if (strcmp(first, v)) {
                agree = 0;
                size_t l = strlen(differ);
                snprintf(differ + l, sizeof differ - l, "%s%s", l ? ", " : "", s->nodes[i]->addr);
            }
        }
        if (agree)
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long el = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (el > timeout_ms)
            return cql_fail(err, CQL_E_TIMEOUT,
                            "schema versions still differ after %d ms (nodes %s); check that all "
                            "nodes are up",
                            timeout_ms, differ);
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- replication and replica sets ---------------------------------------- */

/* Append the replica set of the tokens owned by ring entry `start` to `out`
 * (k->nrep slots, -1 padded), following Cassandra's strategies:
 * SimpleStrategy takes the next rf distinct nodes on the ring;
 * NetworkTopologyStrategy walks the ring per DC, taking nodes on racks not
 * seen yet first, and the skipped nodes once every rack of the DC is seen. */
static void replica_set(const cql_session *s, const ks_replication *k, int start, int *out,
                        int *scratch, int nn)
{
    int filled = 0;
    for (int i = 0; i < k->nrep; i++)
        out[i] = -1;
    if (k->simple) {
        for (int j = 0; j < s->ring_len && filled < k->nrep; j++) {
            int ni = s->ring_nodes[(start + j) % s->ring_len];
            int dup = 0;
            for (int q = 0; q < filled; q++)
                dup |= out[q] == ni;
            if (!dup)
                out[filled++] = ni;
        }
        return;
    }
    for (int d = 0; d < k->ndc; d++) {
        /* nodes and racks of this DC */
        int want = 0, racks = 0;
        const char *rack_names[64];
        for (int i = 0; i < nn; i++) {
            if (strcmp(s->nodes[i]->dc, k->dc[d]))
                continue;
            want++;
            int seen = 0;
            for (int q = 0; q < racks; q++)
                seen |= !strcmp(rack_names[q], s->nodes[i]->rack);
            if (!seen && racks < 64)
                rack_names[racks++] = s->nodes[i]->rack;
        }
        if (want > k->dc_rf[d])
            want = k->dc_rf[d];
        int got = 0, nseen = 0, nskipped = 0;
        const char *seen_racks[64];
        int *skipped = scratch; /* nn slots */
        for (int j = 0; j < s->ring_len && got < want; j++) {
            int ni = s->ring_nodes[(start + j) % s->ring_len];
            const cql_node *n = s->nodes[ni];
            if (strcmp(n->dc, k->dc[d]))
                continue;
            int dup = 0;
            for (int q = 0; q < filled; q++)
                dup |= out[q] == ni;
            if (dup)
                continue;
            int rack_seen = 0;
            for (int q = 0; q < nseen; q++)
                rack_seen |= !strcmp(seen_racks[q], n->rack);
            if (!rack_seen) {
                out[filled++] = ni;
                got++;
                if (nseen < 64)
                    seen_racks[nseen++] = n->rack;
                if (nseen == racks) /* every rack seen: the skipped nodes come next */
                    for (int q = 0; q < nskipped && got < want; q++, got++)
                        out[filled++] = skipped[q];
            } else if (nseen == racks) {
                out[filled++] = ni;
                got++;
            } else {
                int dup2 = 0;
                for (int q = 0; q < nskipped; q++)
                    dup2 |= skipped[q] == ni;
                if (!dup2)
                    skipped[nskipped++] = ni;
            }
        }
    }
}

static int parse_replication(const cql_result *r, ks_replication *k, cql_error *err)
{
    const uint8_t *p;
    int32_t l = cql_result_row_count(r) == 1 ? cql_result_value(r, 0, 0, &p) : -1;
    if (l < 4)
        return cql_fail(err, CQL_E_USAGE, "keyspace %s does not exist", k->name);
    cs_rd rd;
    cs_rd_init(&rd, p, (size_t)l);
    int32_t n = (int32_t)cs_rd_u32(&rd);
    char cls[256] = "";
    for (int32_t i = 0; i < n && !rd.err; i++) {
        char key[128], val[256];
        int32_t kl = (int32_t)cs_rd_u32(&rd);
        const uint8_t *kp = kl >= 0 ? cs_rd_bytes(&rd, (size_t)kl) : NULL;
        int32_t vl = (int32_t)cs_rd_u32(&rd);
        const uint8_t *vp = vl >= 0 ? cs_rd_bytes(&rd, (size_t)vl) : NULL;
        if (!kp || !vp || kl >= (int32_t)sizeof key || vl >= (int32_t)sizeof val)
            continue;
        memcpy(key, kp, (size_t)kl);
        key[kl] = '\0';
        memcpy(val, vp, (size_t)vl);
        val[vl] = '\0';
        if (!strcmp(key, "class"))
            snprintf(cls, sizeof cls, "%s", val);
        else if (!strcmp(key, "replication_factor"))
            k->rf = atoi(val); /* "3" or "3/1" (transient): the leading count */
        else if (k->ndc < 16) {
            snprintf(k->dc[k->ndc], sizeof k->dc[0], "%s", key);
            k->dc_rf[k->ndc++] = atoi(val);
        }
    }
    if (strstr(cls, "SimpleStrategy")) {
        k->simple = 1;
        k->ndc = 0;
        return 0;
    }
    if (strstr(cls, "NetworkTopologyStrategy")) {
        k->simple = 0;
        return 0;
    }
    return cql_fail(err, CQL_E_USAGE, "keyspace %s uses %s: replicas cannot be computed", k->name,
                    cls[0] ? cls : "an unknown strategy");
}

/* The replication of a keyspace, read once (blocking: not on the I/O thread). */
static const ks_replication *get_replication(cql_session *s, const char *ks, cql_error *err)
{
    pthread_mutex_lock(&s->mu);
    for (ks_replication *k = s->repls; k; k = k->next)
        if (!strcmp(k->name, ks)) {
            pthread_mutex_unlock(&s->mu);
            return k;
        }
    pthread_mutex_unlock(&s->mu);
    for (const char *c = ks; *c; c++)
        if (!(*c == '_' || (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
              (*c >= 'A' && *c <= 'Z')) || c - ks > 200) {
            cql_fail(err, CQL_E_USAGE, "'%s' is not a valid keyspace name", ks);
            return NULL;
        }
    char q[400];
    snprintf(q, sizeof q, "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = '%s'",
             ks);
    cql_statement st = {0};
    st.query = q;
    st.consistency = CQL_ONE;
    cql_result *r = cql_session_query_sync(s, &st, err);
    if (!r)
        return NULL;
    ks_replication *k = calloc(1, sizeof *k);
    if (!k) {
        cql_result_free(r);
        cql_fail(err, CQL_E_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(k->name, sizeof k->name, "%s", ks);
    int rc = parse_replication(r, k, err);
    cql_result_free(r);
    int nn = atomic_load(&s->nnodes);
    if (rc == 0) {
        int total = 0;
        if (k->simple)
            total = k->rf < nn ? k->rf : nn;
        else
            for (int d = 0; d < k->ndc; d++)
                total += k->dc_rf[d] < nn ? k->dc_rf[d] : nn;
        k->nrep = total > 0 ? total : 1;
        k->sets = malloc((size_t)(s->ring_len ? s->ring_len : 1) * (size_t)k->nrep * sizeof(int));
        int *scratch = malloc((size_t)(nn ? nn : 1) * sizeof(int));
        if (!k->sets || !scratch) {
            free(scratch);
            rc = cql_fail(err, CQL_E_NOMEM, "out of memory");
        } else {
            for (int i = 0; i < s->ring_len; i++)
                replica_set(s, k, i, k->sets + (size_t)i * (size_t)k->nrep, scratch, nn);
            free(scratch);
        }
    }
    if (rc) {
        free(k->sets);
        free(k);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    k->next = s->repls;
    s->repls = k;
    pthread_mutex_unlock(&s->mu);
    return k;
}

int cql_session_replicas(cql_session *s, const char *keyspace, int64_t token, int *out, int max,
                         cql_error *err)
{
    const ks_replication *k = get_replication(s, keyspace, err);
    if (!k)
        return -1;
    if (s->ring_len == 0)
        return cql_fail(err, CQL_E_NO_HOST, "the token ring is unknown (no discovery)");
    const int *set = k->sets + (size_t)ring_index(s, token) * (size_t)k->nrep;
    int n = 0;
    for (int i = 0; i < k->nrep && set[i] >= 0; i++, n++)
        if (n < max)
            out[n] = set[i];
    return n;
}
