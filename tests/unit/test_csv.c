/* Unit tests of the CSV file source (source_files_open "csv"): real files in
 * a temporary directory, read through the connector's ops exactly as the
 * loader does. Quoting, line ends, BOM, empty vs null, options, malformed
 * records and their messages, directories, resume points, stdin, memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "source/files_int.h"
#include "source/source.h"


#include "files_harness.h"
#include "pos_harness.h"

static source *open_csv(const char *path, const file_options *o)
{
    return open_files("csv", path, o);
}

/* Read every row of a one-file CSV. */
static void read_all(const char *path, const file_options *o, int batch, rows *out)
{
    read_all_kind("csv", path, o, batch, out);
}

/* ---- tests ------------------------------------------------------------- */

static void test_quoting_newlines_crlf_bom(void **state)
{
    (void)state;
    const char *csv =
        "\xEF\xBB\xBF"
        "id,name,note\r\n"
        "1,\"quoted, with comma\",plain\r\n"
        "2,\"line one\nline two\r\nline three\",x\r\n"
        "3,\"say \"\"hi\"\"\",\"\"\"\"\r\n"
        "4,\"\",\r\n"
        "5,,\"\"\n"
        "6,\xF0\x9F\x98\x80 \xF0\x9D\x84\x9E \xC3\xBC \xE4\xB8\xAD,\"\xF0\x9F\x98\x80\"\n"
        "\n"
        "7,last,no newline at end";
    const char *path = puts_("basic.csv", csv);
    file_options o;
    file_options_init(&o);
    source *s = open_csv(path, &o);
    source_error err;
    const source_schema *sc = s->ops->describe(s, &err);
    assert_int_equal(sc->ntables, 1);
    assert_string_equal(sc->tables[0].name, "t");
    assert_int_equal(sc->tables[0].ncols, 3);
    assert_string_equal(sc->tables[0].cols[0].name, "id"); /* no BOM in the name */
    assert_string_equal(sc->tables[0].cols[2].name, "note");
    assert_string_equal(sc->tables[0].cols[1].decl_type, "");
    s->ops->close(s);

    rows rs;
    read_all(path, &o, 100, &rs);
    assert_int_equal(rs.n, 7);
    int64_t lines[] = {2, 3, 6, 7, 8, 9, 11};
    for (int i = 0; i < 7; i++) {
        assert_null_ptr(rs.r[i].problem);
        assert_int_equal(rs.r[i].pos, lines[i]);
    }
    assert_val(rs.r[0], 1, "quoted, with comma");
    assert_val(rs.r[0], 2, "plain");
    assert_val(rs.r[1], 1, "line one\nline two\r\nline three");
    assert_val(rs.r[2], 1, "say \"hi\"");
    assert_val(rs.r[2], 2, "\"");
    assert_val(rs.r[3], 1, "");     /* "" is an empty string */
    assert_nullv(rs.r[3], 2);        /* unquoted empty is null */
    assert_nullv(rs.r[4], 1);
    assert_val(rs.r[4], 2, "");
    assert_val(rs.r[5], 1, "\xF0\x9F\x98\x80 \xF0\x9D\x84\x9E \xC3\xBC \xE4\xB8\xAD");
    assert_val(rs.r[5], 2, "\xF0\x9F\x98\x80");
    assert_val(rs.r[6], 2, "no newline at end");
    assert_int_equal(rs.resume[rs.nb - 1], (int64_t)strlen(csv));
    rows_free(&rs);
}

