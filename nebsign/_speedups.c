/*
 * nebsign._speedups: the tree-hashing worker loop in C (optional).
 *
 * hash_names(directory, names) digests each name relative to the directory
 * with SHA-256 (OpenSSL's libcrypto, the one hashlib uses) and
 * releases the GIL for the whole batch, so a few threads hash a tree on all
 * cores without processes. It is the same loop as the pure-Python worker in
 * nebsign/_internal/hashpool.py (which stays the fallback and the reference;
 * tests check both give identical results): open without following symlinks,
 * fstat the open descriptor, refuse anything but a regular file, read to EOF
 * into one reused buffer, record the bytes actually read as the size.
 *
 * hash_entries(directory, names, prefix, entry_type) does the same and, for
 * a directory run of a release tree, also builds the manifest entries
 * (entry_type instances: path, size, sha256, executable) and their
 * canonical JSON (RFC 8785 as nebsign.manifest.files_json writes it; the
 * JSON is written with the GIL released). Tests hold both against the
 * Python code for arbitrary names.
 *
 * list_dir(root, prefix) reads one directory for the walk
 * (nebsign/_internal/walk.py): names by kind, files and links sorted, with
 * the GIL released. Directories below a tree's root are opened one
 * component at a time with O_NOFOLLOW (open_beneath), so one swapped for a
 * symlink during a run fails instead of leading out of the tree.
 *
 * manifest_sizes(raw) scans the bytes of a manifest whose signature already
 * verified for the path and size of each file entry: a guide that keeps a
 * tree check from reading files the manifest does not name (issue 17). It
 * bails out (None) on anything but the canonical shape; the verdict comes
 * from the full comparison in Python. Otherwise the loop parses nothing: its
 * inputs are names the Python walk produced.
 * See docs/adr/0005-c-hashing-loop.md.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define BUF_SIZE (256 * 1024)
#define NOT_REGULAR (-1)
/* A file larger than the caller's `defer` size is not hashed here: its error
   is DEFER and the caller hashes it with nebsign.digest's reader-thread ring,
   which overlaps the page-cache copy with SHA-256 (this loop does them one
   after the other, ~9% slower on a file of gigabytes). */
#define DEFER (-2)

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
         EVP_MD_CTX *ctx, unsigned char *digests, result_t *res, long long defer,
         const int64_t *expected)
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
        } else if ((defer > 0 && (long long)st.st_size > defer) ||
                   (expected && (int64_t)st.st_size != expected[i])) {
            /* too large for this loop, or not the size the caller expects:
               the caller decides (and does not read a file of the wrong size) */
            r->err = DEFER;
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

/* Names prepared for the loop: fs-encoded bytes to open, strict UTF-8 for JSON. */
typedef struct {
    Py_ssize_t count;
    PyObject *encoded;      /* list of bytes, kept alive while in use */
    char **cnames;          /* fs-encoded, NUL-terminated */
    const char **utf8;      /* strict UTF-8 (NULL if the name is not valid UTF-8) */
    Py_ssize_t *utf8_len;
    int all_utf8;
} names_t;

static void
names_free(names_t *n)
{
    Py_CLEAR(n->encoded);
    PyMem_Free(n->cnames);
    PyMem_Free(n->utf8);
    PyMem_Free(n->utf8_len);
    n->cnames = NULL;
    n->utf8 = NULL;
    n->utf8_len = NULL;
}

static int
names_prepare(PyObject *list, int want_utf8, names_t *n)
{
    Py_ssize_t i, count = PyList_GET_SIZE(list), alloc = count ? count : 1;

    memset(n, 0, sizeof(*n));
    n->count = count;
    n->all_utf8 = 1;
    n->encoded = PyList_New(count);
    n->cnames = PyMem_Calloc(alloc, sizeof(char *));
    if (want_utf8) {
        n->utf8 = PyMem_Calloc(alloc, sizeof(char *));
        n->utf8_len = PyMem_Calloc(alloc, sizeof(Py_ssize_t));
    }
    if (!n->encoded || !n->cnames || (want_utf8 && (!n->utf8 || !n->utf8_len))) {
        PyErr_NoMemory();
        return -1;
    }
    for (i = 0; i < count; i++) {
        PyObject *name = PyList_GET_ITEM(list, i), *b;
        if (!PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "names must be str");
            return -1;
        }
        b = PyUnicode_EncodeFSDefault(name);
        if (!b)
            return -1;
        PyList_SET_ITEM(n->encoded, i, b);
        if ((Py_ssize_t)strlen(PyBytes_AS_STRING(b)) != PyBytes_GET_SIZE(b)) {
            PyErr_SetString(PyExc_ValueError, "embedded null byte");
            return -1;
        }
        n->cnames[i] = PyBytes_AS_STRING(b);
        if (want_utf8) {
            n->utf8[i] = PyUnicode_AsUTF8AndSize(name, &n->utf8_len[i]);
            if (n->utf8[i] == NULL) {  /* lone surrogates: not valid UTF-8 */
                PyErr_Clear();
                n->all_utf8 = 0;
            }
        }
    }
    return 0;
}

