#!/usr/bin/python3
"""Campaign driver: analyse many runs on Slurm as one array job, then the joint fit (docs/slurm.md).

  campaign.py submit   MANIFEST [--dry-run] [--force] [--runs a,b] [--sbatch-args "..."] [--time T]
  campaign.py status   MANIFEST [--json]
  campaign.py resubmit MANIFEST [--dry-run] [--runs a,b] [--sbatch-args "..."] [--time T]
  campaign.py wait     MANIFEST [--timeout S]
  campaign.py hash     MANIFEST                  (the input hash of every run, as submit computes it)

submit: ONE array job (sbatch --array=I,J,..) over the runs that are neither done nor queued, and per
fit group a joint-fit job with --dependency=afterok:<array job>. A run is done when its results
file exists and its sidecar RESULTS.inputs.sha256 (written by the job after success) equals the
hash of its inputs and options now; so a second submit submits nothing, and a changed options
file, option or run directory resubmits exactly the runs it touches.
status: done / running / pending / failed / timeout (checkpointed: resubmit resumes) / cancelled /
stale / not submitted, with the error line of the job's log, from squeue, then sacct, then
scontrol (when accounting is off), then the job's own .status file.
resubmit: the runs that failed, timed out or were cancelled (or --runs), one new array job, and a
new joint fit depending on it; a timed-out analyze resumes from its checkpoint.

Site parameters (environment): MXPCS_PARTITION (-> sbatch -p), MXPCS_ACCOUNT (-> -A),
MXPCS_SBATCH_ARGS (more sbatch options), MXPCS_MODULES, MXPCS_SRUN, MXPCS (passed to the jobs),
MXPCS_EXP_ROOT (where proposal/run numbers are looked up, default /gpfs/exfel/exp).

Manifest: YAML (the subset below) or CSV/TSV with a header row (settings as '#@ key: value' lines):
    campaign: paper                # job names mx-<campaign>-analyze, mx-<campaign>-fit-<group>
    output: campaign-out           # results, logs, state (relative to the manifest)
    analyze: {ntasks: 8, time: "02:00:00", sbatch: "--signal=USR1@300", args: "-reader_pixel_parts 2"}
    fit:     {options: inputs/fit_joint.yaml, ntasks: 1, time: "01:00:00", args: "", enabled: 1}
    runs:
      - name: colloid              # unique; the results file is OUTPUT/<name>.h5
        run: runs/colloid          # a run directory, or proposal: 2884 with run: 12 (number)
        sample: PbS colloid
        phase: dilute              # dilute|dense (liquid, colloid, ... accepted); sets dense
        options: inputs/analyze_colloid.yaml
        dense: 0                   # for the joint fit (-NAME_joint_dense), default from phase
        D0: 0                      # um^2/s for -NAME_hydro_D0 (0: fitted, a dilute sample)
        args: -reader_modules 3,4  # more mxpcs analyze options for this run
        fit_group: joint           # runs fitted together; 'none': not fitted
Relative paths are taken from the manifest's directory, options files then from MXPCS_HOME.
"""
import argparse
import csv
import glob
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time

HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACTIVE = {'PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED',
          'RESIZING', 'SUSPENDED', 'STAGE_OUT', 'SIGNALING', 'STOPPED'}
TERMINAL_BAD = {'FAILED', 'TIMEOUT', 'CANCELLED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL',
                'DEADLINE', 'SPECIAL_EXIT'}


class CampaignError(Exception):
    pass


