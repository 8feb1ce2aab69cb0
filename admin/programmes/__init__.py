"""寺子屋・交流会・ワークショップ in the admin: programmes, sessions, registrations and the
waitlist, attendance at the door, CSV, and the news items of イベント・お知らせ."""
