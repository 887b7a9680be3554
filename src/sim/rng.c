/* Random streams for the simulator (see include/mxpcs/rng.h). */
#include <mxpcs/rng.h>
#include <math.h>

static uint64_t SplitMix(uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z          = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z          = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void MxRngInit(MxRng *g, uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
  uint64_t x = seed;
  /* fold the stream ids in, each through a full splitmix round */
  x ^= SplitMix(&(uint64_t){a + 0x1234567ULL});
  x ^= Rotl(SplitMix(&(uint64_t){b + 0x89abcdefULL}), 17);
  x ^= Rotl(SplitMix(&(uint64_t){c + 0x2545f4914f6cdd1dULL}), 41);
  for (int i = 0; i < 4; i++) g->s[i] = SplitMix(&x);
}

uint64_t MxRngNext(MxRng *g)
{
  uint64_t *s = g->s, r = Rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = Rotl(s[3], 45);
  return r;
}

double MxRngUniform(MxRng *g) { return ((MxRngNext(g) >> 11) + 0.5) * 0x1.0p-53; }

/* Ziggurat tables (Marsaglia & Tsang, J. Stat. Softw. 5(8), 2000), 128 layers; the sign and
   value come from the upper 32 bits of one draw, the layer from independent low bits. */
static uint32_t zig_k[128];
static double   zig_w[128], zig_f[128];
static int      zig_ready;

static void ZigSetUp(void)
{
  const double m1 = 2147483648.0, vn = 9.91256303526217e-3;
  double       dn = 3.442619855899, tn = dn, q = vn / exp(-.5 * dn * dn);
  zig_k[0]   = (uint32_t)((dn / q) * m1);
  zig_k[1]   = 0;
  zig_w[0]   = q / m1;
  zig_w[127] = dn / m1;
  zig_f[0]   = 1.;
  zig_f[127] = exp(-.5 * dn * dn);
  for (int i = 126; i >= 1; i--) {
    dn           = sqrt(-2. * log(vn / dn + exp(-.5 * dn * dn)));
    zig_k[i + 1] = (uint32_t)((dn / tn) * m1);
    tn           = dn;
    zig_f[i]     = exp(-.5 * dn * dn);
    zig_w[i]     = dn / m1;
  }
  zig_ready = 1;
}

double MxRngNormal(MxRng *g)
{
  if (!zig_ready) ZigSetUp();
  for (;;) {
    uint64_t r  = MxRngNext(g);
    int32_t  hz = (int32_t)(uint32_t)(r >> 32);
    int      iz = (int)(r & 127);
    uint32_t ah = hz < 0 ? (uint32_t)(-(int64_t)hz) : (uint32_t)hz;
    double   x  = hz * zig_w[iz];
    if (ah < zig_k[iz]) return x;
    if (iz == 0) { /* the tail beyond r = 3.4426 */
      double y;
      do {
        x = -log(MxRngUniform(g)) * 0.2904764;
        y = -log(MxRngUniform(g));
      } while (y + y < x * x);
      return hz > 0 ? 3.442620 + x : -3.442620 - x;
    }
    if (zig_f[iz] + MxRngUniform(g) * (zig_f[iz - 1] - zig_f[iz]) < exp(-.5 * x * x)) return x;
  }
}

uint32_t MxRngPoisson(MxRng *g, double mu)
{
  if (mu <= 0) return 0;
  if (mu < 12) { /* inversion by sequential search */
    double p = exp(-mu), f = p, u = MxRngUniform(g);
    uint32_t k = 0;
    while (u > f && k < 1000) {
      k++;
      p *= mu / k;
      f += p;
    }
    return k;
  }
  /* PTRS (Hoermann 1993) */
  double slam = sqrt(mu), loglam = log(mu), b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
  double invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    double u = MxRngUniform(g) - 0.5, v = MxRngUniform(g), us = 0.5 - fabs(u);
    double k = floor((2 * a / us + b) * u + mu + 0.43);
    if (us >= 0.07 && v <= vr) return (uint32_t)k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (log(v) + log(invalpha) - log(a / (us * us) + b) <= -mu + k * loglam - lgamma(k + 1)) return (uint32_t)k;
  }
}

double MxRngGamma(MxRng *g, double k)
{
  if (k < 1) return MxRngGamma(g, k + 1) * pow(MxRngUniform(g), 1.0 / k);
  double d = k - 1.0 / 3, c = 1.0 / sqrt(9 * d);
  for (;;) {
    double x = MxRngNormal(g), v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    double u = MxRngUniform(g);
    if (u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v))) return d * v;
  }
}
