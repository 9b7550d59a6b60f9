"""Component test certificate: an LM-79-style test report with the content ISO/IEC 17025:2017
clause 7.8 asks of an accredited laboratory's report.

Content (17025 clause in brackets): title (7.8.2.1 a); laboratory name and address
(b, c); a unique report id on every page (header and footer, "page n of m") and
an end-of-report mark (d); customer = manufacturer (e); method LM-79 / CIE S 025
edition and deviations (f, n); item identification: product code decoded, family,
lot, maker's serial (g); dates of receipt, test and issue (h, i, j); the
statement that the results relate only to the item tested (l); results with
units, electrical and photometric, spectrum, CRI R1..R15 bar chart, TM-30
colour vector graphic (m); test conditions: ambient temperature, supply,
stabilisation history (7.8.3.1 a); statement of conformity against each limit
with the decision rule (7.8.6); measurement uncertainty where the data carry it
(7.8.3.1 c); calibration traceability (6.5); who authorised the report (o).

The supply and instruments follow the plan that measured the item
(:func:`instruments_used`): an AC plan names its AC source and power analyser and
carries the input current harmonics against IEC 61000-3-2:2018 class C and the
flicker figures with the IEEE 1789-2015 verdict (both from the analysis core), a DC
plan names the source meter and never says "rms". Labels, units and number formats
are the quantity catalogue's; every other fixed text is in :data:`TEXTS` (English ->
Chinese), so a certificate is issued in English, Chinese or both (``language``
``en``/``zh``/``zh+en``, labels "中文 / English" as CNAS-accredited labs in
Guangdong issue them). The same measurement in another format or language is the
same report (same id).

Report ids: ``LCR-<year>-<6-digit sequence>``, unique in the ``certificates``
table; a corrected report (:func:`issue_certificate` with ``reissue``) gets a new
id, names the report it replaces and the reason (17025 7.8.8.2), and its row
points to the old one (``replaces_id``). ``content_sha256`` is the SHA-256 of
the file written.

Laboratory identity, first found wins (documented):
1. ``lab_config`` argument / ``--lab-config FILE``: TOML with ``[lab] name,
   address`` (optional ``accreditation``) or ``[station] lab, lab_address``;
2. ``$LIGHTCOMP_LAB_CONFIG`` (path of such a file);
3. ``$LIGHTCOMP_LAB_NAME`` / ``$LIGHTCOMP_LAB_ADDRESS``;
4. the test run's ``params`` (``lab``, ``lab_address``, or ``params["station"]``
   with those keys, as the station copies its ``[station]`` table);
5. the default "lightcomp test laboratory" / "(address not configured)".

Decision rules (ILAC-G8:09/2019):
``simple``: simple acceptance, shared risk (§4.2.1): conforms when the measured
value is within the limits; uncertainty is reported but not subtracted.
``guarded``: guard band w = U (k = 2) (§4.2.2): conforms when the value is inside
the limits by at least U, does not conform when outside, otherwise conformity
is not stated ("indeterminate"); limits without a stated U fall back to simple
acceptance (said so in the table).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from lightcomp import quantities as catalogue
from lightcomp.errors import CodeError, ReportError
from lightcomp.jsonvalues import finite
from lightcomp.laboratory import DEFAULT_LAB, lab_identity
from lightcomp.reports import modulation as modulation_report
from lightcomp.reports import plots
from lightcomp.reports.conformity import DECISION_RULES, conformity
from lightcomp.reports.document import (
    Document,
    Figure,
    Heading,
    KeyValues,
    Paragraph,
    Table,
)
from lightcomp.store import queries
from lightcomp.store.models import LIGHT_WAVEFORM_KEY, Certificate, Component, Measurement
from lightcomp.uncertainty.modulation import MODULATION_KEYS as _MODULATION_KEYS

__all__ = [
    "DECISION_RULES",
    "DEFAULT_LAB",
    "LANGUAGES",
    "TEXTS",
    "Words",
    "build_certificate",
    "instruments_used",
    "issue_certificate",
    "lab_identity",
    "next_report_id",
]


DEFAULT_METHOD = "ANSI/IES LM-79-19; CIE S 025/E:2015 (LED lamps, LED luminaires and LED modules)"

# The quantities of the results tables, in order (labels, units, formats: the catalogue).
_PHOTOMETRIC = tuple(
    catalogue.lookup(n)
    for n in (
        "luminous_flux", "efficacy", "radiant_flux", "x", "y", "u_prime", "v_prime", "cct",
        "duv", "ansi_category", "sdcm_steps", "ra", "r9", "rf", "rg", "peak_wavelength",
        "dominant_wavelength", "sp_ratio", "photometric_code",
    )
)  # fmt: skip
_ELECTRICAL = tuple(
    catalogue.lookup(n) for n in ("voltage", "current", "power", "power_factor", "thd", "frequency")
)


# ---------------------------------------------------------------------------------------------
# Laboratory identity and report ids
# ---------------------------------------------------------------------------------------------
_ID_RE = re.compile(r"^LCR-(\d{4})-(\d{6})$")


def next_report_id(session, year: int) -> str:
    """Next free report id ``LCR-<year>-<NNNNNN>`` (sequence per year)."""
    prefix = f"LCR-{year}-"
    last = session.scalar(
        select(func.max(Certificate.report_id)).where(Certificate.report_id.like(prefix + "%"))
    )
    seq = int(_ID_RE.match(last).group(2)) + 1 if last and _ID_RE.match(last) else 1
    return f"{prefix}{seq:06d}"


# ---------------------------------------------------------------------------------------------
# Language: the certificate's fixed texts, English and Chinese
# ---------------------------------------------------------------------------------------------
#: ``--language``: English, Chinese, or both ("中文 / English", as CNAS-accredited labs in
#: Guangdong issue them).
LANGUAGES = ("en", "zh", "zh+en")

#: Every fixed text of the certificate: English template -> Chinese template (``{name}``
#: fields filled alike). Quantity names come from the catalogue (``label_en``/``label_zh``).
TEXTS: dict[str, str] = {
    # title, footer, sections
    "Test report: photometric, colorimetric and electrical measurement of an LED light "
    "component": "检测报告：LED 光源组件光度、色度和电参数测量",
    "results relate only to the item tested": "检测结果仅对所检样品有效",
    "Report": "报告",
    "page {n} of {total}": "第 {n} 页，共 {total} 页",
    "Report and laboratory": "报告与实验室",
    "Item tested": "被测样品",
    "Method and conditions": "检测方法与条件",
    "Results": "检测结果",
    "Statement of conformity": "符合性声明",
    "Measurement uncertainty and traceability": "测量不确定度与计量溯源性",
    "Authorisation": "批准",
    "Annex A": "附录 A",
    "Uncertainty budget": "不确定度分量",
    # report and laboratory
    "Report id": "报告编号",
    "Laboratory": "实验室",
    "Address (place of testing)": "地址（检测地点）",
    "Accreditation": "认可",
    "Station": "检测工位",
    "Customer (manufacturer)": "委托方（制造商）",
    "{name} (registry id {id})": "{name}（注册编号 {id}）",
    "Customer address": "委托方地址",
    "Date of issue": "签发日期",
    "Replaces report": "替代报告",
    "{old} (reason: {reason})": "{old}（原因：{reason}）",
    "This report replaces report {old}, which is withdrawn. Reason for the reissue: {reason}.": (
        "本报告替代已撤销的报告 {old}。重新签发原因：{reason}。"
    ),
    " Report {old} gave values of analysis version {old_version}; this report gives them on "
    "analysis version {version}.": " 报告 {old} 的数值来自分析版本 {old_version}；本报告的数值来自分析版本 {version}。",
    # item
    "Product code": "产品编码",
    "Decoded fields": "编码字段",
    "(cannot decode: {error})": "（无法解码：{error}）",
    "Level / category": "级别 / 类别",
    "Manufacturer (registry id)": "制造商（注册编号）",
    "Nominal CCT class": "标称色温等级",
    "Colour-rendering class": "显色等级",
    "Nominal flux class": "标称光通量等级",
    "Electrical input class": "电输入类别",
    "Model sequence / item serial": "型号序号 / 样品序号",
    "Family (manufacturer's model)": "系列（制造商型号）",
    "{name} (type {type})": "{name}（型号编码 {type}）",
    "Lot": "批次",
    "Manufacturer's serial": "制造商序列号",
    "Date of receipt": "收样日期",
    "Condition on receipt": "收样状态",
    "as received; no sampling by the laboratory": "按收样状态检测；实验室未抽样",
    # method and conditions
    "Method": "检测方法",
    "Deviations from the method": "偏离检测方法",
    "none": "无",
    "Test plan": "检测方案",
    "{name} version {version}": "{name} 第 {version} 版",
    "Date of test": "检测日期",
    "Analysis version": "分析版本",
    "– (recorded before analysis versions)": "–（记录于分析版本之前）",
    "Operator": "检测人员",
    "Supply": "供电",
    "Instruments": "检测仪器",
    "AC {voltage}, {frequency}": "交流 {voltage}，{frequency}",
    "DC constant current {current}": "直流恒流 {current}",
    "voltage limit {voltage}": "限压 {voltage}",
    "DC constant voltage {voltage}": "直流恒压 {voltage}",
    "current limit {current}": "限流 {current}",
    "measured: {values}": "实测：{values}",
    "not recorded by the station (laboratory mains)": "工位未记录（实验室市电）",
    "Stabilisation history (readings before the measurement)": "稳定过程（测量前读数）",
    "Time": "时间",
    "{n} further readings not shown.": "另有 {n} 个读数未列出。",
    # instrument roles (the station's [instruments.<role>])
    "Source meter": "源表",
    "AC source": "交流电源",
    "Power analyser": "功率分析仪",
    "Spectroradiometer": "光谱辐射计",
    "Temperature monitor": "温度巡检仪",
    "Fixture": "测试夹具",
    "Signal generator": "信号发生器",
    "Oscilloscope": "示波器",
    # results
    "Electrical": "电参数",
    "Photometric and colorimetric": "光度与色度",
    "Quantity": "参数",
    "Value": "测量值",
    "Unit": "单位",
    "Expanded uncertainty U": "扩展不确定度 U",
    "Spectral radiant flux of the item (calibrated, after self-absorption correction).": (
        "样品的光谱辐射通量（已校准，已作自吸收修正）。"
    ),
    "No spectrum is stored for this measurement.": "本次测量未存储光谱。",
    "CIE 13.3-1995 general (Ra) and special colour rendering indices R1–R15.": (
        "CIE 13.3-1995 一般显色指数（Ra）及特殊显色指数 R1–R15。"
    ),
    "ANSI/IES TM-30-20 colour vector graphic (16 hue bins, computed from the stored spectrum; "
    "CIE 224:2017 reference).": "ANSI/IES TM-30-20 颜色矢量图（16 个色调区间，由存储的光谱计算；CIE 224:2017 参考）。",
    "TM-30 colour vector graphic not available (no usable spectrum).": (
        "无法给出 TM-30 颜色矢量图（无可用光谱）。"
    ),
    # harmonics (IEC 61000-3-2) and flicker (IEEE 1789)
    "Input current harmonics (IEC 61000-3-2:2018, class C)": "输入电流谐波（IEC 61000-3-2:2018，C 类）",
    "Harmonic order": "谐波次数",
    "Current": "电流",
    "Share of the fundamental": "占基波比例",
    "Limit": "限值",
    "Statement": "结论",
    "Active input power {power} > 25 W: limits in % of the fundamental current "
    "(3rd harmonic 30 λ %, λ = {pf}).": "有功输入功率 {power} > 25 W：限值为基波电流的百分比（3 次谐波 30 λ %，λ = {pf}）。",
    "Active input power {power} (5 W to 25 W): the class D power-related limits (mA/W × P) "
    "apply; the alternative waveform rule is not evaluated (no current waveform is "
    "stored).": "有功输入功率 {power}（5 W 至 25 W）：采用 D 类与功率相关的限值（mA/W × P）；未评价替代的波形规则（未存储电流波形）。",
    "Active input power {power} below 5 W: IEC 61000-3-2 sets no harmonic limits.": (
        "有功输入功率 {power} 低于 5 W：IEC 61000-3-2 不规定谐波限值。"
    ),
    "The input current harmonics conform to IEC 61000-3-2 class C.": (
        "输入电流谐波符合 IEC 61000-3-2 C 类要求。"
    ),
    "The input current harmonics do NOT conform to IEC 61000-3-2 class C.": (
        "输入电流谐波不符合 IEC 61000-3-2 C 类要求。"
    ),
    "The power analyser recorded no harmonic currents; no IEC 61000-3-2 statement is made.": (
        "功率分析仪未记录谐波电流；不作 IEC 61000-3-2 符合性声明。"
    ),
    "Temporal light modulation (flicker, IEEE 1789-2015)": "时间光调制（频闪，IEEE 1789-2015）",
    "Percent flicker": "波动深度（百分比闪烁）",
    "Flicker index": "闪烁指数",
    "Flicker frequency": "闪烁频率",
    "IEEE 1789-2015 low-risk limit at this frequency": "该频率下 IEEE 1789-2015 低风险限值",
    "IEEE 1789-2015 no-observable-effect limit at this frequency": (
        "该频率下 IEEE 1789-2015 无可观察效应限值"
    ),
    "IEEE 1789-2015 verdict": "IEEE 1789-2015 评价",
    "no observable effect": "无可观察效应",
    "low risk": "低风险",
    "above the low-risk level": "高于低风险水平",
    "no limit at this frequency": "该频率无限值",
    "Flicker is not measured: the station recorded no light waveform for this measurement.": (
        "未测量频闪：本次测量未记录光输出波形。"
    ),
    # conformity
    "Decision rule: {rule}": "判定规则：{rule}",
    "Simple acceptance, shared risk (ILAC-G8:09/2019 §4.2.1): a result conforms when the "
    "measured value lies within the limit(s); the measurement uncertainty is stated but not "
    "taken into account.": "简单接受，风险共担（ILAC-G8:09/2019 §4.2.1）：测量值位于限值内即判为符合；给出测量不确定度但不计入判定。",
    "Guarded acceptance with guard band w = U, k = 2 (ILAC-G8:09/2019 §4.2.2, binary "
    "statement with guard band): a result conforms when the measured value lies inside the "
    "limit(s) by at least U, does not conform when it lies outside, and is indeterminate in "
    "between. Limits without a stated uncertainty use simple acceptance.": "带保护带的接受，保护带 w = U，k = 2（ILAC-G8:09/2019 §4.2.2，带保护带的二元声明）：测量值位于限值内且距限值至少 U 时判为符合，超出限值时判为不符合，其间为不确定。未给出不确定度的限值采用简单接受。",
    "Measured": "测量值",
    "Requirement": "要求",
    "Rule": "判定规则",
    "ANSI C78.377 quadrangle": "ANSI C78.377 四边形",
    "inside ANSI C78.377 quadrangle {cct} K": "位于 ANSI C78.377 {cct} K 四边形内",
    "conforms": "符合",
    "does not conform": "不符合",
    "indeterminate (within guard band)": "不确定（位于保护带内）",
    "simple": "简单接受",
    "guarded, w = {w}": "保护带，w = {w}",
    "No limits were evaluated; no statement of conformity is made.": (
        "未评价任何限值；不作符合性声明。"
    ),
    "The item conforms to every limit listed.": "样品符合所列全部限值。",
    "The item does NOT conform: {limits}.": "样品不符合：{limits}。",
    "Conformity cannot be stated for every limit (indeterminate results).": (
        "无法对全部限值作出符合性声明（存在不确定结果）。"
    ),
    # uncertainty and traceability
    "Expanded uncertainties U are stated with the results where the measurement carries them "
    "(coverage factor k as given, k = 2 corresponds to about 95 % coverage probability, GUM / "
    "JCGM 100:2008).": "测量记录给出扩展不确定度 U 的，与结果一并列出（包含因子 k 如所示，k = 2 对应约 95 % 的包含概率，GUM / JCGM 100:2008）。",
    "The measurement record carries no uncertainty budget; no uncertainty is stated for the "
    "results.": "测量记录未包含不确定度评定；结果未给出不确定度。",
    "Uncertainties are evaluated by propagation of distributions, Monte Carlo method (JCGM "
    "101:2008, GUM Supplement 1): M = {trials} trials of the whole measurement model (standard "
    "lamp, wavelength scale, bandwidth and stray light, spectroradiometer noise and "
    "nonlinearity, self-absorption, sphere non-uniformity, electrical meters, temperature "
    "probe) through the same analysis as the results (model {model}, seed {seed}; U "
    "{convergence}). U = 2u, coverage probability about 95 %.": "不确定度采用分布传播的蒙特卡洛法评定（JCGM 101:2008，GUM 补充文件 1）：对完整测量模型（标准灯、波长标尺、带宽与杂散光、光谱辐射计噪声与非线性、自吸收、积分球不均匀性、电参数仪表、温度探头）进行 M = {trials} 次试验，并采用与结果相同的分析（模型 {model}，随机种子 {seed}；U {convergence}）。U = 2u，包含概率约 95 %。",
    "The modulation results (section 4): M = {trials} trials of the recorded scope records "
    "(record noise, vertical gain per setting, generator frequency and time base, receiver and "
    "instrument response not de-embedded, DC bias current, modulation amplitude) through the "
    "same modulation analysis as the results; U {convergence}.": "调制结果（第 4 节）：对记录的示波器波形（波形噪声、各档位垂直增益、信号发生器频率与时基、未去嵌入的接收器与仪器响应、直流偏置电流、调制幅度）进行 M = {trials} 次试验，并采用与结果相同的调制分析；U {convergence}。",
    "No uncertainty is reported for {what} of this unit: {reason}. The plan does not require "
    "it (required = false).": "本样品的{what}未给出不确定度：{reason}。检测计划未要求给出（required = false）。",
    "the results": "结果",
    # VLC modulation results (lightcomp.reports.modulation.certificate_blocks)
    "Shortest 95 % coverage interval": "最短 95 % 包含区间",
    "The shortest 95 % coverage intervals of the modulation results are in general not "
    "symmetric about the values: the receiver and instrument responses, not de-embedded, "
    "can only lower the measured bandwidth and lengthen the measured edges (one-sided "
    "distributions, JCGM 101:2008 §6.4.2.1), and the analysis of the noisy records is not "
    "linear.": "调制结果的最短 95 % 包含区间一般不以测量值为中心对称：未去嵌入的接收器与仪器响应只会使测得的带宽降低、使测得的上升沿和下降沿变长（单侧分布，JCGM 101:2008 §6.4.2.1），且含噪声波形的分析是非线性的。",
    "Modulation response (visible light communication)": "调制响应（可见光通信）",
    "DC bias of the results (mA)": "结果对应的直流偏置 (mA)",
    "White bandwidth against bias: {pairs}.": "白光调制带宽随偏置电流的变化：{pairs}。",
    "Small-signal electrical-to-optical response |H(f)| normalised to the lowest frequency, "
    "per DC bias (solid: white light; dashed: through the filter named). Stimulus: sine into "
    "the bias-T (peak current = depth × bias).": "小信号电-光响应 |H(f)|，以最低频率处归一化，每个直流偏置一条曲线（实线：白光；虚线：经所注滤光片）。激励：正弦信号经偏置器注入（峰值电流 = 调制深度 × 偏置电流）。",
    "These results are a re-analysis of the stored spectra of the measurement of {date} "
    "(analysis version {version}); their uncertainties are that measurement's Monte Carlo "
    "results, carried to the re-analysed values: a re-analysis changes the analysis, not the "
    "measurement inputs.": "本报告结果为对 {date} 测量所存光谱的重新分析（原分析版本 {version}）；其不确定度沿用该次测量的蒙特卡洛评定结果：重新分析改变的是分析方法，而非测量输入。",
    "stable to two significant digits": "已稳定至两位有效数字",
    "at the trial limit": "达到试验次数上限",
    "Spectral responsivity calibration": "光谱响应度校准",
    "{id} ({kind}, station {station})": "{id}（{kind}，工位 {station}）",
    "Valid": "有效期",
    "{start} to {end} (status {status})": "{start} 至 {end}（状态 {status}）",
    "Standard lamp": "标准灯",
    "Calibration certificate of the standard": "标准灯校准证书",
    "Spectral uncertainty of the calibration": "校准的光谱不确定度",
    "stored with the calibration (relative, k = 2)": "随校准记录保存（相对值，k = 2）",
    "not stored": "未保存",
    "Traceability: the spectroradiometer/sphere responsivity is calibrated against the "
    "standard lamp named above, whose certificate provides traceability to the SI through a "
    "national metrology institute.": "计量溯源性：光谱辐射计/积分球的响应度以上述标准灯校准，该标准灯的校准证书经国家计量院溯源至国际单位制（SI）。",
    "No calibration is linked to this measurement.": "本次测量未关联校准记录。",
    "Contribution of each input group to the variance of each result, each group varied alone "
    "in the Monte Carlo (inputs and their sources: lightcomp docs/uncertainty.md). Groups "
    "below 1 % are not listed.": "各输入分量组对各结果方差的贡献（蒙特卡洛中每次只改变一组；输入量及其来源见 lightcomp docs/uncertainty.md）。低于 1 % 的分量组不列出。",
    "U (k = 2)": "U (k = 2)",
    "Main contributions (share of variance)": "主要分量（方差占比）",
    # the budget's input groups (lightcomp.uncertainty.model.GROUP_LABELS,
    # lightcomp.uncertainty.modulation.MODULATION_GROUP_LABELS)
    "standard lamp (certificate)": "标准灯（证书）",
    "wavelength scale": "波长标尺",
    "bandwidth and stray light": "带宽与杂散光",
    "spectrometer noise and dark": "光谱仪噪声与暗信号",
    "spectrometer nonlinearity": "光谱仪非线性",
    "self-absorption factor": "自吸收因子",
    "sphere spatial non-uniformity": "积分球空间不均匀性",
    "electrical meters": "电参数测量仪表",
    "temperature probe": "温度探头",
    "scope record noise": "示波器记录噪声",
    "scope vertical gain": "示波器垂直增益",
    "generator frequency and scope time base": "信号发生器频率与示波器时基",
    "receiver and instrument response (not de-embedded)": "接收器与仪器响应（未去嵌入）",
    "DC bias current": "直流偏置电流",
    "modulation amplitude (depth axis)": "调制幅度（深度轴）",
    # authorisation
    "Authorised by": "批准人",
    "The results relate only to the item tested, as received. This report shall not be "
    "reproduced except in full without the written approval of the laboratory.": "检测结果仅对所检样品（按收样状态）有效。未经实验室书面批准，不得部分复制本报告。",
    "— End of report {rid} —": "— 报告 {rid} 结束 —",
}


class Words:
    """The certificate's texts in one language (``en``, ``zh`` or ``zh+en``).

    A label reads ``中文 / English`` in ``zh+en``; a paragraph gives the Chinese and
    the English text on separate lines. A text missing from :data:`TEXTS` is a
    programming error (KeyError), so a Chinese certificate never shows English by
    accident.
    """

    def __init__(self, language: str = "en") -> None:
        if language not in LANGUAGES:
            raise ReportError(
                f"unknown certificate language {language!r}: use {', '.join(LANGUAGES)}"
            )
        self.language = language

    def _pair(self, en: str, **kw: Any) -> tuple[str, str]:
        zh = TEXTS[en] if "zh" in self.language else en
        return en.format(**kw), zh.format(**kw)

    def __call__(self, en: str, **kw: Any) -> str:
        """A label or short text (once when both languages write it alike: ``U (k = 2)``)."""
        e, z = self._pair(en, **kw)
        return {"en": e, "zh": z}.get(self.language, f"{z} / {e}" if z != e else e)

    def para(self, en: str, **kw: Any) -> str:
        """A sentence or paragraph (both languages on separate lines in ``zh+en``)."""
        e, z = self._pair(en, **kw)
        return {"en": e, "zh": z}.get(self.language, f"{z}\n{e}")

    def both(self, en: str, zh: str) -> str:
        """A text given in both languages by the caller (catalogue labels)."""
        return {"en": en, "zh": zh}.get(self.language, f"{zh} / {en}" if zh != en else en)

    def each(self, text: Callable[[Words], str]) -> str:
        """A value composed of several texts (a sentence with labels inside): composed
        wholly in Chinese, then wholly in English on the next line in ``zh+en`` (never
        "中 / En" labels nested in a sentence)."""
        if self.language != "zh+en":
            return text(self)
        zh, en = text(Words("zh")), text(Words("en"))
        return zh if zh == en else f"{zh}\n{en}"

    def quantity(self, q: catalogue.Quantity, *, unit: bool = False, dc: bool = False) -> str:
        """The catalogue's label of ``q`` (DC voltage and current are not "rms")."""
        en, zh = q.label_dc if dc and q.label_dc else (q.label_en, q.label_zh)
        text = self.both(en, zh)
        return f"{text} ({q.shown_unit})" if unit and q.shown_unit else text


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
#: Readable names of the station's instrument roles (``[instruments.<role>]``).
_ROLE_LABELS = {
    "source": "Source meter",
    "ac_source": "AC source",
    "power_analyzer": "Power analyser",
    "spectro": "Spectroradiometer",
    "thermo": "Temperature monitor",
    "fixture": "Fixture",
    "generator": "Signal generator",
    "scope": "Oscilloscope",
}


