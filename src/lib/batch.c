/* batch.c - digesting many profiles: expansion, sharding, planning, running.
 *
 * A batch is a list of filebases with their input sizes. Expansion accepts
 * what a user types (filebases, .hpm/.hpd/.hpc paths, directories); sharding
 * splits the list deterministically across machines; the runner digests
 * several profiles at once, largest first, their digests' tasks sharing the
 * process's pool of threads as the scheduler grants them (schedule.c). */
#include "clock.h"
#include "digest_internal.h"
#include "error.h"
#include "grow.h"
#include "mapfile.h"
#include "paths.h"
#include "schedule.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct file_id {
    dev_t dev;
    ino_t ino;
} file_id;

typedef struct item {
    char *filebase;
    uint64_t bytes;  /* .hpm + .hpd */
    char *error;     /* why it cannot be digested, or NULL */
    file_id hpm, hpd;
} item;

struct hp_batch {
    item *v;
    size_t n, cap;
    file_id *dirs;   /* folders entered by the expansion so far */
    size_t ndirs, dirs_cap;
};

int hp_batch_new(hp_batch **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? HP_OK : hp_fail(HP_ENOMEM, "out of memory");
}

static void free_item(item *it)
{
    free(it->filebase);
    free(it->error);
}

void hp_batch_free(hp_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        free_item(&b->v[i]);
    free(b->v);
    free(b->dirs);
    free(b);
}

size_t hp_batch_count(const hp_batch *b) { return b->n; }
const char *hp_batch_filebase(const hp_batch *b, size_t i) { return i < b->n ? b->v[i].filebase : NULL; }
uint64_t hp_batch_input_bytes(const hp_batch *b, size_t i) { return i < b->n ? b->v[i].bytes : 0; }
const char *hp_batch_error(const hp_batch *b, size_t i) { return i < b->n ? b->v[i].error : NULL; }

/* ---- expansion ------------------------------------------------------------- */

/* Stats FILEBASE + ext as an input must be: a regular file. Returns 0; 1
 * with *why set to the one-line reason (malloc'ed) when it is not; or
 * HP_ENOMEM (for the reason only: the stat allocates nothing). */
static int input_file(const char *filebase, const char *ext, struct stat *st, char **why)
{
    char msg[4096 + 128];
    int ok = hp_path_stat(filebase, ext, st) == 0;
    if (!ok)
        snprintf(msg, sizeof msg, "%s%s: cannot open: %s", filebase, ext, strerror(errno));
    else if (!S_ISREG(st->st_mode))
        snprintf(msg, sizeof msg, "%s%s: is %s, not a regular file", filebase, ext,
                 hp_file_kind(st->st_mode));
    ok = ok && S_ISREG(st->st_mode);
    if (!ok && !(*why = strdup(msg)))
        return hp_fail(HP_ENOMEM, "out of memory");
    return ok ? 0 : 1;
}

static int same_id(file_id a, file_id b) { return a.dev == b.dev && a.ino == b.ino; }

/* Adds a profile, or an entry that will fail with the reason it cannot be
 * digested. A profile already there (the same .hpm, by device and inode,
 * whatever the name: "a", "./a", "$PWD/a", through a link) is added once. */
static int add_item(hp_batch *b, const char *filebase)
{
    struct stat sm, sd;
    char *why = NULL;
    int rc = input_file(filebase, ".hpm", &sm, &why);
    if (rc == 0)
        rc = input_file(filebase, ".hpd", &sd, &why);
    if (rc < 0)
        return rc;
    int ok = rc == 0;
    file_id hpm = {ok ? sm.st_dev : 0, ok ? sm.st_ino : 0};
    for (size_t i = 0; i < b->n; i++)
        if (ok ? !b->v[i].error && same_id(b->v[i].hpm, hpm) : !strcmp(b->v[i].filebase, filebase)) {
            free(why);
            return HP_OK; /* named twice: digested once */
        }
    char *fb = strdup(filebase);
    if (!fb || hp_grow(&b->v, &b->cap, b->n + 1, sizeof *b->v, 16) < 0) {
        free(fb);
        free(why);
        return hp_fail(HP_ENOMEM, "out of memory");
    }
    b->v[b->n++] = (item){
        .filebase = fb,
        .bytes = ok ? (uint64_t)sm.st_size + (uint64_t)sd.st_size : 0,
        .error = why,
        .hpm = hpm,
        .hpd = {ok ? sd.st_dev : 0, ok ? sd.st_ino : 0},
    };
    return HP_OK;
}

