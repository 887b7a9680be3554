/* Counter-seeded random streams: the same (seed, stream ids) give the same numbers on any
   rank, so simulations are bitwise identical at any rank count. xoshiro256** seeded through
   splitmix64 (Blackman & Vigna 2018). */
#pragma once
#include <stdint.h>

typedef struct {
  uint64_t s[4];
} MxRng;

/* A stream for (seed, a, b, c): e.g. (seed, train, module, purpose). */
void     MxRngInit(MxRng *g, uint64_t seed, uint64_t a, uint64_t b, uint64_t c);
uint64_t MxRngNext(MxRng *g);
/* Uniform in (0, 1). */
double MxRngUniform(MxRng *g);
/* Standard normal (Ziggurat). */
double MxRngNormal(MxRng *g);
/* Poisson with mean mu >= 0 (inversion for mu < 12, PTRS transformed rejection above:
   Hoermann 1993). */
uint32_t MxRngPoisson(MxRng *g, double mu);
/* Gamma(shape k, scale 1) (Marsaglia & Tsang 2000). */
double MxRngGamma(MxRng *g, double k);
