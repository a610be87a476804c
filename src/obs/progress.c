/* Progress display, final summary and the run report. See progress.h.
 *
 * Workers touch only the atomic counters of their table_progress. Everything
 * else (start/finish times, the resumed baseline, the rate samples, what is
 * on the screen) belongs to the display thread or is guarded by p->mu, so
 * the display never reads a half-written double. A snapshot reads the
 * counters under p->mu too: progress_table_resumed adds to a counter and to
 * the baseline under it, so a snapshot never sees one without the other.
 *
 * Rates and ETAs count rows done (written + rejected) by this run, not rows
 * read: read runs ahead of the loader by a bounded queue, and a table is
 * finished only when its rows are done.
 */
#include "obs/progress.h"
#include "obs/progress_int.h"
#include "util/fsio.h"

#include <errno.h>
#include <limits.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* Redraw period on a terminal: smooth to the eye, cheap to produce. */
#define TTY_TICK_S 0.1
/* The rows/s shown is the average over about this many seconds. */
#define RATE_WINDOW_S 5.0
/* Samples kept per table: enough for RATE_WINDOW_S at TTY_TICK_S. */
#define RATE_SAMPLES 64
/* At most this many active tables are drawn on a terminal (fewer on a short
 * one); more would scroll the block off the screen, and lines off screen
 * cannot be redrawn. */
#define TTY_MAX_LINES 20
#define BAR_MAX 30
#define BAR_MIN 10
#define NAME_MAX_COLS 24

typedef struct rate_sample {
    double t;
    long long done;
} rate_sample;

typedef struct table_view {
    rate_sample ring[RATE_SAMPLES];
    int nsamples; /* valid entries, newest at (head - 1) */
    int head;
    double rate;     /* rows/s at the last sample */
    int shown_final; /* terminal: final line already printed above the block */
} table_view;

/* What only progress.c writes about a table; under p->mu. */
typedef struct table_clock {
    double started;      /* monotonic seconds; 0 until started */
    double finished;     /* 0 until finished */
    long long start_done; /* rows done by this run when the table started */
    long long base_read, base_written, base_rejected; /* earlier runs' rows */
} table_clock;

struct progress {
    json_t *extra;              /* more members of the report (progress_report_set) */
    int ntables;
    int quiet;
    int tty;
    double interval_s;
    table_progress *tables;
    table_view *views;   /* display thread only */
    table_clock *clocks; /* under mu */

    pthread_mutex_t mu; /* clocks, stop flag */
    pthread_cond_t cv;
    int stop;
    int thread_running;
    pthread_t thread;

    /* terminal, display thread only: the live block now on screen */
    int lines_drawn;
    int line_cols[TTY_MAX_LINES + 1]; /* columns each of its lines took */
    double started_mono;
    double finished_mono; /* 0 until progress_finish */
    struct timespec started_wall;
};

double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

