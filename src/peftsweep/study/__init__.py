"""Optuna studies: where they live (storage and credentials), the space, samplers and
pruners, and a trial reporting its validations to its study.

Optuna is the ``search`` extra: every module here imports it inside the functions that
need it, so a grid runs without it.
"""
