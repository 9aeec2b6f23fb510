"""``chainrule playground``: a local web page that shows backpropagation on the real engine.

The engine stays in Python: the server (``app.py``) trains chainrule networks and
computes everything the page draws; the page (``static/``) only draws it.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app", "serve"]


def serve(
    data: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    open_browser: bool = True,
) -> None:
    """Start the playground's server (blocks until Ctrl-C).

    Parameters
    ----------
    data : str, optional
        A bundled dataset name or a CSV path, loaded once here (the only path the
        server ever reads) and offered on the page as "file".
    host, port : where to listen; only 127.0.0.1 unless ``host`` says otherwise.
    open_browser : open the page in the default browser once the server is up.
    """
    import threading
    import webbrowser

    import uvicorn

    tables = {}
    if data is not None:
        from ..datasets.tables import load_table
        from .data import table_data

        tables["file"] = load_table(data, decimal=None)  # as `chainrule train` reads it
        table_data(tables["file"], "pca", 0.5, 0)  # refuse now what the page could not show
    _check_port(host, port)
    loopback = host in ("127.0.0.1", "localhost", "::1")
    app = create_app(
        tables, allowed_hosts=["127.0.0.1", "localhost", "[::1]"] if loopback else None
    )
    url = f"http://{'localhost' if host in ('127.0.0.1', '::1') else host}:{port}/"
    print(f"chainrule playground: {url}  (Ctrl-C stops it)", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _check_port(host: str, port: int) -> None:
    """Refuse, with a clear message, a host and port that cannot be listened on."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        raise OSError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another port "
            "with --port (or another --host)"
        ) from None
