#!/usr/bin/python3
"""Runs an exported student.pt in PyTorch on the fixed input the Java tests build and prints JSON.

    /usr/bin/python3 eval_student.py student.pt BATCH

Input: x[b,0,h,w] = ((b*7 + h*3 + w*5) % 17) / 16 - 0.5. Output: {"logits": [...] (eval mode,
row-major [BATCH, classes]), "outputs": n, "requires_grad": {name: bool}, "buffers": {name: [...]}}.
"""
import json
import sys

import torch


def main(path, batch):
    m = torch.jit.load(path)
    m.eval()
    x = torch.zeros(batch, 1, 28, 28)
    for b in range(batch):
        for h in range(28):
            for w in range(28):
                x[b, 0, h, w] = ((b * 7 + h * 3 + w * 5) % 17) / 16.0 - 0.5
    with torch.no_grad():
        out = m(x)
    logits = out[1]
    print(json.dumps({
        "logits": logits.flatten().tolist(),
        "outputs": len(out),
        "requires_grad": {n: p.requires_grad for n, p in m.named_parameters()},
        "buffers": {n: b.flatten().tolist() for n, b in m.named_buffers()},
    }))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
