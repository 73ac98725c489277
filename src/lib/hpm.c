/* hpm.c - the .hpm reader: header, sampling ranges and stack traces.
 *
 * Real .hpm files reach gigabytes (millions of traces, tens of millions of
 * frames) with only a few thousand distinct file names. So the file is
 * mapped, traces are parsed on demand in file order, file names are interned
 * and a frame is two 32-bit numbers. */
#include "bytes.h"
#include "error.h"
#include "grow.h"
#include "hpm_internal.h"
#include "mapfile.h"
#include "sniff.h"
#include "paths.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HPM_VERSION 1
#define HPM_FIXED_HEADER 20 /* version + seconds + nanoseconds */

/* The lines of one source file, read on first use by hp_hpm_trace(). */
typedef struct source_file {
    int loaded;
    char *text;
    char **lines;
    size_t nlines;
} source_file;

struct hp_hpm {
    hp_map map;
    uint64_t sec, nsec;
    hp_range ranges[HP_MAX_RANGES];
    size_t nranges;
    hp_scale scale;
    size_t traces_off; /* where the first trace starts */

    int counted;
    uint32_t ntraces;

    /* Parsed traces: trace k (from 1) is frames[start[k-1] .. start[k]). */
    size_t parse_off;
    size_t released;      /* mapped pages before this were given back */
    int parse_done;
    uint32_t loaded;
    uint64_t *start;
    size_t start_cap;
    hp_frame *frames;
    size_t nframes, frames_cap;

    /* Interned file names: open addressing over ids, id = index in names. */
    char **names;
    uint32_t nnames, names_cap;
    uint32_t *slots; /* id + 1, 0 = empty */
    uint32_t nslots;

    source_file *sources;       /* per file id, sources_n of them */
    size_t sources_n;
    hp_source_frame **with_src; /* per trace index, with_src_n of them */
    size_t with_src_n;
};

/* ---- header -------------------------------------------------------------- */

static int cmp_range(const void *a, const void *b)
{
    const hp_range *x = a, *y = b;
    return x->max_bytes < y->max_bytes ? -1 : x->max_bytes > y->max_bytes;
}

static int parse_header(hp_hpm *hpm)
{
    const uint8_t *d = hpm->map.data, *end = d + hpm->map.size;
    const char *path = hpm->map.path;
    if (hpm->map.size < 4)
        return hp_fail(HP_EFORMAT, "%s: offset 0: truncated header (file is %zu bytes)", path,
                       hpm->map.size);
    uint32_t version = hp_be32(d);
    const char *kind = version != HPM_VERSION ? hp_sniff(d, hpm->map.size) : NULL;
    if (kind)
        return hp_fail(HP_EVERSION, "%s: offset 0: not an .hpm: this is %s", path, kind);
    if (version != HPM_VERSION)
        return hp_fail(HP_EVERSION, "%s: offset 0: unsupported .hpm version %u (expected 1)", path,
                       version);
    if (hpm->map.size < HPM_FIXED_HEADER)
        return hp_fail(HP_EFORMAT, "%s: offset %zu: truncated header", path, hpm->map.size);
    hpm->sec = hp_be64(d + 4);
    hpm->nsec = hp_be64(d + 12);

    const uint8_t *p = d + HPM_FIXED_HEADER;
    uint64_t n;
    int len = hp_varint_decode(p, end, &n);
    if (len <= 0)
        return hp_fail(HP_EFORMAT, "%s: offset %td: %s range count", path, p - d,
                       len == 0 ? "truncated" : "over-long varint in");
    p += len;
    if (n > HP_MAX_RANGES)
        return hp_fail(HP_ELIMIT, "%s: offset %d: %llu sampling ranges (at most %d supported)", path,
                       HPM_FIXED_HEADER, (unsigned long long)n, HP_MAX_RANGES);
    if ((size_t)(end - p) < n * 12)
        return hp_fail(HP_EFORMAT, "%s: offset %td: truncated sampling ranges", path, p - d);
    for (size_t i = 0; i < n; i++, p += 12) {
        hp_range *r = &hpm->ranges[i];
        r->max_bytes = hp_be64(p);
        r->raw_probability = hp_be32(p + 8);
        r->probability = r->raw_probability / 4294967295.0;
    }
    hpm->nranges = (size_t)n;
    qsort(hpm->ranges, hpm->nranges, sizeof *hpm->ranges, cmp_range);
    for (size_t i = 1; i < hpm->nranges; i++)
        if (hpm->ranges[i].max_bytes == hpm->ranges[i - 1].max_bytes)
            return hp_fail(HP_EFORMAT, "%s: offset %d: duplicate sampling range max_bytes %llu",
                           path, HPM_FIXED_HEADER,
                           (unsigned long long)hpm->ranges[i].max_bytes);
    hpm->traces_off = (size_t)(p - d);
    hpm->parse_off = hpm->traces_off;
    return HP_OK;
}

