class DonationError(Exception):
    """A donation request that cannot be honoured; the message is safe to show to the donor."""


class TransitionError(DonationError):
    """A status move that the state machine forbids, or that lost a race to another move."""


class SelfReviewError(DonationError):
    """A curator tried to accept or decline their own donation; another curator must decide."""
