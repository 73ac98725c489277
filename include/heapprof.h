/*
 * heapprof.h - the public API of heapprof-c.
 *
 * heapprof-c reads the files written by the heapprof Python heap profiler
 * and digests them:
 *
 *   NAME.hpm   metadata: start time, sampling ranges, stack traces
 *   NAME.hpd   a log of sampled allocation and free events
 *   NAME.hpc   a digest: live bytes per stack trace, one snapshot per interval
 *
 * The formats and the digest semantics are described in docs/FORMATS.md.
 *
 * Conventions, used by every function below:
 *   - Handles are opaque and created by hp_X_open(hp_X **out, ...), released
 *     by hp_X_close() (which accepts NULL).
 *   - Return values follow one rule:
 *       HP_OK (0)            done;
 *       a negative hp_error  failed: hp_strerror() names the code and
 *                            hp_last_error() gives a one-line message with
 *                            detail (file, byte offset, reason) for the most
 *                            recent failure on the calling thread;
 *       a positive hp_status done, with an outcome other than the usual one
 *                            (no such trace, the end of the events, nothing
 *                            recorded, skipped). Each hp_status value has one
 *                            meaning wherever it is returned.
 *     Predicates (hp_..._is_...()) return 1 or 0 and cannot fail; accessors
 *     of an open handle return the value itself.
 *   - Options structs begin with `unsigned version`: initialise them with
 *     their HP_..._INIT macro or hp_..._init() function, then set fields,
 *     so that a program built against this header keeps working when later
 *     versions add fields. A NULL options pointer means the defaults.
 *   - A handle may be used by one thread at a time. Different handles are
 *     independent. hp_hpc_make() runs threads internally (one pool per
 *     process, shared by its digests; a child after fork() gets its own).
 *   - Only what this header declares is exported from libheapprof.
 */
#ifndef HEAPPROF_H
#define HEAPPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HP_VERSION_MAJOR 0
#define HP_VERSION_MINOR 3
#define HP_VERSION_PATCH 0
#define HP_VERSION_STRING "0.3.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, as hp_version_number() returns it;
 * the shared library's soname is libheapprof.so.MAJOR. */
#define HP_VERSION_NUMBER (HP_VERSION_MAJOR * 10000 + HP_VERSION_MINOR * 100 + HP_VERSION_PATCH)

/* Marks what libheapprof exports; everything else is hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define HP_API __attribute__((visibility("default")))
#else
#define HP_API
#endif

/* ------------------------------------------------------------------------
 * Limits, shared by the library, the CLI and every driver
 * ---------------------------------------------------------------------- */

/* The most sampling ranges an .hpm may have (real files have 1 to 3). */
#define HP_MAX_RANGES 64

/* The shortest and longest digest interval, seconds. */
#define HP_MIN_INTERVAL 0.001
#define HP_MAX_INTERVAL 1e9

/* The most threads a digest or a batch accepts; hp_thread_count() also
 * caps a count at HP_THREADS_PER_CORE times the cores. */
#define HP_MAX_THREADS 4096
#define HP_THREADS_PER_CORE 4

/* The most snapshots a digest may have, for the writer and every reader
 * alike (at 1 ms, 18 hours of profile; at 1 s, two years). */
#define HP_MAX_SNAPSHOTS (1u << 26)

/* The most traces an .hpm may have: 16 times the largest real one seen
 * (1,005,759), so that a damaged file cannot make a digest allocate live
 * states for 2^30 traces. */
#define HP_MAX_TRACES (1u << 24)

/* ------------------------------------------------------------------------
 * Errors
 * ---------------------------------------------------------------------- */

typedef enum hp_error {
    HP_OK = 0,
    HP_EIO = -1,        /* a file could not be opened, read or written */
    HP_EFORMAT = -2,    /* corrupt or truncated data (message has the offset) */
    HP_EVERSION = -3,   /* a file of an unsupported format version */
    HP_ENOMEM = -4,     /* out of memory */
    HP_EINVAL = -5,     /* an invalid argument (interval, precision, ...) */
    HP_ERANGE = -6,     /* an index out of range (snapshot number, ...) */
    HP_ECANCELED = -7,  /* cancelled through hp_make_options.cancel or a signal */
    HP_ELIMIT = -8,     /* a value in a file exceeds a sanity limit */
} hp_error;

/* The positive, non-error outcomes (see "Return values" above). */
typedef enum hp_status {
    HP_NO_TRACE = 1,      /* a trace lookup: index 0, or past the last trace */
    HP_END = 2,           /* an iterator: no more items */
    HP_NOT_RECORDED = 3,  /* the file does not record what was asked */
    HP_SKIPPED = 4,       /* a batch profile whose .hpc is up to date */
    HP_NOT_RUN = 5,       /* a batch profile never started (an earlier failure
                             without keep_going, or a cancel) */
    HP_OVER_LIMIT = 6,    /* a diff: growth beyond its fail_over threshold */
} hp_status;

/* The library version, "MAJOR.MINOR.PATCH", and as HP_VERSION_NUMBER. */
HP_API const char *hp_version(void);
HP_API unsigned hp_version_number(void);

/* A short, static description of an hp_error code. */
HP_API const char *hp_strerror(int code);

/* The detailed message of the last failure on this thread: one line naming
 * the file and, for format errors, the byte offset and the reason. Never
 * NULL; "" when nothing has failed yet. Valid until the next failing call. */
HP_API const char *hp_last_error(void);

/* ------------------------------------------------------------------------
 * HPM: metadata (start time, sampling ranges, traces)
 * ---------------------------------------------------------------------- */

typedef struct hp_hpm hp_hpm;

/* One sampling range: sizes below max_bytes (and at or above the previous
 * range's max_bytes) are sampled with `probability`. */
typedef struct hp_range {
    uint64_t max_bytes;
    uint32_t raw_probability; /* as stored: probability * 4294967295 */
    double probability;
} hp_range;

