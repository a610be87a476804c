/* cqlshift assess SOURCE: what the source holds and what the automatic
 * model would meet (assess/assess.h), as a report a person reads in a
 * minute, or one JSON document with --json. Risks are not failures: exit 0. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess/assess.h"
#include "cli/cli.h"
#include "cli/common.h"
#include "cli/opts.h"

typedef struct assess_args {
    const char *tables;
    const char *schemas;
    const char *databases;
    int json;
    long long sample;
} assess_args;

static const cli_opt assess_opts[] = {
    {"tables", 0, OPT_TEXT, offsetof(assess_args, tables), "A,B",
     "only these source tables (comma-separated, as the source names them)", 0, 0, 0, NULL, NULL},
    {"schema", 0, OPT_TEXT, offsetof(assess_args, schemas), "S,T",
     "PostgreSQL: read only these schemas (comma-separated; default: every schema but the "
     "system ones)", 0, 0, 0, NULL, NULL},
    {"databases", 0, OPT_TEXT, offsetof(assess_args, databases), "D,E",
     "MySQL/MariaDB: read these databases of the server (comma-separated; default: the "
     "URI's database)", 0, 0, 0, NULL, NULL},
    {"json", 0, OPT_FLAG, offsetof(assess_args, json), NULL,
     "print one JSON document on stdout instead of the report (docs/assess.md has its fields)",
     0, 0, 0, NULL, NULL},
    {"sample", 0, OPT_LLONG, offsetof(assess_args, sample), "N",
     "a table of at most N rows is read whole by each check; a larger one through a random "
     "sample of about N rows, and its counts and partition sizes say \"sampled\" (default 1M)",
     1000, 1e12, 1, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const assess_pos[] = {"SOURCE", NULL};

static const cli_spec assess_spec = {
    .name = "assess",
    .usage = "SOURCE [--tables A,B] [--schema S | --databases D] [--json] [--sample N]",
    .positionals = assess_pos,
    .description =
        "Report what SOURCE holds and what moving it to Cassandra would meet, reading only: per "
        "table its rows (an exact count up to 10M rows, else the source's estimate), size, "
        "primary key, foreign keys and indexes; per column the proposed CQL type and a flag "
        "(lossy, ambiguous, unsupported) with counts from the data; and the risks: tables "
        "without a primary key, keys that collide or change in Cassandra, values Cassandra "
        "cannot hold, partitions of 100,000 rows or 100 MB and more, and hot partitions, each "
        "with a count and an example. SOURCE is as for migrate (postgresql://, mysql://, "
        "mariadb://, sqlite:FILE) or a CSV/JSONL file (csv:PATH, jsonl:PATH), whose types are "
        "inferred from a scan. Risks are not failures: the exit status is 0 when the source "
        "could be read.",
    .notes = NULL,
};

void cmd_assess_doc(FILE *out, int man)
{
    cli_opt_group g = {"Assess options", assess_opts, NULL};
    if (man)
        cli_print_man(out, &assess_spec, &g, 1);
    else
        cli_print_help(out, &assess_spec, &g, 1);
}

/* 1234567 -> "1.2 MB" */
static const char *human_bytes(json_int_t b, char *buf, size_t n)
{
    if (b < 1000)
        snprintf(buf, n, "%lld B", (long long)b);
    else if (b < 1000000)
        snprintf(buf, n, "%.1f KB", (double)b / 1e3);
    else if (b < 1000000000)
        snprintf(buf, n, "%.1f MB", (double)b / 1e6);
    else
        snprintf(buf, n, "%.1f GB", (double)b / 1e9);
    return buf;
}

static void print_names(FILE *out, json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        fprintf(out, "%s%s", i ? ", " : "", json_string_value(v));
}

