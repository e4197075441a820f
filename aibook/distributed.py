"""Distributed data-parallel (DDP) training demo with ``torch.distributed`` (Chapter 9).

Every process holds a full copy of a small MLP and trains it on its own shard of each global
batch; DDP averages the gradients with an all-reduce, so after N SGD steps the parameters equal
those of one process trained on the whole global batch. Run on CPUs (gloo, 2 processes)::

    python -m aibook.distributed --world-size 2 --steps 5

or with one process per GPU (NCCL), e.g. on 4 GPUs::

    torchrun --nproc_per_node=4 -m aibook.distributed --backend nccl --steps 5

Rank 0 then trains the same model in a single process and prints whether the parameters agree.

``--report PATH`` runs, in one 2-process group, the measurements of Section 9.3's "when to scale
out" and writes them as JSON: float32 DDP against one process, DDP's broadcast of rank 0's
weights, an FSDP (``torch.distributed.fsdp.fully_shard``) run against one process, all-reduce
times by message size and DDP step times against single-process step times by model size.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
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


def make_model(seed: int = 0, dtype: torch.dtype = torch.float64) -> nn.Module:
    """The same small MLP in every process (same seed, same initial weights), float64 by default."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(IN_FEATURES, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, CLASSES)).to(dtype)


def global_batch(step: int, size: int, seed: int = 0,
                 dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """The synthetic global batch of a step: Gaussian inputs, labels from a fixed linear rule."""
    g = torch.Generator().manual_seed(seed * 100_003 + step)
    x = torch.randn(size, IN_FEATURES, generator=g, dtype=torch.float64)
    w = torch.linspace(-1, 1, IN_FEATURES * CLASSES, dtype=torch.float64).reshape(IN_FEATURES, CLASSES)
    return x.to(dtype), (x @ w).argmax(dim=1)


def train(model: nn.Module, steps: int, batch_size: int, lr: float, rank: int = 0, world_size: int = 1,
          device: torch.device | str = "cpu") -> nn.Module:
    """SGD for ``steps`` steps; process ``rank`` of ``world_size`` uses its slice of each global batch."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    shard = batch_size // world_size
    dtype = next(model.parameters()).dtype
    for step in range(steps):
        x, y = global_batch(step, batch_size, dtype=dtype)
        x, y = x[rank * shard:(rank + 1) * shard].to(device), y[rank * shard:(rank + 1) * shard].to(device)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()  # DDP all-reduces (averages) here
        opt.step()
    return model


def flat_parameters(model: nn.Module) -> torch.Tensor:
    """All parameters as one CPU vector (unwraps DDP; gathers FSDP's sharded parameters)."""
    module = getattr(model, "module", model)
    full = [p.full_tensor() if hasattr(p, "full_tensor") else p for p in module.parameters()]
    return torch.cat([p.detach().cpu().reshape(-1) for p in full])


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


def benchmark_model(hidden: int, seed: int = 0) -> nn.Module:
    """A float32 MLP 256 -> hidden -> hidden -> 10 for the timing runs (size grows as hidden**2)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(256, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 10))


def _time_steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    """Seconds per SGD step (mean of ``steps``, after one warm-up step)."""
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step() -> None:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def _equality_checks(rank: int, world_size: int, steps: int, batch_size: int, lr: float) -> dict:
    """float32 DDP vs one process; DDP from different seeds per rank; FSDP vs one process (float64)."""
    from torch.distributed.fsdp import fully_shard
    from torch.nn.parallel import DistributedDataParallel as DDP

    out: dict = {}
    single32 = flat_parameters(train(make_model(dtype=torch.float32), steps, batch_size, lr))
    ddp32 = DDP(make_model(dtype=torch.float32))
    ddp32 = flat_parameters(train(ddp32, steps, batch_size, lr, rank, world_size))
    out["float32_max_diff"] = (ddp32 - single32).abs().max().item()
    out["float32_eps"] = torch.finfo(torch.float32).eps

    start_own = flat_parameters(make_model(seed=rank))  # every rank starts from a different model
    wrapped = DDP(make_model(seed=rank))  # DDP's constructor broadcasts rank 0's parameters
    start_after_wrap = flat_parameters(wrapped)
    gathered = [torch.empty_like(start_own) for _ in range(world_size)]
    dist.all_gather(gathered, start_own)
    out["seeds_differ_before_wrap"] = not torch.equal(gathered[0], gathered[-1])
    out["after_wrap_equals_rank0"] = torch.equal(start_after_wrap, gathered[0])
    trained = flat_parameters(train(wrapped, steps, batch_size, lr, rank, world_size))
    single64 = flat_parameters(train(make_model(seed=0), steps, batch_size, lr))
    out["different_seeds_max_diff"] = (trained - single64).abs().max().item()

    sharded = make_model()
    for layer in sharded:
        if isinstance(layer, nn.Linear):
            fully_shard(layer)  # each Linear is one FSDP unit: gathered just before it is used
    fully_shard(sharded)
    local = [p.to_local().numel() for p in sharded.parameters()]
    counts = [torch.zeros(1, dtype=torch.int64) for _ in range(world_size)]
    dist.all_gather(counts, torch.tensor([sum(local)]))
    out["fsdp_local_parameters"] = [int(c.item()) for c in counts]
    out["fsdp_total_parameters"] = single64.numel()
    fsdp = flat_parameters(train(sharded, steps, batch_size, lr, rank, world_size))
    out["fsdp_max_diff"] = (fsdp - single64).abs().max().item()
    return out


def _allreduce_times(sizes: list[int], repeats: int) -> list[dict]:
    """Median seconds of one all-reduce (sum) of a float32 tensor, for each element count."""
    rows = []
    for n in sizes:
        t = torch.ones(n)
        dist.all_reduce(t)  # warm-up: connection and buffer set-up
        times = []
        for _ in range(repeats):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(t)
            times.append(time.perf_counter() - start)
        rows.append({"elements": n, "bytes": 4 * n, "seconds": sorted(times)[len(times) // 2]})
    return rows


def _overhead(rank: int, world_size: int, configs: list[tuple[int, int]], steps: int,
              repeats: int) -> list[dict]:
    """Per (hidden, global batch): seconds per step, one process on the whole batch vs DDP, interleaved."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    rows = [{"hidden": h, "batch": b, "parameters": sum(p.numel() for p in benchmark_model(h).parameters()),
             "single": [], "ddp": []} for h, b in configs]
    for _ in range(repeats):
        for row in rows:  # interleaved: single, DDP, next configuration, ..., then the next repeat
            g = torch.Generator().manual_seed(0)
            x = torch.randn(row["batch"], 256, generator=g)
            y = torch.randint(0, 10, (row["batch"],), generator=g)
            shard = row["batch"] // world_size
            dist.barrier()
            if rank == 0:
                row["single"].append(_time_steps(benchmark_model(row["hidden"]), x, y, steps))
            dist.barrier()
            ddp = DDP(benchmark_model(row["hidden"]))
            mine = slice(rank * shard, (rank + 1) * shard)
            t = _time_steps(ddp, x[mine], y[mine], steps)
            row["ddp"].append(max(_gather_floats(t, world_size)))  # a step ends when the slowest rank ends
    return rows


