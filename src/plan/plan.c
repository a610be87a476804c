/* Reading and checking a plan file (plan.h, docs/plan.md) with libyaml's
 * document API: every node keeps its start mark, which gives each message
 * its line and column. */
#include "plan/plan.h"
#include "util/text.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>


#define NAME_MAX_LEN 48
#define TTL_MAX 630720000   /* Cassandra's maximum TTL: 20 years */

int plan_fail_at(plan_error *err, const char *file, int line, int col, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->line = line;
    err->col = col;
    int n = line > 0 ? snprintf(err->msg, sizeof err->msg, "%s:%d:%d: ", file, line, col)
                     : snprintf(err->msg, sizeof err->msg, "%s: ", file);
    if (n < 0 || (size_t)n >= sizeof err->msg)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- release ----------------------------------------------------------------- */

static void scalar_release(plan_scalar *s)
{
    free(s->text);
    memset(s, 0, sizeof *s);
}

static void table_release(plan_table *t)
{
    scalar_release(&t->name);
    for (int i = 0; i < t->ncols; i++) {
        scalar_release(&t->cols[i].name);
        scalar_release(&t->cols[i].type);
        cql_type_free(t->cols[i].ctype);
    }
    free(t->cols);
    for (int i = 0; i < t->npk; i++)
        scalar_release(&t->pk[i].name);
    free(t->pk);
    for (int i = 0; i < t->nck; i++)
        scalar_release(&t->ck[i].name);
    free(t->ck);
    for (int i = 0; i < t->nopts; i++) {
        scalar_release(&t->opts[i].name);
        free(t->opts[i].cql);
    }
    free(t->opts);
    for (int i = 0; i < t->nindexes; i++) {
        scalar_release(&t->indexes[i].name);
        scalar_release(&t->indexes[i].column);
        scalar_release(&t->indexes[i].using);
    }
    free(t->indexes);
}

static void mapping_release(plan_mapping *m)
{
    scalar_release(&m->from);
    scalar_release(&m->query);
    scalar_release(&m->to);
    scalar_release(&m->where);
    scalar_release(&m->writetime);
    scalar_release(&m->ttl);
    for (int i = 0; i < m->ncols; i++) {
        scalar_release(&m->cols[i].target);
        scalar_release(&m->cols[i].expr);
    }
    free(m->cols);
}

void plan_release(plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->ntables; i++)
        table_release(&p->tables[i]);
    free(p->tables);
    for (int i = 0; i < p->nmappings; i++)
        mapping_release(&p->mappings[i]);
    free(p->mappings);
    scalar_release(&p->source);
    scalar_release(&p->keyspace);
    free(p->replication);
    free(p->file);
    free(p->text);
    memset(p, 0, sizeof *p);
}

/* ---- positions ----------------------------------------------------------------- */

/* Step over one UTF-8 character. */
static const char *next_char(const char *s)
{
    s++;
    while (((unsigned char)*s & 0xC0) == 0x80)
        s++;
    return s;
}

/* Past blanks that end a line (*c counts the columns). */
static void skip_trailing_blanks(const char **r, int *c)
{
    const char *w = *r;
    while (*w == ' ' || *w == '\t')
        w++;
    if (*w == '\n') {
        *c += (int)(w - *r);
        *r = w;
    }
}

void plan_pos_at(const plan_scalar *s, int offset, int *line, int *col)
{
    *line = s->line;
    *col = s->col;
    if (!s->raw || !s->text)
        return;
    const char *r = s->raw;
    int l = s->line, c = s->col;
    if (s->style == PLAN_SINGLE_QUOTED || s->style == PLAN_DOUBLE_QUOTED) {
        r++;
        c++;
    } else if (s->style == PLAN_LITERAL || s->style == PLAN_FOLDED) {
        /* skip the header line ("|", "|-", ">+2" and a comment) */
        while (*r && *r != '\n')
            r++;
        if (*r)
            r++;
        l++;
        c = 1;
        while (*r == ' ') {
            r++;
            c++;
        }
    }
    int indent = c - 1;     /* a block's lines: their indentation is not in the value */
    const char *v = s->text;
    const char *vend = s->text + strlen(s->text);
    const char *target = s->text + (offset < 0 ? 0 : offset);
    if (target > vend)
        target = vend;
    int literal = s->style == PLAN_LITERAL;
    int block = literal || s->style == PLAN_FOLDED;
    while (v < target && *r) {
        /* flow scalars (plain, quoted): blanks before a line break are not
         * in the value */
        if (!block)
            skip_trailing_blanks(&r, &c);
        if (*r == '\n') {
            /* line breaks of the raw text: the value has '\n' for each in a
             * literal block; elsewhere one break is a ' ', and n breaks
             * (blank lines) are n - 1 '\n' */
            int breaks = 0;
            do {
                r++;
                l++;
                c = 1;
                breaks++;
                while ((*r == ' ' || (*r == '\t' && !block)) && (!block || c <= indent)) {
                    r++;
                    c++;
                }
                if (!block)
                    skip_trailing_blanks(&r, &c);
            } while (!literal && *r == '\n');
            v += literal || breaks == 1 ? 1 : breaks - 1;
            continue;
        }
        if (s->style == PLAN_DOUBLE_QUOTED && r[0] == '\\' && r[1] == '\n') {
            /* an escaped line break: nothing in the value */
            r += 2;
            l++;
            c = 1;
            while (*r == ' ' || *r == '\t') {
                r++;
                c++;
            }
            continue;
        }
        if (s->style == PLAN_SINGLE_QUOTED && r[0] == '\'' && r[1] == '\'') {
            r += 2;
            c += 2;
            v++;
            continue;
        }
        if (s->style == PLAN_DOUBLE_QUOTED && r[0] == '\\' && r[1]) {
            int width = r[1] == 'x' ? 4 : r[1] == 'u' ? 6 : r[1] == 'U' ? 10 : 2;
            for (int k = 0; k < width && *r && *r != '"'; k++)
                r++;
            c += width;
            v = next_char(v);
            continue;
        }
        const char *nr = next_char(r);
        v += nr - r;
        r = nr;
        c++;
    }
    *line = l;
    *col = c;
}

/* ---- the parse context ------------------------------------------------------------ */

typedef struct ctx {
    yaml_document_t doc;
    plan *p;
    plan_error *err;
    const char *file;
    const char **line_start;   /* byte offset of each line of p->text */
    int nlines;
} ctx;

static yaml_node_t *node_at(ctx *c, yaml_node_item_t id) { return yaml_document_get_node(&c->doc, id); }

static int node_line(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }
static int node_col(const yaml_node_t *n) { return (int)n->start_mark.column + 1; }

static int fail(ctx *c, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return plan_fail_at(c->err, c->file, n ? node_line(n) : 1, n ? node_col(n) : 1, "%s", msg);
}

static int fail_scalar(ctx *c, const plan_scalar *s, int offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_scalar(ctx *c, const plan_scalar *s, int offset, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int l, col;
    plan_pos_at(s, offset, &l, &col);
    return plan_fail_at(c->err, c->file, l, col, "%s", msg);
}

static int oom(ctx *c) { return plan_fail_at(c->err, c->file, 0, 0, "out of memory"); }

/* The byte in p->text of a mark (libyaml counts characters in a line). */
static const char *raw_at(ctx *c, const yaml_mark_t *m)
{
    if ((int)m->line >= c->nlines)
        return NULL;
    const char *r = c->line_start[m->line];
    for (size_t k = 0; k < m->column && *r && *r != '\n'; k++)
        r = next_char(r);
    return r;
}

static const char *kind_words(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping (key: value lines)";
    case YAML_SEQUENCE_NODE: return "a list";
    default: return "a single value";
    }
}

