/* Option tables: parsing, help and man page. See opts.h. */
#include "cli/opts.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "util/text.h"

#define HELP_WIDTH 79
#define HELP_COL 24

static void fmt_num(char *buf, size_t n, double v)
{
    if (v >= 1e6 && fmod(v, 1e6) == 0)
        snprintf(buf, n, "%.0fM", v / 1e6);
    else if (v >= 1e4 && fmod(v, 1e3) == 0)
        snprintf(buf, n, "%.0fk", v / 1e3);
    else
        snprintf(buf, n, "%.15g", v);
}

int cli_number(const char *name, const char *value, double min, double max, int integer,
               int suffix, double *out)
{
    char lo[32], hi[32];
    fmt_num(lo, sizeof lo, min);
    fmt_num(hi, sizeof hi, max);
    const char *what = integer ? "a whole number" : "a number";
    /* Plain decimal only: [-]digits[.digits][k|M]; no blanks, '+', hex,
     * exponents or words, which strtod would take. */
    const char *c = value ? value : "";
    int digits = 0;
    c += *c == '-';
    for (; *c >= '0' && *c <= '9'; c++)
        digits++;
    if (*c == '.')
        for (c++; *c >= '0' && *c <= '9'; c++)
            digits++;
    c += suffix && (*c == 'k' || *c == 'K' || *c == 'M');
    errno = 0;
    char *end = NULL;
    double v = digits && !*c ? strtod(value, &end) : 0;
    int ok = digits && !*c && end != value && errno == 0 && isfinite(v);
    if (ok && suffix && (*end == 'k' || *end == 'K')) {
        v *= 1e3;
        end++;
    } else if (ok && suffix && *end == 'M') {
        v *= 1e6;
        end++;
    }
    ok = ok && *end == '\0' && (!integer || v == floor(v)) && v >= min && v <= max;
    if (!ok) {
        /* "connections=" names a URI option, anything else a --option */
        const char *dash = *name && name[strlen(name) - 1] == '=' ? "" : "--";
        cli_error("%s%s takes %s from %s to %s%s, not '%s'", dash, name, what, lo, hi,
                  suffix ? " (k and M suffixes: 5k = 5000)" : "", value ? value : "");
        return -1;
    }
    *out = v;
    return 0;
}

static const cli_opt *find(const cli_opt_group *groups, int ngroups, const char *name,
                           size_t len, char short_name, const cli_opt_group **group)
{
    for (int g = 0; g < ngroups; g++)
        for (const cli_opt *o = groups[g].opts; o->name; o++)
            if ((short_name && o->short_name == short_name) ||
                (!short_name && strlen(o->name) == len && !strncmp(o->name, name, len))) {
                *group = &groups[g];
                return o;
            }
    return NULL;
}

static void unknown(const cli_spec *spec, const cli_opt_group *groups, int ngroups,
                    const char *arg, const char *name, size_t len)
{
    char want[128];
    snprintf(want, sizeof want, "%.*s", (int)(len < 100 ? len : 100), name);
    const char *best = NULL;
    size_t best_d = 99;
    for (int g = 0; g < ngroups; g++)
        for (const cli_opt *o = groups[g].opts; o->name; o++) {
            size_t d = text_distance(want, o->name, 0);
            /* a prefix counts as close too: --tab for --tables */
            if (len >= 3 && !strncmp(o->name, want, len))
                d = 1;
            if (d < best_d) {
                best_d = d;
                best = o->name;
            }
        }
    if (best && best_d <= 2 + strlen(want) / 6)
        cli_error("unknown option '%s' for %s; did you mean --%s? (see cqlshift %s --help)", arg,
                  spec->name, best, spec->name);
    else
        cli_error("unknown option '%s' for %s (see cqlshift %s --help)", arg, spec->name,
                  spec->name);
}

static int set_value(const cli_opt *o, void *base, const char *v)
{
    void *field = (char *)base + o->offset;
    double d;
    switch (o->kind) {
    case OPT_FLAG:
        *(int *)field = 1;
        return 0;
    case OPT_INT:
        if (cli_number(o->name, v, o->min, o->max, 1, o->suffix, &d))
            return -1;
        *(int *)field = (int)d;
        return 0;
    case OPT_LLONG:
        if (cli_number(o->name, v, o->min, o->max, 1, o->suffix, &d))
            return -1;
        *(long long *)field = (long long)d;
        return 0;
    case OPT_NUM:
        if (cli_number(o->name, v, o->min, o->max, 0, o->suffix, &d))
            return -1;
        *(double *)field = d;
        return 0;
    case OPT_TEXT:
        if (!*v) {
            cli_error("--%s needs a value (%s), not an empty one", o->name, o->arg);
            return -1;
        }
        *(const char **)field = v;
        return 0;
    case OPT_CHOICE: {
        size_t vl = strlen(v);
        int idx = 0;
        for (const char *c = o->choices; *c; idx++) {
            size_t n = strcspn(c, "|");
            if (n == vl && !strncmp(c, v, n)) {
                *(int *)field = idx;
                return 0;
            }
            c += n + (c[n] == '|');
        }
        char list[256];
        snprintf(list, sizeof list, "%s", o->choices);
        for (char *c = list; *c; c++)
            if (*c == '|')
                *c = ',';
        cli_error("--%s takes one of %s, not '%s'", o->name, list, v);
        return -1;
    }
    case OPT_CUSTOM:
        return o->parse(field, o->name, v);
    }
    return -1;
}

