#!/usr/bin/env python3
"""kdstream's zoo students in PyTorch, for the weights `kdstream export` writes.

    import zoo
    model = zoo.from_file("student.safetensors")        # architecture and sizes from the file
    # or: model = zoo.build("cnn", in_channels=1, num_classes=10, image_size=(28, 28))
    #     model.load_state_dict(zoo.load_file("student.safetensors"))
    features, logits = model(x)  # x: float [B, C, H, W], normalized as in training ((pixel/255 - mean) / std)

Each module mirrors the DJL network of common/src/main/java/io/kdstream/model/{Architecture,FeatureNet,
VisionTransformer}.java op for op (BatchNorm and LayerNorm eps 1e-5, exact GELU), with the same
module tree, so the state-dict names are the DJL block names (TorchStateDict.java says how). Call
model.eval() before inference: BatchNorm then uses the running statistics, as kdstream evaluates.

`zoo.py script ARCH OUT.pt [SEED]` saves cnn or mlp as a TorchScript student for `kdstream student
--student`, initialized as DJL initializes a zoo student (in distribution); `zoo.py script
FILE.safetensors OUT.pt` does the same for an exported student, weights and BatchNorm statistics
kept (the study's VkD-ts row scripts the zoo student's initial weights this way).

Run as a script, `zoo.py FILE.safetensors INPUT.safetensors` prints the model's features and logits for
the tensor `x` of INPUT as JSON, and its accuracy when INPUT also holds `labels` (the tests use it).
Needs only torch (Debian's python3-torch); Hugging Face's safetensors package is used when present.
"""
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F
from torch import nn

ARCHITECTURES = ("cnn", "mlp", "vit", "vit-pool")

_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
           "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
           "BOOL": torch.bool}


def read_safetensors(path):
    """(tensors, metadata) of a safetensors file: 8-byte little-endian header length, JSON header, raw data."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    data = memoryview(raw)[8 + n:]
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dtype = _DTYPES[e["dtype"]]
        chunk = bytearray(data[begin:end])  # a writable copy: frombuffer shares memory
        t = torch.frombuffer(chunk, dtype=dtype) if chunk else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(e["shape"])
    return tensors, metadata


def load_file(path):
    """The state dict in a safetensors file, as safetensors.torch.load_file returns it."""
    try:
        from safetensors.torch import load_file as hf_load_file
    except ImportError:
        return read_safetensors(path)[0]
    return hf_load_file(path)


class GlobalAvgPool(nn.Module):
    """DJL's globalAvgPool2d: [B, C, H, W] -> [B, C]."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


def conv_bn_relu(in_channels, filters, kernel):
    """Architecture.convBnRelu: conv (no bias, 'same' padding for odd kernels), BatchNorm, ReLU."""
    return nn.Sequential(nn.Conv2d(in_channels, filters, kernel, stride=1, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(filters, eps=1e-5, momentum=0.1), nn.ReLU())


def cnn_trunk(in_channels):
    return nn.Sequential(conv_bn_relu(in_channels, 16, 3), nn.MaxPool2d(2, 2),
                         conv_bn_relu(16, 32, 3), nn.MaxPool2d(2, 2),
                         conv_bn_relu(32, 64, 3), conv_bn_relu(64, 128, 1), GlobalAvgPool())


def mlp_trunk(in_features):
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, 256), nn.ReLU(), nn.Linear(256, 64), nn.ReLU())


