/* PostgreSQL source: reading a range with binary COPY.
 *
 *   COPY (SELECT cols FROM [ONLY] t WHERE key > after AND key <= hi
 *         ORDER BY key) TO STDOUT (FORMAT binary)
 *
 * streamed with PQgetCopyData (one tuple per message), each field decoded
 * straight into a typed src_value in the batch's arena: no text parsing, no
 * allocation per value (libpq allocates one buffer per row). The layout
 * (PostgreSQL's send functions, big-endian): the stream starts with the
 * 11-byte signature, int32 flags and an int32 header-extension length; each
 * tuple is an int16 field count, then per field an int32 length (-1: NULL)
 * and the bytes; the trailer is an int16 -1.
 *
 * A value that decodes but has no CQL form (a date of infinity, an inet
 * with a prefix, an array with a lower bound other than 1) becomes SV_BAD
 * with the reason; malformed bytes stop the range (a protocol error, never
 * expected from a server).
 *
 * Each batch's resume point is the encoded key of its last row, built from
 * the decoded key values (or from the key's ::text copy the query adds for
 * key types whose text form is not at hand), or the last rowid for ctid
 * ranges. A view named with --tables is one range,
 *   COPY (SELECT cols FROM v ORDER BY v::text OFFSET after) TO STDOUT ...
 * its rowid the row's ordinal in that order, its resume point the last one.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>

#include "source/pg_int.h"
#include "util/buf.h"

/* 2000-01-01 (PostgreSQL's epoch) in days and microseconds since 1970. */
#define PG_EPOCH_DAYS 10957
#define PG_EPOCH_US INT64_C(946684800000000)

static const uint8_t COPY_SIGNATURE[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};

static int set_bytes(src_value *v, src_kind kind, arena *a, const uint8_t *p, size_t n)
{
    return src_value_set_bytes(v, kind, a, p, n);
}

/* numeric (base-10000 digits) -> exact decimal text. */
static int dec_numeric(const uint8_t *p, int32_t len, src_value *v, arena *a)
{
    if (len < 8)
        return -2;
    int ndigits = cs_be16(p);
    int weight = (int16_t)cs_be16(p + 2);
    unsigned sign = cs_be16(p + 4);
    int dscale = cs_be16(p + 6);
    if (len != 8 + 2 * ndigits || dscale > 0x3fff)
        return -2;
    const char *special = sign == 0xC000 ? "NaN" : sign == 0xD000 ? "Infinity"
                          : sign == 0xF000 ? "-Infinity" : NULL;
    if (special) {
        v->kind = SV_DECIMAL;
        v->u.s.p = special;
        v->u.s.n = strlen(special);
        return 0;
    }
    if (sign != 0 && sign != 0x4000)
        return -2;
    const uint8_t *dg = p + 8;
    size_t cap = 2 + (weight >= 0 ? (size_t)(weight + 1) * 4 : 1) + 1 + (size_t)dscale + 4;
    char *out = arena_alloc(a, cap), *o = out;
    if (!out)
        return -1;
    if (sign == 0x4000)
        *o++ = '-';
    if (weight < 0) {
        *o++ = '0';
    } else {
        for (int d = 0; d <= weight; d++) {
            unsigned dig = d < ndigits ? cs_be16(dg + 2 * d) : 0;
            if (dig > 9999)
                return -2;
            if (d == 0) {
                char tmp[5];
                int n = 0;
                do {
                    tmp[n++] = (char)('0' + dig % 10);
                    dig /= 10;
                } while (dig);
                while (n)
                    *o++ = tmp[--n];
            } else {
                o[0] = (char)('0' + dig / 1000);
                o[1] = (char)('0' + dig / 100 % 10);
                o[2] = (char)('0' + dig / 10 % 10);
                o[3] = (char)('0' + dig % 10);
                o += 4;
            }
        }
    }
    if (dscale > 0) {
        *o++ = '.';
        int left = dscale;
        for (int d = weight + 1; left > 0; d++) {
            unsigned dig = d >= 0 && d < ndigits ? cs_be16(dg + 2 * d) : 0;
            if (dig > 9999)
                return -2;
            char g[4] = {(char)('0' + dig / 1000), (char)('0' + dig / 100 % 10),
                         (char)('0' + dig / 10 % 10), (char)('0' + dig % 10)};
            int take = left < 4 ? left : 4;
            memcpy(o, g, (size_t)take);
            o += take;
            left -= take;
        }
    }
    PG_ASSERT((size_t)(o - out) <= cap);
    v->kind = SV_DECIMAL;
    v->u.s.p = out;
    v->u.s.n = (size_t)(o - out);
    return 0;
}

