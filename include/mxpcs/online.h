/* MxOnline: live MHz-XPCS analysis of trains streamed over the Karabo bridge (mxpcs online).
   Rank 0 receives (include/mxpcs/bridge.h); each train's rows go to the ranks' pixel parts by
   MPI_Scatterv and through the same per-train step as the run's files (include/mxpcs/engine.h),
   neighbour-train term included, so that the final results equal `mxpcs analyze` of the same
   trains to rounding. Live results replace the output file atomically while the run goes on. */
#pragma once
#include <mxpcs/analyze.h>

typedef struct _p_MxOnline *MxOnline;

PetscErrorCode MxOnlineCreate(MPI_Comm comm, MxOnline *o);
/* Options: -bridge_* (the client), -online_trains N, -online_seconds S, -online_idle_s S,
   -online_update_trains N, -online_update_s S, -online_max_trains N, and analyze's. Collective. */
PetscErrorCode MxOnlineSetFromOptions(MxOnline o);
/* Receive, analyse and write `out` until a stop condition; then the final results. Collective. */
PetscErrorCode MxOnlineRun(MxOnline o, const char out[]);
PetscErrorCode MxOnlineDestroy(MxOnline *o);
