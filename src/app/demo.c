/* mxpcs demo: the seed paper's whole analysis on synthetic data, end to end.
   simulate (colloid, liquid) -> analyze (both) -> joint fit -> MD epsilon scan and match ->
   figures -> a short table of the results beside the simulated truth.
   Each stage runs in this process on the world communicator with its own options database
   (the settings of inputs/sim_*.yaml, analyze_*.yaml, fit_joint.yaml and md_paper.yaml, embedded
   here so that the demo needs no files), pushed while the stage configures itself. */
#include "app.h"
#include <mxpcs/analyze.h>
#include <mxpcs/joint.h>
#include <mxpcs/md.h>
#include <mxpcs/sim.h>
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *sim_colloid = "-sim_preset colloid -sim_modules 3,4 -sim_pulses 50 -sim_rep_rate_mhz 2.2 -sim_radius_A 29 -sim_pd 0.05 -sim_D0_um2_s 57 -sim_heating diffusive -sim_solvent dmf -sim_fluence_J_cm2 0.8 -sim_photons 0.3 -sim_q_ref 0.01 -sim_beam_fwhm_um 2.5 -sim_artifacts 1 -sim_detector agipd -sim_subpixels 1 -sim_seed 1 -sim_compress 1";
static const char *sim_liquid  = "-sim_preset liquid -sim_modules 0,12 -sim_phi 0.3 -sim_structure_py 1 -sim_hydro deltagamma -sim_Ds_over_D0 0.23 -sim_D0_um2_s 5 -sim_photons 0.1 -sim_q_ref 0.11 -sim_heating diffusive -sim_solvent dmf -sim_heating_phi 0.02 -sim_fluence_J_cm2 0.8 -sim_artifacts 1 -sim_detector agipd -sim_subpixels 1 -sim_seed 2 -sim_compress 1";
static const char *an_common   = "-geom_distance_m 7 -geom_energy_kev 12.3 -reader_adu_per_photon 12.3 -reader_common_mode asic -reader_photonize droplet -rings_spacing lin -rings_min_pixels 200 -g2_age_step 5 -g2_extrapolation heating -heating_solvent dmf -heating_path_mm 0.9 -heating_beam_fwhm_um 2.5 -corr_xc 1 -fit_beta fixed -analyze_progress 0 -analyze_checkpoint none";
static const char *an_colloid  = "-rings_q_min 0.006 -rings_q_max 0.022 -rings_n 8 -heating_phi 0.005";
static const char *an_liquid   = "-rings_q_min 0.08 -rings_q_max 0.13 -rings_n 6 -heating_phi 0.02";
static const char *fit_joint   = "-joint_heating dose -joint_T0_K 298.15 -colloid_joint_dense 0 -colloid_hydro_D0 0 -colloid_joint_q_range 0.005:0.1 -liquid_joint_dense 1 -liquid_hydro_D0 5 -liquid_joint_q_range 0.085:0.13";
static const char *md_paper    = "-md_epsilon 0,0.5,1,1.5,2 -md_n 500 -md_phi 0.3 -md_cutoff shifted -md_cutoff_sigma 2.5 -md_equil_steps 10000 -md_refine 3 -md_coex_steps_factor 2";

static PetscOptions stage_db; /* the database of the stage being configured */

/* Push a fresh options database holding opts (plus extra) for one stage. */
static PetscErrorCode StagePush(const char *opts, const char *extra)
{
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsCreate(&stage_db));
  PetscCall(PetscOptionsInsertString(stage_db, opts));
  if (extra) PetscCall(PetscOptionsInsertString(stage_db, extra));
  PetscCall(PetscOptionsPush(stage_db));
  PetscFunctionReturn(0);
}

static PetscErrorCode StagePop(void)
{
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsPop());
  PetscCall(PetscOptionsDestroy(&stage_db));
  PetscFunctionReturn(0);
}

static double Now(void) { return MPI_Wtime(); }

