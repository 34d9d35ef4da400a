from django import template

from rewards.models import RewardRule
from rewards.selectors import reward_rule_in_force

register = template.Library()


@register.simple_tag
def reward_rule_current() -> RewardRule | None:
    """The reward rule in force now (one query), for the summary shown before a donor gives."""
    return reward_rule_in_force()
