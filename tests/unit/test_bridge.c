/* Karabo bridge client (src/online): messages of protocol 2.2 and 1.0 packed here with msgpack-c
   the way karabo_bridge's serializer does (docs/reference/karabo-bridge.md sections 2-3), decoded and
   compared byte for byte; malformed messages give BAD with a reason naming the thing; then the
   sockets: a port where nothing listens times out, two PUSH endpoints are matched by train ID.
   Also writes seed messages for the fuzzer when MX_BRIDGE_SEEDS names a directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>
#include <zmq.h>
#include <mxpcs/bridge.h>

#define SRC_A "MID_DET_AGIPD1M-1/DET/10CH0:xtdf" /* sorted() puts 10 before 1 */
#define SRC_B "MID_DET_AGIPD1M-1/DET/1CH0:xtdf"
#define SRC_C "MID_DET_AGIPD1M-1/DET/5CH0:xtdf"
#define TID   1200000123ULL
#define MAXF  32

/* A message: frames owned here. */
typedef struct {
  int    n;
  char  *f[MAXF];
  size_t s[MAXF];
} Msg;

static float    img[2][3][2][4]; /* per source: (3,2,4) float32 */
static uint32_t mask[2][3][2][4];
static uint64_t pulse[2][3];

static void Fill(void)
{
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < 24; i++) {
      (&img[s][0][0][0])[i]  = 1000.0f * s + 0.5f * i - 3;
      (&mask[s][0][0][0])[i] = (uint32_t)(i % 7 == 0) << (s + 3);
    }
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < 3; i++) pulse[s][i] = 2 * i + 100 * s;
}

static void Str(msgpack_packer *pk, const char *s)
{
  msgpack_pack_str(pk, strlen(s));
  msgpack_pack_str_body(pk, s, strlen(s));
}
static void Bin(msgpack_packer *pk, const void *p, size_t n)
{
  msgpack_pack_bin(pk, n);
  msgpack_pack_bin_body(pk, p, n);
}

/* Append a frame: the packed buffer, or raw bytes. */
static void AddFrame(Msg *m, const void *p, size_t n)
{
  assert_true(m->n < MAXF);
  m->f[m->n] = malloc(n ? n : 1);
  memcpy(m->f[m->n], p, n);
  m->s[m->n++] = n;
}
static void AddPacked(Msg *m, msgpack_sbuffer *sb)
{
  AddFrame(m, sb->data, sb->size);
  msgpack_sbuffer_clear(sb);
}
static void Free(Msg *m)
{
  for (int i = 0; i < m->n; i++) free(m->f[i]);
  m->n = 0;
}

static void Meta(msgpack_packer *pk, const char *src, uint64_t tid)
{
  msgpack_pack_map(pk, 2);
  Str(pk, "source"), Str(pk, src);
  Str(pk, "timestamp.tid"), msgpack_pack_uint64(pk, tid);
}

static void ArrayHeader(msgpack_packer *pk, const char *src, const char *path, const char *dtype, int ndim, const uint64_t *shape)
{
  msgpack_pack_map(pk, 5);
  Str(pk, "source"), Str(pk, src);
  Str(pk, "content"), Str(pk, "array");
  Str(pk, "path"), Str(pk, path);
  Str(pk, "dtype"), Str(pk, dtype);
  Str(pk, "shape"), msgpack_pack_array(pk, ndim);
  for (int k = 0; k < ndim; k++) msgpack_pack_uint64(pk, shape[k]);
}

