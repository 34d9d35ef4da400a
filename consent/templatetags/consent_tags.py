"""Consent scopes in plain words for templates: `{{ scope|scope_label }}`, and
`{% for scope in scopes|in_form_order %}` to list them in the order of the form's matrix."""

from django import template

from consent.scopes import in_form_order, scope_label

register = template.Library()
register.filter("scope_label", scope_label)
register.filter("in_form_order", in_form_order)
