/*
 * verify_state — the second half of `audit verify`: the vault's state
 * against the head event's tree (every user, case, node and the settings
 * generate exactly the files the head holds), the folder entries, and
 * every version's blocks against its record. The first half, the replay
 * of the chain, is verify.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "hkeys.h"
#include "verify.h"

/* The progress callback, if any: `done` of 1000. */
void vault_verify__progress(const vault_verify_options *o, uint64_t done)
{
	if (o && o->progress)
		o->progress(done, 1000, o->payload);
}

/* Compare one record's expected tree file with the head tree. */
static int state_entry(vault *v, git_tree *head, vault_history__memo *memo, const char *path,
	vault_buf *blob, size_t *count)
{
	git_odb_object *obj = NULL;
	git_tree_entry *e = NULL;
	git_oid want;
	int same;

	if (blob->oom)
		return vault_error_set_oom();
	if (git_odb_hash(&want, blob->ptr ? blob->ptr : "", blob->size, GIT_OBJECT_BLOB) < 0)
		return vault_error_git("verify");
	if (vault_history__entry(&e, v, head, path, memo) < 0)
		return vault_error_set(VAULT_ECORRUPT, "vault state does not match the history: '%s' is not in the head event", path);
	same = git_oid_equal(&want, git_tree_entry_id(e));
	git_tree_entry_free(e);
	if (!same)
		return vault_error_set(VAULT_ECORRUPT, "vault state does not match the history: record '%s' differs from the head event", path);
	/* The object itself must be there and whole (reading checks its id). */
	if (git_odb_read(&obj, v->odb, &want) < 0)
		return vault_error_set(VAULT_ECORRUPT, "history object '%s' of the head event is missing or damaged", path);
	git_odb_object_free(obj);
	(*count)++;
	return 0;
}

static int count_blobs_cb(const char *root, const git_tree_entry *e, void *payload)
{
	if (git_tree_entry_type(e) == GIT_OBJECT_BLOB)
		(*(size_t *)payload)++;
	return 0;
}

/* A file has a record for each of its versions 1..N. */
static int versions_complete(vault *v, MDB_txn *txn, const node_rec *n)
{
	unsigned char k[12];
	MDB_val val;

	be64_put(k, n->id);
	for (uint32_t ver = 1; ver <= n->version; ver++) {
		be32_put(k + 8, ver);
		if (vault_store__get(txn, v->st->versions, k, 12, &val) != 0)
			return vault_error_set(VAULT_ECORRUPT,
				"vault state does not match the history: version %u of node %016llx is missing",
				ver, (unsigned long long)n->id);
	}
	return 0;
}

/* The key of a node's generation is stored (it opens the content and name). */
static int nodekey_present(vault *v, MDB_txn *txn, uint64_t node, uint32_t gen)
{
	unsigned char k[12];
	MDB_val val;

	if (gen == 0)
		return 0;
	be64_put(k, node);
	be32_put(k + 8, gen);
	if (vault_store__get(txn, v->st->nodekeys, k, 12, &val) != 0)
		return vault_error_set(VAULT_ECORRUPT,
			"vault state does not match the history: the key of node %016llx generation %u is missing",
			(unsigned long long)node, gen);
	return 0;
}

static int id_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Folder entries: each names a live node of the same case whose parent is
 * the entry's folder, and every live node but a case root has exactly one.
 */
/*
 * Every live node below a case root reaches it, going up its parents, in
 * at most PATH_MAX_DEPTH steps: no folders that hold each other (edited
 * records could make such a loop, which the entries alone do not show).
 * `ids` (sorted) are the live nodes below a root; each is walked up until
 * it meets a root or a node already known to reach one.
 */
