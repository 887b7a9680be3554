/* MxSim: the forward model of a MHz-XPCS experiment at the European XFEL (seed paper), written
   as the EuXFEL DAQ + calibration pipeline would write it, with its truth.

   Sample: spheres (radius, Gaussian polydispersity, volume fraction phi), mean intensity
   I(q) = c [P(q) S(q) + porod q^-4] with S = 1 (dilute) or Percus-Yevick. Dynamics: every
   density mode relaxes at Gamma(q, t) = D(t) q^2 H(q)/S(q) (H = 1, or the delta-gamma H with a
   chosen Ds/D0), D(t) grows along the train by X-ray heating (Stokes-Einstein with an
   Arrhenius viscosity, or linear). Speckle: coherent field of the illuminated volume through a
   Gaussian beam, propagated with FFTW (include/mxpcs/speckle.h). Photons: Poisson, SASE pulse
   energies gamma-distributed. Detector: memory-cell offset/gain pattern repeating every train,
   dead/hot pixels, a masked ASIC; optionally a missing module and missing trains. With
   -sim_detector agipd the data are what EuXFEL's calibration writes (keV, gain error, offset
   residual, common mode, noise, charge sharing, bad/wide pixels, zingers, gain stages), each
   effect from its own stream so the photon counts stay those of ideal.

   Trains are independent (the sample decorrelates in 100 ms), each with its own random stream
   (seed, train, module), so results are bitwise identical at any rank count. */
#pragma once
#include <mxpcs/geom.h>

typedef struct _p_MxSim *MxSim;

PetscErrorCode MxSimCreate(MPI_Comm comm, MxSim *s);
/* Options (-sim_...): see `mxpcs simulate -help`; presets colloid | liquid | full set the
   defaults, an -options_file or the command line override them; -sim_view [viewer]
   (MxSimSetView). Collective. */
PetscErrorCode MxSimSetFromOptions(MxSim s);
PetscErrorCode MxSimSetOutput(MxSim s, const char dir[]);
/* Geometry, speckle windows, truth tables. Collective. */
PetscErrorCode MxSimSetUp(MxSim s);
/* Simulate every train and write DIR/proc/r####/CORR-*.h5 and DIR/truth.h5 (atomically: under
   DIR.part, renamed when complete). Collective. */
PetscErrorCode MxSimRun(MxSim s);
PetscErrorCode MxSimView(MxSim s, PetscViewer v);
/* Where MxSimSetUp prints MxSimView (default none; -sim_view overrides; NULL: none). Not
   collective. */
PetscErrorCode MxSimSetView(MxSim s, PetscViewer v);
PetscErrorCode MxSimDestroy(MxSim *s);
