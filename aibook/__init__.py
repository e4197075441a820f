"""Helper package of the interactive textbook on large AI models (AI 大模型).

Notebooks import from here instead of copying helpers; every public function has unit tests.
"""

from aibook.device import get_device, seed_everything, setup_notebook

__all__ = ["get_device", "seed_everything", "setup_notebook"]
__version__ = "0.1.0"