progress *progress_new(int ntables, int quiet, int tty, double interval_s)
{
    if (ntables < 0) {
        errno = EINVAL;
        return NULL;
    }
    progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    /* One extra element so that ntables == 0 still allocates. */
    p->tables = calloc((size_t)ntables + 1, sizeof *p->tables);
    p->views = calloc((size_t)ntables + 1, sizeof *p->views);
    p->clocks = calloc((size_t)ntables + 1, sizeof *p->clocks);
    if (!p->tables || !p->views || !p->clocks) {
        free(p->tables);
        free(p->views);
        free(p->clocks);
        free(p);
        return NULL;
    }
    p->ntables = ntables;
    p->quiet = quiet;
    for (int i = 0; i <= ntables; i++)
        atomic_init(&p->tables[i].source_rows, -1);
    if (tty < 0) {
        const char *term = getenv("TERM");
        tty = isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
    }
    p->tty = tty;
    p->interval_s = interval_s > 0 ? interval_s : 10.0;
    for (int i = 0; i < ntables; i++) {
        p->tables[i].total = -1;
        p->tables[i].owner = p;
        p->tables[i].index = i;
        atomic_init(&p->tables[i].read, 0);
        atomic_init(&p->tables[i].written, 0);
        atomic_init(&p->tables[i].rejected, 0);
        atomic_init(&p->tables[i].filtered, 0);
        atomic_init(&p->tables[i].requests, 0);
        atomic_init(&p->tables[i].warned, 0);
        atomic_init(&p->tables[i].warning_state, 0);
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    p->started_mono = mono_seconds();
    clock_gettime(CLOCK_REALTIME, &p->started_wall);
    return p;
}

void progress_table_warning(table_progress *t, const char *warning)
{
    if (!t)
        return;
    atomic_fetch_add(&t->warned, 1);
    int none = 0;
    if (atomic_compare_exchange_strong(&t->warning_state, &none, 1)) {
        snprintf(t->first_warning, sizeof t->first_warning, "%s", warning ? warning : "");
        atomic_store(&t->warning_state, 2);
    }
}

table_progress *progress_table(progress *p, int i)
{
    if (!p || i < 0 || i >= p->ntables)
        return NULL;
    return &p->tables[i];
}

static long long done_of(const table_progress *t)
{
    return atomic_load(&t->written) + atomic_load(&t->rejected) + atomic_load(&t->filtered);
}

void progress_table_started(table_progress *t)
{
    if (!t || !t->owner)
        return;
    progress *p = t->owner;
    table_clock *c = &p->clocks[t->index];
    pthread_mutex_lock(&p->mu);
    if (c->started == 0 || c->finished > 0) {
        c->started = mono_seconds();
        c->finished = 0;
        c->start_done = done_of(t) - c->base_written - c->base_rejected;
    }
    pthread_mutex_unlock(&p->mu);
}

void progress_table_finished(table_progress *t)
{
    if (!t || !t->owner)
        return;
    progress *p = t->owner;
    table_clock *c = &p->clocks[t->index];
    pthread_mutex_lock(&p->mu);
    double now = mono_seconds();
    if (c->started == 0)
        c->started = now;
    c->finished = now;
    pthread_mutex_unlock(&p->mu);
}

void progress_table_resumed(table_progress *t, long long read, long long written,
                            long long rejected, long long filtered)
{
    if (!t || !t->owner)
        return;
    progress *p = t->owner;
    table_clock *c = &p->clocks[t->index];
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&t->read, read);
    atomic_fetch_add(&t->written, written);
    atomic_fetch_add(&t->rejected, rejected);
    atomic_fetch_add(&t->filtered, filtered);
    c->base_read += read;
    c->base_written += written;
    c->base_rejected += rejected + filtered;
    pthread_mutex_unlock(&p->mu);
}

/* A table's clock and counters, read consistently. run_* are this run's
 * rows: the counts less the resumed baseline. */
typedef struct table_snap {
    const char *name;
    int64_t total;
    long long read, written, rejected, filtered, done, requests, warned;
    long long run_read, run_done;
    const char *first_warning;  /* NULL until set */
    double started, finished;
    long long start_done;
    int64_t source_rows;        /* -1 unknown */
} table_snap;

static table_snap snapshot(progress *p, int i)
{
    table_progress *t = &p->tables[i];
    const table_clock *c = &p->clocks[i];
    table_snap s;
    pthread_mutex_lock(&p->mu);
    s.started = c->started;
    s.finished = c->finished;
    s.start_done = c->start_done;
    s.read = atomic_load(&t->read);
    s.written = atomic_load(&t->written);
    s.rejected = atomic_load(&t->rejected);
    s.filtered = atomic_load(&t->filtered);
    s.run_read = s.read - c->base_read;
    s.run_done = s.written + s.rejected + s.filtered - c->base_written - c->base_rejected;
    pthread_mutex_unlock(&p->mu);
    s.name = t->name;
    s.total = t->total;
    s.source_rows = atomic_load(&t->source_rows);
    s.requests = atomic_load(&t->requests);
    s.warned = atomic_load(&t->warned);
    s.first_warning = atomic_load(&t->warning_state) == 2 ? t->first_warning : NULL;
    s.done = s.written + s.rejected + s.filtered;
    return s;
}

/* Seconds the table has run: until it finished, or until `now`. */
static double table_seconds(const table_snap *s, double now)
{
    if (s->started == 0)
        return 0;
    return (s->finished > 0 ? s->finished : now) - s->started;
}

/* Record a sample and return rows/s of this run over the last `window`
 * seconds: since the table started while that is recent, else since the
 * oldest sample within the window. */
static double sample_rate(table_view *v, const table_snap *s, double now, double window)
{
    double t0 = s->started;
    long long d0 = s->start_done;
    for (int k = 0; k < v->nsamples && now - s->started > window; k++) {
        const rate_sample *r = &v->ring[(v->head - v->nsamples + k + RATE_SAMPLES) % RATE_SAMPLES];
        if (now - r->t <= window) {
            t0 = r->t;
            d0 = r->done;
            break;
        }
    }
    v->ring[v->head] = (rate_sample){now, s->run_done};
    v->head = (v->head + 1) % RATE_SAMPLES;
    if (v->nsamples < RATE_SAMPLES)
        v->nsamples++;
    double dt = now - t0;
    v->rate = s->started > 0 && dt > 1e-9 && s->run_done >= d0 ? (double)(s->run_done - d0) / dt
                                                                 : 0;
    return v->rate;
}

