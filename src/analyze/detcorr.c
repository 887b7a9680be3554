/* MxDetCorr: common mode, photonisation and spikes, frame by frame on the reader thread
   (include/mxpcs/detcorr.h). */
#include <mxpcs/detcorr.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX2__) || defined(__AVX512F__)
  #include <immintrin.h>
#endif

const char *const MxCommonModeNames[] = {"none", "asic", "asic+cell", "MxCommonModeKind", "MX_CM_", NULL};
const char *const MxPhotonizeNames[]  = {"none", "round", "threshold", "droplet", "MxPhotonizeKind", "MX_PHOTONIZE_", NULL};

/* S(k + 1) - S(k), S(k) the counts of the bins within MX_CM_HALF of bin k (h = 0 outside) */
static inline int SlideS(const int *h, int k) { return (k + MX_CM_HALF + 1 < MX_CM_BINS ? h[k + MX_CM_HALF + 1] : 0) - (k - MX_CM_HALF >= 0 ? h[k - MX_CM_HALF] : 0); }

/* The first bin with a count (MX_CM_BINS: none), eight bins at a time */
static inline int FirstFilled(const int *h)
{
  int k = 0;
  while (k < MX_CM_BINS && !(h[k] | h[k + 1] | h[k + 2] | h[k + 3] | h[k + 4] | h[k + 5] | h[k + 6] | h[k + 7])) k += 8;
  while (k < MX_CM_BINS && !h[k]) k++;
  return k;
}

double MxCommonModeFromHistogram(const int *h, int nmin, int *nused, double *var)
{
  const double w = 2.0 * MX_CM_RANGE / MX_CM_BINS;
  double       level, n = 0, s = 0, ss = 0;
  int          kfirst = -1, kstart, ka = 0, kb = -1;

  /* The start: the zero-photon peak, the lowest-lying peak (photon peaks lie 1, 2, ... above
     it). The counts within MX_CM_HALF bins of each bin, S(k); the first bin with S >= NMIN; from
     it, the fullest S within the next photon (the first of equals). A window started at 0
     missed a peak more than about 0.75 photon away (too few values in it at +0.9, the
     one-photon peak at -0.9), and the ASIC-frame's empty pixels became photons; started at the
     fullest bin it took the one-photon peak of a bright ASIC (mean >= ~4 photons). */
  /* S(k) as a running sum (S(k + 1) = S(k) + h[k + HALF + 1] - h[k - HALF], h = 0 outside),
     from the last bin whose S is 0 for certain (HALF below the first filled bin) and only as
     far as it is needed: the same integers as from a table of cumulative counts */
  const int kz = FirstFilled(h), k00 = PetscMax(kz - MX_CM_HALF, 0);
  int       S = 0, Smax;
  for (int k = kz; k <= PetscMin(k00 + MX_CM_HALF, MX_CM_BINS - 1); k++) S += h[k]; /* S(k00) */
  for (int k = k00; k < MX_CM_BINS; k++) {
    if (S >= nmin) {
      kfirst = k;
      break;
    }
    S += SlideS(h, k);
  }
  if (kfirst < 0) {
    *nused = 0;
    *var   = 0;
    return 0;
  }
  kstart = kfirst;
  Smax   = S;
  for (int k = kfirst; k + 1 < PetscMin(kfirst + MX_CM_BINS_PER_PHOTON, MX_CM_BINS); k++) {
    S += SlideS(h, k); /* S(k + 1) */
    if (S > Smax) {
      Smax   = S;
      kstart = k + 1;
    }
  }
  level = -MX_CM_RANGE + (kstart + 0.5) * w;
  for (int it = 0, pa = -1, pb = -2; it <= MX_CM_ITERS; it++) {
    /* the bins whose centre lies within the window: a run [ka, kb], found by the test itself
       from a bin of margin beyond each of the window's edges */
    const int k0 = PetscMax((int)floor((level - MX_CM_WINDOW + MX_CM_RANGE) / w - 0.5) - 1, 0);
    const int k1 = PetscMin((int)ceil((level + MX_CM_WINDOW + MX_CM_RANGE) / w - 0.5) + 1, MX_CM_BINS - 1);
#define IN_(k) (fabs(-MX_CM_RANGE + ((k) + 0.5) * w - level) < MX_CM_WINDOW)
    for (ka = k0; ka <= k1 && !IN_(ka); ka++) {}
    for (kb = k1; kb >= ka && !IN_(kb); kb--) {}
#undef IN_
    /* the window of the round before: its n and s again, so the level they give, which is the
       level now (set from them), and every later round the same; n and s stand as they are */
    if (ka == pa && kb == pb) break;
    pa = ka;
    pb = kb;
    /* n and s: a bin's centre is (2k + 1 - BINS) / 128 photon, so both are sums of integers (s
       in 1/128 photon) that doubles hold exactly in any order; summed as integers they
       vectorise (the sums, s / n and the level are those of doubles in bin order) */
    long ni = 0, si = 0;
    for (int k = ka; k <= kb; k++) {
      ni += h[k];
      si += (long)h[k] * (2 * k + 1 - MX_CM_BINS);
    }
    n = (double)ni;
    s = (double)si / (2 * MX_CM_BINS_PER_PHOTON);
    if (n < nmin) {
      *nused = 0;
      *var   = 0;
      return 0;
    }
    if (it < MX_CM_ITERS) level = s / n;
  }
  /* the last round: the noise about the level, in bin order (a bin outside the window added
     +0, which changes no sum) */
  for (int k = ka; k <= kb; k++) {
    const double d = -MX_CM_RANGE + (k + 0.5) * w - level;
    ss += (double)h[k] * d * d;
  }
  *nused = (int)n;
  *var   = PetscMax(ss / n - w * w / 12, 0); /* Sheppard's correction of the binning */
  return level;
}

/* Histogram of the good values of one ASIC (MX_CM_BINS counts; values outside go nowhere): the
   bins of a row in a loop that vectorises, then four histograms in turn so that increments of
   the same bin do not wait for each other. */
