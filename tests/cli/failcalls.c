/* failcalls.c - makes one call fail, for tests/cli/failcalls.sh.
 *
 * Preloaded (LD_PRELOAD) into a command, it counts, from the start of main
 * on, two kinds of calls, the program's and the C library's:
 *   - allocations: malloc, calloc, realloc; call number FAILMALLOC_AT
 *     returns NULL with errno ENOMEM;
 *   - writes to files: write, pwrite, fsync, fdatasync, linkat, rename;
 *     call number FAILWRITE_AT returns -1 with errno EIO (as a failing disk
 *     does) without doing anything.
 * One call of each kind fails, once: the ones after it succeed. With
 * FAILCALLS_COUNT set, it prints "ALLOCATIONS WRITES" to standard error at
 * exit, so that a test can fail each in turn; with FAILCALLS_LOG=FILE, it
 * writes the name of the write call it failed to FILE (an fsync that fails
 * leaves no trace in the output: the test must know it was one). The calls before main are
 * the libraries' constructors' (libgomp's exits with its own message when
 * an allocation fails): not the program's to handle, so not counted. Nor
 * are the C library's stdio writes, which do not go through write().
 * Debian's C library (glibc): the real allocators are its __libc_*, the
 * real calls found with dlsym, and __libc_start_main calls main. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);

enum { ALLOC, WRITE, KINDS };
static atomic_int counting; /* main has started */
static atomic_long calls[KINDS];
static long fail_at[KINDS]; /* set before counting starts; 0: never */
static const char *log_path; /* FAILCALLS_LOG */

static void *real(const char *name);
static void log_failure(const char *name);

/* Whether this call of `kind` is the one to fail (errno set if so). */
static int fails(int kind, int err, const char *name)
{
    if (!atomic_load(&counting))
        return 0;
    long k = atomic_fetch_add(&calls[kind], 1) + 1;
    if (fail_at[kind] > 0 && k == fail_at[kind]) {
        if (kind == WRITE)
            log_failure(name);
        errno = err;
        return 1;
    }
    return 0;
}

/* ---- allocations ---- */

void *malloc(size_t size) { return fails(ALLOC, ENOMEM, NULL) ? NULL : __libc_malloc(size); }
void *calloc(size_t n, size_t size) { return fails(ALLOC, ENOMEM, NULL) ? NULL : __libc_calloc(n, size); }
/* (realloc(p, 0) frees p in glibc: never failed, it would keep p) */
void *realloc(void *p, size_t size)
{
    return (size || !p) && fails(ALLOC, ENOMEM, NULL) ? NULL : __libc_realloc(p, size);
}

/* ---- writes ---- */

/* The next definition of `name` (the C library's). */
static void *real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f)
        abort();
    return f;
}

#define REAL(name, type) ((type)real(name))

/* FAILCALLS_LOG gets `name`, written with the real calls (no stdio). */
static void log_failure(const char *name)
{
    typedef int (*open_fn)(const char *, int, ...);
    typedef ssize_t (*write_fn)(int, const void *, size_t);
    if (!log_path)
        return;
    int fd = REAL("open", open_fn)(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    size_t n = 0;
    while (name[n])
        n++;
    (void)!REAL("write", write_fn)(fd, name, n);
    close(fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    typedef ssize_t (*fn)(int, const void *, size_t);
    return fails(WRITE, EIO, "write") ? -1 : REAL("write", fn)(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    typedef ssize_t (*fn)(int, const void *, size_t, off_t);
    return fails(WRITE, EIO, "pwrite") ? -1 : REAL("pwrite", fn)(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    typedef ssize_t (*fn)(int, const void *, size_t, off_t);
    return fails(WRITE, EIO, "pwrite64") ? -1 : REAL("pwrite64", fn)(fd, buf, n, off);
}

int fsync(int fd)
{
    typedef int (*fn)(int);
    return fails(WRITE, EIO, "fsync") ? -1 : REAL("fsync", fn)(fd);
}

int fdatasync(int fd)
{
    typedef int (*fn)(int);
    return fails(WRITE, EIO, "fdatasync") ? -1 : REAL("fdatasync", fn)(fd);
}

int linkat(int olddir, const char *old, int newdir, const char *new_, int flags)
{
    typedef int (*fn)(int, const char *, int, const char *, int);
    return fails(WRITE, EIO, "linkat") ? -1 : REAL("linkat", fn)(olddir, old, newdir, new_, flags);
}

int rename(const char *old, const char *new_)
{
    typedef int (*fn)(const char *, const char *);
    return fails(WRITE, EIO, "rename") ? -1 : REAL("rename", fn)(old, new_);
}

/* ---- main ---- */

typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;
int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end);

static long env_number(const char *name)
{
    const char *v = getenv(name); /* getenv allocates nothing */
    return v ? atol(v) : 0;
}

static int counted_main(int argc, char **argv, char **envp)
{
    fail_at[ALLOC] = env_number("FAILMALLOC_AT");
    fail_at[WRITE] = env_number("FAILWRITE_AT");
    log_path = getenv("FAILCALLS_LOG");
    atomic_store(&counting, 1);
    return real_main(argc, argv, envp);
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end)
{
    typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void),
                            void *);
    real_main = main;
    return REAL("__libc_start_main", start_fn)(counted_main, argc, argv, init, fini, rtld_fini,
                                                stack_end);
}

/* The counts, written without stdio (which would allocate) and past the
 * write() counted here. */
__attribute__((destructor)) static void report(void)
{
    if (!getenv("FAILCALLS_COUNT"))
        return;
    atomic_store(&counting, 0);
    char line[64];
    int len = snprintf(line, sizeof line, "%ld %ld\n", atomic_load(&calls[ALLOC]),
                       atomic_load(&calls[WRITE]));
    typedef ssize_t (*fn)(int, const void *, size_t);
    (void)!REAL("write", fn)(2, line, (size_t)len);
}
