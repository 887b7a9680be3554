/* The Karabo bridge message decoder (include/mxpcs/bridge.h): frames in, an MxBridgeTrain out.
   Pure C, no sockets, no PETSc: any byte sequence gives 0 or 1 (tests/fuzz/fuzz_bridge.c).
   Protocol facts: docs/reference/karabo-bridge.md sections 2 and 3.

   msgpack-c allocates a container's n elements before reading them, so every frame is first
   walked without allocating (MpCheck): each count must fit in the bytes left, nesting is bounded,
   the frame holds exactly one object. Only then does msgpack_unpack_next run on it. Strings and
   BIN data of the unpacked objects point into the frame (msgpack-c does not copy them). */
#include <mxpcs/bridge.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MP_MAXDEPTH     16      /* headers and bodies nest 2-3 deep */
#define BR_MAXFRAMES    65536   /* 2.2: 2 per source + 2 per array */
#define BR_MAXSOURCES   4096
#define BR_MAXARRAYS    65536   /* per message */
#define BR_MAXNUMBERS   1048576 /* per message */

struct _p_MxBridgeDecoder {
  MxBridgeTrain   train;
  MxBridgeSource *src;
  int             nsrc, capsrc;
  MxBridgeArray  *arr; /* all arrays of the message, grouped by source */
  int             narr, caparr;
  void          **own; /* per array slot: an aligned copy when the message's bytes are not aligned */
  size_t         *owncap;
  int             capown;
  char (*nkey)[128];
  double          *nval;
  int              nnum, capkey, capval;
  msgpack_unpacked up;
  char            *err;
  size_t           errlen;
};

static int Fail(MxBridgeDecoder d, const char *fmt, ...)
{
  va_list ap;
  if (d->errlen) {
    va_start(ap, fmt);
    vsnprintf(d->err, d->errlen, fmt, ap);
    va_end(ap);
  }
  return 1;
}

/* Big-endian integer of n bytes at p. */
static uint64_t BE(const unsigned char *p, int n)
{
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

/* Walk one msgpack object in p[0, len) without allocating: 0 when p holds exactly one object,
   every container's count fits in the bytes left and nesting is at most MP_MAXDEPTH; else 1 and why. */
static int MpCheck(const unsigned char *p, size_t len, const char **why)
{
  uint64_t pending[MP_MAXDEPTH + 1];
  int      depth = 0;
  size_t   off   = 0;

  pending[0] = 1;
  for (;;) {
    while (depth > 0 && pending[depth] == 0) depth--;
    if (pending[depth] == 0) break;
    pending[depth]--;
    if (off >= len) return *why = "truncated msgpack", 1;
    unsigned c = p[off++];
    int      lenbytes = 0; /* bytes of a length field that follows */
    uint64_t skip = 0, items = 0;
    int      container = 0, kind = 0; /* kind: 1 str/bin, 2 ext (type byte after the length) */
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
    } else if (c <= 0x8f) {
      items = 2 * (uint64_t)(c & 0xf), container = 1;
    } else if (c <= 0x9f) {
      items = c & 0xf, container = 1;
    } else if (c <= 0xbf) {
      skip = c & 0x1f;
    } else {
      switch (c) {
      case 0xc4: case 0xd9: lenbytes = 1, kind = 1; break;
      case 0xc5: case 0xda: lenbytes = 2, kind = 1; break;
      case 0xc6: case 0xdb: lenbytes = 4, kind = 1; break;
      case 0xc7: lenbytes = 1, kind = 2; break;
      case 0xc8: lenbytes = 2, kind = 2; break;
      case 0xc9: lenbytes = 4, kind = 2; break;
      case 0xca: case 0xce: case 0xd2: skip = 4; break;
      case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
      case 0xcc: case 0xd0: skip = 1; break;
      case 0xcd: case 0xd1: skip = 2; break;
      case 0xd4: skip = 2; break;
      case 0xd5: skip = 3; break;
      case 0xd6: skip = 5; break;
      case 0xd7: skip = 9; break;
      case 0xd8: skip = 17; break;
      case 0xdc: lenbytes = 2, container = 1; break;
      case 0xdd: lenbytes = 4, container = 1; break;
      case 0xde: lenbytes = 2, container = 2; break;
      case 0xdf: lenbytes = 4, container = 2; break;
      default: return *why = "invalid msgpack type byte 0xc1", 1;
      }
    }
    if (lenbytes) {
      if (len - off < (size_t)lenbytes) return *why = "truncated msgpack", 1;
      uint64_t n = BE(p + off, lenbytes);
      off += lenbytes;
      if (container == 1) items = n;
      else if (container == 2) items = 2 * n;
      else skip = n + (kind == 2);
    }
    if (skip > len - off) return *why = "truncated msgpack", 1;
    off += skip;
    if (container) {
      if (items > len - off) return *why = "msgpack container count larger than the frame", 1;
      if (items) {
        if (depth == MP_MAXDEPTH) return *why = "msgpack nested too deeply", 1;
        pending[++depth] = items;
      }
    }
  }
  if (off != len) return *why = "trailing bytes after the msgpack object", 1;
  return 0;
}

