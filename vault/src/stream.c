/*
 * stream — whole files as streams: `vault_put` and `vault_get` through a
 * file handle, a block at a time, so that memory stays flat whatever the
 * file size; a read view of a past version for time travel; and
 * `vault_rename`, whose file over a file copies the content as the
 * target's next version.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "file.h"

#define BS VAULT_BLOCK_SIZE

/* ---- put and get -------------------------------------------------------- */

int vault_put(uint32_t *version_out, vault *v, const char *path, vault_read_fn fn, void *payload)
{
	vault_file_options o = { VAULT_FILE_OPTIONS_VERSION,
		VAULT_FILE_WRITE | VAULT_FILE_CREATE | VAULT_FILE_TRUNC, 0, NULL, NULL, 0, 0 };
	vault_file *f = NULL;
	unsigned char *buf = NULL;
	uint64_t off = 0;
	int error;

	if (version_out)
		*version_out = 0;
	if ((error = vault_file_open(&f, v, path, &o)) < 0)
		return error;
	if ((buf = malloc(BS)) == NULL) {
		error = vault_error_set_oom();
		goto done;
	}
	for (;;) {
		size_t len = 0;
		while (len < BS) {
			ssize_t n = fn(payload, buf + len, BS - len);
			if (n < 0) {
				error = vault_error_set(VAULT_ERROR, "reading the content for '%s' failed", path);
				goto done;
			}
			if (n == 0)
				break;
			len += (size_t)n;
		}
		if (len && (error = vault_file_write(f, buf, len, off)) < 0)
			goto done;
		off += len;
		if (len < BS)
			break;
	}
	error = vault_file_commit(version_out, f);
done:
	vault_blocks__free(buf);
	vault_file_close(f);
	return error;
}

int vault_get(vault *v, const char *path, const vault_get_options *opts,
	vault_write_fn fn, void *payload)
{
	vault_file_options o = { VAULT_FILE_OPTIONS_VERSION, VAULT_FILE_READ, 0, NULL, NULL, 0, 0 };
	vault_file *f = NULL;
	int error;

	if (opts && opts->version != VAULT_GET_OPTIONS_VERSION)
		return vault_error_set(VAULT_EUSAGE, "'%s': get options of an unknown version", path);
	if (opts) {
		o.doc_version = opts->doc_version;
		o.purpose = opts->purpose;
		o.note = opts->note;
	}
	if ((error = vault_file_open(&f, v, path, &o)) < 0)
		return error;
	error = vault_stream__get(f, fn, payload);
	vault_file_close(f);
	return error;
}

/*
 * Reading is bound by the CPU (each block is hashed and decrypted), so a
 * large file is read on two threads: a helper reads every other chunk of
 * GET_CHUNK bytes into a buffer of its own while this thread reads the
 * others and hands them all to the caller in order, a block at a time. A
 * handle that cannot write may be read on several threads (file.h). As
 * on one thread, what comes out before a block that fails is every block
 * before it, whole.
 */
#define GET_CHUNK (16 * BS)

enum { HELPER_IDLE, HELPER_ASKED, HELPER_DONE, HELPER_STOP };

typedef struct {
	vault_file *f;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int state;
	uint64_t off;                    /* the chunk asked for */
	unsigned char *buf;              /* GET_CHUNK bytes */
	size_t n;                        /* what it read, up to a failing block */
	int error;                       /* its result, and its message */
	vault_error_kept why;
	pthread_t thread;
} get_helper;

/* Up to GET_CHUNK bytes at `off` into `buf`, a block at a time: *n is what
 * was read before the end or a failing block. */
static int read_chunk(size_t *n, vault_file *f, unsigned char *buf, uint64_t off)
{
	size_t got;
	int error;

	for (*n = 0; *n < GET_CHUNK; *n += got) {
		if ((error = vault_file_read(&got, f, buf + *n, BS, off + *n)) < 0)
			return error;
		if (got < BS) {
			*n += got;
			break;
		}
	}
	return 0;
}

/* `n` bytes of `buf` to the caller, a block at a time. */
static int write_chunk(vault_file *f, const unsigned char *buf, size_t n, vault_write_fn fn,
	void *payload)
{
	for (size_t done = 0; done < n; done += BS)
		if (fn(payload, buf + done, n - done < BS ? n - done : BS) < 0)
			return vault_error_set(VAULT_ERROR, "writing the content of '%s' failed", f->path);
	return 0;
}

