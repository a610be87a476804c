/* The PostgreSQL source connector (libpq).
 *
 * Connections: one coordinator, opened with the source, reads the catalogs
 * (pg_catalog.c), splits tables into ranges and counts them. Ranges are read
 * with binary COPY (pg_copy.c) on reader connections.
 *
 * One snapshot for every worker, as pg_dump does it: snapshot_begin starts
 * a REPEATABLE READ, READ ONLY transaction on the coordinator, exports its
 * snapshot (pg_export_snapshot) and notes the WAL position, then opens one
 * reader per worker, each of which imports that snapshot (SET TRANSACTION
 * SNAPSHOT) in its own REPEATABLE READ transaction. The coordinator's
 * transaction stays open until close: the snapshot can be imported only
 * while its exporter lives (a reader whose range was abandoned reconnects
 * and imports it again), and split and count run in it, so counts are those
 * of the snapshot. The coordinator also holds ACCESS SHARE locks on the
 * tables it copies, so a concurrent TRUNCATE or ALTER TABLE waits for the
 * copy instead of pulling the rows from under an old snapshot.
 *
 * Change capture (a later issue) will take the snapshot differently: a
 * replication connection (replication=database) runs
 *   CREATE_REPLICATION_SLOT slot LOGICAL pgoutput (SNAPSHOT 'export')
 * which returns the slot's consistent_point and a snapshot name valid until
 * that connection's next command. That name goes to the same readers
 * (attach_snapshot below takes any snapshot name), and the
 * consistent_point replaces pg_current_wal_lsn() as the position: the copy
 * then holds exactly the rows from before the slot, and the stream brings
 * every change after it.
 *
 * Without snapshot_begin each range is read on a connection of its own, in
 * the snapshot of its one COPY statement.
 *
 * Ranges (split):
 * - a primary key: keyset ranges (lo, hi] over the key tuple, in key order;
 *   the first is open below and the last open above (rows added after the
 *   split are inside the last range, so count_beyond is always 0). Bounds and
 *   resume points encode the key as each column's text form (pg_key_append).
 *   One integer column: min/max divided evenly; other keys: quantiles of a
 *   TABLESAMPLE sample. The expected counts of all ranges come from one scan
 *   (pg_count_ranges): where the key order is not the physical order (a
 *   random uuid key) each range's own count would read every page.
 * - no primary key: ranges of ctid blocks (a TID range scan, PostgreSQL 14+),
 *   and the synthetic rowid column is (block << 16 | line pointer), unique
 *   per physical row, so duplicate rows are never merged. The resume point is
 *   the last rowid read: exact when the table did not change between the
 *   runs. An UPDATE moves a row to a new ctid, so rows changed between a
 *   crash and --resume can land twice (the old and the new version) or be
 *   missed: a table without a key cannot be resumed exactly while it is
 *   written. A partitioned table without a key is one range whose rowid also
 *   carries the leaf partition's index; it reads the leaves one after the
 *   other (pg_copy.c), so its resume point is the last rowid too.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "source/pg_int.h"
#include "util/buf.h"

/* ---- connections ---- */

/* The last FATAL or ERROR the server sent this thread outside a result: a
 * connection ended by the server (pg_terminate_backend, shutdown) says why
 * in such a message, and then libpq only reports that it was closed. */
static _Thread_local char last_fatal[300];

/* libpq prints notices on stderr by default: keep the fatal ones for the
 * error message instead, drop the rest (NOTICE, WARNING). */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    if (!strncmp(message, "FATAL", 5) || !strncmp(message, "ERROR", 5) ||
        !strncmp(message, "PANIC", 5))
        snprintf(last_fatal, sizeof last_fatal, "%s", message);
}

void pg_notice_reset(void) { last_fatal[0] = 0; }

void pg_conn_reason(PGconn *c, char *out, size_t n)
{
    const char *m = c ? PQerrorMessage(c) : "out of memory";
    char both[800];
    if (c && last_fatal[0] && strstr(m, "server closed the connection")) {
        snprintf(both, sizeof both, "%s (the server closed the connection)", last_fatal);
        m = both;
    }
    size_t o = 0;
    int space = 0;
    for (const char *p = m; *p && o + 3 < n; p++) {
        char ch = *p;
        if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
            space = 1;
            continue;
        }
        if (space && o > 0)
            out[o++] = ' ';
        space = 0;
        out[o++] = ch;
    }
    out[o] = 0;
    if (o == 0)
        snprintf(out, n, "unknown error");
}

/* What to do about a connection failure, from libpq's reason. */
static const char *connect_hint(const char *reason)
{
    if (strstr(reason, "password authentication failed"))
        return "check the password: cqlshift takes it from PGPASSWORD, ~/.pgpass or the "
               "service file, never from the command line";
    if (strstr(reason, "no password supplied"))
        return "the server asks for a password: put it in ~/.pgpass (or PGPASSWORD), not in "
               "the URI";
    if (strstr(reason, "database") && strstr(reason, "does not exist"))
        return "check the database name at the end of the URI";
    if (strstr(reason, "role") && strstr(reason, "does not exist"))
        return "check the user name in the URI";
    if (strstr(reason, "certificate") || strstr(reason, "SSL"))
        return "the server's certificate is not trusted or TLS failed: give its CA with "
               "sslrootcert=FILE in the URI (or ~/.postgresql/root.crt), or check sslmode";
    if (strstr(reason, "Connection refused") || strstr(reason, "could not translate host"))
        return "is the server running, and are the host and port right?";
    if (strstr(reason, "too many clients") || strstr(reason, "remaining connection slots"))
        return "the server has no connection to spare: lower --workers (one connection each, "
               "plus one) or raise its max_connections";
    if (strstr(reason, "pg_hba.conf"))
        return "the server does not let this user in from here: see its pg_hba.conf";
    return "check the URI and the server";
}

/* Settings every connection gets: values arrive in one known form (binary
 * COPY does not depend on them, but key bounds travel as text), and a query
 * that row-level security would filter fails instead of returning part of
 * a table (describe skips such tables with a note). */
