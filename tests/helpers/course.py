"""The course's published numbers (Deep Learning Specialization, course 1), in one place.

The course prints costs with 6 decimals; a faithful implementation reproduces those digits on
any machine. The last bits of a long float computation differ between CPUs (numpy and OpenBLAS
choose SIMD and GEMM kernels per CPU), so a test against these numbers allows the printed
precision and no more: ``COST_ABS`` on costs. Accuracies are counts of examples and are
compared exactly where the course's margin is wide (the cat models), never against one flip.
"""

from __future__ import annotations

COST_ABS = 1e-6
"""Tolerance on a published cost: the course prints 6 decimals (rounding error <= 5e-7)."""

# Week 4, "Deep Neural Network - Application": costs at iterations 0, 100, ..., 2400 and 2499.
L_LAYER_COSTS = [
    0.7717493284237686,
    0.6720534400822914,
    0.6482632048575212,
    0.6115068816101354,
    0.5670473268366111,
    0.5401376634547801,
    0.5279299569455267,
    0.4654773771766851,
    0.36912585249592794,
    0.39174697434805344,
    0.3151869888600617,
    0.2726998441789385,
    0.23741853400268137,
    0.19960120532208644,
    0.18926300388463305,
    0.16118854665827748,
    0.14821389662363316,
    0.13777487812972944,
    0.1297401754919012,
    0.12122535068005211,
    0.11382060668633713,
    0.10783928526254133,
    0.10285466069352679,
    0.10089745445261786,
    0.09287821526472398,
    0.088439943441702,
]
TWO_LAYER_COSTS = [
    0.6930497356599888,
    0.6464320953428849,
    0.6325140647912677,
    0.6015024920354665,
    0.5601966311605747,
    0.5158304772764729,
    0.4754901313943325,
    0.43391631512257495,
    0.4007977536203887,
    0.3580705011323798,
    0.3394281538366412,
    0.30527536361962654,
    0.2749137728213016,
    0.2468176821061485,
    0.19850735037466108,
    0.17448318112556627,
    0.1708076297809599,
    0.11306524562164721,
    0.09629426845937152,
    0.08342617959726863,
    0.07439078704319081,
    0.06630748132267933,
    0.05919329501038171,
    0.05336140348560558,
    0.04855478562877019,
    0.04421498215868956,
]

# Week 2, "Logistic Regression with a Neural Network mindset": costs at 0, 100, ..., 1900
# (printed to 6 decimals), train and test accuracy in percent.
LOGREG_COSTS = [
    0.693147,
    0.584508,
    0.466949,
    0.376007,
    0.331463,
    0.303273,
    0.279880,
    0.260042,
    0.242941,
    0.228004,
    0.214820,
    0.203078,
    0.192544,
    0.183033,
    0.174399,
    0.166521,
    0.159305,
    0.152667,
    0.146542,
    0.140872,
]
LOGREG_TRAIN_PERCENT = 99.04306220095694
LOGREG_TEST_PERCENT = 70.0

# Week 3, "Planar data classification with one hidden layer", 4 tanh units, learning rate 1.2:
# costs at 0, 1000, ..., 7000. The notebook's published versions disagree among themselves from
# iteration 8000 on (0.219454, 0.219471, 0.219504 ...), so only these are a cross-machine fact.
PLANAR_COSTS = [0.693048, 0.288083, 0.254385, 0.233864, 0.226792, 0.222644, 0.219731, 0.217504]
# "Tuning hidden layer size" (5000 iterations, all 400 points): accuracy in percent by units.
PLANAR_TUNING_PERCENT = {1: 67.5, 2: 67.25, 3: 90.75, 4: 90.5, 5: 91.25}
