/*
 * file — file handles: read and write content at any offset.
 *
 * Content is a list of 64 KiB plaintext blocks, each sealed under the node
 * key of a generation with associated data node ‖ block ‖ generation, so a
 * block cannot be moved to another file, position or generation unnoticed.
 * A hole (a gap never written) is a block id with no record: zeros.
 *
 * A writable handle keeps up to DIRTY_MAX changed blocks in memory; older
 * ones, and whole blocks written at once, go to a stage of up to
 * CHUNK_BLOCKS blocks, which is sealed and stored in a transaction of its
 * own when full, or with the version: ids are taken from the node record in
 * the transaction that stores the blocks. A full stage is stored on a
 * thread of its own while the next one fills, so that sealing, LMDB's
 * write and its fsync overlap the writes still arriving; the version waits
 * for it. Blocks stored ahead of their version are unreachable until its
 * event commits, so a crash leaves only garbage that no version names.
 * Memory stays flat whatever the file size, and LMDB's write lock is free
 * between chunks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <sys/uio.h>

#include "docs.h"
#include "history.h"

#define BS            VAULT_BLOCK_SIZE
#define CHUNK_BLOCKS  128                /* 8 MiB of plaintext per transaction */
#define DIRTY_MAX     32                 /* 2 MiB of changed plaintext */
#define REC_MAX       (5 + VCRYPTO_OVERHEAD + BS)   /* a sealed block record */
#define BLOCK_PENDING (UINT64_MAX - 1)   /* in the stage, sealed at the next flush */
#define STAGE_DEAD    SIZE_MAX           /* a stage slot no longer in use */
/* Internal: read access without a read event (a rename copies content the
 * caller is replacing; it serves nothing). */
#define FILE_QUIET    0x100

typedef struct {
	uint64_t index;                  /* block number in the file */
	uint64_t used;                   /* last touched (LRU) */
	unsigned char *buf;              /* BS bytes; beyond the block's length: zeros */
} dirty_block;

/*
 * Changed blocks sealed and stored together. A handle has two: one fills
 * while the other may be stored by a thread of its own. That thread reads
 * only the slots and what stage_prepare copied from the handle, and writes
 * only `rec`, `ref`, `first`, `next` and its result; the handle's owner
 * applies them once it has joined it (stage_wait).
 */
typedef struct {
	unsigned char *buf;              /* plaintext of the slots, BS each */
	unsigned char *rec;              /* their sealed records, REC_MAX each */
	size_t cap, n;
	size_t index[CHUNK_BLOCKS];      /* the block each slot holds, or STAGE_DEAD */
	block_ref ref[CHUNK_BLOCKS];     /* the id and tag each slot is sealed under */
	uint64_t size;                   /* the file's size when it was prepared */
	uint64_t first, next;            /* ids from `first` on, up to `next` */
	uint64_t ahead;                  /* `next` as first sealed: the guess for the next stage */
	int sealed;                      /* rec holds the slots sealed from `first` */
	int exists, put_key;             /* update the node record; store the key */

	vault_file *f;
	pthread_t thread;
	int busy;                        /* a thread stores it: join before use */
	int error;                       /* that thread's result, and its message */
	char msg[512];
} stage;

struct vault_file {
	vault *v;
	char path[4200];
	vpath p;
	unsigned int flags;
	int lazy_create;                 /* the node comes with the first version */

	node_rec node;
	int exists;                      /* the node record is in LMDB */
	uint64_t parent;
	case_rec c;                      /* for unwrapping node keys */

	/* writing */
	uint32_t start_epoch;
	unsigned char *wkey;             /* node key for new blocks */
	int fresh_gen, gen_stored;
	int modified;                    /* content changed since the last commit */
	int meta_modified;               /* time or mode set since then */
	int has_mtime, has_atime;        /* times to record, set since then */
	int64_t set_mtime, set_atime;    /* nanoseconds; a write sets mtime */
	uint32_t set_mode;
	version_rec base;                /* last committed content: shared blocks */
	uint64_t base_size;

	/* the content now */
	block_ref *blocks;
	size_t nblocks, cap;
	uint64_t size;
	uint32_t version;

	dirty_block dirty[DIRTY_MAX];
	uint64_t tick;

	stage stage[2];
	int cur;                         /* the stage that fills; the other is older */

	char node_hex[17];               /* for vault_file_node(), once it exists */

	/* reading: a handle that cannot write may be read on several threads */
	pthread_mutex_t rlock;           /* guards the key list and the counter */
	struct gen_key {
		uint32_t gen;
		unsigned char *key;      /* secret memory, kept until close */
	} *rkeys;
	size_t nrkeys;
	unsigned char *plain;            /* BS bytes, for writers' partial blocks */
	unsigned long nread_blocks;
};

static size_t block_len(uint64_t size, size_t i)
{
	uint64_t start = (uint64_t)i * BS;

	if (start >= size)
		return 0;
	return size - start < BS ? (size_t)(size - start) : BS;
}

static void block_ad(unsigned char ad[20], uint64_t node, uint64_t block, uint32_t gen)
{
	be64_put(ad, node);
	be64_put(ad + 8, block);
	be32_put(ad + 16, gen);
}

static void wipe_free(unsigned char *p)
{
	if (p) {
		sodium_memzero(p, BS);
		free(p);
	}
}

/* ---- reading blocks ----------------------------------------------------- */

/* Decrypt block `ref` (of plaintext length `len`) into out, in `txn`. */
/* The node key of a generation, unwrapped once per handle. */
static int gen_key(const unsigned char **out, vault_file *f, MDB_txn *txn, uint32_t gen)
{
	unsigned char *key = NULL;
	void *grown;
	int error = 0;

	pthread_mutex_lock(&f->rlock);
	for (size_t i = 0; i < f->nrkeys; i++)
		if (f->rkeys[i].gen == gen) {
			*out = f->rkeys[i].key;
			goto done;
		}
	if ((error = vault_docs__node_key(&key, NULL, txn, f->v, &f->c, f->node.id, gen)) < 0)
		goto done;
	if ((grown = realloc(f->rkeys, (f->nrkeys + 1) * sizeof *f->rkeys)) == NULL) {
		vault_vcrypto__key_free(key);
		error = vault_error_set_oom();
		goto done;
	}
	f->rkeys = grown;
	f->rkeys[f->nrkeys].gen = gen;
	f->rkeys[f->nrkeys++].key = key;
	*out = key;
done:
	pthread_mutex_unlock(&f->rlock);
	return error;
}