static void test_batches_resume_points_and_raw(void **state)
{
    (void)state;
    const char *csv = "a,b\n1,x\n2,\"y\ny\"\n3,z\n";
    const char *path = puts_("small.csv", csv);
    file_options o;
    file_options_init(&o);
    source *s = open_csv(path, &o);
    source_range *rg;
    int nr;
    source_error err;
    assert_int_equal(s->ops->split(s, 0, 1, &rg, &nr, &err), 0);
    assert_int_equal(nr, 1);
    assert_int_equal(rg[0].id, 0);
    assert_string_equal(rg[0].label, path);
    source_reader *rd = s->ops->open_range(s, &rg[0], AT(INT64_MIN), &err);
    assert_non_null(rd);
    row_batch b;
    row_batch_init(&b, 2);
    assert_int_equal(s->ops->read(rd, &b, 2, &err), 2);
    assert_int_equal(pos_i64(&b.resume), (int64_t)strlen("a,b\n1,x\n2,\"y\ny\"\n"));
    assert_int_equal(b.rows[1].raw_len, strlen("2,\"y\ny\""));
    assert_memory_equal(b.rows[1].raw, "2,\"y\ny\"", b.rows[1].raw_len);
    /* a larger max_rows than the batch's capacity is capped by it */
    assert_int_equal(s->ops->read(rd, &b, 50, &err), 1);
    assert_int_equal(b.rows[0].pos, 5);
    assert_int_equal(pos_i64(&b.resume), (int64_t)strlen(csv));
    assert_int_equal(s->ops->read(rd, &b, 2, &err), 0);
    s->ops->close_range(rd);
    row_batch_release(&b);
    source_ranges_free(rg, nr);
    s->ops->close(s);
}

static void test_long_fields(void **state)
{
    (void)state;
    size_t big = 5u << 20; /* several MB: longer than the 1 MiB read buffer */
    char *data = malloc(2 * big + 100);
    size_t n = 0;
    n += (size_t)sprintf(data + n, "id,v\n1,\"");
    for (size_t i = 0; i < big; i++)
        data[n++] = (char)('a' + i % 26);
    n += (size_t)sprintf(data + n, "\"\n2,");
    for (size_t i = 0; i < big; i++)
        data[n++] = (char)('A' + i % 26);
    n += (size_t)sprintf(data + n, "\n3,short\n");
    const char *path = put("long.csv", data, n);
    file_options o;
    file_options_init(&o);
    rows rs;
    read_all(path, &o, 10, &rs);
    assert_int_equal(rs.n, 3);
    assert_int_equal(rs.r[0].lens[1], big);
    assert_memory_equal(rs.r[0].vals[1], data + strlen("id,v\n1,\""), big);
    assert_int_equal(rs.r[1].lens[1], big);
    assert_int_equal(rs.r[1].vals[1][big - 1], (char)('A' + (big - 1) % 26));
    assert_val(rs.r[2], 1, "short");
    assert_int_equal(rs.r[2].pos, 4);
    rows_free(&rs);

    /* over max_field: the row fails, the buffer stays small, the next rows load */
    o.max_field = 1000;
    source *s = open_csv(path, &o);
    source_range *rg;
    int nr;
    source_error err;
    assert_int_equal(s->ops->split(s, 0, 1, &rg, &nr, &err), 0);
    files_reader *rd = (files_reader *)s->ops->open_range(s, &rg[0], AT(INT64_MIN), &err);
    row_batch b;
    row_batch_init(&b, 10);
    assert_int_equal(s->ops->read((source_reader *)rd, &b, 10, &err), 3);
    assert_string_equal(b.rows[0].problem, "line 2: record longer than 1000 bytes (max_field); skipped");
    assert_int_equal(b.rows[0].raw_len, FILES_RAW_PREFIX);
    assert_string_equal(b.rows[1].problem, "line 3: record longer than 1000 bytes (max_field); skipped");
    assert_null(b.rows[2].problem);
    assert_int_equal(b.rows[2].pos, 4);
    assert_memory_equal(b.rows[2].vals[1].u.s.p, "short", 5);
    assert_int_equal(rd->in.cap, FILES_BUF_SIZE); /* never grown for the long rows */
    s->ops->close_range((source_reader *)rd);
    row_batch_release(&b);
    source_ranges_free(rg, nr);
    s->ops->close(s);
    free(data);
}