/* Unpack frame i into d->up (checked first). */
static int Unpack(MxBridgeDecoder d, const void *frame, size_t size, int i, const char *what)
{
  const char *why = NULL;
  size_t      off = 0;
  if (size >= 6 && !memcmp(frame, "Error:", 6)) {
    int n = size > 120 ? 120 : (int)size;
    return Fail(d, "the server replied '%.*s' (frame %d)", n, (const char *)frame, i);
  }
  if (MpCheck(frame, size, &why)) return Fail(d, "frame %d (%s): %s", i, what, why);
  if (msgpack_unpack_next(&d->up, frame, size, &off) != MSGPACK_UNPACK_SUCCESS || off != size) return Fail(d, "frame %d (%s): msgpack-c cannot unpack it", i, what);
  return 0;
}

static int IsStr(const msgpack_object *o)
{
  return o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN;
}
static const char *StrPtr(const msgpack_object *o)
{
  return o->type == MSGPACK_OBJECT_STR ? o->via.str.ptr : o->via.bin.ptr;
}
static uint32_t StrLen(const msgpack_object *o)
{
  return o->type == MSGPACK_OBJECT_STR ? o->via.str.size : o->via.bin.size;
}
static int StrEq(const msgpack_object *o, const char *s)
{
  size_t n = strlen(s);
  return IsStr(o) && StrLen(o) == n && !memcmp(StrPtr(o), s, n);
}
/* Copy a STR/BIN into buf (size cap) as a C string: 1 when it is not a string, holds a NUL or
   does not fit. */
static int StrCopy(const msgpack_object *o, char *buf, size_t cap)
{
  if (!IsStr(o) || StrLen(o) >= cap || memchr(StrPtr(o), 0, StrLen(o))) return 1;
  memcpy(buf, StrPtr(o), StrLen(o));
  buf[StrLen(o)] = 0;
  return 0;
}
/* The value of key in map o (STR or BIN key), or NULL. */
static const msgpack_object *MapGet(const msgpack_object *o, const char *key)
{
  if (o->type != MSGPACK_OBJECT_MAP) return NULL;
  for (uint32_t i = 0; i < o->via.map.size; i++)
    if (StrEq(&o->via.map.ptr[i].key, key)) return &o->via.map.ptr[i].val;
  return NULL;
}

int MxBridgeDtypeParse(const char dtype[], char *kind, int *itemsize, int *swap)
{
  static const struct {
    const char *name;
    char        kind;
    int         size;
  } native[] = {
    {"bool", 'b', 1},     {"int8", 'i', 1},    {"int16", 'i', 2},   {"int32", 'i', 4},        {"int64", 'i', 8},
    {"uint8", 'u', 1},    {"uint16", 'u', 2},  {"uint32", 'u', 4},  {"uint64", 'u', 8},       {"float16", 'f', 2},
    {"float32", 'f', 4},  {"float64", 'f', 8}, {"complex64", 'c', 8}, {"complex128", 'c', 16},
  };
  const char *p = dtype;
  char        order;
  long        n = 0;

  *swap = 0;
  for (size_t i = 0; i < sizeof native / sizeof native[0]; i++)
    if (!strcmp(dtype, native[i].name)) return *kind = native[i].kind, *itemsize = native[i].size, 0;
  order = (*p == '<' || *p == '>' || *p == '|' || *p == '=') ? *p++ : '=';
  if (!*p || !strchr("biufcS", *p)) return 1;
  *kind = *p++;
  if (!*p) return 1;
  for (; *p; p++) {
    if (*p < '0' || *p > '9' || n > 100000) return 1;
    n = 10 * n + (*p - '0');
  }
  if (n < 1) return 1;
  switch (*kind) {
  case 'b': if (n != 1) return 1; break;
  case 'i': case 'u': if (n != 1 && n != 2 && n != 4 && n != 8) return 1; break;
  case 'f': if (n != 2 && n != 4 && n != 8) return 1; break;
  case 'c': if (n != 8 && n != 16) return 1; break;
  default: break; /* 'S': any length */
  }
  if (order == '|' && *kind != 'S' && n != 1) return 1; /* numpy says '|' only where order does not matter */
  *itemsize = (int)n;
  *swap     = order == '>' && *kind != 'S' && n > 1;
  return 0;
}

