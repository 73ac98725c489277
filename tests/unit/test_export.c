/* export.c: every format on a crafted profile, byte for byte; the
 * collapsed lines against heapprof's own Reader.flameGraph() on the
 * fixtures; empty snapshots; errors that leave no output. */
#include "profile.pb-c.h"
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const T1[] = {"a.py:1", "b.py:2", NULL};
static const char *const T2[] = {"a.py:1", "c.py:3", NULL};
static const char *const T3[] = {"d \"q\",x.py:4", NULL};
static const char *const *const STACKS[] = {T1, T2, T3};

/* 100 ms snapshots 0..4; totals 0, 150, 450, 150, 450: the peak is 2. */
static const tu_ev EVENTS[] = {
    {50, 1, 100}, {60, 0, 50}, {150, 2, 300}, {250, 2, -300}, {350, 3, 300},
};

static void make(const char *fb)
{
    tu_craft_digest(fb, STACKS, 3, EVENTS, sizeof EVENTS / sizeof *EVENTS, 100);
}

/* Exports to f->out and returns the text. */
static char *export_text(tu_scratch *f, hp_export_format format, hp_at at)
{
    hp_export_options o = HP_EXPORT_OPTIONS_INIT;
    o.format = format;
    o.at = at;
    o.output = f->out;
    assert_int_equal(hp_export(f->fb, &o), HP_OK);
    char *t = tu_read_text(f->out);
    assert_non_null(t);
    return t;
}

static const hp_at PEAK = {.kind = HP_AT_PEAK};

static void collapsed_csv_json(void **state)
{
    tu_scratch *f = *state;
    make(f->fb);
    char *t = export_text(f, HP_EXPORT_COLLAPSED, PEAK);
    assert_string_equal(t, "a.py:1;c.py:3 300\n"
                           "a.py:1;b.py:2 100\n"
                           "OTHER 50\n");
    free(t);
    t = export_text(f, HP_EXPORT_CSV, PEAK);
    assert_string_equal(t, "trace,bytes,share,file,line,source\n"
                           "2,300,0.666667,c.py,3,\n"
                           "1,100,0.222222,b.py,2,\n"
                           "0,50,0.111111,,,\n");
    free(t);
    t = export_text(f, HP_EXPORT_CSV, (hp_at){.kind = HP_AT_LAST});
    assert_string_equal(t, "trace,bytes,share,file,line,source\n"
                           "3,300,0.666667,\"d \"\"q\"\",x.py\",4,\n"
                           "1,100,0.222222,b.py,2,\n"
                           "0,50,0.111111,,,\n");
    free(t);
    t = export_text(f, HP_EXPORT_JSON, PEAK);
    char want[1024];
    snprintf(want, sizeof want,
             "{\"filebase\": \"%s\", \"snapshot\": 2, \"relative_time\": 0.2, "
             "\"time_nanos\": 1795000000700000000, \"total\": 450, \"entries\": [\n"
             "  {\"trace\": 2, \"bytes\": 300, \"share\": 0.666667, \"file\": \"c.py\", \"line\": 3, \"source\": \"\"},\n"
             "  {\"trace\": 1, \"bytes\": 100, \"share\": 0.222222, \"file\": \"b.py\", \"line\": 2, \"source\": \"\"},\n"
             "  {\"trace\": 0, \"bytes\": 50, \"share\": 0.111111, \"file\": null, \"line\": null, \"source\": null}\n"
             "]}\n",
             f->fb);
    assert_string_equal(t, want);
    free(t);
}