static int block_read(vault_file *f, MDB_txn *txn, const block_ref *ref, size_t index,
	size_t len, unsigned char *out)
{
	unsigned char k[16], ad[20], head[5 + VCRYPTO_NONCEBYTES], tag[VCRYPTO_TAGBYTES];
	struct iovec iov[3] = { { head, sizeof head }, { out, len }, { tag, sizeof tag } };
	const unsigned char *key = NULL;
	MDB_val val;
	uint32_t gen;
	int error, trim;

	if (ref->id == BLOCK_HOLE) {
		memset(out, 0, len);
		return 0;
	}
	be64_put(k, f->node.id);
	be64_put(k + 8, ref->id);
	if ((error = vault_store__get(txn, f->v->st->blocks, k, 16, &val)) < 0)
		return vault_error_set(VAULT_ECORRUPT, "block %zu of '%s' is missing (node %016llx)",
			index, f->path, (unsigned long long)f->node.id);
	if (val.mv_size != sizeof head + len + sizeof tag)
		goto bad;
	/* The record is format ‖ generation ‖ nonce ‖ ciphertext ‖ tag: the
	 * ciphertext goes straight into `out` and is decrypted there. */
	if (vault_store__readv(f->v->st, txn, &val, iov, 3) < 0) {
		const unsigned char *p = val.mv_data;
		memcpy(head, p, sizeof head);
		memcpy(out, p + sizeof head, len);
		memcpy(tag, p + sizeof head + len, sizeof tag);
	}
	if (head[0] != REC_FORMAT || sodium_memcmp(tag, ref->tag, VCRYPTO_TAGBYTES) != 0)
		goto bad;
	gen = be32_get(head + 1);
	if ((error = gen_key(&key, f, txn, gen)) < 0)
		goto fail;
	block_ad(ad, f->node.id, ref->id, gen);
	if (vault_vcrypto__open_inplace(out, len, head + 5, tag, ad, sizeof ad, key) < 0)
		goto bad;
	/* Streaming a large file must not grow the resident set: the map's
	 * pages are dropped every few megabytes (one TLB flush, not one a
	 * block: with several threads each flush interrupts every core). */
	pthread_mutex_lock(&f->rlock);
	trim = ++f->nread_blocks % CHUNK_BLOCKS == 0;
	pthread_mutex_unlock(&f->rlock);
	if (trim)
		vault_store__trim(f->v->st, txn, val.mv_data);
	return 0;
bad:
	error = vault_error_set(VAULT_ECORRUPT, "block %zu of '%s' fails authentication (node %016llx)",
		index, f->path, (unsigned long long)f->node.id);
fail:
	/* No ciphertext left where the caller expects plaintext. */
	sodium_memzero(out, len);
	return error;
}

static dirty_block *dirty_find(vault_file *f, uint64_t index)
{
	for (size_t i = 0; i < DIRTY_MAX; i++)
		if (f->dirty[i].buf && f->dirty[i].index == index)
			return &f->dirty[i];
	return NULL;
}

static stage *stage_cur(vault_file *f)
{
	return &f->stage[f->cur];
}

static stage *stage_old(vault_file *f)
{
	return &f->stage[!f->cur];
}

static long stage_find(const stage *s, size_t index)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->index[i] == index)
			return (long)i;
	return -1;
}

/* The staged copy of block `index`: the filling stage's is the newer. */
static const unsigned char *staged_block(vault_file *f, size_t index)
{
	stage *s = stage_cur(f);
	long slot = stage_find(s, index);

	if (slot < 0) {
		s = stage_old(f);
		slot = stage_find(s, index);
	}
	return slot < 0 ? NULL : s->buf + (size_t)slot * BS;
}

/* The current plaintext of block `index` (len bytes) into out. */
static int content_block(vault_file *f, MDB_txn **txn, size_t index, unsigned char *out)
{
	size_t len = block_len(f->size, index);
	dirty_block *d = dirty_find(f, index);
	const unsigned char *staged;
	int error;

	if (d) {
		memcpy(out, d->buf, len);
		return 0;
	}
	if (f->blocks[index].id == BLOCK_PENDING) {
		if ((staged = staged_block(f, index)) == NULL)
			return vault_error_set(VAULT_ERROR, "block %zu of '%s' left the stage", index, f->path);
		memcpy(out, staged, len);
		return 0;
	}
	if (!*txn && (error = vault_store__begin(txn, f->v->st, 0)) < 0)
		return error;
	return block_read(f, *txn, &f->blocks[index], index, len, out);
}

int vault_file_read(size_t *nread, vault_file *f, void *buf, size_t len, uint64_t off)
{
	MDB_txn *txn = NULL;
	unsigned char *out = buf;
	size_t done = 0;
	int error = 0;

	*nread = 0;
	/* Every read is an event: a handle reads only once one is recorded
	 * (at open, or by vault_file_allow_read). */
	if (!(f->flags & VAULT_FILE_READ))
		return vault_error_set(VAULT_EUSAGE, "'%s' was not opened for reading", f->path);
	if (off >= f->size)
		return 0;
	if (len > f->size - off)
		len = (size_t)(f->size - off);
	while (done < len) {
		uint64_t pos = off + done;
		size_t index = (size_t)(pos / BS), skip = (size_t)(pos % BS);
		size_t blen = block_len(f->size, index), n = blen - skip;

		if (n > len - done)
			n = len - done;
		if (skip == 0 && n == blen) {
			/* A whole block: straight into the caller's buffer. */
			if ((error = content_block(f, &txn, index, out + done)) < 0)
				break;
		} else {
			/* A part of a block: decrypt it aside (on this thread's
			 * stack, so that readers of one handle never share it). */
			unsigned char part[BS];
			if ((error = content_block(f, &txn, index, part)) < 0)
				break;
			memcpy(out + done, part + skip, n);
			sodium_memzero(part, blen);
		}
		done += n;
	}
	vault_store__abort(f->v->st, txn);
	if (error < 0) {
		sodium_memzero(buf, done);
		return error;
	}
	*nread = done;
	return 0;
}

/* ---- staging sealed blocks ---------------------------------------------- */

/*
 * What a flush needs of the handle, copied now: a thread storing the stage
 * must not read what the handle's owner goes on changing. Slots whose
 * block was since shared, truncated away or stored are dropped. The ids
 * start at `first`, or later if the node record says so.
 */
static void stage_prepare(vault_file *f, stage *s, uint64_t first)
{
	for (size_t i = 0; i < s->n; i++) {
		size_t index = s->index[i];
		if (index != STAGE_DEAD && (index >= f->nblocks || f->blocks[index].id != BLOCK_PENDING))
			s->index[i] = STAGE_DEAD;
	}
	s->size = f->size;
	s->first = s->next = first;
	s->sealed = 0;
	s->exists = f->exists;
	s->put_key = s->n && f->fresh_gen && !f->gen_stored;   /* an empty one stores nothing */
}

