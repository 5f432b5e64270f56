"""SAE features as interventions: ablate a feature, clamp it to a value, or steer with it.

At the SAE's site, with f_i(x) the feature's activation and d_i = W_dec[i] its decoder
direction (what the SAE does not reconstruct stays: only the feature's share changes):

- ``FeatureAblate``: x ← x − f_i(x) d_i;
- ``FeatureClamp``:  x ← x + (value − f_i(x)) d_i;
- ``FeatureSteer``:  x ← x + α d_i.

Each names its SAE by folder (``sae``, SAELens's layout), so a scene can save it; they
compose with every other intervention (``explorer.analysis.intervening``). Positions are
0-based (None: all of them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from explorer.analysis.common import AnalysisError
from explorer.analysis.interventions import Intervention
from explorer.analysis.locate import check_position_index
from explorer.analysis.sae.autoencoder import SparseAutoencoder
from explorer.analysis.sae.features import check_feature
from explorer.analysis.sae.files import read_cfg
from explorer.analysis.sae.sites import Site
from explorer.core.models import TransformerModel

_OPEN: dict[tuple, tuple[SparseAutoencoder, Site]] = {}  # (folder, mtime, model) -> SAE
_PARTS = {"resid_mlp": "residual after MLP", "resid_attn": "residual after attention",
          "mlp.out": "MLP output", "attn.out": "attention output",
          "attn.head_out": "head output", "attn.stacked": "heads stacked"}


def open_sae(folder: str, model: TransformerModel) -> tuple[SparseAutoencoder, Site]:
    """The SAE in ``folder`` for ``model``, opened once per version of its weights file."""
    from explorer.analysis.sae.files import WEIGHTS, load_sae

    path = Path(folder).expanduser().resolve()
    weights = path / WEIGHTS
    key = (str(path), weights.stat().st_mtime_ns if weights.is_file() else 0, id(model),
           model.cfg)
    if key not in _OPEN:
        if len(_OPEN) > 8:
            _OPEN.clear()
        _OPEN[key] = load_sae(path, model)
    return _OPEN[key]


def where_text(folder: str) -> str:
    """Where the SAE in ``folder`` reads, as a person reads it ("layer 2 residual after
    MLP"), or its hook name when that is not a layer's."""
    try:
        hook = str(read_cfg(folder).get("hook_name", "?"))
    except AnalysisError:
        return "?"
    m = re.match(r"^blocks\.(\d+)\.(.+)$", hook)
    if m is None:
        return hook
    return f"layer {int(m.group(1)) + 1} {_PARTS.get(m.group(2), m.group(2))}"


@dataclass(frozen=True)
class _FeatureIntervention(Intervention):
    sae: str
    feature: int

    def check(self, model: TransformerModel, length: int) -> None:
        if not isinstance(self.sae, str) or not self.sae:
            raise AnalysisError(f"an SAE feature intervention names its SAE's folder, not "
                                f"{self.sae!r}")
        sae, _ = open_sae(self.sae, model)
        check_feature(sae, self.feature)
        for t in getattr(self, "positions", None) or ():
            check_position_index(t, "position", length)

    def _change(self, f: torch.Tensor) -> torch.Tensor:
        """(B, l) the new coefficient of d_i minus the old, from the activations f_i."""
        raise NotImplementedError

    def hooks(self, ctx):
        sae, site = open_sae(self.sae, ctx.model)
        d = sae.W_dec[self.feature].detach()
        where = slice(None) if self.positions is None else list(self.positions)

        def edit(t: torch.Tensor) -> torch.Tensor:
            x = site.read(t).clone()
            with torch.no_grad():
                f = sae.encode(x[:, where].to(d))[..., self.feature]
            x[:, where] += (self._change(f)[..., None] * d).to(x)
            return site.write(t, x)

        return [(site.step, edit)]

    def _at(self) -> str:
        where = "all positions" if self.positions is None else \
            "t = " + ", ".join(str(t + 1) if t >= 0 else f"{t} (from the end)"
                               for t in self.positions)
        return f"{where_text(self.sae)}, {where}"


@dataclass(frozen=True)
class FeatureAblate(_FeatureIntervention):
    """Feature ``feature``'s contribution f_i(x) d_i removed."""

    kind: ClassVar[str] = "sae_ablate"
    positions: tuple[int, ...] | None = None

    def _change(self, f):
        return -f

    @property
    def label(self) -> str:
        return f"SAE feature {self.feature} ablated ({self._at()})"


@dataclass(frozen=True)
class FeatureClamp(_FeatureIntervention):
    """Feature ``feature`` clamped: its activation set to ``value``."""

    kind: ClassVar[str] = "sae_clamp"
    value: float = 0.0
    positions: tuple[int, ...] | None = None

    def _change(self, f):
        return float(self.value) - f

    @property
    def label(self) -> str:
        return f"SAE feature {self.feature} clamped to {float(self.value):g} ({self._at()})"


@dataclass(frozen=True)
class FeatureSteer(_FeatureIntervention):
    """α·W_dec[feature] added."""

    kind: ClassVar[str] = "sae_steer"
    alpha: float = 1.0
    positions: tuple[int, ...] | None = None

    def _change(self, f):
        return torch.full_like(f, float(self.alpha))

    @property
    def label(self) -> str:
        return f"SAE feature {self.feature} steered by α = {float(self.alpha):g} ({self._at()})"


FEATURE_KINDS: dict[str, type[Intervention]] = {
    cls.kind: cls for cls in (FeatureAblate, FeatureClamp, FeatureSteer)}
