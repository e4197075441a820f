"""The website hides the first cell's Colab-install lines; every notebook's first cell has them in
the shape the build recognises (so none shows them on the site)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aibook.booktools import nbcheck
from aibook.booktools.publish import repository_url
from aibook.booktools.site_colab_lines import without_colab_install

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY_URL = repository_url()
SETUP = f'''import sys
if "google.colab" in sys.modules:  # on Colab only: install the book's helper package
    %pip install -q "aibook @ git+{REPOSITORY_URL}"

import aibook
device = aibook.setup_notebook(seed=0)

import numpy as np'''


def test_the_guard_block_and_its_import_are_dropped_the_rest_is_kept():
    expected = "import aibook\ndevice = aibook.setup_notebook(seed=0)\n\nimport numpy as np"
    assert without_colab_install(SETUP) == expected


def test_import_sys_stays_when_the_cell_uses_sys():
    shown = without_colab_install(SETUP + "\nprint(sys.version)")
    assert shown.startswith("import sys\nimport aibook")


def test_a_cell_without_the_guard_is_left_alone():
    assert without_colab_install("import numpy as np") is None


def test_hiding_is_idempotent():
    once = without_colab_install(SETUP)
    assert without_colab_install(once) is None


@pytest.mark.parametrize("notebook", [str(p) for p in nbcheck.list_notebooks(ROOT, ("book", "solutions"))])
def test_every_notebook_setup_cell_is_recognised_so_the_site_hides_it(notebook):
    first = nbcheck.code_cells(nbcheck.load(ROOT / notebook))[0]
    shown = without_colab_install(nbcheck.source(first))
    assert shown is not None, f"{notebook}: first code cell has no Colab guard block the site can hide"
    assert "google.colab" not in shown and "%pip" not in shown
    assert "import aibook" in shown
