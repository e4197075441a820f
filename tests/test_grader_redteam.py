"""A red-team pass beyond issue 27's list: each notebook below is what a hostile student would try,
and each test shows it changes no grade and harms nothing outside its own scratch folder.

Most probes encode their verdict in 4.3's answer: it returns the right size only when the attack
ran (it found its target) and got nothing, so 8 points mean "defended" and a broken probe fails the
test instead of passing it. The before column of the report: this file run against an older
checkout (``git archive OLD | tar -x -C /tmp/old``, copy this file into ``/tmp/old/tests``, then
``PYTHONPATH=/tmp/old pytest /tmp/old/tests/test_grader_redteam.py`` from ``/tmp/old``). They need
root, like the other attack tests.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
from pathlib import Path

import nbformat
import pytest
from test_grader_attacks import by_id, run_grader
from test_grading import CONV, RNN, snapshot, write_notebook

from aibook.grader import sandbox

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    not sandbox.isolation().users,
    reason=f"needs the grader's isolation: {sandbox.isolation().why_not}")


def right_only_if(condition: str) -> str:
    """4.3's answer that is right only when ``condition`` (Python, evaluated at call time) holds."""
    body = CONV.replace("def conv_output_size(", "def _size(", 1)
    return (f"{body}\n\ndef conv_output_size(*args, **kwargs):\n"
            f"    if {condition}:\n        return _size(*args, **kwargs)\n    return -1")


def lines_of(proc) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


# --- the notebooks ---------------------------------------------------------------------------


def redteam_symlinks(folder: Path, targets: list[Path]) -> Path:
    """Links in the scratch folder to the grader's files and another submission (also in place of
    the matplotlib cache folder root filled), then a crash so that the grader starts a fresh kernel
    in the same folder: root must never write or delete through them."""
    return write_notebook(
        folder / "symlinks.ipynb", "import numpy as np\nimport os", ("4.3", CONV),
        f"for n, target in enumerate({[str(t) for t in targets]!r}):\n"
        f"    os.symlink(target, f'link-{{n}}')\n"
        f"os.rename('.mpl', 'mpl-was-here')\n"
        f"os.symlink({str(targets[0])!r}, '.mpl')",
        "os._exit(1)", ("4.7", RNN))


def redteam_proc(folder: Path) -> Path:
    """Read the grader's command line in /proc for the other submissions' paths, then try to open
    them, the grader's environment, stdout, working folder and memory, and /etc/shadow."""
    probe = (
        "import os\n"
        "FOUND, OPENED = [], []\n"
        "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
        "    try:\n"
        "        args = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0')\n"
        "    except OSError:\n"
        "        continue\n"
        "    if b'aibook.grader' not in b' '.join(args):\n"
        "        continue\n"
        "    FOUND += [a.decode() for a in args if a.endswith(b'.ipynb') and b'proc_probe' not in a]\n"
        "    for leaf in ('environ', 'fd/1', 'cwd/grades.csv', 'mem', 'root/etc/shadow'):\n"
        "        try:\n"
        "            open(f'/proc/{pid}/{leaf}', 'rb').read(1)\n"
        "            OPENED.append(f'{pid}/{leaf}')\n"
        "        except OSError:\n"
        "            pass\n"
        "for path in FOUND + ['/etc/shadow']:\n"
        "    try:\n"
        "        open(path, 'rb').read(1)\n"
        "        OPENED.append(path)\n"
        "    except OSError:\n"
        "        pass")
    return write_notebook(folder / "proc_probe.ipynb", "import numpy as np", probe,
                          ("4.3", right_only_if("FOUND and not OPENED")))


_OTHER_KERNELS = (
    "import os, time\n"
    "def other_kernels():\n"
    "    found = []\n"
    "    for pid in filter(str.isdigit, os.listdir('/proc')):\n"
    "        try:\n"
    "            owner = os.stat(f'/proc/{pid}').st_uid\n"
    "            args = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0')\n"
    "        except OSError:\n"
    "            continue\n"
    "        if owner not in (0, os.getuid()) and any(b'ipykernel' in a for a in args):\n"
    "            found.append((int(pid), args))\n"
    "    return found\n"
    "deadline = time.monotonic() + 50  # the two notebooks wait for each other\n"
    "while not other_kernels() and time.monotonic() < deadline:\n"
    "    time.sleep(0.2)\n"
    "SEEN = other_kernels()")


