/* mapfile.c - read-only views of whole files, and the SIGBUS guard that lets
 * a process outlive a mapped file shrinking under it. */
#include "mapfile.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the SIGBUS guard -------------------------------------------------------- */

/* The mapped ranges, readable from a signal handler: a slot is claimed by a
 * compare-and-swap of `base` from 0 to 1, filled, then published with the
 * real base; the handler only reads slots whose base is a real address. */
#define GUARD_SLOTS 1024

typedef struct guard_slot {
    _Atomic uintptr_t base; /* 0 free, 1 being filled */
    _Atomic size_t size;
    atomic_int faulted;
} guard_slot;

static guard_slot guards[GUARD_SLOTS];
static struct sigaction previous; /* the handler hp_guard_sigbus() replaced */

static int guard_claim(void *base, size_t size)
{
    for (int i = 0; i < GUARD_SLOTS; i++) {
        uintptr_t expect = 0;
        if (atomic_compare_exchange_strong(&guards[i].base, &expect, 1)) {
            atomic_store(&guards[i].size, size);
            atomic_store(&guards[i].faulted, 0);
            atomic_store(&guards[i].base, (uintptr_t)base);
            return i;
        }
    }
    return -1; /* more maps than slots: this one is simply unguarded */
}

static void guard_release(int i)
{
    if (i >= 0)
        atomic_store(&guards[i].base, 0);
}

/* A fault inside a guarded map: the pages from the faulting one to the end
 * of the map become anonymous zero pages (mmap is a plain system call, safe
 * here), so the faulting read completes and reads zeros, and the map is
 * marked for hp_map_check(). Anything else goes to the previous handler, or
 * to the default action. */
static void on_sigbus(int sig, siginfo_t *info, void *uctx)
{
    uintptr_t addr = (uintptr_t)info->si_addr;
    for (int i = 0; i < GUARD_SLOTS; i++) {
        uintptr_t base = atomic_load(&guards[i].base);
        size_t size = atomic_load(&guards[i].size);
        if (base > 1 && addr >= base && addr - base < size) {
            uintptr_t page = addr & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
            void *p = mmap((void *)page, base + size - page, PROT_READ,
                           MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
            if (p != MAP_FAILED) {
                atomic_store(&guards[i].faulted, 1);
                return;
            }
        }
    }
    if (previous.sa_flags & SA_SIGINFO) {
        previous.sa_sigaction(sig, info, uctx);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    } else { /* the fault repeats on return, and now ends the process */
        signal(SIGBUS, SIG_DFL);
    }
}

int hp_guard_sigbus(void)
{
    static atomic_int installed;
    if (atomic_exchange(&installed, 1))
        return HP_OK;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &previous) < 0) {
        atomic_store(&installed, 0);
        return hp_fail_errno(HP_EIO, "cannot install the SIGBUS handler");
    }
    return HP_OK;
}

/* ---- maps ----------------------------------------------------------------------- */

const char *hp_file_kind(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    default: return "not a regular file";
    }
}

int hp_map_open(hp_map *map, const char *path)
{
    memset(map, 0, sizeof *map);
    map->fd = -1;
    map->guard = -1;
    map->path = strdup(path);
    if (!map->path)
        return hp_fail(HP_ENOMEM, "%s: out of memory", path);
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    map->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (map->fd < 0) {
        int rc = hp_fail_errno(HP_EIO, "%s: cannot open", path);
        hp_map_close(map);
        return rc;
    }
    struct stat st;
    if (fstat(map->fd, &st) < 0) {
        int rc = hp_fail_errno(HP_EIO, "%s: cannot stat", path);
        hp_map_close(map);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        int rc = hp_fail(HP_EIO, "%s: is %s, not a regular file", path, hp_file_kind(st.st_mode));
        hp_map_close(map);
        return rc;
    }
    map->dev = st.st_dev;
    map->ino = st.st_ino;
    map->mode = st.st_mode;
    map->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    map->size = (size_t)st.st_size;
    /* an empty file is a valid empty view: data + 0 must be defined too */
    static const uint8_t empty[1];
    map->data = empty;
    if (map->size > 0) {
        void *p = mmap(NULL, map->size, PROT_READ, MAP_PRIVATE, map->fd, 0);
        if (p == MAP_FAILED) {
            int rc = hp_fail_errno(errno == ENOMEM ? HP_ENOMEM : HP_EIO, "%s: cannot map", path);
            hp_map_close(map);
            return rc;
        }
        map->base = p;
        map->data = p;
        map->guard = guard_claim(p, map->size);
    }
    return HP_OK;
}

void hp_map_close(hp_map *map)
{
    guard_release(map->guard);
    if (map->base)
        munmap(map->base, map->size);
    if (map->fd >= 0)
        close(map->fd);
    free(map->path);
    memset(map, 0, sizeof *map);
    map->fd = -1;
    map->guard = -1;
}

int hp_map_check(const hp_map *map)
{
    struct stat st;
    int faulted = map->guard >= 0 && atomic_load(&guards[map->guard].faulted);
    if (faulted || (map->fd >= 0 && fstat(map->fd, &st) == 0 && (size_t)st.st_size < map->size))
        return hp_fail(HP_EIO, "%s: the file shrank while it was being read", map->path);
    return HP_OK;
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
