/* The APS 8-ID-I / pyXpcsViewer "nexus" items of results.h5 and the NXxpcs links
   (docs/reference/result-layouts.md, docs/output-format.md), made from what analyze computed. */
#pragma once
#include <mxpcs/rings.h>

/* Sizes are needed on every rank; arrays on rank 0 only (the writes are collective). */
typedef struct {
  MxGeom               geom;
  MxRings              rings;
  const int           *static_bin; /* 16*512*128: SAXS bin of each pixel, -1 = none (every rank) */
  PetscInt             nq, nf, nage, ntau, ns;
  double               frame_time;
  const PetscInt      *age_start; /* nage: first pulse of each age window (every rank) */
  const double        *C;         /* nq x nf x nf, g2 - 1 scale */
  const double        *g2, *g2_err; /* nq x nage x ntau, g2 (baseline 1) */
  const double        *g2_train, *g2_train_err; /* nq x (nf - 1): over the whole train */
  const double        *saxs_q, *saxs_I, *saxs_I_pulse; /* ns; ns; ns x nf */
  PetscInt             nimage;    /* modules in image (every rank) */
  const PetscInt      *image_mod; /* nimage (every rank) */
  const float         *image;     /* nimage x 512 x 128, NaN where none */
} MxViewerData;

/* /entry/instrument as a geometry gives it: incident_beam (energy, wavelength) and detector_1
   (distance, pixel size, beam centre in m), with the old name detector linked. Collective. */
PetscErrorCode MxOutWriteInstrument(MxOut o, MxGeom g);

/* The assembled image of the 16 modules on a grid of the pixel size: image cell of each pixel
   (-1 where the geometry does not cover it), the image size and the direct beam's column and
   row. Not collective. */
PetscErrorCode MxViewerAssemble(MxGeom g, int *cell, PetscInt *H, PetscInt *W, double *bcx, double *bcy);

/* /xpcs/qmap (viewer items and hash), /xpcs/temporal_mean, /xpcs/spatial_mean, /xpcs/multitau,
   the viewer's /xpcs/twotime items, and the NXxpcs groups /entry/data, /entry/twotime and
   /entry/instrument/masks with their links. Writes after MxRingsWrite() and the /xpcs datasets
   they link to. Collective. */
PetscErrorCode MxViewerWrite(MxOut o, const MxViewerData *d);
