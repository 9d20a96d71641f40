"""One error tree for the core. `api/` maps each to an HTTP status; channels to a reply.

HotlineError
├── InvalidMessageError      the citizen's input cannot be accepted (empty, too long, binary)
├── NotFoundError            a ticket, unit or operator that does not exist
├── InvalidTransitionError   a ticket status change the lifecycle does not allow
├── UnknownCategoryError     a category outside the configured taxonomy
├── AuthenticationError      no valid login
├── PermissionDeniedError    logged in, but not allowed to do this
├── ConflictError            someone else got there first (a claim, a sign)
└── DeliveryError            a channel could not deliver an outbox entry
"""

from __future__ import annotations


class HotlineError(Exception):
    code = "hotline_error"
    http_status = 500


class InvalidMessageError(HotlineError):
    code = "invalid_message"
    http_status = 400


class NotFoundError(HotlineError):
    code = "not_found"
    http_status = 404


class InvalidTransitionError(HotlineError):
    code = "invalid_transition"
    http_status = 409


class UnknownCategoryError(HotlineError):
    code = "unknown_category"
    http_status = 422


class AuthenticationError(HotlineError):
    code = "not_authenticated"
    http_status = 401


class PermissionDeniedError(HotlineError):
    code = "forbidden"
    http_status = 403


class ConflictError(HotlineError):
    code = "conflict"
    http_status = 409


class DeliveryError(HotlineError):
    """Raised by a channel's `send`. `retryable` says whether trying again can help."""

    code = "delivery_failed"
    http_status = 502

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
