/* MxOnline: mxpcs online (include/mxpcs/online.h). Rank 0 receives each train from the Karabo
   bridge, checks it, packs every rank's rows (its pixel part of MxAnalyze's grid, frame after
   frame, as the reader would deliver them: flagged or non-finite pixels bad and zero, the rest
   scaled to photons) and scatters them; every rank then runs the per-train step. Rank 0 decides
   everything that every rank must agree on (the next train, an update, the end) and broadcasts
   it, so no rank waits on a clock of its own. */
#include <mxpcs/online.h>
#include <mxpcs/bridge.h>
#include <mxpcs/reader.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t mx_online_signal;
static void                  OnSignal(int sig) { mx_online_signal = sig; }

struct _p_MxOnline {
  MPI_Comm    comm;
  PetscMPIInt rank, size;
  MxBridge    bridge; /* rank 0 */
  MxAnalyze   an;
  PetscInt    ntrains_stop, update_trains, max_trains;
  PetscReal   seconds, idle_s, update_s;
  char        endpoint[PETSC_MAX_PATH_LEN];
  /* the stream's shape, from its first train */
  PetscInt  nmod, mods[MX_NMOD], nf;
  uint64_t *pid, *tid;
  float     scale; /* 1 / ADU per photon */
  const unsigned char *umask; /* -mask_file (MX_NMOD*MX_MODPIX, nonzero = bad) or NULL; the reader's */
  /* rank 0: every rank's rows, and the packed train */
  int        *counts, *displs;     /* pixels per rank, offsets */
  int        *nranges_of, *roff;   /* ranges per rank, offsets into ranges_all */
  MxRowRange *ranges_all;
  float      *pack;
  unsigned char *packbad, *flags;
  size_t      npix_all;
  /* counters (rank 0) */
  PetscInt nreceived, nanalysed, nbad, nincomplete, nlate, nmissing;
  /* test hook: after hold_after trains analysed, rank 0 waits for a line on hold_fifo */
  PetscInt hold_after;
  char     hold_fifo[PETSC_MAX_PATH_LEN];
  uint64_t last_id;
  double   unix_first, unix_last; /* when the first and the last train were analysed */
  /* XGM pulse energies from the stream (rank 0): the source, per-frame sums over the trains with
     a complete record, and the means of the trains since the last table */
  PetscBool   xgm_off, xgm_warned;
  const char *xgm_want;
  PetscInt    xgm_offset, nxgm, nxgm_win;
  char        xgm_src[256];
  double     *xgm_sum, xgm_win;
};

/* What rank 0 tells every rank before each step. */
enum { MX_ON_TRAIN = 1, MX_ON_NONE = 2, MX_ON_STOP = 3 };
typedef struct {
  int64_t  kind, update;
  uint64_t id;
} MxOnlineHeader;

PetscErrorCode MxOnlineCreate(MPI_Comm comm, MxOnline *out)
{
  MxOnline o;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&o));
  o->comm          = comm;
  o->idle_s        = 10;
  o->update_s      = 10;
  o->max_trains    = 100000;
  o->update_trains = 0;
  MPI_Comm_rank(comm, &o->rank);
  MPI_Comm_size(comm, &o->size);
  PetscCall(MxAnalyzeCreate(comm, &o->an));
  PetscCall(MxBridgeCreate(PETSC_COMM_SELF, &o->bridge)); /* every rank reads its options; rank 0 connects */
  *out = o;
  PetscFunctionReturn(0);
}

