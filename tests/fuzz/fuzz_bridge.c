/* libFuzzer target: the Karabo bridge message decoder (src/online/decode.c) on arbitrary frames.
   Input: a 2-byte little-endian frame count (at most 64 used), then per frame a 4-byte little-endian
   size and that many bytes (a size past the end takes what is left). Each frame is copied into a
   buffer of its own, exactly its size, so ASan sees any read past a frame. Any input must decode
   (0) or be refused with a reason (1), never crash, leak or hit undefined behaviour. Seeds:
   tests/fuzz/seeds/bridge (written by tests/unit/test_bridge.c with MX_BRIDGE_SEEDS=DIR). */
#include <mxpcs/bridge.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXFRAMES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static MxBridgeDecoder dec; /* reused across inputs, as the client reuses it across trains */
  void                  *frames[MAXFRAMES];
  size_t                 sizes[MAXFRAMES], off = 2;
  int                    want, n = 0, rc;
  const MxBridgeTrain   *tr;
  char                   err[256];

  if (!dec && MxBridgeDecoderCreate(&dec)) abort();
  if (size < 2) return 0;
  want = data[0] | data[1] << 8;
  if (want > MAXFRAMES) want = MAXFRAMES;
  while (n < want && size - off >= 4) {
    uint32_t s;
    memcpy(&s, data + off, 4);
    off += 4;
    if (s > size - off) s = (uint32_t)(size - off);
    frames[n] = malloc(s ? s : 1);
    memcpy(frames[n], data + off, s);
    sizes[n++] = s;
    off += s;
  }
  rc = MxBridgeDecode(dec, n, (const void *const *)frames, sizes, &tr, err, sizeof err);
  if (rc != 0 && rc != 1) abort();
  if (rc == 0) { /* touch every array byte and every number: they must lie inside the frames */
    volatile unsigned char sum = 0;
    if (!tr || tr->nsources < 1) abort();
    for (int i = 0; i < tr->nsources; i++) {
      const MxBridgeSource *s = &tr->sources[i];
      if (s->train_id != tr->train_id || strnlen(s->name, sizeof s->name) == sizeof s->name) abort();
      for (int j = 0; j < s->narrays; j++)
        for (size_t k = 0; k < s->arrays[j].nbytes; k++) sum += ((const unsigned char *)s->arrays[j].data)[k];
      for (int j = 0; j < s->nnumbers; j++) {
        unsigned char b[sizeof(double)];
        if (strnlen(s->number_keys[j], sizeof s->number_keys[j]) == sizeof s->number_keys[j]) abort();
        memcpy(b, &s->numbers[j], sizeof b); /* the bytes: a cast of any double to a byte is UB */
        sum += b[0];
      }
    }
    (void)sum;
  } else if (!err[0] || tr) abort();
  for (int i = 0; i < n; i++) free(frames[i]);
  return 0;
}
