"""The MLflow model of a registered export: the export's one-line pipeline as a pyfunc.

MLflow stores this file with the model ("models from code") and runs it when the model
is loaded, so it imports nothing from peftsweep: a registered model loads and serves with
transformers, PEFT and MLflow alone. peftsweep never imports it (``export/register.py``
hands its path to MLflow).
"""

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class ExportPipeline(PythonModel):
    """``pipeline("text-classification", model=<export>)``; rows in, label and score out."""

    def load_context(self, context):
        from transformers import pipeline

        self.classify = pipeline("text-classification", model=context.artifacts["export"])

    def predict(self, context, model_input, params=None):
        if isinstance(model_input, pd.DataFrame):
            if {"text", "text_pair"} <= set(model_input.columns):  # a sentence-pair task
                texts = [{"text": str(a), "text_pair": str(b)} for a, b in
                         zip(model_input["text"], model_input["text_pair"], strict=True)]
            else:
                texts = [str(value) for value in model_input.iloc[:, 0]]
        else:
            texts = [str(value) for value in model_input]
        return pd.DataFrame(self.classify(texts))


mlflow.models.set_model(ExportPipeline())
