/* _heapprof_c.c - the C extension module of the heapprof_c package.
 *
 * Written against include/heapprof.h alone and the CPython limited API
 * (Py_LIMITED_API 3.9: one build serves every CPython 3.9 and later). It
 * holds the handles (HPM, HPD, HPC), the digest (make) and the bulk loops of
 * the Reader (snapshot totals and per-line series); everything else is
 * Python, in heapprof_c/.
 *
 * Conventions:
 *   - Every handle object has a lock. A call takes it, releases the GIL
 *     while the library works, takes the GIL back to build Python objects,
 *     and drops the lock. A thread that finds the lock taken waits for it
 *     without the GIL (lock_handle), so no thread can hold the lock while
 *     waiting for the GIL that another thread, waiting for the lock, holds.
 *     close() takes the lock too, so a handle is never freed under a call.
 *   - A failed library call raises with hp_last_error(), the library's
 *     one-line message, read on the thread that made the call (hp_raise).
 *   - heapprof's NamedTuples (RawTraceLine, Snapshot, HPDEvent) are Python
 *     classes, registered by heapprof_c.lowlevel (_register); instances are
 *     made by new_tuple().
 */
#define Py_LIMITED_API 0x03090000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <heapprof.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- module state ---------------------------------------------------------
 * Module-level globals: the module is single-phase and is not meant for
 * several interpreters at once (neither is libgomp). */

static PyObject *FormatError;
static PyObject *RawTraceLineType, *SnapshotType, *HPDEventType;
static allocfunc RawTraceLineAlloc, SnapshotAlloc, HPDEventAlloc;
static PyObject *tuple_new;  /* tuple.__new__ */
static int fast_tuples;      /* see new_tuple() */
static PyObject *HPMType, *HPDType, *HPDIterType, *HPCType, *HPCIterType;

/* ---- NamedTuple instances --------------------------------------------------
 * A NamedTuple instance is a tuple subclass instance. CPython's own
 * tuple.__new__ for a subclass allocates it with the type's tp_alloc and
 * fills the items; on CPython 3.9-3.13 new_tuple() does the same directly
 * (about 1.5x faster than calling tuple.__new__, which is what lets HPD
 * iteration pass 5 million events/s). CPython 3.14 caches a tuple's hash in
 * the object, which only its own allocation paths initialise, so from 3.14
 * on (and on any version this code does not know) new_tuple() calls
 * tuple.__new__: slower, always right. docs/PYTHON.md has the figures. */

/* Steals items[0..n); returns a new instance of cls or NULL. */
static PyObject *new_tuple(PyObject *cls, allocfunc alloc, Py_ssize_t n, PyObject **items)
{
    PyObject *t = NULL;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!items[i])
            goto out;
    if (fast_tuples) {
        t = alloc((PyTypeObject *)cls, n);
        if (!t)
            goto out;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyTuple_SetItem(t, i, items[i]); /* steals; cannot fail on a new tuple */
            items[i] = NULL;
        }
        return t;
    }
    PyObject *args = PyTuple_New(n);
    if (!args)
        goto out;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyTuple_SetItem(args, i, items[i]);
        items[i] = NULL;
    }
    t = PyObject_CallFunctionObjArgs(tuple_new, cls, args, NULL);
    Py_DECREF(args);
out:
    for (Py_ssize_t i = 0; i < n; i++)
        Py_XDECREF(items[i]);
    return t;
}

static int check_registered(void)
{
    if (RawTraceLineType && SnapshotType && HPDEventType)
        return 0;
    PyErr_SetString(PyExc_RuntimeError, "heapprof_c._heapprof_c: types not registered (import heapprof_c)");
    return -1;
}

/* ---- errors --------------------------------------------------------------- */

static PyObject *os_error_type(int err, const char *msg)
{
    switch (err) {
    case ENOENT: return PyExc_FileNotFoundError;
    case EACCES:
    case EPERM: return PyExc_PermissionError;
    case EISDIR: return PyExc_IsADirectoryError;
    case ENOTDIR: return PyExc_NotADirectoryError;
    case EEXIST: return PyExc_FileExistsError;
    default: break;
    }
    if (strstr(msg, ": is a directory"))
        return PyExc_IsADirectoryError;
    return PyExc_OSError;
}

/* Raises the exception for a failed library call: rc is its hp_error, err
 * the errno right after it, m its message (hp_last_error(), which names the
 * file and, for damaged data, the byte offset). Returns NULL. */
static PyObject *raise_message(int rc, int err, const char *m)
{
    if (rc == HP_ECANCELED && PyErr_Occurred())
        return NULL; /* a signal handler's exception (KeyboardInterrupt) */
    if (!m || !m[0])
        m = hp_strerror(rc);
    PyObject *type;
    switch (rc) {
    case HP_EIO: type = os_error_type(err, m); break;
    case HP_EFORMAT:
    case HP_EVERSION:
    case HP_ELIMIT: type = FormatError; break;
    case HP_EINVAL: type = PyExc_ValueError; break;
    case HP_ERANGE: type = PyExc_IndexError; break;
    case HP_ENOMEM: type = PyExc_MemoryError; break;
    case HP_ECANCELED: type = PyExc_KeyboardInterrupt; break;
    default: type = PyExc_RuntimeError; break;
    }
    PyObject *msg = PyUnicode_DecodeUTF8(m, (Py_ssize_t)strlen(m), "replace");
    if (!msg)
        return NULL;
    PyObject *exc = PyObject_CallFunctionObjArgs(type, msg, NULL);
    Py_DECREF(msg);
    if (!exc)
        return NULL;
    if (rc == HP_EIO && err) { /* str(exc) stays the message; errno for callers */
        PyObject *e = PyLong_FromLong(err);
        if (!e || PyObject_SetAttrString(exc, "errno", e) < 0) {
            Py_XDECREF(e);
            Py_DECREF(exc);
            return NULL;
        }
        Py_DECREF(e);
    }
    PyErr_SetObject(type, exc);
    Py_DECREF(exc);
    return NULL;
}

static PyObject *hp_raise(int rc, int err) { return raise_message(rc, err, hp_last_error()); }

static PyObject *closed_error(const char *what)
{
    PyErr_Format(PyExc_ValueError, "I/O operation on a closed %s", what);
    return NULL;
}

/* ---- locks ----------------------------------------------------------------
 * A handle's lock, and the thread that holds it: a thread that uses a handle
 * again while it holds its lock (a finalizer run by the garbage collector
 * while the handle builds Python objects) gets RuntimeError instead of
 * waiting for itself forever. */

typedef struct {
    PyThread_type_lock lock;
    unsigned long owner; /* PyThread_get_thread_ident() of the holder, or 0 */
} hlock;

