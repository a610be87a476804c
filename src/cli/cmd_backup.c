/* cqlshift backup and restore of a Cassandra keyspace.
 *
 * A backup folder holds schema.cql (the keyspace as the server describes
 * it: DESCRIBE KEYSPACE, types, tables with their options, indexes), one
 * file per table written by the unload engine (unload.h), and
 * manifest.json: the format and its version, the tool, the time, the
 * keyspace, and per file its rows, bytes and SHA-256. Every file appears
 * under its name only when complete; the manifest comes last.
 *
 * restore checks the manifest and every digest before it touches the
 * cluster, creates the schema (into another keyspace name if the target
 * URI says so), loads each table with the load command's own code, and
 * then verifies each table against its file (verify FILE TARGET TABLE).
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/job.h"
#include "model/model.h"
#include "target/apply.h"
#include "target/script.h"
#include "unload/unload.h"
#include "util/buf.h"
#include "util/fsio.h"

#define BACKUP_FORMAT "cqlshift-backup"
#define BACKUP_VERSION 1

typedef struct backup_args {
    const char *output;
    int format;             /* 0 csv, 1 jsonl */
    int compression;        /* fmt_compression */
    const char *tables;
    const char *replication;
    const char *keyspace;   /* a source database's backup: its keyspace name */
} backup_args;

