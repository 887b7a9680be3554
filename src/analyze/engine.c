/* MxEngine: the per-train step (include/mxpcs/engine.h). The arithmetic and its order are those
   of the train loop it came from, so results are the same bits. */
#include "engineimpl.h"
#include <mxpcs/corr.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MX_BALANCE_WAIT_S 1e-4 /* a wait for the reader longer than this moves SAXS work off it */

/* ---- the accumulator table ---- */

PetscErrorCode MxEngineAccumAdd(MxEngine e, const char name[], size_t n, MxAccReduce reduce, PetscBool ckpt, double **p)
{
  MxAccEntry *x;

  PetscFunctionBeginUser;
  PetscCheck(e->nacc < MX_ACC_MAX, PETSC_COMM_SELF, PETSC_ERR_PLIB, "accumulator table full (%d entries): raise MX_ACC_MAX", MX_ACC_MAX);
  x = &e->acc[e->nacc++];
  snprintf(x->name, sizeof x->name, "%s", name);
  x->n      = n;
  x->reduce = reduce;
  x->ckpt   = ckpt;
  x->p      = p;
  PetscCall(PetscCalloc1(n + 1, p));
  PetscFunctionReturn(0);
}

static PetscErrorCode AccFree(MxEngine e)
{
  PetscFunctionBeginUser;
  for (int i = 0; i < e->nacc; i++) PetscCall(PetscFree(*e->acc[i].p));
  e->nacc = 0;
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineReduce(MxEngine e)
{
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  MPI_Comm_rank(e->comm, &rank);
  for (int i = 0; i < e->nacc; i++) {
    MxAccEntry *x = &e->acc[i];
    if (x->reduce == MX_ACC_ROOT) PetscCallMPI(MPI_Reduce(rank ? *x->p : MPI_IN_PLACE, *x->p, (int)x->n, MPI_DOUBLE, MPI_SUM, 0, e->comm));
    else if (x->reduce == MX_ACC_ALL) PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, *x->p, (int)x->n, MPI_DOUBLE, MPI_SUM, e->comm));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineCheckpointBlocks(MxEngine e, int *nb, double **p, size_t *n, int max)
{
  PetscFunctionBeginUser;
  *nb = 0;
  for (int i = 0; i < e->nacc; i++)
    if (e->acc[i].ckpt) {
      PetscCheck(*nb < max, PETSC_COMM_SELF, PETSC_ERR_PLIB, "checkpoint: more than %d blocks", max);
      p[*nb]   = *e->acc[i].p;
      n[*nb]   = e->acc[i].n;
      (*nb)++;
    }
  PetscFunctionReturn(0);
}

uint64_t MxEngineSignature(MxEngine e, uint64_t h)
{
  for (int i = 0; i < e->nacc; i++) {
    const MxAccEntry *x = &e->acc[i];
    for (const char *c = x->name; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
    h = (h ^ (uint64_t)x->n) * 0x100000001b3ULL;
    h = (h ^ (uint64_t)(x->ckpt * 4 + x->reduce)) * 0x100000001b3ULL;
  }
  return h;
}

/* ---- set-up ---- */

/* Layout of the per-train buffer reduced over the pixel parts of a train block:
   [ring sums: N, s1, gram] [cross with the previous train: Nx, s1a, s1b, x] [SAXS: sum, count
   per bin and pulse] [cross term present] [could not read] [vote] */
static void Layout(MxEngine e)
{
  size_t nf     = (size_t)e->nf;
  e->nring_sums = (size_t)e->nring * (1 + nf + nf * nf);
  e->ncross     = (size_t)e->nring * (1 + 2 * nf + nf * nf);
  e->nsx        = (size_t)e->saxs_nbins * nf * 2;
  e->total      = e->nring_sums + e->ncross + e->nsx + 1;
}

static int CmpI64(const void *x, const void *y)
{
  int64_t u = *(const int64_t *)x, v = *(const int64_t *)y;
  return u < v ? -1 : u > v;
}

PetscErrorCode MxEngineCreate(MPI_Comm comm, MPI_Comm pix_comm, const MxEngineSpec *s, MxEngine *out)
{
  MxEngine e;
  size_t   nf = (size_t)s->nf, nC, ng, nrpix;

  PetscFunctionBeginUser;
  PetscCheck(s->nf >= 2 && s->nring >= 0 && s->win_len >= 2 && s->win_len <= s->nf && s->nwin >= 1 && s->saxs_nbins >= 1 && s->block >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "engine: nf %" PetscInt_FMT ", windows %" PetscInt_FMT " of %" PetscInt_FMT ", %" PetscInt_FMT " SAXS bins, block %" PetscInt_FMT ": out of range", s->nf, s->nwin, s->win_len, s->saxs_nbins, s->block);
  PetscCall(PetscNew(&e));
  e->comm       = comm;
  e->pix_comm   = pix_comm;
  e->nf         = s->nf;
  e->saxs_nr    = (MxCorrSaxsBlocks((int)s->nf) + 1) / 2;
  e->npix       = s->npix;
  e->nring      = s->nring;
  e->nwin       = s->nwin;
  e->win_len    = s->win_len;
  e->xc         = s->xc;
  e->jk         = s->jk;
  e->ndose      = s->dose_bin ? s->ndose : 0;
  e->dose_bin   = s->dose_bin;
  e->block      = s->block;
  e->saxs_nbins = s->saxs_nbins;
  e->ntr        = s->ntrains;
  e->t0         = s->t0;
  e->t1         = s->t1;
  e->part0      = s->part0;
  Layout(e);
  nrpix = (size_t)s->ring_off[s->nring];
  PetscCall(PetscMalloc3(s->nring + 1, &e->ring_off, nrpix + 1, &e->ring_pix, s->nwin, &e->win_start));
  PetscCall(PetscArraycpy(e->ring_off, s->ring_off, s->nring + 1));
  PetscCall(PetscArraycpy(e->ring_pix, s->ring_pix, nrpix));
  for (PetscInt k = 0; k < s->nwin; k++) e->win_start[k] = (int)s->win_start[k];
  e->ldmax = 1;
  for (PetscInt r = 0; r < e->nring; r++) e->ldmax = PetscMax(e->ldmax, e->ring_off[r + 1] - e->ring_off[r]);
  /* SAXS pixels (memory order) and their bins; the intensity correction */
  PetscCall(PetscMalloc1(e->npix + 1, &e->corr));
  PetscCall(PetscArraycpy(e->corr, s->corr, e->npix));
  e->correct     = s->correct;
  e->correct_ctx = s->correct_ctx;
  e->noise_var   = s->noise_var;
  e->shot_noise  = s->shot_noise > 0 ? s->shot_noise : 1.0;
  for (size_t p = 0; p < e->npix; p++) e->nsaxs += s->saxs_bin[p] >= 0;
  PetscCall(PetscMalloc3(e->nsaxs + 1, &e->saxs_pix, e->nsaxs + 1, &e->saxs_pb, (size_t)e->saxs_nbins * 16 * MxCorrSaxsBlocks((int)e->nf), &e->saxs_acc));
  for (size_t p = 0, k = 0; p < e->npix; p++)
    if (s->saxs_bin[p] >= 0) {
      e->saxs_pix[k]  = (int)p;
      e->saxs_pb[k++] = s->saxs_bin[p];
    }
  /* the ring pixels ordered by position (key: position, then index in ring_pix) */
  PetscCall(PetscMalloc2(nrpix + 1, &e->rpos, nrpix + 1, &e->rdst));
  {
    int64_t *key;
    PetscCall(PetscMalloc1(nrpix + 1, &key));
    for (size_t j = 0; j < nrpix; j++) key[j] = (int64_t)e->ring_pix[j] << 32 | (int64_t)j;
    qsort(key, nrpix, sizeof *key, CmpI64);
    for (size_t j = 0; j < nrpix; j++) {
      e->rpos[j] = (int)(key[j] >> 32);
      e->rdst[j] = (int)(key[j] & 0xffffffff);
    }
    PetscCall(PetscFree(key));
  }
  for (int i = 0; i < 3; i++) {
    MxTrainBuf *T = &e->tb[i];
    T->e          = e;
    PetscCall(PetscMalloc3(e->npix + 1, &T->valid, nf * nrpix + 1, &T->ring, e->nsx + 1, &T->sx));
    T->data = NULL;
    T->bad  = NULL;
    T->slab = -1;
    PetscCall(PetscMalloc3(e->nsaxs + 1, &T->w, e->saxs_nbins, &T->cnt, (size_t)e->saxs_nbins * 16 * MxCorrSaxsBlocks((int)e->nf), &T->acc));
    PetscCall(PetscMalloc1(e->npix + 1, &T->img));
  }
  PetscCall(PetscCalloc1(e->npix + 1, &e->rimg_buf)); /* as img_sum */
  e->rimg = e->rimg_buf;
  for (int i = 0; i < 2; i++) PetscCall(PetscMalloc2(nf * e->npix + 1, &e->slab_data[i], nf * e->npix + 1, &e->slab_bad[i]));
  nC = (size_t)e->nring * nf * nf;
  PetscCall(PetscMalloc3(nf * e->ldmax, &e->A, nf * e->ldmax, &e->B, nf * nf, &e->work));
  PetscCall(PetscMalloc3(e->total + 3, &e->buf, nC, &e->Xcur, nC, &e->C));
  PetscCall(PetscMalloc1(nC, &e->XCt));
  PetscCall(PetscMalloc1(e->ldmax + 1, &e->list));
  /* the table: what is summed over trains, and what the step carries to the next train */
  ng = (size_t)e->nring * e->nwin * (e->win_len - 1);
  PetscCall(MxEngineAccumAdd(e, "sumC", nC, MX_ACC_ROOT, PETSC_TRUE, &e->sumC));
  PetscCall(MxEngineAccumAdd(e, "sumCraw", nC, MX_ACC_ROOT, PETSC_TRUE, &e->sumCraw));
  PetscCall(MxEngineAccumAdd(e, "sumXC", nC, MX_ACC_ROOT, PETSC_TRUE, &e->sumXC));
  PetscCall(MxEngineAccumAdd(e, "g2sum", ng, MX_ACC_ROOT, PETSC_TRUE, &e->g2sum));
  PetscCall(MxEngineAccumAdd(e, "g2sq", ng, MX_ACC_ROOT, PETSC_TRUE, &e->g2sq));
  PetscCall(MxEngineAccumAdd(e, "g2t_sum", (size_t)e->nring * (nf - 1), MX_ACC_ROOT, PETSC_TRUE, &e->g2t_sum));
  PetscCall(MxEngineAccumAdd(e, "g2t_sq", (size_t)e->nring * (nf - 1), MX_ACC_ROOT, PETSC_TRUE, &e->g2t_sq));
  PetscCall(MxEngineAccumAdd(e, "bsum", (size_t)e->nring, MX_ACC_ROOT, PETSC_TRUE, &e->bsum));
  PetscCall(MxEngineAccumAdd(e, "bsq", (size_t)e->nring, MX_ACC_ROOT, PETSC_TRUE, &e->bsq));
  if (e->jk >= 2) {
    PetscCall(MxEngineAccumAdd(e, "jk_g2", (size_t)e->jk * ng, MX_ACC_ROOT, PETSC_TRUE, &e->jk_g2));
    PetscCall(MxEngineAccumAdd(e, "jk_b", (size_t)e->jk * e->nring, MX_ACC_ROOT, PETSC_TRUE, &e->jk_b));
    PetscCall(MxEngineAccumAdd(e, "jk_n", (size_t)e->jk, MX_ACC_ROOT, PETSC_TRUE, &e->jk_n));
  }
  if (e->ndose > 0) {
    PetscCall(MxEngineAccumAdd(e, "dose_g2", (size_t)e->ndose * ng, MX_ACC_ROOT, PETSC_TRUE, &e->dose_g2));
    PetscCall(MxEngineAccumAdd(e, "dose_g2sq", (size_t)e->ndose * ng, MX_ACC_ROOT, PETSC_TRUE, &e->dose_g2sq));
    PetscCall(MxEngineAccumAdd(e, "dose_b", (size_t)e->ndose * e->nring, MX_ACC_ROOT, PETSC_TRUE, &e->dose_b));
    PetscCall(MxEngineAccumAdd(e, "dose_n", (size_t)e->ndose, MX_ACC_ROOT, PETSC_TRUE, &e->dose_n));
  }
  PetscCall(MxEngineAccumAdd(e, "saxs", (size_t)e->saxs_nbins * nf * 3, MX_ACC_ROOT, PETSC_TRUE, &e->saxs));
  PetscCall(MxEngineAccumAdd(e, "saxs_run", (size_t)e->saxs_nbins * 3, MX_ACC_ROOT, PETSC_TRUE, &e->saxs_run));
  PetscCall(MxEngineAccumAdd(e, "img_sum", e->npix, MX_ACC_LOCAL, PETSC_TRUE, &e->img_sum));
  PetscCall(MxEngineAccumAdd(e, "img_n", e->npix, MX_ACC_LOCAL, PETSC_TRUE, &e->img_n));
  PetscCall(MxEngineAccumAdd(e, "used", (size_t)e->ntr, MX_ACC_ROOT, PETSC_TRUE, &e->used));
  PetscCall(MxEngineAccumAdd(e, "counts", 2, MX_ACC_ROOT, PETSC_TRUE, &e->counts)); /* trains used, left out without a neighbour */
  PetscCall(MxEngineAccumAdd(e, "rs_prev", e->nring_sums, MX_ACC_LOCAL, PETSC_TRUE, &e->rs_prev));
  PetscCall(MxEngineAccumAdd(e, "Xprev", nC, MX_ACC_LOCAL, PETSC_TRUE, &e->Xprev));
  e->prev_t = -1;
  *out      = e;
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineDestroy(MxEngine *pe)
{
  MxEngine e = *pe;

  PetscFunctionBeginUser;
  if (!e) PetscFunctionReturn(0);
  PetscCall(AccFree(e));
  for (int i = 0; i < 3; i++) {
    PetscCall(PetscFree3(e->tb[i].valid, e->tb[i].ring, e->tb[i].sx));
    PetscCall(PetscFree3(e->tb[i].w, e->tb[i].cnt, e->tb[i].acc));
    PetscCall(PetscFree(e->tb[i].img));
  }
  PetscCall(PetscFree(e->rimg_buf));
  for (int i = 0; i < 2; i++) PetscCall(PetscFree2(e->slab_data[i], e->slab_bad[i]));
  PetscCall(PetscFree3(e->ring_off, e->ring_pix, e->win_start));
  PetscCall(PetscFree(e->corr));
  PetscCall(PetscFree3(e->saxs_pix, e->saxs_pb, e->saxs_acc));
  PetscCall(PetscFree2(e->rpos, e->rdst));
  PetscCall(PetscFree3(e->A, e->B, e->work));
  PetscCall(PetscFree3(e->buf, e->Xcur, e->C));
  PetscCall(PetscFree(e->XCt));
  PetscCall(PetscFree(e->list));
  PetscCall(PetscFree(e));
  *pe = NULL;
  PetscFunctionReturn(0);
}

/* ---- the source's side: buffers and preparation ---- */

PetscErrorCode MxEngineAcquire(MxEngine e, MxTrainBuf **T)
{
  PetscFunctionBeginUser;
  *T = NULL;
  for (int i = 0; i < 3 && !*T; i++)
    if (!e->tb[i].in_use) *T = &e->tb[i];
  PetscCheck(*T, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "engine: all three train buffers are in use (a source holds at most two)");
  int s = !e->slab_used[0] ? 0 : !e->slab_used[1] ? 1 : -1;
  PetscCheck(s >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "engine: both frame slabs are in use (one train read, one correlated at a time)");
  e->slab_used[s] = 1;
  (*T)->slab      = s;
  (*T)->data      = e->slab_data[s];
  (*T)->bad       = e->slab_bad[s];
  (*T)->in_use    = 1;
  (*T)->prepared  = 0;
  (*T)->ranged    = 0;
  PetscFunctionReturn(0);
}

/* T's frames are used (prepared and summed): their slab goes back for the next read. */
static void DropFrames(MxTrainBuf *T)
{
  if (!T || T->slab < 0) return;
  T->e->slab_used[T->slab] = 0;
  T->slab                  = -1;
  T->data                  = NULL;
  T->bad                   = NULL;
}

static void Release(MxTrainBuf *T)
{
  DropFrames(T);
  if (T) T->in_use = 0;
}

PetscErrorCode MxEngineRelease(MxEngine e, MxTrainBuf *T)
{
  PetscFunctionBeginUser;
  (void)e;
  Release(T);
  PetscFunctionReturn(0);
}

/* The SAXS frame blocks are shared between the thread that prepares a train (the reader's, when
   there is one) and the step: each block's frames are summed apart, so the results do not depend
   on the split. MxEngineBalance moves one block per train towards the thread that is not waiting. */
void MxEngineBalance(MxEngine e, double waited_s)
{
  if (waited_s > MX_BALANCE_WAIT_S && e->saxs_nr > 0) e->saxs_nr--;
  else if (waited_s < 0.1 * MX_BALANCE_WAIT_S && e->saxs_nr < MxCorrSaxsBlocks((int)e->nf)) e->saxs_nr++;
}

void MxEngineFrameHook(void *ctx, PetscInt f, size_t off, size_t n, float *v, unsigned char *b)
{
  MxTrainBuf *T = ctx;
  MxEngine    e = T->e;
  size_t      nrpix = (size_t)e->ring_off[e->nring];
  if (e->correct) e->correct(e->correct_ctx, f, off, n, v, b);
  MxCorrValidUpdate(f == 0, n, b, T->valid + off);
  (void)MxCorrGatherSorted(off, n, v, nrpix, e->rpos, e->rdst, T->ring + (size_t)f * nrpix);
}

void MxEngineTrainHook(void *ctx, const float *data, const unsigned char *bad)
{
  MxTrainBuf *T  = ctx;
  MxEngine    e  = T->e;
  const int   nf = (int)e->nf;
  const int  *sp = e->saxs_pix, *sb = e->saxs_pb;
  float      *w  = T->w;

  (void)bad; /* valid pixels and ring pixels: the frame hook */
  memset(T->sx, 0, sizeof(double) * e->nsx);
  if (T->ranged) { /* the range and chain hooks did the weights, the image and SAXS blocks [0, saxs_nr) */
    for (PetscInt b = 0; b < e->saxs_nbins; b++) T->cnt[b] = 0;
    for (size_t k = 0; k < e->nsaxs; k++) T->cnt[sb[k]] += T->valid[sp[k]] != 0;
    MxCorrSaxsFold(nf, T->cnt, (int)e->saxs_nbins, 0, T->saxs_nr, T->acc, T->sx);
    if (T->own) { /* the reader's running image goes on from this train's */
      e->rimg     = T->img; /* T stays in use until the next train is read (it is stepped after that read, then the previous one) */
      T->img_base = e->rimg_ver++;
    }
    T->prepared = 1;
    return;
  }
  /* SAXS: corrected intensity per bin and pulse. The valid pixels and their counts are the
     same in every frame of the train: weights once, then the frames. */
  for (PetscInt b = 0; b < e->saxs_nbins; b++) T->cnt[b] = 0;
  for (size_t k = 0; k < e->nsaxs; k++) {
    int ok = T->valid[sp[k]] != 0;
    w[k]   = ok ? e->corr[sp[k]] : 0.0f;
    T->cnt[sb[k]] += ok;
  }
  T->saxs_nr = e->saxs_nr;
  MxCorrSaxsAccumulate(nf, e->npix, data, e->nsaxs, sp, sb, w, T->cnt, (int)e->saxs_nbins, 0, T->saxs_nr, T->acc, T->sx);
  T->prepared = 1;
}

void MxEngineBeginTrain(MxEngine e, MxTrainBuf *T, PetscInt t, PetscBool ranged, PetscBool cache)
{
  T->t       = t;
  T->own     = t >= e->t0 && t < e->t1;
  T->ranged  = ranged ? 1 : 0;
  T->saxs_nr = ranged && cache ? MxCorrSaxsBlocks((int)e->nf) : e->saxs_nr; /* from the cache: every SAXS block in the chains, none left for the step */
}

int MxEngineChains(MxTrainBuf *T) { return T->ranged ? T->saxs_nr : 0; }

/* The SAXS pixels k0 <= k < k1 in pixels [off, off + n). */
static void SaxsPixels(MxEngine e, size_t off, size_t n, size_t *k0, size_t *k1)
{
  *k0 = MxCorrLowerBound(e->saxs_pix, 0, e->nsaxs, off);
  *k1 = MxCorrLowerBound(e->saxs_pix, *k0, e->nsaxs, off + n);
}

void MxEngineRangeHook(void *ctx, size_t off, size_t n, const float *v, size_t ld)
{
  MxTrainBuf *T  = ctx;
  MxEngine    e  = T->e;
  const int  *sp = e->saxs_pix;
  size_t      k0, k1;

  SaxsPixels(e, off, n, &k0, &k1);
  for (size_t k = k0; k < k1; k++) T->w[k] = T->valid[sp[k]] ? e->corr[sp[k]] : 0.0f;
  if (T->own) { /* the image's sums of these pixels: the reader's running ones plus this train's frames */
    MxCorrImageOn((int)e->nf, ld, v - off, T->valid, off, off + n, e->rimg, T->img);
  }
}

void MxEngineChainHook(void *ctx, size_t off, size_t n, int c, const float *v, size_t ld)
{
  MxTrainBuf *T    = ctx;
  MxEngine    e    = T->e;
  double     *acc  = T->acc + MxCorrSaxsAccSize((int)e->saxs_nbins, c);
  size_t      k0, k1;

  if (off == 0) memset(acc, 0, sizeof(double) * MxCorrSaxsAccSize((int)e->saxs_nbins, 1)); /* the chain's first range */
  SaxsPixels(e, off, n, &k0, &k1);
  MxCorrImageSaxsRange((int)e->nf, ld, v - off, T->valid, NULL, NULL, off, off + n, k0, k1, e->saxs_pix, e->saxs_pb, T->w, (int)e->saxs_nbins, c, c + 1, acc);
}

PetscErrorCode MxEngineSync(MxEngine e, MxTrainBuf *T, PetscBool *reread)
{
  PetscFunctionBeginUser;
  *reread = PETSC_FALSE;
  if (T && T->ranged && T->own && T->prepared) {
    if (T->img_base != e->img_ver) { /* the reader's image parted from the step's before T: T's image again from the step's sums, by reading T again (its frames may be gone) */
      PetscCall(PetscArraycpy(e->rimg_buf, e->img_sum, e->npix));
      e->rimg     = e->rimg_buf;
      e->rimg_ver = e->img_ver;
      *reread     = PETSC_TRUE;
    }
  } else if (e->rimg_ver != e->img_ver) {
    PetscCall(PetscArraycpy(e->rimg_buf, e->img_sum, e->npix)); /* a copy: the step changes img_sum while the next train is read */
    e->rimg     = e->rimg_buf;
    e->rimg_ver = e->img_ver;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxEnginePrepare(MxEngine e, MxTrainBuf *T)
{
  PetscFunctionBeginUser;
  for (PetscInt f = 0; f < e->nf; f++) MxEngineFrameHook(T, f, 0, e->npix, T->data + (size_t)f * e->npix, T->bad + (size_t)f * e->npix);
  MxEngineTrainHook(T, T->data, T->bad);
  PetscFunctionReturn(0);
}

/* ---- the step ---- */

/* The pixels of ring r valid in T (and in valid2 when given) as nf x n rows, from the train's
   gathered ring pixels: first the list of valid pixels, then frame by frame. */
static int Gather(MxEngine e, PetscInt r, const MxTrainBuf *T, const unsigned char *valid2, float *out, int ld, int *list)
{
  const size_t nr = (size_t)e->ring_off[e->nring];
  int          n  = 0;
  for (int k = e->ring_off[r]; k < e->ring_off[r + 1]; k++) {
    int p = e->ring_pix[k];
    if (T->valid[p] && (!valid2 || valid2[p])) list[n++] = k;
  }
  for (PetscInt f = 0; f < e->nf; f++) {
    const float *row = T->ring + (size_t)f * nr;
    float       *o   = out + (size_t)f * ld;
    for (int k = 0; k < n; k++) o[k] = row[list[k]];
  }
  return n;
}

/* s1a[f] += the sum over k < n of a[f][k], s1b[f] likewise of b: each sum in k order (the same
   bits as one loop), four frames at a time in registers, so that eight independent additions
   are in flight instead of one sum through memory (a store and a reload per value). */
static void CrossSums(int nf, int n, const float *a, const float *b, int ld, double *s1a, double *s1b)
{
  int f = 0;
  for (; f + 4 <= nf; f += 4) {
    const float *a0 = a + (size_t)f * ld, *a1 = a0 + ld, *a2 = a1 + ld, *a3 = a2 + ld;
    const float *b0 = b + (size_t)f * ld, *b1 = b0 + ld, *b2 = b1 + ld, *b3 = b2 + ld;
    double       x0 = s1a[f], x1 = s1a[f + 1], x2 = s1a[f + 2], x3 = s1a[f + 3];
    double       y0 = s1b[f], y1 = s1b[f + 1], y2 = s1b[f + 2], y3 = s1b[f + 3];
    for (int k = 0; k < n; k++) {
      x0 += a0[k];
      x1 += a1[k];
      x2 += a2[k];
      x3 += a3[k];
      y0 += b0[k];
      y1 += b1[k];
      y2 += b2[k];
      y3 += b3[k];
    }
    s1a[f]     = x0;
    s1a[f + 1] = x1;
    s1a[f + 2] = x2;
    s1a[f + 3] = x3;
    s1b[f]     = y0;
    s1b[f + 1] = y1;
    s1b[f + 2] = y2;
    s1b[f + 3] = y3;
  }
  for (; f < nf; f++) {
    double x = s1a[f], y = s1b[f];
    for (int k = 0; k < n; k++) {
      x += a[(size_t)f * ld + k];
      y += b[(size_t)f * ld + k];
    }
    s1a[f] = x;
    s1b[f] = y;
  }
}

/* This rank's partial sums of one train (and the cross terms with the previous one). */
static void TrainSums(MxEngine e, const MxTrainBuf *T, const MxTrainBuf *P, double *buf)
{
  size_t  nf = (size_t)e->nf;
  int     ldmax = e->ldmax;
  float  *A = e->A, *B = e->B;
  double *rs = buf, *cx = buf + e->nring_sums, *sx = cx + e->ncross;

  for (PetscInt r = 0; r < e->nring; r++) {
    double *N = rs + r * (1 + nf + nf * nf), *s1 = N + 1, *gram = s1 + nf;
    int     n = Gather(e, r, T, NULL, A, ldmax, e->list);
    double  k0 = MPI_Wtime();
    *N        = n;
    MxCorrGramAccumulate((int)nf, n, A, ldmax, (int)e->block, s1, gram, e->work);
    e->t_kernel += MPI_Wtime() - k0;
    e->flops += (double)nf * (nf + 1) * n;
    if (P) {
      double      *Nx = cx + r * (1 + 2 * nf + nf * nf), *s1a = Nx + 1, *s1b = s1a + nf, *x = s1b + nf;
      const float *Pa = B, *Tb = A; /* when every pixel valid in this train is valid in the previous one, A is this train's rows already */
      int          na = Gather(e, r, P, T->valid, B, ldmax, e->list);
      if (na != n) {
        Gather(e, r, T, P->valid, A, ldmax, e->list);
        Pa = B;
        Tb = A;
      }
      *Nx = na;
      CrossSums((int)nf, na, Pa, Tb, ldmax, s1a, s1b);
      double k1 = MPI_Wtime();
      MxCorrCrossAccumulate((int)nf, na, Pa, Tb, ldmax, (int)e->block, x, e->work);
      e->t_kernel += MPI_Wtime() - k1;
      e->flops += 2.0 * nf * nf * na;
    }
  }
  if (P) buf[e->total - 1] = 1;
  memcpy(sx, T->sx, sizeof(double) * e->nsx); /* buf is zero: the same as adding */
}

/* Fold train `train` (ring sums rs, cross terms with its neighbours Xm, Xp): C_n - XC_n into the
   sums (design.md 1.3), g2 and contrast per train. */
static PetscErrorCode Fold(MxEngine e, PetscInt train, const double *rs, const double *Xm, const double *Xp)
{
  size_t  nf = (size_t)e->nf, ntau = (size_t)e->win_len - 1;
  int    *np;
  double *g2, *beta, *C = e->C, *XC = e->XCt;

  PetscFunctionBeginUser;
  if (!Xm && !Xp && e->xc) { /* no neighbour train: left out of C, counted */
    e->counts[1]++;
    PetscFunctionReturn(0);
  }
  const PetscInt dg = e->ndose > 0 && e->dose_bin[train] < e->ndose ? e->dose_bin[train] : -1; /* the train's dose group */
  PetscCall(PetscMalloc3(PetscMax(e->nwin * ntau, nf) + 1, &np, PetscMax(e->nwin * ntau, nf) + 1, &g2, nf, &beta));
  for (PetscInt r = 0; r < e->nring; r++) {
    const double *N = rs + r * (1 + nf + nf * nf), *s1 = N + 1, *gram = s1 + nf;
    double       *Cr = C + r * nf * nf, *XCr = XC + r * nf * nf;
    MxCorrTwoTime((int)nf, *N, s1, gram, Cr);
    if (e->xc) MxCorrXC((int)nf, Xm ? Xm + r * nf * nf : NULL, Xp ? Xp + r * nf * nf : NULL, XCr);
    else
      for (size_t k = 0; k < nf * nf; k++) XCr[k] = 0;
    for (size_t k = 0; k < nf * nf; k++) {
      e->sumCraw[r * nf * nf + k] += Cr[k];
      e->sumXC[r * nf * nf + k] += XCr[k];
      Cr[k] -= XCr[k];
      e->sumC[r * nf * nf + k] += Cr[k];
    }
    /* this train's g2 - 1 and contrast, for the train-to-train spread */
    MxCorrG2((int)nf, Cr, (int)e->nwin, e->win_start, (int)e->win_len, (int)ntau, g2, np);
    size_t ng = (size_t)e->nring * e->nwin * ntau, jg = e->jk >= 2 ? (size_t)(train % e->jk) : 0;
    for (size_t k = 0; k < e->nwin * ntau; k++) {
      e->g2sum[r * e->nwin * ntau + k] += g2[k];
      e->g2sq[r * e->nwin * ntau + k] += g2[k] * g2[k];
      if (e->jk >= 2) e->jk_g2[jg * ng + r * e->nwin * ntau + k] += g2[k];
      if (dg >= 0) {
        e->dose_g2[dg * ng + r * e->nwin * ntau + k] += g2[k];
        e->dose_g2sq[dg * ng + r * e->nwin * ntau + k] += g2[k] * g2[k];
      }
    }
    { /* and over the whole train (the g2 that pyXpcsViewer shows) */
      int s0 = 0;
      MxCorrG2((int)nf, Cr, 1, &s0, (int)nf, (int)nf - 1, g2, np);
      for (size_t k = 0; k + 1 < nf; k++) {
        e->g2t_sum[r * (nf - 1) + k] += g2[k];
        e->g2t_sq[r * (nf - 1) + k] += g2[k] * g2[k];
      }
    }
    if (e->noise_var > 0 || e->shot_noise != 1) MxCorrContrastNoise((int)nf, *N, s1, Cr, e->noise_var, e->shot_noise, beta);
    else MxCorrContrast((int)nf, *N, s1, Cr, beta);
    double bm = 0;
    for (size_t t = 0; t < nf; t++) bm += beta[t] / nf;
    e->bsum[r] += bm;
    e->bsq[r] += bm * bm;
    if (e->jk >= 2) e->jk_b[jg * e->nring + r] += bm;
    if (dg >= 0) e->dose_b[dg * e->nring + r] += bm;
  }
  if (e->jk >= 2) e->jk_n[train % e->jk] += 1;
  if (dg >= 0) e->dose_n[dg] += 1;
  PetscCall(PetscFree3(np, g2, beta));
  e->counts[0]++;
  PetscFunctionReturn(0);
}

/* The previous train is complete: its successor's cross term is Xnext (NULL: none). Only the
   rank holding the block's sums folds it, and only its own trains (not the halo). */
static PetscErrorCode ClosePrevious(MxEngine e, const double *Xnext)
{
  PetscInt tp = e->prev_t;

  PetscFunctionBeginUser;
  if (e->part0 && e->have_prev && tp >= e->t0 && tp < e->t1) {
    PetscBool folded = e->have_Xprev || Xnext || !e->xc;
    PetscCall(Fold(e, tp, e->rs_prev, e->have_Xprev ? e->Xprev : NULL, Xnext));
    if (folded) e->used[tp] = 1; /* a train left out for want of a neighbour is not in C */
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineBreak(MxEngine e, PetscInt t)
{
  PetscFunctionBeginUser;
  (void)t;
  PetscCall(ClosePrevious(e, NULL));
  e->have_prev = e->have_Xprev = 0;
  Release(e->prev);
  e->prev = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineFinish(MxEngine e)
{
  PetscFunctionBeginUser;
  PetscCall(MxEngineBreak(e, -1));
  PetscFunctionReturn(0);
}

/* SAXS of one train: per-train bin means, per pulse and over the train */
static void SaxsFold(MxEngine e, const double *sx)
{
  size_t nf = (size_t)e->nf;
  for (PetscInt b = 0; b < e->saxs_nbins; b++) {
    double S = 0, Nn = 0;
    for (size_t f = 0; f < nf; f++) {
      double s = sx[(b * nf + f) * 2], n = sx[(b * nf + f) * 2 + 1];
      if (n > 0) {
        double m = s / n;
        e->saxs[(b * nf + f) * 3] += m;
        e->saxs[(b * nf + f) * 3 + 1] += m * m;
        e->saxs[(b * nf + f) * 3 + 2] += 1;
      }
      S += s;
      Nn += n;
    }
    if (Nn > 0) {
      e->saxs_run[b * 3] += S / Nn;
      e->saxs_run[b * 3 + 1] += (S / Nn) * (S / Nn);
      e->saxs_run[b * 3 + 2] += 1;
    }
  }
}

PetscErrorCode MxEngineStep(MxEngine e, const MxEngineTrain *in, int *unreadable, int *votes)
{
  size_t      nf = (size_t)e->nf;
  double     *buf = e->buf;
  MxTrainBuf *T   = in->T;
  double      c0 = MPI_Wtime(), c1;

  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(buf, e->total + 2));
  PetscBool consecutive = e->have_prev && e->prev && in->id == e->prev_id + 1;
  if (T) {
    /* the mean detector image of this block's trains, and the SAXS blocks the preparation left */
    PetscBool own = in->t >= e->t0 && in->t < e->t1;
    if (!T->prepared) PetscCall(MxEnginePrepare(e, T));
    if (T->ranged && own) { /* the reader summed the image on from the step's sums as they were (MxEngineRangeHook), or not */
      PetscCheck(T->img_base == e->img_ver, PETSC_COMM_SELF, PETSC_ERR_PLIB, "engine: train %" PetscInt_FMT "'s mean image was summed on from another train's (MxEngineSync not called after its read)", in->t);
      PetscCall(PetscArraycpy(e->img_sum, T->img, e->npix));
      for (size_t p = 0; p < e->npix; p++) e->img_n[p] += (double)nf * (double)T->valid[p]; /* whole numbers: exact in any order */
    }
    /* the SAXS blocks the preparation left (and the image, when not prepared range by range) */
    MxCorrImageSaxsAccumulate((int)nf, e->npix, T->data, T->valid, own && !T->ranged ? e->img_sum : NULL, own && !T->ranged ? e->img_n : NULL, e->nsaxs, e->saxs_pix, e->saxs_pb, T->w, T->cnt, (int)e->saxs_nbins, T->saxs_nr, MxCorrSaxsBlocks((int)nf), e->saxs_acc, T->sx);
    if (own) e->img_ver++;
    TrainSums(e, T, consecutive ? e->prev : NULL, buf);
    DropFrames(T); /* as the previous train, T needs only its ring pixels and valid flags */
  }
  buf[e->total]     = T ? 0 : 1; /* the block stops together */
  buf[e->total + 1] = in->vote;
  c1                = MPI_Wtime();
  e->t_corr += c1 - c0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, buf, (int)(e->total + 2), MPI_DOUBLE, MPI_SUM, e->pix_comm));
  e->t_comm += MPI_Wtime() - c1;
  *unreadable = (int)buf[e->total];
  *votes      = (int)buf[e->total + 1];
  if (*unreadable) {
    Release(T);
    PetscFunctionReturn(0);
  }
  /* X(t-1, t) of the whole block */
  PetscBool have_Xcur = buf[e->total - 1] > 0;
  if (have_Xcur)
    for (PetscInt r = 0; r < e->nring; r++) {
      double *Nx = buf + e->nring_sums + r * (1 + 2 * nf + nf * nf), *s1a = Nx + 1, *s1b = s1a + nf, *x = s1b + nf;
      MxCorrCross((int)nf, *Nx, s1a, s1b, x, e->Xcur + r * nf * nf);
    }
  /* the previous train is complete now that X(t-1, t) is known */
  PetscCall(ClosePrevious(e, have_Xcur ? e->Xcur : NULL));
  if (e->part0 && in->t >= e->t0 && in->t < e->t1) SaxsFold(e, buf + e->nring_sums + e->ncross);
  /* shift: t becomes the previous train */
  PetscCall(PetscArraycpy(e->rs_prev, buf, e->nring_sums));
  if (have_Xcur) PetscCall(PetscArraycpy(e->Xprev, e->Xcur, (size_t)e->nring * nf * nf));
  e->have_Xprev = have_Xcur;
  e->have_prev  = 1;
  e->prev_t     = in->t;
  e->prev_id    = in->id;
  Release(e->prev);
  e->prev = T;
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineGetState(MxEngine e, MxEngineState *s)
{
  PetscFunctionBeginUser;
  s->have_prev  = e->have_prev;
  s->have_Xprev = e->have_Xprev;
  s->prev_t     = e->prev_t;
  s->prev_id    = e->prev_id;
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineResume(MxEngine e, const MxEngineState *s, MxTrainBuf *T)
{
  PetscFunctionBeginUser;
  e->have_prev  = s->have_prev && T;
  e->have_Xprev = s->have_Xprev;
  e->prev_t     = s->prev_t;
  e->prev_id    = s->prev_id;
  Release(e->prev);
  e->prev = T;
  if (T && !T->prepared) PetscCall(MxEnginePrepare(e, T));
  DropFrames(T);
  /* the image's sums came from the checkpoint: the reader's running image starts again from them
     (T, read to be the previous train, is not summed). Not by comparing counts: T's read moved
     the reader's on by one, which the increment here matched, and the next train was summed on
     from T's frames alone */
  e->img_ver++;
  PetscCall(PetscArraycpy(e->rimg_buf, e->img_sum, e->npix));
  e->rimg     = e->rimg_buf;
  e->rimg_ver = e->img_ver;
  PetscFunctionReturn(0);
}

/* ---- results ---- */

PetscErrorCode MxEngineGetMeans(MxEngine e, double *C, double *Craw, double *XC, double *g2, double *g2err, double *g2t, double *g2t_err, double *beta, double *beta_err)
{
  size_t nf = (size_t)e->nf, nC = (size_t)e->nring * nf * nf, ntau = (size_t)e->win_len - 1;
  double n  = e->counts[0];
  int   *np;
  double *Cm;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(e->nwin * ntau + nf + 1, &np, nC + 1, &Cm));
  for (size_t k = 0; k < nC; k++) {
    Cm[k] = e->sumC[k] / n;
    if (C) C[k] = Cm[k];
    if (Craw) Craw[k] = e->sumCraw[k] / n;
    if (XC) XC[k] = e->sumXC[k] / n;
  }
  for (PetscInt r = 0; r < e->nring; r++) {
    /* g2 from the mean C; errors from the train-to-train spread of the per-train g2 */
    double *g = NULL;
    if (g2) {
      g = g2 + r * e->nwin * ntau;
      MxCorrG2((int)nf, Cm + r * nf * nf, (int)e->nwin, e->win_start, (int)e->win_len, (int)ntau, g, np);
    }
    for (size_t k = 0; k < e->nwin * ntau; k++) {
      size_t i = r * e->nwin * ntau + k;
      double m = e->g2sum[i] / n, v = n > 1 ? (e->g2sq[i] / n - m * m) * n / (n - 1) : NAN;
      if (g2err) g2err[i] = sqrt(PetscMax(v, 0) / n);
      if (g2) g2[i] += 1.0; /* g2, not g2 - 1 */
    }
    /* the whole train: g2 from the mean C, errors from the trains' spread, as above */
    if (g2t) {
      int s0 = 0;
      MxCorrG2((int)nf, Cm + r * nf * nf, 1, &s0, (int)nf, (int)nf - 1, g2t + r * (nf - 1), np);
    }
    for (size_t k = 0; k + 1 < nf; k++) {
      size_t i = r * (nf - 1) + k;
      double m = e->g2t_sum[i] / n, v = n > 1 ? (e->g2t_sq[i] / n - m * m) * n / (n - 1) : NAN;
      if (g2t_err) g2t_err[i] = sqrt(PetscMax(v, 0) / n);
      if (g2t) g2t[i] += 1.0;
    }
    double m = e->bsum[r] / n, v = n > 1 ? (e->bsq[r] / n - m * m) * n / (n - 1) : NAN;
    if (beta) beta[r] = m;
    if (beta_err) beta_err[r] = sqrt(PetscMax(v, 0) / n);
  }
  PetscCall(PetscFree2(np, Cm));
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineGetCounts(MxEngine e, double *nused, double *nnoneighbour)
{
  PetscFunctionBeginUser;
  if (nused) *nused = e->counts[0];
  if (nnoneighbour) *nnoneighbour = e->counts[1];
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineGetDose(MxEngine e, PetscInt *ndose, const double **g2grp, const double **g2sqgrp, const double **bgrp, const double **ngrp)
{
  PetscFunctionBeginUser;
  *ndose   = e->ndose;
  *g2grp   = e->dose_g2;
  *g2sqgrp = e->dose_g2sq;
  *bgrp    = e->dose_b;
  *ngrp    = e->dose_n;
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineGetJackknife(MxEngine e, PetscInt *jk, const double **g2sum, const double **g2grp, const double **bsum, const double **bgrp, const double **ngrp)
{
  PetscFunctionBeginUser;
  *jk    = e->jk;
  *g2sum = e->g2sum;
  *g2grp = e->jk_g2;
  *bsum  = e->bsum;
  *bgrp  = e->jk_b;
  *ngrp  = e->jk_n;
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineGetSaxs(MxEngine e, const double **per_pulse, const double **run)
{
  PetscFunctionBeginUser;
  *per_pulse = e->saxs;
  *run       = e->saxs_run;
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineGetImage(MxEngine e, const double **img_sum, const double **img_n)
{
  PetscFunctionBeginUser;
  *img_sum = e->img_sum;
  *img_n   = e->img_n;
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineGetUsed(MxEngine e, const double **used)
{
  PetscFunctionBeginUser;
  *used = e->used;
  PetscFunctionReturn(0);
}

PetscErrorCode MxEngineGetTimes(MxEngine e, double *t_corr, double *t_comm, double *t_kernel, double *flops)
{
  PetscFunctionBeginUser;
  if (t_corr) *t_corr = e->t_corr;
  if (t_comm) *t_comm = e->t_comm;
  if (t_kernel) *t_kernel = e->t_kernel;
  if (flops) *flops = e->flops;
  PetscFunctionReturn(0);
}
