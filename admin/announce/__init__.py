"""お知らせ配信: segment messages composed, previewed, costed, scheduled and followed by staff."""
