"""相談予約 in the admin: the week of slots, single and bulk slot creation, closures, the
bookings list and detail, 代理予約 and the CSV export."""
