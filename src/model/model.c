/* The automatic target model: SQLite type mapping, names and keys, CQL DDL,
 * and applying the DDL to a cluster with a check of what is already there.
 * The rules are in model.h and docs/model.md. */
#include "model/model.h"
#include "load/loader.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int model_fail(model_error *err, int code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- type mapping ---------------------------------------------------------- */

static cql_type *type_of(cql_type_id id)
{
    cql_type *t = calloc(1, sizeof *t);
    if (t)
        t->id = id;
    return t;
}

static const char NOTE_TEMPORAL[] =
    "stored as text or numbers in SQLite; each value is converted on load (ISO-8601 text; "
    "integers in CQL's unit: days since 1970 for date, nanoseconds since midnight for time) "
    "and rejected if it cannot be (REAL Julian days are)";
static const char NOTE_TIMESTAMP[] =
    "stored as text or numbers in SQLite; each value is converted on load (ISO-8601 text; "
    "integers count time since 1970 in the unit their range shows, or --epoch-unit) and "
    "rejected if it cannot be (REAL Julian days are)";
static const char NOTE_NUMERIC[] =
    "SQLite keeps NUMERIC/DECIMAL values as integers or doubles (about 15 significant "
    "digits) and does not enforce precision or scale; values are converted to exact decimals";
static const char NOTE_UUID[] = "stored as text or 16-byte blobs in SQLite; converted per value";
static const char NOTE_BOOL[] = "stored as integers in SQLite; 0/1 (or true/false text) expected";
static const char NOTE_UNTYPED[] =
    "no declared type: SQLite may hold any kind of value here; migrate chooses the type from "
    "the values it finds (blob until it has looked)";
static const char NOTE_UNKNOWN[] =
    "unknown type name (NUMERIC affinity in SQLite): mapped to text, which keeps any value; "
    "declare a common type name in SQLite for a stricter mapping";

/* Base name of a declared type: upper case, without "(...)" and with runs
 * of blanks folded to one space ("unsigned  big int(10)" -> "UNSIGNED BIG INT"). */