/* Seal the live slots under ids from s->first on. */
static void stage_seal(vault_file *f, stage *s)
{
	unsigned char ad[20];
	uint64_t id = s->first;

	for (size_t i = 0; i < s->n; i++) {
		size_t len = block_len(s->size, s->index[i]);
		unsigned char *rec = s->rec + i * REC_MAX;
		block_ref *ref = &s->ref[i];

		if (s->index[i] == STAGE_DEAD)
			continue;
		ref->id = id++;
		rec[0] = REC_FORMAT;
		be32_put(rec + 1, f->node.generation);
		block_ad(ad, f->node.id, ref->id, f->node.generation);
		vault_vcrypto__seal(rec + 5, s->buf + i * BS, len, ad, sizeof ad, f->wkey);
		memcpy(ref->tag, rec + 5 + VCRYPTO_NONCEBYTES + len, VCRYPTO_TAGBYTES);
	}
	s->next = id;
	s->sealed = 1;
}

/* The stored blocks become the content, unless `newer` holds a later copy. */
static void stage_apply(vault_file *f, const stage *s, const stage *newer)
{
	for (size_t i = 0; i < s->n; i++) {
		size_t index = s->index[i];
		if (index == STAGE_DEAD || index >= f->nblocks || f->blocks[index].id != BLOCK_PENDING ||
		    (newer && stage_find(newer, index) >= 0))
			continue;
		f->blocks[index] = s->ref[i];
	}
	if (s->next > f->node.next_block)
		f->node.next_block = s->next;
	if (s->put_key)
		f->gen_stored = 1;
}

/* Blocks applied from `s` whose transaction failed: back to the stage. */
static void stage_unassign(vault_file *f, const stage *s)
{
	for (size_t i = 0; i < s->n; i++) {
		size_t index = s->index[i];
		if (index != STAGE_DEAD && index < f->nblocks && f->blocks[index].id == s->ref[i].id)
			f->blocks[index].id = BLOCK_PENDING;
	}
}

/* Forget a stage once its blocks are stored for good. */
static void stage_clear(stage *s)
{
	if (s->buf)
		sodium_memzero(s->buf, s->n * BS);
	s->n = 0;
}

/*
 * Drop this process's mapping of the vault file every few megabytes that a
 * large write stores, as reads do: the resident set stays flat whatever
 * LMDB touched through the map meanwhile. And drop the cached pages of the
 * chunk just stored, blocks `first` to `last`, which lie mostly together:
 * see vault_store__uncache.
 */
static void trim_map(vault_file *f, uint64_t first, uint64_t last)
{
	MDB_txn *txn = NULL;
	unsigned char k[16];
	MDB_val a, b;

	if (vault_store__begin(&txn, f->v->st, 0) < 0)
		return;
	be64_put(k, f->node.id);
	be64_put(k + 8, first);
	if (vault_store__get(txn, f->v->st->blocks, k, 16, &a) < 0)
		goto done;
	be64_put(k + 8, last);
	if (vault_store__get(txn, f->v->st->blocks, k, 16, &b) < 0 || b.mv_size < 4096)
		goto done;
	if ((char *)a.mv_data < (char *)b.mv_data)
		vault_store__uncache(f->v->st, txn, b.mv_data, (char *)a.mv_data - (char *)b.mv_data,
			(ptrdiff_t)b.mv_size);
	else
		vault_store__trim(f->v->st, txn, b.mv_data);
done:
	vault_store__abort(f->v->st, txn);
}

/*
 * Store a prepared stage, in a transaction of its own unless `txn_in` (the
 * version's). Block ids come from the node record in that transaction, so
 * two writers of one file (a CLI beside a mount) never use the same ids: a
 * stage sealed ahead under ids another writer took since is sealed again.
 * Where each block went is left in the stage, for stage_apply: this may run
 * on a thread of its own, and reads of the handle only its node id,
 * generation, keys and case, which no write changes.
 */
static int stage_flush(vault_file *f, stage *s, MDB_txn *txn_in)
{
	MDB_txn *txn = txn_in;
	node_rec n;
	unsigned char k[16];
	int error = 0;

	if (s->n == 0)
		return 0;
	if (!txn && (error = vault_store__begin(&txn, f->v->st, 1)) < 0)
		return error;
	if (s->exists) {
		if ((error = vault_node__get(&n, txn, f->v, f->node.id)) < 0)
			goto done;
		if (n.next_block > s->first) {
			s->first = n.next_block;
			s->sealed = 0;
		}
	}
	if (!s->sealed)
		stage_seal(f, s);
	/* The key of a new generation goes in with its first blocks. */
	if (s->put_key &&
	    (error = vault_docs__nodekey_put(txn, f->v, &f->c, f->node.id, f->node.generation, f->wkey)) < 0)
		goto done;
	for (size_t i = 0; i < s->n; i++) {
		if (s->index[i] == STAGE_DEAD)
			continue;
		be64_put(k, f->node.id);
		be64_put(k + 8, s->ref[i].id);
		if ((error = vault_store__put(txn, f->v->st->blocks, k, 16, s->rec + i * REC_MAX,
				5 + VCRYPTO_OVERHEAD + block_len(s->size, s->index[i]), 0)) < 0)
			goto done;
	}
	if (s->exists) {
		n.next_block = s->next;
		if ((error = vault_node__put(txn, f->v, &n)) < 0)
			goto done;
	}
	if (!txn_in) {
		vault_store__grow(f->v->st, txn);
		error = vault_store__commit(f->v->st, txn);
		txn = NULL;
		if (error == 0 && s->next > s->first)
			trim_map(f, s->first, s->next - 1);
	}
done:
	if (!txn_in)
		vault_store__abort(f->v->st, txn);
	return error;
}

static void *stage_main(void *payload)
{
	stage *s = payload;

	/* Errors are per thread: the message goes back with the code. */
	if ((s->error = stage_flush(s->f, s, NULL)) < 0)
		snprintf(s->msg, sizeof s->msg, "%s", vault_error_last()->message);
	return NULL;
}

/* The older stage's flush, if one runs: joined, its result applied or reported. */
static int stage_wait(vault_file *f)
{
	stage *s = stage_old(f);
	int error;

	if (!s->busy)
		return 0;
	pthread_join(s->thread, NULL);
	s->busy = 0;
	if ((error = s->error) < 0) {
		/* Its blocks stay staged: the next flush or the version retries. */
		s->error = 0;
		return vault_error_set(error, "%s", s->msg);
	}
	stage_apply(f, s, stage_cur(f));
	stage_clear(s);
	return 0;
}

/* Store stage `s` on this thread, in a transaction of its own. */
static int stage_store(vault_file *f, stage *s)
{
	int error;

	stage_prepare(f, s, f->node.next_block);
	if ((error = stage_flush(f, s, NULL)) < 0)
		return error;
	stage_apply(f, s, s == stage_old(f) ? stage_cur(f) : NULL);
	stage_clear(s);
	return 0;
}

/*
 * The filling stage is full: it goes to a thread of its own and the other
 * one fills. It is sealed first, here, while the older stage is still being
 * stored, under the ids that one leaves free if no other writer takes
 * any (stage_flush checks). One flush at a time, in order, so ids follow
 * the content and memory stays at two stages.
 */
