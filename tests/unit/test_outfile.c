/* outfile.c (and hp_output): whatever happens during a digest, the previous
 * .hpc stays intact and no stray file is left; no input is ever written
 * over; links, devices, FIFOs, permissions and long names. */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

static const char OLD[] = "the previous digest";

typedef struct fx {
    char *dir, *fb, *hpc;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    f->fb = tu_path(f->dir, "p");
    f->hpc = tu_path(f->dir, "p.hpc");
    tu_generate(f->fb, 300000, 500, 30, 7, NULL);
    tu_write_file(f->hpc, OLD, sizeof OLD);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tu_rmdir(f->dir);
    free(f->dir);
    free(f->fb);
    free(f->hpc);
    free(f);
    return 0;
}

static void assert_untouched(const fx *f)
{
    size_t n;
    uint8_t *data = tu_read_file(f->hpc, &n);
    assert_non_null(data);
    assert_int_equal(n, sizeof OLD);
    assert_memory_equal(data, OLD, n);
    free(data);
    assert_int_equal(tu_count_entries(f->dir), 3); /* .hpm, .hpd, .hpc */
}

static int waves;

static void kill_self(void *ctx, uint64_t done, uint64_t total)
{
    (void)ctx;
    (void)total;
    if (done > 0 && ++waves == 2)
        raise(SIGKILL);
}

static hp_make_options small_chunks(void)
{
    hp_make_options o;
    hp_make_options_init(&o, HP_MAKE_OPTIONS_VERSION);
    o.threads = 2;
    o.chunk_bytes = 4096; /* many waves, so there is a middle to stop in */
    return o;
}

static void sigkill_midway(void **state)
{
    fx *f = *state;
    for (int fmt = 0; fmt < 2; fmt++) {
        pid_t pid = fork();
        if (pid == 0) {
            hp_make_options o = small_chunks();
            o.format = fmt ? HP_FORMAT_V1 : HP_FORMAT_V2;
            o.progress = kill_self;
            hp_hpc_make_ex(f->fb, 0.01, 0.01, &o);
            _exit(0); /* not reached: killed in the second wave */
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_untouched(f);
    }
}

/* What the progress callback raises: the digest's cancel flag. */
typedef struct cancel_ctx {
    volatile int *flag;
} cancel_ctx;

static void set_cancel(void *ctx, uint64_t done, uint64_t total)
{
    (void)total;
    if (done > 0)
        *((cancel_ctx *)ctx)->flag = 1;
}

static void cancel_flag(void **state)
{
    fx *f = *state;
    volatile int cancel = 0;
    cancel_ctx cc = {&cancel};
    hp_make_options o = small_chunks();
    o.progress = set_cancel;
    o.progress_ctx = &cc;
    o.cancel = &cancel;
    assert_int_equal(hp_hpc_make_ex(f->fb, 0.01, 0.01, &o), HP_ECANCELED);
    assert_non_null(strstr(hp_last_error(), "cancelled"));
    assert_untouched(f);
}

static void file_size_limit(void **state)
{
    fx *f = *state;
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {20000, 20000};
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &rl);
        hp_make_options o = small_chunks();
        o.format = HP_FORMAT_V1;
        int rc = hp_hpc_make_ex(f->fb, 0.01, 0, &o);
        _exit(rc == HP_EIO && strstr(hp_last_error(), "p.hpc: write failed") ? 42 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 42);
    assert_untouched(f);
}

static void unwritable_destination(void **state)
{
    fx *f = *state;
    hp_make_options o = small_chunks();
    o.output = "/nonexistent-folder/x.hpc";
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0, &o), HP_EIO);
    assert_non_null(strstr(hp_last_error(), "/nonexistent-folder/x.hpc: cannot create"));
    o.output = "/proc/x.hpc";
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0, &o), HP_EIO);
    assert_non_null(strstr(hp_last_error(), "/proc/x.hpc"));
    assert_untouched(f);
}

static void replaces_existing(void **state)
{
    fx *f = *state;
    hp_make_options o = small_chunks();
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0.01, &o), HP_OK);
    assert_int_equal(tu_count_entries(f->dir), 3);
    hp_hpc *hpc;
    assert_int_equal(hp_hpc_open(&hpc, f->fb), HP_OK);
    assert_int_equal(hp_hpc_length(hpc), 31); /* about 30 s of profile */
    hp_hpc_close(hpc);
}

/* An output that is one of its inputs, by any name, is refused before
 * anything is written: the input is intact. */
static void never_overwrites_inputs(void **state)
{
    fx *f = *state;
    char *hpd = tu_path(f->dir, "p.hpd"), *hpm = tu_path(f->dir, "p.hpm"),
         *hard = tu_path(f->dir, "hard.hpc");
    size_t before, after;
    uint8_t *old = tu_read_file(hpd, &before);
    assert_int_equal(link(hpd, hard), 0);
    const char *targets[] = {hpd, hpm, hard};
    for (size_t i = 0; i < 3; i++) {
        hp_make_options o = small_chunks();
        o.output = targets[i];
        assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0, &o), HP_EINVAL);
        assert_non_null(strstr(hp_last_error(), "refusing to write over"));
    }
    uint8_t *now = tu_read_file(hpd, &after);
    assert_int_equal(after, before);
    assert_memory_equal(now, old, before);
    unlink(hard);
    assert_untouched(f);
    free(old), free(now), free(hpd), free(hpm), free(hard);
}