static void Histogram(const float *v, const unsigned char *b, int rows, int cols, size_t ld, int *h)
{
  int   hh[4][MX_CM_BINS + 1];
  float kf[MX_ASIC_SIDE];
  memset(hh, 0, sizeof hh);
  for (int r = 0; r < rows; r++) {
    const float         *x  = v + (size_t)r * ld;
    const unsigned char *bb = b + (size_t)r * ld;
    for (int c0 = 0; c0 < cols; c0 += MX_ASIC_SIDE) {
      const int m = PetscMin(MX_ASIC_SIDE, cols - c0);
      for (int c = 0; c < m; c++) {
        const float y = (x[c0 + c] + MX_CM_RANGE) * (MX_CM_BINS / (2 * MX_CM_RANGE));
        kf[c]         = (y >= 0.0f) & (y < (float)MX_CM_BINS) & (bb[c0 + c] == 0) ? floorf(y) : (float)MX_CM_BINS;
      }
      int c = 0;
      for (; c + 4 <= m; c += 4) {
        hh[0][(int)kf[c]]++;
        hh[1][(int)kf[c + 1]]++;
        hh[2][(int)kf[c + 2]]++;
        hh[3][(int)kf[c + 3]]++;
      }
      for (; c < m; c++) hh[0][(int)kf[c]]++;
    }
  }
  for (int k = 0; k < MX_CM_BINS; k++) h[k] = hh[0][k] + hh[1][k] + hh[2][k] + hh[3][k];
}

double MxCommonModeEstimate(const float *v, const unsigned char *b, int rows, int cols, size_t ld, int *nused, double *var)
{
  int h[MX_CM_BINS];
  Histogram(v, b, rows, cols, ld, h);
  return MxCommonModeFromHistogram(h, MX_CM_NMIN, nused, var);
}

double MxCommonModeAsic(const float *v, const unsigned char *b, size_t ld, int *nused, double *var)
{
  int h[MX_CM_BINS];
  Histogram(v + (size_t)MX_CM_ROW0 * ld, b + (size_t)MX_CM_ROW0 * ld, MX_ASIC_SIDE / MX_CM_ROW_STEP, MX_ASIC_SIDE, ld * MX_CM_ROW_STEP, h);
  return MxCommonModeFromHistogram(h, MX_CM_NMIN / MX_CM_ROW_STEP, nused, var);
}

void MxPhotonizeThreshold(float *v, const unsigned char *b, size_t n, float t)
{
  for (size_t k = 0; k < n; k++) {
    if (b && b[k]) continue;
    const float x = v[k];
    v[k]          = x < t ? 0.0f : floorf(x - t) + 1.0f;
  }
}

/* The photon count of a value in photons: 0 below t, else floor(x - t) + 1. */
static inline float Count(float x, float t) { return x < t ? 0.0f : floorf(x - t) + 1.0f; }

/* what the droplets did to a good value y that became z: changed it (cnt[0]), gave other than
   rounding (cnt[1]) */
static inline void DropletCount(float y, float z, long cnt[2])
{
  cnt[0] += fabsf(z - y) > 1e-3f;
  cnt[1] += z != Count(y, 0.5f);
}

/* One row of up to 64 values: the good values below bg zeroed (and counted), and the mask of the
   good values >= bg (bit c: column c). */
static inline uint64_t DropletRow(float *restrict x, const unsigned char *restrict bb, int cols, float bg, long cnt[2])
{
  uint64_t m = 0;
#if defined(__AVX2__)
  if (cols == 64) {
    const __m256  vbg = _mm256_set1_ps(bg), eps = _mm256_set1_ps(1e-3f), half = _mm256_set1_ps(0.5f), sgn = _mm256_set1_ps(-0.0f);
    const __m256i z   = _mm256_setzero_si256();
    int           nv = 0, nd = 0;
    for (int c = 0; c < 64; c += 8) {
      const __m256 xv   = _mm256_loadu_ps(x + c);
      const __m256 good = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(bb + c))), z));
      const __m256 on   = _mm256_and_ps(good, _mm256_cmp_ps(xv, vbg, _CMP_GE_OQ));
      const __m256 off  = _mm256_andnot_ps(on, good); /* good values zeroed: changed when |y| > 1e-3, other than rounding when y >= 1/2 */
      _mm256_storeu_ps(x + c, _mm256_blendv_ps(xv, _mm256_and_ps(xv, on), good)); /* good and not on: +0 */
      m |= (uint64_t)(unsigned)_mm256_movemask_ps(on) << c;
      nv += __builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_and_ps(off, _mm256_cmp_ps(_mm256_andnot_ps(sgn, xv), eps, _CMP_GT_OQ))));
      nd += __builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_and_ps(off, _mm256_cmp_ps(xv, half, _CMP_GE_OQ))));
    }
    cnt[0] += nv;
    cnt[1] += nd;
    return m;
  }
#endif
  for (int c = 0; c < cols; c++) {
    const int on = (bb[c] == 0) & (x[c] >= bg);
    if (!on && !bb[c]) DropletCount(x[c], 0.0f, cnt);
    x[c] = on || bb[c] ? x[c] : 0.0f;
    m |= (uint64_t)on << c;
  }
  return m;
}

/* The photons of a droplet of qt <= MX_DROPLET_MAXPIX pixels px[] (row-major order): n =
   floor(sum + 1/2), placed one at a time on the largest remaining value; counted. */
static void DropletPlaceGreedy(float *const *px, int qt, long cnt[2])
{
  float  rem[MX_DROPLET_MAXPIX], y0[MX_DROPLET_MAXPIX];
  double sum = 0;
  for (int i = 0; i < qt; i++) {
    sum += *px[i];
    rem[i] = y0[i] = *px[i];
    *px[i]         = 0.0f;
  }
  /* the greedy placement, in two steps: every pixel first gets the whole photons of its charge
     (the greedy gives them too: a pixel keeps the largest value until below 1), then the rest go
     one by one to the largest remainders (ties: the first) */
  int left = (int)floor(sum + 0.5);
  for (int i = 0; i < qt && left > 0; i++) {
    const int w = PetscMin((int)floorf(rem[i]), left);
    if (w <= 0) continue;
    rem[i] -= (float)w;
    left -= w;
    *px[i] += (float)w;
  }
  for (; left > 0; left--) {
    int best = 0;
    for (int i = 1; i < qt; i++)
      if (rem[i] > rem[best]) best = i;
    rem[best] -= 1.0f;
    *px[best] += 1.0f;
  }
  for (int i = 0; i < qt; i++) DropletCount(y0[i], *px[i], cnt);
}

