/* Scan a EuXFEL run directory: files, sources, INDEX tables, alignment of modules by train ID
   (euxfel-format.md sections 1.1-1.7). Runs on one rank; the result is broadcast. */
#include "readerimpl.h"
#include <dirent.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>

typedef struct {
  int      module, file, flag;
  uint32_t count;
  uint64_t tid, first;
} Entry;

PetscErrorCode MxRunIndexAnomaly(MxRunIndex *idx, const char *fmt, ...)
{
  char    line[1024];
  va_list ap;
  size_t  n;

  PetscFunctionBeginUser;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  n = strlen(line);
  if (idx->anom_len + n + 2 > idx->anom_cap) {
    size_t cap = 2 * (idx->anom_cap + n + 2) + 4096;
    char  *a;
    PetscCall(PetscCalloc1(cap, &a));
    if (idx->anom) {
      memcpy(a, idx->anom, idx->anom_len);
      PetscCall(PetscFree(idx->anom));
    }
    idx->anom     = a;
    idx->anom_cap = cap;
  }
  memcpy(idx->anom + idx->anom_len, line, n);
  idx->anom_len += n;
  idx->anom[idx->anom_len++] = '\n';
  idx->anom[idx->anom_len]   = 0;
  idx->nanom++;
  PetscFunctionReturn(0);
}

size_t MxIndexValidCount(const uint64_t *tid, size_t n)
{
  size_t k = 0;
  while (k < n && tid[k]) k++;
  return k;
}

