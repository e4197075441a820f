"""A learner at work in JupyterLab, in a real browser (Debian's headless Chromium), offline.

Starts the virtual environment's `jupyter lab --no-browser` on 127.0.0.1 (a port the OS picks, a
random token) in a temporary folder that holds copies of the pages it opens, so the checkout is
never written to. Then, as a learner would: opens exercises/ch04.ipynb, runs the setup cell and the
first question's check with the answer still `...` (no points), types a wrong answer (FAIL), then
the reference answer through the editor (PASS, full points); opens a book page with a slider, runs
it and moves the slider: the figure must change, which only a live kernel can do.

Any request that leaves 127.0.0.1 fails the test, and so does JupyterLab's offline configuration
missing (`make book` writes it into .venv). Waits are bounded only to turn a hang into a clear
failure; no verdict depends on how long anything took. Screenshots go to _build/lab/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from test_site_browser import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
JUPYTER = Path(sys.executable).parent / "jupyter"
EXERCISES = "exercises/ch04.ipynb"
SOLUTIONS = "solutions/ch04.ipynb"
SLIDER_PAGE = "book/04_math/04_2_optimization.ipynb"
SCREENSHOTS = ROOT / "_build" / "lab"
SERVER_START_S = 120  # hang protection only: the machine may be busy running notebooks
KERNEL_STEP_S = 180  # one cell, including a kernel start and the first import of torch
UI_MS = 60_000  # the browser showing what it has received
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"


def load_cells(path: str) -> list[dict]:
    return json.loads((ROOT / path).read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def first_question(cells: list[dict]) -> tuple[str, int, int]:
    """(question id, answer cell index, check cell index) of the notebook's first question."""
    for i, cell in enumerate(cells):
        question = cell.get("metadata", {}).get("aibook", {}).get("question")
        if question:
            check = next(j for j in range(i + 1, len(cells)) if cells[j]["cell_type"] == "code")
            return question, i, check
    raise AssertionError(f"{EXERCISES}: no cell carries question metadata")


def reference_answer(question: str) -> str:
    """The solution of `question` without the solution markers: what a learner who got it right types."""
    cell = next(c for c in load_cells(SOLUTIONS) if c.get("metadata", {}).get("aibook", {}).get("question")
                == question)
    return "\n".join(line for line in source(cell).splitlines()
                     if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))


