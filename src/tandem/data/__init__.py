"""Pretraining and fine-tuning data: sources, language sampling, packing, sharding, resumable streams.

Trainer-facing API:

    from tandem.data import PretrainStream, Source
    stream = PretrainStream([Source("wiki/en.txt", "en", upsample=10), Source("mc4/en.jsonl", "en")],
                            tokenizer, "alexatm", seq_len=512, batch_size=8, seed=0, rank=0, world_size=1)
    batch = next(iter(stream))  # input_ids/attention_mask (B,S), labels (B,T; -100 pad), kind: list[str]
    state = stream.state_dict()  # JSON-serialisable; stream.load_state_dict(state) resumes exactly
    stream.stats                 # counts: docs/tokens per language, bad records, problems (file + line)

`Seq2SeqStream(pairs_or_jsonl, tokenizer, batch_size, max_source_len, max_target_len, seed, shuffle)` gives
the same batches and state API for fine-tuning.
"""

from tandem.data.cache import build_cache
from tandem.data.decontam import Decontaminator
from tandem.data.sampling import language_weights
from tandem.data.seq2seq import Seq2SeqStream, read_pairs
from tandem.data.sources import Reader, Source
from tandem.data.stream import PretrainStream

__all__ = [
    "Decontaminator",
    "PretrainStream",
    "Reader",
    "Seq2SeqStream",
    "Source",
    "build_cache",
    "language_weights",
    "read_pairs",
]
