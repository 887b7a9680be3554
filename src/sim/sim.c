/* MxSim: presets, options, set-up, run, truth. */
#include "simimpl.h"
#include <math.h>
#include <stdio.h>
#include <sys/resource.h>

static PetscLogEvent MX_SIM_RUN;

PetscErrorCode MxSimCreate(MPI_Comm comm, MxSim *out)
{
  MxSim s;

  PetscFunctionBeginUser;
  PetscCall(MxLogEventRegisterOnce("MxSim", "MxSimRun", &MX_SIM_RUN));
  PetscCall(PetscNew(&s));
  s->comm = comm;
  PetscCall(MxGeomCreate(comm, &s->geom));
  *out = s;
  PetscFunctionReturn(0);
}

/* Preset defaults: the seed paper's samples (5.8 nm PbS, 12.3 keV, 7 m, 50 pulses at 2.2 MHz). */
static PetscErrorCode Preset(MxSimParams *p, const char *name, MPI_Comm comm)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(p, sizeof *p));
  snprintf(p->preset, sizeof p->preset, "%s", name);
  p->ntrains = 48;
  p->npulses = 50;
  p->rep_rate_mhz = 2.2;
  p->trains_per_file = 32;
  p->run = 1;
  p->proposal = 900001;
  p->seed = 1;
  p->radius_A = 29;
  p->pd = 0.05;
  p->photons = 0.3;
  p->q_ref = 0.01;
  p->beam_fwhm_um = 2.5;
  p->subpixels = 2;
  p->sase_modes = 50;
  p->adu_per_photon = 1;
  p->D0_um2_s = 57;
  p->Ds_over_D0 = 1;
  snprintf(p->hydro, sizeof p->hydro, "none");
  snprintf(p->heating, sizeof p->heating, "diffusive");
  p->solvent       = MX_SOLVENT_DMF;
  p->fluence_J_cm2 = 0.8; /* effective: dT_c0 1.3 K per pulse at phi = 0.005, D +25 % at 15 us */
  p->path_mm       = 0.9;
  p->heat_phi      = -1; /* the sample's phi */
  p->T0_K = 298.15;
  p->dT_per_pulse_K = 0.4;
  p->Ea_kJ_mol = 12;
  p->kappa_per_pulse = 0.01;
  p->artifacts = PETSC_TRUE;
  p->offset_amp = 0.03;
  p->gain_amp = 0.05;
  p->dead_frac = 1e-3;
  p->hot_frac = 2e-4;
  p->masked_asics = 1;
  p->missing_module = -1;
  p->xgm             = PETSC_TRUE;
  p->pulse_energy_uJ = 2.5;
  p->xgm_noise       = 0.02;
  /* detector model: agipd by default (the data as the calibration delivers them; -sim_detector
     ideal for clean photon counts); its defaults are issue 13's numbers with the sources in
     docs/reference/agipd-data.md */
  snprintf(p->units, sizeof p->units, "keV");
  p->gain_error          = 0.03;
  p->offset_residual     = 0.04;
  p->common_mode         = 0.25;
  p->common_mode_cell    = 0.1;
  p->noise               = 0.12;
  p->charge_cloud_um     = 8;
  p->spike_rate          = 2e-6;
  p->medium_gain_photons = 300;
  p->wide_pixels         = PETSC_TRUE;
  p->flag_wide           = PETSC_TRUE;
  p->nmodules = 2;
  p->modules[0] = 3;
  p->modules[1] = 4;
  if (!strcmp(name, "colloid")) {
    p->phi = 0.005; /* dilute: S(q) = 1 */
  } else if (!strcmp(name, "liquid")) {
    /* dense liquid phi = 0.3: PY S(q), delta-gamma H(q) with Ds/D0 = 0.23 (the paper's value).
       H > 0 only near and above the S(q) peak, so the dynamics are simulated there, in a
       slower (quenched) environment: D0 = 5 um^2/s. */
    p->phi = 0.3;
    p->structure_py = PETSC_TRUE;
    snprintf(p->hydro, sizeof p->hydro, "deltagamma");
    p->Ds_over_D0 = 0.23;
    p->D0_um2_s = 5;
    p->photons = 0.1;
    p->q_ref = 0.11;
    p->porod = 0.0;
    p->heat_phi = 0.02; /* the dose sees the capillary's overall composition (docs/physics.md) */
    p->modules[0] = 0; /* q = 0.085 .. 0.15 at 7 m, 12.3 keV: around the S(q) peak */
    p->modules[1] = 12;
  } else if (!strcmp(name, "full")) {
    p->phi = 0.005;
    p->ntrains = 200;
    p->trains_per_file = 64;
    p->subpixels = 1; /* pixel-centre sampling: 3x faster, higher contrast */
    p->nmodules = 16;
    for (int m = 0; m < 16; m++) p->modules[m] = m;
  } else SETERRQ(comm, PETSC_ERR_ARG_WRONG, "option -sim_preset: '%s' is not colloid, liquid or full", name);
  PetscFunctionReturn(0);
}

