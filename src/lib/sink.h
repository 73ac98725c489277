/* sink.h - where an export's bytes go: an output file that appears whole
 * or not at all (outfile.h), or a stream the caller owns.
 *
 * Writes are buffered and the first error is kept (later writes do nothing),
 * so the writers of each format need not check every call: hp_sink_close()
 * reports it, and a failed sink leaves no file. Escaping for JSON strings
 * and CSV fields lives here too, so every format quotes alike. */
#ifndef HP_SINK_H
#define HP_SINK_H

#include "mapfile.h"
#include "outfile.h"

#include <stdint.h>
#include <stdio.h>

typedef struct hp_sink {
    hp_outfile file;   /* when stream is NULL */
    int file_open;
    FILE *stream;      /* the caller's, or NULL */
    char *name;        /* for messages */
    char *buf;
    size_t len, cap;
    int rc;            /* the first error, or HP_OK */
    uint64_t written;  /* bytes accepted so far */
} hp_sink;

/* Opens a sink on `stream` when not NULL, else on an output (outfile.h) at
 * `path`, which must not be one of the n `inputs` the output is made from;
 * "-" is standard output, written only once the output is complete.
 * Returns HP_OK or an error (the sink then needs no close). */
int hp_sink_open(hp_sink *s, const char *path, FILE *stream, const hp_map *const *inputs, size_t n);

void hp_sink_put(hp_sink *s, const void *p, size_t n);
void hp_sink_str(hp_sink *s, const char *str);
void hp_sink_printf(hp_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hp_sink_i64(hp_sink *s, int64_t v);
void hp_sink_u64(hp_sink *s, uint64_t v);

/* `str` as a JSON string literal, quotes included. Bytes that are not
 * valid UTF-8 become U+FFFD, so that the output is always valid JSON. */
void hp_sink_json(hp_sink *s, const char *str);

/* `str` as one CSV field (RFC 4180): quoted when it holds a comma, a quote,
 * a line break or leading/trailing space. */
void hp_sink_csv(hp_sink *s, const char *str);

/* Seconds from whole milliseconds, exactly: 3400 -> "3.4", 0 -> "0". */
void hp_sink_ms(hp_sink *s, uint64_t ms);

/* The same into buf (at least HP_MS_BUF bytes); returns buf. */
#define HP_MS_BUF 32
char *hp_format_ms(char *buf, uint64_t ms);

/* Flushes and, for a file, makes it appear. Returns HP_OK or the first
 * error (the file is then discarded). The sink is closed either way. */
int hp_sink_close(hp_sink *s);

/* Discards everything (no file appears). */
void hp_sink_abort(hp_sink *s);

#endif
