/*
 * docs — what every operation on documents rests on: paths, node keys,
 * encrypted names, a case loaded for an event, folder entries and path
 * lookups, the document event (vault_docs__event) with its group commit,
 * and the `list` event of a listing. The operations are namespace.c (folders, moves, attributes,
 * listings) and file.c, blocks.c and stream.c (content); the records are records.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>
#include <uninorm.h>

#include "docs.h"

#define NODEKEY_REC_SIZE (1 + 4 + VCRYPTO_OVERHEAD + VCRYPTO_KEYBYTES)

/* ---- paths and names ---------------------------------------------------- */

int vault_docs__name_check(const char *name, size_t len)
{
	if (len == 0)
		return vault_error_set(VAULT_EUSAGE, "a name is empty");
	if (len > VAULT_FILENAME_MAX)
		return vault_error_set(VAULT_EUSAGE, "a name is longer than %d bytes", VAULT_FILENAME_MAX);
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return vault_error_set(VAULT_EUSAGE, "'%.*s' is not allowed as a name", (int)len, name);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '/')
			return vault_error_set(VAULT_EUSAGE, "a name holds '/'");
		if (c == 0)
			return vault_error_set(VAULT_EUSAGE, "a name holds a NUL byte");
		if (c < 0x20 || c == 0x7f)
			return vault_error_set(VAULT_EUSAGE, "a name holds a control character");
	}
	return 0;
}

/*
 * Names are stored in NFC, and every path is made NFC before it is looked
 * up, so that the NFC and NFD spellings of a name (macOS writes NFD) are
 * one file. ASCII is NFC already.
 */
int vault_path_nfc(char *out, size_t size, size_t *outlen, const char *path, size_t len)
{
	size_t n = size, i;
	uint8_t *r;

	for (i = 0; i < len && !((unsigned char)path[i] & 0x80); i++)
		;
	if (i < len && u8_check((const uint8_t *)path, len) != NULL)
		return vault_error_set(VAULT_EUSAGE, "a name is not valid UTF-8");
	if (i == len) {
		if (len >= size)
			return vault_error_set(VAULT_EUSAGE, "a path is longer than %zu bytes", size - 1);
		memcpy(out, path, len);
		n = len;
	} else if ((r = u8_normalize(UNINORM_NFC, (const uint8_t *)path, len, (uint8_t *)out, &n)) == NULL) {
		return vault_error_set_oom();
	} else if ((char *)r != out || n >= size) {
		if ((char *)r != out)
			free(r);
		return vault_error_set(VAULT_EUSAGE, "a path is longer than %zu bytes", size - 1);
	}
	out[n] = '\0';
	*outlen = n;
	return 0;
}

/* The last error, about `path` (its first 160 bytes: errors are short). */
static int path_error(const char *path)
{
	return vault_error_wrap(VAULT_EUSAGE, "path '%.160s%s'", path, strlen(path) > 160 ? "..." : "");
}

/* "CODE/a/b" → code and components, in NFC (copied into `p`). */
int vault_docs__path_parse(vpath *p, const char *path)
{
	const char *s, *slash;
	size_t clen, n;

	memset(p, 0, sizeof *p);
	if (vault_path_nfc(p->nfc, sizeof p->nfc, &n, path, strlen(path)) < 0)
		return path_error(path);
	s = p->nfc;
	slash = strchr(s, '/');
	clen = slash ? (size_t)(slash - s) : n;
	if (clen != VAULT_CODE_SIZE - 1 || s[0] != 'C' || s[1] != '-')
		return vault_error_set(VAULT_EUSAGE, "path '%s' does not start with a case code (C-XXXXXXXX)", path);
	memcpy(p->code, s, clen);
	if (!slash)
		return 0;
	s = slash + 1;
	if (*s == '\0')
		return 0;    /* "CODE/" is the case folder */
	while (*s) {
		const char *e = strchr(s, '/');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (p->n == PATH_MAX_DEPTH)
			return vault_error_set(VAULT_EUSAGE, "path '%s' is deeper than %d folders", path, PATH_MAX_DEPTH);
		if (vault_docs__name_check(s, len) < 0)
			return path_error(path);
		p->name[p->n] = s;
		p->len[p->n++] = len;
		if (!e)
			break;
		if (e[1] == '\0')
			return vault_error_set(VAULT_EUSAGE, "path '%s' ends with '/'", path);
		s = e + 1;
	}
	return 0;
}

