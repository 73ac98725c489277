"""TimePlot.pyplot() through matplotlib (skipped where python3-matplotlib is absent)."""
import pytest

import support
from heapprof_c import Reader

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def test_pyplot_total(tmp_path, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda: None)
    with Reader(support.stage(tmp_path, "tiny", "ours.i100.p0")) as r:
        tp = r.timePlot()
        plt.close("all")
        tp.pyplot(scale=1)
        (line,) = plt.gcf().axes[0].get_lines()
        assert list(line.get_xdata()) == tp.times
        assert list(line.get_ydata()) == tp.totalUsage


def test_pyplot_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda: None)
    with Reader(support.stage(tmp_path, "tiny", "ours.i100.p0")) as r:
        tp = r.timePlot({"main": support.MAIN, "timeit": support.PY + "/timeit.py:180"})
        plt.close("all")
        tp.pyplot()  # MiB; snapshot 0 is empty: its shares are NaN, not a ZeroDivisionError
        total, raw, share = plt.gcf().axes
        assert list(total.get_lines()[0].get_ydata()) == [t / (1 << 20) for t in tp.totalUsage]
        assert len(raw.get_lines()) == 2 and len(share.get_lines()) == 2
        shares = list(share.get_lines()[0].get_ydata())
        assert shares[0] != shares[0] and shares[-1] == tp.lines[0][-1] / tp.totalUsage[-1]
