"""計画の目標: the plan's five goals, live (shima.domain.goals) — the board of tiles, the
residents behind each goal, the yearly report (printable and CSV) and the plan's period and
targets (admins only)."""
