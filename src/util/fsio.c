#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsio.h"

int cs_rename_durable(const char *from, const char *to)
{
    if (rename(from, to))
        return -1;
    char dir[4096];
    const char *slash = strrchr(to, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == to)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - to), to);
    /* the rename is done; a folder that cannot be opened or synced (some
     * file systems refuse fsync on a directory) keeps it as it is */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc && (e == EINVAL || e == ENOTSUP || e == EROFS || e == EBADF))
        return 0;
    errno = e;
    return rc;
}

int cs_output_path(const char *path, char *out, size_t n)
{
    struct stat st, lst;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return 1;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        char real[PATH_MAX];
        if (!realpath(path, real))
            return 1;   /* a link to nothing yet: opening it creates its file */
        if (strlen(real) >= n) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(out, real, strlen(real) + 1);
        return 0;
    }
    if (strlen(path) >= n) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(out, path, strlen(path) + 1);
    return 0;
}
