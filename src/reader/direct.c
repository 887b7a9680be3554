/* Direct reads of corrected AGIPD frames at memory speed.

   HDF5's own read path costs most of a corrected run's read time: every deflated mask chunk
   goes through zlib (inflate + adler32) and the filter pipeline, and every frame through the
   hyperslab machinery. Here the main thread reads where each chunk is in the file once per file
   (the whole chunk index at once, src/reader/chunkindex.c; where it cannot, HDF5 is asked once per
   chunk by H5Dget_chunk_info_by_coord; contiguous datasets: H5Dget_offset), and a reader thread per rank
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

static double Now(void);

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
    /* every chunk's address at once where the file's layout allows (else one lookup per chunk,
       each a walk of HDF5's index from its start) */
    MxDirectDset *ds[2] = {&df->data, df->have_mask ? &df->mask : NULL};
    const double  t0    = Now();
    for (int k = 0; k < 2 && df->fd >= 0 && r->chunk_index; k++)
      if (ds[k] && !ds[k]->contiguous) {
        ds[k]->indexed = !MxH5ChunkIndex(ds[k]->d, df->fd, ds[k]->c0, ds[k]->nchunks, ds[k]->caddr, ds[k]->csize, MX_NOTDIRECT);
        r->stats.index_whole += ds[k]->indexed;
      }
    r->stats.t_index += Now() - t0;
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
    D->lookups++;
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

#define MX_CACHE_ROWS  64 /* rows of a unit read into a cache slot (hooks.cache): an ASIC row, 1.6 MB at 50 frames; a multiple of 64, as the detector corrections work on whole ASIC rows of the unit */
#define MX_CACHE_SLOTS 4  /* cache slots: a unit being read on each thread, and two whose chains run */
_Static_assert(MX_CACHE_ROWS % 64 == 0, "cache units must hold whole ASIC rows (the detector corrections work on 64-row blocks)");

typedef struct { /* a memory cell's last mask chunk: its stored bytes and its flagged pixels */
  unsigned char *bytes;
  size_t         len;
  uint16_t      *idx; /* the flagged pixels of the module, ascending */
  size_t         nidx;
  int            valid;
  uint64_t       seen;  /* the job (serial) that last checked it: a train's later rows of the cell take it as it is */
} MxMaskCache;

typedef struct {
  MxInflater     inf;
  unsigned char *cbuf, *dbuf, *sbuf, *flags;
  unsigned char *bscr;   /* MX_MODPIX: a range-frame's bad flags when the caller reads them in the frame hook only (hooks.bad_scratch) */
  size_t         ccap, dcap, scap;
  uint32_t      *mrows;
  uint64_t       dchunk; /* address of the chunk decoded in dbuf (0: none) */
  double         nonfinite;
  MxReadStats    st;
} MxLane;

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
  int    *ufirst;           /* maxtask + 1: the first unit of each task (split: of each unit, its first task) */
  int     share, nunit, ready, next, hdone;
  int     caller_only;      /* -reader_test_share_caller: the reader thread takes no unit (tests) */
  double  t_hook_caller;
  /* split (not with share): units of rows of a task (MX_SPLIT_ROWS, where the data are not
     deflated and the mask, if any, chunked per frame or plain; else the whole task), each read,
     masked and hooked frame by frame by whichever thread takes it, the caller's too while it
     waits; next units taken, hdone of them finished. A memory cell's mask cache is checked once
     per job, under its module's lock mmu. */
  int     split, maxunit;
  int    *utask, *ur0, *ur1;    /* a unit's task (-1: a range read before the job) and rows */
  size_t *uoff, *un;            /* a unit's pixels */
  int    *udone;
  /* hooks.cache: units of MX_CACHE_ROWS rows read into one of the slots, buffers that stay in
     the cache (ucache[u]); a unit's frames at uv[u] with stride uld[u] (a slot, or data's rows);
     a slot is free again once every chain's hook has passed its unit */
  int     cache_units;
  int    *ucache;
  float **uv;
  size_t *uld;
  float  *slot[MX_CACHE_SLOTS];
  int     slot_unit[MX_CACHE_SLOTS];
  size_t  slot_cap;
  /* chains (hooks.chain): chain c's hook of unit cnext[c] next, by whichever thread finds the
     unit done and the chain free (cbusy); without the thread, range by range */
  int     nchain, maxchain;
  int    *cnext, *cbusy;
  size_t *roff;                 /* maxrange: every range's pixel offset, the last one npix */
  int     nrange, maxrange;
  pthread_mutex_t mmu[MX_NMOD];
  uint64_t        serial;
  MxMaskCache   *cache;     /* MX_NMOD * nsel, for masks chunked per frame */
  int            use_bscr;
  /* what each thread reading tasks needs of its own: lane 0 the reader thread's, lane 1 the caller's */
  MxLane         lane[2];
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

