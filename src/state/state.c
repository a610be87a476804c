/* The state store on SQLite. See state.h for the contract and docs/state.md
 * for why these settings survive kill -9 and power loss well enough.
 *
 * One connection per store, guarded by our own mutex: SQLite would serialize
 * calls on a shared connection too, but sqlite3_errmsg() must be read by the
 * same thread right after the failing call, and only our lock guarantees
 * that. Checkpoints are tiny, so contention costs nothing measurable.
 */
#include "state/state.h"

#include "util/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Bump when the tables change shape; an older or newer file is refused
 * for --resume and rebuilt for a fresh run. */
#define STATE_FORMAT_VERSION 3
/* Long enough to ride out a concurrent reader (cqlshift status) holding a
 * lock, short enough that a stuck process is reported rather than hung on. */
#define STATE_BUSY_TIMEOUT_MS 10000

struct state {
    sqlite3 *db;
    char *path;
    int lock_fd; /* holds flock(LOCK_EX) for the life of the store */
    pthread_mutex_t mu;
    sqlite3_stmt *get_stmt;
    sqlite3_stmt *save_stmt;
    sqlite3_stmt *plan_stmt;
    sqlite3_stmt *list_stmt;
};

static const char SCHEMA_SQL[] =
    "CREATE TABLE IF NOT EXISTS meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS ranges ("
    "  table_name TEXT NOT NULL,"
    "  range_id INTEGER NOT NULL,"
    "  lo BLOB,"
    "  hi BLOB,"
    "  label TEXT,"
    "  source_count INTEGER,"
    "  resume_after BLOB,"
    "  rows_read INTEGER NOT NULL DEFAULT 0,"
    "  rows_written INTEGER NOT NULL DEFAULT 0,"
    "  rows_rejected INTEGER NOT NULL DEFAULT 0,"
    "  rows_filtered INTEGER NOT NULL DEFAULT 0,"
    "  done INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (table_name, range_id));";

static const char GET_SQL[] =
    "SELECT resume_after, rows_read, rows_written, rows_rejected, done, rows_filtered"
    " FROM ranges WHERE table_name = ?1 AND range_id = ?2";

/* The plan of a range, saved once at the first split (state_save_ranges). */
static const char PLAN_SQL[] =
    "INSERT INTO ranges (table_name, range_id, lo, hi, label, source_count)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

static const char LIST_SQL[] =
    "SELECT range_id, lo, hi, label, source_count FROM ranges"
    " WHERE table_name = ?1 AND label IS NOT NULL ORDER BY range_id";

/* A single statement is a transaction of its own in autocommit mode, so a
 * checkpoint is either wholly there after a crash or not at all. */
static const char SAVE_SQL[] =
    "INSERT INTO ranges (table_name, range_id, resume_after, rows_read, rows_written,"
    "                    rows_rejected, done, rows_filtered)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT (table_name, range_id) DO UPDATE SET"
    "  resume_after = excluded.resume_after, rows_read = excluded.rows_read,"
    "  rows_written = excluded.rows_written, rows_rejected = excluded.rows_rejected,"
    "  done = excluded.done, rows_filtered = excluded.rows_filtered";

/* Resume points are opaque bytes in the file, as the range bounds are
 * (the connector's encoding: 8 bytes big-endian for rowids and offsets,
 * an encoded key tuple for a database table). */

__attribute__((format(printf, 3, 4))) static int fail(state_error *err, int code,
                                                       const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return -1;
}

static void ok(state_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

/* "state file X: what: SQLite's message" — the caller holds st->mu. */
static int fail_db(state_error *err, const char *path, sqlite3 *db, const char *what)
{
    return fail(err, 1, "state file %s: %s: %s", path, what,
                db ? sqlite3_errmsg(db) : "out of memory");
}

static int exec(sqlite3 *db, const char *path, const char *sql, const char *what,
                state_error *err)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail_db(err, path, db, what);
    return 0;
}

/* The value of meta[key] copied into out (empty if absent). 1 if present,
 * 0 if absent, -1 on error. */
