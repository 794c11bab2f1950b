"""``alprkit serve``: read plates over HTTP.

    alprkit serve pipeline=lprnet_cn port=8080
    curl -F image=@crop.jpg http://127.0.0.1:8080/v1/read

POST /v1/read (the multipart field `image`, or the raw body) answers {"plates": [...]}
with the objects `alprkit run` prints; GET /v1/pipelines, GET /healthz, API docs at /docs.
The pipelines are loaded once, before the port opens; a mistake in the config is one line
and exit status 2. Endpoints, limits, keys and the load test: docs/serve.md.
"""

from __future__ import annotations

from ..errors import ConfigError

# The CLI hands this command its overrides too: the server composes a request's variant
# of a pipeline from them plus the request's own.
TAKES_OVERRIDES = True


def main(cfg, words, overrides=()) -> int:
    if words:
        raise ConfigError(f"serve takes no words: {' '.join(words)!r} (usage: alprkit serve [key=value ...])")
    from ..serve import serve

    return serve(cfg, overrides)
