/* Writing the automatic plan of a source (plan.h, docs/plan.md): the model's
 * tables with their notes as comments, a disabled query table per foreign
 * key, a commented SAI index (or the query table) per secondary index, and
 * one identity mapping per table. The result parses back with
 * plan_parse_string into the same model (tests/unit/test_plan.c). */
#include "plan/plan.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define COMMENT_COL 34      /* where a comment beside a line starts */
#define LINE_WIDTH 100      /* a longer comment goes above its line, wrapped */
#define NAME_MAX_LEN 48

/* ---- YAML scalars ------------------------------------------------------------------ */

/* A word YAML 1.1 readers (PyYAML) would take for a boolean or null. */
static int yaml_special(const char *s)
{
    static const char *const words[] = {"y", "n", "yes", "no", "true", "false", "on", "off",
                                        "null", NULL};
    for (const char *const *w = words; *w; w++)
        if (!strcasecmp(s, *w))
            return 1;
    return 0;
}

/* Can s be written as a plain scalar (in block and flow context alike)? */
static int yaml_plain_ok(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_') || yaml_special(s))
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-') ||
            (unsigned char)*p >= 0x80)
            return 0;
    return 1;
}

/* s as a YAML scalar: plain when safe, else single-quoted ('' for a quote). */
static void yaml_scalar(cs_buf *b, const char *s)
{
    if (yaml_plain_ok(s)) {
        cs_buf_printf(b, "%s", s);
        return;
    }
    cs_buf_printf(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            cs_buf_printf(b, "''");
        else if (*p == '\n' || *p == '\r' || *p == '\t')
            cs_buf_printf(b, " ");
        else
            cs_buf_printf(b, "%c", *p);
    }
    cs_buf_printf(b, "'");
}

/* ---- lines and comments ------------------------------------------------------------ */

typedef struct writer {
    FILE *out;
    cs_buf line;            /* the line being built */
    int failed;
} writer;

static size_t utf8_len(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* Write comment text as "# ..." lines of at most LINE_WIDTH, indented. */
static void comment_lines(writer *w, int indent, const char *text)
{
    const char *p = text;
    size_t width = LINE_WIDTH - (size_t)indent - 2;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strlen(p), cut = n;
        if (utf8_len(p, n) > width) {
            cut = 0;
            for (size_t i = 0; i < n && utf8_len(p, i) <= width; i++)
                if (p[i] == ' ')
                    cut = i;
            if (cut == 0)
                cut = strcspn(p, " ");
        }
        if (fprintf(w->out, "%*s# %.*s\n", indent, "", (int)cut, p) < 0)
            w->failed = 1;
        p += cut;
    }
}

/* Write the line built in w->line (indented), with comment (or NULL)
 * beside it, or above it when it does not fit. */
static void emit(writer *w, int indent, const char *comment)
{
    char clean[2048] = "";
    if (comment) {
        size_t o = 0;
        for (const char *p = comment; *p && o + 1 < sizeof clean; p++)
            clean[o++] = *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p;
        clean[o] = 0;
    }
    size_t len = utf8_len((const char *)w->line.data, w->line.len) + (size_t)indent;
    size_t at = len + 2 > COMMENT_COL ? len + 2 : COMMENT_COL;
    if (comment && at + 2 + utf8_len(clean, strlen(clean)) > LINE_WIDTH) {
        comment_lines(w, indent, clean);
        comment = NULL;
    }
    if (fprintf(w->out, "%*s%.*s", indent, "", (int)w->line.len,
                w->line.data ? (const char *)w->line.data : "") < 0)
        w->failed = 1;
    if (comment && fprintf(w->out, "%*s# %s", (int)(at - len), "", clean) < 0)
        w->failed = 1;
    if (fputc('\n', w->out) == EOF)
        w->failed = 1;
    cs_buf_reset(&w->line);
}

/* ---- names -------------------------------------------------------------------------- */

/* A source column in an expression: bare when it is an identifier that is
 * not a word of the language, else "double-quoted". */
