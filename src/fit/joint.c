/* MxJoint: one TAO least-squares problem over the SAXS patterns and the age-resolved decay
   rates of several samples. See include/mxpcs/joint.h. */
#include <mxpcs/joint.h>
#include <mxpcs/heating.h>
#include <mxpcs/models.h>
#include <mxpcs/saxsfit.h>
#include <mxpcs/sys.h>
#include <math.h>
#include <string.h>

#define MX_MAXS     16
#define MX_R_GAS    8.314462618
#define MX_UM2_A2   1e8 /* um^2 -> angstrom^2 */
#define MX_NPARMAX  (3 + 8 * MX_MAXS)
#define MX_HD_CACHE 4 /* H_d values kept per sample (HdCached) */

static PetscLogEvent MX_JOINT_SOLVE;

typedef struct {
  char     name[128], path[PETSC_MAX_PATH_LEN];
  int      dense;
  double   D0_fixed; /* um^2/s; 0 = free */
  double   hs_fixed; /* dense: hard-sphere diameter (angstrom); 0 = free, at least 2R */
  int      colloid;  /* dense: a colloid part c1 P beside the liquid's c2 P S_liquid */
  /* SAXS */
  PetscInt ns, nfit;     /* points, those inside the q range and with I_err > 0 */
  double  *qs, *Iq, *dI;
  /* Gamma(q, age) */
  PetscInt nq, nage;
  double  *q, *age, *gam, *gerr; /* nq x nage */
  double  *Lw;                   /* nq x nage x nage: per ring, the Cholesky factor of the correlation of its
                                    valid age windows (from analyze's jackknife samples), NULL: independent */
  /* parameter indices (-1: not a parameter); dense: iscale the colloid part c1, iliq the liquid's c2,
     ihs the hard-sphere diameter's excess over 2R (angstrom) */
  int      iscale, iliq, ihs, ibkg, iporod, iphi, iD0, iDs;
  /* H_d cache: the last MX_HD_CACHE (sigma_HS, phi) met, so that a finite-difference Jacobian's
     steps in sigma_HS and phi do not push out the base point; hd points at the current one */
  double   hd_key[MX_HD_CACHE][2], *hd_val[MX_HD_CACHE], *hd;
  long     hd_used[MX_HD_CACHE], hd_clock;
  /* results */
  double   chi2_saxs, chi2_gam;
  PetscInt n_saxs, n_gam;
  double  *P, *S, *Ifit, *Smeas, *Smeas_err, *Sq, *Hdata, *Herr, *Hmodel, *Hdq, *g0, *g0err;
  double  *Pterm, *Sfit, *Sliq, *Sliq_err; /* (c1 + c2) P, S_fit, measured S_liquid and its error */
  double   Ds_data, Ds_data_err;
  /* heating: the windows (pulse spacing dt, win_len frames from win_start), the zero-dose ages,
     and for the dose law the sample's composition, model and window factors */
  double       dt, *age0, *h;
  PetscInt     wlen, *wstart;
  double      *pulse_rel; /* nint relative XGM pulse energies, or NULL */
  MxHeatSample hs;
  double       tauI, per_fluence, dT0;
  MxHeatModel  hm;
  double      *hn; /* the model's factor of each interval */
  PetscInt     nset, *aset;  /* dose groups (analyze -g2_dose_bins): the windows of every group, each entry's group */
  double      *scale;        /* nset: the group's mean pulse energy over the run's */
  double   mq[64], mH[64], mS[64]; /* the model's H(q) and S(q) on a fine grid over the SAXS q range */
} Sample;

struct _p_MxJoint {
  MPI_Comm     comm;
  PetscInt     ns;
  Sample       s[MX_MAXS];
  MxHeatingLaw heat;
  PetscReal    T0, Ea, xtol;
  double       qa[MX_MAXS], qb[MX_MAXS]; /* SAXS q range of each sample */
  PetscBool    porod, hd_full, gcorr;
  PetscReal    D0opt[MX_MAXS], hsopt[MX_MAXS];
  PetscBool    colloidopt[MX_MAXS];
  PetscReal    hphi[MX_MAXS], hpath[MX_MAXS], htau_us; /* -NAME_heating_phi/_path_mm (< 0: the file's), -joint_heating_tau_us */
  PetscBool    harr;
  PetscInt     nD0, ndense, dense[MX_MAXS];
  char         sname[MX_MAXS][128]; /* MxJointSetSampleNames: the option prefix of each sample */
  PetscInt     nsname;
  /* problem */
  PetscInt     np, nr, iR, ipd, iheat;
  char         pname[MX_NPARMAX][64];
  MxLsqProblem lsq;
  PetscBool    solved;
  char        *opts; /* the options database as SetFromOptions saw it (provenance) */
};

const char *const MxHeatingLawNames[] = {"none", "linear", "stokes", "dose"};

double MxHeatingFactor(MxHeatingLaw law, double k, double T0_K, double Ea_kJ_mol, double age_s)
{
  double t_us = age_s * 1e6;
  if (law == MX_HEAT_LINEAR) return 1 + k * t_us;
  if (law == MX_HEAT_STOKES) {
    double T = T0_K + k * t_us;
    if (!(T > 0)) return NAN;
    return (T / T0_K) * exp(-Ea_kJ_mol * 1e3 / MX_R_GAS * (1 / T - 1 / T0_K));
  }
  return 1;
}

PetscErrorCode MxJointCreate(MPI_Comm comm, MxJoint *out)
{
  MxJoint j;

  PetscFunctionBeginUser;
  PetscCall(MxLogEventRegisterOnce("MxJoint", "MxJointSolve", &MX_JOINT_SOLVE));
  PetscCall(PetscNew(&j));
  j->comm = comm;
  j->heat = MX_HEAT_DOSE;
  j->T0   = 298.15;
  j->Ea   = 12;
  j->xtol = 1e-8;
  j->gcorr = PETSC_TRUE;
  *out    = j;
  PetscFunctionReturn(0);
}

/* A q range a:b (1/angstrom) of option opt. */
static PetscErrorCode ParseQRange(MPI_Comm comm, const char opt[], const char *tok, double *a, double *b)
{
  PetscFunctionBeginUser;
  PetscCheck(sscanf(tok, "%lf:%lf", a, b) == 2 && *b > *a && *a >= 0, comm, PETSC_ERR_ARG_WRONG, "option %s: '%s' is not a:b with 0 <= a < b (1/angstrom)", opt, tok);
  PetscFunctionReturn(0);
}

PetscErrorCode MxJointSetSampleNames(MxJoint j, PetscInt n, const char *const names[])
{
  PetscFunctionBeginUser;
  PetscCheck(n <= MX_MAXS, j->comm, PETSC_ERR_ARG_OUTOFRANGE, "mxpcs fit: at most %d samples", MX_MAXS);
  for (PetscInt i = 0; i < n; i++) {
    PetscCheck(MxOptionsPrefixValid(names[i]), j->comm, PETSC_ERR_ARG_WRONG, "joint fit: sample name '%s' is not a valid options prefix (a letter, then letters, digits or '_')", names[i]);
    snprintf(j->sname[i], sizeof j->sname[i], "%s", names[i]);
  }
  j->nsname = n;
  PetscFunctionReturn(0);
}

/* -NAME_hydro_D0, -NAME_joint_dense, -NAME_joint_q_range of sample i (prefix "NAME_"). */
static PetscErrorCode SampleOptions(MxJoint j, PetscInt i, const char prefix[])
{
  char      title[256], range[64] = "", opt[160];
  PetscBool dense = j->dense[i] ? PETSC_TRUE : PETSC_FALSE, set;

  PetscFunctionBeginUser;
  snprintf(title, sizeof title, "Joint fit: sample %.*s (its options -%s...)", (int)strlen(prefix) - 1, prefix, prefix);
  PetscOptionsBegin(j->comm, prefix, title, "MxJoint");
  PetscCall(PetscOptionsReal("-hydro_D0", "D0 of this sample (um^2/s, e.g. from DLS); 0: a free parameter (a dilute sample measures it)", "", j->D0opt[i], &j->D0opt[i], NULL));
  PetscCall(PetscOptionsBool("-joint_dense", "1: dense (Percus-Yevick S(q), delta-gamma H(q), phi and Ds/D0 fitted); 0: dilute (S = H = 1)", "", dense, &dense, NULL));
  PetscCall(PetscOptionsString("-joint_q_range", "SAXS q range a:b of this sample's fit (1/angstrom; default: -joint_q_range)", "", range, range, sizeof range, &set));
  PetscCall(PetscOptionsReal("-heating_phi", "-joint_heating dose: PbS volume fraction along the beam (default: the one its analyze used)", "", j->hphi[i], &j->hphi[i], NULL));
  PetscCall(PetscOptionsReal("-heating_path_mm", "-joint_heating dose: sample thickness (mm; default: the one its analyze used)", "", j->hpath[i], &j->hpath[i], NULL));
  PetscCall(PetscOptionsReal("-joint_hs_diameter_A", "dense: hard-sphere diameter sigma_HS of S_PY(q) and H_d(q sigma_HS) (angstrom); 0: free, bounded below by the form factor's 2R", "", j->hsopt[i], &j->hsopt[i], NULL));
  PetscCall(PetscOptionsBool("-joint_colloid", "dense: I = c1 P + c2 P (S_PY + porod q^-4) (the seed paper's I_colloid + I_liquid); 0: c1 = 0", "", j->colloidopt[i], &j->colloidopt[i], NULL));
  PetscOptionsEnd();
  j->dense[i] = dense;
  snprintf(opt, sizeof opt, "-%sjoint_q_range", prefix);
  if (set && range[0]) PetscCall(ParseQRange(j->comm, opt, range, &j->qa[i], &j->qb[i]));
  snprintf(opt, sizeof opt, "-%shydro_D0", prefix);
  PetscCheck(j->D0opt[i] >= 0, j->comm, PETSC_ERR_ARG_OUTOFRANGE, "option %s: %g; D0 must be > 0 (or 0 for a free D0)", opt, (double)j->D0opt[i]);
  snprintf(opt, sizeof opt, "-%sjoint_hs_diameter_A", prefix);
  PetscCheck(j->hsopt[i] >= 0, j->comm, PETSC_ERR_ARG_OUTOFRANGE, "option %s: %g; the hard-sphere diameter must be > 0 (or 0 for a free diameter)", opt, (double)j->hsopt[i]);
  PetscFunctionReturn(0);
}

