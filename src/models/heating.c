/* X-ray heating from dose with heat diffusion (include/mxpcs/heating.h): materials, viscosity
   laws, the analytic kernel and the quadrature model of a train. Facts and sources:
   docs/reference/heating.md. */
#include <mxpcs/heating.h>
#include <mxpcs/models.h>
#include <math.h>
#include <string.h>

const char *const MxSolventNames[] = {"nmf", "dmf", "water", "MxSolvent", "MX_SOLVENT_", NULL};

/* ---------- materials: NIST SRD 126 coefficients from 4 to 50 keV ---------- */

/* Mass attenuation mu/rho and mass energy-absorption mu_en/rho (cm^2/g) of the elements H C N O
   S Pb at NIST's tabulated energies (keV) from 4 to 50 keV: Hubbell & Seltzer, NIST Standard
   Reference Database 126, table 3 (physics.nist.gov/PhysRefData/XrayMassCoef/tab3.html),
   docs/reference/heating.md 3. An absorption edge is listed twice (below, above). Between the
   points: a natural cubic spline in ln E - ln mu over each section between edges, as Hubbell &
   Seltzer recommend for their tables (log-log straight lines are up to 4 % off for C, N, O
   between 10 and 50 keV, where scattering and photoabsorption cross over; the spline is within
   0.3 % of xraylib, tests/peer/xraylib_check.py). */
typedef struct {
  double E, mu, muen;
} NistPoint;
static const NistPoint nist_H[]  = {{4, 0.4546, 0.06549}, {5, 0.4193, 0.03278}, {6, 0.4042, 0.01996}, {8, 0.3914, 0.0116}, {10, 0.3854, 0.009849}, {15, 0.3764, 0.01102}, {20, 0.3695, 0.01355}, {30, 0.357, 0.01863}, {40, 0.3458, 0.02315}, {50, 0.3355, 0.02709}};
static const NistPoint nist_C[]  = {{4, 37.78, 37.23}, {5, 19.12, 18.66}, {6, 10.95, 10.54}, {8, 4.576, 4.242}, {10, 2.373, 2.078}, {15, 0.8071, 0.5627}, {20, 0.442, 0.2238}, {30, 0.2562, 0.06614}, {40, 0.2076, 0.03343}, {50, 0.1871, 0.02397}};
static const NistPoint nist_N[]  = {{4, 61.66, 60.94}, {5, 31.44, 30.86}, {6, 18.09, 17.59}, {8, 7.562, 7.17}, {10, 3.879, 3.545}, {15, 1.236, 0.9715}, {20, 0.6178, 0.3867}, {30, 0.3066, 0.1099}, {40, 0.2288, 0.05051}, {50, 0.198, 0.03217}};
static const NistPoint nist_O[]  = {{4, 93.15, 92.21}, {5, 47.9, 47.15}, {6, 27.7, 27.08}, {8, 11.63, 11.16}, {10, 5.952, 5.565}, {15, 1.836, 1.545}, {20, 0.8651, 0.6179}, {30, 0.3779, 0.1729}, {40, 0.2585, 0.0753}, {50, 0.2132, 0.04414}};
static const NistPoint nist_S[]  = {{4, 633.8, 606.6}, {5, 348.7, 336}, {6, 211.6, 204.6}, {8, 94.65, 91.71}, {10, 50.12, 48.47}, {15, 15.5, 14.77}, {20, 6.708, 6.235}, {30, 2.113, 1.809}, {40, 0.9872, 0.7466}, {50, 0.5849, 0.3779}};
static const NistPoint nist_Pb[] = {{4, 1251, 1221}, {5, 730.4, 712.4}, {6, 467.2, 454.6}, {8, 228.7, 220.7}, {10, 130.6, 124.7}, {13.0352, 67.01, 62.7}, {13.0352, 162.1, 129.1}, {15, 111.6, 91}, {15.2, 107.8, 88.07}, {15.2, 148.5, 113.1}, {15.53, 141.6, 108.3}, {15.8608, 134.4, 103.2}, {15.8608, 154.8, 118}, {20, 86.36, 68.99}, {30, 30.32, 25.36}, {40, 14.36, 12.11}, {50, 8.041, 6.74}};
#define NPTS(a) (int)(sizeof(a) / sizeof(a[0]))
static const struct {
  const NistPoint *p;
  int              n;
} nist[6] = {{nist_H, NPTS(nist_H)}, {nist_C, NPTS(nist_C)}, {nist_N, NPTS(nist_N)}, {nist_O, NPTS(nist_O)}, {nist_S, NPTS(nist_S)}, {nist_Pb, NPTS(nist_Pb)}};
static const double el_mass[6] = {1.008, 12.011, 14.007, 15.999, 32.06, 207.2};