/* DropletPlaceGreedy's photons, in registers. With every value below 2^23 the sum is exact
   (16 floats of at most 47 significant bits between them), so floor(sum + 1/2) is at least
   the sum of the whole photons: every pixel gets all of its own, and the rest, fewer than
   there are pixels, go to the largest remainders (each in [0, 1); a pixel given one falls
   below every other, as in the greedy): the same counts. Larger values: the greedy itself. */
static inline void DropletPlace(float *const *px, int qt, long cnt[2])
{
  float    y[MX_DROPLET_MAXPIX], z[MX_DROPLET_MAXPIX];
  uint64_t key[MX_DROPLET_MAXPIX], kmax = 0;
  double   sum   = 0;
  int    whole = 0;
  for (int i = 0; i < qt; i++) {
    y[i] = *px[i];
    sum += y[i];
  }
  if (!(sum < 8388608.0)) {
    DropletPlaceGreedy(px, qt, cnt);
    return;
  }
  /* the remainders as keys that order as (remainder, then the earlier pixel): a remainder in
     [0, 1) orders as its bits; a pixel given its photon gets key 0, below every other */
  _Static_assert(MX_DROPLET_MAXPIX == 16, "the keys hold a pixel's index in 4 bits");
  for (int i = 0; i < qt; i++) {
    uint32_t bits;
    z[i] = floorf(y[i]);
    const float rem = y[i] - z[i];
    memcpy(&bits, &rem, sizeof bits);
    key[i] = ((uint64_t)bits + 1) << 4 | (uint64_t)(MX_DROPLET_MAXPIX - 1 - i);
    kmax   = key[i] > kmax ? key[i] : kmax;
    whole += (int)z[i];
  }
  for (int extra = (int)floor(sum + 0.5) - whole; extra > 0; extra--) {
    const int best = MX_DROPLET_MAXPIX - 1 - (int)(kmax & (MX_DROPLET_MAXPIX - 1));
    key[best]      = 0;
    z[best] += 1.0f;
    if (extra > 1) { /* the next largest */
      kmax = 0;
      for (int i = 0; i < qt; i++) kmax = key[i] > kmax ? key[i] : kmax;
    }
  }
  for (int i = 0; i < qt; i++) {
    *px[i] = z[i];
    DropletCount(y[i], z[i], cnt);
  }
}

/* The runs of m (set bits side by side) that hold a bit of g (g within m): upwards by a carry
   (adding g clears each run from its first bit of g up), downwards in six doubling steps. */
static inline uint64_t RunFill(uint64_t g, uint64_t m)
{
  uint64_t d = g, p = m;
  for (int k = 1; k < 64; k *= 2) {
    d |= p & (d >> k);
    p &= p >> k;
  }
  return ((m ^ (m + g)) & m) | g | d;
}

/* DropletPlace of a droplet of two pixels (a first, b second), without branches: floor(sum +
   1/2) less the whole photons is 0, 1 or 2; one goes to the larger remainder (ties: a). */
static inline void DropletPair(float *a, float *b, long cnt[2])
{
  const float  ya = *a, yb = *b;
  const double sum = (double)ya + yb;
  if (!(sum < 8388608.0)) {
    float *px[2] = {a, b};
    DropletPlaceGreedy(px, 2, cnt);
    return;
  }
  const float fa = floorf(ya), fb = floorf(yb);
  const int   extra = (int)floor(sum + 0.5) - (int)fa - (int)fb, to_b = yb - fb > ya - fa;
  const float za = fa + (float)((extra == 2) | ((extra == 1) & !to_b)), zb = fb + (float)((extra == 2) | ((extra == 1) & to_b));
  *a = za;
  *b = zb;
  DropletCount(ya, za, cnt);
  DropletCount(yb, zb, cnt);
}

/* The droplets of rows x (up to 64) values v (row stride ld) whose pixels with charge (good,
   >= bg; the others zeroed already) are the bits of m[r]: placed and counted into cnt. */
static int DropletClusters(float *v, int rows, size_t ld, const uint64_t *m, long cnt[2])
{
  uint64_t rest[MX_ASIC_SIDE], comp[MX_ASIC_SIDE];
  int      pix[MX_ASIC_SIDE * MX_ASIC_SIDE], nclus = 0;

  /* droplets of one pixel (the common case): their value rounded */
  for (int r = 0; r < rows; r++) {
    const uint64_t nb = (m[r] << 1) | (m[r] >> 1) | (r > 0 ? m[r - 1] : 0) | (r + 1 < rows ? m[r + 1] : 0);
    uint64_t       iso = m[r] & ~nb;
    rest[r]            = m[r] & ~iso;
    comp[r]            = 0;
    for (; iso; iso &= iso - 1) {
      float      *x = v + (size_t)r * ld + __builtin_ctzll(iso);
      const float y = *x;
      *x            = floorf(y + 0.5f);
      DropletCount(y, *x, cnt);
      nclus++;
    }
  }
  /* droplets of two pixels side by side or one above the other, nothing else next to them (the
     next most common case) */
  for (int r = 0; r < rows; r++) {
    const uint64_t up = r > 0 ? m[r - 1] : 0, dn = r + 1 < rows ? m[r + 1] : 0, dn2 = r + 2 < rows ? m[r + 2] : 0, ud = up | dn;
    uint64_t       hp = m[r] & (m[r] >> 1) & ~(m[r] << 1) & ~(m[r] >> 2) & ~ud & ~(ud >> 1);
    uint64_t       vp = m[r] & dn & ~((m[r] << 1) | (m[r] >> 1) | up | (dn << 1) | (dn >> 1) | dn2);
    for (; hp; hp &= hp - 1) {
      const int c     = __builtin_ctzll(hp);
      DropletPair(v + (size_t)r * ld + c, v + (size_t)r * ld + c + 1, cnt);
      rest[r] &= ~(3ull << c);
      nclus++;
    }
    for (; vp; vp &= vp - 1) {
      const int c     = __builtin_ctzll(vp);
      DropletPair(v + (size_t)r * ld + c, v + (size_t)(r + 1) * ld + c, cnt);
      rest[r] &= ~(1ull << c);
      rest[r + 1] &= ~(1ull << c);
      nclus++;
    }
  }
  /* the others: each grown from its first pixel in row-major order (no pixel of it lies in an
     earlier row), its pixels then in row-major order */
  for (int r0 = 0; r0 < rows; r0++)
    while (rest[r0]) {
      int            rhi = r0, qt = 0, up;
      const uint64_t m0  = rest[r0], s0 = m0 & -m0;
      comp[r0]           = ((m0 ^ (m0 + s0)) & m0) | s0; /* the run from the first pixel on */
      do { /* flood fill over 4-neighbours: whole runs of a row at once, down the rows, then up;
              until the way up changes nothing */
        for (int r = r0 + 1; r <= rhi + 1 && r < rows; r++) {
          const uint64_t sd = (comp[r - 1] | comp[r] | (r + 1 < rows ? comp[r + 1] : 0)) & rest[r];
          if (sd == comp[r]) continue;
          comp[r] = RunFill(sd, rest[r]);
          if (r > rhi) rhi = r;
        }
        up = 0;
        for (int r = rhi - 1; r >= r0; r--) {
          const uint64_t su = ((r > r0 ? comp[r - 1] : 0) | comp[r] | comp[r + 1]) & rest[r];
          if (su == comp[r]) continue;
          comp[r] = RunFill(su, rest[r]);
          up      = 1;
        }
      } while (up);
      nclus++;
      for (int r = r0; r <= rhi; r++) {
        for (uint64_t q = comp[r]; q; q &= q - 1) pix[qt++] = r * MX_ASIC_SIDE + __builtin_ctzll(q);
        rest[r] &= ~comp[r];
        comp[r] = 0;
      }
#define PIX(i) (v + (size_t)(pix[i] / MX_ASIC_SIDE) * ld + (pix[i] & (MX_ASIC_SIDE - 1)))
      if (qt > MX_DROPLET_MAXPIX) { /* more pixels than one photon's charge reaches: neighbouring photons (a bright region), each pixel rounded */
        for (int i = 0; i < qt; i++) {
          const float y = *PIX(i);
          *PIX(i)       = floorf(y + 0.5f);
          DropletCount(y, *PIX(i), cnt);
        }
        continue;
      }
      float *px[MX_DROPLET_MAXPIX];
      for (int i = 0; i < qt; i++) px[i] = PIX(i);
#undef PIX
      DropletPlace(px, qt, cnt);
    }
  return nclus;
}