static void print_report(FILE *out, json_t *doc)
{
    json_t *tables = json_object_get(doc, "tables");
    size_t ti;
    json_t *t;
    long long total_rows = 0, nflag = 0, nrisk = 0;
    json_int_t total_bytes = 0;
    json_t *kinds = json_object();
    fprintf(out, "%s (%s): %zu table%s\n", json_string_value(json_object_get(doc, "source")),
            json_string_value(json_object_get(doc, "kind")), json_array_size(tables),
            json_array_size(tables) == 1 ? "" : "s");
    json_array_foreach(tables, ti, t) {
        json_t *rows = json_object_get(t, "rows"), *bytes = json_object_get(t, "bytes");
        char hb[32];
        fprintf(out, "  %s -> %s: ", json_string_value(json_object_get(t, "name")),
                json_string_value(json_object_get(t, "target")));
        if (json_is_integer(rows)) {
            fprintf(out, "%s%lld row%s", json_is_true(json_object_get(t, "rows_exact")) ? "" : "~",
                    (long long)json_integer_value(rows), json_integer_value(rows) == 1 ? "" : "s");
            total_rows += json_integer_value(rows);
        } else {
            fprintf(out, "rows unknown");
        }
        if (json_is_integer(bytes)) {
            fprintf(out, ", %s", human_bytes(json_integer_value(bytes), hb, sizeof hb));
            total_bytes += json_integer_value(bytes);
        }
        json_t *pk = json_object_get(t, "primary_key");
        if (json_array_size(pk)) {
            fprintf(out, ", key (");
            print_names(out, pk);
            fprintf(out, ")");
        } else {
            fprintf(out, ", no primary key");
        }
        size_t nfk = json_array_size(json_object_get(t, "foreign_keys"));
        size_t nix = json_array_size(json_object_get(t, "indexes"));
        if (nfk)
            fprintf(out, ", %zu foreign key%s", nfk, nfk == 1 ? "" : "s");
        if (nix)
            fprintf(out, ", %zu index%s", nix, nix == 1 ? "" : "es");
        if (json_is_true(json_object_get(t, "sampled")))
            fprintf(out, " (checks on a sample)");
        fprintf(out, "\n");
        /* the partitions of the query tables (the base table's are one line each) */
        size_t pi;
        json_t *p;
        int first = 1;
        json_array_foreach(json_object_get(t, "partitions"), pi, p) {
            if (pi == 0 && json_integer_value(json_object_get(p, "rows_max")) <= 1)
                continue;
            char b1[32], b2[32];
            fprintf(out, "%s%s (", first ? "    partitions: " : "; ",
                    json_string_value(json_object_get(p, "for")));
            print_names(out, json_object_get(p, "key"));
            long long rmax = (long long)json_integer_value(json_object_get(p, "rows_max"));
            long long r99 = (long long)json_integer_value(json_object_get(p, "rows_p99"));
            fprintf(out, ") max %lld row%s / %s, p99 %lld row%s / %s%s", rmax, rmax == 1 ? "" : "s",
                    human_bytes(json_integer_value(json_object_get(p, "bytes_max")), b1, sizeof b1),
                    r99, r99 == 1 ? "" : "s",
                    human_bytes(json_integer_value(json_object_get(p, "bytes_p99")), b2, sizeof b2),
                    json_is_true(json_object_get(p, "sampled")) ? " (sampled)" : "");
            first = 0;
        }
        if (!first)
            fprintf(out, "\n");
    }
    /* flagged columns */
    int header = 0;
    json_array_foreach(tables, ti, t) {
        size_t ci;
        json_t *c;
        json_array_foreach(json_object_get(t, "columns"), ci, c) {
            const char *flag = json_string_value(json_object_get(c, "flag"));
            if (!flag)
                continue;
            if (!header++)
                fprintf(out, "Flagged columns:\n");
            nflag++;
            const char *note = json_string_value(json_object_get(c, "note"));
            const char *cql = json_string_value(json_object_get(c, "cql_type"));
            const char *st = json_string_value(json_object_get(c, "source_type"));
            fprintf(out, "  %s.%s (%s -> %s): %s", json_string_value(json_object_get(t, "name")),
                    json_string_value(json_object_get(c, "name")), st && *st ? st : "no type",
                    cql ? cql : "nothing", flag);
            /* the counts that explain the flag (their risks have examples), else the note */
            const char *k;
            json_t *v;
            int shown = 0;
            json_object_foreach(json_object_get(c, "counts"), k, v)
                if (json_integer_value(v) > 0)
                    fprintf(out, "%s%lld %s", shown++ ? ", " : ": ",
                            (long long)json_integer_value(v), k);
            if (!shown && note)
                fprintf(out, ": %.200s%s", note, strlen(note) > 200 ? "..." : "");
            fprintf(out, "\n");
        }
    }
    header = 0;
    json_array_foreach(tables, ti, t) {
        size_t ri;
        json_t *r;
        json_array_foreach(json_object_get(t, "risks"), ri, r) {
            if (!header++)
                fprintf(out, "Risks:\n");
            nrisk++;
            const char *kind = json_string_value(json_object_get(r, "kind"));
            json_object_set_new(kinds, kind,
                                json_integer(json_integer_value(json_object_get(kinds, kind)) + 1));
            fprintf(out, "  [%s] %s\n", kind, json_string_value(json_object_get(r, "message")));
        }
    }
    char hb[32];
    fprintf(out, "Summary: %zu table%s, %lld row%s, %s; %lld flagged column%s; %lld risk%s",
            json_array_size(tables), json_array_size(tables) == 1 ? "" : "s", total_rows,
            total_rows == 1 ? "" : "s",
            human_bytes(total_bytes, hb, sizeof hb), nflag, nflag == 1 ? "" : "s", nrisk,
            nrisk == 1 ? "" : "s");
    const char *k;
    json_t *v;
    int i = 0;
    json_object_foreach(kinds, k, v)
        fprintf(out, "%s%lld %s", i++ ? ", " : " (", (long long)json_integer_value(v), k);
    fprintf(out, "%s.\n", i ? ")" : "");
    json_decref(kinds);
}

