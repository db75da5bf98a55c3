"""The decode oracle for TurboJpegParityTest: Pillow's Image.open(f).convert("RGB"), what PyTorch's
ImageFolder loader does.

    pillow_decode.py DIR

First writes odd JPEGs into DIR from DIR/source.jpg with Pillow's encoder (greyscale, progressive,
4:4:4, 4:2:2, optimized Huffman tables, an odd size, EXIF orientation 6, which Image.open ignores
as kdstream does). Then, for every DIR/*.jpg, writes DIR/<name>.rgb: the decoded pixels,
height x width x 3 bytes, and prints "<name> <width> <height> <mode as opened>".
"""
import sys
from pathlib import Path

try:
    from PIL import Image
except ImportError as e:
    print(f"SKIP: {e} (apt-get install python3-pil)")
    sys.exit(0)

d = Path(sys.argv[1])
src = Image.open(d / "source.jpg").convert("RGB")
odd = {
    "grey.jpg": dict(image=src.convert("L"), quality=90),
    "progressive-420.jpg": dict(progressive=True, quality=90, subsampling=2),
    "progressive-grey.jpg": dict(image=src.convert("L"), progressive=True, quality=85),
    "baseline-444.jpg": dict(quality=95, subsampling=0),
    "baseline-422.jpg": dict(quality=90, subsampling=1),
    "optimized-420-q75.jpg": dict(quality=75, subsampling=2, optimize=True),
    "odd-size-420.jpg": dict(image=src.crop((3, 5, 3 + 221, 5 + 149)), quality=90, subsampling=2),
}
for name, opts in odd.items():
    opts = dict(opts)
    opts.pop("image", src).save(d / name, **opts)
exif = Image.Exif()
exif[0x0112] = 6  # orientation: rotate 90 CW to display; Image.open does not apply it
src.save(d / "exif-rotated.jpg", quality=90, exif=exif.tobytes())

for f in sorted(d.glob("*.jpg")):
    with Image.open(f) as img:
        mode = img.mode
        rgb = img.convert("RGB")
    (d / (f.name + ".rgb")).write_bytes(rgb.tobytes())
    print(f.name, rgb.width, rgb.height, mode)
