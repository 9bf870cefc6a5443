"""How the page is served: address, login, theme and limits for ``demo.launch``.

Plain functions of the settings; ``WebApp.launch_options`` gathers them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr

from ..errors import RagError
from ..settings import Settings
from .guard import LoginRequired, LoginThrottle, warn_if_readable_by_others

log = logging.getLogger("rag.web.app")


def launch_options(settings: Settings, sessions_kept: int) -> dict:
    """Arguments for ``demo.launch``: address and login from the settings, upload size limit,
    theme, sessions kept; no monitoring page, no FastAPI schema page; with a login, Gradio's
    routes that skip its login check are closed (``LoginRequired``). Warns when the page is
    open to the network without a login."""
    accounts = auth_accounts(settings)
    if accounts is None and not is_loopback(settings.host):
        log.warning(
            "serving on %s without a login: anyone who can reach it can ask and upload. "
            "Set RAG_AUTH_USER and RAG_AUTH_PASSWORD (or RAG_AUTH_FILE)",
            settings.host,
        )
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "max_file_size": f"{settings.upload_max_mb:g}mb",
        "theme": theme(),
        "state_session_capacity": sessions_kept,
        "footer_links": ["api"],
        "auth": accounts,
        "enable_monitoring": False,
        "auth_message": "Sign in to ask the articles." if accounts else None,
        "app_kwargs": {
            "openapi_url": None,
            **({"middleware": [_middleware(LoginThrottle), _middleware(LoginRequired)]} if accounts else {}),
        },
    }


def check_port(host: str, port: int) -> None:
    """Refuse to start, in words, when another program already listens on ``host:port``."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself will
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise RagError(f"port {port} is in use; set RAG_PORT or pass --port") from None
            raise RagError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); set RAG_HOST and RAG_PORT "
                "(or pass --host and --port) to an address of this computer"
            ) from None


def _middleware(cls):
    from starlette.middleware import Middleware

    return Middleware(cls)


def auth_accounts(settings: Settings) -> list[tuple[str, str]] | None:
    """(user, password) pairs from RAG_AUTH_USER/RAG_AUTH_PASSWORD and RAG_AUTH_FILE; None: no login."""
    accounts = []
    if bool(settings.auth_user) != bool(settings.auth_password):
        raise RagError(
            "RAG_AUTH_USER and RAG_AUTH_PASSWORD go together: set both to require a login, or neither"
        )
    if settings.auth_user:
        accounts.append((settings.auth_user, settings.auth_password))
    if settings.auth_file:
        accounts += _read_auth_file(Path(settings.auth_file).expanduser())
    return accounts or None


def _read_auth_file(path: Path) -> list[tuple[str, str]]:
    warn_if_readable_by_others(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RagError(f"cannot read the login file {path} ({exc}); fix RAG_AUTH_FILE") from None
    accounts = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user.strip() or not password:
            raise RagError(f'{path} line {number} is not "user:password"; fix or remove it')
        accounts.append((user.strip(), password))
    if not accounts:
        raise RagError(
            f'the login file {path} holds no "user:password" lines; add one or unset RAG_AUTH_FILE'
        )
    return accounts


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def theme():
    """Gradio's default look with the computer's own fonts (no font downloads: works offline)."""
    return gr.themes.Default(
        primary_hue="indigo",
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "monospace"],
    )