static int verify_rooted(vault *v, MDB_txn *txn, const uint64_t *ids, size_t n)
{
	unsigned char *good = calloc(n ? n : 1, 1);
	size_t path[PATH_MAX_DEPTH + 2];
	int error = 0;

	if (!good)
		return vault_error_set_oom();
	for (size_t i = 0; i < n && error == 0; i++) {
		uint64_t id = ids[i];
		size_t depth = 0, j = i;
		int ok = 0;

		while (!ok && error == 0) {
			const uint64_t *at;
			node_rec nd;

			if (good[j]) {
				ok = 1;
				break;
			}
			if (depth == PATH_MAX_DEPTH + 2) {
				error = vault_error_set(VAULT_ECORRUPT,
					"vault state does not match the history: the folders above node %016llx form a loop",
					(unsigned long long)id);
				break;
			}
			path[depth++] = j;
			if ((error = vault_node__get(&nd, txn, v, ids[j])) < 0)
				break;
			/* A live node with no entry is a root (the entries are
			 * checked: each live node below a root has one). */
			at = nd.parent ? bsearch(&nd.parent, ids, n, sizeof *ids, id_cmp) : NULL;
			if (at == NULL) {
				ok = 1;
				break;
			}
			j = (size_t)(at - ids);
		}
		if (ok)
			for (size_t k = 0; k < depth; k++)
				good[path[k]] = 1;
	}
	free(good);
	return error;
}

/* A folder's counts of subfolders and of entries are what its entries hold. */
static int folders_match(uint64_t pid, const node_rec *parent, uint32_t have, uint32_t entries)
{
	if (parent->folders != have)
		return vault_error_set(VAULT_ECORRUPT,
			"vault state does not match the history: folder %016llx counts %u subfolders and holds %u",
			(unsigned long long)pid, parent->folders, have);
	if (parent->entries != entries)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: folder %016llx counts %u entries and holds %u",
			(unsigned long long)pid, parent->entries, entries);
	return 0;
}

/*
 * Folder entries: each names a live node of the same case whose parent is
 * the entry's folder, and every live node but a case root has exactly one.
 * Each folder that holds entries counts its subfolders and its entries
 * right; with the counts of all folders adding up to the live folders
 * below a root (`dirs`, `counted`) and to the entries (`ecounted`), those
 * that hold none count zero.
 */
static int verify_dirents(vault *v, MDB_txn *txn, uint64_t live, uint64_t dirs, uint64_t counted,
	uint64_t ecounted)
{
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	uint64_t *ids = NULL, pid_at = 0;
	node_rec at = { 0 };
	uint32_t have = 0, entries = 0;
	size_t n = 0, cap = 0;
	int rc, error = 0;

	if ((rc = mdb_cursor_open(txn, v->st->dirents, &cur)) != 0)
		return vault_store__error(rc, "verify");
	while (error == 0 && mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		node_rec child, parent;
		uint64_t pid;

		if (k.mv_size != 24 || d.mv_size != 9 || ((unsigned char *)d.mv_data)[0] != REC_FORMAT) {
			error = vault_error_set(VAULT_ECORRUPT, "vault state holds a damaged folder entry");
			break;
		}
		pid = be64_get(k.mv_data);
		if ((error = vault_array_grow(&ids, &cap, n, sizeof *ids, 256)) < 0)
			break;
		ids[n++] = be64_get((unsigned char *)d.mv_data + 1);
		if (vault_node__get(&child, txn, v, ids[n - 1]) < 0 ||
		    vault_node__get(&parent, txn, v, pid) < 0 ||
		    child.state != NODE_LIVE || child.parent != pid || parent.type != NODE_DIR ||
		    parent.state != NODE_LIVE || strcmp(child.code, parent.code)) {
			error = vault_error_set(VAULT_ECORRUPT,
				"vault state does not match the history: a folder entry of node %016llx points to node %016llx, which is not a live child of it",
				(unsigned long long)pid, (unsigned long long)ids[n - 1]);
			break;
		}
		/* Entries are keyed by folder first: one run per folder. */
		if (n == 1 || pid != pid_at) {
			if (n > 1 && (error = folders_match(pid_at, &at, have, entries)) < 0)
				break;
			pid_at = pid;
			at = parent;
			have = entries = 0;
		}
		have += child.type == NODE_DIR;
		entries++;
	}
	mdb_cursor_close(cur);
	if (error == 0 && n > 0)
		error = folders_match(pid_at, &at, have, entries);
	if (error == 0 && dirs != counted)
		error = vault_error_set(VAULT_ECORRUPT,
			"vault state does not match the history: folders count %llu subfolders, and %llu are live",
			(unsigned long long)counted, (unsigned long long)dirs);
	if (error == 0 && n != ecounted)
		error = vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: folders count %llu entries, and %zu are stored",
			(unsigned long long)ecounted, n);
	if (error == 0 && n != live)
		error = vault_error_set(VAULT_ECORRUPT,
			"vault state does not match the history: %zu folder entries for %llu live files and folders",
			n, (unsigned long long)live);
	if (error == 0 && n > 1) {
		qsort(ids, n, sizeof *ids, id_cmp);
		for (size_t i = 1; i < n && error == 0; i++)
			if (ids[i] == ids[i - 1])
				error = vault_error_set(VAULT_ECORRUPT,
					"vault state does not match the history: node %016llx has two folder entries",
					(unsigned long long)ids[i]);
	}
	if (error == 0)
		error = verify_rooted(v, txn, ids, n);
	free(ids);
	return error;
}

