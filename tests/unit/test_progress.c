/* Unit tests of the progress display (plain lines and terminal frames), the
 * final summary and its reconciliation check, the JSON run report, and the
 * reject file. Output on stderr/stdout is captured by pointing the file
 * descriptor at a temporary file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "obs/progress.h"
#include "obs/progress_int.h"

typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **ts)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cqlshift-progress-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    *ts = f;
    return 0;
}

static int teardown(void **ts)
{
    fixture *f = *ts;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Redirect fd (1 or 2) into a temporary file until capture_end, which
 * returns everything written (caller frees). */
typedef struct capture {
    int fd, saved;
    FILE *tmp;
} capture;

static void capture_begin(capture *c, int fd)
{
    fflush(fd == 1 ? stdout : stderr);
    c->fd = fd;
    c->tmp = tmpfile();
    assert_non_null(c->tmp);
    c->saved = dup(fd);
    assert_true(c->saved >= 0);
    assert_true(dup2(fileno(c->tmp), fd) >= 0);
}

static char *capture_end(capture *c)
{
    fflush(c->fd == 1 ? stdout : stderr);
    assert_true(dup2(c->saved, c->fd) >= 0);
    close(c->saved);
    long n = ftell(c->tmp);
    assert_true(n >= 0);
    char *s = calloc(1, (size_t)n + 1);
    rewind(c->tmp);
    assert_int_equal(fread(s, 1, (size_t)n, c->tmp), (size_t)n);
    fclose(c->tmp);
    return s;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void set_counts(progress *p, int i, const char *name, long long read, long long written,
                       long long rejected)
{
    table_progress *t = progress_table(p, i);
    assert_non_null(t);
    snprintf(t->name, sizeof t->name, "%s", name);
    atomic_store(&t->read, read);
    atomic_store(&t->written, written);
    atomic_store(&t->rejected, rejected);
}

static int count_lines(const char *s, const char *prefix)
{
    int n = 0;
    for (const char *l = s; l && *l;) {
        if (strncmp(l, prefix, strlen(prefix)) == 0)
            n++;
        l = strchr(l, '\n');
        l = l ? l + 1 : NULL;
    }
    return n;
}

static void test_mono_seconds(void **ts)
{
    (void)ts;
    double a = mono_seconds();
    sleep_s(0.01);
    double b = mono_seconds();
    assert_true(a > 0);
    assert_true(b - a >= 0.009 && b - a < 5);
}

static void test_table_bounds(void **ts)
{
    (void)ts;
    progress *p = progress_new(2, 1, 0, 1);
    assert_non_null(p);
    assert_non_null(progress_table(p, 0));
    assert_non_null(progress_table(p, 1));
    assert_null(progress_table(p, 2));
    assert_null(progress_table(p, -1));
    assert_int_equal(progress_table(p, 1)->total, -1);
    progress_free(p);
    assert_null(progress_new(-1, 0, 0, 1));
}

static void test_plain_lines(void **ts)
{
    (void)ts;
    capture c;
    capture_begin(&c, 2);
    progress *p = progress_new(3, 0, 0, 0.2);
    set_counts(p, 0, "Album", 123, 120, 3);
    set_counts(p, 1, "Track", 0, 0, 0);
    set_counts(p, 2, "Artist", 5, 5, 0);
    progress_table(p, 0)->total = 1000;
    progress_start(p);
    progress_table_started(progress_table(p, 0));
    progress_table_started(progress_table(p, 2));
    progress_table_finished(progress_table(p, 2));
    sleep_s(0.75);
    progress_table_finished(progress_table(p, 0));
    int rc = progress_finish(p);
    progress_free(p);
    char *out = capture_end(&c);
    assert_int_equal(rc, 0);

    /* Only the active table is reported, in the documented format. */
    int n = count_lines(out, "progress: ");
    if (n < 2)
        fail_msg("expected at least 2 progress lines, got %d in:\n%s", n, out);
    assert_int_equal(count_lines(out, "progress: table=Album read=123 written=120 rejected=3 "
                                      "rows/s="),
                     n);
    assert_null(strstr(out, "table=Track"));
    assert_null(strstr(out, "table=Artist"));
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^progress: table=Album read=123 written=120 rejected=3 "
                             "rows/s=[0-9]+ elapsed=[0-9]+s total=1000( eta=[0-9hms]+)?$",
                             REG_EXTENDED | REG_NEWLINE | REG_NOSUB),
                     0);
    if (regexec(&re, out, 0, NULL, 0) != 0)
        fail_msg("no line matches the plain format in:\n%s", out);
    regfree(&re);
    /* No terminal control sequences when not on a terminal. */
    assert_null(strchr(out, '\033'));
    free(out);
}

static void test_rate_follows_progress(void **ts)
{
    (void)ts;
    capture c;
    capture_begin(&c, 2);
    progress *p = progress_new(1, 0, 0, 0.2);
    set_counts(p, 0, "T", 0, 0, 0);
    progress_start(p);
    progress_table_started(progress_table(p, 0));
    table_progress *t = progress_table(p, 0);
    /* About 1000 rows/s for a second. */
    for (int i = 0; i < 20; i++) {
        atomic_fetch_add(&t->read, 50);
        atomic_fetch_add(&t->written, 50);
        sleep_s(0.05);
    }
    progress_table_finished(progress_table(p, 0));
    progress_finish(p);
    progress_free(p);
    char *out = capture_end(&c);
    const char *last = NULL;
    for (const char *l = strstr(out, "rows/s="); l; l = strstr(l + 1, "rows/s="))
        last = l;
    assert_non_null(last);
    double rate = atof(last + 7);
    /* Wide bounds: timing under valgrind is loose, but the rate must be
     * of the right order, not zero and not the total. */
    if (rate < 200 || rate > 3000)
        fail_msg("rows/s %.0f out of range in:\n%s", rate, out);
    free(out);
}