static void build_scale(hp_hpm *hpm, int override)
{
    hpm->scale.n = override ? 0 : hpm->nranges;
    for (size_t i = 0; i < hpm->scale.n; i++) {
        double pr = hpm->ranges[i].probability;
        hpm->scale.max_bytes[i] = hpm->ranges[i].max_bytes;
        hpm->scale.factor[i] = pr == 0.0 ? 0.0 : 1.0 / pr;
    }
    hp_scale_build_table(&hpm->scale);
}

int hp_hpm_open(hp_hpm **out, const char *filebase)
{
    *out = NULL;
    char *path = hp_path_join(filebase, ".hpm");
    if (!path)
        return hp_fail(HP_ENOMEM, "out of memory");
    hp_hpm *hpm = calloc(1, sizeof *hpm);
    if (!hpm) {
        free(path);
        return hp_fail(HP_ENOMEM, "out of memory");
    }
    int rc = hp_map_open(&hpm->map, path);
    free(path);
    if (rc == HP_OK)
        rc = parse_header(hpm);
    if (rc < 0) {
        hp_hpm_close(hpm);
        return rc;
    }
    build_scale(hpm, 0);
    *out = hpm;
    return HP_OK;
}

void hp_hpm_close(hp_hpm *hpm)
{
    if (!hpm)
        return;
    for (uint32_t i = 0; i < hpm->nnames; i++)
        free(hpm->names[i]);
    for (size_t i = 0; i < hpm->sources_n; i++) {
        free(hpm->sources[i].text);
        free(hpm->sources[i].lines);
    }
    for (size_t i = 0; i < hpm->with_src_n; i++)
        free(hpm->with_src[i]);
    free(hpm->with_src);
    free(hpm->sources);
    free(hpm->names);
    free(hpm->slots);
    free(hpm->frames);
    free(hpm->start);
    hp_map_close(&hpm->map);
    free(hpm);
}

double hp_hpm_initial_time(const hp_hpm *hpm) { return (double)hpm->sec + (double)hpm->nsec * 1e-9; }

void hp_hpm_initial_timespec(const hp_hpm *hpm, uint64_t *sec, uint64_t *nsec)
{
    *sec = hpm->sec;
    *nsec = hpm->nsec;
}

const hp_range *hp_hpm_sampling_ranges(const hp_hpm *hpm, size_t *count)
{
    *count = hpm->nranges;
    return hpm->ranges;
}

void hp_hpm_override_sampling(hp_hpm *hpm) { build_scale(hpm, 1); }

int hp_hpm_is_sampled(const hp_hpm *hpm)
{
    for (size_t i = 0; i < hpm->nranges; i++)
        if (hpm->ranges[i].raw_probability != UINT32_MAX)
            return 1;
    return 0;
}

const hp_scale *hp_hpm_scale(const hp_hpm *hpm) { return &hpm->scale; }
const hp_map *hp_hpm_map(const hp_hpm *hpm) { return &hpm->map; }

double hp_hpm_scale_factor(const hp_hpm *hpm, int64_t size)
{
    uint64_t mag = size < 0 ? 0 - (uint64_t)size : (uint64_t)size;
    return hp_scale_factor_of(&hpm->scale, mag);
}

