"""``ubltr serve``: the HTTP API and the web page (ubltr.serve) under uvicorn."""

from __future__ import annotations

import logging
import os

import click

from ._common import fail


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="server processes (each runs --concurrency documents at once)")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None,
              help="documents worked on at once per process (default: CPUs)")
@click.option("--max-body", type=click.IntRange(1), default=None, help="largest request body in bytes (default 20 MB)")
@click.option("--timeout", type=click.FloatRange(0.1), default=None, help="seconds one document may take (default 60)")
@click.option("--api-keys-file", type=click.Path(dir_okay=False), default=None,
              help="require one of these keys (one a line) in X-API-Key; also $UBLTR_API_KEYS (comma-separated)")
def serve_cmd(host: str, port: int, workers: int, concurrency: int | None, max_body: int | None,
              timeout: float | None, api_keys_file: str | None) -> None:
    """Run the HTTP API (OpenAPI at /openapi.json) and the web page (/) with uvicorn.

    \b
    Examples:
      ubltr serve                                  # http://127.0.0.1:8080/
      ubltr serve --host 0.0.0.0 --port 9000 --workers 2 --api-keys-file keys.txt
    """
    try:
        import uvicorn
        import starlette  # noqa: F401
    except ImportError:
        fail("ubltr serve needs the 'serve' extra: pip install 'ubltr[serve]' (starlette, uvicorn)")
    # the settings travel through the environment so that every --workers process agrees
    for name, value in (("MAX_BODY", max_body), ("TIMEOUT", timeout), ("CONCURRENCY", concurrency)):
        if value is not None:
            os.environ[f"UBLTR_SERVE_{name}"] = str(value)
    if api_keys_file:
        if not os.path.isfile(api_keys_file):
            fail(f"--api-keys-file: {api_keys_file}: no such file")
        os.environ["UBLTR_API_KEYS_FILE"] = os.path.abspath(api_keys_file)
    from ubltr.serve.app import Settings

    try:
        settings = Settings.from_env()
    except (ValueError, OSError) as exc:
        fail(f"bad service settings: {exc}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from ubltr.validation import warm_up

    warm_up()  # compile the rules once, before the first request (and before forking workers)
    click.echo(f"ubltr serve: http://{host}:{port}/ ({workers} worker(s), {settings.concurrency} at once each, "
               f"API keys {'required' if settings.api_keys else 'off'})", err=True)
    uvicorn.run("ubltr.serve.app:create_app", factory=True, host=host, port=port, workers=workers,
                access_log=False, log_level="info", server_header=False)


COMMANDS = [serve_cmd]
