/* libFuzzer target: options files. The input is the text of an options file (read as YAML, and
   when that fails in PETSc's plain format) pushed as the options database; then every stage that
   the analyze and simulate commands configure reads its options (reader, geometry, rings,
   analysis, simulation) and the unknown-option check runs, as in `mxpcs <cmd> -options_file F`.
   Any input must give a configuration or a clean error, never a crash or undefined behaviour. */
#include <mxpcs/analyze.h>
#include <mxpcs/sim.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

/* a failure of the harness itself (not of the input): say which call, then abort */
static void Fail(const char *what)
{
  fprintf(stderr, "fuzz_options: %s failed: %s (errno: %s)\n", what, MxErrorMessage(NULL), strerror(errno));
  abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  if (PetscInitialize(argc, argv, NULL, NULL)) abort();
  PetscPopSignalHandler(); /* a crash must reach ASan and libFuzzer (a reproducer), not PETSc */
  if (MxErrorInstall() || MxH5Silence()) abort();
  return 0;
}

static PetscErrorCode Configure(void)
{
  MxAnalyze a;
  MxSim     s;
  PetscInt  n;
  char    **names, **values;

  PetscFunctionBeginUser;
  PetscCall(MxAnalyzeCreate(PETSC_COMM_SELF, &a));
  PetscErrorCode ierr = MxAnalyzeSetFromOptions(a);
  PetscCall(MxAnalyzeDestroy(&a));
  PetscCall(ierr);
  PetscCall(MxSimCreate(PETSC_COMM_SELF, &s));
  ierr = MxSimSetFromOptions(s);
  PetscCall(MxSimDestroy(&s));
  PetscCall(ierr);
  PetscCall(PetscOptionsLeftGet(NULL, &n, &names, &values));
  PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  PetscFunctionReturn(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  PetscOptions db;
  char        *text = malloc(size + 1);

  /* strings, not files: PETSc 3.18's PetscOptionsInsertFile() leaks its FILE when a line is
     rejected (found by this fuzzer; harmless in mxpcs, which exits on that error) */
  memcpy(text, data, size);
  text[size] = 0;
  {
    char msg[256];
    if (MxOptionsTextCheck(text, msg, sizeof msg)) { /* mxpcs refuses it before PETSc sees it */
      free(text);
      return 0;
    }
  }
  if (PetscOptionsCreate(&db)) Fail("PetscOptionsCreate");
  if (PetscOptionsPush(db)) Fail("PetscOptionsPush");
  PetscErrorCode ierr = PetscOptionsInsertStringYAML(db, text);
  if (ierr) {
    MxErrorClear();
    ierr = PetscOptionsInsertString(db, text);
  }
  if (!ierr) (void)Configure();
  MxErrorClear();
  if (PetscOptionsPop()) Fail("PetscOptionsPop");
  if (PetscOptionsDestroy(&db)) Fail("PetscOptionsDestroy");
  free(text);
  return 0;
}