static void test_terminal_frames(void **ts)
{
    (void)ts;
    capture c;
    /* Not a terminal: the width comes from COLUMNS; 120 has room for all. */
    setenv("COLUMNS", "120", 1);
    capture_begin(&c, 2);
    progress *p = progress_new(2, 0, 1, 10);
    set_counts(p, 0, "Album", 250, 250, 0);
    progress_table(p, 0)->total = 1000;
    set_counts(p, 1, "Track", 7, 7, 0);
    progress_start(p);
    progress_table_started(progress_table(p, 0));
    progress_table_started(progress_table(p, 1));
    sleep_s(0.35);
    progress_table_finished(progress_table(p, 1));
    sleep_s(0.25);
    progress_finish(p);
    progress_free(p);
    char *out = capture_end(&c);
    unsetenv("COLUMNS");
    /* The bar: 25% of 30 characters. */
    if (!strstr(out, "[#######.......................]  25%"))
        fail_msg("no 25%% bar in:\n%s", out);
    /* Redrawn in place: cursor up and erase. */
    assert_non_null(strstr(out, "\033[1A") ? strstr(out, "\033[1A") : strstr(out, "\033[2A"));
    assert_non_null(strstr(out, "\033[J"));
    assert_non_null(strstr(out, "rows/s"));
    /* A finished table is printed once more as done, above the block. */
    assert_non_null(strstr(out, "Track"));
    assert_non_null(strstr(out, "done in"));
    /* Plain lines are not used on a terminal. */
    assert_null(strstr(out, "progress: table="));
    free(out);
}

static void test_summary_aligned(void **ts)
{
    (void)ts;
    capture c;
    capture_begin(&c, 2);
    progress *p = progress_new(2, 0, 0, 10);
    set_counts(p, 0, "Album", 100, 98, 2);
    set_counts(p, 1, "a_much_longer_table_name", 1234567, 1234567, 0);
    progress_table_started(progress_table(p, 0));
    progress_table_finished(progress_table(p, 0));
    int rc = progress_finish(p);
    progress_free(p);
    char *out = capture_end(&c);
    assert_int_equal(rc, 0);
    assert_null(strstr(out, "MISMATCH"));
    /* Header, two tables, total. */
    char *lines[8] = {0};
    int n = 0;
    for (char *l = strtok(out, "\n"); l && n < 8; l = strtok(NULL, "\n"))
        lines[n++] = l;
    assert_int_equal(n, 4);
    assert_true(strncmp(lines[0], "table", 5) == 0);
    assert_non_null(strstr(lines[0], "read"));
    assert_non_null(strstr(lines[0], "rows/s"));
    assert_true(strncmp(lines[1], "Album ", 6) == 0);
    assert_true(strncmp(lines[3], "total ", 6) == 0);
    /* Aligned: every row is as long as the header, and the "read" column
     * ends at the same place in each. */
    size_t end_read = (size_t)(strstr(lines[0], "read") - lines[0]) + 4;
    for (int i = 1; i < n; i++) {
        assert_int_equal(strlen(lines[i]) - 2 /* "ok" */, strlen(lines[0]) - 5 /* "check" */);
        assert_true(lines[i][end_read - 1] >= '0' && lines[i][end_read - 1] <= '9');
        assert_true(lines[i][end_read] == ' ');
        assert_true(strcmp(lines[i] + strlen(lines[i]) - 2, "ok") == 0);
    }
    assert_non_null(strstr(lines[3], "1234667"));
    free(out);
}

static void test_summary_mismatch(void **ts)
{
    (void)ts;
    capture c;
    capture_begin(&c, 2);
    progress *p = progress_new(2, 0, 0, 10);
    set_counts(p, 0, "Album", 10, 10, 0);
    set_counts(p, 1, "Track", 100, 97, 2);
    int rc = progress_finish(p);
    progress_free(p);
    char *out = capture_end(&c);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(out, "MISMATCH: table Track: read 100 = written 97 + rejected 2 does "
                                "not hold\n"));
    assert_null(strstr(out, "table Album:"));
    free(out);
}

static void test_quiet_prints_only_errors(void **ts)
{
    (void)ts;
    capture c;
    capture_begin(&c, 2);
    progress *p = progress_new(1, 1, 0, 0.05);
    set_counts(p, 0, "Album", 10, 10, 0);
    progress_start(p);
    progress_table_started(progress_table(p, 0));
    sleep_s(0.2);
    assert_int_equal(progress_finish(p), 0);
    progress_free(p);
    char *out = capture_end(&c);
    assert_string_equal(out, "");
    free(out);

    capture_begin(&c, 2);
    p = progress_new(1, 1, 0, 0.05);
    set_counts(p, 0, "Album", 10, 9, 0);
    assert_int_equal(progress_finish(p), -1);
    progress_free(p);
    out = capture_end(&c);
    assert_string_equal(out, "MISMATCH: table Album: read 10 = written 9 + rejected 0 does not hold\n");
    free(out);
}

