/* One plan mapping compiled for the loader: the expressions that compute
 * a target table's bound columns from a source row, its row filter, and
 * each row's write time and TTL, behind the loader's load_row_map.
 *
 * Compiled once per (mapping, source table, INSERT bind types); a column
 * that is a bare source column keeps the loader's fast path (src_col), the
 * others are evaluated per row into the loader's scratch arena. Every
 * error is reported at its place in the plan file (plan_fail_at). */
#ifndef CQLSHIFT_MAP_ROWMAP_H
#define CQLSHIFT_MAP_ROWMAP_H

#include "load/loader.h"
#include "map/expr.h"
#include "model/model.h"
#include "plan/plan.h"

typedef struct map_rowmap map_rowmap;

/* Compile mapping mi of plan p (plan_check_source done: the mapping's
 * source_table is set) for target table tt, whose INSERT binds tt's
 * columns in order with the CQL types bind_types[0..tt->ncols). Type
 * checks: each column's expression must fit its column (map_type_fits: a
 * cast says so where it may not), `where` must be a boolean, `writetime` a
 * timestamp or an integer (microseconds since 1970), `ttl` an integer
 * (seconds). NULL with err (FILE:LINE:COL: sentence) on the first problem. */
map_rowmap *map_rowmap_compile(const plan *p, int mi, const source_table *st,
                               const target_table *tt, const cql_type *const *bind_types,
                               plan_error *err);
void map_rowmap_free(map_rowmap *m);

/* The same without a plan (cqlshift load --map): the expressions of a
 * target's bound columns (exprs[c] NULL: null) and optional where,
 * writetime and ttl (NULL: none), over the source row env describes. The
 * checks are map_rowmap_compile's. NULL with err on the first problem:
 * which expression (a column index, or one of MAP_RM_*), the 0-based
 * offset in its text (-1: the expression as a whole) and the sentence
 * ("column x: ..."). */
enum { MAP_RM_NONE = -4, MAP_RM_TTL = -3, MAP_RM_WRITETIME = -2, MAP_RM_WHERE = -1 };
typedef struct map_rowmap_error {
    int what;
    int offset;
    char msg[900];
} map_rowmap_error;
typedef struct map_rowmap_exprs {
    int ncols;
    const char *const *names;   /* the bound columns' names (messages) */
    const char *const *exprs;
    const char *where, *writetime, *ttl;
} map_rowmap_exprs;
map_rowmap *map_rowmap_compile_exprs(const map_env *env, const map_rowmap_exprs *x,
                                     const cql_type *const *bind_types, map_rowmap_error *err);

/* The epoch units of the source columns (n of them): units[c] is the
 * load_epoch_unit in which an integer of timestamp column c counts time
 * since 1970 (what the loader's fast path uses for that column), -1 for
 * a column of another type. Expressions then see such an integer as the
 * timestamp it means, so a computed value and a write time read it as the
 * column does. 0, or -1 out of memory. */
int map_rowmap_set_units(map_rowmap *m, int n, const int *units);

/* The loader's view: bound column c's source column (its fast path), or
 * LOAD_COL_COMPUTED, or -1 (no expression: null). */
int map_rowmap_src_col(const map_rowmap *m, int c);
/* The callbacks for load_table.map, or NULL when every column is a bare
 * source column and there is no filter, write time or TTL. */
const load_row_map *map_rowmap_ops(const map_rowmap *m);
/* Set used[i] = 1 for every source column i < ncols that an expression
 * of the mapping names (its filter, write time and TTL included). */
void map_rowmap_uses(const map_rowmap *m, unsigned char *used, int ncols);

/* For --dry-run: the value of bound column c for row r (the fast path
 * included), in arena a. 0, or -1 with why. */
int map_rowmap_value(const map_rowmap *m, int c, const src_row *r, arena *a, src_value *out,
                     char *why, size_t n);

#endif
