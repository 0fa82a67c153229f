/*
 * casevault — OpenSSH "SSHSIG" signatures with Ed25519 keys.
 *
 * Layouts (OpenSSH PROTOCOL.sshsig). `string` is a big-endian uint32
 * length followed by that many bytes; the magic is raw, without a length.
 *
 *   signed data (what Ed25519 signs, 95 bytes with sha512):
 *     "SSHSIG" string namespace, string reserved (empty),
 *     string hash_algorithm, string H(message)
 *
 *   blob (173 bytes for Ed25519):
 *     "SSHSIG" uint32 version (1),
 *     string publickey = { string "ssh-ed25519", string key[32] },
 *     string namespace, string reserved, string hash_algorithm,
 *     string signature = { string "ssh-ed25519", string sig[64] }
 *
 *   armor: "-----BEGIN SSH SIGNATURE-----\n", base64 of the blob with
 *     padding in lines of 70 characters each ending "\n",
 *     "-----END SSH SIGNATURE-----".
 *
 * The signed data carries no version field, and verifiers rebuild it from
 * the namespace they expect, not from the one in the blob.
 *
 * Everything the verifier reads is attacker-controlled: every length is
 * checked against what is left before it is used, and the decoded blob
 * lives in a fixed buffer far larger than any Ed25519 signature needs.
 */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "sshsig.h"
#include "util/errors.h"

#define SSHSIG_MAGIC      "SSHSIG"
#define SSHSIG_MAGIC_LEN  6
#define SSHSIG_VERSION    1
#define SSHSIG_NAMESPACE  "git"
#define SSHSIG_HASH_SIGN  "sha512"

#define KEYTYPE           "ssh-ed25519"
#define KEYTYPE_LEN       11

#define ARMOR_BEGIN       "-----BEGIN SSH SIGNATURE-----"
#define ARMOR_END         "-----END SSH SIGNATURE-----"
#define ARMOR_LINE        70

#define B64_VARIANT       sodium_base64_VARIANT_ORIGINAL

/* string "ssh-ed25519", string key: 51 bytes */
#define PUBBLOB_LEN  (4 + KEYTYPE_LEN + 4 + crypto_sign_PUBLICKEYBYTES)
/* string "ssh-ed25519", string sig: 83 bytes */
#define SIGBLOB_LEN  (4 + KEYTYPE_LEN + 4 + crypto_sign_BYTES)
/* the whole blob when signing: 173 bytes */
#define BLOB_LEN     (SSHSIG_MAGIC_LEN + 4 + 4 + PUBBLOB_LEN + \
	4 + (sizeof SSHSIG_NAMESPACE - 1) + 4 + \
	4 + (sizeof SSHSIG_HASH_SIGN - 1) + 4 + SIGBLOB_LEN)
/* signed data, for the longest hash name and digest: 95 bytes */
#define SIGNED_MAX   (SSHSIG_MAGIC_LEN + 4 + (sizeof SSHSIG_NAMESPACE - 1) + \
	4 + 4 + 6 + 4 + crypto_hash_sha512_BYTES)

/*
 * Upper bound on the base64 text accepted when verifying. An Ed25519
 * signature needs 232 characters; anything longer than this is rejected
 * before decoding.
 */
#define B64_MAX      512
#define DECODED_MAX  (B64_MAX / 4 * 3)

#define B64_LEN(n)   (sodium_base64_ENCODED_LEN((n), B64_VARIANT) - 1)

/* Writing: the buffers are sized by the macros above. */

static unsigned char *put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char) (v >> 24);
	p[1] = (unsigned char) (v >> 16);
	p[2] = (unsigned char) (v >> 8);
	p[3] = (unsigned char) v;
	return p + 4;
}

static unsigned char *put_raw(unsigned char *p, const void *data, size_t len)
{
	if (len > 0)
		memcpy(p, data, len);
	return p + len;
}

