/*
 * odb_lmdb — a libgit2 object database backend on the `git` sub-database.
 *
 * Objects are stored as type byte ‖ raw object, keyed by their 20-byte id.
 * Reads and writes go through the store's current transaction when one is
 * set, so the history is written in the same LMDB transaction as the state.
 */
#ifndef VAULT_ODB_LMDB_H
#define VAULT_ODB_LMDB_H

#include <git2.h>
#include "store.h"

int vault_odb_lmdb__new(git_odb_backend **out, vault_store *st);

#endif
