/* baseline.c - the plain decoder: the yardstick for "as fast as reading the
 * file".
 *
 * The tightest simple single-threaded loop over NAME.hpd: the file is
 * memory-mapped, each event is decoded inline (a 4-byte big-endian word,
 * then three LEB128 varints with a one-byte fast path) and its size,
 * negative for a free, is added to a per-trace counter (an array indexed by
 * trace, grown as needed). No sampling, no time, no snapshots, no
 * validation beyond not reading past the end of the file; a partial final
 * event is ignored. `make bench` divides the digester's times by this
 * loop's, so it must be what a careful programmer writes in an afternoon,
 * not a slow strawman: docs/PERFORMANCE.md says how it compares with -O3,
 * -march=native and branchless variants. Built with plain -O2, no OpenMP,
 * no library.
 *
 *   usage: baseline NAME.hpd
 *   prints: EVENTS events, net BYTES bytes */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest event: the word and three 10-byte varints. */
#define MAX_EVENT (4 + 3 * 10)

/* A varint at *pp, unchecked: the caller knows 10 bytes are there. */
static inline uint64_t varint(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    uint64_t v = *p++;
    if (v >= 0x80) {
        v &= 0x7f;
        for (int shift = 7;; shift += 7) {
            uint64_t c = *p++;
            v |= (c & 0x7f) << shift;
            if (c < 0x80 || shift == 63)
                break;
        }
    }
    *pp = p;
    return v;
}

/* The same within [*pp, end): 0 when the file ends inside it. */
static int varint_checked(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    *v = 0;
    for (int shift = 0; p < end && shift < 70; shift += 7) {
        uint64_t c = *p++;
        *v |= (c & 0x7f) << shift;
        if (c < 0x80) {
            *pp = p;
            return 1;
        }
    }
    return 0;
}

static int64_t *live;
static size_t ntraces;

static void grow(uint32_t trace)
{
    size_t n = ntraces ? ntraces : 1024;
    while (n <= trace)
        n *= 2;
    live = realloc(live, n * sizeof *live);
    if (!live) {
        perror("baseline");
        exit(1);
    }
    memset(live + ntraces, 0, (n - ntraces) * sizeof *live);
    ntraces = n;
}

static inline void count(uint32_t word, uint64_t size)
{
    uint32_t trace = word & 0x3fffffff;
    if (trace >= ntraces)
        grow(trace);
    live[trace] += (word & 0x40000000) ? -(int64_t)size : (int64_t)size;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: baseline NAME.hpd\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(argv[1]);
        return 1;
    }
    size_t len = (size_t)st.st_size;
    const uint8_t *map = NULL;
    if (len > 0) {
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            perror(argv[1]);
            return 1;
        }
        madvise(m, len, MADV_SEQUENTIAL);
        map = m;
    }
    grow(0);
    const uint8_t *p = map, *end = map + len;
    uint64_t events = 0;
    /* the bulk: no bounds checks inside an event */
    while (end - p >= MAX_EVENT) {
        uint32_t word = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        p += 4;
        (void)varint(&p); /* delta seconds */
        (void)varint(&p); /* delta microseconds */
        count(word, varint(&p));
        events++;
    }
    /* the last few events, checked */
    for (;;) {
        uint64_t sec, usec, size;
        if (end - p < 4)
            break;
        uint32_t word = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        p += 4;
        if (!varint_checked(&p, end, &sec) || !varint_checked(&p, end, &usec) ||
            !varint_checked(&p, end, &size))
            break;
        count(word, size);
        events++;
    }
    int64_t sum = 0;
    for (size_t i = 0; i < ntraces; i++)
        sum += live[i];
    printf("%llu events, net %lld bytes\n", (unsigned long long)events, (long long)sum);
    return 0;
}
