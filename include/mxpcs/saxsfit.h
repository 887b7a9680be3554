/* SAXS model fits (design.md 1.7, seed paper Methods "Modelling of SAXS patterns"): the
   polydisperse sphere form factor, Percus-Yevick hard-sphere S(q) and the paper's colloid + liquid
   sum, fitted to I(q) by weighted least squares with PETSc/TAO; S(q) = I(q)/P(q) from the best fit.
   Kernels follow sasmodels 1.0.6 conventions (include/mxpcs/models.h, physics-reference.md 1-2).
   Units: q in 1/angstrom, radius in angstrom; intensities in the data's units. docs/fit.md. */
#pragma once
#include <petsctao.h>
#include <stddef.h>

/* ---------------------------------------------------------------- kernels (plain C, no MPI) */

typedef enum {
  MX_SAXS_SPHERE,          /* scale P(q) + background                                        */
  MX_SAXS_SPHERE_HS,       /* sasmodels sphere@hardsphere: scale phi P(q) S_PY(q) + background */
  MX_SAXS_COLLOID_LIQUID,  /* seed paper: scale P(q) + scale_liquid P(q) S_PY(q) + background,
                              S_PY with its own diameter 2 R_eff + hs_excess                   */
  MX_SAXS_NMODELS
} MxSaxsModelType;
extern const char *const MxSaxsModelTypes[]; /* "sphere", "sphere@hardsphere", "colloid+liquid" */

/* Parameter slots, the same for every model (a model uses a subset, MxSaxsParamUsed()). */
enum {
  MX_SAXS_RADIUS,       /* angstrom: mean radius of the Gaussian size distribution           */
  MX_SAXS_PD,           /* relative width sigma_r/radius (sasmodels radius_pd)               */
  MX_SAXS_SCALE,        /* I units per sasmodels sphere in 1/cm at sld contrast 1e-6/A^2     */
  MX_SAXS_BACKGROUND,   /* I units                                                           */
  MX_SAXS_PHI,          /* hard-sphere volume fraction of S_PY                               */
  MX_SAXS_SCALE_LIQUID, /* colloid+liquid: amplitude of the structured (liquid) part          */
  MX_SAXS_POROD,        /* I units * angstrom^-4: porod / q^4 low-q term                      */
  MX_SAXS_HS_EXCESS,    /* colloid+liquid, angstrom: hard-sphere diameter of S_PY minus 2 R_eff */
  MX_SAXS_NPAR
};
extern const char *const MxSaxsParamNames[]; /* "radius", "pd", "scale", ... in slot order */

/* The form of the model: type, Porod term on/off, sasmodels' pd grid (npts points over
   +-nsigmas sigma; sasmodels' defaults 35 and 3). */
typedef struct {
  MxSaxsModelType type;
  int             porod;
  int             npts;
  double          nsigmas;
} MxSaxsSpec;

/* 1 if the model of spec has parameter slot k. */
int MxSaxsParamUsed(const MxSaxsSpec *spec, int k);

/* Evaluates the model at nq points with parameters p[MX_SAXS_NPAR] (unused slots ignored).
   Every output may be NULL:
     Iq[nq]    the model intensity I(q)
     J[nq*MX_SAXS_NPAR]  dI/dp, row-major (J[i*MX_SAXS_NPAR + k]); analytic for the form factor
               and the linear parameters, analytic S_PY derivatives (complex steps of its series) in
               (radius_effective, phi); 0 in unused slots
     P[nq]     the form-factor term: scale<F^2>/<V> (sphere), scale phi <F^2>/<V> (hardsphere),
               (scale + scale_liquid)<F^2>/<V> (colloid+liquid): I = P S_fit + porod/q^4 + background
     S[nq]     S_fit: 1, S_PY(q), (scale + scale_liquid S_PY)/(scale + scale_liquid)
     Reff      radius_effective of S_PY: the number-weighted mean radius of the pd grid (sasmodels
               radius_effective_mode 1), plus hs_excess/2 for colloid+liquid (its hard-sphere
               diameter is 2 Reff, bounded below by the form factor's)
   <F^2>/<V> is sasmodels' `sphere` at sld contrast 1 (1e-6/A^2) and scale 1, in 1/cm.
   Valid for 0 <= pd < 1/nsigmas (no grid point below r = 0). Returns 0, or 1 when out of memory
   (outputs then NaN). Not collective. */