int64_t hp_hpm_scaled_size(const hp_hpm *hpm, int64_t size)
{
    uint64_t mag = size < 0 ? 0 - (uint64_t)size : (uint64_t)size;
    int64_t v = hp_scale_apply(&hpm->scale, mag);
    return size < 0 ? -v : v;
}

/* ---- traces -------------------------------------------------------------- */

/* Receives the frames of a trace being parsed (NULL when only counting):
 * file names are interned in `hpm`, frames appended to *frames. */
typedef struct frame_sink {
    hp_hpm *hpm;
    hp_frame **frames;
    size_t *n, *cap;
} frame_sink;

static uint32_t hash_bytes(const uint8_t *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 16777619u;
    return h;
}

static int rehash(hp_hpm *hpm)
{
    uint32_t n = hpm->nslots ? hpm->nslots * 2 : 1024;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return -1;
    for (uint32_t id = 0; id < hpm->nnames; id++) {
        const char *s = hpm->names[id];
        uint32_t i = hash_bytes((const uint8_t *)s, strlen(s)) & (n - 1);
        while (slots[i])
            i = (i + 1) & (n - 1);
        slots[i] = id + 1;
    }
    free(hpm->slots);
    hpm->slots = slots;
    hpm->nslots = n;
    return 0;
}

/* The id of a file name, interning it on first sight. Names are kept as C
 * strings: a real file name holds no NUL byte, and a damaged one that does
 * is cut there (it may then be interned twice, which is harmless). */
static int intern(hp_hpm *hpm, const uint8_t *s, size_t n, uint32_t *id)
{
    if (hpm->nnames * 2 >= hpm->nslots && rehash(hpm) < 0)
        return -1;
    uint32_t i = hash_bytes(s, n) & (hpm->nslots - 1);
    for (; hpm->slots[i]; i = (i + 1) & (hpm->nslots - 1)) {
        const char *name = hpm->names[hpm->slots[i] - 1];
        if (strnlen(name, n + 1) == n && memcmp(name, s, n) == 0) {
            *id = hpm->slots[i] - 1;
            return 0;
        }
    }
    size_t cap = hpm->names_cap;
    if (hp_grow(&hpm->names, &cap, (size_t)hpm->nnames + 1, sizeof *hpm->names, 64) < 0)
        return -1;
    hpm->names_cap = (uint32_t)cap;
    char *copy = malloc(n + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, n);
    copy[n] = '\0';
    hpm->names[hpm->nnames] = copy;
    hpm->slots[i] = hpm->nnames + 1;
    *id = hpm->nnames++;
    return 0;
}

/* Parses one trace at *off. Returns 1 for a complete trace (and advances
 * *off), 0 at the end of the file or at a trailing partial trace, or a
 * negative error. With a sink, the frames are appended to hpm->frames. */
static int scan_trace(const hp_map *map, size_t *off, frame_sink *sink)
{
    const uint8_t *d = map->data, *end = d + map->size, *p = d + *off;
    hp_hpm *hpm = sink ? sink->hpm : NULL;
    size_t first = hpm ? *sink->n : 0;
    for (;;) {
        uint64_t lineno1, len;
        int n = hp_varint_decode(p, end, &lineno1);
        if (n == HP_VARINT_TRUNCATED)
            goto partial;
        if (n < 0)
            return hp_fail(HP_EFORMAT, "%s: offset %td: over-long varint in trace", map->path, p - d);
        p += n;
        if (lineno1 == 0)
            break;
        n = hp_varint_decode(p, end, &len);
        if (n == HP_VARINT_TRUNCATED)
            goto partial;
        if (n < 0)
            return hp_fail(HP_EFORMAT, "%s: offset %td: over-long varint in trace", map->path, p - d);
        p += n;
        if (len > (uint64_t)(end - p))
            goto partial; /* the file ends inside the name */
        if (lineno1 - 1 > UINT32_MAX)
            return hp_fail(HP_ELIMIT, "%s: offset %td: line number %llu out of range", map->path,
                           p - d, (unsigned long long)(lineno1 - 1));
        if (hpm) {
            uint32_t id;
            if (hp_grow(sink->frames, sink->cap, *sink->n + 1, sizeof(hp_frame), 64) < 0 ||
                intern(hpm, p, (size_t)len, &id) < 0)
                return hp_fail(HP_ENOMEM, "%s: out of memory loading traces", map->path);
            (*sink->frames)[(*sink->n)++] = (hp_frame){id, (uint32_t)(lineno1 - 1)};
        }
        p += len;
    }
    if (hpm) { /* stored innermost first; we hand them out outermost first */
        hp_frame *f = *sink->frames;
        for (size_t i = first, j = *sink->n; i + 1 < j; i++, j--) {
            hp_frame t = f[i];
            f[i] = f[j - 1];
            f[j - 1] = t;
        }
    }
    *off = (size_t)(p - d);
    return 1;
partial:
    if (hpm)
        *sink->n = first;
    return 0;
}

