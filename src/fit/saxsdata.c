/* Readers of 1-D SAXS data for `mxpcs fit`: mxpcs analyze results (their paths from the results
   schema, include/mxpcs/schema.def), NXcanSAS HDF5 (as written by sasview/sasdata, Nika, Mantid)
   and "q I dI" text; and the /entry of a fit output from its inputs. Not collective (but
   MxSaxsDataBcast, MxFitInputsEntry); errors on PETSC_COMM_SELF name the file and the dataset or
   line. See include/mxpcs/saxsfit.h. */
#include <mxpcs/saxsfit.h>
#include <mxpcs/schema.h>
#include <mxpcs/sys.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

const char *const MxSaxsQUnits[] = {"auto", "A", "nm"};

PetscErrorCode MxSaxsDataDestroy(MxSaxsData *d)
{
  PetscFunctionBeginUser;
  if (!d) PetscFunctionReturn(0);
  PetscCall(PetscFree3(d->q, d->Iq, d->Ierr));
  PetscCall(PetscMemzero(d, sizeof(*d)));
  PetscFunctionReturn(0);
}

static PetscErrorCode DataAlloc(MxSaxsData *d, PetscInt n)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree3(d->q, d->Iq, d->Ierr));
  PetscCall(PetscMalloc3(n > 0 ? n : 1, &d->q, n > 0 ? n : 1, &d->Iq, n > 0 ? n : 1, &d->Ierr));
  d->n = n;
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsDataBcast(MPI_Comm comm, MxSaxsData *d)
{
  PetscMPIInt rank;
  PetscInt    n = d->n;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Bcast(&n, 1, MPIU_INT, 0, comm));
  if (rank) PetscCall(DataAlloc(d, n));
  PetscCallMPI(MPI_Bcast(d->q, (PetscMPIInt)n, MPI_DOUBLE, 0, comm));
  PetscCallMPI(MPI_Bcast(d->Iq, (PetscMPIInt)n, MPI_DOUBLE, 0, comm));
  PetscCallMPI(MPI_Bcast(d->Ierr, (PetscMPIInt)n, MPI_DOUBLE, 0, comm));
  PetscCallMPI(MPI_Bcast(d->I_units, sizeof d->I_units, MPI_CHAR, 0, comm));
  PetscCallMPI(MPI_Bcast(d->origin, sizeof d->origin, MPI_CHAR, 0, comm));
  PetscFunctionReturn(0);
}

/* ------------------------------------------------------------------------ HDF5 helpers */


/* 1-D double dataset (shape (N,) or (N,1)) of group g: *n points into a new array. */
static PetscErrorCode ReadVector(hid_t g, const char fname[], const char gname[], const char dname[], hsize_t *n, double **v)
{
  hid_t   d, sp;
  hsize_t dims[4];
  int     nd;
  herr_t  e;

  PetscFunctionBeginUser;
  PetscCheck(H5Lexists(g, dname, H5P_DEFAULT) > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s/%s is missing", fname, gname, dname);
  d = H5Dopen2(g, dname, H5P_DEFAULT);
  MxH5Call(d, PETSC_COMM_SELF, "%s: %s/%s is not a dataset", fname, gname, dname);
  sp = H5Dget_space(d);
  nd = H5Sget_simple_extent_dims(sp, dims, NULL);
  H5Sclose(sp);
  if (!(nd == 1 || (nd == 2 && dims[1] == 1))) {
    H5Dclose(d);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s/%s has rank %d, expected 1-D data (N,)", fname, gname, dname, nd);
  }
  *n = dims[0];
  PetscCall(PetscMalloc1(dims[0] ? dims[0] : 1, v));
  e = dims[0] ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *v) : 0;
  H5Dclose(d);
  if (e < 0) PetscCall(PetscFree(*v));
  MxH5Call(e, PETSC_COMM_SELF, "%s: cannot read %s/%s as numbers", fname, gname, dname);
  PetscFunctionReturn(0);
}

/* The "units" (or canSAS 1.0's "unit") attribute of dataset dname in g. */
static void DatasetUnits(hid_t g, const char dname[], char *buf, size_t len)
{
  hid_t d;

  buf[0] = 0;
  if (H5Lexists(g, dname, H5P_DEFAULT) <= 0) return;
  d = H5Oopen(g, dname, H5P_DEFAULT);
  if (d < 0) return;
  if (!MxH5ReadAttrString(d, "units", buf, len)) MxH5ReadAttrString(d, "unit", buf, len);
  H5Oclose(d);
}

