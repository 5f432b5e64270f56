"""The tokenizer that ships with a model folder, through ``explorer.tokenize``.

``tokenizer.json`` is opened as it is. Older folders carry only the files a slow
tokenizer reads: ``vocab.json`` + ``merges.txt`` (byte-level BPE: GPT-2; BART and
RoBERTa, which wrap texts in <s> … </s>; OPT, which starts them with </s>) or
``vocab.txt`` (BERT and DistilBERT WordPiece); those are rebuilt with Hugging Face
``tokenizers`` into a standard tokenizer.json first. Anything else (Marian's sentencepiece
``source.spm``) gives no tokenizer and a note saying why.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import BPE, WordPiece

from explorer.core.serialization import check_config_size
from explorer.io.errors import CheckpointError

TOKENIZER_JSON = "tokenizer.json"


def _tokenizer_config(folder: Path) -> dict:
    path = folder / "tokenizer_config.json"
    try:
        check_config_size(path)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from exc
    return data if isinstance(data, dict) else {}


def _byte_level_bpe(folder: Path, model_type: str) -> Tokenizer:
    tok = Tokenizer(BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    if model_type in ("bart", "roberta"):  # every sequence wrapped in <s> … </s>
        bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
        if bos is not None and eos is not None:
            tok.post_processor = processors.RobertaProcessing(("</s>", eos), ("<s>", bos))
    if model_type == "opt":  # OPT starts every sequence with its bos token, </s>
        settings = _tokenizer_config(folder)
        bos = _token_text(settings.get("bos_token", "</s>"))
        bos_id = tok.token_to_id(bos)
        if bos_id is not None and settings.get("add_bos_token", True):
            tok.post_processor = processors.TemplateProcessing(
                single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)]
            )
    return tok


def _token_text(value) -> str:
    """A special token as tokenizer_config.json writes it: a string or {"content": …}."""
    if isinstance(value, dict):
        return str(value.get("content", ""))
    return str(value)


def _wordpiece(folder: Path) -> Tokenizer:
    settings = _tokenizer_config(folder)
    tok = Tokenizer(WordPiece.from_file(str(folder / "vocab.txt"), unk_token="[UNK]"))
    lower = bool(settings.get("do_lower_case", True))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lower, strip_accents=None)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    if cls is not None and sep is not None:
        tok.post_processor = processors.BertProcessing(("[SEP]", sep), ("[CLS]", cls))
    return tok


def _load(path: Path):
    """load_tokenizer, with the file's fixed padding and truncation switched off.

    sentence-transformers folders pad and cut every text to 128 tokens; the app shows
    the text as it is and chunks it at the model's l_max instead.
    """
    from explorer.tokenize import load_tokenizer  # imported on use: keeps explorer.io light

    tokenizer = load_tokenizer(path)
    tokenizer.hf.no_padding()
    tokenizer.hf.no_truncation()
    return tokenizer


def _rebuilt(folder: Path, model_type: str):
    try:
        if (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
            tok, kind = _byte_level_bpe(folder, model_type), "vocab.json + merges.txt"
        elif (folder / "vocab.txt").is_file():
            tok, kind = _wordpiece(folder), "vocab.txt"
        else:
            return None, None
    except Exception as exc:  # tokenizers raises plain Exceptions for unreadable files
        raise CheckpointError(f"{folder}: cannot read the tokenizer files ({exc})") from exc
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / TOKENIZER_JSON
        tok.save(str(path))
        return _load(path), kind


def folder_tokenizer(folder: Path, model_type: str = ""):
    """(tokenizer or None, a note saying which files it came from or why there is none)."""
    path = folder / TOKENIZER_JSON
    if path.is_file():
        try:
            return _load(path), TOKENIZER_JSON
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{path}: cannot load the tokenizer ({exc})") from exc
    tok, kind = _rebuilt(folder, model_type)
    if tok is not None:
        return tok, f"rebuilt from {kind}"
    spm = sorted(p.name for p in folder.glob("*.spm"))
    if spm:
        return None, (
            f"no tokenizer: {', '.join(spm)} are sentencepiece models, which "
            "explorer.tokenize cannot open; give token ids instead"
        )
    return None, "no tokenizer in the folder (no tokenizer.json, vocab.json or vocab.txt)"


def encode_text(tokenizer, text: str, info: dict | None = None):
    """An ``explorer.tokenize.Encoding`` of ``text`` as the model expects to read it.

    For a Hugging Face folder (``info["add_special_tokens"]``) the tokenizer file's own
    post-processor adds the special tokens the reference adds ([CLS] … [SEP] for BERT,
    <s> … </s> for BART, none for GPT-2); for our own models the text is encoded as is.
    """
    from explorer.tokenize import Encoding, clean_text

    if not (info or {}).get("add_special_tokens"):
        return tokenizer.encode(text)
    clean, replaced = clean_text(text)
    enc = tokenizer.hf.encode(clean, add_special_tokens=True)
    n = len(clean)
    offsets = [(max(0, min(s, n)), max(0, min(e, n))) for s, e in enc.offsets]
    notes = ["invalid surrogate characters were replaced by U+FFFD"] if replaced else []
    return Encoding(list(enc.ids), list(enc.tokens), offsets, clean, replaced, notes)