int cmd_assess(int argc, char **argv)
{
    /* assess writes nothing, so there is nothing to finish: Ctrl-C and
     * SIGTERM stop it at once (not the loader's save-then-stop handler) */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    assess_args aa = {0};
    cli_opt_group g = {"Assess options", assess_opts, &aa};
    const char *pos[1] = {NULL};
    int pr = cli_parse(&assess_spec, &g, 1, argc, argv, pos);
    if (pr)
        return pr > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    int is_db = source_uri_is_db(pos[0]);
    int is_pg = is_db && (!strncmp(pos[0], "postgresql:", 11) || !strncmp(pos[0], "postgres:", 9));
    if ((aa.schemas && !is_pg) || (aa.databases && (!is_db || is_pg))) {
        cli_error("--%s is for %s sources; %s is not one", aa.schemas ? "schema" : "databases",
                  aa.schemas ? "PostgreSQL" : "MySQL and MariaDB", pos[0]);
        return CLI_EXIT_USAGE;
    }
    char label[2048];
    source_uri_redact(pos[0], label, sizeof label);
    source_error se;
    source *src = is_db ? source_open_db(pos[0], is_pg ? aa.schemas : aa.databases, &se)
                        : source_open(pos[0], NULL, NULL, &se);
    if (!src) {
        cli_error("%s", se.msg);
        return se.code == SRC_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    /* views named in --tables are assessed as tables (PostgreSQL), as migrate copies them */
    if (aa.tables && src->ops->want_views && src->ops->want_views(src, aa.tables, &se)) {
        cli_error("%s", se.msg);
        src->ops->close(src);
        return CLI_EXIT_FAILED;
    }
    assess_options o = {.tables = aa.tables, .sample = aa.sample, .source_label = label};
    assess_error ae;
    json_t *doc = assess_run(src, &o, &ae);
    src->ops->close(src);
    if (!doc) {
        cli_error("%s", ae.msg);
        return ae.code == 2 ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    if (aa.json) {
        if (json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER) == 0)
            fputc('\n', stdout);
    } else {
        print_report(stdout, doc);
    }
    json_decref(doc);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}