/* ln y at ln E = x by the natural cubic spline through (lx[i], ly[i]), i < n (n <= 32) */
static double Spline(int n, const double *lx, const double *ly, double x)
{
  double y2[32], u[32], h, t, a, b;
  int    i;
  if (n == 2) return ly[0] + (ly[1] - ly[0]) * (x - lx[0]) / (lx[1] - lx[0]);
  y2[0] = u[0] = 0; /* natural: zero second derivative at both ends */
  for (i = 1; i < n - 1; i++) {
    double sig = (lx[i] - lx[i - 1]) / (lx[i + 1] - lx[i - 1]), p = sig * y2[i - 1] + 2;
    y2[i] = (sig - 1) / p;
    u[i]  = (ly[i + 1] - ly[i]) / (lx[i + 1] - lx[i]) - (ly[i] - ly[i - 1]) / (lx[i] - lx[i - 1]);
    u[i]  = (6 * u[i] / (lx[i + 1] - lx[i - 1]) - sig * u[i - 1]) / p;
  }
  y2[n - 1] = 0;
  for (i = n - 2; i >= 0; i--) y2[i] = y2[i] * y2[i + 1] + u[i];
  for (i = 0; i < n - 2 && lx[i + 1] <= x; i++) {}
  h = lx[i + 1] - lx[i];
  a = (lx[i + 1] - x) / h;
  b = 1 - a;
  t = a * ly[i] + b * ly[i + 1] + ((a * a * a - a) * y2[i] + (b * b * b - b) * y2[i + 1]) * h * h / 6;
  return t;
}

int MxHeatElementCoefficients(int el, double E_keV, double *mu, double *muen)
{
  const NistPoint *p;
  int              n, lo, hi;
  double           lx[32], lm[32], le[32];

  if (el < 0 || el >= 6 || !(E_keV >= MX_HEAT_EMIN_KEV && E_keV <= MX_HEAT_EMAX_KEV)) return 1;
  p = nist[el].p;
  n = nist[el].n;
  /* the edge-free section holding E (at an edge: the one above it) */
  for (lo = 0, hi = 0; hi < n - 1; hi++) {
    if (p[hi + 1].E != p[hi].E) continue;
    if (E_keV < p[hi].E) break;
    lo = hi + 1;
  }
  for (int i = lo; i <= hi; i++) {
    lx[i - lo] = log(p[i].E);
    lm[i - lo] = log(p[i].mu);
    le[i - lo] = log(p[i].muen);
  }
  *mu   = exp(Spline(hi - lo + 1, lx, lm, log(E_keV)));
  *muen = exp(Spline(hi - lo + 1, lx, le, log(E_keV)));
  return 0;
}

typedef struct {
  int    atoms[6];      /* H C N O S Pb */
  double rho, cp, k_W_mK; /* g/cm^3, J/(g K), W/(m K) at 298 K */
} Material;

/* NMF C2H5NO: rho CRC, c_p Zabransky (c_p/R = 9.60363 + 1.82794 T/100 K at 298 K), k assumed
   0.20 (unverified); DMF C3H7NO: rho CRC, c_p Perry DIPPR-100, k Perry 2-315; water: CRC at 25 C;
   PbS: rho CRC, c_p Perry 2-151 (k not needed: the particles take the solvent's temperature in
   ~20 ps) */
