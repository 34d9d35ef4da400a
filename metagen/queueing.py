"""Sending a task after a commit without letting a broker outage fail the write that came first.

The database is the record; a message is only a nudge. When the broker cannot take a message (Redis
down or restarting), the committed change stands, the failure is logged, and the beat sweeper of
the app that owns the work finds what is missing and sends it again (SWEEP_INTERVAL_S,
STUCK_GRACE_S). Publishing retries a little (CELERY_TASK_PUBLISH_RETRY_POLICY) and then gives up,
so a request is never held for long by a broker that does not answer.
"""

import logging
from typing import Any

from celery import Task, current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task: Task | str, *args: Any, **kwargs: Any) -> bool:  # type: ignore[type-arg]
    """Send `task` (or the task of that name) now; returns False (logged, never raised) when
    the broker refused it. Arguments are ids and plain values only (they are logged)."""
    name = task if isinstance(task, str) else task.name
    try:
        if isinstance(task, str):
            current_app.send_task(task, args=args, kwargs=kwargs)
        else:
            task.apply_async(args=args, kwargs=kwargs)
    except Exception:  # kombu's and redis-py's errors vary by transport; all mean "not sent"
        logger.warning(
            "could not queue %s%r; the sweeper will queue it again", name, args, exc_info=True
        )
        return False
    return True


def enqueue_on_commit(task: Task | str, *args: Any, **kwargs: Any) -> None:  # type: ignore[type-arg]
    """Send `task` after the current transaction commits (see enqueue); nothing on rollback."""
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs))
