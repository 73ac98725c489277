/* mapfile.h - read-only views of whole files.
 *
 * Files are memory-mapped so the decoders work on plain byte ranges with no
 * system call per field; an empty file maps to a valid empty view. Only
 * regular files are mapped: a FIFO would block and a device never end, so
 * they are refused by name before any read.
 *
 * A mapped file that another program truncates raises SIGBUS on the pages
 * that vanished. Every map is registered, so that a process that called
 * hp_guard_sigbus() survives it: the fault is absorbed (the missing pages
 * read as zeros), the map is marked, and hp_map_check() turns the mark into
 * an error for the one reader or digest concerned. */
#ifndef HP_MAPFILE_H
#define HP_MAPFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct hp_map {
    const uint8_t *data;
    void *base;       /* the mapping, for munmap and madvise; NULL if empty */
    size_t size;
    char *path;       /* owned copy, for error messages */
    int fd;           /* kept open to notice the file shrinking */
    int guard;        /* its slot in the SIGBUS guard, or -1 */
    /* the file's identity as it was mapped */
    dev_t dev;
    ino_t ino;
    mode_t mode;
    int64_t mtime_ns;
} hp_map;

/* Maps `path`; on failure returns HP_EIO with a message naming the file and
 * why (missing, a directory, a FIFO, a device, a symbolic-link loop ...). */
int hp_map_open(hp_map *map, const char *path);
void hp_map_close(hp_map *map);

/* HP_OK while the file is as it was mapped; HP_EIO ("shrank while it was
 * being read") once pages vanished under it or it became shorter. */
int hp_map_check(const hp_map *map);

/* Tells the kernel a range is no longer needed, so that long sequential
 * passes keep only a window of the file resident. */
void hp_map_dontneed(const hp_map *map, size_t off, size_t len);

/* A file's type in words, for messages: "a directory", "a FIFO" ... */
const char *hp_file_kind(mode_t mode);

#endif
