/* The pyXpcsViewer ("nexus" key map of APS 8-ID-I) items of results.h5 and the NXxpcs groups,
   made from what analyze computed. The rules they follow are in docs/reference/result-layouts.md; the
   choices (assembled image, youngest age window, two-time maps per ring) in
   docs/output-format.md. */
#include <mxpcs/viewer.h>
#include <math.h>

PetscErrorCode MxViewerAssemble(MxGeom g, int *cell, PetscInt *H, PetscInt *W, double *bcx, double *bcy)
{
  const MxPixelGeom *pix;
  double             px, xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  const size_t       N = (size_t)MX_NMOD * MX_MODPIX;
  long               w;

  PetscFunctionBeginUser;
  PetscCall(MxGeomGetPixels(g, &pix));
  PetscCall(MxGeomGetPixelSize(g, &px));
  for (size_t k = 0; k < N; k++) {
    if (!pix->covered[k] || !isfinite(pix->x_m[k]) || !isfinite(pix->y_m[k])) continue;
    xmin = PetscMin(xmin, pix->x_m[k] / px);
    xmax = PetscMax(xmax, pix->x_m[k] / px);
    ymin = PetscMin(ymin, pix->y_m[k] / px);
    ymax = PetscMax(ymax, pix->y_m[k] / px);
  }
  PetscCheck(xmax >= xmin, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "viewer image: the geometry covers no pixel");
  /* column = x right of the leftmost pixel centre, row = y below the topmost: lab up is image up */
  w  = lround(xmax - xmin) + 1;
  *W = (PetscInt)w;
  *H = (PetscInt)(lround(ymax - ymin) + 1);
  for (size_t k = 0; k < N; k++)
    cell[k] = pix->covered[k] && isfinite(pix->x_m[k]) && isfinite(pix->y_m[k]) ? (int)(lround(ymax - pix->y_m[k] / px) * w + lround(pix->x_m[k] / px - xmin)) : -1;
  *bcx = -xmin; /* the direct beam is at x = y = 0 */
  *bcy = ymax;
  PetscFunctionReturn(0);
}

PetscErrorCode MxOutWriteInstrument(MxOut o, MxGeom g)
{
  double E, lambda, D, px, bx, by;

  PetscFunctionBeginUser;
  PetscCall(MxGeomGetEnergy(g, &E));
  PetscCall(MxGeomGetWavelength(g, &lambda));
  PetscCall(MxGeomGetDistance(g, &D));
  PetscCall(MxGeomGetPixelSize(g, &px));
  PetscCall(MxGeomGetBeamCenter(g, &bx, &by));
  PetscCall(MxOutScalar(o, MX_BEAM_ENERGY, E));
  PetscCall(MxOutScalar(o, MX_BEAM_WAVELENGTH, lambda));
  PetscCall(MxOutString(o, MX_DETECTOR_DESCRIPTION, "AGIPD-1M"));
  PetscCall(MxOutScalar(o, MX_DETECTOR_DISTANCE, D));
  PetscCall(MxOutScalar(o, MX_DETECTOR_X_PIXEL, px));
  PetscCall(MxOutScalar(o, MX_DETECTOR_Y_PIXEL, px));
  PetscCall(MxOutScalar(o, MX_DETECTOR_BCX, bx));
  PetscCall(MxOutScalar(o, MX_DETECTOR_BCY, by));
  PetscCall(MxOutLink(o, MX_DETECTOR_OLD));
  PetscFunctionReturn(0);
}