static void expr_column(cs_buf *b, const char *name)
{
    static const char *const words[] = {"null", "true", "false", "and", "or", "not", "is",
                                        "cast", "as", NULL};
    int plain = (isalpha((unsigned char)name[0]) || name[0] == '_');
    for (const char *p = name; *p && plain; p++)
        plain = (isalnum((unsigned char)*p) || *p == '_') && (unsigned char)*p < 0x80;
    for (const char *const *w = words; *w && plain; w++)
        plain = strcasecmp(name, *w) != 0;
    if (plain) {
        cs_buf_printf(b, "%s", name);
        return;
    }
    cs_buf_printf(b, "\"");
    for (const char *p = name; *p; p++)
        cs_buf_printf(b, *p == '"' ? "\"\"" : "%c", *p);
    cs_buf_printf(b, "\"");
}

/* The expression text for source column c as a C string (caller frees). */
static char *expr_of(const source_column *c)
{
    cs_buf b;
    cs_buf_init(&b, 1 << 16);
    expr_column(&b, c->name);
    char *s = strndup(b.data ? (const char *)b.data : "", b.len);
    cs_buf_release(&b);
    return s;
}

static int target_col_of(const target_table *tt, int source_col)
{
    for (int c = 0; c < tt->ncols; c++)
        if (tt->cols[c].source_col == source_col)
            return c;
    return -1;
}

static const char *type_text(const cql_type *t, char *buf, size_t n)
{
    cs_buf b;
    cs_buf_init(&b, n);
    if (cql_type_format(t, &b) || b.len >= n)
        snprintf(buf, n, "blob");
    else
        snprintf(buf, n, "%.*s", (int)b.len, (const char *)b.data);
    cs_buf_release(&b);
    return buf;
}

/* ---- assess ---------------------------------------------------------------------------- */

static void human_bytes(double v, char *buf, size_t n)
{
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    snprintf(buf, n, u ? "%.3g %s" : "%.0f %s", v, units[u]);
}

/* The comment on partition sizes of table `name` from assess's JSON, and
 * whether they are too large; 0 if assess has no entry for it. */
static int partition_comment(json_t *assess, const char *name, char *buf, size_t n, int *too_large)
{
    json_t *tables = json_object_get(assess, "tables"), *t;
    size_t i;
    *too_large = 0;
    json_array_foreach(tables, i, t)
    {
        json_t *parts = json_object_get(t, "partitions"), *pe;
        size_t j;
        json_array_foreach(parts, j, pe)
        {
            const char *f = json_string_value(json_object_get(pe, "for"));
            if (!f || strcmp(f, name))
                continue;
            long long rmax = json_integer_value(json_object_get(pe, "rows_max"));
            long long rp99 = json_integer_value(json_object_get(pe, "rows_p99"));
            double bmax = json_number_value(json_object_get(pe, "bytes_max"));
            int sampled = json_is_true(json_object_get(pe, "sampled"));
            char hb[32];
            human_bytes(bmax, hb, sizeof hb);
            *too_large = rmax >= 100000 || bmax >= 100e6;
            snprintf(buf, n, "partitions%s: max %lld row%s / %s, p99 %lld row%s%s", sampled ? " (sampled)" : "",
                     rmax, rmax == 1 ? "" : "s", hb, rp99, rp99 == 1 ? "" : "s",
                     *too_large ? " -- TOO LARGE: beyond Cassandra's usual limits (100,000 rows "
                                  "or 100 MB a partition); add a bucket column to the partition "
                                  "key before enabling it"
                                : "");
            return 1;
        }
    }
    return 0;
}

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct query_table {
    char *name;
    int table;              /* model table (the child) */
    int fk;                 /* foreign key of its source table */
    char *where;            /* its mapping's row filter (key columns not null), or NULL */
} query_table;

/* Is t usable in a primary key (as plan.c checks)? */
static int key_type_ok(const cql_type *t)
{
    return t->id != CQL_T_DURATION && t->id != CQL_T_VECTOR &&
           !((t->id == CQL_T_LIST || t->id == CQL_T_SET || t->id == CQL_T_MAP) && !t->frozen);
}

static void write_columns(writer *w, const target_table *tt, const int *order, int n, int notes,
                          int first)
{
    char tb[512];
    cs_buf_printf(&w->line, "columns:");
    emit(w, 4, first ? "name: CQL type, in order" : NULL);
    for (int i = 0; i < n; i++) {
        const target_column *tc = &tt->cols[order[i]];
        yaml_scalar(&w->line, tc->name);
        cs_buf_printf(&w->line, ": ");
        yaml_scalar(&w->line, type_text(tc->type, tb, sizeof tb));
        emit(w, 6, notes ? tc->note : NULL);
    }
}

