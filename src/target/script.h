/* CQL scripts as files hold them (a backup's schema.cql, DESCRIBE output):
 * split into statements, asked what each creates, and moved into another
 * keyspace. Strings ('...' and $$...$$), quoted names and comments (--, //,
 * block) are read as CQL reads them, so a ';' or a blank line inside one
 * never ends a statement. */
#ifndef CQLSHIFT_TARGET_SCRIPT_H
#define CQLSHIFT_TARGET_SCRIPT_H

#include <stddef.h>

#include "util/buf.h"

/* The next statement of the script at *p, appended to out (NUL-terminated):
 * its text without comments, without the ';' that ends it and without the
 * blanks around it; *p moves past the ';'. 1: a statement; 0: only blanks
 * and comments were left; -1: out of memory. A string, name or comment
 * that is never closed runs to the end of the script. */
int target_script_next(const char **p, cs_buf *out);

typedef enum target_stmt_kind {
    TSTMT_OTHER,
    TSTMT_KEYSPACE, /* CREATE KEYSPACE */
    TSTMT_TYPE,     /* CREATE TYPE */
    TSTMT_TABLE,    /* CREATE TABLE: name is the table */
    TSTMT_INDEX,    /* CREATE [CUSTOM] INDEX: name is the table it indexes */
    TSTMT_VIEW,     /* CREATE MATERIALIZED VIEW: name is its base table */
} target_stmt_kind;

/* What the statement stmt (as target_script_next returns it) creates; for
 * a table, an index or a materialized view the table it concerns goes to
 * name (size n; "" otherwise), without its keyspace and folded as CQL folds
 * names: unquoted lower-cased, quoted as written. */
target_stmt_kind target_stmt_info(const char *stmt, char *name, size_t n);

/* stmt with every reference to keyspace `from` (a qualifier "from." or the
 * name after KEYSPACE [IF [NOT] EXISTS]) replaced by `to`, quoted; strings
 * and comments are kept as they are. `from` is compared as CQL compares
 * names (unquoted folded). Appended to out with a NUL: 0, or -1 (out of
 * memory). */
int target_stmt_rename_keyspace(const char *stmt, const char *from, const char *to,
                                cs_buf *out);

#endif
