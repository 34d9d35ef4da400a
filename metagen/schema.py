"""The OpenAPI schema's house rules, applied to every operation once (settings.REST_FRAMEWORK's
DEFAULT_SCHEMA_CLASS): the error responses an operation can answer, with one shared error
schema, and list-length limits that drf-spectacular leaves out."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

ERROR = "Error"
VALIDATION_ERROR = "ErrorValidation"

_COMPONENTS = {
    ERROR: {
        "type": "object",
        "description": "Why the request was refused.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    VALIDATION_ERROR: {
        "type": "object",
        "description": "What is wrong with the request: each offending field (or `detail`, "
        "`non_field_errors`) with its messages.",
        "additionalProperties": {},
    },
}

_DESCRIPTIONS = {
    "400": "The request is malformed or invalid.",
    "401": "Missing or bad credentials: send `Authorization: Token <key>` (or sign in).",
    "403": "Not allowed; for a browser session, also a missing CSRF token.",
    "404": "Not found, or not yours.",
    "413": "The request body is larger than the API accepts.",
    "429": "Too many requests: retry after the seconds in Retry-After.",
}

_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class ApiAutoSchema(AutoSchema):
    def _error_codes(self) -> set[str]:
        codes = {"401"}  # a bad token is refused before any permission check, anywhere
        if self.method in _WRITES:
            codes |= {"400", "403", "413"}
        if "{" in self.path:
            codes.add("404")
        if getattr(self.view, "throttle_classes", None):
            codes.add("429")
        return codes

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes() | {c for c in responses if c[0] in "45"}:
            name = VALIDATION_ERROR if code == "400" else ERROR
            self.registry.register_on_missing(
                ResolvedComponent(
                    name=name,
                    type=ResolvedComponent.SCHEMA,
                    object=name,
                    schema=_COMPONENTS[name],
                )
            )
            declared = responses.get(code, {})
            if "content" in declared:
                continue  # the view documents its own body for this code
            responses[code] = {
                "description": declared.get("description") or _DESCRIPTIONS.get(code, ""),
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                },
            }
        return dict(sorted(responses.items()))

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if not isinstance(schema, dict) or schema.get("type") != "array":
            return schema
        if isinstance(field, serializers.ListSerializer | serializers.ListField):
            if field.min_length is not None:
                schema["minItems"] = max(schema.get("minItems", 0), field.min_length)
            if not field.allow_empty:
                schema["minItems"] = max(schema.get("minItems", 0), 1)
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        return schema