static void format_duration(char *out, size_t n, double s)
{
    long long t = s < 0 ? 0 : (long long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%lldh%02lldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(out, n, "%lldm%02llds", t / 60, t % 60);
    else
        snprintf(out, n, "%llds", t);
}

/* Seconds until `total` rows are done at `rate`, or -1 if unknown. */
static double eta_seconds(long long total, long long done, double rate)
{
    if (total < 0 || rate <= 0)
        return -1;
    return (double)(total > done ? total - done : 0) / rate;
}

static int is_active(const table_snap *s) { return s->started > 0 && s->finished == 0; }

/* The plain line of one table, as logs and CI want it. */
static void plain_line(cs_buf *b, const table_snap *s, double rate, double now)
{
    cs_buf_printf(b, "progress: table=%s read=%lld written=%lld rejected=%lld rows/s=%.0f "
                     "elapsed=%.0fs",
                  s->name, s->read, s->written, s->rejected, rate, table_seconds(s, now));
    if (s->total >= 0) {
        cs_buf_printf(b, " total=%lld", (long long)s->total);
        double eta = eta_seconds(s->total, s->done, rate);
        if (eta >= 0) {
            char t[32];
            format_duration(t, sizeof t, eta);
            cs_buf_printf(b, " eta=%s", t);
        }
    }
    cs_buf_append(b, "\n", 1);
}

/* ---- fitting a line to the terminal ----------------------------------- */

/* Columns a code point takes on a terminal: 2 for the East Asian wide and
 * fullwidth blocks and emoji, else 1 (combining marks counted as 1: too
 * wide is safe, too narrow would wrap). */
static int cp_columns(uint32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                   (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                   (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                   (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1FAFF) ||
                   (cp >= 0x20000 && cp <= 0x3FFFD)
               ? 2
               : 1;
}

/* Decode one character at s[0..n): its byte length, and in *cols its
 * columns; *bad set for a control character or a byte that does not start
 * valid UTF-8 (shown as '?': one column). */
static size_t next_char(const unsigned char *s, size_t n, int *cols, int *bad)
{
    *bad = 0;
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                                                    : (c & 0xF8) == 0xF0 ? 4 : 0;
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    if (len == 0 || len > n) {
        *bad = 1;
        *cols = 1;
        return 1;
    }
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) {
            *bad = 1;
            *cols = 1;
            return 1;
        }
        cp = cp << 6 | (s[k] & 0x3F);
    }
    static const uint32_t min_of_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_of_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp < 0x20 ||
        (cp >= 0x7F && cp < 0xA0)) {
        *bad = 1;
        *cols = 1;
        return len;
    }
    *cols = cp_columns(cp);
    return len;
}

/* Columns `name` takes when printed by put_name without a limit. */
static int name_columns(const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t n = strlen(name);
    int total = 0;
    for (size_t i = 0; i < n;) {
        int cols, bad;
        i += next_char(s + i, n - i, &cols, &bad);
        total += cols;
    }
    return total;
}

/* Append name in exactly `cols` columns: cut (ending in '~') or padded with
 * spaces. Control characters and invalid UTF-8 show as '?'. */
static void put_name(cs_buf *b, const char *name, int cols)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t n = strlen(name);
    int fits = name_columns(name) <= cols;
    int used = 0;
    for (size_t i = 0; i < n;) {
        int w, bad;
        size_t len = next_char(s + i, n - i, &w, &bad);
        if (used + w > cols - (fits ? 0 : 1))
            break;
        if (bad)
            cs_buf_append(b, "?", 1);
        else
            cs_buf_append(b, s + i, len);
        used += w;
        i += len;
    }
    if (!fits && used < cols) {
        cs_buf_append(b, "~", 1);
        used++;
    }
    for (; used < cols; used++)
        cs_buf_append(b, " ", 1);
}

/* The parts of a terminal line after the name, all ASCII; an empty string
 * is a part not shown. */
enum { PART_PCT, PART_READ, PART_WRITTEN, PART_REJECTED, PART_RATE, PART_ETA, NPARTS };

/* Columns of the line: name, then the bar if bar > 0, then the parts, one
 * space between any two. */
