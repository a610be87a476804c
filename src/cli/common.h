/* Pieces shared by the commands that write to Cassandra (migrate, load):
 * the target URI, the loader options, and running a load with state,
 * rejects, progress and report. */
#ifndef CQLSHIFT_CLI_COMMON_H
#define CQLSHIFT_CLI_COMMON_H

#include <stdio.h>

#include <jansson.h>

#include "cli/opts.h"
#include "cql/cql.h"
#include "load/loader.h"
#include "format/textfmt.h"
#include "source/source.h"

typedef struct target {
    cql_config cfg;             /* strings point into the target's own storage */
    char keyspace[256];
    char hosts[1024];
    char user[256];
    char password[512];
    char ca[1024];
    char dc[256];
    int have_password;
} target;

/* Parse cassandra://[user@]host[,host...][:port]/keyspace[?opt=v&...]
 * (options: dc, consistency, tls=verify|insecure, ca, lz4, protocol,
 * connections). The password comes from CQLSHIFT_CASSANDRA_PASSWORD or the
 * file named by password_file; a password in the URI is refused. Fills
 * *consistency (LOCAL_QUORUM unless given). 0, or -1 after printing why. */
int target_parse(target *t, const char *uri, const char *password_file, uint16_t *consistency);

/* A column of a target table as system_schema.columns describes it. */
typedef struct table_col {
    char *name;
    cql_type *type;
    int kind;       /* 0 regular (or static), 1 partition key, 2 clustering */
    int is_static;  /* 1: a static column (kind 0) */
    int position;   /* within the partition key or the clustering columns; -1 regular */
} table_col;

/* Read the columns of ks.table (cmd_load.c). Unquoted CQL names are stored
 * in lower case, so a keyspace or table typed with capitals is looked up as
 * typed first, then folded; ks (a buffer of ks_cap bytes) and found_name get
 * the names that exist. verify: the wording of a missing table (0 load,
 * 1 verify, 2 unload). 0, or -1
 * after printing why (*out may then hold columns to free). */
int cli_read_table(cql_session *s, char *ks, size_t ks_cap, const char *table, table_col **out,
                   int *n, char *found_name, size_t found_cap, int verify);

/* qsort order of table_col (cmd_unload.c): the partition key, the
 * clustering columns (each by position), then the others by name: what
 * SELECT * gives. */
int cli_table_col_order(const void *a, const void *b);

/* OPT_CUSTOM parsers (cmd_load.c): one character (or "tab", "\\t") into a
 * char field; any text, the empty one too (--null ""), into a const char *
 * field. 0, or -1 after printing why. */
int cli_parse_char(void *field, const char *opt, const char *v);
int cli_parse_text(void *field, const char *opt, const char *v);

/* What verify adds (cmd_verify.c). */
typedef struct verify_options {
    int max_print;              /* differences printed on stdout (default 20) */
    int repair;                 /* --repair */
    int delete_extra;           /* --delete-extra */
    double recheck_s;           /* --recheck SECONDS */
} verify_options;

/* How to open the source again as the command opened it (verify
 * --recheck reads the differing rows again in a new snapshot). */
typedef struct source_reopen {
    const char *uri;            /* as source_open or source_open_db took it */
    int is_db;                  /* source_open_db(uri, scope) */
    const char *scope;
    const char *views;          /* source_ops.want_views before describe, or NULL */
    const char *table;          /* files: source_open(uri, table, fo) */
    const file_options *fo;
    /* after describe, before the snapshot (a plan's queries); NULL: none.
     * 0, or -1 with err. */
    int (*prepare)(void *ctx, source *src, source_error *err);
    void *prepare_ctx;
    int readers;                /* the snapshot's readers (workers) */
} source_reopen;
/* verify_config.reopen for a source_reopen context. */
source *cli_source_reopen(void *ctx, source_error *err);

