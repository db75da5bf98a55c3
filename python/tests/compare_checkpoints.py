#!/usr/bin/env python3
"""Prints {"max_abs_diff": d, "tensors": n, "steps": [a, b]} between the newest checkpoints of two
examples/ddp/train.py checkpoint directories (model parameters only)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from kdstream_torch import checkpoint  # noqa: E402

a, b = checkpoint.latest(sys.argv[1]), checkpoint.latest(sys.argv[2])
if set(a["model"]) != set(b["model"]):
    raise SystemExit("the checkpoints hold different tensors: %s vs %s" % (sorted(a["model"]), sorted(b["model"])))
diff = max((a["model"][k].double() - b["model"][k].double()).abs().max().item() for k in a["model"])
print(json.dumps({"max_abs_diff": diff, "tensors": len(a["model"]), "steps": [a["step"], b["step"]]}))
