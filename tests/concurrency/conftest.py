"""The admin's signed-in client and the worker's LINE client, for tests that span both."""

from tests.admin.conftest import staff_client, staff_user  # noqa: F401
from tests.line_app.conftest import line  # noqa: F401
