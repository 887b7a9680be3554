/* Unit tests of the per-train step (include/mxpcs/engine.h) without files: synthetic trains are
   fed to MxEngine as a stream source would, and its sums are compared with the seed paper's
   definitions evaluated loop by loop in double (Methods "Correlation analysis"; design.md
   1.2-1.5): C_n per train over the pixels good in every frame, the cross term X between
   neighbouring trains over the pixels good in both, XC = (XT_-1 + XT_+1)/2, C_n - XC_n averaged
   over the trains that have a neighbour, g2 per age window, the contrast C(t,t) - N/s1(t), SAXS
   per bin and pulse, the mean image; a gap in the train IDs and a dropped train break the pairs. */
#include <mxpcs/engine.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define NF    6
#define NPIX  300
#define NRING 2
#define NTR   7
#define NWIN  2
#define WLEN  3
#define NTAU  (WLEN - 1)
#define NBIN  3

static const uint64_t ID[NTR] = {100, 101, 102, 104, 105, 106, 108}; /* gaps after 102 and 106 */
static const int      DROP    = 4;                                   /* index 4 (ID 105) is dropped */

static uint64_t Next(uint64_t *s) /* splitmix64: the same data on every machine */
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z          = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int Ring(int p) { return p < 120 ? 0 : p < 260 ? 1 : -1; } /* pixels 260.. are in no ring */
static int Bin(int p) { return p % 7 == 6 ? -1 : p % NBIN; }
static float Corr(int p) { return Bin(p) < 0 ? 0.0f : 1.0f + 0.25f * (float)(p % 5); }

static float         D[NTR][NF][NPIX]; /* photon counts 0..5: exact in float */
static unsigned char Bad[NTR][NF][NPIX];

static void MakeTrains(void)
{
  uint64_t s = 42;
  for (int n = 0; n < NTR; n++)
    for (int f = 0; f < NF; f++)
      for (int p = 0; p < NPIX; p++) {
        /* speckle-like: a per-pixel level shared by the frames of a train, plus noise */
        uint64_t h    = (uint64_t)(n * 1000 + p) * 2654435761u;
        int      lvl  = (int)(h % 4);
        D[n][f][p]    = (float)((lvl + (int)(Next(&s) % 3)) % 6);
        Bad[n][f][p]  = (Next(&s) % 97) == 0; /* a few bad pixels, different per train and frame */
      }
}

static int Valid(int n, int p)
{
  for (int f = 0; f < NF; f++)
    if (Bad[n][f][p]) return 0;
  return 1;
}

/* C_n(t1,t2) over ring r's pixels good in train n (and in train m when m >= 0) */
static void TwoTime(int n, int m, int r, double *C)
{
  double s1[NF] = {0}, N = 0, g[NF][NF] = {{0}};
  for (int p = 0; p < NPIX; p++) {
    if (Ring(p) != r || !Valid(n, p) || (m >= 0 && !Valid(m, p))) continue;
    N++;
    for (int a = 0; a < NF; a++) {
      s1[a] += D[n][a][p];
      for (int b = 0; b < NF; b++) g[a][b] += (double)D[n][a][p] * D[n][b][p];
    }
  }
  for (int a = 0; a < NF; a++)
    for (int b = 0; b < NF; b++) C[a * NF + b] = N * g[a][b] / (s1[a] * s1[b]) - 1;
}

/* XT between trains a (earlier) and b over ring r's pixels good in both, symmetrised */
static void CrossT(int a, int b, int r, double *XT)
{
  double sa[NF] = {0}, sb[NF] = {0}, N = 0, x[NF][NF] = {{0}}, X[NF][NF];
  for (int p = 0; p < NPIX; p++) {
    if (Ring(p) != r || !Valid(a, p) || !Valid(b, p)) continue;
    N++;
    for (int i = 0; i < NF; i++) {
      sa[i] += D[a][i][p];
      sb[i] += D[b][i][p];
      for (int j = 0; j < NF; j++) x[i][j] += (double)D[a][i][p] * D[b][j][p];
    }
  }
  for (int i = 0; i < NF; i++)
    for (int j = 0; j < NF; j++) X[i][j] = N * x[i][j] / (sa[i] * sb[j]) - 1;
  for (int i = 0; i < NF; i++)
    for (int j = 0; j < NF; j++) XT[i * NF + j] = 0.5 * (X[i][j] + X[j][i]);
}

static void Close(double x, double y, double tol, const char *what, int i)
{
  if (!(fabs(x - y) <= tol * (1 + fabs(y)))) fail_msg("%s[%d]: engine %.17g, direct %.17g", what, i, x, y);
}

