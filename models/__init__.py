"""Tortoise ORM models, one module per domain, and their migrations."""

MODEL_MODULES = [
    "models.residents",
    "models.inbox",
    "models.outbox",
    "models.staff",
    "models.audit",
    "models.conversation",
    "models.consultation",
    "models.chat",
    "models.course",
    "models.market",
    "models.survey",
    "models.profiles",
    "models.announcements",
    "models.privacy",
]