static void test_options(void **state)
{
    (void)state;
    file_options o;
    file_options_init(&o);
    o.delimiter = ';';
    o.quote = '\'';
    o.escape = '\\';
    o.null_marker = "NULL";
    const char *path = puts_("opts.csv", "a;b;c\n"
                                         "'x;y';'it\\'s';NULL\n"
                                         "'NULL';;'back\\\\slash \\n kept'\n"
                                         "'dou''bled';\"plain\";x\n");
    rows rs;
    read_all(path, &o, 10, &rs);
    assert_int_equal(rs.n, 3);
    assert_val(rs.r[0], 0, "x;y");
    assert_val(rs.r[0], 1, "it's");
    assert_nullv(rs.r[0], 2);
    assert_val(rs.r[1], 0, "NULL"); /* a quoted null marker is text */
    assert_val(rs.r[1], 1, "");     /* with another null marker, empty is an empty string */
    assert_val(rs.r[1], 2, "back\\slash \\n kept");
    assert_val(rs.r[2], 0, "dou'bled");
    assert_val(rs.r[2], 1, "\"plain\"");
    rows_free(&rs);

    /* several null markers: each one is null, quoted they are text */
    file_options_init(&o);
    const char *nulls[] = {"", "N/A", "\\N"};
    o.null_markers = nulls;
    o.nnull = 3;
    path = puts_("nulls.csv", "a,b,c,d\n,N/A,\\N,\"N/A\"\nN/A ,NA,\"\",x\n");
    read_all(path, &o, 10, &rs);
    assert_int_equal(rs.n, 2);
    assert_nullv(rs.r[0], 0);
    assert_nullv(rs.r[0], 1);
    assert_nullv(rs.r[0], 2);
    assert_val(rs.r[0], 3, "N/A");
    assert_val(rs.r[1], 0, "N/A ");
    assert_val(rs.r[1], 1, "NA");
    assert_val(rs.r[1], 2, "");
    rows_free(&rs);

    file_options_init(&o);
    o.delimiter = '\t';
    path = puts_("tabs.tsv", "a\tb\n1\t\"two, three\"\n");
    read_all(path, &o, 10, &rs);
    assert_int_equal(rs.n, 1);
    assert_val(rs.r[0], 1, "two, three");
    rows_free(&rs);

    /* no quoting at all */
    file_options_init(&o);
    o.quote = '\0';
    path = puts_("noquote.csv", "a,b\n\"x,\"y\"\n");
    read_all(path, &o, 10, &rs);
    assert_int_equal(rs.n, 1);
    assert_val(rs.r[0], 0, "\"x");
    assert_val(rs.r[0], 1, "\"y\"");
    rows_free(&rs);

    source_error err;
    file_options_init(&o);
    o.delimiter = '"';
    assert_null(source_files_open("csv", path, "t", &o, &err));
    assert_int_equal(err.code, SRC_E_USAGE);
}

static void test_no_header_and_columns(void **state)
{
    (void)state;
    const char *cols[] = {"x", "y"};
    file_options o;
    file_options_init(&o);
    o.header = 0;
    o.columns = cols;
    o.ncolumns = 2;
    const char *path = puts_("nohdr.csv", "\xEF\xBB\xBF" "1,2\n3,4\n5\n");
    source *s = open_csv(path, &o);
    source_error err;
    const source_table *t = &s->ops->describe(s, &err)->tables[0];
    assert_int_equal(t->ncols, 2);
    assert_string_equal(t->cols[1].name, "y");
    s->ops->close(s);
    rows rs;
    read_all(path, &o, 10, &rs);
    assert_int_equal(rs.n, 3);
    assert_int_equal(rs.r[0].pos, 1);
    assert_val(rs.r[0], 0, "1"); /* the BOM is not data */
    assert_val(rs.r[1], 1, "4");
    expect_problem(&rs.r[2], 3, "line 3: 1 field, expected 2 (the columns given)");
    rows_free(&rs);

    o.ncolumns = 0;
    assert_null(source_files_open("csv", path, "t", &o, &err));
    assert_int_equal(err.code, SRC_E_USAGE);
    assert_non_null(strstr(err.msg, "--columns"));

    /* with a header, --columns renames the fields (and must match their count) */
    file_options_init(&o);
    o.columns = cols;
    o.ncolumns = 2;
    path = puts_("rename.csv", "A,B\n1,2\n");
    s = open_csv(path, &o);
    t = &s->ops->describe(s, &err)->tables[0];
    assert_string_equal(t->cols[0].name, "x");
    s->ops->close(s);
    o.ncolumns = 1;
    assert_null(source_files_open("csv", path, "t", &o, &err));
    assert_non_null(strstr(err.msg, "2 columns in its header but 1 names"));

    /* duplicate header names */
    file_options_init(&o);
    path = puts_("dup.csv", "a,b,a\n");
    assert_null(source_files_open("csv", path, "t", &o, &err));
    assert_int_equal(err.code, SRC_E_USAGE);
    assert_non_null(strstr(err.msg, "'a' appears twice"));

    /* missing file, empty file */
    assert_null(source_files_open("csv", "/nonexistent/missing.csv", "t", &o, &err));
    assert_int_equal(err.code, SRC_E_OPEN);
    assert_non_null(strstr(err.msg, "missing.csv"));
    path = puts_("empty.csv", "");
    assert_null(source_files_open("csv", path, "t", &o, &err));
    assert_int_equal(err.code, SRC_E_FORMAT);
    assert_non_null(strstr(err.msg, "empty"));
}