static int meta_get(sqlite3 *db, const char *path, const char *key, char *out, size_t outsz,
                    state_error *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &s, NULL) != SQLITE_OK)
        return fail_db(err, path, db, "reading meta");
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int found = 0;
    out[0] = '\0';
    if (rc == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(s, 0);
        snprintf(out, outsz, "%s", v ? (const char *)v : "");
        found = 1;
    } else if (rc != SQLITE_DONE) {
        fail_db(err, path, db, "reading meta");
        found = -1;
    }
    sqlite3_finalize(s);
    return found;
}

static int meta_set(sqlite3 *db, const char *path, const char *key, const char *value,
                    state_error *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", -1,
                           &s, NULL) != SQLITE_OK)
        return fail_db(err, path, db, "writing meta");
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return fail_db(err, path, db, "writing meta");
    return 0;
}

/* Journal mode and durability. WAL with synchronous=NORMAL loses at most the
 * last checkpoints on power loss, never consistency. Where WAL cannot work
 * (some network filesystems) we fall back to the rollback journal, which
 * needs synchronous=FULL for the same guarantee. */
static int configure(sqlite3 *db, const char *path, state_error *err)
{
    sqlite3_busy_timeout(db, STATE_BUSY_TIMEOUT_MS);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &s, NULL) != SQLITE_OK)
        return fail_db(err, path, db, "setting WAL mode");
    int wal = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *mode = sqlite3_column_text(s, 0);
        wal = mode && strcmp((const char *)mode, "wal") == 0;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return fail_db(err, path, db, "setting WAL mode");
    return exec(db, path, wal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
                "setting synchronous", err);
}

/* 1 if the database has any table at all, or a table named `name` when
 * name is given; 0 if not; -1 on error. */
static int has_table(sqlite3 *db, const char *path, const char *name, state_error *err)
{
    sqlite3_stmt *s = NULL;
    const char *sql = name ? "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1"
                           : "SELECT 1 FROM sqlite_master WHERE type = 'table'";
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return fail_db(err, path, db, "reading the schema");
    if (name)
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_db(err, path, db, "reading the schema");
    return rc == SQLITE_ROW;
}

/* The stored format version: 1 and *version set if this is a cqlshift
 * store, 0 if the file is empty (no tables), -1 with err set if it is some
 * other database (which we must never clear) or on error. */
static int read_version(state *st, int *version, int resume, state_error *err)
{
    int any = has_table(st->db, st->path, NULL, err);
    if (any <= 0)
        return any;
    int meta = has_table(st->db, st->path, "meta", err);
    if (meta < 0)
        return -1;
    char v[32];
    int found = meta ? meta_get(st->db, st->path, "format_version", v, sizeof v, err) : 0;
    if (found < 0)
        return -1;
    if (!found)
        return fail(err, 1,
                    "state file %s is an SQLite database but holds no cqlshift state; %s",
                    st->path,
                    resume ? "check the path, or run without --resume and another state file"
                           : "choose another state file");
    *version = atoi(v);
    return 1;
}

/* Check (resume) or establish (fresh run) the store's identity: format
 * version and job key. */
