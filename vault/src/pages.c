/*
 * pages — every page of the vault file is used once.
 *
 * LMDB keeps a list of the pages no snapshot still needs and hands them
 * to the next write. A damaged list that names a page in use lets that
 * write overwrite a page some table still points to: the harm shows
 * later, as a record that cannot be read. So `audit verify` accounts for
 * every page of its snapshot, as LMDB's own debug audit does: each page
 * from 2 to the last is either in exactly one table's tree (a branch, a
 * leaf, or one of a large value's overflow pages) or listed free, never
 * both, never twice, never neither.
 *
 * The trees are walked from their roots in the map, page by page (the
 * public API shows leaves and values, not branch pages): LMDB 0.9's page
 * layout, fixed by its file format, with every offset and page number
 * checked before it is followed. The free lists are read through LMDB.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "store.h"

/* LMDB 0.9's page: a 16-byte header, then 2-byte node offsets. */
#define PAGE_HEADER   16
#define PAGE_BRANCH   0x01
#define PAGE_LEAF     0x02
#define PAGE_OVERFLOW 0x04
#define PAGE_KINDS    0x2f   /* branch, leaf, overflow, meta, fixed-size leaf */
#define NODE_HEADER   8      /* lo, hi, flags, key size: 2 bytes each */
#define NODE_BIG      0x01   /* the value lies in overflow pages */
#define NODE_TABLE    0x02   /* the value is a table's record (MDB_db) */
#define TABLE_RECORD  48     /* MDB_db: its root is its last 8 bytes */
#define TABLE_ROOT    40
#define NO_PAGE       UINT64_MAX
#define MAX_DEPTH     32

/* The meta page's two table records (free pages, then the table of
 * tables), its last page and its transaction id. */
#define META_FREE_ROOT (PAGE_HEADER + 24 + TABLE_ROOT)
#define META_MAIN_ROOT (PAGE_HEADER + 24 + TABLE_RECORD + TABLE_ROOT)
#define META_LAST_PAGE (PAGE_HEADER + 24 + 2 * TABLE_RECORD)
#define META_TXNID     (META_LAST_PAGE + 8)

typedef struct {
	const unsigned char *map;
	unsigned int psize;
	uint64_t last;                   /* the snapshot's last page */
	unsigned char *seen;             /* a bit per page; NULL: pages a write changes */
	int ordered;                     /* those pages' keys in LMDB's order */
} page_walk;

static uint16_t get16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

#define PAGE(pgno) ((unsigned long long)(pgno))

/* What uses a page: each has its sentence when the page is used twice. */
enum page_use { USE_VALUE, USE_TREE, USE_FREE };

/* Page `pgno` is used once more: by a tree (or listed free). */
static int mark(page_walk *w, uint64_t pgno, enum page_use use)
{
	if (pgno < 2 || pgno > w->last)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu lies outside the file's pages", PAGE(pgno));
	if (!(w->seen[pgno / 8] & (1u << (pgno % 8)))) {
		w->seen[pgno / 8] |= (unsigned char)(1u << (pgno % 8));
		return 0;
	}
	switch (use) {
	case USE_VALUE:
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu is used twice (a value's page)", PAGE(pgno));
	case USE_TREE:
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu is used twice (a tree's page)", PAGE(pgno));
	default:
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu is listed free while in use", PAGE(pgno));
	}
}

/*
 * A leaf's record `at` bytes into it lies within it; a large one's first
 * page starts at least as many pages as its size needs (more where LMDB
 * wrote a shorter value over a longer one in the same transaction: it
 * keeps the longer run), all in the file. *run: the pages of that run
 * (LMDB frees that many when the record goes), 0 for a record in the leaf.
 */
static int record_sound(uint64_t *run, const page_walk *w, uint64_t pgno,
	const unsigned char *page, size_t at)
{
	const unsigned char *node = page + at, *big;
	uint64_t size = get16(node) | (uint64_t)get16(node + 2) << 16, first, n;
	uint16_t flags = get16(node + 4);
	size_t data = at + NODE_HEADER + get16(node + 6);

	*run = 0;
	if (flags & ~(NODE_BIG | NODE_TABLE))
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"holds a record of an unknown kind", PAGE(pgno));
	if (!(flags & NODE_BIG) ? size > w->psize - data : data + 8 > w->psize)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"holds a record that runs past its end", PAGE(pgno));
	if (!(flags & NODE_BIG))
		return 0;
	first = get64(page + data);
	n = (PAGE_HEADER - 1 + size) / w->psize + 1;
	if (first < 2 || first > w->last || n > w->last - first + 1)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"starts a value that runs past the file's pages", PAGE(first));
	big = w->map + first * w->psize;
	*run = get16(big + 12) | (uint64_t)get16(big + 14) << 16;
	if (get64(big) != first || (get16(big + 10) & PAGE_KINDS) != PAGE_OVERFLOW ||
	    *run < n || *run > w->last - first + 1)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"is not the first page of the value that names it", PAGE(first));
	return 0;
}

