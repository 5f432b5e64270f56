"""``bench quality``: how good the bundled trained models are, on held-out data.

- default-decoder: validation loss in nats per character vs the grammar's entropy,
  and the share of sampled sentences the grammar accepts;
- default-encoder: accuracy of masked-character filling (Algorithm 12's task);
- default-seq2seq: exact-match rate of greedy EDInference (Algorithm 15);
- default-classifier: accuracy of P(c|x).

Inputs follow how the models were trained (``explorer.train.datasets``): the
decoder and the masked encoder read raw token streams, the seq2seq encoder reads the
raw source and the decoder [bos, target, eos], the classifier [cls, tokens].
"""

from __future__ import annotations

import argparse
import time

import torch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=300, help="held-out examples per model")
    parser.add_argument("--samples", type=int, default=50, help="decoder samples to parse")
    parser.add_argument("--only", nargs="*", default=None,
                        help="decoder, encoder, seq2seq, classifier (default all)")


def _open(name: str):
    from explorer.commands.model_arg import open_model_arg

    return open_model_arg(name)[:2]


def decoder_quality(n: int, n_samples: int) -> dict:
    """Loss per character on test text (each scored position sees >= l_max/2 context)."""
    from explorer.core import generate
    from explorer.data import grammar_entropy, is_grammatical, load_lines

    model, tok = _open("default-decoder")
    lines = load_lines("grammar", "test")[:n]
    ids = torch.tensor(tok.encode("\n".join(lines) + "\n").ids)
    L, half = model.cfg.l_max, model.cfg.l_max // 2
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, ids.numel() - L, half):
            window = ids[start : start + L + 1]
            logits = model(window[None, :-1])[0]
            logp = torch.log_softmax(logits, -1).gather(1, window[1:, None])[:, 0]
            scored = logp[half - 1 :] if start else logp
            total -= float(scored.sum())
            count += scored.numel()
    newline = tok.encode("\n").ids
    ok, samples = 0, []
    for seed in range(n_samples):
        out = generate(model, newline, max_new=L - 1, temperature=1.0, seed=seed,
                       stop_id=newline[0])
        sentence = tok.decode(out).strip()
        samples.append(sentence)
        ok += is_grammatical(sentence)
    return {
        "val_loss_nats_per_char": round(total / count, 4),
        "grammar_entropy_nats_per_char": round(grammar_entropy().nats_per_char, 4),
        "grammatical_samples": f"{ok}/{n_samples}",
        "grammatical_rate": round(ok / n_samples, 3),
        "examples": samples[:5],
    }


def encoder_quality(n: int, p_mask: float = 0.15) -> dict:
    from explorer.data import load_lines
    from explorer.train import mask_tokens

    model, tok = _open("default-encoder")
    lines = load_lines("grammar", "test")[:n]
    ids = torch.tensor(tok.encode("\n".join(lines)).ids)
    L = model.cfg.l_max
    x = ids[: (ids.numel() // L) * L].view(-1, L)
    gen = torch.Generator().manual_seed(0)
    x_tilde, masked = mask_tokens(x, tok.special_ids["mask"], p_mask, gen)
    with torch.no_grad():
        pred = model(x_tilde).argmax(-1)
    right = int((pred == x)[masked].sum())
    total = int(masked.sum())
    return {"masked_accuracy": round(right / total, 4), "masked_positions": total}


def seq2seq_quality(n: int) -> dict:
    from explorer.core import ed_generate
    from explorer.data import load_pairs

    model, tok = _open("default-seq2seq")
    bos, eos = tok.special_ids["bos"], tok.special_ids["eos"]
    pairs = load_pairs("translation", "test")[:n]
    right = 0
    for source, target in pairs:
        out = ed_generate(model, tok.encode(source).ids, bos, eos, temperature=0)
        right += out == [bos, *tok.encode(target).ids, eos]
    return {"exact_match": round(right / len(pairs), 4), "pairs": len(pairs)}


def classifier_quality(n: int) -> dict:
    from explorer.data import load_labelled

    model, tok = _open("default-classifier")
    texts, labels, names = load_labelled("sentiment", "test")
    texts, labels = texts[:n], labels[:n]
    cls = tok.special_ids.get("cls", tok.special_ids.get("bos"))
    model_names = list(model.cfg.extra.get("labels") or names)
    right = 0
    with torch.no_grad():
        for text, label in zip(texts, labels):
            c = int(model.classify(torch.tensor([[cls, *tok.encode(text).ids]]))[0].argmax())
            right += model_names[c] == names[label]
    return {"accuracy": round(right / len(texts), 4), "examples": len(texts)}


def run(args: argparse.Namespace) -> dict:
    wanted = set(args.only or ["decoder", "encoder", "seq2seq", "classifier"])
    result: dict = {}
    jobs = {
        "decoder": lambda: decoder_quality(args.n, args.samples),
        "encoder": lambda: encoder_quality(args.n),
        "seq2seq": lambda: seq2seq_quality(args.n),
        "classifier": lambda: classifier_quality(args.n),
    }
    for name, job in jobs.items():
        if name in wanted:
            t0 = time.perf_counter()
            try:
                result[name] = job()
            except ValueError as exc:  # a model not bundled yet
                result[name] = {"error": str(exc)}
            result[name]["seconds"] = round(time.perf_counter() - t0, 1)
    return result