static const char *const SESSION_SQL =
    "SET client_encoding = 'UTF8'; SET DateStyle = 'ISO, YMD'; "
    "SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET TimeZone = 'UTC'; "
    "SET bytea_output = 'hex'; SET synchronize_seqscans = off; "
    "SET max_parallel_workers_per_gather = 0; SET statement_timeout = 0; "
    "SET row_security = off; "
    "SET idle_in_transaction_session_timeout = 0";

PGconn *pg_connect(pg_source *s, source_error *err)
{
    /* connect_timeout comes before the URI so that the URI's own wins */
    const char *const keys[] = {"connect_timeout", "dbname", "fallback_application_name", NULL};
    const char *const vals[] = {"30", s->uri, "cqlshift", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    char reason[400];
    if (!c || PQstatus(c) != CONNECTION_OK) {
        pg_conn_reason(c, reason, sizeof reason);
        source_fail(err, SRC_E_OPEN, "cannot connect to PostgreSQL %s: %s (%s)", s->red, reason,
                    connect_hint(reason));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, on_notice, NULL);
    last_fatal[0] = 0;
    PGresult *r = PQexec(c, SESSION_SQL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pg_conn_reason(c, reason, sizeof reason);
        source_fail(err, SRC_E_OPEN, "cannot set up the session on PostgreSQL %s: %s", s->red,
                    reason);
        PQclear(r);
        PQfinish(c);
        return NULL;
    }
    PQclear(r);
    return c;
}

PGresult *pg_exec(pg_source *s, PGconn *c, const char *sql, ExecStatusType want, const char *what,
                  source_error *err)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) == want)
        return r;
    char reason[400];
    pg_conn_reason(c, reason, sizeof reason);
    source_fail(err, SRC_E_READ, "%s on PostgreSQL %s: %s", what, s->red, reason);
    PQclear(r);
    return NULL;
}

char *pg_ident(PGconn *c, const char *name)
{
    char *q = PQescapeIdentifier(c, name, strlen(name));
    if (!q)
        return NULL;
    char *out = strdup(q);
    PQfreemem(q);
    return out;
}

/* ---- key encoding ---- */

int pg_key_append(src_pos *p, const char *text, size_t n)
{
    if (n > UINT32_MAX)
        return -1;
    size_t at = p->n;
    if (at + 4 + n > p->cap) {
        size_t cap = p->cap ? p->cap : 32;
        while (cap < at + 4 + n)
            cap *= 2;
        uint8_t *np = realloc(p->p, cap);
        if (!np)
            return -1;
        p->p = np;
        p->cap = cap;
    }
    cs_put_be32(p->p + at, (uint32_t)n);
    if (n)
        memcpy(p->p + at + 4, text, n);
    p->n = at + 4 + n;
    return 0;
}

int pg_key_get(const src_pos *p, int k, const char **text, size_t *n)
{
    size_t at = 0;
    for (int i = 0;; i++) {
        if (at + 4 > p->n)
            return -1;
        size_t len = cs_be32(p->p + at);
        if (len > p->n - at - 4)
            return -1;
        if (i == k) {
            *text = (const char *)p->p + at + 4;
            *n = len;
            return 0;
        }
        at += 4 + len;
    }
}

/* ---- range conditions ---- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    PG_ASSERT(n >= 0 && (size_t)n < sizeof tmp);
    sb_add(b, tmp, (size_t)n);
}

/* "(k1, k2) OP (lit1::t1, lit2::t2)" for an encoded key; -1 if the key does
 * not decode (a resume point from another table shape) or out of memory. */
static int key_compare(sbuf *b, PGconn *c, const pg_table *pt, const source_table *tb,
                       const char *op, const src_pos *key)
{
    sb_str(b, "(");
    sb_str(b, pt->key_list);
    sb_str(b, ") ");
    sb_str(b, op);
    sb_str(b, " (");
    for (int k = 0; k < tb->npk; k++) {
        const char *t;
        size_t n;
        if (pg_key_get(key, k, &t, &n))
            return -1;
        char *lit = PQescapeLiteral(c, t, n);
        if (!lit)
            return -1;
        if (k)
            sb_str(b, ", ");
        sb_str(b, lit);
        PQfreemem(lit);
        sb_str(b, "::");
        sb_str(b, pt->cols[pt->key[k]].type_sql);
    }
    sb_str(b, ")");
    return b->oom ? -1 : 0;
}

char *pg_range_cond(pg_source *s, PGconn *c, const source_range *r, const src_pos *after,
                    source_error *err)
{
    const source_table *tb = &s->schema.tables[r->table];
    const pg_table *pt = &s->tables[r->table];
    sbuf b = {0};
    sb_str(&b, "true");
    if (tb->uses_rowid) {
        if (pt->relkind == 'p' || pt->relkind == 'v') {
            /* one range: pg_open_range reads it leaf by leaf, or a view
             * whole (after a resume point: OFFSET) */
        } else {
            int64_t v;
            if (after && after->n) {
                if (src_pos_get_i64(after, 0, &v))
                    goto bad;
                sb_printf(&b, " AND ctid > '(%" PRId64 ",%" PRId64 ")'::tid", v >> 16, v & 0xffff);
            } else if (r->lo.n) {
                if (src_pos_get_i64(&r->lo, 0, &v))
                    goto bad;
                sb_printf(&b, " AND ctid >= '(%" PRId64 ",0)'::tid", v >> 16);
            }
            if (r->hi.n) {
                if (src_pos_get_i64(&r->hi, 0, &v))
                    goto bad;
                sb_printf(&b, " AND ctid < '(%" PRId64 ",0)'::tid", v >> 16);
            }
        }
    } else {
        const src_pos *lo = after && after->n ? after : r->lo.n ? &r->lo : NULL;
        if (lo) {
            sb_str(&b, " AND ");
            if (key_compare(&b, c, pt, tb, ">", lo))
                goto bad;
        }
        if (r->hi.n) {
            sb_str(&b, " AND ");
            if (key_compare(&b, c, pt, tb, "<=", &r->hi))
                goto bad;
        }
    }
    if (b.oom) {
        free(b.p);
        source_fail(err, SRC_E_NOMEM, "out of memory");
        return NULL;
    }
    return b.p;
bad:
    free(b.p);
    source_fail(err, SRC_E_READ,
                "%s: the range bounds or resume point do not fit the table's key (did its "
                "primary key change since the job started? start over with --restart)",
                r->label);
    return NULL;
}

