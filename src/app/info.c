/* mxpcs info: what is in a run, and (-info_dump) per-train, per-module checksums of every
   frame read through the rank grid, for the cross-check against EuXFEL's extra_data. */
#include "app.h"
#include <mxpcs/reader.h>

/* position weight that makes the checksum sensitive to pixel order */
static inline double PixelWeight(int ss, int fs) { return (double)((ss * MX_NFS + fs) % 1013 + 1); }

static PetscErrorCode InfoDump(MPI_Comm comm, MxReader r, const char path[])
{
  PetscInt        ntr, nf, t0, t1, ipart, nparts, nmod;
  const uint64_t *tids;
  const PetscInt *mods;
  double         *w, *acc, *tot = NULL;
  uint64_t       *ids, *allids = NULL;
  MxRowRange     *ranges;
  int             nr;
  size_t          npix = 0;
  float          *data;
  unsigned char  *bad;
  PetscMPIInt     rank;
  PetscErrorCode  ierr = 0;

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  PetscCall(MxReaderGetTrains(r, &ntr, &tids));
  PetscCall(MxReaderGetFrames(r, &nf, NULL, NULL));
  PetscCall(MxReaderGetLocalTrains(r, &t0, &t1));
  PetscCall(MxReaderGetPixelPart(r, &ipart, &nparts));
  PetscCall(MxReaderGetModules(r, &nmod, &mods));
  PetscCall(PetscCalloc1(MX_NMOD * MX_NSS, &w));
  for (PetscInt i = 0; i < nmod; i++)
    for (int ss = 0; ss < MX_NSS; ss++) w[mods[i] * MX_NSS + ss] = 1;
  PetscCall(PetscMalloc1(MX_NMOD * MX_NSS / 2 + 1, &ranges));
  MxPartitionRows(w, 1, (int)nparts, (int)ipart, ranges, &nr);
  for (int k = 0; k < nr; k++) npix += (size_t)(ranges[k].ss1 - ranges[k].ss0) * MX_NFS;
  /* per (train, module, frame): sum of good values, position-weighted sum, bad count */
  size_t nacc = (size_t)ntr * MX_NMOD * nf * 3;
  PetscCall(PetscCalloc1(nacc, &acc));
  PetscCall(PetscCalloc1((size_t)ntr * nf * 2, &ids));
  PetscCall(PetscMalloc2(nf * npix + 1, &data, nf * npix + 1, &bad));
  for (PetscInt t = t0; t < t1 && !ierr; t++) {
    ierr = MxReaderRead(r, t, nr, ranges, data, bad);
    if (!ierr && ipart == 0) ierr = MxReaderReadTrainIds(r, t, ids + t * nf * 2, ids + t * nf * 2 + nf);
    for (PetscInt f = 0; f < nf && !ierr; f++) {
      size_t off = 0;
      for (int k = 0; k < nr; k++) {
        double *a = acc + ((size_t)(t * MX_NMOD + ranges[k].module) * nf + f) * 3;
        for (int ss = ranges[k].ss0; ss < ranges[k].ss1; ss++)
          for (int fs = 0; fs < MX_NFS; fs++, off++) {
            double v = data[f * npix + off];
            a[0] += v;
            a[1] += v * PixelWeight(ss, fs);
            a[2] += bad[f * npix + off];
          }
      }
    }
  }
  PetscCall(MxErrorSync(comm, ierr));
  if (!rank) PetscCall(PetscMalloc2(nacc, &tot, (size_t)ntr * nf * 2, &allids));
  PetscCallMPI(MPI_Reduce(acc, tot, (int)nacc, MPI_DOUBLE, MPI_SUM, 0, comm));
  PetscCallMPI(MPI_Reduce(ids, allids, (int)(ntr * nf * 2), MPI_UINT64_T, MPI_SUM, 0, comm));
  if (!rank) {
    char  tmp[PETSC_MAX_PATH_LEN];
    FILE *fp;
    PetscCall(MxOutputTempName(path, tmp, sizeof tmp));
    fp = fopen(tmp, "w");
    if (!fp) ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_OPEN, PETSC_ERROR_INITIAL, "option -info_dump: cannot write %s", tmp);
    for (PetscInt t = 0; fp && t < ntr; t++) {
      PetscInt bits;
      PetscCall(MxReaderGetTrainModules(r, t, &bits));
      fprintf(fp, "train %llu frames %" PetscInt_FMT " modules", (unsigned long long)tids[t], nf);
      for (int m = 0; m < MX_NMOD; m++)
        if (bits >> m & 1) fprintf(fp, " %d", m);
      fprintf(fp, "\npulseId");
      for (PetscInt f = 0; f < nf; f++) fprintf(fp, " %llu", (unsigned long long)allids[t * nf * 2 + f]);
      fprintf(fp, "\ncellId");
      for (PetscInt f = 0; f < nf; f++) fprintf(fp, " %llu", (unsigned long long)allids[t * nf * 2 + nf + f]);
      fprintf(fp, "\n");
      for (PetscInt i = 0; i < nmod; i++)
        for (PetscInt f = 0; f < nf; f++) {
          const double *a = tot + ((size_t)(t * MX_NMOD + mods[i]) * nf + f) * 3;
          fprintf(fp, "m %" PetscInt_FMT " f %" PetscInt_FMT " %.17g %.17g %.0f\n", mods[i], f, a[0], a[1], a[2]);
        }
    }
    if (fp && fclose(fp)) ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_WRITE, PETSC_ERROR_INITIAL, "option -info_dump: writing %s failed", tmp);
    PetscCall(PetscFree2(tot, allids));
  }
  PetscCall(MxErrorSync(comm, ierr));
  PetscCall(MxOutputCommit(comm, path));
  PetscCall(PetscFree(w));
  PetscCall(PetscFree(ranges));
  PetscCall(PetscFree(acc));
  PetscCall(PetscFree(ids));
  PetscCall(PetscFree2(data, bad));
  PetscFunctionReturn(0);
}

PetscErrorCode MxAppInfo(MPI_Comm comm)
{
  MxReader  r;
  char      dump[PETSC_MAX_PATH_LEN] = "";
  PetscBool quiet = PETSC_FALSE, help;

  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "mxpcs info: what is in a run", "mxpcs");
  PetscCall(PetscOptionsString("-info_dump", "Write per-train, per-module, per-frame checksums read through the rank grid to this file", "", dump, dump, sizeof dump, NULL));
  PetscCall(PetscOptionsBool("-info_quiet", "Do not print the run summary", "", quiet, &quiet, NULL));
  PetscOptionsEnd();
  PetscCall(MxReaderCreate(comm, &r));
  if (!quiet) PetscCall(MxReaderSetView(r, PETSC_VIEWER_STDOUT_(comm))); /* the summary, unless -reader_view sends it elsewhere */
  PetscCall(MxReaderSetFromOptions(r));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    PetscCall(MxReaderDestroy(&r));
    PetscFunctionReturn(0);
  }
  PetscCall(MxAppCheckOptions(comm, "info"));
  PetscCall(MxReaderSetUp(r));
  if (dump[0]) {
    PetscCall(InfoDump(comm, r, dump));
    PetscCall(MxReaderViewReadStats(r, comm, 0));
  }
  PetscCall(MxReaderDestroy(&r));
  PetscFunctionReturn(0);
}
