"""Tests of lightcomp.analysis.binning (ANSI C78.377-2017 quadrangles, MacAdam steps)."""

from __future__ import annotations

import numpy as np
import pytest

from lightcomp.analysis import binning
from lightcomp.errors import AnalysisInputError

# ANSI C78.377-2017 7-step quadrangles as given in the domain brief (centre; 4 corners).
PUBLISHED = {
    2700: (
        (0.4578, 0.4101),
        [(0.4813, 0.4319), (0.4562, 0.4260), (0.4373, 0.3893), (0.4593, 0.3944)],
    ),
    3000: (
        (0.4339, 0.4033),
        [(0.4562, 0.4260), (0.4303, 0.4173), (0.4150, 0.3821), (0.4373, 0.3893)],
    ),
    3500: (
        (0.4078, 0.3930),
        [(0.4303, 0.4173), (0.4003, 0.4035), (0.3895, 0.3709), (0.4150, 0.3821)],
    ),
    4000: (
        (0.3818, 0.3797),
        [(0.4003, 0.4035), (0.3737, 0.3880), (0.3671, 0.3583), (0.3895, 0.3709)],
    ),
    4500: (
        (0.3613, 0.3670),
        [(0.3737, 0.3882), (0.3550, 0.3754), (0.3514, 0.3482), (0.3672, 0.3585)],
    ),
    5000: (
        (0.3446, 0.3551),
        [(0.3550, 0.3753), (0.3375, 0.3619), (0.3366, 0.3373), (0.3515, 0.3481)],
    ),
    5700: (
        (0.3287, 0.3425),
        [(0.3375, 0.3619), (0.3205, 0.3476), (0.3221, 0.3256), (0.3366, 0.3374)],
    ),
    6500: (
        (0.3123, 0.3283),
        [(0.3205, 0.3477), (0.3026, 0.3311), (0.3067, 0.3119), (0.3221, 0.3255)],
    ),
}
# (nominal, target CCT, tolerance, target Duv) from the domain brief's ANSI table.
TARGETS = [
    (2200, 2238, 102, 0.0),
    (2500, 2460, 120, 0.0),
    (2700, 2725, 145, 0.0),
    (3000, 3045, 175, 0.0001),
    (3500, 3465, 245, 0.0005),
    (4000, 3985, 275, 0.0010),
    (4500, 4503, 243, 0.0015),
    (5000, 5029, 283, 0.0020),
    (5700, 5667, 355, 0.0025),
    (6500, 6532, 510, 0.0031),
]


def test_table_matches_published_quadrangles():
    quads = binning.ansi_quadrangles()
    tab = binning.ansi_c78377_table()
    for nominal, (centre, corners) in PUBLISHED.items():
        np.testing.assert_allclose(quads[nominal], corners, atol=0)
        k = list(tab["nominal_cct_k"]).index(nominal)
        np.testing.assert_allclose(tab["centre_xy"][k], centre, atol=0)
    np.testing.assert_array_equal(tab["nominal_cct_k"], [t[0] for t in TARGETS])
    np.testing.assert_array_equal(tab["target_cct_k"], [t[1] for t in TARGETS])
    np.testing.assert_array_equal(tab["cct_tolerance_k"], [t[2] for t in TARGETS])
    np.testing.assert_array_equal(tab["target_duv"], [t[3] for t in TARGETS])


def test_cct_duv_to_xy_against_colour_ohno2013():
    colour = pytest.importorskip("colour")
    cd = np.array(
        [[2200.0, 0.0], [3000.0, 0.006], [4000.0, -0.006], [6500.0, 0.0031], [5000.0, -0.01]]
    )
    ref = colour.UCS_uv_to_xy(colour.temperature.CCT_to_uv_Ohno2013(cd))
    # colour integrates 360-830 nm, lightcomp 380-780 nm: differences of a few 1e-5.
    np.testing.assert_allclose(binning.cct_duv_to_xy(cd[:, 0], cd[:, 1]), ref, atol=1e-4)


