/* MxGeom: AGIPD-1M detector geometry and per-pixel scattering quantities.
   Lab frame as CrystFEL / EXtra-geom (docs/reference/euxfel-format.md section 3.3): +z along the
   beam, +y up, +x completes a right-handed system; x,y origin where the nominal direct beam
   crosses the detector plane. */
#pragma once
#include <mxpcs/sys.h>

#define MX_HC_KEV_A 12.398419843320026 /* h c in keV * angstrom */

/* One CrystFEL panel in data coordinates of the 3-D (module, ss, fs) layout. */
typedef struct {
  char   name[64];
  int    module;           /* 0..15 */
  int    min_fs, max_fs;   /* inclusive, 0..127 */
  int    min_ss, max_ss;   /* inclusive, 0..511 (module-local, also for 2-D layout files) */
  double fs[3], ss[3];     /* lab-frame step (pixel units) for +1 in fs / ss */
  double corner_x, corner_y; /* lab x,y in pixels of the corner of pixel (min_fs, min_ss) */
  double coffset_m;        /* extra z offset in metres, added to the distance */
  double res;              /* pixels per metre */
  int    no_index;         /* 1: CrystFEL no_index, every pixel of the panel is bad */
  int    mask_edge_pixels; /* this many pixels at each panel edge are bad */
} MxPanel;

/* Per-pixel quantities for all 16 modules, each array MX_NMOD*MX_MODPIX long, index
   (m*512 + ss)*128 + fs. */
typedef struct {
  double *x_m, *y_m, *z_m;  /* pixel centre relative to the beam centre; z includes distance */
  double *two_theta;        /* rad */
  double *q_inv_A;          /* 4 pi sin(theta) / lambda */
  double *phi;              /* azimuth atan2(y', x') in (-pi, pi] */
  double *solid_angle;      /* steradian: A_pix z / R^3 */
  double *polarization;     /* ((1 + cos^2 2th) - f cos(2 phi) sin^2 2th) / 2 */
  unsigned char *covered;   /* 1 where some panel covers the pixel */
  unsigned char *bad;       /* 1 where the geometry marks the pixel bad: bad regions, no_index
                               panels, mask_edge_pixels (uncovered pixels are not marked here) */
} MxPixelGeom;

typedef struct _p_MxGeom *MxGeom;

/* Kernels (no MPI, no state). */
/* Parse a CrystFEL vector "+0.999995x -0.001328y [+0.0z]" into v[3]. Returns nonzero on error. */
int  MxGeomParseVector(const char *s, double v[3]);
/* Centre of data pixel (ss, fs) of panel p, in metres, z without the detector distance. */
void MxPanelPixelCenter(const MxPanel *p, int ss, int fs, double xyz[3]);
/* Scattering quantities of a point (x,y,z) in metres (z = distance + offset) seen from a beam
   centre (bx,by), for wavelength lambda_A and polarisation fraction f (euxfel-format.md 3.3).
   Any output may be NULL. The kernel does not know the pixel area: *solid is the solid angle per
   unit pixel area, z/R^3 in sr/m^2 (multiply by A_pix = 1/res^2). */
void MxGeomScatter(double x, double y, double z, double bx, double by, double lambda_A, double pol_f, double *two_theta, double *q, double *phi, double *solid, double *polar);
/* Fill the 128 panels (8 tiles x 16 modules) of an ideal AGIPD-1M from four quadrant corner
   positions in pixels (EXtra-geom from_quad_positions, asic_gap 2, panel_gap 29). */
void MxGeomIdealPanels(const double quad_pos[8], MxPanel panels[128]);

/* Object. */
PetscErrorCode MxGeomCreate(MPI_Comm comm, MxGeom *g);
/* Options: -geom_file F.geom, -geom_quad_pos x1,y1,..,x4,y4 (pixels; used without a file),
   -geom_distance_m, -geom_energy_kev, -geom_wavelength_A, -geom_beam_center_m x,y,
   -geom_polarization f (default 1, horizontal), -geom_view [viewer] (MxGeomSetView). Collective. */
PetscErrorCode MxGeomSetFromOptions(MxGeom g);
/* Read a CrystFEL .geom file (3-D or 2-D layout). Collective (rank 0 reads, all parse). */
PetscErrorCode MxGeomLoadFile(MxGeom g, const char path[]);
PetscErrorCode MxGeomSetQuadPositions(MxGeom g, const double quad_pos[8]);
PetscErrorCode MxGeomSetDistance(MxGeom g, double distance_m);
PetscErrorCode MxGeomSetEnergy(MxGeom g, double energy_keV);
PetscErrorCode MxGeomSetBeamCenter(MxGeom g, double bx_m, double by_m);
/* Wavelength instead of energy (the later call wins). Not collective. */
PetscErrorCode MxGeomSetWavelength(MxGeom g, double lambda_A);
/* Degree of horizontal linear polarisation f in [-1, 1] (1: fully along x). Not collective. */
PetscErrorCode MxGeomSetPolarization(MxGeom g, double f);
/* Before MxGeomSetUp: the scattering quantities (two_theta, q, phi, solid angle, polarization)
   only of the modules with use[m] (the others' stay NaN; positions, coverage and bad pixels of
   every module); the analysis of a run of a few modules needs no more. Default: all. Not
   collective. */
PetscErrorCode MxGeomSetModules(MxGeom g, const PetscBool use[MX_NMOD]);
/* Compute the per-pixel arrays. Collective, idempotent. */
PetscErrorCode MxGeomSetUp(MxGeom g);
PetscErrorCode MxGeomGetPixels(MxGeom g, const MxPixelGeom **pix);
PetscErrorCode MxGeomGetPanels(MxGeom g, PetscInt *n, const MxPanel **panels);
PetscErrorCode MxGeomGetDistance(MxGeom g, double *distance_m);
PetscErrorCode MxGeomGetWavelength(MxGeom g, double *lambda_A);
/* Photon energy (keV), beam centre (m), polarisation fraction, and the pixel size 1/res (m) of
   the first panel. Valid after MxGeomSetUp. Not collective. */
PetscErrorCode MxGeomGetEnergy(MxGeom g, double *energy_keV);
PetscErrorCode MxGeomGetBeamCenter(MxGeom g, double *bx_m, double *by_m);
PetscErrorCode MxGeomGetPolarization(MxGeom g, double *f);
PetscErrorCode MxGeomGetPixelSize(MxGeom g, double *pixel_m);
/* Where the panels come from: *file is the .geom path, or NULL for the ideal layout, whose
   quadrant positions (pixels) are in *quad_pos (NULL for a file). Not collective. */
PetscErrorCode MxGeomGetLayout(MxGeom g, const char **file, const double **quad_pos);
PetscErrorCode MxGeomView(MxGeom g, PetscViewer v);
/* Where MxGeomSetUp prints the summary (default none; -geom_view overrides; NULL: none), e.g. an
   app that always shows it. Not collective. */
PetscErrorCode MxGeomSetView(MxGeom g, PetscViewer v);
PetscErrorCode MxGeomDestroy(MxGeom *g);
