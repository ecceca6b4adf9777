"""``{% person_panel template values %}``: one registered person panel (see registry.panels),
rendered like an ``{% include %}`` with its own values added to the page's context."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def person_panel(context: template.Context, template_name: str,
                 values: dict[str, Any]) -> SafeString:
    assert context.template is not None  # set while a template renders
    panel = context.template.engine.get_template(template_name)
    with context.push(**values):
        return SafeString(panel.render(context))
