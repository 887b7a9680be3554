/* A chunked dataset's whole chunk index, read once from the file's bytes.

   HDF5 1.10 has no call that lists a dataset's chunks: H5Dget_chunk_info_by_coord walks the
   chunk index from its first chunk until it meets the one asked for, so looking up every chunk
   of a file costs N^2 / 2 steps (3.75 ns each here: 0.03 ms a lookup at 8,000 chunks; a real
   sequence file of a few hundred trains x 352 cells holds ~90,000 chunks per dataset, 0.3 ms a
   lookup, ~30 s per dataset). H5Dchunk_iter, which lists them in one walk, came with HDF5
   1.14. Here the index is read as HDF5 1.10 writes it by default: the dataset's object header
   (version 1 or 2) holds a data layout message of version 3 whose chunked layout points to a
   version-1 B-tree of raw-data chunks (HDF5 File Format Specification, sections III.A.1 "B-tree
   nodes version 1", IV.A "Data object headers", IV.A.2.i "The Data Layout Message"). One walk
   of the tree gives every chunk's address, stored size and filter mask. The 1.10 format's fixed
   array (a layout message of version 4, a dataset without an unlimited dimension, written with
   libver 'latest') is read too. Anything else (its extensible arrays and version-2 B-trees, other
   sizes of offsets, a node that does not parse, a
   chunk the tree lists twice or outside the dataset) returns 1 and leaves the arrays as they
   were: the per-chunk lookups then stay. After a walk, the first and the last chunk found are
   checked against H5Dget_chunk_info_by_coord (one walk of HDF5's own). */
#include "readerimpl.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MX_IDX_MAXBLOCKS 64      /* object header blocks followed (continuation messages) */
#define MX_IDX_MAXBLOCK  1048576 /* bytes of one object header block */
#define MX_IDX_MAXDEPTH  32      /* B-tree levels */
#define MX_IDX_MAXENTRY  4096    /* entries of one B-tree node (2K; HDF5's default K is 32) */

static uint16_t Le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t Le32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t Le64(const unsigned char *p) { return (uint64_t)Le32(p) | (uint64_t)Le32(p + 4) << 32; }

typedef struct {
  int        fd;
  uint64_t   fsize;
  size_t     c0, nchunks;
  int        ndims; /* the B-tree key's offsets: the dataset's rank + 1 */
  uint64_t  *caddr;
  uint32_t  *csize;
  uint64_t   notdirect;
  size_t     found;
  long long  first, last; /* chunks found with the lowest and highest index */
} MxIdx;

/* n bytes at addr, all within the file: 0, else 1 */
static int ReadAt(const MxIdx *x, uint64_t addr, void *buf, size_t n)
{
  if (addr > x->fsize || n > x->fsize - addr) return 1;
  return MxPreadAll(x->fd, buf, n, addr);
}

/* The data layout message (type 8) of the object header at oh: its bytes (at most cap) into
   msg. Version-1 headers: a 16-byte prefix, then messages of 8 + size bytes (type 2 bytes,
   size 2, flags 1, reserved 3); version 2: "OHDR", the prefix, messages of 4 (+ 2 with creation
   order) + size bytes (type 1, size 2, flags 1), each block ending in a checksum. Continuation
   messages (type 0x10: address, length) add blocks ("OCHK" + messages + checksum in version 2). */
