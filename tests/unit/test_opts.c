/* Option tables: strict numbers, --opt=value, flags, choices, missing
 * positionals and unknown options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/opts.h"

typedef struct args {
    int workers;
    double rate;
    int flag;
    int mode;
    const char *text;
    long long big;
} args;

static const cli_opt opts[] = {
    {"workers", 0, OPT_INT, offsetof(args, workers), "N", "threads", 1, 256, 0, NULL, NULL},
    {"rate-limit", 0, OPT_NUM, offsetof(args, rate), "R", "rows/s", 1, 1e9, 1, NULL, NULL},
    {"quiet", 'q', OPT_FLAG, offsetof(args, flag), NULL, "quiet", 0, 0, 0, NULL, NULL},
    {"mode", 0, OPT_CHOICE, offsetof(args, mode), "M", "mode", 0, 0, 0, "a|bb|c", NULL},
    {"tables", 0, OPT_TEXT, offsetof(args, text), "A,B", "tables", 0, 0, 0, NULL, NULL},
    {"big", 0, OPT_LLONG, offsetof(args, big), "N", "big", 0, 1e12, 1, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};
static const char *const posn[] = {"SOURCE", "TARGET", NULL};
static const cli_spec spec = {"t", "SOURCE TARGET", posn, "desc", NULL, 0, NULL};

static int parse(args *a, const char **pos, int argc, ...)
{
    char *argv[32];
    va_list ap;
    va_start(ap, argc);
    argv[0] = "t";
    for (int i = 1; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    memset(a, 0, sizeof *a);
    cli_opt_group g = {"Options", opts, a};
    return cli_parse(&spec, &g, 1, argc, argv, pos);
}

static void test_values(void **st)
{
    (void)st;
    args a;
    const char *pos[2];
    assert_int_equal(parse(&a, pos, 11, "src", "--workers=3", "--rate-limit", "5k", "-q",
                           "--mode", "bb", "dst", "--big=2M", "--tables=x,y"), 0);
    assert_int_equal(a.workers, 3);
    assert_true(a.rate == 5000);
    assert_int_equal(a.flag, 1);
    assert_int_equal(a.mode, 1);
    assert_int_equal(a.big, 2000000);
    assert_string_equal(a.text, "x,y");
    assert_string_equal(pos[0], "src");
    assert_string_equal(pos[1], "dst");
}

static void test_refusals(void **st)
{
    (void)st;
    args a;
    const char *pos[2];
    /* loose numbers of the old parser: all refused now */
    assert_int_equal(parse(&a, pos, 5, "s", "d", "--rate-limit", "fast"), -1);
    assert_int_equal(parse(&a, pos, 5, "s", "d", "--workers", "-3"), -1);
    assert_int_equal(parse(&a, pos, 5, "s", "d", "--workers", "abc"), -1);
    assert_int_equal(parse(&a, pos, 5, "s", "d", "--workers", "2.5"), -1);
    assert_int_equal(parse(&a, pos, 5, "s", "d", "--workers", "1k"), -1); /* no suffix here */
    assert_int_equal(parse(&a, pos, 5, "s", "d", "--rate-limit", "5x"), -1);
    assert_int_equal(parse(&a, pos, 5, "s", "d", "--mode", "d"), -1);
    assert_int_equal(parse(&a, pos, 4, "s", "d", "--tabels=x"), -1);
    assert_int_equal(parse(&a, pos, 4, "s", "d", "--quiet=1"), -1);
    assert_int_equal(parse(&a, pos, 4, "s", "d", "--workers"), -1);
    assert_int_equal(parse(&a, pos, 2, "s"), -1);              /* missing TARGET */
    assert_int_equal(parse(&a, pos, 4, "s", "d", "e"), -1);    /* one too many */
    assert_int_equal(parse(&a, pos, 4, "s", "d", "--tables="), -1);
}

static void test_numbers(void **st)
{
    (void)st;
    double d;
    assert_int_equal(cli_number("n", "1.5M", 0, 1e9, 0, 1, &d), 0);
    assert_true(d == 1500000);
    assert_int_equal(cli_number("n", "", 0, 1e9, 0, 1, &d), -1);
    assert_int_equal(cli_number("n", "nan", 0, 1e9, 0, 1, &d), -1);
    assert_int_equal(cli_number("n", "1e400", 0, 1e9, 0, 1, &d), -1);
    /* what strtod would take but a count is not */
    assert_int_equal(cli_number("n", " 5", 0, 1e9, 0, 1, &d), -1);
    assert_int_equal(cli_number("n", "+5", 0, 1e9, 0, 1, &d), -1);
    assert_int_equal(cli_number("n", "0x10", 0, 1e9, 0, 1, &d), -1);
    assert_int_equal(cli_number("n", "1e3", 0, 1e9, 0, 1, &d), -1);
    assert_int_equal(cli_number("n", "inf", 0, 1e9, 0, 1, &d), -1);
    assert_int_equal(cli_number("n", "-", -5, 1e9, 0, 1, &d), -1);
    assert_int_equal(cli_number("n", ".5", 0, 1e9, 0, 1, &d), 0);
    assert_int_equal(cli_number("n", "-2", -5, 1e9, 1, 0, &d), 0);
    assert_true(d == -2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
