import json
from importlib.metadata import version

import pytest
from helpers import plugin_env, run_alprkit, run_python

from alprkit.hookspecs import hookimpl
from alprkit.plugins import ENV_PLUGINS, discover

ALPRKIT_VERSION = version("alprkit")


@pytest.fixture
def no_plugin_selection(monkeypatch):
    monkeypatch.delenv(ENV_PLUGINS, raising=False)


def by_name(plugin_set):
    return {p.provider.plugin: p for p in plugin_set.plugins}


def test_bundled_plugins_come_from_entry_points(no_plugin_selection):
    found = discover()
    assert not found.failures
    plugins = by_name(found)
    assert {"basics", "lprnet"} <= set(plugins)
    for name in ("basics", "lprnet"):
        provider = plugins[name].provider
        assert (provider.distribution, provider.version) == ("alprkit", ALPRKIT_VERSION)
    assert "alprkit_register_decoders" in plugins["basics"].hooks
    assert "alprkit_register_recognizers" in plugins["lprnet"].hooks
    registry = found.registry
    assert registry.get("decoder", "greedy").provider == plugins["basics"].provider
    assert registry.get("recognizer", "lprnet_basic").provider == plugins["lprnet"].provider
    assert {"pkg://alprkit_basics.conf", "pkg://alprkit_lprnet.conf"} <= set(found.config_sources)


def test_env_var_selects_exactly_those_plugins(monkeypatch):
    monkeypatch.setenv(ENV_PLUGINS, "basics")
    found = discover()
    assert [p.provider.plugin for p in found.plugins] == ["basics"]
    assert found.registry.names("recognizer") == []
    assert "greedy" in found.registry.names("decoder")
    assert found.config_sources == ["pkg://alprkit_basics.conf"]


def test_empty_env_var_loads_no_plugin(monkeypatch):
    monkeypatch.setenv(ENV_PLUGINS, "")
    found = discover()
    assert found.plugins == [] and found.failures == [] and found.config_sources == []
    assert found.registry.components() == []


def test_env_var_naming_a_missing_plugin_is_reported(monkeypatch):
    monkeypatch.setenv(ENV_PLUGINS, " basics , no_such_plugin ")
    found = discover()
    assert [p.provider.plugin for p in found.plugins] == ["basics"]
    assert [(f.plugin, f.error) for f in found.failures] == [
        ("no_such_plugin", f"not installed (named in {ENV_PLUGINS})")]


class RaisingPlugin:
    @hookimpl
    def alprkit_register_detectors(self, register):
        raise RuntimeError("weights server unreachable")


class GoodPlugin:
    @hookimpl
    def alprkit_register_postfilters(self, register):
        register("keep_all", lambda: (lambda recognition: recognition))

    @hookimpl
    def alprkit_register_configs(self, register):
        register("pkg://good_plugin.conf")


class ClashingPlugin:
    @hookimpl
    def alprkit_register_decoders(self, register):
        register("greedy", object)


def test_a_raising_plugin_is_reported_and_the_others_still_load(no_plugin_selection):
    found = discover(extra_plugins=[("raiser", RaisingPlugin()), ("good", GoodPlugin())])
    assert [(f.plugin, f.error) for f in found.failures] == [("raiser", "RuntimeError: weights server unreachable")]
    assert {"basics", "lprnet", "good"} <= set(by_name(found)) and "raiser" not in by_name(found)
    assert found.registry.get("postfilter", "keep_all").provider.plugin == "good"
    assert "pkg://good_plugin.conf" in found.config_sources
    assert "greedy" in found.registry.names("decoder")


def test_a_duplicate_name_is_a_failure_naming_both_plugins(no_plugin_selection):
    found = discover(extra_plugins=[("clash", ClashingPlugin())])
    [failure] = found.failures
    assert failure.plugin == "clash"
    assert "greedy" in failure.error and "basics" in failure.error and "clash" in failure.error
    assert found.registry.get("decoder", "greedy").provider.plugin == "basics"  # the first keeps its name


@pytest.fixture(scope="module")
def broken_plugin_path(tmp_path_factory):
    """A folder holding an installed distribution whose alprkit entry point names a missing module."""
    root = tmp_path_factory.mktemp("site")
    dist_info = root / "alprkit_broken-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: alprkit-broken\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[alprkit]\nbroken = alprkit_broken_missing_module\n")
    return root


def test_a_plugin_that_fails_to_import_is_reported_by_the_command(broken_plugin_path):
    env = plugin_env(pythonpath=broken_plugin_path)
    text = run_alprkit("plugins", env=env)
    assert text.returncode == 1, text.stderr
    assert "Traceback" not in text.stdout + text.stderr
    failed = text.stdout.split("failed to load:")[1]
    assert "broken: ModuleNotFoundError" in failed and "alprkit_broken_missing_module" in failed
    assert "greedy" in text.stdout  # the bundled plugins are still listed

    listing = run_alprkit("plugins", "json", env=env)  # "--json" is lost on the way: see test_cli
    assert listing.returncode == 1
    report = json.loads(listing.stdout)
    [failure] = report["failures"]
    assert failure["plugin"] == "broken" and "alprkit_broken_missing_module" in failure["error"]
    assert {"basics", "lprnet"} <= {p["name"] for p in report["plugins"]}


def test_listing_plugins_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from alprkit.cli import main\n"
        "from alprkit.plugins import discover\n"
        "assert not discover().failures\n"
        "status = main(['plugins', 'json'])\n"
        "heavy = [m for m in ('torch', 'cv2', 'timm', 'onnxruntime', 'pytorch_lightning') if m in sys.modules]\n"
        "print('HEAVY', heavy, status, file=sys.stderr)\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "HEAVY [] 0" in result.stderr
    assert json.loads(result.stdout)["components"]["recognizer"]  # the listing did see the recognizers
