/* mxpcs qmap: per-pixel q from a geometry, q-rings, ring map written to HDF5.
   Every rank computes the whole geometry (about 1M pixels), so the output does not depend on
   the rank count; rank 0's buffers are written. */
#include "app.h"
#include <mxpcs/viewer.h>

typedef struct {
  MxGeom         g;
  MxRings        r;
  unsigned char *bad;
} QmapCtx;

/* Read dataset /mask (16,512,128) of an HDF5 file, nonzero = bad. Integer, enum (h5py bool) and
   bitfield masks are tested byte-wise, float masks as doubles (NaN counts as bad).
   Not collective (errors on PETSC_COMM_SELF). */

/* NXxpcs-style metadata under /entry and the q-map under /xpcs/qmap (design.md section 4).
   Collective on comm. */
static PetscErrorCode WriteQmap(MxOut o, MxGeom g, MxRings r)
{
  const MxPixelGeom *pix;
  const char        *file;
  const double      *quad;
  double             E, pol;
  hsize_t            dims[3] = {MX_NMOD, MX_NSS, MX_NFS}, eight = 8;
  MxOutEntry         e = {NULL, NULL, "qmap", NULL, "NXxpcs"};

  PetscFunctionBeginUser;
  PetscCall(MxGeomGetPixels(g, &pix));
  PetscCall(MxGeomGetEnergy(g, &E));
  PetscCall(MxGeomGetPolarization(g, &pol));
  PetscCall(MxGeomGetLayout(g, &file, &quad));

  e.identifier = file ? file : "ideal quadrant layout";
  PetscCall(MxOutWriteEntry(o, &e));
  PetscCall(MxOutWriteInstrument(o, g));
  if (file) PetscCall(MxOutString(o, MX_DETECTOR_GEOMETRY_FILE, file));
  else PetscCall(MxOutDoubles(o, MX_DETECTOR_QUADRANTS, 1, &eight, quad));
  PetscCall(MxOutScalar(o, MX_BEAM_POLARIZATION, pol));

  PetscCall(MxRingsWrite(r, o));
  PetscCall(MxOutDoubles(o, MX_QMAP_Q_MAP, 3, dims, pix->q_inv_A));
  PetscCall(MxOutDoubles(o, MX_QMAP_PHI_MAP, 3, dims, pix->phi));
  PetscCall(MxOutDoubles(o, MX_QMAP_TWO_THETA_MAP, 3, dims, pix->two_theta));
  PetscCall(MxOutDoubles(o, MX_QMAP_SOLID_ANGLE_MAP, 3, dims, pix->solid_angle));
  PetscCall(MxOutDoubles(o, MX_QMAP_POLARIZATION_MAP, 3, dims, pix->polarization));
  PetscCall(MxOutWriteQmapHash(o, E));
  PetscFunctionReturn(0);
}

static PetscErrorCode Qmap(MPI_Comm comm, QmapCtx *c)
{
  char        out[PETSC_MAX_PATH_LEN] = "", mask[PETSC_MAX_PATH_LEN] = "";
  PetscBool   hout, hmask, help;
  PetscMPIInt rank;
  PetscInt    nrings;

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  PetscOptionsBegin(comm, NULL, "mxpcs qmap: per-pixel q, q-rings and ring map from a geometry", NULL);
  PetscCall(PetscOptionsString("-o", "output HDF5 file (written as FILE.part, renamed when complete)", NULL, out, out, sizeof out, &hout));
  PetscCall(PetscOptionsString("-mask_file", "HDF5 file with dataset mask (16,512,128), nonzero = bad", NULL, mask, mask, sizeof mask, &hmask));
  PetscOptionsEnd();
  /* qmap shows the geometry and the rings at set-up unless -geom_view / -rings_view say otherwise */
  PetscCall(MxGeomCreate(comm, &c->g));
  PetscCall(MxGeomSetView(c->g, PETSC_VIEWER_STDOUT_(comm)));
  PetscCall(MxGeomSetFromOptions(c->g));
  PetscCall(MxRingsCreate(comm, &c->r));
  PetscCall(MxRingsSetView(c->r, PETSC_VIEWER_STDOUT_(comm)));
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

  {
    MxOut     o;
    PetscBool replaced;
    PetscCall(MxOutCreate(comm, out, &o));
    PetscErrorCode ierr = WriteQmap(o, c->g, c->r);
    PetscCall(MxOutClose(&o, ierr, &replaced));
    PetscCall(MxRingsGetRings(c->r, &nrings, NULL, NULL));
    PetscCall(PetscPrintf(comm, "mxpcs qmap: %s %s (%" PetscInt_FMT " rings)\n", replaced ? "replaced" : "wrote", out, nrings));
  }
  PetscFunctionReturn(0);
}

/* Options: -o FILE (required), -mask_file F, and those of MxGeom (-geom_...) and MxRings
   (-rings_...); the geometry and ring summaries go to standard output unless -geom_view and
   -rings_view send them elsewhere (or nowhere: 0). Collective on comm. */
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