/* Protocol 2.2 as serve-files sends a two-module train; tid[s] per source, dtype of image.data. */
static void Make22(Msg *m, const uint64_t tid[2], const char *dtype)
{
  msgpack_sbuffer sb;
  msgpack_packer  pk;
  const char     *src[2] = {SRC_A, SRC_B};
  uint64_t        s324[3] = {3, 2, 4}, s3[1] = {3};
  double          scalar = 42.25;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  for (int s = 0; s < 2; s++) {
    msgpack_pack_map(&pk, 3);
    Str(&pk, "source"), Str(&pk, src[s]);
    Str(&pk, "content"), Str(&pk, "msgpack");
    Str(&pk, "metadata"), Meta(&pk, src[s], tid[s]);
    AddPacked(m, &sb);
    msgpack_pack_map(&pk, 7); /* body: ints, a float, a bool, a bin string, a list, extra_data's metadata */
    Str(&pk, "header.pulseCount"), msgpack_pack_uint32(&pk, 3);
    Str(&pk, "detector.trainId"), msgpack_pack_uint64(&pk, tid[s]);
    Str(&pk, "offset"), msgpack_pack_int(&pk, -7 - s);
    Str(&pk, "temperature"), msgpack_pack_double(&pk, 21.5);
    Str(&pk, "state.value"), Bin(&pk, "OFF", 3);
    Str(&pk, "modulesPresent"), msgpack_pack_array(&pk, 2), msgpack_pack_true(&pk), msgpack_pack_false(&pk);
    Str(&pk, "metadata"), Meta(&pk, src[s], tid[s]);
    AddPacked(m, &sb);
    ArrayHeader(&pk, src[s], "image.data", dtype, 3, s324);
    AddPacked(m, &sb);
    AddFrame(m, img[s], sizeof img[s]);
    ArrayHeader(&pk, src[s], "image.mask", "uint32", 3, s324);
    AddPacked(m, &sb);
    AddFrame(m, mask[s], sizeof mask[s]);
    ArrayHeader(&pk, src[s], "image.pulseId", "<u8", 1, s3);
    AddPacked(m, &sb);
    AddFrame(m, pulse[s], sizeof pulse[s]);
    if (s == 1) { /* a 0-d array: shape [] */
      ArrayHeader(&pk, src[s], "scalar", "float64", 0, NULL);
      AddPacked(m, &sb);
      AddFrame(m, &scalar, sizeof scalar);
    }
  }
  msgpack_sbuffer_destroy(&sb);
}

/* Protocol 1.0 as server-sim -p 1.0 sends it: msgpack_numpy maps with BIN keys. */
static void Make10(Msg *m, const char *src, uint64_t tid)
{
  msgpack_sbuffer sb;
  msgpack_packer  pk;
  uint64_t        cnt = 5;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  Str(&pk, src);
  msgpack_pack_map(&pk, 5);
  Str(&pk, "image.data");
  msgpack_pack_map(&pk, 5);
  Bin(&pk, "nd", 2), msgpack_pack_true(&pk);
  Bin(&pk, "type", 4), Str(&pk, "<f4");
  Bin(&pk, "kind", 4), Bin(&pk, "", 0);
  Bin(&pk, "shape", 5), msgpack_pack_array(&pk, 3), msgpack_pack_uint8(&pk, 3), msgpack_pack_uint8(&pk, 2), msgpack_pack_uint8(&pk, 4);
  Bin(&pk, "data", 4), Bin(&pk, img[1], sizeof img[1]);
  Str(&pk, "image.pulseId");
  msgpack_pack_map(&pk, 5);
  Bin(&pk, "nd", 2), msgpack_pack_true(&pk);
  Bin(&pk, "type", 4), Str(&pk, "<u8");
  Bin(&pk, "kind", 4), Bin(&pk, "", 0);
  Bin(&pk, "shape", 5), msgpack_pack_array(&pk, 1), msgpack_pack_uint8(&pk, 3);
  Bin(&pk, "data", 4), Bin(&pk, pulse[1], sizeof pulse[1]);
  Str(&pk, "count"); /* a numpy integer scalar */
  msgpack_pack_map(&pk, 3);
  Bin(&pk, "nd", 2), msgpack_pack_false(&pk);
  Bin(&pk, "type", 4), Str(&pk, "<u8");
  Bin(&pk, "data", 4), Bin(&pk, &cnt, sizeof cnt);
  Str(&pk, "header.pulseCount"), msgpack_pack_uint8(&pk, 3);
  Str(&pk, "metadata"), Meta(&pk, src, tid);
  AddPacked(m, &sb);
  msgpack_sbuffer_destroy(&sb);
}

static int Decode(MxBridgeDecoder d, const Msg *m, const MxBridgeTrain **tr, char *err)
{
  return MxBridgeDecode(d, m->n, (const void *const *)m->f, m->s, tr, err, 256);
}

