/* mxpcs system layer: error bridges, collective error agreement, option parsing helpers,
   HDF5 helpers and atomic output files. */
#pragma once
#include <petscsys.h>
#include <petscviewer.h>
#include <hdf5.h>
#include <stdint.h>

#define MX_NMOD 16   /* AGIPD-1M modules */
#define MX_NSS  512  /* slow-scan rows per module */
#define MX_NFS  128  /* fast-scan columns per module */
#define MX_MODPIX (MX_NSS * MX_NFS)

/* Bridge an HDF5 call (herr_t or hid_t < 0 means failure) into a PetscErrorCode. */
#define MxH5Call(expr, comm, ...) \
  do { \
    if ((expr) < 0) SETERRQ((comm), PETSC_ERR_FILE_READ, __VA_ARGS__); \
  } while (0)

/* Install the mxpcs error handler: remembers the first message, prints nothing itself.
   Not collective. */
PetscErrorCode MxErrorInstall(void);
/* The message of the error being propagated ("" if none), and whether it was raised on a
   communicator spanning all ranks of PETSC_COMM_WORLD. Not collective. */
const char *MxErrorMessage(PetscBool *collective);
/* Clear the stored error. Not collective. */
void MxErrorClear(void);

/* Collective agreement on a local error code: if any rank of comm failed, every rank returns
   an error carrying the message of the lowest failing rank. Use after work that only some
   ranks do (file reads), before any other collective, so no rank is left waiting.
   Collective on comm. */
PetscErrorCode MxErrorSync(MPI_Comm comm, PetscErrorCode local);

/* Parse "a:b" into two integers (inclusive range). Errors are raised on comm: call it with
   the same value on every rank of comm. */
PetscErrorCode MxParseRange(MPI_Comm comm, const char s[], const char opt[], PetscInt64 *a, PetscInt64 *b);

/* HDF5 helpers (not collective; errors on PETSC_COMM_SELF name file and dataset). */
PetscErrorCode MxH5Silence(void);
PetscBool      MxH5Exists(hid_t loc, const char path[]);
/* Read a 1-D integer dataset of shape (N,) or (N,1) as uint64 [start, start+n). */
PetscErrorCode MxH5ReadU64(hid_t f, const char fname[], const char dset[], hsize_t start, hsize_t n, uint64_t *out);
/* Length of the first dimension of a dataset. */
PetscErrorCode MxH5Length(hid_t f, const char fname[], const char dset[], hsize_t *n);
/* Read element i of a string dataset (fixed or variable length) into buf. */
PetscErrorCode MxH5ReadString(hid_t f, const char fname[], const char dset[], hsize_t i, char *buf, size_t len);
/* All strings of a 1-D string dataset; *strs is one allocation of n*len chars. */
PetscErrorCode MxH5ReadStrings(hid_t f, const char fname[], const char dset[], hsize_t *n, size_t len, char **strs);

/* Atomic output: the file is written under "<path>.part" and renamed to path on commit;
   on failure the partial file is removed. Collective on comm (rank 0 renames). */
PetscErrorCode MxOutputTempName(const char path[], char tmp[], size_t len);
PetscErrorCode MxOutputCommit(MPI_Comm comm, const char path[]);
PetscErrorCode MxOutputDiscard(MPI_Comm comm, const char path[]);

/* Create an HDF5 file for writing by all ranks of comm (MPI-IO), under its temporary name. */
PetscErrorCode MxH5CreateParallel(MPI_Comm comm, const char path[], hid_t *file);
/* Write a whole small dataset from rank 0's buffer (every rank calls it); units may be NULL. */
PetscErrorCode MxH5WriteArray(MPI_Comm comm, hid_t file, const char path[], hid_t memtype, int rank, const hsize_t dims[], const void *buf, const char units[]);
PetscErrorCode MxH5WriteAttrString(hid_t obj, const char name[], const char value[]);
/* A string attribute of obj (fixed or variable length, scalar or the first element of an array)
   into buf; PETSC_FALSE (buf "") when absent or not a string. */
PetscBool MxH5ReadAttrString(hid_t obj, const char name[], char *buf, size_t len);
/* A scalar string dataset holding rank 0's text. Collective. */
PetscErrorCode MxH5WriteString(MPI_Comm comm, hid_t file, const char path[], const char text[]);

/* Read a user mask file (dataset /mask, (16,512,128), any integer or float type, nonzero =
   bad) into bad[MX_NMOD*MX_MODPIX] on every rank. Collective (rank 0 reads). */
PetscErrorCode MxMaskFileRead(MPI_Comm comm, const char path[], unsigned char *bad);

/* The one way mxpcs registers its log events: event event_name of class class_name, once (when
   *event is still 0); the class is registered once per name, and *event is reset at PetscFinalize.
   Call it in the object's Create. Not collective. */
PetscErrorCode MxLogEventRegisterOnce(const char class_name[], const char event_name[], PetscLogEvent *event);

/* An object's -<object>_view: the viewer (NULL: none) and format its SetUp views itself on. */
typedef struct {
  PetscViewer       viewer;
  PetscViewerFormat format;
} MxViewOption;
/* Inside a PetscOptionsBegin block: reads -<object>_view as PetscOptionsViewer does (no value:
   standard output; ascii:FILE, ::ascii_info, ...), or as a logical (1/true: standard output,
   0/false: no view), as the logical -X_view of earlier releases; absent, v keeps what the object
   or the app set (MxViewOptionSet). Collective. */
#define MxOptionsView(opt, text, man, v) MxOptionsView_Private(PetscOptionsObject, opt, text, man, v)
PetscErrorCode MxOptionsView_Private(PetscOptionItems *PetscOptionsObject, const char opt[], const char text[], const char man[], MxViewOption *v);
/* Set the viewer (referenced; NULL: no view), e.g. an app's default before SetFromOptions. */
PetscErrorCode MxViewOptionSet(MxViewOption *v, PetscViewer viewer);
/* view(obj, viewer) in the option's format when a viewer is set. Collective on the viewer. */
PetscErrorCode MxViewOptionApply(MxViewOption *v, PetscErrorCode (*view)(void *, PetscViewer), void *obj);
PetscErrorCode MxViewOptionDestroy(MxViewOption *v);

/* 1 when name can prefix options (-NAME_...): a letter, then letters, digits or '_'. */
int MxOptionsPrefixValid(const char *name);

/* Options text that PETSc 3.18 cannot take safely ("${" without "}": it crashes); 1 with a
   message naming the line, 0 when fine. MxOptionsFileCheck reads a file (0 if unreadable). */
int MxOptionsTextCheck(const char *text, char *msg, size_t len);
int MxOptionsFileCheck(const char *path, char *msg, size_t len);

/* Before MPI_Init (src/app/main.c): the MPI settings mxpcs needs unless the user set them
   (Open MPI's waits yield the core, which a rank's reader thread may share). */
void MxMpiSetDefaults(void);
/* Whether Open MPI's waits yield the core (OMPI_MCA_mpi_yield_when_idle as the environment gave
   it: 1 or 0); *from_user (may be NULL): the user set it, not mxpcs. */
int MxMpiYieldWhenIdle(int *from_user);

const char *MxVersion(void);
/* A file of mxpcs's data (tools/plot_figures.py, inputs/...): $MXPCS_DATADIR/REL, then
   PREFIX/share/mxpcs/REL beside an installed executable, then REL in the source tree of a build
   directory's executable, then under the configured install prefix; "" when none is readable. */
PetscErrorCode MxDataFile(const char rel[], char buf[], size_t len);