static json_t *load_json_text(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("not JSON (%s at line %d): %s", jerr.text, jerr.line, text);
    return j;
}

static void check_report(json_t *r, int want_ok)
{
    assert_string_equal(json_string_value(json_object_get(r, "source")), "sqlite:chinook.db");
    assert_string_equal(json_string_value(json_object_get(r, "target")),
                        "cassandra://127.0.0.1/ks");
    const char *at = json_string_value(json_object_get(r, "started_at"));
    assert_non_null(at);
    regex_t re;
    assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    assert_int_equal(regexec(&re, at, 0, NULL, 0), 0);
    regfree(&re);
    assert_true(json_is_number(json_object_get(r, "seconds")));
    json_t *tables = json_object_get(r, "tables");
    assert_int_equal(json_array_size(tables), 2);
    json_t *t0 = json_array_get(tables, 0);
    assert_string_equal(json_string_value(json_object_get(t0, "table")), "Album");
    assert_int_equal(json_integer_value(json_object_get(t0, "read")), 347);
    assert_int_equal(json_integer_value(json_object_get(t0, "written")), 340);
    assert_int_equal(json_integer_value(json_object_get(t0, "rejected")), 7);
    assert_true(json_is_number(json_object_get(t0, "seconds")));
    assert_true(json_is_number(json_object_get(t0, "rows_per_s")));
    assert_true(json_is_true(json_object_get(t0, "ok")));
    json_t *t1 = json_array_get(tables, 1);
    assert_string_equal(json_string_value(json_object_get(t1, "table")), "Track");
    assert_int_equal(json_boolean_value(json_object_get(t1, "ok")), want_ok);
    json_t *tot = json_object_get(r, "totals");
    assert_int_equal(json_integer_value(json_object_get(tot, "read")), 347 + 3503);
    assert_int_equal(json_integer_value(json_object_get(tot, "written")), 340 + 3503 - !want_ok);
    assert_int_equal(json_integer_value(json_object_get(tot, "rejected")), 7);
    assert_int_equal(json_boolean_value(json_object_get(tot, "ok")), want_ok);
    assert_int_equal(json_boolean_value(json_object_get(r, "ok")), want_ok);
}

static void test_report_file(void **ts)
{
    fixture *f = *ts;
    capture c;
    capture_begin(&c, 2);
    progress *p = progress_new(2, 0, 0, 10);
    set_counts(p, 0, "Album", 347, 340, 7);
    set_counts(p, 1, "Track", 3503, 3503, 0);
    progress_start(p);
    progress_table_started(progress_table(p, 0));
    progress_table_finished(progress_table(p, 0));
    progress_finish(p);
    char path[128];
    snprintf(path, sizeof path, "%s/report.json", f->dir);
    assert_int_equal(
        progress_write_report(p, path, "sqlite:chinook.db", "cassandra://127.0.0.1/ks"), 0);
    /* Mismatch shows in the report too. */
    set_counts(p, 1, "Track", 3503, 3502, 0);
    char path2[128];
    snprintf(path2, sizeof path2, "%s/report2.json", f->dir);
    assert_int_equal(
        progress_write_report(p, path2, "sqlite:chinook.db", "cassandra://127.0.0.1/ks"), 0);
    progress_free(p);
    free(capture_end(&c));

    json_error_t jerr;
    json_t *r = json_load_file(path, 0, &jerr);
    if (!r)
        fail_msg("%s: %s", path, jerr.text);
    check_report(r, 1);
    json_decref(r);
    r = json_load_file(path2, 0, &jerr);
    assert_non_null(r);
    check_report(r, 0);
    json_decref(r);

    /* Pretty-printed, and no temporary file left behind. */
    FILE *fp = fopen(path, "r");
    char head[8] = {0};
    assert_non_null(fgets(head, sizeof head, fp));
    assert_string_equal(head, "{\n");
    fclose(fp);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test $(ls '%s' | wc -l) -eq 2", f->dir);
    assert_int_equal(system(cmd), 0);
}

static void test_report_stdout_and_errors(void **ts)
{
    fixture *f = *ts;
    progress *p = progress_new(2, 1, 0, 10);
    set_counts(p, 0, "Album", 347, 340, 7);
    set_counts(p, 1, "Track", 3503, 3503, 0);
    capture c;
    capture_begin(&c, 1);
    int rc = progress_write_report(p, "-", "sqlite:chinook.db", "cassandra://127.0.0.1/ks");
    char *out = capture_end(&c);
    assert_int_equal(rc, 0);
    json_t *r = load_json_text(out);
    check_report(r, 1);
    json_decref(r);
    free(out);

    char path[128];
    snprintf(path, sizeof path, "%s/missing/report.json", f->dir);
    errno = 0;
    assert_int_equal(progress_write_report(p, path, "s", "t"), -1);
    assert_int_equal(errno, ENOENT);
    progress_free(p);
}

/* ---------- fitting the terminal's width ---------- */

/* Terminal columns of s[0..n): a code point a column, the CJK ideographs
 * the tests use (U+4E00..U+9FFF) two. */