static void base_name(const char *decl, char *out, size_t n)
{
    size_t o = 0;
    int space = 0;
    for (const char *p = decl; *p && *p != '(' && o + 2 < n; p++) {
        if (isspace((unsigned char)*p)) {
            space = o > 0;
            continue;
        }
        if (space)
            out[o++] = ' ';
        space = 0;
        out[o++] = (char)toupper((unsigned char)*p);
    }
    out[o] = 0;
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

cql_type *model_map_sqlite_type(const char *decl_type, const char **note)
{
    static const char *const timestamps[] = {
        "DATETIME", "DATETIME2", "SMALLDATETIME", "DATETIMEOFFSET", "TIMESTAMP",
        "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP WITHOUT TIME ZONE", NULL};
    static const char *const times[] = {"TIME", "TIMETZ", "TIME WITH TIME ZONE",
                                        "TIME WITHOUT TIME ZONE", NULL};
    static const char *const decimals[] = {"NUMERIC", "DECIMAL", "NUMBER", "MONEY",
                                           "SMALLMONEY", "DEC", NULL};
    static const char *const uuids[] = {"UUID", "GUID", "UNIQUEIDENTIFIER", NULL};
    static const char *const texts[] = {"JSON", "JSONB", "STRING", "XML", "CITEXT", NULL};
    char b[128];
    const char *dummy;
    if (!note)
        note = &dummy;
    *note = NULL;
    base_name(decl_type ? decl_type : "", b, sizeof b);

    /* Common names first: SQLite gives most of them NUMERIC affinity (rule
     * 5), which says nothing about what the application stores. */
    if (!b[0]) {
        *note = NOTE_UNTYPED;
        return type_of(CQL_T_BLOB);
    }
    if (!strncmp(b, "BOOL", 4)) {
        *note = NOTE_BOOL;
        return type_of(CQL_T_BOOLEAN);
    }
    if (in_list(b, timestamps)) {
        *note = NOTE_TIMESTAMP;
        return type_of(CQL_T_TIMESTAMP);
    }
    if (!strcmp(b, "DATE")) {
        *note = NOTE_TEMPORAL;
        return type_of(CQL_T_DATE);
    }
    if (in_list(b, times)) {
        *note = NOTE_TEMPORAL;
        return type_of(CQL_T_TIME);
    }
    if (in_list(b, decimals)) {
        *note = NOTE_NUMERIC;
        return type_of(CQL_T_DECIMAL);
    }
    if (in_list(b, uuids)) {
        *note = NOTE_UUID;
        return type_of(CQL_T_UUID);
    }
    if (in_list(b, texts))
        return type_of(CQL_T_VARCHAR);

    /* SQLite's affinity rules, in their order (datatype3.html, 3.1). */
    if (strstr(b, "INT"))
        return type_of(CQL_T_BIGINT);       /* SQLite integers are 64-bit */
    if (strstr(b, "CHAR") || strstr(b, "CLOB") || strstr(b, "TEXT"))
        return type_of(CQL_T_VARCHAR);
    if (strstr(b, "BLOB"))
        return type_of(CQL_T_BLOB);
    if (strstr(b, "REAL") || strstr(b, "FLOA") || strstr(b, "DOUB"))
        return type_of(CQL_T_DOUBLE);
    *note = NOTE_UNKNOWN;
    return type_of(CQL_T_VARCHAR);
}

/* The CQL type of a logical source type (database sources); NULL if
 * out of memory. *why is set to a note on what the mapping does to values
 * (static text) or NULL. */
static cql_type *map_logical(src_ltype lt, const source_column *sc, const char **why)
{
    *why = NULL;
    switch (lt) {
    case SL_BOOL: return type_of(CQL_T_BOOLEAN);
    case SL_INT8: return type_of(CQL_T_TINYINT);
    case SL_INT16: return type_of(CQL_T_SMALLINT);
    case SL_INT32: return type_of(CQL_T_INT);
    case SL_INT64: return type_of(CQL_T_BIGINT);
    case SL_UINT64:
        *why = "unsigned 64-bit integers go beyond bigint: varint holds every value";
        return type_of(CQL_T_VARINT);
    case SL_DECIMAL:
        if (sc->precision <= 0)
            *why = "unconstrained numeric: decimal keeps every digit; NaN and Infinity, which "
                   "decimal cannot hold, are rejected per value";
        return type_of(CQL_T_DECIMAL);
    case SL_FLOAT32: return type_of(CQL_T_FLOAT);
    case SL_FLOAT64: return type_of(CQL_T_DOUBLE);
    case SL_TEXT: return type_of(CQL_T_VARCHAR);
    case SL_BYTES: return type_of(CQL_T_BLOB);
    case SL_UUID: return type_of(CQL_T_UUID);
    case SL_DATE:
        *why = NULL;
        return type_of(CQL_T_DATE);
    case SL_TIME:
        *why = sc->with_tz ? "time with time zone: the offset is not kept" : NULL;
        return type_of(CQL_T_TIME);
    case SL_TIMESTAMP:
        if (sc->precision < 0 || sc->precision > 3)
            *why = sc->with_tz
                       ? "Cassandra's timestamp keeps milliseconds: a value with digits below "
                         "the millisecond is rejected per value (never rounded)"
                       : "read as UTC; Cassandra's timestamp keeps milliseconds: a value with "
                         "digits below the millisecond is rejected per value (never rounded)";
        else if (!sc->with_tz)
            *why = "a timestamp without time zone is read as UTC";
        return type_of(CQL_T_TIMESTAMP);
    case SL_INTERVAL:
        *why = "an interval whose parts have different signs (1 month -1 day) cannot be a "
               "duration and is rejected per value";
        return type_of(CQL_T_DURATION);
    case SL_INET: return type_of(CQL_T_INET);
    case SL_JSON:
        *why = "JSON documents are kept as text";
        return type_of(CQL_T_VARCHAR);
    case SL_ENUM:
        *why = "enum labels are kept as text";
        return type_of(CQL_T_VARCHAR);
    case SL_SET: {
        cql_type *t = type_of(CQL_T_SET);
        if (t && (!(t->sub = calloc(1, sizeof *t->sub)) || !(t->sub[0] = type_of(CQL_T_VARCHAR)))) {
            cql_type_free(t);
            return NULL;
        }
        if (t)
            t->nsub = 1;
        return t;
    }
    case SL_ARRAY: {
        const char *ewhy = NULL;
        if (sc->elem == SL_ARRAY || sc->elem == SL_SET || sc->elem == SL_UNSUPPORTED)
            return NULL;
        cql_type *t = map_logical(sc->elem, sc, &ewhy);
        int dims = sc->dims > 0 ? sc->dims : 1;
        for (int d = 0; t && d < dims; d++) {
            cql_type *l = type_of(CQL_T_LIST);
            if (!l || !(l->sub = calloc(1, sizeof *l->sub))) {
                free(l);
                cql_type_free(t);
                return NULL;
            }
            l->nsub = 1;
            l->sub[0] = t;
            if (d > 0)
                t->frozen = 1;
            t = l;
        }
        *why = dims > 1 ? "a multi-dimensional array becomes nested lists; NULL elements, which "
                          "a list cannot hold, are rejected per value"
                        : "NULL elements, which a list cannot hold, are rejected per value";
        return t;
    }
    case SL_TEXT_FORM:
        *why = "no Cassandra counterpart: the value is copied as its text form";
        return type_of(CQL_T_VARCHAR);
    case SL_DECLARED:
    case SL_UNSUPPORTED:
        break;
    }
    return NULL;
}

cql_type *model_map_column(const source_column *sc, const char **why)
{
    if (sc->ltype == SL_DECLARED)
        return model_map_sqlite_type(sc->decl_type ? sc->decl_type : "", why);
    return map_logical(sc->ltype, sc, why);
}

/* ---- names ----------------------------------------------------------------- */

/* Every keyword a CQL parser may reserve (Cassandra's and DSE's): quoting a
 * name that is not reserved is harmless, missing one breaks the DDL. */
static const char *const cql_reserved[] = {
    "active", "add", "allow", "alter", "and", "any", "application", "applications", "apply",
    "asc", "authentication", "authorize", "batch", "begin", "by", "call", "calls", "cluster",
    "columnfamily", "columns", "commit", "config", "create", "default", "delegation", "delete",
    "desc", "describe", "drop", "entries", "execute", "executor", "executors", "field", "for",
    "from", "full", "grant", "if", "in", "index", "indices", "infinity", "insert", "internal",
    "into", "is", "java", "kerberos", "keyspace", "ldap", "limit", "lowercasestring",
    "materialized", "mbean", "mbeans", "method", "modify", "nan", "no", "node", "nodes",
    "norecursive", "not", "null", "object", "of", "on", "or", "order", "plan", "primary",
    "profiles", "rebuild", "redact", "reload", "remote", "rename", "renew", "replace",
    "restrict", "revoke", "rows", "schema", "scheme", "schemes", "search", "select", "set",
    "std_err", "std_out", "submission", "table", "to", "token", "truncate", "unlogged",
    "unrestrict", "unset", "update", "use", "using", "view", "where", "with", "workpool", NULL};

/* A name CQL accepts unquoted (and reads back unchanged): a lower-case
 * letter, then lower-case letters, digits and underscores, not reserved. */
static int plain_identifier(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return !in_list(s, cql_reserved);
}

/* Append a CQL identifier, double-quoted (inner quotes doubled) unless plain. */
static int put_ident(cs_buf *out, const char *s)
{
    if (plain_identifier(s))
        return cs_buf_append(out, s, strlen(s));
    if (cs_buf_put_u8(out, '"'))
        return -1;
    for (const char *p = s; *p; p++)
        if ((*p == '"' && cs_buf_put_u8(out, '"')) || cs_buf_put_u8(out, (uint8_t)*p))
            return -1;
    return cs_buf_put_u8(out, '"');
}

static void ascii_lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* Cassandra limits keyspace and table names to 48 word characters
 * (quoted or not), so a table name is folded to lower case and every other
 * character replaced by '_' (one per run). Column names are folded the same
 * way, without the length limit, so that every name of the model can be
 * written unquoted in CQL (unless it is a keyword). At most `max` characters
 * are kept; a name with nothing left becomes `empty`. Sets *renamed when
 * more than the case changed. */
#define CQL_NAME_MAX 48

static char *fold_name(const char *src, size_t max, const char *empty, int *renamed)
{
    size_t n = strlen(src);
    char *out = malloc(n + strlen(empty) + 1);
    if (!out)
        return NULL;
    *renamed = 0;
    size_t o = 0;
    for (size_t i = 0; i < n && o < max; i++) {
        unsigned char c = (unsigned char)src[i];
        if (isalnum(c) && c < 0x80) {
            out[o++] = (char)tolower(c);
        } else if (c == '_') {
            out[o++] = '_';
        } else {
            *renamed = 1;
            /* one '_' per UTF-8 character, not per byte */
            if ((c & 0xC0) != 0x80 && (o == 0 || out[o - 1] != '_'))
                out[o++] = '_';
        }
    }
    if (o < n && !*renamed)
        *renamed = 1;   /* truncated */
    out[o] = 0;
    if (o == 0) {
        strcpy(out, empty);
        *renamed = 1;
    }
    return out;
}

int model_fkey_is_key_prefix(const source_table *st, int k)
{
    const source_fkey *fk = &st->fkeys[k];
    if (fk->ncols < 1 || fk->ncols > st->npk)
        return 0;
    for (int i = 0; i < fk->ncols; i++)
        if (fk->cols[i] < 0 || fk->cols[i] >= st->ncols || st->cols[fk->cols[i]].pk_pos != i + 1)
            return 0;
    return 1;
}

char *model_query_table_name(const source_schema *schema, int t, int k)
{
    const source_table *st = &schema->tables[t];
    const source_fkey *fk = &st->fkeys[k];
    int renamed, twice = 0;
    for (int j = 0; j < st->nfkeys; j++)
        if (j != k && !strcmp(st->fkeys[j].ref_table, fk->ref_table))
            twice = 1;
    char by[512];
    size_t o = 0;
    if (!twice) {
        const char *ref = fk->ref_index >= 0 ? schema->tables[fk->ref_index].name : fk->ref_table;
        o = (size_t)snprintf(by, sizeof by, "%s", ref);
    } else {
        for (int c = 0; c < fk->ncols && o < sizeof by; c++)
            o += (size_t)snprintf(by + o, sizeof by - o, "%s%s", c ? "_" : "",
                                  st->cols[fk->cols[c]].name);
    }
    char *child = fold_name(st->name, CQL_NAME_MAX, "t", &renamed);
    char *parent = fold_name(by, CQL_NAME_MAX, "t", &renamed);
    char *out = NULL;
    if (child && parent) {
        size_t n = strlen(child) + strlen(parent) + 5;
        out = malloc(n);
        if (out) {
            snprintf(out, n, "%s_by_%s", child, parent);
            out[n - 1 < CQL_NAME_MAX ? n - 1 : CQL_NAME_MAX] = 0;
        }
    }
    free(child);
    free(parent);
    return out;
}

static int valid_keyspace(const char *ks)
{
    size_t n = strlen(ks);
    if (n == 0 || n > CQL_NAME_MAX)
        return 0;
    for (const char *p = ks; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_') || (unsigned char)*p >= 0x80)
            return 0;
    return 1;
}

/* ---- model_from_source ----------------------------------------------------- */

static void table_release(target_table *t)
{
    for (int c = 0; c < t->ncols; c++) {
        free(t->cols[c].name);
        cql_type_free(t->cols[c].type);
        free(t->cols[c].note);
    }
    free(t->cols);
    free(t->keyspace);
    free(t->name);
    free(t->note);
    free(t->options_cql);
    memset(t, 0, sizeof *t);
}

void model_release(model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->ntables; i++)
        table_release(&m->tables[i]);
    free(m->tables);
    free(m->keyspace);
    free(m->replication);
    memset(m, 0, sizeof *m);
}

int model_keep_tables(model *m, const source_schema *schema, const char *list, model_error *err)
{
    /* every name given must be a source table */
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        int found = 0;
        for (int i = 0; i < schema->ntables && !found; i++)
            found = strlen(schema->tables[i].name) == len &&
                    !strncasecmp(schema->tables[i].name, p, len);
        if (!found && len > 0) {
            char names[600] = "";
            size_t o = 0;
            for (int i = 0; i < schema->ntables && o < sizeof names; i++)
                o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", i ? ", " : "",
                                      schema->tables[i].name);
            return model_fail(err, 2, "--tables: the source has no table '%.*s' (its tables: %s)",
                              (int)len, p, names);
        }
        p += len + (p[len] == ',');
    }
    int k = 0;
    for (int i = 0; i < m->ntables; i++) {
        const char *name = schema->tables[m->tables[i].source_table].name;
        int keep = 0;
        for (const char *p = list; *p && !keep;) {
            size_t len = strcspn(p, ",");
            keep = strlen(name) == len && !strncasecmp(name, p, len);
            p += len + (p[len] == ',');
        }
        if (keep)
            m->tables[k++] = m->tables[i];
        else
            table_release(&m->tables[i]);
    }
    m->ntables = k;
    if (k == 0)
        return model_fail(err, 2, "--tables: no table named");
    return 0;
}

