"""Checks kdstream's image views against Pillow + torchvision 0.14 on the same files.

Reads DIR/cases.txt, one line per case: "name.jpg top left height width out_h out_w flip", with
DIR/name.jpg (the JPEG), DIR/name.src.png (kdstream's decoded pixels) and DIR/name.view.png
(kdstream's view). Prints one line per check with the largest absolute difference and the share of
values that differ by more than one level, then "max_decode=... max_view=... over1=...".
"""
import sys
from pathlib import Path

try:
    import numpy as np
    from PIL import Image
    import torchvision.transforms.functional as F
    from torchvision.transforms import InterpolationMode
except ImportError as e:
    print(f"SKIP: {e} (apt-get install python3-torchvision)")
    sys.exit(0)

d = Path(sys.argv[1])
max_decode = max_view = 0
over1 = over0 = 0
total = 0
for line in (d / "cases.txt").read_text().splitlines():
    name, top, left, h, w, oh, ow, flip = line.split()
    top, left, h, w, oh, ow, flip = map(int, (top, left, h, w, oh, ow, flip))
    pil = Image.open(d / name).convert("RGB")  # Pillow's libjpeg-turbo, ISLOW
    ours_src = np.asarray(Image.open(d / (name + ".src.png")).convert("RGB"), dtype=np.int16)
    max_decode = max(max_decode, int(np.abs(np.asarray(pil, dtype=np.int16) - ours_src).max()))
    # the view from kdstream's own decoded pixels, so only the crop + resize + flip are compared
    view = F.resized_crop(Image.open(d / (name + ".src.png")).convert("RGB"), top, left, h, w, [oh, ow],
                          InterpolationMode.BILINEAR)
    if flip:
        view = F.hflip(view)
    diff = np.abs(np.asarray(view, dtype=np.int16)
                  - np.asarray(Image.open(d / (name + ".view.png")).convert("RGB"), dtype=np.int16))
    max_view = max(max_view, int(diff.max()))
    over1 += int((diff > 1).sum())
    over0 += int((diff > 0).sum())
    total += diff.size
# evaluation views: DIR/evals.txt lines "name.jpg size", DIR/name.jpg.eval.png = kdstream's
# Resize(round(size*256/224)) + CenterCrop(size) of its own decoded pixels
max_eval = 0
evals = d / "evals.txt"
for line in (evals.read_text().splitlines() if evals.exists() else []):
    name, size = line.split()
    size = int(size)
    src = Image.open(d / (name + ".src.png")).convert("RGB")
    ref = F.center_crop(F.resize(src, round(size * 256 / 224), InterpolationMode.BILINEAR), [size, size])
    got = Image.open(d / (name + ".eval.png")).convert("RGB")
    max_eval = max(max_eval, int(np.abs(np.asarray(ref, dtype=np.int16) - np.asarray(got, dtype=np.int16)).max()))
print(f"max_eval={max_eval} max_decode={max_decode} max_view={max_view} over1={over1 / total:.6f} over0={over0 / total:.6f}")
