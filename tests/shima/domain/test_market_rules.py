"""shima.domain.market: the application window, drafts and submitting once, the jury's
decisions against the booth count (also when two staff accept the last booth at once),
results claimed once, booths and fees, withdrawals and the 補欠 offers with their deadline.

Every rule call runs in its own transaction, as the flow, the admin and the worker call
them. The clock is the module's `now`, from Monday DAY 10:00 JST; the market's window is
open from DAY-1 to DAY+7 and it is held on DAY+30."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from models.market import ApplicationStatus, Market, MarketApplication, MarketPhoto, MarketStatus
from models.residents import Resident
from shima.domain import market as rules
from shima.settings import Settings
from tests.shima.domain.course_helpers import DAY, Clock, jst, resident

ACCEPTED = ApplicationStatus.ACCEPTED
RESERVE = ApplicationStatus.RESERVE
REJECTED = ApplicationStatus.REJECTED
OFFERED = ApplicationStatus.OFFERED
STAFF = 1


@pytest.fixture
def clock(db: str, monkeypatch: pytest.MonkeyPatch) -> Clock:
    moving = Clock(jst(DAY, 10))
    monkeypatch.setattr(rules, "now", moving)
    return moving


def spec(**kw: Any) -> rules.MarketSpec:
    values: dict[str, Any] = {
        "name": "奄美ハンドメイドマーケット",
        "starts_at": jst(DAY + timedelta(days=30), 10),
        "ends_at": jst(DAY + timedelta(days=30), 16),
        "venue": "AiAi ひろば",
        "applications_open_at": jst(DAY - timedelta(days=1), 9),
        "applications_close_at": jst(DAY + timedelta(days=7), 23, 59),
        "booths": 3,
        "booth_fee": 1500,
        "fee_due_on": (DAY + timedelta(days=20)),
        "allow_two_booths": True,
    }
    values.update(kw)
    return rules.MarketSpec(**values)


async def tx(call: Callable[[], Awaitable[Any]]) -> Any:
    async with in_transaction():
        return await call()


async def market(**kw: Any) -> Market:
    created = await tx(lambda: rules.create_market(spec(**kw)))
    return await tx(lambda: rules.publish(created.id))  # type: ignore[no-any-return]


async def add_photo(who: Resident, application_id: int | None = None) -> MarketPhoto:
    return await MarketPhoto.create(
        line_message_id=uuid.uuid4().hex[:20],
        resident_id=who.id,
        application_id=application_id,
        data=b"jpeg",
        thumb=b"jpeg",
    )


async def applied(
    who: Resident, target: Market, *, booths: int = 1, photos: int = 1, key: str | None = None
) -> MarketApplication:
    """A submitted application (審査中)."""
    application = await tx(lambda: rules.start(who, target.id))
    await tx(
        lambda: rules.save(
            who,
            application.id,
            step="confirm",
            artist_name=f"{who.display_name}工房",
            category="アクセサリー",
            items="貝殻のピアス",
            booths_requested=booths,
        )
    )
    for _ in range(photos):
        await add_photo(who, application.id)
    done, newly = await tx(lambda: rules.submit(who, application.id, key or uuid.uuid4().hex))
    assert newly
    return done  # type: ignore[no-any-return]


async def decided(target: Market, *decisions: ApplicationStatus) -> list[MarketApplication]:
    rows = []
    for i, decision in enumerate(decisions):
        application = await applied(await resident(f"作家{i}"), target)
        rows.append(await tx(lambda a=application, d=decision: rules.decide(a.id, d, STAFF)))
    return rows


async def status_of(application: MarketApplication) -> ApplicationStatus:
    return ApplicationStatus((await MarketApplication.get(id=application.id)).status)


async def booths_taken(target: Market) -> int:
    return (await Market.get(id=target.id)).booths_taken


async def check_counter(target: Market) -> None:
    """The counter equals the booths the holding applications requested."""
    rows = await MarketApplication.filter(market_id=target.id, status__in=(ACCEPTED, OFFERED))
    assert await booths_taken(target) == sum(r.booths_requested for r in rows)


# -- the window, drafts, submitting --------------------------------------------------------


async def test_a_draft_is_kept_and_continued(clock: Clock) -> None:
    target = await market()
    artist = await resident()
    first = await tx(lambda: rules.start(artist, target.id))
    await tx(lambda: rules.save(artist, first.id, step="category", artist_name="  島の 工房 "))
    clock.advance(days=3)
    again = await tx(lambda: rules.start(artist, target.id))
    assert again.id == first.id
    assert (again.step, again.artist_name, again.status) == ("category", "島の 工房", "draft")
    assert await MarketApplication.filter(market_id=target.id).count() == 1


async def test_outside_the_window_the_answer_has_the_dates(clock: Clock) -> None:
    later = await market(
        applications_open_at=jst(DAY + timedelta(days=2), 9),
    )
    artist = await resident("受付外")
    with pytest.raises(rules.WindowClosed) as before:
        await tx(lambda: rules.start(artist, later.id))
    assert "受け付けます" in before.value.message
    assert "6月12日(水) 09:00" in before.value.message
    target = await market()
    clock.advance(days=8)
    with pytest.raises(rules.WindowClosed) as after:
        await tx(lambda: rules.start(artist, target.id))
    assert "締め切りました" in after.value.message


async def test_fields_are_checked(clock: Clock) -> None:
    target = await market(allow_two_booths=False)
    artist = await resident()
    application = await tx(lambda: rules.start(artist, target.id))
    for bad in (
        {"artist_name": "  "},
        {"artist_name": "あ" * 51},
        {"category": "宝石"},
        {"items": ""},
        {"booths_requested": 2},
        {"url": "not a url"},
        {"url": "javascript:alert(1)"},
    ):
        with pytest.raises(rules.BadValue):
            await tx(lambda b=bad: rules.save(artist, application.id, **b))
    saved = await tx(lambda: rules.save(artist, application.id, url="instagram.com/shima_koubou"))
    assert saved.url == "https://instagram.com/shima_koubou"
    saved = await tx(lambda: rules.save(artist, application.id, url="@shima_koubou"))
    assert saved.url == "https://www.instagram.com/shima_koubou"
    assert (await MarketApplication.get(id=application.id)).url == saved.url


async def test_submit_needs_everything_and_answers_a_double_tap_once(clock: Clock) -> None:
    target = await market(photos_min=2)
    artist = await resident()
    application = await tx(lambda: rules.start(artist, target.id))
    await tx(lambda: rules.save(artist, application.id, artist_name="島工房"))
    await add_photo(artist, application.id)
    with pytest.raises(rules.Incomplete) as lacking:
        await tx(lambda: rules.submit(artist, application.id, "k1"))
    assert lacking.value.missing == ["ジャンル", "販売するもの", "作品の写真（あと1枚）"]
    await tx(lambda: rules.save(artist, application.id, category="木工", items="お皿"))
    await add_photo(artist, application.id)
    first, newly = await tx(lambda: rules.submit(artist, application.id, "k1"))
    assert (first.status, newly) == (ApplicationStatus.SUBMITTED, True)
    again, newly = await tx(lambda: rules.submit(artist, application.id, "k1"))
    assert (again.id, newly) == (first.id, False)
    # Another application's key (a forged button) does not submit this one.
    someone = await resident("別の人")
    other = await tx(lambda: rules.start(someone, target.id))
    with pytest.raises(rules.NotEditable):
        await tx(lambda: rules.submit(someone, other.id, "k1"))


async def test_submitting_after_the_window_is_refused_at_the_final_step(clock: Clock) -> None:
    target = await market()
    artist = await resident()
    application = await tx(lambda: rules.start(artist, target.id))
    await tx(
        lambda: rules.save(
            artist, application.id, artist_name="a", category="陶芸", items="マグカップ"
        )
    )
    await add_photo(artist, application.id)
    clock.set(target.applications_close_at)  # the summary was shown before the cut-off
    with pytest.raises(rules.WindowClosed):
        await tx(lambda: rules.submit(artist, application.id, "late"))
    assert await status_of(application) == ApplicationStatus.DRAFT


async def test_another_residents_application_is_not_found(clock: Clock) -> None:
    target = await market()
    mine = await applied(await resident("本人"), target)
    stranger = await resident("他人")
    with pytest.raises(rules.NotYours):
        await tx(lambda: rules.save(stranger, mine.id, artist_name="乗っ取り"))
    with pytest.raises(rules.NotYours):
        await tx(lambda: rules.withdraw(stranger, mine.id, Settings()))
    assert (await MarketApplication.get(id=mine.id)).artist_name == "本人工房"


async def test_photos_up_to_the_maximum_and_unsend(clock: Clock) -> None:
    target = await market(photos_max=2)
    artist = await resident()
    application = await tx(lambda: rules.start(artist, target.id))
    counts = []
    for _ in range(2):
        photo = await add_photo(artist)
        counts.append(await tx(lambda p=photo: rules.attach_photo(artist, application.id, p)))
    assert counts == [1, 2]
    third = await add_photo(artist)
    with pytest.raises(rules.PhotoLimit):
        await tx(lambda: rules.attach_photo(artist, application.id, third))
    assert await rules.photo_count(application.id) == 2
    first = (await rules.photos_of(application.id))[0]
    message_id = (await MarketPhoto.get(id=first.id)).line_message_id
    assert await tx(lambda: rules.unsend(artist, message_id))
    assert await rules.photo_count(application.id) == 1


async def test_edit_and_withdraw_only_while_open(clock: Clock) -> None:
    target = await market()
    artist = await resident()
    application = await applied(artist, target)
    await tx(lambda: rules.save(artist, application.id, items="ピアスとイヤリング"))
    assert await status_of(application) == ApplicationStatus.SUBMITTED
    clock.advance(days=8)
    with pytest.raises(rules.WindowClosed):
        await tx(lambda: rules.save(artist, application.id, items="変更"))
    with pytest.raises(rules.WindowClosed):
        await tx(lambda: rules.withdraw(artist, application.id, Settings()))
    assert await status_of(application) == ApplicationStatus.SUBMITTED


async def test_withdrawing_while_open_and_applying_again(clock: Clock) -> None:
    target = await market()
    artist = await resident("取り下げ")
    application = await applied(artist, target)
    await tx(lambda: rules.withdraw(artist, application.id, Settings()))
    assert await status_of(application) == ApplicationStatus.WITHDRAWN
    assert [a.id for a in await rules.mine(artist)] == []
    again = await tx(lambda: rules.start(artist, target.id))
    assert (again.id, again.status, again.step) == (application.id, "draft", "name")


async def test_send_back_then_fix_and_resubmit_after_the_window(clock: Clock) -> None:
    target = await market()
    artist = await resident()
    application = await applied(artist, target)
    with pytest.raises(rules.BadValue):
        await tx(lambda: rules.send_back(application.id, "  ", STAFF))
    returned = await tx(lambda: rules.send_back(application.id, "写真を明るく", STAFF))
    assert (returned.status, returned.return_message) == (
        ApplicationStatus.RETURNED,
        "写真を明るく",
    )
    with pytest.raises(rules.NotDecidable):
        await tx(lambda: rules.send_back(application.id, "二重", STAFF))
    clock.advance(days=8)  # the window closed meanwhile: a 差し戻し can still be fixed
    await tx(lambda: rules.save(artist, application.id, items="明るい写真にしました"))
    again, newly = await tx(lambda: rules.submit(artist, application.id, "fix-1"))
    assert (again.status, newly) == (ApplicationStatus.SUBMITTED, True)


# -- the jury -----------------------------------------------------------------------------


async def test_accepting_never_exceeds_the_booths(clock: Clock) -> None:
    target = await market(booths=3)
    one, two = await decided(target, ACCEPTED, ACCEPTED)
    pair = await applied(await resident("2ブース"), target, booths=2)
    with pytest.raises(rules.MarketFull) as full:
        await tx(lambda: rules.decide(pair.id, ACCEPTED, STAFF))
    assert full.value.left == 1
    assert "ブースが埋まっています" in full.value.message
    assert await status_of(pair) == ApplicationStatus.SUBMITTED
    # Changing one's mind frees the booth.
    await tx(lambda: rules.decide(two.id, RESERVE, STAFF))
    await tx(lambda: rules.decide(pair.id, ACCEPTED, STAFF))
    assert await booths_taken(target) == 3
    await check_counter(target)


async def test_bulk_decisions_report_the_refused(clock: Clock) -> None:
    target = await market(booths=2)
    rows = [await applied(await resident(f"まとめ{i}"), target) for i in range(3)]
    done, refused = await tx(lambda: rules.decide_many([r.id for r in rows], ACCEPTED, STAFF))
    assert [d.id for d in done] == [rows[0].id, rows[1].id]
    assert [r[0] for r in refused] == [rows[2].id]
    assert "ブースが埋まっています" in refused[0][1]
    await check_counter(target)


async def test_two_staff_accepting_the_last_booth_at_once(clock: Clock) -> None:
    target = await market(booths=1)
    first = await applied(await resident("A"), target)
    second = await applied(await resident("B"), target)
    go = asyncio.Event()

    async def accept(application: MarketApplication, staff: int) -> Any:
        await go.wait()
        async with in_transaction():
            return await rules.decide(application.id, ACCEPTED, staff)

    tasks = [asyncio.create_task(accept(first, 1)), asyncio.create_task(accept(second, 2))]
    await asyncio.sleep(0)
    go.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, rules.MarketError):
            raise result
    assert sum(isinstance(r, rules.MarketFull) for r in results) == 1
    statuses = sorted([await status_of(first), await status_of(second)])
    assert statuses == sorted([ACCEPTED, ApplicationStatus.SUBMITTED])
    assert await booths_taken(target) == 1


async def test_results_are_claimed_once_and_lock_the_decision(clock: Clock) -> None:
    target = await market()
    accepted, reserve, rejected = await decided(target, ACCEPTED, RESERVE, REJECTED)
    undecided = await applied(await resident("未決定"), target)
    with pytest.raises(rules.NotDecidable):  # still open for applications
        await tx(lambda: rules.claim_results(target.id))
    await tx(lambda: rules.close(target.id))
    claimed = await tx(lambda: rules.claim_results(target.id))
    assert sorted(a.id for a in claimed) == sorted([accepted.id, reserve.id, rejected.id])
    assert await tx(lambda: rules.claim_results(target.id)) == []
    assert (await Market.get(id=target.id)).status == MarketStatus.RESULTS_SENT
    with pytest.raises(rules.NotDecidable):
        await tx(lambda: rules.decide(accepted.id, REJECTED, STAFF))
    # A late decision is told by the next 結果を通知, once.
    await tx(lambda: rules.decide(undecided.id, REJECTED, STAFF))
    assert [a.id for a in await tx(lambda: rules.claim_results(target.id))] == [undecided.id]


async def test_reviews_are_per_staff_member(clock: Clock) -> None:
    target = await market()
    application = await applied(await resident(), target)
    await tx(lambda: rules.review(application.id, 1, 4, "色使いが良い"))
    await tx(lambda: rules.review(application.id, 2, 5, ""))
    await tx(lambda: rules.review(application.id, 1, 3, "再考"))
    with pytest.raises(rules.BadValue):
        await tx(lambda: rules.review(application.id, 1, 6, ""))
    rows = await application.reviews.all().order_by("staff_id")  # type: ignore[attr-defined]
    assert [(r.staff_id, r.score, r.note) for r in rows] == [(1, 3, "再考"), (2, 5, "")]


# -- after the results ----------------------------------------------------------------------


async def results_sent(target: Market) -> None:
    await tx(lambda: rules.close(target.id))
    await tx(lambda: rules.claim_results(target.id))


async def test_booth_numbers_are_unique_and_fees_recorded(clock: Clock) -> None:
    target = await market()
    one, two = await decided(target, ACCEPTED, ACCEPTED)
    await tx(lambda: rules.set_booth(one.id, "A-1"))
    with pytest.raises(rules.BoothTaken):
        await tx(lambda: rules.set_booth(two.id, "A-1"))
    paid = await tx(lambda: rules.set_fee_paid(one.id, True))
    assert paid.fee_paid and paid.fee_paid_at is not None
    unpaid = await tx(lambda: rules.set_fee_paid(one.id, False))
    assert not unpaid.fee_paid and unpaid.fee_paid_at is None


async def test_a_withdrawal_offers_the_booth_to_the_first_reserve(clock: Clock) -> None:
    settings = Settings()
    target = await market(booths=1)
    accepted, first_reserve, second_reserve = await decided(target, ACCEPTED, RESERVE, RESERVE)
    await results_sent(target)
    outcome = await tx(lambda: rules.withdraw_by_staff(accepted.id, "体調不良", settings))
    assert [a.id for a in outcome.offers] == [first_reserve.id]
    offer = await MarketApplication.get(id=first_reserve.id)
    assert offer.status == OFFERED
    assert offer.offer_expires_at == rules.offer_deadline(settings, clock.at, 48)
    await check_counter(target)
    # The first 補欠 lets it lapse: the second is offered by the worker's round.
    clock.set(offer.offer_expires_at)  # type: ignore[arg-type]
    outcome = await tx(lambda: rules.run_offers(settings))
    assert [a.id for a in outcome.expired] == [first_reserve.id]
    assert [a.id for a in outcome.offers] == [second_reserve.id]
    second_owner = await Resident.get(id=second_reserve.resident_id)
    accepted_now = await tx(lambda: rules.accept_offer(second_owner, second_reserve.id))
    assert accepted_now.status == ACCEPTED
    assert await tx(lambda: rules.run_offers(settings)) == rules.Outcome()
    await check_counter(target)


async def test_a_declined_offer_passes_on_and_a_late_accept_is_refused(clock: Clock) -> None:
    settings = Settings()
    target = await market(booths=1)
    accepted, first_reserve, second_reserve = await decided(target, ACCEPTED, RESERVE, RESERVE)
    await results_sent(target)
    artist = await Resident.get(id=accepted.resident_id)
    await tx(lambda: rules.withdraw(artist, accepted.id, settings))
    first_owner = await Resident.get(id=first_reserve.resident_id)
    outcome = await tx(lambda: rules.decline_offer(first_owner, first_reserve.id, settings))
    assert [a.id for a in outcome.offers] == [second_reserve.id]
    with pytest.raises(rules.OfferGone):
        await tx(lambda: rules.accept_offer(first_owner, first_reserve.id))
    await check_counter(target)


async def test_no_offer_overnight_until_the_morning(clock: Clock) -> None:
    settings = Settings()
    target = await market(booths=1)
    accepted, reserve = await decided(target, ACCEPTED, RESERVE)
    await results_sent(target)
    clock.set(jst(DAY + timedelta(days=10), 22))
    outcome = await tx(lambda: rules.withdraw_by_staff(accepted.id, "", settings))
    assert outcome.offers == []
    clock.set(jst(DAY + timedelta(days=11), 8))
    outcome = await tx(lambda: rules.run_offers(settings))
    assert [a.id for a in outcome.offers] == [reserve.id]


async def test_a_two_booth_reserve_is_skipped_when_one_booth_is_free(clock: Clock) -> None:
    settings = Settings()
    target = await market(booths=2)
    accepted = (await decided(target, ACCEPTED))[0]
    big = await applied(await resident("2ブース補欠"), target, booths=2)
    await tx(lambda: rules.decide(big.id, RESERVE, STAFF))
    small = (await decided(target, RESERVE))[0]
    await results_sent(target)
    outcome = await tx(lambda: rules.withdraw_by_staff(accepted.id, "", settings))
    # Two booths free now: the two-booth 補欠 came first and fits.
    assert [a.id for a in outcome.offers] == [big.id]
    assert await status_of(small) == RESERVE
    await check_counter(target)


# -- the market itself ----------------------------------------------------------------------


async def test_market_values_are_checked(clock: Clock) -> None:
    problems = rules.market_problems(
        spec(
            name="",
            booths=0,
            applications_close_at=jst(DAY + timedelta(days=31), 9),
            categories=("陶芸", "陶芸"),
            photos_min=4,
            fee_due_on=date(2031, 1, 1),
        )
    )
    assert problems == [
        "マーケット名を入力してください。",
        "申込みの締切は開催日より前にしてください。",
        "ブース数は1〜500で指定してください。",
        "出店料の支払期限は開催日までにしてください。",
        "同じジャンル（陶芸）が2回以上入っています。1つにしてください。",
        "写真の枚数は、最少 ≤ 最多 ≤ 10 で指定してください。",
    ]
    target = await market(booths=2)
    await decided(target, ACCEPTED, ACCEPTED)
    with pytest.raises(rules.BadMarket) as fewer:
        await tx(lambda: rules.update_market(target.id, spec(booths=1)))
    assert "採択済みのブース数（2）" in fewer.value.message


async def test_photos_never_taken_into_an_application_are_pruned_after_a_day(
    clock: Clock,
) -> None:
    target = await market()
    artist = await resident()
    application = await tx(lambda: rules.start(artist, target.id))
    kept = await add_photo(artist, application.id)
    stray = await add_photo(artist)
    await MarketPhoto.filter(id__in=[kept.id, stray.id]).update(
        created_at=clock.at - timedelta(hours=25)
    )
    fresh = await add_photo(artist)
    await MarketPhoto.filter(id=fresh.id).update(created_at=clock.at - timedelta(hours=23))
    await tx(lambda: rules.prune_photos(Settings()))
    assert sorted(await MarketPhoto.all().values_list("id", flat=True)) == sorted(
        [kept.id, fresh.id]
    )


async def test_booth_numbers_match_whatever_the_width(clock: Clock) -> None:
    target = await market()
    one, two = await decided(target, ACCEPTED, ACCEPTED)
    assert (await tx(lambda: rules.set_booth(one.id, " Ａ－１ "))).booth_number == "A-1"
    with pytest.raises(rules.BoothTaken):
        await tx(lambda: rules.set_booth(two.id, "A-1"))


async def test_a_url_typed_full_width_is_the_same_address(clock: Clock) -> None:
    assert rules.clean_url("＠ｎｕｎｏ＿ｙｕｉ") == "https://www.instagram.com/nuno_yui"
    assert (
        rules.clean_url("ｈｔｔｐｓ：／／ｓｈｏｐ．ｅｘａｍｐｌｅ．ｊｐ")
        == "https://shop.example.jp"
    )
