"""A team's page on the demo: its services by state, reviews, waivers, return
conditions, campaign services and history; linked from its services."""

from sqlalchemy import select

from readiness.extensions import db

from ..factories import on_the_demo_as


def test_the_team_page_shows_what_the_team_holds(app, client, login):
    on_the_demo_as(login, "team@example.com")
    service_page = client.get("/services/checkout").get_data(as_text=True)
    assert '<a href="/teams/payments">Payments</a>' in service_page
    page = client.get("/teams/payments").get_data(as_text=True)
    assert "<h1>Payments" in page
    assert "/services/ledger" in page and "/services/search-api" not in page
    assert "Open reviews" in page and "Review #" in page
    assert "<code>load-tested</code></a> of Payouts: waived until" in page
    assert "of Notifications: waived until" in page and "expired</strong>" in page
    assert "<code>service-dashboard</code></a> of Refunds: asked for until" in page
    assert "Every live service ready for Ops" in page  # notify is not done
    assert "Launched" in page and "History by month" in page
    search = client.get("/teams/search").get_data(as_text=True)
    assert "/services/search-api" in search and "Open return conditions" in search
    assert "handed back" in search.split("id=\"returns-title\"")[1].split("</section>")[0]
    assert client.get("/teams/nobody").status_code == 404


def test_the_team_page_gives_the_teams_readiness_as_the_service_list_does(
        app, client, login):
    import re

    on_the_demo_as(login, "team@example.com")
    listing = client.get("/services/?team=payments").get_data(as_text=True)
    cells = dict(re.findall(r'<th scope="row"><a href="/services/([a-z0-9-]+)">.*?'
                            r'<td class="readiness readiness-([a-z]+)">', listing, re.DOTALL))
    page = client.get("/teams/payments").get_data(as_text=True)
    figure = re.search(r'id="team-readiness">(.*?)</p>', page, re.DOTALL)[1]
    live = {slug: kind for slug, kind in cells.items() if slug != "invoice-pdf"}
    approved = sum(kind == "approved" for kind in live.values())
    assert f"{approved} of {len(live)} approved" in figure
    in_review = sum(kind == "review" for kind in live.values())
    assert f"{in_review} in review" in figure
    for slug, kind in live.items():
        assert re.search(rf'href="/services/{slug}">[^<]*</a> <span class="sub">tier \d'
                         rf'</span> · <span class="readiness readiness-{kind}">', page), slug


def test_a_launch_leaning_on_an_expired_waiver_says_so_in_its_readiness(app, client, login):
    on_the_demo_as(login, "team@example.com")
    page = client.get("/services/?team=payments").get_data(as_text=True)
    row = page[page.index('href="/services/notify"'):]
    row = row[:row.index("</tr>")]
    assert "a waiver of its approval expired" in row


def test_a_teams_services_sort_and_filter_by_readiness(app, client, login):
    import re

    on_the_demo_as(login, "team@example.com")

    def listed(query):
        page = client.get(f"/services/?{query}").get_data(as_text=True)
        return page, re.findall(r'<th scope="row"><a href="/services/([a-z0-9-]+)">.*?'
                                r'<td class="readiness readiness-([a-z]+)">', page, re.DOTALL)

    _, by_name = listed("team=payments")
    page, least_first = listed("team=payments&sort=readiness")
    assert sorted(by_name) == sorted(least_first)
    order = ["none", "expired", "review", "approved"]
    assert [order.index(kind) for _, kind in least_first] == sorted(
        order.index(kind) for _, kind in least_first)
    shares = [int(d) / int(t) for d, t in re.findall(r"(\d+) of (\d+) required done", page)]
    assert shares == sorted(shares) and len(shares) == 3
    _, in_review = listed("team=payments&readiness=review")
    assert {kind for _, kind in in_review} == {"review"} and len(in_review) == 3
    page, everyone = listed("readiness=review&sort=readiness")
    assert "works within one team" in page and len(everyone) > len(in_review)
    assert listed("team=payments&readiness=soon")[0].count("is not a readiness") == 1
    team_page = client.get("/teams/payments").get_data(as_text=True)
    assert 'href="/services/?team=payments&amp;sort=readiness"' in team_page


def test_the_history_counts_the_teams_events_by_month(app, client, login):
    import re

    from readiness.models import ManagementEvent, Service, Team, utcnow
    from readiness.queries.dashboard import month_starts

    on_the_demo_as(login, "team@example.com")
    page = client.get("/teams/payments").get_data(as_text=True)
    table = page[page.index('id="history-title"'):]
    rows = re.findall(r'<th scope="row">[^<]+</th>((?:<td class="num">\d+</td>)+)', table)
    totals = [sum(int(n) for n in re.findall(r"\d+", row)) for row in rows]
    year, month = month_starts(utcnow())[0]
    events = db.session.scalars(select(ManagementEvent).join(Service).join(Team).where(
        Team.slug == "payments")).all()
    by_month = {}
    for event in events:
        if f"{event.created_at:%Y-%m}" >= f"{year:04d}-{month:02d}":
            key = f"{event.created_at:%Y-%m}"
            by_month[key] = by_month.get(key, 0) + 1
    expected = [by_month.get(f"{y:04d}-{m:02d}", 0) for y, m in month_starts(utcnow())]
    assert totals == expected and sum(expected) > 0
