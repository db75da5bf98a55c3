"""Scripts the zoo's ResNet-style teacher (d_t = 256, Architecture.RESNET) for the PyTorch peer row.

    python3 resnet_teacher.py OUT.pt

Untrained: only speed matters. forward(x [B,1,28,28]) returns (features [B,256], logits [B,10]),
the layout `kdstream teacher --teacher OUT.pt` reads by default (--teacher-outputs features,logits).
"""
import sys

import torch
from torch import nn


def conv_bn_relu(cin, cout, k, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Residual(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.main = nn.Sequential(conv_bn_relu(cin, cout, 3, stride),
                                  nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = (nn.Identity() if cin == cout and stride == 1 else
                         nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x):
        return torch.relu(self.main(x) + self.shortcut(x))


class ResNetTeacher(nn.Module):
    def __init__(self, channels=1, classes=10):
        super().__init__()
        self.trunk = nn.Sequential(conv_bn_relu(channels, 32, 3, 1), Residual(32, 64, 2), Residual(64, 128, 2),
                                   conv_bn_relu(128, 256, 1, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(256, classes)

    def forward(self, x):
        features = self.trunk(x)
        return features, self.head(features)


if __name__ == "__main__":
    torch.manual_seed(0)
    torch.jit.script(ResNetTeacher().eval()).save(sys.argv[1])
