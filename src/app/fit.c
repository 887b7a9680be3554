/* mxpcs fit: the joint fit of analyze results (include/mxpcs/joint.h) or SAXS model fits of one
   or more samples (design.md 1.7, 3, 4). SAXS mode: MxAppFit reads the options, FitSaxsSamples()
   fits every sample's I(q) (rank 0 computes, errors reach every rank), and rank 0 writes the
   output through MxOut (the results schema, include/mxpcs/schema.def): /entry and each sample's
   FitWriteSaxs(), under FILE.part, renamed when complete. docs/fit.md, docs/output-format.md. */
#include "app.h"
#include <mxpcs/saxsfit.h>
#include <mxpcs/joint.h>
#include <mxpcs/schema.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>

#define MX_FIT_MAX_INPUTS 64

/* One sample: its SAXS data, fit and curves (arrays on rank 0 only). */
typedef struct {
  char         name[128];               /* group name: the file stem */
  char         path[PETSC_MAX_PATH_LEN];
  PetscBool    results;                 /* an mxpcs analyze results file (-i) or any SAXS file (-saxs_file) */
  char         I_units[64], origin[96];
  MxSaxsResult saxs;
  PetscInt     n;                       /* valid points of the whole SAXS grid */
  double      *q, *Iq, *I_err, *I_fit, *P, *S, *S_err, *S_fit, *S_liq, *S_liq_err;
  int         *in_fit;                  /* 1 where the point was fitted (inside -saxs_q_range) */
} MxFitSample;

static PetscErrorCode FitSampleFree(MxFitSample *s)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree5(s->q, s->Iq, s->I_err, s->I_fit, s->P));
  PetscCall(PetscFree5(s->S, s->S_err, s->S_fit, s->S_liq, s->S_liq_err));
  PetscCall(PetscFree(s->in_fit));
  PetscFunctionReturn(0);
}

/* Sample name from the file stem: directory and last extension removed, characters other than
   letters, digits, '-', '_', '.' replaced by '_', made unique with _2, _3, ... */
static void SampleName(const char *path, MxFitSample *all, int i)
{
  const char *base = strrchr(path, '/');
  char       *dot, stem[128];
  int         k = 0;

  base = base ? base + 1 : path;
  snprintf(stem, sizeof stem, "%s", base);
  dot = strrchr(stem, '.');
  if (dot && dot != stem) *dot = 0;
  for (char *c = stem; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.') *c = '_';
  if (!stem[0]) snprintf(stem, sizeof stem, "sample");
  snprintf(all[i].name, sizeof all[i].name, "%s", stem);
  for (int dup = 2;; dup++) {
    for (k = 0; k < i; k++)
      if (!strcmp(all[k].name, all[i].name)) break;
    if (k == i) break;
    snprintf(all[i].name, sizeof all[i].name, "%.100s_%d", stem, dup);
  }
}

/* The samples' names: -fit_samples (one per -i file, then per -saxs_file), else each file's stem
   (SampleName). A name given, or one the joint fit uses as the options prefix of its sample
   (joint: -NAME_hydro_D0, ...), must be a valid prefix; two samples may not share one. */
static PetscErrorCode FitSampleNames(MPI_Comm comm, PetscInt n, char **paths, PetscInt nnames, char **names, PetscBool prefixes, MxFitSample *smp)
{
  PetscFunctionBeginUser;
  PetscCheck(!nnames || nnames == n, comm, PETSC_ERR_ARG_SIZ, "option -fit_samples: %" PetscInt_FMT " names for %" PetscInt_FMT " files (one per -i file, then one per -saxs_file)", nnames, n);
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(PetscStrncpy(smp[i].path, paths[i], sizeof smp[i].path));
    if (nnames) {
      PetscCheck(MxOptionsPrefixValid(names[i]), comm, PETSC_ERR_ARG_WRONG, "option -fit_samples: '%s' (the name of %s) is not a valid options prefix: a letter, then letters, digits or '_'", names[i], paths[i]);
      PetscCall(PetscStrncpy(smp[i].name, names[i], sizeof smp[i].name));
      for (PetscInt k = 0; k < i; k++) PetscCheck(strcmp(smp[k].name, smp[i].name), comm, PETSC_ERR_ARG_WRONG, "option -fit_samples: two samples are named '%s'", smp[i].name);
      continue;
    }
    SampleName(paths[i], smp, (int)i);
    PetscCheck(!prefixes || MxOptionsPrefixValid(smp[i].name), comm, PETSC_ERR_ARG_WRONG, "the sample of %s is named '%s' after its file, which is not a valid options prefix (a letter, then letters, digits or '_'; the joint fit reads -NAME_hydro_D0, ...): name the samples with -fit_samples, e.g. -fit_samples colloid,liquid", paths[i], smp[i].name);
  }
  PetscFunctionReturn(0);
}

