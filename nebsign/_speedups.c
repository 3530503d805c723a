/*
 * nebsign._speedups: the tree-hashing worker loop in C (optional).
 *
 * One function, hash_names(directory, names), digests each name relative to
 * the directory with SHA-256 (OpenSSL's libcrypto, the one hashlib uses) and
 * releases the GIL for the whole batch, so a few threads hash a tree on all
 * cores without processes. It is the same loop as the pure-Python worker in
 * nebsign/_internal/hashpool.py (which stays the fallback and the reference;
 * tests check both give identical results): open without following symlinks,
 * fstat the open descriptor, refuse anything but a regular file, read to EOF
 * into one reused buffer, record the bytes actually read as the size.
 *
 * It parses nothing: its inputs are names the Python walk produced.
 * See docs/adr/0005-c-hashing-loop.md.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define BUF_SIZE (256 * 1024)
#define NOT_REGULAR (-1)

static EVP_MD *sha256_md;

/* Hash one open regular file to EOF. Returns bytes read, or -errno. */
static int64_t
hash_fd(int fd, int64_t size_hint, unsigned char *buf, EVP_MD_CTX *ctx,
        unsigned char *out)
{
    int64_t total = 0;
    unsigned int len = 0;

    if (!EVP_DigestInit_ex(ctx, sha256_md, NULL))
        return -EIO;
    for (;;) {
        ssize_t n = read(fd, buf, BUF_SIZE);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
            return -EIO;
        total += n;
        /* A short read that reaches the size fstat gave is EOF on a regular
           file: skip the extra read() that would return 0. */
        if (n < BUF_SIZE && total == size_hint)
            break;
    }
    if (!EVP_DigestFinal_ex(ctx, out, &len) || len != 32)
        return -EIO;
    return total;
}

typedef struct {
    int64_t size;     /* bytes hashed, or -1 on error */
    int err;          /* 0, an errno value, or NOT_REGULAR */
    unsigned char exec;
} result_t;

