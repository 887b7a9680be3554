/* chunk_index_time FILE DATASET [SAMPLES]: how long finding every chunk of a chunked (N, 512, 128)
   dataset of 4-byte elements takes both ways the direct reader knows: the file's whole chunk index
   read at once (MxH5ChunkIndex), and HDF5 1.10's lookup of one chunk (H5Dget_chunk_info_by_coord),
   timed on SAMPLES chunks spread evenly over the dataset (default 200) and scaled to all of them.
   The sampled chunks must agree between the two. For tools/bench_analyze.sh. */
#include <mxpcs/reader.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double Now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: chunk_index_time FILE DATASET [SAMPLES]\n");
    return 2;
  }
  const int nsamp = argc > 3 ? atoi(argv[3]) : 200;
  hid_t     f = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT), d = f >= 0 ? H5Dopen2(f, argv[2], H5P_DEFAULT) : -1;
  int       fd = open(argv[1], O_RDONLY);
  if (d < 0 || fd < 0 || nsamp < 2) {
    fprintf(stderr, "chunk_index_time: cannot open %s:%s\n", argv[1], argv[2]);
    return 1;
  }
  hid_t   sp = H5Dget_space(d), dcpl = H5Dget_create_plist(d);
  hsize_t dims[3], cd[3];
  if (H5Sget_simple_extent_ndims(sp) != 3 || H5Pget_chunk(dcpl, 3, cd) != 3) {
    fprintf(stderr, "chunk_index_time: %s:%s is not a chunked 3-d dataset\n", argv[1], argv[2]);
    return 1;
  }
  H5Sget_simple_extent_dims(sp, dims, NULL);
  const size_t nch = (size_t)((dims[0] + cd[0] - 1) / cd[0]);
  uint64_t    *ca  = calloc(nch, sizeof *ca);
  uint32_t    *cs  = calloc(nch, sizeof *cs);
  double       t0  = Now();
  const int    rc  = MxH5ChunkIndex(d, fd, (size_t)cd[0], nch, ca, cs, UINT64_MAX);
  const double tw  = Now() - t0;
  double       tl  = 0;
  int          agree = 1;
  for (int s = 0; s < nsamp; s++) {
    const size_t c      = (size_t)s * (nch - 1) / (size_t)(nsamp - 1);
    hsize_t      off[3] = {c * cd[0], 0, 0}, sz = 0;
    unsigned     fm     = 0;
    haddr_t      a      = HADDR_UNDEF;
    t0                  = Now();
    if (H5Dget_chunk_info_by_coord(d, off, &fm, &a, &sz) < 0) a = HADDR_UNDEF;
    tl += Now() - t0;
    if (!rc) agree &= a == HADDR_UNDEF ? ca[c] == UINT64_MAX : fm ? ca[c] == UINT64_MAX : ca[c] == (uint64_t)a && cs[c] == sz;
  }
  printf("%s:%s: %zu chunks; whole index %s in %.4f s; HDF5's lookup of one chunk %.4f ms on average over %d chunks spread evenly, %.2f s for all %zu; the sampled chunks %s\n", argv[1], argv[2], nch, rc ? "NOT READ (another layout)" : "read", tw, 1e3 * tl / nsamp, nsamp,
         tl / nsamp * (double)nch, nch, rc ? "not compared" : agree ? "agree" : "DISAGREE");
  free(ca);
  free(cs);
  close(fd);
  H5Pclose(dcpl);
  H5Sclose(sp);
  H5Dclose(d);
  H5Fclose(f);
  return rc || !agree;
}