def _drive_mode(plan: dict) -> str | None:
    drive = plan.get("drive") if isinstance(plan.get("drive"), dict) else {}
    return str(drive["mode"]) if drive.get("mode") else None


def instruments_used(instruments: dict[str, str], plan: dict) -> list[tuple[str, str | None]]:
    """(role, identity) of the instruments the plan used, in a fixed order.

    A station opens every instrument it has, but an AC plan is supplied by the AC
    source (or the laboratory mains) and measured by the power analyser, while a
    DC plan is supplied and measured by the source meter; the certificate names
    only what measured this item. The AC source row has identity None when the
    station recorded none (supplied from the mains). Temperature only when the plan
    measured it, generator and scope only for a VLC test (the scope also when it recorded
    the light waveform of a ``[flicker]`` plan). Without a stored plan
    (older runs) every recorded instrument is named.
    """
    mode = _drive_mode(plan)
    if mode is None:
        return [(role, ident) for role, ident in instruments.items()]
    supply = ("ac_source", "power_analyzer") if mode == "ac" else ("source",)
    steps = plan.get("measurement") if isinstance(plan.get("measurement"), dict) else {}
    roles = [*supply, "spectro"]
    if steps.get("temperature", True):
        roles.append("thermo")
    roles.append("fixture")
    flicker = plan.get("flicker") if isinstance(plan.get("flicker"), dict) else {}
    if plan.get("modulation"):
        roles += ["generator", "scope"]
    elif flicker and flicker.get("enabled", True):  # the scope recorded the light waveform
        roles.append("scope")
    out: list[tuple[str, str | None]] = []
    for role in roles:
        if role in instruments:
            out.append((role, instruments[role]))
        elif role == "ac_source":
            out.append((role, None))
    return out


