"""The one exception type for user errors.

Anything the user can fix (a bad file, an unknown net, an invalid option, an infeasible
request) raises :class:`FusePlanError` with a one-line message that says what, where and what
to do. The command line prints the message to stderr and exits with code 2.
"""


class FusePlanError(Exception):
    """A user error with a one-line, actionable message."""
