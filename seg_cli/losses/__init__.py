"""Training losses: per-pixel terms, cross-entropy, binary / U2Net, focal and weighted cross-entropy."""