/* ---- split ---- */

static void range_label(source_range *r, const char *table, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void range_label(source_range *r, const char *table, const char *fmt, ...)
{
    char tail[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof tail, fmt, ap);
    va_end(ap);
    snprintf(r->label, sizeof r->label, "%s %s", table, tail);
}

/* Text of an encoded key for a label: "v" or "(v1, v2)", shortened. */
static void key_text(const src_pos *p, int npk, char *out, size_t n)
{
    size_t o = 0;
    out[0] = 0;
    if (npk > 1 && o + 1 < n)
        out[o++] = '(';
    for (int k = 0; k < npk; k++) {
        const char *t;
        size_t len;
        if (pg_key_get(p, k, &t, &len))
            break;
        if (len > 40)
            len = 40;
        int w = snprintf(out + o, n - o, "%s%.*s", k ? ", " : "", (int)len, t);
        if (w < 0 || (size_t)w >= n - o) {
            o = n - 1;
            break;
        }
        o += (size_t)w;
    }
    if (npk > 1 && o + 1 < n)
        out[o++] = ')';
    out[o < n ? o : n - 1] = 0;
}

/* Key ranges from sorted boundaries bounds[0..nb-1]: nb + 1 ranges. */
static int key_ranges(pg_source *s, int t, src_pos *bounds, int nb, source_range **out, int *n,
                      source_error *err)
{
    const source_table *tb = &s->schema.tables[t];
    source_range *r = calloc((size_t)nb + 1, sizeof *r);
    if (!r)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    char klist[128];
    snprintf(klist, sizeof klist, "%s%s%s", tb->npk > 1 ? "(" : "", s->tables[t].key_list,
             tb->npk > 1 ? ")" : "");
    for (int i = 0; i <= nb; i++) {
        r[i].table = t;
        r[i].id = i;
        if ((i > 0 && src_pos_set(&r[i].lo, bounds[i - 1].p, bounds[i - 1].n)) ||
            (i < nb && src_pos_set(&r[i].hi, bounds[i].p, bounds[i].n))) {
            source_ranges_free(r, nb + 1);
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        }
        char lo[100], hi[100];
        key_text(&r[i].lo, tb->npk, lo, sizeof lo);
        key_text(&r[i].hi, tb->npk, hi, sizeof hi);
        if (nb == 0)
            range_label(&r[i], tb->name, "(all rows)");
        else if (i == 0)
            range_label(&r[i], tb->name, "%s <= %s", klist, hi);
        else if (i == nb)
            range_label(&r[i], tb->name, "%s > %s", klist, lo);
        else
            range_label(&r[i], tb->name, "%s > %s and <= %s", klist, lo, hi);
    }
    *out = r;
    *n = nb + 1;
    return 0;
}

/* One integer key: min and max, and the span divided evenly. */
static int split_int(pg_source *s, int t, int max_ranges, src_pos **bounds, int *nb,
                     source_error *err)
{
    const pg_table *pt = &s->tables[t];
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT min(%s)::int8, max(%s)::int8 FROM %s%s", pt->key_list,
             pt->key_list, pt->only, pt->qname);
    PGresult *res = pg_exec(s, s->coord, sql, PGRES_TUPLES_OK, "cannot read the key bounds", err);
    if (!res)
        return -1;
    *nb = 0;
    *bounds = NULL;
    if (PQgetisnull(res, 0, 0) || max_ranges < 2) {
        PQclear(res);
        return 0;
    }
    int64_t lo = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    int64_t hi = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    /* offset space (x ^ 2^63 orders int64 as unsigned): no overflow */
    const uint64_t flip = UINT64_C(1) << 63;
    uint64_t width = ((uint64_t)hi ^ flip) - ((uint64_t)lo ^ flip);
    uint64_t nr = (uint64_t)max_ranges;
    if (width + 1 != 0 && nr > width + 1)
        nr = width + 1;
    uint64_t step = width / nr + 1;
    src_pos *b = calloc((size_t)nr, sizeof *b);
    if (!b)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    int n = 0;
    for (uint64_t i = 1; i < nr; i++) {
        uint64_t off = step * i;
        if (off > width)
            break;
        int64_t v = (int64_t)((((uint64_t)lo ^ flip) + off - 1) ^ flip);
        char txt[32];
        int len = snprintf(txt, sizeof txt, "%" PRId64, v);
        if (pg_key_append(&b[n], txt, (size_t)len)) {
            for (int k = 0; k <= n; k++)
                src_pos_free(&b[k]);
            free(b);
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        }
        n++;
    }
    *bounds = b;
    *nb = n;
    return 0;
}

/* Other keys: boundaries at even quantiles of a sample of the keys, taken
 * and ranked by the server (only the boundaries travel). */
