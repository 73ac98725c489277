/* hpgen - a deterministic synthetic heapprof profile generator.
 *
 *   hpgen [-e EVENTS] [-t TRACES] [-d SECONDS] [-s SEED] [--full-sampling]
 *         [--damage N] [--busy] [--source-dir DIR] OUTBASE
 *
 * Writes OUTBASE.hpm and OUTBASE.hpd as heapprof 1.0 would: the same seed and
 * arguments always give the same bytes. The event stream models a program:
 *   - sizes are heavy-tailed (Pareto), with a handful of sizes >= 2^32;
 *   - start-up (the first 2% of events) allocates objects that live for good
 *     from every trace, as imports and module-level setup do;
 *   - then allocations are spread over traces by a Zipf law: a few hot
 *     traces (inner loops) make most events, as in real programs;
 *   - a free releases a live allocation, usually a recent one (most objects
 *     die young, a few old ones die at random), so the heap grows and
 *     shrinks in waves;
 *   - time advances by exponential gaps over DURATION seconds, with rare
 *     negative deltas (the wall clock stepping back) and trace-0 events;
 *   - sampling ranges are heapprof's default {128: 1e-4, 8192: 0.1}, or none
 *     with --full-sampling.
 * --damage N inserts N garbage records (an impossible trace index followed by
 * noise) at event boundaries, as the interleaved writes of heapprof's
 * non-thread-safe writer would; the resulting .hpd needs --salvage.
 *
 * --busy writes a "busy heap" instead (issue 13), a service under load: by
 * default 20,000 traces and BUSY_RATE events per second of profile (the
 * duration is EVENTS / BUSY_RATE unless -d is given). Start-up allocates
 * BUSY_LIVE objects; from then on allocations and frees alternate at random
 * around that many live objects, allocations from traces chosen uniformly,
 * frees of live objects chosen uniformly. Each trace has a typical size,
 * log-uniform over 16 B - 64 KiB, and each allocation is 0.5-2x its trace's,
 * so half the sizes are >= 1 KiB. At 24,000 events/s over 20,000 traces,
 * about 70% of the live traces change in every 1 s interval
 * (1 - exp(-24000/20000)). No negative deltas, trace-0 events or huge sizes;
 * --damage still applies.
 *
 * Frames name 60 files, /usr/lib/python3.11/synthetic/module_NN.py, which
 * do not exist; with --source-dir DIR they are DIR/module_NN.py instead,
 * and hpgen writes them (line N reads "line N of module NN"), so that the
 * source text of frames can be read back (a folder the caller made). */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t next_u64(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(void) { return (double)(next_u64() >> 11) * 0x1.0p-53; } /* [0, 1) */
static uint64_t below(uint64_t n) { return n ? next_u64() % n : 0; }

static void put_be32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    fwrite(b, 1, 4, f);
}

static void put_be64(FILE *f, uint64_t v)
{
    put_be32(f, (uint32_t)(v >> 32));
    put_be32(f, (uint32_t)v);
}

static void put_varint(FILE *f, uint64_t v)
{
    uint8_t b[10];
    int n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    fwrite(b, 1, (size_t)n, f);
}

static FILE *create(const char *base, const char *ext)
{
    size_t n = strlen(base) + strlen(ext) + 1;
    char *path = malloc(n);
    snprintf(path, n, "%s%s", base, ext);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    free(path);
    return f;
}

#define NFILES 60
#define FILE_LINES 2001 /* the frames' line numbers are 1..2000 */

/* The name of source file `file`: under `dir` where there is one. */
static void file_name(char *name, size_t size, const char *dir, int file)
{
    if (dir)
        snprintf(name, size, "%s/module_%02d.py", dir, file);
    else
        snprintf(name, size, "/usr/lib/python3.11/synthetic/module_%02d.py", file);
}

/* The source files the frames name, in `dir`. */
static void write_sources(const char *dir)
{
    char name[4096];
    for (int file = 0; file < NFILES; file++) {
        file_name(name, sizeof name, dir, file);
        FILE *f = fopen(name, "w");
        if (!f) {
            perror(name);
            exit(1);
        }
        for (int line = 1; line <= FILE_LINES; line++)
            fprintf(f, "line %d of module %02d\n", line, file);
        if (fclose(f) != 0) {
            perror(name);
            exit(1);
        }
    }
}

