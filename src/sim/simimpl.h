/* Private state of MxSim. */
#pragma once
#include <mxpcs/sim.h>
#include <mxpcs/speckle.h>
#include <mxpcs/rng.h>
#include <mxpcs/heating.h>

#define MX_BUNCH_CLOCK_HZ 4.513e6 /* EuXFEL bunch clock: pulse spacing = step / 4.513 MHz */

typedef struct {
  char      preset[16];
  PetscInt  modules[MX_NMOD], nmodules;
  PetscInt  ntrains, npulses, pulse_step, trains_per_file, run, proposal;
  PetscInt  compress; /* deflate level of image/mask and image/gain, 0: stored plain */
  PetscInt  seed;
  PetscReal rep_rate_mhz, dt_s;
  /* sample */
  PetscReal radius_A, pd, phi, porod;
  PetscReal hs_diameter_A; /* hard-sphere diameter of S(q) and H(q); 0: 2 x radius_A */
  PetscBool structure_py;
  /* photons and beam */
  PetscReal photons, q_ref, beam_fwhm_um, sase_modes, adu_per_photon, gain_noise;
  PetscInt  subpixels;
  /* dynamics */
  PetscReal D0_um2_s, Ds_over_D0, kappa_per_pulse, T0_K, dT_per_pulse_K, Ea_kJ_mol;
  char      hydro[16], heating[16];
  /* diffusive heating: dose from the composition along the beam, heat diffusion (heating.h) */
  MxSolvent solvent;
  PetscBool arrhenius; /* Arrhenius viscosity with Ea_kJ_mol instead of the solvent's law */
  PetscReal fluence_J_cm2, heat_phi, path_mm, tauI_s; /* tauI_s: derived */
  /* detector artifacts */
  PetscBool artifacts;
  PetscReal offset_amp, gain_amp, dead_frac, hot_frac;
  PetscInt  masked_asics, missing_module, missing_trains[64], nmissing;
  /* X-ray gas monitor (XGM) file beside the run, and trains with a dud pulse */
  PetscBool xgm;
  PetscReal pulse_energy_uJ, xgm_noise, train_energy_rms;
  PetscInt  dud_trains[64], ndud;
  /* detector model (-sim_detector agipd): what EuXFEL's calibration writes (docs/simulate.md) */
  PetscBool agipd;
  PetscBool clean_copy; /* agipd: the photon counts the detector saw, also as the run DIR/clean */
  char      units[16];     /* photons | keV | adu */
  PetscReal unit_scale;     /* value of one photon in image.data: 1, keV per photon or ADU */
  PetscReal gain_error, offset_residual, common_mode, common_mode_cell, noise, charge_cloud_um;
  PetscReal spike_rate, medium_gain_photons, pixel_um;
  PetscBool wide_pixels, flag_wide;
} MxSimParams;

/* Per simulated module: its speckle window and per-pixel tables. */
typedef struct {
  int       module;
  MxSpeckle win;
  float    *qsub;   /* subpixel (qx,qy): MX_MODPIX * s^2 * 2 */
  MxSpecklePoint *spt; /* the same points in the speckle window (MX_MODPIX * s^2; covered pixels only) */
  float    *Ibar;   /* model mean intensity at the pixel centre (photons/pulse, G = 1) */
  float    *G;      /* relative solid angle x polarisation */
  int      *qbin;   /* truth q-bin of the pixel, -1 outside */
  float    *offset, *gain; /* memory-cell artifact (npulses * MX_MODPIX), NULL when off */
  uint32_t *mask;   /* dead, hot, masked ASIC bits */
  uint8_t  *hot;
  /* agipd: static per pixel / per (cell, ASIC); the per-cell offset residual and everything per
     train come from their own streams (MxSimOffsetResidual, MxSimCommonMode, MxSimSpikes) */
  float    *gerr;   /* relative gain 1 + gain error, MX_MODPIX */
  float    *cmcell; /* static common mode (photons), npulses x MX_NASIC */
  uint8_t  *dead;
  uint8_t  *ihot;   /* agipd with artifacts: ideal's hot pixels, whose value ideal draws from the
                       photon stream: agipd draws it too (and drops it), so the counts stay ideal's */
} MxSimModule;

