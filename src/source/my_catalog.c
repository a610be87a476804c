/* MySQL/MariaDB schema from information_schema: base tables of the chosen
 * databases, their columns with a logical type each, and their key.
 *
 * Type decisions (docs/model.md, "MySQL and MariaDB"):
 *  - tinyint(1) is MySQL's boolean: SL_BOOL, and a value other than 0 or 1
 *    is rejected per value (column note); bit(1) is a boolean too.
 *  - unsigned integers widen to the next signed type; BIGINT UNSIGNED is
 *    SL_UINT64 (varint).
 *  - bit(n > 1): its bytes, big-endian (SL_BYTES).
 *  - binary(16) is a blob, unless the column's name says uuid or guid (then
 *    SL_UUID: any 16 bytes are a Cassandra uuid); MariaDB's uuid type is a
 *    uuid, inet4/inet6 are inet.
 *  - geometry: SL_BYTES as MySQL stores it (4-byte little-endian SRID, then
 *    WKB), with a note.
 *  - MariaDB's JSON is longtext with a json_valid check: found through
 *    information_schema.CHECK_CONSTRAINTS.
 * The key is the primary key, else the first unique index whose columns
 * are all NOT NULL (InnoDB's own clustered key then); else none.
 * For assess and plan: foreign keys (KEY_COLUMN_USAGE), the secondary
 * indexes (STATISTICS, everything but PRIMARY), the size of the data
 * (TABLES.DATA_LENGTH) and the quoted name, one query each for every table.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "source/my_int.h"

void my_info_free(my_table_info *info, int n)
{
    if (!info)
        return;
    for (int i = 0; i < n; i++) {
        free(info[i].db);
        free(info[i].table);
        free(info[i].qname);
        free(info[i].select_list);
        free(info[i].order_by);
        free(info[i].vk);
        free(info[i].key_cols);
    }
    free(info);
}

/* " IN ('a', 'b')" of the databases, escaped. */
static int append_db_list(my_source *s, cs_buf *q)
{
    if (cs_buf_printf(q, " IN ("))
        return -1;
    for (int i = 0; i < s->ndbs; i++) {
        size_t n = strlen(s->dbs[i]);
        if ((i && cs_buf_append(q, ", ", 2)) || cs_buf_append(q, "'", 1) ||
            cs_buf_reserve(q, 2 * n + 1))
            return -1;
        q->len += mysql_real_escape_string(s->coord, (char *)q->data + q->len, s->dbs[i], n);
        if (cs_buf_append(q, "'", 1))
            return -1;
    }
    return cs_buf_append(q, ")", 1);
}

/* Run "prefix IN (dbs) suffix"; the whole result (catalog results are
 * small next to the data). */
static MYSQL_RES *catalog_query(my_source *s, const char *prefix, const char *suffix,
                                source_error *err)
{
    cs_buf q;
    cs_buf_init(&q, 1 << 20);
    MYSQL_RES *res = NULL;
    if (cs_buf_printf(&q, "%s", prefix) || append_db_list(s, &q) ||
        cs_buf_printf(&q, "%s", suffix) || cs_buf_append(&q, "", 1)) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
    } else if (mysql_query(s->coord, (const char *)q.data) ||
               !(res = mysql_store_result(s->coord))) {
        source_fail(err, SRC_E_SCHEMA, "cannot read the schema of %s: %s", s->redacted,
                    mysql_error(s->coord));
    }
    cs_buf_release(&q);
    return res;
}

