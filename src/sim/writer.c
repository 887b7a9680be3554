/* Write the simulated run in the EuXFEL corrected layout (euxfel-format.md 1.2-1.5, format
   1.2, modern /CORR/ source names with the legacy /DET/ names as soft links), every file
   created collectively and written in parallel (MPI-IO); and DIR/truth.h5. */
#include "simimpl.h"
#include <errno.h>
#include <sys/stat.h>
#include <time.h>

typedef struct {
  hid_t     f, data, mask, gain;
  PetscInt  t0, t1;  /* trains [t0,t1) of the run go to this file (missing ones skipped) */
  PetscInt  nrows;   /* frames in the file */
  uint64_t *first;   /* row of each of those trains, or UINT64_MAX when missing */
} SimFile;

static PetscBool TrainMissing(const MxSimParams *p, PetscInt t)
{
  for (PetscInt i = 0; i < p->nmissing; i++)
    if (p->missing_trains[i] == t) return PETSC_TRUE;
  return PETSC_FALSE;
}

PetscErrorCode MxSimWriteStrings(MPI_Comm comm, hid_t f, const char path[], int n, char (*s)[128])
{
  hid_t   t = H5Tcopy(H5T_C_S1);
  hsize_t dims[1] = {(hsize_t)n};

  PetscFunctionBeginUser;
  H5Tset_size(t, 128);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  PetscCall(MxH5WriteArray(comm, f, path, t, 1, dims, s, NULL));
  H5Tclose(t);
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteU64(MPI_Comm comm, hid_t f, const char path[], PetscInt n, const uint64_t *v, int two_d)
{
  hsize_t dims[2] = {(hsize_t)n, 1};

  PetscFunctionBeginUser;
  PetscCall(MxH5WriteArray(comm, f, path, H5T_NATIVE_UINT64, two_d ? 2 : 1, dims, v, NULL));
  PetscFunctionReturn(0);
}

/* A (n,512,128) frame dataset, one chunk per frame; deflate > 0 compresses it (shuffled), which
   parallel HDF5 writes only collectively (WriteFlags). */
static hid_t CreateFrames(hid_t f, const char path[], hid_t type, hsize_t n, int deflate)
{
  hsize_t dims[3] = {n, MX_NSS, MX_NFS}, chunk[3] = {1, MX_NSS, MX_NFS};
  hid_t   dcpl = H5Pcreate(H5P_DATASET_CREATE), lcpl = H5Pcreate(H5P_LINK_CREATE), sp, d;
  H5Pset_chunk(dcpl, 3, chunk);
  if (deflate > 0) {
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, (unsigned)deflate);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  }
  H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
  H5Pset_create_intermediate_group(lcpl, 1);
  sp = H5Screate_simple(3, dims, NULL);
  d  = H5Dcreate2(f, path, type, sp, lcpl, dcpl, H5P_DEFAULT);
  H5Sclose(sp);
  H5Pclose(dcpl);
  H5Pclose(lcpl);
  return d;
}

