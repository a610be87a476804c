/* One connection to one node: TCP via libuv, optional TLS through OpenSSL
 * memory BIOs, the STARTUP/AUTH handshake, envelope framing (v4 or v5) and
 * stream-id bookkeeping. Runs on the session's I/O thread only.
 *
 * Writes are coalesced: requests append encoded envelopes to `out` and the
 * connection is put on the session's flush list; the session flushes once
 * per loop turn, so many requests share one write() call. At most one
 * uv_write is active per connection; bytes queued meanwhile go out when it
 * completes.
 *
 * Timeouts: requests are sent in order and all have the same timeout, so
 * the oldest in-flight request is always at the head of `sent`; a 100 ms
 * timer checks only the head. A timed-out request's stream id is orphaned
 * (not reused) until its late response arrives, so a late answer can never
 * be taken for another request's. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "cql/proto.h"
#include "cql/session_int.h"

#define ORPHAN ((cql_request *)(uintptr_t)1)
#define OUT_MAX ((size_t)512 * 1024 * 1024)
#define TIMER_TICK_MS 100

uint64_t loop_now_ms(cql_session *s) { return uv_now(&s->loop); }

static cs_buf *conn_dest(cql_conn *c) { return c->ssl ? &c->plain : &c->out; }

static void conn_fail(cql_conn *c, cql_errc code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conn_fail(cql_conn *c, cql_errc code, const char *fmt, ...)
{
    cql_error e;
    va_list ap;
    va_start(ap, fmt);
    char msg[sizeof e.msg];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cql_fail(&e, code, "%s:%u: %s", c->node->addr, c->node->port, msg);
    conn_close(c, &e);
}

/* Put the envelope stream bytes gathered in v5pend into frames. */
static int flush_v5pend(cql_conn *c)
{
    if (!c->v5pend.len)
        return 0;
    cql_error e;
    if (cql_v5_frames_write(conn_dest(c), c->v5pend.data, c->v5pend.len, c->lz4, &e)) {
        conn_close(c, &e);
        return -1;
    }
    cs_buf_reset(&c->v5pend);
    return 0;
}

/* Append one envelope (header + body) to the outgoing stream. */
static int conn_write_envelope(cql_conn *c, int16_t stream, uint8_t opcode, const uint8_t *body,
                               size_t len)
{
    uint8_t hdr[CQL_ENVELOPE_HEADER_SIZE];
    if (c->v5framing) {
        size_t env_len = CQL_ENVELOPE_HEADER_SIZE + len;
        if (c->v5pend.len && c->v5pend.len + env_len > CQL_V5_MAX_PAYLOAD && flush_v5pend(c))
            return -1;
        cql_envelope_header_write(hdr, (uint8_t)c->version, 0, stream, opcode, (uint32_t)len);
        if (cs_buf_append(&c->v5pend, hdr, sizeof hdr) || cs_buf_append(&c->v5pend, body, len))
            goto nomem;
        /* An envelope too large for one frame goes out alone, split. */
        if (c->v5pend.len > CQL_V5_MAX_PAYLOAD)
            return flush_v5pend(c);
        return 0;
    }
    cs_buf *d = conn_dest(c);
    size_t hdr_off = d->len;
    if (!cs_buf_extend(d, sizeof hdr))
        goto nomem;
    uint8_t flags = 0;
    if (c->lz4 && len > 0 && c->state == CONN_READY) {
        cql_error e;
        size_t before = d->len;
        if (cql_v4_compress(d, body, len, &e)) {
            d->len = hdr_off;
            conn_close(c, &e);
            return -1;
        }
        len = d->len - before;
        flags = CQL_FLAG_COMPRESSION;
    } else if (cs_buf_append(d, body, len)) {
        d->len = hdr_off;
        goto nomem;
    }
    cql_envelope_header_write(hdr, (uint8_t)c->version, flags, stream, opcode, (uint32_t)len);
    memcpy(d->data + hdr_off, hdr, sizeof hdr);
    return 0;
nomem:
    conn_fail(c, CQL_E_NOMEM, "outgoing buffer limit reached");
    return -1;
}

