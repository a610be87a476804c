/* Files that must survive a crash once written. */
#ifndef CQLSHIFT_UTIL_FSIO_H
#define CQLSHIFT_UTIL_FSIO_H

/* rename(from, to), then fsync the folder that holds `to`, so the new name
 * is on disk when this returns (the file's data must be synced before; a
 * file system that cannot sync a folder is not an error). 0, or -1 with
 * errno (then the rename itself may have happened). */
int cs_rename_durable(const char *from, const char *to);

#endif
