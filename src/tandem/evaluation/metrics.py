"""Evaluation metrics, following the official definitions; every score is on a 0-100 scale.

- SQuAD 2.0: the official script's answer normalisation, exact match and token F1, max over gold answers,
  unanswerable questions scored against the empty string, HasAns/NoAns breakdowns.
- SuperGLUE: accuracy, CB macro-F1, MultiRC F1a (binary F1 over all answer options) and EM (per question,
  all options right; a question with an option unscored is left out), ReCoRD max-over-answers EM/F1 (SQuAD v1.1 normalisation).
- Translation: sacreBLEU BLEU, chrF++ (chrF with word bigrams) and spBLEU (BLEU over SentencePiece pieces of
  a given FLORES SentencePiece model). BLEU's tokenizer follows the target language as sacreBLEU recommends
  (`bleu_tokenizer`): 13a, but `zh` for Chinese and `ja-mecab` / `ko-mecab` for Japanese / Korean, which
  have no spaces between words; without MeCab installed those two fall back to character-level `char`.
  `sacrebleu_signatures` gives the signature strings to report with the scores.
- Summarisation: ROUGE-1/2/L and ROUGE-Lsum F-measure from `rouge-score` (Lsum: the summary-level LCS over
  sentences separated by newlines, as MLSum and Hugging Face `evaluate` report it).
- SLU metrics live in `tandem.slu`.
"""

from __future__ import annotations

import collections
import functools
import re
import string
import unicodedata
from collections.abc import Hashable, Mapping, Sequence

from tandem.errors import TandemError
from tandem.langcodes import TWO_LETTER

# ------------------------------------------------------------------------------------- SQuAD-style answers
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (the official SQuAD normalisation)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _tokens(s: str) -> list[str]:
    return normalize_answer(s).split() if s else []


def exact_score(gold: str, pred: str) -> float:
    """1.0 if the normalised answers are equal, else 0.0."""
    return float(normalize_answer(gold) == normalize_answer(pred))


def f1_score(gold: str, pred: str, empty_match: bool = True) -> float:
    """Bag-of-tokens F1 of normalised answers; if either is empty, 1.0 only when both are (SQuAD 2.0).

    `empty_match=False` is the SQuAD v1.1 / ReCoRD script, which has no empty-answer rule: no common token is
    0.0, both sides empty included.
    """
    g, p = _tokens(gold), _tokens(pred)
    if not g or not p:
        return float(g == p and empty_match)
    common = collections.Counter(g) & collections.Counter(p)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def squad_gold_answers(answers: Sequence[str]) -> list[str]:
    """Gold answers as the official script uses them: blanks dropped; no answer left means unanswerable ('')."""
    golds = [a for a in answers if normalize_answer(a)]
    return golds or [""]


def squad_v2(golds: Sequence[Sequence[str]], preds: Sequence[str]) -> dict[str, float]:
    """Official SQuAD 2.0 exact/F1 (no no-answer threshold), overall and split into HasAns / NoAns.

    `golds[i]` lists the gold answer texts of question i (empty for an unanswerable question); `preds[i]` is
    the predicted text, "" meaning "no answer". As in the official script, a question is HasAns when its raw
    answer list is not empty, even if every answer normalises to "" (it is then scored against "").
    """
    if len(golds) != len(preds):
        raise TandemError(f"squad_v2: {len(golds)} questions but {len(preds)} predictions")
    ex, f1, has = [], [], []
    for answers, pred in zip(golds, preds):
        answers = list(answers)
        g = squad_gold_answers(answers)
        ex.append(max(exact_score(a, pred) for a in g))
        f1.append(max(f1_score(a, pred) for a in g))
        has.append(bool(answers))  # the official make_qid_to_has_ans: bool(qa['answers'])
    out = {"exact": _mean(ex), "f1": _mean(f1), "total": float(len(preds))}
    for name, keep in (("HasAns", True), ("NoAns", False)):
        idx = [i for i, h in enumerate(has) if h == keep]
        if idx:
            out[f"{name}_exact"] = _mean([ex[i] for i in idx])
            out[f"{name}_f1"] = _mean([f1[i] for i in idx])
            out[f"{name}_total"] = float(len(idx))
    return out


def _mean(xs: Sequence[float]) -> float:
    return 100.0 * sum(xs) / len(xs) if xs else 0.0


def max_over_golds(golds: Sequence[Sequence[str]], preds: Sequence[str]) -> dict[str, float]:
    """ReCoRD-style EM and F1 (SQuAD v1.1 definitions): each prediction against its best gold answer."""
    if len(golds) != len(preds):
        raise TandemError(f"max_over_golds: {len(golds)} examples but {len(preds)} predictions")
    em = [max((exact_score(g, p) for g in gs), default=0.0) for gs, p in zip(golds, preds)]
    f1 = [max((f1_score(g, p, empty_match=False) for g in gs), default=0.0) for gs, p in zip(golds, preds)]
    return {"exact": _mean(em), "f1": _mean(f1)}


