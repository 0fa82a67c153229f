/*
 * Tests for vault/src/sshsig.c: SSHSIG signatures for git commits.
 *
 * Part 1 needs only libsodium: round trip, the exact layout, and rejection
 * of tampered, truncated, garbage and mutated input.
 * Part 2 checks the result with the real tools: `ssh-keygen -Y verify`,
 * `ssh-keygen -Y sign` (byte-identical output, and sha256 signatures we must
 * accept) and `git verify-commit` on a commit built with git plumbing.
 *
 * Takes no arguments. Exit 0 if all pass, 1 on failure, 77 (skip) if part 1
 * passes but ssh-keygen or git is missing.
 */
#define _XOPEN_SOURCE 700

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "sshsig.h"
#include "util/errors.h"

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		failures++; \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

#define BEGIN_LINE "-----BEGIN SSH SIGNATURE-----"
#define END_LINE   "-----END SSH SIGNATURE-----"

static const char test_msg[] =
	"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
	"author t <t@x> 1795821862 +0000\n"
	"committer t <t@x> 1795821862 +0000\n"
	"\n"
	"msg\n";

static unsigned char pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char sk[crypto_sign_SECRETKEYBYTES];
static unsigned char pk2[crypto_sign_PUBLICKEYBYTES];
static unsigned char sk2[crypto_sign_SECRETKEYBYTES];

/* ------------------------------------------------------------------------
 * Helpers: an independent encoder of the layout, and the armor.
 */

static unsigned char *w_u32(unsigned char *p, unsigned long v)
{
	*p++ = (unsigned char) (v >> 24);
	*p++ = (unsigned char) (v >> 16);
	*p++ = (unsigned char) (v >> 8);
	*p++ = (unsigned char) v;
	return p;
}

static unsigned char *w_str(unsigned char *p, const void *s, size_t n)
{
	p = w_u32(p, (unsigned long) n);
	memcpy(p, s, n);
	return p + n;
}

static unsigned char *w_cstr(unsigned char *p, const char *s)
{
	return w_str(p, s, strlen(s));
}

static size_t pubblob(unsigned char out[51], const unsigned char *key)
{
	unsigned char *p = w_cstr(out, "ssh-ed25519");
	p = w_str(p, key, 32);
	return (size_t) (p - out);
}

/*
 * Build an SSHSIG blob by hand for any namespace and hash: the test's own
 * reading of PROTOCOL.sshsig, to compare with and to forge variants.
 */
static size_t make_blob(unsigned char *out, const char *ns, const char *hash,
	const unsigned char *key_sk, const unsigned char *key_pk,
	const unsigned char *msg, size_t msglen)
{
	unsigned char digest[64], tbs[128], sig[64], pb[51], sb[83], *p;
	size_t dlen = 64;

	if (strcmp(hash, "sha256") == 0) {
		crypto_hash_sha256(digest, msg, msglen);
		dlen = 32;
	} else {
		crypto_hash_sha512(digest, msg, msglen);
	}
	p = tbs;
	memcpy(p, "SSHSIG", 6);
	p += 6;
	p = w_cstr(p, ns);
	p = w_str(p, "", 0);
	p = w_cstr(p, hash);
	p = w_str(p, digest, dlen);
	crypto_sign_detached(sig, NULL, tbs, (unsigned long long) (p - tbs), key_sk);

	pubblob(pb, key_pk);
	p = w_cstr(sb, "ssh-ed25519");
	w_str(p, sig, 64);

	p = out;
	memcpy(p, "SSHSIG", 6);
	p += 6;
	p = w_u32(p, 1);
	p = w_str(p, pb, sizeof pb);
	p = w_cstr(p, ns);
	p = w_str(p, "", 0);
	p = w_cstr(p, hash);
	p = w_str(p, sb, sizeof sb);
	return (size_t) (p - out);
}

/* Base64 of `bin` in lines of `width`, between two marker lines. */
static void armor_with(char *out, size_t outsz, const char *begin, const char *end,
	const unsigned char *bin, size_t len, int final_newline)
{
	char b64[2048];
	size_t n, off, pos = 0;

	sodium_bin2base64(b64, sizeof b64, bin, len, sodium_base64_VARIANT_ORIGINAL);
	n = strlen(b64);
	pos += (size_t) snprintf(out + pos, outsz - pos, "%s\n", begin);
	for (off = 0; off < n; off += 70)
		pos += (size_t) snprintf(out + pos, outsz - pos, "%.*s\n",
			(int) (n - off < 70 ? n - off : 70), b64 + off);
	snprintf(out + pos, outsz - pos, "%s%s", end, final_newline ? "\n" : "");
}