/* The labels of enum('a','b''c') / set(...) into c. */
static int parse_labels(const char *type, source_column *c)
{
    const char *p = strchr(type, '(');
    if (!p)
        return 0;
    int cap = 8;
    c->labels = calloc((size_t)cap, sizeof *c->labels);
    if (!c->labels)
        return -1;
    p++;
    while (*p == '\'') {
        p++;
        cs_buf l;
        cs_buf_init(&l, 1 << 20);
        for (; *p; p++) {
            if (*p == '\'' && p[1] == '\'') {
                p++;
            } else if (*p == '\'') {
                break;
            }
            if (cs_buf_append(&l, p, 1)) {
                cs_buf_release(&l);
                return -1;
            }
        }
        if (*p == '\'')
            p++;
        if (c->nlabels == cap) {
            char **n = realloc(c->labels, (size_t)cap * 2 * sizeof *n);
            if (!n) {
                cs_buf_release(&l);
                return -1;
            }
            c->labels = n;
            cap *= 2;
        }
        c->labels[c->nlabels] = strndup(l.data ? (const char *)l.data : "", l.len);
        cs_buf_release(&l);
        if (!c->labels[c->nlabels])
            return -1;
        c->nlabels++;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int name_says_uuid(const char *n)
{
    size_t l = strlen(n);
    return (l >= 4 && !strcasecmp(n + l - 4, "uuid")) || (l >= 4 && !strcasecmp(n + l - 4, "guid"));
}

static int set_note(source_column *c, const char *note)
{
    free(c->note);
    c->note = strdup(note);
    return c->note ? 0 : -1;
}

/* The logical type of one column from its information_schema row:
 * 2 DATA_TYPE, 3 COLUMN_TYPE, 5 CHARACTER_SET_NAME, 6 CHARACTER_MAXIMUM_LENGTH,
 * 7 NUMERIC_PRECISION, 8 NUMERIC_SCALE, 9 DATETIME_PRECISION, 10 EXTRA. */
static int map_column(MYSQL_ROW r, int zero_dates_allowed, int is_json, source_column *c,
                      my_vk *vk)
{
    const char *dt = r[2] ? r[2] : "", *ct = r[3] ? r[3] : "", *cs = r[5];
    int uns = strstr(ct, "unsigned") != NULL;
    int prec = r[7] ? atoi(r[7]) : 0, scale = r[8] ? atoi(r[8]) : 0;
    int dtp = r[9] ? atoi(r[9]) : 0;
    long long clen = r[6] ? strtoll(r[6], NULL, 10) : 0;
    const char *note = NULL;
    char notebuf[200];
    c->precision = c->scale = -1;
    *vk = MYV_INT;
    if (!strcmp(dt, "tinyint")) {
        if (!strncmp(ct, "tinyint(1)", 10) && !uns) {
            c->ltype = SL_BOOL;
            *vk = MYV_BOOL;
            note = "tinyint(1) is read as boolean (MySQL's convention): a value other than 0 or "
                   "1 is rejected per value";
        } else {
            c->ltype = uns ? SL_INT16 : SL_INT8;
        }
    } else if (!strcmp(dt, "smallint")) {
        c->ltype = uns ? SL_INT32 : SL_INT16;
    } else if (!strcmp(dt, "mediumint")) {
        c->ltype = SL_INT32;
    } else if (!strcmp(dt, "int") || !strcmp(dt, "integer")) {
        c->ltype = uns ? SL_INT64 : SL_INT32;
    } else if (!strcmp(dt, "bigint")) {
        c->ltype = uns ? SL_UINT64 : SL_INT64;
        *vk = uns ? MYV_UINT64 : MYV_INT;
    } else if (!strcmp(dt, "year")) {
        c->ltype = SL_INT16;
    } else if (!strcmp(dt, "decimal") || !strcmp(dt, "numeric")) {
        c->ltype = SL_DECIMAL;
        c->precision = prec;
        c->scale = scale;
        *vk = MYV_DECIMAL;
    } else if (!strcmp(dt, "float")) {
        c->ltype = SL_FLOAT32;
        *vk = MYV_FLOAT;
    } else if (!strcmp(dt, "double") || !strcmp(dt, "real") || !strcmp(dt, "double precision")) {
        c->ltype = SL_FLOAT64;
        *vk = MYV_DOUBLE;
    } else if (!strcmp(dt, "bit")) {
        if (prec <= 1) {
            c->ltype = SL_BOOL;
            *vk = MYV_BIT_BOOL;
        } else {
            c->ltype = SL_BYTES;
            c->length = (prec + 7) / 8;
            *vk = MYV_BYTES;
            note = "bit(n): the bits as bytes, big-endian (the first byte padded with zero bits)";
        }
    } else if (!strcmp(dt, "date")) {
        c->ltype = SL_DATE;
        *vk = MYV_DATE;
        if (zero_dates_allowed)
            note = "zero dates ('0000-00-00', or a zero month or day), which the server's "
                   "sql_mode allows, have no Cassandra value and are rejected per value";
    } else if (!strcmp(dt, "datetime") || !strcmp(dt, "timestamp")) {
        c->ltype = SL_TIMESTAMP;
        c->precision = dtp;
        c->with_tz = dt[0] == 't';
        *vk = MYV_DATETIME;
        if (zero_dates_allowed)
            note = "zero dates ('0000-00-00 00:00:00', or a zero month or day), which the "
                   "server's sql_mode allows, have no Cassandra value and are rejected per value";
    } else if (!strcmp(dt, "time")) {
        c->ltype = SL_TIME;
        c->precision = dtp;
        *vk = MYV_TIME;
        note = "MySQL's time spans -838:59:59 to 838:59:59: a negative time or one of 24 hours "
               "or more has no Cassandra time and is rejected per value";
    } else if (!strcmp(dt, "char") || !strcmp(dt, "varchar") || !strcmp(dt, "tinytext") ||
               !strcmp(dt, "text") || !strcmp(dt, "mediumtext") || !strcmp(dt, "longtext")) {
        if (!cs || !strcmp(cs, "binary")) {
            c->ltype = SL_BYTES;
            *vk = MYV_BYTES;
        } else if (is_json) {
            c->ltype = SL_JSON;
            *vk = MYV_TEXT;
        } else {
            c->ltype = SL_TEXT;
            c->length = (!strcmp(dt, "char") || !strcmp(dt, "varchar")) && clen < INT32_MAX
                            ? (int)clen : 0;
            *vk = MYV_TEXT;
            static const char *const whole[] = {"utf8mb4", "utf8mb3", "utf8", "latin1", "ucs2",
                                                "utf16", "utf16le", "utf32", NULL};
            int ok = 0;
            for (int i = 0; whole[i]; i++)
                ok |= !strcmp(cs, whole[i]);
            if (!ok) {
                snprintf(notebuf, sizeof notebuf, "character set %.40s is converted to UTF-8 by the "
                         "server: a byte sequence that is not valid %.40s arrives as '?'", cs, cs);
                note = notebuf;
            }
        }
    } else if (!strcmp(dt, "binary") || !strcmp(dt, "varbinary") || !strcmp(dt, "tinyblob") ||
               !strcmp(dt, "blob") || !strcmp(dt, "mediumblob") || !strcmp(dt, "longblob")) {
        c->ltype = SL_BYTES;
        *vk = MYV_BYTES;
        c->length = !strcmp(dt, "binary") || !strcmp(dt, "varbinary") ? (int)clen : 0;
        if (!strcmp(dt, "binary") && clen == 16) {
            if (name_says_uuid(c->name)) {
                c->ltype = SL_UUID;
                *vk = MYV_UUID_BIN;
                note = "binary(16) named like a UUID: copied as uuid (the 16 bytes unchanged)";
            } else {
                note = "binary(16): copied as blob; a column whose name ends in uuid or guid is "
                       "copied as uuid instead";
            }
        }
    } else if (!strcmp(dt, "enum")) {
        c->ltype = SL_ENUM;
        *vk = MYV_TEXT;
        if (parse_labels(ct, c))
            return -1;
    } else if (!strcmp(dt, "set")) {
        c->ltype = SL_SET;
        *vk = MYV_SET;
        if (parse_labels(ct, c))
            return -1;
        note = "an empty set ('') is null in Cassandra (a set cannot be empty)";
    } else if (!strcmp(dt, "json")) {
        c->ltype = SL_JSON;
        *vk = MYV_TEXT;
    } else if (!strcmp(dt, "geometry") || !strcmp(dt, "point") || !strcmp(dt, "linestring") ||
               !strcmp(dt, "polygon") || !strcmp(dt, "multipoint") ||
               !strcmp(dt, "multilinestring") || !strcmp(dt, "multipolygon") ||
               !strcmp(dt, "geometrycollection") || !strcmp(dt, "geomcollection")) {
        c->ltype = SL_BYTES;
        *vk = MYV_BYTES;
        note = "geometry: copied as MySQL stores it, a 4-byte little-endian SRID followed by "
               "the WKB";
    } else if (!strcmp(dt, "uuid")) {
        c->ltype = SL_UUID;
        *vk = MYV_UUID_TEXT;
    } else if (!strcmp(dt, "inet4") || !strcmp(dt, "inet6")) {
        c->ltype = SL_INET;
        *vk = MYV_INET_TEXT;
    } else {
        c->ltype = SL_UNSUPPORTED;
        *vk = MYV_BYTES;
        note = "no mapping for this type";
    }
    const char *extra = r[10] ? r[10] : "";
    if (strstr(extra, "VIRTUAL") || strstr(extra, "STORED") || strstr(extra, "PERSISTENT")) {
        char buf[400];
        snprintf(buf, sizeof buf, "generated column (its values are copied; Cassandra will not "
                 "compute them)%s%s", note ? "; " : "", note ? note : "");
        return set_note(c, buf);
    }
    return note ? set_note(c, note) : 0;
}

int my_map_field(const MYSQL_FIELD *f, source_column *c, my_vk *vk)
{
    /* the information_schema row map_column reads, from the result's
     * metadata: 2 DATA_TYPE, 3 COLUMN_TYPE, 5 CHARACTER_SET_NAME,
     * 6 CHARACTER_MAXIMUM_LENGTH, 7 NUMERIC_PRECISION, 8 NUMERIC_SCALE,
     * 9 DATETIME_PRECISION, 10 EXTRA */
    char ct[64], prec[24], scale[16], dtp[16];
    const char *dt = "", *cs = NULL;
    int uns = (f->flags & UNSIGNED_FLAG) != 0, bin = f->charsetnr == 63;
    snprintf(prec, sizeof prec, "%lu", f->length);
    snprintf(scale, sizeof scale, "%u", f->decimals);
    snprintf(dtp, sizeof dtp, "%u", f->decimals > 6 ? 0 : f->decimals);
    switch (f->type) {
    case MYSQL_TYPE_TINY: dt = "tinyint"; break;
    case MYSQL_TYPE_SHORT: dt = "smallint"; break;
    case MYSQL_TYPE_INT24: dt = "mediumint"; break;
    case MYSQL_TYPE_LONG: dt = "int"; break;
    case MYSQL_TYPE_LONGLONG: dt = "bigint"; break;
    case MYSQL_TYPE_YEAR: dt = "year"; break;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: {
        /* length counts the digits, a point and a sign */
        long p = (long)f->length - (f->decimals > 0) - !uns;
        snprintf(prec, sizeof prec, "%ld", p > 0 ? p : 1);
        dt = "decimal";
        break;
    }
    case MYSQL_TYPE_FLOAT: dt = "float"; break;
    case MYSQL_TYPE_DOUBLE: dt = "double"; break;
    case MYSQL_TYPE_BIT: dt = "bit"; break;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE: dt = "date"; break;
    case MYSQL_TYPE_DATETIME: dt = "datetime"; break;
    case MYSQL_TYPE_TIMESTAMP: dt = "timestamp"; break;
    case MYSQL_TYPE_TIME: dt = "time"; break;
    case MYSQL_TYPE_JSON: dt = "json"; break;
    case MYSQL_TYPE_GEOMETRY: dt = "geometry"; break;
    case MYSQL_TYPE_NULL: dt = "varchar"; cs = "utf8mb4"; break;
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_VARCHAR:
        dt = bin ? (f->type == MYSQL_TYPE_STRING ? "binary" : "varbinary") : "varchar";
        cs = bin ? NULL : "utf8mb4";
        break;
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
        dt = bin ? "blob" : "text";
        cs = bin ? NULL : "utf8mb4";
        break;
    default: dt = "unknown"; break;
    }
    if (f->type == MYSQL_TYPE_TINY && f->length == 1 && !uns)
        snprintf(ct, sizeof ct, "tinyint(1)");
    else
        snprintf(ct, sizeof ct, "%s%s", dt, uns ? " unsigned" : "");
    /* binary(16) as a uuid: the length is in bytes for a binary string */
    char clen[24];
    snprintf(clen, sizeof clen, "%lu", bin ? f->length : 0UL);
    char *row[12] = {NULL, NULL, (char *)dt, ct, NULL, (char *)cs, clen, prec, scale, dtp, "",
                     NULL};
    c->decl_type = strdup(ct);
    if (!c->decl_type)
        return -1;
    return map_column(row, 1, 0, c, vk);
}

/* One base table being described. */
typedef struct tbl {
    source_table t;
    my_table_info i;
    int cap;
    char *auto_col;             /* the AUTO_INCREMENT column */
    char *auto_next;            /* information_schema.TABLES.AUTO_INCREMENT */
    int key_from_unique;        /* the key is a unique index, not the primary key */
} tbl;

static tbl *find_tbl(tbl *ts, int n, int *hint, const char *db, const char *name)
{
    if (*hint < n && !strcmp(ts[*hint].i.db, db) && !strcmp(ts[*hint].i.table, name))
        return &ts[*hint];
    for (int k = 0; k < n; k++)
        if (!strcmp(ts[k].i.db, db) && !strcmp(ts[k].i.table, name)) {
            *hint = k;
            return &ts[k];
        }
    return NULL;
}

static int column_index(const source_table *t, const char *name)
{
    for (int c = 0; c < t->ncols; c++)
        if (!strcmp(t->cols[c].name, name))
            return c;
    return -1;
}

/* Key, rowid column, query pieces of one table. */

/* Can a range of the table be bounded by this key column's values? Its
 * value kind must have a plain literal (my_vk_keyset), and the column
 * must compare with that literal in the order the key walk reads it: an
 * enum sorts by its index but compares as text, and a bit(n) column or a
 * spatial one does not compare with the bytes it is read as. Such a key
 * is read as one range. */
static int key_bounds_ok(const source_column *c)
{
    static const char *const no[] = {"enum", "set", "bit", "geometry", "point", "linestring",
                                     "polygon", "multipoint", "multilinestring", "multipolygon",
                                     "geometrycollection", "geomcollection", NULL};
    const char *d = c->decl_type ? c->decl_type : "";
    for (int i = 0; no[i]; i++) {
        size_t n = strlen(no[i]);
        if (!strncasecmp(d, no[i], n) && (d[n] == 0 || d[n] == '(' || d[n] == ' '))
            return 0;
    }
    return c->ltype != SL_ENUM && c->ltype != SL_SET;
}

static int finish_table(my_source *s, tbl *x)
{
    source_table *t = &x->t;
    my_table_info *ti = &x->i;
    cs_buf b;
    cs_buf_init(&b, 1 << 24);
    /* a FLOAT goes through its exact double: the text protocol prints a
     * float with 6 digits (-3.40282e38 for -3.4028234e38), a double with
     * every digit it needs */
    for (int c = 0; c < t->ncols; c++)
        if ((c && cs_buf_append(&b, ", ", 2)) ||
            (ti->vk[c] == MYV_FLOAT && cs_buf_append(&b, "(", 1)) ||
            my_append_ident(&b, t->cols[c].name) ||
            (ti->vk[c] == MYV_FLOAT && cs_buf_append(&b, " * 1e0)", 7)))
            goto nomem;
    if (cs_buf_append(&b, "", 1) || !(ti->select_list = strdup((const char *)b.data)))
        goto nomem;
    cs_buf_reset(&b);
    if (my_append_ident(&b, ti->db) || cs_buf_append(&b, ".", 1) ||
        my_append_ident(&b, ti->table) || cs_buf_append(&b, "", 1) ||
        !(ti->qname = strdup((const char *)b.data)))
        goto nomem;
    cs_buf_reset(&b);
    if (t->npk > 0) {
        ti->nkey = t->npk;
        ti->key_cols = calloc((size_t)t->npk, sizeof *ti->key_cols);
        if (!ti->key_cols)
            goto nomem;
        ti->keyset = t->npk <= 64;
        for (int c = 0; c < t->ncols; c++)
            if (t->cols[c].pk_pos > 0) {
                ti->key_cols[t->cols[c].pk_pos - 1] = c;
                ti->keyset &= my_vk_keyset(ti->vk[c]) && key_bounds_ok(&t->cols[c]);
            }
        for (int k = 0; k < ti->nkey; k++)
            if ((k && cs_buf_append(&b, ", ", 2)) ||
                my_append_ident(&b, t->cols[ti->key_cols[k]].name))
                goto nomem;
        if (cs_buf_append(&b, "", 1) || !(ti->order_by = strdup((const char *)b.data)))
            goto nomem;
        my_vk k0 = ti->vk[ti->key_cols[0]];
        ti->int_first = k0 == MYV_INT || k0 == MYV_UINT64;
        ti->uint_first = k0 == MYV_UINT64;
        if (!ti->keyset)
            my_note(s, "%s: its key has a column (float, enum, set, bit...) that cannot bound a "
                       "range: the table is read as one range, and a resume skips the rows "
                       "already read in key order", t->name);
        if (x->key_from_unique)
            my_note(s, "%s has no primary key: its unique index over NOT NULL columns (%s) is "
                       "the key", t->name, ti->order_by);
    } else {
        /* no key: a first column "rowid", the row's ordinal */
        source_column *n = realloc(t->cols, (size_t)(t->ncols + 1) * sizeof *n);
        my_vk *nv = realloc(ti->vk, (size_t)(t->ncols + 1) * sizeof *nv);
        if (n)
            t->cols = n;
        if (nv)
            ti->vk = nv;
        if (!n || !nv)
            goto nomem;
        memmove(t->cols + 1, t->cols, (size_t)t->ncols * sizeof *t->cols);
        memmove(ti->vk + 1, ti->vk, (size_t)t->ncols * sizeof *ti->vk);
        t->ncols++;
        source_column *c = &t->cols[0];
        memset(c, 0, sizeof *c);
        ti->vk[0] = MYV_ROWID;
        c->ltype = SL_INT64;
        c->notnull = 1;
        c->pk_pos = 1;
        c->precision = c->scale = -1;
        if (!(c->name = strdup("rowid")) || !(c->decl_type = strdup("bigint")))
            goto nomem;
        t->uses_rowid = 1;
        t->npk = 1;
        my_note(s, "%s has no primary key and no unique index over NOT NULL columns: it is read "
                   "as one range in the server's row order, each row numbered (rowid); a resume "
                   "skips the rows already read, which is exact only if the table did not "
                   "change between the runs", t->name);
    }
    if (x->auto_col && x->auto_next)
        my_note(s, "%s: AUTO_INCREMENT of %s is at %s (the next value it gives): start the "
                   "application's id generator past it after the cutover", t->name,
                   x->auto_col, x->auto_next);
    cs_buf_release(&b);
    return 0;
nomem:
    cs_buf_release(&b);
    return -1;
}

static void tbl_free(tbl *x)
{
    for (int c = 0; c < x->t.ncols; c++) {
        free(x->t.cols[c].name);
        free(x->t.cols[c].decl_type);
        for (int l = 0; l < x->t.cols[c].nlabels; l++)
            free(x->t.cols[c].labels[l]);
        free(x->t.cols[c].labels);
        free(x->t.cols[c].note);
    }
    free(x->t.cols);
    free(x->t.name);
    free(x->t.schema);
    free(x->i.db);
    free(x->i.table);
    free(x->i.qname);
    free(x->i.select_list);
    free(x->i.order_by);
    free(x->i.vk);
    free(x->i.key_cols);
    free(x->auto_col);
    free(x->auto_next);
}

/* ---- foreign keys, indexes, names (for assess and plan) ---------------------- */

/* The column of t named `name`: exactly, else ignoring case (MySQL's column
 * names are case-insensitive, and a catalog may spell one as a constraint
 * did); -1 if none. */
static int column_ci(const source_table *t, const char *name)
{
    int c = column_index(t, name);
    for (int k = 0; k < t->ncols && c < 0; k++)
        if (!strcasecmp(t->cols[k].name, name))
            c = k;
    return c;
}

/* The described table db.name (exactly, else ignoring case, as a server
 * with lower_case_table_names compares), or -1; `hint` is the last answer
 * (the catalog rows come grouped by table). */
static int table_of(const my_source *s, int *hint, const char *db, const char *name)
{
    if (!db || !name)
        return -1;
    if (*hint >= 0 && *hint < s->schema.ntables && !strcmp(s->info[*hint].db, db) &&
        !strcmp(s->info[*hint].table, name))
        return *hint;
    for (int t = 0; t < s->schema.ntables; t++)
        if (!strcmp(s->info[t].db, db) && !strcmp(s->info[t].table, name))
            return *hint = t;
    for (int t = 0; t < s->schema.ntables; t++)
        if (!strcasecmp(s->info[t].db, db) && !strcasecmp(s->info[t].table, name))
            return *hint = t;
    return -1;
}

/* Room for element n of *arr (capacities 4, 8, 16...); 0, or -1 out of
 * memory. */
static int grow(void **arr, int n, size_t sz)
{
    if (n != 0 && (n < 4 || (n & (n - 1))))
        return 0;
    void *p = realloc(*arr, (size_t)(n == 0 ? 4 : 2 * n) * sz);
    if (!p)
        return -1;
    *arr = p;
    return 0;
}

/* Foreign keys of every described table, in one query, columns in
 * constraint order. The referenced table is named as describe names tables
 * when it is one of them, else "db.table" with ref_index -1. */
static int read_fkeys(my_source *s, source_error *err)
{
    MYSQL_RES *res = catalog_query(
        s,
        "SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, "
        "REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
        "WHERE REFERENCED_TABLE_NAME IS NOT NULL AND TABLE_SCHEMA",
        " ORDER BY TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION", err);
    if (!res)
        return -1;
    MYSQL_ROW r;
    int hint = -1, rhint = -1, cur_t = -1;
    char cur[200] = "";
    source_fkey *fk = NULL;
    while ((r = mysql_fetch_row(res))) {
        int t = table_of(s, &hint, r[0], r[1]);
        if (t < 0 || !r[2] || !r[3] || !r[5] || !r[6])
            continue;
        source_table *tb = &s->schema.tables[t];
        if (t != cur_t || strcmp(cur, r[2])) {
            cur_t = t;
            snprintf(cur, sizeof cur, "%s", r[2]);
            if (grow((void **)&tb->fkeys, tb->nfkeys, sizeof *tb->fkeys))
                goto nomem;
            fk = &tb->fkeys[tb->nfkeys++];
            memset(fk, 0, sizeof *fk);
            const char *rdb = r[4] ? r[4] : r[0];
            fk->ref_index = table_of(s, &rhint, rdb, r[5]);
            if (!(fk->name = strdup(r[2])))
                goto nomem;
            if (fk->ref_index >= 0) {
                fk->ref_table = strdup(s->schema.tables[fk->ref_index].name);
            } else {
                size_t n = strlen(rdb) + strlen(r[5]) + 2;
                if ((fk->ref_table = malloc(n)))
                    snprintf(fk->ref_table, n, "%s.%s", rdb, r[5]);
            }
            if (!fk->ref_table)
                goto nomem;
        }
        if (grow((void **)&fk->cols, fk->ncols, sizeof *fk->cols) ||
            grow((void **)&fk->ref_cols, fk->ncols, sizeof *fk->ref_cols))
            goto nomem;
        fk->cols[fk->ncols] = column_ci(tb, r[3]);
        fk->ref_cols[fk->ncols] = strdup(r[6]);
        fk->ncols++;
        if (!fk->ref_cols[fk->ncols - 1])
            goto nomem;
        if (fk->cols[fk->ncols - 1] < 0) {
            source_fail(err, SRC_E_SCHEMA, "table %s changed while its schema was read (a "
                        "column of foreign key %s is new): run again", tb->name, fk->name);
            mysql_free_result(res);
            return -1;
        }
    }
    mysql_free_result(res);
    return 0;
nomem:
    mysql_free_result(res);
    return source_fail(err, SRC_E_NOMEM, "out of memory reading the schema of %s", s->redacted);
}

/* Secondary indexes of every described table, in one query: every index
 * but PRIMARY (InnoDB's own indexes for foreign keys included), by name,
 * with a note for fulltext, spatial and hash indexes, column prefixes
 * (SUB_PART: characters, or bytes of a binary column) and expression
 * parts (MySQL 8's functional indexes, column -1). */
static int read_indexes(my_source *s, source_error *err)
{
    MYSQL_RES *res = catalog_query(
        s,
        "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, "
        "INDEX_TYPE FROM information_schema.STATISTICS WHERE INDEX_NAME <> 'PRIMARY' AND "
        "TABLE_SCHEMA",
        " ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX", err);
    if (!res)
        return -1;
    MYSQL_ROW r;
    int hint = -1, cur_t = -1, expr_noted = 0;
    char cur[200] = "";
    source_index *ix = NULL;
    cs_buf note;
    cs_buf_init(&note, 1 << 16);
    while (1) {
        r = mysql_fetch_row(res);
        int t = r ? table_of(s, &hint, r[0], r[1]) : -1;
        if (r && (t < 0 || !r[2]))
            continue;
        int next = !r || t != cur_t || strcmp(cur, r[2]);
        if (next && ix && note.len) {   /* the index that just ended */
            if (cs_buf_append(&note, "", 1) || !(ix->note = strdup((const char *)note.data)))
                goto nomem;
        }
        if (!r)
            break;
        source_table *tb = &s->schema.tables[t];
        if (next) {
            cur_t = t;
            snprintf(cur, sizeof cur, "%s", r[2]);
            cs_buf_reset(&note);
            expr_noted = 0;
            if (grow((void **)&tb->indexes, tb->nindexes, sizeof *tb->indexes))
                goto nomem;
            ix = &tb->indexes[tb->nindexes++];
            memset(ix, 0, sizeof *ix);
            if (!(ix->name = strdup(r[2])))
                goto nomem;
            ix->unique = r[3] && !strcmp(r[3], "0");
            const char *type = r[6] ? r[6] : "BTREE";
            const char *what = !strcmp(type, "FULLTEXT") ? "fulltext index"
                               : !strcmp(type, "SPATIAL") ? "spatial index"
                               : !strcmp(type, "HASH")    ? "hash index"
                                                          : NULL;
            if (what && cs_buf_printf(&note, "%s", what))
                goto nomem;
        }
        if (grow((void **)&ix->cols, ix->ncols, sizeof *ix->cols))
            goto nomem;
        int c = r[4] ? column_ci(tb, r[4]) : -1;
        ix->cols[ix->ncols++] = c;
        if (r[4] && c < 0) {
            source_fail(err, SRC_E_SCHEMA, "table %s changed while its schema was read (a "
                        "column of index %s is new): run again", tb->name, ix->name);
            cs_buf_release(&note);
            mysql_free_result(res);
            return -1;
        }
        if (!r[4] && !expr_noted++ &&
            cs_buf_printf(&note, "%sexpression index", note.len ? "; " : ""))
            goto nomem;
        /* a spatial index's SUB_PART is its fixed MBR size, not a prefix */
        if (r[4] && r[5] && !(r[6] && !strcmp(r[6], "SPATIAL")) &&
            cs_buf_printf(&note, "%sprefix %s(%s)", note.len ? "; " : "", r[4], r[5]))
            goto nomem;
    }
    cs_buf_release(&note);
    mysql_free_result(res);
    return 0;
nomem:
    cs_buf_release(&note);
    mysql_free_result(res);
    return source_fail(err, SRC_E_NOMEM, "out of memory reading the schema of %s", s->redacted);
}

/* Quoted names, foreign keys and indexes of the described tables. */
static int describe_relations(my_source *s, source_error *err)
{
    for (int t = 0; t < s->schema.ntables; t++)
        if (!(s->schema.tables[t].sql_name = strdup(s->info[t].qname)))
            return source_fail(err, SRC_E_NOMEM, "out of memory reading the schema of %s",
                               s->redacted);
    if (s->schema.ntables == 0)
        return 0;
    return read_fkeys(s, err) || read_indexes(s, err) ? -1 : 0;
}

int my_describe(my_source *s, source_error *err)
{
    tbl *ts = NULL;
    int nt = 0, cap = 0, rc = -1, hint = 0;
    MYSQL_RES *res = NULL;
    MYSQL_ROW r;
    char **json_cols = NULL;    /* "db\0table\0column" of MariaDB JSON columns */
    int njson = 0;

    /* the databases exist (names compared exactly) */
    if (!(res = catalog_query(s, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE "
                                 "SCHEMA_NAME", "", err)))
        return -1;
    for (int d = 0; d < s->ndbs; d++) {
        int found = 0;
        mysql_data_seek(res, 0);
        while ((r = mysql_fetch_row(res)))
            found |= r[0] && !strcmp(r[0], s->dbs[d]);
        if (!found) {
            mysql_free_result(res);
            return source_fail(err, SRC_E_USAGE, "database '%s' does not exist on %s (or this "
                               "user may not see it)", s->dbs[d], s->redacted);
        }
    }
    mysql_free_result(res);

    int zero_dates = 1;
    if (!mysql_query(s->coord, "SELECT @@GLOBAL.sql_mode, @@GLOBAL.log_bin") &&
        (res = mysql_store_result(s->coord))) {
        if ((r = mysql_fetch_row(res))) {
            const char *m = r[0] ? r[0] : "";
            zero_dates = !(strstr(m, "NO_ZERO_DATE") && strstr(m, "NO_ZERO_IN_DATE") &&
                           strstr(m, "STRICT_"));
            if (r[1] && !strcmp(r[1], "0"))
                my_note(s, "binary logging is off on the server (log_bin): the copy works, but "
                           "change capture could not start from its snapshot");
        }
        mysql_free_result(res);
    }

    if (s->mariadb) {
        if (!(res = catalog_query(s, "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE FROM "
                                     "information_schema.CHECK_CONSTRAINTS WHERE "
                                     "CHECK_CLAUSE LIKE 'json\\_valid(%' AND CONSTRAINT_SCHEMA",
                                  "", err)))
            return -1;
        json_cols = calloc(mysql_num_rows(res) + 1, sizeof *json_cols);
        if (!json_cols) {
            mysql_free_result(res);
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        }
        while ((r = mysql_fetch_row(res))) {
            /* json_valid(`col`) */
            const char *a = r[2] ? strchr(r[2], '`') : NULL, *b = a ? strchr(a + 1, '`') : NULL;
            if (!r[0] || !r[1] || !b || strcmp(b, "`)"))
                continue;
            size_t l0 = strlen(r[0]), l1 = strlen(r[1]), l2 = (size_t)(b - a - 1);
            char *k = malloc(l0 + l1 + l2 + 3);
            if (!k)
                continue;
            memcpy(k, r[0], l0 + 1);
            memcpy(k + l0 + 1, r[1], l1 + 1);
            memcpy(k + l0 + l1 + 2, a + 1, l2);
            k[l0 + l1 + 2 + l2] = 0;
            json_cols[njson++] = k;
        }
        mysql_free_result(res);
    }

    if (!(res = catalog_query(s, "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, "
                                 "TABLE_ROWS, AUTO_INCREMENT, DATA_LENGTH FROM "
                                 "information_schema.TABLES WHERE TABLE_SCHEMA",
                              " ORDER BY TABLE_SCHEMA, TABLE_NAME", err)))
        goto out;
    while ((r = mysql_fetch_row(res))) {
        const char *type = r[2] ? r[2] : "";
        char full[600];
        snprintf(full, sizeof full, "%s%s%s", s->ndbs > 1 ? r[0] : "", s->ndbs > 1 ? "." : "",
                 r[1]);
        if (strstr(type, "VIEW")) {
            my_note(s, "%s is a view: skipped (its rows come from tables that are copied, or "
                       "copy it as a table first)", full);
            continue;
        }
        if (!strcmp(type, "SEQUENCE")) {
            my_note(s, "%s is a sequence: skipped", full);
            continue;
        }
        if (strcmp(type, "BASE TABLE") && strcmp(type, "SYSTEM VERSIONED"))
            continue;
        if (nt == cap) {
            int nc = cap ? cap * 2 : 32;
            tbl *n = realloc(ts, (size_t)nc * sizeof *n);
            if (!n)
                goto nomem;
            ts = n;
            cap = nc;
        }
        tbl *x = &ts[nt++];
        memset(x, 0, sizeof *x);
        x->t.row_estimate = r[4] ? strtoll(r[4], NULL, 10) : -1;
        x->t.bytes_estimate = r[6] ? strtoll(r[6], NULL, 10) : -1;
        if (!(x->t.name = strdup(full)) || !(x->t.schema = strdup(r[0])) ||
            !(x->i.db = strdup(r[0])) || !(x->i.table = strdup(r[1])) ||
            (r[5] && !(x->auto_next = strdup(r[5]))))
            goto nomem;
        if (!strcmp(type, "SYSTEM VERSIONED"))
            my_note(s, "%s is system-versioned: its current rows are copied, not its history",
                    full);
        if (r[3] && strcasecmp(r[3], "InnoDB"))
            my_note(s, "%s uses the %s engine, which has no transactions: the snapshot does "
                       "not cover it, and rows changed during the copy may be copied half-way",
                    full, r[3]);
    }
    mysql_free_result(res);
    res = NULL;

    if (!(res = catalog_query(s, "SELECT TABLE_SCHEMA, TABLE_NAME, DATA_TYPE, COLUMN_TYPE, "
                                 "IS_NULLABLE, CHARACTER_SET_NAME, CHARACTER_MAXIMUM_LENGTH, "
                                 "NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, EXTRA, "
                                 "COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA",
                              " ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION", err)))
        goto out;
    while ((r = mysql_fetch_row(res))) {
        if (!r[0] || !r[1] || !r[11])
            continue;
        tbl *x = find_tbl(ts, nt, &hint, r[0], r[1]);
        if (!x)
            continue;   /* a view's columns */
        if (x->t.ncols == x->cap) {
            int nc = x->cap ? x->cap * 2 : 16;
            source_column *n = realloc(x->t.cols, (size_t)nc * sizeof *n);
            if (n)
                x->t.cols = n;
            my_vk *nv = realloc(x->i.vk, (size_t)nc * sizeof *nv);
            if (nv)
                x->i.vk = nv;
            if (!n || !nv)
                goto nomem;
            x->cap = nc;
        }
        source_column *c = &x->t.cols[x->t.ncols];
        memset(c, 0, sizeof *c);
        x->t.ncols++;
        if (!(c->name = strdup(r[11])) || !(c->decl_type = strdup(r[3] ? r[3] : "")))
            goto nomem;
        c->notnull = r[4] && !strcmp(r[4], "NO");
        int is_json = 0;
        for (int j = 0; j < njson && !is_json; j++) {
            const char *k = json_cols[j];
            const char *kt = k + strlen(k) + 1, *kc = kt + strlen(kt) + 1;
            is_json = !strcmp(k, r[0]) && !strcmp(kt, r[1]) && !strcmp(kc, r[11]);
        }
        if (map_column(r, zero_dates, is_json, c, &x->i.vk[x->t.ncols - 1]))
            goto nomem;
        if (r[10] && strstr(r[10], "auto_increment") && !x->auto_col &&
            !(x->auto_col = strdup(r[11])))
            goto nomem;
    }
    mysql_free_result(res);
    res = NULL;

    if (!(res = catalog_query(s, "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, COLUMN_NAME "
                                 "FROM information_schema.STATISTICS WHERE NON_UNIQUE = 0 AND "
                                 "TABLE_SCHEMA",
                              " ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME = 'PRIMARY' DESC, "
                              "INDEX_NAME, SEQ_IN_INDEX", err)))
        goto out;
    {
        /* per table: the first index (PRIMARY sorts first) whose columns
         * are all NOT NULL */
        tbl *cur = NULL;
        char idx[200] = "";
        int chosen = 0, ok = 0, npos = 0;
        while (1) {
            r = mysql_fetch_row(res);
            tbl *x = r && r[0] && r[1] ? find_tbl(ts, nt, &hint, r[0], r[1]) : NULL;
            int new_index = !r || x != cur || strcmp(idx, r[2] ? r[2] : "");
            if (new_index && cur && !chosen) {
                /* the index that just ended */
                if (ok && npos > 0) {
                    chosen = 1;
                    cur->key_from_unique = strcmp(idx, "PRIMARY") != 0;
                } else {
                    for (int c = 0; c < cur->t.ncols; c++)
                        cur->t.cols[c].pk_pos = 0;
                    cur->t.npk = 0;
                }
            }
            if (!r)
                break;
            if (!x)
                continue;
            if (x != cur) {
                cur = x;
                chosen = 0;
                idx[0] = 0;
            }
            if (chosen)
                continue;
            if (new_index) {
                snprintf(idx, sizeof idx, "%s", r[2] ? r[2] : "");
                ok = 1;
                npos = 0;
                for (int c = 0; c < x->t.ncols; c++)
                    x->t.cols[c].pk_pos = 0;
                x->t.npk = 0;
            }
            int c = r[3] ? column_index(&x->t, r[3]) : -1;
            if (c < 0 || !x->t.cols[c].notnull) {
                ok = 0;
                continue;
            }
            x->t.cols[c].pk_pos = ++npos;
            x->t.npk = npos;
        }
    }
    mysql_free_result(res);
    res = NULL;

    for (int k = 0; k < nt; k++) {
        if (ts[k].t.ncols == 0)
            continue;
        if (finish_table(s, &ts[k]))
            goto nomem;
    }
    /* hand over */
    s->schema.tables = calloc((size_t)nt + 1, sizeof *s->schema.tables);
    s->info = calloc((size_t)nt + 1, sizeof *s->info);
    if (!s->schema.tables || !s->info)
        goto nomem;
    int n = 0;
    for (int k = 0; k < nt; k++) {
        if (ts[k].t.ncols == 0)
            continue;
        s->schema.tables[n] = ts[k].t;
        s->info[n] = ts[k].i;
        free(ts[k].auto_col);
        free(ts[k].auto_next);
        memset(&ts[k], 0, sizeof ts[k]);
        n++;
    }
    s->schema.ntables = n;
    if (describe_relations(s, err)) {
        my_info_free(s->info, n);
        s->info = NULL;
        source_schema_free(&s->schema);
        goto out;
    }
    if (n == 0)
        my_note(s, "%s: no tables in database%s %s", s->redacted, s->ndbs > 1 ? "s" : "",
                s->dbs[0]);
    rc = 0;
    goto out;
nomem:
    source_fail(err, SRC_E_NOMEM, "out of memory reading the schema of %s", s->redacted);
out:
    if (res)
        mysql_free_result(res);
    for (int k = 0; k < nt; k++)
        tbl_free(&ts[k]);
    free(ts);
    for (int j = 0; j < njson; j++)
        free(json_cols[j]);
    free(json_cols);
    if (rc) {
        my_info_free(s->info, 0);
        s->info = NULL;
        free(s->schema.tables);
        s->schema.tables = NULL;
        s->schema.ntables = 0;
    }
    return rc;
}
