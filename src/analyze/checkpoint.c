/* Checkpoint / restart of MxAnalyze's train loop.

   After train t of a block is processed, everything the loop carries is small: the sums over
   the trains done (two-time, g2, contrast, SAXS, counters, which trains were used), and, for
   train t itself, its ring sums and the cross term with t-1 (it still waits for X(t, t+1)).
   Each rank writes that state to DIR/rank#####.bin (written as .part, then renamed); a restart
   re-reads the frames of train t, which the cross term with t+1 needs, and goes on with t+1.
   The arrays are the checkpointed entries of the per-train step's accumulator table
   (src/analyze/engine.c), in table order. The operations and their order are those of an uninterrupted run, so the results are
   bitwise the same. A checkpoint belongs to one configuration: a hash of everything that
   determines the state (trains, frames, rings and this rank's pixels, filters, windows, grid)
   is stored with it and a checkpoint that does not match is not used. */
#include "analyzeimpl.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define MX_CKPT_MAGIC 0x4d5850435343504bULL /* "MXPCSCPK" */

static volatile sig_atomic_t mx_signal;
static struct sigaction      old_term, old_usr1;

static int                   mx_sigpipe[2] = {-1, -1}; /* the handler writes a byte: a poll() wakes */

static void OnSignal(int sig)
{
  mx_signal = sig;
  if (mx_sigpipe[1] >= 0) {
    char    c = 1;
    ssize_t r = write(mx_sigpipe[1], &c, 1); /* async-signal-safe; a full pipe is fine */
    (void)r;
  }
}

void MxAnalyzeSignalsInstall(void)
{
  struct sigaction sa;
  if (mx_sigpipe[0] < 0 && pipe2(mx_sigpipe, O_NONBLOCK | O_CLOEXEC)) mx_sigpipe[0] = mx_sigpipe[1] = -1;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  mx_signal = 0;
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGUSR1, &sa, &old_usr1);
}

