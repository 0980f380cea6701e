"""Shared by every test module: each test starts from the same random state, whatever ran before
it, so that no result depends on the order or the subset of tests that pytest runs; and every
test, and every process a test starts, computes on one CPU thread."""
import contextlib
import os
import random
import warnings

import numpy as np
import pytest
import torch


# One thread, in this process and (through OMP_NUM_THREADS) in every subprocess a test starts:
# the tests' tiny convolutions run no faster on more, and on a busy machine far slower, since
# OpenMP threads spin waiting for each other while the cores are taken; and a reduction then sums
# in one order on every machine, whatever its number of cores.
os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def same_random_state():
    """Seed every global generator a test might draw from (torch.randn without a generator,
    np.random, random) before the test."""
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)


@contextlib.contextmanager
def native_cpu_kernels():
    """oneDNN off: torch's own CPU kernels. Used for CPU bf16 autocast checks, because oneDNN's
    bf16 convolution weight gradient returns random NaN on CPUs with avx512_bf16 (torch 2.13)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        with torch.backends.mkldnn.flags(enabled=False):
            yield