static int walk_tree(page_walk *w, uint64_t pgno, int depth);

/* One node of a leaf, `at` bytes into it: its value's overflow pages, or a
 * table's tree. */
static int walk_leaf_node(page_walk *w, uint64_t pgno, const unsigned char *page, size_t at,
	int depth)
{
	const unsigned char *node = page + at;
	uint64_t size = get16(node) | (uint64_t)get16(node + 2) << 16, run;
	size_t data = at + NODE_HEADER + get16(node + 6);
	int error;

	if ((error = record_sound(&run, w, pgno, page, at)) < 0)
		return error;
	/* A large value's pages: the run its first page counts. */
	for (uint64_t i = 0; i < run; i++)
		if ((error = mark(w, get64(page + data) + i, USE_VALUE)) < 0)
			return error;
	if (run || !(get16(node + 4) & NODE_TABLE))
		return 0;
	if (size != TABLE_RECORD)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"holds a table record of the wrong size", PAGE(pgno));
	if (get64(page + data + TABLE_ROOT) == NO_PAGE)
		return 0;
	return walk_tree(w, get64(page + data + TABLE_ROOT), depth + 1);
}

/*
 * Page `pgno` of a tree as LMDB reads it: its number, a branch or a leaf,
 * its header's offsets, and each node's key within it. Sets *page, *kind
 * and *n (its nodes).
 */
static int page_sound(const unsigned char **page_out, uint16_t *kind_out, unsigned int *n_out,
	const page_walk *w, uint64_t pgno)
{
	const unsigned char *page;
	uint16_t kind, lower, upper;

	if (pgno < 2 || pgno > w->last)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"lies outside the file's pages", PAGE(pgno));
	page = w->map + pgno * w->psize;
	/* What the page is; LMDB's in-memory marks (dirty, kept, loose) aside. */
	kind = get16(page + 10) & PAGE_KINDS;
	lower = get16(page + 12);
	upper = get16(page + 14);
	if (get64(page) != pgno)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"holds another page's number", PAGE(pgno));
	if ((kind != PAGE_BRANCH && kind != PAGE_LEAF) || lower < PAGE_HEADER || lower % 2 ||
	    lower > upper || upper > w->psize)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"has a damaged header", PAGE(pgno));
	for (unsigned int i = 0; i < (lower - PAGE_HEADER) / 2u; i++) {
		size_t at = get16(page + PAGE_HEADER + 2 * i);

		if (at < upper || at + NODE_HEADER > w->psize ||
		    at + NODE_HEADER + get16(page + at + 6) > w->psize)
			return vault_error_set(VAULT_ECORRUPT,
				"the vault file is damaged: page %llu "
				"points past its end", PAGE(pgno));
	}
	*page_out = page;
	*kind_out = kind;
	*n_out = (lower - PAGE_HEADER) / 2u;
	return 0;
}

/* Node `i` of a sound page, and what a branch's node points to. */
static const unsigned char *node_at(const unsigned char *page, unsigned int i)
{
	return page + get16(page + PAGE_HEADER + 2 * i);
}