/* One stack frame. file_id names the file through hp_hpm_file_name(); file
 * names are interned, so equal ids mean equal names. */
typedef struct hp_frame {
    uint32_t file_id;
    uint32_t lineno;
} hp_frame;

/* A frame with its source line, as returned by hp_hpm_trace(). */
typedef struct hp_source_frame {
    const char *filename;
    uint32_t lineno;
    const char *line; /* the source line, stripped; "" if unreadable */
} hp_source_frame;

/* Opens FILEBASE.hpm and reads its header. Traces are loaded lazily. */
HP_API int hp_hpm_open(hp_hpm **out, const char *filebase);

/* Releases the handle and everything it returned. */
HP_API void hp_hpm_close(hp_hpm *hpm);

/* Profiler start time, seconds since the epoch. */
HP_API double hp_hpm_initial_time(const hp_hpm *hpm);

/* Profiler start time exactly as stored. */
HP_API void hp_hpm_initial_timespec(const hp_hpm *hpm, uint64_t *sec, uint64_t *nsec);

/* The sampling ranges, sorted by max_bytes; *count receives their number. */
HP_API const hp_range *hp_hpm_sampling_ranges(const hp_hpm *hpm, size_t *count);

/* Replaces the stored sampling ranges by "every allocation recorded": every
 * scale factor becomes 1. For profiles whose sampler did not sample (see
 * docs/FORMATS.md, "Sampling that did not happen"). */
HP_API void hp_hpm_override_sampling(hp_hpm *hpm);

/* Nonzero when the stored ranges request sampling (some probability < 1). */
HP_API int hp_hpm_is_sampled(const hp_hpm *hpm);

/* The factor by which an event of |size| bytes is scaled: 1/p for the range
 * that holds it, 0 when p == 0, 1 beyond every range. */
HP_API double hp_hpm_scale_factor(const hp_hpm *hpm, int64_t size);

/* The scaled size as the digest computes it: llrint(|size| * (1/p)) with the
 * sign of size, 0 when p == 0, size itself beyond every range. */
HP_API int64_t hp_hpm_scaled_size(const hp_hpm *hpm, int64_t size);

/* Counts the traces without keeping them (a scan of the file). A trailing
 * partial trace is not counted. */
HP_API int hp_hpm_num_traces(hp_hpm *hpm, uint32_t *count);

/* Loads every trace, so later lookups are O(1). Memory is proportional to the
 * number of frames plus the distinct file names, not to the file size. */
HP_API int hp_hpm_warm_raw_trace_cache(hp_hpm *hpm);

/* The frames of trace `index`, outermost first. Returns 0 and sets *frames
 * and *depth, HP_NO_TRACE for index 0 or an index past the last trace, or a
 * negative error. Traces load lazily, in file order, into one growing
 * array: the frames stay valid until a later call loads more traces (a
 * lookup past those loaded so far), and for as long as the handle once
 * hp_hpm_warm_raw_trace_cache() has loaded them all. */
HP_API int hp_hpm_raw_trace(hp_hpm *hpm, uint32_t index, const hp_frame **frames, size_t *depth);

/* The name of an interned file (see hp_frame), or NULL for an unknown id. */
HP_API const char *hp_hpm_file_name(const hp_hpm *hpm, uint32_t file_id);

/* Like hp_hpm_raw_trace() with each frame's source line, read from the
 * source file when it can be (cached per trace and per file). */
HP_API int hp_hpm_trace(hp_hpm *hpm, uint32_t index, const hp_source_frame **frames, size_t *depth);

/* The filebase a user means by NAME, NAME.hpm, NAME.hpd or NAME.hpc: the
 * path without that extension, in a new string (free it), or NULL when out
 * of memory. */
HP_API char *hp_filebase_of(const char *path);

/* Counts the traces of FILEBASE.hpm without opening a handle. */
HP_API int hp_count_traces(const char *filebase, uint32_t *count);

/* ------------------------------------------------------------------------
 * HPD: the event log
 * ---------------------------------------------------------------------- */

typedef struct hp_hpd hp_hpd;

typedef struct hp_event {
    double timestamp;     /* absolute, seconds since the epoch */
    uint32_t traceindex;  /* of the allocation (also for frees); 0: no trace */
    int64_t size;         /* bytes; negative for a free */
    double scale;         /* hp_hpm_scale_factor(size) */
    uint64_t offset;      /* byte offset of the event in the .hpd */
} hp_event;

/* Why an event is invalid (see docs/FORMATS.md, "Damaged event streams"). */
typedef enum hp_damage_reason {
    HP_DAMAGE_TRACE = 1,      /* trace index beyond the last trace */
    HP_DAMAGE_USEC = 2,       /* microseconds field >= 1000000 */
    HP_DAMAGE_NEG_ZERO = 3,   /* negative delta with a seconds field of 0 */
    HP_DAMAGE_VARINT = 4,     /* a varint longer than 10 bytes */
} hp_damage_reason;

/* A short description of a damage reason ("usec >= 1000000", ...). */
HP_API const char *hp_damage_reason_str(int reason);

/* A stretch of bytes skipped by salvage reading. */
typedef struct hp_skip {
    const char *path;  /* the .hpd */
    uint64_t offset;   /* where the first invalid event starts */
    uint64_t length;   /* bytes skipped */
    int reason;        /* hp_damage_reason of the first invalid event */
} hp_skip;

/* Told of every stretch that salvage reading skips, by the HPD reader and by
 * digests alike. */
typedef void (*hp_skip_fn)(void *ctx, const hp_skip *skip);

#define HP_READ_OPTIONS_VERSION 1

typedef struct hp_read_options {
    unsigned version;     /* HP_READ_OPTIONS_VERSION */
    int salvage;          /* skip damaged stretches instead of failing */
    hp_skip_fn on_skip;   /* called for every skipped stretch (may be NULL) */
    void *ctx;            /* passed to on_skip */
} hp_read_options;

#define HP_READ_OPTIONS_INIT { .version = HP_READ_OPTIONS_VERSION }

