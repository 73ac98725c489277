/* paths.h - the names of a profile's files.
 *
 * A profile is a filebase NAME: NAME.hpm, NAME.hpd and NAME.hpc. Users name
 * it either way, so every entry point turns what it is given into the
 * filebase with hp_filebase_of() (public) and derives the files from it. */
#ifndef HP_PATHS_H
#define HP_PATHS_H

#include <sys/stat.h>

/* "filebase" + "ext" in a new string, or NULL when out of memory. */
char *hp_path_join(const char *filebase, const char *ext);

/* stat() of "filebase" + "ext", with nothing to allocate (so nothing to
 * fail for want of memory): 0, or -1 with errno set (ENAMETOOLONG for a
 * name longer than any path stat() takes). */
int hp_path_stat(const char *filebase, const char *ext, struct stat *st);

#endif
