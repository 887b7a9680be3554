/* Small parsers for option values. */
#include <mxpcs/sys.h>
#include <errno.h>
#include <stdlib.h>

PetscErrorCode MxParseRange(MPI_Comm comm, const char s[], const char opt[], PetscInt64 *a, PetscInt64 *b)
{
  char      *end;
  long long  x, y;
  const char *colon = strchr(s, ':');

  PetscFunctionBeginUser;
  PetscCheck(colon, comm, PETSC_ERR_ARG_WRONG, "option %s: '%s' is not a range first:last", opt, s);
  errno = 0;
  x     = strtoll(s, &end, 10);
  PetscCheck(end == colon && !errno && end != s, comm, PETSC_ERR_ARG_WRONG, "option %s: '%s' is not a range first:last of integers", opt, s);
  y = strtoll(colon + 1, &end, 10);
  PetscCheck(*end == 0 && !errno && end != colon + 1, comm, PETSC_ERR_ARG_WRONG, "option %s: '%s' is not a range first:last of integers", opt, s);
  PetscCheck(x >= 0 && y >= x, comm, PETSC_ERR_ARG_OUTOFRANGE, "option %s: range %lld:%lld must have 0 <= first <= last", opt, x, y);
  *a = x;
  *b = y;
  PetscFunctionReturn(0);
}

const char *MxVersion(void) { return MXPCS_VERSION; }

PetscErrorCode MxLogEventRegisterOnce(const char class_name[], const char event_name[], PetscLogEvent *event)
{
  PetscClassId cid;

  PetscFunctionBeginUser;
  if (*event) PetscFunctionReturn(0);
  PetscCall(PetscClassIdRegister(class_name, &cid));
  PetscCall(PetscLogEventRegister(event_name, cid, event));
  PetscFunctionReturn(0);
}
