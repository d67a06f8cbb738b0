"""What a user does first with a new tracking server, through the real MLflow client.

Used by the end-to-end deploy test (and available to molecule verifiers): create an experiment, log params, metrics
and an artifact, read them back, register a model version and load it again.
"""
import os
import uuid
from contextlib import contextmanager


@contextmanager
def tracking_session(url, username=None, password=None, cert_path=None):
    """Point the MLflow client at url (with basic-auth credentials, trusting cert_path for https) for the duration,
    then restore the environment."""
    import mlflow  # pylint: disable=import-outside-toplevel

    saved = {name: os.environ.get(name)
             for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_SERVER_CERT_PATH")}
    if username is not None:
        os.environ["MLFLOW_TRACKING_USERNAME"] = username
        os.environ["MLFLOW_TRACKING_PASSWORD"] = password
    if cert_path is not None:
        os.environ["MLFLOW_TRACKING_SERVER_CERT_PATH"] = str(cert_path)
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    try:
        yield mlflow
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def exercise_tracking_server(url, username, password, workdir, cert_path=None):
    """Run the round trip; returns a dict of what was created (experiment, run and model names/ids)."""
    import pandas  # pylint: disable=import-outside-toplevel

    suffix = uuid.uuid4().hex[:8]
    with tracking_session(url, username, password, cert_path) as mlflow:
        from mlflow import MlflowClient  # pylint: disable=import-outside-toplevel

        class AddN(mlflow.pyfunc.PythonModel):
            def __init__(self, n):
                self.n = n

            def predict(self, context, model_input, params=None):  # pylint: disable=unused-argument
                return model_input.apply(lambda column: column + self.n)

        experiment_id = mlflow.create_experiment("e2e-" + suffix)
        artifact = os.path.join(str(workdir), "notes-%s.txt" % suffix)
        with open(artifact, "w", encoding="utf-8") as handle:
            handle.write("artifact written by the end-to-end test %s\n" % suffix)
        with mlflow.start_run(experiment_id=experiment_id) as run:
            mlflow.log_params({"learning_rate": "0.01", "layers": "3"})
            for step, loss in enumerate((0.9, 0.5, 0.2)):
                mlflow.log_metric("loss", loss, step=step)
            mlflow.log_artifact(artifact)
            model_info = mlflow.pyfunc.log_model(name="model", python_model=AddN(5))
        client = MlflowClient()
        stored = client.get_run(run.info.run_id)
        assert stored.data.params == {"learning_rate": "0.01", "layers": "3"}
        assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == [0.9, 0.5, 0.2]
        downloaded = client.download_artifacts(run.info.run_id, os.path.basename(artifact), str(workdir))
        with open(downloaded, encoding="utf-8") as handle:
            assert suffix in handle.read()

        model_name = "e2e-model-" + suffix
        version = mlflow.register_model(model_info.model_uri, model_name)
        loaded = mlflow.pyfunc.load_model("models:/%s/%s" % (model_name, version.version))
        prediction = loaded.predict(pandas.DataFrame({"x": [1, 2]}))
        assert list(prediction["x"]) == [6, 7]
    return {"experiment_id": experiment_id, "run_id": run.info.run_id, "model_name": model_name,
            "model_version": version.version}