PetscErrorCode MxOnlineSetFromOptions(MxOnline o)
{
  PetscFunctionBeginUser;
  PetscCall(MxAnalyzeSetCheckpoint(o->an, "none"));
  PetscCall(MxAnalyzeSetFromOptions(o->an));
  PetscCall(MxBridgeSetFromOptions(o->bridge));
  PetscOptionsBegin(o->comm, NULL, "Live analysis of a Karabo bridge stream (mxpcs online)", "MxOnline");
  PetscCall(PetscOptionsString("-bridge_endpoint", "Karabo bridge endpoint(s) tcp://HOST:PORT[,tcp://HOST2:PORT2...] (rank 0 connects; see the bridge client's options)", "MxBridgeSetEndpoints", o->endpoint, o->endpoint, sizeof o->endpoint, NULL));
  PetscCall(PetscOptionsInt("-online_trains", "Stop after this many trains analysed (0: no limit)", "", o->ntrains_stop, &o->ntrains_stop, NULL));
  PetscCall(PetscOptionsReal("-online_seconds", "Stop this many seconds after the first train (0: no limit)", "", o->seconds, &o->seconds, NULL));
  PetscCall(PetscOptionsReal("-online_idle_s", "End of stream: no train for this many seconds (also the wait for the first train)", "", o->idle_s, &o->idle_s, NULL));
  PetscCall(PetscOptionsInt("-online_update_trains", "Write the live results every N trains analysed (0: by time only)", "", o->update_trains, &o->update_trains, NULL));
  PetscCall(PetscOptionsReal("-online_update_s", "Write the live results and the progress table at least this often (s; 0: by trains only)", "", o->update_s, &o->update_s, NULL));
  PetscCall(PetscOptionsInt("-online_test_hold_after", "Test hook: after this many trains analysed, rank 0 says so on stdout and waits for a line on -online_test_hold_fifo (a slow consumer, driven by the test; 0: never)", "", o->hold_after, &o->hold_after, NULL));
  PetscCall(PetscOptionsString("-online_test_hold_fifo", "Test hook: the FIFO -online_test_hold_after waits on", "", o->hold_fifo, o->hold_fifo, sizeof o->hold_fifo, NULL));
  PetscCall(PetscOptionsInt("-online_max_trains", "Room for this many trains (the run's train list; sums do not grow with it)", "", o->max_trains, &o->max_trains, NULL));
  PetscOptionsEnd();
  PetscCheck(o->endpoint[0], o->comm, PETSC_ERR_ARG_NULL, "mxpcs online needs -bridge_endpoint tcp://HOST:PORT[,tcp://HOST2:PORT2...]");
  PetscCheck(o->idle_s > 0, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -online_idle_s: must be > 0");
  PetscCheck(o->ntrains_stop >= 0 && o->update_trains >= 0 && o->seconds >= 0 && o->update_s >= 0, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "options -online_trains, -online_update_trains, -online_seconds, -online_update_s: must be >= 0");
  PetscCheck(o->hold_after >= 0 && (!o->hold_after || o->hold_fifo[0]), o->comm, PETSC_ERR_ARG_WRONG, "option -online_test_hold_after needs -online_test_hold_fifo PATH");
  PetscCheck(o->max_trains >= 1, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -online_max_trains: must be >= 1");
  PetscCall(MxAnalyzeGetXgmOptions(o->an, &o->xgm_off, &o->xgm_want, &o->xgm_offset));
  if (o->ntrains_stop > 0) o->max_trains = PetscMin(o->max_trains, o->ntrains_stop);
  {
    MxReader r;
    double   adu;
    PetscCall(MxAnalyzeGetReader(o->an, &r));
    PetscCall(MxReaderGetAduPerPhoton(r, &adu));
    o->scale = (float)(1.0 / adu);
  }
  PetscFunctionReturn(0);
}

/* The module number of an AGIPD module source (.../DET/{m}CH0:xtdf, .../CORR/{m}CH0:output), or -1. */
static int ModuleOf(const char *name)
{
  const char *p = strstr(name, "/DET/");
  if (!p) p = strstr(name, "/CORR/");
  if (!p) return -1;
  p = strchr(p + 1, '/') + 1;
  char *end;
  long  m = strtol(p, &end, 10);
  return end != p && !strncmp(end, "CH0", 3) && m >= 0 && m < MX_NMOD ? (int)m : -1;
}

static int IsType(const char *dt, const char *native, const char *little)
{
  return !strcmp(dt, native) || !strcmp(dt, little);
}

/* One train's frames as pointers into the message: per module its data, mask (or NULL) and
   frame stride; per-module sources (nf, 512, 128) or one stacked source (nf, 16, 512, 128). */
typedef struct {
  PetscInt        nmod, mods[MX_NMOD], nf;
  const float    *data[MX_NMOD];
  const uint32_t *mask[MX_NMOD];
  size_t          stride[MX_NMOD];
  const uint64_t *pid;
} MxFrames;

static int CheckFrameArrays(const MxBridgeSource *s, const MxBridgeArray *d, const MxBridgeArray *mk, int nd, char *err, size_t len)
{
  if (!IsType(d->dtype, "float32", "<f4")) return snprintf(err, len, "source %s: image.data is %s, not float32 (corrected frames)", s->name, d->dtype), 1;
  if (d->ndim != nd || d->shape[nd - 2] != MX_NSS || d->shape[nd - 1] != MX_NFS || (nd == 4 && d->shape[1] != MX_NMOD)) {
    if (d->ndim == 2) return snprintf(err, len, "source %s: image.data has one frame per train; two-time correlations need at least 2", s->name), 1;
    return snprintf(err, len, "source %s: image.data has shape (%s%llu, ...) of %d dimensions, expected (frames,%s 512, 128)", s->name, "", (unsigned long long)d->shape[0], d->ndim, nd == 4 ? " 16," : ""), 1;
  }
  if (mk && (!IsType(mk->dtype, "uint32", "<u4") || mk->ndim != d->ndim || memcmp(mk->shape, d->shape, sizeof(uint64_t) * (size_t)d->ndim))) return snprintf(err, len, "source %s: image.mask is %s of another shape than image.data", s->name, mk->dtype), 1;
  return 0;
}

/* A stacked array fills the modules it does not hold with NaN (extra_data's stack_detector_data):
   a module whose first frame is all NaN is absent. */
static int AllNaN(const float *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isnan(v[i])) return 0;
  return 1;
}

static int TrainFrames(const MxBridgeTrain *tr, MxFrames *F, char *err, size_t len)
{
  memset(F, 0, sizeof *F);
  F->nf = -1;
  /* CORR names first: extra_data also sends each module under its legacy DET alias */
  for (int pass = 0; pass < 2; pass++)
  for (int i = 0; i < tr->nsources; i++) {
    const MxBridgeSource *s = &tr->sources[i];
    if ((strstr(s->name, "/CORR/") != NULL) != (pass == 0)) continue;
    const MxBridgeArray  *d = MxBridgeFind(tr, s->name, "image.data"), *mk = MxBridgeFind(tr, s->name, "image.mask"), *p = MxBridgeFind(tr, s->name, "image.pulseId");
    int                   m = ModuleOf(s->name);
    if (!d) continue; /* not a detector source */
    int stacked = d->ndim == 4;
    if (m < 0 && !stacked) continue;
    if (CheckFrameArrays(s, d, mk, stacked ? 4 : 3, err, len)) return 1;
    if (F->nf >= 0 && (PetscInt)d->shape[0] != F->nf) return snprintf(err, len, "source %s: %llu frames, another source %" PetscInt_FMT, s->name, (unsigned long long)d->shape[0], F->nf), 1;
    F->nf = (PetscInt)d->shape[0];
    if (p && IsType(p->dtype, "uint64", "<u8") && p->ndim >= 1 && p->shape[0] == (uint64_t)F->nf && !F->pid) F->pid = p->data;
    for (int k = 0; k < (stacked ? MX_NMOD : 1); k++) {
      int       mm   = stacked ? k : m;
      PetscBool seen = PETSC_FALSE;
      if (stacked && AllNaN((const float *)d->data + (size_t)k * MX_MODPIX, MX_MODPIX)) continue; /* a module the stack does not hold */
      for (PetscInt j = 0; j < F->nmod; j++) seen |= F->mods[j] == mm;
      if (seen && pass == 1) continue; /* the legacy alias of a module already read */
      if (seen) return snprintf(err, len, "source %s: module %d sent twice", s->name, mm), 1;
      F->mods[F->nmod]   = mm;
      F->data[F->nmod]   = (const float *)d->data + (stacked ? (size_t)k * MX_MODPIX : 0);
      F->mask[F->nmod]   = mk ? (const uint32_t *)mk->data + (stacked ? (size_t)k * MX_MODPIX : 0) : NULL;
      F->stride[F->nmod] = stacked ? (size_t)MX_NMOD * MX_MODPIX : MX_MODPIX;
      F->nmod++;
    }
  }
  if (!F->nmod) return snprintf(err, len, "no AGIPD module source (.../DET/{m}CH0 or .../CORR/{m}CH0 with image.data, or a stacked image.data with a module that is not all NaN) in the train"), 1;
  if (!F->pid) return snprintf(err, len, "no image.pulseId (uint64, one per frame) in the train"), 1;
  /* module order: ascending, as the reader's */
  for (PetscInt i = 1; i < F->nmod; i++)
    for (PetscInt j = i; j > 0 && F->mods[j - 1] > F->mods[j]; j--) {
      PetscInt        tm = F->mods[j];
      const float    *td = F->data[j];
      const uint32_t *tk = F->mask[j];
      size_t          ts = F->stride[j];
      F->mods[j] = F->mods[j - 1], F->data[j] = F->data[j - 1], F->mask[j] = F->mask[j - 1], F->stride[j] = F->stride[j - 1];
      F->mods[j - 1] = tm, F->data[j - 1] = td, F->mask[j - 1] = tk, F->stride[j - 1] = ts;
    }
  return 0;
}

/* A later train must have the first train's modules, frames and pulses. */
static int SameShape(MxOnline o, const MxFrames *F, char *err, size_t len)
{
  for (PetscInt i = 0; i < o->nmod; i++) {
    PetscInt j = 0;
    while (j < F->nmod && F->mods[j] != o->mods[i]) j++;
    if (j == F->nmod) return snprintf(err, len, "module %" PetscInt_FMT " is missing", o->mods[i]), 1;
  }
  if (F->nf != o->nf) return snprintf(err, len, "%" PetscInt_FMT " frames, the stream started with %" PetscInt_FMT, F->nf, o->nf), 1;
  return 0;
}

/* Rank 0: every rank's rows of train F, frame after frame, finished as the reader finishes
   them (MxReaderFinishRows: flagged or non-finite pixels bad and 0, the rest scaled). */
static void Pack(MxOnline o, const MxFrames *F)
{
  size_t off = 0;
  const unsigned char *umask = o->umask;
  for (PetscMPIInt r = 0; r < o->size; r++) {
    const MxRowRange *rg = o->ranges_all + o->roff[r];
    for (PetscInt f = 0; f < o->nf; f++)
      for (int k = 0; k < o->nranges_of[r]; k++) {
        PetscInt j = 0;
        while (F->mods[j] != rg[k].module) j++;
        size_t          n   = (size_t)(rg[k].ss1 - rg[k].ss0) * MX_NFS, src = (size_t)f * F->stride[j] + (size_t)rg[k].ss0 * MX_NFS;
        float          *v   = o->pack + off;
        unsigned char  *b   = o->packbad + off;
        const uint32_t *msk = F->mask[j] ? F->mask[j] + src : NULL;
        memcpy(v, F->data[j] + src, n * sizeof(float));
        if (msk)
          for (size_t p = 0; p < n; p++) o->flags[p] = msk[p] != 0;
        (void)MxReaderFinishRows(v, b, umask ? umask + (size_t)rg[k].module * MX_MODPIX + (size_t)rg[k].ss0 * MX_NFS : NULL, msk ? o->flags : NULL, n, o->scale);
        off += n;
      }
  }
}

static void IsoNow(char *buf, size_t len)
{
  time_t    t = time(NULL);
  struct tm tmv;
  gmtime_r(&t, &tmv);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tmv);
}

