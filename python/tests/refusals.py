#!/usr/bin/env python3
"""The refusals of kdstream_torch.RunDataset against runs DdpStudentIT prepared; prints one JSON line.

    refusals.py BOOTSTRAP RUN REFERENCE_RUN GONE_RUN GROUP
RUN: an inline run whose records include two the student must reject; REFERENCE_RUN: a
reference-mode manifest; GONE_RUN: a run whose first records were deleted.
"""
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import kdstream_torch as kd  # noqa: E402


def refusal(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the message is what is checked
        return {"type": type(e).__name__, "message": str(e)}
    return None


def main(bootstrap, run, reference, gone, group):
    out = {
        "mismatch": refusal(lambda: kd.RunDataset(run, bootstrap, group, expect={"feature_dim": 999, "epochs": 1})),
        "reference": refusal(lambda: kd.RunDataset(reference, bootstrap, group)),
        "gone": refusal(lambda: list(kd.RunDataset(gone, bootstrap, group, idle_timeout=30))),
    }
    ds = kd.RunDataset(run, bootstrap, group, idle_timeout=60, metrics_port=0)
    out["yielded"] = [b.key for b in ds]
    out["state"] = ds.state_dict()
    port = ds.metrics_server.server_address[1]
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        out["metrics"] = r.read().decode()
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
