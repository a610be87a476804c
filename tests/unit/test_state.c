/* Unit tests of the state store: fresh runs, resume, refusal of another
 * job's state, concurrent checkpoints, and survival of kill -9. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state/state.h"

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int setup(void **ts)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cqlshift-state-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/ks.cqlshift-state.db", f->dir);
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

static state *open_ok(const char *path, const char *key, int resume)
{
    state_error err;
    state *st = state_open(path, key, resume, &err);
    if (!st)
        fail_msg("state_open(%s, resume=%d): %s", path, resume, err.msg);
    assert_int_equal(err.code, 0);
    return st;
}

/* A range's state with its resume point as an int64 (8 bytes big-endian
 * in the store, as the SQLite and file connectors keep theirs; INT64_MIN:
 * none). */
typedef struct trs {
    int64_t resume_after, rows_read, rows_written, rows_rejected;
    int done;
} trs;

static range_state to_rs(trs t)
{
    range_state rs = {.rows_read = t.rows_read, .rows_written = t.rows_written,
                      .rows_rejected = t.rows_rejected, .done = t.done};
    if (t.resume_after != INT64_MIN)
        assert_int_equal(src_pos_set_i64(&rs.resume, t.resume_after), 0);
    return rs;
}

static trs from_rs(const range_state *rs)
{
    trs t = {0, rs->rows_read, rs->rows_written, rs->rows_rejected, rs->done};
    assert_int_equal(src_pos_get_i64(&rs->resume, INT64_MIN, &t.resume_after), 0);
    return t;
}

static void save(state *st, const char *table, int range, int64_t after, int64_t read,
                 int64_t written, int64_t rejected, int done)
{
    state_error err;
    range_state rs = to_rs((trs){after, read, written, rejected, done});
    if (state_save_range(st, table, range, &rs, &err) != 0)
        fail_msg("save %s/%d: %s", table, range, err.msg);
    src_pos_free(&rs.resume);
}

static trs get(state *st, const char *table, int range)
{
    state_error err;
    range_state rs = {0};
    if (state_get_range(st, table, range, &rs, &err) != 0)
        fail_msg("get %s/%d: %s", table, range, err.msg);
    trs t = from_rs(&rs);
    src_pos_free(&rs.resume);
    return t;
}

static void test_fresh_open(void **ts)
{
    fixture *f = *ts;
    state *st = open_ok(f->path, "job-a", 0);
    trs rs = get(st, "Album", 0);
    assert_true(rs.resume_after == INT64_MIN);
    assert_int_equal(rs.rows_read, 0);
    assert_int_equal(rs.rows_written, 0);
    assert_int_equal(rs.rows_rejected, 0);
    assert_int_equal(rs.done, 0);
    assert_int_equal(state_is_finished(st), 0);
    state_close(st);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
}

static void test_save_get_and_update(void **ts)
{
    fixture *f = *ts;
    state *st = open_ok(f->path, "job-a", 0);
    save(st, "Album", 3, 41, 42, 40, 2, 0);
    save(st, "Album", 4, INT64_MAX, 1, 1, 0, 1);
    save(st, "Track", 3, INT64_MIN + 1, 7, 7, 0, 0);
    trs rs = get(st, "Album", 3);
    assert_int_equal(rs.resume_after, 41);
    assert_int_equal(rs.rows_read, 42);
    assert_int_equal(rs.rows_written, 40);
    assert_int_equal(rs.rows_rejected, 2);
    assert_int_equal(rs.done, 0);
    /* An upsert replaces the earlier checkpoint of the same range. */
    save(st, "Album", 3, 99, 100, 97, 3, 1);
    rs = get(st, "Album", 3);
    assert_int_equal(rs.resume_after, 99);
    assert_int_equal(rs.rows_read, 100);
    assert_int_equal(rs.done, 1);
    assert_true(get(st, "Album", 4).resume_after == INT64_MAX);
    assert_true(get(st, "Track", 3).resume_after == INT64_MIN + 1);
    /* Table names are exact: another case is another table. */
    assert_true(get(st, "album", 3).resume_after == INT64_MIN);
    state_close(st);
}

static void test_resume_sees_saved_values(void **ts)
{
    fixture *f = *ts;
    state *st = open_ok(f->path, "sqlite:a.db -> cassandra://h/ks [Album,Track]", 0);
    save(st, "Album", 0, 500, 501, 499, 2, 0);
    save(st, "Track", 1, 10, 10, 10, 0, 1);
    state_close(st);

    st = open_ok(f->path, "sqlite:a.db -> cassandra://h/ks [Album,Track]", 1);
    trs rs = get(st, "Album", 0);
    assert_int_equal(rs.resume_after, 500);
    assert_int_equal(rs.rows_read, 501);
    assert_int_equal(rs.rows_written, 499);
    assert_int_equal(rs.rows_rejected, 2);
    assert_int_equal(get(st, "Track", 1).done, 1);
    assert_int_equal(state_is_finished(st), 0);
    state_error err;
    assert_int_equal(state_set_finished(st, &err), 0);
    assert_int_equal(state_is_finished(st), 1);
    state_close(st);

    st = open_ok(f->path, "sqlite:a.db -> cassandra://h/ks [Album,Track]", 1);
    assert_int_equal(state_is_finished(st), 1);
    state_close(st);
}