/* Rank 0: wait for the first usable train; every rank: the stream's shape, set up analyze. */
static PetscErrorCode Start(MxOnline o, const MxBridgeTrain **first, MxFrames *F)
{
  int64_t hdr[3] = {0, 0, 0}; /* ok, nmod, nf */
  char    err[512] = "";

  PetscFunctionBeginUser;
  if (!o->rank) {
    double t0 = MPI_Wtime();
    PetscCall(MxBridgeSetUp(o->bridge));
    while (!hdr[0] && !mx_online_signal) {
      MxBridgeStatus st;
      double         left = o->idle_s - (MPI_Wtime() - t0);
      if (left <= 0) break;
      PetscCall(MxBridgeNext(o->bridge, left, first, &st));
      if (st == MX_BRIDGE_TIMEOUT) continue;
      o->nreceived++;
      if (st == MX_BRIDGE_BAD) {
        o->nbad++;
        PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "mxpcs online: warning: %s; message skipped\n", MxBridgeLastError(o->bridge)));
        continue;
      }
      if (TrainFrames(*first, F, err, sizeof err)) {
        o->nincomplete++;
        PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "mxpcs online: warning: train %llu: %s; train skipped\n", (unsigned long long)(*first)->train_id, err));
        continue;
      }
      hdr[0] = F->nf >= 2 ? 1 : 2;
      hdr[1] = F->nmod;
      hdr[2] = F->nf;
    }
  }
  PetscCallMPI(MPI_Bcast(hdr, 3, MPI_INT64_T, 0, o->comm));
  PetscCheck(hdr[0] != 0, o->comm, PETSC_ERR_FILE_OPEN, "mxpcs online: no usable train from %s within %g s (-online_idle_s): nothing listens there, no server sends, or no message held AGIPD frames%s", o->endpoint, (double)o->idle_s, mx_online_signal ? " (stopped by a signal)" : "");
  PetscCheck(hdr[0] == 1, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "mxpcs online: the stream from %s has %lld frame(s) per train; two-time correlations need at least 2", o->endpoint, (long long)hdr[2]);
  o->nmod = (PetscInt)hdr[1];
  o->nf   = (PetscInt)hdr[2];
  PetscCall(PetscMalloc2(o->nf, &o->pid, o->max_trains + 1, &o->tid));
  if (!o->rank) {
    for (PetscInt i = 0; i < o->nmod; i++) o->mods[i] = F->mods[i];
    for (PetscInt f = 0; f < o->nf; f++) o->pid[f] = F->pid[f];
  }
  PetscCallMPI(MPI_Bcast(o->mods, (int)o->nmod, MPIU_INT, 0, o->comm));
  PetscCallMPI(MPI_Bcast(o->pid, (int)o->nf, MPI_UINT64_T, 0, o->comm));
  {
    char          start[32];
    MxStreamShape s;
    IsoNow(start, sizeof start);
    PetscCallMPI(MPI_Bcast(start, sizeof start, MPI_CHAR, 0, o->comm));
    s = (MxStreamShape){o->nmod, o->mods, o->nf, o->pid, o->max_trains, o->tid, o->endpoint, start};
    PetscCall(MxAnalyzeSetUpStream(o->an, &s));
  }
  {
    MxReader r;
    PetscCall(MxAnalyzeGetReader(o->an, &r));
    PetscCall(MxReaderGetUserMask(r, &o->umask)); /* read by SetUpStream */
  }
  /* rank 0 learns every rank's rows */
  {
    int               n;
    const MxRowRange *rg;
    int              *ibuf, nint;
    PetscCall(MxAnalyzeGetPixelRanges(o->an, &n, &rg));
    if (!o->rank) PetscCall(PetscMalloc4(o->size, &o->counts, o->size, &o->displs, o->size, &o->nranges_of, o->size + 1, &o->roff));
    PetscCallMPI(MPI_Gather(&n, 1, MPI_INT, o->nranges_of, 1, MPI_INT, 0, o->comm));
    nint = 3 * n;
    PetscCall(PetscMalloc1(nint + 1, &ibuf));
    for (int k = 0; k < n; k++) {
      ibuf[3 * k]     = rg[k].module;
      ibuf[3 * k + 1] = rg[k].ss0;
      ibuf[3 * k + 2] = rg[k].ss1;
    }
    int *rc = NULL, *rd = NULL, *all = NULL, tot = 0;
    if (!o->rank) {
      PetscCall(PetscMalloc2(o->size, &rc, o->size, &rd));
      for (PetscMPIInt r = 0; r < o->size; r++) {
        rc[r]      = 3 * o->nranges_of[r];
        rd[r]      = tot;
        o->roff[r] = tot / 3;
        tot += rc[r];
      }
      o->roff[o->size] = tot / 3;
      PetscCall(PetscMalloc1(tot + 1, &all));
    }
    PetscCallMPI(MPI_Gatherv(ibuf, nint, MPI_INT, all, rc, rd, MPI_INT, 0, o->comm));
    PetscCall(PetscFree(ibuf));
    if (!o->rank) {
      PetscCall(PetscMalloc1(tot / 3 + 1, &o->ranges_all));
      size_t off = 0, maxrows = 0;
      for (int k = 0; k < tot / 3; k++) {
        o->ranges_all[k] = (MxRowRange){all[3 * k], all[3 * k + 1], all[3 * k + 2]};
        maxrows          = PetscMax(maxrows, (size_t)(all[3 * k + 2] - all[3 * k + 1]));
      }
      for (PetscMPIInt r = 0; r < o->size; r++) {
        size_t np = 0;
        for (int k = o->roff[r]; k < o->roff[r + 1]; k++) np += (size_t)(o->ranges_all[k].ss1 - o->ranges_all[k].ss0) * MX_NFS;
        PetscCheck(np * o->nf < (size_t)INT32_MAX, PETSC_COMM_SELF, PETSC_ERR_SUP, "mxpcs online: rank %d holds %zu values per train, more than MPI_Scatterv's int counts; use more ranks", (int)r, np * o->nf);
        o->counts[r] = (int)(np * o->nf);
        o->displs[r] = (int)off;
        off += np * o->nf;
      }
      o->npix_all = off;
      PetscCall(PetscMalloc3(off + 1, &o->pack, off + 1, &o->packbad, maxrows * MX_NFS + 1, &o->flags));
      PetscCall(PetscFree(all));
      PetscCall(PetscFree2(rc, rd));
    }
  }
  PetscFunctionReturn(0);
}

