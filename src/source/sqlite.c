/* The SQLite source connector.
 *
 * Layout: one read-only connection for the schema and range bounds, and a
 * private connection per open range (a sqlite3 handle is never shared
 * between threads; the loader reads ranges in parallel).
 *
 * Ranges of rowid tables are rowid intervals (lo, hi]; the first starts at
 * INT64_MIN (every rowid up to its bound included) and the last ends at the
 * largest rowid when the table was split: the job copies the rows that
 * existed when it was planned (the ranges are kept in the state, so a resume
 * reads the same ones), and rows inserted later above that rowid are counted
 * as outside the job (count_beyond). A row's position and the
 * resume point are its rowid.
 * WITHOUT ROWID tables have no integer handle: they are one range read in
 * primary key order, the position is the row's ordinal (1-based) in that
 * order and the resume point the number of rows already read (OFFSET).
 *
 * Consistency (docs/model.md, "SQLite source"): the source's own connection
 * holds a read transaction from open to close. In rollback-journal mode that
 * shared lock keeps every writer from committing, so all ranges see the
 * database as it was when the source was opened. In WAL mode writers go on;
 * each range is still read inside one read transaction (one snapshot), but
 * two ranges may see different commits: Debian's SQLite has no
 * sqlite3_snapshot_open to share one snapshot between connections. For an
 * exact copy of a WAL database that is being written, stop the writers or
 * copy the file first (sqlite3 DB ".backup copy.db", or VACUUM INTO).
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "source/source.h"

/* Per-table facts the readers need beyond the public schema. */
typedef struct sqlite_table_info {
    int without_rowid;
    char *select_sql;       /* the range query */
    const char *rowid;      /* the name that reads the rowid ("rowid", "_rowid_", "oid"), or NULL */
    int is_query;           /* add_query: select_sql is the query, read whole (without_rowid
                             * is set too: rows are numbered by their ordinal) */
} sqlite_table_info;

typedef struct sqlite_source {
    source base;
    char *path;
    sqlite3 *db;
    int described;
    source_schema schema;
    sqlite_table_info *info;
} sqlite_source;

struct source_reader {
    sqlite_source *src;
    int table;
    sqlite3 *db;
    sqlite3_stmt *st;
    int without_rowid;
    int64_t ordinal;        /* WITHOUT ROWID: rows read so far (the resume point) */
    int done;
};

/* Readers wait this long for a lock held by a committing writer. */
#define SQLITE_BUSY_MS 60000

/* "name" with embedded double quotes doubled: an SQLite identifier. */
static int append_ident(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t need = *len + 2 * strlen(s) + 3;
    if (need > *cap) {
        size_t ncap = *cap ? *cap : 256;
        while (ncap < need)
            ncap *= 2;
        char *n = realloc(*buf, ncap);
        if (!n)
            return -1;
        *buf = n;
        *cap = ncap;
    }
    char *p = *buf + *len;
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"')
            *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    *p = 0;
    *len = (size_t)(p - *buf);
    return 0;
}

static int append_str(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t ncap = *cap ? *cap : 256;
        while (ncap < *len + n + 1)
            ncap *= 2;
        char *p = realloc(*buf, ncap);
        if (!p)
            return -1;
        *buf = p;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
    return 0;
}

static int open_db(const char *path, sqlite3 **out, source_error *err)
{
    struct stat stb;
    if (stat(path, &stb) != 0)
        return source_fail(err, SRC_E_OPEN, "cannot open SQLite database %s: %s", path,
                           errno == ENOENT ? "no such file" : strerror(errno));
    if (S_ISDIR(stb.st_mode))
        return source_fail(err, SRC_E_OPEN, "cannot open SQLite database %s: it is a directory",
                           path);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        source_fail(err, SRC_E_OPEN, "cannot open SQLite database %s: %s", path,
                    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, SQLITE_BUSY_MS);
    /* Opening is lazy: the header is read by the first statement, so probe
     * now to tell "not a database" from later read errors. */
    rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        if (rc == SQLITE_NOTADB)
            source_fail(err, SRC_E_OPEN,
                        "cannot open SQLite database %s: the file is not an SQLite database "
                        "(wrong path, or encrypted/compressed?)",
                        path);
        else
            source_fail(err, SRC_E_OPEN, "cannot open SQLite database %s: %s", path,
                        sqlite3_errmsg(db));
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

static void free_info(sqlite_source *s)
{
    if (s->info)
        for (int t = 0; t < s->schema.ntables; t++)
            free(s->info[t].select_sql);
    free(s->info);
    s->info = NULL;
}

/* A name for the rowid that no column hides ("rowid", "_rowid_", "oid"
 * all name the rowid unless a column has that name). NULL if all three are
 * taken (then the table cannot be read by rowid). */
static const char *rowid_name(const source_column *cols, int ncols)
{
    static const char *const names[] = {"rowid", "_rowid_", "oid"};
    for (int i = 0; i < 3; i++) {
        int taken = 0;
        for (int c = 0; c < ncols && !taken; c++)
            taken = !strcasecmp(cols[c].name, names[i]);
        if (!taken)
            return names[i];
    }
    return NULL;
}

/* Estimated rows: sqlite_stat1 (ANALYZE) when it knows the table; else an
 * exact COUNT(*) when the rowid span is small enough to count quickly, else
 * the span (an upper bound). */
#define COUNT_LIMIT_SPAN 20000000

static int64_t estimate_rows(sqlite_source *s, const char *tname, const char *qname,
                             const char *rid, int has_stat1)
{
    sqlite3_stmt *st = NULL;
    int64_t est = -1;
    char sql[1024];
    if (has_stat1 &&
        sqlite3_prepare_v2(s->db, "SELECT stat FROM sqlite_stat1 WHERE tbl = ?1 LIMIT 1", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, tname, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            est = strtoll((const char *)sqlite3_column_text(st, 0), NULL, 10);
        sqlite3_finalize(st);
        if (est >= 0)
            return est;
    }
    if (rid && strlen(qname) < 900) {
        snprintf(sql, sizeof sql, "SELECT min(%s), max(%s) FROM %s", rid, rid, qname);
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
                uint64_t span = (uint64_t)sqlite3_column_int64(st, 1) -
                                (uint64_t)sqlite3_column_int64(st, 0);
                if (span >= COUNT_LIMIT_SPAN)
                    est = span >= INT64_MAX ? INT64_MAX : (int64_t)span + 1;
            }
            sqlite3_finalize(st);
            if (est >= 0)
                return est;
        }
    }
    if (strlen(qname) < 900) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", qname);
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                est = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    return est;
}

/* ---- foreign keys, indexes, size (for assess and plan) ---------------------- */

/* The column of tb named `name` (exactly, else ignoring ASCII case as SQLite
 * does), or -1. */
