"""Two libtorch profiler traces side by side, op by op: self time per batch.

    python3 profile_table.py BATCHES NAME_A TRACE_A.json NAME_B TRACE_B.json

Self time: an event's duration minus that of the events nested in it on the same thread, so that the
rows add up to the traced time. Prints a Markdown table, largest first.
"""
import json
import sys
from collections import defaultdict


def self_times(path):
    with open(path) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    spans = defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            spans[e.get("tid")].append((float(e["ts"]), float(e["dur"]), e["name"]))
    total = defaultdict(float)
    for thread in spans.values():
        thread.sort(key=lambda s: (s[0], -s[1]))
        stack = []  # [end, name, self]
        for ts, dur, name in thread:
            while stack and stack[-1][0] <= ts:
                end, n, own = stack.pop()
                total[n] += own
            if stack:
                stack[-1][2] -= dur
            stack.append([ts + dur, name, dur])
        for end, n, own in stack:
            total[n] += own
    return total


def main():
    batches = int(sys.argv[1])
    (name_a, a), (name_b, b) = (sys.argv[2], self_times(sys.argv[3])), (sys.argv[4], self_times(sys.argv[5]))
    ops = sorted(set(a) | set(b), key=lambda op: -(a.get(op, 0) + b.get(op, 0)))
    print(f"| op (self time, ms per batch) | {name_a} | {name_b} |")
    print("|---|---|---|")
    for op in ops:
        ma, mb = a.get(op, 0) / 1e3 / batches, b.get(op, 0) / 1e3 / batches
        if max(ma, mb) >= 0.05:
            print(f"| `{op}` | {ma:.2f} | {mb:.2f} |")
    print(f"| **all traced** | **{sum(a.values()) / 1e3 / batches:.2f}** | **{sum(b.values()) / 1e3 / batches:.2f}** |")


if __name__ == "__main__":
    main()
