"""Looking deeper into a model: logit lens, direct logit attribution, per-token loss,
embedding projection and comparing two inputs (Qt-free, below ``explorer.state``).

Every analysis is a function of a model, its input ids (``context=`` the source z of an
encoder-decoder) and optionally a trace already recorded for those ids; it returns a
frozen dataclass of plain CPU tensors and labels, and raises ``AnalysisError`` (a
``ValueError``) with one sentence for the user when a request cannot be answered. The
functions keep no state and never touch the model's weights, so a window can call them on
a worker thread as the user types (one call at a time per model).

```python
from explorer.analysis import logit_lens, direct_logit_attribution, token_loss
lens = logit_lens(model, ids, trace=trace)          # (points, positions) grids
dla = direct_logit_attribution(model, ids, position=5, target=tok_id, trace=trace)
loss = token_loss(model, ids, trace=trace)          # mean = the training objective's loss
logits, trace = record_intervened(model, x, interventions=[AblateHead(1, 2)])
sweeps = activation_patching(model, clean_ids, corrupted_ids, target, other)
```
"""

from explorer.analysis.common import AnalysisError, Inputs, check_token_output, prepare
from explorer.analysis.compare import (
    Comparison,
    align,
    compare_attention,
    compare_lens,
    compare_outputs,
    kl_divergence,
)
from explorer.analysis.dla import Attribution, Part, direct_logit_attribution
from explorer.analysis.effect import Effect, intervention_effect
from explorer.analysis.importance import HeadImportance, head_importance
from explorer.analysis.intervening import (
    intervened,
    intervention_from_dict,
    interventions_from_list,
    interventions_to_list,
    record_intervened,
    run_intervened,
)
from explorer.analysis.interventions import (
    AblateAttention,
    AblateHead,
    AblateMLP,
    EditAttention,
    Intervention,
    KnockOutKey,
    OneHotAttention,
    Patch,
)
from explorer.analysis.lens import (
    LensResult,
    ResidualPoint,
    default_targets,
    final_norm,
    lens_distribution,
    lens_logits,
    logit_lens,
    readout,
    residual_points,
)
from explorer.analysis.loss import TokenLoss, token_loss
from explorer.analysis.patching import (
    SWEEP_SITES,
    PatchingResult,
    SweepCancelled,
    activation_patching,
    patching_metric,
)
from explorer.analysis.pca import (
    Projection,
    embedding_projection,
    principal_components,
    residual_projection,
)

__all__ = [
    "SWEEP_SITES", "AblateAttention", "AblateHead", "AblateMLP", "EditAttention", "Effect",
    "HeadImportance", "Intervention", "KnockOutKey", "OneHotAttention", "Patch",
    "PatchingResult", "SweepCancelled", "activation_patching", "head_importance",
    "intervened", "intervention_effect", "intervention_from_dict", "interventions_from_list",
    "interventions_to_list", "patching_metric", "record_intervened", "run_intervened",
    "AnalysisError", "Attribution", "Comparison", "Inputs", "LensResult", "Part",
    "check_token_output",
    "Projection", "ResidualPoint", "TokenLoss", "align", "compare_attention", "compare_lens",
    "compare_outputs", "default_targets", "direct_logit_attribution", "embedding_projection",
    "final_norm", "kl_divergence", "lens_distribution", "lens_logits", "logit_lens",
    "prepare", "principal_components", "readout", "residual_points", "residual_projection",
    "token_loss",
]