def supply_sentence(drive: dict, words: Words | None = None) -> str:
    """The plan's drive as a sentence with units ("AC 230 V, 50 Hz"), never internal names."""
    if not drive:
        return ""
    w = words or Words()

    def val(key: str) -> str | None:
        v = finite(drive.get(key))
        if v is None:
            return None
        # a limit has the unit of the quantity it limits
        q = catalogue.lookup(
            {"voltage_limit_v": "voltage_v", "current_limit_a": "current_a"}.get(key, key)
        )
        return f"{v:g} {q.shown_unit}"

    mode = str(drive.get("mode") or "")
    if mode == "ac":
        return w(
            "AC {voltage}, {frequency}",
            voltage=val("voltage_v") or "–",
            frequency=val("frequency_hz") or "–",
        )
    if mode == "dc-current":
        parts = [w("DC constant current {current}", current=val("current_a") or "–")]
        if val("voltage_limit_v"):
            parts.append(w("voltage limit {voltage}", voltage=val("voltage_limit_v")))
        return ", ".join(parts)
    if mode == "dc-voltage":
        parts = [w("DC constant voltage {voltage}", voltage=val("voltage_v") or "–")]
        if val("current_limit_a"):
            parts.append(w("current limit {current}", current=val("current_limit_a")))
        return ", ".join(parts)
    return mode or "–"


