"""``reports/report.html``: self-contained, escaped, charts built from the data."""

import re
from html.parser import HTMLParser

from volt_agent.domain.models import EnrichedEntity, hours
from volt_agent.reporting.html import build_report, render_html_report
from volt_agent.reporting.html_charts import BarChart, ColumnChart, Donut, bar_chart

from .fixtures import ENTITIES, ENTRIES, enriched, entry

EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)> & \"quotes\""


class Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


def test_report_is_self_contained_and_has_every_chart() -> None:
    html = render_html_report(enriched())
    tags = elements(html)
    names = {t for t, _ in tags}
    assert "script" not in names
    assert "link" not in names
    assert "img" not in names
    for _, attrs in tags:
        for key, value in attrs.items():
            if key in ("src", "href") and value:
                assert not re.match(r"(https?:)?//", value), value
    csp = next(a for t, a in tags if t == "meta" and a.get("http-equiv"))
    assert "default-src 'none'" in (csp.get("content") or "")
    svg_ids = [a["id"] for t, a in tags if t == "svg"]
    assert svg_ids == [
        "chart-people",
        "chart-share",
        "chart-types",
        "chart-entities",
        "chart-days",
    ]


def test_report_is_deterministic() -> None:
    assert render_html_report(enriched()) == render_html_report(enriched())


def test_charts_are_scaled_from_the_data() -> None:
    report = build_report(enriched())
    people, share, types, top, days = report.charts
    assert isinstance(people, BarChart)
    assert [b.label for b in people.bars] == ["Boris Petrov", "Anna Schmidt", "Chen Li"]
    boris = people.bars[0]
    widths = [s.width for s in boris.segments]
    assert sum(widths) == max(sum(s.width for s in b.segments) for b in people.bars)
    boris_data = next(u for u in enriched().aggregated.users if u.user_name == "Boris Petrov")
    assert [s.seconds for s in boris.segments] == [
        boris_data.matched_seconds,
        boris_data.unmatched_seconds,
    ]
    assert [s.css for s in boris.segments] == ["matched", "unmatched"]
    assert isinstance(share, Donut)
    total = sum(e.seconds for e in ENTRIES)
    matched = total - 900 * 4 - 3900 - 5400
    assert share.matched_pct == f"{matched / total * 100:.1f}%"
    assert isinstance(types, BarChart)
    assert types.bars[-1].label == "(no Fibery reference)"
    assert types.bars[-1].value == f"{hours(total - matched):.2f} h"
    assert isinstance(top, BarChart)
    assert top.bars[0].label == "#5 Q1 roadmap"
    assert isinstance(days, ColumnChart)
    assert [c.short for c in days.columns] == ["11-16", "11-17", "11-18"]
    assert sum(int(c.value.replace(".", "")) for c in days.columns) == round(hours(total) * 100)


def test_bar_widths_are_proportional() -> None:
    chart = bar_chart("c", "t", [("a", [("matched", 3600)]), ("b", [("matched", 1800)])])
    assert chart.bars[0].segments[0].width == 2 * chart.bars[1].segments[0].width


def test_untrusted_text_is_escaped_everywhere() -> None:
    entries = [*ENTRIES, entry(99, 30, f"{EVIL} #4242 [Scrum] [Task] [{EVIL}]", 7200)]
    evil_entity = EnrichedEntity(
        type_key="Scrum/Task", public_id="4242", status="found", name=EVIL, state=EVIL
    )
    data = enriched(entries, [*ENTITIES, evil_entity])
    users = data.aggregated.users
    data.aggregated.users = [u.model_copy(update={"user_name": EVIL}) for u in users[:1]] + list(
        users[1:]
    )
    html = render_html_report(data)
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "onerror=alert(1)&gt;" in html
    tags = {t for t, _ in elements(html)}
    assert not tags & {"script", "img"}