static void armor_blob(char *out, size_t outsz, const unsigned char *blob, size_t len)
{
	armor_with(out, outsz, BEGIN_LINE, END_LINE, blob, len, 0);
}

/* Decode the body of an armor we produced ourselves. */
static int dearmor(unsigned char *blob, size_t blobsz, size_t *len, const char *armor)
{
	const char *body = strchr(armor, '\n'), *end = strstr(armor, "\n" END_LINE);

	if (body == NULL || end == NULL)
		return -1;
	return sodium_base642bin(blob, blobsz, body + 1, (size_t) (end - body - 1),
		"\n", len, NULL, sodium_base64_VARIANT_ORIGINAL);
}

static int verify_str(const char *armor, const char *msg, const unsigned char *key)
{
	return vault_sshsig__verify(armor, strlen(armor),
		(const unsigned char *) msg, strlen(msg), key);
}

/* Replace every "\n" by "\n " (the gpgsig header form); CRLF if asked. */
static void reflow(char *out, size_t outsz, const char *in, const char *nl)
{
	size_t pos = 0, nllen = strlen(nl);

	for (; *in != '\0' && pos + nllen + 1 < outsz; in++) {
		if (*in == '\n') {
			memcpy(out + pos, nl, nllen);
			pos += nllen;
		} else {
			out[pos++] = *in;
		}
	}
	out[pos] = '\0';
}

/* ------------------------------------------------------------------------
 * Part 1: libsodium only.
 */

static void test_layout_and_roundtrip(void)
{
	char armor[VAULT_SSHSIG_ARMOR_MAX], again[VAULT_SSHSIG_ARMOR_MAX];
	char mine[VAULT_SSHSIG_ARMOR_MAX], buf[1024];
	unsigned char blob[512], hand[512];
	size_t bloblen = 0, handlen, len;
	const char *p;
	int rc, lines[8], nlines = 0;

	rc = vault_sshsig__sign(armor, sizeof armor,
		(const unsigned char *) test_msg, strlen(test_msg), sk);
	CHECK(rc == 0, "sign returned %d", rc);
	len = strlen(armor);

	CHECK(strncmp(armor, BEGIN_LINE "\n", sizeof BEGIN_LINE) == 0, "armor begin");
	CHECK(len >= sizeof END_LINE && strcmp(armor + len - (sizeof END_LINE - 1), END_LINE) == 0,
		"armor must end with the END line and no newline");
	CHECK(len == 293, "armor length %zu, want 293", len);

	/* Base64 lines of 70, 70, 70, 22. */
	for (p = strchr(armor, '\n') + 1; strncmp(p, "-----", 5) != 0 && nlines < 8; nlines++) {
		const char *nl = strchr(p, '\n');
		lines[nlines] = (int) (nl - p);
		p = nl + 1;
	}
	CHECK(nlines == 4 && lines[0] == 70 && lines[1] == 70 && lines[2] == 70 && lines[3] == 22,
		"base64 line lengths");

	/* Same blob as the test's own encoder; offsets as in PROTOCOL.sshsig. */
	CHECK(dearmor(blob, sizeof blob, &bloblen, armor) == 0, "decode our armor");
	CHECK(bloblen == 173, "blob length %zu, want 173", bloblen);
	handlen = make_blob(hand, "git", "sha512", sk, pk,
		(const unsigned char *) test_msg, strlen(test_msg));
	CHECK(handlen == bloblen && memcmp(hand, blob, handlen) == 0,
		"blob differs from the reference layout");
	CHECK(memcmp(blob, "SSHSIG\0\0\0\1\0\0\0\x33", 14) == 0, "blob header");
	CHECK(memcmp(blob + 33, pk, 32) == 0, "public key at offset 33");
	armor_blob(mine, sizeof mine, hand, handlen);
	CHECK(strcmp(mine, armor) == 0, "armor differs from the reference armor");

	/* Deterministic. */
	rc = vault_sshsig__sign(again, sizeof again,
		(const unsigned char *) test_msg, strlen(test_msg), sk);
	CHECK(rc == 0 && strcmp(armor, again) == 0, "signing is not deterministic");

	/* Accepted forms. */
	rc = verify_str(armor, test_msg, pk);
	CHECK(rc == 0, "round trip: %d %s", rc, vault_error_last()->message);
	snprintf(buf, sizeof buf, "%s\n", armor);
	CHECK(verify_str(buf, test_msg, pk) == 0, "with final newline");
	reflow(buf, sizeof buf, armor, "\n ");
	CHECK(verify_str(buf, test_msg, pk) == 0, "gpgsig indented form");
	reflow(buf, sizeof buf, armor, "\r\n");
	CHECK(verify_str(buf, test_msg, pk) == 0, "CRLF form");

	/* Empty message. */
	rc = vault_sshsig__sign(again, sizeof again, NULL, 0, sk);
	CHECK(rc == 0, "sign empty message");
	CHECK(vault_sshsig__verify(again, strlen(again), NULL, 0, pk) == 0, "verify empty message");
	CHECK(verify_str(again, "x", pk) == VAULT_ECORRUPT, "empty-message signature on other text");

	/* Output buffer too small. */
	CHECK(vault_sshsig__sign(again, 293, (const unsigned char *) "m", 1, sk) == VAULT_ERROR,
		"sign into a short buffer must fail");
	CHECK(vault_sshsig__sign(again, 294, (const unsigned char *) "m", 1, sk) == 0,
		"sign into an exact buffer");
}