static int is_null_scalar(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = (const char *)n->data.scalar.value;
    return !v[0] || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

/* Copy scalar node n into *s; what names it in the message if n is not a
 * scalar. */
static int get_scalar(ctx *c, yaml_node_t *n, plan_scalar *s, const char *what)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail(c, n, "%s must be a single value, not %s", what, kind_words(n));
    s->text = strndup((const char *)n->data.scalar.value, n->data.scalar.length);
    if (!s->text)
        return oom(c);
    if (strlen(s->text) != n->data.scalar.length)
        return fail(c, n, "%s holds a NUL character: remove it", what);
    s->line = node_line(n);
    s->col = node_col(n);
    switch (n->data.scalar.style) {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE: s->style = PLAN_SINGLE_QUOTED; break;
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE: s->style = PLAN_DOUBLE_QUOTED; break;
    case YAML_LITERAL_SCALAR_STYLE: s->style = PLAN_LITERAL; break;
    case YAML_FOLDED_SCALAR_STYLE: s->style = PLAN_FOLDED; break;
    default: s->style = PLAN_PLAIN; break;
    }
    s->raw = raw_at(c, &n->start_mark);
    return 0;
}

/* The word of list (NULL-ended) nearest to w, if near enough to suggest. */
static const char *nearest(const char *w, const char *const *list)
{
    const char *best = NULL;
    int bd = 99;
    for (; *list; list++) {
        int d = text_distance(w, *list, 1);
        size_t n = strlen(*list);
        if ((!strncasecmp(w, *list, n < strlen(w) ? n : strlen(w)) && strlen(w) >= 3) ||
            (strlen(w) >= 4 && strcasestr(*list, w)))
            d = d < 2 ? d : 2;  /* a prefix or a part is near */
        if (d < bd) {
            bd = d;
            best = *list;
        }
    }
    size_t wl = strlen(w);
    return bd <= (wl <= 4 ? 1 : wl <= 8 ? 2 : 3) ? best : NULL;
}

static void join_words(const char *const *list, char *out, size_t n)
{
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; list[i] && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s", i ? ", " : "", list[i]);
}

/* Check the keys of mapping node n: each a plain scalar, each in `allowed`,
 * each once. `where` names the mapping in messages ("table album"). */
static int check_keys(ctx *c, yaml_node_t *n, const char *const *allowed, const char *where)
{
    for (yaml_node_pair_t *a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top; a++) {
        yaml_node_t *k = node_at(c, a->key);
        if (k->type != YAML_SCALAR_NODE)
            return fail(c, k, "a key of %s is %s: keys are names", where, kind_words(k));
        const char *ks = (const char *)k->data.scalar.value;
        int ok = 0;
        for (const char *const *w = allowed; *w && !ok; w++)
            ok = !strcmp(ks, *w);
        if (!ok) {
            char words[400];
            join_words(allowed, words, sizeof words);
            const char *near = nearest(ks, allowed);
            if (near)
                return fail(c, k, "unknown key '%s' in %s: did you mean '%s'? (the keys are %s)",
                            ks, where, near, words);
            return fail(c, k, "unknown key '%s' in %s: the keys are %s", ks, where, words);
        }
        for (yaml_node_pair_t *b = n->data.mapping.pairs.start; b < a; b++) {
            yaml_node_t *kb = node_at(c, b->key);
            if (kb->type == YAML_SCALAR_NODE && !strcmp((const char *)kb->data.scalar.value, ks))
                return fail(c, k, "key '%s' appears twice in %s (first at line %d): keep one",
                            ks, where, node_line(kb));
        }
    }
    return 0;
}

/* The value of key `key` in mapping n, or NULL; *keynode the key's node. */
static yaml_node_t *get(ctx *c, yaml_node_t *n, const char *key, yaml_node_t **keynode)
{
    for (yaml_node_pair_t *a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top; a++) {
        yaml_node_t *k = node_at(c, a->key);
        if (k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key)) {
            if (keynode)
                *keynode = k;
            return node_at(c, a->value);
        }
    }
    return NULL;
}

static int npairs(const yaml_node_t *n) { return (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start); }
static int nitems(const yaml_node_t *n) { return (int)(n->data.sequence.items.top - n->data.sequence.items.start); }

/* A plain true/false. */
static int get_bool(ctx *c, yaml_node_t *n, int *out, const char *what)
{
    if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        const char *v = (const char *)n->data.scalar.value;
        if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) {
            *out = 1;
            return 0;
        }
        if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")) {
            *out = 0;
            return 0;
        }
    }
    if (n->type == YAML_SCALAR_NODE)
        return fail(c, n, "%s takes true or false (unquoted), not '%s'", what,
                    (const char *)n->data.scalar.value);
    return fail(c, n, "%s takes true or false, not %s", what, kind_words(n));
}

/* A plain integer in [min, max]. */
static int get_int(ctx *c, yaml_node_t *n, long long min, long long max, long long *out,
                   const char *what)
{
    if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        const char *v = (const char *)n->data.scalar.value;
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (*v && !*end && !errno && x >= min && x <= max && !isspace((unsigned char)*v)) {
            *out = x;
            return 0;
        }
    }
    if (n->type == YAML_SCALAR_NODE)
        return fail(c, n, "%s takes a whole number from %lld to %lld (unquoted), not '%s'", what,
                    min, max, (const char *)n->data.scalar.value);
    return fail(c, n, "%s takes a whole number from %lld to %lld, not %s", what, min, max,
                kind_words(n));
}

static int plain_number(const char *v)
{
    char *end;
    if (!*v || isspace((unsigned char)*v))
        return 0;
    errno = 0;
    double d = strtod(v, &end);
    (void)d;
    return !*end && !errno && strspn(v, "+-0123456789.eE") == strlen(v);
}

/* ---- names and types ------------------------------------------------------------ */

static void fold_lower(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s && o + 1 < n; s++)
        out[o++] = (char)(isalnum((unsigned char)*s) && (unsigned char)*s < 0x80
                              ? tolower((unsigned char)*s)
                              : '_');
    out[o] = 0;
}

/* Keyspace, table and index names: 1 to 48 lower-case letters, digits or
 * '_' (what the automatic model writes; upper case would need quoting). */
static int check_name(ctx *c, const plan_scalar *s, const char *what, size_t maxlen)
{
    size_t n = strlen(s->text);
    int bad = n == 0 || n > maxlen;
    for (const char *p = s->text; *p && !bad; p++)
        bad = !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
    if (!bad)
        return 0;
    char folded[128];
    fold_lower(s->text, folded, sizeof folded < maxlen + 1 ? sizeof folded : maxlen + 1);
    if (n == 0)
        return fail_scalar(c, s, 0, "%s is empty: give a name of lower-case letters, digits and '_'",
                           what);
    if (n > maxlen)
        return fail_scalar(c, s, 0, "%s '%s' is longer than %zu characters: shorten it (e.g. '%s')",
                           what, s->text, maxlen, folded);
    return fail_scalar(c, s, 0,
                       "%s '%s' is not a valid name: use lower-case letters, digits and '_' "
                       "(e.g. '%s')",
                       what, s->text, folded);
}

static const char *const cql_type_names[] = {
    "ascii", "bigint", "blob", "boolean", "date", "decimal", "double", "duration", "float",
    "inet", "int", "smallint", "text", "time", "timestamp", "timeuuid", "tinyint", "uuid",
    "varchar", "varint", "list", "set", "map", "frozen", "tuple", "vector", NULL};

/* The first UDT/custom/counter name inside t, or NULL. */
static const cql_type *bad_type_part(const cql_type *t)
{
    if (t->id == CQL_T_UDT || t->id == CQL_T_CUSTOM || t->id == CQL_T_COUNTER)
        return t;
    for (int i = 0; i < t->nsub; i++) {
        const cql_type *b = bad_type_part(t->sub[i]);
        if (b)
            return b;
    }
    return NULL;
}