static int column_named(const source_table *tb, const char *name)
{
    if (!name)
        return -1;
    for (int c = 0; c < tb->ncols; c++)
        if (!strcmp(tb->cols[c].name, name))
            return c;
    for (int c = 0; c < tb->ncols; c++)
        if (!strcasecmp(tb->cols[c].name, name))
            return c;
    return -1;
}

static void fkey_release(source_fkey *fk)
{
    free(fk->name);
    free(fk->cols);
    free(fk->ref_table);
    for (int c = 0; fk->ref_cols && c < fk->ncols; c++)
        free(fk->ref_cols[c]);
    free(fk->ref_cols);
    memset(fk, 0, sizeof *fk);
}

/* One foreign key (PRAGMA foreign_key_list's `id`) of table `name` into fk.
 * 1 if SQLite accepted it but it cannot be made out (a column that is not
 * the table's, or no column list and a parent whose primary key does not
 * match: SQLite only refuses such a key when it is used), 0 done, -1 out of
 * memory. */
static int read_one_fkey(sqlite3_stmt *cols, sqlite3_stmt *pk, const char *name,
                         int id, const char *parent, source_table *tb, source_fkey *fk)
{
    memset(fk, 0, sizeof *fk);
    fk->ref_index = -1;
    if (!(fk->name = strdup("")) || !(fk->ref_table = strdup(parent)))
        return -1;
    sqlite3_reset(cols);
    sqlite3_bind_text(cols, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(cols, 2, id);
    int cap = 0, implicit = 0, unusable = 0;
    while (sqlite3_step(cols) == SQLITE_ROW) {
        if (fk->ncols == cap) {
            int ncap = cap ? cap * 2 : 4;
            int *nc = realloc(fk->cols, (size_t)ncap * sizeof *nc);
            if (nc)
                fk->cols = nc;
            char **nr = realloc(fk->ref_cols, (size_t)ncap * sizeof *nr);
            if (nr)
                fk->ref_cols = nr;
            if (!nc || !nr)
                return -1;
            cap = ncap;
        }
        const char *from = (const char *)sqlite3_column_text(cols, 0);
        const char *to = (const char *)sqlite3_column_text(cols, 1);
        fk->cols[fk->ncols] = column_named(tb, from);
        fk->ref_cols[fk->ncols] = NULL;
        fk->ncols++;
        unusable |= fk->cols[fk->ncols - 1] < 0;
        if (!to)
            implicit = 1;
        else if (!(fk->ref_cols[fk->ncols - 1] = strdup(to)))
            return -1;
    }
    if (fk->ncols == 0)
        return 1;
    if (implicit) {
        /* REFERENCES parent without columns: the parent's primary key */
        sqlite3_reset(pk);
        sqlite3_bind_text(pk, 1, parent, -1, SQLITE_STATIC);
        int k = 0;
        while (sqlite3_step(pk) == SQLITE_ROW) {
            if (k < fk->ncols && !fk->ref_cols[k]) {
                const char *pn = (const char *)sqlite3_column_text(pk, 0);
                if (!(fk->ref_cols[k] = strdup(pn ? pn : "")))
                    return -1;
            }
            k++;
        }
        unusable |= k != fk->ncols;
    }
    return unusable;
}

/* Foreign keys of table `name` into tb->fkeys, in declaration order
 * (PRAGMA foreign_key_list numbers them newest first). ref_table and
 * ref_cols are as the constraint spells them: resolve_fkeys matches them to
 * the schema once every table is described. Constraints have no names in
 * SQLite's catalog: name is "". */
static int read_fkeys(sqlite_source *s, const char *name, source_table *tb, source_error *err)
{
    sqlite3_stmt *ids = NULL, *cols = NULL, *pk = NULL;
    int rc = -1, step;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, \"table\" FROM pragma_foreign_key_list(?1) WHERE seq = 0 "
                           "ORDER BY id DESC",
                           -1, &ids, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "SELECT \"from\", \"to\" FROM pragma_foreign_key_list(?1) WHERE id = ?2 "
                           "ORDER BY seq",
                           -1, &cols, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk", -1,
                           &pk, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(ids, 1, name, -1, SQLITE_STATIC);
    int cap = 0;
    while ((step = sqlite3_step(ids)) == SQLITE_ROW) {
        if (tb->nfkeys == cap) {
            int ncap = cap ? cap * 2 : 4;
            source_fkey *n = realloc(tb->fkeys, (size_t)ncap * sizeof *n);
            if (!n)
                goto nomem;
            tb->fkeys = n;
            cap = ncap;
        }
        const char *parent = (const char *)sqlite3_column_text(ids, 1);
        source_fkey *fk = &tb->fkeys[tb->nfkeys++];
        int r = read_one_fkey(cols, pk, name, sqlite3_column_int(ids, 0), parent ? parent : "",
                              tb, fk);
        if (r < 0)
            goto nomem;
        if (r > 0) {
            fkey_release(fk);
            tb->nfkeys--;
        }
    }
    if (step != SQLITE_DONE)
        goto fail;
    rc = 0;
    goto out;
fail:
    source_fail(err, SRC_E_SCHEMA, "cannot read the foreign keys of table %s in %s: %s", name,
                s->path, sqlite3_errmsg(s->db));
    goto out;
nomem:
    source_fail(err, SRC_E_NOMEM, "out of memory reading the schema of %s", s->path);
out:
    sqlite3_finalize(ids);
    sqlite3_finalize(cols);
    sqlite3_finalize(pk);
    return rc;
}

/* "partial index (WHERE cond)" from an index's CREATE statement: the text
 * after its last WHERE keyword, or "partial index" if it cannot be found. */
static char *partial_note(const char *sql)
{
    const char *w = NULL;
    for (const char *p = sql; p && *p; p++)
        if (!strncasecmp(p, "where", 5) && (p == sql || p[-1] == ' ' || p[-1] == '\n' ||
                                            p[-1] == '\t' || p[-1] == ')') &&
            (p[5] == ' ' || p[5] == '\n' || p[5] == '\t' || p[5] == '('))
            w = p + 5;
    if (!w)
        return strdup("partial index");
    while (*w == ' ' || *w == '\n' || *w == '\t')
        w++;
    size_t n = strlen(w);
    while (n > 0 && (w[n - 1] == ' ' || w[n - 1] == '\n' || w[n - 1] == ';'))
        n--;
    if (n > 300)
        n = 300;
    char *out = malloc(n + 32);
    if (out)
        snprintf(out, n + 32, "partial index (WHERE %.*s)", (int)n, w);
    return out;
}

/* Secondary indexes of table `name` into tb->indexes, by name: every index
 * but the primary key's own (UNIQUE constraints are unique indexes). */
static int read_indexes(sqlite_source *s, const char *name, source_table *tb, source_error *err)
{
    sqlite3_stmt *list = NULL, *info = NULL;
    int rc = -1, step;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT l.name, l.\"unique\", l.partial, m.sql FROM "
                           "pragma_index_list(?1) AS l LEFT JOIN sqlite_schema AS m ON "
                           "m.type = 'index' AND m.name = l.name WHERE l.origin <> 'pk' "
                           "ORDER BY l.name",
                           -1, &list, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "SELECT cid, name FROM pragma_index_info(?1) ORDER BY seqno", -1,
                           &info, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(list, 1, name, -1, SQLITE_STATIC);
    int cap = 0;
    while ((step = sqlite3_step(list)) == SQLITE_ROW) {
        if (tb->nindexes == cap) {
            int ncap = cap ? cap * 2 : 4;
            source_index *n = realloc(tb->indexes, (size_t)ncap * sizeof *n);
            if (!n)
                goto nomem;
            tb->indexes = n;
            cap = ncap;
        }
        source_index *ix = &tb->indexes[tb->nindexes++];
        memset(ix, 0, sizeof *ix);
        const char *iname = (const char *)sqlite3_column_text(list, 0);
        if (!(ix->name = strdup(iname ? iname : "")))
            goto nomem;
        ix->unique = sqlite3_column_int(list, 1);
        int partial = sqlite3_column_int(list, 2), expr = 0;
        sqlite3_reset(info);
        sqlite3_bind_text(info, 1, ix->name, -1, SQLITE_STATIC);
        int icap = 0;
        while ((step = sqlite3_step(info)) == SQLITE_ROW) {
            if (ix->ncols == icap) {
                int ncap = icap ? icap * 2 : 4;
                int *n = realloc(ix->cols, (size_t)ncap * sizeof *n);
                if (!n)
                    goto nomem;
                ix->cols = n;
                icap = ncap;
            }
            /* cid -2: an expression; -1: the rowid (an INTEGER PRIMARY
             * KEY column is named) */
            int cid = sqlite3_column_int(info, 0);
            int c = cid == -2 ? -1 : column_named(tb, (const char *)sqlite3_column_text(info, 1));
            if (cid == -1 && c < 0)
                for (int k = 0; k < tb->ncols && c < 0; k++)
                    if (tb->npk == 1 && tb->cols[k].pk_pos == 1)
                        c = k;
            expr |= cid == -2;
            ix->cols[ix->ncols++] = c;
        }
        if (step != SQLITE_DONE)
            goto fail;
        if (partial) {
            const char *sql = (const char *)sqlite3_column_text(list, 3);
            if (!(ix->note = partial_note(sql)))
                goto nomem;
        }
        if (expr) {
            const char *e = "expression index";
            char *n = NULL;
            if (ix->note) {
                size_t l = strlen(ix->note) + strlen(e) + 3;
                if ((n = malloc(l)))
                    snprintf(n, l, "%s; %s", e, ix->note);
            } else {
                n = strdup(e);
            }
            if (!n)
                goto nomem;
            free(ix->note);
            ix->note = n;
        }
    }
    if (step != SQLITE_DONE)
        goto fail;
    rc = 0;
    goto out;
fail:
    source_fail(err, SRC_E_SCHEMA, "cannot read the indexes of table %s in %s: %s", name, s->path,
                sqlite3_errmsg(s->db));
    goto out;
nomem:
    source_fail(err, SRC_E_NOMEM, "out of memory reading the schema of %s", s->path);
out:
    sqlite3_finalize(list);
    sqlite3_finalize(info);
    return rc;
}

/* dbstat walks every page of the table it measures: above this file size
 * describe would read the whole database, so the size stays unknown. */
#define DBSTAT_MAX_FILE ((int64_t)1 << 30)

/* Bytes of table `name`'s b-tree (its pages, overflow included; not its
 * indexes) from the dbstat virtual table, or -1 when SQLite was built
 * without it or the file is too large to walk cheaply. */
static int64_t table_bytes(sqlite_source *s, const char *name)
{
    struct stat stb;
    if (stat(s->path, &stb) != 0 || stb.st_size > DBSTAT_MAX_FILE)
        return -1;
    sqlite3_stmt *st = NULL;
    int64_t bytes = -1;
    /* aggregate=1 (3.31+) sums inside dbstat; else one row per page */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT pgsize FROM dbstat WHERE name = ?1 AND aggregate = 1", -1, &st,
                           NULL) != SQLITE_OK &&
        sqlite3_prepare_v2(s->db, "SELECT sum(pgsize) FROM dbstat WHERE name = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        bytes = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return bytes;
}

/* Once every table is described: each foreign key's parent as the schema
 * names it (SQLite matches names ignoring ASCII case) with its index, and
 * the referenced columns as the parent spells them. A parent that is not
 * in the schema (missing, virtual) keeps the constraint's spelling and -1. */
static int resolve_fkeys(source_schema *sch, source_error *err, const char *path)
{
    for (int t = 0; t < sch->ntables; t++)
        for (int k = 0; k < sch->tables[t].nfkeys; k++) {
            source_fkey *fk = &sch->tables[t].fkeys[k];
            fk->ref_index = -1;
            for (int p = 0; p < sch->ntables && fk->ref_index < 0; p++)
                if (!strcmp(sch->tables[p].name, fk->ref_table))
                    fk->ref_index = p;
            for (int p = 0; p < sch->ntables && fk->ref_index < 0; p++)
                if (!strcasecmp(sch->tables[p].name, fk->ref_table))
                    fk->ref_index = p;
            if (fk->ref_index < 0)
                continue;
            const source_table *pt = &sch->tables[fk->ref_index];
            char *n = strdup(pt->name);
            if (!n)
                return source_fail(err, SRC_E_NOMEM, "out of memory reading the schema of %s",
                                   path);
            free(fk->ref_table);
            fk->ref_table = n;
            for (int c = 0; c < fk->ncols; c++) {
                int pc = column_named(pt, fk->ref_cols[c]);
                if (pc < 0 || !strcmp(pt->cols[pc].name, fk->ref_cols[c]))
                    continue;
                if (!(n = strdup(pt->cols[pc].name)))
                    return source_fail(err, SRC_E_NOMEM,
                                       "out of memory reading the schema of %s", path);
                free(fk->ref_cols[c]);
                fk->ref_cols[c] = n;
            }
        }
    return 0;
}

/* Columns of one table into tb (rowid column added when there is no key),
 * and the reader's query into info. */
static int describe_table(sqlite_source *s, const char *name, int without_rowid, int has_stat1,
                          source_table *tb, sqlite_table_info *info, source_error *err)
{
    char *q = NULL;
    size_t qlen = 0, qcap = 0;
    char *qname = NULL;
    size_t nlen = 0, ncap = 0;
    sqlite3_stmt *st = NULL;
    int rc = -1;

    tb->name = strdup(name);
    if (!tb->name || append_ident(&qname, &nlen, &ncap, name))
        goto nomem;
    if (append_str(&q, &qlen, &qcap, "PRAGMA table_info(") || append_ident(&q, &qlen, &qcap, name) ||
        append_str(&q, &qlen, &qcap, ")"))
        goto nomem;
    if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK) {
        source_fail(err, SRC_E_SCHEMA, "cannot read the columns of table %s in %s: %s", name,
                    s->path, sqlite3_errmsg(s->db));
        goto out;
    }
    int cap = 0, step;
    /* Slot 0 is kept free for a rowid column that may be needed. */
    tb->ncols = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (tb->ncols >= cap) {
            int ncap2 = cap ? cap * 2 : 16;
            source_column *n = realloc(tb->cols, (size_t)ncap2 * sizeof *n);
            if (!n)
                goto nomem;
            if (!cap)
                memset(n, 0, sizeof *n);    /* slot 0 is freed on failure */
            tb->cols = n;
            cap = ncap2;
        }
        if (tb->ncols == 0)
            tb->ncols = 1;
        source_column *c = &tb->cols[tb->ncols];
        memset(c, 0, sizeof *c);
        const char *cn = (const char *)sqlite3_column_text(st, 1);
        const char *ct = (const char *)sqlite3_column_text(st, 2);
        c->name = strdup(cn ? cn : "");
        c->decl_type = strdup(ct ? ct : "");
        c->notnull = sqlite3_column_int(st, 3);
        c->pk_pos = sqlite3_column_int(st, 5);
        tb->ncols++;
        if (!c->name || !c->decl_type)
            goto nomem;
        if (c->pk_pos > 0)
            tb->npk++;
    }
    if (step != SQLITE_DONE) {
        source_fail(err, SRC_E_SCHEMA, "cannot read the columns of table %s in %s: %s", name,
                    s->path, sqlite3_errmsg(s->db));
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (tb->ncols <= 1) {
        tb->ncols = 0;
        source_fail(err, SRC_E_SCHEMA, "table %s in %s has no columns", name, s->path);
        goto out;
    }
    const char *rid = without_rowid ? NULL : rowid_name(tb->cols + 1, tb->ncols - 1);
    if (!without_rowid && !rid) {
        source_fail(err, SRC_E_SCHEMA,
                    "table %s in %s has columns named rowid, _rowid_ and oid, which hide the "
                    "rowid: rename one of them (or copy the table) to migrate it",
                    name, s->path);
        goto out;
    }
    if (tb->npk == 0 && !without_rowid) {
        /* No primary key: the rowid is the key, read as a first column. */
        tb->uses_rowid = 1;
        tb->npk = 1;
        source_column *c = &tb->cols[0];
        memset(c, 0, sizeof *c);
        c->name = strdup(rid);
        c->decl_type = strdup("INTEGER");
        c->notnull = 1;
        c->pk_pos = 1;
        if (!c->name || !c->decl_type)
            goto nomem;
    } else {
        tb->ncols--;
        memmove(tb->cols, tb->cols + 1, (size_t)tb->ncols * sizeof *tb->cols);
    }

    /* The range query. Rowid tables: the rowid first (position and resume
     * point), then the schema's columns (for a rowid-keyed table the first
     * of those is the rowid again: reading it twice is cheaper than
     * special-casing it). WITHOUT ROWID: the columns in key order. */
    qlen = 0;
    if (append_str(&q, &qlen, &qcap, "SELECT "))
        goto nomem;
    if (!without_rowid && (append_str(&q, &qlen, &qcap, rid) || append_str(&q, &qlen, &qcap, ", ")))
        goto nomem;
    for (int c = 0; c < tb->ncols; c++) {
        if (c && append_str(&q, &qlen, &qcap, ", "))
            goto nomem;
        if (tb->uses_rowid && c == 0) {
            if (append_str(&q, &qlen, &qcap, rid))
                goto nomem;
        } else if (append_ident(&q, &qlen, &qcap, tb->cols[c].name)) {
            goto nomem;
        }
    }
    if (append_str(&q, &qlen, &qcap, " FROM ") || append_str(&q, &qlen, &qcap, qname))
        goto nomem;
    if (!without_rowid) {
        char tail[160];
        snprintf(tail, sizeof tail, " WHERE %s >= ?1 AND %s <= ?2 ORDER BY %s", rid, rid, rid);
        if (append_str(&q, &qlen, &qcap, tail))
            goto nomem;
    } else {
        if (append_str(&q, &qlen, &qcap, " ORDER BY "))
            goto nomem;
        for (int k = 1, first = 1; k <= tb->npk; k++)
            for (int c = 0; c < tb->ncols; c++)
                if (tb->cols[c].pk_pos == k) {
                    if ((!first && append_str(&q, &qlen, &qcap, ", ")) ||
                        append_ident(&q, &qlen, &qcap, tb->cols[c].name))
                        goto nomem;
                    first = 0;
                }
        if (append_str(&q, &qlen, &qcap, " LIMIT -1 OFFSET ?1"))
            goto nomem;
    }
    info->without_rowid = without_rowid;
    info->rowid = rid;
    info->select_sql = q;
    q = NULL;
    tb->row_estimate = estimate_rows(s, name, qname, rid, has_stat1);
    tb->bytes_estimate = table_bytes(s, name);
    if (read_fkeys(s, name, tb, err) || read_indexes(s, name, tb, err))
        goto out;
    tb->sql_name = qname;
    qname = NULL;
    rc = 0;
    goto out;
nomem:
    source_fail(err, SRC_E_NOMEM, "out of memory reading the schema of %s", s->path);
out:
    sqlite3_finalize(st);
    free(q);
    free(qname);
    return rc;
}

