/* output.c - the public face of outfile.c, for a program's own files. */
#include "error.h"
#include "outfile.h"

#include <stdlib.h>
#include <string.h>

#define OUTPUT_BUFFER (64u << 10)

struct hp_output {
    hp_outfile f;
    unsigned char buf[OUTPUT_BUFFER];
    size_t len;
};

int hp_output_open(hp_output **out, const char *path)
{
    *out = malloc(sizeof **out);
    if (!*out)
        return hp_fail(HP_ENOMEM, "out of memory");
    (*out)->len = 0;
    int rc = hp_outfile_open(&(*out)->f, path, NULL, 0);
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

static int flush(hp_output *o)
{
    int rc = hp_outfile_append(&o->f, o->buf, o->len);
    o->len = 0;
    return rc;
}

int hp_output_write(hp_output *o, const void *data, size_t len)
{
    if (o->len + len > OUTPUT_BUFFER)
        HP_TRY(flush(o));
    if (len > OUTPUT_BUFFER)
        return hp_outfile_append(&o->f, data, len);
    memcpy(o->buf + o->len, data, len);
    o->len += len;
    return HP_OK;
}

int hp_output_commit(hp_output *o)
{
    int rc = flush(o);
    if (rc == HP_OK)
        rc = hp_outfile_commit(&o->f);
    hp_output_abort(o);
    return rc;
}

void hp_output_abort(hp_output *o)
{
    if (!o)
        return;
    hp_outfile_abort(&o->f);
    free(o);
}
