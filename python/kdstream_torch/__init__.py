"""kdstream runs as a PyTorch data source: see docs/pytorch.md, "Training the student with your own loop"."""
import os

import torch.distributed as dist

from . import checkpoint
from .dataset import Batch, BatchesGone, IdleTimeout, RunDataset, read_manifest
from .trace import StepTrace
from .vkd import Distiller, LossBreakdown, VkdHead, VkdLoss
from .wire import InvalidBatch, ManifestMismatch, ReferenceModeRefused

__all__ = ["Batch", "BatchesGone", "IdleTimeout", "RunDataset", "read_manifest", "StepTrace", "Distiller", "LossBreakdown",
           "VkdHead", "VkdLoss", "InvalidBatch", "ManifestMismatch", "ReferenceModeRefused", "checkpoint",
           "init_distributed"]


def init_distributed(backend="gloo"):
    """Joins the job torchrun (or ``python3 -m kdstream_torch.launch``) started, from its environment
    (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT); returns (rank, world_size, local_rank). A plain
    ``python3 train.py`` is one rank and needs no process group."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend)
    return int(os.environ.get("RANK", 0)), world, int(os.environ.get("LOCAL_RANK", 0))