def _supply_text(drive: dict, elec: dict, w: Words, *, dc: bool) -> str:
    """The plan's supply and the measured electrical values, as one sentence with units."""
    supply = supply_sentence(drive, w)
    measured = [
        (catalogue.lookup(k), v)
        for k, v in elec.items()
        if not isinstance(v, (list, dict)) and finite(v) is not None and catalogue.lookup(k)
    ]
    if measured:
        values = ", ".join(
            f"{w.quantity(q, dc=dc)} {catalogue.format_value(q, v, unit=True)}" for q, v in measured
        )
        values = w("measured: {values}", values=values)
        supply = f"{supply}; {values}" if supply else values
    return supply or "–"


def _instruments_text(instruments: dict[str, str], plan: dict, w: Words) -> str:
    """The instruments that measured this item (:func:`instruments_used`), by readable role."""
    return (
        "; ".join(
            f"{w(_ROLE_LABELS[role]) if role in _ROLE_LABELS else role.replace('_', ' ')}: "
            f"{ident if ident is not None else w('not recorded by the station (laboratory mains)')}"
            for role, ident in instruments_used(instruments, plan)
        )
        or "–"
    )


def _analysis_version(version_id: str | None, w: Words) -> str:
    """The analysis version of the values shown, with what it means."""
    from lightcomp.analysis.version import VERSIONS

    if not version_id:
        return w("– (recorded before analysis versions)")
    v = VERSIONS.get(version_id)
    return v.summary() if v is not None else version_id


def _when(t: Any, with_time: bool = True) -> str:
    if t is None:
        return "–"
    if isinstance(t, str):
        return t
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%d %H:%M UTC") if with_time else t.strftime("%Y-%m-%d")


def _fmt(v: Any, digits: int) -> str:
    f = finite(v)
    if f is None:
        return "–" if v is None else str(v)
    if digits == 2:  # Duv: fixed 4 decimals
        text = f"{f:.4f}"
    elif abs(f) >= 10**digits:
        text = f"{f:.0f}"
    else:
        text = f"{f:.{digits}g}"
    # a value that rounds to zero is shown as 0, never "-0.0000"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


def _u_decimals(u: float) -> int:
    """Decimals of an uncertainty given to two significant digits (GUM 7.2.6)."""
    return max(0, 1 - int(math.floor(math.log10(abs(u))))) if u else 0


def _fmt_u(u: float) -> str:
    """An uncertainty to two significant digits, without exponent notation."""
    if u == 0:
        return "0"
    return f"{u:.{_u_decimals(u)}f}"


def _coverage_interval(m: dict, q: catalogue.Quantity) -> str | None:
    """The stored shortest 95 % coverage interval of ``q`` (Monte Carlo, JCGM 101:2008
    §7.7; ``low``/``high`` beside U in the ``uncertainty`` JSON) as ``[low, high] unit``,
    both ends to the decimal place of U (GUM 7.2.6); None when none is stored."""
    stored = m.get("uncertainty") or {}
    entry = next((stored[k] for k in (q.column, q.key, *q.names) if k and k in stored), None)
    if not isinstance(entry, dict):
        return None
    low, high, u = (finite(entry.get(k)) for k in ("low", "high", "U"))
    if low is None or high is None or u is None:
        return None
    d = _u_decimals(u * q.scale)
    return f"[{low * q.scale:.{d}f}, {high * q.scale:.{d}f}] {q.shown_unit}".strip()


def _value(m: dict, col: str | None, keys: tuple[str, ...]) -> Any:
    if col is not None and m.get(col) is not None:
        return m[col]
    q = m.get("quantities") or {}
    for k in keys:
        if q.get(k) is not None:
            return q[k]
    e = m.get("electrical") or {}
    for k in keys:
        if e.get(k) is not None:
            return e[k]
    return None


def _uncertainty(m: dict, col: str | None, keys: tuple[str, ...]) -> tuple[float, float] | None:
    """(U, k) for a quantity from the measurement's ``uncertainty`` JSON, if stated."""
    u = m.get("uncertainty") or {}
    for k in (col, *keys):
        if k and k in u:
            entry = u[k]
            if isinstance(entry, dict):
                val = finite(entry.get("U", entry.get("expanded")))
                kk = finite(entry.get("k")) or 2.0
            else:
                val, kk = finite(entry), 2.0
            if val is not None:
                return val, kk
    return None


def _modulation_trials(m: dict) -> int | None:
    """Trials of the modulation results' Monte Carlo (stored with each U), or None."""
    u = m.get("uncertainty") or {}
    n = [u[k].get("trials") for k in _MODULATION_KEYS if isinstance(u.get(k), dict)]
    n = [int(x) for x in n if isinstance(x, int | float)]
    return max(n) if n else None


def _mc_method(ev: dict, w: Words) -> str:
    """The sentence naming how the uncertainties were evaluated (JCGM 101)."""
    conv = "stable to two significant digits" if ev.get("converged") else "at the trial limit"
    return w.each(
        lambda x: x.para(
            "Uncertainties are evaluated by propagation of distributions, Monte Carlo method (JCGM "
            "101:2008, GUM Supplement 1): M = {trials} trials of the whole measurement model "
            "(standard lamp, wavelength scale, bandwidth and stray light, spectroradiometer noise "
            "and nonlinearity, self-absorption, sphere non-uniformity, electrical meters, "
            "temperature probe) through the same analysis as the results (model {model}, seed "
            "{seed}; U {convergence}). U = 2u, coverage probability about 95 %.",
            trials=ev.get("trials"),
            model=ev.get("model"),
            seed=ev.get("seed"),
            convergence=x(conv),
        )
    )


def _results_table(
    m: dict, rows: tuple[catalogue.Quantity, ...], w: Words, *, dc: bool = False
) -> Table:
    out = []
    for q in rows:
        keys = (q.key, *q.names)
        v = _value(m, q.column, keys)
        if v is None and q.key == "u_prime":
            v = _uv_prime(m)[0]
        if v is None and q.key == "v_prime":
            v = _uv_prime(m)[1]
        if v is None:
            continue
        u = _uncertainty(m, q.column, keys)
        unit = q.shown_unit
        out.append(
            [
                w.quantity(q, dc=dc),
                catalogue.format_value(q, v),
                unit,
                f"{_fmt_u(u[0] * q.scale)} {unit} (k = {u[1]:g})".replace("  ", " ") if u else "–",
            ]
        )
    return Table(
        [w("Quantity"), w("Value"), w("Unit"), w("Expanded uncertainty U")],
        out,
        align=["l", "r", "l", "r"],
    )


def _condition(m: dict, name: str, value: Any) -> str:
    """A measured test condition (ambient, case temperature) with its unit and, where the
    Monte Carlo gave one, its expanded uncertainty: ``25.0 °C (U = 0.62 °C, k = 2)``."""
    q = catalogue.lookup(name)
    text = catalogue.format_value(q, value, unit=True)
    u = _uncertainty(m, q.column, (q.key, *q.names)) if finite(value) is not None else None
    if u is None:
        return text
    return f"{text} (U = {_fmt_u(u[0] * q.scale)} {q.shown_unit}, k = {u[1]:g})"


def _uv_prime(m: dict) -> tuple[float | None, float | None]:
    x, y = finite(m.get("x")), finite(m.get("y"))
    if x is None or y is None:
        return None, None
    d = -2 * x + 12 * y + 3
    return 4 * x / d, 9 * y / d