static char *format_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *format_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* Set tc->note (replacing one there is): "renamed from "<source name>"" if
 * the name changed more than its case, then "DECL -> type: why" if why is
 * not NULL. 0, or -1 out of memory. */
static int set_column_note(target_column *tc, const source_column *sc, const char *why)
{
    int renamed = 0;
    free(fold_name(sc->name, SIZE_MAX, "c", &renamed));
    cs_buf tb;
    cs_buf_init(&tb, 256);
    cql_type_format(tc->type, &tb);
    char *type_note = why ? format_note("%s -> %.*s: %s",
                                        sc->decl_type[0] ? sc->decl_type : "(no type)",
                                        (int)tb.len, tb.data ? (const char *)tb.data : "", why)
                          : NULL;
    cs_buf_release(&tb);
    free(tc->note);
    if (renamed)
        tc->note = format_note("renamed from \"%s\"%s%s", sc->name, type_note ? "; " : "",
                               type_note ? type_note : "");
    else
        tc->note = type_note, type_note = NULL;
    free(type_note);
    return tc->note || (!renamed && !why) ? 0 : -1;
}

/* A key column's type as Cassandra takes it in a primary key: a
 * collection frozen (compared whole), a duration as its text (Cassandra
 * cannot key by a duration). *why is extended to say so (its text in
 * buf). 0, or -1 out of memory. */
