"""Grokking's progress measure (Nanda et al. 2023): the token embedding in the Fourier basis.

A model that has learnt a + b mod p embeds each residue r through a few waves
cos(2πkr/p), sin(2πkr/p): its key frequencies k. Written in the orthonormal Fourier basis
over the residues (the constant 1/√p, then √(2/p)·cos and √(2/p)·sin of each frequency
k = 1..⌊p/2⌋; for an even p the last frequency has its cosine only), the rows of W_e
that embed 0..p-1 become F = B E, and the norm of frequency k is
√(‖F[cos k]‖² + ‖F[sin k]‖²). At initialisation the norm is spread evenly over the
frequencies; as the model generalises it gathers on the key ones, long after the
training accuracy reached 100%.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any

import torch

from explorer.analysis.common import AnalysisError

KEY_FACTOR = 2.0  # a key frequency holds at least twice the even share of the norm²
MIN_MODULUS = 3


def fourier_basis(p: int) -> torch.Tensor:
    """The (p, p) orthonormal Fourier basis over the residues 0..p-1, one wave a row:
    row 0 the constant, rows 2k-1 and 2k the cosine and sine of frequency k."""
    if p < 2:
        raise AnalysisError(f"the modulus must be at least 2, not {p}")
    r = torch.arange(p, dtype=torch.float64)
    rows = [torch.full((p,), 1.0 / math.sqrt(p), dtype=torch.float64)]
    for k in range(1, p // 2 + 1):
        wave = 2 * math.pi * k * r / p
        if 2 * k == p:  # Nyquist: cos(πr) = ±1, its sine is 0
            rows.append(torch.cos(wave) / math.sqrt(p))
        else:
            rows += [torch.cos(wave) * math.sqrt(2.0 / p), torch.sin(wave) * math.sqrt(2.0 / p)]
    return torch.stack(rows)


@dataclass(frozen=True)
class Spectrum:
    """The norm of an embedding per frequency 0..⌊p/2⌋ (``norms[k]``) and the key
    frequencies: k ≥ 1 whose norm² is at least ``KEY_FACTOR`` times the even share of
    the non-constant norm²; ``concentration`` is the key frequencies' share of it."""

    p: int
    norms: torch.Tensor  # (⌊p/2⌋ + 1,)
    key: tuple[int, ...]
    concentration: float

    def share(self, frequencies: tuple[int, ...]) -> float:
        """The share of the non-constant norm² in ``frequencies`` (k ≥ 1)."""
        power = self.norms[1:].double().pow(2)
        total = float(power.sum())
        return sum(float(power[k - 1]) for k in frequencies) / total if total > 0 else 0.0


def embedding_spectrum(E: torch.Tensor) -> Spectrum:
    """The Fourier spectrum of the residues' embedding rows ``E`` (p, d_e)."""
    if E.dim() != 2 or E.shape[0] < 2:
        raise AnalysisError(f"need a (p, d_e) embedding of 2 residues or more, "
                            f"not {tuple(E.shape)}")
    p = E.shape[0]
    F = fourier_basis(p) @ E.detach().to("cpu", torch.float64)  # (p, d_e)
    power = F.pow(2).sum(dim=1)  # (p,) per wave
    per_k = torch.zeros(p // 2 + 1, dtype=torch.float64)
    per_k[0] = power[0]
    for k in range(1, p // 2 + 1):
        per_k[k] = power[2 * k - 1:2 * k + 1].sum()
    waves = per_k[1:]
    total = float(waves.sum())
    if total <= 0.0:
        return Spectrum(p, per_k.sqrt().float(), (), 0.0)
    even = total / len(waves)
    key = tuple(k + 1 for k in range(len(waves)) if float(waves[k]) >= KEY_FACTOR * even)
    spectrum = Spectrum(p, per_k.sqrt().float(), key, 0.0)
    return dataclasses.replace(spectrum, concentration=spectrum.share(key))


def residue_modulus(tokenizer: Any) -> int | None:
    """p when the tokenizer has the words 0, 1, ..., p-1 (and not p) and ``=``: a
    modular-arithmetic vocabulary; None otherwise (or when p < ``MIN_MODULUS``)."""
    if tokenizer.token_to_id("=") is None:
        return None
    p = 0
    while tokenizer.token_to_id(str(p)) is not None:
        p += 1
    return p if p >= MIN_MODULUS else None


def residue_embedding(model: torch.nn.Module, tokenizer: Any, p: int) -> torch.Tensor:
    """The rows of W_e that embed the residues 0..p-1, in order: (p, d_e)."""
    ids = [tokenizer.token_to_id(str(r)) for r in range(p)]
    if any(i is None for i in ids):
        raise AnalysisError(f"the tokenizer lacks some of the residues 0..{p - 1}")
    W_e = next((w for name, w in model.named_parameters()
                if name.endswith("embed.token.W_e.weight")), None)
    if W_e is None:
        raise AnalysisError("the model has no token embedding W_e")
    return W_e.detach()[torch.tensor(ids)]


class RunSpectra:
    """The embedding spectrum of each snapshot of a run folder, read as the snapshots
    arrive (``reload``). ``p`` is None until the run shows a modular-arithmetic
    vocabulary (``residue_modulus`` of its snapshots' tokenizer): then it is a grokking
    run, and ``steps[i]``, ``spectra[i]`` follow its snapshots."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.run_dir = run_dir
        self.p: int | None = None
        self.steps: list[int] = []
        self.spectra: list[Spectrum] = []
        self._tokenizer: Any = None

    def reload(self) -> bool:
        """Read the snapshots not read yet; True when something changed. A snapshot that
        cannot be read (still being written) is tried again at the next call."""
        from explorer.train.snapshots import list_snapshots, load_snapshot, snapshot_tokenizer

        if self.p is None and self._tokenizer is not None:
            return False  # read once: not a modular-arithmetic vocabulary
        snaps = list_snapshots(self.run_dir)
        if self.p is None:
            try:
                self._tokenizer = snapshot_tokenizer(self.run_dir)
            except ValueError:
                return False
            self.p = residue_modulus(self._tokenizer)
            if self.p is None:
                return False
        known = set(self.steps)
        changed = False
        for snap in snaps:
            if snap.step in known:
                continue
            try:
                model = load_snapshot(snap.path)
            except ValueError:
                break
            spectrum = embedding_spectrum(residue_embedding(model, self._tokenizer, self.p))
            self.steps.append(snap.step)
            self.spectra.append(spectrum)
            changed = True
        if changed:
            order = sorted(range(len(self.steps)), key=self.steps.__getitem__)
            self.steps = [self.steps[i] for i in order]
            self.spectra = [self.spectra[i] for i in order]
        return changed

    def at(self, step: int) -> Spectrum | None:
        """The spectrum of the snapshot at ``step`` or the last one before it."""
        before = [i for i, s in enumerate(self.steps) if s <= step]
        return self.spectra[before[-1]] if before else None

    def key_share(self) -> list[float]:
        """Per snapshot, the share of its norm² in the last snapshot's key frequencies:
        how the frequencies the model ends up using emerge (Nanda et al. fix them from the
        trained model the same way)."""
        if not self.spectra:
            return []
        key = self.spectra[-1].key
        return [s.share(key) for s in self.spectra]

    def norms(self) -> torch.Tensor:
        """(snapshots, ⌊p/2⌋ + 1): each snapshot's norm per frequency."""
        if not self.spectra:
            return torch.zeros(0, 0)
        return torch.stack([s.norms for s in self.spectra])
