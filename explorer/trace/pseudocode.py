"""The paper's pseudocode, restated in our words, as numbered lines the UI highlights.

Written from shared/PAPER.md in the paper's notation (column vectors, X ∈ ℝ^{d×ℓ}).
``Step.algorithm`` and ``Step.line`` index into these lines (1-based).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Algorithm:
    number: int
    name: str
    header: tuple[str, ...]  # Input / Output / Parameters, unnumbered
    lines: tuple[str, ...]  # numbered from 1

    @property
    def title(self) -> str:
        return f"Algorithm {self.number}: {self.name}"


def _alg(number: int, name: str, header: str, body: str) -> Algorithm:
    head = tuple(line for line in header.strip("\n").splitlines())
    lines = tuple(line for line in body.strip("\n").splitlines())
    return Algorithm(number, name, head, lines)


ALGORITHMS: dict[int, Algorithm] = {
    a.number: a
    for a in (
        _alg(
            1,
            "Token embedding",
            """
Input: v ∈ V ≅ [N_V], a token ID
Output: e ∈ ℝ^{d_e}, the vector representation of the token
Parameters: W_e ∈ ℝ^{d_e×N_V}, the token embedding matrix
""",
            "return e = W_e[:, v]",
        ),
        _alg(
            2,
            "Positional embedding",
            """
Input: t ∈ [ℓ_max], the position of a token in the sequence
Output: e_p ∈ ℝ^{d_e}, the vector representation of the position
Parameters: W_p ∈ ℝ^{d_e×ℓ_max} (learned, or fixed sinusoids:
  W_p[2i−1, t] = sin(t / ℓ_max^{2i/d_e}),  W_p[2i, t] = cos(t / ℓ_max^{2i/d_e}))
""",
            "return e_p = W_p[:, t]",
        ),
        _alg(
            3,
            "Basic single-query attention",
            """
Input: e ∈ ℝ^{d_in}, the current token; e_t ∈ ℝ^{d_in}, t ∈ [T], context tokens
Output: ṽ ∈ ℝ^{d_out}, the current token mixed with the context
Parameters: W_q, W_k ∈ ℝ^{d_attn×d_in}, b_q, b_k ∈ ℝ^{d_attn}; W_v ∈ ℝ^{d_out×d_in}, b_v
""",
            """
q ← W_q e + b_q
∀t: k_t ← W_k e_t + b_k
∀t: v_t ← W_v e_t + b_v
∀t: α_t = exp(qᵀk_t / √d_attn) / Σ_u exp(qᵀk_u / √d_attn)
return ṽ = Σ_t α_t v_t
""",
        ),
        _alg(
            4,
            "Ṽ ← Attention(X, Z | W_qkv, Mask)",
            """
Input: X ∈ ℝ^{d_x×ℓ_x}, primary sequence; Z ∈ ℝ^{d_z×ℓ_z}, context sequence
Output: Ṽ ∈ ℝ^{d_out×ℓ_x}, the primary tokens with context mixed in
Parameters: W_q, W_k ∈ ℝ^{d_attn×d_x|z}, b_q, b_k; W_v ∈ ℝ^{d_out×d_z}, b_v
Hyperparameter: Mask ∈ {0,1}^{ℓ_z×ℓ_x}
""",
            """
Q ← W_q X + b_q 1ᵀ                         Q ∈ ℝ^{d_attn×ℓ_x}
K ← W_k Z + b_k 1ᵀ                         K ∈ ℝ^{d_attn×ℓ_z}
V ← W_v Z + b_v 1ᵀ                         V ∈ ℝ^{d_out×ℓ_z}
S ← Kᵀ Q                                   S ∈ ℝ^{ℓ_z×ℓ_x}
∀t_z, t_x: if ¬Mask[t_z, t_x] then S[t_z, t_x] ← −∞
return Ṽ = V · softmax(S / √d_attn)        softmax down each column
""",
        ),
        _alg(
            5,
            "Ṽ ← MHAttention(X, Z | W, Mask)",
            """
Input: X ∈ ℝ^{d_x×ℓ_x}, Z ∈ ℝ^{d_z×ℓ_z}
Output: Ṽ ∈ ℝ^{d_out×ℓ_x}
Parameters: for h ∈ [H]: W_qkv^h; W_o ∈ ℝ^{d_out×H·d_mid}, b_o ∈ ℝ^{d_out}
""",
            """
for h ∈ [H]: Y^h ← Attention(X, Z | W_qkv^h, Mask)
Y ← [Y¹; Y²; …; Y^H]                      Y ∈ ℝ^{H·d_mid×ℓ_x}
return Ṽ = W_o Y + b_o 1ᵀ
""",
        ),
        _alg(
            6,
            "Layer normalisation",
            """
