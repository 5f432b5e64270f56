"""Activation patching and head importance: sweeps of many intervened runs, batched.

Activation patching, clean → corrupted, as the ROME and IOI papers define it: run the
corrupted text and replace one activation by the clean text's run; the metric is the
logit difference logit[target] − logit[other] at the last position, normalised so that
0 is the corrupted run and 1 the clean run:
    (LD_patched − LD_corrupted) / (LD_clean − LD_corrupted).
Sweeps: the residual stream entering each layer at each position ("resid"), each
layer's attention and MLP output at each position ("attn_out", "mlp_out"), each head's
output Y^h over all positions ("head_out", layers × heads).

Batched: a patch at layer L changes nothing before L, so its run starts from the
corrupted run's residual stream entering layer L (recorded once). The runs of a batch
enter the stack at their own layer (the batch grows layer by layer) and only the last
position is read out. In a decoder a patch at position t changes nothing before t: the
runs patched at t compute only the positions from t on, attending to the corrupted
run's keys and values of the earlier ones (``explorer.core.Prefix``'s mechanism; not
with rotary positions). ``batched=False`` runs one full forward pass per patch through the
hook points (what a notebook loop does; the benchmark's baseline and the tests'
reference).

The normalised metric is noise when LD_clean and LD_corrupted hardly differ: a sweep's
``weak_difference`` says so (with a sentence for the user) when |LD_clean − LD_corrupted| is
below ``WEAK_FRACTION`` (5 %) of the standard deviation of the clean run's logits over the
vocabulary at the last position, the scale on which a logit difference can be read.

Sweeps take ``progress(done, total)`` and ``cancelled()`` callables so that a window can
run them on a worker thread; ``SweepCancelled`` is raised when ``cancelled()`` says so.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from explorer.analysis.common import (
    AnalysisError,
    Ids,
    check_token,
    check_token_output,
    model_device,
    prepare,
)
from explorer.analysis.intervening import functions_attached, run_intervened
from explorer.analysis.interventions import Patch
from explorer.analysis.locate import output_logits, resid_step, stack_module
from explorer.core.models import TransformerModel
from explorer.trace import record
from explorer.trace.record import weights_key

SWEEP_SITES = ("resid", "attn_out", "mlp_out", "head_out")
REMEMBERED = 4  # sweeps kept for reuse (``activation_patching``)
_REMEMBERED: dict[tuple, tuple[weakref.ref, dict]] = {}  # (the model, not kept alive; sweeps)
_REMEMBERED_LOCK = threading.Lock()
WEAK_FRACTION = 0.05  # |LD_clean − LD_corrupted| below this share of the logits' std: noise
BATCH_BYTES = 1 << 29  # activations of one batch of patched runs (512 MiB)
Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


class SweepCancelled(Exception):
    """The sweep was stopped by its ``cancelled()`` check."""


@dataclass(frozen=True)
class PatchingResult:
    """One sweep: ``values`` the normalised metric per (layer, position) or (layer, head),
    ``logit_diffs`` the patched runs' logit differences (same shape)."""

    site: str
    values: torch.Tensor
    logit_diffs: torch.Tensor
    clean_diff: float
    corrupted_diff: float
    logit_std: float = float("nan")  # std of the clean run's last-position logits

    @property
    def columns(self) -> str:
        return "head" if self.site == "head_out" else "position"

    @property
    def weak_difference(self) -> str | None:
        """A warning when |LD_clean − LD_corrupted| is under ``WEAK_FRACTION`` of the
        clean logits' standard deviation (the normalised values are then noise), else
        None."""
        return weak_difference(self.clean_diff, self.corrupted_diff, self.logit_std)


def weak_difference(clean_diff: float, corrupted_diff: float, logit_std: float) -> str | None:
    """The warning ``PatchingResult.weak_difference`` gives (None when the gap is enough)."""
    gap = abs(clean_diff - corrupted_diff)
    if not logit_std > 0 or gap >= WEAK_FRACTION * logit_std:
        return None
    return (f"the clean and corrupted logit differences are only {gap:.3g} apart, under "
            f"{100 * WEAK_FRACTION:.0f} % of the clean logits' spread (std {logit_std:.3g}): "
            "the normalised values are mostly noise; choose texts or tokens that differ more")


@dataclass(frozen=True)
class _Spec:
    site: str
    layer: int
    position: int | None = None
    head: int | None = None