static PetscErrorCode Simulate(MPI_Comm comm, const char *opts, const char *extra, const char *dir)
{
  MxSim s;
  struct stat st;
  int   have = 0;
  char  truth[PETSC_MAX_PATH_LEN + 16];
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  snprintf(truth, sizeof truth, "%s/truth.h5", dir);
  if (!rank) have = stat(truth, &st) == 0;
  PetscCallMPI(MPI_Bcast(&have, 1, MPI_INT, 0, comm));
  if (have) { /* a complete run from an earlier demo: the directory is renamed only when complete */
    PetscCall(PetscPrintf(comm, "  %s exists (complete): reused\n", dir));
    PetscFunctionReturn(0);
  }
  PetscCall(StagePush(opts, extra));
  PetscCall(MxSimCreate(comm, &s));
  PetscErrorCode ierr = MxSimSetFromOptions(s);
  PetscCall(StagePop());
  PetscCall(ierr);
  PetscCall(MxSimSetOutput(s, dir));
  PetscCall(MxSimSetUp(s));
  PetscCall(MxSimRun(s));
  PetscCall(MxSimDestroy(&s));
  PetscFunctionReturn(0);
}

static PetscErrorCode Analyze(MPI_Comm comm, const char *run, const char *rings, const char *out)
{
  MxAnalyze a;
  char      extra[PETSC_MAX_PATH_LEN + 64];

  PetscFunctionBeginUser;
  snprintf(extra, sizeof extra, "-run %s %s", run, rings);
  PetscCall(StagePush(an_common, extra));
  PetscCall(MxAnalyzeCreate(comm, &a));
  PetscErrorCode ierr = MxAnalyzeSetFromOptions(a);
  PetscCall(StagePop());
  PetscCall(ierr);
  PetscCall(MxAnalyzeSetUp(a));
  PetscCall(MxAnalyzeApply(a));
  PetscCall(MxAnalyzeWrite(a, out));
  PetscCall(MxAnalyzeViewFromOptions(a));
  PetscCall(MxAnalyzeDestroy(&a));
  PetscFunctionReturn(0);
}

/* rank 0 reads a scalar or a 1-D array from an HDF5 file; NAN when missing */
static double H5Scalar(const char *file, const char *path)
{
  double v = NAN;
  hid_t  f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return v;
  if (MxH5Exists(f, path)) {
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0) v = NAN;
    H5Dclose(d);
  }
  H5Fclose(f);
  return v;
}

static int H5Vector(const char *file, const char *path, double *v, int max)
{
  int   n = 0;
  hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return 0;
  if (MxH5Exists(f, path)) {
    hid_t   d = H5Dopen2(f, path, H5P_DEFAULT), sp = H5Dget_space(d);
    hsize_t dims[1];
    if (H5Sget_simple_extent_ndims(sp) == 1) {
      H5Sget_simple_extent_dims(sp, dims, NULL);
      if ((int)dims[0] <= max && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0) n = (int)dims[0];
    }
    H5Sclose(sp);
    H5Dclose(d);
  }
  H5Fclose(f);
  return n;
}

/* a scalar or vector of an mxpcs output by its schema item (sample: the %s of the path) */
static double Sc(const char *file, MxSchemaId id, const char *sample)
{
  char p[256];
  return MxSchemaPath(id, p, sizeof p, sample) ? NAN : H5Scalar(file, p);
}

static int Vec1(const char *file, MxSchemaId id, const char *sample, double *v, int max)
{
  char p[256];
  return MxSchemaPath(id, p, sizeof p, sample) ? 0 : H5Vector(file, p, v, max);
}

/* the truth's curve y(q) (truth.h5 /truth/q and item id) at q */
static double TruthAt(const char *truth, MxSchemaId id, double q)
{
  static double tq[8192], ty[8192];
  int           n = Vec1(truth, MX_TRUTH_Q, NULL, tq, 8192);
  if (n < 2 || Vec1(truth, id, NULL, ty, 8192) != n) return NAN;
  for (int i = 0; i + 1 < n; i++)
    if (tq[i] <= q && q <= tq[i + 1]) return ty[i] + (ty[i + 1] - ty[i]) * (q - tq[i]) / (tq[i + 1] - tq[i]);
  return NAN;
}