/* qmap items: the three (H,W) maps, the grids, the beam centre */
static PetscErrorCode WriteQmap(MxOut o, const MxViewerData *d, const int *cell, PetscInt H, PetscInt W, double bcx, double bcy, PetscInt *nstat, int **slabel)
{
  const MxPixelGeom *pix;
  const int         *roi, *iq, *iphi;
  const double      *edges, *qmean;
  PetscInt           nedges, nphi, N0, N1, ns = d->ns;
  size_t             HW = (size_t)H * W, N = (size_t)MX_NMOD * MX_MODPIX;
  int               *mask, *dyn, *stat, *cnt, *lab;
  unsigned char     *read;
  double            *dim0, *dim1, px, D, zero = 0;
  int64_t           *map, np[2];
  hsize_t            d2[2] = {(hsize_t)H, (hsize_t)W}, d1;
  PetscBool          full = PETSC_TRUE;

  PetscFunctionBeginUser;
  PetscCall(MxGeomGetPixels(d->geom, &pix));
  PetscCall(MxGeomGetPixelSize(d->geom, &px));
  PetscCall(MxGeomGetDistance(d->geom, &D));
  PetscCall(MxRingsGetMap(d->rings, &roi));
  PetscCall(MxRingsGetEdges(d->rings, &nedges, &edges, &nphi));
  PetscCall(MxRingsGetRingIndices(d->rings, &iq, &iphi));
  PetscCall(MxRingsGetRings(d->rings, NULL, &qmean, NULL));
  PetscCall(PetscCalloc3(HW, &mask, HW, &dyn, HW, &stat));
  PetscCall(PetscCalloc2(ns + 1, &cnt, MX_NMOD, &read));
  PetscCall(PetscCalloc1(ns + 1, &lab));
  for (PetscInt i = 0; i < d->nimage; i++) read[d->image_mod[i]] = 1;
  /* static labels 1..n in increasing SAXS bin, bins without pixels skipped */
  for (size_t k = 0; k < N; k++)
    if (d->static_bin[k] >= 0) cnt[d->static_bin[k]]++;
  *nstat = 0;
  for (PetscInt b = 0; b < ns; b++) lab[b] = cnt[b] ? (int)++(*nstat) : 0;
  for (size_t k = 0; k < N; k++) {
    if (cell[k] < 0) continue;
    if (read[k / MX_MODPIX] && !pix->bad[k]) mask[cell[k]] = 1;
    if (roi[k] > 0) dyn[cell[k]] = roi[k];
    if (d->static_bin[k] >= 0) stat[cell[k]] = lab[d->static_bin[k]];
  }
  PetscCall(MxOutArray(o, MX_QMAP_MASK, H5T_NATIVE_INT, 2, d2, mask));
  PetscCall(MxOutArray(o, MX_QMAP_DYNAMIC_ROI_MAP, H5T_NATIVE_INT, 2, d2, dyn));
  PetscCall(MxOutArray(o, MX_QMAP_STATIC_ROI_MAP, H5T_NATIVE_INT, 2, d2, stat));
  PetscCall(PetscFree3(mask, dyn, stat));
  /* the dynamic grid: bins x sectors when every cell is a kept ring (label c + 1 = cell c),
     else one cell per ring (N1 = 1), so that no cell is empty */
  full = d->nq == (nedges - 1) * nphi;
  for (PetscInt r = 0; r < d->nq && full; r++) full = iq[r] * nphi + iphi[r] == r;
  N0 = full ? nedges - 1 : d->nq;
  N1 = full ? nphi : 1;
  PetscCall(PetscMalloc3(N0 + 1, &dim0, N1 + 1, &dim1, d->nq + 1, &map));
  for (PetscInt i = 0; i < N0; i++) dim0[i] = full ? 0.5 * (edges[i] + edges[i + 1]) : qmean[i];
  for (PetscInt j = 0; j < N1; j++) dim1[j] = full ? 0.5 * (MxRingsPhiEdge((int)j, (int)nphi) + MxRingsPhiEdge((int)j + 1, (int)nphi)) * 180 / PETSC_PI : 0;
  for (PetscInt r = 0; r < d->nq; r++) map[r] = r;
  d1 = (hsize_t)N0;
  PetscCall(MxOutDoubles(o, MX_QMAP_DYNAMIC_DIM0, 1, &d1, dim0));
  d1 = (hsize_t)N1;
  PetscCall(MxOutDoubles(o, MX_QMAP_DYNAMIC_DIM1, 1, &d1, dim1));
  np[0] = N0;
  np[1] = N1;
  d1    = 2;
  PetscCall(MxOutArray(o, MX_QMAP_DYNAMIC_NUM_PTS, H5T_NATIVE_INT64, 1, &d1, np));
  d1 = (hsize_t)d->nq;
  PetscCall(MxOutArray(o, MX_QMAP_DYNAMIC_INDEX_MAPPING, H5T_NATIVE_INT64, 1, &d1, map));
  PetscCall(PetscFree3(dim0, dim1, map));
  /* the static grid: the SAXS bins, one sector */
  PetscCall(MxOutLink(o, MX_QMAP_STATIC_DIM0));
  PetscCall(MxOutHash(o, d->saxs_q, sizeof(double) * ns)); /* the hash covers what the link shows */
  d1 = 1;
  PetscCall(MxOutDoubles(o, MX_QMAP_STATIC_DIM1, 1, &d1, &zero));
  np[0] = ns;
  np[1] = 1;
  d1    = 2;
  PetscCall(MxOutArray(o, MX_QMAP_STATIC_NUM_PTS, H5T_NATIVE_INT64, 1, &d1, np));
  PetscCall(PetscMalloc1(*nstat + 1, &map));
  for (PetscInt b = 0; b < ns; b++)
    if (lab[b]) map[lab[b] - 1] = b;
  d1 = (hsize_t)*nstat;
  PetscCall(MxOutArray(o, MX_QMAP_STATIC_INDEX_MAPPING, H5T_NATIVE_INT64, 1, &d1, map));
  PetscCall(PetscFree(map));
  {
    const char *names[2] = {"q", "phi"}, *units[2] = {"A^-1", "deg"};
    PetscCall(MxOutStrings(o, MX_QMAP_MAP_NAMES, 2, names));
    PetscCall(MxOutStrings(o, MX_QMAP_MAP_UNITS, 2, units));
  }
  PetscCall(MxOutScalar(o, MX_QMAP_BCX, bcx));
  PetscCall(MxOutScalar(o, MX_QMAP_BCY, bcy));
  PetscCall(MxOutScalar(o, MX_QMAP_DISTANCE, D));
  PetscCall(MxOutScalar(o, MX_QMAP_PIXEL_SIZE, px));
  PetscCall(PetscFree2(cnt, read));
  *slabel = lab; /* freed by the caller */
  PetscFunctionReturn(0);
}