static void speedscope(void **state)
{
    tu_scratch *f = *state;
    make(f->fb);
    hp_export_options o = HP_EXPORT_OPTIONS_INIT;
    hp_export_info info;
    o.format = HP_EXPORT_SPEEDSCOPE;
    o.series = 1;
    o.from = (hp_at){.kind = HP_AT_TIME, .seconds = 0.1};
    o.to = (hp_at){.kind = HP_AT_LAST};
    o.every = 2;
    o.output = f->out;
    o.info = &info;
    assert_int_equal(hp_export(f->fb, &o), HP_OK);
    assert_int_equal(info.snapshot, 1);
    assert_int_equal(info.snapshots, 2); /* 1 and 3 */
    char *t = tu_read_text(f->out);
    char want[2048];
    snprintf(want, sizeof want,
             "{\"$schema\": \"https://www.speedscope.app/file-format-schema.json\",\n"
             " \"exporter\": \"heapprof-c %s\",\n"
             " \"name\": \"%s\",\n"
             " \"activeProfileIndex\": 0,\n"
             " \"shared\": {\"frames\": [\n"
             "  {\"name\": \"a.py:1\", \"file\": \"a.py\", \"line\": 1},\n"
             "  {\"name\": \"b.py:2\", \"file\": \"b.py\", \"line\": 2},\n"
             "  {\"name\": \"OTHER\"}]},\n"
             " \"profiles\": [\n"
             "  {\"type\": \"sampled\", \"name\": \"snapshot 1 at 0.1 s\", \"unit\": \"bytes\", "
             "\"startValue\": 0, \"endValue\": 150,\n"
             "   \"samples\": [[0,1], [2]],\n"
             "   \"weights\": [100, 50]},\n"
             "  {\"type\": \"sampled\", \"name\": \"snapshot 3 at 0.3 s\", \"unit\": \"bytes\", "
             "\"startValue\": 0, \"endValue\": 150,\n"
             "   \"samples\": [[0,1], [2]],\n"
             "   \"weights\": [100, 50]}\n"
             " ]}\n",
             hp_version(), f->fb);
    assert_string_equal(t, want);
    free(t);
    /* one snapshot, with a stack per trace */
    t = export_text(f, HP_EXPORT_SPEEDSCOPE, (hp_at){.kind = HP_AT_LAST});
    assert_non_null(strstr(t, "{\"name\": \"d \\\"q\\\",x.py:4\", \"file\": \"d \\\"q\\\",x.py\", \"line\": 4}"));
    assert_non_null(strstr(t, "\"samples\": [[2], [0,1], [3]],\n   \"weights\": [300, 100, 50]}"));
    free(t);
}

static void pprof(void **state)
{
    tu_scratch *f = *state;
    make(f->fb);
    free(export_text(f, HP_EXPORT_PPROF, PEAK));
    Perftools__Profiles__Profile *p = tu_read_pprof(f->out);
    assert_int_equal(p->time_nanos, 1795000000700000000ll); /* start + 0.2 s */
    assert_int_equal(p->n_sample, 3);
    const int64_t values[] = {300, 100, 50};
    const char *leaf[] = {"c.py:3", "b.py:2", "OTHER"};
    for (size_t i = 0; i < 3; i++) {
        Perftools__Profiles__Sample *s = p->sample[i];
        assert_int_equal(s->n_value, 1);
        assert_int_equal(s->value[0], values[i]);
        assert_int_equal(s->n_location_id, i < 2 ? 2 : 1);
        Perftools__Profiles__Location *loc = p->location[s->location_id[0] - 1];
        Perftools__Profiles__Function *fn = p->function[loc->line[0]->function_id - 1];
        assert_string_equal(p->string_table[fn->name], leaf[i]);
        if (i < 2) { /* the outermost frame last */
            loc = p->location[s->location_id[1] - 1];
            fn = p->function[loc->line[0]->function_id - 1];
            assert_string_equal(p->string_table[fn->name], "a.py:1");
            assert_string_equal(p->string_table[fn->filename], "a.py");
            assert_int_equal(loc->line[0]->line, 1);
        }
    }
    perftools__profiles__profile__free_unpacked(p, NULL);
}

/* Snapshot 0 holds nothing: every format is valid and empty. */
static void empty_snapshot(void **state)
{
    tu_scratch *f = *state;
    make(f->fb);
    hp_at zero = {.kind = HP_AT_TIME, .seconds = 0};
    char *t = export_text(f, HP_EXPORT_COLLAPSED, zero);
    assert_string_equal(t, "");
    free(t);
    t = export_text(f, HP_EXPORT_CSV, zero);
    assert_string_equal(t, "trace,bytes,share,file,line,source\n");
    free(t);
    t = export_text(f, HP_EXPORT_JSON, zero);
    assert_non_null(strstr(t, "\"total\": 0, \"entries\": []}\n"));
    free(t);
    t = export_text(f, HP_EXPORT_SPEEDSCOPE, zero);
    assert_non_null(strstr(t, "\"frames\": []},"));
    assert_non_null(strstr(t, "\"endValue\": 0,\n   \"samples\": [],\n   \"weights\": []}"));
    free(t);
    free(export_text(f, HP_EXPORT_PPROF, zero));
    Perftools__Profiles__Profile *p = tu_read_pprof(f->out);
    assert_int_equal(p->n_sample, 0);
    perftools__profiles__profile__free_unpacked(p, NULL);
}

