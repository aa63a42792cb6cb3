"""Portfolio analytics (DESIGN §5.3): pure functions over plain data, one module per question.

`inputs` holds the plain data the projections feed in; `remaining` the per-initiative figures
every analytic shares; `optimise` the exact best set under budget and people; `scenarios` the
downturn what-if. Nothing here does I/O; the only library beyond the standard one is `highspy`.
"""
