"""MLflow's web UI in a real browser: Debian's headless Chromium driven by Playwright (no browser download).

`log_ui_data` logs what the pages should show through the real MLflow client; `UiBrowser` opens the pages as a user
would, logged in with the basic-auth user and trusting exactly the server's certificate through a fresh NSS database
(never by turning verification off). Every page is loaded as a new document, so each one fetches MLflow's static files
through whatever front end the deployment has, and each page is screenshotted into a directory kept for the reader.
A page fails on any console error, uncaught page error, failed or >= 400 static asset, or 401 (a login loop).
"""
import os
import re
import shutil
import subprocess
import urllib.parse
import uuid

from mlflow_client_checks import tracking_session

CHROMIUM = "/usr/bin/chromium"
# Headless and quiet: no sandbox (root in a container), and none of Chromium's own calls to Google's services.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1400, "height": 900}
STATIC_RESOURCE_TYPES = {"document", "script", "stylesheet", "image", "font", "manifest"}
PAGE_TIMEOUT_MS = 60000
SETTLE_MS = 2500
LOSS_HISTORY = (0.92, 0.55, 0.34, 0.21, 0.15)


def log_ui_data(url, username, password, workdir):
    """An experiment with one run (params, a metric history of several steps, an artifact file), and a registered
    model whose version carries an alias; returns the names and ids the pages must show."""
    suffix = uuid.uuid4().hex[:8]
    names = {"experiment": "ui-exp-" + suffix, "run": "ui-run-" + suffix, "model": "ui-model-" + suffix,
             "alias": "champion", "artifact": "ui-notes-%s.txt" % suffix,
             "params": {"learning_rate": "0.0125", "optimizer": "adamw-" + suffix}, "loss": LOSS_HISTORY}
    artifact = os.path.join(str(workdir), names["artifact"])
    with open(artifact, "w", encoding="utf-8") as handle:
        handle.write("artifact shown in the UI test %s\n" % suffix)
    with tracking_session(url, username, password) as mlflow:
        from mlflow import MlflowClient  # pylint: disable=import-outside-toplevel

        names["experiment_id"] = mlflow.create_experiment(names["experiment"])
        with mlflow.start_run(experiment_id=names["experiment_id"], run_name=names["run"]) as run:
            mlflow.log_params(names["params"])
            for step, loss in enumerate(LOSS_HISTORY):
                mlflow.log_metric("loss", loss, step=step)
            mlflow.log_artifact(artifact)
        names["run_id"] = run.info.run_id
        client = MlflowClient()
        client.create_registered_model(names["model"])
        version = client.create_model_version(names["model"], "runs:/%s/%s" % (run.info.run_id, names["artifact"]),
                                              run_id=run.info.run_id)
        client.set_registered_model_alias(names["model"], names["alias"], version.version)
        assert client.get_model_version_by_alias(names["model"], names["alias"]).version == version.version
    return names


def make_nss_home(cert_path, home):
    """A HOME whose NSS database (the one Chromium on Linux reads) trusts exactly cert_path as a server certificate
    ("P": trusted peer, not a CA), as a user does with certutil. cert_path None leaves the database empty."""
    nssdb = os.path.join(home, ".pki", "nssdb")
    os.makedirs(nssdb, mode=0o700)
    subprocess.run(["certutil", "-d", "sql:" + nssdb, "-N", "--empty-password"], check=True, capture_output=True)
    if cert_path:
        subprocess.run(["certutil", "-d", "sql:" + nssdb, "-A", "-n", "mlflow-server", "-t", "P,,", "-i",
                        str(cert_path)], check=True, capture_output=True)
    return home


class PageProblems:
    """What went wrong while one page loaded, recorded from the browser's own events."""

    def __init__(self, name):
        self.name = name
        self.console_errors = []
        self.page_errors = []
        self.bad_static = []
        self.unauthorized = []

    def attach(self, page):
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(
            "%s (%s)" % (message.text, message.location.get("url", ""))))
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _request_failed(self, request):
        if request.resource_type in STATIC_RESOURCE_TYPES:
            self.bad_static.append("%s %s: %s" % (request.resource_type, request.url, request.failure))

    def _response(self, response):
        if response.status == 401:
            self.unauthorized.append(response.url)
        if response.status >= 400 and response.request.resource_type in STATIC_RESOURCE_TYPES:
            self.bad_static.append("%s %s: HTTP %d" % (response.request.resource_type, response.url, response.status))

    def summary(self):
        found = []
        for label, items in (("console errors", self.console_errors), ("page errors", self.page_errors),
                             ("failed static assets", self.bad_static),
                             ("401 responses (login loop or refused login)", self.unauthorized)):
            if items:
                found.append("%s: %s" % (label, "; ".join(items[:10])))
        return found


