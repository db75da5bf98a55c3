#!/usr/bin/python3
"""Generates the TorchScript student fixtures for the student-trainer tests.

Run with Debian's torch (apt-get install python3-torch):
    /usr/bin/python3 student-trainer/src/test/python/make_student_fixtures.py student-trainer/src/test/resources/student

Writes, for a tiny seeded CNN on 1x28x28 Fashion-MNIST inputs (d_s = 24, 10 classes):
  tiny_student.pt        scripted; forward(x) -> (features [B,24], logits [B,10]); has a BatchNorm
                         (running statistics), a Dropout, and one frozen parameter (`offset`,
                         requires_grad=False) that training must leave alone
  tiny_student_lf.pt     scripted wrapper returning (logits, features), for --student-outputs logits,features
  one_output.pt          scripted; forward(x) -> logits only (kdstream must refuse it)
"""
import os
import sys

import torch
import torch.nn as nn


class TinyStudent(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(4)
        self.fc = nn.Linear(8 * 7 * 7, 24)
        self.drop = nn.Dropout(0.25)
        self.head = nn.Linear(24, 10)
        # frozen: a fixed shift of the input, as a user's pretrained stem might be
        self.offset = nn.Parameter(torch.full((1,), 0.1), requires_grad=False)

    def forward(self, x):
        h = self.pool(torch.relu(self.bn(self.conv(x + self.offset))))
        f = torch.relu(self.fc(h.flatten(1)))
        return f, self.head(self.drop(f))


class LogitsFirst(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        f, y = self.inner(x)
        return y, f


class OneOutput(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)[1]


def main(out_dir):
    torch.manual_seed(20261205)
    model = TinyStudent()
    os.makedirs(out_dir, exist_ok=True)
    torch.jit.script(model).save(os.path.join(out_dir, "tiny_student.pt"))
    # scripted, not traced: a trace bakes in the mode it ran in (BatchNorm and Dropout would ignore
    # train()/eval() afterwards), see docs/pytorch.md
    torch.jit.script(LogitsFirst(model)).save(os.path.join(out_dir, "tiny_student_lf.pt"))
    torch.jit.script(OneOutput(model)).save(os.path.join(out_dir, "one_output.pt"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "student-trainer/src/test/resources/student")
