/*
 * fault — a damaged vault file ends the process with a message, not a
 * signal.
 *
 * LMDB trusts its file: a page number, an offset or a length read from a
 * damaged page is followed as it is, and a value may then reach past the
 * end of the file (SIGBUS) or out of the map (SIGSEGV). The store checks
 * what it can before LMDB follows it (the file's size against the pages
 * its meta page names, at open); the rest is caught here. A fault counts
 * as damage when its address lies in a vault's map (or within the 4 GiB
 * that a value's 32-bit length can reach past its end), when it is taken
 * in LMDB's own code, or while the thread is inside an LMDB call that
 * writes (below: SIGABRT too then); any other fault is a bug and ends the
 * process as it would have without the guard (the previous handler, or
 * the default action: a core dump).
 */
#ifndef VAULT_FAULT_H
#define VAULT_FAULT_H

#include <lmdb.h>
#include <stdint.h>

/*
 * Set while this thread is inside an LMDB call that writes (a put, a
 * delete, a commit): LMDB copies the pages it changes to its own heap
 * buffers, and a damaged page header makes it copy or move past their
 * end. What faults or aborts (malloc's checks) meanwhile is damage too.
 */
extern _Thread_local int vault_fault__depth;
#define VAULT_FAULT_ENTER() (vault_fault__depth++)
#define VAULT_FAULT_LEAVE() (vault_fault__depth--)

/*
 * LMDB's assertion failed (its callback, `mdb_env_set_assert`): a page
 * that a sound file never holds. With the guard set, the damage is
 * reported as a fault is and the process exits 3; without it, this
 * returns and LMDB aborts as it would have.
 */
void vault_fault__lmdb_assert(MDB_env *env, const char *msg);

/* A vault's map, for the handler; the store registers each one it opens. */
void vault_fault__map_add(uintptr_t base, uint64_t size);
void vault_fault__map_remove(uintptr_t base);

/*
 * Where the map of the data file open as `fd` starts, from
 * /proc/self/maps; 0 if it is not found.
 */
uintptr_t vault_fault__map_of(int fd);

#endif
