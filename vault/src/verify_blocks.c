/*
 * verify_blocks — every stored block that a version lists, against the
 * hash the list gives it: the list is the one its signed manifest commits
 * to (checked during the replay), so this reaches every stored byte with
 * no key.
 *
 * The versions walk (verify_state.c) finds each block's record in its
 * snapshot and queues it here; a few hasher threads read the record from
 * the file (one copy from the page cache, no fault on the map) and hash
 * it. A block shared by several versions of its node is hashed once: the
 * ids of the node's blocks already queued are kept with the hash their
 * first version listed, and a later version must list the same one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/uio.h>

#include "verify.h"

#define RUN  16                          /* blocks a job: 1 MiB of content */
#define JOBS 32                          /* jobs queued at most */
#define SEEN_MIN  64                     /* slots of a node's set of blocks, at first */
#define SEEN_KEEP 4096                   /* ... kept from one node to the next */

typedef struct {
	const unsigned char *data;       /* the record, in the walk's snapshot */
	size_t size;
	uint64_t id;
	uint64_t seq;                    /* order of the walk, for the first failure */
	uint32_t version;
	size_t index;
	unsigned char want[BLOCK_HASHBYTES];
} block_job;

typedef struct {
	size_t n;
	uint64_t node;
	block_job b[RUN];
} block_run;

/* The node's blocks queued so far: id -> listed hash (open addressing). */
typedef struct {
	uint64_t node;
	size_t n, cap;                   /* cap: a power of two, or 0 */
	uint64_t *ids;                   /* BLOCK_HOLE: a free slot */
	unsigned char (*hash)[BLOCK_HASHBYTES];
} seen_set;

struct vault_verify__blocks {
	vault *v;
	MDB_txn *txn;                    /* the walk's: records stay valid in it */
	const vault_verify_options *opts;
	uint64_t total;                  /* bytes of every block record, for the progress */
	unsigned int pushed;             /* runs queued */
	pthread_mutex_t lock;
	pthread_cond_t more, room;
	block_run *ring;
	size_t first, count;
	int closing;
	pthread_t *threads;
	unsigned int nthreads;
	block_run cur;                   /* the run being filled */
	seen_set seen;
	int started;                     /* seen.node is set */
	uint64_t seq;
	uint64_t bytes;                  /* hashed so far (atomic) */

	int failed;                      /* the first block that does not match */
	uint64_t fail_seq, fail_node;
	uint32_t fail_version;
	size_t fail_index;
};

static void note_failure(vault_verify__blocks *b, uint64_t node, const block_job *j)
{
	pthread_mutex_lock(&b->lock);
	if (!b->failed || j->seq < b->fail_seq) {
		b->failed = 1;
		b->fail_seq = j->seq;
		b->fail_node = node;
		b->fail_version = j->version;
		b->fail_index = j->index;
	}
	pthread_mutex_unlock(&b->lock);
}

/* ---- the hashers --------------------------------------------------------- */

/* Does the stored record match the hash its version lists? Read into
 * `buf` (BLOCK_REC_MAX bytes), or without one from the map. */
static int block_matches(vault_verify__blocks *b, uint64_t node, const block_job *j,
	unsigned char *buf)
{
	MDB_val val = { j->size, (void *)j->data };
	struct iovec whole = { buf, j->size }, stored;
	unsigned char got[BLOCK_HASHBYTES];
	const unsigned char *rec = buf;

	if (j->size < BLOCK_REC_MIN || j->size > BLOCK_REC_MAX)
		return 0;
	if (!buf || vault_store__readv(b->v->st, b->txn, &val, &whole, 1) < 0)
		rec = j->data;
	stored.iov_base = (void *)(rec + 1);
	stored.iov_len = j->size - 1;
	vault_block__hash(got, node, j->id, &stored, 1);
	return rec[0] == REC_FORMAT && sodium_memcmp(got, j->want, BLOCK_HASHBYTES) == 0;
}