/* Scans pass over the mapped .hpm once, front to back, and real ones reach
 * gigabytes: pages behind a scan are released every so often, so that the
 * resident set holds a window of the file, not all of it. */
#define RELEASE_EVERY (64u << 20)

static void release_behind(const hp_map *map, size_t *released, size_t off)
{
    if (off - *released >= RELEASE_EVERY) {
        hp_map_dontneed(map, *released, off - *released);
        *released = off;
    }
}

int hp_hpm_count_traces_readonly(const hp_hpm *hpm, uint32_t *count)
{
    size_t off = hpm->traces_off, released = 0;
    uint64_t n = 0;
    int rc;
    while ((rc = scan_trace(&hpm->map, &off, NULL)) == 1) {
        if (++n > HP_MAX_TRACES)
            return hp_fail(HP_ELIMIT,
                           "%s: offset %zu: more than %u traces (the largest real .hpm has about a "
                           "million: a damaged file?)",
                           hpm->map.path, off, HP_MAX_TRACES);
        release_behind(&hpm->map, &released, off);
    }
    if (rc < 0)
        return rc;
    *count = (uint32_t)n;
    return HP_OK;
}

int hp_hpm_num_traces(hp_hpm *hpm, uint32_t *count)
{
    if (hpm->parse_done) {
        *count = hpm->loaded;
        return HP_OK;
    }
    if (!hpm->counted) {
        HP_TRY(hp_hpm_count_traces_readonly(hpm, &hpm->ntraces));
        hpm->counted = 1;
    }
    *count = hpm->ntraces;
    return HP_OK;
}

int hp_count_traces(const char *filebase, uint32_t *count)
{
    hp_hpm *hpm;
    HP_TRY(hp_hpm_open(&hpm, filebase));
    int rc = hp_hpm_count_traces_readonly(hpm, count);
    hp_hpm_close(hpm);
    return rc;
}

/* Parses traces in file order until trace `index` is loaded or the file ends. */
static int load_until(hp_hpm *hpm, uint32_t index)
{
    frame_sink sink = {hpm, &hpm->frames, &hpm->nframes, &hpm->frames_cap};
    while (hpm->loaded < index && !hpm->parse_done) {
        if (hp_grow(&hpm->start, &hpm->start_cap, (size_t)hpm->loaded + 2, sizeof *hpm->start, 64) < 0)
            return hp_fail(HP_ENOMEM, "%s: out of memory loading traces", hpm->map.path);
        hpm->start[0] = 0;
        int rc = scan_trace(&hpm->map, &hpm->parse_off, &sink);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            hpm->parse_done = 1;
            break;
        }
        if (hpm->loaded == HP_MAX_TRACES)
            return hp_fail(HP_ELIMIT, "%s: offset %zu: more than %u traces", hpm->map.path,
                           hpm->parse_off, HP_MAX_TRACES);
        hpm->start[++hpm->loaded] = hpm->nframes;
        release_behind(&hpm->map, &hpm->released, hpm->parse_off); /* parsed for good */
    }
    return HP_OK;
}

