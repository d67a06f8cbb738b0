"""Verification of the two signing schemes the official SDKs use.

RPC v1 (HMAC-SHA1): the legacy core SDK and the Tea SDK with ``signature_algorithm='v2'``.
ACS3-HMAC-SHA256: the Tea SDK default (``Authorization`` header, ``x-acs-*`` headers).
The server recomputes the string to sign from what it received; a mismatch answers with the string it computed, as
the real gateway does (the legacy SDK parses it out of the message).
"""
import base64
import calendar
import hashlib
import hmac
import threading
import time
from urllib.parse import quote

from .errors import ApiError

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# The real gateway accepts requests whose timestamp lies within 15 minutes of its own time.
MAX_CLOCK_SKEW_SECONDS = 15 * 60
ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
# Headers whose value the ACS3 signature must cover; without them a replay or tampering would go unnoticed.
ACS3_REQUIRED_SIGNED_HEADERS = ("host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
                                "x-acs-content-sha256")


def percent_encode(value):
    return quote(value, safe="~")


def incomplete_signature(detail):
    return ApiError("IncompleteSignature", f"The request signature does not conform to Aliyun standards. {detail}")


def signature_mismatch(string_to_sign):
    return ApiError(
        "SignatureDoesNotMatch",
        f"Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}",
    )


def v1_string_to_sign(method, params):
    canonical = "&".join(
        f"{percent_encode(key)}={percent_encode(value)}"
        for key, value in sorted(params.items()) if key != "Signature"
    )
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def v1_signature(secret, string_to_sign):
    digest = hmac.new((secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def acs3_canonical_request(method, path, query, headers, signed_header_names, payload_hash):
    canonical_query = "&".join(
        f"{percent_encode(key)}={percent_encode(value)}" for key, value in sorted(query.items())
    )
    canonical_headers = "".join(f"{name}:{headers.get(name, '')}\n" for name in signed_header_names)
    return "\n".join([method, path or "/", canonical_query, canonical_headers, ";".join(signed_header_names),
                      payload_hash])


def acs3_string_to_sign(canonical_request):
    return f"{ACS3_ALGORITHM}\n{hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()}"


def acs3_signature(secret, string_to_sign):
    return hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def parse_acs3_authorization(value):
    """``ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex`` -> (ak, [headers], signature)."""
    algorithm, _space, rest = value.strip().partition(" ")
    if algorithm != ACS3_ALGORITHM:
        raise incomplete_signature(f"Unsupported signature algorithm {algorithm!r}.")
    fields = {}
    for part in rest.split(","):
        name, sep, field_value = part.strip().partition("=")
        if sep:
            fields[name] = field_value
    try:
        credential, signed, signature = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
    except KeyError as missing:
        raise incomplete_signature(f"The Authorization header lacks {missing.args[0]}.") from None
    if not credential or not signed or not signature:
        raise incomplete_signature("The Authorization header has an empty field.")
    return credential, [name.strip().lower() for name in signed.split(";") if name.strip()], signature


class NonceCache:
    """Nonces seen within the timestamp window: a second use is a replay."""

    def __init__(self, window=MAX_CLOCK_SKEW_SECONDS * 2):
        self._window = window
        self._seen = {}
        self._lock = threading.Lock()
        self._next_prune = time.monotonic() + 60

    def check_and_remember(self, access_key_id, nonce):
        now = time.monotonic()
        key = (access_key_id, nonce)
        with self._lock:
            if now >= self._next_prune:
                self._seen = {k: t for k, t in self._seen.items() if now - t < self._window}
                self._next_prune = now + 60
            if key in self._seen:
                raise ApiError("SignatureNonceUsed", "Specified signature nonce was used already.")
            self._seen[key] = now

    def clear(self):
        with self._lock:
            self._seen.clear()


# time.strptime imports its helper module lazily, which is not thread-safe on first use: warm it up at import.
time.strptime("2000-01-01T00:00:00Z", TIMESTAMP_FORMAT)


def check_timestamp(value, name):
    try:
        sent = calendar.timegm(time.strptime(value, TIMESTAMP_FORMAT))
    except (TypeError, ValueError):
        raise ApiError("InvalidTimeStamp.Format",
                       f"Specified time stamp or date value is not well formatted: {name}={value}.") from None
    # Signatures are checked against real time: the SDKs stamp requests with the host clock, not the emulated one.
    if abs(time.time() - sent) > MAX_CLOCK_SKEW_SECONDS:
        raise ApiError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")


class SignatureVerifier:
    def __init__(self, credentials):
        self.credentials = dict(credentials)  # access key id -> secret
        self.nonces = NonceCache()

    def _secret_for(self, access_key_id):
        secret = self.credentials.get(access_key_id)
        if secret is None:
            raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", status=404)
        return secret

    def verify(self, method, path, query, form, headers, body):
        """Return (access_key_id, scheme) or raise ApiError. ``headers`` has lower-case names."""
        authorization = headers.get("authorization")
        if authorization:
            return self._verify_acs3(method, path, query, headers, body, authorization), "ACS3-HMAC-SHA256"
        if "Signature" in query or "AccessKeyId" in query or "SignatureMethod" in query:
            return self._verify_v1(method, query, form), "HMAC-SHA1"
        raise incomplete_signature("The request carries neither an Authorization header nor a Signature.")

    def _verify_v1(self, method, query, form):
        params = dict(query)
        params.update(form)
        for name in ("AccessKeyId", "Signature", "SignatureMethod", "SignatureNonce", "Timestamp"):
            if not params.get(name):
                raise incomplete_signature(f"The parameter {name} is missing.")
        if params["SignatureMethod"] != "HMAC-SHA1":
            raise incomplete_signature(f"Unsupported SignatureMethod {params['SignatureMethod']!r}.")
        if params.get("SignatureVersion", "1.0") != "1.0":
            raise incomplete_signature(f"Unsupported SignatureVersion {params['SignatureVersion']!r}.")
        check_timestamp(params["Timestamp"], "Timestamp")
        secret = self._secret_for(params["AccessKeyId"])
        string_to_sign = v1_string_to_sign(method, params)
        if not hmac.compare_digest(v1_signature(secret, string_to_sign), params["Signature"]):
            raise signature_mismatch(string_to_sign)
        self.nonces.check_and_remember(params["AccessKeyId"], params["SignatureNonce"])
        return params["AccessKeyId"]

    def _verify_acs3(self, method, path, query, headers, body, authorization):
        access_key_id, signed_headers, signature = parse_acs3_authorization(authorization)
        for name in ACS3_REQUIRED_SIGNED_HEADERS:
            if name not in signed_headers or not headers.get(name):
                raise incomplete_signature(f"The header {name} is missing or not signed.")
        check_timestamp(headers["x-acs-date"], "x-acs-date")
        secret = self._secret_for(access_key_id)
        payload_hash = hashlib.sha256(body).hexdigest()
        if headers["x-acs-content-sha256"] != payload_hash:
            raise ApiError("ContentSHA256NotMatch", "The x-acs-content-sha256 header does not match the body.")
        canonical = acs3_canonical_request(method, path, query, headers, sorted(signed_headers), payload_hash)
        string_to_sign = acs3_string_to_sign(canonical)
        if not hmac.compare_digest(acs3_signature(secret, string_to_sign), signature.lower()):
            raise signature_mismatch(string_to_sign)
        self.nonces.check_and_remember(access_key_id, headers["x-acs-signature-nonce"])
        return access_key_id