/* The same input and options give the same bytes, to a file or a stream;
 * without -o, FILEBASE.EXTENSION. */
static void deterministic(void **state)
{
    tu_scratch *f = *state;
    make(f->fb);
    for (int fmt = HP_EXPORT_PPROF; fmt <= HP_EXPORT_CSV; fmt++) {
        hp_export_options o = HP_EXPORT_OPTIONS_INIT;
        o.format = (hp_export_format)fmt;
        assert_int_equal(hp_export(f->fb, &o), HP_OK);
        char *path = tu_path(f->dir, "p.%s", hp_export_extension(o.format));
        size_t n1, n2;
        uint8_t *a = tu_read_file(path, &n1);
        assert_non_null(a);
        char *buf = NULL;
        size_t blen = 0;
        FILE *mem = open_memstream(&buf, &blen);
        o.stream = mem;
        o.output = "ignored/when/a/stream";
        assert_int_equal(hp_export(f->fb, &o), HP_OK);
        fclose(mem);
        assert_int_equal(blen, n1);
        assert_memory_equal(buf, a, n1);
        o.stream = NULL;
        o.output = f->out;
        assert_int_equal(hp_export(f->fb, &o), HP_OK);
        uint8_t *b = tu_read_file(f->out, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(a, b, n1);
        free(a);
        free(b);
        free(buf);
        free(path);
    }
    hp_export_format fmt;
    assert_int_equal(hp_export_format_parse("speedscope", &fmt), HP_OK);
    assert_int_equal(fmt, HP_EXPORT_SPEEDSCOPE);
    assert_string_equal(hp_export_format_name(HP_EXPORT_CSV), "csv");
    assert_int_equal(hp_export_format_parse("svg", &fmt), HP_EINVAL);
    assert_null(hp_export_format_name((hp_export_format)99));
    hp_export_options o;
    assert_int_equal(hp_export_options_init(&o, HP_EXPORT_OPTIONS_VERSION), HP_OK);
    assert_int_equal(o.format, HP_EXPORT_PPROF);
    assert_int_equal(o.at.kind, HP_AT_PEAK);
    assert_int_equal(hp_export_options_init(&o, 99), HP_EINVAL);
}

/* Errors: one line naming the file, and no output at all. */
static void errors(void **state)
{
    tu_scratch *f = *state;
    make(f->fb);
    hp_export_options o = HP_EXPORT_OPTIONS_INIT;
    o.output = f->out;
    o.at = (hp_at){.kind = HP_AT_TIME, .seconds = 0.5};
    assert_int_equal(hp_export(f->fb, &o), HP_ERANGE);
    assert_non_null(strstr(hp_last_error(), "p.hpc: no snapshot at 0.5 s"));
    o.at = PEAK;
    o.series = 1; /* only speedscope has series */
    assert_int_equal(hp_export(f->fb, &o), HP_EINVAL);
    o.format = HP_EXPORT_SPEEDSCOPE;
    o.from = (hp_at){.kind = HP_AT_LAST};
    o.to = (hp_at){.kind = HP_AT_TIME, .seconds = 0};
    assert_int_equal(hp_export(f->fb, &o), HP_EINVAL);
    assert_non_null(strstr(hp_last_error(), "after its end"));
    o.series = 0;
    o.version = 7;
    assert_int_equal(hp_export(f->fb, &o), HP_EINVAL);
    o.version = HP_EXPORT_OPTIONS_VERSION;
    assert_int_equal(access(f->out, F_OK), -1);

    /* the .hpm of another profile: fewer traces than the digest names */
    static const char *const *const one[] = {T1};
    tu_craft(f->fb, one, 1, NULL, 0);
    for (int fmt = HP_EXPORT_PPROF; fmt <= HP_EXPORT_CSV; fmt++) {
        o.format = (hp_export_format)fmt;
        assert_int_equal(hp_export(f->fb, &o), HP_ERANGE);
        assert_non_null(strstr(hp_last_error(), "p.hpc: trace 2 is not in "));
        assert_non_null(strstr(hp_last_error(), "p.hpm, which has 1 traces"));
    }
    o.stream = stdout; /* nothing written to a stream either */
    assert_int_equal(hp_export(f->fb, &o), HP_ERANGE);
    o.stream = NULL;
    assert_int_equal(access(f->out, F_OK), -1);

    /* a damaged digest: a v1 file whose last snapshot lost its magic (the
     * peak reads them all), then one cut short, then junk */
    make(f->fb);
    char *hpc = tu_path(f->dir, "p.hpc");
    hp_make_options mo = HP_MAKE_OPTIONS_INIT;
    mo.format = HP_FORMAT_V1;
    assert_int_equal(hp_hpc_make_ex(f->fb, 0.1, 0, &mo), HP_OK);
    size_t n;
    uint8_t *d = tu_read_file(hpc, &n);
    uint8_t *magic = memmem(d + 29, n - 29, "\x53\x79\xa0\xbd", 4), *last = NULL;
    for (; magic; magic = memmem(magic + 1, n - (size_t)(magic + 1 - d), "\x53\x79\xa0\xbd", 4))
        last = magic;
    assert_non_null(last);
    last[0] ^= 0xff;
    tu_write_file(hpc, d, n);
    for (int fmt = HP_EXPORT_PPROF; fmt <= HP_EXPORT_CSV; fmt++) {
        o.format = (hp_export_format)fmt;
        assert_int_equal(hp_export(f->fb, &o), HP_EFORMAT);
        assert_non_null(strstr(hp_last_error(), "p.hpc: offset "));
        assert_non_null(strstr(hp_last_error(), "bad snapshot magic"));
    }
    last[0] ^= 0xff;
    tu_write_file(hpc, d, n - 3);
    free(d);
    assert_true(hp_export(f->fb, &o) < 0);
    assert_non_null(strstr(hp_last_error(), "p.hpc"));
    tu_write_file(hpc, "junk", 4);
    assert_true(hp_export(f->fb, &o) < 0);
    assert_non_null(strstr(hp_last_error(), "p.hpc"));
    free(hpc);
    assert_int_equal(access(f->out, F_OK), -1);
    assert_int_equal(hp_export("/nonexistent/p", &o), HP_EIO);
}

/* ---- against heapprof's Reader.flameGraph() ----------------------------------- */

typedef struct misread {
    size_t entry;
    uint32_t trace;
    int64_t heapprof, stored;
    int used;
} misread;

/* The entries heapprof misreads in snapshot k of digest "F/D". */
static size_t load_misread(const char *digest, size_t k, misread *out, size_t cap)
{
    char *path = tu_path(tu_data_dir(), "expected/misread.tsv");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512], name[128];
    size_t n = 0, snap, entry;
    unsigned trace;
    long long h, s;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%127s %zu %zu %u %lld %lld", name, &snap, &entry, &trace, &h, &s) == 6 &&
            !strcmp(name, digest) && snap == k) {
            assert_true(n < cap);
            out[n++] = (misread){entry, trace, h, s, 0};
        }
    fclose(f);
    free(path);
    return n;
}

