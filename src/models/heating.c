/* X-ray heating from dose with heat diffusion (include/mxpcs/heating.h): materials, viscosity
   laws, the analytic kernel and the quadrature model of a train. Facts and sources:
   docs/reference/heating.md. */
#include <mxpcs/heating.h>
#include <mxpcs/models.h>
#include <math.h>

const char *const MxSolventNames[] = {"nmf", "dmf", "water", "MxSolvent", "MX_SOLVENT_", NULL};

/* ---------- materials at 12.3 keV ---------- */

/* mass attenuation and energy-absorption coefficients (cm^2/g) of the elements, NIST SRD 126
   interpolated log-log to 12.3 keV (Pb below its L3 edge): H C N O S Pb */
static const double el_mass[6]  = {1.008, 12.011, 14.007, 15.999, 32.06, 207.2};
static const double el_mu[6]    = {0.381, 1.368, 2.163, 3.265, 27.5, 77.6};
static const double el_muen[6]  = {0.0104, 1.067, 1.831, 2.893, 26.4, 72.9};

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

static void MassCoefficients(const Material *m, double *mu, double *muen)
{
  double M = 0;
  *mu = *muen = 0;
  for (int e = 0; e < 6; e++) M += m->atoms[e] * el_mass[e];
  for (int e = 0; e < 6; e++) {
    *mu += m->atoms[e] * el_mass[e] / M * el_mu[e];
    *muen += m->atoms[e] * el_mass[e] / M * el_muen[e];
  }
}

int MxHeatSampleProps(const MxHeatSample *s, MxHeatProps *p)
{
  const Material *sv;
  double          mus, muens, mup, muenp, L, f;

  if ((int)s->solvent < 0 || (int)s->solvent > MX_SOLVENT_WATER || !(s->phi >= 0 && s->phi < 0.74) || !(s->path_mm > 0) || !(s->T0_K > 0)) return 1;
  sv = &solvents[s->solvent];
  MassCoefficients(sv, &mus, &muens);
  MassCoefficients(&pbs, &mup, &muenp);
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

struct _p_MxHeatModel {
  PetscInt nint;
  double   wu[NU], wt[NT];
  double  *theta; /* nint x NT x NU, per unit dT_c0 */
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

void MxHeatModelFactors(MxHeatModel m, const MxHeatSample *s, double dT0, double *h)
{
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
  PetscCall(PetscFree(*hm));
  PetscFunctionReturn(0);
}
