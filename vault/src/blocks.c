/*
 * blocks — the content of a file handle, block by block: reading and
 * decrypting blocks at any offset, the changed blocks kept in memory, and
 * the staged chunks of large writes.
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

#include "file.h"

#define BS            VAULT_BLOCK_SIZE
#define REC_MAX       BLOCK_REC_MAX      /* a sealed block record */
#define BLOCK_PENDING (UINT64_MAX - 1)   /* in the stage, sealed at the next flush */
#define STAGE_DEAD    SIZE_MAX           /* a stage slot no longer in use */

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

void vault_blocks__free(unsigned char *p)
{
	if (p) {
		sodium_memzero(p, BS);
		free(p);
	}
}

/* ---- reading blocks ----------------------------------------------------- */

/* The node key of a generation, unwrapped once per handle. */
int vault_blocks__key(const unsigned char **out, vault_file *f, MDB_txn *txn, uint32_t gen)
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

/* Decrypt block `ref` (of plaintext length `len`) into out, in `txn`. */
static int block_read(vault_file *f, MDB_txn *txn, const block_ref *ref, size_t index,
	size_t len, unsigned char *out)
{
	unsigned char k[16], ad[20], head[5 + VCRYPTO_NONCEBYTES], tag[VCRYPTO_TAGBYTES];
	unsigned char hash[BLOCK_HASHBYTES];
	struct iovec iov[3] = { { head, sizeof head }, { out, len }, { tag, sizeof tag } };
	struct iovec stored[3] = { { head + 1, sizeof head - 1 }, { out, len }, { tag, sizeof tag } };
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
	/* The stored bytes are those the version lists, which its signed
	 * manifest commits to: the tag alone would not bind them, for whoever
	 * holds the node key can make other bytes under the same tag. */
	vault_block__hash(hash, f->node.id, ref->id, stored, 3);
	if (head[0] != REC_FORMAT || sodium_memcmp(hash, ref->hash, BLOCK_HASHBYTES) != 0)
		goto bad;
	gen = be32_get(head + 1);
	if ((error = vault_blocks__key(&key, f, txn, gen)) < 0)
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

int vault_blocks__read(vault_file *f, unsigned char *out, size_t len, uint64_t off)
{
	MDB_txn *txn = NULL;
	size_t done = 0;
	int error = 0;

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
	if (error < 0)
		sodium_memzero(out, done);
	return error;
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
	struct iovec stored;
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
		stored.iov_base = rec + 1;
		stored.iov_len = 4 + VCRYPTO_OVERHEAD + len;
		vault_block__hash(ref->hash, f->node.id, ref->id, &stored, 1);
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
static int stage_flush_once(vault_file *f, stage *s, MDB_txn *txn_in)
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
	/* The key of a new generation goes in with its first blocks, sealed
	 * under the case key of the record loaded at open: which must be the
	 * verified head's still, or the key would go to whoever made it up. */
	if (s->put_key &&
	    ((error = vault_keys__writable(txn, f->v, &f->c)) < 0 ||
	     (error = vault_docs__nodekey_put(txn, f->v, &f->c, f->node.id, f->node.generation, f->wkey)) < 0))
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
	/* Ahead of the version: what a dead write leaves is found again. */
	if (!txn_in && (error = vault_staged__note(txn, f->v->st, f->token, f->node.id,
			s->put_key ? f->node.generation : 0, s->first, s->next)) < 0)
		goto done;
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

/*
 * In a transaction of its own, a stage that met a full map is stored again
 * once the map has grown: all it changed is in the transaction, and the
 * stage's block ids come from the node record again. In the version's
 * transaction, the event's runner sees the error (event.c).
 */
static int stage_flush(vault_file *f, stage *s, MDB_txn *txn_in)
{
	int error, tries = 0;

	while ((error = stage_flush_once(f, s, txn_in)) == VAULT_ENOSPC && !txn_in && tries++ < 8 &&
	       vault_store__map_grown(f->v->st) > 0)
		;
	return error;
}

static void *stage_main(void *payload)
{
	stage *s = payload;

	/* Errors are per thread: the message goes back with the code. */
	if ((s->error = stage_flush(s->f, s, NULL)) < 0)
		vault_error_keep(&s->why);
	return NULL;
}

/* The older stage's flush, if one runs: joined, its result applied or reported. */
int vault_blocks__wait(vault_file *f)
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
		return vault_error_put(error, &s->why);
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
	f->staged = 1;
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
	if ((error = vault_blocks__wait(f)) < 0)
		return error;
	if (old->n && (error = stage_store(f, old)) < 0)
		return error;
	/* The older stage may have stored the generation's key meanwhile. */
	s->put_key = f->fresh_gen && !f->gen_stored;
	f->cur = !f->cur;
	s->f = f;
	f->staged = 1;
	if (pthread_create(&s->thread, NULL, stage_main, s) != 0)
		return stage_store(f, s);
	s->busy = 1;
	return 0;
}

/* Within the version's transaction: whatever is still staged. */
int vault_blocks__store(vault_file *f, MDB_txn *txn)
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
	vault_blocks__free(d->buf);
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
			vault_blocks__free(buf);
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

int vault_blocks__resize(vault_file *f, uint64_t size)
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
				vault_blocks__free(f->dirty[i].buf);
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
		memset(f->blocks[i].hash, 0, sizeof f->blocks[i].hash);
	}
	f->nblocks = n;
	f->size = size;
	return 0;
}

int vault_blocks__write(vault_file *f, const unsigned char *in, size_t len, uint64_t off)
{
	size_t done = 0;
	int error;

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
				vault_blocks__free(d->buf);
				d->buf = NULL;
			}
		} else {
			if ((error = dirty_get(&d, f, index, 1)) < 0)
				return error;
			memcpy(d->buf + skip, in + done, n);
		}
		done += n;
	}
	return 0;
}

/* ---- the version -------------------------------------------------------- */

int vault_blocks__flush(vault_file *f)
{
	int error;

	if ((error = flush_all_dirty(f)) < 0)
		return error;
	return vault_blocks__wait(f);
}

void vault_blocks__committed(vault_file *f)
{
	stage_clear(stage_old(f));
	stage_clear(stage_cur(f));
	f->staged = 0;    /* the version's transaction ended the registry's record */
}

void vault_blocks__restage(vault_file *f)
{
	stage_unassign(f, stage_old(f));
	stage_unassign(f, stage_cur(f));
}

/* ---- closing ------------------------------------------------------------ */

void vault_blocks__dispose(vault_file *f)
{
	for (size_t i = 0; i < DIRTY_MAX; i++)
		vault_blocks__free(f->dirty[i].buf);
	vault_blocks__free(f->plain);
	for (size_t i = 0; i < f->nrkeys; i++)
		vault_vcrypto__key_free(f->rkeys[i].key);
	free(f->rkeys);
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
	/* Chunks stored for a version that never came: no version names
	 * them, they go now (or at the next open, staged.h). */
	if (f->staged)
		vault_staged__drop(f->v->st, f->token);
}
