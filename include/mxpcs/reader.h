/* MxReader: European XFEL AGIPD-1M run directories (raw RAW-* and corrected CORR-*), read in
   parallel. Layout and rules: docs/reference/euxfel-format.md sections 1.1-1.8.

   Ranks form a 2-D grid: train blocks x pixel parts (-reader_pixel_parts P). Rank
   r = itb*P + ipp reads the contiguous trains of block itb and, within them, only the module
   rows of pixel part ipp (HDF5 hyperslabs). Frames never leave the rank that read them. */
#pragma once
#include <mxpcs/sys.h>

/* Rows [ss0, ss1) of one module. */
typedef struct {
  int module, ss0, ss1;
} MxRowRange;

typedef struct _p_MxReader *MxReader;

/* Kernels. */
/* Number of leading non-zero train IDs of a (zero-padded) INDEX/trainId array. */
size_t MxIndexValidCount(const uint64_t *tid, size_t n);
/* Split rows (weight per (module,row): MX_NMOD*MX_NSS entries, e.g. ring pixels per row)
   into nparts contiguous parts of nearly equal weight (each within one unit's weight of
   total/nparts); units are blocks of align rows (1, or 64 for whole ASIC blocks), read whole
   when any of their rows has weight > 0. Part ipart's row ranges (maximal runs of such units)
   are written to ranges, which must hold MX_NMOD*MX_NSS/2+1 entries, their count to *nranges. */
void MxPartitionRows(const double *row_weight, int align, int nparts, int ipart, MxRowRange *ranges, int *nranges);

typedef enum { MX_INFLATE_LIBDEFLATE, MX_INFLATE_ISAL, MX_INFLATE_ZLIB } MxInflateKind;
typedef struct _MxInflater *MxInflater;
/* Kernels: inflate a zlib stream of exactly outlen bytes (0: done; else corrupt or short);
   undo HDF5's byte shuffle of n elements of elsize bytes. */
int  MxInflaterCreate(MxInflateKind kind, MxInflater *inf);
int  MxInflate(MxInflater inf, const void *in, size_t inlen, void *out, size_t outlen);
void MxInflaterDestroy(MxInflater *inf);
void MxUnshuffle(const unsigned char *in, size_t nbytes, size_t elsize, unsigned char *out);
/* The whole chunk index of dataset d, (N, 512, 128) of 4-byte elements in (c0, 512, 128) chunks,
   read once from the file's bytes (fd: the file, opened for reading; src/reader/chunkindex.c):
   caddr[c] the file address of chunk c (notdirect where it is not allocated or a filter was
   skipped for it) and csize[c] its stored bytes, c < nchunks. Returns 0, or 1 when the file's
   layout is not one this reads (HDF5 1.10's default: a version-3 layout message and a version-1
   B-tree; the 1.10 format's fixed array) or fails a check; the arrays are then untouched. */
int MxH5ChunkIndex(hid_t d, int fd, size_t c0, size_t nchunks, uint64_t *caddr, uint32_t *csize, uint64_t notdirect);
/* Kernel: n values of one frame in photons: bad = user mask um or file mask fl set (either may be
   NULL) or not finite, v = 0 where bad else v * scale; returns the non-finite values nothing
   flagged. The one pass of both read paths. */
size_t MxReaderFinishRows(float *v, unsigned char *b, const uint8_t *um, const unsigned char *fl, size_t n, float scale);

/* Object. */
PetscErrorCode MxReaderCreate(MPI_Comm comm, MxReader *r);
PetscErrorCode MxReaderSetRunDir(MxReader r, const char dir[]);
/* Options: -run DIR, -reader_modules 3,4,15, -reader_trains first:last (positions in the run's
   train list), -reader_train_ids first:last, -reader_pulses first:last, -reader_pulse_by
   index|cell, -reader_adu_per_photon A, -reader_direct, -reader_async,
   -reader_inflate libdeflate|isal|zlib, -reader_skip_suspect, -reader_skip_inconsistent,
   -reader_pixel_parts P, -mask_file F.h5, -reader_view [viewer] (MxReaderSetView). Collective. */
PetscErrorCode MxReaderSetFromOptions(MxReader r);
/* Scan the run (rank 0 reads every INDEX, all ranks receive the table), align trains by ID,
   apply selections, build the rank grid. Collective; errors name file, dataset and train. */
PetscErrorCode MxReaderSetUp(MxReader r);

/* The run's METADATA: creation time as ISO 8601 UTC ("" when the files do not say), proposal
   and run numbers (0 when absent), and the run directory read. */