static int Grow(void **p, int *cap, int need, size_t elsize)
{
  if (need <= *cap) return 0;
  int   ncap = *cap ? *cap : 8;
  void *q;
  while (ncap < need) ncap *= 2;
  if (!(q = realloc(*p, (size_t)ncap * elsize))) return 1;
  *p   = q;
  *cap = ncap;
  return 0;
}

int MxBridgeDecoderCreate(MxBridgeDecoder *dec)
{
  MxBridgeDecoder d = calloc(1, sizeof *d);
  if (!d) return 1;
  msgpack_unpacked_init(&d->up);
  *dec = d;
  return 0;
}

void MxBridgeDecoderDestroy(MxBridgeDecoder *dec)
{
  MxBridgeDecoder d = *dec;
  if (!d) return;
  msgpack_unpacked_destroy(&d->up);
  for (int i = 0; i < d->capown; i++) free(d->own[i]);
  free(d->own);
  free(d->owncap);
  free(d->src);
  free(d->arr);
  free(d->nkey);
  free(d->nval);
  free(d);
  *dec = NULL;
}

/* A new source (its arrays and numbers start at the current ends of the pools). */
static int AddSource(MxBridgeDecoder d, const msgpack_object *name, uint64_t tid, int i)
{
  MxBridgeSource *s;
  if (d->nsrc == BR_MAXSOURCES) return Fail(d, "more than %d sources", BR_MAXSOURCES);
  if (Grow((void **)&d->src, &d->capsrc, d->nsrc + 1, sizeof *d->src)) return Fail(d, "out of memory");
  s = &d->src[d->nsrc];
  memset(s, 0, sizeof *s);
  if (StrCopy(name, s->name, sizeof s->name)) return Fail(d, "frame %d: source name is not a string of at most %zu bytes", i, sizeof s->name - 1);
  s->train_id = tid;
  for (int j = 0; j < d->nsrc; j++)
    if (!strcmp(d->src[j].name, s->name)) return Fail(d, "frame %d: source %s sent twice", i, s->name);
  d->nsrc++;
  return 0;
}

/* The train ID of a metadata map (timestamp.tid). */
static int MetaTid(MxBridgeDecoder d, const msgpack_object *meta, const msgpack_object *src, int i, uint64_t *tid)
{
  const msgpack_object *t = meta ? MapGet(meta, "timestamp.tid") : NULL;
  if (!t || t->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
    int n = IsStr(src) && StrLen(src) < 256 ? (int)StrLen(src) : 0;
    return Fail(d, "frame %d: source %.*s: no metadata timestamp.tid (train ID)", i, n, n ? StrPtr(src) : "");
  }
  *tid = t->via.u64;
  return 0;
}

static int AddNumber(MxBridgeDecoder d, const msgpack_object *key, double v)
{
  if (d->nnum == BR_MAXNUMBERS) return Fail(d, "more than %d body numbers", BR_MAXNUMBERS);
  if (Grow((void **)&d->nkey, &d->capkey, d->nnum + 1, sizeof *d->nkey) || Grow((void **)&d->nval, &d->capval, d->nnum + 1, sizeof *d->nval)) return Fail(d, "out of memory");
  if (StrCopy(key, d->nkey[d->nnum], sizeof d->nkey[0])) return 0; /* a key nobody can look up: skipped */
  d->nval[d->nnum++] = v;
  d->src[d->nsrc - 1].nnumbers++;
  return 0;
}

