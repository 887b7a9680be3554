/* Error handling: one line per error, no rank left waiting. */
#include <mxpcs/sys.h>

static char      mx_msg[2048];
static PetscBool mx_have, mx_collective;

/* PETSc calls this at the origin (PETSC_ERROR_INITIAL) and at every frame on the way up. */
static PetscErrorCode MxErrorHandler(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  if (p == PETSC_ERROR_INITIAL && !mx_have) {
    PetscMPIInt size = 1, wsize = 1;
    if (comm != MPI_COMM_NULL) MPI_Comm_size(comm, &size);
    MPI_Comm_size(PETSC_COMM_WORLD, &wsize);
    mx_collective = (size == wsize) ? PETSC_TRUE : PETSC_FALSE;
    if (mess && mess[0]) snprintf(mx_msg, sizeof mx_msg, "%s", mess);
    else {
      const char *text = NULL;
      PetscErrorMessage(n, &text, NULL);
      snprintf(mx_msg, sizeof mx_msg, "%s (in %s, %s:%d)", text ? text : "error", fun, file, line);
    }
    mx_have = PETSC_TRUE;
  }
  return n;
}

PetscErrorCode MxErrorInstall(void)
{
  PetscFunctionBeginUser;
  PetscCall(PetscPushErrorHandler(MxErrorHandler, NULL));
  PetscFunctionReturn(0);
}

const char *MxErrorMessage(PetscBool *collective)
{
  if (collective) *collective = mx_collective;
  return mx_have ? mx_msg : "";
}

void MxErrorClear(void)
{
  mx_have       = PETSC_FALSE;
  mx_collective = PETSC_FALSE;
  mx_msg[0]     = 0;
}

PetscErrorCode MxErrorSync(MPI_Comm comm, PetscErrorCode local)
{
  PetscMPIInt rank, size, failed, first;
  char        msg[sizeof mx_msg];

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  failed = local ? rank : size;
  PetscCallMPI(MPI_Allreduce(&failed, &first, 1, MPI_INT, MPI_MIN, comm));
  if (first == size) PetscFunctionReturn(0);
  if (rank == first) snprintf(msg, sizeof msg, "%s", mx_have ? mx_msg : "unknown error");
  PetscCallMPI(MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, comm));
  MxErrorClear();
  SETERRQ(comm, local ? local : PETSC_ERR_LIB, "%s", msg);
}