static int hlock_init(hlock *l)
{
    l->lock = PyThread_allocate_lock();
    l->owner = 0;
    if (!l->lock) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void hlock_free(hlock *l)
{
    if (l->lock)
        PyThread_free_lock(l->lock);
    l->lock = NULL;
}

static int lock_handle(hlock *l)
{
    unsigned long me = PyThread_get_thread_ident();
    if (__atomic_load_n(&l->owner, __ATOMIC_RELAXED) == me) {
        PyErr_SetString(PyExc_RuntimeError,
                        "heapprof_c: a handle used again by the thread that is using it");
        return -1;
    }
    if (!PyThread_acquire_lock(l->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(l->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    __atomic_store_n(&l->owner, me, __ATOMIC_RELAXED);
    return 0;
}

static void unlock_handle(hlock *l)
{
    __atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
    PyThread_release_lock(l->lock);
}

/* Runs `stmt` with the GIL released, capturing errno right after it. */
#define NOGIL(stmt, err)                                                        \
    do {                                                                        \
        Py_BEGIN_ALLOW_THREADS                                                  \
        errno = 0;                                                              \
        stmt;                                                                   \
        err = errno;                                                            \
        Py_END_ALLOW_THREADS                                                    \
    } while (0)

static void generic_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    f(self);
    Py_DECREF(tp);
}

static PyObject *alloc_object(PyObject *type)
{
    allocfunc a = (allocfunc)PyType_GetSlot((PyTypeObject *)type, Py_tp_alloc);
    return a((PyTypeObject *)type, 0);
}

/* A path argument (str, bytes or os.PathLike) as a bytes object. */
static int path_arg(PyObject *arg, PyObject **out)
{
    return PyUnicode_FSConverter(arg, out);
}

static PyObject *pylong_from_i64(int64_t v) { return PyLong_FromLongLong((long long)v); }

/* ===========================================================================
 * HPM: the .hpm handle, with the Python-side caches of raw traces
 * ======================================================================== */

typedef struct {
    PyObject_HEAD
    hlock lock;
    hp_hpm *hpm;
    PyObject **traces;   /* list per trace index (NULL: not built yet) */
    size_t traces_cap;
    PyObject **names;    /* str per file id */
    size_t names_cap;
    PyObject *frames;    /* dict: (file_id << 32 | lineno) -> RawTraceLine */
} HPMObject;

static void hpm_clear(HPMObject *self)
{
    for (size_t i = 0; i < self->traces_cap; i++)
        Py_XDECREF(self->traces[i]);
    PyMem_Free(self->traces);
    self->traces = NULL;
    self->traces_cap = 0;
    for (size_t i = 0; i < self->names_cap; i++)
        Py_XDECREF(self->names[i]);
    PyMem_Free(self->names);
    self->names = NULL;
    self->names_cap = 0;
    Py_CLEAR(self->frames);
}

static PyObject *hpm_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"filebase", NULL};
    PyObject *path = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:HPMHandle", kwlist, path_arg, &path))
        return NULL;
    HPMObject *self = (HPMObject *)alloc_object((PyObject *)type);
    if (!self) {
        Py_DECREF(path);
        return NULL;
    }
    self->frames = PyDict_New();
    if (hlock_init(&self->lock) < 0 || !self->frames) {
        Py_DECREF(path);
        Py_DECREF(self);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    const char *p = PyBytes_AsString(path);
    int rc, err;
    NOGIL(rc = hp_hpm_open(&self->hpm, p), err);
    Py_DECREF(path);
    if (rc < 0) {
        Py_DECREF(self);
        return hp_raise(rc, err);
    }
    return (PyObject *)self;
}

static void hpm_dealloc(PyObject *o)
{
    HPMObject *self = (HPMObject *)o;
    hp_hpm_close(self->hpm);
    hpm_clear(self);
    hlock_free(&self->lock);
    generic_dealloc(o);
}

static PyObject *hpm_close(PyObject *o, PyObject *unused)
{
    (void)unused;
    HPMObject *self = (HPMObject *)o;
    if (lock_handle(&self->lock) < 0)
        return NULL;
    hp_hpm *h = self->hpm;
    self->hpm = NULL;
    unlock_handle(&self->lock);
    hp_hpm_close(h);
    hpm_clear(self);
    Py_RETURN_NONE;
}

static PyObject *hpm_closed(PyObject *o, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((HPMObject *)o)->hpm == NULL);
}

static PyObject *hpm_initial_time(PyObject *o, PyObject *unused)
{
    (void)unused;
    HPMObject *self = (HPMObject *)o;
    if (!self->hpm)
        return closed_error("HPM");
    uint64_t sec, nsec;
    hp_hpm_initial_timespec(self->hpm, &sec, &nsec);
    return Py_BuildValue("(dKK)", hp_hpm_initial_time(self->hpm), (unsigned long long)sec,
                         (unsigned long long)nsec);
}

static PyObject *hpm_sampling_rate(PyObject *o, PyObject *unused)
{
    (void)unused;
    HPMObject *self = (HPMObject *)o;
    if (!self->hpm)
        return closed_error("HPM");
    size_t n;
    const hp_range *r = hp_hpm_sampling_ranges(self->hpm, &n);
    PyObject *d = PyDict_New();
    for (size_t i = 0; d && i < n; i++) {
        PyObject *k = PyLong_FromUnsignedLongLong(r[i].max_bytes);
        PyObject *v = PyFloat_FromDouble(r[i].probability);
        if (!k || !v || PyDict_SetItem(d, k, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    return d;
}

static PyObject *hpm_num_traces(PyObject *o, PyObject *unused)
{
    (void)unused;
    HPMObject *self = (HPMObject *)o;
    if (lock_handle(&self->lock) < 0)
        return NULL;
    if (!self->hpm) {
        unlock_handle(&self->lock);
        return closed_error("HPM");
    }
    uint32_t n = 0;
    int rc, err;
    NOGIL(rc = hp_hpm_num_traces(self->hpm, &n), err);
    unlock_handle(&self->lock);
    if (rc < 0)
        return hp_raise(rc, err);
    return PyLong_FromUnsignedLong(n);
}

static PyObject *hpm_warm(PyObject *o, PyObject *unused)
{
    (void)unused;
    HPMObject *self = (HPMObject *)o;
    if (lock_handle(&self->lock) < 0)
        return NULL;
    if (!self->hpm) {
        unlock_handle(&self->lock);
        return closed_error("HPM");
    }
    int rc, err;
    NOGIL(rc = hp_hpm_warm_raw_trace_cache(self->hpm), err);
    unlock_handle(&self->lock);
    if (rc < 0)
        return hp_raise(rc, err);
    Py_RETURN_NONE;
}

static int grow_array(PyObject ***a, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    PyObject **p = PyMem_Realloc(*a, n * sizeof *p);
    if (!p) {
        PyErr_NoMemory();
        return -1;
    }
    memset(p + *cap, 0, (n - *cap) * sizeof *p);
    *a = p;
    *cap = n;
    return 0;
}

/* The interned file name of a file id (a new reference). Lock held. */
static PyObject *file_name(HPMObject *self, uint32_t id)
{
    if (grow_array(&self->names, &self->names_cap, (size_t)id + 1) < 0)
        return NULL;
    if (!self->names[id]) {
        const char *s = hp_hpm_file_name(self->hpm, id);
        if (!s)
            s = "";
        /* names are UTF-8 as heapprof writes them; damaged bytes become U+FFFD */
        self->names[id] = PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
        if (!self->names[id])
            return NULL;
    }
    Py_INCREF(self->names[id]);
    return self->names[id];
}

/* The RawTraceLine of a frame, one object per distinct (file, line). Lock held. */
static PyObject *frame_line(HPMObject *self, const hp_frame *f)
{
    PyObject *key = PyLong_FromUnsignedLongLong(((unsigned long long)f->file_id << 32) | f->lineno);
    if (!key)
        return NULL;
    PyObject *line = PyDict_GetItem(self->frames, key); /* borrowed */
    if (line) {
        Py_DECREF(key);
        Py_INCREF(line);
        return line;
    }
    PyObject *items[2] = {file_name(self, f->file_id), PyLong_FromUnsignedLong(f->lineno)};
    line = new_tuple(RawTraceLineType, RawTraceLineAlloc, 2, items);
    if (line && PyDict_SetItem(self->frames, key, line) < 0)
        Py_CLEAR(line);
    Py_DECREF(key);
    return line;
}

/* Trace `index` as a list of RawTraceLine, outermost first (cached: the same
 * list every time, as heapprof's HPM.rawTrace returns), or None. */
static PyObject *raw_trace(HPMObject *self, uint32_t index)
{
    if (index < self->traces_cap && self->traces[index]) {
        Py_INCREF(self->traces[index]);
        return self->traces[index];
    }
    if (check_registered() < 0)
        return NULL;
    if (lock_handle(&self->lock) < 0)
        return NULL;
    if (!self->hpm) {
        unlock_handle(&self->lock);
        return closed_error("HPM");
    }
    const hp_frame *frames;
    size_t depth;
    int rc, err;
    NOGIL(rc = hp_hpm_raw_trace(self->hpm, index, &frames, &depth), err);
    if (rc < 0) {
        unlock_handle(&self->lock);
        return hp_raise(rc, err);
    }
    if (rc == HP_NO_TRACE) {
        unlock_handle(&self->lock);
        Py_RETURN_NONE;
    }
    PyObject *list = PyList_New((Py_ssize_t)depth);
    for (size_t i = 0; list && i < depth; i++) {
        PyObject *line = frame_line(self, &frames[i]);
        if (!line)
            Py_CLEAR(list);
        else
            PyList_SetItem(list, (Py_ssize_t)i, line);
    }
    unlock_handle(&self->lock);
    if (!list)
        return NULL;
    if (grow_array(&self->traces, &self->traces_cap, (size_t)index + 1) < 0) {
        Py_DECREF(list);
        return NULL;
    }
    Py_INCREF(list);
    self->traces[index] = list;
    return list;
}

/* A trace index argument: any int; those no trace can have give *ok = 0. */
static int trace_index_arg(PyObject *arg, uint32_t *index, int *ok)
{
    PyObject *i = PyNumber_Index(arg);
    if (!i)
        return -1;
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(i, &overflow);
    Py_DECREF(i);
    if (v == -1 && PyErr_Occurred())
        return -1;
    *ok = !overflow && v > 0 && v <= (long long)UINT32_MAX;
    *index = *ok ? (uint32_t)v : 0;
    return 0;
}

static PyObject *hpm_raw_trace(PyObject *o, PyObject *arg)
{
    HPMObject *self = (HPMObject *)o;
    uint32_t index;
    int ok;
    if (trace_index_arg(arg, &index, &ok) < 0)
        return NULL;
    if (!self->hpm)
        return closed_error("HPM");
    if (!ok)
        Py_RETURN_NONE;
    return raw_trace(self, index);
}

static PyMethodDef hpm_methods[] = {
    {"close", hpm_close, METH_NOARGS, "Releases the handle (twice is harmless)."},
    {"initial_time", hpm_initial_time, METH_NOARGS, "(seconds as a float, sec, nsec)."},
    {"sampling_rate", hpm_sampling_rate, METH_NOARGS, "{max_bytes: probability}, ascending."},
    {"num_traces", hpm_num_traces, METH_NOARGS, "The number of complete traces."},
    {"warm", hpm_warm, METH_NOARGS, "Loads every trace (GIL released)."},
    {"raw_trace", hpm_raw_trace, METH_O, "List of RawTraceLine, outermost first, or None."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef hpm_getset[] = {
    {"closed", hpm_closed, NULL, "True once closed.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot hpm_slots[] = {
    {Py_tp_new, hpm_new},
    {Py_tp_dealloc, hpm_dealloc},
    {Py_tp_methods, hpm_methods},
    {Py_tp_getset, hpm_getset},
    {Py_tp_doc, "HPMHandle(filebase): an open FILEBASE.hpm."},
    {0, NULL},
};

static PyType_Spec hpm_spec = {"heapprof_c._heapprof_c.HPMHandle", sizeof(HPMObject), 0,
                               Py_TPFLAGS_DEFAULT, hpm_slots};

/* ===========================================================================
 * HPD: a profile's event log, and its iterators
 * ======================================================================== */

typedef struct {
    PyObject_HEAD
    HPMObject *hpm;     /* the HPM whose start time and sampling apply */
    PyObject *filebase; /* bytes */
    int salvage;
    int closed;
} HPDObject;

#define HPD_BATCH 1024
#define SCALE_CACHE 8

typedef struct {
    PyObject_HEAD
    hlock lock;
    HPDObject *owner;
    hp_hpd *hpd;
    hp_event buf[HPD_BATCH];
    int pos, count;
    int end;              /* HP_END seen */
    int pending_rc, pending_err;
    char *pending_msg;    /* a failure after the buffered events */
    hp_skip *skips;       /* stretches skipped since the last warning */
    size_t nskips, skips_cap;
    double scale_key[SCALE_CACHE];
    PyObject *scale_val[SCALE_CACHE];
    int nscale;
    PyObject **trace_ints; /* trace index -> int, below TRACE_CACHE_MAX */
    size_t trace_ints_cap;
} HPDIterObject;

/* Trace indexes repeat: their ints are made once (up to this many: 8 MB). */
#define TRACE_CACHE_MAX (1u << 20)

static PyObject *hpd_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"hpm", "filebase", "salvage", NULL};
    PyObject *hpm, *path = NULL;
    int salvage = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!O&|p:HPDHandle", kwlist, (PyTypeObject *)HPMType,
                                     &hpm, path_arg, &path, &salvage))
        return NULL;
    HPDObject *self = (HPDObject *)alloc_object((PyObject *)type);
    if (!self) {
        Py_DECREF(path);
        return NULL;
    }
    Py_INCREF(hpm);
    self->hpm = (HPMObject *)hpm;
    self->filebase = path;
    self->salvage = salvage;
    return (PyObject *)self;
}

static void hpd_dealloc(PyObject *o)
{
    HPDObject *self = (HPDObject *)o;
    Py_XDECREF(self->hpm);
    Py_XDECREF(self->filebase);
    generic_dealloc(o);
}

static PyObject *hpd_close(PyObject *o, PyObject *unused)
{
    (void)unused;
    ((HPDObject *)o)->closed = 1;
    Py_RETURN_NONE;
}

static PyObject *hpd_closed(PyObject *o, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((HPDObject *)o)->closed);
}

static void on_skip(void *ctx, const hp_skip *s)
{
    HPDIterObject *it = ctx; /* called while the iterator decodes, GIL released */
    if (it->nskips == it->skips_cap) {
        size_t n = it->skips_cap ? it->skips_cap * 2 : 16;
        hp_skip *p = realloc(it->skips, n * sizeof *p);
        if (!p)
            return; /* the warning is lost, the iteration goes on */
        it->skips = p;
        it->skips_cap = n;
    }
    it->skips[it->nskips] = *s;
    it->skips[it->nskips++].path = NULL;
}

/* iter(HPDHandle): a new reader of the .hpd, positioned at the first event. */
static PyObject *hpd_iter(PyObject *o)
{
    HPDObject *self = (HPDObject *)o;
    if (self->closed)
        return closed_error("HPD");
    if (check_registered() < 0)
        return NULL;
    HPDIterObject *it = (HPDIterObject *)alloc_object(HPDIterType);
    if (!it)
        return NULL;
    Py_INCREF(self);
    it->owner = self;
    if (hlock_init(&it->lock) < 0) {
        Py_DECREF(it);
        return NULL;
    }
    HPMObject *hpm = self->hpm;
    if (lock_handle(&hpm->lock) < 0) {
        Py_DECREF(it);
        return NULL;
    }
    if (!hpm->hpm) {
        unlock_handle(&hpm->lock);
        Py_DECREF(it);
        return closed_error("HPM");
    }
    hp_read_options opts = HP_READ_OPTIONS_INIT;
    opts.salvage = self->salvage;
    opts.on_skip = on_skip;
    opts.ctx = it;
    const char *fb = PyBytes_AsString(self->filebase);
    int rc, err;
    NOGIL(rc = hp_hpd_open(&it->hpd, fb, hpm->hpm, &opts), err);
    unlock_handle(&hpm->lock);
    if (rc < 0) {
        Py_DECREF(it);
        return hp_raise(rc, err);
    }
    return (PyObject *)it;
}

static void hpditer_dealloc(PyObject *o)
{
    HPDIterObject *it = (HPDIterObject *)o;
    hp_hpd_close(it->hpd);
    free(it->skips);
    free(it->pending_msg);
    for (int i = 0; i < it->nscale; i++)
        Py_DECREF(it->scale_val[i]);
    for (size_t i = 0; i < it->trace_ints_cap; i++)
        Py_XDECREF(it->trace_ints[i]);
    PyMem_Free(it->trace_ints);
    Py_XDECREF(it->owner);
    hlock_free(&it->lock);
    generic_dealloc(o);
}

/* Warns of the stretches salvage skipped (RuntimeWarning, as the CLI warns). */
static int warn_skips(HPDIterObject *it)
{
    size_t n = it->nskips;
    it->nskips = 0;
    for (size_t i = 0; i < n; i++) {
        const hp_skip *s = &it->skips[i];
        if (PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                             "%s.hpd: offset %llu: skipped %llu bytes of damaged events (%s)",
                             PyBytes_AsString(it->owner->filebase), (unsigned long long)s->offset,
                             (unsigned long long)s->length, hp_damage_reason_str(s->reason)) < 0)
            return -1;
    }
    return 0;
}

/* Decodes the next batch of events with the GIL released. */
static int hpditer_fill(HPDIterObject *it)
{
    HPMObject *hpm = it->owner->hpm;
    if (lock_handle(&hpm->lock) < 0)
        return -1;
    if (!hpm->hpm) { /* the HPM this reader uses was closed under it */
        unlock_handle(&hpm->lock);
        closed_error("HPM");
        return -1;
    }
    int count = 0, rc = HP_OK, err = 0;
    Py_BEGIN_ALLOW_THREADS
    while (count < HPD_BATCH) {
        errno = 0;
        rc = hp_hpd_next(it->hpd, &it->buf[count]);
        if (rc != HP_OK)
            break;
        count++;
    }
    err = errno;
    Py_END_ALLOW_THREADS
    unlock_handle(&hpm->lock);
    it->pos = 0;
    it->count = count;
    if (rc == HP_END) {
        it->end = 1;
        hp_hpd_stats st;
        hp_hpd_get_stats(it->hpd, &st);
        if (warn_skips(it) < 0)
            return -1;
        if (st.truncated_bytes &&
            PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                             "%s.hpd: offset %llu: partial final event (%llu bytes) ignored",
                             PyBytes_AsString(it->owner->filebase),
                             (unsigned long long)(st.bytes - st.truncated_bytes),
                             (unsigned long long)st.truncated_bytes) < 0)
            return -1;
    } else if (rc < 0) {
        it->end = 1;
        it->pending_rc = rc;
        it->pending_err = err;
        it->pending_msg = strdup(hp_last_error());
    }
    return warn_skips(it);
}

