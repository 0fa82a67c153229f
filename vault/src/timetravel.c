/*
 * timetravel — folders and files as they were at a past moment.
 *
 * The state at a moment is the tree of the last event at or before it.
 * Its manifests (nodes/AB/CD/NODEID) are the case's folders and files
 * then: parent, type, state, version, size, time, mode and the sealed
 * name. A folder's entries are the live manifests whose parent it is;
 * their names are opened with the node key of the manifest's name
 * generation, which the member unwraps with the case keys held now (the
 * key chain opens every older epoch). Content is the version the manifest
 * names, read from the versions table once its block list matches the
 * manifest's content commitment.
 *
 * Nothing here changes the state: each look is one read event, committed
 * before anything is shown. What a past listing holds is not cached; the
 * manifests of the case are read again every time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "file.h"
#include "history.h"

#define MANIFEST_MAX 2048        /* a manifest is a few hundred bytes */
#define TIME_SIZE    32

typedef struct {
	node_rec n;
	int named;                   /* 0 not yet, 1 opened, -1 shredded since */
	char name[VAULT_FILENAME_MAX + 1];
} at_node;

typedef struct {
	/* what was asked */
	const char *path;
	vpath p;
	const vault_at_options *o;
	int want_dir;                /* ls: a folder; get: a file */
	char when[TIME_SIZE];        /* the moment, for messages */

	/* the case's live folders and files at that moment */
	vault *v;
	MDB_txn *txn;
	case_rec *c;
	at_node *nodes;
	size_t n, cap;
	unsigned char *key;          /* scratch for node keys (secret memory) */
	int walk_error;

	/* what was found */
	size_t target;               /* index into nodes */
	at_node **kids;              /* ls: the folder's entries, sorted */
	size_t nkids;
} at_ctx;

static void fmt_time(char out[TIME_SIZE], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, TIME_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, TIME_SIZE, "@%lld", (long long)t);
}

static void at_dispose(at_ctx *a)
{
	if (a->nodes) {
		sodium_memzero(a->nodes, a->cap * sizeof *a->nodes);
		free(a->nodes);
	}
	free(a->kids);
	vault_vcrypto__key_free(a->key);
	a->nodes = NULL;
	a->kids = NULL;
	a->key = NULL;
	a->n = a->cap = a->nkids = 0;
}

/* ---- the event at or before the moment ---------------------------------- */

static int commit_at(git_commit **out, at_ctx *a)
{
	git_commit *c = NULL, *parent = NULL;
	char hex[VAULT_OID_SIZE], first[TIME_SIZE];
	MDB_val val;
	git_oid id;
	int error;

	*out = NULL;
	if ((error = vault_meta__get(&val, a->txn, a->v, "head")) < 0 || val.mv_size != 20)
		return error < 0 && error != VAULT_ENOTFOUND ? error :
			vault_error_set(VAULT_ECORRUPT, "the vault has no valid head record");
	git_oid_fromraw(&id, val.mv_data);
	if (git_commit_lookup(&c, a->v->repo, &id) < 0)
		return vault_error_set(VAULT_ECORRUPT, "the head event of the history cannot be read");
	/* Newest first: the first event not after the moment. */
	while (git_commit_time(c) > a->o->at) {
		if (git_commit_parentcount(c) == 0) {
			fmt_time(first, git_commit_time(c));
			git_commit_free(c);
			return vault_error_set(VAULT_ENOTFOUND,
				"the history of the vault begins at %s, after %s", first, a->when);
		}
		if (git_commit_parent(&parent, c, 0) < 0) {
			git_oid_tostr(hex, sizeof hex, git_commit_parent_id(c, 0));
			git_commit_free(c);
			return vault_error_set(VAULT_ECORRUPT, "event %s is missing or damaged in the history", hex);
		}
		git_commit_free(c);
		c = parent;
	}
	*out = c;
	return 0;
}

/* ---- manifests ---------------------------------------------------------- */

