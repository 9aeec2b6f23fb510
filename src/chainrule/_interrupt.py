"""Ctrl-C in the ``chainrule`` command: one line on stderr and status 130, at any moment.

Python's own ``KeyboardInterrupt`` leaves three gaps, each found by sending SIGINT to
the command at random moments (``tests/test_interrupt_any_moment.py``):

- **before the command's ``main`` runs** (the imports, about 0.3 s, or longer on a
  loaded machine) it prints a traceback;
- **raised inside a finaliser** (a ``__del__`` or a weakref callback: a progress bar's,
  a temporary file's, run by the garbage collector between any two lines) it is printed
  as "Exception ignored" and lost: the run goes on, publishes its files and exits 0;
- **caught by a library** on its way out (the estimators turn Ctrl-C into a
  ``TrainingInterrupted`` warning and return, as scikit-learn's do), it is up to every
  caller to turn it back.

So, when this process *is* the command (``chainrule ...`` or ``python -m chainrule
...``), importing this module (``chainrule/__init__.py``'s first line) calls
:func:`install_at_startup`: until ``main``
takes over, SIGINT prints the line and ends the process at once (nothing has been
written yet). ``main`` then calls :func:`install`: SIGINT is *recorded*, then raised as
``KeyboardInterrupt``. A lost exception cannot lose the record, and the command checks
it (:func:`check`) after each fit, and at the one moment its work becomes visible
(:func:`commit`: after the last move of a publication, before the predictions file's
replace), raising ``KeyboardInterrupt`` again there; "Exception ignored" reports of a
recorded interrupt are not printed. After that moment Ctrl-C is ignored: the files are
in place, and the run ends as a finished one.
"""

from __future__ import annotations

import os
import signal
import sys

#: set by the command's handler when SIGINT arrives (cleared by :func:`install`)
_interrupted = False


def message(command: str) -> str:
    """The one line printed for an interrupted ``chainrule COMMAND``."""
    who = f"chainrule {command}" if command else "chainrule"
    return f"{who}: interrupted (Ctrl-C); nothing was written and existing files are as they were."


def _is_the_command() -> bool:
    """True when this process was started as ``chainrule ...`` or ``python -m chainrule``."""
    argv = getattr(sys, "orig_argv", sys.argv)
    if "-m" in argv[:-1] and argv[argv.index("-m") + 1] == "chainrule":
        return True
    return os.path.basename(sys.argv[0] if sys.argv else "") in ("chainrule", "chainrule.exe")


def _set(handler) -> bool:
    """Handle SIGINT with ``handler``; False in a thread other than the main one (which
    alone may set handlers, and alone receives them)."""
    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:
        return False
    return True


def _at_startup(signum, frame) -> None:
    """SIGINT before ``main`` runs: the line, and exit 130 now (nothing is written yet)."""
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
    os.write(2, (message(command) + "\n").encode())
    os._exit(130)


def install_at_startup() -> None:
    """In the command's own process, and only there, handle SIGINT as :func:`_at_startup`
    until :func:`install` replaces it."""
    if _is_the_command() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        _set(_at_startup)


def _recording(signum, frame) -> None:
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def _quiet_unraisable(hook):
    def unraisable(info) -> None:
        if _interrupted and isinstance(info.exc_value, KeyboardInterrupt):
            return  # recorded: the command reports it once, as its one line
        hook(info)

    return unraisable


def install():
    """Record every SIGINT from now on (the command's ``main``; main thread only).

    Returns what :func:`restore` needs to put the previous handlers back (None when
    nothing was changed: another thread, or a handler of the caller's own)."""
    global _interrupted
    previous = signal.getsignal(signal.SIGINT)
    if previous not in (signal.default_int_handler, _at_startup, _ignored):
        return None
    _interrupted = False
    if not _set(_recording):
        return None
    hook = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable(hook)
    return previous, hook


def restore(saved, code: int | None) -> None:
    """Put back the handlers :func:`install` replaced (``saved`` is what it returned);
    ``code`` is the command's exit status (None: it raised).

    In the command's own process its outcome is decided, so it ends here with ``code``
    (``os._exit`` after flushing stdout and stderr; every file is closed by then).
    Left to the interpreter, a Ctrl-C while it finalises modules (a few hundred ms
    after a run that imported matplotlib), when CPython has put SIGINT's default
    action back, ended a finished run by the signal (status -2); and an interrupted
    run that came through an import could end the same way."""
    if saved is None:
        return
    previous, hook = saved
    _set(_ignored if previous is _at_startup else previous)
    sys.unraisablehook = hook
    if previous is _at_startup and isinstance(code, int):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


def interrupted() -> bool:
    """Whether SIGINT arrived since :func:`install` (even if its exception was lost)."""
    return _interrupted


def _ignored(signum, frame) -> None:
    """SIGINT after :func:`commit`: the run's files are in place; it stops nothing."""


def commit() -> None:
    """The last moment an interrupt can undo the command's work: raise
    ``KeyboardInterrupt`` if SIGINT arrived, and from now on ignore it (the files are
    in place, so the run ends as a finished one, status 0). The handler is switched
    before the record is read, so an interrupt is either seen here or ignored."""
    if signal.getsignal(signal.SIGINT) is _recording:
        _set(_ignored)
    check()


def check() -> None:
    """Raise ``KeyboardInterrupt`` if SIGINT arrived, whatever became of its exception."""
    if _interrupted:
        raise KeyboardInterrupt


install_at_startup()  # on import: ``chainrule/__init__.py`` imports this module first