def redteam_other_kernel(folder: Path) -> tuple[Path, Path]:
    """Two notebooks graded at once: the attacker finds the other kernel and tries to read its
    connection file (the key to run code in it), its environment and memory, and to kill it."""
    attack = (
        "import signal\nBROKE = []\n"
        "for pid, args in SEEN:\n"
        "    files = [a.decode() for a in args if a.endswith(b'.json')]\n"
        "    for path in files + [f'/proc/{pid}/environ', f'/proc/{pid}/mem']:\n"
        "        try:\n"
        "            open(path, 'rb').read(1)\n"
        "            BROKE.append(path)\n"
        "        except OSError:\n"
        "            pass\n"
        "    try:\n"
        "        os.kill(pid, signal.SIGKILL)\n"
        "        BROKE.append(f'killed {pid}')\n"
        "    except OSError:\n"
        "        pass")
    attacker = write_notebook(folder / "attacker" / "ch04.ipynb", "import numpy as np", _OTHER_KERNELS,
                              attack, ("4.3", right_only_if("SEEN and not BROKE")))
    victim = write_notebook(folder / "victim" / "ch04.ipynb", "import numpy as np", _OTHER_KERNELS,
                            ("4.7", RNN))
    return attacker, victim


def redteam_fork_bomb(folder: Path) -> Path:
    """Fork until the system says no; the children sleep (so the test does not load the machine)."""
    bomb = ("import os, time\nCHILDREN = []\n"
            "for _ in range(3000):\n"
            "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
            "    if pid == 0:\n        time.sleep(600)\n        os._exit(0)\n"
            "    CHILDREN.append(pid)\n"
            "def running(pid):  # a killed child stays a zombie until the kernel reaps it\n"
            "    try:\n        return open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[0] != 'Z'\n"
            "    except OSError:\n        return False")
    alive = "any(map(running, CHILDREN))"
    return write_notebook(folder / "fork_bomb.ipynb", "import numpy as np", bomb,
                          ("4.3", right_only_if(f"0 < len(CHILDREN) < 300 and not {alive}")))


def redteam_memory(folder: Path) -> Path:
    """Allocate 2 GiB (4 GiB by default: the test lowers the limit to 1 GiB): a kernel may not take
    the machine's memory. np.empty does not touch the pages, so even unlimited it harms nothing."""
    return write_notebook(folder / "memory.ipynb", "import numpy as np", ("4.3", CONV),
                          "big = np.empty(2**31, dtype=np.uint8)", ("4.7", RNN))


def redteam_leftovers(folder: Path, marker: str) -> tuple[Path, Path]:
    """The first notebook leaves files in /tmp and /dev/shm (a large one, and a link where an
    instructor might write grades); the second, graded next by the same grading user, looks for them."""
    paths = [f"/tmp/{marker}", f"/dev/shm/{marker}", f"/tmp/{marker}.csv"]
    leave = (f"import os\nwith open({paths[0]!r}, 'wb') as f:\n    f.truncate(10 * 2**20)\n"
             f"open({paths[1]!r}, 'w').write('planted')\n"
             f"os.symlink({str(sandbox.GRADER / 'questions.py')!r}, {paths[2]!r})")
    first = write_notebook(folder / "a_leaves.ipynb", "import numpy as np", leave, ("4.3", CONV))
    second = write_notebook(folder / "b_finds.ipynb", "import numpy as np\nimport os",
                            ("4.3", right_only_if(f"not any(map(os.path.lexists, {paths!r}))")))
    return first, second