/* ---- keys --------------------------------------------------------------- */

static void nodekey_ad(unsigned char ad[32], size_t *len, uint64_t node, uint32_t gen, uint32_t epoch)
{
	memcpy(ad, "cv-node:", 8);
	be64_put(ad + 8, node);
	be32_put(ad + 16, gen);
	be32_put(ad + 20, epoch);
	*len = 24;
}

/* Node key of one generation, unwrapped with the case key of its epoch. */
/* Unwrap a node key into `key` (VCRYPTO_KEYBYTES of secret memory). */
static int node_key_into(unsigned char *key, uint32_t *epoch_out, MDB_txn *txn, vault *v,
	case_rec *c, uint64_t node, uint32_t gen)
{
	unsigned char k[12], ad[32];
	const unsigned char *ck;
	const unsigned char *p;
	MDB_val val;
	uint32_t epoch;
	size_t adlen;
	int error;

	be64_put(k, node);
	be32_put(k + 8, gen);
	if ((error = vault_store__get(txn, v->st->nodekeys, k, 12, &val)) < 0) {
		if (error == VAULT_ENOTFOUND)
			return vault_error_set(VAULT_ECORRUPT, "key of node %016llx generation %u is missing",
				(unsigned long long)node, gen);
		return error;
	}
	p = val.mv_data;
	if (val.mv_size != NODEKEY_REC_SIZE || p[0] != REC_FORMAT)
		return vault_error_set(VAULT_ECORRUPT, "key of node %016llx is damaged", (unsigned long long)node);
	epoch = be32_get(p + 1);
	if ((error = vault_keys__case_key(&ck, txn, v, c, epoch)) < 0)
		return error;
	nodekey_ad(ad, &adlen, node, gen, epoch);
	if (vault_vcrypto__open(key, p + 5, val.mv_size - 5, ad, adlen, ck) < 0)
		return vault_error_set(VAULT_ECORRUPT, "key of node %016llx fails authentication", (unsigned long long)node);
	if (epoch_out)
		*epoch_out = epoch;
	return 0;
}

int vault_docs__node_key(unsigned char **out, uint32_t *epoch_out, MDB_txn *txn, vault *v,
	case_rec *c, uint64_t node, uint32_t gen)
{
	unsigned char *key = NULL;
	int error;

	*out = NULL;
	if ((error = vault_vcrypto__secret_alloc(&key, VCRYPTO_KEYBYTES)) < 0)
		return error;
	if ((error = node_key_into(key, epoch_out, txn, v, c, node, gen)) < 0) {
		vault_vcrypto__key_free(key);
		return error;
	}
	*out = key;
	return 0;
}

int vault_docs__nodekey_put(MDB_txn *txn, vault *v, case_rec *c, uint64_t node, uint32_t gen,
	const unsigned char *key)
{
	unsigned char k[12], rec[NODEKEY_REC_SIZE], ad[32];
	const unsigned char *ck;
	size_t adlen;
	int error;

	if ((error = vault_keys__case_key(&ck, txn, v, c, c->epoch)) < 0)
		return error;
	rec[0] = REC_FORMAT;
	be32_put(rec + 1, c->epoch);
	nodekey_ad(ad, &adlen, node, gen, c->epoch);
	vault_vcrypto__seal(rec + 5, key, VCRYPTO_KEYBYTES, ad, adlen, ck);
	be64_put(k, node);
	be32_put(k + 8, gen);
	error = vault_store__put(txn, v->st->nodekeys, k, 12, rec, sizeof rec, MDB_NOOVERWRITE);
	if (error == VAULT_EEXISTS)
		return vault_error_set(VAULT_EBUSY, "node %016llx changed while it was written", (unsigned long long)node);
	return error;
}