/* Rank 0's part of FitSaxsSamples: read, fit, curves, for each sample. */
static PetscErrorCode FitSaxsLocal(MxSaxsModel sm, MxSaxsQUnit q_unit, PetscBool require_converged, int ns, MxFitSample *smp)
{
  PetscFunctionBeginUser;
  for (int i = 0; i < ns; i++) {
    MxFitSample   *s = &smp[i];
    MxSaxsData     d;
    const double  *q, *Iq, *dI;
    PetscInt       n;
    PetscErrorCode ierr;

    PetscCall(PetscMemzero(&d, sizeof d));
    if (s->results) ierr = MxSaxsDataReadResults(s->path, &d);
    else ierr = MxSaxsDataRead(s->path, q_unit, &d);
    if (ierr) {
      PetscCall(MxSaxsDataDestroy(&d));
      PetscCall(ierr);
    }
    PetscCall(PetscStrncpy(s->I_units, d.I_units, sizeof s->I_units));
    PetscCall(PetscStrncpy(s->origin, d.origin, sizeof s->origin));
    PetscCall(MxSaxsModelSetData(sm, d.n, d.q, d.Iq, d.Ierr));
    PetscCall(MxSaxsDataDestroy(&d));
    ierr = MxSaxsModelFit(sm);
    if (ierr) {
      PetscBool   coll;
      const char *msg = MxErrorMessage(&coll);
      char        buf[2048];
      snprintf(buf, sizeof buf, "%s", msg);
      MxErrorClear();
      SETERRQ(PETSC_COMM_SELF, ierr, "%s: %s", s->path, buf);
    }
    PetscCall(MxSaxsModelGetResult(sm, &s->saxs));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s (%s):\n", s->name, s->path));
    PetscCall(MxSaxsModelView(sm, PETSC_VIEWER_STDOUT_SELF));
    if (!s->saxs.converged) {
      PetscCheck(!require_converged, PETSC_COMM_SELF, PETSC_ERR_NOT_CONVERGED, "%s: SAXS fit (%s) did not converge: TAO reason %s after %d iterations (try -saxs_tao_max_it, -saxs_radius, -saxs_q_range; -saxs_require_converged 0 writes it with converged = 0)", s->path, MxSaxsModelTypes[s->saxs.spec.type], s->saxs.reason, s->saxs.iterations);
      PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "mxpcs fit: warning: %s: SAXS fit did not converge (%s); written with converged = 0\n", s->path, s->saxs.reason));
    }
    PetscCall(MxSaxsModelGetData(sm, &n, &q, &Iq, &dI));
    s->n = n;
    PetscCall(PetscMalloc5(n, &s->q, n, &s->Iq, n, &s->I_err, n, &s->I_fit, n, &s->P));
    PetscCall(PetscMalloc5(n, &s->S, n, &s->S_err, n, &s->S_fit, n, &s->S_liq, n, &s->S_liq_err));
    PetscCall(PetscMalloc1(n, &s->in_fit));
    PetscCall(PetscArraycpy(s->q, q, n));
    PetscCall(PetscArraycpy(s->Iq, Iq, n));
    PetscCall(PetscArraycpy(s->I_err, dI, n));
    PetscCall(MxSaxsModelGetCurves(sm, s->I_fit, s->P, s->S, s->S_err, s->S_fit, s->saxs.spec.type == MX_SAXS_COLLOID_LIQUID ? s->S_liq : NULL, s->saxs.spec.type == MX_SAXS_COLLOID_LIQUID ? s->S_liq_err : NULL));
    for (PetscInt k = 0; k < n; k++) s->in_fit[k] = q[k] >= s->saxs.q_min && q[k] <= s->saxs.q_max;
  }
  PetscFunctionReturn(0);
}

/* Fits the SAXS model of every sample: rank 0 does the (small) work, the other ranks wait; an
   error anywhere is returned on every rank of comm. Results and curves live on rank 0. */
