/* Pulse energies of the simulated run and the X-ray gas monitor (XGM) record beside it. */
#include "simimpl.h"
#include <errno.h>
#include <sys/stat.h>

#define MX_XGM_SOURCE "SA2_XTD1_XGM/XGM/DOOCS:output"
#define MX_XGM_SLOTS  1000 /* intensityTD holds 1000 pulse slots per train, as at EuXFEL */

void MxSimPulseEnergies(const MxSimParams *p, PetscInt t, double *e)
{
  MxRng ge;
  MxRngInit(&ge, (uint64_t)p->seed, (uint64_t)t, 0xE, 4);
  for (PetscInt n = 0; n < p->npulses; n++) e[n] = p->sase_modes > 0 ? MxRngGamma(&ge, p->sase_modes) / p->sase_modes : 1.0;
  if (p->train_energy_rms > 0) { /* train-to-train: drifts, attenuator steps, the machine's feedback */
    MxRng  gt;
    double f;
    MxRngInit(&gt, (uint64_t)p->seed, (uint64_t)t, 0xF, 4);
    f = PetscMax(0.05, 1 + p->train_energy_rms * MxRngNormal(&gt));
    for (PetscInt n = 0; n < p->npulses; n++) e[n] *= f;
  }
  for (PetscInt i = 0; i < p->ndud; i++)
    if (p->dud_trains[i] == t) e[p->npulses / 2] *= 0.02;
}

/* The XGM sees every train (also those the detector lost), with its own reading noise; slots
   beyond the pulses of the train hold 1.0, as the DOOCS device pads them. */
