/* source_query: run statements through a source's query operation, for the
 * end-to-end tests of that operation.
 *
 *   source_query URI [--snapshot] [--stop N] SQL...
 *
 * Opens URI (a database URI or sqlite:PATH), takes the snapshot first with
 * --snapshot (describe, then snapshot_begin with one reader), then runs each
 * SQL in turn and prints one JSON line per statement on stdout:
 *   {"rc": 0, "rows": [["1", null], ...]}      or
 *   {"rc": -1, "error": "the source's message"}
 * (values as JSON strings, null for SQL NULL; --stop N stops each statement
 * after N rows, rc then 1). A failed statement does not stop the others:
 * the point is that the source stays usable. Exit 0, or 1 if URI cannot be
 * opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "source/source.h"

typedef struct rows {
    json_t *arr;
    int stop;
} rows;

static int on_row(void *ctx, int n, const char *const *v, const size_t *l)
{
    rows *r = ctx;
    json_t *row = json_array();
    for (int k = 0; k < n; k++)
        json_array_append_new(row, v[k] ? json_stringn(v[k], l[k]) : json_null());
    json_array_append_new(r->arr, row);
    return r->stop && (int)json_array_size(r->arr) >= r->stop ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: source_query URI [--snapshot] [--stop N] SQL...\n");
        return 2;
    }
    source_error e;
    source *s = source_uri_is_db(argv[1]) ? source_open_db(argv[1], NULL, &e)
                                          : source_open(argv[1], NULL, NULL, &e);
    if (!s || !s->ops->query) {
        fprintf(stderr, "%s\n", s ? "this source has no query operation" : e.msg);
        if (s)
            s->ops->close(s);
        return 1;
    }
    int stop = 0, i = 2;
    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        if (!strcmp(argv[i], "--snapshot")) {
            if (!s->ops->describe(s, &e) ||
                (s->ops->snapshot_begin && s->ops->snapshot_begin(s, 1, &e))) {
                fprintf(stderr, "%s\n", e.msg);
                s->ops->close(s);
                return 1;
            }
        } else if (!strcmp(argv[i], "--stop") && i + 1 < argc) {
            stop = atoi(argv[++i]);
        }
    }
    for (; i < argc; i++) {
        rows r = {json_array(), stop};
        int rc = s->ops->query(s, argv[i], on_row, &r, &e);
        json_t *out = rc < 0 ? json_pack("{s:i, s:s}", "rc", rc, "error", e.msg)
                             : json_pack("{s:i, s:O}", "rc", rc, "rows", r.arr);
        char *text = json_dumps(out, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(out);
        json_decref(r.arr);
    }
    s->ops->close(s);
    return 0;
}
