/* MxDetCorr: the detector corrections analyze applies to every frame as it is read, before it is
   correlated: AGIPD data as EuXFEL's calibration delivers them (keV or ADU, offset residuals,
   common mode, noise, charge sharing, spikes) become photon counts. What MID's tools do and why:
   docs/reference/agipd-data.md section 2; options and how to check them: docs/analyze.md "Real
   AGIPD data".

   Order, per frame: values in photons (the reader divides by -reader_adu_per_photon); the common
   mode of each 64 x 64 ASIC subtracted; photonised; pixel-frames above -reader_max_photons
   flagged bad (a spike: the pixel leaves the train). Each works on one ASIC at a time, and a
   rank's pixel part is made of whole 64-row ASIC blocks (MxPartitionRows with align 64), so the
   results are the same at any rank count and partition. */
#pragma once
#include <mxpcs/reader.h>

#define MX_ASIC_SIDE 64   /* an AGIPD ASIC: 64 x 64 pixels, 2 x 8 per module */
#define MX_CM_WINDOW 0.5  /* photons: half width of the zero-photon window */
#define MX_CM_ITERS  4    /* window iterations, from the zero-photon peak */
#define MX_CM_NMIN   32   /* fewest good values in the window for an estimate */
#define MX_CM_RANGE  2.0f /* photons: the histogram spans [-RANGE, RANGE) */
#define MX_CM_BINS   256  /* its bins (1/64 photon) */
#define MX_CM_BINS_PER_PHOTON 64 /* MX_CM_BINS / (2 MX_CM_RANGE) */
#define MX_CM_ROW_STEP 4 /* an ASIC's common mode: from every 4th row (1024 of its 4096 values) */
#define MX_CM_ROW0   2    /* ... from row 2 on (rows 2, 6, ..., 62: not the double-size edge rows 0 and 63) */
#define MX_CM_HALF   16   /* bins: half width (1/4 photon) of the counts that find the zero-photon peak */
#define MX_DROPLET_MAXPIX 16 /* larger clusters are a bright region of neighbouring photons: rounded (and the cost bounded) */

typedef enum { MX_CM_NONE, MX_CM_ASIC, MX_CM_ASIC_CELL } MxCommonModeKind;
typedef enum { MX_PHOTONIZE_NONE, MX_PHOTONIZE_ROUND, MX_PHOTONIZE_THRESHOLD, MX_PHOTONIZE_DROPLET } MxPhotonizeKind;
extern const char *const MxCommonModeNames[];
extern const char *const MxPhotonizeNames[];

/* Kernels. */
/* The zero-photon level of one ASIC in one frame: rows x cols values v (photons) at row stride
   ld, bad values (b != 0) left out. The good values in [-MX_CM_RANGE, MX_CM_RANGE) are binned
   (bin floor((v + RANGE) * BINS / (2 RANGE)), in float). The start: with S(k) the count of
   the bins within MX_CM_HALF of bin k, k0 the first bin with S >= MX_CM_NMIN (none: no
   estimate), the centre of the bin of largest S in [k0, k0 + one photon) (the first of
   equals): the lowest-lying peak, the zero-photon one. From there, MX_CM_ITERS times: the
   count-weighted mean of the centres of the bins whose centre lies within MX_CM_WINDOW of the
   level. Returns the level, or 0 when fewer than MX_CM_NMIN values lie in the last window (no
   estimate; a level outside [-RANGE, RANGE) is not found); *nused gets their number (0 then), *var
   their variance about the level less the binning's (the electronic noise, photons^2). */
double MxCommonModeEstimate(const float *v, const unsigned char *b, int rows, int cols, size_t ld, int *nused, double *var);
/* The same from a histogram h of MX_CM_BINS counts, with nmin in place of MX_CM_NMIN. */
double MxCommonModeFromHistogram(const int *h, int nmin, int *nused, double *var);
/* The zero-photon level of one whole 64 x 64 ASIC (row stride ld), as analyze subtracts it:
   MxCommonModeEstimate of its rows MX_CM_ROW0, MX_CM_ROW0 + MX_CM_ROW_STEP, ... (1024 values),
   with MX_CM_NMIN / MX_CM_ROW_STEP (8) in place of MX_CM_NMIN. The common mode is one level per
   ASIC and frame, and 1024 values give it to about 0.13 / sqrt(900) = 0.004 photon; a
   histogram of all 4096 cost more than the read of the values. */
double MxCommonModeAsic(const float *v, const unsigned char *b, size_t ld, int *nused, double *var);
/* Photon counts in place: 0 below t, else floor(v - t) + 1 (t = 1/2: rounding, as midtools).
   Bad values (b != 0, may be NULL) are left as they are. */
