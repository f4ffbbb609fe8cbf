"""``packline-provision``: CA, broker files and station enrolment.

Secrets are written to files with mode 0600 and never printed; each command reports
"written to FILE". Errors are one line (Chinese / English), never a traceback.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from provisioning.broker_files import BrokerSettings
from provisioning.core import DeviceDefaults, Provisioner, ProvisionError

DEFAULT_STATE = "/var/lib/packline-provision"
"""State directory when neither ``--state`` nor ``PACKLINE_PROVISION_DIR`` is given."""


@click.group()
@click.option(
    "--state", "state", type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get("PACKLINE_PROVISION_DIR", DEFAULT_STATE), show_default=DEFAULT_STATE,
    help="Provisioning state directory (CA, registry, station files). Env: PACKLINE_PROVISION_DIR.",
)
@click.pass_context
def cli(ctx: click.Context, state: Path) -> None:
    """Provision the broker and packing stations."""
    ctx.obj = Provisioner(state)


def _fail(err: Exception) -> None:
    click.echo(f"错误 / error: {err}", err=True)
    sys.exit(1)


CLOUD_DB_HELP = ("Cloud database URL: the station is registered (or revoked) there in the same "
                 "step, so ingest accepts (or refuses) its messages. Env: PACKLINE_CLOUD_DATABASE_URL.")


@contextmanager
def _cloud(url: str | None) -> Iterator[Any]:
    """A write transaction on the cloud database (None without a URL), rolled back if the
    provisioning step inside fails."""
    if not url:
        yield None
        return
    from cloud.db import make_engine, require_current, write_transaction

    engine = make_engine(url)
    try:
        with write_transaction(engine) as conn:
            require_current(conn)
            yield conn
    finally:
        engine.dispose()


def _cloud_errors() -> tuple[type[Exception], ...]:
    from cloud.errors import CloudError

    return (ProvisionError, CloudError)


@cli.command()
@click.pass_obj
def init(prov: Provisioner) -> None:
    """Create the CA and the cloud's broker account (idempotent)."""
    prov.init()
    click.echo(f"CA written to {prov.state_dir / 'ca' / 'ca.crt'}")
    click.echo(f"cloud broker credentials written to {prov.state_dir / 'cloud.env'}")


@cli.command("broker-config")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for mosquitto.conf, passwd, acl and certificates.")
@click.option("--port", type=int, default=8883, show_default=True,
              help="Stations' TLS (password) listener port; client id = username there.")
@click.option("--cloud-port", type=int, default=8893, show_default=True,
              help="The cloud's TLS listener port (cloud account only; any client id).")
@click.option("--bind", default="0.0.0.0", show_default=True, help="Listener bind address.")  # noqa: S104
@click.option("--hostname", "hostnames", multiple=True,
              help="Server certificate name or IP (repeatable). Default: 127.0.0.1, localhost, this host.")
@click.option("--mtls-port", type=int, default=None, help="Extra listener requiring client certificates.")
@click.option("--max-queued-messages", type=int, default=10000, show_default=True)
@click.option("--max-inflight-messages", type=int, default=20, show_default=True)
@click.option("--persistence-dir", default=None, help="Persistence location (default OUT/data).")
@click.option("--autosave-interval", type=int, default=60, show_default=True)
@click.option("--run-as-user", default=None, help="'user' line of mosquitto.conf.")
@click.option("--file-owner", default=None,
              help="Chown broker files to this user. Default as root: the --run-as-user account, "
                   "else mosquitto (the broker reads its password file after dropping to it).")
@click.pass_obj
def broker_config(
    prov: Provisioner, out: Path, port: int, cloud_port: int, bind: str, hostnames: tuple[str, ...],
    mtls_port: int | None, max_queued_messages: int, max_inflight_messages: int,
    persistence_dir: str | None, autosave_interval: int, run_as_user: str | None, file_owner: str | None,
) -> None:
    """Write the mosquitto configuration, password file, ACL and TLS files."""
    names = list(hostnames) or ["127.0.0.1", "localhost", socket.gethostname()]
    settings = BrokerSettings(
        out=str(out.resolve()), port=port, cloud_port=cloud_port, bind=bind, hostnames=names, mtls_port=mtls_port,
        max_queued_messages=max_queued_messages, max_inflight_messages=max_inflight_messages,
        persistence_dir=persistence_dir, autosave_interval=autosave_interval,
        run_as_user=run_as_user, file_owner=file_owner,
    )
    try:
        conf = prov.write_broker_config(settings)
    except (ProvisionError, KeyError) as err:  # KeyError: unknown --file-owner user
        _fail(ProvisionError(str(err)))
        return
    click.echo(f"broker configuration written to {conf.parent}")