static void on_write(uv_write_t *req, int status)
{
    cql_conn *c = req->data;
    c->write_active = 0;
    cs_buf_reset(&c->writing);
    if (c->state >= CONN_CLOSING)
        return;
    if (status < 0) {
        conn_fail(c, CQL_E_IO, "write failed: %s", uv_strerror(status));
        return;
    }
    if (c->out.len)
        conn_flush(c);
}

/* Move TLS ciphertext from the write BIO to `out`. */
static int drain_wbio(cql_conn *c)
{
    size_t pending;
    while ((pending = BIO_ctrl_pending(c->wbio)) > 0) {
        uint8_t *p = cs_buf_extend(&c->out, pending);
        if (!p)
            return -1;
        int n = BIO_read(c->wbio, p, (int)pending);
        c->out.len -= pending - (size_t)(n > 0 ? n : 0);
    }
    return 0;
}

void conn_flush(cql_conn *c)
{
    if (c->state >= CONN_CLOSING)
        return;
    if (c->v5framing && flush_v5pend(c))
        return;
    if (c->ssl && c->plain.len && c->state != CONN_TLS) {
        int n = SSL_write(c->ssl, c->plain.data, (int)c->plain.len);
        if (n <= 0 || (size_t)n != c->plain.len) {
            conn_fail(c, CQL_E_TLS, "TLS write failed");
            return;
        }
        cs_buf_reset(&c->plain);
    }
    if (c->ssl && drain_wbio(c)) {
        conn_fail(c, CQL_E_NOMEM, "outgoing buffer limit reached");
        return;
    }
    if (c->write_active || !c->out.len)
        return;
    cs_buf tmp = c->writing;
    c->writing = c->out;
    c->out = tmp;
    uv_buf_t b = uv_buf_init((char *)c->writing.data, (unsigned)c->writing.len);
    c->write_active = 1;
    atomic_fetch_add_explicit(&c->s->st_bytes_out, c->writing.len, memory_order_relaxed);
    int rc = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc < 0) {
        c->write_active = 0;
        conn_fail(c, CQL_E_IO, "write failed: %s", uv_strerror(rc));
    }
}

static void send_handshake(cql_conn *c, uint8_t opcode, cs_buf *body)
{
    if (conn_write_envelope(c, 0, opcode, body->data, body->len) == 0)
        conn_flush(c);
    cs_buf_release(body);
}

/* OPTIONS first: SUPPORTED tells which compression the server offers, so
 * asking for LZ4 from a server without it degrades to no compression
 * instead of failing the connection. */
static void send_options(cql_conn *c)
{
    cs_buf body;
    cs_buf_init(&body, 16);
    c->state = CONN_OPTIONS;
    send_handshake(c, CQL_OP_OPTIONS, &body);
}

static void send_startup(cql_conn *c)
{
    cs_buf body;
    cs_buf_init(&body, 4096);
    c->state = CONN_STARTUP;
    if (cql_msg_startup(&body, c->lz4 ? "lz4" : NULL)) {
        cs_buf_release(&body);
        conn_fail(c, CQL_E_NOMEM, "cannot build STARTUP");
        return;
    }
    send_handshake(c, CQL_OP_STARTUP, &body);
    /* In v4 the server compresses from its answer to STARTUP on (READY included). */
    if (c->version < 5 && c->lz4)
        cql_decoder_set_v4_lz4(&c->dec, 1);
}

static void on_timer(uv_timer_t *t);