static void test_resume_other_job_refused(void **ts)
{
    fixture *f = *ts;
    state *st = open_ok(f->path, "job-a", 0);
    save(st, "Album", 0, 5, 5, 5, 0, 0);
    state_close(st);

    state_error err;
    assert_null(state_open(f->path, "job-b", 1, &err));
    assert_int_equal(err.code, 2);
    assert_non_null(strstr(err.msg, "job-a"));
    assert_non_null(strstr(err.msg, "job-b"));
    assert_non_null(strstr(err.msg, f->path));
    assert_non_null(strstr(err.msg, "belongs to another job"));

    /* The refusal changed nothing: the right job still resumes. */
    st = open_ok(f->path, "job-a", 1);
    assert_int_equal(get(st, "Album", 0).resume_after, 5);
    state_close(st);
}

static void test_fresh_run_clears(void **ts)
{
    fixture *f = *ts;
    state *st = open_ok(f->path, "job-a", 0);
    save(st, "Album", 0, 5, 5, 5, 0, 1);
    state_error err;
    assert_int_equal(state_set_finished(st, &err), 0);
    state_close(st);

    /* A fresh run, even of another job, starts from nothing. */
    st = open_ok(f->path, "job-b", 0);
    assert_true(get(st, "Album", 0).resume_after == INT64_MIN);
    assert_int_equal(state_is_finished(st), 0);
    state_close(st);
    st = open_ok(f->path, "job-b", 1);
    assert_true(get(st, "Album", 0).resume_after == INT64_MIN);
    state_close(st);
}

static void test_nothing_to_resume(void **ts)
{
    fixture *f = *ts;
    state_error err;
    assert_null(state_open(f->path, "job-a", 1, &err));
    assert_int_equal(err.code, 1);
    char want[256];
    snprintf(want, sizeof want, "nothing to resume: no state file at %s", f->path);
    assert_string_equal(err.msg, want);
    /* Asking to resume must not create the file. */
    struct stat sb;
    assert_int_not_equal(stat(f->path, &sb), 0);
}

static void test_foreign_files_refused(void **ts)
{
    fixture *f = *ts;
    /* Not a database at all: SQLite's message and the path. */
    FILE *fp = fopen(f->path, "w");
    fputs("this is not a database, it is a text file of some length........\n", fp);
    fclose(fp);
    state_error err;
    assert_null(state_open(f->path, "job-a", 0, &err));
    assert_int_equal(err.code, 1);
    assert_non_null(strstr(err.msg, f->path));
    assert_non_null(strstr(err.msg, "not a database"));
    unlink(f->path);

    /* Someone's database given by mistake: never cleared. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE ranges (x); INSERT INTO ranges VALUES (1);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_null(state_open(f->path, "job-a", 0, &err));
    assert_non_null(strstr(err.msg, "holds no cqlshift state"));
    assert_null(state_open(f->path, "job-a", 1, &err));
    assert_non_null(strstr(err.msg, "holds no cqlshift state"));
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM ranges", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 1);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void test_other_format_version(void **ts)
{
    fixture *f = *ts;
    state_close(open_ok(f->path, "job-a", 0));
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "UPDATE meta SET value = '99' WHERE key = 'format_version'", NULL, NULL,
                     NULL),
        SQLITE_OK);
    sqlite3_close(db);
    state_error err;
    assert_null(state_open(f->path, "job-a", 1, &err));
    assert_non_null(strstr(err.msg, "format version 99"));
    /* A fresh run rebuilds it. */
    state *st = open_ok(f->path, "job-a", 0);
    save(st, "A", 1, 1, 1, 1, 0, 0);
    state_close(st);
}

typedef struct worker_arg {
    state *st;
    int id;
    int failures;
} worker_arg;

enum { THREADS = 4, RANGES = 50, ROUNDS = 3 };

