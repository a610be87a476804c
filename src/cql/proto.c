/* CQL message bodies for protocol v4 and v5 (see proto.h and the spec's
 * section 4). Encoders write straight into the caller's buffer and leave it
 * unchanged on failure; parsers read through cs_rd and never past `len`. */
#include "cql/proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Query parameter flags (an [int] from v5 on, a [byte] before). */
enum {
    QP_VALUES = 0x01,
    QP_SKIP_METADATA = 0x02,
    QP_PAGE_SIZE = 0x04,
    QP_PAGING_STATE = 0x08,
    QP_SERIAL_CONSISTENCY = 0x10,
    QP_DEFAULT_TIMESTAMP = 0x20,
    QP_KEYSPACE = 0x80, /* v5 */
};

/* Rows metadata flags. */
enum {
    MD_GLOBAL_TABLES_SPEC = 0x01,
    MD_HAS_MORE_PAGES = 0x02,
    MD_NO_METADATA = 0x04,
    MD_METADATA_CHANGED = 0x08, /* v5 */
};

#define PREPARE_WITH_KEYSPACE 0x01 /* v5 PREPARE flag */

/* ---- consistency ------------------------------------------------------------ */

static const char *const consistency_names[] = {
    "ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL",
    "LOCAL_QUORUM", "EACH_QUORUM", "SERIAL", "LOCAL_SERIAL", "LOCAL_ONE",
};
#define NCONSISTENCY (sizeof consistency_names / sizeof consistency_names[0])

