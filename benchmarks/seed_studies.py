"""Seeds 0–4 of the per-seed claims whose five runs do not fit in their page's 45 s (2.3, 2.6, 6.3).

    OMP_NUM_THREADS=1 python benchmarks/seed_studies.py rnn-memory augmentation box-weight
    python benchmarks/seed_studies.py --report          # the stored table of every study

Each study executes its page's own cells (the first cell and the definition cells, found by cell id)
in a fresh namespace, so the page and this script cannot drift apart, and then trains every setting
with seeds 0–4 on the CPU with one thread, as ``nbrun`` runs the page. Results are appended as JSON
lines (one per study, setting and seed, with the date and the machine) to
``aibook/results/seed_studies.jsonl``; ``aibook.seed_studies`` reads them for the pages.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("AIBOOK_NUM_THREADS", "1")  # as nbrun runs the pages
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from project_cnn import load_average, machine_description  # noqa: E402

from aibook.seed_studies import RESULTS, SEEDS, report  # noqa: E402

# study: (page, ids of the cells that define what the study calls, after the page's first cell)
PAGES = {
    "rnn-memory": ("book/02_concepts/02_3_cnn_rnn.ipynb", ["ceb58547", "e7055812", "30cff126"]),
    "augmentation": ("book/02_concepts/02_6_challenges.ipynb", ["5757b6cd", "baa90487", "8f6b500f"]),
    "box-weight": ("book/06_applications/06_3_detection.ipynb",
                   ["14036d1b", "3d5e4cc3", "df4c34c5", "aeb1b09c"]),
}


def page_namespace(page: str, cell_ids: list[str]) -> dict:
    """Run the page's first cell (without its Colab install) and the given cells; return their names."""
    import matplotlib

    matplotlib.use("Agg")
    cells = json.loads((ROOT / page).read_text(encoding="utf-8"))["cells"]
    code = {c["id"]: "".join(c["source"]) for c in cells if c["cell_type"] == "code"}
    first = next(c for c in cells if c["cell_type"] == "code")
    setup = "\n".join(line for line in "".join(first["source"]).splitlines()
                      if "google.colab" not in line and "%pip" not in line)
    namespace: dict = {"__name__": "page"}
    for source in (setup, *(code[i] for i in cell_ids)):
        exec(compile(source, page, "exec"), namespace)  # noqa: S102  (the book's own cells)
    return namespace


def rnn_memory(ns: dict, seed: int) -> list[dict]:
    rows = []
    for setting, kind, bias in (("rnn", "rnn", 2.0), ("lstm, forget bias 2", "lstm", 2.0),
                                ("lstm, forget bias 0", "lstm", 0.0)):
        accs = ns["curriculum"](kind, seed, forget_bias=bias)
        rows.append({"setting": f"{setting}, curriculum", "acc": accs[-1],
                     "acc_by_length": dict(zip(ns["LENGTHS"], accs, strict=True))})
    for setting, bias in (("lstm, forget bias 2", 2.0), ("lstm, forget bias 0", 0.0)):
        accuracy = ns["direct"]("lstm", seed, forget_bias=bias)
        rows.append({"setting": f"{setting}, direct at T=60", "acc": accuracy})
    return rows


def augmentation(ns: dict, seed: int) -> list[dict]:
    import torch

    rows = []
    for epochs in (5, 15):
        for setting, augment in (("plain", None), ("flip+shift", ns["flip_and_shift"])):
            torch.manual_seed(seed)
            model = ns["train_model"](ns["mlp"]().to(ns["device"]), seed=seed, augment=augment, epochs=epochs)
            rows.append({"setting": setting, "epochs": epochs,
                         "centred": ns["accuracy_on"](model, ns["x_test"]),
                         "shifted": ns["accuracy_on"](model, ns["x_test_shifted"])})
    return rows


def box_weight(ns: dict, seed: int) -> list[dict]:
    import torch

    rows = []
    for weight in (10.0, 1.0):
        torch.manual_seed(seed)
        model = ns["Localizer"]().to(ns["device"])
        ns["train_localizer"](model, box_weight=weight, seed=seed, progress=False)
        labels, boxes = ns["predict_boxes"](model, ns["val"].images)
        precision = ns["detection"].precision_at_iou(boxes, ns["val"].boxes, 0.5)
        rows.append({"setting": f"box weight {weight:g}", "epochs": ns["EPOCHS"],
                     "val_class_acc": float((labels == ns["val"].labels).mean()),
                     "val_precision_iou50": float(precision)})
    return rows


STUDIES = {"rnn-memory": rnn_memory, "augmentation": augmentation, "box-weight": box_weight}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studies", nargs="*", help=f"any of {', '.join(STUDIES)}")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--report", action="store_true", help="print the stored results and exit")
    args = parser.parse_args()
    if args.report or not args.studies:
        print(report())
        return
    unknown = sorted(set(args.studies) - set(STUDIES))
    if unknown:
        parser.error(f"unknown study {', '.join(unknown)}: choose from {', '.join(STUDIES)}")
    import torch

    for study in args.studies:
        page, cell_ids = PAGES[study]
        ns = page_namespace(page, cell_ids)
        for seed in args.seeds:
            start = time.perf_counter()
            rows = STUDIES[study](ns, seed)
            stamp = {"date": datetime.date.today().isoformat(),
                     "machine": machine_description(torch.get_num_threads(), "cpu"),
                     "load_average": load_average(), "seconds": round(time.perf_counter() - start, 1)}
            with RESULTS.open("a", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps({"study": study, "page": page, "seed": seed, **row, **stamp}) + "\n")
            print(f"{study} seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    print(report(args.studies))


if __name__ == "__main__":
    main()
