"""SAEs on disk in SAELens's layout: a folder with ``cfg.json`` and
``sae_weights.safetensors`` (W_enc (d_in, d_sae), b_enc (d_sae,), W_dec (d_sae, d_in),
b_dec (d_in,), and threshold (d_sae,) for JumpReLU).

``cfg.json`` names the architecture ("standard", "topk", "jumprelu"), d_in, d_sae, the
hook (our step name, or a TransformerLens name such as ``blocks.5.hook_resid_post``, mapped
to our steps), k for TopK and the rest SAELens writes (at the top level, as SAELens 5 did,
and under ``metadata``, as SAELens 6 does). Only safetensors is read, with our own reader
(``explorer.core.weights_file``): nothing in a folder is ever executed or unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from explorer.analysis.common import AnalysisError
from explorer.analysis.sae.autoencoder import ARCHITECTURES, SparseAutoencoder
from explorer.analysis.sae.sites import Site, site_for
from explorer.core.models import TransformerModel
from explorer.core.weights_file import WeightsFile

CFG = "cfg.json"
WEIGHTS = "sae_weights.safetensors"
MAX_CFG_BYTES = 1 << 20
_ALIASES = {"relu": "standard", "standard": "standard", "topk": "topk", "jumprelu": "jumprelu"}


class SAEFileError(AnalysisError):
    """A folder that is not an SAE we can open; the message says why, in one sentence."""


def save_sae(sae: SparseAutoencoder, folder: str | Path, site: Site, model_name: str = "",
             context_size: int | None = None, dataset: str = "") -> Path:
    """Write ``cfg.json`` and ``sae_weights.safetensors`` into ``folder`` (made if need be)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {"W_enc": sae.W_enc, "b_enc": sae.b_enc, "W_dec": sae.W_dec, "b_dec": sae.b_dec}
    if sae.architecture == "jumprelu":
        tensors["threshold"] = sae.threshold
    save_file({k: v.detach().float().contiguous().cpu() for k, v in tensors.items()},
              str(folder / WEIGHTS))
    meta = {"model_name": model_name, "hook_name": site.step, "hook_layer": site.layer,
            "hook_head_index": site.head, "context_size": context_size,
            "prepend_bos": False, "dataset_path": dataset,
            "model_from_pretrained_kwargs": {}}
    cfg: dict[str, Any] = {
        "architecture": sae.architecture, "d_in": sae.d_in, "d_sae": sae.d_sae,
        "dtype": "float32", "device": "cpu",
        "apply_b_dec_to_input": sae.apply_b_dec_to_input,
        "normalize_activations": "none", "reshape_activations": "none",
        "activation_fn_str": "topk" if sae.k else "relu",
        "activation_fn_kwargs": {"k": sae.k} if sae.k else {},
        "finetuning_scaling_factor": False,
        **({"k": sae.k} if sae.k else {}), **meta, "metadata": meta,
    }
    (folder / CFG).write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    return folder


def read_cfg(folder: str | Path) -> dict[str, Any]:
    """The folder's cfg.json as a dict (SAEFileError when there is none or it is not JSON)."""
    folder = Path(folder)
    path = folder / CFG
    if not folder.is_dir():
        raise SAEFileError(f"{folder}: no such SAE folder")
    if not path.is_file():
        raise SAEFileError(f"{folder}: no {CFG} (an SAE folder holds {CFG} and {WEIGHTS})")
    if path.stat().st_size > MAX_CFG_BYTES:
        raise SAEFileError(f"{path}: too large for an SAE's configuration")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SAEFileError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(cfg, dict):
        raise SAEFileError(f"{path}: not a JSON object")
    return cfg


def _field(cfg: dict[str, Any], name: str) -> Any:
    """A field at the top level or in SAELens 6's ``metadata`` (or ``meta``)."""
    if name in cfg:
        return cfg[name]
    for nest in ("metadata", "meta"):
        if isinstance(cfg.get(nest), dict) and name in cfg[nest]:
            return cfg[nest][name]
    return None


def _whole(value: Any, what: str, path: Path) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SAEFileError(f"{path}: {what} must be a positive whole number, not {value!r}")
    return value


