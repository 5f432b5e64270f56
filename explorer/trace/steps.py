"""What each recorded step is: its algorithm and line, title, formula and shape.

Names follow the module path of the hook point (``blocks.0.attn.q``); the
encoder-decoder prefixes them with ``encoder.`` or ``decoder.``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from explorer.core.config import EXTENSIONS, ModelConfig
from explorer.core.mlp import ACTIVATION_LABEL

PRETTY = {
    "l": "ℓ",
    "l_x": "ℓ_x",
    "l_z": "ℓ_z",
    "H*d_mid": "H·d_mid",
}


@dataclass(frozen=True)
class Step:
    """One recorded intermediate of a forward pass."""

    name: str
    algorithm: int  # the most specific of the paper's algorithms (1-10)
    line: int  # 1-based line of that algorithm's pseudocode
    outer: tuple[int, int] | None  # (architecture algorithm, line) this step belongs to
    title: str
    formula: str
    dims: tuple[str, ...]  # symbols of the paper-oriented tensor, e.g. ("H", "d_attn", "l_x")
    stack: str | None  # "encoder", "decoder" or None
    layer: int | None  # 0-based layer index, None outside the layers
    block: str  # "embed", "attn", "cross_attn", "mlp", "final", "output"
    extension: str | None = None  # what is not in the paper, e.g. "rotary positions, …"

    @property
    def not_in_paper(self) -> str:
        """"not in the paper: …" for an extension step, else ""."""
        return f"not in the paper: {self.extension}" if self.extension else ""

    @property
    def shape(self) -> str:
        """The shape in the paper's symbols, e.g. ``H × d_attn × ℓ_x``."""
        return " × ".join(PRETTY.get(d, d) for d in self.dims)

    @property
    def per_head(self) -> bool:
        return bool(self.dims) and self.dims[0] == "H"

    @property
    def kind(self) -> str:
        """``ids``, ``pattern`` (probabilities), ``probs``, ``scores`` or ``signed``."""
        last = self.name.rsplit(".", 1)[-1]
        if last == "ids":
            return "ids"
        if last == "pattern":
            return "pattern"
        if last in ("probs", "class_probs"):
            return "probs"
        if last in ("scores", "masked_scores"):
            return "scores"
        return "signed"


# Lines of the architecture algorithms (see pseudocode.py).
_ARCH_LINES = {
    10: {"sum": 2, "attn_norm": 5, "resid_attn": 6, "mlp_norm": 7, "mlp": 8, "final_norm": 10,
         "probs": 11},
    9: {"sum": 2, "resid_attn": 5, "attn_norm": 6, "mlp": 7, "mlp_norm": 8, "head": 10,
        "head_norm": 11, "probs": 12},
}
_ED_LINES = {
    "encoder": {"sum": 2, "resid_attn": 5, "attn_norm": 6, "mlp": 7, "mlp_norm": 8},
    "decoder": {"sum": 11, "resid_attn": 14, "attn_norm": 15, "resid_cross": 16,
                "cross_norm": 17, "mlp": 18, "mlp_norm": 19, "probs": 21},
}

_ATTN_PARTS = {
    # part: (Alg 4/5 line, algorithm, title, formula, dims)
    "q": (1, 4, "queries Q (all heads)", "Q^h ← W_q^h X̃ + b_q^h 1ᵀ", ("H", "d_attn", "X")),
    "k": (2, 4, "keys K (all heads)", "K^h ← W_k^h Z + b_k^h 1ᵀ", ("H", "d_attn", "Z")),
    "v": (3, 4, "values V (all heads)", "V^h ← W_v^h Z + b_v^h 1ᵀ", ("H", "d_mid", "Z")),
    "scores": (4, 4, "scores S = KᵀQ", "S^h ← K^hᵀ Q^h", ("H", "Z", "X")),
    "masked_scores": (5, 4, "masked scores", "S^h[t_z, t_x] ← −∞ where Mask[t_z, t_x] = 0",
                      ("H", "Z", "X")),
    "pattern": (6, 4, "attention pattern softmax(S/√d_attn)",
                "A^h = softmax(S^h / √d_attn)  (each column sums to 1)", ("H", "Z", "X")),
    "head_out": (6, 4, "weighted values Y^h = V·A", "Y^h = V^h · softmax(S^h / √d_attn)",
                 ("H", "d_mid", "X")),
    "stacked": (2, 5, "heads stacked Y", "Y ← [Y¹; Y²; …; Y^H]", ("H*d_mid", "X")),
    "out": (3, 5, "output W_o Y", "Ṽ = W_o Y + b_o 1ᵀ", ("d_e", "X")),
}