/* One train into every rank's pixel part and through the step. */
static PetscErrorCode Step(MxOnline o, PetscInt t, uint64_t id, const MxFrames *F)
{
  MxEngine    e;
  MxTrainBuf *T;
  int         unreadable, votes, mine;

  PetscFunctionBeginUser;
  PetscCall(MxAnalyzeGetEngine(o->an, &e));
  PetscCall(MxEngineAcquire(e, &T));
  if (!o->rank) Pack(o, F);
  {
    int n;
    const MxRowRange *rg;
    size_t np = 0;
    PetscCall(MxAnalyzeGetPixelRanges(o->an, &n, &rg));
    for (int k = 0; k < n; k++) np += (size_t)(rg[k].ss1 - rg[k].ss0) * MX_NFS;
    mine = (int)(np * o->nf);
  }
  PetscCallMPI(MPI_Scatterv(o->pack, o->counts, o->displs, MPI_FLOAT, T->data, mine, MPI_FLOAT, 0, o->comm));
  PetscCallMPI(MPI_Scatterv(o->packbad, o->counts, o->displs, MPI_UNSIGNED_CHAR, T->bad, mine, MPI_UNSIGNED_CHAR, 0, o->comm));
  o->tid[t]        = id;
  MxEngineTrain in = {t, id, T, 0};
  PetscCall(MxEngineStep(e, &in, &unreadable, &votes));
  PetscFunctionReturn(0);
}

