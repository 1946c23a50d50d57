"""The MLflow side of the serving benchmark: a pyfunc "model from code" around the same .skops pipeline.

MLflow loads this file as code (no pickle); `load_context` reads the skops file with the workbench's trusted-type
loader, and `predict` casts the columns to the dtypes the pipeline was trained with (what any MLflow user of this
model would have to do: the signature's int64/object columns are not the training frame's Int64/str) and predicts.
"""
import json

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class SkopsPipeline(PythonModel):
    def load_context(self, context):
        from mlworkbench.model.modelfile import load_model
        self.model = load_model(context.artifacts['model'])
        record = json.loads(open(context.artifacts['record']).read())
        self.dtypes = {f['name']: ('str' if f['kind'] == 'string' else 'Int64' if f.get('integer') else 'float64') for f in record['features']}

    def predict(self, context, model_input: pd.DataFrame, params=None):
        return self.model.predict(model_input[list(self.dtypes)].astype(self.dtypes))


mlflow.models.set_model(SkopsPipeline())
