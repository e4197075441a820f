"""The one-command GPU check: every notebook of book/ and solutions/ on a device, then the Chapter 5
benchmark and a short run of Chapter 11's pre-training benchmark, and one table of the results.

    python -m aibook.booktools.gpu_check --device cuda          # make gpu-check
    python -m aibook.booktools.gpu_check --device cpu --notebooks book/04_math/04_1_networks.ipynb

Each notebook runs in its own process through ``aibook.booktools.nbrun --no-save`` with
``AIBOOK_DEVICE`` set, so nothing is rewritten: outputs from a GPU run are never committed. The
table compares each notebook's seconds with its CPU record in ``book/runtimes.json``. Exit status 0
when every notebook and the benchmark ran, 1 otherwise. Runs ``--jobs`` notebooks at a time (one GPU
is shared; each gets an equal share of the CPU threads for its data work).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aibook.booktools import nbcheck, runtimes
from aibook.device import BLAS_THREAD_VARIABLES

CHECKED_FOLDERS = ("book", "solutions")  # exercises/ are unanswered and raise on purpose
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours in IPython's tracebacks


@dataclass
class Outcome:
    name: str
    ok: bool
    seconds: float
    detail: str = ""


def run_command(name: str, command: list[str], env: dict[str, str], timeout: float, cwd: Path) -> Outcome:
    """Run one command; its outcome, with the last line of its error output when it failed."""
    start = time.monotonic()
    try:
        proc = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Outcome(name, False, time.monotonic() - start, f"stopped after {timeout:g} s")
    seconds = time.monotonic() - start
    if proc.returncode == 0:
        return Outcome(name, True, seconds, proc.stdout)
    lines = [line for line in _ANSI.sub("", proc.stderr + proc.stdout).splitlines() if line.strip()]
    return Outcome(name, False, seconds, lines[-1][:200] if lines else f"exit status {proc.returncode}")


def child_env(device: str, threads: int) -> dict[str, str]:
    env = dict(os.environ, AIBOOK_DEVICE=device, AIBOOK_PROGRESS="0")
    for name in ("AIBOOK_NUM_THREADS", *BLAS_THREAD_VARIABLES):
        env[name] = str(threads)
    return env


def check_notebooks(root: Path, notebooks: list[Path], device: str, jobs: int, timeout: float
                    ) -> list[Outcome]:
    threads = max(1, (os.cpu_count() or 1) // jobs)
    env = child_env(device, threads)

    def one(path: Path) -> Outcome:
        command = [sys.executable, "-m", "aibook.booktools.nbrun", "--no-save", "--timeout",
                   str(int(timeout)), str(path)]
        return run_command(str(path), command, env, timeout, root)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, notebooks))


def check_benchmark(root: Path, device: str, timeout: float, extra: list[str]) -> Outcome:
    command = [sys.executable, "benchmarks/project_cnn.py", "--device", device, *extra]
    return run_command("benchmarks/project_cnn.py", command, child_env(device, os.cpu_count() or 1),
                       timeout, root)


#: Chapter 11: 200 steps of the reference GPT, enough to measure tokens/s on the device
LLM_BENCHMARK = ["benchmarks/llm_pretrain.py", "--size", "reference", "--steps", "200", "--eval-every", "100",
                 "--eval-tokens", "50000"]


def check_llm_benchmark(root: Path, device: str, timeout: float) -> Outcome:
    command = [sys.executable, *LLM_BENCHMARK, "--device", device]
    return run_command(LLM_BENCHMARK[0], command, child_env(device, os.cpu_count() or 1), timeout, root)


def table(outcomes: list[Outcome], record: dict[str, float], device: str) -> str:
    width = max(len(o.name) for o in outcomes)
    lines = [f"{'notebook':<{width}}  result  {device + ' s':>8}  {'CPU record s':>12}  {'ratio':>6}"]
    for o in outcomes:
        cpu = record.get(o.name)
        ratio = f"{o.seconds / cpu:6.2f}" if cpu else f"{'':>6}"
        lines.append(f"{o.name:<{width}}  {'pass' if o.ok else 'FAIL':<6}  {o.seconds:8.1f}  "
                     f"{cpu if cpu is not None else '':>12}  {ratio}"
                     + ("" if o.ok else f"  {o.detail}"))
    passed = sum(o.ok for o in outcomes)
    lines.append(f"{passed} passed, {len(outcomes) - passed} failed")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aibook.booktools.gpu_check",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), or cpu to try the check itself")
    parser.add_argument("--notebooks", nargs="*", type=Path, default=None,
                        help="default: every notebook of book/ and solutions/")
    parser.add_argument("--jobs", type=int, default=4, help="notebooks at a time (default 4)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per notebook")
    parser.add_argument("--no-benchmark", action="store_true", help="notebooks only")
    parser.add_argument("--benchmark-args", default="", help="extra arguments for the benchmark, quoted")
    parser.add_argument("--root", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            print("error: CUDA is not available here: run on a GPU machine, or pass --device cpu",
                  file=sys.stderr)
            return 2
    notebooks = args.notebooks or nbcheck.list_notebooks(root, CHECKED_FOLDERS)
    missing = [str(p) for p in notebooks if not (root / p).is_file()]
    if missing:
        print(f"error: not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    start = time.monotonic()
    outcomes = check_notebooks(root, [Path(p) for p in notebooks], args.device, max(1, args.jobs),
                               args.timeout)
    if not args.no_benchmark:
        bench = check_benchmark(root, args.device, 600, args.benchmark_args.split())
        llm = check_llm_benchmark(root, args.device, 600)
        outcomes += [bench, llm]
    record = runtimes.load_json(root / runtimes.RECORD).get("notebooks", {})
    print(table(outcomes, record, args.device))
    if not args.no_benchmark and bench.ok:
        print("\nbenchmark output:\n" + bench.detail.rstrip())
    if not args.no_benchmark and llm.ok:
        print("\nChapter 11 benchmark output:\n" + llm.detail.rstrip())
    print(f"\ngpu check: {time.monotonic() - start:.0f} s in all on device {args.device}", file=sys.stderr)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