def _limit_key(name: str, entry: dict) -> tuple[str | None, tuple[str, ...]]:
    q = catalogue.lookup(name)
    if q is None:
        return None, (entry.get("quantity") or name, name)
    return q.column, (entry.get("quantity") or q.key, *q.names)


def _limit_label(name: str, q: catalogue.Quantity | None, w: Words, dc: bool) -> str:
    """A conformity row by the catalogue label of the quantity it limits."""
    if name == "ansi_quadrangle":
        return w("ANSI C78.377 quadrangle")
    return w.quantity(q, dc=dc) if q is not None else name


def _conformity_table(m: dict, rule: str, w: Words, *, dc: bool = False) -> tuple[Table, str]:
    rows, styles = [], []
    outcome: list[str] = []
    limited: list[tuple[str, catalogue.Quantity | None]] = []
    for name, e in (m.get("verdicts") or {}).items():
        if not isinstance(e, dict):
            continue
        lo, hi = finite(e.get("min")), finite(e.get("max"))
        value = e.get("value")
        q = catalogue.lookup(name) or catalogue.lookup(str(e.get("quantity")))
        unit = q.shown_unit if q is not None else (e.get("unit") or "")

        def show(v: Any, q=q) -> str:
            return catalogue.format_value(q, v) if q is not None else _fmt(v, 5)

        if lo is not None and hi is not None:
            req = f"{show(lo)} … {show(hi)}"
        elif lo is not None:
            req = f"≥ {show(lo)}"
        elif hi is not None:
            req = f"≤ {show(hi)}"
        elif e.get("expected") is not None:
            req = w("inside ANSI C78.377 quadrangle {cct} K", cct=e["expected"])
        else:
            req = "–"
        col, keys = _limit_key(name, e)
        u = _uncertainty(m, col, keys) if rule == "guarded" else None
        statement, applied = conformity(
            finite(value),
            lo,
            hi,
            rule=rule,
            u=u[0] if u is not None else None,
            passed=bool(e.get("pass")),
        )
        if applied != "simple":  # the guard band's width in the display unit, with the unit
            width = f"{_fmt_u(u[0] * (q.scale if q else 1.0))} {unit}".strip()
            applied = w("guarded, w = {w}", w=width)
        else:
            applied = w("simple")
        outcome.append(statement)
        label = _limit_label(name, q, w, dc)
        limited.append((name, q))
        rows.append(
            [
                label,
                show(value) if finite(value) is not None else str(value),
                unit,
                req,
                w(statement),
                applied,
            ]
        )
        styles.append(
            "pass"
            if statement == "conforms"
            else ("fail" if statement.startswith("does") else "warn")
        )
    if not rows:
        overall = w.para("No limits were evaluated; no statement of conformity is made.")
    elif all(s == "conforms" for s in outcome):
        overall = w.para("The item conforms to every limit listed.")
    elif any(s.startswith("does") for s in outcome):
        bad = [nq for nq, s in zip(limited, outcome, strict=True) if s.startswith("does")]
        overall = w.each(  # the labels in the sentence's own language
            lambda x: x.para(
                "The item does NOT conform: {limits}.",
                limits=", ".join(_limit_label(n, q, x, dc) for n, q in bad),
            )
        )
    else:
        overall = w.para("Conformity cannot be stated for every limit (indeterminate results).")
    return (
        Table(
            [w("Limit"), w("Measured"), w("Unit"), w("Requirement"), w("Statement"), w("Rule")],
            rows,
            row_styles=styles,
            align=["l", "r", "l", "l", "l", "l"],
        ),
        overall,
    )


def _history_heading(key: str, w: Words, dc: bool) -> str:
    if key == "t_s":
        return f"{w('Time')} (s)"
    q = catalogue.lookup(key)
    return w.quantity(q, unit=True, dc=dc) if q is not None else key


def _history_value(key: str, v: Any) -> str:
    q = catalogue.lookup(key)
    if key == "t_s" or q is None:
        return f"{float(v):.0f}" if key == "t_s" else _fmt(v, 6)
    return catalogue.format_value(q, v)


def _stabilisation_table(history: list, w: Words, dc: bool = False) -> Table | None:
    rows = [h for h in history if isinstance(h, dict)]
    if not rows:
        return None
    keys: list[str] = []
    for h in rows:
        for k in h:
            if k not in keys:
                keys.append(k)
    shown = rows[:40]
    heads = [_history_heading(k, w, dc) for k in keys]
    return Table(
        heads,
        [
            [_history_value(k, h.get(k)) if finite(h.get(k)) is not None else "–" for k in keys]
            for h in shown
        ],
        align=["r"] * len(keys),
        note=w.para("{n} further readings not shown.", n=len(rows) - len(shown))
        if len(rows) > 40
        else None,
    )


def _harmonics_blocks(m: dict, w: Words) -> list:
    """The input current harmonics against IEC 61000-3-2 class C (AC plans).

    The limits and verdicts are those of
    :func:`lightcomp.analysis.electrical.iec61000_3_2_class_c` on the harmonic currents
    the power analyser stored with the measurement; rows are the orders the class
    limits (plus the fundamental).
    """
    from lightcomp.analysis.electrical import N_HARMONICS, iec61000_3_2_class_c

    out: list = [Paragraph(w("Input current harmonics (IEC 61000-3-2:2018, class C)"), "strong")]
    elec = m.get("electrical") or {}
    ih = elec.get("harmonics_a")
    power = finite(_value(m, "power_w", ("power_w",)))
    pf = finite(_value(m, "power_factor", ("power_factor",)))
    usable = bool(ih) and len(ih) == N_HARMONICS and power is not None and pf is not None
    if usable:
        ih_a = np.asarray([finite(x) if finite(x) is not None else np.nan for x in ih], float)
        usable = bool(np.isfinite(ih_a).all() and ih_a[0] > 0)
    if not usable:
        out.append(
            Paragraph(
                w.para(
                    "The power analyser recorded no harmonic currents; no IEC 61000-3-2 "
                    "statement is made."
                ),
                "note",
            )
        )
        return out
    r = iec61000_3_2_class_c(ih_a[None, :], power, pf)
    regime = str(r["regime"][0])
    p_text = catalogue.format_value("power", power, unit=True)
    if regime == "> 25 W":
        basis = w.para(
            "Active input power {power} > 25 W: limits in % of the fundamental current "
            "(3rd harmonic 30 λ %, λ = {pf}).",
            power=p_text,
            pf=catalogue.format_value("power_factor", pf),
        )
    elif regime == "<= 25 W":
        basis = w.para(
            "Active input power {power} (5 W to 25 W): the class D power-related limits (mA/W × P) "
            "apply; the alternative waveform rule is not evaluated (no current waveform is "
            "stored).",
            power=p_text,
        )
    else:
        basis = w.para(
            "Active input power {power} below 5 W: IEC 61000-3-2 sets no harmonic limits.",
            power=p_text,
        )
    out.append(Paragraph(basis, "note"))
    cur = catalogue.lookup("current")
    pct_decimals = catalogue.lookup("thd").decimals  # a share of the fundamental, as THD
    limits = r["limits_a"][0]
    ok = r["harmonic_pass"][0]
    rows, styles = [], []
    for h in range(1, N_HARMONICS + 1):
        lim = limits[h - 1]
        if h > 1 and not np.isfinite(lim):
            continue
        has_limit = h > 1 and regime != "not applicable"
        rows.append(
            [
                str(h),
                catalogue.format_value(cur, ih_a[h - 1]),
                f"{100.0 * ih_a[h - 1] / ih_a[0]:.{pct_decimals}f}",
                catalogue.format_value(cur, lim) if has_limit else "–",
                w("conforms" if ok[h - 1] else "does not conform") if has_limit else "–",
            ]
        )
        styles.append(None if not has_limit else ("pass" if ok[h - 1] else "fail"))
    out.append(
        Table(
            [
                w("Harmonic order"),
                f"{w('Current')} ({cur.shown_unit})",
                f"{w('Share of the fundamental')} (%)",
                f"{w('Limit')} ({cur.shown_unit})",
                w("Statement"),
            ],
            rows,
            row_styles=styles,
            align=["r", "r", "r", "r", "l"],
        )
    )
    passed = bool(r["passed"][0])
    out.append(
        Paragraph(
            w.para(
                "The input current harmonics conform to IEC 61000-3-2 class C."
                if passed
                else "The input current harmonics do NOT conform to IEC 61000-3-2 class C."
            ),
            "pass" if passed else "fail",
        )
    )
    return out


