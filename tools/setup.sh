#!/bin/bash
# Set up mxpcs on a Debian 12 machine: install the Debian packages (idempotent: a no-op when
# all are there), configure and build into build/.
#   tools/setup.sh            install + build
#   tools/setup.sh --no-build install only
# Needs root (or sudo) for apt-get when packages are missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

PKGS=(build-essential cmake pkg-config git
      openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
      libfftw3-dev libfftw3-mpi-dev petsc-dev libopenblas-dev libcmocka-dev liblammps-dev
      libdeflate-dev libisal-dev zlib1g-dev libssl-dev libzmq3-dev libmsgpack-dev lmod
      python3 python3-numpy python3-h5py python3-extra-data python3-pyfai python3-scipy
      python3-matplotlib python3-sasmodels python3-lmfit python3-sasview python3-xraylib
      slurm-wlm munge clang libclang-rt-14-dev)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  $SUDO apt-get clean   # the downloaded .deb files (~1.5 GB) are not needed once installed
else
  echo "setup: all Debian packages present"
fi
# the OpenBLAS alternative must win over the reference BLAS that petsc-dev pulls in
if [ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ] && command -v update-alternatives >/dev/null; then
  cur=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')
  case "$cur" in *openblas*) ;; *) [ "$(id -u)" -eq 0 ] && update-alternatives --set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 || true;; esac
fi

[ "${1:-}" = "--no-build" ] && exit 0
cmake -S "$here" -B "$here/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$here/build" -j"$(nproc)"
echo "setup: built $here/build/mxpcs"