static int parse_type(ctx *c, plan_column *col, const char *table)
{
    cql_error ce;
    memset(&ce, 0, sizeof ce);
    col->ctype = cql_type_parse(col->type.text, &ce);
    const cql_type *bad = col->ctype ? bad_type_part(col->ctype) : NULL;
    if (col->ctype && !bad)
        return 0;
    char words[300];
    join_words(cql_type_names, words, sizeof words);
    if (bad && bad->id == CQL_T_COUNTER)
        return fail_scalar(c, &col->type, 0,
                           "table %s, column %s: counter columns cannot be loaded (a counter is "
                           "only incremented): use bigint",
                           table, col->name.text);
    const char *name = bad && bad->udt_name ? bad->udt_name : col->type.text;
    const char *near = nearest(name, cql_type_names);
    int off = 0;
    const char *at = strstr(col->type.text, name);
    if (at)
        off = (int)(at - col->type.text);
    if (!strcasecmp(name, "string") || !strncasecmp(name, "varchar(", 8) ||
        !strncasecmp(name, "nvarchar", 8))
        near = "text";
    else if (!strcasecmp(name, "integer"))
        near = "int";
    else if (!strcasecmp(name, "bool"))
        near = "boolean";
    else if (!strcasecmp(name, "datetime"))
        near = "timestamp";
    else if (!strcasecmp(name, "numeric"))
        near = "decimal";
    if (near)
        return fail_scalar(c, &col->type, off,
                           "table %s, column %s: unknown CQL type '%s': did you mean '%s'? (the "
                           "types are %s)",
                           table, col->name.text, name, near, words);
    return fail_scalar(c, &col->type, off,
                       "table %s, column %s: '%s' is not a CQL type: use one of %s (collections "
                       "as list<int>, map<text, int>, frozen<...>)",
                       table, col->name.text, col->type.text, words);
}

/* ---- keyspace ---------------------------------------------------------------------- */

static int dc_name_ok(const char *s)
{
    if (!*s || strlen(s) > 63)
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || strchr("_-.", *s)) || (unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

static int parse_replication(ctx *c, yaml_node_t *n)
{
    model_error me;
    if (n->type == YAML_SCALAR_NODE) {
        /* the --replication form: SimpleStrategy:N or DC:N,... */
        if (model_parse_replication((const char *)n->data.scalar.value, &c->p->replication, &me)) {
            const char *m = strstr(me.msg, ": use ");
            return fail(c, n, "replication '%s' is not a replication setting%s; or write the map "
                              "form {class: SimpleStrategy, replication_factor: 1}",
                        (const char *)n->data.scalar.value, m ? m : "");
        }
        return 0;
    }
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "replication must be a mapping such as {class: SimpleStrategy, "
                          "replication_factor: 1}, not %s", kind_words(n));
    yaml_node_t *k, *cls = get(c, n, "class", &k);
    if (!cls)
        return fail(c, n, "replication has no class: add class: SimpleStrategy (one data center) "
                          "or class: NetworkTopologyStrategy with one DC_NAME: N per data center");
    if (cls->type != YAML_SCALAR_NODE)
        return fail(c, cls, "replication class must be SimpleStrategy or NetworkTopologyStrategy");
    const char *cv = (const char *)cls->data.scalar.value;
    const char *dot = strrchr(cv, '.');
    if (dot && !strncmp(cv, "org.apache.cassandra.locator.", 29))
        cv = dot + 1;
    int simple = !strcmp(cv, "SimpleStrategy");
    if (!simple && strcmp(cv, "NetworkTopologyStrategy")) {
        static const char *const classes[] = {"SimpleStrategy", "NetworkTopologyStrategy", NULL};
        const char *near = nearest(cv, classes);
        return fail(c, cls, "unknown replication class '%s': use SimpleStrategy or "
                            "NetworkTopologyStrategy%s%s%s",
                    cv, near ? " (did you mean " : "", near ? near : "", near ? "?)" : "");
    }
    json_t *o = json_object();
    if (!o)
        return oom(c);
    json_object_set_new(o, "class", json_string(simple ? "SimpleStrategy" : "NetworkTopologyStrategy"));
    int ndc = 0;
    for (yaml_node_pair_t *a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top; a++) {
        yaml_node_t *key = node_at(c, a->key), *val = node_at(c, a->value);
        if (key->type != YAML_SCALAR_NODE) {
            json_decref(o);
            return fail(c, key, "a key of replication is %s: keys are names", kind_words(key));
        }
        const char *ks = (const char *)key->data.scalar.value;
        if (!strcmp(ks, "class"))
            continue;
        if (json_object_get(o, ks)) {
            json_decref(o);
            return fail(c, key, "replication names '%s' twice: keep one", ks);
        }
        if (simple && strcmp(ks, "replication_factor")) {
            json_decref(o);
            return fail(c, key, "SimpleStrategy takes only replication_factor, not '%s': for "
                                "factors per data center use class: NetworkTopologyStrategy",
                        ks);
        }
        if (!simple && (!dc_name_ok(ks) || !strcmp(ks, "replication_factor"))) {
            json_decref(o);
            return fail(c, key, "'%s' is not a data center name: NetworkTopologyStrategy takes "
                                "one DC_NAME: N per data center (letters, digits, '_', '-', '.')",
                        ks);
        }
        long long rf;
        char what[128];
        snprintf(what, sizeof what, "replication %s", ks);
        if (get_int(c, val, 1, 99, &rf, what)) {
            json_decref(o);
            return -1;
        }
        json_object_set_new(o, ks, json_integer(rf));
        ndc++;
    }
    if (!ndc) {
        json_decref(o);
        return fail(c, n, simple ? "SimpleStrategy needs replication_factor: N (1 to 99)"
                                 : "NetworkTopologyStrategy needs at least one DC_NAME: N "
                                   "(the replicas in that data center)");
    }
    c->p->replication = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return c->p->replication ? 0 : oom(c);
}

static int parse_keyspace(ctx *c, yaml_node_t *top, yaml_node_t *n, yaml_node_t *key)
{
    static const char *const keys[] = {"name", "replication", "durable_writes", NULL};
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "keyspace must be a mapping with name and replication (see "
                          "docs/plan.md), not %s",
                    kind_words(n));
    if (check_keys(c, n, keys, "keyspace"))
        return -1;
    yaml_node_t *v = get(c, n, "name", NULL);
    if (!v || is_null_scalar(v))
        return fail(c, v ? v : key, "the keyspace has no name: add name: KEYSPACE under keyspace");
    if (get_scalar(c, v, &c->p->keyspace, "the keyspace name") ||
        check_name(c, &c->p->keyspace, "keyspace name", NAME_MAX_LEN))
        return -1;
    if ((v = get(c, n, "replication", NULL)) && !is_null_scalar(v) && parse_replication(c, v))
        return -1;
    c->p->durable_writes = 1;
    if ((v = get(c, n, "durable_writes", NULL)) && get_bool(c, v, &c->p->durable_writes, "durable_writes"))
        return -1;
    (void)top;
    return 0;
}

/* ---- tables ---------------------------------------------------------------------------- */

static int find_column(const plan_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (!strcmp(t->cols[i].name.text, name))
            return i;
    return -1;
}

/* "no column 'x' in table t (its columns: a, b, c)" with a near name. */
static int fail_no_column(ctx *c, const plan_scalar *s, int off, const plan_table *t,
                          const char *name, const char *role)
{
    char cols[500];
    size_t o = 0;
    cols[0] = 0;
    const char *list[256];
    int nl = 0;
    for (int i = 0; i < t->ncols && o < sizeof cols; i++) {
        o += (size_t)snprintf(cols + o, sizeof cols - o, "%s%s", i ? ", " : "", t->cols[i].name.text);
        if (nl < 255)
            list[nl++] = t->cols[i].name.text;
    }
    list[nl] = NULL;
    const char *near = nearest(name, list);
    if (near)
        return fail_scalar(c, s, off, "%s '%s' is not a column of table %s: did you mean '%s'? "
                                      "(its columns: %s)",
                           role, name, t->name.text, near, cols);
    return fail_scalar(c, s, off, "%s '%s' is not a column of table %s (its columns: %s): add it "
                                  "under columns or name one of them",
                       role, name, t->name.text, cols);
}

/* A column type that cannot be part of a primary key: a collection or
 * vector that is not frozen, or a duration. */
static const char *key_type_problem(const cql_type *t)
{
    if (t->id == CQL_T_DURATION)
        return "duration columns cannot be in a primary key";
    if ((t->id == CQL_T_LIST || t->id == CQL_T_SET || t->id == CQL_T_MAP) && !t->frozen)
        return "a collection in a primary key must be frozen (frozen<...>)";
    if (t->id == CQL_T_VECTOR)
        return "a vector cannot be in a primary key";
    return NULL;
}