static unsigned char *put_string(unsigned char *p, const void *data, size_t len)
{
	p = put_u32(p, (uint32_t) len);
	return put_raw(p, data, len);
}

static unsigned char *put_cstring(unsigned char *p, const char *s)
{
	return put_string(p, s, strlen(s));
}

/* Reading: a cursor over untrusted bytes. */

typedef struct {
	const unsigned char *p;
	size_t left;
} reader;

static int get_u32(uint32_t *out, reader *r)
{
	if (r->left < 4)
		return -1;
	*out = ((uint32_t) r->p[0] << 24) | ((uint32_t) r->p[1] << 16) |
		((uint32_t) r->p[2] << 8) | (uint32_t) r->p[3];
	r->p += 4;
	r->left -= 4;
	return 0;
}

static int get_raw(const unsigned char **out, reader *r, size_t len)
{
	if (r->left < len)
		return -1;
	*out = r->p;
	r->p += len;
	r->left -= len;
	return 0;
}

/* A `string`: its bytes stay in the input; `len` is checked against it. */
static int get_string(reader *out, reader *r)
{
	uint32_t len;

	if (get_u32(&len, r) < 0)
		return -1;
	if ((size_t) len > r->left)
		return -1;
	out->p = r->p;
	out->left = len;
	r->p += len;
	r->left -= len;
	return 0;
}

static int string_is(const reader *s, const char *want)
{
	size_t n = strlen(want);

	return s->left == n && memcmp(s->p, want, n) == 0;
}

/*
 * Parse { string "ssh-ed25519", string body } where body must be exactly
 * `bodylen` bytes and nothing may follow. Returns 0, -1 if malformed, -2
 * if well-formed but of another type.
 */
static int get_typed(const unsigned char **body, reader *r, size_t bodylen)
{
	reader type, data;

	if (get_string(&type, r) < 0)
		return -1;
	if (!string_is(&type, KEYTYPE))
		return -2;
	if (get_string(&data, r) < 0 || data.left != bodylen || r->left != 0)
		return -1;
	*body = data.p;
	return 0;
}

static unsigned char *put_pubblob(unsigned char *p, const unsigned char pk[32])
{
	p = put_cstring(p, KEYTYPE);
	return put_string(p, pk, crypto_sign_PUBLICKEYBYTES);
}

/*
 * Hash `msg` with the named algorithm; returns the digest length, or 0 if
 * the name is not one we accept.
 */
static size_t hash_message(unsigned char digest[crypto_hash_sha512_BYTES],
	const reader *alg, const unsigned char *msg, size_t msglen)
{
	if (string_is(alg, "sha512")) {
		crypto_hash_sha512(digest, msg, msglen);
		return crypto_hash_sha512_BYTES;
	}
	if (string_is(alg, "sha256")) {
		crypto_hash_sha256(digest, msg, msglen);
		return crypto_hash_sha256_BYTES;
	}
	return 0;
}

