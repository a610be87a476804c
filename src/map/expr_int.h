/* Internals shared by the expression compiler (expr.c), evaluator
 * (expr_eval.c) and functions (expr_fn.c). Not a public API. */
#ifndef CQLSHIFT_MAP_EXPR_INT_H
#define CQLSHIFT_MAP_EXPR_INT_H

#include <stdint.h>

#include "map/expr.h"

/* Stays on in release builds: a broken invariant of the compiled tree. */
#define MAP_ASSERT(c)                                                                    \
    do {                                                                                 \
        if (!(c))                                                                        \
            map_assert_fail(#c, __FILE__, __LINE__);                                     \
    } while (0)
_Noreturn void map_assert_fail(const char *what, const char *file, int line);

typedef enum node_op {
    N_LIT, N_COL, N_OR, N_AND, N_NOT, N_IS_NULL, N_IS_NOT_NULL, N_CMP, N_CONCAT, N_ARITH,
    N_NEG, N_FUNC,
} node_op;

typedef enum cmp_op { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE } cmp_op;

typedef enum func_id {
    F_LOWER, F_UPPER, F_TRIM, F_COALESCE, F_CAST, F_TO_TIMESTAMP, F_FROM_EPOCH,
    F_UUID_FROM_BYTES, F_NAME_UUID, F_JSON_PATH, F_UNIX_TIME,
} func_id;

/* One element of a compiled to_timestamp format. */
typedef struct ts_item {
    char kind;          /* 'y' 'M' 'd' 'H' 'h' 'm' 's' 'S' 'a' 'X', or 'L' literal text */
    int width;          /* letters in the run (yyyy: 4) */
    const char *lit;    /* 'L': the text to match */
    int litn;
} ts_item;

typedef struct path_step {
    int is_index;
    long index;
    const char *key;    /* NUL-terminated, in the expression's arena */
} path_step;

typedef struct node node;
struct node {
    node_op op;
    int sub;            /* cmp_op, arithmetic operator character, or func_id */
    map_type type;
    int off;            /* where it starts in the text */
    int nargs;
    node **args;
    src_value lit;      /* N_LIT (text in the expression's arena) */
    int lit_number;     /* N_LIT: a number written with a point or exponent */
    int col;            /* N_COL */
    cql_type *cast;     /* F_CAST: the target type (owned by map_expr.casts) */
    ts_item *items;     /* F_TO_TIMESTAMP */
    int nitems;
    int zone_s;         /* F_TO_TIMESTAMP: offset east of UTC, seconds */
    const struct cs_tz *tz; /* F_TO_TIMESTAMP: a named zone (NULL: zone_s) */
    const char *fmt_text; /* F_TO_TIMESTAMP: the format, for messages */
    int unit;           /* F_FROM_EPOCH: 1, 1000 or 1000000 per second */
    path_step *steps;   /* F_JSON_PATH */
    int nsteps;
    const char *path_text;
};

typedef struct cast_ref {
    cql_type *t;
    struct cast_ref *next;
} cast_ref;

struct map_expr {
    arena mem;          /* nodes, literals, compiled formats */
    node *root;
    cast_ref *casts;    /* every cql_type the parser made (owned) */
};

/* Evaluate node n (expr_eval.c). */
int map_eval_node(const node *n, const src_value *row, arena *a, src_value *out, map_error *err);

/* Functions (expr_fn.c). Each fills out, or returns -1 with a sentence in
 * msg (no offset: the caller knows where). */
int map_text_form(const src_value *v, arena *a, const char **p, size_t *n, char *msg, size_t msgn);
int map_cast_value(const cql_type *t, const src_value *v, arena *a, src_value *out, char *msg,
                   size_t msgn);
int map_case(const char *p, size_t n, int upper, arena *a, src_value *out, char *msg, size_t msgn);
int map_to_timestamp(const node *n, const char *p, size_t len, src_value *out, char *msg,
                     size_t msgn);
int map_from_epoch(const src_value *v, int unit, arena *a, src_value *out, char *msg, size_t msgn);
int map_uuid_from_bytes(const src_value *v, arena *a, src_value *out, char *msg, size_t msgn);
int map_name_uuid(const src_value *parts, int n, arena *a, src_value *out, char *msg, size_t msgn);
int map_json_path(const node *n, const src_value *v, arena *a, src_value *out, char *msg,
                  size_t msgn);
/* Exact decimal text ([+-]digits[.digits][e[+-]digits]) -> SV_DECIMAL's
 * plain form ([-]digits[.digits], no exponent, no superfluous zeros) in a.
 * 0, or -1 (not a number, or an exponent beyond +-1000). */
int map_decimal_normalize(const char *s, size_t n, arena *a, const char **out, size_t *outn);
/* Compare two plain decimal texts: <0, 0, >0. */
int map_decimal_cmp(const char *a, size_t an, const char *b, size_t bn);
/* Compile a to_timestamp format / zone and a json_path path into n
 * (expr_fn.c); -1 with msg and *at (offset inside the literal's text). */
int map_compile_ts_format(node *n, arena *a, const char *fmt, size_t len, int *at, char *msg,
                          size_t msgn);
int map_compile_zone(node *n, const char *zone, size_t len, char *msg, size_t msgn);
int map_compile_path(node *n, arena *a, const char *path, size_t len, int *at, char *msg,
                     size_t msgn);

#endif
