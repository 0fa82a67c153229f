/*
 * pack — a git pack and its v2 index, written by hand for `audit export`.
 * Every object goes in whole (undeltified): commits and blobs deflated at
 * zlib's fastest level, trees stored as they are (they are mostly object
 * ids, which do not compress). The checksums of the pack and of its index
 * are taken as they are written. The objects come from the caller, one at
 * a time, in the order it chose; nothing here reads the vault.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <git2.h>

#include "pack.h"
#include "sha1.h"
#include "store.h"
#include "util/errors.h"

/* ---- a new file, written through a buffer and hashed as it goes --------- */

typedef struct {
	int fd;
	const char *path;
	vault_sha1_ctx sha;
	uint64_t off;                /* bytes written so far */
	size_t fill;
	unsigned char buf[1 << 20];
} writer;

static int writer_flush(writer *w)
{
	size_t done = 0;

	vault_sha1__update(&w->sha, w->buf, w->fill);
	while (done < w->fill) {
		ssize_t n = write(w->fd, w->buf + done, w->fill - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return vault_error_set(errno == ENOSPC ? VAULT_ENOSPC : VAULT_ERROR,
				"cannot write '%s': %s", w->path, strerror(errno));
		done += (size_t)n;
	}
	w->fill = 0;
	return 0;
}

static int writer_put(writer *w, const void *data, size_t n)
{
	const unsigned char *p = data;

	while (n) {
		size_t take = sizeof w->buf - w->fill < n ? sizeof w->buf - w->fill : n;
		memcpy(w->buf + w->fill, p, take);
		w->fill += take;
		w->off += take;
		p += take;
		n -= take;
		if (w->fill == sizeof w->buf && writer_flush(w) < 0)
			return VAULT_ERROR;
	}
	return 0;
}

static int writer_be32(writer *w, uint32_t v)
{
	unsigned char b[4];

	be32_put(b, v);
	return writer_put(w, b, 4);
}

/* Flush, then the checksum of everything written (not itself hashed). */
static int writer_finish(unsigned char sum[20], writer *w)
{
	if (writer_flush(w) < 0)
		return VAULT_ERROR;
	vault_sha1__final(sum, &w->sha);
	memcpy(w->buf, sum, 20);
	w->fill = 20;
	w->off += 20;
	if (writer_flush(w) < 0)
		return VAULT_ERROR;
	if (fsync(w->fd) != 0)
		return vault_error_set(VAULT_ERROR, "cannot write '%s': %s", w->path, strerror(errno));
	return 0;
}

static int open_temp(writer *w, char *path)
{
	w->fd = mkstemp(path);
	w->path = path;
	w->off = 0;
	w->fill = 0;
	vault_sha1__init(&w->sha);
	if (w->fd < 0)
		return vault_error_set(VAULT_ERROR, "cannot create '%s': %s", path, strerror(errno));
	return 0;
}

static int close_temp(writer *w)
{
	int rc = 0;

	if (w->fd >= 0) {
		if (fchmod(w->fd, 0444) != 0 || close(w->fd) != 0)
			rc = vault_error_set(VAULT_ERROR, "cannot write '%s': %s", w->path, strerror(errno));
		w->fd = -1;
	}
	return rc;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY), rc = 0;

	if (fd < 0 || fsync(fd) != 0)
		rc = vault_error_set(VAULT_ERROR, "cannot sync '%s': %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- an object in the pack ---------------------------------------------- */

/* Append to the writer, and to the object's crc32. */
static int put_crc(uLong *crc, writer *w, const void *data, size_t n)
{
	*crc = crc32(*crc, data, (uInt)n);
	return writer_put(w, data, n);
}

/*
 * A zlib stream of stored (uncompressed) blocks. Trees are mostly object
 * ids, which do not compress; storing them costs a copy, not a search.
 */
static int put_stored(uLong *crc, writer *w, const unsigned char *data, size_t len)
{
	static const unsigned char head[2] = { 0x78, 0x01 };
	unsigned char b[5], sum[4];
	uLong adler = adler32(adler32(0, NULL, 0), data, (uInt)len);
	int error = put_crc(crc, w, head, 2);

	do {
		size_t n = len > 65535 ? 65535 : len;

		b[0] = n == len;      /* the last block */
		b[1] = (unsigned char)n;
		b[2] = (unsigned char)(n >> 8);
		b[3] = (unsigned char)~n;
		b[4] = (unsigned char)(~n >> 8);
		if (error == 0)
			error = put_crc(crc, w, b, 5);
		if (error == 0)
			error = put_crc(crc, w, data, n);
		data += n;
		len -= n;
	} while (len && error == 0);
	be32_put(sum, (uint32_t)adler);
	return error < 0 ? error : put_crc(crc, w, sum, 4);
}

/* Commits and blobs: text, deflated fast straight into the writer. */
static int put_deflated(uLong *crc, writer *w, z_stream *zs, const unsigned char *data, size_t len)
{
	int zrc;

	if (deflateReset(zs) != Z_OK)
		return vault_error_set(VAULT_ERROR, "export: cannot compress an object");
	zs->next_in = (Bytef *)data;
	zs->avail_in = 0;
	do {
		unsigned char *out;
		size_t chunk = len > (1u << 30) ? (1u << 30) : len, n;

		if (zs->avail_in == 0 && chunk) {
			zs->next_in = (Bytef *)data;
			zs->avail_in = (uInt)chunk;
			data += chunk;
			len -= chunk;
		}
		if (w->fill == sizeof w->buf && writer_flush(w) < 0)
			return VAULT_ERROR;
		out = w->buf + w->fill;
		zs->next_out = out;
		zs->avail_out = (uInt)(sizeof w->buf - w->fill);
		zrc = deflate(zs, len ? Z_NO_FLUSH : Z_FINISH);
		if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR)
			return vault_error_set(VAULT_ERROR, "export: cannot compress an object");
		n = (size_t)(zs->next_out - out);
		*crc = crc32(*crc, out, (uInt)n);
		w->fill += n;
		w->off += n;
	} while (zrc != Z_STREAM_END);
	return 0;
}

/* One object: its type-and-size header, then its deflated data. */
static int pack_object(writer *w, z_stream *zs, vault_pack__entry *e,
	vault_pack__source_fn source, void *payload)
{
	const unsigned char *data;
	unsigned char hdr[16];
	size_t len, n = 0, size;
	uLong crc;
	int type, error;

	if ((error = source(&data, &len, &type, e, payload)) < 0)
		return error;
	e->off = w->off;
	size = len;
	hdr[n++] = (unsigned char)((type << 4) | (size & 0x0f) | (size > 0x0f ? 0x80 : 0));
	for (size >>= 4; size; size >>= 7)
		hdr[n++] = (unsigned char)((size & 0x7f) | (size > 0x7f ? 0x80 : 0));
	crc = crc32(0, hdr, (uInt)n);
	if ((error = writer_put(w, hdr, n)) < 0)
		return error;
	if (type == GIT_OBJECT_TREE)
		error = put_stored(&crc, w, data, len);
	else
		error = put_deflated(&crc, w, zs, data, len);
	if (error < 0)
		return error;
	e->crc = (uint32_t)crc;
	return 0;
}

/* ---- the index ---------------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(((const vault_pack__entry *)a)->id, ((const vault_pack__entry *)b)->id, 20);
}

static int write_index(unsigned char sum[20], writer *w, vault_pack__entry *e, size_t n,
	const unsigned char packsum[20])
{
	static const unsigned char magic[8] = { 0xff, 't', 'O', 'c', 0, 0, 0, 2 };
	uint32_t fan[256] = { 0 }, large = 0;
	int error = writer_put(w, magic, sizeof magic);

	for (size_t i = 0; i < n; i++)
		fan[e[i].id[0]]++;
	for (int i = 1; i < 256; i++)
		fan[i] += fan[i - 1];
	for (int i = 0; i < 256 && error == 0; i++)
		error = writer_be32(w, fan[i]);
	for (size_t i = 0; i < n && error == 0; i++)
		error = writer_put(w, e[i].id, 20);
	for (size_t i = 0; i < n && error == 0; i++)
		error = writer_be32(w, e[i].crc);
	for (size_t i = 0; i < n && error == 0; i++)
		error = writer_be32(w, e[i].off < 0x80000000u ? (uint32_t)e[i].off :
			0x80000000u | large++);
	for (size_t i = 0; i < n && error == 0; i++)
		if (e[i].off >= 0x80000000u) {
			error = writer_be32(w, (uint32_t)(e[i].off >> 32));
			if (error == 0)
				error = writer_be32(w, (uint32_t)e[i].off);
		}
	if (error == 0)
		error = writer_put(w, packsum, 20);
	return error < 0 ? error : writer_finish(sum, w);
}

/* ---- the pack ----------------------------------------------------------- */

int vault_pack__write(const char *gitdir, vault_pack__entry *e, size_t n, uint64_t count,
	vault_pack__source_fn source, void *payload)
{
	writer *w = malloc(sizeof *w);
	z_stream zs;
	unsigned char hdr[12] = { 'P', 'A', 'C', 'K', 0, 0, 0, 2 }, packsum[20], idxsum[20];
	char packdir[4200], tmp_pack[4300], tmp_idx[4300], final[4400], hex[41];
	size_t packed = 0;
	int error, zinit = 0;

	tmp_pack[0] = tmp_idx[0] = '\0';
	if (!w)
		return vault_error_set_oom();
	w->fd = -1;
	memset(&zs, 0, sizeof zs);
	if (deflateInit2(&zs, 1, Z_DEFLATED, 15, 4, Z_DEFAULT_STRATEGY) != Z_OK) {
		error = vault_error_set(VAULT_ERROR, "export: cannot start compression");
		goto done;
	}
	zinit = 1;
	snprintf(packdir, sizeof packdir, "%s/objects/pack", gitdir);
	if (mkdir(packdir, 0755) != 0 && errno != EEXIST) {
		error = vault_error_set(VAULT_ERROR, "cannot create '%s': %s", packdir, strerror(errno));
		goto done;
	}
	snprintf(tmp_pack, sizeof tmp_pack, "%s/tmp_pack_XXXXXX", packdir);
	if ((error = open_temp(w, tmp_pack)) < 0)
		goto done;
	be32_put(hdr + 8, (uint32_t)count);
	if ((error = writer_put(w, hdr, sizeof hdr)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++)
		if (e[i].off != VAULT_PACK_SKIP &&
		    (error = pack_object(w, &zs, &e[i], source, payload)) < 0)
			goto done;
	if ((error = writer_finish(packsum, w)) < 0 || (error = close_temp(w)) < 0)
		goto done;

	/* The index: the packed entries sorted by id. */
	for (size_t i = 0; i < n; i++)
		if (e[i].off != VAULT_PACK_SKIP)
			e[packed++] = e[i];
	qsort(e, packed, sizeof *e, entry_cmp);
	snprintf(tmp_idx, sizeof tmp_idx, "%s/tmp_idx_XXXXXX", packdir);
	if ((error = open_temp(w, tmp_idx)) < 0 ||
	    (error = write_index(idxsum, w, e, packed, packsum)) < 0 ||
	    (error = close_temp(w)) < 0)
		goto done;

	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", packsum[i]);
	snprintf(final, sizeof final, "%s/pack-%s.pack", packdir, hex);
	if (rename(tmp_pack, final) != 0) {
		error = vault_error_set(VAULT_ERROR, "cannot write '%s': %s", final, strerror(errno));
		goto done;
	}
	tmp_pack[0] = '\0';
	snprintf(final, sizeof final, "%s/pack-%s.idx", packdir, hex);
	if (rename(tmp_idx, final) != 0) {
		error = vault_error_set(VAULT_ERROR, "cannot write '%s': %s", final, strerror(errno));
		goto done;
	}
	tmp_idx[0] = '\0';
	error = sync_dir(packdir);
done:
	if (w->fd >= 0)
		close(w->fd);
	if (tmp_pack[0])
		unlink(tmp_pack);
	if (tmp_idx[0])
		unlink(tmp_idx);
	if (zinit)
		deflateEnd(&zs);
	free(w);
	return error;
}
