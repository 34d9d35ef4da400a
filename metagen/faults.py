"""What kind of failure an exception is: the one definition every task's retry policy reads.

A fault is "ours and passing" (retry later, with backoff) or not (a bug, or bad input: record it).
Three kinds pass: object storage unreachable or overloaded, the database restarting, and a full
disk. Anything else is not retried.
"""

import errno
import random
from enum import StrEnum

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError


class Fault(StrEnum):
    STORAGE = "storage"
    DATABASE = "database"
    DISK_FULL = "disk_full"


# S3 error codes that mean "the service, not the request": retry them.
_TRANSIENT_STORAGE_CODES = frozenset(
    {
        "SlowDown",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "ServiceUnavailable",
        "InternalError",
        "503",
        "500",
        "502",
        "504",
    }
)
# A full disk, or a full quota: space comes back when something else finishes or is cleaned up.
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def _is_disk_full(exc: OSError) -> bool:
    if exc.errno in _DISK_FULL_ERRNOS:
        return True
    # Arrow raises OSError without errno, the system's message in its text.
    return exc.errno is None and "No space left on device" in str(exc)


def fault_of(exc: BaseException) -> Fault | None:
    """The passing fault `exc` is, or None when it is not worth a retry."""
    if isinstance(exc, DatabaseOperationalError | InterfaceError):
        return Fault.DATABASE
    if isinstance(
        exc,
        EndpointConnectionError
        | ConnectionClosedError
        | ConnectTimeoutError
        | ReadTimeoutError
        | BotoConnectionError,
    ):
        return Fault.STORAGE
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code"))
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if code in _TRANSIENT_STORAGE_CODES or status in {"500", "502", "503", "504"}:
            return Fault.STORAGE
        return None
    if isinstance(exc, OSError) and _is_disk_full(exc):
        return Fault.DISK_FULL
    if isinstance(exc, ConnectionError | TimeoutError):  # sockets: storage or network
        return Fault.STORAGE
    return None


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is worth retrying later (see fault_of)."""
    return fault_of(exc) is not None


def retry_countdown(*, attempt: int, base: float, cap: float = 600.0) -> float:
    """Seconds before retry number `attempt` (0-based): base * 2**attempt, capped, plus jitter
    up to `base`, so that many tasks failing together do not all come back at once."""
    return min(cap, base * 2**attempt) + random.uniform(0, base)  # noqa: S311
