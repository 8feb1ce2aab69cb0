"""個人データ: residents' requests (確認・削除), one resident's export (ZIP) and erasure."""