/* Initialises *opts as HP_READ_OPTIONS_INIT does. Returns HP_EINVAL for a
 * version this library does not know. */
HP_API int hp_read_options_init(hp_read_options *opts, unsigned version);

/* Counts gathered while reading. */
typedef struct hp_hpd_stats {
    uint64_t events, allocs, frees;
    uint64_t bytes;             /* size of the .hpd */
    uint64_t truncated_bytes;   /* length of a partial final event, or 0 */
    uint64_t skips;             /* stretches skipped by salvage */
    uint64_t skipped_bytes;
    uint64_t first_skip_offset; /* meaningful when skips > 0 */
    uint64_t negative_deltas;
    double duration;            /* relative time of the last event, seconds */
} hp_hpd_stats;

/* Opens FILEBASE.hpd. `hpm` supplies the start time, the sampling ranges and
 * the trace count used for validation; when NULL, FILEBASE.hpm is opened and
 * owned by the reader. `opts` may be NULL (strict reading). */
HP_API int hp_hpd_open(hp_hpd **out, const char *filebase, hp_hpm *hpm, const hp_read_options *opts);

/* Reads the next event. Returns HP_OK and fills *ev, HP_END after the last
 * event, or a negative error (HP_EFORMAT for an invalid event in strict
 * mode). A partial final event ends the iteration; stats.truncated_bytes
 * reports it. */
HP_API int hp_hpd_next(hp_hpd *hpd, hp_event *ev);

/* The counts so far (complete once hp_hpd_next() returned HP_END). */
HP_API void hp_hpd_get_stats(const hp_hpd *hpd, hp_hpd_stats *stats);

HP_API void hp_hpd_close(hp_hpd *hpd);

/* ------------------------------------------------------------------------
 * HPC: the digest
 * ---------------------------------------------------------------------- */

typedef struct hp_hpc hp_hpc;

typedef struct hp_entry {
    uint32_t traceindex;  /* 0: the "other" entry */
    int64_t bytes;        /* live bytes, as stored: read as two's-complement
                             64-bit. heapprof-c never writes a negative or
                             zero entry; heapprof 1.0's own digests hold
                             negative ones where its 32-bit counters wrapped
                             (and zeros) */
} hp_entry;

typedef struct hp_snapshot {
    double relative_time;     /* k * interval, seconds */
    size_t count;             /* entries */
    const hp_entry *entries;  /* in stored order (bytes descending) */
} hp_snapshot;

/* Opens FILEBASE.hpc (format v1 or v2, told apart by its first bytes). */
HP_API int hp_hpc_open(hp_hpc **out, const char *filebase);

/* Opens a .hpc file by its path. */
HP_API int hp_hpc_open_path(hp_hpc **out, const char *path);

HP_API void hp_hpc_close(hp_hpc *hpc);

/* 1 or 2. */
HP_API int hp_hpc_format(const hp_hpc *hpc);

/* The number of snapshots: 0 for a heapprof 1.0 digest of a run shorter than
 * its interval (heapprof-c always writes at least one). */
HP_API size_t hp_hpc_length(const hp_hpc *hpc);

/* The interval between snapshots, seconds. */
HP_API double hp_hpc_time_interval(const hp_hpc *hpc);

/* The start time of the profile, seconds since the epoch, and exactly. */
HP_API double hp_hpc_initial_time(const hp_hpc *hpc);
HP_API void hp_hpc_initial_timespec(const hp_hpc *hpc, uint64_t *sec, uint64_t *nsec);

/* Reads snapshot k. Only what snapshot k needs is read (for v2: at most one
 * data frame, cached). The entries stay valid until the next call on hpc. */
HP_API int hp_hpc_snapshot(hp_hpc *hpc, size_t k, hp_snapshot *out);

/* The sum of snapshot k's entries (negative entries included, so it can be
 * negative in heapprof 1.0's own digests; the sum wraps modulo 2^64). */
HP_API int hp_hpc_total_usage(hp_hpc *hpc, size_t k, int64_t *total);

/* Where snapshot k's record starts: a byte offset in the v1 stream (the file
 * itself for v1, the decompressed stream for v2), as heapprof's
 * HPC.offsets lists them. Returns HP_OK, or HP_ERANGE when k is past the
 * last snapshot. */
HP_API int hp_hpc_snapshot_offset(const hp_hpc *hpc, size_t k, uint64_t *offset);

/* What a digest was made with and from, as a v2 file records it
 * (heapprof-c writes it into the padding frame after its header frame). */
typedef struct hp_digest_params {
    uint64_t interval_ms;
    double precision;
    int override_sampling, salvage;
    int has_inputs;            /* the inputs below are recorded (heapprof-c
                                  0.3 and later; 0.2 recorded only the above) */
    uint64_t hpm_size, hpd_size;      /* bytes of each input digested */
    int64_t hpm_mtime_ns, hpd_mtime_ns; /* their modification times then */
} hp_digest_params;

/* Fills *params from the file. Returns HP_OK, or HP_NOT_RECORDED when the
 * file records nothing (v1 files, v2 files from other writers). */
HP_API int hp_hpc_recorded_params(const hp_hpc *hpc, hp_digest_params *params);

/* Whether the digest no longer reflects FILEBASE.hpm and .hpd as they are
 * now: it records other inputs (another size or modification time) or,
 * recording none, it is older than one of them. 1 or 0 (0 also when an
 * input is missing: then there is nothing to compare). */
HP_API int hp_hpc_is_stale(const hp_hpc *hpc, const char *filebase);

/* ------------------------------------------------------------------------
 * Digesting: HPC.make
 * ---------------------------------------------------------------------- */

typedef enum hp_format { HP_FORMAT_V2 = 0, HP_FORMAT_V1 = 1 } hp_format;

/* Progress: bytes of .hpd done out of `total`. Called from the calling
 * thread as the digest's chunks are written. */