/* Factor from a q unit to 1/angstrom; 0 when unknown. */
static double QUnitFactor(const char *unit)
{
  char u[64];
  int  j = 0;

  for (const char *c = unit; *c && j < 63; c++)
    if (!isspace((unsigned char)*c)) u[j++] = (char)tolower((unsigned char)*c);
  u[j] = 0;
  if (!strcmp(u, "1/a") || !strcmp(u, "1/angstrom") || !strcmp(u, "a^-1") || !strcmp(u, "a-1") || !strcmp(u, "1/ang") || !strcmp(u, "angstrom^-1") || !strcmp(u, "1/\xc3\x85") || !strcmp(u, "\xc3\x85^-1") || !strcmp(u, "a^{-1}")) return 1.0;
  if (!strcmp(u, "1/nm") || !strcmp(u, "nm^-1") || !strcmp(u, "nm-1") || !strcmp(u, "1/nanometer") || !strcmp(u, "nanometer^-1") || !strcmp(u, "nm^{-1}")) return 0.1;
  if (!strcmp(u, "1/m") || !strcmp(u, "m^-1") || !strcmp(u, "1/metre") || !strcmp(u, "1/meter")) return 1e-10;
  return 0.0;
}

static PetscErrorCode OpenRead(const char path[], hid_t *f)
{
  PetscFunctionBeginUser;
  *f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  MxH5Call(*f, PETSC_COMM_SELF, "%s: cannot open as HDF5 (missing, unreadable or not HDF5)", path);
  PetscFunctionReturn(0);
}

/* ------------------------------------------------------------------- mxpcs analyze results */

/* The name of a results item in its group: the last component of its schema path. */
static const char *Leaf(MxSchemaId id)
{
  return strrchr(MxSchemaGet(id)->path, '/') + 1;
}

PetscErrorCode MxSaxsDataReadResults(const char path[], MxSaxsData *d)
{
  hid_t          f, g;
  hsize_t        n[3];
  double        *v[3]     = {NULL, NULL, NULL};
  const char    *grp      = MxSchemaGet(MX_SAXS)->path; /* q, I, I_err are its members */
  const char    *names[3] = {Leaf(MX_SAXS_Q), Leaf(MX_SAXS_I), Leaf(MX_SAXS_I_ERR)};
  PetscErrorCode ierr     = 0;

  PetscFunctionBeginUser;
  PetscCall(OpenRead(path, &f));
  if (!MxH5Exists(f, grp)) {
    H5Fclose(f);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: group %s is missing (not an mxpcs analyze results file?)", path, grp);
  }
  g = H5Gopen2(f, grp, H5P_DEFAULT);
  for (int k = 0; k < 3 && !ierr; k++) ierr = ReadVector(g, path, grp, names[k], &n[k], &v[k]);
  if (!ierr && (n[1] != n[0] || n[2] != n[0])) ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_UNEXPECTED, PETSC_ERROR_INITIAL, "%s: %s/%s, %s, %s have lengths %llu, %llu, %llu; expected equal", path, grp, names[0], names[1], names[2], (unsigned long long)n[0], (unsigned long long)n[1], (unsigned long long)n[2]);
  if (!ierr) {
    ierr = DataAlloc(d, (PetscInt)n[0]);
    if (!ierr) {
      PetscCall(PetscArraycpy(d->q, v[0], n[0]));
      PetscCall(PetscArraycpy(d->Iq, v[1], n[0]));
      PetscCall(PetscArraycpy(d->Ierr, v[2], n[0]));
      DatasetUnits(g, names[1], d->I_units, sizeof d->I_units);
      {
        char qu[64];
        DatasetUnits(g, names[0], qu, sizeof qu);
        if (qu[0]) {
          double fac = QUnitFactor(qu);
          if (fac == 0.0) ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_UNEXPECTED, PETSC_ERROR_INITIAL, "%s: %s has units '%s', expected 1/angstrom or 1/nm", path, MxSchemaGet(MX_SAXS_Q)->path, qu);
          else
            for (PetscInt i = 0; i < d->n; i++) d->q[i] *= fac;
        }
      }
      snprintf(d->origin, sizeof d->origin, "mxpcs results %s", grp);
    }
  }
  for (int k = 0; k < 3; k++) PetscCall(PetscFree(v[k]));
  H5Gclose(g);
  H5Fclose(f);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* ------------------------------------------------------------------------------ NXcanSAS */

typedef struct {
  char found[512];
  char fallback[512]; /* an NXdata with a signal, when no group says SASdata */
} FindSasData;

