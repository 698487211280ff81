"""Backbones (AutoModelForSequenceClassification) and the LightningModule that trains them."""