PetscErrorCode MxSimSetFromOptions(MxSim s)
{
  MxSimParams *p = &s->p;
  char         preset[16] = "colloid", hydro[16], heating[16], detector[16] = "agipd";
  PetscInt     nmod = MX_NMOD, nmiss = 64;
  PetscBool    set, units_set, adu_set;

  PetscFunctionBeginUser;
  /* the preset first: it sets the defaults of every other option (and -help shows them) */
  PetscOptionsBegin(s->comm, NULL, "Synthetic MHz-XPCS run: preset (mxpcs simulate)", "MxSim");
  PetscCall(PetscOptionsString("-sim_preset", "colloid | liquid | full (defaults of everything below)", "MxSim", preset, preset, sizeof preset, NULL));
  PetscOptionsEnd();
  PetscCall(Preset(p, preset, s->comm));
  /* the experiment's geometry unless the user says otherwise */
  PetscCall(MxGeomSetDistance(s->geom, 7.0));
  PetscCall(MxGeomSetEnergy(s->geom, 12.3));
  PetscCall(MxGeomSetFromOptions(s->geom));
  snprintf(hydro, sizeof hydro, "%s", p->hydro);
  snprintf(heating, sizeof heating, "%s", p->heating);
  PetscOptionsBegin(s->comm, NULL, "Synthetic MHz-XPCS run (mxpcs simulate)", "MxSim");
  PetscCall(PetscOptionsIntArray("-sim_modules", "AGIPD modules to simulate", "", p->modules, &nmod, &set));
  if (set) p->nmodules = nmod;
  PetscCall(PetscOptionsInt("-sim_trains", "Trains", "", p->ntrains, &p->ntrains, NULL));
  PetscCall(PetscOptionsInt("-sim_pulses", "Pulses (frames) per train", "", p->npulses, &p->npulses, NULL));
  PetscCall(PetscOptionsReal("-sim_rep_rate_mhz", "Pulse rate within a train: 1.1, 2.2 or 4.5 MHz", "", p->rep_rate_mhz, &p->rep_rate_mhz, NULL));
  PetscCall(PetscOptionsInt("-sim_seed", "Random seed", "", p->seed, &p->seed, NULL));
  PetscCall(PetscOptionsInt("-sim_run", "Run number", "", p->run, &p->run, NULL));
  PetscCall(PetscOptionsInt("-sim_trains_per_file", "Trains per sequence file", "", p->trains_per_file, &p->trains_per_file, NULL));
  PetscCall(PetscOptionsInt("-sim_compress", "Deflate level 1-9 of image/mask and image/gain, as EuXFEL's calibration compresses them (0: plain)", "", p->compress, &p->compress, NULL));
  PetscCall(PetscOptionsReal("-sim_radius_A", "Particle radius (angstrom)", "", p->radius_A, &p->radius_A, NULL));
  PetscCall(PetscOptionsReal("-sim_pd", "Relative Gaussian polydispersity of the radius", "", p->pd, &p->pd, NULL));
  PetscCall(PetscOptionsReal("-sim_phi", "Volume fraction", "", p->phi, &p->phi, NULL));
  PetscCall(PetscOptionsBool("-sim_structure_py", "Percus-Yevick hard-sphere S(q) (else S = 1)", "", p->structure_py, &p->structure_py, NULL));
  PetscCall(PetscOptionsReal("-sim_hs_diameter_A", "Hard-sphere diameter of S(q) and of the delta-gamma H(q sigma) (angstrom; 0: 2 x -sim_radius_A)", "", p->hs_diameter_A, &p->hs_diameter_A, NULL));
  PetscCall(PetscOptionsReal("-sim_porod", "q^-4 term, as a fraction of P S at q_ref", "", p->porod, &p->porod, NULL));
  PetscCall(PetscOptionsReal("-sim_photons", "Mean photons per pixel per pulse at q_ref", "", p->photons, &p->photons, NULL));
  PetscCall(PetscOptionsReal("-sim_q_ref", "Reference q for -sim_photons (1/angstrom)", "", p->q_ref, &p->q_ref, NULL));
  PetscCall(PetscOptionsReal("-sim_beam_fwhm_um", "Beam size at the sample, FWHM (um)", "", p->beam_fwhm_um, &p->beam_fwhm_um, NULL));
  PetscCall(PetscOptionsInt("-sim_subpixels", "Sub-pixel points per pixel side (pixel integration)", "", p->subpixels, &p->subpixels, NULL));
  PetscCall(PetscOptionsReal("-sim_sase_modes", "SASE modes: pulse energies ~ Gamma(M)/M (0: constant)", "", p->sase_modes, &p->sase_modes, NULL));
  PetscCall(PetscOptionsReal("-sim_adu_per_photon", "Detector units per photon in the written data (agipd: with -sim_units adu; midtools' default for high-gain AGIPD data is 66 at 9 keV)", "", p->adu_per_photon, &p->adu_per_photon, &adu_set));
  PetscCall(PetscOptionsReal("-sim_gain_noise", "Relative per pixel-frame noise of the photon-to-ADU conversion", "", p->gain_noise, &p->gain_noise, NULL));
  PetscCall(PetscOptionsReal("-sim_D0_um2_s", "Free-particle diffusion coefficient at T0 (um^2/s)", "", p->D0_um2_s, &p->D0_um2_s, NULL));
  PetscCall(PetscOptionsString("-sim_hydro", "Hydrodynamic function: none (H = 1) | deltagamma (Ds/D0 + H_d)", "", hydro, hydro, sizeof hydro, NULL));
  PetscCall(PetscOptionsReal("-sim_Ds_over_D0", "Self part Ds/D0 of H(q) for -sim_hydro deltagamma", "", p->Ds_over_D0, &p->Ds_over_D0, NULL));
  PetscCall(PetscOptionsString("-sim_heating", "X-ray heating: diffusive (dose from the composition, heat diffusing out of the beam, solved by finite differences) | none | linear | stokes (adiabatic, a fixed rise per pulse)", "", heating, heating, sizeof heating, NULL));
  PetscCall(PetscOptionsReal("-sim_fluence_J_cm2", "diffusive: effective peak fluence of a pulse of mean energy at the sample (J/cm^2)", "", p->fluence_J_cm2, &p->fluence_J_cm2, NULL));
  PetscCall(PetscOptionsEnum("-sim_solvent", "diffusive: solvent (absorption, heat capacity, diffusivity, viscosity law)", "", MxSolventNames, (PetscEnum)p->solvent, (PetscEnum *)&p->solvent, NULL));
  PetscCall(PetscOptionsBool("-sim_arrhenius", "diffusive: Arrhenius viscosity with -sim_Ea_kJ_mol instead of the solvent's law (NMF has none: always)", "", p->arrhenius, &p->arrhenius, NULL));
  PetscCall(PetscOptionsReal("-sim_heating_phi", "diffusive: PbS volume fraction along the beam for the dose (-1: -sim_phi)", "", p->heat_phi, &p->heat_phi, NULL));
  PetscCall(PetscOptionsReal("-sim_path_mm", "diffusive: sample thickness along the beam (mm)", "", p->path_mm, &p->path_mm, NULL));
  PetscCall(PetscOptionsReal("-sim_kappa_per_pulse", "linear: D_n = D0 (1 + kappa n)", "", p->kappa_per_pulse, &p->kappa_per_pulse, NULL));
  PetscCall(PetscOptionsReal("-sim_T0_K", "stokes: temperature before the train (K)", "", p->T0_K, &p->T0_K, NULL));
  PetscCall(PetscOptionsReal("-sim_dT_per_pulse_K", "stokes: temperature rise per pulse (K)", "", p->dT_per_pulse_K, &p->dT_per_pulse_K, NULL));
  PetscCall(PetscOptionsReal("-sim_Ea_kJ_mol", "stokes: activation energy of the Arrhenius viscosity (kJ/mol)", "", p->Ea_kJ_mol, &p->Ea_kJ_mol, NULL));
  PetscCall(PetscOptionsBool("-sim_artifacts", "Detector artifacts (memory-cell pattern, dead/hot pixels, masked ASIC)", "", p->artifacts, &p->artifacts, NULL));
  PetscCall(PetscOptionsReal("-sim_offset_amp", "Memory-cell offset pattern amplitude (photons)", "", p->offset_amp, &p->offset_amp, NULL));
  PetscCall(PetscOptionsReal("-sim_gain_amp", "Memory-cell relative gain pattern amplitude", "", p->gain_amp, &p->gain_amp, NULL));
  PetscCall(PetscOptionsReal("-sim_dead_frac", "Fraction of dead pixels (ideal: with -sim_artifacts, mask bit 14; agipd: always, bits 14 DATA_STD_IS_ZERO and 0 OFFSET_OUT_OF_THRESHOLD)", "", p->dead_frac, &p->dead_frac, NULL));
  PetscCall(PetscOptionsReal("-sim_hot_frac", "Fraction of hot pixels (ideal: with -sim_artifacts; agipd: always; mask bit 1 NOISE_OUT_OF_THRESHOLD)", "", p->hot_frac, &p->hot_frac, NULL));
  PetscCall(PetscOptionsInt("-sim_masked_asics", "Masked 64x64 ASICs per module", "", p->masked_asics, &p->masked_asics, NULL));
  PetscCall(PetscOptionsInt("-sim_missing_module", "A module whose files are not written (-1: none)", "", p->missing_module, &p->missing_module, NULL));
  PetscCall(PetscOptionsIntArray("-sim_missing_trains", "Train indices left out of the run (gaps in train IDs)", "", p->missing_trains, &nmiss, &set));
  if (set) p->nmissing = nmiss;
  PetscCall(PetscOptionsBool("-sim_xgm", "Write the XGM's per-pulse energies (raw/r####/RAW-R####-DA01-S00000.h5)", "", p->xgm, &p->xgm, NULL));
  PetscCall(PetscOptionsReal("-sim_pulse_energy_uJ", "Mean pulse energy at the sample (uJ; the XGM record)", "", p->pulse_energy_uJ, &p->pulse_energy_uJ, NULL));
  PetscCall(PetscOptionsReal("-sim_train_energy_rms", "Relative rms of the trains' pulse energy from train to train (drifts, attenuators; the heating follows it)", "", p->train_energy_rms, &p->train_energy_rms, NULL));
  PetscCall(PetscOptionsReal("-sim_xgm_noise", "Relative Gaussian noise of the XGM reading", "", p->xgm_noise, &p->xgm_noise, NULL));
  nmiss = 64;
  PetscCall(PetscOptionsIntArray("-sim_dud_trains", "Train indices with a dud pulse (the middle pulse at 2 % of its energy)", "", p->dud_trains, &nmiss, &set));
  if (set) p->ndud = nmiss;
  PetscCall(PetscOptionsString("-sim_detector", "agipd (default): what EuXFEL's calibration writes for AGIPD (keV, gain error, offset residual, common mode, noise, charge sharing, bad pixels, zingers, wide pixels, gain stages; docs/simulate.md) | ideal: the photon counts (x -sim_adu_per_photon); the photon counts are the same in both", "", detector, detector, sizeof detector, NULL));
  PetscCall(PetscOptionsString("-sim_units", "agipd: unit of image.data: photons | keV (photons x the photon energy: proc data are keV, MID's get_agipd divides by the energy) | adu (x -sim_adu_per_photon)", "", p->units, p->units, sizeof p->units, &units_set));
  PetscCall(PetscOptionsReal("-sim_gain_error", "agipd: rms relative gain error per pixel, static (what SlopesPC/SlopesFF leave; no measured number found, agipd-data.md 1; issue 13 takes 0.03)", "", p->gain_error, &p->gain_error, NULL));
  PetscCall(PetscOptionsReal("-sim_offset_residual", "agipd: rms offset residual per memory cell and pixel, static (photons; per-cell artefacts survive the Offset correction: MID keeps variances per 32-cell block, midtools subtracts a cell common mode; size unverified, issue 13 takes 0.04)", "", p->offset_residual, &p->offset_residual, NULL));
  PetscCall(PetscOptionsReal("-sim_common_mode", "agipd: rms common mode per frame and 64x64 ASIC (photons; midtools and pycalibration subtract a per-frame, per-ASIC median of the empty pixels; issue 13 takes 0.25)", "", p->common_mode, &p->common_mode, NULL));
  PetscCall(PetscOptionsReal("-sim_common_mode_cell", "agipd: rms static common mode per ASIC and memory cell (photons; pycalibration's common mode works per ASIC and cell)", "", p->common_mode_cell, &p->common_mode_cell, NULL));
  PetscCall(PetscOptionsReal("-sim_noise", "agipd: rms Gaussian electronic noise per pixel-frame (photons; Allahgholi 2019: < 1 keV equivalent, < 0.08 photons at 12.3 keV; 0.12 is the pessimistic default of issue 13)", "", p->noise, &p->noise, NULL));
  PetscCall(PetscOptionsReal("-sim_charge_cloud_um", "agipd: Gaussian sigma of a photon's charge cloud, shared over the 3x3 neighbourhood (um; 200 um pixels; no AGIPD number found, agipd-data.md 3 takes 5-10 um at 12 keV)", "", p->charge_cloud_um, &p->charge_cloud_um, NULL));
  PetscCall(PetscOptionsReal("-sim_spike_rate", "agipd: unflagged zingers of 50-500 photons per pixel-frame (rate; 'a few unflagged outliers', issue 13)", "", p->spike_rate, &p->spike_rate, NULL));
  PetscCall(PetscOptionsBool("-sim_wide_pixels", "agipd: the double-size pixels at the horizontal ASIC joins (rows 64k-1 and 64k, not 0 and 511; EXtra-geom agipd_asic_seams) collect twice the photons", "", p->wide_pixels, &p->wide_pixels, NULL));
  PetscCall(PetscOptionsBool("-sim_flag_wide", "agipd: flag the double-size pixels NON_STANDARD_SIZE (mask bit 22), as new calibration deployments do (calng, EXtra docs/calibration.md)", "", p->flag_wide, &p->flag_wide, NULL));
  PetscCall(PetscOptionsReal("-sim_medium_gain_photons", "agipd: image.gain is 1 (medium gain) for pixel-frames above this signal (photons), else 0 (high gain); the switching point is an assumption (not in agipd-data.md)", "", p->medium_gain_photons, &p->medium_gain_photons, NULL));
  PetscCall(PetscOptionsBool("-sim_clean_copy", "agipd: also write the photon counts the detector saw (before gain, offset, common mode, noise, charge sharing and zingers; the same mask) as a second run in DIR/clean, to check the corrections against the same photons", "", p->clean_copy, &p->clean_copy, NULL));
  PetscCall(MxOptionsView("-sim_view", "Where MxSimSetUp prints the set-up: modules, speckle windows, sample, beam (no value: standard output; 0: nowhere)", "MxSimSetView", &s->view));
  PetscOptionsEnd();
  snprintf(p->hydro, sizeof p->hydro, "%s", hydro);
  snprintf(p->heating, sizeof p->heating, "%s", heating);
  PetscCheck(!strcmp(detector, "ideal") || !strcmp(detector, "agipd"), s->comm, PETSC_ERR_ARG_WRONG, "option -sim_detector: '%s' is not ideal or agipd", detector);
  p->agipd = (PetscBool)!strcmp(detector, "agipd");

  /* check everything here, naming the option */
  PetscCheck(p->nmodules >= 1, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_modules: empty");
  for (PetscInt i = 0; i < p->nmodules; i++) PetscCheck(p->modules[i] >= 0 && p->modules[i] < MX_NMOD, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_modules: %" PetscInt_FMT " is not in 0..15", p->modules[i]);
  PetscCheck(p->ntrains >= 1, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_trains: %" PetscInt_FMT " must be >= 1", p->ntrains);
  PetscCheck(p->npulses >= 2 && p->npulses <= 352, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_pulses: %" PetscInt_FMT " must be in 2..352 (AGIPD memory cells)", p->npulses);
  if (fabs(p->rep_rate_mhz - 4.5) < 1e-9) p->pulse_step = 1;
  else if (fabs(p->rep_rate_mhz - 2.2) < 1e-9) p->pulse_step = 2;
  else if (fabs(p->rep_rate_mhz - 1.1) < 1e-9) p->pulse_step = 4;
  else SETERRQ(s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_rep_rate_mhz: %g is not 1.1, 2.2 or 4.5", (double)p->rep_rate_mhz);
  p->dt_s = p->pulse_step / MX_BUNCH_CLOCK_HZ;
  PetscCheck(p->trains_per_file >= 1, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_trains_per_file: must be >= 1");
  PetscCheck(p->compress >= 0 && p->compress <= 9, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_compress: %" PetscInt_FMT " must be a deflate level in 0..9", p->compress);
  PetscCheck(p->radius_A > 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_radius_A: %g must be > 0", (double)p->radius_A);
  PetscCheck(p->pd >= 0 && p->pd < 0.5, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_pd: %g must be in [0, 0.5)", (double)p->pd);
  PetscCheck(p->phi >= 0 && p->phi < 0.55, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_phi: %g must be in [0, 0.55)", (double)p->phi);
  PetscCheck(p->hs_diameter_A >= 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_hs_diameter_A: %g must be > 0 (or 0 for 2 x -sim_radius_A)", (double)p->hs_diameter_A);
  PetscCheck(p->photons > 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_photons: %g must be > 0", (double)p->photons);
  PetscCheck(p->q_ref > 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_q_ref: %g must be > 0", (double)p->q_ref);
  PetscCheck(p->porod >= 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_porod: %g must be >= 0", (double)p->porod);
  PetscCheck(p->beam_fwhm_um > 0.1 && p->beam_fwhm_um < 100, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_beam_fwhm_um: %g must be in (0.1, 100)", (double)p->beam_fwhm_um);
  PetscCheck(p->subpixels >= 1 && p->subpixels <= MX_SPECKLE_MAXSUB, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_subpixels: %" PetscInt_FMT " must be in 1..%d", p->subpixels, MX_SPECKLE_MAXSUB);
  PetscCheck(p->sase_modes >= 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_sase_modes: must be >= 0");
  PetscCheck(p->adu_per_photon > 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_adu_per_photon: must be > 0");
  PetscCheck(p->gain_noise >= 0 && p->gain_noise < 1, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_gain_noise: must be in [0, 1)");
  PetscCheck(p->D0_um2_s > 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_D0_um2_s: %g must be > 0", (double)p->D0_um2_s);
  PetscCheck(!strcmp(p->hydro, "none") || !strcmp(p->hydro, "deltagamma"), s->comm, PETSC_ERR_ARG_WRONG, "option -sim_hydro: '%s' is not none or deltagamma", p->hydro);
  PetscCheck(!strcmp(p->heating, "none") || !strcmp(p->heating, "linear") || !strcmp(p->heating, "stokes") || !strcmp(p->heating, "diffusive"), s->comm, PETSC_ERR_ARG_WRONG, "option -sim_heating: '%s' is not diffusive, none, linear or stokes", p->heating);
  if (p->heat_phi < 0) p->heat_phi = p->phi;
  {
    MxHeatProps hp;
    PetscCheck(!MxHeatSampleProps(&(MxHeatSample){p->solvent, p->heat_phi, p->path_mm, p->T0_K, 0, 0}, &hp), s->comm, PETSC_ERR_ARG_OUTOFRANGE, "options -sim_heating_phi %g, -sim_path_mm %g: the heated sample needs phi in [0, 0.74) and a path > 0", (double)p->heat_phi, (double)p->path_mm);
    PetscCheck(p->fluence_J_cm2 >= 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_fluence_J_cm2: %g must be >= 0", (double)p->fluence_J_cm2);
    p->tauI_s = MxHeatTauI(p->beam_fwhm_um, hp.alpha_m2_s);
    /* diffusive: dT_per_pulse_K in MxSimSetUp, at the geometry's photon energy */
  }
  PetscCheck(p->T0_K > 0 && p->dT_per_pulse_K >= 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "options -sim_T0_K > 0 and -sim_dT_per_pulse_K >= 0");
  PetscCheck(p->kappa_per_pulse > -1.0 / p->npulses, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_kappa_per_pulse: D would become negative");
  for (PetscInt i = 0; i < p->ndud; i++) PetscCheck(p->dud_trains[i] >= 0 && p->dud_trains[i] < p->ntrains, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_dud_trains: %" PetscInt_FMT " is not a train index in 0..%" PetscInt_FMT, p->dud_trains[i], p->ntrains - 1);
  PetscCheck(p->pulse_energy_uJ > 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_pulse_energy_uJ: must be > 0");
  PetscCheck(p->train_energy_rms >= 0 && p->train_energy_rms < 1, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_train_energy_rms: %g must be in [0, 1)", (double)p->train_energy_rms);
  PetscCheck(p->xgm_noise >= 0 && p->xgm_noise < 0.5, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_xgm_noise: must be in [0, 0.5)");
  PetscCheck(p->missing_module >= -1 && p->missing_module < MX_NMOD, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_missing_module: must be -1 or 0..15");
  PetscCheck(p->agipd || !units_set, s->comm, PETSC_ERR_ARG_WRONG, "option -sim_units: only with -sim_detector agipd (ideal writes photons x -sim_adu_per_photon)");
  PetscCheck(!strcmp(p->units, "photons") || !strcmp(p->units, "keV") || !strcmp(p->units, "adu"), s->comm, PETSC_ERR_ARG_WRONG, "option -sim_units: '%s' is not photons, keV or adu", p->units);
  PetscCheck(!p->agipd || !adu_set || !strcmp(p->units, "adu"), s->comm, PETSC_ERR_ARG_WRONG, "option -sim_adu_per_photon: with -sim_detector agipd only for -sim_units adu (the units are %s)", p->units);
  PetscCheck(p->agipd || !p->clean_copy, s->comm, PETSC_ERR_ARG_WRONG, "option -sim_clean_copy: only with -sim_detector agipd (ideal data are the clean counts)");
  PetscCheck(!p->agipd || p->gain_noise == 0, s->comm, PETSC_ERR_ARG_WRONG, "option -sim_gain_noise: ideal only; -sim_detector agipd has -sim_gain_error and -sim_noise");
  PetscCheck(p->gain_error >= 0 && p->gain_error < 0.3, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_gain_error: %g must be in [0, 0.3)", (double)p->gain_error);
  PetscCheck(p->offset_residual >= 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_offset_residual: %g must be >= 0", (double)p->offset_residual);
  PetscCheck(p->common_mode >= 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_common_mode: %g must be >= 0", (double)p->common_mode);
  PetscCheck(p->common_mode_cell >= 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_common_mode_cell: %g must be >= 0", (double)p->common_mode_cell);
  PetscCheck(p->noise >= 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_noise: %g must be >= 0", (double)p->noise);
  PetscCheck(p->charge_cloud_um >= 0 && p->charge_cloud_um <= 50, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_charge_cloud_um: %g must be in [0, 50] (the 3x3 neighbourhood of a 200 um pixel)", (double)p->charge_cloud_um);
  PetscCheck(p->spike_rate >= 0 && p->spike_rate <= 1e-3, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_spike_rate: %g must be in [0, 1e-3]", (double)p->spike_rate);
  PetscCheck(p->medium_gain_photons > 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_medium_gain_photons: %g must be > 0", (double)p->medium_gain_photons);
  PetscCheck(p->dead_frac >= 0 && p->hot_frac >= 0 && p->dead_frac + p->hot_frac <= 1, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "options -sim_dead_frac %g, -sim_hot_frac %g: fractions >= 0 adding up to at most 1", (double)p->dead_frac, (double)p->hot_frac);
  for (PetscInt i = 0; i < p->nmissing; i++) PetscCheck(p->missing_trains[i] >= 0 && p->missing_trains[i] < p->ntrains, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_missing_trains: %" PetscInt_FMT " is not a train index in 0..%" PetscInt_FMT, p->missing_trains[i], p->ntrains - 1);
  PetscFunctionReturn(0);
}

PetscErrorCode MxSimSetOutput(MxSim s, const char dir[])
{
  PetscFunctionBeginUser;
  snprintf(s->outdir, sizeof s->outdir, "%s", dir);
  PetscFunctionReturn(0);
}

static PetscErrorCode SimView(void *s, PetscViewer v) { return MxSimView((MxSim)s, v); }

PetscErrorCode MxSimSetUp(MxSim s)
{
  MxSimParams       *p = &s->p;
  const MxPixelGeom *pix;
  double             qlo = 1e9, qhi = 0;

  PetscFunctionBeginUser;
  if (s->setup) PetscFunctionReturn(0);
  PetscCall(MxGeomSetUp(s->geom));
  PetscCall(MxGeomGetPixels(s->geom, &pix));
  PetscCall(MxGeomGetWavelength(s->geom, &s->lambda_A));
  PetscCall(MxGeomGetDistance(s->geom, &s->distance_m));
  {
    double energy, px;
    PetscCall(MxGeomGetEnergy(s->geom, &energy));
    PetscCall(MxGeomGetPixelSize(s->geom, &px));
    p->pixel_um   = px * 1e6;
    p->unit_scale = !strcmp(p->units, "keV") ? energy : !strcmp(p->units, "adu") ? p->adu_per_photon : 1.0;
    if (!strcmp(p->heating, "diffusive")) { /* the dose at this photon energy */
      MxHeatProps hp;
      PetscCheck(!MxHeatSampleProps(&(MxHeatSample){p->solvent, p->heat_phi, p->path_mm, p->T0_K, 0, energy}, &hp), s->comm, PETSC_ERR_ARG_OUTOFRANGE, "simulate: -sim_heating diffusive needs a photon energy in %g..%g keV (the absorption coefficients' table), not %g keV", MX_HEAT_EMIN_KEV, MX_HEAT_EMAX_KEV, energy);
      p->dT_per_pulse_K = p->fluence_J_cm2 * hp.dT_per_J_cm2;
    }
  }
  for (PetscInt i = 0; i < p->nmodules; i++)
    for (PetscInt k = 0; k < MX_MODPIX; k++) {
      size_t g = (size_t)p->modules[i] * MX_MODPIX + k;
      if (!pix->covered[g]) continue;
      qlo = PetscMin(qlo, pix->q_inv_A[g]);
      qhi = PetscMax(qhi, pix->q_inv_A[g]);
    }
  PetscCheck(qhi > qlo, s->comm, PETSC_ERR_ARG_WRONG, "simulate: the geometry covers no pixel of the chosen modules");
  s->nbins  = 96;
  s->bin_q0 = qlo;
  s->bin_dq = (qhi - qlo) * (1 + 1e-9) / s->nbins;
  PetscCall(PetscCalloc1(3 * s->nbins * p->ntrains, &s->beta_acc));
  PetscCall(PetscCalloc1(MX_NCOUNT * s->nbins * p->ntrains, &s->count_acc));
  PetscCall(MxSimTables(s));
  /* the hydrodynamic function must stay positive where modes are simulated */
  for (PetscInt i = 0; i < s->ntab; i++)
    if (s->tab_q[i] >= qlo && s->tab_q[i] <= qhi)
      PetscCheck(s->tab_H[i] > 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "simulate: H(q) = Ds/D0 + H_d(q) = %g <= 0 at q = %g 1/A (the delta-gamma distinct part outweighs Ds/D0 = %g there); simulate higher q (-sim_modules) or raise -sim_Ds_over_D0", s->tab_H[i], s->tab_q[i], (double)p->Ds_over_D0);
  PetscCall(PetscMalloc1(p->ntrains, &s->train_ids));
  for (PetscInt t = 0; t < p->ntrains; t++) s->train_ids[t] = 1000000000ULL + 1000ULL * (uint64_t)p->run + (uint64_t)t;
  PetscCall(PetscCalloc1(p->nmodules, &s->mods));
  s->nmods = 0;
  for (PetscInt i = 0; i < p->nmodules; i++) {
    if (p->modules[i] == p->missing_module) continue;
    s->mods[s->nmods].module = (int)p->modules[i];
    PetscCall(MxSimModuleSetUp(s, &s->mods[s->nmods]));
    s->nmods++;
  }
  PetscCheck(s->nmods > 0, s->comm, PETSC_ERR_ARG_WRONG, "simulate: -sim_missing_module removes every simulated module");
  s->setup = PETSC_TRUE;
  PetscCall(MxViewOptionApply(&s->view, SimView, s));
  PetscFunctionReturn(0);
}

/* Per-train sums (ntrains x nbins x k) to their total over the trains on rank 0 (the first nbins
   x k entries). Each train's sums come from one rank (the others add zeros): exact at any rank
   count. */
static PetscErrorCode SumTrains(MxSim s, PetscInt k, double *acc)
{
  PetscMPIInt rank;
  PetscInt    n = k * s->nbins * s->p.ntrains;
  double     *tot = NULL;

  PetscFunctionBeginUser;
  MPI_Comm_rank(s->comm, &rank);
  if (!rank) PetscCall(PetscMalloc1(n, &tot));
  PetscCallMPI(MPI_Reduce(acc, tot, (int)n, MPI_DOUBLE, MPI_SUM, 0, s->comm));
  if (!rank) {
    PetscCall(PetscArrayzero(acc, k * s->nbins));
    for (PetscInt t = 0; t < s->p.ntrains; t++)
      for (PetscInt j = 0; j < k * s->nbins; j++) acc[j] += tot[t * k * s->nbins + j];
    PetscCall(PetscFree(tot));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxSimRun(MxSim s)
{
  char           part[PETSC_MAX_PATH_LEN], path[PETSC_MAX_PATH_LEN];
  PetscMPIInt    rank;
  PetscErrorCode ierr;
  double         t0 = MPI_Wtime();

  PetscFunctionBeginUser;
  PetscCheck(s->outdir[0], s->comm, PETSC_ERR_ARG_WRONGSTATE, "mxpcs simulate needs -o DIR");
  PetscCall(MxSimSetUp(s));
  PetscCall(PetscLogEventBegin(MX_SIM_RUN, 0, 0, 0, 0));
  MPI_Comm_rank(s->comm, &rank);
  PetscCall(MxSimWriteRun(s));
  PetscCall(SumTrains(s, 3, s->beta_acc));
  PetscCall(SumTrains(s, MX_NCOUNT, s->count_acc));
  snprintf(part, sizeof part, "%s.part", s->outdir);
  snprintf(path, sizeof path, "%s/truth.h5", part);
  PetscCall(MxSimWriteTruth(s, path));
  if (s->p.xgm) PetscCall(MxSimWriteXgm(s, part));
  if (s->p.xgm && s->p.clean_copy) {
    snprintf(path, sizeof path, "%s/clean", part);
    PetscCall(MxSimWriteXgm(s, path));
  }
  ierr = 0;
  if (!rank && rename(part, s->outdir)) ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_WRITE, PETSC_ERROR_INITIAL, "simulate: cannot rename %s to %s", part, s->outdir);
  PetscCall(MxErrorSync(s->comm, ierr));
  PetscCall(PetscLogEventEnd(MX_SIM_RUN, 0, 0, 0, 0));
  {
    struct rusage ru;
    double        rss, maxrss, tsim, twr, tall = MPI_Wtime() - t0;
    getrusage(RUSAGE_SELF, &ru);
    rss = ru.ru_maxrss / 1024.0;
    PetscCallMPI(MPI_Reduce(&rss, &maxrss, 1, MPI_DOUBLE, MPI_MAX, 0, s->comm));
    PetscCallMPI(MPI_Reduce(&s->t_sim, &tsim, 1, MPI_DOUBLE, MPI_MAX, 0, s->comm));
    PetscCallMPI(MPI_Reduce(&s->t_write, &twr, 1, MPI_DOUBLE, MPI_MAX, 0, s->comm));
    PetscCall(PetscPrintf(s->comm, "mxpcs simulate: wrote %s: %" PetscInt_FMT " trains x %" PetscInt_FMT " pulses x %" PetscInt_FMT " modules in %.1f s (model %.1f s, writing %.1f s on the busiest rank; %.2f s per train-module), peak memory %.0f MiB per rank\n", s->outdir, s->p.ntrains - s->p.nmissing, s->p.npulses, s->nmods, tall, tsim, twr, tall / PetscMax(1, (s->p.ntrains - s->p.nmissing) * s->nmods), maxrss));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxSimView(MxSim s, PetscViewer v)
{
  MxSimParams *p = &s->p;

  PetscFunctionBeginUser;
  PetscCall(PetscViewerASCIIPrintf(v, "MxSim: preset %s, %" PetscInt_FMT " trains x %" PetscInt_FMT " pulses at %g MHz (%.2f ns apart), modules", p->preset, p->ntrains, p->npulses, (double)p->rep_rate_mhz, p->dt_s * 1e9));
  for (PetscInt i = 0; i < p->nmodules; i++) PetscCall(PetscViewerASCIIPrintf(v, " %" PetscInt_FMT, p->modules[i]));
  PetscCall(PetscViewerASCIIPrintf(v, "\n  sample: R = %g A, pd = %g, phi = %g, S(q) %s, hydro %s (Ds/D0 = %g), D0 = %g um^2/s\n", (double)p->radius_A, (double)p->pd, (double)p->phi, p->structure_py ? "Percus-Yevick" : "= 1", p->hydro, (double)p->Ds_over_D0, (double)p->D0_um2_s));
  PetscCall(PetscViewerASCIIPrintf(v, "  heating %s: D after the last pulse = %.3g x D0\n", p->heating, s->D_A2_s ? s->D_A2_s[p->npulses - 1] / (p->D0_um2_s * 1e8) : 1.0));
  if (!strcmp(p->heating, "diffusive")) PetscCall(PetscViewerASCIIPrintf(v, "  dose: fluence %g J/cm^2, PbS phi %g in %s, path %g mm: dT_c0 = %.3g K per pulse, tau_I = %.3g us\n", (double)p->fluence_J_cm2, (double)p->heat_phi, MxSolventNames[p->solvent], (double)p->path_mm, (double)p->dT_per_pulse_K, (double)p->tauI_s * 1e6));
  PetscCall(PetscViewerASCIIPrintf(v, "  beam %g um FWHM, %g photons/pixel/pulse at q = %g 1/A, artifacts %s\n", (double)p->beam_fwhm_um, (double)p->photons, (double)p->q_ref, p->artifacts ? "on" : "off"));
  if (p->agipd)
    PetscCall(PetscViewerASCIIPrintf(v, "  detector agipd: %s (%g per photon), gain error %g, offset residual %g, common mode %g + %g per cell, noise %g photons; charge cloud %g um; zingers %g per pixel-frame; wide pixels %s%s; medium gain above %g photons%s\n", p->units, (double)p->unit_scale, (double)p->gain_error, (double)p->offset_residual, (double)p->common_mode, (double)p->common_mode_cell, (double)p->noise, (double)p->charge_cloud_um, (double)p->spike_rate, p->wide_pixels ? "on" : "off", p->wide_pixels && p->flag_wide ? " (flagged)" : "", (double)p->medium_gain_photons, p->clean_copy ? "; the clean photon counts in DIR/clean" : ""));
  for (PetscInt i = 0; i < s->nmods; i++) PetscCall(PetscViewerASCIIPrintf(v, "  module %d: speckle window %d x %d modes, dq = %.3g 1/A\n", s->mods[i].module, s->mods[i].win.nx, s->mods[i].win.ny, s->mods[i].win.dq));
  PetscFunctionReturn(0);
}

PetscErrorCode MxSimSetView(MxSim s, PetscViewer v)
{
  PetscFunctionBeginUser;
  PetscCall(MxViewOptionSet(&s->view, v));
  PetscFunctionReturn(0);
}

PetscErrorCode MxSimDestroy(MxSim *ps)
{
  MxSim s = *ps;

  PetscFunctionBeginUser;
  if (!s) PetscFunctionReturn(0);
  PetscCall(MxViewOptionDestroy(&s->view));
  for (PetscInt i = 0; i < s->nmods; i++) PetscCall(MxSimModuleDestroy(&s->mods[i]));
  PetscCall(PetscFree(s->mods));
  if (s->tab_q) PetscCall(PetscFree5(s->tab_q, s->tab_I, s->tab_P, s->tab_S, s->tab_H));
  if (s->D_A2_s) PetscCall(PetscFree2(s->D_A2_s, s->T_K));
  PetscCall(PetscFree(s->heat_h));
  PetscCall(PetscFree(s->beta_acc));
  PetscCall(PetscFree(s->count_acc));
  PetscCall(PetscFree(s->train_ids));
  PetscCall(MxGeomDestroy(&s->geom));
  PetscCall(PetscFree(s));
  *ps = NULL;
  PetscFunctionReturn(0);
}
