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
    "serve": "read plates over HTTP (POST /v1/read; port=8080 pipeline=NAME)",
    "synth": "generate synthetic data sets (synth [preview] ...)",
    "mine": "write a detector's false positives on labelled photos, for detector training",
    "segments": "draw the segments a parallel-STN recognizer cuts from plates (seed 002, Fig. 5)",
    "plugins": "list plugins and registered components",
}

USAGE = "usage: alprkit COMMAND [WORDS] [key=value ...] [--cfg]\n\ncommands:\n" + "\n".join(
    f"  {name:<12} {text}" for name, text in COMMANDS.items()
)


# The key a bare word fills: `alprkit run car.jpg` is `alprkit run input=car.jpg`.
POSITIONAL = {"run": "input", "eval": "data", "segments": "input"}
MULTIRUN = ("-m", "--multirun")  # Hydra's multirun: a sweep of jobs on a launcher (leaderboard)
FLAGS = ("--cfg", "--help", "-h", *MULTIRUN)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        return _fail(f"unknown command {command!r} (commands: {', '.join(COMMANDS)})")

    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from .errors import AlprkitError

    try:
        if command != "plugins" and ("--help" in rest or "-h" in rest):
            print(command_usage(command))
            return 0
        module = importlib.import_module(f"alprkit.commands.{command}")
        if command == "plugins":
            return module.main(rest)
        flags, words, overrides = split_arguments(command, rest)
        if flags & set(MULTIRUN):
            return _multirun(module, command, words, rest)
        from .checks import check_config
        from .config import compose

        cfg = compose(command, overrides)
        if "--cfg" in flags:
            print(OmegaConf.to_yaml(cfg), end="")
            return 0
        check_config(command, cfg, overrides)
        extra = {"overrides": overrides} if getattr(module, "TAKES_OVERRIDES", False) else {}
        return int(module.main(cfg, words, **extra) or 0)
    except AlprkitError as exc:
        return _fail(str(exc))
    except OmegaConfBaseException as exc:  # a missing or mistyped config value met at run time
        from .config import omegaconf_error

        return _fail(str(omegaconf_error(exc)))
    except ImportError as exc:  # a base install (no train extra) running train, export, a torch backend ...
        from .extras import missing_train_module, train_extra_error

        module = missing_train_module(exc)
        if module is None:
            raise
        return _fail(str(train_extra_error(f"alprkit {command}", module)))
    except KeyboardInterrupt:
        print("alprkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _multirun(module, command, words, rest) -> int:
    """``-m``: the command's overrides, sweeps kept as Hydra reads them, go to its multirun launcher."""
    from .errors import ConfigError

    if not hasattr(module, "multirun"):
        raise ConfigError(f"-m (multirun) is for alprkit leaderboard; {command} runs one job")
    return int(module.multirun(words, [a for a in rest if "=" in a and a not in FLAGS]) or 0)


def split_arguments(command: str, rest) -> tuple[set, list, list]:
    """(flags, words, Hydra overrides); a bare word of run/eval becomes its ``input=``/``data=``."""
    from .errors import ConfigError

    flags = {a for a in rest if a.startswith("--") or (a.startswith("-") and "=" not in a)}
    unknown = sorted(flags - set(FLAGS))
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r} (options: --cfg, --help, -m; settings are key=value)")
    words = [a for a in rest if "=" not in a and a not in flags]
    overrides = [hydra_safe(a) for a in rest if "=" in a and a not in flags]
    key = POSITIONAL.get(command)
    if key and words:
        if len(words) > 1:
            raise ConfigError(f"{command} takes one {key} (a file or folder), got {len(words)}: {' '.join(words)}")
        if any(o.split("=", 1)[0].lstrip("+") == key for o in overrides):
            raise ConfigError(f"{words[0]!r} and {key}= both name the {key}: give one")
        overrides.append(hydra_safe(f"{key}={words[0]}", always=True))  # a path, even if it reads as a number
        words = []
    return flags, words, overrides


def hydra_safe(override: str, always: bool = False) -> str:
    """``override`` with its value quoted where Hydra's grammar would misread it.

    Hydra's lexer rejects non-ASCII letters (the project's own Chinese file names),
    parentheses and the like in unquoted values, and reads ``a,b`` as a sweep; a path
    with any of these works only quoted, so it is quoted here. Values that already parse
    as one value (numbers, lists, ``null``, interpolations) are left as they are.
    """
    key, _, value = override.partition("=")
    if not always and (not value or value[0] in "'\"[{"):
        return override
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_override(override)
        if not always and not parsed.is_sweep_override():
            return override
    except Exception:  # Hydra's lexer and parser errors share no base class worth naming
        pass
    return f"{key}='" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def command_usage(command: str) -> str:
    """``alprkit COMMAND --help``: the command's synopsis and its module's description."""
    module = importlib.import_module(f"alprkit.commands.{command}")
    positional = f" [{POSITIONAL[command].upper()}]" if command in POSITIONAL else ""
    doc = (module.__doc__ or COMMANDS[command]).strip()
    return (f"usage: alprkit {command}{positional} [key=value ...] [--cfg]\n\n{doc}\n\n"
            f"`alprkit {command} --cfg` prints every key with its value; a key=value or group=option "
            "overrides it (Hydra syntax).")


def _fail(message: str) -> int:
    print(f"alprkit: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
