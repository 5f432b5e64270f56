"""``transformer-explorer analyze heads``: the progress measures of every attention head.

Per head: the previous-token, prefix-matching (induction), duplicate-token and OV copying
scores; per model: the in-context-learning score and the Q-, K- and V-composition scores
between heads of different layers beside their random baseline
(``explorer.analysis.heads``). They are measured on fresh sequences of random tokens that
repeat with periods 11, 13, 17 and 19. ``--snapshots`` measures each weight snapshot of a
run folder (``DIR/snapshots``) and finds the phase change in the curves
(``explorer.analysis.phase``). Both prove the circuit by intervention: the best induction
head's prefix matching and the loss on the repeats with the best previous-token head
before it mean-ablated (``explorer.analysis.induction_circuit``; the last snapshot's).
Layers and heads count from 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HELP = "The progress measures of every attention head (induction, composition, copying)."


def add_parser(sub: Any, epilog: str) -> None:
    """Register ``heads`` among ``analyze``'s analyses."""
    p = sub.add_parser("heads", help=HELP, description=HELP, epilog=epilog)
    p.add_argument("--model", required=True, help="a model folder, or with --snapshots a "
                   "run folder holding snapshots/")
    p.add_argument("--snapshots", action="store_true", help="measure every weight "
                   "snapshot of the run (DIR/snapshots) and find the phase change")
    p.add_argument("--json", action="store_true", help="print JSON")


def _sequences(model: Any, tokenizer: Any) -> Any:
    from explorer.analysis.heads import repeated_sequences, usable_ids

    return repeated_sequences(usable_ids(model.cfg.vocab_size, tokenizer), model.cfg.l_max)


def measure_snapshots(run_dir: Path) -> dict[str, Any]:
    """Every snapshot's scores and the run's phase change (JSON, layers from 1)."""
    from explorer.analysis import AnalysisError
    from explorer.analysis.heads import head_scores
    from explorer.analysis.induction_circuit import prove_circuit
    from explorer.analysis.phase import phase_change
    from explorer.train.snapshots import list_snapshots, load_snapshot, snapshot_tokenizer

    snaps = list_snapshots(run_dir)
    if not snaps:
        raise AnalysisError(f"{run_dir}: no weight snapshots (train with --snapshot-every N)")
    try:
        tokenizer = snapshot_tokenizer(run_dir)
    except ValueError:  # no tokenizer.json: draw from every id
        tokenizer = None
    x, rows = None, []
    for snap in snaps:
        model = load_snapshot(snap.path)
        x = _sequences(model, tokenizer) if x is None else x
        rows.append(head_scores(model, x, snap.step))
    out: dict[str, Any] = {"snapshots": [r.to_json() for r in rows]}
    proof = prove_circuit(model, x)
    if proof is not None:
        out["circuit"] = {"step": snaps[-1].step, **proof.to_json()}
    if len(rows) >= 3:
        steps = [r.step for r in rows]
        change, prefix, icl = phase_change(steps, [r.best("prefix_matching")[2] for r in rows],
                                           [r.icl for r in rows])
        out["phase_change"] = {**change.to_json(), "prefix_matching": prefix.to_json(),
                               "icl": icl.to_json()}
    return out


def proof_sentence(out: dict[str, Any]) -> str:
    c = out["circuit"]
    pm, loss = c["prefix_matching"], c["loss"]
    return (f"ablating {c['previous_token_head']['label']}: "
            f"{c['induction_head']['label']}'s prefix matching {pm['before']:.2f} → "
            f"{pm['ablated']:.2f}; loss on the repeats {loss['repeats']:.2f} → "
            f"{loss['repeats_ablated']:.2f} (first copy {loss['first_copy']:.2f})")


def _table(report: dict[str, Any]) -> list[str]:
    lines = [f"{'head':<6} {'prev':>6} {'prefix':>7} {'dup':>6} {'copy':>6}"]
    for h in report["heads"]:
        lines.append(f"{h['label']:<6} {h['previous_token']:>6.2f} {h['prefix_matching']:>7.2f}"
                     f" {h['duplicate_token']:>6.2f} {h['copying']:>6.2f}")
    lines.append(f"ICL score (late − early loss): {report['icl_score']:+.2f} nats")
    comp = report["composition"]
    top = sorted(comp["edges"], key=lambda e: -e["score"])[:5]
    base = ", ".join(f"{k.upper()} {v:.2f}" for k, v in comp["baseline"].items())
    if top:
        lines.append(f"strongest composition (random baseline {base}):")
        lines += [f"  {e['from']['label']} -> {e['to']['label']}.{e['kind']}  {e['score']:.2f}"
                  for e in top]
    return lines


def run(args: argparse.Namespace) -> int:
    from explorer.analysis import AnalysisError

    try:
        if args.snapshots:
            folder = Path(args.model)
            if not folder.is_dir():
                raise ValueError(f"--model {args.model}: no such run folder")
            out = measure_snapshots(folder)
            lines = []
            for snap in out["snapshots"]:
                best = max(snap["heads"], key=lambda h: h["prefix_matching"])
                lines.append(f"step {snap['step']:>6}  best prefix matching {best['label']} "
                             f"{best['prefix_matching']:.2f}  ICL {snap['icl_score']:+.2f}")
            if "phase_change" in out:
                pc = out["phase_change"]
                where = f" at step {pc['middle']} ({pc['start']}-{pc['end']})" \
                    if pc["kind"] != "none" else ""
                lines.append(f"phase change: {pc['kind']}{where}")
            if "circuit" in out:
                lines.append(f"at step {out['circuit']['step']}: {proof_sentence(out)}")
        else:
            from explorer.analysis.heads import head_scores
            from explorer.analysis.induction_circuit import prove_circuit
            from explorer.commands.model_arg import open_model_arg

            model, tokenizer, _ = open_model_arg(args.model, need_tokenizer=False)
            x = _sequences(model, tokenizer)
            out = head_scores(model, x).to_json()
            lines = _table(out)
            proof = prove_circuit(model, x)
            if proof is not None:
                out["circuit"] = proof.to_json()
                lines.append(proof.sentence)
    except (AnalysisError, ValueError, OSError) as exc:
        print(f"analyze heads: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out, ensure_ascii=False) if args.json else "\n".join(lines))
    return 0
