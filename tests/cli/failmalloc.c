/* failmalloc.c - makes one allocation fail, for tests/cli/oom.sh.
 *
 * Preloaded (LD_PRELOAD) into a command, it counts the calls to malloc,
 * calloc and realloc from the start of main on, the program's and the C
 * library's, and makes call number FAILMALLOC_AT return NULL with errno
 * ENOMEM (once: the ones after it succeed, as when memory comes back).
 * With FAILMALLOC_COUNT set, it prints how many calls there were to
 * standard error at exit, so that a test can fail each in turn. The calls
 * before main are the libraries' constructors' (libgomp's exits with its
 * own message when one fails): not the program's to handle, so not
 * counted. The real functions are glibc's (Debian's C library): the
 * __libc_* allocators, and __libc_start_main, which calls main. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);

static atomic_long calls;
static atomic_int counting; /* main has started */
static long fail_at;        /* set before counting starts: 0, never */

/* Whether this call is the one to fail. */
static int fails(void)
{
    if (!atomic_load(&counting))
        return 0;
    long k = atomic_fetch_add(&calls, 1) + 1;
    if (fail_at > 0 && k == fail_at) {
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *malloc(size_t size) { return fails() ? NULL : __libc_malloc(size); }
void *calloc(size_t n, size_t size) { return fails() ? NULL : __libc_calloc(n, size); }
/* (realloc(p, 0) frees p in glibc: never failed, it would keep p) */
void *realloc(void *p, size_t size)
{
    return (size || !p) && fails() ? NULL : __libc_realloc(p, size);
}

typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;
int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end);

static int counted_main(int argc, char **argv, char **envp)
{
    const char *at = getenv("FAILMALLOC_AT"); /* getenv allocates nothing */
    fail_at = at ? atol(at) : 0;
    atomic_store(&counting, 1);
    return real_main(argc, argv, envp);
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end)
{
    typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void),
                            void *);
    start_fn start = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");
    real_main = main;
    return start(counted_main, argc, argv, init, fini, rtld_fini, stack_end);
}

/* The count, written without stdio (which would allocate). */
__attribute__((destructor)) static void report(void)
{
    if (!getenv("FAILMALLOC_COUNT"))
        return;
    char digits[24], line[32];
    long v = atomic_load(&calls);
    int n = 0, len = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0)
        line[len++] = digits[--n];
    line[len++] = '\n';
    (void)!write(2, line, (size_t)len);
}
