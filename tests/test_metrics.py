"""Metrics against hand-computed cases and the official definitions (gold predictions score 100)."""

from __future__ import annotations

import pytest

from tandem.errors import TandemError
from tandem.evaluation import metrics as M


def test_squad_normalisation():
    assert M.normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert M.normalize_answer("an apple, a pear and the fig.") == "apple pear and fig"
    assert M.normalize_answer("Theory") == "theory"  # 'the' only as a whole word
    assert M.exact_score("the Beatles", "Beatles.") == 1.0


def test_squad_f1_hand_computed():
    # gold: "barack obama", pred: "president barack obama" -> P 2/3, R 1, F1 0.8
    assert M.f1_score("Barack Obama", "president Barack Obama") == pytest.approx(0.8)
    assert M.f1_score("a b c", "d e") == 0.0
    # empty on either side: 1 only if both are empty
    assert M.f1_score("", "") == 1.0 and M.f1_score("", "x") == 0.0 and M.f1_score("x", "") == 0.0
    # articles only normalise to empty
    assert M.f1_score("the", "") == 1.0


def test_squad_v2_official_semantics():
    golds = [["Paris", "the city of Paris"], [], ["1969"], [""]]
    # q1: multiple golds, best one counts; q2: unanswerable answered with "" -> correct;
    # q3: wrong; q4: a blank gold is scored against "" only, model answered -> wrong (but its answer list is
    # not empty, so the official script counts it under HasAns)
    preds = ["city of paris", "", "1970 or 1969", "something"]
    r = M.squad_v2(golds, preds)
    f1_q3 = 2 * (1 / 3) * 1 / (1 / 3 + 1)
    assert r["exact"] == pytest.approx(100 * 2 / 4)
    assert r["f1"] == pytest.approx(100 * (1 + 1 + f1_q3 + 0) / 4)
    assert r["HasAns_total"] == 3 and r["NoAns_total"] == 1
    assert r["HasAns_exact"] == pytest.approx(100 / 3) and r["NoAns_exact"] == 100.0
    assert r["NoAns_f1"] == 100.0 and r["HasAns_f1"] == pytest.approx(100 * (1 + f1_q3 + 0) / 3)
    gold_preds = ["Paris", "", "1969", ""]
    assert M.squad_v2(golds, gold_preds)["f1"] == 100.0 and M.squad_v2(golds, gold_preds)["exact"] == 100.0
    with pytest.raises(TandemError):
        M.squad_v2(golds, preds[:2])


def test_squad_v2_has_ans_follows_the_raw_answer_list():
    # The official v2.0 script: has_ans = bool(qa['answers']) on the raw list, while scoring drops golds
    # that normalise to "" and scores against "" when none is left. So a question whose only golds are
    # "The" / "a" / "the ." is HasAns, scored against "". Hand-computed:
    #   q1 ["Paris"] "paris"      HasAns  EM 1 F1 1
    #   q2 []        ""           NoAns   EM 1 F1 1
    #   q3 ["The"]   ""           HasAns  EM 1 F1 1  (gold -> "")
    #   q4 ["a", "the ."] "something"  HasAns  EM 0 F1 0  (golds -> "")
    golds = [["Paris"], [], ["The"], ["a", "the ."]]
    preds = ["paris", "", "", "something"]
    r = M.squad_v2(golds, preds)
    assert r == pytest.approx(
        {
            "exact": 75.0,
            "f1": 75.0,
            "total": 4.0,
            "HasAns_exact": 200 / 3,
            "HasAns_f1": 200 / 3,
            "HasAns_total": 3.0,
            "NoAns_exact": 100.0,
            "NoAns_f1": 100.0,
            "NoAns_total": 1.0,
        }
    )


def test_record_max_over_golds():
    r = M.max_over_golds([["Benazir Bhutto", "Bhutto"], ["Obama"]], ["Bhutto", "Barack"])
    assert r["exact"] == 50.0 and r["f1"] == 50.0
    assert M.max_over_golds([["x y"]], ["x"])["f1"] == pytest.approx(100 * 2 / 3)
    # SQuAD v1.1 / ReCoRD F1 has no empty-answer rule (that is SQuAD 2.0's): a gold that normalises to ""
    # against an empty prediction is F1 0 (no common token), though EM 1; it was F1 100
    assert M.max_over_golds([["The"]], [""]) == {"exact": 100.0, "f1": 0.0}


