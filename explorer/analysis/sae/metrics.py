"""How good an SAE is: reconstruction (MSE, fraction of variance unexplained, L0) and the
model's next-token loss with the SAE spliced in, against the clean and the zero-ablated
runs (the CE loss recovered)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from explorer.analysis.attach import functions_attached
from explorer.analysis.common import model_device
from explorer.analysis.sae.autoencoder import SparseAutoencoder
from explorer.analysis.sae.sites import Site
from explorer.core.models import TransformerModel


@dataclass(frozen=True)
class Reconstruction:
    mse: float  # mean over vectors and dimensions of (x − x̂)²
    fvu: float  # Σ‖x − x̂‖² / Σ‖x − mean x‖²
    l0: float  # mean number of active features per vector


@dataclass(frozen=True)
class LossRecovered:
    clean: float  # the model's own next-token loss (nats per token)
    spliced: float  # with x̂ in place of x at the site
    zero: float  # with 0 in place of x at the site

    @property
    def recovered(self) -> float:
        """(zero − spliced) / (zero − clean): 1 when the SAE loses nothing, 0 when it is
        no better than erasing the site."""
        gap = self.zero - self.clean
        return (self.zero - self.spliced) / gap if gap > 0 else float("nan")


@torch.no_grad()
def reconstruction(sae: SparseAutoencoder, x: torch.Tensor) -> Reconstruction:
    """Metrics of ``sae`` on activations x (n, d_in)."""
    f = sae.encode(x)
    err = x - sae.decode(f)
    total = (x - x.mean(dim=0)).pow(2).sum()
    return Reconstruction(float(err.pow(2).mean()), float(err.pow(2).sum() / total),
                          float((f != 0).sum(dim=-1).float().mean()))


def splice(sae: SparseAutoencoder, site: Site) -> Callable[[torch.Tensor], torch.Tensor]:
    """A step function putting the SAE's reconstruction in place of the site's vectors."""
    def spliced(t: torch.Tensor) -> torch.Tensor:
        return site.write(t, sae(site.read(t).to(sae.W_dec)))

    return spliced


def _next_token_loss(model: TransformerModel, x: torch.Tensor, fns=None) -> float:
    with torch.no_grad(), functions_attached(model, fns or {}):
        logits = model(x)
    return float(F.cross_entropy(logits[:, :-1].flatten(0, 1).float(),
                                 x[:, 1:].flatten()))


def loss_recovered(model: TransformerModel, sae: SparseAutoencoder, site: Site,
                   x: torch.Tensor) -> LossRecovered | None:
    """The next-token losses on windows x (n, l) (None for a model that does not predict
    the next token: an encoder)."""
    if model.cfg.arch != "decoder":
        return None
    x = x.to(model_device(model))

    def zero(t: torch.Tensor) -> torch.Tensor:
        return site.write(t, torch.zeros_like(site.read(t)))

    return LossRecovered(_next_token_loss(model, x),
                         _next_token_loss(model, x, {site.step: [splice(sae, site)]}),
                         _next_token_loss(model, x, {site.step: [zero]}))