static int parse_key_list(ctx *c, plan_table *t, yaml_node_t *n, yaml_node_t *key, int clustering)
{
    const char *role = clustering ? "clustering column" : "partition key column";
    const char *what = clustering ? "clustering" : "partition_key";
    if (!n || is_null_scalar(n)) {
        if (clustering)
            return 0;
        return fail(c, n ? n : key,
                    "table %s has no partition key: add partition_key: [COLUMN, ...] (the "
                    "columns that pick the partition)",
                    t->name.text);
    }
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(c, n, "%s of table %s must be a list such as [%s], not %s", what, t->name.text,
                    t->ncols ? t->cols[0].name.text : "col", kind_words(n));
    int cnt = nitems(n);
    if (cnt == 0 && !clustering)
        return fail(c, n, "the partition key of table %s is empty: name at least one column, e.g. "
                          "partition_key: [%s]",
                    t->name.text, t->ncols ? t->cols[0].name.text : "id");
    plan_key *keys = calloc((size_t)(cnt ? cnt : 1), sizeof *keys);
    if (!keys)
        return oom(c);
    if (clustering)
        t->ck = keys;
    else
        t->pk = keys;
    for (int i = 0; i < cnt; i++) {
        yaml_node_t *it = node_at(c, n->data.sequence.items.start[i]);
        plan_key *k = &keys[i];
        if (clustering)
            t->nck++;
        else
            t->npk++;
        if (get_scalar(c, it, &k->name, role))
            return -1;
        /* "col" or "col asc|desc" */
        char word[256] = "", order[64] = "";
        int ow = 0, consumed = 0;
        const char *txt = k->name.text;
        if (sscanf(txt, " %255s %n", word, &consumed) < 1)
            return fail_scalar(c, &k->name, 0, "an empty %s in table %s: name a column",
                               role, t->name.text);
        const char *rest = txt + consumed;
        ow = consumed;
        if (*rest) {
            int used = 0;
            sscanf(rest, "%63s %n", order, &used);
            if (!clustering)
                return fail_scalar(c, &k->name, ow, "partition key column '%s' of table %s takes "
                                                    "no order: write just the column name",
                                   word, t->name.text);
            if (strcasecmp(order, "asc") && strcasecmp(order, "desc"))
                return fail_scalar(c, &k->name, ow, "'%s' is not an order: write '%s asc' or "
                                                    "'%s desc' (clustering column of table %s)",
                                   order, word, word, t->name.text);
            if (rest[used])
                return fail_scalar(c, &k->name, ow + used, "unexpected '%s' after '%s %s': one "
                                                           "column per list entry",
                                   rest + used, word, order);
            k->desc = !strcasecmp(order, "desc");
        }
        int wo = (int)(strstr(txt, word) - txt);
        k->col = find_column(t, word);
        if (k->col < 0)
            return fail_no_column(c, &k->name, wo, t, word, role);
        for (int j = 0; j < i; j++)
            if (keys[j].col == k->col)
                return fail_scalar(c, &k->name, wo, "%s '%s' is named twice in table %s: keep one",
                                   role, word, t->name.text);
        if (clustering)
            for (int j = 0; j < t->npk; j++)
                if (t->pk[j].col == k->col)
                    return fail_scalar(c, &k->name, wo, "column '%s' of table %s is in the "
                                                        "partition key already: a column is "
                                                        "either partition key or clustering",
                                       word, t->name.text);
        const char *prob = key_type_problem(t->cols[k->col].ctype);
        if (prob)
            return fail_scalar(c, &k->name, wo, "%s '%s' of table %s is %s: %s; take it out of "
                                                "the key or change its type",
                               role, word, t->name.text, t->cols[k->col].type.text, prob);
    }
    return 0;
}

/* Table options: name and the kind of value it takes. */
enum { OV_INT, OV_NUM, OV_TEXT, OV_BOOL, OV_MAP };
static const struct {
    const char *name;
    int kind;
} table_options[] = {
    {"default_time_to_live", OV_INT}, {"gc_grace_seconds", OV_INT},
    {"comment", OV_TEXT},             {"compaction", OV_MAP},
    {"compression", OV_MAP},          {"caching", OV_MAP},
    {"bloom_filter_fp_chance", OV_NUM}, {"crc_check_chance", OV_NUM},
    {"memtable_flush_period_in_ms", OV_INT}, {"speculative_retry", OV_TEXT},
    {"additional_write_policy", OV_TEXT}, {"read_repair", OV_TEXT},
    {"cdc", OV_BOOL},                 {"min_index_interval", OV_INT},
    {"max_index_interval", OV_INT},
};
#define NOPTIONS ((int)(sizeof table_options / sizeof table_options[0]))

static int put_cql_str(cs_buf *b, const char *s)
{
    if (cs_buf_printf(b, "'"))
        return -1;
    for (; *s; s++)
        if ((*s == '\'' && cs_buf_printf(b, "'")) || cs_buf_printf(b, "%c", *s))
            return -1;
    return cs_buf_printf(b, "'");
}

static int parse_option(ctx *c, plan_table *t, yaml_node_t *k, yaml_node_t *v)
{
    plan_option *o = &t->opts[t->nopts++];
    if (get_scalar(c, k, &o->name, "an option name"))
        return -1;
    int kind = -1;
    for (int i = 0; i < NOPTIONS; i++)
        if (!strcmp(table_options[i].name, o->name.text))
            kind = table_options[i].kind;
    if (kind < 0) {
        const char *names[NOPTIONS + 1];
        for (int i = 0; i < NOPTIONS; i++)
            names[i] = table_options[i].name;
        names[NOPTIONS] = NULL;
        const char *near = nearest(o->name.text, names);
        char words[600];
        join_words(names, words, sizeof words);
        return fail_scalar(c, &o->name, 0, "unknown table option '%s' in table %s%s%s%s (the "
                                           "options are %s)",
                           o->name.text, t->name.text, near ? ": did you mean '" : "",
                           near ? near : "", near ? "'?" : "", words);
    }
    cs_buf b;
    cs_buf_init(&b, 1 << 20);
    int rc = 0;
    const char *vs = v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
    int plain = v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    char what[128];
    snprintf(what, sizeof what, "table %s, option %s", t->name.text, o->name.text);
    switch (kind) {
    case OV_INT: {
        long long x;
        rc = get_int(c, v, 0, INT32_MAX, &x, what) || cs_buf_printf(&b, "%lld", x);
        break;
    }
    case OV_NUM:
        if (!plain || !plain_number(vs))
            rc = vs ? fail(c, v, "%s takes a number (unquoted), not '%s'", what, vs)
                    : fail(c, v, "%s takes a number, not %s", what, kind_words(v));
        else
            rc = cs_buf_printf(&b, "%s", vs);
        break;
    case OV_TEXT:
        if (!vs)
            rc = fail(c, v, "%s takes a text value, not %s", what, kind_words(v));
        else
            rc = put_cql_str(&b, vs);
        break;
    case OV_BOOL: {
        int x;
        rc = get_bool(c, v, &x, what) || cs_buf_printf(&b, "%s", x ? "true" : "false");
        break;
    }
    case OV_MAP:
        if (v->type != YAML_MAPPING_NODE) {
            rc = fail(c, v, "%s takes a mapping such as {class: %s}, not %s", what,
                      !strcmp(o->name.text, "compaction") ? "SizeTieredCompactionStrategy"
                      : !strcmp(o->name.text, "compression") ? "LZ4Compressor"
                                                             : "...",
                      kind_words(v));
            break;
        }
        if (!strcmp(o->name.text, "compaction") && !get(c, v, "class", NULL)) {
            rc = fail(c, v, "%s needs a class, e.g. {class: SizeTieredCompactionStrategy}", what);
            break;
        }
        rc = cs_buf_printf(&b, "{");
        for (yaml_node_pair_t *a = v->data.mapping.pairs.start; !rc && a < v->data.mapping.pairs.top; a++) {
            yaml_node_t *mk = node_at(c, a->key), *mv = node_at(c, a->value);
            if (mk->type != YAML_SCALAR_NODE || mv->type != YAML_SCALAR_NODE) {
                rc = fail(c, mk->type != YAML_SCALAR_NODE ? mk : mv,
                          "%s: each entry is name: value, not %s", what,
                          kind_words(mk->type != YAML_SCALAR_NODE ? mk : mv));
                break;
            }
            rc = (a > v->data.mapping.pairs.start && cs_buf_printf(&b, ", ")) ||
                 put_cql_str(&b, (const char *)mk->data.scalar.value) || cs_buf_printf(&b, ": ") ||
                 put_cql_str(&b, (const char *)mv->data.scalar.value);
        }
        rc = rc || cs_buf_printf(&b, "}");
        break;
    }
    if (!rc) {
        o->cql = strndup(b.data ? (const char *)b.data : "", b.len);
        if (!o->cql)
            rc = oom(c);
    }
    cs_buf_release(&b);
    return rc ? -1 : 0;
}

