/* MxReader: options, selections, the rank grid, and hyperslab reads of frames. */
#include "readerimpl.h"
#include <math.h>

static PetscLogEvent MX_READER_SETUP, MX_READER_READ;

PetscErrorCode MxReaderCreate(MPI_Comm comm, MxReader *r)
{
  MxReader x;

  PetscFunctionBeginUser;
  PetscCall(MxLogEventRegisterOnce("MxReader", "MxReaderSetUp", &MX_READER_SETUP));
  PetscCall(MxLogEventRegisterOnce("MxReader", "MxReaderRead", &MX_READER_READ));
  PetscCall(PetscNew(&x));
  x->comm           = comm;
  x->pix_comm       = MPI_COMM_NULL;
  x->train_comm     = MPI_COMM_NULL;
  x->adu_per_photon = 1.0;
  x->pixel_parts    = 1;
  x->direct         = PETSC_TRUE;
  x->async          = PETSC_TRUE;
  x->share          = PETSC_FALSE; /* since -reader_cache, droplets too are faster in the cache path */
  x->split          = PETSC_TRUE;
  x->cache          = PETSC_TRUE;
  x->chunk_index    = PETSC_TRUE;
  x->inflate        = MX_INFLATE_LIBDEFLATE;
  x->job_train      = -1;
  x->scan.skip_inconsistent = PETSC_TRUE; /* a bad train is skipped and counted; -strict makes it an error */
  *r                = x;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderSetRunDir(MxReader r, const char dir[])
{
  PetscFunctionBeginUser;
  snprintf(r->dir, sizeof r->dir, "%s", dir);
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderSetFromOptions(MxReader r)
{
  char      buf[256], pby[16] = "index";
  PetscBool set;
  PetscInt  nmod = MX_NMOD;

  PetscFunctionBeginUser;
  PetscOptionsBegin(r->comm, NULL, "Run reader (European XFEL AGIPD-1M)", "MxReader");
  PetscCall(PetscOptionsString("-run", "Run directory (raw/r#### or proc/r####)", "MxReaderSetRunDir", r->dir, r->dir, sizeof r->dir, NULL));
  PetscCall(PetscOptionsIntArray("-reader_modules", "Modules to read, e.g. 3,4,15 (default: all present)", "MxReader", r->modsel, &nmod, &set));
  if (set) {
    r->nmodsel = nmod;
    for (PetscInt i = 0; i < nmod; i++) PetscCheck(r->modsel[i] >= 0 && r->modsel[i] < MX_NMOD, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -reader_modules: module %" PetscInt_FMT " is not in 0..15", r->modsel[i]);
    PetscCheck(nmod > 0, r->comm, PETSC_ERR_ARG_WRONG, "option -reader_modules: empty list");
  }
  PetscCall(PetscOptionsString("-reader_trains", "Trains first:last by position in the run's train list (0-based, inclusive)", "MxReader", "", buf, sizeof buf, &r->trains_set));
  if (r->trains_set) PetscCall(MxParseRange(r->comm, buf, "-reader_trains", &r->trains_a, &r->trains_b));
  PetscCall(PetscOptionsString("-reader_train_ids", "Trains first:last by train ID (inclusive)", "MxReader", "", buf, sizeof buf, &r->ids_set));
  if (r->ids_set) PetscCall(MxParseRange(r->comm, buf, "-reader_train_ids", &r->ids_a, &r->ids_b));
  PetscCall(PetscOptionsString("-reader_pulses", "Frames first:last within each train (inclusive; by position or cellId, see -reader_pulse_by)", "MxReader", "", buf, sizeof buf, &r->pulses_set));
  if (r->pulses_set) PetscCall(MxParseRange(r->comm, buf, "-reader_pulses", &r->pulses_a, &r->pulses_b));
  PetscCall(PetscOptionsString("-reader_pulse_by", "What -reader_pulses counts: index (position in train) or cell (AGIPD cellId)", "MxReader", pby, pby, sizeof pby, NULL));
  PetscCheck(!strcmp(pby, "index") || !strcmp(pby, "cell"), r->comm, PETSC_ERR_ARG_WRONG, "option -reader_pulse_by: '%s' is not index or cell", pby);
  r->pulse_by_cell = !strcmp(pby, "cell");
  PetscCall(PetscOptionsReal("-reader_adu_per_photon", "Detector units per photon (1 when data are photon counts)", "MxReader", r->adu_per_photon, &r->adu_per_photon, NULL));
  PetscCheck(r->adu_per_photon > 0 && isfinite(r->adu_per_photon), r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -reader_adu_per_photon: %g must be > 0", (double)r->adu_per_photon);
  PetscCall(PetscOptionsBool("-reader_skip_suspect", "Drop trains flagged suspect in INDEX/flag", "MxReader", r->scan.skip_suspect, &r->scan.skip_suspect, NULL));
  PetscCall(PetscOptionsBool("-reader_skip_inconsistent", "Drop (and count) trains whose modules disagree on frames per train; 0: an error", "MxReader", r->scan.skip_inconsistent, &r->scan.skip_inconsistent, NULL));
  PetscCall(PetscOptionsBool("-strict", "Any anomaly of the run (a bad train, a module without data, a skipped INDEX entry) is an error instead of being skipped, counted and reported", "MxReader", r->scan.strict, &r->scan.strict, NULL));
  if (r->scan.strict) r->scan.skip_inconsistent = PETSC_FALSE;
  PetscCall(PetscOptionsInt("-reader_pixel_parts", "Pixel parts of the rank grid (ranks = train blocks x pixel parts)", "MxReader", r->pixel_parts, &r->pixel_parts, NULL));
  PetscCall(PetscOptionsString("-mask_file", "HDF5 file with dataset 'mask' (16,512,128), nonzero = bad pixel", "MxReader", r->mask_file, r->mask_file, sizeof r->mask_file, NULL));
  PetscCall(PetscOptionsBool("-reader_direct", "Read corrected frames and deflated masks by direct chunk reads (pread + libdeflate) where the layout allows; 0: always through HDF5's filter pipeline (same bits)", "MxReader", r->direct, &r->direct, NULL));
  PetscCall(PetscOptionsBool("-reader_async", "Read the next train on a reader thread while this one is correlated (no HDF5, no MPI in the thread)", "MxReaderReadBegin", r->async, &r->async, NULL));
  PetscCall(PetscOptionsBool("-reader_share", "With the reader thread: heavy per-frame work (the detector corrections with droplets) read into the train's buffer first, then shared with the main thread while it waits for the read, instead of the cache path (-reader_cache; the same bits, slower since it)", "MxReaderReadBegin", r->share, &r->share, NULL));
  PetscCall(PetscOptionsBool("-reader_split", "With the reader thread: the train is read in units of rows (128, or 64 with -reader_cache), each read, masked and prepared by whichever thread is free, the main thread too while it waits for the train (the same bits)", "MxReaderReadBegin", r->split, &r->split, NULL));
  PetscCall(PetscOptionsBool("-reader_cache", "With -reader_split: units of 64 rows of all the train's frames read into buffers that stay in the core's cache and finished there (the mean image and SAXS sums from them), so that the frames are not written to memory (the same bits)", "MxReaderReadBegin", r->cache, &r->cache, NULL));
  PetscCall(PetscOptionsBool("-reader_chunk_index", "Direct reads: each file's whole chunk index read at once from its bytes (HDF5 1.10's default layout: a version-1 B-tree), where HDF5 1.10 finds a chunk by walking its index from the start; 0: one such lookup per chunk, N^2/2 steps for N chunks (the same addresses)", "MxReaderSetUp", r->chunk_index, &r->chunk_index, NULL));
  PetscCall(PetscOptionsBool("-reader_test_share_caller", "Tests: the reader thread leaves all the shared work to the main thread (-reader_share's per-frame work, or -reader_split's modules): the shared path taken on every train, not only when the main thread happens to wait", "MxReaderReadBegin", r->share_caller, &r->share_caller, NULL));
  {
    const char *kinds[] = {"libdeflate", "isal", "zlib"};
    PetscInt    k       = (PetscInt)r->inflate;
    PetscCall(PetscOptionsEList("-reader_inflate", "Inflater of deflated chunks on the direct path", "MxReader", kinds, 3, kinds[k], &k, NULL));
    r->inflate = (MxInflateKind)k;
  }
  PetscCall(MxOptionsView("-reader_view", "Where MxReaderSetUp prints what the reader found (no value: standard output; 0: nowhere), e.g. ascii:run.txt", "MxReaderSetView", &r->view));
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}

/* The user mask, on every rank; once. */
static PetscErrorCode ReadUserMask(MxReader r)
{
  PetscFunctionBeginUser;
  if (!r->mask_file[0] || r->user_mask) PetscFunctionReturn(0);
  PetscCall(PetscCalloc1(MX_NMOD * MX_MODPIX, &r->user_mask));
  PetscCall(MxMaskFileRead(r->comm, r->mask_file, r->user_mask));
  PetscFunctionReturn(0);
}

/* Module, train and pulse selections; identical on every rank. */
static PetscErrorCode ApplySelections(MxReader r)
{
  MxRunIndex *idx = &r->idx;
  char       *keep;
  int         present[MX_NMOD] = {0};

  PetscFunctionBeginUser;
  for (PetscInt t = 0; t < idx->ntrains; t++)
    for (int m = 0; m < MX_NMOD; m++) present[m] |= idx->slot[t * MX_NMOD + m].count > 0;
  if (r->nmodsel) {
    int want[MX_NMOD] = {0};
    for (PetscInt i = 0; i < r->nmodsel; i++) {
      PetscCheck(present[r->modsel[i]], r->comm, PETSC_ERR_ARG_WRONG, "option -reader_modules: module %" PetscInt_FMT " has no data in run %s", r->modsel[i], r->dir);
      want[r->modsel[i]] = 1;
    }
    for (int m = 0; m < MX_NMOD; m++) present[m] = want[m];
  }
  r->nmodules = 0;
  for (int m = 0; m < MX_NMOD; m++)
    if (present[m]) r->modules[r->nmodules++] = m;

  PetscCall(PetscMalloc1(idx->ntrains + 1, &keep));
  for (PetscInt t = 0; t < idx->ntrains; t++) {
    int any = 0;
    for (int m = 0; m < MX_NMOD; m++) {
      MxSlot *s = &idx->slot[t * MX_NMOD + m];
      if (!present[m]) *s = (MxSlot){-1, 0, 0};
      any |= s->count > 0;
    }
    keep[t] = (char)any;
    if (r->trains_set) keep[t] &= (t >= r->trains_a && t <= r->trains_b);
    if (r->ids_set) keep[t] &= (idx->tid[t] >= (uint64_t)r->ids_a && idx->tid[t] <= (uint64_t)r->ids_b);
  }
  if (r->trains_set) PetscCheck(r->trains_a < idx->ntrains, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -reader_trains: %lld:%lld starts beyond the run's %" PetscInt_FMT " trains", (long long)r->trains_a, (long long)r->trains_b, idx->ntrains);
  PetscCall(MxRunIndexKeep(idx, keep));
  PetscCall(PetscFree(keep));
  PetscCheck(idx->ntrains > 0, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "run %s: the train/module selection leaves no trains", r->dir);

  /* pulse selection against the run's pattern (first train, first module with data) */
  uint64_t *pid, *cid;
  PetscInt  F = idx->frames;
  PetscCall(PetscMalloc1(F, &pid));
  PetscCall(PetscMalloc1(F, &cid));
  {
    PetscErrorCode ierr = 0;
    PetscMPIInt    rank;
    MPI_Comm_rank(r->comm, &rank);
    if (!rank) {
      PetscInt save = r->nsel;
      r->nsel       = 0; /* read the full pattern */
      ierr          = MxReaderReadTrainIds(r, 0, pid, cid);
      r->nsel       = save;
    }
    PetscCall(MxErrorSync(r->comm, ierr));
    PetscCallMPI(MPI_Bcast(pid, (int)F, MPI_UINT64_T, 0, r->comm));
    PetscCallMPI(MPI_Bcast(cid, (int)F, MPI_UINT64_T, 0, r->comm));
  }
  PetscCall(PetscMalloc1(F, &r->sel));
  r->nsel = 0;
  for (PetscInt f = 0; f < F; f++) {
    PetscBool in = PETSC_TRUE;
    if (r->pulses_set) {
      PetscInt64 key = r->pulse_by_cell ? (PetscInt64)cid[f] : f;
      in             = key >= r->pulses_a && key <= r->pulses_b;
    }
    if (in) r->sel[r->nsel++] = f;
  }
  if (r->pulses_set && !r->pulse_by_cell)
    PetscCheck(r->pulses_b < F, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -reader_pulses: %lld:%lld reaches beyond the train length of %" PetscInt_FMT " frames in run %s", (long long)r->pulses_a, (long long)r->pulses_b, F, r->dir);
  PetscCheck(r->nsel > 0, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -reader_pulses: %lld:%lld selects no frame (trains have %" PetscInt_FMT " frames, cellId %llu..%llu)", (long long)r->pulses_a, (long long)r->pulses_b, F, (unsigned long long)cid[0], (unsigned long long)cid[F - 1]);
  PetscCall(PetscMalloc1(r->nsel, &r->pulse_ids));
  PetscCall(PetscMalloc1(r->nsel, &r->cell_ids));
  for (PetscInt i = 0; i < r->nsel; i++) {
    r->pulse_ids[i] = pid[r->sel[i]];
    r->cell_ids[i]  = cid[r->sel[i]];
  }
  PetscCall(PetscFree(pid));
  PetscCall(PetscFree(cid));
  PetscFunctionReturn(0);
}

static PetscErrorCode ReaderView(void *r, PetscViewer v) { return MxReaderView((MxReader)r, v); }

PetscErrorCode MxReaderSetUp(MxReader r)
{
  PetscMPIInt    rank, size;
  PetscErrorCode ierr = 0;

  PetscFunctionBeginUser;
  if (r->setup) PetscFunctionReturn(0);
  PetscCall(PetscLogEventBegin(MX_READER_SETUP, 0, 0, 0, 0));
  MPI_Comm_rank(r->comm, &rank);
  MPI_Comm_size(r->comm, &size);
  PetscCheck(r->dir[0], r->comm, PETSC_ERR_ARG_WRONGSTATE, "no run directory: give -run DIR");
  PetscCheck(r->pixel_parts >= 1 && size % r->pixel_parts == 0, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -reader_pixel_parts: %" PetscInt_FMT " must be >= 1 and divide the %d ranks", r->pixel_parts, size);
  if (!rank) ierr = MxRunIndexScan(r->dir, &r->scan, &r->idx);
  PetscCall(MxErrorSync(r->comm, ierr));
  PetscCall(MxRunIndexBcast(r->comm, &r->idx));
  PetscCall(PetscCalloc1(r->idx.nfiles + 1, &r->fh));
  PetscCall(PetscCalloc1(r->idx.nfiles + 1, &r->dfile));
  for (int i = 0; i < r->idx.nfiles; i++) r->fh[i] = r->dfile[i].fd = -1;
  PetscCall(ApplySelections(r));
  PetscCall(ReadUserMask(r));

  /* rank grid: rank = itb * P + ipart; train blocks are contiguous (halo of one train later) */
  r->ipart = rank % r->pixel_parts;
  r->itb   = rank / r->pixel_parts;
  r->ntb   = size / r->pixel_parts;
  PetscCallMPI(MPI_Comm_split(r->comm, (int)r->itb, rank, &r->pix_comm));
  PetscCallMPI(MPI_Comm_split(r->comm, (int)r->ipart, rank, &r->train_comm));
  {
    PetscInt n = r->idx.ntrains, q = n / r->ntb, rem = n % r->ntb;
    r->t0 = r->itb * q + PetscMin(r->itb, rem);
    r->t1 = r->t0 + q + (r->itb < rem);
  }
  r->setup = PETSC_TRUE;
  PetscCall(PetscLogEventEnd(MX_READER_SETUP, 0, 0, 0, 0));
  PetscCall(MxViewOptionApply(&r->view, ReaderView, r));
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetRunInfo(MxReader r, MxRunInfo *info, const char **dir)
{
  PetscFunctionBeginUser;
  PetscCheck(r->setup, r->comm, PETSC_ERR_ARG_WRONGSTATE, "call MxReaderSetUp() before MxReaderGetRunInfo()");
  if (info) *info = r->idx.info;
  if (dir) *dir = r->idx.dir;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetTrains(MxReader r, PetscInt *n, const uint64_t **ids)
{
  PetscFunctionBeginUser;
  if (n) *n = r->idx.ntrains;
  if (ids) *ids = r->idx.tid;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetFrames(MxReader r, PetscInt *n, const uint64_t **pulse_ids, const uint64_t **cell_ids)
{
  PetscFunctionBeginUser;
  if (n) *n = r->nsel;
  if (pulse_ids) *pulse_ids = r->pulse_ids;
  if (cell_ids) *cell_ids = r->cell_ids;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetModules(MxReader r, PetscInt *n, const PetscInt **mods)
{
  PetscFunctionBeginUser;
  *n    = r->nmodules;
  *mods = r->modules;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderIsRaw(MxReader r, PetscBool *raw)
{
  PetscFunctionBeginUser;
  *raw = r->idx.raw ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetTrainModules(MxReader r, PetscInt t, PetscInt *bits)
{
  PetscFunctionBeginUser;
  PetscCheck(t >= 0 && t < r->idx.ntrains, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "train index %" PetscInt_FMT " out of range", t);
  *bits = 0;
  for (int m = 0; m < MX_NMOD; m++)
    if (r->idx.slot[t * MX_NMOD + m].count) *bits |= (PetscInt)1 << m;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderLoadUserMask(MxReader r)
{
  PetscFunctionBeginUser;
  PetscCall(ReadUserMask(r));
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetUserMask(MxReader r, const unsigned char **mask)
{
  PetscFunctionBeginUser;
  *mask = r->user_mask;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetLocalTrains(MxReader r, PetscInt *t0, PetscInt *t1)
{
  PetscFunctionBeginUser;
  *t0 = r->t0;
  *t1 = r->t1;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetPixelPart(MxReader r, PetscInt *ipart, PetscInt *nparts)
{
  PetscFunctionBeginUser;
  *ipart  = r->ipart;
  *nparts = r->pixel_parts;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetComms(MxReader r, MPI_Comm *pix, MPI_Comm *train)
{
  PetscFunctionBeginUser;
  if (pix) *pix = r->pix_comm;
  if (train) *train = r->train_comm;
  PetscFunctionReturn(0);
}

/* Every open file but train t's closed once more are open than two sequence files of each
   module read (the current and the next), before train t is planned (no read in flight): each
   open file holds HDF5's caches and the direct reader's chunk addresses and train ids, and two
   descriptors, so that a run of many sequence files kept them all open until 256 (a rank's
   peak memory grew by 0.6 MB for every small sequence file read, and 16 modules would have
   used 512 descriptors). */
static PetscErrorCode CloseOthers(MxReader r, PetscInt t)
{
  const int maxopen = PetscMax(4, 2 * (int)r->nmodules + 2);
  PetscFunctionBeginUser;
  if (r->nopen < maxopen) PetscFunctionReturn(0);
  for (int k = 0; k < r->idx.nfiles; k++) {
    int keep = 0;
    for (int m = 0; m < MX_NMOD && !keep; m++) keep = r->idx.slot[(size_t)t * MX_NMOD + m].file == k;
    if (r->fh[k] < 0 || keep) continue;
    PetscCall(MxDirectFileClose(r, k));
    H5Fclose(r->fh[k]);
    r->fh[k] = -1;
    r->nopen--;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode OpenFile(MxReader r, int i, hid_t *f)
{
  PetscFunctionBeginUser;
  if (r->fh[i] < 0) {
    if (r->nopen >= 256 && r->job_train < 0) { /* keep well under the descriptor limit (not while a read is in flight) */
      for (int k = 0; k < r->idx.nfiles; k++)
        if (r->fh[k] >= 0) {
          PetscCall(MxDirectFileClose(r, k));
          H5Fclose(r->fh[k]);
          r->fh[k] = -1;
        }
      r->nopen = 0;
    }
    r->fh[i] = H5Fopen(r->idx.files[i].path, H5F_ACC_RDONLY, H5P_DEFAULT);
    MxH5Call(r->fh[i], PETSC_COMM_SELF, "%s: cannot open as HDF5 (removed or corrupted since the scan?)", r->idx.files[i].path);
    r->nopen++;
  }
  *f = r->fh[i];
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderReadTrainIds(MxReader r, PetscInt t, uint64_t *pid, uint64_t *cid)
{
  MxRunIndex *idx = &r->idx;
  PetscInt    n   = r->nsel ? r->nsel : idx->frames;
  uint64_t   *a, *b;
  char        path[512];
  hid_t       f;

  PetscFunctionBeginUser;
  for (int m = 0; m < MX_NMOD; m++) {
    MxSlot *s = &idx->slot[t * MX_NMOD + m];
    if (!s->count) continue;
    MxRunFile *rf = &idx->files[s->file];
    PetscCall(OpenFile(r, s->file, &f));
    PetscCall(PetscMalloc2(idx->frames, &a, idx->frames, &b));
    snprintf(path, sizeof path, "INSTRUMENT/%s/image/pulseId", rf->src);
    PetscCall(MxH5ReadU64(f, rf->path, path, s->first, s->count, a));
    snprintf(path, sizeof path, "INSTRUMENT/%s/image/cellId", rf->src);
    PetscCall(MxH5ReadU64(f, rf->path, path, s->first, s->count, b));
    for (PetscInt i = 0; i < n; i++) {
      PetscInt k = r->nsel ? r->sel[i] : i;
      pid[i]     = a[k];
      cid[i]     = b[k];
    }
    PetscCall(PetscFree2(a, b));
    PetscFunctionReturn(0);
  }
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "train %llu has no module with data", (unsigned long long)idx->tid[t]);
}

/* Check image/trainId and cellId of the rows about to be read (from the file's ids read once
   by MxDirectFileSetUp when they could be read whole; else row by row, reporting). */
static PetscErrorCode CheckRows(MxReader r, int fi, hid_t f, const MxRunFile *rf, const MxSlot *s, uint64_t tid)
{
  char                path[512];
  uint64_t           *a = NULL;
  const MxDirectFile *df = &r->dfile[fi];
  const uint64_t     *ta, *ca;
  PetscBool           cached = df->tid && s->first + s->count <= df->nid;

  PetscFunctionBeginUser;
  snprintf(path, sizeof path, "INSTRUMENT/%s/image/trainId", rf->src);
  if (cached) ta = df->tid + s->first;
  else {
    PetscCall(PetscMalloc1(s->count, &a));
    PetscCall(MxH5ReadU64(f, rf->path, path, s->first, s->count, a));
    ta = a;
  }
  for (uint32_t i = 0; i < s->count; i++)
    PetscCheck(ta[i] == tid, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s row %llu holds train %llu, INDEX says train %llu", rf->path, path, (unsigned long long)(s->first + i), (unsigned long long)ta[i], (unsigned long long)tid);
  snprintf(path, sizeof path, "INSTRUMENT/%s/image/cellId", rf->src);
  if (cached) ca = df->cid + s->first;
  else {
    PetscCall(MxH5ReadU64(f, rf->path, path, s->first, s->count, a));
    ca = a;
  }
  for (PetscInt i = 0; i < r->nsel; i++)
    PetscCheck(ca[r->sel[i]] == r->cell_ids[i], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: train %llu frame %" PetscInt_FMT " has cellId %llu, the run's pattern has %llu", rf->path, (unsigned long long)tid, r->sel[i], (unsigned long long)ca[r->sel[i]], (unsigned long long)r->cell_ids[i]);
  PetscCall(PetscFree(a));
  PetscFunctionReturn(0);
}

/* File selection: the selected frames of one train, rows [ss0,ss1) (raw: analogue plane). */
static void SelectFrames(MxReader r, hid_t fs, const MxSlot *s, const MxRowRange *rr)
{
  int raw = r->idx.raw;
  H5Sselect_none(fs);
  for (PetscInt i = 0; i < r->nsel;) {
    PetscInt j = i + 1; /* merge consecutive frames into one block */
    while (j < r->nsel && r->sel[j] == r->sel[j - 1] + 1) j++;
    hsize_t off3[3] = {s->first + r->sel[i], (hsize_t)rr->ss0, 0}, cnt3[3] = {(hsize_t)(j - i), (hsize_t)(rr->ss1 - rr->ss0), MX_NFS};
    hsize_t off4[4] = {s->first + r->sel[i], 0, (hsize_t)rr->ss0, 0}, cnt4[4] = {(hsize_t)(j - i), 1, (hsize_t)(rr->ss1 - rr->ss0), MX_NFS};
    H5Sselect_hyperslab(fs, H5S_SELECT_OR, raw ? off4 : off3, NULL, raw ? cnt4 : cnt3, NULL);
    i = j;
  }
}

/* One range through HDF5's own path: raw data and the layouts the direct path (direct.c) does
   not cover. */
static PetscErrorCode ReadRangeHDF5(MxReader r, hid_t f, const MxRunFile *rf, const MxSlot *s, const MxRowRange *rr, uint64_t tid, float *data, unsigned char *bad, size_t npix, size_t off, double *nonfinite)
{
  MxRunIndex *idx = &r->idx;
  size_t      nrp = (size_t)(rr->ss1 - rr->ss0) * MX_NFS, need = (size_t)r->nsel * nrp;
  hid_t       d, fs, ms;
  herr_t      e;
  char        path[512];

  PetscFunctionBeginUser;
  /* the memory selection has the file selection's shape (frames, rows, 128), so HDF5 copies
     whole rows instead of iterating element by element */
  hsize_t nrow_all = npix / MX_NFS, nrows = (hsize_t)(rr->ss1 - rr->ss0);
  hsize_t mdims[4] = {(hsize_t)r->nsel, 1, nrow_all, MX_NFS}, moff[4] = {0, 0, off / MX_NFS, 0}, mcnt[4] = {(hsize_t)r->nsel, 1, nrows, MX_NFS};
  int     mr = idx->raw ? 4 : 3;
  if (!idx->raw) { /* drop the plane axis */
    mdims[1] = nrow_all;
    mdims[2] = MX_NFS;
    moff[1]  = off / MX_NFS;
    moff[2]  = 0;
    mcnt[1]  = nrows;
    mcnt[2]  = MX_NFS;
  }

  ms = H5Screate_simple(mr, mdims, NULL);
  H5Sselect_hyperslab(ms, H5S_SELECT_SET, moff, NULL, mcnt, NULL);
  snprintf(path, sizeof path, "INSTRUMENT/%s/image/data", rf->src);
  d = H5Dopen2(f, path, H5P_DEFAULT);
  if (d < 0) {
    H5Sclose(ms);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot open %s", rf->path, path);
  }
  fs = H5Dget_space(d);
  SelectFrames(r, fs, s, rr);
  e = H5Dread(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, data);
  H5Sclose(fs);
  H5Dclose(d);
  if (e < 0) H5Sclose(ms);
  MxH5Call(e, PETSC_COMM_SELF, "%s: reading %s for train %llu (module %d rows %d..%d) failed (file truncated or corrupted?)", rf->path, path, (unsigned long long)tid, rr->module, rr->ss0, rr->ss1 - 1);
  /* the file's bad-pixel mask (corrected data) */
  PetscBool have_mask = PETSC_FALSE;
  if (!idx->raw) {
    snprintf(path, sizeof path, "INSTRUMENT/%s/image/mask", rf->src);
    if (MxH5Exists(f, path)) {
      have_mask = PETSC_TRUE;
      if (r->bufsz < need) {
        PetscCall(PetscFree(r->mbuf));
        PetscCall(PetscMalloc1(need, &r->mbuf));
        r->bufsz = need;
      }
      hsize_t mdim3[3] = {(hsize_t)r->nsel, nrows, MX_NFS};
      hid_t   ms1      = H5Screate_simple(3, mdim3, NULL);
      d             = H5Dopen2(f, path, H5P_DEFAULT);
      fs            = H5Dget_space(d);
      SelectFrames(r, fs, s, rr);
      e = d < 0 ? -1 : H5Dread(d, H5T_NATIVE_UINT32, ms1, fs, H5P_DEFAULT, r->mbuf);
      H5Sclose(fs);
      if (d >= 0) H5Dclose(d);
      H5Sclose(ms1);
      if (e < 0) H5Sclose(ms);
      MxH5Call(e, PETSC_COMM_SELF, "%s: reading %s for train %llu failed (file truncated or corrupted?)", rf->path, path, (unsigned long long)tid);
    }
  }
  H5Sclose(ms);
  const float     scale = (float)(1.0 / r->adu_per_photon);
  const uint8_t  *um    = r->user_mask ? r->user_mask + (size_t)rr->module * MX_MODPIX + (size_t)rr->ss0 * MX_NFS : NULL;
  size_t          nonfinite_n = 0;
  unsigned char  *fl = NULL;
  if (have_mask) PetscCall(PetscMalloc1(nrp, &fl));
  for (PetscInt fr = 0; fr < r->nsel; fr++) {
    if (have_mask)
      for (size_t p = 0; p < nrp; p++) fl[p] = r->mbuf[fr * nrp + p] != 0;
    nonfinite_n += MxReaderFinishRows(data + fr * npix + off, bad + fr * npix + off, um, fl, nrp, scale);
  }
  PetscCall(PetscFree(fl));
  *nonfinite += (double)nonfinite_n;
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadBeginRanges(MxReader r, PetscInt t, int nranges, const MxRowRange ranges[], float *data, unsigned char *bad, const MxReaderHooks *hooks)
{
  MxRunIndex *idx = &r->idx;
  size_t      npix = 0, off = 0;
  uint64_t    tid  = idx->tid[t];

  PetscFunctionBeginUser;
  for (int k = 0; k < nranges; k++) npix += (size_t)(ranges[k].ss1 - ranges[k].ss0) * MX_NFS;
  for (int k = 0; k < nranges; k++) {
    const MxRowRange *rr  = &ranges[k];
    PetscCheck(rr->module >= 0 && rr->module < MX_NMOD && rr->ss0 >= 0 && rr->ss1 <= MX_NSS && rr->ss0 < rr->ss1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "bad row range module %d rows %d..%d", rr->module, rr->ss0, rr->ss1);
    const MxSlot     *s   = &idx->slot[t * MX_NMOD + rr->module];
    size_t            nrp = (size_t)(rr->ss1 - rr->ss0) * MX_NFS;
    if (!s->count) { /* module has no data in this train */
      for (PetscInt f = 0; f < r->nsel; f++) {
        PetscCall(PetscArrayzero(data + f * npix + off, nrp));
        for (size_t p = 0; p < nrp; p++) bad[f * npix + off + p] = 1;
        if (hooks && hooks->frame) hooks->frame(hooks->ctx, f, off, nrp, data + f * npix + off, bad + f * npix + off);
      }
      if (hooks && hooks->range) hooks->range(hooks->ctx, off, nrp, data + off, npix);
      off += nrp;
      continue;
    }
    const MxRunFile *rf     = &idx->files[s->file];
    PetscBool        direct = PETSC_FALSE;
    hid_t            f;
    PetscCall(OpenFile(r, s->file, &f));
    PetscCall(MxDirectFileSetUp(r, s->file, f));
    PetscCall(CheckRows(r, s->file, f, rf, s, tid));
    if (r->direct) PetscCall(MxDirectPlan(r, s->file, s, rr, data, bad, npix, off, tid, &direct));
    if (!direct) {
      PetscLogDouble c0, c1;
      PetscCall(PetscTime(&c0));
      PetscCall(ReadRangeHDF5(r, f, rf, s, rr, tid, data, bad, npix, off, &r->sync_nonfinite));
      if (hooks && hooks->frame)
        for (PetscInt fr = 0; fr < r->nsel; fr++) hooks->frame(hooks->ctx, fr, off, nrp, data + fr * npix + off, bad + fr * npix + off);
      if (hooks && hooks->range) hooks->range(hooks->ctx, off, nrp, data + off, npix);
      PetscCall(PetscTime(&c1));
      r->stats.t_hdf5 += c1 - c0;
      r->stats.ranges_hdf5++;
    }
    off += nrp;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderReadBegin(MxReader r, PetscInt t, int nranges, const MxRowRange ranges[], float *data, unsigned char *bad, const MxReaderHooks *hooks)
{
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCheck(r->setup, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "MxReaderSetUp() first");
  PetscCheck(r->job_train < 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "MxReaderReadBegin: train index %" PetscInt_FMT " is still being read; MxReaderReadEnd() first", r->job_train);
  PetscCheck(t >= 0 && t < r->idx.ntrains, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "train index %" PetscInt_FMT " out of range 0..%" PetscInt_FMT, t, r->idx.ntrains - 1);
  PetscCheck(!(hooks && hooks->share && (hooks->range || hooks->chain)), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "MxReaderReadBegin: range and chain hooks are not for shared frame hooks");
  PetscCall(PetscLogEventBegin(MX_READER_READ, 0, 0, 0, 0));
  PetscCall(CloseOthers(r, t));
  r->sync_nonfinite = 0;
  r->last_nonfinite = 0;
  r->job_train      = t;
  ierr              = ReadBeginRanges(r, t, nranges, ranges, data, bad, hooks);
  if (!ierr) ierr = MxDirectJobStart(r, data, bad, ranges, nranges, hooks);
  if (ierr) { /* nothing in flight */
    MxDirectJobDiscard(r);
    r->job_train = -1;
  }
  PetscCall(PetscLogEventEnd(MX_READER_READ, 0, 0, 0, 0));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderReadEnd(MxReader r)
{
  PetscErrorCode ierr;
  double         nf = 0;

  PetscFunctionBeginUser;
  if (r->job_train < 0) PetscFunctionReturn(0);
  PetscCall(PetscLogEventBegin(MX_READER_READ, 0, 0, 0, 0));
  ierr              = MxDirectJobWait(r, &nf);
  r->job_train      = -1;
  r->last_nonfinite = r->sync_nonfinite + nf;
  PetscCall(PetscLogEventEnd(MX_READER_READ, 0, 0, 0, 0));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderRead(MxReader r, PetscInt t, int nranges, const MxRowRange ranges[], float *data, unsigned char *bad)
{
  PetscFunctionBeginUser;
  PetscCall(MxReaderReadBegin(r, t, nranges, ranges, data, bad, NULL));
  PetscCall(MxReaderReadEnd(r));
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetReadStats(MxReader r, MxReadStats *st)
{
  PetscFunctionBeginUser;
  *st = r->stats;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderViewReadStats(MxReader r, MPI_Comm comm, double loop_s)
{
  const MxReadStats *s = &r->stats;
  PetscMPIInt        rank;
  const char        *inf[] = {"libdeflate", "isal", "zlib"};
  double             T     = loop_s > 0 ? 100.0 / loop_s : 0;
  char               shares[256] = "";

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  if (loop_s > 0) snprintf(shares, sizeof shares, " = %.1f %%, %.1f %%, %.1f %%, %.1f %%, %.1f %% of the loop; HDF5 path %.1f %%, waiting for the reader %.1f %%; work on the main thread while waiting %.3f s = %.1f %% (pread, inflate, mask pass %.3f s)", T * s->t_io, T * s->t_inflate, T * s->t_finish, T * s->t_hook, T * (s->t_io + s->t_inflate + s->t_finish + s->t_hook), T * s->t_hdf5, T * s->t_wait, s->t_hook_caller, T * s->t_hook_caller, s->t_read_caller);
  PetscCall(PetscSynchronizedPrintf(comm, "[rank %d] read %.3f GB from the files (%.0f module row ranges direct, %.0f through HDF5, %.0f units of rows finished in the cache; %s%s); mask chunks inflated %.0f, reused %.0f; chunk indexes read whole %.0f, chunks looked up one by one %.0f (%.3f s); reader thread: pread %.3f s, inflate %.3f s, mask/NaN pass %.3f s, per-train pass %.3f s, busy %.3f s%s\n", rank, s->bytes / 1e9, s->ranges_direct, s->ranges_hdf5, s->units_cached, r->direct ? inf[r->inflate] : "direct reads off", r->async ? ", reader thread" : ", no thread", s->chunks_inflated, s->chunks_reused, s->index_whole, s->index_lookups, s->t_index, s->t_io, s->t_inflate, s->t_finish, s->t_hook, s->t_io + s->t_inflate + s->t_finish + s->t_hook, shares));
  PetscCall(PetscSynchronizedFlush(comm, PETSC_STDOUT));
  {
    PetscMPIInt one = r->single_core ? 1 : 0, n1 = 0;
    PetscCallMPI(MPI_Allreduce(&one, &n1, 1, MPI_INT, MPI_SUM, comm));
    if (n1) PetscCall(PetscPrintf(comm, "note: on %d rank(s) the reader thread shares the rank's only core (the launcher bound each rank to one core), so reading cannot overlap correlating: give each rank two cores (srun --cpus-per-task=2, mpiexec --map-by slot:PE=2 or --bind-to none)\n", n1));
  }
  { /* a rank waiting in MPI must not spin on the core its reader thread may share (src/sys/mpienv.c) */
    int       user;
    const int y = MxMpiYieldWhenIdle(&user);
    PetscCall(PetscPrintf(comm, "MPI waits: %s (OMPI_MCA_mpi_yield_when_idle=%d, set by %s)\n", y ? "yield the core" : "spin, on the core that a rank's reader thread may share", y, user ? "the environment" : "mxpcs"));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetShare(MxReader r, PetscBool *share)
{
  PetscFunctionBeginUser;
  *share = r->share;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetAduPerPhoton(MxReader r, double *adu)
{
  PetscFunctionBeginUser;
  *adu = r->adu_per_photon;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetLastNonFinite(MxReader r, double *n, PetscBool *strict, const char **dir)
{
  PetscFunctionBeginUser;
  if (dir) *dir = r->idx.dir;
  if (n) *n = r->last_nonfinite;
  if (strict) *strict = r->scan.strict;
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderGetAnomalies(MxReader r, PetscInt *n, const char **text, PetscInt *ndropped)
{
  PetscFunctionBeginUser;
  if (n) *n = r->idx.nanom;
  if (ndropped) *ndropped = r->idx.ndropped;
  if (text) *text = r->idx.anom ? r->idx.anom : "";
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderSetView(MxReader r, PetscViewer v)
{
  PetscFunctionBeginUser;
  PetscCall(MxViewOptionSet(&r->view, v));
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderDestroy(MxReader *r)
{
  MxReader x = *r;

  PetscFunctionBeginUser;
  if (!x) PetscFunctionReturn(0);
  PetscCall(MxDirectDestroy(x));
  PetscCall(MxViewOptionDestroy(&x->view));
  for (int i = 0; x->fh && i < x->idx.nfiles; i++)
    if (x->fh[i] >= 0) H5Fclose(x->fh[i]);
  PetscCall(PetscFree(x->fh));
  PetscCall(MxRunIndexFree(&x->idx));
  PetscCall(PetscFree(x->sel));
  PetscCall(PetscFree(x->pulse_ids));
  PetscCall(PetscFree(x->cell_ids));
  PetscCall(PetscFree(x->user_mask));
  PetscCall(PetscFree(x->mbuf));
  if (x->pix_comm != MPI_COMM_NULL) MPI_Comm_free(&x->pix_comm);
  if (x->train_comm != MPI_COMM_NULL) MPI_Comm_free(&x->train_comm);
  PetscCall(PetscFree(x));
  *r = NULL;
  PetscFunctionReturn(0);
}