/* Feed the trains (one dropped) and compare every mean with the direct evaluation. */
static void test_stream(void **state)
{
  (void)state;
  int      ring_off[NRING + 1] = {0}, ring_pix[NPIX], sbin[NPIX], k = 0;
  float    corr[NPIX];
  PetscInt wstart[NWIN] = {0, 3};
  MxEngine e;

  MakeTrains();
  for (int r = 0; r < NRING; r++) {
    for (int p = 0; p < NPIX; p++)
      if (Ring(p) == r) ring_pix[k++] = p;
    ring_off[r + 1] = k;
  }
  for (int p = 0; p < NPIX; p++) {
    sbin[p] = Bin(p);
    corr[p] = Corr(p);
  }
  MxEngineSpec s = {.nf = NF, .npix = NPIX, .nring = NRING, .ring_off = ring_off, .ring_pix = ring_pix, .nwin = NWIN, .win_len = WLEN, .win_start = wstart, .xc = PETSC_TRUE, .jk = 0, .block = 64, .saxs_nbins = NBIN, .saxs_bin = sbin, .corr = corr, .ntrains = NTR, .t0 = 0, .t1 = NTR, .part0 = PETSC_TRUE};
  assert_int_equal(MxEngineCreate(PETSC_COMM_SELF, PETSC_COMM_SELF, &s, &e), 0);
  for (int n = 0; n < NTR; n++) {
    MxTrainBuf *T;
    int         unreadable, votes;
    if (n == DROP) {
      assert_int_equal(MxEngineBreak(e, n), 0);
      continue;
    }
    assert_int_equal(MxEngineAcquire(e, &T), 0);
    memcpy(T->data, D[n], sizeof D[n]);
    memcpy(T->bad, Bad[n], sizeof Bad[n]);
    MxEngineTrain in = {n, ID[n], T, 1};
    assert_int_equal(MxEngineStep(e, &in, &unreadable, &votes), 0);
    assert_int_equal(unreadable, 0);
    assert_int_equal(votes, 1);
  }
  assert_int_equal(MxEngineFinish(e), 0);
  assert_int_equal(MxEngineReduce(e), 0);

  /* direct: which trains have neighbours (consecutive IDs, neither dropped) */
  int    used = 0, left = 0;
  double sumC[NRING][NF * NF] = {{0}}, g2s[NRING][NWIN * NTAU] = {{0}}, g2q[NRING][NWIN * NTAU] = {{0}}, bs[NRING] = {0};
  for (int n = 0; n < NTR; n++) {
    if (n == DROP) continue;
    int hm = n > 0 && n - 1 != DROP && ID[n] == ID[n - 1] + 1, hp = n + 1 < NTR && n + 1 != DROP && ID[n + 1] == ID[n] + 1;
    if (!hm && !hp) {
      left++;
      continue;
    }
    used++;
    for (int r = 0; r < NRING; r++) {
      double C[NF * NF], Xm[NF * NF], Xp[NF * NF], s1[NF] = {0}, N = 0;
      TwoTime(n, -1, r, C);
      if (hm) CrossT(n - 1, n, r, Xm);
      if (hp) CrossT(n, n + 1, r, Xp);
      for (int i = 0; i < NF * NF; i++) {
        double xc = hm && hp ? 0.5 * (Xm[i] + Xp[i]) : hm ? Xm[i] : Xp[i];
        C[i] -= xc;
        sumC[r][i] += C[i];
      }
      for (int w = 0; w < NWIN; w++)
        for (int tau = 1; tau <= NTAU; tau++) {
          double m = 0;
          int    np = 0;
          for (int t = wstart[w]; t + tau < wstart[w] + WLEN; t++, np++) m += C[t * NF + t + tau];
          g2s[r][w * NTAU + tau - 1] += m / np;
          g2q[r][w * NTAU + tau - 1] += (m / np) * (m / np);
        }
      for (int p = 0; p < NPIX; p++)
        if (Ring(p) == r && Valid(n, p)) {
          N++;
          for (int t = 0; t < NF; t++) s1[t] += D[n][t][p];
        }
      double bm = 0;
      for (int t = 0; t < NF; t++) bm += (C[t * NF + t] - N / s1[t]) / NF;
      bs[r] += bm;
    }
  }
  double nu, nl;
  assert_int_equal(MxEngineGetCounts(e, &nu, &nl), 0);
  assert_int_equal((int)nu, used);
  assert_int_equal((int)nl, left);
  assert_int_equal(used, 3); /* 100, 101, 102; 104, 106, 108 have no neighbour (105 dropped, gaps) */

  double C[NRING * NF * NF], g2[NRING * NWIN * NTAU], g2e[NRING * NWIN * NTAU], beta[NRING];
  assert_int_equal(MxEngineGetMeans(e, C, NULL, NULL, g2, g2e, NULL, NULL, beta, NULL), 0);
  for (int r = 0; r < NRING; r++) {
    for (int i = 0; i < NF * NF; i++) Close(C[r * NF * NF + i], sumC[r][i] / used, 1e-12, "C", r * NF * NF + i);
    for (int i = 0; i < NWIN * NTAU; i++) {
      double m = g2s[r][i] / used, v = (g2q[r][i] / used - m * m) * used / (used - 1.0);
      Close(g2e[r * NWIN * NTAU + i], sqrt(v / used), 1e-9, "g2_err", r * NWIN * NTAU + i);
    }
    /* g2 from the mean C: window 1 starts at pulse 3, lag 2 pairs (3,5) only */
    Close(g2[r * NWIN * NTAU + 1 * NTAU + 1], 1 + sumC[r][3 * NF + 5] / used, 1e-12, "g2", r);
    Close(beta[r], bs[r] / used, 1e-12, "beta", r);
  }
  /* SAXS and the image cover every train read, also those without a neighbour */
  const double *pp, *run, *isum, *inn, *u;
  assert_int_equal(MxEngineGetSaxs(e, &pp, &run), 0);
  assert_int_equal(MxEngineGetImage(e, &isum, &inn), 0);
  for (int b = 0; b < NBIN; b++) {
    double S = 0, S2 = 0;
    int    cnt = 0;
    for (int n = 0; n < NTR; n++) {
      double sum = 0, c = 0;
      if (n == DROP) continue;
      for (int f = 0; f < NF; f++)
        for (int p = 0; p < NPIX; p++)
          if (Bin(p) == b && Valid(n, p)) {
            sum += (double)(D[n][f][p] * Corr(p));
            c++;
          }
      S += sum / c;
      S2 += (sum / c) * (sum / c);
      cnt++;
    }
    Close(run[b * 3], S, 1e-12, "saxs_run sum", b);
    Close(run[b * 3 + 1], S2, 1e-12, "saxs_run sum of squares", b);
    assert_int_equal((int)run[b * 3 + 2], cnt);
  }
  for (int p = 0; p < NPIX; p++) {
    double sum = 0, c = 0;
    for (int n = 0; n < NTR; n++)
      if (n != DROP && Valid(n, p)) {
        for (int f = 0; f < NF; f++) sum += D[n][f][p];
        c += NF;
      }
    Close(isum[p], sum, 0, "image sum", p);
    Close(inn[p], c, 0, "image frames", p);
  }
  assert_int_equal(MxEngineGetUsed(e, &u), 0);
  for (int n = 0; n < NTR; n++) assert_int_equal(u[n] > 0, n < 3); /* the trains in C */
  assert_int_equal(MxEngineDestroy(&e), 0);
  assert_null(e);
}

