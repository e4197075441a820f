"""Loaded by a grader process started with this folder on PYTHONPATH: it makes every large printed
message (a stream message of over 1 MB) take AIBOOK_SLOW_OUTPUT_SECONDS (default 10) to read, as on
a slow or busy machine. nbclient waits only 4 s (``iopub_timeout``) for a cell's output after the
kernel replied and then drops what has not arrived, the grader's result included: that is how
printing 50 MB per call cost a right answer its points on a slower machine (issue 27). Made slow
on purpose, the test's verdict no longer depends on how fast this machine happens to be."""

import asyncio
import os

from jupyter_client.channels import AsyncZMQSocketChannel

_SECONDS = float(os.environ.get("AIBOOK_SLOW_OUTPUT_SECONDS", "10"))
_get_msg = AsyncZMQSocketChannel.get_msg


async def _slow_get_msg(self, timeout=None):
    msg = await _get_msg(self, timeout)
    if msg.get("msg_type") == "stream" and len(msg.get("content", {}).get("text", "")) > 1_000_000:
        await asyncio.sleep(_SECONDS)
    return msg


AsyncZMQSocketChannel.get_msg = _slow_get_msg
