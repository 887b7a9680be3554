/* MxMD: underdamped Langevin dynamics of Lennard-Jones particles with LAMMPS (linked as a
   library) over a scan of epsilon; MSD(t) -> Ds/D0(epsilon); S(q) of the simulated liquid from
   a density grid and a distributed 3-D FFT (FFTW3-MPI); the epsilon at which Ds/D0 equals a
   measured value (design.md 1.9, physics-reference.md section 8, the seed paper's Methods
   "Mean-squared displacement simulations").

   Units: LAMMPS `lj` units with the energy unit kT (so the thermostat temperature is 1 and
   epsilon is given in kT), length sigma, mass m, time tau = sigma sqrt(m/kT). The Langevin
   damping time damp = m/gamma gives the free diffusion coefficient D0 = kT/(m gamma) = damp. */
#pragma once
#include <mxpcs/sys.h>

/* ---------- kernels: plain C on arrays, no MPI, no state ---------- */

/* Mean-squared displacement with multiple time origins:
   msd[l] = < |r_i(t0 + l) - r_i(t0) - (R(t0 + l) - R(t0))|^2 >_{i, t0} for l = 0..max_lag,
   where x holds nframes frames of natoms unwrapped positions (frame-major, xyz interleaved),
   R is the centre of mass (subtracted only when com_correct), and the origins t0 step by
   origin_stride frames (t0 + l < nframes). Lags without an origin get NAN. Returns nonzero on
   bad arguments. */
int MxMDMsd(int nframes, int natoms, const double *x, int com_correct, int max_lag, int origin_stride, double *msd);

/* Ordinary least squares y = a + b t over the points with t0 <= t <= t1 (finite y only).
   *slope = b, *slope_err its standard error from the residuals (0 with 2 points), *intercept = a,
   *npts the number of points used. Returns nonzero with fewer than 2 points. */
int MxMDFitLine(int n, const double *t, const double *y, double t0, double t1, double *slope, double *slope_err, double *intercept, int *npts);

/* Start of the diffusive range of an MSD curve, chosen from the data: the smallest lag
   t >= t_min such that the local exponent alpha(t') = log2(MSD(2t')/MSD(t')) stays within
   1 +- tol for every lag t' in [t, t_end/2] of the (uniform, t[0] = 0) lag grid.
   *t0 = that lag; returns 0 when found, 1 when no such range exists (then *t0 = t_end/2, the
   caller must flag the result), 2 on bad arguments. */
int MxMDDiffusiveRange(int n, const double *t, const double *msd, double t_min, double t_end, double tol, double *t0);

/* MSD of a free particle under the underdamped Langevin equation (the ideal-gas case):
   6 D0 (t - tau_B (1 - exp(-t/tau_B))), tau_B = m/gamma, starting from equilibrium velocities. */
double MxMDLangevinMsd(double t, double D0, double tau_B);

/* Matching (inverse interpolation): eps (n >= 2, strictly increasing) and y = Ds/D0(eps) with
   standard errors yerr. Finds the first interval [eps_i, eps_i+1] where y crosses target and
   interpolates linearly; the uncertainty propagates target_err and the two yerr of the interval:
   var = (deps/dy)^2 [target_err^2 + (1-u)^2 yerr_i^2 + u^2 yerr_i+1^2], u the interval fraction.
   *ncross = number of crossings (> 1: the scan is not monotonic). Outside the range of y the
   result is NAN and the status says on which side: never an extrapolation. */
typedef enum {
  MX_MD_MATCH_OK          = 0,
  MX_MD_MATCH_ABOVE_RANGE = 1, /* target above every Ds/D0: epsilon* below the scanned range */
  MX_MD_MATCH_BELOW_RANGE = 2, /* target below every Ds/D0: epsilon* above the scanned range */
  MX_MD_MATCH_BAD_INPUT   = 3
} MxMDMatchStatus;
MxMDMatchStatus MxMDMatch(int n, const double *eps, const double *y, const double *yerr, double target, double target_err, double *eps_star, double *eps_star_err, int *ncross);
const char     *MxMDMatchStatusName(MxMDMatchStatus s);

/* The error budget of epsilon* (docs/md.md "Matching"): the linear estimate of MxMDMatch with
   its error split into err_seeds (the two nodes' yerr, i.e. the spread over seeds, through the
   local slope), err_target (target_err through the local slope) and err_interp, the interpolation
   error |eps_quad - eps_star| with eps_quad the root in the interval of the parabola through the
   interval and its nearer neighbouring point (with only 2 points: the interval width/sqrt(12), a
   uniform distribution over it). A flat interval (equal y) puts the whole width in err_seeds.
   err is the quadrature sum; [a, b] the crossing interval. Status and ncross as MxMDMatch, which
   returns eps_star and hypot(err_seeds, err_target). */