static void test_malformed_records(void **state)
{
    (void)state;
    const char *path = puts_("bad.csv",
                             "a,b,c\n"                /* 1 */
                             "1,x\"y,z\n"             /* 2: quote in unquoted field */
                             "2,ok,ok\n"              /* 3 */
                             "3,\"q\"tail,z\n"        /* 4: text after closing quote */
                             "4,ok,ok\n"              /* 5 */
                             "5,too,many,fields\n"    /* 6 */
                             "6,few\n"                /* 7 */
                             "7,\"multi\nline\",ok\n" /* 8-9 */
                             "8,\"a\"\"b\"c\",ok\r\n" /* 10: text after quote, after "" */
                             "9,ok,ok\n"              /* 11 */
                             "10,\"open,\n"           /* 12: unterminated, runs to EOF */
                             "11,x,y\n"
                             "12,x,y\n");
    file_options o;
    file_options_init(&o);
    rows rs;
    read_all(path, &o, 3, &rs);
    assert_int_equal(rs.n, 10);
    expect_problem(&rs.r[0], 2,
                   "line 2: quote character in unquoted field 2 (quote the whole field and "
                   "double the quotes inside)");
    assert_string_equal(rs.r[0].raw, "1,x\"y,z");
    assert_val(rs.r[1], 0, "2");
    assert_int_equal(rs.r[1].pos, 3);
    expect_problem(&rs.r[2], 4, "line 4: text after the closing quote of field 2");
    assert_string_equal(rs.r[2].raw, "3,\"q\"tail,z");
    assert_val(rs.r[3], 0, "4");
    expect_problem(&rs.r[4], 6, "line 6: 4 fields, the header has 3");
    assert_string_equal(rs.r[4].raw, "5,too,many,fields");
    expect_problem(&rs.r[5], 7, "line 7: 2 fields, the header has 3");
    assert_int_equal(rs.r[6].pos, 8);
    assert_val(rs.r[6], 1, "multi\nline");
    expect_problem(&rs.r[7], 10, "line 10: text after the closing quote of field 2");
    assert_string_equal(rs.r[7].raw, "8,\"a\"\"b\"c\",ok"); /* without the CRLF */
    assert_int_equal(rs.r[8].pos, 11);
    expect_problem(&rs.r[9], 12, "line 12: unterminated quoted field starting at line 12");
    assert_string_equal(rs.r[9].raw, "10,\"open,\n11,x,y\n12,x,y");
    rows_free(&rs);

    /* an unterminated quote that started on a later line of the record */
    path = puts_("bad3.csv", "a,b\n1,x\n2,\"ok\nstill\"\n3,\"open\nmore\n");
    read_all(path, &o, 3, &rs);
    assert_int_equal(rs.n, 3);
    expect_problem(&rs.r[2], 5, "line 5: unterminated quoted field starting at line 5");
    rows_free(&rs);
    path = puts_("bad4.csv", "a,b\n1,\"x\ny\",\"open\nmore\n");
    read_all(path, &o, 3, &rs);
    assert_int_equal(rs.n, 1);
    expect_problem(&rs.r[0], 2, "line 2: unterminated quoted field starting at line 3");
    rows_free(&rs);

    /* an unterminated quote longer than max_field: within the buffer... */
    o.max_field = 64;
    char *big = malloc(3u << 20);
    int k = snprintf(big, 100, "a,b\n1,ok\n2,\"open ");
    memset(big + k, 'x', 2000);
    big[k + 2000] = '\n';
    path = put("bad5.csv", big, (size_t)k + 2001);
    read_all(path, &o, 3, &rs);
    assert_int_equal(rs.n, 2);
    assert_null_ptr(rs.r[0].problem);
    expect_problem(&rs.r[1], 3, "line 3: unterminated quoted field starting at line 3");
    assert_int_equal(strlen(rs.r[1].raw), FILES_RAW_PREFIX);
    rows_free(&rs);
    /* ...and longer than the buffer: skipped without holding it */
    memset(big + k, 'x', (3u << 20) - (size_t)k);
    path = put("bad6.csv", big, 3u << 20);
    read_all(path, &o, 3, &rs);
    assert_int_equal(rs.n, 2);
    expect_problem(&rs.r[1], 3,
                   "line 3: unterminated quoted field: the rest of the file (more than 64 bytes, "
                   "max_field) is inside quotes");
    rows_free(&rs);
    free(big);
}

