/* The mean detector image of analyze: per pixel, photons per frame over the trains read, as the
   per-train step sums it (src/analyze/engine.c), put together as module images on rank 0. */
#include "analyzeimpl.h"
#include <math.h>

PetscErrorCode MxAnalyzeImageReduce(MxAnalyze a)
{
  PetscInt        nmod;
  const PetscInt *mods;
  const double   *img_sum, *img_n;
  double         *gs, *gn;
  PetscMPIInt     rank;

  PetscFunctionBeginUser;
  MPI_Comm_rank(a->comm, &rank);
  PetscCall(MxEngineGetImage(a->eng, &img_sum, &img_n));
  nmod = a->run.nmod;
  mods = a->run.mods;
  a->nimg_mod = nmod;
  for (PetscInt i = 0; i < nmod; i++) a->img_mod[i] = mods[i];
  /* every rank adds its pixels and trains */
  PetscCall(PetscCalloc2((size_t)nmod * MX_MODPIX, &gs, (size_t)nmod * MX_MODPIX, &gn));
  size_t off = 0;
  for (int k = 0; k < a->nranges; k++) {
    PetscInt im = 0;
    while (im < nmod && mods[im] != a->ranges[k].module) im++;
    for (int ss = a->ranges[k].ss0; ss < a->ranges[k].ss1; ss++)
      for (int fs = 0; fs < MX_NFS; fs++, off++) {
        size_t g = (size_t)im * MX_MODPIX + (size_t)ss * MX_NFS + fs;
        gs[g] += img_sum[off];
        gn[g] += img_n[off];
      }
  }
  PetscCallMPI(MPI_Reduce(rank ? gs : MPI_IN_PLACE, gs, (int)(nmod * MX_MODPIX), MPI_DOUBLE, MPI_SUM, 0, a->comm));
  PetscCallMPI(MPI_Reduce(rank ? gn : MPI_IN_PLACE, gn, (int)(nmod * MX_MODPIX), MPI_DOUBLE, MPI_SUM, 0, a->comm));
  if (!rank) {
    PetscCall(PetscFree(a->image)); /* live results of a stream: the previous image */
    PetscCall(PetscMalloc1((size_t)nmod * MX_MODPIX, &a->image));
    for (size_t g = 0; g < (size_t)nmod * MX_MODPIX; g++) a->image[g] = gn[g] > 0 ? (float)(gs[g] / gn[g]) : NAN;
  }
  PetscCall(PetscFree2(gs, gn));
  PetscFunctionReturn(0);
}
