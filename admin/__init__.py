"""The staff web admin (Japanese): auth, one module per area, CSV export, KPI dashboard."""