def _flicker_blocks(m: dict, w: Words) -> list:
    """Percent flicker, flicker index and the IEEE 1789-2015 verdict of the stored light
    waveform, by :func:`lightcomp.analysis.flicker.flicker_metrics` (the analysis'
    own verdict); a "not measured" note when the measurement has no waveform."""
    from lightcomp.analysis.flicker import flicker_metrics

    out: list = [Paragraph(w("Temporal light modulation (flicker, IEEE 1789-2015)"), "strong")]
    wave = (m.get("electrical") or {}).get(LIGHT_WAVEFORM_KEY)
    fs = finite((wave or {}).get("sample_rate_hz")) if isinstance(wave, dict) else None
    values = (wave or {}).get("values") if isinstance(wave, dict) else None
    if fs is None or not values:
        out.append(
            Paragraph(
                w.para(
                    "Flicker is not measured: the station recorded no light waveform for this "
                    "measurement."
                ),
                "note",
            )
        )
        return out
    f = flicker_metrics(np.asarray(values, float), fs)
    pct, fi, freq = (float(f[k][0]) for k in ("percent_flicker", "flicker_index", "frequency_hz"))
    low, noe = float(f["low_risk_limit_pct"][0]), float(f["no_effect_limit_pct"][0])
    if bool(f["ieee1789_no_effect"][0]):
        verdict = w("no observable effect")
    elif bool(f["ieee1789_low_risk"][0]):
        verdict = w("low risk")
    else:
        verdict = w("above the low-risk level")
    pct_decimals = catalogue.lookup("thd").decimals  # percentages as THD: one format

    def limit(x: float) -> str:
        return f"{x:.{pct_decimals}f} %" if math.isfinite(x) else w("no limit at this frequency")

    out.append(
        KeyValues(
            [
                (w("Percent flicker"), f"{pct:.{pct_decimals}f} %"),
                (w("Flicker index"), f"{fi:.3f}"),
                (
                    w("Flicker frequency"),
                    catalogue.format_value("frequency", freq, unit=True)
                    if math.isfinite(freq)
                    else "–",
                ),
                (w("IEEE 1789-2015 low-risk limit at this frequency"), limit(low)),
                (w("IEEE 1789-2015 no-observable-effect limit at this frequency"), limit(noe)),
                (w("IEEE 1789-2015 verdict"), verdict),
            ]
        )
    )
    return out


def _cri_values(m: dict) -> tuple[float | None, list[float] | None]:
    """Ra and R1..R15 as stored by the run (a certificate recomputes nothing)."""
    q = m.get("quantities") or {}
    ri = [finite(q.get(catalogue.lookup(f"r{i}").key)) for i in range(1, 16)]
    ra = finite(m.get("ra")) if m.get("ra") is not None else finite(q.get("Ra"))
    return ra, (ri if all(v is not None for v in ri) else None)


def _tm30(spectrum) -> dict | None:
    if spectrum is None:
        return None
    try:
        from lightcomp.analysis.tm30 import TM30_CIE224

        r = TM30_CIE224(spectrum[0], spectrum[1][None, :])
    except Exception:  # noqa: BLE001 - the graphic is optional; a note says it is missing
        return None
    if not np.isfinite(r["hue_bin_test_ab"][0]).all():
        return None
    return {
        "test": r["hue_bin_test_ab"][0],
        "ref": r["hue_bin_ref_ab"][0],
        "rf": float(r["Rf"][0]),
        "rg": float(r["Rg"][0]),
    }


def _decoded(code: str, w: Words) -> list[tuple[str, str]]:
    try:
        from lightcomp.coding import decode

        d = decode(code)
    except Exception as exc:  # noqa: BLE001 - show why the code does not decode
        return [
            (w("Product code"), code),
            (w("Decoded fields"), w("(cannot decode: {error})", error=exc)),
        ]
    rows = [
        (w("Product code"), str(d.get("printed", code))),
        (
            w("Level / category"),
            f"{d.get('level')} ({d.get('level_name', '')}) / {d.get('category')} "
            f"({d.get('category_name', '')})",
        ),
        (w("Manufacturer (registry id)"), str(d.get("manufacturer"))),
        (w("Nominal CCT class"), f"{d.get('cct_class')} ({d.get('nominal_cct_k') or '–'} K)"),
        (
            w("Colour-rendering class"),
            f"{d.get('cri_code', '')} (Ra ≥ {d.get('cri_class') or '–'})",
        ),
        (
            w("Nominal flux class"),
            f"{d.get('flux_class')} ({catalogue.format_value('luminous_flux', d.get('nominal_flux_lm'), unit=True)})",
        ),
        (w("Electrical input class"), f"{d.get('input_class')} ({d.get('input_name', '')})"),
        (w("Model sequence / item serial"), f"{d.get('model_seq')} / {d.get('item_serial')}"),
    ]
    return rows


