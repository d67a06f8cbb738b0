"""The state of the emulated cloud: resource collections, their indexes, the lifecycle scheduler, ClientTokens."""
import heapq
import random
import string
import threading

from . import models
from .catalog import REGIONS

# Durations at clock speed 1, in seconds, in the proportions of the real cloud (an RDS instance takes minutes,
# an ECS instance well under one).
DURATIONS = {
    "vpc_create": 5.0,
    "vswitch_create": 3.0,
    "instance_pending": 10.0,     # Pending -> Starting
    "instance_starting": 30.0,    # Starting -> Running (so about 40 s from RunInstances)
    "instance_restart": 15.0,     # StartInstance: Starting -> Running
    "instance_stopping": 10.0,    # Stopping -> Stopped
    "db_create": 480.0,           # Creating -> Running, about 8 minutes
    "db_delete": 60.0,            # Deleting -> gone
    "db_modify": 120.0,           # ModifyDBInstanceSpec: DBInstanceClassChanging -> Running
    "account_create": 5.0,        # Unavailable -> Available
    "database_create": 5.0,       # Creating -> Running
}

# How long to wait before asking a backend again whether a resource is ready, in real seconds.
RECHECK_REAL_SECONDS = 0.2

# name -> function(state, *args); filled by the product modules with @event_handler.
EVENT_HANDLERS = {}

_ID_ALPHABET = string.ascii_lowercase + string.digits


def event_handler(name):
    def register(function):
        EVENT_HANDLERS[name] = function
        return function
    return register


COLLECTIONS = (
    ("vpcs", models.Vpc), ("vswitches", models.VSwitch), ("security_groups", models.SecurityGroup),
    ("instances", models.Instance), ("db_instances", models.DBInstance), ("key_pairs", models.KeyPair),
)


