"""The command palette offers every action the current screen has a key for."""

from collections.abc import Iterable
from functools import partial

from textual.app import App, SystemCommand
from textual.screen import Screen


def binding_commands(app: App, screen: Screen) -> Iterable[SystemCommand]:
    """One palette command per described key binding active on `screen`, run where bound."""
    seen: set[tuple[int, str]] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        slot = (id(active.node), binding.action)
        if not binding.description or slot in seen:
            continue
        seen.add(slot)
        yield SystemCommand(
            binding.description,
            binding.tooltip or app.get_key_display(binding),
            partial(app.run_action, binding.action, active.node),
        )
