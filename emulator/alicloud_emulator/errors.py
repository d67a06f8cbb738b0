"""API errors in the shape Alibaba Cloud returns them: an HTTP status, a Code and a Message."""


class ApiError(Exception):
    """An error answer. ``headers`` lets throttling add ``x-acs-retry-after``; ``details`` are more body fields."""

    def __init__(self, code, message, status=400, headers=None, details=None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.headers = dict(headers or {})
        self.details = dict(details or {})


def missing_parameter(name):
    return ApiError(
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
    )


def invalid_parameter(name, reason=None, code="InvalidParameter"):
    message = f'The specified parameter "{name}" is not valid.'
    if reason:
        message = f"{message} {reason}"
    return ApiError(code, message)


def not_found(code, what):
    """The ECS and VPC style of a missing resource: 404 with ``InvalidXxxId.NotFound``."""
    return ApiError(code, f"The specified {what} does not exist.", status=404)
