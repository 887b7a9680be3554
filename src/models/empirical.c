/* Empirical short-time self-diffusion curves Ds/D0(phi) (physics-reference.md section 4).
   Not collective; no state. */
#include <mxpcs/models.h>
#include <math.h>

/* Hard spheres, accelerated Stokesian dynamics fit of Banchio & Naegele, JCP 128, 104903 (2008);
   the 4-digit coefficients 0.1195/-0.70665 are unverified (leading -1.8315 verified). */
double MxDsHardSphereASD(double phi)
{
  return 1.0 - 1.8315 * phi * (1.0 + 0.1195 * phi - 0.70665 * phi * phi);
}

/* Charged spheres at low salt, Watzlawek & Naegele, PRE 56, 1258 (1997): 1 - a_t phi^(4/3). */
double MxDsChargedSphere(double phi, double a_t)
{
  return 1.0 - a_t * pow(phi, 4.0 / 3.0);
}
