"""BLAS threading: one thread where matrices are small or where we parallelise ourselves."""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager

from threadpoolctl import ThreadpoolController


@functools.cache
def _controller() -> ThreadpoolController:
    # inspecting the loaded BLAS libraries costs ~ms: do it once per process
    return ThreadpoolController()


def single_blas_thread() -> AbstractContextManager:
    """Context in which BLAS uses one thread (restored on exit)."""
    return _controller().limit(limits=1, user_api="blas")
