/* randread.c - random access into a digest, as a viewer would do it.
 *
 * Opens NAME.hpc once, then reads READS snapshots chosen at random (a fixed
 * seed, so runs compare) and prints the median and the 99th percentile of
 * the time one hp_hpc_snapshot() call takes, in microseconds.
 *
 *   usage: randread FILE.hpc [READS] */
#include <heapprof.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: randread FILE.hpc [READS]\n");
        return 2;
    }
    int reads = argc == 3 ? atoi(argv[2]) : 1000;
    if (reads < 1) {
        fprintf(stderr, "randread: invalid READS '%s'\n", argv[2]);
        return 2;
    }
    hp_hpc *hpc;
    if (hp_hpc_open_path(&hpc, argv[1]) < 0) {
        fprintf(stderr, "randread: %s\n", hp_last_error());
        return 1;
    }
    size_t n = hp_hpc_length(hpc);
    double *t = malloc((size_t)reads * sizeof *t);
    uint64_t state = 42, entries = 0;
    for (int i = 0; i < reads; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        size_t k = (size_t)((state >> 33) % n);
        hp_snapshot s;
        double t0 = now_us();
        if (hp_hpc_snapshot(hpc, k, &s) < 0) {
            fprintf(stderr, "randread: %s\n", hp_last_error());
            return 1;
        }
        t[i] = now_us() - t0;
        entries += s.count;
    }
    qsort(t, (size_t)reads, sizeof *t, cmp_double);
    printf("median_us %.1f p99_us %.1f snapshots %zu mean_entries %.0f\n", t[reads / 2],
           t[reads * 99 / 100], n, (double)entries / reads);
    free(t);
    hp_hpc_close(hpc);
    return 0;
}
