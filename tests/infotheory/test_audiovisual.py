"""Audio-visual analysis: viseme maps, lexical entropies, synthetic ordering, modality MI/PID."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from experiments import info_audiovisual
from infotheory.audiovisual import (
    CMU_PHONEMES,
    VISEME_MAPS,
    build_lexicon,
    get_viseme_map,
    lexical_information,
    make_av_corpus,
    modality_information,
    to_units,
    unit_strings,
)
from infotheory.decomposition import entropy_pmf
from infotheory.discrete import discrete_entropy


def h2(p):
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


@pytest.fixture(scope="module")
def lexicon():
    return build_lexicon(3000)


@pytest.fixture(scope="module")
def lexical(lexicon):
    return lexical_information(lexicon, ["lee", "jeffers_barley", "neti", "bozkurt"]).set_index(
        "map")


# ---------------------------------------------------------------- viseme maps
@pytest.mark.parametrize("name", sorted(VISEME_MAPS))
def test_every_map_is_a_partition_of_the_39_cmu_phonemes(name):
    vm = VISEME_MAPS[name]
    listed = [p for phs in vm.classes.values() for p in phs if p != "AX"]
    assert sorted(listed) == sorted(CMU_PHONEMES)


@pytest.mark.parametrize("name", ["lee", "jeffers_barley", "neti", "bozkurt"])
def test_every_map_merges_bilabials_and_labiodentals_and_keeps_them_apart(name):
    m = VISEME_MAPS[name].mapping
    assert m["P"] == m["B"] == m["M"]
    assert m["F"] == m["V"]
    assert m["P"] != m["F"]
    assert m["P"] != m["T"] and m["F"] != m["S"]


def test_units_of_bat_and_mat_coincide_under_visemes_but_not_phonemes():
    assert to_units(["B", "AE1", "T"], "lee") == to_units(["M", "AE1", "T"], "lee")
    assert to_units(["B", "AE1", "T"]) != to_units(["M", "AE1", "T"])
    assert to_units(["AH0"], "neti") == ("V4",) and to_units(["AH1"], "neti") == ("V1",)


def test_viseme_map_errors_name_the_argument():
    with pytest.raises(ValueError, match="viseme_map"):
        get_viseme_map("fisher-typo")
    with pytest.raises(TypeError, match="viseme_map"):
        get_viseme_map(3)
    with pytest.raises(ValueError, match="39 CMU phonemes"):
        get_viseme_map({"P": "x"})


# ---------------------------------------------------------------- lexical entropies
def test_hand_computed_three_word_lexicon():
    lex = pd.DataFrame({"word": ["bat", "mat", "cat"], "probability": [0.5, 0.25, 0.25],
                        "pronunciation": [("B", "AE1", "T"), ("M", "AE1", "T"),
                                          ("K", "AE1", "T")]})
    row = lexical_information(lex, ["lee"]).set_index("map").loc["lee"]
    assert row["H(word)"] == pytest.approx(1.5)
    assert row["H(word|phonemes)"] == pytest.approx(0.0)
    assert row["H(word|units)"] == pytest.approx(0.75 * h2(1 / 3))
    assert row["I(word;units)"] == pytest.approx(1.5 - 0.75 * h2(1 / 3))
    assert row["homophene_rate"] == pytest.approx(0.75)
    assert row["homophene_type_rate"] == pytest.approx(2 / 3)
    assert row["mean_cohort"] == pytest.approx(0.75 * 2 + 0.25)
    # per segment: B (1/6), M (1/12), K (1/12) then AE, T; Lee merges B and M only
    w = np.array([0.5, 0.25]) / 0.75
    assert row["H(phoneme|unit)"] == pytest.approx(0.75 / 3 * entropy_pmf(w, base=2))


def test_identity_map_gives_the_phoneme_conditional_entropy(lexicon, lexical):
    row = lexical.loc["phoneme"]
    assert row["H(word|units)"] == pytest.approx(row["H(word|phonemes)"], abs=1e-12)
    assert row["lipreading_loss"] == pytest.approx(0.0, abs=1e-12)
    assert row["H(phoneme|unit)"] == pytest.approx(0.0, abs=1e-12)
    custom = {p: p.lower() for p in CMU_PHONEMES}          # identity under other labels
    again = lexical_information(lexicon, [custom]).set_index("map").loc["custom"]
    assert again["H(word|units)"] == pytest.approx(row["H(word|phonemes)"], abs=1e-12)


def test_lexicon_has_homophones_so_phonemes_leave_word_uncertainty(lexicon, lexical):
    strings = dict(zip(lexicon["word"], unit_strings(lexicon)))
    assert strings["two"] == strings["too"] == strings["to"]
    assert lexical.loc["phoneme", "H(word|phonemes)"] > 0


def test_h_word_given_units_is_h_word_minus_h_units_checked_with_discrete_entropy(lexicon):
    # independent route: sample words, estimate H(unit string) by plug-in on a huge sample
    rng = np.random.default_rng(0)
    idx = rng.choice(len(lexicon), 400_000, p=lexicon["probability"].to_numpy())
    strings = unit_strings(lexicon, "neti").to_numpy()[idx]
    row = lexical_information(lexicon, ["neti"]).set_index("map").loc["neti"]
    assert discrete_entropy(strings, base=2) == pytest.approx(row["I(word;units)"], abs=0.05)


def test_visemes_lose_word_information_and_coarser_maps_lose_more(lexicon, lexical):
    for m in ["lee", "jeffers_barley", "neti", "bozkurt"]:
        assert lexical.loc[m, "H(word|units)"] > lexical.loc["phoneme", "H(word|phonemes)"]
        assert lexical.loc[m, "homophene_rate"] > lexical.loc["phoneme", "homophene_rate"]
    # merging two Lee classes can only raise H(word|units) (data processing)
    merged = {p: ("P" if v == "F" else v) for p, v in VISEME_MAPS["lee"].mapping.items()}
    coarse = lexical_information(lexicon, [merged]).set_index("map").loc["custom"]
    assert coarse["H(word|units)"] > lexical.loc["lee", "H(word|units)"]


def test_lexical_information_refuses_a_bad_probability_column():
    lex = pd.DataFrame({"word": ["a"], "probability": [0.5], "pronunciation": [("AH0",)]})
    with pytest.raises(ValueError, match="sum to 1"):
        lexical_information(lex)


# ---------------------------------------------------------------- synthetic corpus
def test_corpus_is_seeded_and_video_sees_only_visemes():
    a = make_av_corpus(1500, random_state=3)
    b = make_av_corpus(1500, random_state=3)
    np.testing.assert_array_equal(a.audio, b.audio)
    np.testing.assert_array_equal(a.video, b.video)
    assert a.to_frame().groupby("phoneme")["viseme"].nunique().max() == 1
    c = make_av_corpus(1500, random_state=4)
    assert not np.array_equal(a.phonemes, c.phonemes)
    with pytest.raises(ValueError, match="audio_noise"):
        make_av_corpus(100, audio_noise=-1.0)


@pytest.fixture(scope="module")
def clean_and_noisy():
    out = {}
    for noise in (0.5, 3.0):
        c = make_av_corpus(8000, audio_noise=noise, video_noise=0.4, random_state=1)
        out[noise] = (c, modality_information(c.audio, c.video, c.phonemes, [32],
                                              pid_measures=("imin", "broja"), random_state=0,
                                              pid_kwargs={"tol": 1e-7}))
    return out


def test_audio_tells_more_than_video_when_video_sees_only_visemes(clean_and_noisy):
    corpus, res = clean_and_noisy[0.5]
    row = res.table.iloc[0]
    assert row["I(A;T)"] > row["I(V;T)"] + 0.2
    assert row["I(V;T)"] <= corpus.ceilings()["H(viseme)"] + 0.02
    assert row["I(A,V;T)"] >= max(row["I(A;T)"], row["I(V;T)"]) - 0.02
    assert row["I(A,V;T)"] <= row["H(T)"] + 0.02
    pid = res.pid(32, "broja")
    assert pid.unique_a > pid.unique_v
    assert res.pid() is res.pid(32, "broja")      # default: last k, first measure


def test_ordering_flips_when_audio_is_drowned_in_noise(clean_and_noisy):
    _, res = clean_and_noisy[3.0]
    row = res.table.iloc[0]
    assert row["I(V;T)"] > row["I(A;T)"] + 0.2
    for measure in ("imin", "broja"):
        pid = res.pid(32, measure)
        assert pid.unique_v > pid.unique_a
        assert pid.redundancy + pid.unique_a + pid.unique_v + pid.synergy == pytest.approx(
            pid.mi_av)


def test_given_labels_copy_and_function_have_closed_form_pid():
    # A = T (a copy of the text), V = viseme(T): I_min and BROJA give R = H(V),
    # U_A = H(T) - H(V), U_V = S = 0
    c = make_av_corpus(3000, random_state=2)
    res = modality_information(c.phonemes, c.visemes, c.phonemes, method="plugin",
                               pid_measures=("imin", "broja"))
    row = res.table.iloc[0]
    h_t = discrete_entropy(c.phonemes)
    h_v = discrete_entropy(c.visemes)
    assert row["k"] == "given"
    assert row["I(A;T)"] == pytest.approx(h_t) and row["I(V;T)"] == pytest.approx(h_v)
    for measure in ("imin", "broja"):
        pid = res.pid("given", measure)
        np.testing.assert_allclose([pid.redundancy, pid.unique_a, pid.unique_v, pid.synergy],
                                   [h_v, h_t - h_v, 0, 0], atol=1e-7)


def test_shuffled_text_nulls_are_near_zero_for_miller_madow_and_positive_for_plugin():
    c = make_av_corpus(4000, random_state=5)
    res = modality_information(c.audio, c.video, c.phonemes, [8], pid_measures=(),
                               n_shuffles=2, random_state=0)
    row = res.table.iloc[0]
    assert abs(row["null I(A;T)"]) < 0.02 and abs(row["null I(V;T)"]) < 0.02
    assert row["null plug-in I(A,V;T)"] > abs(row["null I(A,V;T)"])
    assert row["null plug-in I(A,V;T)"] < 0.5 * row["I(A,V;T)"]


def test_modality_information_refuses_mismatched_lengths_and_unknown_measures():
    x = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match="same number of samples"):
        modality_information(x, x, np.zeros(40, int), [2])
    with pytest.raises(ValueError, match="pid_measures"):
        modality_information(x, x, np.zeros(50, int), [2], pid_measures=("ccs",))
    with pytest.raises(ValueError, match="NaN"):
        modality_information(np.full((50, 2), np.nan), x, np.zeros(50, int), [2])


def test_modality_plot_returns_a_figure(clean_and_noisy):
    fig = clean_and_noisy[0.5][1].plot(measure="imin")
    assert len(fig.axes) == 3
    plt.close("all")


# ---------------------------------------------------------------- experiment
def test_experiment_quick_mode_writes_tables_and_figures(tmp_path):
    lex, modality = info_audiovisual.main(["--quick", "--out", str(tmp_path)])
    for f in ["lexical.csv", "lexical.md", "lexical.png", "modality.csv", "modality.md",
              "venn.png", "modality_clean_audio.png", "modality_noisy_audio.png", "COMMAND"]:
        assert (tmp_path / f).is_file(), f
    assert set(lex["map"]) == {"phoneme", "lee", "jeffers_barley", "neti", "bozkurt"}
    clean = modality[modality.condition == "clean audio"]
    noisy = modality[modality.condition == "noisy audio"]
    assert (clean["I(A;T)"] > clean["I(V;T)"]).all()
    assert (noisy["I(V;T)"] > noisy["I(A;T)"]).all()
    plt.close("all")
