"""Which object-storage errors are worth a retry: the network and the server, never our input."""

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

_TRANSIENT_CODES = {
    "SlowDown",
    "RequestTimeout",
    "ServiceUnavailable",
    "InternalError",
    "503",
    "500",
}


def is_transient(exc: BaseException) -> bool:
    if isinstance(
        exc,
        EndpointConnectionError | ConnectionClosedError | ConnectTimeoutError | ReadTimeoutError,
    ):
        return True
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code")) in _TRANSIENT_CODES
    return False
