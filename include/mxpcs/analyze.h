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
#include <mxpcs/engine.h>

typedef struct _p_MxAnalyze *MxAnalyze;

PetscErrorCode MxAnalyzeCreate(MPI_Comm comm, MxAnalyze *a);
/* Options: -g2_age_window N (pulses; default: those of the first 8.86 us), -g2_age_step S
   (sliding windows; default disjoint), -corr_xc 0|1, -corr_block, -saxs_nbins, -saxs_q_min,
   -saxs_q_max, -analyze_progress, and those of the reader (-reader_*), geometry (-geom_*),
   rings (-rings_*) and fits (-fit_*). Collective. */
PetscErrorCode MxAnalyzeSetFromOptions(MxAnalyze a);
PetscErrorCode MxAnalyzeSetUp(MxAnalyze a);

/* A stream (mxpcs online) instead of the run's files: what the first train says of the run. */
typedef struct {
  PetscInt        nmod;          /* modules streamed */
  const PetscInt *mods;
  PetscInt        nf;            /* frames per train */
  const uint64_t *pulse_ids;     /* nf; kept (not owned) */
  PetscInt        max_trains;    /* room for this many trains */
  const uint64_t *train_ids;     /* max_trains: the caller fills train_ids[t] before train t's step; kept */
  const char     *ident;         /* the NXentry identifier, e.g. the endpoint */
  const char     *start_time;    /* ISO 8601 */
} MxStreamShape;
/* Set up for a stream: one train block (every rank holds a pixel part of every train, sums on
   rank 0), no train filters, no checkpoints. Then feed trains to MxAnalyzeGetEngine's MxEngineStep
   (each rank the rows of MxAnalyzeGetPixelRanges, in that order, frame after frame). Collective. */
PetscErrorCode MxAnalyzeSetUpStream(MxAnalyze a, const MxStreamShape *s);
PetscErrorCode MxAnalyzeGetEngine(MxAnalyze a, MxEngine *e);
PetscErrorCode MxAnalyzeGetPixelRanges(MxAnalyze a, int *n, const MxRowRange **ranges);
/* The reader (its options: -reader_adu_per_photon, ...). */
PetscErrorCode MxAnalyzeGetReader(MxAnalyze a, MxReader *r);
/* Rank 0 after the results: per ring q (1/A), contrast, Gamma per age window (nring x nwin, 1/s),
   D_eff (um^2/s), and the weighted mean D_eff. */
PetscErrorCode MxAnalyzeGetRingResults(MxAnalyze a, PetscInt *nring, PetscInt *nwin, const double **q, const double **beta, const double **gamma, const double **Deff, double *Deff_mean);
/* Write without the "wrote FILE" line (live results). */
PetscErrorCode MxAnalyzeSetWriteQuiet(MxAnalyze a, PetscBool quiet);
/* The XGM options as a stream uses them: *off when -analyze_xgm off; -analyze_xgm_source (""
   = the first source named *XGM* with data.intensityTD) and -analyze_xgm_pulse_offset (the pulse
   slot of the train's first frame). A stream's trains are not filtered by their XGM record. */
PetscErrorCode MxAnalyzeGetXgmOptions(MxAnalyze a, PetscBool *off, const char **source, PetscInt *offset);
/* A stream's XGM record for the results, as analyze writes it for files (pulse energy per frame,
   mean over the trains with a record; trains without one): sum (nf, uJ) over the nwith trains
   that had a complete record, nwithout trains that had none, source "" when the stream had no
   XGM source (then nothing is written). Rank 0's values are used. Collective. */
PetscErrorCode MxAnalyzeSetStreamXgm(MxAnalyze a, const double *sum, PetscInt nwith, PetscInt nwithout, const char source[]);
/* Results of the first nseen trains of a stream (can be repeated: live results); final: the
   last train closes without a successor first. Then MxAnalyzeWrite. Collective. */
PetscErrorCode MxAnalyzeStreamResults(MxAnalyze a, PetscInt nseen, PetscBool final);
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