static void write_key_list(writer *w, const char *key, const target_table *tt, const int *cols,
                           int n, const char *comment)
{
    cs_buf_printf(&w->line, "%s: [", key);
    for (int i = 0; i < n; i++) {
        if (i)
            cs_buf_printf(&w->line, ", ");
        yaml_scalar(&w->line, tt->cols[cols[i]].name);
    }
    cs_buf_printf(&w->line, "]");
    emit(w, 4, comment);
}

static void write_mapping(writer *w, const source_table *st, const char *to, const target_table *tt,
                          const int *order, int n, const char *where, const char *comment, int first)
{
    cs_buf_printf(&w->line, "- from: ");
    yaml_scalar(&w->line, st->name);
    emit(w, 2, comment);
    cs_buf_printf(&w->line, "to: ");
    yaml_scalar(&w->line, to);
    emit(w, 4, NULL);
    if (where) {
        cs_buf_printf(&w->line, "where: ");
        yaml_scalar(&w->line, where);
        emit(w, 4, "rows with a null key column cannot be written");
    }
    cs_buf_printf(&w->line, "columns:");
    emit(w, 4, first ? "target column: expression over the source row" : NULL);
    for (int i = 0; i < n; i++) {
        const target_column *tc = &tt->cols[order[i]];
        char *e = expr_of(&st->cols[tc->source_col]);
        yaml_scalar(&w->line, tc->name);
        cs_buf_printf(&w->line, ": ");
        yaml_scalar(&w->line, e ? e : "null");
        free(e);
        emit(w, 6, NULL);
    }
}

static void fold_into(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s && o + 1 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) && ch < 0x80)
            out[o++] = (char)tolower(ch);
        else if (o && out[o - 1] != '_')
            out[o++] = '_';
    }
    out[o] = 0;
}

