/* model_tool sqlite:FILE --keyspace KS [--hosts H] [--apply]
 *
 * Prints the automatic model's DDL (notes as CQL comments) for a source;
 * with --apply also creates it in Cassandra through target_apply_model. Exit 0
 * done, 1 failure, 2 usage or a conflict with existing tables (the diff on
 * stderr). Used by tests/e2e/test_model.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "target/apply.h"

static int usage(void)
{
    fprintf(stderr, "usage: model_tool SOURCE --keyspace KS [--hosts H1,H2] [--apply]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *uri = NULL, *ks = NULL, *hosts = "127.0.0.1";
    int apply = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--keyspace") && i + 1 < argc)
            ks = argv[++i];
        else if (!strcmp(argv[i], "--hosts") && i + 1 < argc)
            hosts = argv[++i];
        else if (!strcmp(argv[i], "--apply"))
            apply = 1;
        else if (argv[i][0] != '-' && !uri)
            uri = argv[i];
        else
            return usage();
    }
    if (!uri || !ks)
        return usage();

    source_error se;
    source *src = source_open(uri, NULL, NULL, &se);
    if (!src) {
        fprintf(stderr, "model_tool: %s\n", se.msg);
        return se.code == SRC_E_USAGE ? 2 : 1;
    }
    const source_schema *schema = src->ops->describe(src, &se);
    if (!schema) {
        fprintf(stderr, "model_tool: %s\n", se.msg);
        src->ops->close(src);
        return 1;
    }
    model m;
    model_error me;
    if (model_from_source(&m, schema, ks, &me)) {
        fprintf(stderr, "model_tool: %s\n", me.msg);
        src->ops->close(src);
        return 2;
    }
    /* as migrate does: untyped columns and epoch units from the values */
    if (model_refine_from_values(&m, src, schema, -1, &me)) {
        fprintf(stderr, "model_tool: %s\n", me.msg);
        model_release(&m);
        src->ops->close(src);
        return me.code == 3 ? 1 : 2;
    }
    cs_buf b;
    cs_buf_init(&b, 1 << 24);
    int rc = 0;
    if (model_keyspace_ddl(m.keyspace, NULL, 1, &b) == 0)
        printf("%s;\n", (const char *)b.data);
    for (int i = 0; i < m.ntables; i++) {
        const target_table *t = &m.tables[i];
        printf("\n");
        if (t->note)
            printf("-- %s: %s\n", t->name, t->note);
        for (int c = 0; c < t->ncols; c++)
            if (t->cols[c].note)
                printf("-- %s.%s: %s\n", t->name, t->cols[c].name, t->cols[c].note);
        cs_buf_reset(&b);
        if (model_table_ddl(t, &b)) {
            fprintf(stderr, "model_tool: cannot build the DDL of %s\n", t->name);
            rc = 1;
            break;
        }
        printf("%s;\n", (const char *)b.data);
    }
    cs_buf_release(&b);
    fflush(stdout);

    if (rc == 0 && apply) {
        cql_config cfg;
        cql_config_init(&cfg);
        cfg.hosts = hosts;
        cql_session *s = NULL;
        cql_error ce;
        if (cql_session_connect(&cfg, &s, &ce)) {
            fprintf(stderr, "model_tool: %s\n", ce.msg);
            rc = 1;
        } else {
            cs_buf notes;
            cs_buf_init(&notes, 64 * 1024);
            if (target_apply_model(&m, s, &notes, &me)) {
                fprintf(stderr, "model_tool: %s\n", me.msg);
                rc = me.code == 2 ? 2 : 1;
            }
            if (notes.len)
                fprintf(stderr, "%.*s", (int)notes.len, (const char *)notes.data);
            cs_buf_release(&notes);
            cql_session_close(s);
        }
    }
    model_release(&m);
    src->ops->close(src);
    return rc;
}