/* BAD, with a reason that holds every needle. */
static void ExpectBad(MxBridgeDecoder d, const Msg *m, ...)
{
  const MxBridgeTrain *tr = (void *)1;
  char                 err[256];
  const char          *needle;
  va_list              ap;
  assert_int_equal(Decode(d, m, &tr, err), 1);
  assert_null(tr);
  va_start(ap, m);
  while ((needle = va_arg(ap, const char *)))
    if (!strstr(err, needle)) fail_msg("reason '%s' does not name '%s'", err, needle);
  va_end(ap);
}

static void CheckArray(const MxBridgeArray *a, const char *dtype, int ndim, const uint64_t *shape, const void *data, size_t nbytes)
{
  assert_non_null(a);
  assert_string_equal(a->dtype, dtype);
  assert_int_equal(a->ndim, ndim);
  for (int k = 0; k < ndim; k++) assert_int_equal(a->shape[k], shape[k]);
  assert_int_equal(a->nbytes, nbytes);
  assert_memory_equal(a->data, data, nbytes);
  assert_int_equal((uintptr_t)a->data % (a->itemsize > 8 ? 8 : a->itemsize), 0);
}

static void test_decode22(void **state)
{
  MxBridgeDecoder      d;
  const MxBridgeTrain *tr;
  Msg                  m = {0};
  uint64_t             tid[2] = {TID, TID}, s324[3] = {3, 2, 4}, s3[1] = {3};
  char                 err[256];
  double               v;
  double               scalar = 42.25;

  Make22(&m, tid, "float32");
  assert_int_equal(MxBridgeDecoderCreate(&d), 0);
  for (int rep = 0; rep < 2; rep++) { /* the decoder's memory is reused */
    assert_int_equal(Decode(d, &m, &tr, err), 0);
    assert_int_equal(tr->train_id, TID);
    assert_int_equal(tr->protocol, 22);
    assert_int_equal(tr->nsources, 2);
    assert_string_equal(tr->sources[0].name, SRC_A);
    assert_string_equal(tr->sources[1].name, SRC_B);
    for (int s = 0; s < 2; s++) {
      const MxBridgeSource *S = &tr->sources[s];
      assert_int_equal(S->train_id, TID);
      assert_int_equal(S->narrays, 3 + s);
      assert_string_equal(S->arrays[0].path, "image.data");
      CheckArray(&S->arrays[0], "float32", 3, s324, img[s], sizeof img[s]);
      assert_int_equal(S->arrays[0].kind, 'f');
      assert_int_equal(S->arrays[0].itemsize, 4);
      CheckArray(MxBridgeFind(tr, S->name, "image.mask"), "uint32", 3, s324, mask[s], sizeof mask[s]);
      CheckArray(MxBridgeFind(tr, S->name, "image.pulseId"), "<u8", 1, s3, pulse[s], sizeof pulse[s]);
      /* numbers: pulseCount, trainId, offset, temperature; not the bin string, the list or metadata */
      assert_int_equal(S->nnumbers, 4);
      assert_string_equal(S->number_keys[0], "header.pulseCount");
      assert_true(S->numbers[0] == 3);
      assert_true(MxBridgeFindNumber(tr, S->name, "detector.trainId", &v) && v == (double)TID);
      assert_true(MxBridgeFindNumber(tr, S->name, "offset", &v) && v == -7 - s);
      assert_true(MxBridgeFindNumber(tr, S->name, "temperature", &v) && v == 21.5);
      assert_false(MxBridgeFindNumber(tr, S->name, "state.value", &v));
      assert_false(MxBridgeFindNumber(tr, S->name, "metadata", &v));
    }
    CheckArray(MxBridgeFind(tr, SRC_B, "scalar"), "float64", 0, NULL, &scalar, 8);
    assert_null(MxBridgeFind(tr, SRC_A, "scalar"));
    assert_null(MxBridgeFind(tr, "nope", "image.data"));
  }
  Free(&m);
  MxBridgeDecoderDestroy(&d);
  assert_null(d);
}

