"""The slot edit constraints live in the admin's handler today: reach them signed in."""

from tests.admin.conftest import staff_client, staff_user  # noqa: F401