int MxPreadAll(int fd, void *buf, size_t n, uint64_t off)
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
  pthread_mutex_lock(&j->mu); /* two threads may read tasks (split) */
  if (!j->err) {
    j->err = 1;
    snprintf(j->msg, sizeof j->msg, "%s: reading INSTRUMENT/%s/image/%s for train %llu failed (file truncated or corrupted?)", t->rf->path, t->rf->src, what, (unsigned long long)t->tid);
  }
  pthread_mutex_unlock(&j->mu);
}

/* The decoded chunk at src (dbuf, c0 frames), read and inflated unless it is the last one. */
static const unsigned char *DecodeChunk(MxReadJob j, MxLane *L, const MxTask *t, const MxDirectDset *D, const MxSrc *s, const char *what)
{
  size_t raw = D->c0 * MX_MODBYTES4;
  double t0;
  if (L->dchunk == s->addr) return L->dbuf;
  L->dchunk = 0;
  if (Grow(&L->cbuf, &L->ccap, s->size) || Grow(&L->dbuf, &L->dcap, raw) || (D->shuffle && Grow(&L->sbuf, &L->scap, raw))) {
    JobFail(j, t, what);
    return NULL;
  }
  t0 = Now();
  if (MxPreadAll(t->df->fd, L->cbuf, s->size, s->addr)) {
    JobFail(j, t, what);
    return NULL;
  }
  L->st.bytes += s->size;
  L->st.t_io += Now() - t0;
  t0 = Now();
  if (MxInflate(L->inf, L->cbuf, s->size, D->shuffle ? L->sbuf : L->dbuf, raw)) {
    JobFail(j, t, what);
    return NULL;
  }
  if (D->shuffle) MxUnshuffle(L->sbuf, raw, D->elsize, L->dbuf);
  L->st.t_inflate += Now() - t0;
  L->dchunk = s->addr;
  return L->dbuf;
}

static int MaskCheck(MxReadJob j, MxLane *L, const MxTask *t, const MxDirectDset *M, const MxSrc *s, MxMaskCache *c);

/* The file's mask of rows [r0, r1) of frame f of the task: flags (1 = set) for each pixel, or,
   from the cell's cache, *sparse: the *nsparse flagged pixels (module pixel indices, ascending). */