/* Rank 0: one analysed train's XGM record (data.intensityTD of the XGM source: pulse energies in
   uJ, one per pulse slot; frame f is slot -analyze_xgm_pulse_offset + f), folded as analyze folds
   the files' record: a train counts when every frame's slot is finite. */
static PetscErrorCode XgmFold(MxOnline o, const MxBridgeTrain *tr)
{
  const MxBridgeArray *x = NULL;
  const char          *src = NULL;
  uint64_t             nslot;

  PetscFunctionBeginUser;
  if (o->xgm_off) PetscFunctionReturn(0);
  for (int i = 0; i < tr->nsources && !x; i++) {
    const char *nm = tr->sources[i].name;
    if (o->xgm_want[0] ? strcmp(nm, o->xgm_want) : !strstr(nm, "XGM")) continue;
    if ((x = MxBridgeFind(tr, nm, "data.intensityTD"))) src = nm;
  }
  if (!x) PetscFunctionReturn(0);
  nslot = x->ndim == 1 ? x->shape[0] : x->ndim == 2 && x->shape[0] == 1 ? x->shape[1] : 0;
  if (x->kind != 'f' || (x->itemsize != 4 && x->itemsize != 8) || (uint64_t)(o->xgm_offset + o->nf) > nslot) {
    if (!o->xgm_warned)
      PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "mxpcs online: warning: train %llu: source %s: data.intensityTD is %s of %llu pulse slots, not float with slots %" PetscInt_FMT "..%" PetscInt_FMT " (-analyze_xgm_pulse_offset + frames); no pulse energies from it\n", (unsigned long long)tr->train_id, src, x->dtype, (unsigned long long)nslot, o->xgm_offset, o->xgm_offset + o->nf - 1));
    o->xgm_warned = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  if (!o->xgm_src[0]) {
    snprintf(o->xgm_src, sizeof o->xgm_src, "%s", src);
    PetscCall(PetscCalloc1(o->nf, &o->xgm_sum));
  } else if (strcmp(o->xgm_src, src)) PetscFunctionReturn(0); /* the source the stream started with */
  {
    double E[4096], *e = E, mean = 0;
    int    ok = 1;
    if (o->nf > 4096) PetscCall(PetscMalloc1(o->nf, &e));
    for (PetscInt f = 0; f < o->nf; f++) {
      size_t k = (size_t)(o->xgm_offset + f);
      e[f]     = x->itemsize == 4 ? (double)((const float *)x->data)[k] : ((const double *)x->data)[k];
      ok &= isfinite(e[f]) != 0;
      mean += e[f];
    }
    if (ok) {
      for (PetscInt f = 0; f < o->nf; f++) o->xgm_sum[f] += e[f];
      o->nxgm++;
      o->xgm_win += mean / o->nf;
      o->nxgm_win++;
    }
    if (e != E) PetscCall(PetscFree(e));
  }
  PetscFunctionReturn(0);
}

