"""Device choice, seeding and the one-call notebook set-up."""

from __future__ import annotations

import os
import random
import warnings

import numpy as np
import torch


def get_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: cuda, then mps, then cpu.

    ``prefer`` (or the environment variable ``AIBOOK_DEVICE``) forces one, e.g. ``"cpu"``.
    """
    choice = prefer or os.environ.get("AIBOOK_DEVICE")
    if choice:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {choice!r} requested but CUDA is not available: use 'cpu'")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (all devices) so that reruns give the same numbers."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_threads_of_child_processes(threads: int = 1) -> None:
    """Give every process started from here on (notebook kernels) ``threads`` CPU threads: PyTorch
    through ``AIBOOK_NUM_THREADS`` (read by ``setup_notebook``), NumPy's BLAS and OpenMP through
    their environment variables, which they read once at start. Values already set are kept.

    Why: OpenBLAS and OpenMP threads spin while they wait for work. With more threads than cores
    (two notebooks at once on two cores, or a busy machine) the spinning threads take the cores
    from the working ones: a loop of 300x300 @ 300x64 products took 19-29 s with 2 BLAS threads
    beside two busy processes, 2.5-3.4 s with 1 (0.8 s vs 4.6 s on a quiet machine).
    """
    os.environ.setdefault("AIBOOK_NUM_THREADS", str(threads))
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, os.environ["AIBOOK_NUM_THREADS"])


def setup_notebook(seed: int = 0) -> torch.device:
    """Seed everything, fix print precision and figure defaults; return the device to use.

    Called once in the first cell of every notebook so their outputs are reproducible. When
    ``AIBOOK_NUM_THREADS`` is set, PyTorch uses that many CPU threads (results of float
    reductions can depend on the thread count).
    """
    seed_everything(seed)
    threads = os.environ.get("AIBOOK_NUM_THREADS")
    if threads:  # set by the test suite and nbrun, so stored and re-run outputs agree
        torch.set_num_threads(int(threads))
    np.set_printoptions(precision=4, suppress=True, linewidth=100)
    torch.set_printoptions(precision=4, sci_mode=False, linewidth=100)
    # scikit-learn's MLP catches KeyboardInterrupt, warns and returns a half-trained model; a kernel
    # interrupt (a stop button, or a test runner's cell timeout) must stop the cell instead
    warnings.filterwarnings("error", message="Training interrupted by user")
    try:
        import matplotlib as mpl

        mpl.rcParams.update(
            {"figure.dpi": 80, "savefig.dpi": 80, "figure.figsize": (6, 3.5), "axes.grid": True}
        )
    except ImportError:  # plotting is optional for scripts
        pass
    return get_device()