#define MX_NASIC 16 /* 64 x 64 ASICs per module: index 2 (ss/64) + fs/64 */
static inline int MxSimAsic(int i) { return 2 * ((i / MX_NFS) / 64) + (i % MX_NFS) / 64; }
/* The double-size pixels at the horizontal ASIC joins (EXtra-geom agipd_asic_seams) */
static inline int MxSimWideRow(int ss) { return (ss % 64 == 63 && ss != MX_NSS - 1) || (ss % 64 == 0 && ss != 0); }
/* a zinger: one pixel-frame, not flagged */
typedef struct {
  int   frame, pixel;
  float photons;
} MxSimSpike;

struct _p_MxSim {
  MPI_Comm    comm;
  MxSimParams p;
  char        outdir[PETSC_MAX_PATH_LEN];
  MxGeom      geom;
  PetscBool   setup;
  MxViewOption view; /* -sim_view: where SetUp prints the set-up */
  double      lambda_A, distance_m;
  /* truth tables on a fine q grid */
  PetscInt    ntab;
  double      tab_dq, *tab_q, *tab_I, *tab_P, *tab_S, *tab_H;
  double     *D_A2_s, *T_K; /* per pulse, at the run's mean pulse energy */
  /* diffusive heating of trains whose energy differs from the mean: D/D0 per interval on a grid
     of the train's relative energy (heat_K points from heat_r0 by heat_dr), interpolated */
  PetscInt    heat_K;
  double      heat_r0, heat_dr, *heat_h; /* heat_K x npulses */
  /* realised contrast, per truth q-bin */
  PetscInt    nbins;
  double      bin_q0, bin_dq, *beta_acc;
  double     *count_acc; /* per train and bin: the photon counts' MX_NCOUNT sums (as beta_acc) */ /* per train and bin: sum s, sum s^2, count (fixed summation order at any rank count) */
  MxSimModule *mods;
  PetscInt    nmods;
  uint64_t   *train_ids; /* ntrains (missing trains included: they are skipped) */
  double      t_sim, t_write;
};

/* photon-count sums per bin: sum k, sum k^2, pixel-frames, with 0 and 1 photons, sum k/mu,
   sum k(k-1)/mu^2 (mu = e G I_model) */
#define MX_NCOUNT 7

PetscErrorCode MxSimTables(MxSim s);
void           MxSimModel(double q, void *ctx, double *Iq, double *HoverS);
PetscErrorCode MxSimModuleSetUp(MxSim s, MxSimModule *m);
PetscErrorCode MxSimModuleDestroy(MxSimModule *m);
/* Frames of one train of one module (npulses x MX_MODPIX floats, photons or ADU; agipd: also
   the gain stages, else gain may be NULL). */
PetscErrorCode MxSimTrainModule(MxSim s, MxSimModule *m, PetscInt itrain, const double *pulse_energy, float *frames, uint8_t *gain, float *clean);
/* agipd, each from its own stream, so truth.c draws them again: the offset residual of one
   memory cell (MX_MODPIX), the per-frame common mode of a train (npulses x MX_NASIC), the
   zingers of a train (*n, allocated) */
void           MxSimOffsetResidual(const MxSimParams *p, int module, PetscInt cell, float *off);
void           MxSimCommonMode(const MxSimParams *p, int module, PetscInt itrain, float *cm);
PetscErrorCode MxSimSpikes(const MxSimParams *p, int module, PetscInt itrain, PetscInt *n, MxSimSpike **sp);
PetscErrorCode MxSimWriteRun(MxSim s);
/* A 1-D dataset of n fixed-length (128) strings, as the DAQ writes METADATA. Collective. */
PetscErrorCode MxSimWriteStrings(MPI_Comm comm, hid_t f, const char path[], int n, char (*s)[128]);
/* Relative SASE pulse energies of train t (npulses; mean 1), dud pulses included: the one
   sequence both the frames and the XGM record use. */
void           MxSimPulseEnergies(const MxSimParams *p, PetscInt t, double *e);
/* DIR/raw/r####/RAW-R####-DA01-S00000.h5: the XGM's per-pulse energies (uJ), as the DAQ
   writes them (SA2_XTD1_XGM/XGM/DOOCS:output, data.intensityTD). Collective. */
PetscErrorCode MxSimWriteXgm(MxSim s, const char dir[]);
PetscErrorCode MxSimWriteTruth(MxSim s, const char path[]);