static int dec_inet(const uint8_t *p, int32_t len, src_value *v, arena *a)
{
    if (len < 4)
        return -2;
    int family = p[0], bits = p[1], nb = p[3];
    if (!((family == 2 && nb == 4) || (family == 3 && nb == 16)) || len != 4 + nb)
        return -2;
    if (bits != nb * 8) {
        char txt[INET6_ADDRSTRLEN + 1];
        if (!inet_ntop(family == 2 ? AF_INET : AF_INET6, p + 4, txt, sizeof txt))
            snprintf(txt, sizeof txt, "?");
        return src_value_set_bad(v, a,
                       "inet %s/%d has a network prefix: a CQL inet holds an address only", txt,
                       bits);
    }
    return set_bytes(v, SV_INET, a, p + 4, (size_t)nb);
}

/* One scalar field into v: 0, -1 out of memory, -2 malformed. */
static int dec_scalar(pg_dec d, const uint8_t *p, int32_t len, src_value *v, arena *a)
{
    switch (d) {
    case PGD_TEXT:
        return set_bytes(v, SV_TEXT, a, p, (size_t)len);
    case PGD_BYTEA:
        return set_bytes(v, SV_BLOB, a, p, (size_t)len);
    case PGD_JSONB:
        if (len < 1 || p[0] != 1)
            return -2;
        return set_bytes(v, SV_TEXT, a, p + 1, (size_t)len - 1);
    case PGD_BOOL:
        if (len != 1)
            return -2;
        v->kind = SV_BOOL;
        v->u.i = p[0] != 0;
        return 0;
    case PGD_INT2:
        if (len != 2)
            return -2;
        v->kind = SV_INT;
        v->u.i = (int16_t)cs_be16(p);
        return 0;
    case PGD_INT4:
        if (len != 4)
            return -2;
        v->kind = SV_INT;
        v->u.i = (int32_t)cs_be32(p);
        return 0;
    case PGD_OID:
        if (len != 4)
            return -2;
        v->kind = SV_INT;
        v->u.i = (int64_t)cs_be32(p);
        return 0;
    case PGD_INT8:
        if (len != 8)
            return -2;
        v->kind = SV_INT;
        v->u.i = (int64_t)cs_be64(p);
        return 0;
    case PGD_FLOAT4: {
        if (len != 4)
            return -2;
        uint32_t bits = cs_be32(p);
        float f;
        memcpy(&f, &bits, 4);
        v->kind = SV_DOUBLE;
        v->u.d = (double)f;
        return 0;
    }
    case PGD_FLOAT8: {
        if (len != 8)
            return -2;
        uint64_t bits = cs_be64(p);
        memcpy(&v->u.d, &bits, 8);
        v->kind = SV_DOUBLE;
        return 0;
    }
    case PGD_NUMERIC:
        return dec_numeric(p, len, v, a);
    case PGD_UUID:
        if (len != 16)
            return -2;
        return set_bytes(v, SV_UUID, a, p, 16);
    case PGD_DATE: {
        if (len != 4)
            return -2;
        int32_t days = (int32_t)cs_be32(p);
        if (days == INT32_MIN || days == INT32_MAX)
            return src_value_set_bad(v, a, "date %sinfinity has no CQL date", days == INT32_MIN ? "-" : "");
        int64_t d70 = (int64_t)days + PG_EPOCH_DAYS;
        if (d70 < INT32_MIN || d70 > INT32_MAX)
            return src_value_set_bad(v, a, "date %" PRId64 " days from 1970 is outside CQL's date range",
                           d70);
        v->kind = SV_DATE;
        v->u.i = d70;
        return 0;
    }
    case PGD_TIME: {
        if (len != 8)
            return -2;
        int64_t us = (int64_t)cs_be64(p);
        if (us < 0 || us > INT64_C(86400000000))
            return -2;
        v->kind = SV_TIME;
        v->u.i = us * 1000;
        return 0;
    }
    case PGD_TIMESTAMP: {
        if (len != 8)
            return -2;
        int64_t us = (int64_t)cs_be64(p);
        if (us == INT64_MIN || us == INT64_MAX)
            return src_value_set_bad(v, a, "timestamp %sinfinity has no CQL timestamp",
                           us == INT64_MIN ? "-" : "");
        if (us > INT64_MAX - PG_EPOCH_US)
            return src_value_set_bad(v, a, "timestamp after 294247-01-10 04:00:54 UTC, where "
                                     "cqlshift's timestamps (microseconds since 1970 in 64 "
                                     "bits) end; CQL's would reach further");
        v->kind = SV_TIMESTAMP;
        v->u.i = us + PG_EPOCH_US;
        return 0;
    }
    case PGD_INTERVAL: {
        if (len != 16)
            return -2;
        int64_t us = (int64_t)cs_be64(p);
        int32_t days = (int32_t)cs_be32(p + 8), months = (int32_t)cs_be32(p + 12);
        int neg = us < 0 || days < 0 || months < 0, pos = us > 0 || days > 0 || months > 0;
        if (neg && pos)
            return src_value_set_bad(v, a,
                           "interval of %" PRId32 " months, %" PRId32 " days and %" PRId64
                           " microseconds mixes signs: a CQL duration cannot",
                           months, days, us);
        if (us > INT64_MAX / 1000 || us < INT64_MIN / 1000)
            return src_value_set_bad(v, a, "interval of %" PRId64 " microseconds is too long for a CQL "
                                 "duration's nanoseconds", us);
        v->kind = SV_DURATION;
        v->u.dur.months = months;
        v->u.dur.days = days;
        v->u.dur.nanos = us * 1000;
        return 0;
    }
    case PGD_INET:
        return dec_inet(p, len, v, a);
    case PGD_ARRAY:
        break;
    }
    return -2;
}

