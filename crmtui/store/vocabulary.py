"""The fixed choices of the data model, importable without the database layer."""

STAGES = ("new", "prospect", "active", "dormant", "churned")
ROLES = ("admin", "manager", "sales", "marketing", "readonly")
DEAL_STATUSES = ("won", "lost", "open")
CHANNELS = ("call", "meeting", "email", "visit", "wechat", "social", "other")
SERVICE_KINDS = ("support", "training", "upgrade", "after_sales")
SERVICE_STATUSES = ("open", "in_progress", "resolved", "closed")
FEEDBACK_KINDS = ("praise", "suggestion", "complaint")
FOLLOWUP_STATUSES = ("open", "done", "snoozed", "cancelled")
PRIORITIES = ("low", "normal", "high", "urgent")
CUSTOM_FIELD_KINDS = ("text", "number", "date", "choice")
