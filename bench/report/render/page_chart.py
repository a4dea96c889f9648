"""The results page's interactive figure: each method's difference to `none` per regime (and
per dataset), with its interval, filterable by regime, method and dataset, as a Vega-Lite
chart written with Altair. Its data are inserted by the page as the named data set
`effects` (the rows of bench.report.render.page.figure_rows)."""

from __future__ import annotations

import altair as alt

ALL = "all"
DATA = "effects"
TUNED = "tuned_curves"  # the rows of bench.report.render.page.tuned_curve_rows


def select(name: str, label: str, options: list[str], default: str) -> alt.Parameter:
    """A drop-down bound to a parameter, shown under the chart."""
    return alt.param(name=name, value=default, bind=alt.binding_select(options=options, name=label))


def effect_chart(
    regimes: list[str], methods: list[str], datasets: list[str], aggregate: str
) -> alt.LayerChart:
    """Points (effect) and rules (interval) per regime, dodged by method, a line at 0;
    `aggregate` names the rows that average over datasets (shown first)."""
    regime = select("regime_filter", "regime ", [ALL, *regimes], ALL)
    method = select("method_filter", "method ", [ALL, *methods], ALL)
    dataset = select("dataset_filter", "dataset ", [aggregate, *datasets], aggregate)
    kept = (
        f"(regime_filter == '{ALL}' || datum.regime == regime_filter)"
        f" && (method_filter == '{ALL}' || datum.method == method_filter)"
        " && datum.dataset == dataset_filter"
    )
    base = (
        alt.Chart(alt.NamedData(name=DATA))
        .transform_filter(kept)
        .transform_calculate(
            corrected_interval="'[' + format(datum.low, '+.2f') + ', ' + "
            "format(datum.high, '+.2f') + ']'"
        )
        .encode(
            y=alt.Y("regime:N", sort=regimes, title=None, axis=alt.Axis(labelLimit=360)),
            yOffset=alt.YOffset("method:N", sort=methods),
            color=alt.Color("method:N", sort=methods, legend=alt.Legend(orient="top")),
        )
    )
    tooltip = [
        alt.Tooltip("regime:N"),
        alt.Tooltip("profile:N"),
        alt.Tooltip("comparison:N"),
        alt.Tooltip("dataset:N"),
        alt.Tooltip("cell:N", title="study cell"),
        alt.Tooltip("effect:Q", format="+.2f"),
        alt.Tooltip("corrected_interval:N", title="interval"),
        alt.Tooltip("interval:N", title="interval kind"),
        alt.Tooltip("mde:Q", format=".2f", title="MDE"),
        alt.Tooltip("seeds:Q"),
    ]
    rules = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("low:Q", title="difference to none (accuracy points)"), x2="high:Q"
    )
    points = base.mark_point(filled=True, size=60, opacity=1).encode(x="effect:Q", tooltip=tooltip)
    zero = alt.Chart(alt.Data(values=[{"x": 0}])).mark_rule(color="grey").encode(x="x:Q")
    return (
        alt.layer(zero, rules, points)
        .add_params(regime, method, dataset)
        .properties(width=560, height={"step": 9, "for": "offset"}, title="Effect vs regime")
        .resolve_scale(x="shared")
    )


def expected_max_chart(methods: list[str]) -> alt.FacetChart:
    """The tuned study's expected maximum validation accuracy against the number of trials,
    a line per method with its one-sd band, one panel per dataset."""
    legend = alt.Legend(orient="top", symbolOpacity=1)  # the lines' colour, not the bands'
    base = alt.Chart().encode(
        x=alt.X("budget:Q", title="trials", axis=alt.Axis(tickMinStep=1)),
        # category10 is matplotlib's tab10: the same colours as the report's PNG figure
        color=alt.Color(
            "method:N", sort=methods, legend=legend, scale=alt.Scale(scheme="category10")
        ),
    )
    band = base.mark_area(opacity=0.15).encode(
        y=alt.Y("low:Q", title="expected max validation accuracy (%)", scale=alt.Scale(zero=False)),
        y2="high:Q",
    )
    line = base.mark_line(point=True).encode(
        y="mean:Q",
        tooltip=[
            alt.Tooltip("dataset:N"),
            alt.Tooltip("method:N"),
            alt.Tooltip("budget:Q", title="trials"),
            alt.Tooltip("mean:Q", format=".2f", title="expected max %"),
            alt.Tooltip("low:Q", format=".2f", title="- 1 sd"),
            alt.Tooltip("high:Q", format=".2f", title="+ 1 sd"),
        ],
    )
    return (
        alt.layer(band, line, data=alt.NamedData(name=TUNED))
        .properties(width=240, height=200)
        .facet(column=alt.Column("dataset:N", title=None))
        .resolve_scale(y="independent")
        .properties(title="Every method at its best: expected maximum validation accuracy")
    )