def tick(progress: Progress | None, cancelled: Cancelled | None, done: int,
          total: int) -> None:
    if cancelled is not None and cancelled():
        raise SweepCancelled("the sweep was cancelled")
    if progress is not None:
        progress(done, total)


def rows_per_batch(model: TransformerModel, length: int, logits: bool = False) -> int:
    """How many runs of ``length`` tokens one batch holds within ``BATCH_BYTES``."""
    cfg = model.cfg
    heads = max(b.attn.n_heads for b in stack_module(model, None).blocks) if cfg.n_layers \
        else 1
    per = length * (8 * cfg.d_e + 3 * cfg.d_mlp + 3 * heads * length)
    if logits:
        per += 2 * length * cfg.vocab_size
    return max(1, BATCH_BYTES // (4 * per))


# -- activation patching ------------------------------------------------------------------
class _Setup:
    """The clean and corrupted inputs, their runs and logit differences."""

    def __init__(self, model: TransformerModel, clean: Ids, corrupted: Ids, target: int,
                 other: int, sites: Sequence[str]) -> None:
        cfg = model.cfg
        if cfg.arch not in ("decoder", "encoder"):
            raise AnalysisError("activation patching sweeps need a decoder- or encoder-only "
                                "model")
        check_token_output(cfg)
        bad = [s for s in sites if s not in SWEEP_SITES]
        if bad or not sites:
            raise AnalysisError(f"sweep site {bad[0] if bad else None!r} is not one of "
                                f"{', '.join(SWEEP_SITES)}")
        self.model = model
        self.clean = prepare(model, clean)
        self.corrupted = prepare(model, corrupted)
        if self.clean.length != self.corrupted.length:
            raise AnalysisError(f"the clean text has {self.clean.length} tokens and the "
                                f"corrupted one {self.corrupted.length}: activation "
                                "patching needs texts of the same token length")
        self.target = check_token(target, cfg)
        self.other = check_token(other, cfg, "the other token")
        if self.target == self.other:
            raise AnalysisError("the target and the other token are the same: their logit "
                                "difference is always 0")
        self.blocks = stack_module(model, None).blocks
        self.n_layers = len(self.blocks)
        if self.n_layers == 0:
            raise AnalysisError("this model has no layers to patch")
        self.n_heads = self.blocks[0].attn.n_heads
        resid = [resid_step(model, i) for i in range(self.n_layers)]
        steps = {"resid": resid, "attn_out": self._names("attn.out"),
                 "mlp_out": self._names("mlp.out"), "head_out": self._names("attn.head_out")}
        clean_names = sorted({"logits", *(n for s in sites for n in steps[s])})
        _, self.clean_trace = record(model, self.clean.x, names=clean_names)
        # a decoder without rotary positions continues the corrupted run's keys and values
        self.prefix = cfg.arch == "decoder" and cfg.positions != "rotary"
        kv = [*self._names("attn.k"), *self._names("attn.v")] if self.prefix else []
        _, self.corrupted_trace = record(model, self.corrupted.x,
                                         names=["logits", *resid, *kv])
        clean_last = self.clean_trace["logits"][:, -1]
        self.clean_diff = self.diff(clean_last)[0].item()
        self.logit_std = clean_last[0].double().std().item()
        self.corrupted_diff = self.diff(self.corrupted_trace["logits"][:, -1])[0].item()
        if abs(self.clean_diff - self.corrupted_diff) <= 1e-6 * (1 + abs(self.clean_diff)):
            raise AnalysisError("the clean and corrupted texts give the same logit "
                                "difference: there is nothing for patching to restore")

    def _names(self, step: str) -> list[str]:
        return [f"blocks.{i}.{step}" for i in range(self.n_layers)]

    def diff(self, last: torch.Tensor) -> torch.Tensor:
        """logit[target] − logit[other] (float64) of last-position logits (rows, N_V)."""
        last = last.double()
        return last[:, self.target] - last[:, self.other]

    def normalise(self, diffs: torch.Tensor) -> torch.Tensor:
        return (diffs - self.corrupted_diff) / (self.clean_diff - self.corrupted_diff)

    def start(self, specs: list[_Spec]) -> int:
        """The first position the runs ``specs`` compute (0 unless continuing a prefix)."""
        if not self.prefix or any(s.position is None for s in specs):
            return 0
        return min(s.position for s in specs)

    def past(self, layer: int, start: int, rows: int, device: torch.device):
        """Layer ``layer``'s keys and values of the first ``start`` positions, per row."""
        if start == 0:
            return None
        k = self.corrupted_trace[f"blocks.{layer}.attn.k"][..., :start, :].to(device)
        v = self.corrupted_trace[f"blocks.{layer}.attn.v"][..., :start, :].to(device)
        return k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)

    def specs(self, site: str) -> list[_Spec]:
        if site == "head_out":
            return [_Spec(site, i, head=h) for i in range(self.n_layers)
                    for h in range(self.blocks[i].attn.n_heads)]
        return [_Spec(site, i, position=t) for i in range(self.n_layers)
                for t in range(self.clean.length)]

    def patch(self, spec: _Spec) -> Patch:
        source = tuple(int(i) for i in self.clean.x[0].tolist())
        positions = None if spec.position is None else (spec.position,)
        return Patch(spec.site, spec.layer, source, positions, spec.head)

    def shape(self, site: str) -> tuple[int, int]:
        return (self.n_layers, self.n_heads if site == "head_out" else self.clean.length)