# ------------------------------------------------------------------------------------------ classification
def accuracy(golds: Sequence[Hashable], preds: Sequence[Hashable]) -> float:
    if len(golds) != len(preds):
        raise TandemError(f"accuracy: {len(golds)} labels but {len(preds)} predictions")
    return _mean([float(g == p) for g, p in zip(golds, preds)])


def _f1_for(golds: Sequence[Hashable], preds: Sequence[Hashable], label: Hashable) -> float:
    tp = sum(g == label and p == label for g, p in zip(golds, preds))
    fp = sum(g != label and p == label for g, p in zip(golds, preds))
    fn = sum(g == label and p != label for g, p in zip(golds, preds))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def macro_f1(
    golds: Sequence[Hashable], preds: Sequence[Hashable], labels: Sequence[Hashable] | None = None
) -> float:
    """Unweighted mean of per-class F1 over `labels` (default: every class seen in golds or predictions)."""
    if len(golds) != len(preds):
        raise TandemError(f"macro_f1: {len(golds)} labels but {len(preds)} predictions")
    labels = list(labels) if labels is not None else sorted(set(golds) | set(preds), key=str)
    if not labels:
        return 0.0
    return 100.0 * sum(_f1_for(golds, preds, c) for c in labels) / len(labels)


def binary_f1(golds: Sequence[int], preds: Sequence[int]) -> float:
    """F1 of the positive class (label 1)."""
    return 100.0 * _f1_for(list(golds), list(preds), 1)


def multirc(
    question_ids: Sequence[Hashable],
    golds: Sequence[int],
    preds: Sequence[int],
    num_options: Mapping[Hashable, int] | None = None,
) -> dict[str, float | None]:
    """MultiRC F1a (binary F1 over the answer options given) and EM (share of questions with every option right).

    `num_options[q]`: how many options question q has in the task. A question given fewer (an option skipped
    or without a prediction) is left out of EM, as a missing example is left out of any score, not scored
    on the options it has (all right there made it an exact question); `em_left_out_total` counts those
    questions when there are any. With no question whole, EM is None (no score; `tandem evaluate` writes null
    in metrics.json and n/a in its table), not 0. F1a is over the options given, missing ones left out.
    """
    if not (len(question_ids) == len(golds) == len(preds)):
        raise TandemError("multirc: question_ids, golds and preds must have the same length")
    per_q: dict[Hashable, bool] = {}
    seen: collections.Counter[Hashable] = collections.Counter()
    for q, g, p in zip(question_ids, golds, preds):
        per_q[q] = per_q.get(q, True) and g == p
        seen[q] += 1
    whole = [q for q in per_q if seen[q] >= (num_options or {}).get(q, 0)]
    em = _mean([float(per_q[q]) for q in whole]) if whole else None
    out: dict[str, float | None] = {"f1a": binary_f1(golds, preds), "em": em}
    if len(whole) < len(per_q):
        out["em_left_out_total"] = float(len(per_q) - len(whole))
    return out


# ------------------------------------------------------------------------------------------------ generation
_CHINESE = {"cmn": "zh", "yue": "zh"}  # Mandarin and Cantonese, written in Chinese characters


@functools.cache
def _tokenizer_available(name: str) -> bool:
    from sacrebleu.metrics import BLEU

    try:
        BLEU(tokenize=name)
    except (
        ImportError,
        RuntimeError,
    ):  # sacreBLEU raises RuntimeError when MeCab or its dictionary is absent
        return False
    return True


def bleu_tokenizer(lang: str) -> str:
    """sacreBLEU's tokenizer for a target language given as a FLORES code (`jpn_Jpan`) or ISO 639-1 (`ja`).

    13a splits words at spaces and punctuation, so on Chinese, Japanese or Korean a whole sentence is one
    "word" and BLEU is near zero whatever the output; these get sacreBLEU's own choices instead (zh,
    ja-mecab, ko-mecab), and character-level `char` where MeCab is not installed.
    """
    iso = lang.split("_")[0].split("-")[0].lower()
    iso = _CHINESE.get(iso) or TWO_LETTER.get(iso, iso)
    if iso == "zh":
        return "zh"
    if iso in ("ja", "ko"):
        return f"{iso}-mecab" if _tokenizer_available(f"{iso}-mecab") else "char"
    return "13a"


def sacrebleu_signatures(tokenize: str = "13a", nrefs: int = 1) -> dict[str, str]:
    """The sacreBLEU signature strings of `bleu` (with `tokenize`) and `chrf_pp`, to report with the scores."""
    from sacrebleu.metrics import BLEU, CHRF

    out = {}
    for name, metric in (("bleu", BLEU(tokenize=tokenize)), ("chrf++", CHRF(word_order=2))):
        metric.corpus_score(["x"], [["x"]] * nrefs)  # a signature's nrefs is only known after scoring
        out[name] = f"sacreBLEU {metric.get_signature()}"
    return out


