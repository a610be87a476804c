/* PostgreSQL source: reading the catalogs (describe).
 *
 * Tables: ordinary tables and partitioned parents (relkind r, p) of every
 * user schema, or of the --schema list. A partition is not a table of its
 * own: its rows are copied once, through its topmost listed ancestor (one
 * whose ancestors --schema all leaves out is a table of its own). A plain
 * inheritance child is, and every table is read with ONLY so that a
 * parent's copy does not hold its children's rows too. Views, materialized
 * views and foreign tables are skipped with a note, and so is a table the
 * user may not read; a view or materialized view named with --tables
 * (source_ops.want_views) is described as a table without a key.
 *
 * Columns: in attnum order without dropped ones, each with a logical type
 * (domains resolved to their base type) and the expression the range query
 * selects: the column itself where its binary form is decoded (pg_copy.c),
 * or a cast (money::numeric, anything without a CQL counterpart ::text).
 *
 * For assess and plan: foreign keys (pg_constraint) and secondary indexes
 * (pg_index) of every table in one query each, the size of the data
 * (pages in the statistics, no lock; a partitioned table's is its leaves') and the quoted,
 * qualified name.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "source/pg_int.h"

/* PostgreSQL's built-in type OIDs (pg_type.dat; stable across versions). */
enum {
    OID_BOOL = 16, OID_BYTEA = 17, OID_CHAR = 18, OID_NAME = 19, OID_INT8 = 20, OID_INT2 = 21,
    OID_INT2VECTOR = 22, OID_INT4 = 23, OID_TEXT = 25, OID_OID = 26, OID_OIDVECTOR = 30,
    OID_JSON = 114, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_MONEY = 790, OID_INET = 869,
    OID_BPCHAR = 1042, OID_VARCHAR = 1043, OID_DATE = 1082, OID_TIME = 1083,
    OID_TIMESTAMP = 1114, OID_TIMESTAMPTZ = 1184, OID_INTERVAL = 1186, OID_NUMERIC = 1700,
    OID_UUID = 2950, OID_JSONB = 3802,
};

/* A type after following domains to their base. */
typedef struct pg_type_info {
    uint32_t oid;
    int typmod;
    char typtype;           /* b base, e enum, c composite, r range, m multirange, p pseudo */
    char category;          /* typcategory: A array, S string... */
    uint32_t elem;          /* arrays: the element type */
    char name[128];
    int domain;             /* reached through a domain */
    char domain_name[128];
} pg_type_info;