#define MAX_ARRAY_DIMS 6

/* A binary array into nested SV_LISTs. */
static int dec_array(const pg_col *pc, const uint8_t *p, int32_t len, src_value *v, arena *a)
{
    if (len < 12)
        return -2;
    int32_t ndim = (int32_t)cs_be32(p);
    if (ndim < 0 || ndim > MAX_ARRAY_DIMS || len < 12 + 8 * ndim)
        return -2;
    if (ndim == 0) {
        v->kind = SV_LIST;
        v->u.list.v = NULL;
        v->u.list.n = 0;
        return 0;
    }
    int32_t dims[MAX_ARRAY_DIMS];
    int64_t total = 1;
    for (int i = 0; i < ndim; i++) {
        dims[i] = (int32_t)cs_be32(p + 12 + 8 * i);
        int32_t lb = (int32_t)cs_be32(p + 16 + 8 * i);
        if (dims[i] < 0)
            return -2;
        total *= dims[i];
        if (total > (int64_t)len)   /* every element takes 4 bytes at least */
            return -2;
        if (lb != 1)
            return src_value_set_bad(v, a,
                           "array with lower bound %" PRId32 " (not 1): its indexes cannot be kept "
                           "in a CQL list",
                           lb);
    }
    if (ndim != pc->dims)
        return src_value_set_bad(v, a, "a %d-dimensional array in a column of %d-dimensional arrays",
                       (int)ndim, pc->dims);
    src_value *leaves = arena_alloc(a, (size_t)(total ? total : 1) * sizeof *leaves);
    if (!leaves)
        return -1;
    const uint8_t *q = p + 12 + 8 * ndim, *end = p + len;
    for (int64_t i = 0; i < total; i++) {
        if (end - q < 4)
            return -2;
        int32_t el = (int32_t)cs_be32(q);
        q += 4;
        src_value *e = &leaves[i];
        e->kind = SV_NULL;
        if (el == -1)
            continue;
        if (el < 0 || el > end - q)
            return -2;
        int rc = dec_scalar(pc->elem_dec, q, el, e, a);
        if (rc)
            return rc;
        q += el;
        if (e->kind == SV_BAD)
            return src_value_set_bad(v, a, "element %" PRId64 ": %.*s", i + 1, (int)e->u.s.n, e->u.s.p);
    }
    if (q != end)
        return -2;
    src_value *cur = leaves;
    int64_t count = total;
    for (int lvl = ndim - 1; lvl >= 1; lvl--) {
        int64_t groups = dims[lvl] ? count / dims[lvl] : 0;
        src_value *lists = arena_alloc(a, (size_t)(groups ? groups : 1) * sizeof *lists);
        if (!lists)
            return -1;
        for (int64_t g = 0; g < groups; g++) {
            lists[g].kind = SV_LIST;
            lists[g].u.list.v = cur + g * dims[lvl];
            lists[g].u.list.n = dims[lvl];
        }
        cur = lists;
        count = groups;
    }
    v->kind = SV_LIST;
    v->u.list.v = cur;
    v->u.list.n = (int)count;
    return 0;
}

