/* load --map's text: entries, commas inside quotes and parentheses, bare
 * names, *, quoted names, and each refusal with its position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/load_map.h"

static const char *const tcols[] = {"id", "name", "region", "Odd Col", "score"};
static const char *const fields[] = {"user_id", "full_name", "score", "Region", "x"};
#define NT 5
#define NF 5

static char err_text[4096];

/* Parse with stderr captured into err_text. */
static int parse(const char *text, load_map_spec *s)
{
    fflush(stderr);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    int rc = load_map_parse(text, tcols, NT, fields, NF, "ks.t", s);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(err_text, 1, sizeof err_text - 1, tmp);
    err_text[n] = '\0';
    fclose(tmp);
    return rc;
}

static void expect_error(const char *text, int pos, const char *words)
{
    load_map_spec s;
    assert_int_equal(parse(text, &s), -1);
    char want[64];
    snprintf(want, sizeof want, "--map: position %d: ", pos);
    if (!strstr(err_text, want) || !strstr(err_text, words))
        fail_msg("for '%s' wanted '%s...%s', got: %s", text, want, words, err_text);
    assert_int_equal(s.nitems, 0);
}

static void test_entries(void **state)
{
    (void)state;
    load_map_spec s;
    const char *text = " id = user_id ,name=coalesce(full_name, 'a, b'),region='x,(y' , score";
    assert_int_equal(parse(text, &s), 0);
    assert_int_equal(s.nitems, 4);
    assert_int_equal(s.items[0].col, 0);
    assert_string_equal(s.items[0].expr, "user_id");
    assert_int_equal(s.items[0].expr_off, 6);
    assert_int_equal(s.items[1].col, 1);
    assert_string_equal(s.items[1].expr, "coalesce(full_name, 'a, b')");
    assert_string_equal(s.items[2].expr, "'x,(y'");
    assert_int_equal(s.items[3].col, 4);
    assert_string_equal(s.items[3].expr, "score"); /* bare: the field of that name */
    load_map_release(&s);
}

static void test_quoted_and_case(void **state)
{
    (void)state;
    load_map_spec s;
    assert_int_equal(parse("ID=user_id, \"Odd Col\"=upper(\"x\")", &s), 0);
    assert_int_equal(s.nitems, 2);
    assert_int_equal(s.items[0].col, 0);
    assert_int_equal(s.items[1].col, 3);
    assert_string_equal(s.items[1].expr, "upper(\"x\")");
    load_map_release(&s);
    /* a quoted name matches exactly only */
    expect_error("\"ID\"=user_id", 1, "ID is not a column of ks.t");
}

static void test_star(void **state)
{
    (void)state;
    load_map_spec s;
    assert_int_equal(parse("id=user_id, *", &s), 0);
    /* region from Region (case), score from score; name and Odd Col have no field */
    assert_int_equal(s.nitems, 3);
    assert_int_equal(s.items[1].col, 2);
    assert_string_equal(s.items[1].expr, "\"Region\"");
    assert_int_equal(s.items[1].expr_off, 12);
    assert_int_equal(s.items[2].col, 4);
    load_map_release(&s);
    expect_error("*, id=user_id, *", 16, "* appears twice");
    expect_error("* id", 3, "put a comma after it");
}

static void test_refusals(void **state)
{
    (void)state;
    expect_error("", 1, "the mapping is empty");
    expect_error("id=user_id,,name=x", 12, "an empty entry");
    expect_error("id=user_id,", 12, "an empty entry");
    expect_error("id=", 4, "nothing after id=");
    expect_error("id==user_id", 3, "expected = after the column name id");
    expect_error("1d=user_id", 1, "an entry starts with the table column's name");
    expect_error("id=user_id, nosuch=x", 13, "nosuch is not a column of ks.t (its columns: id, "
                                             "name, region, Odd Col, score)");
    expect_error("id=user_id, name=x, Name=x", 21, "column name is mapped twice (first at "
                                                   "position 13)");
    /* DSBulk's direction */
    expect_error("full_name=name", 1, "the table column goes on the left: write "
                                      "name=full_name");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries),
        cmocka_unit_test(test_quoted_and_case),
        cmocka_unit_test(test_star),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