static int key_type(target_column *tc, const char **why, char *buf, size_t n)
{
    cql_type *t = tc->type;
    const char *say = NULL;
    if ((t->id == CQL_T_LIST || t->id == CQL_T_SET || t->id == CQL_T_MAP) && !t->frozen) {
        t->frozen = 1;
        say = "frozen, as a key column's collection must be (compared whole)";
    } else if (t->id == CQL_T_DURATION) {
        cql_error ce;
        cql_type *text = cql_type_parse("text", &ce);
        if (!text)
            return -1;
        cql_type_free(t);
        tc->type = text;
        say = "Cassandra cannot key a table by a duration: the key holds the duration's text "
              "in months, days and nanoseconds (1 day 1.5 s is 0mo1d1500000000ns)";
    }
    if (say) {
        snprintf(buf, n, "%s%s%s", *why ? *why : "", *why ? "; " : "", say);
        *why = buf;
    }
    return 0;
}

/* A name not taken: `base` if free, else base_2, base_3... cut so that it
 * stays within max bytes. taken(ctx, name) says whether a name is in use.
 * A new string, or NULL out of memory. */
static char *name_apart(const char *base, size_t max, int (*taken)(void *, const char *),
                        void *ctx)
{
    char *out = malloc(max + 16);
    if (!out)
        return NULL;
    for (int k = 2;; k++) {
        char suffix[16];
        int sl = snprintf(suffix, sizeof suffix, "_%d", k);
        size_t keep = strlen(base);
        if (keep + (size_t)sl > max)
            keep = max - (size_t)sl;
        snprintf(out, max + 16, "%.*s%s", (int)keep, base, suffix);
        if (!taken(ctx, out))
            return out;
    }
}

typedef struct cols_in_use {
    const target_table *tt;
    int n;
} cols_in_use;

static int col_taken(void *ctx, const char *name)
{
    const cols_in_use *u = ctx;
    for (int j = 0; j < u->n; j++)
        if (!strcmp(u->tt->cols[j].name, name))
            return 1;
    return 0;
}

