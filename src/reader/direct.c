/* Direct reads of corrected AGIPD frames at memory speed.

   HDF5's own read path costs most of a corrected run's read time: every deflated mask chunk
   goes through zlib (inflate + adler32) and the filter pipeline, and every frame through the
   hyperslab machinery. Here the main thread asks HDF5 once per chunk where it is in the file
   (H5Dget_chunk_info_by_coord; contiguous datasets: H5Dget_offset), and a reader thread per rank
   reads the bytes with pread() straight into the gather buffer (uncompressed data) or inflates
   them with libdeflate (ISA-L or zlib by -reader_inflate). A mask chunk whose compressed bytes
   equal those of the same memory cell's chunk in the previous train is not inflated again: its
   decoded flags are reused (masks are nearly static per cell). The thread makes no HDF5 and no
   MPI call, so MPI stays funnelled and HDF5 needs no thread safety; reading train n+1 overlaps
   the correlation of train n. Layouts this does not cover (other filters, chunk shapes, types,
   raw data) take HDF5's path in reader.c; both give the same bits (tests/peer/check_direct.py).

   The worker thread allocates with malloc(): PetscMalloc's debug tracking is not thread-safe. */
#include "readerimpl.h"
#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <zlib.h>

#define MX_MODBYTES4 ((size_t)MX_MODPIX * 4)
#define MX_NOTDIRECT UINT64_MAX

/* ---------------------------------------------------------------- kernels */

struct _MxInflater {
  MxInflateKind                  kind;
  struct libdeflate_decompressor *ld;
  struct inflate_state           *isal;
};

int MxInflaterCreate(MxInflateKind kind, MxInflater *out)
{
  MxInflater x = calloc(1, sizeof *x);
  if (!x) return 1;
  x->kind = kind;
  if (kind == MX_INFLATE_LIBDEFLATE && !(x->ld = libdeflate_alloc_decompressor())) {
    free(x);
    return 1;
  }
  if (kind == MX_INFLATE_ISAL && !(x->isal = malloc(sizeof *x->isal))) {
    free(x);
    return 1;
  }
  *out = x;
  return 0;
}

void MxInflaterDestroy(MxInflater *inf)
{
  if (!*inf) return;
  if ((*inf)->ld) libdeflate_free_decompressor((*inf)->ld);
  free((*inf)->isal);
  free(*inf);
  *inf = NULL;
}

/* A zlib stream (RFC 1950, as HDF5's deflate filter writes it) whose adler32 is checked; the
   output must be exactly outlen bytes. */
int MxInflate(MxInflater x, const void *in, size_t inlen, void *out, size_t outlen)
{
  switch (x->kind) {
  case MX_INFLATE_LIBDEFLATE: {
    size_t got = 0;
    return libdeflate_zlib_decompress(x->ld, in, inlen, out, outlen, &got) != LIBDEFLATE_SUCCESS || got != outlen;
  }
  case MX_INFLATE_ISAL: {
    struct inflate_state *s = x->isal;
    isal_inflate_init(s);
    s->next_in   = (uint8_t *)in;
    s->avail_in  = (uint32_t)inlen;
    s->next_out  = out;
    s->avail_out = (uint32_t)outlen;
    s->crc_flag  = ISAL_ZLIB;
    int e        = isal_inflate(s);
    return e != ISAL_DECOMP_OK || s->block_state != ISAL_BLOCK_FINISH || s->avail_out != 0;
  }
  case MX_INFLATE_ZLIB: {
    uLongf got = (uLongf)outlen;
    return uncompress(out, &got, in, (uLong)inlen) != Z_OK || got != outlen;
  }
  }
  return 1;
}

/* HDF5's shuffle filter stores byte b of element i at b * n + i; trailing bytes stay as they are. */
void MxUnshuffle(const unsigned char *in, size_t nbytes, size_t elsize, unsigned char *out)
{
  size_t n = nbytes / elsize;
  if (elsize == 4) {
    const unsigned char *b0 = in, *b1 = in + n, *b2 = in + 2 * n, *b3 = in + 3 * n;
    for (size_t i = 0; i < n; i++) {
      out[4 * i]     = b0[i];
      out[4 * i + 1] = b1[i];
      out[4 * i + 2] = b2[i];
      out[4 * i + 3] = b3[i];
    }
  } else
    for (size_t b = 0; b < elsize; b++)
      for (size_t i = 0; i < n; i++) out[i * elsize + b] = in[b * n + i];
  memcpy(out + n * elsize, in + n * elsize, nbytes - n * elsize);
}

/* One frame's rows as the reader delivers them: bad = flagged (user mask um, file mask fl; either
   may be NULL) or not finite; v = 0 where bad, else v * scale. Returns how many values were not
   finite where nothing flagged them. Branch-free on the bits, so that it vectorises; the same
   result as the scalar `isfinite` form of the HDF5 path, bit for bit. */
