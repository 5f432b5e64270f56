"""Running the loaded model: generation one token at a time, fill-mask and classification.

``Generation`` drives Algorithm 14 (DInference, a decoder continues a prompt) or
Algorithm 15 (EDInference, an encoder-decoder writes x from bos given a context z) one
token per ``step()``, so that a window can show every step. For an encoder-decoder each
step also keeps the decoder's cross-attention of that step over the context tokens.
``fill_masks`` ranks candidates for masked tokens of an encoder (Algorithm 9, trained as
in Algorithm 12); ``class_probabilities`` gives P(c | x) of an encoder with a class head.

Every input is fed the way the model was trained (``input_roles``). Mistakes a user can
make (an empty prompt, no mask, too long a text) raise ``ValueError`` with a sentence
for the window.

```python
gen = Generation(model, tokenizer, Settings(max_new=20, temperature=0))
gen.start("the king sings .")
while (record := gen.step()) is not None:
    print(record.token_text, record.text)
```
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from explorer.core import GenerationStep, d_inference_steps, ed_inference_steps
from explorer.core.inference import NonFiniteOutput, require_finite
from explorer.state.inputs import Tokenizer, encode_text, input_roles, special_id
from explorer.tokenize.display import token_label
from explorer.trace import hooks_attached

MASK_SPELLINGS = ("[MASK]", "<mask>", "_")
TOP_CANDIDATES = 10
_NO_LIMIT = 10**9  # encode_text's chunk length when one chunk is wanted


@dataclass(frozen=True)
class Settings:
    """How tokens are drawn: q ∝ p^(1/τ) (τ = 0 greedy), optionally cut to top-k / top-p."""

    max_new: int = 40  # tokens to generate (an encoder-decoder also stops at eos or ℓ_max)
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = 0  # None: a different draw every time


@dataclass(frozen=True)
class Candidate:
    """One token of the ranked list: its id, display string, q (sampled from) and p."""

    token: int
    text: str
    q: float
    p: float


@dataclass(frozen=True)
class StepRecord:
    """One generated token and what the window shows about it."""

    index: int  # 0 for the first generated token
    token: int
    token_text: str  # as shown (explorer.tokenize.token_label: ␣the, ⟨eos⟩ ...)
    piece: str  # the text this token added
    q: float  # the chosen token's probability under q ...
    p: float  # ... and under the model's own p
    rank: int  # 0-based rank of the chosen token in q
    candidates: tuple[Candidate, ...]  # the top of q, ranked (ties broken by p)
    text: str  # the whole text so far: prompt + generated (decoder), generated (ED)
    finished: bool  # no further step will come
    cross_attention: torch.Tensor | None = None  # (L_dec, H, l_z), encoder-decoder only


def shared_weights_copy(model: Any) -> Any:
    """The model's modules copied, its weights shared: a model of its own for this thread.

    The window records traces of the same model on a worker thread by attaching hook
    functions to its hook points; a copy has hook points of its own, so generating here
    never writes into (or reads from) a trace being recorded there.
    """
    shared = {id(t): t for t in (*model.parameters(), *model.buffers())}
    return copy.deepcopy(model, memo=shared)


def _decode(tokenizer: Tokenizer, ids: list[int]) -> str:
    """Text for ids with special tokens kept, so that it re-encodes to the same ids."""
    try:
        return tokenizer.decode(ids, skip_special=False)
    except TypeError:  # a tokenizer whose decode takes no such option
        return tokenizer.decode(ids)


def rank_candidates(tokenizer: Tokenizer, q: torch.Tensor, p: torch.Tensor,
                    k: int = TOP_CANDIDATES) -> tuple[list[Candidate], np.ndarray]:
    """The top ``k`` of q (ties, e.g. tokens cut by top-k, broken by p) and the full order."""
    qn = q.detach().float().cpu().numpy()
    pn = p.detach().float().cpu().numpy()
    order = np.lexsort((-pn, -qn))  # by q, then p, both descending
    top = order[:k]
    out = [Candidate(int(i), token_label(tokenizer, int(i)), float(qn[i]), float(pn[i]))
           for i in top]
    return out, order


class Generation:
    """Algorithm 14 (decoder) or 15 (encoder-decoder), one generated token per ``step()``.

    ``start(text)`` takes the prompt (decoder) or the context z (encoder-decoder) and
    fixes the settings; ``step()`` returns a ``StepRecord``, or None once finished.
    """

    def __init__(self, model: Any, tokenizer: Tokenizer, settings: Settings | None = None,
                 top: int = TOP_CANDIDATES) -> None:
        arch = model.cfg.arch
        if arch not in ("decoder", "encoder-decoder"):
            raise ValueError("this model cannot generate: an encoder-only model has no "
                             "Algorithm 14 or 15 (use fill-mask or classification)")
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings or Settings()
        self.arch = arch
        self.top = top
        self.x_role, self.z_role = input_roles(model.cfg)
        self.reset()

    # -- state ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the generation (the settings stay)."""
        self._steps: Iterator[GenerationStep] | None = None
        self.records: list[StepRecord] = []
        self.source = ""  # the prompt (decoder) or context (encoder-decoder) as typed
        self.prompt_ids: list[int] = []  # decoder: what the model reads first
        self.context_ids: list[int] = []  # encoder-decoder: z
        self.context_labels: list[str] = []
        self.generated: list[int] = []
        self._base_ids: list[int] = []  # the prompt's own tokens (no special tokens)
        self._base_text = ""  # ... decoded
        self._stop_id: int | None = None
        self._finished = False
        self._store: dict[str, torch.Tensor] = {}

    @property
    def started(self) -> bool:
        return self._steps is not None

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def text(self) -> str:
        """The text so far (the prompt and what was generated; for ED the output only)."""
        return self.records[-1].text if self.records else (
            self.source if self.arch == "decoder" else "")

    @property
    def limit(self) -> int:
        """How many tokens this generation makes at most."""
        if self.arch == "decoder":
            return self.settings.max_new
        return max(0, min(self.settings.max_new + 1, self.model.cfg.l_max) - 1)

    # -- running --------------------------------------------------------------------------
    def start(self, text: str, settings: Settings | None = None) -> None:
        """Begin: ``text`` is the prompt (decoder) or the context z (encoder-decoder)."""
        if settings is not None:
            self.settings = settings
        self._check_settings()
        self.reset()
        self.source = text
        if self.arch == "decoder":
            self._start_decoder(text)
        else:
            self._start_encoder_decoder(text)

    def _check_settings(self) -> None:
        s = self.settings
        if s.max_new < 1:
            raise ValueError("generate at least one token")
        if s.temperature < 0:
            raise ValueError(f"the temperature τ must be ≥ 0 (0 = greedy), not {s.temperature}")

    def _vocab_check(self, ids: list[int], what: str) -> None:
        n_v = int(self.model.cfg.vocab_size)
        bad = [i for i in ids if not 0 <= i < n_v]
        if bad:
            raise ValueError(f"the {what} has token id {bad[0]}, outside this model's "
                             f"vocabulary of {n_v}: the tokenizer does not fit the model")

    def _start_decoder(self, prompt: str) -> None:
        own = [int(i) for i in self.tokenizer.encode(prompt).ids]
        if not own and self.x_role == "raw":
            raise ValueError("the prompt is empty: type a few words to continue")
        ids = list(encode_text(self.tokenizer, prompt, self.x_role, _NO_LIMIT).chunks[0].ids)
        self._vocab_check(ids, "prompt")
        self.prompt_ids = ids
        self._base_ids = own
        self._base_text = _decode(self.tokenizer, own)
        s = self.settings
        stop = special_id(self.tokenizer, "eos")
        self._stop_id = stop[1] if stop is not None else None
        self._steps = d_inference_steps(self.model, ids, s.max_new, s.temperature, s.top_k,
                                        s.top_p, s.seed, self._stop_id)

    def _start_encoder_decoder(self, context: str) -> None:
        if not self.tokenizer.encode(context).ids:
            raise ValueError("the context z is empty: type the source sentence in the "
                             "Input panel's context box")
        chunk = encode_text(self.tokenizer, context, self.z_role or "raw", _NO_LIMIT).chunks[0]
        l_max = int(self.model.cfg.l_max)
        if len(chunk.ids) > l_max:
            raise ValueError(f"the context has {len(chunk.ids)} tokens, more than "
                             f"ℓ_max = {l_max}: shorten it")
        bos = special_id(self.tokenizer, "bos", "cls")
        if bos is None:
            raise ValueError("the tokenizer has no bos token, so the decoder cannot start")
        eos = special_id(self.tokenizer, "eos", "sep")
        self._vocab_check(list(chunk.ids), "context")
        self.context_ids = list(chunk.ids)
        self.context_labels = list(chunk.labels)
        self.prompt_ids = [bos[1]]
        self._base_ids = []
        self._stop_id = eos[1] if eos is not None else None
        s = self.settings
        self._steps = ed_inference_steps(
            self.model, self.context_ids, bos[1], self._stop_id if eos is not None else -1,
            s.temperature, s.top_k, s.top_p, s.seed, max_len=self.limit + 1)

    def _cross_names(self) -> list[str]:
        n = int(self.model.cfg.n_dec_layers or self.model.cfg.n_layers)
        return [f"decoder.blocks.{layer}.cross_attn.pattern" for layer in range(n)]

    def step(self) -> StepRecord | None:
        """Generate one token; None when the generation is over (or never started)."""
        if self._steps is None or self._finished:
            return None
        store: dict[str, torch.Tensor] = {}
        names = self._cross_names() if self.arch == "encoder-decoder" else []
        try:  # no_grad here too: the generator's own no_grad would outlive its yield
            hooks = hooks_attached(self.model, store, names) if names else nullcontext()
            with torch.no_grad(), hooks:
                step = next(self._steps)
        except StopIteration:
            self._finished = True
            return None
        except NonFiniteOutput:  # NaN weights: the message goes up, the generation ends
            self._finished = True
            raise
        cross = None
        if names:  # each (1, H, l_x, l_z): the last query is the position that chose y
            cross = torch.stack([store[n][0, :, -1, :].float() for n in names])
        return self._record(step, cross)

    def _record(self, step: GenerationStep, cross: torch.Tensor | None) -> StepRecord:
        self.generated.append(step.token)
        candidates, order = rank_candidates(self.tokenizer, step.q, step.p, self.top)
        rank = int(np.nonzero(order == step.token)[0][0])
        n = len(self.generated)
        stop = self._stop_id is not None and step.token == self._stop_id
        self._finished = stop or n >= self.limit
        previous = self.records[-1].text if self.records else (
            self.source if self.arch == "decoder" else "")
        text, piece = self._text_after(previous)
        record = StepRecord(
            index=n - 1, token=step.token, token_text=token_label(self.tokenizer, step.token),
            piece=piece, q=float(step.q[step.token]), p=float(step.p[step.token]), rank=rank,
            candidates=tuple(candidates), text=text, finished=self._finished,
            cross_attention=cross)
        self.records.append(record)
        return record

    def _text_after(self, previous: str) -> tuple[str, str]:
        """(text so far, the piece the last token added), spacing as the tokenizer decodes."""
        if self.arch == "encoder-decoder":
            shown = [t for t in self.generated if t != self._stop_id]
            text = _decode(self.tokenizer, shown)
            piece = text[len(previous):] if text.startswith(previous) else text
            return text, piece
        full = _decode(self.tokenizer, self._base_ids + self.generated)
        if full.startswith(self._base_text):
            generated = full[len(self._base_text):]
        else:  # a tokenizer that re-spaces on decoding: the generated part on its own
            generated = " " + _decode(self.tokenizer, self.generated)
        text = self.source + generated
        piece = text[len(previous):] if text.startswith(previous) else generated
        return text, piece

    def run(self) -> list[StepRecord]:
        """Every remaining step at once (for scripts and tests, not for a GUI call)."""
        out = []
        while (record := self.step()) is not None:
            out.append(record)
        return out

    # -- the encoder-decoder's cross-attention ----------------------------------------------
    def cross_attention(self, layer: int = -1, head: int | None = None) -> np.ndarray:
        """(generated tokens, l_z): each step's cross-attention over the context tokens, of
        decoder ``layer`` (default the last), one ``head`` or averaged over heads (None)."""
        rows = [r.cross_attention for r in self.records if r.cross_attention is not None]
        if not rows:
            return np.zeros((0, len(self.context_ids)), dtype=np.float32)
        stacked = torch.stack(rows)[:, layer]  # (n, H, l_z)
        matrix = stacked.mean(dim=1) if head is None else stacked[:, head]
        return np.ascontiguousarray(matrix.numpy(), dtype=np.float32)