int hp_hpm_warm_raw_trace_cache(hp_hpm *hpm)
{
    uint32_t n;
    HP_TRY(hp_hpm_num_traces(hpm, &n)); /* a scan that allocates nothing refuses absurd files */
    return load_until(hpm, UINT32_MAX);
}

int hp_hpm_raw_trace(hp_hpm *hpm, uint32_t index, const hp_frame **frames, size_t *depth)
{
    *frames = NULL;
    *depth = 0;
    if (index == 0)
        return HP_NO_TRACE;
    HP_TRY(load_until(hpm, index));
    if (index > hpm->loaded)
        return HP_NO_TRACE;
    *depth = (size_t)(hpm->start[index] - hpm->start[index - 1]);
    /* a trace may have no frames (all skipped by the profiler), and then
     * the frame array may not exist yet */
    *frames = *depth ? hpm->frames + hpm->start[index - 1] : NULL;
    return HP_OK;
}

const char *hp_hpm_file_name(const hp_hpm *hpm, uint32_t file_id)
{
    return file_id < hpm->nnames ? hpm->names[file_id] : NULL;
}

int hp_hpm_visit_traces(hp_hpm *hpm, const uint32_t *wanted, size_t n, hp_trace_visit_fn fn,
                        void *ctx, uint32_t *last)
{
    size_t i = 0;
    int rc = HP_OK;
    *last = 0;
    while (i < n && wanted[i] == 0)
        i++;
    if (i == n)
        return HP_OK;
    if (hpm->parse_done || hpm->loaded >= wanted[n - 1]) { /* already in the cache */
        for (; i < n && wanted[i] <= hpm->loaded && rc >= 0; i++) {
            uint32_t k = wanted[i];
            if (i > 0 && wanted[i - 1] == k)
                continue;
            size_t depth = (size_t)(hpm->start[k] - hpm->start[k - 1]);
            rc = fn(ctx, k, depth ? hpm->frames + hpm->start[k - 1] : NULL, depth);
        }
        *last = i < n ? hpm->loaded : wanted[n - 1];
        return rc < 0 ? rc : HP_OK;
    }
    /* one scan from the first trace, keeping only the wanted ones */
    hp_frame *buf = NULL;
    size_t nbuf = 0, cap = 0, off = hpm->traces_off, released = 0;
    frame_sink sink = {hpm, &buf, &nbuf, &cap};
    uint32_t index = 0;
    while (i < n) {
        int want = wanted[i] == index + 1;
        nbuf = 0;
        int r = scan_trace(&hpm->map, &off, want ? &sink : NULL);
        if (r <= 0) {
            rc = r;
            break;
        }
        if (++index > HP_MAX_TRACES) {
            rc = hp_fail(HP_ELIMIT, "%s: offset %zu: more than %u traces", hpm->map.path, off,
                         HP_MAX_TRACES);
            break;
        }
        if (want) {
            if ((rc = fn(ctx, index, nbuf ? buf : NULL, nbuf)) < 0)
                break;
            while (i < n && wanted[i] <= index)
                i++;
        }
        release_behind(&hpm->map, &released, off);
    }
    free(buf);
    *last = index;
    return rc < 0 ? rc : HP_OK;
}

/* ---- source lines -------------------------------------------------------- */

