"""Answer: retrieve -> read (score evidence sentences, abstain) -> compose -> optional LLM + verification.

``retrieve`` fuses dense and BM25 passages; ``reader`` scores candidate sentences with the learned
scorer and decides to abstain; ``extractive`` composes the cited answer; ``llm`` and ``verify``
are the LLM path; ``conversation`` resolves follow-ups; ``assistant`` ties them together.
"""

from .assistant import Assistant, answer_to_dict

__all__ = ["Assistant", "answer_to_dict"]
