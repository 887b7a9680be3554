/* HDF5 helpers: tolerant readers for the EuXFEL layout and atomic parallel writers. */
#include <mxpcs/sys.h>
#include <stdio.h>
#include <unistd.h>

PetscErrorCode MxH5Silence(void)
{
  PetscFunctionBeginUser;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  PetscFunctionReturn(0);
}

PetscBool MxH5Exists(hid_t loc, const char path[])
{
  /* walk the path so that a missing intermediate group is not an error */
  char   buf[1024];
  size_t n = strlen(path);
  if (n >= sizeof buf) return PETSC_FALSE;
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] == '/' || buf[i] == 0) {
      char c = buf[i];
      buf[i] = 0;
      if (H5Lexists(loc, buf, H5P_DEFAULT) <= 0) return PETSC_FALSE;
      if (H5Oexists_by_name(loc, buf, H5P_DEFAULT) <= 0) return PETSC_FALSE;
      buf[i] = c;
    }
  }
  return PETSC_TRUE;
}

PetscErrorCode MxH5Length(hid_t f, const char fname[], const char dset[], hsize_t *n)
{
  hid_t   d, sp;
  hsize_t dims[8];
  int     nd;

  PetscFunctionBeginUser;
  PetscCheck(MxH5Exists(f, dset), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is missing", fname, dset);
  d = H5Dopen2(f, dset, H5P_DEFAULT);
  MxH5Call(d, PETSC_COMM_SELF, "%s: cannot open dataset %s", fname, dset);
  sp = H5Dget_space(d);
  nd = H5Sget_simple_extent_dims(sp, dims, NULL);
  H5Sclose(sp);
  H5Dclose(d);
  PetscCheck(nd >= 1 && nd <= 8, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s has no dimensions", fname, dset);
  *n = dims[0];
  PetscFunctionReturn(0);
}

PetscErrorCode MxH5ReadU64(hid_t f, const char fname[], const char dset[], hsize_t start, hsize_t n, uint64_t *out)
{
  hid_t   d, fs, ms;
  hsize_t dims[2], off[2] = {start, 0}, cnt[2] = {n, 1};
  int     nd;
  herr_t  e;

  PetscFunctionBeginUser;
  if (!n) PetscFunctionReturn(0);
  PetscCheck(MxH5Exists(f, dset), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is missing", fname, dset);
  d = H5Dopen2(f, dset, H5P_DEFAULT);
  MxH5Call(d, PETSC_COMM_SELF, "%s: cannot open dataset %s", fname, dset);
  fs = H5Dget_space(d);
  nd = H5Sget_simple_extent_ndims(fs);
  if (nd < 1 || nd > 2) {
    H5Sclose(fs);
    H5Dclose(d);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has rank %d, expected (N,) or (N,1)", fname, dset, nd);
  }
  H5Sget_simple_extent_dims(fs, dims, NULL);
  if ((nd == 2 && dims[1] != 1) || start + n > dims[0]) {
    H5Sclose(fs);
    H5Dclose(d);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has shape (%llu%s), cannot read rows %llu..%llu", fname, dset, (unsigned long long)dims[0], nd == 2 ? ",N" : "", (unsigned long long)start, (unsigned long long)(start + n - 1));
  }
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL);
  ms = H5Screate_simple(1, &n, NULL);
  e  = H5Dread(d, H5T_NATIVE_UINT64, ms, fs, H5P_DEFAULT, out);
  H5Sclose(ms);
  H5Sclose(fs);
  H5Dclose(d);
  MxH5Call(e, PETSC_COMM_SELF, "%s: reading %s rows %llu..%llu failed (file truncated or corrupted?)", fname, dset, (unsigned long long)start, (unsigned long long)(start + n - 1));
  PetscFunctionReturn(0);
}

static PetscErrorCode MxH5ReadStringsAt(hid_t f, const char fname[], const char dset[], hsize_t i0, hsize_t *n, size_t len, char **strs)
{
  hid_t   d, sp, ft, mt;
  hsize_t dims[1] = {0};
  int     nd;
  herr_t  e;
  char   *out;

  PetscFunctionBeginUser;
  PetscCheck(MxH5Exists(f, dset), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is missing", fname, dset);
  d = H5Dopen2(f, dset, H5P_DEFAULT);
  MxH5Call(d, PETSC_COMM_SELF, "%s: cannot open dataset %s", fname, dset);
  sp = H5Dget_space(d);
  nd = H5Sget_simple_extent_ndims(sp);
  if (nd == 1) H5Sget_simple_extent_dims(sp, dims, NULL);
  else if (nd == 0) dims[0] = 1;
  ft = H5Dget_type(d);
  if (H5Tget_class(ft) != H5T_STRING || nd > 1) {
    H5Tclose(ft);
    H5Sclose(sp);
    H5Dclose(d);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is not a 1-D string dataset", fname, dset);
  }
  PetscCall(PetscCalloc1(dims[0] * len + 1, &out));
  if (H5Tis_variable_str(ft) > 0) {
    char **v;
    PetscCall(PetscCalloc1(dims[0] + 1, &v));
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    e = H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    if (e >= 0) {
      for (hsize_t k = 0; k < dims[0]; k++) snprintf(out + k * len, len, "%s", v[k] ? v[k] : "");
      H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, v);
    }
    PetscCall(PetscFree(v));
  } else {
    size_t fl = H5Tget_size(ft);
    char  *raw;
    PetscCall(PetscCalloc1(dims[0] * (fl + 1) + 1, &raw));
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, fl + 1);
    H5Tset_strpad(mt, H5T_STR_NULLTERM);
    e = H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw);
    if (e >= 0)
      for (hsize_t k = 0; k < dims[0]; k++) snprintf(out + k * len, len, "%s", raw + k * (fl + 1));
    PetscCall(PetscFree(raw));
  }
  H5Tclose(mt);
  H5Tclose(ft);
  H5Sclose(sp);
  H5Dclose(d);
  if (e < 0) PetscCall(PetscFree(out));
  MxH5Call(e, PETSC_COMM_SELF, "%s: cannot read strings from %s", fname, dset);
  (void)i0;
  *n    = dims[0];
  *strs = out;
  PetscFunctionReturn(0);
}