def redteam_descriptors_and_environment(folder: Path) -> Path:
    """Look for files the grader left open in the kernel (its output, the CSV) and for the
    grader's environment variables."""
    probe = ("import os\nLEAKED = [n for n in os.environ if n.startswith('AIBOOK_REDTEAM')]\n"
             "for fd in os.listdir('/proc/self/fd'):\n"
             "    try:\n        target = os.readlink(f'/proc/self/fd/{fd}')\n    except OSError:\n"
             "        continue\n"
             "    if target.startswith('/') and target not in ('/dev/null', '/dev/urandom')"
             " and not target.startswith(os.getcwd()):\n"
             "        LEAKED.append(target)\n"
             "CHECKED = len(os.listdir('/proc/self/fd'))")
    return write_notebook(folder / "descriptors.ipynb", "import numpy as np", probe,
                          ("4.3", right_only_if("CHECKED > 3 and not LEAKED")))


def answer_of(chapter_notebook: Path, question: str) -> str:
    """The reference answer of ``question`` from an answer key, markers removed."""
    nb = nbformat.read(chapter_notebook, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("aibook")
        if isinstance(meta, dict) and meta.get("question") == question:
            return "\n".join(line for line in cell.source.splitlines()
                             if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))
    raise KeyError(question)


def redteam_other_chapter(folder: Path) -> Path:
    """Chapter 4's notebook (every answer cell, 4.3 answered) plus a right answer cell of chapter 2
    (metadata {"question": "2.1"}): before, its points were added to the chapter 4 total."""
    cells = [(f"4.{n}", CONV if n == 3 else "...") for n in range(1, 8)]
    return write_notebook(folder / "other_chapter.ipynb", "import numpy as np", *cells,
                          ("2.1", answer_of(ROOT / "solutions" / "ch02.ipynb", "2.1")))


def redteam_file_name(folder: Path) -> Path:
    """A file name (kept by LMS exports) that forges a line of the grader's table and is a
    spreadsheet formula in the CSV."""
    return write_notebook(folder / "=HYPERLINK(0)\nforged.ipynb: 60⁄60 points.ipynb", "import numpy as np",
                          ("4.3", CONV))


def redteam_not_notebooks(folder: Path) -> list[Path]:
    """JSON nested 100,000 deep, and a 51 MB file (sparse: it takes no disk)."""
    folder.mkdir(parents=True, exist_ok=True)
    deep = folder / "deep.ipynb"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    giant = folder / "giant.ipynb"
    with giant.open("wb") as f:
        f.truncate(51 * 2**20)
    return [deep, giant]


# --- the tests -------------------------------------------------------------------------------


def test_links_in_the_scratch_folder_redirect_nothing(tmp_path):
    other = write_notebook(tmp_path / "class" / "other" / "ch04.ipynb", "import numpy as np", ("4.7", RNN))
    grader_before = snapshot(sandbox.GRADER)
    before = snapshot(tmp_path / "class")
    path = redteam_symlinks(tmp_path / "class" / "links",
                            [sandbox.GRADER / "questions.py", other, other.parent, sandbox.GRADER])
    proc = run_grader(str(path), str(other), "--json", "--jobs", "1")
    first, second = lines_of(proc)
    assert by_id(first)["4.3"]["points"] == 8 and by_id(first)["4.7"]["points"] == 6, first
    assert "the kernel died" in " ".join(first["cell_errors"].values())  # the fresh kernel did start
    assert second["score"] == 6
    assert snapshot(sandbox.GRADER) == grader_before
    assert {k: v for k, v in snapshot(tmp_path / "class").items() if k in before} == before


def test_proc_gives_no_way_to_other_submissions_or_the_grader(tmp_path):
    if not sandbox.isolation().namespaces:
        pytest.skip("no mount namespace here: the grader warns that submissions' folders are readable")
    victim = write_notebook(tmp_path / "class" / "victim" / "ch04.ipynb", "import numpy as np", ("4.7", RNN))
    probe = redteam_proc(tmp_path / "class" / "probe")
    proc = run_grader(str(victim), str(probe), "--json", "--jobs", "1")
    assert [by_id(r)["4.3"]["points"] for r in lines_of(proc)] == [0, 8], proc.stdout


