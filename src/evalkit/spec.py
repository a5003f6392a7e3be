"""The codes and numbers SPEC.md fixes, defined once for every layer.

Loading checks the codes, the statistics use the numbers, the reports draw
them (the dashed line at 39 weeks); each module imports them from here rather
than writing them again, so the contract and the code can only change together.
"""

from __future__ import annotations

# SPEC section 1: the codes of the cases and contacts tables.
TARGET_GROUPS = ("rehab", "ledighedsydelse", "fleksjob")
AGE_BANDS = ("18-29", "30-39", "40-49", "50-59", "60+")  # SPEC's example bands; the sample and pseudonymise use them
CHANNELS = ("fysisk", "telefon", "digital", "virksomhedsbesøg")
KINDS = ("samtale", "opfølgning", "step_up")

# SPEC section 2: status categories at the extraction date, in the reports' order.
STATUS_CATEGORIES = ("før_rehab", "ledighedsydelse", "fleksjob_0_10", "fleksjob_over_10", "udgået")

# SPEC section 3: success criterion 2 is S(39), the share still on ledighedsydelse after 39 weeks.
WEEK_39 = 39.0
Z = 1.959963984540054  # 97.5 % normal quantile: SPEC's two-sided 95 % intervals
