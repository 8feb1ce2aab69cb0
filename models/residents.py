"""Residents: the LINE users who talk to the account."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

# An erased resident's `line_user_id` is this prefix and random hex
# (shima.domain.personal_data): no LINE id starts with it (LINE's are "U" + 32 hex digits), so
# nothing is ever sent to it or asked of LINE about it (line_app.outbox, line_app.profiles).
PSEUDONYM_PREFIX = "erased-"


def is_pseudonym(line_user_id: str) -> bool:
    return line_user_id.startswith(PSEUDONYM_PREFIX)


class Resident(Model):
    id = fields.IntField(primary_key=True)
    line_user_id = fields.CharField(max_length=64, unique=True)
    # From the profile API; may change, refreshed on follow.
    display_name = fields.CharField(max_length=200, default="")
    # When we last asked LINE for a missing name (line_app.profiles fills names later).
    name_checked_at = fields.DatetimeField(null=True)
    is_following = fields.BooleanField(default=True)
    first_followed_at = fields.DatetimeField(null=True)
    followed_at = fields.DatetimeField(null=True)
    unfollowed_at = fields.DatetimeField(null=True)
    # When the notice of what personal data we keep (and why) was shown to them.
    privacy_notice_shown_at = fields.DatetimeField(null=True)
    # マイページ → お知らせの受け取り: no segment messages (replies to their own actions and
    # reminders of what they booked still arrive).
    announcements_opt_out = fields.BooleanField(default=False)
    announcements_opt_out_at = fields.DatetimeField(null=True)
    # Erased (個人情報の削除): names and free texts are gone, `line_user_id` is a random
    # pseudonym ("erased-…"); the row stays so statistics keep counting.
    erased_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "residents"
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.display_name or f"利用者 #{self.id}"