/* Options common to migrate and load. */
typedef struct run_options {
    loader_config loader;
    const char *out_dir;        /* NULL: ./cqlshift-runs (job.h) */
    const char *report_path;    /* a copy of the report (the run folder has one) */
    const char *password_file;
    int resume;
    int restart;
    int no_resume;              /* the input cannot be resumed (stdin) */
    int quiet;
    int progress_tty;           /* -1 detect */
    double progress_interval;
    /* Non-NULL: verify what the command would copy (run_verify instead of
     * run_load; nothing is created or written in Cassandra). */
    const verify_options *verify;
} run_options;

void run_options_init(run_options *o);
/* The options common to migrate and load (offsets into run_options), and
 * those of them verify takes. */
extern const cli_opt run_opts[];
extern const cli_opt verify_run_opts[];
extern const cli_opt unload_run_opts[];
extern const cli_opt backup_run_opts[];
extern const cli_opt restore_run_opts[];
/* A command's options (its own groups, then the run options table `run`,
 * NULL for run_opts, over o): its --help or man page section, and parsing
 * (cli_parse's return). At most 7 own groups. */
void run_doc(FILE *out, int man, const cli_spec *spec, const cli_opt_group *own, int nown,
             const cli_opt *run);
int run_parse(const cli_spec *spec, const cli_opt_group *own, int nown, const cli_opt *run,
              run_options *o, int argc, char **argv, const char **pos);
/* The help section on the target URI's query options. */
extern const char target_options_help[];

/* Connect, printing the error (with a hint) on failure. */
cql_session *target_connect(target *t, const run_options *o);

struct job;
/* Choose the run folder for the job before anything is created (job.h),
 * after checking that --report can be written. name: readable part of the
 * job id. Returns 0, or the exit code to return at once (0 too when
 * --resume finds the job finished: *done is set then). */
int run_prepare(struct job *j, run_options *o, const char *command, const char *name,
                const char *job_key, int *done);

/* Run the loader over `tables` (their progress fields are set here) in the
 * job's folder: the ranges are planned and kept in the state on the first
 * run and read back by a resume, which is refused when the input or the
 * mapping changed; prints the summary, writes the reports; returns the exit
 * code (cli.h). totals: estimated rows per table (-1 unknown). */
int run_load(source *src, cql_session *s, load_table *tables, int ntables, const int64_t *totals,
             target *t, run_options *o, struct job *j, const char *source_label);

/* Compare what `tables` would write with what the target holds
 * (verify.h), in the job's folder as run_load does (state, snapshot,
 * ranges, resume); prints each difference (the first max_print) and a line
 * per table, writes differences.jsonl (and o->report_path); returns the
 * exit code: 0 equal, 3 differences, 1 failed, 5 interrupted. */
int run_verify(source *src, cql_session *s, load_table *tables, int ntables, target *t,
               run_options *o, struct job *j, const char *source_label, source_reopen *ro);

/* migrate SOURCE TARGET's options and body (cmd_migrate.c); verify SOURCE
 * TARGET runs the same body with o->verify set. */
typedef struct migrate_args {
    const char *tables;
    const char *schemas;        /* PostgreSQL: --schema */
    const char *databases;      /* MySQL/MariaDB: --databases */
    int no_lock;                /* MySQL/MariaDB: --no-lock (the URI's lock=none) */
    const char *replication;    /* checked by cli_parse_replication */
    int epoch_unit;             /* load_epoch_unit; -1: from the values */
    int dry_run;                /* with a plan file */
} migrate_args;
/* --tables, --schema, --databases, --no-lock, --epoch-unit */
extern const cli_opt migrate_source_opts[];
/* pos: SOURCE, TARGET. Returns the exit code. */
int migrate_main(const migrate_args *ma, run_options *o, const char **pos);

