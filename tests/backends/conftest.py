"""Backend tests. Importing the Triton backend's environment module first decides its mode:
without a GPU it sets ``TRITON_INTERPRET=1`` before anything imports triton, so the Triton
kernels run under Triton's interpreter on host buffers; with a GPU they run for real."""

try:
    import backends.triton._env  # noqa: F401  (must precede any `import triton`)
except ImportError:  # pragma: no cover
    pass
