"""Fault injection: throttling, 5xx answers and lost replies, at a rate (seeded, so runs repeat) or a fixed count."""
import random
import re
import threading

from .errors import ApiError

FAULT_KINDS = ("throttling", "unavailable", "internal", "lost")
PRODUCTS = ("ecs", "vpc", "rds")
# How long a throttled client is told to wait, in milliseconds (the unit of x-acs-retry-after).
THROTTLING_RETRY_AFTER_MS = 1000


class FaultRule:
    def __init__(self, kind, rate=1.0, action=None, product=None, count=None):
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        rate = float(rate)
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"fault rate must be in (0, 1], got {rate}")
        if product is not None and product.lower() not in PRODUCTS:
            raise ValueError(f"unknown product {product!r}; choose from {', '.join(PRODUCTS)}")
        if count is not None and int(count) < 1:
            raise ValueError("fault count must be at least 1")
        self.kind = kind
        self.rate = rate
        self.action = action
        self.product = product.lower() if product else None
        self.remaining = int(count) if count is not None else None

    def matches(self, product, action):
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.product and self.product != product:
            return False
        return not self.action or self.action == action

    def to_dict(self):
        return {"kind": self.kind, "rate": self.rate, "action": self.action, "product": self.product,
                "remaining": self.remaining}


def parse_fault_spec(spec):
    """``KIND[:FIELD]...``; a FIELD is a rate with a decimal point (``0.1``, ``1.0``), a count as a plain integer
    (``3``), ``rate=X``, ``count=N``, ``product=ecs|vpc|rds``, ``action=Name`` or a bare action name.

    Examples: ``throttling:0.1``, ``lost:RunInstances:1`` (the next RunInstances reply is lost),
    ``unavailable:product=rds:0.5``.
    """
    kind, *fields = spec.split(":")
    options = {}
    for field in fields:
        name, sep, value = field.partition("=")
        if sep and name in ("rate", "count", "product", "action"):
            options[name] = value
        elif re.fullmatch(r"\d+", field):
            options["count"] = int(field)
        elif re.fullmatch(r"\d*\.\d+|\d+\.\d*", field):
            options["rate"] = float(field)
        elif re.fullmatch(r"[A-Z][A-Za-z0-9]+", field):
            options["action"] = field
        else:
            raise ValueError(f"cannot read fault field {field!r} in {spec!r}")
    return FaultRule(kind.strip().lower(), **options)


class FaultInjector:
    def __init__(self, seed=0):
        self._seed = seed
        self._random = random.Random(seed)
        self._rules = []
        self._lock = threading.Lock()

    def add(self, rule):
        with self._lock:
            self._rules.append(rule)

    def clear(self):
        with self._lock:
            self._rules.clear()
            self._random = random.Random(self._seed)

    def rules(self):
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def draw(self, product, action):
        """The fault to apply to this request, or None. Count-limited rules are used up in order."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(product, action):
                    continue
                # Draw only for fractional rates so that rate-1 rules do not shift the seeded sequence.
                if rule.rate < 1.0 and self._random.random() >= rule.rate:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                return rule.kind
        return None


def fault_error(kind, product):
    """The error answer of an injected fault (``lost`` has none: the connection is dropped)."""
    if kind == "throttling":
        # ECS and VPC throttle per user with Throttling.User; the Tea-era RDS gateway answers Throttling and tells the
        # client when to retry, which the Tea SDK turns into ThrottlingException.
        code = "Throttling" if product == "rds" else "Throttling.User"
        message = ("Request was denied due to request throttling." if product == "rds"
                   else "Request was denied due to user flow control.")
        return ApiError(code, message, status=400,
                        headers={"x-acs-retry-after": str(THROTTLING_RETRY_AFTER_MS)})
    if kind == "unavailable":
        return ApiError("ServiceUnavailable", "The request has failed due to a temporary failure of the server.",
                        status=503)
    if kind == "internal":
        return ApiError("InternalError",
                        "The request processing has failed due to some unknown error, exception or failure.",
                        status=500)
    raise ValueError(kind)
