"""The errors newswatch raises.

    NewswatchError
    ├── ConfigError      the config file is invalid (carries every problem found)
    ├── QueryError       a rule's query does not parse (carries the column)
    ├── FetchError       a feed could not be fetched (carries the feed's URL)
    ├── ParseError       a feed's body is not a feed we can read
    ├── StorageError     the database cannot be used (locked by another daemon, ...)
    └── NotifyError      a target did not accept a message

The CLI is the only place these become messages and exit codes.
"""

from __future__ import annotations


class NewswatchError(Exception):
    "Base of every newswatch error"


class ConfigError(NewswatchError):
    "The configuration is invalid"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class QueryError(NewswatchError):
    "A query does not parse"

    def __init__(self, message: str, column: int) -> None:
        self.message = message
        self.column = column  # 1-based
        super().__init__(f"{message} at column {column}")


class FetchError(NewswatchError):
    "A feed could not be fetched"

    def __init__(self, message: str, status: int | None = None,
                 retry_after: float | None = None, network: bool = False) -> None:
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait
        # No answer at all (DNS, refused, unreachable): when most feeds fail this way
        # at once, the network is down, not the feeds.
        self.network = network
        super().__init__(message)


class ParseError(NewswatchError):
    "A body is not a feed"


class StorageError(NewswatchError):
    "The database cannot be used"


class NotifyError(NewswatchError):
    "A target did not accept a message"


class NoAnswer(NotifyError):
    "A target did not answer in time: it may yet have taken the message"