static void become_ready(cql_conn *c)
{
    if (c->s->keyspace && c->state != CONN_KEYSPACE) {
        /* Select the keyspace before any request may use the connection. */
        cs_buf body, q;
        cs_buf_init(&body, 65536);
        cs_buf_init(&q, 4096);
        cql_params p = {0};
        p.consistency = CQL_ONE;
        cs_buf_printf(&q, "USE \"%s\"", c->s->keyspace);
        if (cs_buf_put_u8(&q, 0) || cql_msg_query(&body, c->version, (const char *)q.data, &p)) {
            cs_buf_release(&body);
            cs_buf_release(&q);
            conn_fail(c, CQL_E_USAGE, "keyspace name too long");
            return;
        }
        cs_buf_release(&q);
        c->state = CONN_KEYSPACE;
        send_handshake(c, CQL_OP_QUERY, &body);
        return;
    }
    c->state = CONN_READY;
    uv_timer_stop(&c->timer);
    uv_timer_start(&c->timer, on_timer, TIMER_TICK_MS, TIMER_TICK_MS);
    session_conn_ready(c->s, c);
}

/* From protocol v5 on, everything after READY/AUTHENTICATE is framed. */
static void enable_framing(cql_conn *c)
{
    if (c->version >= 5 && !c->v5framing) {
        c->v5framing = 1;
        cql_decoder_set_v5(&c->dec, c->lz4);
    }
}

static void handle_handshake(cql_conn *c, const cql_envelope *env)
{
    cql_error e;
    switch (env->opcode) {
    case CQL_OP_SUPPORTED:
        if (c->state != CONN_OPTIONS)
            break;
        if (c->lz4) {
            char *comp = cql_supported_get(env->body, env->length, "COMPRESSION");
            int has_lz4 = comp && strstr(comp, "lz4") != NULL;
            free(comp);
            if (!has_lz4)
                c->lz4 = 0;
        }
        send_startup(c);
        return;
    case CQL_OP_READY:
        enable_framing(c);
        become_ready(c);
        return;
    case CQL_OP_AUTHENTICATE: {
        enable_framing(c);
        if (!c->s->username) {
            conn_fail(c, CQL_E_AUTH,
                      "the server requires authentication; give a user name (and the password "
                      "in the environment or a credentials file)");
            return;
        }
        cs_buf body;
        cs_buf_init(&body, 4096);
        if (cql_msg_auth_response(&body, c->s->username, c->s->password ? c->s->password : "")) {
            cs_buf_release(&body);
            conn_fail(c, CQL_E_USAGE, "user name or password too long");
            return;
        }
        c->state = CONN_AUTH;
        send_handshake(c, CQL_OP_AUTH_RESPONSE, &body);
        return;
    }
    case CQL_OP_AUTH_SUCCESS:
        become_ready(c);
        return;
    case CQL_OP_RESULT:
        if (c->state == CONN_KEYSPACE) {
            become_ready(c);
            return;
        }
        break;
    case CQL_OP_ERROR:
        cql_msg_parse_error(env->body, env->length, &e);
        if ((c->state == CONN_OPTIONS || c->state == CONN_STARTUP) && c->version >= 5 &&
            c->s->cfg.protocol_version == 0 &&
            e.code == CQL_E_SERVER && e.server_code == CQL_SRV_PROTOCOL_ERROR)
            c->downgrade = 1;
        if (c->state == CONN_AUTH && e.code == CQL_E_SERVER &&
            e.server_code == CQL_SRV_BAD_CREDENTIALS)
            e.code = CQL_E_AUTH;
        {
            cql_error full;
            cql_fail(&full, e.code, "%s:%u: %s", c->node->addr, c->node->port, e.msg);
            full.server_code = e.server_code;
            conn_close(c, &full);
        }
        return;
    default:
        break;
    }
    conn_fail(c, CQL_E_PROTOCOL, "unexpected opcode 0x%02x during the handshake", env->opcode);
}

static void free_stream(cql_conn *c, int16_t id)
{
    c->streams[id] = NULL;
    c->free_ids[c->nfree++] = id;
}

