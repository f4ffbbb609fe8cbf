"""``packline-cloud ingest``: the process that applies station messages (:mod:`cloud.sync.ingest`)."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import click

from cloud.cli.base import CliContext, cli
from cloud.sync.ingest import Ingest, IngestSettings


@cli.command("ingest")
@click.option("--host", envvar="PACKLINE_CLOUD_BROKER_HOST", default="127.0.0.1", show_default=True,
              help="Broker host.")
@click.option("--port", envvar="PACKLINE_CLOUD_BROKER_PORT", type=int, default=8893, show_default=True,
              help="Broker TLS port.")
@click.option("--username", envvar="PACKLINE_CLOUD_BROKER_USERNAME", default="cloud", show_default=True,
              help="Broker user.")
@click.option("--password", envvar="PACKLINE_CLOUD_BROKER_PASSWORD", default=None, help="Broker password.")
@click.option("--ca-file", envvar="PACKLINE_CLOUD_BROKER_CA", default=None,
              help="CA certificate of the broker (plain TCP when omitted).")
@click.option("--client-id", default="cloud-ingest", show_default=True,
              help="MQTT client id (its persistent session holds messages while ingest is down).")
@click.option("--shared", "shared_group", default=None,
              help="Shared-subscription group, to run several ingest processes.")
@click.option("--resend-after", type=float, default=10.0, show_default=True,
              help="Seconds before an unacked down-message is re-sent (doubles each time).")
@click.option("--puback-on-receipt", is_flag=True,
              help="PUBACK on receipt instead of after the commit (faster; stations re-send "
                   "whatever a crash loses).")
@click.option("--max-seconds", type=float, default=None, hidden=True)
@click.pass_obj
def ingest_command(
    obj: CliContext, host: str, port: int, username: str, password: str | None, ca_file: str | None,
    client_id: str, shared_group: str | None, resend_after: float, puback_on_receipt: bool,
    max_seconds: float | None,
) -> None:
    """接收工作站消息 / ingest: apply station messages, ack them, send down-messages."""
    from cloud.db import migrate
    from edge.sync.broker import MqttBroker, MqttSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = obj.engine()
    migrate(engine)
    broker = MqttBroker(MqttSettings(host=host, port=port, client_id=client_id, username=username,
                                     password=password, ca_file=ca_file))
    ingest = Ingest(engine, broker, IngestSettings(
        resend_after=resend_after, shared_group=shared_group, puback_on_receipt=puback_on_receipt))

    def _stop(signum: int, frame: FrameType | None) -> None:
        ingest.stop_event.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"接收已启动 / ingest started: {host}:{port} as {username}", err=True)
    try:
        ingest.run(max_seconds=max_seconds)
    finally:
        broker.disconnect()
