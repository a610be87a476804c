/* The MySQL/MariaDB source connector (libmariadb, the text protocol).
 *
 * URI: mysql://[USER@]HOST[:PORT][/DB][?PARAMS] (or mariadb://). PARAMS:
 * ssl-mode=DISABLED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY, ssl-ca=PATH,
 * socket=PATH, lock=none. A password in the URI is refused: it comes from
 * MYSQL_PWD or the [client] group of the option files (~/.my.cnf), which
 * libmariadb reads itself. TLS: without ssl-mode, a server on another host
 * must present a certificate that verifies (VERIFY_IDENTITY) and loopback or
 * a socket goes unencrypted; ssl-mode says otherwise.
 *
 * Connections: a coordinator (schema, split, counts) and, after
 * snapshot_begin, a pool of readers that open_range hands to workers. Every
 * session is pinned to time_zone '+00:00', NAMES utf8mb4 and a plain
 * sql_mode (no ANSI_QUOTES, no PAD_CHAR_TO_FULL_LENGTH), and reads with
 * mysql_use_result: rows stream from the server, memory stays flat.
 *
 * One snapshot for every reader (snapshot_begin): with one reader, the
 * coordinator's own START TRANSACTION WITH CONSISTENT SNAPSHOT is read by
 * that one worker (no lock, no privilege). With several, commits are held
 * for an instant (MariaDB: BACKUP STAGE START + BLOCK_COMMIT; MySQL: FLUSH
 * TABLES WITH READ LOCK; both need RELOAD) while each reader and the
 * coordinator start their snapshot and the binlog position is read;
 * without that privilege the user chooses --workers 1 or lock=none.
 *
 * Ranges: by key (the primary key, else a unique index over NOT NULL
 * columns). Bounds and resume points are key tuples (my_values.c), read
 * as (lo, hi] with row comparisons spelled out for the optimizer. A table
 * without such a key is one range read in the server's order; its rows
 * are numbered (the rowid column) and a resume skips the rows already read.
 *
 * Why the text protocol: on a 1,000,000-row table (int, bigint, varchar,
 * decimal, datetime, double) fetching and decoding took 0.23-0.25 us of
 * client CPU a row, against 0.13-0.16 us with prepared statements and the
 * binary protocol; both are far below what the Cassandra side costs, and
 * the text path needs no per-type buffers (a FLOAT, whose text has only 6
 * digits, is selected as its exact double).
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mysqld_error.h>
#include <errmsg.h>

#include "source/my_int.h"

/* Rows below which a table is one range: splitting costs more than it
 * saves. */
#define MY_SPLIT_MIN_ROWS 1000

struct source_reader {
    my_source *src;
    int table;
    my_conn *conn;          /* from the pool, or own (private) */
    int private_conn;       /* opened for this range (no snapshot_begin) */
    MYSQL_RES *res;
    int done;
    int failed;             /* an error ended the stream */
    int64_t ordinal;        /* keyless tables: rows read so far */
    src_pos key;            /* keyset tables: the last row's key */
    char label[256];
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void) { mysql_library_init(0, NULL, NULL); }

/* ---- small helpers ---------------------------------------------------------- */

int my_append_ident(cs_buf *b, const char *name)
{
    if (cs_buf_append(b, "`", 1))
        return -1;
    for (const char *p = name; *p; p++)
        if ((*p == '`' && cs_buf_append(b, "`", 1)) || cs_buf_append(b, p, 1))
            return -1;
    return cs_buf_append(b, "`", 1);
}

int my_exec(MYSQL *db, const char *sql)
{
    if (mysql_query(db, sql))
        return -1;
    do {
        MYSQL_RES *r = mysql_store_result(db);
        if (r)
            mysql_free_result(r);
        else if (mysql_field_count(db))
            return -1;
    } while (mysql_next_result(db) == 0);
    return mysql_errno(db) ? -1 : 0;
}

void my_note(my_source *s, const char *fmt, ...)
{
    char buf[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!s->notes)
        s->notes = json_array();
    if (s->notes)
        json_array_append_new(s->notes, json_string(buf));
}

static int is_loopback(const char *h)
{
    return !h || !strcmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "::1") ||
           !strcmp(h, "[::1]");
}

/* ---- the URI ---------------------------------------------------------------- */

static void uri_release(my_uri *u)
{
    free(u->user);
    free(u->host);
    free(u->db);
    free(u->socket);
    free(u->ssl_ca);
    memset(u, 0, sizeof *u);
}

/* A percent-decoded copy of p[0..n). */
static char *pct_dup(const char *p, size_t n)
{
    char *o = malloc(n + 1), *w = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%' && i + 2 < n && isxdigit((unsigned char)p[i + 1]) &&
            isxdigit((unsigned char)p[i + 2])) {
            char hx[3] = {p[i + 1], p[i + 2], 0};
            *w++ = (char)strtol(hx, NULL, 16);
            i += 2;
        } else {
            *w++ = p[i];
        }
    }
    *w = 0;
    return o;
}

static int parse_uri(const char *uri, const char *red, my_uri *u, source_error *err)
{
    memset(u, 0, sizeof *u);
    const char *p = strstr(uri, "://");
    MY_ASSERT(p);
    p += 3;
    size_t auth_len = strcspn(p, "/?#");
    const char *auth_end = p + auth_len;
    const char *at = NULL;
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@')
            at = q;
    if (at) {
        if (memchr(p, ':', (size_t)(at - p)))
            return source_fail(err, SRC_E_USAGE,
                               "%s: a password in the URI would show in the process list and "
                               "the shell's history; put it in the environment variable "
                               "MYSQL_PWD or in the [client] section of ~/.my.cnf instead",
                               red);
        if (at > p && !(u->user = pct_dup(p, (size_t)(at - p))))
            goto nomem;
        p = at + 1;
    }
    /* host: [v6] or name, then :port */
    const char *hp = p, *hend = auth_end, *port = NULL;
    if (*hp == '[') {
        const char *rb = memchr(hp, ']', (size_t)(auth_end - hp));
        if (!rb)
            return source_fail(err, SRC_E_USAGE, "%s: an IPv6 address needs its closing ']'", red);
        if (!(u->host = pct_dup(hp + 1, (size_t)(rb - hp - 1))))
            goto nomem;
        if (rb + 1 < auth_end && rb[1] == ':')
            port = rb + 2;
    } else {
        const char *colon = memchr(hp, ':', (size_t)(auth_end - hp));
        if (colon) {
            port = colon + 1;
            hend = colon;
        }
        if (hend > hp && !(u->host = pct_dup(hp, (size_t)(hend - hp))))
            goto nomem;
    }
    if (port) {
        char *e;
        long v = strtol(port, &e, 10);
        if (e == port || e != auth_end || v < 1 || v > 65535)
            return source_fail(err, SRC_E_USAGE, "%s: the port must be a number from 1 to 65535",
                               red);
        u->port = (unsigned)v;
    }
    p = auth_end;
    if (*p == '/') {
        p++;
        size_t n = strcspn(p, "?#");
        if (n && !(u->db = pct_dup(p, n)))
            goto nomem;
        if (u->db && strchr(u->db, '/'))
            return source_fail(err, SRC_E_USAGE, "%s: the path names one database (/DB)", red);
        p += n;
    }
    if (*p == '?') {
        p++;
        while (*p && *p != '#') {
            size_t n = strcspn(p, "&#");
            const char *eq = memchr(p, '=', n);
            if (!eq)
                return source_fail(err, SRC_E_USAGE, "%s: parameter '%.*s' has no value (NAME=VALUE)",
                                   red, (int)n, p);
            char key[32];
            size_t kl = (size_t)(eq - p);
            snprintf(key, sizeof key, "%.*s", (int)(kl < sizeof key ? kl : sizeof key - 1), p);
            for (char *k = key; *k; k++)
                if (*k == '_')
                    *k = '-';
            char *val = pct_dup(eq + 1, n - kl - 1);
            if (!val)
                goto nomem;
            int bad = 0;
            if (!strcasecmp(key, "ssl-mode") || !strcasecmp(key, "sslmode")) {
                if (!strcasecmp(val, "DISABLED"))
                    u->ssl_mode = MY_SSL_DISABLED;
                else if (!strcasecmp(val, "REQUIRED"))
                    u->ssl_mode = MY_SSL_REQUIRED;
                else if (!strcasecmp(val, "VERIFY_CA") || !strcasecmp(val, "VERIFY-CA"))
                    u->ssl_mode = MY_SSL_VERIFY_CA;
                else if (!strcasecmp(val, "VERIFY_IDENTITY") || !strcasecmp(val, "VERIFY-IDENTITY"))
                    u->ssl_mode = MY_SSL_VERIFY_IDENTITY;
                else
                    bad = 1;
            } else if (!strcasecmp(key, "ssl-ca")) {
                free(u->ssl_ca);
                u->ssl_ca = val;
                val = NULL;
            } else if (!strcasecmp(key, "socket")) {
                free(u->socket);
                u->socket = val;
                val = NULL;
            } else if (!strcasecmp(key, "lock")) {
                if (!strcasecmp(val, "none"))
                    u->lock_none = 1;
                else if (!strcasecmp(val, "auto"))
                    u->lock_none = 0;
                else
                    bad = 1;
            } else if (!strcasecmp(key, "password")) {
                free(val);
                return source_fail(err, SRC_E_USAGE,
                                   "%s: a password in the URI would show in the process list and "
                                   "the shell's history; put it in the environment variable "
                                   "MYSQL_PWD or in the [client] section of ~/.my.cnf instead",
                                   red);
            } else {
                free(val);
                return source_fail(err, SRC_E_USAGE,
                                   "%s: unknown parameter '%s' (known: ssl-mode, ssl-ca, socket, "
                                   "lock=none)", red, key);
            }
            if (bad) {
                source_fail(err, SRC_E_USAGE,
                            "%s: %s=%s is not one of %s", red, key, val,
                            !strcasecmp(key, "lock") ? "none, auto"
                                                     : "DISABLED, REQUIRED, VERIFY_CA, "
                                                       "VERIFY_IDENTITY");
                free(val);
                return -1;
            }
            free(val);
            p += n;
            if (*p == '&')
                p++;
        }
    }
    if (!u->host && !u->socket)
        return source_fail(err, SRC_E_USAGE,
                           "%s: no server: name the host (mysql://HOST[:PORT]/DB) or a socket "
                           "(mysql://localhost/DB?socket=PATH)", red);
    return 0;
nomem:
    return source_fail(err, SRC_E_NOMEM, "out of memory");
}