#define BACKUP_OPT(field) offsetof(backup_args, field)
static const cli_opt backup_opts[] = {
    {"output", 'o', OPT_TEXT, BACKUP_OPT(output), "DIR",
     "the backup folder (created; it must be new or empty): schema.cql, a file per table, "
     "manifest.json", 0, 0, 0, NULL, NULL},
    {"format", 0, OPT_CHOICE, BACKUP_OPT(format), "csv|jsonl", "the tables' files (default csv)",
     0, 0, 0, "csv|jsonl", NULL},
    {"tables", 0, OPT_TEXT, BACKUP_OPT(tables), "A,B",
     "only these tables (default: every table of the keyspace, or of the source database; a "
     "keyspace's schema file always holds the whole keyspace)", 0, 0, 0, NULL, NULL},
    {"keyspace", 'k', OPT_TEXT, BACKUP_OPT(keyspace), "KEYSPACE",
     "a source database's backup: the keyspace its schema.cql creates (default: the "
     "database's or file's name; restore can name another)", 0, 0, 0, NULL, NULL},
    {"compression", 0, OPT_CHOICE, BACKUP_OPT(compression), "none|gzip|zstd",
     "compress the tables' files (t.csv.gz, t.csv.zst; default none)", 0, 0, 0,
     "none|gzip|zstd", NULL},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const cli_opt restore_opts[] = {
    {"tables", 0, OPT_TEXT, BACKUP_OPT(tables), "A,B",
     "only these tables of the backup (default: all of them)", 0, 0, 0, NULL, NULL},
    {"replication", 0, OPT_CUSTOM, BACKUP_OPT(replication), "R",
     "replication of the keyspace restore creates: SimpleStrategy:N, or DC:N[,DC:N...] for "
     "NetworkTopologyStrategy (default: the backed-up keyspace's own; an existing keyspace "
     "keeps its replication)", 0, 0, 0, NULL, cli_parse_replication},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const backup_pos[] = {"SOURCE", NULL};
static const char *const restore_pos[] = {"DIR", "TARGET", NULL};
static const char *const notes[] = {target_options_help, NULL};

static const cli_spec backup_spec = {
    .name = "backup",
    .usage = "cassandra://[USER@]HOST[,HOST][:PORT]/KEYSPACE -o DIR [OPTIONS]\n"
             "       cqlshift backup postgresql://...|mysql://...|sqlite:FILE -o DIR [OPTIONS]",
    .positionals = backup_pos,
    .npos_required = 1,
    .description =
        "Back up a Cassandra keyspace into a folder: schema.cql (the keyspace, its user types, "
        "tables with their options and clustering order, and indexes, as the server describes "
        "them), one file per table (as unload writes it: every value exact), and manifest.json "
        "(rows, bytes and SHA-256 of each file, the tool's version, the time). Tables are read "
        "in parallel by token range; an interrupted backup goes on with --resume. Each row "
        "carries its write time and expiry (row_writetime, row_expires), which restore writes "
        "back (a row whose cells differ gets their latest; docs/unload.md). A "
        "source database (PostgreSQL, MySQL/MariaDB, SQLite) is backed up into the same layout, "
        "before it is retired: schema.cql holds the keyspace and tables migrate would create, "
        "and each table's file its rows from one snapshot, converted as migrate converts them "
        "(a value that cannot be is rejected, with its reason, into the run folder); restore "
        "loads it into Cassandra.",
    .notes = notes,
    .exit_codes = "Exit codes:\n"
                  "  0  done\n"
                  "  1  failed (Cassandra, the folder)\n"
                  "  2  usage error\n"
                  "  4  a source database's backup rejected rows (see the run folder)\n"
                  "  5  interrupted (Ctrl-C, SIGTERM): run the same command with --resume\n",
};

static const cli_spec restore_spec = {
    .name = "restore",
    .usage = "DIR cassandra://[USER@]HOST[,HOST][:PORT][/KEYSPACE] [OPTIONS]",
    .positionals = restore_pos,
    .npos_required = 2,
    .description =
        "Restore a backup folder (cqlshift backup) into a keyspace: the keyspace of the target "
        "URI (another name than the backed-up one is fine), else the backed-up keyspace's "
        "own. First the manifest and every file's SHA-256 are checked (a file that does not "
        "match is refused before anything is created); then the schema is created (an "
        "existing keyspace is kept; its tables must not exist), each table is loaded as "
        "cqlshift load does, and verified against its file as cqlshift verify does.",
    .notes = notes,
    .exit_codes = "Exit codes:\n"
                  "  0  restored and verified\n"
                  "  1  failed (a file does not match the manifest, Cassandra)\n"
                  "  2  usage error\n"
                  "  3  a restored table differs from its file\n"
                  "  4  rows were rejected while loading\n"
                  "  5  interrupted (Ctrl-C, SIGTERM): run the same command with --resume\n",
};

static cli_opt_group backup_groups[1] = {{"Backup options", backup_opts, NULL}};
static cli_opt_group restore_groups[1] = {{"Restore options", restore_opts, NULL}};

void cmd_backup_doc(FILE *out, int man)
{
    run_doc(out, man, &backup_spec, backup_groups, 1, backup_run_opts);
}

void cmd_restore_doc(FILE *out, int man)
{
    run_doc(out, man, &restore_spec, restore_groups, 1, restore_run_opts);
}

/* ---- shared ---- */

/* The SHA-256 of a file as 64 hex digits. 0, or -1 (errno set). */
int cli_file_sha256(const char *path, char hex[65], int64_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *buf = malloc(1 << 20);
    int bad = !ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    *size = 0;
    size_t n;
    while (!bad && (n = fread(buf, 1, 1 << 20, f)) > 0) {
        bad = !EVP_DigestUpdate(ctx, buf, n);
        *size += (int64_t)n;
    }
    bad = bad || ferror(f);
    unsigned char md[32];
    unsigned int mdlen = 0;
    bad = bad || !EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32;
    for (unsigned i = 0; !bad && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    EVP_MD_CTX_free(ctx);
    free(buf);
    fclose(f);
    if (bad && !errno)
        errno = EIO;
    return bad ? -1 : 0;
}

/* Write text to path through a temporary name. 0, or -1 after saying why. */
int cli_write_atomic(const char *path, const char *text)
{
    char part[4200];
    unload_part_name(path, part, sizeof part);
    FILE *f = fopen(part, "wb");
    int bad = !f || fputs(text, f) == EOF;
    bad = (f && (fflush(f) || fsync(fileno(f)))) || bad;
    bad = (f && fclose(f)) || bad;
    if (bad || cs_rename_durable(part, path)) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int cli_backup_folder(const char *dir, const char *runs_root)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (mkdir(dir, 0777) == 0)
            return 0;
        cli_error("cannot create the backup folder %s: %s", dir, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    if (!S_ISDIR(sb.st_mode)) {
        cli_error("%s is not a folder: back up into a new or empty folder", dir);
        return CLI_EXIT_USAGE;
    }
    /* a fresh backup never writes over files it did not make */
    DIR *d = opendir(dir);
    if (!d) {
        cli_error("cannot read the backup folder %s: %s", dir, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    struct stat runs;
    int have_runs = runs_root && stat(runs_root, &runs) == 0;
    struct dirent *de;
    char first[256] = "";
    while (!first[0] && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            !strcmp(de->d_name, "lost+found"))
            continue;
        char p[4200];
        struct stat es;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (have_runs && stat(p, &es) == 0 && es.st_dev == runs.st_dev &&
            es.st_ino == runs.st_ino)
            continue;   /* the run folders of this very job */
        snprintf(first, sizeof first, "%s", de->d_name);
    }
    closedir(d);
    if (first[0]) {
        cli_error("%s is not empty (it holds %s): back up into a new or empty folder", dir,
                  first);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int cli_backup_table_done(state *st, const char *key, json_t *entry)
{
    state_error se;
    char *text = entry ? json_dumps(entry, JSON_COMPACT) : NULL;
    int bad = !text || state_meta_set(st, key, text, &se);
    if (bad)
        cli_error("%s", text ? se.msg : "out of memory");
    free(text);
    return bad ? -1 : 0;
}

int cli_backup_manifest(const char *dir, const char *from, const char *ks, json_t *tables)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/schema.cql", dir);
    char shex[65];
    int64_t ssize;
    if (cli_file_sha256(path, shex, &ssize)) {
        cli_error("cannot read %s back: %s", path, strerror(errno));
        return -1;
    }
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    json_t *man = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:{s:s, s:I, s:s}, s:O}", "format",
                            BACKUP_FORMAT, "version", BACKUP_VERSION, "tool",
                            "cqlshift " CQLSHIFT_VERSION, "created", when, "source", from,
                            "keyspace", ks, "schema", "file", "schema.cql", "bytes",
                            (json_int_t)ssize, "sha256", shex, "tables", tables);
    char *mtext = man ? json_dumps(man, JSON_INDENT(2)) : NULL;
    json_decref(man);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    cs_buf mt;
    cs_buf_init(&mt, (size_t)1 << 30);
    int bad = !mtext || cs_buf_printf(&mt, "%s\n", mtext) || cs_buf_put_u8(&mt, 0);
    free(mtext);
    if (bad || cli_write_atomic(path, (const char *)mt.data)) {
        if (bad)
            cli_error("out of memory");
        cs_buf_release(&mt);
        return -1;
    }
    cs_buf_release(&mt);
    return 0;
}

static int in_list(const char *list, const char *name)
{
    if (!list)
        return 1;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == n && !strncmp(p, name, n))
            return 1;
        p += l + (c ? 1 : 0);
    }
    return 0;
}

/* ---- backup ---- */

int cmd_backup(int argc, char **argv)
{
    run_options o;
    run_options_init(&o);
    backup_args ba = {0};
    cli_opt_group g[1] = {backup_groups[0]};
    g[0].base = &ba;
    const char *pos[1] = {NULL};
    int pr = run_parse(&backup_spec, g, 1, backup_run_opts, &o, argc, argv, pos);
    if (pr)
        return pr > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (!ba.output) {
        cli_error("missing -o DIR: name the backup folder to write");
        return CLI_EXIT_USAGE;
    }
    char dir[4096];
    if (ba.output[0] == '/' || !getcwd(dir, sizeof dir - 2048))
        snprintf(dir, sizeof dir, "%s", ba.output);
    else
        snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/%s", ba.output);
    while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
        dir[strlen(dir) - 1] = 0;
    if (strncmp(pos[0], "cassandra://", 12)) {
        backup_source_args bs = {.uri = pos[0], .dir = dir, .keyspace = ba.keyspace,
                                 .tables = ba.tables, .jsonl = ba.format,
                                 .compression = ba.compression};
        return backup_source_main(&bs, &o);
    }
    if (ba.keyspace) {
        cli_error("--keyspace names the keyspace of a source database's backup; a Cassandra "
                  "backup keeps its keyspace's name (restore into another with its TARGET)");
        return CLI_EXIT_USAGE;
    }
    target t;
    if (target_parse(&t, pos[0], o.password_file, &o.loader.consistency))
        return CLI_EXIT_USAGE;
    if (!strstr(pos[0], "consistency="))
        o.loader.consistency = CQL_LOCAL_ONE;
    if (!t.keyspace[0]) {
        cli_error("the URI names no keyspace: cassandra://HOST/KEYSPACE");
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_FAILED;
    job jb;
    memset(&jb, 0, sizeof jb);
    jb.lock_fd = -1;
    cql_session *s = NULL;
    state *st = NULL;
    cql_result *desc = NULL;
    json_t *tables_json = json_array();
    cs_buf schema;
    cs_buf_init(&schema, (size_t)1 << 30);
    {
        char key[8192], name[600];
        snprintf(key, sizeof key, "backup %s/%s -> %s %s %s times tables=%.3000s", t.hosts,
                 t.keyspace, dir, ba.format ? "jsonl" : "csv",
                 fmt_compression_name((fmt_compression)ba.compression),
                 ba.tables ? ba.tables : "*");
        snprintf(name, sizeof name, "%s", t.keyspace);
        int done = 0;
        rc = run_prepare(&jb, &o, "backup", name, key, &done);
        if (rc || done)
            goto out;
        rc = CLI_EXIT_FAILED;
    }
    if (!jb.resume && (rc = cli_backup_folder(dir, jb.root)) != 0)
        goto out;
    rc = CLI_EXIT_FAILED;
    if (cli_interrupted_before_writing()) {
        rc = CLI_EXIT_INTERRUPTED;
        goto out;
    }
    s = target_connect(&t, &o);
    if (!s)
        goto out;
    /* the schema, as the server describes it */
    cql_error ce;
    cs_buf q;
    cs_buf_init(&q, 1 << 16);
    cs_buf_printf(&q, "DESCRIBE KEYSPACE \"");
    for (const char *c = t.keyspace; *c; c++)
        cs_buf_printf(&q, *c == '"' ? "\"\"" : "%c", *c);
    cs_buf_printf(&q, "\"");
    cs_buf_put_u8(&q, 0);
    desc = cql_session_simple(s, (const char *)q.data, &ce);
    cs_buf_release(&q);
    if (!desc) {
        cli_error("cannot describe keyspace %s: %s", t.keyspace, ce.msg);
        goto out;
    }
    int nd = cql_result_row_count(desc), ncol = cql_result_column_count(desc);
    int ci_type = -1, ci_name = -1, ci_stmt = -1;
    for (int c = 0; c < ncol; c++) {
        const cql_column *col = cql_result_column(desc, c);
        if (col && !strcmp(col->name, "type"))
            ci_type = c;
        else if (col && !strcmp(col->name, "name"))
            ci_name = c;
        else if (col && !strcmp(col->name, "create_statement"))
            ci_stmt = c;
    }
    if (nd == 0 || ci_type < 0 || ci_name < 0 || ci_stmt < 0) {
        cli_error(nd == 0 ? "keyspace %s does not exist: there is nothing to back up"
                          : "the server's DESCRIBE KEYSPACE %s did not return create statements "
                            "(Cassandra 4.0 or later is needed)",
                  t.keyspace);
        goto out;
    }
    char names[1024][256];
    int ntables = 0;
    for (int i = 0; i < nd; i++) {
        const uint8_t *p;
        int32_t l = cql_result_value(desc, i, ci_stmt, &p);
        if (l > 0) {
            cs_buf_append(&schema, p, (size_t)l);
            cs_buf_printf(&schema, "\n\n");
        }
        char type[64] = "", name[256] = "";
        l = cql_result_value(desc, i, ci_type, &p);
        snprintf(type, sizeof type, "%.*s", l > 0 ? (int)l : 0, (const char *)p);
        l = cql_result_value(desc, i, ci_name, &p);
        /* a case-sensitive name comes quoted ("Users"): the name itself */
        if (l >= 2 && p[0] == '"' && p[l - 1] == '"') {
            size_t w = 0;
            for (int32_t k = 1; k < l - 1 && w < sizeof name - 1; k++) {
                name[w++] = (char)p[k];
                if (p[k] == '"')
                    k++;
            }
            name[w] = 0;
        } else {
            snprintf(name, sizeof name, "%.*s", l > 0 ? (int)l : 0, (const char *)p);
        }
        if (!strcmp(type, "table") && in_list(ba.tables, name) && ntables < 1024)
            snprintf(names[ntables++], sizeof names[0], "%s", name);
    }
    if (cs_buf_put_u8(&schema, 0)) {
        cli_error("out of memory");
        goto out;
    }
    for (const char *p = ba.tables; p && *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        int found = 0;
        for (int i = 0; i < ntables && !found; i++)
            found = strlen(names[i]) == l && !strncmp(names[i], p, l);
        if (!found) {
            cli_error("--tables: keyspace %s has no table '%.*s'", t.keyspace, (int)l, p);
            rc = CLI_EXIT_USAGE;
            goto out;
        }
        p += l + (c ? 1 : 0);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/schema.cql", dir);
    if (cli_write_atomic(path, (const char *)schema.data))
        goto out;
    state_error se;
    st = state_open(jb.state_path, jb.key, jb.resume, &se);
    if (!st) {
        cli_error("%s", se.msg);
        goto out;
    }
    if (!jb.resume && state_meta_set(st, "command", cli_command_line, &se)) {
        cli_error("%s", se.msg);
        goto out;
    }
    if (!o.quiet)
        fprintf(stderr, "cqlshift: run folder: %s%s\n", jb.dir, jb.resume ? " (resuming)" : "");
    int64_t total_rows = 0;
    for (int ti = 0; ti < ntables; ti++) {
        const char *tname = names[ti];
        char dkey[600];
        snprintf(dkey, sizeof dkey, "backup.done.%.255s", tname);
        char *saved = state_meta_dup(st, dkey, &se);
        if (saved) {
            json_t *e = json_loads(saved, 0, NULL);
            free(saved);
            if (e) {
                total_rows += json_integer_value(json_object_get(e, "rows"));
                json_array_append_new(tables_json, e);
                continue;
            }
        }
        table_col *cols = NULL;
        int ncols = 0;
        char ksbuf[256], found[256];
        snprintf(ksbuf, sizeof ksbuf, "%s", t.keyspace);
        if (cli_read_table(s, ksbuf, sizeof ksbuf, tname, &cols, &ncols, found, sizeof found,
                           2)) {
            for (int i = 0; cols && i < ncols; i++) {
                free(cols[i].name);
                cql_type_free(cols[i].type);
            }
            free(cols);
            goto out;
        }
        /* SELECT * order: the partition key, clustering columns, then the rest by name */
        qsort(cols, (size_t)ncols, sizeof *cols, cli_table_col_order);
        const char **cn = calloc((size_t)ncols + 1, sizeof *cn);
        const char **pk = calloc((size_t)ncols + 1, sizeof *pk);
        const char **tc = calloc((size_t)ncols + 1, sizeof *tc);
        int npk = 0, n = 0, ntc = 0, nsingle = 0;
        for (int i = 0; cn && pk && tc && i < ncols; i++) {
            cn[n++] = cols[i].name;
            if (cols[i].kind == 1)
                pk[npk++] = cols[i].name;
        }
        /* the columns whose cells' write times and TTLs are kept, single-cell
         * ones first; a static cell counts with each row of its partition,
         * so that restore never gives it a row's TTL it did not have (a
         * row whose static and own cells differ is a mixed row) */
        for (int pass = 0; cn && pk && tc && pass < 2; pass++) {
            for (int i = 0; i < ncols; i++) {
                const cql_type *ty = cols[i].type;
                int multi = !ty->frozen && (ty->id == CQL_T_LIST || ty->id == CQL_T_SET ||
                                            ty->id == CQL_T_MAP || ty->id == CQL_T_UDT);
                if (cols[i].kind == 0 && ty->id != CQL_T_COUNTER && multi == pass)
                    tc[ntc++] = cols[i].name;
            }
            if (pass == 0)
                nsingle = ntc;
        }
        /* the two fields of each row's times: names no column has */
        char tnames[2][300];
        for (int k = 0; k < 2; k++) {
            snprintf(tnames[k], sizeof tnames[k], "%s", k ? "row_expires" : "row_writetime");
            for (int i = 0; i < ncols; i++)
                if (!strcmp(cols[i].name, tnames[k]) && strlen(tnames[k]) < 290) {
                    strcat(tnames[k], "_");
                    i = -1;
                }
        }
        fmt_compression comp = (fmt_compression)ba.compression;
        const char *ext = comp == FMT_COMP_GZIP ? (ba.format ? ".jsonl.gz" : ".csv.gz")
                          : comp == FMT_COMP_ZSTD ? (ba.format ? ".jsonl.zst" : ".csv.zst")
                                                  : (ba.format ? ".jsonl" : ".csv");
        char file[4200], fname[300];
        snprintf(fname, sizeof fname, "%.255s%s", tname, ext);
        snprintf(file, sizeof file, "%s/%s", dir, fname);
        unload_config cfg;
        unload_config_init(&cfg);
        cfg.workers = 2 * (o.loader.workers > 0 ? o.loader.workers : 2) + 2;   /* as verify reads */
        cfg.consistency = o.loader.consistency;
        cfg.format = ba.format ? UNLOAD_JSONL : UNLOAD_CSV;
        cfg.compression = comp;
        unload_progress prog;
        memset(&prog, 0, sizeof prog);
        cfg.progress = &prog;
        cfg.interrupt = &cli_interrupt;
        char skey[600];
        snprintf(skey, sizeof skey, "unload.%.255s", tname);
        cfg.state_key = skey;
        unload_table ut = {.keyspace = t.keyspace, .table = found, .columns = cn,
                           .ncols = n, .pk = pk, .npk = npk, .times_cols = tc, .ntimes = ntc,
                           .ntimes_single = nsingle, .times_names = {tnames[0], tnames[1]}};
        unload_output uo = {.file = file};
        unload_result res;
        unload_error ue;
        int ur = cn && pk && tc ? unload_run(s, &ut, &cfg, st, &uo, &res, &ue) : -1;
        if (!cn || !pk || !tc)
            snprintf(ue.msg, sizeof ue.msg, "out of memory");
        json_t *colj = json_array(), *timesj = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(colj, json_string(cn[i]));
        for (int i = 0; tc && i < res.times_used; i++)
            json_array_append_new(timesj, json_string(tc[i]));
        free(cn);
        free(pk);
        free(tc);
        for (int i = 0; i < ncols; i++) {
            free(cols[i].name);
            cql_type_free(cols[i].type);
        }
        free(cols);
        if (ur != 0) {
            json_decref(colj), json_decref(timesj);
            if (ur < 0) {
                cli_error("%s", ue.msg);
            } else {
                fprintf(stderr, "cqlshift: interrupted in %s.%s; run the same command with "
                                "--resume to go on\n", t.keyspace, tname);
                rc = CLI_EXIT_INTERRUPTED;
            }
            goto out;
        }
        char hex[65];
        int64_t size = 0;
        if (cli_file_sha256(file, hex, &size)) {
            json_decref(colj), json_decref(timesj);
            cli_error("cannot read %s back: %s", file, strerror(errno));
            goto out;
        }
        json_t *e = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:s}", "name", tname, "file",
                              fname, "format", ba.format ? "jsonl" : "csv", "columns", colj,
                              "rows", (json_int_t)atomic_load(&prog.rows), "bytes",
                              (json_int_t)size, "sha256", hex);
        if (res.times_used)
            json_object_set_new(e, "times", json_pack("{s:s, s:s, s:O, s:I}", "writetime",
                                                      tnames[0], "expires", tnames[1], "columns",
                                                      timesj, "mixed",
                                                      (json_int_t)res.mixed_times));
        if (res.times_used < ntc)
            cli_note(o.quiet, "%s.%s: the server refuses writetime()/ttl() on %s (%s): %s",
                     t.keyspace, tname, res.times_used ? "its collections and user types"
                                                       : "its columns", res.times_why,
                     res.times_used ? "their cells' write times and TTLs are not kept; restore "
                                      "writes each row with those of its other cells"
                                    : "restore will write its rows at the restore's time, "
                                      "without TTLs");
        json_decref(timesj);
        if (res.mixed_times)
            cli_note(o.quiet, "%s.%s: %lld rows have cells written at different times or with "
                     "different TTLs (the first: %s); the backup keeps each row's latest write "
                     "time and latest expiry (none when a cell has none), and restore writes "
                     "the whole row with them", t.keyspace, tname,
                     (long long)res.mixed_times, res.first_mixed);
        if (cli_backup_table_done(st, dkey, e)) {
            json_decref(e);
            goto out;
        }
        total_rows += atomic_load(&prog.rows);
        if (!o.quiet)
            fprintf(stderr, "cqlshift: backup %s.%s: %lld rows, %.1f MB\n", t.keyspace, tname,
                    (long long)atomic_load(&prog.rows), size / 1e6);
        json_array_append_new(tables_json, e);
    }
    {
        char src[1400];
        snprintf(src, sizeof src, "cassandra://%s/%s", t.hosts, t.keyspace);
        if (cli_backup_manifest(dir, src, t.keyspace, tables_json))
            goto out;
    }
    if (state_set_finished(st, &se)) {
        cli_error("%s", se.msg);
        goto out;
    }
    if (!o.quiet)
        fprintf(stderr, "cqlshift: backup of %s: %d table%s, %lld rows in %s\n", t.keyspace,
                ntables, ntables == 1 ? "" : "s", (long long)total_rows, dir);
    rc = CLI_EXIT_OK;
out:
    json_decref(tables_json);
    cs_buf_release(&schema);
    cql_result_free(desc);
    if (st)
        state_close(st);
    if (s)
        cql_session_close(s);
    job_close(&jb);
    return rc;
}

/* ---- restore ---- */

/* The target URI with keyspace ks in its path (the user's host, port and
 * options kept). */
static void uri_with_keyspace(const char *uri, const char *ks, char *out, size_t n)
{
    const char *hosts = uri + 12;   /* after cassandra:// */
    const char *slash = strchr(hosts, '/');
    const char *query = strchr(hosts, '?');
    if (query && slash && slash > query)
        slash = NULL;
    size_t hl = slash ? (size_t)(slash - uri) : query ? (size_t)(query - uri) : strlen(uri);
    snprintf(out, n, "%.*s/%s%s", (int)hl, uri, ks, query ? query : "");
}

int cmd_restore(int argc, char **argv)
{
    run_options o;
    run_options_init(&o);
    backup_args ba = {0};
    cli_opt_group g[1] = {restore_groups[0]};
    g[0].base = &ba;
    const char *pos[2] = {NULL, NULL};
    int pr = run_parse(&restore_spec, g, 1, restore_run_opts, &o, argc, argv, pos);
    if (pr)
        return pr > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    const char *dir = pos[0];
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t je;
    json_t *man = json_load_file(path, 0, &je);
    if (!man) {
        cli_error("%s: %s%s (line %d): a backup folder holds the manifest.json that cqlshift "
                  "backup wrote last", path, access(path, F_OK) ? "" : "cannot be read: ",
                  access(path, F_OK) ? "is missing" : je.text, je.line);
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_FAILED;
    cql_session *s = NULL;
    const char *fmt = json_string_value(json_object_get(man, "format"));
    json_int_t ver = json_integer_value(json_object_get(man, "version"));
    const char *src_ks = json_string_value(json_object_get(man, "keyspace"));
    json_t *tables = json_object_get(man, "tables");
    json_t *schema = json_object_get(man, "schema");
    if (!fmt || strcmp(fmt, BACKUP_FORMAT) || !src_ks || !json_is_array(tables) ||
        !json_is_object(schema)) {
        cli_error("%s is not a cqlshift backup manifest (format \"%s\" with keyspace, schema and "
                  "tables)", path, BACKUP_FORMAT);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (ver != BACKUP_VERSION) {
        cli_error("%s: backup format version %lld; this cqlshift reads version %d", path,
                  (long long)ver, BACKUP_VERSION);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    /* every file against the manifest, before anything is created */
    size_t ti;
    json_t *te;
    json_t *check = json_array();
    json_array_append(check, schema);
    json_array_foreach(tables, ti, te) {
        const char *nm = json_string_value(json_object_get(te, "name"));
        if (in_list(ba.tables, nm ? nm : ""))
            json_array_append(check, te);
    }
    json_array_foreach(check, ti, te) {
        const char *f = json_string_value(json_object_get(te, "file"));
        const char *want = json_string_value(json_object_get(te, "sha256"));
        if (!f || !want || strchr(f, '/')) {
            cli_error("%s: an entry has no file name or digest", path);
            json_decref(check);
            goto out;
        }
        char fp[4200], hex[65];
        int64_t size = 0;
        snprintf(fp, sizeof fp, "%s/%s", dir, f);
        if (cli_file_sha256(fp, hex, &size)) {
            cli_error("%s: %s; the backup is incomplete, nothing was restored", fp,
                      strerror(errno));
            json_decref(check);
            goto out;
        }
        if (strcmp(hex, want) ||
            size != json_integer_value(json_object_get(te, "bytes"))) {
            cli_error("%s: its SHA-256 is %s (%lld bytes), the manifest says %s (%lld bytes): "
                      "the file was changed or damaged; nothing was restored",
                      fp, hex, (long long)size, want,
                      (long long)json_integer_value(json_object_get(te, "bytes")));
            json_decref(check);
            goto out;
        }
    }
    json_decref(check);
    for (const char *p = ba.tables; p && *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        int found = 0;
        json_array_foreach(tables, ti, te) {
            const char *nm = json_string_value(json_object_get(te, "name"));
            found = found || (nm && strlen(nm) == l && !strncmp(nm, p, l));
        }
        if (!found) {
            cli_error("--tables: the backup has no table '%.*s'", (int)l, p);
            rc = CLI_EXIT_USAGE;
            goto out;
        }
        p += l + (c ? 1 : 0);
    }
    /* no keyspace in the target: the backed-up keyspace's own name */
    char with_ks[4200];
    if (!strncmp(pos[1], "cassandra://", 12)) {
        const char *kp = strchr(pos[1] + 12, '/');
        const char *query = strchr(pos[1] + 12, '?');
        if (!kp || (query && kp > query) || kp[1] == 0 || kp[1] == '?') {
            uri_with_keyspace(pos[1], src_ks, with_ks, sizeof with_ks);
            pos[1] = with_ks;
        }
    }
    target t;
    if (target_parse(&t, pos[1], o.password_file, &o.loader.consistency)) {
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    const char *ks = t.keyspace[0] ? t.keyspace : src_ks;
    char ksbuf[256];
    snprintf(ksbuf, sizeof ksbuf, "%s", ks);
    ks = ksbuf;
    s = target_connect(&t, &o);
    if (!s)
        goto out;
    /* the schema: statements separated by blank lines, each ending in ';' */
    snprintf(path, sizeof path, "%s/%s", dir,
             json_string_value(json_object_get(schema, "file")));
    FILE *sf = fopen(path, "rb");
    cs_buf text;
    cs_buf_init(&text, (size_t)1 << 30);
    char chunk[65536];
    size_t got;
    while (sf && (got = fread(chunk, 1, sizeof chunk, sf)) > 0)
        cs_buf_append(&text, chunk, got);
    if (sf)
        fclose(sf);
    cs_buf_put_u8(&text, 0);
    char q[700];
    snprintf(q, sizeof q,
             "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = '%s'", ks);
    cql_error ce;
    cql_result *r = cql_session_simple(s, q, &ce);
    if (!r) {
        cli_error("cannot check whether keyspace %s exists (system_schema.keyspaces): %s", ks, ce.msg);
        cs_buf_release(&text);
        goto out;
    }
    int ks_exists = cql_result_row_count(r) > 0;
    cql_result_free(r);
    /* a table of the backup that is there already: refused before anything
     * is created (a resumed restore made it: kept) */
    if (ks_exists && !o.resume) {
        snprintf(q, sizeof q,
                 "SELECT table_name FROM system_schema.tables WHERE keyspace_name = '%s'", ks);
        r = cql_session_simple(s, q, &ce);
        if (!r) {
            cli_error("cannot list the tables of keyspace %s (system_schema.tables): %s", ks,
                      ce.msg);
            cs_buf_release(&text);
            goto out;
        }
        char in_way[1024] = "";
        size_t iw = 0;
        const char *sp0 = (const char *)text.data;
        cs_buf one0;
        cs_buf_init(&one0, (size_t)1 << 30);
        int more0;
        while ((cs_buf_reset(&one0), more0 = target_script_next(&sp0, &one0)) > 0) {
            char on[256];
            if (target_stmt_info((const char *)one0.data, on, sizeof on) != TSTMT_TABLE ||
                !in_list(ba.tables, on))
                continue;
            for (int32_t i = 0; i < cql_result_row_count(r); i++) {
                const uint8_t *v;
                int32_t n = cql_result_value(r, i, 0, &v);
                if (n == (int32_t)strlen(on) && !memcmp(v, on, (size_t)n) && iw < sizeof in_way)
                    iw += (size_t)snprintf(in_way + iw, sizeof in_way - iw, "%s%s",
                                           iw ? ", " : "", on);
            }
        }
        cs_buf_release(&one0);
        cql_result_free(r);
        if (iw) {
            cli_error("keyspace %s already has table%s %s of the backup, and restore creates "
                      "its tables: restore into a new keyspace, drop %s, or leave %s out with "
                      "--tables; if an interrupted restore made %s, run the same command with "
                      "--resume (nothing was created)",
                      ks, strchr(in_way, ',') ? "s" : "", in_way,
                      strchr(in_way, ',') ? "them" : "it", strchr(in_way, ',') ? "them" : "it",
                      strchr(in_way, ',') ? "them" : "it");
            cs_buf_release(&text);
            rc = CLI_EXIT_USAGE;
            goto out;
        }
    }
    cs_buf ddl_notes;
    cs_buf_init(&ddl_notes, 1 << 20);
    cs_buf stmt;
    cs_buf_init(&stmt, (size_t)1 << 30);
    int failed = 0;
    cs_buf one;
    cs_buf_init(&one, (size_t)1 << 30);
    const char *sp = (const char *)text.data;
    int more;
    while (!failed && (cs_buf_reset(&one), more = target_script_next(&sp, &one)) != 0) {
        if (more < 0) {
            cli_error("out of memory");
            failed = 1;
            break;
        }
        const char *p = (const char *)one.data;
        char on[256];
        target_stmt_kind kind = target_stmt_info(p, on, sizeof on);
        /* --tables: their tables, indexes and views; the keyspace and types */
        if ((kind == TSTMT_TABLE || kind == TSTMT_INDEX || kind == TSTMT_VIEW) &&
            !in_list(ba.tables, on))
            continue;
        int is_keyspace = kind == TSTMT_KEYSPACE;
        if (is_keyspace && ks_exists) {
            cli_note(o.quiet, "keyspace %s exists: it keeps its replication", ks);
            continue;
        }
        cs_buf_reset(&stmt);
        if (is_keyspace && ba.replication) {
            char *json = NULL;
            model_error me;
            if (model_parse_replication(ba.replication, &json, &me) ||
                model_keyspace_ddl(ks, json, 1, &stmt)) {
                free(json);
                cli_error("%s", me.msg);
                failed = 1;
                break;
            }
            free(json);
        } else if (target_stmt_rename_keyspace(p, src_ks, ks, &stmt)) {
            cli_error("out of memory");
            failed = 1;
            break;
        }
        model_error me;
        char what[300];
        snprintf(what, sizeof what, "%.60s", (const char *)stmt.data);
        char *nl = strchr(what, '\n');
        if (nl)
            *nl = 0;
        if (target_apply_ddl(s, (const char *)stmt.data, what, &ddl_notes, &me)) {
            if (o.resume && strstr(me.msg, "already exist"))
                continue;   /* created by the run this one resumes */
            if (kind == TSTMT_TYPE && strstr(me.msg, "already exist")) {
                /* a user type the keyspace has (an earlier restore of other
                 * tables): kept; a load into a field it lacks is refused */
                cli_note(o.quiet, "keyspace %s has the type already, kept as it is (%s)", ks,
                         what);
                continue;
            }
            cli_error("cannot create the schema in %s: %s (statement: %s); restore creates the "
                      "tables: restore into a new keyspace or drop the one in the way",
                      ks, me.msg, what);
            failed = 1;
        }
    }
    cs_buf_release(&stmt);
    cs_buf_release(&one);
    cs_buf_release(&text);
    cli_print_notes(o.quiet, &ddl_notes);
    cs_buf_release(&ddl_notes);
    if (failed)
        goto out;
    cql_session_close(s);
    s = NULL;
    /* each table: load its file, then verify it against the file */
    char turi[4200];
    uri_with_keyspace(pos[1], ks, turi, sizeof turi);
    int worst = CLI_EXIT_OK;
    json_array_foreach(tables, ti, te) {
        const char *tname = json_string_value(json_object_get(te, "name"));
        if (!tname || !in_list(ba.tables, tname))
            continue;
        char fp[4200];
        snprintf(fp, sizeof fp, "%s/%s", dir, json_string_value(json_object_get(te, "file")));
        const char *lpos[3] = {fp, turi, tname};
        load_args la;
        load_args_init(&la);
        /* rows with their write time and what is left of their TTL (a row
         * that has expired since the backup is left out, as filtered) */
        char wt_expr[700], ttl_expr[700], where_expr[700];
        json_t *times = json_object_get(te, "times");
        const char *wn = json_string_value(json_object_get(times, "writetime"));
        const char *en = json_string_value(json_object_get(times, "expires"));
        if (wn && en && strlen(wn) < 300 && strlen(en) < 300) {
            /* a row with no cell to date (its key alone) is written at the
             * backup's time: it existed then, and the same constant on a resume */
            long long created_us = 0;
            const char *created = json_string_value(json_object_get(man, "created"));
            struct tm tm;
            memset(&tm, 0, sizeof tm);
            if (created && sscanf(created, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon,
                                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
                tm.tm_year -= 1900;
                tm.tm_mon -= 1;
                created_us = (long long)timegm(&tm) * 1000000;
            }
            if (created_us <= 0)
                created_us = 1000000; /* a manifest without its time: 1970 plus a second */
            snprintf(wt_expr, sizeof wt_expr, "coalesce(cast(%s as bigint), %lld)", wn,
                     created_us);
            /* no expiry: no TTL (0) where the row has cells, the table's
             * default where it has none (its key's own TTL is not known) */
            snprintf(ttl_expr, sizeof ttl_expr,
                     "coalesce(cast(%s as bigint) - unix_time(), cast(%s as bigint) * 0)", en, wn);
            /* a second of margin: the TTL, computed just after, stays >= 1 */
            snprintf(where_expr, sizeof where_expr,
                     "%s is null or cast(%s as bigint) > unix_time() + 1", en, en);
            la.map = "*";
            la.writetime = wt_expr;
            la.ttl = ttl_expr;
            la.where = where_expr;
        }
        run_options lo = o;
        if (o.resume)
            lo.resume = 2;   /* a table the interrupted restore had not begun starts now */
        int lr = load_main(&la, &lo, lpos);
        if (lr == CLI_EXIT_INTERRUPTED || lr == CLI_EXIT_FAILED || lr == CLI_EXIT_USAGE) {
            rc = lr;
            goto out;
        }
        if (lr == CLI_EXIT_REJECTED)
            worst = CLI_EXIT_REJECTED;
        verify_options vo = {.max_print = 20};
        run_options vopt = o;
        vopt.verify = &vo;
        if (o.resume)
            vopt.resume = 2;
        int vr = load_main(&la, &vopt, lpos);
        if (vr == CLI_EXIT_DIFFERENCES && worst == CLI_EXIT_OK)
            worst = CLI_EXIT_DIFFERENCES;
        else if (vr != CLI_EXIT_OK && vr != CLI_EXIT_DIFFERENCES) {
            rc = vr;
            goto out;
        }
        if (!o.quiet)
            fprintf(stderr, "cqlshift: restore %s.%s: %lld rows from %s, %s\n", ks, tname,
                    (long long)json_integer_value(json_object_get(te, "rows")), fp,
                    vr == CLI_EXIT_OK ? "verified equal" : "DIFFERENT (see above)");
    }
    rc = worst;
out:
    if (s)
        cql_session_close(s);
    json_decref(man);
    return rc;
}