/* Every rank: the XGM record so far into the results. */
static PetscErrorCode XgmResults(MxOnline o)
{
  PetscFunctionBeginUser;
  PetscCall(MxAnalyzeSetStreamXgm(o->an, o->xgm_sum, o->nxgm, o->nanalysed - o->nxgm, o->rank ? "" : o->xgm_src));
  PetscFunctionReturn(0);
}

/* Rank 0: the one-screen progress table. */
static PetscErrorCode Table(MxOnline o, double t_first, PetscBool final)
{
  PetscInt      nring, nwin;
  const double *q, *beta, *gam, *Deff;
  double        Dm, el = MPI_Wtime() - t_first;

  PetscFunctionBeginUser;
  PetscCall(MxAnalyzeGetRingResults(o->an, &nring, &nwin, &q, &beta, &gam, &Deff, &Dm));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "\nmxpcs online %s  %s%.0f s\n", o->endpoint, final ? "final, after " : "", el));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  trains: %" PetscInt_FMT " received (%.1f/s), %" PetscInt_FMT " analysed (%.1f/s), %" PetscInt_FMT " bad messages, %" PetscInt_FMT " incomplete, %" PetscInt_FMT " late, %" PetscInt_FMT " IDs missing between analysed trains (skipped by the stream, dropped by a full queue, or skipped here)\n", o->nreceived, o->nreceived / PetscMax(el, 1e-9), o->nanalysed, o->nanalysed / PetscMax(el, 1e-9), o->nbad, o->nincomplete, o->nlate, o->nmissing));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  ring  q[1/A]    contrast  Gamma(1st window)[1/s]  D_eff(age 0)[um^2/s]\n"));
  for (PetscInt r = 0; r < nring; r++) PetscCall(PetscPrintf(PETSC_COMM_SELF, "  %4" PetscInt_FMT "  %.5f  %8.4f  %22.4g  %20.3f\n", r, q[r], beta[r], gam[r * nwin], Deff[r]));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  D_eff_mean so far: %.3f um^2/s\n", Dm));
  if (o->xgm_off) PetscCall(PetscPrintf(PETSC_COMM_SELF, "  XGM: off (-analyze_xgm off)\n"));
  else if (!o->xgm_src[0]) PetscCall(PetscPrintf(PETSC_COMM_SELF, "  XGM: no %s with data.intensityTD in the stream: pulse energy unknown\n", o->xgm_want[0] ? o->xgm_want : "source named *XGM*"));
  else {
    double all = 0;
    for (PetscInt f = 0; f < o->nf; f++) all += o->xgm_sum[f];
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "  XGM %s: pulse energy %.1f uJ (trains since the last table: %" PetscInt_FMT "), %.1f uJ over the run; %" PetscInt_FMT " trains without a record\n", o->xgm_src, o->nxgm_win ? o->xgm_win / o->nxgm_win : NAN, o->nxgm_win, o->nxgm ? all / o->nf / o->nxgm : NAN, o->nanalysed - o->nxgm));
  }
  o->xgm_win  = 0;
  o->nxgm_win = 0;
  fflush(stdout); /* a pipe (a log, a test) sees each table when it is printed */
  PetscFunctionReturn(0);
}