/* An entry for something that is not a profile but stood where one was
 * looked for (a folder that cannot be read): it fails in its place. */
static int add_failure(hp_batch *b, const char *name, const char *why)
{
    char *fb = strdup(name), *msg = strdup(why);
    if (!fb || !msg || hp_grow(&b->v, &b->cap, b->n + 1, sizeof *b->v, 16) < 0) {
        free(fb);
        free(msg);
        return hp_fail(HP_ENOMEM, "out of memory");
    }
    b->v[b->n++] = (item){.filebase = fb, .error = msg};
    return HP_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcmp(s + n - m, suffix);
}

/* The names in `dir`, sorted (so the order does not depend on the file
 * system), hidden ones (and the atomic writer's temporaries) left out.
 * Returns HP_OK, 1 when the folder cannot be opened (errno says why), or
 * an error (with *names and *count to free all the same). */
static int list_dir(const char *dir, char ***names, size_t *count)
{
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 1;
    size_t n = 0, cap = 0;
    int rc = HP_OK;
    for (struct dirent *e; rc == HP_OK && (errno = 0, e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *s = malloc(len);
        if (!s || hp_grow(names, &cap, n + 1, sizeof **names, 64) < 0) {
            free(s);
            rc = hp_fail(HP_ENOMEM, "out of memory");
            break;
        }
        snprintf(s, len, "%s/%s", dir, e->d_name);
        (*names)[n++] = s;
    }
    if (rc == HP_OK && errno != 0) /* readdir failed: the listing is short */
        rc = hp_fail(HP_EIO, "%s: cannot read directory: %s", dir, strerror(errno));
    closedir(d);
    if (n)
        qsort(*names, n, sizeof **names, cmp_str);
    *count = n;
    return rc;
}

/* Every filebase in `dir` with both files, and with `recursive` those below
 * it. A folder is entered once, whatever the links that lead to it again. */
static int add_dir(hp_batch *b, const char *dir, const struct stat *st, int recursive)
{
    file_id id = {st->st_dev, st->st_ino};
    for (size_t i = 0; i < b->ndirs; i++)
        if (same_id(b->dirs[i], id))
            return HP_OK; /* a link back to a folder already expanded */
    if (hp_grow(&b->dirs, &b->dirs_cap, b->ndirs + 1, sizeof *b->dirs, 16) < 0)
        return hp_fail(HP_ENOMEM, "out of memory");
    b->dirs[b->ndirs++] = id;
    char **names;
    size_t n;
    int rc = list_dir(dir, &names, &n);
    if (rc == 1) {
        char msg[4096 + 128];
        snprintf(msg, sizeof msg, "%s: cannot open directory: %s", dir, strerror(errno));
        return add_failure(b, dir, msg);
    }
    for (size_t i = 0; i < n && rc == HP_OK; i++) {
        struct stat sub;
        if (stat(names[i], &sub) != 0) {
            /* vanished, or a dangling link: nothing; but a profile there
             * that cannot be looked at (a folder without search
             * permission) fails in its place rather than go unseen */
            if (errno != ENOENT && ends_with(names[i], ".hpm")) {
                char msg[4096 + 128];
                snprintf(msg, sizeof msg, "%s: cannot stat: %s", names[i], strerror(errno));
                names[i][strlen(names[i]) - 4] = '\0';
                rc = add_failure(b, names[i], msg);
            }
            continue;
        }
        if (S_ISDIR(sub.st_mode)) {
            if (recursive)
                rc = add_dir(b, names[i], &sub, recursive);
        } else if (ends_with(names[i], ".hpm")) {
            names[i][strlen(names[i]) - 4] = '\0';
            char *hpd = hp_path_join(names[i], ".hpd");
            struct stat sd;
            if (!hpd)
                rc = hp_fail(HP_ENOMEM, "out of memory");
            else if (lstat(hpd, &sd) == 0 || errno != ENOENT) /* a lone .hpm is not a profile */
                rc = add_item(b, names[i]); /* (one that cannot be looked at fails, saying why) */
            free(hpd);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int hp_batch_add(hp_batch *b, const char *path, int recursive)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        /* "dir/" and "dir" name the same profiles */
        char *dir = strdup(path);
        if (!dir)
            return hp_fail(HP_ENOMEM, "out of memory");
        for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
            dir[n - 1] = '\0';
        int rc = add_dir(b, dir, &st, recursive);
        free(dir);
        return rc;
    }
    char *fb = hp_filebase_of(path);
    if (!fb)
        return hp_fail(HP_ENOMEM, "out of memory");
    int rc = add_item(b, fb);
    free(fb);
    return rc;
}

/* Whether `a` and `b` name the same file: by device and inode when both
 * exist, else by their folders' real paths and their names. Returns 1, 0
 * or HP_ENOMEM (an answer of "no" for want of memory would be a guess). */
static int same_path(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    /* dirname and basename may write into their argument: a copy each */
    char *ca = strdup(a), *cb = strdup(b), *na = strdup(a), *nb = strdup(b), *da = NULL, *db = NULL;
    int same = -1;
    if (ca && cb && na && nb) {
        errno = 0;
        da = realpath(dirname(ca), NULL);
        int da_errno = errno;
        errno = 0;
        db = realpath(dirname(cb), NULL);
        if ((da || da_errno != ENOMEM) && (db || errno != ENOMEM)) /* else: out of memory */
            same = da && db && !strcmp(da, db) && !strcmp(basename(na), basename(nb));
    }
    free(ca), free(cb), free(na), free(nb), free(da), free(db);
    return same < 0 ? hp_fail(HP_ENOMEM, "out of memory") : same;
}

int hp_batch_has_file(const hp_batch *b, const char *path)
{
    struct stat st;
    int exists = stat(path, &st) == 0;
    for (size_t i = 0; i < b->n; i++) {
        const item *it = &b->v[i];
        if (exists && !it->error &&
            (same_id(it->hpm, (file_id){st.st_dev, st.st_ino}) ||
             same_id(it->hpd, (file_id){st.st_dev, st.st_ino})))
            return 1;
        char *hpc = hp_path_join(it->filebase, ".hpc");
        int same = hpc ? same_path(path, hpc) : hp_fail(HP_ENOMEM, "out of memory");
        free(hpc);
        if (same != 0)
            return same;
    }
    return 0;
}

/* ---- order, shards and the plan --------------------------------------------- */

/* Largest first; equal sizes by name, so that every process agrees. */
static int cmp_largest(const void *x, const void *y)
{
    const item *a = x, *b = y;
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    return strcmp(a->filebase, b->filebase);
}

void hp_batch_sort(hp_batch *b)
{
    if (b->n)
        qsort(b->v, b->n, sizeof *b->v, cmp_largest);
}

int hp_batch_shard(hp_batch *b, unsigned k, unsigned n)
{
    if (n == 0 || k >= n)
        return hp_fail(HP_EINVAL, "invalid shard %u/%u (K/N with 0 <= K < N)", k, n);
    hp_batch_sort(b);
    uint64_t *load = calloc(n, sizeof *load);
    if (!load)
        return hp_fail(HP_ENOMEM, "out of memory");
    size_t kept = 0;
    for (size_t i = 0; i < b->n; i++) {
        /* largest first to the least loaded shard (lowest index on ties) */
        unsigned best = 0;
        for (unsigned s = 1; s < n; s++)
            if (load[s] < load[best])
                best = s;
        load[best] += b->v[i].bytes + 1; /* +1: empty files still count */
        if (best == k)
            b->v[kept++] = b->v[i];
        else
            free_item(&b->v[i]);
    }
    b->n = kept;
    free(load);
    return HP_OK;
}

/* The bytes of the profiles, in batch order, for the scheduler. */
static uint64_t *batch_sizes(const hp_batch *b)
{
    uint64_t *sizes = malloc((b->n ? b->n : 1) * sizeof *sizes);
    for (size_t i = 0; sizes && i < b->n; i++)
        sizes[i] = b->v[i].bytes;
    return sizes;
}

void hp_batch_plan(const hp_batch *b, int threads, int jobs, int *jobs_out, int *threads_per_job)
{
    threads = hp_thread_count(threads);
    size_t n = b->n ? b->n : 1;
    if (jobs <= 0) { /* the scheduler's first decision */
        hp_cost_model m;
        hp_cost_model_default(&m);
        uint64_t *sizes = batch_sizes(b);
        int *start = malloc(n * sizeof *start);
        size_t nstart = 0;
        if (sizes && start)
            hp_sched_plan(&m, threads, NULL, 0, sizes, b->n, start, &nstart);
        *jobs_out = nstart ? (int)nstart : 1;
        *threads_per_job = nstart ? start[0] : threads;
        free(sizes);
        free(start);
        return;
    }
    if ((size_t)jobs > n)
        jobs = (int)n;
    if (jobs > threads)
        jobs = threads;
    *jobs_out = jobs;
    *threads_per_job = threads / jobs > 0 ? threads / jobs : 1;
}

/* ---- running ------------------------------------------------------------- */

/* A profile being digested, as the scheduler sees it. */
typedef struct running {
    size_t index;
    uint64_t remaining;  /* .hpd bytes left */
    int threads;         /* held now */
} running;

typedef struct runner {
    hp_batch *b;
    const hp_batch_options *o;
    hp_make_options make;  /* the caller's */
    hp_batch_summary *sum;
    pthread_mutex_t lock;  /* everything below, and every callback */
    size_t next, finished;
    int stop;              /* a failure without keep_going */
    int first_error;
    /* the scheduler (docs/DESIGN.md, "The batch scheduler") */
    int automatic;         /* no --jobs: threads follow the plan */
    int per_job;           /* --jobs: the threads of each profile */
    pthread_cond_t wake;   /* threads came free: a profile may start */
    hp_cost_model model;
    int total, free;       /* threads in all, and not held */
    running *run;          /* the profiles being digested */
    size_t nrun;
    uint64_t *sizes;       /* of every profile, in batch order */
    hp_sched_job *plan;
    int *start;
    size_t most_at_once;
} runner;

/* The scheduler's plan over the running profiles (their threads in
 * r->plan, in r->run's order) and the queue (r->start: the threads of the
 * ones that start now); returns how many start. With the runner's lock. */
static size_t replan(runner *r)
{
    for (size_t k = 0; k < r->nrun; k++)
        r->plan[k] = (hp_sched_job){.remaining = r->run[k].remaining, .threads = r->run[k].threads};
    size_t nstart;
    hp_sched_plan(&r->model, r->total, r->plan, r->nrun, r->sizes + r->next, r->b->n - r->next,
                  r->start, &nstart);
    return nstart;
}

/* The threads the next profile may start with now (0: wait): its share of
 * the plan, out of the threads free now. The running digests take their
 * shares at their next waves (on_grant), which frees threads for it. */
static int plan_start(runner *r)
{
    if (r->free <= 0 || r->next >= r->b->n || replan(r) == 0)
        return 0;
    return r->start[0] < r->free ? r->start[0] : r->free;
}

/* The callbacks a profile's digest makes, serialised with the runner's. */
typedef struct profile_ctx {
    runner *r;
    size_t index;
} profile_ctx;

/* Before each wave of a digest: its threads go back, and it takes its share
 * of a new plan over everything running and queued, out of those free (at
 * least one: its own). So threads that a finished profile freed reach the
 * running ones within a wave, and a digest whose share fell gives its
 * threads up as its wave drains. The grants never sum to more than the
 * batch's threads, nor do the digests' chunk buffers (digest_internal.h). */
static int on_grant(void *ctx, uint64_t remaining, int current)
{
    (void)current;
    profile_ctx *p = ctx;
    runner *r = p->r;
    pthread_mutex_lock(&r->lock);
    size_t me = 0;
    while (r->run[me].index != p->index)
        me++;
    r->run[me].remaining = remaining;
    r->free += r->run[me].threads;
    replan(r);
    int n = r->plan[me].threads < r->free ? r->plan[me].threads : r->free;
    r->run[me].threads = n;
    r->free -= n;
    if (r->free > 0) /* a queued profile may start on the rest */
        pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->lock);
    return n;
}

static void on_digest_progress(void *ctx, uint64_t done, uint64_t total)
{
    profile_ctx *p = ctx;
    const hp_batch_options *o = p->r->o;
    pthread_mutex_lock(&p->r->lock);
    o->on_progress(o->ctx, p->index, done, total);
    pthread_mutex_unlock(&p->r->lock);
}

static void on_digest_skip(void *ctx, const hp_skip *skip)
{
    profile_ctx *p = ctx;
    pthread_mutex_lock(&p->r->lock);
    p->r->make.on_skip(p->r->make.skip_ctx, skip);
    pthread_mutex_unlock(&p->r->lock);
}

void hp_batch_summary_add(hp_batch_summary *s, const hp_batch_result *r)
{
    if (r->status < 0) {
        s->failed++;
    } else if (r->status == HP_SKIPPED) {
        s->skipped++;
    } else if (r->status == HP_NOT_RUN) {
        s->not_run++;
    } else {
        s->digested++;
        s->digested_bytes += r->input_bytes;
        s->output_bytes += r->output_bytes;
        s->events += r->events;
    }
    s->input_bytes += r->input_bytes;
}

/* Takes a finished profile into the summary and tells the caller. */
static void account(runner *r, const hp_batch_result *res)
{
    const hp_batch_options *o = r->o;
    pthread_mutex_lock(&r->lock);
    r->finished++;
    hp_batch_summary_add(r->sum, res);
    if (res->status < 0) {
        if (!r->first_error)
            r->first_error = res->status;
        if (!o->keep_going)
            r->stop = 1;
    }
    if (o->on_result)
        o->on_result(o->ctx, res, r->finished, r->b->n);
    pthread_mutex_unlock(&r->lock);
}

/* Digests one profile of the batch, or skips it when it is up to date. */
static void run_one(runner *r, size_t i, int threads)
{
    const hp_batch_options *o = r->o;
    const item *it = &r->b->v[i];
    hp_batch_result res = {
        .index = i,
        .filebase = it->filebase,
        .status = HP_OK,
        .error = "",
        .input_bytes = it->bytes,
        .threads = threads,
    };
    char msg[1024] = "";
    hp_make_report rep; /* lives until the callback has seen it */
    double t0 = hp_clock();
    if (it->error) { /* found unusable when the batch was expanded */
        res.status = HP_EIO;
        res.error = it->error;
    } else if (o->skip_up_to_date &&
               hp_hpc_is_up_to_date(it->filebase, o->interval, o->precision, &r->make)) {
        res.status = HP_SKIPPED;
    } else {
        profile_ctx pc = {r, i};
        hp_make_options m = r->make;
        m.threads = threads;
        m.report = &rep;
        m.progress = o->on_progress ? on_digest_progress : NULL;
        m.progress_ctx = &pc;
        m.on_skip = r->make.on_skip ? on_digest_skip : NULL;
        m.skip_ctx = &pc;
        /* automatic: threads granted wave by wave; --jobs: a constant share */
        hp_digest_hooks hooks = {.max_threads = r->automatic ? r->total : threads,
                                 .grant = r->automatic ? on_grant : NULL,
                                 .grant_ctx = &pc};
        res.status = hp_digest_run(it->filebase, o->interval, o->precision, &m, &hooks);
        if (res.status < 0) {
            snprintf(msg, sizeof msg, "%s", hp_last_error());
            res.error = msg;
        } else {
            res.events = rep.events;
            res.snapshots = rep.snapshots;
            res.output_bytes = rep.output_bytes;
            res.threads = rep.threads;
            res.report = &rep;
        }
    }
    res.seconds = hp_clock() - t0;
    account(r, &res);
}

/* A worker: it takes the next profile when the plan lets one start (with
 * --jobs: whenever it is free), digests it, and gives its threads back. */
static void *worker(void *arg)
{
    runner *r = arg;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        if (r->stop || (r->make.cancel && *r->make.cancel) || r->next >= r->b->n)
            break;
        int threads = r->automatic ? plan_start(r) : r->per_job;
        if (threads <= 0) { /* nothing may start before threads come free */
            pthread_cond_wait(&r->wake, &r->lock);
            continue;
        }
        size_t i = r->next++;
        running *slot = &r->run[r->nrun++];
        *slot = (running){.index = i, .remaining = r->sizes[i], .threads = threads};
        r->free -= threads;
        r->most_at_once = r->nrun > r->most_at_once ? r->nrun : r->most_at_once;
        pthread_cond_broadcast(&r->wake); /* another may start on what is left */
        pthread_mutex_unlock(&r->lock);
        run_one(r, i, threads);
        pthread_mutex_lock(&r->lock);
        for (size_t k = 0; k < r->nrun; k++) /* its threads go back */
            if (r->run[k].index == i) {
                r->free += r->run[k].threads;
                r->run[k] = r->run[--r->nrun];
                break;
            }
        pthread_cond_broadcast(&r->wake);
    }
    pthread_cond_broadcast(&r->wake); /* the others see the end too */
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

int hp_batch_options_init(hp_batch_options *opts, unsigned version)
{
    if (version == 0 || version > HP_BATCH_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_batch_options version %u is not supported", version);
    *opts = (hp_batch_options)HP_BATCH_OPTIONS_INIT;
    return HP_OK;
}

static int check_options(const hp_batch *b, const hp_batch_options *o, const hp_make_options *m)
{
    if (o->version == 0 || o->version > HP_BATCH_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_batch_options version %u is not supported", o->version);
    if (m->version == 0 || m->version > HP_MAKE_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_make_options version %u is not supported", m->version);
    if (!isfinite(o->interval) || o->interval < HP_MIN_INTERVAL || o->interval > HP_MAX_INTERVAL ||
        !isfinite(o->precision) || o->precision < 0 || o->precision >= 1 || o->jobs < 0 ||
        o->jobs > HP_MAX_THREADS || m->threads < 0 || m->threads > HP_MAX_THREADS)
        return hp_fail(HP_EINVAL, "invalid batch options");
    if (m->output && b->n > 1)
        return hp_fail(HP_EINVAL, "an output path takes a batch of one profile, not %zu", b->n);
    return HP_OK;
}

static void runner_free(runner *r)
{
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->wake);
    free(r->run);
    free(r->sizes);
    free(r->plan);
    free(r->start);
}

int hp_batch_run(hp_batch *b, const hp_batch_options *o, hp_batch_summary *sum)
{
    static const hp_make_options default_make = HP_MAKE_OPTIONS_INIT;
    hp_batch_summary local;
    if (!sum)
        sum = &local;
    *sum = (hp_batch_summary){0};
    const hp_make_options *m = o->make ? o->make : &default_make;
    HP_TRY(check_options(b, o, m));
    hp_batch_sort(b);
    int total = hp_thread_count(m->threads), jobs, per;
    hp_batch_plan(b, total, o->jobs, &jobs, &per);
    size_t n = b->n ? b->n : 1;
    runner r = {.b = b, .o = o, .make = *m, .sum = sum, .automatic = o->jobs <= 0,
                .per_job = per, .total = total, .free = total,
                .run = calloc((size_t)total, sizeof *r.run), .sizes = batch_sizes(b),
                .plan = calloc((size_t)total, sizeof *r.plan), .start = calloc(n, sizeof *r.start)};
    hp_cost_model_default(&r.model);
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.wake, NULL);
    /* a worker per thread the profiles might need at once (each holds one at
     * least); the calling thread is one of them */
    int workers = r.automatic ? (total < (int)n ? total : (int)n) : jobs;
    pthread_t *tid = calloc((size_t)workers, sizeof *tid);
    if (!tid || !r.run || !r.sizes || !r.plan || !r.start) {
        free(tid);
        runner_free(&r);
        return hp_fail(HP_ENOMEM, "out of memory");
    }
    double t0 = hp_clock();
    int started = 0;
    for (; started < workers - 1; started++)
        if (pthread_create(&tid[started], NULL, worker, &r) != 0)
            break;
    worker(&r);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    free(tid);
    /* the profiles never started are told, and listed, too */
    for (size_t i = r.next; i < b->n; i++)
        account(&r, &(hp_batch_result){.index = i,
                                       .filebase = b->v[i].filebase,
                                       .status = HP_NOT_RUN,
                                       .error = "",
                                       .input_bytes = b->v[i].bytes});
    sum->jobs = r.automatic ? (int)r.most_at_once : jobs;
    sum->threads_per_job = r.automatic ? 0 : per;
    runner_free(&r);
    sum->seconds = hp_clock() - t0;
    if (m->cancel && *m->cancel && sum->not_run)
        return hp_fail(HP_ECANCELED, "batch cancelled");
    if (r.first_error)
        return hp_fail(r.first_error, "%zu of %zu profiles failed", sum->failed, b->n);
    return HP_OK;
}
