/* mxpcs fit: SAXS model fits of one or more samples (design.md 1.7, 3, 4) into /saxs_model.
   Structure for the later stages (H(q), delta-gamma, joint fit): MxAppFit reads the options,
   FitSaxsSamples() fits every sample's I(q) (rank 0 computes, errors reach every rank), and
   FitWriteSaxs() writes one sample's /saxs_model group into the output, which is written under
   FILE.part by rank 0 and renamed when complete. docs/fit.md. */
#include "app.h"
#include <mxpcs/saxsfit.h>
#include <mxpcs/joint.h>
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

/* ------------------------------------------------------------------ output (rank 0, serial HDF5) */

static PetscErrorCode WriteAttrDouble(hid_t obj, const char name[], double v)
{
  hid_t  s = H5Screate(H5S_SCALAR), a = H5Acreate2(obj, name, H5T_NATIVE_DOUBLE, s, H5P_DEFAULT, H5P_DEFAULT);
  herr_t e = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_DOUBLE, &v);

  PetscFunctionBeginUser;
  if (a >= 0) H5Aclose(a);
  H5Sclose(s);
  MxH5Call(e, PETSC_COMM_SELF, "cannot write attribute %s", name);
  PetscFunctionReturn(0);
}

/* A whole dataset written by this rank alone into a serial (rank 0) file, intermediate groups
   created; units NULL for none. */
static PetscErrorCode WriteArray(hid_t f, const char path[], hid_t memtype, int rank, const hsize_t dims[], const void *buf, const char units[])
{
  hid_t  lcpl = H5Pcreate(H5P_LINK_CREATE), sp, d;
  herr_t e;

  PetscFunctionBeginUser;
  H5Pset_create_intermediate_group(lcpl, 1);
  sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
  d  = H5Dcreate2(f, path, memtype, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  H5Sclose(sp);
  MxH5Call(d, PETSC_COMM_SELF, "cannot create dataset %s", path);
  e = H5Dwrite(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  if (e >= 0 && units) {
    PetscErrorCode ierr = MxH5WriteAttrString(d, "units", units);
    if (ierr) H5Dclose(d);
    PetscCall(ierr);
  }
  H5Dclose(d);
  MxH5Call(e, PETSC_COMM_SELF, "cannot write dataset %s", path);
  PetscFunctionReturn(0);
}

/* A dataset of doubles (rank 0 dims, NULL dims for a scalar) with its units attribute. */
static PetscErrorCode WriteD(hid_t f, const char *grp, const char *name, int rank, const hsize_t *dims, const double *v, const char *units)
{
  char path[512];

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof path, "%s/%s", grp, name));
  PetscCall(WriteArray(f, path, H5T_NATIVE_DOUBLE, rank, dims, v, units));
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteString(hid_t f, const char *grp, const char *name, const char *value)
{
  char  path[512];
  hid_t ty = H5Tcopy(H5T_C_S1);

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof path, "%s/%s", grp, name));
  H5Tset_size(ty, strlen(value) + 1);
  PetscCall(WriteArray(f, path, ty, 0, NULL, value, ""));
  H5Tclose(ty);
  PetscFunctionReturn(0);
}

/* One fitted parameter: value and error datasets, the value carrying start, bounds and fixed. */
static PetscErrorCode WriteParam(hid_t f, const char *grp, const MxSaxsResult *r, int k, const char *name, const char *units)
{
  char  path[512];
  hid_t d;

  PetscFunctionBeginUser;
  PetscCall(WriteD(f, grp, name, 0, NULL, &r->p[k], units));
  PetscCall(PetscSNPrintf(path, sizeof path, "%s_err", name));
  PetscCall(WriteD(f, grp, path, 0, NULL, &r->err[k], units));
  PetscCall(PetscSNPrintf(path, sizeof path, "%s/%s", grp, name));
  d = H5Dopen2(f, path, H5P_DEFAULT);
  MxH5Call(d, PETSC_COMM_SELF, "cannot reopen %s", path);
  PetscCall(WriteAttrDouble(d, "start", r->start[k]));
  PetscCall(WriteAttrDouble(d, "lower_bound", r->lo[k]));
  PetscCall(WriteAttrDouble(d, "upper_bound", r->hi[k]));
  PetscCall(MxH5WriteAttrString(d, "fixed", !r->used[k] ? "not in the model" : r->fixed[k] ? "yes" : "no"));
  PetscCall(MxH5WriteAttrString(d, "at_bound", r->at_bound[k] ? "yes" : "no"));
  H5Dclose(d);
  PetscFunctionReturn(0);
}

