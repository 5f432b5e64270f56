"""Algorithm 6 opened up: the values behind each of its lines for one recorded norm step.

A trace records a norm's output only; ``norm_inside(model, trace, name)`` recomputes the
rest on demand from the norm's input (the step recorded just before it: the residual
stream, the embedding, or a final head's hidden layer) and the norm's own γ, β and ε:

- line 1, ``m`` (ℓ,): the mean of each column (RMSnorm: m = 0);
- line 2, ``v`` (ℓ,): the variance of each column about m (RMSnorm: the mean square);
- line 3, ``normalized`` (d_e × ℓ): (e − m) / √(v + ε), and ``result`` (d_e × ℓ): that
  ⊙ γ + β (RMSnorm: β = 0), which equals the recorded step.

Nothing is recorded during a forward pass; a plain forward pass costs nothing more.
Raises ``ValueError`` with a sentence when the step is not a norm, or the input found
does not reproduce the recorded output (the result is checked, never assumed).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from explorer.core.hooks import hook_points
from explorer.core.norm import LayerNorm, RMSNorm

PARTS = ("mean", "var", "normalized", "result")
LINES = {"mean": 1, "var": 2, "normalized": 3, "result": 3}  # lines of Algorithm 6
TITLES = {  # part -> (title, formula, dims)
    "mean": ("mean m of each column", "m ← Σ_i e[i] / d_e", ("l",)),
    "var": ("variance v of each column", "v ← Σ_i (e[i] − m)² / d_e", ("l",)),
    "normalized": ("normalised (e − m) / √v", "(e − m) / √(v + ε)", ("d_e", "l")),
    "result": ("result ê = … ⊙ γ + β", "ê = (e − m) / √v ⊙ γ + β", ("d_e", "l")),
}
RMS_TITLES = {
    "mean": ("mean m = 0 (RMSnorm)", "m = 0   (RMSnorm does not centre)", ("l",)),
    "var": ("mean square v of each column", "v ← Σ_i e[i]² / d_e", ("l",)),
    "normalized": ("normalised e / √v", "e / √(v + ε)", ("d_e", "l")),
    "result": ("result ê = … ⊙ γ", "ê = e / √v ⊙ γ   (β = 0)", ("d_e", "l")),
}


@dataclass(frozen=True)
class NormInside:
    """One norm step's inside, in the paper's orientation (tokens along the columns)."""

    step: str
    input_step: str
    rms: bool
    mean: torch.Tensor  # (ℓ,)
    var: torch.Tensor  # (ℓ,)
    normalized: torch.Tensor  # (d_e, ℓ)
    result: torch.Tensor  # (d_e, ℓ)

    def part(self, name: str) -> torch.Tensor:
        if name not in PARTS:
            raise ValueError(f"unknown part {name!r}; one of {', '.join(PARTS)}")
        return getattr(self, name)

    def describe(self, name: str) -> tuple[str, str, tuple[str, ...], int]:
        """(title, formula, dims, line of Algorithm 6) of a part."""
        title, formula, dims = (RMS_TITLES if self.rms else TITLES)[name]
        return title, formula, dims, LINES[name]


def is_norm_step(name: str) -> bool:
    return name.endswith(("_norm", "head.norm", "embed.norm"))


def _norm_module(model: nn.Module, name: str) -> nn.Module:
    """The norm module whose output the hook point ``name`` records."""
    points = hook_points(model)
    if name not in points:
        raise ValueError(f"{name}: this model records no such step")
    path = next(p for p, m in model.named_modules() if m is points[name])
    head, _, last = path.rpartition(".")
    module_path = f"{head}.{last.removeprefix('hook_')}" if head else last.removeprefix("hook_")
    try:
        module = model.get_submodule(module_path)
    except AttributeError:
        raise ValueError(f"{name}: no norm module beside its hook ({module_path})") from None
    if not isinstance(module, (LayerNorm, RMSNorm)):
        raise ValueError(f"{name}: {type(module).__name__} is not Algorithm 6's norm")
    return module


@torch.no_grad()
def norm_inside(model: nn.Module, trace, name: str, batch: int = 0) -> NormInside:
    """The inside of norm step ``name`` of ``trace`` (recorded from ``model``)."""
    if not is_norm_step(name):
        raise ValueError(f"{name} is not a norm step")
    names = [s.name for s in trace.steps]
    if name not in names or names.index(name) == 0:
        raise ValueError(f"{name}: not in this trace, or nothing recorded before it")
    input_step = names[names.index(name) - 1]
    module = _norm_module(model, name)
    e = trace[input_step][batch].to(torch.float32)  # (ℓ, d_e), rows are tokens
    recorded = trace[name][batch].to(torch.float32)
    gamma = module.gamma.detach().to(e.device, torch.float32)
    rms = isinstance(module, RMSNorm)
    if rms:
        mean = torch.zeros(e.shape[0], dtype=e.dtype, device=e.device)
        var = e.pow(2).mean(dim=-1)
        normalized = e * torch.rsqrt(var + module.eps)[:, None]
        result = normalized * gamma
    else:
        mean = e.mean(dim=-1)
        var = (e - mean[:, None]).pow(2).mean(dim=-1)
        normalized = (e - mean[:, None]) * torch.rsqrt(var + module.eps)[:, None]
        result = normalized * gamma + module.beta.detach().to(e.device, torch.float32)
    if result.shape != recorded.shape or not torch.allclose(result, recorded, rtol=1e-4,
                                                            atol=1e-5):
        raise ValueError(f"{name}: its input could not be found in the trace "
                         f"({input_step} does not reproduce it)")
    return NormInside(name, input_step, rms, mean.cpu(), var.cpu(), normalized.T.cpu(),
                      recorded.T.cpu())
