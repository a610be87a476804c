/* CQL scripts: a tokenizer that knows strings, quoted names and comments,
 * and the three things restore asks of it. */
#include <string.h>
#include <strings.h>

#include "target/script.h"

typedef enum tk_kind {
    TK_END, TK_BLANK, TK_COMMENT, TK_STRING, TK_QNAME, TK_WORD, TK_SEMI, TK_OTHER
} tk_kind;

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_word(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Past a quoted run opened by p[0] (q doubled inside stands for itself). */
static const char *past_quoted(const char *p, char q)
{
    const char *e = p + 1;
    while (*e) {
        if (*e == q) {
            if (e[1] != q)
                return e + 1;
            e++;
        }
        e++;
    }
    return e;
}

/* The token at p and, in *end, where it stops. */
static tk_kind token(const char *p, const char **end)
{
    const char *e = p;
    tk_kind k = TK_OTHER;
    if (!*p) {
        k = TK_END;
    } else if (is_blank(*p)) {
        while (is_blank(*e))
            e++;
        k = TK_BLANK;
    } else if ((p[0] == '-' && p[1] == '-') || (p[0] == '/' && p[1] == '/')) {
        e = strchr(p, '\n');
        e = e ? e + 1 : p + strlen(p);
        k = TK_COMMENT;
    } else if (p[0] == '/' && p[1] == '*') {
        e = strstr(p + 2, "*/");
        e = e ? e + 2 : p + strlen(p);
        k = TK_COMMENT;
    } else if (*p == '\'') {
        e = past_quoted(p, '\'');
        k = TK_STRING;
    } else if (p[0] == '$' && p[1] == '$') {
        e = strstr(p + 2, "$$");
        e = e ? e + 2 : p + strlen(p);
        k = TK_STRING;
    } else if (*p == '"') {
        e = past_quoted(p, '"');
        k = TK_QNAME;
    } else if (is_word(*p)) {
        while (is_word(*e))
            e++;
        k = TK_WORD;
    } else {
        e = p + 1;
        k = *p == ';' ? TK_SEMI : TK_OTHER;
    }
    *end = e;
    return k;
}

/* The next token that is not a blank or a comment, from *p; *s and *p
 * bound it. */
static tk_kind next_sig(const char **p, const char **s)
{
    for (;;) {
        const char *e;
        tk_kind k = token(*p, &e);
        *s = *p;
        *p = e;
        if (k != TK_BLANK && k != TK_COMMENT)
            return k;
    }
}

/* The name a WORD or QNAME token [s, e) stands for, folded, into out. */
static void fold_name(tk_kind k, const char *s, const char *e, char *out, size_t n)
{
    size_t o = 0;
    if (k == TK_QNAME) {
        const char *stop = e > s + 1 && e[-1] == '"' ? e - 1 : e;
        for (const char *c = s + 1; c < stop && o + 1 < n; c++) {
            out[o++] = *c;
            if (*c == '"' && c + 1 < stop && c[1] == '"')
                c++;
        }
    } else {
        for (const char *c = s; c < e && o + 1 < n; c++)
            out[o++] = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : *c;
    }
    if (n)
        out[o] = 0;
}

static int word_is(tk_kind k, const char *s, const char *e, const char *w)
{
    size_t l = strlen(w);
    return k == TK_WORD && (size_t)(e - s) == l && !strncasecmp(s, w, l);
}

int target_script_next(const char **p, cs_buf *out)
{
    const char *c = *p;
    int any = 0;
    size_t start = out->len, keep = out->len;   /* keep: length without trailing blanks */
    for (;;) {
        const char *e;
        tk_kind k = token(c, &e);
        if (k == TK_END || k == TK_SEMI) {
            c = e;
            if (k == TK_END || any)
                break;
            continue;   /* an empty statement */
        }
        if (k == TK_BLANK || k == TK_COMMENT) {
            /* one blank in place of a comment keeps the tokens apart */
            if (any && (k == TK_COMMENT ? cs_buf_put_u8(out, ' ')
                                        : cs_buf_append(out, c, (size_t)(e - c))))
                return -1;
        } else {
            if (cs_buf_append(out, c, (size_t)(e - c)))
                return -1;
            any = 1;
            keep = out->len;
        }
        c = e;
    }
    *p = c;
    out->len = any ? keep : start;
    if (cs_buf_put_u8(out, 0))
        return -1;
    return any;
}

/* The last part of the qualified name that starts at *p ("ks.t" or "t"). */
static int qualified_name(const char **p, char *name, size_t n)
{
    const char *s;
    tk_kind k = next_sig(p, &s);
    if (k != TK_WORD && k != TK_QNAME)
        return -1;
    fold_name(k, s, *p, name, n);
    const char *q = *p;
    if (next_sig(&q, &s) == TK_OTHER && *s == '.') {
        k = next_sig(&q, &s);
        if (k != TK_WORD && k != TK_QNAME)
            return -1;
        fold_name(k, s, q, name, n);
        *p = q;
    }
    return 0;
}

target_stmt_kind target_stmt_info(const char *stmt, char *name, size_t n)
{
    if (n)
        name[0] = 0;
    const char *p = stmt, *s;
    tk_kind k = next_sig(&p, &s);
    if (!word_is(k, s, p, "CREATE"))
        return TSTMT_OTHER;
    k = next_sig(&p, &s);
    if (word_is(k, s, p, "KEYSPACE"))
        return TSTMT_KEYSPACE;
    if (word_is(k, s, p, "TYPE"))
        return TSTMT_TYPE;
    target_stmt_kind kind = TSTMT_OTHER;
    const char *until = NULL;   /* the word the concerned table follows */
    if (word_is(k, s, p, "TABLE") || word_is(k, s, p, "COLUMNFAMILY")) {
        kind = TSTMT_TABLE;
        const char *q = p;
        k = next_sig(&q, &s);
        if (word_is(k, s, q, "IF")) {   /* IF NOT EXISTS */
            next_sig(&q, &s);
            next_sig(&q, &s);
            p = q;
        }
    } else {
        if (word_is(k, s, p, "CUSTOM"))
            k = next_sig(&p, &s);
        if (word_is(k, s, p, "INDEX")) {
            kind = TSTMT_INDEX;
            until = "ON";
        } else if (word_is(k, s, p, "MATERIALIZED")) {
            k = next_sig(&p, &s);
            if (!word_is(k, s, p, "VIEW"))
                return TSTMT_OTHER;
            kind = TSTMT_VIEW;
            until = "FROM";
        } else {
            return TSTMT_OTHER;
        }
    }
    while (until) {
        k = next_sig(&p, &s);
        if (word_is(k, s, p, until))
            break;
        if (k == TK_END)
            return kind;
    }
    if (qualified_name(&p, name, n) && n)
        name[0] = 0;
    return kind;
}

int target_stmt_rename_keyspace(const char *stmt, const char *from, const char *to,
                                cs_buf *out)
{
    const char *p = stmt;
    int after_keyspace = 0;
    int bad = 0;
    for (;;) {
        const char *e;
        tk_kind k = token(p, &e);
        if (k == TK_END || bad)
            break;
        int is_ks = 0;
        if (k == TK_WORD || k == TK_QNAME) {
            char name[512];
            fold_name(k, p, e, name, sizeof name);
            const char *q = e, *s;
            int dot = next_sig(&q, &s) == TK_OTHER && *s == '.';
            /* a word that starts with a digit is a number ("1.5"), not a name */
            int name_like = k == TK_QNAME || !(*p >= '0' && *p <= '9');
            is_ks = name_like && !strcmp(name, from) && (dot || after_keyspace);
            int ifx = word_is(k, p, e, "IF") || word_is(k, p, e, "NOT") ||
                      word_is(k, p, e, "EXISTS");
            after_keyspace = word_is(k, p, e, "KEYSPACE") || (after_keyspace && ifx);
        } else if (k != TK_BLANK && k != TK_COMMENT) {
            after_keyspace = 0;
        }
        if (is_ks) {
            bad = cs_buf_put_u8(out, '"');
            for (const char *c = to; *c && !bad; c++)
                bad = (*c == '"' && cs_buf_put_u8(out, '"')) || cs_buf_put_u8(out, (uint8_t)*c);
            bad = bad || cs_buf_put_u8(out, '"');
        } else {
            bad = cs_buf_append(out, p, (size_t)(e - p));
        }
        p = e;
    }
    return bad ? -1 : cs_buf_put_u8(out, 0);
}