def bleu(
    hyps: Sequence[str], refs: Sequence[str] | Sequence[Sequence[str]], tokenize: str | None = None
) -> float:
    """Corpus BLEU from sacreBLEU (its default 13a tokenisation unless `tokenize` is given)."""
    import sacrebleu

    ref_streams = _ref_streams(hyps, refs)
    kw = {"tokenize": tokenize} if tokenize else {}
    return float(sacrebleu.corpus_bleu(list(hyps), ref_streams, **kw).score)


def chrf_pp(hyps: Sequence[str], refs: Sequence[str] | Sequence[Sequence[str]]) -> float:
    """Corpus chrF++ (character 6-grams plus word bigrams, beta 2) from sacreBLEU."""
    from sacrebleu.metrics import CHRF

    return float(CHRF(word_order=2).corpus_score(list(hyps), _ref_streams(hyps, refs)).score)


def load_spm(spm_path: str):
    """The SentencePiece model of spBLEU, or a TandemError naming the path (call it early to fail before a run)."""
    import sentencepiece as spm

    try:
        return spm.SentencePieceProcessor(model_file=str(spm_path))
    except (OSError, RuntimeError) as e:
        raise TandemError(f"spBLEU: cannot load SentencePiece model {spm_path}: {e}") from e


def spbleu(hyps: Sequence[str], refs: Sequence[str] | Sequence[Sequence[str]], spm_path: str) -> float:
    """spBLEU: BLEU over the pieces of the FLORES SentencePiece model at `spm_path` (no further tokenisation)."""
    sp = load_spm(spm_path)

    def pieces(s: str) -> str:  # sacreBLEU strips trailing whitespace before its flores200 tokenizer runs
        return " ".join(sp.encode(s.rstrip(), out_type=str))

    streams = [[pieces(r) for r in stream] for stream in _ref_streams(hyps, refs)]
    return bleu([pieces(h) for h in hyps], [list(s) for s in zip(*streams)], tokenize="none")


def _ref_streams(hyps: Sequence[str], refs) -> list[list[str]]:
    """sacreBLEU wants one list per reference set; accept one string or a list of strings per hypothesis."""
    if len(hyps) != len(refs):
        raise TandemError(f"{len(hyps)} hypotheses but {len(refs)} references")
    per_hyp = [[r] if isinstance(r, str) else list(r) for r in refs]
    for i, r in enumerate(per_hyp):
        if not r or not all(isinstance(x, str) for x in r):
            raise TandemError(
                f"hypothesis {i}: references must be a string or a non-empty list of strings, got {r!r:.60}"
            )
    n = max((len(r) for r in per_hyp), default=1)
    # hypotheses with fewer references repeat their last one (sacreBLEU needs rectangular streams)
    return [[r[min(j, len(r) - 1)] for r in per_hyp] for j in range(n)]


_JOINERS = frozenset("\u200c\u200d")  # zero-width (non-)joiner: inside words in Indic scripts and Persian


def _word_char(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch)[0] == "M" or ch in _JOINERS


class _UnicodeTokenizer:
    """rouge-score's default tokenizer drops every non a-z0-9 character; this keeps the words of any script:
    NFKC, lower case, then runs of letters, digits and combining marks (`\\w` alone would split Devanagari,
    Tamil or Telugu words at every vowel sign and virama: "हिन्दी" into "ह", "न", "द"). Scripts written
    without spaces between words (Chinese, Japanese, Thai) come out as one token per run of text."""

    def tokenize(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).lower()
        return "".join(ch if _word_char(ch) else " " for ch in text).split()


def rouge(
    hyps: Sequence[str], refs: Sequence[str] | Sequence[Sequence[str]], lang: str = "en"
) -> dict[str, float]:
    """Mean ROUGE-1/2/L and ROUGE-Lsum F-measure (rouge-score; Porter stemming for English, a Unicode
    tokenizer otherwise).

    rougeL is the LCS of the whole texts; rougeLsum is rouge-score's summary-level LCS (the union LCS of each
    reference sentence with every hypothesis sentence), sentences being the lines of the text, as the
    package splits them (no sentence splitter runs: texts without newlines get rougeLsum == rougeL).
    """
    from rouge_score import rouge_scorer

    if len(hyps) != len(refs):
        raise TandemError(f"rouge: {len(hyps)} hypotheses but {len(refs)} references")
    keys = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    if lang == "en":
        scorer = rouge_scorer.RougeScorer(keys, use_stemmer=True)
    else:
        scorer = rouge_scorer.RougeScorer(keys, use_stemmer=False, tokenizer=_UnicodeTokenizer())
    tot = dict.fromkeys(keys, 0.0)
    for h, r in zip(hyps, refs):
        scores = scorer.score(r, h) if isinstance(r, str) else scorer.score_multi(list(r), h)
        for k in keys:
            tot[k] += scores[k].fmeasure
    n = max(len(hyps), 1)
    return {k: 100.0 * v / n for k, v in tot.items()}
