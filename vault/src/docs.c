/*
 * docs — files and folders as a caseworker sees them: paths, encrypted
 * names, node keys, folder entries, and the events on them (the records
 * are records.c). Content itself is read and written through file handles
 * (file.c, blocks.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs.h"

#define NODEKEY_REC_SIZE (1 + 4 + VCRYPTO_OVERHEAD + VCRYPTO_KEYBYTES)

/* ---- records ------------------------------------------------------------ */

/* ---- paths and names ---------------------------------------------------- */

int vault_name__check(const char *name, size_t len)
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

/* "CODE/a/b" → code and components. The path string must outlive `p`. */
int vault_docs__path_parse(vpath *p, const char *path)
{
	const char *s = path, *slash = strchr(path, '/');
	size_t clen = slash ? (size_t)(slash - path) : strlen(path);
	int error;

	memset(p, 0, sizeof *p);
	if (clen != VAULT_CODE_SIZE - 1 || path[0] != 'C' || path[1] != '-')
		return vault_error_set(VAULT_EUSAGE, "path '%s' does not start with a case code (C-XXXXXXXX)", path);
	memcpy(p->code, path, clen);
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
		if ((error = vault_name__check(s, len)) < 0) {
			char msg[300];
			snprintf(msg, sizeof msg, "%s", vault_error_last()->message);
			return vault_error_set(VAULT_EUSAGE, "path '%s': %s", path, msg);
		}
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
int vault_docs__case_load(case_ctx *cc, MDB_txn *txn, vault *v, const char *code, int need_rw)
{
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
	cc->access = m->read_only ? 1 : 2;
	if ((error = vault_keys__lookup_key(&cc->lookup, txn, v, &cc->c)) < 0) {
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

int vault_docs__folder_changed(vault_event *ev, vault *v, MDB_txn *txn, uint64_t folder, int folders)
{
	node_rec n;
	int error;

	if ((error = vault_node__get(&n, txn, v, folder)) < 0)
		return error;
	if ((folders < 0 && n.folders == 0) || (folders > 0 && n.folders == UINT32_MAX))
		return vault_error_set(VAULT_ECORRUPT, "record of node %016llx counts its folders wrong",
			(unsigned long long)folder);
	n.folders = (uint32_t)((int64_t)n.folders + folders);
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

/*
 * Walk `depth` components of `p` from the case root; the result must be a
 * live folder unless it is the last component.
 */
int vault_docs__resolve(node_rec *out, MDB_txn *txn, vault *v, case_ctx *cc, const vpath *p,
	size_t depth, const char *path)
{
	uint64_t id = cc->c.root;
	int error;

	if ((error = vault_node__get(out, txn, v, id)) < 0)
		return error;
	for (size_t i = 0; i < depth; i++) {
		if (out->type != NODE_DIR)
			return vault_error_set(VAULT_ENOTFOUND, "'%s': '%.*s' is a file, not a folder",
				path, (int)p->len[i - 1], p->name[i - 1]);
		error = vault_docs__child_lookup(&id, txn, v, cc, id, p->name[i], p->len[i]);
		if (error == VAULT_ENOTFOUND && i + 1 < p->n)   /* name the folder that is missing */
			return vault_error_set(VAULT_ENOTFOUND, "folder '%s/%.*s' does not exist", p->code,
				(int)(p->name[i] + p->len[i] - p->name[0]), p->name[0]);
		if (error == VAULT_ENOTFOUND)
			return vault_error_set(VAULT_ENOTFOUND, "'%s' does not exist", path);
		if (error < 0)
			return error;
		if ((error = vault_node__get(out, txn, v, id)) < 0)
			return error;
		if (out->state != NODE_LIVE || strcmp(out->code, cc->c.code))
			return vault_error_set(VAULT_ECORRUPT, "a folder entry of '%s' points to a removed or foreign node", path);
	}
	return 0;
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

	if ((error = vault_docs__case_load(&cc, txn, v, j->code, j->need_rw)) < 0)
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

/* ---- mkdir, move, remove, restore --------------------------------------- */

typedef struct {
	vpath p, q;
	const char *path, *path2;
	uint32_t version;
	int64_t mtime, atime;        /* nanoseconds */
	uint32_t mode;
	int has_mtime, has_atime, has_mode;
} op_ctx;

static int mkdir_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	op_ctx *oc = payload;
	node_rec parent, n;
	unsigned char *key = NULL;
	uint64_t id;
	const char *name = oc->p.name[oc->p.n - 1];
	size_t nlen = oc->p.len[oc->p.n - 1];
	int fresh, error;

	if ((error = vault_docs__resolve(&parent, txn, v, cc, &oc->p, oc->p.n - 1, oc->path)) < 0)
		return error;
	if (parent.type != NODE_DIR)
		return vault_error_set(VAULT_ENOTFOUND, "'%s': its folder is a file", oc->path);
	error = vault_docs__child_lookup(&id, txn, v, cc, parent.id, name, nlen);
	if (error == 0)
		return vault_error_set(VAULT_EEXISTS, "'%s' already exists", oc->path);
	if (error != VAULT_ENOTFOUND)
		return error;
	memset(&n, 0, sizeof n);
	randombytes_buf(&n.id, sizeof n.id);
	n.type = NODE_DIR;
	n.state = NODE_LIVE;
	n.mode = NODE_DIR_MODE;
	n.parent = parent.id;
	n.mtime = n.ctime = n.atime = vault_time__now_ns();
	snprintf(n.code, sizeof n.code, "%s", cc->c.code);
	if ((error = vault_docs__node_key_for_write(&key, &fresh, txn, v, &cc->c, &n)) < 0)
		return error;
	vault_docs__name_seal(&n, name, nlen, key);
	error = vault_docs__nodekey_put(txn, v, &cc->c, n.id, n.generation, key);
	vault_vcrypto__key_free(key);
	if (error < 0 || (error = vault_node__put(txn, v, &n)) < 0 ||
	    (error = vault_docs__dirent_put(txn, v, cc, parent.id, name, nlen, n.id)) < 0 ||
	    (error = vault_docs__folder_changed(ev, v, txn, parent.id, 1)) < 0)
		return error;
	ev->node = n.id;
	return vault_event__touch_node(ev, v, txn, n.id);
}

static int op_start(op_ctx *oc, vault *v, const char *path, int need_name)
{
	int error;

	memset(oc, 0, sizeof *oc);
	oc->path = path;
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if ((error = vault_docs__path_parse(&oc->p, path)) < 0)
		return error;
	if (need_name && oc->p.n == 0)
		return vault_error_set(VAULT_EUSAGE, "'%s' names a case folder, which cannot be changed", path);
	return vault_docs__settle_before_write(v, oc->p.code);
}

int vault_mkdir(vault *v, const char *path)
{
	op_ctx oc;
	int error;

	if ((error = op_start(&oc, v, path, 1)) < 0)
		return error;
	return vault_docs__event(v, "mkdir", oc.p.code, 1, mkdir_fn, NULL, &oc);
}

static int move_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	op_ctx *oc = payload;
	node_rec n, to_parent, up;
	unsigned char *key = NULL;
	uint64_t id;
	const char *name = oc->q.name[oc->q.n - 1];
	size_t nlen = oc->q.len[oc->q.n - 1];
	int fresh, error;

	if ((error = vault_docs__resolve(&n, txn, v, cc, &oc->p, oc->p.n, oc->path)) < 0)
		return error;
	if ((error = vault_docs__resolve(&to_parent, txn, v, cc, &oc->q, oc->q.n - 1, oc->path2)) < 0)
		return error;
	if (to_parent.type != NODE_DIR)
		return vault_error_set(VAULT_ENOTFOUND, "'%s': its folder is a file", oc->path2);
	error = vault_docs__child_lookup(&id, txn, v, cc, to_parent.id, name, nlen);
	if (error == 0)
		return vault_error_set(VAULT_EEXISTS, "'%s' already exists", oc->path2);
	if (error != VAULT_ENOTFOUND)
		return error;
	/* A folder cannot move into itself. Folders nest PATH_MAX_DEPTH deep at
	 * most: a longer way up is a loop that edited records made. */
	up = to_parent;
	for (int depth = 0; ; depth++) {
		if (up.id == n.id)
			return vault_error_set(VAULT_EUSAGE, "'%s' cannot move into itself", oc->path);
		if (!up.parent)
			break;
		if (depth > PATH_MAX_DEPTH)
			return vault_error_set(VAULT_ECORRUPT, "the folders above '%s' form a loop", oc->path2);
		if ((error = vault_node__get(&up, txn, v, up.parent)) < 0)
			return error;
	}
	if ((error = vault_docs__dirent_del(txn, v, cc, n.parent, oc->p.name[oc->p.n - 1],
	    oc->p.len[oc->p.n - 1])) < 0)
		return error;
	if ((error = vault_docs__node_key_for_write(&key, &fresh, txn, v, &cc->c, &n)) < 0)
		return error;
	vault_docs__name_seal(&n, name, nlen, key);
	if (fresh && (error = vault_docs__nodekey_put(txn, v, &cc->c, n.id, n.generation, key)) < 0) {
		vault_vcrypto__key_free(key);
		return error;
	}
	vault_vcrypto__key_free(key);
	if ((error = vault_docs__folder_changed(ev, v, txn, n.parent, n.type == NODE_DIR ? -1 : 0)) < 0)
		return error;
	n.parent = to_parent.id;
	n.ctime = vault_time__now_ns();
	if ((error = vault_node__put(txn, v, &n)) < 0 ||
	    (error = vault_docs__dirent_put(txn, v, cc, to_parent.id, name, nlen, n.id)) < 0 ||
	    (error = vault_docs__folder_changed(ev, v, txn, to_parent.id, n.type == NODE_DIR)) < 0)
		return error;
	ev->node = n.id;
	ev->version = n.version;
	return vault_event__touch_node(ev, v, txn, n.id);
}

int vault_move(vault *v, const char *from, const char *to)
{
	op_ctx oc;
	int error;

	if ((error = op_start(&oc, v, from, 1)) < 0)
		return error;
	oc.path2 = to;
	if ((error = vault_docs__path_parse(&oc.q, to)) < 0)
		return error;
	if (oc.q.n == 0)
		return vault_error_set(VAULT_EUSAGE, "'%s' names a case folder", to);
	if (strcmp(oc.p.code, oc.q.code))
		return vault_error_set(VAULT_EUSAGE, "'%s' and '%s' are in different cases", from, to);
	return vault_docs__event(v, "move", oc.p.code, 1, move_fn, NULL, &oc);
}

static int has_children(MDB_txn *txn, vault *v, uint64_t id)
{
	MDB_cursor *cur;
	MDB_val k, d;
	unsigned char prefix[8];
	int found = 0;

	be64_put(prefix, id);
	if (mdb_cursor_open(txn, v->st->dirents, &cur) != 0)
		return 1;
	k.mv_size = 8;
	k.mv_data = prefix;
	if (mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE) == 0 && k.mv_size >= 8 && !memcmp(k.mv_data, prefix, 8))
		found = 1;
	mdb_cursor_close(cur);
	return found;
}

static int remove_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	op_ctx *oc = payload;
	node_rec n;
	int error;

	if ((error = vault_docs__resolve(&n, txn, v, cc, &oc->p, oc->p.n, oc->path)) < 0)
		return error;
	if (n.type == NODE_DIR && has_children(txn, v, n.id))
		return vault_error_set(VAULT_ENOTEMPTY, "folder '%s' is not empty", oc->path);
	if ((error = vault_docs__dirent_del(txn, v, cc, n.parent, oc->p.name[oc->p.n - 1],
	    oc->p.len[oc->p.n - 1])) < 0)
		return error;
	n.state = NODE_DELETED;
	n.ctime = vault_time__now_ns();
	if ((error = vault_node__put(txn, v, &n)) < 0 ||
	    (error = vault_docs__folder_changed(ev, v, txn, n.parent, n.type == NODE_DIR ? -1 : 0)) < 0)
		return error;
	ev->node = n.id;
	ev->version = n.version;
	return vault_event__touch_node(ev, v, txn, n.id);
}

int vault_remove(vault *v, const char *path)
{
	op_ctx oc;
	int error;

	if ((error = op_start(&oc, v, path, 1)) < 0)
		return error;
	return vault_docs__event(v, "delete", oc.p.code, 1, remove_fn, NULL, &oc);
}

static int touch_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	op_ctx *oc = payload;
	node_rec n;
	int error;

	if ((error = vault_docs__resolve(&n, txn, v, cc, &oc->p, oc->p.n, oc->path)) < 0)
		return error;
	if ((!oc->has_mtime || n.mtime == oc->mtime) && (!oc->has_atime || n.atime == oc->atime) &&
	    (!oc->has_mode || n.mode == oc->mode))
		return 1;        /* nothing changes: no event */
	if (oc->has_mtime)
		n.mtime = oc->mtime;
	if (oc->has_atime)
		n.atime = oc->atime;
	if (oc->has_mode)
		n.mode = oc->mode;
	n.ctime = vault_time__now_ns();
	if ((error = vault_node__put(txn, v, &n)) < 0)
		return error;
	ev->node = n.id;
	return vault_event__touch_node(ev, v, txn, n.id);
}