static void write_hpm(const char *base, uint32_t traces, int full_sampling, uint64_t seed,
                      const char *source_dir)
{
    FILE *f = create(base, ".hpm");
    put_be32(f, 1);
    put_be64(f, 1795000000ull + seed % 1000000);
    put_be64(f, (seed * 7919) % 1000000000ull);
    if (full_sampling) {
        put_varint(f, 0);
    } else {
        put_varint(f, 2);
        put_be64(f, 128);
        put_be32(f, 429496); /* 1e-4 */
        put_be64(f, 8192);
        put_be32(f, 429496729); /* 0.1 */
    }
    char name[4096];
    for (uint32_t t = 0; t < traces; t++) {
        int depth = 1 + (int)below(20);
        for (int d = 0; d < depth; d++) { /* innermost first */
            int file = (int)below(NFILES);
            file_name(name, sizeof name, source_dir, file);
            int n = (int)strlen(name);
            put_varint(f, 1 + 1 + below(FILE_LINES - 1)); /* lineno + 1 */
            put_varint(f, (uint64_t)n);
            fwrite(name, 1, (size_t)n, f);
        }
        put_varint(f, 0);
    }
    fclose(f);
}

typedef struct alloc {
    uint32_t trace;
    uint64_t size;
} alloc;

static uint64_t heavy_size(void)
{
    /* Pareto(alpha 1.1) from 16 bytes, capped below 2^31 */
    double s = 16.0 / pow(1.0 - uniform(), 1.0 / 1.1);
    return s > 2e9 ? 2000000000ull : (uint64_t)s;
}

/* Zipf(ZIPF_S) over trace ranks 1..n: a cumulative table, searched. */
#define ZIPF_S 1.6
static double *zipf_table(uint32_t n)
{
    double *cdf = malloc((size_t)n * sizeof *cdf), sum = 0;
    for (uint32_t r = 0; r < n; r++)
        cdf[r] = sum += pow((double)r + 1, -ZIPF_S);
    for (uint32_t r = 0; r < n; r++)
        cdf[r] /= sum;
    return cdf;
}

static uint32_t zipf_pick(const double *cdf, uint32_t n)
{
    double u = uniform();
    uint32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo + 1;
}

static void write_event(FILE *f, uint32_t word, uint64_t sec, uint64_t usec, uint64_t size)
{
    put_be32(f, word);
    put_varint(f, sec);
    put_varint(f, usec);
    put_varint(f, size);
}

#define BUSY_TRACES 20000
#define BUSY_LIVE 1000000
#define BUSY_RATE 24000.0

/* The busy heap's state: the live objects and each trace's typical size. */
typedef struct busy {
    alloc *pool;
    size_t live;
    double *typical; /* by trace index, 1..traces */
    uint32_t traces;
} busy;

static void busy_init(busy *b, uint32_t traces)
{
    b->pool = malloc((BUSY_LIVE + BUSY_LIVE / 2) * sizeof *b->pool);
    b->live = 0;
    b->traces = traces;
    b->typical = malloc(((size_t)traces + 1) * sizeof *b->typical);
    b->typical[0] = 0;
    for (uint32_t t = 1; t <= traces; t++)
        b->typical[t] = 16.0 * pow(4096.0, uniform()); /* 16 B .. 64 KiB, median 1 KiB */
    if (!b->pool || !b->typical) {
        perror("hpgen");
        exit(1);
    }
}

/* Event i of the busy heap: a word (free flag and trace) and a size. */
static void busy_event(busy *b, uint64_t i, uint32_t *word, uint64_t *size)
{
    int do_alloc;
    if (i < BUSY_LIVE || b->live == 0) {
        do_alloc = 1; /* start-up */
    } else {
        /* a random walk held at BUSY_LIVE, within the pool */
        double p = 0.5 + 0.5 * ((double)BUSY_LIVE - (double)b->live) / BUSY_LIVE;
        do_alloc = b->live < BUSY_LIVE + BUSY_LIVE / 2 && uniform() < p;
    }
    if (do_alloc) {
        alloc a;
        a.trace = 1 + (uint32_t)below(b->traces);
        double s = b->typical[a.trace] * pow(2.0, 2.0 * uniform() - 1.0); /* 0.5-2x */
        a.size = s < 1 ? 1 : (uint64_t)s;
        b->pool[b->live++] = a;
        *word = a.trace;
        *size = a.size;
    } else {
        size_t k = (size_t)below(b->live);
        alloc a = b->pool[k];
        b->pool[k] = b->pool[--b->live];
        *word = 0x40000000u | a.trace;
        *size = a.size;
    }
}

