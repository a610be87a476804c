/* Progress display, final summary and the run report. See progress.h.
 *
 * Workers touch only the atomic counters of their table_progress. Everything
 * else (start/finish times, the rate samples, what is on the screen) belongs
 * to the display thread or is guarded by p->mu, so the display never reads a
 * half-written double.
 *
 * Rates and ETAs count rows done (written + rejected), not rows read: read
 * runs ahead of the loader by a bounded queue, and a table is finished only
 * when its rows are done.
 */
#include "obs/progress.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"

/* Redraw period on a terminal: smooth to the eye, cheap to produce. */
#define TTY_TICK_S 0.1
/* The rows/s shown is the average over about this many seconds. */
#define RATE_WINDOW_S 5.0
/* Samples kept per table: enough for RATE_WINDOW_S at TTY_TICK_S. */
#define RATE_SAMPLES 64
/* At most this many active tables are drawn on a terminal; more would scroll
 * the block off the screen, and lines off screen cannot be redrawn. */
#define TTY_MAX_LINES 20
#define BAR_WIDTH 30

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

struct progress {
    int ntables;
    int quiet;
    int tty;
    double interval_s;
    table_progress *tables;
    table_view *views; /* display thread only */
    long long *start_done; /* rows done when each table started (a resumed
                              table starts from its checkpoint); under mu */

    pthread_mutex_t mu; /* started/finished times, stop flag */
    pthread_cond_t cv;
    int stop;
    int thread_running;
    pthread_t thread;