/* SAXS 1-D per static label, per pulse position, the assembled mean frame, intensity vs time */
static PetscErrorCode WriteSaxs(MxOut o, const MxViewerData *d, const int *cell, PetscInt H, PetscInt W, PetscInt nstat, const int *lab)
{
  PetscMPIInt r;
  size_t      HW = (size_t)H * W, nf = (size_t)d->nf;
  float      *s1, *seg, *img, *ivt;
  hsize_t     d2[2], d3[3] = {1, (hsize_t)H, (hsize_t)W};

  PetscFunctionBeginUser;
  MPI_Comm_rank(MxOutComm(o), &r);
  PetscCall(PetscCalloc4(nstat + 1, &s1, nf * nstat + 1, &seg, HW, &img, 2 * nf, &ivt));
  if (!r) {
    double *wsum, *isum;
    PetscCall(PetscCalloc2(nf, &wsum, nf, &isum));
    for (PetscInt b = 0; b < d->ns; b++) {
      if (!lab[b]) continue;
      s1[lab[b] - 1] = (float)d->saxs_I[b];
      for (size_t f = 0; f < nf; f++) seg[f * nstat + lab[b] - 1] = (float)d->saxs_I_pulse[b * nf + f];
    }
    /* the mean intensity per pulse position: SAXS bins weighted by their pixels */
    {
      PetscInt *cnt;
      PetscCall(PetscCalloc1(d->ns + 1, &cnt));
      for (size_t k = 0; k < (size_t)MX_NMOD * MX_MODPIX; k++)
        if (d->static_bin[k] >= 0) cnt[d->static_bin[k]]++;
      for (PetscInt b = 0; b < d->ns; b++)
        for (size_t f = 0; f < nf; f++)
          if (cnt[b] && isfinite(d->saxs_I_pulse[b * nf + f])) {
            wsum[f] += cnt[b];
            isum[f] += cnt[b] * d->saxs_I_pulse[b * nf + f];
          }
      PetscCall(PetscFree(cnt));
    }
    for (size_t f = 0; f < nf; f++) {
      ivt[f]      = (float)f;
      ivt[nf + f] = wsum[f] > 0 ? (float)(isum[f] / wsum[f]) : 0.0f;
    }
    PetscCall(PetscFree2(wsum, isum));
    for (PetscInt i = 0; i < d->nimage; i++)
      for (size_t k = 0; k < MX_MODPIX; k++) {
        size_t g = (size_t)d->image_mod[i] * MX_MODPIX + k;
        float  v = d->image[(size_t)i * MX_MODPIX + k];
        if (cell[g] >= 0 && isfinite(v)) img[cell[g]] = v;
      }
  }
  d2[0] = 1;
  d2[1] = (hsize_t)nstat;
  PetscCall(MxOutArray(o, MX_TEMPORAL_SCATTERING_1D, H5T_NATIVE_FLOAT, 2, d2, s1));
  d2[0] = nf;
  PetscCall(MxOutArray(o, MX_TEMPORAL_SCATTERING_1D_SEGMENTS, H5T_NATIVE_FLOAT, 2, d2, seg));
  PetscCall(MxOutArray(o, MX_TEMPORAL_SCATTERING_2D, H5T_NATIVE_FLOAT, 3, d3, img));
  d2[0] = 2;
  d2[1] = nf;
  PetscCall(MxOutArray(o, MX_SPATIAL_INTENSITY_VS_TIME, H5T_NATIVE_FLOAT, 2, d2, ivt));
  PetscCall(PetscFree4(s1, seg, img, ivt));
  PetscFunctionReturn(0);
}

