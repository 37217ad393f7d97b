"""Writing files so that a crash never leaves one half-written."""

from __future__ import annotations

import os
import secrets


def output_folder(out: str | os.PathLike, what: str) -> str:
    """Make the folder ``out`` (and its parents) for ``what`` a command writes; ``ValueError`` if
    ``out`` is a file. Called before long work, so that a bad folder fails at once."""
    folder = os.fspath(out)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"out: {folder!r} is a file, not a folder for {what}")
    os.makedirs(folder, exist_ok=True)
    return folder


def write_atomically(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` via a temporary file in the same folder and ``os.replace``: whole or not at all.

    An error part-way (even KeyboardInterrupt) leaves any previous file untouched and removes the
    temporary one. An ``OSError`` (a missing folder, no permission) names ``path``, with its own type
    and errno, not the temporary file. Text is written as UTF-8.
    """
    target = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(target))
    # open(..., "xb") rather than mkstemp: the file gets the usual permissions (umask), not 0600.
    temporary = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(temporary, "xb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        if isinstance(error, OSError) and temporary in (error.filename, error.filename2):
            # The hidden temporary name means nothing to the caller: name the file they asked for.
            raise type(error)(error.errno, error.strerror, target) from None
        raise