static void *hasher_main(void *arg)
{
	vault_verify__blocks *b = arg;
	unsigned char *buf = malloc(BLOCK_REC_MAX);
	block_run r;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		while (b->count == 0 && !b->closing)
			pthread_cond_wait(&b->more, &b->lock);
		if (b->count == 0) {
			pthread_mutex_unlock(&b->lock);
			break;
		}
		r = b->ring[b->first];
		b->first = (b->first + 1) % JOBS;
		b->count--;
		pthread_cond_signal(&b->room);
		pthread_mutex_unlock(&b->lock);
		for (size_t i = 0; i < r.n; i++) {
			if (!block_matches(b, r.node, &r.b[i], buf))
				note_failure(b, r.node, &r.b[i]);
			__atomic_add_fetch(&b->bytes, r.b[i].size, __ATOMIC_RELAXED);
		}
	}
	free(buf);
	return NULL;
}

static void progress(vault_verify__blocks *b)
{
	if (b->opts && b->opts->content_progress)
		b->opts->content_progress(__atomic_load_n(&b->bytes, __ATOMIC_RELAXED), b->total,
			b->opts->payload);
}

/* Queue the run being filled; now and then, the progress. */
static void run_push(vault_verify__blocks *b)
{
	if (b->cur.n == 0)
		return;
	if ((++b->pushed & 15) == 0)
		progress(b);
	pthread_mutex_lock(&b->lock);
	while (b->count == JOBS)
		pthread_cond_wait(&b->room, &b->lock);
	b->ring[(b->first + b->count) % JOBS] = b->cur;
	b->count++;
	pthread_cond_signal(&b->more);
	pthread_mutex_unlock(&b->lock);
	b->cur.n = 0;
}

/* ---- the blocks seen ------------------------------------------------------ */

static size_t seen_slot(const seen_set *s, uint64_t id)
{
	size_t i = (size_t)(id * 0x9E3779B97F4A7C15ULL) & (s->cap - 1);

	while (s->ids[i] != BLOCK_HOLE && s->ids[i] != id)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int seen_grow(seen_set *s)
{
	seen_set g = *s;

	g.cap = s->cap ? s->cap * 2 : SEEN_MIN;
	g.n = 0;
	if ((g.ids = malloc(g.cap * sizeof *g.ids)) == NULL ||
	    (g.hash = malloc(g.cap * sizeof *g.hash)) == NULL) {
		free(g.ids);
		return vault_error_set_oom();
	}
	memset(g.ids, 0xff, g.cap * sizeof *g.ids);
	for (size_t i = 0; i < s->cap; i++)
		if (s->ids[i] != BLOCK_HOLE) {
			size_t j = seen_slot(&g, s->ids[i]);
			g.ids[j] = s->ids[i];
			memcpy(g.hash[j], s->hash[i], BLOCK_HASHBYTES);
			g.n++;
		}
	free(s->ids);
	free(s->hash);
	*s = g;
	return 0;
}

/*
 * The hash a version of this node listed before for block `id`, or NULL
 * (then `want` is kept for it).
 */
static int seen_add(const unsigned char **before, seen_set *s, uint64_t id,
	const unsigned char want[BLOCK_HASHBYTES])
{
	size_t i;
	int error;

	*before = NULL;
	if (s->n * 2 >= s->cap && (error = seen_grow(s)) < 0)
		return error;
	i = seen_slot(s, id);
	if (s->ids[i] == id) {
		*before = s->hash[i];
		return 0;
	}
	s->ids[i] = id;
	memcpy(s->hash[i], want, BLOCK_HASHBYTES);
	s->n++;
	return 0;
}

/* For the next node: a large set (a large file's) goes, so that many
 * small files after it do not each clear it. */
static void seen_reset(seen_set *s, uint64_t node)
{
	if (s->cap > SEEN_KEEP) {
		free(s->ids);
		free(s->hash);
		s->ids = NULL;
		s->hash = NULL;
		s->cap = 0;
	}
	if (s->cap)
		memset(s->ids, 0xff, s->cap * sizeof *s->ids);
	s->n = 0;
	s->node = node;
}

/* ---- what verify.c and verify_state.c call -------------------------------- */

unsigned int vault_verify__threads(const vault_verify_options *o)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (o && o->threads)
		return o->threads;
	return n < 1 ? 1 : n > 16 ? 16 : (unsigned int)n;
}

/* The bytes of every block record, for the progress: what the hashers
 * will read, or a little more (blocks no version lists). The records'
 * sizes are in LMDB's leaf pages: the content is not read. */
