/*
 * File handles: random writes, truncation, holes and commits, checked
 * against a plain buffer in lockstep (a model test with a printed seed).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "harness.h"
#include "support.h"

/* Large enough that changes pass through the stage (more than the 32
 * blocks a handle keeps in memory, more than 128 staged at once). */
#define MAXSIZE (12 << 20)

static unsigned long long rng_state;

static unsigned long long rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int same_content(vault_file *f, const unsigned char *model, size_t size)
{
	unsigned char *buf = malloc(size + 1);
	size_t n, off = 0;
	int ok = vault_file_size(f) == size;

	while (ok && off < size) {
		/* Odd read sizes cross block edges. */
		size_t want = 1 + (size_t)(rng() % 100000);
		if (vault_file_read(&n, f, buf + off, want, off) < 0 || n == 0)
			ok = 0;
		off += n;
	}
	ok = ok && off == size && !memcmp(buf, model, size);
	if (!ok && getenv("TEST_FILE_TRACE")) {
		size_t i = 0;
		while (i < off && i < size && buf[i] == model[i])
			i++;
		printf("  first difference at %zu of %zu (read %zu): got %02x want %02x\n",
			i, size, off, i < off ? buf[i] : 0, i < size ? model[i] : 0);
	}
	if (ok && vault_file_read(&n, f, buf, 10, size) == 0)
		ok = n == 0;
	free(buf);
	return ok;
}

static int no_entry(const vault_stat_info *e, void *payload)
{
	(void)e;
	(void)payload;
	return 0;
}

static vault_file *open_rw(vault *v, const char *path, unsigned int extra)
{
	vault_file_options o = { VAULT_FILE_OPTIONS_VERSION, VAULT_FILE_READ | VAULT_FILE_WRITE | extra, 0, "test", NULL, 1, 0 };
	vault_file *f = NULL;

	if (vault_file_open(&f, v, path, &o) < 0) {
		fprintf(stderr, "open %s: %s\n", path, vault_error_last()->message);
		exit(1);
	}
	return f;
}

