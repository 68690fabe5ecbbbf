"""One thread per test process, as the build gives each lesson kernel (hooks/lessons.py,
kernel_environment): a test computes a lesson's numbers the way the page's code computed them,
and the pytest-xdist workers do not fight over the cores. Only this process: the environment
stays as it was, so the kernels' own setting is still what the kernel tests check."""

import torch

torch.set_num_threads(1)