static int columns(const char *s, size_t n)
{
    int cols = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) == 0x80)
            continue;
        cols += c >= 0xE4 && c <= 0xE9 ? 2 : 1;
    }
    return cols;
}

/* Format l at width; checks it is one line of at most width - 1 columns
 * (and what the function returned); returns it without the newline
 * (caller frees). */
static char *format_at(const progress_line *l, int width)
{
    cs_buf b;
    cs_buf_init(&b, SIZE_MAX);
    int cols = progress_format_line(&b, l, width);
    assert_true(b.len >= 1 && b.data[b.len - 1] == '\n');
    char *s = calloc(1, b.len);
    memcpy(s, b.data, b.len - 1);
    cs_buf_release(&b);
    assert_null(strchr(s, '\n'));
    int want = width > 1 ? width - 1 : 1;
    if (columns(s, strlen(s)) > want)
        fail_msg("width %d: %d columns: '%s'", width, columns(s, strlen(s)), s);
    assert_int_equal(cols, columns(s, strlen(s)));
    return s;
}

static void test_line_fits_width(void **ts)
{
    (void)ts;
    /* The worst case of issue 14: a long name, big counts, a bar and ETA. */
    progress_line l = {.name = "customer_order_line_items_archive",
                       .total = 12000000,
                       .read = 3001234,
                       .written = 3000000,
                       .rejected = 0,
                       .rate = 368265,
                       .seconds = 8};
    char *s = format_at(&l, 120);
    /* Everything shown; the bar takes the columns left (25 of 30 at most),
     * the name is cut to 24. */
    assert_string_equal(s, "customer_order_line_ite~ [######...................]  25% read 3001234 "
                           "written 3000000 rejected 0 368265 rows/s ETA 24s");
    free(s);

    s = format_at(&l, 80);
    /* Rows read and "rejected 0" go first; the name is cut to 16 columns;
     * bar, percentage, written, rate and ETA stay. */
    assert_null(strstr(s, "read 3001234"));
    assert_null(strstr(s, "rejected"));
    assert_string_equal(s, "customer_order_~ [####.............]  25% written 3000000 368265 rows/s "
                           "ETA 24s");
    free(s);

    s = format_at(&l, 40);
    /* No bar; percentage, rate and ETA are what is left. */
    assert_null(strchr(s, '['));
    assert_string_equal(s, "customer_~  25% 368265 rows/s ETA 24s");
    free(s);

    /* Rejected rows are kept longer than rows read. */
    l.rejected = 7;
    s = format_at(&l, 80);
    assert_non_null(strstr(s, "written 3000000 rejected 7 368265 rows/s"));
    free(s);

    /* A finished table: "done in" instead of rate and ETA. */
    l.finished = 1;
    l.seconds = 75;
    s = format_at(&l, 80);
    assert_non_null(strstr(s, "done in 1m15s"));
    assert_null(strstr(s, "rows/s"));
    free(s);

    /* No total: no bar, no percentage, no ETA, at every width. */
    progress_line u = {.name = "events", .total = -1, .read = 10, .written = 9, .rate = 3};
    for (int w = 1; w <= 130; w++) {
        s = format_at(&u, w);
        assert_null(strchr(s, '['));
        assert_null(strchr(s, '%'));
        assert_null(strstr(s, "ETA"));
        if (w == 120)
            assert_string_equal(s, "events                   read 10 written 9 rejected 0 3 rows/s");
        free(s);
    }
    /* Never more than width - 1 columns, whatever the width, name or
     * counts; wide characters count twice and controls become '?'. */
    const char *names[] = {"t", "x\n\033[2Jy", "\xe8\xa1\xa8\xe6\xa0\xbc_donn\xc3\xa9" "es_\xe8\xa1\xa8",
                           "bad\xff\xfeutf8", "a_table_name_that_is_much_longer_than_any_terminal_"
                                               "line_could_hold_at_all"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        progress_line v = {.name = names[k], .total = 1000000000000LL, .read = 999999999999LL,
                           .written = 999999999999LL, .rejected = 123456789, .rate = 1e9};
        for (int w = 0; w <= 130; w++) {
            v.finished = w % 2;
            s = format_at(&v, w);
            assert_null(strchr(s, '\033'));
            assert_null(strchr(s, '\r'));
            free(s);
        }
    }
    progress_line cjk = {.name = "\xe8\xa1\xa8\xe6\xa0\xbc", .total = -1, .rate = 1};
    s = format_at(&cjk, 80);
    /* Two ideographs, 4 columns, padded to 24. */
    assert_string_equal(s, "\xe8\xa1\xa8\xe6\xa0\xbc                     read 0 written 0 "
                           "rejected 0 1 rows/s");
    free(s);
}

/* A small terminal, enough for what the display sends: ASCII text, "\r",
 * "\n" (as a tty with onlcr: to the start of the next row), ESC[nA, ESC[K,
 * ESC[2K and ESC[J. It wraps like xterm (a character written past the last
 * column goes to the next row) and, like tmux, moves the whole screen into
 * the scrollback on "erase below" at the top-left corner. */
enum { TERM_ROWS = 8, TERM_COLS = 200, TERM_HISTORY = 2048 };
typedef struct term {
    int w, h, x, y, pending_wrap, wraps;
    char row[TERM_ROWS][TERM_COLS + 1];
    char *history[TERM_HISTORY];
    int nhistory;
} term;