/* The closing table (rank 0). */
static void Summary(const char *dir)
{
  char   col[PETSC_MAX_PATH_LEN + 32], liq[PETSC_MAX_PATH_LEN + 32], jf[PETSC_MAX_PATH_LEN + 32], md[PETSC_MAX_PATH_LEN + 32], tc[PETSC_MAX_PATH_LEN + 32], tl[PETSC_MAX_PATH_LEN + 32];
  double q[64], H[64], He[64], D[64], De[64];

  snprintf(col, sizeof col, "%s/colloid.h5", dir);
  snprintf(liq, sizeof liq, "%s/liquid.h5", dir);
  snprintf(jf, sizeof jf, "%s/joint.h5", dir);
  snprintf(md, sizeof md, "%s/md.h5", dir);
  snprintf(tc, sizeof tc, "%s/colloid/truth.h5", dir);
  snprintf(tl, sizeof tl, "%s/liquid/truth.h5", dir);
  /* truths: D_eff is Gamma0/q^2 at zero age at each ring's q_eff (the q of its D_eff), mean over
     the analysed rings */
  double tDc = 0, tDl = 0, Hmin = INFINITY, Hmax = -INFINITY, Hmin_e = 0, Hmax_e = 0, tHmin = INFINITY, tHmax = -INFINITY;
  int    nc = Vec1(col, MX_FIT_Q_EFF, NULL, q, 64);
  for (int i = 0; i < nc; i++) tDc += TruthAt(tc, MX_TRUTH_D_EFF, q[i]) / nc;
  int nl = Vec1(liq, MX_FIT_Q_EFF, NULL, q, 64);
  for (int i = 0; i < nl; i++) tDl += TruthAt(tl, MX_TRUTH_D_EFF, q[i]) / nl;
  int nh = Vec1(jf, MX_HYDRO_Q, "liquid", q, 64);
  Vec1(jf, MX_HYDRO_H, "liquid", H, 64);
  Vec1(jf, MX_HYDRO_H_ERR, "liquid", He, 64);
  for (int i = 0; i < nh; i++) {
    if (H[i] < Hmin) Hmin = H[i], Hmin_e = He[i];
    if (H[i] > Hmax) Hmax = H[i], Hmax_e = He[i];
    double t = TruthAt(tl, MX_TRUTH_H, q[i]);
    tHmin = PetscMin(tHmin, t);
    tHmax = PetscMax(tHmax, t);
  }
  (void)D;
  (void)De;
  printf("\nmxpcs demo: results (%s)\n", dir);
  printf("  %-36s %-26s %s\n", "quantity", "measured", "simulated truth");
  printf("  %-36s %8.2f +- %-14.2f %8.2f\n", "D_eff colloid, mean over q (um^2/s)", Sc(col, MX_FIT_D_EFF_MEAN, NULL), Sc(col, MX_FIT_D_EFF_MEAN_ERR, NULL), tDc);
  printf("  %-36s %8.3f +- %-14.3f %8.3f\n", "D_eff liquid, mean over q (um^2/s)", Sc(liq, MX_FIT_D_EFF_MEAN, NULL), Sc(liq, MX_FIT_D_EFF_MEAN_ERR, NULL), tDl);
  printf("  %-36s %8.2f +- %-14.2f %8.2f\n", "D0 (joint fit, colloid; um^2/s)", Sc(jf, MX_HYDRO_D0, "colloid"), Sc(jf, MX_HYDRO_D0_ERR, "colloid"), Sc(tc, MX_PARAMS_D0_UM2_S, NULL));
  printf("  %-36s %8.2f +- %-14.2f %8.2f\n", "radius (joint fit; angstrom)", Sc(jf, MX_SAXS_SAMPLE_RADIUS, "colloid"), Sc(jf, MX_SAXS_SAMPLE_RADIUS_ERR, "colloid"), Sc(tc, MX_PARAMS_RADIUS_A, NULL));
  printf("  %-36s %8.4f +- %-14.4f %8.4f\n", "phi of the liquid (joint fit)", Sc(jf, MX_SAXS_SAMPLE_PHI, "liquid"), Sc(jf, MX_SAXS_SAMPLE_PHI_ERR, "liquid"), Sc(tl, MX_PARAMS_PHI, NULL));
  printf("  %-36s %8.2f +- %-14.2f %8.2f\n", "hard-sphere diameter, liquid (A)", Sc(jf, MX_SAXS_SAMPLE_HS_DIAMETER, "liquid"), Sc(jf, MX_SAXS_SAMPLE_HS_DIAMETER_ERR, "liquid"), Sc(tl, MX_PARAMS_HS_DIAMETER_A, NULL));
  printf("  %-36s %.3f+-%.3f .. %.3f+-%.3f  %.3f .. %.3f\n", "H(q) of the liquid, range over q", Hmin, Hmin_e, Hmax, Hmax_e, tHmin, tHmax);
  printf("  %-36s %8.4f +- %-14.4f %8.4f\n", "Ds/D0 of the liquid (delta-gamma)", Sc(jf, MX_HYDRO_DS_OVER_D0, "liquid"), Sc(jf, MX_HYDRO_DS_OVER_D0_ERR, "liquid"), Sc(tl, MX_PARAMS_DS_OVER_D0, NULL));
  printf("  %-36s %8.3f +- %-14.3f %8.3f\n", "heating: fluence (joint fit; J/cm^2)", Sc(jf, MX_JOINT_HEATING_K, NULL), Sc(jf, MX_JOINT_HEATING_K_ERR, NULL), Sc(tc, MX_PARAMS_FLUENCE_J_CM2, NULL));
  printf("  %-36s %8.3f / %-14.3f %5.3f / %.3f\n", "  jump per pulse colloid / liquid (K)", Sc(jf, MX_HYDRO_HEATING_DT0, "colloid"), Sc(jf, MX_HYDRO_HEATING_DT0, "liquid"), Sc(tc, MX_PARAMS_DT_PER_PULSE_K, NULL), Sc(tl, MX_PARAMS_DT_PER_PULSE_K, NULL));
  printf("  %-36s %8.3f +- %-14.3f %s\n", "epsilon* (MD match of Ds/D0; kT)", Sc(md, MX_MD_EPSILON_MATCH, NULL), Sc(md, MX_MD_EPSILON_MATCH_ERR, NULL), "~1.5 (seed paper)");
  printf("  %-36s seeds %.3f, interpolation %.3f, target %.3f (kT, in quadrature)\n", "  its error", Sc(md, MX_MD_EPSILON_MATCH_ERR_SEEDS, NULL), Sc(md, MX_MD_EPSILON_MATCH_ERR_INTERP, NULL), Sc(md, MX_MD_EPSILON_MATCH_ERR_TARGET, NULL));
  printf("  %-36s %8.3f +- %-14.3f %s\n", "  at 2x MD run length (kT)", Sc(md, MX_MD_EPSILON_MATCH_LONG, NULL), Sc(md, MX_MD_EPSILON_MATCH_LONG_ERR, NULL), "(coexistence: Ds depends on run length)");
  if (Sc(md, MX_MD_MATCH_IN_COEXISTENCE, NULL) > 0) printf("  note: epsilon* lies where the LJ fluid at phi = 0.3 is inside gas-liquid coexistence (docs/md.md)\n");
  printf("  note: the comparison: the measured Ds/D0 = H(q -> inf) is a short-time quantity, Langevin MD without hydrodynamics gives a long-time Ds; the seed paper compares them anyway\n");
  fflush(stdout);
}