typedef struct {
  double eps_star, eps_quad;
  double err, err_seeds, err_target, err_interp;
  double a, b;
  int    ncross;
} MxMDMatchBudget;
MxMDMatchStatus MxMDMatchWithBudget(int n, const double *eps, const double *y, const double *yerr, double target, double target_err, MxMDMatchBudget *r);

/* Bisection of epsilon around the match: [a, b] with y(a) = ya, y(b) = yb crossing the target
   (MxMDMatch's rule). MxMDBracketFind takes the first crossing interval of a scan (nonzero when
   none); MxMDBracketMid is the next point; MxMDBracketUpdate keeps the half that crosses (the
   left one when both do, so the bracket stays the first crossing of every point evaluated). */
typedef struct {
  double a, b, ya, yb;
} MxMDBracket;
int    MxMDBracketFind(int n, const double *eps, const double *y, double target, MxMDBracket *br);
double MxMDBracketMid(const MxMDBracket *br);
void   MxMDBracketUpdate(MxMDBracket *br, double m, double ym, double target);

/* Barker-Henderson effective hard-sphere diameter (in sigma) of the WCA repulsive part of the
   LJ potential at epsilon/kT: d = Int_0^{2^(1/6)} [1 - exp(-u_rep(r)/kT)] dr (0 for epsilon 0). */
double MxMDBarkerHendersonDiameter(double eps_over_kT);
/* Critical temperature kTc/epsilon of the LJ fluid for a cut-off rc (sigma), shifted or not:
   1.0779 for rc = 2.5 shifted (LJTS, Vrabec et al. 2006, the value physics-reference.md 8
   quotes), ~1.19 for rc = 2.5 truncated without shift (Smit 1992), 1.312 for the full potential
   (rc >= 6). Other rc >= 2.5 interpolate linearly in 1/rc^3 (approximate; the literature values
   are unverified here, see docs/md.md; -md_tc_star overrides). NAN for rc < 2.5. */
double MxMDCriticalTemperature(double rc, int shifted);

/* Cloud-in-cell assignment of n particles (positions x, any image) in a periodic cube of side L
   onto the x-slab [ix0, ix0 + nx) of an M^3 grid; grid[(i - ix0) * M * stride_z + j * stride_z + k]
   (stride_z >= M, the FFTW r2c padding). The grid is added to, not cleared. */
void MxMDDepositCIC(int n, const double *x, double L, int M, int ix0, int nx, int stride_z, double *grid);
/* CIC window W^2(k) = prod sinc^4(k_i h/2) and the aliased shot-noise sum
   C(k) = sum_n W^2(k + 2 k_N n) = prod [1 - (2/3) sin^2(k_i h/2)] (Jing 2005, ApJ 620, 559,
   eq. 20 with p = 2), for the grid spacing h. */
void MxMDCicWindow(const double k[3], double h, double *W2, double *C);
/* Direct structure factor S(k) = |sum_j exp(-i k.r_j)|^2 / n averaged over the wave vectors
   k = 2 pi m / L, |k| in shells of width dk = 2 pi / L (shell b holds round(|k|/dk) = b,
   b = 1..nbins; MxMDSq keeps the complete shells, nbins = floor(k_max/dk - 1/2)), |k| <= k_max. S, qmean (mean |k|) and count (number of vectors, k and -k
   counted separately) have nbins entries. O(n * modes): for tests and small systems. */
void MxMDSqDirect(int n, const double *x, double L, double k_max, int nbins, double *S, double *qmean, long *count);

/* ---------- S(q) by a density grid and FFTW3-MPI ---------- */

/* MxMDSq: the estimator S(k) = [|F(k)|^2/n - C(k) + W^2(k)] / W^2(k), F the r2c FFT of the CIC
   density grid, which removes the assignment window and the aliased shot noise, so an ideal gas
   gives S = 1 at every k (Jing 2005). The grid is distributed in x-slabs over comm
   (fftw_mpi_local_size_3d); every rank passes all positions. Shells as in MxMDSqDirect. */
typedef struct _p_MxMDSq *MxMDSq;
/* Collective on comm: plans a grid of M^3 (M even) for a box of side L, shells up to k_max. */
PetscErrorCode MxMDSqCreate(MPI_Comm comm, double L, PetscInt M, double k_max, MxMDSq *sq);
/* Collective: add one configuration (n positions, identical on every rank of comm). */
PetscErrorCode MxMDSqAddFrame(MxMDSq sq, PetscInt n, const double *x);
/* Shell results averaged over the frames added since the last reset: nbins, mean |k|, S, the
   standard error of S over frames (0 with one frame), number of wave vectors per shell.
   Not collective (every rank holds them). */
PetscErrorCode MxMDSqGetResult(MxMDSq sq, PetscInt *nbins, const double **q, const double **S, const double **S_err, const PetscInt **count);
PetscErrorCode MxMDSqReset(MxMDSq sq);
PetscErrorCode MxMDSqDestroy(MxMDSq *sq);
/* Smallest even M = 2^a 3^b 5^c with M >= m_min. */
PetscInt MxMDSqGoodSize(PetscInt m_min);