_NAME_RE = re.compile(r"^(?:(encoder|decoder)\.)?(?:blocks\.(\d+)\.)?(.+)$")


def _norm_text(cfg: ModelConfig) -> str:
    return "rms_norm" if cfg.norm == "rms" else "layer_norm"


def _marked(formula: str, extension: str | None) -> str:
    return f"{formula}   [not in the paper: {extension}]" if extension else formula


ROTARY = EXTENSIONS[("positions", "rotary")]
SWIGLU = EXTENSIONS[("activation", "swiglu")]
GROUPED = EXTENSIONS[("n_kv_heads", "grouped")]


def rotary_formula(cfg: ModelConfig, what: str = "Q") -> str:
    """The rotation of queries (or keys) by position, in the paper's column notation."""
    scale = f"t/{cfg.rope_scale:g}" if cfg.rope_scale != 1 else "t"
    return (f"{what}^h[:, t] ← R({scale}) {what}^h[:, t]: dims (i, i + d_attn/2) turned by "
            f"angle {scale}·θ_i, θ_i = {cfg.rope_base:g}^(−2i/d_attn)")


def describe(name: str, cfg: ModelConfig) -> Step:
    """The Step for hook name ``name`` in a model configured by ``cfg``."""
    m = _NAME_RE.match(name)
    if m is None:
        raise KeyError(name)
    stack, layer_s, rest = m.group(1), m.group(2), m.group(3)
    layer = int(layer_s) if layer_s is not None else None
    arch_alg = cfg.algorithm
    if stack is None and cfg.arch == "encoder-decoder":  # logits and probs: decoder side
        lines, tok = _ED_LINES["decoder"], "l_x"
    elif stack is None:
        lines = _ARCH_LINES.get(arch_alg, {})
        tok = "l"
    else:
        lines = _ED_LINES[stack]
        tok = "l_z" if stack == "encoder" else "l_x"
    where = ""
    if stack:
        where = "Encoder " if stack == "encoder" else "Decoder "
    norm = _norm_text(cfg)

    def gb(sup: str) -> str:  # RMSnorm has a scale γ and no offset β
        return f"γ{sup}" if cfg.norm == "rms" else f"γ{sup}, β{sup}"

    act = ACTIVATION_LABEL[cfg.activation]
    seq = {"l": "x", "l_z": "z", "l_x": "x"}[tok]
    Xs = "Z" if tok == "l_z" else "X"

    def make(alg, line, title, formula, dims, block, outer_key=None, extension=None):
        outer_line = lines.get(outer_key) if outer_key else None
        outer = (arch_alg, outer_line) if outer_line else None
        if layer is not None:
            title = f"{where}layer {layer + 1} · {title}"
        elif where:
            title = f"{where.lower().strip()} · {title}"
        return Step(name, alg, line, outer, title[0].upper() + title[1:],
                    _marked(formula, extension), dims, stack, layer, block, extension)

    if layer is None:
        part = rest.split(".")
        if part[0] == "embed":
            what = part[1]
            if what == "ids":
                return make(arch_alg, 1 if stack != "decoder" else 10, "token ids",
                            f"{seq} = [{seq}[1], …, {seq}[{PRETTY[tok]}]], ids in [N_V]",
                            (tok,), "embed")
            if what == "token":
                scale = "√d_e · " if cfg.scale_embedding else ""
                return make(1, 1, f"token embeddings W_e[:, {seq}[t]]",
                            f"e_t = {scale}W_e[:, {seq}[t]]", ("d_e", tok), "embed", "sum")
            if what == "position":
                return make(2, 1, f"positional embeddings W_p[:, t] ({cfg.positions})",
                            "e_p = W_p[:, t]", ("d_e", tok), "embed", "sum")
            if what == "token_type":
                return make(arch_alg, lines.get("sum", 2), "token-type embeddings W_t[:, 0]",
                            "e_type = W_t[:, type[t]]", ("d_e", tok), "embed", "sum")
            if what == "sum":
                if cfg.positions == "rotary":
                    return make(arch_alg, lines.get("sum", 2), f"initial embedding {Xs}",
                                f"{Xs}[:, t] = W_e[:, {seq}[t]]  (no W_p: positions rotate q "
                                "and k in every layer)", ("d_e", tok), "embed",
                                extension=ROTARY)
                plus = " + W_p[:, t]" if cfg.positions != "none" else "  (no positions)"
                return make(arch_alg, lines.get("sum", 2), f"initial embedding {Xs}",
                            f"{Xs}[:, t] = W_e[:, {seq}[t]]{plus}", ("d_e", tok), "embed")
            if what == "norm":
                return make(6, 3, "embedding norm", f"{Xs}[:, t] ← {norm}({Xs}[:, t])",
                            ("d_e", tok), "embed", "sum")
        if rest == "final_norm":
            return make(arch_alg, lines.get("final_norm", lines.get("head_norm", 1)),
                        "final norm", f"{Xs}[:, t] ← {norm}({Xs}[:, t] | {gb('')})",
                        ("d_e", tok), "final")
        if rest.startswith("head."):
            what = part[1]
            line = lines.get("head_norm" if what == "norm" else "head", 10)
            formula = {
                "hidden_pre": "W_f X + b_f 1ᵀ",
                "hidden": f"X ← {act}(W_f X + b_f 1ᵀ)",
                "norm": f"X[:, t] ← {norm}(X[:, t] | γ, β)",
            }[what]
            title = {"hidden_pre": "head W_f X", "hidden": f"head {act}(W_f X)",
                     "norm": "head norm"}[what]
            return make(arch_alg, line, title, formula, ("d_e", tok), "final")
        if rest == "logits":
            return make(7, 1, "logits W_u X", "W_u X  (softmax comes next)", ("N_V", tok),
                        "output", "probs")
        if rest == "probs":
            return make(arch_alg, lines.get("probs", 1), "output distribution P",
                        "P = softmax(W_u X)  (each column sums to 1)", ("N_V", tok), "output")
        if rest == "class_logits":
            return make(arch_alg, lines.get("probs", 1), "class logits W_c X[:, 1]",
                        "W_c X[:, 1] + b_c", ("N_C",), "output")
        if rest == "class_probs":
            return make(arch_alg, lines.get("probs", 1), "class probabilities P(c | x)",
                        "P(c | x) = softmax(W_c X[:, 1] + b_c)", ("N_C",), "output")
        raise KeyError(name)

    if stack == "decoder":
        sup = {"attn_norm": "³", "cross_norm": "⁴", "mlp_norm": "⁵"}
    else:
        sup = {"attn_norm": "¹", "mlp_norm": "²"}
    pre = cfg.norm_placement == "pre"
    tilde = "X̃" if pre else Xs
    if rest in ("attn_norm", "cross_norm", "mlp_norm"):
        target = "X̃" if pre else Xs
        label = {"attn_norm": "attention", "cross_norm": "cross-attention", "mlp_norm": "MLP"}
        when = "before" if pre else "after"
        formula = f"{target}[:, t] ← {norm}({Xs}[:, t] | {gb(sup[rest])})"
        block = {"attn_norm": "attn", "cross_norm": "cross_attn", "mlp_norm": "mlp"}[rest]
        return make(arch_alg, lines.get(rest, 1), f"norm {when} {label[rest]}", formula,
                    ("d_e", tok), block)
    if rest == "resid_attn":
        mask = "Mask[t, t′] = [t ≤ t′]" if (cfg.causal or stack == "decoder") else "Mask ≡ 1"
        return make(arch_alg, lines.get("resid_attn", 1), "residual after attention",
                    f"{Xs} ← {Xs} + MHAttention({tilde} | W_l, {mask})", ("d_e", tok), "attn")
    if rest == "resid_cross":
        return make(arch_alg, lines.get("resid_cross", 1), "residual after cross-attention",
                    f"X ← X + MHAttention({tilde}, Z | W_l^e/d, Mask ≡ 1)", ("d_e", tok),
                    "cross_attn")
    if rest == "resid_mlp":
        return make(arch_alg, lines.get("mlp", 1), "residual after MLP",
                    f"{Xs} ← {Xs} + MLP({tilde})", ("d_e", tok), "mlp")
    part = rest.split(".")
    if part[0] == "mlp" and cfg.activation == "swiglu":
        what = part[1]
        info = {
            "hidden_pre": ("MLP gate, before SiLU", f"W_mlp1 {tilde}", "d_mlp", None),
            "hidden": ("MLP gate, after SiLU", f"SiLU(W_mlp1 {tilde})", "d_mlp", None),
            "up": ("MLP up-projection W_up", f"W_up {tilde}", "d_mlp", SWIGLU),
            "gated": ("MLP gated hidden", f"SiLU(W_mlp1 {tilde}) ⊙ W_up {tilde}", "d_mlp",
                      SWIGLU),
            "out": ("MLP output", f"W_mlp2 (SiLU(W_mlp1 {tilde}) ⊙ W_up {tilde})", "d_e",
                    SWIGLU),
        }[what]
        return make(arch_alg, lines.get("mlp", 1), info[0], info[1], (info[2], tok), "mlp",
                    "mlp", extension=info[3])
    if part[0] == "mlp":
        what = part[1]
        info = {
            "hidden_pre": ("MLP hidden, before activation", f"W_mlp1 {tilde} + b_mlp1 1ᵀ",
                           "d_mlp"),
            "hidden": (f"MLP hidden, after {act}", f"{act}(W_mlp1 {tilde} + b_mlp1 1ᵀ)",
                       "d_mlp"),
            "out": ("MLP output", f"W_mlp2 {act}(…) + b_mlp2 1ᵀ", "d_e"),
        }[what]
        return make(arch_alg, lines.get("mlp", 1), info[0], info[1], (info[2], tok), "mlp",
                    "mlp")
    if part[0] in ("attn", "cross_attn"):
        what = part[1]
        rotary = cfg.positions == "rotary" and part[0] == "attn"
        base = what[:-4] if what in ("q_pre", "k_pre") else what
        line, alg, title, formula, dims = _ATTN_PARTS[base]
        cross = part[0] == "cross_attn"
        sym = {"X": tok, "Z": "l_z" if cross else tok}
        dims = tuple(sym.get(d, d) for d in dims)
        kind = "cross-attention" if cross else "self-attention"
        if base == "q" or not cross:
            formula = formula.replace(" X̃ ", f" {tilde} ").replace(" Z ", f" {tilde} ")
        extension = None
        sizes = cfg.stack_sizes(stack)
        if base in ("k", "v") and sizes["n_kv_heads"] != sizes["n_heads"]:
            mat = "k" if base == "k" else "v"
            per = sizes["n_heads"] // sizes["n_kv_heads"]
            formula = (formula.replace(f"W_{mat}^h", f"W_{mat}^g(h)")
                       .replace(f"b_{mat}^h", f"b_{mat}^g(h)")
                       + f",  g(h) = ⌈h/{per}⌉: {sizes['n_kv_heads']} key/value heads, each "
                       f"shared by {per} query heads")
            extension = GROUPED
        if what in ("q_pre", "k_pre"):
            title = title.replace("(all heads)", "before rotation (all heads)")
        elif rotary and base in ("q", "k"):
            title = title.replace("(all heads)", "rotated by position (all heads)")
            formula = rotary_formula(cfg, base.upper())
            extension = ROTARY
        outer_key = "resid_cross" if cross else "resid_attn"
        return make(alg, line, f"{kind} · {title}", formula, dims,
                    "cross_attn" if cross else "attn", outer_key, extension)
    raise KeyError(name)