/* For every prefix of a tricky text, the scanner either asks for more data
 * or returns exactly the record the whole text gives. */
static void test_scanner_prefixes(void **state)
{
    (void)state;
    const char *texts[] = {
        "a,\"b\"\"c\",\"d\r\ne\"\r\nnext",
        "\"x\"\r\n",
        "1,2,3\r\n",
        ",,\n",
        "\"q\"tail,z\nnext",
        "\r\n",
        "x\"y,\"z\"\n",
        "\"esc\\\"aped\",\\\\x\n",
    };
    file_options o;
    file_options_init(&o);
    for (int e = 0; e < 2; e++) {
        if (e)
            o.escape = '\\';
        csv_dialect d;
        csv_dialect_init(&d, &o);
        for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
            const char *p = texts[t];
            size_t n = strlen(p);
            csv_fields ff = {.grow = 1}, pf = {.grow = 1};
            csv_record full, part;
            assert_int_equal(csv_scan_record(&d, p, n, 0, 1, &ff, &full), CSV_RECORD);
            for (size_t k = 0; k <= n; k++) {
                int st = csv_scan_record(&d, p, k, 0, 1, &pf, &part);
                if (k < full.consumed) {
                    if (st != CSV_NEED_MORE)
                        fail_msg("text %zu escape %d prefix %zu: got %d", t, e, k, st);
                    continue;
                }
                assert_int_equal(st, CSV_RECORD);
                assert_int_equal(part.consumed, full.consumed);
                assert_int_equal(part.len, full.len);
                assert_int_equal(part.nfields, full.nfields);
                assert_int_equal(part.newlines, full.newlines);
                assert_string_equal(part.problem, full.problem);
                for (int f = 0; f < full.nfields; f++) {
                    assert_int_equal(pf.f[f].off, ff.f[f].off);
                    assert_int_equal(pf.f[f].len, ff.f[f].len);
                    assert_int_equal(pf.f[f].quoted, ff.f[f].quoted);
                }
            }
            free(ff.f);
            free(pf.f);
        }
    }
}

