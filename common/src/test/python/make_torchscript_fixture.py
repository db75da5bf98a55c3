#!/usr/bin/python3
"""Generates the TorchScript teacher fixtures for TorchScriptFeatureModelTest.

Run with Debian's torch (apt-get install python3-torch):
    /usr/bin/python3 common/src/test/python/make_torchscript_fixture.py common/src/test/resources/model

Writes, for a tiny seeded CNN on 1x28x28 inputs:
  tiny_features_logits.pt  traced; forward(x) -> (features [B,16], logits [B,10])
  tiny_features_map.pt     scripted; forward(x) -> features [B,16,7,7] (unpooled; kdstream pools)
  tiny_expected.json       outputs of both on a fixed input that Java rebuilds exactly:
                           x[b,0,h,w] = ((b*7 + h*3 + w*5) % 17) / 16 - 0.5
"""
import json
import os
import sys

import torch
import torch.nn as nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Linear(16, 10)

    def feature_map(self, x):
        return self.body(x)

    def forward(self, x):
        f = self.body(x).mean(dim=(2, 3))
        return f, self.head(f)


class FeatureMapOnly(nn.Module):
    def __init__(self, tiny):
        super().__init__()
        self.tiny = tiny

    def forward(self, x):
        return self.tiny.feature_map(x)


def fixed_input(batch):
    x = torch.zeros(batch, 1, 28, 28)
    for b in range(batch):
        for h in range(28):
            for w in range(28):
                x[b, 0, h, w] = ((b * 7 + h * 3 + w * 5) % 17) / 16.0 - 0.5
    return x


def main(out_dir):
    torch.manual_seed(20261126)
    model = Tiny()
    # Non-trivial BatchNorm statistics, so a model left in training mode would give other numbers.
    with torch.no_grad():
        model.body[1].running_mean.uniform_(-0.2, 0.2)
        model.body[1].running_var.uniform_(0.5, 1.5)
    model.eval()
    x = fixed_input(3)
    os.makedirs(out_dir, exist_ok=True)
    with torch.no_grad():
        traced = torch.jit.trace(model, x)
        traced.save(os.path.join(out_dir, "tiny_features_logits.pt"))
        scripted = torch.jit.script(FeatureMapOnly(model).eval())
        scripted.save(os.path.join(out_dir, "tiny_features_map.pt"))
        f, logits = model(x)
        fmap = model.feature_map(x)
    expected = {
        "torch_version": torch.__version__,
        "input": "x[b,0,h,w] = ((b*7 + h*3 + w*5) % 17) / 16 - 0.5, b < 3",
        "batch": 3,
        "features": f.flatten().tolist(),
        "logits": logits.flatten().tolist(),
        "pooled_feature_map": fmap.mean(dim=(2, 3)).flatten().tolist(),
    }
    with open(os.path.join(out_dir, "tiny_expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "common/src/test/resources/model")
