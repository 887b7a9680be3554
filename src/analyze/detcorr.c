/* MxDetCorr: common mode, photonisation and spikes, frame by frame on the reader thread
   (include/mxpcs/detcorr.h). */
#include <mxpcs/detcorr.h>
#include <math.h>
#include <string.h>

const char *const MxCommonModeNames[] = {"none", "asic", "MxCommonModeKind", "MX_CM_", NULL};
const char *const MxPhotonizeNames[]  = {"none", "round", "threshold", "droplet", "MxPhotonizeKind", "MX_PHOTONIZE_", NULL};

/* The good values within MX_CM_WINDOW of level: their number, sum and squared deviations. */
static long Window(const float *v, const unsigned char *b, int rows, int cols, size_t ld, double level, double *sum, double *sq)
{
  const double lo = level - MX_CM_WINDOW, hi = level + MX_CM_WINDOW;
  double       s = 0, ss = 0;
  long         n = 0;
  for (int r = 0; r < rows; r++) {
    const float         *x  = v + (size_t)r * ld;
    const unsigned char *bb = b + (size_t)r * ld;
    for (int c = 0; c < cols; c++) {
      const double y = x[c];
      if (!bb[c] && y > lo && y < hi) {
        s += y;
        ss += (y - level) * (y - level);
        n++;
      }
    }
  }
  *sum = s;
  *sq  = ss;
  return n;
}

double MxCommonModeEstimate(const float *v, const unsigned char *b, int rows, int cols, size_t ld, int *nused, double *var)
{
  double level = 0, s, ss;
  long   n;

  for (int it = 0; it < MX_CM_ITERS; it++) {
    n = Window(v, b, rows, cols, ld, level, &s, &ss);
    if (n < MX_CM_NMIN) {
      *nused = 0;
      *var   = 0;
      return 0;
    }
    level = s / (double)n;
  }
  n      = Window(v, b, rows, cols, ld, level, &s, &ss); /* the noise: the last window's spread about the level */
  *nused = (int)n;
  *var   = n ? ss / (double)n : 0;
  return level;
}

void MxPhotonizeThreshold(float *v, const unsigned char *b, size_t n, float t)
{
  for (size_t k = 0; k < n; k++) {
    if (b && b[k]) continue;
    const float x = v[k];
    v[k]          = x < t ? 0.0f : floorf(x - t) + 1.0f;
  }
}

