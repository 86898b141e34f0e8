"""Read a server's certificate and judge it: trusted for the host, and days to expiry
(warn under 30, fail under 7: the seed's alert levels).

The certificate is read twice: once with verification (is it trusted for this host, and if
not, OpenSSL's reason) and once without (its dates and names, even when it is not trusted).
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509

WARN_DAYS, FAIL_DAYS = 30, 7


@dataclass(frozen=True)
class CertReading:
    subject: str
    names: tuple[str, ...]  # subjectAltName DNS names and IP addresses
    not_before: datetime
    not_after: datetime
    issuer: str
    verify_error: str | None  # None: trusted for the host

    def days_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds() / 86400


def _handshake(host: str, port: int, context: ssl.SSLContext, timeout: float) -> bytes:
    with (
        socket.create_connection((host, port), timeout=timeout) as sock,
        context.wrap_socket(sock, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server sent no certificate")
    return der


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    dns = san.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return tuple(dns + ips)


def read_certificate(
    host: str, port: int, ca_file: Path | None = None, timeout: float = 5.0
) -> CertReading:
    """The server's certificate; raises OSError / ssl.SSLError when no TLS handshake works."""
    verify_error: str | None = None
    trusting = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    try:
        der = _handshake(host, port, trusting, timeout)
    except ssl.SSLCertVerificationError as exc:
        verify_error = exc.verify_message or str(exc)
        plain = ssl.create_default_context()
        plain.check_hostname = False
        plain.verify_mode = ssl.CERT_NONE
        der = _handshake(host, port, plain, timeout)
    cert = x509.load_der_x509_certificate(der)
    return CertReading(
        subject=cert.subject.rfc4514_string(),
        names=_names(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        issuer=cert.issuer.rfc4514_string(),
        verify_error=verify_error,
    )