static int stage_rotate(vault_file *f)
{
	stage *old = stage_old(f), *s = stage_cur(f);
	int error;

	stage_prepare(f, s, old->busy || old->n ? old->ahead : f->node.next_block);
	stage_seal(f, s);
	s->ahead = s->next;
	if ((error = stage_wait(f)) < 0)
		return error;
	if (old->n && (error = stage_store(f, old)) < 0)
		return error;
	/* The older stage may have stored the generation's key meanwhile. */
	s->put_key = f->fresh_gen && !f->gen_stored;
	f->cur = !f->cur;
	s->f = f;
	if (pthread_create(&s->thread, NULL, stage_main, s) != 0)
		return stage_store(f, s);
	s->busy = 1;
	return 0;
}

/* Within the version's transaction: whatever is still staged. */
static int stage_flush_all(vault_file *f, MDB_txn *txn)
{
	stage *old = stage_old(f), *s = stage_cur(f);
	int error;

	stage_prepare(f, old, f->node.next_block);
	if ((error = stage_flush(f, old, txn)) < 0)
		return error;
	stage_apply(f, old, s);
	stage_prepare(f, s, f->node.next_block);
	if ((error = stage_flush(f, s, txn)) < 0)
		return error;
	stage_apply(f, s, NULL);
	return 0;
}

/* Is `data` equal to block `index` of the last committed content? */
static int same_as_base(int *same, block_ref *ref, vault_file *f, size_t index,
	const unsigned char *data, size_t len)
{
	MDB_txn *txn = NULL;
	int error;

	*same = 0;
	if (index >= f->base.nblocks || block_len(f->base_size, index) != len ||
	    f->base.blocks[index].id == BLOCK_HOLE)
		return 0;
	if ((error = vault_store__begin(&txn, f->v->st, 0)) < 0)
		return error;
	error = block_read(f, txn, &f->base.blocks[index], index, len, f->plain);
	vault_store__abort(f->v->st, txn);
	if (error < 0)
		return error;
	if (sodium_memcmp(f->plain, data, len) == 0) {
		*same = 1;
		*ref = f->base.blocks[index];
	}
	sodium_memzero(f->plain, len);
	return 0;
}

/* A changed block: shared with the committed one if equal, else staged. */
static int stage_put(vault_file *f, size_t index, const unsigned char *data, size_t len)
{
	stage *s = stage_cur(f);
	block_ref ref;
	long slot;
	int same, error;

	if (index >= f->nblocks)
		return 0;
	if ((error = same_as_base(&same, &ref, f, index, data, len)) < 0)
		return error;
	slot = stage_find(s, index);
	if (same) {
		f->blocks[index] = ref;
		if (slot >= 0)
			s->index[slot] = STAGE_DEAD;
		return 0;
	}
	if (slot < 0) {
		if (s->n == CHUNK_BLOCKS) {
			if ((error = stage_rotate(f)) < 0)
				return error;
			s = stage_cur(f);
		}
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 4 : 1;
			void *p;
			if (cap > CHUNK_BLOCKS)
				cap = CHUNK_BLOCKS;
			if ((p = realloc(s->buf, cap * BS)) == NULL)
				return vault_error_set_oom();
			s->buf = p;
			if ((p = realloc(s->rec, cap * REC_MAX)) == NULL)
				return vault_error_set_oom();
			s->rec = p;
			s->cap = cap;
		}
		slot = (long)s->n++;
	}
	memcpy(s->buf + (size_t)slot * BS, data, len);
	s->index[slot] = index;
	s->ref[slot].id = BLOCK_PENDING;
	f->blocks[index].id = BLOCK_PENDING;
	return 0;
}

static int dirty_flush(vault_file *f, dirty_block *d)
{
	int error;

	if ((error = stage_put(f, (size_t)d->index, d->buf, block_len(f->size, (size_t)d->index))) < 0)
		return error;
	wipe_free(d->buf);
	d->buf = NULL;
	return 0;
}

static int flush_all_dirty(vault_file *f)
{
	int error;

	/* In file order, so staged ids follow the content. */
	for (;;) {
		dirty_block *low = NULL;
		for (size_t i = 0; i < DIRTY_MAX; i++)
			if (f->dirty[i].buf && (!low || f->dirty[i].index < low->index))
				low = &f->dirty[i];
		if (!low)
			return 0;
		if ((error = dirty_flush(f, low)) < 0)
			return error;
	}
}

/* The changed copy of block `index`, loaded from the content if `load`. */
static int dirty_get(dirty_block **out, vault_file *f, size_t index, int load)
{
	dirty_block *d = dirty_find(f, index), *slot = NULL;
	MDB_txn *txn = NULL;
	unsigned char *buf;
	int error;

	if (d) {
		d->used = ++f->tick;
		*out = d;
		return 0;
	}
	for (size_t i = 0; i < DIRTY_MAX; i++) {
		if (!f->dirty[i].buf) {
			slot = &f->dirty[i];
			break;
		}
		if (!slot || f->dirty[i].used < slot->used)
			slot = &f->dirty[i];
	}
	if (slot->buf && (error = dirty_flush(f, slot)) < 0)
		return error;
	if ((buf = calloc(1, BS)) == NULL)
		return vault_error_set_oom();
	/* Load before the slot is registered, or it would find itself. */
	if (load && index < f->nblocks && f->blocks[index].id != BLOCK_HOLE) {
		error = content_block(f, &txn, index, buf);
		vault_store__abort(f->v->st, txn);
		if (error < 0) {
			wipe_free(buf);
			return error;
		}
	}
	slot->buf = buf;
	slot->index = index;
	slot->used = ++f->tick;
	*out = slot;
	return 0;
}

/* ---- changing content --------------------------------------------------- */

static int set_size(vault_file *f, uint64_t size)
{
	size_t n = (size_t)((size + BS - 1) / BS), last;
	dirty_block *d;
	int error;

	if (size == f->size)
		return 0;
	if (size > (uint64_t)1 << 46)
		return vault_error_set(VAULT_EUSAGE, "'%s': a file may hold at most 64 TiB", f->path);
	if (size < f->size) {
		for (size_t i = 0; i < DIRTY_MAX; i++)
			if (f->dirty[i].buf && f->dirty[i].index >= n) {
				wipe_free(f->dirty[i].buf);
				f->dirty[i].buf = NULL;
			}
		if (size % BS) {
			/* The new last block keeps only its head. */
			last = n - 1;
			if (f->blocks[last].id != BLOCK_HOLE || dirty_find(f, last)) {
				if ((error = dirty_get(&d, f, last, 1)) < 0)
					return error;
				memset(d->buf + size % BS, 0, BS - size % BS);
			}
		}
		f->nblocks = n;
		f->size = size;
		return 0;
	}
	/* Growing: the old last block, if partial, now reaches further; its
	 * buffer is zero past its old end, so it only needs to be dirty. */
	if (f->size % BS) {
		last = f->nblocks - 1;
		if (f->blocks[last].id != BLOCK_HOLE && (error = dirty_get(&d, f, last, 1)) < 0)
			return error;
	}
	if (n > f->cap) {
		size_t cap = f->cap ? f->cap : 16;
		void *p;
		while (cap < n)
			cap *= 2;
		if ((p = realloc(f->blocks, cap * sizeof *f->blocks)) == NULL)
			return vault_error_set_oom();
		f->blocks = p;
		f->cap = cap;
	}
	for (size_t i = f->nblocks; i < n; i++) {
		f->blocks[i].id = BLOCK_HOLE;
		memset(f->blocks[i].tag, 0, sizeof f->blocks[i].tag);
	}
	f->nblocks = n;
	f->size = size;
	return 0;
}

