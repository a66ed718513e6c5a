"""A small progress bar on stderr (tqdm is not a dependency: this is all the client needs)."""

from __future__ import annotations

import time
from typing import TextIO


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"


class ProgressBar:
    """``[#######.......]  12/40 files  1.2 MB/3.4 MB``, redrawn in place on a terminal.

    Off a terminal (a log file, CI) it prints one line at the end instead of carriage returns.
    """

    def __init__(
        self,
        stream: TextIO,
        total_files: int,
        total_bytes: int,
        *,
        label: str = "uploading",
        width: int = 30,
        interactive: bool | None = None,
    ) -> None:
        self.stream = stream
        self.total_files = total_files
        self.total_bytes = total_bytes
        self.label = label
        self.width = width
        self.interactive = stream.isatty() if interactive is None else interactive
        self.files = 0
        self.bytes = 0
        self._drawn = 0.0

    def line(self) -> str:
        share = self.bytes / self.total_bytes if self.total_bytes else 1.0
        if not self.total_bytes and self.total_files:
            share = self.files / self.total_files
        filled = round(share * self.width)
        return (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{self.files}/{self.total_files} files  "
            f"{human_bytes(self.bytes)}/{human_bytes(self.total_bytes)}"
        )

    def update(self, files: int, size: int) -> None:
        self.files += files
        self.bytes += size
        now = time.monotonic()
        # Redraw at most ten times a second: a terminal is slower than small uploads.
        if self.interactive and (now - self._drawn >= 0.1 or self.files == self.total_files):
            self.stream.write("\r" + self.line())
            self.stream.flush()
            self._drawn = now

    def close(self) -> None:
        self.stream.write(("\r" if self.interactive else "") + self.line() + "\n")
        self.stream.flush()
