"""`tandem quickstart`: the embedded default corpus and the end-to-end pipeline that runs every verb on it."""

from __future__ import annotations

from tandem.quickstart.corpus import Utterance, generate_corpus, write_corpus

__all__ = ["Utterance", "generate_corpus", "write_corpus"]
