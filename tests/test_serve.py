"""``alprkit serve`` over real HTTP on the loopback address: good uploads, bad ones, and a load test.

One server (a subprocess, ``port=0``) serves the whole module; its answers are compared with
what the Python API reads in the same images (tests/test_api.py ties those to ``alprkit run``).
"""

import importlib.util
import json
import signal
import socket
import threading
import time

import cv2
import numpy as np
import pytest
from helpers import (  # noqa: F401 (one_torch_thread: a fixture)
    REPO,
    FakeRecognizer,
    assert_one_line_error,
    cli,
    one_torch_thread,
    plugin_env,
    run_python,
)

import alprkit
from alprkit import plugins
from alprkit.errors import InputError
from alprkit.imageio import NotAnImageError
from alprkit.microbatch import MicroBatcher
from alprkit.pipeline import Pipeline
from alprkit.serve import Upload, read_uploads, status_of
from alprkit.serve_client import Sample, ServerProcess, load_test, multipart, post_image, request

SAMPLES = REPO / "alprkit" / "samples"
CN = sorted((SAMPLES / "crops_cn" / "base").glob("*.jpg"))
US = sorted((SAMPLES / "crops_us" / "base").glob("*.jpg"))
MAX_UPLOAD = 200_000  # bytes: max_upload_mb=0.2
TIMEOUT = 5  # seconds: the server's timeout=

# One torch thread in this process's reads, where torch is installed (the base install reads without it).
pytestmark = [pytest.mark.usefixtures("one_torch_thread")] if importlib.util.find_spec("torch") else []


@pytest.fixture(scope="module")
def server():
    with ServerProcess("pipeline=lprnet_cn", "pipelines=[lprnet_us]", f"max_upload_mb={MAX_UPLOAD / 1e6}",
                       f"timeout={TIMEOUT}", "threads=1", "allow=[decoder,decoder.beam_width]",
                       env=plugin_env(), cwd=REPO) as process:
        yield process
    # Stopped with SIGTERM: uvicorn shuts down cleanly, then raises the signal again (status -15).
    assert process.process.returncode in (0, -signal.SIGTERM), "\n".join(process.stderr[-20:])
    assert not any("Traceback" in line for line in process.stderr), "\n".join(process.stderr[-20:])


@pytest.fixture(scope="module")
def expected():
    """The API's JSON objects for each sample, by (pipeline, file name), minus their ``source``."""
    answers = {}
    for name, paths, settings in [("lprnet_cn", CN, {}), ("lprnet_us", US, {}),
                                  ("lprnet_cn greedy", CN, {"decoder": "greedy"})]:
        reader = alprkit.Reader(name.split()[0], **settings)
        for path, reads in zip(paths, reader.read_batch(paths)):
            answers[name, path.name] = [without_source(r.to_json()) for r in reads]
    return answers


def without_source(plate: dict) -> dict:
    return {k: v for k, v in plate.items() if k != "source"}


def assert_error(status, answer, code, *fragments):
    """A user's mistake: the status, and a JSON object with one key, ``error``, on one line."""
    assert status == code, answer
    assert list(answer) == ["error"] and answer["error"] and "\n" not in answer["error"], answer
    for fragment in fragments:
        assert fragment in answer["error"], answer


# -- the service's pages -----------------------------------------------------------------------


def test_healthz_and_pipelines(server):
    status, health = request(server.url, "GET", "/healthz")
    assert status == 200 and health["status"] == "ok" and health["pipelines"] == ["lprnet_cn", "lprnet_us"]
    status, listing = request(server.url, "GET", "/v1/pipelines")
    assert status == 200 and listing["default"] == "lprnet_cn"
    assert [(p["name"], p["region"], p["components"]["recognizer"]) for p in listing["pipelines"]] == \
        [("lprnet_cn", "cn", "lprnet_basic.cn"), ("lprnet_us", "us", "lprnet_basic.us")]
    assert listing["allow"] == ["decoder", "decoder.beam_width"]
    assert listing["limits"] == {"max_upload_bytes": MAX_UPLOAD, "max_pixels": 50_000_000, "timeout_s": TIMEOUT}