static const source_schema *sqlite_describe(source *base, source_error *err)
{
    sqlite_source *s = (sqlite_source *)base;
    if (s->described)
        return &s->schema;
    /* PRAGMA table_list (3.37+) says which tables are WITHOUT ROWID and
     * which are virtual or shadow tables (skipped: a virtual table's module
     * may not even be loaded here, and shadow tables are its storage). */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT t.name, t.wr FROM pragma_table_list AS t "
                           "JOIN sqlite_schema AS m ON m.name = t.name AND m.type = 'table' "
                           "WHERE t.schema = 'main' AND t.type = 'table' "
                           "AND t.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY m.rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        source_fail(err, SRC_E_SCHEMA, "cannot list the tables of %s: %s (SQLite 3.37 or later "
                    "is needed)", s->path, sqlite3_errmsg(s->db));
        return NULL;
    }
    int has_stat1 = sqlite3_table_column_metadata(s->db, "main", "sqlite_stat1", "stat", NULL,
                                                  NULL, NULL, NULL, NULL) == SQLITE_OK;
    int cap = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (s->schema.ntables == cap) {
            int ncap = cap ? cap * 2 : 16;
            source_table *n = realloc(s->schema.tables, (size_t)ncap * sizeof *n);
            sqlite_table_info *ni = n ? realloc(s->info, (size_t)ncap * sizeof *ni) : NULL;
            if (n)
                s->schema.tables = n;
            if (!ni) {
                source_fail(err, SRC_E_NOMEM, "out of memory reading the schema of %s", s->path);
                goto fail;
            }
            s->info = ni;
            cap = ncap;
        }
        source_table *tb = &s->schema.tables[s->schema.ntables];
        sqlite_table_info *info = &s->info[s->schema.ntables];
        memset(tb, 0, sizeof *tb);
        memset(info, 0, sizeof *info);
        s->schema.ntables++;
        if (describe_table(s, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
                           has_stat1, tb, info, err))
            goto fail;
    }
    if (step != SQLITE_DONE) {
        source_fail(err, SRC_E_SCHEMA, "cannot list the tables of %s: %s", s->path,
                    sqlite3_errmsg(s->db));
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (resolve_fkeys(&s->schema, err, s->path))
        goto fail;
    s->described = 1;
    return &s->schema;
fail:
    sqlite3_finalize(st);
    free_info(s);
    source_schema_free(&s->schema);
    return NULL;
}

