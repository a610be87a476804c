/* Files that must survive a crash once written. */
#ifndef CQLSHIFT_UTIL_FSIO_H
#define CQLSHIFT_UTIL_FSIO_H

/* rename(from, to), then fsync the folder that holds `to`, so the new name
 * is on disk when this returns (the file's data must be synced before; a
 * file system that cannot sync a folder is not an error). 0, or -1 with
 * errno (then the rename itself may have happened). */
int cs_rename_durable(const char *from, const char *to);

/* Where to write the output file `path` so that a reader sees the old
 * file or the whole new one. 0: write a temporary file beside *out (n
 * bytes), then rename it to *out: `path` itself, or the file its symbolic
 * link names (resolved to the end), so the link stays a link. 1: write
 * `path` in place, as it is: it exists and is not a regular file (a FIFO,
 * a device such as /dev/null, a folder that opening refuses), or it is a
 * link to a file not there yet. -1 with errno (a name too long). */
int cs_output_path(const char *path, char *out, size_t n);

#endif
