"""PyTorch's side of the teacher profile: forward_only.py's timed pass, then one pass under the profiler.

    python3 forward_profile.py TEACHER.pt IMAGES.gz BATCH LIMIT TRACE.json

Prints forward_only.py's JSON line; the trace (Chrome format) is for profile_table.py.
"""
import json
import sys
import time

import torch

from forward_only import images


def main():
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    teacher = torch.jit.load(sys.argv[1]).eval()
    x = images(sys.argv[2], int(sys.argv[4]))
    batch = int(sys.argv[3])
    batches = [x[i:i + batch] for i in range(0, len(x), batch)]
    with torch.inference_mode():
        for b in batches[:5]:
            teacher(b)
        t0 = time.perf_counter()
        for b in batches:
            teacher(b)
        seconds = time.perf_counter() - t0
        with torch.autograd.profiler.profile() as prof:
            for b in batches:
                teacher(b)
    prof.export_chrome_trace(sys.argv[5])
    print(json.dumps({"images": len(x), "seconds": seconds, "images_per_second": len(x) / seconds,
                      "torch": torch.__version__, "trace": sys.argv[5]}))


if __name__ == "__main__":
    main()
