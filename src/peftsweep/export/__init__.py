"""From a finished sweep to a model people use: export, predict, evaluate.

``selection`` picks the trials, ``rebuild`` restores a trial's model from its
kept weights, ``writer`` saves it in Hugging Face format with ``card`` and
``reproduce``; ``loading`` opens an export, ``predict`` and ``evaluate`` use it.
"""