static herr_t VisitSasData(hid_t obj, const char *name, const H5O_info_t *info, void *ctx)
{
  FindSasData *fd = (FindSasData *)ctx;
  char         cls[64], ncls[64], sig[64];
  hid_t        g;

  if (info->type != H5O_TYPE_GROUP || fd->found[0]) return 0;
  g = H5Oopen(obj, name, H5P_DEFAULT);
  if (g < 0) return 0;
  MxH5ReadAttrString(g, "canSAS_class", cls, sizeof cls);
  MxH5ReadAttrString(g, "NX_class", ncls, sizeof ncls);
  if (!strcmp(cls, "SASdata") || !strcmp(ncls, "SASdata")) snprintf(fd->found, sizeof fd->found, "/%s", name);
  else if (!fd->fallback[0] && !strcmp(ncls, "NXdata") && MxH5ReadAttrString(g, "signal", sig, sizeof sig)) snprintf(fd->fallback, sizeof fd->fallback, "/%s", name);
  H5Oclose(g);
  return fd->found[0] ? 1 : 0;
}

/* The first name of a list attribute ("Q", "Q,Q", "Q Q"): up to the first separator. */
static void FirstName(char *s)
{
  char *p = s;
  while (*p && !isspace((unsigned char)*p) && *p != ',' && *p != ';') p++;
  *p = 0;
}

PetscErrorCode MxSaxsDataReadNXcanSAS(const char path[], MxSaxsData *d)
{
  hid_t          f, g;
  FindSasData    fd;
  char           sig[64] = "I", axis[64] = "Q", unc[64] = "", qu[64] = "";
  hsize_t        n[3];
  double        *v[3] = {NULL, NULL, NULL};
  PetscErrorCode ierr = 0;

  PetscFunctionBeginUser;
  PetscCall(OpenRead(path, &f));
  PetscCall(PetscMemzero(&fd, sizeof fd));
  H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, VisitSasData, &fd, H5O_INFO_BASIC);
  if (!fd.found[0]) memcpy(fd.found, fd.fallback, sizeof fd.found);
  if (!fd.found[0]) {
    H5Fclose(f);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: no NXcanSAS data group (no group with canSAS_class or NX_class SASdata, nor an NXdata with a signal)", path);
  }
  g = H5Gopen2(f, fd.found, H5P_DEFAULT);
  MxH5ReadAttrString(g, "signal", sig, sizeof sig);
  if (!sig[0]) snprintf(sig, sizeof sig, "I");
  {
    char key[80];
    snprintf(key, sizeof key, "%s_axes", sig);
    if (MxH5ReadAttrString(g, key, axis, sizeof axis)) FirstName(axis);
    if (!axis[0]) snprintf(axis, sizeof axis, "Q");
  }
  /* uncertainty: the signal's "uncertainties" (NXcanSAS) or "uncertainty" (canSAS 1.0 writers),
     then the group's I_uncertainties / I_uncertainty, then a dataset Idev */
  if (H5Lexists(g, sig, H5P_DEFAULT) > 0) {
    hid_t ds = H5Oopen(g, sig, H5P_DEFAULT);
    if (ds >= 0) {
      if (!MxH5ReadAttrString(ds, "uncertainties", unc, sizeof unc)) MxH5ReadAttrString(ds, "uncertainty", unc, sizeof unc);
      H5Oclose(ds);
    }
  }
  if (!unc[0]) {
    char key[80];
    snprintf(key, sizeof key, "%s_uncertainties", sig);
    if (!MxH5ReadAttrString(g, key, unc, sizeof unc)) {
      snprintf(key, sizeof key, "%s_uncertainty", sig);
      MxH5ReadAttrString(g, key, unc, sizeof unc);
    }
  }
  FirstName(unc);
  if (!unc[0] && H5Lexists(g, "Idev", H5P_DEFAULT) > 0) snprintf(unc, sizeof unc, "Idev");
  if (!unc[0]) ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_UNEXPECTED, PETSC_ERROR_INITIAL, "%s: %s/%s has no uncertainties (no 'uncertainties' attribute, no Idev): the fit needs dI", path, fd.found, sig);
  if (!ierr) ierr = ReadVector(g, path, fd.found, axis, &n[0], &v[0]);
  if (!ierr) ierr = ReadVector(g, path, fd.found, sig, &n[1], &v[1]);
  if (!ierr) ierr = ReadVector(g, path, fd.found, unc, &n[2], &v[2]);
  if (!ierr && (n[1] != n[0] || n[2] != n[0])) ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_UNEXPECTED, PETSC_ERROR_INITIAL, "%s: %s: %s, %s, %s have lengths %llu, %llu, %llu; expected equal", path, fd.found, axis, sig, unc, (unsigned long long)n[0], (unsigned long long)n[1], (unsigned long long)n[2]);
  if (!ierr) {
    double fac = 1.0;
    DatasetUnits(g, axis, qu, sizeof qu);
    if (qu[0]) fac = QUnitFactor(qu);
    if (fac == 0.0) ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_UNEXPECTED, PETSC_ERROR_INITIAL, "%s: %s/%s has units '%s', expected 1/A, 1/angstrom, 1/nm or 1/m", path, fd.found, axis, qu);
    if (!ierr) ierr = DataAlloc(d, (PetscInt)n[0]);
    if (!ierr) {
      for (PetscInt i = 0; i < d->n; i++) {
        d->q[i]  = v[0][i] * fac;
        d->Iq[i]  = v[1][i];
        d->Ierr[i] = v[2][i];
      }
      DatasetUnits(g, sig, d->I_units, sizeof d->I_units);
      snprintf(d->origin, sizeof d->origin, "NXcanSAS %s", fd.found);
    }
  }
  for (int k = 0; k < 3; k++) PetscCall(PetscFree(v[k]));
  H5Gclose(g);
  H5Fclose(f);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* ----------------------------------------------------------------------------------- text */