static int split_sample(pg_source *s, int t, int max_ranges, src_pos **bounds, int *nb,
                        source_error *err)
{
    const source_table *tb = &s->schema.tables[t];
    const pg_table *pt = &s->tables[t];
    *bounds = NULL;
    *nb = 0;
    if (max_ranges < 2)
        return 0;
    /* about 500 sampled keys per range */
    double want = 500.0 * max_ranges;
    double pct = tb->row_estimate > 0 ? 100.0 * want / (double)tb->row_estimate : 100.0;
    if (pct > 100.0 || tb->row_estimate < 0)
        pct = 100.0;
    if (pct < 0.0001)
        pct = 0.0001;
    sbuf q = {0};
    sb_str(&q, "SELECT ");
    for (int k = 0; k < tb->npk; k++)
        sb_printf(&q, "%sk%d::text", k ? ", " : "", k);
    sb_str(&q, " FROM (SELECT ");
    for (int k = 0; k < tb->npk; k++) {
        char *id = pg_ident(s->coord, tb->cols[pt->key[k]].name);
        if (!id) {
            free(q.p);
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        }
        sb_str(&q, k ? ", " : "");
        sb_str(&q, id);
        sb_printf(&q, " AS k%d", k);
        free(id);
    }
    sb_str(&q, ", row_number() OVER (ORDER BY ");
    sb_str(&q, pt->key_list);
    sb_str(&q, ") AS rn, count(*) OVER () AS c FROM ");
    sb_str(&q, pt->only);
    sb_str(&q, pt->qname);
    if (pct < 100.0)
        sb_printf(&q, " TABLESAMPLE SYSTEM (%.6f)", pct);
    sb_printf(&q, ") s WHERE rn < c AND (rn * %d) / c > ((rn - 1) * %d) / c ORDER BY rn",
              max_ranges, max_ranges);
    if (q.oom) {
        free(q.p);
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    }
    PGresult *res = pg_exec(s, s->coord, q.p, PGRES_TUPLES_OK, "cannot sample the keys", err);
    free(q.p);
    if (!res)
        return -1;
    int rows = PQntuples(res);
    src_pos *b = calloc((size_t)rows + 1, sizeof *b);
    if (!b) {
        PQclear(res);
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    }
    int n = 0;
    for (int i = 0; i < rows; i++) {
        for (int k = 0; k < tb->npk; k++)
            if (pg_key_append(&b[n], PQgetvalue(res, i, k), (size_t)PQgetlength(res, i, k))) {
                for (int j = 0; j <= n; j++)
                    src_pos_free(&b[j]);
                free(b);
                PQclear(res);
                return source_fail(err, SRC_E_NOMEM, "out of memory");
            }
        /* the sample is ordered and the key unique: drop repeats anyway */
        if (n > 0 && b[n].n == b[n - 1].n && !memcmp(b[n].p, b[n - 1].p, b[n].n))
            src_pos_clear(&b[n]);
        else
            n++;
    }
    src_pos_free(&b[n]);
    PQclear(res);
    *bounds = b;
    *nb = n;
    return 0;
}

/* No key: ranges of heap blocks; the rowid is (block << 16 | line pointer). */
static int split_ctid(pg_source *s, int t, int max_ranges, source_range **out, int *n,
                      source_error *err)
{
    const source_table *tb = &s->schema.tables[t];
    const pg_table *pt = &s->tables[t];
    int64_t blocks = 0;
    if ((pt->relkind == 'r' || pt->relkind == 'm') && max_ranges > 1) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "SELECT pg_relation_size(%u) / current_setting('block_size')::int8", pt->oid);
        PGresult *res =
            pg_exec(s, s->coord, sql, PGRES_TUPLES_OK, "cannot read the table's size", err);
        if (!res)
            return -1;
        blocks = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
    }
    int nr = blocks < max_ranges ? (int)(blocks > 0 ? blocks : 1) : max_ranges;
    if (pt->relkind == 'p' || pt->relkind == 'v' || nr < 1)
        nr = 1;
    int64_t step = nr > 1 ? (blocks + nr - 1) / nr : 0;
    source_range *r = calloc((size_t)nr, sizeof *r);
    if (!r)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    for (int i = 0; i < nr; i++) {
        r[i].table = t;
        r[i].id = i;
        if ((i > 0 && src_pos_set_i64(&r[i].lo, (step * i) << 16)) ||
            (i < nr - 1 && src_pos_set_i64(&r[i].hi, (step * (i + 1)) << 16))) {
            source_ranges_free(r, nr);
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        }
        if (pt->relkind == 'p')
            range_label(&r[i], tb->name, "(partitioned, no primary key: one range)");
        else if (pt->relkind == 'v')
            range_label(&r[i], tb->name, "(a view: one range)");
        else if (nr == 1)
            range_label(&r[i], tb->name, "(all rows)");
        else if (i == 0)
            range_label(&r[i], tb->name, "blocks < %" PRId64, step);
        else if (i == nr - 1)
            range_label(&r[i], tb->name, "blocks >= %" PRId64, step * i);
        else
            range_label(&r[i], tb->name, "blocks %" PRId64 "..%" PRId64, step * i,
                        step * (i + 1) - 1);
    }
    *out = r;
    *n = nr;
    return 0;
}

static int pg_split(source *base, int t, int max_ranges, source_range **out, int *n,
                    source_error *err)
{
    pg_source *s = (pg_source *)base;
    *out = NULL;
    *n = 0;
    if (!s->described || t < 0 || t >= s->schema.ntables)
        return source_fail(err, SRC_E_USAGE, "split: unknown table %d (describe first)", t);
    if (max_ranges < 1)
        max_ranges = 1;
    const source_table *tb = &s->schema.tables[t];
    if (tb->query) {   /* one range, read whole */
        source_range *r = calloc(1, sizeof *r);
        if (!r)
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        r->table = t;
        snprintf(r->label, sizeof r->label, "%s (one range)", tb->name);
        *out = r;
        *n = 1;
        return 0;
    }
    pthread_mutex_lock(&s->coord_mu);
    int rc;
    if (tb->uses_rowid) {
        rc = split_ctid(s, t, max_ranges, out, n, err);
    } else {
        src_pos *bounds = NULL;
        int nb = 0;
        rc = s->tables[t].key_int ? split_int(s, t, max_ranges, &bounds, &nb, err)
                                  : split_sample(s, t, max_ranges, &bounds, &nb, err);
        if (rc == 0)
            rc = key_ranges(s, t, bounds, nb, out, n, err);
        for (int i = 0; i < nb; i++)
            src_pos_free(&bounds[i]);
        free(bounds);
    }
    pthread_mutex_unlock(&s->coord_mu);
    if (rc == 0)
        PG_ASSERT(*n >= 1 && *n <= max_ranges);
    return rc;
}

/* ---- counts ---- */