static int build_table(target_table *tt, const source_table *st, int index, const char *ks,
                       int apart, model_error *err)
{
    int renamed = 0;
    tt->source_table = index;
    tt->keyspace = strdup(ks);
    tt->name = fold_name(st->name, CQL_NAME_MAX, "t", &renamed);
    tt->cols = calloc((size_t)(st->ncols ? st->ncols : 1), sizeof *tt->cols);
    if (!tt->keyspace || !tt->name || !tt->cols)
        return model_fail(err, 1, "out of memory");
    if (st->npk == 0 || st->ncols == 0)
        return model_fail(err, 1,
                          "table %s has no primary key and no rowid column: the source "
                          "connector must supply a key",
                          st->name);
    /* Order: key columns by key position (the first partitions, the rest
     * cluster), then the other columns in source order. */
    int n = 0;
    for (int k = 1; k <= st->npk; k++) {
        int found = -1;
        for (int c = 0; c < st->ncols; c++)
            if (st->cols[c].pk_pos == k)
                found = c;
        if (found < 0)
            return model_fail(err, 1, "table %s: primary key position %d has no column",
                              st->name, k);
        tt->cols[n].source_col = found;
        tt->cols[n].kind = k == 1 ? 1 : 2;
        tt->cols[n].key_pos = k == 1 ? 0 : k - 2;
        n++;
    }
    for (int c = 0; c < st->ncols; c++)
        if (st->cols[c].pk_pos <= 0) {
            tt->cols[n].source_col = c;
            tt->cols[n].kind = 0;
            tt->cols[n].key_pos = -1;
            n++;
        }
    tt->ncols = n;
    for (int i = 0; i < n; i++) {
        target_column *tc = &tt->cols[i];
        const source_column *sc = &st->cols[tc->source_col];
        const char *why = NULL;
        int col_renamed = 0;
        if (!sc->name[0])
            return model_fail(err, 1, "table %s has a column with an empty name", st->name);
        tc->name = fold_name(sc->name, SIZE_MAX, "c", &col_renamed);
        if (sc->ltype == SL_UNSUPPORTED ||
            (sc->ltype == SL_ARRAY && (sc->elem == SL_ARRAY || sc->elem == SL_SET ||
                                       sc->elem == SL_UNSUPPORTED)))
            return model_fail(err, 1,
                              "table %s, column %s: type %s cannot be copied to Cassandra%s%s; "
                              "leave the table out with --tables, or change the column in the "
                              "source",
                              st->name, sc->name, sc->decl_type, sc->note ? ": " : "",
                              sc->note ? sc->note : "");
        tc->type = model_map_column(sc, &why);
        if (!tc->name || !tc->type)
            return model_fail(err, 1, "out of memory");
        char whybuf[600], keybuf[800];
        if (sc->note && sc->ltype != SL_DECLARED) {
            snprintf(whybuf, sizeof whybuf, "%s%s%s", sc->note, why ? "; " : "", why ? why : "");
            why = whybuf;
        }
        if (tc->kind && key_type(tc, &why, keybuf, sizeof keybuf))
            return model_fail(err, 1, "out of memory");
        cols_in_use used = {tt, i};
        char *taken_by = NULL;   /* the name another column has */
        if (apart && col_taken(&used, tc->name)) {
            /* a plan names them apart, for the user to see and edit */
            char *other = name_apart(tc->name, strlen(tc->name) + 12, col_taken, &used);
            if (!other)
                return model_fail(err, 1, "out of memory");
            taken_by = tc->name;
            tc->name = other;
            col_renamed = 1;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(tt->cols[j].name, tc->name))
                return model_fail(err, 1,
                                  "table %s: columns \"%s\" and \"%s\" both become %s (column "
                                  "names are folded to lower-case letters, digits and '_'); "
                                  "rename one in the source, leave the table out with "
                                  "--tables, or write a plan (cqlshift plan names them apart)",
                                  st->name, st->cols[tt->cols[j].source_col].name, sc->name,
                                  tc->name);
        if ((why || col_renamed) && set_column_note(tc, sc, why)) {
            free(taken_by);
            return model_fail(err, 1, "out of memory");
        }
        if (taken_by) {
            /* the type's part of the note stays; the renaming is said anew */
            const char *rest = tc->note;
            if (rest && !strncmp(rest, "renamed from ", 13))
                rest = strstr(rest, "; ") ? strstr(rest, "; ") + 2 : NULL;
            char *note = format_note("renamed from \"%s\": %s is another column's%s%s",
                                     sc->name, taken_by, rest ? "; " : "", rest ? rest : "");
            free(taken_by);
            if (!note)
                return model_fail(err, 1, "out of memory");
            free(tc->note);
            tc->note = note;
        }
    }
    if (st->uses_rowid || renamed) {
        tt->note = format_note("%s%s%s%s", st->uses_rowid ? "no primary key: keyed by rowid "
                                                            "(rows are not deduplicated by content)"
                                                          : "",
                               st->uses_rowid && renamed ? "; " : "",
                               renamed ? "renamed from " : "", renamed ? st->name : "");
        if (!tt->note)
            return model_fail(err, 1, "out of memory");
    }
    return 0;
}

typedef struct tables_in_use {
    const model *m;
    int n;
} tables_in_use;

static int table_taken(void *ctx, const char *name)
{
    const tables_in_use *u = ctx;
    for (int j = 0; j < u->n; j++)
        if (!strcmp(u->m->tables[j].name, name))
            return 1;
    return 0;
}

static int build_model(model *m, const source_schema *schema, const char *ks,
                       const unsigned char *only, int apart, model_error *err)
{
    memset(m, 0, sizeof *m);
    if (err) {
        err->code = 0;
        err->msg[0] = 0;
    }
    if (!ks || !valid_keyspace(ks))
        return model_fail(err, 1,
                          "invalid keyspace name '%s': use 1 to %d letters, digits or "
                          "underscores",
                          ks ? ks : "", CQL_NAME_MAX);
    m->keyspace = strdup(ks);
    m->tables = calloc((size_t)(schema->ntables ? schema->ntables : 1), sizeof *m->tables);
    if (!m->keyspace || !m->tables) {
        model_release(m);
        return model_fail(err, 1, "out of memory");
    }
    ascii_lower(m->keyspace);   /* unquoted CQL names fold to lower case */
    for (int i = 0; i < schema->ntables; i++) {
        if (only && !only[i])
            continue;
        target_table *tt = &m->tables[m->ntables++];
        if (build_table(tt, &schema->tables[i], i, m->keyspace, apart, err)) {
            model_release(m);
            return -1;
        }
        tables_in_use used = {m, m->ntables - 1};
        if (apart && table_taken(&used, tt->name)) {
            char *other = name_apart(tt->name, CQL_NAME_MAX, table_taken, &used);
            char *note = other ? format_note("renamed from %s: %s is the table of another "
                                             "source table%s%s", schema->tables[i].name,
                                             tt->name, tt->note ? "; " : "",
                                             tt->note ? tt->note : "")
                               : NULL;
            if (!other || !note) {
                free(other);
                free(note);
                model_release(m);
                return model_fail(err, 1, "out of memory");
            }
            free(tt->name);
            tt->name = other;
            free(tt->note);
            tt->note = note;
        }
    }
    /* Source tables whose names fold alike would be written into one
     * table: every such group is listed, then the model is refused. */
    char list[900];
    size_t at = 0;
    int groups = 0;
    list[0] = 0;
    for (int a = 0; a < m->ntables; a++) {
        int first = 1;
        for (int b = 0; b < a && first; b++)
            first = strcmp(m->tables[a].name, m->tables[b].name) != 0;
        int dup = 0;
        for (int b = a + 1; b < m->ntables && first && !dup; b++)
            dup = !strcmp(m->tables[a].name, m->tables[b].name);
        if (!dup)
            continue;
        groups++;
        at += (size_t)snprintf(list + at, at < sizeof list ? sizeof list - at : 0, "%s%s",
                               groups > 1 ? "; " : "",
                               schema->tables[m->tables[a].source_table].name);
        for (int b = a + 1; b < m->ntables; b++)
            if (!strcmp(m->tables[a].name, m->tables[b].name) && at < sizeof list)
                at += (size_t)snprintf(list + at, sizeof list - at, " and %s",
                                       schema->tables[m->tables[b].source_table].name);
        if (at < sizeof list)
            at += (size_t)snprintf(list + at, sizeof list - at, " -> %s.%s", m->keyspace,
                                   m->tables[a].name);
    }
    if (groups) {
        model_fail(err, 1,
                   "%d group%s of source tables would be written into one Cassandra table each "
                   "(names are folded to lower-case letters, digits and '_'): %s%s; rename them "
                   "in the source, leave some out with --tables, or write a plan (cqlshift plan "
                   "names them apart)",
                   groups, groups == 1 ? "" : "s", list, at >= sizeof list ? "..." : "");
        model_release(m);
        return -1;
    }
    return 0;
}