static int check_identity(state *st, const char *job_key, int resume, state_error *err)
{
    int version = 0;
    if (resume) {
        int found = read_version(st, &version, 1, err);
        if (found < 0)
            return -1;
        if (!found)
            return fail(err, 1, "nothing to resume: state file %s is empty", st->path);
        if (version != STATE_FORMAT_VERSION)
            return fail(err, 1,
                        "state file %s has format version %d, this cqlshift reads version %d; "
                        "start the job over with --restart",
                        st->path, version, STATE_FORMAT_VERSION);
        char key[4096];
        int has_key = meta_get(st->db, st->path, "job_key", key, sizeof key, err);
        if (has_key < 0)
            return -1;
        if (!has_key || strcmp(key, job_key) != 0)
            return fail(err, 2,
                        "state file %s belongs to another job: it holds job \"%s\", this run is "
                        "job \"%s\"",
                        st->path, key, job_key);
        return 0;
    }
    /* A fresh run forgets everything, in one transaction, so a crash here
     * leaves either the old state or the new empty one. */
    if (exec(st->db, st->path, "BEGIN IMMEDIATE", "starting a fresh run", err) < 0)
        return -1;
    int found = read_version(st, &version, 0, err);
    const char *reset = found == 1 && version == STATE_FORMAT_VERSION
                            ? "DELETE FROM ranges; DELETE FROM meta;"
                            : "DROP TABLE IF EXISTS ranges; DROP TABLE IF EXISTS meta;";
    char vbuf[16];
    snprintf(vbuf, sizeof vbuf, "%d", STATE_FORMAT_VERSION);
    if (found < 0 || exec(st->db, st->path, reset, "clearing the previous run", err) < 0 ||
        exec(st->db, st->path, SCHEMA_SQL, "creating tables", err) < 0 ||
        meta_set(st->db, st->path, "format_version", vbuf, err) < 0 ||
        meta_set(st->db, st->path, "job_key", job_key, err) < 0 ||
        meta_set(st->db, st->path, "finished", "0", err) < 0 ||
        exec(st->db, st->path, "COMMIT", "starting a fresh run", err) < 0) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* Two runs checkpointing into one file would each resume from the other's
 * positions, so a run holds flock(LOCK_EX) on "<path>.lock" while the store
 * is open (the kernel drops it when the process dies, even by kill -9).
 * A separate file, because opening and closing another descriptor of the
 * database itself would drop SQLite's own POSIX locks on it. The lock file
 * is left in place: unlinking it would let a third run lock a new inode
 * while a second still holds the old one. */
/* LOCK_EX, retried for up to 0.5 s: another process looking at the store
 * (state_peek's LOCK_SH) holds its lock only for an instant. */
static int lock_retrying(int fd)
{
    for (int i = 0;; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK || i == 50)
            return -1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int take_run_lock(state *st, state_error *err)
{
    size_t n = strlen(st->path) + sizeof ".lock";
    char *lock_path = malloc(n);
    if (!lock_path)
        return fail(err, 1, "state file %s: out of memory", st->path);
    snprintf(lock_path, n, "%s.lock", st->path);
    st->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int ret = 0;
    if (st->lock_fd < 0)
        ret = fail(err, 1, "state file %s: cannot create the lock file %s: %s", st->path,
                   lock_path, strerror(errno));
    else if (lock_retrying(st->lock_fd) != 0)
        ret = errno == EWOULDBLOCK
                  ? fail(err, 1,
                         "state file %s is in use by another cqlshift run (lock %s); wait for "
                         "it to end",
                         st->path, lock_path)
                  : fail(err, 1, "state file %s: cannot lock %s: %s", st->path, lock_path,
                         strerror(errno));
    free(lock_path);
    return ret;
}

state *state_open(const char *path, const char *job_key, int resume, state_error *err)
{
    ok(err);
    if (!path || !*path || !job_key) {
        fail(err, 1, "state file: no path or job key given");
        return NULL;
    }
    struct stat sb;
    if (resume && stat(path, &sb) != 0) {
        if (errno == ENOENT)
            fail(err, 1, "nothing to resume: no state file at %s", path);
        else
            fail(err, 1, "state file %s: %s", path, strerror(errno));
        return NULL;
    }
    state *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        fail(err, 1, "state file %s: out of memory", path);
        return NULL;
    }
    st->lock_fd = -1;
    pthread_mutex_init(&st->mu, NULL);
    /* Our mutex serializes use of the connection, so SQLite's own is not needed. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (resume ? 0 : SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        fail_db(err, path, st->db, "cannot open");
        state_close(st);
        return NULL;
    }
    sqlite3_extended_result_codes(st->db, 1);
    if (take_run_lock(st, err) < 0) {
        state_close(st);
        return NULL;
    }
    if (configure(st->db, path, err) < 0 ||
        check_identity(st, job_key, resume, err) < 0) {
        state_close(st);
        return NULL;
    }
    if (sqlite3_prepare_v2(st->db, GET_SQL, -1, &st->get_stmt, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, SAVE_SQL, -1, &st->save_stmt, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, PLAN_SQL, -1, &st->plan_stmt, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, LIST_SQL, -1, &st->list_stmt, NULL) != SQLITE_OK) {
        fail_db(err, path, st->db, "preparing statements");
        state_close(st);
        return NULL;
    }
    return st;
}

void state_close(state *st)
{
    if (!st)
        return;
    sqlite3_finalize(st->get_stmt);
    sqlite3_finalize(st->save_stmt);
    sqlite3_finalize(st->plan_stmt);
    sqlite3_finalize(st->list_stmt);
    /* The last connection to close checkpoints the WAL into the main file. */
    sqlite3_close(st->db);
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    pthread_mutex_destroy(&st->mu);
    free(st->path);
    free(st);
}

int state_get_range(state *st, const char *table, int range_id, range_state *out,
                    state_error *err)
{
    ok(err);
    src_pos keep = out->resume;
    memset(out, 0, sizeof *out);
    out->resume = keep;
    src_pos_clear(&out->resume);
    if (!table)
        return fail(err, 1, "state file %s: no table name given", st->path);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = st->get_stmt;
    sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, range_id);
    int rc = sqlite3_step(s);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(s, 0) != SQLITE_NULL &&
            src_pos_set(&out->resume, sqlite3_column_blob(s, 0),
                        (size_t)sqlite3_column_bytes(s, 0)))
            ret = fail(err, 1, "out of memory reading a range of %s", table);
        out->rows_read = sqlite3_column_int64(s, 1);
        out->rows_written = sqlite3_column_int64(s, 2);
        out->rows_rejected = sqlite3_column_int64(s, 3);
        out->done = sqlite3_column_int(s, 4);
        out->rows_filtered = sqlite3_column_int64(s, 5);
    } else if (rc != SQLITE_DONE) {
        ret = fail_db(err, st->path, st->db, "reading a range");
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    pthread_mutex_unlock(&st->mu);
    return ret;
}