Input: e ∈ ℝ^{d_e}, one token's activations
Output: ê ∈ ℝ^{d_e}, normalised
Parameters: γ, β ∈ ℝ^{d_e}, scale and offset   (RMSnorm: m = 0, β = 0)
""",
            """
m ← Σ_i e[i] / d_e
v ← Σ_i (e[i] − m)² / d_e
return ê = (e − m) / √v ⊙ γ + β
""",
        ),
        _alg(
            7,
            "Unembedding",
            """
Input: e ∈ ℝ^{d_e}, a token's final representation
Output: p ∈ Δ(V), a distribution over the vocabulary
Parameters: W_u ∈ ℝ^{N_V×d_e}, the unembedding matrix
""",
            "return p = softmax(W_u e)",
        ),
        _alg(
            8,
            "P ← EDTransformer(z, x | θ)",
            """
Input: z, x ∈ V*, context and primary sequences
Output: P ∈ (0,1)^{N_V×ℓ_x}; P[:, t] is the distribution of x[t+1]
Parameters θ: W_e, W_p; per layer W_l^enc, W_l^dec, W_l^e/d, γ_l, β_l, MLPs; W_u
""",
            """
ℓ_z ← length(z)
for t ∈ [ℓ_z]: e_t ← W_e[:, z[t]] + W_p[:, t]
Z ← [e_1, e_2, …, e_ℓz]
for l = 1, 2, …, L_enc do
    Z ← Z + MHAttention(Z | W_l^enc, Mask ≡ 1)
    for t ∈ [ℓ_z]: Z[:, t] ← layer_norm(Z[:, t] | γ_l¹, β_l¹)
    Z ← Z + W_mlp2^l ReLU(W_mlp1^l Z + b_mlp1^l 1ᵀ) + b_mlp2^l 1ᵀ
    for t ∈ [ℓ_z]: Z[:, t] ← layer_norm(Z[:, t] | γ_l², β_l²)
end
ℓ_x ← length(x)
for t ∈ [ℓ_x]: e_t ← W_e[:, x[t]] + W_p[:, t]
X ← [e_1, e_2, …, e_ℓx]
for l = 1, 2, …, L_dec do
    X ← X + MHAttention(X | W_l^dec, Mask[t, t′] = [t ≤ t′])
    for t ∈ [ℓ_x]: X[:, t] ← layer_norm(X[:, t] | γ_l³, β_l³)
    X ← X + MHAttention(X, Z | W_l^e/d, Mask ≡ 1)
    for t ∈ [ℓ_x]: X[:, t] ← layer_norm(X[:, t] | γ_l⁴, β_l⁴)
    X ← X + W_mlp4^l ReLU(W_mlp3^l X + b_mlp3^l 1ᵀ) + b_mlp4^l 1ᵀ
    for t ∈ [ℓ_x]: X[:, t] ← layer_norm(X[:, t] | γ_l⁵, β_l⁵)
end
return P = softmax(W_u X)
""",
        ),
        _alg(
            9,
            "P ← ETransformer(x | θ)",
            """
Input: x ∈ V*, a sequence of token IDs
Output: P ∈ (0,1)^{N_V×ℓ}; P[:, t] is the distribution of x[t] (masked tokens)
Parameters θ: W_e, W_p; per layer W_l, γ_l¹, β_l¹, γ_l², β_l², MLP; W_f, b_f, γ, β; W_u
""",
            """
ℓ ← length(x)
for t ∈ [ℓ]: e_t ← W_e[:, x[t]] + W_p[:, t]
X ← [e_1, e_2, …, e_ℓ]
for l = 1, 2, …, L do
    X ← X + MHAttention(X | W_l, Mask ≡ 1)
    for t ∈ [ℓ]: X[:, t] ← layer_norm(X[:, t] | γ_l¹, β_l¹)
    X ← X + W_mlp2^l GELU(W_mlp1^l X + b_mlp1^l 1ᵀ) + b_mlp2^l 1ᵀ
    for t ∈ [ℓ]: X[:, t] ← layer_norm(X[:, t] | γ_l², β_l²)
end
X ← GELU(W_f X + b_f 1ᵀ)
for t ∈ [ℓ]: X[:, t] ← layer_norm(X[:, t] | γ, β)
return P = softmax(W_u X)
""",
        ),
        _alg(
            10,
            "P ← DTransformer(x | θ)",
            """
