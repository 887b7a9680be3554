/* libFuzzer target: the CrystFEL .geom parser (src/geom/geomfile.c) on arbitrary text, then
   the pixel tables of whatever it accepts. Any input must give either a geometry or a clean
   error (a PetscErrorCode with a message), never a crash, a leak or undefined behaviour. */
#include <mxpcs/geom.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

PetscErrorCode MxGeomParseText(MxGeom g, const char path[], const char *text);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  if (PetscInitialize(argc, argv, NULL, NULL)) abort();
  PetscPopSignalHandler(); /* a crash must reach ASan and libFuzzer (a reproducer), not PETSc */
  if (MxErrorInstall() || MxH5Silence()) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  MxGeom g;
  char  *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0; /* the parser reads a file into a NUL-terminated string: so does this */
  if (MxGeomCreate(PETSC_COMM_SELF, &g)) abort();
  if (!MxGeomParseText(g, "fuzz.geom", text)) {
    /* accepted: the per-pixel tables must be computable (or refuse cleanly) */
    (void)MxGeomSetUp(g);
  }
  MxErrorClear();
  if (MxGeomDestroy(&g)) abort();
  free(text);
  return 0;
}
