/* outfile.h - an output that appears complete under its name or not at all,
 * and never destroys an input.
 *
 * Data goes to a temporary file (unnamed O_TMPFILE where the file system
 * has it, else a hidden name of fixed length beside the target), which
 * hp_outfile_commit() makes durable (fsync) and moves into place with
 * rename(2), then syncs the folder: after a crash, kill -9 or power loss
 * the target holds either its old content or the whole new one. The
 * target decides how (docs/DESIGN.md, "Outputs"):
 *
 *   a new or regular file   replaced atomically; it keeps its permissions,
 *                           a new one is no more open than any input, nor
 *                           than the umask allows
 *   a symbolic link         the file it points to is replaced; the link stays
 *   "-", a character device the finished data is copied to it at commit
 *   or a FIFO               (standard output, /dev/null, a pipe)
 *   a directory, a block    refused
 *   device, a socket
 *
 * A target that is the same file (device and inode) as one of the inputs
 * it is made from is refused before anything is written. */
#ifndef HP_OUTFILE_H
#define HP_OUTFILE_H

#include "mapfile.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct hp_outfile {
    int fd;          /* the temporary being written */
    char *path;      /* the target as named, for messages */
    char *final;     /* the regular file to rename onto (links resolved), or NULL */
    char *tmpname;   /* a named temporary, or NULL for O_TMPFILE */
    int stream_fd;   /* a stream target (standard output, device, FIFO), or -1 */
    int own_stream;  /* stream_fd is ours to close */
    mode_t mode;     /* permission bits for the final file; 0: as created */
    int chown;       /* give the final file the replaced one's owner */
    uid_t uid;
    gid_t gid;
    uint64_t size;   /* bytes appended so far */
    uint64_t writeback; /* bytes whose writeback to the disk has started */
} hp_outfile;

/* Opens an output for `path` ("-" is standard output), made from `inputs`
 * (n of them, may be 0). Returns HP_OK, HP_EINVAL for a target that is an
 * input, or HP_EIO. */
int hp_outfile_open(hp_outfile *f, const char *path, const hp_map *const *inputs, size_t n);
int hp_outfile_append(hp_outfile *f, const void *buf, size_t n);
int hp_outfile_pwrite(hp_outfile *f, const void *buf, size_t n, uint64_t off);
/* Makes the output visible under its name (or copies it to its stream). */
int hp_outfile_commit(hp_outfile *f);
/* Discards the output; safe after a failed open or a commit. */
void hp_outfile_abort(hp_outfile *f);

#endif
