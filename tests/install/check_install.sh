#!/bin/bash
# mxpcs installed like HPC software: `cmake --install` into a temporary prefix, the Lmod module
# it writes (`module load mxpcs`, then `mxpcs -help` from the prefix), and a short demo run from
# there that draws its figures with the installed tools (and says "no figures" when it made none).
# usage: check_install.sh BUILD_DIR WORKDIR
set -eu
build=$1 work=$2/install
rm -rf "$work"; mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
fails=0
check() { local what=$1; shift; if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi; }
check "executable, tools, schema, inputs, jobs, docs and module installed" test -x "$prefix/bin/mxpcs" -a -r "$prefix/share/mxpcs/tools/plot_figures.py" -a -r "$prefix/share/mxpcs/tools/mxschema.py" -a -r "$prefix/share/mxpcs/schema.def" -a -r "$prefix/share/mxpcs/inputs/sim_colloid.yaml" -a -r "$prefix/share/mxpcs/jobs/analyze.sbatch" -a -r "$prefix/share/doc/mxpcs/output-format.md" -a -r "$prefix/share/modulefiles/mxpcs/0.1.0.lua"
init=/usr/share/lmod/lmod/init/bash
[ -r "$init" ] || { echo "FAIL: Lmod is not installed (Debian package lmod; tools/setup.sh installs it)"; exit 1; }
# the module, in a clean shell: nothing of the build tree on PATH
env -i HOME="$HOME" PATH=/usr/bin:/bin bash -c "source $init; module use '$prefix/share/modulefiles'; module load mxpcs; command -v mxpcs; echo \"\$MXPCS_DATADIR\"; mxpcs -help" >"$work/module.log" 2>&1 || true
check "module load mxpcs puts the prefix's mxpcs on PATH" grep -qx "$prefix/bin/mxpcs" "$work/module.log"
check "the module sets MXPCS_DATADIR" grep -qx "$prefix/share/mxpcs" "$work/module.log"
check "mxpcs -help from the module" grep -q "mxpcs 0.1.0: MPI-parallel MHz-XPCS" "$work/module.log"
# a short demo from the prefix, run from another directory, the installed tools drawing figures
small=(-demo_trains 8 -demo_md_steps 1000 -demo_md_seeds 1)
(cd "$work" && env -u MXPCS_DATADIR "$MPIEXEC" -n 2 "$prefix/bin/mxpcs" demo -o "$work/demo" "${small[@]}") >"$work/demo.log" 2>&1 || { echo "FAIL: demo from the prefix"; tail -20 "$work/demo.log"; exit 1; }
check "the demo found the installed figure tool" grep -q "figures: /usr/bin/python3 '$prefix/bin/../share/mxpcs/tools/plot_figures.py'" "$work/demo.log"
check "the demo drew its figures" test -r "$work/demo/figures/fig4_g2.png" -a -r "$work/demo/figures/fig1_detector.png"
check "the demo says it made figures" grep -q "results, figures and runs in $work/demo" "$work/demo.log"
# without a figure tool it says so
(cd "$work" && "$MPIEXEC" -n 2 "$prefix/bin/mxpcs" demo -o "$work/demo2" "${small[@]}" -demo_plot_script "$work/none.py") >"$work/demo2.log" 2>&1 || { echo "FAIL: demo without figures"; tail -20 "$work/demo2.log"; exit 1; }
check "a demo without the figure tool says 'no figures'" grep -q "results and runs in $work/demo2; no figures (plot_figures.py not found)" "$work/demo2.log"
[ $fails -eq 0 ] && rm -rf "$work"
echo "$([ $fails -eq 0 ] && echo 1 || echo 0) passed, $fails failed"
exit $((fails > 0))