/* Length of s escaped as a JSON string body (json.encoder.encode_basestring). */
static size_t
json_escaped_len(const char *s, Py_ssize_t len)
{
    size_t out = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t'
            || c == '\b' || c == '\f')
            out += 2;
        else if (c < 0x20)
            out += 6;
        else
            out += 1;
    }
    return out;
}

static char *
json_escape(char *out, const char *s, Py_ssize_t len)
{
    static const char hex[] = "0123456789abcdef";
    for (Py_ssize_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': *out++ = '\\'; *out++ = '"'; break;
        case '\\': *out++ = '\\'; *out++ = '\\'; break;
        case '\n': *out++ = '\\'; *out++ = 'n'; break;
        case '\r': *out++ = '\\'; *out++ = 'r'; break;
        case '\t': *out++ = '\\'; *out++ = 't'; break;
        case '\b': *out++ = '\\'; *out++ = 'b'; break;
        case '\f': *out++ = '\\'; *out++ = 'f'; break;
        default:
            if (c < 0x20) {
                memcpy(out, "\\u00", 4);
                out[4] = hex[c >> 4];
                out[5] = hex[c & 15];
                out += 6;
            } else {
                *out++ = (char)c;
            }
        }
    }
    return out;
}

static const char EXEC_JSON[] = "\"executable\":true,";
static const char PATH_JSON[] = "{\"path\":\"";
static const char SHA_JSON[] = "\",\"sha256\":\"";
static const char SIZE_JSON[] = "\",\"size\":";

static void
hex32(char *out, const unsigned char *raw)
{
    static const char hex[] = "0123456789abcdef";
    for (int k = 0; k < 32; k++) {
        out[2 * k] = hex[raw[k] >> 4];
        out[2 * k + 1] = hex[raw[k] & 15];
    }
}

/* The files array elements for all entries, comma-separated (no brackets).
   Called without the GIL; returns a PyMem_Raw buffer or NULL (no memory). */
static char *
entries_json(const names_t *n, const char *prefix, Py_ssize_t prefix_len,
             const unsigned char *digests, const result_t *res, size_t *out_len)
{
    size_t prefix_esc = json_escaped_len(prefix, prefix_len), total = 0;
    char *buf, *p;
    Py_ssize_t i;

    for (i = 0; i < n->count; i++) {
        total += (i ? 1 : 0) + 1 + (res[i].exec ? sizeof(EXEC_JSON) - 1 : 0)
                 + sizeof(PATH_JSON) - 1 - 1 + prefix_esc
                 + json_escaped_len(n->utf8[i], n->utf8_len[i])
                 + sizeof(SHA_JSON) - 1 + 64 + sizeof(SIZE_JSON) - 1 + 20 + 1;
    }
    buf = PyMem_RawMalloc(total ? total : 1);
    if (buf == NULL)
        return NULL;
    p = buf;
    for (i = 0; i < n->count; i++) {
        if (i)
            *p++ = ',';
        *p++ = '{';
        if (res[i].exec) {
            memcpy(p, EXEC_JSON, sizeof(EXEC_JSON) - 1);
            p += sizeof(EXEC_JSON) - 1;
        }
        memcpy(p, PATH_JSON + 1, sizeof(PATH_JSON) - 2);  /* without its '{' */
        p += sizeof(PATH_JSON) - 2;
        p = json_escape(p, prefix, prefix_len);
        p = json_escape(p, n->utf8[i], n->utf8_len[i]);
        memcpy(p, SHA_JSON, sizeof(SHA_JSON) - 1);
        p += sizeof(SHA_JSON) - 1;
        hex32(p, digests + 32 * i);
        p += 64;
        memcpy(p, SIZE_JSON, sizeof(SIZE_JSON) - 1);
        p += sizeof(SIZE_JSON) - 1;
        p += snprintf(p, 21, "%lld", (long long)res[i].size);
        *p++ = '}';
    }
    *out_len = (size_t)(p - buf);
    return buf;
}

