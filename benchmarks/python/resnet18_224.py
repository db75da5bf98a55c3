"""The 224x224 teacher row of issue 37: a ResNet-18-shaped teacher (torchvision's resnet18, untrained:
only speed matters; d_t = 512) and PyTorch's own data path + forward as the peer.

    /usr/bin/python3 resnet18_224.py trace OUT.pt
        TorchScript whose forward(x [B,3,224,224]) returns (features [B,512], logits [B,100]), the layout
        `kdstream teacher --teacher OUT.pt --teacher-outputs features,logits` reads.
    /usr/bin/python3 resnet18_224.py tiny OUT.pt
        A teacher that costs next to nothing (8x8 average pool, linear to 512 features, linear to 100
        logits), for timing students fed by it (benchmarks/student-224.sh).
    /usr/bin/python3 resnet18_224.py peer TRAIN_DIR MODEL.pt WORKERS [BATCH]
        One epoch of DataLoader(ImageFolder, RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor +
        Normalize, WORKERS worker processes) into the model's forward under inference_mode, one intra-op
        thread. Prints "images_per_second=X loop_seconds=Y" (the loop from its first batch request).
"""
import sys
import time

import torch
from torch import nn


class Teacher(nn.Module):
    def __init__(self):
        super().__init__()
        from torchvision.models import resnet18
        net = resnet18(num_classes=100)
        self.trunk = nn.Sequential(*list(net.children())[:-1], nn.Flatten())
        self.head = net.fc

    def forward(self, x):
        features = self.trunk(x)
        return features, self.head(features)


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.AdaptiveAvgPool2d(8), nn.Flatten(), nn.Linear(3 * 64, 512))
        self.head = nn.Linear(512, 100)

    def forward(self, x):
        features = self.trunk(x)
        return features, self.head(features)


def trace(out, model_class=None):
    torch.manual_seed(0)
    model = (model_class or Teacher)().eval()
    with torch.no_grad():
        torch.jit.trace(model, torch.zeros(1, 3, 224, 224)).save(out)


def peer(root, model_file, workers, batch):
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms
    torch.set_num_threads(1)
    tf = transforms.Compose([
        transforms.RandomResizedCrop(224),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    loader = DataLoader(datasets.ImageFolder(root, transform=tf), batch_size=batch, shuffle=True,
                        num_workers=workers, prefetch_factor=2 if workers > 0 else None)
    model = torch.jit.load(model_file).eval()
    n = 0
    t0 = time.perf_counter()
    with torch.inference_mode():
        for x, _ in loader:
            features, _ = model(x)
            n += features.shape[0]
    dt = time.perf_counter() - t0
    print(f"images_per_second={n / dt:.2f} loop_seconds={dt:.1f}")


if __name__ == "__main__":
    if sys.argv[1] == "trace":
        trace(sys.argv[2])
    elif sys.argv[1] == "tiny":
        trace(sys.argv[2], Tiny)
    else:
        peer(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 128)
