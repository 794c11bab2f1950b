"""The ``alprkit`` command: ``alprkit COMMAND [WORDS] [key=value ...]``.

Every command but ``plugins`` composes ``conf/<command>.yaml`` with the given Hydra
overrides; ``--cfg`` prints the composed config instead of running.
"""

from __future__ import annotations

import importlib
import os
import sys

COMMANDS = {
    "run": "read plates in an image, a folder of images or a video",
    "eval": "score a pipeline on a labelled dataset (pipeline=NAME data=PATH)",
    "train": "train a recognizer or detector (recognizer=NAME dataset=NAME)",
    "leaderboard": "score every pipeline on every benchmark set and write the leaderboard",
    "export": "export a recognizer or detector to ONNX",
    "bench": "measure plates/s and ms per plate of recognizers and backends",
    "synth": "generate synthetic data sets (synth [preview] ...)",
    "plugins": "list plugins and registered components",
}

USAGE = "usage: alprkit COMMAND [WORDS] [key=value ...] [--cfg]\n\ncommands:\n" + "\n".join(
    f"  {name:<12} {text}" for name, text in COMMANDS.items()
)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        return _fail(f"unknown command {command!r} (commands: {', '.join(COMMANDS)})")
    flags = {a for a in rest if a.startswith("--")}
    words = [a for a in rest if "=" not in a and not a.startswith("--")]
    overrides = [a for a in rest if "=" in a and not a.startswith("--")]

    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from .errors import AlprkitError

    try:
        module = importlib.import_module(f"alprkit.commands.{command}")
        if command == "plugins":
            return module.main(rest)
        from .config import compose

        cfg = compose(command, overrides)
        if "--cfg" in flags:
            print(OmegaConf.to_yaml(cfg), end="")
            return 0
        return int(module.main(cfg, words) or 0)
    except AlprkitError as exc:
        return _fail(str(exc))
    except OmegaConfBaseException as exc:  # a missing or mistyped config value met at run time
        key = getattr(exc, "full_key", None)
        return _fail(f"config {key!r}: {str(exc).splitlines()[0]}" if key else str(exc).splitlines()[0])
    except KeyboardInterrupt:
        print("alprkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _fail(message: str) -> int:
    print(f"alprkit: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