PetscErrorCode MxOnlineRun(MxOnline o, const char out[])
{
  const MxBridgeTrain *tr = NULL;
  MxFrames             F;
  PetscInt             t = 0, since = 0, nwritten = 0;
  double               t_first, last_update;
  struct sigaction     sa, old_int, old_term;
  char                 err[512];
  MxEngine             e;

  PetscFunctionBeginUser;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  mx_online_signal = 0;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  PetscCall(Start(o, &tr, &F));
  if (!o->rank) {
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "mxpcs online: first train %llu: %" PetscInt_FMT " module(s) x %" PetscInt_FMT " frames from %s\n", (unsigned long long)tr->train_id, o->nmod, o->nf, o->endpoint));
    fflush(stdout);
  }
  PetscCall(MxAnalyzeGetEngine(o->an, &e));
  t_first = last_update = MPI_Wtime();
  for (PetscBool have = !o->rank;;) { /* rank 0 holds the first train already */
    MxOnlineHeader h = {MX_ON_NONE, 0, 0};
    if (!o->rank) {
      const char *why = NULL;
      if (mx_online_signal) why = mx_online_signal == SIGINT ? "SIGINT" : "SIGTERM";
      else if (o->ntrains_stop > 0 && t >= o->ntrains_stop) why = "-online_trains";
      else if (o->seconds > 0 && MPI_Wtime() - t_first >= o->seconds) why = "-online_seconds";
      else if (t >= o->max_trains) why = "-online_max_trains";
      while (!why && !have) {
        MxBridgeStatus st;
        double         left = o->idle_s;
        if (o->seconds > 0) left = PetscMin(left, o->seconds - (MPI_Wtime() - t_first));
        PetscCall(MxBridgeNext(o->bridge, PetscMax(left, 1e-3), &tr, &st));
        if (st == MX_BRIDGE_TIMEOUT) {
          why = mx_online_signal ? (mx_online_signal == SIGINT ? "SIGINT" : "SIGTERM") : o->seconds > 0 && MPI_Wtime() - t_first >= o->seconds ? "-online_seconds" : "end of stream (-online_idle_s)";
          break;
        }
        o->nreceived++;
        if (st == MX_BRIDGE_BAD) {
          o->nbad++;
          PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "mxpcs online: warning: %s; message skipped\n", MxBridgeLastError(o->bridge)));
          continue;
        }
        if (TrainFrames(tr, &F, err, sizeof err) || SameShape(o, &F, err, sizeof err)) {
          o->nincomplete++;
          PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "mxpcs online: warning: train %llu: %s; train skipped\n", (unsigned long long)tr->train_id, err));
          continue;
        }
        if (t > 0 && tr->train_id <= o->last_id) { /* out of order: the pair with its neighbours is gone */
          o->nlate++;
          PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "mxpcs online: warning: train %llu arrived after train %llu; skipped\n", (unsigned long long)tr->train_id, (unsigned long long)o->last_id));
          continue;
        }
        if (t > 0 && tr->train_id > o->last_id + 1) o->nmissing += (PetscInt)(tr->train_id - o->last_id - 1);
        have = PETSC_TRUE;
      }
      if (why) {
        h.kind = MX_ON_STOP;
        PetscCall(PetscPrintf(PETSC_COMM_SELF, "mxpcs online: stopping (%s) after %" PetscInt_FMT " trains analysed (first train analysed at unix %.3f, last train analysed at unix %.3f)\n", why, t, o->unix_first, o->unix_last));
      } else {
        PetscCall(XgmFold(o, tr));
        h.kind      = MX_ON_TRAIN;
        h.id        = tr->train_id;
        o->last_id  = tr->train_id;
        double used = 0;
        since++;
        PetscCall(MxEngineGetCounts(e, &used, NULL)); /* rank 0 holds the sums of a stream */
        h.update = used > 0 && ((o->update_trains > 0 && since >= o->update_trains) || (o->update_s > 0 && MPI_Wtime() - last_update >= o->update_s));
      }
    }
    PetscCallMPI(MPI_Bcast(&h, 3, MPI_INT64_T, 0, o->comm));
    if (h.kind == MX_ON_STOP) break;
    PetscCall(Step(o, t, h.id, &F));
    if (!o->rank) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      o->unix_last = ts.tv_sec + 1e-9 * ts.tv_nsec;
      if (!t) o->unix_first = o->unix_last;
    }
    t++;
    have = PETSC_FALSE;
    if (!o->rank) o->nanalysed++;
    if (!o->rank && o->hold_after > 0 && t == o->hold_after) { /* the test's slow consumer */
      FILE *ff;
      char  line[64];
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "mxpcs online: test hold after train %" PetscInt_FMT " (waiting on %s)\n", t, o->hold_fifo));
      fflush(stdout);
      ff = fopen(o->hold_fifo, "r");
      PetscCheck(ff, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "option -online_test_hold_fifo %s: cannot open: %s", o->hold_fifo, strerror(errno));
      if (!fgets(line, sizeof line, ff)) line[0] = 0;
      fclose(ff);
    }
    if (h.update) { /* live results: the file is replaced atomically */
      PetscCall(XgmResults(o)); /* first: the heating model weights the pulses by their energy */
      PetscCall(MxAnalyzeStreamResults(o->an, t, PETSC_FALSE));
      PetscCall(MxAnalyzeSetWriteQuiet(o->an, PETSC_TRUE));
      PetscCall(MxAnalyzeWrite(o->an, out));
      nwritten++;
      if (!o->rank) PetscCall(Table(o, t_first, PETSC_FALSE));
      since       = 0;
      last_update = MPI_Wtime();
    }
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  PetscCallMPI(MPI_Bcast(&t, 1, MPIU_INT, 0, o->comm));
  PetscCheck(t > 0, o->comm, PETSC_ERR_ARG_WRONGSTATE, "mxpcs online: no train was analysed");
  PetscCall(XgmResults(o));
  PetscCall(MxAnalyzeStreamResults(o->an, t, PETSC_TRUE));
  PetscCall(MxAnalyzeSetWriteQuiet(o->an, PETSC_FALSE));
  PetscCall(MxAnalyzeWrite(o->an, out));
  if (!o->rank) PetscCall(Table(o, t_first, PETSC_TRUE));
  PetscCall(MxAnalyzeViewFromOptions(o->an));
  (void)nwritten;
  PetscFunctionReturn(0);
}

PetscErrorCode MxOnlineDestroy(MxOnline *po)
{
  MxOnline o = *po;

  PetscFunctionBeginUser;
  if (!o) PetscFunctionReturn(0);
  PetscCall(MxAnalyzeDestroy(&o->an));
  PetscCall(MxBridgeDestroy(&o->bridge));
  if (o->pid) PetscCall(PetscFree2(o->pid, o->tid));
  if (o->counts) PetscCall(PetscFree4(o->counts, o->displs, o->nranges_of, o->roff));
  PetscCall(PetscFree(o->ranges_all));
  if (o->pack) PetscCall(PetscFree3(o->pack, o->packbad, o->flags));
  PetscCall(PetscFree(o->xgm_sum));
  PetscCall(PetscFree(o));
  *po = NULL;
  PetscFunctionReturn(0);
}
