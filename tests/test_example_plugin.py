"""The example third-party package, installed into a temporary folder (never into the venv).

It must be found through its entry point, listed under its own name and
distribution, selectable from the command line with its YAML parameters, and
checked by the registry-wide contract test like a bundled component.
"""

import json
import shutil
import subprocess
import sys

import pytest
from helpers import REPO, plate_image, plugin_env, run_alprkit, run_python, write_rgb

EXAMPLE = REPO / "examples" / "alprkit-example-plugin"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder holding the installed example plugin, for PYTHONPATH."""
    # Built from a copy, so the build leaves no build/ or *.egg-info in the source tree.
    source = shutil.copytree(EXAMPLE, tmp_path_factory.mktemp("src") / EXAMPLE.name,
                             ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(source)], check=True, capture_output=True)
    return target


def test_the_example_is_not_installed_in_the_venv():
    from alprkit import plugins

    assert "example" not in {p.provider.plugin for p in plugins.default_plugins().plugins}


def test_its_component_is_listed_with_its_provider(site):
    result = run_alprkit("plugins", "json", env=plugin_env(pythonpath=site))
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert {"name": "example", "distribution": "alprkit-example-plugin", "version": "0.1.0",
            "hooks": ["alprkit_register_configs", "alprkit_register_postfilters"]} in listing["plugins"]
    [entry] = [c for c in listing["components"]["postfilter"] if c["name"] == "min_confidence"]
    assert (entry["plugin"], entry["distribution"], entry["version"]) == ("example", "alprkit-example-plugin", "0.1.0")
    assert entry["description"].startswith("Drop a read when")


def test_it_runs_in_the_pipeline_with_its_yaml_parameters(site, tmp_path):
    image = write_rgb(tmp_path / "plate.png", plate_image())
    # Every run in one interpreter: the imports are most of a run's time.
    code = (
        "from alprkit.cli import main\n"
        "for threshold in (0, 1, 3):\n"
        "    args = ['run', 'pipeline=untrained', 'progress=false', 'postfilter=[min_confidence]',\n"
        f"            f'postfilter.min_confidence.threshold={{threshold}}', 'input={image}']\n"
        "    print('STATUS', threshold, main(args), flush=True)\n"
        "print('STATUS cfg', main(['run', 'postfilter=[min_confidence]', '--cfg']), flush=True)\n"
    )
    result = run_python(code, env=plugin_env(pythonpath=site))
    assert result.returncode == 0, result.stderr
    kept, rest = result.stdout.split("STATUS 0 0\n")
    dropped, rest = rest.split("STATUS 1 0\n")
    bad, cfg = rest.split("STATUS 3 2\n")
    assert [json.loads(line)["source"] for line in kept.splitlines()] == [str(image)]  # threshold 0 keeps the read
    assert dropped == ""  # threshold 1: an untrained network's read is dropped
    assert "alprkit: 1 image read, 1 plate, 0 failed" in result.stderr
    assert "alprkit: 1 image read, 0 plates, 0 failed" in result.stderr
    assert bad == "" and "alprkit: error: min_confidence threshold must be in [0, 1], got 3\n" in result.stderr
    assert cfg.endswith("STATUS cfg 0\n")
    assert "min_confidence:\n    name: min_confidence\n    threshold: 0.5\n" in cfg  # the plugin's YAML


def test_the_contract_test_checks_it(site):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(REPO / "tests" / "test_contracts.py"),
         "-k", "postfilter:min_confidence"],
        capture_output=True, text=True, cwd=REPO, env=plugin_env(pythonpath=site), timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
