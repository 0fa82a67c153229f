/*
 * casevault — compaction: the vault file rewritten without its free pages.
 */
#ifndef VAULT_COMPACT_H
#define VAULT_COMPACT_H

#include <stdint.h>
#include "common.h"

/** What a compaction did. */
typedef struct {
	uint64_t before;                 /**< bytes of data.mdb before */
	uint64_t after;                  /**< bytes of data.mdb after */
	uint64_t writes;                 /**< interrupted writes whose staged blocks were collected */
	uint64_t blocks;                 /**< their blocks */
} vault_compact_info;

/**
 * Rewrite the vault in `dir` without its free pages, offline: refused
 * (VAULT_EBUSY) while another process has the vault open (a mount, a
 * command), and any process that opens it meanwhile waits. What
 * interrupted writes left is collected first; then LMDB's compacting
 * copy goes to `data.mdb.compact` beside the vault file, is flushed, and
 * is renamed over `data.mdb`: a crash leaves the old file or the new one,
 * whole. Needs no user: nothing signed changes.
 * @return 0; VAULT_EBUSY; VAULT_ENOSPC (no room for the copy; nothing
 *         changed); VAULT_ENOTFOUND, VAULT_ECORRUPT as vault_open().
 */
VAULT_EXTERN(int) vault_compact(vault_compact_info *out, const char *dir);

#endif