PetscErrorCode MxSimWriteXgm(MxSim s, const char dir[])
{
  MxSimParams *p = &s->p;
  char         path[PETSC_MAX_PATH_LEN], rawdir[PETSC_MAX_PATH_LEN], buf[256];
  hid_t        f;
  PetscInt     n = p->ntrains;
  uint64_t    *tid, *first, *count, *ts;
  float       *E;
  double      *e;
  int          mk = 0;
  PetscMPIInt  rank;

  PetscFunctionBeginUser;
  MPI_Comm_rank(s->comm, &rank);
  snprintf(rawdir, sizeof rawdir, "%s/raw", dir);
  if (!rank) {
    mk = mkdir(rawdir, 0755) && errno != EEXIST;
    snprintf(rawdir, sizeof rawdir, "%s/raw/r%04d", dir, (int)p->run);
    mk |= mkdir(rawdir, 0755) && errno != EEXIST;
  }
  snprintf(rawdir, sizeof rawdir, "%s/raw/r%04d", dir, (int)p->run);
  PetscCallMPI(MPI_Bcast(&mk, 1, MPI_INT, 0, s->comm));
  PetscCheck(!mk, s->comm, PETSC_ERR_FILE_WRITE, "simulate: cannot create %s", rawdir);
  snprintf(path, sizeof path, "%s/RAW-R%04d-DA01-S00000.h5", rawdir, (int)p->run);
  PetscCall(MxH5CreateParallel(s->comm, path, &f));
  PetscCall(PetscMalloc6(n, &tid, n, &first, n, &count, n, &ts, (size_t)n * MX_XGM_SLOTS, &E, p->npulses, &e));
  for (PetscInt t = 0; t < n; t++) {
    MxRng g;
    tid[t]   = s->train_ids[t];
    first[t] = (uint64_t)t;
    count[t] = 1;
    ts[t]    = 1700000000000000000ULL + (s->train_ids[t] - s->train_ids[0]) * 100000000ULL;
    MxSimPulseEnergies(p, t, e);
    MxRngInit(&g, (uint64_t)p->seed, (uint64_t)t, 0x96, 5);
    for (PetscInt k = 0; k < MX_XGM_SLOTS; k++) E[(size_t)t * MX_XGM_SLOTS + k] = 1.0f;
    for (PetscInt k = 0; k < p->npulses && k < MX_XGM_SLOTS; k++) E[(size_t)t * MX_XGM_SLOTS + k] = (float)(p->pulse_energy_uJ * e[k] * (1.0 + p->xgm_noise * MxRngNormal(&g)));
  }
  hsize_t d1[1] = {(hsize_t)n}, d2[2] = {(hsize_t)n, MX_XGM_SLOTS};
  PetscCall(MxH5WriteArray(s->comm, f, "INDEX/trainId", H5T_NATIVE_UINT64, 1, d1, tid, NULL));
  PetscCall(MxH5WriteArray(s->comm, f, "INDEX/timestamp", H5T_NATIVE_UINT64, 1, d1, ts, NULL));
  {
    int32_t *i32;
    PetscCall(PetscMalloc1(n, &i32));
    for (PetscInt i = 0; i < n; i++) i32[i] = 1;
    PetscCall(MxH5WriteArray(s->comm, f, "INDEX/flag", H5T_NATIVE_INT32, 1, d1, i32, NULL));
    for (PetscInt i = 0; i < n; i++) i32[i] = -1;
    PetscCall(MxH5WriteArray(s->comm, f, "INDEX/origin", H5T_NATIVE_INT32, 1, d1, i32, NULL));
    PetscCall(PetscFree(i32));
  }
  snprintf(buf, sizeof buf, "INDEX/%s/data/first", MX_XGM_SOURCE);
  PetscCall(MxH5WriteArray(s->comm, f, buf, H5T_NATIVE_UINT64, 1, d1, first, NULL));
  snprintf(buf, sizeof buf, "INDEX/%s/data/count", MX_XGM_SOURCE);
  PetscCall(MxH5WriteArray(s->comm, f, buf, H5T_NATIVE_UINT64, 1, d1, count, NULL));
  snprintf(buf, sizeof buf, "INSTRUMENT/%s/data/trainId", MX_XGM_SOURCE);
  PetscCall(MxH5WriteArray(s->comm, f, buf, H5T_NATIVE_UINT64, 1, d1, tid, NULL));
  snprintf(buf, sizeof buf, "INSTRUMENT/%s/data/intensityTD", MX_XGM_SOURCE);
  PetscCall(MxH5WriteArray(s->comm, f, buf, H5T_NATIVE_FLOAT, 2, d2, E, "uJ"));
  {
    char ids[1][128], roots[1][128], devs[1][128], one[1][128];
    snprintf(ids[0], 128, "INSTRUMENT/%s/data", MX_XGM_SOURCE);
    snprintf(roots[0], 128, "INSTRUMENT");
    snprintf(devs[0], 128, "%s/data", MX_XGM_SOURCE);
    PetscCall(MxSimWriteStrings(s->comm, f, "METADATA/dataSources/dataSourceId", 1, ids));
    PetscCall(MxSimWriteStrings(s->comm, f, "METADATA/dataSources/root", 1, roots));
    PetscCall(MxSimWriteStrings(s->comm, f, "METADATA/dataSources/deviceId", 1, devs));
    snprintf(one[0], 128, "1.2");
    PetscCall(MxSimWriteStrings(s->comm, f, "METADATA/dataFormatVersion", 1, one));
    snprintf(one[0], 128, "20261124T000000Z");
    PetscCall(MxSimWriteStrings(s->comm, f, "METADATA/creationDate", 1, one));
    PetscCall(MxSimWriteStrings(s->comm, f, "METADATA/updateDate", 1, one));
    snprintf(one[0], 128, "mxpcs simulate %s", MxVersion());
    PetscCall(MxSimWriteStrings(s->comm, f, "METADATA/daqLibrary", 1, one));
    PetscCall(MxSimWriteStrings(s->comm, f, "METADATA/karaboFramework", 1, one));
    uint32_t u  = (uint32_t)p->proposal;
    hsize_t  o1[1] = {1};
    PetscCall(MxH5WriteArray(s->comm, f, "METADATA/proposalNumber", H5T_NATIVE_UINT32, 1, o1, &u, NULL));
    u = (uint32_t)p->run;
    PetscCall(MxH5WriteArray(s->comm, f, "METADATA/runNumber", H5T_NATIVE_UINT32, 1, o1, &u, NULL));
    u = 0;
    PetscCall(MxH5WriteArray(s->comm, f, "METADATA/sequenceNumber", H5T_NATIVE_UINT32, 1, o1, &u, NULL));
  }
  PetscCall(PetscFree6(tid, first, count, ts, E, e));
  MxH5Call(H5Fclose(f), s->comm, "%s: closing failed", path);
  PetscCall(MxOutputCommit(s->comm, path));
  PetscFunctionReturn(0);
}
