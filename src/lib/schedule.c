/* schedule.c - the batch scheduler's plan, and the cost model it plans and
 * predicts with (see schedule.h). */
#include "schedule.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void hp_cost_model_default(hp_cost_model *m)
{
    /* From make bench on 2 cores (docs/PERFORMANCE.md): one thread digests
     * 225-425 MB/s at -i 1 (busy heaps the slower); a 1,000-event profile
     * takes 2 ms; the serial fraction is what the phases project for 16
     * threads (e = 0.02 at -i 60, 0.06 at -i 1, 0.16 for a busy heap's
     * stored frames), a middle value: the plan depends on it only weakly
     * (the 2-core mix took the same time with 0.02 and 0.15). */
    m->s_per_byte = 1.0 / 250e6;
    m->serial = 0.05;
    m->fixed_s = 0.002;
    m->bytes_per_thread = 4u << 20;
}

double hp_sched_speedup(const hp_cost_model *m, int n)
{
    return n <= 1 ? 1.0 : (double)n / (1.0 + m->serial * (double)(n - 1));
}

double hp_sched_seconds(const hp_cost_model *m, uint64_t bytes, int n)
{
    return (double)bytes * m->s_per_byte / hp_sched_speedup(m, n < 1 ? 1 : n);
}

int hp_sched_useful(const hp_cost_model *m, uint64_t bytes, int total)
{
    uint64_t n = m->bytes_per_thread ? (bytes + m->bytes_per_thread - 1) / m->bytes_per_thread : 1;
    return n < 1 ? 1 : n > (uint64_t)total ? total : (int)n;
}

/* The fewest threads (up to the useful most) with which `bytes` of work
 * ends within `span` seconds, or 0 when even the most cannot. */
static int threads_within(const hp_cost_model *m, uint64_t bytes, int total, double span)
{
    int most = hp_sched_useful(m, bytes, total);
    if (hp_sched_seconds(m, bytes, most) > span)
        return 0;
    int lo = 1, hi = most; /* time falls as threads grow: search the fewest */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (hp_sched_seconds(m, bytes, mid) <= span)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* What a plan is made from: the model, the threads, the running jobs and
 * the queue; suffix[k] is the one-thread seconds of queued[k..nq), rooms
 * scratch for nrun doubles. */
typedef struct plan_in {
    const hp_cost_model *m;
    int total;
    const hp_sched_job *run;
    size_t nrun;
    const uint64_t *queued;
    size_t nq;
    const double *suffix;
    double *rooms;
    int whole; /* 0: count thread-seconds only (hp_sched_model_bound) */
} plan_in;

static int cmp_room(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a < b) - (a > b);
}

/* Whether everything can end within `span`: each job on the fewest threads
 * that make it, the running ones at once, and all of it fitting in the
 * cores' thread-seconds. Jobs that one thread ends in time are whole items
 * on a thread: the running ones each hold one (what is left of the span
 * after them is room), the queued ones (all but the largest few) are
 * packed largest first into that room, then onto threads of their own, and
 * every thread must exist: thread-seconds alone would count slivers of
 * time that no whole job fits in. */
static int fits(const plan_in *p, double span)
{
    const hp_cost_model *m = p->m;
    double thread_s = 0;
    int at_once = 0;
    size_t nrooms = 0;
    for (size_t i = 0; i < p->nrun; i++) {
        int n = threads_within(m, p->run[i].remaining, p->total, span);
        if (n == 0)
            return 0;
        double t = hp_sched_seconds(m, p->run[i].remaining, n);
        if (n == 1)
            p->rooms[nrooms++] = span - t;
        else
            at_once += n;
        thread_s += n * t;
    }
    size_t k = 0;
    for (; k < p->nq && hp_sched_seconds(m, p->queued[k], 1) + m->fixed_s > span; k++) {
        int n = threads_within(m, p->queued[k], p->total, span - m->fixed_s);
        if (n == 0)
            return 0;
        at_once += n;
        thread_s += n * (hp_sched_seconds(m, p->queued[k], n) + m->fixed_s);
    }
    thread_s += p->suffix[k];
    int threads = at_once + (int)nrooms;
    if (threads > p->total || thread_s > (double)p->total * span * (1 + 1e-9))
        return 0;
    if (!p->whole)
        return 1;
    /* next fit: the queue's sizes fall, so the rooms go largest first */
    qsort(p->rooms, nrooms, sizeof *p->rooms, cmp_room);
    size_t c = 0;
    double room = nrooms ? p->rooms[0] : -1;
    for (; k < p->nq; k++) {
        double t = hp_sched_seconds(m, p->queued[k], 1) + m->fixed_s;
        while (t > room) {
            if (++c < nrooms) {
                room = p->rooms[c];
            } else {
                if (++threads > p->total)
                    return 0;
                room = span;
            }
        }
        room -= t;
    }
    return 1;
}