int pg_decode_field(const pg_col *pc, const uint8_t *p, int32_t len, src_value *v, arena *a)
{
    PG_ASSERT(len >= 0);
    return pc->dec == PGD_ARRAY ? dec_array(pc, p, len, v, a) : dec_scalar(pc->dec, p, len, v, a);
}

/* ---- readers ---- */

/* Give a reader's connection back (or drop it when it is not reusable). */
static void release_conn(source_reader *rd, int reusable)
{
    pg_source *s = rd->src;
    if (rd->slot) {
        PGconn *drop = NULL;
        pthread_mutex_lock(&s->mu);
        if (!reusable) {
            PQfreeCancel(rd->slot->cancel);
            rd->slot->cancel = NULL;
            drop = rd->slot->conn;
            rd->slot->conn = NULL;
        }
        rd->slot->busy = 0;
        pthread_cond_signal(&s->freed);
        pthread_mutex_unlock(&s->mu);
        PQfinish(drop);
    } else {
        pthread_mutex_lock(&s->mu);
        for (source_reader **pp = &s->plain; *pp; pp = &(*pp)->next_plain)
            if (*pp == rd) {
                *pp = rd->next_plain;
                break;
            }
        PQfreeCancel(rd->own_cancel);
        rd->own_cancel = NULL;
        pthread_mutex_unlock(&s->mu);
        PQfinish(rd->conn);
    }
    rd->conn = NULL;
    rd->slot = NULL;
}

static int read_fail(source_reader *rd, source_error *err, const char *what)
{
    char reason[400];
    pg_conn_reason(rd->conn, reason, sizeof reason);
    rd->broken = 1;
    return source_fail(err, SRC_E_READ, "%s %s from PostgreSQL %s: %s", what, rd->label,
                       rd->src->red, reason);
}

/* A partitioned table without a key is read leaf after leaf (in the order
 * of pt->leaves, which the rowid's high bits number), each in physical
 * order: rowids then only increase, and a resume point (the last rowid)
 * continues in its leaf after its ctid and reads the later leaves whole.
 *   COPY (SELECT ctid, tableoid, cols FROM ONLY leaf_i WHERE ctid > '(b,l)'
 *         UNION ALL SELECT ... FROM ONLY leaf_i+1 ...) TO STDOUT
 * NULL when out of memory or the resume point is not one of this table's. */
static char *leaves_sql(const pg_table *pt, const src_pos *after)
{
    int first = 0;
    int64_t v = -1;
    if (after && after->n) {
        if (src_pos_get_i64(after, 0, &v) || v < 0)
            return NULL;
        first = (int)(v >> 48);
        if (first >= pt->nleaves)
            first = pt->nleaves - 1, v = INT64_MAX;   /* past the end: reads nothing */
    }
    size_t n = 64;
    for (int i = first; i < pt->nleaves; i++)
        n += strlen(pt->select_list) + strlen(pt->leaf_qnames[i]) + 120;
    char *sql = malloc(n), *o = sql;
    if (!sql)
        return NULL;
    o += sprintf(o, "COPY (");
    for (int i = first; i < pt->nleaves; i++) {
        o += sprintf(o, "%sSELECT %s FROM ONLY %s", i > first ? " UNION ALL " : "",
                     pt->select_list, pt->leaf_qnames[i]);
        if (i == first && v >= 0) {
            if (v == INT64_MAX)
                o += sprintf(o, " WHERE false");
            else
                o += sprintf(o, " WHERE ctid > '(%" PRId64 ",%" PRId64 ")'::tid",
                             (v >> 16) & INT64_C(0xffffffff), v & 0xffff);
        }
    }
    sprintf(o, ") TO STDOUT (FORMAT binary)");
    PG_ASSERT(strlen(sql) < n);
    return sql;
}