int main(int argc, char **argv)
{
	const char *dir = harness_tmpdir();
	char vdir[512], code[VAULT_CODE_SIZE], path[128];
	unsigned char *model = calloc(1, MAXSIZE), *data = malloc(MAXSIZE);
	size_t size = 0;
	vault *v;
	vault_file *f;
	vault_verify_result res;
	uint32_t ver, versions = 0;
	unsigned long long seed = argc > 1 ? strtoull(argv[1], NULL, 0) : (unsigned long long)time(NULL);
	int steps = argc > 2 ? atoi(argv[2]) : 600;
	int trace = getenv("TEST_FILE_TRACE") != NULL;

	printf("test_file: seed %llu, %d steps\n", seed, steps);
	rng_state = seed | 1;
	snprintf(vdir, sizeof vdir, "%s/v", dir);
	CHECK_RC(vault_init(&v, vdir, "dpo", "dpo-pass", 8, 0), 0);
	CHECK_RC(support_user_add(v, "alice", VAULT_ROLE_CASEWORKER, "alice-pass", 10), 0);
	CHECK_RC(vault_unlock(v, "alice", "alice-pass", 10), 0);
	CHECK_RC(vault_case_create(code, v, NULL), 0);
	snprintf(path, sizeof path, "%s/model.bin", code);

	/* A new file is a `create` event at open, then versions at commits. */
	f = open_rw(v, path, VAULT_FILE_CREATE | VAULT_FILE_EXCL);
	CHECK(vault_file_version(f) == 0 && vault_file_size(f) == 0 && !vault_file_dirty(f));
	for (int step = 0; step < steps && !harness_failures; step++) {
		unsigned op = (unsigned)(rng() % 100);
		if (op < 55) {
			/* write: small or large, anywhere up to a bit past the end */
			size_t len = rng() % 4 ? 1 + rng() % 3000 :
				rng() % 4 ? 1 + rng() % 200000 : 1 + rng() % (10 << 20);
			size_t off = (size_t)(rng() % (size + 70000));
			if (off + len > MAXSIZE)
				continue;
			for (size_t i = 0; i < len; i++)
				data[i] = (unsigned char)rng();
			if (trace)
				printf("%d write %zu+%zu (size %zu)\n", step, off, len, size);
			CHECK_RC(vault_file_write(f, data, len, off), 0);
			if (off > size)
				memset(model + size, 0, off - size);
			memcpy(model + off, data, len);
			if (off + len > size)
				size = off + len;
		} else if (op < 70) {
			size_t to = (size_t)(rng() % (size + 140000));
			if (to > MAXSIZE)
				continue;
			if (trace)
				printf("%d truncate %zu (size %zu)\n", step, to, size);
			CHECK_RC(vault_file_truncate(f, to), 0);
			if (to > size)
				memset(model + size, 0, to - size);
			size = to;
		} else if (op < 85) {
			if (trace)
				printf("%d commit\n", step);
			CHECK_RC(vault_file_commit(&ver, f), 0);
			if (ver > versions)
				versions = ver;
		} else if (op < 92) {
			/* reopen: uncommitted changes are dropped, so commit first */
			if (trace)
				printf("%d reopen\n", step);
			CHECK_RC(vault_file_commit(&ver, f), 0);
			vault_file_close(f);
			f = open_rw(v, path, 0);
		} else {
			CHECK(same_content(f, model, size));
		}
		if (trace && !same_content(f, model, size)) {
			printf("%d: content differs\n", step);
			harness_failures++;
		}
		if (harness_failures)
			fprintf(stderr, "test_file: failed at step %d (seed %llu)\n", step, seed);
	}
	CHECK_RC(vault_file_commit(&ver, f), 0);
	CHECK(same_content(f, model, size));
	vault_file_close(f);
	f = open_rw(v, path, 0);
	CHECK(same_content(f, model, size));

	/* A read-only view of version 1 cannot be written. */
	{
		vault_file_options o = { VAULT_FILE_OPTIONS_VERSION, VAULT_FILE_READ, 1, "test", NULL, 0, 0 };
		vault_file *old = NULL;
		CHECK_RC(vault_file_open(&old, v, path, &o), 0);
		CHECK_RC(vault_file_write(old, "x", 1, 0), VAULT_EACCES);
		CHECK_RC(vault_file_truncate(old, 0), VAULT_EACCES);
		vault_file_close(old);
		o.flags |= VAULT_FILE_WRITE;
		CHECK_RC(vault_file_open(&old, v, path, &o), VAULT_EUSAGE);
	}
	/* Closing without a commit drops the change. */
	CHECK_RC(vault_file_write(f, "dropped", 7, 0), 0);
	vault_file_close(f);
	f = open_rw(v, path, 0);
	CHECK(same_content(f, model, size));
	vault_file_close(f);

	/*
	 * What changes nothing records nothing: an editor's fchmod to the mode
	 * the file has after its fsync (vim does it), a time set to the time it
	 * has, a truncate to its size, a commit with no change; the same through
	 * paths, and an admin's setting set to the value it has.
	 */
	{
		char before[VAULT_OID_SIZE], after[VAULT_OID_SIZE];
		vault_file_options wo = { VAULT_FILE_OPTIONS_VERSION, VAULT_FILE_WRITE, 0, NULL, NULL, 0, 0 };
		vault_stat_info st;

		CHECK_RC(vault_stat(&st, v, path), 0);
		CHECK_RC(vault_head(before, v), 0);
		CHECK_RC(vault_file_open(&f, v, path, &wo), 0);    /* no read: no read event */
		CHECK_RC(vault_file_set_mode(f, st.mode), 0);
		CHECK_RC(vault_file_commit(NULL, f), 0);
		CHECK_RC(vault_file_set_times(f, &st.atime, &st.mtime), 0);
		CHECK_RC(vault_file_commit(NULL, f), 0);
		CHECK_RC(vault_file_truncate(f, st.size), 0);
		CHECK_RC(vault_file_commit(NULL, f), 0);
		vault_file_close(f);
		CHECK_RC(vault_chmod(v, path, st.mode), 0);
		CHECK_RC(vault_set_times(v, path, &st.atime, &st.mtime), 0);
		CHECK_RC(vault_unlock(v, "dpo", "dpo-pass", 8), 0);    /* the admin's settings */
		CHECK_RC(vault_purpose_require(v, 1), 0);    /* a new vault's */
		CHECK_RC(vault_head(after, v), 0);
		CHECK(strcmp(before, after) == 0);
		CHECK_RC(vault_setting_set(v, "bulk-read-count", "31"), 0);
		CHECK_RC(vault_head(before, v), 0);
		CHECK_RC(vault_setting_set(v, "bulk-read-count", "31"), 0);
		CHECK_RC(vault_head(after, v), 0);
		CHECK(strcmp(before, after) == 0);
		CHECK_RC(vault_unlock(v, "alice", "alice-pass", 10), 0);
	}
	/*
	 * Times before 1970, to the nanosecond (utimensat may set them; a
	 * rename over a file gives it its source's): a version made with one
	 * verifies, and reads back as set. A time past what nanoseconds since
	 * 1970 hold is refused, not wrapped to another time.
	 */
	{
		vault_file_options wo = { VAULT_FILE_OPTIONS_VERSION, VAULT_FILE_WRITE, 0, NULL, NULL, 0, 0 };
		vault_time old = { -2, 500000000 }, far = { INT64_MAX / 1000000000, 0 };
		vault_time far_back = { INT64_MIN / 1000000000 - 1, 0 };
		vault_stat_info st;

		CHECK_RC(vault_file_open(&f, v, path, &wo), 0);
		CHECK_RC(vault_file_write(f, "before 1970", 11, 0), 0);
		CHECK_RC(vault_file_set_times(f, NULL, &old), 0);
		CHECK_RC(vault_file_commit(NULL, f), 0);
		CHECK_RC(vault_file_set_times(f, &far, NULL), VAULT_EUSAGE);
		CHECK_RC(vault_file_set_times(f, NULL, &far_back), VAULT_EUSAGE);
		vault_file_close(f);
		CHECK_RC(vault_stat(&st, v, path), 0);
		CHECK(st.mtime.sec == -2 && st.mtime.nsec == 500000000);
		CHECK_RC(vault_set_times(v, path, NULL, &far), VAULT_EUSAGE);
		CHECK_RC(vault_set_times(v, path, &far_back, NULL), VAULT_EUSAGE);
		CHECK_RC(vault_stat(&st, v, path), 0);
		CHECK(st.mtime.sec == -2 && st.mtime.nsec == 500000000);
	}
	/* Options of a version this library does not know are refused. */
	{
		vault_file_options fo = VAULT_FILE_OPTIONS_INIT;
		vault_get_options go = VAULT_GET_OPTIONS_INIT;
		vault_at_options ao = VAULT_AT_OPTIONS_INIT;
		mem_sink sink = { 0 };
		vault_file *g = NULL;

		fo.version++;
		fo.flags = VAULT_FILE_READ;
		CHECK_RC(vault_file_open(&g, v, path, &fo), VAULT_EUSAGE);
		go.version++;
		CHECK_RC(vault_get(v, path, &go, mem_sink_write, &sink), VAULT_EUSAGE);
		ao.version++;
		CHECK_RC(vault_list_at(v, code, &ao, no_entry, NULL), VAULT_EUSAGE);
		vault_file_close(g);
		mem_sink_free(&sink);
	}
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	printf("test_file: %u versions, final size %zu, %llu events verified\n",
		versions, size, (unsigned long long)res.events);
	vault_close(v);
	free(model);
	free(data);
	return harness_done("test_file");
}
