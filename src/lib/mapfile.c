#include "mapfile.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int hp_map_open(hp_map *map, const char *path)
{
    memset(map, 0, sizeof *map);
    map->path = strdup(path);
    if (!map->path)
        return hp_fail(HP_ENOMEM, "%s: out of memory", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = hp_fail_errno(HP_EIO, "%s: cannot open", path);
        hp_map_close(map);
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int rc = S_ISDIR(st.st_mode) ? hp_fail(HP_EIO, "%s: is a directory", path)
                                     : hp_fail_errno(HP_EIO, "%s: cannot stat", path);
        close(fd);
        hp_map_close(map);
        return rc;
    }
    map->size = (size_t)st.st_size;
    /* an empty file is a valid empty view: data + 0 must be defined too */
    static const uint8_t empty[1];
    map->data = empty;
    if (map->size > 0) {
        void *p = mmap(NULL, map->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int rc = hp_fail_errno(HP_EIO, "%s: cannot map", path);
            close(fd);
            hp_map_close(map);
            return rc;
        }
        map->base = p;
        map->data = p;
    }
    close(fd);
    return HP_OK;
}

void hp_map_close(hp_map *map)
{
    if (map->base)
        munmap(map->base, map->size);
    free(map->path);
    memset(map, 0, sizeof *map);
}

static void advise(const hp_map *map, size_t off, size_t len, int advice)
{
    if (map->size == 0 || off >= map->size)
        return;
    long page = sysconf(_SC_PAGESIZE);
    size_t start = off & ~((size_t)page - 1);
    if (len > map->size - off)
        len = map->size - off;
    madvise((uint8_t *)map->base + start, len + (off - start), advice);
}

void hp_map_dontneed(const hp_map *map, size_t off, size_t len) { advise(map, off, len, MADV_DONTNEED); }