int model_from_source(model *m, const source_schema *schema, const char *ks, model_error *err)
{
    return build_model(m, schema, ks, NULL, 0, err);
}

int model_from_source_only(model *m, const source_schema *schema, const char *ks,
                           const unsigned char *only, model_error *err)
{
    return build_model(m, schema, ks, only, 1, err);
}

int model_from_source_tables(model *m, const source_schema *schema, const char *ks,
                             const char *list, int apart, model_error *err)
{
    memset(m, 0, sizeof *m);
    if (!list)
        return build_model(m, schema, ks, NULL, apart, err);
    unsigned char *only = calloc((size_t)schema->ntables + 1, 1);
    if (!only)
        return model_fail(err, 1, "out of memory");
    int any = 0;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        /* an exact match first ("emp" is not "Emp" where both exist), else
         * without regard to case */
        int found = 0;
        for (int pass = 0; pass < 2 && !found; pass++)
            for (int i = 0; i < schema->ntables; i++)
                if (strlen(schema->tables[i].name) == len &&
                    !(pass ? strncasecmp : strncmp)(schema->tables[i].name, p, len))
                    found = only[i] = 1;
        if (!found && len > 0) {
            char names[600] = "";
            size_t o = 0;
            for (int i = 0; i < schema->ntables && o < sizeof names; i++)
                o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", i ? ", " : "",
                                      schema->tables[i].name);
            free(only);
            return model_fail(err, 2, "--tables: the source has no table '%.*s' (its tables: %s)",
                              (int)len, p, names);
        }
        any |= found;
        p += len + (p[len] == ',');
    }
    int rc = any ? build_model(m, schema, ks, only, apart, err)
                 : model_fail(err, 2, "--tables: no table named");
    free(only);
    return rc;
}

/* ---- refining the model from the values -------------------------------------- */

static uint64_t magnitude(int64_t v) { return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; }

/* The unit in which an integer of this magnitude is a date 3 to 3,000 years
 * away from 1970 (1973 to 5138, or 1966 back to 1200 BC), or -1: closer to
 * 1970 in every unit, or beyond that in every unit. */
static int epoch_class(int64_t v)
{
    uint64_t a = magnitude(v);
    if (a >= UINT64_C(100000000) && a < UINT64_C(100000000000))
        return LOAD_EPOCH_S;
    if (a >= UINT64_C(100000000000) && a < UINT64_C(100000000000000))
        return LOAD_EPOCH_MS;
    if (a >= UINT64_C(100000000000000) && a < UINT64_C(100000000000000000))
        return LOAD_EPOCH_US;
    return -1;
}

/* The unit of integers from lo to hi: that of the larger magnitude, which
 * the other end must share unless it is within 1e8 of 1970 (a date near
 * 1970 fits every unit); -1 if there is none. All zeros are the same
 * instant in every unit: milliseconds. */
static int epoch_unit_of_range(int64_t lo, int64_t hi)
{
    if (lo == 0 && hi == 0)
        return LOAD_EPOCH_MS;
    int64_t big = magnitude(lo) > magnitude(hi) ? lo : hi, small = big == lo ? hi : lo;
    int u = epoch_class(big);
    if (u < 0 || (epoch_class(small) != u && magnitude(small) >= UINT64_C(100000000)))
        return -1;
    return u;
}

