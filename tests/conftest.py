"""Test session setup.

Multithreaded OpenBLAS on the many tiny q-space problems of model selection (28 x 28 solves,
L-BFGS steps) is 10x slower than one thread on a loaded 2-core machine (threads spin-wait for
each other). The tests pin BLAS to one thread; this must run before numpy is imported.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