PyDoc_STRVAR(hash_names_doc,
"hash_names(directory, names, defer=0, expected=None) -> (sizes, digests, execs, errors)\n\n"
"SHA-256 of each name (relative to directory, symlinks not followed),\n"
"with the GIL released. sizes: list of int (-1 on error); digests: bytes,\n"
"32 per name (zeros on error); execs: bytes, 1 where any execute bit is\n"
"set; errors: dict index -> errno, -1 for 'not a regular file', or -2 for\n"
"a file larger than the optional defer size, left for the caller to hash.\n"
"OSError if the directory cannot be opened.");

/* Open directory `rel` ("" for the root itself; components separated by '/')
   beneath `root`, never following a symlink below the root: a directory
   swapped for a symlink while a tree is read fails (ELOOP/ENOTDIR) instead
   of leading outside. The root itself may be a symlink (the user named it).
   Returns an fd, or -1 with errno set. Needs no GIL. */
static int
open_beneath(const char *root, const char *rel)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char *p = rel;

    while (fd >= 0 && *p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len > NAME_MAX) {
            close(fd);
            errno = ENAMETOOLONG;
            return -1;
        }
        if (len) {
            char comp[NAME_MAX + 1];
            int next, saved;
            memcpy(comp, p, len);
            comp[len] = 0;
            next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            saved = errno;
            close(fd);
            errno = saved;
            fd = next;
        }
        p += len;
        if (*p == '/')
            p++;
    }
    return fd;
}

/* Open the directory (rel beneath dir_bytes, or dir_bytes itself when rel is
   NULL) and hash every name, without the GIL. -1 + OSError on failure. */
static int
run_loop(PyObject *dir_bytes, const char *rel, const names_t *n, unsigned char *digests,
         result_t *res, long long defer, const int64_t *expected)
{
    unsigned char *buf = PyMem_RawMalloc(BUF_SIZE);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int dfd = -1, saved = 0;

    if (!buf || !ctx) {
        PyMem_RawFree(buf);
        if (ctx)
            EVP_MD_CTX_free(ctx);
        PyErr_NoMemory();
        return -1;
    }
    Py_BEGIN_ALLOW_THREADS
    dfd = rel ? open_beneath(PyBytes_AS_STRING(dir_bytes), rel)
              : open(PyBytes_AS_STRING(dir_bytes), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        hash_all(dfd, n->cnames, n->count, buf, ctx, digests, res, defer, expected);
        close(dfd);
    } else {
        saved = errno;
    }
    Py_END_ALLOW_THREADS
    EVP_MD_CTX_free(ctx);
    PyMem_RawFree(buf);
    if (dfd < 0) {
        errno = saved;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, dir_bytes);
        return -1;
    }
    return 0;
}

/* The optional expected sizes: None, or bytes of `count` native int64 values
   (a file whose size differs is deferred, never read here). -1 + error if wrong. */
static int
expected_sizes(PyObject *obj, Py_ssize_t count, const int64_t **out)
{
    *out = NULL;
    if (obj == Py_None)
        return 0;
    if (!PyBytes_Check(obj) || PyBytes_GET_SIZE(obj) != count * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "expected must be None or bytes of one int64 per name");
        return -1;
    }
    *out = (const int64_t *)PyBytes_AS_STRING(obj);
    return 0;
}

/* errors as {index: errno or -1}. */
static PyObject *
errors_dict(const result_t *res, Py_ssize_t count)
{
    PyObject *errors = PyDict_New();
    if (!errors)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (res[i].err) {
            PyObject *k = PyLong_FromSsize_t(i), *v = PyLong_FromLong(res[i].err);
            int rc = (k && v) ? PyDict_SetItem(errors, k, v) : -1;
            Py_XDECREF(k);
            Py_XDECREF(v);
            if (rc < 0) {
                Py_DECREF(errors);
                return NULL;
            }
        }
    }
    return errors;
}

