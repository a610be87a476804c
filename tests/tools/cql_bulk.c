/* cql_bulk: insert N generated rows through cqlshift's client, for tests.
 *
 *   cql_bulk --keyspace KS --table T --rows N [--hosts H] [--protocol 4|5] [--lz4]
 *            [--no-discovery] [--connections N] [--inflight N] [--pending N]
 *            [--batch N]
 *
 * The table must be (k bigint PRIMARY KEY, v text, n int). Row k gets
 * v = "value-<k>" repeated to ~100 bytes and n = k % 1000. Requests are
 * asynchronous; completions are counted in callbacks; the session's own
 * max_pending bound keeps memory flat. With --batch N, rows go in batches of
 * N rows (unlogged unless --batch-type logged; routed by the first row).
 * Prints one JSON line: rows, ok, failed, retries, maxrss_kb, first error. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cql/cql.h"

static atomic_long ok_count, failed_count, retry_count;
static char first_error[512];
static atomic_int have_error;

static void on_done(cql_future *f, void *ud)
{
    (void)ud;
    long rows = (long)(intptr_t)ud;
    const cql_error *e = cql_future_error(f);
    if (e) {
        atomic_fetch_add(&failed_count, rows);
        if (!atomic_exchange(&have_error, 1))
            snprintf(first_error, sizeof first_error, "%s", e->msg);
    } else {
        atomic_fetch_add(&ok_count, rows);
    }
    atomic_fetch_add(&retry_count, cql_future_retries(f));
    cql_future_free(f);
}

static void encode_row(cs_buf *b, long k)
{
    char text[128];
    int n = snprintf(text, sizeof text, "value-%ld", k);
    for (; n < 100; n++)
        text[n] = (char)('a' + (k + n) % 26);
    cs_buf_put_u32(b, 8);
    cs_buf_put_u64(b, (uint64_t)k);
    cs_buf_put_u32(b, (uint32_t)n);
    cs_buf_append(b, text, (size_t)n);
    cs_buf_put_u32(b, 4);
    cs_buf_put_u32(b, (uint32_t)(k % 1000));
}

int main(int argc, char **argv)
{
    cql_config cfg;
    cql_config_init(&cfg);
    cfg.hosts = "127.0.0.1";
    const char *ks = NULL, *table = NULL;
    long rows = 0;
    int batch = 0;
    uint8_t batch_type = CQL_BATCH_UNLOGGED;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && next && (i++, 1))
        if (ARG("--hosts"))
            cfg.hosts = next;
        else if (ARG("--keyspace"))
            ks = next;
        else if (ARG("--table"))
            table = next;
        else if (ARG("--rows"))
            rows = atol(next);
        else if (ARG("--protocol"))
            cfg.protocol_version = atoi(next);
        else if (!strcmp(a, "--lz4"))
            cfg.lz4 = 1;
        else if (!strcmp(a, "--no-discovery"))
            cfg.no_discovery = 1;
        else if (ARG("--connections"))
            cfg.connections_per_node = atoi(next);
        else if (ARG("--inflight"))
            cfg.max_inflight_per_conn = atoi(next);
        else if (ARG("--pending"))
            cfg.max_pending = atoi(next);
        else if (ARG("--timeout-ms"))
            cfg.request_timeout_ms = atoi(next);
        else if (ARG("--batch"))
            batch = atoi(next);
        else if (ARG("--batch-type")) {
            if (!strcmp(next, "logged"))
                batch_type = CQL_BATCH_LOGGED;
            else if (strcmp(next, "unlogged")) {
                fprintf(stderr, "cql_bulk: --batch-type is logged or unlogged\n");
                return 2;
            }
        }
        else {
            fprintf(stderr, "cql_bulk: unknown or incomplete option %s\n", a);
            return 2;
        }
#undef ARG
    }
    if (!ks || !table || rows <= 0) {
        fprintf(stderr, "cql_bulk: --keyspace, --table and --rows are required\n");
        return 2;
    }
    cfg.keyspace = ks;
    cql_session *s;
    cql_error e;
    if (cql_session_connect(&cfg, &s, &e)) {
        fprintf(stderr, "cql_bulk: %s\n", e.msg);
        return 1;
    }
    char q[512];
    snprintf(q, sizeof q, "INSERT INTO \"%s\" (k, v, n) VALUES (?, ?, ?)", table);
    const cql_prepared *ps = cql_session_prepare(s, q, &e);
    if (!ps) {
        fprintf(stderr, "cql_bulk: %s\n", e.msg);
        cql_session_close(s);
        return 1;
    }
    cs_buf vals;
    cs_buf_init(&vals, 1 << 20);
    int64_t ts = cql_timestamp_now_us();
    long submitted = 0;
    if (batch <= 1) {
        for (long k = 0; k < rows; k++) {
            cs_buf_reset(&vals);
            encode_row(&vals, k);
            cql_statement st = {0};
            st.prepared = ps;
            st.values = vals.data;
            st.values_len = vals.len;
            st.nvalues = 3;
            st.consistency = CQL_LOCAL_ONE;
            st.timestamp_us = ts;
            st.has_timestamp = 1;
            st.idempotent = 1;
            cql_future *f = cql_session_execute(s, &st, &e);
            if (!f) {
                fprintf(stderr, "cql_bulk: %s\n", e.msg);
                break;
            }
            submitted++;
            cql_future_set_callback(f, on_done, (void *)(intptr_t)1);
        }
    } else {
        cql_statement *stmts = calloc((size_t)batch, sizeof *stmts);
        size_t *offs = calloc((size_t)batch + 1, sizeof *offs);
        for (long k0 = 0; k0 < rows; k0 += batch) {
            int n = (int)(rows - k0 < batch ? rows - k0 : batch);
            cs_buf_reset(&vals);
            for (int j = 0; j < n; j++) {
                offs[j] = vals.len;
                encode_row(&vals, k0 + j);
            }
            offs[n] = vals.len;
            for (int j = 0; j < n; j++) {
                stmts[j] = (cql_statement){0};
                stmts[j].prepared = ps;
                stmts[j].values = vals.data + offs[j];
                stmts[j].values_len = offs[j + 1] - offs[j];
                stmts[j].nvalues = 3;
            }
            cql_statement routing = stmts[0];
            routing.consistency = CQL_LOCAL_ONE;
            routing.timestamp_us = ts;
            routing.has_timestamp = 1;
            routing.idempotent = 1;
            cql_future *f = cql_session_batch(s, batch_type, (size_t)n, stmts, &routing, &e);
            if (!f) {
                fprintf(stderr, "cql_bulk: %s\n", e.msg);
                break;
            }
            submitted += n;
            cql_future_set_callback(f, on_done, (void *)(intptr_t)n);
        }
        free(stmts);
        free(offs);
    }
    cs_buf_release(&vals);
    /* Wait for every completion, then read the per-node counters. */
    json_t *per_node = json_object();
    cql_session_stats stats;
    {
        cql_statement probe = {0};
        probe.query = "SELECT release_version FROM system.local";
        cql_result *r = cql_session_query_sync(s, &probe, &e); /* queued behind the writes */
        cql_result_free(r);
        while (atomic_load(&ok_count) + atomic_load(&failed_count) < submitted) {
            struct timespec pause = {0, 10 * 1000000L};
            nanosleep(&pause, NULL);
        }
        cql_session_get_stats(s, &stats);
        for (int i = 0; i < cql_session_node_count(s); i++) {
            char addr[128];
            int up;
            uint64_t sent;
            if (cql_session_node_info(s, i, addr, sizeof addr, &up, &sent) == 0)
                json_object_set_new(per_node, addr, json_integer((json_int_t)sent));
        }
    }
    int protocol = cql_session_protocol_version(s);
    cql_session_close(s); /* waits for every request */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    json_t *out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:I, s:I, s:I, s:I}", "rows", (json_int_t)rows, "ok",
                            (json_int_t)atomic_load(&ok_count), "failed",
                            (json_int_t)atomic_load(&failed_count), "retries",
                            (json_int_t)atomic_load(&retry_count), "maxrss_kb",
                            (json_int_t)ru.ru_maxrss, "first_error", first_error, "per_node",
                            per_node, "session_retries", (json_int_t)stats.retries,
                            "reprepares", (json_int_t)stats.reprepares, "timeouts",
                            (json_int_t)stats.timeouts, "protocol",
                            (json_int_t)protocol);
    char *txt = json_dumps(out, JSON_COMPACT);
    puts(txt);
    free(txt);
    json_decref(out);
    return atomic_load(&failed_count) || submitted < rows ? 1 : 0;
}