/* The partitioned table rd reads still has the leaves it was described
 * with (a leaf attached later would otherwise be left out): 0; 1 when it
 * changed, -1 on a failed query (err set either way). */
static int leaves_unchanged(source_reader *rd, source_error *err)
{
    const pg_table *pt = &rd->src->tables[rd->table];
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(string_agg(relid::oid::int8::text, ',' ORDER BY "
             "relid::oid::int8), '') FROM pg_partition_tree(%u) WHERE isleaf",
             pt->oid);
    PGresult *res = PQexec(rd->conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        read_fail(rd, err, "cannot list the partitions of");
        return -1;
    }
    const char *have = PQgetvalue(res, 0, 0);
    int same = 1;
    for (int i = 0; i < pt->nleaves && same; i++) {
        char *end;
        unsigned long oid = strtoul(have, &end, 10);
        same = end != have && oid == pt->leaves[i] && (*end == ',' || *end == 0);
        have = *end ? end + 1 : end;
    }
    same = same && *have == 0;
    PQclear(res);
    if (same)
        return 0;
    source_fail(err, SRC_E_READ,
                "reading %s: a partition was attached or detached after the schema was read; "
                "run again",
                rd->label);
    return 1;
}

source_reader *pg_open_range(source *base, const source_range *r, const src_pos *after,
                             source_error *err)
{
    pg_source *s = (pg_source *)base;
    if (!s->described || r->table < 0 || r->table >= s->schema.ntables) {
        source_fail(err, SRC_E_USAGE, "open_range: unknown table %d (describe first)", r->table);
        return NULL;
    }
    const source_table *tb = &s->schema.tables[r->table];
    const pg_table *pt = &s->tables[r->table];
    source_reader *rd = calloc(1, sizeof *rd);
    if (!rd) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        return NULL;
    }
    rd->src = s;
    rd->table = r->table;
    rd->last_rowid = -1;
    pg_notice_reset();
    snprintf(rd->label, sizeof rd->label, "%s", r->label);

    /* fields of each tuple: [ctid [, tableoid]] columns extras */
    int off = tb->uses_rowid ? 1 : 0;
    int lead = tb->uses_rowid ? (pt->relkind == 'p' ? 2 : pt->relkind == 'v' ? 0 : 1) : 0;
    rd->nfields = lead + (tb->ncols - off) + pt->nextra;
    rd->fdst = calloc((size_t)rd->nfields, sizeof *rd->fdst);
    if (!rd->fdst) {
        free(rd);
        source_fail(err, SRC_E_NOMEM, "out of memory");
        return NULL;
    }
    for (int f = 0; f < rd->nfields; f++)
        rd->fdst[f] = f < lead ? -1 - f : f - lead + off;

    if (s->in_snapshot) {
        pthread_mutex_lock(&s->mu);
        pg_slot *slot = NULL;
        for (;;) {
            for (int i = 0; i < s->nslots && !slot; i++)
                if (!s->slots[i].busy)
                    slot = &s->slots[i];
            if (slot)
                break;
            pthread_cond_wait(&s->freed, &s->mu);
        }
        slot->busy = 1;
        pthread_mutex_unlock(&s->mu);
        rd->slot = slot;
        if (!slot->conn) {
            /* dropped after an abandoned range: the exporter still holds
             * the snapshot, so import it again */
            PGconn *c = pg_snapshot_reader(s, err);
            if (!c) {
                release_conn(rd, 1);
                goto fail;
            }
            pthread_mutex_lock(&s->mu);
            slot->conn = c;
            slot->cancel = PQgetCancel(c);
            pthread_mutex_unlock(&s->mu);
        }
        rd->conn = slot->conn;
    } else {
        rd->conn = pg_connect(s, err);
        if (!rd->conn)
            goto fail;
        pthread_mutex_lock(&s->mu);
        rd->own_cancel = PQgetCancel(rd->conn);
        rd->next_plain = s->plain;
        s->plain = rd;
        pthread_mutex_unlock(&s->mu);
    }

    char *sql;
    if (tb->query) {
        /* a query is read whole, from its start (source_table.query) */
        if (!(sql = strdup(pt->select_list))) {
            release_conn(rd, 1);
            source_fail(err, SRC_E_NOMEM, "out of memory");
            goto fail;
        }
    } else if (tb->uses_rowid && pt->relkind == 'p' && pt->nleaves > 0) {
        int rc = leaves_unchanged(rd, err);
        if (rc) {
            release_conn(rd, rc > 0);
            goto fail;
        }
        sql = leaves_sql(pt, after);
        if (!sql) {
            release_conn(rd, 1);
            source_fail(err, SRC_E_NOMEM, "out of memory");
            goto fail;
        }
    } else if (pt->relkind == 'v') {
        /* a view: its rows in the order of their text form (a total order
         * but for identical rows), numbered as they arrive; a resume
         * skips the rows numbered before */
        int64_t skip = 0;
        if (after && after->n && (src_pos_get_i64(after, 0, &skip) || skip < 0)) {
            release_conn(rd, 1);
            source_fail(err, SRC_E_READ, "%s: the resume point does not fit a view (start "
                                         "over with --restart)", r->label);
            goto fail;
        }
        rd->ordinal = skip;
        size_t n = strlen(pt->select_list) + strlen(pt->qname) + 160;
        if (!(sql = malloc(n))) {
            release_conn(rd, 1);
            source_fail(err, SRC_E_NOMEM, "out of memory");
            goto fail;
        }
        snprintf(sql, n,
                 "COPY (SELECT %s FROM %s AS cqlshift_t ORDER BY cqlshift_t::text OFFSET %" PRId64
                 ") TO STDOUT (FORMAT binary)",
                 pt->select_list, pt->qname, skip);
    } else {
        char *cond = pg_range_cond(s, rd->conn, r, after, err);
        if (!cond) {
            release_conn(rd, 1);
            goto fail;
        }
        size_t n = strlen(pt->select_list) + strlen(pt->qname) + strlen(cond) +
                   strlen(pt->order_list) + 160;
        sql = malloc(n);
        if (!sql) {
            free(cond);
            release_conn(rd, 1);
            source_fail(err, SRC_E_NOMEM, "out of memory");
            goto fail;
        }
        snprintf(sql, n,
                 "COPY (SELECT %s FROM %s%s AS cqlshift_t WHERE %s%s%s) TO STDOUT (FORMAT binary)",
                 pt->select_list, pt->only, pt->qname, cond, tb->uses_rowid ? "" : " ORDER BY ",
                 tb->uses_rowid ? "" : pt->order_list);
        free(cond);
    }
    PGresult *res = PQexec(rd->conn, sql);
    free(sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        PQclear(res);
        read_fail(rd, err, "cannot read");
        release_conn(rd, 0);
        goto fail;
    }
    PQclear(res);
    rd->in_copy = 1;
    return rd;
fail:
    free(rd->fdst);
    free(rd);
    return NULL;
}