static void test_rejects(void)
{
	char armor[VAULT_SSHSIG_ARMOR_MAX], buf[1024];
	unsigned char blob[512], mut[512];
	char msg[sizeof test_msg];
	size_t bloblen = 0, i, len;
	int rc, bit, bad;

	if (vault_sshsig__sign(armor, sizeof armor,
			(const unsigned char *) test_msg, strlen(test_msg), sk) != 0 ||
	    dearmor(blob, sizeof blob, &bloblen, armor) != 0) {
		CHECK(0, "setup for rejects");
		return;
	}
	len = strlen(armor);

	/* A flipped message byte, at every position. */
	for (bad = 0, i = 0; i < strlen(test_msg); i++) {
		memcpy(msg, test_msg, sizeof msg);
		msg[i] ^= 0x01;
		if (verify_str(armor, msg, pk) != VAULT_ECORRUPT)
			bad++;
	}
	CHECK(bad == 0, "%d flipped message bytes accepted", bad);
	CHECK(verify_str(armor, "tree", pk) == VAULT_ECORRUPT, "truncated message accepted");

	/* A flipped signature byte. */
	memcpy(mut, blob, bloblen);
	mut[bloblen - 1] ^= 0x01;
	armor_blob(buf, sizeof buf, mut, bloblen);
	rc = verify_str(buf, test_msg, pk);
	CHECK(rc == VAULT_ECORRUPT, "flipped signature byte: %d", rc);
	CHECK(strstr(vault_error_last()->message, "does not verify") != NULL,
		"message for a bad signature: %s", vault_error_last()->message);

	/* Every bit of every byte of the blob. */
	for (bad = 0, i = 0; i < bloblen; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(mut, blob, bloblen);
			mut[i] ^= (unsigned char) (1u << bit);
			armor_blob(buf, sizeof buf, mut, bloblen);
			if (verify_str(buf, test_msg, pk) != VAULT_ECORRUPT)
				bad++;
		}
	}
	CHECK(bad == 0, "%d mutated blobs accepted", bad);

	/* Every length field set to huge values (bounds checks). */
	{
		static const size_t lenpos[] = { 10, 14, 29, 65, 72, 76, 86, 90, 105 };
		static const unsigned long huge[] = { 0xffffffffUL, 0x80000000UL, 0x10000UL, 174 };
		size_t k, h;

		for (bad = 0, k = 0; k < sizeof lenpos / sizeof lenpos[0]; k++) {
			for (h = 0; h < sizeof huge / sizeof huge[0]; h++) {
				memcpy(mut, blob, bloblen);
				w_u32(mut + lenpos[k], huge[h]);
				armor_blob(buf, sizeof buf, mut, bloblen);
				if (verify_str(buf, test_msg, pk) != VAULT_ECORRUPT)
					bad++;
			}
		}
		CHECK(bad == 0, "%d huge length fields accepted", bad);
	}

	/* Truncated and extended blobs, correctly armored. */
	for (bad = 0, i = 0; i < bloblen; i++) {
		armor_blob(buf, sizeof buf, blob, i);
		if (verify_str(buf, test_msg, pk) != VAULT_ECORRUPT)
			bad++;
	}
	CHECK(bad == 0, "%d truncated blobs accepted", bad);
	memcpy(mut, blob, bloblen);
	mut[bloblen] = 0;
	armor_blob(buf, sizeof buf, mut, bloblen + 1);
	CHECK(verify_str(buf, test_msg, pk) == VAULT_ECORRUPT, "blob with trailing byte accepted");

	/* Truncated armor text, at every length. */
	for (bad = 0, i = 0; i < len; i++)
		if (vault_sshsig__verify(armor, i, (const unsigned char *) test_msg,
				strlen(test_msg), pk) != VAULT_ECORRUPT)
			bad++;
	CHECK(bad == 0, "%zu-byte armor: %d truncations accepted", len, bad);

	/* A flipped base64 character in the armor text. */
	for (bad = 0, i = sizeof BEGIN_LINE; i < len - sizeof END_LINE; i++) {
		if (armor[i] == '\n' || armor[i] == '=')
			continue;
		memcpy(buf, armor, len + 1);
		buf[i] = buf[i] == 'A' ? 'B' : 'A';
		if (verify_str(buf, test_msg, pk) != VAULT_ECORRUPT)
			bad++;
	}
	CHECK(bad == 0, "%d flipped base64 characters accepted", bad);

	/* A different key. */
	rc = verify_str(armor, test_msg, pk2);
	CHECK(rc == VAULT_ECORRUPT, "other key: %d", rc);
	CHECK(strstr(vault_error_last()->message, "does not match") != NULL,
		"message for another key: %s", vault_error_last()->message);
	/* ...also when the blob claims the other key but was signed by ours. */
	{
		unsigned char forged[512];
		size_t n = make_blob(forged, "git", "sha512", sk, pk2,
			(const unsigned char *) test_msg, strlen(test_msg));
		armor_blob(buf, sizeof buf, forged, n);
		CHECK(verify_str(buf, test_msg, pk2) == VAULT_ECORRUPT, "forged key field accepted");
		CHECK(verify_str(buf, test_msg, pk) == VAULT_ECORRUPT, "mismatched key field accepted");
	}

	/* Garbage armor. */
	{
		static const char *const garbage[] = {
			"",
			"hello",
			BEGIN_LINE,
			BEGIN_LINE "\n" END_LINE,
			BEGIN_LINE "\n\n" END_LINE "\n",
			BEGIN_LINE "\nU1NIU0lH\n" END_LINE,
			BEGIN_LINE "\n!!!!\n" END_LINE,
			BEGIN_LINE "U1NIU0lH\n" END_LINE,
			BEGIN_LINE "\nU1NIU0lH" END_LINE,
			"-----BEGIN PGP SIGNATURE-----\nU1NIU0lH\n-----END PGP SIGNATURE-----",
			END_LINE "\n" BEGIN_LINE,
		};
		unsigned char rnd[300];

		for (i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
			CHECK(verify_str(garbage[i], test_msg, pk) == VAULT_ECORRUPT,
				"garbage %zu accepted", i);
		for (i = 0; i < 64; i++) {
			randombytes_buf(rnd, sizeof rnd);
			CHECK(vault_sshsig__verify((const char *) rnd, sizeof rnd,
				(const unsigned char *) test_msg, strlen(test_msg), pk) == VAULT_ECORRUPT,
				"random bytes accepted");
		}
		/* Very long base64 body. */
		{
			static char big[8192];
			size_t pos = (size_t) sprintf(big, "%s\n", BEGIN_LINE);
			for (; pos < sizeof big - 100; pos++)
				big[pos] = (pos % 71 == 70) ? '\n' : 'A';
			sprintf(big + pos, "\n%s\n", END_LINE);
			CHECK(verify_str(big, test_msg, pk) == VAULT_ECORRUPT, "huge armor accepted");
		}
		/* BEGIN marker not on its own line. */
		snprintf(buf, sizeof buf, "%s%s", BEGIN_LINE, armor + sizeof BEGIN_LINE);
		CHECK(verify_str(buf, test_msg, pk) == VAULT_ECORRUPT, "BEGIN not on its own line accepted");
		/* END marker not on its own line. */
		memcpy(buf, armor, len + 1);
		memmove(buf + len - sizeof END_LINE, buf + len - sizeof END_LINE + 1, sizeof END_LINE);
		CHECK(verify_str(buf, test_msg, pk) == VAULT_ECORRUPT, "END not on its own line accepted");
		/* Text after the END line. */
		snprintf(buf, sizeof buf, "%s\nextra", armor);
		CHECK(verify_str(buf, test_msg, pk) == VAULT_ECORRUPT, "text after END accepted");
	}

	/* Validly signed, but other namespace / reserved / hash. */
	{
		unsigned char v[512];
		size_t n;

		n = make_blob(v, "file", "sha512", sk, pk,
			(const unsigned char *) test_msg, strlen(test_msg));
		armor_blob(buf, sizeof buf, v, n);
		CHECK(verify_str(buf, test_msg, pk) == VAULT_ECORRUPT, "namespace 'file' accepted");

		n = make_blob(v, "git", "sha384", sk, pk,
			(const unsigned char *) test_msg, strlen(test_msg));
		armor_blob(buf, sizeof buf, v, n);
		CHECK(verify_str(buf, test_msg, pk) == VAULT_ECORRUPT, "hash 'sha384' accepted");

		n = make_blob(v, "git", "sha256", sk, pk,
			(const unsigned char *) test_msg, strlen(test_msg));
		armor_blob(buf, sizeof buf, v, n);
		rc = verify_str(buf, test_msg, pk);
		CHECK(rc == 0, "sha256 signature rejected: %s", vault_error_last()->message);

		/* Non-empty reserved field; the signature itself still verifies. */
		n = make_blob(v, "git", "sha512", sk, pk,
			(const unsigned char *) test_msg, strlen(test_msg));
		memmove(v + 77, v + 76, n - 76);
		w_u32(v + 72, 1);
		v[76] = 'x';
		armor_blob(buf, sizeof buf, v, n + 1);
		CHECK(verify_str(buf, test_msg, pk) == VAULT_ECORRUPT, "non-empty reserved accepted");
		CHECK(strstr(vault_error_last()->message, "reserved") != NULL,
			"message for reserved: %s", vault_error_last()->message);

		/* version 2 */
		n = make_blob(v, "git", "sha512", sk, pk,
			(const unsigned char *) test_msg, strlen(test_msg));
		v[9] = 2;
		armor_blob(buf, sizeof buf, v, n);
		CHECK(verify_str(buf, test_msg, pk) == VAULT_ECORRUPT, "version 2 accepted");
	}
}