int MxSaxsModelEval(const MxSaxsSpec *spec, const double p[], size_t nq, const double *q, double *Iq, double *J, double *P, double *S, double *Reff);

/* ------------------------------------------------------------------------------- data */

typedef struct {
  PetscInt n;
  double  *q, *Iq, *Ierr; /* q in 1/angstrom; I, dI in I_units */
  char     I_units[64]; /* from the file ("" when unknown) */
  char     origin[96];  /* what was read: "mxpcs results /xpcs/saxs", "NXcanSAS <group>", "text" */
} MxSaxsData;

typedef enum { MX_SAXS_Q_AUTO, MX_SAXS_Q_A, MX_SAXS_Q_NM } MxSaxsQUnit;
extern const char *const MxSaxsQUnits[]; /* "auto", "A", "nm" */

/* Reads q, I, dI from path, any of: an `mxpcs analyze` results file (/xpcs/saxs/{q,I,I_err}), an
   NXcanSAS HDF5 file (the first NXdata/SASdata group, signal I, its Q axis and the uncertainty
   named by I@uncertainties or the group's I_uncertainties, Q units from Q@units), or text with
   lines "q I dI" (more columns ignored; '#' comments; blank lines; a first non-numeric line is a
   header). q_unit: auto = from the file (HDF5 units; text: a header or comment mentioning 1/nm,
   nm^-1 or nm-1 means 1/nm), else 1/angstrom; A or nm force the unit of text files. Errors name
   the file and dataset or line. Not collective. */
PetscErrorCode MxSaxsDataRead(const char path[], MxSaxsQUnit q_unit, MxSaxsData *d);
PetscErrorCode MxSaxsDataReadResults(const char path[], MxSaxsData *d);
PetscErrorCode MxSaxsDataReadNXcanSAS(const char path[], MxSaxsData *d);
PetscErrorCode MxSaxsDataReadText(const char path[], MxSaxsQUnit q_unit, MxSaxsData *d);
/* Frees the arrays (NULL-safe) and zeroes d. */
PetscErrorCode MxSaxsDataDestroy(MxSaxsData *d);
/* Sends rank 0's data to every rank of comm (the others' d is overwritten). Collective. */
PetscErrorCode MxSaxsDataBcast(MPI_Comm comm, MxSaxsData *d);
/* What the /entry of a fit output says about its inputs (rank 0 reads paths[0..n-1]; any file):
   ident = their /entry/entry_identifier joined with "," (an input without one: its path), start =
   the earliest /entry/start_time ("" when none has one). Every rank of comm gets the result.
   Collective. */
PetscErrorCode MxFitInputsEntry(MPI_Comm comm, PetscInt n, const char *const paths[], char ident[], size_t ilen, char start[], size_t slen);

/* ------------------------------------------------------------------ the fit object */

typedef struct _p_MxSaxsModel *MxSaxsModel;

typedef struct {
  MxSaxsSpec spec;
  double     p[MX_SAXS_NPAR], err[MX_SAXS_NPAR]; /* best fit; errors (0 for fixed or unused)     */
  double     start[MX_SAXS_NPAR];                /* starting values the fit began from          */
  double     lo[MX_SAXS_NPAR], hi[MX_SAXS_NPAR]; /* bounds                                      */
  int        used[MX_SAXS_NPAR], fixed[MX_SAXS_NPAR], at_bound[MX_SAXS_NPAR];
  int        nfree, free_index[MX_SAXS_NPAR];     /* free slots in fit order                     */
  double     cov[MX_SAXS_NPAR * MX_SAXS_NPAR];    /* nfree x nfree covariance (row-major)        */
  double     corr[MX_SAXS_NPAR * MX_SAXS_NPAR];   /* nfree x nfree correlation (row-major)       */
  double     radius_effective;                    /* angstrom (hardsphere models)                */
  double     chi2, chi2_red;                      /* sum of squared weighted residuals; / (m - nfree) */
  PetscInt   npoints, nskipped;                   /* points fitted; points in range left out      */
  double     q_min, q_max;                        /* fitted range (1/angstrom)                   */
  int        converged, iterations;
  char       reason[64];                          /* TAO's converged reason                       */
} MxSaxsResult;

/* Creates a fitter with defaults (sphere, no Porod term, 35-point +-3 sigma pd grid). comm is
   used for options and View; the fit itself runs on PETSC_COMM_SELF. */