static int check_writable(vault_file *f)
{
	if (!(f->flags & VAULT_FILE_WRITE))
		return vault_error_set(VAULT_EACCES, "'%s' was opened read-only", f->path);
	return 0;
}

/* Changed content: a new version at the next commit, with the time of
 * this change as its mtime (unless one is set later), as on a disk. */
static void mark_written(vault_file *f)
{
	f->modified = 1;
	f->set_mtime = vault_time__now_ns();
	f->has_mtime = 1;
}

int vault_file_write(vault_file *f, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *in = buf;
	size_t done = 0;
	int error;

	if ((error = check_writable(f)) < 0)
		return error;
	if (len == 0)
		return 0;
	if (off + len < off)
		return vault_error_set(VAULT_EUSAGE, "'%s': write beyond the largest offset", f->path);
	if (off + len > f->size && (error = set_size(f, off + len)) < 0)
		return error;
	while (done < len) {
		uint64_t pos = off + done;
		size_t index = (size_t)(pos / BS), skip = (size_t)(pos % BS);
		size_t blen = block_len(f->size, index), n = blen - skip;
		dirty_block *d;

		if (n > len - done)
			n = len - done;
		if (skip == 0 && n == blen) {
			/* A whole block: straight to the stage, no copy on the way;
			 * an older changed copy goes once this one is staged. */
			if ((error = stage_put(f, index, in + done, n)) < 0)
				return error;
			if ((d = dirty_find(f, index)) != NULL) {
				wipe_free(d->buf);
				d->buf = NULL;
			}
		} else {
			if ((error = dirty_get(&d, f, index, 1)) < 0)
				return error;
			memcpy(d->buf + skip, in + done, n);
		}
		done += n;
	}
	mark_written(f);
	return 0;
}

int vault_file_truncate(vault_file *f, uint64_t size)
{
	int error;

	if ((error = check_writable(f)) < 0)
		return error;
	if (size == f->size)
		return 0;
	if ((error = set_size(f, size)) < 0)
		return error;
	mark_written(f);
	return 0;
}

/* ---- the version event -------------------------------------------------- */

static int commit_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	vault_file *f = payload;
	version_rec r;
	node_rec cur;
	uint64_t id;
	const char *name = f->p.name[f->p.n - 1];
	size_t nlen = f->p.len[f->p.n - 1];
	int64_t now;
	int error;

	if (cc->c.epoch != f->start_epoch || cc->c.retired)
		return vault_error_set(VAULT_EBUSY, "the keys of case '%s' changed during the write", f->p.code);
	if ((error = stage_flush_all(f, txn)) < 0)
		return error;
	if (f->exists) {
		if ((error = vault_node__get(&cur, txn, v, f->node.id)) < 0)
			return error;
		if (cur.state != NODE_LIVE)
			return vault_error_set(VAULT_ENOTFOUND, "'%s' was removed while it was written", f->path);
		if (cur.generation + (uint32_t)f->fresh_gen != f->node.generation)
			return vault_error_set(VAULT_EBUSY, "'%s' changed while it was written", f->path);
		/* Another writer may have moved or renamed it meanwhile. */
		f->node.version = cur.version;
		f->node.parent = cur.parent;
		memcpy(f->node.name, cur.name, cur.name_len);
		f->node.name_len = cur.name_len;
		f->node.name_gen = cur.name_gen;
		if (cur.next_block > f->node.next_block)
			f->node.next_block = cur.next_block;
	} else {
		error = vault_docs__child_lookup(&id, txn, v, cc, f->parent, name, nlen);
		if (error == 0)
			return vault_error_set(VAULT_EEXISTS, "'%s' was created by someone else meanwhile", f->path);
		if (error != VAULT_ENOTFOUND)
			return error;
		vault_docs__name_seal(&f->node, name, nlen, f->wkey);
		if ((error = vault_docs__dirent_put(txn, v, cc, f->parent, name, nlen, f->node.id)) < 0 ||
		    (error = vault_docs__folder_changed(ev, v, txn, f->parent, 0)) < 0)
			return error;
	}
	if (f->fresh_gen && !f->gen_stored) {
		if ((error = vault_docs__nodekey_put(txn, v, &cc->c, f->node.id, f->node.generation, f->wkey)) < 0)
			return error;
		f->gen_stored = 1;
	}
	memset(&r, 0, sizeof r);
	r.nblocks = f->nblocks;
	r.blocks = f->blocks;
	f->node.version++;
	f->node.size = f->size;
	now = vault_time__now_ns();
	f->node.mtime = f->has_mtime ? f->set_mtime : now;
	f->node.ctime = now;
	if (f->has_atime)
		f->node.atime = f->set_atime;
	else if (!f->exists)
		f->node.atime = now;
	f->node.mode = f->set_mode;
	vault_version__commitment(f->node.commitment, &r);
	if ((error = vault_node__put(txn, v, &f->node)) < 0)
		return error;
	ev->node = f->node.id;
	ev->version = f->node.version;
	return vault_event__touch_node(ev, v, txn, f->node.id);
}

/* The version names the commit of its own event: written once it exists. */
static int commit_post(vault *v, MDB_txn *txn, const git_oid *commit, void *payload)
{
	vault_file *f = payload;
	version_rec r;

	memset(&r, 0, sizeof r);
	r.size = f->size;
	r.mtime = vault_time__sec(f->node.mtime);   /* as the manifest's seconds */
	r.generation = f->node.generation;
	memcpy(r.commit, commit->id, 20);
	r.nblocks = f->nblocks;
	r.blocks = f->blocks;
	return vault_version__put(txn, v, f->node.id, f->node.version, &r);
}

/* The committed content becomes the base that later changes share. */
static int rebase(vault_file *f)
{
	block_ref *copy = NULL;

	if (f->nblocks && (copy = malloc(f->nblocks * sizeof *copy)) == NULL)
		return vault_error_set_oom();
	if (copy)
		memcpy(copy, f->blocks, f->nblocks * sizeof *copy);
	vault_version__dispose(&f->base);
	f->base.blocks = copy;
	f->base.nblocks = f->nblocks;
	f->base_size = f->size;
	return 0;
}