int cli_parse(const cli_spec *spec, const cli_opt_group *groups, int ngroups, int argc,
              char **argv, const char **pos)
{
    int npos_max = 0;
    while (spec->positionals[npos_max])
        npos_max++;
    int npos = 0, only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || !a[1]) {
            if (npos == npos_max) {
                cli_error("unexpected argument '%s' (usage: cqlshift %s %s)", a, spec->name,
                          spec->usage);
                return -1;
            }
            pos[npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cli_print_help(stdout, spec, groups, ngroups);
            return 1;
        }
        const cli_opt_group *g = NULL;
        const cli_opt *o;
        const char *inline_v = NULL;
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find(groups, ngroups, name, len, 0, &g);
            if (!o) {
                unknown(spec, groups, ngroups, a, name, len);
                return -1;
            }
            inline_v = eq ? eq + 1 : NULL;
        } else {
            o = a[2] ? NULL : find(groups, ngroups, NULL, 0, a[1], &g);
            if (!o) {
                unknown(spec, groups, ngroups, a, a + 1, strlen(a + 1));
                return -1;
            }
        }
        const char *v = inline_v;
        if (o->kind == OPT_FLAG) {
            if (inline_v) {
                cli_error("--%s takes no value (got '%s')", o->name, a);
                return -1;
            }
        } else if (!v) {
            if (i + 1 == argc) {
                cli_error("--%s needs a value: --%s %s", o->name, o->name, o->arg);
                return -1;
            }
            v = argv[++i];
        }
        if (g->base && set_value(o, g->base, v))
            return -1;
    }
    if (npos < (spec->npos_required ? spec->npos_required : npos_max)) {
        cli_error("missing %s (usage: cqlshift %s %s; see cqlshift %s --help)",
                  spec->positionals[npos], spec->name, spec->usage, spec->name);
        return -1;
    }
    return 0;
}

/* Words of text, wrapped into [col, HELP_WIDTH) after a first line that
 * starts at `at`. */
static void wrap(FILE *out, const char *text, int at, int col)
{
    int x = at;
    if (at > 0 && x > col - 2) {
        fputc('\n', out);
        x = 0;
    }
    const char *p = text;
    int first = 1;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (!n)
            break;
        if (!first && x + 1 + (int)n > HELP_WIDTH) {
            fputc('\n', out);
            x = 0;
            first = 1;
        }
        if (x < col) {
            fprintf(out, "%*s", col - x, "");
            x = col;
        }
        if (!first) {
            fputc(' ', out);
            x++;
        }
        fwrite(p, 1, n, out);
        x += (int)n;
        p += n;
        first = 0;
    }
    fputc('\n', out);
}

static void opt_label(char *buf, size_t n, const cli_opt *o)
{
    if (o->short_name)
        snprintf(buf, n, "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
    else
        snprintf(buf, n, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

void cli_print_help(FILE *out, const cli_spec *spec, const cli_opt_group *groups, int ngroups)
{
    fprintf(out, "Usage: cqlshift %s %s\n\n", spec->name, spec->usage);
    wrap(out, spec->description, 0, 0);
    for (int g = 0; g < ngroups; g++) {
        fprintf(out, "\n%s:\n", groups[g].title);
        for (const cli_opt *o = groups[g].opts; o->name; o++) {
            char label[128];
            opt_label(label, sizeof label, o);
            fprintf(out, "  %s", label);
            wrap(out, o->help, 2 + (int)strlen(label), HELP_COL);
        }
    }
    fprintf(out, "  -h, --help%*s%s\n", HELP_COL - 12, "", "this help");
    for (const char *const *n = spec->notes; n && *n; n++)
        fprintf(out, "\n%s", *n);
    fprintf(out, "\n%s", spec->exit_codes ? spec->exit_codes : cli_exit_codes_help);
}

/* Text for troff: a leading dot or quote is escaped, backslashes and
 * dashes too. */
static void troff(FILE *out, const char *s)
{
    int bol = 1;
    for (; *s; s++) {
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", out);
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
        bol = *s == '\n';
    }
}

void cli_print_man(FILE *out, const cli_spec *spec, const cli_opt_group *groups, int ngroups)
{
    fprintf(out, ".SH \"cqlshift %s\"\n.B cqlshift %s\n", spec->name, spec->name);
    troff(out, spec->usage);
    fprintf(out, "\n.PP\n");
    troff(out, spec->description);
    fprintf(out, "\n");
    for (int g = 0; g < ngroups; g++) {
        fprintf(out, ".SS \"%s\"\n", groups[g].title);
        for (const cli_opt *o = groups[g].opts; o->name; o++) {
            char label[128];
            opt_label(label, sizeof label, o);
            fprintf(out, ".TP\n.B ");
            troff(out, label);
            fprintf(out, "\n");
            troff(out, o->help);
            fprintf(out, "\n");
        }
    }
    for (const char *const *n = spec->notes; n && *n; n++) {
        fprintf(out, ".PP\n.nf\n");
        troff(out, *n);
        fprintf(out, ".fi\n");
    }
}