static int parse_indexes(ctx *c, plan_table *t, yaml_node_t *n)
{
    static const char *const keys[] = {"name", "column", "using", NULL};
    if (is_null_scalar(n))
        return 0;
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(c, n, "indexes of table %s must be a list of {name: ..., column: ..., using: "
                          "sai}, not %s",
                    t->name.text, kind_words(n));
    int cnt = nitems(n);
    t->indexes = calloc((size_t)(cnt ? cnt : 1), sizeof *t->indexes);
    if (!t->indexes)
        return oom(c);
    for (int i = 0; i < cnt; i++) {
        yaml_node_t *it = node_at(c, n->data.sequence.items.start[i]);
        plan_index *ix = &t->indexes[t->nindexes++];
        char where[128];
        snprintf(where, sizeof where, "an index of table %s", t->name.text);
        if (it->type != YAML_MAPPING_NODE)
            return fail(c, it, "%s must be a mapping {name: ..., column: ..., using: sai}, not %s",
                        where, kind_words(it));
        if (check_keys(c, it, keys, where))
            return -1;
        yaml_node_t *v = get(c, it, "name", NULL);
        if (!v)
            return fail(c, it, "%s has no name: add name: %s_COLUMN_idx", where, t->name.text);
        if (get_scalar(c, v, &ix->name, "an index name") ||
            check_name(c, &ix->name, "index name", NAME_MAX_LEN))
            return -1;
        if (!(v = get(c, it, "column", NULL)))
            return fail(c, it, "index %s has no column: add column: COLUMN", ix->name.text);
        if (get_scalar(c, v, &ix->column, "an index's column"))
            return -1;
        ix->col = find_column(t, ix->column.text);
        if (ix->col < 0)
            return fail_no_column(c, &ix->column, 0, t, ix->column.text, "indexed column");
        if (t->npk == 1 && t->pk[0].col == ix->col)
            return fail_scalar(c, &ix->column, 0, "column '%s' is the partition key of table %s: "
                                                  "queries by it need no index; remove index %s",
                               ix->column.text, t->name.text, ix->name.text);
        if ((v = get(c, it, "using", NULL))) {
            if (get_scalar(c, v, &ix->using, "using"))
                return -1;
            if (strcasecmp(ix->using.text, "sai"))
                return fail_scalar(c, &ix->using, 0, "index %s: using '%s' is not supported: the "
                                                     "only kind is sai (storage-attached index)",
                                   ix->name.text, ix->using.text);
        }
        for (int ti = 0; ti < c->p->ntables; ti++) {
            const plan_table *ot = &c->p->tables[ti];
            for (int j = 0; j < ot->nindexes; j++)
                if ((ot != t || j < t->nindexes - 1) && !strcmp(ot->indexes[j].name.text, ix->name.text))
                    return fail_scalar(c, &ix->name, 0, "index name %s is used twice (also at "
                                                        "line %d): index names are unique in a "
                                                        "keyspace; rename one",
                                       ix->name.text, ot->indexes[j].name.line);
        }
    }
    return 0;
}

static int parse_table(ctx *c, yaml_node_t *k, yaml_node_t *v)
{
    static const char *const keys[] = {"enabled", "columns", "partition_key", "clustering",
                                       "options", "indexes", NULL};
    plan_table *t = &c->p->tables[c->p->ntables++];
    t->enabled = 1;
    if (get_scalar(c, k, &t->name, "a table name") || check_name(c, &t->name, "table name", NAME_MAX_LEN))
        return -1;
    for (int i = 0; i < c->p->ntables - 1; i++)
        if (!strcmp(c->p->tables[i].name.text, t->name.text))
            return fail(c, k, "table %s is defined twice (first at line %d): merge them or rename "
                              "one",
                        t->name.text, c->p->tables[i].name.line);
    char where[128];
    snprintf(where, sizeof where, "table %s", t->name.text);
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, is_null_scalar(v) ? k : v, "table %s must be a mapping with columns and "
                                                  "partition_key, not %s",
                    t->name.text, is_null_scalar(v) ? "empty" : kind_words(v));
    if (check_keys(c, v, keys, where))
        return -1;
    yaml_node_t *n, *key = NULL;
    if ((n = get(c, v, "enabled", NULL)) && get_bool(c, n, &t->enabled, "enabled"))
        return -1;
    n = get(c, v, "columns", &key);
    if (!n || is_null_scalar(n))
        return fail(c, n ? n : k, "table %s has no columns: add columns: with one NAME: CQL_TYPE "
                                  "line per column",
                    t->name.text);
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "columns of table %s must be a mapping of NAME: CQL_TYPE, not %s",
                    t->name.text, kind_words(n));
    if (npairs(n) == 0)
        return fail(c, n, "table %s has no columns: add NAME: CQL_TYPE entries", t->name.text);
    t->cols = calloc((size_t)npairs(n), sizeof *t->cols);
    if (!t->cols)
        return oom(c);
    for (yaml_node_pair_t *a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top; a++) {
        plan_column *col = &t->cols[t->ncols++];
        yaml_node_t *ck = node_at(c, a->key), *cv = node_at(c, a->value);
        if (get_scalar(c, ck, &col->name, "a column name"))
            return -1;
        size_t len = strlen(col->name.text);
        int bad = len == 0;
        for (const char *p = col->name.text; *p && !bad; p++)
            bad = !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
        if (bad) {
            char folded[256];
            fold_lower(col->name.text, folded, sizeof folded);
            return fail_scalar(c, &col->name, 0, "column name '%s' of table %s is not a valid "
                                                 "name: use lower-case letters, digits and '_' "
                                                 "(e.g. '%s')",
                               col->name.text, t->name.text, folded[0] ? folded : "c");
        }
        for (int j = 0; j < t->ncols - 1; j++)
            if (!strcmp(t->cols[j].name.text, col->name.text))
                return fail_scalar(c, &col->name, 0, "column %s of table %s is defined twice "
                                                     "(first at line %d): keep one",
                                   col->name.text, t->name.text, t->cols[j].name.line);
        if (is_null_scalar(cv))
            return fail(c, ck, "column %s of table %s has no type: write %s: CQL_TYPE (e.g. text)",
                        col->name.text, t->name.text, col->name.text);
        if (get_scalar(c, cv, &col->type, "a column type") || parse_type(c, col, t->name.text))
            return -1;
    }
    if (parse_key_list(c, t, get(c, v, "partition_key", NULL), k, 0) ||
        parse_key_list(c, t, get(c, v, "clustering", NULL), k, 1))
        return -1;
    if (t->npk + t->nck == t->ncols && t->ncols > 0) {
        /* a table of key columns only is fine in CQL */
    }
    if ((n = get(c, v, "options", NULL)) && !is_null_scalar(n)) {
        if (n->type != YAML_MAPPING_NODE)
            return fail(c, n, "options of table %s must be a mapping of NAME: VALUE (e.g. "
                              "default_time_to_live: 86400), not %s",
                        t->name.text, kind_words(n));
        t->opts = calloc((size_t)(npairs(n) ? npairs(n) : 1), sizeof *t->opts);
        if (!t->opts)
            return oom(c);
        char ow[128];
        snprintf(ow, sizeof ow, "the options of table %s", t->name.text);
        for (yaml_node_pair_t *a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top; a++) {
            yaml_node_t *ok = node_at(c, a->key);
            for (yaml_node_pair_t *b = n->data.mapping.pairs.start; b < a; b++) {
                yaml_node_t *kb = node_at(c, b->key);
                if (ok->type == YAML_SCALAR_NODE && kb->type == YAML_SCALAR_NODE &&
                    !strcmp((const char *)kb->data.scalar.value, (const char *)ok->data.scalar.value))
                    return fail(c, ok, "option %s appears twice in %s (first at line %d): keep one",
                                (const char *)ok->data.scalar.value, ow, node_line(kb));
            }
            if (parse_option(c, t, ok, node_at(c, a->value)))
                return -1;
        }
    }
    if ((n = get(c, v, "indexes", NULL)) && parse_indexes(c, t, n))
        return -1;
    return 0;
}

