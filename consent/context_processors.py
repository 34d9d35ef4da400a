from django.core.cache import cache
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from consent.selectors import consent_renewal_get_for_user, renewal_cache_key

RENEWAL_CACHE_SECONDS = 300


def consent_renewal(request: HttpRequest) -> dict[str, object]:
    """`consent_renewal_version`: the newer consent version a donor has not yet seen, or 0.

    Lazy and cached, so a page that does not show the banner costs no query, and one that does
    costs two queries once every few minutes (a new version shows within RENEWAL_CACHE_SECONDS).
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"consent_renewal_version": 0}

    def version() -> int:
        key = renewal_cache_key(user.pk)
        cached = cache.get(key)
        if cached is None:
            document = consent_renewal_get_for_user(user=user)
            cached = document.version if document is not None else 0
            cache.set(key, cached, RENEWAL_CACHE_SECONDS)
        return int(cached)

    return {"consent_renewal_version": SimpleLazyObject(version)}