/* Whether a header/comment line names q in 1/nm (1) or 1/angstrom (2); 0 if neither. */
static int TextUnitHint(const char *line)
{
  char s[1024];
  int  j = 0;

  for (const char *c = line; *c && j < 1023; c++)
    if (!isspace((unsigned char)*c)) s[j++] = (char)tolower((unsigned char)*c);
  s[j] = 0;
  if (strstr(s, "1/nm") || strstr(s, "nm^-1") || strstr(s, "nm-1") || strstr(s, "nm^{-1}")) return 1;
  if (strstr(s, "1/a") || strstr(s, "a^-1") || strstr(s, "1/angstrom") || strstr(s, "angstrom^-1") || strstr(s, "a-1)") || strstr(s, "[a-1]")) return 2;
  return 0;
}

/* Parses up to 3 numbers separated by spaces, tabs, commas or semicolons; returns how many
   fields the line has (all must be numbers; -1 if one is not). */
static int ParseNumbers(char *line, double x[3])
{
  int   nf = 0;
  char *p  = line;

  for (;;) {
    char *end;
    while (*p && (isspace((unsigned char)*p) || *p == ',' || *p == ';')) p++;
    if (!*p) break;
    errno    = 0;
    double v = strtod(p, &end);
    if (end == p || (*end && !isspace((unsigned char)*end) && *end != ',' && *end != ';')) return -1;
    if (nf < 3) x[nf] = v;
    nf++;
    p = end;
  }
  return nf;
}

