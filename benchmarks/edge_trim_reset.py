"""Trimmed-vocabulary latency on an mBART-50-shaped model: what clearing CTranslate2's stale positions costs.

CTranslate2 4.x keeps the id -> candidate position table of its first call with a vocabulary map, so before a
trimmed call that reads a language code (mBART-50's forced first token) the edge runtime clears it with a call
without the map. This script builds a random mBART-50-shaped model (d_model 1024, 16 heads, FFN 4096,
`--layers` + `--layers` layers, a 250,054-token vocabulary: a SentencePiece model padded to 250,000 pieces,
then mBART-50's 52 language codes and <mask> at ids 250,001-250,053), exports it int8 with `tandem export`,
trims it to ~300 task tokens (`--trim-tokens`) and times, batch 1, 1 thread, greedy, exactly `--new-tokens`
generated tokens per call:

- `untrimmed`: the same export with `use_vmap=False`;
- `trimmed_old`: the clearing call of the previous release (one decoding step without the map: an encoder
  pass, a decoder step and the full 250k output projection);
- `trimmed_new`: the runtime's clearing call (`max_decoding_length=0`: an encoder pass, no decoding step);
- `reset_old` / `reset_new`: the clearing calls alone.

The variants alternate call by call (rotating their order) over varied inputs, so a shared machine's load
hits all alike; medians are reported. Each trimmed output is checked against the other trimmed variant
(identical) and counted against the untrimmed one where the untrimmed tokens are all allowed by the map
(random weights seldom stay inside it: often 0/0; tests/test_edge_hf.py checks trimmed against untrimmed).

    OMP_NUM_THREADS=1 python benchmarks/edge_trim_reset.py [--layers 12] [--iters 12] [--new-tokens 16]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from _common import positive_int, require

WORDS = (
    "wake me up at seven am tomorrow and play the music by queen in kitchen please now set an alarm for turn on "
    "off lights what is weather like today london paris berlin rome tell a joke remind to call mom dad buy milk "
    "eggs bread add shopping list how long drive work traffic news sports score of game last night volume up "
    "down next song pause resume stop timer ten minutes twenty five hours open door lock front garage check "
    "email calendar meeting with team friday monday tuesday wednesday thursday saturday sunday morning evening "
    "book table restaurant two people italian chinese mexican order pizza taxi airport flight status hotel room"
).split()
SP_SIZE = 250_000  # SentencePiece pieces; + <s> <pad> </s> <unk> shift, 52 language codes, <mask>: 250,054


def _tokenizer_dir(d: Path, rng: random.Random) -> None:
    """An mBART-50 tokenizer directory whose SentencePiece model has SP_SIZE pieces (~400 trained on WORDS,
    the rest unused filler pieces), so the language codes sit at mBART-50's ids."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    corpus = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 15))) for _ in range(4000)]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus),
        model_writer=buf,
        vocab_size=400,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    proto = pb.ModelProto()
    proto.ParseFromString(buf.getvalue())
    have = {p.piece for p in proto.pieces}
    low = min(p.score for p in proto.pieces) - 1.0
    i = 0
    while len(proto.pieces) < SP_SIZE:
        piece = f"\u2581zq{i}"
        i += 1
        if piece not in have:
            new = proto.pieces.add()
            new.piece, new.score = piece, low - i * 1e-6
    d.mkdir(parents=True, exist_ok=True)
    (d / "sentencepiece.bpe.model").write_bytes(proto.SerializeToString())
    (d / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "MBart50Tokenizer", "src_lang": "en_XX", "tgt_lang": "ro_RO"})
    )


def prepare(work: Path, layers: int, trim_tokens: int) -> dict:
    """Random mBART-50-shaped checkpoint -> int8 edge export -> vocabulary map of ~trim_tokens fixed tokens."""
    import torch
    import transformers

    from tandem.cli import main as cli_main
    from tandem.edge import trim_vocabulary

    export = work / f"ct2-int8-L{layers}"
    info = work / f"info-L{layers}-T{trim_tokens}.json"
    if info.is_file():
        return json.loads(info.read_text())
    rng = random.Random(0)
    hf = work / f"hf-L{layers}"
    if not (export / "model.bin").is_file():
        _tokenizer_dir(hf, rng)
        ref = transformers.AutoTokenizer.from_pretrained(str(hf), local_files_only=True)
        torch.manual_seed(0)
        cfg = transformers.MBartConfig(
            vocab_size=len(ref),
            d_model=1024,
            encoder_layers=layers,
            decoder_layers=layers,
            encoder_attention_heads=16,
            decoder_attention_heads=16,
            encoder_ffn_dim=4096,
            decoder_ffn_dim=4096,
            max_position_embeddings=1024,
            scale_embedding=True,
            dropout=0.0,
        )
        model = transformers.MBartForConditionalGeneration(cfg).eval()
        with (
            torch.no_grad()
        ):  # wide random weights: distinct outputs per input, no near-ties in the export check
            for p in model.parameters():
                if p.dim() > 1:
                    p.normal_(0.0, 0.05 if p.shape[0] != len(ref) else 0.5)
        model.generation_config.decoder_start_token_id = 2
        model.generation_config.forced_bos_token_id = ref.convert_tokens_to_ids("ro_RO")
        model.save_pretrained(str(hf))
        ref.save_pretrained(str(hf))
        del model
        args = ["export", str(hf), "--format", "ct2", "--quantize", "int8", "--out", str(export)]
        if cli_main(args) != 0:
            sys.exit("error: the export failed")
    # the task's outputs: words until ~trim_tokens always-allowed tokens
    labels: list[str] = []
    for w in sorted(set(WORDS)):
        labels.append(w)
        if trim_vocabulary(export, labels).fixed_tokens >= trim_tokens:
            break
    extra: list[str] = []
    pieces = json.loads((export / "shared_vocabulary.json").read_text(encoding="utf-8"))
    rep = trim_vocabulary(export, labels)
    for p in pieces[1000:]:  # top up with filler pieces when the words' tokens are too few
        if rep.fixed_tokens + len(extra) >= trim_tokens:
            break
        extra.append(p)
    rep = trim_vocabulary(export, labels, extra_tokens=extra)
    out = {
        "export": str(export),
        "layers": layers,
        "vocab_size": rep.vocab_size,
        "fixed_tokens": rep.fixed_tokens,
    }
    info.write_text(json.dumps(out))
    return out