class CloudState:
    def __init__(self, clock, backend, seed=0):
        self.lock = threading.RLock()
        self.clock = clock
        self.backend = backend
        self.seed = seed
        self.version = 0
        self.clear()

    def clear(self):
        with self.lock:
            self.vpcs = {}
            self.vswitches = {}
            self.security_groups = {}
            self.instances = {}
            # Region -> {instance id: Instance} in creation order: DescribeInstances pages one region's dict.
            self.instances_by_region = {region: {} for region in REGIONS}
            self.db_instances = {}
            self.key_pairs = {}               # (region, name) -> KeyPair
            self.vswitch_members = {}         # vswitch id -> set of instance and RDS instance ids in it
            self.security_group_members = {}  # security group id -> set of instance ids
            self.client_tokens = {}           # (product, action, region, token) -> (fingerprint, answer)
            self.render_cache = {}            # instance id -> (version key, DescribeInstances entry)
            self._events = []
            self._event_sequence = 0
            self._applying_due = None
            self._deferred_events = []
            self._random = random.Random(self.seed)
            self.touch()

    def touch(self):
        """Note a change (the state file saver watches ``version``)."""
        self.version += 1

    def now(self):
        return self.clock.now()

    def new_id(self, prefix, region_id, length=20):
        """An id shaped like the real ones: prefix, the region's infix, random lowercase letters and digits."""
        infix = REGIONS.get(region_id, ("", "", "bp1", ()))[2]
        body_length = length - len(infix)
        while True:
            candidate = prefix + infix + "".join(self._random.choice(_ID_ALPHABET) for _position in range(body_length))
            if not self._id_taken(candidate):
                return candidate

    def new_number(self, digits):
        """A numeric id (order ids, task ids), from the same seeded generator."""
        return str(self._random.randrange(10 ** (digits - 1), 10 ** digits))

    def _id_taken(self, candidate):
        return (candidate in self.instances or candidate in self.vpcs or candidate in self.vswitches
                or candidate in self.security_groups or candidate in self.db_instances)

    # --- lifecycle scheduler -------------------------------------------------------------------------------------
    def schedule(self, duration_name, event_name, *args):
        # A transition scheduled by another one starts when that one was due, not when it happened to be applied:
        # a clock jump of 60 s takes a new instance all the way to Running.
        start = self._applying_due if self._applying_due is not None else self.now()
        due = start + DURATIONS[duration_name]
        self._event_sequence += 1
        heapq.heappush(self._events, (due, self._event_sequence, event_name, list(args)))

    def schedule_recheck(self, event_name, *args):
        """Run an event again a fifth of a real second from now (whatever the clock speed): a backend said its
        resource is not ready yet."""
        # At least a microsecond of emulated time, so that the event lands after "now" even on a nearly frozen clock.
        due = self.now() + max(RECHECK_REAL_SECONDS * self.clock.speed, 1e-6)
        self._event_sequence += 1
        # Held back until the current run of due events ends: the recheck must not spin inside that run.
        self._deferred_events.append((due, self._event_sequence, event_name, list(args)))

    def run_due_events(self):
        """Apply every transition whose time has come, in time order."""
        with self.lock:
            now = self.now()
            applied = False
            while self._events and self._events[0][0] <= now:
                due, _sequence, name, args = heapq.heappop(self._events)
                self._applying_due = due
                try:
                    EVENT_HANDLERS[name](self, *args)
                finally:
                    self._applying_due = None
                applied = True
            for event in self._deferred_events:
                heapq.heappush(self._events, event)
            self._deferred_events = []
            if applied:
                self.touch()

    def pending_events(self):
        return len(self._events)

    # --- indexes -------------------------------------------------------------------------------------------------
    def add_instance(self, instance):
        self.instances[instance.instance_id] = instance
        self.instances_by_region.setdefault(instance.region_id, {})[instance.instance_id] = instance
        self.vswitch_members.setdefault(instance.vswitch_id, set()).add(instance.instance_id)
        for group_id in instance.security_group_ids:
            self.security_group_members.setdefault(group_id, set()).add(instance.instance_id)

    def remove_instance(self, instance):
        self.instances.pop(instance.instance_id, None)
        self.render_cache.pop(instance.instance_id, None)
        self.instances_by_region.get(instance.region_id, {}).pop(instance.instance_id, None)
        self.vswitch_members.get(instance.vswitch_id, set()).discard(instance.instance_id)
        for group_id in instance.security_group_ids:
            self.security_group_members.get(group_id, set()).discard(instance.instance_id)

    def add_db_instance(self, db_instance):
        self.db_instances[db_instance.db_instance_id] = db_instance
        if db_instance.vswitch_id:
            self.vswitch_members.setdefault(db_instance.vswitch_id, set()).add(db_instance.db_instance_id)

    def remove_db_instance(self, db_instance):
        self.db_instances.pop(db_instance.db_instance_id, None)
        if db_instance.vswitch_id:
            self.vswitch_members.get(db_instance.vswitch_id, set()).discard(db_instance.db_instance_id)

    # --- views and persistence -----------------------------------------------------------------------------------
    def resources(self):
        with self.lock:
            self.run_due_events()
            return {name: [models.to_dict(item) for item in getattr(self, name).values()]
                    for name, _model in COLLECTIONS}

    def snapshot(self):
        with self.lock:
            data = self.resources()
            data["emulated_time"] = self.now()
            data["events"] = [list(event) for event in sorted(self._events)]
            data["client_tokens"] = [[list(key), [list(map(list, fingerprint)), answer]]
                                     for key, (fingerprint, answer) in self.client_tokens.items()]
            data["random_state"] = _encode_random_state(self._random.getstate())
            return data

    def load(self, data):
        with self.lock:
            self.clear()
            self.clock.restore(data.get("emulated_time", 0))
            for name, model in COLLECTIONS:
                for item in data.get(name, []):
                    resource = models.from_dict(model, item)
                    if model is models.Instance:
                        self.add_instance(resource)
                    elif model is models.DBInstance:
                        self.add_db_instance(resource)
                    elif model is models.KeyPair:
                        self.key_pairs[(resource.region_id, resource.name)] = resource
                    else:
                        key = {"vpcs": "vpc_id", "vswitches": "vswitch_id",
                               "security_groups": "security_group_id"}[name]
                        getattr(self, name)[getattr(resource, key)] = resource
            for due, sequence, event_name, args in data.get("events", []):
                heapq.heappush(self._events, (due, sequence, event_name, args))
                self._event_sequence = max(self._event_sequence, sequence)
            for key, (fingerprint, answer) in data.get("client_tokens", []):
                self.client_tokens[tuple(key)] = (tuple(tuple(pair) for pair in fingerprint), answer)
            if "random_state" in data:
                self._random.setstate(_decode_random_state(data["random_state"]))
            self.backend.restore(self)
            self.touch()


def _encode_random_state(state):
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _decode_random_state(data):
    version, internal, gauss = data
    return version, tuple(internal), gauss
