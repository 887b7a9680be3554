/* simulate's heating: the radial heat equation solved by Crank-Nicolson finite volumes
   (include/mxpcs/heating.h), independent of the analytic kernel the fits use. In rho = r/w0 and
   s = t/tau_c (tau_c = w0^2/(4 alpha)) the equation is dT/ds = (1/4) (1/rho) d/drho (rho dT/drho).
   Cells i = 0..nr-1 on [0, R]: volume rho_i h, flux through the face at rho = j h is j (T_j -
   T_{j-1}); no flux through the axis or the outer face (R is far enough that no heat reaches it). */
#include <mxpcs/heating.h>
#include <math.h>

typedef struct {
  PetscInt nr;
  double   h, *a, *b, *c, *cp, *dp, *rhs, *T, *w, *src;
} FD;

static PetscErrorCode FDCreate(PetscInt nr, double R, FD *f)
{
  PetscFunctionBeginUser;
  f->nr = nr;
  f->h  = R / nr;
  PetscCall(PetscCalloc4(nr, &f->a, nr, &f->b, nr, &f->c, nr, &f->T));
  PetscCall(PetscMalloc5(nr, &f->cp, nr, &f->dp, nr, &f->rhs, nr, &f->w, nr, &f->src));
  for (PetscInt i = 0; i < nr; i++) {
    const double lo = i * f->h, hi = (i + 1) * f->h, vol = 0.5 * (hi * hi - lo * lo);
    /* the pulse exp(-rho^2) and the intensity weight as cell averages; w sums to 1 */
    f->w[i]   = exp(-lo * lo) - exp(-hi * hi);
    f->src[i] = 0.5 * f->w[i] / vol;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode FDDestroy(FD *f)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree4(f->a, f->b, f->c, f->T));
  PetscCall(PetscFree5(f->cp, f->dp, f->rhs, f->w, f->src));
  PetscFunctionReturn(0);
}

/* one Crank-Nicolson step of ds */
static void FDStep(FD *f, double ds)
{
  const PetscInt nr = f->nr;
  const double   h  = f->h;
  for (PetscInt i = 0; i < nr; i++) {
    const double vol = (i + 0.5) * h * h, kl = i / vol * 0.25 * ds * 0.5, kr = (i + 1 < nr ? i + 1 : 0) / vol * 0.25 * ds * 0.5;
    const double Tl = i ? f->T[i - 1] : 0, Tr = i + 1 < nr ? f->T[i + 1] : 0;
    f->rhs[i] = f->T[i] + kr * (Tr - f->T[i]) - kl * (f->T[i] - Tl);
    f->a[i]   = -kl;
    f->c[i]   = -kr;
    f->b[i]   = 1 + kl + kr;
  }
  /* Thomas */
  f->cp[0] = f->c[0] / f->b[0];
  f->dp[0] = f->rhs[0] / f->b[0];
  for (PetscInt i = 1; i < nr; i++) {
    const double m = f->b[i] - f->a[i] * f->cp[i - 1];
    f->cp[i]       = f->c[i] / m;
    f->dp[i]       = (f->rhs[i] - f->a[i] * f->dp[i - 1]) / m;
  }
  f->T[nr - 1] = f->dp[nr - 1];
  for (PetscInt i = nr - 2; i >= 0; i--) f->T[i] = f->dp[i] - f->cp[i] * f->T[i + 1];
}

PetscErrorCode MxHeatPulseFD(double probe_s, PetscInt nr, PetscInt nsteps, double *profile)
{
  FD f;

  PetscFunctionBeginUser;
  PetscCall(FDCreate(nr, 12.0, &f));
  for (PetscInt i = 0; i < nr; i++) f.T[i] = f.src[i];
  for (PetscInt k = 0; k < nsteps; k++) FDStep(&f, probe_s / nsteps);
  PetscCall(PetscArraycpy(profile, f.T, nr));
  PetscCall(FDDestroy(&f));
  PetscFunctionReturn(0);
}

/* intensity-weighted mean of the rise and of D/D(T0) over the profile (rise per unit dT0) */
static void FDMeans(const FD *f, const MxHeatSample *s, double dT0, double eta0, double *rise, double *dfac)
{
  double r = 0, d = 0;
  for (PetscInt i = 0; i < f->nr; i++) {
    if (f->w[i] < 1e-300) break;
    const double T = s->T0_K + dT0 * f->T[i];
    r += f->w[i] * f->T[i];
    d += f->w[i] * (T / s->T0_K) * eta0 / MxHeatViscosity(s, T);
  }
  *rise = r;
  *dfac = d;
}

PetscErrorCode MxHeatSolveFD(PetscInt nint, double dt_s, double tauI_s, const double *e, const MxHeatSample *s, double dT0, PetscInt nr, PetscInt nsub, double *h, double *rise, double *Tc)
{
  FD           f;
  const double tauc = 0.5 * tauI_s, ds = dt_s / tauc / (nsub > 0 ? nsub : 400), eta0 = MxHeatViscosity(s, s->T0_K);
  /* far enough that the outer face sees no heat: 12 w0, or 7 widths of the last profile */
  const double R = PetscMax(12.0, 7.0 * sqrt(1 + nint * dt_s / tauc));

  PetscFunctionBeginUser;
  if (nsub <= 0) nsub = 400;
  if (nr <= 0) nr = (PetscInt)ceil(R / 0.01);
  PetscCall(FDCreate(nr, R, &f));
  for (PetscInt n = 0; n < nint; n++) {
    double r0, d0, ri = 0, di = 0;
    for (PetscInt i = 0; i < nr; i++) f.T[i] += (e ? e[n] : 1.0) * f.src[i]; /* pulse n */
    FDMeans(&f, s, dT0, eta0, &r0, &d0);
    if (Tc) Tc[n] = dT0 * r0;
    for (PetscInt k = 1; k <= nsub; k++) { /* trapezoid over the interval */
      double r1, d1;
      FDStep(&f, ds);
      FDMeans(&f, s, dT0, eta0, &r1, &d1);
      ri += 0.5 * (r0 + r1);
      di += 0.5 * (d0 + d1);
      r0 = r1;
      d0 = d1;
    }
    if (rise) rise[n] = dT0 * ri / nsub;
    if (h) h[n] = di / nsub;
  }
  PetscCall(FDDestroy(&f));
  PetscFunctionReturn(0);
}