/*
 * The key to write new content or a new name of `n` under: the current
 * generation's, unless the case moved to a new epoch since, in which case a
 * new generation starts (its key is stored by the caller via vault_docs__nodekey_put).
 */
int vault_docs__node_key_for_write(unsigned char **out, int *fresh, MDB_txn *txn, vault *v,
	case_rec *c, node_rec *n)
{
	uint32_t epoch = 0;
	int error;

	*fresh = 0;
	if (n->generation) {
		if ((error = vault_docs__node_key(out, &epoch, txn, v, c, n->id, n->generation)) < 0)
			return error;
		if (epoch == c->epoch)
			return 0;
		vault_vcrypto__key_free(*out);
		*out = NULL;
	}
	if ((error = vault_vcrypto__key_new(out)) < 0)
		return error;
	n->generation++;
	*fresh = 1;
	return 0;
}

static void name_ad(unsigned char ad[32], size_t *len, uint64_t node, uint32_t gen)
{
	memcpy(ad, "cv-name:", 8);
	be64_put(ad + 8, node);
	be32_put(ad + 16, gen);
	*len = 20;
}

void vault_docs__name_seal(node_rec *n, const char *name, size_t len, const unsigned char *key)
{
	unsigned char ad[32];
	size_t adlen;

	name_ad(ad, &adlen, n->id, n->generation);
	n->name_gen = n->generation;
	n->name_len = len + VCRYPTO_OVERHEAD;
	vault_vcrypto__seal(n->name, (const unsigned char *)name, len, ad, adlen, key);
}

/* Decrypt a node's name into out (VAULT_FILENAME_MAX + 1), using `key`
 * (VCRYPTO_KEYBYTES of secret memory the caller provides) for its node key. */
int vault_docs__name_open(char *out, unsigned char *key, MDB_txn *txn, vault *v, case_rec *c,
	const node_rec *n)
{
	unsigned char ad[32];
	size_t adlen;
	int error;

	out[0] = '\0';
	if (n->name_len < VCRYPTO_OVERHEAD)
		return vault_error_set(VAULT_ECORRUPT, "node %016llx has no name", (unsigned long long)n->id);
	if ((error = node_key_into(key, NULL, txn, v, c, n->id, n->name_gen)) < 0)
		return error;
	name_ad(ad, &adlen, n->id, n->name_gen);
	if (vault_vcrypto__open((unsigned char *)out, n->name, n->name_len, ad, adlen, key) < 0)
		error = vault_error_set(VAULT_ECORRUPT, "name of node %016llx fails authentication", (unsigned long long)n->id);
	else
		out[n->name_len - VCRYPTO_OVERHEAD] = '\0';
	sodium_memzero(key, VCRYPTO_KEYBYTES);
	return error;
}

int vault_docs__name_is(const node_rec *n, const unsigned char *key, const char *name, size_t len)
{
	unsigned char ad[32], plain[VAULT_FILENAME_MAX];
	size_t adlen;
	int same;

	if (n->name_len != len + VCRYPTO_OVERHEAD || len > sizeof plain)
		return 0;
	name_ad(ad, &adlen, n->id, n->name_gen);
	same = vault_vcrypto__open(plain, n->name, n->name_len, ad, adlen, key) == 0 &&
		memcmp(plain, name, len) == 0;
	sodium_memzero(plain, sizeof plain);
	return same;
}

/* ---- lookups ------------------------------------------------------------ */

void vault_docs__case_dispose(case_ctx *cc)
{
	vault_case__dispose(&cc->c);
	cc->lookup = NULL;       /* borrowed from the session's key cache */
}