static int sqlite_split(source *base, int t, int max_ranges, source_range **out, int *n,
                        source_error *err)
{
    sqlite_source *s = (sqlite_source *)base;
    *out = NULL;
    *n = 0;
    if (!s->described || t < 0 || t >= s->schema.ntables)
        return source_fail(err, SRC_E_USAGE, "split: unknown table %d (describe first)", t);
    const source_table *tb = &s->schema.tables[t];
    if (max_ranges < 1)
        max_ranges = 1;
    int64_t lo = 0, hi = -1;    /* hi < lo: empty table */
    if (!s->info[t].without_rowid) {
        const char *rid = s->info[t].rowid;
        char sql[1200];
        char *qname = NULL;
        size_t nl = 0, nc = 0;
        if (append_ident(&qname, &nl, &nc, tb->name))
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        snprintf(sql, sizeof sql, "SELECT min(%s), max(%s) FROM %s", rid, rid, qname);
        free(qname);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
            return source_fail(err, SRC_E_READ, "cannot read the rowid bounds of %s in %s: %s",
                               tb->name, s->path, sqlite3_errmsg(s->db));
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            lo = sqlite3_column_int64(st, 0);
            hi = sqlite3_column_int64(st, 1);
        } else if (rc != SQLITE_ROW) {
            source_fail(err, SRC_E_READ, "cannot read the rowid bounds of %s in %s: %s", tb->name,
                        s->path, sqlite3_errmsg(s->db));
            sqlite3_finalize(st);
            return -1;
        }
        sqlite3_finalize(st);
    }
    /* Bounds in "offset" space (x ^ 2^63 orders int64 as unsigned), so
     * spans beyond INT64_MAX and rowids near either end do not overflow.
     * step: rowids per range, rounded up; the ranges stop at hi, so there
     * may be fewer than max_ranges, never an empty or inverted one. */
    const uint64_t flip = UINT64_C(1) << 63;
    int nr = 1;
    uint64_t width = 0, step = 0;
    if (!s->info[t].without_rowid && hi >= lo) {
        width = ((uint64_t)hi ^ flip) - ((uint64_t)lo ^ flip); /* rowids in the span - 1 */
        uint64_t count = width + 1;                            /* 0: all 2^64 */
        nr = max_ranges;
        if (count != 0 && (uint64_t)nr > count)
            nr = (int)count;
        step = count == 0 ? UINT64_MAX / (uint64_t)nr + 1
                          : count / (uint64_t)nr + (count % (uint64_t)nr != 0);
    }
    source_range *r = calloc((size_t)nr, sizeof *r);
    if (!r)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    int64_t rlo = INT64_MIN, rhi = INT64_MIN;
    for (int i = 0; i < nr; i++) {
        r[i].table = t;
        r[i].id = i;
        rlo = i == 0 ? INT64_MIN : rhi;
        /* step * (i + 1) > width: this range reaches hi and is the last */
        int last = i == nr - 1 || step == 0 || (uint64_t)(i + 1) > width / step;
        if (last)
            nr = i + 1;
        rhi = s->info[t].without_rowid ? INT64_MAX
              : last ? hi
                     : (int64_t)((((uint64_t)lo ^ flip) + step * (uint64_t)(i + 1) - 1) ^ flip);
        if (src_pos_set_i64(&r[i].lo, rlo) || src_pos_set_i64(&r[i].hi, rhi)) {
            source_ranges_free(r, nr);
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        }
        if (s->info[t].is_query)
            snprintf(r[i].label, sizeof r[i].label, "%s (one range)", tb->name);
        else if (s->info[t].without_rowid)
            snprintf(r[i].label, sizeof r[i].label, "%s (WITHOUT ROWID, whole table)", tb->name);
        else if (nr == 1)
            snprintf(r[i].label, sizeof r[i].label, "%s rowid <= %" PRId64 " (all rows)",
                     tb->name, rhi);
        else if (i == 0)
            snprintf(r[i].label, sizeof r[i].label, "%s rowid <= %" PRId64, tb->name, rhi);
        else if (i == nr - 1)
            snprintf(r[i].label, sizeof r[i].label, "%s rowid %" PRId64 "..%" PRId64, tb->name,
                     rlo + 1, rhi);
        else
            snprintf(r[i].label, sizeof r[i].label, "%s rowid %" PRId64 "..%" PRId64, tb->name,
                     rlo + 1, rhi);
    }
    *out = r;
    *n = nr;
    return 0;
}

