/* MxOut: the one writer of mxpcs output files. Items are named by their ID in the results
   schema (include/mxpcs/schema.def), which gives each path, its units and each group's
   NX_class; files are written under FILE.part and renamed when complete. */
#include <mxpcs/schema.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const MxSchemaItem items[] = {
#define MX_S(id, kind, path, cu, shape, doc) {#id, MX_SCHEMA_##kind, path, cu, shape, doc},
#include <mxpcs/schema.def>
#undef MX_S
};

const MxSchemaItem *MxSchemaGet(MxSchemaId id)
{
  return id >= 0 && id < MX_SCHEMA_N ? &items[id] : NULL;
}

const char *MxSchemaUnits(MxSchemaId id)
{
  const MxSchemaItem *it = MxSchemaGet(id);
  return !it || it->kind != MX_SCHEMA_DSET || !strcmp(it->cu, "-") ? NULL : it->cu;
}

static PetscErrorCode PathV(MxSchemaId id, char buf[], size_t len, va_list ap)
{
  const MxSchemaItem *it = MxSchemaGet(id);
  int                 n;

  PetscFunctionBeginUser;
  PetscCheck(it, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "results schema: no item %d", (int)id);
  n = vsnprintf(buf, len, it->path, ap);
  PetscCheck(n >= 0 && (size_t)n < len, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "results schema: path of %s too long", it->name);
  PetscFunctionReturn(0);
}

