"""tandem.edge: the torch-free CPU runtime (CTranslate2 + SentencePiece) for exported students.

    from tandem.edge import EdgeModel
    m = EdgeModel.load("student-int8/")            # made by `tandem export MODEL --format ct2`
    m.generate("[CLM] Sentence: hello; Translation in French:", stop=[";"])
    m.rank("is it raining? Answer:", [" yes", " no"]).best
    m.parse("wake me up at seven am")               # {"intent": ..., "slots": [...]}; tags via labels.json

Importing this package never imports torch.
"""

from tandem.edge.runtime import ChoiceScores, EdgeModel, Generation, cut_at_stop, parse_output
from tandem.edge.trim import TrimReport, remove_trimming, trim_vocabulary
from tandem.slu import SLULabels

__all__ = [
    "ChoiceScores",
    "EdgeModel",
    "Generation",
    "SLULabels",
    "TrimReport",
    "cut_at_stop",
    "parse_output",
    "remove_trimming",
    "trim_vocabulary",
]
