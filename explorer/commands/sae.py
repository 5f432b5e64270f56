"""``transformer-explorer sae train|features``: sparse autoencoders on a model's activations.

``train`` streams activations at ``--site`` (a step name such as ``blocks.1.resid_mlp``,
which is layer 2's residual stream after its MLP, or a TransformerLens name such as
``blocks.1.hook_resid_post``; ``--head`` from 1 for a per-head step) from the model's own
training data or ``--data`` (a bundled data set or a text file), trains a TopK or ReLU + L1
SAE with a progress bar, and writes ``--out`` in SAELens's layout (``cfg.json`` and
``sae_weights.safetensors``) with what resuming needs: run it again with the same ``--out``
and a larger ``--steps`` to continue. ``features`` shows the features most active on a text:
where they fire and which tokens their decoder direction pushes up and down.

Layers and heads count from 1 in flags and JSON (``"layer": 2``); step names from 0; SAE
features are numbered from 0, as in their files.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from explorer.commands.counting import HELP_NOTE, counted_from_1
from explorer.commands.model_arg import add_model_argument, model_input_ids, open_model_arg

HELP = "Train a sparse autoencoder on a model's activations, or show its features on a text."
SAVE_EVERY = 100  # steps between saves (an interrupted run resumes from the last)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from explorer.analysis.sae.training import TrainSettings

    d = TrainSettings()  # the defaults, written once
    parser.epilog = HELP_NOTE
    sub = parser.add_subparsers(dest="sae_command", metavar="WHAT", required=True)
    t = sub.add_parser("train", help="train an SAE at one step of a model (resumable)",
                       description="Train an SAE at one step of a model; run again with the "
                       "same --out to resume.", epilog=HELP_NOTE)
    add_model_argument(t, "default-decoder")
    t.add_argument("--site", required=True, help="the step, e.g. blocks.1.resid_mlp (layer 2's "
                   "residual stream) or blocks.1.hook_resid_post")
    t.add_argument("--head", type=int, help="the head, from 1, for a per-head step such as "
                   "blocks.0.attn.head_out")
    t.add_argument("--kind", choices=("topk", "relu"), default="topk")
    t.add_argument("--width", type=int,
                   help=f"features (default {d.expansion} × d of the site)")
    t.add_argument("--k", type=int, default=d.k, help=f"TopK: active features (default {d.k})")
    t.add_argument("--l1", type=float, default=d.l1,
                   help=f"ReLU: L1 coefficient (default {d.l1:g})")
    t.add_argument("--steps", type=int, default=d.steps, help=f"total steps (default {d.steps})")
    t.add_argument("--batch", type=int, default=d.batch,
                   help=f"activations per step (default {d.batch})")
    t.add_argument("--lr", type=float, default=d.lr,
                   help=f"Adam's learning rate (default {d.lr:g})")
    t.add_argument("--data", help="a bundled data set or a text file (default: the one the "
                   "model was trained on)")
    t.add_argument("--out", required=True, help="the SAE's folder")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--json", action="store_true", help="print the final metrics as JSON")
    f = sub.add_parser("features", help="the SAE's features most active on a text",
                       description="The SAE's features most active on a text.",
                       epilog=HELP_NOTE)
    f.add_argument("--sae", required=True, help="an SAE folder (cfg.json + "
                   "sae_weights.safetensors)")
    add_model_argument(f, "default-decoder")
    f.add_argument("--text", required=True)
    f.add_argument("--top", type=int, default=5, help="features to show (default 5)")
    f.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from explorer.analysis import AnalysisError

    try:
        if args.sae_command == "train":
            return _train(args)
        return _features(args)
    except (AnalysisError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _data_name(args, info: dict[str, Any], model) -> str:
    if args.data:
        return args.data
    data = (model.cfg.extra or {}).get("data")
    if not data:
        raise ValueError(f"{info.get('name', 'the model')} does not say what it was trained "
                         "on: give --data (a bundled data set or a text file)")
    return str(data)


def _bar(r, total: int, width: int = 24) -> str:
    frac = min(1.0, r.step / max(1, total))
    filled = int(round(frac * width))
    rate = r.activations / max(r.seconds, 1e-9)
    return (f"step {r.step}/{total} |{'█' * filled}{'░' * (width - filled)}| {frac:4.0%} "
            f"FVU {r.fvu:.3f} L0 {r.l0:.1f} dead {r.dead_fraction:.1%} "
            f"{rate / 1e3:.1f}k act/s {r.seconds:.0f}s")


def _train(args) -> int:
    from explorer.analysis.sae import SAETrainer, TokenWindows, TrainSettings, site_for
    from explorer.analysis.sae.checkpoint import (
        read_training,
        resume,
        save_training,
        settings_of,
    )

    model, tok, info = open_model_arg(args.model)
    head = None if args.head is None else counted_from_1(args.head, "--head") - 1
    site, d = site_for(model, args.site, head)
    out = Path(args.out)
    saved = read_training(out) if out.is_dir() else None
    data = saved["data"] if saved else _data_name(args, info, model)
    windows = TokenWindows.from_data(data, tok, model.cfg.l_max)
    if saved:
        if (saved.get("site"), saved.get("head")) != (site.step, site.head):
            raise ValueError(f"{out} holds a run at {saved.get('site')}, not {site.step}: "
                             "give another --out")
        settings = replace(settings_of(saved), steps=args.steps)
    else:
        settings = TrainSettings(kind=args.kind, width=args.width, k=args.k, l1=args.l1,
                                 steps=args.steps, batch=args.batch, lr=args.lr,
                                 seed=args.seed)
    trainer = SAETrainer(model, site, d, windows, settings)
    if saved:
        resume(trainer, out, saved)
        if not args.quiet:
            print(f"resuming {out} at step {trainer.step_count}", file=sys.stderr)
    name = str(info.get("name") or args.model)
    tty = sys.stderr.isatty() and not args.quiet
    start = time.perf_counter()
    try:
        while trainer.step_count < settings.steps:
            r = trainer.step()
            if tty:
                sys.stderr.write("\r" + _bar(r, settings.steps))
            elif not args.quiet and (r.step % SAVE_EVERY == 0 or r.step == settings.steps):
                print(_bar(r, settings.steps), file=sys.stderr, flush=True)
            if r.step % SAVE_EVERY == 0:
                save_training(trainer, out, name, data)
    except KeyboardInterrupt:
        save_training(trainer, out, name, data)
        print(f"\ninterrupted: saved at step {trainer.step_count}; run again to resume",
              file=sys.stderr)
        return 130
    if tty:
        sys.stderr.write("\n")
    metrics = trainer.evaluate()
    metrics.update(layer=None if site.layer is None else site.layer + 1, site=site.step,
                   head=None if site.head is None else site.head + 1,
                   features=trainer.core.d_sae, kind=settings.kind,
                   resumed_from=saved["step"] if saved else None,
                   activations=trainer.stream.served, train_seconds=round(trainer.seconds, 2),
                   wall_seconds=round(time.perf_counter() - start, 2), out=str(out))
    save_training(trainer, out, name, data, metrics)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        ce = metrics.get("ce_loss_recovered")
        ce_text = f", CE loss recovered {ce:.3f}" if ce is not None else ""
        print(f"{out}: {site.label(model)}, {trainer.core.label}; FVU {metrics['fvu']:.4f}, "
              f"L0 {metrics['l0']:.1f}, dead {metrics['dead_fraction']:.1%}{ce_text}")
    return 0


def _features(args) -> int:
    import torch

    from explorer.analysis.sae import feature_activations, load_sae, logit_effect
    from explorer.tokenize import token_label, token_labels

    if args.top < 1:
        raise ValueError("--top must be at least 1")
    model, tok, _ = open_model_arg(args.model)
    sae, site = load_sae(args.sae, model)
    ids = model_input_ids(model, tok, args.text)[: model.cfg.l_max]
    if not ids:
        raise ValueError("--text gives no tokens")
    acts = feature_activations(model, sae, site, torch.tensor(ids))  # (l, d_sae)
    peak = acts.max(dim=0).values
    order = [int(i) for i in peak.argsort(descending=True)[: args.top] if peak[i] > 0]
    labels = token_labels(tok, ids)
    rows = []
    for i in order:
        row = {"feature": i, "max": round(float(peak[i]), 4),
               "position": int(acts[:, i].argmax()), "token": labels[int(acts[:, i].argmax())],
               "activations": [round(float(v), 4) for v in acts[:, i]]}
        if sae.d_in == model.cfg.d_e:
            effect = logit_effect(model, sae, i)
            row["pushes_up"] = [token_label(tok, int(t)) for t in effect.topk(5).indices]
            row["pushes_down"] = [token_label(tok, int(t)) for t in (-effect).topk(5).indices]
        rows.append(row)
    result = {"sae": str(args.sae), "site": site.step,
              "layer": None if site.layer is None else site.layer + 1,
              "head": None if site.head is None else site.head + 1,
              "tokens": labels, "features": rows}
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print(f"{site.label(model)} · {sae.label}")
    for row in rows:
        strip = " ".join(f"{t}:{a:.1f}" if a > 0 else t
                         for t, a in zip(labels, row["activations"]))
        push = (f"  up {' '.join(row['pushes_up'])}  down {' '.join(row['pushes_down'])}"
                if "pushes_up" in row else "")
        print(f"feature {row['feature']:>5}  max {row['max']:.2f} at {row['position']} "
              f"“{row['token']}”{push}\n    {strip}")
    return 0