static int MaskFlags(MxReadJob j, MxLane *L, const MxTask *t, PetscInt f, int r0, int r1, unsigned char *flags, const uint16_t **sparse, size_t *nsparse)
{
  const MxDirectDset *M   = &t->df->mask;
  const MxSrc        *s   = &t->msrc[f];
  size_t              nrp = (size_t)(r1 - r0) * MX_NFS, first = (size_t)r0 * MX_NFS;
  double              t0;

  *sparse  = NULL;
  *nsparse = 0;
  if (!M->deflate && !M->shuffle) { /* plain: the rows themselves */
    t0 = Now();
    if (MxPreadAll(t->df->fd, L->mrows, nrp * 4, s->addr + ((uint64_t)s->pos * MX_MODPIX + first) * 4)) {
      JobFail(j, t, "mask");
      return 1;
    }
    L->st.bytes += (double)nrp * 4;
    L->st.t_io += Now() - t0;
    for (size_t p = 0; p < nrp; p++) flags[p] = L->mrows[p] != 0;
    return 0;
  }
  if (M->c0 == 1) { /* per-frame chunks: compare the stored bytes with this cell's last chunk */
    MxMaskCache *c = &j->cache[(size_t)t->module * j->nsel + f];
    int          e = MaskCheck(j, L, t, M, s, c);
    if (e) return 1;
    /* the flagged pixels within rows [r0, r1) (the entry stays as it is until the next job) */
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
  const unsigned char *dec = DecodeChunk(j, L, t, M, s, "mask");
  if (!dec) return 1;
  L->st.chunks_inflated++;
  const uint32_t *m = (const uint32_t *)dec + (size_t)s->pos * MX_MODPIX + first;
  for (size_t p = 0; p < nrp; p++) flags[p] = m[p] != 0;
  return 0;
}

/* A cell's mask chunk (per frame) into its cache entry c unless its stored bytes are the ones
   cached (the first train of each cell is always inflated), once per job: under the module's
   lock, as two threads may read rows of one module (split). */
static int MaskCheck(MxReadJob j, MxLane *L, const MxTask *t, const MxDirectDset *M, const MxSrc *s, MxMaskCache *c)
{
  pthread_mutex_t *mu  = &j->mmu[t->module];
  int              err = 0;
  double           t0;

  pthread_mutex_lock(mu);
  if (c->valid && c->seen == j->serial) { /* checked for this job's other rows of the module already */
    pthread_mutex_unlock(mu);
    return 0;
  }
  t0 = Now();
  if (Grow(&L->cbuf, &L->ccap, s->size) || MxPreadAll(t->df->fd, L->cbuf, s->size, s->addr)) err = 1;
  else {
    L->st.bytes += s->size;
    L->st.t_io += Now() - t0;
  }
  if (!err && !(c->valid && c->len == s->size && !memcmp(c->bytes, L->cbuf, s->size))) {
    size_t raw = MX_MODBYTES4;
    t0         = Now();
    L->dchunk  = 0;
    c->valid   = 0;
    if (Grow(&L->dbuf, &L->dcap, raw) || (M->shuffle && Grow(&L->sbuf, &L->scap, raw)) || MxInflate(L->inf, L->cbuf, s->size, M->shuffle ? L->sbuf : L->dbuf, raw)) err = 1;
    else {
      if (M->shuffle) MxUnshuffle(L->sbuf, raw, 4, L->dbuf);
      L->st.t_inflate += Now() - t0;
      const uint32_t *m = (const uint32_t *)L->dbuf;
      size_t          n = 0;
      for (size_t k = 0; k < MX_MODPIX; k++) n += m[k] != 0;
      uint16_t      *ni = realloc(c->idx, (n + 1) * sizeof *ni);
      unsigned char *nb = ni ? realloc(c->bytes, s->size) : NULL;
      if (ni) c->idx = ni;
      if (nb) c->bytes = nb;
      if (!ni || !nb) err = 1;
      else {
        c->nidx = 0;
        for (size_t k = 0; k < MX_MODPIX; k++)
          if (m[k]) c->idx[c->nidx++] = (uint16_t)k;
        memcpy(c->bytes, L->cbuf, s->size);
        c->len   = s->size;
        c->valid = 1;
        L->st.chunks_inflated++;
      }
    }
  } else if (!err) L->st.chunks_reused++;
  if (!err) c->seen = j->serial;
  pthread_mutex_unlock(mu);
  if (err) JobFail(j, t, "mask");
  return err;
}

#define MX_HOOK_ROWS 64 /* rows of a shared frame-hook unit: an ASIC block row */
#define MX_SPLIT_ROWS 128 /* rows of a split unit (-reader_split): 64 kB of a frame's data per pread */

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

/* Rows [r0, r1) of task t, frame by frame: read, masked, finished and hooked, on lane L; frame f
   of the rows at dst + f * ld (data's rows, or a cache slot). */
static void TaskRun(MxReadJob j, MxLane *L, const MxTask *t, int r0, int r1, float *dst, size_t ld)
{
  size_t               nrp = (size_t)(r1 - r0) * MX_NFS, first = (size_t)r0 * MX_NFS, off = t->off + (size_t)(r0 - t->ss0) * MX_NFS;
  const MxDirectDset  *D   = &t->df->data;
  const uint8_t       *um  = j->user_mask ? j->user_mask + (size_t)t->module * MX_MODPIX + first : NULL;
  const float          scale = j->scale;
  size_t               nonfinite = 0;

  L->dchunk = 0;
  for (PetscInt f = 0; f < j->nsel && !j->err; f++) {
    float         *v = dst + f * ld;
    unsigned char *b = j->use_bscr ? L->bscr : j->bad + f * j->npix + off; /* the scratch row stays in the cache: bad's 1/4 of the train's bytes not written to memory */
    const MxSrc   *s = &t->dsrc[f];
    double         t0;
    if (!D->deflate && !D->shuffle) { /* straight into the gather buffer */
      t0 = Now();
      if (MxPreadAll(t->df->fd, v, nrp * 4, s->addr + ((uint64_t)s->pos * MX_MODPIX + first) * 4)) {
        JobFail(j, t, "data");
        break;
      }
      L->st.bytes += (double)nrp * 4;
      L->st.t_io += Now() - t0;
    } else {
      const unsigned char *dec = DecodeChunk(j, L, t, D, s, "data");
      if (!dec) break;
      memcpy(v, dec + ((size_t)s->pos * MX_MODPIX + first) * 4, nrp * 4);
    }
    unsigned char  *fl = NULL;
    const uint16_t *sp = NULL;
    size_t          ns = 0;
    if (t->df->have_mask) {
      if (MaskFlags(j, L, t, f, r0, r1, L->flags, &sp, &ns)) break;
      if (!sp) fl = L->flags;
    }
    /* the same pass as reader.c's HDF5 path, so both give the same bits; a sparse mask's pixels
       are zeroed first (so not counted as NaN), then flagged: the same result */
    t0 = Now();
    for (size_t k = 0; k < ns; k++) v[sp[k] - first] = 0.0f;
    nonfinite += MxReaderFinishRows(v, b, um, fl, nrp, scale);
    for (size_t k = 0; k < ns; k++) b[sp[k] - first] = 1;
    L->st.t_finish += Now() - t0;
    if (j->hooks.frame && !j->share) {
      t0 = Now();
      j->hooks.frame(j->hooks.ctx, f, off, nrp, v, b);
      L->st.t_hook += Now() - t0;
    }
  }
  L->nonfinite += (double)nonfinite;
}

/* Split: the next unit to read, taken (-1: none left, a read failed, or no cache slot free for
   it: a chain's hook frees one). Under mu. */
static int SplitTake(MxReadJob j)
{
  while (j->next < j->nunit && j->utask[j->next] < 0) { /* read before the job */
    j->next++;
    j->hdone++;
  }
  if (j->next >= j->nunit || j->err) return -1;
  if (j->ucache[j->next]) {
    int s = 0;
    while (s < MX_CACHE_SLOTS && j->slot_unit[s] >= 0) s++;
    if (s == MX_CACHE_SLOTS) return -1;
    j->slot_unit[s]   = j->next;
    j->uv[j->next]    = j->slot[s];
    j->uld[j->next]   = j->un[j->next];
  }
  return j->next++;
}

/* Cache slots whose unit every chain has passed (or none will, after an error): free. Under mu. */
static void SlotsFree(MxReadJob j)
{
  for (int s = 0; s < MX_CACHE_SLOTS; s++) {
    const int u = j->slot_unit[s];
    int       busy = u >= 0 && !j->udone[u];
    for (int c = 0; c < j->nchain && u >= 0 && !busy; c++) busy = j->cbusy[c] || (!j->err && j->cnext[c] <= u);
    if (u >= 0 && !busy) j->slot_unit[s] = -1;
  }
}

static void RangeHook(MxReadJob j, MxLane *L, size_t off, size_t n, const float *v, size_t ld)
{
  if (!j->hooks.range || j->err) return;
  double t0 = Now();
  j->hooks.range(j->hooks.ctx, off, n, v, ld);
  L->st.t_hook += Now() - t0;
}

/* Split: unit u read on lane L (taken under mu; mu is held again after, the unit done). */
static void SplitRun(MxReadJob j, MxLane *L, int u)
{
  pthread_mutex_unlock(&j->mu);
  TaskRun(j, L, &j->task[j->utask[u]], j->ur0[u], j->ur1[u], j->uv[u], j->uld[u]);
  RangeHook(j, L, j->uoff[u], j->un[u], j->uv[u], j->uld[u]);
  pthread_mutex_lock(&j->mu);
  j->udone[u] = 1;
  j->hdone++;
  if (j->ucache[u]) SlotsFree(j);
  pthread_cond_broadcast(&j->cv);
}

/* Split: a chain's next unit, done and the chain free, taken: 1 and (*c, *u), or 0. Under mu. */
static int ChainTake(MxReadJob j, int *c, int *u)
{
  for (int k = 0; k < j->nchain && !j->err; k++) {
    const int x = j->cnext[k];
    if (j->cbusy[k] || x >= j->nunit || !j->udone[x]) continue;
    j->cbusy[k] = 1;
    *c          = k;
    *u          = x;
    return 1;
  }
  return 0;
}

static void ChainHook(MxReadJob j, MxLane *L, size_t off, size_t n, int c, const float *v, size_t ld)
{
  double t0 = Now();
  j->hooks.chain(j->hooks.ctx, off, n, c, v, ld);
  L->st.t_hook += Now() - t0;
}

/* Split: chain c's hook of unit u on lane L (taken under mu; mu is held again after). */
static void ChainRun(MxReadJob j, MxLane *L, int c, int u)
{
  pthread_mutex_unlock(&j->mu);
  ChainHook(j, L, j->uoff[u], j->un[u], c, j->uv[u], j->uld[u]);
  pthread_mutex_lock(&j->mu);
  j->cnext[c]++;
  j->cbusy[c] = 0;
  if (j->ucache[u]) SlotsFree(j);
  pthread_cond_broadcast(&j->cv);
}

/* Split: every chain through every unit (or stopped by an error), none running. Under mu. */
static int ChainsDone(MxReadJob j)
{
  for (int k = 0; k < j->nchain; k++)
    if (j->cbusy[k] || (!j->err && j->cnext[k] < j->nunit)) return 0;
  return 1;
}

static void JobRun(MxReadJob j)
{
  MxLane *L = &j->lane[0];
  if (j->split) { /* units, then the chains' hooks, to whichever thread is free */
    pthread_mutex_lock(&j->mu);
    for (;;) {
      int u = j->caller_only ? -1 : SplitTake(j), c;
      if (u >= 0) SplitRun(j, L, u);
      else if (!j->caller_only && ChainTake(j, &c, &u)) ChainRun(j, L, c, u);
      else if (j->hdone == j->next && (j->next == j->nunit || j->err) && ChainsDone(j)) break;
      else pthread_cond_wait(&j->cv, &j->mu);
    }
    pthread_mutex_unlock(&j->mu);
  } else if (j->share) { /* read every task, each offered to the caller once read; then the units left */
    for (int k = 0; k < j->ntask && !j->err; k++) {
      TaskRun(j, L, &j->task[k], j->task[k].ss0, j->task[k].ss1, j->data + j->task[k].off, j->npix);
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
      L->st.t_hook += Now() - t0;
      pthread_mutex_lock(&j->mu);
      j->hdone++;
    }
    while (j->hdone < j->ufirst[j->ready]) pthread_cond_wait(&j->cv, &j->mu); /* the caller's units */
    pthread_mutex_unlock(&j->mu);
  } else /* range by range: a task's read and its range hook, then the chains' */
    for (int i = 0, k = 0; i < j->nrange && !j->err; i++) {
      if (k < j->ntask && j->task[k].off == j->roff[i]) {
        TaskRun(j, L, &j->task[k], j->task[k].ss0, j->task[k].ss1, j->data + j->task[k].off, j->npix);
        RangeHook(j, L, j->roff[i], j->roff[i + 1] - j->roff[i], j->data + j->roff[i], j->npix);
        k++;
      }
      for (int c = 0; c < j->nchain && !j->err; c++) ChainHook(j, L, j->roff[i], j->roff[i + 1] - j->roff[i], c, j->data + j->roff[i], j->npix);
    }
  if (!j->err && j->hooks.train) {
    double t0 = Now();
    j->hooks.train(j->hooks.ctx, j->data, j->bad);
    L->st.t_hook += Now() - t0;
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
   takes the units that the reader thread offers: of frame hooks (MxReaderHooks.share), or
   whole modules to read (split). */
static void JobHelp(MxReadJob j, int until)
{
  while (until == 1 ? j->state == 1 : j->state != 2) {
    double t1 = Now();
    if (j->split) {
      int u = SplitTake(j), c;
      if (u >= 0) SplitRun(j, &j->lane[1], u); /* rows of the train, here while the reader reads others */
      else if (ChainTake(j, &c, &u)) ChainRun(j, &j->lane[1], c, u);
      else {
        pthread_cond_wait(&j->cv, &j->mu);
        continue;
      }
      j->t_hook_caller += Now() - t1;
      continue;
    }
    int u = j->share ? UnitTake(j) : -1;
    if (u < 0) {
      pthread_cond_wait(&j->cv, &j->mu);
      continue;
    }
    pthread_mutex_unlock(&j->mu); /* a unit of frame hooks, here while the reader reads or hooks others */
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
    j->nsel = r->nsel;
    PetscCheck(j->cache = calloc((size_t)MX_NMOD * (size_t)r->nsel + 1, sizeof *j->cache), PETSC_COMM_SELF, PETSC_ERR_MEM, "reader: out of memory");
    for (int l = 0; l < 2; l++) {
      MxLane *L = &j->lane[l];
      PetscCheck(!MxInflaterCreate(r->inflate, &L->inf), PETSC_COMM_SELF, PETSC_ERR_MEM, "reader: cannot create the inflater");
      PetscCheck((L->flags = malloc(MX_MODPIX)) && (L->bscr = malloc(MX_MODPIX)) && (L->mrows = malloc(MX_MODBYTES4)), PETSC_COMM_SELF, PETSC_ERR_MEM, "reader: out of memory");
    }
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    for (int m = 0; m < MX_NMOD; m++) pthread_mutex_init(&j->mmu[m], NULL);
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
  const double t0 = Now();
  int          ok = 1;
  for (PetscInt f = 0; f < r->nsel && ok; f++) {
    hsize_t row = s->first + (hsize_t)r->sel[f];
    if (row >= df->data.nrows || (df->have_mask && row >= df->mask.nrows)) ok = 0; /* HDF5 reports it */
    else {
      t->dsrc[f].addr = ChunkAddr(&df->data, row, &t->dsrc[f].size, &t->dsrc[f].pos);
      if (df->have_mask && t->dsrc[f].addr != MX_NOTDIRECT) t->msrc[f].addr = ChunkAddr(&df->mask, row, &t->msrc[f].size, &t->msrc[f].pos);
      ok = t->dsrc[f].addr != MX_NOTDIRECT && (!df->have_mask || t->msrc[f].addr != MX_NOTDIRECT);
    }
  }
  r->stats.t_index += Now() - t0;
  r->stats.index_lookups += df->data.lookups + df->mask.lookups;
  df->data.lookups = df->mask.lookups = 0;
  if (!ok) PetscFunctionReturn(0);
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
  if ((!r->job || !r->job->ntask) && !(hooks && (hooks->train || hooks->chain))) PetscFunctionReturn(0); /* all read through HDF5 already */
  PetscCall(JobGet(r, &j));
  j->data = data;
  j->bad  = bad;
  if (nranges + 1 > j->maxrange) {
    size_t *ro = realloc(j->roff, (size_t)(nranges + 1) * sizeof *ro);
    PetscCheck(ro, PETSC_COMM_SELF, PETSC_ERR_MEM, "reader: out of memory");
    j->roff     = ro;
    j->maxrange = nranges + 1;
  }
  j->nrange = nranges;
  j->npix   = 0;
  for (int k = 0; k < nranges; k++) {
    j->roff[k] = j->npix;
    j->npix += (size_t)(ranges[k].ss1 - ranges[k].ss0) * MX_NFS;
  }
  j->roff[nranges] = j->npix;
  j->hooks         = hooks ? *hooks : (MxReaderHooks){NULL, NULL, NULL, 0, 0, NULL, NULL, 0, 0};
  j->run           = 1;
  j->share         = j->thread && r->share && j->hooks.frame && j->hooks.share && j->ntask > 0;
  j->use_bscr      = j->hooks.frame && j->hooks.bad_scratch && !j->share;
  j->ready = j->next = j->hdone = j->nunit = 0;
  j->t_hook_caller = 0;
  j->err           = 0;
  for (int l = 0; l < 2; l++) {
    j->lane[l].nonfinite = 0;
    memset(&j->lane[l].st, 0, sizeof j->lane[l].st);
  }
  j->serial++; /* the mask cache's entries checked in this job */
  j->nchain = j->hooks.chain ? j->hooks.nchain : 0;
  if (j->nchain > j->maxchain) {
    int *cn = realloc(j->cnext, (size_t)j->nchain * sizeof *cn), *cb = cn ? realloc(j->cbusy, (size_t)j->nchain * sizeof *cb) : NULL;
    if (cn) j->cnext = cn;
    PetscCheck(cn && cb, PETSC_COMM_SELF, PETSC_ERR_MEM, "reader: out of memory");
    j->cbusy    = cb;
    j->maxchain = j->nchain;
  }
  for (int c = 0; c < j->nchain; c++) j->cnext[c] = j->cbusy[c] = 0;
  /* split: every range in units, in the pixels' order: MX_SPLIT_ROWS rows (from a multiple of
     it: an ASIC row of 64 never spans two) of a task whose data are read straight and whose mask
     is plain or chunked per frame (a chunk of several frames or deflated data would be inflated
     once per unit), else the task; a range read before the job is one unit, done */
  j->split       = 0;
  j->cache_units = 0;
  if (j->thread && r->split && !j->share && (j->ntask > 0 || j->nchain > 0)) {
    const int cache = j->hooks.cache && j->use_bscr && r->cache, urows = cache ? MX_CACHE_ROWS : MX_SPLIT_ROWS;
    int       n     = 0;
    for (int i = 0, k = 0; i < nranges; i++) {
      const MxTask *t = k < j->ntask && j->task[k].off == j->roff[i] ? &j->task[k++] : NULL;
      n += !t || t->df->data.deflate || t->df->data.shuffle || (t->df->have_mask && t->df->mask.c0 > 1 && (t->df->mask.deflate || t->df->mask.shuffle)) ? 1 : (t->ss1 - 1) / urows - t->ss0 / urows + 1;
    }
    if (n > j->maxunit) {
      int    *a  = realloc(j->utask, (size_t)n * sizeof *a), *b = a ? realloc(j->ur0, (size_t)n * sizeof *b) : NULL, *c = b ? realloc(j->ur1, (size_t)n * sizeof *c) : NULL;
      int    *d  = c ? realloc(j->udone, (size_t)n * sizeof *d) : NULL;
      size_t *o  = d ? realloc(j->uoff, (size_t)n * sizeof *o) : NULL, *m = o ? realloc(j->un, (size_t)n * sizeof *m) : NULL;
      if (a) j->utask = a;
      if (b) j->ur0 = b;
      if (c) j->ur1 = c;
      if (d) j->udone = d;
      if (o) j->uoff = o;
      if (m) j->un = m;
      int    *uc = m ? realloc(j->ucache, (size_t)n * sizeof *uc) : NULL;
      float **uv = uc ? realloc(j->uv, (size_t)n * sizeof *uv) : NULL;
      size_t *ul = uv ? realloc(j->uld, (size_t)n * sizeof *ul) : NULL;
      if (uc) j->ucache = uc;
      if (uv) j->uv = uv;
      PetscCheck(ul, PETSC_COMM_SELF, PETSC_ERR_MEM, "reader: out of memory");
      j->uld     = ul;
      j->maxunit = n;
    }
    if (cache && !j->slot[0]) {
      j->slot_cap = (size_t)j->nsel * MX_CACHE_ROWS * MX_NFS;
      for (int k = 0; k < MX_CACHE_SLOTS; k++) PetscCheck(j->slot[k] = aligned_alloc(64, j->slot_cap * sizeof(float)), PETSC_COMM_SELF, PETSC_ERR_MEM, "reader: out of memory");
    }
    for (int k = 0; k < MX_CACHE_SLOTS; k++) j->slot_unit[k] = -1;
    for (int i = 0, k = 0; i < nranges; i++) {
      const MxTask *t     = k < j->ntask && j->task[k].off == j->roff[i] ? &j->task[k] : NULL;
      const int     whole = !t || t->df->data.deflate || t->df->data.shuffle || (t->df->have_mask && t->df->mask.c0 > 1 && (t->df->mask.deflate || t->df->mask.shuffle));
      for (int r0 = ranges[i].ss0; r0 < ranges[i].ss1;) {
        int r1 = whole ? ranges[i].ss1 : PetscMin(ranges[i].ss1, (r0 / urows + 1) * urows);
        j->utask[j->nunit]  = t ? k : -1;
        j->ucache[j->nunit] = t && !whole && cache;
        j->uv[j->nunit]     = j->data + j->roff[i] + (size_t)(r0 - ranges[i].ss0) * MX_NFS; /* data's rows (a slot when taken, ucache) */
        j->uld[j->nunit]    = j->npix;
        j->ur0[j->nunit]   = r0;
        j->ur1[j->nunit]   = r1;
        j->uoff[j->nunit]  = j->roff[i] + (size_t)(r0 - ranges[i].ss0) * MX_NFS;
        j->un[j->nunit]    = (size_t)(r1 - r0) * MX_NFS;
        j->udone[j->nunit] = !t;
        j->nunit++;
        r0 = r1;
      }
      if (t) k++;
    }
    j->split = j->nunit > 1 || j->nchain > 0;
    if (!j->split) j->nunit = 0;
    j->cache_units = j->split && cache;
  }
  j->caller_only = (j->share || j->split) && r->share_caller;
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
  for (int l = 0; l < 2; l++) { /* the reader thread's times (lane 1's are in t_hook_caller); both lanes' bytes and chunks */
    const MxReadStats *st = &j->lane[l].st;
    if (l == 0) {
      r->stats.t_io += st->t_io;
      r->stats.t_inflate += st->t_inflate;
      r->stats.t_finish += st->t_finish;
      r->stats.t_hook += st->t_hook;
    } else r->stats.t_read_caller += st->t_io + st->t_inflate + st->t_finish;
    r->stats.bytes += st->bytes;
    r->stats.chunks_inflated += st->chunks_inflated;
    r->stats.chunks_reused += st->chunks_reused;
  }
  r->stats.ranges_direct += j->ntask;
  for (int u = 0; u < j->nunit && j->split; u++) r->stats.units_cached += j->ucache[u];
  j->ntask   = 0;
  *nonfinite = j->lane[0].nonfinite + j->lane[1].nonfinite;
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
    for (int m = 0; m < MX_NMOD; m++) pthread_mutex_destroy(&j->mmu[m]);
    free(j->utask);
    free(j->ur0);
    free(j->ur1);
    free(j->uoff);
    free(j->un);
    free(j->udone);
    free(j->ucache);
    free(j->uv);
    free(j->uld);
    for (int k = 0; k < MX_CACHE_SLOTS; k++) free(j->slot[k]);
    free(j->cnext);
    free(j->cbusy);
    free(j->roff);
    for (size_t k = 0; j->cache && k < (size_t)MX_NMOD * (size_t)j->nsel; k++) {
      free(j->cache[k].bytes);
      free(j->cache[k].idx);
    }
    free(j->cache);
    free(j->task);
    free(j->ufirst);
    free(j->src);
    for (int l = 0; l < 2; l++) {
      MxLane *L = &j->lane[l];
      free(L->cbuf);
      free(L->dbuf);
      free(L->sbuf);
      free(L->flags);
      free(L->bscr);
      free(L->mrows);
      MxInflaterDestroy(&L->inf);
    }
    free(j);
    r->job = NULL;
  }
  for (int i = 0; r->dfile && i < r->idx.nfiles; i++) PetscCall(MxDirectFileClose(r, i));
  PetscCall(PetscFree(r->dfile));
  PetscFunctionReturn(0);
}