/* One module/sequence file with everything but the frame data. Collective. */
static PetscErrorCode CreateFile(MxSim s, const char path[], int module, int seq, SimFile *sf)
{
  MxSimParams *p = &s->p;
  char         src[128], legacy[128], buf[512];
  PetscInt     n = 0, nrows = 0;
  uint64_t    *tid, *first, *count, *fl, *ts, *orig, *ftid, *fpid, *fcid, *len, *stat;
  hid_t        fapl = H5Pcreate(H5P_FILE_ACCESS);

  PetscFunctionBeginUser;
  H5Pset_fapl_mpio(fapl, s->comm, MPI_INFO_NULL);
  sf->f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  MxH5Call(sf->f, s->comm, "%s: cannot create the run file", path);
  snprintf(src, sizeof src, "MID_DET_AGIPD1M-1/CORR/%dCH0:output", module);
  snprintf(legacy, sizeof legacy, "MID_DET_AGIPD1M-1/DET/%dCH0:xtdf", module);
  PetscInt ntr = sf->t1 - sf->t0;
  PetscCall(PetscMalloc1(ntr, &sf->first));
  PetscCall(PetscCalloc6(ntr, &tid, ntr, &first, ntr, &count, ntr, &fl, ntr, &ts, ntr, &orig));
  for (PetscInt t = sf->t0; t < sf->t1; t++) {
    if (TrainMissing(p, t)) {
      sf->first[t - sf->t0] = UINT64_MAX;
      continue;
    }
    sf->first[t - sf->t0] = (uint64_t)nrows;
    tid[n]                = s->train_ids[t];
    first[n]              = (uint64_t)nrows;
    count[n]              = (uint64_t)p->npulses;
    fl[n]                 = 1;
    ts[n]                 = 1700000000000000000ULL + (s->train_ids[t] - s->train_ids[0]) * 100000000ULL;
    orig[n]               = (uint64_t)-1;
    nrows += p->npulses;
    n++;
  }
  PetscCall(WriteU64(s->comm, sf->f, "INDEX/trainId", n, tid, 0));
  {
    hsize_t dims[1] = {(hsize_t)n};
    int32_t *i32;
    PetscCall(PetscMalloc1(n + 1, &i32));
    for (PetscInt i = 0; i < n; i++) i32[i] = 1;
    PetscCall(MxH5WriteArray(s->comm, sf->f, "INDEX/flag", H5T_NATIVE_INT32, 1, dims, i32, NULL));
    for (PetscInt i = 0; i < n; i++) i32[i] = -1;
    PetscCall(MxH5WriteArray(s->comm, sf->f, "INDEX/origin", H5T_NATIVE_INT32, 1, dims, i32, NULL));
    PetscCall(PetscFree(i32));
  }
  PetscCall(WriteU64(s->comm, sf->f, "INDEX/timestamp", n, ts, 0));
  snprintf(buf, sizeof buf, "INDEX/%s/image/first", src);
  PetscCall(WriteU64(s->comm, sf->f, buf, n, first, 0));
  snprintf(buf, sizeof buf, "INDEX/%s/image/count", src);
  PetscCall(WriteU64(s->comm, sf->f, buf, n, count, 0));
  /* per-frame identifiers */
  PetscCall(PetscMalloc5(nrows + 1, &ftid, nrows + 1, &fpid, nrows + 1, &fcid, nrows + 1, &len, nrows + 1, &stat));
  for (PetscInt i = 0, r = 0; i < n; i++)
    for (PetscInt f = 0; f < p->npulses; f++, r++) {
      ftid[r] = tid[i];
      fpid[r] = (uint64_t)(f * p->pulse_step);
      fcid[r] = (uint64_t)(f + 1);
      len[r]  = MX_MODPIX * 4;
      stat[r] = 0;
    }
  snprintf(buf, sizeof buf, "INSTRUMENT/%s/image/trainId", src);
  PetscCall(WriteU64(s->comm, sf->f, buf, nrows, ftid, 0));
  snprintf(buf, sizeof buf, "INSTRUMENT/%s/image/pulseId", src);
  PetscCall(WriteU64(s->comm, sf->f, buf, nrows, fpid, 0));
  {
    hsize_t   d1[1] = {(hsize_t)nrows}, d2[2] = {(hsize_t)nrows, 1};
    uint16_t *u16;
    uint32_t *u32;
    PetscCall(PetscMalloc2(nrows + 1, &u16, nrows + 1, &u32));
    for (PetscInt r = 0; r < nrows; r++) {
      u16[r] = (uint16_t)fcid[r];
      u32[r] = (uint32_t)len[r];
    }
    snprintf(buf, sizeof buf, "INSTRUMENT/%s/image/cellId", src);
    PetscCall(MxH5WriteArray(s->comm, sf->f, buf, H5T_NATIVE_UINT16, 1, d1, u16, NULL));
    snprintf(buf, sizeof buf, "INSTRUMENT/%s/image/length", src);
    PetscCall(MxH5WriteArray(s->comm, sf->f, buf, H5T_NATIVE_UINT32, 2, d2, u32, NULL));
    for (PetscInt r = 0; r < nrows; r++) u16[r] = 0;
    snprintf(buf, sizeof buf, "INSTRUMENT/%s/image/status", src);
    PetscCall(MxH5WriteArray(s->comm, sf->f, buf, H5T_NATIVE_UINT16, 2, d2, u16, NULL));
    PetscCall(PetscFree2(u16, u32));
  }
  PetscCall(PetscFree5(ftid, fpid, fcid, len, stat));
  snprintf(buf, sizeof buf, "INSTRUMENT/%s/image/data", src);
  sf->data = CreateFrames(sf->f, buf, H5T_NATIVE_FLOAT, (hsize_t)nrows, 0);
  snprintf(buf, sizeof buf, "INSTRUMENT/%s/image/mask", src);
  sf->mask = CreateFrames(sf->f, buf, H5T_NATIVE_UINT32, (hsize_t)nrows, (int)p->compress);
  snprintf(buf, sizeof buf, "INSTRUMENT/%s/image/gain", src);
  /* agipd: the gain stage changes from frame to frame, written with the frames: plain (parallel
     HDF5 writes filtered datasets only collectively) */
  sf->gain = CreateFrames(sf->f, buf, H5T_NATIVE_UINT8, (hsize_t)nrows, p->agipd ? 0 : (int)p->compress);
  sf->nrows = nrows;
  PetscCheck(sf->data >= 0 && sf->mask >= 0 && sf->gain >= 0, s->comm, PETSC_ERR_FILE_WRITE, "%s: cannot create the image datasets", path);
  /* legacy source names as soft links, as the calibration pipeline writes them */
  snprintf(buf, sizeof buf, "/INSTRUMENT/%s", src);
  {
    char  l2[256];
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    snprintf(l2, sizeof l2, "INSTRUMENT/%s", legacy);
    MxH5Call(H5Lcreate_soft(buf, sf->f, l2, lcpl, H5P_DEFAULT), s->comm, "%s: cannot link %s", path, l2);
    snprintf(buf, sizeof buf, "/INDEX/%s", src);
    snprintf(l2, sizeof l2, "INDEX/%s", legacy);
    MxH5Call(H5Lcreate_soft(buf, sf->f, l2, lcpl, H5P_DEFAULT), s->comm, "%s: cannot link %s", path, l2);
    H5Pclose(lcpl);
  }
  /* METADATA (format 1.2) */
  {
    char     ids[2][128], roots[2][128], devs[2][128], one[1][128];
    uint32_t u;
    hsize_t  d1[1] = {1};
    snprintf(ids[0], 128, "INSTRUMENT/%s/image", src);
    snprintf(ids[1], 128, "INSTRUMENT/%s/image", legacy);
    for (int i = 0; i < 2; i++) {
      snprintf(roots[i], 128, "INSTRUMENT");
      snprintf(devs[i], 128, "%s", ids[i] + strlen("INSTRUMENT/"));
    }
    PetscCall(MxSimWriteStrings(s->comm, sf->f, "METADATA/dataSources/dataSourceId", 2, ids));
    PetscCall(MxSimWriteStrings(s->comm, sf->f, "METADATA/dataSources/root", 2, roots));
    PetscCall(MxSimWriteStrings(s->comm, sf->f, "METADATA/dataSources/deviceId", 2, devs));
    snprintf(one[0], 128, "1.2");
    PetscCall(MxSimWriteStrings(s->comm, sf->f, "METADATA/dataFormatVersion", 1, one));
    snprintf(one[0], 128, "20261124T000000Z");
    PetscCall(MxSimWriteStrings(s->comm, sf->f, "METADATA/creationDate", 1, one));
    PetscCall(MxSimWriteStrings(s->comm, sf->f, "METADATA/updateDate", 1, one));
    snprintf(one[0], 128, "mxpcs simulate %s", MxVersion());
    PetscCall(MxSimWriteStrings(s->comm, sf->f, "METADATA/daqLibrary", 1, one));
    PetscCall(MxSimWriteStrings(s->comm, sf->f, "METADATA/karaboFramework", 1, one));
    snprintf(one[0], 128, "mxpcs simulate, preset %s", p->preset);
    PetscCall(MxSimWriteStrings(s->comm, sf->f, "METADATA/runType", 1, one));
    snprintf(one[0], 128, "synthetic: R=%g A, pd=%g, phi=%g", (double)p->radius_A, (double)p->pd, (double)p->phi);
    PetscCall(MxSimWriteStrings(s->comm, sf->f, "METADATA/sample", 1, one));
    u = (uint32_t)p->proposal;
    PetscCall(MxH5WriteArray(s->comm, sf->f, "METADATA/proposalNumber", H5T_NATIVE_UINT32, 1, d1, &u, NULL));
    u = (uint32_t)p->run;
    PetscCall(MxH5WriteArray(s->comm, sf->f, "METADATA/runNumber", H5T_NATIVE_UINT32, 1, d1, &u, NULL));
    u = (uint32_t)seq;
    PetscCall(MxH5WriteArray(s->comm, sf->f, "METADATA/sequenceNumber", H5T_NATIVE_UINT32, 1, d1, &u, NULL));
  }
  PetscCall(PetscFree6(tid, first, count, fl, ts, orig));
  PetscFunctionReturn(0);
}