void MxAnalyzeSignalsRestore(void)
{
  /* SIGUSR1 stays ignored: a warning that arrives after this rank's last train (the others may
     still be working; mpiexec and srun also forward theirs) must not kill it before the run
     ends, with its results or with the others' "checkpoint saved" */
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction(SIGUSR1, &ign, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  (void)old_usr1;
}

int MxAnalyzeSignalPending(void) { return (int)mx_signal; }

/* Tests (-analyze_test_pause FIFO): after its first checkpoint a rank waits until the test
   writes to FIFO (or a writer closes it), or until SIGTERM/SIGUSR1 arrives, whichever comes
   first, so that a test drives a signal by an event and never by a time window. The wait is
   race-free: a signal that arrives just before poll() has written to the handler's pipe. A
   signal that ends the wait removes FIFO, so the run that resumes from the checkpoint (a
   resubmitted or requeued job) does not wait again; without FIFO there is no wait. */
void MxAnalyzeTestPause(const char fifo[])
{
  struct stat st;
  int         fd;

  if (stat(fifo, &st) || !S_ISFIFO(st.st_mode)) return;
  fd = open(fifo, O_RDONLY | O_NONBLOCK); /* no writer yet: poll() waits (Linux reports no hang-up before the first writer) */
  if (fd < 0) return;
  struct pollfd p[2] = {{fd, POLLIN, 0}, {mx_sigpipe[0], POLLIN, 0}};
  while (!mx_signal) {
    int r = poll(p, mx_sigpipe[0] >= 0 ? 2 : 1, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) break;
  }
  close(fd);
  if (mx_signal) unlink(fifo);
}

/* FNV-1a over bytes */
static uint64_t Fnv(uint64_t h, const void *p, size_t n)
{
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) {
    h ^= c[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

PetscErrorCode MxAnalyzeCheckpointHash(MxAnalyze a, uint64_t *hash)
{
  PetscInt        ntr, t0, t1, ipart, nparts, nf;
  const uint64_t *tid, *pid;
  PetscMPIInt     rank, size;
  uint64_t        h = 0xcbf29ce484222325ULL;

  PetscFunctionBeginUser;
  MPI_Comm_rank(a->comm, &rank);
  MPI_Comm_size(a->comm, &size);
  PetscCall(MxReaderGetTrains(a->reader, &ntr, &tid));
  PetscCall(MxReaderGetFrames(a->reader, &nf, &pid, NULL));
  PetscCall(MxReaderGetLocalTrains(a->reader, &t0, &t1));
  PetscCall(MxReaderGetPixelPart(a->reader, &ipart, &nparts));
  PetscInt ints[] = {rank, size, ntr, nf, t0, t1, ipart, nparts, a->nring, a->win_len, a->win_step, a->saxs_nbins, a->xc, (PetscInt)a->npix, (PetscInt)a->nranges, a->jk};
  h = Fnv(h, ints, sizeof ints);
  h = Fnv(h, tid, sizeof *tid * (size_t)ntr);
  h = Fnv(h, pid, sizeof *pid * (size_t)nf);
  h = Fnv(h, a->ranges, sizeof *a->ranges * (size_t)a->nranges);
  h = Fnv(h, a->ring_off, sizeof *a->ring_off * (size_t)(a->nring + 1));
  h = Fnv(h, a->ring_pix, sizeof *a->ring_pix * (size_t)a->ring_off[a->nring]);
  h = Fnv(h, a->saxs_bin, sizeof *a->saxs_bin * a->npix);
  h = Fnv(h, a->corr, sizeof *a->corr * a->npix);
  h = Fnv(h, a->drop, (size_t)ntr);
  MxCommonModeKind cm;
  MxPhotonizeKind  ph;
  double           thr, cap, adu;
  PetscCall(MxDetCorrGetKinds(a->dc, &cm, &ph, &thr, &cap));
  PetscCall(MxReaderGetAduPerPhoton(a->reader, &adu));
  /* the corrections and what the contrast takes out: the sums depend on them */
  double reals[] = {a->saxs_qmin, a->saxs_qmax, a->dt_s, (double)cm, (double)ph, thr, cap, adu, a->dc_noise_var, a->shot_noise};
  h     = Fnv(h, reals, sizeof reals);
  h     = MxEngineSignature(a->eng, h); /* the table's names and sizes: the checkpoint's layout */
  *hash = h;
  PetscFunctionReturn(0);
}

/* The arrays of the state, in file order: the checkpointed entries of the engine's table. */
#define MX_CKPT_MAXBLOCKS 40
static void RankPath(MxAnalyze a, char *path, size_t len)
{
  PetscMPIInt rank;
  MPI_Comm_rank(a->comm, &rank);
  snprintf(path, len, "%s/rank%05d.bin", a->ckpt_dir, (int)rank);
}

/* Not collective: this rank's state after the train before s->t_next. */
PetscErrorCode MxAnalyzeCheckpointSave(MxAnalyze a, MxAnalyzeLoopState *s)
{
  char     path[PETSC_MAX_PATH_LEN + 16], tmp[PETSC_MAX_PATH_LEN + 32];
  double  *bp[MX_CKPT_MAXBLOCKS];
  size_t   bn[MX_CKPT_MAXBLOCKS];
  int      nb;
  FILE    *f;
  uint64_t hdr[8];

  PetscFunctionBeginUser;
  PetscCall(MxEngineCheckpointBlocks(a->eng, &nb, bp, bn, MX_CKPT_MAXBLOCKS));
  if (mkdir(a->ckpt_dir, 0755) && errno != EEXIST) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "checkpoint: cannot create the directory %s (%s)", a->ckpt_dir, strerror(errno));
  RankPath(a, path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.part", path);
  f = fopen(tmp, "wb");
  PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "checkpoint: cannot write %s (%s)", tmp, strerror(errno));
  hdr[0] = MX_CKPT_MAGIC;
  hdr[1] = a->ckpt_hash;
  hdr[2] = (uint64_t)s->t_next;
  hdr[3] = (uint64_t)s->eng.have_prev;
  hdr[4] = (uint64_t)s->eng.have_Xprev;
  hdr[5] = (uint64_t)nb;
  hdr[6] = hdr[7] = 0;
  int ok = fwrite(hdr, sizeof hdr, 1, f) == 1;
  for (int i = 0; ok && i < nb; i++) ok = bn[i] == 0 || fwrite(bp[i], sizeof(double), bn[i], f) == bn[i];
  ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok &= fclose(f) == 0;
  if (!ok) {
    unlink(tmp);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "checkpoint: writing %s failed (disk full?)", tmp);
  }
  PetscCheck(!rename(tmp, path), PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "checkpoint: cannot rename %s to %s", tmp, path);
  a->ckpt_saved = s->t_next;
  PetscFunctionReturn(0);
}

/* Collective on a->comm. Loads this rank's state when every rank of its train block has a
   matching checkpoint at the same train; else *found = 0 everywhere in the block. */
PetscErrorCode MxAnalyzeCheckpointLoad(MxAnalyze a, MxAnalyzeLoopState *s, PetscBool *found)
{
  char        path[PETSC_MAX_PATH_LEN + 16];
  double     *bp[MX_CKPT_MAXBLOCKS];
  size_t      bn[MX_CKPT_MAXBLOCKS];
  int         nb, ok = 0;
  FILE       *f;
  uint64_t    hdr[8];
  MPI_Comm    pix_comm;
  PetscInt64  tn[2], mm[2];
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  *found = PETSC_FALSE;
  PetscCall(MxEngineCheckpointBlocks(a->eng, &nb, bp, bn, MX_CKPT_MAXBLOCKS));
  MPI_Comm_rank(a->comm, &rank);
  PetscCall(MxReaderGetComms(a->reader, &pix_comm, NULL));
  RankPath(a, path, sizeof path);
  if ((f = fopen(path, "rb"))) {
    ok = fread(hdr, sizeof hdr, 1, f) == 1 && hdr[0] == MX_CKPT_MAGIC && hdr[1] == a->ckpt_hash && hdr[5] == (uint64_t)nb;
    fclose(f);
  }
  /* the block agrees: all have one, at the same train */
  tn[0] = ok ? (PetscInt64)hdr[2] : -1;
  tn[1] = ok ? -(PetscInt64)hdr[2] : 1;
  PetscCallMPI(MPI_Allreduce(tn, mm, 2, MPIU_INT64, MPI_MIN, pix_comm));
  ok = mm[0] >= 0 && mm[0] == -mm[1];
  int nok = 0, all = 0;
  if (ok && (f = fopen(path, "rb"))) {
    ok = fread(hdr, sizeof hdr, 1, f) == 1;
    for (int i = 0; ok && i < nb; i++) ok = bn[i] == 0 || fread(bp[i], sizeof(double), bn[i], f) == bn[i];
    fclose(f);
  } else ok = 0;
  nok = ok;
  PetscCallMPI(MPI_Allreduce(&nok, &all, 1, MPI_INT, MPI_MIN, pix_comm));
  if (!all) { /* start this block afresh: clear whatever was partly read */
    for (int i = 0; i < nb; i++)
      if (bn[i]) PetscCall(PetscArrayzero(bp[i], bn[i]));
    PetscFunctionReturn(0);
  }
  s->t_next            = (PetscInt)hdr[2];
  s->eng.have_prev     = (int)hdr[3];
  s->eng.have_Xprev    = (int)hdr[4];
  a->ckpt_saved        = s->t_next;
  *found               = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* After the results are written. Collective. */
PetscErrorCode MxAnalyzeCheckpointRemove(MxAnalyze a)
{
  char        path[PETSC_MAX_PATH_LEN + 16];
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  if (!a->ckpt_dir[0]) PetscFunctionReturn(0);
  MPI_Comm_rank(a->comm, &rank);
  RankPath(a, path, sizeof path);
  unlink(path);
  PetscCallMPI(MPI_Barrier(a->comm));
  if (!rank) rmdir(a->ckpt_dir); /* fails harmlessly if other files remain (another grid's) */
  PetscFunctionReturn(0);
}
