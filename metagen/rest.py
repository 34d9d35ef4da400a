"""Project-wide REST framework defaults, named in settings.REST_FRAMEWORK: the page bounds, the
JSON parser's depth bound, the answer to a body over the size limit; and the JSON 404 of API URLs
that match no route."""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response


class ApiPagination(LimitOffsetPagination):
    """Limit/offset pages of at most `max_limit` rows: a larger (or absurd) limit is clamped."""

    max_limit = 100

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_limit)
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"]["minimum"] = 0
        return parameters


class BoundedJSONParser(JSONParser):
    """JSON nested deeper than `max_depth` is a 400, before anything walks it recursively (the
    decoder itself, serializers, error rendering). No request body of this API nests past 3."""

    max_depth = 32

    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise self._too_deep() from None
        if _deeper_than(data, self.max_depth):
            raise self._too_deep()
        return data

    def _too_deep(self) -> ParseError:
        return ParseError(
            _("JSON parse error - nested deeper than %(depth)d levels.") % {"depth": self.max_depth}
        )


def _deeper_than(value: object, limit: int) -> bool:
    """Whether arrays/objects nest more than `limit` levels (iterative: no recursion to blow)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "request_too_large"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: a body over DATA_UPLOAD_MAX_MEMORY_SIZE answers 413 in JSON (Django
    would answer an HTML 400)."""
    # Imported here: rest_framework.views reads the parser setting, which names this module.
    from rest_framework.views import exception_handler

    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge(_("The request body is larger than this API accepts."))
    return exception_handler(exc, context)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """settings.ROOT_URLCONF's handler404: a URL under /api/ that matches no route (a malformed
    id, slug or version) answers JSON like every other API error; pages keep Django's page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
    return page_not_found(request, exception)