/* Build the signed data; returns its length (at most SIGNED_MAX). */
static size_t signed_data(unsigned char out[SIGNED_MAX], const reader *alg,
	const unsigned char *digest, size_t digestlen)
{
	unsigned char *p = out;

	p = put_raw(p, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN);
	p = put_cstring(p, SSHSIG_NAMESPACE);
	p = put_string(p, NULL, 0);                 /* reserved */
	p = put_string(p, alg->p, alg->left);
	p = put_string(p, digest, digestlen);
	return (size_t) (p - out);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

static int has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

/*
 * Strip the armor and decode the blob. Accepts surrounding whitespace,
 * CRLF, and lines indented by blanks (the `gpgsig` header form). The BEGIN
 * marker must end its line and the END marker must start one.
 */
static int armor_decode(unsigned char *blob, size_t blobsz, size_t *bloblen,
	const char *armor, size_t len)
{
	char b64[B64_MAX];
	size_t n = 0, i = 0;
	int line_start = 0;

	while (i < len && is_space(armor[i]))
		i++;
	if (!has_prefix(armor + i, len - i, ARMOR_BEGIN))
		return -1;
	i += sizeof ARMOR_BEGIN - 1;
	if (i < len && armor[i] == '\r')
		i++;
	if (i >= len || armor[i] != '\n')
		return -1;

	for (; i < len && armor[i] != '-'; i++) {
		char c = armor[i];

		if (c == '\n') {
			line_start = 1;
		} else if (is_space(c)) {
			continue;
		} else if (is_b64(c)) {
			if (n >= sizeof b64)
				return -1;
			b64[n++] = c;
			line_start = 0;
		} else {
			return -1;
		}
	}
	if (!line_start || n == 0)
		return -1;
	if (!has_prefix(armor + i, len - i, ARMOR_END))
		return -1;
	for (i += sizeof ARMOR_END - 1; i < len; i++)
		if (!is_space(armor[i]))
			return -1;

	/* Strict: padding required, no unused bits, all input consumed. */
	if (sodium_base642bin(blob, blobsz, b64, n, NULL, bloblen, NULL,
			B64_VARIANT) != 0)
		return -1;
	return 0;
}

/* get_typed() inside a signature, its failure said: the type of the key
 * (or of the signature, `is_sig`) is not ssh-ed25519, or it is malformed. */
static int get_typed_or_fail(const unsigned char **out, reader *r, size_t len, int is_sig)
{
	int rc = get_typed(out, r, len);

	if (rc == -2)
		return is_sig ?
			vault_error_set(VAULT_ECORRUPT,
				"invalid ssh signature: signature type is not ssh-ed25519") :
			vault_error_set(VAULT_ECORRUPT, "invalid ssh signature: key type is not ssh-ed25519");
	if (rc < 0)
		return is_sig ?
			vault_error_set(VAULT_ECORRUPT, "invalid ssh signature: malformed signature") :
			vault_error_set(VAULT_ECORRUPT, "invalid ssh signature: malformed public key");
	return 0;
}

int vault_sshsig__verify(const char *armor, size_t armor_len,
	const unsigned char *msg, size_t msglen, const unsigned char pk[32])
{
	unsigned char blob[DECODED_MAX];
	unsigned char digest[crypto_hash_sha512_BYTES];
	unsigned char tbs[SIGNED_MAX];
	const unsigned char *magic, *key, *sig;
	reader r, pub, ns, reserved, alg, sigblob;
	size_t bloblen = 0, digestlen, tbslen;
	uint32_t version;

	if (armor == NULL || pk == NULL || (msg == NULL && msglen > 0))
		return vault_error_set(VAULT_ECORRUPT,
			"invalid ssh signature: missing signature, message or key");

	if (armor_decode(blob, sizeof blob, &bloblen, armor, armor_len) < 0)
		return vault_error_set(VAULT_ECORRUPT, "invalid ssh signature: malformed armor");
	r.p = blob;
	r.left = bloblen;

	if (get_raw(&magic, &r, SSHSIG_MAGIC_LEN) < 0 ||
	    memcmp(magic, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN) != 0)
		return vault_error_set(VAULT_ECORRUPT, "invalid ssh signature: bad magic");
	if (get_u32(&version, &r) < 0)
		return vault_error_set(VAULT_ECORRUPT, "invalid ssh signature: truncated blob");
	if (version != SSHSIG_VERSION)
		return vault_error_set(VAULT_ECORRUPT,
			"invalid ssh signature: unsupported version %lu",
			(unsigned long) version);

	if (get_string(&pub, &r) < 0)
		return vault_error_set(VAULT_ECORRUPT, "invalid ssh signature: truncated blob");
	if (get_typed_or_fail(&key, &pub, crypto_sign_PUBLICKEYBYTES, 0) < 0)
		return VAULT_ECORRUPT;
	if (sodium_memcmp(key, pk, crypto_sign_PUBLICKEYBYTES) != 0)
		return vault_error_set(VAULT_ECORRUPT,
			"invalid ssh signature: signing key does not match the expected key");

	if (get_string(&ns, &r) < 0 || get_string(&reserved, &r) < 0 ||
	    get_string(&alg, &r) < 0 || get_string(&sigblob, &r) < 0)
		return vault_error_set(VAULT_ECORRUPT, "invalid ssh signature: truncated blob");
	if (r.left != 0)
		return vault_error_set(VAULT_ECORRUPT, "invalid ssh signature: trailing data after blob");
	if (!string_is(&ns, SSHSIG_NAMESPACE))
		return vault_error_set(VAULT_ECORRUPT, "invalid ssh signature: namespace is not 'git'");
	if (reserved.left != 0)
		return vault_error_set(VAULT_ECORRUPT, "invalid ssh signature: reserved field is not empty");
	if ((digestlen = hash_message(digest, &alg, msg, msglen)) == 0)
		return vault_error_set(VAULT_ECORRUPT, "invalid ssh signature: unsupported hash algorithm");

	if (get_typed_or_fail(&sig, &sigblob, crypto_sign_BYTES, 1) < 0)
		return VAULT_ECORRUPT;

	tbslen = signed_data(tbs, &alg, digest, digestlen);
	if (crypto_sign_verify_detached(sig, tbs, tbslen, pk) != 0)
		return vault_error_set(VAULT_ECORRUPT,
			"invalid ssh signature: ed25519 signature does not verify");
	return 0;
}

int vault_sshsig__sign(char *out, size_t outsz,
	const unsigned char *msg, size_t msglen, const unsigned char sk[64])
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char digest[crypto_hash_sha512_BYTES];
	unsigned char tbs[SIGNED_MAX];
	unsigned char sig[crypto_sign_BYTES];
	unsigned char sigblob[SIGBLOB_LEN];
	unsigned char pubblob[PUBBLOB_LEN];
	unsigned char blob[BLOB_LEN];
	char b64[B64_LEN(BLOB_LEN) + 1];
	const reader alg = { (const unsigned char *) SSHSIG_HASH_SIGN,
		sizeof SSHSIG_HASH_SIGN - 1 };
	size_t tbslen, b64len, need, pos, off;
	unsigned char *p;

	b64len = B64_LEN(BLOB_LEN);
	need = (sizeof ARMOR_BEGIN - 1) + 1 +
		b64len + (b64len + ARMOR_LINE - 1) / ARMOR_LINE +
		(sizeof ARMOR_END - 1) + 1;

	if (out == NULL || outsz < need)
		return vault_error_set(VAULT_ERROR,
			"buffer too small for ssh signature: %zu < %zu",
			out == NULL ? (size_t) 0 : outsz, need);
	out[0] = '\0';
	if (sk == NULL || (msg == NULL && msglen > 0))
		return vault_error_set(VAULT_ERROR, "missing message or key to sign");

	crypto_sign_ed25519_sk_to_pk(pk, sk);
	crypto_hash_sha512(digest, msg, msglen);
	tbslen = signed_data(tbs, &alg, digest, sizeof digest);
	if (crypto_sign_detached(sig, NULL, tbs, tbslen, sk) != 0)
		return vault_error_set(VAULT_ERROR, "ed25519 signing failed");

	put_pubblob(pubblob, pk);
	p = put_cstring(sigblob, KEYTYPE);
	put_string(p, sig, sizeof sig);

	p = put_raw(blob, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN);
	p = put_u32(p, SSHSIG_VERSION);
	p = put_string(p, pubblob, sizeof pubblob);
	p = put_cstring(p, SSHSIG_NAMESPACE);
	p = put_string(p, NULL, 0);                 /* reserved */
	p = put_cstring(p, SSHSIG_HASH_SIGN);
	p = put_string(p, sigblob, sizeof sigblob);
	if ((size_t) (p - blob) != sizeof blob)
		return vault_error_set(VAULT_ERROR, "ssh signature blob has the wrong size");

	sodium_bin2base64(b64, sizeof b64, blob, sizeof blob, B64_VARIANT);

	pos = 0;
	memcpy(out + pos, ARMOR_BEGIN "\n", sizeof ARMOR_BEGIN);
	pos += sizeof ARMOR_BEGIN;
	for (off = 0; off < b64len; off += ARMOR_LINE) {
		size_t n = b64len - off < ARMOR_LINE ? b64len - off : ARMOR_LINE;

		memcpy(out + pos, b64 + off, n);
		pos += n;
		out[pos++] = '\n';
	}
	memcpy(out + pos, ARMOR_END, sizeof ARMOR_END);   /* with the NUL */
	return 0;
}