/* A number field of a manifest; -1 if absent or not a number. */
static int field_num(uint64_t *out, const char *text, const char *key, int base)
{
	char buf[24], *end;
	const char *s;
	size_t len;

	if ((s = vault_history__field(text, key, &len)) == NULL || len == 0 || len >= sizeof buf ||
	    !((s[0] >= '0' && s[0] <= '9') || (s[0] >= 'a' && s[0] <= 'f')))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtoull(buf, &end, base);
	return *end != '\0' || errno ? -1 : 0;
}

static int field_is(const char *text, const char *key, const char *want)
{
	size_t len;
	const char *s = vault_history__field(text, key, &len);

	return s && len == strlen(want) && !memcmp(s, want, len);
}

/* "name GEN BASE64": the sealed name and its generation. */
static int field_name(node_rec *n, const char *text)
{
	const char *s, *sp;
	size_t len, blen;
	uint64_t gen = 0;

	if ((s = vault_history__field(text, "name", &len)) == NULL)
		return 0;        /* a case folder has none */
	if ((sp = memchr(s, ' ', len)) == NULL || sp == s)
		return -1;
	for (const char *d = s; d < sp; d++) {
		if (*d < '0' || *d > '9' || gen > UINT32_MAX / 10)
			return -1;
		gen = gen * 10 + (uint64_t)(*d - '0');
	}
	if (sodium_base642bin(n->name, sizeof n->name, sp + 1, (size_t)(s + len - sp - 1),
			NULL, &blen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	n->name_gen = (uint32_t)gen;
	n->name_len = blen;
	return 0;
}

/* One manifest of the tree: kept if it is a live node of the case. */
static int manifest_load(at_ctx *a, const git_tree_entry *e)
{
	char text[MANIFEST_MAX], hex[VAULT_OID_SIZE];
	const char *id = git_tree_entry_name(e), *s;
	git_blob *blob = NULL;
	uint64_t u[7];
	node_rec *n;
	size_t size, len;
	char *end;

	git_oid_tostr(hex, sizeof hex, git_tree_entry_id(e));
	if (git_blob_lookup(&blob, a->v->repo, git_tree_entry_id(e)) < 0)
		return vault_error_set(VAULT_ECORRUPT, "manifest of node %s (object %s) cannot be read", id, hex);
	size = (size_t)git_blob_rawsize(blob);
	if (size < sizeof text)
		memcpy(text, git_blob_rawcontent(blob), size);
	git_blob_free(blob);
	if (size >= sizeof text || memchr(text, '\0', size))
		goto bad;
	text[size] = '\0';
	if ((s = vault_history__field(text, "case", &len)) == NULL)
		goto bad;
	if (len != strlen(a->c->code) || memcmp(s, a->c->code, len))
		return 0;        /* another case's */
	if (!field_is(text, "state", "live"))
		return 0;        /* removed (or shredded) by then */
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		at_node *p = calloc(cap, sizeof *p);
		if (p == NULL)
			return vault_error_set_oom();
		if (a->nodes) {
			memcpy(p, a->nodes, a->n * sizeof *p);
			sodium_memzero(a->nodes, a->cap * sizeof *a->nodes);
			free(a->nodes);
		}
		a->nodes = p;
		a->cap = cap;
	}
	n = &a->nodes[a->n].n;
	memset(&a->nodes[a->n], 0, sizeof a->nodes[a->n]);
	errno = 0;
	n->id = strtoull(id, &end, 16);
	if (strlen(id) != 16 || *end != '\0' || errno)
		goto bad;
	if (field_num(&u[0], text, "parent", 16) < 0 || field_num(&u[1], text, "version", 10) < 0 ||
	    field_num(&u[2], text, "size", 10) < 0 || field_num(&u[3], text, "mode", 8) < 0 ||
	    field_num(&u[4], text, "generation", 10) < 0 || u[1] > UINT32_MAX ||
	    u[3] > 07777 || u[4] > UINT32_MAX)
		goto bad;
	/* A time may be negative (set by touch). */
	if ((s = vault_history__field(text, "mtime", &len)) == NULL || len == 0 || len > 30)
		goto bad;
	{
		char t[32];
		memcpy(t, s, len);
		t[len] = '\0';
		errno = 0;
		long long sec = strtoll(t, &end, 10);
		/* Seconds that nanoseconds since 1970 cannot hold are damage. */
		if (errno || !(t[0] == '-' || (t[0] >= '0' && t[0] <= '9')) ||
		    sec > VAULT_TIME_SEC_MAX || sec < -VAULT_TIME_SEC_MAX)
			goto bad;
		n->mtime = (int64_t)sec * VAULT_NS;
		/* SECONDS.NANOSECONDS, nine digits */
		if (*end == '.' && strlen(end + 1) == 9 && strspn(end + 1, "0123456789") == 9)
			n->mtime += strtoll(end + 1, &end, 10);
		if (*end != '\0')
			goto bad;
	}
	if (field_is(text, "type", "dir"))
		n->type = NODE_DIR;
	else if (field_is(text, "type", "file"))
		n->type = NODE_FILE;
	else
		goto bad;
	n->state = NODE_LIVE;
	snprintf(n->code, sizeof n->code, "%s", a->c->code);
	n->parent = u[0];
	n->version = (uint32_t)u[1];
	n->size = u[2];
	n->mode = (uint32_t)u[3];
	n->generation = (uint32_t)u[4];
	if (field_name(n, text) < 0)
		goto bad;
	if (n->type == NODE_FILE &&
	    ((s = vault_history__field(text, "commitment", &len)) == NULL || len != 64 ||
	     sodium_hex2bin(n->commitment, 32, s, len, NULL, NULL, NULL) != 0))
		goto bad;
	a->n++;
	return 0;
bad:
	return vault_error_set(VAULT_ECORRUPT, "manifest of node %s at %s is damaged (object %s)",
		id, a->when, hex);
}

static int walk_cb(const char *root, const git_tree_entry *e, void *payload)
{
	at_ctx *a = payload;

	(void)root;
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	if ((a->walk_error = manifest_load(a, e)) < 0)
		return -1;
	return 0;
}

static int load_nodes(at_ctx *a, git_tree *tree)
{
	git_tree_entry *e = NULL;
	git_tree *nodes = NULL;
	int error = 0;

	if (git_tree_entry_bypath(&e, tree, "nodes") < 0)
		return 0;        /* no folder or file at all yet */
	if (git_tree_entry_type(e) != GIT_OBJECT_TREE ||
	    git_tree_lookup(&nodes, a->v->repo, git_tree_entry_id(e)) < 0) {
		error = vault_error_set(VAULT_ECORRUPT, "the manifests of the event at %s cannot be read", a->when);
		goto done;
	}
	a->walk_error = 0;
	if (git_tree_walk(nodes, GIT_TREEWALK_PRE, walk_cb, a) != 0)
		error = a->walk_error < 0 ? a->walk_error :
			vault_error_set(VAULT_ECORRUPT, "the manifests of the event at %s cannot be read", a->when);
done:
	git_tree_free(nodes);
	git_tree_entry_free(e);
	return error;
}

/* ---- names and paths ---------------------------------------------------- */

static int node_name(at_ctx *a, at_node *an)
{
	node_rec now;
	int error;

	if (an->named)
		return 0;
	/* Shredding destroys a node's keys: its name is gone, by design. */
	if (vault_node__get(&now, a->txn, a->v, an->n.id) == 0 && now.state == NODE_SHREDDED) {
		an->named = -1;
		return 0;
	}
	if ((error = vault_docs__name_open(an->name, a->key, a->txn, a->v, a->c, &an->n)) < 0)
		return error;
	an->named = 1;
	return 0;
}

static int find_node(size_t *out, const at_ctx *a, uint64_t id)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->nodes[i].n.id == id) {
			*out = i;
			return 0;
		}
	return VAULT_ENOTFOUND;
}

