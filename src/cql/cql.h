/* cqlshift's CQL client: the public API used by the loader, verifier and CDC.
 *
 * A cql_session owns one I/O thread running a libuv loop, a small pool of
 * connections to every node of the cluster (discovered from system.local and
 * system.peers_v2), the token ring, and the prepared statements. All public
 * functions are thread-safe unless stated otherwise.
 *
 * Requests are asynchronous: cql_session_execute() encodes the request in
 * the caller's thread (so the caller's value memory may be reused as soon as
 * it returns) and hands it to the I/O thread; the returned future completes
 * when the response arrives, the request times out, or it fails. Blocking
 * calls (connect, prepare, query_sync) are loops over that core.
 *
 * Back-pressure: at most cfg.max_pending requests are queued or in flight
 * per session; a submit beyond that blocks the caller until one completes,
 * so memory stays bounded whatever the producer's speed.
 *
 * Retries: a request marked idempotent that fails with a timeout (client or
 * server), Overloaded, Unavailable, Is_bootstrapping or a broken connection
 * is retried with exponential backoff up to cfg.max_retries times, on the
 * next replica when there is one. UNPREPARED is handled by preparing again on
 * that node and resending, transparently.
 */
#ifndef CQLSHIFT_CQL_CQL_H
#define CQLSHIFT_CQL_CQL_H

#include <stddef.h>
#include <stdint.h>

#include "cql/error.h"
#include "cql/proto.h"
#include "cql/types.h"

typedef struct cql_config {
    const char *hosts;            /* "h1,h2" or "h1:9043,h2"; required */
    uint16_t port;                /* default 9042 */
    const char *username;         /* NULL: no authentication offered */
    const char *password;         /* never logged */
    int tls;                      /* 1: TLS; the server certificate is verified unless tls_insecure */
    const char *tls_ca_file;      /* PEM CA bundle; NULL: the system's default CAs */
    const char *tls_cert_file;    /* client certificate (optional) */
    const char *tls_key_file;
    int tls_insecure;             /* 1: do not verify the server (explicit opt-out only) */
    int protocol_version;         /* 0: negotiate (5, then 4); or 4 or 5 */
    int lz4;                      /* 1: ask for LZ4 compression */
    int connections_per_node;     /* default 1 */
    int max_inflight_per_conn;    /* default 2048, at most 32768 */
    int max_pending;              /* session-wide bound on queued+in-flight, default 8192 */
    int connect_timeout_ms;       /* default 5000 */
    int request_timeout_ms;       /* default 12000 */
    int max_retries;              /* default 5 */
    const char *local_dc;         /* NULL: the DC of the first contact point */
    const char *keyspace;         /* USE this keyspace on every connection (optional) */
    int no_discovery;             /* 1: use only the given hosts (no system.peers) */
} cql_config;

/* Fill cfg with the defaults above (hosts NULL). */
void cql_config_init(cql_config *cfg);

typedef struct cql_session cql_session;
typedef struct cql_future cql_future;
typedef struct cql_result cql_result;
typedef struct cql_prepared cql_prepared;

/* Connect to the cluster: the first reachable contact point becomes the
 * control connection; nodes are discovered and a pool opened to each node of
 * the local DC. Fails with a sentence naming the host and the cause
 * (refused, timeout, TLS verification, bad credentials, protocol). */
int cql_session_connect(const cql_config *cfg, cql_session **out, cql_error *err);
/* Wait for in-flight requests, close every connection, stop the I/O thread
 * and free everything the session owns (prepared statements included).
 * Futures not yet freed stay valid until cql_future_free. */
void cql_session_close(cql_session *s);

/* The negotiated protocol version (4 or 5). */
int cql_session_protocol_version(const cql_session *s);
/* Number of nodes known (up or down) and of nodes with an open pool. */
int cql_session_node_count(const cql_session *s);
int cql_session_nodes_up(const cql_session *s);

/* One request. Zero-initialise, then fill what applies. */
typedef struct cql_statement {
    const char *query;            /* QUERY text, when prepared is NULL */
    const cql_prepared *prepared; /* EXECUTE this prepared statement */
    const uint8_t *values;        /* nvalues pre-encoded [value]s (cql_value_encode_*) */
    size_t values_len;
    uint16_t nvalues;
    uint16_t consistency;         /* a cql_consistency; 0 (ANY) stands for LOCAL_ONE here */
    int64_t timestamp_us;         /* explicit write timestamp when has_timestamp */
    int has_timestamp;
    int32_t page_size;            /* > 0: ask for paging */
    const uint8_t *paging_state;
    size_t paging_state_len;
    const char *keyspace;         /* v5 per-query keyspace (optional) */
    int idempotent;               /* 1: may be retried on transient failures */
    /* Routing: a token to route by, or computed from the values of a
     * prepared statement's partition key when has_token is 0. */
    int64_t token;
    int has_token;
    int has_node;                 /* 1: send to node index `node` only (system tables) */
    int node;
} cql_statement;

/* Submit a statement. Returns a future (never NULL except on allocation
 * failure or invalid arguments, with err filled). Blocks while max_pending
 * requests are outstanding. */