def test_openapi_docs(server):
    status, spec = request(server.url, "GET", "/openapi.json")
    assert status == 200
    read = spec["paths"]["/v1/read"]["post"]
    assert {"multipart/form-data", "application/octet-stream"} <= set(read["requestBody"]["content"])
    assert {"200", "400", "404", "408", "413", "415", "422"} <= set(read["responses"])
    status, page = request(server.url, "GET", "/docs")
    assert status == 200 and "swagger" in page["raw"].lower()


# -- good uploads --------------------------------------------------------------------------------


@pytest.mark.parametrize("form", [True, False], ids=["multipart", "raw"])
def test_each_sample_reads_as_the_api_reads_it(server, expected, form):
    for path in CN:
        status, answer = post_image(server.url, path.read_bytes(), path.name if form else None)
        assert status == 200, answer
        assert [p["source"] for p in answer["plates"]] == [path.name if form else "upload"] * len(answer["plates"])
        assert [without_source(p) for p in answer["plates"]] == expected["lprnet_cn", path.name]


def test_a_request_picks_a_served_pipeline_and_an_allowed_override(server, expected):
    for path in US[:3]:
        status, answer = post_image(server.url, path.read_bytes(), params={"pipeline": "lprnet_us"})
        assert status == 200 and [without_source(p) for p in answer["plates"]] == expected["lprnet_us", path.name]
    for path in CN[:3]:  # as query parameters, and as form fields beside the image
        status, answer = post_image(server.url, path.read_bytes(), params={"decoder": "greedy"})
        assert status == 200 and [without_source(p) for p in answer["plates"]] == \
            expected["lprnet_cn greedy", path.name]
        body, content_type = multipart({"decoder": "greedy"}, {"image": (path.name, path.read_bytes())})
        status, answer = request(server.url, "POST", "/v1/read", body, {"Content-Type": content_type})
        assert status == 200 and [without_source(p) for p in answer["plates"]] == \
            expected["lprnet_cn greedy", path.name]


def test_a_photo_for_a_crops_pipeline_is_still_answered(server):
    photo = cv2.imencode(".png", np.full((480, 640, 3), 255, np.uint8))[1].tobytes()
    status, answer = post_image(server.url, photo)
    assert status == 200 and isinstance(answer["plates"], list)


# -- bad uploads -----------------------------------------------------------------------------------


def jpeg():
    return CN[0].read_bytes()


