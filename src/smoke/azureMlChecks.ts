/**
 * The checks an Azure Machine Learning workspace supports, run by the `azureml-mlflow` plugin in its
 * own venv the way a user's training code uses the workspace (reference next-capabilities.md §8):
 * an experiment, a run with a parameter, a metric with a history, tags, an artifact written and read
 * back, then clean-up. Reads `{trackingUri, token, expiresOn, id}` as JSON on stdin (the token never
 * on a command line or in the environment) and reports each step as one stdout line
 * `@@mlflow-azure-action {"step", "status", "ms", "detail"}`; the first failure ends the checks, and
 * whatever was made is deleted all the same.
 */
export const AZUREML_STEP_PREFIX = '@@mlflow-azure-action '

/** The steps the script reports, in order (clean-up only once an experiment was made). */
export const AZUREML_STEPS = [
  'experiment',
  'run and parameter',
  'metric history',
  'tags',
  'artifact',
  'clean-up'
] as const

export const AZUREML_CHECKS_SCRIPT = String.raw`import json, os, sys, tempfile, time
from urllib.parse import urlparse

cfg = json.loads(sys.stdin.read())
uri = cfg["trackingUri"]


def say(obj):
    sys.stdout.write("@@mlflow-azure-action " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def step(name, fn):
    t0 = time.time()
    try:
        detail = fn()
    except Exception as e:
        say({"step": name, "status": "failed", "ms": int((time.time() - t0) * 1000), "detail": describe(e)})
        return False
    say({"step": name, "status": "passed", "ms": int((time.time() - t0) * 1000), "detail": detail})
    return True


def describe(e):
    text = "%s: %s" % (type(e).__name__, e)
    # The HTTP status the workspace answered: an azure-core or requests error carries its response,
    # an MLflow one its error code, which MLflow maps back to the status.
    status = getattr(getattr(e, "response", None), "status_code", None)
    if status is None and hasattr(e, "get_http_status_code") and getattr(e, "error_code", None) != "INTERNAL_ERROR":
        status = e.get_http_status_code()
    if status is not None:
        text = "HTTP %s %s" % (status, text)
    return text[-1500:]


# The plugin signs in through azure-identity's default chain, which cannot reach this runner's
# sign-in (GitHub OIDC or a token given to the action). The action hands it a token for the same
# identity instead: a credential that returns it, registered as the workspace's service context
# before the first use (azureml-mlflow 1.62.0.post6 _AzureMLServiceContextLoader; pinned).
from azure.core.credentials import AccessToken
from azureml.mlflow._common._cloud.cloud import _get_cloud_or_default
from azureml.mlflow._internal.service_context_loader import _AzureMLServiceContextLoader
from azureml.mlflow._internal.utils import ServiceContext, tracking_uri_decomp

try:
    from azure.core.credentials import AccessTokenInfo
except ImportError:
    AccessTokenInfo = None


class GivenToken(object):
    def __init__(self, token, expires_on):
        self._token = token
        self._expires_on = int(expires_on)

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self._token, self._expires_on)

    def get_token_info(self, *scopes, options=None):
        return AccessTokenInfo(self._token, self._expires_on)


parsed = urlparse(uri)
ws = tracking_uri_decomp(parsed.path, False)
_AzureMLServiceContextLoader.add_service_context(
    uri,
    ServiceContext(
        host_url="https://" + parsed.netloc,
        subscription_id=ws["sub-id"],
        resource_group_name=ws["res-grp"],
        workspace_name=ws["ws-name"],
        auth=GivenToken(cfg["token"], cfg["expiresOn"]),
        cloud=_get_cloud_or_default(),
    ),
)

import mlflow
from mlflow.tracking import MlflowClient

mlflow.set_tracking_uri(uri)
client = MlflowClient(tracking_uri=uri)
state = {}
name = "mlflow-azure-action-smoke-" + cfg["id"]
payload = os.urandom(2048).hex().encode()


def experiment():
    state["experiment"] = client.create_experiment(name)
    got = client.get_experiment(state["experiment"])
    if got.name != name:
        raise AssertionError("the experiment reads back as %r, not %r" % (got.name, name))
    return "experiment %s created and read back" % state["experiment"]


def run_and_param():
    run = client.create_run(state["experiment"])
    state["run"] = run.info.run_id
    client.log_param(state["run"], "smoke", cfg["id"])
    params = client.get_run(state["run"]).data.params
    if params.get("smoke") != cfg["id"]:
        raise AssertionError("param 'smoke' reads back as %r" % params.get("smoke"))
    return "run %s with a parameter" % state["run"]


def metrics():
    for i, value in enumerate([0.5, 0.25, 0.125]):
        client.log_metric(state["run"], "loss", value, step=i)
    history = sorted(client.get_metric_history(state["run"], "loss"), key=lambda m: m.step)
    values = [m.value for m in history]
    if values != [0.5, 0.25, 0.125]:
        raise AssertionError("the history of 'loss' reads back as %r" % values)
    return "metric 'loss' with a history of 3 values"


def tags():
    client.set_tag(state["run"], "mlflow-azure-action", "smoke-test")
    got = client.get_run(state["run"]).data.tags.get("mlflow-azure-action")
    if got != "smoke-test":
        raise AssertionError("tag reads back as %r" % got)
    return "tag written and read back"


def artifact():
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "smoke.txt")
        with open(src, "wb") as f:
            f.write(payload)
        client.log_artifact(state["run"], src, "smoke")
        listed = [a.path for a in client.list_artifacts(state["run"], "smoke")]
        if "smoke/smoke.txt" not in listed:
            raise AssertionError("the artifact is not listed (found %r)" % listed)
        dst = os.path.join(tmp, "down")
        os.mkdir(dst)
        path = client.download_artifacts(state["run"], "smoke/smoke.txt", dst)
        with open(path, "rb") as f:
            back = f.read()
    if back != payload:
        raise AssertionError("the artifact came back with %d bytes that differ from the %d written" % (len(back), len(payload)))
    return "a %d-byte artifact written and read back byte-identical" % len(payload)


def clean_up():
    if "run" in state:
        client.set_terminated(state["run"])
        client.delete_run(state["run"])
    if "experiment" in state:
        client.delete_experiment(state["experiment"])
    return "run and experiment deleted"


for name_, fn in [
    ("experiment", experiment),
    ("run and parameter", run_and_param),
    ("metric history", metrics),
    ("tags", tags),
    ("artifact", artifact),
]:
    if not step(name_, fn):
        break
# Clean up whatever was made, even after a failure.
if "experiment" in state:
    step("clean-up", clean_up)
`
