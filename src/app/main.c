/* mxpcs: one executable, subcommands, every parameter a PETSc option. */
#include "app.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

static const MxAppCommand commands[] = {
  {"info", "what is in a run: modules, sequence files, trains, pulses, gaps, anomalies", MxAppInfo},
  {"qmap", "per-pixel q from a geometry, q-rings, ring map written to HDF5", MxAppQmap},
  {"simulate", "a synthetic MHz-XPCS run in the EuXFEL layout with known truth", MxAppSimulate},
  {"analyze", "SAXS, two-time correlation, neighbour-train correction, g2, contrast, decay rates", MxAppAnalyze},
  {"online", "live analysis of a Karabo bridge stream, equal to analyze of the same trains", MxAppOnline},
  {"fit", "SAXS model, S(q), H(q), delta-gamma, joint TAO fit across samples", MxAppFit},
  {"md", "LAMMPS Langevin epsilon scan, MSD, Ds/D0(epsilon), S(q) by FFTW-MPI, epsilon matching", MxAppMd},
  {"demo", "the seed paper's whole analysis on synthetic data: simulate, analyze, joint fit, MD, figures", MxAppDemo},
};
static const int ncommands = (int)(sizeof commands / sizeof commands[0]);

static void Usage(FILE *out)
{
  fprintf(out, "mxpcs %s: MPI-parallel MHz-XPCS analysis for European XFEL AGIPD data\n\n", MxVersion());
  fprintf(out, "usage: [mpiexec -n N] mxpcs <command> [-options_file F.yaml] [-option value ...]\n\ncommands:\n");
  for (int i = 0; i < ncommands; i++) fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n'mxpcs <command> -help' lists every option of a command. An unknown option is an error\n(-options_allow_unknown ignores them); options after -options_file F.yaml override the file's.\n");
}

/* Unknown options are an error: a mistyped key must not silently fall back to a default. */
PetscErrorCode MxAppCheckOptions(MPI_Comm comm, const char *cmd)
{
  PetscInt  n;
  char    **names, **values;
  PetscBool help, allow = PETSC_FALSE;
  char      list[1024] = "";

  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "mxpcs: every command", "mxpcs");
  PetscCall(PetscOptionsBool("-options_allow_unknown", "Ignore options no object of the command reads (default: such an option is an error, a mistyped key must not fall back to a default)", "", allow, &allow, NULL));
  PetscOptionsEnd();
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help || allow) PetscFunctionReturn(0);
  PetscCall(PetscOptionsLeftGet(NULL, &n, &names, &values));
  for (PetscInt i = 0; i < n; i++) {
    if (!strncmp(names[i], "options_", 8) || !strcmp(names[i], "log_view") || !strncmp(names[i], "malloc", 6)) continue;
    size_t l = strlen(list);
    snprintf(list + l, sizeof list - l, "%s-%s", l ? ", " : "", names[i]);
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  PetscCheck(!list[0], comm, PETSC_ERR_ARG_WRONG, "unknown option(s) for 'mxpcs %s': %s (see 'mxpcs %s -help'; -options_allow_unknown to ignore)", cmd, list, cmd);
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const MxAppCommand *cmd = NULL;
  PetscErrorCode      ierr;
  PetscMPIInt         rank = 0;

  if (argc < 2 || !strcmp(argv[1], "-help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    Usage(stdout);
    return argc < 2 ? 1 : 0;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-version")) {
    printf("mxpcs %s\n", MxVersion());
    return 0;
  }
  for (int i = 0; i < ncommands; i++)
    if (!strcmp(argv[1], commands[i].name)) cmd = &commands[i];
  if (!cmd) {
    fprintf(stderr, "mxpcs: error: unknown command '%s'\n", argv[1]);
    Usage(stderr);
    return 2;
  }
  /* options files are checked before PETSc reads them: some malformed ones crash it */
  for (int i = 2; i < argc; i++) {
    char msg[256];
    if (MxOptionsTextCheck(argv[i], msg, sizeof msg)) {
      fprintf(stderr, "mxpcs %s: error: argument %d (%s): %s\n", cmd->name, i, argv[i], msg);
      return 1;
    }
    if (!strcmp(argv[i - 1], "-options_file") && MxOptionsFileCheck(argv[i], msg, sizeof msg)) {
      fprintf(stderr, "mxpcs %s: error: options file %s, %s\n", cmd->name, argv[i], msg);
      return 1;
    }
  }
  /* one BLAS thread per MPI rank (the ranks are the parallelism; results do not depend on
     how OpenBLAS splits its work), unless the user says otherwise */
  if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
  MxMpiSetDefaults(); /* MPI waits that yield the core (src/sys/mpienv.c) */
  argv[1] = argv[0];
  argc--;
  argv++;
  ierr = PetscInitialize(&argc, &argv, NULL, NULL);
  if (ierr) {
    const char *file = NULL;
    for (int i = 1; i + 1 < argc; i++)
      if (!strcmp(argv[i], "-options_file")) file = argv[i + 1];
    if (file) fprintf(stderr, "mxpcs %s: error: cannot read the options file %s (missing, or not valid YAML / PETSc options syntax; PETSc's report is above)\n", cmd->name, file);
    else fprintf(stderr, "mxpcs %s: error: PETSc could not start (see its report above)\n", cmd->name);
    return 1;
  }
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (MxErrorInstall() || MxH5Silence()) return 1;
  ierr = cmd->run(PETSC_COMM_WORLD);
  if (!ierr) ierr = MxAppCheckOptions(PETSC_COMM_WORLD, cmd->name);
  if (ierr) {
    PetscBool   collective;
    const char *msg = MxErrorMessage(&collective);
    if (collective) {
      if (!rank) fprintf(stderr, "mxpcs %s: error: %s\n", cmd->name, msg);
      fflush(stderr);
      PetscFinalize();
      return 1;
    }
    /* only this rank knows: say it, then take the others down rather than leave them waiting */
    fprintf(stderr, "mxpcs %s: error (rank %d): %s\n", cmd->name, rank, msg);
    fflush(stderr);
    MPI_Abort(PETSC_COMM_WORLD, 1);
    return 1;
  }
  ierr = PetscFinalize();
  return ierr ? 1 : 0;
}