/* Load a case for the unlocked user, who must be a member holding the key. */
int vault_docs__case_load(case_ctx *cc, MDB_txn *txn, vault *v, const char *code, unsigned int flags)
{
	int need_rw = (flags & VAULT_CASE_RW) != 0;
	member_rec *m;
	int error;

	memset(cc, 0, sizeof *cc);
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if ((error = vault_case__get(&cc->c, txn, v, code)) < 0)
		return error;
	if ((m = vault_case__member(&cc->c, v->user)) == NULL) {
		error = vault_error_set(VAULT_EACCES, "user '%s' is not a member of case '%s'", v->user, code);
		goto fail;
	}
	if (need_rw && m->read_only) {
		error = vault_error_set(VAULT_EACCES, "user '%s' has read-only access to case '%s'", v->user, code);
		goto fail;
	}
	/* Before any key of the case is unsealed in an event (whose head the
	 * trust gate verified), or used to write: the record is the head's. */
	if ((flags & (VAULT_CASE_RW | VAULT_CASE_EVENT)) &&
	    (error = vault_keys__epoch_trusted(txn, v, &cc->c)) < 0)
		goto fail;
	cc->access = m->read_only ? 1 : 2;
	if ((error = vault_keys__lookup_key(&cc->lookup, txn, v, &cc->c)) < 0) {
		/* No key for this member: not delivered yet, or the record was
		 * damaged since the head; the head tells which, where no check
		 * above asked it. */
		if (error == VAULT_EACCES && !(flags & (VAULT_CASE_RW | VAULT_CASE_EVENT)) &&
		    (error = vault_keys__epoch_trusted(txn, v, &cc->c)) == 0)
			error = VAULT_EACCES;
		if (error == VAULT_EACCES)
			error = vault_error_set(VAULT_EACCES,
				"user '%s' has not received the key of case '%s' yet", v->user, code);
		goto fail;
	}
	return 0;
fail:
	vault_docs__case_dispose(cc);
	return error;
}

static void dirent_key(unsigned char k[24], case_ctx *cc, uint64_t parent, const char *name, size_t len)
{
	be64_put(k, parent);
	vault_vcrypto__lookup_hash(k + 8, cc->lookup, parent, name, len);
}

/* Child `name` of `parent`; VAULT_ENOTFOUND (no message) if absent. */
int vault_docs__child_lookup(uint64_t *out, MDB_txn *txn, vault *v, case_ctx *cc,
	uint64_t parent, const char *name, size_t len)
{
	unsigned char k[24];
	MDB_val val;
	int error;

	dirent_key(k, cc, parent, name, len);
	if ((error = vault_store__get(txn, v->st->dirents, k, 24, &val)) < 0)
		return error;
	if (val.mv_size != 9 || ((unsigned char *)val.mv_data)[0] != REC_FORMAT)
		return vault_error_set(VAULT_ECORRUPT, "a folder entry under node %016llx is damaged", (unsigned long long)parent);
	*out = be64_get((unsigned char *)val.mv_data + 1);
	return 0;
}

int vault_docs__folder_changed(vault_event *ev, vault *v, MDB_txn *txn, uint64_t folder, int entries,
	int folders)
{
	node_rec n;
	int error;

	if ((error = vault_node__get(&n, txn, v, folder)) < 0)
		return error;
	if ((folders < 0 && n.folders == 0) || (folders > 0 && n.folders == UINT32_MAX) ||
	    (entries < 0 && n.entries == 0) || (entries > 0 && n.entries == UINT32_MAX))
		return vault_error_set(VAULT_ECORRUPT, "record of node %016llx counts its entries wrong",
			(unsigned long long)folder);
	n.folders = (uint32_t)((int64_t)n.folders + folders);
	n.entries = (uint32_t)((int64_t)n.entries + entries);
	n.mtime = n.ctime = vault_time__now_ns();
	if ((error = vault_node__put(txn, v, &n)) < 0)
		return error;
	return vault_event__touch_node(ev, v, txn, folder);
}

int vault_docs__dirent_put(MDB_txn *txn, vault *v, case_ctx *cc, uint64_t parent,
	const char *name, size_t len, uint64_t node)
{
	unsigned char k[24], val[9];

	dirent_key(k, cc, parent, name, len);
	val[0] = REC_FORMAT;
	be64_put(val + 1, node);
	return vault_store__put(txn, v->st->dirents, k, 24, val, 9, 0);
}