# ---------------------------------------------------------------------------- manifest
def _scalar(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in '"\'':
        return v[1:-1]
    return v


def _strip_comment(line):
    out, q = [], None
    for i, c in enumerate(line):
        if q:
            if c == q:
                q = None
        elif c in '"\'':
            q = c
        elif c == '#' and (i == 0 or line[i - 1] in ' \t'):
            break
        out.append(c)
    return ''.join(out).rstrip()


def _flow_map(v, where):
    """{a: 1, b: "x y"} -> dict (no nesting)."""
    body = v.strip()[1:-1]
    d = {}
    for part in re.findall(r'(?:[^,"\']|"[^"]*"|\'[^\']*\')+', body):
        if not part.strip():
            continue
        if ':' not in part:
            raise CampaignError('%s: expected key: value in %s' % (where, v))
        k, x = part.split(':', 1)
        d[k.strip()] = _scalar(x)
    return d


def parse_yaml(path):
    """The YAML subset of a manifest: top-level key: value, one level of nested mappings (block or
    {flow}), and 'runs:' a list of mappings. Enough for campaigns, no dependency on PyYAML."""
    top, cur_key, item, item_indent = {}, None, None, None
    with open(path) as f:
        lines = f.read().splitlines()
    for n, raw in enumerate(lines, 1):
        where = '%s:%d' % (path, n)
        line = _strip_comment(raw)
        if not line.strip():
            continue
        if '\t' in line[:len(line) - len(line.lstrip())]:
            raise CampaignError('%s: tabs in indentation' % where)
        ind = len(line) - len(line.lstrip())
        s = line.strip()
        if ind == 0:
            if ':' not in s:
                raise CampaignError('%s: expected key: value, got %r' % (where, s))
            k, v = s.split(':', 1)
            k, v = k.strip(), v.strip()
            item = None
            if v == '':
                cur_key = k   # a block follows: mapping or list
                top[k] = None
            elif v.startswith('{'):
                top[k] = _flow_map(v, where)
                cur_key = None
            else:
                top[k] = _scalar(v)
                cur_key = None
            continue
        if cur_key is None:
            raise CampaignError('%s: indented line outside a block' % where)
        if s.startswith('- ') or s == '-':
            if top[cur_key] is None:
                top[cur_key] = []
            if not isinstance(top[cur_key], list):
                raise CampaignError('%s: list item inside the mapping %s' % (where, cur_key))
            item = {}
            top[cur_key].append(item)
            item_indent = ind + 2
            s = s[1:].strip()
            if not s:
                continue
            ind = item_indent
        if ':' not in s:
            raise CampaignError('%s: expected key: value, got %r' % (where, s))
        k, v = s.split(':', 1)
        k, v = k.strip(), v.strip()
        if item is not None and ind >= item_indent:
            item[k] = _scalar(v)
        else:
            if top[cur_key] is None:
                top[cur_key] = {}
            if not isinstance(top[cur_key], dict):
                raise CampaignError('%s: mapping entry %s inside the list %s' % (where, k, cur_key))
            top[cur_key][k] = _scalar(v)
            item = None
    return top


def parse_table(path):
    """CSV or TSV with a header row; '#@ key: value' (or '#@ section.key: value') lines are settings."""
    settings, rows = {}, []
    with open(path, newline='') as f:
        text = f.read()
    body = []
    for line in text.splitlines():
        if line.startswith('#@'):
            if ':' not in line:
                raise CampaignError('%s: settings line without key: value: %s' % (path, line))
            k, v = line[2:].split(':', 1)
            k, v = k.strip(), _scalar(v)
            if '.' in k:
                sec, sk = k.split('.', 1)
                settings.setdefault(sec, {})[sk] = v
            else:
                settings[k] = v
        elif line.strip() and not line.lstrip().startswith('#'):
            body.append(line)
    delim = '\t' if path.endswith('.tsv') or (body and '\t' in body[0]) else ','
    for r in csv.DictReader(body, delimiter=delim):
        rows.append({k.strip(): (v or '').strip() for k, v in r.items() if k})
    settings['runs'] = rows
    return settings


DENSE_PHASES = {'dense', 'liquid', 'concentrated', 'glass', 'gel'}
DILUTE_PHASES = {'dilute', 'colloid', 'dilute colloid', 'gas'}


class Run:
    pass


class Campaign:
    def __init__(self, manifest):
        self.manifest = os.path.abspath(manifest)
        self.mdir = os.path.dirname(self.manifest)
        if manifest.endswith(('.csv', '.tsv')):
            m = parse_table(manifest)
        else:
            m = parse_yaml(manifest)
        stem = os.path.splitext(os.path.basename(manifest))[0]
        self.name = re.sub(r'[^A-Za-z0-9_.-]', '_', str(m.get('campaign') or stem))
        self.out = self.path(m.get('output') or stem + '-out')
        if os.environ.get('MXPCS_HOME'):
            self.home = os.path.abspath(os.environ['MXPCS_HOME'])
        elif m.get('mxpcs_home'):
            self.home = self.path(m['mxpcs_home'])
        else:
            self.home = HOME
        an = m.get('analyze') or {}
        fi = m.get('fit') or {}
        if not isinstance(an, dict) or not isinstance(fi, dict):
            raise CampaignError('%s: analyze and fit must be mappings' % manifest)
        self.an = an
        self.fit = fi
        self.fit_enabled = str(fi.get('enabled', '1')).lower() not in ('0', 'no', 'false', 'off')
        self.fit_options = self.options_path(fi['options']) if fi.get('options') else None
        runs = m.get('runs')
        if not runs or not isinstance(runs, list):
            raise CampaignError('%s: no runs' % manifest)
        self.runs, names = [], set()
        for i, r in enumerate(runs):
            self.runs.append(self.make_run(i, r, names))
        self.state_dir = os.path.join(self.out, '.campaign')
        self.log_dir = os.path.join(self.out, 'logs')

    def path(self, p):
        p = os.path.expanduser(str(p))
        return p if os.path.isabs(p) else os.path.normpath(os.path.join(self.mdir, p))

    def options_path(self, p):
        a = self.path(p)
        if not os.path.exists(a) and not os.path.isabs(p) and os.path.exists(os.path.join(self.home, p)):
            a = os.path.join(self.home, p)
        if not os.path.isfile(a):
            raise CampaignError('%s: options file %s not found (tried %s and %s)' % (self.manifest, p, self.path(p), os.path.join(self.home, p)))
        return a

    def make_run(self, i, r, names):
        where = '%s: run %d' % (self.manifest, i + 1)
        x = Run()
        x.index = i
        x.sample = r.get('sample', '')
        x.phase = r.get('phase', '').lower()
        if r.get('proposal'):
            try:
                prop, num = int(r['proposal']), int(r.get('run_number') or r.get('run'))
            except (TypeError, ValueError):
                raise CampaignError('%s: proposal needs a run number (run: N)' % where)
            kind = r.get('data', 'proc')
            root = os.environ.get('MXPCS_EXP_ROOT', '/gpfs/exfel/exp')
            pat = os.path.join(root, '*', '*', 'p%06d' % prop, kind, 'r%04d' % num)
            hits = sorted(glob.glob(pat))
            if len(hits) != 1:
                raise CampaignError('%s: proposal %d run %d: %s %s' % (where, prop, num, 'no directory' if not hits else 'several directories', pat))
            x.run = hits[0]
            default_name = 'p%06d_r%04d' % (prop, num)
        elif r.get('run'):
            x.run = self.path(r['run'])
            default_name = os.path.basename(x.run.rstrip('/'))
        else:
            raise CampaignError('%s: give run: DIR, or proposal: P with run: N' % where)
        x.name = re.sub(r'[^A-Za-z0-9_.-]', '_', r.get('name') or default_name)
        if x.name in names:
            raise CampaignError('%s: name %s used twice' % (where, x.name))
        names.add(x.name)
        x.options = self.options_path(r['options']) if r.get('options') else None
        x.args = shlex.split(' '.join(filter(None, [self.an.get('args', ''), r.get('args', '')])))
        for a in x.args:
            if not a or any(c.isspace() for c in a):
                raise CampaignError('%s: option words may not contain white space: %r' % (where, a))
        d = r.get('dense', '')
        if d == '':
            if x.phase in DENSE_PHASES:
                d = '1'
            elif x.phase in DILUTE_PHASES or x.phase == '':
                d = '0'
            else:
                raise CampaignError('%s: phase %r: give dense: 0|1' % (where, x.phase))
        if d not in ('0', '1'):
            raise CampaignError('%s: dense must be 0 or 1, not %r' % (where, d))
        x.dense = int(d)
        try:
            x.D0 = float(r.get('D0') or 0)
        except ValueError:
            raise CampaignError('%s: D0 %r is not a number' % (where, r.get('D0')))
        x.group = r.get('fit_group') or 'joint'
        x.results = os.path.join(self.out, x.name + '.h5')
        return x

    # ------------------------------------------------------------------------ hashes
    def run_hash(self, x):
        """sha256 of what the results depend on: the run's files (relative path, size, mtime),
        the raw/ sibling's DA (XGM) files of a proc/rNNNN directory, the options file's content
        and the option words. Not the mxpcs build: after an upgrade, submit --force."""
        if not os.path.isdir(x.run):
            return None
        files = []
        dirs = [x.run]
        m = re.match(r'(.*)/proc/(r\d{4})$', x.run.rstrip('/'))
        if m and os.path.isdir(os.path.join(m.group(1), 'raw', m.group(2))):
            dirs.append(os.path.join(m.group(1), 'raw', m.group(2)))
        for d in dirs:
            for root, sub, names in os.walk(d):
                sub.sort()
                for nm in sorted(names):
                    p = os.path.join(root, nm)
                    if d != x.run and '-DA' not in nm:
                        continue
                    st = os.stat(p)
                    files.append([os.path.relpath(p, os.path.dirname(x.run)), st.st_size, st.st_mtime_ns])
        h = {'subcommand': 'analyze', 'files': files, 'args': x.args,
             'options': sha256_file(x.options) if x.options else None}
        return hashlib.sha256(json.dumps(h, sort_keys=True).encode()).hexdigest()

    def groups(self):
        g = {}
        for x in self.runs:
            if x.group.lower() != 'none':
                g.setdefault(x.group, []).append(x)
        return g if self.fit_enabled else {}

    def fit_command(self, group, runs, hashes):
        out = os.path.join(self.out, '%s.h5' % group)
        args = ['-i', ','.join(x.results for x in runs), '-o', out]
        if self.fit_options:
            args += ['-options_file', self.fit_options]
        # each sample's options under its own prefix (mxpcs fit -help): the run names, made
        # valid option prefixes
        names = [re.sub(r'\W', '_', x.name) if re.match(r'[A-Za-z]', x.name) else 's_' + re.sub(r'\W', '_', x.name) for x in runs]
        args += ['-fit_samples', ','.join(names)]
        for nm, x in zip(names, runs):
            args += ['-%s_joint_dense' % nm, str(x.dense), '-%s_hydro_D0' % nm, '%g' % x.D0]
        args += shlex.split(self.fit.get('args', ''))
        h = {'subcommand': 'fit', 'inputs': [hashes[x.name] for x in runs], 'args': args[2:],
             'options': sha256_file(self.fit_options) if self.fit_options else None}
        return out, args, hashlib.sha256(json.dumps(h, sort_keys=True).encode()).hexdigest()

    # ------------------------------------------------------------------------ state
    def load_state(self):
        p = os.path.join(self.state_dir, 'state.json')
        if os.path.exists(p):
            with open(p) as f:
                return json.load(f)
        return {'submissions': [], 'runs': {}, 'fits': {}}

    def save_state(self, st):
        os.makedirs(self.state_dir, exist_ok=True)
        p = os.path.join(self.state_dir, 'state.json')
        with open(p + '.part', 'w') as f:
            json.dump(st, f, indent=1, sort_keys=True)
        os.replace(p + '.part', p)


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''):
            h.update(b)
    return h.hexdigest()


