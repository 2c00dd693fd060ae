"""crmtui: a keyboard-driven customer-management system for the terminal."""

__version__ = "0.1.0"