PetscErrorCode MxH5ReadStrings(hid_t f, const char fname[], const char dset[], hsize_t *n, size_t len, char **strs)
{
  PetscFunctionBeginUser;
  PetscCall(MxH5ReadStringsAt(f, fname, dset, 0, n, len, strs));
  PetscFunctionReturn(0);
}

PetscErrorCode MxH5ReadString(hid_t f, const char fname[], const char dset[], hsize_t i, char *buf, size_t len)
{
  hsize_t n;
  char   *all;

  PetscFunctionBeginUser;
  PetscCall(MxH5ReadStringsAt(f, fname, dset, 0, &n, len, &all));
  PetscCheck(i < n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has %llu entries, wanted entry %llu", fname, dset, (unsigned long long)n, (unsigned long long)i);
  snprintf(buf, len, "%s", all + i * len);
  PetscCall(PetscFree(all));
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutputTempName(const char path[], char tmp[], size_t len)
{
  PetscFunctionBeginUser;
  snprintf(tmp, len, "%s.part", path);
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutputCommit(MPI_Comm comm, const char path[])
{
  char        tmp[PETSC_MAX_PATH_LEN];
  PetscMPIInt rank;
  int         ok = 1;

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  PetscCall(MxOutputTempName(path, tmp, sizeof tmp));
  if (!rank) ok = rename(tmp, path) == 0;
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
  PetscCheck(ok, comm, PETSC_ERR_FILE_WRITE, "%s: cannot rename the finished %s into place", path, tmp);
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutputDiscard(MPI_Comm comm, const char path[])
{
  char        tmp[PETSC_MAX_PATH_LEN];
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  PetscCall(MxOutputTempName(path, tmp, sizeof tmp));
  if (!rank) unlink(tmp);
  PetscFunctionReturn(0);
}

PetscErrorCode MxH5CreateParallel(MPI_Comm comm, const char path[], hid_t *file)
{
  char  tmp[PETSC_MAX_PATH_LEN];
  hid_t fapl;

  PetscFunctionBeginUser;
  PetscCall(MxOutputTempName(path, tmp, sizeof tmp));
  fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  *file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  MxH5Call(*file, comm, "%s: cannot create output file (directory missing or not writable?)", tmp);
  PetscFunctionReturn(0);
}

/* A string attribute (fixed or variable length, scalar or the first element of an array) into
   buf; returns PETSC_FALSE (buf "") when absent or not a string. */
PetscBool MxH5ReadAttrString(hid_t obj, const char name[], char *buf, size_t len)
{
  hid_t     a, t, sp, mt;
  hssize_t  np;
  PetscBool ok = PETSC_FALSE;

  buf[0] = 0;
  if (H5Aexists(obj, name) <= 0) return PETSC_FALSE;
  a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0) return PETSC_FALSE;
  t  = H5Aget_type(a);
  sp = H5Aget_space(a);
  np = H5Sget_simple_extent_npoints(sp);
  if (H5Tget_class(t) == H5T_STRING && np >= 1) {
    if (H5Tis_variable_str(t) > 0) {
      char **v = calloc((size_t)np, sizeof(char *));
      mt       = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, H5T_VARIABLE);
      H5Tset_cset(mt, H5Tget_cset(t));
      if (v && H5Aread(a, mt, v) >= 0) {
        snprintf(buf, len, "%s", v[0] ? v[0] : "");
        H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, v);
        ok = PETSC_TRUE;
      }
      H5Tclose(mt);
      free(v);
    } else {
      size_t fl  = H5Tget_size(t);
      char  *raw = calloc((size_t)np * (fl + 1) + 1, 1);
      mt         = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, fl + 1);
      H5Tset_strpad(mt, H5T_STR_NULLTERM);
      if (raw && H5Aread(a, mt, raw) >= 0) {
        snprintf(buf, len, "%s", raw);
        ok = PETSC_TRUE;
      }
      H5Tclose(mt);
      free(raw);
    }
  }
  H5Sclose(sp);
  H5Tclose(t);
  H5Aclose(a);
  return ok;
}