class UiBrowser:
    """Chromium with its own HOME (NSS database) and a context logged in with basic-auth credentials."""

    def __init__(self, base_url, username, password, home, screenshot_dir):
        self.base_url = base_url.rstrip("/")
        self.screenshot_dir = str(screenshot_dir)
        self.credentials = {"username": username, "password": password}
        self.home = home
        self.shots = []
        self._playwright = self._browser = self.context = None

    def __enter__(self):
        from playwright.sync_api import sync_playwright  # pylint: disable=import-outside-toplevel

        os.makedirs(self.screenshot_dir, exist_ok=True)
        self._playwright = sync_playwright().start()
        env = {key: value for key, value in os.environ.items()
               if key.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        env["HOME"] = self.home
        self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=env)
        self.context = self._browser.new_context(http_credentials=self.credentials, viewport=VIEWPORT)
        self.context.set_default_timeout(PAGE_TIMEOUT_MS)
        return self

    def __exit__(self, *exc):
        if self._browser:
            self._browser.close()
        if self._playwright:
            self._playwright.stop()

    def open(self, name, route):
        """Load base_url/#route as a new document; returns (page, PageProblems). The caller checks the content,
        then calls finish()."""
        page = self.context.new_page()
        problems = PageProblems(name)
        problems.attach(page)
        page.goto("%s/#%s" % (self.base_url, route), wait_until="load")
        return page, problems

    def finish(self, page, problems, ready_error=None):
        """Screenshot the page, close it, and raise AssertionError naming every problem found."""
        path = os.path.join(self.screenshot_dir, "%02d-%s.png" % (len(self.shots) + 1, problems.name))
        url = page.url
        try:
            page.screenshot(path=path)
            self.shots.append(path)
        finally:
            page.close()
        found = problems.summary()
        if ready_error:
            found.insert(0, "content not shown: %s" % ready_error)
        if found:
            raise AssertionError("UI page '%s' (%s): %s; screenshots in %s" % (
                problems.name, url, " | ".join(found), self.screenshot_dir))

    def check(self, name, route, expect):
        """Open route, run expect(page) (which waits for the content that must be there), then finish()."""
        page, problems = self.open(name, route)
        ready_error = None
        try:
            expect(page)
            # Late errors too: what the page still loads or logs just after its content is there (the SPA polls, so
            # the network is never idle).
            page.wait_for_timeout(SETTLE_MS)
        except Exception as error:  # pylint: disable=broad-exception-caught
            ready_error = "%s: %s" % (type(error).__name__, str(error).splitlines()[0])
        self.finish(page, problems, ready_error)


def _close_overlays(page):
    """The registry's one-time "new model registry UI" modal and the assistant panel cover the content in a
    screenshot; close them when they are there (the checks themselves do not depend on them)."""
    for selector in ('button.du-bois-light-modal-close', '[data-component-id="mlflow.assistant.chat_panel.close"]'):
        buttons = page.locator(selector)
        for index in range(buttons.count()):
            if buttons.nth(index).is_visible():
                buttons.nth(index).click()


def _line_points(path_d):
    return len(re.findall(r"[ML]", path_d or ""))


def browse_ui(browser, names):
    """Every page a user opens to see the logged data; each raises AssertionError with what is missing or wrong."""
    exp_id, run_id = names["experiment_id"], names["run_id"]
    run_route = "/experiments/%s/runs/%s" % (exp_id, run_id)

    def experiment_list(page):
        page.get_by_role("link", name=names["experiment"], exact=True).wait_for()
        _close_overlays(page)

    def experiment_runs(page):
        page.get_by_role("link", name=names["run"], exact=True).first.wait_for()
        _close_overlays(page)

    def run_overview(page):
        for key, value in names["params"].items():
            page.locator('[role="cell"]', has_text=re.compile("^%s$" % re.escape(key))).first.wait_for()
            page.locator('[title="%s"]' % value).first.wait_for()
        _close_overlays(page)

    def metric_chart(page):
        # Plotly draws the history as one SVG path per trace, a point per logged step.
        line = page.locator("svg path.js-line").first
        line.wait_for()
        page.wait_for_function(
            "n => [...document.querySelectorAll('svg path.js-line')]"
            ".some(p => (p.getAttribute('d') || '').split(/[ML]/).length - 1 === n)",
            arg=len(names["loss"]))
        box = line.bounding_box()
        assert box and box["width"] > 50 and box["height"] > 20, "the loss line is not drawn: %s" % box
        assert _line_points(line.get_attribute("d")) == len(names["loss"])
        page.get_by_text("loss", exact=True).first.wait_for()
        _close_overlays(page)

    def artifact_list(page):
        page.locator('[data-testid="artifact-tree-node"][artifact-name="%s"]' % names["artifact"]).wait_for()
        _close_overlays(page)

    def model_list(page):
        page.get_by_role("link", name=names["model"], exact=True).wait_for()
        _close_overlays(page)

    def model_page(page):
        page.locator('[role="status"][title="%s"]' % names["alias"]).first.wait_for()
        _close_overlays(page)

    browser.check("experiments", "/experiments", experiment_list)
    browser.check("experiment-runs", "/experiments/%s/runs" % exp_id, experiment_runs)
    browser.check("run-params", run_route, run_overview)
    browser.check("run-metric-chart", run_route + "/model-metrics", metric_chart)
    browser.check("run-artifacts", run_route + "/artifacts", artifact_list)
    browser.check("model-registry", "/models", model_list)
    browser.check("registered-model", "/models/%s" % urllib.parse.quote(names["model"], safe=""), model_page)


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path