/* Walk the path from the case folder `root` through the nodes of then. */
static int resolve(at_ctx *a, uint64_t root)
{
	size_t cur, i, j;
	int error;

	if (find_node(&cur, a, root) < 0 || a->nodes[cur].n.type != NODE_DIR)
		return vault_error_set(VAULT_ECORRUPT, "the folder of case '%s' is missing from the history at %s",
			a->c->code, a->when);
	for (i = 0; i < a->p.n; i++) {
		if (a->nodes[cur].n.type != NODE_DIR)
			return vault_error_set(VAULT_ENOTFOUND, "'%s': '%.*s' was a file, not a folder, at %s",
				a->path, (int)a->p.len[i - 1], a->p.name[i - 1], a->when);
		for (j = 0; j < a->n; j++) {
			at_node *an = &a->nodes[j];
			if (an->n.parent != a->nodes[cur].n.id || j == cur)
				continue;
			if ((error = node_name(a, an)) < 0)
				return error;
			if (an->named == 1 && strlen(an->name) == a->p.len[i] &&
			    !memcmp(an->name, a->p.name[i], a->p.len[i]))
				break;
		}
		if (j == a->n)
			return vault_error_set(VAULT_ENOTFOUND, "'%s' did not exist at %s", a->path, a->when);
		cur = j;
	}
	a->target = cur;
	return 0;
}

