#!/usr/bin/python3
"""Bring your own teacher and student: PyTorch in, kdstream in the middle, PyTorch out.

    /usr/bin/python3 examples/byo/byo.py [--quick] [--work-dir DIR]

Run from the repository after `bin/setup test && mvn -B -q -DskipTests package` (Debian's
python3-torch; no Java is written by you). It

1. defines a teacher and a student in PyTorch, trains the teacher briefly on Fashion-MNIST
   (/usr/share/datasets/fashion-mnist) and saves both with torch.jit.script;
2. starts kdstream's embedded broker (`bin/kdstream broker`), publishes the teacher's features
   with `bin/kdstream teacher --teacher teacher.pt` and trains the student from them with
   `bin/kdstream student --student student.pt`, the two running side by side;
3. loads the trained `<checkpoint-dir>/student.pt` back with torch.jit.load and evaluates it on the
   test split with the run's input normalization.

Prints one JSON line: the accuracy kdstream reported, PyTorch's for the returned student.pt, and
the files. Exits 1 if the two differ by more than 0.1 point. --quick is the small version the test
suite runs (a few minutes on 2 cores); without it the teacher and the student see the whole
training split.
"""
import argparse
import gzip
import json
import pathlib
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[2]
KDSTREAM = ROOT / "bin" / "kdstream"
DATA = pathlib.Path("/usr/share/datasets/fashion-mnist")
# The input normalization both models are trained with: (x/255 - mean) / std. Passed to kdstream
# explicitly, so it is recorded in the run's manifest and every student is checked against it.
MEAN, STD = 0.2860, 0.3530


class Teacher(nn.Module):
    """A small CNN; forward returns (pooled features [B, 128], logits [B, 10])."""

    def __init__(self):
        super().__init__()
        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU())
        self.trunk = nn.Sequential(block(1, 32), block(32, 64), nn.MaxPool2d(2), block(64, 128), nn.MaxPool2d(2),
                                   block(128, 128))
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        f = self.trunk(x).mean(dim=(2, 3))
        return f, self.head(f)


class Student(nn.Module):
    """The model to deploy: a much smaller CNN; forward returns (features [B, 64], logits [B, 10])."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
        self.embed = nn.Linear(32 * 7 * 7, 64)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        f = self.embed(self.trunk(x).flatten(1))
        return f, self.head(self.drop(F.relu(f)))


def idx(name):
    """An IDX file of the dataset as a numpy array."""
    with gzip.open(DATA / name, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def normalized(images):
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - MEAN) / STD


def train_teacher(limit, epochs):
    torch.manual_seed(0)
    x, y = normalized(idx("train-images-idx3-ubyte.gz")[:limit]), torch.from_numpy(
        idx("train-labels-idx1-ubyte.gz")[:limit].astype(np.int64))
    model = Teacher()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    # decay to ~0 by the end: at a constant rate the weights outrun BatchNorm's running statistics
    # and eval() scored 73% where the batch statistics gave 89% (full run, 2 epochs)
    steps = epochs * ((len(x) + 127) // 128)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            b = order[i:i + 128]
            loss = F.cross_entropy(model(x[b])[1], y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
    return model.eval()


def test_accuracy(module, limit=0):
    """Accuracy on the test split (the first `limit` images; 0 = all), as kdstream's --eval-split test."""
    images, labels = idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz")
    if limit > 0:
        images, labels = images[:limit], labels[:limit]
    x, y = normalized(images), torch.from_numpy(labels.astype(np.int64))
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 500):
            correct += (module(x[i:i + 500])[1].argmax(1) == y[i:i + 500]).sum().item()
    return correct / len(x)


def start_broker(work):
    broker = subprocess.Popen([str(KDSTREAM), "broker", "--port", "0", "--clean",
                               "--data-dir", str(work / "kafka")],
                              stdout=subprocess.PIPE, stderr=open(work / "broker.log", "w"), text=True)
    deadline = time.monotonic() + 120
    for line in broker.stdout:  # the broker prints its address once it serves
        if line.startswith("bootstrap.servers="):
            # keep reading what it prints, so a full pipe never blocks it
            threading.Thread(target=broker.stdout.read, daemon=True).start()
            return broker, line.strip().split("=", 1)[1]
        if time.monotonic() > deadline:
            break
    broker.kill()
    sys.exit("byo: the broker did not start; see " + str(work / "broker.log"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small run (the test suite's)")
    ap.add_argument("--work-dir", type=pathlib.Path, default=ROOT / "kdstream-work" / "byo")
    args = ap.parse_args()
    work = args.work_dir.resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    train_limit, teacher_epochs, stream_epochs = (3_000, 3, 2) if args.quick else (60_000, 2, 3)

    # 1. the models, in PyTorch
    teacher = train_teacher(train_limit, teacher_epochs)
    torch.jit.script(teacher).save(str(work / "teacher.pt"))
    torch.manual_seed(1)
    torch.jit.script(Student()).save(str(work / "student.pt"))
    print(f"byo: teacher trained in PyTorch, test accuracy {test_accuracy(teacher):.4f}", file=sys.stderr)

    # 2. the pipeline: broker, teacher and student as kdstream runs them
    broker, bootstrap = start_broker(work)
    run, ckpt = "byo", work / "ckpt"
    common = ["--run", run, "--bootstrap-servers", bootstrap, "--input-mean", str(MEAN), "--input-std", str(STD)]
    try:
        teacher_proc = subprocess.Popen(
            [str(KDSTREAM), "teacher", *common, "--teacher", str(work / "teacher.pt"),
             "--teacher-outputs", "features,logits", "--logits", "--train-limit", str(train_limit),
             "--epochs", str(stream_epochs), "--norm", "layer", "--augment", "flip"],
            stdout=open(work / "teacher.out", "w"), stderr=open(work / "teacher.log", "w"))
        student = subprocess.run(
            [str(KDSTREAM), "student", *common, "--group", "byo-student", "--checkpoint-dir", str(ckpt),
             "--student", str(work / "student.pt"), "--student-outputs", "features,logits",
             "--projection", "matrix_exp", "--alpha", "1", "--gamma", "1", "--eval-split", "test"],
            stdout=subprocess.PIPE, stderr=open(work / "student.log", "w"), text=True)
        if teacher_proc.wait() != 0 or student.returncode != 0:
            sys.exit(f"byo: teacher exit {teacher_proc.returncode}, student exit {student.returncode}; "
                     f"see {work}/teacher.log and {work}/student.log")
    finally:
        broker.terminate()
        broker.wait()
    result = [json.loads(l) for l in student.stdout.splitlines() if l.startswith("{")]
    result = next(r for r in result if r.get("event") == "result")

    # 3. the trained student, back in PyTorch
    returned = torch.jit.load(str(ckpt / "student.pt")).eval()
    pytorch = test_accuracy(returned)
    out = {"kdstream_accuracy": result["accuracy"], "pytorch_accuracy": pytorch,
           "teacher_accuracy": test_accuracy(teacher), "trained": result["trained"], "total": result["total"],
           "student_pt": str(ckpt / "student.pt")}
    print(json.dumps(out))
    if abs(pytorch - result["accuracy"]) > 0.001:
        sys.exit("byo: PyTorch's accuracy for student.pt differs from kdstream's by more than 0.1 point")


if __name__ == "__main__":
    main()