typedef void (*hp_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Per-phase timings and counts of one digest, filled by hp_hpc_make_ex().
 * The phases are those of docs/DESIGN.md. They overlap: a phase's seconds
 * are the work of its tasks on whatever thread ran them (resync, decode,
 * emit, compress), or of its serial steps in file order (settle, totals,
 * write); what lies outside them (opening the files, the last frames,
 * the index, the header and the commit) is t_total less their sum with
 * one thread. */
typedef struct hp_make_report {
    uint64_t events, hpd_bytes, snapshots, output_bytes, v1_bytes;
    uint64_t skips, skipped_bytes, first_skip_offset;
    uint64_t truncated_bytes;
    uint64_t negative_snapshots;   /* snapshots that left out negative traces */
    uint64_t resyncs_failed;       /* chunk splits that needed the fallback */
    double profile_seconds;        /* relative time of the last event */
    double t_resync;               /* seconds: speculative chunk starts */
    double t_decode;               /* decoding events into chunk arrays, with totals */
    double t_settle;               /* verifying the chain, placing chunks in time */
    double t_totals;               /* the running state: copies, chunk totals */
    double t_emit;                 /* live states, order, cutoff, records */
    double t_compress;             /* zstd frames (v2) */
    double t_write;                /* records to the writer, frames to the file */
    double t_total;                /* the whole digest, wall clock */
    int threads;                   /* the most a wave had */
} hp_make_report;

#define HP_MAKE_OPTIONS_VERSION 1

typedef struct hp_make_options {
    unsigned version;          /* HP_MAKE_OPTIONS_VERSION */
    int threads;               /* 0: OMP_NUM_THREADS, else every core
                                  (hp_thread_count() caps it) */
    hp_format format;          /* HP_FORMAT_V2 (default) or HP_FORMAT_V1 */
    int level;                 /* zstd level, or HP_LEVEL_AUTO (0) */
    const char *output;        /* output path; NULL: FILEBASE.hpc */
    int salvage;               /* digest the valid events of a damaged .hpd */
    int override_sampling;     /* treat every allocation as recorded */
    size_t chunk_bytes;        /* .hpd bytes per work chunk; 0: automatic */
    size_t frame_bytes;        /* v2 data frame target size; 0: 2 MiB with
                                  HP_LEVEL_AUTO, 1 MiB with a level */
    hp_progress_fn progress;   /* may be NULL */
    void *progress_ctx;
    hp_skip_fn on_skip;        /* salvage: each skipped stretch; may be NULL */
    void *skip_ctx;
    volatile int *cancel;      /* when it becomes nonzero, the digest stops */
    hp_make_report *report;    /* filled when not NULL */
    uint64_t limit_bytes;      /* digest only the events that start in the first
                                  limit_bytes of the .hpd; 0: all (hp_tune) */
} hp_make_options;

/* The compression of v2 files by default: a choice per frame from its
 * content alone (so the output still depends on nothing but the input):
 * frames whose snapshots repeat one another are compressed at level 1, in
 * frames of 2 MiB; the others, where zstd saves a few percent for much of
 * the digest's time (a busy heap's), are stored (docs/FORMATS.md). An
 * explicit level applies to every frame, in frames of 1 MiB. */
#define HP_LEVEL_AUTO 0
#define HP_DEFAULT_LEVEL HP_LEVEL_AUTO

#define HP_MAKE_OPTIONS_INIT                                                   \
    { .version = HP_MAKE_OPTIONS_VERSION, .format = HP_FORMAT_V2, .level = HP_DEFAULT_LEVEL }

/* Initialises *opts as HP_MAKE_OPTIONS_INIT does (every other field zero).
 * Returns HP_EINVAL for a version this library does not know. */
HP_API int hp_make_options_init(hp_make_options *opts, unsigned version);

/* The threads a digest of `requested` threads uses: requested, or when 0
 * OMP_NUM_THREADS, else every core; at most HP_THREADS_PER_CORE per core and
 * HP_MAX_THREADS (more only oversubscribe the cores). */
HP_API int hp_thread_count(int requested);

/* heapprof's HPC.make: digests FILEBASE.hpm + FILEBASE.hpd into FILEBASE.hpc
 * (format v2) with snapshots every `time_interval` seconds (rounded to whole
 * milliseconds, HP_MIN_INTERVAL to HP_MAX_INTERVAL) and precision in
 * [0, 1). With `verbose`, the phase timings are printed on stderr. The
 * output appears atomically: on any failure no file is left and an existing
 * .hpc is untouched. */
HP_API int hp_hpc_make(const char *filebase, double time_interval, double precision, int verbose);

/* The same with options (NULL: defaults). */
HP_API int hp_hpc_make_ex(const char *filebase, double time_interval, double precision,
                   const hp_make_options *opts);

/* Prints a report (events, MB/s, phase timings, compression) in the form
 * the CLI's `digest -v` uses. */
HP_API void hp_print_report(FILE *f, const char *filebase, const hp_make_report *report);

/* ------------------------------------------------------------------------
 * Outputs and signals
 *
 * Every file the library writes (a digest, an export) appears whole under
 * its name or not at all, is synced to disk before it replaces anything,
 * never overwrites one of its own inputs, keeps the permissions of the file
 * it replaces (a new one is no more open than its inputs), follows a symbolic link to the
 * file it names, and is streamed to "-" (standard output), a character
 * device or a FIFO (docs/DESIGN.md, "Outputs"). hp_output_* give a program
 * the same for files of its own (the CLI's --report).
 * ---------------------------------------------------------------------- */

typedef struct hp_output hp_output;

/* Opens an output for `path` ("-": standard output). Nothing is visible at
 * `path`, and an existing file there is untouched, until
 * hp_output_commit(). Returns HP_OK or HP_EIO (a folder, a block device, a
 * folder that cannot be written ...). */
HP_API int hp_output_open(hp_output **out, const char *path);

/* Appends `len` bytes. Returns HP_OK or HP_EIO (the message names the file). */
HP_API int hp_output_write(hp_output *o, const void *data, size_t len);

/* Makes the output durable and visible (or copies it to its stream) and
 * frees the handle, whatever the outcome. Returns HP_OK, or HP_EIO with the
 * old file, if any, untouched. */
HP_API int hp_output_commit(hp_output *o);

/* Discards the output and frees the handle. Accepts NULL. */
HP_API void hp_output_abort(hp_output *o);

/* Lets the process survive an input file that shrinks while the library
 * reads it (another program truncates a .hpd during a digest): without
 * this, touching the vanished pages of the mapping raises SIGBUS and kills
 * the process. With it, the read that faulted sees zeros and the digest or
 * reader concerned fails with "the file shrank while it was being read";
 * other work goes on. Installs a SIGBUS handler for the whole process (it
 * passes faults outside the library's mappings to the handler it
 * replaced); call it once, early. Returns HP_OK or HP_EIO. */
HP_API int hp_guard_sigbus(void);

/* ------------------------------------------------------------------------
 * Batches: many profiles, on one machine or many
 *
 * Every digest the CLI and the MPI driver run, a lone profile included, goes
 * through hp_batch_run(): the up-to-date check, the digest, the result and
 * the bookkeeping live in one place.
 * ---------------------------------------------------------------------- */

typedef struct hp_batch hp_batch;

HP_API int hp_batch_new(hp_batch **out);
HP_API void hp_batch_free(hp_batch *b);

/* Adds profiles: a filebase, a NAME.hpm, NAME.hpd or NAME.hpc path, or a
 * directory, which adds every filebase in it that has both a .hpm and a .hpd
 * (names starting with '.' are skipped; with `recursive`, subdirectories
 * too, each entered once whatever the links that lead back to it). A
 * profile named twice (by any name or link: the .hpm's device and inode
 * decide) is added once. A profile that cannot be digested (a file missing
 * or not a regular file, a folder that cannot be read) is added too, as an
 * entry that hp_batch_run() reports as failed with the reason, without
 * digesting it: one bad file fails itself only. Returns HP_OK, or
 * HP_ENOMEM. */
HP_API int hp_batch_add(hp_batch *b, const char *path, int recursive);

/* The profiles, their filebases and input sizes (.hpm + .hpd bytes), and
 * why one cannot be digested (NULL when it can). */
HP_API size_t hp_batch_count(const hp_batch *b);
HP_API const char *hp_batch_filebase(const hp_batch *b, size_t i);
HP_API uint64_t hp_batch_input_bytes(const hp_batch *b, size_t i);
HP_API const char *hp_batch_error(const hp_batch *b, size_t i);

/* Whether `path` is one of the batch's inputs (a .hpm or .hpd, by device
 * and inode) or the FILEBASE.hpc one of its digests writes: 1 or 0, or
 * HP_ENOMEM. For callers that write a file of their own beside a batch (a
 * report). */
HP_API int hp_batch_has_file(const hp_batch *b, const char *path);

/* Orders the profiles largest first (equal sizes by name). */
HP_API void hp_batch_sort(hp_batch *b);

/* Keeps only shard k of n (0 <= k < n): the profiles, largest first, are
 * dealt one by one to the shard with the fewest bytes so far (the lowest
 * index on ties). The same list gives the same partition in every process,
 * the n shards together hold every profile exactly once, and their sizes
 * differ by at most the largest profile. */
HP_API int hp_batch_shard(hp_batch *b, unsigned k, unsigned n);

/* Splits `threads` (0: every core) between profiles: with `jobs` > 0, that
 * many profiles at once, threads / jobs each; with 0, the batch
 * scheduler's first plan (its default cost model): how many profiles start
 * at once, and the threads of the first (the largest). Never more jobs
 * than profiles or threads. */
HP_API void hp_batch_plan(const hp_batch *b, int threads, int jobs, int *jobs_out,
                   int *threads_per_job);

/* Whether the digest that hp_hpc_make_ex(filebase, interval, precision,
 * opts) would write (to opts->output, else FILEBASE.hpc) exists already: a
 * v2 file recording the same interval (in whole ms), precision,
 * override_sampling and salvage, made from FILEBASE.hpm and .hpd as they
 * are now (the same size and modification time, to the nanosecond). A v1
 * file records nothing, so with HP_FORMAT_V1 the answer is always no, as it
 * is for a digest of part of a file (opts->limit_bytes). opts may be NULL. */
HP_API int hp_hpc_is_up_to_date(const char *filebase, double interval, double precision,
                                const hp_make_options *opts);

/* The outcome of one profile of a batch. */
typedef struct hp_batch_result {
    size_t index;        /* the profile's place in the batch */
    const char *filebase;
    int status;          /* HP_OK digested, HP_SKIPPED up to date, HP_NOT_RUN
                            never started, < 0 hp_error */
    const char *error;   /* the one-line message when status < 0, else "" */
    uint64_t input_bytes, events, snapshots, output_bytes;
    double seconds;
    int threads;         /* the most threads its digest had at once */
    const hp_make_report *report; /* the digest's report when status == HP_OK, else NULL */
} hp_batch_result;

/* Called once per profile as it finishes, and at the end once for each
 * profile never started (HP_NOT_RUN); `done` of `total` have been told. */
typedef void (*hp_batch_fn)(void *ctx, const hp_batch_result *r, size_t done, size_t total);

/* Called as a profile's digest advances: `done` of its `total` .hpd bytes. */
typedef void (*hp_batch_progress_fn)(void *ctx, size_t index, uint64_t done, uint64_t total);

#define HP_BATCH_OPTIONS_VERSION 1

typedef struct hp_batch_options {
    unsigned version;            /* HP_BATCH_OPTIONS_VERSION */
    double interval, precision;  /* as hp_hpc_make() */
    const hp_make_options *make; /* NULL: defaults. threads is the total for
                                    the batch (0: every core); output only
                                    for a batch of one profile; progress,
                                    report and limit_bytes are ignored
                                    (on_progress and on_result report) */
    int jobs;                    /* profiles at once; 0: hp_batch_plan() */
    int skip_up_to_date;         /* skip what hp_hpc_is_up_to_date() says */
    int keep_going;              /* go on after a failure; else start no more */
    hp_batch_fn on_result;       /* may be NULL */
    void *ctx;                   /* passed to on_result and on_progress */
    hp_batch_progress_fn on_progress; /* may be NULL */
} hp_batch_options;

#define HP_BATCH_OPTIONS_INIT                                                  \
    { .version = HP_BATCH_OPTIONS_VERSION, .interval = 60, .precision = 0.01 }

/* Initialises *opts as HP_BATCH_OPTIONS_INIT does: heapprof's defaults,
 * 60 s and 0.01, and everything else zero. Returns HP_EINVAL for a version
 * this library does not know. */
HP_API int hp_batch_options_init(hp_batch_options *opts, unsigned version);

typedef struct hp_batch_summary {
    size_t digested, skipped, failed, not_run;
    uint64_t input_bytes;      /* of every profile */
    uint64_t digested_bytes;   /* of the profiles digested */
    uint64_t output_bytes, events;
    double seconds;
    int jobs, threads_per_job;
} hp_batch_summary;

/* Counts one profile's result into a summary, as hp_batch_run() does for
 * each: digested, skipped, failed or not run, with its bytes and events.
 * For drivers that gather results themselves (heapprof-mpi's rank 0). */
HP_API void hp_batch_summary_add(hp_batch_summary *summary, const hp_batch_result *r);

/* Digests every profile of the batch into FILEBASE.hpc (or make->output),
 * largest first: `jobs` at a time, or with `jobs` 0 as the batch scheduler
 * grants threads, wave by wave (docs/DESIGN.md, "The batch scheduler"). The callbacks (on_result, on_progress,
 * make->on_skip) are called from the batch's worker threads, one call at a
 * time. Returns HP_OK when none failed, else the first failure's code
 * (hp_last_error() counts the failures; each result has its message),
 * HP_ECANCELED when make->cancel stopped it. `summary` may be NULL. */
HP_API int hp_batch_run(hp_batch *b, const hp_batch_options *opts, hp_batch_summary *summary);

/* ------------------------------------------------------------------------
 * Tuning: a thread count from measurements
 * ---------------------------------------------------------------------- */

typedef struct hp_tune_point {
    int threads;
    uint64_t bytes;          /* .hpd bytes digested */
    double seconds;          /* the median of its last runs (see hp_tune_ex) */
    double mb_per_s, speedup, efficiency; /* speedup over 1 thread, / threads */
} hp_tune_point;

/* hp_tune_ex() with its defaults: max_threads is the most measured (and
 * always measured), the recommendation hp_tune_ex's. */
HP_API int hp_tune(const char *filebase, double interval, double precision, int max_threads,
            uint64_t slice_bytes, hp_tune_point *points, size_t cap, size_t *npoints,
            int *recommended);


#define HP_TUNE_OPTIONS_VERSION 1

typedef struct hp_tune_options {
    unsigned version;        /* HP_TUNE_OPTIONS_VERSION */
    int max_threads;         /* the most threads to measure; 0: every core */
    uint64_t slice_bytes;    /* .hpd bytes per run; 0: all of it */
    int min_runs, max_runs;  /* timed runs per point: at least, at most
                                (0: 3 and 9) */
    double tolerance;        /* a point is stable when its last min_runs
                                runs lie within this share of their median
                                (0: 0.05) */
    double min_efficiency;   /* the least parallel efficiency recommended
                                (0: 0.5) */
    double throughput_share; /* the share of the best throughput that is
                                enough (0: 0.9) */
} hp_tune_options;

#define HP_TUNE_OPTIONS_INIT { .version = HP_TUNE_OPTIONS_VERSION, .slice_bytes = 256ull << 20 }

/* Initialises *opts as HP_TUNE_OPTIONS_INIT does. Returns HP_EINVAL for a
 * version this library does not know. */
HP_API int hp_tune_options_init(hp_tune_options *opts, unsigned version);

/* One measured thread count. */
typedef struct hp_tune_sample {
    hp_tune_point point;     /* seconds: the median of the last min_runs runs */
    int runs;                /* timed runs it took */
    double spread;           /* (slowest - fastest) / median of those runs */
    int noisy;               /* never within the tolerance in max_runs runs */
} hp_tune_sample;

/* Digests the first slice of FILEBASE.hpd into a scratch file (nothing is
 * left behind) with 1, 2, 4, ... threads and max_threads, after one
 * untimed run that warms the page cache; each point is run again until its
 * last min_runs runs agree within the tolerance, or max_runs were made (it
 * is then marked noisy). Fills up to `cap` samples. *recommended: among
 * the counts no larger than the cores, those with a parallel efficiency of
 * at least min_efficiency (one thread always qualifies), the fewest that
 * reach throughput_share of the best throughput measured among them: cores
 * beyond that point digest other profiles better (digest --jobs). */
HP_API int hp_tune_ex(const char *filebase, double interval, double precision,
                       const hp_tune_options *opts, hp_tune_sample *samples, size_t cap,
                       size_t *nsamples, int *recommended);

/* ------------------------------------------------------------------------
 * Looking at digests: which snapshot, exports, timelines, diffs
 *
 * hp_export(), hp_timeline() and hp_diff() read FILEBASE.hpc and, for the
 * stacks, FILEBASE.hpm: only the traces of the snapshots they use are kept,
 * read in one pass over the .hpm. They write one output, atomically like a
 * digest (no file appears after a failure; an existing one is untouched),
 * or to a stream the caller gives. Everything is read and checked before
 * the first byte is written, and the same input and options give the same
 * bytes. A snapshot naming a trace the .hpm lacks (a digest of another
 * profile) is an error; an empty snapshot gives a valid, empty output.
 * A frame is written "file:line", a stack outermost first; trace 0 (the
 * bytes below the precision cutoff, and untraced allocations) is "OTHER".
 * ---------------------------------------------------------------------- */

/* Which snapshot. Zero-initialised, it is the peak. */
typedef enum hp_at_kind {
    HP_AT_PEAK = 0,  /* the snapshot with the highest total; the first on ties */
    HP_AT_LAST = 1,  /* the last snapshot */
    HP_AT_TIME = 2,  /* `seconds` of relative time, rounded down to a snapshot */
} hp_at_kind;

typedef struct hp_at {
    hp_at_kind kind;
    double seconds;  /* HP_AT_TIME only */
} hp_at;

/* Parses "peak", "last" or a number of seconds >= 0. Returns HP_OK, or
 * HP_EINVAL with a message quoting the text. */
HP_API int hp_at_parse(const char *text, hp_at *at);

/* The index of the snapshot `at` names in hpc: a time T is snapshot
 * floor(T / interval) (with a 1e-9 tolerance, so 0.3 s is snapshot 3 of a
 * 0.1 s digest); the peak compares every snapshot's total (as signed
 * 64-bit sums: heapprof's own digests can store negative entries). Returns
 * HP_OK, HP_ERANGE for a time past the last snapshot or a digest with no
 * snapshots (the message names the file and the times it covers), or an
 * error reading the digest. */
HP_API int hp_hpc_find(hp_hpc *hpc, const hp_at *at, size_t *k);

/* Where an output goes (the `output` and `stream` fields below): a stream
 * when `stream` is set (written as it is made: the output is complete, or
 * an error is returned), else `output`, else a default name beside the
 * profile. `output` is written as a digest is (docs/DESIGN.md, "Outputs"):
 * whole or not at all, "-" being standard output, and never over one of its
 * inputs (the .hpc and .hpm read: HP_EINVAL). */

typedef enum hp_export_format {
    HP_EXPORT_PPROF = 0,      /* pprof's gzip-compressed profile.proto, inuse_space in bytes */
    HP_EXPORT_COLLAPSED = 1,  /* folded stacks, exactly heapprof's Reader.flameGraph() lines */
    HP_EXPORT_SPEEDSCOPE = 2, /* speedscope's JSON file format, one profile per snapshot */
    HP_EXPORT_JSON = 3,       /* the entries: trace, bytes, share, innermost frame */
    HP_EXPORT_CSV = 4,        /* the same as CSV, with a header line */
} hp_export_format;

/* The format's name ("pprof", "collapsed", "speedscope", "json", "csv"), or
 * NULL for a value that is none. */
HP_API const char *hp_export_format_name(hp_export_format format);

/* A format by its name: HP_OK, or HP_EINVAL. */
HP_API int hp_export_format_parse(const char *name, hp_export_format *format);

/* The default output's extension ("pb.gz", "collapsed", "speedscope.json",
 * "json", "csv"): FILEBASE.EXTENSION. NULL for an unknown format. */
HP_API const char *hp_export_extension(hp_export_format format);

/* What an export wrote, when hp_export_options.info is set. */
typedef struct hp_export_info {
    size_t snapshot;       /* the (first) snapshot exported */
    size_t snapshots;      /* how many: 1, or a speedscope series' length */
    double relative_time;  /* of the first, seconds */
    int64_t total;         /* its total bytes */
    size_t entries;        /* its entries, OTHER included */
    uint64_t bytes;        /* bytes written */
} hp_export_info;

#define HP_EXPORT_OPTIONS_VERSION 1

typedef struct hp_export_options {
    unsigned version;          /* HP_EXPORT_OPTIONS_VERSION */
    hp_export_format format;   /* default HP_EXPORT_PPROF */
    hp_at at;                  /* the snapshot; default the peak */
    int series;                /* speedscope only: the snapshots from `from`
                                  to `to` instead of `at` */
    hp_at from, to;            /* a series' first and last snapshot */
    size_t every;              /* a series takes every `every`-th; 0: 1 */
    const char *output;        /* NULL: FILEBASE.EXTENSION */
    FILE *stream;              /* when set, written here (output is ignored) */
    hp_export_info *info;      /* filled when not NULL */
} hp_export_options;

#define HP_EXPORT_OPTIONS_INIT { .version = HP_EXPORT_OPTIONS_VERSION, .format = HP_EXPORT_PPROF }

/* Initialises *opts as HP_EXPORT_OPTIONS_INIT does. Returns HP_EINVAL for
 * a version this library does not know. */
HP_API int hp_export_options_init(hp_export_options *opts, unsigned version);

/* Exports snapshots of FILEBASE.hpc (docs/FORMATS.md, "Exports"):
 *   pprof       one sample per trace, its frames as locations (innermost
 *               first), one function per (file, line) named "file:line"
 *               and its source line where the source file can be read,
 *               OTHER as one sample; time_nanos = start + the snapshot's
 *               time; sample and period type inuse_space/space, bytes;
 *   collapsed   "file:line;...;file:line BYTES" per entry in stored order,
 *               then "OTHER BYTES" when the other bytes are > 0;
 *   speedscope  one "sampled" profile (unit bytes) per snapshot;
 *   json, csv   the entries in stored order.
 * Returns HP_OK or an error; HP_EINVAL for inconsistent options (a series
 * in another format than speedscope, `from` after `to`). */
HP_API int hp_export(const char *filebase, const hp_export_options *opts);

/* The layout of a timeline. */
typedef enum hp_table_format {
    HP_TABLE_CSV = 0,   /* a header line, then one line per snapshot */
    HP_TABLE_JSON = 1,  /* {"columns": [...], "rows": [[...], ...]} and the column stacks */
} hp_table_format;

#define HP_TIMELINE_OPTIONS_VERSION 1

typedef struct hp_timeline_options {
    unsigned version;          /* HP_TIMELINE_OPTIONS_VERSION */
    size_t top;                /* columns for this many traces; default 10 */
    hp_table_format format;    /* default HP_TABLE_CSV */
    int threads;               /* readers at once; 0: OMP_NUM_THREADS, else every core */
    const char *output;        /* NULL: FILEBASE.timeline.csv or .json */
    FILE *stream;              /* when set, written here (output is ignored) */
} hp_timeline_options;

#define HP_TIMELINE_OPTIONS_INIT { .version = HP_TIMELINE_OPTIONS_VERSION, .top = 10 }

/* Initialises *opts as HP_TIMELINE_OPTIONS_INIT does. Returns HP_EINVAL
 * for a version this library does not know. */
HP_API int hp_timeline_options_init(hp_timeline_options *opts, unsigned version);

/* One row per snapshot of FILEBASE.hpc: the relative time, the total, the
 * live bytes of the `top` traces with the highest peaks (ranked by peak,
 * ties by trace index; each column labelled by its innermost "file:line",
 * with " #TRACE" added where two labels would be equal), and everything
 * else as "other". The digest is read in two passes over blocks of
 * snapshots on `threads` threads: one ranks the traces (reading of a
 * digest heapprof-c wrote only the entries that can rank), one sums the
 * rows. Memory is O(top) per block and thread plus one number per trace
 * index up to the highest shown, never O(snapshots x traces). */
HP_API int hp_timeline(const char *filebase, const hp_timeline_options *opts);

typedef enum hp_diff_format {
    HP_DIFF_TEXT = 0,       /* a summary, then the stacks that changed, largest change first */
    HP_DIFF_JSON = 1,       /* the summary and every stack, matched or not */
    HP_DIFF_COLLAPSED = 2,  /* flamegraph.pl's differential input: "STACK BEFORE AFTER" */
    HP_DIFF_PPROF = 3,      /* the change as inuse_space samples (negative: shrank) */
} hp_diff_format;

/* A diff format's name ("text", "json", "collapsed", "pprof") and back. */
HP_API const char *hp_diff_format_name(hp_diff_format format);
HP_API int hp_diff_format_parse(const char *name, hp_diff_format *format);

/* A growth threshold: bytes, or a percentage of the base snapshot's total. */
typedef enum hp_threshold_kind {
    HP_THRESHOLD_NONE = 0,
    HP_THRESHOLD_BYTES = 1,
    HP_THRESHOLD_PERCENT = 2,
} hp_threshold_kind;

typedef struct hp_threshold {
    hp_threshold_kind kind;
    double value;  /* bytes, or percent */
} hp_threshold;

/* Parses "BYTES" (an integer, optionally with a KiB, MiB or GiB suffix) or
 * "PERCENT%": HP_OK, or HP_EINVAL. */
HP_API int hp_threshold_parse(const char *text, hp_threshold *threshold);

/* What a diff found, when hp_diff_options.summary is set. */
typedef struct hp_diff_summary {
    size_t base_snapshot, new_snapshot;
    double base_time, new_time;        /* relative, seconds */
    int64_t base_total, new_total;
    size_t matched, base_only, new_only; /* stacks (OTHER aside) */
    size_t changed;                    /* stacks whose bytes differ (OTHER aside) */
    int64_t max_growth;                /* the largest growth of one stack, or 0 */
    int over;                          /* the threshold was passed */
} hp_diff_summary;

#define HP_DIFF_OPTIONS_VERSION 1

typedef struct hp_diff_options {
    unsigned version;          /* HP_DIFF_OPTIONS_VERSION */
    hp_diff_format format;     /* default HP_DIFF_TEXT */
    hp_at base_at, new_at;     /* default: each one's peak */
    hp_threshold fail_over;    /* HP_THRESHOLD_NONE: no check */
    size_t top;                /* text: at most this many stacks; 0: all */
    const char *output;        /* NULL: NEW.diff.txt, .json, .collapsed or .pb.gz */
    FILE *stream;              /* when set, written here (output is ignored) */
    hp_diff_summary *summary;  /* filled when not NULL */
} hp_diff_options;

#define HP_DIFF_OPTIONS_INIT { .version = HP_DIFF_OPTIONS_VERSION, .format = HP_DIFF_TEXT }

/* Initialises *opts as HP_DIFF_OPTIONS_INIT does. Returns HP_EINVAL for a
 * version this library does not know. */
HP_API int hp_diff_options_init(hp_diff_options *opts, unsigned version);

/* Compares a snapshot of BASE with one of NEW (filebases; the same one
 * compares two times of one run). Stacks are matched by their frames (the
 * list of file names and lines), not by trace index; traces of one run with
 * equal frames are summed. The threshold is passed when the total, or any
 * one stack (OTHER aside: the total counts it), grew by more than it; a
 * percentage is of the base total. Returns HP_OK, HP_OVER_LIMIT when the
 * threshold was passed (the output is written either way), or an error. */
HP_API int hp_diff(const char *base, const char *new_filebase, const hp_diff_options *opts);

/* Advice for a batch: the cost of a digest measured on the batch's largest
 * profile (hp_tune with up to max_threads threads, capped by
 * hp_thread_count, on its first slice_bytes), then the whole batch replayed
 * under that model with the automatic scheduler and with every fixed
 * --jobs. */
typedef struct hp_batch_tuning {
    int cores;              /* the threads the batch would use */
    double s_per_byte;      /* measured: one thread's seconds per .hpd byte */
    double serial;          /* measured: a digest's serial fraction */
    double automatic_s;     /* predicted seconds with the scheduler */
    int best_jobs;          /* the best fixed --jobs under the model */
    double best_jobs_s;     /* and its predicted seconds */
    int advise_jobs;        /* 1 when that --jobs beats the scheduler by over 10% */
    size_t sample;          /* the profile measured (hp_batch_filebase's index) */
    hp_tune_sample points[16]; /* its measurements, as hp_tune_ex gives them */
    size_t npoints;
} hp_batch_tuning;

HP_API int hp_tune_batch(const hp_batch *b, double interval, double precision, int max_threads,
                         uint64_t slice_bytes, hp_batch_tuning *out);

#ifdef __cplusplus
}
#endif

#endif /* HEAPPROF_H */