/* A change of time or mode: a `touch` event, none if nothing changes. */
static int set_attr(vault *v, const char *path, const vault_time *atime, const vault_time *mtime,
	const uint32_t *mode)
{
	op_ctx oc;
	int error;

	if (mode && *mode > 07777)
		return vault_error_set(VAULT_EUSAGE, "mode %o of '%s' is out of range", *mode, path);
	if ((error = op_start(&oc, v, path, 0)) < 0)
		return error;
	if ((oc.has_mtime = mtime != NULL))
		vault_time__to_ns(&oc.mtime, mtime);     /* checked by the caller */
	if ((oc.has_atime = atime != NULL))
		vault_time__to_ns(&oc.atime, atime);
	if ((oc.has_mode = mode != NULL))
		oc.mode = *mode;
	error = vault_docs__event(v, "touch", oc.p.code, 1, touch_fn, NULL, &oc);
	return error > 0 ? 0 : error;
}

int vault_set_times(vault *v, const char *path, const vault_time *atime, const vault_time *mtime)
{
	int64_t ns;

	if ((atime && vault_time__to_ns(&ns, atime) < 0) || (mtime && vault_time__to_ns(&ns, mtime) < 0))
		return vault_error_set(VAULT_EUSAGE,
			"a time of '%s' has more than a second of nanoseconds, or is more than %lld seconds from 1970",
			path, VAULT_TIME_SEC_MAX);
	return set_attr(v, path, atime, mtime, NULL);
}