static PyObject *
hash_names(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *dir_bytes = NULL, *names_list;
    PyObject *sizes = NULL, *digest_obj = NULL, *exec_obj = NULL;
    PyObject *errors = NULL, *result = NULL;
    result_t *res = NULL;
    names_t n = {0};
    Py_ssize_t i;

    long long defer = 0;
    PyObject *expected_obj = Py_None;
    const int64_t *expected = NULL;

    if (!PyArg_ParseTuple(args, "O&O!|LO:hash_names", PyUnicode_FSConverter,
                          &dir_bytes, &PyList_Type, &names_list, &defer, &expected_obj))
        return NULL;
    if (names_prepare(names_list, 0, &n) < 0)
        goto done;
    if (expected_sizes(expected_obj, n.count, &expected) < 0)
        goto done;
    res = PyMem_Calloc(n.count ? n.count : 1, sizeof(result_t));
    digest_obj = PyBytes_FromStringAndSize(NULL, 32 * n.count);
    exec_obj = PyBytes_FromStringAndSize(NULL, n.count);
    if (!res || !digest_obj || !exec_obj) {
        PyErr_NoMemory();
        goto done;
    }
    if (run_loop(dir_bytes, NULL, &n, (unsigned char *)PyBytes_AS_STRING(digest_obj), res,
                 defer, expected) < 0)
        goto done;
    sizes = PyList_New(n.count);
    errors = errors_dict(res, n.count);
    if (!sizes || !errors)
        goto done;
    for (i = 0; i < n.count; i++) {
        PyObject *size = PyLong_FromLongLong(res[i].size);
        if (!size)
            goto done;
        PyList_SET_ITEM(sizes, i, size);
        PyBytes_AS_STRING(exec_obj)[i] = (char)res[i].exec;
    }
    result = PyTuple_Pack(4, sizes, digest_obj, exec_obj, errors);

done:
    names_free(&n);
    PyMem_Free(res);
    Py_XDECREF(dir_bytes);
    Py_XDECREF(sizes);
    Py_XDECREF(digest_obj);
    Py_XDECREF(exec_obj);
    Py_XDECREF(errors);
    return result;
}

/* One entry_type instance (a tuple subclass of 4: path, size, sha256, executable). */
static PyObject *
make_entry(PyTypeObject *type, PyObject *prefix, PyObject *name,
           const result_t *r, const unsigned char *raw)
{
    PyObject *path, *size, *sha, *entry;

    path = PyUnicode_GET_LENGTH(prefix) ? PyUnicode_Concat(prefix, name) : Py_NewRef(name);
    size = PyLong_FromLongLong(r->size);
    sha = PyUnicode_New(64, 127);
    if (!path || !size || !sha) {
        Py_XDECREF(path);
        Py_XDECREF(size);
        Py_XDECREF(sha);
        return NULL;
    }
    hex32((char *)PyUnicode_1BYTE_DATA(sha), raw);
    entry = type->tp_alloc(type, 4);
    if (!entry) {
        Py_DECREF(path);
        Py_DECREF(size);
        Py_DECREF(sha);
        return NULL;
    }
    PyTuple_SET_ITEM(entry, 0, path);
    PyTuple_SET_ITEM(entry, 1, size);
    PyTuple_SET_ITEM(entry, 2, sha);
    PyTuple_SET_ITEM(entry, 3, Py_NewRef(r->exec ? Py_True : Py_False));
    return entry;
}

PyDoc_STRVAR(hash_entries_doc,
"hash_entries(root, names, prefix, entry_type, defer=0, expected=None)\n"
"    -> (entries, json, errors)\n\n"
"Like hash_names for the directory prefix ('' or 'a/b/') beneath root, opened\n"
"without following any symlink below root, and builds the manifest entries:\n"
"entry_type(prefix + name,\n"
"size, sha256 hex, executable) for each name, and their canonical JSON as\n"
"nebsign.manifest.files_json gives it, UTF-8 bytes. When any name cannot be\n"
"hashed, entries and json are None and errors says why (index -> errno, or\n"
"-1 for 'not a regular file'); json is also None when a name is not valid\n"
"UTF-8. Files over the defer size are left out as with hash_names (error -2,\n"
"size -1 and a zero digest in their entries, json None) for the caller.");

