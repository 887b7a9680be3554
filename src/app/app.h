/* Subcommands: each composes the stage objects on PETSC_COMM_WORLD. */
#pragma once
#include <mxpcs/sys.h>

typedef struct {
  const char *name;
  const char *summary;
  PetscErrorCode (*run)(MPI_Comm comm);
} MxAppCommand;

/* Unknown options are an error (a mistyped key must not fall back to a default silently).
   Call once every object has read its options, before the work starts. Collective. */
PetscErrorCode MxAppCheckOptions(MPI_Comm comm, const char *cmd);

PetscErrorCode MxAppInfo(MPI_Comm comm);
PetscErrorCode MxAppQmap(MPI_Comm comm);
PetscErrorCode MxAppSimulate(MPI_Comm comm);
PetscErrorCode MxAppAnalyze(MPI_Comm comm);
PetscErrorCode MxAppOnline(MPI_Comm comm);
PetscErrorCode MxAppFit(MPI_Comm comm);
PetscErrorCode MxAppMd(MPI_Comm comm);
PetscErrorCode MxAppDemo(MPI_Comm comm);
