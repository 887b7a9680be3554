/* Balanced split of detector rows over the pixel parts of the rank grid. */
#include <mxpcs/reader.h>

void MxPartitionRows(const double *w, int align, int nparts, int ipart, MxRowRange *ranges, int *nranges)
{
  double total = 0, cum = 0;
  int    n = 0, open = 0;

  if (align < 1 || MX_NSS % align) align = 1;
  for (int i = 0; i < MX_NMOD * MX_NSS; i++) total += w[i] > 0 ? w[i] : 0;
  for (int m = 0; m < MX_NMOD; m++) {
    open = 0;
    for (int ss = 0; ss < MX_NSS; ss += align) { /* units of align rows: all read, or none */
      double wi = 0;
      int    mine = 0;
      for (int k = 0; k < align; k++) wi += w[m * MX_NSS + ss + k] > 0 ? w[m * MX_NSS + ss + k] : 0;
      if (wi > 0) {
        /* the part that holds this unit's weight midpoint */
        int p = (int)((cum + 0.5 * wi) / total * nparts);
        if (p >= nparts) p = nparts - 1;
        mine = p == ipart;
        cum += wi;
      }
      if (mine && open) ranges[n - 1].ss1 = ss + align;
      else if (mine) ranges[n++] = (MxRowRange){m, ss, ss + align};
      open = mine;
    }
  }
  *nranges = n;
}