/* ---- connections ------------------------------------------------------------ */

MYSQL *my_connect(my_source *s, const char *db, source_error *err)
{
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        return NULL;
    }
    unsigned timeout = 15;
    my_bool on = 1, off = 0;
    mysql_optionsv(m, MYSQL_READ_DEFAULT_GROUP, "client");
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &off);
    const my_uri *u = &s->uri;
    my_ssl_mode mode = u->ssl_mode;
    if (mode == MY_SSL_DEFAULT)
        mode = u->socket || is_loopback(u->host) ? MY_SSL_DISABLED : MY_SSL_VERIFY_IDENTITY;
    if (mode != MY_SSL_DISABLED) {
        mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
        mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT,
                       mode >= MY_SSL_VERIFY_CA ? &on : &off);
        if (u->ssl_ca)
            mysql_optionsv(m, MYSQL_OPT_SSL_CA, u->ssl_ca);
    }
    const char *host = u->host ? u->host : "localhost";
    if (u->host && !strcmp(u->host, "localhost") && u->port && !u->socket) {
        /* libmariadb takes "localhost" for the Unix socket and ignores the
         * port; a URI that names a port means TCP */
        unsigned proto = MYSQL_PROTOCOL_TCP;
        mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &proto);
    }
    if (!mysql_real_connect(m, host, u->user, NULL, db, u->port ? u->port : 3306, u->socket,
                            CLIENT_MULTI_STATEMENTS)) {
        unsigned e = mysql_errno(m);
        const char *hint = "";
        if (e == ER_ACCESS_DENIED_ERROR || e == ER_DBACCESS_DENIED_ERROR)
            hint = getenv("MYSQL_PWD") ? " (the password comes from MYSQL_PWD)"
                                       : " (give the password in MYSQL_PWD or the [client] "
                                         "section of ~/.my.cnf)";
        else if (strstr(mysql_error(m), "does not support"))
            hint = " (ssl-mode=DISABLED connects without TLS, for a network you trust)";
        else if (e == CR_SSL_CONNECTION_ERROR || strstr(mysql_error(m), "TLS") ||
                 strstr(mysql_error(m), "SSL"))
            hint = mode >= MY_SSL_VERIFY_CA
                       ? " (the server's TLS certificate must verify against the system's CAs "
                         "or ssl-ca=PATH and name the host; ssl-mode=REQUIRED encrypts without "
                         "checking it)"
                       : "";
        else if (e == ER_BAD_DB_ERROR)
            hint = " (check the database name in the URI)";
        source_fail(err, e == ER_BAD_DB_ERROR ? SRC_E_USAGE : SRC_E_OPEN,
                    "cannot connect to %s: %s%s", s->redacted, mysql_error(m), hint);
        mysql_close(m);
        return NULL;
    }
    if (mode != MY_SSL_DISABLED && !mysql_get_ssl_cipher(m)) {
        /* libmariadb 3.3 goes on without TLS when only encryption (no
         * verification) is asked for and the server has none */
        source_fail(err, SRC_E_OPEN,
                    "cannot connect to %s: TLS is required (ssl-mode), but the server does not "
                    "support it (ssl-mode=DISABLED connects without TLS, for a network you trust)",
                    s->redacted);
        mysql_close(m);
        return NULL;
    }
    /* a neutral session: UTC, UTF-8 results, identifiers in backquotes,
     * CHAR without its padding, long pauses between fetches allowed (a
     * worker may wait for Cassandra) */
    if (my_exec(m, "SET time_zone = '+00:00', NAMES utf8mb4, character_set_results = utf8mb4, "
                   "sql_mode = 'NO_ENGINE_SUBSTITUTION', net_write_timeout = 3600, "
                   "net_read_timeout = 3600, wait_timeout = 86400")) {
        source_fail(err, SRC_E_OPEN, "cannot set up the session on %s: %s", s->redacted,
                    mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* The coordinator for one query: waits while a range reads on it (one
 * reader: the coordinator is that reader). */
static MYSQL *coord_take(my_source *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->coord_busy)
        pthread_cond_wait(&s->cv, &s->mu);
    s->coord_busy = 1;
    pthread_mutex_unlock(&s->mu);
    return s->coord;
}

static void coord_give(my_source *s)
{
    pthread_mutex_lock(&s->mu);
    s->coord_busy = 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* One row of one query (a statement whose first row is all we need); the
 * result (to free) in *res. NULL with err if the query failed or returned
 * nothing. */
static MYSQL_ROW query_row(my_source *s, MYSQL *db, const char *sql, MYSQL_RES **res,
                           source_error *err)
{
    *res = NULL;
    if (mysql_query(db, sql) || !(*res = mysql_store_result(db))) {
        source_fail(err, SRC_E_READ, "%s: %s (in: %.200s)", s->redacted, mysql_error(db), sql);
        return NULL;
    }
    MYSQL_ROW r = mysql_fetch_row(*res);
    if (!r)
        source_fail(err, SRC_E_READ, "%s: no answer to: %.200s", s->redacted, sql);
    return r;
}

/* ---- snapshot --------------------------------------------------------------- */

static const char start_snapshot_sql[] =
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ; "
    "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";

/* Read the binlog position that matches the coordinator's snapshot into
 * s->position. MariaDB tells it for the snapshot itself (binlog_snapshot_
 * status, no privilege); MySQL's SHOW MASTER STATUS matches it only under
 * the lock (exact = 0: say so). */
static void read_position(my_source *s, int exact)
{
    json_t *pos = json_object();
    if (!pos)
        return;
    MYSQL *db = s->coord;
    MYSQL_RES *res = NULL;
    MYSQL_ROW r;
    char file[512] = "";
    unsigned long long off = 0;
    char gtid[4096] = "";
    const char *why = NULL;
    if (s->mariadb) {
        if (!mysql_query(db, "SHOW STATUS LIKE 'binlog_snapshot_%'") &&
            (res = mysql_store_result(db))) {
            while ((r = mysql_fetch_row(res)))
                if (r[0] && r[1] && !strcasecmp(r[0], "Binlog_snapshot_file"))
                    snprintf(file, sizeof file, "%s", r[1]);
                else if (r[0] && r[1] && !strcasecmp(r[0], "Binlog_snapshot_position"))
                    off = strtoull(r[1], NULL, 10);
            mysql_free_result(res);
            res = NULL;
        }
        if (file[0]) {
            cs_buf q;
            cs_buf_init(&q, 4096);
            if (!cs_buf_printf(&q, "SELECT BINLOG_GTID_POS('") && !cs_buf_reserve(&q, 2 * strlen(file) + 64)) {
                q.len += mysql_real_escape_string(db, (char *)q.data + q.len, file, strlen(file));
                if (!cs_buf_printf(&q, "', %llu)", off) && !cs_buf_append(&q, "", 1) &&
                    !mysql_query(db, (const char *)q.data) && (res = mysql_store_result(db))) {
                    if ((r = mysql_fetch_row(res)) && r[0])
                        snprintf(gtid, sizeof gtid, "%s", r[0]);
                    mysql_free_result(res);
                    res = NULL;
                }
            }
            cs_buf_release(&q);
        } else {
            why = "binary logging is off on the server (log_bin): there is no position for "
                  "change capture to start from";
        }
    } else {
        if (mysql_query(db, "SHOW MASTER STATUS") &&
            mysql_query(db, "SHOW BINARY LOG STATUS")) {
            why = "cannot read the binlog position (SHOW MASTER STATUS needs the REPLICATION "
                  "CLIENT privilege)";
        } else if ((res = mysql_store_result(db))) {
            if ((r = mysql_fetch_row(res)) && r[0]) {
                unsigned nf = mysql_num_fields(res);
                snprintf(file, sizeof file, "%s", r[0]);
                off = r[1] ? strtoull(r[1], NULL, 10) : 0;
                if (nf >= 5 && r[4])
                    snprintf(gtid, sizeof gtid, "%s", r[4]);
            } else {
                why = "binary logging is off on the server (log_bin): there is no position for "
                      "change capture to start from";
            }
            mysql_free_result(res);
        }
        if (file[0] && !exact)
            why = "read without the global lock: the position is near the snapshot, not exactly "
                  "at it";
    }
    json_object_set_new(pos, "binlog_file", file[0] ? json_string(file) : json_null());
    json_object_set_new(pos, "binlog_pos", file[0] ? json_integer((json_int_t)off) : json_null());
    json_object_set_new(pos, "gtid_set", gtid[0] ? json_string(gtid) : json_null());
    if (why)
        json_object_set_new(pos, "note", json_string(why));
    json_decref(s->position);
    s->position = pos;
}

static void release_readers(my_source *s)
{
    for (int i = 0; i < s->nreaders; i++)
        if (s->readers[i].db && s->readers[i].db != s->coord)
            mysql_close(s->readers[i].db);
    free(s->readers);
    s->readers = NULL;
    s->nreaders = 0;
}

static int my_snapshot_begin(source *base, int readers, source_error *err)
{
    my_source *s = (my_source *)base;
    if (s->snapshot)
        return source_fail(err, SRC_E_USAGE, "%s: the snapshot is already taken", s->redacted);
    if (readers < 1)
        readers = 1;
    s->readers = calloc((size_t)readers, sizeof *s->readers);
    if (!s->readers)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    MYSQL *c = coord_take(s), *lk = NULL;
    int locked = 0, rc = -1;
    if (readers == 1) {
        /* one reader: the coordinator's snapshot is the reader's */
        if (my_exec(c, start_snapshot_sql)) {
            source_fail(err, SRC_E_READ, "cannot start a snapshot on %s: %s", s->redacted,
                        mysql_error(c));
            goto out;
        }
        s->readers[0].db = c;
        s->readers[0].thread_id = mysql_thread_id(c);
        s->nreaders = 1;
        s->shared = 1;
        read_position(s, 1);
        rc = 0;
        goto out;
    }
    for (int i = 0; i < readers; i++) {
        s->readers[i].db = my_connect(s, s->dbs[0], err);
        if (!s->readers[i].db)
            goto out;
        s->readers[i].thread_id = mysql_thread_id(s->readers[i].db);
        s->nreaders = i + 1;
        if (my_exec(s->readers[i].db, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")) {
            source_fail(err, SRC_E_READ, "%s: %s", s->redacted, mysql_error(s->readers[i].db));
            goto out;
        }
    }
    if (!s->uri.lock_none) {
        /* the lock has a session of its own: ending a backup stage commits
         * the session's transaction, which must not be the coordinator's */
        if (!(lk = my_connect(s, NULL, err)))
            goto out;
        /* wait at most a minute for running commits (and, for FTWRL,
         * running statements) */
        my_exec(lk, "SET SESSION lock_wait_timeout = 60");
        const char *lock = s->mariadb ? "BACKUP STAGE START; BACKUP STAGE BLOCK_COMMIT"
                                      : "FLUSH TABLES WITH READ LOCK";
        if (my_exec(lk, lock)) {
            unsigned e = mysql_errno(lk);
            if (s->mariadb)
                my_exec(lk, "BACKUP STAGE END");
            if (e == ER_SPECIFIC_ACCESS_DENIED_ERROR || e == ER_ACCESS_DENIED_ERROR ||
                e == ER_DBACCESS_DENIED_ERROR || e == ER_TABLEACCESS_DENIED_ERROR)
                source_fail(err, SRC_E_USAGE,
                            "%s: %d readers need one common snapshot, which holds commits for "
                            "an instant (%s) and needs the RELOAD privilege, which this user "
                            "lacks (%s). Either run with --workers 1 (one reader, one consistent "
                            "snapshot, no lock), or add --no-lock (or ?lock=none in the URI): each "
                            "reader then takes its own snapshot, so rows changed during the "
                            "copy may be copied as of different moments in different ranges",
                            s->redacted, readers, s->mariadb ? "BACKUP STAGE BLOCK_COMMIT"
                                                             : "FLUSH TABLES WITH READ LOCK",
                            mysql_error(lk));
            else
                source_fail(err, SRC_E_READ, "%s: cannot hold commits for the snapshot (%s): %s",
                            s->redacted, lock, mysql_error(lk));
            goto out;
        }
        locked = 1;
    }
    for (int i = 0; i < readers; i++)
        if (my_exec(s->readers[i].db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")) {
            source_fail(err, SRC_E_READ, "cannot start a snapshot on %s: %s", s->redacted,
                        mysql_error(s->readers[i].db));
            goto out;
        }
    if (my_exec(c, start_snapshot_sql)) {
        source_fail(err, SRC_E_READ, "cannot start a snapshot on %s: %s", s->redacted,
                    mysql_error(c));
        goto out;
    }
    read_position(s, locked);
    rc = 0;
out:
    if (locked && my_exec(lk, s->mariadb ? "BACKUP STAGE END" : "UNLOCK TABLES") && rc == 0) {
        rc = source_fail(err, SRC_E_READ, "%s: cannot release the snapshot lock: %s", s->redacted,
                         mysql_error(lk));
    }
    if (lk)
        mysql_close(lk);   /* also releases the lock if the statement above failed */
    coord_give(s);
    if (rc) {
        release_readers(s);
        s->shared = 0;
        json_decref(s->position);
        s->position = NULL;
    } else {
        s->snapshot = 1;
    }
    return rc;
}

static json_t *my_snapshot_position(source *base, source_error *err)
{
    (void)err;
    my_source *s = (my_source *)base;
    return s->position ? json_deep_copy(s->position) : NULL;
}

/* KILL QUERY id from a connection of its own. */
static void kill_query(my_source *s, unsigned long id)
{
    source_error e;
    MYSQL *k = my_connect(s, NULL, &e);
    if (!k)
        return;
    char sql[64];
    snprintf(sql, sizeof sql, "KILL QUERY %lu", id);
    my_exec(k, sql);
    mysql_close(k);
}

static void my_cancel(source *base)
{
    my_source *s = (my_source *)base;
    unsigned long ids[256];
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nreaders && n < 256; i++)
        if (s->readers[i].busy && !s->readers[i].broken)
            ids[n++] = s->readers[i].thread_id;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < n; i++)
        kill_query(s, ids[i]);
}

/* ---- split and count -------------------------------------------------------- */

static int check_table(my_source *s, int t, source_error *err)
{
    if (!s->described || t < 0 || t >= s->schema.ntables)
        return source_fail(err, SRC_E_USAGE, "unknown table %d (describe first)", t);
    return 0;
}

static void label_range(my_source *s, int t, source_range *r, int n, const char *lo, const char *hi)
{
    const source_table *tb = &s->schema.tables[t];
    const my_table_info *ti = &s->info[t];
    if (!ti->keyset) {
        snprintf(r->label, sizeof r->label, "%s (%s)", tb->name,
                 tb->query ? "one range" : "whole table");
        return;
    }
    const char *k = tb->cols[ti->key_cols[0]].name;
    if (n == 1)
        snprintf(r->label, sizeof r->label, "%s (all rows)", tb->name);
    else if (!lo)
        snprintf(r->label, sizeof r->label, "%s %s <= %.60s", tb->name, k, hi);
    else if (!hi)
        snprintf(r->label, sizeof r->label, "%s %s > %.60s", tb->name, k, lo);
    else
        snprintf(r->label, sizeof r->label, "%s %s > %.60s and <= %.60s", tb->name, k, lo, hi);
}

/* Bounds from min/max of an integer first key column: even division. */
static int split_int(my_source *s, int t, int max_ranges, char (*bounds)[32], int *nb,
                     source_error *err)
{
    const source_table *tb = &s->schema.tables[t];
    const my_table_info *ti = &s->info[t];
    cs_buf q;
    cs_buf_init(&q, 1 << 20);
    const char *k = tb->cols[ti->key_cols[0]].name;
    int rc = -1;
    if (cs_buf_printf(&q, "SELECT MIN(") || my_append_ident(&q, k) || cs_buf_printf(&q, "), MAX(") ||
        my_append_ident(&q, k) || cs_buf_printf(&q, ") FROM %s", ti->qname) ||
        cs_buf_append(&q, "", 1)) {
        cs_buf_release(&q);
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    }
    MYSQL *c = coord_take(s);
    MYSQL_RES *res;
    MYSQL_ROW r = query_row(s, c, (const char *)q.data, &res, err);
    *nb = 0;
    if (r) {
        rc = 0;
        if (r[0] && r[1]) {
            if (ti->uint_first) {
                uint64_t lo = strtoull(r[0], NULL, 10), hi = strtoull(r[1], NULL, 10);
                uint64_t span = hi - lo, step = span / (uint64_t)max_ranges + 1;
                for (int i = 1; i < max_ranges && lo + step * (uint64_t)i - 1 < hi &&
                                step * (uint64_t)i <= span; i++)
                    snprintf(bounds[(*nb)++], 32, "%" PRIu64, lo + step * (uint64_t)i - 1);
            } else {
                int64_t lo = strtoll(r[0], NULL, 10), hi = strtoll(r[1], NULL, 10);
                uint64_t span = (uint64_t)hi - (uint64_t)lo, step = span / (uint64_t)max_ranges + 1;
                for (int i = 1; i < max_ranges && step * (uint64_t)i <= span; i++)
                    snprintf(bounds[(*nb)++], 32, "%" PRId64,
                             (int64_t)((uint64_t)lo + step * (uint64_t)i - 1));
            }
        }
    }
    if (res)
        mysql_free_result(res);
    coord_give(s);
    cs_buf_release(&q);
    return rc;
}

static int64_t my_count_range(source *base, const source_range *r, source_error *err);

/* Walk the key of table t on connection c, in the snapshot, for up to max
 * bounds into out[0..*got), after the start bounds out[0..start) that an
 * earlier walk in the same direction found. Forward: the first bound is the step-th key
 * and (bound i-1, bound i] holds exactly step rows. Backward (desc): step
 * rows lie after the first bound, and (bound i+1, bound i] holds step
 * rows. A walk ends early when too few rows are left. Each query skips
 * step index entries from the last bound, so a walk reads its part of the
 * key once. 0, or -1 with err. */
static int walk_keys(my_source *s, MYSQL *c, int t, int64_t step, int desc, int start, int max,
                     src_pos *out, int *got, source_error *err)
{
    const source_table *tb = &s->schema.tables[t];
    const my_table_info *ti = &s->info[t];
    cs_buf q;
    cs_buf_init(&q, 1 << 24);
    int n = start, failed = 0;
    while (n < max && !failed) {
        cs_buf_reset(&q);
        int bad = cs_buf_printf(&q, "SELECT ");
        for (int k = 0; k < ti->nkey && !bad; k++)
            bad = (k && cs_buf_append(&q, ", ", 2)) ||
                  my_append_ident(&q, tb->cols[ti->key_cols[k]].name);
        bad = bad || cs_buf_printf(&q, " FROM %s", ti->qname);
        if (!bad && n > 0) {
            const char *v[64];
            unsigned long l[64];
            int kn;
            bad = my_key_decode(&out[n - 1], v, l, 64, &kn) || cs_buf_printf(&q, " WHERE ") ||
                  my_key_predicate(c, &q, tb, ti, !desc, v, l, kn);
        }
        bad = bad || cs_buf_printf(&q, " ORDER BY ");
        for (int k = 0; k < ti->nkey && !bad; k++)
            bad = (k && cs_buf_append(&q, ", ", 2)) ||
                  my_append_ident(&q, tb->cols[ti->key_cols[k]].name) ||
                  (desc && cs_buf_printf(&q, " DESC"));
        bad = bad || cs_buf_printf(&q, " LIMIT 1 OFFSET %" PRId64, desc ? step : step - 1) ||
              cs_buf_append(&q, "", 1);
        if (bad) {
            failed = source_fail(err, SRC_E_NOMEM, "out of memory");
            break;
        }
        MYSQL_RES *res = NULL;
        if (mysql_query(c, (const char *)q.data) || !(res = mysql_store_result(c))) {
            failed = source_fail(err, SRC_E_READ, "cannot split %s on %s: %s", tb->name,
                                 s->redacted, mysql_error(c));
            break;
        }
        MYSQL_ROW r = mysql_fetch_row(res);
        unsigned long *len = r ? mysql_fetch_lengths(res) : NULL;
        int more = r != NULL;
        if (more && my_key_encode(&out[n], (const char *const *)r, len, ti->nkey))
            failed = source_fail(err, SRC_E_NOMEM, "out of memory");
        mysql_free_result(res);
        if (failed || !more)
            break;
        n++;
    }
    cs_buf_release(&q);
    *got = n;
    return failed ? -1 : 0;
}

typedef struct walk_job {
    my_source *s;
    MYSQL *c;
    int t, max, got, rc;
    int64_t step;
    src_pos *out;
    source_error err;
} walk_job;

static void *walk_thread(void *arg)
{
    walk_job *j = arg;
    j->rc = walk_keys(j->s, j->c, j->t, j->step, 1, 0, j->max, j->out, &j->got, &j->err);
    return NULL;
}

/* A reader of the snapshot that no range holds yet, marked busy (so that
 * cancel reaches its query), or NULL. */
static my_conn *borrow_reader(my_source *s)
{
    my_conn *got = NULL;
    pthread_mutex_lock(&s->mu);
    /* only readers of the coordinator's own snapshot (not lock=none's) */
    if (s->snapshot && !s->shared && !s->uri.lock_none)
        for (int i = 0; i < s->nreaders && !got; i++)
            if (!s->readers[i].busy && !s->readers[i].broken)
                got = &s->readers[i];
    if (got)
        got->busy = 1;
    pthread_mutex_unlock(&s->mu);
    return got;
}

static void return_reader(my_source *s, my_conn *c, int broken)
{
    pthread_mutex_lock(&s->mu);
    c->busy = 0;
    c->broken |= broken;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* The nb bounds of a split by key walk into bounds[0..max) (ascending):
 * the coordinator walks forward from the start while, when a reader of the
 * snapshot is free, that reader walks back from the end, so the walk takes
 * half the time. Every range holds exactly step rows but range *middle,
 * between the two walks' last keys, whose rows are counted here into
 * *middle_count (-1: left to count_ranges). When the table holds fewer
 * rows than its estimate the walks overlap: the backward one is dropped
 * (the range after the forward walk's last key is then the middle). */
static int walk_both_ends(my_source *s, int t, int64_t step, int max, src_pos *bounds, int *nb,
                          int *middle, int64_t *middle_count, source_error *err)
{
    my_conn *rc2 = max >= 2 ? borrow_reader(s) : NULL;
    int fwd_max = rc2 ? (max + 1) / 2 : max;
    walk_job j = {.s = s, .c = rc2 ? rc2->db : NULL, .t = t, .max = max - fwd_max,
                  .step = step, .out = NULL};
    pthread_t th;
    int started = 0;
    if (rc2) {
        j.out = calloc((size_t)j.max + 1, sizeof *j.out);
        started = j.out && pthread_create(&th, NULL, walk_thread, &j) == 0;
        if (!started) {
            free(j.out);
            j.out = NULL;
            return_reader(s, rc2, 0);
            rc2 = NULL;
            fwd_max = max;
        }
    }
    MYSQL *c = coord_take(s);
    int a = 0;
    int rc = walk_keys(s, c, t, step, 0, 0, fwd_max, bounds, &a, err);
    coord_give(s);
    int back = 0;   /* the backward walk's bounds are kept */
    if (started) {
        pthread_join(th, NULL);
        /* a client error (2000 and up): the connection is gone; a failed
         * backward walk is only given up (the forward one goes on below) */
        return_reader(s, rc2, j.rc && mysql_errno(j.c) >= 2000);
    }
    *nb = a;
    *middle = a;
    *middle_count = -1;
    if (rc == 0 && started && j.rc == 0 && j.got > 0) {
        /* count (last forward key, last backward key]: none when the walks
         * overlap (that key is a row of the snapshot, so a range that
         * reaches it holds at least that row) */
        source_range mr = {.table = t};
        mr.lo = a > 0 ? bounds[a - 1] : (src_pos){0};
        mr.hi = j.out[j.got - 1];
        snprintf(mr.label, sizeof mr.label, "%s (between the key walks)",
                 s->schema.tables[t].name);
        int64_t cnt = my_count_range(&s->base, &mr, err);
        if (cnt < 0) {
            rc = -1;
        } else if (cnt > 0) {
            for (int i = j.got - 1; i >= 0; i--) {
                bounds[(*nb)++] = j.out[i];
                j.out[i] = (src_pos){0};
            }
            *middle_count = cnt;
            back = 1;
        }
    }
    if (rc == 0 && started && !back && a == fwd_max) {
        /* the walks overlapped (or the backward one failed): the forward
         * walk goes on alone, so the ranges stay even */
        c = coord_take(s);
        rc = walk_keys(s, c, t, step, 0, a, max, bounds, nb, err);
        coord_give(s);
        *middle = *nb;
    }
    for (int i = 0; j.out && i < j.max; i++)
        src_pos_free(&j.out[i]);
    free(j.out);
    return rc;
}

static int my_split(source *base, int t, int max_ranges, source_range **out, int *n,
                    source_error *err)
{
    my_source *s = (my_source *)base;
    if (check_table(s, t, err))
        return -1;
    const source_table *tb = &s->schema.tables[t];
    const my_table_info *ti = &s->info[t];
    if (max_ranges < 1)
        max_ranges = 1;
    if (max_ranges > 4096)
        max_ranges = 4096;
    int single = !ti->keyset || max_ranges == 1 ||
                 (tb->row_estimate >= 0 && tb->row_estimate < MY_SPLIT_MIN_ROWS);
    src_pos *bounds = NULL;     /* nb interior bounds, each a key tuple */
    int nb = 0;
    int64_t walked_step = 0;    /* the key walk's rows per range (0: no walk) */
    int middle = -1;            /* the walked range that the walk did not count */
    int64_t middle_count = -1;
    if (!single && ti->int_first) {
        char(*ib)[32] = calloc((size_t)max_ranges, sizeof *ib);
        if (!ib)
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        if (split_int(s, t, max_ranges, ib, &nb, err)) {
            free(ib);
            return -1;
        }
        bounds = calloc((size_t)nb + 1, sizeof *bounds);
        for (int i = 0; bounds && i < nb; i++) {
            const char *v = ib[i];
            unsigned long l = strlen(v);
            if (my_key_encode(&bounds[i], &v, &l, 1)) {
                for (int j = 0; j <= i; j++)
                    src_pos_free(&bounds[j]);
                free(bounds);
                bounds = NULL;
            }
        }
        free(ib);
        if (!bounds)
            return source_fail(err, SRC_E_NOMEM, "out of memory");
    } else if (!single) {
        /* every step-th key in key order, walked in the snapshot */
        int64_t est = tb->row_estimate > 0 ? tb->row_estimate : 0;
        int64_t step = est / max_ranges;
        if (step < 1)
            step = 1;
        walked_step = step;
        bounds = calloc((size_t)max_ranges, sizeof *bounds);
        if (!bounds)
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        if (walk_both_ends(s, t, step, max_ranges - 1, bounds, &nb, &middle, &middle_count, err)) {
            for (int i = 0; i < max_ranges; i++)
                src_pos_free(&bounds[i]);
            free(bounds);
            return -1;
        }
    }
    int nr = nb + 1;
    s->walk_table = -1;
    if (walked_step > 0 && s->snapshot) {
        s->walk_table = t;
        s->walk_ranges = nr;
        s->walk_step = walked_step;
        s->walk_middle = middle;
        s->walk_middle_count = middle_count;
    }
    source_range *r = calloc((size_t)nr, sizeof *r);
    if (!r) {
        for (int i = 0; i < nb; i++)
            src_pos_free(&bounds[i]);
        free(bounds);
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    }
    for (int i = 0; i < nr; i++) {
        r[i].table = t;
        r[i].id = i;
        /* range i: (bound i-1, bound i]; the first is open below, the last
         * above (rows added past the last bound are in the job) */
        if (i > 0)
            r[i].lo = bounds[i - 1], memset(&bounds[i - 1], 0, sizeof bounds[i - 1]);
        if (i < nb && src_pos_set(&r[i].hi, bounds[i].p, bounds[i].n)) {
            source_ranges_free(r, nr);
            for (int j = i; j < nb; j++)
                src_pos_free(&bounds[j]);
            free(bounds);
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        }
        char lo[80] = "", hi[80] = "";
        const char *v[64];
        unsigned long l[64];
        int kn;
        if (i > 0 && !my_key_decode(&r[i].lo, v, l, 64, &kn))
            snprintf(lo, sizeof lo, "%.*s%s", (int)(l[0] > 60 ? 60 : l[0]), v[0], kn > 1 ? ",..." : "");
        if (i < nb && !my_key_decode(&r[i].hi, v, l, 64, &kn))
            snprintf(hi, sizeof hi, "%.*s%s", (int)(l[0] > 60 ? 60 : l[0]), v[0], kn > 1 ? ",..." : "");
        label_range(s, t, &r[i], nr, i > 0 ? lo : NULL, i < nb ? hi : NULL);
    }
    for (int i = 0; i < nb; i++)
        src_pos_free(&bounds[i]);
    free(bounds);
    *out = r;
    *n = nr;
    return 0;
}

/* " WHERE lo-predicate AND hi-predicate" for (after or lo, hi], or
 * nothing for an unbounded range. */
static int range_where(MYSQL *db, cs_buf *q, const source_table *tb, const my_table_info *ti,
                       const src_pos *lo, const src_pos *hi)
{
    const char *v[64];
    unsigned long l[64];
    int kn, any = 0;
    if (lo && lo->n) {
        if (my_key_decode(lo, v, l, ti->nkey < 64 ? ti->nkey : 64, &kn) ||
            cs_buf_printf(q, " WHERE ") || my_key_predicate(db, q, tb, ti, 1, v, l, kn))
            return -1;
        any = 1;
    }
    if (hi && hi->n) {
        if (my_key_decode(hi, v, l, ti->nkey < 64 ? ti->nkey : 64, &kn) ||
            cs_buf_printf(q, any ? " AND " : " WHERE ") ||
            my_key_predicate(db, q, tb, ti, 0, v, l, kn))
            return -1;
    }
    return 0;
}

/* COUNT(*) of range r on connection c. */
static int64_t count_on(my_source *s, MYSQL *c, const source_range *r, source_error *err)
{
    if (check_table(s, r->table, err))
        return -1;
    const source_table *tb = &s->schema.tables[r->table];
    const my_table_info *ti = &s->info[r->table];
    cs_buf q;
    cs_buf_init(&q, 1 << 24);
    int64_t n = -1;
    if (cs_buf_printf(&q, "SELECT COUNT(*) FROM %s", ti->qname) ||
        (ti->keyset && range_where(c, &q, tb, ti, &r->lo, &r->hi)) || cs_buf_append(&q, "", 1)) {
        source_fail(err, SRC_E_USAGE, "%s: the saved range is not one of this table's key "
                    "ranges; start the job over with --restart", r->label);
    } else {
        MYSQL_RES *res;
        MYSQL_ROW row = query_row(s, c, (const char *)q.data, &res, err);
        if (row && row[0])
            n = strtoll(row[0], NULL, 10);
        if (res)
            mysql_free_result(res);
    }
    cs_buf_release(&q);
    return n;
}

static int64_t my_count_range(source *base, const source_range *r, source_error *err)
{
    my_source *s = (my_source *)base;
    MYSQL *c = coord_take(s);
    int64_t n = count_on(s, c, r, err);
    coord_give(s);
    return n;
}

/* Ranges counted by several connections of the snapshot at once. */
typedef struct count_pool {
    my_source *s;
    const source_range *r;
    const int *todo;
    int ntodo;
    int64_t *counts;
    pthread_mutex_t mu;
    int next, failed;
    source_error err;       /* the first failure */
} count_pool;

typedef struct count_worker {
    count_pool *p;
    MYSQL *c;
    my_conn *conn;          /* a borrowed reader, NULL: the coordinator */
    int failed;             /* this connection's last query failed */
} count_worker;

static void *count_loop(void *arg)
{
    count_worker *w = arg;
    count_pool *p = w->p;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int i = p->failed ? p->ntodo : p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->ntodo)
            break;
        source_error e;
        int64_t n = count_on(p->s, w->c, &p->r[p->todo[i]], &e);
        if (n < 0 && w->conn) {
            w->failed = 1;  /* a borrowed reader stops; the coordinator counts its range */
            break;
        }
        if (n < 0) {
            pthread_mutex_lock(&p->mu);
            p->err = e;
            p->failed = 1;
            pthread_mutex_unlock(&p->mu);
            break;
        }
        p->counts[p->todo[i]] = n;
    }
    return NULL;
}

/* The ranges of one table: those the split's key walk delimited hold
 * exactly its step of rows each (counted by the walk, in the snapshot);
 * the one between the walks' last keys (counted by the split, or here),
 * and every range of other splits, is counted: by the coordinator and,
 * at the same time, by the readers of the snapshot that are free (at most
 * 3), each taking the next range to count (the coordinator counts again
 * what a failed reader left). */
static int my_count_ranges(source *base, const source_range *r, int n, int64_t *counts,
                           source_error *err)
{
    my_source *s = (my_source *)base;
    int walked = n > 1 && s->walk_table == r[0].table && s->walk_ranges == n;
    int *todo = malloc((size_t)n * sizeof *todo);
    if (!todo)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    int ntodo = 0;
    for (int i = 0; i < n; i++) {
        MY_ASSERT(r[i].table == r[0].table);
        counts[i] = -1;
        if (walked && r[i].id == i && i != s->walk_middle)
            counts[i] = s->walk_step;
        else if (walked && r[i].id == i && s->walk_middle_count >= 0)
            counts[i] = s->walk_middle_count;
        else
            todo[ntodo++] = i;
    }
    count_pool p = {.s = s, .r = r, .todo = todo, .ntodo = ntodo, .counts = counts};
    pthread_mutex_init(&p.mu, NULL);
    count_worker w[4] = {{.p = &p}};
    pthread_t th[4];
    int nw = 1;
    for (; nw < 4 && nw < ntodo; nw++) {
        my_conn *rc = borrow_reader(s);
        if (!rc)
            break;
        w[nw] = (count_worker){.p = &p, .c = rc->db, .conn = rc};
        if (pthread_create(&th[nw], NULL, count_loop, &w[nw])) {
            return_reader(s, rc, 0);
            break;
        }
    }
    w[0].c = coord_take(s);
    count_loop(&w[0]);
    coord_give(s);
    for (int k = 1; k < nw; k++) {
        pthread_join(th[k], NULL);
        /* a client error (2000 and up): the connection is gone */
        return_reader(s, w[k].conn, w[k].failed && mysql_errno(w[k].c) >= 2000);
    }
    /* the ranges a failed reader left */
    for (int k = 0; k < ntodo && !p.failed; k++)
        if (counts[todo[k]] < 0 && (counts[todo[k]] = my_count_range(base, &r[todo[k]], &p.err)) < 0)
            p.failed = 1;
    pthread_mutex_destroy(&p.mu);
    free(todo);
    if (p.failed) {
        *err = p.err;
        return -1;
    }
    return 0;
}

/* The last range is open above: rows past it are in the job. */
static int64_t my_count_beyond(source *base, const source_range *last, source_error *err)
{
    (void)base;
    (void)last;
    (void)err;
    return 0;
}

/* ---- reading ---------------------------------------------------------------- */

/* A reader whose connection is gone (never handed out again); under the
 * pool's mutex, which take_reader and cancel read it under. */
static void mark_broken(my_source *s, my_conn *c)
{
    pthread_mutex_lock(&s->mu);
    c->broken = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* A free reader of the pool (waits for one), or a private connection with
 * its own snapshot when no snapshot was taken. */
static my_conn *take_reader(my_source *s, source_reader *rd, source_error *err)
{
    if (!s->snapshot) {
        my_conn *c = calloc(1, sizeof *c);
        if (!c) {
            source_fail(err, SRC_E_NOMEM, "out of memory");
            return NULL;
        }
        c->db = my_connect(s, s->dbs[0], err);
        if (!c->db || my_exec(c->db, start_snapshot_sql)) {
            if (c->db) {
                source_fail(err, SRC_E_READ, "cannot start a snapshot on %s: %s", s->redacted,
                            mysql_error(c->db));
                mysql_close(c->db);
            }
            free(c);
            return NULL;
        }
        c->thread_id = mysql_thread_id(c->db);
        c->busy = 1;
        rd->private_conn = 1;
        return c;
    }
    pthread_mutex_lock(&s->mu);
    my_conn *got = NULL;
    for (;;) {
        int alive = 0;
        for (int i = 0; i < s->nreaders && !got; i++) {
            my_conn *c = &s->readers[i];
            if (c->broken)
                continue;
            alive++;
            if (!c->busy && !(s->shared && s->coord_busy))
                got = c;
        }
        if (got || !alive)
            break;
        pthread_cond_wait(&s->cv, &s->mu);
    }
    if (got) {
        got->busy = 1;
        if (s->shared)
            s->coord_busy = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (!got)
        source_fail(err, SRC_E_READ, "%s: every reader's connection to the server was lost, and "
                    "with it the snapshot; run the same command with --resume", s->redacted);
    return got;
}

static void give_reader(my_source *s, source_reader *rd)
{
    my_conn *c = rd->conn;
    if (!c)
        return;
    if (rd->private_conn) {
        mysql_close(c->db);
        free(c);
        rd->conn = NULL;
        return;
    }
    pthread_mutex_lock(&s->mu);
    c->busy = 0;
    if (s->shared)
        s->coord_busy = 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    rd->conn = NULL;
}

static void reader_free(source_reader *rd)
{
    if (!rd)
        return;
    my_source *s = rd->src;
    if (rd->res) {
        if (!rd->done && !rd->failed && rd->conn && !rd->conn->broken) {
            /* closed before the end: stop the server's stream rather than
             * draining the rest of the range */
            kill_query(s, rd->conn->thread_id);
        }
        mysql_free_result(rd->res);
        rd->res = NULL;
        if (rd->conn && mysql_errno(rd->conn->db) &&
            mysql_errno(rd->conn->db) != ER_QUERY_INTERRUPTED)
            mark_broken(s, rd->conn);
    }
    give_reader(s, rd);
    src_pos_free(&rd->key);
    free(rd);
}

static source_reader *my_open_range(source *base, const source_range *r, const src_pos *after,
                                    source_error *err)
{
    my_source *s = (my_source *)base;
    if (check_table(s, r->table, err))
        return NULL;
    const source_table *tb = &s->schema.tables[r->table];
    const my_table_info *ti = &s->info[r->table];
    source_reader *rd = calloc(1, sizeof *rd);
    if (!rd) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        return NULL;
    }
    rd->src = s;
    rd->table = r->table;
    snprintf(rd->label, sizeof rd->label, "%s", r->label);
    int64_t skip = 0;
    if (!ti->keyset) {
        if (src_pos_get_i64(after, 0, &skip) || skip < 0) {
            source_fail(err, SRC_E_USAGE, "%s: the saved resume point is not a row count; start "
                        "the job over with --restart", r->label);
            reader_free(rd);
            return NULL;
        }
        rd->ordinal = skip;
    }
    if (!(rd->conn = take_reader(s, rd, err))) {
        reader_free(rd);
        return NULL;
    }
    MYSQL *db = rd->conn->db;
    cs_buf q;
    cs_buf_init(&q, 1 << 24);
    int bad = cs_buf_printf(&q, "SELECT %s FROM %s", ti->select_list, ti->qname);
    if (!bad && ti->keyset) {
        bad = range_where(db, &q, tb, ti, after && after->n ? after : &r->lo, &r->hi) ||
              cs_buf_printf(&q, " ORDER BY %s", ti->order_by);
    } else if (!bad && ti->order_by) {
        bad = cs_buf_printf(&q, " ORDER BY %s", ti->order_by);
    }
    if (!bad && !ti->keyset && skip > 0)
        bad = cs_buf_printf(&q, " LIMIT %" PRId64 ", 18446744073709551615", skip);
    bad = bad || cs_buf_append(&q, "", 1);
    if (bad) {
        source_fail(err, SRC_E_USAGE, "%s: the saved range or resume point is not one of this "
                    "table's keys; start the job over with --restart", r->label);
        cs_buf_release(&q);
        reader_free(rd);
        return NULL;
    }
    if (mysql_real_query(db, (const char *)q.data, q.len - 1) || !(rd->res = mysql_use_result(db))) {
        unsigned e = mysql_errno(db);
        source_fail(err, SRC_E_READ, "cannot read %s from %s: %s%s", r->label, s->redacted,
                    mysql_error(db),
                    e == CR_SERVER_LOST || e == CR_SERVER_GONE_ERROR || e == ER_CONNECTION_KILLED
                        ? " (the connection was lost, and with it the snapshot; run the same "
                          "command with --resume)"
                        : "");
        if (e == CR_SERVER_LOST || e == CR_SERVER_GONE_ERROR || e == ER_CONNECTION_KILLED)
            mark_broken(s, rd->conn);
        cs_buf_release(&q);
        reader_free(rd);
        return NULL;
    }
    cs_buf_release(&q);
    return rd;
}

static int my_read(source_reader *rd, row_batch *b, int max_rows, source_error *err)
{
    row_batch_clear(b);
    if (rd->done)
        return 0;
    my_source *s = rd->src;
    const source_table *tb = &s->schema.tables[rd->table];
    const my_table_info *ti = &s->info[rd->table];
    const int ncols = tb->ncols, off = tb->uses_rowid ? 1 : 0;
    if (max_rows > b->cap)
        max_rows = b->cap;
    const char *kv[64];
    unsigned long kl[64];
    while (b->n < max_rows) {
        MYSQL_ROW row = mysql_fetch_row(rd->res);
        if (!row) {
            MYSQL *db = rd->conn->db;
            unsigned e = mysql_errno(db);
            if (e) {
                rd->failed = 1;
                if (e != ER_QUERY_INTERRUPTED)
                    mark_broken(s, rd->conn);
                return source_fail(err, SRC_E_READ, "reading %s from %s: %s%s", rd->label,
                                   s->redacted, mysql_error(db),
                                   e == ER_QUERY_INTERRUPTED
                                       ? ""
                                       : " (the connection was lost, and with it the snapshot; "
                                         "run the same command with --resume)");
            }
            rd->done = 1;
            break;
        }
        unsigned long *len = mysql_fetch_lengths(rd->res);
        int64_t pos = ++rd->ordinal;
        src_row *out = row_batch_add(b, pos, ncols);
        if (!out)
            return source_fail(err, SRC_E_NOMEM, "out of memory reading %s", tb->name);
        if (off) {
            out->vals[0].kind = SV_INT;
            out->vals[0].u.i = pos;
        }
        for (int c = off; c < ncols; c++)
            if (my_decode(ti->vk[c], row[c - off], len[c - off], &out->vals[c], &b->mem))
                return source_fail(err, SRC_E_NOMEM, "out of memory reading %s (a %lu-byte value)",
                                   tb->name, len[c - off]);
        if (ti->keyset) {
            for (int k = 0; k < ti->nkey; k++) {
                kv[k] = row[ti->key_cols[k] - off];
                kl[k] = len[ti->key_cols[k] - off];
            }
            if (my_key_encode(&rd->key, kv, kl, ti->nkey))
                return source_fail(err, SRC_E_NOMEM, "out of memory");
        }
    }
    if (b->n > 0) {
        int bad = ti->keyset ? src_pos_set(&b->resume, rd->key.p, rd->key.n)
                             : src_pos_set_i64(&b->resume, rd->ordinal);
        if (bad)
            return source_fail(err, SRC_E_NOMEM, "out of memory");
    }
    return b->n;
}

static void my_close_range(source_reader *rd)
{
    reader_free(rd);
}

/* ---- the rest of the interface ---------------------------------------------- */

static const source_schema *my_describe_op(source *base, source_error *err)
{
    my_source *s = (my_source *)base;
    if (s->described)
        return &s->schema;
    coord_take(s);
    int rc = my_describe(s, err);
    coord_give(s);
    if (rc)
        return NULL;
    s->described = 1;
    return &s->schema;
}

/* Where in query text a MySQL syntax error is: its message quotes the
 * text from there ("... near 'xyz' at line N"; the line counts one more,
 * the query starting on the described statement's second line). -1 when
 * the message does not say. */
static int error_offset(const char *text, const char *msg)
{
    const char *near = strstr(msg, " near '"), *at = near ? strstr(near, "' at line ") : NULL;
    if (!near || !at)
        return -1;
    near += 7;
    while (at && strstr(at + 1, "' at line "))   /* the quote may hold "' at line " */
        at = strstr(at + 1, "' at line ");
    long line = strtol(at + 10, NULL, 10) - 1;
    size_t n = (size_t)(at - near);
    static const char wrap[] = "\n) AS cqlshift_q LIMIT 0";
    for (size_t k = 0; k + sizeof wrap - 1 <= n; k++) /* the wrapper is not the query's */
        if (!strncmp(near + k, wrap, sizeof wrap - 1)) {
            n = k;
            break;
        }
    if (n >= 3 && !strncmp(near + n - 3, "...", 3))
        n -= 3;     /* MariaDB cuts a long quote */
    if (n > 40)
        n = 40;
    const char *p = text;
    for (long l = 1; l < line && p; l++)
        if ((p = strchr(p, '\n')))
            p++;
    if (n == 0) /* near '': the end of the query */
        return (int)strlen(text);
    for (; p && *p; p++)
        if (!strncmp(p, near, n))
            return (int)(p - text);
    return -1;
}

/* A query (add_query): described from the metadata of
 *   SELECT * FROM (query) AS cqlshift_q LIMIT 0
 * (a derived table refuses SELECT ... INTO and duplicate column names),
 * and read as a keyless table whose "name" is that derived table: one
 * range, rows numbered by their ordinal. */
static int my_add_query(source *base, const char *sql, const char *name, int *at,
                        source_error *err)
{
    my_source *s = (my_source *)base;
    *at = -1;
    if (!s->described && !my_describe_op(base, err))
        return -1;
    char *text = source_query_text(sql, 1, at, err);
    if (!text)
        return -1;
    cs_buf q;
    cs_buf_init(&q, (size_t)1 << 26);
    int idx = -1;
    MYSQL_RES *res = NULL;
    MYSQL *c = coord_take(s);
    if (cs_buf_printf(&q, "(\n%s\n) AS cqlshift_q", text) || cs_buf_append(&q, "", 1)) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto out;
    }
    char *from = strdup((const char *)q.data);
    cs_buf_reset(&q);
    if (!from || cs_buf_printf(&q, "SELECT * FROM %s LIMIT 0", from) || cs_buf_append(&q, "", 1)) {
        free(from);
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto out;
    }
    if (mysql_real_query(c, (const char *)q.data, q.len - 1) || !(res = mysql_store_result(c))) {
        *at = error_offset(text, mysql_error(c));
        /* one line, without the wrapper's text */
        char why[400];
        size_t o = 0;
        for (const char *m = mysql_errno(c) ? mysql_error(c) : "it returns no columns";
             *m && o + 1 < sizeof why; m++) {
            if (!strncmp(m, "\n) AS cqlshift_q LIMIT 0", 24)) {
                m += 23;
                continue;
            }
            if (!strncmp(m, "' at line ", 10) && !strchr(m + 1, '\'')) {
                why[o++] = '\'';   /* the line of the statement sent: the place says it */
                break;
            }
            why[o++] = *m == '\n' ? ' ' : *m;
        }
        why[o] = 0;
        source_fail(err, SRC_E_SCHEMA, "%s %s refuses the query: %s",
                    s->mariadb ? "MariaDB" : "MySQL", s->redacted, why);
        free(from);
        goto out;
    }
    unsigned nf = mysql_num_fields(res);
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    int t = s->schema.ntables;
    source_table *nt = realloc(s->schema.tables, (size_t)(t + 1) * sizeof *nt);
    if (nt)
        s->schema.tables = nt;
    my_table_info *ni = nt ? realloc(s->info, (size_t)(t + 1) * sizeof *ni) : NULL;
    if (!ni) {
        free(from);
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto out;
    }
    s->info = ni;
    source_table *tb = &s->schema.tables[t];
    my_table_info *ti = &s->info[t];
    memset(tb, 0, sizeof *tb);
    memset(ti, 0, sizeof *ti);
    s->schema.ntables++;    /* freed with the schema from here on */
    ti->qname = from;
    tb->row_estimate = -1;
    tb->bytes_estimate = -1;
    tb->name = strdup(name);
    tb->query = strdup(text);
    ti->select_list = NULL;
    tb->cols = calloc(nf ? nf : 1, sizeof *tb->cols);
    ti->vk = calloc(nf ? nf : 1, sizeof *ti->vk);
    if (!tb->name || !tb->query || !tb->cols || !ti->vk) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto out;
    }
    /* the columns by name (a derived table's are unique), a FLOAT as its
     * exact double as for a table (the text protocol prints 6 digits) */
    cs_buf_reset(&q);
    for (unsigned i = 0; i < nf; i++) {
        source_column *col = &tb->cols[i];
        tb->ncols = (int)i + 1;
        if (!(col->name = strdup(f[i].name)) || my_map_field(&f[i], col, &ti->vk[i]) ||
            (i && cs_buf_append(&q, ", ", 2)) ||
            (ti->vk[i] == MYV_FLOAT && cs_buf_append(&q, "(", 1)) ||
            my_append_ident(&q, f[i].name) ||
            (ti->vk[i] == MYV_FLOAT && cs_buf_append(&q, " * 1e0)", 7))) {
            source_fail(err, SRC_E_NOMEM, "out of memory");
            goto out;
        }
    }
    if (cs_buf_append(&q, "", 1) || !(ti->select_list = strdup((const char *)q.data))) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto out;
    }
    idx = t;
out:
    if (res)
        mysql_free_result(res);
    coord_give(s);
    cs_buf_release(&q);
    free(text);
    return idx;
}