int MxPhotonizeDroplet(float *v, const unsigned char *b, int rows, int cols, size_t ld, float bg, long counts[2])
{
  uint64_t m[MX_ASIC_SIDE];
  long     cnt[2] = {0, 0};
  for (int r = 0; r < rows; r++) m[r] = DropletRow(v + (size_t)r * ld, b + (size_t)r * ld, cols, bg, cnt);
  const int nclus = DropletClusters(v, rows, ld, m, cnt);
  if (counts) {
    counts[0] += cnt[0];
    counts[1] += cnt[1];
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
  PetscInt         cell_trains;  /* asic+cell: trains of the run the cell term is estimated on */
  float           *cell_off;     /* asic+cell: nf x npix residual offsets per frame of the train, or NULL */
  PetscBool        set_cm, set_ph, set_max;
  /* this rank's pixels */
  int                  nblocks;
  MxAsicBlock         *blocks;
  const unsigned char *ring; /* npix, not owned */
  size_t               npix;
  /* statistics: the run's, and a probe's. MxDetCorrFrame may run on two threads at once for
     different pixels (the reader thread and the caller, MxReaderHooks.share): the ASIC work
     counts into its block's own bstats (summed in block order by MxDetCorrFlush, so the sums
     do not depend on which thread did what), the row work (whole counts only) into stats
     under mu */
  MxDetCorrStats  stats, *probe, *bstats;
  int             count;
  int             scalar; /* MX_DETCORR_SCALAR set: the portable per-value pass, not AVX-512's (tests: the same bits) */
  pthread_mutex_t mu;
};

PetscErrorCode MxDetCorrCreate(MPI_Comm comm, MxDetCorr *out)
{
  MxDetCorr dc;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&dc));
  pthread_mutex_init(&dc->mu, NULL);
  dc->comm        = comm;
  dc->cm          = MX_CM_ASIC;
  dc->ph          = MX_PHOTONIZE_DROPLET;
  dc->threshold   = 0.5;
  dc->droplet_bg  = 0.5;
  dc->max_photons = 40;
  dc->cell_trains = 16;
  dc->scalar      = getenv("MX_DETCORR_SCALAR") != NULL;
  *out            = dc;
  PetscFunctionReturn(0);
}