/* ---- mappings ---------------------------------------------------------------------------- */

static int find_table(const plan *p, const char *name)
{
    for (int i = 0; i < p->ntables; i++)
        if (!strcmp(p->tables[i].name.text, name))
            return i;
    return -1;
}

static int get_expr(ctx *c, yaml_node_t *n, plan_scalar *s, const char *what)
{
    if (get_scalar(c, n, s, what))
        return -1;
    const char *p = s->text;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return fail(c, n, "%s is empty: write an expression (a source column, a constant, a "
                          "function...; docs/plan.md)",
                    what);
    return 0;
}

static int parse_mapping(ctx *c, yaml_node_t *n, int index)
{
    static const char *const keys[] = {"from", "query", "to", "where", "writetime", "ttl",
                                       "columns", NULL};
    plan_mapping *m = &c->p->mappings[c->p->nmappings++];
    m->source_table = -1;
    m->table = -1;
    m->line = node_line(n);
    m->col = node_col(n);
    char where[64];
    snprintf(where, sizeof where, "mapping %d", index + 1);
    if (n->type != YAML_MAPPING_NODE)
        return fail(c, n, "%s must be a mapping with from, to and columns, not %s", where,
                    kind_words(n));
    if (check_keys(c, n, keys, where))
        return -1;
    yaml_node_t *v, *kfrom = NULL, *kquery = NULL;
    yaml_node_t *from = get(c, n, "from", &kfrom), *query = get(c, n, "query", &kquery);
    if (from && query)
        return fail(c, kquery, "%s has both from and query: a mapping reads one source table "
                               "(from) or one SQL query (query); remove one",
                    where);
    if (!from && !query)
        return fail(c, n, "%s has no from: add from: SOURCE_TABLE (as --tables names it), or "
                          "query: SQL",
                    where);
    if (from && (get_scalar(c, from, &m->from, "from") ||
                 (!m->from.text[0] && fail(c, from, "%s: from is empty: name a source table", where))))
        return -1;
    if (query && (get_expr(c, query, &m->query, "query")))
        return -1;
    if (!(v = get(c, n, "to", NULL)) || is_null_scalar(v))
        return fail(c, v ? v : n, "%s has no to: add to: TARGET_TABLE (a table under tables)",
                    where);
    if (get_scalar(c, v, &m->to, "to"))
        return -1;
    m->table = find_table(c->p, m->to.text);
    if (m->table < 0) {
        const char *list[512];
        int nl = 0;
        char names[600];
        size_t o = 0;
        names[0] = 0;
        for (int i = 0; i < c->p->ntables && nl < 511; i++) {
            list[nl++] = c->p->tables[i].name.text;
            if (o < sizeof names)
                o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", i ? ", " : "",
                                      c->p->tables[i].name.text);
        }
        list[nl] = NULL;
        const char *near = nearest(m->to.text, list);
        return fail_scalar(c, &m->to, 0, "%s maps into table '%s', which is not under tables%s%s%s "
                                         "(the tables: %s)",
                           where, m->to.text, near ? ": did you mean '" : "", near ? near : "",
                           near ? "'?" : "", names);
    }
    const plan_table *t = &c->p->tables[m->table];
    if ((v = get(c, n, "where", NULL)) && get_expr(c, v, &m->where, "where"))
        return -1;
    if ((v = get(c, n, "writetime", NULL)) && get_expr(c, v, &m->writetime, "writetime"))
        return -1;
    if ((v = get(c, n, "ttl", NULL))) {
        if (get_expr(c, v, &m->ttl, "ttl"))
            return -1;
        if (m->ttl.style == PLAN_PLAIN && (isdigit((unsigned char)m->ttl.text[0]) || m->ttl.text[0] == '-') &&
            strspn(m->ttl.text + 1, "0123456789") == strlen(m->ttl.text) - 1) {
            long long ttl;
            if (get_int(c, v, 0, TTL_MAX, &ttl, "ttl (seconds)"))
                return -1;
        }
    }
    if (!(v = get(c, n, "columns", NULL)) || is_null_scalar(v))
        return fail(c, v ? v : n, "%s has no columns: add columns: with one TARGET_COLUMN: "
                                  "EXPRESSION line per column of table %s",
                    where, t->name.text);
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, v, "columns of %s must be a mapping of TARGET_COLUMN: EXPRESSION, not %s",
                    where, kind_words(v));
    m->cols = calloc((size_t)(npairs(v) ? npairs(v) : 1), sizeof *m->cols);
    if (!m->cols)
        return oom(c);
    for (yaml_node_pair_t *a = v->data.mapping.pairs.start; a < v->data.mapping.pairs.top; a++) {
        plan_map_column *mc = &m->cols[m->ncols++];
        yaml_node_t *ck = node_at(c, a->key), *cv = node_at(c, a->value);
        if (get_scalar(c, ck, &mc->target, "a target column"))
            return -1;
        mc->col = find_column(t, mc->target.text);
        if (mc->col < 0)
            return fail_no_column(c, &mc->target, 0, t, mc->target.text, "target column");
        for (int j = 0; j < m->ncols - 1; j++)
            if (m->cols[j].col == mc->col)
                return fail_scalar(c, &mc->target, 0, "%s sets column %s twice (first at line "
                                                      "%d): keep one",
                                   where, mc->target.text, m->cols[j].target.line);
        char what[300];
        snprintf(what, sizeof what, "the expression for %s.%s", t->name.text, mc->target.text);
        if (is_null_scalar(cv) && cv->data.scalar.value[0] == 0)
            return fail(c, ck, "%s is missing: write %s: EXPRESSION (e.g. a source column), or "
                               "remove the line to leave the column null",
                        what, mc->target.text);
        if (get_expr(c, cv, &mc->expr, what))
            return -1;
    }
    /* every key column must be computed */
    for (int k = 0; k < t->npk + t->nck; k++) {
        int col = k < t->npk ? t->pk[k].col : t->ck[k - t->npk].col;
        int found = 0;
        for (int j = 0; j < m->ncols && !found; j++)
            found = m->cols[j].col == col;
        if (!found)
            return fail(c, v, "%s does not set %s column %s of table %s: add %s: EXPRESSION "
                              "under its columns (a key column cannot be null)",
                        where, k < t->npk ? "partition key" : "clustering", t->cols[col].name.text,
                        t->name.text, t->cols[col].name.text);
    }
    /* the same source into the same table twice is a copy too many */
    for (int i = 0; i < c->p->nmappings - 1; i++) {
        const plan_mapping *o = &c->p->mappings[i];
        const char *a = m->from.text ? m->from.text : m->query.text;
        const char *b = o->from.text ? o->from.text : o->query.text;
        if (o->table == m->table && !!m->from.text == !!o->from.text &&
            (m->from.text ? !strcasecmp(a, b) : !strcmp(a, b)))
            return fail(c, n, "%s maps %s into table %s again (as the mapping at line %d does): "
                              "merge the two mappings",
                        where, m->from.text ? m->from.text : "the same query", t->name.text, o->line);
    }
    return 0;
}

/* ---- the document ------------------------------------------------------------------------ */

