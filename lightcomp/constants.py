"""Physical constants of photometry: the one home of Km and K'm.

Every module that turns radiant into luminous quantities (the analysis core, the
calibration, stabilisation, the simulated lab) imports these; none keeps its own.

Source: CIE S 017:2020 *ILV: International Lighting Vocabulary*, 2nd ed., term
17-21-092 "maximum luminous efficacy", and the SI definition of the candela
(BIPM SI Brochure, 9th ed. 2019, Appendix 3 "Units for photochemical and
photobiological quantities"): radiation of 540 x 10^12 Hz (555.016 nm in standard
air) has a luminous efficacy of exactly K_cd = 683 lm/W.  The maximum of the
photopic efficacy function K(l) = Km V(l) lies at 555 nm, where V = 1, so

    Km  = 683 lm/W x V(555 nm) / V(555.016 nm)  = 683.002 lm/W,
    K'm = 683 lm/W x V'(507 nm) / V'(555.016 nm) = 1700.06 lm/W  (scotopic).

683 vs 683.002: many texts (and colour-science's ``CONSTANT_K_M``) round Km to
683 lm/W; the difference is 2.9 ppm of every luminous quantity, far below any
photometric uncertainty, but one value must be used everywhere or a calibrated
flux and the analysed flux of the same spectrum disagree.  lightcomp uses the
unrounded CIE value.  K'm: 1700 lm/W is the common rounding (35 ppm); the S/P
ratio uses K'm / Km.  *(verify: K'm = 1700.06 lm/W from the ILV note, not checked
against the printed CIE S 017:2020)*
"""

from __future__ import annotations

__all__ = ["KM_LM_PER_W", "KM_SCOTOPIC_LM_PER_W"]

#: Maximum luminous efficacy for photopic vision, Km (lm/W), CIE S 017:2020 17-21-092.
KM_LM_PER_W: float = 683.002

#: Maximum luminous efficacy for scotopic vision, K'm (lm/W), CIE S 017:2020 17-21-092.
KM_SCOTOPIC_LM_PER_W: float = 1700.06
