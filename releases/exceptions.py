class ReleaseError(Exception):
    """A release request that cannot be honoured; the message is safe to show to a curator."""