Input: x ∈ V*, a sequence of token IDs
Output: P ∈ (0,1)^{N_V×ℓ}; P[:, t] is the distribution of x[t+1]
Parameters θ: W_e, W_p; per layer W_l, γ_l¹, β_l¹, γ_l², β_l², MLP; γ, β; W_u
""",
            """
ℓ ← length(x)
for t ∈ [ℓ]: e_t ← W_e[:, x[t]] + W_p[:, t]
X ← [e_1, e_2, …, e_ℓ]
for l = 1, 2, …, L do
    for t ∈ [ℓ]: X̃[:, t] ← layer_norm(X[:, t] | γ_l¹, β_l¹)
    X ← X + MHAttention(X̃ | W_l, Mask[t, t′] = [t ≤ t′])
    for t ∈ [ℓ]: X̃[:, t] ← layer_norm(X[:, t] | γ_l², β_l²)
    X ← X + W_mlp2^l GELU(W_mlp1^l X̃ + b_mlp1^l 1ᵀ) + b_mlp2^l 1ᵀ
end
for t ∈ [ℓ]: X[:, t] ← layer_norm(X[:, t] | γ, β)
return P = softmax(W_u X)
""",
        ),
        _alg(
            11,
            "θ̂ ← EDTraining(z_{1:N}, x_{1:N}, θ)",
            """
Input: pairs (z_n, x_n), n ∈ [N_data]; initial θ; N_epochs; learning rate η
Output: trained parameters θ̂
""",
            """
for i = 1, 2, …, N_epochs do
    for n = 1, 2, …, N_data do
        ℓ ← length(x_n)
        P(θ) ← EDTransformer(z_n, x_n | θ)
        loss(θ) = −Σ_{t=1}^{ℓ−1} log P(θ)[x_n[t+1], t]
        θ ← θ − η · ∇loss(θ)
    end
end
return θ̂ = θ
""",
        ),
        _alg(
            12,
            "θ̂ ← ETraining(x_{1:N}, θ)",
            """
Input: sequences x_n, n ∈ [N_data]; initial θ; N_epochs; η; p_mask ∈ (0, 1)
Output: trained parameters θ̂
""",
            """
for i = 1, 2, …, N_epochs do
    for n = 1, 2, …, N_data do
        ℓ ← length(x_n)
        for t ∈ [ℓ]: x̃_n[t] ← mask_token with probability p_mask, else x_n[t]
        T̃ ← {t ∈ [ℓ] : x̃_n[t] = mask_token}
        P(θ) ← ETransformer(x̃_n | θ)
        loss(θ) = −Σ_{t∈T̃} log P(θ)[x_n[t], t]
        θ ← θ − η · ∇loss(θ)
    end
end
return θ̂ = θ
""",
        ),
        _alg(
            13,
            "θ̂ ← DTraining(x_{1:N}, θ)",
            """
Input: sequences x_n, n ∈ [N_data]; initial θ; N_epochs; learning rate η
Output: trained parameters θ̂
""",
            """
for i = 1, 2, …, N_epochs do
    for n = 1, 2, …, N_data do
        ℓ ← length(x_n)
        P(θ) ← DTransformer(x_n | θ)
        loss(θ) = −Σ_{t=1}^{ℓ−1} log P(θ)[x_n[t+1], t]
        θ ← θ − η · ∇loss(θ)
    end
end
return θ̂ = θ
""",
        ),
        _alg(
            14,
            "y ← DInference(x, θ̂)",
            """
Input: a prompt x ∈ V*; trained θ̂; ℓ_gen tokens to generate; temperature τ ∈ (0, ∞)
Output: y ∈ V*, a continuation of the prompt
""",
            """
ℓ ← length(x)
for i = 1, 2, …, ℓ_gen do
    P ← DTransformer(x | θ̂)
    p ← P[:, ℓ + i − 1]
    sample a token y from q ∝ p^{1/τ}
    x ← [x, y]
end
return y = x[ℓ + 1 : ℓ + ℓ_gen]
""",
        ),
        _alg(
            15,
            "x̂ ← EDInference(z, θ̂)",
            """
Input: a context z ∈ V*; trained θ̂; temperature τ ∈ (0, ∞)
Output: x̂ ∈ V*, the generated sequence, bos and eos included
""",
            """
x̂ ← [bos_token]
y ← 0
while y ≠ eos_token and length(x̂) < ℓ_max do
    P ← EDTransformer(z, x̂ | θ̂)
    p ← P[:, length(x̂)]
    sample a token y from q ∝ p^{1/τ}
    x̂ ← [x̂, y]
end
return x̂
""",
        ),
    )
}