/* Rows [row, row+n) of a (N,512,128) dataset from buf, written independently by this rank. */
static PetscErrorCode WriteRows(hid_t d, hid_t type, uint64_t row, PetscInt n, const void *buf)
{
  hsize_t off[3] = {row, 0, 0}, cnt[3] = {(hsize_t)n, MX_NSS, MX_NFS};
  hid_t   fs = H5Dget_space(d), ms = H5Screate_simple(3, cnt, NULL);
  herr_t  e;

  PetscFunctionBeginUser;
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL);
  e = H5Dwrite(d, type, ms, fs, H5P_DEFAULT, buf);
  H5Sclose(ms);
  H5Sclose(fs);
  MxH5Call(e, PETSC_COMM_SELF, "writing %lld frames at row %llu failed (disk full?)", (long long)n, (unsigned long long)row);
  PetscFunctionReturn(0);
}

/* The mask and gain of a module are the same in every frame: with -sim_compress they are written
   here, before the trains, collectively (as parallel HDF5 requires for filtered datasets) in
   rounds of blocks of frames, block b by rank b mod size; a rank without a block in a round
   takes part with an empty selection. */
#define MX_FLAG_BLOCK 16
static PetscErrorCode WriteFlags(MxSim s, const MxSimModule *m, SimFile *sf)
{
  PetscMPIInt rank, size;
  PetscInt    nb = (sf->nrows + MX_FLAG_BLOCK - 1) / MX_FLAG_BLOCK, nrounds;
  uint32_t   *mask;
  uint8_t    *gain;
  hid_t       dxpl = H5Pcreate(H5P_DATASET_XFER);
  herr_t      e    = 0;

  PetscFunctionBeginUser;
  MPI_Comm_rank(s->comm, &rank);
  MPI_Comm_size(s->comm, &size);
  nrounds = (nb + size - 1) / size;
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  PetscCall(PetscMalloc2((size_t)MX_FLAG_BLOCK * MX_MODPIX, &mask, (size_t)MX_FLAG_BLOCK * MX_MODPIX, &gain));
  for (PetscInt n = 0; n < MX_FLAG_BLOCK; n++)
    for (PetscInt i = 0; i < MX_MODPIX; i++) {
      mask[n * MX_MODPIX + i] = m->mask[i];
      gain[n * MX_MODPIX + i] = m->hot[i] ? 1 : 0;
    }
  for (PetscInt r = 0; r < nrounds; r++) {
    PetscInt b = r * size + rank, row = b * MX_FLAG_BLOCK, n = b < nb ? PetscMin(MX_FLAG_BLOCK, sf->nrows - row) : 0;
    hsize_t  off[3] = {(hsize_t)row, 0, 0}, cnt[3] = {(hsize_t)PetscMax(n, 1), MX_NSS, MX_NFS};
    for (int k = 0; k < (s->p.agipd ? 1 : 2); k++) {
      hid_t d = k ? sf->gain : sf->mask, fs = H5Dget_space(d), ms = H5Screate_simple(3, cnt, NULL);
      if (n > 0) H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL);
      else {
        H5Sselect_none(fs);
        H5Sselect_none(ms);
      }
      herr_t ek = H5Dwrite(d, k ? H5T_NATIVE_UINT8 : H5T_NATIVE_UINT32, ms, fs, dxpl, k ? (void *)gain : (void *)mask);
      if (ek < 0) e = ek;
      H5Sclose(ms);
      H5Sclose(fs);
    }
  }
  H5Pclose(dxpl);
  PetscCall(PetscFree2(mask, gain));
  MxH5Call(e, s->comm, "writing the compressed mask and gain of module %d failed (disk full?)", m->module);
  PetscFunctionReturn(0);
}

