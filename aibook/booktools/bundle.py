"""Every notebook of the book in one zip, to run offline or upload to Colab.

    python -m aibook.booktools.bundle            # writes _build/bundle/aibook-notebooks.zip

The zip holds book/ (chapter notebooks with their stored outputs, and the data files some of them
read), exercises/ (blank exercise notebooks), the helper package with pyproject.toml so that
`pip install .` works without a network to the repository, and a README on running them.
Entries are sorted and dated 1980-01-01, so the same commit gives a byte-identical zip.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "_build" / "bundle" / "aibook-notebooks.zip"
FOLDER = "aibook-notebooks"
BOOK_SUFFIXES = {".ipynb", ".md", ".yml", ".bib", ".json"}
PACKAGE_SUFFIXES = {".py", ".css", ".js"}
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
PLAIN_ROUTE = "book/_plain_route.md"  # the route without make or apt: also on the home page

README = """# {title}：全部笔记本 · all notebooks

本压缩包含本书全部笔记本：`book/`（各章正文，附经测试验证的输出）与 `exercises/`（练习，答案处为 `...`）。
版本：{version}。网站版与 PDF 见 {url}。

## 在本机运行 · run locally

{plain_route}
每个笔记本在两核 CPU 上一分钟内跑完；有 GPU 时自动使用（CUDA → MPS → CPU）。
`requirements-lab.txt` 固定了 `torch==2.13.0`；能访问 PyTorch 的下载站时，加
`--extra-index-url https://download.pytorch.org/whl/cpu` 可以只装较小的 CPU 版。

## 在 Colab 上运行 · run on Colab

在 <https://colab.research.google.com> 选 “上传笔记本（Upload）”，上传任意一个 `.ipynb`。
第一个代码格只在 Colab 上安装本书的辅助包 `aibook`（从 {url}），其余代码不用改。
练习：把 `...` 换成自己的代码，运行其后的 `check(...)` 格即可看到每项测试的 PASS/FAIL 与得分。

## 内容 · contents

{listing}
"""


def package_data(root: Path = ROOT) -> list[Path]:
    """The package's data files (stored results, Chapter 11's checkpoint and tokenizer), by the globs
    pyproject.toml gives setuptools, so that `pip install .` from the bundle installs them too."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"].get("aibook", [])
    return [p for pattern in globs for p in (root / "aibook").glob(pattern)]


def bundle_files(root: Path = ROOT) -> list[Path]:
    """Files of the bundle, relative to root, sorted."""
    files = [p for p in (root / "book").rglob("*") if p.suffix in BOOK_SUFFIXES]
    files += list((root / "exercises").glob("*.ipynb"))
    files += [p for p in (root / "aibook").rglob("*") if p.suffix in PACKAGE_SUFFIXES]
    files += package_data(root)
    top = ("pyproject.toml", "requirements.txt", "requirements-lab.txt", "_toc.yml")
    files += [root / name for name in top]
    skip = (".ipynb_checkpoints", "__pycache__", "_build")
    return sorted({p.relative_to(root) for p in files if p.is_file() and not any(s in p.parts for s in skip)})


def readme(files: list[Path], version_line: str, root: Path = ROOT) -> str:
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    notebooks = [f for f in files if f.suffix == ".ipynb"]
    chapters = sorted({f.parent.as_posix() for f in notebooks if f.parts[0] == "book"})
    count = {c: sum(1 for f in notebooks if f.parent.as_posix() == c) for c in chapters}
    listing = "\n".join(f"- `{c}/`: {n} 个笔记本" for c, n in count.items())
    listing += f"\n- `exercises/`: {sum(1 for f in notebooks if f.parts[0] == 'exercises')} 个练习笔记本"
    plain_route = (root / PLAIN_ROUTE).read_text(encoding="utf-8")
    return README.format(title=config["title"], version=version_line, url=config["repository"]["url"],
                         listing=listing, plain_route=plain_route)


def write_bundle(output: Path = OUTPUT, root: Path = ROOT, version_line: str | None = None) -> list[Path]:
    """Write the zip; return the files it holds (README.md first)."""
    from aibook.booktools.pdf import version

    files = bundle_files(root)
    output.parent.mkdir(parents=True, exist_ok=True)
    text = readme(files, version_line or version(root), root)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as zf:
        entries = [(Path("README.md"), text.encode("utf-8"))]
        entries += [(f, (root / f).read_bytes()) for f in files]
        for name, data in entries:
            info = zipfile.ZipInfo(f"{FOLDER}/{name.as_posix()}", date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return [Path("README.md"), *files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aibook.booktools.bundle",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    files = write_bundle(args.output)
    notebooks = sum(1 for f in files if f.suffix == ".ipynb")
    size = args.output.stat().st_size / 2**20
    print(f"{args.output}: {notebooks} notebooks, {len(files)} files, {size:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
