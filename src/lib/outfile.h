/* outfile.h - an output file that appears complete under its name or not
 * at all.
 *
 * Data goes to an unnamed O_TMPFILE in the target's folder, linked into
 * place by hp_outfile_commit(); a process killed even by SIGKILL leaves
 * nothing behind. Where O_TMPFILE is unsupported, a hidden named temporary
 * beside the target is used and removed on abort. */
#ifndef HP_OUTFILE_H
#define HP_OUTFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct hp_outfile {
    int fd;
    char *path;     /* the final name */
    char *tmpname;  /* the named temporary, or NULL for O_TMPFILE */
    uint64_t size;  /* bytes appended so far */
} hp_outfile;

int hp_outfile_open(hp_outfile *f, const char *path);
int hp_outfile_append(hp_outfile *f, const void *buf, size_t n);
int hp_outfile_pwrite(hp_outfile *f, const void *buf, size_t n, uint64_t off);
/* Makes the file visible under its name, replacing any existing file. */
int hp_outfile_commit(hp_outfile *f);
/* Discards the file; safe after a failed open or a commit. */
void hp_outfile_abort(hp_outfile *f);

#endif