/* g2 as the viewer plots it: (nf - 1, nq) over the whole train; the age windows as partials on
   the same delay axis (NaN beyond a window's ntau lags) */
static PetscErrorCode WriteMultitau(MxOut o, const MxViewerData *d)
{
  size_t   nq = (size_t)d->nq, ntau = (size_t)d->ntau, nage = (size_t)d->nage, nl = (size_t)d->nf - 1;
  float   *g, *ge, *p, *pe;
  int64_t *delay, *lab;
  hsize_t  d2[2] = {nl, nq}, d3[3] = {nage, nl, nq}, d1;
  PetscMPIInt r;

  PetscFunctionBeginUser;
  MPI_Comm_rank(MxOutComm(o), &r);
  PetscCall(PetscCalloc4(nl * nq + 1, &g, nl * nq + 1, &ge, nage * nl * nq + 1, &p, nage * nl * nq + 1, &pe));
  PetscCall(PetscMalloc2(nl + 1, &delay, nage + 1, &lab));
  for (size_t k = 0; k < nl; k++) delay[k] = (int64_t)k + 1;
  for (size_t w = 0; w < nage; w++) lab[w] = d->age_start[w];
  if (!r)
    for (size_t q = 0; q < nq; q++) {
      for (size_t k = 0; k < nl; k++) {
        g[k * nq + q]  = (float)d->g2_train[q * nl + k];
        ge[k * nq + q] = (float)d->g2_train_err[q * nl + k];
      }
      for (size_t w = 0; w < nage; w++)
        for (size_t k = 0; k < nl; k++) {
          size_t i = (q * nage + w) * ntau + k, j = (w * nl + k) * nq + q;
          p[j]     = k < ntau ? (float)d->g2[i] : NAN;
          pe[j]    = k < ntau ? (float)d->g2_err[i] : NAN;
        }
    }
  PetscCall(MxOutArray(o, MX_MULTITAU_G2, H5T_NATIVE_FLOAT, 2, d2, g));
  PetscCall(MxOutArray(o, MX_MULTITAU_G2_ERR, H5T_NATIVE_FLOAT, 2, d2, ge));
  d1 = nl;
  PetscCall(MxOutArray(o, MX_MULTITAU_DELAY, H5T_NATIVE_INT64, 1, &d1, delay));
  PetscCall(MxOutArray(o, MX_MULTITAU_G2_PARTIAL, H5T_NATIVE_FLOAT, 3, d3, p));
  PetscCall(MxOutArray(o, MX_MULTITAU_G2_PARTIAL_ERR, H5T_NATIVE_FLOAT, 3, d3, pe));
  d1 = nage;
  PetscCall(MxOutArray(o, MX_MULTITAU_G2_PARTIAL_LABELS, H5T_NATIVE_INT64, 1, &d1, lab));
  PetscCall(MxOutInt(o, MX_MULTITAU_STRIDE, 1));
  PetscCall(MxOutInt(o, MX_MULTITAU_AVG, 1));
  PetscCall(MxOutAttrString(o, MX_MULTITAU_G2, "storage_mode", "one_array"));
  PetscCall(MxOutAttrString(o, MX_MULTITAU_G2_ERR, "storage_mode", "one_array"));
  PetscCall(MxOutAttrString(o, MX_MULTITAU_DELAY, "storage_mode", "one_array"));
  PetscCall(PetscFree4(g, ge, p, pe));
  PetscCall(PetscFree2(delay, lab));
  PetscFunctionReturn(0);
}

