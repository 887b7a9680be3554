/* MxMD: the epsilon scan. The ranks of the object's communicator are split into P/k groups of k
   ranks (-md_ranks_per_sim k); each group runs one LAMMPS instance at a time over its share of
   the (epsilon, seed) tasks, analyses the trajectory (MSD with multiple origins, fit of the
   diffusive range, block errors, S(q) by FFTW-MPI on the group), and the results meet in one
   reduction. See include/mxpcs/md.h and docs/md.md. */
#include <mxpcs/md.h>
#include <mxpcs/models.h>
#include <mxpcs/schema.h>
#include <math.h>
#include <stdio.h>

#define MX_MD_MAX_EPS    128
#define MX_MD_MAX_REFINE 16
#define MX_MD_MAX_FACTOR 10

struct _p_MxMD {
  MPI_Comm comm;
  char    *opts; /* the options database as SetFromOptions saw it (provenance) */
  /* options */
  double    eps[MX_MD_MAX_EPS + MX_MD_MAX_REFINE]; /* -md_epsilon, then the bisection's points */
  PetscInt  neps;                                 /* the -md_epsilon grid */
  PetscInt  refine;                               /* bisection steps around epsilon* */
  PetscInt  coex_factor;                          /* second run length at/inside coexistence (0, 1: none) */
  PetscInt  n;
  double    phi, rho_star; /* NAN: not given */
  MxMDParams par;          /* n, cutoff, shift, damp, dt, steps, log; L set in SetUp */
  PetscInt  sample_every;  /* 0: auto */
  double    fit_t0, fit_t1; /* NAN: auto */
  double    fit_tol;
  PetscInt  blocks, nseeds, seed, ranks_per_sim;
  double    target, target_err; /* NAN: no target */
  char      target_file[PETSC_MAX_PATH_LEN];
  PetscBool target_given, target_err_given;
  PetscInt  sq_frames, sq_grid;
  double    sq_qmax, tc_star;
  PetscBool com;
  MxViewOption view; /* -md_view: where SetUp prints the set-up */

  /* set-up */
  PetscBool   setup;
  MPI_Comm    sub;
  PetscMPIInt size, rank, group, ngroups, subrank;
  double      L, D0, T_prod, dt_frame;
  PetscInt    nframes, nframes_long, nq;
  MxMDSq      sq;

  /* per task (eps-major: task = ie * nseeds + is), identical on every rank after MxMDRun; the
     epsilons are the grid, then the bisection's points in the order run, sorted at the end */
  PetscInt ne, ntask;
  double  *D, *D_blk_err, *D_fit_err, *t0, *t1, *T, *wall, *nodiff, *msd, *S, *S_err;
  double  *D_long, *D_long_blk_err, *refined;
  /* per epsilon */
  double  *Ds, *Ds_err, *msd_mean, *S_mean, *S_mean_err, *S_py_bh, *d_bh, *coex, *T_mean, *q, *S_py;
  double  *peak_q, *peak_S, *peak_q_py, *peak_S_py;
  double  *Ds_long, *Ds_long_err, *rl_diff, *rl_diff_err;
  PetscInt *nmodes;
  double   tc;
  /* match */
  PetscBool       have_match;
  MxMDMatchStatus match_status;
  double          eps_star, eps_star_err;
  int             ncross;
  MxMDMatchBudget budget;
  MxMDMatchStatus coarse_status, long_status;
  double          eps_star_coarse, eps_star_coarse_err, eps_star_long, eps_star_long_err;
  PetscInt        refine_done;
  PetscBool       match_in_coex;
  /* performance */
  double wall_total, lammps_time, particle_steps;
  PetscBool ran;
};

static PetscLogEvent EV_RUN, EV_SIM, EV_MSD;

PetscErrorCode MxMDCreate(MPI_Comm comm, MxMD *out)
{
  MxMD md;
  const double eps0[] = {0, 0.5, 1, 1.5, 2};

  PetscFunctionBeginUser;
  PetscCall(MxLogEventRegisterOnce("MxMD", "MxMDRun", &EV_RUN));
  PetscCall(MxLogEventRegisterOnce("MxMD", "MxMDLammps", &EV_SIM));
  PetscCall(MxLogEventRegisterOnce("MxMD", "MxMDMsdFit", &EV_MSD));
  PetscCall(PetscNew(&md));
  md->comm = comm;
  md->neps = 5;
  for (int i = 0; i < 5; i++) md->eps[i] = eps0[i];
  md->n                = 500;
  md->phi              = NAN;
  md->rho_star         = NAN;
  md->par.cutoff       = 2.5;
  md->par.shift        = PETSC_TRUE;
  md->par.damp         = 0.05;
  md->par.dt           = 0.002;
  md->par.equil_steps  = 20000;
  md->par.steps        = 50000;
  md->sample_every     = 0;
  md->fit_t0           = NAN;
  md->fit_t1           = NAN;
  md->fit_tol          = 0.1;
  md->blocks           = 4;
  md->nseeds           = 4;
  md->refine           = 3;
  md->coex_factor      = 2;
  md->seed             = 1;
  md->ranks_per_sim    = 1;
  md->target           = NAN;
  md->target_err       = 0;
  md->sq_frames        = 8;
  md->sq_grid          = 0;
  md->sq_qmax          = 15.0;
  md->tc_star          = NAN;
  md->com              = PETSC_TRUE;
  md->sub              = MPI_COMM_NULL;
  *out                 = md;
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDSetFromOptions(MxMD md)
{
  PetscInt    neps = MX_MD_MAX_EPS, cut = md->par.shift ? 0 : 1;
  PetscBool   set, setr;
  char        range[128] = "auto";
  const char *cutoffs[]  = {"shifted", "unshifted"};

  PetscFunctionBeginUser;
  PetscOptionsBegin(md->comm, NULL, "mxpcs md: Langevin LJ epsilon scan with LAMMPS", "MxMD");
  PetscCall(PetscOptionsRealArray("-md_epsilon", "LJ well depths epsilon to scan, kT, strictly increasing", "MxMD", md->eps, &neps, &set));
  if (set) md->neps = neps;
  PetscCall(PetscOptionsInt("-md_n", "Number of particles", "MxMD", md->n, &md->n, NULL));
  PetscCall(PetscOptionsReal("-md_phi", "Volume fraction phi = pi rho* sigma^3/6 (default 0.3)", "MxMD", md->phi, &md->phi, &set));
  PetscCall(PetscOptionsReal("-md_rho_star", "Number density rho* = N sigma^3/V instead of -md_phi", "MxMD", md->rho_star, &md->rho_star, &setr));
  PetscCall(PetscOptionsEList("-md_cutoff", "LJ cut-off at -md_cutoff_sigma: shifted (pair_modify shift yes: u(r) - u(rc), 0 at the cut-off) or unshifted (truncated only, LAMMPS' default lj/cut); the shift moves the energy, not the forces, so the dynamics are the same", "MxMD", cutoffs, 2, cutoffs[cut], &cut, NULL));
  md->par.shift = cut == 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(PetscOptionsReal("-md_cutoff_sigma", "LJ cut-off radius, sigma", "MxMD", md->par.cutoff, &md->par.cutoff, NULL));
  PetscCall(PetscOptionsReal("-md_damp", "Langevin damping time m/gamma, tau (D0 = kT damp/m)", "MxMD", md->par.damp, &md->par.damp, NULL));
  PetscCall(PetscOptionsReal("-md_dt", "Time step, tau", "MxMD", md->par.dt, &md->par.dt, NULL));
  PetscCall(PetscOptionsInt("-md_equil_steps", "Equilibration steps", "MxMD", md->par.equil_steps, &md->par.equil_steps, NULL));
  PetscCall(PetscOptionsInt("-md_steps", "Production steps (rounded down to a multiple of -md_sample_every)", "MxMD", md->par.steps, &md->par.steps, NULL));
  PetscCall(PetscOptionsInt("-md_sample_every", "Steps between stored frames (0: about 300 frames, a divisor of -md_steps if possible)", "MxMD", md->sample_every, &md->sample_every, NULL));
  PetscCall(PetscOptionsString("-md_fit_range", "Lag range t0:t1 (tau) of the fit MSD = a + 6 Ds t, or auto (diffusive range from the data, up to half the production)", "MxMD", range, range, sizeof range, NULL));
  PetscCall(PetscOptionsReal("-md_fit_tol", "auto fit range: |d ln MSD/d ln t - 1| allowed", "MxMD", md->fit_tol, &md->fit_tol, NULL));
  PetscCall(PetscOptionsInt("-md_blocks", "Time blocks for the error of one run", "MxMD", md->blocks, &md->blocks, NULL));
  PetscCall(PetscOptionsInt("-md_seeds", "Independent runs (seeds) per epsilon; >= 3: the error is their standard error", "MxMD", md->nseeds, &md->nseeds, NULL));
  PetscCall(PetscOptionsInt("-md_refine", "With a target: bisection steps of epsilon around the crossing after the -md_epsilon grid, each point with -md_seeds runs (0: none)", "MxMD", md->refine, &md->refine, NULL));
  PetscCall(PetscOptionsInt("-md_coex_steps_factor", "Points at/inside gas-liquid coexistence (T* < Tc*) also give Ds/D0 at this multiple of -md_steps (one longer run whose first -md_steps are the usual run; 0: none)", "MxMD", md->coex_factor, &md->coex_factor, NULL));
  PetscCall(PetscOptionsInt("-md_seed", "Base random seed (run s uses seed + 7919 s)", "MxMD", md->seed, &md->seed, NULL));
  PetscCall(PetscOptionsInt("-md_ranks_per_sim", "MPI ranks per LAMMPS instance; P ranks run P/k simulations at once", "MxMD", md->ranks_per_sim, &md->ranks_per_sim, NULL));
  PetscCall(PetscOptionsReal("-md_target_Ds_over_D0", "Measured Ds/D0 to match: epsilon* by interpolation", "MxMD", md->target, &md->target, &md->target_given));
  PetscCall(PetscOptionsReal("-md_target_Ds_over_D0_err", "Its standard error", "MxMD", md->target_err, &md->target_err, &md->target_err_given));
  PetscCall(PetscOptionsString("-md_target_file", "mxpcs fit output whose Ds/D0 is the target: FILE (/hydro/Ds_over_D0, or the one dense sample of a joint fit) or FILE:SAMPLE (/hydro/SAMPLE/Ds_over_D0)", "MxMD", md->target_file, md->target_file, sizeof md->target_file, NULL));
  PetscCall(PetscOptionsInt("-md_sq_frames", "Frames per run for S(q) (0: no S(q))", "MxMD", md->sq_frames, &md->sq_frames, NULL));
  PetscCall(PetscOptionsInt("-md_sq_grid", "S(q) density grid points per side (0: from -md_sq_qmax)", "MxMD", md->sq_grid, &md->sq_grid, NULL));
  PetscCall(PetscOptionsReal("-md_sq_qmax", "Largest q sigma of S(q)", "MxMD", md->sq_qmax, &md->sq_qmax, NULL));
  PetscCall(PetscOptionsReal("-md_tc_star", "Critical temperature kTc/epsilon for the coexistence flag (default from the cut-off)", "MxMD", md->tc_star, &md->tc_star, NULL));
  PetscCall(PetscOptionsString("-md_lammps_log", "Keep the LAMMPS log in this file (suffix .g<group> with several groups)", "MxMD", md->par.log, md->par.log, sizeof md->par.log, NULL));
  PetscCall(PetscOptionsBool("-md_com_correct", "Subtract the centre-of-mass displacement in the MSD", "MxMD", md->com, &md->com, NULL));
  PetscCall(MxOptionsView("-md_view", "Where MxMDSetUp prints the set-up (no value: standard output; 0: nowhere), e.g. ascii:md_setup.txt", "MxMDSetView", &md->view));
  PetscOptionsEnd();
  PetscCall(PetscFree(md->opts));
  PetscCall(PetscOptionsGetAll(NULL, &md->opts));
  PetscCheck(!(set && setr), md->comm, PETSC_ERR_ARG_INCOMP, "options -md_phi and -md_rho_star both given: give one (phi = pi rho*/6)");
  if (!strcmp(range, "auto")) md->fit_t0 = md->fit_t1 = NAN;
  else {
    char tail;
    PetscCheck(sscanf(range, "%lf:%lf%c", &md->fit_t0, &md->fit_t1, &tail) == 2, md->comm, PETSC_ERR_ARG_WRONG, "option -md_fit_range: '%s' is not t0:t1 (two numbers in tau) or auto", range);
  }
  md->setup = PETSC_FALSE;
  PetscFunctionReturn(0);
}

typedef struct {
  char dense[256];
  int  ndense;
} DenseScan;

/* the /hydro/<sample> groups with dense == 1 */
static herr_t ScanHydro(hid_t g, const char *name, const H5L_info_t *info, void *ctx)
{
  DenseScan *d = ctx;
  char       path[PETSC_MAX_PATH_LEN];
  double     v = 0;
  (void)info;
  if (MxSchemaPath(MX_HYDRO_DENSE, path, sizeof path, name)) return 0;
  if (H5Lexists(g, name, H5P_DEFAULT) > 0 && H5Lexists(g, path, H5P_DEFAULT) > 0) {
    hid_t ds = H5Dopen2(g, path, H5P_DEFAULT);
    if (ds >= 0 && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) >= 0 && v > 0) {
      if (!d->ndense) snprintf(d->dense, sizeof d->dense, "%s", name);
      d->ndense++;
    }
    if (ds >= 0) H5Dclose(ds);
  }
  return 0;
}

