/* One Langevin LJ simulation through the LAMMPS C library interface (never a script for a
   separate binary): set-up, equilibration, production in chunks of sample_every steps with the
   unwrapped positions gathered after each chunk. */
#include <mxpcs/md.h>
#define LAMMPS_LIB_MPI
#include <lammps/library.h>
#include <math.h>
#include <mxpcs/rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Bridge a LAMMPS command into a PetscErrorCode: with a LAMMPS built with exceptions the error
   is caught here and its message returned; without them LAMMPS stops the process itself and the
   exit hook below reports the ERROR line from its log. */
#define MxLammpsCall(h, comm, cmd) \
  do { \
    lammps_command((h), (cmd)); \
    if (lammps_has_error(h)) { \
      char mx_lmp_msg_[1024] = ""; \
      lammps_get_last_error_message((h), mx_lmp_msg_, (int)sizeof mx_lmp_msg_); \
      SETERRQ((comm), PETSC_ERR_LIB, "LAMMPS: %s (command '%s')", mx_lmp_msg_, (cmd)); \
    } \
  } while (0)

/* what the exit hook needs when a LAMMPS built without exceptions calls exit() on an error */
static char   mx_lmp_log[PETSC_MAX_PATH_LEN];
static int    mx_lmp_active, mx_lmp_hook, mx_lmp_keep_log;
static double mx_lmp_eps;
static long   mx_lmp_seed;

static void MxLammpsExitHook(void)
{
  char  line[1024], last[1024] = "";
  FILE *f;

  if (!mx_lmp_active) return;
  if (mx_lmp_log[0] && (f = fopen(mx_lmp_log, "r"))) {
    while (fgets(line, sizeof line, f))
      if (!strncmp(line, "ERROR", 5)) snprintf(last, sizeof last, "%s", line);
    fclose(f);
  }
  if (last[0] && last[strlen(last) - 1] == '\n') last[strlen(last) - 1] = 0;
  fprintf(stderr, "mxpcs md: error: LAMMPS stopped the simulation at epsilon = %g kT, seed %ld: %s\n", mx_lmp_eps, mx_lmp_seed, last[0] ? last : "(no ERROR line in its log)");
  if (!mx_lmp_keep_log && mx_lmp_log[0]) unlink(mx_lmp_log);
  fflush(stderr);
}

/* An empty periodic cube of side L (sigma) for one atom type of mass 1, in lj units. */
static PetscErrorCode BoxSetup(void *h, MPI_Comm comm, double L)
{
  char cmd[256];

  PetscFunctionBeginUser;
  MxLammpsCall(h, comm, "units lj");
  MxLammpsCall(h, comm, "atom_style atomic");
  MxLammpsCall(h, comm, "atom_modify map array");
  MxLammpsCall(h, comm, "boundary p p p");
  snprintf(cmd, sizeof cmd, "region box block 0 %.17g 0 %.17g 0 %.17g", L, L, L);
  MxLammpsCall(h, comm, cmd);
  MxLammpsCall(h, comm, "create_box 1 box");
  MxLammpsCall(h, comm, "mass 1 1.0");
  PetscFunctionReturn(0);
}

/* The pair potential (-md_cutoff, -md_cutoff_sigma) and the neighbour list: one place, used by the
   simulation and by MxMDLammpsPairEnergy. */
static PetscErrorCode PairSetup(void *h, MPI_Comm comm, const MxMDParams *p, double eps)
{
  char cmd[256];

  PetscFunctionBeginUser;
  snprintf(cmd, sizeof cmd, "pair_style lj/cut %.17g", p->cutoff);
  MxLammpsCall(h, comm, cmd);
  snprintf(cmd, sizeof cmd, "pair_coeff 1 1 %.17g 1.0 %.17g", eps, p->cutoff);
  MxLammpsCall(h, comm, cmd);
  MxLammpsCall(h, comm, p->shift ? "pair_modify shift yes" : "pair_modify shift no");
  MxLammpsCall(h, comm, "neighbor 0.3 bin");
  MxLammpsCall(h, comm, "neigh_modify every 1 delay 0 check yes");
  PetscFunctionReturn(0);
}