int vault_docs__dirent_del(MDB_txn *txn, vault *v, case_ctx *cc, uint64_t parent, const char *name, size_t len)
{
	unsigned char k[24];

	dirent_key(k, cc, parent, name, len);
	return vault_store__del(txn, v->st->dirents, k, 24);
}

/* A node that a record links to (a case's root, a folder entry, a
 * parent): a missing record is damage, not a name that does not exist. */
int vault_docs__linked_node(node_rec *out, MDB_txn *txn, vault *v, uint64_t id)
{
	int error = vault_node__get(out, txn, v, id);

	if (error == VAULT_ENOTFOUND)
		return vault_error_set(VAULT_ECORRUPT,
			"the record of node %016llx is missing, though a folder or case links to it",
			(unsigned long long)id);
	return error;
}

/*
 * A name some path reaches: a name (vault_docs__name_check) in NFC, as
 * every write stores it. A member's key seals any bytes; a name that is
 * not NFC is listed but never found (each path is made NFC first), and
 * its NFC twin answers for it.
 */
static int name_reachable(const char *name, size_t len)
{
	char nfc[VAULT_FILENAME_MAX + 1];
	size_t n;
	int ok;

	ok = strlen(name) == len && vault_docs__name_check(name, len) == 0 &&
		vault_path_nfc(nfc, sizeof nfc, &n, name, len) == 0 && n == len && !memcmp(nfc, name, len);
	sodium_memzero(nfc, sizeof nfc);
	return ok;
}

/* One entry (`k`, `d`) of folder `dir`: its node and name, if it is whole
 * (vault_docs__entries_each). `key`: secret memory for the node key. */
static int entry_check(node_rec *n, char name[VAULT_FILENAME_MAX + 1], unsigned char *key,
	MDB_txn *txn, vault *v, case_ctx *cc, const node_rec *dir, const MDB_val *k, const MDB_val *d,
	const char *path)
{
	unsigned char hash[16];
	int error;

	if (k->mv_size != 24 || d->mv_size != 9 || ((unsigned char *)d->mv_data)[0] != REC_FORMAT)
		return vault_error_set(VAULT_ECORRUPT, "the vault file is damaged: a folder entry of '%s' is damaged", path);
	if ((error = vault_docs__linked_node(n, txn, v, be64_get((unsigned char *)d->mv_data + 1))) < 0)
		return error;
	if (n->parent != dir->id || n->state != NODE_LIVE || strcmp(n->code, cc->c.code))
		return vault_error_set(VAULT_ECORRUPT, "a folder entry of '%s' points to a removed or foreign node", path);
	if ((error = vault_docs__name_open(name, key, txn, v, &cc->c, n)) < 0)
		return error;
	if (!name_reachable(name, n->name_len - VCRYPTO_OVERHEAD))
		return vault_error_set(VAULT_ECORRUPT,
			"a folder entry of '%s' has a name no path reaches (not NFC, or not a name): "
			"a member's key made it", path);
	vault_vcrypto__lookup_hash(hash, cc->lookup, dir->id, name, strlen(name));
	if (memcmp(hash, (unsigned char *)k->mv_data + 8, 16) != 0)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: a folder entry of '%s' is not at its name's place", path);
	return 0;
}

