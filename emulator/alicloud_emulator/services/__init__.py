"""API handlers per product. Each handler takes a RequestContext and returns the JSON answer (without RequestId)."""
import base64
import time

from ..catalog import REGIONS
from ..errors import ApiError, invalid_parameter

# (product, action) -> handler
ACTIONS = {}

PRODUCT_VERSIONS = {"2014-05-26": "ecs", "2016-04-28": "vpc", "2014-08-15": "rds"}


def api(product, name):
    def register(function):
        ACTIONS[(product, name)] = function
        return function
    return register


class RequestContext:
    def __init__(self, state, product, action, params, request_id):
        self.state = state
        self.product = product
        self.action = action
        self.params = params
        self.request_id = request_id

    @property
    def backend(self):
        return self.state.backend

    def region(self, required=True):
        """The RegionId parameter, checked against the emulated regions."""
        region_id = self.params.require("RegionId") if required else self.params.get("RegionId")
        if region_id is not None and region_id not in REGIONS:
            raise ApiError("InvalidRegionId.NotFound", f"The specified RegionId {region_id} does not exist.",
                           status=404)
        return region_id

    def idempotent(self, region_id, create):
        """Run ``create`` once per ClientToken: a replay with the same parameters gets the first answer again."""
        token = self.params.get("ClientToken")
        if token is None:
            return create()
        if len(token) > 64 or not token.isascii():
            raise invalid_parameter("ClientToken", "It holds at most 64 ASCII characters.",
                                    code="InvalidClientToken.Malformed")
        key = (self.product, self.action, region_id or "", token)
        fingerprint = self.params.fingerprint()
        known = self.state.client_tokens.get(key)
        if known is not None:
            if known[0] != fingerprint:
                raise ApiError("IdempotentParameterMismatch",
                               "The specified parameters are different from before (same ClientToken).")
            return dict(known[1])
        answer = create()
        self.state.client_tokens[key] = (fingerprint, dict(answer))
        return answer


class JsonArray:
    """A JSON array given as already encoded items: the server splices them into the answer unparsed. Pages of
    unchanged resources are then served without encoding them again."""
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items

    def encode(self):
        return "[" + ",".join(self.items) + "]"


def iso_time(epoch_seconds, with_seconds=True):
    pattern = "%Y-%m-%dT%H:%M:%SZ" if with_seconds else "%Y-%m-%dT%H:%MZ"
    return time.strftime(pattern, time.gmtime(epoch_seconds))


def page_by_number(params, items, max_size, default_size=10):
    """PageNumber/PageSize paging with the API's maximum page size; returns (page, number, size)."""
    page_size = params.integer("PageSize", default_size, minimum=1, maximum=max_size)
    page_number = params.integer("PageNumber", 1, minimum=1)
    start = (page_number - 1) * page_size
    return items[start:start + page_size], page_number, page_size


def encode_token(offset, marker):
    return base64.urlsafe_b64encode(f"{offset}:{marker}".encode()).decode().rstrip("=")


def decode_token(token):
    try:
        padded = token + "=" * (-len(token) % 4)
        offset, _colon, marker = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        return int(offset), marker
    except (ValueError, UnicodeDecodeError):
        raise ApiError("InvalidNextToken.Malformed", "The specified parameter NextToken is not valid.") from None


def page_by_token(params, items, key, max_results, default_results=10):
    """MaxResults/NextToken paging. The token carries the offset and the id expected there: when resources were
    deleted between two pages, the listing resumes at that id instead of skipping some. Returns (page, token or '')."""
    max_count = params.integer("MaxResults", default_results, minimum=1, maximum=max_results)
    token = params.get("NextToken")
    offset = 0
    if token:
        offset, marker = decode_token(token)
        if offset < 0:
            raise ApiError("InvalidNextToken.Malformed", "The specified parameter NextToken is not valid.")
        if offset >= len(items) or key(items[offset]) != marker:
            offset = next((index for index, item in enumerate(items) if key(item) == marker),
                          min(offset, len(items)))
    page = items[offset:offset + max_count]
    end = offset + len(page)
    next_token = encode_token(end, key(items[end])) if end < len(items) else ""
    return page, next_token


def tag_filter(tags_wanted):
    """A predicate for Tag.N filters: every key must be present, with the value when a value is given."""
    def matches(resource_tags):
        for key, value in tags_wanted:
            if key not in resource_tags or (value is not None and resource_tags[key] != value):
                return False
        return True
    return matches