int cql_consistency_parse(const char *s)
{
    if (!s)
        return -1;
    for (size_t i = 0; i < NCONSISTENCY; i++)
        if (strcasecmp(s, consistency_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *cql_consistency_name(int c)
{
    return c >= 0 && (size_t)c < NCONSISTENCY ? consistency_names[c] : "UNKNOWN";
}

/* ---- encoding helpers --------------------------------------------------------- */

static int put_string_n(cs_buf *b, const char *s, size_t n)
{
    if (n > UINT16_MAX || cs_buf_put_u16(b, (uint16_t)n))
        return -1;
    return cs_buf_append(b, s, n);
}

static int put_string(cs_buf *b, const char *s) { return put_string_n(b, s, strlen(s)); }

static int put_long_string(cs_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n > INT32_MAX || cs_buf_put_u32(b, (uint32_t)n))
        return -1;
    return cs_buf_append(b, s, n);
}

static int put_short_bytes(cs_buf *b, const uint8_t *p, size_t n)
{
    if (n > UINT16_MAX || cs_buf_put_u16(b, (uint16_t)n))
        return -1;
    return cs_buf_append(b, p, n);
}

/* Undo a partly written message and report failure. */
static int rollback(cs_buf *b, size_t len)
{
    b->len = len;
    return -1;
}

/* A flags field: [byte] before v5, [int] from v5 on. */
static int put_flags(cs_buf *b, int version, uint32_t flags)
{
    if (version >= 5)
        return cs_buf_put_u32(b, flags);
    return flags > 0xFF ? -1 : cs_buf_put_u8(b, (uint8_t)flags);
}

/* ---- requests ----------------------------------------------------------------- */

int cql_msg_startup(cs_buf *b, const char *compression)
{
    size_t start = b->len;
    int n = compression ? 4 : 3;
    if (cs_buf_put_u16(b, (uint16_t)n) || put_string(b, "CQL_VERSION") || put_string(b, "3.0.0"))
        return rollback(b, start);
    if (compression && (put_string(b, "COMPRESSION") || put_string(b, compression)))
        return rollback(b, start);
    if (put_string(b, "DRIVER_NAME") || put_string(b, "cqlshift") ||
        put_string(b, "DRIVER_VERSION") || put_string(b, CQLSHIFT_VERSION))
        return rollback(b, start);
    return 0;
}

int cql_msg_auth_response(cs_buf *b, const char *user, const char *password)
{
    size_t start = b->len, ul = strlen(user), pl = strlen(password);
    if (ul > INT32_MAX / 4 || pl > INT32_MAX / 4)
        return -1;
    /* SASL PLAIN: authzid (empty), NUL, user, NUL, password. */
    uint8_t nul = 0;
    if (cs_buf_put_u32(b, (uint32_t)(2 + ul + pl)) || cs_buf_append(b, &nul, 1) ||
        cs_buf_append(b, user, ul) || cs_buf_append(b, &nul, 1) || cs_buf_append(b, password, pl))
        return rollback(b, start);
    return 0;
}

/* <consistency><flags>[values][page size][paging state][serial][timestamp][keyspace] */
static int put_params(cs_buf *b, int version, const cql_params *p)
{
    uint32_t flags = 0;
    if (p->values || p->nvalues)
        flags |= QP_VALUES;
    if (p->skip_metadata)
        flags |= QP_SKIP_METADATA;
    if (p->page_size > 0)
        flags |= QP_PAGE_SIZE;
    if (p->paging_state)
        flags |= QP_PAGING_STATE;
    if (p->serial_consistency)
        flags |= QP_SERIAL_CONSISTENCY;
    if (p->has_timestamp)
        flags |= QP_DEFAULT_TIMESTAMP;
    if (p->keyspace) {
        /* v4 has no per-request keyspace: refuse rather than run elsewhere. */
        if (version < 5)
            return -1;
        flags |= QP_KEYSPACE;
    }
    if (cs_buf_put_u16(b, p->consistency) || put_flags(b, version, flags))
        return -1;
    if ((flags & QP_VALUES) &&
        (cs_buf_put_u16(b, p->nvalues) || cs_buf_append(b, p->values, p->values_len)))
        return -1;
    if ((flags & QP_PAGE_SIZE) && cs_buf_put_u32(b, (uint32_t)p->page_size))
        return -1;
    if (flags & QP_PAGING_STATE) {
        if (p->paging_state_len > INT32_MAX || cs_buf_put_u32(b, (uint32_t)p->paging_state_len) ||
            cs_buf_append(b, p->paging_state, p->paging_state_len))
            return -1;
    }
    if ((flags & QP_SERIAL_CONSISTENCY) && cs_buf_put_u16(b, p->serial_consistency))
        return -1;
    if ((flags & QP_DEFAULT_TIMESTAMP) && cs_buf_put_u64(b, (uint64_t)p->timestamp))
        return -1;
    if ((flags & QP_KEYSPACE) && put_string(b, p->keyspace))
        return -1;
    return 0;
}

int cql_msg_query(cs_buf *b, int version, const char *cql, const cql_params *p)
{
    size_t start = b->len;
    if (put_long_string(b, cql) || put_params(b, version, p))
        return rollback(b, start);
    return 0;
}

int cql_msg_prepare(cs_buf *b, int version, const char *cql, const char *keyspace)
{
    size_t start = b->len;
    if (put_long_string(b, cql))
        return rollback(b, start);
    if (version >= 5) {
        if (cs_buf_put_u32(b, keyspace ? PREPARE_WITH_KEYSPACE : 0) ||
            (keyspace && put_string(b, keyspace)))
            return rollback(b, start);
    } else if (keyspace) {
        return rollback(b, start);
    }
    return 0;
}

int cql_msg_execute(cs_buf *b, int version, const uint8_t *id, size_t id_len,
                    const uint8_t *result_md_id, size_t result_md_id_len, const cql_params *p)
{
    size_t start = b->len;
    if (put_short_bytes(b, id, id_len))
        return rollback(b, start);
    if (version >= 5 && put_short_bytes(b, result_md_id, result_md_id_len))
        return rollback(b, start);
    if (put_params(b, version, p))
        return rollback(b, start);
    return 0;
}

int cql_msg_batch_begin(cql_batch_writer *w, cs_buf *b, int version, uint8_t type)
{
    w->b = b;
    w->version = version;
    w->count = 0;
    size_t start = b->len;
    if (cs_buf_put_u8(b, type) || cs_buf_put_u16(b, 0))
        return rollback(b, start);
    w->count_off = start + 1;
    return 0;
}

/* <n><value_1>...<value_n> of one batch statement, then count it. */
static int batch_values(cql_batch_writer *w, size_t start, const uint8_t *values,
                        size_t values_len, uint16_t nvalues)
{
    if (cs_buf_put_u16(w->b, nvalues) || cs_buf_append(w->b, values, values_len))
        return rollback(w->b, start);
    w->count++;
    return 0;
}

int cql_msg_batch_add_prepared(cql_batch_writer *w, const uint8_t *id, size_t id_len,
                               const uint8_t *values, size_t values_len, uint16_t nvalues)
{
    size_t start = w->b->len;
    if (w->count == UINT16_MAX || cs_buf_put_u8(w->b, 1) || put_short_bytes(w->b, id, id_len))
        return rollback(w->b, start);
    return batch_values(w, start, values, values_len, nvalues);
}

int cql_msg_batch_add_query(cql_batch_writer *w, const char *cql,
                            const uint8_t *values, size_t values_len, uint16_t nvalues)
{
    size_t start = w->b->len;
    if (w->count == UINT16_MAX || cs_buf_put_u8(w->b, 0) || put_long_string(w->b, cql))
        return rollback(w->b, start);
    return batch_values(w, start, values, values_len, nvalues);
}

int cql_msg_batch_end(cql_batch_writer *w, const cql_params *p)
{
    cs_buf *b = w->b;
    size_t start = b->len;
    uint32_t flags = 0;
    if (p->serial_consistency)
        flags |= QP_SERIAL_CONSISTENCY;
    if (p->has_timestamp)
        flags |= QP_DEFAULT_TIMESTAMP;
    if (p->keyspace) {
        if (w->version < 5)
            return -1;
        flags |= QP_KEYSPACE;
    }
    cs_put_be16(b->data + w->count_off, w->count);
    if (cs_buf_put_u16(b, p->consistency) || put_flags(b, w->version, flags))
        return rollback(b, start);
    if ((flags & QP_SERIAL_CONSISTENCY) && cs_buf_put_u16(b, p->serial_consistency))
        return rollback(b, start);
    if ((flags & QP_DEFAULT_TIMESTAMP) && cs_buf_put_u64(b, (uint64_t)p->timestamp))
        return rollback(b, start);
    if ((flags & QP_KEYSPACE) && put_string(b, p->keyspace))
        return rollback(b, start);
    return 0;
}

int cql_msg_register(cs_buf *b, size_t n, const char *const *events)
{
    size_t start = b->len;
    if (n > UINT16_MAX || cs_buf_put_u16(b, (uint16_t)n))
        return rollback(b, start);
    for (size_t i = 0; i < n; i++)
        if (put_string(b, events[i]))
            return rollback(b, start);
    return 0;
}

/* ---- parsing helpers ------------------------------------------------------------ */

/* [string]: pointer and length into the body, or NULL (r->err set). */
static const uint8_t *rd_string(cs_rd *r, size_t *n)
{
    *n = cs_rd_u16(r);
    const uint8_t *p = cs_rd_bytes(r, *n);
    if (!p)
        *n = 0;
    return p;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

static char *dup_str(const uint8_t *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

/* Parse failures: a truncated body (r->err) or, failing that, no memory. */
static int parse_fail(const cs_rd *r, cql_error *err, const char *what)
{
    if (r->err)
        return cql_fail(err, CQL_E_PROTOCOL, "malformed RESULT: truncated %s", what);
    return cql_fail(err, CQL_E_NOMEM, "out of memory while parsing %s", what);
}

/* Read a [string] into a new C string; NULL on truncation or no memory. */
static char *rd_string_dup(cs_rd *r)
{
    size_t n;
    const uint8_t *p = rd_string(r, &n);
    return p ? dup_str(p, n) : NULL;
}

/* Read [short bytes] into a copy. */
static int rd_short_bytes_dup(cs_rd *r, uint8_t **out, size_t *len)
{
    size_t n = cs_rd_u16(r);
    const uint8_t *p = cs_rd_bytes(r, n);
    if (!p)
        return -1;
    *out = dup_bytes(p, n);
    *len = n;
    return *out ? 0 : -1;
}

/* ---- ERROR ------------------------------------------------------------------------ */

static void hex_id(char *out, size_t cap, const uint8_t *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 <= cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02x", p[i]);
    if (cap)
        out[o < cap ? o : cap - 1] = '\0';
}

/* "<cl>: <received> of <blockfor> required replicas <verb>" */
static int fmt_replicas(cs_buf *x, cs_rd *r, const char *verb)
{
    uint16_t cl = cs_rd_u16(r);
    int32_t received = (int32_t)cs_rd_u32(r), blockfor = (int32_t)cs_rd_u32(r);
    if (r->err)
        return -1;
    return cs_buf_printf(x, "consistency %s: %" PRId32 " of %" PRId32 " required replicas %s",
                         cql_consistency_name(cl), received, blockfor, verb);
}

/* A [string] appended as text. */
static int fmt_string(cs_buf *x, cs_rd *r, const char *prefix)
{
    size_t n;
    const uint8_t *p = rd_string(r, &n);
    if (!p)
        return -1;
    return cs_buf_printf(x, "%s%.*s", prefix, (int)n, (const char *)p);
}

/* Failure count of Read_failure/Write_failure. v4 sends <numfailures> as an
 * [int]; v5 a <reasonmap> ([int] n, then n x <inetaddr><short code>). The
 * parser is not told the version, so it tells them apart by what follows:
 * `tail` is the size of the field after the map (1 byte, or -1 for a
 * [string]), which must end the body in v4. */
static int fmt_failures(cs_buf *x, cs_rd *r, int tail_is_string)
{
    int32_t n = (int32_t)cs_rd_u32(r);
    if (r->err || n < 0)
        return -1;
    int v4 = tail_is_string ? (r->n >= 2 && (size_t)cs_be16(r->p) + 2 == r->n) : r->n == 1;
    if (cs_buf_printf(x, ", %" PRId32 " failed", n))
        return -1;
    if (v4 || n == 0)
        return 0;
    for (int32_t i = 0; i < n; i++) {
        uint8_t alen = cs_rd_u8(r);
        const uint8_t *a = cs_rd_bytes(r, alen);
        uint16_t code = cs_rd_u16(r);
        if (r->err || (alen != 4 && alen != 16))
            return -1;
        if (i >= 3)
            continue; /* a few addresses say enough */
        char addr[64];
        if (alen == 4)
            snprintf(addr, sizeof addr, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
        else
            hex_id(addr, sizeof addr, a, alen);
        if (cs_buf_printf(x, "%s%s reason 0x%04x", i ? ", " : " (", addr, code))
            return -1;
    }
    return cs_buf_printf(x, "%s)", n > 3 ? ", ..." : "");
}

static int fmt_data_present(cs_buf *x, cs_rd *r)
{
    uint8_t present = cs_rd_u8(r);
    if (r->err)
        return -1;
    return cs_buf_printf(x, present ? "; the data replica answered"
                                    : "; the data replica did not answer");
}

/* Append the code-specific fields of an ERROR body as text; -1 when they
 * are missing or malformed (the caller then says so). */
static int error_details(cs_buf *x, int32_t code, cs_rd *r)
{
    switch (code) {
    case CQL_SRV_UNAVAILABLE: {
        uint16_t cl = cs_rd_u16(r);
        int32_t required = (int32_t)cs_rd_u32(r), alive = (int32_t)cs_rd_u32(r);
        if (r->err)
            return -1;
        return cs_buf_printf(x, "consistency %s: %" PRId32 " replicas required, %" PRId32 " alive",
                             cql_consistency_name(cl), required, alive);
    }
    case CQL_SRV_WRITE_TIMEOUT: {
        if (fmt_replicas(x, r, "acknowledged"))
            return -1;
        size_t wn;
        const uint8_t *wt = rd_string(r, &wn);
        if (!wt || cs_buf_printf(x, "; write type %.*s", (int)wn, (const char *)wt))
            return -1;
        /* v5 adds <contentions> [short] after the write type CAS. */
        if (wn == 3 && memcmp(wt, "CAS", 3) == 0 && r->n >= 2)
            return cs_buf_printf(x, ", %u contentions", cs_rd_u16(r));
        return 0;
    }
    case CQL_SRV_READ_TIMEOUT:
        return fmt_replicas(x, r, "answered") || fmt_data_present(x, r) ? -1 : 0;
    case CQL_SRV_READ_FAILURE:
        return fmt_replicas(x, r, "answered") || fmt_failures(x, r, 0) || fmt_data_present(x, r)
                   ? -1 : 0;
    case CQL_SRV_WRITE_FAILURE:
        return fmt_replicas(x, r, "acknowledged") || fmt_failures(x, r, 1) ||
                       fmt_string(x, r, "; write type ")
                   ? -1 : 0;
    case CQL_SRV_CAS_WRITE_UNKNOWN:
        return fmt_replicas(x, r, "acknowledged");
    case CQL_SRV_FUNCTION_FAILURE: {
        if (fmt_string(x, r, "function ") || fmt_string(x, r, ".") || cs_buf_printf(x, "("))
            return -1;
        uint16_t n = cs_rd_u16(r);
        for (uint16_t i = 0; i < n; i++)
            if (fmt_string(x, r, i ? ", " : ""))
                return -1;
        return r->err ? -1 : cs_buf_printf(x, ")");
    }
    case CQL_SRV_ALREADY_EXISTS: {
        size_t kn, tn;
        const uint8_t *ks = rd_string(r, &kn), *tb = rd_string(r, &tn);
        if (r->err)
            return -1;
        if (tn == 0)
            return cs_buf_printf(x, "keyspace %.*s already exists", (int)kn, (const char *)ks);
        return cs_buf_printf(x, "table %.*s.%.*s already exists", (int)kn, (const char *)ks,
                             (int)tn, (const char *)tb);
    }
    case CQL_SRV_UNPREPARED: {
        size_t n = cs_rd_u16(r);
        const uint8_t *id = cs_rd_bytes(r, n);
        if (!id)
            return -1;
        char hex[2 * 64 + 1];
        hex_id(hex, sizeof hex, id, n);
        return cs_buf_printf(x, "statement id 0x%s%s is not prepared on this node; prepare it "
                             "again", hex, n > 64 ? "..." : "");
    }
    }
    return 0;
}

int cql_msg_parse_error(const uint8_t *body, size_t len, cql_error *err)
{
    cs_rd r;
    cs_rd_init(&r, body, len);
    int32_t code = (int32_t)cs_rd_u32(&r);
    size_t mlen;
    const uint8_t *m = rd_string(&r, &mlen);
    if (!m)
        return cql_fail(err, CQL_E_PROTOCOL, "malformed ERROR body (%zu bytes)", len);
    if (code == CQL_SRV_BAD_CREDENTIALS) {
        cql_fail(err, CQL_E_AUTH, "authentication failed: %.*s", (int)mlen, (const char *)m);
    } else {
        cs_buf x;
        cs_buf_init(&x, 1024);
        int bad = error_details(&x, code, &r);
        const char *details = x.len ? (const char *)x.data : "";
        if (bad)
            details = "the error's details are truncated or malformed";
        cql_fail(err, CQL_E_SERVER, "%s: \"%.*s\"%s%s%s", cql_server_error_name(code), (int)mlen,
                 (const char *)m, *details ? " (" : "", details, *details ? ")" : "");
        cs_buf_release(&x);
    }
    if (err)
        err->server_code = code;
    return -1;
}

/* ---- RESULT ----------------------------------------------------------------------- */

void cql_metadata_release(cql_metadata *m)
{
    if (m->cols) {
        for (int32_t i = 0; i < m->ncols; i++) {
            free(m->cols[i].keyspace);
            free(m->cols[i].table);
            free(m->cols[i].name);
            if (m->cols[i].type)
                cql_type_free(m->cols[i].type);
        }
        free(m->cols);
    }
    free(m->paging_state);
    free(m->new_metadata_id);
    free(m->pk_index);
    memset(m, 0, sizeof *m);
}

/* Partition-key indexes of bind metadata: <pk_count>[<pk_index_i>...]. */
static int read_pk_indexes(cs_rd *r, cql_metadata *m, cql_error *err)
{
    int32_t npk = (int32_t)cs_rd_u32(r);
    if (r->err)
        return parse_fail(r, err, "bind metadata");
    if (npk < 0 || (size_t)npk > r->n / 2)
        return cql_fail(err, CQL_E_PROTOCOL,
                        "malformed RESULT: %" PRId32 " partition key indexes in %zu bytes", npk, r->n);
    if (npk == 0)
        return 0;
    m->pk_index = malloc((size_t)npk * sizeof *m->pk_index);
    if (!m->pk_index)
        return parse_fail(r, err, "bind metadata");
    m->npk = npk;
    for (int32_t i = 0; i < npk; i++)
        m->pk_index[i] = cs_rd_u16(r);
    return 0;
}

/* <paging_state> and (v5) <new_metadata_id> of rows metadata. */
static int read_paging(cs_rd *r, int version, cql_metadata *m, cql_error *err)
{
    if (m->flags & MD_HAS_MORE_PAGES) {
        int32_t n = (int32_t)cs_rd_u32(r);
        if (n >= 0) {
            const uint8_t *p = cs_rd_bytes(r, (size_t)n);
            if (!p || !(m->paging_state = dup_bytes(p, (size_t)n)))
                return parse_fail(r, err, "paging state");
            m->paging_state_len = (size_t)n;
        }
    }
    if (version >= 5 && (m->flags & MD_METADATA_CHANGED) &&
        rd_short_bytes_dup(r, &m->new_metadata_id, &m->new_metadata_id_len))
        return parse_fail(r, err, "new result metadata id");
    return r->err ? parse_fail(r, err, "rows metadata") : 0;
}

/* <global_table_spec>?<col_spec_1>...<col_spec_n> */
static int read_columns(cs_rd *r, cql_metadata *m, cql_error *err)
{
    /* Each column takes at least a name [string] and a type [short]. */
    if ((size_t)m->ncols > r->n / 4)
        return cql_fail(err, CQL_E_PROTOCOL,
                        "malformed RESULT: %" PRId32 " columns cannot fit in %zu bytes", m->ncols,
                        r->n);
    size_t gkn = 0, gtn = 0;
    const uint8_t *gks = NULL, *gtb = NULL;
    int global = (m->flags & MD_GLOBAL_TABLES_SPEC) != 0;
    if (global) {
        gks = rd_string(r, &gkn);
        gtb = rd_string(r, &gtn);
        if (r->err)
            return parse_fail(r, err, "global table spec");
    }
    m->cols = calloc((size_t)m->ncols, sizeof *m->cols);
    if (!m->cols)
        return parse_fail(r, err, "column metadata");
    for (int32_t i = 0; i < m->ncols; i++) {
        cql_column *c = &m->cols[i];
        if (global) {
            c->keyspace = dup_str(gks, gkn);
            c->table = dup_str(gtb, gtn);
        } else {
            c->keyspace = rd_string_dup(r);
            c->table = rd_string_dup(r);
        }
        c->name = rd_string_dup(r);
        if (!c->keyspace || !c->table || !c->name)
            return parse_fail(r, err, "column spec");
        c->type = cql_type_read_option(r, err);
        if (!c->type) {
            if (err && err->code == CQL_OK)
                parse_fail(r, err, "column type");
            return -1;
        }
    }
    return 0;
}

/* Rows metadata (bind = 0) or the bind-variable metadata of Prepared
 * (bind = 1, which carries partition-key indexes and no paging fields). */
static int read_metadata(cs_rd *r, int version, int bind, cql_metadata *m, cql_error *err)
{
    m->flags = (int32_t)cs_rd_u32(r);
    m->ncols = (int32_t)cs_rd_u32(r);
    if (r->err)
        return parse_fail(r, err, "metadata header");
    if (m->ncols < 0)
        return cql_fail(err, CQL_E_PROTOCOL, "malformed RESULT: negative column count %" PRId32,
                        m->ncols);
    if (bind ? read_pk_indexes(r, m, err) : read_paging(r, version, m, err))
        return -1;
    if ((!bind && (m->flags & MD_NO_METADATA)) || m->ncols == 0)
        return 0;
    return read_columns(r, m, err);
}

static int read_rows(cs_rd *r, int version, cql_rows *rows, const cql_metadata *skip_meta_cols,
                     cql_error *err)
{
    if (read_metadata(r, version, 0, &rows->meta, err))
        return -1;
    int32_t ncols = rows->meta.ncols;
    if ((rows->meta.flags & MD_NO_METADATA) && skip_meta_cols && skip_meta_cols->ncols != ncols)
        return cql_fail(err, CQL_E_PROTOCOL,
                        "rows have %" PRId32 " columns but the prepared metadata has %" PRId32,
                        ncols, skip_meta_cols->ncols);
    int32_t nrows = (int32_t)cs_rd_u32(r);
    if (r->err)
        return parse_fail(r, err, "row count");
    if (nrows < 0)
        return cql_fail(err, CQL_E_PROTOCOL, "malformed RESULT: negative row count %" PRId32, nrows);
    /* Every value takes at least its 4-byte length: check before allocating. */
    uint64_t total = (uint64_t)nrows * (uint64_t)ncols;
    if (total > r->n / 4)
        return cql_fail(err, CQL_E_PROTOCOL,
                        "malformed RESULT: %" PRId32 " rows of %" PRId32 " columns cannot fit in %zu "
                        "bytes", nrows, ncols, r->n);
    rows->nrows = nrows;
    rows->ncols = ncols;
    if (total == 0)
        return 0;
    rows->vals = malloc((size_t)total * sizeof *rows->vals);
    rows->lens = malloc((size_t)total * sizeof *rows->lens);
    if (!rows->vals || !rows->lens)
        return parse_fail(r, err, "rows");
    for (uint64_t i = 0; i < total; i++) {
        int32_t n = (int32_t)cs_rd_u32(r);
        if (n < 0) {
            rows->vals[i] = NULL;
            rows->lens[i] = -1;
        } else {
            rows->vals[i] = cs_rd_bytes(r, (size_t)n);
            rows->lens[i] = n;
        }
        if (r->err)
            return cql_fail(err, CQL_E_PROTOCOL,
                            "malformed RESULT: row %" PRIu64 " column %" PRIu64 " is truncated",
                            i / (uint64_t)ncols, i % (uint64_t)ncols);
    }
    return 0;
}

static int read_prepared(cs_rd *r, int version, cql_prepared_info *p, cql_error *err)
{
    if (rd_short_bytes_dup(r, &p->id, &p->id_len))
        return parse_fail(r, err, "prepared statement id");
    if (version >= 5 && rd_short_bytes_dup(r, &p->result_md_id, &p->result_md_id_len))
        return parse_fail(r, err, "result metadata id");
    if (read_metadata(r, version, 1, &p->bind, err))
        return -1;
    return read_metadata(r, version, 0, &p->result, err);
}

/* FUNCTION and AGGREGATE changes carry argument types; they are folded into
 * the name as a signature, "fn(int, text)", since overloads share a name. */
static char *read_signature(cs_rd *r, const uint8_t *name, size_t nlen)
{
    cs_buf b;
    cs_buf_init(&b, 1 << 20);
    uint16_t n = cs_rd_u16(r);
    int bad = cs_buf_printf(&b, "%.*s(", (int)nlen, (const char *)name);
    for (uint16_t i = 0; i < n && !bad; i++) {
        size_t an;
        const uint8_t *a = rd_string(r, &an);
        bad = !a || cs_buf_printf(&b, "%s%.*s", i ? ", " : "", (int)an, (const char *)a);
    }
    if (bad || r->err || cs_buf_printf(&b, ")")) {
        cs_buf_release(&b);
        return NULL;
    }
    return (char *)cs_buf_detach(&b, NULL);
}

static int read_schema_change(cs_rd *r, cql_schema_change *s, cql_error *err)
{
    s->change_type = rd_string_dup(r);
    s->target = rd_string_dup(r);
    s->keyspace = rd_string_dup(r);
    if (!s->change_type || !s->target || !s->keyspace)
        return parse_fail(r, err, "schema change");
    if (strcmp(s->target, "KEYSPACE") == 0)
        return 0;
    size_t nlen;
    const uint8_t *name = rd_string(r, &nlen);
    if (!name)
        return parse_fail(r, err, "schema change name");
    if (strcmp(s->target, "FUNCTION") == 0 || strcmp(s->target, "AGGREGATE") == 0)
        s->name = read_signature(r, name, nlen);
    else
        s->name = dup_str(name, nlen);
    return s->name ? 0 : parse_fail(r, err, "schema change name");
}

int cql_result_parse(cql_result_body *out, int version, const uint8_t *body, size_t len,
                     const cql_metadata *skip_meta_cols, cql_error *err)
{
    memset(out, 0, sizeof *out);
    cql_error_clear(err);
    cs_rd r;
    cs_rd_init(&r, body, len);
    out->kind = (int32_t)cs_rd_u32(&r);
    if (r.err)
        return cql_fail(err, CQL_E_PROTOCOL, "malformed RESULT: body of %zu bytes has no kind", len);
    int rc;
    switch (out->kind) {
    case CQL_RESULT_VOID:
        return 0;
    case CQL_RESULT_ROWS:
        rc = read_rows(&r, version, &out->rows, skip_meta_cols, err);
        break;
    case CQL_RESULT_SET_KEYSPACE:
        out->keyspace = rd_string_dup(&r);
        rc = out->keyspace ? 0 : parse_fail(&r, err, "keyspace name");
        break;
    case CQL_RESULT_PREPARED:
        rc = read_prepared(&r, version, &out->prepared, err);
        break;
    case CQL_RESULT_SCHEMA_CHANGE:
        rc = read_schema_change(&r, &out->schema, err);
        break;
    default:
        return cql_fail(err, CQL_E_PROTOCOL, "RESULT of unknown kind %" PRId32, out->kind);
    }
    if (rc)
        cql_result_body_release(out);
    return rc;
}

void cql_result_body_release(cql_result_body *r)
{
    cql_metadata_release(&r->rows.meta);
    free(r->rows.vals);
    free(r->rows.lens);
    free(r->prepared.id);
    free(r->prepared.result_md_id);
    cql_metadata_release(&r->prepared.bind);
    cql_metadata_release(&r->prepared.result);
    free(r->keyspace);
    free(r->schema.change_type);
    free(r->schema.target);
    free(r->schema.keyspace);
    free(r->schema.name);
    memset(r, 0, sizeof *r);
}

/* ---- SUPPORTED ----------------------------------------------------------------------- */

char *cql_supported_get(const uint8_t *body, size_t len, const char *key)
{
    cs_rd r;
    cs_rd_init(&r, body, len);
    size_t klen = strlen(key);
    uint16_t n = cs_rd_u16(&r);
    for (uint16_t i = 0; i < n && !r.err; i++) {
        size_t kn;
        const uint8_t *k = rd_string(&r, &kn);
        uint16_t nv = cs_rd_u16(&r);
        int match = k && kn == klen && memcmp(k, key, klen) == 0;
        cs_buf b;
        cs_buf_init(&b, len + 1);
        int bad = match && cs_buf_printf(&b, "%s", "");
        for (uint16_t j = 0; j < nv && !r.err; j++) {
            size_t vn;
            const uint8_t *v = rd_string(&r, &vn);
            if (match && v && !bad)
                bad = cs_buf_printf(&b, "%s%.*s", j ? "," : "", (int)vn, (const char *)v);
        }
        if (match) {
            if (bad || r.err) {
                cs_buf_release(&b);
                return NULL;
            }
            return (char *)cs_buf_detach(&b, NULL);
        }
    }
    return NULL;
}
