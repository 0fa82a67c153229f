/*
 * export.h — what witness.c uses of the export's walk.
 */
#ifndef VAULT_EXPORT_H
#define VAULT_EXPORT_H

#include "internal.h"

/*
 * How many events of ours come after `there` (a witness's head, found at
 * `url`): 0 when it is our head. VAULT_ECORRUPT naming it when it is not
 * in the chain at all.
 */
int vault_export__behind(uint64_t *behind, vault *v, const git_oid *there, const char *url);

#endif
