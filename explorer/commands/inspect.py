"""``transformer-explorer inspect``: every step of one forward pass, printed (no window).

A fresh random model (``--arch`` and sizes, with a character tokenizer trained on the
text itself) or a model folder (``--model``: ours, a training run, or a Hugging Face
GPT-2 / BERT / BART / Marian folder with its own tokenizer). Each recorded step is
printed in execution order with its name, the paper's algorithm and line, its shape in
the paper's symbols with sizes, and mean / std / min / max; ``--json`` prints it all as
one JSON object. Texts longer than l_max are cut into chunks (``--chunk`` picks one).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import torch

from explorer.commands.counting import HELP_NOTE
from explorer.commands.model_arg import BUNDLED, open_model_arg, parse_ids
from explorer.core import ModelConfig, build_model
from explorer.core.budget import check_model_fits
from explorer.io import encode_text
from explorer.tokenize import token_labels, train_tokenizer
from explorer.trace import Trace, record

HELP = "Run a model on a text and print every step of the forward pass."
DEFAULT_TEXT = "the cat sat on the mat"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    p = parser
    p.epilog = HELP_NOTE
    p.add_argument("--arch", choices=("decoder", "encoder", "encoder-decoder"),
                   default="decoder", help="architecture of a fresh random model (Alg 10/9/8)")
    p.add_argument("--vocab-size", type=int, help="N_V of a fresh model (default: the "
                   "character tokenizer's size)")
    p.add_argument("--d-e", type=int, default=64, help="embedding size d_e (default 64)")
    p.add_argument("--n-heads", type=int, default=4, help="attention heads H (default 4)")
    p.add_argument("--n-layers", type=int, default=2, help="layers L (default 2)")
    p.add_argument("--l-max", type=int, default=64, help="maximum context l_max (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    p.add_argument("--model", metavar="DIR|NAME", help="a model folder: ours, a training run, "
                   "or a Hugging Face GPT-2 / BERT / BART / Marian folder; or a bundled "
                   f"model name ({', '.join(BUNDLED)})")
    p.add_argument("--text", default=DEFAULT_TEXT, help="the primary sequence x")
    p.add_argument("--context", help="the context z of an encoder-decoder (default: --text)")
    p.add_argument("--ids", help="token ids instead of --text, e.g. '5 17 3' (a folder "
                   "without a tokenizer)")
    p.add_argument("--context-ids", help="context token ids instead of --context")
    p.add_argument("--chunk", type=int, default=0, help="which l_max-sized chunk of a long "
                   "text to run (0-based, default 0)")
    p.add_argument("--step", metavar="TEXT", help="print only steps whose name contains TEXT "
                   "(step names count layers from 0: blocks.0 is layer 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


# -- the model ---------------------------------------------------------------------------
def _random_model(args: argparse.Namespace):
    texts = [args.text] + ([args.context] if args.context else [])
    if args.ids or args.context_ids:
        raise ValueError("--ids needs --model (a fresh model's tokenizer is trained on --text)")
    if not "".join(texts):
        raise ValueError("the text is empty: give --text with at least one character")
    tokenizer = train_tokenizer("char", texts)
    vocab = args.vocab_size if args.vocab_size is not None else tokenizer.vocab_size
    if vocab < tokenizer.vocab_size:
        raise ValueError(f"--vocab-size {vocab} is smaller than the {tokenizer.vocab_size} "
                         "characters (and special tokens) of the text")
    cfg = ModelConfig(arch=args.arch, vocab_size=vocab, l_max=args.l_max, d_e=args.d_e,
                      n_heads=args.n_heads, n_layers=args.n_layers)
    check_model_fits(cfg)  # ModelTooLarge (a ValueError) before anything is allocated
    torch.manual_seed(args.seed)
    model = build_model(cfg).eval()
    info = {"name": f"random {cfg.algorithm_name} (seed {args.seed})", "family": "random",
            "format": "random", "arch": cfg.arch, "algorithm": cfg.algorithm,
            "algorithm_name": cfg.algorithm_name, "parameters": model.num_parameters(),
            "vocab_size": vocab, "l_max": cfg.l_max, "d_e": cfg.d_e, "n_heads": cfg.n_heads,
            "tokenizer": "character-level, trained on the text", "notes": []}
    return model, tokenizer, info


# -- the input ---------------------------------------------------------------------------
def _sequence(model, tokenizer, info, text: str, ids: str | None, what: str, chunk: int,
              notes: list[str]) -> dict[str, Any]:
    l_max = model.cfg.l_max
    if ids is not None:
        all_ids = parse_ids(ids, what)
    elif tokenizer is None:
        raise ValueError(f"{info.get('tokenizer') or 'the model has no tokenizer'}; "
                         f"pass the {what} as ids (--ids / --context-ids)")
    else:
        enc = encode_text(tokenizer, text, info)
        all_ids = enc.ids
        notes.extend(enc.notes)
    if not all_ids:
        raise ValueError(f"the {what} gives no tokens: type at least one character")
    chunks = [all_ids[i:i + l_max] for i in range(0, len(all_ids), l_max)]
    if not 0 <= chunk < len(chunks):
        raise ValueError(f"--chunk {chunk} is out of range: the {what} has {len(chunks)} "
                         f"chunk(s) of at most l_max={l_max} tokens")
    if len(chunks) > 1:
        notes.append(f"the {what} has {len(all_ids)} tokens, more than l_max={l_max}: cut "
                     f"into {len(chunks)} chunks; showing chunk {chunk} (choose with --chunk)")
    chosen = chunks[chunk]
    return {"ids": chosen, "tokens": token_labels(tokenizer, chosen), "n_tokens": len(all_ids),
            "chunk": chunk, "n_chunks": len(chunks)}


# -- statistics --------------------------------------------------------------------------
def _stats(t: torch.Tensor) -> dict[str, float | int]:
    """mean/std/min/max of the finite values; ``masked`` counts -inf (the attention masks),
    ``nan`` and ``inf`` count values that are not numbers (broken weights, overflow)."""
    t = t.detach().to(torch.float64)
    finite = t[torch.isfinite(t)]
    out: dict[str, float | int] = {"masked": int((t == float("-inf")).sum())}
    nan, inf = int(torch.isnan(t).sum()), int((t == float("inf")).sum())
    if nan:
        out["nan"] = nan
    if inf:
        out["inf"] = inf
    if finite.numel():
        out.update(mean=finite.mean().item(), std=finite.std(unbiased=False).item(),
                   min=finite.min().item(), max=finite.max().item())
    return out


def _steps(trace: Trace, only: str | None) -> list[dict[str, Any]]:
    rows = []
    for index, step in enumerate(trace.steps):
        if only and only not in step.name:
            continue
        shape = list(trace.paper(step.name).shape)
        rows.append({
            "index": index, "name": step.name, "algorithm": step.algorithm, "line": step.line,
            "outer": list(step.outer) if step.outer else None, "title": step.title,
            "formula": step.formula, "shape": step.shape, "paper_shape": shape,
            "size_text": " × ".join(str(n) for n in shape) or "1",
            "stats": _stats(trace.paper(step.name)),
        })
    return rows


def inspect(args: argparse.Namespace) -> dict[str, Any]:
    """Open or build the model, encode the input, record every step: one report dict."""
    if args.model:
        model, tokenizer, info = open_model_arg(args.model, need_tokenizer=False)
    else:
        model, tokenizer, info = _random_model(args)
    notes: list[str] = list(info.get("notes", []))
    x = _sequence(model, tokenizer, info, args.text, args.ids, "text", args.chunk, notes)
    inputs: dict[str, Any] = {"x": x}
    if model.cfg.arch == "encoder-decoder":
        if args.context is None and args.context_ids is None:
            notes.append("no --context given: the text is used as the context z too")
        context = args.text if args.context is None else args.context
        z = _sequence(model, tokenizer, info, context, args.context_ids, "context", 0, notes)
        inputs["z"] = z
        _, trace = record(model, torch.tensor([z["ids"]]), torch.tensor([x["ids"]]))
    else:
        _, trace = record(model, torch.tensor([x["ids"]]))
    steps = _steps(trace, args.step)
    broken = [row["name"] for row in steps if row["stats"].get("nan") or row["stats"].get("inf")]
    if broken:
        notes.append(f"{len(broken)} step(s) hold NaN or infinite values, first {broken[0]}: "
                     "their statistics cover the finite values only")
    return {"model": info, "input": inputs, "notes": notes, "steps": steps}


# -- printing ----------------------------------------------------------------------------
def _num(v: float) -> str:
    return f"{v:9.3g}"


def _print(report: dict[str, Any]) -> None:
    info = report["model"]
    print(f"model: {info['name']} ({info.get('family', '')}) -> Algorithm {info['algorithm']} "
          f"{info['algorithm_name']}, {info['parameters']:,} parameters")
    for key, seq in report["input"].items():
        label = "context z" if key == "z" else "primary x" if "z" in report["input"] else "x"
        print(f"{label}: {len(seq['ids'])} tokens {' '.join(seq['tokens'])}")
        print(f"{' ' * len(label)}  ids {seq['ids']}")
    for note in report["notes"]:
        print(f"note: {note}")
    print(f"{'#':>4}  {'step':<36} {'alg':>7}  {'shape':<30} {'mean':>9} {'std':>9} "
          f"{'min':>9} {'max':>9}  title")
    for row in report["steps"]:
        s = row["stats"]
        empty = "(no finite values)" if s.get("nan") or s.get("inf") else "(all masked)"
        stats = " ".join(_num(s[k]) for k in ("mean", "std", "min", "max")) if "mean" in s \
            else f"{empty:>39}"
        shape = f"{row['shape']} = {row['size_text']}"
        masked = f" [{s['masked']} masked]" if s["masked"] else ""
        masked += f" [{s['nan']} NaN]" if s.get("nan") else ""
        masked += f" [{s['inf']} inf]" if s.get("inf") else ""
        print(f"{row['index']:>4}  {row['name']:<36} {row['algorithm']:>3}:{row['line']:<3}  "
              f"{shape:<30} {stats}  {row['title']}{masked}")


def run(args: argparse.Namespace) -> int:
    try:
        report = inspect(args)
    except ValueError as exc:  # CheckpointError, bad sizes, bad ids: a message, no traceback
        print(f"inspect: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
    else:
        _print(report)
    return 0

