/* bridge_dump: receive N trains with MxBridge and print what arrived, for tests/peer/check_bridge.py
   to compare with karabo_bridge's own Client and with extra_data reading the files.
     bridge_dump -n N -bridge_endpoint tcp://... [-bridge_pattern req|sub|pull] [-bridge_timeout_s S]
   Per train, tab-separated:
     train TID PROTOCOL NSOURCES
     source NAME TID NARRAYS NNUMBERS
     array NAME PATH DTYPE SHAPE(a,b,..) NBYTES CRC32 SUM        (SUM: the values as doubles, numeric kinds)
     number NAME KEY VALUE
   a "bad REASON" line per message that could not be decoded (the stream goes on), "timeout REASON"
   when no train came in time (then it stops), and at the end "stats RECEIVED BAD DROPPED" and
   "endpoint ADDR MESSAGES" per endpoint. Exit 0 when N trains arrived, 2 after a timeout. */
#include <mxpcs/bridge.h>
#include <zlib.h>

static double Sum(const MxBridgeArray *a)
{
  size_t n = a->itemsize ? a->nbytes / a->itemsize : 0;
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    const void *p = (const char *)a->data + i * a->itemsize;
    switch (a->kind) {
    case 'f': s += a->itemsize == 4 ? *(const float *)p : a->itemsize == 8 ? *(const double *)p : 0; break;
    case 'u': s += a->itemsize == 1 ? *(const uint8_t *)p : a->itemsize == 2 ? *(const uint16_t *)p : a->itemsize == 4 ? *(const uint32_t *)p : (double)*(const uint64_t *)p; break;
    case 'i': s += a->itemsize == 1 ? *(const int8_t *)p : a->itemsize == 2 ? *(const int16_t *)p : a->itemsize == 4 ? *(const int32_t *)p : (double)*(const int64_t *)p; break;
    case 'b': s += *(const uint8_t *)p != 0; break;
    default: break;
    }
  }
  return s;
}

static void Print(const MxBridgeTrain *tr)
{
  printf("train\t%llu\t%d\t%d\n", (unsigned long long)tr->train_id, tr->protocol, tr->nsources);
  for (int i = 0; i < tr->nsources; i++) {
    const MxBridgeSource *s = &tr->sources[i];
    printf("source\t%s\t%llu\t%d\t%d\n", s->name, (unsigned long long)s->train_id, s->narrays, s->nnumbers);
    for (int j = 0; j < s->narrays; j++) {
      const MxBridgeArray *a = &s->arrays[j];
      char                 shape[160] = "";
      size_t               len = 0;
      for (int k = 0; k < a->ndim; k++) len += snprintf(shape + len, sizeof shape - len, "%s%llu", k ? "," : "", (unsigned long long)a->shape[k]);
      printf("array\t%s\t%s\t%s\t(%s)\t%zu\t%08lx\t%.17g\n", s->name, a->path, a->dtype, shape, a->nbytes,
             (unsigned long)crc32_z(0L, (const Bytef *)a->data, a->nbytes), Sum(a));
    }
    for (int j = 0; j < s->nnumbers; j++) printf("number\t%s\t%s\t%.17g\n", s->name, s->number_keys[j], s->numbers[j]);
  }
}

int main(int argc, char **argv)
{
  MxBridge             b;
  const MxBridgeTrain *tr;
  MxBridgeStatus       st;
  PetscInt             n = 1, got = 0, rec, bad, drop, nep;
  const char          *ep;
  int                  rc = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n", &n, NULL));
  PetscCall(MxBridgeCreate(PETSC_COMM_SELF, &b));
  PetscCall(MxBridgeSetFromOptions(b));
  PetscCall(MxBridgeSetUp(b));
  while (got < n) {
    PetscCall(MxBridgeNext(b, -1, &tr, &st));
    if (st == MX_BRIDGE_OK) Print(tr), got++;
    else if (st == MX_BRIDGE_BAD) printf("bad\t%s\n", MxBridgeLastError(b));
    else {
      printf("timeout\t%s\n", MxBridgeLastError(b));
      rc = 2;
      break;
    }
    fflush(stdout);
  }
  PetscCall(MxBridgeGetStats(b, &rec, &bad, &drop));
  printf("stats\t%" PetscInt_FMT "\t%" PetscInt_FMT "\t%" PetscInt_FMT "\n", rec, bad, drop);
  PetscCall(MxBridgeGetEndpoint(b, 0, &nep, NULL, NULL));
  for (PetscInt i = 0; i < nep; i++) {
    PetscInt m;
    PetscCall(MxBridgeGetEndpoint(b, i, NULL, &ep, &m));
    printf("endpoint\t%s\t%" PetscInt_FMT "\n", ep, m);
  }
  PetscCall(MxBridgeDestroy(&b));
  PetscCall(PetscFinalize());
  return rc;
}
