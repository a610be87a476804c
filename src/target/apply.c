/* Applying a model to Cassandra: create the keyspace and the tables,
 * then compare the tables that existed with the model (target/apply.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "target/apply.h"

/* A NUL after the text, not counted in its length. */
static int put_nul(cs_buf *out)
{
    if (cs_buf_put_u8(out, 0))
        return -1;
    out->len--;
    return 0;
}


/* Run one DDL statement and wait until every node has the new schema: the
 * next statement may go to another coordinator, which must already know
 * the keyspace (or table) this one created. */
static int run_ddl(cql_session *s, const char *cql, const char *what, cs_buf *notes,
                   model_error *err)
{
    cql_error ce;
    cql_result *r = cql_session_simple(s, cql, &ce);
    if (!r)
        return model_fail(err, 3, "%s\n(statement: %s)", ce.msg, cql);
    /* e.g. "Your replication factor 3 for keyspace k is higher than the
     * number of nodes 2 for datacenter dc1": the user must hear it */
    const char *const *warn = cql_result_warnings(r);
    for (int i = 0; notes && warn && warn[i]; i++)
        cs_buf_printf(notes, "%s: Cassandra warns: %s\n", what, warn[i]);
    cql_result_free(r);
    if (cql_session_wait_schema_agreement(s, 60000, &ce))
        return model_fail(err, 3, "the cluster did not agree on the new schema: %s", ce.msg);
    return 0;
}

int target_apply_ddl(cql_session *s, const char *cql, const char *what, cs_buf *notes,
                     model_error *err)
{
    return run_ddl(s, cql, what, notes, err);
}

/* 1 if keyspace ks exists, 0 if not, -1 with err. */
static int keyspace_exists(cql_session *s, const char *ks, model_error *err)
{
    char q[256];
    snprintf(q, sizeof q, "SELECT keyspace_name FROM system_schema.keyspaces WHERE "
             "keyspace_name = '%s'", ks);  /* ks is word characters only (valid_keyspace) */
    cql_error ce;
    cql_result *r = cql_session_simple(s, q, &ce);
    if (!r)
        return model_fail(err, 3, "cannot read whether keyspace %s exists: %s", ks, ce.msg);
    int n = cql_result_row_count(r);
    cql_result_free(r);
    return n > 0;
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
            else if (tc->kind == 2 && strcasecmp(x->order, tc->desc ? "desc" : "asc"))
                diff_line(diff, ndiff, "%s: clustering column %s is ordered %s there, the model "
                          "wants %s", ref, tc->name, x->order, tc->desc ? "DESC" : "ASC");
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

int target_apply_model(const model *m, cql_session *s, cs_buf *notes, model_error *err)
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
    int exists = keyspace_exists(s, m->keyspace, err);
    if (exists < 0)
        goto out;
    if (exists && m->replication && notes)
        cs_buf_printf(notes, "%s: the keyspace exists, so its replication is left as it is; "
                      "the replication asked for (--replication, or a plan's "
                      "keyspace.replication) applies only to a keyspace that migrate creates\n",
                      m->keyspace);
    if (!exists && !m->replication && notes)
        cs_buf_printf(notes, "%s: keyspace created with SimpleStrategy and replication factor 1: "
                      "one copy of every row, lost with its node; for a real cluster pass "
                      "--replication (SimpleStrategy:3, or DC:3[,DC:3] for "
                      "NetworkTopologyStrategy) or create the keyspace first\n",
                      m->keyspace);
    if (model_keyspace_ddl(m->keyspace, m->replication, !m->no_durable_writes, &q)) {
        model_fail(err, 1, "cannot build the keyspace DDL for %s", m->keyspace);
        goto out;
    }
    if (run_ddl(s, (const char *)q.data, m->keyspace, notes, err))
        goto out;
    for (int i = 0; i < m->ntables; i++) {
        cs_buf_reset(&q);
        if (model_table_ddl(&m->tables[i], &q)) {
            model_fail(err, 1, "cannot build the DDL of table %s", m->tables[i].name);
            goto out;
        }
        char what[160];
        snprintf(what, sizeof what, "%s.%s", m->keyspace, m->tables[i].name);
        if (run_ddl(s, (const char *)q.data, what, notes, err))
            goto out;
    }
    rc = check_tables(m, s, NULL, 0, err); /* notes came from the first check */
out:
    cs_buf_release(&q);
    return rc;
}