/* A numpy scalar as msgpack_numpy sends it (1.0): {nd: false, type, data}; 1 when it is not a number. */
static int NumpyScalar(const msgpack_object *o, double *v)
{
  const msgpack_object *t = MapGet(o, "type"), *data = MapGet(o, "data");
  char                  dt[16], kind;
  int                   size, swap;
  unsigned char         b[8];
  if (!t || !data || StrCopy(t, dt, sizeof dt) || MxBridgeDtypeParse(dt, &kind, &size, &swap) || swap || !IsStr(data) || StrLen(data) != (uint32_t)size || size > 8) return 1;
  memcpy(b, StrPtr(data), size);
  switch (kind) {
  case 'b': *v = b[0] != 0; return 0;
  case 'u': { uint64_t u = 0; memcpy(&u, b, size); *v = (double)u; return 0; } /* little-endian host */
  case 'i': {
    int64_t x = 0;
    if (size == 1) x = (int8_t)b[0];
    else if (size == 2) { int16_t y; memcpy(&y, b, 2); x = y; }
    else if (size == 4) { int32_t y; memcpy(&y, b, 4); x = y; }
    else memcpy(&x, b, 8);
    *v = (double)x;
    return 0;
  }
  case 'f':
    if (size == 4) { float f; memcpy(&f, b, 4); *v = f; return 0; }
    if (size == 8) { memcpy(v, b, 8); return 0; }
    return 1;
  default: return 1;
  }
}

/* One body entry: numbers kept, everything else skipped. */
static int BodyValue(MxBridgeDecoder d, const msgpack_object *key, const msgpack_object *val)
{
  switch (val->type) {
  case MSGPACK_OBJECT_POSITIVE_INTEGER: return AddNumber(d, key, (double)val->via.u64);
  case MSGPACK_OBJECT_NEGATIVE_INTEGER: return AddNumber(d, key, (double)val->via.i64);
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64: return AddNumber(d, key, val->via.f64);
  case MSGPACK_OBJECT_BOOLEAN: return AddNumber(d, key, val->via.boolean ? 1 : 0);
  default: return 0;
  }
}

/* A new array of the last source: its header fields checked, its bytes size-checked and aligned. */
static int AddArray(MxBridgeDecoder d, const msgpack_object *path, const msgpack_object *dtype, const msgpack_object *shape, const void *data, size_t size, const char *where)
{
  MxBridgeSource *s = &d->src[d->nsrc - 1];
  MxBridgeArray  *a;
  int             swap;
  uint64_t        n = 1;

  if (d->narr == BR_MAXARRAYS) return Fail(d, "%s: more than %d arrays", where, BR_MAXARRAYS);
  if (Grow((void **)&d->arr, &d->caparr, d->narr + 1, sizeof *d->arr)) return Fail(d, "out of memory");
  if (d->capown < d->caparr) { /* own/owncap follow arr, new slots empty */
    void  **own    = realloc(d->own, (size_t)d->caparr * sizeof *own);
    size_t *owncap = own ? realloc(d->owncap, (size_t)d->caparr * sizeof *owncap) : NULL;
    if (own) d->own = own;
    if (!own || !owncap) return Fail(d, "out of memory");
    d->owncap = owncap;
    for (int i = d->capown; i < d->caparr; i++) d->own[i] = NULL, d->owncap[i] = 0;
    d->capown = d->caparr;
  }
  a = &d->arr[d->narr];
  memset(a, 0, sizeof *a);
  if (!path || StrCopy(path, a->path, sizeof a->path)) return Fail(d, "%s: source %s: array path missing or not a string of at most %zu bytes", where, s->name, sizeof a->path - 1);
  if (!dtype || StrCopy(dtype, a->dtype, sizeof a->dtype)) return Fail(d, "%s: source %s, %s: dtype missing or not a short string", where, s->name, a->path);
  if (MxBridgeDtypeParse(a->dtype, &a->kind, &a->itemsize, &swap)) return Fail(d, "%s: source %s, %s: unknown dtype '%s'", where, s->name, a->path, a->dtype);
  if (swap) return Fail(d, "%s: source %s, %s: big-endian dtype '%s' (this client reads little-endian only)", where, s->name, a->path, a->dtype);
  if (!shape || shape->type != MSGPACK_OBJECT_ARRAY || shape->via.array.size > 8) return Fail(d, "%s: source %s, %s: shape missing or not a list of at most 8 sizes", where, s->name, a->path);
  a->ndim = (int)shape->via.array.size;
  for (int k = 0; k < a->ndim; k++) {
    const msgpack_object *e = &shape->via.array.ptr[k];
    if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER) return Fail(d, "%s: source %s, %s: shape entry %d is not a non-negative integer", where, s->name, a->path, k);
    a->shape[k] = e->via.u64;
    if (a->shape[k] && n > SIZE_MAX / a->shape[k]) n = SIZE_MAX; /* saturate: cannot match a real frame */
    else n *= a->shape[k];
  }
  if (n > SIZE_MAX / (uint64_t)a->itemsize || n * a->itemsize != size)
    return Fail(d, "%s: source %s, %s: %zu bytes for %s of %d dimensions (%llu elements of %d bytes)", where, s->name, a->path, size, a->dtype, a->ndim, (unsigned long long)n, a->itemsize);
  a->nbytes = size;
  a->data   = data;
  {
    size_t align = a->itemsize > 8 ? 8 : (size_t)a->itemsize;
    if (size && ((uintptr_t)data % align)) { /* unaligned in the message: an aligned copy */
      int i = d->narr;
      if (d->owncap[i] < size || !d->own[i]) {
        void *q = realloc(d->own[i], size);
        if (!q) return Fail(d, "out of memory");
        d->own[i] = q, d->owncap[i] = size;
      }
      memcpy(d->own[i], data, size);
      a->data = d->own[i];
    }
  }
  d->narr++;
  s->narrays++;
  return 0;
}

