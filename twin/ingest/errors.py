"""The one error type loaders raise: its message is safe and useful to show a user."""

from __future__ import annotations

MAX_LISTED = 20


class LoadError(ValueError):
    """A load was refused; nothing was written. ``problems`` lists the features or rows."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        super().__init__(message)

    def __str__(self) -> str:
        text = self.args[0]
        if self.problems:
            shown = self.problems[:MAX_LISTED]
            text += "\n  " + "\n  ".join(shown)
            if len(self.problems) > MAX_LISTED:
                text += f"\n  ... and {len(self.problems) - MAX_LISTED} more"
        return text


def check_utf8(path, data: bytes) -> None:
    """Raise a LoadError naming the line of the first byte that is not UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LoadError(
            f"{path}: not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line} "
            f"(offset {exc.start}); re-save the file as UTF-8"
        ) from None