/* A user's or a case's file, made from its record, against the head tree. */
typedef struct {
	vault *v;
	MDB_txn *txn;
	git_tree *head;
	vault_history__memo *memo;
	vault_buf *b;
	size_t *have;
	size_t users, cases;         /* records walked */
} state_walk;

/*
 * The walks go by the names listed (records.c): a record stored at a
 * locator no listed name gives would be passed over. Each table must
 * hold exactly the records walked.
 */
static int table_holds(MDB_txn *txn, MDB_dbi dbi, size_t walked, int cases)
{
	MDB_stat ms;
	int rc;

	if ((rc = mdb_stat(txn, dbi, &ms)) != 0)
		return vault_store__error(rc, "verify");
	if (ms.ms_entries != walked && cases)
		return vault_error_set(VAULT_ECORRUPT, "vault state does not match the history: "
			"the vault holds %zu case records, the history lists %zu", (size_t)ms.ms_entries, walked);
	if (ms.ms_entries != walked)
		return vault_error_set(VAULT_ECORRUPT, "vault state does not match the history: "
			"the vault holds %zu user records, the history lists %zu", (size_t)ms.ms_entries, walked);
	return 0;
}

static int state_user(const char *name, const user_rec *u, void *payload)
{
	state_walk *w = payload;
	char path[64];
	int error;

	w->users++;
	vault_buf_clear(w->b);
	if ((error = vault_blob__user(w->b, name, u)) < 0)
		return error;
	vault_user__path(path, name);
	if ((error = state_entry(w->v, w->head, w->memo, path, w->b, w->have)) < 0)
		return error;
	/* Every active user can read the whole history (rotations included). */
	return u->status == USER_ACTIVE ? vault_hkeys__held_by(w->txn, w->v, name) : 0;
}

static int state_case(case_rec *c, void *payload)
{
	state_walk *w = payload;
	char path[64];
	int error;

	w->cases++;
	vault_buf_clear(w->b);
	if ((error = vault_blob__case(w->b, w->txn, w->v, c)) < 0)
		return error;
	vault_case__path(path, c->code);
	return state_entry(w->v, w->head, w->memo, path, w->b, w->have);
}

/* How often the state checks bound the map's resident pages. */
#define BOUND_EVERY 64

