/* MxBridge (include/mxpcs/bridge.h): ZeroMQ sockets to one or several Karabo bridge endpoints, each
   message decoded by its endpoint's MxBridgeDecoder, endpoints matched by train ID.
   Socket rules: docs/reference/karabo-bridge.md sections 1, 6 and 7. */
#include <mxpcs/bridge.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define BR_MAXENDPOINTS 64
#define BR_MAXPARTS     65536 /* more frames than any message the decoder takes */

typedef struct {
  char            addr[256];
  void           *sock;
  MxBridgeDecoder dec;
  zmq_msg_t      *msgs; /* the parts of the message held (its train decoded, arrays pointing into it) */
  int             nmsgs, capmsgs;
  const void    **frames;
  size_t         *sizes;
  const MxBridgeTrain *train; /* the decoded train held, not yet returned; NULL when none */
  int             asked;      /* REQ: "next" sent, reply not yet received */
  PetscInt        messages;
} MxBridgeEndpoint;

struct _p_MxBridge {
  MPI_Comm         comm;
  char             endpoints[4096];
  MxBridgePattern  pattern;
  double           timeout_s;
  PetscInt         queue;    /* SUB, PULL: receive high-water mark, in trains */
  PetscBool        setup;
  void            *ctx;
  int              nep;
  MxBridgeEndpoint ep[BR_MAXENDPOINTS];
  int              returned; /* the last call returned a train: release every endpoint's message first */
  MxBridgeTrain    train;
  MxBridgeSource  *src;
  int              capsrc;
  char             err[1024];
  PetscInt         received, bad, dropped;
  uint64_t         last_dropped; /* dropped trains are counted once per train ID */
  PetscLogEvent    event;
};

static const char *const MxBridgePatterns[] = {"req", "sub", "pull", "MxBridgePattern", "MX_BRIDGE_", NULL};

PetscErrorCode MxBridgeCreate(MPI_Comm comm, MxBridge *b)
{
  MxBridge br;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&br));
  br->comm      = comm;
  br->pattern   = MX_BRIDGE_REQ;
  br->timeout_s = 5;
  br->queue     = 16;
  PetscCall(MxLogEventRegisterOnce("MxBridge", "MxBridgeNext", &br->event));
  *b = br;
  PetscFunctionReturn(0);
}

PetscErrorCode MxBridgeSetEndpoints(MxBridge b, const char endpoints[])
{
  PetscFunctionBeginUser;
  PetscCheck(!b->setup, b->comm, PETSC_ERR_ARG_WRONGSTATE, "MxBridgeSetEndpoints after MxBridgeSetUp");
  PetscCheck(strlen(endpoints) < sizeof b->endpoints, b->comm, PETSC_ERR_ARG_OUTOFRANGE, "-bridge_endpoint: %zu characters (at most %zu)", strlen(endpoints), sizeof b->endpoints - 1);
  PetscCall(PetscStrncpy(b->endpoints, endpoints, sizeof b->endpoints));
  PetscFunctionReturn(0);
}

PetscErrorCode MxBridgeSetPattern(MxBridge b, MxBridgePattern pattern)
{
  PetscFunctionBeginUser;
  PetscCheck(!b->setup, b->comm, PETSC_ERR_ARG_WRONGSTATE, "MxBridgeSetPattern after MxBridgeSetUp");
  b->pattern = pattern;
  PetscFunctionReturn(0);
}

PetscErrorCode MxBridgeSetTimeout(MxBridge b, double timeout_s)
{
  PetscFunctionBeginUser;
  PetscCheck(timeout_s >= 0, b->comm, PETSC_ERR_ARG_OUTOFRANGE, "-bridge_timeout_s %g: must be >= 0", timeout_s);
  b->timeout_s = timeout_s;
  PetscFunctionReturn(0);
}

PetscErrorCode MxBridgeSetQueue(MxBridge b, PetscInt trains)
{
  PetscFunctionBeginUser;
  PetscCheck(!b->setup, b->comm, PETSC_ERR_ARG_WRONGSTATE, "MxBridgeSetQueue after MxBridgeSetUp");
  PetscCheck(trains >= 1 && trains <= 100000, b->comm, PETSC_ERR_ARG_OUTOFRANGE, "-bridge_queue %" PetscInt_FMT ": must be in 1..100000", trains);
  b->queue = trains;
  PetscFunctionReturn(0);
}