/* rank 0 reads the target from an mxpcs fit file: FILE (the /hydro/Ds_over_D0 of a one-sample
   fit, or of the one dense sample of a joint fit) or FILE:SAMPLE (/hydro/SAMPLE/Ds_over_D0);
   the paths are the schema's HYDRO_* items (and MD_INPUT_* of the one-sample layout) */
static PetscErrorCode ReadTargetFile(const char spec[], double *x, double *e)
{
  hid_t          f;
  char           path[PETSC_MAX_PATH_LEN], sample[256] = "", hydro[64], dsets[2][PETSC_MAX_PATH_LEN];
  double        *out[2] = {x, e};
  const char    *colon  = strrchr(spec, ':');
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  snprintf(path, sizeof path, "%s", spec);
  if (colon && !strchr(colon, '/')) {
    path[colon - spec] = 0;
    snprintf(sample, sizeof sample, "%s", colon + 1);
  }
  PetscCall(MxSchemaPath(MX_HYDRO, hydro, sizeof hydro));
  PetscCall(MxSchemaPath(MX_MD_INPUT_DS_OVER_D0, dsets[0], sizeof dsets[0]));
  f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  MxH5Call(f, PETSC_COMM_SELF, "option -md_target_file: cannot open %s as HDF5", path);
  if (!sample[0] && !MxH5Exists(f, dsets[0]) && MxH5Exists(f, hydro)) {
    DenseScan d = {"", 0};
    hid_t     g = H5Gopen2(f, hydro, H5P_DEFAULT);
    H5Literate(g, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, ScanHydro, &d);
    H5Gclose(g);
    if (d.ndense != 1) {
      H5Fclose(f);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "option -md_target_file: %s has %d dense samples in %s; name one as %s:SAMPLE", path, d.ndense, hydro, path);
    }
    snprintf(sample, sizeof sample, "%s", d.dense);
  }
  if (sample[0]) {
    ierr = MxSchemaPath(MX_HYDRO_DS_OVER_D0, dsets[0], sizeof dsets[0], sample);
    if (!ierr) ierr = MxSchemaPath(MX_HYDRO_DS_OVER_D0_ERR, dsets[1], sizeof dsets[1], sample);
  } else ierr = MxSchemaPath(MX_MD_INPUT_DS_OVER_D0_ERR, dsets[1], sizeof dsets[1]);
  if (ierr) H5Fclose(f);
  PetscCall(ierr);
  for (int k = 0; k < 2; k++) {
    hid_t    d, sp;
    hssize_t np;
    herr_t   r = -1;
    if (!MxH5Exists(f, dsets[k])) {
      H5Fclose(f);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "option -md_target_file: %s has no dataset %s", path, dsets[k]);
    }
    d  = H5Dopen2(f, dsets[k], H5P_DEFAULT);
    sp = H5Dget_space(d);
    np = H5Sget_simple_extent_npoints(sp);
    if (np == 1) r = H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out[k]);
    H5Sclose(sp);
    H5Dclose(d);
    if (r < 0) {
      H5Fclose(f);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "option -md_target_file: %s: %s must be one number, has %lld elements or cannot be read", path, dsets[k], (long long)np);
    }
  }
  H5Fclose(f);
  PetscFunctionReturn(0);
}

static const char *CutoffMode(MxMD md) { return md->par.shift ? "truncated and shifted" : "truncated, unshifted"; }

/* The set-up (MxMDView before MxMDRun). */
static PetscErrorCode ViewSetUp(MxMD md, PetscViewer v)
{
  PetscFunctionBeginUser;
  PetscCall(PetscViewerASCIIPrintf(v, "md: N = %" PetscInt_FMT ", phi = %g (rho* = %.4f), box %.4f sigma, LJ cut-off %g sigma %s, damp %g tau (D0 = %g sigma^2/tau), dt %g tau\n", md->n, md->phi, 6 * md->phi / PETSC_PI, md->L, md->par.cutoff, CutoffMode(md), md->par.damp, md->D0, md->par.dt));
  PetscCall(PetscViewerASCIIPrintf(v, "md: %" PetscInt_FMT " equilibration + %" PetscInt_FMT " production steps, a frame every %" PetscInt_FMT " steps (%" PetscInt_FMT " frames, %g tau); %" PetscInt_FMT " epsilon x %" PetscInt_FMT " seeds on %d group(s) of %" PetscInt_FMT " rank(s)\n", md->par.equil_steps, (md->nframes - 1) * md->par.sample_every, md->par.sample_every, md->nframes, md->T_prod, md->neps, md->nseeds, md->ngroups, md->ranks_per_sim));
  if (md->coex_factor > 1) PetscCall(PetscViewerASCIIPrintf(v, "md: points at/inside coexistence (epsilon > %.4g kT) also at %" PetscInt_FMT " x the production steps\n", 1.0 / md->tc, md->coex_factor));
  if (md->target_given && md->refine) PetscCall(PetscViewerASCIIPrintf(v, "md: match: %" PetscInt_FMT " bisection steps around the crossing, %" PetscInt_FMT " seeds each\n", md->refine, md->nseeds));
  if (md->sq) PetscCall(PetscViewerASCIIPrintf(v, "md: S(q) on a %" PetscInt_FMT "^3 grid (FFTW-MPI over each group), q sigma <= %g, %" PetscInt_FMT " frames per run\n", md->sq_grid, md->sq_qmax, md->sq_frames));
  PetscFunctionReturn(0);
}