int vault_chmod(vault *v, const char *path, uint32_t mode)
{
	return set_attr(v, path, NULL, NULL, &mode);
}

int vault_stat(vault_stat_info *out, vault *v, const char *path)
{
	MDB_txn *txn = NULL;
	case_ctx cc;
	vpath p;
	node_rec n;
	int error;

	memset(out, 0, sizeof *out);
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if ((error = vault_docs__path_parse(&p, path)) < 0)
		return error;
	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	if ((error = vault_docs__case_load(&cc, txn, v, p.code, 0)) == 0) {
		if ((error = vault_docs__resolve(&n, txn, v, &cc, &p, p.n, path)) == 0) {
			out->is_dir = n.type == NODE_DIR;
			out->size = n.size;
			vault_time__from_ns(&out->mtime, n.mtime);
			vault_time__from_ns(&out->ctime, n.ctime);
			vault_time__from_ns(&out->atime, n.atime);
			out->folders = n.folders;
			out->version = n.version;
			out->writable = cc.access == 2;
			out->mode = n.mode;
			snprintf(out->node, sizeof out->node, "%016llx", (unsigned long long)n.id);
		}
		vault_docs__case_dispose(&cc);
	}
	vault_store__abort(v->st, txn);
	return error;
}

typedef struct {
	op_ctx oc;
	version_rec r;
	node_rec n;
} restore_ctx;