PetscErrorCode MxBridgeSetFromOptions(MxBridge b)
{
  char      buf[4096];
  PetscBool set;
  PetscReal t = b->timeout_s;
  PetscEnum pat = (PetscEnum)b->pattern;

  PetscFunctionBeginUser;
  PetscOptionsBegin(b->comm, NULL, "Karabo bridge client", "MxBridge");
  PetscCall(PetscOptionsString("-bridge_endpoint", "ZeroMQ endpoints of the bridge, comma-separated (one per module group)", "MxBridgeSetEndpoints", b->endpoints, buf, sizeof buf, &set));
  if (set) PetscCall(MxBridgeSetEndpoints(b, buf));
  PetscCall(PetscOptionsEnum("-bridge_pattern", "req (send next, receive one train), sub (PUB server) or pull (PUSH server)", "MxBridgeSetPattern", MxBridgePatterns, pat, &pat, &set));
  if (set) PetscCall(MxBridgeSetPattern(b, (MxBridgePattern)pat));
  PetscCall(PetscOptionsReal("-bridge_timeout_s", "receive timeout (s)", "MxBridgeSetTimeout", t, &t, &set));
  if (set) PetscCall(MxBridgeSetTimeout(b, t));
  {
    PetscInt q = b->queue;
    PetscCall(PetscOptionsInt("-bridge_queue", "sub, pull: trains ZeroMQ's receiving thread holds while the client is busy (memory: up to this many trains; a PUB server drops what does not fit)", "MxBridgeSetQueue", q, &q, &set));
    if (set) PetscCall(MxBridgeSetQueue(b, q));
  }
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}

/* A socket of the pattern for endpoint e, connected. */
static PetscErrorCode OpenSocket(MxBridge b, MxBridgeEndpoint *e)
{
  static const int type[] = {ZMQ_REQ, ZMQ_SUB, ZMQ_PULL};
  int              zero = 0, one = 1;
  /* the receive high-water mark counts whole (multipart) messages, one train each: libzmq's I/O
     thread keeps draining the socket into this queue while the client decodes, correlates or
     writes, so that a PUB server, whose own send queue is one train (karabo_bridge's hwm 1), does
     not drop trains then. REQ has one train in flight anyway. */
  int              hwm = b->pattern == MX_BRIDGE_REQ ? 1 : (int)b->queue;

  PetscFunctionBeginUser;
  e->sock = zmq_socket(b->ctx, type[b->pattern]);
  PetscCheck(e->sock, b->comm, PETSC_ERR_LIB, "bridge %s: zmq_socket: %s", e->addr, zmq_strerror(zmq_errno()));
  PetscCheck(!zmq_setsockopt(e->sock, ZMQ_LINGER, &zero, sizeof zero) && !zmq_setsockopt(e->sock, ZMQ_RCVHWM, &hwm, sizeof hwm), b->comm, PETSC_ERR_LIB, "bridge %s: zmq_setsockopt: %s", e->addr, zmq_strerror(zmq_errno()));
  if (b->pattern == MX_BRIDGE_SUB) PetscCheck(!zmq_setsockopt(e->sock, ZMQ_SUBSCRIBE, "", 0), b->comm, PETSC_ERR_LIB, "bridge %s: subscribe: %s", e->addr, zmq_strerror(zmq_errno()));
  if (b->pattern == MX_BRIDGE_REQ) /* a new "next" after a timeout; a late reply to the old one is discarded */
    PetscCheck(!zmq_setsockopt(e->sock, ZMQ_REQ_RELAXED, &one, sizeof one) && !zmq_setsockopt(e->sock, ZMQ_REQ_CORRELATE, &one, sizeof one), b->comm, PETSC_ERR_LIB, "bridge %s: REQ options: %s", e->addr, zmq_strerror(zmq_errno()));
  PetscCheck(!zmq_connect(e->sock, e->addr), b->comm, PETSC_ERR_ARG_WRONG, "-bridge_endpoint %s: cannot connect: %s (expected tcp://HOST:PORT)", e->addr, zmq_strerror(zmq_errno()));
  PetscFunctionReturn(0);
}