static void test_directory(void **state)
{
    (void)state;
    puts_("dir/b.csv", "id,v\n3,c\n");
    puts_("dir/a.csv", "id,v\n1,a\n2,b\n");
    puts_("dir/c.csv", "");            /* empty: no rows */
    puts_("dir/notes.txt", "ignored");
    puts_("dir/d.CSV", "\xEF\xBB\xBFid,v\r\n4,d\r\n");
    char dir[300];
    snprintf(dir, sizeof dir, "%s/dir", tmpdir);
    file_options o;
    file_options_init(&o);
    source *s = open_csv(dir, &o);
    source_range *rg;
    int nr;
    source_error err;
    assert_int_equal(s->ops->split(s, 0, 1, &rg, &nr, &err), 0);
    assert_int_equal(nr, 4); /* one per file, whatever the hint */
    assert_non_null(strstr(rg[0].label, "/a.csv"));
    assert_non_null(strstr(rg[1].label, "/b.csv"));
    assert_non_null(strstr(rg[2].label, "/c.csv"));
    assert_non_null(strstr(rg[3].label, "/d.CSV"));
    for (int i = 0; i < nr; i++)
        assert_int_equal(rg[i].id, i);
    source_ranges_free(rg, nr);
    int want[] = {2, 1, 0, 1};
    for (int i = 0; i < 4; i++) {
        rows rs;
        assert_int_equal(read_range(s, i, INT64_MIN, 10, &rs, &err), 0);
        assert_int_equal(rs.n, want[i]);
        if (i == 3) {
            assert_int_equal(rs.r[0].pos, 2);
            assert_val(rs.r[0], 1, "d");
        }
        rows_free(&rs);
    }
    s->ops->close(s);

    /* a glob */
    char glob[300];
    snprintf(glob, sizeof glob, "%s/dir/[ab].csv", tmpdir);
    s = open_csv(glob, &o);
    assert_int_equal(s->ops->split(s, 0, 1, &rg, &nr, &err), 0);
    assert_int_equal(nr, 2);
    source_ranges_free(rg, nr);
    s->ops->close(s);

    /* a different header names both files */
    puts_("dir/e.csv", "id,w\n5,e\n");
    assert_null(source_files_open("csv", dir, "t", &o, &err));
    assert_int_equal(err.code, SRC_E_USAGE);
    assert_non_null(strstr(err.msg, "/a.csv and "));
    assert_non_null(strstr(err.msg, "/e.csv have different headers (id,v / id,w)"));

    snprintf(dir, sizeof dir, "%s/nothing", tmpdir);
    puts_("nothing/x.txt", "");
    assert_null(source_files_open("csv", dir, "t", &o, &err));
    assert_non_null(strstr(err.msg, "no *.csv files"));
}

static void test_resume(void **state)
{
    (void)state;
    char csv[8192];
    size_t n = (size_t)sprintf(csv, "id,text\n");
    for (int i = 1; i <= 40; i++)
        n += (size_t)sprintf(csv + n, i % 3 ? "%d,\"row\n%d\"\r\n" : "%d,plain %d\n", i, i);
    const char *path = puts_("resume.csv", csv);
    file_options o;
    file_options_init(&o);
    source *s = open_csv(path, &o);
    source_error err;
    rows all;
    assert_int_equal(read_range(s, 0, INT64_MIN, 7, &all, &err), 0);
    assert_int_equal(all.n, 40);
    assert_int_equal(all.nb, 6);
    for (int b = 0; b < all.nb; b++) {
        rows rest;
        assert_int_equal(read_range(s, 0, all.resume[b], 5, &rest, &err), 0);
        int from = all.batch_end[b];
        assert_int_equal(rest.n, all.n - from);
        for (int i = 0; i < rest.n; i++) {
            assert_int_equal(rest.r[i].pos, all.r[from + i].pos);
            assert_string_equal(rest.r[i].vals[1], all.r[from + i].vals[1]);
        }
        rows_free(&rest);
    }
    /* not a line start, past the end, inside the header */
    rows bad;
    assert_int_equal(read_range(s, 0, all.resume[0] - 1, 5, &bad, &err), -1);
    assert_int_equal(err.code, SRC_E_USAGE);
    assert_non_null(strstr(err.msg, "not the start of a line"));
    assert_int_equal(read_range(s, 0, (int64_t)n + 1, 5, &bad, &err), -1);
    assert_non_null(strstr(err.msg, "did the file change"));
    assert_int_equal(read_range(s, 0, 3, 5, &bad, &err), -1);
    rows_free(&all);
    s->ops->close(s);
}