/* Time or mode alone: a `touch` event, no new version. */
static int touch_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	vault_file *f = payload;
	node_rec cur;
	int error;

	if ((error = vault_node__get(&cur, txn, v, f->node.id)) < 0)
		return error;
	if (cur.state != NODE_LIVE)
		return vault_error_set(VAULT_ENOTFOUND, "'%s' was removed meanwhile", f->path);
	if ((!f->has_mtime || cur.mtime == f->set_mtime) &&
	    (!f->has_atime || cur.atime == f->set_atime) && cur.mode == f->set_mode)
		return 1;        /* nothing changes: no event */
	if (f->has_mtime)
		cur.mtime = f->set_mtime;
	if (f->has_atime)
		cur.atime = f->set_atime;
	cur.mode = f->set_mode;
	cur.ctime = vault_time__now_ns();
	if ((error = vault_node__put(txn, v, &cur)) < 0)
		return error;
	ev->node = cur.id;
	return vault_event__touch_node(ev, v, txn, cur.id);
}

int vault_file_commit(uint32_t *version_out, vault_file *f)
{
	node_rec saved;
	int error, gen_stored;

	if (version_out)
		*version_out = f->version;
	if (!(f->flags & VAULT_FILE_WRITE))
		return 0;
	if (!f->modified && f->meta_modified && f->exists) {
		if ((error = vault_docs__event(f->v, "touch", f->p.code, 1, touch_fn, NULL, f)) < 0)
			return error;
		f->meta_modified = 0;
		f->has_mtime = f->has_atime = 0;
		return 0;
	}
	if (!f->modified)
		return 0;
	if ((error = flush_all_dirty(f)) < 0 || (error = stage_wait(f)) < 0)
		return error;
	saved = f->node;
	gen_stored = f->gen_stored;
	error = vault_docs__event(f->v, "write", f->p.code, 1, commit_fn, commit_post, f);
	if (error < 0) {
		/* Nothing of it was recorded: the handle is as before. */
		f->node = saved;
		f->gen_stored = gen_stored;
		stage_unassign(f, stage_old(f));
		stage_unassign(f, stage_cur(f));
		return error;
	}
	stage_clear(stage_old(f));
	stage_clear(stage_cur(f));
	f->exists = 1;
	snprintf(f->node_hex, sizeof f->node_hex, "%016llx", (unsigned long long)f->node.id);
	f->lazy_create = 0;
	f->fresh_gen = 0;        /* the generation is now the node's own */
	f->modified = 0;
	f->meta_modified = 0;
	f->has_mtime = f->has_atime = 0;
	f->version = f->node.version;
	if (version_out)
		*version_out = f->version;
	return rebase(f);
}

/* ---- opening ------------------------------------------------------------ */

typedef struct {
	vault_file *f;
	const vault_file_options *o;
} open_args;

/*
 * The version about to be served is the one the history vouches for: the
 * manifest of its node in a signed tree (the head's for the current
 * version, its own event's for an older one) names this version, its size
 * and the commitment to its block list. A reader does not verify the chain
 * (`audit verify` does); this keeps an edit of the vault's records from
 * serving other content than the history holds.
 */
static int version_vouched(vault_file *f, MDB_txn *txn)
{
	unsigned char got[32], want[32];
	vault_buf b = VAULT_BUF_INIT;
	MDB_txn *outer = vault_store__cur;
	MDB_val val;
	git_oid oid;
	char path[64];
	const char *s;
	size_t len;
	int error = 0;

	vault_version__commitment(got, &f->base);
	if (f->version == f->node.version) {
		if (vault_meta__get(&val, txn, f->v, "head") < 0 || val.mv_size != GIT_OID_RAWSZ)
			return vault_error_set(VAULT_ECORRUPT, "the vault has no valid head record");
		git_oid_fromraw(&oid, val.mv_data);
	} else {
		git_oid_fromraw(&oid, f->base.commit);
	}
	vault_node__path(path, f->node.id);
	vault_store__cur = txn;
	if (vault_trees__blob(&b, f->v, &oid, path) < 0 ||
	    (s = vault_history__field(b.ptr, "commitment", &len)) == NULL || len != 64 ||
	    sodium_hex2bin(want, sizeof want, s, len, NULL, NULL, NULL) != 0)
		error = vault_error_set(VAULT_ECORRUPT, "the event of '%s' version %u cannot be read",
			f->path, f->version);
	vault_store__cur = outer;
	if (error == 0 && (sodium_memcmp(got, want, sizeof got) != 0 ||
	    !(s = vault_history__field(b.ptr, "version", &len)) || strtoul(s, NULL, 10) != f->version ||
	    !(s = vault_history__field(b.ptr, "size", &len)) || strtoull(s, NULL, 10) != f->base.size))
		error = vault_error_set(VAULT_ECORRUPT,
			"version %u of '%s' does not match the signed history (node %016llx)",
			f->version, f->path, (unsigned long long)f->node.id);
	vault_buf_dispose(&b);
	return error;
}

/* The folder entry must lead to a live file of this folder with this very
 * name: a swapped entry never serves another file's content. */
static int entry_is_node(vault_file *f, MDB_txn *txn, const node_rec *parent)
{
	const unsigned char *key;
	int error;

	if (f->node.state != NODE_LIVE || f->node.parent != parent->id || strcmp(f->node.code, parent->code))
		return vault_error_set(VAULT_ECORRUPT, "the folder entry of '%s' points to a node that is not there", f->path);
	if ((error = gen_key(&key, f, txn, f->node.name_gen)) < 0)
		return error;
	if (!vault_docs__name_is(&f->node, key, f->p.name[f->p.n - 1], f->p.len[f->p.n - 1]))
		return vault_error_set(VAULT_ECORRUPT, "the folder entry of '%s' points to another file", f->path);
	return 0;
}

/* Everything an open needs, in its transaction (a read event's, or a
 * read transaction for writers that serve no content). */