def read_text(p):
    try:
        with open(p) as f:
            return f.read().strip()
    except OSError:
        return None


def output_done(out, h):
    return os.path.exists(out) and read_text(out + '.inputs.sha256') == h


# ---------------------------------------------------------------------------- Slurm queries
def _run(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr
    except (OSError, subprocess.TimeoutExpired) as e:
        return 127, '', str(e)


def expand_tasks(spec):
    """'0-3,7,9-13:2%4' -> [0,1,2,3,7,9,11,13]"""
    spec = spec.strip('[]').split('%')[0]
    out = []
    for part in spec.split(','):
        if not part:
            continue
        step = 1
        if ':' in part:
            part, step = part.split(':')
            step = int(step)
        if '-' in part:
            a, b = part.split('-')
            out += list(range(int(a), int(b) + 1, step))
        else:
            out.append(int(part))
    return out


def query_jobs(ids):
    """{jobref: {'state', 'reason', 'exit', 'stderr', 'stdout'}} for job IDs (array job IDs give one
    entry per task, 'A_i'): squeue for live jobs, sacct for finished ones, scontrol when accounting
    is off (finished jobs stay in scontrol for MinJobAge)."""
    ids = sorted({str(i) for i in ids if i})
    info = {}
    if not ids:
        return info
    rc, so, _ = _run(['squeue', '-h', '-r', '-j', ','.join(ids), '-o', '%i|%T|%r'])
    if rc != 0:   # one unknown ID fails the whole call in some versions: ask one by one
        so = ''.join(_run(['squeue', '-h', '-r', '-j', i, '-o', '%i|%T|%r'])[1] for i in ids)
    for line in so.splitlines():
        p = line.strip().split('|')
        if len(p) >= 2:
            info[p[0]] = {'state': p[1], 'reason': p[2] if len(p) > 2 else ''}
    rc, so, _ = _run(['sacct', '-n', '-P', '-X', '-j', ','.join(ids), '-o', 'JobID,State,ExitCode,Reason'])
    if rc == 0:
        for line in so.splitlines():
            p = line.strip().split('|')
            if len(p) >= 3 and p[0] and p[0] not in info:
                info[p[0]] = {'state': p[1].split()[0], 'exit': p[2], 'reason': p[3] if len(p) > 3 else ''}
    for i in ids:
        rc, so, _ = _run(['scontrol', 'show', 'job', '-o', i])
        if rc != 0:
            continue
        for line in so.splitlines():
            kv = dict(re.findall(r'(\w+)=(\S*)', line))
            ref = kv.get('JobId', '')
            refs = [ref]
            if kv.get('ArrayJobId') and kv.get('ArrayTaskId') not in (None, '', 'N/A'):
                refs = ['%s_%d' % (kv['ArrayJobId'], t) for t in expand_tasks(kv['ArrayTaskId'])]
            for r in refs:
                d = info.setdefault(r, {})
                if 'exit' not in d or d.get('state') in ACTIVE or not d.get('state'):
                    d.update({'state': kv.get('JobState', d.get('state', '')), 'reason': kv.get('Reason', ''), 'exit': kv.get('ExitCode', '')})
                d['stderr'] = kv.get('StdErr', '').replace('%a', r.split('_')[-1]) if kv.get('StdErr') else None
                d['stdout'] = kv.get('StdOut')
    return info


def error_line(paths):
    """The line of a job's logs that says why it ended (the latest attempt of a requeued job)."""
    best = None
    for p in paths:
        if not p or not os.path.exists(p):
            continue
        with open(p, errors='replace') as f:
            lines = f.read().splitlines()
        start = max([i for i, l in enumerate(lines) if '[mxpcs-job]' in l and ' start job ' in l] or [0])
        lines = [l.strip() for l in lines[start:] if l.strip()]
        pri = [
            lambda l: 'DUE TO TIME LIMIT' in l or 'CANCELLED' in l,
            lambda l: l.startswith('mxpcs') and ('error' in l or 'checkpoint saved' in l),
            lambda l: 'error' in l.lower() and '[mxpcs-job] start' not in l,
        ]
        for k, test in enumerate(pri):
            hit = [l for l in lines if test(l)]
            if hit and (best is None or k < best[0]):
                best = (k, hit[-1])
                break
        if best is None and lines:
            best = (9, lines[-1])
    return best[1] if best else ''


# ---------------------------------------------------------------------------- commands
def site_sbatch_args(c, section, cli):
    a = []
    if os.environ.get('MXPCS_PARTITION'):
        a += ['-p', os.environ['MXPCS_PARTITION']]
    if os.environ.get('MXPCS_ACCOUNT'):
        a += ['-A', os.environ['MXPCS_ACCOUNT']]
    s = section
    if s.get('nodes'):
        a.append('--nodes=%s' % s['nodes'])
    if s.get('ntasks'):
        a.append('--ntasks=%s' % s['ntasks'])
    if s.get('time'):
        a.append('--time=%s' % s['time'])
    a += shlex.split(os.environ.get('MXPCS_SBATCH_ARGS', ''))
    a += shlex.split(s.get('sbatch', ''))
    if cli.time:
        a.append('--time=%s' % cli.time)
    a += shlex.split(cli.sbatch_args or '')
    return a


def sbatch(cmd, env_show, dry, placeholder):
    print('+ ' + ' '.join('%s=%s' % (k, shlex.quote(v)) for k, v in env_show.items()) + (' ' if env_show else '') + shlex.join(cmd))
    if dry:
        return placeholder
    env = dict(os.environ, **env_show)
    rc, so, se = _run_env(cmd, env)
    if rc != 0:
        raise CampaignError('sbatch failed (exit %d): %s' % (rc, se.strip() or so.strip()))
    jid = so.strip().split(';')[0].strip()
    if not jid.isdigit():
        raise CampaignError('sbatch printed no job ID: %r' % so)
    print('  -> job %s' % jid)
    return jid


def _run_env(cmd, env):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        return p.returncode, p.stdout, p.stderr
    except (OSError, subprocess.TimeoutExpired) as e:
        return 127, '', str(e)


def run_states(c, st, hashes, info):
    """Per run: (state, jobref, detail)."""
    out = {}
    for x in c.runs:
        rec = st['runs'].get(x.name, {})
        job = rec.get('job')
        j = info.get(job, {}) if job else {}
        state = j.get('state', '')
        status_file = (read_text(x.results + '.status') or '').split()
        if hashes[x.name] is None:
            out[x.name] = ('missing input', job, 'no run directory ' + x.run)
            continue
        if output_done(x.results, hashes[x.name]):
            out[x.name] = ('done', job, '')
            continue
        if state in ACTIVE:
            out[x.name] = (state.lower(), job, j.get('reason', '') if state == 'PENDING' else '')
            continue
        ckpt = os.path.isdir(x.results + '.ckpt')
        logs = [os.path.join(c.log_dir, 'mx-%s-analyze-%s.err' % (c.name, job)), os.path.join(c.log_dir, 'mx-%s-analyze-%s.out' % (c.name, job))] if job else []
        if not job:
            s = 'stale' if os.path.exists(x.results) else 'not submitted'
            out[x.name] = (s, None, 'results from other inputs or options' if s == 'stale' else '')
            continue
        if not state:   # Slurm no longer knows the job: its own status line
            s = status_file[0] if status_file and (len(status_file) < 2 or status_file[-2] == job) else 'unknown'
            state = {'done': 'STALE', 'running': 'LOST', 'checkpointed': 'TIMEOUT', 'failed': 'FAILED'}.get(s, 'UNKNOWN')
        detail = error_line(logs)
        if ckpt:
            detail = '[checkpoint %s: resubmit resumes] %s' % (os.path.basename(x.results) + '.ckpt', detail)
        if state == 'COMPLETED':
            state = 'STALE' if os.path.exists(x.results) else 'FAILED'
            detail = 'job completed but results/hash do not match the manifest now; ' + detail
        out[x.name] = (state.lower(), job, detail)
    return out


def collect(c, with_info=True):
    st = c.load_state()
    hashes = {x.name: c.run_hash(x) for x in c.runs}
    ids = {s['array'] for s in st['submissions'] if s.get('array')} | {f['job'] for f in st['fits'].values() if f.get('job')}
    info = query_jobs(ids) if with_info else {}
    return st, hashes, info, run_states(c, st, hashes, info)


def fit_states(c, st, hashes, info, states):
    res = {}
    for g, runs in c.groups().items():
        out, args, h = c.fit_command(g, runs, hashes)
        rec = st['fits'].get(g, {})
        job = rec.get('job')
        j = info.get(job, {}) if job else {}
        if output_done(out, h):
            res[g] = ('done', job, out)
        elif j.get('state') in ACTIVE:
            why = j.get('reason', '')
            res[g] = (j['state'].lower(), job, 'waiting for the analyze jobs' if why == 'Dependency' else why)
        elif job:
            s = (j.get('state') or 'unknown').lower()
            det = error_line([os.path.join(c.log_dir, 'mx-%s-fit-%s-%s.%s' % (c.name, g, job, e)) for e in ('err', 'out')])
            if s == 'cancelled' and 'Dependency' in j.get('reason', ''):
                det = 'an analyze job of the group failed (dependency never satisfied)'
            res[g] = (s, job, det)
        else:
            res[g] = ('not submitted', None, '')
    return res


def do_submit(c, a, only_failed=False):
    st, hashes, info, states = collect(c)
    todo = []
    for x in c.runs:
        s, job, _ = states[x.name]
        if a.runs and x.name not in a.runs:
            continue
        if s in ('pending', 'running', 'completing', 'configuring', 'requeued', 'suspended', 'stopped', 'signaling', 'resizing', 'stage_out'):
            print('%-20s %s as %s: left alone' % (x.name, s, job))
            continue
        if s == 'missing input':
            raise CampaignError('%s: run directory %s does not exist' % (x.name, x.run))
        if s == 'done' and not a.force:
            print('%-20s done (hash %s...)' % (x.name, hashes[x.name][:12]))
            continue
        if only_failed and not a.runs and s in ('not submitted', 'stale', 'done'):
            print('%-20s %s: not a failed run (use submit)' % (x.name, s))
            continue
        todo.append(x)
        if a.force and os.path.exists(x.results + '.inputs.sha256') and not a.dry_run:
            os.remove(x.results + '.inputs.sha256')
    home_env = {'MXPCS_HOME': c.home}
    for k in ('MXPCS', 'MXPCS_MODULES', 'MXPCS_SRUN', 'MXPCS_ON_CHECKPOINT'):
        if os.environ.get(k):
            home_env[k] = os.environ[k]
    arrays = {}   # run name -> the array job it is (now) in
    for x in c.runs:
        s, job, _ = states[x.name]
        if s in ('pending', 'running', 'requeued', 'completing', 'configuring', 'suspended', 'stopped'):
            arrays[x.name] = job.split('_')[0]
    new_array = None
    if todo:
        os.makedirs(c.log_dir, exist_ok=True) if not a.dry_run else None
        k = len(st['submissions'])
        tasks = os.path.join(c.state_dir, 'tasks-%03d.tsv' % k)
        lines = ['# index\tname\trun\tresults\toptions\thash\tmxpcs analyze options']
        for x in todo:
            lines.append('\t'.join([str(x.index), x.name, x.run, x.results, x.options or '-', hashes[x.name]] + [' '.join(x.args)]))
        if a.dry_run:
            print('task file %s would hold:\n  %s' % (tasks, '\n  '.join(lines)))
        else:
            os.makedirs(c.state_dir, exist_ok=True)
            with open(tasks, 'w') as f:
                f.write('\n'.join(lines) + '\n')
        idx = [x.index for x in todo]
        if len(idx) == 1:
            spec = str(idx[0])
        elif idx == list(range(idx[0], idx[-1] + 1)):
            spec = '%d-%d' % (idx[0], idx[-1])
        else:
            spec = ','.join(map(str, idx))
        if a.max_parallel:
            spec += '%%%d' % a.max_parallel
        cmd = ['sbatch', '--parsable', '--array=' + spec, '--job-name=mx-%s-analyze' % c.name,
               '--output=' + os.path.join(c.log_dir, '%x-%A_%a.out'), '--error=' + os.path.join(c.log_dir, '%x-%A_%a.err')]
        cmd += site_sbatch_args(c, c.an, a)
        cmd += [os.path.join(c.home, 'jobs', 'analyze.sbatch'), '--tasks', tasks]
        new_array = sbatch(cmd, home_env, a.dry_run, '<ARRAY_JOBID>')
        if not a.dry_run:
            st['submissions'].append({'array': new_array, 'indices': idx, 'tasks': tasks, 'time': time.time(), 'command': cmd})
            for x in todo:
                st['runs'][x.name] = {'job': '%s_%d' % (new_array, x.index), 'hash': hashes[x.name], 'submitted': time.time()}
        for x in todo:
            arrays[x.name] = new_array
    else:
        print('no analyze job to submit: every run is done or queued')
    # joint fits
    fstates = fit_states(c, st, hashes, info, states)
    for g, runs in c.groups().items():
        out, args, h = c.fit_command(g, runs, hashes)
        fs, fjob, _ = fstates[g]
        deps = sorted({arrays[x.name] for x in runs if x.name in arrays}, key=str)
        not_ready = [x.name for x in runs if x.name not in arrays and states[x.name][0] != 'done' and x not in todo]
        if fs == 'done' and not deps and not a.force:
            print('fit %-16s done (%s)' % (g, out))
            continue
        if not_ready:
            print('fit %-16s not submitted: runs %s are neither done nor queued (resubmit them)' % (g, ','.join(not_ready)))
            continue
        if fs in ('pending', 'running', 'requeued', 'configuring', 'completing'):
            rec = st['fits'].get(g, {})
            if fs == 'pending' and sorted(rec.get('deps', []), key=str) != deps and not a.dry_run:
                print('fit %-16s pending %s on other jobs: cancelled, submitted again' % (g, fjob))
                _run(['scancel', str(fjob)])
            elif fs == 'pending' and sorted(rec.get('deps', []), key=str) != deps:
                print('+ scancel %s' % fjob)
            else:
                print('fit %-16s %s as %s: left alone' % (g, fs, fjob))
                continue
        cmd = ['sbatch', '--parsable', '--job-name=mx-%s-fit-%s' % (c.name, g),
               '--output=' + os.path.join(c.log_dir, '%x-%j.out'), '--error=' + os.path.join(c.log_dir, '%x-%j.err')]
        if deps:
            cmd += ['--dependency=afterok:' + ':'.join(map(str, deps)), '--kill-on-invalid-dep=yes']
        cmd += site_sbatch_args(c, c.fit, a)
        cmd += [os.path.join(c.home, 'jobs', 'fit.sbatch'), '--hash', h] + args
        if not a.dry_run:
            os.makedirs(c.log_dir, exist_ok=True)
        fjob = sbatch(cmd, home_env, a.dry_run, '<FIT_JOBID>')
        if not a.dry_run:
            st['fits'][g] = {'job': fjob, 'deps': deps, 'hash': h, 'command': cmd}
    if not a.dry_run:
        c.save_state(st)
    return 0


def do_status(c, a):
    st, hashes, info, states = collect(c)
    fits = fit_states(c, st, hashes, info, states)
    if a.json:
        print(json.dumps({'runs': {k: {'state': v[0], 'job': v[1], 'detail': v[2]} for k, v in states.items()},
                          'fits': {k: {'state': v[0], 'job': v[1], 'detail': v[2]} for k, v in fits.items()}}, indent=1))
        return 0
    print('campaign %s: %d runs, output %s' % (c.name, len(c.runs), c.out))
    print('%-20s %-14s %-12s %s' % ('run', 'state', 'job', 'detail'))
    for x in c.runs:
        s, job, det = states[x.name]
        print('%-20s %-14s %-12s %s' % (x.name, s, job or '-', det))
    for g, (s, job, det) in fits.items():
        print('%-20s %-14s %-12s %s' % ('fit:' + g, s, job or '-', det))
    n = {}
    for s, _, _ in states.values():
        n[s] = n.get(s, 0) + 1
    print('summary: ' + ', '.join('%d %s' % (v, k) for k, v in sorted(n.items())))
    return 0


def do_wait(c, a):
    t0 = time.time()
    while True:
        st, hashes, info, states = collect(c)
        fits = fit_states(c, st, hashes, info, states)
        busy = [k for k, v in states.items() if v[0] in {s.lower() for s in ACTIVE}] + \
               ['fit:' + k for k, v in fits.items() if v[0] in {s.lower() for s in ACTIVE}]
        if not busy:
            return 0
        if a.timeout and time.time() - t0 > a.timeout:
            print('campaign.py wait: still active after %d s: %s' % (a.timeout, ', '.join(busy)), file=sys.stderr)
            return 1
        time.sleep(a.poll)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], epilog='see the module docstring and docs/slurm.md')
    ap.add_argument('command', choices=['submit', 'status', 'resubmit', 'wait', 'hash'])
    ap.add_argument('manifest')
    ap.add_argument('--dry-run', action='store_true', help='print the sbatch commands and task file, submit nothing')
    ap.add_argument('--force', action='store_true', help='submit done runs again too')
    ap.add_argument('--runs', type=lambda s: [t for t in s.split(',') if t], help='only these runs (names)')
    ap.add_argument('--time', help='time limit of the jobs submitted now (sbatch --time)')
    ap.add_argument('--sbatch-args', help='more sbatch options for the jobs submitted now')
    ap.add_argument('--max-parallel', type=int, help='at most this many array tasks at once (--array=...%%N)')
    ap.add_argument('--json', action='store_true', help='status as JSON')
    ap.add_argument('--timeout', type=float, default=0, help='wait: give up after this many seconds')
    ap.add_argument('--poll', type=float, default=5, help='wait: seconds between queries')
    a = ap.parse_args(argv)
    try:
        c = Campaign(a.manifest)
        if a.runs:
            bad = set(a.runs) - {x.name for x in c.runs}
            if bad:
                raise CampaignError('--runs: no run named %s in %s' % (','.join(sorted(bad)), a.manifest))
        if a.command == 'submit':
            return do_submit(c, a)
        if a.command == 'resubmit':
            return do_submit(c, a, only_failed=True)
        if a.command == 'status':
            return do_status(c, a)
        if a.command == 'wait':
            return do_wait(c, a)
        for x in c.runs:
            print('%s\t%s\t%s' % (x.name, c.run_hash(x), x.run))
        return 0
    except CampaignError as e:
        print('campaign.py: error: %s' % e, file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