int vault_docs__entries_each(MDB_txn *txn, vault *v, case_ctx *cc, const node_rec *dir,
	const char *path, int (*cb)(const node_rec *n, const char *name, void *payload), void *payload)
{
	MDB_cursor *cur;
	MDB_val k, d;
	unsigned char prefix[8], *key = NULL;
	char name[VAULT_FILENAME_MAX + 1];
	node_rec n;
	uint32_t count = 0;
	int rc, error;

	if ((error = vault_vcrypto__secret_alloc(&key, VCRYPTO_KEYBYTES)) < 0)
		return error;
	if ((rc = mdb_cursor_open(txn, v->st->dirents, &cur)) != 0) {
		vault_vcrypto__key_free(key);
		return vault_store__error(rc, "list");
	}
	be64_put(prefix, dir->id);
	k.mv_size = 8;
	k.mv_data = prefix;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0 && error == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size < 8 || memcmp(k.mv_data, prefix, 8))
			break;
		count++;
		if ((error = entry_check(&n, name, key, txn, v, cc, dir, &k, &d, path)) == 0 && cb)
			error = cb(&n, name, payload);
	}
	mdb_cursor_close(cur);
	vault_vcrypto__key_free(key);
	sodium_memzero(name, sizeof name);
	if (error == 0 && rc != 0 && rc != MDB_NOTFOUND)
		error = vault_store__error(rc, "list");
	if (error == 0 && count != dir->entries)
		error = vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: folder '%s' counts %u entries and holds %u (an entry was lost)",
			path, dir->entries, count);
	return error;
}

/* Folder `dir`'s entries as stored, keys only (nothing opened), into *out. */
static int entries_count(uint32_t *out, MDB_cursor *cur, uint64_t dir)
{
	unsigned char prefix[8];
	MDB_val k, d;
	int rc;

	*out = 0;
	be64_put(prefix, dir);
	k.mv_size = 8;
	k.mv_data = prefix;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size < 8 || memcmp(k.mv_data, prefix, 8))
			break;
		(*out)++;
	}
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : vault_store__error(rc, "list");
}

/* The entries of folder `dir` on either side of key `at` (where a missed
 * name's entry would be), each checked whole. */
static int entries_beside(MDB_cursor *cur, MDB_txn *txn, vault *v, case_ctx *cc, const node_rec *dir,
	const unsigned char at[24], const char *path)
{
	char name[VAULT_FILENAME_MAX + 1];
	unsigned char *key = NULL;
	MDB_val k, d;
	node_rec n;
	int rc, error = 0;

	if ((error = vault_vcrypto__secret_alloc(&key, VCRYPTO_KEYBYTES)) < 0)
		return error;
	k.mv_size = 24;
	k.mv_data = (void *)at;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	if (rc == 0 && k.mv_size >= 8 && memcmp(k.mv_data, at, 8) == 0)
		error = entry_check(&n, name, key, txn, v, cc, dir, &k, &d, path);
	if (error == 0) {
		rc = mdb_cursor_get(cur, &k, &d, rc == 0 ? MDB_PREV : MDB_LAST);
		if (rc == 0 && k.mv_size >= 8 && memcmp(k.mv_data, at, 8) == 0)
			error = entry_check(&n, name, key, txn, v, cc, dir, &k, &d, path);
	}
	vault_vcrypto__key_free(key);
	sodium_memzero(name, sizeof name);
	if (error == 0 && rc != 0 && rc != MDB_NOTFOUND)
		error = vault_store__error(rc, "list");
	return error;
}

/*
 * Component `depth` of `p` missed in folder `dir`: is it absent, or was its
 * entry lost or damaged? The folder's entries are counted, keys only,
 * against the count its record keeps (a lost entry, or one moved out of
 * the folder, is damage); and the entries on either side of where the
 * name's entry would be are checked whole (an entry whose stored key was
 * changed in place still counts, and would sit there). A miss costs a
 * cursor step per entry and two entries opened, not a listing.
 */
int vault_docs__entries_whole(MDB_txn *txn, vault *v, case_ctx *cc, const node_rec *dir, const vpath *p,
	size_t depth)
{
	char folder[512];            /* for messages: cut short if longer */
	unsigned char at[24];
	MDB_cursor *cur;
	uint32_t count;
	int rc, error;

	if (depth == 0)
		snprintf(folder, sizeof folder, "%s", p->code);
	else
		snprintf(folder, sizeof folder, "%s/%.*s", p->code,
			(int)(p->name[depth - 1] + p->len[depth - 1] - p->name[0]), p->name[0]);
	if ((rc = mdb_cursor_open(txn, v->st->dirents, &cur)) != 0)
		return vault_store__error(rc, "list");
	if ((error = entries_count(&count, cur, dir->id)) == 0 && count != dir->entries)
		error = vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: folder '%s' counts %u entries and holds %u (an entry was lost)",
			folder, dir->entries, count);
	if (error == 0) {
		dirent_key(at, cc, dir->id, p->name[depth], p->len[depth]);
		error = entries_beside(cur, txn, v, cc, dir, at, folder);
	}
	mdb_cursor_close(cur);
	return error;
}

