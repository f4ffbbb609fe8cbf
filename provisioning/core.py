"""Provisioning state: the CA, the cloud's broker account and the station registry.

State directory layout (secrets 0600)::

    registry.json            stations, their status, hashes (never plaintext passwords)
    ca/ca.key, ca/ca.crt     the broker CA
    cloud.env                the cloud's broker credentials and, after broker-config, where
                             the broker is (PACKLINE_CLOUD_BROKER_*)
    stations/<id>/station.env      the station's settings and secrets (PACKLINE_*)
    stations/<id>/ca.crt           CA to trust for the broker
    stations/<id>/client.crt|key   client certificate (``--client-cert`` only)
    stations/<id>/s3-policy.json   IAM-style policy restricting its backup prefix

``broker-config`` writes ``mosquitto.conf``, ``passwd`` (stations), ``passwd.cloud``
(the cloud account, for its own listener), ``acl``, ``ca.crt``,
``server.crt``, ``server.key`` (and ``crl.pem`` with an mTLS listener) to its ``--out``
directory and remembers the settings so ``enrol`` and ``revoke`` regenerate them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pwd
import re
import secrets
import socket
import string
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from provisioning.broker_files import (
    CLOUD_PASSWD,
    BrokerSettings,
    listener_ports,
    render_acl,
    render_conf,
)
from provisioning.files import write_private, write_public
from provisioning.passwd import hash_password, new_password, render_passwd
from provisioning.pki import build_crl, issue_client_cert, issue_server_cert, load_or_create_ca

CLOUD_USER = "cloud"
"""Broker username of the cloud backend."""
STATION_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
"""Station ids: lower-case letters, digits, ``-``, ``_`` (never ``/``, ``+``, ``#``)."""
RESERVED = frozenset({CLOUD_USER, "admin", "root", "mosquitto"})
"""Ids that cannot be stations (nor can any id starting with ``cloud``: the cloud's MQTT
client ids, e.g. ``cloud-ingest``, must never be a station's forced client id)."""


class ProvisionError(Exception):
    """A provisioning request was refused; the message is one line for the operator."""


@dataclass(frozen=True)
class DeviceDefaults:
    """Default device URLs written to a station's config (names from the udev rules)."""

    scanner_url: str = "evdev:///dev/packline/scanner"
    """Barcode scanner."""
    scale_url: str = "serial:///dev/packline/scale?baudrate=9600"
    """Serial scale."""
    label_printer_url: str = "tspl+file:///dev/packline/label-printer"
    """TSPL waybill printer."""
    receipt_printer_url: str = "escpos+file:///dev/packline/receipt-printer"
    """ESC/POS packing-slip printer."""


@dataclass(frozen=True)
class Enrolment:
    """What ``enrol`` produced; ``password`` is returned to callers, never logged."""

    station: str
    """The station id, also its broker username and client id."""
    directory: Path
    """Where the station's files were written."""
    env_file: Path
    """The station config (``station.env``)."""
    password: str | None
    """The broker password (None for certificate-only stations)."""
    client_cert: Path | None
    """Client certificate path when issued."""
    client_key: Path | None
    """Client key path when issued."""
    s3_prefix: str
    """The backup prefix in the bucket."""
    s3_access_key_id: str
    """The access key scoped to the prefix."""
    s3_secret_access_key: str
    """Its secret."""


def wall_clock() -> dt.datetime:
    """The provisioning host's clock (UTC): the default ``Provisioner`` clock."""
    return dt.datetime.now(dt.UTC)


def _env_line(key: str, value: str) -> str:
    if any(c in value for c in "\n\r\"\\$`"):
        raise ProvisionError(f"value for {key} contains characters not allowed in an env file")
    return f'{key}="{value}"\n'


def s3_policy(bucket: str, prefix: str) -> dict[str, Any]:
    """An IAM policy document allowing object access only under ``prefix`` in ``bucket``."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ObjectsUnderPrefix",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/{prefix}*"],
            },
            {
                "Sid": "ListPrefix",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            },
        ],
    }


class Provisioner:
    """Operations on one provisioning state directory. The CLI is a thin wrapper."""

    def __init__(self, state_dir: Path, clock: Callable[[], dt.datetime] = wall_clock) -> None:
        self.state_dir = state_dir.resolve()
        """Root of the provisioning state."""
        self.clock = clock
        """Stamps enrolments and revocations and starts certificates' and the CRL's validity."""
        self.registry_path = self.state_dir / "registry.json"
        """The station registry."""

    def _stamp(self) -> str:
        return self.clock().isoformat(timespec="seconds")

    # -- state ----------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        if self.registry_path.exists():
            data: dict[str, Any] = json.loads(self.registry_path.read_text())
            return data
        return {"version": 1, "cloud": None, "stations": {}, "broker": None}

    def _save(self, reg: dict[str, Any]) -> None:
        write_private(self.registry_path, json.dumps(reg, indent=2, sort_keys=True) + "\n")

    def init(self) -> dict[str, Any]:
        """Create the CA and the cloud's broker account if missing; return the registry."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o700)
        load_or_create_ca(self.state_dir / "ca", now=self.clock())
        reg = self._load()
        if reg["cloud"] is None:
            password = new_password()
            reg["cloud"] = {"username": CLOUD_USER, "password_hash": hash_password(password)}
            write_private(
                self.state_dir / "cloud.env",
                _env_line("PACKLINE_CLOUD_BROKER_USERNAME", CLOUD_USER)
                + _env_line("PACKLINE_CLOUD_BROKER_PASSWORD", password),
            )
            self._save(reg)
        return reg

    def cloud_credentials(self) -> tuple[str, str]:
        """(username, password) of the cloud's broker account, read from ``cloud.env``."""
        self.init()
        values = read_env_file(self.state_dir / "cloud.env")
        return values["PACKLINE_CLOUD_BROKER_USERNAME"], values["PACKLINE_CLOUD_BROKER_PASSWORD"]

    def stations(self) -> dict[str, dict[str, Any]]:
        """Registry entries by station id (revoked ones have ``revoked_at`` set)."""
        stations: dict[str, dict[str, Any]] = self._load()["stations"]
        return stations

    # -- stations -------------------------------------------------------------------------
    def enrol(
        self,
        station: str,
        warehouse: str,
        *,
        broker_host: str | None = None,
        broker_port: int | None = None,
        client_cert: bool = False,
        s3_endpoint: str = "",
        s3_bucket: str = "packline-backups",
        s3_region: str = "us-east-1",
        station_config_dir: str = "/etc/packline",
        data_dir: str = "/var/lib/packline",
        devices: DeviceDefaults | None = None,
    ) -> Enrolment:
        """Create a station's identity, credentials, ACL entry and config file.

        With ``client_cert`` the station gets a certificate for the mTLS listener in
        addition to its password. Refuses ids that are malformed, reserved or in use
        (a revoked id is never reused).
        """
        if not STATION_ID.match(station) or station in RESERVED or station.startswith(CLOUD_USER):
            raise ProvisionError(
                f"站点编号无效 / invalid station id {station!r}: use a-z 0-9 - _ (max 63), not a reserved name"
            )
        if not warehouse or any(c in warehouse for c in "/+#\"\n"):
            raise ProvisionError(f"仓库编号无效 / invalid warehouse {warehouse!r}")
        reg = self.init()
        if station in reg["stations"]:
            state = "revoked" if reg["stations"][station].get("revoked_at") else "enrolled"
            raise ProvisionError(f"站点已存在 / station {station} is already {state}")
        ca = load_or_create_ca(self.state_dir / "ca", now=self.clock())
        directory = self.state_dir / "stations" / station
        directory.mkdir(parents=True, exist_ok=True)
        write_public(directory / "ca.crt", ca.cert_pem())

        password = new_password()
        cert_path = key_path = None
        serial = None
        if client_cert:
            cert, key, serial = issue_client_cert(ca, station, now=self.clock())
            cert_path, key_path = directory / "client.crt", directory / "client.key"
            write_public(cert_path, cert)
            write_private(key_path, key)

        prefix = f"stations/{warehouse}/{station}/"
        access_key = "PKL" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(17))
        secret_key = secrets.token_urlsafe(30)
        write_public(directory / "s3-policy.json", json.dumps(s3_policy(s3_bucket, prefix), indent=2) + "\n")

        broker = BrokerSettings.from_json(reg["broker"]) if reg["broker"] else None
        host = broker_host or (broker.hostnames[0] if broker else socket.gethostname())
        port = broker_port or (broker.port if broker else 8883)
        dev = devices or DeviceDefaults()
        cfg = Path(station_config_dir)
        backup_query = urlencode({"endpoint": s3_endpoint, "region": s3_region} if s3_endpoint
                                 else {"region": s3_region}, safe=":/")
        env = {
            "PACKLINE_STATION_ID": station,
            "PACKLINE_WAREHOUSE": warehouse,
            # every unit (kiosk as packer, sync and backup as packline) opens the same database
            "PACKLINE_HOME": data_dir,
            "PACKLINE_BROKER_HOST": host,
            "PACKLINE_BROKER_PORT": str(port),
            "PACKLINE_BROKER_CA": str(cfg / "ca.crt"),
            "PACKLINE_BROKER_USERNAME": station,
            "PACKLINE_BROKER_PASSWORD": password,
            "PACKLINE_S3_ENDPOINT": s3_endpoint,
            "PACKLINE_S3_BUCKET": s3_bucket,
            "PACKLINE_S3_PREFIX": prefix,
            "PACKLINE_S3_ACCESS_KEY_ID": access_key,
            "PACKLINE_S3_SECRET_ACCESS_KEY": secret_key,
            # what `packline-edge backup run` / `restore` read (boto3 takes the AWS_* pair)
            "PACKLINE_BACKUP_URL": f"s3://{s3_bucket}/{prefix}edge.db?{backup_query}",
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key,
            "PACKLINE_SCANNER_URL": dev.scanner_url,
            "PACKLINE_SCALE_URL": dev.scale_url,
            "PACKLINE_LABEL_PRINTER_URL": dev.label_printer_url,
            "PACKLINE_RECEIPT_PRINTER_URL": dev.receipt_printer_url,
        }
        if client_cert:
            env["PACKLINE_BROKER_CLIENT_CERT"] = str(cfg / "client.crt")
            env["PACKLINE_BROKER_CLIENT_KEY"] = str(cfg / "client.key")
            if broker and broker.mtls_port is not None:
                env["PACKLINE_BROKER_MTLS_PORT"] = str(broker.mtls_port)
        env_file = directory / "station.env"
        header = f"# Packline station {station}, warehouse {warehouse}; secrets - keep 0600.\n"
        write_private(env_file, header + "".join(_env_line(k, v) for k, v in env.items()))

        reg["stations"][station] = {
            "warehouse": warehouse,
            "password_hash": hash_password(password),
            "cert_serial": serial,
            "s3_bucket": s3_bucket,
            "s3_prefix": prefix,
            "s3_access_key_id": access_key,
            "enrolled_at": self._stamp(),
            "revoked_at": None,
        }
        self._save(reg)
        if broker:
            self._write_broker_files(reg, broker, server_cert=False)
        return Enrolment(
            station=station, directory=directory, env_file=env_file, password=password,
            client_cert=cert_path, client_key=key_path, s3_prefix=prefix,
            s3_access_key_id=access_key, s3_secret_access_key=secret_key,
        )

    def revoke(self, station: str) -> bool:
        """Revoke a station: drop its broker user and ACL, list its certificate in the CRL,
        mark it revoked and regenerate the broker files. Returns whether broker files were
        rewritten (the broker must then be reloaded: SIGHUP / ``systemctl reload``)."""
        reg = self.init()
        entry = reg["stations"].get(station)
        if entry is None:
            raise ProvisionError(f"没有这个站点 / unknown station {station}")
        if entry.get("revoked_at"):
            raise ProvisionError(f"站点已注销 / station {station} is already revoked")
        entry["revoked_at"] = self._stamp()
        entry["password_hash"] = None
        self._save(reg)
        for name in ("station.env", "client.key"):
            (self.state_dir / "stations" / station / name).unlink(missing_ok=True)
        if reg["broker"]:
            self._write_broker_files(reg, BrokerSettings.from_json(reg["broker"]), server_cert=False)
            return True
        return False

    # -- broker ---------------------------------------------------------------------------
    def write_broker_config(self, settings: BrokerSettings) -> Path:
        """Write every broker file to ``settings.out`` and remember the settings.

        Run as root without a ``file_owner``, the secret files are handed to the account
        mosquitto drops to (``run_as_user``, default ``mosquitto``): mosquitto 2.0 reads its
        password file after dropping privileges, so a root-owned 0600 file stops it at start
        ("Unable to open pwfile")."""
        settings = replace(settings, file_owner=default_file_owner(settings))
        ports = listener_ports(settings)
        if len(set(ports)) != len(ports):
            raise ProvisionError(f"端口重复 / the listener ports must differ: {ports}")
        reg = self.init()
        reg["broker"] = settings.to_json()
        self._save(reg)
        self._write_broker_files(reg, settings, server_cert=True)
        return Path(settings.out) / "mosquitto.conf"

    def _write_cloud_env(self, s: BrokerSettings) -> None:
        """Add where the broker is to ``cloud.env`` (``packline-cloud ingest`` reads
        ``PACKLINE_CLOUD_BROKER_HOST/PORT/CA``); the credentials are kept."""
        path = self.state_dir / "cloud.env"
        values = read_env_file(path)
        values["PACKLINE_CLOUD_BROKER_HOST"] = s.hostnames[0] if s.hostnames else "127.0.0.1"
        values["PACKLINE_CLOUD_BROKER_PORT"] = str(s.cloud_port)
        values["PACKLINE_CLOUD_BROKER_CA"] = str(Path(s.out) / "ca.crt")
        write_private(path, "".join(_env_line(k, v) for k, v in values.items()))

    def _write_broker_files(self, reg: dict[str, Any], s: BrokerSettings, *, server_cert: bool) -> None:
        out = Path(s.out)
        out.mkdir(parents=True, exist_ok=True)
        ca = load_or_create_ca(self.state_dir / "ca", now=self.clock())
        active = {k: v for k, v in reg["stations"].items() if not v.get("revoked_at")}
        cloud = {reg["cloud"]["username"]: reg["cloud"]["password_hash"]}
        users = {k: v["password_hash"] for k, v in active.items()}
        owner = s.file_owner
        write_public(out / "ca.crt", ca.cert_pem(), owner)
        if server_cert or not (out / "server.crt").exists():
            cert, key = issue_server_cert(ca, s.hostnames, now=self.clock())
            write_public(out / "server.crt", cert, owner)
            write_private(out / "server.key", key, owner)
        write_private(out / "passwd", render_passwd(users), owner)
        write_private(out / CLOUD_PASSWD, render_passwd(cloud), owner)
        write_public(out / "acl", render_acl(reg["cloud"]["username"], list(active)), owner)
        with_crl = s.mtls_port is not None
        if with_crl:
            revoked = [
                v["cert_serial"] for v in reg["stations"].values()
                if v.get("revoked_at") and v.get("cert_serial") is not None
            ]
            write_public(out / "crl.pem", build_crl(ca, revoked, now=self.clock()), owner)
        if s.persistence_dir is None:
            (out / "data").mkdir(exist_ok=True)
            if owner is not None:
                entry = pwd.getpwnam(owner)
                os.chown(out / "data", entry.pw_uid, entry.pw_gid)
        write_public(out / "mosquitto.conf", render_conf(s, with_crl=with_crl), owner)
        # with every rewrite: a registry from before the cloud had its own listener gets the
        # cloud's port into cloud.env with the first enrol or revoke after the upgrade
        self._write_cloud_env(s)


def default_file_owner(s: BrokerSettings, euid: int | None = None) -> str | None:
    """The owner to give the broker files: ``s.file_owner`` if set; as root, the account the
    broker drops to (``run_as_user`` or ``mosquitto``, when it exists and is not root);
    otherwise None (the files stay the caller's, as is the broker that the caller starts)."""
    if s.file_owner is not None:
        return s.file_owner
    if (os.geteuid() if euid is None else euid) != 0:
        return None
    user = s.run_as_user or "mosquitto"
    if user == "root":
        return None
    try:
        pwd.getpwnam(user)
    except KeyError:
        return None
    return user


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a ``KEY="value"`` file as written by provisioning (comments and blanks skipped)."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().removeprefix('"').removesuffix('"')
    return values