def http_get(url: str, token: str, timeout: float = 10):
    """GET from the local server, bypassing any proxy the environment sets."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    return opener.open(request, timeout=timeout)


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains `text` (kernels name their connection file in the runtime dir)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text in (proc / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(proc.name))
        except OSError:  # the process ended while we looked
            pass
    return pids


def log_tail(log: Path, lines: int = 25) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab serving copies of the pages under test; yields (url, token)."""
    if not JUPYTER.exists():
        pytest.fail(f"{JUPYTER} not found: run 'make book' (it installs JupyterLab into .venv)")
    home = tmp_path_factory.mktemp("lab")
    root = home / "root"
    for page in (EXERCISES, SLIDER_PAGE):
        (root / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / page, root / page)
    runtime = home / "runtime"
    # The user's own Jupyter folders stay out of it; the venv's configuration (what a learner gets)
    # applies, except that the root folder is the temporary copy.
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(runtime), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), IPYTHONDIR=str(home / "ipython"))
    token = secrets.token_hex(16)
    command = [str(JUPYTER), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0",
               "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
               f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = home / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    url = None
    try:
        url = wait_for_server(server, runtime, token, log)
        yield url, token
    finally:
        stopped, leftovers = stop_server(server, url, token, runtime)
    assert stopped, f"JupyterLab did not stop within 60 s of being asked to (killed now):\n{log_tail(log)}"
    assert leftovers == [], f"processes left running after the server stopped (killed now): {leftovers}"


def wait_for_server(server: subprocess.Popen, runtime: Path, token: str, log: Path) -> str:
    """The server's URL once it answers; a clear failure if it exits or is not up in time."""
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with status {server.returncode} before serving:\n{log_tail(log)}")
        for info_file in runtime.glob("jpserver-*.json"):
            url = json.loads(info_file.read_text())["url"]
            try:
                with http_get(f"{url}api/status", token) as response:
                    if response.status == 200:
                        return url
            except (OSError, urllib.error.URLError):
                pass
        time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s; its log ends with:\n{log_tail(log)}")


def stop_server(server: subprocess.Popen, url: str | None, token: str,
                runtime: Path) -> tuple[bool, list[int]]:
    """Shut the server down (its kernels with it), kill what is left; (stopped when asked, pids left)."""
    if url and server.poll() is None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        request = urllib.request.Request(f"{url}api/shutdown", method="POST",
                                         headers={"Authorization": f"token {token}"})
        try:
            opener.open(request, timeout=30).close()
        except OSError:
            pass
    try:
        server.wait(timeout=60)
        stopped = True
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        stopped = False
    leftovers = processes_mentioning(str(runtime))
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return stopped, leftovers


@pytest.fixture(scope="module")
def page(lab):
    """A browser tab on the server; every request that leaves 127.0.0.1 is blocked and recorded."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium not found: run 'make sysdeps' (Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    external: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url.startswith(("data:", "blob:")) or urlparse(r.request.url).hostname == "127.0.0.1":
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    def websocket(ws):
        if urlparse(ws.url).hostname != "127.0.0.1":
            external.append(ws.url)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.set_default_timeout(UI_MS)
        tab.route("**/*", route)
        tab.on("websocket", websocket)
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        yield tab
        browser.close()
    assert external == [], f"JupyterLab tried to reach the internet: {external}"
    assert errors == [], f"errors in the browser console: {errors}"


class Notebook:
    """A notebook open in JupyterLab, worked through as a learner does: click into a cell, Shift+Enter."""

    def __init__(self, page, lab, path: str):
        url, token = lab
        self.page, self.name, self.executed = page, Path(path).name, 0
        page.goto(f"{url}lab/tree/{path}?token={token}")
        self.wait_until_idle()

    def wait_until_idle(self):
        """Until this notebook is the current one and its kernel is started and idle."""
        # The status bar's kernel item names the current notebook (the toolbar's indicator says
        # idle even before a kernel exists, and another tab's kernel may be the one shown).
        self.page.wait_for_function(
            "name => [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e =>"
            " e.title === `Change kernel for ${name}`"
            " && /^(?!No Kernel).+ \\| Idle$/.test(e.textContent.trim()))",
            arg=self.name, timeout=KERNEL_STEP_S * 1000)

    def cell(self, index: int):
        return self.page.locator(f".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook "
                                 f".jp-Cell[data-windowed-list-index='{index}']")

    def run(self, index: int):
        """Run a code cell and wait until the kernel has answered (its prompt shows the new count)."""
        from playwright.sync_api import expect

        editor = self.cell(index).locator(".jp-InputArea-editor")
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("Shift+Enter")
        self.executed += 1  # a fresh kernel numbers executions 1, 2, 3, ...
        expect(self.cell(index).locator(".jp-InputPrompt")).to_have_text(f"[{self.executed}]:",
                                                                         timeout=KERNEL_STEP_S * 1000)

    def type_code(self, index: int, text: str):
        """Select everything in the cell's editor and type `text` in its place (no auto-indent)."""
        editor = self.cell(index).locator(".jp-InputArea-editor .cm-content")
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.insert_text(text)

    def forget_stored_outputs(self, upto: int):
        """Mark the outputs and prompts stored in the file (up to cell `upto`) so only this run counts."""
        for i in range(upto + 1):
            self.cell(i).evaluate(
                "c => { c.querySelectorAll('.jp-OutputArea-output').forEach(o => o.dataset.stored = '1');"
                " c.querySelectorAll('.jp-InputPrompt').forEach(p => p.textContent = '[ ]:'); }")


def test_lab_opens_at_the_book_offline(page, lab):
    url, token = lab
    page.goto(f"{url}?token={token}")
    page.wait_for_selector(".jp-FileBrowser .jp-DirListing-item", timeout=KERNEL_STEP_S * 1000)
    assert urlparse(page.url).path.endswith("/lab/tree/book"), f"JupyterLab opened at {page.url}"
    assert "04_math" in page.locator(".jp-FileBrowser .jp-DirListing-content").inner_text()
    config = json.loads(page.locator("#jupyter-config-data").text_content())
    fix = "run 'make book' (it writes JupyterLab's offline settings into .venv/etc/jupyter)"
    assert config["news"]["disabled"], f"JupyterLab fetches news from the internet: {fix}"
    assert config["extensionManager"]["name"] == "read-only", f"the extension manager lists PyPI: {fix}"
    assert ANNOUNCEMENTS in config["disabledExtensions"], f"JupyterLab asks to fetch news: {fix}"


def test_exercise_fail_then_pass(page, lab):
    from playwright.sync_api import expect

    cells = load_cells(EXERCISES)
    question, answer, check = first_question(cells)
    setup = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    notebook = Notebook(page, lab, EXERCISES)
    feedback = notebook.cell(check).locator(".jp-OutputArea")

    for i in (setup, answer, check):  # the answer still `...`
        notebook.run(i)
    expect(feedback).to_contain_text(re.compile(r"得分 Total：0/\d+ 分"), timeout=UI_MS)
    expect(feedback).not_to_contain_text("PASS", timeout=UI_MS)

    # a wrong answer: the function returns a number instead of what the question asks for
    notebook.type_code(answer, source(cells[answer]).replace("...", "return 0"))
    notebook.run(answer)
    notebook.run(check)
    expect(feedback).to_contain_text("FAIL", timeout=UI_MS)
    expect(feedback).to_contain_text(re.compile(r"得分 Total：0/\d+ 分"), timeout=UI_MS)

    notebook.type_code(answer, reference_answer(question))
    notebook.run(answer)
    notebook.run(check)
    expect(feedback).to_contain_text(re.compile(r"得分 Total：(\d+)/\1 分"), timeout=UI_MS)
    expect(feedback).to_contain_text("PASS", timeout=UI_MS)
    expect(feedback).not_to_contain_text("FAIL", timeout=UI_MS)
    feedback.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "exercise-pass.png")