static PyObject *scale_object(HPDIterObject *it, double scale)
{
    for (int i = 0; i < it->nscale; i++)
        if (it->scale_key[i] == scale) {
            Py_INCREF(it->scale_val[i]);
            return it->scale_val[i];
        }
    PyObject *v = PyFloat_FromDouble(scale);
    if (v && it->nscale < SCALE_CACHE) {
        it->scale_key[it->nscale] = scale;
        Py_INCREF(v);
        it->scale_val[it->nscale++] = v;
    }
    return v;
}

static PyObject *trace_object(HPDIterObject *it, uint32_t trace)
{
    if (trace >= TRACE_CACHE_MAX)
        return PyLong_FromUnsignedLong(trace);
    if (trace >= it->trace_ints_cap) {
        size_t n = it->trace_ints_cap ? it->trace_ints_cap : 1024;
        while (n <= trace)
            n *= 2;
        PyObject **p = PyMem_Realloc(it->trace_ints, n * sizeof *p);
        if (!p)
            return PyErr_NoMemory();
        memset(p + it->trace_ints_cap, 0, (n - it->trace_ints_cap) * sizeof *p);
        it->trace_ints = p;
        it->trace_ints_cap = n;
    }
    PyObject *v = it->trace_ints[trace];
    if (!v && !(v = it->trace_ints[trace] = PyLong_FromUnsignedLong(trace)))
        return NULL;
    Py_INCREF(v);
    return v;
}