def _clean(setup: _Setup, step: str, device: torch.device) -> torch.Tensor:
    return setup.clean_trace[step][0].to(device)


def _run_batch(setup: _Setup, specs: list[_Spec], cancelled: Cancelled | None) -> torch.Tensor:
    """Logit differences of the patched runs ``specs`` as one batch that grows layer by
    layer: each run enters at its own layer from the corrupted run's residual stream
    there. In a decoder the positions before the first patched one are the corrupted
    run's, so only the positions from ``start`` on are computed, attending to the
    corrupted run's keys and values of the earlier ones."""
    model = setup.model
    device = model_device(model)
    length = setup.clean.length
    start = setup.start(specs)
    mask = model.attention_mask(length - start, length, model.cfg.arch == "decoder", None,
                                device)
    h: torch.Tensor | None = None
    for layer in range(min(s.layer for s in specs), setup.n_layers):
        if cancelled is not None and cancelled():
            raise SweepCancelled("the sweep was cancelled")
        new = [s for s in specs if s.layer == layer]
        by_step = {}
        if new:
            step = resid_step(model, layer)
            base = setup.corrupted_trace[step][:, start:].to(device)
            base = base.expand(len(new), -1, -1).clone()
            first = 0 if h is None else h.shape[0]
            rows = torch.arange(first, first + len(new), device=device)
            if new[0].site == "resid":
                pos = torch.tensor([s.position for s in new], device=device)
                base[torch.arange(len(new), device=device), pos - start] = _clean(
                    setup, step, device)[pos]
            else:
                by_step = _hook_patch(setup, new, rows, start, device)
            h = base if h is None else torch.cat([h, base])
        past = setup.past(layer, start, h.shape[0], device)
        with functions_attached(model, by_step):
            h = setup.blocks[layer](h, mask, past=past)
    return setup.diff(output_logits(model, h[:, -1]))


