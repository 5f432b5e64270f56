"""``transformer-explorer generate``: Algorithm 14 (DInference) or 15 (EDInference)."""

from __future__ import annotations

import argparse
import json
import sys

from explorer.commands.model_arg import add_model_argument, model_input_ids, open_model_arg

HELP = "Sample from a decoder (Algorithm 14) or an encoder-decoder (Algorithm 15)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser, "default-decoder")
    parser.add_argument("--prompt", default="",
                        help="decoder: the prompt x; encoder-decoder: the context z")
    parser.add_argument("--max-new", type=int, default=60, help="tokens to generate (ℓ_gen)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="τ: sample from q ∝ p^(1/τ); 0 is greedy")
    parser.add_argument("--top-k", type=int, default=None, help="keep the k likeliest tokens")
    parser.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same text)")
    parser.add_argument("--show-steps", action="store_true",
                        help="print each step's top candidates")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    from explorer.core import d_inference_steps, ed_inference_steps
    from explorer.tokenize import token_label

    try:
        model, tok, _info = open_model_arg(args.model)
        if args.temperature < 0:
            raise ValueError("--temperature must be >= 0")
        arch = model.cfg.arch
        if arch == "encoder":
            raise ValueError("an encoder does not generate: use fill-mask or classify")
        specials = tok.special_ids
        bos = specials.get("bos", specials.get("cls"))
        eos = specials.get("eos", specials.get("sep"))
        if arch == "decoder":
            prompt = model_input_ids(model, tok, args.prompt)
            steps = d_inference_steps(model, prompt, args.max_new, args.temperature,
                                      args.top_k, args.top_p, args.seed, stop_id=eos)
        else:
            context = model_input_ids(model, tok, args.prompt, which=1)
            if len(context) > model.cfg.l_max:
                raise ValueError(f"the context has {len(context)} tokens, more than "
                                 f"l_max={model.cfg.l_max}")
            steps = ed_inference_steps(model, context, bos, eos, args.temperature,
                                       args.top_k, args.top_p, args.seed)
        records = []
        for step in steps:
            top = step.q.topk(min(5, step.q.numel()))
            cands = [(token_label(tok, int(i)), round(float(p), 4))
                     for p, i in zip(top.values, top.indices)]
            records.append({"token": step.token, "string": token_label(tok, step.token),
                            "p": round(float(step.p[step.token]), 4), "top": cands})
            if args.show_steps and not args.json:
                print(f"{len(records):3d}  {records[-1]['string']:12} "
                      f"p={records[-1]['p']:.3f}  top: {cands}")
    except (ValueError, OSError) as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2
    text = tok.decode([r["token"] for r in records])
    if args.json:
        print(json.dumps({"prompt": args.prompt, "arch": arch, "text": text, "steps": records},
                         ensure_ascii=False))
    elif arch == "decoder":
        print(args.prompt + text if args.prompt.endswith(" ") or not args.prompt
              else f"{args.prompt}{text}")
    else:
        print(text)
    return 0
