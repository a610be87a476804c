/* Mapping expressions: lexer, parser and type checker (map_expr_compile),
 * static types of columns, and map_type_fits.
 *
 * The parser is recursive descent over a token stream, one function per
 * precedence level (or, and, not, comparison, ||, + -, * /, unary,
 * primary). Types are checked bottom-up as nodes are built, so that each
 * error points at the part of the text it concerns.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "map/expr_int.h"
#include "model/model.h"
#include "util/text.h"

_Noreturn void map_assert_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "cqlshift: internal error: %s:%d: assertion failed: %s\n", file, line, what);
    abort();
}

/* ---- types ------------------------------------------------------------------ */

static const char *const type_names[] = {
    [MT_NULL] = "null", [MT_BOOL] = "boolean", [MT_INT] = "int", [MT_UINT] = "unsigned int",
    [MT_DOUBLE] = "double", [MT_DECIMAL] = "decimal", [MT_TEXT] = "text", [MT_BLOB] = "blob",
    [MT_TIMESTAMP] = "timestamp", [MT_DATE] = "date", [MT_TIME] = "time",
    [MT_DURATION] = "duration", [MT_UUID] = "uuid", [MT_INET] = "inet", [MT_LIST] = "list",
    [MT_JSON] = "json", [MT_UNSUPPORTED] = "unsupported",
};

const char *map_type_name(map_type t)
{
    return (unsigned)t < sizeof type_names / sizeof *type_names ? type_names[t] : "?";
}

map_type map_type_of_cql(const cql_type *t)
{
    if (!t)
        return MT_UNSUPPORTED;
    switch (t->id) {
    case CQL_T_BOOLEAN: return MT_BOOL;
    case CQL_T_TINYINT: case CQL_T_SMALLINT: case CQL_T_INT: case CQL_T_BIGINT:
    case CQL_T_COUNTER: return MT_INT;
    case CQL_T_VARINT: case CQL_T_DECIMAL: return MT_DECIMAL;
    case CQL_T_FLOAT: case CQL_T_DOUBLE: return MT_DOUBLE;
    case CQL_T_ASCII: case CQL_T_VARCHAR: return MT_TEXT;
    case CQL_T_BLOB: return MT_BLOB;
    case CQL_T_TIMESTAMP: return MT_TIMESTAMP;
    case CQL_T_DATE: return MT_DATE;
    case CQL_T_TIME: return MT_TIME;
    case CQL_T_DURATION: return MT_DURATION;
    case CQL_T_UUID: case CQL_T_TIMEUUID: return MT_UUID;
    case CQL_T_INET: return MT_INET;
    case CQL_T_LIST: case CQL_T_SET: case CQL_T_VECTOR: case CQL_T_TUPLE: return MT_LIST;
    case CQL_T_MAP: case CQL_T_UDT: return MT_JSON;
    default: return MT_UNSUPPORTED;
    }
}

map_type map_type_of_column(const source_column *c)
{
    switch (c->ltype) {
    case SL_DECLARED: {
        const char *d = c->decl_type ? c->decl_type : "";
        while (isspace((unsigned char)*d))
            d++;
        if (!*d)    /* CSV/JSONL fields, SQLite columns without a type: any value */
            return MT_TEXT;
        const char *why = NULL;
        cql_type *t = model_map_column(c, &why);
        map_type mt = map_type_of_cql(t);
        cql_type_free(t);
        return mt;
    }
    case SL_BOOL: return MT_BOOL;
    case SL_INT8: case SL_INT16: case SL_INT32: case SL_INT64: return MT_INT;
    case SL_UINT64: return MT_UINT;
    case SL_DECIMAL: return MT_DECIMAL;
    case SL_FLOAT32: case SL_FLOAT64: return MT_DOUBLE;
    case SL_TEXT: case SL_ENUM: case SL_TEXT_FORM: return MT_TEXT;
    case SL_BYTES: return MT_BLOB;
    case SL_UUID: return MT_UUID;
    case SL_DATE: return MT_DATE;
    case SL_TIME: return MT_TIME;
    case SL_TIMESTAMP: return MT_TIMESTAMP;
    case SL_INTERVAL: return MT_DURATION;
    case SL_INET: return MT_INET;
    case SL_JSON: return MT_JSON;
    case SL_SET: case SL_ARRAY: return MT_LIST;
    case SL_UNSUPPORTED: return MT_UNSUPPORTED;
    }
    return MT_UNSUPPORTED;
}

static int is_numeric(map_type t)
{
    return t == MT_INT || t == MT_UINT || t == MT_DOUBLE || t == MT_DECIMAL;
}

