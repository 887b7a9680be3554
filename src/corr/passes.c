/* The per-pixel passes of a train (valid pixels, the mean image, SAXS bins): kernels on
   frame-major arrays (nf x npix), compiled with -O3 so that they vectorise. None reorders a
   floating-point sum: every accumulator receives its terms in pixel order, one frame after the
   other, as the plain loops did, so results are the same bits. */
#include <mxpcs/corr.h>
#include <stdint.h>
#include <string.h>

/* pixels per block: a block's accumulators stay in L1 while the frames stream past */
#define MX_PASS_BLOCK 2048

void MxCorrValidUpdate(int first, size_t n, const unsigned char *bad, unsigned char *valid)
{
  if (first)
    for (size_t p = 0; p < n; p++) valid[p] = (unsigned char)(bad[p] == 0);
  else
    for (size_t p = 0; p < n; p++) valid[p] &= (unsigned char)(bad[p] == 0);
}

size_t MxCorrLowerBound(const int *a, size_t lo, size_t hi, size_t x)
{
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if ((size_t)a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

size_t MxCorrGatherSorted(size_t off, size_t n, const float *v, size_t npos, const int *pos, const int *dst, float *out)
{
  const size_t lo = MxCorrLowerBound(pos, 0, npos, off);
  size_t       k  = lo;
  for (; k < npos && (size_t)pos[k] < off + n; k++) out[dst[k]] = v[pos[k] - off];
  return k - lo;
}

/* FB frames at once (FB a constant in each instance, so the frame loop unrolls and
   vectorises): FB independent sums per pixel, and a bin's running sums held in registers while
   consecutive pixels fall into it (the same additions in the same order as acc[b] += x). */
#define MX_SAXS_FB 16
static inline __attribute__((always_inline)) void SaxsBlock(const int FB, const float *const *rows, size_t nsaxs, const int *sp, const int *sb, const float *w, double *acc)
{
  double run[MX_SAXS_FB] = {0};
  int    cb              = -1;
  for (size_t k = 0; k < nsaxs; k++) {
    const int b = sb[k], p = sp[k];
    if (b != cb) {
      if (cb >= 0) memcpy(acc + (size_t)cb * MX_SAXS_FB, run, sizeof(double) * FB);
      memcpy(run, acc + (size_t)b * MX_SAXS_FB, sizeof(double) * FB);
      cb = b;
    }
    const float wk = w[k];
    for (int j = 0; j < FB; j++) run[j] += (double)(rows[j][p] * wk);
  }
  if (cb >= 0) memcpy(acc + (size_t)cb * MX_SAXS_FB, run, sizeof(double) * FB);
}

#if defined(__AVX2__)
  #include <immintrin.h>
/* The same sums with AVX2: a bin's FB running sums in four 4-double registers. Where 8
   consecutive SAXS pixels are 8 consecutive pixels of memory (nearly everywhere: the SAXS pixels
   are all pixels with a bin), an 8 x 8 block of (frame, pixel) values is loaded row by row and
   transposed, so that one vector holds one pixel's 8 frames; elsewhere a pixel's FB values are
   picked one by one. Each lane still computes (double)(x * w) in float, then adds it to its
   frame's sum in pixel order: the same operations as SaxsBlock, the same bits. rows[j >= FB]
   is frame 0 again: its lanes are added to acc but never read (acc holds MX_SAXS_FB per bin). */
static inline void Transpose8(__m256 v[8])
{
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i]     = _mm256_unpacklo_ps(v[i], v[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(v[i], v[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i]     = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; i++) {
    v[i]     = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    v[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

static inline __attribute__((always_inline)) void SaxsAdd(__m256d r[4], __m256 x, int h, float wk)
{
  const __m256 pr = _mm256_mul_ps(x, _mm256_set1_ps(wk));
  r[2 * h]        = _mm256_add_pd(r[2 * h], _mm256_cvtps_pd(_mm256_castps256_ps128(pr)));
  r[2 * h + 1]    = _mm256_add_pd(r[2 * h + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(pr, 1)));
}

static inline __attribute__((always_inline)) void SaxsBlockVec(const int NH, const float *const *rows, size_t nsaxs, const int *sp, const int *sb, const float *w, double *acc)
{
  const float *const *rw = rows; /* rows[j >= fb] is rows[0] */
  __m256d      r[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  int          cb   = -1;
#define MX_SAXS_SWITCH(b) \
  do { \
    if ((b) != cb) { \
      if (cb >= 0) \
        for (int h = 0; h < 2 * NH; h++) _mm256_storeu_pd(acc + (size_t)cb * MX_SAXS_FB + 4 * h, r[h]); \
      for (int h = 0; h < 2 * NH; h++) r[h] = _mm256_loadu_pd(acc + (size_t)(b) * MX_SAXS_FB + 4 * h); \
      cb = (b); \
    } \
  } while (0)
  size_t k = 0;
  while (k < nsaxs) {
    if (k + 8 <= nsaxs && sp[k + 7] - sp[k] == 7) { /* 8 consecutive pixels */
      const int p = sp[k];
      __m256    v[2][8];
      for (int h = 0; h < NH; h++) {
        for (int i = 0; i < 8; i++) v[h][i] = _mm256_loadu_ps(rw[8 * h + i] + p);
        Transpose8(v[h]);
      }
      for (int i = 0; i < 8; i++) {
        MX_SAXS_SWITCH(sb[k + i]);
        for (int h = 0; h < NH; h++) SaxsAdd(r, v[h][i], h, w[k + i]);
      }
      k += 8;
    } else {
      const int p = sp[k];
      float     x[MX_SAXS_FB];
      MX_SAXS_SWITCH(sb[k]);
      for (int j = 0; j < 8 * NH; j++) x[j] = rw[j][p];
      for (int h = 0; h < NH; h++) SaxsAdd(r, _mm256_loadu_ps(x + 8 * h), h, w[k]);
      k++;
    }
  }
#undef MX_SAXS_SWITCH
  if (cb >= 0)
    for (int h = 0; h < 2 * NH; h++) _mm256_storeu_pd(acc + (size_t)cb * MX_SAXS_FB + 4 * h, r[h]);
}
#endif

int MxCorrSaxsBlocks(int nf) { return (nf + MX_SAXS_FB - 1) / MX_SAXS_FB; }

/* Frames [*f0, *f0 + *fb) of block ib: nearly equal blocks of at most MX_SAXS_FB (50 -> 13, 13, 12, 12). */
static void SaxsBlockFrames(int nf, int ib, int *f0, int *fb)
{
  const int nblk = MxCorrSaxsBlocks(nf);
  *f0            = 0;
  for (int i = 0;; i++) {
    *fb = (nf - *f0) / (nblk - i);
    if (i == ib) return;
    *f0 += *fb;
  }
}

void MxCorrSaxsAccumulate(int nf, size_t npix, const float *data, size_t nsaxs, const int *sp, const int *sb, const float *w, const double *cnt, int nbins, int ib0, int ib1, double *acc, double *sx)
{
  MxCorrImageSaxsAccumulate(nf, npix, data, NULL, NULL, NULL, nsaxs, sp, sb, w, cnt, nbins, ib0, ib1, acc, sx);
}

/* The image's sums of m pixels (at most MX_PASS_BLOCK): s[p] += row[p] x valid[p], frame after
   frame. valid is 0 or 1: the product is exact, and the sum never -0. The flags as doubles once,
   not widened again for every frame (the same products). */
static void ImageBlock(int nf, size_t ld, const float *data, const unsigned char *valid, size_t m, double *s)
{
  double vd[MX_PASS_BLOCK];
  for (size_t p = 0; p < m; p++) vd[p] = (double)valid[p];
  for (int f = 0; f < nf; f++) {
    const float *row = data + (size_t)f * ld;
    for (size_t p = 0; p < m; p++) s[p] += (double)row[p] * vd[p];
  }
}

/* The mean image and the SAXS bins of frame blocks [ib0, ib1) for pixels [p0, p1) (the SAXS
   pixels k0 <= k < k1 among them) in one pass, pixel block by pixel block, so that a block's
   frames are read from memory once for both: every accumulator gets its terms in pixel order,
   frame after frame, and a bin's running sums go through acc between blocks and ranges (stored
   and loaded exactly): ranges in pixel order give the bits of one pass over all pixels. */
void MxCorrImageSaxsRange(int nf, size_t ld, const float *data, const unsigned char *valid, double *img_sum, double *img_n, size_t p0, size_t p1, size_t k0, size_t k1, const int *sp, const int *sb, const float *w, int nbins, int ib0, int ib1, double *acc)
{
  const size_t nacc = (size_t)nbins * MX_SAXS_FB;
  if (ib1 > MxCorrSaxsBlocks(nf)) ib1 = MxCorrSaxsBlocks(nf);
  for (size_t q0 = p0; q0 < p1; q0 += MX_PASS_BLOCK) {
    const size_t m = p1 - q0 < MX_PASS_BLOCK ? p1 - q0 : MX_PASS_BLOCK;
    if (img_sum) ImageBlock(nf, ld, data + q0, valid + q0, m, img_sum + q0);
    const size_t kb = MxCorrLowerBound(sp, k0, k1, q0 + m); /* the first SAXS pixel beyond the block */
    if (kb > k0)
      for (int ib = ib0; ib < ib1; ib++) {
        const float *rows[MX_SAXS_FB];
        int          f0, fb;
        double      *a = acc + nacc * (size_t)(ib - ib0);
        SaxsBlockFrames(nf, ib, &f0, &fb);
        for (int j = 0; j < MX_SAXS_FB; j++) rows[j] = data + (size_t)(f0 + (j < fb ? j : 0)) * ld;
#if defined(__AVX2__)
        if (fb <= 8) SaxsBlockVec(1, rows, kb - k0, sp + k0, sb + k0, w + k0, a);
        else SaxsBlockVec(2, rows, kb - k0, sp + k0, sb + k0, w + k0, a);
#else
        switch (fb) {
#define MX_SAXS_CASE(n) \
  case n: \
    SaxsBlock(n, rows, kb - k0, sp + k0, sb + k0, w + k0, a); \
    break;
          MX_SAXS_CASE(1) MX_SAXS_CASE(2) MX_SAXS_CASE(3) MX_SAXS_CASE(4) MX_SAXS_CASE(5) MX_SAXS_CASE(6) MX_SAXS_CASE(7) MX_SAXS_CASE(8)
          MX_SAXS_CASE(9) MX_SAXS_CASE(10) MX_SAXS_CASE(11) MX_SAXS_CASE(12) MX_SAXS_CASE(13) MX_SAXS_CASE(14) MX_SAXS_CASE(15) MX_SAXS_CASE(16)
#undef MX_SAXS_CASE
        }
#endif
      }
    k0 = kb;
  }
  if (img_n)
    for (size_t p = p0; p < p1; p++) img_n[p] += (double)nf * (double)valid[p];
}

void MxCorrImageOn(int nf, size_t ld, const float *data, const unsigned char *valid, size_t p0, size_t p1, const double *in, double *out)
{
  for (size_t q0 = p0; q0 < p1; q0 += MX_PASS_BLOCK) {
    const size_t         m = p1 - q0 < MX_PASS_BLOCK ? p1 - q0 : MX_PASS_BLOCK;
    if (in != out) memcpy(out + q0, in + q0, sizeof(double) * m); /* the block stays in the cache for the frames */
    ImageBlock(nf, ld, data + q0, valid + q0, m, out + q0); /* as MxCorrImageSaxsRange: the same terms in the same order */
  }
}

void MxCorrSaxsFold(int nf, const double *cnt, int nbins, int ib0, int ib1, const double *acc, double *sx)
{
  const size_t nacc = (size_t)nbins * MX_SAXS_FB;
  if (ib1 > MxCorrSaxsBlocks(nf)) ib1 = MxCorrSaxsBlocks(nf);
  for (int ib = ib0; ib < ib1; ib++) {
    const double *a = acc + nacc * (size_t)(ib - ib0);
    int           f0, fb;
    SaxsBlockFrames(nf, ib, &f0, &fb);
    for (int b = 0; b < nbins; b++)
      for (int j = 0; j < fb; j++) {
        sx[((size_t)b * nf + f0 + j) * 2] += a[(size_t)b * MX_SAXS_FB + j];
        sx[((size_t)b * nf + f0 + j) * 2 + 1] += cnt[b];
      }
  }
}

size_t MxCorrSaxsAccSize(int nbins, int nblocks) { return (size_t)nbins * MX_SAXS_FB * (size_t)(nblocks > 0 ? nblocks : 0); }

/* The whole train: the range of all pixels, then the fold. */
void MxCorrImageSaxsAccumulate(int nf, size_t npix, const float *data, const unsigned char *valid, double *img_sum, double *img_n, size_t nsaxs, const int *sp, const int *sb, const float *w, const double *cnt, int nbins, int ib0, int ib1, double *acc, double *sx)
{
  if (ib1 > MxCorrSaxsBlocks(nf)) ib1 = MxCorrSaxsBlocks(nf);
  if (ib1 > ib0) memset(acc, 0, sizeof(double) * MxCorrSaxsAccSize(nbins, ib1 - ib0));
  MxCorrImageSaxsRange(nf, npix, data, valid, img_sum, img_n, 0, npix, 0, nsaxs, sp, sb, w, nbins, ib0, ib1, acc);
  MxCorrSaxsFold(nf, cnt, nbins, ib0, ib1, acc, sx);
}
