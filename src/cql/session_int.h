/* Internals shared by session.c (API, routing, futures, retries) and
 * conn.c (one connection: TCP, TLS, handshake, framing, stream ids).
 * Everything here except the marked fields is touched only on the I/O thread. */
#ifndef CQLSHIFT_CQL_SESSION_INT_H
#define CQLSHIFT_CQL_SESSION_INT_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

#include "cql/cql.h"
#include "cql/frame.h"

typedef struct cql_conn cql_conn;
typedef struct cql_node cql_node;
typedef struct cql_request cql_request;

enum conn_state {
    CONN_CONNECTING,
    CONN_TLS,
    CONN_OPTIONS,                 /* OPTIONS sent, waiting for SUPPORTED */
    CONN_STARTUP,
    CONN_AUTH,
    CONN_KEYSPACE,                /* USE sent, waiting for SET_KEYSPACE */
    CONN_READY,
    CONN_CLOSING,
    CONN_CLOSED,
};

struct cql_request {
    cql_request *next, *prev;     /* submission queue, parked list or a conn's sent list */
    cql_session *s;
    uint8_t opcode;
    uint8_t *body;                /* encoded body, owned */
    size_t body_len;
    int64_t token;
    int has_token;
    int node_pin;                 /* -1 or a node index */
    int idempotent;
    int attempt;                  /* 0 for the first try; replica offset on retries */
    int reprepares;               /* UNPREPARED answers handled so far */
    int sent_node;                /* node index of the last send, -1 before */
    const cql_prepared *prepared; /* for EXECUTE: re-prepare on UNPREPARED */
    const cql_metadata *skip_meta;/* result columns when skip_metadata was asked */
    uint64_t deadline_ms;
    int16_t stream;
    cql_conn *conn;               /* while in flight */
    cql_request *after_prepare;   /* internal PREPARE: the request to resend afterwards */
    uv_timer_t *retry_timer;      /* while waiting to be retried */
    cql_future *future;           /* NULL for internal requests */
};

struct cql_future {
    cql_request req;              /* embedded: one allocation per request */
    atomic_int refs;              /* user + I/O thread */
    atomic_int done;              /* set under s->fmu */
    int retries;
    cql_error err;
    int failed;
    cql_result *result;
    cql_callback cb;              /* guarded by s->fmu */
    void *cb_ud;
};

struct cql_result {
    uint8_t *body;                /* owned copy of the RESULT body (NULL for VOID) */
    size_t len;
    cql_result_body parsed;
    const cql_metadata *skip_meta;/* columns of a prepared statement when the server sent none */
    char **warnings;              /* NULL-terminated */
};

struct cql_node {
    int index;
    char addr[64];                /* numeric address */
    char tls_name[300];           /* name the certificate must carry (host as given) */
    uint16_t port;
    char dc[64];
    char rack[64];
    int local;                    /* in the local DC: gets a pool */
    int up;                       /* at least one conn ready */
    int ever_up;                  /* was up once: keep reconnecting when it goes down */
    int64_t *tokens;
    int ntokens;
    cql_conn **conns;
    int nconns;
    int rr;                       /* round-robin among conns */
    cql_request *parked_head, *parked_tail; /* waiting for a free stream */
    int reconnect_ms;
    uv_timer_t *reconnect_timer;
    atomic_ullong sent;           /* requests sent to this node */
    int settled;                  /* connection attempts finished (ready or failed), under mu */
    int downgrade;                /* the last attempt was refused for protocol v5 */
    cql_error last_err;           /* why the last attempt failed */
};

struct cql_conn {
    cql_session *s;
    cql_node *node;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_timer_t timer;             /* connect timeout, then request timeouts */
    int handles_open;             /* closed handles remaining before free */
    enum conn_state state;
    int version;
    int v5framing;
    int lz4;
    SSL *ssl;
    BIO *rbio, *wbio;
    cql_decoder dec;
    cs_buf v5pend;                /* whole envelopes waiting to be put in a frame */
    cs_buf plain;                 /* TLS: plaintext waiting for SSL_write */
    cs_buf out;                   /* bytes ready for the socket */
    cs_buf writing;               /* bytes owned by the active uv_write */
    int write_active;
    int dirty;                    /* on the session's flush list */
    cql_conn *flush_next;
    uv_write_t write_req;
    cql_request **streams;        /* by stream id; ORPHAN for timed-out ones */
    int16_t *free_ids;
    int nfree;
    int max_streams;
    int inflight;
    int orphans;
    cql_request *sent_head, *sent_tail;
    cql_error err;                /* why it failed/closed */
    int downgrade;                /* server refused protocol v5 */
    uint8_t rbuf[64 * 1024];
};