static int64_t pg_count_range(source *base, const source_range *r, source_error *err)
{
    pg_source *s = (pg_source *)base;
    if (!s->described || r->table < 0 || r->table >= s->schema.ntables) {
        source_fail(err, SRC_E_USAGE, "count: unknown table %d (describe first)", r->table);
        return -1;
    }
    const pg_table *pt = &s->tables[r->table];
    pthread_mutex_lock(&s->coord_mu);
    int64_t n = -1;
    if (pt->count_sql) {
        PGresult *res = pg_exec(s, s->coord, pt->count_sql, PGRES_TUPLES_OK,
                                "cannot count the rows of the query", err);
        if (res) {
            n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            PQclear(res);
        }
        pthread_mutex_unlock(&s->coord_mu);
        return n;
    }
    char *cond = pg_range_cond(s, s->coord, r, NULL, err);
    if (cond) {
        sbuf q = {0};
        sb_str(&q, "SELECT count(*) FROM ");
        sb_str(&q, pt->only);
        sb_str(&q, pt->qname);
        sb_str(&q, " WHERE ");
        sb_str(&q, cond);
        if (q.oom) {
            source_fail(err, SRC_E_NOMEM, "out of memory");
        } else {
            PGresult *res = pg_exec(s, s->coord, q.p, PGRES_TUPLES_OK, "cannot count the rows", err);
            if (res) {
                n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
                PQclear(res);
            }
        }
        free(q.p);
        free(cond);
    }
    pthread_mutex_unlock(&s->coord_mu);
    return n;
}

/* All ranges of one table in one scan: a range per row by its condition,
 * then a count per range (n separate counts would read a table whose key
 * order is not its physical order n times). */
static int pg_count_ranges(source *base, const source_range *r, int n, int64_t *counts,
                           source_error *err)
{
    pg_source *s = (pg_source *)base;
    for (int i = 0; i < n; i++)
        counts[i] = 0;
    if (n < 1)
        return 0;
    if (!s->described || r[0].table < 0 || r[0].table >= s->schema.ntables)
        return source_fail(err, SRC_E_USAGE, "count: unknown table %d (describe first)",
                           r[0].table);
    const pg_table *pt = &s->tables[r[0].table];
    if (pt->count_sql || n == 1) {
        for (int i = 0; i < n; i++)
            if ((counts[i] = pg_count_range(base, &r[i], err)) < 0)
                return -1;
        return 0;
    }
    pthread_mutex_lock(&s->coord_mu);
    sbuf q = {0};
    int rc = -1;
    sb_str(&q, "SELECT cqlshift_r, count(*) FROM (SELECT CASE");
    for (int i = 0; i < n; i++) {
        PG_ASSERT(r[i].table == r[0].table);
        char *cond = pg_range_cond(s, s->coord, &r[i], NULL, err);
        if (!cond)
            goto out;
        sb_str(&q, " WHEN ");
        sb_str(&q, cond);
        sb_printf(&q, " THEN %d", i);
        free(cond);
    }
    sb_str(&q, " END AS cqlshift_r FROM ");
    sb_str(&q, pt->only);
    sb_str(&q, pt->qname);
    sb_str(&q, ") cqlshift_s GROUP BY 1");
    if (q.oom) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto out;
    }
    PGresult *res = pg_exec(s, s->coord, q.p, PGRES_TUPLES_OK, "cannot count the rows", err);
    if (!res)
        goto out;
    for (int k = 0; k < PQntuples(res); k++) {
        if (PQgetisnull(res, k, 0))
            continue;   /* in no range: cannot be, the last range is open */
        long i = strtol(PQgetvalue(res, k, 0), NULL, 10);
        PG_ASSERT(i >= 0 && i < n);
        counts[i] = strtoll(PQgetvalue(res, k, 1), NULL, 10);
    }
    PQclear(res);
    rc = 0;
out:
    free(q.p);
    pthread_mutex_unlock(&s->coord_mu);
    return rc;
}

/* Every table's last range is open above: rows added later are inside it
 * (and invisible to the snapshot). */
static int64_t pg_count_beyond(source *base, const source_range *last, source_error *err)
{
    (void)base;
    (void)last;
    (void)err;
    return 0;
}

/* ---- snapshot ---- */

/* Start a REPEATABLE READ, READ ONLY transaction on c that reads in the
 * exported snapshot `name`. */