static void sent_unlink(cql_conn *c, cql_request *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        c->sent_head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        c->sent_tail = r->prev;
    r->next = r->prev = NULL;
}

static void handle_envelope(cql_conn *c, const cql_envelope *env)
{
    if (c->state == CONN_OPTIONS || c->state == CONN_STARTUP || c->state == CONN_AUTH ||
        c->state == CONN_KEYSPACE) {
        handle_handshake(c, env);
        return;
    }
    if (env->stream < 0)
        return; /* server event: not registered for any */
    if (env->stream >= c->max_streams || !c->streams[env->stream]) {
        conn_fail(c, CQL_E_PROTOCOL, "response for unknown stream %d", env->stream);
        return;
    }
    cql_request *r = c->streams[env->stream];
    if (r == ORPHAN) {
        c->orphans--;
        free_stream(c, env->stream);
        return;
    }
    sent_unlink(c, r);
    free_stream(c, env->stream);
    c->inflight--;
    r->conn = NULL;
    session_response(c->s, r, env);
    if (c->node->parked_head && c->state == CONN_READY)
        session_drain_parked(c->s, c->node);
}

static void process_input(cql_conn *c, const uint8_t *p, size_t n)
{
    cql_error e;
    if (cql_decoder_feed(&c->dec, p, n, &e)) {
        conn_fail(c, CQL_E_PROTOCOL, "%s", e.msg);
        return;
    }
    for (;;) {
        cql_envelope env;
        int rc = cql_decoder_next(&c->dec, &env, &e);
        if (rc < 0) {
            conn_fail(c, CQL_E_PROTOCOL, "%s", e.msg);
            return;
        }
        if (rc == 0)
            return;
        handle_envelope(c, &env);
        if (c->state >= CONN_CLOSING)
            return;
    }
}

static void tls_fail(cql_conn *c)
{
    long vr = SSL_get_verify_result(c->ssl);
    if (vr != X509_V_OK) {
        conn_fail(c, CQL_E_TLS,
                  "TLS: the server certificate was not accepted: %s (give the CA that signed "
                  "it with the ca option, or check the host name)",
                  X509_verify_cert_error_string(vr));
        return;
    }
    char buf[256];
    unsigned long code = ERR_get_error();
    ERR_error_string_n(code, buf, sizeof buf);
    ERR_clear_error();
    conn_fail(c, CQL_E_TLS, "TLS handshake failed: %s", code ? buf : "connection closed");
}

static void tls_step(cql_conn *c)
{
    int rc = SSL_do_handshake(c->ssl);
    if (drain_wbio(c)) {
        conn_fail(c, CQL_E_NOMEM, "outgoing buffer limit reached");
        return;
    }
    if (rc == 1) {
        conn_flush(c);
        send_options(c);
        return;
    }
    int se = SSL_get_error(c->ssl, rc);
    if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) {
        conn_flush(c);
        return;
    }
    tls_fail(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    cql_conn *c = h->data;
    buf->base = (char *)c->rbuf;
    buf->len = sizeof c->rbuf;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    cql_conn *c = st->data;
    if (nread == 0 || c->state >= CONN_CLOSING)
        return;
    if (nread < 0) {
        if (nread == UV_EOF)
            conn_fail(c, c->ssl && c->state == CONN_TLS ? CQL_E_TLS : CQL_E_IO,
                      "connection closed by the server%s",
                      c->state < CONN_READY ? " during the handshake" : "");
        else if (c->state < CONN_READY && !c->ssl)
            conn_fail(c, CQL_E_IO,
                      "read failed during the handshake: %s (does the server require TLS?)",
                      uv_strerror((int)nread));
        else
            conn_fail(c, CQL_E_IO, "read failed: %s", uv_strerror((int)nread));
        return;
    }
    atomic_fetch_add_explicit(&c->s->st_bytes_in, (unsigned long long)nread, memory_order_relaxed);
    if (!c->ssl) {
        process_input(c, (const uint8_t *)buf->base, (size_t)nread);
        return;
    }
    BIO_write(c->rbio, buf->base, (int)nread);
    if (c->state == CONN_TLS) {
        tls_step(c);
        if (c->state == CONN_TLS || c->state >= CONN_CLOSING)
            return;
    }
    uint8_t plain[16 * 1024];
    for (;;) {
        int n = SSL_read(c->ssl, plain, sizeof plain);
        if (n > 0) {
            process_input(c, plain, (size_t)n);
            if (c->state >= CONN_CLOSING)
                return;
            continue;
        }
        int se = SSL_get_error(c->ssl, n);
        if (se == SSL_ERROR_WANT_READ)
            break;
        if (se == SSL_ERROR_ZERO_RETURN) {
            conn_fail(c, CQL_E_IO, "TLS connection closed by the server");
            return;
        }
        tls_fail(c);
        return;
    }
    if (drain_wbio(c) == 0 && c->out.len)
        conn_flush(c);
}