def test_published_corners_follow_the_defining_rule():
    # Corners at (T -+ tol, Duv(T -+ tol) +- 0.006) with the flexible-CCT Duv formula (domain brief).
    for nominal, target, tol, _ in TARGETS[2:]:
        t = np.array([target - tol, target + tol, target + tol, target - tol], dtype=float)
        duv = binning.ansi_flexible_target_duv(t) + np.array([0.006, 0.006, -0.006, -0.006])
        np.testing.assert_allclose(
            binning.cct_duv_to_xy(t, duv), PUBLISHED[nominal][1], atol=2e-4, err_msg=str(nominal)
        )


def test_flexible_target_duv_formula():
    t = np.array([2700.0, 2780.0, 3000.0, 6500.0])
    expected = np.where(t >= 2780, 57700 / t**2 - 44.6 / t + 0.00854, 0.0)
    np.testing.assert_allclose(binning.ansi_flexible_target_duv(t), expected)
    # ANSI table: target Duv 0.0001 at 3045 K and 0.0031 at 6532 K (rounded to 4 decimals).
    assert round(float(binning.ansi_flexible_target_duv(3045.0)), 4) == 0.0001
    assert round(float(binning.ansi_flexible_target_duv(6532.0)), 4) == 0.0031
    np.testing.assert_allclose(binning.ansi_flexible_tolerance_k([2700.0, 6500.0]), [145, 510])
    np.testing.assert_allclose(binning.ansi_flexible_tolerance_k(2850.0), 0.5 * (145 + 175))


def test_classification_centres_and_quarter_sub_bins():
    nominals = list(PUBLISHED)
    centres = np.array([PUBLISHED[n][0] for n in nominals])
    corners = np.array([PUBLISHED[n][1] for n in nominals])  # (8, 4, 2)
    mid = corners.mean(axis=1)
    # Points halfway between the corner average and each corner lie in quarter A, B, C, D.
    pts = 0.5 * (mid[:, None, :] + corners)  # (8, 4, 2)
    x = np.concatenate([centres[:, 0], pts[..., 0].ravel()])
    y = np.concatenate([centres[:, 1], pts[..., 1].ravel()])
    cct = np.concatenate([np.array(nominals, float), np.repeat(np.array(nominals, float), 4)])
    res = binning.ansi_c78377_bin(cct, np.zeros_like(cct), x, y)
    expected_nominal = np.concatenate([nominals, np.repeat(nominals, 4)])
    np.testing.assert_array_equal(res["nominal_cct_k"], expected_nominal)
    assert res["in_quadrangle"].all()
    expected_sub = [f"{n}-{letter}" for n in nominals for letter in "ABCD"]
    assert list(res["sub_bin"][len(nominals) :]) == expected_sub
    assert res["sub_bin"].dtype.kind == "U"


def test_classification_outside_and_flexible():
    t = np.array([3300.0, 3300.0, 4000.0])
    duv = binning.ansi_flexible_target_duv(t) + np.array([0.0, 0.012, 0.03])
    res = binning.ansi_c78377_bin(t, duv)  # x,y computed from CCT/Duv
    np.testing.assert_array_equal(res["flexible_cct_k"], [3300, 3300, 4000])
    np.testing.assert_array_equal(res["in_flexible_quadrangle"], [True, False, False])
    # 3300 K on its target Duv lies between the 3000 and 3500 quadrangles' shared edge region.
    assert res["nominal_cct_k"][0] in (3000, 3500)
    assert not res["in_quadrangle"][2]
    assert res["sub_bin"][2] == ""
    assert res["nominal_cct_k"][2] == 4000


def test_classification_bad_input():
    with pytest.raises(AnalysisInputError, match="non-finite"):
        binning.ansi_c78377_bin([3000.0, np.nan], [0.0, 0.0])
    with pytest.raises(AnalysisInputError, match="one length"):
        binning.ansi_c78377_bin([3000.0, 3000.0], [0.0])
    with pytest.raises(AnalysisInputError, match="both x and y"):
        binning.ansi_c78377_bin([3000.0], [0.0], x=[0.43])