int plan_write(FILE *out, const model *m, const source_schema *schema, const char *source_uri_redacted,
               json_t *assess)
{
    writer w = {.out = out};
    cs_buf_init(&w.line, 1 << 20);
    char day[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(day, sizeof day, "%Y-%m-%d", &tm);

    /* query tables: one per foreign key of a table in the model */
    int nq = 0, cap = 0;
    query_table *qt = NULL;
    for (int t = 0; t < m->ntables; t++) {
        const source_table *st = &schema->tables[m->tables[t].source_table];
        cap += st->nfkeys;
    }
    qt = calloc((size_t)(cap ? cap : 1), sizeof *qt);
    if (!qt) {
        cs_buf_release(&w.line);
        return -1;
    }
    for (int t = 0; t < m->ntables; t++) {
        const target_table *tt = &m->tables[t];
        const source_table *st = &schema->tables[tt->source_table];
        for (int k = 0; k < st->nfkeys; k++) {
            const source_fkey *fk = &st->fkeys[k];
            int ok = fk->ncols > 0 && !model_fkey_is_key_prefix(st, k);
            for (int c = 0; c < fk->ncols && ok; c++) {
                int tc = target_col_of(tt, fk->cols[c]);
                ok = tc >= 0 && key_type_ok(tt->cols[tc].type);
            }
            char *name = ok ? model_query_table_name(schema, tt->source_table, k) : NULL;
            if (!name)
                continue;
            /* a name another table has already: add _2, _3... */
            for (int suffix = 2;; suffix++) {
                int clash = 0;
                for (int i = 0; i < m->ntables && !clash; i++)
                    clash = !strcmp(m->tables[i].name, name);
                for (int i = 0; i < nq && !clash; i++)
                    clash = !strcmp(qt[i].name, name);
                if (!clash)
                    break;
                char *nn = malloc(strlen(name) + 16);
                if (!nn)
                    break;
                char *us = suffix > 2 ? strrchr(name, '_') : NULL;
                if (us)
                    *us = 0;
                snprintf(nn, strlen(name) + 16, "%.*s_%d", NAME_MAX_LEN - 4, name, suffix);
                free(name);
                name = nn;
            }
            qt[nq].name = name;
            qt[nq].table = t;
            qt[nq].fk = k;
            nq++;
        }
    }

    fprintf(out, "# cqlshift plan for %s, written %s by cqlshift %s\n", source_uri_redacted, day,
            CQLSHIFT_VERSION);
    int file = schema->ntables == 1 && !schema->tables[0].sql_name;
    if (file)
        fprintf(out, "# Edit freely; `cqlshift load FILE cassandra://HOST/ --plan plan.yaml` "
                     "executes it. The format is in docs/plan.md.\n");
    else
        fprintf(out, "# Edit freely; `cqlshift migrate plan.yaml` executes it. The format is in "
                     "docs/plan.md.\n"
                     "# Tables with enabled: false are proposals (query tables): set enabled: "
                     "true to create and fill them.\n");
    fprintf(out, "version: 1\n");
    cs_buf_printf(&w.line, "source: ");
    cs_buf_printf(&w.line, "'");
    for (const char *p = source_uri_redacted; *p; p++)
        cs_buf_printf(&w.line, *p == '\'' ? "''" : "%c", *p);
    cs_buf_printf(&w.line, "'");
    emit(&w, 0, "the source URI (never a password)");
    fprintf(out, "keyspace:\n");
    cs_buf_printf(&w.line, "name: ");
    yaml_scalar(&w.line, m->keyspace);
    emit(&w, 2, NULL);
    {
        json_error_t je;
        json_t *r = m->replication ? json_loads(m->replication, 0, &je) : NULL;
        cs_buf_printf(&w.line, "replication: {");
        if (json_is_object(r)) {
            const char *k;
            json_t *v;
            int first = 1;
            json_object_foreach(r, k, v)
            {
                cs_buf_printf(&w.line, "%s", first ? "" : ", ");
                yaml_scalar(&w.line, k);
                cs_buf_printf(&w.line, ": ");
                if (json_is_integer(v))
                    cs_buf_printf(&w.line, "%lld", (long long)json_integer_value(v));
                else
                    yaml_scalar(&w.line, json_string_value(v) ? json_string_value(v) : "");
                first = 0;
            }
        } else {
            cs_buf_printf(&w.line, "class: SimpleStrategy, replication_factor: 1");
        }
        cs_buf_printf(&w.line, "}");
        json_decref(r);
        emit(&w, 2, m->replication ? NULL
                                   : "one node; several data centers: {class: "
                                     "NetworkTopologyStrategy, dc1: 3, dc2: 3}");
    }
    cs_buf_printf(&w.line, "durable_writes: true");
    emit(&w, 2, NULL);

    fprintf(out, "tables:");
    char comment[2048];
    for (int t = 0; t < m->ntables; t++) {
        const target_table *tt = &m->tables[t];
        const source_table *st = &schema->tables[tt->source_table];
        int *order = calloc((size_t)tt->ncols + 1, sizeof *order);
        int *keys = calloc((size_t)tt->ncols + 1, sizeof *keys);
        if (!order || !keys) {
            free(order);
            free(keys);
            w.failed = 1;
            break;
        }
        for (int c = 0; c < tt->ncols; c++)
            order[c] = c;
        int too_large = 0;
        int have_sizes = partition_comment(assess, tt->name, comment, sizeof comment, &too_large);
        char tnote[4200];
        int renamed = tt->note && strstr(tt->note, "renamed from ");
        snprintf(tnote, sizeof tnote, "%s%s%s%s%s%s", renamed ? "" : "from ", renamed ? "" : st->name,
                 tt->note && !renamed ? "; " : "", tt->note ? tt->note : "", have_sizes ? "; " : "",
                 have_sizes ? comment : "");
        fputc('\n', out);
        yaml_scalar(&w.line, tt->name);
        cs_buf_printf(&w.line, ":");
        emit(&w, 2, tnote);
        write_columns(&w, tt, order, tt->ncols, 1, t == 0);
        int npk = 0, nck = 0;
        for (int c = 0; c < tt->ncols; c++)
            if (tt->cols[c].kind == 1)
                keys[npk++] = c;
        write_key_list(&w, "partition_key", tt, keys, npk,
                       st->uses_rowid ? "no primary key in the source: the rowid"
                       : npk ? NULL
                             : "TO CHOOSE: no column identifies a row (see the table's comment)");
        for (int c = 0; c < tt->ncols; c++)
            if (tt->cols[c].kind == 2)
                keys[nck++] = c;
        write_key_list(&w, "clustering", tt, keys, nck,
                       t == 0 ? "\"col\" or \"col desc\", in order" : NULL);
        cs_buf_printf(&w.line, "options: {}");
        emit(&w, 4, t == 0 ? "CQL table options, e.g. default_time_to_live: 86400" : NULL);

        /* secondary indexes of the source: SAI or a query table */
        int nix = 0;
        cs_buf entries;
        cs_buf_init(&entries, 1 << 20);
        for (int i = 0; i < st->nindexes; i++) {
            const source_index *ix = &st->indexes[i];
            char cols[512] = "";
            size_t o = 0;
            int expr = 0;
            for (int c = 0; c < ix->ncols && o < sizeof cols; c++) {
                if (ix->cols[c] < 0) {
                    expr = 1;
                    continue;
                }
                o += (size_t)snprintf(cols + o, sizeof cols - o, "%s%s", c ? ", " : "",
                                      st->cols[ix->cols[c]].name);
            }
            int first = ix->ncols > 0 && ix->cols[0] >= 0 ? target_col_of(tt, ix->cols[0]) : -1;
            const char *query = NULL;
            for (int q = 0; q < nq && !query; q++) {
                if (qt[q].table != t)
                    continue; /* qt[q].fk indexes its own table's foreign keys */
                const source_fkey *fk = &st->fkeys[qt[q].fk];
                int same = fk->ncols == ix->ncols;
                for (int c = 0; c < fk->ncols && same; c++)
                    same = fk->cols[c] == ix->cols[c];
                if (same)
                    query = qt[q].name;
            }
            char text[2048];
            if (expr || first < 0) {
                snprintf(text, sizeof text, "Source index %s (%s) has an expression part%s%s: "
                                            "no proposal; compute the value in a mapping and "
                                            "index or key that column.",
                         ix->name, cols[0] ? cols : "expression", ix->note ? "; " : "",
                         ix->note ? ix->note : "");
                comment_lines(&w, 4, text);
                continue;
            }
            if (tt->cols[first].kind == 1 && npk == 1) {
                snprintf(text, sizeof text, "Source index %s (%s): %s is the partition key "
                                            "already (a query by it reads one partition); no "
                                            "index needed.",
                         ix->name, cols, ix->ncols == 1 ? "the column" : "its first column");
                comment_lines(&w, 4, text);
                continue;
            }
            snprintf(text, sizeof text,
                     "Source index %s (%s)%s%s%s: uncomment its SAI index below (no extra table "
                     "or writes; a query by %s alone asks every node: fine for occasional "
                     "queries%s) or %s%s%s (one partition per value: fast reads at any scale; "
                     "every row written twice).",
                     ix->name, cols, ix->unique ? ", unique (Cassandra does not enforce it)" : "",
                     ix->note ? "; " : "", ix->note ? ix->note : "", tt->cols[first].name,
                     ix->ncols > 1 ? "; SAI indexes one column: add one per column queried" : "",
                     query ? "enable query table " : "add a query table partitioned by ",
                     query ? query : tt->cols[first].name,
                     query ? "" : ", made as the query tables below");
            comment_lines(&w, 4, text);
            nix++;
            char iname[NAME_MAX_LEN + 1], raw[600];
            snprintf(raw, sizeof raw, "%s_%s_idx", tt->name, tt->cols[first].name);
            fold_into(raw, iname, sizeof iname);
            cs_buf_printf(&entries, "    #   - {name: ");
            yaml_scalar(&entries, iname);
            cs_buf_printf(&entries, ", column: ");
            yaml_scalar(&entries, tt->cols[first].name);
            cs_buf_printf(&entries, ", using: sai}\n");
        }
        if (nix && fprintf(out, "    # indexes:\n%.*s", (int)entries.len, (const char *)entries.data) < 0)
            w.failed = 1;
        cs_buf_release(&entries);
        free(order);
        free(keys);
    }

    /* the query tables */
    for (int q = 0; q < nq; q++) {
        const target_table *tt = &m->tables[qt[q].table];
        const source_table *st = &schema->tables[tt->source_table];
        const source_fkey *fk = &st->fkeys[qt[q].fk];
        int n = 0, npk = 0;
        int *order = calloc((size_t)tt->ncols + 1, sizeof *order);
        int *pk = calloc((size_t)tt->ncols + 1, sizeof *pk);
        int *ck = calloc((size_t)tt->ncols + 1, sizeof *ck);
        if (!order || !pk || !ck) {
            free(order);
            free(pk);
            free(ck);
            w.failed = 1;
            break;
        }
        for (int c = 0; c < fk->ncols; c++) {
            int tc = target_col_of(tt, fk->cols[c]);
            int dup = 0;
            for (int j = 0; j < npk; j++)
                dup |= pk[j] == tc;
            if (!dup)
                pk[npk++] = order[n++] = tc;
        }
        int nck = 0;
        for (int c = 0; c < tt->ncols; c++) {
            int in = 0;
            for (int j = 0; j < n; j++)
                in |= order[j] == c;
            if (tt->cols[c].kind != 0 && !in)
                ck[nck++] = order[n++] = c;
        }
        for (int c = 0; c < tt->ncols; c++) {
            int in = 0;
            for (int j = 0; j < n; j++)
                in |= order[j] == c;
            if (!in)
                order[n++] = c;
        }
        char fkcols[512] = "", refcols[512] = "", where[1024] = "";
        size_t o1 = 0, o2 = 0, o3 = 0;
        for (int c = 0; c < fk->ncols; c++) {
            if (o1 < sizeof fkcols)
                o1 += (size_t)snprintf(fkcols + o1, sizeof fkcols - o1, "%s%s", c ? ", " : "",
                                       st->cols[fk->cols[c]].name);
            if (o2 < sizeof refcols)
                o2 += (size_t)snprintf(refcols + o2, sizeof refcols - o2, "%s%s", c ? ", " : "",
                                       fk->ref_cols[c]);
            char *e = st->cols[fk->cols[c]].notnull ? NULL : expr_of(&st->cols[fk->cols[c]]);
            if (e && o3 < sizeof where)
                o3 += (size_t)snprintf(where + o3, sizeof where - o3, "%s%s is not null",
                                       o3 ? " and " : "", e);
            free(e);
        }
        fputc('\n', out);
        snprintf(comment, sizeof comment,
                 "Query table for foreign key %s(%s) -> %s(%s): the %s rows of one %s in one "
                 "partition.",
                 st->name, fkcols, fk->ref_table, refcols, st->name,
                 fk->ref_index >= 0 ? schema->tables[fk->ref_index].name : fk->ref_table);
        comment_lines(&w, 2, comment);
        yaml_scalar(&w.line, qt[q].name);
        cs_buf_printf(&w.line, ":");
        emit(&w, 2, NULL);
        int too_large = 0;
        if (!partition_comment(assess, qt[q].name, comment, sizeof comment, &too_large))
            snprintf(comment, sizeof comment, "partition sizes: run `cqlshift assess` for an "
                                              "estimate");
        cs_buf_printf(&w.line, "enabled: false");
        emit(&w, 4, comment);
        write_columns(&w, tt, order, n, 0, 0);
        write_key_list(&w, "partition_key", tt, pk, npk, NULL);
        write_key_list(&w, "clustering", tt, ck, nck, NULL);
        cs_buf_printf(&w.line, "options: {}");
        emit(&w, 4, NULL);
        free(order);
        free(pk);
        free(ck);
        qt[q].where = where[0] ? strdup(where) : NULL;
    }

    fprintf(out, "\nmappings:\n");
    for (int t = 0; t < m->ntables; t++) {
        const target_table *tt = &m->tables[t];
        const source_table *st = &schema->tables[tt->source_table];
        int *order = calloc((size_t)tt->ncols + 1, sizeof *order);
        if (!order) {
            w.failed = 1;
            break;
        }
        for (int c = 0; c < tt->ncols; c++)
            order[c] = c;
        write_mapping(&w, st, tt->name, tt, order, tt->ncols, NULL,
                      t == 0 ? "the source table, as --tables names it" : NULL, t == 0);
        free(order);
    }
    for (int q = 0; q < nq; q++) {
        const target_table *tt = &m->tables[qt[q].table];
        const source_table *st = &schema->tables[tt->source_table];
        int *order = calloc((size_t)tt->ncols + 1, sizeof *order);
        if (!order) {
            w.failed = 1;
            break;
        }
        for (int c = 0; c < tt->ncols; c++)
            order[c] = c;
        snprintf(comment, sizeof comment, "for query table %s (skipped while disabled)",
                 qt[q].name);
        write_mapping(&w, st, qt[q].name, tt, order, tt->ncols, qt[q].where, comment, 0);
        free(order);
    }
    for (int q = 0; q < nq; q++) {
        free(qt[q].name);
        free(qt[q].where);
    }
    free(qt);
    cs_buf_release(&w.line);
    if (fflush(out) || ferror(out))
        w.failed = 1;
    return w.failed ? -1 : nq;
}