PetscErrorCode MxAppDemo(MPI_Comm comm)
{
  char        out[PETSC_MAX_PATH_LEN] = "", plot[PETSC_MAX_PATH_LEN] = "", path[PETSC_MAX_PATH_LEN + 64], path2[PETSC_MAX_PATH_LEN + 64], extra[256];
  PetscInt    trains = 32, md_steps = 25000, md_seeds = 4;
  PetscBool   help, figures = PETSC_TRUE;
  PetscMPIInt rank;
  double      t0 = Now(), ts;

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  PetscOptionsBegin(comm, NULL, "mxpcs demo: the seed paper's analysis on synthetic data, end to end", "mxpcs");
  PetscCall(PetscOptionsString("-o", "Output directory (runs, results, figures)", "", out, out, sizeof out, NULL));
  PetscCall(PetscOptionsInt("-demo_trains", "Trains per simulated run", "", trains, &trains, NULL));
  PetscCall(PetscOptionsInt("-demo_md_steps", "MD production steps per simulation (2x at/inside coexistence; mxpcs md's default is 50000)", "", md_steps, &md_steps, NULL));
  PetscCall(PetscOptionsInt("-demo_md_seeds", "MD seeds per epsilon, also per bisection point (errors: their spread)", "", md_seeds, &md_seeds, NULL));
  PetscCall(PetscOptionsBool("-demo_figures", "Draw the figures (tools/plot_figures.py with Debian's python3-matplotlib)", "", figures, &figures, NULL));
  PetscCall(PetscOptionsString("-demo_plot_script", "The figure tool (default: tools/plot_figures.py under MXPCS_DATADIR, the install prefix or the source tree)", "", plot, plot, sizeof plot, NULL));
  PetscOptionsEnd();
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) PetscFunctionReturn(0);
  PetscCall(MxAppCheckOptions(comm, "demo"));
  PetscCheck(out[0], comm, PETSC_ERR_ARG_NULL, "mxpcs demo needs -o DIR");
  PetscCheck(trains >= 8, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -demo_trains: %" PetscInt_FMT " is too few (>= 8)", trains);
  PetscCheck(md_steps >= 1000 && md_seeds >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "options -demo_md_steps (>= 1000) / -demo_md_seeds (>= 1)");
  if (!rank && mkdir(out, 0755) && errno != EEXIST) out[0] = 0;
  PetscCallMPI(MPI_Bcast(out, 1, MPI_CHAR, 0, comm));
  PetscCheck(out[0], comm, PETSC_ERR_FILE_OPEN, "mxpcs demo: cannot create the directory given by -o");

  PetscMPIInt size;
  MPI_Comm_size(comm, &size);
  PetscCall(PetscPrintf(comm, "mxpcs demo on %d rank(s): the seed paper's analysis of a colloid and a phi = 0.3 liquid, on synthetic European XFEL runs -> %s\n", (int)size, out));
  snprintf(extra, sizeof extra, "-sim_trains %" PetscInt_FMT, trains);
  const struct {
    const char *name, *sim, *rings;
  } samples[2] = {{"colloid", sim_colloid, an_colloid}, {"liquid", sim_liquid, an_liquid}};
  for (int k = 0; k < 2; k++) {
    ts = Now();
    snprintf(path, sizeof path, "%s/%s", out, samples[k].name);
    PetscCall(PetscPrintf(comm, "[%d/6] simulate the %s (%" PetscInt_FMT " trains x 50 pulses x 2 modules)\n", 1 + k, samples[k].name, trains));
    PetscCall(Simulate(comm, samples[k].sim, extra, path));
    PetscCall(PetscPrintf(comm, "      %.0f s\n", Now() - ts));
  }
  for (int k = 0; k < 2; k++) {
    ts = Now();
    snprintf(path, sizeof path, "%s/%s", out, samples[k].name);
    snprintf(path2, sizeof path2, "%s/%s.h5", out, samples[k].name);
    PetscCall(PetscPrintf(comm, "[%d/6] analyze the %s: two-time correlation with the neighbour-train correction, g2(q, tau, age), contrast, Gamma(q, age) -> Gamma(q, 0), D_eff\n", 3 + k, samples[k].name));
    if (!rank) unlink(path2);
    PetscCall(Analyze(comm, path, samples[k].rings, path2));
    PetscCall(PetscPrintf(comm, "      %.0f s\n", Now() - ts));
  }
  {
    MxJoint j;
    ts = Now();
    PetscCall(PetscPrintf(comm, "[5/6] joint fit: SAXS of both samples (shared radius, polydispersity), Gamma(q, age) heated by one shared beam fluence, PY S(q), delta-gamma H(q)\n"));
    PetscCall(StagePush(fit_joint, NULL));
    PetscCall(MxJointCreate(comm, &j));
    PetscCall(MxJointSetSampleNames(j, 2, (const char *const[]){"colloid", "liquid"}));
    PetscErrorCode ierr = MxJointSetFromOptions(j);
    PetscCall(StagePop());
    PetscCall(ierr);
    for (int k = 0; k < 2; k++) {
      snprintf(path, sizeof path, "%s/%s.h5", out, samples[k].name);
      PetscCall(MxJointAddResults(j, path));
    }
    PetscCall(MxJointSolve(j));
    snprintf(path, sizeof path, "%s/joint.h5", out);
    PetscCall(MxJointWriteFile(j, path, NULL));
    PetscCall(MxJointView(j, PETSC_VIEWER_STDOUT_(comm)));
    PetscCall(MxJointDestroy(&j));
    PetscCall(PetscPrintf(comm, "      %.0f s\n", Now() - ts));
  }
  {
    MxMD   md;
    double target[2] = {NAN, NAN};
    char   mdx[512];
    ts = Now();
    snprintf(path, sizeof path, "%s/joint.h5", out);
    if (!rank) {
      target[0] = Sc(path, MX_HYDRO_DS_OVER_D0, "liquid");
      target[1] = Sc(path, MX_HYDRO_DS_OVER_D0_ERR, "liquid");
    }
    PetscCallMPI(MPI_Bcast(target, 2, MPI_DOUBLE, 0, comm));
    PetscCall(PetscPrintf(comm, "[6/6] MD: LAMMPS Langevin dynamics of 500 Lennard-Jones particles at phi = 0.3 (cut-off 2.5 sigma, shifted), epsilon = 0..2 kT (%" PetscInt_FMT " seed(s)), Ds/D0(epsilon), 3 bisection steps to match Ds/D0 = %.3f +- %.3f, 2x run length at coexistence\n", md_seeds, target[0], target[1]));
    snprintf(mdx, sizeof mdx, "-md_steps %" PetscInt_FMT " -md_seeds %" PetscInt_FMT " -md_target_Ds_over_D0 %.17g -md_target_Ds_over_D0_err %.17g", md_steps, md_seeds, target[0], target[1]);
    PetscCall(StagePush(md_paper, mdx));
    PetscCall(MxMDCreate(comm, &md));
    PetscErrorCode ierr = MxMDSetFromOptions(md);
    PetscCall(StagePop());
    PetscCall(ierr);
    snprintf(path, sizeof path, "%s/md.h5", out);
    if (!rank) unlink(path);
    PetscCall(MxMDSetUp(md));
    PetscCall(MxMDRun(md));
    PetscCall(MxMDWrite(md, path));
    PetscCall(MxMDView(md, PETSC_VIEWER_STDOUT_(comm)));
    PetscCall(MxMDDestroy(&md));
    PetscCall(PetscPrintf(comm, "      %.0f s\n", Now() - ts));
  }
  const char *nofig = "-demo_figures 0";
  if (figures && !rank) {
    if (!plot[0]) PetscCall(MxDataFile("tools/plot_figures.py", plot, sizeof plot));
    char cmd[4 * PETSC_MAX_PATH_LEN];
    if (access("/usr/bin/python3", X_OK) || system("/usr/bin/python3 -c 'import matplotlib, h5py' 2>/dev/null")) {
      printf("figures: skipped: they need Debian's python3-matplotlib and python3-h5py (apt-get install python3-matplotlib python3-h5py, or run tools/setup.sh)\n");
      nofig = "python3-matplotlib missing";
    } else if (!plot[0] || access(plot, R_OK)) {
      printf("figures: skipped: the figure tool tools/plot_figures.py was found neither beside the executable nor under its install prefix (-demo_plot_script FILE, or MXPCS_DATADIR)\n");
      nofig = "plot_figures.py not found";
    } else {
      snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' --dir '%s' --out '%s/figures'", plot, out, out);
      printf("figures: %s\n", cmd);
      fflush(stdout);
      if (system(cmd)) {
        printf("figures: the figure tool failed (see above); the results are complete\n");
        nofig = "the figure tool failed";
      } else {
        snprintf(cmd, sizeof cmd, "%s/figures/fig4_g2.png", out);
        if (!access(cmd, R_OK)) nofig = NULL;
        else nofig = "the figure tool wrote no figures";
      }
    }
  }
  if (!rank) Summary(out);
  if (nofig) PetscCall(PetscPrintf(comm, "mxpcs demo: done in %.0f s; results and runs in %s; no figures (%s)\n", Now() - t0, out, nofig));
  else PetscCall(PetscPrintf(comm, "mxpcs demo: done in %.0f s; results, figures and runs in %s\n", Now() - t0, out));
  PetscFunctionReturn(0);
}
