"""Speech corpus from eSpeak NG: alignment, features, cache, errors, and the articulatory model."""

import sys

import numpy as np
import pytest

from infotheory.audiovisual import speech
from infotheory.audiovisual.articulatory import ARTICULATORY_TARGETS, articulatory_stream
from infotheory.audiovisual.lexical import build_lexicon
from infotheory.audiovisual.speech import (
    acoustic_features,
    add_noise,
    ipa_to_arpabet,
    make_speech_corpus,
    synthesize,
)
from infotheory.audiovisual.visemes import CMU_PHONEMES, to_units

TINY = dict(texts=["map", "see", "coo", "key", "the cat"], voices=["en-us", "en-us+f1"],
            rates=[140, 220])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_speech_corpus(**TINY, cache_dir=tmp_path_factory.mktemp("speech"))


def _spoken(seg):
    return [p for p in seg["phoneme"] if p != "SIL"]


# ---------------------------------------------------------------- synthesis and alignment
@pytest.fixture(scope="module")
def lexicon():
    return build_lexicon(5000).set_index("word")


@pytest.mark.parametrize("word", ["cat", "map", "fish", "thing", "church", "yellow"])
def test_alignment_phonemes_equal_cmudict_pronunciation(word, lexicon):
    _, seg, sr = synthesize(word)
    assert sr == 22050
    assert tuple(_spoken(seg)) == to_units(lexicon.loc[word, "pronunciation"], "phoneme")


def test_alignment_segments_tile_the_audio_in_order():
    audio, seg, _ = synthesize("the quick brown fox", rate=200)
    assert (seg["start"].to_numpy()[1:] == seg["stop"].to_numpy()[:-1]).all()
    assert (seg["stop"] > seg["start"]).all() and seg["stop"].max() <= len(audio)
    words = seg.loc[seg.phoneme != "SIL", "word"].to_numpy()
    assert (np.diff(words) >= 0).all() and set(words) == {1, 2, 3, 4}


def test_faster_rate_gives_shorter_audio():
    slow, _, _ = synthesize("information", rate=120)
    fast, _, _ = synthesize("information", rate=300)
    assert len(fast) < 0.75 * len(slow)


def test_fricative_frames_have_higher_spectral_centroid_than_vowel_frames(corpus):
    # acoustic phonetics: /s/ is high-frequency noise, /iy/ a low-formant-weighted vowel
    mel = 10 ** (corpus.logmel / 10)
    centroid = mel @ np.arange(mel.shape[1]) / mel.sum(axis=1)
    ph = corpus.frames.phoneme.to_numpy()
    assert centroid[ph == "S"].mean() > centroid[ph == "IY"].mean() + 5


def test_every_cmu_phoneme_has_an_ipa_source_and_an_articulatory_target():
    produced = {p for syms in speech.IPA_TO_ARPABET.values() for p in syms}
    assert set(CMU_PHONEMES) <= produced
    assert set(CMU_PHONEMES) | {"SIL"} == set(ARTICULATORY_TARGETS)
    assert ipa_to_arpabet("ˈaɪɚ") == ("AY", "ER")
    with pytest.raises(ValueError, match="no ARPAbet equivalent"):
        ipa_to_arpabet("ʘ")


# ---------------------------------------------------------------- corpus, cache, features
def test_corpus_frames_labels_and_features_are_aligned(corpus):
    n_utt = len(TINY["texts"]) * len(TINY["voices"]) * len(TINY["rates"])
    assert len(corpus.utterances) == n_utt
    assert corpus.mfcc.shape == (len(corpus.frames), 13)
    assert corpus.logmel.shape == (len(corpus.frames), 40)
    assert np.isfinite(corpus.mfcc).all()
    both = corpus.frames[corpus.frames.word == "cat"]
    assert set(both.phoneme) == {"K", "AE", "T"}
    assert set(corpus.frames.loc[corpus.frames.phoneme == "SIL", "word"]) == {"SIL"}


def test_corpus_from_cache_equals_fresh_build(tmp_path, corpus):
    first = make_speech_corpus(**TINY, cache_dir=tmp_path)
    files = list(tmp_path.glob("corpus-*.npz"))
    assert len(files) == 1
    again = make_speech_corpus(**TINY, cache_dir=tmp_path)
    fresh = make_speech_corpus(**TINY, cache_dir=False)
    for other in (again, fresh, corpus):
        np.testing.assert_array_equal(first.mfcc, other.mfcc)
        np.testing.assert_array_equal(first.audio, other.audio)
        assert first.frames.equals(other.frames)


def test_cache_location_follows_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOTHEORY_SPEECH_CACHE", str(tmp_path / "here"))
    assert speech.default_cache_dir() == tmp_path / "here"
    make_speech_corpus(texts=["no"], voices=["en-us"], rates=[175])
    assert len(list((tmp_path / "here").glob("corpus-*.npz"))) == 1