PetscErrorCode MxBridgeSetUp(MxBridge b)
{
  const char *p = b->endpoints;

  PetscFunctionBeginUser;
  if (b->setup) PetscFunctionReturn(0);
  PetscCheck(b->endpoints[0], b->comm, PETSC_ERR_USER_INPUT, "no Karabo bridge endpoint: give -bridge_endpoint tcp://HOST:PORT");
  b->ctx = zmq_ctx_new();
  PetscCheck(b->ctx, b->comm, PETSC_ERR_LIB, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
  while (*p) {
    const char       *q = strchr(p, ',');
    size_t            n = q ? (size_t)(q - p) : strlen(p);
    MxBridgeEndpoint *e;
    while (n && (*p == ' ')) p++, n--;
    while (n && p[n - 1] == ' ') n--;
    PetscCheck(n, b->comm, PETSC_ERR_USER_INPUT, "-bridge_endpoint %s: an empty endpoint", b->endpoints);
    PetscCheck(b->nep < BR_MAXENDPOINTS, b->comm, PETSC_ERR_USER_INPUT, "-bridge_endpoint: more than %d endpoints", BR_MAXENDPOINTS);
    e = &b->ep[b->nep];
    PetscCheck(n < sizeof e->addr, b->comm, PETSC_ERR_USER_INPUT, "-bridge_endpoint: endpoint %.40s... too long", p);
    memcpy(e->addr, p, n);
    e->addr[n] = 0;
    for (int i = 0; i < b->nep; i++) PetscCheck(strcmp(b->ep[i].addr, e->addr), b->comm, PETSC_ERR_USER_INPUT, "-bridge_endpoint: %s given twice", e->addr);
    b->nep++;
    PetscCheck(!MxBridgeDecoderCreate(&e->dec), b->comm, PETSC_ERR_MEM, "bridge %s: cannot create the decoder", e->addr);
    PetscCall(OpenSocket(b, e));
    if (q) p = q + 1;
    else break;
  }
  b->setup = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static void Release(MxBridgeEndpoint *e)
{
  for (int i = 0; i < e->nmsgs; i++) zmq_msg_close(&e->msgs[i]);
  e->nmsgs = 0;
  e->train = NULL;
}

static double Now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Receive the message waiting on e (all its parts: ZeroMQ delivers them together) and decode it.
   *ok: 1 decoded (e->train set), 0 BAD (b->err says why), -1 nothing was there after all. */
static PetscErrorCode ReceiveOne(MxBridge b, MxBridgeEndpoint *e, int *ok)
{
  int  more = 1, rc;
  char why[768];

  PetscFunctionBeginUser;
  Release(e);
  *ok = -1;
  while (more) {
    if (e->nmsgs == e->capmsgs) {
      int ncap = e->capmsgs ? 2 * e->capmsgs : 16;
      PetscCall(PetscRealloc(sizeof(zmq_msg_t) * ncap, &e->msgs));
      PetscCall(PetscRealloc(sizeof(void *) * ncap, &e->frames));
      PetscCall(PetscRealloc(sizeof(size_t) * ncap, &e->sizes));
      e->capmsgs = ncap;
    }
    zmq_msg_init(&e->msgs[e->nmsgs]);
    rc = zmq_msg_recv(&e->msgs[e->nmsgs], e->sock, e->nmsgs ? 0 : ZMQ_DONTWAIT);
    if (rc < 0) {
      int err = zmq_errno();
      zmq_msg_close(&e->msgs[e->nmsgs]);
      PetscCheck(e->nmsgs == 0 && (err == EAGAIN || err == EINTR), b->comm, PETSC_ERR_LIB, "bridge %s: receiving part %d: %s", e->addr, e->nmsgs, zmq_strerror(err));
      Release(e);
      PetscFunctionReturn(0); /* nothing after all: not a message */
    }
    more = zmq_msg_more(&e->msgs[e->nmsgs]);
    e->nmsgs++;
    if (e->nmsgs == BR_MAXPARTS && more) { /* drain the rest (zmq_msg_recv frees what m held) and refuse it */
      zmq_msg_t m;
      zmq_msg_init(&m);
      while (zmq_msg_recv(&m, e->sock, 0) >= 0 && zmq_msg_more(&m)) {}
      zmq_msg_close(&m);
      Release(e);
      e->asked = 0;
      e->messages++;
      b->bad++;
      *ok = 0;
      snprintf(b->err, sizeof b->err, "bridge %s: bad message %lld: more than %d frames", e->addr, (long long)e->messages, BR_MAXPARTS);
      PetscFunctionReturn(0);
    }
  }
  e->asked = 0;
  e->messages++;
  for (int i = 0; i < e->nmsgs; i++) {
    e->frames[i] = zmq_msg_data(&e->msgs[i]);
    e->sizes[i]  = zmq_msg_size(&e->msgs[i]);
  }
  if (MxBridgeDecode(e->dec, e->nmsgs, e->frames, e->sizes, &e->train, why, sizeof why)) {
    Release(e);
    *ok = 0;
    b->bad++;
    snprintf(b->err, sizeof b->err, "bridge %s: bad message %lld: %s", e->addr, (long long)e->messages, why);
    PetscFunctionReturn(0);
  }
  *ok = 1;
  PetscFunctionReturn(0);
}

/* REQ: ask endpoint e for a train when it has none and no request is pending. */
static PetscErrorCode Ask(MxBridge b, MxBridgeEndpoint *e)
{
  PetscFunctionBeginUser;
  if (b->pattern != MX_BRIDGE_REQ || e->asked || e->train) PetscFunctionReturn(0);
  if (zmq_send(e->sock, "next", 4, ZMQ_DONTWAIT) == 4) e->asked = 1;
  else PetscCheck(zmq_errno() == EAGAIN || zmq_errno() == EINTR, b->comm, PETSC_ERR_LIB, "bridge %s: sending next: %s", e->addr, zmq_strerror(zmq_errno()));
  PetscFunctionReturn(0);
}

static PetscErrorCode Assemble(MxBridge b)
{
  int n = 0;

  PetscFunctionBeginUser;
  for (int i = 0; i < b->nep; i++) n += b->ep[i].train->nsources;
  if (n > b->capsrc) {
    PetscCall(PetscFree(b->src));
    PetscCall(PetscMalloc1(n, &b->src));
    b->capsrc = n;
  }
  n = 0;
  for (int i = 0; i < b->nep; i++) {
    PetscCall(PetscArraycpy(b->src + n, b->ep[i].train->sources, b->ep[i].train->nsources));
    n += b->ep[i].train->nsources;
  }
  b->train.train_id = b->ep[0].train->train_id;
  b->train.protocol = b->ep[0].train->protocol;
  b->train.nsources = n;
  b->train.sources  = b->src;
  PetscFunctionReturn(0);
}

PetscErrorCode MxBridgeNext(MxBridge b, double timeout_s, const MxBridgeTrain **tr, MxBridgeStatus *st)
{
  zmq_pollitem_t items[BR_MAXENDPOINTS];
  int            which[BR_MAXENDPOINTS];
  double         deadline;

  PetscFunctionBeginUser;
  PetscCall(MxBridgeSetUp(b));
  PetscCall(PetscLogEventBegin(b->event, 0, 0, 0, 0));
  *tr = NULL;
  *st = MX_BRIDGE_TIMEOUT;
  if (b->returned)
    for (int i = 0; i < b->nep; i++) Release(&b->ep[i]);
  b->returned = 0;
  deadline    = Now() + (timeout_s < 0 ? b->timeout_s : timeout_s);
  for (;;) {
    int      nwait = 0, rc, ok;
    uint64_t top   = 0;
    double   left;

    for (int i = 0; i < b->nep; i++) {
      MxBridgeEndpoint *e = &b->ep[i];
      PetscCall(Ask(b, e));
      if (e->train) continue;
      items[nwait] = (zmq_pollitem_t){.socket = e->sock, .events = ZMQ_POLLIN};
      which[nwait++] = i;
    }
    if (nwait == 0) { /* a train from every endpoint: matched, or the ones behind are read again */
      for (int i = 0; i < b->nep; i++) top = PetscMax(top, b->ep[i].train->train_id);
      for (int i = 0; i < b->nep; i++) {
        MxBridgeEndpoint *e = &b->ep[i];
        if (e->train->train_id == top) continue;
        if (e->train->train_id != b->last_dropped) b->dropped++; /* IDs rise: a repeat is the same train */
        b->last_dropped = e->train->train_id;
        Release(e);
        nwait++;
      }
      if (nwait) continue;
      PetscCall(Assemble(b));
      b->received++;
      b->returned = 1;
      *tr         = &b->train;
      *st         = MX_BRIDGE_OK;
      break;
    }
    left = deadline - Now();
    if (left < 0) left = 0;
    rc = zmq_poll(items, nwait, (long)(left * 1000 + 0.5));
    if (rc < 0) {
      PetscCheck(zmq_errno() == EINTR, b->comm, PETSC_ERR_LIB, "bridge: zmq_poll: %s", zmq_strerror(zmq_errno()));
      snprintf(b->err, sizeof b->err, "bridge: interrupted by a signal while waiting for a train");
      break;
    }
    if (rc == 0) { /* timeout: say who is missing; REQ requests left pending are replaced next call */
      size_t len = 0;
      len += snprintf(b->err + len, sizeof b->err - len, "no train within %g s from", timeout_s < 0 ? b->timeout_s : timeout_s);
      for (int k = 0; k < nwait && len < sizeof b->err; k++) {
        MxBridgeEndpoint *e = &b->ep[which[k]];
        len += snprintf(b->err + len, sizeof b->err - len, "%s %s%s", k ? "," : "", e->addr, e->messages ? "" : " (no train ever received from it)");
        e->asked = 0;
      }
      break;
    }
    for (int k = 0; k < nwait && *st != MX_BRIDGE_BAD; k++) {
      if (!(items[k].revents & ZMQ_POLLIN)) continue;
      PetscCall(ReceiveOne(b, &b->ep[which[k]], &ok));
      if (ok == 0) *st = MX_BRIDGE_BAD; /* reported now; the other endpoints' trains are kept for the next call */
    }
    if (*st == MX_BRIDGE_BAD) break;
  }
  PetscCall(PetscLogEventEnd(b->event, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

const char *MxBridgeLastError(MxBridge b)
{
  return b ? b->err : "";
}

PetscErrorCode MxBridgeGetStats(MxBridge b, PetscInt *received, PetscInt *bad, PetscInt *dropped_unmatched)
{
  PetscFunctionBeginUser;
  if (received) *received = b->received;
  if (bad) *bad = b->bad;
  if (dropped_unmatched) *dropped_unmatched = b->dropped;
  PetscFunctionReturn(0);
}

PetscErrorCode MxBridgeGetEndpoint(MxBridge b, PetscInt i, PetscInt *n, const char **endpoint, PetscInt *messages)
{
  PetscFunctionBeginUser;
  PetscCall(MxBridgeSetUp(b));
  if (n) *n = b->nep;
  PetscCheck(i >= 0 && i < b->nep, b->comm, PETSC_ERR_ARG_OUTOFRANGE, "bridge endpoint %" PetscInt_FMT " of %d", i, b->nep);
  if (endpoint) *endpoint = b->ep[i].addr;
  if (messages) *messages = b->ep[i].messages;
  PetscFunctionReturn(0);
}

PetscErrorCode MxBridgeDestroy(MxBridge *b)
{
  MxBridge br = *b;

  PetscFunctionBeginUser;
  if (!br) PetscFunctionReturn(0);
  for (int i = 0; i < br->nep; i++) {
    MxBridgeEndpoint *e = &br->ep[i];
    Release(e);
    if (e->sock) zmq_close(e->sock);
    MxBridgeDecoderDestroy(&e->dec);
    PetscCall(PetscFree(e->msgs));
    PetscCall(PetscFree(e->frames));
    PetscCall(PetscFree(e->sizes));
  }
  if (br->ctx) zmq_ctx_term(br->ctx); /* LINGER 0: does not wait */
  PetscCall(PetscFree(br->src));
  PetscCall(PetscFree(br));
  *b = NULL;
  PetscFunctionReturn(0);
}
