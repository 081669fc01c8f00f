"""In-context prompting for encoder-decoder LMs: templates, k-shot selection, rank scoring, generation."""

from tandem.prompting.selection import select_demonstrations
from tandem.prompting.templates import DELIMITERS, FittedPrompt, PromptFormat, build_prompt, fit_prompt

__all__ = [
    "DELIMITERS",
    "FittedPrompt",
    "PromptFormat",
    "build_prompt",
    "fit_prompt",
    "select_demonstrations",
]
