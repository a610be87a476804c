/* cqlshift plan SOURCE: write the automatic model of a source as an
 * editable plan file (docs/plan.md), with query tables proposed for its
 * foreign keys and SAI indexes for its secondary indexes. Touches no
 * cluster. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assess/assess.h"
#include "cli/cli.h"
#include "cli/common.h"
#include "model/model.h"
#include "plan/plan.h"

typedef struct plan_args {
    const char *keyspace;
    const char *output;
    const char *tables;
    const char *schemas;
    const char *databases;
    const char *replication;
} plan_args;


static const cli_opt plan_opts[] = {
    {"keyspace", 'k', OPT_TEXT, offsetof(plan_args, keyspace), "KEYSPACE",
     "the keyspace the plan creates its tables in (default: the source's database or file "
     "name, folded to lower-case letters, digits and '_')", 0, 0, 0, NULL, NULL},
    {"output", 'o', OPT_TEXT, offsetof(plan_args, output), "FILE",
     "write the plan to FILE (replaced whole, never half-written); - or no -o: standard output",
     0, 0, 0, NULL, NULL},
    {"tables", 0, OPT_TEXT, offsetof(plan_args, tables), "A,B",
     "only these source tables (comma-separated, as the source names them)", 0, 0, 0, NULL, NULL},
    {"schema", 0, OPT_TEXT, offsetof(plan_args, schemas), "S,T",
     "PostgreSQL: read only these schemas (comma-separated; default: every schema but the "
     "system ones)", 0, 0, 0, NULL, NULL},
    {"databases", 0, OPT_TEXT, offsetof(plan_args, databases), "D,E",
     "MySQL/MariaDB: read these databases of the server (comma-separated; default: the "
     "URI's database)", 0, 0, 0, NULL, NULL},
    {"replication", 0, OPT_CUSTOM, offsetof(plan_args, replication), "R",
     "the keyspace's replication in the plan: SimpleStrategy:N, or DC:N[,DC:N...] for "
     "NetworkTopologyStrategy, N from 1 to 99 (default SimpleStrategy:1)", 0, 0, 0, NULL,
     cli_parse_replication},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const plan_pos[] = {"SOURCE", NULL};

static const cli_spec plan_spec = {
    .name = "plan",
    .usage = "SOURCE [-k KEYSPACE] [-o plan.yaml] [OPTIONS]",
    .positionals = plan_pos,
    .description =
        "Write the model cqlshift proposes for SOURCE as a commented YAML plan to edit and keep "
        "in git: the keyspace, one table per source table keyed by its primary key (every "
        "lossy or notable type choice in a comment), a disabled query table per foreign key "
        "(partitioned by the key, clustered by the child's primary key; set enabled: true to "
        "create it), an SAI index or query table proposed per secondary index, and a mapping "
        "per table whose expressions compute each column. SOURCE is as for migrate "
        "(postgresql://..., mysql://..., sqlite:FILE). Reads the schema (and the values of "
        "columns whose declared type does not say enough); writes nothing to Cassandra. The "
        "format is in docs/plan.md.",
    .notes = NULL,
};

void cmd_plan_doc(FILE *out, int man)
{
    cli_opt_group g[1] = {{"Plan options", plan_opts, NULL}};
    (man ? cli_print_man : cli_print_help)(out, &plan_spec, g, 1);
}

/* The default keyspace: the database's name (the URI's last path part, a
 * file's name without extension), folded to [a-z0-9_]; "cqlshift" if
 * nothing is left. */
void cli_default_keyspace(const char *uri, char *out, size_t n)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", uri);
    buf[strcspn(buf, "?#")] = 0;
    size_t len = strlen(buf);
    while (len && buf[len - 1] == '/')
        buf[--len] = 0;
    const char *base = strrchr(buf, '/');
    base = base ? base + 1 : buf;
    const char *colon = strrchr(base, ':');
    if (colon && !source_uri_is_db(uri))
        base = colon + 1;   /* sqlite:FILE */
    char *dot = strrchr(base, '.');
    if (dot && !source_uri_is_db(uri))
        *dot = 0;
    size_t o = 0;
    for (const char *p = base; *p && o + 1 < n && o < 48; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) && c < 0x80)
            out[o++] = (char)tolower(c);
        else if (o && out[o - 1] != '_')
            out[o++] = '_';
    }
    while (o && out[o - 1] == '_')
        o--;
    out[o] = 0;
    if (!o)
        snprintf(out, n, "cqlshift");
}