def test_classification_metrics_against_hand_and_sklearn():
    golds = ["e", "c", "n", "e", "e", "c"]
    preds = ["e", "e", "n", "c", "e", "c"]
    # per class: e tp2 fp1 fn1 -> 2/3; c tp1 fp1 fn1 -> 1/2; n tp1 -> 1
    assert M.macro_f1(golds, preds) == pytest.approx(100 * (2 / 3 + 1 / 2 + 1) / 3)
    assert M.accuracy(golds, preds) == pytest.approx(100 * 4 / 6)
    sk = pytest.importorskip("sklearn.metrics")
    assert M.macro_f1(golds, preds) == pytest.approx(100 * sk.f1_score(golds, preds, average="macro"))
    # a class never predicted still counts (F1 0)
    assert M.macro_f1(["a", "b"], ["a", "a"]) == pytest.approx(
        100 * sk.f1_score(["a", "b"], ["a", "a"], average="macro")
    )
    assert M.macro_f1(golds, golds) == 100.0


def test_multirc_f1a_em():
    qids = [0, 0, 0, 1, 1]
    golds = [1, 0, 1, 0, 1]
    preds = [1, 0, 0, 0, 1]  # q0 wrong on one option, q1 right
    r = M.multirc(qids, golds, preds)
    # positives: tp 2, fn 1, fp 0 -> F1 = 4/5
    assert r["f1a"] == pytest.approx(80.0) and r["em"] == 50.0
    assert M.multirc(qids, golds, golds) == {"f1a": 100.0, "em": 100.0}


def test_bleu_chrf_against_sacrebleu():
    import sacrebleu

    hyps = ["the cat sat on the mat", "a dog barks"]
    refs = ["the cat sat on the mat", "the dog barked loudly"]
    assert M.bleu(refs, refs) == pytest.approx(100.0)
    assert M.chrf_pp(refs, refs) == pytest.approx(100.0)
    assert M.bleu(hyps, refs) == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert M.chrf_pp(hyps, refs) == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs], word_order=2).score)
    # chrF++ differs from plain chrF (word bigrams are included)
    assert M.chrf_pp(hyps, refs) != pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    # several references per hypothesis
    multi = [["x", "the cat sat on the mat"], ["the dog barked loudly"]]
    assert M.bleu(hyps, multi) == pytest.approx(
        sacrebleu.corpus_bleu(hyps, [["x", "the dog barked loudly"], [refs[0], refs[1]]]).score
    )


def test_a_hypothesis_without_references_is_a_named_error():
    # an empty reference list was an IndexError from inside the stream building
    for fn in (M.bleu, M.chrf_pp):
        with pytest.raises(
            TandemError, match="hypothesis 1: references must be a string or a non-empty list"
        ):
            fn(["a", "b"], ["a", []])


def test_spbleu_uses_the_given_spm(tmp_path):
    import sacrebleu
    import sentencepiece as spm

    lines = [f"the quick brown fox {i} jumps over the lazy dog number {i * 7}" for i in range(200)]
    (tmp_path / "c.txt").write_text("\n".join(lines))
    spm.SentencePieceTrainer.train(
        input=str(tmp_path / "c.txt"), model_prefix=str(tmp_path / "m"), vocab_size=60, model_type="unigram"
    )
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "m.model"))
    hyps, refs = ["the quick fox jumps"], ["the quick brown fox jumps"]
    want = sacrebleu.corpus_bleu(
        [" ".join(sp.encode(hyps[0], out_type=str))],
        [[" ".join(sp.encode(refs[0], out_type=str))]],
        tokenize="none",
    ).score
    assert M.spbleu(hyps, refs, str(tmp_path / "m.model")) == pytest.approx(want)
    assert M.spbleu(refs, refs, str(tmp_path / "m.model")) == pytest.approx(100.0)
    with pytest.raises(TandemError, match="SentencePiece"):
        M.spbleu(hyps, refs, str(tmp_path / "missing.model"))