static uint64_t node_child(const unsigned char *node)
{
	return get16(node) | (uint64_t)get16(node + 2) << 16 | (uint64_t)get16(node + 4) << 32;
}

static int page_changeable(const unsigned char **page, uint16_t *kind, unsigned int *n,
	const page_walk *w, uint64_t pgno, int ordered);

/*
 * The page `pgno` of a tree, then what it points to: each page used once
 * (w->seen). Without w->seen, each page of the tree one that LMDB may
 * change (below), its keys in order if w->ordered; tables' trees named in
 * a leaf are not followed.
 */
static int walk_tree(page_walk *w, uint64_t pgno, int depth)
{
	const unsigned char *page;
	unsigned int n;
	uint16_t kind;
	int error;

	if (depth > MAX_DEPTH)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"lies deeper than any tree reaches", PAGE(pgno));
	if (w->seen ? (error = mark(w, pgno, USE_TREE)) < 0 ||
			(error = page_sound(&page, &kind, &n, w, pgno)) < 0 :
	    (error = page_changeable(&page, &kind, &n, w, pgno, w->ordered)) < 0)
		return error;
	for (unsigned int i = 0; i < n && (kind == PAGE_BRANCH || w->seen); i++) {
		if (kind == PAGE_BRANCH)
			error = walk_tree(w, node_child(node_at(page, i)), depth + 1);
		else
			error = walk_leaf_node(w, pgno, page, (size_t)(node_at(page, i) - page), depth);
		if (error < 0)
			return error;
	}
	return 0;
}

/* Each free list, read through LMDB, after the trees. */
static int mark_free(page_walk *w, MDB_txn *txn)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc, error = 0;

	if ((rc = mdb_cursor_open(txn, 0, &cur)) != 0)
		return vault_error_set(VAULT_ERROR, "check the vault file's pages: %s", mdb_strerror(rc));
	while (error == 0 && (rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		const unsigned char *ids = d.mv_data;
		uint64_t n = d.mv_size / 8;

		/* A count, then the page numbers (the open checked the form). */
		for (uint64_t i = 1; i < n && error == 0; i++)
			error = mark(w, get64(ids + 8 * i), USE_FREE);
	}
	mdb_cursor_close(cur);
	if (error == 0 && rc != MDB_NOTFOUND)
		error = vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: its free pages cannot be read (%s)", mdb_strerror(rc));
	return error;
}

/* The pages no tree and no free list has: a sound file has none. */
static int unaccounted(const page_walk *w)
{
	for (uint64_t p = 2; p <= w->last; p++)
		if (!(w->seen[p / 8] & (1u << (p % 8))))
			return vault_error_set(VAULT_ECORRUPT,
				"the vault file is damaged: page %llu "
				"is neither in use nor listed free", PAGE(p));
	return 0;
}

/*
 * The map and the meta page of snapshot `txnid`, for a walk: 0, or
 * VAULT_EBUSY (that meta page was reused: two writes since), or
 * VAULT_ECORRUPT.
 */
static int walk_start(const unsigned char **meta_out, page_walk *w, const vault_store *st,
	uint64_t txnid)
{
	const unsigned char *meta = NULL;

	w->map = (const unsigned char *)st->fault_base;
	w->psize = st->psize;
	w->seen = NULL;
	w->ordered = 1;
	for (int i = 0; i < 2; i++)
		if (get64(w->map + i * w->psize + META_TXNID) == txnid)
			meta = w->map + i * w->psize;
	if (meta == NULL)
		return VAULT_EBUSY;
	w->last = get64(meta + META_LAST_PAGE);
	if (w->last >= st->fault_size / w->psize)   /* not (last + 1) * psize: it wraps */
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"is the last page, past the map", PAGE(w->last));
	*meta_out = meta;
	return 0;
}