static void test_stdin(void **state)
{
    (void)state;
    const char *path = puts_("stdin.csv", "\xEF\xBB\xBFk,v\n1,one\n2,\"two\nlines\"\n3,three\n");
    int saved = dup(0);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    dup2(fd, 0);
    close(fd);
    file_options o;
    file_options_init(&o);
    source_error err;
    source *s = source_open("csv:-", "t", &o, &err);
    assert_non_null(s);
    const source_table *t = &s->ops->describe(s, &err)->tables[0];
    assert_string_equal(t->cols[0].name, "k");
    source_range *rg;
    int nr;
    assert_int_equal(s->ops->split(s, 0, 8, &rg, &nr, &err), 0);
    assert_int_equal(nr, 1);
    assert_string_equal(rg[0].label, "stdin");
    assert_null(s->ops->open_range(s, &rg[0], AT(17), &err));
    assert_int_equal(err.code, SRC_E_USAGE);
    assert_non_null(strstr(err.msg, "cannot resume reading stdin"));
    source_ranges_free(rg, nr);
    rows rs;
    assert_int_equal(read_range(s, 0, INT64_MIN, 2, &rs, &err), 0);
    assert_int_equal(rs.n, 3);
    assert_int_equal(rs.r[2].pos, 5);
    assert_val(rs.r[1], 1, "two\nlines");
    rows_free(&rs);
    assert_int_equal(read_range(s, 0, INT64_MIN, 2, &rs, &err), -1);
    assert_non_null(strstr(err.msg, "only once"));
    s->ops->close(s);
    dup2(saved, 0);
    close(saved);
}

/* 200k rows through a 100-row batch: the arena keeps its first block and
 * the reader its 1 MiB buffer, whatever the file size. */
static void test_memory_is_flat(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/many.csv", tmpdir);
    FILE *f = fopen(path, "w");
    fprintf(f, "id,name,amount,note\n");
    for (int i = 0; i < 200000; i++)
        fprintf(f, "%d,name %d,%d.%02d,\"a \"\"quoted\"\" note, with comma\"\n", i, i, i, i % 100);
    fclose(f);
    file_options o;
    file_options_init(&o);
    source *s = open_csv(path, &o);
    source_range *rg;
    int nr;
    source_error err;
    assert_int_equal(s->ops->split(s, 0, 1, &rg, &nr, &err), 0);
    files_reader *rd = (files_reader *)s->ops->open_range(s, &rg[0], AT(INT64_MIN), &err);
    row_batch b;
    row_batch_init(&b, 100);
    void *first_block = NULL;
    int64_t rows_read = 0, last_pos = 0;
    int n;
    while ((n = s->ops->read((source_reader *)rd, &b, 100, &err)) > 0) {
        if (!first_block)
            first_block = b.mem.head;
        assert_ptr_equal(b.mem.head, first_block);
        assert_int_equal(rd->in.cap, FILES_BUF_SIZE);
        for (int i = 0; i < n; i++) {
            assert_null(b.rows[i].problem);
            assert_int_equal(b.rows[i].pos, last_pos ? last_pos + 1 : 2);
            last_pos = b.rows[i].pos;
        }
        assert_memory_equal(b.rows[n - 1].vals[3].u.s.p, "a \"quoted\" note, with comma", 27);
        rows_read += n;
    }
    assert_int_equal(n, 0);
    assert_int_equal(rows_read, 200000);
    s->ops->close_range((source_reader *)rd);
    row_batch_release(&b);
    source_ranges_free(rg, nr);
    s->ops->close(s);
}

static void test_default_table_name_and_uri(void **state)
{
    (void)state;
    const char *path = puts_("people.csv", "id\n1\n");
    source_error err;
    source *s = source_open(path, NULL, NULL, &err);
    assert_non_null(s);
    assert_string_equal(s->ops->name, "csv");
    assert_string_equal(s->ops->describe(s, &err)->tables[0].name, "people");
    s->ops->close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting_newlines_crlf_bom),
        cmocka_unit_test(test_batches_resume_points_and_raw),
        cmocka_unit_test(test_long_fields),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_no_header_and_columns),
        cmocka_unit_test(test_malformed_records),
        cmocka_unit_test(test_scanner_prefixes),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_memory_is_flat),
        cmocka_unit_test(test_default_table_name_and_uri),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