static const Material solvents[3] = {
  {{5, 2, 1, 1, 0, 0}, 1.011, 2.12, 0.20 },
  {{7, 3, 1, 1, 0, 0}, 0.9445, 2.06, 0.184},
  {{2, 0, 0, 1, 0, 0}, 0.997, 4.18, 0.6065},
};
static const Material pbs = {{0, 0, 0, 0, 1, 1}, 7.60, 0.207, 0};

/* mass coefficients of a compound: the elements' weighted by their mass fractions */
static int MassCoefficients(const Material *m, double E_keV, double *mu, double *muen)
{
  double M = 0;
  *mu = *muen = 0;
  for (int e = 0; e < 6; e++) M += m->atoms[e] * el_mass[e];
  for (int e = 0; e < 6; e++) {
    double a, b;
    if (!m->atoms[e]) continue;
    if (MxHeatElementCoefficients(e, E_keV, &a, &b)) return 1;
    *mu += m->atoms[e] * el_mass[e] / M * a;
    *muen += m->atoms[e] * el_mass[e] / M * b;
  }
  return 0;
}

int MxHeatSampleProps(const MxHeatSample *s, MxHeatProps *p)
{
  const Material *sv;
  double          mus, muens, mup, muenp, L, f;
  const double    E = s->energy_keV > 0 ? s->energy_keV : MX_HEAT_DEFAULT_KEV;

  if ((int)s->solvent < 0 || (int)s->solvent > MX_SOLVENT_WATER || !(s->phi >= 0 && s->phi < 0.74) || !(s->path_mm > 0) || !(s->T0_K > 0)) return 1;
  sv = &solvents[s->solvent];
  if (MassCoefficients(sv, E, &mus, &muens) || MassCoefficients(&pbs, E, &mup, &muenp)) return 1;
  p->mu_cm        = s->phi * pbs.rho * mup + (1 - s->phi) * sv->rho * mus;
  p->muen_cm      = s->phi * pbs.rho * muenp + (1 - s->phi) * sv->rho * muens;
  p->Cv_J_cm3K    = s->phi * pbs.rho * pbs.cp + (1 - s->phi) * sv->rho * sv->cp;
  p->alpha_m2_s   = sv->k_W_mK / (sv->rho * 1e3 * sv->cp * 1e3);
  L               = s->path_mm * 0.1;
  p->transmission = exp(-p->mu_cm * L);
  f               = p->mu_cm * L > 1e-12 ? -expm1(-p->mu_cm * L) / (p->mu_cm * L) : 1.0;
  p->dT_per_J_cm2 = p->muen_cm * f / p->Cv_J_cm3K;
  p->Gy_per_J_cm2 = 1e3 * p->muen_cm * f / (s->phi * pbs.rho + (1 - s->phi) * sv->rho);
  return 0;
}

/* ---------- viscosity and D(T) ---------- */

#define MX_R_J_MOLK 8.314462618
#define MX_NMF_EA_PLACEHOLDER 12.0 /* kJ/mol: no verified law for NMF (heating.md 3) */

/* DIPPR-101 ln(eta/Pa s) = C1 + C2/T + C3 ln T + C4 T^C5, Perry's 8th ed. table 2-313 */
static const double dippr[3][7] = {
  {0, 0, 0, 0, 0, 0, 0},                                  /* NMF: none */
  {-20.425, 1515.5, 1.4444, 0, 0, 240, 425.15},           /* DMF */
  {-52.843, 3703.6, 5.866, -5.879e-29, 10, 273.16, 646.15} /* water */
};

double MxHeatViscosity(const MxHeatSample *s, double T)
{
  if (s->Ea_kJ_mol > 0 || s->solvent == MX_SOLVENT_NMF) {
    const double Ea = s->Ea_kJ_mol > 0 ? s->Ea_kJ_mol : MX_NMF_EA_PLACEHOLDER, Tr = 298.15;
    const double eta_r = s->solvent == MX_SOLVENT_NMF ? 1.65e-3 : MxHeatViscosity(&(MxHeatSample){.solvent = s->solvent}, Tr);
    return T > 0 ? eta_r * exp(Ea * 1e3 / MX_R_J_MOLK * (1 / T - 1 / Tr)) : NAN;
  }
  const double *c = dippr[s->solvent];
  if (!(T >= c[5] && T <= c[6])) return NAN;
  return exp(c[0] + c[1] / T + c[2] * log(T) + c[3] * pow(T, c[4]));
}

