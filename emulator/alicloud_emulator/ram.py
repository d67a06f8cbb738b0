"""RAM policy enforcement: an access key bound to a policy may call only the actions the policy allows.

Evaluated as RAM does for identity policies: an explicit Deny wins, then an Allow, otherwise the call is implicitly
denied. Actions are ``product:Action`` patterns with ``*`` and ``?``, compared without regard to case. Resources are
matched per product only: ``*`` or an ARN ``acs:<product>:...`` of the request's product matches every resource of it
(the emulator does not work out the ARN each request touches). Statements with a Condition are refused when the
policy is loaded rather than silently treated as unconditional.
"""
import fnmatch
import hashlib
import json

from .errors import ApiError

FORBIDDEN_MESSAGE = "User not authorized to operate on the specified resource, or this API doesn't support RAM."
EFFECTS = ("Allow", "Deny")


def _as_list(value, what):
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(item, str) and item for item in values):
        raise ValueError(f"{what} must be a non-empty string or list of strings")
    return values


class RamPolicy:
    """A parsed policy document (``{"Version": "1", "Statement": [...]}``)."""

    def __init__(self, document):
        if not isinstance(document, dict) or not isinstance(document.get("Statement"), list):
            raise ValueError("a RAM policy is a JSON object with a Statement list")
        self.statements = []
        for index, statement in enumerate(document["Statement"], 1):
            if not isinstance(statement, dict):
                raise ValueError(f"Statement {index} is not an object")
            effect = statement.get("Effect")
            if effect not in EFFECTS:
                raise ValueError(f"Statement {index}: Effect must be Allow or Deny, got {effect!r}")
            if "Condition" in statement:
                raise ValueError(f"Statement {index}: Condition is not evaluated by the emulator")
            actions = [action.lower() for action in _as_list(statement.get("Action"), f"Statement {index} Action")]
            resources = _as_list(statement.get("Resource"), f"Statement {index} Resource")
            self.statements.append((effect, actions, resources))

    @classmethod
    def from_file(cls, path):
        with open(path, encoding="utf-8") as handle:
            return cls(json.load(handle))

    def decide(self, product, action):
        """'Allow', 'ExplicitDeny' or 'ImplicitDeny' for product:action."""
        wanted = f"{product}:{action}".lower()
        allowed = False
        for effect, actions, resources in self.statements:
            if not any(fnmatch.fnmatchcase(wanted, pattern) for pattern in actions):
                continue
            if not any(resource == "*" or resource.lower().startswith(f"acs:{product}:") for resource in resources):
                continue
            if effect == "Deny":
                return "ExplicitDeny"
            allowed = True
        return "Allow" if allowed else "ImplicitDeny"


def forbidden(access_key_id, product, action, decision):
    """403 Forbidden.RAM with the AccessDeniedDetail the gateway adds, naming the action that was refused."""
    auth_action = f"{product}:{action}"
    diagnostic = hashlib.sha256(f"{access_key_id}|{auth_action}|{decision}".encode()).hexdigest()
    return ApiError("Forbidden.RAM", FORBIDDEN_MESSAGE, status=403, details={"AccessDeniedDetail": {
        "PolicyType": "AccountLevelIdentityBasedPolicy", "AuthPrincipalOwnerId": "1000000000000000",
        "EncodedDiagnosticMessage": diagnostic, "AuthPrincipalType": "SubUser",
        "AuthPrincipalDisplayName": access_key_id, "NoPermissionType": decision, "AuthAction": auth_action}})