static int FindLayout(const MxIdx *x, uint64_t oh, unsigned char *msg, size_t cap, size_t *len)
{
  unsigned char pre[64];
  uint64_t      baddr[MX_IDX_MAXBLOCKS], blen[MX_IDX_MAXBLOCKS];
  int           nb = 0, v2, order = 0;
  size_t        npre = (size_t)(x->fsize - oh < sizeof pre ? x->fsize - oh : sizeof pre);

  if (oh >= x->fsize || npre < 16 || ReadAt(x, oh, pre, npre)) return 1;
  if (pre[0] == 1) { /* version 1 */
    v2       = 0;
    baddr[0] = oh + 16;
    blen[0]  = Le32(pre + 8);
  } else if (!memcmp(pre, "OHDR", 4) && pre[4] == 2) {
    const unsigned flags = pre[5];
    size_t         p     = 6 + (flags & 0x20 ? 16 : 0) + (flags & 0x10 ? 4 : 0);
    const size_t   w     = (size_t)1 << (flags & 3);
    uint64_t       s     = 0;
    if (p + w > npre) return 1;
    for (size_t k = 0; k < w; k++) s |= (uint64_t)pre[p + k] << (8 * k);
    v2       = 1;
    order    = (flags & 0x04) != 0;
    baddr[0] = oh + p + w;
    blen[0]  = s; /* the messages and the gap; the checksum follows */
  } else return 1;
  nb = 1;
  for (int b = 0; b < nb; b++) {
    unsigned char *buf;
    const uint64_t n = blen[b];
    const int      ochk = v2 && b > 0; /* "OCHK", messages, checksum */
    if (n > MX_IDX_MAXBLOCK || (ochk && n < 8) || !(buf = malloc(n ? n : 1))) return 1;
    if (ReadAt(x, baddr[b], buf, n) || (ochk && memcmp(buf, "OCHK", 4))) {
      free(buf);
      return 1;
    }
    const size_t hs = v2 ? 4 + (order ? 2 : 0) : 8, end = ochk ? n - 4 : n;
    for (size_t p = ochk ? 4 : 0; p + hs <= end;) {
      const unsigned type = v2 ? buf[p] : Le16(buf + p);
      const size_t   sz   = v2 ? Le16(buf + p + 1) : Le16(buf + p + 2);
      const unsigned char *d = buf + p + hs;
      if (p + hs + sz > end) break; /* a gap too short for a message */
      if (type == 8) {
        if (sz > cap) {
          free(buf);
          return 1;
        }
        memcpy(msg, d, sz);
        *len = sz;
        free(buf);
        return 0;
      }
      if (type == 0x10) {
        if (sz < 16 || nb == MX_IDX_MAXBLOCKS) {
          free(buf);
          return 1;
        }
        baddr[nb] = Le64(d);
        blen[nb]  = Le64(d + 8);
        nb++;
      }
      p += hs + sz;
    }
    free(buf);
  }
  return 1;
}

/* Chunk c found at addr, size bytes stored, filter mask fm: recorded (0), or 1 when it lies
   outside the dataset or the file, or was found before */
static int Chunk(MxIdx *x, uint64_t c, uint64_t addr, uint64_t size, uint32_t fm)
{
  if (c >= x->nchunks || x->caddr[c] || size == 0 || size > UINT32_MAX || addr > x->fsize || size > x->fsize - addr) return 1;
  x->caddr[c] = fm == 0 ? addr : x->notdirect;
  x->csize[c] = (uint32_t)size;
  x->found++;
  if (x->first < 0 || (long long)c < x->first) x->first = (long long)c;
  if ((long long)c > x->last) x->last = (long long)c;
  return 0;
}

/* The B-tree node at addr (of level `level`, or any at the root: -1) and its subtree. A node:
   "TREE", type 1 (raw-data chunks), level, entries used, two sibling addresses, then keys and
   children alternating (key 0, child 0, ..., key n); a key: chunk size (4 bytes), filter mask
   (4), the chunk's offset in elements in each of ndims dimensions (8 each). */
static int Node(MxIdx *x, uint64_t addr, int level, int depth)
{
  unsigned char h[24], *buf;
  if (depth > MX_IDX_MAXDEPTH || ReadAt(x, addr, h, sizeof h)) return 1;
  if (memcmp(h, "TREE", 4) || h[4] != 1 || (level >= 0 && h[5] != level)) return 1;
  const int    lev = h[5], n = Le16(h + 6);
  const size_t ks = 8 + 8 * (size_t)x->ndims, bytes = (size_t)n * (ks + 8) + ks;
  if (n > MX_IDX_MAXENTRY || !(buf = malloc(bytes))) return 1;
  if (ReadAt(x, addr + sizeof h, buf, bytes)) {
    free(buf);
    return 1;
  }
  int err = 0;
  for (int i = 0; i < n && !err; i++) {
    const unsigned char *key = buf + (size_t)i * (ks + 8);
    const uint64_t       child = Le64(key + ks);
    if (lev > 0) {
      err = Node(x, child, lev - 1, depth + 1);
      continue;
    }
    const uint32_t size = Le32(key), fm = Le32(key + 4);
    const uint64_t o0   = Le64(key + 8);
    for (int k = 1; k < x->ndims; k++) err |= Le64(key + 8 + 8 * (size_t)k) != 0;
    if (err || o0 % x->c0) {
      err = 1;
      break;
    }
    if ((err = Chunk(x, o0 / x->c0, child, size, fm))) break;
  }
  free(buf);
  return err;
}

