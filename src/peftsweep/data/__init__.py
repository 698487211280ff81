"""Data: sources (demo, hub, files), split policy, tokenization cache, batching."""