static int kid_cmp(const void *x, const void *y)
{
	return strcmp((*(at_node *const *)x)->name, (*(at_node *const *)y)->name);
}

/* The entries of the target folder, by name. */
static int collect_kids(at_ctx *a)
{
	uint64_t dir = a->nodes[a->target].n.id;
	int error;

	if ((a->kids = calloc(a->n ? a->n : 1, sizeof *a->kids)) == NULL)
		return vault_error_set_oom();
	for (size_t j = 0; j < a->n; j++) {
		at_node *an = &a->nodes[j];
		if (an->n.parent != dir || j == a->target)
			continue;
		if ((error = node_name(a, an)) < 0)
			return error;
		if (an->named == 1)
			a->kids[a->nkids++] = an;
	}
	if (a->nkids)
		qsort(a->kids, a->nkids, sizeof *a->kids, kid_cmp);
	return 0;
}

/* The version a file manifest names must be the one in the versions table. */
static int check_version(at_ctx *a, const node_rec *n)
{
	version_rec r;
	unsigned char got[32];
	int error;

	if (n->version == 0) {
		memset(&r, 0, sizeof r);
	} else if ((error = vault_version__get(&r, a->txn, a->v, n->id, n->version)) < 0) {
		if (error == VAULT_ENOTFOUND)
			error = vault_error_set(VAULT_ECORRUPT, "the record of '%s' version %u is missing",
				a->path, n->version);
		return error;
	}
	vault_version__commitment(got, &r);
	error = 0;
	if (sodium_memcmp(got, n->commitment, sizeof got) != 0 || r.size != n->size)
		error = vault_error_set(VAULT_ECORRUPT,
			"version %u of '%s' does not match the signed history (node %016llx)",
			n->version, a->path, (unsigned long long)n->id);
	vault_version__dispose(&r);
	return error;
}

/* ---- the read event ----------------------------------------------------- */