typedef struct {
  char     created[32];
  unsigned proposal, run;
} MxRunInfo;
PetscErrorCode MxReaderGetRunInfo(MxReader r, MxRunInfo *info, const char **dir);
PetscErrorCode MxReaderGetTrains(MxReader r, PetscInt *ntrains, const uint64_t **train_ids);
/* Selected frames of a train: their count, pulseId and cellId (the run's pattern). */
PetscErrorCode MxReaderGetFrames(MxReader r, PetscInt *nframes, const uint64_t **pulse_ids, const uint64_t **cell_ids);
/* Modules present in the run and selected, ascending. */
PetscErrorCode MxReaderGetModules(MxReader r, PetscInt *nmod, const PetscInt **modules);
PetscErrorCode MxReaderIsRaw(MxReader r, PetscBool *raw);
/* Bit m set when module m has data in train itrain. */
PetscErrorCode MxReaderGetTrainModules(MxReader r, PetscInt itrain, PetscInt *bits);
/* The user mask (MX_NMOD*MX_MODPIX, nonzero = bad) or NULL. */
PetscErrorCode MxReaderGetUserMask(MxReader r, const unsigned char **mask);
/* Read -mask_file now, without a run (a stream); SetUp reads it otherwise. Collective, once. */
PetscErrorCode MxReaderLoadUserMask(MxReader r);

/* Rank grid. */
PetscErrorCode MxReaderGetLocalTrains(MxReader r, PetscInt *t0, PetscInt *t1);
PetscErrorCode MxReaderGetPixelPart(MxReader r, PetscInt *ipart, PetscInt *nparts);
/* pix_comm: ranks sharing this rank's trains (split pixels); train_comm: ranks with this
   rank's pixel part (split trains). Not owned. */
PetscErrorCode MxReaderGetComms(MxReader r, MPI_Comm *pix_comm, MPI_Comm *train_comm);

/* Where a rank's read time goes (seconds, bytes; summed over the reads since SetUp). */
typedef struct {
  double t_io, t_inflate, t_finish; /* pread, inflating deflate chunks, mask/NaN/scale pass (reader thread or inline) */
  double t_hdf5;                    /* reads through HDF5's own path (layouts the direct path does not cover) */
  double t_wait;                    /* the caller waiting in MxReaderReadEnd for the reader thread */
  double bytes;                     /* bytes read from the files */
  double chunks_inflated, chunks_reused; /* mask chunks inflated, and reused (same bytes as the cell's previous chunk) */
  double t_hook;                    /* the caller's per-train pass on the reader thread (MxReaderReadBegin's hook) */
  double t_hook_caller;             /* frame hooks run on the caller's thread while it waited (MxReaderHooks.share); not in t_wait */
  double ranges_direct, ranges_hdf5; /* module row ranges read by each path */
  double t_read_caller;              /* of t_hook_caller: pread, inflate and mask pass of the units the caller read (-reader_split) */
  double units_cached;               /* units of rows read into buffers that stay in the cache (MxReaderHooks.cache) */
  double index_whole, index_lookups; /* chunked datasets whose chunk index was read whole (MxH5ChunkIndex), chunks looked up one by one */
  double t_index;                    /* the main thread finding chunks: whole indexes and lookups */
} MxReadStats;

/* Read the selected frames of train itrain for the given row ranges, in photons.
   data and bad hold nframes x (sum of ranges' rows x 128), frame-major, ranges in order.
   bad = 1 where the file mask is set, the user mask is set, the value is NaN/inf or the
   module has no data in this train; data is 0 there. Checks that the rows read belong to the
   train (image/trainId) and carry the run's cellId pattern. Not collective: call
   MxErrorSync() on the communicator before the next collective. */
PetscErrorCode MxReaderRead(MxReader r, PetscInt itrain, int nranges, const MxRowRange ranges[], float *data, unsigned char *bad);
/* The same read, split: Begin plans it (HDF5 look-ups, row checks; on this thread) and leaves
   the reading, inflating and masking to the reader thread (-reader_async), End waits for it and
   returns its error. One read in flight; data and bad must not be touched in between. Not
   collective. The
   hooks (may be NULL) run as the train is read, on the reader thread (or on this thread for rows
   read through HDF5, before the thread starts): frame(ctx, f, off, n, v, b) once for every range
   and frame with its n finished values at pixel offset off of the frame (v, b point there),
   train(ctx, data, bad) once the whole train is read without error. They must not call MPI,
   HDF5 or PETSc. The frame hook may change the values and flag pixels bad in place (the
   detector corrections, MxDetCorr). share: the frame hook is heavy and may run for different
   pixels at the same time (a range's frames always in order, on one thread): the reader thread
   reads all ranges first, then the frame hooks of blocks of 64 rows go to whichever thread is
   free, the caller's too while it waits in MxReaderReadEnd. bad_scratch (not with share): the
   caller reads the bad flags in the frame hook only, so the direct path may hand it a scratch
   row instead of bad's (bad's rows read directly are then left as they were). Without share,
   -reader_split reads the train in units of rows (128, 64 with cache), each by whichever thread
   is free, the caller's too while it waits: the frame hooks of two units may then run at once,
   each unit's frames in order on one thread. */
