"""kdstream runs as a PyTorch data source: see docs/pytorch.md, "Training the student with your own loop"."""
import os

import torch
import torch.distributed as dist

from . import checkpoint
from .dataset import Batch, BatchesGone, IdleTimeout, RunDataset, read_manifest
from .trace import StepTrace
from .vkd import Distiller, JointVkdLoss, LossBreakdown, VkdHead, VkdLoss
from .wire import InvalidBatch, ManifestMismatch, ReferenceModeRefused

__all__ = ["Batch", "BatchesGone", "IdleTimeout", "RunDataset", "read_manifest", "StepTrace", "Distiller", "JointVkdLoss", "LossBreakdown",
           "VkdHead", "VkdLoss", "InvalidBatch", "ManifestMismatch", "ReferenceModeRefused", "checkpoint",
           "init_distributed"]


def init_distributed(backend=None):
    """Joins the job torchrun (or ``python3 -m kdstream_torch.launch``) started, from its environment
    (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT); returns (rank, world_size, device):
    this rank's GPU (``cuda:LOCAL_RANK``, made current) when CUDA is there, else the CPU. The backend
    defaults to nccl on GPUs and gloo on the CPU. A plain ``python3 train.py`` is one rank and needs
    no process group."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    local = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cuda", local) if torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend or ("nccl" if device.type == "cuda" else "gloo"))
    return int(os.environ.get("RANK", 0)), world, device
