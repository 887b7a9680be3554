/* Subcommands: each composes the stage objects on PETSC_COMM_WORLD. */
#pragma once
#include <mxpcs/sys.h>

typedef struct {
  const char *name;
  const char *summary;
  PetscErrorCode (*run)(MPI_Comm comm);
} MxAppCommand;

PetscErrorCode MxAppInfo(MPI_Comm comm);
PetscErrorCode MxAppQmap(MPI_Comm comm);
