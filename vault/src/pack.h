/*
 * pack.h — a git pack and its v2 index, written by hand (pack.c); the
 * export fills the entries and hands over each object as it is packed.
 */
#ifndef VAULT_PACK_H
#define VAULT_PACK_H

#include <stddef.h>
#include <stdint.h>

/* An entry's `off` for an object that stays out of the pack. */
#define VAULT_PACK_SKIP UINT64_MAX

/*
 * One object: its id and, once packed, its offset in the pack and the
 * crc32 of its bytes there, which the index records. Until then `off`
 * and `crc` are the caller's to use, but for VAULT_PACK_SKIP.
 */
typedef struct {
	unsigned char id[20];
	uint32_t crc;
	uint64_t off;                /* in the pack, or VAULT_PACK_SKIP */
} vault_pack__entry;

/*
 * The object of entry `e`: its type (GIT_OBJECT_COMMIT to GIT_OBJECT_TAG)
 * and its content, which must stay valid until the next call. An error
 * stops the pack, which is then not written.
 */
typedef int (*vault_pack__source_fn)(const unsigned char **data, size_t *len, int *type,
	const vault_pack__entry *e, void *payload);

/*
 * The `count` entries of `e` not marked VAULT_PACK_SKIP as one pack in
 * `gitdir`/objects/pack, in their order, each object got from `source`,
 * and its index. Both are renamed into place only when complete, the
 * index last (git sees a pack only through its index). The entries are
 * reordered and rewritten.
 */
int vault_pack__write(const char *gitdir, vault_pack__entry *e, size_t n, uint64_t count,
	vault_pack__source_fn source, void *payload);

#endif