/* The text form of key value v (for the resume point). */
static int key_append_value(src_pos *p, const src_value *v)
{
    char tmp[40];
    switch (v->kind) {
    case SV_INT: {
        int n = snprintf(tmp, sizeof tmp, "%" PRId64, v->u.i);
        return pg_key_append(p, tmp, (size_t)n);
    }
    case SV_BOOL:
        return pg_key_append(p, v->u.i ? "true" : "false", v->u.i ? 4 : 5);
    case SV_TEXT:
    case SV_DECIMAL:
        return pg_key_append(p, v->u.s.p, v->u.s.n);
    case SV_UUID: {
        static const char hex[] = "0123456789abcdef";
        const uint8_t *u = (const uint8_t *)v->u.s.p;
        int o = 0;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10)
                tmp[o++] = '-';
            tmp[o++] = hex[u[i] >> 4];
            tmp[o++] = hex[u[i] & 15];
        }
        return pg_key_append(p, tmp, (size_t)o);
    }
    default:
        return -1;  /* key columns of other types travel as ::text extras */
    }
}

/* Set b->resume from the batch's last row. */
static int set_resume(source_reader *rd, row_batch *b, int64_t rowid)
{
    const source_table *tb = &rd->src->schema.tables[rd->table];
    const pg_table *pt = &rd->src->tables[rd->table];
    src_pos_clear(&b->resume);
    if (tb->uses_rowid)
        return pt->relkind == 'p' && pt->nleaves == 0 ? 0 : src_pos_set_i64(&b->resume, rowid);
    const src_row *row = &b->rows[b->n - 1];
    for (int k = 0; k < tb->npk; k++) {
        const src_value *v = pt->key_extra[k] >= 0 ? &row->vals[tb->ncols + pt->key_extra[k]]
                                                   : &row->vals[pt->key[k]];
        if (key_append_value(&b->resume, v))
            return -1;
    }
    return 0;
}

