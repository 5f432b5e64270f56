"""Training an SAE on a model's activations, one step at a time (Qt-free).

The trainer works on activations scaled by one number s, fixed from the first batches so
that their mean norm is √d_in (SAELens's "expected_average_only_in"); hyperparameters then
mean the same on any model. ``sae()`` gives the SAE in the model's own units (b_enc and
b_dec divided by s; for TopK and ReLU that gives f/s and the same reconstruction).

Per step: a batch from the ``ActivationStream``, the loss, Adam, then every decoder
direction back to unit norm. b_dec starts at the geometric median of the first batch
(Weiszfeld's iteration) or its mean. Features that have not fired for ``dead_steps``
steps are dead; the TopK paper's auxiliary loss (AuxK) trains the k_aux dead ones with
the largest pre-activations to reconstruct what the live ones miss, for both kinds.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from explorer.analysis.common import AnalysisError
from explorer.analysis.sae.autoencoder import TRAINABLE, SparseAutoencoder
from explorer.analysis.sae.metrics import loss_recovered, reconstruction
from explorer.analysis.sae.sites import Site
from explorer.analysis.sae.stream import ActivationStream, TokenWindows, site_activations
from explorer.core.models import TransformerModel

AUX_COEFFICIENT = 1 / 32  # Gao et al.'s α


@dataclass(frozen=True)
class TrainSettings:
    kind: str = "topk"  # "topk" or "relu"
    expansion: int = 8  # d_sae = expansion · d_in unless width is given
    width: int | None = None
    k: int = 16
    l1: float = 2.0  # ReLU: the L1 penalty's coefficient (on scaled activations)
    steps: int = 300
    batch: int = 1024  # activation vectors per step
    lr: float = 2e-3
    b_dec_init: str = "median"  # "median" (geometric) or "mean"
    dead_steps: int = 100
    seed: int = 0

    def check(self) -> None:
        if self.kind not in TRAINABLE:
            raise AnalysisError(f"unknown SAE kind {self.kind!r}: use topk or relu")
        if self.b_dec_init not in ("median", "mean"):
            raise AnalysisError("b_dec starts at the geometric 'median' or the 'mean'")
        for name in ("steps", "batch", "k", "expansion", "dead_steps"):
            if getattr(self, name) < 1:
                raise AnalysisError(f"{name} must be at least 1")
        if self.width is not None and self.width < 1:
            raise AnalysisError("the width (number of features) must be at least 1")
        if self.lr <= 0 or self.l1 < 0:
            raise AnalysisError("the learning rate must be positive and l1 not negative")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StepResult:
    step: int
    loss: float
    fvu: float  # on the step's batch
    l0: float
    dead_fraction: float
    activations: int  # activation vectors seen so far
    seconds: float  # training time so far


def geometric_median(x: torch.Tensor, iterations: int = 30) -> torch.Tensor:
    """The point minimising Σ‖x_i − m‖ (Weiszfeld's iteration from the mean)."""
    m = x.mean(dim=0)
    for _ in range(iterations):
        w = 1.0 / (x - m).norm(dim=1).clamp_min(1e-8)
        m_new = (w[:, None] * x).sum(dim=0) / w.sum()
        if (m_new - m).norm() < 1e-6 * m.norm().clamp_min(1e-8):
            return m_new
        m = m_new
    return m


class SAETrainer:
    """Train an SAE at ``site`` of ``model`` on ``windows``; ``step()`` one step at a time."""

    def __init__(self, model: TransformerModel, site: Site, d_in: int,
                 windows: TokenWindows, settings: TrainSettings) -> None:
        settings.check()
        self.model, self.site, self.windows, self.settings = model, site, windows, settings
        d_sae = settings.width or settings.expansion * d_in
        if settings.kind == "topk" and settings.k > d_sae:
            raise AnalysisError(f"k={settings.k} is more than the {d_sae} features")
        self.core = SparseAutoencoder(d_in, d_sae, TRAINABLE[settings.kind],
                                      settings.k if settings.kind == "topk" else None,
                                      seed=settings.seed)
        self.stream = ActivationStream(model, site, windows, settings.batch,
                                       seed=settings.seed)
        self.optimizer = torch.optim.Adam(self.core.parameters(), lr=settings.lr)
        self.scale = 0.0  # s, set by the first step
        self.step_count = 0
        self.seconds = 0.0
        self.last_fired = torch.zeros(d_sae, dtype=torch.long)  # step each last fired
        self.k_aux = max(1, d_in // 2)

    # -- the SAE in the model's units ---------------------------------------------------
    def sae(self) -> SparseAutoencoder:
        """A copy of the SAE that reads the model's unscaled activations."""
        s = self.scale or 1.0
        out = SparseAutoencoder(self.core.d_in, self.core.d_sae, self.core.architecture,
                                self.core.k)
        with torch.no_grad():
            out.W_enc.copy_(self.core.W_enc)
            out.W_dec.copy_(self.core.W_dec)
            out.b_enc.copy_(self.core.b_enc / s)
            out.b_dec.copy_(self.core.b_dec / s)
        return out

    def load_scaled(self, sae: SparseAutoencoder, scale: float) -> None:
        """Continue from ``sae`` (the model's units, as ``sae()`` gives) trained at s."""
        with torch.no_grad():
            self.core.W_enc.copy_(sae.W_enc)
            self.core.W_dec.copy_(sae.W_dec)
            self.core.b_enc.copy_(sae.b_enc * scale)
            self.core.b_dec.copy_(sae.b_dec * scale)
        self.scale = scale

    # -- one step -----------------------------------------------------------------------
    def _start(self, x: torch.Tensor) -> None:
        self.scale = math.sqrt(self.core.d_in) / float(x.norm(dim=1).mean().clamp_min(1e-12))
        x = x * self.scale
        centre = geometric_median(x) if self.settings.b_dec_init == "median" else x.mean(0)
        with torch.no_grad():
            self.core.b_dec.copy_(centre)

    @property
    def dead(self) -> torch.Tensor:
        """(d_sae,) bool: features that have not fired for ``dead_steps`` steps (none are
        dead before that many steps have run)."""
        return (self.step_count - self.last_fired) >= self.settings.dead_steps

    def _aux_loss(self, pre: torch.Tensor, error: torch.Tensor) -> torch.Tensor:
        dead = self.dead
        n_dead = int(dead.sum())
        if n_dead == 0:
            return pre.new_zeros(())
        k = min(self.k_aux, n_dead)
        masked = pre.masked_fill(~dead, float("-inf"))
        top = masked.topk(k, dim=-1)
        f_aux = torch.zeros_like(pre).scatter(-1, top.indices, top.values.relu())
        e_hat = f_aux @ self.core.W_dec
        return (error - e_hat).pow(2).sum(-1).mean()

    def reconstruct(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(pre-activations, x̂, the activations' sum (for L1) and number of active
        features per vector, which features fired (d_sae,) bool) for scaled x. x̂ is
        ``core(x)``, TopK's decoder reading only the k chosen rows of W_dec
        (``embedding_bag``) instead of a dense matmul."""
        core = self.core
        pre = core.pre_activations(x)
        if core.k:
            top = pre.topk(core.k, dim=-1)
            values = top.values.relu()
            x_hat = F.embedding_bag(top.indices, core.W_dec, per_sample_weights=values,
                                    mode="sum") + core.b_dec
            fired = torch.zeros(core.d_sae, dtype=torch.bool)
            fired[top.indices[values > 0]] = True
            return pre, x_hat, values.sum(-1), (values > 0).sum(-1), fired
        f = core.activate(pre)
        return pre, core.decode(f), f.sum(-1), (f > 0).sum(-1), (f > 0).any(dim=0)

    def step(self) -> StepResult:
        start = time.perf_counter()
        x = self.stream.next()
        if not self.scale:
            self._start(x)
        x = x * self.scale
        pre, x_hat, total, active, fired = self.reconstruct(x)
        error = x - x_hat
        loss = error.pow(2).sum(-1).mean() + AUX_COEFFICIENT * self._aux_loss(pre,
                                                                            error.detach())
        if self.settings.kind == "relu":
            loss = loss + self.settings.l1 * total.mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.core.remove_parallel_gradient()
        self.optimizer.step()
        self.core.normalise_decoder()
        self.step_count += 1
        self.last_fired[fired] = self.step_count
        with torch.no_grad():
            fvu = float(error.pow(2).sum() / (x - x.mean(0)).pow(2).sum())
        self.seconds += time.perf_counter() - start
        return StepResult(self.step_count, float(loss.detach()), fvu,
                          float(active.float().mean()),
                          float(self.dead.float().mean()), self.stream.served, self.seconds)

    # -- held-out metrics ---------------------------------------------------------------
    def evaluate(self, n_windows: int = 32) -> dict:
        """MSE, FVU, L0 on held-out windows' activations, the dead fraction and (for a
        next-token model) the CE loss with the SAE spliced in, clean and zero-ablated."""
        sae = self.sae()
        x = self.windows.held_out(n_windows)
        acts = site_activations(self.model, self.site, x).flatten(0, 1)
        rec = reconstruction(sae, acts)
        out = {"step": self.step_count, "mse": rec.mse, "fvu": rec.fvu, "l0": rec.l0,
               "dead_fraction": float(self.dead.float().mean())}
        ce = loss_recovered(self.model, sae, self.site, x)
        if ce is not None:
            out.update(ce_clean=ce.clean, ce_spliced=ce.spliced, ce_zero=ce.zero,
                       ce_loss_recovered=ce.recovered)
        return out
