"""A user's journey from a Hugging Face BART checkpoint through the CLI: the errors met on the way name what
to do. A tiny random checkpoint is built here (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from _hf_tiny import TINY_BART_DIMS  # noqa: E402
from tandem.cli import main as cli_main  # noqa: E402
from test_hf_tokenizer import _auto, _bart_tokenizer_dir  # noqa: E402


@pytest.fixture(scope="module")
def bart_checkpoint(tmp_path_factory) -> Path:
    """A random tiny BART with its byte-level BPE tokenizer, as the Hub ships one."""
    import torch
    import transformers

    d = _bart_tokenizer_dir(tmp_path_factory.mktemp("bart"))
    hf_tok = _auto(d)
    torch.manual_seed(0)
    cfg = transformers.BartConfig(vocab_size=len(hf_tok), **TINY_BART_DIMS)
    transformers.BartForConditionalGeneration(cfg).save_pretrained(str(d))
    hf_tok.save_pretrained(str(d))
    return d


def test_generate_clm_on_a_tokenizer_without_clm_is_refused(bart_checkpoint: Path, capsys) -> None:
    # was: "[CLM] " encoded as the characters '[', 'CL', 'M', ']' and generated from, silently (the server and
    # the edge runtime refuse clm=True for such a tokenizer; finetune refuses --clm-prefix)
    rc = cli_main(
        ["generate", str(bart_checkpoint), "--prompt", "Hello world", "--clm", "--max-new-tokens", "2"]
    )
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == ""
    assert "--clm" in captured.err and "no [CLM] token" in captured.err
    # without the flag the same call generates
    assert (
        cli_main(["generate", str(bart_checkpoint), "--prompt", "Hello world", "--max-new-tokens", "2"]) == 0
    )


def test_a_token_flag_that_is_no_piece_shows_how_the_tokenizer_writes_it(
    bart_checkpoint: Path, capsys
) -> None:
    # BART's byte-level BPE writes a word after a space as 'Ġword': "world" typed as a piece was refused with
    # no hint of the spelling the flag wants
    hf = _auto(bart_checkpoint)
    word = "worldx"
    assert hf.convert_tokens_to_ids(word) == hf.unk_token_id  # not a piece
    for flag, value in (("--suppress-tokens", word), ("--bad-words-ids", f'[["{word}"]]')):
        rc = cli_main(["generate", str(bart_checkpoint), "--prompt", "Hello", flag, value])
        err = capsys.readouterr().err
        assert rc == 2 and "not an id and not a piece" in err
        for text in (word, " " + word):  # transformers' own pieces and ids for the word, both spellings
            ids = hf(text, add_special_tokens=False).input_ids
            shown = " ".join(f"{p!r} ({i})" for p, i in zip(hf.convert_ids_to_tokens(ids), ids))
            assert f"{text!r} is {shown}" in err, (text, shown, err)


def test_evaluate_usage_offers_only_the_dtypes_it_takes(capsys) -> None:
    # was: "--dtype {None,float32,bfloat16,float16}", and `--dtype None` then refused as an invalid choice
    with pytest.raises(SystemExit):
        cli_main(["evaluate", "--help"])
    assert "{float32,bfloat16,float16}" in capsys.readouterr().out


def test_slu_tags_on_a_trained_models_vocabulary_says_to_drop_them(
    bart_checkpoint: Path, tmp_path, capsys
) -> None:
    # was: "train one with `tandem tokenizer train --reserved-tags 3` (or let finetune train it)", neither
    # possible for a checkpoint: finetune --tokenizer must be the model's own vocabulary
    split = tmp_path / "snips" / "train"
    split.mkdir(parents=True)
    (split / "seq.in").write_text("play queen\nplay abba now\nwake me up\n")
    (split / "seq.out").write_text("O B-artist\nO B-artist O\nO O O\n")
    (split / "label").write_text("PlayMusic\nPlayMusic\nSetAlarm\n")
    args = ["finetune", "--model", str(bart_checkpoint), "--task", "slu", "--data", str(tmp_path / "snips")]
    rc = cli_main(
        [*args, "--train-split", "train", "--slu-tags", "--max-steps", "1", "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "needs 3 reserved tags but the tokenizer has 0" in err
    assert "drop --slu-tags" in err and "tandem tokenizer train" not in err
    assert not (tmp_path / "o" / "best").exists()


def test_evaluate_predictions_with_limit_scores_the_first_n_examples(tmp_path: Path) -> None:
    # the journey's check of a fine-tuned model: `tandem generate` on the first N inputs, scored with
    # --predictions --limit N. Was: --limit ignored there, every later example counted as missing and any
    # prediction past N scored
    import json

    copa = tmp_path / "copa.jsonl"
    row = {
        "premise": "The fox ran.",
        "choice1": "It was quick.",
        "choice2": "It was lazy.",
        "question": "cause",
    }
    copa.write_text("".join(json.dumps({**row, "label": i % 2, "idx": i}) + "\n" for i in range(5)))
    preds = tmp_path / "preds.jsonl"  # right on 0 and 1, wrong on 2
    preds.write_text("".join(json.dumps({"id": str(i), "prediction": [0, 1, 1][i]}) + "\n" for i in range(3)))
    out = tmp_path / "ev"
    args = ["evaluate", "--predictions", str(preds), "--task", f"copa={copa}", "--out", str(out)]
    assert cli_main([*args, "--limit", "2"]) == 0
    res = json.loads((out / "metrics.json").read_text())["results"]["copa"]
    assert (res["acc"], res["num_scored"], res["missing_predictions"]) == (100.0, 2, 0)
    assert cli_main(args) == 0  # without --limit: the whole file, two examples without a prediction
    res = json.loads((out / "metrics.json").read_text())["results"]["copa"]
    assert (res["num_scored"], res["missing_predictions"]) == (3, 2)
    assert res["acc"] == pytest.approx(200 / 3)
    assert cli_main([*args, "--limit", "0"]) == 2