static PetscErrorCode FitSaxsSamples(MPI_Comm comm, MxSaxsModel sm, MxSaxsQUnit q_unit, PetscBool require_converged, int ns, MxFitSample *smp)
{
  PetscMPIInt    rank;
  PetscErrorCode ierr = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) ierr = FitSaxsLocal(sm, q_unit, require_converged, ns, smp);
  PetscCall(MxErrorSync(comm, ierr));
  PetscFunctionReturn(0);
}

/* ------------------------------------------------------------ output (rank 0, through MxOut) */

/* Doubles of item id of sample s. The schema gives the units of analyze results, whose I unit is
   MX_SAXS_I's: another input's I unit takes its place ("per 1/cm" of 1/cm is "", a volume
   fraction as in sasmodels). */
static PetscErrorCode WriteD(MxOut o, MxSchemaId id, const MxFitSample *s, int rank, const hsize_t *dims, const double *v)
{
  const char *u = MxSchemaUnits(id), *Ia = MxSchemaUnits(MX_SAXS_I), *Iu = s->I_units[0] ? s->I_units : "arbitrary";
  size_t      la = strlen(Ia);
  char        buf[192];

  PetscFunctionBeginUser;
  PetscCall(MxOutDoubles(o, id, rank, dims, v, s->name));
  if (!u || strncmp(u, Ia, la) || !strcmp(Iu, Ia)) PetscFunctionReturn(0);
  if (!strcmp(Iu, "1/cm") && !strcmp(u + la, " per 1/cm")) buf[0] = 0;
  else snprintf(buf, sizeof buf, "%s%s", Iu, u + la);
  PetscCall(MxOutAttrString(o, id, "units", buf, s->name));
  PetscFunctionReturn(0);
}

/* One fitted parameter: value and error, the value carrying start, bounds and fixed. */
static PetscErrorCode WriteParam(MxOut o, const MxFitSample *s, int k, MxSchemaId id, MxSchemaId id_err)
{
  const MxSaxsResult *r = &s->saxs;

  PetscFunctionBeginUser;
  PetscCall(WriteD(o, id, s, 0, NULL, &r->p[k]));
  PetscCall(WriteD(o, id_err, s, 0, NULL, &r->err[k]));
  PetscCall(MxOutAttrDouble(o, id, "start", r->start[k], s->name));
  PetscCall(MxOutAttrDouble(o, id, "lower_bound", r->lo[k], s->name));
  PetscCall(MxOutAttrDouble(o, id, "upper_bound", r->hi[k], s->name));
  PetscCall(MxOutAttrString(o, id, "fixed", !r->used[k] ? "not in the model" : r->fixed[k] ? "yes" : "no", s->name));
  PetscCall(MxOutAttrString(o, id, "at_bound", r->at_bound[k] ? "yes" : "no", s->name));
  PetscFunctionReturn(0);
}

/* Writes sample s's SAXS model (design.md 4, docs/fit.md "Output"): one sample directly in
   /saxs_model (SAXS_MODEL_* items), else in /saxs_model/<name> (SAXS_SAMPLE_*). */
