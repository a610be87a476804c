/* Jobs, run folders and signals. See job.h. */
#include "source/source.h"
#include "cli/job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "state/state.h"

atomic_int cli_interrupt;
char cli_command_line[4096];

static void on_signal(int sig)
{
    (void)sig;
    /* Only async-signal-safe calls here: atomics, write(2), _exit(2). */
    if (atomic_fetch_add(&cli_interrupt, 1) == 0) {
        static const char msg[] = "\ncqlshift: interrupted: finishing the work in flight and "
                                  "saving the progress (press Ctrl-C again to stop at once)\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
    } else {
        static const char msg[] = "\ncqlshift: stopped at once; the progress saved so far is "
                                  "kept: run the same command with --resume\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(CLI_EXIT_INTERRUPTED);
    }
}

int cli_interrupted_before_writing(void)
{
    if (!atomic_load(&cli_interrupt))
        return 0;
    fprintf(stderr, "cqlshift: interrupted before anything was written to Cassandra\n");
    return 1;
}

void cli_signals_install(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void cli_set_command_line(int argc, char **argv)
{
    size_t n = 0, cap = sizeof cli_command_line;
    cli_command_line[0] = '\0';
    for (int i = 0; i < argc && n + 4 < cap; i++) {
        const char *a = i == 0 ? "cqlshift" : argv[i];
        char red[2048];
        if (i > 0 && strstr(a, "://")) {  /* a password in a URI never goes into a run's files */
            source_uri_redact(a, red, sizeof red);
            a = red;
        }
        int quote = !*a || strpbrk(a, " \t\"'\\$`*?;&|<>()") != NULL;
        int w = snprintf(cli_command_line + n, cap - n, "%s%s", i ? " " : "", quote ? "'" : "");
        n += (size_t)w < cap - n ? (size_t)w : cap - n - 1;
        for (const char *c = a; *c && n + 6 < cap; c++) {
            if (quote && *c == '\'') {
                memcpy(cli_command_line + n, "'\\''", 4);
                n += 4;
            } else {
                cli_command_line[n++] = *c;
            }
        }
        if (quote && n + 2 < cap)
            cli_command_line[n++] = '\'';
        cli_command_line[n] = '\0';
    }
}

int cli_check_writable(const char *path, const char *what)
{
    if (!strcmp(path, "-"))
        return 0;
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            cli_error("%s %s is a folder; give a file name", what, path);
            return -1;
        }
        if (access(path, W_OK) != 0) {
            cli_error("%s %s cannot be written: %s", what, path, strerror(errno));
            return -1;
        }
        return 0;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        cli_error("%s %s cannot be written: the folder %s does not exist", what, path, dir);
        return -1;
    }
    if (access(dir, W_OK) != 0) {
        cli_error("%s %s cannot be written: the folder %s is not writable (%s)", what, path, dir,
                  strerror(errno));
        return -1;
    }
    return 0;
}

