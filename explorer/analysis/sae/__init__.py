"""Sparse autoencoders on a model's activations (Qt-free): train them (TopK, ReLU + L1),
measure them, save and open them in SAELens's layout, read their features and intervene
with them.

```python
from explorer.analysis.sae import SAETrainer, TokenWindows, TrainSettings, site_for
site, d = site_for(model, "blocks.1.resid_mlp")           # or "blocks.1.hook_resid_post"
windows = TokenWindows.from_data("grammar", tokenizer, model.cfg.l_max)
trainer = SAETrainer(model, site, d, windows, TrainSettings(kind="topk", k=16))
for _ in range(600):
    result = trainer.step()                                 # loss, FVU, L0, dead fraction
metrics = trainer.evaluate()                                # + CE loss recovered
save_sae(trainer.sae(), "my-sae", site)                     # cfg.json + sae_weights.safetensors
```
"""

from explorer.analysis.sae.autoencoder import ARCHITECTURES, SparseAutoencoder
from explorer.analysis.sae.features import (
    FeatureStats,
    TopContext,
    feature_activations,
    feature_stats,
    logit_effect,
    nearest_features,
    top_contexts,
)
from explorer.analysis.sae.files import SAEFileError, load_sae, save_sae
from explorer.analysis.sae.interventions import FeatureAblate, FeatureClamp, FeatureSteer
from explorer.analysis.sae.metrics import LossRecovered, loss_recovered, reconstruction
from explorer.analysis.sae.sites import Site, from_transformer_lens, site_for
from explorer.analysis.sae.stream import ActivationStream, TokenWindows
from explorer.analysis.sae.training import SAETrainer, StepResult, TrainSettings

__all__ = [
    "ARCHITECTURES", "ActivationStream", "FeatureAblate", "FeatureClamp", "FeatureStats",
    "FeatureSteer", "LossRecovered", "SAEFileError", "SAETrainer", "Site", "SparseAutoencoder",
    "StepResult", "TokenWindows", "TopContext", "TrainSettings", "feature_activations",
    "feature_stats", "from_transformer_lens", "load_sae", "logit_effect", "loss_recovered",
    "nearest_features", "reconstruction", "save_sae", "site_for", "top_contexts",
]