    int lines_drawn; /* terminal: lines of the live block now on screen */
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
    p->start_done = calloc((size_t)ntables + 1, sizeof *p->start_done);
    if (!p->tables || !p->views || !p->start_done) {
        free(p->tables);
        free(p->views);
        free(p->start_done);
        free(p);
        return NULL;
    }
    p->ntables = ntables;
    p->quiet = quiet;
    for (int i = 0; i <= ntables; i++)
        p->tables[i].source_rows = -1;
    if (tty < 0) {
        const char *term = getenv("TERM");
        tty = isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
    }
    p->tty = tty;
    p->interval_s = interval_s > 0 ? interval_s : 10.0;
    for (int i = 0; i < ntables; i++) {
        p->tables[i].total = -1;
        atomic_init(&p->tables[i].read, 0);
        atomic_init(&p->tables[i].written, 0);
        atomic_init(&p->tables[i].rejected, 0);
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

void progress_table_started(progress *p, int i)
{
    if (!progress_table(p, i))
        return;
    table_progress *t = &p->tables[i];
    pthread_mutex_lock(&p->mu);
    t->started = mono_seconds();
    t->finished = 0;
    p->start_done[i] = atomic_load(&t->written) + atomic_load(&t->rejected);
    pthread_mutex_unlock(&p->mu);
}

void progress_table_finished(progress *p, int i)
{
    if (!progress_table(p, i))
        return;
    pthread_mutex_lock(&p->mu);
    double now = mono_seconds();
    if (p->tables[i].started == 0)
        p->tables[i].started = now;
    p->tables[i].finished = now;
    pthread_mutex_unlock(&p->mu);
}

/* A table's start/finish times and counters, read consistently enough. */
typedef struct table_snap {
    const char *name;
    int64_t total;
    long long read, written, rejected, done, requests, warned;
    const char *first_warning;  /* NULL until set */
    double started, finished;
    long long start_done;
    int64_t source_rows;        /* -1 unknown */
} table_snap;

static table_snap snapshot(progress *p, int i)
{
    table_progress *t = &p->tables[i];
    table_snap s;
    pthread_mutex_lock(&p->mu);
    s.started = t->started;
    s.finished = t->finished;
    s.start_done = p->start_done[i];
    pthread_mutex_unlock(&p->mu);
    s.name = t->name;
    s.total = t->total;
    s.source_rows = t->source_rows;
    s.read = atomic_load(&t->read);
    s.written = atomic_load(&t->written);
    s.rejected = atomic_load(&t->rejected);
    s.requests = atomic_load(&t->requests);
    s.warned = atomic_load(&t->warned);
    s.first_warning = atomic_load(&t->warning_state) == 2 ? t->first_warning : NULL;
    s.done = s.written + s.rejected;
    return s;
}

/* Seconds the table has run: until it finished, or until `now`. */
static double table_seconds(const table_snap *s, double now)
{
    if (s->started == 0)
        return 0;
    return (s->finished > 0 ? s->finished : now) - s->started;
}

/* Record a sample and return rows/s over the last `window` seconds: since
 * the table started while that is recent, else since the oldest sample
 * within the window. */
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
    v->ring[v->head] = (rate_sample){now, s->done};
    v->head = (v->head + 1) % RATE_SAMPLES;
    if (v->nsamples < RATE_SAMPLES)
        v->nsamples++;
    double dt = now - t0;
    v->rate = s->started > 0 && dt > 1e-9 && s->done >= d0 ? (double)(s->done - d0) / dt : 0;
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

static int is_active(const table_snap *s) { return s->started > 0 && s->finished == 0; }

/* The plain line of one table, as logs and CI want it. */
static void plain_line(cs_buf *b, const table_snap *s, double rate, double now)
{
    cs_buf_printf(b, "progress: table=%s read=%lld written=%lld rejected=%lld rows/s=%.0f "
                     "elapsed=%.0fs",
                  s->name, s->read, s->written, s->rejected, rate, table_seconds(s, now));
    if (s->total >= 0) {
        cs_buf_printf(b, " total=%lld", (long long)s->total);
        if (rate > 0) {
            char eta[32];
            format_duration(eta, sizeof eta, (double)(s->total > s->done ? s->total - s->done : 0) / rate);
            cs_buf_printf(b, " eta=%s", eta);
        }
    }
    cs_buf_append(b, "\n", 1);
}

/* One terminal line: name, bar, counters, rate, ETA. */
static void tty_line(cs_buf *b, const table_snap *s, double rate, double now)
{
    cs_buf_printf(b, "%-24.24s ", s->name);
    if (s->total > 0) {
        double frac = (double)s->done / (double)s->total;
        if (frac > 1)
            frac = 1;
        int fill = (int)(frac * BAR_WIDTH);
        char bar[BAR_WIDTH + 1];
        for (int k = 0; k < BAR_WIDTH; k++)
            bar[k] = k < fill ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        cs_buf_printf(b, "[%s] %3.0f%% ", bar, frac * 100);
    }
    cs_buf_printf(b, "read %lld written %lld rejected %lld ", s->read, s->written, s->rejected);
    char t[32];
    if (s->finished > 0) {
        format_duration(t, sizeof t, table_seconds(s, now));
        cs_buf_printf(b, "done in %s", t);
    } else {
        cs_buf_printf(b, "%.0f rows/s", rate);
        if (s->total >= 0 && rate > 0) {
            format_duration(t, sizeof t,
                            (double)(s->total > s->done ? s->total - s->done : 0) / rate);
            cs_buf_printf(b, " ETA %s", t);
        }
    }
    cs_buf_append(b, "\n", 1);
}

static void emit(const cs_buf *b)
{
    if (b->len) {
        fwrite(b->data, 1, b->len, stderr);
        fflush(stderr);
    }
}

/* Terminal: erase the live block; tables finished since the last frame get
 * a permanent line above it; then the active tables are drawn again. With
 * final set, the block is only erased (the summary follows). */
static void draw_tty(progress *p, double now, int final)
{
    cs_buf b;
    cs_buf_init(&b, SIZE_MAX);
    if (p->lines_drawn > 0)
        cs_buf_printf(&b, "\033[%dA", p->lines_drawn);
    cs_buf_printf(&b, "\r\033[J");
    int active = 0;
    for (int i = 0; i < p->ntables; i++) {
        table_snap s = snapshot(p, i);
        double rate = sample_rate(&p->views[i], &s, now, RATE_WINDOW_S);
        if (s.finished > 0 && !p->views[i].shown_final && !final) {
            tty_line(&b, &s, rate, now);
            p->views[i].shown_final = 1;
        }
        active += is_active(&s);
    }
    int drawn = 0;
    int room = active > TTY_MAX_LINES ? TTY_MAX_LINES - 1 : TTY_MAX_LINES;
    for (int i = 0; i < p->ntables && !final && drawn < room; i++) {
        table_snap s = snapshot(p, i);
        if (!is_active(&s))
            continue;
        tty_line(&b, &s, p->views[i].rate, now);
        drawn++;
    }
    if (!final && active > drawn) {
        cs_buf_printf(&b, "... and %d more tables in progress\n", active - drawn);
        drawn++;
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

/* read = written + rejected, and read = the rows the source held where it
 * could count them. */
static int reconciles(const table_snap *s)
{
    return s->read == s->written + s->rejected && (s->source_rows < 0 || s->source_rows == s->read);
}

/* Rows per second, or 0 when the time is too short to measure: a table of
 * ten rows done in 20 microseconds did not run at 500000 rows/s. */
static double per_second(long long rows, double seconds)
{
    return seconds >= 0.001 ? (double)rows / seconds : 0;
}

/* Totals over every table; seconds is the run's wall time. */
static table_snap totals(progress *p, double now, int *all_ok)
{
    table_snap t = {.name = "total", .total = -1};
    *all_ok = 1;
    for (int i = 0; i < p->ntables; i++) {
        table_snap s = snapshot(p, i);
        t.read += s.read;
        t.written += s.written;
        t.rejected += s.rejected;
        t.requests += s.requests;
        t.warned += s.warned;
        if (!reconciles(&s))
            *all_ok = 0;
    }
    t.done = t.written + t.rejected;
    t.started = p->started_mono;
    t.finished = p->finished_mono > 0 ? p->finished_mono : now;
    return t;
}

/* One row of the summary, formatted; columns after the name. */
enum { SUMMARY_COLS = 6 };
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
    snprintf(r->cell[3], sizeof r->cell[3], "%.1f", secs);
    snprintf(r->cell[4], sizeof r->cell[4], "%.0f", per_second(s->read, secs));
    snprintf(r->cell[5], sizeof r->cell[5], "%s", ok_flag ? "ok" : "MISMATCH");
}

/* The summary table, every column as wide as its widest cell. */
static void put_summary(cs_buf *b, progress *p, const table_snap *tot, int all_ok, double now)
{
    int nrows = p->ntables + 1 + (p->ntables >= 2);
    summary_row *rows = calloc((size_t)nrows, sizeof *rows);
    if (!rows)
        return;
    rows[0].name = "table";
    static const char *const heads[SUMMARY_COLS] = {"read",    "written", "rejected",
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
    /* Errors are printed even with quiet. */
    for (int i = 0; i < p->ntables; i++) {
        table_snap s = snapshot(p, i);
        if (s.read != s.written + s.rejected)
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
    json_object_set_new(o, "source_rows",
                        s->source_rows >= 0 ? json_integer(s->source_rows) : json_null());
    json_object_set_new(o, "write_requests", json_integer(s->requests));
    json_object_set_new(o, "server_warnings", json_integer(s->warned));
    json_object_set_new(o, "first_server_warning",
                        s->first_warning ? json_name(s->first_warning) : json_null());
    json_object_set_new(o, "seconds", json_rounded(secs, 1000));
    json_object_set_new(o, "rows_per_s", json_rounded(per_second(s->read, secs), 10));
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
    return root;
}

/* Write to a temporary file beside `path` and rename it into place, so a
 * reader (a CI job) sees the old report or the whole new one, never half. */
static int write_atomically(const char *path, const char *text)
{
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
    if (!bad && rename(tmp, path) != 0) {
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
    free(p->start_done);
    free(p);
}