static int line_columns(int name_cols, int bar, char parts[NPARTS][48])
{
    int cols = name_cols;
    if (bar > 0)
        cols += 1 + bar + 2;
    for (int k = 0; k < NPARTS; k++)
        if (parts[k][0])
            cols += 1 + (int)strlen(parts[k]);
    return cols;
}

int progress_format_line(cs_buf *b, const progress_line *l, int width)
{
    int avail = width > 1 ? width - 1 : 1;
    char parts[NPARTS][48];
    memset(parts, 0, sizeof parts);
    long long done = l->written + l->rejected;
    double frac = -1;
    if (l->total > 0) {
        frac = (double)done / (double)l->total;
        frac = frac > 1 ? 1 : frac < 0 ? 0 : frac;
        snprintf(parts[PART_PCT], sizeof parts[0], "%3.0f%%", frac * 100);
    }
    snprintf(parts[PART_READ], sizeof parts[0], "read %lld", l->read);
    snprintf(parts[PART_WRITTEN], sizeof parts[0], "written %lld", l->written);
    snprintf(parts[PART_REJECTED], sizeof parts[0], "rejected %lld", l->rejected);
    char t[32];
    if (l->finished) {
        format_duration(t, sizeof t, l->seconds);
        snprintf(parts[PART_ETA], sizeof parts[0], "done in %s", t);
    } else {
        snprintf(parts[PART_RATE], sizeof parts[0], "%.0f rows/s", l->rate);
        double eta = eta_seconds(l->total, done, l->rate);
        if (eta >= 0) {
            format_duration(t, sizeof t, eta);
            snprintf(parts[PART_ETA], sizeof parts[0], "ETA %s", t);
        }
    }

    /* Drop what matters least until the line fits; the bar takes what is
     * left, between BAR_MIN and BAR_MAX. */
    int name_cols = NAME_MAX_COLS; /* padded: the lines of a block align */
    int has_bar = frac >= 0;
    int bar = 0;
    for (int step = 0; step < 10; step++) {
        int rest = line_columns(name_cols, 0, parts);
        bar = 0;
        if (has_bar) {
            bar = avail - rest - 3 < BAR_MAX ? avail - rest - 3 : BAR_MAX;
            if (bar < BAR_MIN)
                bar = 0;
        }
        if (rest <= avail && (bar > 0 || !has_bar))
            break;
        switch (step) {
        case 0: parts[PART_READ][0] = '\0'; break;
        case 1:
            if (l->rejected == 0)
                parts[PART_REJECTED][0] = '\0';
            break;
        case 2: name_cols = name_cols > 16 ? 16 : name_cols; break;
        case 3: has_bar = 0; break;
        case 4: name_cols = name_cols > 10 ? 10 : name_cols; break;
        case 5: parts[PART_WRITTEN][0] = '\0'; break;
        case 6: parts[PART_REJECTED][0] = '\0'; break;
        case 7: parts[PART_ETA][0] = '\0'; break;
        case 8: parts[PART_PCT][0] = '\0'; break;
        default: parts[PART_RATE][0] = '\0'; break;
        }
    }
    /* Whatever still does not fit is cut: the name first (at least 1
     * column), then the ASCII parts. */
    int rest = line_columns(0, bar, parts);
    if (name_cols + rest > avail)
        name_cols = avail - rest >= 1 ? avail - rest : 1;
    cs_buf line;
    cs_buf_init(&line, SIZE_MAX);
    if (bar > 0) {
        int fill = (int)(frac * bar);
        cs_buf_append(&line, " [", 2);
        for (int k = 0; k < bar; k++)
            cs_buf_append(&line, k < fill ? "#" : ".", 1);
        cs_buf_append(&line, "]", 1);
    }
    for (int k = 0; k < NPARTS; k++)
        if (parts[k][0])
            cs_buf_printf(&line, " %s", parts[k]);
    put_name(b, l->name, name_cols);
    size_t room = (size_t)(avail - name_cols);
    size_t n = line.len < room ? line.len : room;
    cs_buf_append(b, line.data, n);
    cs_buf_append(b, "\n", 1);
    cs_buf_release(&line);
    return name_cols + (int)n;
}

void progress_term_size(int fd, int *cols, int *rows)
{
    struct winsize ws;
    int c = 0, r = 0;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0) {
        c = ws.ws_col;
        r = ws.ws_row;
    }
    const char *e;
    if (c <= 0 && (e = getenv("COLUMNS")) != NULL)
        c = atoi(e);
    if (r <= 0 && (e = getenv("LINES")) != NULL)
        r = atoi(e);
    *cols = c > 0 ? c : 80;
    *rows = r > 0 ? r : 24;
}