static uint64_t stored_bytes(vault *v, MDB_txn *txn)
{
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	uint64_t total = 0;

	if (mdb_cursor_open(txn, v->st->blocks, &cur) != 0)
		return 0;
	while (mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0)
		total += d.mv_size;
	mdb_cursor_close(cur);
	return total;
}

int vault_verify__blocks_start(vault_verify__blocks **out, vault *v, MDB_txn *txn,
	const vault_verify_options *opts)
{
	unsigned int threads = vault_verify__threads(opts);
	vault_verify__blocks *b;

	if ((b = calloc(1, sizeof *b)) == NULL)
		return vault_error_set_oom();
	*out = b;
	b->v = v;
	b->txn = txn;
	b->opts = opts;
	if (opts && opts->content_progress)
		b->total = stored_bytes(v, txn);
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->more, NULL);
	pthread_cond_init(&b->room, NULL);
	if ((b->ring = calloc(JOBS, sizeof *b->ring)) == NULL ||
	    (b->threads = calloc(threads, sizeof *b->threads)) == NULL)
		return vault_error_set_oom();
	for (; b->nthreads < threads; b->nthreads++)
		if (pthread_create(&b->threads[b->nthreads], NULL, hasher_main, b) != 0)
			return vault_error_set(VAULT_ERROR, "cannot start a thread to verify");
	return 0;
}

int vault_verify__blocks_add(vault_verify__blocks *b, uint64_t node, uint32_t version,
	size_t index, uint64_t id, const MDB_val *rec, const unsigned char want[BLOCK_HASHBYTES])
{
	const unsigned char *before;
	block_job *j;
	int error;

	if (!b->started || node != b->seen.node) {
		run_push(b);
		seen_reset(&b->seen, node);
		b->cur.node = node;
		b->started = 1;
	}
	if ((error = seen_add(&before, &b->seen, id, want)) < 0)
		return error;
	j = &b->cur.b[b->cur.n];
	j->seq = b->seq++;
	j->version = version;
	j->index = index;
	if (before) {
		/* Hashed for an earlier version: it must list the same hash. */
		if (sodium_memcmp(before, want, BLOCK_HASHBYTES) != 0)
			note_failure(b, node, j);
		return 0;
	}
	j->data = rec->mv_data;
	j->size = rec->mv_size;
	j->id = id;
	memcpy(j->want, want, BLOCK_HASHBYTES);
	if (++b->cur.n == RUN)
		run_push(b);
	return 0;
}

int vault_verify__blocks_finish(vault_verify__blocks *b, char bad_commit[VAULT_OID_SIZE])
{
	int error = 0;

	if (!b)
		return 0;
	run_push(b);
	pthread_mutex_lock(&b->lock);
	b->closing = 1;
	pthread_cond_broadcast(&b->more);
	pthread_mutex_unlock(&b->lock);
	for (unsigned int i = 0; i < b->nthreads; i++)
		pthread_join(b->threads[i], NULL);
	progress(b);
	if (b->failed) {
		node_rec n;
		version_rec r;
		int got = vault_node__get(&n, b->txn, b->v, b->fail_node) == 0;
		if (vault_version__get(&r, b->txn, b->v, b->fail_node, b->fail_version) == 0)
			sodium_bin2hex(bad_commit, VAULT_OID_SIZE, r.commit, sizeof r.commit);
		vault_version__dispose(&r);
		if (got)
			error = vault_error_set(VAULT_ECORRUPT,
				"version %u of node %016llx (case %s): block %zu does not match its signed hash",
				b->fail_version, (unsigned long long)b->fail_node, n.code, b->fail_index);
		else
			error = vault_error_set(VAULT_ECORRUPT,
				"version %u of node %016llx (case unknown): block %zu does not match its signed hash",
				b->fail_version, (unsigned long long)b->fail_node, b->fail_index);
	}
	pthread_cond_destroy(&b->more);
	pthread_cond_destroy(&b->room);
	pthread_mutex_destroy(&b->lock);
	free(b->seen.ids);
	free(b->seen.hash);
	free(b->ring);
	free(b->threads);
	free(b);
	return error;
}