static PGresult *exec1(pg_source *s, const char *sql, const char *param, const char *what,
                       source_error *err)
{
    const char *vals[1] = {param};
    /* a NULL param is SQL NULL when the query has $1 */
    int np = param || strstr(sql, "$1") ? 1 : 0;
    PGresult *r = PQexecParams(s->coord, sql, np, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    char reason[400];
    pg_conn_reason(s->coord, reason, sizeof reason);
    source_fail(err, SRC_E_SCHEMA, "cannot %s on PostgreSQL %s: %s", what, s->red, reason);
    PQclear(r);
    return NULL;
}

/* Follow domains from (oid, typmod) to the base type. */
static int resolve_type(pg_source *s, uint32_t oid, int typmod, pg_type_info *ti,
                        source_error *err)
{
    memset(ti, 0, sizeof *ti);
    for (int depth = 0; depth < 32; depth++) {
        char p[16];
        snprintf(p, sizeof p, "%u", oid);
        PGresult *r = exec1(s,
                            "SELECT typtype, typbasetype, typtypmod, typelem, typcategory, "
                            "format_type(oid, NULL) FROM pg_type WHERE oid = $1",
                            p, "read a column type", err);
        if (!r)
            return -1;
        if (PQntuples(r) != 1) {
            PQclear(r);
            return source_fail(err, SRC_E_SCHEMA, "type %u vanished from PostgreSQL %s", oid,
                               s->red);
        }
        char typtype = PQgetvalue(r, 0, 0)[0];
        if (typtype == 'd') {
            if (!ti->domain)
                snprintf(ti->domain_name, sizeof ti->domain_name, "%s", PQgetvalue(r, 0, 5));
            ti->domain = 1;
            oid = (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
            int base_mod = atoi(PQgetvalue(r, 0, 2));
            if (typmod < 0)
                typmod = base_mod;
            PQclear(r);
            continue;
        }
        ti->oid = oid;
        ti->typmod = typmod;
        ti->typtype = typtype;
        ti->elem = (uint32_t)strtoul(PQgetvalue(r, 0, 3), NULL, 10);
        ti->category = PQgetvalue(r, 0, 4)[0];
        snprintf(ti->name, sizeof ti->name, "%s", PQgetvalue(r, 0, 5));
        PQclear(r);
        return 0;
    }
    return source_fail(err, SRC_E_SCHEMA, "domain nesting too deep for type %u", oid);
}

/* How a (base) type is read: its logical type, decoder, and the cast the
 * query needs ("" none, "text", "numeric"). */
typedef struct type_map {
    src_ltype ltype;
    pg_dec dec;
    const char *cast;
    const char *note;
} type_map;

static type_map map_scalar(const pg_type_info *t)
{
    switch (t->oid) {
    case OID_BOOL: return (type_map){SL_BOOL, PGD_BOOL, "", NULL};
    case OID_INT2: return (type_map){SL_INT16, PGD_INT2, "", NULL};
    case OID_INT4: return (type_map){SL_INT32, PGD_INT4, "", NULL};
    case OID_INT8: return (type_map){SL_INT64, PGD_INT8, "", NULL};
    case OID_OID: return (type_map){SL_INT64, PGD_OID, "", NULL};
    case OID_FLOAT4: return (type_map){SL_FLOAT32, PGD_FLOAT4, "", NULL};
    case OID_FLOAT8: return (type_map){SL_FLOAT64, PGD_FLOAT8, "", NULL};
    case OID_NUMERIC:
        return (type_map){SL_DECIMAL, PGD_NUMERIC, "", NULL};
    case OID_MONEY:
        return (type_map){SL_DECIMAL, PGD_NUMERIC, "numeric",
                          "money is copied as its exact numeric amount (cast to numeric; the "
                          "currency symbol and lc_monetary formatting are not kept)"};
    case OID_TEXT:
    case OID_VARCHAR:
    case OID_NAME: return (type_map){SL_TEXT, PGD_TEXT, "", NULL};
    case OID_BPCHAR:
        return (type_map){SL_TEXT, PGD_TEXT, "",
                          "char(n) values keep PostgreSQL's blank padding to n characters"};
    case OID_BYTEA: return (type_map){SL_BYTES, PGD_BYTEA, "", NULL};
    case OID_UUID: return (type_map){SL_UUID, PGD_UUID, "", NULL};
    case OID_DATE:
        return (type_map){SL_DATE, PGD_DATE, "",
                          "±infinity is rejected per value"};
    case OID_TIME: return (type_map){SL_TIME, PGD_TIME, "", NULL};
    case OID_TIMESTAMP:
    case OID_TIMESTAMPTZ:
        return (type_map){SL_TIMESTAMP, PGD_TIMESTAMP, "",
                          "±infinity is rejected per value"};
    case OID_INTERVAL:
        return (type_map){SL_INTERVAL, PGD_INTERVAL, "", NULL};
    case OID_INET:
        return (type_map){SL_INET, PGD_INET, "",
                          "inet values with a network prefix (10.1.0.0/16) have no CQL inet: "
                          "such values are rejected (host addresses are exact)"};
    case OID_JSON: return (type_map){SL_JSON, PGD_TEXT, "", NULL};
    case OID_JSONB:
        return (type_map){SL_JSON, PGD_JSONB, "",
                          "jsonb is copied as PostgreSQL's normalized text (keys sorted and "
                          "deduplicated as jsonb stores them)"};
    default: break;
    }
    if (t->typtype == 'e')
        return (type_map){SL_ENUM, PGD_TEXT, "", NULL};
    if (t->typtype == 'b' && t->category == 'S' && t->oid != OID_CHAR)
        return (type_map){SL_TEXT, PGD_TEXT, "text", NULL};   /* citext and the like */
    return (type_map){SL_TEXT_FORM, PGD_TEXT, "text", NULL};
}

/* Enum labels of type oid, in sort order. */
static int enum_labels(pg_source *s, uint32_t oid, source_column *c, source_error *err)
{
    char p[16];
    snprintf(p, sizeof p, "%u", oid);
    PGresult *r = exec1(s, "SELECT enumlabel FROM pg_enum WHERE enumtypid = $1 ORDER BY enumsortorder",
                        p, "read enum labels", err);
    if (!r)
        return -1;
    int n = PQntuples(r);
    c->labels = calloc((size_t)n + 1, sizeof *c->labels);
    if (!c->labels) {
        PQclear(r);
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        if (!(c->labels[i] = strdup(PQgetvalue(r, i, 0)))) {
            PQclear(r);
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        }
        c->nlabels = i + 1;
    }
    PQclear(r);
    return 0;
}

static void typmod_details(source_column *c, const pg_type_info *t)
{
    int m = t->typmod;
    c->precision = -1;
    c->scale = -1;
    switch (t->oid) {
    case OID_NUMERIC:
        if (m >= 4) {
            c->precision = ((m - 4) >> 16) & 0xffff;
            c->scale = ((((m - 4) & 0x7ff) ^ 1024)) - 1024;
        } else {
            c->precision = 0;
        }
        break;
    case OID_MONEY:
        c->precision = 0;
        c->scale = 2;
        break;
    case OID_VARCHAR:
    case OID_BPCHAR:
        c->length = m >= 4 ? m - 4 : 0;
        break;
    case OID_TIME:
    case OID_TIMESTAMP:
    case OID_TIMESTAMPTZ:
        c->precision = m >= 0 ? m : 6;
        c->with_tz = t->oid == OID_TIMESTAMPTZ;
        break;
    default:
        break;
    }
}

/* Append "; " + text to a malloc'd note. */
static int note_add(char **note, const char *text)
{
    if (!text)
        return 0;
    size_t a = *note ? strlen(*note) : 0, b = strlen(text);
    char *n = realloc(*note, a + b + 3);
    if (!n)
        return -1;
    if (a)
        memcpy(n + a, "; ", 2), a += 2;
    memcpy(n + a, text, b + 1);
    *note = n;
    return 0;
}

/* Logical type, decoder, query expression and note of one column. */
static int describe_column(pg_source *s, source_column *c, pg_col *pc, uint32_t typoid,
                           int typmod, int attndims, char generated, char identity,
                           source_error *err)
{
    pg_type_info t;
    if (resolve_type(s, typoid, typmod, &t, err))
        return -1;
    char *id = pg_ident(s->coord, c->name);
    if (!id)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    const char *cast = "";
    char note[400];
    int is_array = t.category == 'A' && t.elem != 0 && t.oid != OID_INT2VECTOR &&
                   t.oid != OID_OIDVECTOR;
    if (is_array) {
        pg_type_info e;
        if (resolve_type(s, t.elem, t.typmod, &e, err)) {
            free(id);
            return -1;
        }
        type_map m = map_scalar(&e);
        c->ltype = SL_ARRAY;
        c->elem = m.ltype;
        c->dims = attndims > 0 ? attndims : 1;
        pc->dec = PGD_ARRAY;
        pc->elem_dec = m.dec;
        pc->dims = c->dims;
        cast = !strcmp(m.cast, "text") ? "text[]" : !strcmp(m.cast, "numeric") ? "numeric[]" : "";
        typmod_details(c, &e);
        if (m.ltype == SL_ENUM && enum_labels(s, e.oid, c, err)) {
            free(id);
            return -1;
        }
        snprintf(note, sizeof note,
                 "arrays with lower bounds other than 1, or with other than %d dimension%s, "
                 "are rejected per value; an empty array lands as null (CQL has no empty "
                 "list)",
                 c->dims, c->dims == 1 ? "" : "s");
        if (note_add(&c->note, note) || note_add(&c->note, m.note))
            goto nomem;
        if (m.ltype == SL_TEXT_FORM) {
            snprintf(note, sizeof note, "elements copied as PostgreSQL's text form of %s", e.name);
            if (note_add(&c->note, note))
                goto nomem;
        }
    } else {
        type_map m = map_scalar(&t);
        c->ltype = m.ltype;
        pc->dec = m.dec;
        cast = m.cast;
        typmod_details(c, &t);
        if (m.ltype == SL_ENUM && enum_labels(s, t.oid, c, err)) {
            free(id);
            return -1;
        }
        if (note_add(&c->note, m.note))
            goto nomem;
    }
    if (t.domain) {
        snprintf(note, sizeof note, "domain %s over %s", t.domain_name, t.name);
        if (note_add(&c->note, note))
            goto nomem;
    }
    if (generated == 's' && note_add(&c->note, "generated column (STORED): its values are copied"))
        goto nomem;
    if (identity == 'a' || identity == 'd') {
        snprintf(note, sizeof note,
                 "identity column (GENERATED %s AS IDENTITY): its values are copied",
                 identity == 'a' ? "ALWAYS" : "BY DEFAULT");
        if (note_add(&c->note, note))
            goto nomem;
    }
    size_t n = strlen(id) + strlen(cast) + 3;
    pc->expr = malloc(n);
    pc->type_sql = strdup(c->decl_type);
    if (!pc->expr || !pc->type_sql)
        goto nomem;
    snprintf(pc->expr, n, "%s%s%s", id, *cast ? "::" : "", cast);
    free(id);
    return 0;
nomem:
    free(id);
    return source_fail(err, SRC_E_NOMEM, "out of memory");
}

/* Decoders whose decoded value gives a key column's text form. */
static int key_text_from_value(pg_dec d)
{
    return d == PGD_INT2 || d == PGD_INT4 || d == PGD_INT8 || d == PGD_OID || d == PGD_TEXT ||
           d == PGD_NUMERIC || d == PGD_UUID || d == PGD_BOOL;
}

typedef struct rel_row {
    uint32_t oid;
    const char *nsp, *rel;
    char kind;
    double tuples;
    int readable;
    const char *parents;
    int nleaves;
    int64_t bytes;          /* relpages (of its leaves, partitioned) x block size, -1 unknown */
    int populated;          /* materialized views: REFRESHed at least once */
    int partition;          /* a partition whose parents --schema leaves out */
} rel_row;

/* Whether nsp.rel is among the views the user named (source_ops.want_views:
 * "name" or "schema.name", without regard to case). */
static int view_wanted(const pg_source *s, const char *nsp, const char *rel)
{
    if (!s->want_views)
        return 0;
    size_t nn = strlen(nsp), rn = strlen(rel);
    for (const char *p = s->want_views; *p;) {
        size_t len = strcspn(p, ",");
        if ((len == rn && !strncasecmp(p, rel, rn)) ||
            (len == nn + 1 + rn && !strncasecmp(p, nsp, nn) && p[nn] == '.' &&
             !strncasecmp(p + nn + 1, rel, rn)))
            return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

static int describe_table(pg_source *s, const rel_row *rr, int qualify, source_table *tb,
                          pg_table *pt, source_error *err)
{
    char p[16];
    snprintf(p, sizeof p, "%u", rr->oid);
    size_t nl = strlen(rr->nsp) + strlen(rr->rel) + 2;
    tb->name = malloc(nl);
    tb->schema = strdup(rr->nsp);
    char *qn = pg_ident(s->coord, rr->nsp), *qr = pg_ident(s->coord, rr->rel);
    if (!tb->name || !tb->schema || !qn || !qr) {
        free(qn);
        free(qr);
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    }
    if (qualify)
        snprintf(tb->name, nl, "%s.%s", rr->nsp, rr->rel);
    else
        snprintf(tb->name, nl, "%s", rr->rel);
    pt->qname = malloc(strlen(qn) + strlen(qr) + 2);
    if (pt->qname)
        sprintf(pt->qname, "%s.%s", qn, qr);
    free(qn);
    free(qr);
    if (!pt->qname)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    pt->oid = rr->oid;
    pt->relkind = rr->kind;
    pt->only = rr->kind == 'r' ? "ONLY " : "";   /* views take no ONLY */
    tb->row_estimate = rr->tuples < 0 ? -1 : (int64_t)rr->tuples;

    PGresult *cr = exec1(s,
                         "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
                         "a.atttypid, a.atttypmod, a.attndims, a.attgenerated, a.attidentity "
                         "FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 "
                         "AND NOT a.attisdropped ORDER BY a.attnum",
                         p, "read the columns", err);
    if (!cr)
        return -1;
    PGresult *kr = exec1(s,
                         "SELECT a.attname FROM pg_constraint k CROSS JOIN LATERAL "
                         "unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord) JOIN pg_attribute a "
                         "ON a.attrelid = k.conrelid AND a.attnum = u.attnum "
                         "WHERE k.conrelid = $1 AND k.contype = 'p' ORDER BY u.ord",
                         p, "read the primary key", err);
    if (!kr) {
        PQclear(cr);
        return -1;
    }
    int ncols = PQntuples(cr), npk = PQntuples(kr);
    int off = npk == 0 ? 1 : 0;     /* slot 0: the synthetic rowid */
    int rc = -1;
    tb->cols = calloc((size_t)ncols + 1, sizeof *tb->cols);
    pt->cols = calloc((size_t)ncols + 1, sizeof *pt->cols);
    pt->key = calloc((size_t)(npk ? npk : 1), sizeof *pt->key);
    pt->key_extra = calloc((size_t)(npk ? npk : 1), sizeof *pt->key_extra);
    if (!tb->cols || !pt->cols || !pt->key || !pt->key_extra) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto out;
    }
    if (ncols == 0) {   /* nothing to copy: the caller skips it with a note */
        rc = 1;
        goto out;
    }
    tb->ncols = ncols + off;
    size_t siglen = 1;
    for (int i = 0; i < ncols; i++)
        siglen += strlen(PQgetvalue(cr, i, 0)) + strlen(PQgetvalue(cr, i, 3)) +
                  strlen(PQgetvalue(cr, i, 4)) + 3;
    if (!(pt->colsig = malloc(siglen))) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto out;
    }
    pt->colsig[0] = 0;
    for (int i = 0; i < ncols; i++) {
        size_t at = strlen(pt->colsig);
        snprintf(pt->colsig + at, siglen - at, "%s%s\x1f%s\x1f%s", i ? "\x1e" : "",
                 PQgetvalue(cr, i, 0), PQgetvalue(cr, i, 3), PQgetvalue(cr, i, 4));
    }
    for (int i = 0; i < ncols; i++) {
        source_column *c = &tb->cols[i + off];
        c->name = strdup(PQgetvalue(cr, i, 0));
        c->decl_type = strdup(PQgetvalue(cr, i, 1));
        if (!c->name || !c->decl_type) {
            source_fail(err, SRC_E_NOMEM, "out of memory");
            goto out;
        }
        c->notnull = PQgetvalue(cr, i, 2)[0] == 't';
        c->precision = c->scale = -1;
        for (int k = 0; k < npk; k++)
            if (!strcmp(PQgetvalue(kr, k, 0), c->name)) {
                c->pk_pos = k + 1;
                pt->key[k] = i + off;
            }
        if (describe_column(s, c, &pt->cols[i + off], (uint32_t)strtoul(PQgetvalue(cr, i, 3), NULL, 10),
                            atoi(PQgetvalue(cr, i, 4)), atoi(PQgetvalue(cr, i, 5)),
                            PQgetvalue(cr, i, 6)[0], PQgetvalue(cr, i, 7)[0], err))
            goto out;
    }
    tb->npk = npk;
    if (npk == 0) {
        /* the synthetic rowid: a name no column has */
        static const char *const names[] = {"rowid", "_rowid", "cqlshift_rowid"};
        const char *rid = NULL;
        for (int i = 0; i < 3 && !rid; i++) {
            int taken = 0;
            for (int c = 1; c < tb->ncols && !taken; c++)
                taken = !strcmp(tb->cols[c].name, names[i]);
            if (!taken)
                rid = names[i];
        }
        if (!rid) {
            source_fail(err, SRC_E_SCHEMA,
                        "table %s has no primary key and columns named rowid, _rowid and "
                        "cqlshift_rowid: add a primary key or rename one of them", tb->name);
            goto out;
        }
        source_column *c = &tb->cols[0];
        c->name = strdup(rid);
        c->decl_type = strdup("bigint");
        c->note = strdup(rr->kind == 'p'
                             ? "no primary key: rowid is the row's leaf partition and physical "
                               "position (ctid) when copied, unique per row"
                         : rr->kind == 'v'
                             ? "a view has no key: rowid numbers its rows in the order of their "
                               "text form, the same numbering on every read while the rows do "
                               "not change"
                             : "no primary key: rowid is the row's physical position (ctid) when "
                               "copied, unique per row");
        if (!c->name || !c->decl_type || !c->note) {
            source_fail(err, SRC_E_NOMEM, "out of memory");
            goto out;
        }
        c->ltype = SL_INT64;
        c->notnull = 1;
        c->pk_pos = 1;
        c->precision = c->scale = -1;
        tb->uses_rowid = 1;
        tb->npk = 1;
        pt->key[0] = 0;
        pt->key_extra[0] = -1;
        if (rr->kind == 'p') {
            PGresult *lr = exec1(s,
                                 "SELECT t.relid::oid::int8, format('%I.%I', n.nspname, "
                                 "c.relname) FROM pg_partition_tree($1) t JOIN pg_class c ON "
                                 "c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace "
                                 "WHERE t.isleaf ORDER BY 1",
                                 p, "list the partitions", err);
            if (!lr)
                goto out;
            int nleaf = PQntuples(lr);
            pt->leaves = calloc((size_t)nleaf + 1, sizeof *pt->leaves);
            pt->leaf_qnames = calloc((size_t)nleaf + 1, sizeof *pt->leaf_qnames);
            if (!pt->leaves || !pt->leaf_qnames) {
                PQclear(lr);
                source_fail(err, SRC_E_NOMEM, "out of memory");
                goto out;
            }
            for (int i = 0; i < nleaf; i++) {
                pt->leaves[i] = (uint32_t)strtoul(PQgetvalue(lr, i, 0), NULL, 10);
                if (!(pt->leaf_qnames[i] = strdup(PQgetvalue(lr, i, 1)))) {
                    PQclear(lr);
                    source_fail(err, SRC_E_NOMEM, "out of memory");
                    goto out;
                }
                pt->nleaves = i + 1;
            }
            PQclear(lr);
        }
    }

    /* key list, extra key text fields, select list */
    size_t cap = 64;
    for (int c = 0; c < tb->ncols; c++)
        cap += (pt->cols[c].expr ? strlen(pt->cols[c].expr) : 0) * 2 + 16;
    pt->key_list = calloc(1, cap);
    pt->order_list = calloc(1, cap * 2);
    pt->select_list = calloc(1, cap * 3);
    if (!pt->key_list || !pt->order_list || !pt->select_list) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto out;
    }
    if (tb->uses_rowid) {
        /* a view's rowid is counted as its rows arrive (pg_copy.c) */
        strcpy(pt->select_list, rr->kind == 'p' ? "ctid, tableoid" : rr->kind == 'v' ? "" : "ctid");
    } else {
        for (int k = 0; k < npk; k++) {
            char *id = pg_ident(s->coord, tb->cols[pt->key[k]].name);
            if (!id) {
                source_fail(err, SRC_E_NOMEM, "out of memory");
                goto out;
            }
            if (k) {
                strcat(pt->key_list, ", ");
                strcat(pt->order_list, ", ");
            }
            strcat(pt->key_list, id);
            strcat(pt->order_list, "cqlshift_t.");
            strcat(pt->order_list, id);
            free(id);
        }
        pt->key_int = npk == 1 && (pt->cols[pt->key[0]].dec == PGD_INT2 ||
                                   pt->cols[pt->key[0]].dec == PGD_INT4 ||
                                   pt->cols[pt->key[0]].dec == PGD_INT8);
    }
    for (int c = off; c < tb->ncols; c++) {
        if (pt->select_list[0])
            strcat(pt->select_list, ", ");
        strcat(pt->select_list, pt->cols[c].expr);
    }
    if (!tb->uses_rowid)
        for (int k = 0; k < npk; k++) {
            pt->key_extra[k] = -1;
            if (!key_text_from_value(pt->cols[pt->key[k]].dec)) {
                char *id = pg_ident(s->coord, tb->cols[pt->key[k]].name);
                if (!id) {
                    source_fail(err, SRC_E_NOMEM, "out of memory");
                    goto out;
                }
                strcat(pt->select_list, ", ");
                strcat(pt->select_list, id);
                char alias[40];
                snprintf(alias, sizeof alias, "::text AS cqlshift_k%d", k);
                strcat(pt->select_list, alias);
                free(id);
                pt->key_extra[k] = pt->nextra++;
            }
        }
    rc = 0;
out:
    PQclear(cr);
    PQclear(kr);
    return rc;
}

/* ---- foreign keys, indexes (for assess and plan) ----------------------------- */

/* The described table with relation oid `oid`, or -1. The catalog results
 * come ordered by oid, so `hint` (the last answer) is usually right. */
static int table_of_oid(const pg_source *s, uint32_t oid, int *hint)
{
    if (*hint >= 0 && *hint < s->schema.ntables && s->tables[*hint].oid == oid)
        return *hint;
    for (int t = 0; t < s->schema.ntables; t++)
        if (s->tables[t].oid == oid)
            return *hint = t;
    return -1;
}

static int column_of(const source_table *tb, const char *name)
{
    for (int c = 0; c < tb->ncols; c++)
        if (!strcmp(tb->cols[c].name, name))
            return c;
    return -1;
}

/* "{oid,oid,...}" of the described tables: the $1 of the queries below. */
static char *table_oids(const pg_source *s)
{
    size_t n = 3 + (size_t)s->schema.ntables * 11;
    char *a = malloc(n), *p = a;
    if (!a)
        return NULL;
    *p++ = '{';
    for (int t = 0; t < s->schema.ntables; t++)
        p += snprintf(p, n - (size_t)(p - a), "%s%u", t ? "," : "", s->tables[t].oid);
    *p++ = '}';
    *p = 0;
    return a;
}

/* Room for element n of *arr (capacities 4, 8, 16...: a realloc when n
 * reaches one); 0, or -1 out of memory. */
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

/* Foreign keys of the described tables, in one query: their own
 * constraints (not the copies PostgreSQL keeps on partitions or for a
 * partitioned parent's partitions), columns in constraint order. The
 * referenced table is named as describe names tables when it is one of
 * them, else "schema.table" (with ref_index -1), or just "table" when
 * every described table is in that same schema. */
static int read_fkeys(pg_source *s, const char *oids, int qualify, source_error *err)
{
    PGresult *r = exec1(s,
                        "SELECT k.conrelid::int8, k.oid::int8, k.conname, k.confrelid::int8, "
                        "fn.nspname, f.relname, a.attname, fa.attname "
                        "FROM pg_constraint k JOIN pg_class f ON f.oid = k.confrelid "
                        "JOIN pg_namespace fn ON fn.oid = f.relnamespace "
                        "CROSS JOIN LATERAL unnest(k.conkey, k.confkey) WITH ORDINALITY "
                        "AS u(attnum, fattnum, ord) "
                        "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum "
                        "JOIN pg_attribute fa ON fa.attrelid = k.confrelid "
                        "AND fa.attnum = u.fattnum "
                        "WHERE k.contype = 'f' AND k.conparentid = 0 "
                        "AND k.conrelid = ANY ($1::oid[]) "
                        "ORDER BY k.conrelid, k.conname, k.oid, u.ord",
                        oids, "read the foreign keys", err);
    if (!r)
        return -1;
    int hint = -1, rhint = -1;
    source_table *tb = NULL;
    source_fkey *fk = NULL;
    const char *cur_con = NULL;
    for (int i = 0; i < PQntuples(r); i++) {
        int t = table_of_oid(s, (uint32_t)strtoul(PQgetvalue(r, i, 0), NULL, 10), &hint);
        if (t < 0)
            continue;
        tb = &s->schema.tables[t];
        const char *con = PQgetvalue(r, i, 1);
        if (!cur_con || strcmp(cur_con, con)) {
            cur_con = con;
            if (grow((void **)&tb->fkeys, tb->nfkeys, sizeof *tb->fkeys))
                goto nomem;
            fk = &tb->fkeys[tb->nfkeys++];
            memset(fk, 0, sizeof *fk);
            int p = table_of_oid(s, (uint32_t)strtoul(PQgetvalue(r, i, 3), NULL, 10), &rhint);
            fk->ref_index = p;
            if (!(fk->name = strdup(PQgetvalue(r, i, 2))))
                goto nomem;
            if (p >= 0) {
                fk->ref_table = strdup(s->schema.tables[p].name);
            } else {
                const char *nsp = PQgetvalue(r, i, 4), *rel = PQgetvalue(r, i, 5);
                int bare = !qualify && !strcmp(tb->schema, nsp);
                size_t n = strlen(nsp) + strlen(rel) + 2;
                if ((fk->ref_table = malloc(n)))
                    snprintf(fk->ref_table, n, "%s%s%s", bare ? "" : nsp, bare ? "" : ".", rel);
            }
            if (!fk->ref_table)
                goto nomem;
        }
        if (grow((void **)&fk->cols, fk->ncols, sizeof *fk->cols) ||
            grow((void **)&fk->ref_cols, fk->ncols, sizeof *fk->ref_cols))
            goto nomem;
        fk->cols[fk->ncols] = column_of(tb, PQgetvalue(r, i, 6));
        fk->ref_cols[fk->ncols] = strdup(PQgetvalue(r, i, 7));
        fk->ncols++;
        if (!fk->ref_cols[fk->ncols - 1])
            goto nomem;
        if (fk->cols[fk->ncols - 1] < 0)
            goto changed;
    }
    PQclear(r);
    return 0;
changed:
    PQclear(r);
    return source_fail(err, SRC_E_SCHEMA, "table %s changed while its schema was read (a column "
                       "of foreign key %s is new): run again", tb->name, fk->name);
nomem:
    PQclear(r);
    return source_fail(err, SRC_E_NOMEM, "out of memory");
}

/* Append "; " (unless first) and the formatted text to buf (cap bytes, *n
 * used), truncating at the end. */
static void note_addf(char *buf, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void note_addf(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n + 3 >= cap)
        return;
    if (*n) {
        memcpy(buf + *n, "; ", 3);
        *n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (k > 0)
        *n = *n + (size_t)k < cap ? *n + (size_t)k : cap - 1;
}

/* Secondary indexes of the described tables, in one query: every index
 * but the primary key's (UNIQUE constraints are unique indexes), by name,
 * key columns only (an expression is -1), with a note for what a plain
 * column list does not say: expressions, a partial index's predicate, an
 * access method other than btree, an exclusion constraint, INCLUDE columns,
 * an index that is not valid. */
static int read_indexes(pg_source *s, const char *oids, source_error *err)
{
    PGresult *r = exec1(s,
                        "SELECT i.indrelid::int8, i.indexrelid::int8, ic.relname, i.indisunique, "
                        "am.amname, pg_get_expr(i.indpred, i.indrelid), i.indexprs IS NOT NULL, "
                        "i.indisexclusion, i.indnatts - i.indnkeyatts, i.indisvalid, a.attname "
                        "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
                        "JOIN pg_am am ON am.oid = ic.relam "
                        "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY "
                        "AS u(attnum, ord) "
                        "LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid "
                        "AND a.attnum = u.attnum AND u.attnum > 0 "
                        "WHERE i.indrelid = ANY ($1::oid[]) AND NOT i.indisprimary "
                        "AND u.ord <= i.indnkeyatts "
                        "ORDER BY i.indrelid, ic.relname, i.indexrelid, u.ord",
                        oids, "read the indexes", err);
    if (!r)
        return -1;
    int hint = -1;
    source_table *tb = NULL;
    source_index *ix = NULL;
    const char *cur = NULL;
    char note[700];
    for (int i = 0; i < PQntuples(r); i++) {
        int t = table_of_oid(s, (uint32_t)strtoul(PQgetvalue(r, i, 0), NULL, 10), &hint);
        if (t < 0)
            continue;
        tb = &s->schema.tables[t];
        if (!cur || strcmp(cur, PQgetvalue(r, i, 1))) {
            cur = PQgetvalue(r, i, 1);
            if (grow((void **)&tb->indexes, tb->nindexes, sizeof *tb->indexes))
                goto nomem;
            ix = &tb->indexes[tb->nindexes++];
            memset(ix, 0, sizeof *ix);
            if (!(ix->name = strdup(PQgetvalue(r, i, 2))))
                goto nomem;
            ix->unique = PQgetvalue(r, i, 3)[0] == 't';
            size_t n = 0;
            note[0] = 0;
            const char *am = PQgetvalue(r, i, 4);
            int incl = atoi(PQgetvalue(r, i, 8));
            if (PQgetvalue(r, i, 6)[0] == 't')
                note_addf(note, sizeof note, &n, "expression index");
            if (!PQgetisnull(r, i, 5))
                note_addf(note, sizeof note, &n, "partial index (WHERE %.300s)",
                          PQgetvalue(r, i, 5));
            if (strcmp(am, "btree"))
                note_addf(note, sizeof note, &n, "%.60s index", am);
            if (PQgetvalue(r, i, 7)[0] == 't')
                note_addf(note, sizeof note, &n, "exclusion constraint");
            if (incl > 0)
                note_addf(note, sizeof note, &n, "INCLUDE %d more column%s", incl,
                          incl == 1 ? "" : "s");
            if (PQgetvalue(r, i, 9)[0] != 't')
                note_addf(note, sizeof note, &n,
                          "not valid: not used by queries (a failed CREATE INDEX CONCURRENTLY, "
                          "or a partitioned index not on every partition yet)");
            if (n && !(ix->note = strdup(note)))
                goto nomem;
        }
        if (grow((void **)&ix->cols, ix->ncols, sizeof *ix->cols))
            goto nomem;
        ix->cols[ix->ncols++] = PQgetisnull(r, i, 10) ? -1 : column_of(tb, PQgetvalue(r, i, 10));
        if (!PQgetisnull(r, i, 10) && ix->cols[ix->ncols - 1] < 0) {
            PQclear(r);
            return source_fail(err, SRC_E_SCHEMA, "table %s changed while its schema was read "
                               "(a column of index %s is new): run again", tb->name, ix->name);
        }
    }
    PQclear(r);
    return 0;
nomem:
    PQclear(r);
    return source_fail(err, SRC_E_NOMEM, "out of memory");
}

/* Foreign keys and indexes of every described table. */
static int read_keys_and_indexes(pg_source *s, int qualify, source_error *err)
{
    if (s->schema.ntables == 0)
        return 0;
    char *oids = table_oids(s);
    if (!oids)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    int rc = read_fkeys(s, oids, qualify, err) || read_indexes(s, oids, err) ? -1 : 0;
    free(oids);
    return rc;
}

static int add_note(pg_source *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int add_note(pg_source *s, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return json_array_append_new(s->notes, json_string(buf));
}

void pg_tables_free(pg_source *s)
{
    if (!s->tables)
        return;
    for (int t = 0; t < s->schema.ntables; t++) {
        pg_table *pt = &s->tables[t];
        if (pt->cols)
            for (int c = 0; c < s->schema.tables[t].ncols; c++) {
                free(pt->cols[c].expr);
                free(pt->cols[c].type_sql);
            }
        free(pt->cols);
        free(pt->key);
        free(pt->key_extra);
        free(pt->key_list);
        free(pt->order_list);
        free(pt->select_list);
        free(pt->colsig);
        free(pt->qname);
        free(pt->count_sql);
        for (int i = 0; pt->leaf_qnames && i < pt->nleaves; i++)
            free(pt->leaf_qnames[i]);
        free(pt->leaf_qnames);
        free(pt->leaves);
    }
    free(s->tables);
    s->tables = NULL;
}

/* The --schema list as a PostgreSQL text[] literal body ("a,b"), spaces
 * around names removed; checks that each schema exists. */
static int check_schemas(pg_source *s, char **list, source_error *err)
{
    *list = NULL;
    if (!s->schemas)
        return 0;
    size_t n = strlen(s->schemas);
    char *out = malloc(n + 1);
    if (!out)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    size_t o = 0;
    for (const char *p = s->schemas; *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, ",");
        size_t l = len;
        while (l > 0 && p[l - 1] == ' ')
            l--;
        if (l) {
            if (o)
                out[o++] = ',';
            memcpy(out + o, p, l);
            o += l;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    out[o] = 0;
    if (!o) {
        free(out);
        return source_fail(err, SRC_E_USAGE, "--schema is empty: name one or more schemas, "
                                             "separated by commas");
    }
    PGresult *r = exec1(s,
                        "SELECT string_agg(x, ', ') FROM unnest(string_to_array($1, ',')) x "
                        "WHERE NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = x)",
                        out, "check the schemas", err);
    if (!r) {
        free(out);
        return -1;
    }
    if (!PQgetisnull(r, 0, 0)) {
        char missing[300];
        snprintf(missing, sizeof missing, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        free(out);
        r = exec1(s,
                  "SELECT coalesce(string_agg(nspname, ', ' ORDER BY nspname), 'none') FROM "
                  "pg_namespace WHERE nspname <> 'information_schema' AND nspname !~ '^pg_'",
                  NULL, "list the schemas", err);
        if (!r)
            return -1;
        source_fail(err, SRC_E_USAGE,
                    "PostgreSQL %s has no schema %s (names are case-sensitive; its schemas: %s)",
                    s->red, missing, PQgetvalue(r, 0, 0));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    *list = out;
    return 0;
}

static int sequence_notes(pg_source *s, const char *list, source_error *err)
{
    PGresult *r = exec1(s,
                        "SELECT schemaname, sequencename, last_value::text, "
                        "has_sequence_privilege(format('%I.%I', schemaname, sequencename), "
                        "'SELECT') FROM pg_sequences WHERE schemaname <> 'information_schema' "
                        "AND schemaname !~ '^pg_' AND ($1::text IS NULL OR schemaname = ANY "
                        "(string_to_array($1, ','))) ORDER BY 1, 2",
                        list, "read the sequences", err);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *nsp = PQgetvalue(r, i, 0), *name = PQgetvalue(r, i, 1);
        if (PQgetvalue(r, i, 3)[0] != 't')
            add_note(s, "sequence %s.%s: its value cannot be read by this user", nsp, name);
        else if (PQgetisnull(r, i, 2))
            add_note(s, "sequence %s.%s: not used yet", nsp, name);
        else
            add_note(s, "sequence %s.%s: last value %s (set the application's counter past it "
                        "at cutover)", nsp, name, PQgetvalue(r, i, 2));
    }
    PQclear(r);
    return 0;
}

const source_schema *pg_describe(source *base, source_error *err)
{
    pg_source *s = (pg_source *)base;
    if (s->described)
        return &s->schema;
    pthread_mutex_lock(&s->coord_mu);
    char *list = NULL;
    PGresult *r = NULL;
    if (!s->notes && !(s->notes = json_array())) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto fail;
    }
    if (check_schemas(s, &list, err))
        goto fail;
    r = exec1(s,
              "SELECT c.oid::int8, n.nspname, c.relname, c.relkind, c.reltuples::float8, "
              "has_table_privilege(c.oid, 'SELECT'), "
              "(SELECT string_agg(format('%I.%I', pn.nspname, p.relname), ', ') FROM "
              "pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON "
              "pn.oid = p.relnamespace WHERE i.inhrelid = c.oid), "
              "CASE WHEN c.relkind = 'p' THEN (SELECT sum(greatest(l.reltuples, 0))::float8 "
              "FROM pg_partition_tree(c.oid) t JOIN pg_class l ON l.oid = t.relid WHERE "
              "t.isleaf) END, "
              "CASE WHEN c.relkind = 'p' THEN (SELECT count(*) FROM pg_partition_tree(c.oid) t "
              "WHERE t.isleaf) END, "
              "c.relkind IN ('r', 'p') AND row_security_active(c.oid), "
              /* the size from the statistics, taking no lock (pg_table_size
               * waits for a table that another session holds, and describe
               * must never wait: the locks come with the snapshot); unknown
               * for a table never vacuumed or analyzed */
              "CASE WHEN c.relkind = 'p' THEN (SELECT sum(l.relpages::int8 + coalesce(tt.relpages, 0)) "
              "* current_setting('block_size')::int8 FROM pg_partition_tree(c.oid) t JOIN pg_class "
              "l ON l.oid = t.relid LEFT JOIN pg_class tt ON tt.oid = l.reltoastrelid WHERE "
              "t.isleaf HAVING bool_and(l.reltuples >= 0)) "
              "WHEN c.relkind = 'r' AND c.reltuples >= 0 THEN (c.relpages::int8 + coalesce((SELECT "
              "tt.relpages FROM pg_class tt WHERE tt.oid = c.reltoastrelid), 0)) * "
              "current_setting('block_size')::int8 END, c.relispopulated, c.relispartition "
              "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
              "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') "
              "AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' "
              "AND ($1::text IS NULL OR n.nspname = ANY (string_to_array($1, ','))) "
              /* a partition is copied through its topmost ancestor that is
               * listed; one without any (its parents are in schemas --schema
               * leaves out) is a table of its own, so no row is left out */
              "AND NOT (c.relispartition AND EXISTS (SELECT 1 FROM "
              "pg_partition_ancestors(c.oid) a JOIN pg_class ac ON ac.oid = a.relid JOIN "
              "pg_namespace an ON an.oid = ac.relnamespace WHERE a.relid <> c.oid AND "
              "($1::text IS NULL OR an.nspname = ANY (string_to_array($1, ','))))) "
              "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = "
              "'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') "
              "ORDER BY n.nspname, c.relname",
              list, "list the tables", err);
    if (!r)
        goto fail;
    int nrel = PQntuples(r);
    rel_row *rows = calloc((size_t)nrel + 1, sizeof *rows);
    s->schema.tables = calloc((size_t)nrel + 1, sizeof *s->schema.tables);
    s->tables = calloc((size_t)nrel + 1, sizeof *s->tables);
    if (!rows || !s->schema.tables || !s->tables) {
        free(rows);
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto fail;
    }
    const char *first_nsp = NULL;
    int qualify = 0, ntab = 0;
    for (int i = 0; i < nrel; i++) {
        rel_row *rr = &rows[i];
        rr->oid = (uint32_t)strtoul(PQgetvalue(r, i, 0), NULL, 10);
        rr->nsp = PQgetvalue(r, i, 1);
        rr->rel = PQgetvalue(r, i, 2);
        rr->kind = PQgetvalue(r, i, 3)[0];
        rr->tuples = PQgetisnull(r, i, 7) ? strtod(PQgetvalue(r, i, 4), NULL)
                                          : strtod(PQgetvalue(r, i, 7), NULL);
        rr->readable = PQgetvalue(r, i, 5)[0] == 't';
        rr->parents = PQgetisnull(r, i, 6) ? NULL : PQgetvalue(r, i, 6);
        rr->nleaves = PQgetisnull(r, i, 8) ? 0 : atoi(PQgetvalue(r, i, 8));
        rr->bytes = PQgetisnull(r, i, 10) ? -1 : strtoll(PQgetvalue(r, i, 10), NULL, 10);
        rr->populated = PQgetvalue(r, i, 11)[0] == 't';
        rr->partition = PQgetvalue(r, i, 12)[0] == 't';
        const char *what = rr->kind == 'v'   ? "view"
                           : rr->kind == 'm' ? "materialized view"
                           : rr->kind == 'f' ? "foreign table"
                                             : NULL;
        if (what && rr->kind == 'm' && !rr->populated && view_wanted(s, rr->nsp, rr->rel)) {
            add_note(s, "materialized view %s.%s skipped: it holds no rows yet (REFRESH "
                        "MATERIALIZED VIEW it, then copy it)", rr->nsp, rr->rel);
            rr->kind = 0;
            continue;
        }
        if (what && rr->kind != 'f' && rr->readable && view_wanted(s, rr->nsp, rr->rel)) {
            add_note(s, "%s %s.%s copied, as --tables names it: %s", what, rr->nsp, rr->rel,
                     rr->kind == 'v'
                         ? "read whole in one range, its rows in the order of their text form "
                           "and numbered (rowid); a resume reads it again in that order, exact "
                           "when its rows did not change"
                         : "its rows as last refreshed, keyed by their physical position "
                           "(rowid)");
            what = NULL;
        }
        if (what) {
            add_note(s, "%s %s.%s skipped: %s", what, rr->nsp, rr->rel,
                     rr->kind == 'f' ? "its rows live on another server"
                                     : "views are not copied (the tables they read are; name it "
                                       "with --tables to copy its rows)");
            rr->kind = 0;
            continue;
        }
        if (rr->readable && PQgetvalue(r, i, 9)[0] == 't') {
            /* its policies would hide rows from this user, and the counts
             * would hide the same ones: never copy part of a table */
            add_note(s, "table %s.%s skipped: row-level security hides some of its rows from "
                        "this user (copy it as its owner, a superuser or a role with BYPASSRLS)",
                     rr->nsp, rr->rel);
            rr->kind = 0;
            continue;
        }
        if (!rr->readable) {
            add_note(s, "table %s.%s skipped: this user may not read it (GRANT SELECT ON it to "
                        "copy it)", rr->nsp, rr->rel);
            rr->kind = 0;
            continue;
        }
        if (!first_nsp)
            first_nsp = rr->nsp;
        else if (strcmp(first_nsp, rr->nsp))
            qualify = 1;
    }
    for (int i = 0; i < nrel; i++) {
        rel_row *rr = &rows[i];
        if (!rr->kind)
            continue;
        source_table *tb = &s->schema.tables[ntab];
        pg_table *pt = &s->tables[ntab];
        s->schema.ntables = ++ntab;
        int d = describe_table(s, rr, qualify, tb, pt, err);
        if (d < 0) {
            free(rows);
            goto fail;
        }
        if (d > 0) {
            add_note(s, "table %s.%s skipped: it has no columns, so nothing to copy", rr->nsp,
                     rr->rel);
            free(tb->name);
            free(tb->schema);
            free(tb->cols);
            free(pt->qname);
            free(pt->cols);
            free(pt->key);
            free(pt->key_extra);
            memset(tb, 0, sizeof *tb);
            memset(pt, 0, sizeof *pt);
            s->schema.ntables = --ntab;
            continue;
        }
        tb->bytes_estimate = rr->bytes;
        if (!(tb->sql_name = strdup(pt->qname))) {
            free(rows);
            source_fail(err, SRC_E_NOMEM, "out of memory");
            goto fail;
        }
        if (rr->kind == 'p')
            add_note(s, "partitioned table %s.%s: copied through the parent (%d partition%s), "
                        "each row once", rr->nsp, rr->rel, rr->nleaves, rr->nleaves == 1 ? "" : "s");
        if (rr->parents && rr->partition)
            add_note(s, "partition %s.%s of %s: copied as a table of its own, as --schema "
                        "leaves out the schema of its parent", rr->nsp, rr->rel, rr->parents);
        else if (rr->parents)
            add_note(s, "table %s.%s inherits from %s: each table is copied on its own, so the "
                        "parent's copy does not hold this table's rows", rr->nsp, rr->rel,
                     rr->parents);
    }
    free(rows);
    PQclear(r);
    r = NULL;
    if (read_keys_and_indexes(s, qualify, err))
        goto fail;
    if (sequence_notes(s, list, err))
        goto fail;
    free(list);
    list = NULL;
    s->described = 1;
    if (pg_after_describe(s, err)) {
        pthread_mutex_unlock(&s->coord_mu);
        return NULL;
    }
    pthread_mutex_unlock(&s->coord_mu);
    return &s->schema;
fail:
    PQclear(r);
    free(list);
    pg_tables_free(s);
    source_schema_free(&s->schema);
    pthread_mutex_unlock(&s->coord_mu);
    return NULL;
}

/* ---- queries (add_query) ---------------------------------------------------------------- */

/* The prefix the query is described and read under: a data-modifying WITH
 * or a SELECT INTO is not allowed in a subquery, so PostgreSQL itself
 * refuses them. */
#define QUERY_PREFIX "SELECT * FROM (\n"

/* Byte offset in text of the 1-based character position pos (UTF-8). */
static int char_to_byte(const char *text, long pos)
{
    int b = 0;
    for (long ch = 1; text[b] && ch < pos; ch++) {
        b++;
        while (((unsigned char)text[b] & 0xC0) == 0x80)
            b++;
    }
    return b;
}

int pg_add_query(source *base, const char *sql, const char *name, int *at, source_error *err)
{
    pg_source *s = (pg_source *)base;
    *at = -1;
    if (!s->described && !pg_describe(base, err))
        return -1;
    char *text = source_query_text(sql, 0, at, err);
    if (!text)
        return -1;
    size_t wl = strlen(text) + 64;
    char *wrapped = malloc(wl);
    if (!wrapped) {
        free(text);
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    }
    snprintf(wrapped, wl, QUERY_PREFIX "%s\n) AS cqlshift_q", text);
    pthread_mutex_lock(&s->coord_mu);
    int idx = -1, in_tx = PQtransactionStatus(s->coord) == PQTRANS_INTRANS;
    PGresult *d = NULL;
    if (in_tx)
        PQclear(PQexec(s->coord, "SAVEPOINT cqlshift_query"));
    PGresult *r = PQprepare(s->coord, "", wrapped, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        char reason[400];
        if (msg)
            snprintf(reason, sizeof reason, "%s", msg);
        else
            pg_conn_reason(s->coord, reason, sizeof reason);
        if (pos) {
            int b = char_to_byte(wrapped, atol(pos)) - (int)strlen(QUERY_PREFIX);
            *at = b < 0 ? 0 : b > (int)strlen(text) ? (int)strlen(text) : b;
        }
        source_fail(err, SRC_E_SCHEMA, "PostgreSQL %s refuses the query: %s", s->red, reason);
    } else if (PQresultStatus(d = PQdescribePrepared(s->coord, "")) != PGRES_COMMAND_OK) {
        char reason[400];
        pg_conn_reason(s->coord, reason, sizeof reason);
        source_fail(err, SRC_E_SCHEMA, "PostgreSQL %s cannot describe the query: %s", s->red,
                    reason);
    } else if (PQnfields(d) == 0) {
        source_fail(err, SRC_E_USAGE, "the query returns no columns: write a SELECT whose "
                                      "columns feed the target table");
    } else if (PQnparams(d) > 0) {
        source_fail(err, SRC_E_USAGE, "the query has a parameter ($1), which nothing would "
                                      "bind: write the value in the query");
    } else {
        idx = 0;
    }
    PQclear(r);
    if (in_tx)
        PQclear(PQexec(s->coord, idx ? "ROLLBACK TO SAVEPOINT cqlshift_query"
                                     : "RELEASE SAVEPOINT cqlshift_query"));
    int ncols = idx == 0 ? PQnfields(d) : 0;
    for (int c = 0; idx == 0 && c < ncols; c++)
        for (int e = 0; e < c; e++)
            if (!strcmp(PQfname(d, c), PQfname(d, e))) {
                source_fail(err, SRC_E_USAGE, "the query has two columns named %s: give one "
                                              "another name (AS name)",
                            PQfname(d, c));
                idx = -1;
                break;
            }
    if (idx)
        goto out;
    idx = -1;
    int t = s->schema.ntables;
    source_table *nt = realloc(s->schema.tables, (size_t)(t + 1) * sizeof *nt);
    if (nt)
        s->schema.tables = nt;
    pg_table *np = nt ? realloc(s->tables, (size_t)(t + 1) * sizeof *np) : NULL;
    if (!np) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto out;
    }
    s->tables = np;
    source_table *tb = &s->schema.tables[t];
    pg_table *pt = &s->tables[t];
    memset(tb, 0, sizeof *tb);
    memset(pt, 0, sizeof *pt);
    s->schema.ntables++;    /* freed with the schema from here on */
    tb->row_estimate = -1;
    tb->bytes_estimate = -1;
    tb->name = strdup(name);
    tb->query = strdup(text);
    pt->only = "";
    tb->cols = calloc((size_t)(ncols > 0 ? ncols : 1), sizeof *tb->cols);
    pt->cols = calloc((size_t)(ncols > 0 ? ncols : 1), sizeof *pt->cols);
    size_t cap = strlen(text) + 128 + (size_t)ncols * 48;
    char *sel = calloc(1, cap), *alias = calloc(1, (size_t)ncols * 24 + 8);
    pt->count_sql = malloc(strlen(text) + 64);
    if (!tb->name || !tb->query || !tb->cols || !pt->cols || !sel || !alias || !pt->count_sql) {
        free(sel);
        free(alias);
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto out;
    }
    snprintf(pt->count_sql, strlen(text) + 64, "SELECT count(*) FROM (\n%s\n) AS cqlshift_q",
             text);
    strcpy(sel, "COPY (SELECT ");
    int ok = 1;
    for (int c = 0; c < ncols && ok; c++) {
        source_column *col = &tb->cols[c];
        char pos[16], mod[16], *vals[2] = {pos, mod};
        snprintf(pos, sizeof pos, "%u", (unsigned)PQftype(d, c));
        snprintf(mod, sizeof mod, "%d", PQfmod(d, c));
        PGresult *ft = PQexecParams(s->coord, "SELECT format_type($1::oid, $2::int)", 2, NULL,
                                    (const char *const *)vals, NULL, NULL, 0);
        char cname[24];
        snprintf(cname, sizeof cname, "c%d", c + 1);
        col->precision = col->scale = -1;
        /* describe_column selects the column by its name: the alias here */
        col->name = strdup(cname);
        col->decl_type = strdup(PQresultStatus(ft) == PGRES_TUPLES_OK ? PQgetvalue(ft, 0, 0) : "");
        PQclear(ft);
        tb->ncols = c + 1;
        if (!col->name || !col->decl_type) {
            source_fail(err, SRC_E_NOMEM, "out of memory");
            ok = 0;
        } else if (describe_column(s, col, &pt->cols[c], PQftype(d, c), PQfmod(d, c), 0, 0, 0,
                                   err)) {
            ok = 0;
        } else {
            free(col->name);
            if (!(col->name = strdup(PQfname(d, c)))) {
                source_fail(err, SRC_E_NOMEM, "out of memory");
                ok = 0;
            } else {
                if (c) {
                    strcat(sel, ", ");
                    strcat(alias, ", ");
                }
                strcat(sel, pt->cols[c].expr);
                strcat(alias, "\"");
                strcat(alias, cname);
                strcat(alias, "\"");
            }
        }
    }
    if (ok) {
        size_t n = strlen(sel) + strlen(text) + strlen(alias) + 96;
        char *copy = malloc(n);
        if (copy) {
            snprintf(copy, n, "%s FROM (\n%s\n) AS cqlshift_q(%s)) TO STDOUT (FORMAT binary)", sel,
                     text, alias);
            pt->select_list = copy;
            idx = t;
        } else {
            source_fail(err, SRC_E_NOMEM, "out of memory");
        }
    }
    free(sel);
    free(alias);
out:
    PQclear(d);
    pthread_mutex_unlock(&s->coord_mu);
    free(wrapped);
    free(text);
    return idx;
}
