/* The MPI settings mxpcs gives the library (include/mxpcs/sys.h). */
#include <mxpcs/sys.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int mx_yield_from_user = 0; /* OMPI_MCA_mpi_yield_when_idle was in the environment already */

/* A rank's reader thread shares the rank's core when the launcher binds one core per rank (Open
   MPI's default for up to 2 ranks). A main thread that spins in an MPI wait (the per-train
   MPI_Allreduce over pixel parts) then takes that core from its own reader: with pixel parts on
   the colloid run, 2 ranks, 3,924-3,987 frames/s per rank spinning, 4,861-4,872 with Open MPI's
   mpi_yield_when_idle (docs/analyze.md). Set before MPI_Init; the user's own setting wins. */
void MxMpiSetDefaults(void)
{
  mx_yield_from_user = getenv("OMPI_MCA_mpi_yield_when_idle") != NULL;
  if (!mx_yield_from_user) setenv("OMPI_MCA_mpi_yield_when_idle", "1", 1);
}

/* What the environment gave Open MPI: 1 yield, 0 spin; *from_user whether the user set it (else
   mxpcs). Read from the environment: asking Open MPI 4.1 itself through the tool interface
   (MPI_T_init_thread) loads every component and took 0.21 s here, too much for a report line. */
int MxMpiYieldWhenIdle(int *from_user)
{
  const char *v = getenv("OMPI_MCA_mpi_yield_when_idle");
  if (from_user) *from_user = mx_yield_from_user;
  if (!v) return 0;
  return strcmp(v, "0") && strcasecmp(v, "false") && strcasecmp(v, "no") && strcmp(v, "");
}