static int whyf(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int whyf(char *why, size_t n, const char *fmt, ...)
{
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* "an" before a word said with a vowel first (int, inet, ascii), else "a"
 * (a uuid, a bigint). */
static const char *article(const char *w)
{
    return w[0] == 'a' || w[0] == 'e' || w[0] == 'i' || w[0] == 'o' ? "an" : "a";
}

int map_type_fits(map_type t, const cql_type *ct, char *why, size_t n)
{
    if (why && n)
        why[0] = 0;
    if (t == MT_NULL)
        return 1;
    char cname[64];
    if (!ct)
        return whyf(why, n, "no column type");
    {
        /* the CQL type's text for messages, in a fixed buffer */
        cs_buf b = {.data = (uint8_t *)cname, .len = 0, .cap = sizeof cname - 1,
                    .max = sizeof cname - 1};
        if (cql_type_format(ct, &b))
            b.len = 0;
        cname[b.len] = 0;
    }
    const char *tn = map_type_name(t);
    if (t == MT_UNSUPPORTED)
        return whyf(why, n, "the source column's type cannot be copied; leave the column out");
    int ok = 0;
    switch (ct->id) {
    case CQL_T_ASCII:
    case CQL_T_VARCHAR:
        ok = t != MT_BLOB && t != MT_LIST;
        break;
    case CQL_T_BOOLEAN: ok = t == MT_BOOL || t == MT_TEXT; break;
    case CQL_T_TINYINT: case CQL_T_SMALLINT: case CQL_T_INT: case CQL_T_BIGINT:
    case CQL_T_COUNTER: case CQL_T_VARINT:
        ok = t == MT_INT || t == MT_UINT || t == MT_TEXT || t == MT_BOOL;
        if (!ok && (t == MT_DOUBLE || t == MT_DECIMAL))
            return whyf(why, n, "%s %s value may have a fraction, which %s %s column cannot "
                        "hold; write cast(... as %s) to accept whole numbers only (others are "
                        "rejected), or make the column decimal or double", article(tn), tn,
                        article(cname), cname, cname);
        break;
    case CQL_T_FLOAT: case CQL_T_DOUBLE:
        ok = is_numeric(t) || t == MT_TEXT;
        break;
    case CQL_T_DECIMAL: ok = is_numeric(t) || t == MT_TEXT; break;
    case CQL_T_BLOB: ok = t == MT_BLOB || t == MT_TEXT || t == MT_UUID; break;
    case CQL_T_TIMESTAMP:
        ok = t == MT_TIMESTAMP || t == MT_DATE || t == MT_TEXT || t == MT_INT;
        break;
    case CQL_T_DATE: ok = t == MT_DATE || t == MT_TEXT; break;
    case CQL_T_TIME: ok = t == MT_TIME || t == MT_TEXT; break;
    case CQL_T_DURATION: ok = t == MT_DURATION || t == MT_TIME || t == MT_TEXT; break;
    case CQL_T_UUID: case CQL_T_TIMEUUID:
        ok = t == MT_UUID || t == MT_TEXT || t == MT_BLOB;
        if (!ok)
            return whyf(why, n, "%s %s value is not a uuid; use uuid_from_bytes(...) or "
                        "name_uuid(...)", article(tn), tn);
        break;
    case CQL_T_INET: ok = t == MT_INET || t == MT_TEXT; break;
    case CQL_T_LIST: case CQL_T_SET: case CQL_T_VECTOR: case CQL_T_TUPLE:
        ok = t == MT_LIST || t == MT_TEXT || t == MT_JSON;
        break;
    case CQL_T_MAP: case CQL_T_UDT:
        ok = t == MT_JSON || t == MT_TEXT;
        break;
    default:
        return whyf(why, n, "cqlshift cannot write %s columns", cname);
    }
    if (ok)
        return 1;
    if (ct->id == CQL_T_ASCII || ct->id == CQL_T_VARCHAR)
        return whyf(why, n, "%s %s value has no plain text form; write cast(... as text) if "
                    "its %s form is what you want", article(tn), tn,
                    t == MT_BLOB ? "0x-hex" : "JSON");
    if (ct->id == CQL_T_LIST || ct->id == CQL_T_SET || ct->id == CQL_T_MAP ||
        ct->id == CQL_T_TUPLE || ct->id == CQL_T_UDT || ct->id == CQL_T_VECTOR)
        return whyf(why, n, "%s %s value does not go into %s %s column; change the column's "
                    "type, or give it text in its JSON form (a list or JSON source column, or "
                    "text such as '[1, 2]')", article(tn), tn, article(cname), cname);
    return whyf(why, n, "%s %s value does not go into %s %s column; change the column's type or "
                "convert the value (cast(... as %s), to_timestamp, from_epoch...)", article(tn),
                tn, article(cname), cname, cname);
}

/* ---- lexer ------------------------------------------------------------------ */

typedef enum tok_kind {
    T_END, T_IDENT, T_QIDENT, T_STRING, T_NUMBER, T_OP, T_LP, T_RP, T_COMMA,
} tok_kind;

typedef struct tok {
    tok_kind k;
    int off, len;       /* the token's text */
} tok;

typedef struct parser {
    const char *s;
    int pos;            /* where the next token starts scanning */
    tok t;              /* the current token */
    const map_env *env;
    map_expr *e;
    map_error *err;
    int depth;
} parser;

static int fail_at(parser *p, int off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(parser *p, int off, const char *fmt, ...)
{
    p->err->offset = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_ident_start(unsigned char c) { return isalpha(c) || c == '_' || c >= 0x80; }
static int is_ident_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* The token's text for a message, cut and quoted. */
static const char *tok_text(const parser *p, const tok *t, char *buf, size_t n)
{
    if (t->k == T_END)
        return "the end";
    int len = t->len > 40 ? 40 : t->len;
    snprintf(buf, n, "'%.*s%s'", len, p->s + t->off, t->len > 40 ? "..." : "");
    return buf;
}

/* Scan the next token into p->t. */
static int next(parser *p)
{
    const char *s = p->s;
    int i = p->pos;
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
        i++;
    tok t = {.k = T_END, .off = i, .len = 0};
    unsigned char c = (unsigned char)s[i];
    if (!c) {
        p->t = t;
        p->pos = i;
        return 0;
    }
    if (is_ident_start(c)) {
        int j = i + 1;
        while (is_ident_char((unsigned char)s[j]))
            j++;
        t.k = T_IDENT;
        t.len = j - i;
    } else if (isdigit(c) || (c == '.' && isdigit((unsigned char)s[i + 1]))) {
        int j = i;
        while (isdigit((unsigned char)s[j]))
            j++;
        if (s[j] == '.') {
            j++;
            while (isdigit((unsigned char)s[j]))
                j++;
        }
        if ((s[j] == 'e' || s[j] == 'E') &&
            (isdigit((unsigned char)s[j + 1]) ||
             ((s[j + 1] == '+' || s[j + 1] == '-') && isdigit((unsigned char)s[j + 2])))) {
            j += 2;
            while (isdigit((unsigned char)s[j]))
                j++;
        }
        if (is_ident_char((unsigned char)s[j]) || s[j] == '.') {
            int k = j;
            while (is_ident_char((unsigned char)s[k]) || s[k] == '.')
                k++;
            return fail_at(p, i, "'%.*s' is not a number (a number is digits, with an optional "
                           "fraction and exponent: 42, -1.5, 2.5e3)", k - i > 40 ? 40 : k - i,
                           s + i);
        }
        t.k = T_NUMBER;
        t.len = j - i;
    } else if (c == '\'' || c == '"') {
        int j = i + 1;
        for (;;) {
            if (!s[j])
                return fail_at(p, i, c == '\'' ? "the text literal that starts here has no "
                                                 "closing quote (write '' for a quote inside it)"
                                               : "the quoted name that starts here has no closing "
                                                 "double quote (write \"\" for one inside it)");
            if (s[j] == (char)c) {
                if (s[j + 1] == (char)c) {
                    j += 2;
                    continue;
                }
                break;
            }
            j++;
        }
        t.k = c == '\'' ? T_STRING : T_QIDENT;
        t.len = j + 1 - i;
        if (t.k == T_QIDENT && t.len == 2)
            return fail_at(p, i, "\"\" is an empty name; a quoted column name has at least one "
                           "character");
    } else if (c == '(' || c == ')' || c == ',') {
        t.k = c == '(' ? T_LP : c == ')' ? T_RP : T_COMMA;
        t.len = 1;
    } else if (c == '|' && s[i + 1] == '|') {
        t.k = T_OP;
        t.len = 2;
    } else if ((c == '<' && (s[i + 1] == '=' || s[i + 1] == '>')) ||
               ((c == '>' || c == '!') && s[i + 1] == '=')) {
        t.k = T_OP;
        t.len = 2;
    } else if (strchr("=<>+-*/", c)) {
        t.k = T_OP;
        t.len = 1;
    } else if (c == '|') {
        return fail_at(p, i, "unexpected '|'; concatenation is written ||");
    } else if (c == '`') {
        return fail_at(p, i, "unexpected '`'; quote a column name with double quotes: \"Odd "
                       "Name\"");
    } else {
        return fail_at(p, i, "unexpected character '%c'%s", c >= 0x20 && c < 0x7f ? c : '?',
                       c == ';' ? " (an expression is one value, no statements)" : "");
    }
    p->t = t;
    p->pos = t.off + t.len;
    return 0;
}

static int tok_is(const parser *p, const char *word)
{
    size_t n = strlen(word);
    return p->t.k == T_IDENT && (size_t)p->t.len == n && !strncasecmp(p->s + p->t.off, word, n);
}

static int op_is(const parser *p, const char *op)
{
    size_t n = strlen(op);
    return p->t.k == T_OP && (size_t)p->t.len == n && !strncmp(p->s + p->t.off, op, n);
}

static const char *const keywords[] = {"and", "or", "not", "is", "null", "true", "false", "as",
                                       NULL};

static int is_keyword(const parser *p)
{
    for (int i = 0; keywords[i]; i++)
        if (tok_is(p, keywords[i]))
            return 1;
    return 0;
}

/* ---- nodes ------------------------------------------------------------------ */

static node *new_node(parser *p, node_op op, int off, int nargs)
{
    node *n = arena_alloc(&p->e->mem, sizeof *n);
    if (!n) {
        fail_at(p, off, "out of memory");
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->op = op;
    n->off = off;
    n->col = -1;
    if (nargs > 0) {
        n->args = arena_alloc(&p->e->mem, (size_t)nargs * sizeof *n->args);
        if (!n->args) {
            fail_at(p, off, "out of memory");
            return NULL;
        }
    }
    n->nargs = nargs;
    return n;
}

/* The text of a string token, '' unescaped, NUL-terminated in the arena. */
static char *string_value(parser *p, const tok *t, size_t *len)
{
    char *out = arena_alloc(&p->e->mem, (size_t)t->len);
    if (!out)
        return NULL;
    size_t o = 0;
    char q = p->s[t->off];
    for (int i = t->off + 1; i < t->off + t->len - 1; i++) {
        out[o++] = p->s[i];
        if (p->s[i] == q)
            i++;
    }
    out[o] = 0;
    *len = o;
    return out;
}

/* Text offset of the k-th character of a string literal's value. */
static int string_offset(const parser *p, int lit_off, int k)
{
    char q = p->s[lit_off];
    int i = lit_off + 1;
    for (int c = 0; c < k && p->s[i]; c++)
        i += p->s[i] == q ? 2 : 1;
    return i;
}

/* A name that is a number literal from its digits, optionally negated. */
static node *number_literal(parser *p, const tok *t, int neg, int off)
{
    node *n = new_node(p, N_LIT, off, 0);
    if (!n)
        return NULL;
    const char *s = p->s + t->off;
    int plain = 1;
    for (int i = 0; i < t->len; i++)
        if (!isdigit((unsigned char)s[i]))
            plain = 0;
    if (plain) {
        char buf[32];
        if (t->len < 20) {
            memcpy(buf, s, (size_t)t->len);
            buf[t->len] = 0;
            errno = 0;
            unsigned long long u = strtoull(buf, NULL, 10);
            if (!errno && u <= (unsigned long long)INT64_MAX + (unsigned)neg) {
                n->lit.kind = SV_INT;
                n->lit.u.i = neg ? (int64_t)(0 - u) : (int64_t)u;
                n->type = MT_INT;
                return n;
            }
        }
    }
    /* a decimal: exact, as written */
    char *txt = arena_alloc(&p->e->mem, (size_t)t->len + 2);
    if (!txt) {
        fail_at(p, off, "out of memory");
        return NULL;
    }
    int k = 0;
    if (neg)
        txt[k++] = '-';
    memcpy(txt + k, s, (size_t)t->len);
    const char *dec;
    size_t decn;
    if (map_decimal_normalize(txt, (size_t)(t->len + k), &p->e->mem, &dec, &decn)) {
        fail_at(p, off, "%.*s is not a number cqlshift can hold exactly (its exponent is beyond "
                "1000)", t->len > 40 ? 40 : t->len, s);
        return NULL;
    }
    n->lit.kind = SV_DECIMAL;
    n->lit.u.s.p = dec;
    n->lit.u.s.n = decn;
    n->lit_number = 1;
    n->type = MT_DECIMAL;
    return n;
}

/* ---- column names ----------------------------------------------------------- */

static int unknown_column(parser *p, int off, const char *name)
{
    const map_env *env = p->env;
    char list[400];
    size_t o = 0;
    int found = 0;
    int limit = (int)strlen(name) <= 3 ? 1 : 2;
    for (int i = 0; i < env->ncols && found < 5; i++) {
        const char *c = env->names[i];
        size_t nl = strlen(name);
        if (text_distance(name, c, 1) <= limit || (nl >= 3 && strncasecmp(c, name, nl) == 0)) {
            o += (size_t)snprintf(list + o, o < sizeof list ? sizeof list - o : 0, "%s%s",
                                  found ? ", " : "", c);
            found++;
        }
    }
    if (o >= sizeof list)
        o = sizeof list - 1;
    if (found)
        return fail_at(p, off, "unknown column \"%s\"; did you mean %s?", name, list);
    o = 0;
    for (int i = 0; i < env->ncols && i < 12; i++)
        o += (size_t)snprintf(list + o, o < sizeof list ? sizeof list - o : 0, "%s%s",
                              i ? ", " : "", env->names[i]);
    if (o >= sizeof list)
        o = sizeof list - 1;
    return fail_at(p, off, "unknown column \"%s\"; the source table's columns are: %s%s", name,
                   env->ncols ? list : "(none)", env->ncols > 12 ? ", ..." : "");
}

static node *column_ref(parser *p, const char *name, int quoted, int off)
{
    const map_env *env = p->env;
    int found = -1, nci = 0, ci = -1;
    for (int i = 0; i < env->ncols; i++) {
        if (!strcmp(env->names[i], name)) {
            found = i;
            break;
        }
        if (!strcasecmp(env->names[i], name)) {
            nci++;
            ci = i;
        }
    }
    if (found < 0 && !quoted && nci == 1)
        found = ci;
    if (found < 0) {
        if (!quoted && nci > 1) {
            char a[100] = "", b[100] = "";
            for (int i = 0, k = 0; i < env->ncols && k < 2; i++)
                if (!strcasecmp(env->names[i], name))
                    snprintf(k++ ? b : a, 100, "%s", env->names[i]);
            fail_at(p, off, "\"%s\" matches more than one column when case is ignored (%s, %s, "
                    "...); write the name exactly as the source has it", name, a, b);
        } else if (quoted && nci > 0) {
            fail_at(p, off, "unknown column \"%s\" (a double-quoted name matches exactly); did "
                    "you mean \"%s\"?", name, env->names[ci]);
        } else {
            unknown_column(p, off, name);
        }
        return NULL;
    }
    map_type t = env->types ? env->types[found] : MT_TEXT;
    if (t == MT_UNSUPPORTED) {
        fail_at(p, off, "column %s has a source type cqlshift cannot copy; leave it out of the "
                "mapping", env->names[found]);
        return NULL;
    }
    node *n = new_node(p, N_COL, off, 0);
    if (!n)
        return NULL;
    n->col = found;
    n->type = t;
    return n;
}

/* ---- parser ----------------------------------------------------------------- */

static node *parse_expr(parser *p);

typedef struct func_def {
    const char *name;
    func_id id;
    int min, max;       /* max -1: any number */
    const char *usage;
} func_def;

static const func_def funcs[] = {
    {"lower", F_LOWER, 1, 1, "lower(text)"},
    {"upper", F_UPPER, 1, 1, "upper(text)"},
    {"trim", F_TRIM, 1, 1, "trim(text)"},
    {"coalesce", F_COALESCE, 2, -1, "coalesce(a, b, ...)"},
    {"cast", F_CAST, 1, 1, "cast(x as TYPE)"},
    {"to_timestamp", F_TO_TIMESTAMP, 3, 3, "to_timestamp(text, 'yyyy-MM-dd HH:mm:ss', 'UTC')"},
    {"from_epoch", F_FROM_EPOCH, 2, 2, "from_epoch(number, 's' | 'ms' | 'us')"},
    {"uuid_from_bytes", F_UUID_FROM_BYTES, 1, 1, "uuid_from_bytes(blob)"},
    {"name_uuid", F_NAME_UUID, 1, -1, "name_uuid(a, b, ...)"},
    {"json_path", F_JSON_PATH, 2, 2, "json_path(json, '$.a.b[0]')"},
    {"unix_time", F_UNIX_TIME, 0, 0, "unix_time()"},
};
#define NFUNCS ((int)(sizeof funcs / sizeof *funcs))

static const char *const cast_types =
    "ascii, bigint, blob, boolean, date, decimal, double, duration, float, inet, int, smallint, "
    "text, time, timestamp, timeuuid, tinyint, uuid, varchar, varint";

/* cast(x as TYPE): the type name after "as". */
static int parse_cast_type(parser *p, node *n)
{
    if (!tok_is(p, "as")) {
        char b[64];
        return fail_at(p, p->t.off, "expected 'as' and a type in cast(x as TYPE), found %s",
                       tok_text(p, &p->t, b, sizeof b));
    }
    if (next(p))
        return -1;
    if (p->t.k != T_IDENT)
        return fail_at(p, p->t.off, "expected a CQL type after 'as' (%s)", cast_types);
    tok t = p->t;
    char name[64];
    snprintf(name, sizeof name, "%.*s", t.len, p->s + t.off);
    for (char *c = name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (!strcmp(name, "list") || !strcmp(name, "set") || !strcmp(name, "map") ||
        !strcmp(name, "frozen") || !strcmp(name, "tuple") || !strcmp(name, "vector"))
        return fail_at(p, t.off, "cast to a collection is not supported; map the column "
                       "directly (the loader converts lists and JSON text into %s columns)",
                       name);
    cql_error ce;
    cql_type *ct = cql_type_parse(name, &ce);
    if (!ct || ct->id == CQL_T_UDT || ct->id == CQL_T_COUNTER || ct->id == CQL_T_CUSTOM) {
        cql_type_free(ct);
        return fail_at(p, t.off, "unknown type '%.*s' in cast; the types are: %s",
                       t.len > 40 ? 40 : t.len, p->s + t.off, cast_types);
    }
    cast_ref *r = arena_alloc(&p->e->mem, sizeof *r);
    if (!r) {
        cql_type_free(ct);
        return fail_at(p, t.off, "out of memory");
    }
    r->t = ct;              /* freed with the expression, whatever happens next */
    r->next = p->e->casts;
    p->e->casts = r;
    n->cast = ct;
    n->type = map_type_of_cql(ct);
    return next(p);
}

/* A literal argument that must be text (a format, a unit, a path). */
static int want_text_literal(parser *p, const node *a, const char *fname, const char *what)
{
    if (a->op != N_LIT || a->lit.kind != SV_TEXT)
        return fail_at(p, a->off, "%s's %s must be a text literal in single quotes (it is "
                       "compiled once, not read from each row)", fname, what);
    return 0;
}

static int type_error(parser *p, const node *a, const char *fname, const char *want,
                      const char *fix)
{
    char what[120];
    if (a->op == N_COL)
        snprintf(what, sizeof what, "%s is %s", p->env->names[a->col], map_type_name(a->type));
    else
        snprintf(what, sizeof what, "this argument is %s", map_type_name(a->type));
    return fail_at(p, a->off, "%s takes %s, and %s%s%s", fname, want, what, fix ? "; " : "",
                   fix ? fix : "");
}

/* The common type of coalesce's arguments, or -1 after an error. */
static int join_types(parser *p, node *n)
{
    map_type t = MT_NULL;
    int first = -1;
    for (int i = 0; i < n->nargs; i++) {
        map_type a = n->args[i]->type;
        if (a == MT_NULL)
            continue;
        if (t == MT_NULL) {
            t = a;
            first = i;
        } else if (a == t) {
            continue;
        } else if (is_numeric(a) && is_numeric(t)) {
            if (a == MT_DECIMAL || t == MT_DECIMAL)
                t = MT_DECIMAL;
            else if (a == MT_DOUBLE || t == MT_DOUBLE)
                t = MT_DOUBLE;
            else
                t = MT_INT;
        } else {
            return fail_at(p, n->args[i]->off, "coalesce's arguments must have one type: "
                           "argument %d is %s and argument %d is %s; cast one of them",
                           first + 1, map_type_name(t), i + 1, map_type_name(a));
        }
    }
    n->type = t;
    return 0;
}

static int check_function(parser *p, node *n, const func_def *f)
{
    switch (f->id) {
    case F_LOWER:
    case F_UPPER:
    case F_TRIM: {
        node *a = n->args[0];
        if (a->type != MT_TEXT && a->type != MT_NULL) {
            char fix[160];
            snprintf(fix, sizeof fix, "write %s(cast(... as text)) if you mean its text form",
                     f->name);
            return type_error(p, a, f->name, "text", fix);
        }
        n->type = MT_TEXT;
        return 0;
    }
    case F_COALESCE: return join_types(p, n);
    case F_CAST: {
        node *a = n->args[0];
        if (a->op == N_LIT) {
            /* a literal is cast once, now: a bad one is a compile error */
            char msg[400];
            src_value v;
            if (map_cast_value(n->cast, &a->lit, &p->e->mem, &v, msg, sizeof msg))
                return fail_at(p, a->off, "%s", msg);
            map_type t = n->type;
            n->cast = NULL;     /* the type stays in e->casts */
            n->op = N_LIT;
            n->lit = v;
            n->nargs = 0;
            n->type = v.kind == SV_NULL ? MT_NULL : t;
        }
        return 0;
    }
    case F_TO_TIMESTAMP: {
        node *a = n->args[0];
        /* a timestamp column is accepted: SQLite keeps DATETIME values as text */
        if (a->type != MT_TEXT && a->type != MT_NULL && a->type != MT_TIMESTAMP &&
            a->type != MT_DATE)
            return type_error(p, a, f->name, "text as its first argument",
                              a->type == MT_INT ? "for a number of seconds or milliseconds "
                                                  "since 1970 use from_epoch"
                                                : "write cast(... as text) to parse its text form");
        if (want_text_literal(p, n->args[1], f->name, "format") ||
            want_text_literal(p, n->args[2], f->name, "time zone"))
            return -1;
        char msg[400];
        int at = 0;
        const node *fa = n->args[1];
        if (map_compile_ts_format(n, &p->e->mem, fa->lit.u.s.p, fa->lit.u.s.n, &at, msg,
                                  sizeof msg))
            return fail_at(p, string_offset(p, fa->off, at), "%s", msg);
        const node *za = n->args[2];
        if (map_compile_zone(n, za->lit.u.s.p, za->lit.u.s.n, msg, sizeof msg))
            return fail_at(p, za->off, "%s", msg);
        n->type = MT_TIMESTAMP;
        return 0;
    }
    case F_FROM_EPOCH: {
        node *a = n->args[0];
        if (!is_numeric(a->type) && a->type != MT_TEXT && a->type != MT_NULL)
            return type_error(p, a, f->name, "a number as its first argument", NULL);
        if (want_text_literal(p, n->args[1], f->name, "unit"))
            return -1;
        const char *u = n->args[1]->lit.u.s.p;
        n->unit = !strcmp(u, "s") ? 1 : !strcmp(u, "ms") ? 1000 : !strcmp(u, "us") ? 1000000 : 0;
        if (!n->unit)
            return fail_at(p, n->args[1]->off, "from_epoch's unit is 's' (seconds), 'ms' "
                           "(milliseconds) or 'us' (microseconds), not '%.20s'", u);
        n->type = MT_TIMESTAMP;
        return 0;
    }
    case F_UUID_FROM_BYTES: {
        node *a = n->args[0];
        if (a->type != MT_BLOB && a->type != MT_UUID && a->type != MT_TEXT && a->type != MT_NULL)
            return type_error(p, a, f->name, "16 bytes (a blob, or text of 32 hex digits)",
                              a->type == MT_INT ? "for a uuid made from values use name_uuid"
                                                : NULL);
        n->type = MT_UUID;
        return 0;
    }
    case F_NAME_UUID:
        n->type = MT_UUID;
        return 0;
    case F_UNIX_TIME:
        n->type = MT_INT;
        return 0;
    case F_JSON_PATH: {
        node *a = n->args[0];
        if (a->type != MT_TEXT && a->type != MT_JSON && a->type != MT_NULL)
            return type_error(p, a, f->name, "JSON (a json column or JSON text)", NULL);
        if (want_text_literal(p, n->args[1], f->name, "path"))
            return -1;
        char msg[400];
        int at = 0;
        const node *pa = n->args[1];
        if (map_compile_path(n, &p->e->mem, pa->lit.u.s.p, pa->lit.u.s.n, &at, msg, sizeof msg))
            return fail_at(p, string_offset(p, pa->off, at), "%s", msg);
        n->type = MT_TEXT;
        return 0;
    }
    }
    return 0;
}

static node *parse_function(parser *p, const tok *name)
{
    char lname[40];
    snprintf(lname, sizeof lname, "%.*s", name->len < 39 ? name->len : 39, p->s + name->off);
    const func_def *f = NULL;
    for (int i = 0; i < NFUNCS; i++)
        if (!strcasecmp(funcs[i].name, lname) && (size_t)name->len == strlen(funcs[i].name))
            f = &funcs[i];
    if (!f) {
        char list[300];
        size_t o = 0;
        for (int i = 0; i < NFUNCS; i++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "",
                                  funcs[i].name);
        fail_at(p, name->off, "unknown function '%.*s'; the functions are: %s",
                name->len > 40 ? 40 : name->len, p->s + name->off, list);
        return NULL;
    }
    if (next(p))    /* past '(' */
        return NULL;
    node *args[64];
    int nargs = 0;
    node *n = new_node(p, N_FUNC, name->off, 0);
    if (!n)
        return NULL;
    n->sub = (int)f->id;
    if (p->t.k != T_RP) {
        for (;;) {
            if (nargs == 64) {
                fail_at(p, p->t.off, "%s: too many arguments (at most 64)", f->name);
                return NULL;
            }
            node *a = parse_expr(p);
            if (!a)
                return NULL;
            args[nargs++] = a;
            if (f->id == F_CAST && parse_cast_type(p, n))   /* "as TYPE" */
                return NULL;
            if (p->t.k == T_COMMA) {
                if (next(p))
                    return NULL;
                continue;
            }
            break;
        }
    }
    if (p->t.k != T_RP) {
        char b[64];
        fail_at(p, p->t.off, "expected ',' or ')' in the arguments of %s, found %s", f->name,
                tok_text(p, &p->t, b, sizeof b));
        return NULL;
    }
    if (nargs < f->min || (f->max >= 0 && nargs > f->max)) {
        int want = nargs < f->min ? f->min : f->max;
        fail_at(p, name->off, "%s takes %s%d argument%s (%s), and %d %s given", f->name,
                f->max < 0 ? "at least " : "", want, want == 1 ? "" : "s", f->usage, nargs,
                nargs == 1 ? "is" : "are");
        return NULL;
    }
    if (next(p))
        return NULL;
    n->args = arena_alloc(&p->e->mem, (size_t)nargs * sizeof *n->args);
    if (!n->args) {
        fail_at(p, name->off, "out of memory");
        return NULL;
    }
    memcpy(n->args, args, (size_t)nargs * sizeof *args);
    n->nargs = nargs;
    if (check_function(p, n, f))
        return NULL;
    return n;
}

static node *parse_primary(parser *p)
{
    tok t = p->t;
    char b[64];
    switch (t.k) {
    case T_NUMBER:
        if (next(p))
            return NULL;
        return number_literal(p, &t, 0, t.off);
    case T_STRING: {
        node *n = new_node(p, N_LIT, t.off, 0);
        size_t len = 0;
        char *s = n ? string_value(p, &t, &len) : NULL;
        if (!s) {
            fail_at(p, t.off, "out of memory");
            return NULL;
        }
        n->lit.kind = SV_TEXT;
        n->lit.u.s.p = s;
        n->lit.u.s.n = len;
        n->type = MT_TEXT;
        return next(p) ? NULL : n;
    }
    case T_QIDENT: {
        size_t len = 0;
        char *s = string_value(p, &t, &len);
        if (!s) {
            fail_at(p, t.off, "out of memory");
            return NULL;
        }
        if (next(p))
            return NULL;
        return column_ref(p, s, 1, t.off);
    }
    case T_IDENT: {
        if (tok_is(p, "null") || tok_is(p, "true") || tok_is(p, "false")) {
            node *n = new_node(p, N_LIT, t.off, 0);
            if (!n)
                return NULL;
            if (tok_is(p, "null")) {
                n->lit.kind = SV_NULL;
                n->type = MT_NULL;
            } else {
                n->lit.kind = SV_BOOL;
                n->lit.u.i = tok_is(p, "true");
                n->type = MT_BOOL;
            }
            return next(p) ? NULL : n;
        }
        if (is_keyword(p)) {
            fail_at(p, t.off, "expected a value, found the keyword %s (a column with that name "
                    "must be double-quoted)", tok_text(p, &t, b, sizeof b));
            return NULL;
        }
        if (next(p))
            return NULL;
        if (p->t.k == T_LP)
            return parse_function(p, &t);
        char *name = arena_strndup(&p->e->mem, p->s + t.off, (size_t)t.len);
        if (!name) {
            fail_at(p, t.off, "out of memory");
            return NULL;
        }
        return column_ref(p, name, 0, t.off);
    }
    case T_LP: {
        if (next(p))
            return NULL;
        node *n = parse_expr(p);
        if (!n)
            return NULL;
        if (p->t.k != T_RP) {
            fail_at(p, p->t.off, "expected ')' to close the '(' at offset %d, found %s", t.off,
                    tok_text(p, &p->t, b, sizeof b));
            return NULL;
        }
        return next(p) ? NULL : n;
    }
    case T_END:
        fail_at(p, t.off, "the expression ends where a value was expected");
        return NULL;
    default:
        fail_at(p, t.off, "expected a value (a column, a literal or a function call), found %s",
                tok_text(p, &t, b, sizeof b));
        return NULL;
    }
}

static node *parse_unary(parser *p)
{
    if (op_is(p, "-") || op_is(p, "+")) {
        tok t = p->t;
        int neg = p->s[t.off] == '-';
        if (next(p))
            return NULL;
        if (p->t.k == T_NUMBER) {
            tok num = p->t;
            if (next(p))
                return NULL;
            return number_literal(p, &num, neg, t.off);
        }
        if (++p->depth > 200) {
            fail_at(p, t.off, "the expression nests too deeply");
            return NULL;
        }
        node *a = parse_unary(p);
        p->depth--;
        if (!a)
            return NULL;
        if (!is_numeric(a->type) && a->type != MT_NULL) {
            fail_at(p, t.off, "unary %c takes a number, and the value is %s", neg ? '-' : '+',
                    map_type_name(a->type));
            return NULL;
        }
        if (!neg)
            return a;
        if (a->type == MT_DECIMAL && !(a->op == N_LIT)) {
            fail_at(p, t.off, "arithmetic on decimal values is not supported (it would round); "
                    "write cast(... as double) if rounding is fine");
            return NULL;
        }
        node *n = new_node(p, N_NEG, t.off, 1);
        if (!n)
            return NULL;
        n->args[0] = a;
        n->type = a->type == MT_UINT ? MT_INT : a->type;
        return n;
    }
    return parse_primary(p);
}

/* A number literal with a point next to a double or an integer in
 * arithmetic becomes a double. */
static void adapt_literal(node *a, map_type other)
{
    if (a->op == N_LIT && a->lit_number && (other == MT_DOUBLE || other == MT_INT ||
                                            other == MT_UINT || other == MT_NULL)) {
        double d = strtod(a->lit.u.s.p, NULL);
        a->lit.kind = SV_DOUBLE;
        a->lit.u.d = d;
        a->type = MT_DOUBLE;
    }
}

static node *arith(parser *p, node *l, node *r, char op, int off)
{
    adapt_literal(l, r->type);
    adapt_literal(r, l->type);
    node *sides[2] = {l, r};
    for (int i = 0; i < 2; i++) {
        node *a = sides[i];
        if (a->type == MT_DECIMAL) {
            fail_at(p, a->off, "arithmetic on decimal values is not supported (it would round); "
                    "write cast(... as double) if rounding is fine");
            return NULL;
        }
        if (!is_numeric(a->type) && a->type != MT_NULL) {
            char what[120];
            if (a->op == N_COL)
                snprintf(what, sizeof what, "%s is %s", p->env->names[a->col],
                         map_type_name(a->type));
            else
                snprintf(what, sizeof what, "this operand is %s", map_type_name(a->type));
            fail_at(p, a->off, "%c takes numbers, and %s%s", op, what,
                    a->type == MT_TEXT ? "; write cast(... as bigint) or cast(... as double) "
                                         "to read its text as a number"
                                       : "");
            return NULL;
        }
    }
    node *n = new_node(p, N_ARITH, off, 2);
    if (!n)
        return NULL;
    n->sub = op;
    n->args[0] = l;
    n->args[1] = r;
    n->type = l->type == MT_DOUBLE || r->type == MT_DOUBLE ? MT_DOUBLE
            : l->type == MT_NULL && r->type == MT_NULL     ? MT_NULL
                                                           : MT_INT;
    return n;
}

static node *parse_mul(parser *p)
{
    node *l = parse_unary(p);
    while (l && (op_is(p, "*") || op_is(p, "/"))) {
        tok t = p->t;
        if (next(p))
            return NULL;
        node *r = parse_unary(p);
        if (!r)
            return NULL;
        l = arith(p, l, r, p->s[t.off], t.off);
    }
    return l;
}

static node *parse_add(parser *p)
{
    node *l = parse_mul(p);
    while (l && (op_is(p, "+") || op_is(p, "-"))) {
        tok t = p->t;
        if (next(p))
            return NULL;
        node *r = parse_mul(p);
        if (!r)
            return NULL;
        l = arith(p, l, r, p->s[t.off], t.off);
    }
    return l;
}

/* a || b || c: one node with every part (no intermediate copies). */
static node *parse_concat(parser *p)
{
    node *first = parse_add(p);
    if (!first || !op_is(p, "||"))
        return first;
    node *parts[64];
    int n = 0;
    parts[n++] = first;
    int off = first->off;
    while (op_is(p, "||")) {
        if (n == 64) {
            fail_at(p, p->t.off, "more than 64 parts joined with ||");
            return NULL;
        }
        if (next(p))
            return NULL;
        node *r = parse_add(p);
        if (!r)
            return NULL;
        parts[n++] = r;
    }
    node *c = new_node(p, N_CONCAT, off, n);
    if (!c)
        return NULL;
    memcpy(c->args, parts, (size_t)n * sizeof *parts);
    c->type = MT_TEXT;
    return c;
}

static int comparable(map_type a, map_type b)
{
    return a == MT_NULL || b == MT_NULL || a == b || (is_numeric(a) && is_numeric(b));
}

/* A text literal compared with a typed value is read as that type now
 * (UpdatedAt > '2024-01-01'). 0, 1 not applicable, -1 error. */
static int coerce_literal(parser *p, node *lit, map_type want)
{
    static const struct { map_type t; const char *cql; } m[] = {
        {MT_TIMESTAMP, "timestamp"}, {MT_DATE, "date"}, {MT_TIME, "time"}, {MT_UUID, "uuid"},
        {MT_INET, "inet"}, {MT_BOOL, "boolean"}, {MT_DURATION, "duration"},
    };
    if (lit->op != N_LIT || lit->lit.kind != SV_TEXT)
        return 1;
    for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
        if (m[i].t != want)
            continue;
        cql_error ce;
        cql_type *ct = cql_type_parse(m[i].cql, &ce);
        if (!ct)
            return fail_at(p, lit->off, "out of memory");
        char msg[400];
        src_value v;
        int rc = map_cast_value(ct, &lit->lit, &p->e->mem, &v, msg, sizeof msg);
        cql_type_free(ct);
        if (rc)
            return fail_at(p, lit->off, "%s", msg);
        lit->lit = v;
        lit->type = want;
        return 0;
    }
    return 1;
}

static node *parse_cmp(parser *p)
{
    node *l = parse_concat(p);
    if (!l)
        return NULL;
    if (tok_is(p, "is")) {
        int off = p->t.off;
        if (next(p))
            return NULL;
        int neg = 0;
        if (tok_is(p, "not")) {
            neg = 1;
            if (next(p))
                return NULL;
        }
        if (!tok_is(p, "null")) {
            char b[64];
            fail_at(p, p->t.off, "expected null after 'is%s', found %s", neg ? " not" : "",
                    tok_text(p, &p->t, b, sizeof b));
            return NULL;
        }
        if (next(p))
            return NULL;
        node *n = new_node(p, neg ? N_IS_NOT_NULL : N_IS_NULL, off, 1);
        if (!n)
            return NULL;
        n->args[0] = l;
        n->type = MT_BOOL;
        return n;
    }
    static const char *const ops[] = {"=", "<>", "!=", "<", "<=", ">", ">="};
    static const cmp_op codes[] = {C_EQ, C_NE, C_NE, C_LT, C_LE, C_GT, C_GE};
    for (int i = 0; i < 7; i++) {
        if (!op_is(p, ops[i]))
            continue;
        tok t = p->t;
        if (next(p))
            return NULL;
        node *r = parse_concat(p);
        if (!r)
            return NULL;
        if (l->type == MT_LIST || l->type == MT_JSON || r->type == MT_LIST || r->type == MT_JSON) {
            fail_at(p, t.off, "%s values cannot be compared; compare a part of them "
                    "(json_path)", map_type_name(l->type == MT_LIST || l->type == MT_JSON
                                                     ? l->type : r->type));
            return NULL;
        }
        if (!comparable(l->type, r->type)) {
            int rc = coerce_literal(p, r, l->type);
            if (rc == 1)
                rc = coerce_literal(p, l, r->type);
            if (rc < 0)
                return NULL;
            if (rc == 1) {
                fail_at(p, t.off, "cannot compare %s with %s; cast one side, e.g. "
                        "cast(... as %s)", map_type_name(l->type), map_type_name(r->type),
                        l->type == MT_TEXT ? map_type_name(r->type) : map_type_name(l->type));
                return NULL;
            }
        }
        node *n = new_node(p, N_CMP, t.off, 2);
        if (!n)
            return NULL;
        n->sub = codes[i];
        n->args[0] = l;
        n->args[1] = r;
        n->type = MT_BOOL;
        for (int k = 0; k < 7; k++)
            if (op_is(p, ops[k])) {
                fail_at(p, p->t.off, "comparisons do not chain (a < b < c); join them with and");
                return NULL;
            }
        return n;
    }
    return l;
}

static int want_bool(parser *p, const node *a, const char *op)
{
    if (a->type == MT_BOOL || a->type == MT_NULL)
        return 0;
    if (a->op == N_COL)
        return fail_at(p, a->off, "%s takes true/false values, and %s is %s; compare it, e.g. "
                       "%s is not null", op, p->env->names[a->col], map_type_name(a->type),
                       p->env->names[a->col]);
    return fail_at(p, a->off, "%s takes true/false values, and this is %s", op,
                   map_type_name(a->type));
}

static node *parse_not(parser *p)
{
    if (tok_is(p, "not")) {
        int off = p->t.off;
        if (next(p))
            return NULL;
        if (++p->depth > 200) {
            fail_at(p, off, "the expression nests too deeply");
            return NULL;
        }
        node *a = parse_not(p);
        p->depth--;
        if (!a || want_bool(p, a, "not"))
            return NULL;
        node *n = new_node(p, N_NOT, off, 1);
        if (!n)
            return NULL;
        n->args[0] = a;
        n->type = MT_BOOL;
        return n;
    }
    return parse_cmp(p);
}

static node *logic(parser *p, node_op op, const char *word, node *(*sub)(parser *))
{
    node *l = sub(p);
    while (l && tok_is(p, word)) {
        int off = p->t.off;
        if (next(p))
            return NULL;
        node *r = sub(p);
        if (!r || want_bool(p, l, word) || want_bool(p, r, word))
            return NULL;
        node *n = new_node(p, op, off, 2);
        if (!n)
            return NULL;
        n->args[0] = l;
        n->args[1] = r;
        n->type = MT_BOOL;
        l = n;
    }
    return l;
}

static node *parse_and(parser *p) { return logic(p, N_AND, "and", parse_not); }

static node *parse_expr(parser *p)
{
    if (++p->depth > 200) {
        fail_at(p, p->t.off, "the expression nests too deeply");
        return NULL;
    }
    node *n = logic(p, N_OR, "or", parse_and);
    p->depth--;
    return n;
}

/* ---- public ----------------------------------------------------------------- */

void map_expr_free(map_expr *e)
{
    if (!e)
        return;
    for (cast_ref *r = e->casts; r; r = r->next)
        cql_type_free(r->t);
    arena_release(&e->mem);
    free(e);
}

map_expr *map_expr_compile(const char *text, const map_env *env, map_type *type, map_error *err)
{
    map_error dummy;
    if (!err)
        err = &dummy;
    err->offset = 0;
    err->msg[0] = 0;
    map_expr *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return NULL;
    }
    arena_init(&e->mem, 1024);
    static const map_env no_columns = {0, NULL, NULL};
    parser p = {.s = text ? text : "", .env = env ? env : &no_columns, .e = e, .err = err};
    node *root = NULL;
    if (next(&p) == 0) {
        if (p.t.k == T_END) {
            fail_at(&p, 0, "the expression is empty; write a column name, a literal ('text', "
                    "42, null) or a function call");
        } else {
            root = parse_expr(&p);
            if (root && p.t.k != T_END) {
                char b[64];
                fail_at(&p, p.t.off, "unexpected %s after the end of the expression%s",
                        tok_text(&p, &p.t, b, sizeof b),
                        p.t.k == T_RP ? " (a ')' without its '(')"
                        : p.t.k == T_IDENT || p.t.k == T_QIDENT || p.t.k == T_STRING ||
                                p.t.k == T_NUMBER
                            ? " (a missing operator or comma?)"
                            : "");
                root = NULL;
            }
        }
    }
    if (!root) {
        e->root = NULL;     /* the cast types made so far are in e->casts */
        map_expr_free(e);
        return NULL;
    }
    e->root = root;
    if (type)
        *type = root->type;
    return e;
}

map_type map_expr_type(const map_expr *e) { return e->root->type; }

int map_expr_column(const map_expr *e) { return e->root->op == N_COL ? e->root->col : -1; }

static void mark_columns(const node *n, unsigned char *used, int ncols)
{
    if (n->op == N_COL && n->col >= 0 && n->col < ncols)
        used[n->col] = 1;
    for (int i = 0; i < n->nargs; i++)
        mark_columns(n->args[i], used, ncols);
}

void map_expr_uses(const map_expr *e, unsigned char *used, int ncols)
{
    mark_columns(e->root, used, ncols);
}

static int has_column(const node *n)
{
    if (n->op == N_COL)
        return 1;
    for (int i = 0; i < n->nargs; i++)
        if (has_column(n->args[i]))
            return 1;
    return 0;
}

int map_expr_is_constant(const map_expr *e) { return !has_column(e->root); }

int map_expr_eval(const map_expr *e, const src_value *row, arena *a, src_value *out,
                  map_error *err)
{
    MAP_ASSERT(e && e->root && out);
    return map_eval_node(e->root, row, a, out, err);
}