def test_rouge_hand_computed():
    # ref "the cat sat", hyp "the cat ran": unigram overlap 2/3 each side -> R1 F 2/3; bigram 1/2 -> R2 F 1/2;
    # LCS "the cat" 2 -> RL 2/3
    r = M.rouge(["the cat ran"], ["the cat sat"])
    assert r["rouge1"] == pytest.approx(200 / 3) and r["rouge2"] == pytest.approx(50.0)
    assert r["rougeL"] == pytest.approx(200 / 3)
    assert M.rouge(["Der Bär läuft"], ["der bär läuft"], lang="de")["rouge1"] == pytest.approx(100.0)
    # the default English tokenizer would drop 'ä'; the Unicode one keeps it
    assert M.rouge(["bär"], ["bar"], lang="de")["rouge1"] == 0.0
    assert M.rouge(["x", "the cat"], [["y", "x"], "the cat"])["rouge1"] == 100.0


def test_rouge_unicode_tokenizer_keeps_indic_words_whole():
    # `\w+` split Devanagari / Tamil words at every vowel sign and virama (category M): "हिन्दी" became
    # "ह", "न", "द", so two summaries sharing one of two words scored ROUGE-1 F 54.5, not 50
    assert M._UnicodeTokenizer().tokenize("हिन्दी भाषा, தமிழ்!") == ["हिन्दी", "भाषा", "தமிழ்"]
    assert M._UnicodeTokenizer().tokenize("می\u200cخواهم") == ["می\u200cخواهم"]  # ZWNJ inside a Persian word
    r = M.rouge(["हिन्दी भाषा"], ["हिन्दी किताब"], lang="hi")
    assert r["rouge1"] == pytest.approx(50.0) and r["rouge2"] == 0.0


def test_rouge_lsum_matches_rouge_score_on_multi_sentence_summaries():
    """ROUGE-Lsum (MLSum, HF `evaluate`): summary-level LCS over newline-separated sentences, where rougeL takes
    one LCS over the whole text; both as the rouge-score package computes them."""
    from rouge_score import rouge_scorer

    ref = "The cat sat on the mat.\nThe dog ran in the park."
    hyp = "The dog sat in the park.\nThe cat ran on the mat."
    want = rouge_scorer.RougeScorer(["rougeL", "rougeLsum"], use_stemmer=True).score(ref, hyp)
    got = M.rouge([hyp], [ref])
    assert got["rougeLsum"] == pytest.approx(100 * want["rougeLsum"].fmeasure)
    assert got["rougeL"] == pytest.approx(100 * want["rougeL"].fmeasure)
    assert got["rougeLsum"] == pytest.approx(100.0) and got["rougeL"] == pytest.approx(50.0)  # they differ
    # one line each: summary-level LCS is the plain LCS
    flat = M.rouge([hyp.replace("\n", " ")], [ref.replace("\n", " ")])
    assert flat["rougeLsum"] == pytest.approx(flat["rougeL"])
    # other languages: the same split into lines, with the Unicode tokenizer; several references: the best
    de_ref, de_hyp = "Der Bär läuft.\nDie Katze schläft.", "Die Katze läuft.\nDer Bär schläft."
    scorer = rouge_scorer.RougeScorer(["rougeLsum"], tokenizer=M._UnicodeTokenizer())
    want_de = scorer.score(de_ref, de_hyp)["rougeLsum"].fmeasure
    assert M.rouge([de_hyp], [de_ref], lang="de")["rougeLsum"] == pytest.approx(100 * want_de)
    assert M.rouge([hyp], [["x y", ref]])["rougeLsum"] == pytest.approx(100.0)


def test_bleu_tokenizer_follows_the_target_language():
    import sacrebleu

    assert M.bleu_tokenizer("deu_Latn") == M.bleu_tokenizer("en") == "13a"
    assert M.bleu_tokenizer("zho_Hans") == "zh"
    assert M.bleu_tokenizer("jpn_Jpan") in ("ja-mecab", "char") and M.bleu_tokenizer("ja") in (
        "ja-mecab",
        "char",
    )
    # 13a cannot split Japanese: one wrong character makes the whole sentence a miss
    hyp, ref = ["今日は晴れだ"], ["今日は晴れです"]
    assert sacrebleu.corpus_bleu(hyp, [ref]).score == 0.0
    tok = M.bleu_tokenizer("jpn_Jpan")
    assert M.bleu(hyp, ref, tokenize=tok) == pytest.approx(
        sacrebleu.corpus_bleu(hyp, [ref], tokenize=tok).score
    )
    assert M.bleu(hyp, ref, tokenize=tok) > 20
    sig = M.sacrebleu_signatures(tok)
    assert f"tok:{tok}" in sig["bleu"] and "nrefs:1" in sig["bleu"] and "nw:2" in sig["chrf++"]
