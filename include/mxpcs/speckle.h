/* Coherent speckle of a Gaussian density field seen through a Gaussian beam, for one window
   of reciprocal space (one detector module).

   The sample's projected density fluctuation is a sum of Fourier modes rho_k on a grid of
   spacing dq around a window centre qc. Each mode is an Ornstein-Uhlenbeck process with
   variance P(|k|) = I(|k|) and relaxation rate Gamma(|k|), which is exact for Gaussian fields:
   rho_k(t+dt) = a rho_k(t) + sqrt(P (1-a^2)) xi, a = exp(-Gamma dt). The scattered field is
   E = FFT[ b(r) * IFFT[rho] ] (FFTW3, demodulated by qc), i.e. the modes convolved with the
   beam's transform, so the speckle size follows from the beam size and the contrast from the
   pixel size (pixels average |E|^2 over sub-pixel points). <|E(q)|^2> = I(q). */
#pragma once
#include <fftw3.h>
#include <mxpcs/rng.h>
#include <stddef.h>

typedef struct {
  int           nx, ny;      /* grid */
  double        dq;          /* grid spacing, 1/angstrom */
  double        qcx, qcy;    /* window centre */
  double        norm;        /* sum |B|^2: E -> intensity */
  double        c1;          /* correlation of E between neighbouring grid points */
  double       *P;           /* mode variance (static intensity at |k|) */
  double       *shape;       /* rate per unit D: |k|^2 H(|k|)/S(|k|), angstrom^-2 */
  double       *beam;        /* b(r) on the real-space grid */
  fftw_complex *modes, *field;
  fftw_plan     to_real, to_q;
} MxSpeckle;

/* A window of nx x ny modes, spacing dq, centre (qcx,qcy), beam FWHM in angstrom; the
   static intensity I(q) and the rate shape H(q)/S(q) (so Gamma = D q^2 H/S) come from
   fun(q, ctx, &I, &HoverS). FFTW plans use FFTW_ESTIMATE (deterministic). 0 on success. */
typedef void (*MxSpeckleModel)(double q, void *ctx, double *Iq, double *HoverS);
int  MxSpeckleCreate(int nx, int ny, double dq, double qcx, double qcy, double beam_fwhm_A, MxSpeckleModel fun, void *ctx, MxSpeckle *s);
void MxSpeckleDestroy(MxSpeckle *s);
/* Draw every mode from its stationary distribution (a new, decorrelated sample). */
void MxSpeckleInit(MxSpeckle *s, MxRng *g);
/* Advance every mode by an interval over which the integral of D(t) dt is Ddt (angstrom^2):
   a = exp(-Ddt |k|^2 H/S), exact for a rate that varies in time within the interval. */
void MxSpeckleAdvance(MxSpeckle *s, MxRng *g, double Ddt);
/* Compute the field E on the grid from the current modes. */
void MxSpeckleField(MxSpeckle *s);
/* Intensity |E|^2/norm at (qx,qy): bilinear in complex E, rescaled by the variance of the
   interpolant (neighbours are correlated by c1) so that <|E|^2> = I(q) everywhere. */
double MxSpeckleIntensityAt(const MxSpeckle *s, double qx, double qy);
/* The same at a point met every frame (a detector pixel's sub-pixel point): its four grid
   neighbours, weights and variance rescaling computed once (MxSpecklePointSetUp), so that each
   frame costs four complex loads; MxSpecklePointIntensity gives the bits of MxSpeckleIntensityAt. */
typedef struct {
  int    k[4];   /* field index of the neighbours (i0, j0), (i0, j0 + 1), (i0 + 1, j0), (i0 + 1, j0 + 1) */
  double tu, tv; /* the point's fractional position between them */
  double den;    /* norm * vx * vy */
} MxSpecklePoint;
void   MxSpecklePointSetUp(const MxSpeckle *s, double qx, double qy, MxSpecklePoint *pt);
double MxSpecklePointIntensity(const MxSpeckle *s, const MxSpecklePoint *pt);

/* A photon's point (u, v) in [0, 1)^2, along fs and ss, in pixel (ss, fs) of a module of nss x
   nfs pixels in tiles of `tile` rows, drawn from the field there: bilinear between the
   sub-pixel points of the pixel and of its neighbours in the same tile (rejection from the
   largest of the (sub + 2)^2 points around it; uniform after 64 misses). isub holds the field
   (any scale, >= 0) at every pixel's sub x sub points, pixel-major, a pixel's points row by
   row; NaN for a pixel no panel covers. A point beyond the tile, the module or a covered pixel
   is replaced by the pixel's own nearest one. The field is continuous across a pixel's edges,
   so a photon near an edge sees what the neighbour sees there. sub <= MX_SPECKLE_MAXSUB. */
#define MX_SPECKLE_MAXSUB 4
void MxSpecklePhotonPoint(const float *isub, int nss, int nfs, int tile, int sub, int ss, int fs, MxRng *g, double *u, double *v);
