"""The Fourier spectrum of a residue embedding (grokking's progress measure)."""

import math

import pytest
import torch

from explorer.analysis.common import AnalysisError
from explorer.analysis.fourier import embedding_spectrum, fourier_basis, residue_modulus


@pytest.mark.parametrize("p", [7, 8, 59])
def test_the_basis_is_orthonormal(p):
    B = fourier_basis(p)
    assert torch.allclose(B @ B.T, torch.eye(p, dtype=torch.float64), atol=1e-10)


def test_an_embedding_of_two_waves_has_exactly_those_two_key_frequencies():
    p, d = 59, 16
    r = torch.arange(p, dtype=torch.float64)
    E = torch.zeros(p, d, dtype=torch.float64)
    E[:, 0] = torch.cos(2 * math.pi * 5 * r / p)
    E[:, 1] = torch.sin(2 * math.pi * 5 * r / p)
    E[:, 2] = 3 * torch.cos(2 * math.pi * 17 * r / p + 0.4)
    s = embedding_spectrum(E)
    assert s.key == (5, 17)
    assert s.concentration == pytest.approx(1.0)
    # |cos|² + |sin|² over p residues = p; the phase-shifted wave has 9 · p/2
    assert float(s.norms[5]) == pytest.approx(math.sqrt(p), rel=1e-5)
    assert float(s.norms[17]) == pytest.approx(math.sqrt(9 * p / 2), rel=1e-5)
    assert s.share((17,)) == pytest.approx(9 / 11)  # 9 · p/2 of (p + 9 · p/2)
    others = [k for k in range(len(s.norms)) if k not in (5, 17)]
    assert float(s.norms[others].max()) < 1e-5


def test_a_random_embedding_has_no_key_frequency():
    E = torch.randn(59, 128, generator=torch.Generator().manual_seed(0))
    s = embedding_spectrum(E)
    assert s.key == () and s.concentration == 0.0
    assert len(s.norms) == 59 // 2 + 1


def test_errors_and_the_modulus_of_a_vocabulary():
    with pytest.raises(AnalysisError):
        embedding_spectrum(torch.zeros(1, 4))

    class Vocab:
        def __init__(self, words):
            self.words = words

        def token_to_id(self, w):
            return self.words.index(w) if w in self.words else None

    assert residue_modulus(Vocab([*map(str, range(11)), "="])) == 11
    assert residue_modulus(Vocab([*map(str, range(11))])) is None
    assert residue_modulus(Vocab(["a", "="])) is None
