/* MySQL/MariaDB values: the text protocol's fields to typed src_values,
 * and key tuples to and from range bounds, resume points and SQL literals.
 *
 * The session is pinned to time_zone '+00:00' and NAMES utf8mb4 (see
 * my_connect), so temporal text is UTC and character data arrives as
 * UTF-8 whatever the column's character set; binary strings arrive as
 * their bytes. Nothing here allocates but from the batch's arena.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/my_int.h"

static int copy_bytes(src_value *v, src_kind kind, const char *p, unsigned long n, arena *a)
{
    return src_value_set_bytes(v, kind, a, p, n);
}

/* [-]digits into *out; 0, or -1 if not that or out of range. */
static int parse_i64(const char *p, unsigned long n, int64_t *out)
{
    unsigned long i = 0;
    int neg = 0;
    if (n && (p[0] == '-' || p[0] == '+'))
        neg = p[i++] == '-';
    if (i == n)
        return -1;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9 || v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int parse_u64(const char *p, unsigned long n, uint64_t *out)
{
    if (!n)
        return -1;
    uint64_t v = 0;
    for (unsigned long i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Exactly k digits at p into *out. */
static int digits(const char *p, int k, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < k; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int64_t my_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* H. Hinnant's days_from_civil */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned month_days(unsigned y, unsigned m)
{
    static const unsigned md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : md[m - 1];
}

/* "YYYY-MM-DD" at p (10 bytes) into days; 1 zero date, 2 invalid date,
 * -1 not a date. */
static int parse_date(const char *p, unsigned long n, int64_t *days)
{
    unsigned y, m, d;
    if (n < 10 || p[4] != '-' || p[7] != '-' || digits(p, 4, &y) || digits(p + 5, 2, &m) ||
        digits(p + 8, 2, &d))
        return -1;
    if (m == 0 || d == 0)
        return 1;
    if (m > 12 || d > month_days(y, m))
        return 2;
    *days = my_days_from_civil(y, m, d);
    return 0;
}

/* ".ffffff" (1 to 9 digits) at p into nanoseconds; -1 if malformed. */
static int parse_frac(const char *p, unsigned long n, int64_t *ns)
{
    if (n == 0) {
        *ns = 0;
        return 0;
    }
    if (p[0] != '.' || n < 2 || n > 10)
        return -1;
    int64_t v = 0;
    unsigned long i;
    for (i = 1; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9)
            return -1;
        v = v * 10 + d;
    }
    for (; i < 10; i++)
        v *= 10;
    *ns = v;
    return 0;
}

static void decode_datetime(const char *p, unsigned long n, src_value *v, arena *a, int date_only)
{
    int64_t days, ns = 0;
    unsigned hh = 0, mi = 0, ss = 0;
    int r = parse_date(p, n, &days);
    if (r == 0 && !date_only &&
        (n < 19 || p[10] != ' ' || p[13] != ':' || p[16] != ':' || digits(p + 11, 2, &hh) ||
         digits(p + 14, 2, &mi) || digits(p + 17, 2, &ss) || hh > 23 || mi > 59 || ss > 59 ||
         parse_frac(p + 19, n - 19, &ns)))
        r = -1;
    if (r == 0 && date_only && n != 10)
        r = -1;
    if (r == 1) {
        src_value_set_bad(v, a, "zero date '%.*s' (a zero month or day) has no Cassandra value",
                (int)(n > 40 ? 40 : n), p);
        return;
    }
    if (r == 2) {
        src_value_set_bad(v, a, "invalid date '%.*s' has no Cassandra value", (int)(n > 40 ? 40 : n), p);
        return;
    }
    if (r < 0) {
        src_value_set_bad(v, a, "unexpected %s text '%.*s' from the server", date_only ? "date" : "datetime",
                (int)(n > 40 ? 40 : n), p);
        return;
    }
    if (date_only) {
        v->kind = SV_DATE;
        v->u.i = days;
        return;
    }
    v->kind = SV_TIMESTAMP;
    v->u.i = days * 86400000000LL + ((int64_t)hh * 3600 + mi * 60 + ss) * 1000000LL + ns / 1000;
}

/* TIME: [-]H+:MM:SS[.f]; Cassandra's time is 00:00:00 to 23:59:59.999999999. */
static void decode_time(const char *p, unsigned long n, src_value *v, arena *a)
{
    unsigned long i = 0;
    int neg = n && p[0] == '-';
    i += (unsigned long)neg;
    uint64_t h = 0;
    unsigned long h0 = i;
    while (i < n && p[i] >= '0' && p[i] <= '9' && i - h0 < 6)
        h = h * 10 + (uint64_t)(p[i++] - '0');
    unsigned mi, ss;
    int64_t ns;
    if (i == h0 || n - i < 6 || p[i] != ':' || p[i + 3] != ':' || digits(p + i + 1, 2, &mi) ||
        digits(p + i + 4, 2, &ss) || mi > 59 || ss > 59 || parse_frac(p + i + 6, n - i - 6, &ns)) {
        src_value_set_bad(v, a, "unexpected time text '%.*s' from the server", (int)(n > 40 ? 40 : n), p);
        return;
    }
    int64_t total = ((int64_t)h * 3600 + mi * 60 + ss) * 1000000000LL + ns;
    if (neg && total != 0) {
        src_value_set_bad(v, a, "time '%.*s' is negative: Cassandra's time holds 00:00:00 to 23:59:59",
                (int)n, p);
        return;
    }
    if (total >= 86400000000000LL) {
        src_value_set_bad(v, a, "time '%.*s' is 24 hours or more: Cassandra's time holds 00:00:00 to "
                "23:59:59", (int)n, p);
        return;
    }
    v->kind = SV_TIME;
    v->u.i = total;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int my_decode(my_vk vk, const char *p, unsigned long n, src_value *v, arena *a)
{
    if (!p) {
        v->kind = SV_NULL;
        return 0;
    }
    char num[400];
    switch (vk) {
    case MYV_ROWID:
        MY_ASSERT(!"the rowid is not a server field");
        return -1;
    case MYV_INT:
        if (parse_i64(p, n, &v->u.i))
            src_value_set_bad(v, a, "unexpected integer text '%.*s' from the server", (int)(n > 40 ? 40 : n), p);
        else
            v->kind = SV_INT;
        return 0;
    case MYV_UINT64:
        if (parse_u64(p, n, &v->u.u))
            src_value_set_bad(v, a, "unexpected integer text '%.*s' from the server", (int)(n > 40 ? 40 : n), p);
        else
            v->kind = SV_UINT;
        return 0;
    case MYV_BOOL:
        if (n == 1 && (p[0] == '0' || p[0] == '1')) {
            v->kind = SV_BOOL;
            v->u.i = p[0] == '1';
        } else {
            src_value_set_bad(v, a, "tinyint(1) value %.*s is not a boolean (0 or 1)", (int)(n > 40 ? 40 : n), p);
        }
        return 0;
    case MYV_BIT_BOOL:
        v->kind = SV_BOOL;
        v->u.i = n > 0 && p[n - 1] != 0;
        return 0;
    case MYV_DECIMAL:
        return copy_bytes(v, SV_DECIMAL, p, n, a);
    case MYV_FLOAT:
    case MYV_DOUBLE: {
        if (n == 0 || n >= sizeof num) {
            src_value_set_bad(v, a, "unexpected number text from the server");
            return 0;
        }
        memcpy(num, p, n);
        num[n] = 0;
        char *end;
        /* a double's text has every digit it needs to read back the same;
         * a FLOAT is selected as its exact double (my_catalog.c) */
        double d = strtod(num, &end);
        if (*end) {
            src_value_set_bad(v, a, "unexpected number text '%.40s' from the server", num);
            return 0;
        }
        v->kind = SV_DOUBLE;
        v->u.d = d;
        return 0;
    }
    case MYV_TEXT:
        return copy_bytes(v, SV_TEXT, p, n, a);
    case MYV_BYTES:
        return copy_bytes(v, SV_BLOB, p, n, a);
    case MYV_UUID_BIN:
        if (n != 16) {
            src_value_set_bad(v, a, "a %lu-byte value is not a UUID (16 bytes)", n);
            return 0;
        }
        return copy_bytes(v, SV_UUID, p, n, a);
    case MYV_UUID_TEXT: {
        uint8_t u[16];
        int k = 0;
        for (unsigned long i = 0; i < n && k < 32; i++) {
            if (p[i] == '-')
                continue;
            int h = hexval((unsigned char)p[i]);
            if (h < 0)
                break;
            u[k / 2] = (uint8_t)(k % 2 ? (u[k / 2] | h) : h << 4);
            k++;
        }
        if (k != 32 || n != 36) {
            src_value_set_bad(v, a, "unexpected uuid text '%.*s' from the server", (int)(n > 40 ? 40 : n), p);
            return 0;
        }
        return copy_bytes(v, SV_UUID, (const char *)u, 16, a);
    }
    case MYV_INET_TEXT: {
        uint8_t addr[16];
        if (n == 0 || n >= 64) {
            src_value_set_bad(v, a, "unexpected address text from the server");
            return 0;
        }
        memcpy(num, p, n);
        num[n] = 0;
        int v4 = !memchr(p, ':', n);
        if (inet_pton(v4 ? AF_INET : AF_INET6, num, addr) != 1) {
            src_value_set_bad(v, a, "unexpected address text '%s' from the server", num);
            return 0;
        }
        return copy_bytes(v, SV_INET, (const char *)addr, v4 ? 4 : 16, a);
    }
    case MYV_DATE:
        decode_datetime(p, n, v, a, 1);
        return 0;
    case MYV_DATETIME:
        decode_datetime(p, n, v, a, 0);
        return 0;
    case MYV_TIME:
        decode_time(p, n, v, a);
        return 0;
    case MYV_SET: {
        /* labels cannot contain ',' (MySQL refuses such SET definitions) */
        int k = n ? 1 : 0;
        for (unsigned long i = 0; i < n; i++)
            k += p[i] == ',';
        src_value *el = k ? arena_alloc(a, (size_t)k * sizeof *el) : NULL;
        if (k && !el)
            return -1;
        const char *s0 = p, *end = p + n;
        for (int e = 0; e < k; e++) {
            const char *c = memchr(s0, ',', (size_t)(end - s0));
            if (!c)
                c = end;
            memset(&el[e], 0, sizeof el[e]);
            if (copy_bytes(&el[e], SV_TEXT, s0, (unsigned long)(c - s0), a))
                return -1;
            s0 = c + 1;
        }
        v->kind = SV_LIST;
        v->u.list.v = el;
        v->u.list.n = k;
        return 0;
    }
    }
    MY_ASSERT(!"unknown value kind");
    return -1;
}

/* ---- key tuples ------------------------------------------------------------ */

int my_key_encode(src_pos *out, const char *const *vals, const unsigned long *lens, int n)
{
    MY_ASSERT(n > 0 && n < 256);
    size_t need = 2;
    for (int i = 0; i < n; i++)
        need += 4 + lens[i];
    if (need > out->cap) {
        /* grow the position's memory (kept across rows), then write in place */
        size_t cap = out->cap ? out->cap : 64;
        while (cap < need)
            cap *= 2;
        uint8_t *np = realloc(out->p, cap);
        if (!np)
            return -1;
        out->p = np;
        out->cap = cap;
    }
    uint8_t *w = out->p;
    *w++ = 1;
    *w++ = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        cs_put_be32(w, (uint32_t)lens[i]);
        w += 4;
        if (lens[i])
            memcpy(w, vals[i], lens[i]);
        w += lens[i];
    }
    out->n = need;
    return 0;
}

int my_key_decode(const src_pos *pos, const char **vals, unsigned long *lens, int max, int *n)
{
    if (pos->n < 2 || pos->p[0] != 1 || pos->p[1] == 0 || pos->p[1] > max)
        return -1;
    int k = pos->p[1];
    size_t off = 2;
    for (int i = 0; i < k; i++) {
        if (pos->n - off < 4)
            return -1;
        uint32_t len = cs_be32(pos->p + off);
        off += 4;
        if (pos->n - off < len)
            return -1;
        vals[i] = (const char *)pos->p + off;
        lens[i] = len;
        off += len;
    }
    if (off != pos->n)
        return -1;
    *n = k;
    return 0;
}

int my_vk_keyset(my_vk vk)
{
    switch (vk) {
    case MYV_INT: case MYV_UINT64: case MYV_BOOL: case MYV_DECIMAL: case MYV_TEXT:
    case MYV_BYTES: case MYV_UUID_BIN: case MYV_UUID_TEXT: case MYV_DATE: case MYV_DATETIME:
    case MYV_TIME:
        return 1;
    default:
        /* FLOAT compares with a double literal after widening, enum and set
         * sort by their index but compare as text, bit, inet and geometry
         * have no plain literal: such a key is read as one range */
        return 0;
    }
}

int my_key_literal(MYSQL *db, cs_buf *sql, my_vk vk, const char *p, unsigned long n)
{
    switch (vk) {
    case MYV_INT: case MYV_UINT64: case MYV_BOOL: case MYV_DECIMAL: {
        /* a number: the server's own digits, unquoted (a quoted number
         * against a DECIMAL column would compare as a double) */
        if (n == 0 || n > 100)
            return -1;
        for (unsigned long i = 0; i < n; i++)
            if (!((p[i] >= '0' && p[i] <= '9') || (i == 0 && p[i] == '-') || p[i] == '.'))
                return -1;
        return cs_buf_append(sql, p, n);
    }
    case MYV_BYTES:
    case MYV_UUID_BIN: {
        static const char hx[] = "0123456789abcdef";
        if (cs_buf_append(sql, "X'", 2) || cs_buf_reserve(sql, 2 * n + 1))
            return -1;
        for (unsigned long i = 0; i < n; i++) {
            sql->data[sql->len++] = (uint8_t)hx[(unsigned char)p[i] >> 4];
            sql->data[sql->len++] = (uint8_t)hx[(unsigned char)p[i] & 15];
        }
        return cs_buf_append(sql, "'", 1);
    }
    case MYV_TEXT: case MYV_UUID_TEXT: case MYV_DATE: case MYV_DATETIME: case MYV_TIME: {
        if (cs_buf_append(sql, "'", 1) || cs_buf_reserve(sql, 2 * n + 2))
            return -1;
        unsigned long w = mysql_real_escape_string(db, (char *)sql->data + sql->len, p, n);
        if (w == (unsigned long)-1)
            return -1;
        sql->len += w;
        return cs_buf_append(sql, "'", 1);
    }
    default:
        return -1;
    }
}

/* key column i's operator clause for tuple comparison, recursive:
 * gt(i) = k_i > v_i OR (k_i = v_i AND gt(i+1)); the last is k > v (or
 * k <= v for the upper bound). */
static int predicate_from(MYSQL *db, cs_buf *sql, const source_table *tb, const my_table_info *ti,
                          int gt, const char *const *vals, const unsigned long *lens, int i, int n)
{
    const source_column *c = &tb->cols[ti->key_cols[i]];
    my_vk vk = ti->vk[ti->key_cols[i]];
    if (i == n - 1) {
        return my_append_ident(sql, c->name) || cs_buf_printf(sql, gt ? " > " : " <= ") ||
               my_key_literal(db, sql, vk, vals[i], lens[i]);
    }
    return cs_buf_append(sql, "(", 1) || my_append_ident(sql, c->name) ||
           cs_buf_printf(sql, gt ? " > " : " < ") || my_key_literal(db, sql, vk, vals[i], lens[i]) ||
           cs_buf_printf(sql, " OR (") || my_append_ident(sql, c->name) ||
           cs_buf_printf(sql, " = ") || my_key_literal(db, sql, vk, vals[i], lens[i]) ||
           cs_buf_printf(sql, " AND ") ||
           predicate_from(db, sql, tb, ti, gt, vals, lens, i + 1, n) || cs_buf_printf(sql, "))");
}

int my_key_predicate(MYSQL *db, cs_buf *sql, const source_table *tb, const my_table_info *ti,
                     int gt, const char *const *vals, const unsigned long *lens, int n)
{
    MY_ASSERT(n >= 1 && n <= ti->nkey);
    return predicate_from(db, sql, tb, ti, gt, vals, lens, 0, n);
}