PetscErrorCode MxSaxsDataReadText(const char path[], MxSaxsQUnit q_unit, MxSaxsData *d)
{
  FILE    *fp = fopen(path, "r");
  char     line[4096];
  int      lineno = 0, hint = 0, started = 0;
  PetscInt n = 0, cap = 0;
  double  *q = NULL, *Iq = NULL, *Ierr = NULL, fac;

  PetscFunctionBeginUser;
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open (%s)", path, strerror(errno));
  while (fgets(line, sizeof line, fp)) {
    double x[3];
    char  *s = line;
    int    nf;

    lineno++;
    if (!strchr(line, '\n') && !feof(fp)) {
      fclose(fp);
      PetscCall(PetscFree3(q, Iq, Ierr));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: line %d is longer than %d characters", path, lineno, (int)sizeof line - 1);
    }
    while (isspace((unsigned char)*s)) s++;
    if (!*s) continue;
    if (*s == '#') {
      if (!hint) hint = TextUnitHint(s);
      continue;
    }
    nf = ParseNumbers(s, x);
    if (nf < 0 && !started) { /* a header line before the data */
      if (!hint) hint = TextUnitHint(s);
      continue;
    }
    if (nf < 3) {
      s[strcspn(s, "\r\n")] = 0;
      fclose(fp);
      PetscCall(PetscFree3(q, Iq, Ierr));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: line %d: expected 3 numbers 'q I dI', got '%.60s'", path, lineno, s);
    }
    started = 1;
    if (n == cap) {
      double *nq, *nI, *ndI;
      PetscInt ncap = cap ? 2 * cap : 256;
      PetscCall(PetscMalloc3(ncap, &nq, ncap, &nI, ncap, &ndI));
      if (n) {
        PetscCall(PetscArraycpy(nq, q, n));
        PetscCall(PetscArraycpy(nI, Iq, n));
        PetscCall(PetscArraycpy(ndI, Ierr, n));
      }
      PetscCall(PetscFree3(q, Iq, Ierr));
      q   = nq;
      Iq   = nI;
      Ierr  = ndI;
      cap = ncap;
    }
    q[n]  = x[0];
    Iq[n]  = x[1];
    Ierr[n] = x[2];
    n++;
  }
  fclose(fp);
  if (!n) PetscCall(PetscFree3(q, Iq, Ierr));
  PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: no data lines 'q I dI' (%d lines read)", path, lineno);
  fac = q_unit == MX_SAXS_Q_NM ? 0.1 : q_unit == MX_SAXS_Q_A ? 1.0 : (hint == 1 ? 0.1 : 1.0);
  PetscCall(MxSaxsDataDestroy(d));
  d->n  = n;
  d->q  = q;
  d->Iq  = Iq;
  d->Ierr = Ierr;
  for (PetscInt i = 0; i < n; i++) d->q[i] *= fac;
  snprintf(d->origin, sizeof d->origin, "text, q in %s%s", fac == 1.0 ? "1/angstrom" : "1/nm", q_unit == MX_SAXS_Q_AUTO ? (hint ? " (from the header)" : " (default)") : " (-saxs_q_unit)");
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsDataRead(const char path[], MxSaxsQUnit q_unit, MxSaxsData *d)
{
  htri_t is_h5;
  FILE  *fp = fopen(path, "rb");

  PetscFunctionBeginUser;
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open (%s)", path, strerror(errno));
  fclose(fp);
  is_h5 = H5Fis_hdf5(path);
  if (is_h5 > 0) {
    hid_t     f;
    PetscBool results;
    PetscCall(OpenRead(path, &f));
    results = MxH5Exists(f, MxSchemaGet(MX_SAXS_I)->path);
    H5Fclose(f);
    if (results) PetscCall(MxSaxsDataReadResults(path, d));
    else PetscCall(MxSaxsDataReadNXcanSAS(path, d));
  } else PetscCall(MxSaxsDataReadText(path, q_unit, d));
  PetscFunctionReturn(0);
}

/* ------------------------------------------------------------------ the /entry of a fit output */

/* Rank 0's part of MxFitInputsEntry. */
static PetscErrorCode InputsEntryLocal(PetscInt n, const char *const paths[], char ident[], size_t ilen, char start[], size_t slen)
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; i++) {
    char   id[256] = "", st[64] = "";
    size_t l = strlen(ident);

    if (H5Fis_hdf5(paths[i]) > 0) {
      hid_t          f;
      PetscErrorCode ierr = 0;
      const char    *pid = MxSchemaGet(MX_ENTRY_IDENTIFIER)->path, *pst = MxSchemaGet(MX_ENTRY_START_TIME)->path;
      PetscCall(OpenRead(paths[i], &f));
      if (MxH5Exists(f, pid)) ierr = MxH5ReadString(f, paths[i], pid, 0, id, sizeof id);
      if (!ierr && MxH5Exists(f, pst)) ierr = MxH5ReadString(f, paths[i], pst, 0, st, sizeof st);
      H5Fclose(f);
      PetscCall(ierr);
    }
    snprintf(ident + l, ilen - l, "%s%s", i ? "," : "", id[0] ? id : paths[i]);
    if (st[0] && (!start[0] || strcmp(st, start) < 0)) snprintf(start, slen, "%s", st); /* ISO 8601 UTC: sorts as text */
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxFitInputsEntry(MPI_Comm comm, PetscInt n, const char *const paths[], char ident[], size_t ilen, char start[], size_t slen)
{
  PetscMPIInt    rank;
  PetscErrorCode ierr = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  ident[0] = start[0] = 0;
  if (!rank) ierr = InputsEntryLocal(n, paths, ident, ilen, start, slen);
  PetscCall(MxErrorSync(comm, ierr));
  PetscCallMPI(MPI_Bcast(ident, (PetscMPIInt)ilen, MPI_CHAR, 0, comm));
  PetscCallMPI(MPI_Bcast(start, (PetscMPIInt)slen, MPI_CHAR, 0, comm));
  PetscFunctionReturn(0);
}
