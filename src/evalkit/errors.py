"""The one error type for input that breaks the data contract (SPEC section 1)."""

from __future__ import annotations

from collections.abc import Iterable


class InputError(Exception):
    """Bad input: names the file, the rule broken and the rows (header = row 1).

    The command line turns it into exit code 2 with the message on stderr and
    nothing written.
    """

    def __init__(self, file: str, rule: str, rows: Iterable[int] | None = None):
        self.file = str(file)
        self.rule = rule
        self.rows = sorted({int(r) for r in rows}) if rows is not None else []
        super().__init__(self._message())

    def _message(self) -> str:
        msg = f"{self.file}: {self.rule}"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:10])
            more = f" (and {len(self.rows) - 10} more)" if len(self.rows) > 10 else ""
            msg += f" (rows {shown}{more})"
        return msg