static int restore_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	restore_ctx *rc = payload;
	int error;

	if ((error = vault_docs__resolve(&rc->n, txn, v, cc, &rc->oc.p, rc->oc.p.n, rc->oc.path)) < 0)
		return error;
	if (rc->n.type != NODE_FILE)
		return vault_error_set(VAULT_EUSAGE, "'%s' is a folder", rc->oc.path);
	if (rc->oc.version == 0 || rc->oc.version > rc->n.version)
		return vault_error_set(VAULT_ENOTFOUND, "'%s' has no version %u (it has %u)",
			rc->oc.path, rc->oc.version, rc->n.version);
	if ((error = vault_version__get(&rc->r, txn, v, rc->n.id, rc->oc.version)) < 0)
		return error;
	/* The new version shares every block of the old one. */
	rc->n.version++;
	rc->n.size = rc->r.size;
	rc->n.mtime = rc->n.ctime = vault_time__now_ns();
	rc->r.mtime = vault_time__sec(rc->n.mtime);
	vault_version__commitment(rc->n.commitment, &rc->r);
	if ((error = vault_node__put(txn, v, &rc->n)) < 0)
		return error;
	ev->node = rc->n.id;
	ev->version = rc->n.version;
	return vault_event__touch_node(ev, v, txn, rc->n.id);
}

