"""PyTorch's side of the peer row: a TorchScript teacher's forward alone over Fashion-MNIST.

    python3 forward_only.py TEACHER.pt IMAGES.gz BATCH [LIMIT [TRACE.json]]

One intra-op and one inter-op thread (the caller pins the process to one core and chooses the
allocator). Images are decoded and normalized before the clock starts; the clock covers
only forward passes under inference mode, after 5 warm-up batches. Prints one JSON line.
With TRACE, one more pass runs under PyTorch's profiler and its Chrome trace goes there, for
profile_table.py against kdstream's (TeacherForwardProfile).
"""
import gzip
import json
import sys
import time

import numpy as np
import torch

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST's training-set statistics, as kdstream uses them


def images(path, limit):
    with gzip.open(path, "rb") as f:
        data = f.read()
    n, h, w = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    n = min(n, limit) if limit > 0 else n
    x = np.frombuffer(data, dtype=np.uint8, count=n * h * w, offset=16).reshape(n, 1, h, w)
    return torch.from_numpy((x.astype(np.float32) / 255.0 - MEAN) / STD)


def main():
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    teacher = torch.jit.load(sys.argv[1]).eval()
    x = images(sys.argv[2], int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    batch = int(sys.argv[3])
    batches = [x[i:i + batch] for i in range(0, len(x), batch)]
    with torch.inference_mode():
        for b in batches[:5]:
            teacher(b)
        t0 = time.perf_counter()
        for b in batches:
            teacher(b)
        seconds = time.perf_counter() - t0
        if len(sys.argv) > 5:
            with torch.autograd.profiler.profile() as prof:
                for b in batches:
                    teacher(b)
            prof.export_chrome_trace(sys.argv[5])
    print(json.dumps({"images": len(x), "seconds": seconds, "images_per_second": len(x) / seconds,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
