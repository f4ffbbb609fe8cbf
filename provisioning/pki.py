"""A small certificate authority for the broker, built on ``cryptography``.

The CA signs the broker's server certificate (for ``127.0.0.1``, ``localhost`` and the
host's name) and, for stations that authenticate with a certificate instead of a
password, one client certificate each whose common name is the station id (mosquitto's
``use_identity_as_username`` then makes the CN the broker username).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provisioning.files import write_private, write_public

CA_DAYS = 7305
"""Validity of the CA certificate: 20 years. Nothing rotates the CA (every station trusts
it), so it must outlive any station."""
LEAF_DAYS = 3653
"""Validity of server and client certificates: 10 years, a station's service life. Nothing
renews them (``broker-config`` re-issues the server's only when it is run again), so
a shorter life would lock every station out of the broker on one day."""


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA key and certificate held in memory."""

    key: ec.EllipticCurvePrivateKey
    """The CA's private key."""
    cert: x509.Certificate
    """The self-signed CA certificate."""

    def cert_pem(self) -> bytes:
        """The CA certificate as PEM."""
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def create_ca(common_name: str = "Packline broker CA", *, now: dt.datetime | None = None) -> CertificateAuthority:
    """Create a fresh self-signed CA (EC P-256), valid from ``now`` (the wall clock by default)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = now or _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(key=key, cert=cert)


def load_or_create_ca(directory: Path, *, now: dt.datetime | None = None) -> CertificateAuthority:
    """Load ``ca.key``/``ca.crt`` from ``directory``, creating them (valid from ``now``) on first use."""
    key_path, cert_path = directory / "ca.key", directory / "ca.crt"
    if key_path.exists() and cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path} is not an EC private key")
        return CertificateAuthority(key=key, cert=x509.load_pem_x509_certificate(cert_path.read_bytes()))
    ca = create_ca(now=now)
    write_private(key_path, _key_pem(ca.key))
    write_public(cert_path, ca.cert_pem())
    return ca


def _leaf(
    ca: CertificateAuthority,
    common_name: str,
    usage: x509.ObjectIdentifier,
    san: list[x509.GeneralName] | None,
    now: dt.datetime | None,
) -> tuple[bytes, bytes, int]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = now or _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key), cert.serial_number


def issue_server_cert(
    ca: CertificateAuthority, hostnames: list[str], *, now: dt.datetime | None = None
) -> tuple[bytes, bytes]:
    """Issue a server certificate; IP literals become IP SANs, the rest DNS SANs.

    Returns ``(cert_pem, key_pem)``; the first hostname is the common name.
    """
    san: list[x509.GeneralName] = []
    for host in dict.fromkeys(hostnames):
        try:
            san.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            san.append(x509.DNSName(host))
    cert, key, _ = _leaf(ca, hostnames[0], ExtendedKeyUsageOID.SERVER_AUTH, san, now)
    return cert, key


def issue_client_cert(
    ca: CertificateAuthority, common_name: str, *, now: dt.datetime | None = None
) -> tuple[bytes, bytes, int]:
    """Issue a client certificate with CN = ``common_name``; returns (cert, key, serial)."""
    return _leaf(ca, common_name, ExtendedKeyUsageOID.CLIENT_AUTH, None, now)


def build_crl(ca: CertificateAuthority, revoked_serials: list[int], *, now: dt.datetime | None = None) -> bytes:
    """A PEM CRL signed by the CA listing ``revoked_serials``.

    Its ``nextUpdate`` is the CA's own end of validity: OpenSSL (mosquitto) refuses every
    client certificate once the CRL is past ``nextUpdate``, and the CRL is only rewritten when
    the broker files are (a revocation), not on a schedule.
    """
    now = now or _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(max(ca.cert.not_valid_after_utc, now + dt.timedelta(days=1)))
    )
    for serial in sorted(set(revoked_serials)):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now - dt.timedelta(minutes=5))
            .build()
        )
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
