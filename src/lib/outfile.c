/* outfile.c - outputs that appear whole or not at all (see outfile.h). */
#include "outfile.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The folder of `path`, in a new string. */
static char *dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *d = strdup(dirname(copy));
    free(copy);
    return d;
}

/* A hidden name in `dir` of a fixed length, whatever the target's (a target
 * name of 255 bytes must not make the temporary's too long), unique to this
 * process and call. */
static char *temp_name(const char *dir)
{
    static atomic_uint counter;
    size_t n = strlen(dir) + 64;
    char *name = malloc(n);
    if (name)
        snprintf(name, n, "%s/.hp-%ld-%u.tmp", dir, (long)getpid(), atomic_fetch_add(&counter, 1));
    return name;
}

/* Creates a named temporary in `dir`; returns its descriptor or -1. */
static int open_named_temp(const char *dir, char **name)
{
    for (int tries = 0; tries < 100; tries++) {
        *name = temp_name(dir);
        if (!*name)
            return -1;
        int fd = open(*name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
        free(*name);
        *name = NULL;
    }
    return -1;
}

static int same_file(const struct stat *st, const hp_map *const *inputs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (inputs[i] && st->st_dev == inputs[i]->dev && st->st_ino == inputs[i]->ino)
            return (int)i + 1;
    return 0;
}

static int refuse_input(const hp_outfile *f, const hp_map *input)
{
    return hp_fail(HP_EINVAL, "%s: refusing to write over %s, an input of this output", f->path,
                   input->path);
}

/* A stream target: a character device or a FIFO, opened for writing. */
static int open_stream(hp_outfile *f, const struct stat *st)
{
    int fifo = S_ISFIFO(st->st_mode);
    f->stream_fd = open(f->path, O_WRONLY | O_CLOEXEC | (fifo ? O_NONBLOCK : 0));
    if (f->stream_fd < 0)
        return errno == ENXIO ? hp_fail(HP_EIO, "%s: a FIFO with no reader", f->path)
                              : hp_fail_errno(HP_EIO, "%s: cannot open", f->path);
    f->own_stream = 1;
    if (fifo) /* the reader is there: from now on, wait for it */
        fcntl(f->stream_fd, F_SETFL, fcntl(f->stream_fd, F_GETFL) & ~O_NONBLOCK);
    return HP_OK;
}

/* Decides what the target is (standard output where `to_stdout`) and where
 * the temporary goes (*dir). */
static int resolve_target(hp_outfile *f, int to_stdout, const hp_map *const *inputs, size_t n,
                          char **dir)
{
    struct stat st;
    if (to_stdout) {
        if (fstat(STDOUT_FILENO, &st) == 0 && same_file(&st, inputs, n))
            return refuse_input(f, inputs[same_file(&st, inputs, n) - 1]);
        f->stream_fd = STDOUT_FILENO;
    } else if (stat(f->path, &st) == 0) {
        if (same_file(&st, inputs, n))
            return refuse_input(f, inputs[same_file(&st, inputs, n) - 1]);
        if (S_ISREG(st.st_mode)) { /* replaced: through a link, the file it names */
            f->final = realpath(f->path, NULL);
            if (!f->final)
                return hp_fail_errno(HP_EIO, "%s: cannot resolve", f->path);
            f->mode = st.st_mode & 0777;
            f->chown = geteuid() == 0 && (st.st_uid != 0 || st.st_gid != getegid());
            f->uid = st.st_uid;
            f->gid = st.st_gid;
        } else if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
            HP_TRY(open_stream(f, &st));
        } else {
            return hp_fail(HP_EIO, "%s: is %s; outputs go to regular files, character devices "
                                   "or FIFOs",
                           f->path, hp_file_kind(st.st_mode));
        }
    } else if (errno == ENOENT) {
        struct stat lst;
        if (lstat(f->path, &lst) == 0) /* a link to nothing: where would it go? */
            return hp_fail(HP_EIO, "%s: a symbolic link to a missing file", f->path);
        f->final = strdup(f->path);
        if (!f->final)
            return hp_fail(HP_ENOMEM, "out of memory");
    } else {
        return hp_fail_errno(HP_EIO, "%s: cannot create", f->path);
    }
    if (f->final) {
        *dir = dir_of(f->final);
    } else {
        const char *tmp = getenv("TMPDIR");
        *dir = strdup(tmp && *tmp ? tmp : "/tmp");
    }
    return *dir ? HP_OK : hp_fail(HP_ENOMEM, "out of memory");
}

int hp_outfile_open(hp_outfile *f, const char *path, const hp_map *const *inputs, size_t n)
{
    memset(f, 0, sizeof *f);
    f->fd = f->stream_fd = -1;
    /* messages name the output as users know it: "-" is standard output */
    int to_stdout = !strcmp(path, "-");
    f->path = strdup(to_stdout ? "standard output" : path);
    if (!f->path)
        return hp_fail(HP_ENOMEM, "out of memory");
    char *dir = NULL;
    int rc = resolve_target(f, to_stdout, inputs, n, &dir);
    if (rc == HP_OK) {
        f->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
        if (f->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
            f->fd = open_named_temp(dir, &f->tmpname);
        if (f->fd < 0)
            rc = hp_fail_errno(HP_EIO, "%s: cannot create", f->stream_fd >= 0 ? dir : path);
    }
    if (rc == HP_OK && f->final && !f->mode && n > 0) {
        /* new: no more open than any input, nor than the umask (which the
         * temporary's creation applied) */
        struct stat st;
        if (fstat(f->fd, &st) == 0) {
            f->mode = st.st_mode & 0777;
            for (size_t i = 0; i < n; i++)
                f->mode &= inputs[i] ? inputs[i]->mode : 0777;
        }
    }
    free(dir);
    if (rc < 0)
        hp_outfile_abort(f);
    return rc;
}

static int write_all(int fd, const void *buf, size_t n, uint64_t off, int positioned,
                     const char *path)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = positioned ? pwrite(fd, p, n, (off_t)off) : write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return hp_fail_errno(HP_EIO, "%s: write failed at offset %llu", path,
                                 (unsigned long long)off);
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return HP_OK;
}