static PetscErrorCode FitWriteSaxs(MxOut o, PetscBool one, const MxFitSample *s)
{
#define ID(x) (one ? MX_SAXS_MODEL_##x : MX_SAXS_SAMPLE_##x)
  const MxSaxsResult *r = &s->saxs;
  const char         *n = s->name;
  char                names[MX_SAXS_NPAR * 16] = "", fixed[MX_SAXS_NPAR * 16] = "";
  hsize_t             d1[1] = {(hsize_t)s->n}, d2[2] = {(hsize_t)r->nfree, (hsize_t)r->nfree}, two = 2;
  double              v, sr, sr_err, qr[2] = {r->q_min, r->q_max};
  int                 conv = r->converged, it = r->iterations;
  MxSchemaId          grp = one ? MX_SAXS_MODEL : MX_SAXS_SAMPLE;

  PetscFunctionBeginUser;
  PetscCall(MxOutGroup(o, grp, n));
  PetscCall(MxOutAttrString(o, grp, "model", MxSaxsModelTypes[r->spec.type], n));
  PetscCall(MxOutAttrString(o, grp, "source", s->path, n));
  PetscCall(MxOutString(o, ID(MODEL), MxSaxsModelTypes[r->spec.type], n));
  PetscCall(MxOutString(o, ID(SOURCE), s->path, n));
  PetscCall(MxOutString(o, ID(SOURCE_FORMAT), s->origin, n));
  PetscCall(WriteParam(o, s, MX_SAXS_RADIUS, ID(RADIUS), ID(RADIUS_ERR)));
  PetscCall(WriteParam(o, s, MX_SAXS_PD, ID(PD), ID(PD_ERR)));
  MxSaxsResultRadiusSigma(r, &sr, &sr_err);
  PetscCall(WriteD(o, ID(RADIUS_SIGMA), s, 0, NULL, &sr));
  PetscCall(WriteD(o, ID(RADIUS_SIGMA_ERR), s, 0, NULL, &sr_err));
  PetscCall(WriteParam(o, s, MX_SAXS_SCALE, ID(SCALE), ID(SCALE_ERR)));
  PetscCall(WriteParam(o, s, MX_SAXS_BACKGROUND, ID(BACKGROUND), ID(BACKGROUND_ERR)));
  if (r->used[MX_SAXS_PHI]) {
    PetscCall(WriteParam(o, s, MX_SAXS_PHI, ID(PHI), ID(PHI_ERR)));
    PetscCall(WriteD(o, ID(RADIUS_EFFECTIVE), s, 0, NULL, &r->radius_effective));
  }
  if (r->used[MX_SAXS_SCALE_LIQUID]) PetscCall(WriteParam(o, s, MX_SAXS_SCALE_LIQUID, ID(SCALE_LIQUID), ID(SCALE_LIQUID_ERR)));
  if (r->used[MX_SAXS_HS_EXCESS]) { /* the liquid's own hard-sphere diameter */
    double sg, sg_err;
    PetscCall(WriteParam(o, s, MX_SAXS_HS_EXCESS, ID(HS_EXCESS), ID(HS_EXCESS_ERR)));
    MxSaxsResultHsDiameter(r, &sg, &sg_err);
    PetscCall(WriteD(o, ID(HS_DIAMETER), s, 0, NULL, &sg));
    PetscCall(WriteD(o, ID(HS_DIAMETER_ERR), s, 0, NULL, &sg_err));
  }
  PetscCall(WriteParam(o, s, MX_SAXS_POROD, ID(POROD), ID(POROD_ERR))); /* 0 +- 0 without -saxs_porod */
  PetscCall(WriteD(o, ID(CHI2), s, 0, NULL, &r->chi2));
  PetscCall(WriteD(o, ID(CHI2_RED), s, 0, NULL, &r->chi2_red));
  PetscCall(WriteD(o, ID(CHI2_SUM), s, 0, NULL, &r->chi2));
  v = (double)r->npoints;
  PetscCall(WriteD(o, ID(NPOINTS), s, 0, NULL, &v));
  v = (double)(r->npoints - r->nfree);
  PetscCall(WriteD(o, ID(NDOF), s, 0, NULL, &v));
  v = (double)r->nskipped;
  PetscCall(WriteD(o, ID(NPOINTS_DROPPED), s, 0, NULL, &v));
  PetscCall(MxOutArray(o, ID(CONVERGED), H5T_NATIVE_INT, 0, NULL, &conv, n));
  PetscCall(MxOutArray(o, ID(ITERATIONS), H5T_NATIVE_INT, 0, NULL, &it, n));
  PetscCall(MxOutString(o, ID(REASON), r->reason, n));
  for (int a = 0; a < r->nfree; a++) {
    size_t l = strlen(names);
    snprintf(names + l, sizeof names - l, "%s%s", a ? "," : "", MxSaxsParamNames[r->free_index[a]]);
  }
  for (int k = 0; k < MX_SAXS_NPAR; k++)
    if (r->fixed[k]) {
      size_t l = strlen(fixed);
      snprintf(fixed + l, sizeof fixed - l, "%s%s", l ? "," : "", MxSaxsParamNames[k]);
    }
  PetscCall(MxOutString(o, ID(PARAMETERS), names, n));
  PetscCall(MxOutString(o, ID(FIXED), fixed, n));
  PetscCall(WriteD(o, ID(CORRELATION), s, 2, d2, r->corr));
  PetscCall(WriteD(o, ID(COVARIANCE), s, 2, d2, r->cov));
  PetscCall(WriteD(o, ID(Q_RANGE), s, 1, &two, qr));
  PetscCall(WriteD(o, ID(Q), s, 1, d1, s->q));
  PetscCall(WriteD(o, ID(I), s, 1, d1, s->Iq));
  PetscCall(WriteD(o, ID(I_ERR), s, 1, d1, s->I_err));
  PetscCall(WriteD(o, ID(I_FIT), s, 1, d1, s->I_fit));
  PetscCall(WriteD(o, ID(P), s, 1, d1, s->P));
  PetscCall(WriteD(o, ID(S), s, 1, d1, s->S));
  PetscCall(WriteD(o, ID(S_ERR), s, 1, d1, s->S_err));
  PetscCall(WriteD(o, ID(S_FIT), s, 1, d1, s->S_fit));
  if (r->spec.type == MX_SAXS_COLLOID_LIQUID) {
    PetscCall(WriteD(o, ID(S_LIQUID), s, 1, d1, s->S_liq));
    PetscCall(WriteD(o, ID(S_LIQUID_ERR), s, 1, d1, s->S_liq_err));
  }
  PetscCall(MxOutArray(o, ID(IN_FIT), H5T_NATIVE_INT, 1, d1, s->in_fit, n));
#undef ID
  PetscFunctionReturn(0);
}