void MxPhotonizeThreshold(float *v, const unsigned char *b, size_t n, float t);
/* Photon counts of one ASIC by droplets (after Xana's Xdrop): values below bg are zeroed; each
   4-connected cluster of good values >= bg (never crossing the ASIC) of at most
   MX_DROPLET_MAXPIX pixels gets n = floor(sum + 1/2) photons, placed one at a time on the pixel
   with the largest remaining value (ties: the first in row-major order), which then loses one
   photon; larger clusters (neighbouring photons in a bright region) are rounded pixel by pixel.
   Charge a photon shares between pixels is counted once. rows, cols <= MX_ASIC_SIDE (each row a
   64-bit mask of the pixels with charge: single-pixel droplets found by word operations, the
   others grown by a flood fill of the masks). counts (may be NULL) gains the good values the
   droplets changed (by more than 1e-3) and those whose count differs from rounding. Returns the
   number of clusters. */
int MxPhotonizeDroplet(float *v, const unsigned char *b, int rows, int cols, size_t ld, float bg, long counts[2]);

/* What the corrections did, summed over pixel-frames (per module where it says so). */
typedef struct {
  double cm_n[MX_NMOD], cm_sum[MX_NMOD], cm_sq[MX_NMOD]; /* ASIC-frames with an estimate; sum, sum of squares of the level */
  double cm_none[MX_NMOD];                               /* ASIC-frames without one (too few zero-photon pixels) */
  double noise_n[MX_NMOD], noise_sum[MX_NMOD];           /* values in the windows, and their summed squared deviations */
  double good;                                           /* good pixel-frames corrected */
  double changed_cm;                                     /* ... whose rounded count the common mode changed */
  double changed_ph;                                     /* ... whose value photonisation changed (by > 1e-3 photon) */
  double changed_droplet;                                /* ... whose droplet count differs from rounding */
  double spikes;                                         /* ... flagged above -reader_max_photons */
  double hist[3];                                        /* ring pixel-frames with 0, 1, 2+ photons (rounded values when not photonised) */
  double t;                                              /* seconds spent (the reader thread's) */
} MxDetCorrStats;

typedef struct _p_MxDetCorr *MxDetCorr;

/* Object. Options (read by MxDetCorrSetFromOptions): -reader_common_mode none|asic|asic+cell,
   -reader_photonize none|round|threshold|droplet, -reader_photon_threshold t, -reader_cell_trains K,
   -reader_droplet_bg bg, -reader_max_photons P. Defaults: asic, droplet (background 0.5), 40. Collective. */
PetscErrorCode MxDetCorrCreate(MPI_Comm comm, MxDetCorr *dc);
PetscErrorCode MxDetCorrSetFromOptions(MxDetCorr dc);
/* The run holds raw data: common mode and photonisation off, an error when the options asked
   for them. Collective. */
PetscErrorCode MxDetCorrSetRaw(MxDetCorr dc, PetscBool raw);
/* Whether any correction works on ASICs (then the pixel parts must be whole ASIC blocks), and
   whether any is on at all. Not collective. */
PetscErrorCode MxDetCorrGetAlign(MxDetCorr dc, int *align, PetscBool *on);
/* This rank's pixels: the row ranges of a frame (each starting and ending on an ASIC block when
   align is 64) and which of their pixels are ring pixels (npix flags, may be NULL). Not
   collective. */
PetscErrorCode MxDetCorrSetUp(MxDetCorr dc, int nranges, const MxRowRange ranges[], const unsigned char *ring);
/* Corrects the values [off, off + n) of one frame in place (whole ranges), flags spikes in b.
   count: add to the statistics (the trains this rank owns, not a neighbour read twice). No MPI,
   HDF5 or PETSc calls: runs on the reader thread. */
void MxDetCorrFrame(MxDetCorr dc, PetscInt f, size_t off, size_t n, float *v, unsigned char *b);
/* asic+cell: the memory-cell term, a residual offset per (frame of the train, pixel): the mean
   over the first -reader_cell_trains trains of the run of each pixel's values within 0.5 photon
   of its ASIC's level, less the level. Reads those trains (every rank its pixel part: the same
   trains at any rank count and partition). Collective. */
PetscErrorCode MxDetCorrCellOffsets(MxDetCorr dc, MxReader r, PetscInt nf, PetscInt ntrains, int nranges, const MxRowRange ranges[]);
void MxDetCorrSetCounting(MxDetCorr dc, PetscBool count);
/* While probe is not NULL, every frame's statistics go there instead (a probe of the data
   before the run). Not collective. */
void MxDetCorrSetProbe(MxDetCorr dc, MxDetCorrStats *probe);
/* The settings; the statistics of the reads since the last flush (one train: the caller flushes
   after each read, into its checkpointed sums, or into NULL to drop them: a train read again),
   and the sum of every rank's sums onto every rank (collective). */
PetscErrorCode MxDetCorrGetKinds(MxDetCorr dc, MxCommonModeKind *cm, MxPhotonizeKind *ph, double *threshold, double *max_photons);
void           MxDetCorrFlush(MxDetCorr dc, MxDetCorrStats *into);
PetscErrorCode MxDetCorrStatsReduce(const MxDetCorrStats *local, MPI_Comm comm, MxDetCorrStats *sum);
/* One-line description of the corrections ("common mode asic, photonise round, ..."). */
PetscErrorCode MxDetCorrDescribe(MxDetCorr dc, char *buf, size_t len);
PetscErrorCode MxDetCorrDestroy(MxDetCorr *dc);