static void test_decode10(void **state)
{
  MxBridgeDecoder      d;
  const MxBridgeTrain *tr;
  Msg                  m = {0};
  uint64_t             s324[3] = {3, 2, 4}, s3[1] = {3};
  char                 err[256];
  double               v;

  Make10(&m, SRC_B, TID + 1);
  assert_int_equal(MxBridgeDecoderCreate(&d), 0);
  assert_int_equal(Decode(d, &m, &tr, err), 0);
  assert_int_equal(tr->protocol, 10);
  assert_int_equal(tr->train_id, TID + 1);
  assert_int_equal(tr->nsources, 1);
  assert_string_equal(tr->sources[0].name, SRC_B);
  assert_int_equal(tr->sources[0].narrays, 2);
  /* BIN data inside msgpack lands at any offset: the decoder hands out an aligned copy */
  CheckArray(MxBridgeFind(tr, SRC_B, "image.data"), "<f4", 3, s324, img[1], sizeof img[1]);
  CheckArray(MxBridgeFind(tr, SRC_B, "image.pulseId"), "<u8", 1, s3, pulse[1], sizeof pulse[1]);
  assert_true(MxBridgeFindNumber(tr, SRC_B, "count", &v) && v == 5);
  assert_true(MxBridgeFindNumber(tr, SRC_B, "header.pulseCount", &v) && v == 3);
  assert_int_equal(tr->sources[0].nnumbers, 2);
  Free(&m);
  MxBridgeDecoderDestroy(&d);
}

/* A source with metadata and an empty body and no arrays (serve-run --allow-partial); an unaligned
   array frame. */
static void test_partial_unaligned(void **state)
{
  MxBridgeDecoder      d;
  const MxBridgeTrain *tr;
  msgpack_sbuffer      sb;
  msgpack_packer       pk;
  Msg                  m = {0};
  char                 err[256], *raw = malloc(sizeof img[0] + 1);
  uint64_t             s324[3] = {3, 2, 4};

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  for (int s = 0; s < 2; s++) {
    msgpack_pack_map(&pk, 3);
    Str(&pk, "source"), Str(&pk, s ? SRC_B : SRC_A);
    Str(&pk, "content"), Str(&pk, "msgpack");
    Str(&pk, "metadata"), Meta(&pk, s ? SRC_B : SRC_A, TID);
    AddPacked(&m, &sb);
    msgpack_pack_map(&pk, 0);
    AddPacked(&m, &sb);
  }
  ArrayHeader(&pk, SRC_B, "image.data", "float32", 3, s324);
  AddPacked(&m, &sb);
  AddFrame(&m, img[1], sizeof img[1]);
  memcpy(raw + 1, img[1], sizeof img[1]);
  free(m.f[m.n - 1]);
  m.f[m.n - 1] = raw + 1; /* odd address */
  assert_int_equal(MxBridgeDecoderCreate(&d), 0);
  assert_int_equal(Decode(d, &m, &tr, err), 0);
  assert_int_equal(tr->nsources, 2);
  assert_int_equal(tr->sources[0].narrays, 0);
  assert_int_equal(tr->sources[0].nnumbers, 0);
  assert_int_equal(tr->sources[1].narrays, 1);
  CheckArray(MxBridgeFind(tr, SRC_B, "image.data"), "float32", 3, s324, img[1], sizeof img[1]);
  assert_ptr_not_equal(MxBridgeFind(tr, SRC_B, "image.data")->data, raw + 1);
  m.f[m.n - 1] = raw;
  Free(&m);
  msgpack_sbuffer_destroy(&sb);
  MxBridgeDecoderDestroy(&d);
}