static int CmpName(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int CmpEntry(const void *pa, const void *pb)
{
  const Entry *a = pa, *b = pb;
  if (a->module != b->module) return a->module < b->module ? -1 : 1;
  if (a->tid != b->tid) return a->tid < b->tid ? -1 : 1;
  return a->file - b->file;
}

static int CmpU64(const void *pa, const void *pb)
{
  uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
  return a < b ? -1 : a > b;
}

/* Find the AGIPD image sources of one file: per module the /CORR/ name if present, else /DET/. */
static PetscErrorCode FileSources(hid_t f, const char fname[], const char version[], char src[MX_NMOD][MX_SRCLEN])
{
  const char *dset = strcmp(version, "0.5") ? "METADATA/dataSources/dataSourceId" : "METADATA/dataSourceId";
  hsize_t     n;
  char       *all;
  regex_t     re;
  regmatch_t  m[6];
  int         corr[MX_NMOD] = {0};

  PetscFunctionBeginUser;
  for (int i = 0; i < MX_NMOD; i++) src[i][0] = 0;
  PetscCheck(MxH5Exists(f, dset), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is missing (not a EuXFEL run file?)", fname, dset);
  PetscCall(MxH5ReadStrings(f, fname, dset, &n, 256, &all));
  PetscCheck(!regcomp(&re, "^INSTRUMENT/([^/]*_AGIPD1M[^/]*)/(DET|CORR)/([0-9]+)CH0:(xtdf|output)/image$", REG_EXTENDED), PETSC_COMM_SELF, PETSC_ERR_LIB, "regcomp failed");
  for (hsize_t i = 0; i < n; i++) {
    const char *s = all + i * 256;
    if (!s[0] || regexec(&re, s, 6, m, 0)) continue; /* padding or other sources */
    int mod    = atoi(s + m[3].rm_so);
    int iscorr = !strncmp(s + m[2].rm_so, "CORR", 4);
    if (mod < 0 || mod >= MX_NMOD) continue;
    if (src[mod][0] && (corr[mod] || !iscorr)) continue; /* prefer /CORR/, count a module once */
    snprintf(src[mod], MX_SRCLEN, "%.*s", (int)(m[0].rm_eo - 6 - 11), s + 11);
    corr[mod] = iscorr;
  }
  regfree(&re);
  PetscCall(PetscFree(all));
  PetscFunctionReturn(0);
}

/* Read one module's INDEX and image shape from file ifile, appending entries. */
static PetscErrorCode ScanModule(MxRunIndex *idx, hid_t f, int ifile, Entry **ent, size_t *nent, size_t *cap)
{
  MxRunFile *rf = &idx->files[ifile];
  char       path[512], path2[512];
  hsize_t    ntid, nidx, nrows, dims[4];
  uint64_t  *tid, *first, *count;
  size_t     n;
  int        nd, major = 0, minor = 0;
  hid_t      d, sp;

  PetscFunctionBeginUser;
  sscanf(rf->version, "%d.%d", &major, &minor);
  /* image/data: shape tells raw (N,2,512,128) from corrected (N,512,128) */
  snprintf(path, sizeof path, "INSTRUMENT/%s/image/data", rf->src);
  PetscCheck(MxH5Exists(f, path), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is missing", rf->path, path);
  d = H5Dopen2(f, path, H5P_DEFAULT);
  MxH5Call(d, PETSC_COMM_SELF, "%s: cannot open %s", rf->path, path);
  sp = H5Dget_space(d);
  nd = H5Sget_simple_extent_ndims(sp);
  if (nd >= 1 && nd <= 4) H5Sget_simple_extent_dims(sp, dims, NULL);
  H5Sclose(sp);
  H5Dclose(d);
  if (nd == 3 && dims[1] == MX_NSS && dims[2] == MX_NFS) rf->raw = 0;
  else if (nd == 4 && dims[1] == 2 && dims[2] == MX_NSS && dims[3] == MX_NFS) rf->raw = 1;
  else SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has rank %d, shape not (N,512,128) or (N,2,512,128): not AGIPD-1M data (wrong detector?)", rf->path, path, nd);
  nrows = dims[0];

  PetscCall(MxH5Length(f, rf->path, "INDEX/trainId", &ntid));
  PetscCall(PetscMalloc1(ntid + 1, &tid));
  PetscCall(MxH5ReadU64(f, rf->path, "INDEX/trainId", 0, ntid, tid));
  n = MxIndexValidCount(tid, ntid);
  for (size_t i = n; i < ntid; i++)
    if (tid[i]) {
      PetscCall(MxRunIndexAnomaly(idx, "%s: INDEX/trainId has zeros before valid train IDs (row %zu); only the first %zu rows are used", rf->path, i, n));
      break;
    }
  PetscCall(PetscCalloc1(n + 1, &first));
  PetscCall(PetscCalloc1(n + 1, &count));
  snprintf(path, sizeof path, "INDEX/%s/image/first", rf->src);
  if (major >= 1) {
    snprintf(path2, sizeof path2, "INDEX/%s/image/count", rf->src);
    PetscCall(MxH5Length(f, rf->path, path, &nidx));
    PetscCheck(nidx >= n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has %llu entries for %zu trains", rf->path, path, (unsigned long long)nidx, n);
    PetscCall(MxH5Length(f, rf->path, path2, &nidx));
    PetscCheck(nidx >= n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has %llu entries for %zu trains", rf->path, path2, (unsigned long long)nidx, n);
    PetscCall(MxH5ReadU64(f, rf->path, path, 0, n, first));
    PetscCall(MxH5ReadU64(f, rf->path, path2, 0, n, count));
  } else { /* format 0.5: first, last, status */
    uint64_t *last, *status;
    PetscCall(PetscCalloc1(n + 1, &last));
    PetscCall(PetscCalloc1(n + 1, &status));
    PetscCall(MxH5ReadU64(f, rf->path, path, 0, n, first));
    snprintf(path2, sizeof path2, "INDEX/%s/image/last", rf->src);
    PetscCall(MxH5ReadU64(f, rf->path, path2, 0, n, last));
    snprintf(path2, sizeof path2, "INDEX/%s/image/status", rf->src);
    PetscCall(MxH5ReadU64(f, rf->path, path2, 0, n, status));
    for (size_t i = 0; i < n; i++) count[i] = status[i] ? last[i] - first[i] + 1 : 0;
    PetscCall(PetscFree(last));
    PetscCall(PetscFree(status));
  }
  /* INDEX/flag: 1 good (0 good in format 1.1 only); absent before 1.0 */
  int *flag;
  PetscCall(PetscMalloc1(n + 1, &flag));
  for (size_t i = 0; i < n; i++) flag[i] = 1;
  if (major >= 1 && n && MxH5Exists(f, "INDEX/flag")) {
    uint64_t *fl;
    hsize_t   nf;
    PetscCall(MxH5Length(f, rf->path, "INDEX/flag", &nf));
    if (nf >= n) {
      PetscCall(PetscMalloc1(n, &fl));
      PetscCall(MxH5ReadU64(f, rf->path, "INDEX/flag", 0, n, fl));
      for (size_t i = 0; i < n; i++) flag[i] = (major == 1 && minor == 1) ? (fl[i] == 0) : (fl[i] != 0);
      PetscCall(PetscFree(fl));
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (i && tid[i] <= tid[i - 1]) {
      PetscCall(MxRunIndexAnomaly(idx, "%s: INDEX/trainId not increasing at row %zu (train %llu after %llu); entry skipped", rf->path, i, (unsigned long long)tid[i], (unsigned long long)tid[i - 1]));
      continue;
    }
    if (count[i] && first[i] + count[i] > nrows)
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: train %llu needs rows %llu..%llu of INSTRUMENT/%s/image/data, which has %llu rows (file truncated?)", rf->path, (unsigned long long)tid[i], (unsigned long long)first[i], (unsigned long long)(first[i] + count[i] - 1), rf->src, (unsigned long long)nrows);
    PetscCheck(count[i] <= 100000, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: train %llu has an implausible frame count %llu in INDEX/%s/image/count", rf->path, (unsigned long long)tid[i], (unsigned long long)count[i], rf->src);
    if (*nent == *cap) {
      Entry *e;
      *cap = 2 * *cap + 1024;
      PetscCall(PetscMalloc1(*cap, &e));
      if (*nent) PetscCall(PetscArraycpy(e, *ent, *nent));
      PetscCall(PetscFree(*ent));
      *ent = e;
    }
    (*ent)[(*nent)++] = (Entry){rf->module, ifile, flag[i], (uint32_t)count[i], tid[i], first[i]};
  }
  PetscCall(PetscFree(flag));
  PetscCall(PetscFree(tid));
  PetscCall(PetscFree(first));
  PetscCall(PetscFree(count));
  PetscFunctionReturn(0);
}

PetscErrorCode MxRunIndexKeep(MxRunIndex *idx, const char *keep)
{
  PetscInt k = 0;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < idx->ntrains; i++) {
    if (!keep[i]) continue;
    idx->tid[k]  = idx->tid[i];
    idx->flag[k] = idx->flag[i];
    if (k != i) PetscCall(PetscArraycpy(idx->slot + k * MX_NMOD, idx->slot + i * MX_NMOD, MX_NMOD));
    k++;
  }
  idx->ntrains = k;
  PetscFunctionReturn(0);
}

/* A folder with no run files but one proc/r#### (or raw/r####) inside, as mxpcs simulate and
   the EuXFEL proposal layout have it, stands for that run. */
static void ResolveRunDir(const char dir[], char out[], size_t len)
{
  static const char *kinds[] = {"proc", "raw"};
  regex_t            re;
  DIR               *dp;
  struct dirent     *de;
  snprintf(out, len, "%s", dir);
  if (regcomp(&re, "^(RAW|CORR)-R[0-9]{4}-.+-S[0-9]{5}\\.h5$", REG_EXTENDED | REG_NOSUB)) return;
  if ((dp = opendir(dir))) {
    int has = 0;
    while ((de = readdir(dp)))
      if (!regexec(&re, de->d_name, 0, NULL, 0)) has = 1;
    closedir(dp);
    if (has) {
      regfree(&re);
      return;
    }
  }
  regfree(&re);
  for (int k = 0; k < 2; k++) {
    char sub[MX_PATHLEN + 8], found[2 * MX_PATHLEN] = "";
    int  n = 0;
    snprintf(sub, sizeof sub, "%.*s/%s", MX_PATHLEN - 1, dir, kinds[k]);
    if (!(dp = opendir(sub))) continue;
    while ((de = readdir(dp)))
      if (de->d_name[0] == 'r' && strlen(de->d_name) == 5 && strspn(de->d_name + 1, "0123456789") == 4) {
        n++;
        snprintf(found, sizeof found, "%s/%s", sub, de->d_name);
      }
    closedir(dp);
    if (n == 1 && strlen(found) < len) {
      memcpy(out, found, strlen(found) + 1);
      return;
    }
  }
}

/* METADATA/creationDate (YYYYMMDDThhmmssZ), proposalNumber and runNumber, as ISO 8601 and
   numbers; format 0.5 files have none of them: left empty / 0. */
static PetscErrorCode RunInfo(hid_t f, const char path[], MxRunInfo *info)
{
  char d[64] = "";

  PetscFunctionBeginUser;
  if (MxH5Exists(f, "METADATA/creationDate")) PetscCall(MxH5ReadString(f, path, "METADATA/creationDate", 0, d, sizeof d));
  if (strlen(d) >= 15 && d[8] == 'T') snprintf(info->created, sizeof info->created, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", d, d + 4, d + 6, d + 9, d + 11, d + 13);
  else info->created[0] = 0;
  if (MxH5Exists(f, "METADATA/proposalNumber")) {
    uint64_t v = 0;
    PetscCall(MxH5ReadU64(f, path, "METADATA/proposalNumber", 0, 1, &v));
    info->proposal = (unsigned)v;
  }
  if (MxH5Exists(f, "METADATA/runNumber")) {
    uint64_t v = 0;
    PetscCall(MxH5ReadU64(f, path, "METADATA/runNumber", 0, 1, &v));
    info->run = (unsigned)v;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxRunIndexScan(const char dir_in[], const MxScanOptions *opt, MxRunIndex *idx)
{
  char dir[MX_PATHLEN];
  DIR           *dp;
  struct dirent *de;
  regex_t        re;
  char         **names = NULL;
  size_t         nnames = 0, capn = 0, nent = 0, cap = 0;
  Entry         *ent = NULL;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(idx, sizeof *idx));
  ResolveRunDir(dir_in, dir, sizeof dir);
  snprintf(idx->dir, sizeof idx->dir, "%s", dir);
  dp = opendir(dir);
  PetscCheck(dp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "run directory %s: cannot open (missing or not a directory)", dir);
  PetscCheck(!regcomp(&re, "^(RAW|CORR)-R[0-9]{4}-.+-S[0-9]{5}\\.h5$", REG_EXTENDED | REG_NOSUB), PETSC_COMM_SELF, PETSC_ERR_LIB, "regcomp");
  while ((de = readdir(dp))) {
    if (regexec(&re, de->d_name, 0, NULL, 0)) continue;
    if (nnames == capn) {
      capn = 2 * capn + 64;
      names = realloc(names, capn * sizeof *names);
      PetscCheck(names, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
    }
    names[nnames++] = strdup(de->d_name);
  }
  closedir(dp);
  regfree(&re);
  PetscCheck(nnames, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "run directory %s: no EuXFEL run files (RAW-R####-*-S#####.h5 or CORR-R####-*-S#####.h5)", dir);
  qsort(names, nnames, sizeof *names, CmpName);

  PetscCall(PetscCalloc1(nnames * MX_NMOD, &idx->files));
  for (size_t i = 0; i < nnames; i++) {
    char       path[MX_PATHLEN], version[16] = "0.5", src[MX_NMOD][MX_SRCLEN];
    hid_t      f;
    int        found = 0;
    const char *sq = strrchr(names[i], 'S');
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    MxH5Call(f, PETSC_COMM_SELF, "%s: cannot open as HDF5 (truncated, corrupted or not HDF5)", path);
    if (MxH5Exists(f, "METADATA/dataFormatVersion")) PetscCall(MxH5ReadString(f, path, "METADATA/dataFormatVersion", 0, version, sizeof version));
    if (!idx->info.created[0]) PetscCall(RunInfo(f, path, &idx->info));
    PetscCall(FileSources(f, path, version, src));
    for (int m = 0; m < MX_NMOD; m++) {
      if (!src[m][0]) continue;
      MxRunFile *rf = &idx->files[idx->nfiles];
      snprintf(rf->path, sizeof rf->path, "%s", path);
      snprintf(rf->src, sizeof rf->src, "%.*s", MX_SRCLEN - 1, src[m]);
      snprintf(rf->version, sizeof rf->version, "%s", version);
      rf->module = m;
      rf->seq    = sq ? atoi(sq + 1) : 0;
      PetscCall(ScanModule(idx, f, idx->nfiles, &ent, &nent, &cap));
      if (idx->nfiles && rf->raw != idx->raw) {
        H5Fclose(f);
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s data in a run directory whose other files hold %s data", path, rf->raw ? "raw" : "corrected", idx->raw ? "raw" : "corrected");
      }
      idx->raw = rf->raw;
      idx->nfiles++;
      found = 1;
    }
    if (!found) idx->nother++;
    H5Fclose(f);
    free(names[i]);
  }
  free(names);
  PetscCheck(idx->nfiles, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "run directory %s: no AGIPD-1M module sources (.../DET/<m>CH0:xtdf or .../CORR/<m>CH0:output) in its files (wrong detector?)", dir);

  /* align modules by train ID: the detector's trains are the union over modules */
  qsort(ent, nent, sizeof *ent, CmpEntry);
  uint64_t *all;
  size_t    nall = 0;
  PetscCall(PetscMalloc1(nent + 1, &all));
  for (size_t i = 0; i < nent; i++) all[i] = ent[i].tid;
  qsort(all, nent, sizeof *all, CmpU64);
  for (size_t i = 0; i < nent; i++)
    if (!nall || all[i] != all[nall - 1]) all[nall++] = all[i];
  idx->ntrains = (PetscInt)nall;
  PetscCall(PetscMalloc1(nall + 1, &idx->tid));
  PetscCall(PetscMalloc1(nall + 1, &idx->flag));
  PetscCall(PetscMalloc1(nall * MX_NMOD + 1, &idx->slot));
  for (size_t i = 0; i < nall; i++) {
    idx->tid[i]  = all[i];
    idx->flag[i] = 1;
    for (int m = 0; m < MX_NMOD; m++) idx->slot[i * MX_NMOD + m] = (MxSlot){-1, 0, 0};
  }
  for (size_t i = 0, t = 0; i < nent; i++) {
    Entry *e = &ent[i];
    if (i && e->module == ent[i - 1].module && e->tid == ent[i - 1].tid) {
      PetscCall(MxRunIndexAnomaly(idx, "module %d: train %llu appears again in %s; the first occurrence (%s) is used", e->module, (unsigned long long)e->tid, idx->files[e->file].path, idx->files[ent[i - 1].file].path));
      continue;
    }
    uint64_t *p = bsearch(&e->tid, all, nall, sizeof *all, CmpU64);
    t           = (size_t)(p - all);
    idx->slot[t * MX_NMOD + e->module] = (MxSlot){e->file, e->count, e->first};
    if (!e->flag) idx->flag[t] = 0;
  }
  PetscCall(PetscFree(all));
  PetscCall(PetscFree(ent));

  /* frames per train: equal over the modules with data; the run's count is the most common */
  char    *keep;
  PetscInt nhist = 0, best = 0, *hist_n, *hist_c;
  PetscCall(PetscMalloc1(idx->ntrains + 1, &keep));
  PetscCall(PetscCalloc1(idx->ntrains + 1, &hist_n));
  PetscCall(PetscCalloc1(idx->ntrains + 1, &hist_c));
  for (PetscInt t = 0; t < idx->ntrains; t++) {
    uint32_t F = 0;
    int      mF = -1;
    keep[t]     = 1;
    for (int m = 0; m < MX_NMOD; m++) {
      MxSlot *s = &idx->slot[t * MX_NMOD + m];
      if (!s->count) continue;
      if (!F) {
        F  = s->count;
        mF = m;
      } else if (s->count != F) {
        if (!opt->skip_inconsistent) {
          PetscCall(PetscFree(keep));
          PetscCall(PetscFree(hist_n));
          PetscCall(PetscFree(hist_c));
          SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "train %llu: module %d has %u frames (%s) but module %d has %u (%s); frames per train must agree (-strict or -reader_skip_inconsistent 0 makes this an error; by default such trains are dropped)", (unsigned long long)idx->tid[t], m, s->count, idx->files[s->file].path, mF, F, idx->files[idx->slot[t * MX_NMOD + mF].file].path);
        }
        PetscCall(MxRunIndexAnomaly(idx, "train %llu: modules disagree on frames per train (%d: %u, %d: %u); train dropped", (unsigned long long)idx->tid[t], mF, F, m, s->count));
        keep[t] = 0;
        break;
      }
    }
    if (!F) {
      PetscCall(MxRunIndexAnomaly(idx, "train %llu: no module has frames; train dropped", (unsigned long long)idx->tid[t]));
      keep[t] = 0;
    }
    if (!keep[t]) continue;
    PetscInt h;
    for (h = 0; h < nhist && hist_n[h] != (PetscInt)F; h++) {}
    if (h == nhist) hist_n[nhist++] = F;
    hist_c[h]++;
  }
  for (PetscInt h = 0; h < nhist; h++)
    if (hist_c[h] > hist_c[best]) best = h;
  idx->frames = nhist ? (int)hist_n[best] : 0;
  for (PetscInt t = 0; t < idx->ntrains; t++) {
    if (!keep[t]) continue;
    for (int m = 0; m < MX_NMOD; m++) {
      MxSlot *s = &idx->slot[t * MX_NMOD + m];
      if (s->count && (int)s->count != idx->frames) {
        PetscCall(MxRunIndexAnomaly(idx, "train %llu: %u frames per train, the run has %d; train dropped", (unsigned long long)idx->tid[t], s->count, idx->frames));
        keep[t] = 0;
        break;
      }
    }
    if (keep[t] && !idx->flag[t] && opt->skip_suspect) {
      PetscCall(MxRunIndexAnomaly(idx, "train %llu: flagged suspect in INDEX/flag; dropped (-reader_skip_suspect)", (unsigned long long)idx->tid[t]));
      keep[t] = 0;
    }
  }
  for (PetscInt t = 0; t < idx->ntrains; t++) idx->ndropped += !keep[t];
  PetscCall(MxRunIndexKeep(idx, keep));
  PetscCall(PetscFree(keep));
  PetscCall(PetscFree(hist_n));
  PetscCall(PetscFree(hist_c));
  PetscCheck(idx->ntrains > 0 && idx->frames > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "run directory %s: no frames in any train (%d module files, %d trains dropped)", dir, idx->nfiles, idx->ndropped);

  /* modules with files but without data in some trains: say which and how */
  for (int m = 0; m < MX_NMOD; m++) {
    int has = 0, shown = 0, more = 0;
    for (int i = 0; i < idx->nfiles; i++) has |= idx->files[i].module == m;
    if (!has) continue;
    for (PetscInt t = 0; t < idx->ntrains; t++) {
      MxSlot *s = &idx->slot[t * MX_NMOD + m];
      if (s->count) continue;
      if (shown++ < 20) PetscCall(MxRunIndexAnomaly(idx, "module %d: no data for train %llu (%s)", m, (unsigned long long)idx->tid[t], s->file < 0 ? "absent from INDEX/trainId" : "INDEX count is 0"));
      else more++;
    }
    if (more) PetscCall(MxRunIndexAnomaly(idx, "module %d: no data for %d more trains", m, more));
  }
  if (opt->strict && idx->anom_len) {
    size_t n = 0;
    for (size_t i = 0; i < idx->anom_len; i++) n += idx->anom[i] == '\n';
    char *nl = strchr(idx->anom, '\n');
    if (nl) *nl = 0;
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "run %s: %s (-strict: %zu anomal%s; without -strict they are skipped, counted and reported)", dir, idx->anom, n, n == 1 ? "y" : "ies");
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxRunIndexBcast(MPI_Comm comm, MxRunIndex *idx)
{
  PetscMPIInt rank;
  long long   hdr[8];

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  if (!rank) {
    hdr[0] = idx->nfiles;
    hdr[1] = idx->nother;
    hdr[2] = idx->ntrains;
    hdr[3] = idx->frames;
    hdr[4] = idx->raw;
    hdr[5] = (long long)idx->anom_len;
    hdr[6] = idx->nanom;
    hdr[7] = idx->ndropped;
  }
  PetscCallMPI(MPI_Bcast(hdr, 8, MPI_LONG_LONG, 0, comm));
  if (rank) {
    PetscCall(PetscMemzero(idx, sizeof *idx));
    idx->nfiles   = (int)hdr[0];
    idx->nother   = (int)hdr[1];
    idx->ntrains  = (PetscInt)hdr[2];
    idx->frames   = (int)hdr[3];
    idx->raw      = (int)hdr[4];
    idx->anom_len = (size_t)hdr[5];
    idx->anom_cap = idx->anom_len + 1;
    idx->nanom    = (int)hdr[6];
    idx->ndropped = (int)hdr[7];
    PetscCall(PetscCalloc1(idx->nfiles + 1, &idx->files));
    PetscCall(PetscMalloc1(idx->ntrains + 1, &idx->tid));
    PetscCall(PetscMalloc1(idx->ntrains + 1, &idx->flag));
    PetscCall(PetscMalloc1(idx->ntrains * MX_NMOD + 1, &idx->slot));
    PetscCall(PetscCalloc1(idx->anom_cap, &idx->anom));
  }
  PetscCallMPI(MPI_Bcast(idx->dir, MX_PATHLEN, MPI_CHAR, 0, comm));
  PetscCallMPI(MPI_Bcast(&idx->info, (int)sizeof idx->info, MPI_BYTE, 0, comm));
  PetscCallMPI(MPI_Bcast(idx->files, (int)(idx->nfiles * sizeof(MxRunFile)), MPI_BYTE, 0, comm));
  PetscCallMPI(MPI_Bcast(idx->tid, (int)idx->ntrains, MPI_UINT64_T, 0, comm));
  PetscCallMPI(MPI_Bcast(idx->flag, (int)idx->ntrains, MPI_INT, 0, comm));
  PetscCallMPI(MPI_Bcast(idx->slot, (int)(idx->ntrains * MX_NMOD * sizeof(MxSlot)), MPI_BYTE, 0, comm));
  if (idx->anom_len) PetscCallMPI(MPI_Bcast(idx->anom, (int)idx->anom_len + 1, MPI_CHAR, 0, comm));
  PetscFunctionReturn(0);
}

PetscErrorCode MxRunIndexFree(MxRunIndex *idx)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(idx->files));
  PetscCall(PetscFree(idx->tid));
  PetscCall(PetscFree(idx->flag));
  PetscCall(PetscFree(idx->slot));
  PetscCall(PetscFree(idx->anom));
  PetscCall(PetscMemzero(idx, sizeof *idx));
  PetscFunctionReturn(0);
}