static int parse_doc(ctx *c)
{
    static const char *const keys[] = {"version", "source", "keyspace", "tables", "mappings", NULL};
    plan *p = c->p;
    yaml_node_t *top = yaml_document_get_root_node(&c->doc);
    if (!top)
        return plan_fail_at(c->err, c->file, 1, 1, "the plan is empty: write one with `cqlshift "
                                                   "plan SOURCE -o %s`",
                            c->file);
    if (top->type != YAML_MAPPING_NODE)
        return fail(c, top, "a plan is a mapping with version, keyspace, tables and mappings, not "
                            "%s",
                    kind_words(top));
    if (check_keys(c, top, keys, "the plan"))
        return -1;
    yaml_node_t *k = NULL, *v = get(c, top, "version", &k);
    if (!v)
        return fail(c, top, "the plan has no version: add `version: 1` as its first line");
    long long ver;
    if (v->type != YAML_SCALAR_NODE || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return fail(c, v, "version takes the number 1 (unquoted)");
    if (get_int(c, v, 0, 1000000, &ver, "version"))
        return -1;
    if (ver != 1)
        return fail(c, v, "plan version %lld is not supported: this cqlshift reads version 1 "
                          "(write version: 1, or use the cqlshift that wrote the plan)",
                    ver);
    p->version = 1;
    if ((v = get(c, top, "source", NULL)) && !is_null_scalar(v) &&
        get_scalar(c, v, &p->source, "source"))
        return -1;
    if (!(v = get(c, top, "keyspace", &k)) || is_null_scalar(v))
        return fail(c, v ? v : top, "the plan has no keyspace: add keyspace: with name: KEYSPACE "
                                    "(and replication)");
    if (parse_keyspace(c, top, v, k))
        return -1;
    if (!(v = get(c, top, "tables", &k)) || is_null_scalar(v))
        return fail(c, v ? k : top, "the plan has no tables: add tables: with one entry per "
                                    "Cassandra table");
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, v, "tables must be a mapping of TABLE_NAME: {columns, partition_key...}, "
                          "not %s",
                    kind_words(v));
    if (npairs(v) == 0)
        return fail(c, v, "the plan has no tables: add at least one under tables");
    p->tables = calloc((size_t)npairs(v), sizeof *p->tables);
    if (!p->tables)
        return oom(c);
    for (yaml_node_pair_t *a = v->data.mapping.pairs.start; a < v->data.mapping.pairs.top; a++)
        if (parse_table(c, node_at(c, a->key), node_at(c, a->value)))
            return -1;
    v = get(c, top, "mappings", &k);
    if (v && !is_null_scalar(v)) {
        if (v->type != YAML_SEQUENCE_NODE)
            return fail(c, v, "mappings must be a list (each item '- from: ... to: ...'), not %s",
                        kind_words(v));
        p->mappings = calloc((size_t)(nitems(v) ? nitems(v) : 1), sizeof *p->mappings);
        if (!p->mappings)
            return oom(c);
        for (int i = 0; i < nitems(v); i++)
            if (parse_mapping(c, node_at(c, v->data.sequence.items.start[i]), i))
                return -1;
    }
    /* an enabled table nothing feeds would stay empty */
    for (int t = 0; t < p->ntables; t++) {
        int fed = 0;
        for (int i = 0; i < p->nmappings && !fed; i++)
            fed = p->mappings[i].table == t;
        if (p->tables[t].enabled && !fed)
            return fail_scalar(c, &p->tables[t].name, 0,
                               "no mapping feeds table %s: add one under mappings (from: "
                               "SOURCE_TABLE, to: %s, columns: ...), or set enabled: false",
                               p->tables[t].name.text, p->tables[t].name.text);
    }
    return 0;
}

static const char *yaml_hint(const char *problem, const char *at)
{
    if (!problem)
        return "";
    if (strstr(problem, "tab") || (at && *at == '\t'))
        return ": indent with spaces, not tabs";
    if (strstr(problem, "mapping values are not allowed"))
        return ": check the indentation, or quote a value that holds ': '";
    if (strstr(problem, "did not find expected key"))
        return ": check the indentation of this line and the one before";
    if (strstr(problem, "found character that cannot start any token"))
        return at && (*at == '@' || *at == '`')
                   ? ": quote the value (a value starting with @ or ` must be quoted)"
                   : ": quote the value";
    if (strstr(problem, "found undefined alias"))
        return ": define the anchor (&name) before using it";
    if (strstr(problem, "did not find expected"))
        return ": close the bracket or quote";
    return ": fix the YAML at this place";
}

int plan_parse_string(plan *p, const char *text, size_t n, const char *file, plan_error *err)
{
    memset(p, 0, sizeof *p);
    if (err) {
        err->line = err->col = 0;
        err->msg[0] = 0;
    }
    p->file = strdup(file);
    p->text = malloc(n + 1);
    if (!p->file || !p->text) {
        plan_release(p);
        return plan_fail_at(err, file, 0, 0, "out of memory");
    }
    memcpy(p->text, text, n);
    p->text[n] = 0;
    if (strlen(p->text) != n) {
        int line = 1;
        for (const char *q = p->text; *q; q++)
            line += *q == '\n';
        plan_release(p);
        return plan_fail_at(err, file, line, 1, "the plan holds a NUL byte: it must be UTF-8 text");
    }
    ctx c = {.p = p, .err = err, .file = file};
    /* line starts, for the raw text of scalars */
    int nl = 1;
    for (const char *q = p->text; *q; q++)
        nl += *q == '\n';
    c.line_start = malloc((size_t)nl * sizeof *c.line_start);
    if (!c.line_start) {
        plan_release(p);
        return plan_fail_at(err, file, 0, 0, "out of memory");
    }
    c.line_start[0] = p->text;
    c.nlines = 1;
    for (const char *q = p->text; *q; q++)
        if (*q == '\n')
            c.line_start[c.nlines++] = q + 1;

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(c.line_start);
        plan_release(p);
        return plan_fail_at(err, file, 0, 0, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)p->text, n);
    int rc;
    if (!yaml_parser_load(&parser, &c.doc)) {
        const yaml_mark_t *m = parser.problem ? &parser.problem_mark : &parser.context_mark;
        rc = plan_fail_at(err, file, (int)m->line + 1, (int)m->column + 1,
                          "not valid YAML: %s%s%s%s", parser.problem ? parser.problem : "error",
                          parser.context ? " (" : "", parser.context ? parser.context : "",
                          parser.context ? ")" : "");
        if (err) {
            size_t l = strlen(err->msg);
            snprintf(err->msg + l, sizeof err->msg - l, "%s", yaml_hint(parser.problem, raw_at(&c, m)));
        }
        yaml_parser_delete(&parser);
        free(c.line_start);
        plan_release(p);
        return rc;
    }
    /* one document only */
    yaml_document_t extra;
    if (yaml_document_get_root_node(&c.doc) && yaml_parser_load(&parser, &extra)) {
        yaml_node_t *r = yaml_document_get_root_node(&extra);
        if (r) {
            rc = plan_fail_at(err, file, (int)extra.start_mark.line + 1,
                              (int)extra.start_mark.column + 1,
                              "a second YAML document ('---'): a plan is one document; remove "
                              "this one or move it to its own file");
            yaml_document_delete(&extra);
            yaml_document_delete(&c.doc);
            yaml_parser_delete(&parser);
            free(c.line_start);
            plan_release(p);
            return rc;
        }
        yaml_document_delete(&extra);
    }
    yaml_parser_delete(&parser);
    rc = parse_doc(&c);
    yaml_document_delete(&c.doc);
    free(c.line_start);
    if (rc) {
        plan_release(p);
        return -1;
    }
    return 0;
}