static void term_clear_row(term *t, int y, int from)
{
    memset(t->row[y] + from, ' ', (size_t)(t->w - from));
    t->row[y][t->w] = '\0';
}

static void term_push(term *t, int y)
{
    assert_true(t->nhistory < TERM_HISTORY);
    t->history[t->nhistory++] = strdup(t->row[y]);
}

static void term_newline(term *t)
{
    t->x = 0;
    t->pending_wrap = 0;
    if (t->y < t->h - 1) {
        t->y++;
        return;
    }
    term_push(t, 0);
    memmove(t->row[0], t->row[1], sizeof t->row[0] * (size_t)(t->h - 1));
    term_clear_row(t, t->h - 1, 0);
}

static void term_feed(term *t, const char *s)
{
    for (; *s; s++) {
        if (*s == '\r') {
            t->x = 0;
            t->pending_wrap = 0;
        } else if (*s == '\n') {
            term_newline(t);
        } else if (*s == '\033') {
            assert_true(s[1] == '[');
            int n = 0;
            s += 2;
            while (*s >= '0' && *s <= '9')
                n = n * 10 + (*s++ - '0');
            t->pending_wrap = 0;
            if (*s == 'A') {
                t->y = t->y - (n ? n : 1) < 0 ? 0 : t->y - (n ? n : 1);
            } else if (*s == 'K') {
                term_clear_row(t, t->y, n == 2 ? 0 : t->x);
            } else if (*s == 'J') {
                if (t->x == 0 && t->y == 0)
                    for (int y = 0; y < t->h; y++)
                        term_push(t, y);
                term_clear_row(t, t->y, t->x);
                for (int y = t->y + 1; y < t->h; y++)
                    term_clear_row(t, y, 0);
            } else {
                fail_msg("unexpected sequence ending in '%c'", *s);
            }
        } else {
            if (t->pending_wrap) {
                term_newline(t);
                t->wraps++;
            }
            t->row[t->y][t->x] = *s;
            if (t->x == t->w - 1)
                t->pending_wrap = 1;
            else
                t->x++;
        }
    }
}

static void term_init(term *t, int w, int h)
{
    memset(t, 0, sizeof *t);
    t->w = w;
    t->h = h;
    for (int y = 0; y < h; y++)
        term_clear_row(t, y, 0);
}

/* Rows of the scrollback and the screen holding `needle`. */
static int term_count(const term *t, const char *needle)
{
    int n = 0;
    for (int i = 0; i < t->nhistory; i++)
        n += strstr(t->history[i], needle) != NULL;
    for (int y = 0; y < t->h; y++)
        n += strstr(t->row[y], needle) != NULL;
    return n;
}

/* Live progress lines: a number followed by " rows/s" (the summary's
 * header has the word alone). */
static int term_count_live(const term *t)
{
    int n = 0;
    for (int i = 0; i < t->nhistory + t->h; i++) {
        const char *r = i < t->nhistory ? t->history[i] : t->row[i - t->nhistory];
        for (const char *m = strstr(r, " rows/s"); m; m = strstr(m + 1, " rows/s"))
            if (m > r && m[-1] >= '0' && m[-1] <= '9') {
                n++;
                break;
            }
    }
    return n;
}

static void term_release(term *t)
{
    for (int i = 0; i < t->nhistory; i++)
        free(t->history[i]);
}

static void test_frames_fit_terminal(void **ts)
{
    (void)ts;
    /* A 40x3 terminal, three active tables with long names: one table line
     * and "... and 2 more" fit. Replayed on a terminal of that size, no line
     * ever wraps, and at the end no progress line is left on the screen or
     * in the scrollback: only the summary. */
    setenv("COLUMNS", "40", 1);
    setenv("LINES", "3", 1);
    capture c;
    capture_begin(&c, 2);
    progress *p = progress_new(3, 0, 1, 10);
    static const char *const names[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "a_rather_long_table_name_number_%s", names[i]);
        set_counts(p, i, name, 400, 400, 0);
        progress_table(p, i)->total = 1000;
        progress_table_started(progress_table(p, i));
    }
    progress_start(p);
    sleep_s(0.45);
    progress_finish(p);
    progress_free(p);
    char *out = capture_end(&c);
    unsetenv("COLUMNS");
    unsetenv("LINES");

    int frames = 0;
    for (const char *f = strstr(out, "\033[2A"); f; f = strstr(f + 1, "\033[2A"))
        frames++;
    if (frames < 2)
        fail_msg("%d frames in:\n%s", frames, out);
    assert_non_null(strstr(out, "... and 2 more tables in progress\033[K\n"));
    char *summary = strstr(out, "table ");
    assert_non_null(summary);
    term t;
    term_init(&t, 40, 3);
    *summary = '\0';
    term_feed(&t, out);
    if (t.wraps)
        fail_msg("%d lines wrapped on a 40-column terminal:\n%s", t.wraps, out);
    *summary = 't';
    term_feed(&t, summary);
    assert_int_equal(term_count_live(&t), 0);
    assert_int_equal(term_count(&t, "more tables in progress"), 0);
    assert_int_equal(term_count(&t, "seconds"), 1);
    term_release(&t);
    free(out);
}