def test_macadam_steps_by_hand():
    g = np.array([1e4, 0.0, 4e4])  # 1 step = 0.01 along x, 0.005 along y
    n = binning.macadam_steps([0.31, 0.30, 0.30], [0.30, 0.31, 0.30], 0.30, 0.30, g=g)
    np.testing.assert_allclose(n, [1.0, 2.0, 0.0])
    # Off-diagonal term: n^2 = g11 dx^2 + 2 g12 dx dy + g22 dy^2.
    g2 = np.array([4e4, -1e4, 3e4])
    dx, dy = 0.002, 0.003
    n2 = binning.macadam_steps(0.3 + dx, 0.3 + dy, 0.3, 0.3, g=g2)
    assert n2 == pytest.approx(np.sqrt(4e4 * dx**2 - 2e4 * dx * dy + 3e4 * dy**2))


def test_macadam_parameters_table_and_interpolation():
    tab = binning.macadam_ellipse_table()
    np.testing.assert_array_equal(tab["nominal_cct_k"], [2700, 3000, 3500, 4000, 5000, 6500])
    np.testing.assert_allclose(binning.macadam_ellipse_parameters(4000.0), tab["g"][3])
    # Midpoint in mired between 3500 K and 4000 K -> mean of the two rows.
    t_mid = 1e6 / (0.5 * (1e6 / 3500 + 1e6 / 4000))
    np.testing.assert_allclose(
        binning.macadam_ellipse_parameters(t_mid), 0.5 * (tab["g"][2] + tab["g"][3])
    )
    np.testing.assert_allclose(binning.macadam_ellipse_parameters(10000.0), tab["g"][5])
    with pytest.raises(AnalysisInputError):
        binning.macadam_steps(0.3, 0.3, 0.3, 0.3)


def test_macadam_axes_by_hand():
    a, b, theta = binning.macadam_ellipse_axes(np.array([1e4, 0.0, 4e4]))
    assert (a, b) == pytest.approx((0.01, 0.005))
    assert theta == pytest.approx(0.0, abs=1e-9) or theta == pytest.approx(180.0)
    # Rotated by 45 deg: g = R diag(1e4, 4e4) R^T -> major axis at 45 deg.
    c = np.sqrt(0.5)
    r = np.array([[c, -c], [c, c]])
    m = r @ np.diag([1e4, 4e4]) @ r.T
    a, b, theta = binning.macadam_ellipse_axes(np.array([m[0, 0], m[0, 1], m[1, 1]]), steps=7)
    assert (a, b, theta) == pytest.approx((0.07, 0.035, 45.0))


def test_sdcm_tn001():
    np.testing.assert_allclose(
        binning.sdcm_cie_tn001([0.2522, 0.25], [0.52, 0.5233], 0.25, 0.52), [2.0, 3.0]
    )


def test_nominal_centres():
    c = binning.nominal_centre_xy(np.array([3000.0, 6500.0]))
    np.testing.assert_allclose(c, [PUBLISHED[3000][0], PUBLISHED[6500][0]])
    np.testing.assert_allclose(binning.nominal_centre_xy(4000.0, "iec"), [0.380, 0.380])
    # Flexible 3300 K: on the Planckian offset by the flexible target Duv.
    flex = binning.nominal_centre_xy(3300.0)
    np.testing.assert_allclose(
        flex, binning.cct_duv_to_xy(3300.0, binning.ansi_flexible_target_duv(3300.0))
    )
    with pytest.raises(AnalysisInputError, match="IEC 60081 centres"):
        binning.nominal_centre_xy(3300.0, "iec")
    # A point 0.002 along x from the IEC F4000 centre: n = sqrt(g11) * 0.002.
    g11 = binning.macadam_ellipse_table()["g"][3, 0]
    n = binning.macadam_steps(0.382, 0.380, *binning.nominal_centre_xy(4000.0, "iec"), cct_k=4000.0)
    assert n == pytest.approx(np.sqrt(g11) * 0.002)