double MxHeatDFactor(const MxHeatSample *s, double T)
{
  return (T / s->T0_K) * MxHeatViscosity(s, s->T0_K) / MxHeatViscosity(s, T);
}

/* ---------- the analytic kernel ---------- */

double MxHeatTauI(double fwhm_um, double alpha_m2_s)
{
  const double sigma_m = fwhm_um * 1e-6 / (2 * sqrt(2 * log(2.0)));
  return sigma_m * sigma_m / alpha_m2_s;
}

double MxHeatKernel(double u, double s) { return exp(-u / (1 + s)) / (1 + s); }

double MxHeatKernelMean(double x) { return 0.5 / (1 + x); }

/* ---------- the quadrature model of a train ---------- */

#define NU 32 /* Gauss-Laguerre nodes over the beam (u = r^2/w0^2, weight exp(-u)) */
#define NT 8  /* Gauss-Legendre nodes per interval */

#define NMEMO 32 /* factors kept: a fit asks for the same dT0 again (its start, each Jacobian's point, the jackknife's starts) */

struct _p_MxHeatModel {
  PetscInt nint;
  double   wu[NU], wt[NT];
  double  *theta; /* nint x NT x NU, per unit dT_c0 */
  /* the factors of the last NMEMO distinct (sample, dT0): entry k's h at memo_h + k nint */
  MxHeatSample memo_s[NMEMO];
  double       memo_dT0[NMEMO], *memo_h;
  int          nmemo, memo_next;
};

/* L_n(z) in *p1 and L_{n-1}(z) in *p2 by the three-term recurrence; returns L_n'(z) */
static double Laguerre(int n, double z, double *p1, double *p2)
{
  *p1 = 1;
  *p2 = 0;
  for (int j = 1; j <= n; j++) {
    double p3 = *p2;
    *p2       = *p1;
    *p1       = ((2 * j - 1 - z) * *p2 - (j - 1) * p3) / j;
  }
  return n * (*p1 - *p2) / z;
}

void MxGaussLaguerre(int n, double *x, double *w)
{
  double z = 0;
  for (int i = 0; i < n; i++) {
    double p1, p2, pp;
    if (i == 0) z = 3.0 / (1 + 2.4 * n);
    else if (i == 1) z += 15.0 / (1 + 2.5 * n);
    else z += (1 + 2.55 * (i - 1)) / (1.9 * (i - 1)) * (z - x[i - 2]);
    for (int it = 0; it < 100; it++) {
      double z1 = z;
      pp        = Laguerre(n, z, &p1, &p2);
      z         = z1 - p1 / pp;
      if (fabs(z - z1) <= 1e-15 * z) break;
    }
    pp   = Laguerre(n, z, &p1, &p2);
    x[i] = z;
    w[i] = -1.0 / (pp * n * p2);
  }
}

PetscErrorCode MxHeatModelCreate(PetscInt nint, double dt_s, double tauI_s, const double *e, MxHeatModel *hm)
{
  MxHeatModel m;
  double      u[NU], xt[NT], tauc = 0.5 * tauI_s;

  PetscFunctionBeginUser;
  PetscCheck(nint >= 1 && dt_s > 0 && tauI_s > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "heating model: %" PetscInt_FMT " intervals, spacing %g s, tau_I %g s (all must be > 0)", nint, dt_s, tauI_s);
  PetscCall(PetscNew(&m));
  m->nint = nint;
  MxGaussLaguerre(NU, u, m->wu);
  MxGaussLegendre(NT, xt, m->wt);
  PetscCall(PetscMalloc1((size_t)nint * NT * NU, &m->theta));
  PetscCall(PetscMalloc1((size_t)nint * NMEMO, &m->memo_h));
  for (PetscInt n = 0; n < nint; n++)
    for (int it = 0; it < NT; it++) {
      const double t  = (n + 0.5 * (1 + xt[it])) * dt_s; /* from pulse 0 */
      double      *th = m->theta + ((size_t)n * NT + it) * NU;
      for (int iu = 0; iu < NU; iu++) th[iu] = 0;
      for (PetscInt k = 0; k <= n; k++) {
        const double sk = (t - k * dt_s) / tauc, a = 1 / (1 + sk), ek = e ? e[k] : 1.0;
        for (int iu = 0; iu < NU; iu++) th[iu] += ek * a * exp(-u[iu] * a);
      }
    }
  *hm = m;
  PetscFunctionReturn(0);
}