int vault_store__check_pages(vault_store *st, MDB_txn *txn)
{
	const unsigned char *meta;
	page_walk w;
	int error;

	if (!st->fault_base || !st->psize)
		return 0;                /* no map found: nothing to walk */
	/* The meta page of this snapshot: the one with its transaction id
	 * (none: two writes since it began, begin again). */
	if ((error = walk_start(&meta, &w, st, (uint64_t)mdb_txn_id(txn))) < 0)
		return error;
	if ((w.seen = calloc(w.last / 8 + 1, 1)) == NULL)
		return vault_error_set_oom();
	if ((error = get64(meta + META_FREE_ROOT) == NO_PAGE ? 0 :
			walk_tree(&w, get64(meta + META_FREE_ROOT), 0)) == 0 &&
	    (error = get64(meta + META_MAIN_ROOT) == NO_PAGE ? 0 :
			walk_tree(&w, get64(meta + META_MAIN_ROOT), 0)) == 0 &&
	    (error = mark_free(&w, txn)) == 0)
		error = unaccounted(&w);
	free(w.seen);
	return error;
}

/*
 * ---- the pages a write changes --------------------------------------------
 *
 * A write transaction copies each page it changes to a buffer of its own
 * (a page's worth of heap) as the page's header says, and then adds,
 * moves and removes nodes there as the header's offsets say: a damaged
 * header or node offset makes LMDB write past that buffer, over whatever
 * the heap holds next, where nothing faults then and the process fails
 * later, anywhere. So before each write, the pages it may change are
 * checked as they lie in the file (a page this transaction already
 * changed is LMDB's own copy of a page checked before): the path from the
 * table's root to the leaf of the key, and on each level the pages beside
 * it (a delete merges a page that grows too empty into its neighbour).
 */

/* LMDB's order of keys (its default): by bytes, then the shorter first. */
static int node_cmp(const unsigned char *node, const unsigned char *key, size_t klen)
{
	size_t nlen = get16(node + 6);
	int c = memcmp(node + NODE_HEADER, key, nlen < klen ? nlen : klen);

	return c ? c : (nlen > klen) - (nlen < klen);
}

/* A page LMDB may change: sound, its keys in order (but a branch's
 * first, which LMDB leaves empty; and those of the free pages' table,
 * numbers in the machine's order: `ordered` 0), each leaf record sound. */
static int page_changeable(const unsigned char **page, uint16_t *kind, unsigned int *n,
	const page_walk *w, uint64_t pgno, int ordered)
{
	uint64_t run;
	int error;

	if ((error = page_sound(page, kind, n, w, pgno)) < 0)
		return error;
	if (*kind == PAGE_BRANCH && *n == 0)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"is a branch to nothing", PAGE(pgno));
	for (unsigned int i = *kind == PAGE_BRANCH ? 2 : 1; ordered && i < *n; i++) {
		const unsigned char *b = node_at(*page, i);

		if (node_cmp(node_at(*page, i - 1), b + NODE_HEADER, get16(b + 6)) >= 0)
			return vault_error_set(VAULT_ECORRUPT,
				"the vault file is damaged: page %llu "
				"holds its keys out of order", PAGE(pgno));
	}
	for (unsigned int i = 0; *kind == PAGE_LEAF && i < *n; i++)
		if ((error = record_sound(&run, w, pgno, *page, (size_t)(node_at(*page, i) - *page))) < 0)
			return error;
	return 0;
}

/* From `root` down to the leaf where `key` lies or would go, the way
 * LMDB's search goes; each page there, and those beside it, changeable.
 * Sets *leaf and *n (its nodes). */
