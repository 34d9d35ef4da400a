"""Consent scopes in plain words for templates: `{{ scope|scope_label }}`."""

from django import template

from consent.scopes import scope_label

register = template.Library()
register.filter("scope_label", scope_label)