PetscErrorCode MxH5WriteAttrString(hid_t obj, const char name[], const char value[])
{
  hid_t  t, s, a;
  herr_t e;

  PetscFunctionBeginUser;
  t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, strlen(value) + 1);
  s = H5Screate(H5S_SCALAR);
  a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
  e = a < 0 ? -1 : H5Awrite(a, t, value);
  if (a >= 0) H5Aclose(a);
  H5Sclose(s);
  H5Tclose(t);
  MxH5Call(e, PETSC_COMM_SELF, "cannot write attribute %s", name);
  PetscFunctionReturn(0);
}

PetscErrorCode MxH5WriteArray(MPI_Comm comm, hid_t file, const char path[], hid_t memtype, int rank, const hsize_t dims[], const void *buf, const char units[])
{
  hid_t       lcpl, sp, d, xfer;
  herr_t      e;
  PetscMPIInt r;

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &r);
  lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
  hsize_t npts = 1;
  for (int i = 0; i < rank; i++) npts *= dims[i];
  /* images of a million values or more (maps, mean frames): deflated in chunks of rows, which
     keeps mostly-empty detector images small (parallel HDF5 deflates in collective writes) */
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (rank >= 2 && rank <= 3 && npts >= ((hsize_t)1 << 20) && H5Tget_class(memtype) != H5T_STRING) {
    hsize_t chunk[3];
    for (int i = 0; i < rank; i++) chunk[i] = dims[i];
    for (int i = 0; i < rank - 2; i++) chunk[i] = 1;
    chunk[rank - 2] = PetscMin(dims[rank - 2], 128);
    H5Pset_chunk(dcpl, rank, chunk);
    H5Pset_deflate(dcpl, 1);
  }
  d = H5Dcreate2(file, path, memtype, sp, lcpl, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Pclose(lcpl);
  if (d < 0) {
    H5Sclose(sp);
    SETERRQ(comm, PETSC_ERR_FILE_WRITE, "cannot create dataset %s", path);
  }
  if (r || !npts) H5Sselect_none(sp); /* an empty dataset: nothing to write */
  xfer = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(xfer, H5FD_MPIO_COLLECTIVE);
  e = npts ? H5Dwrite(d, memtype, sp, sp, xfer, buf) : 0;
  H5Pclose(xfer);
  if (e >= 0 && units) {
    PetscCall(MxH5WriteAttrString(d, "units", units));
  }
  H5Sclose(sp);
  H5Dclose(d);
  MxH5Call(e, comm, "cannot write dataset %s", path);
  PetscFunctionReturn(0);
}

PetscErrorCode MxH5WriteString(MPI_Comm comm, hid_t file, const char path[], const char text[])
{
  long long len = (long long)strlen(text ? text : "") + 1;
  hid_t     ty;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, comm)); /* rank 0's string decides the size */
  ty = H5Tcopy(H5T_C_S1);
  H5Tset_size(ty, (size_t)len);
  PetscErrorCode ierr = MxH5WriteArray(comm, file, path, ty, 0, NULL, text ? text : "", NULL);
  H5Tclose(ty);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
