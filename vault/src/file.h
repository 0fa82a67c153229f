/*
 * file.h — the file handle that file.c (open, attributes, versions),
 * blocks.c (its content, block by block, and the staged chunks of large
 * writes) and stream.c (whole files as streams) share.
 */
#ifndef VAULT_FILE_H
#define VAULT_FILE_H

#include <pthread.h>

#include "docs.h"
#include "staged.h"

#define CHUNK_BLOCKS  128                /* 8 MiB of plaintext per transaction */
#define DIRTY_MAX     32                 /* 2 MiB of changed plaintext */
/* Internal: read access without a read event (a rename copies content the
 * caller is replacing; it serves nothing). */
#define FILE_QUIET    0x100

typedef struct {
	uint64_t index;                  /* block number in the file */
	uint64_t used;                   /* last touched (LRU) */
	unsigned char *buf;              /* a block; beyond its length: zeros */
} dirty_block;

/*
 * Changed blocks sealed and stored together (blocks.c). A handle has two:
 * one fills while the other may be stored by a thread of its own. That
 * thread reads only the slots and what stage_prepare copied from the
 * handle, and writes only `rec`, `ref`, `first`, `next` and its result;
 * the handle's owner applies them once it has joined it (vault_blocks__wait).
 */
typedef struct {
	unsigned char *buf;              /* plaintext of the slots, a block each */
	unsigned char *rec;              /* their sealed records, REC_MAX each */
	size_t cap, n;
	size_t index[CHUNK_BLOCKS];      /* the block each slot holds, or STAGE_DEAD */
	block_ref ref[CHUNK_BLOCKS];     /* the id and hash each slot is stored under */
	uint64_t size;                   /* the file's size when it was prepared */
	uint64_t first, next;            /* ids from `first` on, up to `next` */
	uint64_t ahead;                  /* `next` as first sealed: the guess for the next stage */
	int sealed;                      /* rec holds the slots sealed from `first` */
	int exists, put_key;             /* update the node record; store the key */

	vault_file *f;
	pthread_t thread;
	int busy;                        /* a thread stores it: join before use */
	int error;                       /* that thread's result, and its message */
	vault_error_kept why;
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
	/* Chunks stored ahead of the version are in the registry of writes
	 * (staged.h) under this handle's token until its version commits. */
	unsigned char token[VAULT_STAGED_TOKEN];
	int staged;                      /* a chunk went into a transaction of its own since */

	char node_hex[17];               /* for vault_file_node(), once it exists */

	/* reading: a handle that cannot write may be read on several threads */
	pthread_mutex_t rlock;           /* guards the key list and the counter */
	struct gen_key {
		uint32_t gen;
		unsigned char *key;      /* secret memory, kept until close */
	} *rkeys;
	size_t nrkeys;
	unsigned char *plain;            /* a block, for writers' partial blocks */
	unsigned long nread_blocks;
};

/* ---- blocks.c ----------------------------------------------------------- */

/* The node key of generation `gen`, unwrapped once per handle and kept
 * (secret memory) until it closes. */
int vault_blocks__key(const unsigned char **out, vault_file *f, MDB_txn *txn, uint32_t gen);
/* Bytes `off` to `off + len` of the content (which holds them) into `out`:
 * all of them, or on an error none (what was decrypted is wiped). */
int vault_blocks__read(vault_file *f, unsigned char *out, size_t len, uint64_t off);
/* `len` bytes at `off`, within the content's size: whole blocks to the
 * stage, parts of blocks through the changed blocks kept in memory. */
int vault_blocks__write(vault_file *f, const unsigned char *in, size_t len, uint64_t off);
/* The content shrinks or grows (a hole) to `size`; at most 64 TiB. */
int vault_blocks__resize(vault_file *f, uint64_t size);

/* Before the version's event: every changed block staged, and the older
 * stage's store joined. */
int vault_blocks__flush(vault_file *f);
/* The older stage's store, if one runs: joined, its result applied. */
int vault_blocks__wait(vault_file *f);
/* Within the version's transaction: whatever is still staged. */
int vault_blocks__store(vault_file *f, MDB_txn *txn);
/* The version's event committed: the stages are empty. */
void vault_blocks__committed(vault_file *f);
/* The version's event failed: the blocks it stored are staged again. */
void vault_blocks__restage(vault_file *f);

/* A block's buffer (VAULT_BLOCK_SIZE bytes), wiped and freed; NULL-safe. */
void vault_blocks__free(unsigned char *p);
/* What blocks.c keeps in the handle: changed blocks, the scratch block,
 * the read keys, the stages (a store still running is joined). */
void vault_blocks__dispose(vault_file *f);

/* ---- stream.c ----------------------------------------------------------- */

/* A read view of version `version` of node `node` of case `code`,
 * whatever the node's state now, for a read event the caller has already
 * recorded. The version's block list must have the content commitment
 * `commitment` (the one a signed manifest holds), else VAULT_ECORRUPT.
 * `path` names the file in messages. */
int vault_stream__open_version(vault_file **out, vault *v, const char *path, const char *code,
	uint64_t node, uint32_t version, const unsigned char commitment[32]);
/* Write the whole content of a readable handle to `fn`, block by block. */
int vault_stream__get(vault_file *f, vault_write_fn fn, void *payload);

#endif
