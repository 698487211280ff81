"""Packed trials: many trials of one shape train on one shared backbone in one process.

``layers`` (shared frozen weights, each trial's own tensors) < ``twin`` (what a trial trains
alone, placed in the packed layers) < ``member`` (one trial's optimizer, schedule,
selection and checkpoint) < ``loop`` (the steps and evaluations) < ``run`` (a pack from
trial configs to result files). docs/scale.md says what packs and what runs alone.
"""