int vault_verify__state(vault *v, MDB_txn *txn, git_tree *head, uint64_t *records)
{
	vault_history__memo memo = { { NULL }, 0 };
	vault_buf b = VAULT_BUF_INIT;
	uint64_t live = 0, dirs = 0, counted = 0, ecounted = 0;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	size_t have = 0, want = 0;
	char path[80];
	state_walk st = { v, txn, head, &memo, &b, &have, 0, 0 };
	int rc, error;

	/* users and cases */
	if ((error = vault_user__each(txn, v, state_user, &st)) == 0 &&
	    (error = vault_case__each(txn, v, state_case, &st)) == 0 &&
	    (error = table_holds(txn, v->st->users, st.users, 0)) == 0)
		error = table_holds(txn, v->st->cases, st.cases, 1);
	/* nodes */
	if (error == 0 && (rc = mdb_cursor_open(txn, v->st->nodes, &cur)) != 0)
		error = vault_store__error(rc, "verify");
	while (error == 0 && mdb_cursor_get(cur, &k, &d, MDB_NEXT) == 0) {
		node_rec n;
		if ((have & (BOUND_EVERY - 1)) == 0)
			vault_store__bound(v->st, txn, d.mv_data);
		if (k.mv_size != 8) {
			error = vault_error_set(VAULT_ECORRUPT, "vault state holds a node record with a bad id");
			break;
		}
		vault_buf_clear(&b);
		if ((error = vault_node__get(&n, txn, v, be64_get(k.mv_data))) < 0 ||
		    (error = vault_blob__node(&b, txn, v, &n)) < 0)
			break;
		vault_node__path(path, n.id);
		if ((error = state_entry(v, head, &memo, path, &b, &have)) == 0 && n.type == NODE_FILE)
			error = versions_complete(v, txn, &n);
		if (error == 0 && (error = nodekey_present(v, txn, n.id, n.generation)) == 0)
			error = nodekey_present(v, txn, n.id, n.name_gen);
		if (n.state == NODE_LIVE && n.parent != 0) {
			live++;
			dirs += n.type == NODE_DIR;
		}
		counted += n.folders;
		ecounted += n.entries;
	}
	mdb_cursor_close(cur);
	if (error == 0)
		error = verify_dirents(v, txn, live, dirs, counted, ecounted);
	/* settings */
	if (error == 0) {
		vault_buf_clear(&b);
		if ((error = vault_blob__settings(&b, v, txn)) == 0)
			error = state_entry(v, head, &memo, VAULT_SETTINGS_PATH, &b, &have);
	}
	if (error == 0) {
		git_tree_walk(head, GIT_TREEWALK_PRE, count_blobs_cb, &want);
		if (want != have)
			error = vault_error_set(VAULT_ECORRUPT,
				"vault state does not match the history: the head event lists %zu objects, the vault holds %zu",
				want, have);
	}
	*records = have;
	vault_history__memo_dispose(&memo);
	vault_buf_dispose(&b);
	return error;
}

/* New blocks of a node get ids from its record's counter: it must be past
 * every id its versions use, or a write would replace an old version's block. */
static int next_block_above(vault *v, MDB_txn *txn, uint64_t node, uint64_t used)
{
	node_rec n;
	int error;

	if (used == 0)
		return 0;
	if ((error = vault_node__get(&n, txn, v, node)) < 0)
		return error == VAULT_ENOTFOUND ? vault_error_set(VAULT_ECORRUPT,
			"vault state does not match the history: node %016llx has versions but no record",
			(unsigned long long)node) : error;
	if (n.next_block < used) {
		char path[64];
		vault_node__path(path, node);
		return vault_error_set(VAULT_ECORRUPT,
			"vault state does not match the history: record '%s' would reuse block %llu of an older version",
			path, (unsigned long long)n.next_block);
	}
	return 0;
}

/* A block a version lists has no record, or one of no possible size. */
static int block_missing(vault *v, MDB_txn *txn, uint64_t node, uint32_t ver, size_t index)
{
	node_rec n;
	int got = vault_node__get(&n, txn, v, node) == 0;

	if (!got)
		return vault_error_set(VAULT_ECORRUPT,
			"version %u of node %016llx (case unknown): block %zu is missing", ver,
			(unsigned long long)node, index);
	return vault_error_set(VAULT_ECORRUPT, "version %u of node %016llx (case %s): block %zu is missing",
		ver, (unsigned long long)node, n.code, index);
}

/* One version's blocks: each is there, and (unless `blocks` is NULL)
 * queued to be hashed. *max_block: past the highest id it uses. */