static inline size_t FinishKernel(float *restrict v, unsigned char *restrict b, const uint8_t *restrict um, const unsigned char *restrict fl, size_t n, float scale, int has_um, int has_fl)
{
  size_t cnt = 0;
  for (size_t p = 0; p < n; p++) {
    uint32_t u;
    memcpy(&u, &v[p], 4);
    unsigned nf  = (u & 0x7f800000u) == 0x7f800000u;
    unsigned flg = (has_um ? um[p] != 0 : 0) | (has_fl ? fl[p] != 0 : 0);
    unsigned bd  = nf | flg;
    float    x   = v[p] * scale;
    b[p]         = (unsigned char)bd;
    cnt += nf & (flg ^ 1u);
    v[p] = bd ? 0.0f : x;
  }
  return cnt;
}

size_t MxReaderFinishRows(float *v, unsigned char *b, const uint8_t *um, const unsigned char *fl, size_t n, float scale)
{
  if (um && fl) return FinishKernel(v, b, um, fl, n, scale, 1, 1);
  if (um) return FinishKernel(v, b, um, NULL, n, scale, 1, 0);
  if (fl) return FinishKernel(v, b, NULL, fl, n, scale, 0, 1);
  return FinishKernel(v, b, NULL, NULL, n, scale, 0, 0);
}

/* ---------------------------------------------------------------- per file, main thread */

/* What the direct path needs to know of one (N, 512, 128) image dataset; ok = 0 when it does
   not cover it. */
static void DsetSetUp(hid_t f, const char path[], int is_mask, MxDirectDset *D)
{
  hid_t   dcpl = -1, type = -1, space = -1;
  hsize_t dims[3], cdims[3];

  memset(D, 0, sizeof *D);
  D->d = H5Dopen2(f, path, H5P_DEFAULT);
  if (D->d < 0) return;
  space = H5Dget_space(D->d);
  type  = H5Dget_type(D->d);
  dcpl  = H5Dget_create_plist(D->d);
  if (space < 0 || type < 0 || dcpl < 0) goto done;
  if (H5Sget_simple_extent_ndims(space) != 3) goto done;
  H5Sget_simple_extent_dims(space, dims, NULL);
  if (dims[1] != MX_NSS || dims[2] != MX_NFS) goto done;
  if (is_mask ? !(H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == 4 && H5Tget_order(type) == H5T_ORDER_LE) : H5Tequal(type, H5T_IEEE_F32LE) <= 0) goto done;
  D->elsize = 4;
  D->nrows  = dims[0];
  switch (H5Pget_layout(dcpl)) {
  case H5D_CONTIGUOUS: {
    haddr_t a = H5Dget_offset(D->d);
    if (a == HADDR_UNDEF) goto done;
    D->contiguous = 1;
    D->addr       = (uint64_t)a;
    D->c0         = 1;
    break;
  }
  case H5D_CHUNKED: {
    int nfilt = H5Pget_nfilters(dcpl);
    if (H5Pget_chunk(dcpl, 3, cdims) != 3 || cdims[1] != MX_NSS || cdims[2] != MX_NFS || cdims[0] < 1) goto done;
    for (int i = 0; i < nfilt; i++) {
      unsigned     flags, cd[8];
      size_t       ncd = 8;
      char         name[64];
      H5Z_filter_t id  = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof name, name, NULL);
      if (id == H5Z_FILTER_SHUFFLE && i == 0 && nfilt == 2) D->shuffle = 1;
      else if (id == H5Z_FILTER_DEFLATE && i == nfilt - 1) D->deflate = 1;
      else goto done;
    }
    D->c0      = (size_t)cdims[0];
    D->nchunks = (size_t)((D->nrows + D->c0 - 1) / D->c0);
    D->caddr   = calloc(D->nchunks + 1, sizeof *D->caddr);
    D->csize   = calloc(D->nchunks + 1, sizeof *D->csize);
    if (!D->caddr || !D->csize) goto done;
    break;
  }
  default:
    goto done;
  }
  D->ok = 1;
done:
  if (dcpl >= 0) H5Pclose(dcpl);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
}

static void DsetClose(MxDirectDset *D)
{
  if (D->d > 0) H5Dclose(D->d);
  free(D->caddr);
  free(D->csize);
  memset(D, 0, sizeof *D);
}

/* A whole (N,) or (N,1) uint64 dataset, or NULL (the per-train path then reads and reports). */
static uint64_t *ReadIds(hid_t f, const char path[], hsize_t *n)
{
  hid_t     d, s;
  hsize_t   dims[2] = {0, 1};
  uint64_t *v = NULL;

  if (!MxH5Exists(f, path) || (d = H5Dopen2(f, path, H5P_DEFAULT)) < 0) return NULL;
  s = H5Dget_space(d);
  int nd = s < 0 ? -1 : H5Sget_simple_extent_ndims(s);
  if (nd >= 1 && nd <= 2) H5Sget_simple_extent_dims(s, dims, NULL);
  if (nd >= 1 && nd <= 2 && dims[1] == 1 && (v = malloc((size_t)dims[0] * sizeof *v + 8)) && H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
    free(v);
    v = NULL;
  }
  if (s >= 0) H5Sclose(s);
  H5Dclose(d);
  *n = dims[0];
  return v;
}