int vault_sshsig__publine(char *out, size_t outsz, const unsigned char pk[32])
{
	unsigned char pubblob[PUBBLOB_LEN];
	size_t need = KEYTYPE_LEN + 1 + B64_LEN(PUBBLOB_LEN) + 1;

	if (out == NULL || outsz < need)
		return vault_error_set(VAULT_ERROR,
			"buffer too small for ssh public key: %zu < %zu",
			out == NULL ? (size_t) 0 : outsz, need);
	if (pk == NULL)
		return vault_error_set(VAULT_ERROR, "missing public key");

	put_pubblob(pubblob, pk);
	memcpy(out, KEYTYPE " ", KEYTYPE_LEN + 1);
	sodium_bin2base64(out + KEYTYPE_LEN + 1, outsz - (KEYTYPE_LEN + 1),
		pubblob, sizeof pubblob, B64_VARIANT);
	return 0;
}

int vault_sshsig__parse_publine(unsigned char pk[32], const char *line, size_t len)
{
	unsigned char pubblob[PUBBLOB_LEN + 3];   /* room to notice a longer blob */
	const unsigned char *key;
	size_t i = 0, start, bloblen = 0;
	const char *nul;
	reader r;

	if (pk == NULL || line == NULL)
		return vault_error_set(VAULT_ECORRUPT, "invalid ssh public key: missing");
	if ((nul = memchr(line, '\0', len)) != NULL)     /* a C string ends at its NUL */
		len = (size_t) (nul - line);

	while (i < len && is_blank(line[i]))
		i++;
	if (!has_prefix(line + i, len - i, KEYTYPE))
		return vault_error_set(VAULT_ECORRUPT,
			"invalid ssh public key: type is not ssh-ed25519");
	i += KEYTYPE_LEN;
	if (i >= len || !is_blank(line[i]))
		return vault_error_set(VAULT_ECORRUPT,
			"invalid ssh public key: type is not ssh-ed25519");
	while (i < len && is_blank(line[i]))
		i++;

	start = i;
	while (i < len && !is_space(line[i]))
		i++;
	if (i == start || i - start > B64_LEN(sizeof pubblob))
		return vault_error_set(VAULT_ECORRUPT,
			"invalid ssh public key: bad key length");
	if (sodium_base642bin(pubblob, sizeof pubblob, line + start, i - start,
			NULL, &bloblen, NULL, B64_VARIANT) != 0)
		return vault_error_set(VAULT_ECORRUPT, "invalid ssh public key: bad base64");

	/* What follows: nothing, or a blank and a comment up to the line end. */
	while (i < len && line[i] != '\n')
		i++;
	for (; i < len; i++)
		if (!is_space(line[i]))
			return vault_error_set(VAULT_ECORRUPT,
				"invalid ssh public key: more than one line");

	r.p = pubblob;
	r.left = bloblen;
	if (get_typed(&key, &r, crypto_sign_PUBLICKEYBYTES) != 0)
		return vault_error_set(VAULT_ECORRUPT,
			"invalid ssh public key: malformed ed25519 key");
	memcpy(pk, key, crypto_sign_PUBLICKEYBYTES);
	return 0;
}