static char *strip(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Source files larger than this are not read (no real one comes close). */
#define MAX_SOURCE_BYTES (64u << 20)

/* Reads a source file into lines. A file that cannot be read simply has
 * none, and its frames no source text; but memory running out is an error
 * (-1, the file left to try again), lest a listing be silently short of
 * text it could have had. The names come from the .hpm, so anything can be
 * named: only regular files are read (a FIFO would block, /dev/zero never
 * end), only small ones, and as they were when opened. */
static int load_source(source_file *sf, const char *name)
{
    int fd = open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_SOURCE_BYTES) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        if (fd < 0 && err == ENOMEM) /* the kernel's memory: a try later may do */
            return -1;
        sf->loaded = 1;
        return 0;
    }
    size_t size = (size_t)st.st_size, len = 0;
    char *text = malloc(size + 1);
    if (!text) {
        close(fd);
        return -1;
    }
    while (len < size) {
        ssize_t n = read(fd, text + len, size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == ENOMEM) {
            free(text);
            close(fd);
            return -1;
        }
        if (n <= 0)
            break; /* shorter than it was, or unreadable: what was read */
        len += (size_t)n;
    }
    close(fd);
    text[len] = '\0';
    size_t nlines = 0;
    for (const char *p = text; p < text + len; nlines++) {
        const char *nl = memchr(p, '\n', (size_t)(text + len - p));
        p = nl ? nl + 1 : text + len;
    }
    char **lines = malloc((nlines ? nlines : 1) * sizeof *lines);
    if (!lines) {
        free(text);
        return -1;
    }
    size_t k = 0;
    for (char *p = text; k < nlines; k++) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        if (nl)
            *nl = '\0';
        lines[k] = strip(p);
        p = nl ? nl + 1 : text + len;
    }
    *sf = (source_file){.loaded = 1, .text = text, .lines = lines, .nlines = nlines};
    return 0;
}

/* Sets *line to the stripped text of a source line ("" where there is
 * none). Returns HP_OK or HP_ENOMEM. */
static int source_line(hp_hpm *hpm, uint32_t file_id, uint32_t lineno, const char **line)
{
    source_file *sf = &hpm->sources[file_id];
    if (!sf->loaded && load_source(sf, hpm->names[file_id]) < 0)
        return hp_fail(HP_ENOMEM, "out of memory reading source file %s", hpm->names[file_id]);
    *line = lineno >= 1 && lineno <= sf->nlines ? sf->lines[lineno - 1] : "";
    return HP_OK;
}

/* Grows a zero-filled per-id cache to hold `need` entries. */
static int grow_zeroed(void **p, size_t *n, size_t need, size_t elem)
{
    if (need <= *n)
        return 0;
    void *q = realloc(*p, need * elem);
    if (!q)
        return -1;
    memset((char *)q + *n * elem, 0, (need - *n) * elem);
    *p = q;
    *n = need;
    return 0;
}

int hp_hpm_trace(hp_hpm *hpm, uint32_t index, const hp_source_frame **frames, size_t *depth)
{
    const hp_frame *raw;
    *frames = NULL;
    int rc = hp_hpm_raw_trace(hpm, index, &raw, depth);
    if (rc != HP_OK)
        return rc;
    if (index >= hpm->with_src_n || !hpm->with_src[index]) {
        hp_source_frame *sf = NULL;
        if (grow_zeroed((void **)&hpm->with_src, &hpm->with_src_n, (size_t)hpm->loaded + 1,
                        sizeof *hpm->with_src) < 0 ||
            grow_zeroed((void **)&hpm->sources, &hpm->sources_n, hpm->nnames,
                        sizeof *hpm->sources) < 0 ||
            !(sf = malloc((*depth ? *depth : 1) * sizeof *sf)))
            rc = hp_fail(HP_ENOMEM, "out of memory reading source lines");
        for (size_t i = 0; rc == HP_OK && i < *depth; i++) {
            sf[i] = (hp_source_frame){hpm->names[raw[i].file_id], raw[i].lineno, ""};
            rc = source_line(hpm, raw[i].file_id, raw[i].lineno, &sf[i].line);
        }
        if (rc < 0) { /* no frames: nothing half-done */
            free(sf);
            *depth = 0;
            return rc;
        }
        hpm->with_src[index] = sf;
    }
    *frames = hpm->with_src[index];
    return HP_OK;
}

int hp_hpm_source_line(hp_hpm *hpm, uint32_t file_id, uint32_t lineno, const char **line)
{
    *line = "";
    if (file_id >= hpm->nnames)
        return HP_OK;
    if (grow_zeroed((void **)&hpm->sources, &hpm->sources_n, hpm->nnames, sizeof *hpm->sources) < 0)
        return hp_fail(HP_ENOMEM, "out of memory reading source lines");
    return source_line(hpm, file_id, lineno, line);
}
