"""島フリーランス LINE: project package (settings, app factory, CLI, background worker)."""