/* Splits text into lines (in place); returns the count. */
static size_t split(char *t, char **lines, size_t cap)
{
    size_t n = 0;
    for (char *p = t; *p;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl); /* every line ends in \n */
        *nl = '\0';
        assert_true(n < cap);
        lines[n++] = p;
        p = nl + 1;
    }
    return n;
}

/* Our lines equal heapprof's, but where heapprof misread an entry: there
 * the stack is equal and the size is the stored one. */
static void compare_flame(const char *digest, size_t k, char *ours, char *theirs)
{
    static char *a[4096], *b[4096];
    static misread m[4096];
    size_t na = split(ours, a, 4096), nb = split(theirs, b, 4096);
    size_t nm = load_misread(digest, k, m, 4096);
    int64_t other_h = 0, other_s = 0;
    for (size_t i = 0; i < nm; i++)
        if (m[i].trace == 0) {
            other_h += m[i].heapprof;
            other_s += m[i].stored;
            m[i].used = 1;
        }
    if (nm && other_h <= 0 && other_s > 0) /* heapprof then writes no OTHER line */
        nb++, b[nb - 1] = NULL;
    assert_int_equal(na, nb);
    size_t next = 0;
    for (size_t i = 0; i < na; i++) {
        if (b[i] && !strcmp(a[i], b[i]))
            continue;
        assert_true(nm > 0); /* only a misread explains a difference */
        char *sa = strrchr(a[i], ' ');
        long long va = strtoll(sa + 1, NULL, 10);
        if (!strncmp(a[i], "OTHER ", 6)) {
            assert_int_equal(va, other_s);
            if (b[i])
                assert_int_equal(strtoll(strrchr(b[i], ' ') + 1, NULL, 10), other_h);
            continue;
        }
        char *sb = strrchr(b[i], ' ');
        assert_int_equal(sa - a[i], sb - b[i]);
        assert_memory_equal(a[i], b[i], (size_t)(sa - a[i])); /* the same stack */
        long long vb = strtoll(sb + 1, NULL, 10);
        while (next < nm && (m[next].used || m[next].heapprof != vb || m[next].stored != va))
            next++;
        assert_true(next < nm);
        m[next++].used = 1;
    }
    for (size_t i = 0; i < nm; i++)
        assert_true(m[i].used); /* every misread entry was seen */
}

