/* What the MPI library made of the settings mxpcs gives it (include/mxpcs/sys.h). */
#include <mxpcs/sys.h>
#include <stdlib.h>
#include <string.h>

/* A rank's reader thread shares the rank's core when the launcher binds one core per rank (Open
   MPI's default for up to 2 ranks). A main thread that spins in an MPI wait (the per-train
   MPI_Allreduce over pixel parts) then takes that core from its own reader: with pixel parts on
   the colloid run, 2 ranks, 3,800-3,900 frames/s per rank spinning, 4,645 with Open MPI's
   mpi_yield_when_idle (docs/scaling.md). Set before MPI_Init; the user's own setting wins. */
void MxMpiSetDefaults(void)
{
  setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
}

/* Open MPI's mpi_yield_when_idle as the running library holds it, read through the MPI tool
   interface (MPI_T): 1 or 0, -1 when this MPI has no such variable. Not collective. */
int MxMpiYieldWhenIdle(void)
{
  int provided, idx, count, v = -1;
  if (MPI_T_init_thread(MPI_THREAD_SINGLE, &provided) != MPI_SUCCESS) return -1;
  if (MPI_T_cvar_get_index("mpi_yield_when_idle", &idx) == MPI_SUCCESS) {
    char         name[128], desc[512];
    int          nlen = sizeof name, dlen = sizeof desc, verb, bind, scope;
    MPI_Datatype dt;
    MPI_T_enum   en;
    /* Open MPI 4.1 gives it as MPI_C_BOOL (one byte); an int as well, in case */
    if (MPI_T_cvar_get_info(idx, name, &nlen, &verb, &dt, &en, desc, &dlen, &bind, &scope) == MPI_SUCCESS && (dt == MPI_C_BOOL || dt == MPI_INT)) {
      MPI_T_cvar_handle h;
      union {
        _Bool b;
        int   i;
      } val;
      memset(&val, 0, sizeof val);
      if (MPI_T_cvar_handle_alloc(idx, NULL, &h, &count) == MPI_SUCCESS) {
        if (count == 1 && MPI_T_cvar_read(h, &val) == MPI_SUCCESS) v = dt == MPI_C_BOOL ? val.b != 0 : val.i != 0;
        MPI_T_cvar_handle_free(&h);
      }
    }
  }
  MPI_T_finalize();
  return v;
}
