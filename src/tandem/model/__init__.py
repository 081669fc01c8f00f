"""The encoder-decoder model: plain PyTorch, no I/O, no training concerns."""

from tandem.model.ensemble import Ensemble
from tandem.model.seq2seq import Decoder, Encoder, Seq2SeqLM, Seq2SeqOutput, shift_right

__all__ = ["Decoder", "Encoder", "Ensemble", "Seq2SeqLM", "Seq2SeqOutput", "shift_right"]