typedef struct {
  void (*frame)(void *ctx, PetscInt f, size_t off, size_t n, float *v, unsigned char *b);
  void (*train)(void *ctx, const float *data, const unsigned char *bad);
  void *ctx;
  int   share;
  int   bad_scratch;
  /* range(ctx, off, n, v, ld) (may be NULL; not with share): once for every range, or part of a
     range, after its frames (and their frame hooks) are in, on the thread that read them while
     they are still in its cache: the n pixels at offset off of every frame are final (frame f's
     at v + f * ld); parts in any order, two at once with -reader_split. chain(ctx, off, n, c, v,
     ld) for c < nchain (NULL or 0: none): after
     the range hook of each part, chain c's parts in the pixels' order, one at a time; different
     chains may run at once. */
  void (*range)(void *ctx, size_t off, size_t n, const float *v, size_t ld);
  void (*chain)(void *ctx, size_t off, size_t n, int c, const float *v, size_t ld);
  int   nchain;
  /* cache (with split and bad_scratch): the direct path reads units of 64 rows into buffers of
     its own that stay in the cache, and data is not written there; the hooks see the values
     where they are: frame f of the part's pixel off + i at v[f * ld + i] (v and ld of the range
     and chain hooks; the frame hook's v). Only the range and chain hooks see a unit's frames
     together; after the last chain's hook of a unit its buffer is reused. */
  int cache;
} MxReaderHooks;
PetscErrorCode MxReaderReadBegin(MxReader r, PetscInt itrain, int nranges, const MxRowRange ranges[], float *data, unsigned char *bad, const MxReaderHooks *hooks);
PetscErrorCode MxReaderReadEnd(MxReader r);
PetscErrorCode MxReaderGetReadStats(MxReader r, MxReadStats *stats);
/* One line per rank (rank order, on comm): bytes read, by which path, the reader thread's time
   by part, relative to loop_s seconds of the caller's loop when > 0. Collective. */
PetscErrorCode MxReaderViewReadStats(MxReader r, MPI_Comm comm, double loop_s);
/* pulseId and cellId of train itrain's selected frames as stored (first module with data). */
PetscErrorCode MxReaderReadTrainIds(MxReader r, PetscInt itrain, uint64_t *pulse_ids, uint64_t *cell_ids);

/* X-ray gas monitor: per-pulse energies (uJ) of the selected frames of every train, E[itrain *
   nframes + k], NaN where the XGM has no record of the train. Frame k of the train is XGM pulse
   slot pulse_offset + its position in the train. where: a DA file or a directory of them, or ""
   to look in the run directory and its raw/ sibling (proc/r0123 -> raw/r0123); source: the
   XGM source name (e.g. SA2_XTD1_XGM/XGM/DOOCS:output) or "" for the first INSTRUMENT source
   named *XGM* with data/intensityTD. *found = 0 (not an error) when "" finds no XGM; used gets
   "file:source". Collective (rank 0 reads, all receive). */
PetscErrorCode MxReaderReadXgm(MxReader r, const char where[], const char source[], PetscInt pulse_offset, double *E, char used[], size_t len, PetscBool *found);

/* Everything `mxpcs info` prints: modules, files, trains, gaps, frames, anomalies. Collective. */
PetscErrorCode MxReaderView(MxReader r, PetscViewer v);
/* Where MxReaderSetUp prints MxReaderView (default none; -reader_view overrides; NULL: none).
   Not collective. */
PetscErrorCode MxReaderSetView(MxReader r, PetscViewer v);
/* Anomalies found while scanning ('\n'-separated lines) and how many trains were dropped. */
PetscErrorCode MxReaderGetAnomalies(MxReader r, PetscInt *n, const char **text, PetscInt *ndropped);
/* Pixel values of the last MxReaderRead that were NaN or inf where neither the file's mask nor
   the user mask flags the pixel (they are masked, and the caller counts them); and -strict. */
PetscErrorCode MxReaderGetLastNonFinite(MxReader r, double *n, PetscBool *strict, const char **dir);
/* -reader_share: heavy frame hooks are to be shared (MxReaderHooks.share) rather than run in the cache path. */
PetscErrorCode MxReaderGetShare(MxReader r, PetscBool *share);
/* Detector units per photon (-reader_adu_per_photon): frames are divided by it. */
PetscErrorCode MxReaderGetAduPerPhoton(MxReader r, double *adu);
PetscErrorCode MxReaderDestroy(MxReader *r);
