"""File access of host programs: confined paths, formats by extension, atomic writes.

A program may read and write only under its own folder, the working directory and folders
given with ``--allow-path``; relative paths resolve against the program's folder, and
symbolic links are resolved before the check, so a link cannot lead outside.
"""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import numpy as np

from pxos.atomic_write import open_folder, write_atomic, write_in
from pxos.errors import PxFileError
from pxos.span import Span
from pxos.ir.types import Scalar, scalar_of_dtype

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
_WRITE_FORMAT = {".png": "PNG", ".bmp": "BMP", ".jpg": "JPEG", ".jpeg": "JPEG"}


class FileAccess:
    """Resolves and checks the paths of one program run.

    Args:
        program_dir: the folder of the `.px` file; relative paths resolve against it.
        allowed: extra folders (``--allow-path``); the program's folder and the working
            directory are always allowed.
    """

    def __init__(self, program_dir: Path, allowed: list[Path] | None = None):
        self.base = Path(program_dir).resolve()
        self.roots = [self.base, Path.cwd().resolve()] + [Path(p).resolve()
                                                          for p in allowed or []]

    def resolve(self, path: str, span: Span | None) -> Path:
        """The absolute path of ``path``.

        Raises:
            PxFileError: the path leads outside every allowed folder, holds a NUL
                character, or runs into a symbolic link loop.
        """
        if "\x00" in path:
            raise PxFileError(f"{path!r} holds a NUL character, which no path may hold", span)
        try:
            full = (self.base / Path(path).expanduser()).resolve()
            _no_loop(full)
        except (OSError, RuntimeError) as err:  # RuntimeError: a symbolic link loop
            raise PxFileError(f"cannot follow {path!r}: {_why(err)}", span) from None
        if not any(full == root or full.is_relative_to(root) for root in self.roots):
            raise PxFileError(
                f"{path!r} is outside the folders this program may use "
                f"({', '.join(str(r) for r in self.roots)})", span,
                "pass --allow-path DIR to allow another folder")
        return full

    def read(self, path: str, as_type: Scalar | None, span: Span | None) -> np.ndarray:
        """Read an array: ``.npy`` as stored, images as ``u8`` h × w × c, anything else as
        raw bytes of ``as_type`` (default ``u8``).

        Raises:
            PxFileError: missing or unreadable file, unknown dtype, size not a multiple of
                the element size.
        """
        full = self.resolve(path, span)
        try:
            is_file = full.is_file()
        except OSError as err:  # a name too long, say
            raise PxFileError(f"cannot read {path!r}: {_why(err)}", span) from None
        if not is_file:
            raise PxFileError(f"no such file: {full}", span)
        ext = full.suffix.lower()
        try:
            if ext == ".npy":
                arr = np.load(full, allow_pickle=False)
                if scalar_of_dtype(arr.dtype) is None:
                    raise PxFileError(f"{path!r} holds {arr.dtype} data, which .px has no "
                                      "type for", span)
                if as_type is not None and arr.dtype != as_type.dtype:
                    arr = arr.astype(as_type.dtype)
            elif ext in IMAGE_EXTENSIONS:
                from PIL import Image

                with Image.open(full) as im:
                    if im.mode not in ("L", "RGB", "RGBA"):
                        im = im.convert("RGBA" if "A" in im.getbands() else "RGB")
                    arr = np.asarray(im)
                if arr.ndim == 2:
                    arr = arr[:, :, None]
            else:
                dtype = (as_type.dtype if as_type else np.dtype(np.uint8))
                data = full.read_bytes()
                if len(data) % dtype.itemsize:
                    raise PxFileError(f"{path!r} has {len(data)} bytes, not a multiple of "
                                      f"{dtype.itemsize} ({as_type})", span)
                arr = np.frombuffer(data, dtype=dtype)
        except PxFileError:
            raise
        except Exception as err:  # a corrupt file: Pillow and NumPy raise many kinds
            raise PxFileError(f"cannot read {path!r}: {err}", span) from None
        return np.ascontiguousarray(arr).copy()

    def peek(self, path: str, as_type: Scalar | None) -> tuple[tuple[int, ...], np.dtype] | None:
        """The shape and dtype :meth:`read` would give, from the file's header only (for
        planning before a run); None if the file cannot be read now."""
        try:
            full = self.resolve(path, None)
            ext = full.suffix.lower()
            if ext == ".npy":
                arr = np.load(full, mmap_mode="r", allow_pickle=False)
                return arr.shape, (as_type.dtype if as_type else arr.dtype)
            if ext in IMAGE_EXTENSIONS:
                from PIL import Image

                with Image.open(full) as im:
                    bands = 1 if im.mode == "L" else 4 if "A" in im.getbands() else 3
                    return (im.height, im.width, bands), np.dtype(np.uint8)
            dtype = as_type.dtype if as_type else np.dtype(np.uint8)
            return (full.stat().st_size // dtype.itemsize,), dtype
        except Exception:  # missing, outside the allowed folders, corrupt: known at run time
            return None

    def write(self, arr: np.ndarray, path: str, span: Span | None) -> Path:
        """Write ``arr`` atomically, in the format of the extension; return the path.

        The folder is opened once, component by component without following links, and
        the file is written and renamed relative to it, so a folder replaced by a link
        after the check cannot receive it; the file gets the umask's permissions.

        Raises:
            PxFileError: ``path`` names a folder (``"."``, ``""``), the folder cannot be
                created, the disk is full or read-only, the name is too long, or the
                array cannot be an image.
        """
        full = self.resolve(path, span)
        if not path.strip() or path.endswith(("/", os.sep)) or _is_folder(full):
            raise PxFileError(f"WRITE_FILE needs a file name; {path!r} is a folder", span,
                              'name the file, e.g. "out/result.npy"')
        ext = full.suffix.lower()
        buf = io.BytesIO()
        if ext == ".npy":
            np.save(buf, arr, allow_pickle=False)
        elif ext in _WRITE_FORMAT:
            buf.write(_encode_image(arr, _WRITE_FORMAT[ext], path, span))
        else:
            buf.write(np.ascontiguousarray(arr).tobytes())
        try:  # the folder opened once, without following links: see pxos/atomic_write
            folder = open_folder(full.parent)
            try:
                write_in(folder, full.name, buf.getbuffer())
            finally:
                os.close(folder)
        except OSError as err:
            raise PxFileError(f"cannot write {path!r}: {_why(err)}", span) from None
        return full


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long: the write says so
        return False


def _no_loop(full: Path) -> None:
    """Raise ``RuntimeError`` where resolved path ``full`` still runs into a symbolic link
    loop: ``Path.resolve`` raises for one up to Python 3.12, and from 3.13 leaves the loop
    in the path, which only the system's answer (``ELOOP``) then shows."""
    try:
        os.stat(full)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise RuntimeError("symbolic link loop") from None


def _why(err: Exception) -> str:
    """A short reason for a failed file operation."""
    if isinstance(err, RuntimeError) or getattr(err, "errno", None) == errno.ELOOP:
        return ("a symbolic link loop, or a folder replaced by a link while writing"
                if isinstance(err, OSError) else "a symbolic link loop")
    return {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
            errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
            errno.EPERM: "permission denied", errno.EISDIR: "it is a folder",
            errno.ENOTDIR: "a part of the path is not a folder",
            errno.ENAMETOOLONG: "the name is too long"}.get(
        getattr(err, "errno", None), getattr(err, "strerror", None) or str(err))


def write_output(path: Path, data: bytes) -> None:
    """Write a file the user named on the command line (``pxos compile -o``), atomically.

    Raises:
        PxFileError: it cannot be written (a folder, a full disk, a read-only folder …).
    """
    try:
        if _is_folder(Path(path)):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
        write_atomic(Path(path).absolute(), data)
    except OSError as err:
        raise PxFileError(f"cannot write {str(path)!r}: {_why(err)}") from None


def _encode_image(arr: np.ndarray, fmt: str, path: str, span) -> bytes:
    from PIL import Image

    if arr.dtype != np.uint8:
        raise PxFileError(f"an image must be u8; {path!r} would get {arr.dtype} data", span,
                          "convert in a kernel (CAST x u8) before WRITE_FILE")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or arr.ndim == 3 and arr.shape[2] in (3, 4)):
        raise PxFileError(f"an image must be h × w or h × w × c with c = 1, 3 or 4; got "
                          f"shape {arr.shape}", span)
    if fmt == "JPEG" and arr.ndim == 3 and arr.shape[2] == 4:
        raise PxFileError("JPEG has no alpha channel; write .png instead", span)
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr)).save(out, format=fmt)
    return out.getvalue()