/* load FILE TARGET TABLE's file options and body (cmd_load.c). */
typedef struct load_args {
    file_options fo;
    const char *nulls[FILE_MAX_NULLS]; /* --null, repeatable (fo.null_markers) */
    int nnull;
    int format;     /* -1: from the file name; 0 csv, 1 jsonl */
    int no_header;
    const char *columns;
    const char *map;
    const char *plan;
    const char *where, *writetime, *ttl;   /* expressions over the fields (with --map) */
    textfmt tf;     /* --timestamp-format, --date-format, --time-zone, --epoch-unit,
                     * --decimal-separator, --thousands-separator */
} load_args;
extern const cli_opt load_opts[];
void load_args_init(load_args *la);
/* pos: FILE, TARGET, TABLE (may be NULL with --plan). Returns the exit code. */
int load_main(const load_args *la, run_options *o, const char **pos);
/* An OPT_CUSTOM parser for --epoch-unit: s, ms or us. */
int cli_parse_epoch_unit(void *field, const char *name, const char *v);

/* The option entries of the text formats (format/textfmt.h), for a
 * command whose arguments hold a textfmt at offset OFF; WHAT is "read" or
 * "written". */
int cli_parse_ts_format(void *field, const char *name, const char *v);
int cli_parse_date_format(void *field, const char *name, const char *v);
int cli_parse_time_zone(void *field, const char *name, const char *v);
int cli_parse_tf_epoch(void *field, const char *name, const char *v);
#define CLI_TEXTFMT_OPTS(OFF, WHAT)                                                          \
    {"timestamp-format", 0, OPT_CUSTOM, (OFF) + offsetof(textfmt, timestamp_format), "F",   \
     "timestamps are " WHAT " in format F: a pattern as DSBulk writes them ('dd/MM/yyyy "    \
     "HH:mm:ss.SSSX') or strftime-like (%d/%m/%Y %H:%M:%S.%f%z, %s: seconds since 1970); "   \
     "default ISO 8601", 0, 0, 0, NULL,                                                       \
     cli_parse_ts_format},                                                                    \
    {"date-format", 0, OPT_CUSTOM, (OFF) + offsetof(textfmt, date_format), "F",              \
     "dates are " WHAT " in format F (dd/MM/yyyy, MMM d yyyy, %d/%m/%Y...; default ISO "       \
     "yyyy-MM-dd)", 0, 0, 0,                                                                  \
     NULL, cli_parse_date_format},                                                            \
    {"time-zone", 0, OPT_CUSTOM, (OFF) + offsetof(textfmt, zone_min), "Z",                   \
     "the zone of timestamps " WHAT " without one: UTC (the default) or an offset such as "    \
     "+02:00 or -0530, or a zone name (Europe/Paris: the offset of each time, summer or "     \
     "winter)", 0, 0, 0, NULL,                                                                 \
     cli_parse_time_zone},                                                                    \
    {"epoch-unit", 0, OPT_CUSTOM, (OFF) + offsetof(textfmt, epoch_unit), "U",               \
     "timestamps " WHAT " as whole numbers since 1970 in unit U: s, ms or us", 0, 0, 0, NULL, \
     cli_parse_tf_epoch},                                                                     \
    {"decimal-separator", 0, OPT_CUSTOM, (OFF) + offsetof(textfmt, decimal_sep), "C",        \
     "numbers are " WHAT " with C for the decimal point (default .)", 0, 0, 0, NULL,          \
     cli_parse_char},                                                                         \
    {"thousands-separator", 0, OPT_CUSTOM, (OFF) + offsetof(textfmt, thousands_sep), "C",    \
     "numbers are " WHAT " with C between groups of three digits (default: none)", 0, 0, 0,   \
     NULL, cli_parse_char}
/* Refuse separators that cannot work (a digit, a sign, e; the same one
 * for both): 0, or -1 after printing why. */
int cli_textfmt_check(const textfmt *tf);
/* 1 when tf holds any option (the loader then reads texts with it). */
int cli_textfmt_used(const textfmt *tf);
/* The options of tf as text for a job key, into out[0..n). */
void cli_textfmt_key(const textfmt *tf, char *out, size_t n);

/* The default keyspace for a source URI: the database's name (the URI's
 * last path part, a file's name without extension), folded to [a-z0-9_];
 * "cqlshift" if nothing is left (cmd_plan.c). */
