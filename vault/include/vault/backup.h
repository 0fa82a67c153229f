/*
 * casevault — backups: a snapshot of the vault with its signed manifest,
 * the check of a snapshot (the restore drill), a vault made from one.
 *
 * A snapshot is a directory holding `data.mdb` (LMDB's compacting copy of
 * the vault file, as encrypted as the vault) and `manifest` (what it holds,
 * signed by the admin or auditor who made it). See docs/backup.md.
 */
#ifndef VAULT_BACKUP_H
#define VAULT_BACKUP_H

#include <stdint.h>
#include "common.h"
#include "vault.h"
#include "audit.h"

/** What a snapshot's manifest says. */
typedef struct {
	char vault_id[17];               /**< the vault's id */
	char head[VAULT_OID_SIZE];       /**< the last event the snapshot holds */
	uint64_t events;                 /**< events up to it, the genesis included */
	uint64_t size;                   /**< bytes of its data.mdb */
	char blake2b[65];                /**< BLAKE2b-256 of its data.mdb, hex (b2sum -l 256) */
	int64_t time;                    /**< when it was made, seconds since 1970 */
	char event[VAULT_OID_SIZE];      /**< its `backup` event in the vault it was made from */
} vault_backup_info;

/**
 * Back up the vault into `dest` (missing or an empty directory): a
 * consistent snapshot taken while other processes and mounts write, its
 * manifest signed by the unlocked user, and a `backup` event naming it.
 * The snapshot holds the history up to an event before the `backup`
 * event (the event is appended after the copy; other events may come
 * between). Nothing is left in `dest` on failure.
 * @return 0; VAULT_EACCES for a caseworker; VAULT_EEXISTS when `dest`
 *         holds something.
 */
VAULT_EXTERN(int) vault_backup(vault_backup_info *out, vault *v, const char *dest);

/**
 * Open a snapshot directory read-only (no lock file, nothing written):
 * then vault_open_history() with the user's passphrase, and
 * vault_backup_verify().
 */
VAULT_EXTERN(int) vault_open_snapshot(vault **out, const char *dir) VAULT_WARN_UNUSED;

typedef struct {
	vault_backup_info manifest;      /**< as read (and checked) */
	vault_verify_result verify;      /**< the snapshot's history and blocks */
	char signer[VAULT_NAME_MAX + 1]; /**< who signed the manifest */
	int live;                        /**< a live vault was compared */
	char live_head[VAULT_OID_SIZE];  /**< its head */
	uint64_t behind;                 /**< its events after the snapshot's head */
	int event_found;                 /**< the manifest's `backup` event is among them */
} vault_backup_check;

/**
 * The restore drill: check the snapshot `snap` (vault_open_snapshot, with
 * its history's keys open): its manifest against its data file (size,
 * BLAKE2b) and its head; the whole history and every stored block
 * (vault_audit_verify with `vo`); the manifest's signature, by an admin
 * or auditor active at the snapshot's head. With `live` (the vault it was
 * made from, with its history's keys open), how many events that vault
 * holds after the snapshot's head, which must be one of its events, and
 * the manifest's `backup` event among them (by the signer, naming this
 * snapshot) unless that vault accepted a rollback since.
 * @return 0; VAULT_ECORRUPT on any defect, named.
 */
VAULT_EXTERN(int) vault_backup_verify(vault_backup_check *res, vault *snap, vault *live,
	const vault_verify_options *vo) VAULT_WARN_UNUSED;

/**
 * Make a working vault at `dir` (missing or an empty directory) from the
 * snapshot at `dest`: its data file copied and checked against the
 * manifest's size and hash; a `restored` note beside it that the first
 * session on the vault reports and records (vault_restored_note).
 * @return 0; VAULT_EEXISTS when `dir` holds something; VAULT_ECORRUPT
 *         when the snapshot does not match its manifest.
 */
VAULT_EXTERN(int) vault_restore_snapshot(vault_backup_info *out, const char *dest, const char *dir);

/** What the first session on a restored vault says. */
typedef struct {
	int restored;                    /**< the vault was made by vault_restore_snapshot */
	uint64_t events;                 /**< the events the snapshot held */
	char head[VAULT_OID_SIZE];
	int64_t time;                    /**< when the snapshot was made */
	uint64_t seen;                   /**< the most events this user had seen, 0 if unknown */
	int witness;                     /**< 1: the vault's witness was asked; -1: it could not be read */
	int witness_found;               /**< it holds this vault's head */
	uint64_t witness_later;          /**< and this many events after it */
	char witness_why[256];           /**< witness -1: why */
} vault_restored_info;

/**
 * After vault_unlock() or vault_unlock_restored(): whether this vault is a
 * restore not yet acknowledged. If so, a signed `rollback-accepted` event
 * is recorded and the note removed, so that the next session is quiet;
 * `seen` is what the user's checkpoint said before (a rollback accepted);
 * and when the settings name a witness, how many events it holds after
 * this vault's head (a witness that cannot be read is not an error).
 */
VAULT_EXTERN(int) vault_restored_note(vault_restored_info *out, vault *v);

#endif
