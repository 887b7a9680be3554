/* Two-time correlation kernels (seed paper, Methods "Correlation analysis"; design.md 1.2-1.5).
   Plain C on arrays + OpenBLAS; no MPI. Frames are row-major (nf x npix, leading dimension ld):
   row t holds the ring's pixels of pulse t. Sums are accumulated in double. */
#pragma once
#include <stddef.h>

/* s1[t] += sum_p I_p(t); gram[t1*nf+t2] += sum_p I_p(t1) I_p(t2) (full symmetric matrix), with
   cblas_ssyrk over blocks of at most `block` pixels, each block's float result added in double.
   work: nf*nf floats. */
void MxCorrGramAccumulate(int nf, int npix, const float *A, int ld, int block, double *s1, double *gram, float *work);
/* x[t1*nf+t2] += sum_p A_p(t1) B_p(t2) (cblas_sgemm, blocks as above). work: nf*nf floats. */
void MxCorrCrossAccumulate(int nf, int npix, const float *A, const float *B, int ld, int block, double *x, float *work);
/* Per-train two-time correlation from ring sums over N pixels:
   C(t1,t2) = <dI(t1) dI(t2)>/(<I(t1)><I(t2)>) = N gram(t1,t2)/(s1(t1) s1(t2)) - 1. */
void MxCorrTwoTime(int nf, double N, const double *s1, const double *gram, double *C);
/* Cross-train: X(t1,t2) = N x(t1,t2)/(s1a(t1) s1b(t2)) - 1 (a: the earlier train). */
void MxCorrCross(int nf, double N, const double *s1a, const double *s1b, const double *x, double *X);
/* XC = (XT_-1 + XT_+1)/2 with XT = (X + X^T)/2; one of Xm, Xp may be NULL (then XC = its XT).
   Returns 0, or 1 when both are NULL (XC untouched). */
int MxCorrXC(int nf, const double *Xm, const double *Xp, double *XC);
/* g2 - 1 from a two-time matrix: for each age window w (pulses [start[w], start[w]+len)) and
   lag tau = 1..ntau, the mean of C(t1, t1+tau) over pairs with both pulses in the window;
   out[w*ntau + tau-1], npairs likewise (0 pairs: out = NaN). */
void MxCorrG2(int nf, const double *C, int nwin, const int *start, int len, int ntau, double *out, int *npairs);
/* Contrast from the diagonal: beta(t) = C(t,t) - N/s1(t) (photon shot noise of photon-unit data). */
void MxCorrContrast(int nf, double N, const double *s1, const double *C, double *beta);
/* Contrast of continuous (not photonised) values with electronic noise var (photons^2) and a
   photon's shot noise R (photons^2 per photon): beta(t) = C(t,t) - R N/s1(t) - N^2 var/s1(t)^2,
   C the corrected C - XC (g2 - 1 scale). R = 1 for photon counts; a static relative gain spread
   g makes it 1 + g^2, a photon's charge shared over pixels in fractions f_k times sum_k f_k^2
   (docs/reference/agipd-data.md section 3, docs/analyze.md). R is the user's (-corr_shot_noise):
   its factor from one train's XC(t,t) is too noisy to divide by, so it is not estimated. */
void MxCorrContrastNoise(int nf, double N, const double *s1, const double *C, double var, double R, double *beta);

/* Per-pixel passes of one train (frames row-major, nf x npix). */
/* valid[p] = bad[p] == 0 (first frame) or valid[p] &= bad[p] == 0 (the others), p < n. */
void MxCorrValidUpdate(int first, size_t n, const unsigned char *bad, unsigned char *valid);
/* The first k in [lo, hi) with a[k] >= x (a ascending there), or hi: bisection. */
size_t MxCorrLowerBound(const int *a, size_t lo, size_t hi, size_t x);
/* out[dst[k]] = v[pos[k] - off] for the k with off <= pos[k] < off + n (pos ascending, npos of
   them); returns how many. */
size_t MxCorrGatherSorted(size_t off, size_t n, const float *v, size_t npos, const int *pos, const int *dst, float *out);
/* SAXS bin sums of one train: for each frame f and bin b, sx[(b*nf+f)*2] += sum over the SAXS
   pixels k in bin b (in order) of (double)(data(f, sp[k]) * w[k]), sx[(b*nf+f)*2+1] += cnt[b].
   The frames go in MxCorrSaxsBlocks(nf) blocks of nearly equal size; only blocks [ib0, ib1) are
   done (two threads can share a train's frames). acc: scratch of (ib1 - ib0)*nbins*16 doubles. */
int  MxCorrSaxsBlocks(int nf);
void MxCorrSaxsAccumulate(int nf, size_t npix, const float *data, size_t nsaxs, const int *sp, const int *sb, const float *w, const double *cnt, int nbins, int ib0, int ib1, double *acc, double *sx);
/* The mean image (when img_sum is not NULL): img_sum[p] += data(f,p) frame after frame where
   valid[p] (0 or 1), img_n[p] += nf there; and MxCorrSaxsAccumulate of blocks [ib0, ib1); in one
   pass over the frames, pixel block by pixel block. acc: (ib1 - ib0) * nbins * 16 doubles. */
void MxCorrImageSaxsAccumulate(int nf, size_t npix, const float *data, const unsigned char *valid, double *img_sum, double *img_n, size_t nsaxs, const int *sp, const int *sb, const float *w, const double *cnt, int nbins, int ib0, int ib1, double *acc, double *sx);
/* The same in pieces, for a train prepared range by range as it is read: acc (zeroed first,
   MxCorrSaxsAccSize doubles for ib1 - ib0 blocks) takes the SAXS sums of pixels [p0, p1) (SAXS
   pixels k0 <= k < k1: those in [p0, p1)) and img_sum/img_n (may be NULL) their image; data and
   valid indexed by pixel p (frame f at data + f * ld). Ranges called in pixel order, then
   MxCorrSaxsFold once, give the bits of MxCorrImageSaxsAccumulate. */
size_t MxCorrSaxsAccSize(int nbins, int nblocks);
void   MxCorrImageSaxsRange(int nf, size_t ld, const float *data, const unsigned char *valid, double *img_sum, double *img_n, size_t p0, size_t p1, size_t k0, size_t k1, const int *sp, const int *sb, const float *w, int nbins, int ib0, int ib1, double *acc);
void   MxCorrSaxsFold(int nf, const double *cnt, int nbins, int ib0, int ib1, const double *acc, double *sx);
/* The mean image of pixels [p0, p1) summed on: out[p] = in[p] + the valid frames' values, in
   MxCorrImageSaxsRange's order (the same bits as img_sum = in, then that range); in may be out. */
void   MxCorrImageOn(int nf, size_t ld, const float *data, const unsigned char *valid, size_t p0, size_t p1, const double *in, double *out);