int MxPhotonizeDroplet(float *v, const unsigned char *b, int rows, int cols, size_t ld, float bg, int *work)
{
  int *lab = work, nclus = 0; /* per pixel: 0 not yet in a cluster, -1 background or bad, else its cluster */
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) {
      float *x = v + (size_t)r * ld + c;
      int    g = !(b && b[(size_t)r * ld + c]);
      if (g && *x < bg) *x = 0.0f;
      lab[r * cols + c] = g && *x >= bg ? 0 : -1;
    }
  /* clusters: breadth-first over 4-neighbours; the queue holds pixel indices, and the cluster's
     pixels are the queue's contents in order */
  int queue[MX_ASIC_SIDE * MX_ASIC_SIDE];
  for (int p0 = 0; p0 < rows * cols; p0++) {
    if (lab[p0]) continue;
    int qh = 0, qt = 0;
    lab[p0]     = ++nclus;
    queue[qt++] = p0;
    while (qh < qt) {
      int p = queue[qh++], r = p / cols, c = p % cols;
      int nb[4] = {r > 0 ? p - cols : -1, r + 1 < rows ? p + cols : -1, c > 0 ? p - 1 : -1, c + 1 < cols ? p + 1 : -1};
      for (int k = 0; k < 4; k++)
        if (nb[k] >= 0 && lab[nb[k]] == 0) {
          lab[nb[k]]  = nclus;
          queue[qt++] = nb[k];
        }
    }
    /* the cluster is queue[0..qt): sort by pixel index so ties go to the first in row-major order */
    for (int i = 1; i < qt; i++) { /* insertion sort: clusters are small */
      int x = queue[i], j = i - 1;
      while (j >= 0 && queue[j] > x) {
        queue[j + 1] = queue[j];
        j--;
      }
      queue[j + 1] = x;
    }
    double sum = 0;
    for (int i = 0; i < qt; i++) sum += v[(size_t)(queue[i] / cols) * ld + queue[i] % cols];
    int nph = (int)floor(sum + 0.5);
    if (qt == 1) {
      v[(size_t)(p0 / cols) * ld + p0 % cols] = (float)nph;
      continue;
    }
    /* remaining charge per pixel, photons placed one by one on the largest */
    float rem[MX_ASIC_SIDE * MX_ASIC_SIDE / 4 + 1], *remv = qt <= MX_ASIC_SIDE * MX_ASIC_SIDE / 4 ? rem : NULL;
    if (!remv) { /* a cluster over a quarter of the ASIC: not droplets any more; round it */
      for (int i = 0; i < qt; i++) {
        float *x = v + (size_t)(queue[i] / cols) * ld + queue[i] % cols;
        *x       = floorf(*x + 0.5f);
      }
      continue;
    }
    for (int i = 0; i < qt; i++) {
      remv[i]                                          = v[(size_t)(queue[i] / cols) * ld + queue[i] % cols];
      v[(size_t)(queue[i] / cols) * ld + queue[i] % cols] = 0.0f;
    }
    for (int k = 0; k < nph; k++) {
      int best = 0;
      for (int i = 1; i < qt; i++)
        if (remv[i] > remv[best]) best = i;
      remv[best] -= 1.0f;
      v[(size_t)(queue[best] / cols) * ld + queue[best] % cols] += 1.0f;
    }
  }
  return nclus;
}

/* ---- the object ---- */

typedef struct {
  size_t off; /* local offset of the block's first pixel (column 0 of its first row) */
  int    module;
} MxAsicBlock;

struct _p_MxDetCorr {
  MPI_Comm         comm;
  MxCommonModeKind cm;
  MxPhotonizeKind  ph;
  PetscReal        threshold, droplet_bg, max_photons;
  PetscBool        set_cm, set_ph;
  /* this rank's pixels */
  int                  nblocks;
  MxAsicBlock         *blocks;
  const unsigned char *ring; /* npix, not owned */
  size_t               npix;
  int                 *work;
  float               *before; /* one ASIC block's values before the corrections */
  /* statistics: the run's, and a probe's */
  MxDetCorrStats stats, *probe;
  int            count;
};

PetscErrorCode MxDetCorrCreate(MPI_Comm comm, MxDetCorr *out)
{
  MxDetCorr dc;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&dc));
  dc->comm        = comm;
  dc->cm          = MX_CM_ASIC;
  dc->ph          = MX_PHOTONIZE_ROUND;
  dc->threshold   = 0.5;
  dc->droplet_bg  = 0.25;
  dc->max_photons = 40;
  *out            = dc;
  PetscFunctionReturn(0);
}

