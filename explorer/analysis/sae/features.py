"""Reading an SAE's features: how often each fires (density), the contexts where it fires
most, its activation over a text, what it writes towards the output (logit effect) and the
features with the most similar decoder directions. Feature indices count from 0 here (the
window and the command line show them as they are: a feature is a name, not a count)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from explorer.analysis.common import AnalysisError, model_device
from explorer.analysis.lens import final_norm
from explorer.analysis.sae.autoencoder import SparseAutoencoder
from explorer.analysis.sae.sites import Site
from explorer.analysis.sae.stream import site_activations
from explorer.core.models import TransformerModel


@dataclass(frozen=True)
class FeatureStats:
    """Over ``windows`` (n, l) token ids: ``density`` (d_sae,) the fraction of positions
    where each feature is active; ``top_values`` / ``top_where`` (m, d_sae) each feature's
    m largest activations and their flat positions (window · l + position)."""

    windows: torch.Tensor
    density: torch.Tensor
    top_values: torch.Tensor
    top_where: torch.Tensor

    def places(self, feature: int) -> list[tuple[float, int, int]]:
        """(activation, window, position) of the feature's top activations, where active."""
        length = self.windows.shape[1]
        return [(v, *divmod(int(flat), length)) for v, flat in
                zip(self.top_values[:, feature].tolist(), self.top_where[:, feature].tolist())
                if v > 0]


@dataclass(frozen=True)
class TopContext:
    """Tokens around one of a feature's top activations: ``ids``, the feature's activation
    at each (``acts``) and which of them is the top one (``focus``)."""

    ids: list[int]
    acts: list[float]
    focus: int


def top_contexts(model: TransformerModel, sae: SparseAutoencoder, site: Site,
                 stats: FeatureStats, feature: int, before: int = 16, after: int = 3
                 ) -> list[TopContext]:
    """The contexts of feature ``feature``'s top activations (its activation over each
    whole window, cut to ``before`` tokens before and ``after`` after the top one)."""
    out = []
    for _, w, t in stats.places(check_feature(sae, feature)):
        acts = feature_activations(model, sae, site, stats.windows[w])[:, feature]
        lo, hi = max(0, t - before), min(stats.windows.shape[1], t + after + 1)
        out.append(TopContext(stats.windows[w, lo:hi].tolist(), acts[lo:hi].tolist(), t - lo))
    return out


def feature_activations(model: TransformerModel, sae: SparseAutoencoder, site: Site,
                        ids: torch.Tensor) -> torch.Tensor:
    """(n, l, d_sae) feature activations for windows ``ids`` (n, l) (or (l,): (l, d_sae))."""
    single = ids.dim() == 1
    x = ids[None] if single else ids
    with torch.no_grad():
        f = sae.encode(site_activations(model, site, x.to(model_device(model))))
    return f[0] if single else f


def feature_stats(model: TransformerModel, sae: SparseAutoencoder, site: Site,
                  windows: torch.Tensor, top: int = 8, chunk: int = 16) -> FeatureStats:
    """Densities and top activations over ``windows`` (n, l), ``chunk`` windows at a time
    (the (n·l, d_sae) activations are never held at once)."""
    if windows.dim() != 2 or windows.shape[0] == 0:
        raise AnalysisError("feature statistics need at least one window of tokens")
    length = windows.shape[1]
    fired = torch.zeros(sae.d_sae)
    best_v = torch.full((0, sae.d_sae), float("-inf"))
    best_i = torch.zeros((0, sae.d_sae), dtype=torch.long)
    for start in range(0, windows.shape[0], chunk):
        f = feature_activations(model, sae, site, windows[start:start + chunk]).flatten(0, 1)
        fired += (f > 0).sum(dim=0)
        where = torch.arange(f.shape[0])[:, None].expand_as(f) + start * length
        values = torch.cat([best_v, f])
        places = torch.cat([best_i, where])
        keep = values.topk(min(top, values.shape[0]), dim=0)
        best_v, best_i = keep.values, places.gather(0, keep.indices)
    return FeatureStats(windows, fired / windows.numel(), best_v, best_i)


def logit_effect(model: TransformerModel, sae: SparseAutoencoder, feature: int
                 ) -> torch.Tensor:
    """(N_V,) what adding W_dec[f] to the residual stream does to the logits, read through
    the final norm as a direction (centred for layer norm, times its scale γ) and W_u."""
    if sae.d_in != model.cfg.d_e:
        raise AnalysisError(f"the logit effect needs a site in the residual stream's space "
                            f"(d = {model.cfg.d_e}); this SAE reads d = {sae.d_in}")
    v = sae.W_dec[feature].detach().to(model_device(model))
    norm = final_norm(model)
    if norm is not None:
        if hasattr(norm, "beta"):  # layer norm removes the mean
            v = v - v.mean()
        v = v * norm.gamma.detach()
    head = getattr(model, "head", None)
    if head is not None:
        raise AnalysisError("the logit effect is shown for models whose final norm feeds "
                            "W_u directly (not through an MLM head)")
    with torch.no_grad():
        return (v @ model.unembed.W_u.weight.detach().t()).cpu()


def nearest_features(sae: SparseAutoencoder, feature: int, n: int = 5
                     ) -> list[tuple[int, float]]:
    """The ``n`` other features whose decoder directions have the largest cosine with
    feature ``feature``'s, with that cosine."""
    with torch.no_grad():
        W = sae.W_dec / sae.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-12)
        cos = W @ W[feature]
        cos[feature] = float("-inf")
        top = cos.topk(min(n, sae.d_sae - 1))
    return [(int(i), float(c)) for c, i in zip(top.values, top.indices)]


def check_feature(sae: SparseAutoencoder, feature: int) -> int:
    if not isinstance(feature, int) or isinstance(feature, bool) or \
            not 0 <= feature < sae.d_sae:
        raise AnalysisError(f"feature {feature!r} does not exist: the SAE has {sae.d_sae} "
                            f"(0 to {sae.d_sae - 1})")
    return feature
