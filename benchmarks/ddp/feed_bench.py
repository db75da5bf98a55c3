#!/usr/bin/env python3
"""Does the Kafka data source limit a DDP student? The same loop (student, VkD head, AdamW, DDP
over the same ranks) fed by kdstream_torch.RunDataset from Kafka and by the same batches held in
memory, alternated (memory, kafka, memory, kafka, ...) in one run; prints each pass's steps/s and
the ratio of the medians (target: >= 0.95).

    PYTHONPATH=python /usr/bin/python3 -m kdstream_torch.launch --nproc-per-node 2 \\
        benchmarks/ddp/feed_bench.py --run RUN --bootstrap-servers HOST:PORT [--repeats 3]
"""
import argparse
import json
import os
import statistics
import sys
import time
import uuid

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "examples", "ddp"))
import kdstream_torch as kd  # noqa: E402
from train import Student  # noqa: E402

WARMUP = 3


def loop(ddp, opt, loss_fn, batches, waits):
    """steps/s over the batches after the first WARMUP (the Kafka pass's consumer start is not timed);
    appends the share of that time spent waiting for the next batch to ``waits``."""
    n, t0, waited = 0, None, 0.0
    it = iter(batches)
    while True:
        t = time.perf_counter()
        b = next(it, None)
        if b is None:
            break
        if t0 is not None:
            waited += time.perf_counter() - t
        projected, logits = ddp(b.inputs)
        loss = loss_fn(projected, b.features, logits, b.labels, b.logits, global_batch=b.size)
        opt.zero_grad()
        loss.total.backward()
        opt.step()
        n += 1
        if n == WARMUP:
            t0 = time.perf_counter()
    elapsed = time.perf_counter() - t0
    waits.append(waited / elapsed)
    return (n - WARMUP) / elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--bootstrap-servers", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    rank, world, _ = kd.init_distributed()
    torch.manual_seed(1)
    group = "feed-bench-" + uuid.uuid4().hex[:8]
    if world > 1:  # one group name for all ranks
        names = [group]
        torch.distributed.broadcast_object_list(names, 0)
        group = names[0]
    first = kd.RunDataset(a.run, a.bootstrap_servers, group + "-mem")
    m = first.manifest
    memory = list(first)  # this rank's slices of every batch, decoded: the in-memory feed
    model = kd.Distiller(Student(m["input_shape"][0], m["num_classes"]), kd.VkdHead(64, m["feature_dim"]))
    ddp = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = kd.VkdLoss("l2", gamma=1.0 if m["logit_classes"] else 0.0, world_size=world)
    rates, waits = {"memory": [], "kafka": []}, {"memory": [], "kafka": []}
    for r in range(a.repeats):
        rates["memory"].append(loop(ddp, opt, loss_fn, memory, waits["memory"]))
        rates["kafka"].append(loop(ddp, opt, loss_fn, kd.RunDataset(a.run, a.bootstrap_servers, "%s-%d" % (group, r)),
                                   waits["kafka"]))
    if rank == 0:
        mem, kaf = statistics.median(rates["memory"]), statistics.median(rates["kafka"])
        print(json.dumps({"ranks": world, "steps_per_pass": len(memory), "batch": m["batch_size"],
                          "memory_steps_per_s": [round(x, 2) for x in rates["memory"]],
                          "kafka_steps_per_s": [round(x, 2) for x in rates["kafka"]],
                          "kafka_wait_share": [round(x, 3) for x in waits["kafka"]],
                          "kafka_over_memory": round(kaf / mem, 3)}), flush=True)


if __name__ == "__main__":
    main()