static PetscErrorCode MDView(void *md, PetscViewer v) { return MxMDView((MxMD)md, v); }

PetscErrorCode MxMDSetUp(MxMD md)
{
  MPI_Comm comm = md->comm;
  double   rho;

  PetscFunctionBeginUser;
  if (md->setup) PetscFunctionReturn(0);
  MPI_Comm_size(comm, &md->size);
  MPI_Comm_rank(comm, &md->rank);
  /* the state point */
  PetscCheck(md->neps >= 1, comm, PETSC_ERR_ARG_SIZ, "option -md_epsilon: give at least one epsilon (kT)");
  for (PetscInt i = 0; i < md->neps; i++) {
    PetscCheck(isfinite(md->eps[i]) && md->eps[i] >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_epsilon: value %g kT (position %" PetscInt_FMT ") must be >= 0: epsilon is the depth of the LJ well", md->eps[i], i + 1);
    PetscCheck(md->eps[i] <= 20, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_epsilon: value %g kT (position %" PetscInt_FMT ") is above 20 kT, a glass/solid where Ds/D0 is not defined by this method", md->eps[i], i + 1);
    PetscCheck(!i || md->eps[i] > md->eps[i - 1], comm, PETSC_ERR_ARG_WRONG, "option -md_epsilon: values must be strictly increasing, but %g follows %g", md->eps[i], md->eps[i - 1]);
  }
  PetscCheck(md->n >= 2 && md->n <= 10000000, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_n: %" PetscInt_FMT " particles, need 2..1e7", md->n);
  if (isnan(md->phi) && isnan(md->rho_star)) md->phi = 0.3;
  if (!isnan(md->rho_star)) {
    PetscCheck(isfinite(md->rho_star) && md->rho_star > 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_rho_star: %g must be > 0", md->rho_star);
    md->phi = PETSC_PI * md->rho_star / 6.0;
    PetscCheck(md->phi <= 0.5, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_rho_star: %g is phi = %g > 0.5: the LJ system would freeze (hard spheres freeze at phi = 0.494)", md->rho_star, md->phi);
  }
  PetscCheck(isfinite(md->phi) && md->phi > 0 && md->phi <= 0.5, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_phi: %g is outside (0, 0.5]: above 0.5 the LJ system freezes (hard spheres freeze at phi = 0.494)", md->phi);
  rho       = isnan(md->rho_star) ? 6.0 * md->phi / PETSC_PI : md->rho_star;
  md->L     = cbrt(md->n / rho);
  md->par.n = md->n;
  md->par.L = md->L;
  PetscCheck(isfinite(md->par.cutoff) && md->par.cutoff >= 1.0, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_cutoff_sigma: %g sigma, need >= 1", md->par.cutoff);
  PetscCheck(md->par.cutoff <= 0.5 * md->L, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_cutoff_sigma: %g sigma is more than half the box side L = %g sigma (N = %" PetscInt_FMT " at phi = %g): raise -md_n", md->par.cutoff, md->L, md->n, md->phi);
  PetscCheck(isfinite(md->par.damp) && md->par.damp > 0 && md->par.damp <= 1e3, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_damp: %g tau, need 0 < damp <= 1000", md->par.damp);
  PetscCheck(isfinite(md->par.dt) && md->par.dt > 0 && md->par.dt <= 0.01, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_dt: %g tau, need 0 < dt <= 0.01 (LJ stability)", md->par.dt);
  PetscCheck(md->par.dt <= 0.5 * md->par.damp, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_dt: %g tau must be at most half the damping time -md_damp %g", md->par.dt, md->par.damp);
  PetscCheck(md->par.equil_steps >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_equil_steps: %" PetscInt_FMT " must be >= 0", md->par.equil_steps);
  PetscCheck(md->par.steps >= 20, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_steps: %" PetscInt_FMT " production steps, need at least 20", md->par.steps);
  PetscCheck(md->sample_every >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_sample_every: %" PetscInt_FMT " must be >= 0", md->sample_every);
  if (md->sample_every) md->par.sample_every = md->sample_every;
  else { /* about 300 frames; a divisor of -md_steps when one lies within 150..600 frames */
    const PetscInt s = md->par.steps, d0 = PetscMax(1, s / 300);
    md->par.sample_every = d0;
    for (PetscInt k = 0; k <= d0; k++) {
      if (d0 + k <= s / 150 && s % (d0 + k) == 0) {
        md->par.sample_every = d0 + k;
        break;
      }
      if (d0 - k >= PetscMax(1, s / 600) && s % (d0 - k) == 0) {
        md->par.sample_every = d0 - k;
        break;
      }
    }
  }
  md->nframes          = md->par.steps / md->par.sample_every + 1;
  PetscCheck(md->nframes >= 16, comm, PETSC_ERR_ARG_OUTOFRANGE, "options -md_steps %" PetscInt_FMT " and -md_sample_every %" PetscInt_FMT " give %" PetscInt_FMT " frames, need at least 16", md->par.steps, md->par.sample_every, md->nframes);
  PetscCheck((double)md->nframes * md->n * 3 * sizeof(double) <= 4e9, comm, PETSC_ERR_ARG_OUTOFRANGE, "options -md_n %" PetscInt_FMT " and %" PetscInt_FMT " frames need %.3g GB of trajectory per group: raise -md_sample_every", md->n, md->nframes, md->nframes * md->n * 24e-9);
  md->dt_frame = md->par.sample_every * md->par.dt;
  md->T_prod   = (md->nframes - 1) * md->dt_frame;
  md->D0       = md->par.damp; /* kT damp / m with kT = m = 1 */
  if (!isnan(md->fit_t0) || !isnan(md->fit_t1)) {
    PetscCheck(isfinite(md->fit_t0) && isfinite(md->fit_t1) && md->fit_t0 >= 0 && md->fit_t1 > md->fit_t0, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_fit_range: %g:%g must have 0 <= t0 < t1", md->fit_t0, md->fit_t1);
    PetscCheck(md->fit_t1 <= md->T_prod * (1 + 1e-12), comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_fit_range: t1 = %g tau is beyond the production run (%g tau = -md_steps x -md_dt)", md->fit_t1, md->T_prod);
    PetscCheck((md->fit_t1 - md->fit_t0) / md->dt_frame >= 2, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_fit_range: %g:%g holds fewer than 3 frames (frame interval %g tau)", md->fit_t0, md->fit_t1, md->dt_frame);
  }
  PetscCheck(md->fit_tol > 0 && md->fit_tol < 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_fit_tol: %g, need 0 < tol < 1", md->fit_tol);
  PetscCheck(md->blocks >= 2 && md->nframes / md->blocks >= 8, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_blocks: %" PetscInt_FMT " blocks of %" PetscInt_FMT " frames: need >= 2 blocks of >= 8 frames", md->blocks, md->nframes / PetscMax(md->blocks, 1));
  PetscCheck(md->nseeds >= 1 && md->nseeds <= 1000, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_seeds: %" PetscInt_FMT ", need 1..1000", md->nseeds);
  PetscCheck(md->refine >= 0 && md->refine <= MX_MD_MAX_REFINE, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_refine: %" PetscInt_FMT " bisection steps, need 0..%d", md->refine, MX_MD_MAX_REFINE);
  PetscCheck(md->coex_factor >= 0 && md->coex_factor <= MX_MD_MAX_FACTOR, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_coex_steps_factor: %" PetscInt_FMT ", need 0..%d (0 or 1: no second run length)", md->coex_factor, MX_MD_MAX_FACTOR);
  md->nframes_long = md->coex_factor > 1 ? md->coex_factor * (md->nframes - 1) + 1 : md->nframes;
  PetscCheck((double)md->nframes_long * md->n * 3 * sizeof(double) <= 4e9, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_coex_steps_factor %" PetscInt_FMT ": %" PetscInt_FMT " frames of %" PetscInt_FMT " particles need %.3g GB per group: raise -md_sample_every", md->coex_factor, md->nframes_long, md->n, md->nframes_long * md->n * 24e-9);
  PetscCheck(md->seed >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_seed: %" PetscInt_FMT " must be >= 1", md->seed);
  PetscCheck(md->ranks_per_sim >= 1 && md->size % md->ranks_per_sim == 0, comm, PETSC_ERR_ARG_WRONG, "option -md_ranks_per_sim: %" PetscInt_FMT " does not divide the %d MPI ranks", md->ranks_per_sim, md->size);
  PetscCheck(md->sq_frames >= 0 && md->sq_frames <= md->nframes - 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_sq_frames: %" PetscInt_FMT ", need 0..%" PetscInt_FMT " (the production frames)", md->sq_frames, md->nframes - 1);
  PetscCheck(isfinite(md->sq_qmax) && md->sq_qmax > 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_sq_qmax: %g must be > 0", md->sq_qmax);
  PetscCheck(md->sq_grid >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_sq_grid: %" PetscInt_FMT " must be >= 0", md->sq_grid);
  PetscCheck(isnan(md->tc_star) || (isfinite(md->tc_star) && md->tc_star > 0), comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_tc_star: %g must be > 0", md->tc_star);
  /* pair_modify shift changes the energy, not the forces: a Langevin run of the truncated
     potential is a run of the truncated-and-shifted one, so its Tc* is LJTS's */
  md->tc = isnan(md->tc_star) ? MxMDCriticalTemperature(md->par.cutoff, PETSC_TRUE) : md->tc_star;
  /* the target */
  PetscCheck(!(md->target_given && md->target_file[0]), comm, PETSC_ERR_ARG_INCOMP, "options -md_target_Ds_over_D0 and -md_target_file both given: give one");
  PetscCheck(!md->target_err_given || md->target_given, comm, PETSC_ERR_ARG_INCOMP, "option -md_target_Ds_over_D0_err needs -md_target_Ds_over_D0");
  if (md->target_file[0]) {
    double         v[2] = {NAN, NAN};
    PetscErrorCode ierr = 0;
    if (!md->rank) ierr = ReadTargetFile(md->target_file, &v[0], &v[1]);
    PetscCall(MxErrorSync(comm, ierr));
    PetscCallMPI(MPI_Bcast(v, 2, MPI_DOUBLE, 0, comm));
    md->target       = v[0];
    md->target_err   = v[1];
    md->target_given = PETSC_TRUE;
    PetscCheck(isfinite(md->target) && md->target > 0, comm, PETSC_ERR_FILE_UNEXPECTED, "option -md_target_file: %s: Ds/D0 = %g is not a positive number", md->target_file, md->target);
    PetscCheck(isfinite(md->target_err) && md->target_err >= 0, comm, PETSC_ERR_FILE_UNEXPECTED, "option -md_target_file: %s: the Ds/D0 error %g is not a number >= 0", md->target_file, md->target_err);
  }
  if (md->target_given) {
    PetscCheck(md->neps >= 2, comm, PETSC_ERR_ARG_SIZ, "option -md_target_Ds_over_D0 (or -md_target_file): matching needs at least 2 values in -md_epsilon, got %" PetscInt_FMT, md->neps);
    PetscCheck(isfinite(md->target) && md->target > 0 && md->target < 2, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_target_Ds_over_D0: %g, need 0 < Ds/D0 < 2", md->target);
    PetscCheck(isfinite(md->target_err) && md->target_err >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_target_Ds_over_D0_err: %g must be >= 0", md->target_err);
  }
  /* the ensemble: P/k groups of k consecutive ranks */
  md->ngroups = (PetscMPIInt)(md->size / md->ranks_per_sim);
  md->group   = (PetscMPIInt)(md->rank / md->ranks_per_sim);
  PetscCallMPI(MPI_Comm_split(comm, md->group, md->rank, &md->sub));
  MPI_Comm_rank(md->sub, &md->subrank);
  if (md->par.log[0] && md->ngroups > 1) {
    size_t l = strlen(md->par.log);
    snprintf(md->par.log + l, sizeof md->par.log - l, ".g%d", md->group);
  }
  if (md->sq_frames) {
    PetscInt M = md->sq_grid ? md->sq_grid : MxMDSqGoodSize((PetscInt)ceil(1.6 * md->sq_qmax * md->L / PETSC_PI));
    PetscCall(MxMDSqCreate(md->sub, md->L, M, md->sq_qmax, &md->sq));
    md->sq_grid = M;
    PetscCall(MxMDSqGetResult(md->sq, &md->nq, NULL, NULL, NULL, NULL));
  }
  md->ne    = md->neps;
  md->ntask = md->ne * md->nseeds;
  md->setup = PETSC_TRUE;
  PetscCall(MxViewOptionApply(&md->view, MDView, md));
  PetscFunctionReturn(0);
}

/* What the analysis of one trajectory gives. */
typedef struct {
  double D, fit_err, blk_err, t0, t1, nodiff;
} TrajResult;

/* Ds/D0 of the first nf frames of a trajectory: MSD (into msd, nf lags), fit range, slope, and
   the block error. */
static PetscErrorCode AnalyseTrajectory(MxMD md, PetscInt nf, const double *frames, double *msd, TrajResult *r)
{
  const PetscInt N = md->n, nb = md->blocks, Lb = nf / nb;
  const double   T_prod = (nf - 1) * md->dt_frame;
  double        *t, *bm, t0, t1, slope, serr, a, sum = 0, sum2 = 0;
  int            np, st = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(EV_MSD, 0, 0, 0, 0));
  PetscCall(PetscMalloc2(nf, &t, Lb, &bm));
  for (PetscInt l = 0; l < nf; l++) t[l] = l * md->dt_frame;
  PetscCheck(!MxMDMsd((int)nf, (int)N, frames, md->com, (int)(nf - 1), 1, msd), PETSC_COMM_SELF, PETSC_ERR_PLIB, "MSD: bad arguments");
  t1 = isnan(md->fit_t1) ? 0.5 * T_prod : md->fit_t1;
  if (isnan(md->fit_t0)) {
    st = MxMDDiffusiveRange((int)nf, t, msd, 10 * md->par.damp, t1, md->fit_tol, &t0);
    PetscCheck(st != 2, PETSC_COMM_SELF, PETSC_ERR_PLIB, "MSD: bad arguments to the diffusive-range choice");
  } else t0 = md->fit_t0;
  PetscCheck(!MxMDFitLine((int)nf, t, msd, t0, t1, &slope, &serr, &a, &np), PETSC_COMM_SELF, PETSC_ERR_PLIB, "MSD fit over %g..%g tau has fewer than 2 points", t0, t1);
  r->D       = slope / 6.0 / md->D0;
  r->fit_err = serr / 6.0 / md->D0;
  r->t0      = t0;
  r->t1      = t1;
  r->nodiff  = st ? 1.0 : 0.0;
  /* blocks: independent stretches of Lb frames, each fitted over the same range cut to the block */
  for (PetscInt b = 0; b < nb; b++) {
    const double Tb = (Lb - 1) * md->dt_frame, b0 = PetscMin(t0, 0.25 * Tb), b1 = PetscMin(t1, Tb);
    double       s, se, ab;
    int          nbp;
    PetscCheck(!MxMDMsd((int)Lb, (int)N, frames + (size_t)b * Lb * 3 * N, md->com, (int)(Lb - 1), 1, bm), PETSC_COMM_SELF, PETSC_ERR_PLIB, "MSD: bad block arguments");
    PetscCheck(!MxMDFitLine((int)Lb, t, bm, b0, b1, &s, &se, &ab, &nbp), PETSC_COMM_SELF, PETSC_ERR_PLIB, "MSD block fit over %g..%g tau has fewer than 2 points", b0, b1);
    s /= 6.0 * md->D0;
    sum += s;
    sum2 += s * s;
  }
  {
    const double m = sum / nb, var = (sum2 - nb * m * m) / (nb - 1);
    r->blk_err = var > 0 ? sqrt(var / nb) : 0.0;
  }
  PetscCall(PetscFree2(t, bm));
  PetscCall(PetscLogEventEnd(EV_MSD, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* At/inside gas-liquid coexistence (T* < Tc*), and whether a point there gets the second run length. */
static PetscBool InCoexistence(MxMD md, double eps) { return eps > 0 && 1.0 / eps < md->tc ? PETSC_TRUE : PETSC_FALSE; }
static PetscBool LongRun(MxMD md, double eps) { return md->coex_factor > 1 && InCoexistence(md, eps) ? PETSC_TRUE : PETSC_FALSE; }

/* One (epsilon, seed) task on this rank's group. A point with the second run length runs
   coex_factor x the production once: its first nframes frames are bitwise the run of -md_steps
   (same seeds, same commands), the whole gives Ds/D0 at the longer length. scratch: nframes_long
   lags. */
static PetscErrorCode RunTask(MxMD md, PetscInt task, double *frames, double *scratch)
{
  const PetscInt  ie = task / md->nseeds, is = task % md->nseeds, seed = md->seed + 7919 * is;
  const double    eps = md->eps[ie];
  const PetscBool lng = LongRun(md, eps);
  MxMDParams      par = md->par;
  double          T, tstart = MPI_Wtime(), tl;
  TrajResult      r, rl;

  PetscFunctionBeginUser;
  if (lng) par.steps = md->coex_factor * (md->nframes - 1) * par.sample_every;
  PetscCall(PetscLogEventBegin(EV_SIM, 0, 0, 0, 0));
  PetscCall(MxMDLammpsRun(md->sub, &par, eps, seed, frames, &T));
  PetscCall(PetscLogEventEnd(EV_SIM, 0, 0, 0, 0));
  tl = MPI_Wtime() - tstart;
  if (!md->subrank) {
    PetscCall(AnalyseTrajectory(md, md->nframes, frames, md->msd + (size_t)task * md->nframes, &r));
    md->D[task]         = r.D;
    md->D_fit_err[task] = r.fit_err;
    md->D_blk_err[task] = r.blk_err;
    md->t0[task]        = r.t0;
    md->t1[task]        = r.t1;
    md->nodiff[task]    = r.nodiff;
    md->T[task]         = T;
    md->D_long[task] = md->D_long_blk_err[task] = NAN;
    if (lng) {
      PetscCall(AnalyseTrajectory(md, md->nframes_long, frames, scratch, &rl));
      md->D_long[task]         = rl.D;
      md->D_long_blk_err[task] = rl.blk_err;
    }
  }
  if (md->sq) {
    PetscCall(MxMDSqReset(md->sq));
    for (PetscInt j = 0; j < md->sq_frames; j++) {
      const PetscInt f = (PetscInt)llround((double)(j + 1) * (md->nframes - 1) / md->sq_frames);
      PetscCall(MxMDSqAddFrame(md->sq, md->n, frames + (size_t)f * 3 * md->n));
    }
    if (!md->subrank) {
      const double *S, *Se;
      PetscCall(MxMDSqGetResult(md->sq, NULL, NULL, &S, &Se, NULL));
      PetscCall(PetscArraycpy(md->S + (size_t)task * md->nq, S, md->nq));
      PetscCall(PetscArraycpy(md->S_err + (size_t)task * md->nq, Se, md->nq));
    }
  }
  if (!md->subrank) {
    const double ps = (double)md->n * (md->par.equil_steps + par.steps);
    md->wall[task]  = MPI_Wtime() - tstart;
    md->lammps_time += tl;
    md->particle_steps += ps;
    PetscCall(PetscFPrintf(PETSC_COMM_SELF, stdout, "md: epsilon %.4g kT, seed %" PetscInt_FMT " (group %d): Ds/D0 = %.4f +- %.4f (blocks), fit %.3g..%.3g tau%s, T = %.3f kT, %.1f s, %.3g particle-steps/s/rank\n", eps, seed, md->group, md->D[task], md->D_blk_err[task], md->t0[task], md->t1[task],
                           md->nodiff[task] ? " [no diffusive range found]" : "", T, md->wall[task], ps / tl / md->ranks_per_sim));
    if (lng) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stdout, "md: epsilon %.4g kT, seed %" PetscInt_FMT ": at %" PetscInt_FMT " x the steps (coexistence): Ds/D0 = %.4f +- %.4f (blocks)\n", eps, seed, md->coex_factor, md->D_long[task], md->D_long_blk_err[task]));
    fflush(stdout);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode Reduce(MxMD md, double *v, size_t n)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, v, (PetscMPIInt)n, MPI_DOUBLE, MPI_SUM, md->comm));
  PetscFunctionReturn(0);
}

/* The location and height of the main peak of S on the shells (parabola through the top 3). */
static void Peak(PetscInt n, const double *q, const double *S, double *qp, double *Sp)
{
  PetscInt im = -1;
  for (PetscInt i = 1; i + 1 < n; i++)
    if (isfinite(S[i]) && q[i] > 3.0 && (im < 0 || S[i] > S[im])) im = i;
  *qp = *Sp = NAN;
  if (im < 1 || im + 1 >= n) return;
  {
    const double y0 = S[im - 1], y1 = S[im], y2 = S[im + 1], den = y0 - 2 * y1 + y2;
    const double h = 0.5 * (q[im + 1] - q[im - 1]), d = den < 0 ? 0.5 * (y0 - y2) / den : 0;
    *qp = q[im] + d * h;
    *Sp = y1 - 0.25 * (y0 - y2) * d;
  }
}

/* Run the tasks of epsilons [ie0, ie1) over the groups and reduce their results (each task has
   one owner: the others add zeros, so the sums are exact). */
static PetscErrorCode RunBatch(MxMD md, PetscInt ie0, PetscInt ie1, double *frames, double *scratch)
{
  const size_t   t0 = (size_t)(ie0 * md->nseeds), nt = (size_t)((ie1 - ie0) * md->nseeds), nf = (size_t)md->nframes, nq = (size_t)md->nq;
  double        *per_task[] = {md->D, md->D_blk_err, md->D_fit_err, md->t0, md->t1, md->T, md->wall, md->nodiff, md->D_long, md->D_long_blk_err};
  PetscErrorCode ierr       = 0;

  PetscFunctionBeginUser;
  for (PetscInt task = (PetscInt)t0 + md->group; task < (PetscInt)(t0 + nt) && !ierr; task += md->ngroups) ierr = RunTask(md, task, frames, scratch);
  PetscCall(MxErrorSync(md->comm, ierr)); /* a failed group takes every group down, none waits */
  for (size_t k = 0; k < sizeof per_task / sizeof per_task[0]; k++) PetscCall(Reduce(md, per_task[k] + t0, nt));
  PetscCall(Reduce(md, md->msd + t0 * nf, nt * nf));
  PetscCall(Reduce(md, md->S + t0 * nq, nt * nq));
  PetscCall(Reduce(md, md->S_err + t0 * nq, nt * nq));
  PetscFunctionReturn(0);
}

/* Mean of the ns runs v and its error: the standard error of their spread (>= 3 runs) or the
   runs' own errors e combined. */
static void SeedMean(PetscInt ns, const double *v, const double *e, double *mean, double *err)
{
  double s = 0, s2 = 0, e2 = 0, m;

  for (PetscInt i = 0; i < ns; i++) s += v[i], e2 += e[i] * e[i];
  m = s / ns;
  for (PetscInt i = 0; i < ns; i++) s2 += (v[i] - m) * (v[i] - m);
  *mean = m;
  *err  = ns >= 3 ? sqrt(s2 / (ns - 1) / ns) : sqrt(e2) / ns;
}

/* Reorder n rows of rowlen values: row r becomes row perm[r]. */
static PetscErrorCode PermuteRows(double *v, size_t rowlen, const PetscInt *perm, PetscInt n)
{
  double *tmp;

  PetscFunctionBeginUser;
  if (!rowlen || n < 2) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(rowlen * n, &tmp));
  for (PetscInt r = 0; r < n; r++) PetscCall(PetscArraycpy(tmp + r * rowlen, v + perm[r] * rowlen, rowlen));
  PetscCall(PetscArraycpy(v, tmp, rowlen * n));
  PetscCall(PetscFree(tmp));
  PetscFunctionReturn(0);
}

/* After the grid: bisection of epsilon around the first crossing of the target, each point with
   -md_seeds runs (md->ne grows by one per step). */
static PetscErrorCode Refine(MxMD md, double *frames, double *scratch)
{
  const PetscInt ns = md->nseeds;
  double         m[MX_MD_MAX_EPS], e[MX_MD_MAX_EPS];
  MxMDBracket    br;

  PetscFunctionBeginUser;
  for (PetscInt ie = 0; ie < md->neps; ie++) SeedMean(ns, md->D + ie * ns, md->D_blk_err + ie * ns, &m[ie], &e[ie]);
  md->coarse_status = MxMDMatch((int)md->neps, md->eps, m, e, md->target, md->target_err, &md->eps_star_coarse, &md->eps_star_coarse_err, &md->ncross);
  PetscCheck(md->coarse_status != MX_MD_MATCH_BAD_INPUT, md->comm, PETSC_ERR_PLIB, "matching: non-finite Ds/D0 or errors in the scan");
  if (md->coarse_status != MX_MD_MATCH_OK || !md->refine) PetscFunctionReturn(0);
  PetscCheck(!MxMDBracketFind((int)md->neps, md->eps, m, md->target, &br), md->comm, PETSC_ERR_PLIB, "matching: no crossing interval although the match succeeded");
  for (PetscInt k = 0; k < md->refine; k++) {
    const PetscInt ie = md->ne;
    double         ym, ye;
    md->eps[ie]     = MxMDBracketMid(&br);
    md->refined[ie] = 1;
    PetscCall(PetscPrintf(md->comm, "md: bisection %" PetscInt_FMT "/%" PetscInt_FMT ": epsilon %.6g kT in [%.6g, %.6g] (Ds/D0 %.4f .. %.4f, target %.4f)\n", k + 1, md->refine, md->eps[ie], br.a, br.b, br.ya, br.yb, md->target));
    PetscCall(RunBatch(md, ie, ie + 1, frames, scratch));
    md->ne++;
    md->ntask = md->ne * ns;
    md->refine_done++;
    SeedMean(ns, md->D + ie * ns, md->D_blk_err + ie * ns, &ym, &ye);
    MxMDBracketUpdate(&br, md->eps[ie], ym, md->target);
  }
  PetscFunctionReturn(0);
}

/* Sort the evaluated epsilons (grid and bisection) and every per-epsilon row with them. */
static PetscErrorCode SortByEpsilon(MxMD md)
{
  const size_t ns = (size_t)md->nseeds, nf = (size_t)md->nframes, nq = (size_t)md->nq;
  double      *per_task[] = {md->D, md->D_blk_err, md->D_fit_err, md->t0, md->t1, md->T, md->wall, md->nodiff, md->D_long, md->D_long_blk_err};
  PetscInt    *perm;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(md->ne, &perm));
  for (PetscInt i = 0; i < md->ne; i++) perm[i] = i;
  for (PetscInt i = 1; i < md->ne; i++) /* insertion sort: a few points */
    for (PetscInt j = i; j > 0 && md->eps[perm[j]] < md->eps[perm[j - 1]]; j--) {
      const PetscInt t = perm[j];
      perm[j]          = perm[j - 1];
      perm[j - 1]      = t;
    }
  for (size_t k = 0; k < sizeof per_task / sizeof per_task[0]; k++) PetscCall(PermuteRows(per_task[k], ns, perm, md->ne));
  PetscCall(PermuteRows(md->msd, ns * nf, perm, md->ne));
  PetscCall(PermuteRows(md->S, ns * nq, perm, md->ne));
  PetscCall(PermuteRows(md->S_err, ns * nq, perm, md->ne));
  PetscCall(PermuteRows(md->eps, 1, perm, md->ne));
  PetscCall(PermuteRows(md->refined, 1, perm, md->ne));
  PetscCall(PetscFree(perm));
  PetscFunctionReturn(0);
}

/* epsilon* from every evaluated point: the linear match with its error budget; the same from the
   points with the second run length. */
static PetscErrorCode Match(MxMD md)
{
  const PetscInt ne = md->ne;
  double         e[MX_MD_MAX_EPS + MX_MD_MAX_REFINE], y[MX_MD_MAX_EPS + MX_MD_MAX_REFINE], ye[MX_MD_MAX_EPS + MX_MD_MAX_REFINE];
  int            n = 0, nc;

  PetscFunctionBeginUser;
  md->have_match   = PETSC_TRUE;
  md->match_status = MxMDMatchWithBudget((int)ne, md->eps, md->Ds, md->Ds_err, md->target, md->target_err, &md->budget);
  PetscCheck(md->match_status != MX_MD_MATCH_BAD_INPUT, md->comm, PETSC_ERR_PLIB, "matching: non-finite Ds/D0 or errors in the scan");
  md->eps_star      = md->budget.eps_star;
  md->eps_star_err  = md->budget.err;
  md->ncross        = md->budget.ncross;
  md->match_in_coex = md->match_status == MX_MD_MATCH_OK && InCoexistence(md, md->eps_star);
  for (PetscInt i = 0; i < ne; i++)
    if (isfinite(md->Ds_long[i])) e[n] = md->eps[i], y[n] = md->Ds_long[i], ye[n++] = md->Ds_long_err[i];
  md->eps_star_long = md->eps_star_long_err = NAN;
  md->long_status   = n >= 2 ? MxMDMatch(n, e, y, ye, md->target, md->target_err, &md->eps_star_long, &md->eps_star_long_err, &nc) : MX_MD_MATCH_BAD_INPUT;
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDRun(MxMD md)
{
  size_t         nt, ne, nemax, nf = (size_t)md->nframes, nq;
  double        *frames, *scratch, tstart;

  PetscFunctionBeginUser;
  PetscCall(MxMDSetUp(md));
  PetscCall(PetscLogEventBegin(EV_RUN, 0, 0, 0, 0));
  nq    = (size_t)md->nq;
  nemax = (size_t)(md->neps + (md->target_given ? md->refine : 0));
  nt    = nemax * md->nseeds;
  PetscCall(PetscCalloc6(nt, &md->D, nt, &md->D_blk_err, nt, &md->D_fit_err, nt, &md->t0, nt, &md->t1, nt, &md->T));
  PetscCall(PetscCalloc5(nt, &md->wall, nt, &md->nodiff, nt * nf, &md->msd, nt * nq + 1, &md->S, nt * nq + 1, &md->S_err));
  PetscCall(PetscCalloc3(nt, &md->D_long, nt, &md->D_long_blk_err, nemax, &md->refined));
  PetscCall(PetscMalloc2((size_t)md->nframes_long * 3 * md->n, &frames, md->nframes_long, &scratch));
  md->particle_steps = md->lammps_time = 0;
  tstart             = MPI_Wtime();
  PetscErrorCode ierr = RunBatch(md, 0, md->neps, frames, scratch);
  if (!ierr && md->target_given) ierr = Refine(md, frames, scratch);
  PetscCall(PetscFree2(frames, scratch));
  PetscCall(ierr);
  md->wall_total = MPI_Wtime() - tstart;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &md->wall_total, 1, MPI_DOUBLE, MPI_MAX, md->comm));
  PetscCall(Reduce(md, &md->lammps_time, 1));
  PetscCall(Reduce(md, &md->particle_steps, 1));
  PetscCall(SortByEpsilon(md));
  ne = (size_t)md->ne;

  /* per epsilon: mean over seeds; error = standard error over seeds (>= 3 seeds) or the block
     errors of the runs combined; the same for the second run length and the paired difference */
  PetscCall(PetscCalloc6(ne, &md->Ds, ne, &md->Ds_err, ne * nf, &md->msd_mean, ne * nq + 1, &md->S_mean, ne * nq + 1, &md->S_mean_err, ne * nq + 1, &md->S_py_bh));
  PetscCall(PetscCalloc6(ne, &md->d_bh, ne, &md->coex, ne, &md->T_mean, ne, &md->peak_q, ne, &md->peak_S, ne, &md->peak_q_py));
  PetscCall(PetscCalloc5(ne, &md->peak_S_py, ne, &md->Ds_long, ne, &md->Ds_long_err, ne, &md->rl_diff, ne, &md->rl_diff_err));
  for (size_t ie = 0; ie < ne; ie++) {
    const PetscInt ns = md->nseeds;
    double         Ts = 0, tmp;
    for (PetscInt is = 0; is < ns; is++) {
      const size_t t = ie * ns + is;
      Ts += md->T[t];
      for (size_t l = 0; l < nf; l++) md->msd_mean[ie * nf + l] += md->msd[t * nf + l] / ns;
      for (size_t b = 0; b < nq; b++) md->S_mean[ie * nq + b] += md->S[t * nq + b] / ns;
    }
    SeedMean(ns, md->D + ie * ns, md->D_blk_err + ie * ns, &md->Ds[ie], &md->Ds_err[ie]);
    md->T_mean[ie] = Ts / ns;
    md->Ds_long[ie] = md->Ds_long_err[ie] = md->rl_diff[ie] = md->rl_diff_err[ie] = NAN;
    if (isfinite(md->D_long[ie * ns])) {
      double d[1000], de[1000]; /* -md_seeds <= 1000 */
      SeedMean(ns, md->D_long + ie * ns, md->D_long_blk_err + ie * ns, &md->Ds_long[ie], &md->Ds_long_err[ie]);
      for (PetscInt is = 0; is < ns; is++) d[is] = md->D_long[ie * ns + is] - md->D[ie * ns + is], de[is] = hypot(md->D_long_blk_err[ie * ns + is], md->D_blk_err[ie * ns + is]);
      SeedMean(ns, d, de, &tmp, &md->rl_diff_err[ie]);
      md->rl_diff[ie] = tmp / md->Ds[ie];
      md->rl_diff_err[ie] /= md->Ds[ie];
    }
    /* S(q): error from the frame-to-frame spread combined over seeds */
    for (size_t b = 0; b < nq; b++) {
      double e2 = 0;
      for (PetscInt is = 0; is < ns; is++) e2 += pow(md->S_err[(ie * ns + is) * nq + b], 2);
      md->S_mean_err[ie * nq + b] = sqrt(e2) / ns;
    }
    md->coex[ie] = InCoexistence(md, md->eps[ie]) ? 1.0 : 0.0;
    md->d_bh[ie] = MxMDBarkerHendersonDiameter(md->eps[ie]);
  }
  /* S(q) against Percus-Yevick: at phi with diameter sigma, and with the Barker-Henderson diameter */
  if (md->sq) {
    const double  *q;
    const PetscInt *cnt;
    PetscCall(MxMDSqGetResult(md->sq, NULL, &q, NULL, NULL, &cnt));
    PetscCall(PetscMalloc3(nq, &md->q, nq, &md->S_py, nq, &md->nmodes));
    /* the shell mean |k| is the same for every frame: take it from the plan's geometry */
    for (size_t b = 0; b < nq; b++) md->q[b] = q[b];
    for (size_t b = 0; b < nq; b++) md->nmodes[b] = cnt[b];
    MxHardSphereSq(nq, md->q, 0.5, md->phi, md->S_py);
    for (size_t ie = 0; ie < ne; ie++) {
      const double d = md->d_bh[ie], phie = md->phi * d * d * d;
      if (d > 0) MxHardSphereSq(nq, md->q, 0.5 * d, phie, md->S_py_bh + ie * nq);
      else
        for (size_t b = 0; b < nq; b++) md->S_py_bh[ie * nq + b] = 1.0;
      Peak((PetscInt)nq, md->q, md->S_mean + ie * nq, &md->peak_q[ie], &md->peak_S[ie]);
      Peak((PetscInt)nq, md->q, md->S_py_bh + ie * nq, &md->peak_q_py[ie], &md->peak_S_py[ie]);
    }
  }
  if (md->target_given) PetscCall(Match(md));
  md->ran = PETSC_TRUE;
  PetscCall(PetscLogEventEnd(EV_RUN, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* md.h5 through MxOut: every path, units and NX_class from include/mxpcs/schema.def */
static PetscErrorCode WriteAll(MxMD md, MxOut o)
{
  const hsize_t ne = (hsize_t)md->ne, ns = (hsize_t)md->nseeds, nf = (hsize_t)md->nframes, nq = (hsize_t)md->nq;
  hsize_t       d1[1], d2[2], d3[3];
  double       *t;
  MxOutEntry    e = {md->target_file[0] ? md->target_file : "md epsilon scan", NULL, "md", md->opts, NULL};

  PetscFunctionBeginUser;
  PetscCall(MxOutWriteEntry(o, &e));
  PetscCall(MxOutGroup(o, MX_MD));
  /* the scan */
  d1[0] = ne;
  PetscCall(MxOutDoubles(o, MX_MD_EPSILON, 1, d1, md->eps));
  PetscCall(MxOutDoubles(o, MX_MD_DS_OVER_D0, 1, d1, md->Ds));
  PetscCall(MxOutDoubles(o, MX_MD_DS_OVER_D0_ERR, 1, d1, md->Ds_err));
  PetscCall(MxOutDoubles(o, MX_MD_COEXISTENCE, 1, d1, md->coex));
  PetscCall(MxOutDoubles(o, MX_MD_TEMPERATURE, 1, d1, md->T_mean));
  PetscCall(MxOutDoubles(o, MX_MD_REFINED, 1, d1, md->refined));
  PetscCall(MxOutDoubles(o, MX_MD_DS_OVER_D0_LONG, 1, d1, md->Ds_long));
  PetscCall(MxOutDoubles(o, MX_MD_DS_OVER_D0_LONG_ERR, 1, d1, md->Ds_long_err));
  PetscCall(MxOutDoubles(o, MX_MD_RUN_LENGTH_REL_DIFF, 1, d1, md->rl_diff));
  PetscCall(MxOutDoubles(o, MX_MD_RUN_LENGTH_REL_DIFF_ERR, 1, d1, md->rl_diff_err));
  {
    double *Ts;
    PetscCall(PetscMalloc1(ne, &Ts));
    for (hsize_t i = 0; i < ne; i++) Ts[i] = md->eps[i] > 0 ? 1.0 / md->eps[i] : INFINITY;
    PetscErrorCode ierr = MxOutDoubles(o, MX_MD_T_STAR, 1, d1, Ts);
    PetscCall(PetscFree(Ts));
    PetscCall(ierr);
  }
  d2[0] = ne;
  d2[1] = ns;
  PetscCall(MxOutDoubles(o, MX_MD_RUNS_DS_OVER_D0, 2, d2, md->D));
  PetscCall(MxOutDoubles(o, MX_MD_RUNS_DS_OVER_D0_BLOCK_ERR, 2, d2, md->D_blk_err));
  PetscCall(MxOutDoubles(o, MX_MD_RUNS_DS_OVER_D0_FIT_ERR, 2, d2, md->D_fit_err));
  PetscCall(MxOutDoubles(o, MX_MD_RUNS_DS_OVER_D0_LONG, 2, d2, md->D_long));
  PetscCall(MxOutDoubles(o, MX_MD_RUNS_FIT_T0, 2, d2, md->t0));
  PetscCall(MxOutDoubles(o, MX_MD_RUNS_FIT_T1, 2, d2, md->t1));
  PetscCall(MxOutDoubles(o, MX_MD_RUNS_NO_DIFFUSIVE_RANGE, 2, d2, md->nodiff));
  PetscCall(MxOutDoubles(o, MX_MD_RUNS_TEMPERATURE, 2, d2, md->T));
  PetscCall(MxOutDoubles(o, MX_MD_RUNS_WALL_TIME, 2, d2, md->wall));
  {
    double *seeds;
    PetscCall(PetscMalloc1(ns, &seeds));
    for (hsize_t i = 0; i < ns; i++) seeds[i] = (double)(md->seed + 7919 * (PetscInt)i);
    d1[0]               = ns;
    PetscErrorCode ierr = MxOutDoubles(o, MX_MD_RUNS_SEED, 1, d1, seeds);
    PetscCall(PetscFree(seeds));
    PetscCall(ierr);
  }
  PetscCall(MxOutScalar(o, MX_MD_PHI, md->phi));
  PetscCall(MxOutScalar(o, MX_MD_RHO_STAR, md->n / (md->L * md->L * md->L)));
  PetscCall(MxOutScalar(o, MX_MD_N, (double)md->n));
  PetscCall(MxOutScalar(o, MX_MD_BOX_LENGTH, md->L));
  PetscCall(MxOutScalar(o, MX_MD_D0, md->D0));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_CUTOFF, md->par.cutoff));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_SHIFT, md->par.shift ? 1 : 0));
  PetscCall(MxOutString(o, MX_MD_SETTINGS_CUTOFF_MODE, md->par.shift ? "shifted" : "unshifted"));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_SEEDS, (double)md->nseeds));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_REFINE, (double)md->refine));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_COEX_STEPS_FACTOR, (double)(md->coex_factor > 1 ? md->coex_factor : 0)));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_STEPS_LONG, (double)(md->coex_factor > 1 ? (md->nframes_long - 1) * md->par.sample_every : 0)));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_DAMP, md->par.damp));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_DT, md->par.dt));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_EQUIL_STEPS, (double)md->par.equil_steps));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_STEPS, (double)((md->nframes - 1) * md->par.sample_every)));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_SAMPLE_EVERY, (double)md->par.sample_every));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_RANKS_PER_SIM, (double)md->ranks_per_sim));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_BLOCKS, (double)md->blocks));
  PetscCall(MxOutScalar(o, MX_MD_SETTINGS_TC_STAR, md->tc));
  PetscCall(MxOutString(o, MX_MD_SETTINGS_ERROR_METHOD, md->nseeds >= 3 ? "standard error over seeds" : "time blocks per run, combined over seeds"));
  /* MSD */
  PetscCall(PetscMalloc1(nf, &t));
  for (hsize_t l = 0; l < nf; l++) t[l] = l * md->dt_frame;
  d1[0]               = nf;
  PetscErrorCode ierr = MxOutDoubles(o, MX_MD_MSD_T, 1, d1, t);
  PetscCall(PetscFree(t));
  PetscCall(ierr);
  d2[0] = ne;
  d2[1] = nf;
  PetscCall(MxOutDoubles(o, MX_MD_MSD_MSD, 2, d2, md->msd_mean));
  d3[0] = ne;
  d3[1] = ns;
  d3[2] = nf;
  PetscCall(MxOutDoubles(o, MX_MD_MSD_RUNS, 3, d3, md->msd));
  /* S(q) */
  if (md->sq) {
    d1[0] = nq;
    PetscCall(MxOutDoubles(o, MX_MD_SQ_Q_SIGMA, 1, d1, md->q));
    PetscCall(MxOutDoubles(o, MX_MD_SQ_S_PY, 1, d1, md->S_py));
    {
      double *c;
      PetscCall(PetscMalloc1(nq, &c));
      for (hsize_t b = 0; b < nq; b++) c[b] = (double)md->nmodes[b];
      ierr = MxOutDoubles(o, MX_MD_SQ_N_MODES, 1, d1, c);
      PetscCall(PetscFree(c));
      PetscCall(ierr);
    }
    d2[0] = ne;
    d2[1] = nq;
    PetscCall(MxOutDoubles(o, MX_MD_SQ_S, 2, d2, md->S_mean));
    PetscCall(MxOutDoubles(o, MX_MD_SQ_S_ERR, 2, d2, md->S_mean_err));
    PetscCall(MxOutDoubles(o, MX_MD_SQ_S_PY_BH, 2, d2, md->S_py_bh));
    d1[0] = ne;
    PetscCall(MxOutDoubles(o, MX_MD_SQ_D_BH, 1, d1, md->d_bh));
    PetscCall(MxOutDoubles(o, MX_MD_SQ_PEAK_Q_SIGMA, 1, d1, md->peak_q));
    PetscCall(MxOutDoubles(o, MX_MD_SQ_PEAK_S, 1, d1, md->peak_S));
    PetscCall(MxOutDoubles(o, MX_MD_SQ_PEAK_Q_SIGMA_PY_BH, 1, d1, md->peak_q_py));
    PetscCall(MxOutDoubles(o, MX_MD_SQ_PEAK_S_PY_BH, 1, d1, md->peak_S_py));
    PetscCall(MxOutScalar(o, MX_MD_SQ_GRID, (double)md->sq_grid));
  }
  /* the match */
  if (md->have_match) {
    PetscCall(MxOutScalar(o, MX_MD_TARGET_DS_OVER_D0, md->target));
    PetscCall(MxOutScalar(o, MX_MD_TARGET_DS_OVER_D0_ERR, md->target_err));
    PetscCall(MxOutScalar(o, MX_MD_EPSILON_MATCH, md->eps_star));
    PetscCall(MxOutScalar(o, MX_MD_EPSILON_MATCH_ERR, md->eps_star_err));
    PetscCall(MxOutScalar(o, MX_MD_EPSILON_MATCH_ERR_SEEDS, md->budget.err_seeds));
    PetscCall(MxOutScalar(o, MX_MD_EPSILON_MATCH_ERR_INTERP, md->budget.err_interp));
    PetscCall(MxOutScalar(o, MX_MD_EPSILON_MATCH_ERR_TARGET, md->budget.err_target));
    PetscCall(MxOutScalar(o, MX_MD_EPSILON_MATCH_QUADRATIC, md->budget.eps_quad));
    PetscCall(MxOutScalar(o, MX_MD_EPSILON_MATCH_COARSE, md->eps_star_coarse));
    PetscCall(MxOutScalar(o, MX_MD_EPSILON_MATCH_COARSE_ERR, md->eps_star_coarse_err));
    PetscCall(MxOutScalar(o, MX_MD_EPSILON_MATCH_LONG, md->eps_star_long));
    PetscCall(MxOutScalar(o, MX_MD_EPSILON_MATCH_LONG_ERR, md->eps_star_long_err));
    d1[0] = 2;
    PetscCall(MxOutDoubles(o, MX_MD_MATCH_BRACKET, 1, d1, (double[]){md->budget.a, md->budget.b}));
    PetscCall(MxOutScalar(o, MX_MD_MATCH_REFINE_STEPS, (double)md->refine_done));
    PetscCall(MxOutScalar(o, MX_MD_MATCH_STATUS_CODE, (double)md->match_status));
    PetscCall(MxOutString(o, MX_MD_MATCH_STATUS, MxMDMatchStatusName(md->match_status)));
    PetscCall(MxOutScalar(o, MX_MD_MATCH_CROSSINGS, (double)md->ncross));
    PetscCall(MxOutScalar(o, MX_MD_MATCH_IN_COEXISTENCE, md->match_in_coex ? 1 : 0));
  }
  /* performance */
  PetscCall(MxOutScalar(o, MX_MD_PERF_WALL_TIME, md->wall_total));
  PetscCall(MxOutScalar(o, MX_MD_PERF_PARTICLE_STEPS_PER_S_PER_RANK, md->particle_steps / md->wall_total / md->size));
  PetscCall(MxOutScalar(o, MX_MD_PERF_RANKS, (double)md->size));
  PetscCall(MxOutScalar(o, MX_MD_PERF_LAMMPS_TIME, md->lammps_time));
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDWriteFile(MxMD md, const char path[], PetscBool *replaced)
{
  MxOut o;

  PetscFunctionBeginUser;
  PetscCheck(md->ran, md->comm, PETSC_ERR_ORDER, "MxMDWrite before MxMDRun");
  PetscCall(MxOutCreate(md->comm, path, &o));
  PetscErrorCode ierr = WriteAll(md, o);
  PetscCall(MxOutClose(&o, ierr, replaced));
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDWrite(MxMD md, const char path[])
{
  PetscFunctionBeginUser;
  PetscCall(MxMDWriteFile(md, path, NULL));
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDView(MxMD md, PetscViewer v)
{
  PetscFunctionBeginUser;
  if (!md->ran) {
    if (md->setup) PetscCall(ViewSetUp(md, v));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscViewerASCIIPrintf(v, "md: Langevin LJ, N = %" PetscInt_FMT ", phi = %g, LJ cut-off %g sigma %s, damp %g tau, dt %g tau, %" PetscInt_FMT " + %" PetscInt_FMT " steps, %" PetscInt_FMT " seed(s); error: %s\n", md->n, md->phi, md->par.cutoff, CutoffMode(md), md->par.damp, md->par.dt, md->par.equil_steps,
                                   (md->nframes - 1) * md->par.sample_every, md->nseeds, md->nseeds >= 3 ? "standard error over seeds" : "time blocks"));
  PetscCall(PetscViewerASCIIPrintf(v, "  epsilon/kT   Ds/D0     err      fit range (tau)   T/kT    note\n"));
  for (PetscInt ie = 0; ie < md->ne; ie++) {
    double   a0 = INFINITY, a1 = 0;
    PetscInt nod = 0;
    for (PetscInt is = 0; is < md->nseeds; is++) {
      a0 = PetscMin(a0, md->t0[ie * md->nseeds + is]);
      a1 = PetscMax(a1, md->t1[ie * md->nseeds + is]);
      nod += md->nodiff[ie * md->nseeds + is] != 0;
    }
    PetscCall(PetscViewerASCIIPrintf(v, "  %8.4f   %7.4f  %7.4f   %7.3g..%-7.3g   %6.3f  %s%s%s\n", md->eps[ie], md->Ds[ie], md->Ds_err[ie], a0, a1, md->T_mean[ie], md->refined[ie] ? "[bisection] " : "", md->coex[ie] ? "T* < Tc*: at/inside gas-liquid coexistence, D depends on run length" : "", nod ? " [no diffusive range found: fit over the last half]" : ""));
  }
  if (md->coex_factor > 1) {
    PetscCall(PetscViewerASCIIPrintf(v, "  run length at/inside coexistence: Ds/D0 at %" PetscInt_FMT " and %" PetscInt_FMT " steps, relative difference (paired over seeds)\n", (md->nframes - 1) * md->par.sample_every, (md->nframes_long - 1) * md->par.sample_every));
    for (PetscInt ie = 0; ie < md->ne; ie++)
      if (isfinite(md->Ds_long[ie])) PetscCall(PetscViewerASCIIPrintf(v, "  %8.4f   %7.4f +- %.4f  %7.4f +- %.4f   %+6.1f +- %.1f %%\n", md->eps[ie], md->Ds[ie], md->Ds_err[ie], md->Ds_long[ie], md->Ds_long_err[ie], 100 * md->rl_diff[ie], 100 * md->rl_diff_err[ie]));
  }
  if (md->sq) {
    PetscCall(PetscViewerASCIIPrintf(v, "  S(q) main peak (q sigma, S) vs Percus-Yevick with the Barker-Henderson diameter d_BH (phi_eff = phi d^3):\n"));
    for (PetscInt ie = 0; ie < md->ne; ie++)
      PetscCall(PetscViewerASCIIPrintf(v, "  %8.3f   MD (%.3f, %.3f)  PY (%.3f, %.3f)  d_BH = %.4f sigma\n", md->eps[ie], md->peak_q[ie], md->peak_S[ie], md->peak_q_py[ie], md->peak_S_py[ie], md->d_bh[ie]));
  }
  if (md->have_match) {
    if (md->match_status == MX_MD_MATCH_OK)
    {
      const MxMDMatchBudget *r = &md->budget;
      PetscCall(PetscViewerASCIIPrintf(v, "  match: Ds/D0 = %.4f +- %.4f at epsilon* = %.4f +- %.4f kT%s%s\n", md->target, md->target_err, md->eps_star, md->eps_star_err, md->ncross > 1 ? " [the scan crosses the target more than once: first crossing]" : "",
                                       md->match_in_coex ? " [epsilon* is at/inside gas-liquid coexistence: D depends on run length]" : ""));
      PetscCall(PetscViewerASCIIPrintf(v, "  match: error budget (kT): seeds %.4f, interpolation %.4f (quadratic %.4f), target %.4f; bracket [%.4f, %.4f] after %" PetscInt_FMT " bisection step(s); the -md_epsilon grid alone gave %.4f +- %.4f\n", r->err_seeds, r->err_interp, r->eps_quad, r->err_target, r->a, r->b, md->refine_done, md->eps_star_coarse, md->eps_star_coarse_err));
      if (md->coex_factor > 1) {
        if (md->long_status == MX_MD_MATCH_OK) PetscCall(PetscViewerASCIIPrintf(v, "  match: at %" PetscInt_FMT " x the run length: epsilon* = %.4f +- %.4f kT\n", md->coex_factor, md->eps_star_long, md->eps_star_long_err));
        else PetscCall(PetscViewerASCIIPrintf(v, "  match: at %" PetscInt_FMT " x the run length: no crossing among the points run that long\n", md->coex_factor));
      }
      PetscCall(PetscViewerASCIIPrintf(v, "  match: what it compares: the measured Ds/D0 = H(q -> inf) is a short-time quantity; Langevin MD without hydrodynamics gives a long-time Ds (its short-time Ds is D0 at every epsilon); the seed paper compares them anyway\n"));
    }
    else {
      double lo = INFINITY, hi = -INFINITY;
      for (PetscInt ie = 0; ie < md->ne; ie++) lo = PetscMin(lo, md->Ds[ie]), hi = PetscMax(hi, md->Ds[ie]);
      PetscCall(PetscViewerASCIIPrintf(v, "  match: WARNING: Ds/D0 = %.4f is outside the scanned range %.4f..%.4f: %s; epsilon_match = nan (no extrapolation)\n", md->target, lo, hi, MxMDMatchStatusName(md->match_status)));
    }
  }
  PetscCall(PetscViewerASCIIPrintf(v, "  performance: %.1f s on %d rank(s) (%d group(s) x %" PetscInt_FMT "), %.4g particle-steps/s/rank overall\n", md->wall_total, md->size, md->ngroups, md->ranks_per_sim, md->particle_steps / md->wall_total / md->size));
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDGetParams(MxMD md, const MxMDParams **p)
{
  PetscFunctionBeginUser;
  *p = &md->par;
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDSetView(MxMD md, PetscViewer v)
{
  PetscFunctionBeginUser;
  PetscCall(MxViewOptionSet(&md->view, v));
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDDestroy(MxMD *p)
{
  MxMD md;

  PetscFunctionBeginUser;
  if (!p || !*p) PetscFunctionReturn(0);
  md = *p;
  PetscCall(MxViewOptionDestroy(&md->view));
  PetscCall(PetscFree(md->opts));
  PetscCall(MxMDSqDestroy(&md->sq));
  if (md->sub != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_free(&md->sub));
  if (md->D) {
    PetscCall(PetscFree6(md->D, md->D_blk_err, md->D_fit_err, md->t0, md->t1, md->T));
    PetscCall(PetscFree5(md->wall, md->nodiff, md->msd, md->S, md->S_err));
    PetscCall(PetscFree3(md->D_long, md->D_long_blk_err, md->refined));
  }
  if (md->Ds) {
    PetscCall(PetscFree6(md->Ds, md->Ds_err, md->msd_mean, md->S_mean, md->S_mean_err, md->S_py_bh));
    PetscCall(PetscFree6(md->d_bh, md->coex, md->T_mean, md->peak_q, md->peak_S, md->peak_q_py));
    PetscCall(PetscFree5(md->peak_S_py, md->Ds_long, md->Ds_long_err, md->rl_diff, md->rl_diff_err));
  }
  if (md->q) PetscCall(PetscFree3(md->q, md->S_py, md->nmodes));
  PetscCall(PetscFree(md));
  *p = NULL;
  PetscFunctionReturn(0);
}
