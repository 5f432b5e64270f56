"""The circuit-discovery part of ``bench analysis`` (``--what circuit``): gradient-based
patching in forward and backward passes, with the exact sweeps' time beside.

On each model at 16 tokens (one token of the clean text changed), interleaved in rounds
(``bench.rounds``):

- ``attribute``: attribution patching of every site (resid, attn_out, mlp_out, head_out,
  q, k, v), against one forward-and-backward pair on the clean input (target ≤ 3×);
- ``eap_ig``: EAP-IG with k = 5, its set-up included (the clean and corrupted runs),
  against the same pair (target ≤ 8×);
- ``faithfulness``: a curve of 10 circuit sizes (0 to all), batched, against 10 plain
  forward passes (target ≤ 1×);
- ``exact``: the four exact activation-patching sweeps (``explorer.analysis.patching``),
  what the linear estimates stand in for.

TransformerLens's attribution patching is not measured here (its package is not a
dependency); ``transformer_lens`` says whether it was importable.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import torch

from explorer.analysis import activation_patching
from explorer.analysis.attribution import attribution_patching
from explorer.analysis.circuit import Circuits, curve_sizes
from explorer.bench.patching import pair_texts
from explorer.bench.rounds import interleaved, medians_ms, summary

TARGETS = {"attribute_over_forward_backward": 3.0, "eap_ig_over_forward_backward": 8.0,
           "faithfulness_over_10_forwards": 1.0}


def measure_circuit(model, length: int, rounds: int, device: torch.device) -> dict[str, Any]:
    """The sides above in interleaved rounds, and their median round ratios."""
    clean, corrupted, target, other = pair_texts(model, length)
    x = clean[None].to(device)
    params = [p for p in model.parameters() if p.requires_grad]

    def forward_backward():
        logits = model(x)
        grads = torch.autograd.grad(logits[0, -1, target] - logits[0, -1, other], params)
        return grads

    def ten_forwards():
        with torch.no_grad():
            for _ in range(10):
                model(x)

    def attribute():
        return attribution_patching(model, clean, corrupted, target, other)

    def eap_ig():
        return Circuits(model, clean, corrupted, target, other).scores("eap-ig", 5)

    circuits = Circuits(model, clean, corrupted, target, other)
    ranked = circuits.graph("eap").ranked()
    sizes = curve_sizes(len(ranked), 10)

    def faithfulness():
        return circuits.faithfulness(ranked, sizes)

    def exact():
        return activation_patching(model, clean, corrupted, target, other, remember=False)

    sides = {"forward_backward": forward_backward, "ten_forwards": ten_forwards,
             "attribute": attribute, "eap_ig": eap_ig, "faithfulness": faithfulness,
             "exact": exact}
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else None
    rows = interleaved(sides, rounds, sync=sync)
    ratios = {"attribute_over_forward_backward": summary(rows, "attribute", "forward_backward"),
              "eap_ig_over_forward_backward": summary(rows, "eap_ig", "forward_backward"),
              "faithfulness_over_10_forwards": summary(rows, "faithfulness", "ten_forwards"),
              "exact_over_attribute": summary(rows, "exact", "attribute")}
    for r in ratios.values():
        r.pop("rounds")
    return {
        "l": length, "edges": len(ranked), "curve_sizes": sizes,
        "times": medians_ms(rows), "ratios": ratios,
        "targets": TARGETS,
        "meets_targets": {k: ratios[k]["median_round_ratio"] <= v for k, v in TARGETS.items()},
        "transformer_lens": importlib.util.find_spec("transformer_lens") is not None,
    }
