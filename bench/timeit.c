/* timeit.c - times one command for `make bench`: wall-clock seconds and
 * peak RSS, as GNU time's "%e %M" but with microsecond resolution and no
 * dependency (the static bench bundle runs where GNU time is not installed).
 *
 *   usage: timeit OUTFILE COMMAND [ARG...]
 *
 * Runs COMMAND, then writes "SECONDS MAXRSS_KIB CPU OTHERS STEAL" to OUTFILE
 * and exits with COMMAND's status (128 + the signal if it was killed). CPU is
 * the command's user + system seconds; OTHERS the CPU seconds the rest of
 * the machine used meanwhile (the busy ticks of /proc/stat minus CPU; other
 * processes, on a shared machine), STEAL the seconds the hypervisor took:
 * make bench repeats runs that others disturbed. /proc/stat counts in ticks
 * (10 ms), so OTHERS is good to a few hundredths of a second. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The machine's busy and stolen seconds so far, from /proc/stat; 0 where
 * there is none. */
static void machine_ticks(double *busy, double *steal)
{
    unsigned long long v[8] = {0};
    *busy = *steal = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return;
    /* cpu user nice system idle iowait irq softirq steal */
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 7)
        return;
    double tick = 1.0 / (double)sysconf(_SC_CLK_TCK);
    *busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) * tick;
    *steal = (double)v[7] * tick;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: timeit OUTFILE COMMAND [ARG...]\n");
        return 2;
    }
    struct timespec t0, t1;
    double busy0, steal0, busy1, steal1;
    machine_ticks(&busy0, &steal0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("timeit: fork");
        return 1;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "timeit: %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("timeit: wait4");
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    machine_ticks(&busy1, &steal1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
    double others = busy1 - busy0 - cpu;
    FILE *f = fopen(argv[1], "w");
    if (!f ||
        fprintf(f, "%.4f %ld %.3f %.3f %.3f\n", secs, ru.ru_maxrss, cpu, others > 0 ? others : 0,
                steal1 - steal0) < 0 ||
        fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