/* two-time as the viewer reads it: one map per ring, triu(C + 1); its diagonal means */
static PetscErrorCode WriteTwotime(MxOut o, const MxViewerData *d)
{
  size_t   nq = (size_t)d->nq, nf = (size_t)d->nf, nseg = 5, L = nf / 5;
  float   *m, *g, *gs;
  int64_t *bins;
  hsize_t  d2[2] = {nf, nf}, d3[3], d1 = nq;
  PetscMPIInt r;

  PetscFunctionBeginUser;
  MPI_Comm_rank(MxOutComm(o), &r);
  if (!L) { /* fewer than 5 frames: one block */
    nseg = 1;
    L    = nf;
  }
  PetscCall(PetscCalloc3(nf * nf, &m, nf * nq + 1, &g, L * nseg * nq + 1, &gs));
  PetscCall(PetscMalloc1(nq + 1, &bins));
  for (size_t q = 0; q < nq; q++) {
    const double *C = d->C ? d->C + q * nf * nf : NULL;
    bins[q]         = (int64_t)q + 1;
    if (!r) {
      for (size_t i = 0; i < nf; i++)
        for (size_t j = 0; j < nf; j++) {
          double v        = j >= i ? C[i * nf + j] + 1 : 0;
          m[i * nf + j] = isfinite(v) ? (float)v : 0.0f; /* the viewer's colour levels need finite maps */
        }
      for (size_t t = 0; t < nf; t++) {
        double s = 0;
        for (size_t i = 0; i + t < nf; i++) s += C[i * nf + i + t] + 1;
        g[t * nq + q] = (float)(s / (nf - t));
      }
      for (size_t b = 0; b < nseg; b++)
        for (size_t t = 0; t < L; t++) {
          double s = 0;
          for (size_t i = b * L; i + t < (b + 1) * L; i++) s += C[i * nf + i + t] + 1;
          gs[(t * nseg + b) * nq + q] = (float)(s / (L - t));
        }
    }
    PetscCall(MxOutArray(o, MX_TWOTIME_MAP, H5T_NATIVE_FLOAT, 2, d2, m, (int)q + 1));
  }
  PetscCall(MxOutArray(o, MX_TWOTIME_PROCESSED_BINS, H5T_NATIVE_INT64, 1, &d1, bins));
  d2[0] = nf;
  d2[1] = nq;
  PetscCall(MxOutArray(o, MX_TWOTIME_G2, H5T_NATIVE_FLOAT, 2, d2, g));
  d3[0] = L;
  d3[1] = nseg;
  d3[2] = nq;
  PetscCall(MxOutArray(o, MX_TWOTIME_G2_SEGMENTS, H5T_NATIVE_FLOAT, 3, d3, gs));
  PetscCall(MxOutInt(o, MX_TWOTIME_STRIDE, 1));
  PetscCall(MxOutInt(o, MX_TWOTIME_AVG, 1));
  /* the NXxpcs attributes sit on the shared objects */
  PetscCall(MxOutAttrString(o, MX_TWOTIME_C, "storage_mode", "one_array_q_first"));
  PetscCall(MxOutAttrInt(o, MX_TWOTIME_C, "baseline_reference", 0));
  PetscCall(MxOutAttrString(o, MX_TWOTIME_C, "time_origin_location", "upper_left"));
  PetscCall(MxOutAttrString(o, MX_TWOTIME_C, "populated_elements", "all"));
  PetscCall(MxOutAttrString(o, MX_TWOTIME_G2, "storage_mode", "one_array_q_last"));
  PetscCall(MxOutAttrInt(o, MX_TWOTIME_G2, "baseline_reference", 1));
  PetscCall(MxOutAttrInt(o, MX_TWOTIME_G2, "first_point_for_fit", 0));
  PetscCall(PetscFree3(m, g, gs));
  PetscCall(PetscFree(bins));
  PetscFunctionReturn(0);
}