static PyObject *hpditer_next(PyObject *o)
{
    HPDIterObject *it = (HPDIterObject *)o;
    if (it->owner->closed)
        return closed_error("HPD");
    if (!it->owner->hpm->hpm)
        return closed_error("HPM");
    if (it->pos == it->count) {
        if (it->pending_rc) { /* the failure that ended the last batch */
            int rc = it->pending_rc;
            it->pending_rc = 0;
            return raise_message(rc, it->pending_err, it->pending_msg);
        }
        if (it->end)
            return NULL;
        if (lock_handle(&it->lock) < 0) /* one thread at a time decodes into buf */
            return NULL;
        int r = it->pos == it->count && !it->end ? hpditer_fill(it) : 0;
        unlock_handle(&it->lock);
        if (r < 0)
            return NULL;
        if (it->pos == it->count)
            return hpditer_next(o); /* the end, or a pending failure */
    }
    hp_event e = it->buf[it->pos++]; /* a copy: making objects may run other threads */
    PyObject *items[4] = {PyFloat_FromDouble(e.timestamp), trace_object(it, e.traceindex),
                          pylong_from_i64(e.size), scale_object(it, e.scale)};
    return new_tuple(HPDEventType, HPDEventAlloc, 4, items);
}

static PyMethodDef hpd_methods[] = {
    {"close", hpd_close, METH_NOARGS, "Stops every iterator of this HPD."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef hpd_getset[] = {
    {"closed", hpd_closed, NULL, "True once closed.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot hpd_slots[] = {
    {Py_tp_new, hpd_new},
    {Py_tp_dealloc, hpd_dealloc},
    {Py_tp_iter, hpd_iter},
    {Py_tp_methods, hpd_methods},
    {Py_tp_getset, hpd_getset},
    {Py_tp_doc, "HPDHandle(hpm, filebase, salvage=False): iter() reads FILEBASE.hpd."},
    {0, NULL},
};

static PyType_Spec hpd_spec = {"heapprof_c._heapprof_c.HPDHandle", sizeof(HPDObject), 0,
                               Py_TPFLAGS_DEFAULT, hpd_slots};

static PyType_Slot hpditer_slots[] = {
    {Py_tp_dealloc, hpditer_dealloc},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, hpditer_next},
    {Py_tp_doc, "An iterator of HPDEvent."},
    {0, NULL},
};

static PyType_Spec hpditer_spec = {"heapprof_c._heapprof_c.HPDIterator", sizeof(HPDIterObject), 0,
                                   Py_TPFLAGS_DEFAULT, hpditer_slots};

/* ===========================================================================
 * HPC: the digest
 * ======================================================================== */

typedef struct {
    PyObject_HEAD
    hlock lock;
    hp_hpc *hpc;
    size_t n;
} HPCObject;

static PyObject *hpc_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", NULL};
    PyObject *path = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:HPCHandle", kwlist, path_arg, &path))
        return NULL;
    HPCObject *self = (HPCObject *)alloc_object((PyObject *)type);
    if (!self) {
        Py_DECREF(path);
        return NULL;
    }
    if (hlock_init(&self->lock) < 0) {
        Py_DECREF(path);
        Py_DECREF(self);
        return NULL;
    }
    const char *p = PyBytes_AsString(path);
    int rc, err;
    NOGIL(rc = hp_hpc_open_path(&self->hpc, p), err);
    Py_DECREF(path);
    if (rc < 0) {
        Py_DECREF(self);
        return hp_raise(rc, err);
    }
    self->n = hp_hpc_length(self->hpc);
    return (PyObject *)self;
}

static void hpc_dealloc(PyObject *o)
{
    HPCObject *self = (HPCObject *)o;
    hp_hpc_close(self->hpc);
    hlock_free(&self->lock);
    generic_dealloc(o);
}

static PyObject *hpc_close(PyObject *o, PyObject *unused)
{
    (void)unused;
    HPCObject *self = (HPCObject *)o;
    if (lock_handle(&self->lock) < 0)
        return NULL;
    hp_hpc *h = self->hpc;
    self->hpc = NULL;
    unlock_handle(&self->lock);
    hp_hpc_close(h);
    Py_RETURN_NONE;
}

static PyObject *hpc_closed(PyObject *o, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((HPCObject *)o)->hpc == NULL);
}

