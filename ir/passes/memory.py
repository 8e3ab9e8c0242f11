"""Memory planning: give each intermediate kernel output a buffer, reusing dead ones.

Values that leave the program (graph outputs, mutation values) get fresh
memory on every call. Every other materialized value gets a *slot*: a buffer
of one dtype that lives as long as the compiled program, reused by later
values once every reader of the previous one (including readers through
views) has run. Persistent slots also avoid the page faults that fresh large
allocations cost on every call.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ops as ops_table


@dataclass
class Plan:
    slot_of: dict  # node id -> slot index (planned intermediates only)
    slot_dtype: list  # slot index -> DType
    slot_elems: list  # slot index -> number of elements (the max over its users)
    fresh: set  # node ids allocated anew on each call (outputs, mutation values)

    def describe(self) -> str:
        total = sum(n * d.itemsize for n, d in zip(self.slot_elems, self.slot_dtype))
        return f"{len(self.slot_elems)} reusable buffers ({total / 1e6:.2f} MB), {len(self.fresh)} fresh outputs"


def plan_memory(schedule, self_allocating=("single",)) -> Plan:
    """Assign slots to the kernel outputs of ``schedule`` (see the module docstring)."""
    graph = schedule.graph
    leaving = {o.id for o in graph.outputs} | {v.id for _, v in graph.mutations}
    users = graph.users()
    step_of = {}
    for idx, (kind, item) in enumerate(schedule.steps):
        if kind == "kernel":
            for n in item.nodes:
                step_of[n.id] = idx
        else:
            step_of[item.id] = idx

    def last_use(n) -> int:
        last = step_of.get(n.id, 0)
        for u in users[n]:
            if u.kind == ops_table.VIEW and u.id in step_of and schedule.kernel_of.get(u.id) is None:
                last = max(last, last_use(u))
                if u.id in leaving:
                    return 1 << 30
            else:
                last = max(last, step_of.get(u.id, last))
        return last

    slot_of, slot_dtype, slot_elems, fresh = {}, [], [], set()
    free: list[int] = []
    releases: dict[int, list] = {}
    for idx, (kind, item) in enumerate(schedule.steps):
        for slot in releases.pop(idx - 1, []):
            free.append(slot)
        if kind != "kernel":
            continue
        for n in item.outputs:
            if n.id in leaving:
                fresh.add(n.id)
                continue
            if item.kind in self_allocating:
                continue
            end = last_use(n)
            if end >= 1 << 30:
                fresh.add(n.id)
                continue
            choice = None
            for s in free:
                if slot_dtype[s] is n.dtype:
                    choice = s
                    break
            if choice is None:
                choice = len(slot_dtype)
                slot_dtype.append(n.dtype)
                slot_elems.append(0)
            else:
                free.remove(choice)
            slot_elems[choice] = max(slot_elems[choice], n.numel)
            slot_of[n.id] = choice
            releases.setdefault(max(end, idx), []).append(choice)
    return Plan(slot_of, slot_dtype, slot_elems, fresh)