/* A train that some rank could not read folds nothing; the source breaks the pair. */
static void test_unreadable(void **state)
{
  (void)state;
  int      ring_off[2] = {0, 4}, ring_pix[4] = {0, 1, 2, 3}, sbin[4] = {0, 0, 0, 0};
  float    corr[4]     = {1, 1, 1, 1};
  PetscInt wstart[1]   = {0};
  MxEngine e;
  int      unreadable, votes;
  double   nu, nl;

  MxEngineSpec s = {.nf = 2, .npix = 4, .nring = 1, .ring_off = ring_off, .ring_pix = ring_pix, .nwin = 1, .win_len = 2, .win_start = wstart, .xc = PETSC_TRUE, .jk = 4, .block = 8, .saxs_nbins = 1, .saxs_bin = sbin, .corr = corr, .ntrains = 2, .t0 = 0, .t1 = 2, .part0 = PETSC_TRUE};
  assert_int_equal(MxEngineCreate(PETSC_COMM_SELF, PETSC_COMM_SELF, &s, &e), 0);
  MxEngineTrain in = {0, 7, NULL, 0};
  assert_int_equal(MxEngineStep(e, &in, &unreadable, &votes), 0);
  assert_int_equal(unreadable, 1);
  assert_int_equal(MxEngineBreak(e, 0), 0);
  assert_int_equal(MxEngineFinish(e), 0);
  assert_int_equal(MxEngineGetCounts(e, &nu, &nl), 0);
  assert_true(nu == 0 && nl == 0);
  assert_int_equal(MxEngineDestroy(&e), 0);
  /* three train buffers and two frame slabs: one train read and one correlated at a time; a
     stepped train keeps its ring pixels and valid flags (the next train's previous one) and
     gives its frames back */
  MxTrainBuf *T[4];
  assert_int_equal(MxEngineCreate(PETSC_COMM_SELF, PETSC_COMM_SELF, &s, &e), 0);
  for (int i = 0; i < 2; i++) assert_int_equal(MxEngineAcquire(e, &T[i]), 0);
  assert_true(T[0]->data && T[1]->data && T[0]->data != T[1]->data && T[0]->bad != T[1]->bad);
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  assert_int_not_equal(MxEngineAcquire(e, &T[2]), 0); /* no frame slab left */
  PetscPopErrorHandler();
  for (int k = 0; k < 8; k++) {
    T[0]->data[k] = 1.0f + (float)k;
    T[0]->bad[k]  = 0;
  }
  in = (MxEngineTrain){0, 7, T[0], 0};
  assert_int_equal(MxEngineStep(e, &in, &unreadable, &votes), 0);
  assert_int_equal(unreadable, 0);
  assert_null(T[0]->data); /* its slab is free again */
  assert_null(T[0]->bad);
  assert_int_equal(MxEngineAcquire(e, &T[2]), 0);
  assert_true(T[2]->data && T[2]->data != T[1]->data);
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  assert_int_not_equal(MxEngineAcquire(e, &T[3]), 0); /* all three buffers in use */
  PetscPopErrorHandler();
  assert_int_equal(MxEngineRelease(e, T[1]), 0); /* a released buffer gives its slab back too */
  assert_null(T[1]->data);
  assert_int_equal(MxEngineAcquire(e, &T[3]), 0);
  assert_true(T[3]->data != NULL);
  assert_int_equal(MxEngineDestroy(&e), 0);
}