static void reader_free(source_reader *rd)
{
    if (!rd)
        return;
    sqlite3_finalize(rd->st);
    if (rd->db) {
        sqlite3_exec(rd->db, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(rd->db);
    }
    free(rd);
}

static source_reader *sqlite_open_range(source *base, const source_range *r, const src_pos *after,
                                        source_error *err)
{
    sqlite_source *s = (sqlite_source *)base;
    if (!s->described || r->table < 0 || r->table >= s->schema.ntables) {
        source_fail(err, SRC_E_USAGE, "open_range: unknown table %d (describe first)", r->table);
        return NULL;
    }
    const sqlite_table_info *info = &s->info[r->table];
    source_reader *rd = calloc(1, sizeof *rd);
    if (!rd) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        return NULL;
    }
    rd->src = s;
    rd->table = r->table;
    rd->without_rowid = info->without_rowid;
    if (open_db(s->path, &rd->db, err))
        goto fail;
    /* A sequential scan reads each page once: a small page cache is enough,
     * and no memory map, so the process's resident memory stays small
     * whatever the database's size (a 256 MiB map made a 1M-row migrate
     * peak at 118 MB RSS). */
    sqlite3_exec(rd->db, "PRAGMA mmap_size = 0; PRAGMA cache_size = -2048", NULL, NULL, NULL);
    /* One read transaction for the whole range: one snapshot. */
    if (sqlite3_exec(rd->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(rd->db, info->select_sql, -1, &rd->st, NULL) != SQLITE_OK) {
        source_fail(err, SRC_E_READ, "cannot read %s from %s: %s", r->label, s->path,
                    sqlite3_errmsg(rd->db));
        goto fail;
    }
    int64_t after_v, lo, hi;
    if (src_pos_get_i64(after, INT64_MIN, &after_v) || src_pos_get_i64(&r->lo, INT64_MIN, &lo) ||
        src_pos_get_i64(&r->hi, INT64_MAX, &hi)) {
        source_fail(err, SRC_E_USAGE, "%s: the saved range or resume point is not a SQLite "
                    "one; start the job over with --restart", r->label);
        goto fail;
    }
    if (info->is_query) {
        /* a query is read from its start (source_table.query) */
        rd->ordinal = 0;
    } else if (info->without_rowid) {
        rd->ordinal = after_v == INT64_MIN || after_v < 0 ? 0 : after_v;
        sqlite3_bind_int64(rd->st, 1, rd->ordinal);
    } else {
        /* (lo, hi]; range 0 has no lower bound (INT64_MIN itself included) */
        int open_below = r->id == 0;
        if (after_v != INT64_MIN && (open_below || after_v > lo)) {
            lo = after_v;
            open_below = 0;
        }
        rd->done = !open_below && lo >= hi;
        sqlite3_bind_int64(rd->st, 1, open_below || rd->done ? INT64_MIN : lo + 1);
        sqlite3_bind_int64(rd->st, 2, hi);
    }
    return rd;
fail:
    reader_free(rd);
    return NULL;
}

static int sqlite_read(source_reader *rd, row_batch *b, int max_rows, source_error *err)
{
    row_batch_clear(b);
    if (rd->done)
        return 0;
    const source_table *tb = &rd->src->schema.tables[rd->table];
    const int ncols = tb->ncols;
    const int off = rd->without_rowid ? 0 : 1;   /* result column of schema column 0 */
    if (max_rows > b->cap)
        max_rows = b->cap;
    while (b->n < max_rows) {
        int rc = sqlite3_step(rd->st);
        if (rc == SQLITE_DONE) {
            rd->done = 1;
            break;
        }
        if (rc != SQLITE_ROW)
            return source_fail(err, SRC_E_READ, "reading %s%s of %s: %s",
                               tb->query ? "" : "table ", tb->name, rd->src->path,
                               sqlite3_errmsg(rd->db));
        int64_t pos = rd->without_rowid ? ++rd->ordinal : sqlite3_column_int64(rd->st, 0);
        src_row *row = row_batch_add(b, pos, ncols);
        if (!row)
            return source_fail(err, SRC_E_NOMEM, "out of memory reading table %s", tb->name);
        for (int c = 0; c < ncols; c++) {
            src_value *v = &row->vals[c];
            int ci = c + off;
            switch (sqlite3_column_type(rd->st, ci)) {
            case SQLITE_INTEGER:
                v->kind = SV_INT;
                v->u.i = sqlite3_column_int64(rd->st, ci);
                break;
            case SQLITE_FLOAT:
                v->kind = SV_DOUBLE;
                v->u.d = sqlite3_column_double(rd->st, ci);
                break;
            case SQLITE_TEXT:
            case SQLITE_BLOB: {
                int is_text = sqlite3_column_type(rd->st, ci) == SQLITE_TEXT;
                const void *p = is_text ? (const void *)sqlite3_column_text(rd->st, ci)
                                        : sqlite3_column_blob(rd->st, ci);
                size_t n = (size_t)sqlite3_column_bytes(rd->st, ci);
                char *copy = "";
                if (n) {
                    copy = arena_alloc(&b->mem, n);
                    if (!copy)
                        return source_fail(err, SRC_E_NOMEM,
                                           "out of memory reading table %s (a %zu-byte value)",
                                           tb->name, n);
                    memcpy(copy, p, n);
                }
                v->kind = is_text ? SV_TEXT : SV_BLOB;
                v->u.s.p = copy;
                v->u.s.n = n;
                break;
            }
            default:
                v->kind = SV_NULL;
                break;
            }
        }
        if (src_pos_set_i64(&b->resume, rd->without_rowid ? rd->ordinal : pos))
            return source_fail(err, SRC_E_NOMEM, "out of memory");
    }
    return b->n;
}

static void sqlite_close_range(source_reader *rd)
{
    reader_free(rd);
}

static void sqlite_close(source *base)
{
    sqlite_source *s = (sqlite_source *)base;
    if (!s)
        return;
    free_info(s);
    source_schema_free(&s->schema);
    if (s->db) {
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(s->db);
    }
    free(s->path);
    free(s);
}

/* One aggregate query over the table: per column, the count of each
 * storage class and the range of the integers. */
static int sqlite_profile(source *base, int t, const int *cols, int n, source_column_profile *out,
                          source_error *err)
{
    sqlite_source *s = (sqlite_source *)base;
    if (!s->described || t < 0 || t >= s->schema.ntables)
        return source_fail(err, SRC_E_USAGE, "profile: unknown table %d (describe first)", t);
    const source_table *tb = &s->schema.tables[t];
    static const char *const kinds[] = {"integer", "real", "text", "blob"};
    char *q = NULL;
    size_t ql = 0, qc = 0;
    int rc = -1;
    if (append_str(&q, &ql, &qc, "SELECT 0"))
        goto nomem;
    for (int k = 0; k < n; k++) {
        if (cols[k] < 0 || cols[k] >= tb->ncols) {
            free(q);
            return source_fail(err, SRC_E_USAGE, "profile: table %s has no column %d", tb->name,
                               cols[k]);
        }
        const char *name = tb->cols[cols[k]].name;
        for (int i = 0; i < 6; i++) {
            const char *agg = i < 4 ? ", count(CASE WHEN typeof(" : i == 4 ? ", min(CASE WHEN typeof("
                                                                            : ", max(CASE WHEN typeof(";
            if (append_str(&q, &ql, &qc, agg) || append_ident(&q, &ql, &qc, name) ||
                append_str(&q, &ql, &qc, ") = '") ||
                append_str(&q, &ql, &qc, kinds[i < 4 ? i : 0]) ||
                append_str(&q, &ql, &qc, "' THEN ") ||
                (i < 4 ? append_str(&q, &ql, &qc, "1") : append_ident(&q, &ql, &qc, name)) ||
                append_str(&q, &ql, &qc, " END)"))
                goto nomem;
        }
    }
    if (append_str(&q, &ql, &qc, " FROM ") || append_ident(&q, &ql, &qc, tb->name))
        goto nomem;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        source_fail(err, SRC_E_READ, "cannot read the values of table %s in %s: %s", tb->name,
                    s->path, sqlite3_errmsg(s->db));
        sqlite3_finalize(st);
        goto out;
    }
    for (int k = 0; k < n; k++) {
        int c = 1 + 6 * k;
        source_column_profile *p = &out[k];
        p->nint = sqlite3_column_int64(st, c);
        p->nreal = sqlite3_column_int64(st, c + 1);
        p->ntext = sqlite3_column_int64(st, c + 2);
        p->nblob = sqlite3_column_int64(st, c + 3);
        p->int_min = sqlite3_column_int64(st, c + 4);
        p->int_max = sqlite3_column_int64(st, c + 5);
    }
    sqlite3_finalize(st);
    rc = 0;
    goto out;
nomem:
    source_fail(err, SRC_E_NOMEM, "out of memory");
out:
    free(q);
    return rc;
}