def test_phrases_are_deterministic_for_a_seed():
    texts = [speech._texts(20, 5, (2, 3), np.random.default_rng(s)) for s in (1, 1, 2)]
    assert texts[0] == texts[1] != texts[2]
    assert all(2 <= len(t.split()) <= 3 for t in texts[0][20:])


def test_noise_at_snr_has_the_requested_power_ratio():
    x = np.sin(np.arange(50000) / 7.0)
    for snr in (20.0, 0.0, -10.0):
        y = add_noise(x, snr, random_state=1)
        measured = 10 * np.log10(np.mean(x**2) / np.mean((y - x) ** 2))
        assert abs(measured - snr) < 0.1


def test_noisy_features_lose_information_about_phonemes(corpus):
    from infotheory.audiovisual import discretize
    from infotheory.discrete import discrete_mutual_information

    ph = corpus.frames.phoneme.to_numpy()
    clean = corpus.features("mfcc")
    noisy = corpus.features("mfcc", snr_db=-10.0, random_state=0)
    mi = [discrete_mutual_information(discretize(f, 8, random_state=0), ph, "plugin")
          for f in (clean, noisy)]
    assert mi[1] < mi[0] - 0.2


def test_windows_stack_neighbours_within_an_utterance(corpus):
    x = np.arange(len(corpus.frames), dtype=float)[:, None]
    w = corpus.windows(x, 1)
    first = int(corpus.utterances.frame_start[1])
    assert w.shape == (len(x), 3)
    np.testing.assert_array_equal(w[first], [first, first, first + 1])   # edge repeated


# ---------------------------------------------------------------- articulatory model
def test_articulatory_model_closes_lips_for_bilabials_and_rounds_for_uw(corpus):
    v = articulatory_stream(corpus, noise=0.0, speaker_spread=0.0, fps=100)
    ph = corpus.frames.phoneme.to_numpy()
    assert v[ph == "M", 0].mean() < 0.5 * v[ph == "AE", 0].mean()
    assert v[ph == "UW", 2].mean() > v[ph == "IY", 2].mean() + 0.5


def test_articulatory_model_anticipates_rounding_in_k_before_uw(corpus):
    # coarticulation: the lips round during /k/ of "coo" but not of "key"
    v = articulatory_stream(corpus, noise=0.0, speaker_spread=0.0, fps=100)
    fr = corpus.frames
    k_coo = v[(fr.word == "coo").to_numpy() & (fr.phoneme == "K").to_numpy(), 2].mean()
    k_key = v[(fr.word == "key").to_numpy() & (fr.phoneme == "K").to_numpy(), 2].mean()
    assert k_coo > k_key + 0.2


def test_articulatory_stream_is_held_at_the_video_frame_rate(corpus):
    v = articulatory_stream(corpus, fps=25, random_state=3)
    u = corpus.utterances.iloc[0]
    block = v[u.frame_start:u.frame_start + 4]
    assert np.ptp(block, axis=0).max() == 0.0 and not np.array_equal(block[0], v[4])
    np.testing.assert_array_equal(v, articulatory_stream(corpus, fps=25, random_state=3))


# ---------------------------------------------------------------- errors
def test_text_espeak_cannot_voice_is_refused():
    with pytest.raises(ValueError, match="cannot voice"):
        synthesize("...")
    with pytest.raises(ValueError, match="something to speak"):
        synthesize("   ")
    with pytest.raises(ValueError, match="voice must be an eSpeak NG voice"):
        synthesize("hello", voice="no-such-voice")
    with pytest.raises(ValueError, match="rate must be"):
        synthesize("hello", rate=5)


def test_empty_corpus_is_refused():
    with pytest.raises(ValueError, match="corpus is empty"):
        make_speech_corpus(texts=[], cache_dir=False)
    with pytest.raises(ValueError, match="corpus is empty"):
        make_speech_corpus(0, cache_dir=False)


def test_features_with_nan_are_refused(corpus):
    with pytest.raises(ValueError, match="NaN"):
        acoustic_features(np.array([0.1, np.nan, 0.2] * 1000))
    with pytest.raises(ValueError, match="NaN"):
        from infotheory import mutual_information

        bad = corpus.mfcc.copy()
        bad[3, 2] = np.nan
        mutual_information(bad, corpus.frames.phoneme.to_numpy())


def test_missing_audio_extra_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "librosa", None)
    with pytest.raises(ImportError, match=r"probconstraints\[audio\]"):
        acoustic_features(np.zeros(1000))
    monkeypatch.setitem(sys.modules, "wordfreq", None)
    from infotheory.audiovisual import lexical

    with pytest.raises(ImportError, match=r"probconstraints\[audio\]"):
        lexical.build_lexicon(10)