/* Train n read as the direct reader's cache path reads it (MxReaderHooks.cache): units of U
   pixels, each in a buffer of its own (stride ld), its frames' hooks, its range hook and the
   chains' hooks in pixel order, then the train hook; T's frames are never written (NaN there). */
#define U 64
static float V[NTR][NF][NPIX]; /* values that are not whole numbers: the order of the sums shows */
static void ReadCache(MxEngine e, MxTrainBuf *T, int n)
{
  static float         buf[NF * U];
  static unsigned char bscr[U];
  MxEngineBeginTrain(e, T, n, PETSC_TRUE, PETSC_TRUE);
  for (int k = 0; k < NF * NPIX; k++) T->data[k] = NAN;
  for (int u0 = 0; u0 < NPIX; u0 += U) {
    const int m = NPIX - u0 < U ? NPIX - u0 : U;
    for (int f = 0; f < NF; f++) {
      memcpy(buf + f * U, &V[n][f][u0], sizeof(float) * (size_t)m);
      memcpy(bscr, &Bad[n][f][u0], (size_t)m);
      MxEngineFrameHook(T, f, (size_t)u0, (size_t)m, buf + f * U, bscr);
    }
    MxEngineRangeHook(T, (size_t)u0, (size_t)m, buf, U);
    for (int c = 0; c < MxEngineChains(T); c++) MxEngineChainHook(T, (size_t)u0, (size_t)m, c, buf, U);
  }
  MxEngineTrainHook(T, T->data, T->bad);
}

/* The cache path, with each train read before the previous one is stepped (as analyze reads
   ahead) and a train that another rank could not read (stepped as unreadable after the next one
   was read on top of it, which must then be read again): the same bits as whole trains given to
   the step. */