PetscErrorCode MxViewerWrite(MxOut o, const MxViewerData *d)
{
  int     *cell, *lab = NULL;
  PetscInt H, W, nstat = 0;
  double   bcx, bcy, E;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1((size_t)MX_NMOD * MX_MODPIX, &cell));
  PetscCall(MxViewerAssemble(d->geom, cell, &H, &W, &bcx, &bcy));
  PetscErrorCode ierr = WriteQmap(o, d, cell, H, W, bcx, bcy, &nstat, &lab);
  if (!ierr) ierr = WriteSaxs(o, d, cell, H, W, nstat, lab);
  PetscCall(PetscFree(cell));
  PetscCall(PetscFree(lab));
  PetscCall(ierr);
  PetscCall(WriteMultitau(o, d));
  PetscCall(WriteTwotime(o, d));
  /* NXxpcs: NXdata of g2 and of the two-time function, the masks; links, not copies */
  PetscCall(MxOutGroup(o, MX_ENTRY_DATA));
  PetscCall(MxOutAttrString(o, MX_ENTRY_DATA, "signal", "g2"));
  PetscCall(MxOutLink(o, MX_ENTRY_DATA_G2));
  PetscCall(MxOutLink(o, MX_ENTRY_DATA_G2_ERR));
  PetscCall(MxOutLink(o, MX_ENTRY_DATA_DELAY));
  PetscCall(MxOutGroup(o, MX_ENTRY_TWOTIME));
  PetscCall(MxOutAttrString(o, MX_ENTRY_TWOTIME, "signal", "two_time_corr_func"));
  PetscCall(MxOutLink(o, MX_ENTRY_TWOTIME_C));
  PetscCall(MxOutLink(o, MX_ENTRY_TWOTIME_G2));
  PetscCall(MxOutLink(o, MX_MASKS_DYNAMIC_ROI_MAP));
  PetscCall(MxOutLink(o, MX_MASKS_DYNAMIC_Q_LIST));
  PetscCall(MxGeomGetEnergy(d->geom, &E));
  PetscCall(MxOutWriteQmapHash(o, E));
  PetscFunctionReturn(0);
}
