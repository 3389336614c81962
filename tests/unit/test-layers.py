#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""The house's floors (docs/design.md "Layout"): arrows only point down. From the built objects'
symbol tables (nm), which user/ file calls or reads which; any circle of files fails. From the
sources, which file includes which; any circle fails. A source over 800 lines says why at its top. Each check first proves it read a graph
(known edges present) and that its cycle finder finds a planted circle.

usage: test-layers.py OUT   (OUT holds the objects of user/*.c)"""
import glob
import os
import re
import subprocess
import sys


def sccs(edges):
    """Strongly connected components with more than one node (Tarjan, iterative enough here)."""
    sys.setrecursionlimit(10000)
    idx, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        idx[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in idx:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in idx:
            visit(v)
    return out


def check(name, ok, why):
    print(f"PASS: {name}" if ok else f"FAIL: {name}: {why}")


def call_graph(out):
    defs, undef = {}, {}
    for src in sorted(glob.glob("user/*.c")):
        mod = os.path.basename(src)[:-2]
        obj = f"{out}/{mod}.o"
        if not os.path.exists(obj):
            print(f"FAIL: layers-objects: {obj} missing -- build first (make check-unit-bins)")
            sys.exit(1)
        undef[mod] = set()
        for line in subprocess.run(["nm", obj], capture_output=True, text=True).stdout.split("\n"):
            f = line.split()
            if len(f) == 3 and f[1] in "TDBRC":
                defs.setdefault(f[2], mod)
            elif len(f) == 2 and f[0] == "U":
                undef[mod].add(f[1])
    return {m: {defs[s] for s in u if s in defs and defs[s] != m} for m, u in undef.items()}


def include_graph():
    edges = {}
    for src in sorted(glob.glob("user/*.[ch]") + glob.glob("headers/*.h")):
        name = os.path.basename(src)
        edges.setdefault(name, set())
        for inc in re.findall(r'^#include "([^"]+)"', open(src).read(), re.M):
            edges[name].add(os.path.basename(inc))
    return edges


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build"
    calls = call_graph(out)
    check("layers-calls-read", "core" in calls.get("driver", ()) and
          "loader" in calls.get("driver", ()) and len(calls) >= 20,
          f"the call graph looks empty or wrong ({len(calls)} files; driver -> "
          f"{sorted(calls.get('driver', ()))})")
    planted = {k: set(v) for k, v in calls.items()}
    planted["loader"].add("driver")
    check("layers-finder-finds-circle", any("driver" in c and "loader" in c for c in sccs(planted)),
          "a planted loader -> driver call was not reported as a circle")
    c = sccs(calls)
    check("layers-no-call-circle", not c, "files that call each other in a circle: " +
          "; ".join(" <-> ".join(x) for x in c))
    incs = include_graph()
    check("layers-includes-read", "core.h" in incs.get("driver.h", ()),
          "driver.h does not include core.h: the include graph was not read")
    c = sccs(incs)
    check("layers-no-include-circle", not c, "headers that include each other in a circle: " +
          "; ".join(" <-> ".join(x) for x in c))
    # A file over ~800 lines says why at its top (the first 10 lines name "800 lines").
    files = [f for pat in ("bpf/*.[ch]", "user/*.[ch]", "headers/*.h", "tests/*.sh",
                           "tests/*/*.[ch]", "tests/*/*.sh", "tests/*/*.py", "docs/*.8")
             for f in glob.glob(pat)]
    big = {f: open(f, errors="replace").read().split("\n") for f in files}
    big = {f: ls for f, ls in big.items() if len(ls) > 800}
    unsaid = sorted(f for f, ls in big.items() if not any("800 lines" in x for x in ls[:10]))
    check("layers-big-files-say-why", len(files) >= 60 and not unsaid,
          f"{len(files)} files read; over 800 lines without a reason at the top: {unsaid}")


main()