static PyObject *hpc_info(PyObject *o, PyObject *unused)
{
    (void)unused;
    HPCObject *self = (HPCObject *)o;
    if (!self->hpc)
        return closed_error("HPC");
    uint64_t sec, nsec;
    hp_digest_params rec;
    hp_hpc_initial_timespec(self->hpc, &sec, &nsec);
    PyObject *params;
    if (hp_hpc_recorded_params(self->hpc, &rec) == HP_OK)
        params = Py_BuildValue("(Kd)", (unsigned long long)rec.interval_ms, rec.precision);
    else {
        params = Py_None;
        Py_INCREF(params);
    }
    if (!params)
        return NULL;
    return Py_BuildValue("{s:n,s:d,s:d,s:K,s:K,s:i,s:N}", "length", (Py_ssize_t)self->n,
                         "initial_time", hp_hpc_initial_time(self->hpc), "time_interval",
                         hp_hpc_time_interval(self->hpc), "initial_seconds",
                         (unsigned long long)sec, "initial_nanoseconds", (unsigned long long)nsec,
                         "format", hp_hpc_format(self->hpc), "recorded_params", params);
}

static PyObject *hpc_offsets(PyObject *o, PyObject *unused)
{
    (void)unused;
    HPCObject *self = (HPCObject *)o;
    if (!self->hpc)
        return closed_error("HPC");
    PyObject *list = PyList_New((Py_ssize_t)self->n);
    for (size_t k = 0; list && k < self->n; k++) {
        uint64_t off = 0;
        hp_hpc_snapshot_offset(self->hpc, k, &off);
        PyObject *v = PyLong_FromUnsignedLongLong(off);
        if (!v)
            Py_CLEAR(list);
        else
            PyList_SetItem(list, (Py_ssize_t)k, v);
    }
    return list;
}

/* Reads snapshot k with the GIL released; on success the lock stays held
 * (the entries live until the next call on the handle): release it after
 * using them. On failure the exception is set and the lock released. */
static int read_snapshot(HPCObject *self, size_t k, hp_snapshot *s)
{
    if (lock_handle(&self->lock) < 0)
        return -1;
    if (!self->hpc) {
        unlock_handle(&self->lock);
        closed_error("HPC");
        return -1;
    }
    int rc, err;
    NOGIL(rc = hp_hpc_snapshot(self->hpc, k, s), err);
    if (rc < 0) {
        unlock_handle(&self->lock);
        hp_raise(rc, err);
        return -1;
    }
    return 0;
}

static PyObject *snapshot_object(HPCObject *self, size_t k)
{
    hp_snapshot s;
    if (check_registered() < 0 || read_snapshot(self, k, &s) < 0)
        return NULL;
    PyObject *usage = PyDict_New();
    for (size_t i = 0; usage && i < s.count; i++) {
        PyObject *t = PyLong_FromUnsignedLong(s.entries[i].traceindex);
        PyObject *b = pylong_from_i64(s.entries[i].bytes);
        if (!t || !b || PyDict_SetItem(usage, t, b) < 0)
            Py_CLEAR(usage);
        Py_XDECREF(t);
        Py_XDECREF(b);
    }
    unlock_handle(&self->lock);
    PyObject *items[2] = {PyFloat_FromDouble(s.relative_time), usage};
    return new_tuple(SnapshotType, SnapshotAlloc, 2, items);
}