/* "2024-01-31 13:45:00" for integer v in unit u (seconds kept). */
static void format_epoch(int64_t v, int u, char *buf, size_t n)
{
    int64_t per = u == LOAD_EPOCH_S ? 1 : u == LOAD_EPOCH_MS ? 1000 : 1000000;
    time_t sec = (time_t)(v / per - (v % per < 0));
    struct tm tm;
    if (!gmtime_r(&sec, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(buf, n, "?");
}

/* The type for a column without a declared type, from its values; *why
 * gets the note (caller frees). */
static cql_type_id untyped_type(const source_column_profile *p, char **why)
{
    cql_type_id id;
    const char *what;
    int64_t other = p->ntext + p->nblob;
    if (p->nint + p->nreal + other == 0) {
        id = CQL_T_VARCHAR;
        what = "no values found: mapped to text";
    } else if (p->nblob && p->nblob == p->nint + p->nreal + other) {
        id = CQL_T_BLOB;
        what = "mapped to blob";
    } else if (!other && !p->nreal) {
        id = CQL_T_BIGINT;
        what = "mapped to bigint";
    } else if (!other && (!p->nint || (magnitude(p->int_min) <= (UINT64_C(1) << 53) &&
                                       magnitude(p->int_max) <= (UINT64_C(1) << 53)))) {
        id = CQL_T_DOUBLE;
        what = "mapped to double";
    } else {
        id = CQL_T_VARCHAR;
        what = p->nblob ? "mapped to text (a blob that is not UTF-8 text rejects its row)"
               : other  ? "mapped to text, which keeps every one of them"
                        : "mapped to text: a double does not hold integers beyond 2^53 exactly";
    }
    char counts[200] = "";
    size_t o = 0;
    const int64_t num[] = {p->nint, p->nreal, p->ntext, p->nblob};
    static const char *const names[] = {"integer", "real", "text value", "blob"};
    for (int i = 0; i < 4; i++)
        if (num[i] && o < sizeof counts)
            o += (size_t)snprintf(counts + o, sizeof counts - o, "%s%lld %s%s", o ? ", " : "",
                                  (long long)num[i], names[i], num[i] == 1 ? "" : "s");
    *why = format_note("no declared type; %s%s%s", counts, counts[0] ? " found: " : "", what);
    return id;
}

int model_refine_from_values(model *m, source *src, const source_schema *schema, int epoch_unit,
                             model_error *err)
{
    if (!src->ops->profile)
        return 0;
    for (int t = 0; t < m->ntables; t++) {
        target_table *tt = &m->tables[t];
        const source_table *st = &schema->tables[tt->source_table];
        int *cols = calloc((size_t)tt->ncols, sizeof *cols);
        int *which = calloc((size_t)tt->ncols, sizeof *which);
        source_column_profile *prof = calloc((size_t)tt->ncols, sizeof *prof);
        int n = 0, rc = 0;
        if (!cols || !which || !prof)
            rc = model_fail(err, 1, "out of memory");
        for (int c = 0; !rc && c < tt->ncols; c++) {
            const source_column *sc = &st->cols[tt->cols[c].source_col];
            if (!sc->decl_type[0] || tt->cols[c].type->id == CQL_T_TIMESTAMP) {
                cols[n] = tt->cols[c].source_col;
                which[n++] = c;
            }
        }
        source_error se;
        if (!rc && n && src->ops->profile(src, tt->source_table, cols, n, prof, &se))
            rc = model_fail(err, 3, "%s", se.msg);
        for (int k = 0; !rc && k < n; k++) {
            target_column *tc = &tt->cols[which[k]];
            const source_column *sc = &st->cols[tc->source_col];
            const source_column_profile *p = &prof[k];
            char *why = NULL;
            if (!sc->decl_type[0]) {
                cql_type *ty = type_of(untyped_type(p, &why));
                if (!ty) {
                    free(why);
                    rc = model_fail(err, 1, "out of memory");
                    break;
                }
                cql_type_free(tc->type);
                tc->type = ty;
            } else if (p->nint) {
                int u = epoch_unit >= 0 ? epoch_unit : epoch_unit_of_range(p->int_min, p->int_max);
                if (u < 0) {
                    int a = epoch_class(p->int_min), b = epoch_class(p->int_max);
                    char two[96] = "";
                    if (a >= 0 && b >= 0 && a != b)
                        snprintf(two, sizeof two, " (%s at one end, %s at the other)",
                                 load_epoch_unit_words((load_epoch_unit)a),
                                 load_epoch_unit_words((load_epoch_unit)b));
                    rc = model_fail(err, 1,
                                    "%s.%s holds integers from %lld to %lld, which do not show "
                                    "whether they count seconds, milliseconds or microseconds "
                                    "since 1970%s: pass --epoch-unit s, ms or us",
                                    st->name, sc->name, (long long)p->int_min,
                                    (long long)p->int_max, two);
                    break;
                }
                char d1[40], d2[40];
                format_epoch(p->int_min, u, d1, sizeof d1);
                format_epoch(p->int_max, u, d2, sizeof d2);
                tc->epoch_unit = u;
                why = format_note("its %lld integer%s read as %s since 1970 (%s): %lld to "
                                  "%lld is %s to %s UTC; text is read as ISO 8601",
                                  (long long)p->nint, p->nint == 1 ? " is" : "s are",
                                  load_epoch_unit_words((load_epoch_unit)u),
                                  epoch_unit >= 0 ? "as --epoch-unit says"
                                                  : "the unit their range shows; --epoch-unit "
                                                    "s|ms|us sets it",
                                  (long long)p->int_min, (long long)p->int_max, d1, d2);
            } else {
                continue;   /* no integers: the note from the declared type stands */
            }
            if (!why || set_column_note(tc, sc, why))
                rc = model_fail(err, 1, "out of memory");
            free(why);
        }
        free(cols);
        free(which);
        free(prof);
        if (rc)
            return -1;
    }
    return 0;
}

/* ---- replication ----------------------------------------------------------- */

/* A replication factor: 1 to 99, digits only. */
static int parse_rf(const char *s, size_t n, int *rf)
{
    if (n == 0 || n > 2)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *rf = v;
    return v >= 1 ? 0 : -1;
}

static const char REPLICATION_FORMS[] =
    "use SimpleStrategy:N (one data center) or DC:N[,DC:N...] for NetworkTopologyStrategy, "
    "N from 1 to 99, e.g. --replication SimpleStrategy:3 or --replication dc1:3,dc2:3";

int model_parse_replication(const char *spec, char **json, model_error *err)
{
    *json = NULL;
    if (!spec || !*spec)
        return model_fail(err, 1, "--replication needs a value: %s", REPLICATION_FORMS);
    json_t *o = json_object();
    if (!o)
        return model_fail(err, 1, "out of memory");
    int simple = !strncasecmp(spec, "SimpleStrategy:", 15);
    json_object_set_new(o, "class", json_string(simple ? "SimpleStrategy" : "NetworkTopologyStrategy"));
    for (const char *p = simple ? spec + 15 : spec;;) {
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        char name[64];
        int rf;
        if (simple) {
            if (strchr(p, ',') || parse_rf(p, len, &rf))
                goto bad;
            json_object_set_new(o, "replication_factor", json_integer(rf));
            break;
        }
        size_t nl = colon ? (size_t)(colon - p) : 0;
        if (!colon || nl == 0 || nl >= sizeof name ||
            parse_rf(colon + 1, len - nl - 1, &rf))
            goto bad;
        memcpy(name, p, nl);
        name[nl] = 0;
        for (size_t i = 0; i < nl; i++)
            if (!(isalnum((unsigned char)name[i]) || strchr("_-.", name[i])) ||
                (unsigned char)name[i] >= 0x80)
                goto bad;
        if (!strcasecmp(name, "class") || !strcasecmp(name, "replication_factor") ||
            !strcasecmp(name, "SimpleStrategy") || !strcasecmp(name, "NetworkTopologyStrategy"))
            goto bad;
        if (json_object_get(o, name)) {
            json_decref(o);
            return model_fail(err, 1, "--replication '%s' names data center %s twice", spec, name);
        }
        json_object_set_new(o, name, json_integer(rf));
        if (!p[len])
            break;
        p += len + 1;
    }
    *json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!*json)
        return model_fail(err, 1, "out of memory");
    return 0;
bad:
    json_decref(o);
    return model_fail(err, 1, "--replication '%s' is not a replication setting: %s", spec, REPLICATION_FORMS);
}

/* ---- DDL ------------------------------------------------------------------- */

static int put_str(cs_buf *out, const char *s) { return cs_buf_append(out, s, strlen(s)); }

static int put_cql_string(cs_buf *out, const char *s)
{
    if (cs_buf_put_u8(out, '\''))
        return -1;
    for (const char *p = s; *p; p++)
        if ((*p == '\'' && cs_buf_put_u8(out, '\'')) || cs_buf_put_u8(out, (uint8_t)*p))
            return -1;
    return cs_buf_put_u8(out, '\'');
}

static int put_nul(cs_buf *out)
{
    if (cs_buf_put_u8(out, 0))
        return -1;
    out->len--;     /* NUL-terminated, not counted */
    return 0;
}

static int put_table_ref(cs_buf *out, const target_table *t)
{
    return put_ident(out, t->keyspace) || cs_buf_put_u8(out, '.') || put_ident(out, t->name);
}

int model_keyspace_ddl(const char *ks, const char *replication_json_or_null, int durable_writes,
                       cs_buf *out)
{
    if (put_str(out, "CREATE KEYSPACE IF NOT EXISTS ") || put_ident(out, ks) ||
        put_str(out, " WITH replication = {"))
        return -1;
    if (!replication_json_or_null) {
        if (put_str(out, "'class': 'SimpleStrategy', 'replication_factor': 1"))
            return -1;
    } else {
        /* {"class": "NetworkTopologyStrategy", "dc1": 3} -> a CQL map literal */
        json_error_t je;
        json_t *o = json_loads(replication_json_or_null, 0, &je);
        if (!json_is_object(o) || !json_is_string(json_object_get(o, "class"))) {
            json_decref(o);
            return -1;
        }
        const char *k;
        json_t *v;
        int first = 1, rc = 0;
        json_object_foreach(o, k, v)
        {
            char num[32];
            const char *val;
            if (json_is_string(v))
                val = json_string_value(v);
            else if (json_is_integer(v)) {
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
                val = num;
            } else {
                rc = -1;
                break;
            }
            if ((!first && put_str(out, ", ")) || put_cql_string(out, k) || put_str(out, ": ") ||
                (json_is_integer(v) ? put_str(out, val) : put_cql_string(out, val))) {
                rc = -1;
                break;
            }
            first = 0;
        }
        json_decref(o);
        if (rc)
            return -1;
    }
    return put_str(out, "}") || (!durable_writes && put_str(out, " AND durable_writes = false")) ||
           put_nul(out);
}

int model_table_ddl(const target_table *t, cs_buf *out)
{
    if (put_str(out, "CREATE TABLE IF NOT EXISTS ") || put_table_ref(out, t) || put_str(out, " ("))
        return -1;
    for (int c = 0; c < t->ncols; c++) {
        if (put_str(out, "\n    ") || put_ident(out, t->cols[c].name) || cs_buf_put_u8(out, ' ') ||
            cql_type_format(t->cols[c].type, out) || cs_buf_put_u8(out, ','))
            return -1;
    }
    if (put_str(out, "\n    PRIMARY KEY (("))
        return -1;
    int first = 1, nck = 0;
    for (int c = 0; c < t->ncols; c++)
        if (t->cols[c].kind == 1) {
            if ((!first && put_str(out, ", ")) || put_ident(out, t->cols[c].name))
                return -1;
            first = 0;
        }
    if (cs_buf_put_u8(out, ')'))
        return -1;
    for (int c = 0; c < t->ncols; c++)
        if (t->cols[c].kind == 2) {
            if (put_str(out, ", ") || put_ident(out, t->cols[c].name))
                return -1;
            nck++;
        }
    if (put_str(out, ")\n)"))
        return -1;
    if (nck) {
        if (put_str(out, " WITH CLUSTERING ORDER BY ("))
            return -1;
        first = 1;
        for (int c = 0; c < t->ncols; c++)
            if (t->cols[c].kind == 2) {
                if ((!first && put_str(out, ", ")) || put_ident(out, t->cols[c].name) ||
                    put_str(out, t->cols[c].desc ? " DESC" : " ASC"))
                    return -1;
                first = 0;
            }
        if (cs_buf_put_u8(out, ')'))
            return -1;
    }
    if (t->options_cql && t->options_cql[0] &&
        (put_str(out, nck ? " AND " : " WITH ") || put_str(out, t->options_cql)))
        return -1;
    return put_nul(out);
}

int model_insert_cql(const target_table *t, cs_buf *out)
{
    if (put_str(out, "INSERT INTO ") || put_table_ref(out, t) || put_str(out, " ("))
        return -1;
    for (int c = 0; c < t->ncols; c++)
        if ((c && put_str(out, ", ")) || put_ident(out, t->cols[c].name))
            return -1;
    if (put_str(out, ") VALUES ("))
        return -1;
    for (int c = 0; c < t->ncols; c++)
        if (put_str(out, c ? ", ?" : "?"))
            return -1;
    return put_str(out, ") USING TIMESTAMP ?") || put_nul(out);
}

/* ---- apply ----------------------------------------------------------------- */
