/* mapfile.h - read-only views of whole files.
 *
 * Files are memory-mapped so the decoders work on plain byte ranges with no
 * system call per field; an empty file maps to a valid empty view. */
#ifndef HP_MAPFILE_H
#define HP_MAPFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct hp_map {
    const uint8_t *data;
    void *base;       /* the mapping, for munmap and madvise; NULL if empty */
    size_t size;
    char *path; /* owned copy, for error messages */
} hp_map;

/* Maps `path`; on failure returns HP_EIO with a message naming the file. */
int hp_map_open(hp_map *map, const char *path);
void hp_map_close(hp_map *map);

/* Tells the kernel a range is no longer needed, so that long sequential
 * passes keep only a window of the file resident. */
void hp_map_dontneed(const hp_map *map, size_t off, size_t len);

#endif