/* count(*) of table t, within rowids [from, hi] when ranged; -1 with err
 * on failure. */
static int64_t count_rows(sqlite_source *s, int t, int ranged, int64_t from, int64_t hi,
                          source_error *err)
{
    if (!s->described || t < 0 || t >= s->schema.ntables) {
        source_fail(err, SRC_E_USAGE, "count: unknown table %d (describe first)", t);
        return -1;
    }
    const source_table *tb = &s->schema.tables[t];
    char *qname = NULL;
    size_t nl = 0, nc = 0;
    if (append_ident(&qname, &nl, &nc, tb->name)) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        return -1;
    }
    char sql[1400];
    ranged = ranged && !s->info[t].without_rowid;
    char *qsql = NULL;
    if (s->info[t].is_query) {
        size_t n = strlen(tb->query) + 64;
        if (!(qsql = malloc(n))) {
            free(qname);
            source_fail(err, SRC_E_NOMEM, "out of memory");
            return -1;
        }
        snprintf(qsql, n, "SELECT count(*) FROM (%s\n)", tb->query);
    } else if (ranged)
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s >= ?1 AND %s <= ?2", qname,
                 s->info[t].rowid, s->info[t].rowid);
    else
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", qname);
    free(qname);
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_prepare_v2(s->db, qsql ? qsql : sql, -1, &st, NULL) == SQLITE_OK) {
        if (ranged) {
            sqlite3_bind_int64(st, 1, from);
            sqlite3_bind_int64(st, 2, hi);
        }
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
    }
    if (n < 0)
        source_fail(err, SRC_E_READ, "cannot count the rows of %s in %s: %s", tb->name, s->path,
                    sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    free(qsql);
    return n;
}

