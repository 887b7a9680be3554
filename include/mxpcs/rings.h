/* MxRings: q-rings (optionally split into azimuthal sectors) over the detector pixels. */
#pragma once
#include <mxpcs/geom.h>
#include <mxpcs/schema.h>

typedef enum { MX_RINGS_LIN, MX_RINGS_LOG, MX_RINGS_LIST } MxRingsSpacing;

/* Kernels. */
/* n+1 edges from qmin to qmax, linear or logarithmic. Returns nonzero on bad input. */
int MxRingsMakeEdges(MxRingsSpacing kind, double qmin, double qmax, int n, double *edges);
/* Ring index (0-based: iq*nphi + iphi) of each pixel, -1 when outside, masked or uncovered.
   Edges are [e_i, e_{i+1}); sector j covers phi in [-pi + j 2pi/nphi, -pi + (j+1) 2pi/nphi).
   phi = pi (same direction as -pi) falls in sector 0; a NaN q (uncovered pixel) is outside.
   bad may be NULL; phi is not read when nphi == 1. */
void MxRingsAssign(size_t npix, const double *q, const double *phi, const unsigned char *bad, int nedges, const double *edges, int nphi, int *ring);
/* Sector edge j (0..nphi) in rad: -pi + j 2pi/nphi, exactly pi for j = nphi. */
double MxRingsPhiEdge(int j, int nphi);

typedef struct _p_MxRings *MxRings;

PetscErrorCode MxRingsCreate(MPI_Comm comm, MxRings *r);
/* Options: -rings_q_min, -rings_q_max (1/angstrom), -rings_n, -rings_spacing lin|log,
   -rings_q_edges e0,e1,... (overrides the three before), -rings_n_phi (sectors, default 1),
   -rings_min_pixels (default 100), -rings_view [viewer] (MxRingsSetView). Collective. */
PetscErrorCode MxRingsSetFromOptions(MxRings r);
/* Setters behind the options (checked again in SetUp, errors name the option). Not collective.
   A q bound that is never set (or set to NAN) defaults to the min / just above the max q of the
   good covered pixels. MxRingsSetEdges (n >= 2 values) overrides range, number and spacing. */
PetscErrorCode MxRingsSetQRange(MxRings r, double q_min, double q_max);
PetscErrorCode MxRingsSetNumber(MxRings r, PetscInt n);
PetscErrorCode MxRingsSetSpacing(MxRings r, MxRingsSpacing kind);
PetscErrorCode MxRingsSetEdges(MxRings r, PetscInt n, const double edges[]);
PetscErrorCode MxRingsSetSectors(MxRings r, PetscInt nphi);
PetscErrorCode MxRingsSetMinPixels(MxRings r, PetscInt min_pixels);
/* Assign pixels: bad (MX_NMOD*MX_MODPIX, nonzero = masked) may be NULL. Rings with fewer than
   min_pixels good pixels are reported (PetscInfo and MxRingsView) and dropped; the kept rings
   are renumbered contiguously. Errors when no ring is kept. Collective. */
PetscErrorCode MxRingsSetUp(MxRings r, MxGeom g, const unsigned char *bad);
/* roi: MX_NMOD*MX_MODPIX, ring index + 1 (0 = not used), kept rings only. */
PetscErrorCode MxRingsGetMap(MxRings r, const int **roi);
/* Kept rings: count, mean q of their pixels, pixel count, and q range [qlo,qhi) and sector. */
PetscErrorCode MxRingsGetRings(MxRings r, PetscInt *n, const double **q_mean, const PetscInt **npix);
PetscErrorCode MxRingsGetEdges(MxRings r, PetscInt *nedges, const double **edges, PetscInt *nphi);
/* Radial bin and sector each kept ring came from. Not collective. */
PetscErrorCode MxRingsGetRingIndices(MxRings r, const int **iq, const int **iphi);
/* Number of (bin, sector) rings dropped for having fewer than min_pixels good pixels. */
PetscErrorCode MxRingsGetDropped(MxRings r, PetscInt *ndropped);
/* Write /xpcs/qmap/{q, q_edges, npix, roi_map, phi_edges, ring_q_index, ring_phi_index} with
   their schema items (include/mxpcs/schema.def). Collective on the file's communicator (r's). */
PetscErrorCode MxRingsWrite(MxRings r, MxOut o);
PetscErrorCode MxRingsView(MxRings r, PetscViewer v);
/* Where MxRingsSetUp prints the ring table (default none; -rings_view overrides; NULL: none).
   Not collective. */
PetscErrorCode MxRingsSetView(MxRings r, PetscViewer v);
PetscErrorCode MxRingsDestroy(MxRings *r);
