/* Private state of MxGeom (src/geom only). */
#pragma once
#include <mxpcs/geom.h>

/* A CrystFEL bad region: lab-frame x/y box in pixels, or a data-coordinate fs/ss box. */
typedef struct {
  char   name[64];
  int    is_fsss;                        /* 1: fs/ss box in data coordinates, 0: x/y box */
  double min_x, max_x, min_y, max_y;     /* pixels, lab frame (pixel centres are tested) */
  int    min_fs, max_fs, min_ss, max_ss; /* inclusive, data coordinates of the file */
  int    panel;                          /* panel index, -1: every panel (legacy files) */
} MxBadRegion;

struct _p_MxGeom {
  MPI_Comm comm;

  /* panels: from a .geom file or from quadrant positions (the later call wins) */
  PetscBool from_file;
  char      file[PETSC_MAX_PATH_LEN];
  PetscBool layout2d; /* file uses the 2-D (Cheetah/VDS) layout: data ss = local ss + 512 m */
  PetscInt  npanels;
  MxPanel  *panels;
  double    quad_pos[8];
  PetscInt  nbad;
  MxBadRegion *bad;
  double    shift_x_m, shift_y_m; /* CrystFEL detector_shift_x/y */

  /* distance and wavelength: user setting > file value > design default (NaN: unset) */
  double file_distance_m, file_lambda_A;
  char   file_clen_path[256], file_energy_path[256]; /* given as HDF5 locations in the file */
  double user_distance_m, user_lambda_A;

  /* resolved in SetUp */
  double      distance_m, lambda_A;
  const char *distance_src, *lambda_src;
  double      bx_m, by_m, pol_f;

  PetscBool   skip[MX_NMOD]; /* MxGeomSetModules: modules without scattering quantities */
  MxPixelGeom pix;
  double      q_min, q_max; /* over covered pixels (of the modules set up) */
  PetscInt    ncovered;
  PetscBool   setup;
  MxViewOption view; /* -geom_view: where SetUp prints the summary */
};

/* Parse the text of a .geom file into g (panels, bad regions, file distance/wavelength).
   Collective: every rank of g->comm parses the same text, errors are raised on g->comm. */
PETSC_INTERN PetscErrorCode MxGeomParseText(MxGeom g, const char path[], const char *text);
/* Free the panels and bad regions. Not collective. */
PETSC_INTERN PetscErrorCode MxGeomResetPanels(MxGeom g);
