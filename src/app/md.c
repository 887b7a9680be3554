/* mxpcs md: LAMMPS Langevin epsilon scan -> Ds/D0(epsilon), S(q), and the epsilon matching a
   measured Ds/D0 (design.md 1.9 and 4). */
#include "app.h"
#include <mxpcs/md.h>

PetscErrorCode MxAppMd(MPI_Comm comm)
{
  MxMD      md;
  char      out[PETSC_MAX_PATH_LEN] = "";
  PetscBool help, replaced = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "mxpcs md: Langevin LJ epsilon scan with LAMMPS, Ds/D0(epsilon), S(q), epsilon match", "mxpcs");
  PetscCall(PetscOptionsString("-o", "Results file (HDF5: /entry and /md, written as FILE.part and renamed when complete)", "", out, out, sizeof out, NULL));
  PetscOptionsEnd();
  PetscCall(MxMDCreate(comm, &md));
  PetscCall(MxMDSetFromOptions(md));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    PetscCall(MxMDDestroy(&md));
    PetscFunctionReturn(0);
  }
  PetscCall(MxAppCheckOptions(comm, "md"));
  PetscCheck(out[0], comm, PETSC_ERR_ARG_NULL, "mxpcs md needs -o FILE, the results file");
  PetscCall(MxMDSetUp(md));
  PetscCall(MxMDRun(md));
  PetscCall(MxMDWriteFile(md, out, &replaced));
  PetscCall(MxMDView(md, PETSC_VIEWER_STDOUT_(comm)));
  PetscCall(PetscPrintf(comm, "md: %s %s\n", replaced ? "replaced" : "wrote", out));
  PetscCall(MxMDDestroy(&md));
  PetscFunctionReturn(0);
}