/* Protocol 2.2: header/body and header/array pairs. */
static int Decode22(MxBridgeDecoder d, int nframes, const void *const *frames, const size_t *sizes)
{
  for (int i = 0; i < nframes; i += 2) {
    const msgpack_object *h, *content, *src;
    char                  where[64];
    if (Unpack(d, frames[i], sizes[i], i, "header")) return 1;
    h = &d->up.data;
    if (h->type != MSGPACK_OBJECT_MAP) return Fail(d, "frame %d: header is not a map", i);
    src     = MapGet(h, "source");
    content = MapGet(h, "content");
    if (!src || !IsStr(src)) return Fail(d, "frame %d: header without a source name", i);
    if (!content || !IsStr(content)) return Fail(d, "frame %d: header without content", i);
    if (StrEq(content, "msgpack")) {
      uint64_t tid;
      if (MetaTid(d, MapGet(h, "metadata"), src, i, &tid) || AddSource(d, src, tid, i)) return 1;
      if (Unpack(d, frames[i + 1], sizes[i + 1], i + 1, "body")) return 1;
      const msgpack_object *body = &d->up.data;
      if (body->type != MSGPACK_OBJECT_MAP) return Fail(d, "frame %d: source %s: body is not a map", i + 1, d->src[d->nsrc - 1].name);
      for (uint32_t k = 0; k < body->via.map.size; k++) {
        const msgpack_object_kv *kv = &body->via.map.ptr[k];
        if (StrEq(&kv->key, "metadata")) continue; /* extra_data repeats the metadata in the body */
        if (BodyValue(d, &kv->key, &kv->val)) return 1;
      }
    } else if (StrEq(content, "array")) {
      if (!d->nsrc || !StrEq(src, d->src[d->nsrc - 1].name)) {
        int n = StrLen(src) < 256 ? (int)StrLen(src) : 256;
        return Fail(d, "frame %d: array of source %.*s does not follow that source's msgpack header", i, n, StrPtr(src));
      }
      snprintf(where, sizeof where, "frame %d", i + 1);
      if (AddArray(d, MapGet(h, "path"), MapGet(h, "dtype"), MapGet(h, "shape"), frames[i + 1], sizes[i + 1], where)) return 1;
    } else {
      int n = StrLen(content) < 32 ? (int)StrLen(content) : 32;
      return Fail(d, "frame %d: unknown content '%.*s'", i, n, StrPtr(content));
    }
  }
  return 0;
}