PetscErrorCode MxSaxsModelCreate(MPI_Comm comm, MxSaxsModel *m);
/* Options (prefix -saxs_): -saxs_model sphere|sphere@hardsphere|colloid+liquid, -saxs_porod 0|1,
   -saxs_radius, -saxs_pd, -saxs_phi, -saxs_scale, -saxs_background, -saxs_scale_liquid,
   -saxs_porod_amplitude, -saxs_hs_excess (starting values), -saxs_fix radius,pd,..., -saxs_<parameter>_bounds lo,hi,
   -saxs_q_range a:b (1/angstrom), -saxs_pd_npts, -saxs_pd_nsigmas, -saxs_xtol, -saxs_view, and
   TAO's options with prefix -saxs_ (-saxs_tao_max_it, -saxs_tao_type, ...). Collective on comm. */
PetscErrorCode MxSaxsModelSetFromOptions(MxSaxsModel m);
PetscErrorCode MxSaxsModelSetType(MxSaxsModel m, MxSaxsModelType type, PetscBool porod);
PetscErrorCode MxSaxsModelGetSpec(MxSaxsModel m, MxSaxsSpec *spec);
/* Starting value of slot k (NAN: derived from the data) and whether it is held fixed. */
PetscErrorCode MxSaxsModelSetParameter(MxSaxsModel m, int k, double value, PetscBool fixed);
PetscErrorCode MxSaxsModelSetBounds(MxSaxsModel m, int k, double lo, double hi);
/* Fitted q range in 1/angstrom (q_min <= q <= q_max; 0 and INFINITY for all). */
PetscErrorCode MxSaxsModelSetQRange(MxSaxsModel m, double q_min, double q_max);
/* The data to fit (copied): points with non-finite q, I, dI, q <= 0 or dI <= 0 are left out. */
PetscErrorCode MxSaxsModelSetData(MxSaxsModel m, PetscInt n, const double *q, const double *Iq, const double *Ierr);
/* Starting values (grid search over radius, pd and phi with the linear parameters solved by
   weighted least squares at each node, unless given), then TAO BRGN with bounds, weights 1/dI;
   errors from the Jacobian at the solution scaled by the reduced chi^2 (scipy curve_fit,
   absolute_sigma=False). A fit that does not converge is not an error: converged = 0 and TAO's
   reason in the result; never NaN parameters. Not collective. */
PetscErrorCode MxSaxsModelFit(MxSaxsModel m);
/* The last fit's result (copied). */
PetscErrorCode MxSaxsModelGetResult(MxSaxsModel m, MxSaxsResult *r);
/* The absolute width of the size distribution sigma_r = pd*radius (angstrom) and its error from
   the covariance of radius and pd. Not collective. */
void MxSaxsResultRadiusSigma(const MxSaxsResult *r, double *sigma_r, double *sigma_r_err);
/* colloid+liquid: the hard-sphere diameter of S_PY, 2 radius_effective (= 2 R_eff + hs_excess),
   and its error from the covariance of radius and hs_excess (angstrom). Not collective. */
void MxSaxsResultHsDiameter(const MxSaxsResult *r, double *sigma_hs, double *sigma_hs_err);
/* The data kept by SetData (valid points, in the given order; not owned). */
PetscErrorCode MxSaxsModelGetData(MxSaxsModel m, PetscInt *n, const double **q, const double **Iq, const double **Ierr);
/* On the data's whole q grid (n points, as given to SetData): the model I_fit, the form-factor
   term P, S = (I - background - porod/q^4)/P and its error dI/P, S_fit (see MxSaxsModelEval).
   For colloid+liquid, S_liq = (I - background - porod/q^4 - scale <F^2>/<V>)/(scale_liquid
   <F^2>/<V>) and its error (the liquid's structure factor); NULL otherwise allowed. Arrays of
   length n, any may be NULL. Not collective. */
PetscErrorCode MxSaxsModelGetCurves(MxSaxsModel m, double *I_fit, double *P, double *S, double *S_err, double *S_fit, double *S_liq, double *S_liq_err);
/* Prints the result table (honours -saxs_view when called through MxSaxsModelViewFromOptions). */
PetscErrorCode MxSaxsModelView(MxSaxsModel m, PetscViewer viewer);
PetscErrorCode MxSaxsModelViewFromOptions(MxSaxsModel m);
PetscErrorCode MxSaxsModelDestroy(MxSaxsModel *m);
