"""Audio-visual information on synthesised speech: I(audio; phoneme/word), I(viseme; phoneme),
the audio-video intersection (co-information, PID) and an audio SNR sweep.

Audio: eSpeak NG speech of the most frequent CMUdict words and short phrases in four voices
and three speaking rates (:func:`infotheory.audiovisual.make_speech_corpus`), frame labels from
eSpeak's own phoneme events, 13 MFCCs per 10 ms frame. Video: the lip-parameter stream of
:func:`infotheory.audiovisual.articulatory_stream` driven by the same alignment -- an
articulatory *model* (per-phoneme lip targets, Cohen-Massaro coarticulation, 25 fps, tracking
noise), not recorded video. Estimators, each where it fits:

* discrete: k-means units of +/-2-frame windows, Miller-Madow MI, minus the same estimate
  after permuting the labels (the shuffle baseline, printed beside it);
* k-NN on features: Ross (2014) continuous-discrete MI on normal scores of the centre frame,
  and ``auto`` (bias-corrected copula KSG) for I(audio; video), on one random frame per
  utterance so that neighbours are not adjacent frames of one utterance;
* InfoNCE on +/-2-frame windows against one-hot labels (a lower bound).

The paper this mirrors (Chen et al. 2024, arXiv:2409.19575) could not be read beyond its
abstract; no number of it is reproduced.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments._common import parse_args, save_figure, write_command, write_table
from infotheory import mutual_information
from infotheory.audiovisual import (
    articulatory_stream,
    discretize,
    get_viseme_map,
    make_speech_corpus,
    modality_information,
)
from infotheory.discrete import discrete_entropy, discrete_mutual_information

NAME = "info_audiovisual_speech"
MAPS = ("lee", "jeffers_barley", "neti", "bozkurt")
SNRS = (np.inf, 20.0, 10.0, 5.0, 0.0, -5.0, -10.0, -15.0, -20.0)


def _add_arguments(parser):
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--words", type=int, default=200, help="CMUdict words (default 200)")
    parser.add_argument("--phrases", type=int, default=60, help="phrases (default 60)")
    parser.add_argument("--cache-dir", default=None, help="speech corpus cache folder")
    parser.add_argument("--verbose", type=int, default=1)


def _one_frame_per_utterance(corpus, rng, speech_only=True):
    """Index of one random (voiced) frame of every utterance."""
    fr = corpus.frames
    ok = (fr.phoneme != "SIL").to_numpy() if speech_only else np.ones(len(fr), bool)
    pick = []
    for u in range(len(corpus.utterances)):
        rows = np.flatnonzero(ok & (fr.utterance.to_numpy() == u))
        if len(rows):
            pick.append(int(rng.choice(rows)))
    return np.array(pick)


def _discrete_mi(units, labels, rng):
    value = discrete_mutual_information(units, labels, method="miller_madow")
    null = discrete_mutual_information(units, labels[rng.permutation(len(labels))],
                                       method="miller_madow")
    return value, null


def _onehot(labels):
    _, codes = np.unique(labels, return_inverse=True)
    return np.eye(codes.max() + 1)[codes]


def information_table(corpus, video, args, rng):
    """The MI table: one row per (quantity, estimator)."""
    quick = args.quick
    fr = corpus.frames
    labels = {"phoneme": fr.phoneme.to_numpy(), "word": fr.word.to_numpy()}
    streams = {"audio": corpus.mfcc, "video": video}
    wins = {k: corpus.windows(v, 2) for k, v in streams.items()}
    ks = (8,) if quick else (64, 256)
    rows = []

    def add(quantity, estimator, value, baseline=np.nan, n=None, note=""):
        n = len(fr) if n is None else n
        rows.append(dict(quantity=quantity, estimator=estimator, estimate=float(value),
                         shuffle_baseline=float(baseline),
                         corrected=float(value) - (0.0 if np.isnan(baseline) else baseline),
                         n=int(n), note=note))

    for name, lab in labels.items():
        add(f"H({name})", "Miller-Madow", discrete_entropy(lab, "miller_madow"))
    for m in MAPS:
        mapping = get_viseme_map(m).mapping
        vis = np.array([mapping.get(p, "SIL") for p in labels["phoneme"]])
        value, null = _discrete_mi(vis, labels["phoneme"], rng)
        add("I(viseme; phoneme)", f"Miller-Madow, map {m}", value, null,
            note=f"{get_viseme_map(m).n_visemes} visemes + SIL; = H(viseme) up to bias")
    units = {(s, k): discretize(wins[s], k, random_state=int(rng.integers(2**31 - 1)))
             for s in streams for k in ks}
    pick = _one_frame_per_utterance(corpus, rng)
    n_nce = min(len(fr), 3000 if quick else 40000)
    nce_rows = rng.choice(len(fr), n_nce, replace=False)
    for s in streams:
        for name, lab in labels.items():
            q = f"I({s}; {name})"
            for k in ks:
                value, null = _discrete_mi(units[(s, k)], lab, rng)
                add(q, f"k-means {k} units (+/-2 frames), Miller-Madow", value, null)
            value = mutual_information(streams[s][pick], lab[pick], method="mixed",
                                       random_state=int(rng.integers(2**31 - 1)))
            null = mutual_information(streams[s][pick], rng.permutation(lab[pick]),
                                      method="mixed", random_state=int(rng.integers(2**31 - 1)))
            add(q, "Ross k-NN (k=3) on normal scores, centre frame", value, null, len(pick),
                "one voiced frame per utterance")
            value = mutual_information(
                wins[s][nce_rows], _onehot(lab[nce_rows]), method="infonce", hidden=(128,),
                embed_dim=32, batch_size=512, max_steps=30 if quick else 2000,
                random_state=int(rng.integers(2**31 - 1)))
            add(q, "InfoNCE (+/-2 frames vs one-hot), lower bound", value, n=n_nce,
                note="capped at log 512 = 6.24")
    for method in ("auto", "gaussian_copula"):
        value = mutual_information(corpus.mfcc[pick], video[pick], method=method,
                                   random_state=int(rng.integers(2**31 - 1)))
        null = mutual_information(corpus.mfcc[pick], video[rng.permutation(pick)],
                                  method=method, random_state=int(rng.integers(2**31 - 1)))
        add("I(audio; video)", f"{method} (13 MFCC x 4 lip parameters)", value, null, len(pick),
            "one voiced frame per utterance")
    return pd.DataFrame(rows)


def intersection_table(corpus, video, args, rng):
    """Co-information and PID of (audio units, video units) about phonemes."""
    ks = (8,) if args.quick else (16, 64)
    res = modality_information(corpus.windows(corpus.mfcc, 2), corpus.windows(video, 2),
                               corpus.frames.phoneme.to_numpy(), ks,
                               pid_measures=("imin", "mmi") if args.quick
                               else ("imin", "mmi", "broja"),
                               names=("audio", "video", "phoneme"), n_shuffles=1,
                               pid_kwargs={"tol": 1e-7},
                               random_state=int(rng.integers(2**31 - 1)),
                               verbose=0 if args.quick else args.verbose)
    return res


def snr_sweep(corpus, video, args, rng):
    """I(A;T), I(V;T), I(A,V;T) against audio SNR (k-means units, minus shuffle baselines)."""
    n_sub = len(corpus.utterances) if args.quick else min(800, len(corpus.utterances))
    keep = np.sort(rng.choice(len(corpus.utterances), n_sub, replace=False))
    sub = corpus.subset(keep)
    frames = np.concatenate([np.arange(corpus.utterances.frame_start[i],
                                       corpus.utterances.frame_stop[i]) for i in keep])
    vid = video[frames]
    ph = sub.frames.phoneme.to_numpy()
    k = 8 if args.quick else 64
    uv = discretize(sub.windows(vid, 2), k, random_state=int(rng.integers(2**31 - 1)))
    snrs = (np.inf, 0.0) if args.quick else SNRS
    rows = []
    for snr in snrs:
        feats = sub.features("mfcc", snr, random_state=int(rng.integers(2**31 - 1)))
        ua = discretize(sub.windows(feats, 2), k, random_state=int(rng.integers(2**31 - 1)))
        joint = np.column_stack([ua, uv])
        row = {"snr_db": snr}
        for name, units in (("I(A;T)", ua), ("I(V;T)", uv), ("I(A,V;T)", joint)):
            value, null = _discrete_mi(units, ph, rng)
            row[name] = value - null
            row[f"baseline {name}"] = null
        pick = _one_frame_per_utterance(sub, rng)
        row["I(A;T) Ross k-NN"] = float(mutual_information(
            feats[pick], ph[pick], method="mixed", random_state=int(rng.integers(2**31 - 1))))
        row["I(V;T) Ross k-NN"] = float(mutual_information(
            vid[pick], ph[pick], method="mixed", random_state=int(rng.integers(2**31 - 1))))
        rows.append(row)
    table = pd.DataFrame(rows)
    table["co-information"] = table["I(A;T)"] + table["I(V;T)"] - table["I(A,V;T)"]
    return table, n_sub, k


def crossing_snr(table, a="I(A;T)", v="I(V;T)"):
    """SNR (dB, linear interpolation) below which video carries more than audio; None if never."""
    t = table[np.isfinite(table.snr_db)].sort_values("snr_db", ascending=False)
    diff = (t[a] - t[v]).to_numpy()
    snr = t.snr_db.to_numpy()
    for i in range(1, len(diff)):
        if diff[i - 1] > 0 >= diff[i]:
            return float(snr[i - 1] + (snr[i] - snr[i - 1]) * diff[i - 1] / (diff[i - 1]
                                                                             - diff[i]))
    return None


def plot_sweep(table, k):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    finite = table.snr_db[np.isfinite(table.snr_db)]
    clean_x = (finite.max() if len(finite) else 0.0) + 10
    x = np.where(np.isfinite(table.snr_db), table.snr_db, clean_x)
    ticks = [f"{v:g}" if np.isfinite(v) else "clean" for v in table.snr_db]
    panels = ((axes[0], (("I(A;T)", "o-"), ("I(V;T)", "s-"), ("I(A,V;T)", "^-"),
                         ("co-information", "x--")), f"k-means units (k = {k}), T = phoneme"),
              (axes[1], (("I(A;T) Ross k-NN", "o-"), ("I(V;T) Ross k-NN", "s-")),
               "Ross k-NN, one frame per utterance"))
    for ax, cols, title in panels:
        for col, style in cols:
            ax.plot(x, table[col], style, label=col)
        ax.set_xticks(x, ticks)
        ax.set_xlabel("audio SNR (dB), white noise")
        ax.set_title(title)
        ax.invert_xaxis()
        ax.legend(fontsize=8)
    axes[0].set_ylabel("nats (minus shuffle baseline)")
    fig.tight_layout()
    return fig


def main(argv=None):
    """Run the experiment; returns (information, intersection, sweep) tables."""
    args = parse_args(NAME, argv, __doc__.splitlines()[0], _add_arguments)
    rng = np.random.default_rng(args.seed)
    if args.quick:
        corpus = make_speech_corpus(texts=["map", "see", "coo", "key", "fish", "the cat"],
                                    voices=["en-us", "en-us+m3"], rates=[140, 220],
                                    cache_dir=args.cache_dir or False)
    else:
        corpus = make_speech_corpus(args.words, n_phrases=args.phrases, random_state=args.seed,
                                    cache_dir=args.cache_dir, verbose=args.verbose)
    video = articulatory_stream(corpus, random_state=args.seed)
    out = args.out
    size = pd.DataFrame([dict(
        texts=len(corpus.settings["texts"]), voices=", ".join(corpus.settings["voices"]),
        rates_wpm=", ".join(map(str, corpus.settings["rates"])),
        utterances=len(corpus.utterances), frames=len(corpus.frames),
        hours=len(corpus.audio) / corpus.sample_rate / 3600,
        phonemes=corpus.frames.phoneme.nunique(), words=corpus.frames.word.nunique())])
    write_table(size, out, "corpus", title="Speech corpus (eSpeak NG)", floatfmt=".3g")

    info = information_table(corpus, video, args, rng)
    write_table(info, out, "information", floatfmt=".3f",
                title="Information on the speech corpus (nats; frame-level labels)",
                notes="`corrected` = estimate - shuffle_baseline (the same estimator after "
                      "permuting the labels; true value 0). Frames of one utterance are "
                      "dependent, so the permutation baseline understates the bias of the "
                      "frame-level discrete estimates. Video is the articulatory model "
                      "(lip opening, width, rounding, tongue/teeth; 25 fps; noise 0.05), "
                      "not recorded video.")

    res = intersection_table(corpus, video, args, rng)
    write_table(res.table, out, "intersection", floatfmt=".3f",
                title="Audio-video intersection about phonemes (k-means units of +/-2-frame "
                      "windows; nats)",
                notes="MIs and co-information: Miller-Madow. PID atoms: plug-in (A, V, T) "
                      "table, whose bias lands mostly in synergy; `null ...` columns are the "
                      "estimators after permuting the phonemes.")
    k_last = res.table["k"].iloc[-1]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, m in zip(axes, ("imin", "mmi")):
        res.pid(k_last, m).plot(ax=ax, kind="venn")
        ax.set_title(f"PID ({m}), k = {k_last}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out, "intersection_venn")

    sweep, n_sub, k = snr_sweep(corpus, video, args, rng)
    cross = crossing_snr(sweep)
    cross_knn = crossing_snr(sweep, "I(A;T) Ross k-NN", "I(V;T) Ross k-NN")
    write_table(sweep, out, "snr_sweep", floatfmt=".3f",
                title=f"Audio SNR sweep on {n_sub} utterances (white noise; nats)",
                notes=f"k-means units with k = {k}, Miller-Madow minus shuffle baseline; Ross "
                      "k-NN on one voiced frame per utterance. The joint (A, V) units have k^2 "
                      "cells, and the i.i.d. shuffle baseline of I(A,V;T) over-corrects when "
                      "audio is mostly noise (it can fall below I(V;T), which is impossible for "
                      "the true values). Video carries more than audio "
                      f"below {cross if cross is None else round(cross, 1)} dB (units) / "
                      f"{cross_knn if cross_knn is None else round(cross_knn, 1)} dB (k-NN).")
    save_figure(plot_sweep(sweep, k), out, "snr_sweep")
    write_command(args)
    return info, res.table, sweep


if __name__ == "__main__":
    main()