/* The LAMMPS input for this state point; every value was checked by MxMDSetUp. */
static PetscErrorCode Setup(void *h, MPI_Comm comm, const MxMDParams *p, double eps, PetscInt seed)
{
  char     cmd[512];
  PetscInt nside = (PetscInt)ceil(cbrt((double)p->n) - 1e-9), nsites, *perm;
  int     *ids, *types;
  double  *x, a;
  MxRng    rng;

  PetscFunctionBeginUser;
  while (nside * nside * nside < p->n) nside++;
  nsites = nside * nside * nside;
  a      = p->L / nside;
  PetscCall(BoxSetup(h, comm, p->L));
  /* simple-cubic start: a seeded random subset of the sites when n is not a cube */
  PetscCall(PetscMalloc4(nsites, &perm, p->n, &ids, p->n, &types, 3 * p->n, &x));
  for (PetscInt i = 0; i < nsites; i++) perm[i] = i;
  MxRngInit(&rng, (uint64_t)seed, 0x4d44, 1, 0);
  for (PetscInt i = nsites - 1; i > 0; i--) { /* Fisher-Yates */
    PetscInt j = (PetscInt)(MxRngNext(&rng) % (uint64_t)(i + 1)), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  for (PetscInt i = 0; i < p->n; i++) {
    const PetscInt s = perm[i], ix = s % nside, iy = (s / nside) % nside, iz = s / (nside * nside);
    ids[i]           = (int)(i + 1);
    types[i]         = 1;
    x[3 * i]         = (ix + 0.5) * a;
    x[3 * i + 1]     = (iy + 0.5) * a;
    x[3 * i + 2]     = (iz + 0.5) * a;
  }
  {
    int created = lammps_create_atoms(h, (int)p->n, ids, types, x, NULL, NULL, 0);
    PetscCall(PetscFree4(perm, ids, types, x));
    PetscCheck(!lammps_has_error(h) && created >= 0, comm, PETSC_ERR_LIB, "LAMMPS: lammps_create_atoms failed for %" PetscInt_FMT " particles", p->n);
  }
  PetscCheck((PetscInt)lammps_get_natoms(h) == p->n, comm, PETSC_ERR_LIB, "LAMMPS holds %.0f atoms after lammps_create_atoms, expected %" PetscInt_FMT, lammps_get_natoms(h), p->n);
  PetscCall(PairSetup(h, comm, p, eps));
  /* seeds for LAMMPS: positive and below 2^30, distinct for velocity and thermostat */
  snprintf(cmd, sizeof cmd, "velocity all create 1.0 %ld mom yes rot no dist gaussian loop geom", (long)(1 + (seed * 2 + 0) % 900000000));
  MxLammpsCall(h, comm, cmd);
  MxLammpsCall(h, comm, "fix mx_nve all nve");
  /* kT = 1 is the energy unit; damp = m/gamma, so D0 = kT damp/m */
  snprintf(cmd, sizeof cmd, "fix mx_langevin all langevin 1.0 1.0 %.17g %ld", p->damp, (long)(1 + (seed * 2 + 1) % 900000000));
  MxLammpsCall(h, comm, cmd);
  snprintf(cmd, sizeof cmd, "timestep %.17g", p->dt);
  MxLammpsCall(h, comm, cmd);
  MxLammpsCall(h, comm, "thermo_style custom step temp pe press");
  MxLammpsCall(h, comm, "thermo 0");
  PetscFunctionReturn(0);
}

/* Unwrapped positions x + image L, ordered by atom ID, on every rank of the LAMMPS instance, and
   the kinetic temperature m sum v^2 / (3n - 3) (LAMMPS' definition, m = 1). */
static PetscErrorCode Gather(void *h, MPI_Comm comm, const MxMDParams *p, double *xw, int *img, double *out, double *T)
{
  double v2 = 0;

  PetscFunctionBeginUser;
  lammps_gather_atoms(h, (char *)"x", 1, 3, xw);
  lammps_gather_atoms(h, (char *)"image", 0, 3, img);
  PetscCheck(!lammps_has_error(h), comm, PETSC_ERR_LIB, "LAMMPS: lammps_gather_atoms failed");
  for (PetscInt i = 0; i < 3 * p->n; i++) out[i] = xw[i] + img[i] * p->L;
  lammps_gather_atoms(h, (char *)"v", 1, 3, xw);
  PetscCheck(!lammps_has_error(h), comm, PETSC_ERR_LIB, "LAMMPS: lammps_gather_atoms of the velocities failed");
  for (PetscInt i = 0; i < 3 * p->n; i++) v2 += xw[i] * xw[i];
  *T = v2 / (3.0 * p->n - 3.0);
  PetscFunctionReturn(0);
}

static PetscErrorCode Body(void *h, MPI_Comm comm, const MxMDParams *p, double eps, PetscInt seed, double *frames, double *T_mean)
{
  const PetscInt nf = p->steps / p->sample_every + 1;
  char           cmd[128];
  double        *xw, Tsum = 0, T;
  int           *img;

  PetscFunctionBeginUser;
  PetscCall(Setup(h, comm, p, eps, seed));
  snprintf(cmd, sizeof cmd, "run %" PetscInt_FMT, p->equil_steps);
  if (p->equil_steps > 0) MxLammpsCall(h, comm, cmd);
  else MxLammpsCall(h, comm, "run 0");
  MxLammpsCall(h, comm, "reset_timestep 0");
  PetscCall(PetscMalloc2(3 * p->n, &xw, 3 * p->n, &img));
  PetscCall(Gather(h, comm, p, xw, img, frames, &T));
  Tsum += T;
  snprintf(cmd, sizeof cmd, "run %" PetscInt_FMT " pre no post no", p->sample_every);
  for (PetscInt f = 1; f < nf; f++) {
    if (f == 1) { /* the first production chunk sets up again after reset_timestep */
      char first[128];
      snprintf(first, sizeof first, "run %" PetscInt_FMT " post no", p->sample_every);
      MxLammpsCall(h, comm, first);
    } else MxLammpsCall(h, comm, cmd);
    PetscCall(Gather(h, comm, p, xw, img, frames + (size_t)f * 3 * p->n, &T));
    Tsum += T;
  }
  PetscCall(PetscFree2(xw, img));
  *T_mean = Tsum / nf;
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDLammpsRun(MPI_Comm comm, const MxMDParams *p, double eps, PetscInt seed, double *frames, double *T_mean)
{
  char           logname[PETSC_MAX_PATH_LEN] = "";
  char          *argv[8];
  int            argc = 0, rank;
  void          *h;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  /* a log is needed to report errors of a LAMMPS without exceptions: a temporary one unless
     -md_lammps_log names one to keep */
  mx_lmp_keep_log = p->log[0] != 0;
  if (!rank) {
    if (p->log[0]) snprintf(logname, sizeof logname, "%s", p->log);
    else {
      const char *tmp = getenv("TMPDIR");
      int         fd;
      snprintf(logname, sizeof logname, "%s/mxpcs-md-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
      fd = mkstemp(logname);
      if (fd < 0) logname[0] = 0;
      else close(fd);
    }
  }
  PetscCallMPI(MPI_Bcast(logname, sizeof logname, MPI_CHAR, 0, comm));
  argv[argc++] = (char *)"mxpcs-md";
  argv[argc++] = (char *)"-screen";
  argv[argc++] = (char *)"none";
  argv[argc++] = (char *)"-log";
  argv[argc++] = logname[0] ? logname : (char *)"none";
  argv[argc++] = (char *)"-nocite";
  argv[argc]   = NULL;
  snprintf(mx_lmp_log, sizeof mx_lmp_log, "%s", logname);
  mx_lmp_eps  = eps;
  mx_lmp_seed = (long)seed;
  if (!mx_lmp_hook) {
    atexit(MxLammpsExitHook);
    mx_lmp_hook = 1;
  }
  h = lammps_open(argc, argv, comm, NULL);
  PetscCheck(h, comm, PETSC_ERR_LIB, "LAMMPS: lammps_open failed (epsilon %g kT, seed %" PetscInt_FMT ")", eps, seed);
  mx_lmp_active = 1;
  ierr          = Body(h, comm, p, eps, seed, frames, T_mean);
  lammps_close(h);
  mx_lmp_active = 0;
  if (!rank && !p->log[0] && logname[0]) unlink(logname);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* two atoms at distance r in a box of side 4 rc + r (no image within the cut-off), run 0 */
static PetscErrorCode PairEnergyBody(void *h, MPI_Comm comm, const MxMDParams *p, double eps, double r, double *energy)
{
  const double L = 4 * p->cutoff + r;
  int          ids[2] = {1, 2}, types[2] = {1, 1};
  double       x[6] = {0.25 * L, 0.5 * L, 0.5 * L, 0.25 * L + r, 0.5 * L, 0.5 * L}, *pe;

  PetscFunctionBeginUser;
  PetscCall(BoxSetup(h, comm, L));
  PetscCheck(lammps_create_atoms(h, 2, ids, types, x, NULL, NULL, 0) == 2 && !lammps_has_error(h), comm, PETSC_ERR_LIB, "LAMMPS: lammps_create_atoms failed for 2 atoms");
  PetscCall(PairSetup(h, comm, p, eps));
  MxLammpsCall(h, comm, "run 0");
  pe = (double *)lammps_extract_compute(h, "thermo_pe", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR); /* global scalar, not normalised */
  PetscCheck(pe && !lammps_has_error(h), comm, PETSC_ERR_LIB, "LAMMPS: no potential energy (compute thermo_pe)");
  *energy = *pe;
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDLammpsPairEnergy(MPI_Comm comm, const MxMDParams *p, double eps_over_kT, double r, double *energy)
{
  char          *argv[] = {(char *)"mxpcs-md", (char *)"-screen", (char *)"none", (char *)"-log", (char *)"none", (char *)"-nocite", NULL};
  void          *h;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCheck(r > 0 && p->cutoff > 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "MxMDLammpsPairEnergy: r = %g and the cut-off %g sigma must be > 0", r, p->cutoff);
  h = lammps_open(6, argv, comm, NULL);
  PetscCheck(h, comm, PETSC_ERR_LIB, "LAMMPS: lammps_open failed");
  ierr = PairEnergyBody(h, comm, p, eps_over_kT, r, energy);
  lammps_close(h);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