static void *worker(void *p)
{
    worker_arg *a = p;
    char table[32];
    snprintf(table, sizeof table, "t%d", a->id);
    for (int round = 1; round <= ROUNDS; round++)
        for (int r = 0; r < RANGES; r++) {
            /* Every thread also writes a shared table, on its own ranges. */
            trs t = {round * 1000 + r, round, round, 0, round == ROUNDS};
            range_state rs = to_rs(t);
            state_error err;
            if (state_save_range(a->st, table, r, &rs, &err) != 0 ||
                state_save_range(a->st, "shared", a->id * RANGES + r, &rs, &err) != 0)
                a->failures++;
            range_state back = {0};
            if (state_get_range(a->st, table, r, &back, &err) != 0 ||
                from_rs(&back).resume_after != t.resume_after)
                a->failures++;
            src_pos_free(&rs.resume);
            src_pos_free(&back.resume);
        }
    return NULL;
}

static void test_concurrent_saves(void **ts)
{
    fixture *f = *ts;
    state *st = open_ok(f->path, "job-a", 0);
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){st, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    state_close(st);
    st = open_ok(f->path, "job-a", 1);
    for (int i = 0; i < THREADS; i++) {
        char table[32];
        snprintf(table, sizeof table, "t%d", i);
        for (int r = 0; r < RANGES; r++) {
            trs rs = get(st, table, r);
            assert_int_equal(rs.resume_after, ROUNDS * 1000 + r);
            assert_int_equal(rs.done, 1);
            assert_int_equal(get(st, "shared", i * RANGES + r).resume_after, ROUNDS * 1000 + r);
        }
    }
    state_close(st);
}

/* The child: checkpoint forever, reporting each committed value on the pipe
 * only after state_save_range returned. It is killed by the parent. */
static void crash_child(const char *path, int wfd)
{
    state_error err;
    state *st = state_open(path, "job-crash", 1, &err);
    if (!st)
        _exit(3);
    for (int64_t i = 1;; i++) {
        /* Counters always reconcile and resume_after follows rows_read, so
         * a torn checkpoint would show. */
        range_state rs = to_rs((trs){i * 10, i * 10, i * 10 - i % 7, i % 7, 0});
        if (state_save_range(st, "Track", (int)(i % 8), &rs, &err) != 0)
            _exit(4);
        src_pos_free(&rs.resume);
        if (write(wfd, &i, sizeof i) != (ssize_t)sizeof i)
            _exit(5);
    }
}

static void test_kill_9_keeps_store_consistent(void **ts)
{
    fixture *f = *ts;
    state_close(open_ok(f->path, "job-crash", 0));
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        crash_child(f->path, fds[1]);
    }
    close(fds[1]);
    int64_t last = 0, v;
    /* Let it run a few hundred checkpoints, then kill it without warning. */
    while (last < 300 && read(fds[0], &v, sizeof v) == (ssize_t)sizeof v)
        last = v;
    assert_int_equal(kill(pid, SIGKILL), 0);
    while (read(fds[0], &v, sizeof v) == (ssize_t)sizeof v)
        last = v;
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_true(last >= 300);

    /* The WAL is still there, as after a real crash; reopening recovers. */
    state *st = open_ok(f->path, "job-crash", 1);
    for (int r = 0; r < 8; r++) {
        trs rs = get(st, "Track", r);
        assert_true(rs.resume_after > 0);
        assert_int_equal(rs.resume_after, rs.rows_read);
        assert_int_equal(rs.rows_read, rs.rows_written + rs.rows_rejected);
        assert_int_equal(rs.rows_read % 10, 0);
        assert_int_equal(rs.rows_read / 10 % 8, r);
    }
    /* The last checkpoint reported committed is there (or a later one). */
    trs rs = get(st, "Track", (int)(last % 8));
    assert_true(rs.rows_read >= last * 10);
    state_close(st);

    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void test_one_run_at_a_time(void **ts)
{
    fixture *f = *ts;
    state *st = open_ok(f->path, "job-a", 0);
    save(st, "A", 0, 1, 1, 1, 0, 0);
    state_error err;
    assert_null(state_open(f->path, "job-a", 1, &err));
    assert_int_equal(err.code, 1);
    assert_non_null(strstr(err.msg, "in use by another cqlshift run"));
    assert_null(state_open(f->path, "job-b", 0, &err));
    /* The refused fresh run cleared nothing, and the store still works. */
    assert_int_equal(get(st, "A", 0).resume_after, 1);
    save(st, "A", 0, 2, 2, 2, 0, 0);
    state_close(st);
    st = open_ok(f->path, "job-a", 1);
    assert_int_equal(get(st, "A", 0).resume_after, 2);
    state_close(st);
}

static void test_errors_name_the_file(void **ts)
{
    fixture *f = *ts;
    char path[256];
    snprintf(path, sizeof path, "%s/no/such/dir/s.db", f->dir);
    state_error err;
    assert_null(state_open(path, "job-a", 0, &err));
    assert_int_equal(err.code, 1);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "unable to open"));
}