/* A fixed array of chunks (layout version 4, index type 3: the 1.10 format of a dataset without
   an unlimited dimension; HDF5 File Format Specification VII.B and H5FAcache.c): a header "FAHD"
   (version 0, client 0 = chunks unfiltered or 1 = filtered, entry size, page bits, entries, the
   data block's address, checksum) and a data block "FADB" (version, client, the header's
   address, a bitmap of the pages written when it is paged, the entries when it is not, its
   checksum); pages of 2^page_bits entries follow the block, each with its checksum. An entry:
   the chunk's address (undefined: not written), and when filtered its stored size (entry size
   - 12 bytes) and filter mask. Entry c is chunk c. */
static int FixedArray(MxIdx *x, uint64_t hdr, uint64_t chunk_bytes)
{
  unsigned char h[28], b[18];
  if (ReadAt(x, hdr, h, sizeof h) || memcmp(h, "FAHD", 4) || h[4] != 0) return 1;
  const unsigned client = h[5], esize = h[6], pbits = h[7];
  const uint64_t n = Le64(h + 8), dblk = Le64(h + 16);
  if (client > 1 || n != x->nchunks || pbits > 30 || esize != (client ? esize : 8u) || (client && (esize < 13 || esize > 20))) return 1;
  if (dblk == UINT64_MAX) return 0; /* no chunk written */
  const uint64_t psize = (uint64_t)1 << pbits, npages = n > psize ? (n + psize - 1) / psize : 0, nbits = (npages + 7) / 8;
  if (ReadAt(x, dblk, b, sizeof b - 4) || memcmp(b, "FADB", 4) || b[4] != 0 || b[5] != client || Le64(b + 6) != hdr) return 1;
  unsigned char *bits = NULL, *e = malloc((npages ? psize : n) * esize + 1);
  int            err  = !e;
  if (!err && npages && (!(bits = malloc(nbits)) || ReadAt(x, dblk + 14, bits, nbits))) err = 1;
  /* unpaged: the entries after the prefix; paged: page p at the block's end + p pages */
  const uint64_t base = dblk + 14 + (npages ? nbits + 4 : 0);
  for (uint64_t p = 0; p < (npages ? npages : 1) && !err; p++) {
    const uint64_t c0 = p * psize, m = npages ? (n - c0 < psize ? n - c0 : psize) : n;
    if (npages && !(bits[p / 8] & (0x80u >> (p % 8)))) continue; /* a page never written */
    if (ReadAt(x, base + p * (psize * esize + 4), e, m * esize)) {
      err = 1;
      break;
    }
    for (uint64_t i = 0; i < m && !err; i++) {
      const unsigned char *q    = e + i * esize;
      const uint64_t       addr = Le64(q);
      uint64_t             size = chunk_bytes;
      uint32_t             fm   = 0;
      if (addr == UINT64_MAX) continue; /* not written */
      if (client) {
        size = 0;
        for (unsigned k = 0; k < esize - 12; k++) size |= (uint64_t)q[8 + k] << (8 * k);
        fm = Le32(q + esize - 4);
      }
      err = Chunk(x, c0 + i, addr, size, fm);
    }
  }
  free(e);
  free(bits);
  return err;
}

/* What H5Dget_chunk_info_by_coord says of chunk c, as the index has it: 0 agrees */
static int Check(hid_t d, const MxIdx *x, long long c)
{
  hsize_t  off[3] = {(hsize_t)c * x->c0, 0, 0}, sz = 0;
  unsigned fm     = 0;
  haddr_t  a      = HADDR_UNDEF;
  if (H5Dget_chunk_info_by_coord(d, off, &fm, &a, &sz) < 0 || a == HADDR_UNDEF) return 1;
  return sz != x->csize[c] || (fm == 0 ? (uint64_t)a != x->caddr[c] : x->caddr[c] != x->notdirect);
}