static int restore_post(vault *v, MDB_txn *txn, const git_oid *commit, void *payload)
{
	restore_ctx *rc = payload;

	memcpy(rc->r.commit, commit->id, 20);
	return vault_version__put(txn, v, rc->n.id, rc->n.version, &rc->r);
}

int vault_restore(uint32_t *version_out, vault *v, const char *path, uint32_t version)
{
	restore_ctx rc;
	int error;

	if (version_out)
		*version_out = 0;
	memset(&rc, 0, sizeof rc);
	if ((error = op_start(&rc.oc, v, path, 1)) < 0)
		return error;
	rc.oc.version = version;
	error = vault_docs__event(v, "restore", rc.oc.p.code, 1, restore_fn, restore_post, &rc);
	vault_version__dispose(&rc.r);
	if (error == 0 && version_out)
		*version_out = rc.n.version;
	return error;
}

/* ---- list and history --------------------------------------------------- */

void vault_docs__entry_of(vault_entry *e, char hex[17], const node_rec *n, const char *name, int writable)
{
	snprintf(hex, 17, "%016llx", (unsigned long long)n->id);
	e->name = name;
	e->is_dir = n->type == NODE_DIR;
	e->size = n->size;
	vault_time__from_ns(&e->mtime, n->mtime);
	vault_time__from_ns(&e->ctime, n->ctime);
	vault_time__from_ns(&e->atime, n->atime);
	e->folders = n->folders;
	e->version = n->version;
	e->node = hex;
	e->mode = n->mode;
	e->writable = writable;
}

typedef struct {
	char name[VAULT_FILENAME_MAX + 1];
	node_rec n;
} list_item;

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const list_item *)a)->name, ((const list_item *)b)->name);
}

