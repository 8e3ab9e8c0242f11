"""What a compilation produces, as data: :class:`Report` (the graphs at each stage, the
kernels, the generated program); :class:`KernelInfo` (one kernel's source and nodes) is the
backends' shared type, re-exported here.

Plain data classes, below both the pipeline that fills them (:mod:`graphc._pipeline`)
and :mod:`graphc.viz`, which draws and (de)serializes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from backends import KernelInfo  # noqa: F401  (its home; graphc.viz and explain() read it here)


@dataclass
class Report:
    """What ``explain()`` returns: the graphs at each stage and the generated kernels."""

    function: str
    signature: str
    traced: object  # ir.Graph as traced (forward and backward)
    optimized: object  # ir.Graph after simplify, nodes tagged with meta['kernel']
    kernels: list
    program_source: str
    backend: str
    timings: dict
    schedule: object = None

    def __str__(self) -> str:
        lines = [
            f"graphc.compile report for {self.function}{self.signature} [{self.backend} backend]",
            f"  traced: {len(self.traced)} nodes; optimized: {len(self.optimized)} nodes; kernels: {len(self.kernels)}",
            "  times: " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in self.timings.items()),
            "",
            "== traced graph ==",
            str(self.traced),
            "",
            "== optimized graph ==",
            str(self.optimized),
            "",
            "== kernels ==",
        ]
        for k in self.kernels:
            lines.append(f"-- {k.name} ({k.kind}): nodes {', '.join('%' + str(i) for i in k.nodes)}")
            lines.append(k.source)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<graphc.compile Report {self.function}: {len(self.traced)} traced nodes, {len(self.kernels)} kernels>"