static void test_terminal_emulation_catches_stale_lines(void **ts)
{
    (void)ts;
    /* The test terminal itself: a 60-column line wraps on 40 columns and
     * moving up one row leaves its first row behind (issue 14's stale
     * lines); "erase below" at the top-left corner keeps the screen in the
     * scrollback. */
    term t;
    term_init(&t, 40, 3);
    char line[80];
    memset(line, 'x', 60);
    strcpy(line + 60, " 9 rows/s\n");
    for (int i = 0; i < 3; i++) {
        term_feed(&t, i ? "\033[1A\r\033[J" : "\r\033[J");
        term_feed(&t, line);
    }
    assert_int_equal(t.wraps, 3);
    assert_int_equal(term_count(&t, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), 3);
    term_release(&t);
    term_init(&t, 40, 3);
    term_feed(&t, "\r\033[Jshort 9 rows/s\n\033[1A\r\033[Jshort 9 rows/s\n");
    assert_int_equal(t.wraps, 0);
    assert_int_equal(term_count_live(&t), 2);
    term_release(&t);
}

/* ---------- the rate of this run only ---------- */

static void test_resumed_rate(void **ts)
{
    fixture *f = *ts;
    capture c;
    capture_begin(&c, 2);
    progress *p = progress_new(1, 0, 0, 0.2);
    table_progress *t = progress_table(p, 0);
    snprintf(t->name, sizeof t->name, "big");
    t->total = 400000;
    progress_start(p);
    /* As the loader does: the table starts, then each range adds what
     * earlier runs settled. */
    progress_table_started(t);
    progress_table_resumed(t, 200000, 199990, 10, 0);
    progress_table_resumed(t, 168265, 168265, 0, 0);
    /* This run: about 1000 rows/s for a second. */
    for (int i = 0; i < 20; i++) {
        atomic_fetch_add(&t->read, 50);
        atomic_fetch_add(&t->written, 50);
        sleep_s(0.05);
    }
    progress_table_finished(t);
    assert_int_equal(progress_finish(p), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/report.json", f->dir);
    assert_int_equal(progress_write_report(p, path, "s", "t"), 0);
    progress_free(p);
    char *out = capture_end(&c);

    /* Every progress line: this run's rate, all the rows in the counts. */
    int n = 0;
    for (const char *l = strstr(out, "progress: "); l; l = strstr(l + 1, "progress: ")) {
        const char *r = strstr(l, "rows/s=");
        assert_non_null(r);
        double rate = atof(r + 7);
        if (rate > 3000)
            fail_msg("rows/s %.0f counts earlier runs' rows in:\n%s", rate, out);
        n++;
    }
    assert_true(n >= 2);
    /* The summary: read 369265, rows/s of this run's 1000 rows. */
    const char *row = strstr(out, "\nbig ");
    assert_non_null(row);
    long long read = 0, written = 0, rejected = 0;
    double secs = 0, rate = 0;
    assert_int_equal(sscanf(row, " big %lld %lld %lld %lf %lf", &read, &written, &rejected, &secs,
                            &rate),
                     5);
    assert_int_equal(read, 369265);
    assert_int_equal(written, 369255);
    assert_int_equal(rejected, 10);
    if (rate < 200 || rate > 3000)
        fail_msg("summary rows/s %.0f is not this run's in:\n%s", rate, out);
    assert_non_null(strstr(out, "cqlshift: note: resumed: earlier runs of this job read 368265 "
                                "of these rows; rows/s counts the 1000 this run read\n"));
    free(out);

    json_error_t jerr;
    json_t *r = json_load_file(path, 0, &jerr);
    assert_non_null(r);
    json_t *t0 = json_array_get(json_object_get(r, "tables"), 0);
    assert_int_equal(json_integer_value(json_object_get(t0, "read")), 369265);
    assert_int_equal(json_integer_value(json_object_get(t0, "read_this_run")), 1000);
    double rps = json_number_value(json_object_get(t0, "rows_per_s"));
    double s0 = json_number_value(json_object_get(t0, "seconds"));
    if (rps < 200 || rps > 3000 || s0 <= 0)
        fail_msg("report rows_per_s %.1f over %.3f s", rps, s0);
    json_t *tot = json_object_get(r, "totals");
    assert_int_equal(json_integer_value(json_object_get(tot, "read_this_run")), 1000);
    assert_true(json_number_value(json_object_get(tot, "rows_per_s")) < 3000);
    json_decref(r);
}

/* ---------- workers and the display thread together ---------- */

enum { HAMMER_THREADS = 4, HAMMER_ROWS = 3000 };

static void *hammer_main(void *arg)
{
    table_progress *t = arg;
    progress_table_started(t);
    for (int i = 0; i < HAMMER_ROWS; i++) {
        if (i % 1000 == 0)
            progress_table_resumed(t, 10, 9, 1, 0);
        atomic_fetch_add(&t->read, 1);
        if (i % 100 == 7) {
            atomic_fetch_add(&t->rejected, 1);
            progress_table_warning(t, "Batch too large");
        } else {
            atomic_fetch_add(&t->written, 1);
        }
        atomic_fetch_add(&t->requests, 1);
        if (i % 50 == 0)
            sleep_s(0.001);
    }
    progress_table_finished(t);
    return NULL;
}

/* Run under ThreadSanitizer by scripts/test.sh: workers update every
 * table's counters and clock while the display thread draws them. */
static void test_workers_and_display(void **ts)
{
    (void)ts;
    for (int tty = 0; tty <= 1; tty++) {
        setenv("COLUMNS", "60", 1);
        capture c;
        capture_begin(&c, 2);
        progress *p = progress_new(2, 0, tty, 0.05);
        snprintf(progress_table(p, 0)->name, sizeof progress_table(p, 0)->name, "one");
        snprintf(progress_table(p, 1)->name, sizeof progress_table(p, 1)->name, "two");
        progress_table(p, 0)->total = HAMMER_THREADS / 2 * (HAMMER_ROWS + 30);
        progress_start(p);
        pthread_t th[HAMMER_THREADS];
        for (int i = 0; i < HAMMER_THREADS; i++)
            assert_int_equal(pthread_create(&th[i], NULL, hammer_main, progress_table(p, i % 2)), 0);
        for (int i = 0; i < HAMMER_THREADS; i++)
            pthread_join(th[i], NULL);
        int rc = progress_finish(p);
        for (int i = 0; i < 2; i++) {
            table_progress *t = progress_table(p, i);
            assert_int_equal(atomic_load(&t->read), HAMMER_THREADS / 2 * (HAMMER_ROWS + 30));
            assert_int_equal(atomic_load(&t->warned), HAMMER_THREADS / 2 * (HAMMER_ROWS / 100));
            assert_string_equal(t->first_warning, "Batch too large");
        }
        progress_free(p);
        char *out = capture_end(&c);
        unsetenv("COLUMNS");
        assert_int_equal(rc, 0);
        assert_non_null(strstr(out, "note: resumed: earlier runs of this job read 120 "));
        free(out);
    }
}

/* ---------- rejects ---------- */

static json_t **read_jsonl(const char *path, int *n)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    json_t **rows = calloc(4096, sizeof *rows);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    *n = 0;
    while ((len = getline(&line, &cap, fp)) > 0) {
        assert_true(line[len - 1] == '\n');
        json_error_t jerr;
        rows[*n] = json_loadb(line, (size_t)len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
        if (!rows[*n]) {
            fprintf(stderr, "line %d is not JSON (%s): %s", *n + 1, jerr.text, line);
            fail();
        }
        (*n)++;
    }
    free(line);
    fclose(fp);
    return rows;
}

static void free_rows(json_t **rows, int n)
{
    for (int i = 0; i < n; i++)
        json_decref(rows[i]);
    free(rows);
}

static void test_rejects_rows(void **ts)
{
    fixture *f = *ts;
    char path[128];
    snprintf(path, sizeof path, "%s/rejects.jsonl", f->dir);
    rejects *r = rejects_open(path, 0);
    assert_non_null(r);
    assert_string_equal(rejects_path(r), path);
    const char raw[] = "1,\"Bad \"\"date\"\"\",2024-13-45\tx\n";
    assert_int_equal(rejects_write(r, "Album", 17, "column 3: invalid date '2024-13-45'", raw,
                                   sizeof raw - 1, NULL),
                     0);
    /* Numbers keep every digit; the line breaks of pretty JSON do not
     * break the one-row-per-line format. */
    assert_int_equal(rejects_write(r, "Track", 18, "too long",
                                   NULL, 0, "[1,\n 123456789012345678901234567890, 0.1000000000000000055511151231257827,\n \"x\"]"),
                     0);
    assert_int_equal(rejects_write(r, "Track", 19, "unparsed", NULL, 0, "[1, 2"), 0);
    assert_int_equal(rejects_write(r, "Track", 20, NULL, NULL, 0, NULL), 0);
    const char bad_utf8[] = {'a', (char)0xff, 'b', '\0', 'c'};
    assert_int_equal(rejects_write(r, "Bin", -1, "invalid UTF-8", bad_utf8, sizeof bad_utf8, NULL),
                     0);
    assert_int_equal(rejects_count(r), 5);
    rejects_close(r);

    int n;
    json_t **rows = read_jsonl(path, &n);
    assert_int_equal(n, 5);
    assert_string_equal(json_string_value(json_object_get(rows[0], "table")), "Album");
    assert_int_equal((json_int_t)json_number_value(json_object_get(rows[0], "position")), 17);
    assert_string_equal(json_string_value(json_object_get(rows[0], "reason")),
                        "column 3: invalid date '2024-13-45'");
    assert_string_equal(json_string_value(json_object_get(rows[0], "row")), raw);
    assert_null(json_object_get(rows[0], "row_base64"));

    json_t *vals = json_object_get(rows[1], "row");
    assert_true(json_is_array(vals));
    assert_int_equal(json_array_size(vals), 4);
    assert_string_equal(json_string_value(json_array_get(vals, 3)), "x");
    assert_true(json_is_string(json_object_get(rows[2], "row")));
    assert_string_equal(json_string_value(json_object_get(rows[2], "row")), "[1, 2");
    assert_true(json_is_null(json_object_get(rows[3], "row")));
    assert_true(json_is_null(json_object_get(rows[3], "reason")));

    assert_int_equal((json_int_t)json_number_value(json_object_get(rows[4], "position")), -1);
    json_t *row = json_object_get(rows[4], "row");
    assert_int_equal(json_string_length(row), 7); /* a U+FFFD b NUL c */
    assert_memory_equal(json_string_value(row), "a\xef\xbf\xbd" "b\0c", 7);
    assert_string_equal(json_string_value(json_object_get(rows[4], "row_base64")), "Yf9iAGM=");
    free_rows(rows, n);

    /* The digits of the big numbers are in the file as given. */
    FILE *fp = fopen(path, "r");
    char buf[4096];
    size_t got = fread(buf, 1, sizeof buf - 1, fp);
    buf[got] = '\0';
    fclose(fp);
    assert_non_null(strstr(buf, "123456789012345678901234567890"));
    assert_non_null(strstr(buf, "0.1000000000000000055511151231257827"));
}

static void test_rejects_append_and_truncate(void **ts)
{
    fixture *f = *ts;
    char path[128];
    snprintf(path, sizeof path, "%s/rejects.jsonl", f->dir);
    rejects *r = rejects_open(path, 0);
    assert_int_equal(rejects_write(r, "A", 1, "x", "r1", 2, NULL), 0);
    rejects_close(r);
    /* A crash mid-row left a partial line. */
    FILE *fp = fopen(path, "a");
    fputs("{\"table\":\"A\",\"pos", fp);
    fclose(fp);

    r = rejects_open(path, 1);
    assert_non_null(r);
    assert_int_equal(rejects_count(r), 0);
    assert_int_equal(rejects_write(r, "A", 2, "x", "r2", 2, NULL), 0);
    assert_int_equal(rejects_count(r), 1);
    rejects_close(r);
    fp = fopen(path, "r");
    char line[256];
    int n = 0, parsed = 0;
    while (fgets(line, sizeof line, fp)) {
        n++;
        json_t *j = json_loads(line, 0, NULL);
        parsed += j != NULL;
        json_decref(j);
    }
    fclose(fp);
    assert_int_equal(n, 3);
    assert_int_equal(parsed, 2); /* the torn line stays alone on its line */

    r = rejects_open(path, 0);
    rejects_close(r);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 0);
}