#define MAX_NODES 1024

typedef struct loop_task {
    struct loop_task *next;
    void (*fn)(cql_session *s, void *arg);
    void *arg;
} loop_task;

/* A keyspace's replication strategy, as read from system_schema.keyspaces. */
typedef struct ks_replication {
    struct ks_replication *next;
    char name[256];
    int simple;                   /* 1: SimpleStrategy with rf; 0: NetworkTopologyStrategy */
    int rf;
    int ndc;
    char dc[16][128];
    int dc_rf[16];
    int nrep;                     /* replicas per token (all DCs) */
    int *sets;                    /* ring_len * nrep node indexes, -1 padded: the
                                   * replicas of the tokens owned by ring entry i */
} ks_replication;

struct cql_prepared {
    cql_prepared *next;
    char *query;
    cql_prepared_info info;
    const ks_replication *repl;   /* of the statement's keyspace, or NULL */
};

struct cql_session {
    cql_config cfg;               /* strings below are owned copies */
    char *hosts, *username, *password, *ca_file, *cert_file, *key_file, *local_dc, *keyspace;
    SSL_CTX *ssl_ctx;
    int version;
    uv_loop_t loop;
    uv_async_t wakeup;
    uv_check_t flusher;           /* flushes dirty connections once per loop turn */
    uv_idle_t kicker;             /* keeps poll from blocking while a flush is due */
    int kick_active;
    unsigned rr;                  /* round-robin over nodes for unrouted requests */
    pthread_t thread;
    int thread_started;

    /* Cross-thread, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;            /* pending space, task completions */
    cql_request *q_head, *q_tail; /* submitted, not yet dispatched */
    loop_task *tasks_head, *tasks_tail;
    int pending;                  /* submitted and not completed */
    int stopping;

    /* Futures. */
    pthread_mutex_t fmu;
    pthread_cond_t fcv;

    /* I/O thread only (and the connecting thread before discovery ends,
     * always under mu while the loop runs). */
    cql_node **nodes;             /* fixed capacity MAX_NODES; entries never move */
    atomic_int nnodes;
    int64_t *ring_tokens;         /* sorted */
    int *ring_nodes;
    int ring_len;
    cql_conn *flush_list;
    cql_prepared *prepared;       /* under mu */
    ks_replication *repls;        /* cache (list), under mu; entries never move */

    /* Stats (relaxed atomics). */
    atomic_ullong st_sent, st_responses, st_retries, st_timeouts, st_errors, st_bytes_out,
        st_bytes_in, st_reprepares;
    atomic_int st_inflight;
};

/* conn.c */
cql_conn *conn_open(cql_session *s, cql_node *node);
/* Queue a request on a ready connection with a free stream. 0 or -1 (no stream). */
int conn_send(cql_conn *c, cql_request *r);
/* Start closing; in-flight requests are handed to session_conn_lost. */
void conn_close(cql_conn *c, const cql_error *why);
void conn_flush(cql_conn *c);
int conn_has_capacity(const cql_conn *c);
uint64_t loop_now_ms(cql_session *s);

/* session.c callbacks from conn.c */
void session_conn_ready(cql_session *s, cql_conn *c);
/* The connection closed or failed; was_ready tells whether it ever worked. */
void session_conn_failed(cql_session *s, cql_conn *c, int was_ready);
/* A stream became free on one of node's connections: send parked requests. */
void session_drain_parked(cql_session *s, cql_node *node);
void session_conn_freed(cql_session *s, cql_conn *c);
void session_response(cql_session *s, cql_request *r, const cql_envelope *env);
/* The request failed on its connection (timeout, connection lost). */
void session_request_failed(cql_session *s, cql_request *r, const cql_error *err);
void session_mark_dirty(cql_session *s, cql_conn *c);

#endif