static int attach_snapshot(pg_source *s, PGconn *c, const char *name, source_error *err)
{
    char *lit = PQescapeLiteral(c, name, strlen(name));
    if (!lit)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    char sql[300];
    snprintf(sql, sizeof sql,
             "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT %s",
             lit);
    PQfreemem(lit);
    PGresult *r = pg_exec(s, c, sql, PGRES_COMMAND_OK, "cannot attach a reader to the snapshot", err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/* The described tables that are tables (not queries). */
static int real_tables(const pg_source *s)
{
    int n = 0;
    for (int t = 0; t < s->schema.ntables; t++)
        n += s->tables[t].qname != NULL;
    return n;
}

/* "LOCK TABLE every described table and view IN ACCESS SHARE MODE
 * [NOWAIT]" (matview 0), or "SELECT FROM every described materialized view
 * LIMIT 0" (matview 1: LOCK TABLE refuses them, and reading takes the same
 * lock, held to the end of the transaction); malloc'd, "" when there is no
 * such relation, NULL when out of memory. */
static char *lock_sql(pg_source *s, int nowait, int matview)
{
    sbuf q = {0};
    sb_str(&q, "");
    for (int t = 0, k = 0; t < s->schema.ntables; t++) {
        if (!s->tables[t].qname || (s->tables[t].relkind == 'm') != matview)
            continue;   /* a query, or the other kind */
        sb_str(&q, k++ ? ", " : matview ? "SELECT FROM " : "LOCK TABLE ");
        sb_str(&q, s->tables[t].only);
        sb_str(&q, s->tables[t].qname);
    }
    if (q.p[0])
        sb_str(&q, matview ? " LIMIT 0" : nowait ? " IN ACCESS SHARE MODE NOWAIT"
                                                 : " IN ACCESS SHARE MODE");
    if (q.oom) {
        free(q.p);
        return NULL;
    }
    return q.p;
}

/* Run the lock statements of lock_sql on c; a reader (nowait) waits at
 * most a second for a materialized view's lock. 0, or -1 with c's reason
 * in reason. */
static int take_locks(pg_source *s, PGconn *c, int nowait, char *reason, size_t n)
{
    for (int m = 0; m < 2; m++) {
        char *sql = lock_sql(s, nowait, m);
        if (!sql) {
            snprintf(reason, n, "out of memory");
            return -1;
        }
        if (!sql[0]) {
            free(sql);
            continue;
        }
        int ok = 1;
        if (m && nowait) {
            PGresult *t = PQexec(c, "SET LOCAL lock_timeout = '1s'");
            ok = PQresultStatus(t) == PGRES_COMMAND_OK;
            PQclear(t);
        }
        if (ok) {
            PGresult *r = PQexec(c, sql);
            ok = PQresultStatus(r) == (m ? PGRES_TUPLES_OK : PGRES_COMMAND_OK);
            PQclear(r);
        }
        if (ok && m && nowait) {
            PGresult *t = PQexec(c, "RESET lock_timeout");
            ok = PQresultStatus(t) == PGRES_COMMAND_OK;
            PQclear(t);
        }
        free(sql);
        if (!ok) {
            pg_conn_reason(c, reason, n);
            return -1;
        }
    }
    return 0;
}

/* A reader takes its own ACCESS SHARE locks as soon as it attaches: once
 * the coordinator holds the tables, an ALTER TABLE, TRUNCATE or VACUUM
 * FULL waits for the end of the copy, and a reader that asked for a lock
 * only at its first COPY would queue behind that waiting request: each
 * waits for the other, forever. NOWAIT turns that into an error (as
 * pg_dump's workers do). */
static int lock_reader(pg_source *s, PGconn *c, source_error *err)
{
    if (!s->described || real_tables(s) == 0)
        return 0;
    char reason[400];
    if (!take_locks(s, c, 1, reason, sizeof reason))
        return 0;
    return source_fail(err, SRC_E_READ,
                       "a reader cannot lock the tables to copy on PostgreSQL %s: %s (another "
                       "session waits for an exclusive lock on one of them: an ALTER TABLE, "
                       "TRUNCATE or VACUUM FULL, which would otherwise wait for the copy while "
                       "the copy waits for it; run again once it is done)",
                       s->red, reason);
}

PGconn *pg_snapshot_reader(pg_source *s, source_error *err)
{
    PGconn *c = pg_connect(s, err);
    if (c && (attach_snapshot(s, c, s->snapshot, err) || lock_reader(s, c, err))) {
        PQfinish(c);
        c = NULL;
    }
    return c;
}

/* Once locked, the tables must be as described and as the snapshot sees
 * them: a TRUNCATE or a rewriting ALTER TABLE / VACUUM FULL that held a
 * table while the snapshot was taken and committed before the lock was
 * granted gave the table a new file, which the older snapshot sees empty
 * (such commands are not MVCC-safe); a column changed between describe and
 * the snapshot would be decoded with the wrong type. Either stops the run. */
static int check_unchanged(pg_source *s, source_error *err)
{
    sbuf q = {0};
    sb_str(&q, "SELECT string_agg(DISTINCT format('%I.%I', n.nspname, c.relname), ', ') FROM "
               "(SELECT o FROM unnest('{");
    for (int t = 0; t < s->schema.ntables; t++)
        sb_printf(&q, "%s%u", t ? "," : "", s->tables[t].oid);
    sb_str(&q, "}'::oid[]) o UNION SELECT t.relid FROM unnest('{");
    for (int t = 0; t < s->schema.ntables; t++)
        sb_printf(&q, "%s%u", t ? "," : "", s->tables[t].oid);
    sb_str(&q, "}'::oid[]) o, pg_partition_tree(o) t) r(o) JOIN pg_class c ON c.oid = r.o JOIN "
               "pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') AND "
               "pg_relation_filenode(c.oid) IS DISTINCT FROM c.relfilenode");
    if (q.oom) {
        free(q.p);
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    }
    PGresult *r = pg_exec(s, s->coord, q.p, PGRES_TUPLES_OK, "cannot check the tables", err);
    free(q.p);
    if (!r)
        return -1;
    if (!PQgetisnull(r, 0, 0)) {
        source_fail(err, SRC_E_READ,
                    "%s on PostgreSQL %s %s rewritten (TRUNCATE, ALTER TABLE, VACUUM FULL or "
                    "REFRESH MATERIALIZED VIEW) "
                    "just as the copy started, so its snapshot would see %s empty; run again",
                    PQgetvalue(r, 0, 0), s->red, strchr(PQgetvalue(r, 0, 0), ',') ? "were" : "was",
                    strchr(PQgetvalue(r, 0, 0), ',') ? "them" : "it");
        PQclear(r);
        return -1;
    }
    PQclear(r);
    for (int t = 0; t < s->schema.ntables; t++) {
        if (!s->tables[t].qname)
            continue;   /* a query */
        char oid[16];
        snprintf(oid, sizeof oid, "%u", s->tables[t].oid);
        const char *vals[1] = {oid};
        r = PQexecParams(s->coord,
                         "SELECT coalesce(string_agg(attname || chr(31) || atttypid || chr(31) || "
                         "atttypmod, chr(30) ORDER BY attnum), '') FROM pg_attribute WHERE "
                         "attrelid = $1 AND attnum > 0 AND NOT attisdropped",
                         1, NULL, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            char reason[400];
            pg_conn_reason(s->coord, reason, sizeof reason);
            PQclear(r);
            return source_fail(err, SRC_E_READ, "cannot check the columns of %s on PostgreSQL "
                               "%s: %s", s->schema.tables[t].name, s->red, reason);
        }
        int same = s->tables[t].colsig && !strcmp(PQgetvalue(r, 0, 0), s->tables[t].colsig);
        PQclear(r);
        if (!same)
            return source_fail(err, SRC_E_READ,
                               "the columns of %s on PostgreSQL %s changed (ALTER TABLE) after "
                               "the schema was read; run again",
                               s->schema.tables[t].name, s->red);
    }
    return 0;
}

/* Lock the described tables (ACCESS SHARE) in the coordinator's snapshot
 * transaction: a TRUNCATE or ALTER waits for the copy. */
static int lock_tables(pg_source *s, source_error *err)
{
    if (!s->described || !s->in_snapshot || real_tables(s) == 0)
        return 0;
    /* a table held by a long ALTER would otherwise block the start forever */
    PGresult *lt = pg_exec(s, s->coord, "SET LOCAL lock_timeout = '60s'", PGRES_COMMAND_OK,
                           "cannot set lock_timeout", err);
    if (!lt)
        return -1;
    PQclear(lt);
    char reason[400];
    if (take_locks(s, s->coord, 0, reason, sizeof reason))
        return source_fail(err, SRC_E_READ,
                           "cannot take ACCESS SHARE locks on the tables to copy on PostgreSQL "
                           "%s (another session holds an exclusive lock: an ALTER TABLE, "
                           "TRUNCATE, VACUUM FULL or REFRESH MATERIALIZED VIEW?): %s",
                           s->red, reason);
    if (check_unchanged(s, err))
        return -1;
    /* readers attached before describe lock now (they are idle) */
    for (int i = 0; i < s->nslots; i++)
        if (s->slots[i].conn && lock_reader(s, s->slots[i].conn, err))
            return -1;
    return 0;
}

int pg_after_describe(pg_source *s, source_error *err) { return lock_tables(s, err); }

static int pg_snapshot_begin(source *base, int readers, source_error *err)
{
    pg_source *s = (pg_source *)base;
    if (s->in_snapshot)
        return source_fail(err, SRC_E_USAGE, "snapshot_begin called twice");
    if (readers < 1)
        readers = 1;
    pthread_mutex_lock(&s->coord_mu);
    int rc = -1;
    PGresult *r = pg_exec(s, s->coord, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                          PGRES_COMMAND_OK, "cannot start the snapshot transaction", err);
    if (!r)
        goto out;
    PQclear(r);
    r = pg_exec(s, s->coord,
                "SELECT pg_export_snapshot(), CASE WHEN pg_is_in_recovery() THEN "
                "pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END",
                PGRES_TUPLES_OK, "cannot export the snapshot", err);
    if (!r)
        goto out;
    snprintf(s->snapshot, sizeof s->snapshot, "%s", PQgetvalue(r, 0, 0));
    snprintf(s->lsn, sizeof s->lsn, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    s->in_snapshot = 1;
    if (lock_tables(s, err))
        goto out;
    s->slots = calloc((size_t)readers, sizeof *s->slots);
    if (!s->slots) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < readers; i++) {
        PGconn *c = pg_snapshot_reader(s, err);
        if (!c)
            goto out;
        s->slots[i].conn = c;
        s->slots[i].cancel = PQgetCancel(c);
        s->nslots = i + 1;
    }
    rc = 0;
out:
    pthread_mutex_unlock(&s->coord_mu);
    return rc;
}

static json_t *pg_snapshot_position(source *base, source_error *err)
{
    pg_source *s = (pg_source *)base;
    if (!s->in_snapshot)
        return NULL;
    json_t *j = json_pack("{s:s, s:s}", "lsn", s->lsn, "snapshot", s->snapshot);
    if (!j)
        source_fail(err, SRC_E_NOMEM, "out of memory");
    return j;
}

/* PQcancel on every connection that may be running a query. Thread-safe;
 * not for a signal handler (it takes the source's mutex). */
static void pg_cancel(source *base)
{
    pg_source *s = (pg_source *)base;
    char buf[256];
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nslots; i++)
        if (s->slots[i].busy && s->slots[i].cancel)
            PQcancel(s->slots[i].cancel, buf, sizeof buf);
    for (source_reader *rd = s->plain; rd; rd = rd->next_plain)
        if (rd->own_cancel)
            PQcancel(rd->own_cancel, buf, sizeof buf);
    pthread_mutex_unlock(&s->mu);
    if (s->coord_cancel)
        PQcancel(s->coord_cancel, buf, sizeof buf);
}

/* ---- identity, notes, close ---- */

static json_t *pg_fingerprint(source *base, source_error *err)
{
    pg_source *s = (pg_source *)base;
    pthread_mutex_lock(&s->coord_mu);
    /* pg_control_system() may be denied to a plain user: then the
     * identifier is null and the database name alone identifies */
    PGresult *r = PQexec(s->coord, "SELECT current_database()");
    char db[256] = "";
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        snprintf(db, sizeof db, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    char sysid[32] = "";
    if (!s->in_snapshot) {
        r = PQexec(s->coord, "SELECT system_identifier::text FROM pg_control_system()");
        if (PQresultStatus(r) == PGRES_TUPLES_OK)
            snprintf(sysid, sizeof sysid, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    } else {
        /* in a transaction an error would abort it: test the privilege */
        r = PQexec(s->coord, "SELECT CASE WHEN has_function_privilege('pg_control_system()', "
                             "'EXECUTE') THEN (SELECT system_identifier::text FROM "
                             "pg_control_system()) END");
        if (PQresultStatus(r) == PGRES_TUPLES_OK && !PQgetisnull(r, 0, 0))
            snprintf(sysid, sizeof sysid, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    pthread_mutex_unlock(&s->coord_mu);
    json_t *j = json_pack("[{s:s, s:s?, s:s}]", "path", s->red, "system_identifier",
                          sysid[0] ? sysid : NULL, "database", db);
    if (!j)
        source_fail(err, SRC_E_NOMEM, "out of memory");
    return j;
}

static json_t *pg_notes(source *base)
{
    pg_source *s = (pg_source *)base;
    return s->notes ? json_deep_copy(s->notes) : json_array();
}

static void pg_close(source *base)
{
    pg_source *s = (pg_source *)base;
    if (!s)
        return;
    for (int i = 0; i < s->nslots; i++) {
        PG_ASSERT(!s->slots[i].busy);
        PQfreeCancel(s->slots[i].cancel);
        PQfinish(s->slots[i].conn);
    }
    free(s->slots);
    PG_ASSERT(s->plain == NULL);
    if (s->coord) {
        if (s->in_snapshot)
            PQclear(PQexec(s->coord, "COMMIT"));
        PQfreeCancel(s->coord_cancel);
        PQfinish(s->coord);
    }
    pg_tables_free(s);
    source_schema_free(&s->schema);
    json_decref(s->notes);
    pthread_mutex_destroy(&s->coord_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->freed);
    free(s->schemas);
    free(s->want_views);
    free(s->uri);
    free(s);
}

/* ---- query (assess) ---- */

#define PG_QUERY_MAX_COLS 256

/* Run sql on the coordinator in single-row mode, rows to `row`. In the
 * snapshot a savepoint keeps a failed statement from aborting it;
 * otherwise the statement has a READ ONLY transaction of its own. */
static int pg_query(source *base, const char *sql, source_row_fn row, void *ctx,
                    source_error *err)
{
    pg_source *s = (pg_source *)base;
    pthread_mutex_lock(&s->coord_mu);
    PGconn *c = s->coord;
    int rc = 0;
    const char *begin = s->in_snapshot ? "SAVEPOINT cqlshift_query" : "BEGIN READ ONLY";
    PGresult *r = pg_exec(s, c, begin, PGRES_COMMAND_OK, "cannot start a query", err);
    if (!r) {
        pthread_mutex_unlock(&s->coord_mu);
        return -1;
    }
    PQclear(r);
    if (!PQsendQuery(c, sql) || !PQsetSingleRowMode(c)) {
        char reason[400];
        pg_conn_reason(c, reason, sizeof reason);
        rc = source_fail(err, SRC_E_READ, "query on PostgreSQL %s failed: %s (in: %.300s)",
                         s->red, reason, sql);
    }
    int stopped = 0, failed = rc != 0;
    const char *vals[PG_QUERY_MAX_COLS];
    size_t lens[PG_QUERY_MAX_COLS];
    while (!failed && (r = PQgetResult(c)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE && !stopped && rc == 0) {
            int n = PQnfields(r);
            if (n > PG_QUERY_MAX_COLS) {
                rc = source_fail(err, SRC_E_USAGE, "query on PostgreSQL %s: %d result columns "
                                 "(at most %d)", s->red, n, PG_QUERY_MAX_COLS);
                stopped = 1;
            } else {
                for (int k = 0; k < n; k++) {
                    int null = PQgetisnull(r, 0, k);
                    vals[k] = null ? NULL : PQgetvalue(r, 0, k);
                    lens[k] = null ? 0 : (size_t)PQgetlength(r, 0, k);
                }
                if ((rc = row(ctx, n, vals, lens)) != 0)
                    stopped = 1;
            }
            /* the rest of the rows still arrive: cancel them */
            if (stopped && s->coord_cancel) {
                char buf[256];
                PQcancel(s->coord_cancel, buf, sizeof buf);
            }
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK &&
                   !stopped && rc == 0) {
            char reason[400];
            snprintf(reason, sizeof reason, "%s", PQresultErrorMessage(r));
            reason[strcspn(reason, "\n")] = 0;
            rc = source_fail(err, SRC_E_READ, "query on PostgreSQL %s failed: %s (in: %.300s)",
                             s->red, reason, sql);
        }
        PQclear(r);
    }
    /* end the statement's transaction (or savepoint) whatever happened */
    /* (rolled back even after success: a SET LOCAL of the statement must
     * not outlive it in the snapshot's transaction) */
    const char *end = s->in_snapshot ? "ROLLBACK TO SAVEPOINT cqlshift_query; "
                                       "RELEASE SAVEPOINT cqlshift_query"
                                     : "ROLLBACK";
    source_error e2;
    r = pg_exec(s, c, end, PGRES_COMMAND_OK, "cannot end a query", rc ? &e2 : err);
    if (r)
        PQclear(r);
    else if (!rc)
        rc = -1;
    pthread_mutex_unlock(&s->coord_mu);
    return rc;
}

static int pg_want_views(source *base, const char *names, source_error *err)
{
    pg_source *s = (pg_source *)base;
    free(s->want_views);
    s->want_views = names ? strdup(names) : NULL;
    if (names && !s->want_views)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    return 0;
}

static const source_ops pg_ops = {
    .name = "postgresql",
    .describe = pg_describe,
    .split = pg_split,
    .open_range = pg_open_range,
    .read = pg_read,
    .close_range = pg_close_range,
    .close = pg_close,
    .count_range = pg_count_range,
    .count_ranges = pg_count_ranges,
    .count_beyond = pg_count_beyond,
    .fingerprint = pg_fingerprint,
    .snapshot_begin = pg_snapshot_begin,
    .snapshot_position = pg_snapshot_position,
    .cancel = pg_cancel,
    .notes = pg_notes,
    .want_views = pg_want_views,
    .add_query = pg_add_query,
    .query = pg_query,
};

source *source_pg_open(const char *uri, const char *schemas, source_error *err)
{
    pg_source *s = calloc(1, sizeof *s);
    if (!s || !(s->uri = strdup(uri)) || (schemas && !(s->schemas = strdup(schemas)))) {
        if (s)
            free(s->uri);
        free(s);
        source_fail(err, SRC_E_NOMEM, "out of memory");
        return NULL;
    }
    s->base.ops = &pg_ops;
    source_uri_redact(uri, s->red, sizeof s->red);
    pthread_mutex_init(&s->coord_mu, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->freed, NULL);
    s->coord = pg_connect(s, err);
    if (!s->coord) {
        pg_close(&s->base);
        return NULL;
    }
    s->coord_cancel = PQgetCancel(s->coord);
    s->server_version = PQserverVersion(s->coord);
    if (s->server_version < 120000) {
        source_fail(err, SRC_E_OPEN,
                    "PostgreSQL %s is version %d.%d: cqlshift reads PostgreSQL 12 or later", s->red,
                    s->server_version / 10000, s->server_version % 10000);
        pg_close(&s->base);
        return NULL;
    }
    return &s->base;
}