PetscErrorCode MxDirectFileSetUp(MxReader r, int i, hid_t f)
{
  MxDirectFile    *df = &r->dfile[i];
  const MxRunFile *rf = &r->idx.files[i];
  char             path[512];
  hid_t            fcpl;
  hsize_t          ub = 1, n2 = 0;

  PetscFunctionBeginUser;
  if (df->setup) PetscFunctionReturn(0);
  df->setup = 1;
  df->fd    = -1;
  snprintf(path, sizeof path, "INSTRUMENT/%s/image/trainId", rf->src);
  df->tid = ReadIds(f, path, &df->nid);
  snprintf(path, sizeof path, "INSTRUMENT/%s/image/cellId", rf->src);
  df->cid = ReadIds(f, path, &n2);
  if (!df->tid || !df->cid || n2 != df->nid) {
    free(df->tid);
    free(df->cid);
    df->tid = df->cid = NULL;
  }
  if (!r->direct || rf->raw) PetscFunctionReturn(0);
  fcpl = H5Fget_create_plist(f);
  if (fcpl >= 0) {
    H5Pget_userblock(fcpl, &ub);
    H5Pclose(fcpl);
  }
  if (ub != 0) PetscFunctionReturn(0); /* addresses are relative to the superblock */
  snprintf(path, sizeof path, "INSTRUMENT/%s/image/data", rf->src);
  if (MxH5Exists(f, path)) DsetSetUp(f, path, 0, &df->data);
  snprintf(path, sizeof path, "INSTRUMENT/%s/image/mask", rf->src);
  df->have_mask = MxH5Exists(f, path);
  if (df->have_mask) DsetSetUp(f, path, 1, &df->mask);
  if (df->data.ok && (!df->have_mask || df->mask.ok)) {
    int open_fds = 0;
    for (int k = 0; k < r->idx.nfiles; k++) open_fds += r->dfile[k].fd >= 0;
    if (open_fds >= 256) /* keep well under the descriptor limit; no read is in flight here */
      for (int k = 0; k < r->idx.nfiles; k++)
        if (r->dfile[k].fd >= 0 && k != i) PetscCall(MxDirectFileClose(r, k));
    df->fd = open(rf->path, O_RDONLY | O_CLOEXEC);
  }
  if (df->fd < 0) { /* not direct: the HDF5 path reads this file */
    DsetClose(&df->data);
    DsetClose(&df->mask);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxDirectFileClose(MxReader r, int i)
{
  MxDirectFile *df = &r->dfile[i];

  PetscFunctionBeginUser;
  if (df->fd >= 0) close(df->fd);
  DsetClose(&df->data);
  DsetClose(&df->mask);
  free(df->tid);
  free(df->cid);
  memset(df, 0, sizeof *df);
  df->fd = -1;
  PetscFunctionReturn(0);
}

/* File address of frame row `row` of D (chunk looked up once, on the main thread), its stored
   size and the frame's position in its chunk; MX_NOTDIRECT when the chunk is not allocated or
   a filter was skipped for it. */
static uint64_t ChunkAddr(MxDirectDset *D, hsize_t row, uint32_t *size, uint32_t *pos)
{
  if (D->contiguous) {
    *size = (uint32_t)MX_MODBYTES4;
    *pos  = 0;
    return D->addr + (uint64_t)row * MX_MODBYTES4;
  }
  size_t c = (size_t)(row / D->c0);
  if (!D->caddr[c]) {
    hsize_t  off[3] = {(hsize_t)c * D->c0, 0, 0}, sz = 0;
    unsigned fm     = 0;
    haddr_t  a      = HADDR_UNDEF;
    if (H5Dget_chunk_info_by_coord(D->d, off, &fm, &a, &sz) < 0 || a == HADDR_UNDEF || fm != 0 || sz == 0 || sz > UINT32_MAX) D->caddr[c] = MX_NOTDIRECT;
    else {
      D->caddr[c] = (uint64_t)a;
      D->csize[c] = (uint32_t)sz;
    }
  }
  *size = D->csize[c];
  *pos  = (uint32_t)(row - (hsize_t)c * D->c0);
  return D->caddr[c];
}

/* ---------------------------------------------------------------- the job */

typedef struct {
  uint64_t addr;       /* chunk (or contiguous frame) address */
  uint32_t size, pos;  /* stored bytes, frame within the chunk */
} MxSrc;

typedef struct {
  const MxRunFile *rf;   /* not owned */
  MxDirectFile    *df;   /* not owned */
  int              module, ss0, ss1;
  size_t           off;  /* the range's first pixel within a frame of the gather buffer */
  uint64_t         tid;
  MxSrc           *dsrc, *msrc; /* nsel each */
} MxTask;

typedef struct { /* a memory cell's last mask chunk: its stored bytes and its flagged pixels */
  unsigned char *bytes;
  size_t         len;
  uint16_t      *idx; /* the flagged pixels of the module, ascending */
  size_t         nidx;
  int            valid;
} MxMaskCache;

struct _MxReadJob {
  /* set by the main thread before the job starts */
  MxTask        *task;
  int            ntask, maxtask;
  MxSrc         *src; /* 2 * nsel per task */
  PetscInt       nsel;
  const uint8_t *user_mask; /* not owned */
  float          scale;
  float         *data;      /* not owned */
  unsigned char *bad;       /* not owned */
  size_t         npix;
  MxReaderHooks     hooks;  /* the caller's: per frame of a task, and after the tasks (or alone) */
  int               run;    /* a job was started */
  /* hooks.share: the frame hooks in units of up to MX_HOOK_ROWS rows of a task, unit u of task
     k < ready taken by whichever thread sets next = u + 1 (under mu); hdone of them finished */
  int    *ufirst;           /* maxtask + 1: the first unit of each task */
  int     share, nunit, ready, next, hdone;
  int     caller_only;      /* -reader_test_share_caller: the reader thread takes no unit (tests) */
  double  t_hook_caller;
  /* the worker's */
  MxInflater     inf;
  MxMaskCache   *cache;     /* MX_NMOD * nsel, for masks chunked per frame */
  unsigned char *cbuf, *dbuf, *sbuf, *flags;
  unsigned char *bscr;      /* MX_MODPIX: a range-frame's bad flags when the caller reads them in the frame hook only (hooks.bad_scratch) */
  int            use_bscr;
  size_t         ccap, dcap, scap;
  uint32_t      *mrows;
  uint64_t       dchunk; /* address of the chunk decoded in dbuf (0: none) */
  double         nonfinite;
  MxReadStats    st;
  int            err;
  char           msg[1024];
  /* the thread */
  pthread_t       th;
  pthread_mutex_t mu;
  pthread_cond_t  cv;
  int             thread, state, quit; /* state 0 idle, 1 queued, 2 done */
};

static int Grow(unsigned char **p, size_t *cap, size_t n)
{
  if (*cap >= n) return 0;
  void *q = realloc(*p, n);
  if (!q) return 1;
  *p   = q;
  *cap = n;
  return 0;
}

static int PreadAll(int fd, void *buf, size_t n, uint64_t off)
{
  unsigned char *p = buf;
  while (n) {
    ssize_t k = pread(fd, p, n, (off_t)off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return 1;
    p += k;
    n -= (size_t)k;
    off += (uint64_t)k;
  }
  return 0;
}

static double Now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void JobFail(MxReadJob j, const MxTask *t, const char *what)
{
  if (j->err) return;
  j->err = 1;
  snprintf(j->msg, sizeof j->msg, "%s: reading INSTRUMENT/%s/image/%s for train %llu failed (file truncated or corrupted?)", t->rf->path, t->rf->src, what, (unsigned long long)t->tid);
}

/* The decoded chunk at src (dbuf, c0 frames), read and inflated unless it is the last one. */
static const unsigned char *DecodeChunk(MxReadJob j, const MxTask *t, const MxDirectDset *D, const MxSrc *s, const char *what)
{
  size_t raw = D->c0 * MX_MODBYTES4;
  double t0;
  if (j->dchunk == s->addr) return j->dbuf;
  j->dchunk = 0;
  if (Grow(&j->cbuf, &j->ccap, s->size) || Grow(&j->dbuf, &j->dcap, raw) || (D->shuffle && Grow(&j->sbuf, &j->scap, raw))) {
    JobFail(j, t, what);
    return NULL;
  }
  t0 = Now();
  if (PreadAll(t->df->fd, j->cbuf, s->size, s->addr)) {
    JobFail(j, t, what);
    return NULL;
  }
  j->st.bytes += s->size;
  j->st.t_io += Now() - t0;
  t0 = Now();
  if (MxInflate(j->inf, j->cbuf, s->size, D->shuffle ? j->sbuf : j->dbuf, raw)) {
    JobFail(j, t, what);
    return NULL;
  }
  if (D->shuffle) MxUnshuffle(j->sbuf, raw, D->elsize, j->dbuf);
  j->st.t_inflate += Now() - t0;
  j->dchunk = s->addr;
  return j->dbuf;
}

/* The file's mask of rows [ss0, ss1) of frame f of the task: flags (1 = set) for each pixel, or,
   from the cell's cache, *sparse: the *nsparse flagged pixels (module pixel indices, ascending). */
static int MaskFlags(MxReadJob j, const MxTask *t, PetscInt f, unsigned char *flags, const uint16_t **sparse, size_t *nsparse)
{
  const MxDirectDset *M   = &t->df->mask;
  const MxSrc        *s   = &t->msrc[f];
  size_t              nrp = (size_t)(t->ss1 - t->ss0) * MX_NFS, first = (size_t)t->ss0 * MX_NFS;
  double              t0;

  *sparse  = NULL;
  *nsparse = 0;
  if (!M->deflate && !M->shuffle) { /* plain: the rows themselves */
    t0 = Now();
    if (PreadAll(t->df->fd, j->mrows, nrp * 4, s->addr + ((uint64_t)s->pos * MX_MODPIX + first) * 4)) {
      JobFail(j, t, "mask");
      return 1;
    }
    j->st.bytes += (double)nrp * 4;
    j->st.t_io += Now() - t0;
    for (size_t p = 0; p < nrp; p++) flags[p] = j->mrows[p] != 0;
    return 0;
  }
  if (M->c0 == 1) { /* per-frame chunks: compare the stored bytes with this cell's last chunk */
    MxMaskCache *c = &j->cache[(size_t)t->module * j->nsel + f];
    t0             = Now();
    if (Grow(&j->cbuf, &j->ccap, s->size) || PreadAll(t->df->fd, j->cbuf, s->size, s->addr)) {
      JobFail(j, t, "mask");
      return 1;
    }
    j->st.bytes += s->size;
    j->st.t_io += Now() - t0;
    if (!(c->valid && c->len == s->size && !memcmp(c->bytes, j->cbuf, s->size))) {
      size_t raw = MX_MODBYTES4;
      t0         = Now();
      if (Grow(&j->dbuf, &j->dcap, raw) || (M->shuffle && Grow(&j->sbuf, &j->scap, raw))) {
        JobFail(j, t, "mask");
        return 1;
      }
      j->dchunk = 0;
      c->valid  = 0;
      if (MxInflate(j->inf, j->cbuf, s->size, M->shuffle ? j->sbuf : j->dbuf, raw)) {
        JobFail(j, t, "mask");
        return 1;
      }
      if (M->shuffle) MxUnshuffle(j->sbuf, raw, 4, j->dbuf);
      j->st.t_inflate += Now() - t0;
      const uint32_t *m = (const uint32_t *)j->dbuf;
      size_t          n = 0;
      for (size_t k = 0; k < MX_MODPIX; k++) n += m[k] != 0;
      uint16_t      *ni = realloc(c->idx, (n + 1) * sizeof *ni);
      unsigned char *nb = realloc(c->bytes, s->size);
      if (!ni || !nb) {
        if (ni) c->idx = ni;
        if (nb) c->bytes = nb;
        JobFail(j, t, "mask");
        return 1;
      }
      c->idx   = ni;
      c->bytes = nb;
      c->nidx  = 0;
      for (size_t k = 0; k < MX_MODPIX; k++)
        if (m[k]) c->idx[c->nidx++] = (uint16_t)k;
      memcpy(c->bytes, j->cbuf, s->size);
      c->len   = s->size;
      c->valid = 1;
      j->st.chunks_inflated++;
    } else j->st.chunks_reused++;
    /* the flagged pixels within rows [ss0, ss1) */
    size_t lo = 0, hi = c->nidx;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (c->idx[mid] < first) lo = mid + 1;
      else hi = mid;
    }
    *sparse = c->idx + lo;
    for (hi = lo; hi < c->nidx && c->idx[hi] < first + nrp; hi++) {}
    *nsparse = hi - lo;
    return 0;
  }
  const unsigned char *dec = DecodeChunk(j, t, M, s, "mask");
  if (!dec) return 1;
  j->st.chunks_inflated++;
  const uint32_t *m = (const uint32_t *)dec + (size_t)s->pos * MX_MODPIX + first;
  for (size_t p = 0; p < nrp; p++) flags[p] = m[p] != 0;
  return 0;
}

#define MX_HOOK_ROWS 64 /* rows of a shared frame-hook unit: an ASIC block row */

/* The frame hooks of unit u (its task's frames in order, rows [ss0 + 64 i, ...) of the task). */
static void UnitHooks(MxReadJob j, int u)
{
  int k = 0;
  while (j->ufirst[k + 1] <= u) k++;
  const MxTask *t   = &j->task[k];
  const int     r0  = t->ss0 + (u - j->ufirst[k]) * MX_HOOK_ROWS, r1 = PetscMin(t->ss1, r0 + MX_HOOK_ROWS);
  const size_t  off = t->off + (size_t)(r0 - t->ss0) * MX_NFS, n = (size_t)(r1 - r0) * MX_NFS;
  for (PetscInt f = 0; f < j->nsel; f++) j->hooks.frame(j->hooks.ctx, f, off, n, j->data + f * j->npix + off, j->bad + f * j->npix + off);
}

/* The next unit whose task is read, taken (-1: none now). Under mu. (After a failed read the
   units of the tasks read before it still run: harmless, the train is not used.) */
static int UnitTake(MxReadJob j)
{
  if (j->next >= j->ufirst[j->ready]) return -1; /* ufirst[ntask] = nunit */
  return j->next++;
}

static void TaskRun(MxReadJob j, const MxTask *t)
{
  size_t               nrp = (size_t)(t->ss1 - t->ss0) * MX_NFS, first = (size_t)t->ss0 * MX_NFS;
  const MxDirectDset  *D   = &t->df->data;
  const uint8_t       *um  = j->user_mask ? j->user_mask + (size_t)t->module * MX_MODPIX + first : NULL;
  const float          scale = j->scale;
  size_t               nonfinite = 0;

  j->dchunk = 0;
  for (PetscInt f = 0; f < j->nsel && !j->err; f++) {
    float         *v = j->data + f * j->npix + t->off;
    unsigned char *b = j->use_bscr ? j->bscr : j->bad + f * j->npix + t->off; /* the scratch row stays in the cache: bad's 1/4 of the train's bytes not written to memory */
    const MxSrc   *s = &t->dsrc[f];
    double         t0;
    if (!D->deflate && !D->shuffle) { /* straight into the gather buffer */
      t0 = Now();
      if (PreadAll(t->df->fd, v, nrp * 4, s->addr + ((uint64_t)s->pos * MX_MODPIX + first) * 4)) {
        JobFail(j, t, "data");
        break;
      }
      j->st.bytes += (double)nrp * 4;
      j->st.t_io += Now() - t0;
    } else {
      const unsigned char *dec = DecodeChunk(j, t, D, s, "data");
      if (!dec) break;
      memcpy(v, dec + ((size_t)s->pos * MX_MODPIX + first) * 4, nrp * 4);
    }
    unsigned char  *fl = NULL;
    const uint16_t *sp = NULL;
    size_t          ns = 0;
    if (t->df->have_mask) {
      if (MaskFlags(j, t, f, j->flags, &sp, &ns)) break;
      if (!sp) fl = j->flags;
    }
    /* the same pass as reader.c's HDF5 path, so both give the same bits; a sparse mask's pixels
       are zeroed first (so not counted as NaN), then flagged: the same result */
    t0 = Now();
    for (size_t k = 0; k < ns; k++) v[sp[k] - first] = 0.0f;
    nonfinite += MxReaderFinishRows(v, b, um, fl, nrp, scale);
    for (size_t k = 0; k < ns; k++) b[sp[k] - first] = 1;
    j->st.t_finish += Now() - t0;
    if (j->hooks.frame && !j->share) {
      t0 = Now();
      j->hooks.frame(j->hooks.ctx, f, t->off, nrp, v, b);
      j->st.t_hook += Now() - t0;
    }
  }
  j->nonfinite += (double)nonfinite;
}

static void JobRun(MxReadJob j)
{
  j->err       = 0;
  j->nonfinite = 0;
  memset(&j->st, 0, sizeof j->st);
  if (j->share) { /* read every task, each offered to the caller once read; then the units left */
    for (int k = 0; k < j->ntask && !j->err; k++) {
      TaskRun(j, &j->task[k]);
      pthread_mutex_lock(&j->mu);
      if (!j->err) j->ready = k + 1;
      pthread_cond_broadcast(&j->cv);
      pthread_mutex_unlock(&j->mu);
    }
    pthread_mutex_lock(&j->mu);
    for (int u; !j->caller_only && (u = UnitTake(j)) >= 0;) {
      pthread_mutex_unlock(&j->mu);
      double t0 = Now();
      UnitHooks(j, u);
      j->st.t_hook += Now() - t0;
      pthread_mutex_lock(&j->mu);
      j->hdone++;
    }
    while (j->hdone < j->ufirst[j->ready]) pthread_cond_wait(&j->cv, &j->mu); /* the caller's units */
    pthread_mutex_unlock(&j->mu);
  } else
    for (int k = 0; k < j->ntask && !j->err; k++) TaskRun(j, &j->task[k]);
  if (!j->err && j->hooks.train) {
    double t0 = Now();
    j->hooks.train(j->hooks.ctx, j->data, j->bad);
    j->st.t_hook += Now() - t0;
  }
}

static void *Worker(void *arg)
{
  MxReadJob j = arg;
  pthread_mutex_lock(&j->mu);
  for (;;) {
    while (j->state != 1 && !j->quit) pthread_cond_wait(&j->cv, &j->mu);
    if (j->quit) break;
    pthread_mutex_unlock(&j->mu);
    JobRun(j);
    pthread_mutex_lock(&j->mu);
    j->state = 2;
    pthread_cond_broadcast(&j->cv);
  }
  pthread_mutex_unlock(&j->mu);
  return NULL;
}

/* The caller's thread, under mu: until the job's state leaves 1 (until == 1) or becomes 2, it
   takes the units of frame hooks that the reader thread offers (MxReaderHooks.share). */
static void JobHelp(MxReadJob j, int until)
{
  while (until == 1 ? j->state == 1 : j->state != 2) {
    int u = j->share ? UnitTake(j) : -1;
    if (u < 0) {
      pthread_cond_wait(&j->cv, &j->mu);
      continue;
    }
    pthread_mutex_unlock(&j->mu); /* a unit of frame hooks, here while the reader reads or hooks others */
    double t1 = Now();
    UnitHooks(j, u);
    j->t_hook_caller += Now() - t1;
    pthread_mutex_lock(&j->mu);
    j->hdone++;
    pthread_cond_broadcast(&j->cv);
  }
}

/* The job of r, made on first use; emptied for a new read. */
static PetscErrorCode JobGet(MxReader r, MxReadJob *out)
{
  MxReadJob j = r->job;

  PetscFunctionBeginUser;
  if (!j) {
    PetscCheck(j = calloc(1, sizeof *j), PETSC_COMM_SELF, PETSC_ERR_MEM, "reader: out of memory");
    r->job = j;
    PetscCheck(!MxInflaterCreate(r->inflate, &j->inf), PETSC_COMM_SELF, PETSC_ERR_MEM, "reader: cannot create the inflater");
    j->nsel = r->nsel;
    PetscCheck((j->cache = calloc((size_t)MX_NMOD * (size_t)r->nsel + 1, sizeof *j->cache)) && (j->flags = malloc(MX_MODPIX)) && (j->bscr = malloc(MX_MODPIX)) && (j->mrows = malloc(MX_MODBYTES4)), PETSC_COMM_SELF, PETSC_ERR_MEM, "reader: out of memory");
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    if (r->async) {
      PetscCheck(!pthread_create(&j->th, NULL, Worker, j), PETSC_COMM_SELF, PETSC_ERR_SYS, "reader: cannot start the reader thread (-reader_async 0 reads on the main thread)");
      j->thread = 1;
      cpu_set_t cs; /* a launcher that binds each rank to one core leaves the thread no core of its own */
      if (!sched_getaffinity(0, sizeof cs, &cs) && CPU_COUNT(&cs) == 1) r->single_core = PETSC_TRUE;
    }
  }
  *out = j;
  PetscFunctionReturn(0);
}

PetscErrorCode MxDirectPlan(MxReader r, int i, const MxSlot *s, const MxRowRange *rr, float *data, unsigned char *bad, size_t npix, size_t off, uint64_t tid, PetscBool *direct)
{
  MxDirectFile *df = &r->dfile[i];
  MxReadJob     j;

  PetscFunctionBeginUser;
  *direct = PETSC_FALSE;
  if (df->fd < 0) PetscFunctionReturn(0);
  PetscCall(JobGet(r, &j));
  if (j->ntask == j->maxtask) {
    int     n  = 2 * j->maxtask + 8;
    MxTask *nt = realloc(j->task, (size_t)n * sizeof *nt);
    MxSrc  *ns = realloc(j->src, (size_t)n * 2 * (size_t)r->nsel * sizeof *ns);
    PetscCheck(nt && ns, PETSC_COMM_SELF, PETSC_ERR_MEM, "reader: out of memory");
    j->task    = nt;
    j->src     = ns;
    j->maxtask = n;
    for (int k = 0; k < j->ntask; k++) { /* the sources moved with src */
      j->task[k].dsrc = j->src + (size_t)k * 2 * r->nsel;
      j->task[k].msrc = j->task[k].dsrc + r->nsel;
    }
  }
  MxTask *t = &j->task[j->ntask];
  *t        = (MxTask){&r->idx.files[i], df, rr->module, rr->ss0, rr->ss1, off, tid, j->src + (size_t)j->ntask * 2 * r->nsel, NULL};
  t->msrc   = t->dsrc + r->nsel;
  for (PetscInt f = 0; f < r->nsel; f++) {
    hsize_t row = s->first + (hsize_t)r->sel[f];
    if (row >= df->data.nrows || (df->have_mask && row >= df->mask.nrows)) PetscFunctionReturn(0); /* HDF5 reports it */
    t->dsrc[f].addr = ChunkAddr(&df->data, row, &t->dsrc[f].size, &t->dsrc[f].pos);
    if (t->dsrc[f].addr == MX_NOTDIRECT) PetscFunctionReturn(0);
    if (df->have_mask) {
      t->msrc[f].addr = ChunkAddr(&df->mask, row, &t->msrc[f].size, &t->msrc[f].pos);
      if (t->msrc[f].addr == MX_NOTDIRECT) PetscFunctionReturn(0);
    }
  }
  j->user_mask = r->user_mask;
  j->scale     = (float)(1.0 / r->adu_per_photon);
  j->ntask++;
  *direct = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode MxDirectJobStart(MxReader r, float *data, unsigned char *bad, const MxRowRange ranges[], int nranges, const MxReaderHooks *hooks)
{
  MxReadJob j;

  PetscFunctionBeginUser;
  if ((!r->job || !r->job->ntask) && !(hooks && hooks->train)) PetscFunctionReturn(0); /* all read through HDF5 already */
  PetscCall(JobGet(r, &j));
  j->data     = data;
  j->bad      = bad;
  j->npix     = 0;
  for (int k = 0; k < nranges; k++) j->npix += (size_t)(ranges[k].ss1 - ranges[k].ss0) * MX_NFS;
  j->hooks    = hooks ? *hooks : (MxReaderHooks){NULL, NULL, NULL, 0, 0};
  j->run      = 1;
  j->share    = j->thread && r->share && j->hooks.frame && j->hooks.share && j->ntask > 0;
  j->caller_only = j->share && r->share_caller;
  j->use_bscr    = j->hooks.frame && j->hooks.bad_scratch && !j->share;
  j->ready = j->next = j->hdone = j->nunit = 0;
  j->t_hook_caller = 0;
  if (j->share) {
    int *uf = realloc(j->ufirst, (size_t)(j->ntask + 1) * sizeof *uf);
    PetscCheck(uf, PETSC_COMM_SELF, PETSC_ERR_MEM, "reader: out of memory");
    j->ufirst = uf;
    for (int k = 0; k < j->ntask; k++) {
      uf[k] = j->nunit;
      j->nunit += (j->task[k].ss1 - j->task[k].ss0 + MX_HOOK_ROWS - 1) / MX_HOOK_ROWS;
    }
    uf[j->ntask] = j->nunit;
  }
  if (!j->thread) {
    JobRun(j);
    j->state = 2;
    PetscFunctionReturn(0);
  }
  pthread_mutex_lock(&j->mu);
  j->state = 1;
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
  PetscFunctionReturn(0);
}

PetscErrorCode MxDirectJobWait(MxReader r, double *nonfinite)
{
  MxReadJob j = r->job;
  double    t0;

  PetscFunctionBeginUser;
  *nonfinite = 0;
  if (!j || !j->run) PetscFunctionReturn(0);
  j->run = 0;
  t0 = Now();
  pthread_mutex_lock(&j->mu);
  JobHelp(j, 2);
  j->state = 0;
  pthread_mutex_unlock(&j->mu);
  r->stats.t_wait += Now() - t0 - j->t_hook_caller;
  r->stats.t_hook_caller += j->t_hook_caller;
  r->stats.t_io += j->st.t_io;
  r->stats.t_inflate += j->st.t_inflate;
  r->stats.t_finish += j->st.t_finish;
  r->stats.bytes += j->st.bytes;
  r->stats.chunks_inflated += j->st.chunks_inflated;
  r->stats.chunks_reused += j->st.chunks_reused;
  r->stats.t_hook += j->st.t_hook;
  r->stats.ranges_direct += j->ntask;
  j->ntask   = 0;
  *nonfinite = j->nonfinite;
  PetscCheck(!j->err, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s", j->msg);
  PetscFunctionReturn(0);
}

void MxDirectJobDiscard(MxReader r)
{
  if (r->job) r->job->ntask = r->job->run = 0;
}

PetscErrorCode MxDirectDestroy(MxReader r)
{
  MxReadJob j = r->job;

  PetscFunctionBeginUser;
  if (j) {
    if (j->thread) {
      pthread_mutex_lock(&j->mu);
      JobHelp(j, 1); /* a read in flight ends (its shared units done here if the thread waits for them) */
      j->quit = 1;
      pthread_cond_broadcast(&j->cv);
      pthread_mutex_unlock(&j->mu);
      pthread_join(j->th, NULL);
    }
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    for (size_t k = 0; j->cache && k < (size_t)MX_NMOD * (size_t)j->nsel; k++) {
      free(j->cache[k].bytes);
      free(j->cache[k].idx);
    }
    free(j->cache);
    free(j->task);
    free(j->ufirst);
    free(j->src);
    free(j->cbuf);
    free(j->dbuf);
    free(j->sbuf);
    free(j->flags);
    free(j->bscr);
    free(j->mrows);
    MxInflaterDestroy(&j->inf);
    free(j);
    r->job = NULL;
  }
  for (int i = 0; r->dfile && i < r->idx.nfiles; i++) PetscCall(MxDirectFileClose(r, i));
  PetscCall(PetscFree(r->dfile));
  PetscFunctionReturn(0);
}
