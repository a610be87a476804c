#include "cli/common.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/model.h"
#include "obs/progress.h"
#include "state/state.h"
#include "util/check.h"

FILE *cli_log_file;

/* "cqlshift: KIND: message" on stderr (unless quiet) and "KIND: message"
 * in the run's log. */
__attribute__((format(printf, 3, 0))) static void say(const char *kind, int quiet,
                                                      const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    if (!quiet) {
        fprintf(stderr, "cqlshift: %s: ", kind);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    if (cli_log_file) {
        fprintf(cli_log_file, "%s: ", kind);
        vfprintf(cli_log_file, fmt, copy);
        fputc('\n', cli_log_file);
        fflush(cli_log_file);
    }
    va_end(copy);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("error", 0, fmt, ap);
    va_end(ap);
}

int cli_parse_replication(void *field, const char *name, const char *v)
{
    (void)name;
    char *json = NULL;
    model_error me;
    if (model_parse_replication(v, &json, &me)) {
        cli_error("%s", me.msg);
        return -1;
    }
    free(json);
    *(const char **)field = v;
    return 0;
}

void cli_print_notes(int quiet, const cs_buf *notes)
{
    const char *p = (const char *)notes->data, *end = p + notes->len;
    while (!quiet && p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        fprintf(stderr, "cqlshift: note: %.*s\n", (int)len, p);
        p += len + 1;
    }
}

void cli_note(int quiet, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("note", quiet, fmt, ap);
    va_end(ap);
}

const char cli_exit_codes_help[] =
    "Exit codes:\n"
    "  0  done: every row read was written\n"
    "  1  failed (the source, Cassandra, a count that does not reconcile, --max-errors)\n"
    "  2  usage or plan error (nothing was written)\n"
    "  3  verification found differences\n"
    "  4  finished, but some rows were rejected (see the reject files in the run folder)\n"
    "  5  interrupted (Ctrl-C, SIGTERM): run the same command with --resume\n";

static int copy(char *dst, size_t cap, const char *src, size_t n, const char *what)
{
    if (n >= cap) {
        cli_error("%s is too long", what);
        return -1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

static int read_password_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("cannot read the password file %s", path);
        return -1;
    }
    if (!fgets(out, (int)cap, f))
        out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

int target_parse(target *t, const char *uri, const char *password_file, uint16_t *consistency)
{
    memset(t, 0, sizeof *t);
    cql_config_init(&t->cfg);
    *consistency = CQL_LOCAL_QUORUM;
    const char *p = uri;
    if (strncmp(p, "cassandra://", 12)) {
        cli_error("the target '%s' is not a cassandra:// URI (expected "
                  "cassandra://HOST[:PORT]/KEYSPACE)",
                  uri);
        return -1;
    }
    p += 12;
    const char *slash = strchr(p, '/');
    if (!slash || !slash[1] || slash[1] == '?') {
        cli_error("the target '%s' names no keyspace (expected cassandra://HOST[:PORT]/KEYSPACE)", uri);
        return -1;
    }
    const char *at = memchr(p, '@', (size_t)(slash - p));
    if (at) {
        if (memchr(p, ':', (size_t)(at - p))) {
            cli_error("do not put a password in the target URI; set CQLSHIFT_CASSANDRA_PASSWORD "
                      "or use --password-file");
            return -1;
        }
        if (copy(t->user, sizeof t->user, p, (size_t)(at - p), "the user name"))
            return -1;
        p = at + 1;
    }
    if (copy(t->hosts, sizeof t->hosts, p, (size_t)(slash - p), "the host list"))
        return -1;
    /* a port on the last host applies to all ("h1,h2:9043") */
    char *colon = strrchr(t->hosts, ':');
    if (colon && !strchr(t->hosts, '[')) {
        long port = strtol(colon + 1, NULL, 10);
        if (port <= 0 || port > 65535) {
            cli_error("bad port in '%s'", t->hosts);
            return -1;
        }
        t->cfg.port = (uint16_t)port;
        *colon = '\0';
    }
    const char *ks = slash + 1;
    const char *q = strchr(ks, '?');
    if (copy(t->keyspace, sizeof t->keyspace, ks, q ? (size_t)(q - ks) : strlen(ks), "the keyspace"))
        return -1;
    for (q = q ? q + 1 : NULL; q && *q;) {
        size_t len = strcspn(q, "&");
        char kv[1200];
        if (copy(kv, sizeof kv, q, len, "a target option"))
            return -1;
        q += len + (q[len] == '&');
        char *eq = strchr(kv, '=');
        const char *v = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        if (!strcmp(kv, "dc")) {
            snprintf(t->dc, sizeof t->dc, "%s", v);
            t->cfg.local_dc = t->dc;
        } else if (!strcmp(kv, "consistency")) {
            int c = cql_consistency_parse(v);
            if (c == CQL_ANY || c == CQL_SERIAL || c == CQL_LOCAL_SERIAL) {
                cli_error("consistency=%s cannot be used for these writes (use ONE, LOCAL_ONE, "
                          "QUORUM, LOCAL_QUORUM, EACH_QUORUM, TWO, THREE or ALL)",
                          v);
                return -1;
            }
            if (c < 0) {
                cli_error("unknown consistency '%s' (use ONE, LOCAL_ONE, QUORUM, LOCAL_QUORUM, "
                          "ALL...)",
                          v);
                return -1;
            }
            *consistency = (uint16_t)c;
        } else if (!strcmp(kv, "tls")) {
            if (!strcmp(v, "verify") || !strcmp(v, "1") || !strcmp(v, "on"))
                t->cfg.tls = 1;
            else if (!strcmp(v, "insecure")) {
                t->cfg.tls = 1;
                t->cfg.tls_insecure = 1;
            } else if (strcmp(v, "off") && strcmp(v, "0")) {
                cli_error("tls=%s: use tls=verify (default when set), tls=insecure or tls=off", v);
                return -1;
            }
        } else if (!strcmp(kv, "ca")) {
            snprintf(t->ca, sizeof t->ca, "%s", v);
            t->cfg.tls_ca_file = t->ca;
            t->cfg.tls = 1;
        } else if (!strcmp(kv, "lz4") || !strcmp(kv, "compression")) {
            if (strcmp(v, "on") && strcmp(v, "off") && strcmp(v, "1") && strcmp(v, "0") &&
                strcmp(v, "lz4")) {
                cli_error("%s=%s: use lz4=on or lz4=off", kv, v);
                return -1;
            }
            t->cfg.lz4 = !strcmp(v, "1") || !strcmp(v, "lz4") || !strcmp(v, "on");
        } else if (!strcmp(kv, "protocol")) {
            if (strcmp(v, "4") && strcmp(v, "5")) {
                cli_error("protocol=%s: use protocol=4 or protocol=5", v);
                return -1;
            }
            t->cfg.protocol_version = atoi(v);
        } else if (!strcmp(kv, "connections")) {
            double d;
            if (cli_number("connections=", v, 1, 64, 1, 0, &d))
                return -1;
            t->cfg.connections_per_node = (int)d;
        } else if (!strcmp(kv, "discovery")) {
            if (strcmp(v, "on") && strcmp(v, "off")) {
                cli_error("discovery=%s: use discovery=on (default: every node of the cluster) "
                          "or discovery=off (only the hosts in the URI)",
                          v);
                return -1;
            }
            t->cfg.no_discovery = !strcmp(v, "off");
        } else {
            cli_error("unknown target option '%s' (known: dc, consistency, tls, ca, lz4, protocol, "
                      "connections, discovery)",
                      kv);
            return -1;
        }
    }
    t->cfg.hosts = t->hosts;
    if (t->user[0]) {
        t->cfg.username = t->user;
        const char *env = getenv("CQLSHIFT_CASSANDRA_PASSWORD");
        if (password_file) {
            if (read_password_file(password_file, t->password, sizeof t->password))
                return -1;
        } else if (env) {
            snprintf(t->password, sizeof t->password, "%s", env);
        } else {
            cli_error("no password for user %s: set CQLSHIFT_CASSANDRA_PASSWORD or give "
                      "--password-file FILE (never the command line)",
                      t->user);
            return -1;
        }
        t->cfg.password = t->password;
    }
    return 0;
}

void run_options_init(run_options *o)
{
    memset(o, 0, sizeof *o);
    loader_config_init(&o->loader);
    o->progress_tty = -1;
    o->progress_interval = 10.0;
}

void run_doc(FILE *out, int man, const cli_spec *spec, const cli_opt_group *own, int nown,
             const cli_opt *run)
{
    cli_opt_group g[8];
    CS_CHECK(nown < 8);
    for (int i = 0; i < nown; i++)
        g[i] = (cli_opt_group){own[i].title, own[i].opts, NULL};
    g[nown] = (cli_opt_group){"Run options", run ? run : run_opts, NULL};
    (man ? cli_print_man : cli_print_help)(out, spec, g, nown + 1);
}

int run_parse(const cli_spec *spec, const cli_opt_group *own, int nown, const cli_opt *run,
              run_options *o, int argc, char **argv, const char **pos)
{
    cli_opt_group g[8];
    CS_CHECK(nown < 8);
    for (int i = 0; i < nown; i++)
        g[i] = own[i];
    g[nown] = (cli_opt_group){"Run options", run ? run : run_opts, o};
    return cli_parse(spec, g, nown + 1, argc, argv, pos);
}

const char target_options_help[] =
    "Target URI options (cassandra://...?opt=value&opt=value):\n"
    "  dc=DC                local datacenter (default: the first contact point's)\n"
    "  consistency=LEVEL    write consistency (default LOCAL_QUORUM)\n"
    "  tls=verify|insecure|off  TLS; verify checks the server certificate (default off)\n"
    "  ca=FILE              CA certificate (PEM) to verify the server; turns TLS on\n"
    "  lz4=on|off           LZ4 compression (default off)\n"
    "  protocol=4|5         protocol version (default: 5, falling back to 4)\n"
    "  connections=N        connections per node (default 1)\n"
    "  discovery=on|off     off: use only the hosts in the URI (default on)\n";

/* --max-errors N or P% */
static int parse_max_errors(void *field, const char *name, const char *v)
{
    loader_config *c = (loader_config *)((char *)field - offsetof(loader_config, max_errors));
    size_t n = strlen(v);
    double d;
    if (n > 1 && v[n - 1] == '%') {
        char num[64];
        snprintf(num, sizeof num, "%.*s", (int)(n - 1 < 63 ? n - 1 : 63), v);
        if (cli_number(name, num, 0, 100, 0, 0, &d))
            return -1;
        c->max_errors_pct = d;
        return 0;
    }
    if (cli_number(name, v, 0, 1e15, 1, 1, &d)) {
        fprintf(stderr, "hint: --max-errors takes a count (100, 5k) or a percentage (2.5%%)\n");
        return -1;
    }
    c->max_errors = (int64_t)d;
    return 0;
}

#define RUN_OPT(field) offsetof(run_options, field)
#define RUN_OPT_WORKERS \
    {"workers", 0, OPT_INT, RUN_OPT(loader.workers), "N", \
     "reader/encoder threads (default 2); a resume may use another number", 1, 256, 0, NULL, NULL}
#define RUN_OPT_OUT_DIR \
    {"out-dir", 0, OPT_TEXT, RUN_OPT(out_dir), "D", \
     "where run folders go (default ./cqlshift-runs): each run writes D/JOB-TIME/ with " \
     "state.db, rejects-TABLE.jsonl, report.json and run.log", \
     0, 0, 0, NULL, NULL}
#define RUN_OPT_RESUME \
    {"resume", 0, OPT_FLAG, RUN_OPT(resume), NULL, \
     "continue the job's unfinished run (found in --out-dir)", 0, 0, 0, NULL, NULL}
#define RUN_OPT_RESTART \
    {"restart", 0, OPT_FLAG, RUN_OPT(restart), NULL, \
     "give up the job's unfinished run (its folder stays) and start over", 0, 0, 0, NULL, NULL}
#define RUN_OPT_PASSWORD_FILE \
    {"password-file", 0, OPT_TEXT, RUN_OPT(password_file), "F", \
     "Cassandra password (else CQLSHIFT_CASSANDRA_PASSWORD; never on the command line)", 0, 0, 0, \
     NULL, NULL}
#define RUN_OPT_QUIET \
    {"quiet", 'q', OPT_FLAG, RUN_OPT(quiet), NULL, \
     "no progress, notes or summary (errors, MISMATCH and the exit code remain)", 0, 0, 0, NULL, \
     NULL}
#define RUN_OPT_PROGRESS_INTERVAL \
    {"progress-interval", 0, OPT_NUM, RUN_OPT(progress_interval), "S", \
     "seconds between progress lines when not on a terminal (default 10)", 0.1, 86400, 0, NULL, \
     NULL}
const cli_opt run_opts[] = {
    RUN_OPT_WORKERS,
    {"batch-rows", 0, OPT_INT, RUN_OPT(loader.batch_rows), "N", "rows read per batch (default 500)",
     1, 100000, 1, NULL, NULL},
    {"max-inflight", 0, OPT_INT, RUN_OPT(loader.max_inflight_rows), "N",
     "most write requests in flight (adaptive below it; default 4096)", 32, 1 << 20, 1, NULL, NULL},
    {"batch-mode", 0, OPT_CHOICE, RUN_OPT(loader.batch_mode), "M",
     "auto (default): partition for tables with clustering columns, else replica; partition: "
     "rows of one partition in one unlogged batch; replica: rows grouped by replica node; none: "
     "one row per request",
     0, 0, 0, "partition|replica|none|auto", NULL},
    {"batch-max-rows", 0, OPT_INT, RUN_OPT(loader.batch_max_rows), "N",
     "rows per batch request (default 64; replica mode 8)", 1, 1000, 0, NULL, NULL},
    {"batch-max-bytes", 0, OPT_INT, RUN_OPT(loader.batch_max_bytes), "N",
     "batch size as Cassandra counts it (default 65536; replica mode 5120)", 1, 16 << 20, 1,
     NULL, NULL},
    {"rate-limit", 0, OPT_NUM, RUN_OPT(loader.rate_limit), "R",
     "at most R rows per second (protects a production cluster; 20k = 20000)", 1, 1e9, 1, NULL,
     NULL},
    {"max-errors", 0, OPT_CUSTOM, RUN_OPT(loader.max_errors), "N|P%",
     "stop after more than N rejected rows, or P% of rows read", 0, 0, 0, NULL,
     parse_max_errors},
    RUN_OPT_OUT_DIR,
    RUN_OPT_RESUME,
    RUN_OPT_RESTART,
    {"report", 0, OPT_TEXT, RUN_OPT(report_path), "F",
     "also write the summary as JSON to F (- for stdout)", 0, 0, 0, NULL, NULL},
    RUN_OPT_PASSWORD_FILE,
    RUN_OPT_QUIET,
    RUN_OPT_PROGRESS_INTERVAL,
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

const cli_opt verify_run_opts[] = {
    RUN_OPT_WORKERS,
    {"out-dir", 0, OPT_TEXT, RUN_OPT(out_dir), "D",
     "where run folders go (default ./cqlshift-runs): each run writes D/JOB-TIME/ with "
     "state.db, differences.jsonl, run.log and, while it runs, spill.db", 0, 0, 0, NULL, NULL},
    RUN_OPT_RESUME,
    RUN_OPT_RESTART,
    {"report", 0, OPT_TEXT, RUN_OPT(report_path), "F",
     "also write every difference and the counts as JSON Lines to F (the run folder has "
     "differences.jsonl)", 0, 0, 0, NULL, NULL},
    RUN_OPT_PASSWORD_FILE,
    RUN_OPT_QUIET,
    RUN_OPT_PROGRESS_INTERVAL,
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};



const cli_opt unload_run_opts[] = {
    {"workers", 0, OPT_INT, RUN_OPT(loader.workers), "N",
     "2N + 2 threads read token ranges (default 2: 6 threads); a resume may use another "
     "number", 1, 100, 0, NULL, NULL},
    {"out-dir", 0, OPT_TEXT, RUN_OPT(out_dir), "D",
     "where run folders go (default ./cqlshift-runs): each run writes D/JOB-TIME/ with "
     "state.db (where the output stands, for --resume) and run.log", 0, 0, 0, NULL, NULL},
    RUN_OPT_RESUME,
    RUN_OPT_RESTART,
    {"report", 0, OPT_TEXT, RUN_OPT(report_path), "F",
     "also write the summary as JSON to F (- for stdout)", 0, 0, 0, NULL, NULL},
    RUN_OPT_PASSWORD_FILE,
    RUN_OPT_QUIET,
    RUN_OPT_PROGRESS_INTERVAL,
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

const cli_opt backup_run_opts[] = {
    {"workers", 0, OPT_INT, RUN_OPT(loader.workers), "N",
     "2N + 2 threads read each table's token ranges (default 2: 6 threads); a resume may use "
     "another number", 1, 100, 0, NULL, NULL},
    {"out-dir", 0, OPT_TEXT, RUN_OPT(out_dir), "D",
     "where run folders go (default ./cqlshift-runs): each run writes D/JOB-TIME/ with "
     "state.db (the tables done and where the current one stands, for --resume) and run.log",
     0, 0, 0, NULL, NULL},
    RUN_OPT_RESUME,
    RUN_OPT_RESTART,
    RUN_OPT_PASSWORD_FILE,
    RUN_OPT_QUIET,
    RUN_OPT_PROGRESS_INTERVAL,
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

const cli_opt restore_run_opts[] = {
    RUN_OPT_WORKERS,
    {"out-dir", 0, OPT_TEXT, RUN_OPT(out_dir), "D",
     "where run folders go (default ./cqlshift-runs): each table's load and verify write "
     "their run folders there, as cqlshift load and verify do", 0, 0, 0, NULL, NULL},
    RUN_OPT_RESUME,
    RUN_OPT_RESTART,
    RUN_OPT_PASSWORD_FILE,
    RUN_OPT_QUIET,
    RUN_OPT_PROGRESS_INTERVAL,
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

cql_session *target_connect(target *t, const run_options *o)
{
    t->cfg.max_pending = o->loader.max_inflight_rows + 1024;
    if (t->cfg.max_inflight_per_conn < o->loader.max_inflight_rows)
        t->cfg.max_inflight_per_conn = o->loader.max_inflight_rows > 32768 ? 32768 : o->loader.max_inflight_rows;
    cql_session *s;
    cql_error e;
    if (cql_session_connect(&t->cfg, &s, &e)) {
        cli_error("cannot connect to Cassandra at %s: %s", t->hosts, e.msg);
        if (e.code == CQL_E_AUTH && !t->user[0])
            fprintf(stderr, "hint: give the user in the URI (cassandra://USER@HOST/KS) and the "
                            "password in CQLSHIFT_CASSANDRA_PASSWORD\n");
        return NULL;
    }
    return s;
}