/* Bind and run the save statement for one range; the caller holds st->mu. */
static int save_locked(state *st, const char *table, int range_id, const range_state *rs,
                       state_error *err)
{
    sqlite3_stmt *s = st->save_stmt;
    sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, range_id);
    if (rs->resume.n == 0)
        sqlite3_bind_null(s, 3);
    else
        sqlite3_bind_blob(s, 3, rs->resume.p, (int)rs->resume.n, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, rs->rows_read);
    sqlite3_bind_int64(s, 5, rs->rows_written);
    sqlite3_bind_int64(s, 6, rs->rows_rejected);
    sqlite3_bind_int(s, 7, rs->done ? 1 : 0);
    sqlite3_bind_int64(s, 8, rs->rows_filtered);
    int ret = 0;
    if (sqlite3_step(s) != SQLITE_DONE) {
        char what[320];
        snprintf(what, sizeof what, "saving range %d of table %s", range_id, table);
        ret = fail_db(err, st->path, st->db, what);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ret;
}

int state_save_range(state *st, const char *table, int range_id, const range_state *rs,
                     state_error *err)
{
    ok(err);
    if (!table || !rs)
        return fail(err, 1, "state file %s: no table name or range state given", st->path);
    pthread_mutex_lock(&st->mu);
    int ret = save_locked(st, table, range_id, rs, err);
    pthread_mutex_unlock(&st->mu);
    return ret;
}

int state_save_range_n(state *st, int n, const char *const *tables, int range_id,
                       const range_state *rs, state_error *err)
{
    ok(err);
    if (n == 1)
        return state_save_range(st, tables[0], range_id, &rs[0], err);
    pthread_mutex_lock(&st->mu);
    int ret = exec(st->db, st->path, "BEGIN IMMEDIATE", "saving progress", err);
    for (int i = 0; i < n && ret == 0; i++)
        ret = save_locked(st, tables[i], range_id, &rs[i], err);
    if (ret == 0)
        ret = exec(st->db, st->path, "COMMIT", "saving progress", err);
    if (ret && !sqlite3_get_autocommit(st->db)) /* never leave it open */
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&st->mu);
    return ret;
}