static void on_timer(uv_timer_t *t)
{
    cql_conn *c = t->data;
    if (c->state < CONN_READY) {
        conn_fail(c, CQL_E_TIMEOUT, "no answer within %d ms while connecting",
                  c->s->cfg.connect_timeout_ms);
        return;
    }
    uint64_t now = loop_now_ms(c->s);
    while (c->sent_head && c->sent_head->deadline_ms <= now) {
        cql_request *r = c->sent_head;
        sent_unlink(c, r);
        c->streams[r->stream] = ORPHAN;
        c->orphans++;
        c->inflight--;
        r->conn = NULL;
        cql_error e;
        cql_fail(&e, CQL_E_TIMEOUT, "%s:%u: no response within %d ms", c->node->addr, c->node->port,
                 c->s->cfg.request_timeout_ms);
        atomic_fetch_add_explicit(&c->s->st_timeouts, 1, memory_order_relaxed);
        session_request_failed(c->s, r, &e);
    }
    /* A connection whose stream ids are mostly stuck is defunct. */
    if (c->orphans > c->max_streams / 2)
        conn_fail(c, CQL_E_TIMEOUT, "too many requests without a response; reconnecting");
}

static int tls_setup(cql_conn *c)
{
    c->ssl = SSL_new(c->s->ssl_ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (!c->ssl || !c->rbio || !c->wbio)
        return -1;
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_connect_state(c->ssl);
    if (!c->s->cfg.tls_insecure) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
        unsigned char tmp[16];
        const char *name = c->node->tls_name;
        if (inet_pton(AF_INET, name, tmp) == 1 || inet_pton(AF_INET6, name, tmp) == 1) {
            if (!X509_VERIFY_PARAM_set1_ip_asc(vp, name))
                return -1;
        } else {
            SSL_set_tlsext_host_name(c->ssl, name);
            if (!SSL_set1_host(c->ssl, name))
                return -1;
        }
    }
    return 0;
}