static void *drain(void *path)
{
    FILE *fp = fopen(path, "rb");
    size_t n = 0, r;
    char buf[4096];
    while (fp && (r = fread(buf, 1, sizeof buf, fp)) > 0)
        n += r;
    if (fp)
        fclose(fp);
    return (void *)(uintptr_t)n;
}

/* Where the target is not a regular file: a link is followed (the file it
 * names is replaced, the link stays), a character device or a FIFO is
 * written through, a folder is refused. */
static void special_targets(void **state)
{
    fx *f = *state;
    hp_make_options o = small_chunks();
    o.output = "/dev/null";
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0, &o), HP_OK);
    struct stat st;
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));

    char *real = tu_path(f->dir, "real.hpc"), *link = tu_path(f->dir, "link.hpc");
    tu_write_file(real, "x", 1);
    assert_int_equal(symlink("real.hpc", link), 0);
    o.output = link;
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0, &o), HP_OK);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    hp_hpc *hpc;
    assert_int_equal(hp_hpc_open_path(&hpc, real), HP_OK);
    hp_hpc_close(hpc);

    char *fifo = tu_path(f->dir, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    o.output = fifo;
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0, &o), HP_EIO);
    assert_non_null(strstr(hp_last_error(), "a FIFO with no reader"));
    pthread_t reader;
    assert_int_equal(pthread_create(&reader, NULL, drain, fifo), 0);
    int rc;
    for (int tries = 0; (rc = hp_hpc_make_ex(f->fb, 1, 0, &o)) == HP_EIO && tries < 100; tries++)
        usleep(10000); /* until the reader has opened its end */
    assert_int_equal(rc, HP_OK);
    void *got;
    pthread_join(reader, &got);
    assert_true((uintptr_t)got > 100);

    o.output = f->dir;
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0, &o), HP_EIO);
    assert_non_null(strstr(hp_last_error(), "is a directory"));
    unlink(link), unlink(real), unlink(fifo);
    assert_untouched(f);
    free(real), free(link), free(fifo);
}

/* A replaced file keeps its permissions; a new one is no more open than
 * its input (nor than the umask). */
static void permissions(void **state)
{
    fx *f = *state;
    hp_make_options o = small_chunks();
    assert_int_equal(chmod(f->hpc, 0600), 0);
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0, &o), HP_OK);
    struct stat st;
    assert_int_equal(stat(f->hpc, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *hpd = tu_path(f->dir, "p.hpd"), *fresh = tu_path(f->dir, "fresh.hpc");
    assert_int_equal(chmod(hpd, 0640), 0);
    mode_t old = umask(022);
    o.output = fresh;
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0, &o), HP_OK);
    umask(old);
    assert_int_equal(stat(fresh, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640 & 0644 & 0666);
    unlink(fresh);
    free(hpd), free(fresh);
}

/* A target name of 255 bytes (the most a name may have) works: the
 * temporary's name does not grow with it. */
static void longest_name(void **state)
{
    fx *f = *state;
    char name[256];
    memset(name, 'n', 251);
    memcpy(name + 251, ".hpc", 5);
    char *path = tu_path(f->dir, "%s", name);
    hp_make_options o = small_chunks();
    o.output = path;
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0, &o), HP_OK);
    hp_hpc *hpc;
    assert_int_equal(hp_hpc_open_path(&hpc, path), HP_OK);
    hp_hpc_close(hpc);
    unlink(path);
    free(path);
}

/* hp_output: nothing is visible until the commit; an abort leaves the old
 * file; a write error (a full device) is an error. */
static void output_api(void **state)
{
    fx *f = *state;
    char *path = tu_path(f->dir, "r.json");
    tu_write_file(path, "old", 3);
    hp_output *o;
    assert_int_equal(hp_output_open(&o, path), HP_OK);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(hp_output_write(o, "line of the report\n", 19), HP_OK);
    size_t n;
    uint8_t *data = tu_read_file(path, &n);
    assert_int_equal(n, 3); /* not yet */
    free(data);
    assert_int_equal(hp_output_commit(o), HP_OK);
    data = tu_read_file(path, &n);
    assert_int_equal(n, 190000);
    free(data);
    assert_int_equal(hp_output_open(&o, path), HP_OK);
    assert_int_equal(hp_output_write(o, "x", 1), HP_OK);
    hp_output_abort(o);
    data = tu_read_file(path, &n);
    assert_int_equal(n, 190000);
    free(data);
    assert_int_equal(hp_output_open(&o, "/dev/full"), HP_OK);
    assert_int_equal(hp_output_write(o, "x", 1), HP_OK);
    assert_int_equal(hp_output_commit(o), HP_EIO);
    assert_non_null(strstr(hp_last_error(), "/dev/full: write failed"));
    assert_int_equal(hp_output_open(&o, f->dir), HP_EIO);
    unlink(path);
    free(path);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    /* The forking tests come first: libgomp's thread pool does not survive
     * fork(), so a child must not run OpenMP once its parent has. */
    const struct CMUnitTest tests[] = {
        T(sigkill_midway), T(file_size_limit), T(cancel_flag), T(unwritable_destination),
        T(replaces_existing), T(never_overwrites_inputs), T(special_targets), T(permissions),
        T(longest_name), T(output_api),
    };
    return cmocka_run_group_tests_name("outfile", tests, NULL, NULL);
}
