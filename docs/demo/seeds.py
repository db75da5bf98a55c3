"""How many seeds a demo setting needs for VkD's paired 95% intervals to sit above 0.

    /usr/bin/python3 docs/demo/seeds.py REPORT.json[+MORE.json] [...]

Reads demo reports (report.json of `kdstream demo`) and study reports (`kdstream study`; rows
alone, linear, VkD of each cell). For each report it prints the per-seed differences VkD - linear and
VkD - alone (test accuracy, points), their mean, sd and 95% t interval (the statistic the demo
prints; `a.json+b.json` pools the students of both, e.g. more seeds trained later on the same
stream), then the probability that a run with n seeds gets an interval above 0 if the differences
are normal with that mean and sd (simulated, 200,000 runs per n). That probability takes the
report's mean and sd as the truth: a run with a lucky mean makes it optimistic.
"""
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "study"))
from pool import paired_interval, t_quantile_975  # noqa: E402


def accuracies(paths):
    """{row: {seed: accuracy in points}} of demo or study reports ('+'-joined paths are pooled)."""
    out = {}
    for path in paths.split("+"):
        for row, seeds in report_accuracies(path).items():
            out.setdefault(row, {}).update(seeds)
    return out


def report_accuracies(path):
    report = json.load(open(path))
    students = report.get("students") or [dict(s, variant=row) for cell in report["cells"]
                                           for row, r in cell["rows"].items() for s in r.get("students", [])]
    out = {}
    for s in students:
        if s.get("exit_code", 0) == 0 and s.get("accuracy") is not None:
            out.setdefault(s["variant"], {})[s["seed"]] = 100 * s["accuracy"]
    return out


def p_above_zero(mean, sd, n, runs=200_000):
    x = np.random.default_rng(1).normal(mean, sd, size=(runs, n))
    low = x.mean(1) - t_quantile_975(n - 1) * x.std(1, ddof=1) / math.sqrt(n)
    return float(np.mean(low > 0))


def main():
    for path in sys.argv[1:]:
        acc = accuracies(path)
        print(path)
        for base in ("linear", "alone"):
            d = [acc["VkD"][s] - acc[base][s] for s in sorted(acc["VkD"]) if s in acc[base]]
            mean, sd, half = paired_interval(d)
            print(f"  VkD - {base}: " + " ".join(f"{x:+.2f}" for x in d)
                  + f"; mean {mean:+.2f}, sd {sd:.2f}, [{mean - half:+.2f}, {mean + half:+.2f}]")
            print("    P(interval above 0) with n seeds: "
                  + "  ".join(f"n={k} {p_above_zero(mean, sd, k):.2f}" for k in (4, 5, 6, 8, 10)))


if __name__ == "__main__":
    main()
