"""``chainrule playground``: a local web page that shows backpropagation on the real engine.

The engine stays in Python: the server (``app.py``) trains chainrule networks and
computes everything the page draws; the page (``static/``) only draws it.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["allowed_hosts", "create_app", "serve"]


def serve(
    data: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    open_browser: bool = True,
    allow_remote: bool = False,
) -> None:
    """Start the playground's server (blocks until Ctrl-C).

    Parameters
    ----------
    data : str, optional
        A bundled dataset name or a CSV path, loaded once here (the only path the
        server ever reads) and offered on the page as "file".
    host, port : where to listen; only 127.0.0.1 unless ``host`` says otherwise.
    open_browser : open the page in the default browser once the server is up.
    allow_remote : let ``host`` be an address other machines can reach (refused otherwise).
    """
    import threading
    import webbrowser

    import uvicorn

    hosts = allowed_hosts(host, allow_remote)
    tables = {}
    if data is not None:
        from ..datasets.tables import load_table
        from .data import table_data

        tables["file"] = load_table(data, decimal=None)  # as `chainrule train` reads it
        table_data(tables["file"], "pca", 0.5, 0)  # refuse now what the page could not show
    _check_port(host, port)
    app = create_app(tables, allowed_hosts=hosts)
    url = f"http://{'localhost' if is_loopback(host) else host}:{port}/"
    print(f"chainrule playground: {url}  (Ctrl-C stops it)", flush=True)
    if not is_loopback(host):
        print(
            f"chainrule playground: listening on {host}:{port} -- anyone who can reach this "
            "machine on that port can use the playground (no password), train networks on "
            f"its CPU and read any table offered with --data; it answers to the names "
            f"{', '.join(hosts)}",
            flush=True,
        )
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")


LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address to listen on) is this machine only."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, allow_remote: bool = False) -> list[str]:
    """The Host names the server answers to when it listens on ``host`` (any other Host
    is refused, so that a web page elsewhere cannot reach it through DNS rebinding).

    Loopback names always; ``host`` itself; for a wildcard address (``0.0.0.0``, ``::``)
    this machine's name and addresses. ``host`` beyond loopback needs ``allow_remote``.
    """
    import socket

    if not is_loopback(host) and not allow_remote:
        raise ValueError(
            f"--host {host} would let other machines reach the playground; pass "
            "--allow-remote as well if that is what you want (it has no password)."
        )
    names = list(LOOPBACK_NAMES)
    bare = host.strip("[]")
    if bare in ("0.0.0.0", "::"):
        name = socket.gethostname()
        names += [name, socket.getfqdn()]
        try:
            names += [info[4][0] for info in socket.getaddrinfo(name, None)]
        except OSError:
            pass
    else:
        names.append(f"[{bare}]" if ":" in bare else bare)
    return list(dict.fromkeys(names))


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