PetscErrorCode MxDetCorrSetFromOptions(MxDetCorr dc)
{
  PetscBool set_t = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscOptionsBegin(dc->comm, NULL, "Detector corrections of corrected (CORR) AGIPD data (mxpcs analyze)", "MxDetCorr");
  PetscCall(PetscOptionsEnum("-reader_common_mode", "Subtract each frame's common mode per 64 x 64 ASIC: the mean of the values within 0.5 photon of the zero-photon level, iterated from the histogram's lowest-lying peak (as MID does for mostly empty ASICs)", "MxDetCorr", MxCommonModeNames, (PetscEnum)dc->cm, (PetscEnum *)&dc->cm, &dc->set_cm));
  PetscCall(PetscOptionsEnum("-reader_photonize", "Photon counts from the values in photons: round (floor(v + 1/2), as midtools), threshold (-reader_photon_threshold), droplet (charge shared between pixels counted once, as Xana), none (continuous values)", "MxDetCorr", MxPhotonizeNames, (PetscEnum)dc->ph, (PetscEnum *)&dc->ph, &dc->set_ph));
  PetscCall(PetscOptionsReal("-reader_photon_threshold", "threshold: a pixel-frame holds one photon from this value on, two from 1 + it, ... (photons)", "MxDetCorr", dc->threshold, &dc->threshold, &set_t));
  PetscCall(PetscOptionsReal("-reader_droplet_bg", "droplet: values below this are background, and droplets are the connected pixels at or above it (photons)", "MxDetCorr", dc->droplet_bg, &dc->droplet_bg, NULL));
  PetscCall(PetscOptionsInt("-reader_cell_trains", "asic+cell: the first this many trains of the run give each pixel's residual offset per memory cell (read once more before the run)", "MxDetCorr", dc->cell_trains, &dc->cell_trains, NULL));
  PetscCall(PetscOptionsReal("-reader_max_photons", "A pixel-frame above this many photons is a spike (zinger, unflagged outlier): the pixel leaves the train (0: off)", "MxDetCorr", dc->max_photons, &dc->max_photons, &dc->set_max));
  PetscOptionsEnd();
  PetscCheck(dc->threshold > 0 && dc->threshold < 1, dc->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -reader_photon_threshold: %g must be in (0, 1) photon", (double)dc->threshold);
  PetscCheck(!(set_t && dc->ph != MX_PHOTONIZE_THRESHOLD), dc->comm, PETSC_ERR_ARG_WRONG, "option -reader_photon_threshold: only with -reader_photonize threshold (round is threshold 0.5)");
  PetscCheck(dc->droplet_bg > 0 && dc->droplet_bg < 1, dc->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -reader_droplet_bg: %g must be in (0, 1) photon", (double)dc->droplet_bg);
  PetscCheck(dc->cell_trains >= 1, dc->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -reader_cell_trains: %" PetscInt_FMT " must be >= 1", dc->cell_trains);
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
  if (!dc->set_max) dc->max_photons = 0;
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
  PetscCall(PetscFree(dc->bstats));
  PetscCall(PetscMalloc1(dc->nblocks + 1, &dc->blocks));
  PetscCall(PetscCalloc1(dc->nblocks + 1, &dc->bstats));
  dc->nblocks = 0;
  for (int k = 0; k < nranges; k++) {
    for (int ss = ranges[k].ss0; ss < ranges[k].ss1; ss += MX_ASIC_SIDE) dc->blocks[dc->nblocks++] = (MxAsicBlock){off + (size_t)(ss - ranges[k].ss0) * MX_NFS, ranges[k].module};
    off += (size_t)(ranges[k].ss1 - ranges[k].ss0) * MX_NFS;
  }
  dc->npix = off;
  dc->ring = ring;
  PetscFunctionReturn(0);
}

void MxDetCorrSetCounting(MxDetCorr dc, PetscBool count) { dc->count = count ? 1 : 0; }
void MxDetCorrSetProbe(MxDetCorr dc, MxDetCorrStats *probe) { dc->probe = probe; }


/* One row of one ASIC after its level is known: subtract it, photonise (photons) or not, cap
   spikes, count: changed by the common mode, by photonisation, spikes, good, ring histogram
   0 / 1 / 2+. Simple loops without branches, so that each vectorises (-O3, SSE4.1 or later). */
static inline void AsicRow(float lev, int photons, float t, float cap, const unsigned char *restrict rg, float *restrict x, unsigned char *restrict bb, int cnt[7])
{
  float g[MX_ASIC_SIDE], in[MX_ASIC_SIDE], p[MX_ASIC_SIDE];
  int   ncm = 0, nph = 0, nsp = 0, ng = 0, h0 = 0, h1 = 0, h2 = 0;
  for (int c = 0; c < MX_ASIC_SIDE; c++) {
    g[c]  = bb[c] ? 0.0f : 1.0f;
    in[c] = rg[c] ? 1.0f : 0.0f;
  }
  if (photons)
    for (int c = 0; c < MX_ASIC_SIDE; c++) {
      const float x0 = x[c], y = x0 - lev, q = Count(y, t);
      ncm += (g[c] > 0) & (Count(x0, 0.5f) != Count(y, 0.5f));
      nph += (g[c] > 0) & (fabsf(q - y) > 1e-3f);
      p[c] = q;
    }
  else
    for (int c = 0; c < MX_ASIC_SIDE; c++) {
      const float x0 = x[c], y = x0 - lev;
      ncm += (g[c] > 0) & (Count(x0, 0.5f) != Count(y, 0.5f));
      p[c] = y;
    }
  for (int c = 0; c < MX_ASIC_SIDE; c++) {
    const float q     = p[c];
    const int   spike = (g[c] > 0) & (q > cap), ok = (g[c] > 0) & (q <= cap), r = ok & (in[c] > 0);
    nsp += spike;
    ng += ok;
    h0 += r & (q < 0.5f);
    h1 += r & (q >= 0.5f) & (q < 1.5f);
    h2 += r & (q >= 1.5f);
    x[c] = ok ? q : 0.0f;
    g[c] = spike ? 1.0f : 0.0f;
  }
  for (int c = 0; c < MX_ASIC_SIDE; c++) bb[c] |= g[c] > 0;
  cnt[0] += ncm;
  cnt[1] += nph;
  cnt[2] += nsp;
  cnt[3] += ng;
  cnt[4] += h0;
  cnt[5] += h1;
  cnt[6] += h2;
}

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
/* Count on 16 values: z < t ? 0 : floor(z - t) + 1, the same operations */
static inline __m512 Count512(__m512 z, __m512 t) { return _mm512_maskz_add_ps(~_mm512_cmp_ps_mask(z, t, _CMP_LT_OQ), _mm512_roundscale_ps(_mm512_sub_ps(z, t), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC), _mm512_set1_ps(1.0f)); }

/* The ring pixels rr of q counted by photons: 0 (a4), 1 (a5), 2 or more (a6) */
static inline void RingHist512(__m512 q, __mmask16 rr, __m512i *a4, __m512i *a5, __m512i *a6)
{
  const __m512    half = _mm512_set1_ps(0.5f), onehalf = _mm512_set1_ps(1.5f);
  const __m512i   ones = _mm512_set1_epi32(1);
  const __mmask16 lo = _mm512_cmp_ps_mask(q, half, _CMP_LT_OQ), hi = _mm512_cmp_ps_mask(q, onehalf, _CMP_GE_OQ);
  *a4 = _mm512_mask_add_epi32(*a4, rr & lo, *a4, ones);
  *a5 = _mm512_mask_add_epi32(*a5, rr & _mm512_cmp_ps_mask(q, half, _CMP_GE_OQ) & _mm512_cmp_ps_mask(q, onehalf, _CMP_LT_OQ), *a5, ones);
  *a6 = _mm512_mask_add_epi32(*a6, rr & hi, *a6, ones);
}

/* AsicRow's work on 16 values at a time, the counts in vector lanes over all the rows (the
   compiler's version of AsicRow summed its seven counts across the vector every 64 values):
   the same operations on each value, so the same values and counts. */
static void AsicPass512(int rows, float lev, int photons, float t, float cap, const unsigned char *ring, float *v, unsigned char *b, long cnt[7])
{
  const __m512  vlev = _mm512_set1_ps(lev), vt = _mm512_set1_ps(t), half = _mm512_set1_ps(0.5f);
  const __m512  vcap = _mm512_set1_ps(cap), eps = _mm512_set1_ps(1e-3f);
  const __m512i ones = _mm512_set1_epi32(1);
  const __m128i bad1 = _mm_set1_epi8(1);
  __m512i       a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;
  const int     same = photons && t == 0.5f; /* Count(y, 1/2) is q */

  for (int r = 0; r < rows; r++) {
    float               *x  = v + (size_t)r * MX_NFS;
    unsigned char       *bb = b + (size_t)r * MX_NFS;
    const unsigned char *rg = ring ? ring + (size_t)r * MX_NFS : NULL;
    for (int c = 0; c < MX_ASIC_SIDE; c += 16) {
      const __m128i  bv = _mm_loadu_si128((const __m128i *)(bb + c));
      const __mmask16 g = _mm_testn_epi8_mask(bv, bv);
      const __mmask16 in = rg ? _mm_test_epi8_mask(_mm_loadu_si128((const __m128i *)(rg + c)), _mm_loadu_si128((const __m128i *)(rg + c))) : 0;
      const __m512   x0 = _mm512_loadu_ps(x + c), y = _mm512_sub_ps(x0, vlev);
      /* Count(z, t): z < t ? 0 : floor(z - t) + 1 */
      const __m512 c0 = Count512(x0, half);
      __m512       q, cy;
      if (photons) {
        q  = Count512(y, vt);
        cy = same ? q : Count512(y, half);
        a1 = _mm512_mask_add_epi32(a1, g & _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(q, y)), eps, _CMP_GT_OQ), a1, ones);
      } else {
        q  = y;
        cy = Count512(y, half);
      }
      a0 = _mm512_mask_add_epi32(a0, g & _mm512_cmp_ps_mask(c0, cy, _CMP_NEQ_UQ), a0, ones);
      const __mmask16 spike = g & _mm512_cmp_ps_mask(q, vcap, _CMP_GT_OQ), ok = g & _mm512_cmp_ps_mask(q, vcap, _CMP_LE_OQ), rr = ok & in;
      a2 = _mm512_mask_add_epi32(a2, spike, a2, ones);
      a3 = _mm512_mask_add_epi32(a3, ok, a3, ones);
      if (rr) RingHist512(q, rr, &a4, &a5, &a6); /* ring pixels are few: most vectors have none */
      _mm512_storeu_ps(x + c, _mm512_maskz_mov_ps(ok, q));
      _mm_mask_storeu_epi8(bb + c, spike, bad1);
    }
  }
  cnt[0] += _mm512_reduce_add_epi32(a0);
  cnt[1] += _mm512_reduce_add_epi32(a1);
  cnt[2] += _mm512_reduce_add_epi32(a2);
  cnt[3] += _mm512_reduce_add_epi32(a3);
  cnt[4] += _mm512_reduce_add_epi32(a4);
  cnt[5] += _mm512_reduce_add_epi32(a5);
  cnt[6] += _mm512_reduce_add_epi32(a6);
}
/* Droplets, first and last pass, for a whole 64 x 64 ASIC. DropletIn512 is AsicPass (not
   photonised, no cap) and DropletRow in one pass: the level subtracted and the common mode's
   changes counted (cnt[0]), the good values counted (cnt[3]); each good value below bg zeroed
   and counted as the droplets' change (dcnt), the others' bits in m[r]. DropletOut512 is
   AsicPass at level 0 after the droplets: the spikes (cnt[2]) zeroed and flagged, the ring's
   0 / 1 / 2+ photons (cnt[4..6]); the rest of that pass changes nothing there (the good values
   are finite, the bad ones 0 already). The same operations on each value as the two passes and
   DropletRow, so the same values and counts. */
static void DropletIn512(float lev, float bg, float *v, const unsigned char *b, uint64_t *m, long cnt[7], long dcnt[2])
{
  const __m512  vlev = _mm512_set1_ps(lev), half = _mm512_set1_ps(0.5f), vbg = _mm512_set1_ps(bg), eps = _mm512_set1_ps(1e-3f);
  const __m512i ones = _mm512_set1_epi32(1);
  __m512i       a0 = _mm512_setzero_si512(), a3 = a0, d0 = a0, d1 = a0;

  for (int r = 0; r < MX_ASIC_SIDE; r++) {
    float               *x  = v + (size_t)r * MX_NFS;
    const unsigned char *bb = b + (size_t)r * MX_NFS;
    uint64_t             mr = 0;
    for (int c = 0; c < MX_ASIC_SIDE; c += 16) {
      const __m128i   bv = _mm_loadu_si128((const __m128i *)(bb + c));
      const __mmask16 g  = _mm_testn_epi8_mask(bv, bv);
      const __m512    x0 = _mm512_loadu_ps(x + c), y = _mm512_sub_ps(x0, vlev);
      const __m512    c0 = Count512(x0, half);
      const __m512    cy = Count512(y, half);
      a0                 = _mm512_mask_add_epi32(a0, g & _mm512_cmp_ps_mask(c0, cy, _CMP_NEQ_UQ), a0, ones);
      /* AsicPass's ok (q <= INFINITY): not NaN */
      const __mmask16 ok = g & _mm512_cmp_ps_mask(y, y, _CMP_ORD_Q);
      a3                 = _mm512_mask_add_epi32(a3, ok, a3, ones);
      /* DropletRow on what AsicPass stored (y, or +0 where not ok): good values (ok or good
         NaN, stored +0) >= bg are on; good values not on are zeroed and counted */
      const __m512    z   = _mm512_maskz_mov_ps(ok, y);
      const __mmask16 on  = g & _mm512_cmp_ps_mask(z, vbg, _CMP_GE_OQ), off = g & ~on;
      d0                  = _mm512_mask_add_epi32(d0, off & _mm512_cmp_ps_mask(_mm512_abs_ps(z), eps, _CMP_GT_OQ), d0, ones);
      d1                  = _mm512_mask_add_epi32(d1, off & _mm512_cmp_ps_mask(z, half, _CMP_GE_OQ), d1, ones);
      _mm512_storeu_ps(x + c, _mm512_maskz_mov_ps(on, z));
      mr |= (uint64_t)on << c;
    }
    m[r] = mr;
  }
  cnt[0] += _mm512_reduce_add_epi32(a0);
  cnt[3] += _mm512_reduce_add_epi32(a3);
  dcnt[0] += _mm512_reduce_add_epi32(d0);
  dcnt[1] += _mm512_reduce_add_epi32(d1);
}

static void DropletOut512(float cap, const unsigned char *ring, float *v, unsigned char *b, long cnt[7])
{
  const __m512  vcap = _mm512_set1_ps(cap);
  const __m512i ones = _mm512_set1_epi32(1);
  const __m128i bad1 = _mm_set1_epi8(1);
  __m512i       a2 = _mm512_setzero_si512(), a4 = a2, a5 = a2, a6 = a2;

  for (int r = 0; r < MX_ASIC_SIDE; r++) {
    float               *x  = v + (size_t)r * MX_NFS;
    unsigned char       *bb = b + (size_t)r * MX_NFS;
    const unsigned char *rg = ring ? ring + (size_t)r * MX_NFS : NULL;
    for (int c = 0; c < MX_ASIC_SIDE; c += 16) {
      const __m128i   bv    = _mm_loadu_si128((const __m128i *)(bb + c));
      const __mmask16 g     = _mm_testn_epi8_mask(bv, bv);
      const __m512    q     = _mm512_loadu_ps(x + c);
      const __mmask16 spike = g & _mm512_cmp_ps_mask(q, vcap, _CMP_GT_OQ);
      if (spike) {
        a2 = _mm512_mask_add_epi32(a2, spike, a2, ones);
        _mm512_mask_storeu_ps(x + c, spike, _mm512_setzero_ps());
        _mm_mask_storeu_epi8(bb + c, spike, bad1);
      }
      if (rg) {
        const __m128i   rv = _mm_loadu_si128((const __m128i *)(rg + c));
        const __mmask16 rr = g & ~spike & _mm_test_epi8_mask(rv, rv);
        if (rr) RingHist512(q, rr, &a4, &a5, &a6);
      }
    }
  }
  cnt[2] += _mm512_reduce_add_epi32(a2);
  cnt[4] += _mm512_reduce_add_epi32(a4);
  cnt[5] += _mm512_reduce_add_epi32(a5);
  cnt[6] += _mm512_reduce_add_epi32(a6);
}
#endif

static void AsicPass(int scalar, int rows, float lev, int photons, float t, float cap, const unsigned char *ring, float *v, unsigned char *b, long cnt[7])
{
  (void)scalar;
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  if (!scalar) {
    AsicPass512(rows, lev, photons, t, cap, ring, v, b, cnt);
    return;
  }
#endif
  static const unsigned char none[MX_ASIC_SIDE];
  int                        c[7] = {0, 0, 0, 0, 0, 0, 0};
  for (int r = 0; r < rows; r++) AsicRow(lev, photons, t, cap, ring ? ring + (size_t)r * MX_NFS : none, v + (size_t)r * MX_NFS, b + (size_t)r * MX_NFS, c);
  for (int k = 0; k < 7; k++) cnt[k] += c[k];
}

/* One block of rows of a frame (rows x 128 values from its first row: two ASICs side by side):
   the common mode of each ASIC from its histogram, then one pass that subtracts it, photonises,
   caps spikes and counts what changed (droplets: after the subtraction, then their own pass). */
static void Block(MxDetCorr dc, MxDetCorrStats *st, int module, const unsigned char *ring, const float *cell, int rows, float *v, unsigned char *b)
{
  if (cell) /* the memory-cell term first: the ASIC's level is then that of the frame alone */
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < MX_NFS; c++) v[(size_t)r * MX_NFS + c] -= cell[(size_t)r * MX_NFS + c];
  const int   droplet = dc->ph == MX_PHOTONIZE_DROPLET, photons = dc->ph != MX_PHOTONIZE_NONE && !droplet;
  const float t = (float)dc->threshold, cap = dc->max_photons > 0 && !droplet ? (float)dc->max_photons : INFINITY;
  long        cnt[7] = {0, 0, 0, 0, 0, 0, 0};

  for (int a = 0; a < MX_NFS / MX_ASIC_SIDE; a++) { /* the two ASICs side by side */
    float *va = v + a * MX_ASIC_SIDE;
    unsigned char *ba = b + a * MX_ASIC_SIDE;
    double level = 0;
    if (dc->cm != MX_CM_NONE) {
      int    nused;
      double var;
      level = MxCommonModeAsic(va, ba, MX_NFS, &nused, &var);
      if (!nused) st->cm_none[module]++;
      else {
        st->cm_n[module]++;
        st->cm_sum[module] += level;
        st->cm_sq[module] += level * level;
        st->noise_n[module] += nused;
        st->noise_sum[module] += var * nused;
      }
    }
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
    if (droplet && !dc->scalar && rows == MX_ASIC_SIDE) { /* the three passes in two */
      uint64_t m[MX_ASIC_SIDE];
      long     d[7] = {0, 0, 0, 0, 0, 0, 0}, nvd[2] = {0, 0};
      DropletIn512((float)level, (float)dc->droplet_bg, va, ba, m, cnt, nvd);
      (void)DropletClusters(va, rows, MX_NFS, m, nvd);
      cnt[1] += nvd[0];
      st->changed_droplet += (double)nvd[1];
      DropletOut512(dc->max_photons > 0 ? (float)dc->max_photons : INFINITY, ring ? ring + a * MX_ASIC_SIDE : NULL, va, ba, d);
      cnt[2] += d[2];
      cnt[3] -= d[2];
      for (int k = 4; k < 7; k++) cnt[k] += d[k];
      continue;
    }
#endif
    AsicPass(dc->scalar, rows, (float)level, photons, t, cap, ring && !droplet ? ring + a * MX_ASIC_SIDE : NULL, va, ba, cnt);
    if (droplet) {
      long d[7] = {0, 0, 0, 0, 0, 0, 0}, nvd[2] = {0, 0};
      (void)MxPhotonizeDroplet(va, ba, rows, MX_ASIC_SIDE, MX_NFS, (float)dc->droplet_bg, nvd);
      cnt[1] += nvd[0];
      st->changed_droplet += (double)nvd[1];
      /* the spikes and the histogram of the droplets' counts: the same pass, at level 0 */
      AsicPass(dc->scalar, rows, 0.0f, 0, 0.5f, dc->max_photons > 0 ? (float)dc->max_photons : INFINITY, ring ? ring + a * MX_ASIC_SIDE : NULL, va, ba, d);
      cnt[2] += d[2];
      cnt[3] -= d[2];
      for (int k = 4; k < 7; k++) cnt[k] += d[k];
    }
  }
  st->changed_cm += (double)cnt[0];
  st->changed_ph += (double)cnt[1];
  st->spikes += (double)cnt[2];
  st->good += (double)cnt[3];
  for (int k = 0; k < 3; k++) st->hist[k] += (double)cnt[4 + k];
}

