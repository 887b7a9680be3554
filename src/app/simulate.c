/* mxpcs simulate: a synthetic MHz-XPCS run in the EuXFEL layout, with its truth. */
#include "app.h"
#include <mxpcs/sim.h>
#include <stdlib.h>

PetscErrorCode MxAppSimulate(MPI_Comm comm)
{
  MxSim     s;
  char      out[PETSC_MAX_PATH_LEN] = "";
  PetscBool help;

  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "mxpcs simulate: synthetic MHz-XPCS run + truth.h5", "mxpcs");
  PetscCall(PetscOptionsString("-o", "Output directory: DIR/proc/r####/CORR-*.h5 and DIR/truth.h5", "", out, out, sizeof out, NULL));
  PetscOptionsEnd();
  PetscCall(MxSimCreate(comm, &s));
  PetscCall(MxSimSetView(s, PETSC_VIEWER_STDOUT_(comm))); /* the set-up, unless -sim_view says otherwise */
  PetscCall(MxSimSetFromOptions(s));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    PetscCall(MxSimDestroy(&s));
    PetscFunctionReturn(0);
  }
  PetscCall(MxAppCheckOptions(comm, "simulate"));
  PetscCheck(out[0], comm, PETSC_ERR_ARG_NULL, "mxpcs simulate needs -o DIR");
  PetscCall(MxSimSetOutput(s, out));
  PetscCall(MxSimSetUp(s));
  {
    PetscErrorCode ierr = MxSimRun(s);
    PetscMPIInt    rank;
    MPI_Comm_rank(comm, &rank);
    if (ierr && !rank) { /* nothing half-written stays behind */
      char cmd[2 * PETSC_MAX_PATH_LEN + 16];
      snprintf(cmd, sizeof cmd, "rm -rf '%s.part'", out);
      if (system(cmd)) { /* the error below is what matters */ }
    }
    PetscCall(ierr);
  }
  PetscCall(MxSimDestroy(&s));
  PetscFunctionReturn(0);
}
