/*
 * util/time.h — the clock, and times in nanoseconds since 1970 (UTC) as
 * the vault keeps file times.
 */
#ifndef VAULT_UTIL_TIME_H
#define VAULT_UTIL_TIME_H

#include <stdint.h>
#include "vault/vault.h"

#define VAULT_NS 1000000000LL
/* The largest |seconds| a time in nanoseconds since 1970 can hold. */
#define VAULT_TIME_SEC_MAX 9223372035LL

/* The time now, in whole seconds (events) ... */
int64_t vault_time__now(void);
/* ... and in nanoseconds (file times). */
int64_t vault_time__now_ns(void);
/* Whole seconds of a time in nanoseconds, rounded down (as the manifest's
 * 'mtime SECONDS.NANOSECONDS' says them, also before 1970). */
int64_t vault_time__sec(int64_t ns);
/* A time the vault can keep: 0 and *ns set; -1 if its nanoseconds or its
 * seconds are out of range. */
int vault_time__to_ns(int64_t *ns, const vault_time *t);
void vault_time__from_ns(vault_time *out, int64_t ns);

#endif
