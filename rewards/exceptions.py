class RewardError(Exception):
    """A rewards operation that cannot be done; the message is shown to the person who asked."""


class PayoutTransitionError(RewardError):
    """The payout is not in a state that allows this decision (for example, a second click)."""
