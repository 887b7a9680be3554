/* Private state of MxReader: the run index built on rank 0 and broadcast to all ranks. */
#pragma once
#include <mxpcs/reader.h>

#define MX_PATHLEN 1024
#define MX_SRCLEN 160

typedef struct {
  char path[MX_PATHLEN]; /* file path */
  char src[MX_SRCLEN];   /* INSTRUMENT source, e.g. MID_DET_AGIPD1M-1/CORR/3CH0:output */
  int  module, raw, seq;
  char version[16];      /* METADATA/dataFormatVersion ("0.5" when absent) */
} MxRunFile;

typedef struct {
  int32_t  file;  /* index into files, -1 = module has no entry for this train */
  uint32_t count; /* frames of this module in this train (0 = no data) */
  uint64_t first; /* first row in the file's image datasets */
} MxSlot;

/* What the scan found; identical on every rank after MxRunIndexBcast. */
typedef struct {
  char       dir[MX_PATHLEN]; /* the run directory actually read */
  int        nfiles, nother; /* module files, other run files (DA01, ...) */
  MxRunFile *files;
  PetscInt   ntrains;
  uint64_t  *tid;
  int       *flag;   /* 1 good, 0 suspect (INDEX/flag, inverted for format 1.1) */
  MxSlot    *slot;   /* ntrains * MX_NMOD */
  int        frames; /* frames per train */
  int        raw;
  char      *anom;   /* anomaly lines, '\n'-separated */
  size_t     anom_len, anom_cap;
  int        nanom, ndropped;
  MxRunInfo  info;   /* METADATA of the first file that has it */
} MxRunIndex;

typedef struct {
  PetscBool skip_suspect, skip_inconsistent;
  PetscBool strict; /* every anomaly is an error */
} MxScanOptions;

PetscErrorCode MxRunIndexScan(const char dir[], const MxScanOptions *opt, MxRunIndex *idx);
PetscErrorCode MxRunIndexBcast(MPI_Comm comm, MxRunIndex *idx);
PetscErrorCode MxRunIndexFree(MxRunIndex *idx);
PetscErrorCode MxRunIndexAnomaly(MxRunIndex *idx, const char *fmt, ...) PETSC_ATTRIBUTE_FORMAT(2, 3);
/* Drop trains where keep[i] == 0 (compacting tid, flag and slot). */
PetscErrorCode MxRunIndexKeep(MxRunIndex *idx, const char *keep);

/* Direct reads (src/reader/direct.c): a corrected module file's image/data and image/mask read
   with pread() at the chunk addresses HDF5 reports, deflate chunks inflated by libdeflate (or
   ISA-L, zlib), on a reader thread that does no HDF5 and no MPI. */
typedef struct {
  int       ok;          /* the direct path covers this dataset */
  int       contiguous;  /* else chunked (c0, 512, 128) */
  int       shuffle, deflate;
  size_t    c0, elsize;  /* frames per chunk, bytes per element */
  hsize_t   nrows;
  uint64_t  addr;        /* contiguous: file address of row 0 */
  size_t    nchunks;
  uint64_t *caddr;       /* per chunk: file address, 0 = not looked up, UINT64_MAX = not direct */
  uint32_t *csize;       /* per chunk: bytes stored */
  hid_t     d;           /* open dataset (lookups on the main thread) */
  int       indexed;     /* caddr/csize filled for every chunk from the file's chunk index */
  double    lookups;     /* chunks looked up one by one (H5Dget_chunk_info_by_coord) since the last count */
} MxDirectDset;

typedef struct {
  int          setup, fd;
  MxDirectDset data, mask;
  int          have_mask;
  uint64_t    *tid, *cid; /* image/trainId and image/cellId of the whole file (NULL: read per train) */
  hsize_t      nid;
} MxDirectFile;

/* pread() of all n bytes at off (retried on EINTR and short reads): 0, else 1 */
int MxPreadAll(int fd, void *buf, size_t n, uint64_t off);

typedef struct _MxReadJob *MxReadJob;

struct _p_MxReader {
  MPI_Comm      comm, pix_comm, train_comm;
  char          dir[MX_PATHLEN];
  char          mask_file[MX_PATHLEN];
  MxScanOptions scan;
  PetscInt      modsel[MX_NMOD], nmodsel;
  PetscInt64    trains_a, trains_b, ids_a, ids_b, pulses_a, pulses_b;
  PetscBool     trains_set, ids_set, pulses_set, pulse_by_cell;
  PetscReal     adu_per_photon;
  PetscInt      pixel_parts;
  PetscBool     setup;
  MxViewOption  view; /* -reader_view: where SetUp prints what it found */

  MxRunIndex     idx;
  PetscInt       modules[MX_NMOD], nmodules;
  PetscInt       nsel;       /* selected frames per train */
  double         last_nonfinite; /* NaN/inf values not flagged by a mask in the last MxReaderRead */
  PetscInt      *sel;        /* their positions within the train */
  uint64_t      *pulse_ids, *cell_ids; /* of the selected frames (run pattern) */
  unsigned char *user_mask;
  PetscInt       t0, t1, ipart, itb, ntb;

  hid_t   *fh;      /* open file handles, lazily, per file index */
  int      nopen;
  float   *fbuf;    /* scratch */
  uint32_t *mbuf;
  size_t   bufsz;

  /* direct reads and the reader thread (direct.c) */
  PetscBool     direct, async;
  PetscBool     share;       /* -reader_share: the caller takes frame hooks while it waits (MxReaderHooks.share) */
  PetscBool     share_caller; /* -reader_test_share_caller: ... all of them (tests); with split, all the units */
  PetscBool     split;       /* -reader_split: the caller reads whole modules of the train while it waits */
  PetscBool     cache;       /* -reader_cache: split units read into buffers that stay in the cache (MxReaderHooks.cache) */
  PetscBool     chunk_index; /* -reader_chunk_index: each file's chunk index read whole (MxH5ChunkIndex), else one lookup per chunk */
  PetscBool     single_core; /* the reader thread shares the rank's only core */
  MxInflateKind inflate;
  MxDirectFile *dfile;     /* per file index */
  MxReadJob     job;       /* the read in flight (one at a time) */
  PetscInt      job_train; /* its train, -1: none */
  double        sync_nonfinite;
  MxReadStats   stats;
};

/* Direct reads: set up file i (main thread, HDF5); plan rows of range rr of train slot s into
   the job, or say that this range needs the HDF5 path (*direct = 0). */
PetscErrorCode MxDirectFileSetUp(MxReader r, int i, hid_t f);
PetscErrorCode MxDirectFileClose(MxReader r, int i);
PetscErrorCode MxDirectPlan(MxReader r, int i, const MxSlot *s, const MxRowRange *rr, float *data, unsigned char *bad, size_t npix, size_t off, uint64_t tid, PetscBool *direct);
PetscErrorCode MxDirectJobStart(MxReader r, float *data, unsigned char *bad, const MxRowRange ranges[], int nranges, const MxReaderHooks *hooks);
PetscErrorCode MxDirectJobWait(MxReader r, double *nonfinite);
void           MxDirectJobDiscard(MxReader r); /* forget the tasks planned (Begin failed) */
PetscErrorCode MxDirectDestroy(MxReader r);
