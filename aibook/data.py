"""Datasets, offline first.

Fashion-MNIST is looked for in this order: the cache folder (``AIBOOK_DATA`` or
``~/.cache/aibook``), the Debian package ``dataset-fashion-mnist``, then a download from the
official mirror. Every file is checked by the SHA-256 of its *uncompressed* bytes, so the
Debian copy (recompressed) and the official one pass the same check, and a wrong, truncated or
corrupted file is never used silently. CIFAR-10 (for readers who are online) is downloaded from
its author's site and checked by the SHA-256 of the archive.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# file name -> SHA-256 of the uncompressed IDX bytes (identical for the Debian and official copies)
FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


class DataError(RuntimeError):
    """A dataset is missing or damaged; the message is one line that says what to do."""


class Split(NamedTuple):
    """Images (uint8, N×H×W or N×C×H×W) and integer labels (int64, N) of one split."""

    images: torch.Tensor
    labels: torch.Tensor


def data_home() -> Path:
    """The cache folder: ``$AIBOOK_DATA`` if set, else ``~/.cache/aibook``."""
    return Path(os.environ.get("AIBOOK_DATA") or Path.home() / ".cache" / "aibook")


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 of ``data`` as hex: how downloaded and cached files are checked."""
    return hashlib.sha256(data).hexdigest()


def parse_idx(data: bytes, source: str = "IDX data") -> np.ndarray:
    """Parse uncompressed IDX bytes (the MNIST format) into a uint8 array, checking its header."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"{source} is not an IDX file of unsigned bytes (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DataError(f"{source} has a truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise DataError(
            f"{source} holds {len(data) - header} bytes of data, its header promises {expected}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_idx_gz(path: Path, sha256: str | None) -> np.ndarray:
    """Read a gzip IDX file; check the SHA-256 of its uncompressed bytes when one is given."""
    fix = "delete it and run 'make data', or set AIBOOK_DATA to a folder with good copies"
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"{path} is truncated or not gzip ({e.__class__.__name__}): {fix}") from None
    if sha256 is not None and sha256_bytes(data) != sha256:
        raise DataError(f"{path} is corrupted (SHA-256 mismatch): {fix}")
    return parse_idx(data, str(path))


def download_verified(url: str, dest: Path, sha256: str, uncompressed: bool = False) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying the SHA-256 before the file appears.

    With ``uncompressed`` the checksum is of the gunzipped bytes (as for Fashion-MNIST).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
    except OSError as e:
        raise DataError(
            f"could not download {url} ({e}): check the connection or install the data offline"
        ) from None
    try:
        digest = sha256_bytes(gzip.decompress(data) if uncompressed else data)
    except (OSError, EOFError):
        digest = "not gzip"
    if digest != sha256:
        raise DataError(f"download of {url} failed its SHA-256 check: try again later")
    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, dest)
    return dest


def find_or_fetch(
    files: dict[str, str],
    folders: list[Path],
    mirror: str | None,
    cache: Path,
) -> dict[str, Path]:
    """Locate every file of a dataset in the first folder that has them all, else download.

    A folder with only some of the files is skipped; a download goes to ``cache``.
    """
    for folder in folders:
        paths = {name: folder / name for name in files}
        if all(p.is_file() for p in paths.values()):
            return paths
    if mirror is None:
        where = ", ".join(str(f) for f in folders)
        raise DataError(
            f"dataset files {sorted(files)} not found in {where}: run 'make data' "
            "(installs the Debian package) or set AIBOOK_DATA"
        )
    return {
        name: download_verified(mirror + name, cache / name, sha, uncompressed=True)
        for name, sha in files.items()
    }


def fashion_mnist(root: str | Path | None = None, download: bool = True) -> tuple[Split, Split]:
    """Return the Fashion-MNIST (train, test) splits as uint8 images N×28×28 and int64 labels.

    ``root`` replaces the cache folder; ``download=False`` never touches the network.
    """
    cache = Path(root) if root is not None else data_home() / "fashion-mnist"
    paths = find_or_fetch(
        FASHION_MNIST_FILES,
        [cache, DEBIAN_FASHION_MNIST],
        FASHION_MNIST_MIRROR if download else None,
        cache,
    )
    arrays = {name: read_idx_gz(path, FASHION_MNIST_FILES[name]) for name, path in paths.items()}
    return tuple(  # type: ignore[return-value]
        Split(
            torch.from_numpy(arrays[f"{prefix}-images-idx3-ubyte.gz"].copy()),
            torch.from_numpy(arrays[f"{prefix}-labels-idx1-ubyte.gz"].astype(np.int64)),
        )
        for prefix in ("train", "t10k")
    )


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as f:
            batch = pickle.load(f, encoding="bytes")  # noqa: S301 (archive was checksum-verified)
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (OSError, EOFError, KeyError, ValueError, pickle.UnpicklingError) as e:
        raise DataError(
            f"{path} is not a readable CIFAR-10 batch ({e.__class__.__name__}): "
            "delete the folder and download again"
        ) from None
    if len(data) != len(labels):
        raise DataError(f"{path} has {len(data)} images but {len(labels)} labels")
    return data, labels


def cifar10(root: str | Path | None = None, download: bool = True) -> tuple[Split, Split]:
    """Return CIFAR-10 (train, test) as uint8 images N×3×32×32 and int64 labels.

    Reads the python-pickle batches in ``root/cifar-10-batches-py`` (root defaults to the cache
    folder), downloading and verifying the official archive first when they are missing.
    """
    root = Path(root) if root is not None else data_home() / "cifar10"
    folder = root / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    if not all((folder / n).is_file() for n in names):
        if not download:
            raise DataError(
                f"CIFAR-10 not found in {folder}: call cifar10(download=True) while online"
            )
        archive = root / "cifar-10-python.tar.gz"
        if not archive.is_file() or sha256_bytes(archive.read_bytes()) != CIFAR10_SHA256:
            download_verified(CIFAR10_URL, archive, CIFAR10_SHA256)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(root, filter="data")
    train = [_read_cifar_batch(folder / n) for n in names[:5]]
    test = _read_cifar_batch(folder / "test_batch")
    return (
        Split(
            torch.from_numpy(np.concatenate([d for d, _ in train])),
            torch.from_numpy(np.concatenate([lab for _, lab in train])),
        ),
        Split(torch.from_numpy(test[0]), torch.from_numpy(test[1])),
    )


def main() -> None:
    """``python -m aibook.data``: make sure Fashion-MNIST is available and say where it is."""
    train, test = fashion_mnist()
    print(f"Fashion-MNIST ready: {len(train.labels)} training and {len(test.labels)} test images")


if __name__ == "__main__":
    try:
        main()
    except DataError as e:
        raise SystemExit(f"error: {e}") from None
