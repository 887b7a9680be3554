/* Balanced split of detector rows over the pixel parts of the rank grid. */
#include <mxpcs/reader.h>

void MxPartitionRows(const double *w, int nparts, int ipart, MxRowRange *ranges, int *nranges)
{
  double total = 0, cum = 0;
  int    n = 0, open = 0;

  for (int i = 0; i < MX_NMOD * MX_NSS; i++) total += w[i] > 0 ? w[i] : 0;
  for (int m = 0; m < MX_NMOD; m++) {
    open = 0;
    for (int ss = 0; ss < MX_NSS; ss++) {
      double wi = w[m * MX_NSS + ss];
      int    mine = 0;
      if (wi > 0) {
        /* the part that holds this row's weight midpoint */
        int p = (int)((cum + 0.5 * wi) / total * nparts);
        if (p >= nparts) p = nparts - 1;
        mine = p == ipart;
        cum += wi;
      }
      if (mine && open) ranges[n - 1].ss1 = ss + 1;
      else if (mine) ranges[n++] = (MxRowRange){m, ss, ss + 1};
      open = mine;
    }
  }
  *nranges = n;
}