/* Counts see the database now: the source's own read transaction is
 * restarted first (it would otherwise show the data as of the open). */
static int64_t sqlite_count_range(source *base, const source_range *r, source_error *err)
{
    sqlite_source *s = (sqlite_source *)base;
    /* (lo, hi], range 0 from INT64_MIN itself (as open_range reads) */
    int64_t lo, hi;
    if (src_pos_get_i64(&r->lo, INT64_MIN, &lo) || src_pos_get_i64(&r->hi, INT64_MAX, &hi))
        return source_fail(err, SRC_E_USAGE, "%s: not a SQLite range", r->label);
    if (r->id != 0 && lo >= hi)
        return 0;
    return count_rows(s, r->table, 1, r->id == 0 ? INT64_MIN : lo + 1, hi, err);
}

/* Rows above the last range's bound: an index seek on the rowid, so only
 * the new rows are visited. A WITHOUT ROWID table's one range has no end. */
static int64_t sqlite_count_beyond(source *base, const source_range *last, source_error *err)
{
    sqlite_source *s = (sqlite_source *)base;
    int64_t hi;
    if (src_pos_get_i64(&last->hi, INT64_MAX, &hi))
        return source_fail(err, SRC_E_USAGE, "%s: not a SQLite range", last->label);
    if (hi == INT64_MAX)
        return 0;
    return count_rows(s, last->table, 1, hi + 1, INT64_MAX, err);
}

static int sqlite_refresh(source *base, source_error *err)
{
    sqlite_source *s = (sqlite_source *)base;
    if (sqlite3_exec(s->db, "COMMIT; BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL,
                     NULL) != SQLITE_OK)
        return source_fail(err, SRC_E_READ, "cannot read %s again: %s", s->path,
                           sqlite3_errmsg(s->db));
    return 0;
}

static json_t *sqlite_fingerprint(source *base, source_error *err)
{
    sqlite_source *s = (sqlite_source *)base;
    char *real = realpath(s->path, NULL);
    json_t *j = json_pack("[{s:s}]", "path", real ? real : s->path);
    free(real);
    if (!j)
        source_fail(err, SRC_E_NOMEM, "out of memory");
    return j;
}

/* ---- queries ---- */

/* The declared type a query column without one gets: the storage class of
 * its first non-null value among the first rows (an expression such as
 * a || b has no declared type), so that mapping it is typed as SQLite
 * would read it; "" when every sampled value is null. */
static const char *class_type(int cls)
{
    return cls == SQLITE_INTEGER ? "INTEGER" : cls == SQLITE_FLOAT ? "REAL"
           : cls == SQLITE_TEXT  ? "TEXT"
           : cls == SQLITE_BLOB  ? "BLOB"
                                 : "";
}

