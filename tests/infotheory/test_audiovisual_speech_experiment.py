"""The speech audio-visual experiment runs end to end in quick mode and orders what it should."""

import pandas as pd

from experiments.info_audiovisual_speech import crossing_snr, main


def test_quick_mode_writes_tables_and_figures(tmp_path):
    info, inter, sweep = main(["--quick", "--out", str(tmp_path), "--verbose", "0"])
    for name in ("corpus.md", "information.md", "intersection.md", "snr_sweep.md",
                 "snr_sweep.png", "intersection_venn.png", "COMMAND"):
        assert (tmp_path / name).exists(), name
    q = info.set_index(["quantity", "estimator"])["estimate"]
    h_ph = q.loc[("H(phoneme)", "Miller-Madow")]
    # visemes are a function of phonemes: I(viseme; phoneme) = H(viseme) < H(phoneme)
    vis = info[info.quantity == "I(viseme; phoneme)"]["estimate"]
    assert (vis < h_ph).all() and (vis > 0.5).all()
    # white noise at 0 dB removes information from audio, not from the lip stream
    clean, noisy = sweep.iloc[0], sweep.iloc[-1]
    assert noisy["I(A;T)"] < clean["I(A;T)"]
    assert abs(noisy["I(V;T)"] - clean["I(V;T)"]) < 0.05
    assert {"co-information", "imin:redundancy"} <= set(inter.columns)


def test_crossing_snr_interpolates_where_video_overtakes_audio():
    table = pd.DataFrame({"snr_db": [float("inf"), 10.0, 0.0, -10.0],
                          "I(A;T)": [2.0, 1.8, 1.2, 0.6], "I(V;T)": [1.0, 1.0, 1.0, 1.0]})
    assert abs(crossing_snr(table) - (-10.0 / 3.0)) < 1e-9      # 0 dB + (-10 dB) * 0.2/0.6
    assert crossing_snr(table.assign(**{"I(V;T)": 0.1})) is None