PetscErrorCode MxDetCorrSetFromOptions(MxDetCorr dc)
{
  PetscBool set_t = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscOptionsBegin(dc->comm, NULL, "Detector corrections of corrected (CORR) AGIPD data (mxpcs analyze)", "MxDetCorr");
  PetscCall(PetscOptionsEnum("-reader_common_mode", "Subtract each frame's common mode per 64 x 64 ASIC: the mean of the values within 0.5 photon of the zero-photon level, iterated from 0 (as MID does for mostly empty ASICs)", "MxDetCorr", MxCommonModeNames, (PetscEnum)dc->cm, (PetscEnum *)&dc->cm, &dc->set_cm));
  PetscCall(PetscOptionsEnum("-reader_photonize", "Photon counts from the values in photons: round (floor(v + 1/2), as midtools), threshold (-reader_photon_threshold), droplet (charge shared between pixels counted once, as Xana), none (continuous values)", "MxDetCorr", MxPhotonizeNames, (PetscEnum)dc->ph, (PetscEnum *)&dc->ph, &dc->set_ph));
  PetscCall(PetscOptionsReal("-reader_photon_threshold", "threshold: a pixel-frame holds one photon from this value on, two from 1 + it, ... (photons)", "MxDetCorr", dc->threshold, &dc->threshold, &set_t));
  PetscCall(PetscOptionsReal("-reader_droplet_bg", "droplet: values below this are background, and droplets are the connected pixels at or above it (photons)", "MxDetCorr", dc->droplet_bg, &dc->droplet_bg, NULL));
  PetscCall(PetscOptionsReal("-reader_max_photons", "A pixel-frame above this many photons is a spike (zinger, unflagged outlier): the pixel leaves the train (0: off)", "MxDetCorr", dc->max_photons, &dc->max_photons, NULL));
  PetscOptionsEnd();
  PetscCheck(dc->threshold > 0 && dc->threshold < 1, dc->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -reader_photon_threshold: %g must be in (0, 1) photon", (double)dc->threshold);
  PetscCheck(!(set_t && dc->ph != MX_PHOTONIZE_THRESHOLD), dc->comm, PETSC_ERR_ARG_WRONG, "option -reader_photon_threshold: only with -reader_photonize threshold (round is threshold 0.5)");
  PetscCheck(dc->droplet_bg > 0 && dc->droplet_bg < 1, dc->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -reader_droplet_bg: %g must be in (0, 1) photon", (double)dc->droplet_bg);
  PetscCheck(dc->max_photons >= 0, dc->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -reader_max_photons: %g must be >= 0 (0: off)", (double)dc->max_photons);
  if (dc->ph == MX_PHOTONIZE_ROUND) dc->threshold = 0.5;
  PetscFunctionReturn(0);
}

PetscErrorCode MxDetCorrSetRaw(MxDetCorr dc, PetscBool raw)
{
  PetscFunctionBeginUser;
  if (!raw) PetscFunctionReturn(0);
  PetscCheck(!(dc->set_cm && dc->cm != MX_CM_NONE), dc->comm, PETSC_ERR_ARG_WRONG, "option -reader_common_mode %s: the run holds raw data (RAW files: ADU with gain bits, no offset subtracted); the common mode is a correction of calibrated (CORR) data", MxCommonModeNames[dc->cm]);
  PetscCheck(!(dc->set_ph && dc->ph != MX_PHOTONIZE_NONE), dc->comm, PETSC_ERR_ARG_WRONG, "option -reader_photonize %s: the run holds raw data (RAW files: ADU with gain bits, no offset subtracted); photon counts need calibrated (CORR) data", MxPhotonizeNames[dc->ph]);
  dc->cm = MX_CM_NONE; /* the defaults are for corrected data */
  dc->ph = MX_PHOTONIZE_NONE;
  PetscFunctionReturn(0);
}

PetscErrorCode MxDetCorrGetAlign(MxDetCorr dc, int *align, PetscBool *on)
{
  PetscFunctionBeginUser;
  if (align) *align = dc->cm != MX_CM_NONE || dc->ph == MX_PHOTONIZE_DROPLET ? MX_ASIC_SIDE : 1;
  if (on) *on = dc->cm != MX_CM_NONE || dc->ph != MX_PHOTONIZE_NONE || dc->max_photons > 0;
  PetscFunctionReturn(0);
}

PetscErrorCode MxDetCorrSetUp(MxDetCorr dc, int nranges, const MxRowRange ranges[], const unsigned char *ring)
{
  int    align;
  size_t off = 0;

  PetscFunctionBeginUser;
  PetscCall(MxDetCorrGetAlign(dc, &align, NULL));
  PetscCall(PetscFree(dc->blocks));
  dc->nblocks = 0;
  for (int k = 0; k < nranges; k++) {
    PetscCheck(align == 1 || (ranges[k].ss0 % align == 0 && ranges[k].ss1 % align == 0), PETSC_COMM_SELF, PETSC_ERR_PLIB, "detector corrections: rows %d..%d of module %d are not whole ASIC blocks", ranges[k].ss0, ranges[k].ss1, ranges[k].module);
    dc->nblocks += (ranges[k].ss1 - ranges[k].ss0 + MX_ASIC_SIDE - 1) / MX_ASIC_SIDE;
  }
  PetscCall(PetscMalloc1(dc->nblocks + 1, &dc->blocks));
  dc->nblocks = 0;
  for (int k = 0; k < nranges; k++) {
    for (int ss = ranges[k].ss0; ss < ranges[k].ss1; ss += MX_ASIC_SIDE) dc->blocks[dc->nblocks++] = (MxAsicBlock){off + (size_t)(ss - ranges[k].ss0) * MX_NFS, ranges[k].module};
    off += (size_t)(ranges[k].ss1 - ranges[k].ss0) * MX_NFS;
  }
  dc->npix = off;
  dc->ring = ring;
  PetscCall(PetscFree2(dc->work, dc->before));
  PetscCall(PetscMalloc2(MX_ASIC_SIDE * MX_ASIC_SIDE, &dc->work, (size_t)MX_ASIC_SIDE * MX_NFS, &dc->before));
  PetscFunctionReturn(0);
}

void MxDetCorrSetCounting(MxDetCorr dc, PetscBool count) { dc->count = count ? 1 : 0; }
void MxDetCorrSetProbe(MxDetCorr dc, MxDetCorrStats *probe) { dc->probe = probe; }

/* One block of rows [off, off + rows*128) of a frame. */
static void Block(MxDetCorr dc, MxDetCorrStats *st, int module, const unsigned char *ring, int rows, float *v, unsigned char *b)
{
  const size_t n = (size_t)rows * MX_NFS;
  if (dc->cm != MX_CM_NONE) {
    memcpy(dc->before, v, n * sizeof *v);
    for (int a = 0; a < MX_NFS / MX_ASIC_SIDE; a++) { /* the two ASICs side by side */
      int    nused;
      double var, level = MxCommonModeEstimate(v + a * MX_ASIC_SIDE, b + a * MX_ASIC_SIDE, rows, MX_ASIC_SIDE, MX_NFS, &nused, &var);
      if (!nused) {
        st->cm_none[module]++;
        continue;
      }
      st->cm_n[module]++;
      st->cm_sum[module] += level;
      st->cm_sq[module] += level * level;
      st->noise_n[module] += nused;
      st->noise_sum[module] += var * nused;
      const float l = (float)level;
      for (int r = 0; r < rows; r++) {
        float               *x  = v + (size_t)r * MX_NFS + a * MX_ASIC_SIDE;
        const unsigned char *bb = b + (size_t)r * MX_NFS + a * MX_ASIC_SIDE;
        for (int c = 0; c < MX_ASIC_SIDE; c++)
          if (!bb[c]) x[c] -= l;
      }
    }
    for (size_t k = 0; k < n; k++)
      if (!b[k]) st->changed_cm += floorf(dc->before[k] + 0.5f) != floorf(v[k] + 0.5f);
  }
  if (dc->ph != MX_PHOTONIZE_NONE) {
    memcpy(dc->before, v, n * sizeof *v);
    if (dc->ph == MX_PHOTONIZE_DROPLET) {
      for (int a = 0; a < MX_NFS / MX_ASIC_SIDE; a++) (void)MxPhotonizeDroplet(v + a * MX_ASIC_SIDE, b + a * MX_ASIC_SIDE, rows, MX_ASIC_SIDE, MX_NFS, (float)dc->droplet_bg, dc->work);
      for (size_t k = 0; k < n; k++)
        if (!b[k]) st->changed_droplet += v[k] != (dc->before[k] < 0.5f ? 0.0f : floorf(dc->before[k] + 0.5f));
    } else MxPhotonizeThreshold(v, b, n, (float)dc->threshold);
    for (size_t k = 0; k < n; k++)
      if (!b[k]) st->changed_ph += fabsf(v[k] - dc->before[k]) > 1e-3f;
  }
  for (size_t k = 0; k < n; k++) {
    if (b[k]) continue;
    if (dc->max_photons > 0 && v[k] > dc->max_photons) {
      st->spikes++;
      b[k] = 1;
      v[k] = 0;
      continue;
    }
    st->good++;
    if (ring && ring[k]) {
      const float y = v[k];
      st->hist[y < 0.5f ? 0 : y < 1.5f ? 1 : 2]++;
    }
  }
}

void MxDetCorrFrame(MxDetCorr dc, size_t off, size_t n, float *v, unsigned char *b)
{
  MxDetCorrStats  scratch, *st = dc->probe ? dc->probe : dc->count ? &dc->stats : &scratch;
  const double    t0 = MPI_Wtime();
  size_t          end = off + n;
  int             align;

  if (st == &scratch) memset(&scratch, 0, sizeof scratch);
  (void)MxDetCorrGetAlign(dc, &align, NULL);
  if (align == 1) { /* no ASIC work: rows as they come, in blocks of up to 64 rows */
    for (size_t p = off; p < end; p += (size_t)MX_ASIC_SIDE * MX_NFS) {
      size_t m = PetscMin((size_t)MX_ASIC_SIDE * MX_NFS, end - p);
      Block(dc, st, 0, dc->ring ? dc->ring + p : NULL, (int)(m / MX_NFS), v + (p - off), b + (p - off));
    }
  } else
    for (int k = 0; k < dc->nblocks; k++) {
      const MxAsicBlock *B = &dc->blocks[k];
      if (B->off < off || B->off >= end) continue;
      Block(dc, st, B->module, dc->ring ? dc->ring + B->off : NULL, MX_ASIC_SIDE, v + (B->off - off), b + (B->off - off));
    }
  st->t += MPI_Wtime() - t0;
}

PetscErrorCode MxDetCorrGetKinds(MxDetCorr dc, MxCommonModeKind *cm, MxPhotonizeKind *ph, double *threshold, double *max_photons)
{
  PetscFunctionBeginUser;
  if (cm) *cm = dc->cm;
  if (ph) *ph = dc->ph;
  if (threshold) *threshold = dc->threshold;
  if (max_photons) *max_photons = dc->max_photons;
  PetscFunctionReturn(0);
}

PetscErrorCode MxDetCorrGetStats(MxDetCorr dc, MxDetCorrStats *s)
{
  PetscFunctionBeginUser;
  *s = dc->stats;
  PetscFunctionReturn(0);
}

PetscErrorCode MxDetCorrReduce(MxDetCorr dc, MPI_Comm comm, MxDetCorrStats *s)
{
  PetscFunctionBeginUser;
  *s = dc->stats;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, s, (int)(sizeof *s / sizeof(double)), MPI_DOUBLE, MPI_SUM, comm));
  PetscFunctionReturn(0);
}

PetscErrorCode MxDetCorrDescribe(MxDetCorr dc, char *buf, size_t len)
{
  PetscFunctionBeginUser;
  if (dc->ph == MX_PHOTONIZE_THRESHOLD) snprintf(buf, len, "common mode %s, photonise threshold %g, spikes above %g photons", MxCommonModeNames[dc->cm], (double)dc->threshold, (double)dc->max_photons);
  else if (dc->ph == MX_PHOTONIZE_DROPLET) snprintf(buf, len, "common mode %s, photonise droplet (background %g), spikes above %g photons", MxCommonModeNames[dc->cm], (double)dc->droplet_bg, (double)dc->max_photons);
  else snprintf(buf, len, "common mode %s, photonise %s, spikes above %g photons", MxCommonModeNames[dc->cm], MxPhotonizeNames[dc->ph], (double)dc->max_photons);
  PetscFunctionReturn(0);
}

PetscErrorCode MxDetCorrDestroy(MxDetCorr *dc)
{
  PetscFunctionBeginUser;
  if (!*dc) PetscFunctionReturn(0);
  PetscCall(PetscFree((*dc)->blocks));
  PetscCall(PetscFree2((*dc)->work, (*dc)->before));
  PetscCall(PetscFree(*dc));
  PetscFunctionReturn(0);
}