static PyObject *
hash_entries(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *dir_bytes = NULL, *names_list, *prefix, *prefix_fs = NULL;
    PyTypeObject *entry_type;
    PyObject *entries = NULL, *json = NULL, *errors = NULL, *result = NULL;
    unsigned char *digests = NULL;
    result_t *res = NULL;
    char *jbuf = NULL;
    size_t jlen = 0;
    const char *prefix_utf8;
    Py_ssize_t prefix_len, i;
    names_t n = {0};
    int failed = 0, nomem = 0;

    long long defer = 0;
    int deferred = 0;
    PyObject *expected_obj = Py_None;
    const int64_t *expected = NULL;

    if (!PyArg_ParseTuple(args, "O&O!UO!|LO:hash_entries", PyUnicode_FSConverter,
                          &dir_bytes, &PyList_Type, &names_list, &prefix,
                          &PyType_Type, &entry_type, &defer, &expected_obj))
        return NULL;
    if (!PyType_IsSubtype(entry_type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "entry_type must be a tuple subclass");
        goto done;
    }
    prefix_utf8 = PyUnicode_AsUTF8AndSize(prefix, &prefix_len);
    prefix_fs = PyUnicode_EncodeFSDefault(prefix);
    if (prefix_utf8 == NULL || prefix_fs == NULL)
        goto done;
    if ((Py_ssize_t)strlen(PyBytes_AS_STRING(prefix_fs)) != PyBytes_GET_SIZE(prefix_fs)) {
        PyErr_SetString(PyExc_ValueError, "embedded null byte");
        goto done;
    }
    if (names_prepare(names_list, 1, &n) < 0)
        goto done;
    if (expected_sizes(expected_obj, n.count, &expected) < 0)
        goto done;
    res = PyMem_Calloc(n.count ? n.count : 1, sizeof(result_t));
    digests = PyMem_Malloc(32 * (n.count ? n.count : 1));
    if (!res || !digests) {
        PyErr_NoMemory();
        goto done;
    }
    if (run_loop(dir_bytes, PyBytes_AS_STRING(prefix_fs), &n, digests, res, defer, expected) < 0)
        goto done;
    for (i = 0; i < n.count; i++) {
        failed |= res[i].err != 0 && res[i].err != DEFER;
        deferred |= res[i].err == DEFER;
    }
    errors = errors_dict(res, n.count);
    if (!errors)
        goto done;
    if (failed) {
        result = PyTuple_Pack(3, Py_None, Py_None, errors);
        goto done;
    }
    if (n.all_utf8 && !deferred) {
        Py_BEGIN_ALLOW_THREADS
        jbuf = entries_json(&n, prefix_utf8, prefix_len, digests, res, &jlen);
        nomem = jbuf == NULL;
        Py_END_ALLOW_THREADS
        if (nomem) {
            PyErr_NoMemory();
            goto done;
        }
        json = PyBytes_FromStringAndSize(jbuf, (Py_ssize_t)jlen);
        if (!json)
            goto done;
    }
    entries = PyTuple_New(n.count);
    if (!entries)
        goto done;
    for (i = 0; i < n.count; i++) {
        PyObject *entry = make_entry(entry_type, prefix, PyList_GET_ITEM(names_list, i),
                                     &res[i], digests + 32 * i);
        if (!entry)
            goto done;
        PyTuple_SET_ITEM(entries, i, entry);
    }
    result = PyTuple_Pack(3, entries, json ? json : Py_None, errors);

done:
    names_free(&n);
    PyMem_RawFree(jbuf);
    PyMem_Free(res);
    PyMem_Free(digests);
    Py_XDECREF(dir_bytes);
    Py_XDECREF(prefix_fs);
    Py_XDECREF(entries);
    Py_XDECREF(json);
    Py_XDECREF(errors);
    return result;
}

/* ---- list_dir ------------------------------------------------------- */