/* s and t bit for bit (field by field: the padding's bytes are not theirs) */
static int SameSample(const MxHeatSample *s, const MxHeatSample *t)
{
  return s->solvent == t->solvent && !memcmp(&s->phi, &t->phi, sizeof s->phi) && !memcmp(&s->path_mm, &t->path_mm, sizeof s->path_mm) && !memcmp(&s->T0_K, &t->T0_K, sizeof s->T0_K) &&
         !memcmp(&s->Ea_kJ_mol, &t->Ea_kJ_mol, sizeof s->Ea_kJ_mol) && !memcmp(&s->energy_keV, &t->energy_keV, sizeof s->energy_keV);
}

/* The factors as computed, or as computed before for the same sample (every field's bits the
   same) and the same dT0 (every bit): the same bits either way, without the ~11,000 viscosities
   of a call (analyze's fits on bench run (a): 391 calls for 116 distinct points; MxAnalyzeFit
   0.171 s against 0.205 s). */
void MxHeatModelFactors(MxHeatModel m, const MxHeatSample *s, double dT0, double *h)
{
  for (int k = 0; k < m->nmemo; k++)
    if (!memcmp(&m->memo_dT0[k], &dT0, sizeof dT0) && SameSample(&m->memo_s[k], s)) {
      memcpy(h, m->memo_h + (size_t)k * m->nint, (size_t)m->nint * sizeof *h);
      return;
    }
  const double eta0 = MxHeatViscosity(s, s->T0_K);
  for (PetscInt n = 0; n < m->nint; n++) {
    double acc = 0;
    for (int it = 0; it < NT; it++) {
      const double *th = m->theta + ((size_t)n * NT + it) * NU;
      double        a  = 0;
      for (int iu = 0; iu < NU; iu++) {
        const double T = s->T0_K + dT0 * th[iu];
        a += m->wu[iu] * (T / s->T0_K) * eta0 / MxHeatViscosity(s, T);
      }
      acc += 0.5 * m->wt[it] * a;
    }
    h[n] = acc;
  }
  {
    const int k = m->memo_next;
    memcpy(&m->memo_s[k], s, sizeof *s);
    m->memo_dT0[k] = dT0;
    memcpy(m->memo_h + (size_t)k * m->nint, h, (size_t)m->nint * sizeof *h);
    m->memo_next = (k + 1) % NMEMO;
    if (m->nmemo < NMEMO) m->nmemo++;
  }
}

void MxHeatModelRise(MxHeatModel m, double *rise)
{
  for (PetscInt n = 0; n < m->nint; n++) {
    double acc = 0;
    for (int it = 0; it < NT; it++) {
      const double *th = m->theta + ((size_t)n * NT + it) * NU;
      for (int iu = 0; iu < NU; iu++) acc += 0.5 * m->wt[it] * m->wu[iu] * th[iu];
    }
    rise[n] = acc;
  }
}

PetscErrorCode MxHeatModelDestroy(MxHeatModel *hm)
{
  PetscFunctionBeginUser;
  if (!*hm) PetscFunctionReturn(0);
  PetscCall(PetscFree((*hm)->theta));
  PetscCall(PetscFree((*hm)->memo_h));
  PetscCall(PetscFree(*hm));
  PetscFunctionReturn(0);
}