static void
hash_all(int dfd, char **names, Py_ssize_t count, unsigned char *buf,
         EVP_MD_CTX *ctx, unsigned char *digests, result_t *res)
{
    for (Py_ssize_t i = 0; i < count; i++) {
        result_t *r = &res[i];
        unsigned char *out = digests + 32 * i;
        struct stat st;
        int fd = openat(dfd, names[i],
                        O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        r->size = -1;
        r->err = 0;
        r->exec = 0;
        memset(out, 0, 32);
        if (fd < 0) {
            r->err = errno;
            continue;
        }
        if (fstat(fd, &st) != 0) {
            r->err = errno;
        } else if (!S_ISREG(st.st_mode)) {
            r->err = NOT_REGULAR;
        } else {
            int64_t n = hash_fd(fd, (int64_t)st.st_size, buf, ctx, out);
            if (n < 0) {
                r->err = (int)-n;
                memset(out, 0, 32);
            } else {
                r->size = n;
                r->exec = (st.st_mode & 0111) ? 1 : 0;
            }
        }
        close(fd);
    }
}

PyDoc_STRVAR(hash_names_doc,
"hash_names(directory, names) -> (sizes, digests, execs, errors)\n\n"
"SHA-256 of each name (relative to directory, symlinks not followed),\n"
"with the GIL released. sizes: list of int (-1 on error); digests: bytes,\n"
"32 per name (zeros on error); execs: bytes, 1 where any execute bit is\n"
"set; errors: dict index -> errno, or -1 for 'not a regular file'.\n"
"OSError if the directory cannot be opened.");

static PyObject *
hash_names(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *dir_bytes = NULL, *names_list, *encoded = NULL;
    PyObject *sizes = NULL, *digest_obj = NULL, *exec_obj = NULL;
    PyObject *errors = NULL, *result = NULL;
    char **cnames = NULL;
    result_t *res = NULL;
    unsigned char *buf = NULL;
    EVP_MD_CTX *ctx = NULL;
    Py_ssize_t count, i;
    int dfd;

    if (!PyArg_ParseTuple(args, "O&O!:hash_names", PyUnicode_FSConverter,
                          &dir_bytes, &PyList_Type, &names_list))
        return NULL;
    count = PyList_GET_SIZE(names_list);
    encoded = PyList_New(count);
    cnames = PyMem_Calloc(count ? count : 1, sizeof(char *));
    res = PyMem_Calloc(count ? count : 1, sizeof(result_t));
    digest_obj = PyBytes_FromStringAndSize(NULL, 32 * count);
    exec_obj = PyBytes_FromStringAndSize(NULL, count);
    buf = PyMem_RawMalloc(BUF_SIZE);
    ctx = EVP_MD_CTX_new();
    if (!encoded || !cnames || !res || !digest_obj || !exec_obj || !buf || !ctx) {
        PyErr_NoMemory();
        goto done;
    }
    for (i = 0; i < count; i++) {
        PyObject *name = PyList_GET_ITEM(names_list, i), *b;
        if (!PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "names must be str");
            goto done;
        }
        b = PyUnicode_EncodeFSDefault(name);
        if (!b)
            goto done;
        PyList_SET_ITEM(encoded, i, b);
        if ((Py_ssize_t)strlen(PyBytes_AS_STRING(b)) != PyBytes_GET_SIZE(b)) {
            PyErr_SetString(PyExc_ValueError, "embedded null byte");
            goto done;
        }
        cnames[i] = PyBytes_AS_STRING(b);
    }

    Py_BEGIN_ALLOW_THREADS
    dfd = open(PyBytes_AS_STRING(dir_bytes), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        hash_all(dfd, cnames, count, buf,
                 ctx, (unsigned char *)PyBytes_AS_STRING(digest_obj), res);
        close(dfd);
    }
    Py_END_ALLOW_THREADS
    if (dfd < 0) {
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, dir_bytes);
        goto done;
    }

    sizes = PyList_New(count);
    errors = PyDict_New();
    if (!sizes || !errors)
        goto done;
    for (i = 0; i < count; i++) {
        PyObject *n = PyLong_FromLongLong(res[i].size);
        if (!n)
            goto done;
        PyList_SET_ITEM(sizes, i, n);
        PyBytes_AS_STRING(exec_obj)[i] = (char)res[i].exec;
        if (res[i].err) {
            PyObject *k = PyLong_FromSsize_t(i), *v = PyLong_FromLong(res[i].err);
            int rc = (k && v) ? PyDict_SetItem(errors, k, v) : -1;
            Py_XDECREF(k);
            Py_XDECREF(v);
            if (rc < 0)
                goto done;
        }
    }
    result = PyTuple_Pack(4, sizes, digest_obj, exec_obj, errors);

done:
    if (ctx)
        EVP_MD_CTX_free(ctx);
    PyMem_RawFree(buf);
    PyMem_Free(res);
    PyMem_Free(cnames);
    Py_XDECREF(encoded);
    Py_XDECREF(dir_bytes);
    Py_XDECREF(sizes);
    Py_XDECREF(digest_obj);
    Py_XDECREF(exec_obj);
    Py_XDECREF(errors);
    return result;
}

static PyMethodDef methods[] = {
    {"hash_names", hash_names, METH_VARARGS, hash_names_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "nebsign._speedups",
    "The tree-hashing worker loop in C; see nebsign._internal.hashpool.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (sha256_md == NULL) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        /* Fetch once: EVP_sha256() in a loop re-fetches on every init. */
        sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
#else
        sha256_md = (EVP_MD *)EVP_sha256();
#endif
        if (sha256_md == NULL) {
            PyErr_SetString(PyExc_ImportError, "OpenSSL has no SHA-256");
            return NULL;
        }
    }
    return PyModule_Create(&module);
}