int main(int argc, char **argv)
{
    uint64_t events = 100000, seed = 1, damage = 0;
    uint32_t traces = 1000;
    double duration = 60;
    int full = 0, busy_heap = 0, traces_set = 0, duration_set = 0;
    const char *source_dir = NULL;
    static const struct option opts[] = {{"events", required_argument, NULL, 'e'},
                                         {"traces", required_argument, NULL, 't'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"full-sampling", no_argument, NULL, 'f'},
                                         {"damage", required_argument, NULL, 'x'},
                                         {"busy", no_argument, NULL, 'b'},
                                         {"source-dir", required_argument, NULL, 'S'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "e:t:d:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'e': events = strtoull(optarg, NULL, 10); break;
        case 't': traces = (uint32_t)strtoul(optarg, NULL, 10); traces_set = 1; break;
        case 'd': duration = strtod(optarg, NULL); duration_set = 1; break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'f': full = 1; break;
        case 'x': damage = strtoull(optarg, NULL, 10); break;
        case 'b': busy_heap = 1; break;
        case 'S': source_dir = optarg; break;
        case 'h':
            printf("usage: hpgen [-e EVENTS] [-t TRACES] [-d SECONDS] [-s SEED] "
                   "[--full-sampling] [--damage N] [--busy] [--source-dir DIR] OUTBASE\n"
                   "  --busy  a busy heap (a service under load): %d traces, about %d live\n"
                   "          objects, frees of random live objects, %.0f events per second\n"
                   "          (-d defaults to EVENTS / %.0f): about 70%% of the live traces\n"
                   "          change in every 1 s interval; half the sizes >= 1 KiB\n"
                   "  --source-dir DIR  frames name DIR/module_NN.py, which hpgen writes\n"
                   "          (an existing folder), instead of files that do not exist\n",
                   BUSY_TRACES, BUSY_LIVE, BUSY_RATE, BUSY_RATE);
            return 0;
        default: return 2;
        }
    }
    if (busy_heap && !traces_set)
        traces = BUSY_TRACES;
    if (busy_heap && !duration_set)
        duration = (double)events / BUSY_RATE;
    if (optind + 1 != argc || traces < 1 || traces > (1u << 30) - 1 || duration < 0) {
        fprintf(stderr, "usage: hpgen [-e EVENTS] [-t TRACES] [-d SECONDS] [-s SEED] "
                        "[--full-sampling] [--damage N] [--busy] [--source-dir DIR] OUTBASE\n");
        return 2;
    }
    const char *base = argv[optind];
    rng_state = seed * 0x2545f4914f6cdd1dull + 1;
    if (source_dir)
        write_sources(source_dir);
    write_hpm(base, traces, full, seed, source_dir);

    FILE *f = create(base, ".hpd");
    size_t cap = 1 << 20, live = 0;
    alloc *pool = malloc(cap * sizeof *pool);
    double *cdf = busy_heap ? NULL : zipf_table(traces);
    busy b = {0};
    if (busy_heap)
        busy_init(&b, traces);
    double mean_gap_us = events ? duration * 1e6 / (double)events : 0;
    double period = events / 6.0 + 1; /* three growth-and-shrink waves */
    /* where the damage and the rare cases go: spread evenly, deterministic */
    uint64_t big_every = events / 4 + 1, neg_every = events / 8 + 1, zero_every = events / 16 + 1;
    uint64_t damage_every = damage ? events / (damage + 1) + 1 : 0;
    uint64_t startup = events / 50;
    for (uint64_t i = 0; i < events; i++) {
        double gap = -log(1.0 - uniform()) * mean_gap_us;
        uint64_t us = (uint64_t)gap, sec = us / 1000000, usec = us % 1000000;
        if (busy_heap) {
            uint32_t word;
            uint64_t size;
            busy_event(&b, i, &word, &size);
            write_event(f, word, sec, usec, size);
        } else {
            uint32_t flags = 0;
            if (i % neg_every == neg_every / 2) { /* the clock steps back 0.25 s */
                flags |= 0x80000000u;
                sec = 1;
                usec = 750000;
            }
            double p_alloc = 0.52 + 0.08 * sin(2 * M_PI * (double)i / period);
            int do_alloc = live == 0 || (live < cap && uniform() < p_alloc);
            if (i < startup) {
                /* start-up: every trace allocates objects that live for good */
                uint32_t trace = i % zero_every == zero_every / 3 ? 0 : 1 + (uint32_t)(i % traces);
                write_event(f, flags | trace, sec, usec, heavy_size());
            } else if (do_alloc) {
                alloc a;
                a.trace = zipf_pick(cdf, traces);
                if (i % zero_every == zero_every / 3)
                    a.trace = 0;
                a.size = i % big_every == big_every / 2 ? (5ull << 30) + below(1000) : heavy_size();
                pool[live++] = a;
                write_event(f, flags | a.trace, sec, usec, a.size);
            } else {
                /* mostly young objects: a geometric distance from the newest */
                uint64_t back = (uint64_t)(-log(1.0 - uniform()) * 64.0);
                if (uniform() < 0.005)
                    back = below(live);
                size_t k = live - 1 - (back < live ? back : live - 1);
                alloc a = pool[k];
                pool[k] = pool[--live];
                write_event(f, flags | 0x40000000u | a.trace, sec, usec, a.size);
            }
        }
        if (damage_every && i % damage_every == damage_every - 1 && damage-- > 0) {
            put_be32(f, 0x3fffffffu); /* no such trace */
            for (int j = 0; j < 5 + (int)below(20); j++)
                fputc((int)below(256), f);
        }
    }
    free(pool);
    free(cdf);
    free(b.pool);
    free(b.typical);
    if (fclose(f) != 0) {
        perror(base);
        return 1;
    }
    return 0;
}