static int sqlite_add_query(source *base, const char *sql, const char *name, int *at,
                            source_error *err)
{
    sqlite_source *s = (sqlite_source *)base;
    *at = -1;
    if (!s->described && !sqlite_describe(base, err))
        return -1;
    char *text = source_query_text(sql, 0, at, err);
    if (!text)
        return -1;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int idx = -1;
    char *cls = NULL;
    if (sqlite3_prepare_v2(s->db, text, -1, &st, &tail) != SQLITE_OK) {
        int off = sqlite3_error_offset(s->db);
        *at = off >= 0 ? off : -1;
        source_fail(err, SRC_E_SCHEMA, "SQLite %s refuses the query: %s", s->path,
                    sqlite3_errmsg(s->db));
        goto out;
    }
    if (!st || (tail && *tail) || !sqlite3_stmt_readonly(st) || sqlite3_column_count(st) == 0) {
        source_fail(err, SRC_E_USAGE, "a query must be one read-only SELECT that returns "
                                      "columns: write a SELECT whose columns feed the target "
                                      "table");
        goto out;
    }
    if (sqlite3_bind_parameter_count(st) > 0) {
        source_fail(err, SRC_E_USAGE, "the query has a parameter (?, :name or $name), which "
                                      "nothing would bind: write the value in the query");
        goto out;
    }
    int ncols = sqlite3_column_count(st);
    for (int c = 0; c < ncols; c++)
        for (int d = 0; d < c; d++)
            if (!strcmp(sqlite3_column_name(st, c), sqlite3_column_name(st, d))) {
                source_fail(err, SRC_E_USAGE, "the query has two columns named %s: give one "
                                              "another name (AS name)",
                            sqlite3_column_name(st, c));
                goto out;
            }
    /* types of the columns without a declared one, from their first values */
    cls = calloc((size_t)(ncols > 0 ? ncols : 1), 1);
    if (!cls)
        goto nomem;
    int missing = 0;
    for (int c = 0; c < ncols; c++)
        missing += sqlite3_column_decltype(st, c) == NULL;
    for (int row = 0; missing > 0 && row < 1000; row++) {
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            if (rc != SQLITE_DONE) {
                source_fail(err, SRC_E_SCHEMA, "SQLite %s cannot run the query: %s", s->path,
                            sqlite3_errmsg(s->db));
                goto out;
            }
            break;
        }
        for (int c = 0; c < ncols; c++)
            if (!sqlite3_column_decltype(st, c) && !cls[c] &&
                sqlite3_column_type(st, c) != SQLITE_NULL) {
                cls[c] = (char)sqlite3_column_type(st, c);
                missing--;
            }
    }
    int t = s->schema.ntables;
    source_table *nt = realloc(s->schema.tables, (size_t)(t + 1) * sizeof *nt);
    if (nt)
        s->schema.tables = nt;
    sqlite_table_info *ni = nt ? realloc(s->info, (size_t)(t + 1) * sizeof *ni) : NULL;
    if (!ni)
        goto nomem;
    s->info = ni;
    source_table *tb = &s->schema.tables[t];
    sqlite_table_info *info = &s->info[t];
    memset(tb, 0, sizeof *tb);
    memset(info, 0, sizeof *info);
    s->schema.ntables++;    /* freed with the schema from here on */
    info->is_query = 1;
    info->without_rowid = 1;
    tb->row_estimate = -1;
    tb->bytes_estimate = -1;
    tb->name = strdup(name);
    tb->query = strdup(text);
    info->select_sql = strdup(text);
    tb->cols = calloc((size_t)(ncols > 0 ? ncols : 1), sizeof *tb->cols);
    if (!tb->name || !tb->query || !info->select_sql || !tb->cols)
        goto nomem;
    for (int c = 0; c < ncols; c++) {
        source_column *col = &tb->cols[c];
        const char *dt = sqlite3_column_decltype(st, c);
        col->name = strdup(sqlite3_column_name(st, c));
        col->decl_type = strdup(dt ? dt : class_type(cls[c]));
        col->precision = col->scale = -1;
        tb->ncols = c + 1;
        if (!col->name || !col->decl_type)
            goto nomem;
        if (!dt && cls[c] &&
            !(col->note = strdup("an expression of the query: its type is that of its first "
                                 "values")))
            goto nomem;
    }
    idx = t;
    goto out;
nomem:
    source_fail(err, SRC_E_NOMEM, "out of memory");
out:
    free(cls);
    sqlite3_finalize(st);
    free(text);
    return idx;
}

/* query: on the source's own connection, inside its read transaction. */
#define QUERY_MAX_COLS 256

static int sqlite_query(source *base, const char *sql, source_row_fn row, void *ctx,
                        source_error *err)
{
    sqlite_source *s = (sqlite_source *)base;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return source_fail(err, SRC_E_READ, "query on %s failed: %s (in: %.300s)", s->path,
                           sqlite3_errmsg(s->db), sql);
    if (!sqlite3_stmt_readonly(st)) {
        sqlite3_finalize(st);
        return source_fail(err, SRC_E_USAGE, "query on %s: not a read-only statement: %.300s",
                           s->path, sql);
    }
    int n = sqlite3_column_count(st);
    if (n > QUERY_MAX_COLS) {
        sqlite3_finalize(st);
        return source_fail(err, SRC_E_USAGE, "query on %s: %d result columns (at most %d)",
                           s->path, n, QUERY_MAX_COLS);
    }
    const char *vals[QUERY_MAX_COLS];
    size_t lens[QUERY_MAX_COLS];
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        for (int k = 0; k < n; k++) {
            int null = sqlite3_column_type(st, k) == SQLITE_NULL;
            vals[k] = null ? NULL : (const char *)sqlite3_column_text(st, k);
            lens[k] = null ? 0 : (size_t)sqlite3_column_bytes(st, k);
            if (!null && !vals[k]) {
                sqlite3_finalize(st);
                return source_fail(err, SRC_E_NOMEM, "out of memory");
            }
        }
        if ((rc = row(ctx, n, vals, lens)) != 0)
            break;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = source_fail(err, SRC_E_READ, "query on %s failed: %s (in: %.300s)", s->path,
                         sqlite3_errmsg(s->db), sql);
    sqlite3_finalize(st);
    return rc;
}

static const source_ops sqlite_ops = {
    .name = "sqlite",
    .describe = sqlite_describe,
    .split = sqlite_split,
    .open_range = sqlite_open_range,
    .read = sqlite_read,
    .close_range = sqlite_close_range,
    .close = sqlite_close,
    .profile = sqlite_profile,
    .count_range = sqlite_count_range,
    .count_beyond = sqlite_count_beyond,
    .refresh = sqlite_refresh,
    .fingerprint = sqlite_fingerprint,
    .add_query = sqlite_add_query,
    .query = sqlite_query,
};

source *source_sqlite_open(const char *path, source_error *err)
{
    if (!path || !*path) {
        source_fail(err, SRC_E_USAGE, "sqlite: no database file given (sqlite:PATH)");
        return NULL;
    }
    sqlite_source *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        source_fail(err, SRC_E_NOMEM, "out of memory");
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    if (open_db(path, &s->db, err)) {
        sqlite_close(&s->base);
        return NULL;
    }
    /* Held until close: in rollback-journal mode this read lock keeps
     * writers from committing, so every range sees the same data. */
    if (sqlite3_exec(s->db, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) !=
        SQLITE_OK) {
        source_fail(err, SRC_E_OPEN, "cannot start a read transaction on %s: %s", path,
                    sqlite3_errmsg(s->db));
        sqlite_close(&s->base);
        return NULL;
    }
    return &s->base;
}
