#!/usr/bin/python3
"""The repository stands alone: no tracked file refers to a folder beside it (the shared folder
next to the clone, or its docs, data, tools or seed paths; PAT below). Users clone the
repository alone.
usage: check_standalone.py ROOT"""
import os
import re
import subprocess
import sys

PAT = re.compile(r'\.\./shared\b|(?<![\w./-])shared/(?:docs|data|tools|seed|hooks)\b')


def tracked(root):
    try:
        out = subprocess.run(['git', '-C', root, 'ls-files', '-z'], capture_output=True, check=True).stdout
        return [p for p in out.decode().split('\0') if p]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file
        return [os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) if '/.git' not in d and '/build' not in d for f in fs]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    me = os.path.relpath(os.path.abspath(__file__), os.path.abspath(root))
    bad = 0
    for rel in tracked(root):
        if rel == me:
            continue
        try:
            text = open(os.path.join(root, rel), encoding='utf-8', errors='strict').read()
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue  # binary files
        for n, line in enumerate(text.splitlines(), 1):
            if PAT.search(line):
                print('check_standalone: %s:%d refers outside the repository: %s' % (rel, n, line.strip()[:120]))
                bad += 1
    print('check_standalone: %d reference(s) to files outside the repository' % bad)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
