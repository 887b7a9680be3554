/* Age-resolved decay rates: Gamma(q, age) from the g2 of each age window (g2 - 1 = beta
   exp(-2 Gamma tau), include/mxpcs/g2fit.h), Gamma(q, 0) by the zero-age extrapolation, and their
   errors by a delete-a-group jackknife over trains. Not collective (rank 0 of analyze), but for the jackknife (collective: its groups spread over the ranks). */
#pragma once
#include <mxpcs/g2fit.h>
#include <mxpcs/heating.h>

typedef enum { MX_EXTRAP_LINEAR = 1, MX_EXTRAP_QUADRATIC, MX_EXTRAP_EXPONENTIAL, MX_EXTRAP_HEATING } MxExtrapolation;
/* "linear", "quadratic", "exponential", "heating" (index extrapolation - 1) */
extern const char *const MxExtrapolationNames[];

typedef struct {
  PetscInt      nring, nwin, ntau; /* rings, age windows, lags per window (tau_k = (k + 1) dt_s) */
  double        dt_s;              /* pulse spacing */
  const double *age;               /* nwin: the windows' mean ages (s) from the first frame */
  PetscInt      extrap_order;      /* MxExtrapolation */
  /* MX_EXTRAP_HEATING: Gamma(q, w) = Gamma0(q) <h_n>_w, the mean of the heating model's factors
     h_n (heating.h) over the intervals n of window w (win_start[w] .. win_start[w] + win_len - 2),
     for a centre jump dT0 per pulse shared by all rings: fitted when heat_dT0 <= 0, else fixed */
  const PetscInt     *win_start;
  PetscInt            win_len;
  MxHeatModel         heat;
  const MxHeatSample *heat_sample;
  double              heat_dT0;
  double             *heat_out; /* NULL, or [2]: the fitted (or fixed) dT0 and its error */
} MxG2AgeLayout;

/* Zero dose: the first interval (frames 0 and 1) already follows a pulse, so Gamma extrapolates
   to age -dt_s/2 (the windows' mean ages count from frame 0, the intervals' from their middle). */

/* Gamma per ring and window from g2 (not - 1; nring x nwin x ntau) with errors g2err and the
   contrast beta (nring); then Gamma0 per ring, weighted by gerr, or by wgam_err when gerr is
   NULL; the extrapolation L->extrap_order. gerr and g0err may be NULL. With -fit_beta shared the
   rings' age windows are fitted together with one beta per ring (MxG2FitExpShared; beta is its
   start), else each window alone (beta fixed, or free per window).
   bfit, bfit_err (NULL, or nring): the contrast as the fits' intercept, beside the diagonal beta:
   with shared the shared beta; with free the weighted mean of the windows' betas; with fixed a
   shared-beta fit made for this only (the Gammas stay those of the fixed beta). NaN where none
   converged. quiet: no PetscInfo for fits that do not converge. */
PetscErrorCode MxG2AgeFit(MxG2Fit fit, const MxG2AgeLayout *L, const double *g2, const double *g2err, const double *beta, const double *wgam_err, double *gam, double *gerr, double *gam0, double *g0err, double *bfit, double *bfit_err, PetscBool quiet);

/* The contrast from the diagonal of C (beta) against the fits' intercept (MxG2AgeFit's bfit): 1
   when both are finite with finite errors and |beta - bfit| > 3 sqrt(beta_err^2 + bfit_err^2). */
int MxG2AgeBetaDisagree(double beta, double beta_err, double bfit, double bfit_err);

/* Delete-a-group jackknife (train index mod jk; groups without trains are skipped): each group's
   trains are left out in turn, g2 and the contrast recomputed from the sums without them (n
   trains in all; g2sum, bsum the sums of g2 - 1 and contrast; jk_g2, jk_b, jk_n per group), the
   fits and the extrapolation redone with the full run's weights (g2err, gam_err). The spread of
   the K estimates gives errors that include what the fits cannot see: g2 at different lags and
   overlapping age windows share trains, so their errors are correlated. gam_err and gam0_err
   become the jackknife errors; a ring where a sample has no estimate keeps the fit errors
   (*fallback counts them). bfit_err (NULL, or nring): the errors of MxG2AgeFit's intercept,
   replaced by the jackknife's where every sample has one. Out: *K groups used (0: off, nothing
   allocated), *gamJ K x nring x nwin and *g0J K x nring samples (PetscFree them).
   Collective on comm: the inputs are rank 0's (the other ranks pass n = 0, jk = 0 and NULL
   arrays, and L as rank 0's), the groups' fits are spread over the ranks (group k on rank k mod
   size), each group from fresh solvers (MxG2FitReset), so the bits are the same at any number
   of ranks; the outputs are rank 0's (*K on every rank). */
PetscErrorCode MxG2AgeJackknife(MPI_Comm comm, MxG2Fit fit, const MxG2AgeLayout *L, double n, PetscInt jk, const double *g2sum, const double *jk_g2, const double *bsum, const double *jk_b, const double *jk_n, const double *g2err, double *gam_err, double *gam0_err, double *bfit_err, PetscInt *K, double **gamJ, double **g0J, PetscInt *fallback);

/* Gamma0 per ring by the extrapolation `method` from Gamma per ring and window (gam) with errors
   ge: the alternatives a run reports beside the one it uses. Heating needs L's heating fields;
   a ring without an estimate is NaN. */
PetscErrorCode MxG2AgeExtrapolate(const MxG2AgeLayout *L, MxExtrapolation method, const double *gam, const double *ge, double *gam0, double *g0err);

/* The heating model's factor of each age window, hw[w] = <h_n>_w at the centre jump dT0 (h: scratch
of the model's intervals); nonzero when the model leaves its domain. */
int MxG2AgeHeatingWindows(const MxG2AgeLayout *L, double dT0, double *h, double *hw);

/* The heating model fitted to several sets of the same age windows at once (trains grouped by
   XGM pulse energy: the dose as a second axis): Gamma_s(q, w) = Gamma0(q) <h>_w(dT0 scale_s),
   one dT0 (L->heat_dT0 when fixed) and one Gamma0 per ring for all sets. gam[s], ge[s]:
   nring x nwin. Out: gam0, g0err (NaN where a ring has no estimate), dT0 (NULL, or [2] the dT0
   and its error). */
PetscErrorCode MxG2AgeHeatingFit(const MxG2AgeLayout *L, PetscInt nset, const double *scale, const double *const *gam, const double *const *ge, double *gam0, double *g0err, double *dT0);
