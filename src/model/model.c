/* The automatic target model: SQLite type mapping, names and keys, CQL DDL,
 * and applying the DDL to a cluster with a check of what is already there.
 * The rules are in model.h and docs/model.md. */
#include "model/model.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int model_fail(model_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int model_fail(model_error *err, int code, const char *fmt, ...)
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
    "integers in CQL's unit: milliseconds since 1970 for timestamp, days for date, "
    "nanoseconds since midnight for time) and rejected if it cannot be (REAL Julian days are)";
static const char NOTE_NUMERIC[] =
    "SQLite keeps NUMERIC/DECIMAL values as integers or doubles (about 15 significant "
    "digits) and does not enforce precision or scale; values are converted to exact decimals";
static const char NOTE_UUID[] = "stored as text or 16-byte blobs in SQLite; converted per value";
static const char NOTE_BOOL[] = "stored as integers in SQLite; 0/1 (or true/false text) expected";
static const char NOTE_UNTYPED[] =
    "no declared type: SQLite may hold any kind of value here; mapped to blob, "
    "so text and numbers are rejected (declare a type in SQLite to map it differently)";
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
        *note = NOTE_TEMPORAL;
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
 * character replaced by '_'. Sets *renamed when more than the case changed. */
#define CQL_NAME_MAX 48

static char *table_name_for(const char *src, int *renamed)
{
    size_t n = strlen(src);
    char *out = malloc(n + 2);
    if (!out)
        return NULL;
    *renamed = 0;
    size_t o = 0;
    for (size_t i = 0; i < n && o < CQL_NAME_MAX; i++) {
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
    if (o == 0) {
        out[o++] = 't';
        *renamed = 1;
    }
    out[o] = 0;
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

static int build_table(target_table *tt, const source_table *st, int index, const char *ks,
                       model_error *err)
{
    int renamed = 0;
    tt->source_table = index;
    tt->keyspace = strdup(ks);
    tt->name = table_name_for(st->name, &renamed);
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
        tc->name = strdup(sc->name);
        tc->type = model_map_sqlite_type(sc->decl_type, &why);
        if (!tc->name || !tc->type)
            return model_fail(err, 1, "out of memory");
        ascii_lower(tc->name);
        if (!tc->name[0])
            return model_fail(err, 1, "table %s has a column with an empty name", st->name);
        for (int j = 0; j < i; j++)
            if (!strcmp(tt->cols[j].name, tc->name))
                return model_fail(err, 1,
                                  "table %s: columns %s and %s both become %s in lower case; "
                                  "rename one in the source",
                                  st->name, st->cols[tt->cols[j].source_col].name, sc->name,
                                  tc->name);
        if (why) {
            cs_buf tb;
            cs_buf_init(&tb, 256);
            cql_type_format(tc->type, &tb);
            tc->note = format_note("%s -> %.*s: %s", sc->decl_type[0] ? sc->decl_type : "(no type)",
                                   (int)tb.len, tb.data ? (const char *)tb.data : "", why);
            cs_buf_release(&tb);
            if (!tc->note)
                return model_fail(err, 1, "out of memory");
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

int model_from_source(model *m, const source_schema *schema, const char *ks, model_error *err)
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
        target_table *tt = &m->tables[m->ntables++];
        if (build_table(tt, &schema->tables[i], i, m->keyspace, err)) {
            model_release(m);
            return -1;
        }
        for (int j = 0; j < m->ntables - 1; j++)
            if (!strcmp(m->tables[j].name, tt->name)) {
                model_fail(err, 1,
                           "source tables %s and %s both map to Cassandra table %s.%s "
                           "(names are folded to lower-case letters, digits and '_'); "
                           "rename one in the source",
                           schema->tables[m->tables[j].source_table].name, schema->tables[i].name,
                           m->keyspace, tt->name);
                model_release(m);
                return -1;
            }
    }
    return 0;
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

int model_keyspace_ddl(const char *ks, const char *replication_json_or_null, cs_buf *out)
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
    return put_str(out, "}") || put_nul(out);
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
                    put_str(out, " ASC"))
                    return -1;
                first = 0;
            }
        if (cs_buf_put_u8(out, ')'))
            return -1;
    }
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

/* Run one DDL statement and wait until every node has the new schema: the
 * next statement may go to another coordinator, which must already know
 * the keyspace (or table) this one created. */
