"""Pushes no event of the resident caused (reminders, staff changes, later offers, results,
announcements), one module per area. The admin calls these, never a conversation flow."""