static int index_arg(HPCObject *self, PyObject *arg, size_t *k)
{
    PyObject *i = PyNumber_Index(arg);
    if (!i)
        return -1;
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(i, &overflow);
    Py_DECREF(i);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || v < 0 || (unsigned long long)v >= self->n) {
        PyErr_SetString(PyExc_IndexError, "HPC index out of range");
        return -1;
    }
    *k = (size_t)v;
    return 0;
}

static PyObject *hpc_snapshot(PyObject *o, PyObject *arg)
{
    HPCObject *self = (HPCObject *)o;
    size_t k;
    if (!self->hpc)
        return closed_error("HPC");
    if (index_arg(self, arg, &k) < 0)
        return NULL;
    return snapshot_object(self, k);
}

/* ---- the snapshot iterator ---- */

typedef struct {
    PyObject_HEAD
    HPCObject *owner;
    size_t next, stop;
} HPCIterObject;

static PyObject *hpc_iter_range(PyObject *o, PyObject *args)
{
    HPCObject *self = (HPCObject *)o;
    Py_ssize_t start = 0, stop = PY_SSIZE_T_MAX;
    if (!PyArg_ParseTuple(args, "|nn:iter_range", &start, &stop))
        return NULL;
    if (!self->hpc)
        return closed_error("HPC");
    HPCIterObject *it = (HPCIterObject *)alloc_object(HPCIterType);
    if (!it)
        return NULL;
    Py_INCREF(self);
    it->owner = self;
    it->next = start < 0 ? 0 : (size_t)start;
    it->stop = stop < 0 ? 0 : (size_t)stop < self->n ? (size_t)stop : self->n;
    return (PyObject *)it;
}

static void hpciter_dealloc(PyObject *o)
{
    Py_XDECREF(((HPCIterObject *)o)->owner);
    generic_dealloc(o);
}

static PyObject *hpciter_next(PyObject *o)
{
    HPCIterObject *it = (HPCIterObject *)o;
    if (!it->owner->hpc)
        return closed_error("HPC");
    if (it->next >= it->stop)
        return NULL;
    return snapshot_object(it->owner, it->next++);
}

static PyType_Slot hpciter_slots[] = {
    {Py_tp_dealloc, hpciter_dealloc},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, hpciter_next},
    {Py_tp_doc, "An iterator of Snapshot."},
    {0, NULL},
};

static PyType_Spec hpciter_spec = {"heapprof_c._heapprof_c.HPCIterator", sizeof(HPCIterObject), 0,
                                   Py_TPFLAGS_DEFAULT, hpciter_slots};

/* ---- series: totals and per-line sums of every snapshot ----
 *
 * For Reader.timePlot: walks every snapshot once. A trace's weights (which
 * series it adds to, and how many times) come from the Python callable
 * `match(trace)`, called once per distinct trace (GIL held); the sums are
 * exact int64 or, on overflow, None is returned and the caller sums in
 * Python. */

typedef struct {
    uint32_t trace;
    uint32_t used;
    uint32_t first, count; /* into pairs */
} map_slot;

typedef struct {
    map_slot *slots;
    size_t cap, n;
    uint32_t (*pairs)[2]; /* (series j, multiplicity) */
    size_t npairs, pairs_cap;
} trace_map;

static map_slot *map_find(trace_map *m, uint32_t trace)
{
    size_t i = (trace * 2654435761u) & (m->cap - 1);
    while (m->slots[i].used && m->slots[i].trace != trace)
        i = (i + 1) & (m->cap - 1);
    return &m->slots[i];
}

static int map_grow(trace_map *m)
{
    if (m->cap && (m->n + 1) * 2 <= m->cap)
        return 0;
    trace_map bigger = *m;
    bigger.cap = m->cap ? m->cap * 2 : 1024;
    bigger.slots = PyMem_Calloc(bigger.cap, sizeof *bigger.slots);
    if (!bigger.slots) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].used)
            *map_find(&bigger, m->slots[i].trace) = m->slots[i];
    PyMem_Free(m->slots);
    *m = bigger;
    return 0;
}

/* Adds a trace's weights from match(trace). */
static map_slot *map_add(trace_map *m, uint32_t trace, PyObject *match, size_t nseries)
{
    if (map_grow(m) < 0)
        return NULL;
    map_slot *s = map_find(m, trace);
    s->used = 1;
    s->trace = trace;
    s->first = (uint32_t)m->npairs;
    s->count = 0;
    m->n++;
    if (!match || nseries == 0)
        return s;
    PyObject *r = PyObject_CallFunction(match, "k", (unsigned long)trace);
    if (!r)
        return NULL;
    PyObject *seq = PySequence_Fast(r, "match() must return a sequence of (index, count)");
    Py_DECREF(r);
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Size(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned long j, c;
        PyObject *pair = PySequence_GetItem(seq, i);
        if (!pair || !PyArg_ParseTuple(pair, "kk", &j, &c) || j >= nseries) {
            if (pair && !PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "match(): series index out of range");
            Py_XDECREF(pair);
            Py_DECREF(seq);
            return NULL;
        }
        Py_DECREF(pair);
        if (m->npairs == m->pairs_cap) {
            size_t cap = m->pairs_cap ? m->pairs_cap * 2 : 256;
            void *p = PyMem_Realloc(m->pairs, cap * sizeof *m->pairs);
            if (!p) {
                Py_DECREF(seq);
                PyErr_NoMemory();
                return NULL;
            }
            m->pairs = p;
            m->pairs_cap = cap;
            s = map_find(m, trace); /* slots did not move, but stay safe */
        }
        m->pairs[m->npairs][0] = (uint32_t)j;
        m->pairs[m->npairs][1] = (uint32_t)c;
        m->npairs++;
        s->count++;
    }
    Py_DECREF(seq);
    return s;
}

static PyObject *list_of_i64(const int64_t *v, size_t n)
{
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *x = pylong_from_i64(v[i]);
        if (!x)
            Py_CLEAR(list);
        else
            PyList_SetItem(list, (Py_ssize_t)i, x);
    }
    return list;
}

