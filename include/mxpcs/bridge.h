/* MxBridge: a client of European XFEL's Karabo bridge (ZeroMQ + msgpack), protocols 2.2 and 1.0,
   one or several endpoints (one per module group) matched by train ID. Protocol facts:
   docs/reference/karabo-bridge.md; what is accepted and the options: docs/online.md.

   Two layers: MxBridgeDecoder, a pure function of a message's frames (no sockets, no PETSc, fuzzed
   by tests/fuzz/fuzz_bridge.c), and MxBridge, the sockets and the matching of endpoints. */
#pragma once
#include <mxpcs/sys.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _p_MxBridge *MxBridge;

/* One ndarray of a source. data is aligned to its item size (the decoder copies the few arrays
   whose bytes in the message are not). */
typedef struct {
  char        path[128]; /* key, e.g. "image.data" */
  char        dtype[16]; /* as sent: "float32", "uint32", "<f4", "|u1", "|S10", ... (never '>': that is BAD) */
  int         ndim;
  uint64_t    shape[8];
  const void *data;   /* borrowed from the received message: valid until the next MxBridgeNext or MxBridgeDestroy */
  size_t      nbytes; /* checked: prod(shape) * itemsize */
  char        kind;   /* numpy kind: 'f' float, 'i' signed, 'u' unsigned, 'b' bool, 'c' complex, 'S' bytes */
  int         itemsize;
} MxBridgeArray;

typedef struct {
  char           name[256]; /* source name, e.g. MID_DET_AGIPD1M-1/DET/3CH0:xtdf */
  uint64_t       train_id;  /* metadata timestamp.tid (2.2) or the 1.0 metadata */
  int            narrays;
  MxBridgeArray *arrays;
  int            nnumbers; /* body values that are numbers (ints, floats, bools), by key */
  char (*number_keys)[128];
  double        *numbers;
} MxBridgeSource;

typedef struct {
  uint64_t        train_id; /* the train's ID (all sources agree; else the decoder reports an error) */
  int             protocol; /* 22 or 10 */
  int             nsources;
  MxBridgeSource *sources;
} MxBridgeTrain;

typedef enum {
  MX_BRIDGE_OK,
  MX_BRIDGE_TIMEOUT,
  MX_BRIDGE_BAD
} MxBridgeStatus;

typedef enum {
  MX_BRIDGE_REQ,
  MX_BRIDGE_SUB,
  MX_BRIDGE_PULL
} MxBridgePattern;

/* Defaults only: no endpoint, REQ, timeout 5 s. comm: PETSC_COMM_SELF of the receiving rank. */
PetscErrorCode MxBridgeCreate(MPI_Comm comm, MxBridge *b);
/* Options: -bridge_endpoint tcp://HOST:PORT[,tcp://HOST2:PORT2...] (one per module group, as the
   online calibration serves them), -bridge_pattern req|sub|pull (default req: send "next", receive
   one train), -bridge_timeout_s S (receive timeout, default 5), -bridge_queue N (sub and pull: the
   trains ZeroMQ's receiving thread may hold while the client is busy, default 16). Not collective. */
PetscErrorCode MxBridgeSetFromOptions(MxBridge b);
/* Comma-separated ZeroMQ endpoints (at most 64), before SetUp. */
PetscErrorCode MxBridgeSetEndpoints(MxBridge b, const char endpoints[]);
PetscErrorCode MxBridgeSetPattern(MxBridge b, MxBridgePattern pattern);
PetscErrorCode MxBridgeSetTimeout(MxBridge b, double timeout_s);
/* Receive queue of SUB and PULL sockets, in trains (1..100000), before SetUp. */
PetscErrorCode MxBridgeSetQueue(MxBridge b, PetscInt trains);
/* Sockets: LINGER 0, RCVHWM the queue (1 for REQ; REQ also REQ_RELAXED + REQ_CORRELATE, SUB subscribed to ""), connect.
   Connecting never waits for a server. Idempotent. Errors name a malformed endpoint. */
PetscErrorCode MxBridgeSetUp(MxBridge b);
/* The next train: with several endpoints, one message from each, matched by train ID (an endpoint
   that is behind is read again until it catches up; trains only some endpoints sent are counted as
   dropped, see MxBridgeGetStats); the sources of all endpoints in one MxBridgeTrain (endpoint order,
   then message order). timeout_s < 0: -bridge_timeout_s. *st: OK; TIMEOUT (no complete train within
   timeout_s, or a signal interrupted the wait; trains already received stay for the next call);
   BAD (a message that cannot be decoded: garbage, wrong dtype/shape/size, inconsistent train IDs:
   MxBridgeLastError says what, naming the endpoint, the source and the train when known; the stream
   goes on with the next call). The train and its arrays stay valid until the next call. With REQ,
   a request left unanswered at a timeout is replaced by a new "next" on the next call.
   Not collective. */
PetscErrorCode MxBridgeNext(MxBridge b, double timeout_s, const MxBridgeTrain **tr, MxBridgeStatus *st);
/* One line on the last TIMEOUT or BAD ("" before any): what, and which endpoint. */
const char *MxBridgeLastError(MxBridge b);
/* received: trains returned OK; bad: messages that could not be decoded; dropped_unmatched: train IDs
   that some endpoints sent and others skipped (discarded). Any may be NULL. */
PetscErrorCode MxBridgeGetStats(MxBridge b, PetscInt *received, PetscInt *bad, PetscInt *dropped_unmatched);
/* Endpoint i (0 <= i < n) and the messages received from it so far (0: the endpoint never sent
   anything, e.g. nothing listens there). */
PetscErrorCode MxBridgeGetEndpoint(MxBridge b, PetscInt i, PetscInt *n, const char **endpoint, PetscInt *messages);
PetscErrorCode MxBridgeDestroy(MxBridge *b);

/* The pure decoder (no sockets; fuzzed): one message of nframes frames (protocol 2.2: header/body pairs
   and header/array pairs; 1.0: one frame holding {source: {key: value or msgpack_numpy map}}) into tr,
   arrays pointing into the frames. Returns 0, or 1 with a one-line reason in err. tr's memory is owned
   by dec (reused between calls). */
typedef struct _p_MxBridgeDecoder *MxBridgeDecoder;
int  MxBridgeDecoderCreate(MxBridgeDecoder *dec);
int  MxBridgeDecode(MxBridgeDecoder dec, int nframes, const void *const *frames, const size_t *sizes, const MxBridgeTrain **tr, char *err, size_t errlen);
void MxBridgeDecoderDestroy(MxBridgeDecoder *dec);
/* A numpy dtype string as the bridge sends it (native names "float32", "bool", or explicit
   "<f4", "|u1", "=i8", "|S10", ">u2"): 0 with its kind, item size and whether it is big-endian
   (*swap); 1 when unknown. */
int MxBridgeDtypeParse(const char dtype[], char *kind, int *itemsize, int *swap);

/* Find an array by source and key; NULL when absent. */
const MxBridgeArray *MxBridgeFind(const MxBridgeTrain *tr, const char source[], const char path[]);
/* Find a body number by source and key: 1 with *value, 0 when absent. */
int MxBridgeFindNumber(const MxBridgeTrain *tr, const char source[], const char key[], double *value);