static int run_ddl(cql_session *s, const char *cql, model_error *err)
{
    cql_error ce;
    cql_result *r = cql_session_simple(s, cql, &ce);
    if (!r)
        return model_fail(err, 3, "%s\n(statement: %s)", ce.msg, cql);
    cql_result_free(r);
    if (cql_session_wait_schema_agreement(s, 60000, &ce))
        return model_fail(err, 3, "the cluster did not agree on the new schema: %s", ce.msg);
    return 0;
}

/* One column as system_schema.columns describes it. */
typedef struct server_column {
    char name[256];
    char type[256];         /* normalised through cql_type_parse/format */
    char kind[32];
    int position;
    char order[8];
} server_column;

static void copy_text(const cql_result *r, int row, int col, char *out, size_t n)
{
    const uint8_t *p;
    int32_t len = cql_result_value(r, row, col, &p);
    if (len < 0)
        len = 0;
    if ((size_t)len >= n)
        len = (int32_t)n - 1;
    memcpy(out, p, (size_t)len);
    out[len] = 0;
}

static void normalise_type(char *type, size_t n)
{
    cql_error ce;
    cql_type *t = cql_type_parse(type, &ce);
    if (!t)
        return;     /* compare the server's text as is */
    cs_buf b;
    cs_buf_init(&b, n - 1);
    if (cql_type_format(t, &b) == 0) {
        memcpy(type, b.data, b.len);
        type[b.len] = 0;
    }
    cs_buf_release(&b);
    cql_type_free(t);
}

static const char *kind_name(int kind)
{
    return kind == 1 ? "partition_key" : kind == 2 ? "clustering" : "regular";
}

static const char *kind_words(const char *kind)
{
    if (!strcmp(kind, "partition_key"))
        return "partition key";
    if (!strcmp(kind, "clustering"))
        return "clustering column";
    return kind;
}

