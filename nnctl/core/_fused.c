/* The optimizer updates of nnctl.core.optimizers in one pass over the flat buffers.
 *
 * Each update is the formula's own operations in its order, in the run's precision (float for
 * float32 runs, double for float64), so the results equal numpy's passes bit for bit: IEEE
 * multiply, add, divide and square root are correctly rounded in C as in numpy, and the build
 * (pyproject.toml) switches off the contraction of a * b + c into a fused multiply-add, which
 * would round once instead of twice. tests/core/test_fused.py compares the bits on every machine.
 *
 * Called from Python (nnctl.core.fused) as
 *   adam(p, g, v, s, b1, ob1, b2, ob2, c1, c2, lr, eps)
 *   rmsprop(p, g, s, b2, ob2, lr, eps)
 *   momentum(p, g, v, beta, obeta, lr)
 * with writable contiguous 1-D arrays of one dtype (float32 or float64) and the constants
 * already rounded to that dtype; the GIL is released during the loop.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* the same loop compiled for AVX-512, AVX2 and the baseline, chosen once by the CPU at load */
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

#define KERNELS(T, SQRT)                                                                        \
    CLONES static void adam_##T(Py_ssize_t n, T *restrict p, const T *restrict g,             \
                                T *restrict v, T *restrict s, T b1, T ob1, T b2, T ob2, T c1,   \
                                T c2, T lr, T eps) {                                            \
        for (Py_ssize_t i = 0; i < n; i++) {                                                    \
            T gi = g[i];                                                                        \
            T vi = v[i] * b1 + gi * ob1;                                                        \
            T si = s[i] * b2 + (gi * gi) * ob2;                                                 \
            v[i] = vi;                                                                          \
            s[i] = si;                                                                          \
            p[i] = p[i] - ((vi / c1) * lr) / (SQRT(si / c2) + eps);                             \
        }                                                                                       \
    }                                                                                           \
    CLONES static void rmsprop_##T(Py_ssize_t n, T *restrict p, const T *restrict g,          \
                                   T *restrict s, T b2, T ob2, T lr, T eps) {                   \
        for (Py_ssize_t i = 0; i < n; i++) {                                                    \
            T gi = g[i];                                                                        \
            T si = s[i] * b2 + (gi * gi) * ob2;                                                 \
            s[i] = si;                                                                          \
            p[i] = p[i] - (gi * lr) / (SQRT(si) + eps);                                         \
        }                                                                                       \
    }                                                                                           \
    CLONES static void momentum_##T(Py_ssize_t n, T *restrict p, const T *restrict g,         \
                                    T *restrict v, T beta, T obeta, T lr) {                     \
        for (Py_ssize_t i = 0; i < n; i++) {                                                    \
            T vi = v[i] * beta + g[i] * obeta;                                                  \
            v[i] = vi;                                                                          \
            p[i] = p[i] - vi * lr;                                                              \
        }                                                                                       \
    }

KERNELS(float, sqrtf)
KERNELS(double, sqrt)

/* k buffers of one format (float32 "f" or float64 "d"), contiguous, of one length; the second
 * (the gradients) is only read, the others are written. */
static int take(PyObject *const *args, int k, Py_buffer *views, char *kind) {
    for (int i = 0; i < k; i++) {
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (i == 1 ? 0 : PyBUF_WRITABLE);
        if (PyObject_GetBuffer(args[i], &views[i], flags) < 0) {
            for (int j = 0; j < i; j++) PyBuffer_Release(&views[j]);
            return -1;
        }
    }
    const char *f = views[0].format;
    int ok = f != NULL && (strcmp(f, "f") == 0 || strcmp(f, "d") == 0);
    for (int i = 1; ok && i < k; i++)
        ok = views[i].format != NULL && strcmp(views[i].format, f) == 0 &&
             views[i].len == views[0].len;
    if (!ok) {
        for (int j = 0; j < k; j++) PyBuffer_Release(&views[j]);
        PyErr_SetString(PyExc_TypeError,
                        "expected contiguous float32 or float64 buffers of one length");
        return -1;
    }
    *kind = f[0];
    return 0;
}

static int constants(PyObject *const *args, int k, double *out) {
    for (int i = 0; i < k; i++) {
        out[i] = PyFloat_AsDouble(args[i]);
        if (out[i] == -1.0 && PyErr_Occurred()) return -1;
    }
    return 0;
}

static void release(Py_buffer *views, int k) {
    for (int j = 0; j < k; j++) PyBuffer_Release(&views[j]);
}

static PyObject *py_adam(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 12) {
        PyErr_SetString(PyExc_TypeError, "adam takes 4 buffers and 8 constants");
        return NULL;
    }
    double c[8];
    if (constants(args + 4, 8, c) < 0) return NULL;
    Py_buffer b[4];
    char kind;
    if (take(args, 4, b, &kind) < 0) return NULL;
    Py_ssize_t n = b[0].len / b[0].itemsize;
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        adam_float(n, b[0].buf, b[1].buf, b[2].buf, b[3].buf, (float)c[0], (float)c[1],
                   (float)c[2], (float)c[3], (float)c[4], (float)c[5], (float)c[6], (float)c[7]);
    else
        adam_double(n, b[0].buf, b[1].buf, b[2].buf, b[3].buf, c[0], c[1], c[2], c[3], c[4], c[5],
                    c[6], c[7]);
    Py_END_ALLOW_THREADS
    release(b, 4);
    Py_RETURN_NONE;
}

static PyObject *py_rmsprop(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "rmsprop takes 3 buffers and 4 constants");
        return NULL;
    }
    double c[4];
    if (constants(args + 3, 4, c) < 0) return NULL;
    Py_buffer b[3];
    char kind;
    if (take(args, 3, b, &kind) < 0) return NULL;
    Py_ssize_t n = b[0].len / b[0].itemsize;
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        rmsprop_float(n, b[0].buf, b[1].buf, b[2].buf, (float)c[0], (float)c[1], (float)c[2],
                      (float)c[3]);
    else
        rmsprop_double(n, b[0].buf, b[1].buf, b[2].buf, c[0], c[1], c[2], c[3]);
    Py_END_ALLOW_THREADS
    release(b, 3);
    Py_RETURN_NONE;
}

static PyObject *py_momentum(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "momentum takes 3 buffers and 3 constants");
        return NULL;
    }
    double c[3];
    if (constants(args + 3, 3, c) < 0) return NULL;
    Py_buffer b[3];
    char kind;
    if (take(args, 3, b, &kind) < 0) return NULL;
    Py_ssize_t n = b[0].len / b[0].itemsize;
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        momentum_float(n, b[0].buf, b[1].buf, b[2].buf, (float)c[0], (float)c[1], (float)c[2]);
    else
        momentum_double(n, b[0].buf, b[1].buf, b[2].buf, c[0], c[1], c[2]);
    Py_END_ALLOW_THREADS
    release(b, 3);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"adam", (PyCFunction)(void (*)(void))py_adam, METH_FASTCALL, "Adam's update in one pass."},
    {"rmsprop", (PyCFunction)(void (*)(void))py_rmsprop, METH_FASTCALL,
     "RMSprop's update in one pass."},
    {"momentum", (PyCFunction)(void (*)(void))py_momentum, METH_FASTCALL,
     "Momentum's update in one pass."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fused",
                                    "nnctl's optimizer updates in one pass (see _fused.c).", -1,
                                    methods,
                                    NULL,
                                    NULL,
                                    NULL,
                                    NULL};

PyMODINIT_FUNC PyInit__fused(void) { return PyModule_Create(&module); }
