/* cqlshift verify: compare what a copy wrote with what the source holds
 * (verify.h), through the same mapping: a plan file, migrate's automatic
 * model of a database, or load's files into a table. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"

static const cli_opt verify_opts[] = {
    {"max-print", 0, OPT_INT, offsetof(verify_options, max_print), "N",
     "differences printed on stdout (default 20; all of them are in the run folder's "
     "differences.jsonl and --report)", 0, 1e9, 1, NULL, NULL},
    {"recheck", 0, OPT_NUM, offsetof(verify_options, recheck_s), "S",
     "for a source that is still written to: wait S seconds after the comparison, read the "
     "differing token ranges of both sides again (a new snapshot of the source), and report "
     "only the differences that are still there (those gone are counted)", 0.001, 86400, 0,
     NULL, NULL},
    {"repair", 0, OPT_FLAG, offsetof(verify_options, repair), NULL,
     "write the rows missing in the target and the rows that differ again from the source, "
     "with a write time that no newer write to the target loses to (when the source was "
     "read), then read those token ranges of the target again", 0, 0, 0, NULL, NULL},
    {"delete-extra", 0, OPT_FLAG, offsetof(verify_options, delete_extra), NULL,
     "with --repair: also delete the rows only the target has (same write time rule)", 0, 0, 0,
     NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const verify_pos[] = {"SOURCE", "TARGET", "TABLE", NULL};
static const char *const verify_notes[] = {target_options_help, NULL};

static const cli_spec verify_spec = {
    .name = "verify",
    .usage = "PLAN.yaml cassandra://[USER@]HOST[,HOST][:PORT][/KEYSPACE] [OPTIONS]\n"
             "       cqlshift verify SOURCE cassandra://[USER@]HOST[,HOST][:PORT]/KEYSPACE "
             "[OPTIONS]\n"
             "       cqlshift verify FILE|DIR cassandra://[USER@]HOST[,HOST][:PORT]/KEYSPACE "
             "TABLE [OPTIONS]",
    .positionals = verify_pos,
    .npos_required = 2,
    .description =
        "Compare the target with the source, row by row, through the same mapping and "
        "conversions as the copy: a plan file's enabled tables (as migrate PLAN.yaml wrote "
        "them), a database's tables (as migrate SOURCE wrote them; a database source is read "
        "from one snapshot), or files loaded into TABLE (as load wrote them, with the same "
        "file options, --map or --plan). Both sides are summed per token range; only the "
        "ranges that differ are compared key by key. Every difference is listed: rows missing "
        "in the target, rows only the target has, rows whose columns differ (naming the "
        "columns), and keys that several source rows map to. Rows the copy rejects (a value "
        "that cannot be converted, a null key) or a mapping's filter leaves out are counted as "
        "such, not as missing. Nothing is written to Cassandra unless --repair is given. Exit "
        "code 0 when both sides hold the same rows (or --repair made them so), 3 when they "
        "differ.",
    .notes = verify_notes,
    .exit_codes = "Exit codes:\n"
                  "  0  the target holds what the source holds (or --repair made it so)\n"
                  "  1  failed (the source, Cassandra, the run folder)\n"
                  "  2  usage or plan error\n"
                  "  3  the target differs from the source (see differences.jsonl in the run "
                  "folder)\n"
                  "  5  interrupted (Ctrl-C, SIGTERM): run the same command with --resume\n",
};

static cli_opt_group groups[4] = {
    {"Verify options", verify_opts, NULL},
    {"Source options", migrate_source_opts, NULL},
    {"File options", load_opts, NULL},
};

void cmd_verify_doc(FILE *out, int man)
{
    run_doc(out, man, &verify_spec, groups, 3, verify_run_opts);
}

int cmd_verify(int argc, char **argv)
{
    run_options o;
    run_options_init(&o);
    verify_options vo = {.max_print = 20};
    migrate_args ma = {.epoch_unit = -1};
    load_args la;
    load_args_init(&la);
    cli_opt_group g[3] = {groups[0], groups[1], groups[2]};
    g[0].base = &vo;
    g[1].base = &ma;
    g[2].base = &la;
    const char *pos[3] = {NULL, NULL, NULL};
    int pr = run_parse(&verify_spec, g, 3, verify_run_opts, &o, argc, argv, pos);
    if (pr)
        return pr > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (vo.delete_extra && !vo.repair) {
        cli_error("--delete-extra goes with --repair (verify --repair --delete-extra deletes the "
                  "rows only the target has)");
        return CLI_EXIT_USAGE;
    }
    o.verify = &vo;
    if (migrate_is_plan_file(pos[0])) {
        if (ma.tables || pos[2]) {
            cli_error("%s does not apply to a plan file: verify compares every enabled table of "
                      "the plan (set enabled: false on a table to leave it out)",
                      ma.tables ? "--tables" : "TABLE");
            return CLI_EXIT_USAGE;
        }
        migrate_plan_args pa = {.schemas = ma.schemas, .databases = ma.databases,
                                .no_lock = ma.no_lock, .epoch_unit = ma.epoch_unit};
        return migrate_plan(pos[0], pos[1], &pa, &o);
    }
    if (pos[2] || la.plan)
        return load_main(&la, &o, pos);
    return migrate_main(&ma, &o, pos);
}
