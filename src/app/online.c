/* mxpcs online: live analysis of a Karabo bridge stream -> results.h5, replaced as it goes. */
#include "app.h"
#include <mxpcs/online.h>

PetscErrorCode MxAppOnline(MPI_Comm comm)
{
  MxOnline  o;
  char      out[PETSC_MAX_PATH_LEN] = "";
  PetscBool help;

  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "mxpcs online: a Karabo bridge stream to results.h5", "mxpcs");
  PetscCall(PetscOptionsString("-o", "Results file (HDF5; replaced atomically at every update and at the end)", "", out, out, sizeof out, NULL));
  PetscOptionsEnd();
  PetscCall(MxOnlineCreate(comm, &o));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) { /* list every option without requiring -bridge_endpoint */
    PetscErrorCode ierr;
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = MxOnlineSetFromOptions(o);
    PetscCall(PetscPopErrorHandler());
    (void)ierr;
    PetscCall(MxOnlineDestroy(&o));
    PetscFunctionReturn(0);
  }
  PetscCall(MxOnlineSetFromOptions(o));
  PetscCall(MxAppCheckOptions(comm, "online"));
  PetscCheck(out[0], comm, PETSC_ERR_ARG_NULL, "mxpcs online needs -o FILE, the results file");
  PetscCall(MxOnlineRun(o, out));
  PetscCall(MxOnlineDestroy(&o));
  PetscFunctionReturn(0);
}
