/* X-ray gas monitor (XGM): per-pulse energies of the reader's trains and frames, from the DAQ's
   DA files (euxfel-format.md: SA2_XTD1_XGM/XGM/DOOCS:output, data.intensityTD in uJ). */
#include "readerimpl.h"
#include <dirent.h>
#include <math.h>
#include <regex.h>
#include <sys/stat.h>

static int IsDir(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The XGM sources of a file: INSTRUMENT/<name containing XGM>/.../data with intensityTD. */
static PetscErrorCode FindSource(hid_t f, const char fname[], char src[], size_t len)
{
  hsize_t n = 0;
  char   *all;
  const char *dset = MxH5Exists(f, "METADATA/dataSources/dataSourceId") ? "METADATA/dataSources/dataSourceId" : "METADATA/dataSourceId";

  PetscFunctionBeginUser;
  src[0] = 0;
  if (!MxH5Exists(f, dset)) PetscFunctionReturn(0);
  PetscCall(MxH5ReadStrings(f, fname, dset, &n, 256, &all));
  for (hsize_t i = 0; i < n && !src[0]; i++) {
    const char *s = all + i * 256;
    char        path[300];
    size_t      l = strlen(s);
    if (strncmp(s, "INSTRUMENT/", 11) || !strstr(s, "XGM") || l < 16 || strcmp(s + l - 5, "/data")) continue;
    snprintf(path, sizeof path, "%s/intensityTD", s);
    if (MxH5Exists(f, path)) snprintf(src, len, "%.*s", (int)(l - 16), s + 11);
  }
  PetscCall(PetscFree(all));
  PetscFunctionReturn(0);
}

/* Candidate DA files: `where` itself when a file; else the RAW-*-DA*-S*.h5 files of `where`
   (a directory), or of the run directory and its raw/ sibling (proc/r0123 -> raw/r0123). */
static int Candidates(const char where[], const char rundir[], char (*out)[MX_PATHLEN], int max)
{
  char    dirs[2][MX_PATHLEN];
  int     nd = 0, n = 0;
  regex_t re;

  if (where[0] && !IsDir(where)) {
    snprintf(out[0], MX_PATHLEN, "%s", where);
    return 1;
  }
  if (where[0]) snprintf(dirs[nd++], MX_PATHLEN, "%s", where);
  else {
    const char *base = strrchr(rundir, '/');
    snprintf(dirs[nd++], MX_PATHLEN, "%s", rundir);
    if (base && base > rundir) {
      const char *kind = base - 1;
      while (kind > rundir && *kind != '/') kind--;
      if (*kind == '/' && !strncmp(kind + 1, "proc/", 5)) snprintf(dirs[nd++], MX_PATHLEN, "%.*s/raw%s", (int)(kind - rundir), rundir, base);
    }
  }
  if (regcomp(&re, "^RAW-R[0-9]{4}-DA[0-9]+-S[0-9]{5}\\.h5$", REG_EXTENDED | REG_NOSUB)) return 0;
  for (int k = 0; k < nd; k++) {
    DIR           *dp = opendir(dirs[k]);
    struct dirent *de;
    if (!dp) continue;
    while ((de = readdir(dp)) && n < max)
      if (!regexec(&re, de->d_name, 0, NULL, 0)) snprintf(out[n++], MX_PATHLEN, "%.*s/%s", MX_PATHLEN - 300, dirs[k], de->d_name);
    closedir(dp);
  }
  regfree(&re);
  return n;
}

/* Rank 0: fill E (ntr x nsel, uJ; NaN where the XGM did not record the train). */
static PetscErrorCode ReadXgm(MxReader r, const char where[], const char source[], PetscInt offset, double *E, char used[], size_t len, PetscBool *found)
{
  char (*cand)[MX_PATHLEN];
  int  nc;
  PetscInt ntr = r->idx.ntrains, nsel = r->nsel;

  PetscFunctionBeginUser;
  *found = PETSC_FALSE;
  used[0] = 0;
  PetscCall(PetscMalloc1(256, &cand));
  nc = Candidates(where, r->idx.dir, cand, 256);
  PetscCheck(!where[0] || nc > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "option -analyze_xgm: %s holds no DA files (RAW-R####-DA##-S#####.h5)", where);
  for (PetscInt i = 0; i < ntr * nsel; i++) E[i] = NAN;
  for (int c = 0; c < nc; c++) {
    char      src[256], path[512];
    hsize_t   nt, dims[2];
    uint64_t *tid, *first, *count;
    hid_t     f = H5Fopen(cand[c], H5F_ACC_RDONLY, H5P_DEFAULT), d, sp;
    MxH5Call(f, PETSC_COMM_SELF, "%s: cannot open as HDF5 (truncated, corrupted or not HDF5)", cand[c]);
    if (source[0]) snprintf(src, sizeof src, "%s", source);
    else PetscCall(FindSource(f, cand[c], src, sizeof src));
    snprintf(path, sizeof path, "INSTRUMENT/%s/data/intensityTD", src);
    if (!src[0] || !MxH5Exists(f, path)) {
      H5Fclose(f);
      continue;
    }
    d = H5Dopen2(f, path, H5P_DEFAULT);
    MxH5Call(d, PETSC_COMM_SELF, "%s: cannot open %s", cand[c], path);
    sp = H5Dget_space(d);
    PetscCheck(H5Sget_simple_extent_ndims(sp) == 2, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is not 2-D (trains x pulse slots)", cand[c], path);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    PetscCheck(offset + r->sel[nsel - 1] < (PetscInt)dims[1], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has %llu pulse slots, frame %" PetscInt_FMT " + offset %" PetscInt_FMT " is beyond them", cand[c], path, (unsigned long long)dims[1], r->sel[nsel - 1], offset);
    float *buf;
    PetscCall(MxH5Length(f, cand[c], "INDEX/trainId", &nt));
    PetscCall(PetscMalloc4(nt + 1, &tid, nt + 1, &first, nt + 1, &count, dims[0] * dims[1] + 1, &buf));
    PetscCall(MxH5ReadU64(f, cand[c], "INDEX/trainId", 0, nt, tid));
    snprintf(path, sizeof path, "INDEX/%s/data/first", src);
    PetscCall(MxH5ReadU64(f, cand[c], path, 0, nt, first));
    snprintf(path, sizeof path, "INDEX/%s/data/count", src);
    PetscCall(MxH5ReadU64(f, cand[c], path, 0, nt, count));
    MxH5Call(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), PETSC_COMM_SELF, "%s: reading INSTRUMENT/%s/data/intensityTD failed", cand[c], src);
    H5Dclose(d);
    H5Fclose(f);
    for (hsize_t i = 0; i < nt; i++) {
      if (!tid[i] || count[i] < 1) continue;
      PetscCheck(first[i] < dims[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: INDEX/%s/data/first of train %llu points beyond the data (%llu rows)", cand[c], src, (unsigned long long)tid[i], (unsigned long long)dims[0]);
      /* the reader's trains are sorted by ID */
      PetscInt lo = 0, hi = ntr;
      while (lo < hi) {
        PetscInt mid = (lo + hi) / 2;
        if (r->idx.tid[mid] < tid[i]) lo = mid + 1;
        else hi = mid;
      }
      if (lo >= ntr || r->idx.tid[lo] != tid[i]) continue;
      for (PetscInt k = 0; k < nsel; k++) E[lo * nsel + k] = buf[first[i] * dims[1] + (hsize_t)(offset + r->sel[k])];
    }
    PetscCall(PetscFree4(tid, first, count, buf));
    *found = PETSC_TRUE;
    if (!used[0]) snprintf(used, len, "%s:%s", cand[c], src);
  }
  PetscCheck(!where[0] || *found, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "option -analyze_xgm: no XGM source%s%s with data/intensityTD in %s", source[0] ? " " : "", source, where);
  PetscCall(PetscFree(cand));
  PetscFunctionReturn(0);
}

PetscErrorCode MxReaderReadXgm(MxReader r, const char where[], const char source[], PetscInt pulse_offset, double *E, char used[], size_t len, PetscBool *found)
{
  PetscMPIInt    rank;
  PetscErrorCode ierr = 0;
  int            fnd  = 0;

  PetscFunctionBeginUser;
  PetscCheck(r->setup, r->comm, PETSC_ERR_ARG_WRONGSTATE, "MxReaderReadXgm: call MxReaderSetUp first");
  PetscCheck(pulse_offset >= 0, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -analyze_xgm_pulse_offset: must be >= 0");
  MPI_Comm_rank(r->comm, &rank);
  if (!rank) {
    PetscBool f = PETSC_FALSE;
    ierr        = ReadXgm(r, where, source, pulse_offset, E, used, len, &f);
    fnd         = f;
  }
  PetscCall(MxErrorSync(r->comm, ierr));
  PetscCallMPI(MPI_Bcast(&fnd, 1, MPI_INT, 0, r->comm));
  *found = fnd ? PETSC_TRUE : PETSC_FALSE;
  if (fnd) {
    PetscCallMPI(MPI_Bcast(E, (int)(r->idx.ntrains * r->nsel), MPI_DOUBLE, 0, r->comm));
    PetscCallMPI(MPI_Bcast(used, (int)len, MPI_CHAR, 0, r->comm));
  }
  PetscFunctionReturn(0);
}