/* One write timestamp per job: kept by a resume, new for a fresh run. */
static void test_write_timestamp_survives_resume(void **ts)
{
    fixture *f = *ts;
    state_error err;
    state *st = open_ok(f->path, "job", 0);
    assert_int_equal(state_write_timestamp(st, 1700000000000001, &err), 1700000000000001);
    assert_int_equal(state_write_timestamp(st, 1800000000000000, &err), 1700000000000001);
    state_close(st);
    st = open_ok(f->path, "job", 1);
    assert_int_equal(state_write_timestamp(st, 1900000000000000, &err), 1700000000000001);
    state_close(st);
    st = open_ok(f->path, "job", 0);
    assert_int_equal(state_write_timestamp(st, 1900000000000000, &err), 1900000000000000);
    state_close(st);
}

typedef struct got_ranges {
    int n;
    int ids[8];
    int64_t counts[8];
    char labels[8][32];
    unsigned char lo[8][16];
    size_t lo_len[8];
} got_ranges;

static int keep_range(void *ctx, const state_range *r)
{
    got_ranges *g = ctx;
    if (g->n == 8)
        return -1;
    g->ids[g->n] = r->id;
    g->counts[g->n] = r->source_count;
    snprintf(g->labels[g->n], sizeof g->labels[g->n], "%s", r->label);
    g->lo_len[g->n] = r->lo_len;
    memcpy(g->lo[g->n], r->lo, r->lo_len < 16 ? r->lo_len : 16);
    g->n++;
    return 0;
}

/* The plan is kept across a resume, as opaque bytes, whatever the ranges'
 * progress; a second save of a range is refused; a fresh run clears it. */
static void test_ranges_planned_once(void **ts)
{
    fixture *f = *ts;
    state *st = open_ok(f->path, "job-plan", 0);
    state_error err;
    got_ranges g = {0};
    assert_int_equal(state_load_ranges(st, "Album", keep_range, &g, &err), 0);
    const unsigned char key_a[] = {0x00, 0x01, 0xff, 0x00, 'k'}; /* composite, with NULs */
    const unsigned char key_b[] = {0x7f};
    state_range r[2] = {
        {.id = 0, .lo = key_a, .lo_len = sizeof key_a, .hi = key_b, .hi_len = 1,
         .label = "Album first half", .source_count = 17},
        {.id = 1, .lo = key_b, .lo_len = 1, .hi = NULL, .hi_len = 0, .label = "Album rest",
         .source_count = -1},
    };
    assert_int_equal(state_transaction(st, 0, &err), 0);
    assert_int_equal(state_save_ranges(st, "Album", r, 2, &err), 0);
    assert_int_equal(state_transaction(st, 1, &err), 0);
    assert_int_not_equal(state_save_ranges(st, "Album", r, 1, &err), 0);
    /* progress of a planned range leaves its plan alone */
    save(st, "Album", 0, 5, 5, 5, 0, 0);
    trs rs = get(st, "Album", 1);
    assert_true(rs.resume_after == INT64_MIN);
    assert_int_equal(state_meta_set(st, "command", "cqlshift migrate x y", &err), 0);
    state_close(st);

    st = open_ok(f->path, "job-plan", 1);
    assert_int_equal(state_load_ranges(st, "Album", keep_range, &g, &err), 2);
    assert_int_equal(g.ids[0], 0);
    assert_int_equal(g.ids[1], 1);
    assert_int_equal(g.counts[0], 17);
    assert_int_equal(g.counts[1], -1);
    assert_string_equal(g.labels[0], "Album first half");
    assert_int_equal(g.lo_len[0], sizeof key_a);
    assert_memory_equal(g.lo[0], key_a, sizeof key_a);
    assert_int_equal(get(st, "Album", 0).resume_after, 5);
    char cmd[64];
    assert_int_equal(state_meta_get(st, "command", cmd, sizeof cmd, &err), 1);
    assert_string_equal(cmd, "cqlshift migrate x y");
    assert_int_equal(state_meta_get(st, "absent", cmd, sizeof cmd, &err), 0);
    state_close(st);

    state_info info;
    assert_int_equal(state_peek(f->path, &info, &err), 0);
    assert_string_equal(info.job_key, "job-plan");
    assert_string_equal(info.command, "cqlshift migrate x y");
    assert_int_equal(info.finished, 0);
    assert_int_equal(info.running, 0);
    st = open_ok(f->path, "job-plan", 1);
    assert_int_equal(state_peek(f->path, &info, &err), 0);
    assert_int_equal(info.running, 1); /* this process holds the run lock */
    state_close(st);

    st = open_ok(f->path, "job-plan", 0);
    memset(&g, 0, sizeof g);
    assert_int_equal(state_load_ranges(st, "Album", keep_range, &g, &err), 0);
    state_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_get_and_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_sees_saved_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_other_job_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_run_clears, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_to_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_files_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_format_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_saves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_9_keeps_store_consistent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_run_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_timestamp_survives_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranges_planned_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