/* The end of the COPY: its final status. */
static int finish_copy(source_reader *rd, source_error *err)
{
    rd->in_copy = 0;
    rd->done = 1;
    int rc = 0;
    PGresult *res;
    while ((res = PQgetResult(rd->conn))) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
            char reason[400];
            snprintf(reason, sizeof reason, "%s", PQresultErrorMessage(res));
            reason[strcspn(reason, "\n")] = 0;
            rd->broken = 1;
            rc = source_fail(err, SRC_E_READ, "reading %s from PostgreSQL %s: %s", rd->label,
                             rd->src->red, reason[0] ? reason : "the server ended the copy");
        }
        PQclear(res);
    }
    return rc;
}

int pg_read(source_reader *rd, row_batch *b, int max_rows, source_error *err)
{
    row_batch_clear(b);
    if (rd->done)
        return 0;
    if (rd->broken)
        return source_fail(err, SRC_E_READ, "reading %s: the reader failed before", rd->label);
    pg_source *s = rd->src;
    const source_table *tb = &s->schema.tables[rd->table];
    const pg_table *pt = &s->tables[rd->table];
    const int ncols = tb->ncols;
    int64_t rowid = 0;
    if (max_rows > b->cap)
        max_rows = b->cap;
    while (b->n < max_rows) {
        if (!rd->msg) {
            char *m = NULL;
            int len = PQgetCopyData(rd->conn, &m, 0);
            if (len == -1) {
                if (finish_copy(rd, err))
                    return -1;
                break;
            }
            if (len < 0) {
                /* the server's own reason may still be in a result */
                PGresult *res = PQgetResult(rd->conn);
                const char *why = res ? PQresultErrorMessage(res) : "";
                if (why && *why) {
                    char reason[400];
                    snprintf(reason, sizeof reason, "%s", why);
                    reason[strcspn(reason, "\n")] = 0;
                    PQclear(res);
                    rd->broken = 1;
                    return source_fail(err, SRC_E_READ, "reading %s from PostgreSQL %s: %s",
                                       rd->label, s->red, reason);
                }
                PQclear(res);
                return read_fail(rd, err, "reading");
            }
            rd->msg = m;
            rd->msg_len = len;
            rd->msg_off = 0;
            if (!rd->header_done) {
                const uint8_t *h = (const uint8_t *)m;
                if (len < 19 || memcmp(h, COPY_SIGNATURE, 11))
                    goto malformed;
                uint32_t ext = cs_be32(h + 15);
                if (ext > (uint32_t)len - 19)
                    goto malformed;
                rd->msg_off = 19 + (int)ext;
                rd->header_done = 1;
            }
        }
        if (rd->msg_off >= rd->msg_len) {
            PQfreemem(rd->msg);
            rd->msg = NULL;
            continue;
        }
        const uint8_t *p = (const uint8_t *)rd->msg + rd->msg_off;
        const uint8_t *end = (const uint8_t *)rd->msg + rd->msg_len;
        if (end - p < 2)
            goto malformed;
        int16_t nf = (int16_t)cs_be16(p);
        p += 2;
        if (nf == -1) {     /* trailer: the end of data follows */
            rd->msg_off = rd->msg_len;
            continue;
        }
        if (nf != rd->nfields)
            goto malformed;
        src_row *row = row_batch_add(b, 0, ncols + pt->nextra);
        if (!row)
            return source_fail(err, SRC_E_NOMEM, "out of memory reading %s", rd->label);
        row->nvals = ncols;
        uint32_t block = 0, tableoid = 0;
        unsigned lp = 0;
        for (int f = 0; f < nf; f++) {
            if (end - p < 4)
                goto malformed;
            int32_t flen = (int32_t)cs_be32(p);
            p += 4;
            if (flen == -1)
                continue;   /* values start as SV_NULL */
            if (flen < 0 || flen > end - p)
                goto malformed;
            int dst = rd->fdst[f];
            if (dst == -1) {            /* ctid */
                if (flen != 6)
                    goto malformed;
                block = cs_be32(p);
                lp = cs_be16(p + 4);
            } else if (dst == -2) {     /* tableoid */
                if (flen != 4)
                    goto malformed;
                tableoid = cs_be32(p);
            } else {
                /* the extras after the columns are ::text copies of key columns */
                static const pg_col text_col = {.dec = PGD_TEXT};
                const pg_col *pc = dst < ncols ? &pt->cols[dst] : &text_col;
                int rc = pg_decode_field(pc, p, flen, &row->vals[dst], &b->mem);
                if (rc == -1)
                    return source_fail(err, SRC_E_NOMEM, "out of memory reading %s (a %d-byte "
                                       "value)", rd->label, (int)flen);
                if (rc)
                    goto malformed;
            }
            p += flen;
        }
        /* PostgreSQL sends one tuple per message; a next one in the same
         * message would be read by the next turn of the loop */
        rd->msg_off = (int)(p - (const uint8_t *)rd->msg);
        if (tb->uses_rowid && pt->relkind == 'v') {
            rowid = ++rd->ordinal;
            row->pos = rowid;
            row->vals[0].kind = SV_INT;
            row->vals[0].u.i = rowid;
        } else if (tb->uses_rowid) {
            rowid = (int64_t)block << 16 | lp;
            if (pt->relkind == 'p') {
                int lo = 0, hi = pt->nleaves - 1, idx = -1;
                while (lo <= hi) {
                    int mid = (lo + hi) / 2;
                    if (pt->leaves[mid] == tableoid) {
                        idx = mid;
                        break;
                    }
                    if (pt->leaves[mid] < tableoid)
                        lo = mid + 1;
                    else
                        hi = mid - 1;
                }
                if (idx < 0) {
                    rd->broken = 1;
                    return source_fail(err, SRC_E_READ,
                                       "reading %s: a partition was attached after the schema "
                                       "was read; run again",
                                       rd->label);
                }
                rowid |= (int64_t)idx << 48;
            }
            {
                /* resume points rely on physical order (a TID range scan,
                 * leaf after leaf for a partitioned table) */
                if (rowid <= rd->last_rowid) {
                    rd->broken = 1;
                    return source_fail(err, SRC_E_READ,
                                       "reading %s: rows arrived out of physical order, so the "
                                       "range cannot be resumed safely",
                                       rd->label);
                }
                rd->last_rowid = rowid;
            }
            row->pos = rowid;
            row->vals[0].kind = SV_INT;
            row->vals[0].u.i = rowid;
        } else if (pt->key_int) {
            row->pos = row->vals[pt->key[0]].u.i;   /* the key names the row */
        } else {
            row->pos = ++rd->ordinal;
        }
    }
    if (b->n > 0 && set_resume(rd, b, rowid))
        return source_fail(err, SRC_E_NOMEM, "out of memory reading %s", rd->label);
    return b->n;
malformed:
    rd->broken = 1;
    return source_fail(err, SRC_E_READ,
                       "reading %s from PostgreSQL %s: malformed binary COPY data (this is a "
                       "bug: please report it with the table's definition)",
                       rd->label, s->red);
}

void pg_close_range(source_reader *rd)
{
    if (!rd)
        return;
    if (rd->msg)
        PQfreemem(rd->msg);
    /* a connection in the middle of a COPY, or whose transaction failed,
     * is dropped: its slot reconnects to the snapshot when next used */
    release_conn(rd, !rd->in_copy && !rd->broken);
    free(rd->fdst);
    free(rd);
}
