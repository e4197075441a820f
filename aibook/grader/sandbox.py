"""Where the learner's code runs: an unprivileged identity per grading slot, a private scratch
folder, a copy of the learner library without the grader, and nothing left running afterwards.

Why these choices (the README's "Exercises and grading" section says the same for instructors):

- **One system user per slot** (``aibook-grader-0``, ``-1``, ... created on demand with ``useradd``;
  a slot is one submission being graded at a time, held by a lock file). The kernel runs as that
  user through util-linux's ``setpriv`` (no supplementary groups, ``no_new_privs``), so it cannot
  write the grader's package, the results, the submissions or the grader's terminal (``/proc/PID/fd``
  of a root process), and cannot signal the grader. Two kernels graded at the same time have
  different users, so neither can signal, trace or connect to the other. When a notebook ends, a
  process of that user kills every process of that user (``kill(-1, SIGKILL)``): a daemon that left
  the kernel's session dies with it.
- **A mount namespace** (``unshare --mount``), where the kernel may create one (root with
  CAP_SYS_ADMIN: a VM, CI, ``docker --privileged``): empty folders are mounted over the grader's
  package (question banks and their references), the answer keys (``solutions/``) and the folders
  of the submissions, so the learner's code cannot read them. Where it cannot, the grader checks the
  files' permissions and says at the top of its output what the learner's identity can read.
- **A copy of the learner library** without ``aibook/grader`` (a stub whose ``check`` does nothing,
  so learners' own ``check(...)`` calls are skipped in batch grading) comes first on the kernel's
  ``sys.path``: the real package is neither imported nor importable by name.

Without root (or without ``setpriv``/``useradd``) none of this is possible: the kernel then runs
as the grader's user, and the grader prints that warning first.
"""

# Over 300 lines on purpose: identities, scratch folders and the kernel's command make one security
# boundary, reviewed together.

from __future__ import annotations

import ast
import atexit
import errno
import fcntl
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import aibook

IDENTITY_PREFIX = "aibook-grader"
MAX_SLOTS = 64
MAX_PROCESSES = 256  # per identity (RLIMIT_NPROC counts threads; a kernel uses about 10): stops a fork bomb
MAX_FILE_BYTES = 2**30  # one file the learner's code writes (RLIMIT_FSIZE)
SHARED_TEMP = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))  # where any identity may leave files


def max_data_bytes() -> int:
    """Memory one learner process may allocate (RLIMIT_DATA): ``AIBOOK_GRADER_MEMORY_MB``, default
    4096; a kernel with PyTorch imported uses about 250 MB. Beyond it the allocation fails in the
    learner's code (MemoryError), and never takes the machine's memory from the grader."""
    return int(os.environ.get("AIBOOK_GRADER_MEMORY_MB", "4096")) * 2**20
PACKAGE = Path(aibook.__file__).resolve().parent
GRADER = PACKAGE / "grader"
_STUB = '''"""The grader's stub inside a grading kernel: the real grader runs outside this kernel."""


def check(question_id, answer=None):
    """Skipped while a notebook is graded: the grader tests every answer itself."""
    print(f"check({question_id!r}) 已跳过（skipped during batch grading）")
'''
# Run first in the kernel (from the copy's folder): forget the editable install of the real package.
_SITECUSTOMIZE = '''import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in getattr(f, "__module__", "")
                    and "editable" not in getattr(f, "__name__", "")]
'''
_HIDE = 'for p in "$@"; do [ "$p" = -- ] && break; mount -t tmpfs -o size=16k,mode=0555 aibook-hidden "$p" ' \
        '|| exit 97; shift; done; shift; exec "$@"'


@dataclass(frozen=True)
class Isolation:
    """What this machine allows: ``users`` (an identity per slot), ``namespaces`` (hidden files)."""

    users: bool
    namespaces: bool
    why_not: str = ""


@cache
def isolation() -> Isolation:
    """Probe once per process what isolation this machine can give the learner's code."""
    if sys.platform != "linux":
        return Isolation(False, False, "not Linux")
    if os.geteuid() != 0:
        return Isolation(False, False, "the grader does not run as root, so it cannot switch users")
    missing = [t for t in ("setpriv", "useradd", "prlimit") if shutil.which(t) is None]
    if missing:
        return Isolation(False, False,
                         f"{', '.join(missing)} not installed (Debian/Ubuntu: util-linux, passwd)")
    if os.environ.get("AIBOOK_GRADER_NO_NAMESPACES"):
        return Isolation(True, False)
    try:
        probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                               capture_output=True, timeout=30)
        namespaces = probe.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        namespaces = False
    return Isolation(True, namespaces)


def readable_by_others(path: Path) -> bool:
    """Whether a user with no rights of its own can read ``path`` (world bits along the path)."""
    try:
        path = path.resolve()
        for folder in path.parents:
            if not folder.stat().st_mode & stat.S_IXOTH:
                return False
        return bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False