/* /entry and every sample's /saxs_model. */
static PetscErrorCode FitWriteAll(MxOut o, const MxOutEntry *e, int ns, const MxFitSample *smp)
{
  char list[4096] = "";

  PetscFunctionBeginUser;
  PetscCall(MxOutWriteEntry(o, e));
  for (int i = 0; i < ns; i++) {
    size_t l = strlen(list);
    snprintf(list + l, sizeof list - l, "%s%s", i ? "," : "", smp[i].name);
    PetscCall(FitWriteSaxs(o, ns == 1 ? PETSC_TRUE : PETSC_FALSE, &smp[i]));
  }
  PetscCall(MxOutAttrString(o, MX_SAXS_MODEL, "samples", list));
  PetscCall(MxOutAttrString(o, MX_SAXS_MODEL, "layout", ns == 1 ? "one sample: its datasets in /saxs_model" : "one group per sample: /saxs_model/<sample>"));
  PetscFunctionReturn(0);
}

/* Rank 0: the whole output file (on PETSC_COMM_SELF: the data are rank 0's). */
static PetscErrorCode FitWriteLocal(const char out[], const MxOutEntry *e, int ns, const MxFitSample *smp, PetscBool *replaced)
{
  MxOut o;

  PetscFunctionBeginUser;
  PetscCall(MxOutCreate(PETSC_COMM_SELF, out, &o));
  PetscErrorCode ierr = FitWriteAll(o, e, ns, smp);
  PetscCall(MxOutClose(&o, ierr, replaced));
  PetscFunctionReturn(0);
}

/* 1 on every rank when every input is an `mxpcs analyze` results file with decay rates. */
static PetscErrorCode AllHaveRates(MPI_Comm comm, PetscInt ni, char **inputs, PetscBool *all)
{
  PetscMPIInt rank;
  int         ok = ni > 0, first = -1;
  const char *gam = MxSchemaGet(MX_FIT_GAMMA)->path, *age = MxSchemaGet(MX_G2_AGE)->path;

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  if (!rank)
    for (PetscInt i = 0; i < ni && ok; i++) {
      hid_t f = H5Fopen(inputs[i], H5F_ACC_RDONLY, H5P_DEFAULT);
      ok      = f >= 0 && MxH5Exists(f, gam) && MxH5Exists(f, age);
      if (f >= 0) H5Fclose(f);
      if (!ok) first = (int)i;
    }
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
  PetscCallMPI(MPI_Bcast(&first, 1, MPI_INT, 0, comm));
  *all = ok ? PETSC_TRUE : PETSC_FALSE;
  /* a results file of an older or different layout: say why there is no joint fit */
  if (!ok && first >= 0) PetscCall(PetscPrintf(comm, "mxpcs fit: -fit_mode auto: SAXS fits only, because %s has no %s and %s (not an `mxpcs analyze` results file with rates, or an older layout); -fit_mode joint makes this an error\n", inputs[first], gam, age));
  PetscFunctionReturn(0);
}

static PetscErrorCode JointView(void *j, PetscViewer v) { return MxJointView((MxJoint)j, v); }

/* The joint fit (include/mxpcs/joint.h) of the -i results files into out; its table where
   -joint_view says. Collective. */
