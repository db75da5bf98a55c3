"""Atomic training checkpoints (DESIGN.md §6): temp file, fsync, rename, fsync of the directory.
A kill -9 at any moment leaves the previous checkpoint whole."""
import glob
import os
import re

import torch


def save(directory, step, state, keep=2):
    """Writes ``state`` as ``<directory>/step-<step>.pt`` atomically; keeps the newest ``keep``."""
    os.makedirs(directory, exist_ok=True)
    final = os.path.join(directory, "step-%09d.pt" % step)
    tmp = final + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, final)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    for old in _steps(directory)[:-keep]:
        os.remove(old[1])
    return final


def latest(directory):
    """The newest checkpoint's state, or None when there is none."""
    found = _steps(directory)
    return torch.load(found[-1][1], map_location="cpu") if found else None  # load_state_dict moves it


def _steps(directory):
    out = []
    for p in glob.glob(os.path.join(directory, "step-*.pt")):
        m = re.fullmatch(r"step-(\d+)\.pt", os.path.basename(p))
        if m:
            out.append((int(m.group(1)), p))
    return sorted(out)
