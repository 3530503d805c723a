"""Releases served over HTTPS from 127.0.0.1: the policy's pinned CA, and nothing else."""

from __future__ import annotations

import datetime
import functools
import http.server
import ipaddress
import os
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentkit import ReleaseKit
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from nebsign.agent.install import InstallStatus, install_release
from nebsign.errors import InputError, NebsignError

NOW = datetime.datetime.now(datetime.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(hours=1))
        .not_valid_after(NOW + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, directory: Path
) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(hours=1))
        .not_valid_after(NOW + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[str, Path, x509.Certificate]]:
    """An HTTPS server on 127.0.0.1 with a certificate from a fresh CA."""
    ca_key, ca = make_ca("nebsign test release CA")
    certs = tmp_path / "certs"
    certs.mkdir()
    cert_path, key_path = make_server_cert(ca_key, ca, certs)
    www = tmp_path / "www"
    www.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(www))
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}", www, ca
    finally:
        httpd.shutdown()
        httpd.server_close()


def _pin(kit: ReleaseKit, ca: x509.Certificate) -> None:
    ca_file = kit.conf / "release-ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    os.chmod(ca_file, 0o644)
    kit.extra_policy = (
        '[limits]\nstall_seconds = 2\ntimeout_seconds = 10\n[tls]\nca_file = "release-ca.pem"\n'
    )
    kit.write_policy()


def test_install_over_https_with_the_pinned_ca(
    kit: ReleaseKit, tls: tuple[str, Path, x509.Certificate]
) -> None:
    base, www, ca = tls
    _pin(kit, ca)
    kit.build("1.0.0", {"bin/app": b"over tls\n"}, dest=www / "r1")
    out = install_release(kit.policy(), f"{base}/r1")
    assert out.status is InstallStatus.INSTALLED
    assert kit.current_payload() == b"over tls\n"


def test_server_not_signed_by_the_pinned_ca_is_refused(
    kit: ReleaseKit, tls: tuple[str, Path, x509.Certificate]
) -> None:
    base, www, _ = tls
    _, other_ca = make_ca("some other CA")
    _pin(kit, other_ca)
    kit.build("1.0.0", dest=www / "r1")
    with pytest.raises(NebsignError, match="certificate verify failed"):
        install_release(kit.policy(), f"{base}/r1")
    assert not (kit.root / "current").exists()


def test_without_a_pin_the_system_cas_do_not_trust_a_private_ca(
    kit: ReleaseKit, tls: tuple[str, Path, x509.Certificate]
) -> None:
    base, www, _ = tls
    kit.extra_policy = "[limits]\nstall_seconds = 2\ntimeout_seconds = 10\n"
    kit.write_policy()
    kit.build("1.0.0", dest=www / "r1")
    with pytest.raises(NebsignError, match="certificate verify failed"):
        install_release(kit.policy(), f"{base}/r1")
    assert not (kit.root / "current").exists()


def test_ca_file_must_be_protected_and_pem(kit: ReleaseKit) -> None:
    _, ca = make_ca("ca")
    _pin(kit, ca)
    ca_file = kit.conf / "release-ca.pem"
    os.chmod(ca_file, 0o666)
    with pytest.raises(InputError, match="writable by group or others"):
        kit.policy()
    os.chmod(ca_file, 0o644)
    ca_file.write_bytes(b"not a certificate\n")
    with pytest.raises(InputError, match="no PEM certificate"):
        kit.policy()
