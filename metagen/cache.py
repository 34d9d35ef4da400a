"""The shared cache (Redis in production) as a cache should be: optional.

Nothing the site must remember lives in the cache: it holds banner versions, throttle and
sign-in counters, all of which can be rebuilt. Django's RedisCache raises when Redis is down,
which turned every signed-in page into a 500 during a Redis restart (drill h, issue 11). Here a
connection or timeout error reads as a miss and a write as not stored, with a warning: pages
keep working, and throttles fail open until Redis is back (the login lock-outs of django-axes
count in the database, so they hold).
"""

import logging
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def _tolerant(method: Callable[..., Any], fallback: Callable[..., Any]) -> Callable[..., Any]:
    def call(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except UNREACHABLE as exc:
            logger.warning(
                "cache unreachable (%s): %s treated as a miss", type(exc).__name__, method.__name__
            )
            return fallback(*args, **kwargs)

    call.__name__ = method.__name__
    call.__doc__ = method.__doc__
    return call


def _default(key: str, default: Any = None, version: int | None = None) -> Any:
    return default


class TolerantRedisCache(RedisCache):
    """RedisCache whose reads miss and whose writes are dropped while Redis is unreachable."""

    get = _tolerant(RedisCache.get, _default)
    get_many = _tolerant(RedisCache.get_many, lambda *a, **k: {})
    has_key = _tolerant(RedisCache.has_key, lambda *a, **k: False)
    set = _tolerant(RedisCache.set, lambda *a, **k: None)
    add = _tolerant(RedisCache.add, lambda *a, **k: False)
    touch = _tolerant(RedisCache.touch, lambda *a, **k: False)
    set_many = _tolerant(RedisCache.set_many, lambda *a, **k: [])
    delete = _tolerant(RedisCache.delete, lambda *a, **k: False)
    delete_many = _tolerant(RedisCache.delete_many, lambda *a, **k: None)
