"""A GPT-2-format tokenizer.json loads and gives the reference ids.

No real GPT-2 vocabulary is installed and there is no network, so the fixture
``tests/fixtures/tokenize/gpt2_tokenizer.json`` is a small byte-level BPE (556 byte
and merged tokens + ``<|endoftext|>`` as the last id, as in GPT-2) trained with the
GPT-2 pre-tokenizer on generated text, written as GPT-2's ``vocab.json`` and
``merges.txt`` and converted to ``tokenizer.json`` by the real library,
``transformers.GPT2Tokenizer.from_pretrained``. ``gpt2_expected.json`` holds the
ids ``transformers`` gave for each text. Both were made by
``tests/fixtures/tokenize/make_gpt2_fixture.py``.

The ids are also checked against an independent pure-Python reading of OpenAI's
original GPT-2 ``encoder.py`` algorithm (bytes to unicode, the GPT-2 regex, merges by
rank), applied to the fixture's vocabulary and merges.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from explorer.tokenize import load_tokenizer

FIXTURES = Path(__file__).parents[1] / "fixtures" / "tokenize"
TOKENIZER = FIXTURES / "gpt2_tokenizer.json"
CASES = json.loads((FIXTURES / "gpt2_expected.json").read_text(encoding="utf-8"))["cases"]
EOT = "<|endoftext|>"
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table: printable bytes stand for themselves, the rest from U+0100 on."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
          *range(ord("®"), ord("ÿ") + 1)]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class _OpenAIReference:
    """OpenAI's GPT-2 BPE, written from its published algorithm (independent of ours)."""

    def __init__(self, data: dict) -> None:
        import regex

        self.vocab: dict[str, int] = data["model"]["vocab"]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m)
                  for m in data["model"]["merges"]]
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.table = _bytes_to_unicode()
        self.pattern = regex.compile(GPT2_PATTERN)

    def bpe(self, word: str) -> tuple[str, ...]:
        parts = list(word)
        while len(parts) > 1:
            pairs = [(self.ranks.get(p, 1 << 30), i) for i, p in enumerate(zip(parts, parts[1:]))]
            rank, _ = min(pairs)
            if rank == 1 << 30:
                break
            first, second = next(p for p in zip(parts, parts[1:]) if self.ranks.get(p) == rank)
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == (first, second):
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return tuple(parts)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for k, piece in enumerate(text.split(EOT)):
            if k:
                ids.append(self.vocab[EOT])
            for word in self.pattern.findall(piece):
                mapped = "".join(self.table[b] for b in word.encode("utf-8"))
                ids += [self.vocab[t] for t in self.bpe(mapped)]
        return ids


@pytest.fixture(scope="module")
def gpt2():
    return load_tokenizer(TOKENIZER)


def test_loads_as_byte_level_bpe_with_its_own_specials(gpt2):
    assert gpt2.kind == "bpe"
    eot = gpt2.token_to_id(EOT)
    assert eot == gpt2.vocab_size - 1 == 556
    assert gpt2.special_ids == {"bos": eot, "eos": eot}  # GPT-2 has only <|endoftext|>
    assert len(gpt2.merges()) == 300


@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_ids_match_transformers_and_openai_algorithm(gpt2, case):
    text, want = case["text"], case["ids"]
    assert want, "the fixture holds ids for every text"
    enc = gpt2.encode(text)
    assert enc.ids == want
    reference = _OpenAIReference(json.loads(TOKENIZER.read_text(encoding="utf-8")))
    assert reference.encode(text) == want
    assert gpt2.decode(enc.ids, skip_special=False) == text
    for s, e in enc.offsets:
        assert 0 <= s <= e <= len(text)


def test_encode_for_model_wraps_in_endoftext(gpt2):
    ids = gpt2.encode_for_model("the old wizard")
    eot = gpt2.special_ids["bos"]
    assert ids[0] == ids[-1] == eot and eot not in ids[1:-1]


def test_matches_live_transformers_when_installed(gpt2):
    transformers = pytest.importorskip("transformers")
    ref = transformers.PreTrainedTokenizerFast(tokenizer_file=str(TOKENIZER))
    for text in ["Another text, unseen: 42 ünïcode ✓", "tabs\tand\r\nCRLF"]:
        assert gpt2.encode(text).ids == ref(text)["input_ids"]