# ---------------------------------------------------------------------------------------------
# Building and issuing
# ---------------------------------------------------------------------------------------------
def build_certificate(
    record: dict,
    spectrum: tuple[np.ndarray, np.ndarray] | None,
    *,
    report_id: str,
    issued_at: datetime,
    authorised_by: str,
    lab: dict[str, str],
    decision_rule: str | None = None,
    replaces: str | None = None,
    reason: str | None = None,
    replaces_version: str | None = None,
    language: str = "en",
) -> Document:
    """The certificate document of one component (``record`` from
    :func:`lightcomp.store.queries.component_record`) in ``language`` (:data:`LANGUAGES`)."""
    w = Words(language)
    m = record.get("measurement")
    if decision_rule is None:  # the plan's rule, stored with the measurement's U
        ev = (m or {}).get("uncertainty_evaluation") or {}
        decision_rule = ev.get("decision_rule") or "simple"
    if decision_rule not in DECISION_RULES:
        raise ReportError(
            f"unknown decision rule {decision_rule!r}: use {' or '.join(DECISION_RULES)}"
        )
    if m is None:
        raise ReportError(f"component {record['product_code']} has never been measured")
    if m["verdict"] == "error":
        raise ReportError(
            f"component {record['product_code']} has no valid measurement "
            f"(last one ended in error: {m.get('error_message') or 'unknown'}); re-test it first"
        )
    run = record.get("test_run") or {}
    cal = record.get("calibration")
    man = record["manufacturer"]
    fam = record["family"]
    lot = record.get("lot") or {}
    params = run.get("params") or {}
    plan = run.get("plan") or {}
    method = params.get("method") or (plan.get("plan") or {}).get("method") or DEFAULT_METHOD
    deviations = params.get("deviations") or (plan.get("plan") or {}).get("deviations")
    mode = _drive_mode(plan)
    dc = mode is not None and mode.startswith("dc")

    doc = Document(
        title=w(
            "Test report: photometric, colorimetric and electrical measurement of an LED light "
            "component"
        ),
        subtitle=f"{lab['name']} · {lab['address']}",
        report_id=report_id,
        footer=f"{lab['name']} · {w('results relate only to the item tested')}",
        report_label=f"{w('Report')} {report_id}",
        page_label=w("page {n} of {total}", n="{n}", total="{total}"),
        language=language,
    )
    if replaces:

        def replaced(x: Words) -> str:
            text = x.para(
                "This report replaces report {old}, which is withdrawn. Reason for the reissue: "
                "{reason}.",
                old=replaces,
                reason=reason,
            )
            if replaces_version != m.get("analysis_version"):
                text += x.para(
                    " Report {old} gave values of analysis version {old_version}; this report "
                    "gives them on analysis version {version}.",
                    old=replaces,
                    old_version=replaces_version or x("– (recorded before analysis versions)"),
                    version=m.get("analysis_version"),
                )
            return text

        text = w.each(replaced)
        doc.add(Paragraph(text, "warn"))
    doc.add(Heading(f"1. {w('Report and laboratory')}"))
    kv = [
        (w("Report id"), report_id),
        (w("Laboratory"), lab["name"]),
        (w("Address (place of testing)"), lab["address"]),
    ]
    if lab.get("accreditation"):
        kv.append((w("Accreditation"), lab["accreditation"]))
    kv += [
        (w("Station"), str(run.get("station") or "–")),
        (
            w("Customer (manufacturer)"),
            w.each(
                lambda x: x("{name} (registry id {id})", name=man["name"], id=man["registry_id"])
            ),
        ),
        (w("Customer address"), man.get("address") or "–"),
        (w("Date of issue"), _when(issued_at, with_time=False)),
    ]
    if replaces:
        kv.append(
            (w("Replaces report"), w("{old} (reason: {reason})", old=replaces, reason=reason))
        )
    doc.add(KeyValues(kv))

    doc.add(Heading(f"2. {w('Item tested')}"))
    doc.add(
        KeyValues(
            _decoded(record["product_code"], w)
            + [
                (
                    w("Family (manufacturer's model)"),
                    w.each(
                        lambda x: x(
                            "{name} (type {type})",
                            name=fam["name"],
                            type=fam.get("type_code") or "–",
                        )
                    ),
                ),
                (w("Lot"), lot.get("name") or "–"),
                (w("Manufacturer's serial"), record.get("external_serial") or "–"),
                (w("Date of receipt"), _when(lot.get("received_at"), with_time=False)),
                (w("Condition on receipt"), w("as received; no sampling by the laboratory")),
            ]
        )
    )

    doc.add(Heading(f"3. {w('Method and conditions')}"))
    temps = m.get("temperatures") or {}
    elec = m.get("electrical") or {}
    ambient = m.get("ambient_c") if m.get("ambient_c") is not None else temps.get("ambient_c")
    drive = plan.get("drive") if isinstance(plan.get("drive"), dict) else {}
    supply = w.each(lambda x: _supply_text(drive, elec, x, dc=dc))
    instruments = w.each(lambda x: _instruments_text(m.get("instruments") or {}, plan, x))
    doc.add(
        KeyValues(
            [
                (w("Method"), str(method)),
                (w("Deviations from the method"), str(deviations) if deviations else w("none")),
                (
                    w("Test plan"),
                    w.each(
                        lambda x: x(
                            "{name} version {version}",
                            name=run.get("plan_name") or "–",
                            version=run.get("plan_version") or "–",
                        )
                    ),
                ),
                (w("Date of test"), _when(m.get("measured_at"))),
                (w("Analysis version"), _analysis_version(m.get("analysis_version"), w)),
                (w("Operator"), str(run.get("operator") or "–")),
                (w.quantity(catalogue.lookup("ambient")), _condition(m, "ambient", ambient)),
                (w.quantity(catalogue.lookup("tc")), _condition(m, "tc", m.get("tc_c"))),
                (w("Supply"), supply or "–"),
                (w("Instruments"), instruments or "–"),
            ]
        )
    )
    stab = _stabilisation_table(m.get("stabilisation") or [], w, dc)
    if stab is not None:
        doc.add(Paragraph(w("Stabilisation history (readings before the measurement)"), "strong"))
        doc.add(stab)

    doc.add(Heading(f"4. {w('Results')}"))
    doc.add(Paragraph(w("Electrical"), "strong"))
    doc.add(_results_table(m, _ELECTRICAL, w, dc=dc))
    if mode == "ac":
        for block in (*_harmonics_blocks(m, w), *_flicker_blocks(m, w)):
            doc.add(block)
    doc.add(Paragraph(w("Photometric and colorimetric"), "strong"))
    doc.add(_results_table(m, _PHOTOMETRIC, w))
    if spectrum is not None:
        doc.add(
            Figure(
                plots.spectrum_png(*spectrum),
                caption=w.para(
                    "Spectral radiant flux of the item (calibrated, after self-absorption "
                    "correction)."
                ),
                width=0.85,
            )
        )
    else:
        doc.add(Paragraph(w.para("No spectrum is stored for this measurement."), "note"))
    ra, ri = _cri_values(m)
    if ri is not None:
        doc.add(
            Figure(
                plots.cri_bars_png(ri, ra),
                caption=w.para(
                    "CIE 13.3-1995 general (Ra) and special colour rendering indices R1–R15."
                ),
                width=0.85,
            )
        )
    tm = _tm30(spectrum)
    if tm is not None:
        doc.add(
            Figure(
                plots.tm30_vector_graphic_png(
                    tm["test"], tm["ref"], rf=finite(m.get("rf")), rg=finite(m.get("rg"))
                ),
                caption=w.para(
                    "ANSI/IES TM-30-20 colour vector graphic (16 hue bins, computed from the "
                    "stored spectrum; CIE 224:2017 reference)."
                ),
                width=0.5,
            )
        )
    else:
        doc.add(
            Paragraph(
                w.para("TM-30 colour vector graphic not available (no usable spectrum)."), "note"
            )
        )

    def vlc_u(key: str) -> str | None:
        q = catalogue.lookup(key)
        u = _uncertainty(m, q.column, (q.key, *q.names)) if q is not None else None
        if u is None:
            return None
        return f"U = {f'{_fmt_u(u[0] * q.scale)} {q.shown_unit}'.strip()}, k = {u[1]:g}"

    def vlc_interval(key: str) -> str | None:
        q = catalogue.lookup(key)
        return _coverage_interval(m, q) if q is not None else None

    # VLC test, when the plan had one; its U (and shortest 95 % coverage interval, not
    # symmetric about the value) from the Monte Carlo of its records
    for block in modulation_report.certificate_blocks(
        m, uncertainty=vlc_u, interval=vlc_interval, words=w
    ):
        doc.add(block)

    doc.add(Heading(f"5. {w('Statement of conformity')}"))
    table, overall = _conformity_table(m, decision_rule, w, dc=dc)
    doc.add(
        Paragraph(
            w.each(
                lambda x: x.para(
                    "Decision rule: {rule}", rule=x.para(DECISION_RULES[decision_rule])
                )
            ),
            "note",
        )
    )
    doc.add(table)
    conforms = overall == w.para("The item conforms to every limit listed.")
    does_not = any(s == w("does not conform") for s in (r[4] for r in table.rows))
    doc.add(Paragraph(overall, "pass" if conforms else ("fail" if does_not else "warn")))

    doc.add(Heading(f"6. {w('Measurement uncertainty and traceability')}"))
    from lightcomp.uncertainty.station import has_reported_u, not_reported

    has_u = has_reported_u(m.get("uncertainty"))
    doc.add(
        Paragraph(
            w.para(
                "Expanded uncertainties U are stated with the results where the measurement "
                "carries them (coverage factor k as given, k = 2 corresponds to about 95 % "
                "coverage probability, GUM / JCGM 100:2008)."
            )
            if has_u
            else w.para(
                "The measurement record carries no uncertainty budget; no uncertainty is "
                "stated for the results."
            ),
            "normal",
        )
    )
    note = not_reported(m.get("uncertainty"))
    if note is not None:  # a Monte Carlo that failed under required = false: said, with why
        keys = note.get("quantities")
        if isinstance(keys, list):
            what = ", ".join(
                w.quantity(q) if (q := catalogue.lookup(str(k))) is not None else str(k)
                for k in keys
            )
        else:
            what = w("the results")
        doc.add(
            Paragraph(
                w.each(
                    lambda x: x.para(
                        "No uncertainty is reported for {what} of this unit: {reason}. The "
                        "plan does not require it (required = false).",
                        what=what,
                        reason=str(note.get("reason") or "–"),
                    )
                ),
                "warn",
            )
        )
    ev = m.get("uncertainty_evaluation")
    if ev:
        doc.add(Paragraph(_mc_method(ev, w), "normal"))
        carried = ev.get("carried_from")
        if carried:  # a re-analysis: whose Monte Carlo its U are, said, not implied
            doc.add(
                Paragraph(
                    w.each(
                        lambda x: x.para(
                            "These results are a re-analysis of the stored spectra of the "
                            "measurement of {date} (analysis version {version}); their "
                            "uncertainties are that measurement's Monte Carlo results, carried "
                            "to the re-analysed values: a re-analysis changes the analysis, not "
                            "the measurement inputs.",
                            date=str(carried.get("measured_at") or "–")[:10],
                            version=carried.get("analysis_version") or "–",
                        )
                    ),
                    "normal",
                )
            )
        mod_trials = _modulation_trials(m)
        if mod_trials:
            conv = (
                "stable to two significant digits"
                if all(
                    (m.get("uncertainty") or {}).get(k, {}).get("converged", True)
                    for k in _MODULATION_KEYS
                    if isinstance((m.get("uncertainty") or {}).get(k), dict)
                )
                else "at the trial limit"
            )
            doc.add(
                Paragraph(
                    w.each(
                        lambda x: x.para(
                            "The modulation results (section 4): M = {trials} trials of the "
                            "recorded scope records (record noise, vertical gain per setting, "
                            "generator frequency and time base, receiver and instrument "
                            "response not de-embedded, DC bias current, modulation amplitude) "
                            "through the same modulation analysis as the results; U "
                            "{convergence}.",
                            trials=mod_trials,
                            convergence=x(conv),
                        )
                    ),
                    "normal",
                )
            )
    if cal is not None:
        doc.add(
            KeyValues(
                [
                    (
                        w("Spectral responsivity calibration"),
                        w.each(
                            lambda x: x(
                                "{id} ({kind}, station {station})",
                                id=cal["calib_id"],
                                kind=cal["kind"],
                                station=cal["station"],
                            )
                        ),
                    ),
                    (
                        w("Valid"),
                        w.each(
                            lambda x: x(
                                "{start} to {end} (status {status})",
                                start=_when(cal["valid_from"], False),
                                end=_when(cal["valid_until"], False),
                                status=cal["status"],
                            )
                        ),
                    ),
                    (w("Standard lamp"), cal.get("standard_lamp_id") or "–"),
                    (
                        w("Calibration certificate of the standard"),
                        cal.get("certificate_id") or "–",
                    ),
                    (
                        w("Spectral uncertainty of the calibration"),
                        w("stored with the calibration (relative, k = 2)")
                        if cal.get("has_uncertainty")
                        else w("not stored"),
                    ),
                ]
            )
        )
        doc.add(
            Paragraph(
                w.para(
                    "Traceability: the spectroradiometer/sphere responsivity is calibrated "
                    "against the standard lamp named above, whose certificate provides "
                    "traceability to the SI through a national metrology institute."
                ),
                "note",
            )
        )
    else:
        doc.add(Paragraph(w.para("No calibration is linked to this measurement."), "warn"))

    if ev and ev.get("budget"):
        from lightcomp.uncertainty.report import budget_rows

        shown = {
            q.key: q
            for q in (*_ELECTRICAL, *_PHOTOMETRIC, *(catalogue.lookup(k) for k in _MODULATION_KEYS))
        }

        def budget(x: Words) -> list[list[str]]:
            return budget_rows(
                ev["budget"],
                m.get("uncertainty") or {},
                [k for k in shown if k in (m.get("uncertainty") or {})],
                label=lambda k: x.quantity(shown[k], dc=dc),
                group_label=x,
                fmt_u=lambda k, u: f"{_fmt_u(u * shown[k].scale)} {shown[k].shown_unit}".strip(),
            )

        rows = budget(w)
        if w.language == "zh+en":  # a list of group labels: all Chinese, then all English
            each = {x.language: budget(x) for x in (Words("zh"), Words("en"))}
            for i, row in enumerate(rows):
                row[2] = w.each(lambda x, i=i: each[x.language][i][2])
        if rows:
            doc.add(Heading(f"{w('Annex A')}. {w('Uncertainty budget')}"))
            doc.add(
                Paragraph(
                    w.para(
                        "Contribution of each input group to the variance of each result, each "
                        "group varied alone in the Monte Carlo (inputs and their sources: "
                        "lightcomp docs/uncertainty.md). Groups below 1 % are not listed."
                    ),
                    "note",
                )
            )
            doc.add(
                Table(
                    [w("Quantity"), w("U (k = 2)"), w("Main contributions (share of variance)")],
                    rows,
                    align=["l", "r", "l"],
                )
            )

    doc.add(Heading(f"7. {w('Authorisation')}"))
    doc.add(
        KeyValues(
            [
                (w("Authorised by"), authorised_by),
                (w("Date of issue"), _when(issued_at)),
            ]
        )
    )
    doc.add(
        Paragraph(
            w.para(
                "The results relate only to the item tested, as received. This report shall "
                "not be reproduced except in full without the written approval of the "
                "laboratory."
            ),
            "strong",
        )
    )
    doc.add(Paragraph(w.para("— End of report {rid} —", rid=report_id), "end"))
    return doc