# -- fill-mask (an encoder, Algorithm 9) ----------------------------------------------------
@dataclass(frozen=True)
class MaskFill:
    """The ranked candidates for one masked position."""

    position: int  # 0-based position in the model's input
    candidates: tuple[Candidate, ...]  # q == p here (the model's own distribution)


@dataclass(frozen=True)
class FillResult:
    ids: tuple[int, ...]  # what the model read, masks included
    labels: tuple[str, ...]
    masks: tuple[MaskFill, ...]
    filled: str  # the text with each mask replaced by its top candidate
    spans: tuple[tuple[int, int], ...] = field(default=())  # of the filled tokens in it


def _mask_pattern(mask_str: str) -> re.Pattern:
    spellings = sorted({*MASK_SPELLINGS, mask_str}, key=len, reverse=True)
    return re.compile("|".join(re.escape(s) for s in spellings))


def fill_masks(model: Any, tokenizer: Tokenizer, text: str, top_k: int = 5) -> FillResult:
    """Rank ``top_k`` candidates for every mask in ``text`` (written [MASK], <mask> or _)."""
    if model.cfg.arch != "encoder":
        raise ValueError("fill-mask needs an encoder-only model (Algorithm 9)")
    mask = special_id(tokenizer, "mask")
    if mask is None:
        raise ValueError("this tokenizer has no mask token, so nothing can be masked")
    mask_id = mask[1]
    mask_str = tokenizer.id_to_token(mask_id) if hasattr(tokenizer, "id_to_token") else None
    mask_str = mask_str or "[MASK]"
    pattern = _mask_pattern(mask_str)
    if not pattern.search(text):
        raise ValueError(f"no mask in the text: write {', '.join(MASK_SPELLINGS[:-1])} or "
                         f"{MASK_SPELLINGS[-1]} where a token is missing")
    normalised = pattern.sub(mask_str, text)
    role = input_roles(model.cfg)[0]
    chunk = encode_text(tokenizer, normalised, role, _NO_LIMIT).chunks[0]
    ids = list(chunk.ids)
    l_max = int(model.cfg.l_max)
    if len(ids) > l_max:
        raise ValueError(f"the text has {len(ids)} tokens, more than ℓ_max = {l_max}: "
                         "shorten it")
    where = [t for t, i in enumerate(ids) if i == mask_id]
    if not where:
        raise ValueError("the mask was not read as a mask token by this tokenizer")
    device = next(model.parameters()).device
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([ids], device=device))[0].float(), -1).cpu()
    require_finite(probs[where], "ranking of candidates")
    k = max(1, min(int(top_k), probs.shape[-1]))
    masks = []
    for t in where:
        top = probs[t].topk(k)
        masks.append(MaskFill(t, tuple(
            Candidate(int(i), token_label(tokenizer, int(i)), float(v), float(v))
            for v, i in zip(top.values, top.indices))))
    filled, spans = _filled_text(tokenizer, text, pattern, masks)
    return FillResult(tuple(ids), chunk.labels, tuple(masks), filled, spans)