static void on_connect(uv_connect_t *req, int status)
{
    cql_conn *c = req->data;
    if (c->state >= CONN_CLOSING)
        return;
    if (status < 0) {
        conn_fail(c, CQL_E_CONNECT, "cannot connect: %s", uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (c->s->ssl_ctx) {
        c->state = CONN_TLS;
        if (tls_setup(c)) {
            conn_fail(c, CQL_E_TLS, "cannot set up TLS");
            return;
        }
        tls_step(c);
        return;
    }
    send_options(c);
}

cql_conn *conn_open(cql_session *s, cql_node *node)
{
    cql_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->s = s;
    c->node = node;
    c->version = s->version;
    c->lz4 = s->cfg.lz4;
    c->max_streams = s->cfg.max_inflight_per_conn;
    c->streams = calloc((size_t)c->max_streams, sizeof *c->streams);
    c->free_ids = malloc((size_t)c->max_streams * sizeof *c->free_ids);
    if (!c->streams || !c->free_ids) {
        free(c->streams);
        free(c->free_ids);
        free(c);
        return NULL;
    }
    for (int i = c->max_streams - 1; i >= 0; i--)
        c->free_ids[c->nfree++] = (int16_t)i;
    cql_decoder_init(&c->dec, CQL_DEFAULT_MAX_BODY);
    cs_buf_init(&c->v5pend, OUT_MAX);
    cs_buf_init(&c->plain, OUT_MAX);
    cs_buf_init(&c->out, OUT_MAX);
    cs_buf_init(&c->writing, OUT_MAX);
    c->state = CONN_CONNECTING;
    uv_tcp_init(&s->loop, &c->tcp);
    uv_timer_init(&s->loop, &c->timer);
    c->handles_open = 2;
    c->tcp.data = c->timer.data = c->connect_req.data = c->write_req.data = c;

    struct sockaddr_storage sa;
    int rc = uv_ip4_addr(node->addr, node->port, (struct sockaddr_in *)&sa);
    if (rc)
        rc = uv_ip6_addr(node->addr, node->port, (struct sockaddr_in6 *)&sa);
    if (rc == 0)
        rc = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&sa, on_connect);
    uv_timer_start(&c->timer, on_timer, (uint64_t)s->cfg.connect_timeout_ms, 0);
    if (rc)
        conn_fail(c, CQL_E_CONNECT, "cannot connect: %s", uv_strerror(rc));
    return c;
}

int conn_has_capacity(const cql_conn *c)
{
    return c->state == CONN_READY && c->nfree > 0;
}

int conn_send(cql_conn *c, cql_request *r)
{
    if (!conn_has_capacity(c))
        return -1;
    int16_t id = c->free_ids[--c->nfree];
    c->streams[id] = r;
    r->stream = id;
    r->conn = c;
    r->sent_node = c->node->index;
    r->deadline_ms = loop_now_ms(c->s) + (uint64_t)c->s->cfg.request_timeout_ms;
    r->next = NULL;
    r->prev = c->sent_tail;
    if (c->sent_tail)
        c->sent_tail->next = r;
    else
        c->sent_head = r;
    c->sent_tail = r;
    c->inflight++;
    atomic_fetch_add_explicit(&c->s->st_sent, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->node->sent, 1, memory_order_relaxed);
    if (conn_write_envelope(c, id, r->opcode, r->body, r->body_len))
        return 0; /* the connection is closing; the request was failed over */
    session_mark_dirty(c->s, c);
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    cql_conn *c = h->data;
    if (--c->handles_open > 0)
        return;
    cql_decoder_release(&c->dec);
    cs_buf_release(&c->v5pend);
    cs_buf_release(&c->plain);
    cs_buf_release(&c->out);
    cs_buf_release(&c->writing);
    if (c->ssl)
        SSL_free(c->ssl); /* frees the BIOs too */
    free(c->streams);
    free(c->free_ids);
    session_conn_freed(c->s, c);
    free(c);
}

void conn_close(cql_conn *c, const cql_error *why)
{
    if (c->state >= CONN_CLOSING)
        return;
    int was_ready = c->state == CONN_READY;
    c->state = CONN_CLOSING;
    if (why)
        c->err = *why;
    else
        cql_fail(&c->err, CQL_E_CLOSED, "%s:%u: connection closed", c->node->addr, c->node->port);
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    /* Hand every in-flight request back to the session (retry or fail). */
    while (c->sent_head) {
        cql_request *r = c->sent_head;
        sent_unlink(c, r);
        c->streams[r->stream] = NULL;
        c->inflight--;
        r->conn = NULL;
        cql_error e = c->err;
        if (e.code != CQL_E_IO && e.code != CQL_E_TIMEOUT)
            e.code = CQL_E_IO;
        session_request_failed(c->s, r, &e);
    }
    session_conn_failed(c->s, c, was_ready);
}