static int open_load(vault_file *f, MDB_txn *txn, case_ctx *cc, const vault_file_options *o)
{
	node_rec parent;
	uint64_t id;
	int error;

	if ((error = vault_case__get(&f->c, txn, f->v, f->p.code)) < 0)
		return error;
	f->start_epoch = cc->c.epoch;
	if ((error = vault_docs__resolve(&parent, txn, f->v, cc, &f->p, f->p.n - 1, f->path)) < 0)
		return error;
	if (parent.type != NODE_DIR)
		return vault_error_set(VAULT_ENOTFOUND, "'%s': its folder is a file", f->path);
	f->parent = parent.id;
	error = vault_docs__child_lookup(&id, txn, f->v, cc, parent.id, f->p.name[f->p.n - 1], f->p.len[f->p.n - 1]);
	if (error == 0) {
		if ((o->flags & VAULT_FILE_CREATE) && (o->flags & VAULT_FILE_EXCL))
			return vault_error_set(VAULT_EEXISTS, "'%s' already exists", f->path);
		if ((error = vault_node__get(&f->node, txn, f->v, id)) < 0)
			return error;
		if (f->node.type != NODE_FILE)
			return vault_error_set(VAULT_EUSAGE, "'%s' is a folder", f->path);
		if ((error = entry_is_node(f, txn, &parent)) < 0)
			return error;
		f->exists = 1;
		f->version = o->doc_version ? o->doc_version : f->node.version;
		if (f->version > f->node.version)
			return vault_error_set(VAULT_ENOTFOUND, "'%s' has no version %u (it has %u)",
				f->path, f->version, f->node.version);
		if (f->version) {
			error = vault_version__get(&f->base, txn, f->v, id, f->version);
			if (error == VAULT_ENOTFOUND)
				error = vault_error_set(VAULT_ECORRUPT, "the record of '%s' version %u is missing",
					f->path, f->version);
			if (error < 0)
				return error;
			if ((error = version_vouched(f, txn)) < 0)
				return error;
			f->base_size = f->base.size;
		}
	} else if (error == VAULT_ENOTFOUND) {
		if (!(o->flags & VAULT_FILE_CREATE))
			return vault_error_set(VAULT_ENOTFOUND, "'%s' does not exist", f->path);
		memset(&f->node, 0, sizeof f->node);
		randombytes_buf(&f->node.id, sizeof f->node.id);
		f->node.type = NODE_FILE;
		f->node.state = NODE_LIVE;
		f->node.mode = o->mode || (o->flags & VAULT_FILE_MODE) ? o->mode & 07777 : NODE_FILE_MODE;
		f->node.parent = parent.id;
		snprintf(f->node.code, sizeof f->node.code, "%s", cc->c.code);
		f->lazy_create = 1;
	} else {
		return error;
	}
	if (o->flags & VAULT_FILE_WRITE)
		return vault_docs__node_key_for_write(&f->wkey, &f->fresh_gen, txn, f->v, &cc->c, &f->node);
	return 0;
}

static int read_event_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	open_args *a = payload;
	int error;

	if ((error = vault_purposes__check(txn, v, a->o->purpose)) < 0)
		return error;
	if ((error = open_load(a->f, txn, cc, a->o)) < 0)
		return error;
	if (!a->f->exists)
		return 1;    /* nothing to read: no read event (see vault_file_open) */
	ev->node = a->f->node.id;
	ev->version = a->f->version;
	ev->purpose = a->o->purpose;
	if (a->o->note && *a->o->note)
		return vault_event__seal_note(ev, v, txn, a->o->note);
	return 0;
}

/* The new, empty file as a `create` event (the mount's way). */
static int create_event_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	vault_file *f = payload;
	const char *name = f->p.name[f->p.n - 1];
	size_t nlen = f->p.len[f->p.n - 1];
	uint64_t id;
	version_rec r;
	int error;

	error = vault_docs__child_lookup(&id, txn, v, cc, f->parent, name, nlen);
	if (error == 0)
		return vault_error_set(VAULT_EEXISTS, "'%s' already exists", f->path);
	if (error != VAULT_ENOTFOUND)
		return error;
	vault_docs__name_seal(&f->node, name, nlen, f->wkey);
	f->node.mtime = f->has_mtime ? f->set_mtime : vault_time__now_ns();
	f->node.ctime = vault_time__now_ns();
	f->node.atime = f->has_atime ? f->set_atime : f->node.ctime;
	memset(&r, 0, sizeof r);
	vault_version__commitment(f->node.commitment, &r);
	if ((error = vault_docs__nodekey_put(txn, v, &cc->c, f->node.id, f->node.generation, f->wkey)) < 0)
		return error;
	f->gen_stored = 1;
	if ((error = vault_node__put(txn, v, &f->node)) < 0 ||
	    (error = vault_docs__dirent_put(txn, v, cc, f->parent, name, nlen, f->node.id)) < 0 ||
	    (error = vault_docs__folder_changed(ev, v, txn, f->parent, 0)) < 0)
		return error;
	ev->node = f->node.id;
	return vault_event__touch_node(ev, v, txn, f->node.id);
}

typedef struct {
	vault_file *f;
	const char *purpose, *note;
} allow_args;

static int allow_read_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	allow_args *a = payload;
	int error;

	if ((error = vault_purposes__check(txn, v, a->purpose)) < 0)
		return error;
	ev->node = a->f->node.id;
	ev->version = a->f->version;
	ev->purpose = a->purpose;
	if (a->note && *a->note)
		return vault_event__seal_note(ev, v, txn, a->note);
	return 0;
}

int vault_file_allow_read(vault_file *f, const char *purpose, const char *note)
{
	allow_args a = { f, purpose, note };
	int error;

	/* A file not yet in the vault holds only what this handle wrote. */
	if (f->exists &&
	    (error = vault_docs__event(f->v, "read", f->p.code, 0, allow_read_fn, NULL, &a)) < 0)
		return error;
	f->flags |= VAULT_FILE_READ;
	return 0;
}

int vault_file_create(vault_file *f)
{
	int error;

	if (f->exists)
		return 0;
	if ((error = stage_wait(f)) < 0 ||
	    (error = vault_docs__event(f->v, "create", f->p.code, 1, create_event_fn, NULL, f)) < 0)
		return error;
	f->exists = 1;
	f->lazy_create = 0;
	f->fresh_gen = 0;
	f->modified = f->size != 0 || f->nblocks != 0;
	snprintf(f->node_hex, sizeof f->node_hex, "%016llx", (unsigned long long)f->node.id);
	return 0;
}