static void test_rejects_open_error(void **ts)
{
    fixture *f = *ts;
    char path[128];
    snprintf(path, sizeof path, "%s/no/dir/rejects.jsonl", f->dir);
    errno = 0;
    assert_null(rejects_open(path, 0));
    assert_int_equal(errno, ENOENT);
    rejects_close(NULL);
}

typedef struct rej_arg {
    rejects *r;
    int id;
} rej_arg;

enum { REJ_THREADS = 4, REJ_ROWS = 200 };

static void *reject_worker(void *p)
{
    rej_arg *a = p;
    char raw[64];
    for (int i = 0; i < REJ_ROWS; i++) {
        int n = snprintf(raw, sizeof raw, "thread %d row %d", a->id, i);
        if (rejects_write(a->r, "T", a->id * REJ_ROWS + i, "bad", raw, (size_t)n, NULL) != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_rejects_concurrent(void **ts)
{
    fixture *f = *ts;
    char path[128];
    snprintf(path, sizeof path, "%s/rejects.jsonl", f->dir);
    rejects *r = rejects_open(path, 0);
    pthread_t th[REJ_THREADS];
    rej_arg args[REJ_THREADS];
    for (int i = 0; i < REJ_THREADS; i++) {
        args[i] = (rej_arg){r, i};
        assert_int_equal(pthread_create(&th[i], NULL, reject_worker, &args[i]), 0);
    }
    for (int i = 0; i < REJ_THREADS; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        assert_null(ret);
    }
    assert_int_equal(rejects_count(r), REJ_THREADS * REJ_ROWS);
    rejects_close(r);
    int n;
    json_t **rows = read_jsonl(path, &n);
    assert_int_equal(n, REJ_THREADS * REJ_ROWS);
    char seen[REJ_THREADS * REJ_ROWS] = {0};
    for (int i = 0; i < n; i++) {
        json_int_t pos = (json_int_t)json_number_value(json_object_get(rows[i], "position"));
        assert_true(pos >= 0 && pos < REJ_THREADS * REJ_ROWS);
        char want[64];
        snprintf(want, sizeof want, "thread %d row %d", (int)(pos / REJ_ROWS),
                 (int)(pos % REJ_ROWS));
        assert_string_equal(json_string_value(json_object_get(rows[i], "row")), want);
        seen[pos]++;
    }
    for (int i = 0; i < n; i++)
        assert_int_equal(seen[i], 1);
    free_rows(rows, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mono_seconds),
        cmocka_unit_test(test_table_bounds),
        cmocka_unit_test(test_plain_lines),
        cmocka_unit_test(test_rate_follows_progress),
        cmocka_unit_test(test_terminal_frames),
        cmocka_unit_test(test_summary_aligned),
        cmocka_unit_test(test_summary_mismatch),
        cmocka_unit_test(test_quiet_prints_only_errors),
        cmocka_unit_test(test_line_fits_width),
        cmocka_unit_test(test_frames_fit_terminal),
        cmocka_unit_test(test_terminal_emulation_catches_stale_lines),
        cmocka_unit_test_setup_teardown(test_resumed_rate, setup, teardown),
        cmocka_unit_test(test_workers_and_display),
        cmocka_unit_test_setup_teardown(test_report_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_stdout_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_append_and_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_open_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_concurrent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
