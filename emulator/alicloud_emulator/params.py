"""Reading the flat RPC parameters (``Tag.1.Key``, ``SecurityGroupIds.2``, JSON-array strings) with real validation."""
import json
import re

from .errors import ApiError, invalid_parameter, missing_parameter

# Parameters every RPC call carries; they say nothing about the resource, so idempotency fingerprints skip them.
COMMON_PARAMETERS = frozenset({
    "Action", "Version", "Format", "RegionId", "AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion",
    "SignatureType", "SignatureNonce", "Timestamp", "SecurityToken", "ClientToken", "OwnerId", "OwnerAccount",
    "ResourceOwnerId", "ResourceOwnerAccount", "BearerToken",
})

# Parameter names whose values are secrets: masked in the request log, never kept.
SECRET_PARAMETER = re.compile(r"password|secret|securitytoken|bearertoken|authorization", re.IGNORECASE)
SECRET_MARK = "******"

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class Params:
    """Wraps the merged query and form parameters of one request."""

    def __init__(self, values):
        self.values = dict(values)

    def get(self, name, default=None):
        value = self.values.get(name)
        if value is None or value == "":
            return default
        return value

    def require(self, name):
        value = self.get(name)
        if value is None:
            raise missing_parameter(name)
        return value

    def choice(self, name, allowed, default=None, required=False, code="InvalidParameter"):
        value = self.require(name) if required else self.get(name, default)
        if value is None:
            return None
        for option in allowed:
            if value.lower() == option.lower():
                return option
        raise invalid_parameter(name, f"Allowed values: {', '.join(allowed)}.", code=code)

    def integer(self, name, default=None, minimum=None, maximum=None, required=False, code="InvalidParameter"):
        raw = self.require(name) if required else self.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise invalid_parameter(name, "It must be an integer.", code=code) from None
        if minimum is not None and value < minimum or maximum is not None and value > maximum:
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise invalid_parameter(name, f"It must be {bounds}.", code=code)
        return value

    def boolean(self, name, default=False):
        raw = self.get(name)
        if raw is None:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise invalid_parameter(name, "It must be true or false.")

    def indexed(self, prefix):
        """``Prefix.1``, ``Prefix.2`` ... -> values in index order."""
        pattern = re.compile(re.escape(prefix) + r"\.(\d+)$")
        found = []
        for key, value in self.values.items():
            match = pattern.match(key)
            if match and value != "":
                found.append((int(match.group(1)), value))
        return [value for _index, value in sorted(found)]

    def indexed_records(self, prefix):
        """``Prefix.N.Field`` -> list of dicts in index order."""
        pattern = re.compile(re.escape(prefix) + r"\.(\d+)\.(.+)$")
        records = {}
        for key, value in self.values.items():
            match = pattern.match(key)
            if match:
                records.setdefault(int(match.group(1)), {})[match.group(2)] = value
        return [records[index] for index in sorted(records)]

    def tags(self, prefix="Tag", limit=20):
        """``Tag.N.Key/Value`` -> ordered list of (key, value); value None when only a key is given."""
        tags = []
        for record in self.indexed_records(prefix):
            key = record.get("Key")
            if not key:
                if record.get("Value"):
                    raise missing_parameter(f"{prefix}.N.Key")
                continue
            if len(key) > 128 or key.startswith(("aliyun", "acs:")) or "http://" in key or "https://" in key:
                raise ApiError("InvalidTagKey.Malformed", "The specified Tag.n.Key is not valid.")
            value = record.get("Value")
            if value is not None and len(value) > 128:
                raise ApiError("InvalidTagValue.Malformed", "The specified Tag.n.Value is not valid.")
            tags.append((key, value))
        if len(tags) > limit:
            raise ApiError("InvalidTagCount", f"The specified tags are beyond the permitted range ({limit}).")
        return tags

    def json_list(self, name, limit=None):
        raw = self.get(name)
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            raise invalid_parameter(name, "It must be a JSON array of strings.") from None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise invalid_parameter(name, "It must be a JSON array of strings.")
        if limit is not None and len(value) > limit:
            raise invalid_parameter(name, f"It holds at most {limit} items.")
        return value

    def comma_list(self, name):
        raw = self.get(name)
        if raw is None:
            return None
        return [item.strip() for item in raw.split(",") if item.strip()]

    def fingerprint(self):
        """What identifies a create request for ClientToken idempotency. Secrets count by presence only: the
        fingerprint is kept (and saved in the state file), a password must not be."""
        return tuple(sorted((k, SECRET_MARK if SECRET_PARAMETER.search(k) else v) for k, v in self.values.items()
                            if k not in COMMON_PARAMETERS and k != "DryRun"))