/* ---------- one LAMMPS simulation ---------- */

typedef struct {
  PetscInt  n;            /* particles */
  double    L;            /* box side, sigma */
  double    cutoff;       /* LJ cut-off, sigma (-md_cutoff_sigma) */
  PetscBool shift;        /* truncated-and-shifted (-md_cutoff shifted) or truncated only (unshifted) */
  double    damp;         /* Langevin damping time m/gamma, tau */
  double    dt;           /* time step, tau */
  PetscInt  equil_steps;  /* equilibration steps */
  PetscInt  steps;        /* production steps (frames: steps/sample_every + 1) */
  PetscInt  sample_every; /* steps between stored frames */
  char      log[PETSC_MAX_PATH_LEN]; /* LAMMPS log file ("" none) */
} MxMDParams;

/* Run one simulation on comm (every rank of comm takes part in one LAMMPS instance): simple-cubic
   start (a seeded random subset of the n_side^3 sites), equilibration, production; frames
   receives steps/sample_every + 1 frames of n unwrapped positions (every rank of comm gets them),
   T_mean the mean kinetic temperature (kT) of the stored frames. Collective on comm. */
PetscErrorCode MxMDLammpsRun(MPI_Comm comm, const MxMDParams *p, double eps_over_kT, PetscInt seed, double *frames, double *T_mean);
/* The LJ pair energy (kT) of two particles at distance r (sigma) as LAMMPS computes it with the
   pair settings of p (cutoff, shift: the commands the simulation uses), from a 2-atom system and
   `run 0`. Collective on comm. For tests and checks of the potential. */
PetscErrorCode MxMDLammpsPairEnergy(MPI_Comm comm, const MxMDParams *p, double eps_over_kT, double r, double *energy);

/* ---------- the scan object ---------- */

typedef struct _p_MxMD *MxMD;

/* Create with the defaults of the seed paper: N = 500, phi = 0.3, epsilon 0,0.5,1,1.5,2 kT,
   LJ cut-off 2.5 sigma shifted, damp 0.05 tau, dt 0.002 tau, 20000 + 50000 steps, 4 seeds,
   3 bisection steps around epsilon* (with a target), 2 x the steps at/inside coexistence.
   Collective on comm (the object's communicator; the ensemble is split from it). */
PetscErrorCode MxMDCreate(MPI_Comm comm, MxMD *md);
/* Options (see 'mxpcs md -help'): -md_epsilon, -md_n, -md_phi | -md_rho_star,
   -md_cutoff shifted|unshifted, -md_cutoff_sigma, -md_refine, -md_coex_steps_factor, -md_damp, -md_dt, -md_equil_steps, -md_steps, -md_sample_every, -md_fit_range
   t0:t1|auto, -md_fit_tol, -md_blocks, -md_seeds, -md_seed, -md_ranks_per_sim,
   -md_target_Ds_over_D0, -md_target_Ds_over_D0_err, -md_target_file, -md_sq_frames,
   -md_sq_grid, -md_sq_qmax, -md_tc_star, -md_lammps_log, -md_com_correct, -md_view [viewer]
   (MxMDSetView).
   Collective. */
PetscErrorCode MxMDSetFromOptions(MxMD md);
/* Check the settings (messages name the option), split the ensemble, plan the FFT. Collective. */
PetscErrorCode MxMDSetUp(MxMD md);
/* Run every (epsilon, seed) simulation, P/k at a time; MSD, fits, errors, S(q), matching.
   Collective. */
PetscErrorCode MxMDRun(MxMD md);
/* Write md.h5 (/entry and /md, through MxOut: include/mxpcs/schema.def) to path.part, rename
   when complete; *replaced (may be NULL): path existed before. Collective. */
PetscErrorCode MxMDWriteFile(MxMD md, const char path[], PetscBool *replaced);
/* The same without the report. */
PetscErrorCode MxMDWrite(MxMD md, const char path[]);
/* Summary: table of Ds/D0(epsilon), fit ranges, coexistence flags, S(q) vs PY, the match and
   whether the target lies outside the scan, performance; before MxMDRun, the set-up (N, box,
   potential, steps, ensemble). Collective. */
PetscErrorCode MxMDView(MxMD md, PetscViewer v);
/* Where MxMDSetUp prints MxMDView (the set-up; default none; -md_view overrides; NULL: none).
   Not collective. */
PetscErrorCode MxMDSetView(MxMD md, PetscViewer v);
/* The parameters of one simulation as the options set them (n, L after MxMDSetUp; cutoff, shift,
   damp, dt, steps, ...). Not collective; borrowed, valid until MxMDDestroy. */
PetscErrorCode MxMDGetParams(MxMD md, const MxMDParams **p);
PetscErrorCode MxMDDestroy(MxMD *md);