static void test_cache(void **state)
{
  (void)state;
  int       ring_off[NRING + 1] = {0}, ring_pix[NPIX], sbin[NPIX], k = 0, unreadable, votes, rereads = 0, pending = -1;
  float     corr[NPIX];
  PetscInt  wstart[NWIN] = {0, 3};
  const int UNREAD       = 1; /* read here, unreadable on another rank */
  MxEngine  e, r;

  MakeTrains();
  for (int n = 0; n < NTR; n++)
    for (int f = 0; f < NF; f++)
      for (int p = 0; p < NPIX; p++) V[n][f][p] = D[n][f][p] * 1.1f + 0.0137f * (float)((p * 7 + f) % 11);
  for (int rr = 0; rr < NRING; rr++) {
    for (int p = 0; p < NPIX; p++)
      if (Ring(p) == rr) ring_pix[k++] = p;
    ring_off[rr + 1] = k;
  }
  for (int p = 0; p < NPIX; p++) {
    sbin[p] = Bin(p);
    corr[p] = Corr(p) * 1.01f;
  }
  MxEngineSpec s = {.nf = NF, .npix = NPIX, .nring = NRING, .ring_off = ring_off, .ring_pix = ring_pix, .nwin = NWIN, .win_len = WLEN, .win_start = wstart, .xc = PETSC_TRUE, .jk = 0, .block = 64, .saxs_nbins = NBIN, .saxs_bin = sbin, .corr = corr, .ntrains = NTR, .t0 = 0, .t1 = NTR, .part0 = PETSC_TRUE};
  assert_int_equal(MxEngineCreate(PETSC_COMM_SELF, PETSC_COMM_SELF, &s, &e), 0);
  assert_int_equal(MxEngineCreate(PETSC_COMM_SELF, PETSC_COMM_SELF, &s, &r), 0);
  /* the reference: whole trains */
  for (int n = 0; n < NTR; n++) {
    MxTrainBuf *T = NULL;
    if (n == DROP) {
      assert_int_equal(MxEngineBreak(r, n), 0);
      continue;
    }
    if (n != UNREAD) {
      assert_int_equal(MxEngineAcquire(r, &T), 0);
      memcpy(T->data, V[n], sizeof V[n]);
      memcpy(T->bad, Bad[n], sizeof Bad[n]);
    }
    MxEngineTrain in = {n, ID[n], T, 0};
    assert_int_equal(MxEngineStep(r, &in, &unreadable, &votes), 0);
    assert_int_equal(unreadable, n == UNREAD);
    if (unreadable) assert_int_equal(MxEngineBreak(r, n), 0);
  }
  /* the cache path, reading ahead */
  MxTrainBuf *P = NULL;
  for (int n = 0; n < NTR; n++) {
    MxTrainBuf *T;
    PetscBool   again;
    if (n == DROP) {
      assert_int_equal(MxEngineBreak(e, n), 0);
      continue;
    }
    if (pending == n) T = P;
    else {
      assert_int_equal(MxEngineAcquire(e, &T), 0);
      ReadCache(e, T, n);
    }
    assert_int_equal(MxEngineSync(e, T, &again), 0);
    if (again) {
      ReadCache(e, T, n);
      rereads++;
      assert_int_equal(MxEngineSync(e, T, &again), 0);
      assert_false(again);
    }
    int m = n + 1;
    while (m < NTR && m == DROP) m++;
    pending = -1;
    if (m < NTR) {
      assert_int_equal(MxEngineAcquire(e, &P), 0);
      ReadCache(e, P, m);
      pending = m;
    }
    MxEngineTrain in = {n, ID[n], n == UNREAD ? NULL : T, 0};
    assert_int_equal(MxEngineStep(e, &in, &unreadable, &votes), 0);
    assert_int_equal(unreadable, n == UNREAD);
    if (unreadable) {
      assert_int_equal(MxEngineRelease(e, T), 0);
      assert_int_equal(MxEngineBreak(e, n), 0);
    }
  }
  assert_int_equal(rereads, 1); /* train 2, read on top of train 1 */
  const double *img[2], *imn[2], *pp[2], *run[2];
  double        C[2][NRING * NF * NF], beta[2][NRING];
  MxEngine      both[2] = {e, r};
  for (int i = 0; i < 2; i++) {
    assert_int_equal(MxEngineFinish(both[i]), 0);
    assert_int_equal(MxEngineReduce(both[i]), 0);
    assert_int_equal(MxEngineGetImage(both[i], &img[i], &imn[i]), 0);
    assert_int_equal(MxEngineGetSaxs(both[i], &pp[i], &run[i]), 0);
    assert_int_equal(MxEngineGetMeans(both[i], C[i], NULL, NULL, NULL, NULL, NULL, NULL, beta[i], NULL), 0);
  }
  assert_memory_equal(img[0], img[1], sizeof(double) * NPIX);
  assert_memory_equal(imn[0], imn[1], sizeof(double) * NPIX);
  assert_memory_equal(pp[0], pp[1], sizeof(double) * NBIN * NF * 3);
  assert_memory_equal(run[0], run[1], sizeof(double) * NBIN * 3);
  assert_memory_equal(C[0], C[1], sizeof C[0]);
  assert_memory_equal(beta[0], beta[1], sizeof beta[0]);
  assert_true(img[0][0] != 0 && img[0][0] != floor(img[0][0])); /* not whole numbers */
  assert_int_equal(MxEngineDestroy(&e), 0);
  assert_int_equal(MxEngineDestroy(&r), 0);
}

int main(int argc, char **argv)
{
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_stream),
    cmocka_unit_test(test_unreadable),
    cmocka_unit_test(test_cache),
  };
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  if (PetscFinalize()) return 1;
  return rc;
}