def test_a_kernel_cannot_reach_a_kernel_graded_beside_it(tmp_path):
    attacker, victim = redteam_other_kernel(tmp_path / "class")
    proc = run_grader(str(attacker), str(victim), "--json", "--jobs", "2")
    first, second = lines_of(proc)
    assert by_id(first)["4.3"]["points"] == 8, first  # it saw the other kernel and reached nothing
    assert by_id(second)["4.7"]["points"] == 6 and second["cell_errors"] == {}, second


def test_a_fork_bomb_is_stopped_and_leaves_nothing(tmp_path):
    proc = run_grader(str(redteam_fork_bomb(tmp_path)), "--json")
    assert by_id(lines_of(proc)[0])["4.3"]["points"] == 8, proc.stdout
    for user in pwd.getpwall():
        if user.pw_name.startswith(sandbox.IDENTITY_PREFIX):
            assert sandbox.processes_of(user.pw_uid) == [], user.pw_name


def test_a_memory_hog_fails_in_its_own_cell(tmp_path):
    env = {**os.environ, "AIBOOK_GRADER_MEMORY_MB": "1024"}
    result = lines_of(run_grader(str(redteam_memory(tmp_path)), "--json", env=env))[0]
    assert list(result["cell_errors"]) == ["3"], result
    assert result["cell_errors"]["3"].startswith("MemoryError"), result
    assert by_id(result)["4.3"]["points"] == 8 and by_id(result)["4.7"]["points"] == 6


def test_files_left_in_shared_temp_folders_are_gone_before_the_next_submission(tmp_path):
    marker = f"aibook-redteam-{os.getpid()}-{tmp_path.name}"
    first, second = redteam_leftovers(tmp_path, marker)
    proc = run_grader(str(first), str(second), "--json", "--jobs", "1")  # both in slot 0, one after the other
    assert [by_id(r)["4.3"]["points"] for r in lines_of(proc)] == [8, 8], proc.stdout
    assert not [p for p in (Path("/tmp") / marker, Path("/dev/shm") / marker, Path(f"/tmp/{marker}.csv"))
                if os.path.lexists(p)]


def test_the_kernel_inherits_no_open_files_and_no_environment(tmp_path):
    env = {**os.environ, "AIBOOK_REDTEAM_SECRET": "token"}
    proc = run_grader(str(redteam_descriptors_and_environment(tmp_path)), "--json",
                      "--csv", str(tmp_path / "grades.csv"), env=env)
    assert by_id(lines_of(proc)[0])["4.3"]["points"] == 8, proc.stdout


def test_answer_cells_of_another_chapter_add_no_points(tmp_path):
    result = lines_of(run_grader(str(redteam_other_chapter(tmp_path)), "--json"))[0]
    assert result["score"] == 8 and result["max_score"] == 60, result
    assert {q["id"][0] for q in result["questions"]} == {"4"}
    assert "notebook: answer cells of chapter 2 not graded: this is chapter 4's assignment" in result["flags"]
    chapter_two = lines_of(run_grader(str(redteam_other_chapter(tmp_path)), "--json", "--chapter", "2"))[0]
    assert {q["id"][0] for q in chapter_two["questions"]} == {"2"}  # the instructor's --chapter decides


def test_a_hostile_file_name_forges_no_line_and_no_formula(tmp_path):
    path = redteam_file_name(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = run_grader(path.name, "--csv", "grades.csv", cwd=tmp_path, env=env)  # as with `*.ipynb`
    assert not [line for line in proc.stdout.splitlines() if line.startswith("forged")], proc.stdout
    assert "8/60 points" in proc.stdout
    rows = list(csv.reader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert rows[1][0] == "'" + path.name


def test_files_that_are_not_notebooks_get_one_line_each(tmp_path):
    deep, giant = redteam_not_notebooks(tmp_path)
    proc = run_grader(str(deep), str(giant), "--json")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {deep}: not a Jupyter notebook (JSON nested too deeply): submit the "
                      ".ipynb file",
                      f"error: {giant}: the notebook is 51 MB, over the grader's 50 MB: clear its outputs "
                      "(Edit → Clear Outputs of All Cells), save and submit it again"], proc.stderr
    assert proc.returncode == 1
