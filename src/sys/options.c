/* Small parsers for option values. */
#include <mxpcs/sys.h>
#include <errno.h>
#include <ctype.h>
#include <stdlib.h>
#include <unistd.h>

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

PetscErrorCode MxDataFile(const char rel[], char buf[], size_t len)
{
  char    exe[PETSC_MAX_PATH_LEN] = "", cand[4][PETSC_MAX_PATH_LEN];
  ssize_t n   = readlink("/proc/self/exe", exe, sizeof exe - 1);
  int     nc  = 0;
  const char *env = getenv("MXPCS_DATADIR");

  PetscFunctionBeginUser;
  if (n > 0) {
    exe[n]   = 0;
    char *sl = strrchr(exe, '/');
    if (sl) *sl = 0;
  }
  if (env && env[0]) snprintf(cand[nc++], PETSC_MAX_PATH_LEN, "%s/%s", env, rel);
  if (exe[0]) {
    snprintf(cand[nc++], PETSC_MAX_PATH_LEN, "%s/../share/mxpcs/%s", exe, rel); /* installed: PREFIX/bin/mxpcs */
    snprintf(cand[nc++], PETSC_MAX_PATH_LEN, "%s/../%s", exe, rel);             /* build tree: SRC/build/mxpcs */
  }
  snprintf(cand[nc++], PETSC_MAX_PATH_LEN, "%s/mxpcs/%s", MXPCS_INSTALL_DATADIR, rel); /* the configured prefix */
  buf[0] = 0;
  for (int i = 0; i < nc; i++)
    if (!access(cand[i], R_OK)) {
      snprintf(buf, len, "%s", cand[i]);
      break;
    }
  PetscFunctionReturn(0);
}

PetscErrorCode MxLogEventRegisterOnce(const char class_name[], const char event_name[], PetscLogEvent *event)
{
  PetscClassId cid;

  PetscFunctionBeginUser;
  if (*event) PetscFunctionReturn(0);
  PetscCall(PetscClassIdRegister(class_name, &cid));
  PetscCall(PetscLogEventRegister(event_name, cid, event));
  PetscFunctionReturn(0);
}

/* PETSc 3.18 substitutes ${VAR} in option-file names and crashes (PetscStrreplace) on a "${"
   without its "}" (found by tests/fuzz/fuzz_options.c). mxpcs checks every options text first. */
int MxOptionsTextCheck(const char *text, char *msg, size_t len)
{
  int line = 1;
  for (const char *p = text; *p; p++) {
    if (*p == '\n') line++;
    if (p[0] == '$' && p[1] == '{') {
      const char *q = p + 2;
      while (*q == '_' || isalnum((unsigned char)*q)) q++; /* ${NAME}: an environment variable name only */
      if (*q != '}' || q == p + 2) {
        snprintf(msg, len, "line %d: '${' must enclose an environment variable name, as ${HOME}", line);
        return 1;
      }
    }
  }
  return 0;
}

int MxOptionsFileCheck(const char *path, char *msg, size_t len)
{
  FILE  *f = fopen(path, "rb");
  char  *buf;
  long   n;
  int    rc;
  if (!f) return 0; /* PETSc reports a missing file itself */
  if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) || !(buf = malloc((size_t)n + 1))) {
    fclose(f);
    return 0;
  }
  n      = (long)fread(buf, 1, (size_t)n, f);
  buf[n] = 0;
  fclose(f);
  rc = MxOptionsTextCheck(buf, msg, len);
  free(buf);
  return rc;
}
