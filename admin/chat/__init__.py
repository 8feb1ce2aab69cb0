"""Admin → チャット: the 1:1 chat with residents, and the saved replies (定型文)."""