BAD = {
    "empty body": (lambda: ("POST", "/v1/read", b"", {}), 400, ["empty upload"]),
    "not an image": (lambda: ("POST", "/v1/read", b"plain text, no picture" * 10, {}), 415, ["not an image"]),
    "truncated jpeg": (lambda: ("POST", "/v1/read", jpeg()[: len(jpeg()) // 2], {}), 422, ["truncated JPEG"]),
    "too large": (lambda: ("POST", "/v1/read", b"\xff" * (MAX_UPLOAD + 1), {}), 413, ["limit of 200,000 bytes"]),
    "too large, declared": (lambda: ("POST", "/v1/read", b"\xff" * (4 * MAX_UPLOAD), {}), 413, ["max_upload_mb"]),
    "wrong field": (lambda: ("POST", "/v1/read", *form({}, {"photo": ("a.jpg", jpeg())})), 400,
                    ["no field 'image'", "'photo'"]),
    "text in the image field": (lambda: ("POST", "/v1/read", *form({"image": "a.jpg"}, {})), 400,
                                ["must be a file upload"]),
    "two images": (lambda: ("POST", "/v1/read", *two_images()), 400, ["one image per request"]),
    "no boundary": (lambda: ("POST", "/v1/read", jpeg(), {"Content-Type": "multipart/form-data"}), 400,
                    ["bad multipart upload"]),
    "unknown pipeline": (lambda: ("POST", "/v1/read?pipeline=lprnet_xx", jpeg(), {}), 404,
                         ["unknown pipeline 'lprnet_xx'", "lprnet_cn, lprnet_us"]),
    "disallowed override": (lambda: ("POST", "/v1/read?recognizer.weights=/etc/passwd", jpeg(), {}), 400,
                            ["'recognizer.weights' is not allowed", "decoder.beam_width"]),
    "bad override value": (lambda: ("POST", "/v1/read?decoder.beam_width=-3", jpeg(), {}), 422,
                           ["beam_width", "-3"]),
    "unknown decoder": (lambda: ("POST", "/v1/read?decoder=nope", jpeg(), {}), 422, ["unknown decoder 'nope'"]),
    "interpolation": (lambda: ("POST", "/v1/read?decoder.beam_width=%24%7Boc.env%3AHOME%7D", jpeg(), {}), 422,
                      ["plain word or number"]),
    "given twice": (lambda: ("POST", "/v1/read?pipeline=lprnet_us&pipeline=lprnet_cn", jpeg(), {}), 400,
                    ["'pipeline' is given twice"]),
    "unknown route": (lambda: ("GET", "/v1/reed", b"", {}), 404, ["Not Found"]),
    "wrong method": (lambda: ("GET", "/v1/read", b"", {}), 405, ["Method Not Allowed"]),
}


def form(fields, files):
    body, content_type = multipart(fields, files)
    return body, {"Content-Type": content_type}


def two_images():
    def part(name):
        head = f'--b0undary\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n\r\n'
        return head.encode() + jpeg() + b"\r\n"

    return part("a.jpg") + part("b.jpg") + b"--b0undary--\r\n", {"Content-Type": "multipart/form-data; boundary=b0undary"}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_request_is_a_4xx_with_a_one_line_json_error(server, case):
    make, code, fragments = BAD[case]
    method, path, body, headers = make()
    status, answer = request(server.url, method, path, body, headers)
    assert_error(status, answer, code, *fragments)


def test_a_stalled_upload_is_answered_408(server):
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=TIMEOUT + 30) as connection:
        connection.sendall(b"POST /v1/read HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n\xff\xd8")
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
            chunk = connection.recv(65536)
            assert chunk, f"the server closed the connection after {answer!r}"
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert_error(408, json.loads(body), 408, f"longer than {TIMEOUT} s")


def _length(answer: bytes) -> int:
    """The Content-Length of a response's head (0 until the head is complete)."""
    head = answer.partition(b"\r\n\r\n")[0].lower()
    found = [line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.startswith(b"content-length:")]
    return int(found[0]) if found else 0


def test_the_server_still_reads_after_the_bad_requests(server, expected):
    status, answer = post_image(server.url, CN[3].read_bytes())
    assert status == 200 and [without_source(p) for p in answer["plates"]] == expected["lprnet_cn", CN[3].name]


# -- under load ---------------------------------------------------------------------------------------


def test_load_500_requests_from_8_clients(server, expected):
    samples = [Sample(p.name, p.read_bytes(), tuple(x["text"] for x in expected["lprnet_cn", p.name])) for p in CN]
    report = load_test(server.url, samples, requests=500, clients=8)
    print(f"\nalprkit serve load test: {report.summary()}")
    assert report.failures == [] and report.wrong == []
    assert len(report.latencies) == 500
    _, health = request(server.url, "GET", "/healthz")
    assert health["largest_batch"] > 1, health  # concurrent requests were read together


# -- the command line --------------------------------------------------------------------------------


@pytest.mark.parametrize("args, fragments", [
    (["pipeline=nope"], ["unknown pipeline 'nope'"]),
    (["pipelines=[lprnet_cn,nope]"], ["unknown pipeline 'nope'"]),
    (["port=70000"], ["port must be 0..65535"]),
    (["port=http"], ["port must be a whole number"]),
    (["batch.max_size=0"], ["batch.max_size must be >= 1"]),
    (["timeout=0"], ["timeout must be > 0"]),
    (["allow=decoder"], ["allow must be a list"]),
    (["decoder.beam_widht=3"], ["'decoder.beam_widht'"]),
    (["extra"], ["serve takes no words"]),
], ids=["pipeline", "pipelines", "port-range", "port-type", "batch", "timeout", "allow", "key", "word"])
def test_config_mistakes_are_one_line_before_the_port_opens(capsys, args, fragments):
    status, out, err = cli(capsys, "serve", *args)
    assert_one_line_error(status, err, *fragments)
    assert out == ""


def test_a_taken_port_is_one_line(capsys):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        status, _, err = cli(capsys, "serve", "pipeline=lprnet_cn", f"port={taken.getsockname()[1]}")
    assert_one_line_error(status, err, "cannot listen on host=127.0.0.1", "in use")


def test_serve_help(capsys):
    status, out, _ = cli(capsys, "serve", "--help")
    assert status == 0 and out.startswith("usage: alprkit serve [key=value ...]") and "/v1/read" in out


def test_the_server_modules_import_no_model_library():
    result = run_python(
        "import sys\n"
        "import alprkit.serve, alprkit.served_pipelines, alprkit.microbatch, alprkit.serve_client, alprkit.api\n"
        "heavy = {'torch', 'timm', 'lightning', 'pytorch_lightning', 'onnxruntime'} & set(sys.modules)\n"
        "assert not heavy, heavy\n")
    assert result.returncode == 0, result.stderr


# -- the pieces, without HTTP ---------------------------------------------------------------------------


def test_the_batcher_reads_items_that_arrive_together_in_one_batch():
    seen = []
    release = threading.Event()

    def process(items):
        seen.append(list(items))
        release.wait(5)  # the first batch holds the worker while the rest queue up
        return [ValueError(f"bad {i}") if i == 3 else i * 10 for i in items]

    batcher = MicroBatcher(process, max_size=4, wait_s=0)
    futures = [batcher.submit(0)]
    time.sleep(0.2)
    futures += [batcher.submit(i) for i in range(1, 7)]
    release.set()
    assert [f.result(5) if i != 3 else None for i, f in enumerate(futures)][:3] == [0, 10, 20]
    with pytest.raises(ValueError, match="bad 3"):
        futures[3].result(5)
    assert [f.result(5) for f in futures[4:]] == [40, 50, 60]
    assert seen == [[0], [1, 2, 3, 4], [5, 6]]
    assert (batcher.batches, batcher.items, batcher.largest) == (3, 7, 4)
    batcher.close(5)
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit(1)


def test_the_batcher_drops_cancelled_items_and_fails_a_batch_that_raises():
    started = threading.Event()
    release = threading.Event()
    calls = []

    def process(items):
        calls.append(list(items))
        started.set()
        release.wait(5)
        if "boom" in items:
            raise RuntimeError("boom")
        return list(items)

    batcher = MicroBatcher(process, max_size=8, wait_s=0)
    first = batcher.submit("a")
    assert started.wait(5)
    cancelled, boom = batcher.submit("timed out"), batcher.submit("boom")
    assert cancelled.cancel()
    release.set()
    assert first.result(5) == "a"
    with pytest.raises(RuntimeError, match="boom"):
        boom.result(5)
    assert calls == [["a"], ["boom"]]
    batcher.close(5)


def test_read_uploads_decodes_groups_and_answers_each():
    registry = plugins.registry()
    recognizer = FakeRecognizer()
    pipeline = Pipeline(registry.create("detector", "whole_image"), registry.create("rectifier", "identity"),
                        recognizer, registry.create("decoder", "greedy"), timed=False)
    def png(text):  # a picture FakeRecognizer reads as text
        return cv2.imencode(".png", cv2.cvtColor(recognizer.encode(text), cv2.COLOR_RGB2BGR))[1].tobytes()

    uploads = [Upload(pipeline, png("AB12"), "a.png"), Upload(pipeline, b"no picture", "b.bin"),
               Upload(pipeline, png("H0"), "c.png")]
    a, b, c = read_uploads(uploads, max_pixels=10_000)
    assert recognizer.calls == 1  # the two images were read in one batch
    assert [p["text"] for p in a] == ["AB12"] and a[0]["source"] == "a.png" and [p["text"] for p in c] == ["H0"]
    assert isinstance(b, NotAnImageError) and status_of(b) == 415
    [too_big] = read_uploads([Upload(pipeline, uploads[0].data, "a.png")], max_pixels=100)
    assert isinstance(too_big, InputError) and "too large" in str(too_big) and status_of(too_big) == 422