int64_t state_write_timestamp(state *st, int64_t now_us, state_error *err)
{
    char v[32];
    pthread_mutex_lock(&st->mu);
    int found = meta_get(st->db, st->path, "write_timestamp_us", v, sizeof v, err);
    int64_t ts = 0;
    if (found > 0) {
        ts = strtoll(v, NULL, 10);
    } else if (found == 0) {
        snprintf(v, sizeof v, "%" PRId64, now_us);
        if (meta_set(st->db, st->path, "write_timestamp_us", v, err) == 0)
            ts = now_us;
    }
    pthread_mutex_unlock(&st->mu);
    return ts;
}

int state_set_finished(state *st, state_error *err)
{
    ok(err);
    pthread_mutex_lock(&st->mu);
    int ret = meta_set(st->db, st->path, "finished", "1", err);
    pthread_mutex_unlock(&st->mu);
    return ret;
}

int state_is_finished(state *st)
{
    char v[8];
    pthread_mutex_lock(&st->mu);
    int found = meta_get(st->db, st->path, "finished", v, sizeof v, NULL);
    pthread_mutex_unlock(&st->mu);
    return found == 1 && strcmp(v, "1") == 0;
}

int state_meta_get(state *st, const char *key, char *out, size_t outsz, state_error *err)
{
    ok(err);
    pthread_mutex_lock(&st->mu);
    int found = meta_get(st->db, st->path, key, out, outsz, err);
    pthread_mutex_unlock(&st->mu);
    return found;
}

char *state_meta_dup(state *st, const char *key, state_error *err)
{
    ok(err);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    char *out = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?1", -1, &s, NULL) !=
        SQLITE_OK) {
        fail_db(err, st->path, st->db, "reading meta");
    } else {
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            const unsigned char *v = sqlite3_column_text(s, 0);
            int n = sqlite3_column_bytes(s, 0);
            out = malloc((size_t)n + 1);
            if (out) {
                memcpy(out, v ? (const char *)v : "", (size_t)n);
                out[n] = '\0';
            } else {
                fail(err, 1, "state file %s: out of memory", st->path);
            }
        } else if (rc != SQLITE_DONE) {
            fail_db(err, st->path, st->db, "reading meta");
        }
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return out;
}

int state_meta_set(state *st, const char *key, const char *value, state_error *err)
{
    ok(err);
    pthread_mutex_lock(&st->mu);
    int ret = meta_set(st->db, st->path, key, value, err);
    pthread_mutex_unlock(&st->mu);
    return ret;
}

int state_blob_set(state *st, const char *key, const void *data, size_t n, state_error *err)
{
    ok(err);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    int ret = 0;
    if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                           -1, &s, NULL) != SQLITE_OK) {
        ret = fail_db(err, st->path, st->db, "writing meta");
    } else {
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_blob64(s, 2, n ? data : "", n, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            ret = fail_db(err, st->path, st->db, "writing meta");
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return ret;
}

int state_blob_get(state *st, const char *key, void **data, size_t *n, state_error *err)
{
    ok(err);
    *data = NULL;
    *n = 0;
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    int ret = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?1", -1, &s, NULL) !=
        SQLITE_OK) {
        ret = fail_db(err, st->path, st->db, "reading meta");
    } else {
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            const void *v = sqlite3_column_blob(s, 0);
            size_t len = (size_t)sqlite3_column_bytes(s, 0);
            *data = malloc(len + 1);
            if (!*data) {
                ret = fail(err, 1, "state file %s: out of memory", st->path);
            } else {
                if (len)
                    memcpy(*data, v, len);
                *n = len;
                ret = 1;
            }
        } else if (rc != SQLITE_DONE) {
            ret = fail_db(err, st->path, st->db, "reading meta");
        }
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return ret;
}

