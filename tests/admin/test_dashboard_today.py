"""The dashboard lists today's consultations (JST), escaped."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import httpx2

from models.audit import AuditLog
from models.consultation import Booking, ConsultationSlot, Method, Topic
from models.residents import Resident
from shima.timeutil import JST, now


async def test_dashboard_shows_todays_consultations(staff_client: httpx2.AsyncClient) -> None:
    start = datetime.combine(now().astimezone(JST).date(), time(12), tzinfo=JST)
    slot = await ConsultationSlot.create(starts_at=start, ends_at=start + timedelta(hours=1))
    later = await ConsultationSlot.create(
        starts_at=start + timedelta(days=2), ends_at=start + timedelta(days=2, hours=1)
    )
    person = await Resident.create(line_user_id="U1", display_name="<b>笠利 さくら</b>")
    other = await Resident.create(line_user_id="U2", display_name="名瀬 太郎")
    await Booking.create(resident=person, slot=slot, topic=Topic.SKILL, method=Method.ONLINE)
    await Booking.create(resident=other, slot=later, topic=Topic.SKILL, method=Method.ONLINE)
    response = await staff_client.get("/admin/")
    assert response.status_code == 200
    assert "今日の相談" in response.text
    assert "&lt;b&gt;笠利 さくら&lt;/b&gt;" in response.text
    assert "名瀬 太郎" not in response.text
    assert await AuditLog.filter(action="dashboard.today").count() == 1
