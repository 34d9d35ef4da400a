"""Why processing stopped on our side: a stable code per cause and what the donor is told.

Codes of the donor's input (`RejectedRecording`) live in processing/motion; these are ours. Each
is shown on the donation's page and in the admin, where a `failed` donation can be retried.
"""

from django.utils.translation import gettext_lazy as _

from metagen.faults import Fault

TIMEOUT = "processing.timeout"
INTERNAL_ERROR = "processing.internal_error"
STORAGE_UNAVAILABLE = "processing.storage_unavailable"
DATABASE_UNAVAILABLE = "processing.database_unavailable"
DISK_FULL = "processing.disk_full"
WORKER_LOST = "processing.worker_lost"

# A recording whose run dies this many times (a worker killed, lost mid-way) ends `failed`.
MAX_LOST_RUNS = 3

MESSAGES = {
    TIMEOUT: _("Processing took too long. We will look into it; you do not need to act."),
    INTERNAL_ERROR: _(
        "Something went wrong on our side. We have been told; you do not need to act."
    ),
    STORAGE_UNAVAILABLE: _(
        "Our storage was unavailable. We will retry it; you do not need to act."
    ),
    DATABASE_UNAVAILABLE: _(
        "Our database was unavailable. We will retry it; you do not need to act."
    ),
    DISK_FULL: _(
        "Our servers ran out of disk space while processing your recording. We will retry it "
        "once space is free; you do not need to act."
    ),
    WORKER_LOST: _(
        "Processing stopped on our side several times. We will look into it; you do not need "
        "to act."
    ),
}

# The code a passing fault ends with once its retries are spent.
FAULT_CODES = {
    Fault.STORAGE: STORAGE_UNAVAILABLE,
    Fault.DATABASE: DATABASE_UNAVAILABLE,
    Fault.DISK_FULL: DISK_FULL,
}


def message(code: str) -> str:
    return str(MESSAGES[code])