static int version_blocks(vault *v, MDB_txn *txn, vault_verify__blocks *blocks, uint64_t node,
	uint32_t ver, const version_rec *r, uint64_t *max_block)
{
	unsigned char bk[16];
	MDB_val bv;
	int error;

	be64_put(bk, node);
	for (size_t i = 0; i < r->nblocks; i++) {
		if (r->blocks[i].id == BLOCK_HOLE)
			continue;    /* zeros never written: no record */
		if (r->blocks[i].id + 1 > *max_block)
			*max_block = r->blocks[i].id + 1;
		be64_put(bk + 8, r->blocks[i].id);
		if (vault_store__get(txn, v->st->blocks, bk, 16, &bv) < 0 ||
		    bv.mv_size < BLOCK_REC_MIN || bv.mv_size > BLOCK_REC_MAX)
			return block_missing(v, txn, node, ver, i);
		if (blocks && (error = vault_verify__blocks_add(blocks, node, ver, i, r->blocks[i].id,
				&bv, r->blocks[i].hash)) < 0)
			return error;
	}
	return 0;
}

/* Every version's blocks against its record: each is there and (but with
 * VAULT_VERIFY_QUICK) its stored bytes have the hash the record lists.
 * Each record was matched against the manifest its event signed during
 * the replay, and there is one record per version-making event (counted
 * by the caller). */
int vault_verify__versions(vault_verify_result *res, vault *v, MDB_txn *txn,
	const vault_verify_options *opts, uint64_t total)
{
	uint64_t last_node = 0, max_block = 0;
	vault_verify__blocks *blocks = NULL;
	char bad[VAULT_OID_SIZE] = "";
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	int rc, error = 0;

	if (!(opts && (opts->flags & VAULT_VERIFY_QUICK)) &&
	    (error = vault_verify__blocks_start(&blocks, v, txn, opts)) < 0)
		goto done;
	if ((rc = mdb_cursor_open(txn, v->st->versions, &cur)) != 0) {
		error = vault_store__error(rc, "verify");
		goto done;
	}
	while (error == 0) {
		if ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) != 0) {
			error = next_block_above(v, txn, last_node, max_block);
			break;
		}
		uint64_t node;
		uint32_t ver, gen;
		version_rec r;

		if (k.mv_size != 12) {
			error = vault_error_set(VAULT_ECORRUPT, "a version record has a bad key");
			break;
		}
		node = be64_get(k.mv_data);
		ver = be32_get((unsigned char *)k.mv_data + 8);
		if (node != last_node) {
			if ((error = next_block_above(v, txn, last_node, max_block)) < 0)
				break;
			last_node = node;
			max_block = 0;
		}
		if ((res->versions & (BOUND_EVERY - 1)) == 0)
			vault_store__bound(v->st, txn, d.mv_data);
		if ((error = vault_version__get(&r, txn, v, node, ver)) < 0)
			break;
		/* A block of the version: the event that made it is named. */
		if ((error = version_blocks(v, txn, blocks, node, ver, &r, &max_block)) == VAULT_ECORRUPT)
			sodium_bin2hex(res->bad_commit, sizeof res->bad_commit, r.commit, sizeof r.commit);
		gen = r.generation;
		vault_version__dispose(&r);
		if (error == 0)
			error = nodekey_present(v, txn, node, gen);
		/* Its size, time, generation and commitment were checked against
		 * the manifest its event signed as the events were replayed. */
		if (error == 0) {
			res->versions++;
			res->bad_commit[0] = '\0';
			/* While blocks are hashed, their bar says more. */
			if ((res->versions & 1023) == 0 && total && !(blocks && opts && opts->content_progress))
				vault_verify__progress(opts, 900 + 100 * res->versions / total);
		}
	}
	mdb_cursor_close(cur);
done:
	rc = vault_verify__blocks_finish(blocks, bad);
	if (error == 0 && rc < 0)
		memcpy(res->bad_commit, bad, sizeof bad);
	return error < 0 ? error : rc;
}

