"""Data loaders: every source in its order, and every way a file can be broken.

Small valid and broken IDX / CIFAR files are written by the tests; downloads are served from a
loopback HTTP server, so nothing here needs the internet.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import pickle
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from aibook import data
from aibook.data import DataError


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def small_fashion(folder: Path, n_train=6, n_test=4, seed=0) -> dict[str, str]:
    """Write a tiny Fashion-MNIST-shaped dataset; return its file -> SHA-256 table."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test),
    }
    folder.mkdir(parents=True, exist_ok=True)
    table = {}
    for name, arr in arrays.items():
        raw = idx_bytes(arr)
        (folder / name).write_bytes(gzip.compress(raw))
        table[name] = hashlib.sha256(raw).hexdigest()
    return table


@pytest.fixture
def fake_fashion(tmp_path, monkeypatch):
    """A small dataset whose checksums replace the real ones; Debian folder pointed at tmp."""
    debian = tmp_path / "debian"
    table = small_fashion(debian)
    monkeypatch.setattr(data, "FASHION_MNIST_FILES", table)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", debian)
    return debian, table


@pytest.fixture
def http_folder(tmp_path):
    """Serve a folder on 127.0.0.1; yields (folder, base_url)."""
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def test_parse_idx_reads_shape_and_values():
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(data.parse_idx(idx_bytes(arr)), arr)


@pytest.mark.parametrize(
    "raw,message",
    [(b"\x00\x00\x0d\x01", "bad magic"), (b"\x00\x00\x08\x03\x00", "truncated IDX header"),
     (idx_bytes(np.zeros((2, 2)))[:-1], "holds 3 bytes of data, its header promises 4")],
)  # fmt: skip
def test_parse_idx_rejects_broken_headers(raw, message):
    with pytest.raises(DataError, match=message):
        data.parse_idx(raw)


def test_debian_folder_used_when_cache_empty(fake_fashion, tmp_path):
    train, test = data.fashion_mnist(root=tmp_path / "empty-cache", download=False)
    assert train.images.shape == (6, 28, 28) and test.labels.shape == (4,)
    assert str(train.images.dtype) == "torch.uint8" and str(train.labels.dtype) == "torch.int64"


def test_cache_folder_comes_before_debian(fake_fashion, tmp_path, monkeypatch):
    debian, _ = fake_fashion
    cache = tmp_path / "cache"
    table = small_fashion(cache, n_train=3, n_test=2, seed=1)
    monkeypatch.setattr(data, "FASHION_MNIST_FILES", table)  # cache's files are the good ones
    train, test = data.fashion_mnist(root=cache, download=False)
    assert len(train.labels) == 3 and len(test.labels) == 2


def test_environment_variable_sets_the_cache(fake_fashion, tmp_path, monkeypatch):
    monkeypatch.setenv("AIBOOK_DATA", str(tmp_path / "envcache"))
    assert data.data_home() == tmp_path / "envcache"
    train, _ = data.fashion_mnist(download=False)  # falls through to the (fake) Debian folder
    assert len(train.labels) == 6


def test_missing_everywhere_without_download_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "nothing")
    with pytest.raises(DataError, match="run 'make data'"):
        data.fashion_mnist(root=tmp_path / "cache", download=False)


def test_download_from_mirror_is_verified_and_cached(fake_fashion, tmp_path, monkeypatch, http_folder):
    debian, table = fake_fashion
    served, url = http_folder
    for name in table:
        (served / name).write_bytes((debian / name).read_bytes())
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    monkeypatch.setattr(data, "FASHION_MNIST_MIRROR", url)
    cache = tmp_path / "cache"
    train, _ = data.fashion_mnist(root=cache)
    assert len(train.labels) == 6 and sorted(p.name for p in cache.iterdir()) == sorted(table)


def test_download_with_wrong_checksum_leaves_no_file(fake_fashion, tmp_path, monkeypatch, http_folder):
    _, table = fake_fashion
    served, url = http_folder
    small_fashion(served, seed=7)  # different content than the checksums promise
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    monkeypatch.setattr(data, "FASHION_MNIST_MIRROR", url)
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="failed its SHA-256 check"):
        data.fashion_mnist(root=cache)
    assert not any(cache.glob("*.gz"))


def test_unreachable_mirror_gives_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    monkeypatch.setattr(data, "FASHION_MNIST_MIRROR", "http://127.0.0.1:9/")
    with pytest.raises(DataError, match="could not download") as err:
        data.fashion_mnist(root=tmp_path / "cache")
    assert "\n" not in str(err.value)


def test_truncated_file_is_reported_by_name(fake_fashion):
    debian, _ = fake_fashion
    victim = debian / "train-images-idx3-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz is truncated or not gzip"):
        data.fashion_mnist(root=debian.parent / "cache", download=False)


def test_corrupted_file_fails_checksum(fake_fashion):
    debian, _ = fake_fashion
    victim = debian / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(victim.read_bytes()))
    raw[-1] ^= 0xFF  # one flipped byte: still a valid IDX file, silently wrong without a checksum
    victim.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz is corrupted"):
        data.fashion_mnist(root=debian.parent / "cache", download=False)


@pytest.mark.skipif(not data.DEBIAN_FASHION_MNIST.is_dir(),
                    reason="Debian package dataset-fashion-mnist not installed (make sysdeps)")
def test_real_fashion_mnist_from_debian_package():
    train, test = data.fashion_mnist(download=False)
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert np.bincount(train.labels.numpy()).tolist() == [6000] * 10
    assert len(data.FASHION_MNIST_CLASSES) == 10


def write_cifar(folder: Path, per_batch=4, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 b"labels": rng.integers(0, 10, per_batch).tolist()}
        (folder / name).write_bytes(pickle.dumps(batch))


def test_cifar10_reads_python_batches(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py")
    train, test = data.cifar10(root=tmp_path, download=False)
    assert train.images.shape == (20, 3, 32, 32) and test.images.shape == (4, 3, 32, 32)
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "data_batch_1").read_bytes())
    np.testing.assert_array_equal(train.images[0].numpy().reshape(-1), raw[b"data"][0])


def test_cifar10_missing_offline_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match="download=True"):
        data.cifar10(root=tmp_path, download=False)


def test_cifar10_broken_batch_is_named(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    (folder / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="test_batch is not a readable CIFAR-10 batch"):
        data.cifar10(root=tmp_path, download=False)


def test_cifar10_downloads_verifies_and_extracts(tmp_path, monkeypatch, http_folder):
    served, url = http_folder
    write_cifar(tmp_path / "src" / "cifar-10-batches-py")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    (served / "cifar.tar.gz").write_bytes(buf.getvalue())
    monkeypatch.setattr(data, "CIFAR10_URL", url + "cifar.tar.gz")
    monkeypatch.setattr(data, "CIFAR10_SHA256", hashlib.sha256(buf.getvalue()).hexdigest())
    train, test = data.cifar10(root=tmp_path / "dl")
    assert len(train.labels) == 20 and len(test.labels) == 4
    monkeypatch.setattr(data, "CIFAR10_SHA256", "0" * 64)
    with pytest.raises(DataError, match="SHA-256"):
        data.cifar10(root=tmp_path / "dl2")