/* Append one line of the diff (bounded by cs_buf's cap: a long diff is cut). */
static void diff_line(cs_buf *d, int *ndiff, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void diff_line(cs_buf *d, int *ndiff, const char *fmt, ...)
{
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    (*ndiff)++;
    cs_buf_printf(d, "\n  %s", line);
}

/* Compare the server's definition of t with ours; append differences. */
/* Compare the table as it is in Cassandra with the model, adding each
 * difference to diff and each column converted to another type to notes
 * (may be NULL). missing_ok: a table that does not exist (yet) is fine. */
static int check_table(cql_session *s, const target_table *t, cs_buf *diff, int *ndiff,
                       cs_buf *notes, int missing_ok, model_error *err)
{
    char q[512];
    snprintf(q, sizeof q,
             "SELECT column_name, type, kind, position, clustering_order FROM "
             "system_schema.columns WHERE keyspace_name = '%s' AND table_name = '%s'",
             t->keyspace, t->name);
    cql_error ce;
    cql_result *r = cql_session_simple(s, q, &ce);
    if (!r)
        return model_fail(err, 3, "cannot read the definition of %s.%s: %s", t->keyspace, t->name,
                          ce.msg);
    int nrows = cql_result_row_count(r);
    if (nrows <= 0 && missing_ok) {
        cql_result_free(r);
        return 0;
    }
    if (nrows <= 0) {
        cql_result_free(r);
        return model_fail(err, 3,
                          "table %s.%s is not in system_schema.columns after CREATE TABLE: "
                          "the schema did not reach every node; retry",
                          t->keyspace, t->name);
    }
    server_column *sc = calloc((size_t)nrows, sizeof *sc);
    int *seen = calloc((size_t)nrows, sizeof *seen);
    if (!sc || !seen) {
        free(sc);
        free(seen);
        cql_result_free(r);
        return model_fail(err, 3, "out of memory");
    }
    for (int i = 0; i < nrows; i++) {
        const uint8_t *p;
        copy_text(r, i, 0, sc[i].name, sizeof sc[i].name);
        copy_text(r, i, 1, sc[i].type, sizeof sc[i].type);
        copy_text(r, i, 2, sc[i].kind, sizeof sc[i].kind);
        copy_text(r, i, 4, sc[i].order, sizeof sc[i].order);
        sc[i].position = cql_result_value(r, i, 3, &p) == 4 ? (int32_t)cs_be32(p) : -1;
        normalise_type(sc[i].type, sizeof sc[i].type);
    }
    cql_result_free(r);

    char ref[256];
    snprintf(ref, sizeof ref, "%s.%s", t->keyspace, t->name);
    for (int c = 0; c < t->ncols; c++) {
        const target_column *tc = &t->cols[c];
        cs_buf want;
        cs_buf_init(&want, 255);
        if (cql_type_format(tc->type, &want) || put_nul(&want)) {
            cs_buf_release(&want);
            continue;
        }
        const char *wt = (const char *)want.data;
        int found = -1;
        for (int i = 0; i < nrows; i++)
            if (!strcmp(sc[i].name, tc->name))
                found = i;
        if (found < 0) {
            diff_line(diff, ndiff, "%s: column %s is missing; the model wants %s %s (%s)", ref,
                      tc->name, tc->name, wt, kind_words(kind_name(tc->kind)));
        } else {
            server_column *x = &sc[found];
            seen[found] = 1;
            /* Another type is the user's choice (a table created by hand
             * with int for bigint, set<text> for text...): every value is
             * converted to it by that type's rules, or its row is rejected.
             * Counters cannot be written by INSERT. */
            int other_type = strcmp(x->type, wt) != 0;
            if (other_type && !strcmp(x->type, "counter"))
                diff_line(diff, ndiff, "%s: column %s exists as counter, which INSERT cannot "
                          "write; the model wants %s", ref, tc->name, wt);
            else if (other_type && notes)
                cs_buf_printf(notes, "%s.%s: the existing table has %s where the model would "
                              "use %s; values are converted to %s, and a value that does not "
                              "convert rejects its row\n", ref, tc->name, x->type, wt, x->type);
            if (strcmp(x->kind, kind_name(tc->kind)))
                diff_line(diff, ndiff, "%s: column %s is a %s there, the model wants a %s", ref,
                          tc->name, kind_words(x->kind), kind_words(kind_name(tc->kind)));
            else if (tc->kind != 0 && x->position != tc->key_pos)
                diff_line(diff, ndiff, "%s: column %s is %s number %d there, the model wants %d",
                          ref, tc->name, kind_words(x->kind), x->position + 1, tc->key_pos + 1);
            else if (tc->kind == 2 && strcasecmp(x->order, "asc"))
                diff_line(diff, ndiff, "%s: clustering column %s is ordered %s there, the model "
                          "wants ASC", ref, tc->name, x->order);
        }
        cs_buf_release(&want);
    }
    /* Extra key columns make our inserts fail; extra regular (or static)
     * columns are left alone: our rows simply leave them null. */
    for (int i = 0; i < nrows; i++)
        if (!seen[i] && (!strcmp(sc[i].kind, "partition_key") || !strcmp(sc[i].kind, "clustering")))
            diff_line(diff, ndiff, "%s: %s %s %s is not in the model", ref, kind_words(sc[i].kind),
                      sc[i].name, sc[i].type);
    free(sc);
    free(seen);
    return 0;
}

/* Check every table of the model that exists already (missing_ok) or, after
 * the DDL, every table; 0, or -1 with err (code 2 listing the differences). */
static int check_tables(const model *m, cql_session *s, cs_buf *notes, int missing_ok,
                        model_error *err)
{
    cs_buf diff;
    cs_buf_init(&diff, 64 * 1024);
    int ndiff = 0, rc = 0;
    for (int i = 0; i < m->ntables && rc == 0; i++)
        rc = check_table(s, &m->tables[i], &diff, &ndiff, notes, missing_ok, err);
    if (rc == 0 && ndiff)
        rc = model_fail(err, 2,
                        "existing tables differ from the model (%d difference%s); drop those "
                        "tables or migrate into another keyspace:%.*s",
                        ndiff, ndiff == 1 ? "" : "s", (int)diff.len,
                        diff.data ? (const char *)diff.data : "");
    cs_buf_release(&diff);
    return rc;
}

int model_apply(const model *m, cql_session *s, cs_buf *notes, model_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = 0;
    }
    /* Every existing table is compared first, so a conflict is found
     * before anything is created. */
    if (check_tables(m, s, notes, 1, err))
        return -1;
    cs_buf q;
    cs_buf_init(&q, 1 << 20);
    int rc = -1;
    if (model_keyspace_ddl(m->keyspace, NULL, &q)) {
        model_fail(err, 1, "cannot build the keyspace DDL for %s", m->keyspace);
        goto out;
    }
    if (run_ddl(s, (const char *)q.data, err))
        goto out;
    for (int i = 0; i < m->ntables; i++) {
        cs_buf_reset(&q);
        if (model_table_ddl(&m->tables[i], &q)) {
            model_fail(err, 1, "cannot build the DDL of table %s", m->tables[i].name);
            goto out;
        }
        if (run_ddl(s, (const char *)q.data, err))
            goto out;
    }
    rc = check_tables(m, s, NULL, 0, err); /* notes came from the first check */
out:
    cs_buf_release(&q);
    return rc;
}
