"""Write a test PKI for the tls scenario: a root CA, an intermediate CA and a server certificate for the given names.

Usage: make_test_ca.py OUTDIR NAME [NAME ...]   (IPv4 addresses become IP names, the rest DNS names)
Writes ca.crt (the root the client trusts), chain.crt (server certificate followed by the intermediate: what the
role's mlflow_server_tls_certificate takes) and server.key (mode 0600).
"""
import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "computenest.mlflow test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def issue(subject, subject_key, issuer, issuer_key, is_ca, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if is_ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    else:
        builder = (builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(x509.KeyUsage(
                       digital_signature=True, content_commitment=False, key_encipherment=False,
                       data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                       encipher_only=False, decipher_only=False), critical=True))
    return builder.sign(issuer_key, hashes.SHA256())


def san_entries(names):
    entries = []
    for entry in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(entry)))
        except ValueError:
            entries.append(x509.DNSName(entry))
    return entries


def main(outdir, names):
    os.makedirs(outdir, mode=0o700, exist_ok=True)
    root_key, intermediate_key, server_key = [ec.generate_private_key(ec.SECP256R1()) for _key in range(3)]
    root = issue(name("Test Root CA"), root_key, name("Test Root CA"), root_key, True)
    intermediate = issue(name("Test Intermediate CA"), intermediate_key, root.subject, root_key, True)
    server = issue(name(names[0]), server_key, intermediate.subject, intermediate_key, False, san_entries(names))
    pem = serialization.Encoding.PEM
    with open(os.path.join(outdir, "ca.crt"), "wb") as handle:
        handle.write(root.public_bytes(pem))
    key_path = os.path.join(outdir, "server.key")
    with open(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        handle.write(server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with open(os.path.join(outdir, "chain.crt"), "wb") as handle:
        handle.write(server.public_bytes(pem) + intermediate.public_bytes(pem))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
