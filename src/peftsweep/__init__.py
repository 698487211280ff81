"""peftsweep: Hydra-configured sweeps for fine-tuning BERT-family classifiers."""

__version__ = "0.1.0"