static void test_publine(void)
{
	char line[VAULT_SSHSIG_PUBLINE_MAX], buf[256];
	unsigned char back[32], b[51];
	int rc;

	rc = vault_sshsig__publine(line, sizeof line, pk);
	CHECK(rc == 0, "publine: %d", rc);
	CHECK(strncmp(line, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", 37) == 0, "publine prefix: %s", line);
	CHECK(strlen(line) == 80, "publine length %zu", strlen(line));
	CHECK(vault_sshsig__publine(line, 80, pk) == VAULT_ERROR, "publine into a short buffer");
	CHECK(vault_sshsig__publine(line, 81, pk) == 0, "publine into an exact buffer");

	memset(back, 0, sizeof back);
	CHECK(vault_sshsig__parse_publine(back, line, strlen(line)) == 0 &&
		memcmp(back, pk, 32) == 0, "parse publine");
	snprintf(buf, sizeof buf, "  %s tester@example.org\n", line);
	memset(back, 0, sizeof back);
	CHECK(vault_sshsig__parse_publine(back, buf, strlen(buf)) == 0 &&
		memcmp(back, pk, 32) == 0, "parse publine with comment");
	snprintf(buf, sizeof buf, "%s\r\n", line);
	CHECK(vault_sshsig__parse_publine(back, buf, strlen(buf)) == 0, "parse publine CRLF");
	CHECK(vault_sshsig__parse_publine(back, buf, sizeof buf) == 0, "parse publine, len past NUL");

	/* Rejects. */
	CHECK(vault_sshsig__parse_publine(back, "", 0) == VAULT_ECORRUPT, "empty");
	CHECK(vault_sshsig__parse_publine(back, "ssh-ed25519", 11) == VAULT_ECORRUPT, "type only");
	CHECK(vault_sshsig__parse_publine(back, "ssh-ed25519 ", 12) == VAULT_ECORRUPT, "no key");
	snprintf(buf, sizeof buf, "ssh-rsa%s", line + 11);
	CHECK(vault_sshsig__parse_publine(back, buf, strlen(buf)) == VAULT_ECORRUPT, "ssh-rsa");
	CHECK(vault_sshsig__parse_publine(back, line, strlen(line) - 4) == VAULT_ECORRUPT, "truncated");
	snprintf(buf, sizeof buf, "%sAAAA", line);
	CHECK(vault_sshsig__parse_publine(back, buf, strlen(buf)) == VAULT_ECORRUPT, "too long");
	snprintf(buf, sizeof buf, "%s!", line);
	CHECK(vault_sshsig__parse_publine(back, buf, strlen(buf)) == VAULT_ECORRUPT, "junk after key");
	snprintf(buf, sizeof buf, "%s\nsecond line", line);
	CHECK(vault_sshsig__parse_publine(back, buf, strlen(buf)) == VAULT_ECORRUPT, "two lines");
	/* Blob whose inner type differs from the prefix. */
	{
		unsigned char *p = w_cstr(b, "ssh-ed25518");
		char enc[128];
		w_str(p, pk, 32);
		sodium_bin2base64(enc, sizeof enc, b, sizeof b, sodium_base64_VARIANT_ORIGINAL);
		snprintf(buf, sizeof buf, "ssh-ed25519 %s", enc);
		CHECK(vault_sshsig__parse_publine(back, buf, strlen(buf)) == VAULT_ECORRUPT, "inner type");
	}
}

/* ------------------------------------------------------------------------
 * Part 2: the real tools.
 */

static char tmpdir[] = "/tmp/test_sshsig.XXXXXX";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st; (void) flag; (void) ftw;
	return remove(path);
}

static void cleanup(void)
{
	if (strcmp(tmpdir + sizeof tmpdir - 7, "XXXXXX") != 0)
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int write_file(const char *name, const void *data, size_t len, int mode)
{
	char path[512];
	int fd;
	ssize_t n;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)) < 0)
		return -1;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t) len ? 0 : -1;
}