def _hook_patch(setup: _Setup, new: list[_Spec], rows: torch.Tensor, start: int,
                device: torch.device) -> dict:
    """The function patching rows ``rows`` of one layer's attention, MLP or head output
    (their positions from ``start`` on)."""
    site, layer = new[0].site, new[0].layer
    step = f"blocks.{layer}." + {"attn_out": "attn.out", "mlp_out": "mlp.out",
                                 "head_out": "attn.head_out"}[site]
    clean = _clean(setup, step, device)
    if site == "head_out":
        index = torch.tensor([s.head for s in new], device=device)
        values = clean[index][..., start:, :]  # (n, l - start, d_mid)
    else:
        pos = torch.tensor([s.position for s in new], device=device)
        index, values = pos - start, clean[pos]

    def patch(x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        x[rows, index] = values.to(x)
        return x

    return {step: [patch]}


def _chunks(setup: _Setup, specs: list[_Spec], rows: int) -> list[list[int]]:
    """Indices of ``specs`` in batches of at most ``rows``: in a decoder that can reuse
    the positions before a patch, one batch per patched position (sorted by layer)."""
    order = sorted(range(len(specs)), key=lambda i: (setup.start([specs[i]]), specs[i].layer))
    groups: dict[int, list[int]] = {}
    for i in order:
        groups.setdefault(setup.start([specs[i]]), []).append(i)
    return [g[lo:lo + rows] for g in groups.values() for lo in range(0, len(g), rows)]


def activation_patching(model: TransformerModel, clean: Ids, corrupted: Ids, target: int,
                        other: int, sites: str | Sequence[str] = SWEEP_SITES, *,
                        batched: bool = True, max_rows: int | None = None,
                        progress: Progress | None = None,
                        cancelled: Cancelled | None = None,
                        remember: bool = True) -> dict[str, PatchingResult]:
    """The patching sweeps of ``sites`` (clean → corrupted), by site.

    ``target``/``other``: the token ids whose logit difference at the last position is
    the metric. ``sites``: one site name ("resid") or several. ``max_rows``: patched runs
    per batch (default: what fits in
    ``BATCH_BYTES``). AnalysisError for texts of different token lengths, a token outside
    the vocabulary, an encoder-decoder or a classifier.

    The last ``REMEMBERED`` sweeps are remembered by model, weights
    (``trace.record.weights_key``: any change of a weight is a new sweep) and arguments, so
    that a sweep one view has run (the Interventions dock's) is reused by another (the
    Circuit tab's scatter);
    ``remember=False`` computes and keeps nothing (benchmarks)."""
    sites = [sites] if isinstance(sites, str) else list(sites)
    if not remember:
        return _sweeps(model, clean, corrupted, target, other, sites, batched, max_rows,
                       progress, cancelled)
    key = (id(model), weights_key(model), _id_key(clean), _id_key(corrupted),
           int(target), int(other), tuple(sites), batched, max_rows)
    with _REMEMBERED_LOCK:
        known = _REMEMBERED.get(key)
    if known is not None and known[0]() is model:
        tick(progress, cancelled, 1, 1)
        return dict(known[1])
    out = _sweeps(model, clean, corrupted, target, other, sites, batched, max_rows, progress,
                  cancelled)
    with _REMEMBERED_LOCK:
        _REMEMBERED[key] = (weakref.ref(model), dict(out))
        while len(_REMEMBERED) > REMEMBERED:
            _REMEMBERED.pop(next(iter(_REMEMBERED)))
    return out


def _id_key(ids: Ids) -> tuple:
    return tuple(torch.as_tensor(ids).reshape(-1).tolist())


def _sweeps(model: TransformerModel, clean: Ids, corrupted: Ids, target: int, other: int,
            sites: list[str], batched: bool, max_rows: int | None, progress: Progress | None,
            cancelled: Cancelled | None) -> dict[str, PatchingResult]:
    setup = _Setup(model, clean, corrupted, target, other, sites)
    total = sum(len(setup.specs(s)) for s in sites)
    rows = max_rows or rows_per_batch(model, setup.clean.length)
    done = 0
    tick(progress, cancelled, done, total)
    out = {}
    with torch.no_grad():
        for site in sites:
            specs = setup.specs(site)
            diffs = []
            if batched:
                d = torch.empty(len(specs), dtype=torch.float64)
                for chunk in _chunks(setup, specs, rows):
                    d[chunk] = _run_batch(setup, [specs[i] for i in chunk], cancelled).cpu()
                    done += len(chunk)
                    tick(progress, cancelled, done, total)
                diffs.append(d)
            else:
                sources = {setup.patch(specs[0]).source_key(): setup.clean_trace}
                for spec in specs:
                    logits = run_intervened(model, setup.corrupted, [setup.patch(spec)],
                                            sources)
                    diffs.append(setup.diff(logits[:, -1]))
                    done += 1
                    tick(progress, cancelled, done, total)
            d = torch.cat(diffs).cpu().reshape(setup.shape(site))
            out[site] = PatchingResult(site, setup.normalise(d), d, setup.clean_diff,
                                       setup.corrupted_diff, setup.logit_std)
    return out


def patching_metric(model: TransformerModel, clean: Ids, corrupted: Ids, target: int,
                    other: int, patches: Sequence[Patch]) -> float:
    """The normalised metric of one run of the corrupted text with ``patches`` applied
    (any interventions; 0 = the corrupted run, 1 = the clean run)."""
    setup = _Setup(model, clean, corrupted, target, other, ["resid"])
    logits = run_intervened(model, setup.corrupted, list(patches))
    return float(setup.normalise(setup.diff(logits[:, -1]))[0])