/* Protocol 1.0: one frame {source: {key: value | msgpack_numpy map, metadata: {...}}}. */
static int Decode10(MxBridgeDecoder d, const void *frame, size_t size)
{
  const msgpack_object *top;
  if (Unpack(d, frame, size, 0, "protocol 1.0 message")) return 1;
  top = &d->up.data;
  if (top->type != MSGPACK_OBJECT_MAP) return Fail(d, "protocol 1.0 message is not a map of sources");
  for (uint32_t k = 0; k < top->via.map.size; k++) {
    const msgpack_object *src = &top->via.map.ptr[k].key, *body = &top->via.map.ptr[k].val;
    uint64_t              tid;
    if (!IsStr(src)) return Fail(d, "protocol 1.0: source %u: name is not a string", k);
    if (body->type != MSGPACK_OBJECT_MAP) {
      int n = StrLen(src) < 256 ? (int)StrLen(src) : 256;
      return Fail(d, "protocol 1.0: source %.*s: data is not a map", n, StrPtr(src));
    }
    if (MetaTid(d, MapGet(body, "metadata"), src, 0, &tid) || AddSource(d, src, tid, 0)) return 1;
    for (uint32_t j = 0; j < body->via.map.size; j++) {
      const msgpack_object *key = &body->via.map.ptr[j].key, *val = &body->via.map.ptr[j].val;
      const msgpack_object *nd  = val->type == MSGPACK_OBJECT_MAP ? MapGet(val, "nd") : NULL;
      if (StrEq(key, "metadata")) continue;
      if (nd && nd->type == MSGPACK_OBJECT_BOOLEAN && nd->via.boolean) {
        const msgpack_object *data = MapGet(val, "data");
        char                  where[300];
        snprintf(where, sizeof where, "protocol 1.0");
        if (!data || !IsStr(data)) return Fail(d, "protocol 1.0: source %s: a numpy array without data", d->src[d->nsrc - 1].name);
        if (AddArray(d, key, MapGet(val, "type"), MapGet(val, "shape"), StrPtr(data), StrLen(data), where)) return 1;
      } else if (nd && nd->type == MSGPACK_OBJECT_BOOLEAN) {
        double v;
        if (!NumpyScalar(val, &v) && AddNumber(d, key, v)) return 1;
      } else if (BodyValue(d, key, val)) return 1;
    }
  }
  return 0;
}

int MxBridgeDecode(MxBridgeDecoder d, int nframes, const void *const *frames, const size_t *sizes, const MxBridgeTrain **tr, char *err, size_t errlen)
{
  int rc;

  d->err = err, d->errlen = errlen;
  if (errlen) err[0] = 0;
  *tr     = NULL;
  d->nsrc = d->narr = d->nnum = 0;
  memset(&d->train, 0, sizeof d->train);
  if (nframes <= 0) return Fail(d, "empty message");
  if (nframes > BR_MAXFRAMES) return Fail(d, "%d frames (at most %d)", nframes, BR_MAXFRAMES);
  if (nframes > 1 && nframes % 2) return Fail(d, "odd number of frames (%d): neither protocol 2.2 (pairs) nor 1.0 (one frame)", nframes);
  for (int i = 0; i < nframes; i++)
    if (!frames[i] && sizes[i]) return Fail(d, "frame %d: no data", i);
  rc = nframes == 1 ? Decode10(d, frames[0], sizes[0]) : Decode22(d, nframes, frames, sizes);
  if (rc) return 1;
  if (!d->nsrc) return Fail(d, "a message without sources");
  for (int j = 0, a0 = 0, n0 = 0; j < d->nsrc; j++) { /* each source's arrays and numbers are contiguous */
    MxBridgeSource *s = &d->src[j];
    if (s->train_id != d->src[0].train_id)
      return Fail(d, "inconsistent train IDs: source %s has %llu, source %s has %llu", d->src[0].name, (unsigned long long)d->src[0].train_id, s->name, (unsigned long long)s->train_id);
    s->arrays      = s->narrays ? d->arr + a0 : NULL;
    s->number_keys = s->nnumbers ? d->nkey + n0 : NULL;
    s->numbers     = s->nnumbers ? d->nval + n0 : NULL;
    a0 += s->narrays, n0 += s->nnumbers;
  }
  d->train.train_id = d->src[0].train_id;
  d->train.protocol = nframes == 1 ? 10 : 22;
  d->train.nsources = d->nsrc;
  d->train.sources  = d->src;
  *tr               = &d->train;
  return 0;
}

const MxBridgeArray *MxBridgeFind(const MxBridgeTrain *tr, const char source[], const char path[])
{
  if (!tr) return NULL;
  for (int i = 0; i < tr->nsources; i++) {
    const MxBridgeSource *s = &tr->sources[i];
    if (strcmp(s->name, source)) continue;
    for (int j = 0; j < s->narrays; j++)
      if (!strcmp(s->arrays[j].path, path)) return &s->arrays[j];
  }
  return NULL;
}

int MxBridgeFindNumber(const MxBridgeTrain *tr, const char source[], const char key[], double *value)
{
  if (!tr) return 0;
  for (int i = 0; i < tr->nsources; i++) {
    const MxBridgeSource *s = &tr->sources[i];
    if (strcmp(s->name, source)) continue;
    for (int j = 0; j < s->nnumbers; j++)
      if (!strcmp(s->number_keys[j], key)) return *value = s->numbers[j], 1;
  }
  return 0;
}
