"""One trial from a checked config to its result.json: data, model, strategy, the Lightning
Trainer, checkpoints and resume, loggers, the weights it keeps, its heartbeat and progress
file, and DDP ranks when it runs on several devices.
"""
