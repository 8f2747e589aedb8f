"""What the lab tests' checks read: a lab's own record lines and tlsbpf's CSV rows."""
import csv


def recs(path, kind):
    """The lab's lines of one kind ("kind key=value ..."), each a dict of its fields."""
    out = []
    for line in open(path):
        f = line.split()
        if f and f[0] == kind:
            out.append(dict(x.split('=', 1) for x in f[1:] if '=' in x))
    return out


def rows(path):
    return list(csv.DictReader(open(path, newline='')))
