/* cqlshift load --map 'col=EXPR, ...': the option's text split into
 * (table column, expression) pairs, checked against the target table's
 * columns and the file's fields. The expressions themselves are compiled
 * by the caller (map/rowmap.h), which reports their errors at
 * expr_off + the compiler's offset.
 *
 * Syntax (docs/migrate.md, "Mapping fields to columns"): entries separated
 * by commas; each is `column=expression` (the table column on the left, an
 * expression over the file's fields on the right), or a bare `name`
 * (column name = field name), or `*` (every other table column that has a
 * field of the same name). A comma inside quotes or parentheses belongs to
 * the expression. */
#ifndef CQLSHIFT_CLI_LOAD_MAP_H
#define CQLSHIFT_CLI_LOAD_MAP_H

typedef struct load_map_item {
    int col;        /* index into the table's columns */
    char *expr;     /* the expression's text (owned, NUL-terminated) */
    int expr_off;   /* its 0-based offset in the option's text */
} load_map_item;

typedef struct load_map_spec {
    int nitems;
    load_map_item *items;   /* at most one per table column, in the text's order */
} load_map_spec;

/* Parse text against the table's columns (tcols[0..ntcols)) and the file's
 * fields (fields[0..nfields)); table names the table in messages
 * ("ks.t"). 0 with *out filled (load_map_release), or -1 after printing
 * "--map: position N: sentence" (N 1-based: the text's Nth byte). */
int load_map_parse(const char *text, const char *const *tcols, int ntcols,
                   const char *const *fields, int nfields, const char *table, load_map_spec *out);
void load_map_release(load_map_spec *s);

#endif