/* The shortest span in [lo, hi] within which everything fits (hi fits). */
static double shortest_span(const plan_in *in, double lo, double hi)
{
    for (int it = 0; it < 60 && hi - lo > 1e-6 * hi; it++) {
        double mid = (lo + hi) / 2;
        if (fits(in, mid))
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

/* suffix[k]: the one-thread seconds of queued[k..nq), fixed costs included. */
static void fill_suffix(const hp_cost_model *m, const uint64_t *queued, size_t nq, double *suffix)
{
    suffix[nq] = 0;
    for (size_t k = nq; k-- > 0;)
        suffix[k] = suffix[k + 1] + hp_sched_seconds(m, queued[k], 1) + m->fixed_s;
}

void hp_sched_plan(const hp_cost_model *m, int total, hp_sched_job *run, size_t nrun,
                   const uint64_t *queued, size_t nq, int *start, size_t *nstart)
{
    *nstart = 0;
    double *suffix = malloc((nq + 1 + nrun) * sizeof *suffix);
    if (!suffix) {
        /* no memory to plan with: keep going as things are, and start the
         * next one on a thread if one is left (else, with nothing running,
         * a batch would wait for threads that no one frees) */
        int left = total;
        for (size_t i = 0; i < nrun; i++) {
            run[i].threads = run[i].threads < 1 ? 1 : run[i].threads;
            left -= run[i].threads;
        }
        if (nq > 0 && left > 0)
            start[(*nstart)++] = 1;
        return;
    }
    /* the span to aim for: the shortest within which everything fits,
     * between the largest job alone and everything on one thread */
    fill_suffix(m, queued, nq, suffix);
    double lo = 0, hi = suffix[0];
    for (size_t i = 0; i < nrun; i++) {
        double alone = hp_sched_seconds(m, run[i].remaining, hp_sched_useful(m, run[i].remaining, total));
        lo = alone > lo ? alone : lo;
        hi += hp_sched_seconds(m, run[i].remaining, 1);
    }
    for (size_t k = 0; k < nq && k < 1; k++) {
        double alone = hp_sched_seconds(m, queued[k], hp_sched_useful(m, queued[k], total)) + m->fixed_s;
        lo = alone > lo ? alone : lo;
    }
    hi = hi > lo ? hi : lo;
    const plan_in in = {.m = m, .total = total, .run = run, .nrun = nrun, .queued = queued,
                        .nq = nq, .suffix = suffix, .rooms = suffix + nq + 1, .whole = 1};
    hi = shortest_span(&in, lo, hi);
    /* running jobs: the fewest threads that end them within the span */
    int left = total;
    for (size_t i = 0; i < nrun; i++) {
        int n = threads_within(m, run[i].remaining, total, hi);
        run[i].threads = n < 1 ? 1 : n;
        left -= run[i].threads;
    }
    /* queued jobs start, largest first, while threads are left */
    for (size_t k = 0; k < nq && left > 0; k++) {
        int n = threads_within(m, queued[k], total, hi - m->fixed_s);
        n = n < 1 ? 1 : n > left ? left : n;
        start[(*nstart)++] = n;
        left -= n;
    }
    /* threads still free help whatever ends last */
    while (left > 0) {
        double worst = 0;
        size_t pick = SIZE_MAX;
        for (size_t i = 0; i < nrun; i++) {
            int n = run[i].threads;
            double tm = hp_sched_seconds(m, run[i].remaining, n);
            if (n < hp_sched_useful(m, run[i].remaining, total) && tm > worst) {
                worst = tm;
                pick = i;
            }
        }
        if (pick == SIZE_MAX)
            break;
        run[pick].threads++;
        left--;
    }
    free(suffix);
}

/* ---- replaying a batch ---------------------------------------------------------- */

typedef struct sim_job {
    uint64_t remaining;
    int threads;      /* held now */
    int target;       /* planned for its next wave */
    double until;     /* when its wave (or its fixed cost) ends */
    int fixed_done;
} sim_job;

/* Starts the next wave of job j at time t with its target threads (as many
 * as are free); returns the threads it now holds. */
static void begin_wave(const hp_cost_model *m, sim_job *j, int *free_threads, double t,
                       uint64_t wave_bytes)
{
    int want = j->target < 1 ? 1 : j->target;
    int n = j->threads + *free_threads < want ? j->threads + *free_threads : want;
    n = n < 1 ? 1 : n;
    *free_threads -= n - j->threads;
    j->threads = n;
    if (!j->fixed_done) {
        j->until = t + m->fixed_s;
        return;
    }
    /* the engine's waves: a chunk per thread, 1 MiB at one thread and
     * 4 MiB with more, smaller where the rest is small (digest.c); threads
     * beyond one per bytes_per_thread of the wave do not speed it up */
    uint64_t chunk = wave_bytes ? wave_bytes : n <= 1 ? (1u << 20) : (4u << 20);
    uint64_t even = j->remaining / (uint64_t)n + 1;
    chunk = even < chunk ? even : chunk;
    uint64_t bytes = (uint64_t)n * chunk;
    bytes = bytes > j->remaining ? j->remaining : bytes;
    j->until = t + hp_sched_seconds(m, bytes, hp_sched_useful(m, bytes, n));
    j->remaining -= bytes;
}

/* A replay in progress: the jobs started so far are run[0..next). */
typedef struct sim {
    const hp_cost_model *m;
    int cores;
    const uint64_t *sizes;
    size_t n, next;
    sim_job *run;
    hp_sched_job *plan;
    int *start;
    size_t *who; /* plan[i] is run[who[i]] */
} sim;

/* Plans over the running jobs and the queue: sets each running job's
 * target; returns how many queued jobs start now (their threads in
 * s->start). */
static size_t replan(sim *s)
{
    size_t np = 0, nstart;
    for (size_t i = 0; i < s->next; i++)
        if (s->run[i].threads > 0) {
            s->plan[np] = (hp_sched_job){.remaining = s->run[i].remaining, .threads = s->run[i].threads};
            s->who[np++] = i;
        }
    hp_sched_plan(s->m, s->cores, s->plan, np, s->sizes + s->next, s->n - s->next, s->start, &nstart);
    for (size_t i = 0; i < np; i++)
        s->run[s->who[i]].target = s->plan[i].threads;
    return nstart;
}

double hp_sched_simulate(const hp_cost_model *m, int cores, const uint64_t *sizes, size_t n,
                         uint64_t wave_bytes, int jobs)
{
    size_t slots = n ? n : 1;
    sim s = {.m = m, .cores = cores, .sizes = sizes, .n = n,
             .run = calloc(slots, sizeof *s.run), .plan = calloc(slots, sizeof *s.plan),
             .start = calloc(slots, sizeof *s.start), .who = calloc(slots, sizeof *s.who)};
    double t = 0;
    size_t active = 0, done = 0;
    int free_threads = cores;
    if (!s.run || !s.plan || !s.start || !s.who) {
        t = -1;
        goto out;
    }
    while (done < n) {
        if (jobs > 0) { /* a fixed plan: start what the slots allow */
            int per = cores / jobs > 0 ? cores / jobs : 1;
            while (s.next < n && (int)active < jobs && free_threads >= per) {
                s.run[s.next] = (sim_job){.remaining = sizes[s.next], .target = per};
                begin_wave(m, &s.run[s.next], &free_threads, t, wave_bytes);
                s.next++, active++;
            }
        } else { /* the scheduler: start what the plan starts */
            size_t nstart = replan(&s);
            for (size_t k = 0; k < nstart && free_threads > 0; k++, s.next++, active++) {
                s.run[s.next] = (sim_job){.remaining = sizes[s.next], .target = s.start[k]};
                begin_wave(m, &s.run[s.next], &free_threads, t, wave_bytes);
            }
        }
        /* the next event: the earliest end of a wave */
        double soonest = INFINITY;
        size_t j = SIZE_MAX;
        for (size_t i = 0; i < s.next; i++)
            if (s.run[i].threads > 0 && s.run[i].until < soonest) {
                soonest = s.run[i].until;
                j = i;
            }
        if (j == SIZE_MAX)
            break; /* cannot happen: something always runs */
        t = soonest;
        sim_job *job = &s.run[j];
        job->fixed_done = 1;
        if (job->remaining == 0) { /* finished: its threads go back */
            free_threads += job->threads;
            job->threads = 0;
            done++, active--;
            continue;
        }
        if (jobs <= 0) /* its next wave takes what the plan gives it */
            replan(&s);
        free_threads += job->threads; /* released, then taken again */
        job->threads = 0;
        begin_wave(m, job, &free_threads, t, wave_bytes);
    }
out:
    free(s.run);
    free(s.plan);
    free(s.start);
    free(s.who);
    return t;
}

double hp_sched_model_bound(const hp_cost_model *m, int cores, const uint64_t *sizes, size_t n)
{
    /* the shortest span within which every profile, on the fewest threads
     * that end it in time (the most efficient constant allocation, speed-ups
     * being concave), fits in the cores' thread-seconds: hp_sched_plan's
     * span at the start */
    double *suffix = malloc((n + 1) * sizeof *suffix);
    if (!suffix)
        return -1;
    fill_suffix(m, sizes, n, suffix);
    double lo = 0, hi = suffix[0];
    const plan_in in = {.m = m, .total = cores, .queued = sizes, .nq = n, .suffix = suffix};
    hi = shortest_span(&in, lo, hi);
    free(suffix);
    return hi;
}

double hp_sched_lower_bound(const hp_cost_model *m, int cores, const uint64_t *sizes, size_t n)
{
    double all = 0, largest = 0;
    for (size_t i = 0; i < n; i++) {
        all += hp_sched_seconds(m, sizes[i], 1) + m->fixed_s;
        double alone = hp_sched_seconds(m, sizes[i], hp_sched_useful(m, sizes[i], cores)) + m->fixed_s;
        largest = alone > largest ? alone : largest;
    }
    all /= cores;
    return all > largest ? all : largest;
}
