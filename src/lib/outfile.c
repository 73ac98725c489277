#include "outfile.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *d = strdup(dirname(copy));
    free(copy);
    return d;
}

/* A hidden name beside `path`, unique to this process and call. */
static char *temp_name(const char *path)
{
    static _Atomic unsigned counter;
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *base = basename(copy), *dir = dir_of(path);
    size_t n = strlen(path) + 64;
    char *name = dir ? malloc(n) : NULL;
    if (name)
        snprintf(name, n, "%s/.%s.tmp.%ld.%u", dir, base, (long)getpid(), counter++);
    free(dir);
    free(copy);
    return name;
}

int hp_outfile_open(hp_outfile *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->path = strdup(path);
    char *dir = dir_of(path);
    if (!f->path || !dir) {
        free(dir);
        hp_outfile_abort(f);
        return hp_fail(HP_ENOMEM, "out of memory");
    }
    f->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
    free(dir);
    if (f->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        f->tmpname = temp_name(path);
        if (f->tmpname)
            f->fd = open(f->tmpname, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
    }
    if (f->fd < 0) {
        int rc = hp_fail_errno(HP_EIO, "%s: cannot create", path);
        hp_outfile_abort(f);
        return rc;
    }
    return HP_OK;
}

static int write_all(hp_outfile *f, const void *buf, size_t n, uint64_t off)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = pwrite(f->fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return hp_fail_errno(HP_EIO, "%s: write failed at offset %llu", f->path,
                                 (unsigned long long)off);
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return HP_OK;
}

int hp_outfile_append(hp_outfile *f, const void *buf, size_t n)
{
    HP_TRY(write_all(f, buf, n, f->size));
    f->size += n;
    return HP_OK;
}

int hp_outfile_pwrite(hp_outfile *f, const void *buf, size_t n, uint64_t off)
{
    return write_all(f, buf, n, off);
}

int hp_outfile_commit(hp_outfile *f)
{
    if (f->tmpname) {
        if (rename(f->tmpname, f->path) < 0)
            return hp_fail_errno(HP_EIO, "%s: cannot rename into place", f->path);
        free(f->tmpname);
        f->tmpname = NULL;
    } else {
        /* linkat() cannot replace a file: link under a temporary name, then
         * rename over the target, which is atomic. */
        char proc[64], *tmp = temp_name(f->path);
        if (!tmp)
            return hp_fail(HP_ENOMEM, "out of memory");
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) < 0) {
            int rc = hp_fail_errno(HP_EIO, "%s: cannot link into place", f->path);
            free(tmp);
            return rc;
        }
        if (rename(tmp, f->path) < 0) {
            int rc = hp_fail_errno(HP_EIO, "%s: cannot rename into place", f->path);
            unlink(tmp);
            free(tmp);
            return rc;
        }
        free(tmp);
    }
    close(f->fd);
    f->fd = -1;
    free(f->path);
    f->path = NULL;
    return HP_OK;
}

void hp_outfile_abort(hp_outfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->tmpname)
        unlink(f->tmpname);
    free(f->tmpname);
    free(f->path);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}
