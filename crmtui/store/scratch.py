"""Files without names: where a backup's plaintext lives while it is made, checked or restored.

A backup is written, checked and restored through files that have no name in any directory
until they are complete: `O_TMPFILE` makes a file that vanishes when its process ends, even
by `kill -9`, so no plaintext copy of the customer list can be left behind in a temporary
directory, and no half-written backup under its final name. SQLite opens files by name, so
`FdVFS` lets it open such a file through its descriptor.

On a filesystem without `O_TMPFILE` (NFS, CIFS: a mounted off-site disk), a scratch file is
made with a name and unlinked at once (still gone after a crash), and a file to be published
is written under a hidden `.NAME.partial` name and renamed when complete.
"""

import contextlib
import errno
import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw

_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new name in `directory` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _tmpfile(directory: Path) -> int | None:
    try:
        return os.open(directory, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno not in _NO_TMPFILE:
            raise
        return None


def scratch_file(directory: Path) -> int:
    """A descriptor of a new, empty file with no name in `directory`, for the owner only."""
    fd = _tmpfile(directory)
    if fd is not None:
        return fd
    fd, name = tempfile.mkstemp(dir=directory, prefix=".crmtui-", suffix=".scratch")
    os.unlink(name)
    return fd


class PendingFile:
    """A file (owner-only) that appears under `final` only once `publish()` has run: written
    nameless where the filesystem allows it, so a crash leaves nothing behind."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.temp: Path | None = None
        fd = _tmpfile(final.parent)
        if fd is None:
            self.temp = final.with_name(f".{final.name}.partial")
            fd = os.open(self.temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self.fd = fd

    def publish(self) -> None:
        """Sync the file, then give it its final name (never replacing a file there)."""
        os.fsync(self.fd)
        if self.temp is None:
            # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N names the nameless file; os.link
            # calls that only with a dir_fd (without, it links the /proc entry itself: EXDEV).
            proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.link(str(self.fd), self.final, src_dir_fd=proc, follow_symlinks=True)
            finally:
                os.close(proc)
        else:
            if self.final.exists():
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(self.final))
            os.rename(self.temp, self.final)
            self.temp = None
        fsync_directory(self.final.parent)

    def close(self) -> None:
        """Close the file; unpublished, it is gone."""
        os.close(self.fd)
        if self.temp is not None:
            with contextlib.suppress(FileNotFoundError):
                self.temp.unlink()


class _FdFile:
    """A SQLite file backed by a descriptor this process owns alone (so locks are moot)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def xRead(self, amount: int, offset: int) -> bytes:
        # A short read is what SQLite expects past the end; APSW fills the rest with zeros.
        return os.pread(self.fd, amount, offset)

    def xWrite(self, data: bytes, offset: int) -> None:
        # Called for every page of a backup: one system call, and a loop only for a short one.
        written = os.pwrite(self.fd, data, offset)
        while written < len(data):
            written += os.pwrite(self.fd, memoryview(data)[written:], offset + written)

    def xTruncate(self, size: int) -> None:
        os.ftruncate(self.fd, size)

    def xSync(self, flags: int) -> None:
        pass  # the owner syncs once, when the file is complete

    def xFileSize(self) -> int:
        return os.fstat(self.fd).st_size

    def xLock(self, level: int) -> None:
        pass

    def xUnlock(self, level: int) -> None:
        pass

    def xCheckReservedLock(self) -> bool:
        return False

    def xFileControl(self, op: int, ptr: int) -> bool:
        return False

    def xSectorSize(self) -> int:
        return 4096

    def xDeviceCharacteristics(self) -> int:
        return 0

    def xClose(self) -> None:
        pass  # the descriptor belongs to whoever registered it


class FdVFS(apsw.VFS):
    """A VFS that opens registered names as descriptors and passes anything else on."""

    name = "crmtui-fd"

    def __init__(self) -> None:
        super().__init__(self.name, "")
        self.files: dict[str, int] = {}
        self._numbers = itertools.count(1)

    def register(self, fd: int) -> str:
        name = f"/{self.name}/{next(self._numbers)}"
        self.files[name] = fd
        return name

    def unregister(self, name: str) -> None:
        self.files.pop(name, None)

    def _registered(self, name: Any) -> str | None:
        key = name.filename() if isinstance(name, apsw.URIFilename) else name
        return key if key in self.files else None

    def xOpen(self, name: Any, flags: list[int]) -> Any:
        key = self._registered(name)
        if key is None:
            return super().xOpen(name, flags)
        flags[1] = flags[0]
        return _FdFile(self.files[key])

    def xFullPathname(self, name: str) -> str:
        # The default would resolve the name as a path, and there is none.
        return name if name.startswith(f"/{self.name}/") else super().xFullPathname(name)

    def xAccess(self, pathname: str, flags: int) -> bool:
        if pathname.startswith(f"/{self.name}/"):
            return pathname in self.files  # a -journal or -wal beside it never exists
        return super().xAccess(pathname, flags)


_vfs: FdVFS | None = None


@contextlib.contextmanager
def open_fd_database(fd: int, *, read_only: bool) -> Iterator[apsw.Connection]:
    """An APSW connection to the database held by descriptor `fd`: read-only and immutable
    (no locks, no journal) for checking, or writable without a journal for filling it."""
    global _vfs
    if _vfs is None:
        _vfs = FdVFS()
    name = _vfs.register(fd)
    try:
        if read_only:
            conn = apsw.Connection(
                f"file:{name}?immutable=1",
                flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI,
                vfs=FdVFS.name,
            )
        else:
            conn = apsw.Connection(name, vfs=FdVFS.name)
            # Nothing to roll back to: a failed fill throws the whole file away.
            conn.execute("PRAGMA journal_mode=off")
        try:
            yield conn
        finally:
            conn.close()
    finally:
        _vfs.unregister(name)