PetscErrorCode MxJointSetFromOptions(MxJoint j)
{
  const char *hds[] = {"sg0", "full"};
  PetscInt    law = j->heat, hd = j->hd_full, nD0 = MX_MAXS, ndense = MX_MAXS, n;
  char        range[1024] = "";
  PetscBool   set, help;
  PetscReal   D0[MX_MAXS]    = {0};
  PetscInt    dense[MX_MAXS] = {0};

  PetscFunctionBeginUser;
  PetscOptionsBegin(j->comm, NULL, "Joint fit across samples (mxpcs fit)", "MxJoint");
  PetscCall(PetscOptionsEList("-joint_heating", "Heating shared by all samples: Gamma(q, age) = Gamma0(q) h(age); dose: one effective fluence (a property of the beam), each sample's jump per pulse from its composition, heat diffusing out of the beam (docs/physics.md); adiabatic, age from zero dose: linear h = 1 + k age; stokes: Stokes-Einstein with an Arrhenius viscosity at T = T0 + k age", "", MxHeatingLawNames, 4, MxHeatingLawNames[law], &law, NULL));
  PetscCall(PetscOptionsReal("-joint_T0_K", "stokes, dose: temperature before the first pulse (K)", "", j->T0, &j->T0, NULL));
  PetscCall(PetscOptionsReal("-joint_Ea_kJ_mol", "stokes (and dose with -joint_arrhenius or NMF): activation energy of the solvent viscosity (kJ/mol)", "", j->Ea, &j->Ea, NULL));
  PetscCall(PetscOptionsBool("-joint_arrhenius", "dose: an Arrhenius viscosity with -joint_Ea_kJ_mol instead of each solvent's own law", "", j->harr, &j->harr, NULL));
  PetscCall(PetscOptionsReal("-joint_heating_tau_us", "dose: intensity-weighted decay time of the heat (us; 0: each sample's from its analyze, /xpcs/fit/heating_tau_I_s)", "", j->htau_us, &j->htau_us, NULL));
  PetscCall(PetscOptionsBool("-joint_gamma_corr", "Weight Gamma(q, age) with the correlation of the age windows (analyze's /xpcs/fit/gamma_jackknife, shrunk 10 % toward independence); 0: windows taken as independent", "", j->gcorr, &j->gcorr, NULL));
  PetscCall(PetscOptionsBool("-joint_porod", "A q^-4 term in every sample's SAXS model", "", j->porod, &j->porod, NULL));
  PetscCall(PetscOptionsString("-joint_q_range", "SAXS q range a:b of the fit for every sample (1/angstrom; default: all); per sample: -<sample>_joint_q_range", "", range, range, sizeof range, &set));
  PetscCall(PetscOptionsEList("-joint_hd", "Distinct part of the delta-gamma H(q): sg0 (S_gamma0) or full (BM gamma0 multipoles)", "", hds, 2, hds[hd], &hd, NULL));
  PetscCall(PetscOptionsReal("-joint_xtol", "Converged when the Gauss-Newton step is below this, relative", "", j->xtol, &j->xtol, NULL));
  /* deprecated: positional per-sample arrays (one release more); -<sample>_hydro_D0 and -<sample>_joint_dense replace them */
  PetscCall(PetscOptionsRealArray("-hydro_D0", "Deprecated: D0 of each sample in input order; use -<sample>_hydro_D0", "", D0, &nD0, &set));
  if (!set) nD0 = 0;
  PetscCall(PetscOptionsIntArray("-joint_dense", "Deprecated: 0/1 per sample in input order; use -<sample>_joint_dense", "", dense, &ndense, &set));
  if (!set) ndense = 0;
  PetscOptionsEnd();
  PetscCall(PetscFree(j->opts));
  PetscCall(PetscOptionsGetAll(NULL, &j->opts));
  { /* the fit's TAO options (-joint_tao_...) are read when it runs: register them now */
    Tao t;
    PetscCall(TaoCreate(PETSC_COMM_SELF, &t));
    PetscCall(TaoSetType(t, TAOBRGN));
    PetscCall(TaoSetOptionsPrefix(t, "joint_"));
    PetscCall(TaoSetFromOptions(t));
    PetscCall(TaoDestroy(&t));
  }
  j->heat    = (MxHeatingLaw)law;
  j->hd_full = hd == 1;
  PetscCheck(j->T0 > 0, j->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -joint_T0_K: must be > 0");
  PetscCheck(j->Ea >= 0, j->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -joint_Ea_kJ_mol: must be >= 0");
  PetscCheck(j->xtol > 0, j->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -joint_xtol: must be > 0");
  PetscCheck(j->htau_us >= 0, j->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -joint_heating_tau_us: must be >= 0");

  /* per sample: the deprecated lists first, then each sample's own options */
  for (int i = 0; i < MX_MAXS; i++) {
    j->qa[i]    = 0;
    j->qb[i]    = INFINITY;
    j->D0opt[i] = i < nD0 ? D0[i] : 0;
    j->hphi[i] = j->hpath[i] = -1;
    j->dense[i] = i < ndense ? dense[i] : 0;
    j->hsopt[i] = 0;
    j->colloidopt[i] = PETSC_TRUE;
  }
  for (PetscInt i = 0; i < nD0; i++) PetscCheck(D0[i] >= 0, j->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -hydro_D0: value %" PetscInt_FMT " is %g; D0 must be > 0 (or 0 for a free D0)", i + 1, (double)D0[i]);
  for (PetscInt i = 0; i < ndense; i++) PetscCheck(dense[i] == 0 || dense[i] == 1, j->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -joint_dense: value %" PetscInt_FMT " must be 0 or 1", i + 1);
  n = 0;
  if (range[0]) {
    char *save = NULL, *tok = strtok_r(range, ",", &save);
    for (; tok && n < MX_MAXS; tok = strtok_r(NULL, ",", &save), n++) PetscCall(ParseQRange(j->comm, "-joint_q_range", tok, &j->qa[n], &j->qb[n]));
    for (int i = n; n == 1 && i < MX_MAXS; i++) {
      j->qa[i] = j->qa[0];
      j->qb[i] = j->qb[0];
    }
  }
  if (nD0 || ndense || n > 1) {
    char list[128] = "";
    snprintf(list, sizeof list, "%s%s%s", nD0 ? ", -hydro_D0" : "", ndense ? ", -joint_dense" : "", n > 1 ? ", -joint_q_range a:b,c:d" : "");
    PetscCall(PetscFPrintf(j->comm, PETSC_STDERR, "mxpcs fit: warning: per-sample lists in input order (%s) are deprecated and go in the next release: give each sample its own options, e.g. -colloid_hydro_D0 0 -liquid_joint_dense 1 -liquid_joint_q_range 0.085:0.13 (the sample names: -fit_samples, default the file names)\n", list + 2));
  }
  for (PetscInt i = 0; i < j->nsname; i++) {
    char prefix[132];
    snprintf(prefix, sizeof prefix, "%s_", j->sname[i]);
    PetscCall(SampleOptions(j, i, prefix));
  }
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help && !j->nsname) PetscCall(SampleOptions(j, 0, "<sample>_")); /* -help without -i: the per-sample options by their pattern */
  j->nD0 = j->ndense = PetscMax(j->nsname, PetscMax(nD0, ndense));
  PetscFunctionReturn(0);
}

/* A double dataset of the expected rank; dims returned. */
static PetscErrorCode ReadD(hid_t f, const char file[], const char path[], int rank, hsize_t dims[], double **out)
{
  hid_t   d, sp;
  hsize_t n = 1;

  PetscFunctionBeginUser;
  PetscCheck(MxH5Exists(f, path), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is missing (not an `mxpcs analyze` results file, or an older layout?)", file, path);
  d = H5Dopen2(f, path, H5P_DEFAULT);
  MxH5Call(d, PETSC_COMM_SELF, "%s: cannot open %s", file, path);
  sp = H5Dget_space(d);
  int r = H5Sget_simple_extent_ndims(sp);
  if (r != rank) {
    H5Sclose(sp);
    H5Dclose(d);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has %d dimensions, expected %d", file, path, r, rank);
  }
  H5Sget_simple_extent_dims(sp, dims, NULL);
  H5Sclose(sp);
  for (int i = 0; i < rank; i++) n *= dims[i];
  PetscCall(PetscMalloc1(n + 1, out));
  herr_t e = H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out);
  H5Dclose(d);
  MxH5Call(e, PETSC_COMM_SELF, "%s: reading %s failed", file, path);
  PetscFunctionReturn(0);
}

static int GamValid(const Sample *s, PetscInt k, PetscInt a);

/* Per ring: the correlation R of Gamma between its valid age windows from the K group-deleted
   jackknife samples (overlapping windows share pulses, and all share trains), shrunk 10 % toward
   the identity (K is small), and its Cholesky factor L (R = L L^T): the residuals of a ring are
   whitened by L^-1, so chi^2 = z^T R^-1 z with z = (model - Gamma)/Gamma_err. A ring whose samples
   are not all finite, or whose R is not positive definite, keeps independent windows. */
static PetscErrorCode WindowCorrelation(Sample *s, PetscInt K, const double *gJ)
{
  const double lambda = 0.1;
  PetscInt     na = s->nage;

  PetscFunctionBeginUser;
  if (K < 2) PetscFunctionReturn(0);
  PetscCall(PetscCalloc1((size_t)s->nq * na * na, &s->Lw));
  for (PetscInt q = 0; q < s->nq; q++) {
    double  *L = s->Lw + (size_t)q * na * na, m[64], c[64 * 64];
    PetscInt v[64], nv = 0, ok = na <= 64;
    for (PetscInt a = 0; a < na && ok; a++)
      if (GamValid(s, q, a)) v[nv++] = a;
    for (PetscInt i = 0; i < nv && ok; i++) {
      m[i] = 0;
      for (PetscInt k = 0; k < K; k++) {
        double x = gJ[((size_t)k * s->nq + q) * na + v[i]];
        ok &= isfinite(x);
        m[i] += x / K;
      }
    }
    for (PetscInt i = 0; i < nv && ok; i++)
      for (PetscInt l = 0; l <= i; l++) {
        double cc = 0;
        for (PetscInt k = 0; k < K; k++) cc += (gJ[((size_t)k * s->nq + q) * na + v[i]] - m[i]) * (gJ[((size_t)k * s->nq + q) * na + v[l]] - m[l]);
        c[i * 64 + l] = cc;
      }
    for (PetscInt i = 0; i < nv && ok; i++) ok &= c[i * 64 + i] > 0;
    /* Cholesky of (1 - lambda) R + lambda I (LAPACK), into L (indices of the valid windows) */
    if (ok) {
      double R[64 * 64]; /* packed nv x nv */
      for (PetscInt i = 0; i < nv && ok; i++)
        for (PetscInt l = 0; l <= i; l++) R[i * nv + l] = R[l * nv + i] = (1 - lambda) * c[i * 64 + l] / sqrt(c[i * 64 + i] * c[l * 64 + l]) + (i == l ? lambda : 0);
      ok = !MxCholesky((int)nv, R);
      for (PetscInt i = 0; i < nv && ok; i++)
        for (PetscInt l = 0; l <= i; l++) L[i * na + l] = R[i * nv + l];
    }
    if (!ok) { /* independent windows: L = I */
      for (PetscInt i = 0; i < na * na; i++) L[i] = 0;
      for (PetscInt i = 0; i < na; i++) L[i * na + i] = 1;
    }
  }
  PetscFunctionReturn(0);
}

/* The path of a results item (include/mxpcs/schema.def). */
static const char *Path(MxSchemaId id)
{
  return MxSchemaGet(id)->path;
}

/* analyze -g2_dose_bins: Gamma(q, age) of each group of trains replaces the run's, as nset x nage
   windows (ring-major), each group with its relative pulse energy; the windows' jackknife
   correlation is the run's, so it is not used. */
static PetscErrorCode LoadDoseGroups(hid_t f, const char path[], Sample *s)
{
  hsize_t  d3[3], e3[3], d1[1];
  double  *g, *ge, *rel, *gam, *gerr, *age, *age0, *h;
  PetscInt nd, na = s->nage, *ws, *aset;

  PetscFunctionBeginUser;
  PetscCall(ReadD(f, path, Path(MX_FIT_DOSE_GAMMA), 3, d3, &g));
  PetscCall(ReadD(f, path, Path(MX_FIT_DOSE_GAMMA_ERR), 3, e3, &ge));
  PetscCall(ReadD(f, path, Path(MX_FIT_DOSE_PULSE_ENERGY_REL), 1, d1, &rel));
  nd = (PetscInt)d3[0];
  PetscCheck(d3[1] == (hsize_t)s->nq && d3[2] == (hsize_t)na && e3[0] == d3[0] && e3[1] == d3[1] && e3[2] == d3[2] && d1[0] == d3[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is %llu x %llu x %llu, expected groups x rings x ages with %" PetscInt_FMT " x %" PetscInt_FMT ", and its errors and %s alike", path, Path(MX_FIT_DOSE_GAMMA), (unsigned long long)d3[0], (unsigned long long)d3[1], (unsigned long long)d3[2], s->nq, na, Path(MX_FIT_DOSE_PULSE_ENERGY_REL));
  PetscCall(PetscMalloc1((size_t)s->nq * nd * na, &gam)); /* freed one by one, as ReadD's */
  PetscCall(PetscMalloc1((size_t)s->nq * nd * na, &gerr));
  PetscCall(PetscMalloc1(nd * na, &age));
  PetscCall(PetscMalloc3(nd * na, &ws, nd * na, &age0, nd * na, &h));
  PetscCall(PetscMalloc2(nd, &s->scale, nd * na, &aset));
  for (PetscInt b = 0; b < nd; b++) {
    s->scale[b] = rel[b];
    for (PetscInt a = 0; a < na; a++) {
      age[b * na + a]  = s->age[a];
      age0[b * na + a] = s->age0[a];
      ws[b * na + a]   = s->wstart[a];
      aset[b * na + a] = b;
      for (PetscInt q = 0; q < s->nq; q++) {
        gam[(size_t)q * nd * na + b * na + a]  = g[((size_t)b * s->nq + q) * na + a];
        gerr[(size_t)q * nd * na + b * na + a] = ge[((size_t)b * s->nq + q) * na + a];
      }
    }
  }
  PetscCall(PetscFree(g));
  PetscCall(PetscFree(ge));
  PetscCall(PetscFree(rel));
  PetscCall(PetscFree(s->gam));
  PetscCall(PetscFree(s->gerr));
  PetscCall(PetscFree(s->age));
  PetscCall(PetscFree3(s->wstart, s->age0, s->h));
  PetscCall(PetscFree(s->Lw));
  s->gam    = gam;
  s->gerr   = gerr;
  s->age    = age;
  s->wstart = ws;
  s->age0   = age0;
  s->h      = h;
  s->aset   = aset;
  s->nset   = nd;
  s->nage   = nd * na;
  PetscFunctionReturn(0);
}

static PetscErrorCode LoadSample(Sample *s, const char path[])
{
  hid_t       f;
  hsize_t     d1[1], d2[2], e1[1];
  const char *sq = Path(MX_SAXS_Q), *gam = Path(MX_FIT_GAMMA), *gjk = Path(MX_FIT_GAMMA_JACKKNIFE);

  PetscFunctionBeginUser;
  f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  MxH5Call(f, PETSC_COMM_SELF, "%s: cannot open as HDF5 (missing, truncated or not HDF5)", path);
  PetscCall(ReadD(f, path, sq, 1, d1, &s->qs));
  s->ns = (PetscInt)d1[0];
  PetscCall(ReadD(f, path, Path(MX_SAXS_I), 1, e1, &s->Iq));
  PetscCheck(e1[0] == d1[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has %llu points, %s %llu", path, Path(MX_SAXS_I), (unsigned long long)e1[0], sq, (unsigned long long)d1[0]);
  PetscCall(ReadD(f, path, Path(MX_SAXS_I_ERR), 1, e1, &s->dI));
  PetscCheck(e1[0] == d1[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has %llu points, %s %llu", path, Path(MX_SAXS_I_ERR), (unsigned long long)e1[0], sq, (unsigned long long)d1[0]);
  PetscCall(ReadD(f, path, Path(MX_QMAP_Q), 1, d1, &s->q));
  s->nq = (PetscInt)d1[0];
  if (MxH5Exists(f, Path(MX_FIT_Q_EFF))) { /* the q of analyze's D_eff (its C's weights), where it wrote one */
    double *qe;
    PetscCall(ReadD(f, path, Path(MX_FIT_Q_EFF), 1, e1, &qe));
    PetscCheck(e1[0] == d1[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has %llu rings, %s %llu", path, Path(MX_FIT_Q_EFF), (unsigned long long)e1[0], Path(MX_QMAP_Q), (unsigned long long)d1[0]);
    PetscCall(PetscFree(s->q));
    s->q = qe;
  }
  PetscCall(ReadD(f, path, Path(MX_G2_AGE), 1, e1, &s->age));
  s->nage = (PetscInt)e1[0];
  { /* the windows: win_len = lags + 1 frames, starting at age/dt - (win_len - 1)/2 */
    double *tau;
    PetscCall(ReadD(f, path, Path(MX_G2_TAU), 1, d1, &tau));
    s->dt   = tau[0];
    s->wlen = (PetscInt)d1[0] + 1;
    PetscCall(PetscFree(tau));
    PetscCheck(s->dt > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s starts at %g s, not at the pulse spacing", path, Path(MX_G2_TAU), s->dt);
    PetscCall(PetscMalloc3(s->nage, &s->wstart, s->nage, &s->age0, s->nage, &s->h));
    for (PetscInt a = 0; a < s->nage; a++) {
      s->wstart[a] = (PetscInt)lround(s->age[a] / s->dt - 0.5 * (s->wlen - 1));
      s->age0[a]   = s->age[a] + 0.5 * s->dt; /* from zero dose */
      PetscCheck(s->wstart[a] >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: age window %" PetscInt_FMT " (%g s) starts before the first frame", path, a, s->age[a]);
    }
  }
  s->hs = (MxHeatSample){MX_SOLVENT_DMF, -1, -1, 298.15, 0, 0};
  s->tauI = 0;
  if (MxH5Exists(f, Path(MX_FIT_HEATING_PHI))) { /* the composition analyze's heating model used */
    double *v;
    char    sv[32];
    hid_t   dh;
    PetscCall(ReadD(f, path, Path(MX_FIT_HEATING_PHI), 0, e1, &v));
    s->hs.phi = v[0];
    PetscCall(PetscFree(v));
    PetscCall(ReadD(f, path, Path(MX_FIT_HEATING_PATH_MM), 0, e1, &v));
    s->hs.path_mm = v[0];
    PetscCall(PetscFree(v));
    PetscCall(ReadD(f, path, Path(MX_FIT_HEATING_TAU_I), 0, e1, &v));
    s->tauI = v[0];
    PetscCall(PetscFree(v));
    dh = H5Dopen2(f, Path(MX_FIT_HEATING_PHI), H5P_DEFAULT);
    if (dh >= 0 && MxH5ReadAttrString(dh, "solvent", sv, sizeof sv))
      for (int k = 0; k <= MX_SOLVENT_WATER; k++)
        if (!strcmp(sv, MxSolventNames[k])) s->hs.solvent = (MxSolvent)k;
    if (dh >= 0) H5Dclose(dh);
    if (MxH5Exists(f, Path(MX_BEAM_ENERGY))) { /* the photon energy of the absorption */
      PetscCall(ReadD(f, path, Path(MX_BEAM_ENERGY), 0, e1, &v));
      s->hs.energy_keV = v[0];
      PetscCall(PetscFree(v));
    }
  }
  s->pulse_rel = NULL;
  if (MxH5Exists(f, Path(MX_META_PULSE_ENERGY))) { /* relative pulse energies of the frames */
    double  m = 0;
    PetscInt ok = 1;
    PetscCall(ReadD(f, path, Path(MX_META_PULSE_ENERGY), 1, e1, &s->pulse_rel));
    for (hsize_t k = 0; k < e1[0]; k++) m += s->pulse_rel[k] / (double)e1[0];
    for (hsize_t k = 0; k < e1[0]; k++) {
      s->pulse_rel[k] /= m;
      ok &= s->pulse_rel[k] >= 0 && isfinite(s->pulse_rel[k]);
    }
    if (!ok || e1[0] < (hsize_t)(s->wstart[s->nage - 1] + s->wlen - 1)) PetscCall(PetscFree(s->pulse_rel));
  }
  PetscCall(ReadD(f, path, gam, 2, d2, &s->gam));
  PetscCheck(d2[0] == (hsize_t)s->nq && d2[1] == (hsize_t)s->nage, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is %llu x %llu, expected rings x ages = %" PetscInt_FMT " x %" PetscInt_FMT, path, gam, (unsigned long long)d2[0], (unsigned long long)d2[1], s->nq, s->nage);
  PetscCall(ReadD(f, path, Path(MX_FIT_GAMMA_ERR), 2, d2, &s->gerr));
  PetscCheck(d2[0] == (hsize_t)s->nq && d2[1] == (hsize_t)s->nage, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s does not match %s", path, Path(MX_FIT_GAMMA_ERR), gam);
  if (MxH5Exists(f, gjk)) {
    hsize_t d3[3];
    double *gJ;
    PetscCall(ReadD(f, path, gjk, 3, d3, &gJ));
    PetscCheck(d3[1] == (hsize_t)s->nq && d3[2] == (hsize_t)s->nage, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is %llu x %llu x %llu, expected groups x rings x ages with %" PetscInt_FMT " x %" PetscInt_FMT, path, gjk, (unsigned long long)d3[0], (unsigned long long)d3[1], (unsigned long long)d3[2], s->nq, s->nage);
    PetscCall(WindowCorrelation(s, (PetscInt)d3[0], gJ));
    PetscCall(PetscFree(gJ));
  }
  s->nset = 1;
  if (MxH5Exists(f, Path(MX_FIT_DOSE_GAMMA))) PetscCall(LoadDoseGroups(f, path, s));
  else {
    PetscCall(PetscMalloc2(1, &s->scale, s->nage, &s->aset));
    s->scale[0] = 1;
    for (PetscInt a = 0; a < s->nage; a++) s->aset[a] = 0;
  }
  H5Fclose(f);
  {
    const char *b = strrchr(path, '/');
    b             = b ? b + 1 : path;
    snprintf(s->name, sizeof s->name, "%s", b);
    char *dot = strrchr(s->name, '.');
    if (dot && dot != s->name) *dot = 0;
  }
  snprintf(s->path, sizeof s->path, "%s", path);
  PetscFunctionReturn(0);
}

PetscErrorCode MxJointAddResults(MxJoint j, const char path[])
{
  PetscMPIInt    rank;
  PetscErrorCode ierr = 0;

  PetscFunctionBeginUser;
  PetscCheck(j->ns < MX_MAXS, j->comm, PETSC_ERR_ARG_OUTOFRANGE, "mxpcs fit: at most %d samples", MX_MAXS);
  MPI_Comm_rank(j->comm, &rank);
  if (!rank) ierr = LoadSample(&j->s[j->ns], path);
  PetscCall(MxErrorSync(j->comm, ierr));
  if (j->ns < j->nsname) PetscCall(PetscStrncpy(j->s[j->ns].name, j->sname[j->ns], sizeof j->s[j->ns].name)); /* the name its options had */
  j->ns++;
  PetscFunctionReturn(0);
}

/* ---- the model ---- */

typedef struct {
  MxJoint j;
  double *P, *S, *qsig, *Sr; /* work: ns-long and nq-long */
} ResCtx;

static double SqPY(double qsigma, void *ctx) { return MxSqPercusYevick(qsigma, ctx); }

/* H_d of sample s at its ring q's for (sigma_HS, phi): the last MX_HD_CACHE pairs are kept, the
   least recently used one gives way. Nonzero when out of memory. */
static int HdCached(MxJoint j, Sample *s, double sig, double phi, double *qsig)
{
  int e = 0; /* the entry to use: the one of (sig, phi), else an empty one, else the least recently used */
  for (int c = 0; c < MX_HD_CACHE; c++) {
    if (s->hd_val[c] && s->hd_key[c][0] == sig && s->hd_key[c][1] == phi) {
      s->hd_used[c] = ++s->hd_clock;
      s->hd         = s->hd_val[c];
      return 0;
    }
    if (!s->hd_val[e]) continue;
    if (!s->hd_val[c] || s->hd_used[c] < s->hd_used[e]) e = c;
  }
  if (!s->hd_val[e] && !(s->hd_val[e] = malloc(sizeof(double) * (size_t)(s->nq + 1)))) return 1;
  for (PetscInt k = 0; k < s->nq; k++) qsig[k] = s->q[k] * sig;
  if (j->hd_full) MxDeltaGammaHdFull((size_t)s->nq, qsig, phi, SqPY, &phi, s->hd_val[e]);
  else MxDeltaGammaHd((size_t)s->nq, qsig, phi, SqPY, &phi, s->hd_val[e]);
  s->hd_key[e][0] = sig;
  s->hd_key[e][1] = phi;
  s->hd_used[e]   = ++s->hd_clock;
  s->hd           = s->hd_val[e];
  return 0;
}

static double Par(const double *p, int i, double dflt) { return i >= 0 ? p[i] : dflt; }

/* The hard-sphere diameter sigma_HS of a dense sample (angstrom): 2R + the fitted excess, or given. */
static double HsDiameter(MxJoint j, const Sample *s, const double *p)
{
  return s->ihs >= 0 ? 2 * p[j->iR] + p[s->ihs] : s->hs_fixed;
}

/* (q0/q)^4 of the Porod term, q0 the first SAXS q: its amplitude is the term at q0. */
static double PorodX4(const Sample *s, PetscInt i)
{
  double q0 = s->qs[0] > 0 ? s->qs[0] : 1e-3;
  return pow(q0 / s->qs[i], 4);
}

/* Model of sample s at parameters p: SAXS (P, S, I on the SAXS q's) and S, H at the rings.
   P is the form factor at scale 1, S the structure factor of the dynamics (1, or S_PY at
   sigma_HS); dilute I = c P + background + porod (q0/q)^4, dense (seed paper, Methods)
   I = c1 P + c2 P (S_PY + porod (q0/q)^4) + background. */
static int SampleModel(MxJoint j, Sample *s, const double *p, double *P, double *S, double *Ir, double *Sr, double *Hr, double *qsig)
{
  double R = p[j->iR], pd = p[j->ipd], phi = Par(p, s->iphi, 0), porod = Par(p, s->iporod, 0);
  if (!(R > 0) || !(pd >= 0)) return 1;
  MxSphereIq((size_t)s->ns, s->qs, R, pd, 35, 3.0, 1.0, 1.0, 0.0, P);
  if (s->dense) {
    double sig = HsDiameter(j, s, p), c1 = Par(p, s->iscale, 0), c2 = p[s->iliq];
    if (!(sig > 0)) return 1;
    MxHardSphereSq((size_t)s->ns, s->qs, 0.5 * sig, phi, S);
    if (Sr) MxHardSphereSq((size_t)s->nq, s->q, 0.5 * sig, phi, Sr);
    if (Hr) {
      if (HdCached(j, s, sig, phi, qsig)) return 1;
      for (PetscInt k = 0; k < s->nq; k++) Hr[k] = p[s->iDs] + s->hd[k];
    }
    for (PetscInt i = 0; i < s->ns; i++) Ir[i] = c1 * P[i] + c2 * P[i] * (S[i] + porod * PorodX4(s, i)) + p[s->ibkg];
  } else {
    for (PetscInt i = 0; i < s->ns; i++) S[i] = 1;
    for (PetscInt k = 0; Sr && k < s->nq; k++) Sr[k] = 1;
    for (PetscInt k = 0; Hr && k < s->nq; k++) Hr[k] = 1;
    for (PetscInt i = 0; i < s->ns; i++) Ir[i] = p[s->iscale] * P[i] + p[s->ibkg] + porod * PorodX4(s, i);
  }
  return 0;
}

static int InRange(MxJoint j, const Sample *s, PetscInt i)
{
  PetscInt is = s - j->s;
  return s->qs[i] >= j->qa[is] && s->qs[i] <= j->qb[is] && s->dI[i] > 0 && isfinite(s->Iq[i]) && isfinite(s->dI[i]);
}

static int GamValid(const Sample *s, PetscInt k, PetscInt a)
{
  double g = s->gam[k * s->nage + a], e = s->gerr[k * s->nage + a];
  return isfinite(g) && isfinite(e) && e > 0 && g > 0;
}

static double D0Of(const Sample *s, const double *p) { return s->iD0 >= 0 ? p[s->iD0] : s->D0_fixed; }

static int SampleHeat(MxJoint j, Sample *s, const double *p);

/* Residuals of every sample: SAXS, then Gamma(q, age). Blocks' chi^2 kept on the samples. */
static int Residuals(const double *p, double *r, void *ctx)
{
  ResCtx *c = (ResCtx *)ctx;
  MxJoint j = c->j;
  size_t  n = 0;

  for (PetscInt is = 0; is < j->ns; is++) {
    Sample *s  = &j->s[is];
    double *Ir = c->P + s->ns, *Hr = c->Sr + s->nq;
    if (SampleModel(j, s, p, c->P, c->S, Ir, c->Sr, Hr, c->qsig) || SampleHeat(j, s, p)) return 1;
    s->chi2_saxs = s->chi2_gam = 0;
    for (PetscInt i = 0; i < s->ns; i++)
      if (InRange(j, s, i)) {
        r[n] = (Ir[i] - s->Iq[i]) / s->dI[i];
        s->chi2_saxs += r[n] * r[n];
        n++;
      }
    double D0 = D0Of(s, p) * MX_UM2_A2;
    for (PetscInt q = 0; q < s->nq; q++) {
      const double *L = j->gcorr && s->Lw ? s->Lw + (size_t)q * s->nage * s->nage : NULL;
      size_t        n0 = n;
      for (PetscInt a = 0; a < s->nage; a++)
        if (GamValid(s, q, a)) {
          double model = D0 * s->q[q] * s->q[q] * Hr[q] / c->Sr[q] * s->h[a];
          r[n]         = (model - s->gam[q * s->nage + a]) / s->gerr[q * s->nage + a];
          n++;
        }
      if (L) /* whitened: forward substitution with the ring's Cholesky factor */
        for (size_t i = 0; i < n - n0; i++) {
          double sum = r[n0 + i];
          for (size_t l = 0; l < i; l++) sum -= L[i * s->nage + l] * r[n0 + l];
          r[n0 + i] = sum / L[i * s->nage + i];
        }
      for (size_t i = n0; i < n; i++) s->chi2_gam += r[i] * r[i];
    }
  }
  return 0;
}

/* Linear least squares of I = a P + b over the fit range; returns chi^2. */
static double LinearScale(MxJoint j, const Sample *s, const double *P, double *a, double *b)
{
  double sw = 0, sp = 0, spp = 0, si = 0, spi = 0, chi2 = 0;
  for (PetscInt i = 0; i < s->ns; i++) {
    if (!InRange(j, s, i)) continue;
    double w = 1 / (s->dI[i] * s->dI[i]);
    sw += w;
    sp += w * P[i];
    spp += w * P[i] * P[i];
    si += w * s->Iq[i];
    spi += w * P[i] * s->Iq[i];
  }
  double det = sw * spp - sp * sp;
  *a         = det != 0 ? (sw * spi - sp * si) / det : 0;
  *b         = det != 0 ? (si - *a * sp) / sw : 0;
  for (PetscInt i = 0; i < s->ns; i++)
    if (InRange(j, s, i)) chi2 += pow((*a * P[i] + *b - s->Iq[i]) / s->dI[i], 2);
  return chi2;
}

/* Parameters, bounds and start values derived from the data. */
/* -joint_heating dose: the sample's composition (its analyze's, or -NAME_heating_*), decay time
   and heating model. Rank 0. */
static PetscErrorCode SampleHeatSetUp(MxJoint j, PetscInt is)
{
  Sample     *s = &j->s[is];
  MxHeatProps hp;
  PetscInt    nint = s->wstart[s->nage - 1] + s->wlen - 1;

  PetscFunctionBeginUser;
  if (j->hphi[is] >= 0) s->hs.phi = j->hphi[is];
  if (j->hpath[is] >= 0) s->hs.path_mm = j->hpath[is];
  if (j->htau_us > 0) s->tauI = j->htau_us * 1e-6;
  s->hs.T0_K      = j->T0;
  s->hs.Ea_kJ_mol = j->harr || s->hs.solvent == MX_SOLVENT_NMF ? j->Ea : 0;
  PetscCheck(s->hs.phi >= 0 && s->hs.path_mm > 0 && s->tauI > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "%s: -joint_heating dose needs the sample's composition and decay time, which its results file does not have (analysed without the heating model?): give -%s_heating_phi, -%s_heating_path_mm and -joint_heating_tau_us", s->path, s->name, s->name);
  PetscCheck(!MxHeatSampleProps(&s->hs, &hp), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%s: heating composition phi %g, path %g mm, photon energy %g keV out of range (energy: 4..50 keV)", s->path, s->hs.phi, s->hs.path_mm, s->hs.energy_keV > 0 ? s->hs.energy_keV : MX_HEAT_DEFAULT_KEV);
  s->per_fluence = hp.dT_per_J_cm2;
  PetscCall(MxHeatModelDestroy(&s->hm));
  PetscCall(PetscFree(s->hn));
  PetscCall(MxHeatModelCreate(nint, s->dt, s->tauI, s->pulse_rel, &s->hm));
  PetscCall(PetscMalloc1(nint, &s->hn));
  PetscFunctionReturn(0);
}

/* s->h[a]: the heating factor of each age window at the parameters p; nonzero outside the
   model's domain (beyond the viscosity law) */
static int SampleHeat(MxJoint j, Sample *s, const double *p)
{
  const double k = Par(p, j->iheat, 0);
  if (j->heat != MX_HEAT_DOSE) {
    for (PetscInt a = 0; a < s->nage; a++) s->h[a] = MxHeatingFactor(j->heat, k, j->T0, j->Ea, s->age0[a]);
    return 0;
  }
  s->dT0 = k * s->per_fluence;
  for (PetscInt st = 0; st < s->nset; st++) { /* each dose group at its pulse energy */
    MxHeatModelFactors(s->hm, &s->hs, s->dT0 * s->scale[st], s->hn);
    for (PetscInt a = 0; a < s->nage; a++) {
      double m = 0;
      if (s->aset[a] != st) continue;
      for (PetscInt n = s->wstart[a]; n < s->wstart[a] + s->wlen - 1; n++) m += s->hn[n];
      s->h[a] = m / (s->wlen - 1);
      if (!isfinite(s->h[a])) return 1;
    }
  }
  return 0;
}

static PetscErrorCode SetUpProblem(MxJoint j)
{
  double    start[MX_NPARMAX], lo[MX_NPARMAX], hi[MX_NPARMAX], scl[MX_NPARMAX];
  PetscInt  np = 0, nr = 0;
  double   *P;
  PetscInt  maxns = 0;

  PetscFunctionBeginUser;
  for (PetscInt is = 0; is < j->ns; is++) maxns = PetscMax(maxns, j->s[is].ns);
  PetscCall(PetscMalloc1(maxns + 1, &P));
#define ADD(name_, st_, lo_, hi_, sc_) (snprintf(j->pname[np], 64, "%s", name_), start[np] = (st_), lo[np] = (lo_), hi[np] = (hi_), scl[np] = (sc_), np++)
  /* radius: a scan of the dilute (else the first) sample's chi^2 with a linear scale and background */
  Sample *ref = &j->s[0];
  for (PetscInt is = 0; is < j->ns; is++)
    if (!j->s[is].dense) {
      ref = &j->s[is];
      break;
    }
  double bestR = 30, best = INFINITY;
  for (double R = 5; R <= 500; R *= 1.01) {
    double a, b, chi2;
    MxSphereIq((size_t)ref->ns, ref->qs, R, 0.1, 35, 3.0, 1.0, 1.0, 0.0, P);
    chi2 = LinearScale(j, ref, P, &a, &b);
    if (a > 0 && chi2 < best) {
      best  = chi2;
      bestR = R;
    }
  }
  j->iR = (PetscInt)np;
  ADD("radius", bestR, 1.0, 5000.0, bestR);
  j->ipd = (PetscInt)np;
  ADD("pd", 0.1, 1e-3, 0.5, 0.1);
  j->iheat = -1;
  if (j->heat == MX_HEAT_LINEAR) {
    j->iheat = (PetscInt)np;
    ADD("heating_k_per_us", 0.0, -0.5, 10.0, 0.01);
  } else if (j->heat == MX_HEAT_STOKES) {
    j->iheat = (PetscInt)np;
    ADD("heating_dT_dt_K_per_us", 0.0, -5.0, 100.0, 1.0);
  } else if (j->heat == MX_HEAT_DOSE) {
    j->iheat = (PetscInt)np;
    ADD("heating_fluence_J_cm2", 0.3, 0.0, 1e3, 0.3);
    for (PetscInt is = 0; is < j->ns; is++) PetscCall(SampleHeatSetUp(j, is));
  }
  for (PetscInt is = 0; is < j->ns; is++) {
    Sample *s = &j->s[is];
    char    nm[64];
    double  a, b, Imax = 0;
    s->dense    = is < j->ndense ? (int)j->dense[is] : 0;
    s->D0_fixed = is < j->nD0 ? j->D0opt[is] : 0;
    s->hs_fixed = j->hsopt[is];
    s->colloid  = j->colloidopt[is];
    MxSphereIq((size_t)s->ns, s->qs, bestR, 0.1, 35, 3.0, 1.0, 1.0, 0.0, P);
    LinearScale(j, s, P, &a, &b);
    for (PetscInt i = 0; i < s->ns; i++) {
      if (InRange(j, s, i)) {
        nr++;
        Imax = PetscMax(Imax, fabs(s->Iq[i]));
      }
    }
    PetscCheck(Imax > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "%s: no SAXS points with positive errors in the q range of the fit", s->path);
    if (!(a > 0)) a = Imax / PetscMax(P[0], 1e-30);
    s->iscale = s->iliq = s->ihs = -1;
    if (!s->dense || s->colloid) { /* dilute: c; dense: the colloid part c1, started at a tenth */
      s->iscale = (int)np;
      snprintf(nm, sizeof nm, "%s:scale", s->name);
      ADD(nm, s->dense ? 0.1 * a : a, 0.0, INFINITY, a);
    }
    if (s->dense) {
      s->iliq = (int)np;
      snprintf(nm, sizeof nm, "%s:scale_liquid", s->name);
      ADD(nm, s->colloid ? 0.9 * a : a, 0.0, INFINITY, a);
      if (s->hs_fixed <= 0) { /* sigma_HS = 2R + excess, excess >= 0: the form factor bounds it below */
        s->ihs = (int)np;
        snprintf(nm, sizeof nm, "%s:hs_excess_A", s->name);
        ADD(nm, 0.05 * 2 * bestR, 0.0, 2 * bestR, 0.05 * 2 * bestR);
      }
    }
    s->ibkg = (int)np;
    snprintf(nm, sizeof nm, "%s:background", s->name);
    ADD(nm, b, -INFINITY, INFINITY, 1e-3 * Imax);
    s->iporod = -1;
    if (j->porod) {
      s->iporod = (int)np;
      snprintf(nm, sizeof nm, "%s:porod", s->name);
      ADD(nm, 0.0, 0.0, INFINITY, s->dense ? 1e-2 : 1e-2 * Imax); /* dense: of S_liquid, dimensionless */
    }
    s->iphi = s->iDs = -1;
    if (s->dense) {
      s->iphi = (int)np;
      snprintf(nm, sizeof nm, "%s:phi", s->name);
      ADD(nm, 0.2, 1e-3, 0.55, 0.2);
    }
    /* dynamics: points, and D0 from the earliest age (h = 1) */
    double  d0 = 0;
    PetscInt nd = 0;
    for (PetscInt q = 0; q < s->nq; q++)
      for (PetscInt a2 = 0; a2 < s->nage; a2++)
        if (GamValid(s, q, a2)) {
          nr++;
          if (a2 == 0) {
            d0 += s->gam[q * s->nage] / (s->q[q] * s->q[q] * MX_UM2_A2);
            nd++;
          }
        }
    s->iD0 = -1;
    if (s->D0_fixed <= 0) {
      PetscCheck(nd > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "%s: no valid decay rates Gamma(q, age) to measure D0 from (give it with -hydro_D0)", s->path);
      d0 /= nd;
      s->iD0 = (int)np;
      snprintf(nm, sizeof nm, "%s:D0_um2_s", s->name);
      ADD(nm, d0, 0.0, INFINITY, d0);
    }
    if (s->dense) {
      s->iDs = (int)np;
      snprintf(nm, sizeof nm, "%s:Ds_over_D0", s->name);
      ADD(nm, 0.5, 0.0, 2.0, 0.5);
    }
  }
#undef ADD
  PetscCall(PetscFree(P));
  PetscCheck(np <= MX_NPARMAX, PETSC_COMM_SELF, PETSC_ERR_PLIB, "too many parameters");
  j->np = np;
  j->nr = nr;
  PetscCall(MxLsqProblemCreate(np, nr, &j->lsq));
  static const char *names[MX_NPARMAX];
  for (PetscInt i = 0; i < np; i++) {
    j->lsq.p[i]  = start[i];
    j->lsq.lo[i] = lo[i];
    j->lsq.hi[i] = hi[i];
    names[i]     = j->pname[i];
  }
  j->lsq.names = names;
  PetscCall(PetscMalloc1(np, &j->lsq.scale));
  for (PetscInt i = 0; i < np; i++) j->lsq.scale[i] = scl[i];
  PetscFunctionReturn(0);
}

/* Measured S(q) = (I - background - porod)/(scale P) (dense: (I - background)/((c1 + c2) P), and
   the liquid's S_liquid = (I - background - c1 P)/(c2 P) - porod (q0/q)^4) and H(q) = Gamma0
   S/(D0 q^2) (dense: S_liquid), Gamma0 the weighted mean over ages of Gamma/h(age); then Ds/D0
   from the data: weighted mean of H - H_d. */
static PetscErrorCode Derived(MxJoint j, Sample *s, const double *p)
{
  double *qsig;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc5(s->ns, &s->P, s->ns, &s->S, s->ns, &s->Ifit, s->ns, &s->Smeas, s->ns, &s->Smeas_err));
  PetscCall(PetscMalloc5(s->nq, &s->Sq, s->nq, &s->Hdata, s->nq, &s->Herr, s->nq, &s->Hmodel, s->nq, &s->Hdq));
  PetscCall(PetscMalloc2(s->nq, &s->g0, s->nq, &s->g0err));
  PetscCall(PetscMalloc4(s->ns, &s->Pterm, s->ns, &s->Sfit, s->ns, &s->Sliq, s->ns, &s->Sliq_err));
  PetscCall(PetscMalloc1(s->nq + 1, &qsig));
  SampleModel(j, s, p, s->P, s->S, s->Ifit, s->Sq, s->Hmodel, qsig);
  SampleHeat(j, s, p);
  for (PetscInt i = 0; i < s->ns; i++) {
    double porod = Par(p, s->iporod, 0) * PorodX4(s, i), c1 = Par(p, s->iscale, 0), c2 = Par(p, s->iliq, 0);
    if (s->dense) {
      s->Pterm[i]    = (c1 + c2) * s->P[i];
      s->Sfit[i]     = (c1 + c2 * (s->S[i] + porod)) / (c1 + c2);
      s->Smeas[i]    = (s->Iq[i] - p[s->ibkg]) / s->Pterm[i];
      s->Sliq[i]     = (s->Iq[i] - p[s->ibkg] - c1 * s->P[i]) / (c2 * s->P[i]) - porod;
      s->Sliq_err[i] = s->dI[i] / fabs(c2 * s->P[i]);
    } else {
      s->Pterm[i] = c1 * s->P[i];
      s->Sfit[i]  = 1;
      s->Smeas[i] = s->Sliq[i] = (s->Iq[i] - p[s->ibkg] - porod) / s->Pterm[i];
      s->Sliq_err[i] = s->dI[i] / fabs(s->Pterm[i]);
    }
    s->Smeas_err[i] = s->dI[i] / fabs(s->Pterm[i]);
  }
  double D0 = D0Of(s, p), sw = 0, swx = 0;
  for (PetscInt q = 0; q < s->nq; q++) {
    double w = 0, wx = 0;
    for (PetscInt a = 0; a < s->nage; a++)
      if (GamValid(s, q, a)) {
        double h = s->h[a], g = s->gam[q * s->nage + a] / h, e = s->gerr[q * s->nage + a] / h;
        w += 1 / (e * e);
        wx += g / (e * e);
      }
    s->g0[q]    = w > 0 ? wx / w : NAN;
    s->g0err[q] = w > 0 ? 1 / sqrt(w) : NAN;
    /* measured S at the ring: linear interpolation on the SAXS grid */
    double Sm = NAN;
    for (PetscInt i = 0; i + 1 < s->ns; i++)
      if (s->qs[i] <= s->q[q] && s->q[q] <= s->qs[i + 1]) {
        double f = (s->q[q] - s->qs[i]) / (s->qs[i + 1] - s->qs[i]);
        Sm       = (1 - f) * s->Sliq[i] + f * s->Sliq[i + 1];
        break;
      }
    double c     = Sm / (D0 * MX_UM2_A2 * s->q[q] * s->q[q]);
    s->Hdata[q]  = s->g0[q] * c;
    s->Herr[q]   = s->g0err[q] * fabs(c);
    s->Hdq[q]    = s->dense ? s->Hmodel[q] - p[s->iDs] : 0;
    double x = s->Hdata[q] - s->Hdq[q];
    if (isfinite(x) && s->Herr[q] > 0) {
      sw += 1 / (s->Herr[q] * s->Herr[q]);
      swx += x / (s->Herr[q] * s->Herr[q]);
    }
  }
  { /* smooth model curves for figures: H = Ds/D0 + H_d (or 1), S = PY (or 1) */
    double qlo = s->qs[0], qhi = s->qs[s->ns - 1], phi = Par(p, s->iphi, 0), qsg[64], hd[64];
    for (int i = 0; i < 64; i++) s->mq[i] = qlo + (qhi - qlo) * i / 63.0;
    if (s->dense) {
      double sig = HsDiameter(j, s, p);
      MxHardSphereSq(64, s->mq, 0.5 * sig, phi, s->mS);
      for (int i = 0; i < 64; i++) qsg[i] = s->mq[i] * sig;
      if (j->hd_full) MxDeltaGammaHdFull(64, qsg, phi, SqPY, &phi, hd);
      else MxDeltaGammaHd(64, qsg, phi, SqPY, &phi, hd);
      for (int i = 0; i < 64; i++) s->mH[i] = p[s->iDs] + hd[i];
    } else
      for (int i = 0; i < 64; i++) s->mH[i] = s->mS[i] = 1;
  }
  s->Ds_data     = sw > 0 ? swx / sw : NAN;
  s->Ds_data_err = sw > 0 ? 1 / sqrt(sw) : NAN;
  s->n_saxs = s->n_gam = 0;
  for (PetscInt i = 0; i < s->ns; i++) s->n_saxs += InRange(j, s, i);
  for (PetscInt q = 0; q < s->nq; q++)
    for (PetscInt a = 0; a < s->nage; a++) s->n_gam += GamValid(s, q, a);
  PetscCall(PetscFree(qsig));
  PetscFunctionReturn(0);
}

static PetscErrorCode SolveRank0(MxJoint j)
{
  ResCtx   c = {j, NULL, NULL, NULL, NULL};
  PetscInt maxns = 0, maxnq = 0;

  PetscFunctionBeginUser;
  PetscCheck(j->ns > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "mxpcs fit: no input results (-i a.h5,b.h5)");
  PetscCall(SetUpProblem(j));
  for (PetscInt is = 0; is < j->ns; is++) {
    maxns = PetscMax(maxns, j->s[is].ns);
    maxnq = PetscMax(maxnq, j->s[is].nq);
  }
  PetscCall(PetscMalloc4(2 * maxns + 1, &c.P, maxns + 1, &c.S, 2 * maxnq + 1, &c.Sr, maxnq + 1, &c.qsig));
  {
    MxLsq lsq;
    PetscCall(MxLsqCreate(&lsq));
    PetscCall(MxLsqSetOptionsPrefix(lsq, "joint_"));
    PetscCall(MxLsqSetFromOptions(lsq));
    PetscCall(MxLsqSetFunctions(lsq, Residuals, NULL, &c));
    PetscCall(MxLsqSetStepTest(lsq, MX_LSQ_STEP_RELATIVE, j->xtol));
    PetscCall(MxLsqSolve(lsq, &j->lsq));
    PetscCall(MxLsqDestroy(&lsq));
  }
  PetscCheck(j->lsq.converged, PETSC_COMM_SELF, PETSC_ERR_NOT_CONVERGED, "mxpcs fit: the joint fit did not converge (TAO: %s after %" PetscInt_FMT " iterations); try -joint_tao_monitor, a narrower -joint_q_range or fewer free parameters", j->lsq.reason, j->lsq.its);
  {
    double *r;
    PetscCall(PetscMalloc1(j->nr, &r));
    Residuals(j->lsq.p, r, &c); /* the blocks' chi^2 at the best fit */
    PetscCall(PetscFree(r));
  }
  for (PetscInt is = 0; is < j->ns; is++) PetscCall(Derived(j, &j->s[is], j->lsq.p));
  PetscCall(PetscFree4(c.P, c.S, c.Sr, c.qsig));
  PetscFunctionReturn(0);
}

PetscErrorCode MxJointSolve(MxJoint j)
{
  PetscMPIInt    rank;
  PetscErrorCode ierr = 0;

  PetscFunctionBeginUser;
  MPI_Comm_rank(j->comm, &rank);
  PetscCall(PetscLogEventBegin(MX_JOINT_SOLVE, 0, 0, 0, 0));
  if (!rank) ierr = SolveRank0(j);
  PetscCall(MxErrorSync(j->comm, ierr));
  PetscCall(PetscLogEventEnd(MX_JOINT_SOLVE, 0, 0, 0, 0));
  j->solved = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* Reduced SAXS chi^2 of a sample: over npoints - the parameters of its SAXS model (the shared
   radius and pd counted in every sample). */
static double SaxsChi2Red(const Sample *s)
{
  int np = 2 + (s->iscale >= 0) + (s->iliq >= 0) + (s->ihs >= 0) + (s->ibkg >= 0) + (s->iporod >= 0) + (s->iphi >= 0);
  return s->n_saxs > np ? s->chi2_saxs / (double)(s->n_saxs - np) : NAN;
}

/* sigma_HS of a dense sample and its error, var = 4 var R + var excess + 4 cov(R, excess) (0
   when given); 0 and 0 for a dilute sample. Rank 0. */
static void HsDiameterFit(MxJoint j, const Sample *s, double *sig, double *err)
{
  const double *cov = j->lsq.cov;
  PetscInt      np = j->np, iR = j->iR, ih = s->ihs;
  *sig = s->dense ? HsDiameter(j, s, j->lsq.p) : 0;
  *err = ih >= 0 ? sqrt(PetscMax(4 * cov[iR * np + iR] + cov[ih * np + ih] + 4 * cov[iR * np + ih], 0.0)) : 0;
}

PetscErrorCode MxJointWrite(MxJoint j, MxOut o)
{
  PetscMPIInt        rank;
  const double      *p = j->lsq.p, *e = j->lsq.err;
  const char *ku = j->heat == MX_HEAT_STOKES ? "K/us" : j->heat == MX_HEAT_DOSE ? "J/cm^2" : "1/us"; /* the schema has stokes' K/us */

  PetscFunctionBeginUser;
  PetscCheck(j->solved, j->comm, PETSC_ERR_ARG_WRONGSTATE, "MxJointWrite: call MxJointSolve first");
  MPI_Comm_rank(j->comm, &rank);
  /* shapes are rank 0's: broadcast the sizes the collective writes need */
  PetscInt sz[2 + 2 * MX_MAXS] = {j->np, j->ns};
  for (PetscInt is = 0; is < j->ns; is++) {
    sz[2 + 2 * is] = j->s[is].ns;
    sz[3 + 2 * is] = j->s[is].nq;
  }
  PetscCallMPI(MPI_Bcast(sz, 2 + 2 * MX_MAXS, MPIU_INT, 0, j->comm));
  PetscCallMPI(MPI_Bcast(j->pname, (int)sizeof j->pname, MPI_CHAR, 0, j->comm));
  for (PetscInt is = 0; is < j->ns; is++) {
    Sample *s  = &j->s[is];
    hsize_t ns = (hsize_t)sz[2 + 2 * is], nq = (hsize_t)sz[3 + 2 * is], n64 = 64;
    PetscCallMPI(MPI_Bcast(s->name, sizeof s->name, MPI_CHAR, 0, j->comm));
    PetscCallMPI(MPI_Bcast(&s->dense, 1, MPI_INT, 0, j->comm));
    const char *n = s->name;
    /* rank 0's values; the other ranks take part in the collective writes */
#define P1(id, arr, len) PetscCall(MxOutDoubles(o, id, 1, &(len), rank ? NULL : (arr), n))
#define PS(id, val)      PetscCall(MxOutScalar(o, id, rank ? 0 : (val), n))
    P1(MX_SAXS_SAMPLE_Q, s->qs, ns);
    P1(MX_SAXS_SAMPLE_I, s->Iq, ns);
    P1(MX_SAXS_SAMPLE_I_ERR, s->dI, ns);
    P1(MX_SAXS_SAMPLE_I_FIT, s->Ifit, ns);
    /* the form-factor term scale P (dense: (scale + scale_liquid) P) and the Porod amplitude A of
       A/q^4: what the saxs mode writes under the same names */
    P1(MX_SAXS_SAMPLE_P, s->Pterm, ns);
    P1(MX_SAXS_SAMPLE_S, s->Smeas, ns);
    P1(MX_SAXS_SAMPLE_S_ERR, s->Smeas_err, ns);
    P1(MX_JOINT_SAXS_S_MODEL, s->Sfit, ns);
    if (s->dense) {
      P1(MX_SAXS_SAMPLE_S_LIQUID, s->Sliq, ns);
      P1(MX_SAXS_SAMPLE_S_LIQUID_ERR, s->Sliq_err, ns);
      PS(MX_SAXS_SAMPLE_SCALE_LIQUID, p[s->iliq]);
      PS(MX_SAXS_SAMPLE_SCALE_LIQUID_ERR, e[s->iliq]);
    }
    double sig = 0, sig_err = 0;
    if (!rank) HsDiameterFit(j, s, &sig, &sig_err);
    PS(MX_SAXS_SAMPLE_HS_DIAMETER, sig);
    PS(MX_SAXS_SAMPLE_HS_DIAMETER_ERR, sig_err);
    PS(MX_SAXS_SAMPLE_HS_DIAMETER_FREE, s->ihs >= 0 ? 1 : 0);
    PS(MX_SAXS_SAMPLE_RADIUS, p[j->iR]);
    PS(MX_SAXS_SAMPLE_RADIUS_ERR, e[j->iR]);
    PS(MX_SAXS_SAMPLE_RADIUS_SIGMA, p[j->iR] * p[j->ipd]);
    PS(MX_SAXS_SAMPLE_PD, p[j->ipd]);
    PS(MX_SAXS_SAMPLE_PD_ERR, e[j->ipd]);
    PS(MX_SAXS_SAMPLE_PHI, s->iphi >= 0 ? p[s->iphi] : 0);
    PS(MX_SAXS_SAMPLE_PHI_ERR, s->iphi >= 0 ? e[s->iphi] : 0);
    PS(MX_SAXS_SAMPLE_SCALE, Par(p, s->iscale, 0));
    PS(MX_SAXS_SAMPLE_BACKGROUND, p[s->ibkg]);
    PS(MX_SAXS_SAMPLE_POROD, s->iporod >= 0 && !s->dense ? p[s->iporod] * pow(s->qs[0] > 0 ? s->qs[0] : 1e-3, 4) : 0);
    PS(MX_SAXS_SAMPLE_POROD_LIQUID, s->iporod >= 0 && s->dense ? p[s->iporod] * pow(s->qs[0] > 0 ? s->qs[0] : 1e-3, 4) : 0);
    PS(MX_SAXS_SAMPLE_CHI2, s->chi2_saxs);
    PS(MX_SAXS_SAMPLE_CHI2_RED, SaxsChi2Red(s));
    PS(MX_SAXS_SAMPLE_NPOINTS, (double)s->n_saxs);
    P1(MX_HYDRO_Q, s->q, nq);
    P1(MX_HYDRO_S, s->Sq, nq);
    P1(MX_HYDRO_H, s->Hdata, nq);
    P1(MX_HYDRO_H_ERR, s->Herr, nq);
    P1(MX_HYDRO_H_MODEL, s->Hmodel, nq);
    P1(MX_HYDRO_HD, s->Hdq, nq);
    P1(MX_HYDRO_GAMMA0, s->g0, nq);
    P1(MX_HYDRO_MODEL_Q, s->mq, n64);
    P1(MX_HYDRO_MODEL_H, s->mH, n64);
    P1(MX_HYDRO_MODEL_S, s->mS, n64);
    P1(MX_HYDRO_GAMMA0_ERR, s->g0err, nq);
    PS(MX_HYDRO_DS_OVER_D0, s->iDs >= 0 ? p[s->iDs] : s->Ds_data);
    PS(MX_HYDRO_DS_OVER_D0_ERR, s->iDs >= 0 ? e[s->iDs] : s->Ds_data_err);
    PS(MX_HYDRO_DS_OVER_D0_DATA, s->Ds_data);
    PS(MX_HYDRO_DS_OVER_D0_DATA_ERR, s->Ds_data_err);
    PS(MX_HYDRO_D0, D0Of(s, p));
    if (j->heat == MX_HEAT_DOSE) PS(MX_HYDRO_HEATING_DT0, s->dT0);
    PS(MX_HYDRO_D0_ERR, s->iD0 >= 0 ? e[s->iD0] : 0);
    PS(MX_HYDRO_D0_FREE, s->iD0 >= 0 ? 1 : 0);
    PS(MX_HYDRO_DENSE, s->dense);
    PS(MX_HYDRO_CHI2_GAMMA, s->chi2_gam);
    PS(MX_HYDRO_NPOINTS_GAMMA, (double)s->n_gam);
#undef P1
#undef PS
  }
  hsize_t np = (hsize_t)sz[0];
  {
    char (*names)[64];
    hid_t t = H5Tcopy(H5T_C_S1);
    PetscCall(PetscMalloc1(np + 1, &names));
    for (hsize_t i = 0; i < np; i++) snprintf(names[i], 64, "%s", j->pname[i]);
    H5Tset_size(t, 64);
    PetscErrorCode ierr = MxOutArray(o, MX_JOINT_NAMES, t, 1, &np, names);
    H5Tclose(t);
    PetscCall(PetscFree(names));
    PetscCall(ierr);
  }
  PetscCall(MxOutDoubles(o, MX_JOINT_VALUES, 1, &np, rank ? NULL : p));
  PetscCall(MxOutDoubles(o, MX_JOINT_ERRORS, 1, &np, rank ? NULL : e));
  {
    hsize_t d[2] = {np, np};
    PetscCall(MxOutDoubles(o, MX_JOINT_CORRELATION, 2, d, rank ? NULL : j->lsq.corr));
  }
  PetscCall(MxOutScalar(o, MX_JOINT_CHI2, rank ? 0 : j->lsq.chi2));
  PetscCall(MxOutScalar(o, MX_JOINT_CHI2_RED, rank ? 0 : j->lsq.chi2_red));
  PetscCall(MxOutScalar(o, MX_JOINT_ITERATIONS, rank ? 0 : (double)j->lsq.its));
  PetscCall(MxOutScalar(o, MX_JOINT_HEATING_K, rank ? 0 : (j->iheat >= 0 ? p[j->iheat] : 0)));
  PetscCall(MxOutScalar(o, MX_JOINT_HEATING_K_ERR, rank ? 0 : (j->iheat >= 0 ? e[j->iheat] : 0)));
  if (strcmp(ku, MxSchemaUnits(MX_JOINT_HEATING_K))) {
    PetscCall(MxOutAttrString(o, MX_JOINT_HEATING_K, "units", ku));
    PetscCall(MxOutAttrString(o, MX_JOINT_HEATING_K_ERR, "units", ku));
  }
  PetscCall(MxOutScalar(o, MX_JOINT_T0, j->T0));
  PetscCall(MxOutScalar(o, MX_JOINT_EA, j->Ea));
  PetscCall(MxOutAttrString(o, MX_JOINT, "heating_law", MxHeatingLawNames[j->heat]));
  PetscCall(MxOutAttrString(o, MX_JOINT, "hd", j->hd_full ? "full" : "sg0"));
  PetscFunctionReturn(0);
}

PetscErrorCode MxJointWriteFile(MxJoint j, const char path[], PetscBool *replaced)
{
  const char *inputs[MX_MAXS];
  char        ident[4096], start[64];
  MxOut       o;

  PetscFunctionBeginUser;
  PetscCheck(j->solved, j->comm, PETSC_ERR_ARG_WRONGSTATE, "MxJointWriteFile: call MxJointSolve first");
  for (PetscInt is = 0; is < j->ns; is++) inputs[is] = j->s[is].path; /* rank 0's */
  PetscCall(MxFitInputsEntry(j->comm, j->ns, inputs, ident, sizeof ident, start, sizeof start));
  PetscCall(MxOutCreate(j->comm, path, &o));
  PetscErrorCode ierr = MxOutWriteEntry(o, &(MxOutEntry){ident, start[0] ? start : NULL, "fit (joint)", j->opts, NULL});
  if (!ierr) ierr = MxJointWrite(j, o);
  PetscCall(MxOutClose(&o, ierr, replaced));
  PetscFunctionReturn(0);
}

PetscErrorCode MxJointView(MxJoint j, PetscViewer v)
{
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  MPI_Comm_rank(j->comm, &rank);
  if (rank || !j->solved) PetscFunctionReturn(0);
  PetscCall(PetscViewerASCIIPrintf(v, "mxpcs fit: joint fit of %" PetscInt_FMT " samples, %" PetscInt_FMT " parameters, %" PetscInt_FMT " points: chi2/dof = %.3f (%s, %" PetscInt_FMT " iterations)\n", j->ns, j->np, j->nr, j->lsq.chi2_red, j->lsq.reason, j->lsq.its));
  for (PetscInt i = 0; i < j->np; i++) PetscCall(PetscViewerASCIIPrintf(v, "  %-34s %14.6g +- %-12.4g\n", j->pname[i], j->lsq.p[i], j->lsq.err[i]));
  for (PetscInt is = 0; is < j->ns; is++) {
    Sample *s = &j->s[is];
    PetscCall(PetscViewerASCIIPrintf(v, "  %s (%s): chi2 SAXS %.1f / %" PetscInt_FMT " points, Gamma %.1f / %" PetscInt_FMT " points; D0 = %.3f um^2/s%s; Ds/D0 from H(q) data = %.4f +- %.4f\n", s->name, s->dense ? "dense" : "dilute", s->chi2_saxs, s->n_saxs, s->chi2_gam, s->n_gam, D0Of(s, j->lsq.p), s->iD0 >= 0 ? " (fitted)" : " (given)", s->Ds_data, s->Ds_data_err));
    if (s->dense) {
      double sig, err;
      HsDiameterFit(j, s, &sig, &err);
      PetscCall(PetscViewerASCIIPrintf(v, "  %s: hard-sphere diameter sigma_HS = %.3f +- %.3f A%s (2R = %.3f A)\n", s->name, sig, err, s->ihs >= 0 ? " (fitted)" : " (given)", 2 * j->lsq.p[j->iR]));
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxJointDestroy(MxJoint *pj)
{
  MxJoint j = *pj;

  PetscFunctionBeginUser;
  if (!j) PetscFunctionReturn(0);
  for (PetscInt is = 0; is < j->ns; is++) {
    Sample *s = &j->s[is];
    PetscCall(PetscFree(s->qs));
    PetscCall(PetscFree(s->Iq));
    PetscCall(PetscFree(s->dI));
    PetscCall(PetscFree(s->q));
    PetscCall(PetscFree(s->age));
    if (s->wstart) PetscCall(PetscFree3(s->wstart, s->age0, s->h));
    PetscCall(PetscFree(s->pulse_rel));
    PetscCall(PetscFree(s->hn));
    if (s->scale) PetscCall(PetscFree2(s->scale, s->aset));
    PetscCall(MxHeatModelDestroy(&s->hm));
    PetscCall(PetscFree(s->gam));
    PetscCall(PetscFree(s->gerr));
    PetscCall(PetscFree(s->Lw));
    for (int c = 0; c < MX_HD_CACHE; c++) free(s->hd_val[c]);
    if (s->P) PetscCall(PetscFree5(s->P, s->S, s->Ifit, s->Smeas, s->Smeas_err));
    if (s->Sq) PetscCall(PetscFree5(s->Sq, s->Hdata, s->Herr, s->Hmodel, s->Hdq));
    if (s->g0) PetscCall(PetscFree2(s->g0, s->g0err));
    if (s->Pterm) PetscCall(PetscFree4(s->Pterm, s->Sfit, s->Sliq, s->Sliq_err));
  }
  PetscCall(PetscFree(j->lsq.scale));
  PetscCall(PetscFree(j->opts));
  PetscCall(MxLsqProblemDestroy(&j->lsq));
  PetscCall(PetscFree(j));
  *pj = NULL;
  PetscFunctionReturn(0);
}
