#!/usr/bin/python3
"""Plot tools/scaling.sh's table: time, parallel efficiency and the per-stage share of the
log_view events (MxAnalyzeSetUp / Train / Reduce / Fit) against the rank count.

  /usr/bin/python3 tools/plot_scaling.py scaling.csv scaling.png
"""
import csv
import sys

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rows = list(csv.DictReader(open(sys.argv[1])))
    if not rows:
        sys.exit('plot_scaling.py: %s has no rows' % sys.argv[1])
    for r in rows:
        for k in r:
            if k != 'mode':
                r[k] = float(r[k])
    series = {}
    for r in rows:
        key = (r['mode'], 'blocks' if r['pixel_parts'] == 1 else 'parts')
        series.setdefault(key, []).append(r)
    # the 1-rank point belongs to both strong series
    if ('strong', 'parts') in series:
        series[('strong', 'parts')] = [r for r in series[('strong', 'blocks')] if r['ranks'] == 1] + series[('strong', 'parts')]
    fig, ax = plt.subplots(1, 3, figsize=(17, 5.2), gridspec_kw={'width_ratios': [1, 1, 1.5]})
    style = {('strong', 'blocks'): 'o-', ('strong', 'parts'): 's--', ('weak', 'blocks'): '^-'}
    name = {('strong', 'blocks'): 'strong, train blocks', ('strong', 'parts'): 'strong, pixel parts', ('weak', 'blocks'): 'weak, train blocks'}
    for key, rs in sorted(series.items()):
        rs = sorted(rs, key=lambda r: r['ranks'])
        n = [r['ranks'] for r in rs]
        ax[0].plot(n, [r['petsc_s'] for r in rs], style.get(key, 'x-'), label=name.get(key, str(key)))
        ax[1].plot(n, [100 * r['efficiency'] for r in rs], style.get(key, 'x-'), label=name.get(key, str(key)))
    ax[0].set_xscale('log', base=2)
    ax[0].set_yscale('log')
    ax[0].set_xlabel('MPI ranks')
    ax[0].set_ylabel('mxpcs analyze time (s, PETSc total)')
    ax[0].set_title('time')
    ax[0].legend(fontsize=8)
    ax[1].set_xscale('log', base=2)
    ax[1].axhline(100, color='grey', lw=0.5)
    ax[1].set_xlabel('MPI ranks')
    ax[1].set_ylabel('parallel efficiency (%)')
    ax[1].set_title('efficiency: strong T1/(N TN), weak T1/TN', fontsize=10)
    ax[1].set_ylim(0, 120)
    over = sorted({r['ranks'] for r in rows if r['oversubscribed']})
    if over:   # more ranks than cores: the decomposition, not the machine
        ax[1].axvspan(over[0] / 1.2, over[-1] * 1.2, color='0.9', zorder=0)
        ax[1].text(over[0], 112, 'oversubscribed', ha='center', fontsize=8)
        ax[0].axvspan(over[0] / 1.2, over[-1] * 1.2, color='0.9', zorder=0)
    ax[1].legend(fontsize=8)
    # stage shares, one bar per measurement
    labels, parts = [], {k: [] for k in ('setup_s', 'train_s', 'reduce_s', 'fit_s', 'other')}
    for r in rows:
        labels.append('%s\nN=%d P=%d%s' % (r['mode'][0], r['ranks'], r['pixel_parts'], '*' if r['oversubscribed'] else ''))
        tot = r['petsc_s']
        known = r['setup_s'] + r['train_s'] + r['reduce_s'] + r['fit_s']
        for k in ('setup_s', 'train_s', 'reduce_s', 'fit_s'):
            parts[k].append(100 * r[k] / tot)
        parts['other'].append(max(0.0, 100 * (tot - known) / tot))
    bottom = [0.0] * len(rows)
    names = {'setup_s': 'MxAnalyzeSetUp', 'train_s': 'MxAnalyzeTrain (read + correlate)', 'reduce_s': 'MxAnalyzeReduce',
             'fit_s': 'MxAnalyzeFit', 'other': 'other (results, init)'}
    for k in ('setup_s', 'train_s', 'reduce_s', 'fit_s', 'other'):
        ax[2].bar(range(len(rows)), parts[k], bottom=bottom, label=names[k])
        bottom = [b + p for b, p in zip(bottom, parts[k])]
    ax[2].set_xticks(range(len(rows)))
    ax[2].set_xticklabels(labels, fontsize=7)
    ax[2].set_ylabel('share of the time of the slowest rank (%)')
    ax[2].set_title('log_view stages (s/w: strong/weak, P: pixel parts, *: oversubscribed)', fontsize=10)
    ax[2].set_ylim(0, 100)
    ax[2].legend(fontsize=7, loc='upper center', bbox_to_anchor=(0.5, -0.16), ncol=3)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)
    print('plot_scaling.py: wrote %s' % sys.argv[2])


if __name__ == '__main__':
    main()