def _texts(n: int) -> list[str]:
    rng = random.Random(1)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))) for _ in range(n)]


def measure(info: dict, iters: int, new_tokens: int) -> None:
    from tandem.edge import EdgeModel

    class OldReset(EdgeModel):
        """The previous release's clearing call: one decoding step without the map."""

        def _clear_vmap_positions(self) -> None:
            self.translator.translate_batch([[self._reset_token]], max_decoding_length=1, use_vmap=False)

    d = info["export"]
    models = {
        "untrimmed": EdgeModel(d, use_vmap=False),
        "trimmed_old": OldReset(d),
        "trimmed_new": EdgeModel(d),
    }
    resets = {"reset_old": models["trimmed_old"], "reset_new": models["trimmed_new"]}
    assert models["trimmed_new"].use_vmap and not models["untrimmed"].use_vmap
    trimmed = models["trimmed_new"]
    vmap = (Path(d) / "vmap.txt").read_text(encoding="utf-8").split("\n")[0][1:].split(" ")
    fixed = {trimmed.index[t] for t in vmap} | {0, 2, 3}
    texts = _texts(16)
    opts = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens)
    for m in models.values():  # warm-up: one call each
        m.generate_batch([texts[0]], **opts)
    times: dict[str, list[float]] = {k: [] for k in [*models, *resets]}
    agree = same_trimmed = comparable = 0
    names = list(models)
    for i in range(iters):
        text = texts[i % len(texts)]
        ids = {}
        for name in names[i % 3 :] + names[: i % 3]:
            t0 = time.perf_counter()
            ids[name] = models[name].generate_batch([text], **opts)[0].token_ids
            times[name].append(time.perf_counter() - t0)
        same_trimmed += ids["trimmed_old"] == ids["trimmed_new"]
        allowed = fixed | set(trimmed._ids(text)) | {trimmed.index[t] for t in trimmed.encode(text)}
        if set(ids["untrimmed"]) <= allowed:
            comparable += 1
            agree += ids["untrimmed"] == ids["trimmed_new"]
    for i in range(iters):  # the clearing calls alone, after a trimmed call each (the table to clear)
        for name in list(resets)[i % 2 :] + list(resets)[: i % 2]:
            resets[name].generate_batch([texts[i % len(texts)]], max_new_tokens=1)
            t0 = time.perf_counter()
            resets[name]._clear_vmap_positions()
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    for k, v in times.items():
        ms = sorted(x * 1e3 for x in v)
        print(
            json.dumps({"variant": k, "median_ms": round(med[k], 2), "min_ms": round(ms[0], 2), "n": len(ms)})
        )
    print(
        json.dumps(
            {
                "ratio": {
                    "trimmed_old/untrimmed": round(med["trimmed_old"] / med["untrimmed"], 3),
                    "trimmed_new/untrimmed": round(med["trimmed_new"] / med["untrimmed"], 3),
                    "trimmed_new/trimmed_old": round(med["trimmed_new"] / med["trimmed_old"], 3),
                    "reset_new/reset_old": round(med["reset_new"] / med["reset_old"], 3),
                },
                "trimmed_old_equals_new": f"{same_trimmed}/{iters}",
                "equals_untrimmed_where_allowed": f"{agree}/{comparable}",
                "layers": info["layers"],
                "vocab_size": info["vocab_size"],
                "fixed_tokens": info["fixed_tokens"],
                "new_tokens": new_tokens,
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=positive_int, default=12, help="encoder and decoder layers each")
    ap.add_argument("--iters", type=positive_int, default=12)
    ap.add_argument("--new-tokens", type=positive_int, default=16)
    ap.add_argument("--trim-tokens", type=positive_int, default=300)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/tandem-trim-bench"))
    a = ap.parse_args()
    require("edge_trim_reset.py", "ctranslate2", "transformers", "sentencepiece")
    info = prepare(a.workdir, a.layers, a.trim_tokens)
    measure(info, a.iters, a.new_tokens)


if __name__ == "__main__":
    main()
