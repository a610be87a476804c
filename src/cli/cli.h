/* Shared definitions for the command-line front end. */
#ifndef CQLSHIFT_CLI_CLI_H
#define CQLSHIFT_CLI_CLI_H

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILED = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_DIFFERENCES = 3,
    CLI_EXIT_REJECTED = 4,
    CLI_EXIT_INTERRUPTED = 5,
};

/* The exit codes, as every command's --help and the man page give them. */
extern const char cli_exit_codes_help[];

/* One command: its name, a one-line summary for --help, and its entry point
 * (argv[0] is the command name). */
#include <stdio.h>

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*doc)(FILE *out, int man); /* its --help (man = 0) or man page section */
} cli_command;

int cmd_migrate(int argc, char **argv);
void cmd_migrate_doc(FILE *out, int man);
int cmd_load(int argc, char **argv);
void cmd_load_doc(FILE *out, int man);
int cmd_plan(int argc, char **argv);
void cmd_plan_doc(FILE *out, int man);
int cmd_verify(int argc, char **argv);
void cmd_verify_doc(FILE *out, int man);
int cmd_unload(int argc, char **argv);
void cmd_unload_doc(FILE *out, int man);
int cmd_backup(int argc, char **argv);
void cmd_backup_doc(FILE *out, int man);
int cmd_restore(int argc, char **argv);
void cmd_restore_doc(FILE *out, int man);
int cmd_assess(int argc, char **argv);
void cmd_assess_doc(FILE *out, int man);

#endif
