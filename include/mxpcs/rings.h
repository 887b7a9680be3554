/* MxRings: q-rings (optionally split into azimuthal sectors) over the detector pixels. */
#pragma once
#include <mxpcs/geom.h>

typedef enum { MX_RINGS_LIN, MX_RINGS_LOG, MX_RINGS_LIST } MxRingsSpacing;

/* Kernels. */
/* n+1 edges from qmin to qmax, linear or logarithmic. Returns nonzero on bad input. */
int MxRingsMakeEdges(MxRingsSpacing kind, double qmin, double qmax, int n, double *edges);
/* Ring index (0-based: iq*nphi + iphi) of each pixel, -1 when outside, masked or uncovered.
   Edges are [e_i, e_{i+1}); sector j covers phi in [-pi + j 2pi/nphi, -pi + (j+1) 2pi/nphi). */
void MxRingsAssign(size_t npix, const double *q, const double *phi, const unsigned char *bad, int nedges, const double *edges, int nphi, int *ring);

typedef struct _p_MxRings *MxRings;

PetscErrorCode MxRingsCreate(MPI_Comm comm, MxRings *r);
/* Options: -rings_q_min, -rings_q_max (1/angstrom), -rings_n, -rings_spacing lin|log,
   -rings_q_edges e0,e1,... (overrides the three before), -rings_n_phi (sectors, default 1),
   -rings_min_pixels (default 100), -rings_view. Collective. */
PetscErrorCode MxRingsSetFromOptions(MxRings r);
/* Assign pixels: bad (MX_NMOD*MX_MODPIX, nonzero = masked) may be NULL. Rings with fewer than
   min_pixels good pixels are reported (PetscInfo and MxRingsView) and dropped; the kept rings
   are renumbered contiguously. Errors when no ring is kept. Collective. */
PetscErrorCode MxRingsSetUp(MxRings r, MxGeom g, const unsigned char *bad);
/* roi: MX_NMOD*MX_MODPIX, ring index + 1 (0 = not used), kept rings only. */
PetscErrorCode MxRingsGetMap(MxRings r, const int **roi);
/* Kept rings: count, mean q of their pixels, pixel count, and q range [qlo,qhi) and sector. */
PetscErrorCode MxRingsGetRings(MxRings r, PetscInt *n, const double **q_mean, const PetscInt **npix);
PetscErrorCode MxRingsGetEdges(MxRings r, PetscInt *nedges, const double **edges, PetscInt *nphi);
/* Write /xpcs/qmap/{q, q_edges, npix, roi_map, phi_edges} with units (design.md section 4).
   Collective on the file's communicator. */
PetscErrorCode MxRingsWriteHDF5(MxRings r, hid_t file);
PetscErrorCode MxRingsView(MxRings r, PetscViewer v);
PetscErrorCode MxRingsDestroy(MxRings *r);
