/* baseline_fread.c - the first baseline (issue 13 replaced it by
 * baseline.c, the tightest simple loop), kept for a second column.
 *
 * A plain single-threaded loop: read NAME.hpd with large buffered reads,
 * decode every event, and add its size (negative for a free) to a per-trace
 * counter. No sampling, no snapshots, no validation, no output but a
 * checksum: what anyone would write first. It reads byte by byte through a
 * function over fread and runs at about half the speed of baseline.c; `make
 * bench` still times it so that figures compare with the earlier ones.
 *
 *   usage: baseline_fread NAME.hpd */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUFSIZE (1 << 20)

typedef struct reader {
    FILE *f;
    unsigned char buf[BUFSIZE];
    size_t pos, len;
} reader;

/* The next byte, or -1 at the end of the file. */
static int next_byte(reader *r)
{
    if (r->pos == r->len) {
        r->len = fread(r->buf, 1, BUFSIZE, r->f);
        r->pos = 0;
        if (r->len == 0)
            return -1;
    }
    return r->buf[r->pos++];
}

static int read_varint(reader *r, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        int c = next_byte(r);
        if (c < 0)
            return 0;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: baseline_fread NAME.hpd\n");
        return 2;
    }
    static reader r;
    r.f = fopen(argv[1], "rb");
    if (!r.f) {
        perror(argv[1]);
        return 1;
    }
    int64_t *live = NULL;
    size_t ntraces = 0;
    uint64_t events = 0;
    for (;;) {
        uint32_t word = 0;
        int c = 0;
        for (int i = 0; i < 4 && (c = next_byte(&r)) >= 0; i++)
            word = word << 8 | (uint32_t)c;
        uint64_t sec, usec, size;
        if (c < 0 || !read_varint(&r, &sec) || !read_varint(&r, &usec) || !read_varint(&r, &size))
            break;
        uint32_t trace = word & 0x3fffffff;
        if (trace >= ntraces) {
            size_t n = ntraces ? ntraces : 1024;
            while (n <= trace)
                n *= 2;
            live = realloc(live, n * sizeof *live);
            memset(live + ntraces, 0, (n - ntraces) * sizeof *live);
            ntraces = n;
        }
        live[trace] += (word & 0x40000000) ? -(int64_t)size : (int64_t)size;
        events++;
    }
    int64_t sum = 0;
    for (size_t i = 0; i < ntraces; i++)
        sum += live[i];
    printf("%llu events, net %lld bytes\n", (unsigned long long)events, (long long)sum);
    free(live);
    fclose(r.f);
    return 0;
}
