/* mxpcs qmap: per-pixel q from a geometry, q-rings, ring map written to HDF5.
   Every rank computes the whole geometry (about 1M pixels), so the output does not depend on
   the rank count; rank 0's buffers are written. */
#include "app.h"
#include <mxpcs/rings.h>

typedef struct {
  MxGeom         g;
  MxRings        r;
  unsigned char *bad;
} QmapCtx;

/* Read dataset /mask (16,512,128) of an HDF5 file, nonzero = bad. Integer, enum (h5py bool) and
   bitfield masks are tested byte-wise, float masks as doubles (NaN counts as bad).
   Not collective (errors on PETSC_COMM_SELF). */

static PetscErrorCode CreateGroup(hid_t f, const char path[], const char nxclass[])
{
  hid_t          grp;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  grp = H5Gcreate2(f, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  MxH5Call(grp, PETSC_COMM_SELF, "cannot create group %s in the output", path);
  ierr = MxH5WriteAttrString(grp, "NX_class", nxclass);
  H5Gclose(grp);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteScalar(MPI_Comm comm, hid_t f, const char path[], double v, const char units[])
{
  PetscFunctionBeginUser;
  PetscCall(MxH5WriteArray(comm, f, path, H5T_NATIVE_DOUBLE, 0, NULL, &v, units));
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteString(MPI_Comm comm, hid_t f, const char path[], const char s[])
{
  hid_t          t = H5Tcopy(H5T_C_S1);
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  H5Tset_size(t, strlen(s) + 1);
  ierr = MxH5WriteArray(comm, f, path, t, 0, NULL, s, NULL);
  H5Tclose(t);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* NXxpcs-style metadata under /entry and the q-map under /xpcs/qmap (design.md section 4).
   Collective on comm. */
static PetscErrorCode WriteQmap(MPI_Comm comm, hid_t f, MxGeom g, MxRings r)
{
  const MxPixelGeom *pix;
  const char        *file;
  const double      *quad;
  double             D, E, lambda, bx, by, px, pol;
  hsize_t            dims[3] = {MX_NMOD, MX_NSS, MX_NFS}, eight = 8;

  PetscFunctionBeginUser;
  PetscCall(MxGeomGetPixels(g, &pix));
  PetscCall(MxGeomGetDistance(g, &D));
  PetscCall(MxGeomGetEnergy(g, &E));
  PetscCall(MxGeomGetWavelength(g, &lambda));
  PetscCall(MxGeomGetBeamCenter(g, &bx, &by));
  PetscCall(MxGeomGetPixelSize(g, &px));
  PetscCall(MxGeomGetPolarization(g, &pol));
  PetscCall(MxGeomGetLayout(g, &file, &quad));

  PetscCall(CreateGroup(f, "/entry", "NXentry"));
  PetscCall(WriteString(comm, f, "/entry/definition", "NXxpcs"));
  PetscCall(WriteString(comm, f, "/entry/program_name", "mxpcs"));
  {
    hid_t          d    = H5Dopen2(f, "/entry/program_name", H5P_DEFAULT);
    PetscErrorCode ierr = d < 0 ? PETSC_ERR_FILE_WRITE : MxH5WriteAttrString(d, "version", MxVersion());
    if (d >= 0) H5Dclose(d);
    PetscCheck(d >= 0, comm, PETSC_ERR_FILE_WRITE, "cannot reopen /entry/program_name");
    PetscCall(ierr);
  }
  PetscCall(CreateGroup(f, "/entry/instrument", "NXinstrument"));
  PetscCall(CreateGroup(f, "/entry/instrument/detector", "NXdetector"));
  PetscCall(WriteString(comm, f, "/entry/instrument/detector/description", "AGIPD-1M"));
  PetscCall(WriteScalar(comm, f, "/entry/instrument/detector/distance", D, "m"));
  PetscCall(WriteScalar(comm, f, "/entry/instrument/detector/beam_center_x", bx, "m"));
  PetscCall(WriteScalar(comm, f, "/entry/instrument/detector/beam_center_y", by, "m"));
  PetscCall(WriteScalar(comm, f, "/entry/instrument/detector/x_pixel_size", px, "m"));
  PetscCall(WriteScalar(comm, f, "/entry/instrument/detector/y_pixel_size", px, "m"));
  if (file) PetscCall(WriteString(comm, f, "/entry/instrument/detector/geometry_file", file));
  else PetscCall(MxH5WriteArray(comm, f, "/entry/instrument/detector/quadrant_positions", H5T_NATIVE_DOUBLE, 1, &eight, quad, "pixel"));
  PetscCall(CreateGroup(f, "/entry/instrument/incident_beam", "NXbeam"));
  PetscCall(WriteScalar(comm, f, "/entry/instrument/incident_beam/incident_energy", E, "keV"));
  PetscCall(WriteScalar(comm, f, "/entry/instrument/incident_beam/incident_wavelength", lambda, "angstrom"));
  PetscCall(WriteScalar(comm, f, "/entry/instrument/incident_beam/horizontal_polarization_fraction", pol, ""));

  PetscCall(MxRingsWriteHDF5(r, f));
  PetscCall(MxH5WriteArray(comm, f, "/xpcs/qmap/q_map", H5T_NATIVE_DOUBLE, 3, dims, pix->q_inv_A, "1/angstrom"));
  PetscCall(MxH5WriteArray(comm, f, "/xpcs/qmap/phi_map", H5T_NATIVE_DOUBLE, 3, dims, pix->phi, "rad"));
  PetscCall(MxH5WriteArray(comm, f, "/xpcs/qmap/two_theta_map", H5T_NATIVE_DOUBLE, 3, dims, pix->two_theta, "rad"));
  PetscCall(MxH5WriteArray(comm, f, "/xpcs/qmap/solid_angle_map", H5T_NATIVE_DOUBLE, 3, dims, pix->solid_angle, "sr"));
  PetscCall(MxH5WriteArray(comm, f, "/xpcs/qmap/polarization_map", H5T_NATIVE_DOUBLE, 3, dims, pix->polarization, ""));
  PetscFunctionReturn(0);
}

static PetscErrorCode Qmap(MPI_Comm comm, QmapCtx *c)
{
  char        out[PETSC_MAX_PATH_LEN] = "", mask[PETSC_MAX_PATH_LEN] = "";
  PetscBool   hout, hmask, help, gview = PETSC_FALSE, rview = PETSC_FALSE;
  PetscMPIInt rank;
  hid_t       f;
  PetscInt    nrings;

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  PetscOptionsBegin(comm, NULL, "mxpcs qmap: per-pixel q, q-rings and ring map from a geometry", NULL);
  PetscCall(PetscOptionsString("-o", "output HDF5 file (written as FILE.part, renamed when complete)", NULL, out, out, sizeof out, &hout));
  PetscCall(PetscOptionsString("-mask_file", "HDF5 file with dataset mask (16,512,128), nonzero = bad", NULL, mask, mask, sizeof mask, &hmask));
  PetscOptionsEnd();
  PetscCall(MxGeomCreate(comm, &c->g));
  PetscCall(MxGeomSetFromOptions(c->g));
  PetscCall(MxRingsCreate(comm, &c->r));
  PetscCall(MxRingsSetFromOptions(c->r));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) PetscFunctionReturn(0);
  PetscCall(MxAppCheckOptions(comm, "qmap"));
  PetscCheck(hout && out[0], comm, PETSC_ERR_ARG_NULL, "mxpcs qmap needs -o FILE, the output HDF5 file");
  PetscCheck(!hmask || mask[0], comm, PETSC_ERR_ARG_NULL, "option -mask_file needs a file name");

  if (hmask) {
    PetscCall(PetscMalloc1((size_t)MX_NMOD * MX_MODPIX, &c->bad));
    PetscCall(MxMaskFileRead(comm, mask, c->bad));
  }
  PetscCall(MxGeomSetUp(c->g));
  PetscCall(MxRingsSetUp(c->r, c->g, c->bad));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-geom_view", &gview, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-rings_view", &rview, NULL));
  if (!gview) PetscCall(MxGeomView(c->g, PETSC_VIEWER_STDOUT_(comm)));
  if (!rview) PetscCall(MxRingsView(c->r, PETSC_VIEWER_STDOUT_(comm)));

  PetscCall(MxH5CreateParallel(comm, out, &f));
  {
    PetscErrorCode ierr = WriteQmap(comm, f, c->g, c->r);
    herr_t         ce   = H5Fclose(f);
    if (ierr || ce < 0) {
      PetscCall(MxOutputDiscard(comm, out));
      PetscCall(ierr);
      SETERRQ(comm, PETSC_ERR_FILE_WRITE, "%s: closing the output failed; nothing written", out);
    }
  }
  PetscCall(MxOutputCommit(comm, out));
  PetscCall(MxRingsGetRings(c->r, &nrings, NULL, NULL));
  PetscCall(PetscPrintf(comm, "mxpcs qmap: wrote %s (%" PetscInt_FMT " rings)\n", out, nrings));
  PetscFunctionReturn(0);
}

/* Options: -o FILE (required), -mask_file F, and those of MxGeom (-geom_...) and MxRings
   (-rings_...). Collective on comm. */
PetscErrorCode MxAppQmap(MPI_Comm comm)
{
  QmapCtx        c = {NULL, NULL, NULL};
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  ierr = Qmap(comm, &c);
  PetscCall(MxRingsDestroy(&c.r));
  PetscCall(MxGeomDestroy(&c.g));
  PetscCall(PetscFree(c.bad));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