static void *helper_main(void *payload)
{
	get_helper *h = payload;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (h->state != HELPER_ASKED && h->state != HELPER_STOP)
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->state == HELPER_STOP)
			break;
		pthread_mutex_unlock(&h->lock);
		/* Errors are per thread: the message goes back with the code. */
		if ((h->error = read_chunk(&h->n, h->f, h->buf, h->off)) < 0)
			vault_error_keep(&h->why);
		pthread_mutex_lock(&h->lock);
		h->state = HELPER_DONE;
		pthread_cond_signal(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static void helper_set(get_helper *h, int state, uint64_t off)
{
	pthread_mutex_lock(&h->lock);
	h->state = state;
	h->off = off;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* Wait for the chunk the helper was asked for; its result (the message
 * in h->why). */
static int helper_wait(get_helper *h)
{
	pthread_mutex_lock(&h->lock);
	while (h->state != HELPER_DONE)
		pthread_cond_wait(&h->cond, &h->lock);
	h->state = HELPER_IDLE;
	pthread_mutex_unlock(&h->lock);
	return h->error;
}

static void chunk_free(unsigned char *p)
{
	if (p) {
		sodium_memzero(p, GET_CHUNK);
		free(p);
	}
}

int vault_stream__get(vault_file *f, vault_write_fn fn, void *payload)
{
	get_helper h;
	unsigned char *buf = NULL;
	uint64_t off = 0;
	size_t n = 0;
	int error, werr, helped;

	memset(&h, 0, sizeof h);
	h.f = f;
	if ((buf = malloc(GET_CHUNK)) == NULL)
		return vault_error_set_oom();
	pthread_mutex_init(&h.lock, NULL);
	pthread_cond_init(&h.cond, NULL);
	helped = f->size > GET_CHUNK && (h.buf = malloc(GET_CHUNK)) != NULL &&
		pthread_create(&h.thread, NULL, helper_main, &h) == 0;
	for (;;) {
		if (helped)
			helper_set(&h, HELPER_ASKED, off + GET_CHUNK);
		error = read_chunk(&n, f, buf, off);
		if ((werr = write_chunk(f, buf, n, fn, payload)) < 0)
			error = werr;
		if (helped) {
			int herr = helper_wait(&h);
			/* The helper's chunk follows a whole one only. */
			if (error == 0 && n == GET_CHUNK) {
				if ((error = write_chunk(f, h.buf, h.n, fn, payload)) == 0 && herr < 0)
					error = vault_error_put(herr, &h.why);
				n += h.n;
			}
		}
		if (error < 0 || n < (helped ? 2 : 1) * (size_t)GET_CHUNK)
			break;
		off += n;
	}
	if (helped) {
		helper_set(&h, HELPER_STOP, 0);
		pthread_join(h.thread, NULL);
	}
	pthread_cond_destroy(&h.cond);
	pthread_mutex_destroy(&h.lock);
	chunk_free(h.buf);
	chunk_free(buf);
	return error;
}

/* ---- a past version ----------------------------------------------------- */

int vault_stream__open_version(vault_file **out, vault *v, const char *path, const char *code,
	uint64_t node, uint32_t version, const unsigned char commitment[32])
{
	vault_file *f;
	MDB_txn *txn = NULL;
	unsigned char got[32];
	int error;

	*out = NULL;
	if ((f = calloc(1, sizeof *f)) == NULL)
		return vault_error_set_oom();
	f->v = v;
	f->flags = VAULT_FILE_READ;
	pthread_mutex_init(&f->rlock, NULL);
	snprintf(f->path, sizeof f->path, "%s", path);
	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		goto done;
	if ((error = vault_case__get(&f->c, txn, v, code)) < 0 ||
	    (error = vault_node__get(&f->node, txn, v, node)) < 0)
		goto done;
	if (strcmp(f->node.code, code) || f->node.type != NODE_FILE) {
		error = vault_error_set(VAULT_ECORRUPT, "node %016llx is not a file of case '%s'",
			(unsigned long long)node, code);
		goto done;
	}
	if (version) {
		error = vault_version__get(&f->base, txn, v, node, version);
		if (error == VAULT_ENOTFOUND)
			error = vault_error_set(VAULT_ECORRUPT, "the record of '%s' version %u is missing",
				path, version);
		if (error < 0)
			goto done;
	}
	/* The block list served is the one the signed history vouches for. */
	vault_version__commitment(got, &f->base);
	if (sodium_memcmp(got, commitment, sizeof got) != 0) {
		error = vault_error_set(VAULT_ECORRUPT,
			"version %u of '%s' does not match the signed history (node %016llx)",
			version, path, (unsigned long long)node);
		goto done;
	}
	f->version = version;
	f->exists = 1;
	f->size = f->base_size = f->base.size;
	if (f->base.nblocks) {
		f->cap = f->nblocks = f->base.nblocks;
		if ((f->blocks = malloc(f->cap * sizeof *f->blocks)) == NULL) {
			error = vault_error_set_oom();
			goto done;
		}
		memcpy(f->blocks, f->base.blocks, f->cap * sizeof *f->blocks);
	}
	snprintf(f->node_hex, sizeof f->node_hex, "%016llx", (unsigned long long)node);
	*out = f;
	f = NULL;
done:
	vault_store__abort(v->st, txn);
	vault_file_close(f);
	return error;
}

/* ---- rename ------------------------------------------------------------- */

/* The target gets the source's content as its next version. */
static int copy_over(vault *v, const char *from, const char *to)
{
	vault_file_options ro = { VAULT_FILE_OPTIONS_VERSION,
		VAULT_FILE_READ | VAULT_FILE_WRITE | FILE_QUIET, 0, NULL, NULL, 0, 0 };
	vault_file_options wo = { VAULT_FILE_OPTIONS_VERSION, VAULT_FILE_WRITE | VAULT_FILE_TRUNC, 0, NULL, NULL, 0, 0 };
	vault_file *src = NULL, *dst = NULL;
	unsigned char *buf = NULL;
	uint64_t off = 0;
	size_t n;
	int error;

	if ((error = vault_file_open(&src, v, from, &ro)) < 0 ||
	    (error = vault_file_open(&dst, v, to, &wo)) < 0)
		goto done;
	if ((buf = malloc(BS)) == NULL) {
		error = vault_error_set_oom();
		goto done;
	}
	for (;;) {
		if ((error = vault_file_read(&n, src, buf, BS, off)) < 0)
			goto done;
		if (n == 0)
			break;
		if ((error = vault_file_write(dst, buf, n, off)) < 0)
			goto done;
		off += n;
	}
	dst->modified = 1;       /* even the same content is the next version */
	/* As a rename on a disk: the target now has the source's mode and times. */
	{
		vault_time m, a;
		vault_time__from_ns(&m, src->node.mtime);
		vault_time__from_ns(&a, src->node.atime);
		if ((error = vault_file_set_mode(dst, src->node.mode)) < 0 ||
		    (error = vault_file_set_times(dst, &a, &m)) < 0)
			goto done;
	}
	if ((error = vault_file_commit(NULL, dst)) < 0)
		goto done;
	error = vault_remove(v, from);
done:
	vault_blocks__free(buf);
	vault_file_close(src);
	vault_file_close(dst);
	return error;
}

int vault_rename(vault *v, const char *from, const char *to, unsigned int flags)
{
	vault_stat_info src, dst;
	int error;

	if ((error = vault_stat(&src, v, from)) < 0)
		return error;
	error = vault_stat(&dst, v, to);
	if (error == VAULT_ENOTFOUND)
		return vault_move(v, from, to);
	if (error < 0)
		return error;
	if (flags & VAULT_RENAME_NOREPLACE)
		return vault_error_set(VAULT_EEXISTS, "'%s' already exists", to);
	if (!strcmp(src.node, dst.node))
		return 0;                /* the same file: nothing to do */
	if (!src.is_dir && !dst.is_dir)
		return copy_over(v, from, to);
	if (!src.is_dir)
		return vault_error_set(VAULT_EUSAGE, "'%s' is a folder; a file cannot replace it", to);
	if (!dst.is_dir)
		return vault_error_set(VAULT_EUSAGE, "'%s' is a file; a folder cannot replace it", to);
	/* A folder over an empty folder. */
	if ((error = vault_remove(v, to)) < 0)
		return error;
	return vault_move(v, from, to);
}