static void test_bad(void **state)
{
  MxBridgeDecoder d;
  Msg             m = {0};
  uint64_t        tid[2] = {TID, TID}, tid2[2] = {TID, TID + 1};
  msgpack_sbuffer sb;
  msgpack_packer  pk;

  assert_int_equal(MxBridgeDecoderCreate(&d), 0);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

  Make22(&m, tid, "float32"); /* truncated header */
  m.s[0]--;
  ExpectBad(d, &m, "frame 0", "truncated", NULL);
  Free(&m);
  Make22(&m, tid, "float32"); /* trailing garbage after a body */
  m.f[1] = realloc(m.f[1], m.s[1] + 1);
  m.f[1][m.s[1]++] = 0x01;
  ExpectBad(d, &m, "frame 1", "trailing", NULL);
  Free(&m);
  Make22(&m, tid, "float32"); /* odd frame count */
  m.n--;
  free(m.f[m.n]);
  ExpectBad(d, &m, "odd number of frames", NULL);
  Free(&m);
  Make22(&m, tid, "float32"); /* an array frame 4 bytes short */
  m.s[3] -= 4;
  ExpectBad(d, &m, SRC_A, "image.data", "92 bytes", NULL);
  Free(&m);
  Make22(&m, tid, "float33");
  ExpectBad(d, &m, SRC_A, "image.data", "unknown dtype 'float33'", NULL);
  Free(&m);
  Make22(&m, tid, ">f4");
  ExpectBad(d, &m, SRC_A, "big-endian", NULL);
  Free(&m);
  Make22(&m, tid2, "float32");
  ExpectBad(d, &m, "inconsistent train IDs", SRC_A, SRC_B, "1200000124", NULL);
  Free(&m);
  Make22(&m, tid, "float32"); /* a header that is a list */
  msgpack_pack_array(&pk, 2), Str(&pk, "source"), Str(&pk, SRC_A);
  free(m.f[2]);
  m.f[2] = malloc(sb.size), memcpy(m.f[2], sb.data, sb.size), m.s[2] = sb.size;
  msgpack_sbuffer_clear(&sb);
  ExpectBad(d, &m, "frame 2", "not a map", NULL);
  Free(&m);
  Make22(&m, tid, "float32"); /* an array before its source's msgpack pair */
  {
    char  *f0 = m.f[0], *f1 = m.f[1];
    size_t s0 = m.s[0], s1 = m.s[1];
    m.f[0] = m.f[2], m.s[0] = m.s[2], m.f[1] = m.f[3], m.s[1] = m.s[3];
    m.f[2] = f0, m.s[2] = s0, m.f[3] = f1, m.s[3] = s1;
  }
  ExpectBad(d, &m, "does not follow", SRC_A, NULL);
  Free(&m);
  Make10(&m, SRC_B, TID); /* 1.0 with the array data cut */
  m.s[0] -= 10;
  ExpectBad(d, &m, "truncated", NULL);
  Free(&m);
  /* a map that claims 4 billion entries: refused before msgpack-c allocates them */
  AddFrame(&m, "\xdf\xff\xff\xff\xff\xa1x", 7);
  ExpectBad(d, &m, "count larger than the frame", NULL);
  Free(&m);
  AddFrame(&m, "Error: bad request b'nxt'", 25);
  ExpectBad(d, &m, "server replied", "bad request", NULL);
  Free(&m);
  ExpectBad(d, &m, "empty message", NULL);
  for (int depth = 0; depth < 40; depth++) msgpack_pack_array(&pk, 1); /* too deep */
  msgpack_pack_nil(&pk);
  AddPacked(&m, &sb);
  ExpectBad(d, &m, "nested too deeply", NULL);
  Free(&m);

  /* random bytes, and random damage to good messages: 0 or 1, never a crash (ASan/fuzz builds) */
  srand(12345);
  for (int it = 0; it < 3000; it++) {
    const MxBridgeTrain *tr;
    char                 err[256];
    if (it % 2) {
      int n = 1 + rand() % 4;
      for (int i = 0; i < n; i++) {
        char   buf[64];
        size_t len = rand() % sizeof buf;
        for (size_t k = 0; k < len; k++) buf[k] = (char)rand();
        AddFrame(&m, buf, len);
      }
    } else {
      if (it % 4) Make22(&m, tid, "float32");
      else Make10(&m, SRC_B, TID);
      for (int k = 0; k < 3; k++) {
        int i = rand() % m.n;
        if (m.s[i]) m.f[i][rand() % m.s[i]] ^= (char)(1 + rand() % 255);
      }
    }
    int rc = Decode(d, &m, &tr, err);
    assert_true(rc == 0 || rc == 1);
    assert_true(rc ? tr == NULL && err[0] : tr != NULL);
    Free(&m);
  }
  msgpack_sbuffer_destroy(&sb);
  MxBridgeDecoderDestroy(&d);
}