class EncoderBlock(nn.Module):
    """VisionTransformer.EncoderBlock: x + proj(attn(norm1(x))), then x + fc2(gelu(fc1(norm2(x))))."""

    def __init__(self, dim, heads, mlp_dim):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.fc1 = nn.Linear(dim, mlp_dim)
        self.fc2 = nn.Linear(mlp_dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        dh = d // self.heads
        qkv = self.qkv(self.norm1(x)).reshape(b, t, 3, self.heads, dh).permute(2, 0, 3, 1, 4)  # [3, B, H, T, dh]
        q, k, v = qkv[0] * (1.0 / math.sqrt(dh)), qkv[1], qkv[2]
        attention = (q @ k.transpose(-2, -1)).softmax(-1)
        mixed = (attention @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(mixed)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class VisionTransformer(nn.Module):
    """The DeiT-style trunk: patch embedding, class token, learned positions, pre-norm blocks, final LayerNorm.

    pooling "class_token" returns (norm(cls),): distilled and classified; "patch_mean" returns
    (mean of the normalized patch tokens, normalized class token): the first is distilled, the second classified.
    """

    def __init__(self, in_channels, image_size, patch, dim=128, depth=4, heads=4, mlp_dim=256,
                 pooling="class_token"):
        super().__init__()
        self.dim = dim
        self.pooling = pooling
        self.patch = nn.Conv2d(in_channels, dim, patch, stride=patch, bias=True)
        for i in range(depth):
            self.add_module(f"block{i}", EncoderBlock(dim, heads, mlp_dim))
        self.depth = depth
        self.norm = nn.LayerNorm(dim, eps=1e-5)
        tokens = (image_size[0] // patch) * (image_size[1] // patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, tokens + 1, dim))

    def forward(self, x):
        x = self.patch(x)  # [B, D, g, g]
        b = x.shape[0]
        x = x.reshape(b, self.dim, -1).transpose(1, 2)  # [B, T, D]
        x = torch.cat([self.cls.expand(b, 1, self.dim), x], dim=1) + self.pos
        for i in range(self.depth):
            x = getattr(self, f"block{i}")(x)
        if self.pooling == "class_token":
            return (self.norm(x[:, 0, :]),)
        x = self.norm(x)
        return x[:, 1:, :].mean(dim=1), x[:, 0, :]


class FeatureNet(nn.Module):
    """FeatureNet: trunk -> (features, ...); logits = head(the trunk's last output). forward returns (features, logits)."""

    def __init__(self, trunk, classifier_in, num_classes):
        super().__init__()
        self.trunk = trunk
        self.head = nn.Linear(classifier_in, num_classes)

    def forward(self, x):
        out = self.trunk(x)
        if isinstance(out, torch.Tensor):
            out = (out,)
        return out[0], self.head(out[-1])


def build(arch, in_channels=1, num_classes=10, image_size=(28, 28)):
    """A zoo student for [B, in_channels, H, W] images (in_channels 1 or 3, as in Java)."""
    if in_channels not in (1, 3):
        raise ValueError(f"zoo models take 1 or 3 input channels, got {in_channels}")
    if arch == "cnn":
        return FeatureNet(cnn_trunk(in_channels), 128, num_classes)
    if arch == "mlp":
        return FeatureNet(mlp_trunk(in_channels * image_size[0] * image_size[1]), 64, num_classes)
    if arch in ("vit", "vit-pool"):
        patch = 7 if in_channels == 1 else 8
        pooling = "class_token" if arch == "vit" else "patch_mean"
        return FeatureNet(VisionTransformer(in_channels, image_size, patch, pooling=pooling), 128, num_classes)
    raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")


def from_file(path):
    """The model a `kdstream export` file holds, weights loaded, in eval mode."""
    state, meta = read_safetensors(path)
    arch = meta.get("architecture")
    num_classes = state["head.weight"].shape[0]
    if arch == "cnn":
        model = build(arch, state["trunk.0.0.weight"].shape[1], num_classes)
    elif arch == "mlp":
        # the MLP flattens its input: only C*H*W matters, whatever the image's shape
        model = build(arch, 1, num_classes, (1, state["trunk.1.weight"].shape[1]))
    elif arch in ("vit", "vit-pool"):
        w = state["trunk.patch.weight"]  # [dim, C, p, p]
        grid = math.isqrt(state["trunk.pos"].shape[1] - 1)
        model = build(arch, w.shape[1], num_classes, (grid * w.shape[2], grid * w.shape[3]))
    else:
        raise ValueError(f"{path} has no known architecture in its metadata (got {arch!r})")
    model.load_state_dict(state)
    return model.eval()


def init_like_djl(model):
    """DJL's default initialization of a new block, so a twin starts as a zoo student does: conv and
    linear weights normal with std sqrt(2 / fan_in) (Xavier, Gaussian, fan-in, magnitude 2), biases
    zero, BatchNorm and LayerNorm scale one and shift zero."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_in))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def script(arch, out, seed=0, in_channels=1, num_classes=10, image_size=(28, 28)):
    """A zoo architecture as a TorchScript student (`kdstream student --student OUT`), initialized
    as DJL initializes the zoo student with --seed SEED would be in distribution (not bit for bit).
    cnn and mlp script; the ViTs do not (their blocks are looked up by name)."""
    torch.manual_seed(seed)
    model = init_like_djl(build(arch, in_channels, num_classes, image_size))
    torch.jit.script(model).save(out)


def script_file(path, out):
    """A `kdstream export` file (cnn or mlp) as a TorchScript student with exactly those weights and
    BatchNorm statistics: a zoo student goes on training as `kdstream student --student OUT`."""
    torch.jit.script(from_file(path)).save(out)


def main(argv):
    if len(argv) >= 4 and argv[1] == "script":
        # zoo.py script ARCH OUT.pt [SEED] | zoo.py script WEIGHTS.safetensors OUT.pt
        if argv[2].endswith(".safetensors"):
            script_file(argv[2], argv[3])
        else:
            script(argv[2], argv[3], int(argv[4]) if len(argv) > 4 else 0)
        return 0
    if len(argv) != 3:
        print("usage: zoo.py WEIGHTS.safetensors INPUT.safetensors  (prints features and logits as JSON)\n"
              "       zoo.py script ARCH OUT.pt [SEED]              (cnn or mlp as a TorchScript student)\n"
              "       zoo.py script WEIGHTS.safetensors OUT.pt     (an exported cnn or mlp, weights kept)",
              file=sys.stderr)
        return 2
    model = from_file(argv[1])
    inputs = read_safetensors(argv[2])[0]
    with torch.no_grad():
        features, logits = model(inputs["x"].float())
    out = {"features": features.tolist(), "logits": logits.tolist()}
    if "labels" in inputs:
        out["accuracy"] = (logits.argmax(dim=1) == inputs["labels"].long()).double().mean().item()
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