cql_future *cql_session_execute(cql_session *s, const cql_statement *st, cql_error *err);

/* Submit a BATCH (CQL_BATCH_LOGGED/UNLOGGED/COUNTER) of n statements; each
 * is a prepared statement or a query text with values. The batch is routed
 * by `routing` (its token or node; values ignored). Consistency and the
 * timestamp come from `routing`. */
cql_future *cql_session_batch(cql_session *s, uint8_t type, size_t n, const cql_statement *stmts,
                              const cql_statement *routing, cql_error *err);

/* Completion callback: runs on the I/O thread; it must not block and must
 * not call cql_future_wait. It may submit new requests only if max_pending
 * cannot be reached (the loader uses its own bound). */
typedef void (*cql_callback)(cql_future *f, void *ud);
/* Set the callback; if the future is already complete it runs at once in
 * the calling thread. */
void cql_future_set_callback(cql_future *f, cql_callback cb, void *ud);
/* Block until complete. 0 on success, -1 with err filled from the failure. */
int cql_future_wait(cql_future *f, cql_error *err);
/* 1 if complete (success or failure). */
int cql_future_ready(cql_future *f);
/* The error of a completed, failed future (NULL if it succeeded). */
const cql_error *cql_future_error(const cql_future *f);
/* The result of a completed, successful future, owned by the future;
 * NULL for failures. */
const cql_result *cql_future_result(const cql_future *f);
/* Number of retries this request needed. */
int cql_future_retries(const cql_future *f);
/* Release a future (completed or not; an incomplete one is detached and
 * freed when it completes). */
void cql_future_free(cql_future *f);

/* Convenience: execute and wait; the caller frees the returned result with
 * cql_result_free. NULL on failure with err filled. */
cql_result *cql_session_query_sync(cql_session *s, const cql_statement *st, cql_error *err);
/* Run a CQL statement without values at `consistency` and wait. */
cql_result *cql_session_simple(cql_session *s, const char *cql, cql_error *err);

/* Prepare on every connected node and wait. The prepared statement is owned
 * by the session (freed by cql_session_close). NULL on failure. */
const cql_prepared *cql_session_prepare(cql_session *s, const char *cql, cql_error *err);
/* Bind variables (types, names, partition key indexes) and result columns. */
const cql_metadata *cql_prepared_bind(const cql_prepared *p);
const cql_metadata *cql_prepared_result(const cql_prepared *p);

/* Wait until every up node reports the same schema_version (after DDL).
 * 0, or -1 with CQL_E_TIMEOUT naming the nodes that disagree. */
int cql_session_wait_schema_agreement(cql_session *s, int timeout_ms, cql_error *err);

/* Result accessors. */
int32_t cql_result_kind(const cql_result *r);
const cql_result_body *cql_result_body_of(const cql_result *r);
int32_t cql_result_row_count(const cql_result *r);
int32_t cql_result_column_count(const cql_result *r);
const cql_column *cql_result_column(const cql_result *r, int32_t col);
/* Value bytes of a cell: returns its length (-1 for null) and sets *p. */
int32_t cql_result_value(const cql_result *r, int32_t row, int32_t col, const uint8_t **p);
/* Paging state for the next page, or NULL when this was the last page. */
const uint8_t *cql_result_paging_state(const cql_result *r, size_t *len);
/* Warnings the server attached to the response (NULL-terminated; may be empty). */
const char *const *cql_result_warnings(const cql_result *r);
void cql_result_free(cql_result *r);

/* The replicas of `token` in `keyspace` (replication read from
 * system_schema.keyspaces once and cached), in Cassandra's order: for
 * SimpleStrategy the next RF distinct nodes on the ring; for
 * NetworkTopologyStrategy, per DC, nodes on distinct racks first. Writes up
 * to max node indexes to out and returns how many replicas there are, or -1
 * with err (unknown keyspace, or a strategy we cannot compute). */
int cql_session_replicas(cql_session *s, const char *keyspace, int64_t token, int *out, int max,
                         cql_error *err);

/* The token of a partition key (see murmur3.h) and routing helpers. */
int64_t cql_token_of_values(const cql_prepared *p, const uint8_t *values, size_t values_len, int *ok);

/* Microseconds since the Unix epoch, strictly increasing within the process. */
int64_t cql_timestamp_now_us(void);

/* Session-wide counters for metrics (read without locking; approximate). */
typedef struct cql_session_stats {
    uint64_t requests_sent;
    uint64_t responses;
    uint64_t retries;
    uint64_t timeouts;
    uint64_t errors;
    uint64_t bytes_sent;
    uint64_t bytes_received;
    uint64_t reprepares;
    int inflight;
} cql_session_stats;
void cql_session_get_stats(const cql_session *s, cql_session_stats *out);
/* Address ("127.0.0.1:9042"), up flag and requests sent for node i
 * (0 <= i < cql_session_node_count). 0, or -1 if i is out of range. */
int cql_session_node_info(const cql_session *s, int i, char *addr, size_t addrlen, int *up,
                          uint64_t *sent);

#endif