void MxDetCorrFrame(MxDetCorr dc, PetscInt f, size_t off, size_t n, float *v, unsigned char *b)
{
  MxDetCorrStats scratch;
  const double   t0   = MPI_Wtime();
  size_t         end  = off + n;
  const float   *cell = dc->cell_off ? dc->cell_off + (size_t)f * dc->npix : NULL;
  int            align;

  memset(&scratch, 0, sizeof scratch);
  (void)MxDetCorrGetAlign(dc, &align, NULL);
  if (align == 1) { /* no ASIC work: rows as they come, in blocks of up to 64 rows */
    for (size_t p = off; p < end; p += (size_t)MX_ASIC_SIDE * MX_NFS) {
      size_t m = PetscMin((size_t)MX_ASIC_SIDE * MX_NFS, end - p);
      Block(dc, dc->probe ? dc->probe : &scratch, 0, dc->ring ? dc->ring + p : NULL, NULL, (int)(m / MX_NFS), v + (p - off), b + (p - off));
    }
  } else
    for (int k = 0; k < dc->nblocks; k++) {
      const MxAsicBlock *B = &dc->blocks[k];
      if (B->off < off || B->off >= end) continue;
      Block(dc, dc->probe ? dc->probe : dc->count ? &dc->bstats[k] : &scratch, B->module, dc->ring ? dc->ring + B->off : NULL, cell ? cell + B->off : NULL, MX_ASIC_SIDE, v + (B->off - off), b + (B->off - off));
    }
  if (dc->probe) dc->probe->t += MPI_Wtime() - t0;
  else if (dc->count) {
    const double *x = (const double *)&scratch;
    double       *y = (double *)&dc->stats;
    scratch.t       = MPI_Wtime() - t0;
    pthread_mutex_lock(&dc->mu);
    for (size_t k = 0; k < sizeof scratch / sizeof(double); k++) y[k] += x[k]; /* whole counts and the time */
    pthread_mutex_unlock(&dc->mu);
  }
}

