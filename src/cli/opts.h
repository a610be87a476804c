/* Command-line options as tables: one table per group of options drives
 * parsing (strict numbers with ranges and k/M suffixes, --opt=value,
 * "did you mean"), the --help text and the man page, so an option cannot
 * exist undocumented.
 */
#ifndef CQLSHIFT_CLI_OPTS_H
#define CQLSHIFT_CLI_OPTS_H

#include <stddef.h>
#include <stdio.h>

typedef enum cli_opt_kind {
    OPT_FLAG,   /* int field set to 1 */
    OPT_INT,    /* int field, an integer in [min, max] (k, M suffixes if .suffix) */
    OPT_LLONG,  /* long long field, the same rules */
    OPT_NUM,    /* double field, a number in [min, max] (k, M suffixes if .suffix) */
    OPT_TEXT,   /* const char * field, a non-empty value */
    OPT_CHOICE, /* int field: the index of the value in .choices ("a|b|c") */
    OPT_CUSTOM, /* .parse(field, name, value), which prints its own error */
} cli_opt_kind;

typedef struct cli_opt {
    const char *name;       /* long name without the dashes; NULL ends a table */
    char short_name;        /* 'q' for -q, or 0 */
    cli_opt_kind kind;
    size_t offset;          /* of the field in the group's struct */
    const char *arg;        /* the value's name in the help ("N"), NULL for flags */
    const char *help;       /* sentences; wrapped to the help's width */
    double min, max;        /* OPT_INT, OPT_LLONG, OPT_NUM */
    int suffix;             /* OPT_INT, OPT_LLONG, OPT_NUM: 5k = 5000, 2M = 2000000 */
    const char *choices;    /* OPT_CHOICE */
    int (*parse)(void *field, const char *name, const char *value); /* 0 or -1 */
} cli_opt;

typedef struct cli_opt_group {
    const char *title;      /* "Run options" */
    const cli_opt *opts;
    void *base;             /* the struct the offsets point into (NULL: help only) */
} cli_opt_group;

/* A command's interface: what --help and the man page show, and what the
 * parser checks. */
typedef struct cli_spec {
    const char *name;               /* "load" */
    const char *usage;              /* "FILE|DIR|- TARGET TABLE [OPTIONS]" */
    const char *const *positionals; /* their names ("FILE", "TARGET", "TABLE"), NULL-ended */
    const char *description;        /* paragraphs */
    const char *const *notes;       /* extra help sections (target URI options...), NULL-ended */
    int npos_required;              /* positionals that must be given (0: all); the others
                                     * are NULL in pos when absent */
    const char *exit_codes;         /* the command's own "Exit codes:" section, or NULL:
                                     * cli_exit_codes_help */
} cli_spec;

/* Parse argv[1..argc) of a command against its groups, setting the fields;
 * positionals go to pos (as many as spec->positionals names; at least
 * spec->npos_required when it is set).
 * Returns 0, 1 when --help was printed (exit 0), or -1 after printing one
 * sentence (an unknown option with "did you mean", a bad value with the
 * accepted range, a missing argument named). */
int cli_parse(const cli_spec *spec, const cli_opt_group *groups, int ngroups, int argc,
              char **argv, const char **pos);

/* The --help text of a command. */
void cli_print_help(FILE *out, const cli_spec *spec, const cli_opt_group *groups, int ngroups);

/* Its section of the man page (troff, .SH per command). */
void cli_print_man(FILE *out, const cli_spec *spec, const cli_opt_group *groups, int ngroups);

/* Strict number: the whole text is a number (with a k/M suffix when
 * suffix), within [min, max], integral when integer. 0, or -1 after
 * printing "--NAME takes ... not 'V'". */
int cli_number(const char *name, const char *value, double min, double max, int integer,
               int suffix, double *out);

#endif