static int read_file(char *out, size_t outsz, const char *name)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	n = fread(out, 1, outsz - 1, f);
	out[n] = '\0';
	fclose(f);
	return 0;
}

/* Run a shell command in the temp dir; output goes to tmpdir/log. */
static int run(const char *fmt, ...) VAULT_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
	char cmd[2048], inner[1800];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(inner, sizeof inner, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "cd '%s' && { %s ; } >>log 2>&1", tmpdir, inner);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Run a command and read the first line of its stdout. */
static int capture(char *out, size_t outsz, const char *cmd)
{
	char full[1024];
	FILE *p;
	int st;

	snprintf(full, sizeof full, "cd '%s' && %s 2>>log", tmpdir, cmd);
	if ((p = popen(full, "r")) == NULL)
		return -1;
	if (fgets(out, (int) outsz, p) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	st = pclose(p);
	return (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && out[0]) ? 0 : -1;
}

static void show_log(void)
{
	static char log[8192];

	if (read_file(log, sizeof log, "log") == 0 && log[0] != '\0')
		fprintf(stderr, "---- tool output ----\n%s---------------------\n", log);
}

/* An unencrypted OpenSSH private key file ("openssh-key-v1") for sk. */
static int write_openssh_key(const char *name)
{
	unsigned char blob[512], priv[256], pb[51], *p, *q;
	char text[1024];
	unsigned char check[4];
	unsigned char pad = 1;

	randombytes_buf(check, sizeof check);
	pubblob(pb, pk);

	q = priv;
	memcpy(q, check, 4); q += 4;
	memcpy(q, check, 4); q += 4;
	q = w_cstr(q, "ssh-ed25519");
	q = w_str(q, pk, 32);
	q = w_str(q, sk, 64);          /* seed || public key, as libsodium */
	q = w_cstr(q, "tester");
	while ((q - priv) % 8 != 0)
		*q++ = pad++;

	p = blob;
	memcpy(p, "openssh-key-v1", 15); p += 15;     /* with its NUL */
	p = w_cstr(p, "none");
	p = w_cstr(p, "none");
	p = w_str(p, "", 0);
	p = w_u32(p, 1);
	p = w_str(p, pb, sizeof pb);
	p = w_str(p, priv, (size_t) (q - priv));

	armor_with(text, sizeof text, "-----BEGIN OPENSSH PRIVATE KEY-----",
		"-----END OPENSSH PRIVATE KEY-----", blob, (size_t) (p - blob), 1);
	sodium_memzero(priv, sizeof priv);
	sodium_memzero(blob, sizeof blob);
	return write_file(name, text, strlen(text), 0600);
}

static void test_ssh_keygen(const char *armor)
{
	char line[VAULT_SSHSIG_PUBLINE_MAX], allowed[256], sigtext[1024], theirs[1024];
	int rc;

	if (vault_sshsig__publine(line, sizeof line, pk) != 0) {
		CHECK(0, "publine");
		return;
	}
	snprintf(allowed, sizeof allowed, "tester namespaces=\"git\" %s\n", line);
	snprintf(sigtext, sizeof sigtext, "%s\n", armor);
	if (write_file("allowed_signers", allowed, strlen(allowed), 0644) != 0 ||
	    write_file("msg", test_msg, strlen(test_msg), 0644) != 0 ||
	    write_file("msg.bad", "x", 1, 0644) != 0 ||
	    write_file("msg.sig", sigtext, strlen(sigtext), 0644) != 0) {
		CHECK(0, "writing files to %s", tmpdir);
		return;
	}

	rc = run("ssh-keygen -Y verify -n git -f allowed_signers -I tester -s msg.sig < msg");
	CHECK(rc == 0, "ssh-keygen -Y verify exit %d, want 0", rc);
	rc = run("ssh-keygen -Y verify -n git -f allowed_signers -I tester -s msg.sig < msg.bad");
	CHECK(rc != 0 && rc != -1, "ssh-keygen -Y verify of another message exit %d, want 1", rc);
	rc = run("ssh-keygen -Y verify -n file -f allowed_signers -I tester -s msg.sig < msg");
	CHECK(rc != 0 && rc != -1, "ssh-keygen -Y verify -n file exit %d, want 1", rc);

	/* ssh-keygen signs with the same key: byte-identical. */
	if (write_openssh_key("key") != 0 ||
	    write_file("key.pub", line, strlen(line), 0644) != 0 ||
	    write_file("m2", test_msg, strlen(test_msg), 0644) != 0 ||
	    write_file("m3", test_msg, strlen(test_msg), 0644) != 0) {
		CHECK(0, "writing key files");
		return;
	}
	rc = run("ssh-keygen -Y sign -n git -f key m2");
	CHECK(rc == 0, "ssh-keygen -Y sign exit %d", rc);
	if (rc == 0) {
		CHECK(read_file(theirs, sizeof theirs, "m2.sig") == 0, "read m2.sig");
		CHECK(strcmp(theirs, sigtext) == 0,
			"ssh-keygen signature differs:\n%s\nours:\n%s", theirs, sigtext);
	}

	/* ssh-keygen's sha256 signature: we must accept it. */
	rc = run("ssh-keygen -Y sign -n git -O hashalg=sha256 -f key m3");
	CHECK(rc == 0, "ssh-keygen -Y sign -O hashalg=sha256 exit %d", rc);
	if (rc == 0 && read_file(theirs, sizeof theirs, "m3.sig") == 0) {
		rc = verify_str(theirs, test_msg, pk);
		CHECK(rc == 0, "ssh-keygen sha256 signature rejected: %s", vault_error_last()->message);
		CHECK(verify_str(theirs, "x", pk) == VAULT_ECORRUPT, "sha256 signature on other text");
	}
}

/* Insert "gpgsig <armor>" (continuation lines indented) before the blank line. */
static void signed_commit(char *out, size_t outsz, const char *commit, const char *armor)
{
	const char *body = strstr(commit, "\n\n");
	char indented[1024];
	size_t hlen = (size_t) (body - commit) + 1;

	reflow(indented, sizeof indented, armor, "\n ");
	snprintf(out, outsz, "%.*sgpgsig %s\n%s", (int) hlen, commit, indented, body + 1);
}

static void test_git(void)
{
	char tree[128], commit[1024], armor[VAULT_SSHSIG_ARMOR_MAX], obj[2048], oid[128];
	char *p;
	int rc;

	rc = run("git init -q repo");
	CHECK(rc == 0, "git init exit %d", rc);
	if (rc != 0)
		return;
	if (capture(tree, sizeof tree, "git -C repo mktree </dev/null") != 0) {
		CHECK(0, "git mktree");
		return;
	}
	snprintf(commit, sizeof commit,
		"tree %s\n"
		"author t <t@x> 1795821862 +0000\n"
		"committer t <t@x> 1795821862 +0000\n"
		"\n"
		"msg\n", tree);
	rc = vault_sshsig__sign(armor, sizeof armor,
		(const unsigned char *) commit, strlen(commit), sk);
	CHECK(rc == 0, "sign commit");

	signed_commit(obj, sizeof obj, commit, armor);
	CHECK(write_file("commit.good", obj, strlen(obj), 0644) == 0, "write commit");
	if (capture(oid, sizeof oid, "git -C repo hash-object -t commit -w --stdin <commit.good") != 0) {
		CHECK(0, "git hash-object (good)");
		return;
	}
	rc = run("git -C repo -c gpg.format=ssh -c gpg.ssh.allowedSignersFile=../allowed_signers "
		"verify-commit %s", oid);
	CHECK(rc == 0, "git verify-commit of our commit exit %d, want 0", rc);

	/* Our verifier on what git stored: signed data = object without gpgsig. */
	CHECK(verify_str(armor, commit, pk) == 0, "our verify of the commit");

	/* One changed byte in the message. */
	p = strstr(obj, "\n\nmsg\n");
	CHECK(p != NULL, "find message");
	if (p == NULL)
		return;
	p[4] = 'h';
	CHECK(write_file("commit.bad", obj, strlen(obj), 0644) == 0, "write commit");
	if (capture(oid, sizeof oid, "git -C repo hash-object -t commit -w --stdin <commit.bad") != 0) {
		CHECK(0, "git hash-object (bad)");
		return;
	}
	rc = run("git -C repo -c gpg.format=ssh -c gpg.ssh.allowedSignersFile=../allowed_signers "
		"verify-commit %s", oid);
	CHECK(rc != 0 && rc != -1, "git verify-commit of a changed commit exit %d, want 1", rc);
}

static int have_tools(void)
{
	return system("command -v ssh-keygen >/dev/null 2>&1 && "
		"command -v git >/dev/null 2>&1") == 0;
}

int main(void)
{
	char armor[VAULT_SSHSIG_ARMOR_MAX];
	unsigned char seed[crypto_sign_SEEDBYTES];
	size_t i;

	if (sodium_init() < 0) {
		fprintf(stderr, "FAIL: sodium_init\n");
		return 1;
	}
	for (i = 0; i < sizeof seed; i++)
		seed[i] = (unsigned char) i;
	crypto_sign_seed_keypair(pk, sk, seed);
	seed[0] ^= 0xff;
	crypto_sign_seed_keypair(pk2, sk2, seed);

	test_layout_and_roundtrip();
	test_rejects();
	test_publine();
	if (failures > 0) {
		fprintf(stderr, "test_sshsig: %d check(s) failed\n", failures);
		return 1;
	}

	if (!have_tools()) {
		printf("test_sshsig: skip: ssh-keygen or git not found (libsodium part passed)\n");
		return 77;
	}
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}

	/* Keep the user's configuration and agent out of it. */
	setenv("HOME", tmpdir, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("LC_ALL", "C", 1);
	unsetenv("SSH_AUTH_SOCK");
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");

	if (vault_sshsig__sign(armor, sizeof armor,
			(const unsigned char *) test_msg, strlen(test_msg), sk) != 0) {
		CHECK(0, "sign");
	} else {
		test_ssh_keygen(armor);
		test_git();
	}
	if (failures > 0)
		show_log();
	cleanup();

	if (failures > 0) {
		fprintf(stderr, "test_sshsig: %d check(s) failed\n", failures);
		return 1;
	}
	printf("test_sshsig: all checks passed\n");
	return 0;
}