/* Bytes appended between two starts of writeback. */
#define WRITEBACK_EVERY (8u << 20)

int hp_outfile_append(hp_outfile *f, const void *buf, size_t n)
{
    HP_TRY(write_all(f->fd, buf, n, f->size, 1, f->path));
    f->size += n;
#ifdef SYNC_FILE_RANGE_WRITE
    /* The commit's fsync waits for every byte to reach the disk: 0.16 s
     * for a 300 MB digest here, most of a digest's fixed cost, which more
     * threads do not shorten. Starting the writeback of what is written as
     * the digest goes leaves the fsync little to wait for. A hint only:
     * where it fails (a file system without it), the fsync does it all.
     * Not for a stream (standard output, a FIFO): its temporary is copied
     * out, not kept. */
    if (f->stream_fd < 0 && f->size - f->writeback >= WRITEBACK_EVERY) {
        (void)sync_file_range(f->fd, (off_t)f->writeback, (off_t)(f->size - f->writeback),
                              SYNC_FILE_RANGE_WRITE);
        f->writeback = f->size;
    }
#endif
    return HP_OK;
}

int hp_outfile_pwrite(hp_outfile *f, const void *buf, size_t n, uint64_t off)
{
    return write_all(f->fd, buf, n, off, 1, f->path);
}

/* Copies the temporary's bytes to `to` (sequentially, or at the start of a
 * fresh file when positioned). */
static int copy_out(hp_outfile *f, int to, int positioned)
{
    static const size_t chunk = 1u << 20;
    char *buf = malloc(chunk);
    if (!buf)
        return hp_fail(HP_ENOMEM, "out of memory");
    int rc = HP_OK;
    for (uint64_t off = 0; rc == HP_OK && off < f->size;) {
        ssize_t r = pread(f->fd, buf, chunk, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = hp_fail_errno(HP_EIO, "%s: cannot read back the output", f->path);
            break;
        }
        rc = write_all(to, buf, (size_t)r, off, positioned, f->path);
        off += (uint64_t)r;
    }
    free(buf);
    return rc;
}

/* Gives the unnamed temporary a name beside the target: linkat() with
 * AT_EMPTY_PATH (privileged), else through /proc (not always mounted), else
 * a copy into a named temporary. */
static int name_temporary(hp_outfile *f, const char *dir)
{
    char proc[64];
    f->tmpname = temp_name(dir);
    if (!f->tmpname)
        return hp_fail(HP_ENOMEM, "out of memory");
    if (linkat(f->fd, "", AT_FDCWD, f->tmpname, AT_EMPTY_PATH) == 0)
        return HP_OK;
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, f->tmpname, AT_SYMLINK_FOLLOW) == 0)
        return HP_OK;
    free(f->tmpname);
    int fd = open_named_temp(dir, &f->tmpname);
    if (fd < 0)
        return hp_fail_errno(HP_EIO, "%s: cannot create", f->path);
    int rc = copy_out(f, fd, 1);
    if (rc == HP_OK && fsync(fd) < 0)
        rc = hp_fail_errno(HP_EIO, "%s: cannot sync", f->path);
    close(f->fd);
    f->fd = fd;
    return rc;
}

static int commit_stream(hp_outfile *f)
{
    HP_TRY(copy_out(f, f->stream_fd, 0));
    if (f->own_stream) {
        int fd = f->stream_fd;
        f->stream_fd = -1;
        if (close(fd) < 0)
            return hp_fail_errno(HP_EIO, "%s: write failed", f->path);
    }
    return HP_OK;
}

static int commit_file(hp_outfile *f)
{
    if (f->mode && fchmod(f->fd, f->mode) < 0)
        return hp_fail_errno(HP_EIO, "%s: cannot set its permissions", f->path);
    if (f->chown && fchown(f->fd, f->uid, f->gid) < 0)
        return hp_fail_errno(HP_EIO, "%s: cannot give it its owner", f->path);
    if (fsync(f->fd) < 0)
        return hp_fail_errno(HP_EIO, "%s: cannot sync", f->path);
    char *dir = dir_of(f->final);
    if (!dir)
        return hp_fail(HP_ENOMEM, "out of memory");
    int rc = f->tmpname ? HP_OK : name_temporary(f, dir);
    if (rc == HP_OK && rename(f->tmpname, f->final) < 0)
        rc = hp_fail_errno(HP_EIO, "%s: cannot rename into place", f->path);
    if (rc == HP_OK) {
        free(f->tmpname);
        f->tmpname = NULL;
        /* the rename itself must survive a power loss */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            if (fsync(dfd) < 0 && errno != EINVAL)
                rc = hp_fail_errno(HP_EIO, "%s: cannot sync its folder", f->path);
            close(dfd);
        }
    }
    free(dir);
    return rc;
}

int hp_outfile_commit(hp_outfile *f)
{
    int rc = f->final ? commit_file(f) : commit_stream(f);
    if (rc == HP_OK)
        hp_outfile_abort(f); /* nothing left to discard: closes and frees */
    return rc;
}

void hp_outfile_abort(hp_outfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->tmpname)
        unlink(f->tmpname);
    if (f->own_stream && f->stream_fd >= 0)
        close(f->stream_fd);
    free(f->tmpname);
    free(f->final);
    free(f->path);
    memset(f, 0, sizeof *f);
    f->fd = f->stream_fd = -1;
}