class _Issued:
    """The current (not replaced) certificate of one measurement, as issued."""

    def __init__(self, row: Certificate, replaces_report_id: str | None) -> None:
        self.report_id = row.report_id
        self.issued_at = row.issued_at
        self.format = row.format
        self.content_sha256 = row.content_sha256
        self.reason = row.reason
        self.replaces_report_id = replaces_report_id


def _issued_for(session, measurement_id: int) -> _Issued | None:
    """The newest certificate of ``measurement_id`` that no other certificate replaces."""
    rows = session.scalars(
        select(Certificate)
        .where(Certificate.measurement_id == measurement_id)
        .order_by(Certificate.id.desc())
    ).all()
    ids = [r.id for r in rows]
    replaced = set(
        session.scalars(select(Certificate.replaces_id).where(Certificate.replaces_id.in_(ids)))
    )
    for row in rows:
        if row.id not in replaced:
            prev = session.get(Certificate, row.replaces_id) if row.replaces_id else None
            return _Issued(row, prev.report_id if prev is not None else None)
    return None


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc


def issue_certificate(
    store,
    code: str,
    path: str | Path,
    *,
    authorised_by: str,
    fmt: str | None = None,
    lab_config: str | Path | None = None,
    decision_rule: str | None = None,
    reissue: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
    language: str = "en",
) -> dict[str, Any]:
    """Write the certificate of component ``code`` to ``path`` and record it; one transaction.

    ``fmt`` defaults to the file extension (``.html``/``.htm`` → HTML, else PDF);
    ``language`` is ``en``, ``zh`` or ``zh+en`` (:data:`LANGUAGES`). The same
    measurement in another format or language is the same report (same id).
    With ``reissue`` (an existing report id of the same component) the new report
    replaces it; ``reason`` is then required. Returns ``{"report_id",
    "replaces", "path", "format", "content_sha256", "bytes"}``.
    """
    from lightcomp.reports.lot_report import render

    if not authorised_by or not authorised_by.strip():
        raise ReportError(
            "a certificate needs the name of the person authorising it (--authorised-by)"
        )
    if reissue and not (reason and reason.strip()):
        raise ReportError(f"reissuing {reissue} needs a --reason")
    if reason and not reissue:
        raise ReportError("--reason is only for a reissue (--reissue REPORT_ID)")
    Words(language)  # an unknown language is refused before anything is read or written
    path = Path(path)
    fmt = (fmt or ("html" if path.suffix.lower() in (".html", ".htm") else "pdf")).lower()
    if fmt not in ("html", "pdf"):
        raise ReportError(f"unknown certificate format {fmt!r}: use html or pdf")
    if not path.parent.is_dir():
        raise ReportError(f"output folder {path.parent} does not exist")
    now = now or datetime.now(UTC)
    from lightcomp.coding import canonical, validate

    try:  # the code as stored (the store only looks up; coding knows the spelling rules)
        stored_code = canonical(code)
    except CodeError:
        stored_code = code
    with store.transaction() as session:
        record = queries.component_record(session, stored_code)
        if record is None:
            validate(code)  # a malformed code says what is wrong with it
            raise ReportError(f"unknown product code {code!r}: no such component in the store")
        old = None
        if reissue:
            old = session.scalars(
                select(Certificate).where(Certificate.report_id == reissue)
            ).first()
            if old is None:
                raise ReportError(f"unknown report id {reissue!r}: nothing to reissue")
            if old.component_id != record["component_id"]:
                other = session.get(Component, old.component_id)
                raise ReportError(
                    f"report {reissue} is for component {other.product_code}, not {record['product_code']}"
                )
            old_version = session.scalar(
                select(Measurement.analysis_version).where(Measurement.id == old.measurement_id)
            )
            newer = session.scalars(
                select(Certificate.report_id).where(Certificate.replaces_id == old.id)
            ).first()
            if newer:
                raise ReportError(
                    f"report {reissue} was already replaced by {newer}; reissue {newer}"
                )
        spectrum = queries.component_spectrum(session, record["product_code"])
        from lightcomp.uncertainty.station import evaluation_dict

        ev = evaluation_dict(session, record["measurement"]["measurement_id"])
        if ev is not None:  # how the U were obtained: method line, budget annex, rule
            record["measurement"]["uncertainty_evaluation"] = ev
        lab = lab_identity((record.get("test_run") or {}).get("params"), lab_config)
        issued = None if reissue else _issued_for(session, record["measurement"]["measurement_id"])
        if issued is not None:
            # The same measurement in another format (or again): the same report, same id and
            # issue time. Only a content change needs --reissue, so check by re-rendering the
            # issued format (rendering is deterministic) against its recorded SHA-256.
            def build(fmt_: str, language_: str) -> bytes:
                return render(
                    build_certificate(
                        record,
                        spectrum,
                        report_id=issued.report_id,
                        issued_at=issued.issued_at,
                        authorised_by=authorised_by.strip(),
                        lab=lab,
                        decision_rule=decision_rule,
                        replaces=issued.replaces_report_id,
                        reason=issued.reason,
                        language=language_,
                    ),
                    fmt_,
                )

            # The issued file's language is not recorded: it is the one whose rendering
            # gives the recorded SHA-256 (the requested language first).
            data = build(fmt, language)
            same = any(
                hashlib.sha256(
                    data
                    if (issued.format == fmt and lang == language)
                    else build(issued.format or "pdf", lang)
                ).hexdigest()
                == issued.content_sha256
                for lang in (language, *(x for x in LANGUAGES if x != language))
            )
            if not same:
                raise ReportError(
                    f"this measurement already has report {issued.report_id}, and its content "
                    f"would change (authoriser, decision rule or laboratory); to issue a "
                    f"corrected report use --reissue {issued.report_id} --reason ..."
                )
            _write(path, data)
            return {
                "report_id": issued.report_id,
                "replaces": issued.replaces_report_id,
                "path": str(path),
                "format": fmt,
                "content_sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
            }
        report_id = next_report_id(session, now.year)
        doc = build_certificate(
            record,
            spectrum,
            report_id=report_id,
            issued_at=now,
            authorised_by=authorised_by.strip(),
            lab=lab,
            decision_rule=decision_rule,
            replaces=reissue,
            reason=reason.strip() if reason else None,
            replaces_version=old_version if old is not None else None,
            language=language,
        )
        data = render(doc, fmt)
        digest = hashlib.sha256(data).hexdigest()
        session.add(
            Certificate(
                report_id=report_id,
                component_id=record["component_id"],
                measurement_id=record["measurement"]["measurement_id"],
                replaces_id=old.id if old is not None else None,
                reason=reason.strip() if reason else None,
                issued_at=now,
                authorised_by=authorised_by.strip(),
                format=fmt,
                content_sha256=digest,
            )
        )
        session.flush()
        _write(path, data)
    return {
        "report_id": report_id,
        "replaces": reissue,
        "path": str(path),
        "format": fmt,
        "content_sha256": digest,
        "bytes": len(data),
    }
