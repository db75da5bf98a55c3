"""The PyTorch side of DataPathCpuCost: one process, one thread, CPU time per image of Pillow's
Image.open(f).convert("RGB") + RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize
(what one DataLoader worker does per sample) over TRAIN_DIR/*/*.jpg, ROUNDS rounds.

    /usr/bin/python3 per_image_cpu.py TRAIN_DIR ROUNDS
"""
import sys, time, glob
from PIL import Image
from torchvision import transforms
import torch
torch.set_num_threads(1)
files = sorted(glob.glob(sys.argv[1] + "/*/*.jpg"))
rounds = int(sys.argv[2])
tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                         transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
out = []
for r in range(rounds):
    t = time.process_time()
    for f in files:
        with open(f, "rb") as fh:
            img = Image.open(fh).convert("RGB")
        tf(img)
    out.append((time.process_time() - t) * 1000 / len(files))
out.sort()
print(f"PyTorch (Pillow + torchvision) {out[len(out)//2]:.2f} ms CPU per image (median of {rounds} rounds; range {out[0]:.2f}-{out[-1]:.2f})")