int MxH5ChunkIndex(hid_t d, int fd, size_t c0, size_t nchunks, uint64_t *caddr, uint32_t *csize, uint64_t notdirect)
{
  /* (c0, 512, 128) chunks of 4-byte elements: the direct reader's layouts */
#if H5_VERSION_GE(1, 12, 0)
  (void)d; (void)fd; (void)c0; (void)nchunks; (void)caddr; (void)csize; (void)notdirect;
  return 1; /* H5Oget_info's address is a token there (and 1.14 has H5Dchunk_iter): not covered */
#else
  MxIdx         x = {fd, 0, c0, nchunks, 0, NULL, NULL, notdirect, 0, -1, -1};
  H5O_info_t    oi;
  hid_t         f, fcpl;
  size_t        soff = 0, slen = 0, len = 0;
  unsigned char lay[256];
  struct stat   st;

  if (c0 == 0 || nchunks == 0 || fstat(fd, &st) || st.st_size <= 0) return 1;
  x.fsize = (uint64_t)st.st_size;
  if ((f = H5Iget_file_id(d)) < 0) return 1;
  fcpl = H5Fget_create_plist(f);
  H5Fclose(f);
  if (fcpl < 0) return 1;
  if (H5Pget_sizes(fcpl, &soff, &slen) < 0) soff = 0;
  H5Pclose(fcpl);
  if (soff != 8 || H5Oget_info2(d, &oi, H5O_INFO_BASIC) < 0 || oi.addr == HADDR_UNDEF) return 1;
  if (FindLayout(&x, (uint64_t)oi.addr, lay, sizeof lay, &len)) return 1;
  /* version 3, chunked: dimensionality (rank + 1), the B-tree's address, the chunk's size in
     each dimension (4 bytes each; the last is the element's size). Version 4, chunked: flags,
     dimensionality, the bytes of each size, the sizes, the index type (3: a fixed array, its
     page bits), the index's address. */
  uint64_t cd[4], root;
  int      fixed = 0;
  if (len >= 27 && lay[0] == 3 && lay[1] == 2 && lay[2] == 4) {
    for (int k = 0; k < 4; k++) cd[k] = Le32(lay + 11 + 4 * k);
    root = Le64(lay + 3);
  } else if (len >= 6 && lay[0] == 4 && lay[1] == 2 && lay[3] == 4 && lay[4] >= 1 && lay[4] <= 8 && len >= 5 + 4 * (size_t)lay[4] + 10) {
    const size_t w = lay[4], p = 5 + 4 * w;
    for (int k = 0; k < 4; k++) {
      cd[k] = 0;
      for (size_t b = 0; b < w; b++) cd[k] |= (uint64_t)lay[5 + w * (size_t)k + b] << (8 * b);
    }
    if (lay[p] != 3) return 1; /* single chunk, implicit, extensible array, version-2 B-tree: not read here */
    root  = Le64(lay + p + 2);
    fixed = 1;
  } else return 1;
  x.ndims = 4;
  if (cd[0] != c0 || cd[1] != 512 || cd[2] != 128 || cd[3] != 4) return 1;
  uint64_t *sa  = calloc(nchunks, sizeof *sa);
  uint32_t *ss  = calloc(nchunks, sizeof *ss);
  int       err = !sa || !ss;
  x.caddr       = sa;
  x.csize       = ss;
  if (!err && root != UINT64_MAX) err = fixed ? FixedArray(&x, root, (uint64_t)c0 * 512 * 128 * 4) : Node(&x, root, -1, 0); /* UINT64_MAX: no chunk written yet */
  if (!err && x.found) err = Check(d, &x, x.first) || Check(d, &x, x.last);
  if (!err) {
    for (size_t c = 0; c < nchunks; c++) {
      caddr[c] = sa[c] ? sa[c] : notdirect; /* not in the index: not allocated */
      csize[c] = ss[c];
    }
  }
  free(sa);
  free(ss);
  return err ? 1 : 0;
#endif
}
