/* Small parsers for option values. */
#include <mxpcs/sys.h>
#include <errno.h>
#include <ctype.h>
#include <stdlib.h>
#include <strings.h>
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

/* The classes and events registered through MxLogEventRegisterOnce: a class once per name (PETSc
   would list a name registered twice twice in -log_view), and every event forgotten at
   PetscFinalize so that a second PetscInitialize (unit tests) registers them again. */
#define MX_LOG_MAX 64
static struct {
  char         name[64];
  PetscClassId id;
} mx_log_class[MX_LOG_MAX];
static PetscLogEvent *mx_log_event[MX_LOG_MAX];
static int            mx_log_nclass, mx_log_nevent;

static PetscErrorCode MxLogFinalize(void)
{
  PetscFunctionBeginUser;
  for (int i = 0; i < mx_log_nevent; i++) *mx_log_event[i] = 0;
  mx_log_nclass = mx_log_nevent = 0;
  PetscFunctionReturn(0);
}

PetscErrorCode MxLogEventRegisterOnce(const char class_name[], const char event_name[], PetscLogEvent *event)
{
  int c = 0;

  PetscFunctionBeginUser;
  if (*event) PetscFunctionReturn(0);
  while (c < mx_log_nclass && strcmp(mx_log_class[c].name, class_name)) c++;
  PetscCheck(c < MX_LOG_MAX && mx_log_nevent < MX_LOG_MAX, PETSC_COMM_SELF, PETSC_ERR_PLIB, "MxLogEventRegisterOnce: more than %d classes or events (raise MX_LOG_MAX)", MX_LOG_MAX);
  if (c == mx_log_nclass) {
    if (!mx_log_nclass && !mx_log_nevent) PetscCall(PetscRegisterFinalize(MxLogFinalize));
    PetscCall(PetscClassIdRegister(class_name, &mx_log_class[c].id));
    snprintf(mx_log_class[c].name, sizeof mx_log_class[c].name, "%s", class_name);
    mx_log_nclass++;
  }
  PetscCall(PetscLogEventRegister(event_name, mx_log_class[c].id, event));
  mx_log_event[mx_log_nevent++] = event;
  PetscFunctionReturn(0);
}

/* 1 and *b when s is a logical value as PETSc reads one (1/0, true/false, yes/no, on/off). */
static int IsLogical(const char *s, PetscBool *b)
{
  static const char *t[] = {"1", "true", "yes", "on"}, *f[] = {"0", "false", "no", "off"};
  for (int i = 0; i < 4; i++) {
    if (!strcasecmp(s, t[i])) return (*b = PETSC_TRUE), 1;
    if (!strcasecmp(s, f[i])) return (*b = PETSC_FALSE), 1;
  }
  return 0;
}

PetscErrorCode MxOptionsView_Private(PetscOptionItems *PetscOptionsObject, const char opt[], const char text[], const char man[], MxViewOption *v)
{
  char              val[PETSC_MAX_PATH_LEN] = "";
  PetscBool         has, on;
  PetscViewer       viewer = NULL;
  PetscViewerFormat format = PETSC_VIEWER_DEFAULT;

  PetscFunctionBeginUser;
  /* the logical -X_view of earlier releases: a value PetscOptionsViewer would take for a viewer type */
  PetscCall(PetscOptionsGetString(PetscOptionsObject->options, PetscOptionsObject->prefix, opt, val, sizeof val, &has));
  if (has && IsLogical(val, &on)) {
    PetscCall(MxViewOptionSet(v, on ? PETSC_VIEWER_STDOUT_(PetscOptionsObject->comm) : NULL));
    PetscFunctionReturn(0);
  }
  PetscErrorCode ierr = PetscOptionsViewer(opt, text, man, &viewer, &format, &has);
  if (ierr) { /* PETSc's message does not say which option */
    char msg[512];
    snprintf(msg, sizeof msg, "%s", MxErrorMessage(NULL));
    MxErrorClear();
    SETERRQ(PetscOptionsObject->comm, ierr, "option -%s%s: %s (give a viewer: ascii, ascii:FILE, ::ascii_info; or 0 for none)", PetscOptionsObject->prefix ? PetscOptionsObject->prefix : "", opt + 1, msg);
  }
  if (!has) PetscFunctionReturn(0);
  PetscCall(PetscViewerDestroy(&v->viewer));
  v->viewer = viewer; /* PetscOptionsViewer gave a reference */
  v->format = format;
  PetscFunctionReturn(0);
}

PetscErrorCode MxViewOptionSet(MxViewOption *v, PetscViewer viewer)
{
  PetscFunctionBeginUser;
  if (viewer) PetscCall(PetscObjectReference((PetscObject)viewer));
  PetscCall(PetscViewerDestroy(&v->viewer));
  v->viewer = viewer;
  v->format = PETSC_VIEWER_DEFAULT;
  PetscFunctionReturn(0);
}

PetscErrorCode MxViewOptionApply(MxViewOption *v, PetscErrorCode (*view)(void *, PetscViewer), void *obj)
{
  PetscFunctionBeginUser;
  if (!v->viewer) PetscFunctionReturn(0);
  PetscCall(PetscViewerPushFormat(v->viewer, v->format));
  PetscCall(view(obj, v->viewer));
  PetscCall(PetscViewerPopFormat(v->viewer));
  PetscFunctionReturn(0);
}

PetscErrorCode MxViewOptionDestroy(MxViewOption *v)
{
  PetscFunctionBeginUser;
  PetscCall(PetscViewerDestroy(&v->viewer));
  PetscFunctionReturn(0);
}

int MxOptionsPrefixValid(const char *name)
{
  if (!name || !isalpha((unsigned char)name[0])) return 0;
  for (const char *c = name; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '_') return 0;
  return 1;
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
