"""Moving through ``trace.steps``: by step, by layer or block, to a layer, to a pseudocode line.

Pure functions of the step list and the current index, so the keyboard, the step list,
the overview and the pseudocode panel all move the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from explorer.trace import Step


def group_key(step: Step) -> tuple:
    """The group a step is listed under: (stack, layer) inside layers, else (stack, block)."""
    if step.layer is not None:
        return (step.stack or "", "layer", step.layer)
    return (step.stack or "", step.block, -1)


def group_title(step: Step) -> str:
    """``Embedding``, ``Layer 2``, ``Encoder layer 1``, ``Final norm``, ``Output``."""
    where = f"{step.stack.capitalize()} " if step.stack else ""
    if step.layer is not None:
        return f"{where}layer {step.layer + 1}".capitalize()
    names = {"embed": "embedding", "final": "final norm / head", "output": "output"}
    return f"{where}{names.get(step.block, step.block)}".capitalize()


def clamp(index: int, steps: Sequence[Step]) -> int:
    return max(0, min(len(steps) - 1, index))


def group_start(steps: Sequence[Step], index: int) -> int:
    """The first step of the group ``index`` is in."""
    key = group_key(steps[index])
    while index > 0 and group_key(steps[index - 1]) == key:
        index -= 1
    return index


def next_group(steps: Sequence[Step], index: int) -> int:
    """The first step of the next group (PageDown); stays at the last group's start."""
    if not steps:
        return 0
    key = group_key(steps[index])
    for i in range(index + 1, len(steps)):
        if group_key(steps[i]) != key:
            return i
    return group_start(steps, index)


def prev_group(steps: Sequence[Step], index: int) -> int:
    """The start of the current group, or of the previous one when already there (PageUp)."""
    if not steps:
        return 0
    start = group_start(steps, index)
    if start < index:
        return start
    return group_start(steps, start - 1) if start > 0 else 0


def layer_start(steps: Sequence[Step], layer: int, index: int) -> int | None:
    """The first step of 0-based ``layer``; pressing it again in the encoder's layer goes to
    the decoder's layer of the same number. None when the model has no such layer."""
    hits = [i for i, s in enumerate(steps) if s.layer == layer]
    if not hits:
        return None
    starts = [i for i in hits if i == 0 or group_key(steps[i - 1]) != group_key(steps[i])]
    current = steps[index] if steps else None
    if current is not None and current.layer == layer and len(starts) > 1:
        later = [i for i in starts if steps[i].stack != current.stack]
        if later:
            return later[0]
    return starts[0]


def line_step(steps: Sequence[Step], algorithm: int, line: int, index: int) -> int | None:
    """The step that executes ``line`` of ``algorithm``, nearest to where we are.

    A line of the architecture algorithm (8/9/10) matches the steps inside it (via
    ``step.outer``); a line of a sub-algorithm (1-7) matches ``step.algorithm/line``. Among
    several (one per layer), the one in the current layer and block wins, then the current
    layer, then the first.
    """
    def matches(s: Step) -> bool:
        return (s.algorithm == algorithm and s.line == line) or s.outer == (algorithm, line)

    hits = [i for i, s in enumerate(steps) if matches(s)]
    if not hits:
        return None
    cur = steps[index] if steps else None
    if cur is not None:
        for same in (lambda s: (s.stack, s.layer, s.block) == (cur.stack, cur.layer, cur.block),
                     lambda s: (s.stack, s.layer) == (cur.stack, cur.layer)):
            near = [i for i in hits if same(steps[i])]
            if near:
                return near[0]
    return hits[0]


JUMPS = {  # key -> (what it finds, the sentence when a model has none)
    "attention": "an attention pattern",
    "mlp": "an MLP",
    "output": "an output distribution",
    "tokens": "token ids",
}


def _is_target(steps: Sequence[Step], i: int, target: str) -> bool:
    s = steps[i]
    if target == "attention":
        return s.kind == "pattern"
    if target == "mlp":
        return s.block == "mlp" and (i == 0 or steps[i - 1].block != "mlp"
                                     or steps[i - 1].layer != s.layer)
    if target == "output":
        return s.kind == "probs" or s.name.endswith("class_probs")
    if target == "tokens":
        return s.kind == "ids"
    raise ValueError(f"unknown jump {target!r}; one of {', '.join(JUMPS)}")


def next_of(steps: Sequence[Step], index: int, target: str) -> int | None:
    """The next step after ``index`` that is ``target`` (one of ``JUMPS``), wrapping round
    to the first; None when the model has none. The lecturer's single-key jumps."""
    n = len(steps)
    for k in range(1, n + 1):
        i = (index + k) % n
        if _is_target(steps, i, target):
            return i
    return None