typedef struct {
    char *arena;            /* NUL-terminated names, back to back */
    size_t used, cap;
    size_t *offs;           /* offset of each name in arena */
    unsigned char *kinds;   /* 0 file, 1 dir, 2 link, 3 other */
    size_t count, ncap;
} listing_t;

static int
listing_add(listing_t *l, const char *name, unsigned char kind)
{
    size_t len = strlen(name) + 1;
    if (l->used + len > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 65536;
        char *arena;
        while (cap < l->used + len)
            cap *= 2;
        arena = PyMem_RawRealloc(l->arena, cap);
        if (!arena)
            return -1;
        l->arena = arena;
        l->cap = cap;
    }
    if (l->count == l->ncap) {
        size_t ncap = l->ncap ? l->ncap * 2 : 1024;
        size_t *offs = PyMem_RawRealloc(l->offs, ncap * sizeof(size_t));
        unsigned char *kinds;
        if (!offs)
            return -1;
        l->offs = offs;
        kinds = PyMem_RawRealloc(l->kinds, ncap);
        if (!kinds)
            return -1;
        l->kinds = kinds;
        l->ncap = ncap;
    }
    memcpy(l->arena + l->used, name, len);
    l->offs[l->count] = l->used;
    l->kinds[l->count] = kind;
    l->used += len;
    l->count++;
    return 0;
}

/* qsort_r comparator: indices into a listing, by name bytes. */
static int
cmp_names(const void *a, const void *b, void *ctx)
{
    const listing_t *l = ctx;
    return strcmp(l->arena + l->offs[*(const size_t *)a], l->arena + l->offs[*(const size_t *)b]);
}

/* Read a whole directory (rel beneath root) without the GIL. Returns 0, or an errno value. */
static int
read_listing(const char *root, const char *rel, listing_t *l)
{
    int fd = open_beneath(root, rel);
    DIR *dir;
    struct dirent *e;
    int err = 0;

    if (fd < 0)
        return errno;
    dir = fdopendir(fd);
    if (!dir) {
        err = errno;
        close(fd);
        return err;
    }
    for (;;) {
        unsigned char kind;
        errno = 0;
        e = readdir(dir);
        if (!e) {
            err = errno;
            break;
        }
        if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0)))
            continue;
        switch (e->d_type) {
        case DT_REG: kind = 0; break;
        case DT_DIR: kind = 1; break;
        case DT_LNK: kind = 2; break;
        case DT_UNKNOWN: {
            struct stat st;
            if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                err = errno;
                goto out;
            }
            kind = S_ISREG(st.st_mode) ? 0 : S_ISDIR(st.st_mode) ? 1 : S_ISLNK(st.st_mode) ? 2 : 3;
            break;
        }
        default: kind = 3;
        }
        if (listing_add(l, e->d_name, kind) < 0) {
            err = ENOMEM;
            break;
        }
    }
out:
    closedir(dir);
    return err;
}

PyDoc_STRVAR(list_dir_doc,
"list_dir(root, prefix='') -> (files, dirs, links, others)\n\n"
"The names in directory prefix ('' or 'a/b/') beneath root, opened without\n"
"following any symlink below root, by kind (d_type; lstat where the filesystem does\n"
"not say), '.' and '..' left out, symlinks not followed. Each list is sorted\n"
"by the names' bytes (code point order for UTF-8 names). OSError if the\n"
"directory cannot be read.");

static PyObject *
list_dir(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *path_bytes = NULL, *rel_bytes = NULL;
    PyObject *lists[4] = {NULL, NULL, NULL, NULL}, *result = NULL;
    listing_t l = {0};
    size_t *order = NULL;
    int err;

    if (!PyArg_ParseTuple(args, "O&|O&:list_dir", PyUnicode_FSConverter, &path_bytes,
                          PyUnicode_FSConverter, &rel_bytes))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    err = read_listing(PyBytes_AS_STRING(path_bytes),
                       rel_bytes ? PyBytes_AS_STRING(rel_bytes) : "", &l);
    if (!err && l.count) {
        order = PyMem_RawMalloc(l.count * sizeof(size_t));
        if (!order) {
            err = ENOMEM;
        } else {
            for (size_t i = 0; i < l.count; i++)
                order[i] = i;
            qsort_r(order, l.count, sizeof(size_t), cmp_names, &l);
        }
    }
    Py_END_ALLOW_THREADS
    if (err) {
        errno = err;
        if (err == ENOMEM)
            PyErr_NoMemory();
        else
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path_bytes);
        goto done;
    }
    for (int k = 0; k < 4; k++) {
        lists[k] = PyList_New(0);
        if (!lists[k])
            goto done;
    }
    for (size_t i = 0; i < l.count; i++) {
        size_t idx = order[i];
        PyObject *name = PyUnicode_DecodeFSDefault(l.arena + l.offs[idx]);
        int rc;
        if (!name)
            goto done;
        rc = PyList_Append(lists[l.kinds[idx]], name);
        Py_DECREF(name);
        if (rc < 0)
            goto done;
    }
    result = PyTuple_Pack(4, lists[0], lists[1], lists[2], lists[3]);

