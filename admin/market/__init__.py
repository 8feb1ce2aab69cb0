"""ハンドメイドマーケット's admin: markets, review, results, booths and fees."""
