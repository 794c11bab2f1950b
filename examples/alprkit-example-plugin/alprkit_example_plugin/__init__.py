"""An example alprkit plugin: drop reads whose confidence is below a threshold."""

from alprkit.hookspecs import hookimpl


class MinConfidence:
    """Drop a read when the recognizer's confidence is below ``threshold``."""

    def __init__(self, threshold: float = 0.5):
        if not 0.0 <= float(threshold) <= 1.0:
            from alprkit.errors import ConfigError

            raise ConfigError(f"min_confidence threshold must be in [0, 1], got {threshold!r}")
        self.threshold = float(threshold)

    def __call__(self, recognition):
        return recognition if recognition.confidence >= self.threshold else None


@hookimpl
def alprkit_register_postfilters(register):
    register("min_confidence", MinConfidence)


@hookimpl
def alprkit_register_configs(register):
    register("pkg://alprkit_example_plugin.conf")