static PetscErrorCode MkdirP(const char *path)
{
  char tmp[PETSC_MAX_PATH_LEN];

  PetscFunctionBeginUser;
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *q = tmp + 1; *q; q++)
    if (*q == '/') {
      *q = 0;
      if (mkdir(tmp, 0755) && errno != EEXIST) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create directory %s", tmp);
      *q = '/';
    }
  if (mkdir(tmp, 0755) && errno != EEXIST) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create directory %s", tmp);
  PetscFunctionReturn(0);
}

PetscErrorCode MxSimWriteRun(MxSim s)
{
  MxSimParams   *p = &s->p;
  PetscMPIInt    rank, size;
  char           part[PETSC_MAX_PATH_LEN], rundir[PETSC_MAX_PATH_LEN], cleandir[PETSC_MAX_PATH_LEN], path[PETSC_MAX_PATH_LEN];
  PetscInt       nseq = (p->ntrains + p->trains_per_file - 1) / p->trains_per_file, nf = 0;
  SimFile       *files;
  PetscErrorCode ierr = 0;
  struct stat    st;
  int            exists = 0;

  PetscFunctionBeginUser;
  MPI_Comm_rank(s->comm, &rank);
  MPI_Comm_size(s->comm, &size);
  snprintf(part, sizeof part, "%s.part", s->outdir);
  snprintf(rundir, sizeof rundir, "%s/proc/r%04d", part, (int)p->run);
  if (!rank) {
    exists = stat(s->outdir, &st) == 0;
    if (!exists) {
      char cmd[2 * PETSC_MAX_PATH_LEN];
      if (stat(part, &st) == 0) { /* left by a killed run: start again */
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", part);
        if (system(cmd)) exists = 2;
      }
      ierr = MkdirP(rundir);
    }
  }
  PetscCallMPI(MPI_Bcast(&exists, 1, MPI_INT, 0, s->comm));
  PetscCheck(!exists, s->comm, PETSC_ERR_FILE_OPEN, "simulate: output directory %s exists; remove it or choose another -o", s->outdir);
  PetscCall(MxErrorSync(s->comm, ierr));

  /* -sim_clean_copy: the same files with the clean photon counts in DIR/clean (files nf/2 ..) */
  snprintf(cleandir, sizeof cleandir, "%s/clean/proc/r%04d", part, (int)p->run);
  if (!rank && p->clean_copy) ierr = MkdirP(cleandir);
  PetscCall(MxErrorSync(s->comm, ierr));
  PetscCall(PetscCalloc1(s->nmods * nseq * (p->clean_copy ? 2 : 1), &files));
  for (int copy = 0; copy < (p->clean_copy ? 2 : 1); copy++)
    for (PetscInt im = 0; im < s->nmods; im++)
      for (PetscInt q = 0; q < nseq; q++) {
        SimFile *sf = &files[nf++];
        sf->t0      = q * p->trains_per_file;
        sf->t1      = PetscMin(p->ntrains, sf->t0 + p->trains_per_file);
        snprintf(path, sizeof path, "%s/CORR-R%04d-AGIPD%02d-S%05d.h5", copy ? cleandir : rundir, (int)p->run, s->mods[im].module, (int)q);
        PetscCall(CreateFile(s, path, s->mods[im].module, (int)q, sf));
        if (p->compress > 0) PetscCall(WriteFlags(s, &s->mods[im], sf));
      }

  /* this rank's trains: a contiguous block */
  PetscInt t0 = p->ntrains * rank / size, t1 = p->ntrains * (rank + 1) / size;
  float   *frames, *clean = NULL;
  uint32_t *mask;
  uint8_t  *gain, *gain0 = NULL;
  double   *e;
  PetscCall(PetscMalloc4((size_t)p->npulses * MX_MODPIX, &frames, (size_t)p->npulses * MX_MODPIX, &mask, (size_t)p->npulses * MX_MODPIX, &gain, p->npulses, &e));
  if (p->clean_copy) { /* the clean copy: photons, every pixel-frame in high gain */
    PetscCall(PetscMalloc1((size_t)p->npulses * MX_MODPIX, &clean));
    PetscCall(PetscCalloc1((size_t)p->npulses * MX_MODPIX, &gain0));
  }
  for (PetscInt t = t0; t < t1 && !ierr; t++) {
    if (TrainMissing(p, t)) continue;
    MxSimPulseEnergies(p, t, e); /* SASE pulse energies, shared by the modules of a train */
    for (PetscInt im = 0; im < s->nmods && !ierr; im++) {
      MxSimModule *m  = &s->mods[im];
      SimFile     *sf = &files[im * nseq + t / p->trains_per_file];
      double       c0 = MPI_Wtime();
      ierr            = MxSimTrainModule(s, m, t, e, frames, gain, clean);
      double c1       = MPI_Wtime();
      uint64_t row = sf->first[t - sf->t0];
      if (p->compress == 0) /* else written by WriteFlags */
        for (PetscInt n = 0; n < p->npulses; n++)
          for (PetscInt i = 0; i < MX_MODPIX; i++) {
            mask[n * MX_MODPIX + i] = m->mask[i];
            if (!p->agipd) gain[n * MX_MODPIX + i] = m->hot[i] ? 1 : 0;
          }
      for (int copy = 0; copy < (p->clean_copy ? 2 : 1); copy++, sf += s->nmods * nseq) {
        if (!ierr) ierr = WriteRows(sf->data, H5T_NATIVE_FLOAT, row, p->npulses, copy ? clean : frames);
        if (!ierr && p->compress == 0) ierr = WriteRows(sf->mask, H5T_NATIVE_UINT32, row, p->npulses, mask);
        if (!ierr && (p->compress == 0 || p->agipd)) ierr = WriteRows(sf->gain, H5T_NATIVE_UINT8, row, p->npulses, copy ? gain0 : gain);
      }
      s->t_sim += c1 - c0;
      s->t_write += MPI_Wtime() - c1;
    }
    if (!rank && (t - t0 + 1) % 8 == 0) PetscCall(PetscInfo(NULL, "simulate: %" PetscInt_FMT " of %" PetscInt_FMT " trains on rank 0\n", t - t0 + 1, t1 - t0));
  }
  PetscCall(PetscFree4(frames, mask, gain, e));
  PetscCall(PetscFree(clean));
  PetscCall(PetscFree(gain0));
  PetscCall(MxErrorSync(s->comm, ierr));
  for (PetscInt i = 0; i < nf; i++) {
    H5Dclose(files[i].data);
    H5Dclose(files[i].mask);
    H5Dclose(files[i].gain);
    MxH5Call(H5Fclose(files[i].f), s->comm, "closing a run file failed");
    PetscCall(PetscFree(files[i].first));
  }
  PetscCall(PetscFree(files));
  PetscFunctionReturn(0);
}
