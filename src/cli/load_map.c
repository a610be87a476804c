/* cqlshift load --map: splitting and checking the option's text (see
 * load_map.h). */
#include "cli/load_map.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/common.h"
#include "util/buf.h"

static int fail(int off, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int off, const char *fmt, ...)
{
    char msg[1500];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_error("--map: position %d: %s", off + 1, msg);
    return -1;
}

static int is_ident_start(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_ident(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The index of name among names[0..n): exact, else case-insensitively
 * when unique (not for a quoted name); -1 if none. */
static int find_name(const char *name, const char *const *names, int n, int quoted)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return i;
    if (quoted)
        return -1;
    int found = -1;
    for (int i = 0; i < n; i++)
        if (!strcasecmp(names[i], name)) {
            if (found >= 0)
                return -1;
            found = i;
        }
    return found;
}

/* "a, b, c" (at most ~1000 bytes). */
static void list_names(char *out, size_t cap, const char *const *names, int n)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n && len + 8 < cap; i++) {
        int w = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= cap - len) {
            snprintf(out + len, cap - len, "...");
            break;
        }
        len += (size_t)w;
    }
}

/* A name at text[*i]: an identifier or a "quoted name" ("" inside is a
 * quote). Copies it to name (cap bytes); sets *quoted. 0, or -1 if there
 * is none there. */
static int read_name(const char *text, int *i, char *name, size_t cap, int *quoted)
{
    int k = *i;
    size_t n = 0;
    *quoted = text[k] == '"';
    if (*quoted) {
        for (k++;; k++) {
            if (!text[k])
                return -1;
            if (text[k] == '"') {
                if (text[k + 1] != '"')
                    break;
                k++;
            }
            if (n + 1 < cap)
                name[n++] = text[k];
        }
        k++;
        if (n == 0)
            return -1;
    } else {
        if (!is_ident_start(text[k]))
            return -1;
        for (; is_ident(text[k]); k++)
            if (n + 1 < cap)
                name[n++] = text[k];
    }
    name[n] = '\0';
    *i = k;
    return 0;
}

/* The end of the expression starting at text[i]: the first comma outside
 * quotes and parentheses, or the end of the text. */
static int expr_end(const char *text, int i)
{
    int depth = 0;
    char q = 0;
    for (; text[i]; i++) {
        char c = text[i];
        if (q) {
            if (c == q)
                q = 0; /* a doubled quote closes and opens again */
        } else if (c == '\'' || c == '"') {
            q = c;
        } else if (c == '(') {
            depth++;
        } else if (c == ')') {
            if (depth > 0)
                depth--;
        } else if (c == ',' && depth == 0) {
            break;
        }
    }
    return i;
}

static int add_item(load_map_spec *s, int col, const char *expr, size_t n, int off)
{
    load_map_item *it = &s->items[s->nitems];
    it->expr = malloc(n + 1);
    if (!it->expr) {
        cli_error("out of memory");
        return -1;
    }
    memcpy(it->expr, expr, n);
    it->expr[n] = '\0';
    it->col = col;
    it->expr_off = off;
    s->nitems++;
    return 0;
}

