"""The LINE side: webhook, event router, flows, message builders, rich menu, client,
inbox/outbox and the simulator."""