static int at_event_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	at_ctx *a = payload;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	vault_buf pol = VAULT_BUF_INIT;
	char ppath[64];
	uint64_t root;
	const node_rec *t;
	int error;

	if ((error = vault_purposes__check(txn, v, a->o->purpose)) < 0)
		return error;
	a->v = v;
	a->txn = txn;
	a->c = &cc->c;
	if ((error = commit_at(&c, a)) < 0)
		goto done;
	if (git_commit_tree(&tree, c) < 0) {
		error = vault_error_set(VAULT_ECORRUPT, "the tree of the event at %s cannot be read", a->when);
		goto done;
	}
	vault_case__path(ppath, cc->c.code);
	error = vault_history__blob(&pol, tree, ppath, v);
	if (error == VAULT_ENOTFOUND) {
		error = vault_error_set(VAULT_ENOTFOUND, "case '%s' did not exist at %s", cc->c.code, a->when);
		goto done;
	}
	if (error < 0)
		goto done;
	if (field_num(&root, pol.ptr, "root", 16) < 0) {
		error = vault_error_set(VAULT_ECORRUPT, "the policy of case '%s' at %s names no folder",
			cc->c.code, a->when);
		goto done;
	}
	if ((error = load_nodes(a, tree)) < 0 ||
	    (error = vault_vcrypto__secret_alloc(&a->key, VCRYPTO_KEYBYTES)) < 0 ||
	    (error = resolve(a, root)) < 0)
		goto done;
	t = &a->nodes[a->target].n;
	if (a->want_dir && t->type != NODE_DIR) {
		error = vault_error_set(VAULT_EUSAGE, "'%s' was a file at %s; use 'get --at'", a->path, a->when);
		goto done;
	}
	if (!a->want_dir && t->type != NODE_FILE) {
		error = vault_error_set(VAULT_EUSAGE, "'%s' was a folder at %s; use 'ls --at'", a->path, a->when);
		goto done;
	}
	if ((error = a->want_dir ? collect_kids(a) : check_version(a, t)) < 0)
		goto done;
	ev->node = t->id;
	ev->version = a->want_dir ? 0 : t->version;
	ev->purpose = a->o->purpose;
	ev->at = a->when;
	if (a->o->note && *a->o->note)
		error = vault_event__seal_note(ev, v, txn, a->o->note);
done:
	vault_buf_dispose(&pol);
	git_tree_free(tree);
	git_commit_free(c);
	return error;
}

static int at_start(at_ctx *a, vault *v, const char *path, const vault_at_options *o, int want_dir)
{
	int error;

	memset(a, 0, sizeof *a);
	if (!o || o->version != VAULT_AT_OPTIONS_VERSION)
		return vault_error_set(VAULT_EUSAGE, "'%s': time travel options of an unknown version", path);
	a->path = path;
	a->o = o;
	a->want_dir = want_dir;
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if ((error = vault_docs__path_parse(&a->p, path)) < 0)
		return error;
	if (!want_dir && a->p.n == 0)
		return vault_error_set(VAULT_EUSAGE, "'%s' names a case, not a file", path);
	fmt_time(a->when, o->at);
	/* What the vault will hold then is not known yet. */
	if (o->at > vault_time__now())
		return vault_error_set(VAULT_EUSAGE, "%s is in the future", a->when);
	return vault_docs__event(v, "read", a->p.code, 0, at_event_fn, NULL, a);
}

int vault_list_at(vault *v, const char *path, const vault_at_options *o,
	int (*cb)(const vault_stat_info *, void *), void *payload)
{
	at_ctx a;
	int error;

	if ((error = at_start(&a, v, path, o, 1)) < 0)
		goto done;
	for (size_t i = 0; i < a.nkids; i++) {
		vault_stat_info e;
		vault_docs__entry_of(&e, &a.kids[i]->n, a.kids[i]->name, 0);
		if ((error = cb(&e, payload)) != 0)
			goto done;
	}
	error = 0;
done:
	at_dispose(&a);
	return error;
}

int vault_get_at(uint32_t *version_out, vault *v, const char *path, const vault_at_options *o,
	vault_write_fn fn, void *payload)
{
	vault_file *f = NULL;
	at_ctx a;
	node_rec t;
	int error;

	if (version_out)
		*version_out = 0;
	memset(&t, 0, sizeof t);
	error = at_start(&a, v, path, o, 0);
	if (error == 0)
		t = a.nodes[a.target].n;
	at_dispose(&a);
	if (error < 0)
		return error;
	if (version_out)
		*version_out = t.version;
	if (t.version == 0)
		return 0;        /* created empty, never written */
	if ((error = vault_stream__open_version(&f, v, path, t.code, t.id, t.version, t.commitment)) == 0)
		error = vault_stream__get(f, fn, payload);
	vault_file_close(f);
	sodium_memzero(&t, sizeof t);
	return error;
}
