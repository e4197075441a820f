"""Distributed data-parallel (DDP) training demo with ``torch.distributed`` (Chapter 9).

Every process holds a full copy of a small MLP and trains it on its own shard of each global
batch; DDP averages the gradients with an all-reduce, so after N SGD steps the parameters equal
those of one process trained on the whole global batch. Run on CPUs (gloo, 2 processes)::

    python -m aibook.distributed --world-size 2 --steps 5

or with one process per GPU (NCCL), e.g. on 4 GPUs::

    torchrun --nproc_per_node=4 -m aibook.distributed --backend nccl --steps 5

Rank 0 then trains the same model in a single process and prints whether the parameters agree.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

IN_FEATURES, HIDDEN, CLASSES = 8, 16, 3


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (for the rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_model(seed: int = 0) -> nn.Module:
    """The same small float64 MLP in every process (same seed, same initial weights)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(IN_FEATURES, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, CLASSES)).double()


def global_batch(step: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The synthetic global batch of a step: Gaussian inputs, labels from a fixed linear rule."""
    g = torch.Generator().manual_seed(seed * 100_003 + step)
    x = torch.randn(size, IN_FEATURES, generator=g, dtype=torch.float64)
    w = torch.linspace(-1, 1, IN_FEATURES * CLASSES, dtype=torch.float64).reshape(IN_FEATURES, CLASSES)
    return x, (x @ w).argmax(dim=1)


def train(model: nn.Module, steps: int, batch_size: int, lr: float, rank: int = 0, world_size: int = 1,
          device: torch.device | str = "cpu") -> nn.Module:
    """SGD for ``steps`` steps; process ``rank`` of ``world_size`` uses its slice of each global batch."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    shard = batch_size // world_size
    for step in range(steps):
        x, y = global_batch(step, batch_size)
        x, y = x[rank * shard:(rank + 1) * shard].to(device), y[rank * shard:(rank + 1) * shard].to(device)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()  # DDP all-reduces (averages) here
        opt.step()
    return model


def flat_parameters(model: nn.Module) -> torch.Tensor:
    """All parameters as one float64 CPU vector (unwraps DDP)."""
    module = getattr(model, "module", model)
    return torch.cat([p.detach().cpu().reshape(-1) for p in module.parameters()])


def worker(rank: int, world_size: int, backend: str, init_method: str, steps: int, batch_size: int,
           lr: float) -> None:
    """One DDP process: join the group, train its replica, let rank 0 compare with one process."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world_size,
                            timeout=timedelta(seconds=60))
    try:
        if backend == "nccl":
            local = int(os.environ.get("LOCAL_RANK", rank))
            torch.cuda.set_device(local)
            device = torch.device("cuda", local)
            ddp = DDP(make_model().to(device), device_ids=[local])
        else:
            device = torch.device("cpu")
            ddp = DDP(make_model())
        train(ddp, steps, batch_size, lr, rank, world_size, device)
        params = flat_parameters(ddp)
        gathered = [torch.empty_like(params).to(device) for _ in range(world_size)]
        dist.all_gather(gathered, params.to(device))
        if rank == 0:
            same_replicas = all(torch.equal(g.cpu(), params) for g in gathered)
            single = flat_parameters(train(make_model(), steps, batch_size, lr))
            diff = (params - single).abs().max().item()
            print(f"backend={backend} world_size={world_size} steps={steps} global_batch={batch_size}")
            print(f"each of the {world_size} processes holds the whole model: {params.numel()} parameters")
            print(f"replicas identical after training: {same_replicas}")
            print(f"max |DDP - single process| < 1e-12: {diff < 1e-12}")
            print(f"parameters changed by training: {not torch.equal(single, flat_parameters(make_model()))}")
            if not (same_replicas and diff < 1e-12):
                raise SystemExit(f"DDP and single-process parameters differ by {diff:.3g}")
    finally:
        dist.destroy_process_group()


def main(argv: list[str] | None = None) -> None:
    """Command line: spawn ``--world-size`` local processes, or join a torchrun launch."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world-size", type=int, default=2, help="processes to spawn (ignored under torchrun)")
    ap.add_argument("--backend", choices=["gloo", "nccl"], default="gloo")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32, help="global batch, split across processes")
    ap.add_argument("--lr", type=float, default=0.5)
    a = ap.parse_args(argv)
    if a.backend == "nccl" and not torch.cuda.is_available():
        sys.exit("backend nccl needs CUDA GPUs: use --backend gloo on CPUs")
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:  # launched by torchrun
        world = int(os.environ["WORLD_SIZE"])
        if a.batch_size % world:
            sys.exit(f"--batch-size {a.batch_size} is not divisible by {world} processes")
        worker(int(os.environ["RANK"]), world, a.backend, "env://", a.steps, a.batch_size, a.lr)
        return
    if a.world_size < 1 or a.batch_size % a.world_size:
        sys.exit(f"--batch-size {a.batch_size} must be divisible by --world-size {a.world_size} (>= 1)")
    if sys.platform.startswith("linux"):
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # stay on loopback: works offline
    init = f"tcp://127.0.0.1:{free_port()}"
    torch.multiprocessing.spawn(worker, nprocs=a.world_size,
                                args=(a.world_size, a.backend, init, a.steps, a.batch_size, a.lr))


if __name__ == "__main__":
    main()
