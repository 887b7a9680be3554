/* MxReaderView: what `mxpcs info` prints, in the spirit of lsxfel / extra-data-validate. */
#include "readerimpl.h"

static void FmtList(char *buf, size_t len, const uint64_t *v, PetscInt n)
{
  size_t l = 0;
  buf[0]   = 0;
  for (PetscInt i = 0; i < n && l + 24 < len; i++) l += (size_t)snprintf(buf + l, len - l, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
  if (n && l + 24 >= len) snprintf(buf + l, len - l, ",...");
}

PetscErrorCode MxReaderView(MxReader r, PetscViewer v)
{
  MxRunIndex *idx = &r->idx;
  char        buf[4096];
  int         nfiles[MX_NMOD] = {0}, ntr[MX_NMOD] = {0};
  PetscInt    ngaps = 0, missing = 0;

  PetscFunctionBeginUser;
  PetscCheck(r->setup, r->comm, PETSC_ERR_ARG_WRONGSTATE, "MxReaderSetUp() first");
  for (int i = 0; i < idx->nfiles; i++) nfiles[idx->files[i].module]++;
  for (PetscInt t = 0; t < idx->ntrains; t++)
    for (int m = 0; m < MX_NMOD; m++) ntr[m] += idx->slot[t * MX_NMOD + m].count > 0;
  PetscCall(PetscViewerASCIIPrintf(v, "Run directory: %s\n", idx->dir));
  PetscCall(PetscViewerASCIIPrintf(v, "  data: %s AGIPD-1M, format %s, %d module files, %d other files\n", idx->raw ? "raw (analogue plane of uint16)" : "corrected (float32)", idx->files[0].version, idx->nfiles, idx->nother));
  PetscCall(PetscViewerASCIIPrintf(v, "  source example: %s\n", idx->files[0].src));
  PetscCall(PetscViewerASCIIPrintf(v, "  modules: %" PetscInt_FMT " selected:", r->nmodules));
  for (PetscInt i = 0; i < r->nmodules; i++) PetscCall(PetscViewerASCIIPrintf(v, " %" PetscInt_FMT, r->modules[i]));
  PetscCall(PetscViewerASCIIPrintf(v, "\n  module  files  trains-with-data\n"));
  for (int m = 0; m < MX_NMOD; m++) {
    if (!nfiles[m]) {
      PetscCall(PetscViewerASCIIPrintf(v, "  %6d  %5d  -  (no files: module missing)\n", m, 0));
      continue;
    }
    PetscCall(PetscViewerASCIIPrintf(v, "  %6d  %5d  %" PetscInt_FMT "/%" PetscInt_FMT "%s\n", m, nfiles[m], (PetscInt)ntr[m], idx->ntrains, ntr[m] < idx->ntrains ? "  (missing in some trains)" : ""));
  }
  PetscCall(PetscViewerASCIIPrintf(v, "  sequence files per module:\n"));
  for (int m = 0; m < MX_NMOD; m++) {
    size_t l = 0;
    buf[0]   = 0;
    for (int i = 0; i < idx->nfiles && l + 64 < sizeof buf; i++) {
      if (idx->files[i].module != m) continue;
      const char *base = strrchr(idx->files[i].path, '/');
      l += (size_t)snprintf(buf + l, sizeof buf - l, "%s%s", l ? " " : "", base ? base + 1 : idx->files[i].path);
    }
    if (l) PetscCall(PetscViewerASCIIPrintf(v, "    %2d: %s\n", m, buf));
  }
  for (PetscInt t = 1; t < idx->ntrains; t++) ngaps += idx->tid[t] != idx->tid[t - 1] + 1;
  for (PetscInt t = 1; t < idx->ntrains; t++) missing += (PetscInt)(idx->tid[t] - idx->tid[t - 1] - 1);
  PetscCall(PetscViewerASCIIPrintf(v, "  trains: %" PetscInt_FMT " (first %llu, last %llu), %" PetscInt_FMT " gaps (%" PetscInt_FMT " train IDs missing), %d dropped\n", idx->ntrains, (unsigned long long)idx->tid[0], (unsigned long long)idx->tid[idx->ntrains - 1], ngaps, missing, idx->ndropped));
  for (PetscInt t = 1, shown = 0; t < idx->ntrains && shown < 20; t++)
    if (idx->tid[t] != idx->tid[t - 1] + 1) {
      PetscCall(PetscViewerASCIIPrintf(v, "    gap: %llu .. %llu\n", (unsigned long long)idx->tid[t - 1] + 1, (unsigned long long)idx->tid[t] - 1));
      shown++;
    }
  PetscCall(PetscViewerASCIIPrintf(v, "  frames per train: %d stored, %" PetscInt_FMT " selected\n", idx->frames, r->nsel));
  FmtList(buf, sizeof buf, r->pulse_ids, r->nsel);
  PetscCall(PetscViewerASCIIPrintf(v, "  pulseId: %s\n", buf));
  FmtList(buf, sizeof buf, r->cell_ids, r->nsel);
  PetscCall(PetscViewerASCIIPrintf(v, "  cellId:  %s\n", buf));
  PetscCall(PetscViewerASCIIPrintf(v, "  anomalies: %d\n", idx->nanom));
  if (idx->nanom) {
    const char *p = idx->anom;
    while (p && *p) {
      const char *e = strchr(p, '\n');
      int         n = e ? (int)(e - p) : (int)strlen(p);
      PetscCall(PetscViewerASCIIPrintf(v, "    - %.*s\n", n, p));
      p = e ? e + 1 : NULL;
    }
  }
  PetscFunctionReturn(0);
}