void cli_default_keyspace(const char *uri, char *out, size_t n);

/* Backup folders (cmd_backup.c). The SHA-256 of a file in hex and its
 * size: 0, or -1 with errno. */
int cli_file_sha256(const char *path, char hex[65], int64_t *size);
/* Write text to path through path.cqlshift-part and a rename: 0, or -1
 * after printing why. */
int cli_write_atomic(const char *path, const char *text);
/* A new backup's folder: created, or an existing empty folder (the
 * job's run folder root runs_root, when it is inside, and lost+found do
 * not count). 0, or the exit code after printing why. */
int cli_backup_folder(const char *dir, const char *runs_root);
/* Record a finished table's manifest entry (borrowed) under key in the
 * state, so a resume skips the table. 0, or -1 after printing why. */
struct state;
int cli_backup_table_done(struct state *st, const char *key, json_t *entry);
/* Write DIR/manifest.json (last, atomically) for a backup of `source`
 * (redacted) whose schema is DIR/schema.cql, in keyspace ks, with the
 * table entries `tables` (borrowed). 0, or -1 after printing why. */
int cli_backup_manifest(const char *dir, const char *from, const char *ks, json_t *tables);

/* backup of a database source (backup_source.c): the schema migrate would
 * create as schema.cql (keyspace ks), one file per table with the rows of
 * one snapshot converted to the CQL types as migrate converts them, and the
 * manifest; restore reads it as it reads a keyspace's backup. */
typedef struct backup_source_args {
    const char *uri;        /* the source, as given */
    const char *dir;        /* the backup folder (absolute) */
    const char *keyspace;   /* NULL: cli_default_keyspace */
    const char *tables;     /* --tables, or NULL */
    int jsonl;
    int compression;        /* fmt_compression */
} backup_source_args;
/* Returns the exit code. */
int backup_source_main(const backup_source_args *a, run_options *o);

/* migrate with a plan file (cmd_migrate_plan.c). */
typedef struct migrate_plan_args {
    const char *schemas;        /* --schema (PostgreSQL) */
    const char *databases;      /* --databases (MySQL) */
    int no_lock;
    int epoch_unit;             /* load_epoch_unit, or -1: milliseconds */
    int dry_run;                /* print the DDL, the mappings, a few rows; touch nothing */
    int dry_run_rows;
    /* cqlshift load FILE TARGET [TABLE] --plan: the file is read as the
     * table the plan's mappings read (their `from`), instead of the plan's
     * source. NULL file_uri: migrate. */
    const char *file_uri;       /* "csv:people.csv"... as source_open takes it */
    const file_options *file_opts;
    const char *only_table;     /* TABLE: only it is created and fed (NULL: every enabled one) */
} migrate_plan_args;

/* 1 if arg names a plan file (.yaml or .yml). */
int migrate_is_plan_file(const char *arg);
/* Execute the plan at plan_path into the cluster of target_uri (whose
 * keyspace may be left out: the plan's). With a->file_uri (load --plan):
 * every mapping into an enabled table (only a->only_table when given) must
 * read one source table (`from`); the file is opened under that name and
 * read once for all the tables it feeds; mappings into disabled tables are
 * not checked; the job is a load job. Returns the exit code. */
int migrate_plan(const char *plan_path, const char *target_uri, const migrate_plan_args *a,
                 run_options *o);

/* The run's log (job.c sets it); cli_error and cli_note also write there. */
extern FILE *cli_log_file;
/* An OPT_CUSTOM parser for --replication: checked now with
 * model_parse_replication (a sentence and -1 if malformed); the text is
 * kept in the (const char *) field. */
int cli_parse_replication(void *field, const char *name, const char *v);
/* Print each line of notes as "cqlshift: note: LINE" on stderr, unless quiet. */
void cli_print_notes(int quiet, const cs_buf *notes);
/* Print "cqlshift: note: ..." to stderr (unless quiet) and the log. */
void cli_note(int quiet, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "cqlshift: error: ..." to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