def _filled_text(tokenizer: Tokenizer, text: str, pattern: re.Pattern,
                 masks: list[MaskFill]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """``text`` with the i-th mask spelling replaced by the i-th mask's best candidate."""
    out, spans, pos = [], [], 0
    best = iter(masks)
    for match in pattern.finditer(text):
        fill = next(best, None)
        out.append(text[pos:match.start()])
        start = sum(len(s) for s in out)
        word = _decode(tokenizer, [fill.candidates[0].token]) if fill else match.group()
        out.append(word)
        spans.append((start, start + len(word)))
        pos = match.end()
    out.append(text[pos:])
    return "".join(out), tuple(spans)


# -- classification (an encoder with a class head) -------------------------------------------
def class_labels(cfg: Any) -> list[str]:
    """The classifier's class names (``cfg.extra["labels"]``), else ``class 0`` ..."""
    extra = getattr(cfg, "extra", None) or {}
    labels = extra.get("labels") if isinstance(extra, dict) else None
    n = int(cfg.n_classes or 0)
    if isinstance(labels, (list, tuple)) and len(labels) == n:
        return [str(label) for label in labels]
    return [f"class {c}" for c in range(n)]


def class_probabilities(model: Any, tokenizer: Tokenizer, text: str) -> list[tuple[str, float]]:
    """P(c | x) for every class, in the classifier's label order."""
    if model.cfg.arch != "encoder" or not model.cfg.n_classes:
        raise ValueError("classification needs an encoder with a class head (n_classes > 0)")
    role = input_roles(model.cfg)[0]
    ids = list(encode_text(tokenizer, text, role, _NO_LIMIT).chunks[0].ids)
    l_max = int(model.cfg.l_max)
    if len(ids) > l_max:
        raise ValueError(f"the text has {len(ids)} tokens, more than this classifier's "
                         f"ℓ_max = {l_max}: shorten it")
    device = next(model.parameters()).device
    with torch.no_grad():
        p = torch.softmax(model.classify(torch.tensor([ids], device=device))[0].float(), -1)
    require_finite(p, "class probability")
    return list(zip(class_labels(model.cfg), (float(v) for v in p.cpu())))
