/* The results schema (include/mxpcs/schema.def) and MxOut, the one writer of mxpcs's output
   files: a writer names an item by its ID; the path, units and NX_class come from the table. */
#pragma once
#include <mxpcs/sys.h>

typedef enum {
  MX_SCHEMA_GROUP,
  MX_SCHEMA_DSET,
  MX_SCHEMA_LINK
} MxSchemaKind;

typedef enum {
#define MX_S(id, kind, path, cu, shape, doc) MX_##id,
#include <mxpcs/schema.def>
#undef MX_S
  MX_SCHEMA_N
} MxSchemaId;

typedef struct {
  const char  *name; /* the ID without MX_ */
  MxSchemaKind kind;
  const char  *path;  /* may hold one %s or %05d */
  const char  *cu;    /* GROUP: NX_class; DSET: units ("-": none); LINK: the target's name */
  const char  *shape; /* sizes and dtype, for the docs */
  const char  *doc;
} MxSchemaItem;

const MxSchemaItem *MxSchemaGet(MxSchemaId id);
/* The item's path with its %s/%05d filled from the arguments (the same as printf's). */
PetscErrorCode MxSchemaPath(MxSchemaId id, char buf[], size_t len, ...);
/* Units of a DSET item, NULL when it has none ("-"). */
const char *MxSchemaUnits(MxSchemaId id);
/* The item whose path pattern matches path (a %s matches one path component, %05d a number),
   MX_SCHEMA_N if none. */
MxSchemaId MxSchemaFind(const char path[]);

typedef struct _p_MxOut *MxOut;

/* The common /entry of every output: identifier and start time (ISO 8601) of the data, the
   command, every option in effect (NULL: PETSc's options database), the definition (NULL: none). */
typedef struct {
  const char *identifier, *start_time, *command, *options, *definition;
} MxOutEntry;

/* Create FILE.part (collective); MxOutClose renames it to FILE when the writes succeeded
   (ierr == 0 and HDF5 closed it), else removes it. *replaced: FILE existed before (may be NULL). */
PetscErrorCode MxOutCreate(MPI_Comm comm, const char path[], MxOut *o);
PetscErrorCode MxOutClose(MxOut *o, PetscErrorCode ierr, PetscBool *replaced);
hid_t          MxOutFile(MxOut o);
MPI_Comm       MxOutComm(MxOut o);
/* All collective: every rank calls with the same ID and shape; rank 0's buffer is written.
   The trailing arguments fill the path's %s or %05d. Groups on the way are created with their
   NX_class. */
PetscErrorCode MxOutGroup(MxOut o, MxSchemaId id, ...);
PetscErrorCode MxOutArray(MxOut o, MxSchemaId id, hid_t memtype, int rank, const hsize_t dims[], const void *buf, ...);
PetscErrorCode MxOutDoubles(MxOut o, MxSchemaId id, int rank, const hsize_t dims[], const double *buf, ...);
PetscErrorCode MxOutScalar(MxOut o, MxSchemaId id, double v, ...);
PetscErrorCode MxOutInt(MxOut o, MxSchemaId id, int64_t v);
/* A scalar string (rank 0's text decides) and a 1-D array of fixed-length strings. */
PetscErrorCode MxOutString(MxOut o, MxSchemaId id, const char text[], ...);
PetscErrorCode MxOutStrings(MxOut o, MxSchemaId id, int n, const char *const strs[], ...);
/* A hard link at the item's path to the object its table entry names. */
PetscErrorCode MxOutLink(MxOut o, MxSchemaId id);
PetscErrorCode MxOutAttrString(MxOut o, MxSchemaId id, const char name[], const char value[], ...);
PetscErrorCode MxOutAttrInt(MxOut o, MxSchemaId id, const char name[], int64_t value, ...);
PetscErrorCode MxOutAttrDouble(MxOut o, MxSchemaId id, const char name[], double value, ...);
/* /entry with its NXprocess, identifier, times and (if given) definition. */
PetscErrorCode MxOutWriteEntry(MxOut o, const MxOutEntry *e);
/* The SHA-256 (hex) of everything written under /xpcs/qmap so far plus the energy, as the
   attribute hash of /xpcs/qmap (pyXpcsViewer's q-map cache key). */
PetscErrorCode MxOutWriteQmapHash(MxOut o, double energy_keV);
/* Add rank 0's bytes to that hash (what a link under /xpcs/qmap shows). */
PetscErrorCode MxOutHash(MxOut o, const void *buf, size_t n);
/* The time now as ISO 8601 UTC; the modification time of a file, "" if it cannot be read. */
void MxIsoTimeNow(char buf[], size_t len);
void MxIsoTimeFile(const char path[], char buf[], size_t len);