int state_transaction(state *st, int commit, state_error *err)
{
    ok(err);
    pthread_mutex_lock(&st->mu);
    int ret = exec(st->db, st->path, commit > 0 ? "COMMIT" : commit < 0 ? "ROLLBACK" : "BEGIN IMMEDIATE",
                   commit > 0 ? "committing the plan" : "starting the plan", err);
    pthread_mutex_unlock(&st->mu);
    return ret;
}

int state_save_ranges(state *st, const char *table, const state_range *r, int n, state_error *err)
{
    ok(err);
    if (!table || (n > 0 && !r))
        return fail(err, 1, "state file %s: no table name or ranges given", st->path);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = st->plan_stmt;
    int ret = 0;
    for (int i = 0; i < n && ret == 0; i++) {
        sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, r[i].id);
        sqlite3_bind_blob(s, 3, r[i].lo, (int)r[i].lo_len, SQLITE_STATIC);
        sqlite3_bind_blob(s, 4, r[i].hi, (int)r[i].hi_len, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, r[i].label ? r[i].label : "", -1, SQLITE_STATIC);
        if (r[i].source_count >= 0)
            sqlite3_bind_int64(s, 6, r[i].source_count);
        else
            sqlite3_bind_null(s, 6);
        if (sqlite3_step(s) != SQLITE_DONE) {
            char what[320];
            snprintf(what, sizeof what, "saving the ranges of table %s", table);
            ret = fail_db(err, st->path, st->db, what);
        }
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    pthread_mutex_unlock(&st->mu);
    return ret;
}

int state_load_ranges(state *st, const char *table,
                      int (*each)(void *ctx, const state_range *r), void *ctx, state_error *err)
{
    ok(err);
    if (!table || !each)
        return fail(err, 1, "state file %s: no table name or callback given", st->path);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = st->list_stmt;
    sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
    int n = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        state_range r = {
            .id = sqlite3_column_int(s, 0),
            .lo = sqlite3_column_blob(s, 1),
            .lo_len = (size_t)sqlite3_column_bytes(s, 1),
            .hi = sqlite3_column_blob(s, 2),
            .hi_len = (size_t)sqlite3_column_bytes(s, 2),
            .label = (const char *)sqlite3_column_text(s, 3),
            .source_count = sqlite3_column_type(s, 4) == SQLITE_NULL ? -1
                                                                     : sqlite3_column_int64(s, 4),
        };
        if (each(ctx, &r) != 0) {
            n = fail(err, 1, "state file %s: out of memory reading the ranges of %s", st->path,
                     table);
            break;
        }
        n++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        n = fail_db(err, st->path, st->db, "reading the ranges");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    pthread_mutex_unlock(&st->mu);
    return n;
}

int state_peek(const char *path, state_info *out, state_error *err)
{
    ok(err);
    memset(out, 0, sizeof *out);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fail_db(err, path, db, "cannot open");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, STATE_BUSY_TIMEOUT_MS);
    char v[32];
    int ret = 0;
    if (has_table(db, path, "meta", err) != 1 ||
        meta_get(db, path, "format_version", v, sizeof v, err) != 1) {
        ret = err && err->code ? -1 : fail(err, 1, "%s holds no cqlshift state", path);
    } else {
        out->format_version = atoi(v);
        meta_get(db, path, "job_key", out->job_key, sizeof out->job_key, NULL);
        meta_get(db, path, "command", out->command, sizeof out->command, NULL);
        out->finished = meta_get(db, path, "finished", v, sizeof v, NULL) == 1 && !strcmp(v, "1");
        out->abandoned = meta_get(db, path, "abandoned", v, sizeof v, NULL) == 1 && !strcmp(v, "1");
    }
    sqlite3_close(db);
    /* A run holds LOCK_EX on the lock file while it runs. */
    size_t n = strlen(path) + sizeof ".lock";
    char *lock_path = malloc(n);
    if (lock_path) {
        snprintf(lock_path, n, "%s.lock", path);
        int fd = open(lock_path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
                out->running = 1;
            close(fd);
        }
        free(lock_path);
    }
    return ret;
}