@cli.command()
@click.argument("station")
@click.option("--warehouse", required=True, help="Warehouse code the station belongs to.")
@click.option("--role", type=click.Choice(["pack", "receive"]), default="pack", show_default=True,
              help="pack: takes pack tasks; receive: a receiving/stock desk, never given any.")
@click.option("--broker-host", default=None, help="Broker host as the station sees it.")
@click.option("--broker-port", type=int, default=None, help="Broker TLS port.")
@click.option("--client-cert", is_flag=True, help="Also issue a client certificate (mTLS listener).")
@click.option("--s3-endpoint", default="", help="S3 endpoint URL for backups (empty = AWS).")
@click.option("--s3-bucket", default="packline-backups", show_default=True)
@click.option("--config-dir", default="/etc/packline", show_default=True,
              help="Where the station's files will live on the station.")
@click.option("--scanner-url", default=DeviceDefaults.scanner_url, show_default=True)
@click.option("--scale-url", default=DeviceDefaults.scale_url, show_default=True)
@click.option("--label-printer-url", default=DeviceDefaults.label_printer_url, show_default=True)
@click.option("--receipt-printer-url", default=DeviceDefaults.receipt_printer_url, show_default=True)
@click.option("--cloud-db", envvar="PACKLINE_CLOUD_DATABASE_URL", default=None, help=CLOUD_DB_HELP)
@click.pass_obj
def enrol(
    prov: Provisioner, station: str, warehouse: str, role: str, broker_host: str | None, broker_port: int | None,
    client_cert: bool, s3_endpoint: str, s3_bucket: str, config_dir: str, scanner_url: str,
    scale_url: str, label_printer_url: str, receipt_printer_url: str, cloud_db: str | None,
) -> None:
    """Enrol STATION: broker account, ACL, S3 prefix, its station.env and (with --cloud-db)
    its registration in the cloud."""
    try:
        with _cloud(cloud_db) as conn:
            if conn is not None:
                from cloud.station_registry import register_station

                register_station(conn, station, warehouse, now=prov.clock(), role=role)
            result = prov.enrol(
                station, warehouse, broker_host=broker_host, broker_port=broker_port,
                client_cert=client_cert, s3_endpoint=s3_endpoint, s3_bucket=s3_bucket,
                station_config_dir=config_dir,
                devices=DeviceDefaults(scanner_url, scale_url, label_printer_url, receipt_printer_url),
            )
    except _cloud_errors() as err:
        _fail(err)
        return
    click.echo(f"station {station} enrolled; config with secrets written to {result.env_file}")
    if cloud_db:
        click.echo(f"station {station} registered in the cloud for warehouse {warehouse}")
    else:
        click.echo("提示: 未指定 --cloud-db, 站点未在云端登记 (云端拒收未登记站点的消息) / note: no "
                   "--cloud-db: the station is not registered in the cloud, whose ingest refuses "
                   "unregistered stations", err=True)
    click.echo(f"S3 prefix {result.s3_prefix}; policy written to {result.directory / 's3-policy.json'}")
    if result.client_cert:
        click.echo(f"client certificate written to {result.client_cert}")


@cli.command()
@click.argument("station")
@click.option("--cloud-db", envvar="PACKLINE_CLOUD_DATABASE_URL", default=None, help=CLOUD_DB_HELP)
@click.pass_obj
def revoke(prov: Provisioner, station: str, cloud_db: str | None) -> None:
    """Revoke STATION: remove its broker user and ACL, regenerate broker files and (with
    --cloud-db) mark it revoked in the cloud."""
    try:
        with _cloud(cloud_db) as conn:
            if conn is not None:
                from cloud.station_registry import revoke_station

                revoke_station(conn, station, now=prov.clock())
            rewritten = prov.revoke(station)
    except _cloud_errors() as err:
        _fail(err)
        return
    click.echo(f"station {station} revoked")
    if rewritten:
        click.echo("broker files regenerated; reload the broker (systemctl reload mosquitto)")


@cli.command("list")
@click.pass_obj
def list_stations(prov: Provisioner) -> None:
    """List enrolled and revoked stations."""
    for name, entry in sorted(prov.stations().items()):
        status = f"revoked {entry['revoked_at']}" if entry.get("revoked_at") else "active"
        click.echo(f"{name}\t{entry['warehouse']}\t{status}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="packline-provision")


if __name__ == "__main__":
    main()