def _architecture(cfg: dict[str, Any], path: Path) -> tuple[str, int | None]:
    arch = cfg.get("architecture") or cfg.get("activation_fn_str") or "standard"
    if arch not in _ALIASES:
        raise SAEFileError(f"{path}: unknown architecture {arch!r} (this reads "
                           f"{', '.join(ARCHITECTURES)})")
    arch = _ALIASES[arch]
    k = None
    if arch == "topk":
        kwargs = cfg.get("activation_fn_kwargs")
        k = cfg.get("k", kwargs.get("k") if isinstance(kwargs, dict) else None)
        k = _whole(k, "k (TopK)", path)
    return arch, k


def _site(cfg: dict[str, Any], model: TransformerModel, path: Path) -> tuple[Site, int]:
    hook = _field(cfg, "hook_name")
    if not isinstance(hook, str) or not hook:
        raise SAEFileError(f"{path}: no hook_name: which step the SAE reads is unknown")
    head = _field(cfg, "hook_head_index")
    if head is not None and (not isinstance(head, int) or isinstance(head, bool)):
        raise SAEFileError(f"{path}: hook_head_index must be a whole number, not {head!r}")
    if hook.endswith("attn.hook_z") and head is None:  # all heads' z, concatenated
        hook = hook.replace("attn.hook_z", "attn.stacked")
    try:
        return site_for(model, hook, head)
    except AnalysisError as exc:
        raise SAEFileError(f"{path}: hook {hook!r}: {exc}") from None


def load_sae(folder: str | Path, model: TransformerModel) -> tuple[SparseAutoencoder, Site]:
    """The SAE in ``folder`` and the site of ``model`` it reads; SAEFileError (one sentence)
    for a missing or malformed cfg, an unknown architecture or site, a d_in that is not the
    site's, or weights that are missing, of the wrong shape or not safetensors."""
    folder = Path(folder)
    cfg = read_cfg(folder)
    path = folder / CFG
    arch, k = _architecture(cfg, path)
    d_in = _whole(cfg.get("d_in"), "d_in", path)
    d_sae = _whole(cfg.get("d_sae"), "d_sae", path)
    if k is not None and k > d_sae:
        raise SAEFileError(f"{path}: k={k} is more than d_sae={d_sae}")
    norm = cfg.get("normalize_activations", "none")
    if norm not in (None, "none"):
        raise SAEFileError(f"{path}: normalize_activations {norm!r} is not supported: fold "
                           "the scaling into the weights first")
    site, d_site = _site(cfg, model, path)
    if d_in != d_site:
        raise SAEFileError(f"{path}: d_in is {d_in} but {site.step} has d = {d_site} in this "
                           "model: the SAE was trained on another model")
    weights = folder / WEIGHTS
    if not weights.is_file():
        others = sorted(p.name for p in folder.iterdir() if p.suffix in (".pt", ".bin",
                                                                          ".pth", ".pkl"))
        extra = f" ({', '.join(others)} is never opened: pickles can run code)" if others \
            else ""
        raise SAEFileError(f"{folder}: no {WEIGHTS}{extra}")
    try:
        file = WeightsFile(weights)
    except ValueError as exc:
        raise SAEFileError(str(exc)) from None
    sae = SparseAutoencoder(d_in, d_sae, arch, k,
                            apply_b_dec_to_input=bool(cfg.get("apply_b_dec_to_input", True)))
    wanted = {"W_enc": (d_in, d_sae), "b_enc": (d_sae,), "W_dec": (d_sae, d_in),
              "b_dec": (d_in,)}
    if arch == "jumprelu":
        wanted["threshold"] = (d_sae,)
    for name, shape in wanted.items():
        if name not in file:
            raise SAEFileError(f"{weights}: no tensor {name}")
        if tuple(file.shape(name)) != shape:
            raise SAEFileError(f"{weights}: {name} has shape {tuple(file.shape(name))}, not "
                               f"{shape} (d_in={d_in}, d_sae={d_sae})")
        if not file.dtype(name).is_floating_point:
            raise SAEFileError(f"{weights}: {name} is not floating point")
        with torch.no_grad():
            file.read(name, out=getattr(sae, name))
    return sae.eval(), site