PetscErrorCode MxDetCorrCellOffsets(MxDetCorr dc, MxReader r, PetscInt nf, PetscInt ntrains, int nranges, const MxRowRange ranges[])
{
  float         *d, *sum;
  unsigned char *bad;
  int           *cnt;
  const size_t   npix = dc->npix;
  const PetscInt K    = PetscMin(dc->cell_trains, ntrains);

  PetscFunctionBeginUser;
  if (dc->cm != MX_CM_ASIC_CELL) PetscFunctionReturn(0);
  PetscCall(PetscFree(dc->cell_off));
  PetscCall(PetscCalloc1(nf * npix + 1, &dc->cell_off));
  PetscCall(PetscMalloc2(nf * npix + 1, &d, nf * npix + 1, &bad));
  PetscCall(PetscCalloc2(nf * npix + 1, &sum, nf * npix + 1, &cnt));
  for (PetscInt t = 0; t < K && npix; t++) {
    PetscErrorCode ierr;
    PetscCall(PetscPushErrorHandler(PetscIgnoreErrorHandler, NULL)); /* an unreadable train is the run's business, reported there */
    ierr = MxReaderRead(r, t, nranges, ranges, d, bad);
    PetscCall(PetscPopErrorHandler());
    if (ierr) continue;
    for (PetscInt f = 0; f < nf; f++)
      for (int k = 0; k < dc->nblocks; k++)
        for (int a = 0; a < MX_NFS / MX_ASIC_SIDE; a++) {
          const size_t o = (size_t)f * npix + dc->blocks[k].off + a * MX_ASIC_SIDE;
          int          nused;
          double       var, level = MxCommonModeAsic(d + o, bad + o, MX_NFS, &nused, &var);
          if (!nused) continue;
          for (int rr = 0; rr < MX_ASIC_SIDE; rr++)
            for (int c = 0; c < MX_ASIC_SIDE; c++) {
              const size_t i = o + (size_t)rr * MX_NFS + c;
              const float  y = d[i] - (float)level;
              if (!bad[i] && fabsf(y) < MX_CM_WINDOW) {
                sum[i] += y;
                cnt[i]++;
              }
            }
        }
  }
  for (size_t i = 0; i < nf * npix; i++) dc->cell_off[i] = cnt[i] ? sum[i] / (float)cnt[i] : 0.0f;
  PetscCall(PetscFree2(d, bad));
  PetscCall(PetscFree2(sum, cnt));
  PetscFunctionReturn(0);
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

void MxDetCorrFlush(MxDetCorr dc, MxDetCorrStats *into)
{
  double *a = (double *)into, *b = (double *)&dc->stats;
  for (int i = 0; i < dc->nblocks; i++) { /* the blocks' sums in block order */
    const double *c = (const double *)&dc->bstats[i];
    for (size_t k = 0; k < sizeof dc->stats / sizeof(double); k++) b[k] += c[k];
    memset(&dc->bstats[i], 0, sizeof dc->stats);
  }
  if (into)
    for (size_t k = 0; k < sizeof dc->stats / sizeof(double); k++) a[k] += b[k];
  memset(&dc->stats, 0, sizeof dc->stats);
}

PetscErrorCode MxDetCorrStatsReduce(const MxDetCorrStats *local, MPI_Comm comm, MxDetCorrStats *sum)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(local, sum, (int)(sizeof *sum / sizeof(double)), MPI_DOUBLE, MPI_SUM, comm));
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
  PetscCall(PetscFree((*dc)->bstats));
  PetscCall(PetscFree((*dc)->cell_off));
  pthread_mutex_destroy(&(*dc)->mu);
  PetscCall(PetscFree(*dc));
  PetscFunctionReturn(0);
}
