#include "paths.h"

#include "heapprof.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *hp_path_join(const char *filebase, const char *ext)
{
    size_t a = strlen(filebase), b = strlen(ext);
    char *s = malloc(a + b + 1);
    if (s) {
        memcpy(s, filebase, a);
        memcpy(s + a, ext, b + 1);
    }
    return s;
}

int hp_path_stat(const char *filebase, const char *ext, struct stat *st)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s%s", filebase, ext) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return stat(path, st);
}

char *hp_filebase_of(const char *path)
{
    char *s = strdup(path);
    size_t n = s ? strlen(s) : 0;
    if (n > 4 && (!strcmp(s + n - 4, ".hpm") || !strcmp(s + n - 4, ".hpd") ||
                  !strcmp(s + n - 4, ".hpc")))
        s[n - 4] = '\0';
    return s;
}
