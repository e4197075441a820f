#!/usr/bin/env bash
# The route without make or apt (README, home page), tried as a reader would on a machine with only
# Python: the notebook bundle unzipped into an empty folder, a venv from the bare interpreter,
# `pip install -r requirements-lab.txt`, then a Chapter 3 and a Chapter 4 notebook executed in that
# venv's kernel, one exercise graded by check(), and JupyterLab serving a notebook to read.
#   tools/check_plain_route.sh [PYTHON]      (pip honours PIP_INDEX_URL, i.e. a mirror, as usual)
# Run from the repository root after `make setup` (the bundle is built with the repository's venv).
set -euo pipefail
PYTHON=${1:-python3}
WORK=$(mktemp -d)
LAB=""
cleanup() { [ -n "$LAB" ] && kill "$LAB" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

.venv/bin/python -m aibook.booktools.bundle --output "$WORK/aibook-notebooks.zip"
cd "$WORK"
"$PYTHON" -m zipfile -e aibook-notebooks.zip .
cd aibook-notebooks
echo "== $("$PYTHON" --version), no repository, no make: $(pwd)"
"$PYTHON" -m venv .venv
start=$(date +%s)
.venv/bin/python -m pip install -q -r requirements-lab.txt 2>&1 | grep -v "^WARNING: Location" || true
echo "== pip install -r requirements-lab.txt: $(( $(date +%s) - start )) s"
.venv/bin/python -c "import aibook, sys; print('aibook from', aibook.__file__); assert sys.prefix.endswith('.venv')"

for notebook in book/03_algorithms/03_3_backprop.ipynb book/04_math/04_3_worked_example.ipynb; do
  .venv/bin/python -m aibook.booktools.nbrun --no-save "$notebook"
done

.venv/bin/python - <<'PY'
import numpy as np
from aibook.grader import check

def mlp_forward(x, W1, b1, W2, b2):
    z1 = x @ W1.T + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ W2.T + b2
    return z1, a1, z2, np.maximum(z2, 0)

check("4.1", mlp_forward)
PY

# JupyterLab serves the notebooks: the page and a notebook's contents through its REST API
TOKEN=plain-route-check
.venv/bin/python -m jupyter lab --no-browser --port 8911 --IdentityProvider.token=$TOKEN \
  $( [ "$(id -u)" = 0 ] && echo --allow-root ) > lab.log 2>&1 &
LAB=$!
for _ in $(seq 120); do
  curl -fs "http://127.0.0.1:8911/api/status?token=$TOKEN" > /dev/null && break
  sleep 1
done
curl -fs "http://127.0.0.1:8911/lab?token=$TOKEN" | grep -q "JupyterLab" && echo "== JupyterLab serves /lab"
curl -fs "http://127.0.0.1:8911/api/contents/book/03_algorithms/03_3_backprop.ipynb?token=$TOKEN" \
  | .venv/bin/python -c "import json, sys; nb = json.load(sys.stdin)['content']; print('== read', len(nb['cells']), 'cells of 3.3 through JupyterLab')"
echo "== the plain route works"