int vault_list(vault *v, const char *path, int (*cb)(const vault_entry *, void *), void *payload)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	case_ctx cc;
	vpath p;
	node_rec dir;
	list_item *items = NULL;
	size_t n = 0, cap = 0;
	unsigned char prefix[8], *key = NULL;
	int error, loaded = 0, rc;

	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if ((error = vault_docs__path_parse(&p, path)) < 0)
		return error;
	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	if ((error = vault_docs__case_load(&cc, txn, v, p.code, 0)) < 0)
		goto done;
	loaded = 1;
	if ((error = vault_docs__resolve(&dir, txn, v, &cc, &p, p.n, path)) < 0)
		goto done;
	if (dir.type != NODE_DIR) {
		error = vault_error_set(VAULT_EUSAGE, "'%s' is a file; use 'history' or 'get'", path);
		goto done;
	}
	/* One piece of secret memory for every entry's node key. */
	if ((error = vault_vcrypto__secret_alloc(&key, VCRYPTO_KEYBYTES)) < 0)
		goto done;
	be64_put(prefix, dir.id);
	if ((rc = mdb_cursor_open(txn, v->st->dirents, &cur)) != 0) {
		error = vault_store__error(rc, "list");
		goto done;
	}
	k.mv_size = 8;
	k.mv_data = prefix;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size != 24 || memcmp(k.mv_data, prefix, 8))
			break;
		if (d.mv_size != 9) {
			error = vault_error_set(VAULT_ECORRUPT, "a folder entry of '%s' is damaged", path);
			goto done;
		}
		if (n == cap) {
			void *t = realloc(items, (cap = cap ? cap * 2 : 32) * sizeof *items);
			if (!t) {
				error = vault_error_set_oom();
				goto done;
			}
			items = t;
		}
		if ((error = vault_node__get(&items[n].n, txn, v, be64_get((unsigned char *)d.mv_data + 1))) < 0 ||
		    (error = vault_docs__name_open(items[n].name, key, txn, v, &cc.c, &items[n].n)) < 0)
			goto done;
		if (items[n].n.parent != dir.id || strcmp(items[n].n.code, cc.c.code)) {
			error = vault_error_set(VAULT_ECORRUPT, "a folder entry of '%s' points to a foreign node", path);
			goto done;
		}
		n++;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	vault_store__abort(v->st, txn);
	txn = NULL;
	if (n)
		qsort(items, n, sizeof *items, item_cmp);
	for (size_t i = 0; i < n; i++) {
		vault_entry e;
		char hex[17];
		vault_docs__entry_of(&e, hex, &items[i].n, items[i].name, cc.access == 2);
		if ((error = cb(&e, payload)) != 0)
			goto done;
	}
	error = 0;
done:
	if (items) {
		sodium_memzero(items, cap * sizeof *items);
		free(items);
	}
	if (cur)
		mdb_cursor_close(cur);
	if (loaded)
		vault_docs__case_dispose(&cc);
	vault_store__abort(v->st, txn);
	return error;
}

int vault_history(vault *v, const char *path, int (*cb)(const vault_version_info *, void *), void *payload)
{
	MDB_txn *txn = NULL;
	case_ctx cc;
	vpath p;
	node_rec n;
	int error, loaded = 0;

	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if ((error = vault_docs__path_parse(&p, path)) < 0)
		return error;
	if (p.n == 0)
		return vault_error_set(VAULT_EUSAGE, "'%s' names a case, not a file", path);
	if ((error = vault_event__begin_walk(&txn, v)) < 0)
		return error;
	if ((error = vault_docs__case_load(&cc, txn, v, p.code, 0)) < 0)
		goto done;
	loaded = 1;
	if ((error = vault_docs__resolve(&n, txn, v, &cc, &p, p.n, path)) < 0)
		goto done;
	if (n.type != NODE_FILE) {
		error = vault_error_set(VAULT_EUSAGE, "'%s' is a folder", path);
		goto done;
	}
	for (uint32_t ver = 1; ver <= n.version; ver++) {
		vault_version_info info;
		version_rec r;
		git_commit *c = NULL;
		git_oid oid;
		char hex[VAULT_OID_SIZE], actor[VAULT_NAME_MAX + 1] = "";

		if ((error = vault_version__get(&r, txn, v, n.id, ver)) < 0)
			goto done;
		git_oid_fromraw(&oid, r.commit);
		git_oid_tostr(hex, sizeof hex, &oid);
		if (git_commit_lookup(&c, v->repo, &oid) == 0) {
			snprintf(actor, sizeof actor, "%s", git_commit_author(c)->name);
			git_commit_free(c);
		}
		info.version = ver;
		info.time = r.mtime;
		info.actor = actor;
		info.size = r.size;
		info.commit = hex;
		vault_version__dispose(&r);
		if ((error = cb(&info, payload)) != 0)
			goto done;
	}
done:
	if (loaded)
		vault_docs__case_dispose(&cc);
	vault_store__abort(v->st, txn);
	return error;
}