static PyObject *hpc_series(PyObject *o, PyObject *args)
{
    HPCObject *self = (HPCObject *)o;
    Py_ssize_t nseries = 0;
    PyObject *match = Py_None;
    if (!PyArg_ParseTuple(args, "|nO:series", &nseries, &match))
        return NULL;
    if (nseries < 0 || (match != Py_None && !PyCallable_Check(match))) {
        PyErr_SetString(PyExc_ValueError, "series(nseries >= 0, callable)");
        return NULL;
    }
    if (match == Py_None)
        match = NULL;
    if (!self->hpc)
        return closed_error("HPC");
    size_t n = self->n, ns = (size_t)nseries;
    int64_t *totals = PyMem_Calloc(n ? n : 1, sizeof *totals);
    int64_t *sums = PyMem_Calloc(n * ns > 0 ? n * ns : 1, sizeof *sums);
    trace_map m = {0};
    int overflow = 0, failed = 0;
    if (!totals || !sums) {
        PyErr_NoMemory();
        failed = 1;
    }
    for (size_t k = 0; !failed && !overflow && k < n; k++) {
        hp_snapshot s;
        if (read_snapshot(self, k, &s) < 0) {
            failed = 1;
            break;
        }
        int64_t *row = sums + k * ns;
        for (size_t i = 0; i < s.count; i++) {
            const hp_entry *e = &s.entries[i];
            if (__builtin_add_overflow(totals[k], e->bytes, &totals[k]))
                overflow = 1;
            if (!ns)
                continue;
            map_slot *sl = m.cap ? map_find(&m, e->traceindex) : NULL;
            if (!sl || !sl->used) {
                /* match() is Python: it may use other handles, never this one */
                unlock_handle(&self->lock);
                sl = map_add(&m, e->traceindex, match, ns);
                if (!sl) {
                    failed = 1;
                    break;
                }
                if (lock_handle(&self->lock) < 0) {
                    failed = 1;
                    break;
                }
                if (!self->hpc) {
                    unlock_handle(&self->lock);
                    closed_error("HPC");
                    failed = 1;
                    break;
                }
                /* the entries may have been replaced: read the snapshot again */
                int rc, err;
                NOGIL(rc = hp_hpc_snapshot(self->hpc, k, &s), err);
                if (rc < 0) {
                    unlock_handle(&self->lock);
                    hp_raise(rc, err);
                    failed = 1;
                    break;
                }
                e = &s.entries[i];
            }
            for (uint32_t p = 0; p < sl->count; p++) {
                const uint32_t *pr = m.pairs[sl->first + p];
                int64_t add;
                if (__builtin_mul_overflow(e->bytes, (int64_t)pr[1], &add) ||
                    __builtin_add_overflow(row[pr[0]], add, &row[pr[0]]))
                    overflow = 1;
            }
        }
        if (!failed)
            unlock_handle(&self->lock);
    }
    PyObject *result = NULL;
    if (!failed && overflow) {
        result = Py_None;
        Py_INCREF(result);
    } else if (!failed) {
        PyObject *t = list_of_i64(totals, n), *lines = PyList_New((Py_ssize_t)ns);
        for (size_t j = 0; t && lines && j < ns; j++) {
            PyObject *col = PyList_New((Py_ssize_t)n);
            for (size_t k = 0; col && k < n; k++) {
                PyObject *x = pylong_from_i64(sums[k * ns + j]);
                if (!x)
                    Py_CLEAR(col);
                else
                    PyList_SetItem(col, (Py_ssize_t)k, x);
            }
            if (!col)
                Py_CLEAR(lines);
            else
                PyList_SetItem(lines, (Py_ssize_t)j, col);
        }
        if (t && lines)
            result = PyTuple_Pack(2, t, lines);
        Py_XDECREF(t);
        Py_XDECREF(lines);
    }
    PyMem_Free(totals);
    PyMem_Free(sums);
    PyMem_Free(m.slots);
    PyMem_Free(m.pairs);
    return result;
}

