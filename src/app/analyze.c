/* mxpcs analyze: one run -> results.h5 (SAXS, two-time, XC, g2, contrast, fits). */
#include "app.h"
#include <mxpcs/analyze.h>

PetscErrorCode MxAppAnalyze(MPI_Comm comm)
{
  MxAnalyze a;
  char      out[PETSC_MAX_PATH_LEN] = "";
  PetscBool help;

  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "mxpcs analyze: one run to results.h5", "mxpcs");
  PetscCall(PetscOptionsString("-o", "Results file (HDF5, written as FILE.part and renamed when complete)", "", out, out, sizeof out, NULL));
  PetscOptionsEnd();
  PetscCall(MxAnalyzeCreate(comm, &a));
  if (out[0]) { /* default checkpoint directory: beside the results */
    char ck[PETSC_MAX_PATH_LEN + 8];
    snprintf(ck, sizeof ck, "%s.ckpt", out);
    PetscCall(MxAnalyzeSetCheckpoint(a, ck));
  }
  PetscCall(MxAnalyzeSetFromOptions(a));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    PetscCall(MxAnalyzeDestroy(&a));
    PetscFunctionReturn(0);
  }
  PetscCall(MxAppCheckOptions(comm, "analyze"));
  PetscCheck(out[0], comm, PETSC_ERR_ARG_NULL, "mxpcs analyze needs -o FILE, the results file");
  PetscCall(MxAnalyzeSetUp(a));
  PetscCall(MxAnalyzeApply(a));
  PetscCall(MxAnalyzeWrite(a, out));
  PetscCall(MxAnalyzeCheckpointRemove(a));
  PetscCall(MxAnalyzeViewFromOptions(a));
  PetscCall(MxAnalyzeDestroy(&a));
  PetscFunctionReturn(0);
}
