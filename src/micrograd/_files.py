"""Writing files so that a crash never leaves one half-written."""

from __future__ import annotations

import errno
import os
import secrets
import stat


def output_folder(out: str | os.PathLike, what: str) -> str:
    """Make the folder ``out`` (and its parents) for ``what`` a command writes; ``ValueError`` if
    ``out`` is a file. Called before long work, so that a bad folder fails at once."""
    folder = os.fspath(out)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"out: {folder!r} is a file, not a folder for {what}")
    os.makedirs(folder, exist_ok=True)
    return folder


def write_atomically(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` whole or not at all: via a temporary file in the same folder,
    ``fsync`` and ``os.replace``.

    It behaves like ``open(path, "w")`` where that is safe: a symbolic link is written through (its
    target gets the new contents, the link stays a link), an existing file keeps its permission
    bits, and a read-only file is refused with ``PermissionError`` rather than replaced, even for
    root. An error part-way (even KeyboardInterrupt) leaves any previous file untouched and removes
    the temporary one. Every ``OSError`` names ``path``, with its own type and errno, never the
    temporary file. Text is written as UTF-8.
    """
    target = os.fspath(path)
    real = os.path.realpath(target)  # the file a symbolic link points at: replace that, not the link
    # A short random name: "." + the user's name + a suffix could exceed the 255-byte limit on names.
    temporary = os.path.join(os.path.dirname(real), f".micrograd-{secrets.token_hex(8)}.tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        try:
            mode = stat.S_IMODE(os.stat(real).st_mode)
        except FileNotFoundError:
            mode = None  # a new file: the usual permissions from the umask, not mkstemp's 0600
        if mode is not None and not (mode & 0o222 and os.access(real, os.W_OK)):
            # os.access alone says yes to root; the missing write bits say the owner meant "keep".
            raise PermissionError(errno.EACCES, "Permission denied (the file is read-only)", real)
        with open(temporary, "xb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, real)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        if isinstance(error, OSError) and {error.filename, error.filename2} & {temporary, real}:
            # The temporary or resolved name means little to the caller: name the path they gave.
            raise type(error)(error.errno, error.strerror, target) from None
        raise