int vault_file_open(vault_file **out, vault *v, const char *path, const vault_file_options *o)
{
	vault_file *f;
	MDB_txn *txn = NULL;
	case_ctx cc;
	open_args a;
	int error, need_rw;

	*out = NULL;
	if (!o || o->version != VAULT_FILE_OPTIONS_VERSION)
		return vault_error_set(VAULT_EUSAGE, "'%s': file options of an unknown version", path);
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if ((o->flags & VAULT_FILE_WRITE) && o->doc_version)
		return vault_error_set(VAULT_EUSAGE, "'%s': an old version cannot be written", path);
	if ((o->flags & (VAULT_FILE_CREATE | VAULT_FILE_TRUNC)) && !(o->flags & VAULT_FILE_WRITE))
		return vault_error_set(VAULT_EUSAGE, "'%s': creating or truncating needs write access", path);
	if ((f = calloc(1, sizeof *f)) == NULL)
		return vault_error_set_oom();
	f->v = v;
	f->flags = o->flags;
	pthread_mutex_init(&f->rlock, NULL);
	if (strlen(path) >= sizeof f->path) {
		error = vault_error_set(VAULT_EUSAGE, "path is too long");
		goto done;
	}
	strcpy(f->path, path);
	if ((error = vault_docs__path_parse(&f->p, f->path)) < 0)
		goto done;
	if (f->p.n == 0) {
		error = vault_error_set(VAULT_EUSAGE, "'%s' names a case, not a file", path);
		goto done;
	}
	if ((f->plain = malloc(BS)) == NULL) {
		error = vault_error_set_oom();
		goto done;
	}
	need_rw = (o->flags & VAULT_FILE_WRITE) != 0;
	if (need_rw && (error = vault_docs__settle_before_write(v, f->p.code)) < 0)
		goto done;

	if ((o->flags & VAULT_FILE_READ) && !(o->flags & FILE_QUIET)) {
		/* The read event commits before any content is served. */
		a.f = f;
		a.o = o;
		error = vault_docs__event(v, "read", f->p.code, need_rw, read_event_fn, NULL, &a);
		if (error == 1)
			error = 0;
	} else {
		if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
			goto done;
		if ((error = vault_docs__case_load(&cc, txn, v, f->p.code, need_rw)) == 0) {
			error = open_load(f, txn, &cc, o);
			vault_docs__case_dispose(&cc);
		}
		vault_store__abort(v->st, txn);
	}
	if (error < 0)
		goto done;

	/* The content starts as the opened version, or empty. */
	f->size = f->base_size;
	if (!(o->flags & VAULT_FILE_TRUNC) && f->base.nblocks) {
		f->cap = f->base.nblocks;
		if ((f->blocks = malloc(f->cap * sizeof *f->blocks)) == NULL) {
			error = vault_error_set_oom();
			goto done;
		}
		memcpy(f->blocks, f->base.blocks, f->cap * sizeof *f->blocks);
		f->nblocks = f->cap;
	} else if (o->flags & VAULT_FILE_TRUNC) {
		f->size = 0;
		f->modified = f->base_size != 0 || !f->exists;
	}
	if (f->lazy_create && o->create_now) {
		if ((error = vault_file_create(f)) < 0)
			goto done;
	} else if (f->lazy_create) {
		f->modified = 1;   /* put of a new file: even an empty one is a version */
	}
	f->has_mtime = f->has_atime = 0;
	f->set_mode = f->node.mode;
	if (f->exists)
		snprintf(f->node_hex, sizeof f->node_hex, "%016llx", (unsigned long long)f->node.id);
	*out = f;
	f = NULL;
done:
	vault_file_close(f);
	return error;
}

void vault_file_close(vault_file *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < DIRTY_MAX; i++)
		wipe_free(f->dirty[i].buf);
	wipe_free(f->plain);
	vault_vcrypto__key_free(f->wkey);
	for (size_t i = 0; i < f->nrkeys; i++)
		vault_vcrypto__key_free(f->rkeys[i].key);
	free(f->rkeys);
	pthread_mutex_destroy(&f->rlock);
	vault_version__dispose(&f->base);
	vault_case__dispose(&f->c);
	free(f->blocks);
	for (int i = 0; i < 2; i++) {
		stage *s = &f->stage[i];
		/* A flush still running stores only garbage now: no version names it. */
		if (s->busy)
			pthread_join(s->thread, NULL);
		if (s->buf) {
			sodium_memzero(s->buf, s->cap * BS);
			free(s->buf);
		}
		free(s->rec);
	}
	sodium_memzero(f, sizeof *f);
	free(f);
}

int vault_file_set_times(vault_file *f, const vault_time *atime, const vault_time *mtime)
{
	int64_t a = 0, m = 0;
	int error;

	if ((error = check_writable(f)) < 0)
		return error;
	if ((atime && vault_time__to_ns(&a, atime) < 0) || (mtime && vault_time__to_ns(&m, mtime) < 0))
		return vault_error_set(VAULT_EUSAGE,
			"'%s': a time with more than a second of nanoseconds, or more than %lld seconds from 1970",
			f->path, VAULT_TIME_SEC_MAX);
	if (mtime) {
		f->set_mtime = m;
		f->has_mtime = 1;
	}
	if (atime) {
		f->set_atime = a;
		f->has_atime = 1;
	}
	f->meta_modified |= atime || mtime;
	return 0;
}

int vault_file_set_mode(vault_file *f, uint32_t mode)
{
	int error;

	if ((error = check_writable(f)) < 0)
		return error;
	if (mode > 07777)
		return vault_error_set(VAULT_EUSAGE, "mode %o of '%s' is out of range", mode, f->path);
	f->set_mode = mode;
	f->meta_modified = 1;
	return 0;
}

uint64_t vault_file_size(const vault_file *f)
{
	return f->size;
}

void vault_file_times(const vault_file *f, vault_time *mtime, vault_time *ctime, vault_time *atime)
{
	int64_t now = f->exists && !f->modified && !f->meta_modified ? f->node.ctime : vault_time__now_ns();

	vault_time__from_ns(mtime, f->has_mtime ? f->set_mtime : f->exists ? f->node.mtime : now);
	vault_time__from_ns(ctime, f->exists ? (f->modified || f->meta_modified ? now : f->node.ctime) : now);
	vault_time__from_ns(atime, f->has_atime ? f->set_atime : f->exists ? f->node.atime : now);
}

uint32_t vault_file_mode(const vault_file *f)
{
	return f->set_mode;
}

uint32_t vault_file_version(const vault_file *f)
{
	return f->version;
}

int vault_file_can_read(const vault_file *f)
{
	return (f->flags & VAULT_FILE_READ) != 0;
}

int vault_file_is_new(const vault_file *f)
{
	return !f->exists;
}

const char *vault_file_node(const vault_file *f)
{
	return f->node_hex;
}

int vault_file_dirty(const vault_file *f)
{
	return f->modified || f->meta_modified;
}

/* ---- put and get: whole files as streams -------------------------------- */

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
	wipe_free(buf);
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
	error = vault_docs__file_stream(f, fn, payload);
	vault_file_close(f);
	return error;
}

int vault_docs__file_stream(vault_file *f, vault_write_fn fn, void *payload)
{
	unsigned char *buf = NULL;
	uint64_t off = 0;
	size_t n;
	int error;

	if ((buf = malloc(BS)) == NULL)
		return vault_error_set_oom();
	for (;;) {
		if ((error = vault_file_read(&n, f, buf, BS, off)) < 0 || n == 0)
			break;
		if (fn(payload, buf, n) < 0) {
			error = vault_error_set(VAULT_ERROR, "writing the content of '%s' failed", f->path);
			break;
		}
		off += n;
	}
	wipe_free(buf);
	return error;
}

int vault_docs__file_open_version(vault_file **out, vault *v, const char *path, const char *code,
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
	wipe_free(buf);
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