static json_t *my_fingerprint(source *base, source_error *err)
{
    my_source *s = (my_source *)base;
    json_t *j = json_pack("[{s:s, s:s}]", "path", s->redacted, "server", s->server);
    if (!j)
        source_fail(err, SRC_E_NOMEM, "out of memory");
    return j;
}

static json_t *my_notes(source *base)
{
    my_source *s = (my_source *)base;
    return s->notes ? json_deep_copy(s->notes) : NULL;
}

static void my_close(source *base)
{
    my_source *s = (my_source *)base;
    if (!s)
        return;
    release_readers(s);
    if (s->coord)
        mysql_close(s->coord);
    my_info_free(s->info, s->schema.ntables);
    source_schema_free(&s->schema);
    for (int i = 0; i < s->ndbs; i++)
        free(s->dbs[i]);
    free(s->dbs);
    json_decref(s->notes);
    json_decref(s->position);
    uri_release(&s->uri);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

/* ---- query (assess) ---- */

#define MY_QUERY_MAX_COLS 256

/* One statement on the coordinator, its rows streamed (mysql_use_result).
 * A row callback that stops the query leaves the rest to be drained. */
static int my_query(source *base, const char *sql, source_row_fn row, void *ctx,
                    source_error *err)
{
    my_source *s = (my_source *)base;
    MYSQL *c = coord_take(s);
    int rc = 0;
    MYSQL_RES *res = NULL;
    if (mysql_real_query(c, sql, strlen(sql)) || !(res = mysql_use_result(c))) {
        rc = source_fail(err, SRC_E_READ, "query on %s failed: %s (in: %.300s)", s->redacted,
                         mysql_error(c), sql);
        goto out;
    }
    unsigned n = mysql_num_fields(res);
    if (n > MY_QUERY_MAX_COLS) {
        rc = source_fail(err, SRC_E_USAGE, "query on %s: %u result columns (at most %d)",
                         s->redacted, n, MY_QUERY_MAX_COLS);
        goto drain;
    }
    const char *vals[MY_QUERY_MAX_COLS];
    size_t lens[MY_QUERY_MAX_COLS];
    MYSQL_ROW r;
    while ((r = mysql_fetch_row(res)) != NULL) {
        unsigned long *l = mysql_fetch_lengths(res);
        for (unsigned k = 0; k < n; k++) {
            vals[k] = r[k];
            lens[k] = r[k] ? l[k] : 0;
        }
        if ((rc = row(ctx, (int)n, vals, lens)) != 0)
            goto drain;
    }
    if (mysql_errno(c))
        rc = source_fail(err, SRC_E_READ, "query on %s failed: %s (in: %.300s)", s->redacted,
                         mysql_error(c), sql);
    goto out;
drain:
    while (mysql_fetch_row(res))
        ;
out:
    if (res)
        mysql_free_result(res);
    coord_give(s);
    return rc;
}

static const source_ops my_ops = {
    .name = "mysql",
    .describe = my_describe_op,
    .split = my_split,
    .open_range = my_open_range,
    .read = my_read,
    .close_range = my_close_range,
    .close = my_close,
    .count_range = my_count_range,
    .count_ranges = my_count_ranges,
    .count_beyond = my_count_beyond,
    .fingerprint = my_fingerprint,
    .snapshot_begin = my_snapshot_begin,
    .snapshot_position = my_snapshot_position,
    .cancel = my_cancel,
    .notes = my_notes,
    .add_query = my_add_query,
    .query = my_query,
};

/* The databases to read: the comma-separated list, else the URI's. */
static int set_databases(my_source *s, const char *databases, source_error *err)
{
    if (!databases || !*databases) {
        if (!s->uri.db)
            return source_fail(err, SRC_E_USAGE,
                               "%s names no database: add it to the URI (mysql://HOST/DB) or "
                               "list the databases with --databases", s->redacted);
        s->dbs = calloc(1, sizeof *s->dbs);
        if (!s->dbs || !(s->dbs[0] = strdup(s->uri.db)))
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        s->ndbs = 1;
        return 0;
    }
    int cap = 1;
    for (const char *p = databases; *p; p++)
        cap += *p == ',';
    s->dbs = calloc((size_t)cap, sizeof *s->dbs);
    if (!s->dbs)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    for (const char *p = databases; *p;) {
        size_t n = strcspn(p, ",");
        while (n && (*p == ' ')) p++, n--;
        size_t m = n;
        while (m && p[m - 1] == ' ') m--;
        if (m) {
            int dup = 0;
            for (int i = 0; i < s->ndbs; i++)
                dup |= strlen(s->dbs[i]) == m && !strncmp(s->dbs[i], p, m);
            if (!dup && !(s->dbs[s->ndbs++] = strndup(p, m)))
                return source_fail(err, SRC_E_NOMEM, "out of memory");
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (!s->ndbs)
        return source_fail(err, SRC_E_USAGE, "--databases lists no database");
    return 0;
}

source *source_mysql_open(const char *uri, const char *databases, source_error *err)
{
    pthread_once(&lib_once, lib_init);
    my_source *s = calloc(1, sizeof *s);
    if (s)
        s->walk_table = -1;
    if (!s) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        return NULL;
    }
    s->base.ops = &my_ops;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    source_uri_redact(uri, s->redacted, sizeof s->redacted);
    if (parse_uri(uri, s->redacted, &s->uri, err) || set_databases(s, databases, err))
        goto fail;
    /* the URI's own database is checked by the server at connect (a
     * clear "Unknown database"); a --databases list is checked by describe */
    if (!(s->coord = my_connect(s, databases && *databases ? NULL : s->uri.db, err)))
        goto fail;
    if (s->uri.lock_none)
        my_note(s, "lock=none: with several workers each reader takes its own snapshot, so rows "
                   "changed during the copy may be copied as of different moments in different "
                   "ranges (--workers 1 reads one snapshot without any lock)");
    const char *info = mysql_get_server_info(s->coord);
    s->mariadb = info && strstr(info, "MariaDB") != NULL;
    MYSQL_RES *res;
    source_error e2;
    MYSQL_ROW r = query_row(s, s->coord,
                            s->mariadb ? "SELECT @@hostname, @@port, @@server_id"
                                       : "SELECT @@hostname, @@port, @@server_uuid", &res, &e2);
    if (r)
        snprintf(s->server, sizeof s->server, "%s %s:%s %s %s", s->mariadb ? "MariaDB" : "MySQL",
                 r[0] ? r[0] : "?", r[1] ? r[1] : "?", s->mariadb ? "server_id" : "server_uuid",
                 r[2] ? r[2] : "?");
    else
        snprintf(s->server, sizeof s->server, "%s", info ? info : "?");
    if (res)
        mysql_free_result(res);
    return &s->base;
fail:
    my_close(&s->base);
    return NULL;
}