done:
    for (int k = 0; k < 4; k++)
        Py_XDECREF(lists[k]);
    PyMem_RawFree(order);
    PyMem_RawFree(l.arena);
    PyMem_RawFree(l.offs);
    PyMem_RawFree(l.kinds);
    Py_DECREF(path_bytes);
    Py_XDECREF(rel_bytes);
    return result;
}

PyDoc_STRVAR(manifest_sizes_doc,
"manifest_sizes(raw) -> dict[str, int] | None\n\n"
"Path -> size of every file entry of canonical manifest bytes, found by\n"
"scanning for '\"path\":\"NAME\",\"sha256\":\"<64>\",\"size\":N}'. None when a name\n"
"holds an escape or is not UTF-8, or an entry has an unexpected shape (the\n"
"caller then uses its Python scan). A read guide only, never a verdict.");

static PyObject *
manifest_sizes(PyObject *Py_UNUSED(self), PyObject *arg)
{
    static const char path_key[] = "\"path\":\"";
    static const char sha_key[] = "\",\"sha256\":\"";
    static const char size_key[] = "\",\"size\":";
    const size_t pk = sizeof(path_key) - 1, sk = sizeof(sha_key) - 1, zk = sizeof(size_key) - 1;
    Py_buffer view;
    PyObject *out = NULL;
    const char *p, *end;

    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    out = PyDict_New();
    if (!out)
        goto fail;
    p = view.buf;
    end = p + view.len;
    for (;;) {
        const char *at = memmem(p, (size_t)(end - p), path_key, pk);
        const char *name, *quote, *s;
        long long size = 0;
        int digits = 0;
        PyObject *key, *value;
        int rc;

        if (!at)
            break;
        name = at + pk;
        quote = memchr(name, '"', (size_t)(end - name));
        if (!quote)
            goto unknown;
        if (memchr(name, '\\', (size_t)(quote - name)))
            goto unknown;
        if ((size_t)(end - quote) < sk + 64 + zk || memcmp(quote, sha_key, sk) != 0) {
            p = quote;  /* a symlink entry */
            continue;
        }
        s = quote + sk + 64;
        if (memcmp(s, size_key, zk) != 0)
            goto unknown;
        for (s += zk; s < end && *s >= '0' && *s <= '9'; s++, digits++) {
            if (size > (LLONG_MAX - 9) / 10)
                goto unknown;
            size = size * 10 + (*s - '0');
        }
        if (!digits || s >= end || *s != '}')
            goto unknown;
        key = PyUnicode_DecodeUTF8(name, quote - name, "strict");
        if (!key) {
            PyErr_Clear();
            goto unknown;
        }
        value = PyLong_FromLongLong(size);
        rc = value ? PyDict_SetItem(out, key, value) : -1;
        Py_DECREF(key);
        Py_XDECREF(value);
        if (rc < 0)
            goto fail;
        p = s;
    }
    PyBuffer_Release(&view);
    return out;
unknown:
    Py_DECREF(out);
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
fail:
    Py_XDECREF(out);
    PyBuffer_Release(&view);
    return NULL;
}

static PyMethodDef methods[] = {
    {"hash_names", hash_names, METH_VARARGS, hash_names_doc},
    {"hash_entries", hash_entries, METH_VARARGS, hash_entries_doc},
    {"list_dir", list_dir, METH_VARARGS, list_dir_doc},
    {"manifest_sizes", manifest_sizes, METH_O, manifest_sizes_doc},
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