static PyMethodDef hpc_methods[] = {
    {"close", hpc_close, METH_NOARGS, "Releases the handle (twice is harmless)."},
    {"info", hpc_info, METH_NOARGS, "The header: length, times, format, recorded parameters."},
    {"offsets", hpc_offsets, METH_NOARGS, "Each snapshot's offset in the v1 stream."},
    {"snapshot", hpc_snapshot, METH_O, "Snapshot k (0 <= k < length)."},
    {"iter_range", hpc_iter_range, METH_VARARGS, "An iterator of snapshots [start, stop)."},
    {"series", hpc_series, METH_VARARGS,
     "series(nseries=0, match=None): (totals, [per-series sums]) of every snapshot, or None "
     "when an int64 sum overflows."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef hpc_getset[] = {
    {"closed", hpc_closed, NULL, "True once closed.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot hpc_slots[] = {
    {Py_tp_new, hpc_new},
    {Py_tp_dealloc, hpc_dealloc},
    {Py_tp_methods, hpc_methods},
    {Py_tp_getset, hpc_getset},
    {Py_tp_doc, "HPCHandle(path): an open .hpc file, v1 or v2."},
    {0, NULL},
};

static PyType_Spec hpc_spec = {"heapprof_c._heapprof_c.HPCHandle", sizeof(HPCObject), 0,
                               Py_TPFLAGS_DEFAULT, hpc_slots};

/* ===========================================================================
 * make: the digest
 * ======================================================================== */

typedef struct {
    PyThreadState *ts; /* the calling thread's, saved while the digest runs */
    volatile int cancel;
} make_ctx;

/* As chunks are written, on the calling thread: a pending signal (Ctrl-C)
 * cancels the digest, and its exception is raised once the digest has
 * cleaned up. */
static void make_progress(void *ctx, uint64_t done, uint64_t total)
{
    (void)done;
    (void)total;
    make_ctx *c = ctx;
    if (c->cancel)
        return;
    PyEval_RestoreThread(c->ts);
    if (PyErr_CheckSignals() < 0)
        c->cancel = 1;
    c->ts = PyEval_SaveThread();
}

static PyObject *report_dict(const hp_make_report *r)
{
    return Py_BuildValue(
        "{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:d,s:d,s:i}", "events",
        (unsigned long long)r->events, "hpd_bytes", (unsigned long long)r->hpd_bytes, "snapshots",
        (unsigned long long)r->snapshots, "output_bytes", (unsigned long long)r->output_bytes,
        "v1_bytes", (unsigned long long)r->v1_bytes, "skips", (unsigned long long)r->skips,
        "skipped_bytes", (unsigned long long)r->skipped_bytes, "first_skip_offset",
        (unsigned long long)r->first_skip_offset, "truncated_bytes",
        (unsigned long long)r->truncated_bytes, "negative_snapshots",
        (unsigned long long)r->negative_snapshots, "profile_seconds", r->profile_seconds,
        "seconds", r->t_total, "threads", r->threads);
}

/* The report in the CLI's `digest -v` words. */
static PyObject *report_text(const char *filebase, const hp_make_report *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return PyErr_NoMemory();
    hp_print_report(f, filebase, r);
    fclose(f);
    PyObject *s = PyUnicode_DecodeUTF8(buf, (Py_ssize_t)len, "replace");
    free(buf);
    return s;
}

static PyObject *mod_make(PyObject *mod, PyObject *args, PyObject *kw)
{
    (void)mod;
    static char *kwlist[] = {"filebase",  "interval", "precision", "threads",
                             "format",    "salvage",  "override_sampling", "output",
                             "level",     NULL};
    PyObject *path = NULL, *output = NULL;
    double interval, precision;
    int threads = 0, salvage = 0, override = 0, level = HP_DEFAULT_LEVEL;
    const char *format = "v2";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&dd|isppO&i:make", kwlist, path_arg, &path,
                                     &interval, &precision, &threads, &format, &salvage, &override,
                                     path_arg, &output, &level))
        return NULL;
    hp_make_options o = HP_MAKE_OPTIONS_INIT;
    if (!strcmp(format, "v2"))
        o.format = HP_FORMAT_V2;
    else if (!strcmp(format, "v1"))
        o.format = HP_FORMAT_V1;
    else {
        Py_DECREF(path);
        Py_XDECREF(output);
        return PyErr_Format(PyExc_ValueError, "invalid format '%s' (expected 'v2' or 'v1')", format);
    }
    hp_make_report report;
    make_ctx ctx = {0};
    o.threads = threads;
    o.level = level;
    o.salvage = salvage;
    o.override_sampling = override;
    o.output = output ? PyBytes_AsString(output) : NULL;
    o.report = &report;
    o.progress = make_progress;
    o.progress_ctx = &ctx;
    o.cancel = &ctx.cancel;
    const char *fb = PyBytes_AsString(path);
    int rc, err;
    ctx.ts = PyEval_SaveThread();
    errno = 0;
    rc = hp_hpc_make_ex(fb, interval, precision, &o);
    err = errno;
    PyEval_RestoreThread(ctx.ts);
    PyObject *result = NULL;
    if (rc < 0)
        hp_raise(rc, err);
    else if (PyErr_Occurred()) {
        /* a signal came after the last chunk: the digest is complete, and
         * its exception (KeyboardInterrupt) is raised now */
    } else {
        PyObject *d = report_dict(&report), *text = report_text(fb, &report);
        if (d && text)
            result = PyTuple_Pack(2, d, text);
        Py_XDECREF(d);
        Py_XDECREF(text);
    }
    Py_DECREF(path);
    Py_XDECREF(output);
    return result;
}

/* ===========================================================================
 * the module
 * ======================================================================== */

static int take_type(PyObject *cls, PyObject **slot, allocfunc *alloc, const char *what)
{
    if (!PyType_Check(cls) || !(PyType_GetFlags((PyTypeObject *)cls) & Py_TPFLAGS_TUPLE_SUBCLASS)) {
        PyErr_Format(PyExc_TypeError, "%s must be a tuple subclass", what);
        return -1;
    }
    Py_INCREF(cls);
    PyObject *old = *slot;
    *slot = cls;
    Py_XDECREF(old);
    *alloc = (allocfunc)PyType_GetSlot((PyTypeObject *)cls, Py_tp_alloc);
    return *alloc ? 0 : -1;
}

static PyObject *mod_register(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *raw, *snap, *event;
    if (!PyArg_ParseTuple(args, "OOO:_register", &raw, &snap, &event))
        return NULL;
    if (take_type(raw, &RawTraceLineType, &RawTraceLineAlloc, "RawTraceLine") < 0 ||
        take_type(snap, &SnapshotType, &SnapshotAlloc, "Snapshot") < 0 ||
        take_type(event, &HPDEventType, &HPDEventAlloc, "HPDEvent") < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *mod_version(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyUnicode_FromString(hp_version());
}

static PyObject *mod_fast_tuples(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyBool_FromLong(fast_tuples);
}

/* CPython 3.9-3.13: make NamedTuple instances directly (see new_tuple). */
static int detect_fast_tuples(void)
{
    PyObject *vi = PySys_GetObject("version_info"); /* borrowed */
    if (!vi)
        return 0;
    PyObject *maj = PySequence_GetItem(vi, 0), *min = PySequence_GetItem(vi, 1);
    long a = maj ? PyLong_AsLong(maj) : -1, b = min ? PyLong_AsLong(min) : -1;
    Py_XDECREF(maj);
    Py_XDECREF(min);
    PyErr_Clear();
    PyObject *impl = PySys_GetObject("implementation");
    PyObject *name = impl ? PyObject_GetAttrString(impl, "name") : NULL;
    int cpython = name && PyUnicode_CompareWithASCIIString(name, "cpython") == 0;
    Py_XDECREF(name);
    PyErr_Clear();
    return cpython && a == 3 && b >= 9 && b <= 13;
}

/* For the tests: make NamedTuples through tuple.__new__ (as from CPython 3.14
 * on) even where the direct way is allowed; or go back to the direct way. */
static PyObject *mod_set_fast_tuples(PyObject *mod, PyObject *arg)
{
    (void)mod;
    int on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    int was = fast_tuples;
    fast_tuples = on && detect_fast_tuples();
    return PyBool_FromLong(was);
}

static PyMethodDef module_methods[] = {
    {"make", (PyCFunction)(void (*)(void))mod_make, METH_VARARGS | METH_KEYWORDS,
     "make(filebase, interval, precision, threads=0, format='v2', salvage=False, "
     "override_sampling=False, output=None, level=5) -> (report dict, report text)"},
    {"_register", mod_register, METH_VARARGS, "_register(RawTraceLine, Snapshot, HPDEvent)"},
    {"library_version", mod_version, METH_NOARGS, "libheapprof's version."},
    {"fast_tuples", mod_fast_tuples, METH_NOARGS,
     "Whether NamedTuples are made directly (CPython < 3.14) or through tuple.__new__."},
    {"_set_fast_tuples", mod_set_fast_tuples, METH_O,
     "For the tests: False makes NamedTuples through tuple.__new__; returns the previous."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "heapprof_c._heapprof_c",
    "heapprof_c's C core: handles on libheapprof (see heapprof_c.lowlevel).", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

static int add_type(PyObject *m, PyType_Spec *spec, PyObject **out, const char *name)
{
    *out = PyType_FromSpec(spec);
    if (!*out)
        return -1;
    Py_INCREF(*out);
    if (PyModule_AddObject(m, name, *out) < 0) {
        Py_DECREF(*out);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__heapprof_c(void);
PyMODINIT_FUNC PyInit__heapprof_c(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    FormatError = PyErr_NewExceptionWithDoc(
        "heapprof_c.FormatError",
        "A damaged, truncated or unsupported file: the message names the file and the byte "
        "offset.",
        PyExc_ValueError, NULL);
    if (!FormatError)
        goto fail;
    Py_INCREF(FormatError);
    if (PyModule_AddObject(m, "FormatError", FormatError) < 0)
        goto fail;
    tuple_new = PyObject_GetAttrString((PyObject *)&PyTuple_Type, "__new__");
    if (!tuple_new)
        goto fail;
    fast_tuples = detect_fast_tuples();
    if (add_type(m, &hpm_spec, &HPMType, "HPMHandle") < 0 ||
        add_type(m, &hpd_spec, &HPDType, "HPDHandle") < 0 ||
        add_type(m, &hpditer_spec, &HPDIterType, "HPDIterator") < 0 ||
        add_type(m, &hpc_spec, &HPCType, "HPCHandle") < 0 ||
        add_type(m, &hpciter_spec, &HPCIterType, "HPCIterator") < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
