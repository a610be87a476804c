/* Jobs and their run folders, and the process's signal handling.
 *
 * A job is what a command copies: its key is built from the command, the
 * source, the target and the tables, and its id ("load-ks.t-1a2b3c4d") from
 * a readable name and a hash of the key. Every run of a job writes into a
 * folder of its own under the output root (--out-dir, default
 * ./cqlshift-runs): <root>/<job id>-<UTC time>/ with the state (state.db),
 * one reject file per table, the JSON report and a log. A resume finds the
 * job's newest unfinished folder and goes on in it; nothing ever truncates
 * another run's files.
 */
#ifndef CQLSHIFT_CLI_JOB_H
#define CQLSHIFT_CLI_JOB_H

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>

/* Set by SIGINT/SIGTERM: 1 after the first (stop reading, settle,
 * checkpoint), the second exits at once with code 5 (the state file is
 * consistent at every instant). */
extern atomic_int cli_interrupt;

/* Ignore SIGPIPE (a node closing a socket must surface as an error, not
 * kill the process) and catch SIGINT/SIGTERM as above. */
void cli_signals_install(void);

/* 1 (after saying so) when an interrupt came before anything was written:
 * the command returns exit code 5 then instead of going on. */
int cli_interrupted_before_writing(void);

/* The command line as the user typed it (set by main; arguments with
 * spaces or quotes are quoted), for the state and the log. */
extern char cli_command_line[4096];
void cli_set_command_line(int argc, char **argv);

typedef struct job {
    char key[4096];
    char id[200];
    char root[PATH_MAX];
    char dir[PATH_MAX];         /* the run folder (empty until job_prepare) */
    char state_path[PATH_MAX + 16];
    int resume;                 /* 1: dir is an unfinished earlier run */
    int finished_already;       /* --resume found only finished runs */
    FILE *log;                  /* dir/run.log, or NULL */
    int lock_fd;                /* holds dir/run.lock while the run goes on, or -1 */
} job;

/* Choose the run folder for key (name: a readable part of the id, like
 * "chinook" or "ks.table"). resume: the newest unfinished run of the job
 * (2: or a new run when the job never ran, for a step of a larger job);
 * restart: give up the unfinished runs (marked abandoned) and start a new
 * one; neither: a new run, refused when an unfinished one exists. Creates
 * the root and the new folder. Returns 0, or an exit code after printing
 * one sentence (2 for what the user must change; 0 with finished_already
 * when --resume has nothing left to do). */
int job_prepare(job *j, const char *root, const char *command, const char *name,
                const char *key, int resume, int restart);

/* Check before anything is created that path can be written (its folder
 * exists and is writable, the file itself writable if it exists). 0, or -1
 * after printing why. */
int cli_check_writable(const char *path, const char *what);

/* Append a line to the run's log (no-op without one). */
void job_log(job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void job_close(job *j);

#endif