int cmd_plan(int argc, char **argv)
{
    plan_args pa = {0};
    const char *pos[1] = {NULL};
    cli_opt_group g[1] = {{"Plan options", plan_opts, &pa}};
    int pr = cli_parse(&plan_spec, g, 1, argc, argv, pos);
    if (pr)
        return pr > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    int is_db = source_uri_is_db(pos[0]);
    int is_pg = is_db && (!strncmp(pos[0], "postgresql:", 11) || !strncmp(pos[0], "postgres:", 9));
    if ((pa.schemas && !is_pg) || (pa.databases && (!is_db || is_pg))) {
        cli_error("--%s is for %s sources; %s is not one", pa.schemas ? "schema" : "databases",
                  pa.schemas ? "PostgreSQL" : "MySQL and MariaDB", pos[0]);
        return CLI_EXIT_USAGE;
    }
    char ks[64];
    if (pa.keyspace)
        snprintf(ks, sizeof ks, "%.63s", pa.keyspace);
    else
        cli_default_keyspace(pos[0], ks, sizeof ks);
    char source_label[2048];
    source_uri_redact(pos[0], source_label, sizeof source_label);
    source_error se;
    source *src = is_db ? source_open_db(pos[0], is_pg ? pa.schemas : pa.databases, &se)
                        : source_open(pos[0], NULL, NULL, &se);
    if (!src) {
        cli_error("%s", se.msg);
        return se.code == SRC_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    if (!is_db && strcmp(src->ops->name, "sqlite")) {
        /* as migrate SOURCE: a file has no key for the automatic model */
        cli_error("%s is a %s source, which has no keys to propose a model from; plan reads a "
                  "database (sqlite:FILE, postgresql://..., mysql://...). For files, write the "
                  "plan by hand (docs/plan.md) and run cqlshift load FILE TARGET --plan plan.yaml",
                  pos[0], src->ops->name);
        src->ops->close(src);
        return CLI_EXIT_USAGE;
    }
    const source_schema *schema = src->ops->describe(src, &se);
    if (!schema) {
        cli_error("%s", se.msg);
        src->ops->close(src);
        return CLI_EXIT_FAILED;
    }
    model m;
    model_error me;
    if (model_from_source(&m, schema, ks, &me)) {
        cli_error("%s%s", me.msg,
                  pa.keyspace || strncmp(me.msg, "invalid keyspace", 16)
                      ? "" : " (the default keyspace; give one with -k)");
        src->ops->close(src);
        return CLI_EXIT_USAGE;
    }
    if ((pa.replication && model_parse_replication(pa.replication, &m.replication, &me)) ||
        (pa.tables && model_keep_tables(&m, schema, pa.tables, &me)) ||
        model_refine_from_values(&m, src, schema, -1, &me)) {
        cli_error("%s", me.msg);
        model_release(&m);
        src->ops->close(src);
        return me.code == 3 ? CLI_EXIT_FAILED : CLI_EXIT_USAGE;
    }
    int to_stdout = !pa.output || !strcmp(pa.output, "-");
    char tmp[4200] = "";
    FILE *out = stdout;
    if (!to_stdout) {
        snprintf(tmp, sizeof tmp, "%s.tmp-%ld", pa.output, (long)getpid());
        out = fopen(tmp, "w");
        if (!out) {
            cli_error("cannot write %s: %s", tmp, strerror(errno));
            model_release(&m);
            src->ops->close(src);
            return CLI_EXIT_FAILED;
        }
    }
    /* partition sizes for the comments: assess's document (a failure only
     * loses the comments) */
    assess_options ao = {.tables = pa.tables, .source_label = source_label};
    assess_error ae;
    json_t *sizes = assess_run(src, &ao, &ae);
    if (!sizes)
        fprintf(stderr, "cqlshift: note: no partition sizes in the plan: %s\n", ae.msg);
    int nq = plan_write(out, &m, schema, source_label, sizes);
    int rc = nq < 0 ? -1 : 0;
    json_decref(sizes);
    if (!to_stdout) {
        int werr = errno;
        if (fclose(out))
            rc = -1, werr = errno;
        if (!rc && rename(tmp, pa.output))
            rc = -1, werr = errno;
        if (rc) {
            unlink(tmp);
            cli_error("cannot write %s: %s", pa.output, strerror(werr));
        }
    } else if (rc) {
        cli_error("cannot write the plan to standard output: %s", strerror(errno));
    }
    if (!rc)
        cli_note(0, "%s: %d table%s, %d query table%s proposed (enabled: false); edit it, then "
                    "give it to cqlshift migrate",
                 to_stdout ? "plan written" : pa.output, m.ntables, m.ntables == 1 ? "" : "s", nq,
                 nq == 1 ? "" : "s");
    model_release(&m);
    src->ops->close(src);
    return rc ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