/* mkdir -p; 0 or -1 with errno. */
static int make_dirs(const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -1;
        *c = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return -1;
    struct stat sb;
    if (stat(p, &sb) != 0)
        return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* The job id: command, a readable name made safe for a file name, and the
 * first 8 hex digits of SHA-256(key). */
static void make_id(job *j, const char *command, const char *name)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(j->key, strlen(j->key), md, &mdlen, EVP_sha256(), NULL);
    char safe[120];
    size_t n = 0;
    for (const char *c = name; *c && n + 1 < sizeof safe; c++)
        safe[n++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                            (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-'
                        ? *c
                        : '_';
    safe[n] = '\0';
    snprintf(j->id, sizeof j->id, "%s-%s-%02x%02x%02x%02x", command, safe, md[0], md[1], md[2],
             md[3]);
}

/* Whether another process holds the lock file at path (a brief LOCK_SH
 * probe; the owner retries its LOCK_EX past it). */
static int lock_held(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* Hold <dir>/run.lock for the life of the job (released by job_close or
 * the process's end): from the moment a run picks its folder, before its
 * state exists, no second run of the job can start. 0 or -1. */
static int lock_dir(job *j)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/run.lock", j->dir);
    j->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (j->lock_fd < 0) {
        cli_error("cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    for (int i = 0;; i++) {
        if (flock(j->lock_fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK || i == 50) {
            cli_error("a run of this job is going on now in %s; wait for it to end", j->dir);
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

typedef struct run_dir {
    char name[256];
    state_info info;
} run_dir;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const run_dir *)a)->name, ((const run_dir *)b)->name);
}

/* The job's earlier runs under the root (any job's with all), oldest first
 * (names end in a sortable UTC time). *out is malloc'd. -1 after printing
 * an error. */
static int list_runs(const job *j, int all, run_dir **out, int *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(j->root);
    if (!d) {
        cli_error("cannot read the output folder %s: %s", j->root, strerror(errno));
        return -1;
    }
    size_t idlen = strlen(j->id);
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' ||
            (!all && (strncmp(e->d_name, j->id, idlen) || e->d_name[idlen] != '-')))
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s/state.db", j->root, e->d_name);
        struct stat sb;
        state_info info;
        state_error se;
        if (stat(path, &sb) != 0) {
            /* No state yet: a run that is starting (it holds run.lock, and
             * counts as running) or one that never got that far. */
            snprintf(path, sizeof path, "%s/%s/run.lock", j->root, e->d_name);
            if (all || !lock_held(path))
                continue;
            memset(&info, 0, sizeof info);
            info.running = 1;
            snprintf(info.job_key, sizeof info.job_key, "%s", j->key);
        } else if (state_peek(path, &info, &se) != 0 || (!all && strcmp(info.job_key, j->key))) {
            continue;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            run_dir *nr = realloc(*out, (size_t)cap * sizeof **out);
            if (!nr) {
                closedir(d);
                free(*out);
                *out = NULL;
                cli_error("out of memory");
                return -1;
            }
            *out = nr;
        }
        snprintf((*out)[*n].name, sizeof (*out)[*n].name, "%s", e->d_name);
        (*out)[*n].info = info;
        (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(*out, (size_t)*n, sizeof **out, by_name);
    return 0;
}

/* After "nothing to resume": the unfinished runs of other jobs, with the
 * commands that started them (another --tables, host list or input makes
 * another job). */
static void other_unfinished(const job *j)
{
    run_dir *runs;
    int n, shown = 0;
    if (list_runs(j, 1, &runs, &n))
        return;
    for (int i = n - 1; i >= 0 && shown < 3; i--) {
        if (runs[i].info.finished || runs[i].info.abandoned)
            continue;
        fprintf(stderr, "cqlshift: an unfinished run of another job is in %s/%s; it was started "
                        "with: %s\n",
                j->root, runs[i].name, runs[i].info.command[0] ? runs[i].info.command : "?");
        shown++;
    }
    free(runs);
}

static void set_dir(job *j, const char *name)
{
    int n = snprintf(j->dir, sizeof j->dir, "%s/%s", j->root, name);
    if (n < 0 || (size_t)n >= sizeof j->dir)
        j->dir[0] = '\0'; /* too long: mkdir of "" fails and says so */
    n = snprintf(j->state_path, sizeof j->state_path, "%s/state.db", j->dir);
    if (n < 0 || (size_t)n >= sizeof j->state_path)
        j->state_path[0] = '\0';
}

/* A new run folder: <id>-<UTC time>, -2, -3... if that exists. 0, or an
 * exit code after printing why. */
static int new_run_dir(job *j)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (int k = 1;; k++) {
        char name_buf[300];
        if (k == 1)
            snprintf(name_buf, sizeof name_buf, "%s-%s", j->id, stamp);
        else
            snprintf(name_buf, sizeof name_buf, "%s-%s-%d", j->id, stamp, k);
        set_dir(j, name_buf);
        if (mkdir(j->dir, 0755) == 0)
            return 0;
        if (errno != EEXIST || k > 100) {
            cli_error("cannot create the run folder %s: %s", j->dir, strerror(errno));
            return CLI_EXIT_FAILED;
        }
    }
}

int job_prepare(job *j, const char *root, const char *command, const char *name,
                const char *key, int resume, int restart)
{
    memset(j, 0, sizeof *j);
    j->lock_fd = -1;
    snprintf(j->key, sizeof j->key, "%s", key);
    snprintf(j->root, sizeof j->root, "%s", root && *root ? root : "cqlshift-runs");
    make_id(j, command, name);
    if (make_dirs(j->root) != 0 || access(j->root, W_OK) != 0) {
        cli_error("cannot use the output folder %s: %s; choose another with --out-dir", j->root,
                  strerror(errno));
        return CLI_EXIT_USAGE;
    }
    run_dir *runs;
    int n;
    if (list_runs(j, 0, &runs, &n))
        return CLI_EXIT_FAILED;
    int last_open = -1, last_finished = -1, any_running = -1;
    for (int i = 0; i < n; i++) {
        if (!runs[i].info.finished && !runs[i].info.abandoned)
            last_open = i;
        if (runs[i].info.finished)
            last_finished = i;
        if (runs[i].info.running)
            any_running = i;
    }
    int rc = 0;
    if (any_running >= 0) {
        cli_error("a run of this job is going on now in %s/%s; wait for it to end", j->root,
                  runs[any_running].name);
        rc = CLI_EXIT_USAGE;
    } else if (resume) {
        if (last_open >= 0) {
            set_dir(j, runs[last_open].name);
            j->resume = 1;
        } else if (last_finished >= 0) {
            j->finished_already = 1;
            set_dir(j, runs[last_finished].name);
        } else if (resume == 2) {
            rc = new_run_dir(j);   /* nothing ran yet: a new run */
        } else {
            cli_error("nothing to resume: no unfinished run of this job in %s; run the command "
                      "without --resume to start it",
                      j->root);
            other_unfinished(j);
            rc = CLI_EXIT_USAGE;
        }
    } else if (last_open >= 0 && !restart) {
        cli_error("an unfinished run of this job exists (%s/%s, started with: %s): add --resume, "
                  "or --restart to start over",
                  j->root, runs[last_open].name,
                  runs[last_open].info.command[0] ? runs[last_open].info.command : "?");
        rc = CLI_EXIT_USAGE;
    } else {
        /* --restart: the unfinished runs are given up (kept, marked). */
        for (int i = 0; i < n && rc == 0; i++) {
            if (runs[i].info.finished || runs[i].info.abandoned)
                continue;
            char path[PATH_MAX + 300];
            snprintf(path, sizeof path, "%s/%s/state.db", j->root, runs[i].name);
            state_error se;
            state *st = state_open(path, j->key, 1, &se);
            if (!st || state_meta_set(st, "abandoned", "1", &se)) {
                cli_error("cannot give up the earlier run in %s/%s: %s", j->root, runs[i].name,
                          se.msg);
                rc = CLI_EXIT_FAILED;
            }
            state_close(st);
        }
        if (rc == 0)
            rc = new_run_dir(j);
    }
    free(runs);
    if (rc == 0 && !j->finished_already && lock_dir(j))
        rc = CLI_EXIT_USAGE;
    if (rc == 0 && !j->finished_already) {
        char lp[PATH_MAX + 16];
        snprintf(lp, sizeof lp, "%s/run.log", j->dir);
        j->log = fopen(lp, "a");
        cli_log_file = j->log;
    }
    return rc;
}

void job_log(job *j, const char *fmt, ...)
{
    if (!j || !j->log)
        return;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(j->log, "%s ", stamp);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(j->log, fmt, ap);
    va_end(ap);
    fputc('\n', j->log);
    fflush(j->log);
}

void job_close(job *j)
{
    if (j && j->lock_fd > 0) {
        close(j->lock_fd);
        j->lock_fd = -1;
    }
    if (j && j->log) {
        if (cli_log_file == j->log)
            cli_log_file = NULL;
        fclose(j->log);
        j->log = NULL;
    }
}
