"""PyTorch's data path on an image folder, the peer of kdstream's images section: DataLoader with
Pillow decoding and torchvision's RandomResizedCrop(size) + RandomHorizontalFlip + ToTensor +
Normalize, NUM_WORKERS worker processes, one pass. Prints "images_per_second=X".

    /usr/bin/python3 dataloader_images.py TRAIN_DIR NUM_WORKERS [SIZE] [BATCH]
"""
import sys
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

root, workers = sys.argv[1], int(sys.argv[2])
size = int(sys.argv[3]) if len(sys.argv) > 3 else 224
batch = int(sys.argv[4]) if len(sys.argv) > 4 else 128
torch.set_num_threads(1)
tf = transforms.Compose([
    transforms.RandomResizedCrop(size),
    transforms.RandomHorizontalFlip(),
    transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
])
ds = datasets.ImageFolder(root, transform=tf)
loader = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers,
                    persistent_workers=False, prefetch_factor=2 if workers > 0 else None)
t0 = time.perf_counter()
n = 0
for x, y in loader:
    n += x.shape[0]
dt = time.perf_counter() - t0
print(f"images_per_second={n / dt:.1f}")
