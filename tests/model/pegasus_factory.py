"""Build small random-weight PEGASUS checkpoints offline, for the handler tests and the benchmark.

No weights can be downloaded here, so a SentencePiece vocabulary is trained on generated text and
a ``PegasusForConditionalGeneration`` with random weights (fixed seed) is saved next to it with
``save_pretrained``: the same folder layout a real checkpoint has, loadable by ``model_fn``.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sentencepiece as spm
import torch
from transformers import (
    AutoTokenizer,
    PegasusConfig,
    PegasusForConditionalGeneration,
    PegasusTokenizer,
)

# Sentences for the tiny tokenizer: words the tests' articles are made of.
TINY_SENTENCES: tuple[str, ...] = (
    "The quick brown fox jumps over the lazy dog.",
    "A summary condenses a long article into a few sentences.",
    "Asynchronous endpoints queue requests and scale down to zero instances.",
    "Numbers like 12345 and 67890 appear in reports about markets and weather.",
    "The council met on Tuesday to discuss the new bridge over the river.",
    "Scientists measured the temperature of the ocean at several depths.",
)


@dataclass(frozen=True)
class PegasusDims:
    """Model size; the defaults make a model that runs a generate() call in milliseconds."""

    d_model: int = 32
    layers: int = 1
    heads: int = 2
    ffn_dim: int = 64
    max_positions: int = 64


def synthetic_sentences(count: int, vocabulary: int, seed: int) -> list[str]:
    """Sentences over ``vocabulary`` made-up words, enough to train a vocabulary of thousands."""
    rng = random.Random(seed)
    consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
    words: set[str] = set()
    while len(words) < vocabulary:
        syllables = rng.randint(1, 4)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)))
    lexicon = sorted(words)
    sentences = []
    for _ in range(count):
        length = rng.randint(6, 18)
        sentence = " ".join(rng.choice(lexicon) for _ in range(length))
        sentences.append(sentence.capitalize() + ".")
    return sentences


def train_tokenizer(sentences: Iterable[str], vocab_size: int, out_dir: Path) -> PegasusTokenizer:
    """Train a SentencePiece unigram model the way PEGASUS expects its special ids."""
    out_dir.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(sentences)),
        model_prefix=str(out_dir / "spiece"),
        vocab_size=vocab_size,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        character_coverage=1.0,
        minloglevel=2,
    )
    return PegasusTokenizer.from_pretrained(str(out_dir))


def build_pegasus(
    out_dir: Path,
    *,
    sentences: Sequence[str] = TINY_SENTENCES,
    vocab_size: int = 120,
    dims: PegasusDims | None = None,
    seed: int = 0,
) -> Path:
    """Save a random PEGASUS (weights, config, slow and fast tokenizer) into ``out_dir``.

    The ids PEGASUS reserves for pre-training masks and unused slots decode to nothing, so their
    final logits bias is pushed down: random weights then emit real word pieces, and summaries
    are text the reduce rounds can work with. The end-of-sequence id stays possible.
    """
    dims = dims or PegasusDims()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        slow = train_tokenizer(sentences, vocab_size, Path(scratch))
        slow.save_pretrained(str(out_dir))
    torch.manual_seed(seed)
    config = PegasusConfig(
        vocab_size=len(slow),
        d_model=dims.d_model,
        encoder_layers=dims.layers,
        decoder_layers=dims.layers,
        encoder_attention_heads=dims.heads,
        decoder_attention_heads=dims.heads,
        encoder_ffn_dim=dims.ffn_dim,
        decoder_ffn_dim=dims.ffn_dim,
        max_position_embeddings=dims.max_positions,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        forced_eos_token_id=1,
    )
    model = PegasusForConditionalGeneration(config)
    reserved = [i for i in range(slow.offset + 3) if i != slow.eos_token_id]
    with torch.no_grad():
        model.final_logits_bias[0, reserved] = -1e4
    model.save_pretrained(str(out_dir))
    # Saving the fast tokenizer spares every load the slow-to-fast conversion.
    AutoTokenizer.from_pretrained(str(out_dir)).save_pretrained(str(out_dir))
    return out_dir
