/* MxAnalyze: one run through SAXS, two-time correlation with the neighbour-train correction,
   age-resolved g2, contrast and fits (design.md sections 1-4; seed paper Methods).

   Ranks form the reader's grid (train blocks x pixel parts). The pixels of the q-rings are split
   over the pixel parts by rows (balanced by ring pixels); each rank reads its trains plus one
   halo train on each side, so the cross terms with the neighbouring trains need no
   communication; per-train ring sums are reduced within a train block, and the sums over trains
   once at the end. Memory per rank does not depend on the number of trains. */
#pragma once
#include <mxpcs/reader.h>
#include <mxpcs/rings.h>

typedef struct _p_MxAnalyze *MxAnalyze;

PetscErrorCode MxAnalyzeCreate(MPI_Comm comm, MxAnalyze *a);
/* Options: -g2_age_window N (pulses; default: those of the first 8.86 us), -g2_age_step S
   (sliding windows; default disjoint), -corr_xc 0|1, -corr_block, -saxs_nbins, -saxs_q_min,
   -saxs_q_max, -analyze_progress, and those of the reader (-reader_*), geometry (-geom_*),
   rings (-rings_*) and fits (-fit_*). Collective. */
PetscErrorCode MxAnalyzeSetFromOptions(MxAnalyze a);
PetscErrorCode MxAnalyzeSetUp(MxAnalyze a);
/* Read every train and accumulate; then fit. Collective. */
PetscErrorCode MxAnalyzeApply(MxAnalyze a);
/* Checkpoints go to DIR (one file per rank; "" = none). Options -analyze_checkpoint DIR,
   -analyze_checkpoint_interval S (seconds; also on SIGTERM/SIGUSR1, after which Apply stops
   with an error saying so), -analyze_restart 0|1 (resume from a matching checkpoint). Call
   before SetFromOptions to set the default. */
PetscErrorCode MxAnalyzeSetCheckpoint(MxAnalyze a, const char dir[]);
/* Remove this run's checkpoint (after the results are written). Collective. */
PetscErrorCode MxAnalyzeCheckpointRemove(MxAnalyze a);
/* Write results.h5 (atomically). Collective. */
PetscErrorCode MxAnalyzeWrite(MxAnalyze a, const char path[]);
PetscErrorCode MxAnalyzeView(MxAnalyze a, PetscViewer v);
/* The summary where -analyze_view says (default: standard output). Collective. */
PetscErrorCode MxAnalyzeViewFromOptions(MxAnalyze a);
PetscErrorCode MxAnalyzeDestroy(MxAnalyze *a);