/* One terminal line of a table; returns the columns it took. */
static int tty_line(cs_buf *b, const table_snap *s, double rate, double now, int width)
{
    progress_line l = {.name = s->name,
                       .total = s->total,
                       .read = s->read,
                       .written = s->written,
                       .rejected = s->rejected,
                       .rate = rate,
                       .seconds = table_seconds(s, now),
                       .finished = s->finished > 0};
    return progress_format_line(b, &l, width);
}

static void emit(const cs_buf *b)
{
    if (b->len) {
        fwrite(b->data, 1, b->len, stderr);
        fflush(stderr);
    }
}

/* Rows a line `cols` columns wide, drawn earlier, takes now that the
 * terminal is `width` wide: a terminal that rewraps its lines on a resize
 * (most do) puts a line wider than the new width on several rows. A frame
 * drawn after the terminal rewrapped but before it reported the new width
 * (tmux tells the program late) moves up too little once, and leaves the
 * rows of that one frame behind; nothing here can see that happen. */
static int screen_rows(int cols, int width)
{
    return cols <= width ? 1 : (cols + width - 1) / width;
}

/* End the line just appended to b (it ends in "\n") with "erase to the end
 * of the line", so it covers whatever the last frame left on that row. */
static void erase_rest(cs_buf *b)
{
    b->len--;
    cs_buf_append(b, "\033[K\n", 4);
}

/* Terminal: go back to the top of the live block; tables finished since
 * the last frame get a permanent line there; then the active tables are
 * drawn again, each line cut to the terminal's width as it is now, and at
 * most as many as fit on its screen. With final set, the active tables are
 * not drawn again (the summary follows).
 *
 * Each line overwrites a row and erases the rest of it, and rows left over
 * are erased after the last line, never by "erase below" from the block's
 * top: tmux (and terminals like it) move the whole screen into the
 * scrollback when that is done at the top-left corner, which would leave
 * every frame there. */
static void draw_tty(progress *p, double now, int final)
{
    int width, height;
    progress_term_size(STDERR_FILENO, &width, &height);
    cs_buf b;
    cs_buf_init(&b, SIZE_MAX);
    int up = 0;
    for (int k = 0; k < p->lines_drawn; k++)
        up += screen_rows(p->line_cols[k], width);
    if (up > 0)
        cs_buf_printf(&b, "\033[%dA", up);
    cs_buf_append(&b, "\r", 1);
    int lines = 0; /* written in this frame */
    int active = 0;
    for (int i = 0; i < p->ntables; i++) {
        table_snap s = snapshot(p, i);
        double rate = sample_rate(&p->views[i], &s, now, RATE_WINDOW_S);
        if (s.finished > 0 && !p->views[i].shown_final) {
            tty_line(&b, &s, rate, now, width);
            erase_rest(&b);
            lines++;
            p->views[i].shown_final = 1;
        }
        active += is_active(&s);
    }
    int max_lines = height - 1 < TTY_MAX_LINES ? height - 1 : TTY_MAX_LINES;
    if (max_lines < 1)
        max_lines = 1;
    int drawn = 0;
    int room = active > max_lines ? max_lines - 1 : max_lines;
    for (int i = 0; i < p->ntables && !final && drawn < room; i++) {
        table_snap s = snapshot(p, i);
        if (!is_active(&s))
            continue;
        p->line_cols[drawn++] = tty_line(&b, &s, p->views[i].rate, now, width);
        erase_rest(&b);
        lines++;
    }
    if (!final && active > drawn) {
        char more[64];
        int n = snprintf(more, sizeof more, "... and %d more tables in progress", active - drawn);
        int cols = n < width - 1 ? n : width > 1 ? width - 1 : 1;
        cs_buf_append(&b, more, (size_t)cols);
        cs_buf_append(&b, "\033[K\n", 4);
        lines++;
        p->line_cols[drawn++] = cols;
    }
    if (lines > 0) {
        cs_buf_append(&b, "\033[J", 3); /* below the block: not the top-left corner */
    } else if (up > 0) {
        /* Nothing drawn: erase the old rows one by one and come back. */
        for (int k = 0; k < up; k++)
            cs_buf_append(&b, "\033[2K\n", 5);
        cs_buf_printf(&b, "\033[%dA", up);
    }
    p->lines_drawn = final ? 0 : drawn;
    emit(&b);
    cs_buf_release(&b);
}