/* Writes sample s's SAXS model into group grp (design.md 4, docs/fit.md "Output"). */
static PetscErrorCode FitWriteSaxs(hid_t f, const char *grp, const MxFitSample *s)
{
  const MxSaxsResult *r = &s->saxs;
  const char         *Iu = s->I_units[0] ? s->I_units : "arbitrary";
  char                u_scale[160], u_porod[160], names[MX_SAXS_NPAR * 16] = "", fixed[MX_SAXS_NPAR * 16] = "";
  hsize_t             d1[1] = {(hsize_t)s->n}, d2[2] = {(hsize_t)r->nfree, (hsize_t)r->nfree};
  double              v, sr, sr_err;
  hid_t               g;

  PetscFunctionBeginUser;
  g = H5Gcreate2(f, grp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  MxH5Call(g, PETSC_COMM_SELF, "cannot create group %s", grp);
  PetscCall(MxH5WriteAttrString(g, "model", MxSaxsModelTypes[r->spec.type]));
  PetscCall(MxH5WriteAttrString(g, "source", s->path));
  H5Gclose(g);
  if (!strcmp(Iu, "1/cm")) PetscCall(PetscStrncpy(u_scale, "", sizeof u_scale)); /* a volume fraction, as sasmodels */
  else PetscCall(PetscSNPrintf(u_scale, sizeof u_scale, "%s per 1/cm", Iu));
  PetscCall(PetscSNPrintf(u_porod, sizeof u_porod, "%s angstrom^-4", Iu));
  PetscCall(WriteString(f, grp, "model", MxSaxsModelTypes[r->spec.type]));
  PetscCall(WriteString(f, grp, "source", s->path));
  PetscCall(WriteString(f, grp, "source_format", s->origin));
  PetscCall(WriteParam(f, grp, r, MX_SAXS_RADIUS, "radius", "angstrom"));
  PetscCall(WriteParam(f, grp, r, MX_SAXS_PD, "pd", ""));
  MxSaxsResultRadiusSigma(r, &sr, &sr_err);
  PetscCall(WriteD(f, grp, "radius_sigma", 0, NULL, &sr, "angstrom"));
  PetscCall(WriteD(f, grp, "radius_sigma_err", 0, NULL, &sr_err, "angstrom"));
  PetscCall(WriteParam(f, grp, r, MX_SAXS_SCALE, "scale", u_scale));
  PetscCall(WriteParam(f, grp, r, MX_SAXS_BACKGROUND, "background", Iu));
  if (r->used[MX_SAXS_PHI]) {
    PetscCall(WriteParam(f, grp, r, MX_SAXS_PHI, "phi", ""));
    PetscCall(WriteD(f, grp, "radius_effective", 0, NULL, &r->radius_effective, "angstrom"));
  }
  if (r->used[MX_SAXS_SCALE_LIQUID]) PetscCall(WriteParam(f, grp, r, MX_SAXS_SCALE_LIQUID, "scale_liquid", u_scale));
  PetscCall(WriteParam(f, grp, r, MX_SAXS_POROD, "porod", u_porod)); /* 0 +- 0 without -saxs_porod */
  PetscCall(WriteD(f, grp, "chi2", 0, NULL, &r->chi2_red, ""));
  PetscCall(WriteD(f, grp, "chi2_sum", 0, NULL, &r->chi2, ""));
  v = (double)r->npoints;
  PetscCall(WriteD(f, grp, "npoints", 0, NULL, &v, ""));
  v = (double)(r->npoints - r->nfree);
  PetscCall(WriteD(f, grp, "ndof", 0, NULL, &v, ""));
  v = (double)r->nskipped;
  PetscCall(WriteD(f, grp, "npoints_dropped", 0, NULL, &v, ""));
  {
    int  conv = r->converged, it = r->iterations;
    char path[512];
    PetscCall(PetscSNPrintf(path, sizeof path, "%s/converged", grp));
    PetscCall(WriteArray(f, path, H5T_NATIVE_INT, 0, NULL, &conv, ""));
    PetscCall(PetscSNPrintf(path, sizeof path, "%s/iterations", grp));
    PetscCall(WriteArray(f, path, H5T_NATIVE_INT, 0, NULL, &it, ""));
  }
  PetscCall(WriteString(f, grp, "reason", r->reason));
  for (int a = 0; a < r->nfree; a++) {
    size_t l = strlen(names);
    snprintf(names + l, sizeof names - l, "%s%s", a ? "," : "", MxSaxsParamNames[r->free_index[a]]);
  }
  for (int k = 0; k < MX_SAXS_NPAR; k++)
    if (r->fixed[k]) {
      size_t l = strlen(fixed);
      snprintf(fixed + l, sizeof fixed - l, "%s%s", l ? "," : "", MxSaxsParamNames[k]);
    }
  PetscCall(WriteString(f, grp, "parameters", names));
  PetscCall(WriteString(f, grp, "fixed", fixed));
  PetscCall(WriteD(f, grp, "correlation", 2, d2, r->corr, ""));
  PetscCall(WriteD(f, grp, "covariance", 2, d2, r->cov, "(see parameters for the order; units of each pair's product)"));
  {
    double qr[2] = {r->q_min, r->q_max};
    hsize_t two  = 2;
    PetscCall(WriteD(f, grp, "q_range", 1, &two, qr, "1/angstrom"));
  }
  PetscCall(WriteD(f, grp, "q", 1, d1, s->q, "1/angstrom"));
  PetscCall(WriteD(f, grp, "I", 1, d1, s->Iq, Iu));
  PetscCall(WriteD(f, grp, "I_err", 1, d1, s->I_err, Iu));
  PetscCall(WriteD(f, grp, "I_fit", 1, d1, s->I_fit, Iu));
  PetscCall(WriteD(f, grp, "P", 1, d1, s->P, Iu));
  PetscCall(WriteD(f, grp, "S", 1, d1, s->S, ""));
  PetscCall(WriteD(f, grp, "S_err", 1, d1, s->S_err, ""));
  PetscCall(WriteD(f, grp, "S_fit", 1, d1, s->S_fit, ""));
  if (r->spec.type == MX_SAXS_COLLOID_LIQUID) {
    PetscCall(WriteD(f, grp, "S_liquid", 1, d1, s->S_liq, ""));
    PetscCall(WriteD(f, grp, "S_liquid_err", 1, d1, s->S_liq_err, ""));
  }
  {
    char path[512];
    PetscCall(PetscSNPrintf(path, sizeof path, "%s/in_fit", grp));
    PetscCall(WriteArray(f, path, H5T_NATIVE_INT, 1, d1, s->in_fit, ""));
  }
  PetscFunctionReturn(0);
}

/* Rank 0: the whole output file under its .part name. */
static PetscErrorCode FitWriteLocal(const char out[], int ns, const MxFitSample *smp)
{
  char  tmp[PETSC_MAX_PATH_LEN], *opts, list[4096] = "";
  hid_t f, g;

  PetscFunctionBeginUser;
  PetscCall(MxOutputTempName(out, tmp, sizeof tmp));
  f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  MxH5Call(f, PETSC_COMM_SELF, "%s: cannot create output file (directory missing or not writable?)", tmp);
  PetscCall(PetscOptionsGetAll(NULL, &opts));
  {
    PetscErrorCode ierr = WriteString(f, "/entry/process", "options", opts);
    if (!ierr) {
      char prog[64];
      snprintf(prog, sizeof prog, "mxpcs %s fit", MxVersion());
      ierr = WriteString(f, "/entry/process", "program", prog);
    }
    PetscCall(PetscFree(opts));
    if (ierr) H5Fclose(f);
    PetscCall(ierr);
  }
  for (int i = 0; i < ns; i++) {
    size_t l = strlen(list);
    snprintf(list + l, sizeof list - l, "%s%s", i ? "," : "", smp[i].name);
  }
  if (ns > 1) {
    g = H5Gcreate2(f, "/saxs_model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    MxH5Call(g, PETSC_COMM_SELF, "%s: cannot create group /saxs_model", tmp);
    H5Gclose(g);
  }
  for (int i = 0; i < ns; i++) {
    char           grp[256];
    PetscErrorCode ierr;
    if (ns == 1) PetscCall(PetscSNPrintf(grp, sizeof grp, "/saxs_model"));
    else PetscCall(PetscSNPrintf(grp, sizeof grp, "/saxs_model/%s", smp[i].name));
    ierr = FitWriteSaxs(f, grp, &smp[i]);
    if (ierr) H5Fclose(f);
    PetscCall(ierr);
  }
  g = H5Gopen2(f, "/saxs_model", H5P_DEFAULT);
  MxH5Call(g, PETSC_COMM_SELF, "%s: cannot open group /saxs_model", tmp);
  PetscCall(MxH5WriteAttrString(g, "samples", list));
  PetscCall(MxH5WriteAttrString(g, "layout", ns == 1 ? "one sample: its datasets in /saxs_model" : "one group per sample: /saxs_model/<sample>"));
  H5Gclose(g);
  MxH5Call(H5Fclose(f), PETSC_COMM_SELF, "%s: closing the output failed (disk full?)", tmp);
  PetscFunctionReturn(0);
}

/* 1 on every rank when every input is an `mxpcs analyze` results file with decay rates. */
static PetscErrorCode AllHaveRates(MPI_Comm comm, PetscInt ni, char **inputs, PetscBool *all)
{
  PetscMPIInt rank;
  int         ok = ni > 0, first = -1;

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  if (!rank)
    for (PetscInt i = 0; i < ni && ok; i++) {
      hid_t f = H5Fopen(inputs[i], H5F_ACC_RDONLY, H5P_DEFAULT);
      ok      = f >= 0 && MxH5Exists(f, "/xpcs/fit/gamma") && MxH5Exists(f, "/xpcs/g2/age");
      if (f >= 0) H5Fclose(f);
      if (!ok) first = (int)i;
    }
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
  PetscCallMPI(MPI_Bcast(&first, 1, MPI_INT, 0, comm));
  *all = ok ? PETSC_TRUE : PETSC_FALSE;
  /* a results file of an older or different layout: say why there is no joint fit */
  if (!ok && first >= 0) PetscCall(PetscPrintf(comm, "mxpcs fit: -fit_mode auto: SAXS fits only, because %s has no /xpcs/fit/gamma and /xpcs/g2/age (not an `mxpcs analyze` results file with rates, or an older layout); -fit_mode joint makes this an error\n", inputs[first]));
  PetscFunctionReturn(0);
}

/* The joint fit (include/mxpcs/joint.h) of the -i results files into out. Collective. */
static PetscErrorCode FitJoint(MPI_Comm comm, MxJoint j, PetscInt ni, char **inputs, const char out[])
{
  hid_t          f;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < ni; i++) PetscCall(MxJointAddResults(j, inputs[i]));
  PetscCall(MxJointSolve(j));
  PetscCall(MxH5CreateParallel(comm, out, &f));
  ierr = MxJointWrite(j, f);
  herr_t ce = H5Fclose(f);
  if (ierr || ce < 0) {
    PetscCall(MxOutputDiscard(comm, out));
    PetscCall(ierr);
    SETERRQ(comm, PETSC_ERR_FILE_WRITE, "%s: closing the output failed (disk full?)", out);
  }
  PetscCall(MxOutputCommit(comm, out));
  PetscCall(MxJointView(j, PETSC_VIEWER_STDOUT_(comm)));
  PetscFunctionReturn(0);
}

PetscErrorCode MxAppFit(MPI_Comm comm)
{
  char          *inputs[MX_FIT_MAX_INPUTS], *sfiles[MX_FIT_MAX_INPUTS], out[PETSC_MAX_PATH_LEN] = "";
  PetscInt       ni = MX_FIT_MAX_INPUTS, nsf = MX_FIT_MAX_INPUTS, qu = MX_SAXS_Q_AUTO;
  PetscBool      iset, sset, help, require_converged = PETSC_TRUE, joint = PETSC_FALSE;
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
  PetscCall(PetscOptionsString("-o", "Output file (HDF5, written as FILE.part and renamed when complete)", "", out, out, sizeof out, NULL));
  PetscCall(PetscOptionsEList("-saxs_q_unit", "q unit of text SAXS files: auto (a header naming 1/nm means 1/nm, else 1/angstrom), A, nm", "MxSaxsDataRead", MxSaxsQUnits, 3, MxSaxsQUnits[qu], &qu, NULL));
  PetscCall(PetscOptionsBool("-saxs_require_converged", "A SAXS fit that does not converge is an error (0: written with converged = 0 and a warning)", "", require_converged, &require_converged, NULL));
  PetscOptionsEnd();
  if (!iset) ni = 0;
  if (!sset) nsf = 0;
  PetscCall(MxSaxsModelCreate(comm, &sm));
  PetscCall(MxSaxsModelSetFromOptions(sm));
  PetscCall(MxJointCreate(comm, &jf));
  PetscCall(MxJointSetFromOptions(jf));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    PetscCall(MxSaxsModelDestroy(&sm));
    PetscCall(MxJointDestroy(&jf));
    for (PetscInt i = 0; i < ni; i++) PetscCall(PetscFree(inputs[i]));
    for (PetscInt i = 0; i < nsf; i++) PetscCall(PetscFree(sfiles[i]));
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
    ierr = FitJoint(comm, jf, ni, inputs, out);
    PetscCall(MxJointDestroy(&jf));
    PetscCall(MxSaxsModelDestroy(&sm));
    for (PetscInt i = 0; i < ni; i++) PetscCall(PetscFree(inputs[i]));
    PetscCall(ierr);
    PetscCall(PetscPrintf(comm, "mxpcs fit: wrote %s (joint fit of %d sample%s)\n", out, (int)ni, ni == 1 ? "" : "s"));
    PetscFunctionReturn(0);
  }
  PetscCall(MxJointDestroy(&jf));

  PetscCall(PetscCalloc1(ni + nsf, &smp));
  for (PetscInt i = 0; i < ni + nsf; i++) {
    const char *p = i < ni ? inputs[i] : sfiles[i - ni];
    PetscCall(PetscStrncpy(smp[ns].path, p, sizeof smp[ns].path));
    smp[ns].results = i < ni;
    SampleName(p, smp, ns);
    ns++;
  }

  ierr = FitSaxsSamples(comm, sm, (MxSaxsQUnit)qu, require_converged, ns, smp);
  if (!ierr) {
    PetscErrorCode local = 0;
    if (!rank) local = FitWriteLocal(out, ns, smp);
    ierr = MxErrorSync(comm, local);
    if (!ierr) ierr = MxOutputCommit(comm, out);
    if (ierr) PetscCall(MxOutputDiscard(comm, out));
  }
  for (int i = 0; i < ns; i++) PetscCall(FitSampleFree(&smp[i]));
  PetscCall(PetscFree(smp));
  PetscCall(MxSaxsModelDestroy(&sm));
  for (PetscInt i = 0; i < ni; i++) PetscCall(PetscFree(inputs[i]));
  for (PetscInt i = 0; i < nsf; i++) PetscCall(PetscFree(sfiles[i]));
  PetscCall(ierr);
  if (!rank) PetscCall(PetscPrintf(PETSC_COMM_SELF, "mxpcs fit: wrote %s (%d sample%s)\n", out, ns, ns == 1 ? "" : "s"));
  PetscFunctionReturn(0);
}