def _gather_floats(value: float, world_size: int) -> list[float]:
    out = [torch.zeros(1, dtype=torch.float64) for _ in range(world_size)]
    dist.all_gather(out, torch.tensor([value], dtype=torch.float64))
    return [o.item() for o in out]


#: (hidden width, global batch) of the timed DDP runs: four model sizes at batch 128, one larger batch
TIMING_CONFIGS = ((32, 128), (256, 128), (1024, 128), (2048, 128), (1024, 512))


def report_worker(rank: int, world_size: int, init_method: str, path: str, steps: int, repeats: int) -> None:
    """One process of ``--report``: equality checks, then timings; rank 0 writes the JSON file."""
    torch.set_num_threads(1)  # one core per process: DDP's 2 processes vs one process on one core
    start = time.perf_counter()
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=world_size,
                            timeout=timedelta(seconds=120))
    try:
        result = {"world_size": world_size, "backend": "gloo", "torch": torch.__version__,
                  "init_seconds": time.perf_counter() - start}
        result.update(_equality_checks(rank, world_size, steps=5, batch_size=32, lr=0.5))
        result["allreduce"] = _allreduce_times([2**k for k in range(8, 23, 2)], repeats=5)
        result["overhead"] = _overhead(rank, world_size, list(TIMING_CONFIGS), steps, repeats)
        result["steps"], result["repeats"] = steps, repeats
        if rank == 0:
            with open(path, "w", encoding="utf-8") as f:
                json.dump(result, f, indent=1)
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
    ap.add_argument("--report", metavar="PATH", help="write the scale-out measurements (gloo, JSON) to PATH")
    ap.add_argument("--timing-steps", type=int, default=3, help="--report: timed steps per measurement")
    ap.add_argument("--repeats", type=int, default=3, help="--report: interleaved repeats of each timing")
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
    if a.report:
        if a.backend != "gloo" or a.world_size != 2:
            sys.exit("--report runs on CPUs with gloo and --world-size 2")
        torch.multiprocessing.spawn(report_worker, nprocs=a.world_size,
                                    args=(a.world_size, init, a.report, a.timing_steps, a.repeats))
        return
    torch.multiprocessing.spawn(worker, nprocs=a.world_size,
                                args=(a.world_size, a.backend, init, a.steps, a.batch_size, a.lr))


if __name__ == "__main__":
    main()