static int path_changeable(const unsigned char **leaf, unsigned int *n, const page_walk *w,
	uint64_t root, const void *key, size_t klen)
{
	uint64_t pgno = root;

	for (int depth = 0; depth <= MAX_DEPTH; depth++) {
		const unsigned char *page, *side;
		unsigned int i = 0, nside;
		uint16_t kind, sk;
		int error;

		if ((error = page_changeable(&page, &kind, n, w, pgno, 1)) < 0)
			return error;
		if (kind == PAGE_LEAF) {
			*leaf = page;
			return 0;
		}
		while (i + 1 < *n && node_cmp(node_at(page, i + 1), key, klen) <= 0)
			i++;
		if ((i > 0 && (error = page_changeable(&side, &sk, &nside, w,
				node_child(node_at(page, i - 1)), 1)) < 0) ||
		    (i + 1 < *n && (error = page_changeable(&side, &sk, &nside, w,
				node_child(node_at(page, i + 1)), 1)) < 0))
			return error;
		pgno = node_child(node_at(page, i));
	}
	return vault_error_set(VAULT_ECORRUPT,
		"the vault file is damaged: page %llu "
		"lies deeper than any tree reaches", PAGE(pgno));
}

/* The root of table `name`, from its record in the table of tables
 * (NO_PAGE: the table is empty). */
static int table_root(uint64_t *root, const page_walk *w, const unsigned char *meta,
	const char *name)
{
	const unsigned char *leaf;
	unsigned int n;
	size_t len = strlen(name);
	int error;

	*root = NO_PAGE;
	if (get64(meta + META_MAIN_ROOT) == NO_PAGE)
		return 0;
	if ((error = path_changeable(&leaf, &n, w, get64(meta + META_MAIN_ROOT), name, len)) < 0)
		return error;
	for (unsigned int i = 0; i < n; i++) {
		const unsigned char *node = node_at(leaf, i);

		if (node_cmp(node, (const unsigned char *)name, len) != 0)
			continue;
		if (!(get16(node + 4) & NODE_TABLE) ||
		    (get16(node) | (uint64_t)get16(node + 2) << 16) != TABLE_RECORD)
			return vault_error_set(VAULT_ECORRUPT,
				"the vault file is damaged: page %llu "
				"holds a table record of the wrong size", PAGE(get64(leaf)));
		*root = get64(node + NODE_HEADER + len + TABLE_ROOT);
	}
	return 0;
}

/* The snapshot a write transaction changes: the newest meta page. */
static int write_start(const unsigned char **meta, page_walk *w, const vault_store *st)
{
	uint64_t a, b;

	w->map = (const unsigned char *)st->fault_base;
	w->psize = st->psize;
	a = get64(w->map + META_TXNID);
	b = get64(w->map + w->psize + META_TXNID);
	return walk_start(meta, w, st, a > b ? a : b);
}

int vault_store__check_write(MDB_txn *txn, const char *name, const void *key, size_t klen)
{
	const vault_store *st = mdb_env_get_userctx(mdb_txn_env(txn));
	const unsigned char *meta, *leaf;
	unsigned int n;
	uint64_t root;
	page_walk w;
	int error;

	if (!st || !st->fault_base || !st->psize || name == NULL)
		return 0;                /* no map found, or not a table of ours */
	if ((error = write_start(&meta, &w, st)) < 0 ||
	    (error = table_root(&root, &w, meta, name)) < 0)
		return error;
	return root == NO_PAGE ? 0 : path_changeable(&leaf, &n, &w, root, key, klen);
}

int vault_store__check_commit(MDB_txn *txn)
{
	const vault_store *st = mdb_env_get_userctx(mdb_txn_env(txn));
	const unsigned char *meta;
	page_walk w;
	int error;

	if (!st || !st->fault_base || !st->psize)
		return 0;
	if ((error = write_start(&meta, &w, st)) < 0)
		return error;
	if ((uint64_t)mdb_txn_id(txn) <= get64(meta + META_TXNID))
		return 0;                /* a read transaction: it changes nothing */
	/* Whole: both are small, and a commit may change any of their pages. */
	w.ordered = 0;
	if (get64(meta + META_FREE_ROOT) != NO_PAGE &&
	    (error = walk_tree(&w, get64(meta + META_FREE_ROOT), 0)) < 0)
		return error;
	w.ordered = 1;
	if (get64(meta + META_MAIN_ROOT) != NO_PAGE)
		error = walk_tree(&w, get64(meta + META_MAIN_ROOT), 0);
	return error;
}