static void test_dtype(void **state)
{
  char kind;
  int  size, swap;
  assert_int_equal(MxBridgeDtypeParse("float32", &kind, &size, &swap), 0);
  assert_true(kind == 'f' && size == 4 && !swap);
  assert_int_equal(MxBridgeDtypeParse("<u2", &kind, &size, &swap), 0);
  assert_true(kind == 'u' && size == 2 && !swap);
  assert_int_equal(MxBridgeDtypeParse(">u2", &kind, &size, &swap), 0);
  assert_true(swap);
  assert_int_equal(MxBridgeDtypeParse("|u1", &kind, &size, &swap), 0);
  assert_true(size == 1 && !swap);
  assert_int_equal(MxBridgeDtypeParse("|S10", &kind, &size, &swap), 0);
  assert_true(kind == 'S' && size == 10);
  assert_int_equal(MxBridgeDtypeParse("bool", &kind, &size, &swap), 0);
  assert_true(kind == 'b' && size == 1);
  const char *bad[] = {"", "<", "f4x", "<f3", "|f4", "<i3", "S0", "<V8", "float", "<u", "<S99999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (!MxBridgeDtypeParse(bad[i], &kind, &size, &swap)) fail_msg("dtype '%s' accepted", bad[i]);
}

/* Nothing listens: TIMEOUT, not a hang, and a message that says so. */
static void test_no_listener(void **state)
{
  MxBridge             b;
  const MxBridgeTrain *tr;
  MxBridgeStatus       st;
  PetscInt             rec, bad, drop, n, msgs;
  const char          *ep;

  assert_int_equal(MxBridgeCreate(PETSC_COMM_SELF, &b), 0);
  assert_int_equal(MxBridgeSetEndpoints(b, "tcp://127.0.0.1:1"), 0);
  for (int i = 0; i < 2; i++) { /* REQ: the second call sends a new "next" */
    assert_int_equal(MxBridgeNext(b, 0.2, &tr, &st), 0);
    assert_int_equal(st, MX_BRIDGE_TIMEOUT);
    assert_null(tr);
  }
  assert_non_null(strstr(MxBridgeLastError(b), "no train ever received from it"));
  assert_non_null(strstr(MxBridgeLastError(b), "tcp://127.0.0.1:1"));
  assert_int_equal(MxBridgeGetStats(b, &rec, &bad, &drop), 0);
  assert_int_equal(rec + bad + drop, 0);
  assert_int_equal(MxBridgeGetEndpoint(b, 0, &n, &ep, &msgs), 0);
  assert_int_equal(n, 1);
  assert_int_equal(msgs, 0);
  assert_int_equal(MxBridgeDestroy(&b), 0);
  assert_null(b);
  /* a malformed endpoint is an error at SetUp, naming it */
  assert_int_equal(MxBridgeCreate(PETSC_COMM_SELF, &b), 0);
  assert_int_equal(MxBridgeSetEndpoints(b, "tcp://127.0.0.1:1,nonsense"), 0);
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  assert_int_not_equal(MxBridgeSetUp(b), 0);
  PetscPopErrorHandler();
  assert_int_equal(MxBridgeDestroy(&b), 0);
}

static void Push(void *sock, const Msg *m)
{
  for (int i = 0; i < m->n; i++) assert_int_equal(zmq_send(sock, m->f[i], m->s[i], i + 1 < m->n ? ZMQ_SNDMORE : 0), (int)m->s[i]);
}

/* Two PUSH endpoints, one module each: A sends trains T, T+1, (garbage), T+2; B sends T+1, T+2.
   The client gives T+1 (T dropped: B never sent it), BAD for the garbage, then T+2. */
static void test_two_endpoints(void **state)
{
  void                *ctx = zmq_ctx_new(), *push[2];
  char                 addr[2][64], both[160];
  size_t               len;
  int                  tmo = 5000, zero = 0;
  MxBridge             b;
  const MxBridgeTrain *tr;
  MxBridgeStatus       st;
  PetscInt             rec, bad, drop;
  Msg                  m = {0};

  for (int e = 0; e < 2; e++) {
    push[e] = zmq_socket(ctx, ZMQ_PUSH);
    zmq_setsockopt(push[e], ZMQ_SNDTIMEO, &tmo, sizeof tmo);
    zmq_setsockopt(push[e], ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(push[e], "tcp://127.0.0.1:*"), 0);
    len = sizeof addr[e];
    assert_int_equal(zmq_getsockopt(push[e], ZMQ_LAST_ENDPOINT, addr[e], &len), 0);
  }
  snprintf(both, sizeof both, "%s,%s", addr[0], addr[1]);
  assert_int_equal(MxBridgeCreate(PETSC_COMM_SELF, &b), 0);
  assert_int_equal(MxBridgeSetEndpoints(b, both), 0);
  assert_int_equal(MxBridgeSetPattern(b, MX_BRIDGE_PULL), 0);
  assert_int_equal(MxBridgeSetUp(b), 0);
  /* sends block (SNDTIMEO) until the client has connected: no sleep needed */
  for (int k = 0; k < 3; k++) {
    Make10(&m, SRC_C, TID + k);
    Push(push[0], &m);
    Free(&m);
    if (k == 1) {
      AddFrame(&m, "\x93\x01", 2); /* garbage: a truncated list */
      Push(push[0], &m);
      Free(&m);
    }
  }
  for (int k = 1; k < 3; k++) {
    uint64_t tid[2] = {TID + k, TID + k};
    Make22(&m, tid, "float32");
    Push(push[1], &m);
    Free(&m);
  }
  assert_int_equal(MxBridgeNext(b, 5, &tr, &st), 0);
  assert_int_equal(st, MX_BRIDGE_OK);
  assert_int_equal(tr->train_id, TID + 1);
  assert_int_equal(tr->nsources, 3); /* 1 from A (1.0), 2 from B (2.2) */
  assert_string_equal(tr->sources[0].name, SRC_C);
  assert_string_equal(tr->sources[1].name, SRC_A);
  assert_string_equal(tr->sources[2].name, SRC_B);
  assert_memory_equal(MxBridgeFind(tr, SRC_A, "image.data")->data, img[0], sizeof img[0]);
  assert_int_equal(MxBridgeNext(b, 5, &tr, &st), 0);
  assert_int_equal(st, MX_BRIDGE_BAD);
  assert_non_null(strstr(MxBridgeLastError(b), addr[0]));
  assert_non_null(strstr(MxBridgeLastError(b), "count larger than the frame"));
  assert_int_equal(MxBridgeNext(b, 5, &tr, &st), 0);
  assert_int_equal(st, MX_BRIDGE_OK);
  assert_int_equal(tr->train_id, TID + 2);
  assert_int_equal(tr->nsources, 3);
  assert_int_equal(MxBridgeGetStats(b, &rec, &bad, &drop), 0);
  assert_int_equal(rec, 2);
  assert_int_equal(bad, 1);
  assert_int_equal(drop, 1);
  assert_int_equal(MxBridgeNext(b, 0.05, &tr, &st), 0); /* nothing more */
  assert_int_equal(st, MX_BRIDGE_TIMEOUT);
  assert_null(strstr(MxBridgeLastError(b), "never"));
  assert_int_equal(MxBridgeDestroy(&b), 0);
  for (int e = 0; e < 2; e++) zmq_close(push[e]);
  zmq_ctx_term(ctx);
}

/* Seed messages for tests/fuzz/fuzz_bridge.c in its input format (fuzz_bridge.c: a 2-byte frame
   count, then per frame a 4-byte little-endian size and the bytes). */
static void WriteSeed(const char *dir, const char *name, const Msg *m)
{
  char  path[4096];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  assert_non_null(f = fopen(path, "wb"));
  fputc(m->n & 0xff, f), fputc(m->n >> 8, f);
  for (int i = 0; i < m->n; i++) {
    uint32_t s = (uint32_t)m->s[i];
    fwrite(&s, 4, 1, f);
    fwrite(m->f[i], 1, m->s[i], f);
  }
  fclose(f);
}

static void test_seeds(void **state)
{
  const char *dir = getenv("MX_BRIDGE_SEEDS");
  Msg         m   = {0};
  uint64_t    tid[2] = {TID, TID};
  if (!dir) skip();
  Make22(&m, tid, "float32");
  WriteSeed(dir, "p22_two_sources", &m);
  Free(&m);
  Make22(&m, tid, "<f4");
  {
    int n = m.n;
    m.n = 8; /* the first source only */
    WriteSeed(dir, "p22_one_source", &m);
    m.n = n;
  }
  Free(&m);
  Make10(&m, SRC_B, TID);
  WriteSeed(dir, "p10", &m);
  Free(&m);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_decode22), cmocka_unit_test(test_decode10), cmocka_unit_test(test_partial_unaligned), cmocka_unit_test(test_bad),
    cmocka_unit_test(test_dtype),    cmocka_unit_test(test_no_listener), cmocka_unit_test(test_two_endpoints), cmocka_unit_test(test_seeds),
  };
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  Fill();
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  if (PetscFinalize()) return 1;
  return rc;
}
