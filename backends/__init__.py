"""Code generation and runtimes. ``numpy`` runs on the CPU, ``triton`` on NVIDIA GPUs.

Backends read ``ir`` and never import ``graphc``.
"""

BACKEND_FOR_DEVICE = {"cpu": "numpy", "cuda": "triton"}
