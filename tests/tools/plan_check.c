/* plan_check PLAN [SOURCE]
 *
 * Parses and checks a plan file (plan_parse_file), against SOURCE's tables
 * when given (plan_check_source), and prints the DDL of its enabled tables
 * and indexes (plan_to_model, model_*_ddl, plan_index_ddl), one statement a
 * line block ending in ';'. Exit 0, 1 when the source cannot be read, 2 with
 * "FILE:LINE:COL: sentence" on stderr for a refused plan. Used by
 * tests/e2e/test_plan.py until `migrate plan.yaml` exists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "plan/plan.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: plan_check PLAN [SOURCE]\n");
        return 2;
    }
    plan p;
    plan_error err;
    if (plan_parse_file(&p, argv[1], &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    source *src = NULL;
    const source_schema *schema = NULL;
    if (argc == 3) {
        source_error se;
        src = source_uri_is_db(argv[2]) ? source_open_db(argv[2], NULL, &se)
                                        : source_open(argv[2], NULL, NULL, &se);
        if (!src || !(schema = src->ops->describe(src, &se))) {
            fprintf(stderr, "%s\n", se.msg);
            if (src)
                src->ops->close(src);
            plan_release(&p);
            return 1;
        }
        if (plan_check_source(&p, schema, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            src->ops->close(src);
            plan_release(&p);
            return 2;
        }
    }
    model m;
    int rc = 0;
    if (plan_to_model(&p, schema, &m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        rc = 2;
    } else {
        cs_buf b;
        cs_buf_init(&b, 1 << 20);
        if (model_keyspace_ddl(m.keyspace, m.replication, !m.no_durable_writes, &b) == 0)
            printf("%s;\n", (const char *)b.data);
        for (int t = 0; t < m.ntables; t++) {
            cs_buf_reset(&b);
            if (model_table_ddl(&m.tables[t], &b) == 0)
                printf("%s;\n", (const char *)b.data);
        }
        for (int t = 0; t < p.ntables; t++)
            for (int i = 0; p.tables[t].enabled && i < p.tables[t].nindexes; i++) {
                cs_buf_reset(&b);
                if (plan_index_ddl(&p, t, i, &b) == 0)
                    printf("%s;\n", (const char *)b.data);
            }
        cs_buf_release(&b);
        model_release(&m);
    }
    if (src)
        src->ops->close(src);
    plan_release(&p);
    return rc;
}
