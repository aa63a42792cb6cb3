"""Value rules (DESIGN §3): present values, ratios, realisation and RAG, as pure Decimal functions.

Every public name is importable from here. The modules hold them by concern: `terms` (the facts and
terms the rules read, the computing context), `discounting`, `series` (a benefit's money per month,
its shares, running totals), `actuals` (what was measured and realised), `forecasts` (a benefit's
money figures as at a month), `figures` (a benefit's, an initiative's and a portfolio's figures),
`ratings` (value-for-money band, RAG, percentages), `presentation` (rounding for display) and
`by_name` (figures by name, as evidence stores them and the API answers them).
Names with a leading underscore are shared between these modules only.
"""

from domain.valuation.actuals import Measured, measured, realised_money
from domain.valuation.by_name import EVIDENCE_FIGURES, figures_dict
from domain.valuation.discounting import (
    discount_factor,
    discount_factors,
    month_index,
    present_value,
)
from domain.valuation.figures import (
    BenefitValue,
    ValueFigures,
    benefit_value,
    initiative_value,
    portfolio_totals,
    unattributed_pv_benefits,
)
from domain.valuation.forecasts import BenefitMoney, ForecastMoney, benefit_money, forecast_money
from domain.valuation.presentation import money, percent, ratio
from domain.valuation.ratings import progress_pct, rag, realisation_pct, vfm_band
from domain.valuation.series import (
    Running,
    effective_shares,
    is_monetary,
    monetary_series,
    monetary_total,
)
from domain.valuation.terms import (
    CATEGORIES,
    DEFAULT_RAG_AMBER,
    DEFAULT_RAG_GREEN,
    DIRECTIONS,
    HUNDRED,
    KINDS,
    ONE,
    VFM_BANDS,
    ZERO,
    BenefitFacts,
    InitiativeFacts,
    PortfolioTerms,
)

__all__ = [
    "CATEGORIES",
    "DEFAULT_RAG_AMBER",
    "DEFAULT_RAG_GREEN",
    "DIRECTIONS",
    "EVIDENCE_FIGURES",
    "HUNDRED",
    "KINDS",
    "ONE",
    "VFM_BANDS",
    "ZERO",
    "BenefitFacts",
    "BenefitMoney",
    "BenefitValue",
    "ForecastMoney",
    "InitiativeFacts",
    "Measured",
    "PortfolioTerms",
    "Running",
    "ValueFigures",
    "benefit_money",
    "benefit_value",
    "discount_factor",
    "discount_factors",
    "effective_shares",
    "figures_dict",
    "forecast_money",
    "initiative_value",
    "is_monetary",
    "measured",
    "monetary_series",
    "monetary_total",
    "money",
    "month_index",
    "percent",
    "portfolio_totals",
    "present_value",
    "progress_pct",
    "rag",
    "ratio",
    "realisation_pct",
    "realised_money",
    "unattributed_pv_benefits",
    "vfm_band",
]
