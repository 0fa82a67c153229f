/*
 * casevault — common definitions of the public API.
 */
#ifndef VAULT_COMMON_H
#define VAULT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
# define VAULT_BEGIN_DECL extern "C" {
# define VAULT_END_DECL   }
#else
# define VAULT_BEGIN_DECL
# define VAULT_END_DECL
#endif

#define VAULT_EXTERN(type) extern __attribute__((visibility("default"))) type
#define VAULT_WARN_UNUSED  __attribute__((warn_unused_result))
#define VAULT_PRINTF(a, b) __attribute__((format(printf, a, b)))

#define VAULT_VERSION "0.2.0"

#endif