def warnings_for(extra_private: list[Path] = ()) -> list[str]:
    """Lines the grader prints first: what the learner's code can reach on this machine."""
    iso = isolation()
    if not iso.users:
        return [f"warning: no isolation ({iso.why_not}): the learner's code runs with your rights and "
                "can read the answer keys and change files and grades; grade as root (or in the "
                "container of the README)"]
    if iso.namespaces:
        return []
    exposed = [p for p in (GRADER / "banks", _solutions(), *extra_private)
               if p is not None and readable_by_others(p)]
    if not exposed:
        return []
    return [f"warning: partial isolation (no mount namespace): the learner's identity can read "
            f"{', '.join(map(str, exposed))}; run `chmod -R o-rwx` on them or grade where "
            "`unshare --mount` works"]


def _solutions() -> Path | None:
    folder = PACKAGE.parent / "solutions"
    return folder if folder.is_dir() else None


def package_digest() -> str:
    """SHA-256 over the grader's own files (paths and bytes): checked again before results are
    written, so a run whose grader changed under it writes nothing."""
    digest = hashlib.sha256()
    for path in sorted(GRADER.rglob("*.py")):
        digest.update(str(path.relative_to(GRADER)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Identities and slots


@dataclass(frozen=True)
class Identity:
    """The system user a slot's kernels run as."""

    name: str
    uid: int
    gid: int


def _ensure_user(name: str) -> Identity:
    for attempt in range(20):
        try:
            entry = pwd.getpwnam(name)
            return Identity(name, entry.pw_uid, entry.pw_gid)
        except KeyError:
            pass
        made = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                               "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                              capture_output=True, text=True)
        if made.returncode not in (0, 9):  # 9: made meanwhile by another grader
            time.sleep(0.2 + 0.1 * attempt)  # /etc/passwd is locked by a concurrent useradd
    raise RuntimeError(f"cannot create the system user {name}: {made.stderr.strip()}")


def _lock_folder() -> Path:
    """A folder only root can write (a learner must not pre-create or swap the lock files)."""
    for base in (Path("/run"), Path(tempfile.gettempdir())):
        folder = base / "aibook-grader-slots"
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            info = os.lstat(folder)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and not info.st_mode & 0o022:
            return folder
    raise RuntimeError("no safe folder for the grader's slot locks (/run or the temp folder)")


class Slot:
    """One grading slot held for one submission: its identity and an exclusive lock."""

    def __init__(self) -> None:
        folder = _lock_folder()
        for n in range(MAX_SLOTS):
            handle = open(folder / f"slot-{n}.lock", "a")  # noqa: SIM115 (held until release)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                handle.close()
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    continue
                raise
            self._handle = handle
            self.identity = _ensure_user(f"{IDENTITY_PREFIX}-{n}")
            kill_all(self.identity)  # a previous grader killed hard may have left some
            remove_files_of(self.identity)
            return
        raise RuntimeError(f"all {MAX_SLOTS} grading slots are busy")

    def release(self) -> None:
        kill_all(self.identity)
        remove_files_of(self.identity)
        self._handle.close()


def remove_files_of(identity: Identity) -> None:
    """Delete what ``identity`` left in the shared temp folders (a full disk, a file a later
    submission graded as the same user might read, a trap at a path the grader will write)."""
    for folder in SHARED_TEMP:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != identity.uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue


def kill_all_but(identity: Identity, keep: int) -> None:
    """Kill every process of ``identity`` except the kernel ``keep`` (what its cells started)."""
    for _ in range(20):
        others = [pid for pid in processes_of(identity.uid) if pid != keep]
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        time.sleep(0.05)


def processes_of(uid: int) -> list[int]:
    """Process ids whose real or effective user is ``uid``."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as f:
                uids = next(line for line in f if line.startswith("Uid:")).split()[1:3]
        except (OSError, StopIteration):
            continue
        if str(uid) in uids:
            found.append(int(entry.name))
    return found


def kill_all(identity: Identity) -> None:
    """Kill every process of ``identity``: a process of that user sends SIGKILL to all it may
    signal (``kill(-1)``), which is exactly that user's processes, children in new sessions too."""
    for _ in range(20):
        if not processes_of(identity.uid):
            return
        # setpriv and kill, not this Python: the identity may not be able to reach this interpreter
        # (a venv under /root), and a failed killer left a fork bomb's processes running
        subprocess.run(["setpriv", f"--reuid={identity.uid}", f"--regid={identity.gid}", "--clear-groups",
                        "--", "kill", "-KILL", "-1"], env={"PATH": "/usr/bin:/bin"},
                       stdin=subprocess.DEVNULL, capture_output=True)
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# The kernel's files


@cache
def kernel_library() -> Path:
    """A root-owned, world-readable copy of the learner library with the grader replaced by a stub
    (one per grading process, removed at exit); it goes first on the kernel's ``sys.path``."""
    root = Path(tempfile.mkdtemp(prefix="aibook-kernel-lib-"))
    atexit.register(shutil.rmtree, root, True)
    root.chmod(0o755)
    shutil.copytree(PACKAGE, root / "aibook",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "grader", "booktools"))
    (root / "aibook" / "grader").mkdir()
    (root / "aibook" / "grader" / "__init__.py").write_text(_STUB, encoding="utf-8")
    helpers = kernel_helpers()
    if helpers:
        (root / "aibook" / "grader" / "banks").mkdir()
        (root / "aibook" / "grader" / "banks" / "__init__.py").write_text("", encoding="utf-8")
    for module, source in helpers.items():
        (root / "aibook" / "grader" / "banks" / f"{module}.py").write_text(source, encoding="utf-8")
    (root / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


@cache
def kernel_helpers() -> dict[str, str]:
    """Bank module name -> source of the definitions its ``KERNEL_HELPERS`` names (the given code of
    answer cells imports them), extracted statement by statement: nothing else of the bank."""
    found = {}
    for path in sorted((GRADER / "banks").glob("ch*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        wanted: set[str] = set()
        for node in tree.body:
            targets = [getattr(t, "id", "") for t in getattr(node, "targets", ())]
            if isinstance(node, ast.Assign) and "KERNEL_HELPERS" in targets:
                wanted = set(ast.literal_eval(node.value))
        if not wanted:
            continue
        parts = ["from __future__ import annotations"]
        for node in tree.body:
            names = {getattr(t, "id", "") for t in getattr(node, "targets", ())} | {getattr(node, "name", "")}
            if names & wanted:
                parts.append(ast.get_source_segment(source, node))
        found[path.stem] = "\n\n\n".join(parts) + "\n"
    return found


class Scratch:
    """A private folder per submission: ``work`` (the kernel's cwd and HOME) belongs to the slot's
    identity and no one else may enter it; the folder around it is root's."""

    def __init__(self, identity: Identity | None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="aibook-grade-"))
        self.work = self.root / "work"
        self.work.mkdir(mode=0o700)
        if identity is not None:
            self.root.chmod(0o711)
            os.chown(self.work, identity.uid, identity.gid)
        self._copy_matplotlib_cache(identity)

    def _copy_matplotlib_cache(self, identity: Identity | None) -> None:
        """matplotlib's font list, so each kernel does not rebuild it (seconds per submission)."""
        target = self.work / ".mpl"
        target.mkdir()
        source = Path(os.environ.get("MPLCONFIGDIR") or Path.home() / ".cache" / "matplotlib")
        for font_list in source.glob("fontlist-*.json") if source.is_dir() else ():
            shutil.copy(font_list, target / font_list.name)
        if identity is not None:
            for path in [target, *target.iterdir()]:
                os.chown(path, identity.uid, identity.gid)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def kernel_environment(work: Path) -> dict[str, str]:
    """The kernel's whole environment: nothing of the grader's own (tokens, paths) leaks in."""
    keep = ("LANG", "LC_ALL", "TZ", "AIBOOK_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
            "MKL_NUM_THREADS")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", HOME=str(work),
               TMPDIR=str(work), MPLCONFIGDIR=str(work / ".mpl"), IPYTHONDIR=str(work / ".ipython"),
               PYTHONPATH=str(kernel_library()), PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    return env


def kernel_prefix(identity: Identity | None, hide: list[Path]) -> list[str]:
    """The command that goes before the kernel's own: new mount namespace with ``hide`` covered,
    then a process limit and the switch to ``identity``."""
    if identity is None:
        return []
    prefix: list[str] = []
    if isolation().namespaces and hide:
        prefix = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _HIDE, "sh",
                  *map(str, hide), "--"]
    # the kernel is the first process the OOM killer takes, never the grader
    oom = ["choom", "-n", "1000", "--"] if shutil.which("choom") else []
    return [*prefix, "prlimit", f"--nproc={MAX_PROCESSES}", "--core=0", f"--data={max_data_bytes()}",
            f"--fsize={MAX_FILE_BYTES}", "--", *oom, "setpriv", f"--reuid={identity.uid}",
            f"--regid={identity.gid}", "--clear-groups", "--no-new-privs", "--"]


def folders_to_hide(submissions: list[Path], keep: list[Path]) -> list[Path]:
    """The grader's package, the answer keys and the submissions' folders, except a folder that
    holds what the kernel needs (``keep``: the Python installation, the scratch folder)."""
    wanted = [GRADER, _solutions(), *(p.resolve().parent for p in submissions)]
    needed = [k.resolve() for k in keep]
    hide: list[Path] = []
    for folder in wanted:
        if folder is None or folder in hide or not folder.is_dir():
            continue
        if any(n == folder or folder in n.parents for n in needed):
            continue
        hide.append(folder)
    return hide

