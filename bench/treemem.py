#!/usr/bin/env python3
"""Run a command; print "wall_s top_maxrss_kb tree_rss_peak_kb tree_pss_peak_kb" to the file in $TREEMEM_OUT
(or stderr). The command's stdout/stderr pass through.

top_maxrss_kb: the command's own peak RSS (getrusage of the direct child, like /usr/bin/time %M).
tree_*_peak_kb: peak over samples (every 50 ms) of the sum over the whole process tree under this
script (the command and every descendant; this process is a child subreaper, so daemonised children
such as ssh ControlPersist masters stay in the tree while the command runs). RSS sums count shared
pages once per process (an overcount for forked workers); PSS splits shared pages between sharers.
"""
import ctypes, os, sys, time

def tree_mem(root):
    ppid = {}
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open(f'/proc/{d}/stat') as f:
                    s = f.read()
                ppid[int(d)] = int(s[s.rindex(')') + 2:].split()[1])
            except (OSError, ValueError):
                pass
    kids = {}
    for p, pp in ppid.items():
        kids.setdefault(pp, []).append(p)
    todo, rss, pss = list(kids.get(root, [])), 0, 0
    while todo:
        p = todo.pop()
        todo.extend(kids.get(p, []))
        try:
            with open(f'/proc/{p}/smaps_rollup') as f:
                for line in f:
                    if line.startswith('Rss:'):
                        rss += int(line.split()[1])
                    elif line.startswith('Pss:'):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss

def main():
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    me, peak_rss, peak_pss, status, ru = os.getpid(), 0, 0, None, None
    while True:
        r, st, usage = os.wait4(pid, os.WNOHANG)
        if r == pid:
            status, ru = st, usage
            break
        rss, pss = tree_mem(me)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.05)
    wall = time.monotonic() - t0
    line = f"{wall:.2f} {ru.ru_maxrss} {peak_rss} {peak_pss}\n"
    out = os.environ.get('TREEMEM_OUT')
    if out:
        with open(out, 'w') as f:
            f.write(line)
    else:
        sys.stderr.write(line)
    # reap orphans that were reparented to us (they keep running if still alive)
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
    sys.exit(os.waitstatus_to_exitcode(status))

main()
