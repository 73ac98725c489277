/* membw.c - how fast this machine streams memory, for the scaling model.
 *
 * Sums a 1 GiB buffer (already in memory) with T OpenMP threads and prints
 * the read bandwidth in GB/s: the ceiling for any pass over a mapped .hpd
 * in the page cache.
 *
 *   usage: membw THREADS */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads < 1) {
        fprintf(stderr, "usage: membw THREADS\n");
        return 2;
    }
    size_t n = (size_t)1 << 27; /* 2^27 words: 1 GiB */
    uint64_t *v = malloc(n * sizeof *v);
    if (!v)
        return 1;
    memset(v, 1, n * sizeof *v);
    double best = 0;
    uint64_t sum = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = omp_get_wtime();
#pragma omp parallel for num_threads(threads) reduction(+ : sum) schedule(static)
        for (size_t i = 0; i < n; i++)
            sum += v[i];
        double gbs = (double)(n * sizeof *v) / (omp_get_wtime() - t0) / 1e9;
        best = gbs > best ? gbs : best;
    }
    printf("%.2f GB/s (%d threads, checksum %llu)\n", best, threads, (unsigned long long)(sum & 0xff));
    free(v);
    return 0;
}
