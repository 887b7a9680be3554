#!/usr/bin/python3
"""Every option mxpcs reads is listed by -help (issue 16).

For each subcommand of src/app/main.c, runs `mxpcs <command> -help` (and `mxpcs fit -i
colloid.h5,liquid.h5 -help`, whose per-sample options carry the sample names) and checks that
every option name written as a string literal "-xxx" in a PetscOptions*/MxOptions* call in the
sources of that command's objects is in the help output. An option read outside a
PetscOptionsBegin block (a raw PetscOptionsGetBool, PetscOptionsHasName, ...) is missing from -help
and fails the test. Also fails when a source file reads options that no command's help is
checked for (map it in OBJECTS) or when the scan finds no options at all.

    check_help.py SRCDIR        (environment: MXPCS, the executable; MPIEXEC)
"""
import os
import re
import subprocess
import sys

# the objects each command composes, beside src/app/<command>.c, src/app/main.c and src/sys/
# (a command without an entry: src/app/<command>.c and src/<command>/)
OBJECTS = {
    'info': ['src/reader/'],
    'qmap': ['src/geom/', 'src/rings/'],
    'simulate': ['src/sim/', 'src/geom/'],
    'analyze': ['src/analyze/', 'src/corr/', 'src/reader/', 'src/geom/', 'src/rings/', 'src/fit/g2fit.c', 'src/fit/g2age.c'],
    'online': ['src/online/', 'src/analyze/', 'src/corr/', 'src/reader/', 'src/geom/', 'src/rings/', 'src/fit/g2fit.c', 'src/fit/g2age.c'],
    'fit': ['src/fit/joint.c', 'src/fit/saxsfit.c', 'src/fit/saxsdata.c', 'src/fit/saxsmodel.c', 'src/fit/lsq.c'],
    'md': ['src/md/'],
    'demo': [],  # its stages read pushed databases of their own; -help shows the demo's options
}
COMMON = ['src/app/main.c', 'src/sys/']
# extra arguments of a command's -help run, and the option prefixes they make (-<prefix>name)
HELP_ARGS = {'fit': (['-i', 'colloid.h5,liquid.h5'], ['colloid_', 'liquid_'])}
# option-database calls that do not read an option
NOT_READS = {'PetscOptionsSetValue', 'PetscOptionsClearValue', 'PetscOptionsInsertString', 'PetscOptionsInsert',
             'PetscOptionsPrefixPush', 'PetscOptionsPrefixPop', 'PetscOptionsGetAll', 'PetscOptionsHasHelp',
             'PetscOptionsBegin', 'PetscOptionsEnd', 'PetscOptionsCreate', 'PetscOptionsDestroy', 'PetscOptionsPush',
             'PetscOptionsPop', 'PetscOptionsLeftGet', 'PetscOptionsLeftRestore', 'PetscOptionsTextCheck', 'PetscOptionsFileCheck',
             'MxOptionsTextCheck', 'MxOptionsFileCheck', 'MxOptionsPrefixValid'}
CALL = re.compile(r'\b((?:Petsc|Mx)Options\w*)\s*\(')
LITERAL = re.compile(r'"(-[A-Za-z][A-Za-z0-9_]*)"')


def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)
    return re.sub(r'//[^\n]*', '', text)


def option_reads(path):
    """(line, call, option) for each option literal passed to an option-reading call."""
    text = strip_comments(open(path, encoding='utf-8', errors='replace').read())
    out = []
    for m in CALL.finditer(text):
        name = m.group(1)
        if name in NOT_READS or name.endswith('_Private'):
            continue
        args = text[m.end():text.find(';', m.end())]  # to the end of the statement
        lit = LITERAL.search(args)
        if lit:
            out.append((text.count('\n', 0, m.start()) + 1, name, lit.group(1)))
    return out


def files_of(src, entries):
    out = []
    for e in entries:
        p = os.path.join(src, e)
        if e.endswith('/'):
            if os.path.isdir(p):
                out += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith('.c'))
        elif os.path.exists(p):
            out.append(p)
    return out


def help_options(mxpcs, mpiexec, cmd, args):
    run = ([mpiexec, '-n', '1'] if mpiexec else []) + [mxpcs, cmd] + args + ['-help']
    p = subprocess.run(run, capture_output=True, text=True, timeout=300)
    # an option line: indent, the option, then ' <', ':', ' ' or the end of the line
    opts = set(re.findall(r'^\s+(-[^\s:<]+)', p.stdout, flags=re.M))
    return p.returncode, opts, p.stdout + p.stderr


def main():
    src = os.path.abspath(sys.argv[1])
    mxpcs, mpiexec = os.environ['MXPCS'], os.environ.get('MPIEXEC', '')
    main_c = open(os.path.join(src, 'src/app/main.c')).read()
    commands = re.findall(r'^\s*\{"(\w+)",\s*"', main_c, flags=re.M)
    fails, checked, covered = [], 0, set()
    if len(commands) < 7:
        fails.append('found only %d commands in src/app/main.c: %s' % (len(commands), commands))
    for cmd in commands:
        entries = ['src/app/%s.c' % cmd] + COMMON + OBJECTS.get(cmd, ['src/%s/' % cmd])
        files = files_of(src, entries)
        covered.update(files)
        args, prefixes = HELP_ARGS.get(cmd, ([], []))
        rc, listed, log = help_options(mxpcs, mpiexec, cmd, args)
        if rc:
            fails.append('mxpcs %s -help exits %d: %s' % (cmd, rc, log.strip().splitlines()[-1:]))
            continue
        missing = []
        for f in files:
            for line, call, opt in option_reads(f):
                checked += 1
                if opt not in listed and not any('-' + p + opt[1:] in listed for p in prefixes):
                    missing.append('%s:%d %s("%s")' % (os.path.relpath(f, src), line, call, opt))
        print(('ok    ' if not missing else 'FAIL  ') + 'mxpcs %s -help lists the options of %d files%s' % (cmd, len(files), (': missing ' + ', '.join(missing)) if missing else ''))
        if missing:
            fails.append('mxpcs %s -help does not list %s' % (cmd, ', '.join(missing)))
    # every file that reads options is checked by some command
    for root, _, names in os.walk(os.path.join(src, 'src')):
        for n in sorted(names):
            f = os.path.join(root, n)
            if n.endswith('.c') and f not in covered and option_reads(f):
                fails.append('%s reads options (%s) but no command -help is checked for them: add it to OBJECTS in %s' % (os.path.relpath(f, src), ', '.join(o for _, _, o in option_reads(f)), os.path.relpath(__file__, src)))
    if checked < 100:
        fails.append('the scan found only %d option reads: is the pattern still right?' % checked)
    for f in fails:
        print('FAIL  ' + f)
    print('%d option reads checked against -help, %d failures' % (checked, len(fails)))
    sys.exit(1 if fails else 0)


if __name__ == '__main__':
    main()
