#!/usr/bin/env python3
"""Train a PyTorch student from a kdstream run with DistributedDataParallel (docs/pytorch.md,
"Training the student with your own loop").

    torchrun --nproc_per_node 2 examples/ddp/train.py --run fmnist1 --bootstrap-servers 127.0.0.1:9092
    # where torchrun is broken (Debian's torch 1.13): the same with
    PYTHONPATH=python /usr/bin/python3 -m kdstream_torch.launch --nproc-per-node 2 examples/ddp/train.py ...

Every global step is one teacher batch split over the ranks; a checkpoint (model, optimizer and
the data source's offsets) every --checkpoint-every steps; started again with the same
--checkpoint-dir it resumes after exactly the batches of its last checkpoint. At the end rank 0
exports the student as TorchScript (--export). Everything between the two "your loop" markers is
what a user writes (42 lines); the Student class stands for the model they already have.
"""
import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import kdstream_torch as kd  # noqa: E402  (pip install ./python makes the line above unnecessary)


class Student(nn.Module):
    """Any module whose forward returns (features [B, d_s], logits [B, classes])."""

    def __init__(self, channels, classes, d_s=64):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Linear(32, d_s))
        self.head = nn.Linear(d_s, classes)

    def forward(self, x):
        f = self.body(x)
        return f, self.head(torch.relu(f))


def parse():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--bootstrap-servers", required=True)
    ap.add_argument("--group", default="ddp-student")
    ap.add_argument("--checkpoint-dir", default="kdstream-work/ckpt/ddp-student")
    ap.add_argument("--checkpoint-every", type=int, default=20)
    ap.add_argument("--trace", help="append each step and checkpoint here (the --trace format of kdstream student)")
    ap.add_argument("--export", default=None, help="TorchScript of the trained student (default: in the checkpoint dir)")
    ap.add_argument("--optimizer", default="adamw", choices=["adamw", "sgd"], help="sgd: with momentum 0.9")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--metrics-port", type=int, help="serve the student's Prometheus metrics here (rank 0)")
    ap.add_argument("--projection", default="matrix_exp", choices=["matrix_exp", "cayley", "linear"])
    return ap.parse_args()


def main(a):
    # ---- your loop ---------------------------------------------------------------------------
    rank, world, device = kd.init_distributed()  # this rank's GPU, or the CPU
    torch.manual_seed(a.seed)
    data = kd.RunDataset(a.run, a.bootstrap_servers, a.group, metrics_port=a.metrics_port)
    m = data.manifest
    student = Student(m["input_shape"][0], m["num_classes"])
    model = kd.Distiller(student, kd.VkdHead(64, m["feature_dim"], a.projection)).to(device)
    opt = (torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9) if a.optimizer == "sgd"
           else torch.optim.AdamW(model.parameters(), lr=a.lr))
    step, ckpt = 0, kd.checkpoint.latest(a.checkpoint_dir)
    if ckpt:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        data.load_state_dict(ckpt["data"])
        step = ckpt["step"]
    gpu = [device.index] if device.type == "cuda" else None
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=gpu) if world > 1 else model
    loss_fn = kd.VkdLoss("l2", alpha=1.0, gamma=1.0 if m["logit_classes"] else 0.0, world_size=world)
    trace = kd.StepTrace(a.trace) if a.trace and rank == 0 else None
    if trace:
        trace.start(step)
    for b in data:
        b = b.to(device)
        projected, logits = ddp(b.inputs)
        loss = loss_fn(projected, b.features, logits, b.labels, b.logits, global_batch=b.size)
        opt.zero_grad()
        loss.total.backward()
        opt.step()
        step += 1
        if trace:
            trace.step(step, b.epoch, b.batch_index)
        if step % a.checkpoint_every == 0 or data.done():
            if rank == 0:
                state = {"model": model.state_dict(), "opt": opt.state_dict(), "data": data.state_dict(), "step": step}
                kd.checkpoint.save(a.checkpoint_dir, step, state)
                if trace:
                    trace.checkpoint(step)
            data.commit()  # rank 0 commits: the teachers' flow control and lag alerts see this student
    if rank == 0:
        torch.jit.script(student.cpu()).save(a.export or os.path.join(a.checkpoint_dir, "student.pt"))
        print('{"trained": %d, "total": %d, "step": %d}' % (data.trained, data.total, step), flush=True)
    # ---- end of your loop ----------------------------------------------------------------------


if __name__ == "__main__":
    main(parse())
