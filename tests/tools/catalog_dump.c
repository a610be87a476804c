/* catalog_dump SOURCE [--scope S]
 *
 * Prints what a source connector's describe says about each table, one JSON
 * object a line, for tests/e2e/test_catalog.py:
 *   {"name", "schema", "sql_name", "rows", "bytes", "uses_rowid",
 *    "columns": [names], "primary_key": [names in key order],
 *    "foreign_keys": [{"name", "cols": [indexes], "columns": [names],
 *                      "ref_table", "ref_index", "ref_columns": [names]}],
 *    "indexes": [{"name", "unique", "cols": [indexes, -1 an expression],
 *                 "columns": [names, null an expression], "note"}]}
 * Column names are looked up from the indexes, so the test sees whether the
 * indexes point at the columns as finally built (rowid included). SOURCE is
 * a file source (sqlite:PATH...) or a database URI; --scope is the schemas
 * (PostgreSQL) or databases (MySQL) to read. The tool itself checks that
 * every index is in range and that ref_index names ref_table, and exits 3
 * with the broken fact on stderr if not. Exit 0, 1 source error, 2 usage. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"

static int broken;

static void bad(const char *table, const char *what)
{
    fprintf(stderr, "catalog_dump: table %s: %s\n", table, what);
    broken = 1;
}

static json_t *col_name(const source_table *t, int c)
{
    if (c == -1)
        return json_null();
    if (c < 0 || c >= t->ncols) {
        bad(t->name, "column index out of range");
        return json_null();
    }
    return json_string(t->cols[c].name);
}

static json_t *opt_string(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *table_json(const source_schema *sch, const source_table *t)
{
    json_t *cols = json_array(), *pk = json_array(), *fks = json_array(), *ixs = json_array();
    for (int c = 0; c < t->ncols; c++)
        json_array_append_new(cols, json_string(t->cols[c].name));
    for (int k = 1; k <= t->npk; k++)
        for (int c = 0; c < t->ncols; c++)
            if (t->cols[c].pk_pos == k)
                json_array_append_new(pk, json_string(t->cols[c].name));
    for (int k = 0; k < t->nfkeys; k++) {
        const source_fkey *fk = &t->fkeys[k];
        json_t *idx = json_array(), *names = json_array(), *refs = json_array();
        for (int c = 0; c < fk->ncols; c++) {
            json_array_append_new(idx, json_integer(fk->cols[c]));
            if (fk->cols[c] < 0)
                bad(t->name, "foreign key column -1");
            json_array_append_new(names, col_name(t, fk->cols[c]));
            json_array_append_new(refs, opt_string(fk->ref_cols[c]));
        }
        if (fk->ref_index >= sch->ntables)
            bad(t->name, "ref_index out of range");
        else if (fk->ref_index >= 0 && strcmp(sch->tables[fk->ref_index].name, fk->ref_table))
            bad(t->name, "ref_index does not name ref_table");
        else if (fk->ref_index < -1)
            bad(t->name, "ref_index below -1");
        json_array_append_new(
            fks, json_pack("{s:o, s:o, s:o, s:o, s:i, s:o}", "name", opt_string(fk->name), "cols",
                           idx, "columns", names, "ref_table", opt_string(fk->ref_table),
                           "ref_index", fk->ref_index, "ref_columns", refs));
    }
    for (int k = 0; k < t->nindexes; k++) {
        const source_index *ix = &t->indexes[k];
        json_t *idx = json_array(), *names = json_array();
        for (int c = 0; c < ix->ncols; c++) {
            json_array_append_new(idx, json_integer(ix->cols[c]));
            json_array_append_new(names, col_name(t, ix->cols[c]));
        }
        json_array_append_new(ixs, json_pack("{s:o, s:b, s:o, s:o, s:o}", "name",
                                             opt_string(ix->name), "unique", ix->unique, "cols",
                                             idx, "columns", names, "note", opt_string(ix->note)));
    }
    return json_pack("{s:s, s:o, s:o, s:I, s:I, s:b, s:o, s:o, s:o, s:o}", "name", t->name,
                     "schema", opt_string(t->schema), "sql_name", opt_string(t->sql_name), "rows",
                     (json_int_t)t->row_estimate, "bytes", (json_int_t)t->bytes_estimate,
                     "uses_rowid", t->uses_rowid, "columns", cols, "primary_key", pk,
                     "foreign_keys", fks, "indexes", ixs);
}

int main(int argc, char **argv)
{
    const char *uri = NULL, *scope = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--scope") && i + 1 < argc)
            scope = argv[++i];
        else if (argv[i][0] != '-' && !uri)
            uri = argv[i];
        else
            uri = NULL, i = argc;
    }
    if (!uri) {
        fprintf(stderr, "usage: catalog_dump SOURCE [--scope SCHEMAS|DATABASES]\n");
        return 2;
    }
    source_error se;
    source *src = source_uri_is_db(uri) ? source_open_db(uri, scope, &se)
                                        : source_open(uri, NULL, NULL, &se);
    if (!src) {
        fprintf(stderr, "catalog_dump: %s\n", se.msg);
        return 1;
    }
    const source_schema *sch = src->ops->describe(src, &se);
    if (!sch) {
        fprintf(stderr, "catalog_dump: %s\n", se.msg);
        src->ops->close(src);
        return 1;
    }
    for (int t = 0; t < sch->ntables; t++) {
        json_t *j = table_json(sch, &sch->tables[t]);
        char *line = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        if (!line) {
            fprintf(stderr, "catalog_dump: out of memory\n");
            json_decref(j);
            src->ops->close(src);
            return 1;
        }
        printf("%s\n", line);
        free(line);
        json_decref(j);
    }
    src->ops->close(src);
    return broken ? 3 : 0;
}
