/* User bad-pixel masks: HDF5 dataset /mask of shape (16,512,128), nonzero = bad. */
#include <mxpcs/sys.h>

static PetscErrorCode MaskRead(const char path[], unsigned char *bad)
{
  const size_t n = (size_t)MX_NMOD * MX_MODPIX;
  hid_t        f, d, sp, ft, mt = -1;
  hsize_t      dims[8];
  int          nd;
  H5T_class_t  cls;
  herr_t       e;
  size_t       sz;
  char        *buf;

  PetscFunctionBeginUser;
  f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  MxH5Call(f, PETSC_COMM_SELF, "%s: cannot open the mask file (missing, or not HDF5?)", path);
  if (!MxH5Exists(f, "/mask")) {
    H5Fclose(f);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset mask is missing (expected /mask of shape (16,512,128), nonzero = bad)", path);
  }
  d = H5Dopen2(f, "/mask", H5P_DEFAULT);
  if (d < 0) {
    H5Fclose(f);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot open dataset mask", path);
  }
  sp = H5Dget_space(d);
  nd = H5Sget_simple_extent_ndims(sp);
  if (nd >= 0 && nd <= 8) H5Sget_simple_extent_dims(sp, dims, NULL);
  H5Sclose(sp);
  if (nd != 3 || dims[0] != MX_NMOD || dims[1] != MX_NSS || dims[2] != MX_NFS) {
    char shape[128] = "";
    for (int k = 0; k < nd && k < 8; k++) {
      size_t l = strlen(shape);
      snprintf(shape + l, sizeof shape - l, "%s%llu", k ? "," : "", (unsigned long long)dims[k]);
    }
    H5Dclose(d);
    H5Fclose(f);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset mask has shape (%s), expected (%d,%d,%d)", path, shape, MX_NMOD, MX_NSS, MX_NFS);
  }
  ft  = H5Dget_type(d);
  cls = H5Tget_class(ft);
  if (cls == H5T_INTEGER || cls == H5T_ENUM || cls == H5T_BITFIELD) mt = H5Tget_native_type(ft, H5T_DIR_ASCEND);
  else if (cls == H5T_FLOAT) mt = H5Tcopy(H5T_NATIVE_DOUBLE);
  H5Tclose(ft);
  if (mt < 0) {
    H5Dclose(d);
    H5Fclose(f);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset mask must hold integers, booleans or floats", path);
  }
  sz = H5Tget_size(mt);
  PetscCall(PetscMalloc1(n * sz, &buf));
  e = H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  H5Tclose(mt);
  H5Dclose(d);
  H5Fclose(f);
  if (e < 0) {
    PetscCall(PetscFree(buf));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: reading dataset mask failed", path);
  }
  if (cls == H5T_FLOAT) {
    const double *v = (const double *)buf;
    for (size_t k = 0; k < n; k++) bad[k] = v[k] != 0.0;
  } else {
    for (size_t k = 0; k < n; k++) {
      unsigned char any = 0;
      for (size_t b = 0; b < sz; b++) any |= (unsigned char)buf[k * sz + b];
      bad[k] = any != 0;
    }
  }
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(0);
}

PetscErrorCode MxMaskFileRead(MPI_Comm comm, const char path[], unsigned char *bad)
{
  PetscMPIInt    rank;
  PetscErrorCode ierr = 0;

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  if (!rank) ierr = MaskRead(path, bad);
  PetscCall(MxErrorSync(comm, ierr));
  PetscCallMPI(MPI_Bcast(bad, MX_NMOD * MX_MODPIX, MPI_UNSIGNED_CHAR, 0, comm));
  PetscFunctionReturn(0);
}
