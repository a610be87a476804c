/* cqlshift command-line entry point: dispatches to one function per command.
 * Only finished commands are listed in the table (and so in --help). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/job.h"

static const cli_command commands[] = {
    {"migrate", "copy a whole SQLite database into Cassandra (schema and rows)", cmd_migrate},
    {"load", "load CSV or JSONL files into an existing Cassandra table", cmd_load},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out,
            "cqlshift %s - migrate a data store into Apache Cassandra\n\n"
            "Usage: cqlshift COMMAND [OPTIONS] ...\n"
            "       cqlshift --help | --version\n\n",
            CQLSHIFT_VERSION);
    if (commands[0].name) {
        fprintf(out, "Commands:\n");
        for (const cli_command *c = commands; c->name; c++)
            fprintf(out, "  %-10s %s\n", c->name, c->summary);
        fprintf(out, "\nRun 'cqlshift COMMAND --help' for a command's options.\n");
    } else {
        fprintf(out, "No migration command is available in this build yet.\n");
    }
    fprintf(out, "\n%s", cli_exit_codes_help);
}

int main(int argc, char **argv)
{
    cli_set_command_line(argc, argv);
    cli_signals_install();
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("cqlshift %s\n", CQLSHIFT_VERSION);
        return CLI_EXIT_OK;
    }
    for (const cli_command *c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name))
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "cqlshift: unknown command '%s'. Run 'cqlshift --help' for the list.\n", argv[1]);
    return CLI_EXIT_USAGE;
}