/*
 * Walk `depth` components of `p` from the case root; the result must be a
 * live folder unless it is the last component. A name that misses is
 * checked against its folder's entries: lost or damaged ones are damage,
 * not a name that does not exist (only a miss costs the walk).
 */
int vault_docs__resolve(node_rec *out, MDB_txn *txn, vault *v, case_ctx *cc, const vpath *p,
	size_t depth, const char *path)
{
	uint64_t id = cc->c.root;
	int error;

	if ((error = vault_docs__linked_node(out, txn, v, id)) < 0)
		return error;
	for (size_t i = 0; i < depth; i++) {
		if (out->type != NODE_DIR)
			return vault_error_set(VAULT_ENOTFOUND, "'%s': '%.*s' is a file, not a folder",
				path, (int)p->len[i - 1], p->name[i - 1]);
		error = vault_docs__child_lookup(&id, txn, v, cc, id, p->name[i], p->len[i]);
		if (error == VAULT_ENOTFOUND && (error = vault_docs__entries_whole(txn, v, cc, out, p, i)) == 0)
			error = VAULT_ENOTFOUND;
		if (error == VAULT_ENOTFOUND && i + 1 < p->n)   /* name the folder that is missing */
			return vault_error_set(VAULT_ENOTFOUND, "folder '%s/%.*s' does not exist", p->code,
				(int)(p->name[i] + p->len[i] - p->name[0]), p->name[0]);
		if (error == VAULT_ENOTFOUND)
			return vault_error_set(VAULT_ENOTFOUND, "'%s' does not exist", path);
		if (error < 0)
			return error;
		if ((error = vault_docs__linked_node(out, txn, v, id)) < 0)
			return error;
		if (out->state != NODE_LIVE || strcmp(out->code, cc->c.code))
			return vault_error_set(VAULT_ECORRUPT, "a folder entry of '%s' points to a removed or foreign node", path);
	}
	return 0;
}

int vault_docs__name_free(MDB_txn *txn, vault *v, case_ctx *cc, uint64_t parent,
	const char *name, size_t len, const char *path, int meanwhile)
{
	uint64_t id;
	int error = vault_docs__child_lookup(&id, txn, v, cc, parent, name, len);

	if (error == 0)
		return vault_error_set(VAULT_EEXISTS, meanwhile ? "'%s' was created by someone else meanwhile" :
			"'%s' already exists", path);
	return error == VAULT_ENOTFOUND ? 0 : error;
}

int vault_docs__new_in(node_rec *parent, MDB_txn *txn, vault *v, case_ctx *cc, const vpath *p,
	const char *path)
{
	int error;

	if ((error = vault_docs__resolve(parent, txn, v, cc, p, p->n - 1, path)) < 0)
		return error;
	if (parent->type != NODE_DIR)
		return vault_error_set(VAULT_ENOTFOUND, "'%s': its folder is a file", path);
	return vault_docs__name_free(txn, v, cc, parent->id, p->name[p->n - 1], p->len[p->n - 1], path, 0);
}

