"""Embed: text -> unit vectors, with the packaged MiniLM model (or another local model)."""

from .encoder import Embedder, resolve_model_path

__all__ = ["Embedder", "resolve_model_path"]
