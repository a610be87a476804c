/* cql_exec: run one CQL statement through cqlshift's own client, for tests.
 *
 *   cql_exec [--hosts H1,H2] [--port P] [--protocol 4|5] [--lz4] [--keyspace KS]
 *            [--consistency C] [--user U] [--tls] [--ca FILE] [--insecure]
 *            [--no-discovery] [--page-size N]
 *            STATEMENT [--values-json '[...]'] [--values-file FILE.jsonl]
 *
 * With values, the statement is prepared and executed once per JSON array
 * (values encoded with cql_value_encode_json from the bind metadata types;
 * {"$unset": true} sends the "unset" value, which leaves a column untouched).
 * Result rows are printed one JSON object per line (column -> value in the
 * JSON convention of src/cql/types.h), all pages. The password comes from
 * the environment variable CQLSHIFT_PASSWORD. Exit 0, or 1 with the error
 * on stderr. A line "# protocol=N nodes=N up=N" goes to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cql/cql.h"

static int print_rows(const cql_result *r)
{
    int32_t nc = cql_result_column_count(r);
    for (int32_t i = 0; i < cql_result_row_count(r); i++) {
        json_t *obj = json_object();
        for (int32_t c = 0; c < nc; c++) {
            const cql_column *col = cql_result_column(r, c);
            const uint8_t *p;
            int32_t l = cql_result_value(r, i, c, &p);
            cql_error e;
            json_t *v = cql_value_decode_json(col->type, p, l, &e);
            if (!v) {
                fprintf(stderr, "cql_exec: column %s: %s\n", col->name, e.msg);
                json_decref(obj);
                return -1;
            }
            json_object_set_new(obj, col->name, v);
        }
        char *s = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER |
                                      JSON_REAL_PRECISION(17));
        puts(s);
        free(s);
        json_decref(obj);
    }
    return 0;
}

static int run_one(cql_session *s, const char *query, const cql_prepared *ps, json_t *vals,
                   uint16_t consistency, int32_t page_size)
{
    cs_buf values;
    cs_buf_init(&values, SIZE_MAX);
    cql_statement st = {0};
    st.query = query;
    st.prepared = ps;
    st.consistency = consistency;
    st.page_size = page_size;
    st.idempotent = 1;
    if (ps) {
        const cql_metadata *b = cql_prepared_bind(ps);
        if (!json_is_array(vals) || (int32_t)json_array_size(vals) != b->ncols) {
            fprintf(stderr, "cql_exec: expected a JSON array of %d values\n", b->ncols);
            return -1;
        }
        for (int32_t i = 0; i < b->ncols; i++) {
            cql_error e;
            json_t *v = json_array_get(vals, (size_t)i);
            if (json_is_object(v) && json_object_get(v, "$unset")) { /* leave the column as it is */
                cql_value_put_unset(&values);
                continue;
            }
            if (cql_value_encode_json(b->cols[i].type, v, &values, &e)) {
                fprintf(stderr, "cql_exec: value %d (%s): %s\n", i, b->cols[i].name, e.msg);
                cs_buf_release(&values);
                return -1;
            }
        }
        st.values = values.data;
        st.values_len = values.len;
        st.nvalues = (uint16_t)b->ncols;
    }
    int rc = 0;
    uint8_t *paging = NULL;
    for (;;) {
        cql_error e;
        cql_result *r = cql_session_query_sync(s, &st, &e);
        if (!r) {
            fprintf(stderr, "cql_exec: %s\n", e.msg);
            rc = -1;
            break;
        }
        for (const char *const *w = cql_result_warnings(r); *w; w++)
            fprintf(stderr, "cql_exec: warning: %s\n", *w);
        if (print_rows(r)) {
            cql_result_free(r);
            rc = -1;
            break;
        }
        size_t plen;
        const uint8_t *ps_state = cql_result_paging_state(r, &plen);
        free(paging);
        paging = NULL;
        if (ps_state && plen) {
            paging = malloc(plen);
            memcpy(paging, ps_state, plen);
        }
        cql_result_free(r);
        if (!paging)
            break;
        st.paging_state = paging;
        st.paging_state_len = plen;
    }
    free(paging);
    cs_buf_release(&values);
    return rc;
}