int vault_docs__read_begin(node_rec *n, MDB_txn **txn, case_ctx *cc, vault *v, const char *path,
	int need_name)
{
	vpath p;
	int error;

	*txn = NULL;
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if ((error = vault_docs__path_parse(&p, path)) < 0)
		return error;
	if (need_name && p.n == 0)
		return vault_error_set(VAULT_EUSAGE, "'%s' names a case, not a file", path);
	if ((error = vault_store__begin_walk(txn, v->st)) < 0)
		return error;
	if ((error = vault_docs__case_load(cc, *txn, v, p.code, 0)) == 0) {
		if ((error = vault_docs__resolve(n, *txn, v, cc, &p, p.n, path)) == 0)
			return 0;
		vault_docs__case_dispose(cc);
	}
	vault_store__abort(v->st, *txn);
	*txn = NULL;
	return error;
}

void vault_docs__read_end(MDB_txn *txn, case_ctx *cc, vault *v)
{
	vault_docs__case_dispose(cc);
	vault_store__abort(v->st, txn);
}

int vault_docs__about(vault_event *ev, vault *v, MDB_txn *txn, const node_rec *n, int version)
{
	ev->node = n->id;
	if (version)
		ev->version = n->version;
	return vault_event__touch_node(ev, v, txn, n->id);
}

/* ---- events on documents ------------------------------------------------ */

/* A document event: its case loaded (read-write if asked), then its function. */
typedef struct {
	const char *code;
	int need_rw;
	doc_fn fn;
	doc_post_fn post;
	void *payload;
} doc_job;

static int doc_event_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	doc_job *j = payload;
	case_ctx cc;
	int error;

	if ((error = vault_docs__case_load(&cc, txn, v, j->code,
			VAULT_CASE_EVENT | (j->need_rw ? VAULT_CASE_RW : 0))) < 0)
		return error;
	snprintf(ev->case_code, sizeof ev->case_code, "%s", j->code);
	error = j->fn(ev, v, txn, &cc, j->payload);
	vault_docs__case_dispose(&cc);
	return error;
}

static int doc_post(vault *v, MDB_txn *txn, const git_oid *commit, void *payload)
{
	doc_job *j = payload;

	return j->post(v, txn, commit, j->payload);
}

int vault_docs__event(vault *v, const char *action, const char *code, int need_rw,
	doc_fn fn, doc_post_fn post, void *payload)
{
	doc_job j = { code, need_rw, fn, post, payload };

	/* The mount's threads share fsyncs: documents go by group commit. */
	return vault_event__run(v, action, doc_event_fn, post ? doc_post : NULL, &j, VAULT_EVENT_GROUP);
}

/* Start a new epoch first if a revocation retired the current one. */
int vault_docs__settle_before_write(vault *v, const char *code)
{
	MDB_txn *txn = NULL;
	case_rec c;
	int error, retired;

	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	error = vault_case__get(&c, txn, v, code);
	vault_store__abort(v->st, txn);
	if (error < 0)
		return error;
	retired = c.retired;
	vault_case__dispose(&c);
	return retired ? vault_keys__maintain(v) : 0;
}

/* ---- listings ----------------------------------------------------------- */

typedef struct {
	const vpath *p;
	const char *path;
	const vault_list_options *o;
} list_job;

static int list_event_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	list_job *j = payload;
	node_rec dir;
	int error;

	if ((error = vault_purposes__check(txn, v, j->o->purpose)) < 0)
		return error;
	/* A folder that is not there, or a file, is no listing: no event. */
	if (j->p && j->p->n) {
		if ((error = vault_docs__resolve(&dir, txn, v, cc, j->p, j->p->n, j->path)) < 0)
			return error;
		if (dir.type != NODE_DIR)
			return vault_error_set(VAULT_EUSAGE, "'%s' is a file; use 'history' or 'get'", j->path);
		ev->node = dir.id;
	}
	ev->purpose = j->o->purpose;
	if (j->o->note && *j->o->note)
		return vault_event__seal_note(ev, v, txn, j->o->note);
	return 0;
}

int vault_docs__list_event(vault *v, const char *code, const vpath *p, const char *path,
	const vault_list_options *o)
{
	list_job j = { p, path, o };

	if (o->flags & VAULT_LIST_NO_EVENT)
		return 0;
	return vault_docs__event(v, "list", code, 0, list_event_fn, NULL, &j);
}