static void draw_plain(progress *p, double now)
{
    cs_buf b;
    cs_buf_init(&b, SIZE_MAX);
    for (int i = 0; i < p->ntables; i++) {
        table_snap s = snapshot(p, i);
        /* Samples are one interval apart; allow for the thread's jitter. */
        double rate = sample_rate(&p->views[i], &s, now, p->interval_s * 1.5);
        if (is_active(&s))
            plain_line(&b, &s, rate, now);
    }
    emit(&b);
    cs_buf_release(&b);
}
static void *display_main(void *arg)
{
    progress *p = arg;
    double tick = p->tty ? TTY_TICK_S : p->interval_s;
    double next = mono_seconds() + tick;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct timespec ts = {.tv_sec = (time_t)next,
                              .tv_nsec = (long)((next - (double)(time_t)next) * 1e9)};
        int rc = pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        if (p->stop)
            break;
        if (rc != ETIMEDOUT)
            continue; /* spurious wakeup */
        pthread_mutex_unlock(&p->mu);
        double now = mono_seconds();
        if (p->tty)
            draw_tty(p, now, 0);
        else
            draw_plain(p, now);
        /* Keep a steady cadence; if drawing fell behind, skip ahead. */
        next += tick;
        if (next < now)
            next = now + tick;
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void progress_start(progress *p)
{
    if (!p)
        return;
    p->started_mono = mono_seconds();
    clock_gettime(CLOCK_REALTIME, &p->started_wall);
    if (p->quiet || p->thread_running)
        return;
    p->stop = 0;
    if (pthread_create(&p->thread, NULL, display_main, p) == 0)
        p->thread_running = 1;
    /* Without a display thread the run goes on; only the live view is lost. */
}

static void stop_display(progress *p)
{
    if (!p->thread_running)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    p->thread_running = 0;
    if (p->tty)
        draw_tty(p, mono_seconds(), 1);
}

/* read = written + rejected + filtered, and read = the rows the source held
 * where it could count them. */
static int reconciles(const table_snap *s)
{
    return s->read == s->written + s->rejected + s->filtered &&
           (s->source_rows < 0 || s->source_rows == s->read);
}

/* Rows per second, or 0 when the time is too short to measure: a table of
 * ten rows done in 20 microseconds did not run at 500000 rows/s. The
 * summary and the report give the rows read by this run over its seconds:
 * rows that earlier runs of a resumed job read took none of them. */
static double per_second(long long rows, double seconds)
{
    return seconds >= 0.001 ? (double)rows / seconds : 0;
}

/* Totals over every table; seconds is the run's wall time. */
static table_snap totals(progress *p, double now, int *all_ok)
{
    table_snap t = {.name = "total", .total = -1, .source_rows = -1};
    *all_ok = 1;
    for (int i = 0; i < p->ntables; i++) {
        table_snap s = snapshot(p, i);
        /* known only when every table's is */
        t.source_rows = i == 0 ? s.source_rows
                        : t.source_rows < 0 || s.source_rows < 0 ? -1
                                                                 : t.source_rows + s.source_rows;
        t.read += s.read;
        t.run_read += s.run_read;
        t.run_done += s.run_done;
        t.written += s.written;
        t.rejected += s.rejected;
        t.filtered += s.filtered;
        t.requests += s.requests;
        t.warned += s.warned;
        if (!reconciles(&s))
            *all_ok = 0;
    }
    t.done = t.written + t.rejected + t.filtered;
    t.started = p->started_mono;
    t.finished = p->finished_mono > 0 ? p->finished_mono : now;
    return t;
}

/* One row of the summary, formatted; columns after the name. */
enum { SUMMARY_COLS = 7 };
typedef struct summary_row {
    const char *name;
    char cell[SUMMARY_COLS][32];
} summary_row;

static void summary_cells(summary_row *r, const table_snap *s, double secs, int ok_flag)
{
    r->name = s->name;
    snprintf(r->cell[0], sizeof r->cell[0], "%lld", s->read);
    snprintf(r->cell[1], sizeof r->cell[1], "%lld", s->written);
    snprintf(r->cell[2], sizeof r->cell[2], "%lld", s->rejected);
    snprintf(r->cell[3], sizeof r->cell[3], "%lld", s->filtered);
    snprintf(r->cell[4], sizeof r->cell[4], "%.1f", secs);
    snprintf(r->cell[5], sizeof r->cell[5], "%.0f", per_second(s->run_read, secs));
    snprintf(r->cell[6], sizeof r->cell[6], "%s", ok_flag ? "ok" : "MISMATCH");
}

/* The summary table, every column as wide as its widest cell. */
static void put_summary(cs_buf *b, progress *p, const table_snap *tot, int all_ok, double now)
{
    int nrows = p->ntables + 1 + (p->ntables >= 2);
    summary_row *rows = calloc((size_t)nrows, sizeof *rows);
    if (!rows)
        return;
    rows[0].name = "table";
    static const char *const heads[SUMMARY_COLS] = {"read",    "written", "rejected", "filtered",
                                                    "seconds", "rows/s",  "check"};
    for (int c = 0; c < SUMMARY_COLS; c++)
        snprintf(rows[0].cell[c], sizeof rows[0].cell[c], "%s", heads[c]);
    for (int i = 0; i < p->ntables; i++) {
        table_snap s = snapshot(p, i);
        summary_cells(&rows[i + 1], &s, table_seconds(&s, now), reconciles(&s));
    }
    if (p->ntables >= 2)
        summary_cells(&rows[nrows - 1], tot, table_seconds(tot, now), all_ok);
    int w[SUMMARY_COLS + 1] = {0};
    for (int r = 0; r < nrows; r++) {
        int l = (int)strlen(rows[r].name);
        w[0] = l > w[0] ? l : w[0];
        for (int c = 0; c < SUMMARY_COLS; c++) {
            l = (int)strlen(rows[r].cell[c]);
            w[c + 1] = l > w[c + 1] ? l : w[c + 1];
        }
    }
    for (int r = 0; r < nrows; r++) {
        cs_buf_printf(b, "%-*s", w[0], rows[r].name);
        /* Numbers right-aligned; the check column last and unpadded. */
        for (int c = 0; c < SUMMARY_COLS - 1; c++)
            if (c != 3 || tot->filtered > 0) /* "filtered" only when a mapping filtered */
                cs_buf_printf(b, "  %*s", w[c + 1], rows[r].cell[c]);
        cs_buf_printf(b, "  %s\n", rows[r].cell[SUMMARY_COLS - 1]);
    }
    free(rows);
}

int progress_finish(progress *p)
{
    if (!p)
        return 0;
    stop_display(p);
    double now = mono_seconds();
    if (p->finished_mono == 0)
        p->finished_mono = now;
    int all_ok;
    table_snap tot = totals(p, now, &all_ok);
    cs_buf b;
    cs_buf_init(&b, SIZE_MAX);
    if (!p->quiet)
        put_summary(&b, p, &tot, all_ok, now);
    if (!p->quiet && tot.read > tot.run_read)
        cs_buf_printf(&b,
                      "cqlshift: note: resumed: earlier runs of this job read %lld of these "
                      "rows; rows/s counts the %lld this run read\n",
                      tot.read - tot.run_read, tot.run_read);
    /* Errors are printed even with quiet. */
    for (int i = 0; i < p->ntables; i++) {
        table_snap s = snapshot(p, i);
        if (s.read != s.written + s.rejected + s.filtered && s.filtered)
            cs_buf_printf(&b,
                          "MISMATCH: table %s: read %lld = written %lld + rejected %lld + "
                          "filtered %lld does not hold\n",
                          s.name, s.read, s.written, s.rejected, s.filtered);
        else if (s.read != s.written + s.rejected + s.filtered)
            cs_buf_printf(&b,
                          "MISMATCH: table %s: read %lld = written %lld + rejected %lld does "
                          "not hold\n",
                          s.name, s.read, s.written, s.rejected);
        else if (!reconciles(&s))
            cs_buf_printf(&b,
                          "MISMATCH: table %s: read %lld rows, but the source held %lld in the "
                          "job's ranges when they were planned (rows changed in the source "
                          "while the job ran)\n",
                          s.name, s.read, (long long)s.source_rows);
        if (s.warned && !p->quiet)
            cs_buf_printf(&b,
                          "cqlshift: note: Cassandra attached a warning to %lld write request%s "
                          "of %s; the first: %s\n",
                          s.warned, s.warned == 1 ? "" : "s", s.name,
                          s.first_warning ? s.first_warning : "(not kept)");
    }
    emit(&b);
    cs_buf_release(&b);
    return all_ok ? 0 : -1;
}

/* A JSON string for a name that may not be valid UTF-8 (a table name from a
 * source we do not control): bytes outside ASCII become '?' if need be. */
static json_t *json_name(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    for (char *c = copy; *c; c++)
        if ((unsigned char)*c >= 0x80)
            *c = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

/* Seconds and rates rounded to what a reader can use, so the report does
 * not show 0.30000000000000004. */
static json_t *json_rounded(double v, double scale)
{
    return json_real((double)(long long)(v * scale + 0.5) / scale);
}

static json_t *table_json(const table_snap *s, double secs, int ok_flag)
{
    json_t *o = json_object();
    json_object_set_new(o, "table", json_name(s->name));
    json_object_set_new(o, "read", json_integer(s->read));
    json_object_set_new(o, "written", json_integer(s->written));
    json_object_set_new(o, "rejected", json_integer(s->rejected));
    json_object_set_new(o, "filtered", json_integer(s->filtered));
    /* less than read after --resume: the rows earlier runs settled */
    json_object_set_new(o, "read_this_run", json_integer(s->run_read));
    json_object_set_new(o, "source_rows",
                        s->source_rows >= 0 ? json_integer(s->source_rows) : json_null());
    json_object_set_new(o, "write_requests", json_integer(s->requests));
    json_object_set_new(o, "server_warnings", json_integer(s->warned));
    json_object_set_new(o, "first_server_warning",
                        s->first_warning ? json_name(s->first_warning) : json_null());
    json_object_set_new(o, "seconds", json_rounded(secs, 1000));
    json_object_set_new(o, "rows_per_s", json_rounded(per_second(s->run_read, secs), 10));
    json_object_set_new(o, "ok", json_boolean(ok_flag));
    return o;
}

static json_t *report_json(progress *p, const char *source, const char *target)
{
    double now = mono_seconds();
    int all_ok;
    table_snap tot = totals(p, now, &all_ok);
    double run_secs = tot.finished - tot.started;

    char started[32];
    struct tm tm;
    gmtime_r(&p->started_wall.tv_sec, &tm);
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &tm);

    json_t *root = json_object();
    json_object_set_new(root, "source", source ? json_name(source) : json_null());
    json_object_set_new(root, "target", target ? json_name(target) : json_null());
    json_object_set_new(root, "started_at", json_string(started));
    json_object_set_new(root, "seconds", json_rounded(run_secs, 1000));
    json_t *arr = json_array();
    for (int i = 0; i < p->ntables; i++) {
        table_snap s = snapshot(p, i);
        json_array_append_new(arr, table_json(&s, table_seconds(&s, now), reconciles(&s)));
    }
    json_object_set_new(root, "tables", arr);
    json_t *t = table_json(&tot, run_secs, all_ok);
    json_object_del(t, "table");
    json_object_del(t, "first_server_warning");
    json_object_set_new(root, "totals", t);
    json_object_set_new(root, "ok", json_boolean(all_ok));
    if (p->extra)
        json_object_update(root, p->extra);
    return root;
}

void progress_report_set(progress *p, const char *key, json_t *value)
{
    if (!p->extra)
        p->extra = json_object();
    if (p->extra && value)
        json_object_set(p->extra, key, value);
}

/* Write to a temporary file beside `path` and rename it into place, so a
 * reader (a CI job) sees the old report or the whole new one, never half. */
static int write_atomically(const char *path_given, const char *text)
{
    char path[PATH_MAX];
    int direct = cs_output_path(path_given, path, sizeof path);
    if (direct < 0)
        return -1;
    if (direct) {   /* a FIFO, a device, a link to a file not there yet: as it is */
        FILE *f = fopen(path_given, "w");
        if (!f)
            return -1;
        int bad = fputs(text, f) == EOF || fputc('\n', f) == EOF || fflush(f) != 0;
        int e = errno;
        if (fclose(f) != 0 && !bad) {
            bad = 1;
            e = errno;
        }
        errno = e;
        return bad ? -1 : 0;
    }
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return -1;
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        int e = errno;
        free(tmp);
        errno = e;
        return -1;
    }
    int bad = fputs(text, f) == EOF || fputc('\n', f) == EOF || fflush(f) != 0 ||
              fsync(fileno(f)) != 0;
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && cs_rename_durable(tmp, path) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad)
        unlink(tmp);
    free(tmp);
    errno = e;
    return bad ? -1 : 0;
}

int progress_write_report(progress *p, const char *path, const char *source, const char *target)
{
    if (!p || !path) {
        errno = EINVAL;
        return -1;
    }
    json_t *root = report_json(p, source, target);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(root);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    int ret;
    if (strcmp(path, "-") == 0) {
        ret = fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) != 0
                  ? -1
                  : 0;
    } else {
        ret = write_atomically(path, text);
    }
    int e = errno;
    free(text);
    errno = e;
    return ret;
}

void progress_free(progress *p)
{
    if (!p)
        return;
    stop_display(p);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->tables);
    free(p->views);
    free(p->clocks);
    json_decref(p->extra);
    free(p);
}