int main(int argc, char **argv)
{
    cql_config cfg;
    cql_config_init(&cfg);
    cfg.hosts = "127.0.0.1";
    const char *stmt = NULL, *values_json = NULL, *values_file = NULL;
    uint16_t consistency = CQL_ONE;
    int32_t page_size = 5000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && next && (i++, 1))
        if (ARG("--hosts"))
            cfg.hosts = next;
        else if (ARG("--port"))
            cfg.port = (uint16_t)atoi(next);
        else if (ARG("--protocol"))
            cfg.protocol_version = atoi(next);
        else if (!strcmp(a, "--lz4"))
            cfg.lz4 = 1;
        else if (ARG("--keyspace"))
            cfg.keyspace = next;
        else if (ARG("--consistency")) {
            int c = cql_consistency_parse(next);
            if (c < 0) {
                fprintf(stderr, "cql_exec: unknown consistency %s\n", next);
                return 2;
            }
            consistency = (uint16_t)c;
        } else if (ARG("--user"))
            cfg.username = next;
        else if (!strcmp(a, "--tls"))
            cfg.tls = 1;
        else if (ARG("--ca"))
            cfg.tls_ca_file = next;
        else if (!strcmp(a, "--insecure"))
            cfg.tls_insecure = 1;
        else if (!strcmp(a, "--no-discovery"))
            cfg.no_discovery = 1;
        else if (ARG("--page-size"))
            page_size = atoi(next);
        else if (ARG("--values-json"))
            values_json = next;
        else if (ARG("--values-file"))
            values_file = next;
        else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "cql_exec: unknown or incomplete option %s\n", a);
            return 2;
        } else
            stmt = a;
#undef ARG
    }
    if (!stmt) {
        fprintf(stderr, "cql_exec: no statement given\n");
        return 2;
    }
    cfg.password = getenv("CQLSHIFT_PASSWORD");
    cql_session *s;
    cql_error e;
    if (cql_session_connect(&cfg, &s, &e)) {
        fprintf(stderr, "cql_exec: %s\n", e.msg);
        return 1;
    }
    fprintf(stderr, "# protocol=%d nodes=%d up=%d\n", cql_session_protocol_version(s),
            cql_session_node_count(s), cql_session_nodes_up(s));
    int rc = 0;
    if (!values_json && !values_file) {
        rc = run_one(s, stmt, NULL, NULL, consistency, page_size);
    } else {
        const cql_prepared *ps = cql_session_prepare(s, stmt, &e);
        if (!ps) {
            fprintf(stderr, "cql_exec: %s\n", e.msg);
            cql_session_close(s);
            return 1;
        }
        if (values_json) {
            json_error_t je;
            json_t *v = json_loads(values_json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
            if (!v) {
                fprintf(stderr, "cql_exec: --values-json: %s\n", je.text);
                rc = -1;
            } else {
                rc = run_one(s, NULL, ps, v, consistency, page_size);
                json_decref(v);
            }
        } else {
            FILE *f = fopen(values_file, "r");
            if (!f) {
                fprintf(stderr, "cql_exec: cannot open %s\n", values_file);
                rc = -1;
            }
            char *line = NULL;
            size_t cap = 0;
            long lineno = 0;
            while (f && rc == 0 && getline(&line, &cap, f) > 0) {
                lineno++;
                json_error_t je;
                json_t *v = json_loads(line, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
                if (!v) {
                    fprintf(stderr, "cql_exec: %s:%ld: %s\n", values_file, lineno, je.text);
                    rc = -1;
                    break;
                }
                rc = run_one(s, NULL, ps, v, consistency, page_size);
                json_decref(v);
            }
            free(line);
            if (f)
                fclose(f);
        }
    }
    cql_session_close(s);
    return rc ? 1 : 0;
}
