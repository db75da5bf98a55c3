"""Pools the paired differences of two rows over several study reports (replications with other seeds).

    python3 docs/study/pool.py ROW BASE REPORT.json [REPORT.json ...]

For each report, each seed that both ROW and BASE finished gives one difference ROW - BASE
(test accuracy, points); the pairs of a report share its stream and teacher, so pooling pairs
from replications with another teacher is still a paired comparison. Prints the differences per
report, then the pooled mean with its 95% t interval (the study report's own statistic).
"""
import json
import math
import sys


def t_quantile_975(df):
    """Student's t 0.975 quantile by bisection on the CDF (regularized incomplete beta, by continued fraction)."""
    def betacf(a, b, x):
        qab, qap, qam = a + b, a + 1, a - 1
        c, d = 1.0, 1 - qab * x / qap
        d = 1 / d
        h = d
        for m in range(1, 300):
            m2 = 2 * m
            aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 / (1 + aa * d)
            c = 1 + aa / c
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 / (1 + aa * d)
            c = 1 + aa / c
            h *= d * c
        return h

    def ibeta(a, b, x):
        lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        front = math.exp(lbeta + a * math.log(x) + b * math.log(1 - x))
        if x < (a + 1) / (a + b + 2):
            return front * betacf(a, b, x) / a
        return 1 - front * betacf(b, a, 1 - x) / b

    def cdf(t):
        return 1 - 0.5 * ibeta(df / 2, 0.5, df / (df + t * t))

    lo, hi = 0.0, 100.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < 0.975 else (lo, mid)
    return (lo + hi) / 2


def paired_interval(diffs):
    """Mean, sd and half-width of the 95% t interval of paired differences (two or more)."""
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    return mean, sd, t_quantile_975(n - 1) * sd / math.sqrt(n)


def accuracies(report, row):
    out = {}
    for cell in json.load(open(report))["cells"]:
        for s in cell["rows"].get(row, {}).get("students", []):
            if s.get("exit_code") == 0 and s.get("accuracy") is not None:
                out[s["seed"]] = 100 * s["accuracy"]
    return out


def main():
    row, base, reports = sys.argv[1], sys.argv[2], sys.argv[3:]
    diffs = []
    for report in reports:
        a, b = accuracies(report, row), accuracies(report, base)
        mine = [(seed, a[seed] - b[seed]) for seed in sorted(a) if seed in b]
        print(f"{report}: " + " ".join(f"s{seed} {d:+.2f}" for seed, d in mine))
        diffs += [d for _, d in mine]
    n = len(diffs)
    mean, sd, half = paired_interval(diffs)
    print(f"{row} - {base}, {n} pairs: {mean:+.2f} [{mean - half:+.2f}, {mean + half:+.2f}] points (sd {sd:.2f})")


if __name__ == "__main__":
    main()