int load_map_parse(const char *text, const char *const *tcols, int ntcols,
                   const char *const *fields, int nfields, const char *table, load_map_spec *out)
{
    memset(out, 0, sizeof *out);
    out->items = calloc((size_t)ntcols + 1, sizeof *out->items);
    int *at = calloc((size_t)ntcols + 1, sizeof *at); /* where each column was mapped, +1 */
    char cols_list[1100];
    list_names(cols_list, sizeof cols_list, tcols, ntcols);
    int star = -1;
    int i = 0;
    if (!out->items || !at) {
        cli_error("out of memory");
        goto bad;
    }
    for (;;) {
        while (is_space(text[i]))
            i++;
        int start = i;
        if (!text[i] || text[i] == ',') {
            if (start == 0 && !text[i])
                fail(0, "the mapping is empty: give column=expression entries separated by "
                        "commas, e.g. --map 'id=user_id,name=upper(name)'");
            else
                fail(start, "an empty entry (two commas in a row, or a comma at the end): "
                            "remove the comma or add column=expression");
            goto bad;
        }
        if (text[i] == '*') {
            if (star >= 0) {
                fail(i, "* appears twice: once is enough");
                goto bad;
            }
            star = i++;
            while (is_space(text[i]))
                i++;
            if (text[i] && text[i] != ',') {
                fail(i, "* stands alone (every other column from the field of the same name); "
                        "put a comma after it");
                goto bad;
            }
        } else {
            char name[256];
            int quoted;
            if (read_name(text, &i, name, sizeof name, &quoted)) {
                fail(start, "an entry starts with the table column's name (letters, digits "
                            "and _, or a \"quoted name\"), then = and an expression over the "
                            "file's fields: column=expression");
                goto bad;
            }
            int name_end = i;
            while (is_space(text[i]))
                i++;
            const char *expr;
            int eoff, eend;
            if (!text[i] || text[i] == ',') { /* `name`: the field of the same name */
                expr = text + start;
                eoff = start;
                eend = name_end;
            } else if (text[i] == '=' && text[i + 1] != '=') {
                i++;
                while (is_space(text[i]))
                    i++;
                eoff = i;
                eend = expr_end(text, i);
                while (eend > eoff && is_space(text[eend - 1]))
                    eend--;
                if (eend == eoff) {
                    fail(eoff, "nothing after %s=: give an expression over the file's fields "
                               "(a field name, a constant such as 'EU' or 42, a function such "
                               "as upper(name))",
                         name);
                    goto bad;
                }
                expr = text + eoff;
            } else {
                fail(i, "expected = after the column name %s (column=expression), or a comma",
                     name);
                goto bad;
            }
            int col = find_name(name, tcols, ntcols, quoted);
            if (col < 0) {
                /* field=column, as DSBulk writes it: say which side is which */
                int fi = find_name(name, fields, nfields, quoted);
                char rhs[256];
                int ri = eoff, rq;
                int rcol = -1;
                if (read_name(text, &ri, rhs, sizeof rhs, &rq) == 0 && ri == eend)
                    rcol = find_name(rhs, tcols, ntcols, rq);
                if (fi >= 0 && rcol >= 0)
                    fail(start, "'%.*s' has the file's field %s on the left and the table's "
                                "column %s on the right; the table column goes on the left: "
                                "write %.*s=%s",
                         eend - start, text + start, name, tcols[rcol], eend - eoff, text + eoff,
                         name);
                else
                    fail(start, "%s is not a column of %s (its columns: %s); the left side of "
                                "an entry names a table column, the right side an expression "
                                "over the file's fields",
                         name, table, cols_list);
                goto bad;
            }
            if (at[col]) {
                fail(start, "column %s is mapped twice (first at position %d): keep one", tcols[col],
                     at[col]);
                goto bad;
            }
            at[col] = start + 1;
            if (add_item(out, col, expr, (size_t)(eend - eoff), eoff))
                goto bad;
            i = eend;
            while (is_space(text[i]))
                i++;
        }
        if (!text[i])
            break;
        i++; /* the comma */
    }
    if (star >= 0) {
        /* every column not mapped yet, from the field of its name */
        for (int c = 0; c < ntcols; c++) {
            if (at[c])
                continue;
            int f = find_name(tcols[c], fields, nfields, 0);
            if (f < 0)
                continue;
            cs_buf q;
            cs_buf_init(&q, 4096);
            cs_buf_append(&q, "\"", 1);
            for (const char *p = fields[f]; *p; p++) /* a double-quoted name: "" is a quote */
                cs_buf_append(&q, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
            cs_buf_append(&q, "\"", 1);
            int r = add_item(out, c, (const char *)q.data, q.len, star);
            cs_buf_release(&q);
            if (r)
                goto bad;
            at[c] = star + 1;
        }
    }
    free(at);
    return 0;
bad:
    free(at);
    load_map_release(out);
    return -1;
}

void load_map_release(load_map_spec *s)
{
    for (int i = 0; s->items && i < s->nitems; i++)
        free(s->items[i].expr);
    free(s->items);
    memset(s, 0, sizeof *s);
}