int plan_parse_file(plan *p, const char *path, plan_error *err)
{
    memset(p, 0, sizeof *p);
    FILE *f = !strcmp(path, "-") ? stdin : fopen(path, "rb");
    if (!f)
        return plan_fail_at(err, path, 0, 0, "cannot open the plan: %s", strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    const size_t max = (size_t)64 << 20;
    while (buf) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                if (f != stdin)
                    fclose(f);
                return plan_fail_at(err, path, 0, 0, "the plan is larger than 64 MiB: is it the "
                                                     "right file?");
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int rerr = ferror(f);
    if (f != stdin)
        fclose(f);
    if (!buf)
        return plan_fail_at(err, path, 0, 0, "out of memory");
    if (rerr) {
        free(buf);
        return plan_fail_at(err, path, 0, 0, "cannot read the plan: %s", strerror(errno));
    }
    int rc = plan_parse_string(p, buf, n, path, err);
    free(buf);
    return rc;
}

/* ---- against the source -------------------------------------------------------------- */

int plan_check_source(plan *p, const source_schema *schema, plan_error *err)
{
    for (int i = 0; i < p->nmappings; i++) {
        plan_mapping *m = &p->mappings[i];
        m->source_table = -1;
        if (!m->from.text)
            continue;
        int found = -1, ci = -1, nci = 0;
        for (int t = 0; t < schema->ntables; t++) {
            if (!strcmp(schema->tables[t].name, m->from.text))
                found = t;
            else if (!strcasecmp(schema->tables[t].name, m->from.text)) {
                ci = t;
                nci++;
            }
        }
        if (found < 0 && nci == 1)
            found = ci;
        if (found < 0) {
            char names[600];
            size_t o = 0;
            names[0] = 0;
            for (int t = 0; t < schema->ntables && o < sizeof names; t++)
                o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", t ? ", " : "",
                                      schema->tables[t].name);
            int l, col;
            plan_pos_at(&m->from, 0, &l, &col);
            return plan_fail_at(err, p->file, l, col, "mapping %d reads table '%s', which the "
                                                      "source does not have (its tables: %s)",
                                i + 1, m->from.text, names);
        }
        m->source_table = found;
    }
    return 0;
}

/* ---- to the model ------------------------------------------------------------------------- */

/* The source column a bare column reference names ("AlbumId" or
 * "\"Album Id\""), or -1. */
static int bare_column(const source_table *st, const char *e)
{
    char name[512];
    size_t n = strlen(e);
    while (n && isspace((unsigned char)e[n - 1]))
        n--;
    while (*e && isspace((unsigned char)*e)) {
        e++;
        n--;
    }
    if (n >= 2 && e[0] == '"' && e[n - 1] == '"') {
        size_t o = 0;
        for (size_t i = 1; i + 1 < n && o + 1 < sizeof name; i++) {
            if (e[i] == '"') {
                if (e[i + 1] != '"' || i + 2 >= n)
                    return -1;
                i++;
            }
            name[o++] = e[i];
        }
        name[o] = 0;
        for (int c = 0; c < st->ncols; c++)
            if (!strcmp(st->cols[c].name, name))
                return c;
        return -1;
    }
    if (n == 0 || n >= sizeof name || !(isalpha((unsigned char)e[0]) || e[0] == '_'))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)e[i]) || e[i] == '_'))
            return -1;
    memcpy(name, e, n);
    name[n] = 0;
    static const char *const words[] = {"null", "true", "false", "and", "or", "not", "is", NULL};
    for (const char *const *w = words; *w; w++)
        if (!strcasecmp(name, *w))
            return -1;
    int ci = -1, nci = 0;
    for (int c = 0; c < st->ncols; c++) {
        if (!strcmp(st->cols[c].name, name))
            return c;
        if (!strcasecmp(st->cols[c].name, name)) {
            ci = c;
            nci++;
        }
    }
    return nci == 1 ? ci : -1;
}

int plan_to_model(const plan *p, const source_schema *schema, model *m, plan_error *err)
{
    memset(m, 0, sizeof *m);
    m->keyspace = strdup(p->keyspace.text);
    if (p->replication)
        m->replication = strdup(p->replication);
    m->no_durable_writes = !p->durable_writes;
    int n = 0;
    for (int t = 0; t < p->ntables; t++)
        n += p->tables[t].enabled;
    m->tables = calloc((size_t)(n ? n : 1), sizeof *m->tables);
    if (!m->keyspace || !m->tables || (p->replication && !m->replication))
        goto nomem;
    for (int t = 0; t < p->ntables; t++) {
        const plan_table *pt = &p->tables[t];
        if (!pt->enabled)
            continue;
        target_table *tt = &m->tables[m->ntables++];
        tt->keyspace = strdup(p->keyspace.text);
        tt->name = strdup(pt->name.text);
        tt->cols = calloc((size_t)pt->ncols, sizeof *tt->cols);
        tt->source_table = -1;
        if (!tt->keyspace || !tt->name || !tt->cols)
            goto nomem;
        /* the one mapping that feeds it, if only one does */
        const plan_mapping *feed = NULL;
        int nfeed = 0;
        for (int i = 0; i < p->nmappings; i++)
            if (p->mappings[i].table == t) {
                feed = &p->mappings[i];
                nfeed++;
            }
        if (nfeed != 1 || !schema || feed->source_table < 0)
            feed = NULL;
        if (feed)
            tt->source_table = feed->source_table;
        int order[1024], no = 0;
        int *ord = pt->ncols <= 1024 ? order : malloc((size_t)pt->ncols * sizeof *ord);
        if (!ord)
            goto nomem;
        for (int k = 0; k < pt->npk; k++)
            ord[no++] = pt->pk[k].col;
        for (int k = 0; k < pt->nck; k++)
            ord[no++] = pt->ck[k].col;
        for (int c = 0; c < pt->ncols; c++) {
            int key = 0;
            for (int k = 0; k < pt->npk + pt->nck && !key; k++)
                key = ord[k] == c;
            if (!key)
                ord[no++] = c;
        }
        for (int i = 0; i < no; i++) {
            const plan_column *pc = &pt->cols[ord[i]];
            target_column *tc = &tt->cols[tt->ncols++];
            tc->name = strdup(pc->name.text);
            tc->type = cql_type_clone(pc->ctype);
            tc->kind = i < pt->npk ? 1 : i < pt->npk + pt->nck ? 2 : 0;
            tc->key_pos = i < pt->npk ? i : i < pt->npk + pt->nck ? i - pt->npk : -1;
            tc->desc = tc->kind == 2 && pt->ck[i - pt->npk].desc;
            tc->source_col = -1;
            if (feed)
                for (int j = 0; j < feed->ncols; j++)
                    if (feed->cols[j].col == ord[i])
                        tc->source_col = bare_column(&schema->tables[feed->source_table],
                                                     feed->cols[j].expr.text);
            if (!tc->name || !tc->type) {
                if (ord != order)
                    free(ord);
                goto nomem;
            }
        }
        if (ord != order)
            free(ord);
        if (pt->nopts) {
            cs_buf b;
            cs_buf_init(&b, 1 << 20);
            int rc = 0;
            for (int o = 0; o < pt->nopts && !rc; o++)
                rc = cs_buf_printf(&b, "%s%s = %s", o ? " AND " : "", pt->opts[o].name.text,
                                   pt->opts[o].cql);
            tt->options_cql = rc ? NULL : strndup((const char *)b.data, b.len);
            cs_buf_release(&b);
            if (!tt->options_cql)
                goto nomem;
        }
    }
    return 0;
nomem:
    model_release(m);
    return plan_fail_at(err, p->file, 0, 0, "out of memory");
}

static int put_quoted_ident(cs_buf *b, const char *s)
{
    if (cs_buf_printf(b, "\""))
        return -1;
    for (; *s; s++)
        if ((*s == '"' && cs_buf_printf(b, "\"")) || cs_buf_printf(b, "%c", *s))
            return -1;
    return cs_buf_printf(b, "\"");
}

int plan_index_ddl(const plan *p, int t, int i, cs_buf *out)
{
    const plan_table *pt = &p->tables[t];
    const plan_index *ix = &pt->indexes[i];
    if (cs_buf_printf(out, "CREATE CUSTOM INDEX IF NOT EXISTS ") || put_quoted_ident(out, ix->name.text) ||
        cs_buf_printf(out, " ON ") || put_quoted_ident(out, p->keyspace.text) ||
        cs_buf_printf(out, ".") || put_quoted_ident(out, pt->name.text) || cs_buf_printf(out, " (") ||
        put_quoted_ident(out, pt->cols[ix->col].name.text) ||
        cs_buf_printf(out, ") USING 'StorageAttachedIndex'") || cs_buf_put_u8(out, 0))
        return -1;
    out->len--;
    return 0;
}