def test_slider_redraws_figure_with_live_kernel(page, lab):
    from playwright.sync_api import expect

    cells = load_cells(SLIDER_PAGE)
    slider_cell = next(i for i, c in enumerate(cells)
                       if c["cell_type"] == "code"
                       and ("interact(" in source(c) or "interact_frames(" in source(c)))
    notebook = Notebook(page, lab, SLIDER_PAGE)
    # the page is stored executed, with its widget's saved state: that slider has no kernel behind it
    notebook.forget_stored_outputs(slider_cell)
    for i, c in enumerate(cells[: slider_cell + 1]):
        if c["cell_type"] == "code":
            notebook.run(i)
    live = notebook.cell(slider_cell).locator(".jp-OutputArea-output:not([data-stored])")
    handle = live.locator(".widget-slider .noUi-handle")
    figure = live.locator("img")
    readout = live.locator(".widget-readout")
    expect(handle).to_be_visible(timeout=UI_MS)
    expect(figure).to_be_visible(timeout=UI_MS)
    before_value, before_figure = readout.inner_text(), figure.get_attribute("src")

    handle.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(readout).not_to_have_text(before_value, timeout=UI_MS)
    expect(figure).not_to_have_attribute("src", before_figure, timeout=KERNEL_STEP_S * 1000)
    notebook.wait_until_idle()  # every redraw asked for is done: the figure shows the final value
    notebook.cell(slider_cell).scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "slider-moved.png")


def test_a_server_that_never_answers_fails_clearly(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "SERVER_START_S", 1)
    log = tmp_path / "server.log"
    log.write_text("starting\n")
    silent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with pytest.raises(pytest.fail.Exception, match=r"did not answer within 1 s(.|\n)*starting"):
            wait_for_server(silent, tmp_path, "token", log)
    finally:
        silent.kill()
        silent.wait()


def test_a_server_that_exits_fails_clearly(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("Running as root is not recommended\n")
    exited = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    exited.wait()
    with pytest.raises(pytest.fail.Exception, match=r"exited with status 3(.|\n)*Running as root"):
        wait_for_server(exited, tmp_path, "token", log)