PetscErrorCode MxSchemaPath(MxSchemaId id, char buf[], size_t len, ...)
{
  va_list ap;

  PetscFunctionBeginUser;
  va_start(ap, len);
  PetscErrorCode ierr = PathV(id, buf, len, ap);
  va_end(ap);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* does path match the pattern? %s: one component; %05d (any %...d): a number */
static int Match(const char *pat, const char *p)
{
  while (*pat && *p) {
    if (*pat == '%') {
      int num = 0;
      pat++;
      while (*pat && !(*pat == 's' || *pat == 'd')) pat++;
      num = *pat == 'd';
      if (*pat) pat++;
      const char *s = p;
      while (*p && *p != '/' && (!num || (*p >= '0' && *p <= '9'))) p++;
      if (p == s) return 0;
      continue;
    }
    if (*pat++ != *p++) return 0;
  }
  return !*pat && !*p;
}

MxSchemaId MxSchemaFind(const char path[])
{
  for (int i = 0; i < MX_SCHEMA_N; i++)
    if (Match(items[i].path, path)) return (MxSchemaId)i;
  return MX_SCHEMA_N;
}

void MxIsoTimeNow(char buf[], size_t len)
{
  time_t    t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void MxIsoTimeFile(const char path[], char buf[], size_t len)
{
  struct stat st;
  struct tm   tm;
  if (!path || stat(path, &st)) {
    if (len) buf[0] = 0;
    return;
  }
  gmtime_r(&st.st_mtime, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct _p_MxOut {
  MPI_Comm    comm;
  hid_t       f;
  char        path[PETSC_MAX_PATH_LEN];
  PetscBool   existed;
  EVP_MD_CTX *qmap_hash; /* rank 0: SHA-256 of what went under /xpcs/qmap */
};

hid_t MxOutFile(MxOut o)
{
  return o->f;
}

MPI_Comm MxOutComm(MxOut o)
{
  return o->comm;
}

static PetscErrorCode AttrString(hid_t obj, const char name[], const char value[])
{
  PetscFunctionBeginUser;
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  PetscCall(MxH5WriteAttrString(obj, name, value));
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutCreate(MPI_Comm comm, const char path[], MxOut *po)
{
  MxOut       o;
  PetscMPIInt rank;
  int         existed = 0;
  char        now[32], creator[64];

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  PetscCall(PetscNew(&o));
  o->comm = comm;
  o->f    = H5I_INVALID_HID;
  snprintf(o->path, sizeof o->path, "%s", path);
  if (!rank) existed = access(path, F_OK) == 0;
  PetscCallMPI(MPI_Bcast(&existed, 1, MPI_INT, 0, comm));
  o->existed = existed ? PETSC_TRUE : PETSC_FALSE;
  if (!rank) {
    o->qmap_hash = EVP_MD_CTX_new();
    PetscCheck(o->qmap_hash && EVP_DigestInit_ex(o->qmap_hash, EVP_sha256(), NULL), PETSC_COMM_SELF, PETSC_ERR_LIB, "OpenSSL: cannot start a SHA-256");
  }
  PetscErrorCode ierr = MxH5CreateParallel(comm, path, &o->f);
  if (ierr) {
    if (o->qmap_hash) EVP_MD_CTX_free(o->qmap_hash);
    PetscCall(PetscFree(o));
    PetscCall(ierr);
  }
  /* NXroot attributes; every rank writes the same (rank 0's time) */
  if (!rank) MxIsoTimeNow(now, sizeof now);
  PetscCallMPI(MPI_Bcast(now, sizeof now, MPI_CHAR, 0, comm));
  snprintf(creator, sizeof creator, "mxpcs %s", MxVersion());
  PetscCall(AttrString(o->f, "NX_class", "NXroot"));
  PetscCall(AttrString(o->f, "default", "entry"));
  PetscCall(AttrString(o->f, "creator", creator));
  PetscCall(AttrString(o->f, "file_time", now));
  *po = o;
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutClose(MxOut *po, PetscErrorCode ierr, PetscBool *replaced)
{
  MxOut  o = *po;
  herr_t ce;

  PetscFunctionBeginUser;
  if (!o) PetscFunctionReturn(0);
  ce = o->f >= 0 ? H5Fclose(o->f) : 0;
  if (o->qmap_hash) EVP_MD_CTX_free(o->qmap_hash);
  if (replaced) *replaced = o->existed;
  *po = NULL;
  if (ierr || ce < 0) {
    char path[PETSC_MAX_PATH_LEN];
    snprintf(path, sizeof path, "%s", o->path);
    MPI_Comm comm = o->comm;
    PetscCall(MxOutputDiscard(comm, path));
    PetscCall(PetscFree(o));
    PetscCall(ierr);
    SETERRQ(comm, PETSC_ERR_FILE_WRITE, "%s: closing the output file failed", path);
  }
  PetscErrorCode ce2 = MxOutputCommit(o->comm, o->path);
  PetscCall(PetscFree(o));
  PetscCall(ce2);
  PetscFunctionReturn(0);
}

/* create the groups above path (and path itself when it is a group), each with its NX_class */
static PetscErrorCode EnsureGroups(MxOut o, const char path[], PetscBool self)
{
  char   buf[PETSC_MAX_PATH_LEN];
  size_t n = strlen(path);

  PetscFunctionBeginUser;
  PetscCheck(n < sizeof buf, o->comm, PETSC_ERR_ARG_SIZ, "output path too long: %s", path);
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && !(buf[i] == 0 && self)) continue;
    char c = buf[i];
    buf[i] = 0;
    if (H5Lexists(o->f, buf, H5P_DEFAULT) <= 0) {
      MxSchemaId gid = MxSchemaFind(buf);
      PetscCheck(gid < MX_SCHEMA_N && items[gid].kind == MX_SCHEMA_GROUP, o->comm, PETSC_ERR_PLIB, "results schema: group %s is not in include/mxpcs/schema.def", buf);
      hid_t g = H5Gcreate2(o->f, buf, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      MxH5Call(g, o->comm, "%s: cannot create group %s", o->path, buf);
      PetscErrorCode ierr = MxH5WriteAttrString(g, "NX_class", items[gid].cu);
      H5Gclose(g);
      PetscCall(ierr);
    }
    buf[i] = c;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckKind(MxOut o, MxSchemaId id, MxSchemaKind kind)
{
  const MxSchemaItem *it = MxSchemaGet(id);

  PetscFunctionBeginUser;
  PetscCheck(it && it->kind == kind, o->comm, PETSC_ERR_PLIB, "results schema: item %s is not a %s", it ? it->name : "?", kind == MX_SCHEMA_GROUP ? "group" : kind == MX_SCHEMA_DSET ? "dataset" : "link");
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutGroup(MxOut o, MxSchemaId id, ...)
{
  char    path[PETSC_MAX_PATH_LEN];
  va_list ap;

  PetscFunctionBeginUser;
  PetscCall(CheckKind(o, id, MX_SCHEMA_GROUP));
  va_start(ap, id);
  PetscErrorCode ierr = PathV(id, path, sizeof path, ap);
  va_end(ap);
  PetscCall(ierr);
  PetscCall(EnsureGroups(o, path, PETSC_TRUE));
  PetscFunctionReturn(0);
}

static PetscErrorCode ArrayV(MxOut o, MxSchemaId id, hid_t memtype, int rank, const hsize_t dims[], const void *buf, va_list ap)
{
  char        path[PETSC_MAX_PATH_LEN];
  PetscMPIInt r;

  PetscFunctionBeginUser;
  PetscCall(CheckKind(o, id, MX_SCHEMA_DSET));
  PetscCall(PathV(id, path, sizeof path, ap));
  PetscCall(EnsureGroups(o, path, PETSC_FALSE));
  PetscCall(MxH5WriteArray(o->comm, o->f, path, memtype, rank, dims, buf, MxSchemaUnits(id)));
  MPI_Comm_rank(o->comm, &r);
  const char *qm = items[MX_QMAP].path;
  size_t      nq = strlen(qm);
  if (!r && o->qmap_hash && !strncmp(path, qm, nq) && path[nq] == '/') {
    size_t npts = 1;
    for (int i = 0; i < rank; i++) npts *= dims[i];
    EVP_DigestUpdate(o->qmap_hash, path, strlen(path) + 1);
    EVP_DigestUpdate(o->qmap_hash, dims, sizeof(hsize_t) * rank);
    if (npts && buf) EVP_DigestUpdate(o->qmap_hash, buf, npts * H5Tget_size(memtype));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutArray(MxOut o, MxSchemaId id, hid_t memtype, int rank, const hsize_t dims[], const void *buf, ...)
{
  va_list ap;

  PetscFunctionBeginUser;
  va_start(ap, buf);
  PetscErrorCode ierr = ArrayV(o, id, memtype, rank, dims, buf, ap);
  va_end(ap);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutDoubles(MxOut o, MxSchemaId id, int rank, const hsize_t dims[], const double *buf, ...)
{
  va_list ap;

  PetscFunctionBeginUser;
  va_start(ap, buf);
  PetscErrorCode ierr = ArrayV(o, id, H5T_NATIVE_DOUBLE, rank, dims, buf, ap);
  va_end(ap);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutScalar(MxOut o, MxSchemaId id, double v, ...)
{
  va_list ap;

  PetscFunctionBeginUser;
  va_start(ap, v);
  PetscErrorCode ierr = ArrayV(o, id, H5T_NATIVE_DOUBLE, 0, NULL, &v, ap);
  va_end(ap);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* integer scalars: stride and average counts (no template paths among them) */
PetscErrorCode MxOutInt(MxOut o, MxSchemaId id, int64_t v)
{
  PetscFunctionBeginUser;
  PetscCall(MxOutArray(o, id, H5T_NATIVE_INT64, 0, NULL, &v));
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutString(MxOut o, MxSchemaId id, const char text[], ...)
{
  long long len = (long long)strlen(text ? text : "") + 1;
  hid_t     ty;
  va_list   ap;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, o->comm)); /* rank 0's string decides the size */
  ty = H5Tcopy(H5T_C_S1);
  H5Tset_size(ty, (size_t)len);
  va_start(ap, text);
  PetscErrorCode ierr = ArrayV(o, id, ty, 0, NULL, text ? text : "", ap);
  va_end(ap);
  H5Tclose(ty);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutStrings(MxOut o, MxSchemaId id, int n, const char *const strs[], ...)
{
  size_t  w = 1;
  char   *buf;
  hsize_t d = (hsize_t)n;
  hid_t   ty;
  va_list ap;

  PetscFunctionBeginUser;
  for (int i = 0; i < n; i++) w = PetscMax(w, strlen(strs[i]) + 1);
  PetscCall(PetscCalloc1(w * n + 1, &buf));
  for (int i = 0; i < n; i++) memcpy(buf + i * w, strs[i], strlen(strs[i]));
  ty = H5Tcopy(H5T_C_S1);
  H5Tset_size(ty, w);
  va_start(ap, strs);
  PetscErrorCode ierr = ArrayV(o, id, ty, 1, &d, buf, ap);
  va_end(ap);
  H5Tclose(ty);
  PetscCall(PetscFree(buf));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutLink(MxOut o, MxSchemaId id)
{
  const MxSchemaItem *it = MxSchemaGet(id);
  char                path[PETSC_MAX_PATH_LEN];
  MxSchemaId          tid = MX_SCHEMA_N;

  PetscFunctionBeginUser;
  PetscCall(CheckKind(o, id, MX_SCHEMA_LINK));
  for (int i = 0; i < MX_SCHEMA_N; i++)
    if (!strcmp(items[i].name, it->cu)) tid = (MxSchemaId)i;
  PetscCheck(tid < MX_SCHEMA_N, o->comm, PETSC_ERR_PLIB, "results schema: link %s names no item %s", it->name, it->cu);
  snprintf(path, sizeof path, "%s", it->path);
  PetscCall(EnsureGroups(o, path, PETSC_FALSE));
  herr_t e = H5Lcreate_hard(o->f, items[tid].path, o->f, path, H5P_DEFAULT, H5P_DEFAULT);
  MxH5Call(e, o->comm, "%s: cannot link %s to %s", o->path, path, items[tid].path);
  PetscFunctionReturn(0);
}

/* an attribute (replaced if there) on the item's object; type NULL: a string */
static PetscErrorCode AttrV(MxOut o, MxSchemaId id, const char name[], hid_t type, const void *value, va_list ap)
{
  char  path[PETSC_MAX_PATH_LEN];
  hid_t obj, s, a;

  PetscFunctionBeginUser;
  PetscCall(PathV(id, path, sizeof path, ap));
  if (MxSchemaGet(id)->kind == MX_SCHEMA_GROUP) PetscCall(EnsureGroups(o, path, PETSC_TRUE));
  obj = H5Oopen(o->f, path, H5P_DEFAULT);
  MxH5Call(obj, o->comm, "%s: no object %s to put an attribute on", o->path, path);
  if (type < 0) {
    PetscErrorCode ierr = AttrString(obj, name, (const char *)value);
    H5Oclose(obj);
    PetscCall(ierr);
    PetscFunctionReturn(0);
  }
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  s = H5Screate(H5S_SCALAR);
  a = H5Acreate2(obj, name, type, s, H5P_DEFAULT, H5P_DEFAULT);
  herr_t e = a < 0 ? -1 : H5Awrite(a, type, value);
  if (a >= 0) H5Aclose(a);
  H5Sclose(s);
  H5Oclose(obj);
  MxH5Call(e, o->comm, "%s: cannot write attribute %s of %s", o->path, name, path);
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutAttrString(MxOut o, MxSchemaId id, const char name[], const char value[], ...)
{
  va_list ap;

  PetscFunctionBeginUser;
  va_start(ap, value);
  PetscErrorCode ierr = AttrV(o, id, name, H5I_INVALID_HID, value, ap);
  va_end(ap);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutAttrInt(MxOut o, MxSchemaId id, const char name[], int64_t value, ...)
{
  va_list ap;

  PetscFunctionBeginUser;
  va_start(ap, value);
  PetscErrorCode ierr = AttrV(o, id, name, H5T_NATIVE_INT64, &value, ap);
  va_end(ap);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutAttrDouble(MxOut o, MxSchemaId id, const char name[], double value, ...)
{
  va_list ap;

  PetscFunctionBeginUser;
  va_start(ap, value);
  PetscErrorCode ierr = AttrV(o, id, name, H5T_NATIVE_DOUBLE, &value, ap);
  va_end(ap);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutWriteEntry(MxOut o, const MxOutEntry *e)
{
  char *opts = NULL, prog[256], now[32];

  PetscFunctionBeginUser;
  PetscCall(MxOutGroup(o, MX_ENTRY));
  if (e->definition) PetscCall(MxOutString(o, MX_ENTRY_DEFINITION, e->definition));
  PetscCall(MxOutString(o, MX_ENTRY_IDENTIFIER, e->identifier ? e->identifier : ""));
  MxIsoTimeNow(now, sizeof now);
  PetscCall(MxOutString(o, MX_ENTRY_START_TIME, e->start_time && e->start_time[0] ? e->start_time : now));
  PetscCall(MxOutString(o, MX_ENTRY_END_TIME, now));
  if (!e->options) PetscCall(PetscOptionsGetAll(NULL, &opts));
  PetscErrorCode ierr = MxOutString(o, MX_PROCESS_OPTIONS, e->options ? e->options : opts);
  PetscCall(PetscFree(opts));
  PetscCall(ierr);
  snprintf(prog, sizeof prog, "mxpcs %s %s", MxVersion(), e->command);
  PetscCall(MxOutString(o, MX_PROCESS_PROGRAM, prog));
  PetscCall(MxOutString(o, MX_PROCESS_VERSION, MxVersion()));
  PetscCall(MxOutString(o, MX_PROCESS_DATE, now));
  PetscCall(MxOutLink(o, MX_PROCESS_ROOT));
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutHash(MxOut o, const void *buf, size_t n)
{
  PetscFunctionBeginUser;
  if (o->qmap_hash && buf && n) EVP_DigestUpdate(o->qmap_hash, buf, n);
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutWriteQmapHash(MxOut o, double energy_keV)
{
  char          hex[2 * EVP_MAX_MD_SIZE + 1] = "";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int  n = 0;
  PetscMPIInt   r;

  PetscFunctionBeginUser;
  MPI_Comm_rank(o->comm, &r);
  if (!r) {
    EVP_DigestUpdate(o->qmap_hash, &energy_keV, sizeof energy_keV);
    EVP_DigestFinal_ex(o->qmap_hash, md, &n);
    for (unsigned i = 0; i < n; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    EVP_DigestInit_ex(o->qmap_hash, EVP_sha256(), NULL);
  }
  PetscCallMPI(MPI_Bcast(hex, sizeof hex, MPI_CHAR, 0, o->comm));
  PetscCall(MxOutAttrString(o, MX_QMAP, "hash", hex));
  PetscFunctionReturn(0);
}