static PetscErrorCode FitJoint(MxJoint j, PetscInt ni, char **inputs, const char out[], MxViewOption *view, PetscBool *replaced)
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < ni; i++) PetscCall(MxJointAddResults(j, inputs[i]));
  PetscCall(MxJointSolve(j));
  PetscCall(MxJointWriteFile(j, out, replaced));
  PetscCall(MxViewOptionApply(view, JointView, j));
  PetscFunctionReturn(0);
}

PetscErrorCode MxAppFit(MPI_Comm comm)
{
  char          *inputs[2 * MX_FIT_MAX_INPUTS], *sfiles[MX_FIT_MAX_INPUTS], *names[2 * MX_FIT_MAX_INPUTS], out[PETSC_MAX_PATH_LEN] = "";
  PetscInt       ni = MX_FIT_MAX_INPUTS, nsf = MX_FIT_MAX_INPUTS, nn = 2 * MX_FIT_MAX_INPUTS, qu = MX_SAXS_Q_AUTO;
  PetscBool      iset, sset, nset, help, require_converged = PETSC_TRUE, joint = PETSC_FALSE, replaced = PETSC_FALSE, can_join;
  MxViewOption   jview = {NULL, PETSC_VIEWER_DEFAULT};
  MxSaxsModel    sm;
  MxJoint        jf;
  const char    *modes[] = {"auto", "saxs", "joint"};
  PetscInt       mode    = 0;
  MxFitSample   *smp;
  int            ns = 0;
  PetscMPIInt    rank;
  PetscErrorCode ierr = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscOptionsBegin(comm, NULL, "mxpcs fit: SAXS model, S(q), H(q), delta-gamma, joint fit across samples", "mxpcs");
  PetscCall(PetscOptionsStringArray("-i", "mxpcs analyze results files a.h5,b.h5 (one sample each)", "", inputs, &ni, &iset));
  PetscCall(PetscOptionsEList("-fit_mode", "joint: one TAO fit of every -i sample's SAXS and Gamma(q, age) (shared radius, pd, heating; S(q), H(q), delta-gamma); saxs: a SAXS model per sample; auto: joint when every input is an analyze results file with decay rates and no -saxs_file is given", "", modes, 3, modes[mode], &mode, NULL));
  PetscCall(PetscOptionsStringArray("-saxs_file", "SAXS data files F1,F2: NXcanSAS HDF5, mxpcs results, or text 'q I dI'", "", sfiles, &nsf, &sset));
  PetscCall(PetscOptionsStringArray("-fit_samples", "Sample names n1,n2,... for the -i files, then the -saxs_file files (default: each file's name without directory and extension, colloid.h5: colloid): the output groups, and the joint fit's per-sample options -NAME_hydro_D0, -NAME_joint_dense, -NAME_joint_q_range", "MxJointSetSampleNames", names, &nn, &nset));
  PetscCall(PetscOptionsString("-o", "Output file (HDF5, written as FILE.part and renamed when complete)", "", out, out, sizeof out, NULL));
  PetscCall(PetscOptionsEList("-saxs_q_unit", "q unit of text SAXS files: auto (a header naming 1/nm means 1/nm, else 1/angstrom), A, nm", "MxSaxsDataRead", MxSaxsQUnits, 3, MxSaxsQUnits[qu], &qu, NULL));
  PetscCall(PetscOptionsBool("-saxs_require_converged", "A SAXS fit that does not converge is an error (0: written with converged = 0 and a warning)", "", require_converged, &require_converged, NULL));
  PetscCall(MxViewOptionSet(&jview, PETSC_VIEWER_STDOUT_(comm)));
  PetscCall(MxOptionsView("-joint_view", "Where the joint fit's table of parameters goes (default: standard output; 0: nowhere), e.g. ascii:joint.txt", "MxJointView", &jview));
  PetscOptionsEnd();
  if (!iset) ni = 0;
  if (!sset) nsf = 0;
  if (!nset) nn = 0;
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  PetscCall(PetscCalloc1(ni + nsf + 1, &smp));
  for (PetscInt i = 0; i < nsf; i++) inputs[ni + i] = sfiles[i]; /* -i then -saxs_file, one list */
  /* a joint fit is possible: the -i samples' names are the prefixes of their options */
  can_join = mode != 1 && nsf == 0 && ni > 0 ? PETSC_TRUE : PETSC_FALSE;
  ierr     = FitSampleNames(comm, ni + nsf, inputs, nn, names, can_join && !help, smp);
  PetscCall(MxSaxsModelCreate(comm, &sm));
  PetscCall(MxJointCreate(comm, &jf));
  if (!ierr && can_join) {
    const char *jn[MX_FIT_MAX_INPUTS];
    PetscBool   ok = ni <= MX_FIT_MAX_INPUTS;
    for (PetscInt i = 0; ok && i < ni; i++) ok = (PetscBool)MxOptionsPrefixValid(jn[i] = smp[i].name); /* -help: an invalid name is left out */
    if (ok) ierr = MxJointSetSampleNames(jf, ni, jn);
  }
  if (!ierr) ierr = MxSaxsModelSetFromOptions(sm);
  if (!ierr) ierr = MxJointSetFromOptions(jf);
  for (PetscInt i = 0; i < nn; i++) PetscCall(PetscFree(names[i]));
  if (help || ierr) {
    PetscCall(MxSaxsModelDestroy(&sm));
    PetscCall(MxJointDestroy(&jf));
    PetscCall(MxViewOptionDestroy(&jview));
    PetscCall(PetscFree(smp));
    for (PetscInt i = 0; i < ni + nsf; i++) PetscCall(PetscFree(inputs[i]));
    PetscCall(ierr);
    PetscFunctionReturn(0);
  }
  PetscCall(MxAppCheckOptions(comm, "fit"));
  PetscCheck(out[0], comm, PETSC_ERR_ARG_NULL, "mxpcs fit needs -o FILE, the output file");
  PetscCheck(ni + nsf > 0, comm, PETSC_ERR_ARG_NULL, "mxpcs fit needs data: -i results.h5[,b.h5] (mxpcs analyze output) and/or -saxs_file F (NXcanSAS or text q I dI)");
  if (mode == 2) {
    PetscCheck(ni > 0 && nsf == 0, comm, PETSC_ERR_ARG_WRONG, "option -fit_mode joint: needs -i results files (mxpcs analyze output) and no -saxs_file");
    joint = PETSC_TRUE;
  } else if (mode == 0 && nsf == 0) PetscCall(AllHaveRates(comm, ni, inputs, &joint));
  if (joint) {
    ierr = FitJoint(jf, ni, inputs, out, &jview, &replaced);
    PetscCall(MxJointDestroy(&jf));
    PetscCall(MxSaxsModelDestroy(&sm));
    PetscCall(MxViewOptionDestroy(&jview));
    PetscCall(PetscFree(smp));
    for (PetscInt i = 0; i < ni; i++) PetscCall(PetscFree(inputs[i]));
    PetscCall(ierr);
    PetscCall(PetscPrintf(comm, "mxpcs fit: %s %s (joint fit of %d sample%s)\n", replaced ? "replaced" : "wrote", out, (int)ni, ni == 1 ? "" : "s"));
    PetscFunctionReturn(0);
  }
  PetscCall(MxJointDestroy(&jf));
  PetscCall(MxViewOptionDestroy(&jview));
  for (ns = 0; ns < ni + nsf; ns++) smp[ns].results = ns < ni;

  ierr = FitSaxsSamples(comm, sm, (MxSaxsQUnit)qu, require_converged, ns, smp);
  if (!ierr) {
    const char *paths[2 * MX_FIT_MAX_INPUTS];
    char        ident[4096], start[64];
    for (int i = 0; i < ns; i++) paths[i] = smp[i].path;
    ierr = MxFitInputsEntry(comm, ns, paths, ident, sizeof ident, start, sizeof start);
    if (!ierr) {
      MxOutEntry     e     = {ident, start[0] ? start : NULL, "fit (saxs)", NULL, NULL};
      PetscErrorCode local = 0;
      if (!rank) local = FitWriteLocal(out, &e, ns, smp, &replaced);
      ierr = MxErrorSync(comm, local);
    }
  }
  for (int i = 0; i < ns; i++) PetscCall(FitSampleFree(&smp[i]));
  PetscCall(PetscFree(smp));
  PetscCall(MxSaxsModelDestroy(&sm));
  for (PetscInt i = 0; i < ni + nsf; i++) PetscCall(PetscFree(inputs[i]));
  PetscCall(ierr);
  if (!rank) PetscCall(PetscPrintf(PETSC_COMM_SELF, "mxpcs fit: %s %s (%d sample%s)\n", replaced ? "replaced" : "wrote", out, ns, ns == 1 ? "" : "s"));
  PetscFunctionReturn(0);
}