static char *expected_lines(const char *dir, const char *name)
{
    char *p = tu_path(dir, "%s", name);
    size_t n;
    uint8_t *raw = tu_read_file(p, &n);
    assert_non_null(raw);
    free(p);
    size_t len = strlen(name);
    if (len > 3 && !strcmp(name + len - 3, ".gz")) {
        size_t m;
        uint8_t *text = tu_gunzip(raw, n, &m);
        free(raw);
        text = realloc(text, m + 1);
        text[m] = '\0';
        return (char *)text;
    }
    return (char *)raw;
}

static void collapsed_as_heapprof(void **state)
{
    tu_scratch *f = *state;
    const char *fixtures[] = {"tiny", "small-a"};
    size_t files = 0;
    for (size_t fi = 0; fi < 2; fi++) {
        char *exp = tu_path(tu_data_dir(), "expected/%s", fixtures[fi]);
        DIR *dir = opendir(exp);
        assert_non_null(dir);
        struct dirent *de;
        while ((de = readdir(dir))) {
            if (de->d_name[0] == '.')
                continue;
            const char *d = de->d_name; /* heapprof.i100.p0, ours.i1000.p0_01 ... */
            char *hpc = !strncmp(d, "ours.", 5)
                            ? tu_path(tu_data_dir(), "expected/digests/%s.%s.hpc", fixtures[fi], d)
                            : tu_path(tu_data_dir(), "%s.%s.hpc", fixtures[fi], d);
            char *hpm = tu_path(tu_data_dir(), "%s.hpm", fixtures[fi]);
            char *fb = tu_path(f->dir, "%s", fixtures[fi]);
            char *lhpc = tu_path(f->dir, "%s.hpc", fixtures[fi]), *lhpm = tu_path(f->dir, "%s.hpm", fixtures[fi]);
            char *abs_hpc = realpath(hpc, NULL), *abs_hpm = realpath(hpm, NULL);
            unlink(lhpc);
            unlink(lhpm);
            assert_int_equal(symlink(abs_hpc, lhpc), 0);
            assert_int_equal(symlink(abs_hpm, lhpm), 0);
            double interval = atoi(strchr(d, 'i') + 1) / 1000.0;
            char *sub = tu_path(exp, "%s", d);
            DIR *dd = opendir(sub);
            assert_non_null(dd);
            struct dirent *fe;
            while ((fe = readdir(dd))) {
                size_t k;
                if (sscanf(fe->d_name, "flame.s%zu.txt", &k) != 1)
                    continue;
                hp_export_options o = HP_EXPORT_OPTIONS_INIT;
                o.format = HP_EXPORT_COLLAPSED;
                o.at = (hp_at){.kind = HP_AT_TIME, .seconds = (double)k * interval};
                o.output = f->out;
                assert_int_equal(hp_export(fb, &o), HP_OK);
                char *ours = tu_read_text(f->out), *theirs = expected_lines(sub, fe->d_name);
                char digest[512];
                snprintf(digest, sizeof digest, "%s/%s", fixtures[fi], d);
                compare_flame(digest, k, ours, theirs);
                free(ours);
                free(theirs);
                files++;
            }
            closedir(dd);
            free(sub);
            free(abs_hpc);
            free(abs_hpm);
            free(lhpc);
            free(lhpm);
            free(fb);
            free(hpm);
            free(hpc);
        }
        closedir(dir);
        free(exp);
    }
    assert_int_equal(files, 32); /* every flame file of the expected outputs */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(collapsed_csv_json, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(speedscope, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(pprof, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(empty_snapshot, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(deterministic, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(errors, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(collapsed_as_heapprof, tu_scratch_setup, tu_scratch_teardown),
    };
    return cmocka_run_group_tests_name("export", tests, NULL, NULL);
}
